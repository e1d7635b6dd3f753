//! Glue between the pure room state machine and the connection tasks: one
//! lock around [`Relay`], and a bounded outbound queue per connection. The
//! lock is held only to run the state machine and to hand out messages
//! without waiting, never across I/O. Messages are queued unserialised
//! ([`Shared`]): the first recipient's task turns one into JSON, outside
//! the lock, and every other recipient of a broadcast reuses that text.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use base64::Engine as _;
use confide_shared::wire::{ErrorCode, IceServer, MemberId, RoomId, ServerMessage};
use tokio::sync::{Notify, mpsc, watch};

use crate::counsellor::Access;
use crate::limits::Limits;
use crate::room::{Close, ConnId, Output, Relay};
use crate::source::Source;
use crate::turn::Turn;

/// What a connection task writes to its socket. A message shared by several
/// recipients (a broadcast) is serialised once and shared.
#[derive(Debug)]
pub enum Outbound {
    Text(Arc<Shared>),
    Close(Close),
}

/// A message for one or more connections. Serialised by the first task
/// that writes it, outside the hub's lock (base64 of a large payload is
/// the costly part); queue budgets count [`Shared::budget`], known up front.
#[derive(Debug)]
pub struct Shared {
    message: ServerMessage,
    text: OnceLock<Utf8Bytes>,
    budget: usize,
}

impl Shared {
    pub fn new(message: ServerMessage) -> Shared {
        Shared {
            budget: budget(&message),
            message,
            text: OnceLock::new(),
        }
    }

    /// The JSON text, serialised on first use.
    pub fn text(&self) -> Utf8Bytes {
        self.text
            .get_or_init(|| Utf8Bytes::from(self.message.to_json()))
            .clone()
    }

    /// Bytes this message counts against the queue budgets.
    pub fn budget(&self) -> usize {
        self.budget
    }
}

/// An upper bound of a message's JSON size without serialising it: a
/// payload as base64 plus room for the fields around it.
fn budget(message: &ServerMessage) -> usize {
    const FIELDS: usize = 512;
    match message {
        ServerMessage::Deliver { payload, .. } | ServerMessage::Knocked { payload, .. } => {
            payload.0.len().div_ceil(3) * 4 + FIELDS
        }
        ServerMessage::IceServers { servers, .. } => {
            servers
                .iter()
                .map(|s| {
                    s.urls.iter().map(|u| u.len() + 8).sum::<usize>()
                        + s.username.len()
                        + s.credential.len()
                        + 64
                })
                .sum::<usize>()
                + FIELDS
        }
        _ => FIELDS,
    }
}

/// Lets the hub close a connection whose queue is full (out of band).
#[derive(Default)]
pub struct Kill {
    notify: Notify,
    close: Mutex<Option<Close>>,
}

impl Kill {
    fn fire(&self, close: Close) {
        if let Ok(mut slot) = self.close.lock() {
            slot.get_or_insert(close);
        }
        self.notify.notify_one();
    }

    /// Waits until the connection must be closed.
    pub async fn fired(&self) -> Close {
        self.notify.notified().await;
        self.close
            .lock()
            .ok()
            .and_then(|slot| *slot)
            .unwrap_or(Close::error(ErrorCode::SlowConsumer))
    }
}

struct Handle {
    tx: mpsc::Sender<Outbound>,
    kill: Arc<Kill>,
    /// Bytes of text queued for this connection.
    queued: Arc<AtomicUsize>,
}

struct Inner {
    relay: Relay,
    handles: HashMap<ConnId, Handle>,
    /// Open connections per source (in memory only, never logged).
    per_source: HashMap<Source, usize>,
    /// Connections that have not yet created a room, knocked or resumed.
    unidentified: usize,
    /// TURN credentials handed out, per member of a room: the credential id
    /// and its latest expiry (unix seconds). Never logged.
    ice: HashMap<(RoomId, MemberId), IceGrant>,
}

struct IceGrant {
    id: String,
    expires: u64,
}

/// Why a new connection was refused (all close with 4005 `server_full`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `--max-connections` reached.
    Full,
    /// `--max-connections-per-source` reached for this connection's source.
    SourceFull,
    /// `--max-unidentified` reached.
    UnidentifiedFull,
}

impl Refusal {
    /// For the log: a kind, never an address.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Full => "server_full",
            Refusal::SourceFull => "source_full",
            Refusal::UnidentifiedFull => "unidentified_full",
        }
    }
}

/// Shared by every connection task.
pub struct Hub {
    inner: Mutex<Inner>,
    limits: Limits,
    next_conn: AtomicU64,
    /// Open WebSocket connections (counted from upgrade to task end).
    open: AtomicUsize,
    /// Bytes of text queued for all connections.
    queued_total: AtomicUsize,
    shutdown: watch::Sender<bool>,
    /// Set when the shutdown has begun (`/healthz` answers 503).
    draining: std::sync::atomic::AtomicBool,
    /// Built-in STUN/TURN (`None` with `--turn off`).
    turn: Option<Arc<Turn>>,
}

/// A registered connection; unregisters itself when dropped.
pub struct Registration {
    pub id: ConnId,
    pub rx: mpsc::Receiver<Outbound>,
    pub kill: Arc<Kill>,
    hub: Arc<Hub>,
    source: Option<Source>,
    /// Still counted as not yet identified.
    unidentified: bool,
    queued: Arc<AtomicUsize>,
}

impl Registration {
    /// The task took a text of `bytes` off its queue.
    pub fn dequeued(&self, bytes: usize) {
        self.queued.fetch_sub(bytes, Ordering::AcqRel);
        self.hub.queued_total.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Closes the queue and frees what is still in it (the connection is
    /// being closed: nothing more will be written).
    pub fn discard_queue(&mut self) {
        self.rx.close();
        while let Ok(item) = self.rx.try_recv() {
            if let Outbound::Text(shared) = item {
                self.dequeued(shared.budget());
            }
        }
    }

    /// Whether the connection still has to create a room, knock or resume.
    pub fn is_unidentified(&self) -> bool {
        self.unidentified
    }

    /// Checks whether the connection has identified itself (created a room,
    /// knocked or resumed) and, if so, frees its not-yet-identified slot.
    pub fn check_identified(&mut self) -> bool {
        if !self.unidentified {
            return true;
        }
        let mut inner = self.hub.lock();
        if inner.relay.is_fresh(self.id) {
            return false;
        }
        inner.unidentified = inner.unidentified.saturating_sub(1);
        self.unidentified = false;
        true
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.discard_queue();
        self.hub
            .run(|relay| relay.disconnect(self.id, Instant::now()));
        let mut inner = self.hub.lock();
        inner.handles.remove(&self.id);
        if self.unidentified {
            inner.unidentified = inner.unidentified.saturating_sub(1);
        }
        if let Some(source) = self.source
            && let Some(n) = inner.per_source.get_mut(&source)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.per_source.remove(&source);
            }
        }
        self.hub.open.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Hub {
    pub fn new(limits: Limits, access: Arc<Access>) -> Arc<Hub> {
        Hub::with_turn(limits, None, access)
    }

    /// A hub that hands out STUN/TURN servers and credentials from `turn`.
    /// Rooms only for the counsellors `access` admits.
    pub fn with_turn(limits: Limits, turn: Option<Arc<Turn>>, access: Arc<Access>) -> Arc<Hub> {
        let seed = rand::random();
        let mut relay = Relay::new(limits.clone(), seed, access);
        relay.set_wall_clock(Instant::now(), unix_now());
        Arc::new(Hub {
            inner: Mutex::new(Inner {
                relay,
                handles: HashMap::new(),
                per_source: HashMap::new(),
                unidentified: 0,
                ice: HashMap::new(),
            }),
            limits,
            next_conn: AtomicU64::new(1),
            open: AtomicUsize::new(0),
            queued_total: AtomicUsize::new(0),
            shutdown: watch::Sender::new(false),
            draining: std::sync::atomic::AtomicBool::new(false),
            turn,
        })
    }

    pub fn turn(&self) -> Option<&Arc<Turn>> {
        self.turn.as_ref()
    }

    /// Puts an `ice_servers` message right after each `room_created` (to the
    /// host, also when resumed) and `admitted` (to the guest), with a
    /// credential for that member; never to the lobby. Returns whether a
    /// member may have left the call, so credentials need checking.
    fn add_ice_servers(&self, inner: &mut Inner, outputs: &mut Vec<Output>) -> bool {
        let mut departures = false;
        let Some(turn) = &self.turn else {
            return false;
        };
        let mut i = 0;
        while i < outputs.len() {
            let (conn, room, member) = match &outputs[i] {
                Output::Send(conn, ServerMessage::RoomCreated { room, member, .. })
                | Output::Send(conn, ServerMessage::Admitted { room, member, .. }) => {
                    (*conn, *room, *member)
                }
                Output::Send(
                    _,
                    ServerMessage::MemberLeft { .. }
                    | ServerMessage::Removed { .. }
                    | ServerMessage::Rejected { .. }
                    | ServerMessage::SessionEnded { .. },
                ) => {
                    departures = true;
                    i += 1;
                    continue;
                }
                _ => {
                    i += 1;
                    continue;
                }
            };
            let mut servers = Vec::new();
            // An external server (--ice-server) may come without stun: URLs.
            if !turn.stun_urls().is_empty() {
                servers.push(IceServer {
                    urls: turn.stun_urls().to_vec(),
                    username: String::new(),
                    credential: String::new(),
                });
            }
            if !turn.turn_urls().is_empty() {
                let grant = inner.ice.entry((room, member)).or_insert_with(|| IceGrant {
                    id: base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .encode(rand::random::<[u8; 12]>()),
                    expires: 0,
                });
                let (credential, expires) = turn.mint(&grant.id);
                grant.expires = grant.expires.max(expires);
                servers.push(IceServer {
                    urls: turn.turn_urls().to_vec(),
                    username: credential.username.clone(),
                    credential: credential.password.to_string(),
                });
            }
            outputs.insert(
                i + 1,
                Output::Send(conn, ServerMessage::IceServers { room, servers }),
            );
            i += 2;
        }
        departures
    }

    /// Revokes the credentials of members no longer in their room's call.
    fn revoke_departed(&self, inner: &mut Inner) {
        let Some(turn) = &self.turn else {
            return;
        };
        let relay = &inner.relay;
        let gone: Vec<(RoomId, MemberId)> = inner
            .ice
            .keys()
            .filter(|(room, member)| !relay.is_in_call(*room, *member))
            .copied()
            .collect();
        for key in gone {
            if let Some(grant) = inner.ice.remove(&key) {
                turn.revoke(&grant.id, grant.expires);
            }
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock would be a bug; keep serving the other rooms.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reserves a connection slot for a connection from `source` (`None`:
    /// exempt from the per-source cap), or says why the relay refuses it.
    pub fn try_open(self: &Arc<Self>, source: Option<Source>) -> Result<Registration, Refusal> {
        let limits = &self.limits;
        let mut inner = self.lock();
        let refusal = if self.open.load(Ordering::Acquire) >= limits.max_connections {
            Some(Refusal::Full)
        } else if source.is_some_and(|s| {
            inner.per_source.get(&s).copied().unwrap_or(0) >= limits.max_connections_per_source
        }) {
            Some(Refusal::SourceFull)
        } else if inner.unidentified >= limits.max_unidentified {
            Some(Refusal::UnidentifiedFull)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            inner.relay.record_error(ErrorCode::ServerFull);
            return Err(refusal);
        }
        // Counted under the lock, so the checks above cannot race.
        self.open.fetch_add(1, Ordering::AcqRel);
        inner.unidentified += 1;
        if let Some(source) = source {
            *inner.per_source.entry(source).or_default() += 1;
        }
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(self.limits.send_queue.max(1));
        let kill = Arc::new(Kill::default());
        let queued = Arc::new(AtomicUsize::new(0));
        inner.relay.connect_from(id, source, Instant::now());
        inner.handles.insert(
            id,
            Handle {
                tx,
                kill: kill.clone(),
                queued: queued.clone(),
            },
        );
        drop(inner);
        Ok(Registration {
            id,
            rx,
            kill,
            hub: self.clone(),
            source,
            unidentified: true,
            queued,
        })
    }

    /// Runs the state machine and hands its outputs to the connection queues.
    pub fn run(&self, step: impl FnOnce(&mut Relay) -> Vec<Output>) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let mut outputs = step(&mut inner.relay);
        if self.add_ice_servers(inner, &mut outputs) {
            self.revoke_departed(inner);
        }
        let limits = &self.limits;
        let mut round = 0;
        // The last message: a broadcast is a run of equal messages, shared.
        let mut last: Option<Arc<Shared>> = None;
        while !outputs.is_empty() && round < 4 {
            round += 1;
            let mut slow = Vec::new();
            for output in outputs {
                let (conn, item) = match output {
                    Output::Send(conn, msg) => {
                        let shared = match &last {
                            Some(previous) if previous.message == msg => previous.clone(),
                            _ => {
                                let shared = Arc::new(Shared::new(msg));
                                last = Some(shared.clone());
                                shared
                            }
                        };
                        (conn, Outbound::Text(shared))
                    }
                    Output::Close(conn, close) => (conn, Outbound::Close(close)),
                };
                let Some(handle) = inner.handles.get(&conn) else {
                    continue;
                };
                let size = match &item {
                    Outbound::Text(shared) => shared.budget(),
                    Outbound::Close(_) => 0,
                };
                if size > 0 {
                    // Byte budgets: the connection's own, and the relay's total
                    // (over it, connections with a backlog count as slow).
                    let mine = handle.queued.load(Ordering::Acquire);
                    let total = self.queued_total.load(Ordering::Acquire);
                    if mine.saturating_add(size) > limits.send_queue_bytes
                        || (mine > 0 && total.saturating_add(size) > limits.send_queue_total_bytes)
                    {
                        slow.push(conn);
                        continue;
                    }
                    // Counted before sending: the task may take it off at once.
                    handle.queued.fetch_add(size, Ordering::AcqRel);
                    self.queued_total.fetch_add(size, Ordering::AcqRel);
                }
                match handle.tx.try_send(item) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(Outbound::Close(close))) => {
                        handle.kill.fire(close)
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        handle.queued.fetch_sub(size, Ordering::AcqRel);
                        self.queued_total.fetch_sub(size, Ordering::AcqRel);
                        slow.push(conn)
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => {
                        handle.queued.fetch_sub(size, Ordering::AcqRel);
                        self.queued_total.fetch_sub(size, Ordering::AcqRel);
                    }
                }
            }
            // A connection that does not read its messages is closed; that may notify others.
            outputs = Vec::new();
            let now = Instant::now();
            for conn in slow {
                if let Some(handle) = inner.handles.get(&conn) {
                    handle.kill.fire(Close::error(ErrorCode::SlowConsumer));
                }
                outputs.extend(inner.relay.kick(conn, ErrorCode::SlowConsumer, now));
            }
        }
        if round > 1 {
            self.revoke_departed(inner);
        }
    }

    /// Runs the room clock, and revokes TURN credentials of members gone
    /// meanwhile (grace periods that ended).
    pub fn tick(&self, now: Instant) {
        // Read the wall clock again: planned sessions end at a unix time,
        // and the monotonic clock may drift from it (or stop while suspended).
        let unix = unix_now();
        self.run(|relay| {
            relay.set_wall_clock(now, unix);
            relay.tick(now)
        });
        self.revoke_departed(&mut self.lock());
    }

    /// Reads from the state machine under the lock.
    pub fn with_relay<T>(&self, read: impl FnOnce(&Relay) -> T) -> T {
        read(&self.lock().relay)
    }

    /// Bytes of text queued for all connections.
    pub fn queued_bytes(&self) -> usize {
        self.queued_total.load(Ordering::Acquire)
    }

    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// Tells every connection task to say goodbye.
    pub fn begin_shutdown(&self) {
        self.set_draining();
        self.shutdown.send_replace(true);
    }

    /// From now on the relay is going away (`/healthz` says so).
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }
}

/// The time since the unix epoch (zero if the system clock is before it).
fn unix_now() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}
