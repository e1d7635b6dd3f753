//! The relay as attacker: a proxy in front of the real relay that tampers
//! with what it forwards, as a hostile server operator could.
//!
//! Browsers open the proxy's address; the page, its scripts and WASM pass
//! through byte for byte (a plain TCP splice to the relay, so every header
//! stays as the relay sent it), and the page's WebSocket (same origin, so
//! through the proxy too) is terminated here: the proxy opens its own
//! WebSocket to the relay and pumps every frame both ways, through the
//! [`Rule`]s a test arms. Each rule fires once; every attack it carried out
//! is logged ([`AttackerProxy::attacks`]), so a test can assert that the
//! attack really happened instead of passing because nothing was touched.
//!
//! The simple rules alter only relay→browser `deliver` messages, and only
//! those whose payload has the format byte the rule is about (envelopes
//! `0x20`, handshake reveals `0x12`), so nothing else of the call is broken
//! by accident. [`Rule::ManInTheMiddle`] takes over a guest's connection in
//! both directions (see [`crate::mitm`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use confide_shared::envelope::{ENVELOPE_FORMAT, HEADER_LEN};
use confide_shared::handshake::msg_type;
use confide_shared::wire::WS_PATH;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::mitm::{LinkHolder, Out, Verdict};
use crate::relay::TestRelay;

/// How long [`Rule::SwapReveals`] holds the first reveal while waiting for a
/// second one from another room; after that it forwards it untouched (and
/// logs nothing, so a test that expected the swap fails).
pub const SWAP_HOLD: Duration = Duration::from_secs(90);

/// What a participant's connection is, as the relay's routing shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The connection created a room (the counsellor).
    Host,
    /// The connection knocked or resumed (a guest).
    Guest,
}

/// Which deliveries a rule applies to.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// Only deliveries to connections of this role (`None`: any).
    pub to: Option<Role>,
    /// Only payloads of at least this many bytes (decoded).
    pub min_len: usize,
    /// Only payloads of at most this many bytes (decoded).
    pub max_len: usize,
}

impl Target {
    /// Every envelope delivered to a connection of `role`.
    pub fn to(role: Role) -> Target {
        Target {
            to: Some(role),
            min_len: 0,
            max_len: usize::MAX,
        }
    }

    /// Only payloads whose decoded length is within `min..=max`.
    pub fn sized(self, min_len: usize, max_len: usize) -> Target {
        Target {
            min_len,
            max_len,
            ..self
        }
    }

    fn matches(&self, role: Option<Role>, len: usize) -> bool {
        self.to.is_none_or(|want| role == Some(want))
            && (self.min_len..=self.max_len).contains(&len)
    }
}

/// One attack to carry out on the next message it matches; fires once.
#[derive(Clone, Debug)]
pub enum Rule {
    /// Flip one bit in the ciphertext of the next envelope (`0x20`) the relay
    /// delivers to a connection matching the target.
    FlipBit(Target),
    /// Deliver the next matching envelope as usual, and the very same
    /// `deliver` message once more `after` later.
    Replay { target: Target, after: Duration },
    /// Man in the middle of two concurrent sessions: hold the next handshake
    /// reveal (m2, host → guest, first byte `0x12`) until a reveal in another
    /// room arrives, then hand each guest the other room's reveal (the
    /// envelope `room`/`from` stay those of the guest's own room, so the
    /// guest takes it for its counsellor's answer).
    SwapReveals,
    /// A man in the middle who holds the invite `link`: takes over the next
    /// guest that knocks, runs its own handshakes with the guest and the
    /// counsellor and re-encrypts their signaling (see [`crate::mitm`]).
    ManInTheMiddle { link: String },
}

/// What the proxy did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttackKind {
    /// Bit `bit` of payload byte `byte` was flipped.
    FlippedBit { byte: usize, bit: u8 },
    /// The delivery was sent to the browser a second time.
    Replayed,
    /// The reveal was replaced by the one from the room named.
    SwappedReveal { with_room: String },
    /// The guest's knock was replaced by the attacker's own; from now on it
    /// is in the middle of that guest's connection.
    InterceptedKnock,
    /// A renewal knock (`KNOCK_AGAIN` with a fresh handshake commitment,
    /// made with the link) was sent to the counsellor as if from an admitted
    /// guest's seat: one try at grinding a matching safety code.
    InjectedRenewal,
    /// The counsellor's handshake reveal (m2) for a guest's seat was taken
    /// off the wire by the attacker instead of reaching the guest.
    SwallowedReveal,
    /// A guest was told, in a forged `admitted` message, that another
    /// guest's seat (`from`) is the counsellor's.
    NamedGuestAsHost,
}

/// What the man in the middle of [`Rule::ManInTheMiddle`] got.
#[derive(Clone, Debug, Default)]
pub struct MitmReport {
    /// The safety codes the guest and the counsellor see, once both handshakes are complete.
    pub codes: Option<(String, String)>,
    /// Chat lines it read.
    pub chat_read: Vec<String>,
    /// Envelopes it re-encrypted from one side to the other.
    pub relayed: usize,
    /// Steps that failed.
    pub errors: Vec<String>,
}

/// One attack carried out on one message (a delivery; for
/// [`AttackKind::InterceptedKnock`] the guest's knock, `from` 0).
#[derive(Clone, Debug)]
pub struct Attack {
    pub kind: AttackKind,
    /// The proxy's number for the browser connection it happened on.
    pub conn: u64,
    /// The role of the message's recipient.
    pub to: Option<Role>,
    /// The room of the message (base64url, as on the wire).
    pub room: String,
    /// The sender's relay member id.
    pub from: u64,
    /// Length of the original payload in bytes.
    pub payload_len: usize,
    /// First byte of the original payload (its format).
    pub format: u8,
}

#[derive(Clone, Debug, Default)]
struct Connection {
    role: Option<Role>,
    room: Option<String>,
    member: Option<u64>,
    /// For a guest: the counsellor's member id, as the relay told it.
    host: Option<u64>,
}

/// A reveal held by [`Rule::SwapReveals`], waiting for its partner.
struct HeldReveal {
    conn: u64,
    room: String,
    payload: String,
    partner: oneshot::Sender<(String, String)>,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    attacks: Vec<Attack>,
    next_conn: u64,
    connections: BTreeMap<u64, Connection>,
    held: Option<HeldReveal>,
    /// Guest connections taken over by [`Rule::ManInTheMiddle`].
    mitm: BTreeMap<u64, LinkHolder>,
    /// Attacks that could not be carried out, and why.
    failures: Vec<String>,
    /// Envelopes delivered per receiving role, for failure messages.
    envelopes_seen: BTreeMap<&'static str, usize>,
    /// Each connection's way in, for messages the attacker makes up.
    pipes: BTreeMap<u64, Pipes>,
    /// While set, handshake reveals (m2) delivered to guests are dropped
    /// and logged as [`AttackKind::SwallowedReveal`].
    swallow_reveals: bool,
}

struct Shared {
    relay_addr: SocketAddr,
    relay_ws: String,
    state: Mutex<State>,
    /// Bumped by [`AttackerProxy::cut_connections`]: every open WebSocket
    /// connection is dropped without a closing handshake.
    cut: tokio::sync::watch::Sender<u64>,
    /// Set by [`AttackerProxy::refuse_websockets`]: WebSocket upgrades are
    /// dropped unanswered, as if the relay were unreachable.
    refusing: AtomicBool,
    /// WebSocket upgrades dropped that way.
    refused: AtomicUsize,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The attacker: listens on a free loopback port, forwards to a [`TestRelay`].
pub struct AttackerProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl AttackerProxy {
    /// Starts the proxy in front of `relay` (plain HTTP only).
    pub async fn start(relay: &TestRelay) -> AttackerProxy {
        assert!(!relay.tls, "the attacker proxy forwards plain HTTP only");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("cannot bind loopback: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let shared = Arc::new(Shared {
            relay_addr: relay.addr,
            relay_ws: relay.ws_url(),
            state: Mutex::new(State::default()),
            cut: tokio::sync::watch::Sender::new(0),
            refusing: AtomicBool::new(false),
            refused: AtomicUsize::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, shared.clone()));
        AttackerProxy { addr, shared, task }
    }

    /// The app's address through the proxy.
    pub fn http_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The relay's WebSocket through the proxy.
    pub fn ws_url(&self) -> String {
        format!("ws://{}{WS_PATH}", self.addr)
    }

    /// Drops every open WebSocket connection at once, in both directions,
    /// without a closing handshake: what a lost network looks like to the
    /// browsers (close code 1006) and to the relay. New connections work.
    pub fn cut_connections(&self) {
        self.shared.cut.send_modify(|generation| *generation += 1);
    }

    /// While `on`, new WebSocket connections are dropped unanswered (the
    /// page and its files still load): the relay looks unreachable.
    pub fn refuse_websockets(&self, on: bool) {
        self.shared.refusing.store(on, Ordering::SeqCst);
    }

    /// WebSocket connections dropped by [`AttackerProxy::refuse_websockets`].
    pub fn refused_websockets(&self) -> usize {
        self.shared.refused.load(Ordering::SeqCst)
    }

    /// Arms `rule`: it fires on the next message it matches.
    pub fn arm(&self, rule: Rule) {
        self.shared.state().rules.push(rule);
    }

    /// Rules armed that have not fired yet.
    pub fn armed(&self) -> usize {
        self.shared.state().rules.len()
    }

    /// Sends the counsellor a renewal knock made with `link`, as if from the
    /// first admitted guest's seat (the relay may send anything on any
    /// seat's behalf): what a relay holding a forwarded link does to try
    /// safety codes until one matches. Logged as
    /// [`AttackKind::InjectedRenewal`].
    pub fn inject_renewal_knock(&self, link: &str) -> Result<(), String> {
        let mut state = self.shared.state();
        let (conn, room, host) = state
            .connections
            .iter()
            .find_map(|(conn, c)| match (c.role, &c.room, c.host) {
                (Some(Role::Guest), Some(room), Some(host)) => Some((*conn, room.clone(), host)),
                _ => None,
            })
            .ok_or("no admitted guest connection with a known counsellor yet")?;
        let payload = crate::mitm::renewal_knock(link, "")?;
        let message = serde_json::json!({
            "type": "send",
            "room": room,
            "to": host,
            "payload": payload,
        });
        let pipes = state
            .pipes
            .get(&conn)
            .ok_or("the guest's connection is gone")?;
        pipes
            .to_relay
            .send(message.to_string())
            .map_err(|_| "the guest's connection is closed")?;
        let attack = Attack {
            kind: AttackKind::InjectedRenewal,
            conn,
            to: Some(Role::Host),
            room,
            from: 0,
            payload_len: 0,
            format: confide_shared::session::KNOCK_AGAIN,
        };
        state.attacks.push(attack);
        Ok(())
    }

    /// Tells the `victim`-th guest connection (0: the first guest that
    /// knocked), in a forged `admitted` message, that the `named`-th guest's
    /// seat is the counsellor's. Logged as [`AttackKind::NamedGuestAsHost`].
    pub fn name_guest_as_host(&self, victim: usize, named: usize) -> Result<(), String> {
        let mut state = self.shared.state();
        let guests: Vec<(u64, Connection)> = state
            .connections
            .iter()
            .filter(|(_, c)| c.role == Some(Role::Guest) && c.member.is_some())
            .map(|(conn, c)| (*conn, c.clone()))
            .collect();
        let (conn, victim) = guests.get(victim).cloned().ok_or("no such victim")?;
        let (_, named) = guests.get(named).cloned().ok_or("no such guest to name")?;
        let (Some(room), Some(member), Some(fake_host)) =
            (victim.room, victim.member, named.member)
        else {
            return Err("the guests' seats are not known yet".into());
        };
        let message = serde_json::json!({
            "type": "admitted",
            "room": room,
            "member": member,
            "host": fake_host,
            "members": [fake_host],
        });
        let pipes = state
            .pipes
            .get(&conn)
            .ok_or("the victim's connection is gone")?;
        pipes
            .to_browser
            .send(message.to_string())
            .map_err(|_| "the victim's connection is closed")?;
        let attack = Attack {
            kind: AttackKind::NamedGuestAsHost,
            conn,
            to: Some(Role::Guest),
            room,
            from: fake_host,
            payload_len: 0,
            format: 0,
        };
        state.attacks.push(attack);
        Ok(())
    }

    /// While `on`, the attacker keeps the counsellor's handshake reveals
    /// (m2) for guest seats for itself (they never reach the guest).
    pub fn swallow_reveals_to_guests(&self, on: bool) {
        self.shared.state().swallow_reveals = on;
    }

    /// Every attack carried out so far, oldest first.
    pub fn attacks(&self) -> Vec<Attack> {
        self.shared.state().attacks.clone()
    }

    /// What the man in the middle got (the first connection it took over).
    pub fn man_in_the_middle(&self) -> Option<MitmReport> {
        let state = self.shared.state();
        let holder = state.mitm.values().next()?;
        Some(MitmReport {
            codes: holder.codes(),
            chat_read: holder.chat_read.clone(),
            relayed: holder.relayed,
            errors: holder.errors.clone(),
        })
    }

    /// Waits until at least `count` attacks are logged; panics after `timeout`
    /// naming `what` and what the proxy saw.
    pub async fn wait_for_attacks(
        &self,
        what: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<Attack> {
        let deadline = Instant::now() + timeout;
        loop {
            let attacks = self.attacks();
            if attacks.len() >= count {
                return attacks;
            }
            if Instant::now() > deadline {
                let state = self.shared.state();
                panic!(
                    "the proxy did not carry out {what} within {timeout:?}: attacks {:?}, rules still armed {:?}, \
                     failures {:?}, envelopes delivered per role {:?}, connections {:?}",
                    state.attacks,
                    state.rules,
                    state.failures,
                    state.envelopes_seen,
                    state.connections
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for AttackerProxy {
    fn drop(&mut self) {
        // Ends the accept loop and, with its JoinSet, every connection it serves.
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                connections.spawn(serve(stream, shared.clone()));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Whether the request on `stream` is the WebSocket upgrade (peeks at its
/// request line without consuming it).
async fn is_websocket(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = match stream.peek(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let head = &buf[..n];
        if let Some(end) = head.windows(2).position(|w| w == b"\r\n") {
            let line = &head[..end];
            let ws = format!("GET {WS_PATH}");
            return line.starts_with(format!("{ws} ").as_bytes())
                || line.starts_with(format!("{ws}?").as_bytes());
        }
        if n == buf.len() || Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    if is_websocket(&stream).await {
        if shared.refusing.load(Ordering::SeqCst) {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            return; // dropped: the browser sees the connection fail (1006)
        }
        serve_websocket(stream, shared).await;
        return;
    }
    // Anything else (the page, scripts, WASM): the relay's bytes, untouched.
    let Ok(mut upstream) = TcpStream::connect(shared.relay_addr).await else {
        return;
    };
    let _ = tokio::io::copy_bidirectional(&mut stream, &mut upstream).await;
}

/// The two ways into one proxied WebSocket connection, for messages the
/// attacker makes up (they bypass the rules).
#[derive(Clone)]
struct Pipes {
    to_relay: mpsc::UnboundedSender<String>,
    to_browser: mpsc::UnboundedSender<String>,
}

impl Pipes {
    fn send(&self, out: Vec<Out>) {
        for out in out {
            let _ = match out {
                Out::ToRelay(text) => self.to_relay.send(text),
                Out::ToBrowser(text) => self.to_browser.send(text),
            };
        }
    }
}

async fn serve_websocket(stream: TcpStream, shared: Arc<Shared>) {
    let mut cut = shared.cut.subscribe();
    let Ok(browser) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let Ok((relay, _)) = tokio_tungstenite::connect_async(shared.relay_ws.as_str()).await else {
        return;
    };
    let conn = {
        let mut state = shared.state();
        state.next_conn += 1;
        let conn = state.next_conn;
        state.connections.insert(conn, Connection::default());
        conn
    };
    let (mut to_browser, mut from_browser) = browser.split();
    let (mut to_relay, mut from_relay) = relay.split();
    let (inject_up, mut injected_up) = mpsc::unbounded_channel::<String>();
    let (inject_down, mut injected_down) = mpsc::unbounded_channel::<String>();
    let pipes = Pipes {
        to_relay: inject_up,
        to_browser: inject_down,
    };
    shared.state().pipes.insert(conn, pipes.clone());

    let up_shared = shared.clone();
    let up_pipes = pipes.clone();
    let mut up = std::pin::pin!(async move {
        loop {
            let message = tokio::select! {
                message = from_browser.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        match tamper_up(&up_shared, conn, text.as_str(), &up_pipes) {
                            Verdict::Forward => Message::Text(text),
                            Verdict::Replace(changed) => Message::text(changed),
                            Verdict::Drop => continue,
                        }
                    }
                    Some(Ok(message)) => message,
                    _ => break,
                },
                Some(text) = injected_up.recv() => Message::text(text),
            };
            let close = matches!(message, Message::Close(_));
            if to_relay.send(message).await.is_err() || close {
                break;
            }
        }
        let _ = to_relay.close().await;
    });
    let down_shared = shared.clone();
    let mut down = std::pin::pin!(async move {
        loop {
            let message = tokio::select! {
                message = from_relay.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        match tamper(&down_shared, conn, text.as_str(), &pipes).await {
                            Verdict::Forward => Message::Text(text),
                            Verdict::Replace(changed) => Message::text(changed),
                            Verdict::Drop => continue,
                        }
                    }
                    Some(Ok(message)) => message,
                    _ => break,
                },
                Some(text) = injected_down.recv() => Message::text(text),
            };
            let close = matches!(message, Message::Close(_));
            if to_browser.send(message).await.is_err() || close {
                break;
            }
        }
        let _ = to_browser.close().await;
    });
    // When one side ends, give the other a moment to pass on its close.
    // A cut drops both sockets on the spot.
    tokio::select! {
        _ = cut.changed() => {}
        _ = &mut up => { let _ = tokio::time::timeout(Duration::from_secs(2), &mut down).await; }
        _ = &mut down => { let _ = tokio::time::timeout(Duration::from_secs(2), &mut up).await; }
    }
}

/// A browser→relay message: learns the connection's role and room, and
/// hands the guest's messages to a man in the middle if one took it over.
fn tamper_up(shared: &Shared, conn: u64, text: &str, pipes: &Pipes) -> Verdict {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Verdict::Forward;
    };
    let mut state = shared.state();
    let role = match value.get("type").and_then(Value::as_str) {
        Some("create_room") => Some(Role::Host),
        Some("knock" | "resume") => Some(Role::Guest),
        _ => None,
    };
    if let Some(role) = role
        && let Some(connection) = state.connections.get_mut(&conn)
    {
        connection.role = Some(role);
        connection.room = value.get("room").and_then(Value::as_str).map(String::from);
    }
    if let Some(holder) = state.mitm.get_mut(&conn) {
        let mut out = Vec::new();
        let verdict = holder.from_guest(&value, &mut out);
        pipes.send(out);
        return verdict;
    }
    if value.get("type").and_then(Value::as_str) != Some("knock") {
        return Verdict::Forward;
    }
    let Some(fired) = state
        .rules
        .iter()
        .position(|rule| matches!(rule, Rule::ManInTheMiddle { .. }))
    else {
        return Verdict::Forward;
    };
    let Rule::ManInTheMiddle { link } = state.rules.remove(fired) else {
        return Verdict::Forward;
    };
    match LinkHolder::intercept_knock(&link, &value) {
        Ok((holder, knock)) => {
            state.mitm.insert(conn, holder);
            let attack = Attack {
                kind: AttackKind::InterceptedKnock,
                conn,
                to: Some(Role::Host),
                room: value
                    .get("room")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                from: 0,
                payload_len: 0,
                format: msg_type::COMMIT,
            };
            state.attacks.push(attack);
            Verdict::Replace(knock)
        }
        Err(error) => {
            state.failures.push(format!(
                "the man in the middle could not take over the knock: {error}"
            ));
            Verdict::Forward
        }
    }
}

/// What to do with one relay→browser message.
enum Action {
    Forward,
    Replace(String),
    Drop,
    /// Hold it until the partner reveal arrives, then send `value` with the
    /// partner's payload; `record` is logged then.
    Hold {
        partner: oneshot::Receiver<(String, String)>,
        value: Value,
        record: Attack,
    },
}

/// Applies the first armed rule that matches this relay→browser message.
async fn tamper(shared: &Arc<Shared>, conn: u64, text: &str, pipes: &Pipes) -> Verdict {
    match decide(shared, conn, text, pipes) {
        Action::Forward => Verdict::Forward,
        Action::Replace(text) => Verdict::Replace(text),
        Action::Drop => Verdict::Drop,
        Action::Hold {
            partner,
            mut value,
            mut record,
        } => {
            let Ok(Ok((their_room, their_payload))) =
                tokio::time::timeout(SWAP_HOLD, partner).await
            else {
                // Nobody came: forward the original (no attack logged).
                let mut state = shared.state();
                if state.held.as_ref().is_some_and(|h| h.conn == conn) {
                    state.held = None;
                }
                return Verdict::Forward;
            };
            record.kind = AttackKind::SwappedReveal {
                with_room: their_room,
            };
            shared.state().attacks.push(record);
            value["payload"] = Value::from(their_payload);
            Verdict::Replace(value.to_string())
        }
    }
}

fn decide(shared: &Arc<Shared>, conn: u64, text: &str, pipes: &Pipes) -> Action {
    let Ok(mut value) = serde_json::from_str::<Value>(text) else {
        return Action::Forward;
    };
    if let Some(holder) = shared.state().mitm.get_mut(&conn) {
        let mut out = Vec::new();
        let verdict = holder.to_guest(&value, &mut out);
        pipes.send(out);
        return match verdict {
            Verdict::Forward => Action::Forward,
            Verdict::Replace(text) => Action::Replace(text),
            Verdict::Drop => Action::Drop,
        };
    }
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind == "room_created" || kind == "waiting" || kind == "admitted" {
        let member = value.get("member").and_then(Value::as_u64);
        let host = value.get("host").and_then(Value::as_u64);
        if let Some(connection) = shared.state().connections.get_mut(&conn) {
            connection.member = member;
            connection.host = host.or(connection.host);
        }
        return Action::Forward;
    }
    if kind != "deliver" {
        return Action::Forward;
    }
    let (Some(room), Some(from), Some(payload)) = (
        value.get("room").and_then(Value::as_str).map(String::from),
        value.get("from").and_then(Value::as_u64),
        value
            .get("payload")
            .and_then(Value::as_str)
            .map(String::from),
    ) else {
        return Action::Forward;
    };
    let Ok(mut bytes) = URL_SAFE_NO_PAD.decode(&payload) else {
        return Action::Forward;
    };
    let Some(&format) = bytes.first() else {
        return Action::Forward;
    };

    let mut state = shared.state();
    let role = state.connections.get(&conn).and_then(|c| c.role);
    if state.swallow_reveals && role == Some(Role::Guest) && format == msg_type::REVEAL_R {
        let attack = Attack {
            kind: AttackKind::SwallowedReveal,
            conn,
            to: role,
            room,
            from,
            payload_len: bytes.len(),
            format,
        };
        state.attacks.push(attack);
        return Action::Drop;
    }
    if format == ENVELOPE_FORMAT {
        let key = match role {
            Some(Role::Host) => "to host",
            Some(Role::Guest) => "to guest",
            None => "to unknown",
        };
        *state.envelopes_seen.entry(key).or_default() += 1;
    }
    let Some(fired) = state.rules.iter().position(|rule| match rule {
        Rule::FlipBit(target) | Rule::Replay { target, .. } => {
            format == ENVELOPE_FORMAT && target.matches(role, bytes.len())
        }
        Rule::SwapReveals => format == msg_type::REVEAL_R,
        Rule::ManInTheMiddle { .. } => false,
    }) else {
        return Action::Forward;
    };
    let record = |kind| Attack {
        kind,
        conn,
        to: role,
        room: room.clone(),
        from,
        payload_len: bytes.len(),
        format,
    };
    match state.rules[fired].clone() {
        Rule::ManInTheMiddle { .. } => Action::Forward,
        Rule::FlipBit(_) => {
            state.rules.remove(fired);
            // A bit in the middle of the ciphertext: the format byte and
            // sequence number stay as they were, only the tag check can fail.
            let byte = HEADER_LEN + (bytes.len() - HEADER_LEN) / 2;
            let bit = 3;
            let attack = record(AttackKind::FlippedBit { byte, bit });
            state.attacks.push(attack);
            bytes[byte] ^= 1 << bit;
            value["payload"] = Value::from(URL_SAFE_NO_PAD.encode(&bytes));
            Action::Replace(value.to_string())
        }
        Rule::Replay { after, .. } => {
            state.rules.remove(fired);
            let attack = record(AttackKind::Replayed);
            let again = text.to_string();
            let inject = pipes.to_browser.clone();
            let log = Arc::clone(shared);
            tokio::spawn(async move {
                tokio::time::sleep(after).await;
                if inject.send(again).is_ok() {
                    log.state().attacks.push(attack);
                }
            });
            Action::Forward
        }
        Rule::SwapReveals => match state.held.take() {
            Some(held) if held.room != room && held.conn != conn => {
                state.rules.remove(fired);
                let attack = record(AttackKind::SwappedReveal {
                    with_room: held.room.clone(),
                });
                state.attacks.push(attack);
                let _ = held.partner.send((room.clone(), payload));
                value["payload"] = Value::from(held.payload);
                Action::Replace(value.to_string())
            }
            Some(other) => {
                // Another reveal of the same room: leave it alone.
                state.held = Some(other);
                Action::Forward
            }
            None => {
                // The first reveal: hold it (and everything after it on this
                // connection, so the order stays) until its partner arrives.
                let (tx, rx) = oneshot::channel();
                state.held = Some(HeldReveal {
                    conn,
                    room: room.clone(),
                    payload: payload.clone(),
                    partner: tx,
                });
                Action::Hold {
                    partner: rx,
                    // The partner's room is filled in when it arrives.
                    record: record(AttackKind::SwappedReveal {
                        with_room: String::new(),
                    }),
                    value,
                }
            }
        },
    }
}
