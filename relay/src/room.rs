//! The relay's room logic as a pure state machine: no sockets, no clock, no
//! OS randomness. Inputs are (connection, text or decoded message, now);
//! outputs are messages to send and connections to close. The WebSocket
//! shell (`ws.rs`), the unit tests and the fuzz target all drive this type.
//!
//! Rules that matter for privacy and safety:
//! - tokens and secrets are only kept as SHA-256;
//! - a payload goes only to members of the sender's room that may see it
//!   (admitted members see each other; the host and its lobby see each other);
//! - every protocol violation or limit closes only the offending connection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use confide_shared::json::JsonError;
use confide_shared::shard::ShardLabel;
use confide_shared::wire::{
    Blob, ClientMessage, CounsellorToken, ErrorCode, HostToken, InviteToken, MemberId,
    PROTOCOL_VERSION, ResumeSecret, RoomId, ServerMessage, TokenHash,
};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use subtle::ConstantTimeEq as _;

use crate::counsellor::Access;
use crate::limits::Limits;
use crate::source::Source;

/// The largest knock payload the relay keeps for a counsellor who arrives
/// later (a real knock, handshake message and sealed name, is about 500 bytes).
pub const MAX_HELD_KNOCK_BYTES: usize = 4096;

/// Identifies one WebSocket connection for the lifetime of the process.
pub type ConnId = u64;

/// A WebSocket close: code and reason string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: &'static str,
}

impl Close {
    /// After a guest's `leave`.
    pub const LEFT: Close = Close {
        code: confide_shared::wire::CLOSE_NORMAL,
        reason: "left",
    };
    /// When the relay shuts down.
    pub const GOING_AWAY: Close = Close {
        code: confide_shared::wire::CLOSE_GOING_AWAY,
        reason: "shutting_down",
    };

    /// The close of a fatal error (protocol error for the non-fatal ones, which never close).
    pub fn error(code: ErrorCode) -> Close {
        Close {
            code: code.close_code().unwrap_or(4000),
            reason: code.as_str(),
        }
    }
}

/// What the I/O shell must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Send(ConnId, ServerMessage),
    /// Close the connection after what was queued for it; the state machine has already forgotten it.
    Close(ConnId, Close),
}

/// Aggregate counters for `/metrics`: never an id.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub rooms_created: u64,
    pub messages_forwarded: u64,
    pub errors: HashMap<ErrorCode, u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Has not yet sent create_room, knock or resume.
    Fresh,
    /// Hosts one or more rooms.
    Host,
    /// Is a guest in exactly one room.
    Guest,
}

/// Token bucket in thousandths of a unit (a message or a byte).
#[derive(Debug, Clone)]
struct Bucket {
    milli: u64,
    last: Instant,
}

impl Bucket {
    fn full(burst: u64, now: Instant) -> Self {
        Bucket {
            milli: burst.saturating_mul(1000),
            last: now,
        }
    }

    fn refill(&mut self, rate_per_sec: u64, burst: u64, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now.max(self.last);
        let refill = elapsed.as_micros().saturating_mul(u128::from(rate_per_sec)) / 1000;
        let cap = burst.saturating_mul(1000);
        self.milli = u64::try_from(u128::from(self.milli).saturating_add(refill))
            .unwrap_or(u64::MAX)
            .min(cap);
    }

    fn take(&mut self, amount: u64, rate_per_sec: u64, burst: u64, now: Instant) -> bool {
        self.refill(rate_per_sec, burst, now);
        let cost = amount.saturating_mul(1000);
        if self.milli >= cost {
            self.milli -= cost;
            true
        } else {
            false
        }
    }
}

/// A connection's rate limits; a seat keeps them while it is away, so that
/// reconnecting and resuming does not buy fresh ones.
#[derive(Debug, Clone)]
struct Buckets {
    messages: Bucket,
    bytes: Bucket,
    /// Only while the connection is a guest in a lobby.
    lobby_bytes: Bucket,
}

impl Buckets {
    fn new(limits: &Limits, now: Instant) -> Self {
        Buckets {
            messages: Bucket::full(u64::from(limits.rate_burst), now),
            bytes: Bucket::full(byte_burst(limits), now),
            lobby_bytes: Bucket::full(limits.lobby_bytes_burst as u64, now),
        }
    }

    /// Keeps the emptier of each pair (both refilled to `now`).
    fn keep_emptier(&mut self, other: &Buckets, limits: &Limits, now: Instant) {
        let pairs = [
            (
                &mut self.messages,
                &other.messages,
                u64::from(limits.rate_per_sec),
                u64::from(limits.rate_burst),
            ),
            (
                &mut self.bytes,
                &other.bytes,
                limits.rate_bytes_per_sec as u64,
                byte_burst(limits),
            ),
            (
                &mut self.lobby_bytes,
                &other.lobby_bytes,
                limits.lobby_bytes_per_sec as u64,
                limits.lobby_bytes_burst as u64,
            ),
        ];
        for (mine, theirs, rate, burst) in pairs {
            let mut theirs = theirs.clone();
            theirs.refill(rate, burst, now);
            mine.refill(rate, burst, now);
            mine.milli = mine.milli.min(theirs.milli);
        }
    }
}

/// Parses one text message without the relay, so that JSON and base64 decoding
/// run before the hub's lock is taken; returns the size the size and rate checks
/// of [`Relay::receive_parsed`] count, and the message or why it is none.
pub fn parse_text(text: &str) -> (usize, Result<ClientMessage, JsonError>) {
    (text.len(), ClientMessage::from_json(text))
}

/// The byte bucket holds at least one largest message.
fn byte_burst(limits: &Limits) -> u64 {
    limits.rate_bytes_burst.max(limits.max_message_bytes) as u64
}

#[derive(Debug)]
struct Conn {
    kind: Kind,
    rooms: Vec<(RoomId, MemberId)>,
    buckets: Buckets,
    /// Where it comes from (`None`: exempt from per-source limits).
    source: Option<Source>,
    /// Rooms this connection hosted and left: they count against its room
    /// budget while they wait for their host (grace period).
    left: Vec<RoomId>,
    /// The shard label the load balancer routed it by (`crate::shard`).
    shard: Option<ShardLabel>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Host,
    Lobby,
    Admitted,
}

#[derive(Debug)]
struct Member {
    status: Status,
    conn: Option<ConnId>,
    /// Set while the member has no connection (grace period).
    away_since: Option<Instant>,
    /// SHA-256 of the guest's resume secret; `None` for the host.
    resume_hash: Option<TokenHash>,
    /// The last resume: the used secret's hash and the next hash it named,
    /// so that the same resume again (its answer was lost) still works.
    resume_retry: Option<(TokenHash, TokenHash)>,
    /// The rate limits of its last connection, kept while it is away.
    buckets: Option<Buckets>,
    /// While in the lobby: its knock's payload (ciphertext) and the room's
    /// knock number, so that a host who arrives later still gets the knock.
    held_knock: Option<(u64, Blob)>,
}

#[derive(Debug)]
struct Invite {
    valid: Validity,
    used: bool,
}

/// When an invite lets a guest in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Validity {
    /// Until this instant (an immediate session's invite, `ttl_secs`).
    Until(Instant),
    /// An appointment: while `opens <= unix time < closes`.
    Window { opens: u64, closes: u64 },
}

impl Validity {
    /// Whether a knock at `now` (unix time `unix`) may use it.
    fn open(self, now: Instant, unix: Option<u64>) -> bool {
        match self {
            Validity::Until(expires) => now < expires,
            Validity::Window { opens, closes } => unix.is_some_and(|u| opens <= u && u < closes),
        }
    }

    /// Whether it can never let anyone in again.
    fn over(self, now: Instant, unix: Option<u64>) -> bool {
        match self {
            Validity::Until(expires) => now >= expires,
            Validity::Window { closes, .. } => unix.is_none_or(|u| u >= closes),
        }
    }
}

#[derive(Debug)]
struct Room {
    host_hash: TokenHash,
    host: MemberId,
    members: HashMap<MemberId, Member>,
    invites: HashMap<TokenHash, Invite>,
    /// Set while no member is connected; the room is deleted after the grace period.
    empty_since: Option<Instant>,
    /// The source that created it (counts against that source's room budget).
    source: Option<Source>,
    /// A planned session: kept with nobody connected, and its lobby seats
    /// kept while away, until this unix time.
    keep_until: Option<u64>,
    /// Knocks so far, numbering held knocks in the order they came.
    knocks: u64,
}

/// Whether members in these two states may see each other's events and payloads.
fn visible(a: Status, b: Status) -> bool {
    match (a, b) {
        (Status::Lobby, Status::Host) | (Status::Host, Status::Lobby) => true,
        (Status::Lobby, _) | (_, Status::Lobby) => false,
        _ => true,
    }
}

/// Whether a `send` without `to` from `a` reaches `b`: the host's broadcast
/// excludes the lobby, a lobby member's reaches only the host.
fn broadcast_reaches(a: Status, b: Status) -> bool {
    match (a, b) {
        (Status::Lobby, Status::Host) => true,
        (Status::Lobby, _) | (_, Status::Lobby) => false,
        _ => true,
    }
}

fn same_hash(a: &TokenHash, b: &TokenHash) -> bool {
    a.0.ct_eq(&b.0).into()
}

impl Room {
    fn connected(&self) -> impl Iterator<Item = (MemberId, &Member, ConnId)> {
        self.members
            .iter()
            .filter_map(|(id, m)| m.conn.map(|c| (*id, m, c)))
    }

    /// Connections that see events about `member`.
    fn peers(&self, member: MemberId) -> Vec<ConnId> {
        let Some(status) = self.members.get(&member).map(|m| m.status) else {
            return Vec::new();
        };
        let mut peers: Vec<(MemberId, ConnId)> = self
            .connected()
            .filter(|(id, m, _)| *id != member && visible(status, m.status))
            .map(|(id, _, c)| (id, c))
            .collect();
        // Deterministic order (HashMap iteration is not).
        peers.sort_unstable();
        peers.into_iter().map(|(_, c)| c).collect()
    }

    /// Connected members with this status, except `except`, sorted.
    fn connected_ids(&self, status: &[Status], except: MemberId) -> Vec<MemberId> {
        let mut ids: Vec<MemberId> = self
            .connected()
            .filter(|(id, m, _)| *id != except && status.contains(&m.status))
            .map(|(id, _, _)| id)
            .collect();
        ids.sort_unstable();
        ids
    }
}

/// All rooms and connections of one relay.
pub struct Relay {
    limits: Limits,
    rooms: HashMap<RoomId, Room>,
    conns: HashMap<ConnId, Conn>,
    /// Existing rooms per creating source.
    rooms_by_source: HashMap<Source, usize>,
    rng: StdRng,
    stats: Stats,
    /// Who may create rooms (counsellors of the centre).
    access: Arc<Access>,
    /// An instant and the time since the unix epoch it was, for the unix
    /// times of planned sessions; `None` (no wall clock given): they are refused.
    wall: Option<(Instant, Duration)>,
}

impl Relay {
    /// `seed` only picks member ids, which are not secret (a member proves
    /// itself with its connection or its resume secret). Only connections
    /// with a sign-in that `access` admits may create rooms.
    pub fn new(limits: Limits, seed: u64, access: Arc<Access>) -> Self {
        Relay {
            access,
            limits,
            rooms: HashMap::new(),
            conns: HashMap::new(),
            rooms_by_source: HashMap::new(),
            rng: StdRng::seed_from_u64(seed),
            stats: Stats::default(),
            wall: None,
        }
    }

    /// Tells the relay that `at` was `since_epoch` after the unix epoch (the
    /// shell reads both clocks; tests pin them). Needed for planned sessions.
    pub fn set_wall_clock(&mut self, at: Instant, since_epoch: Duration) {
        self.wall = Some((at, since_epoch));
    }

    /// The unix time (whole seconds) at `now`, if a wall clock was given.
    fn unix_at(&self, now: Instant) -> Option<u64> {
        let (at, since_epoch) = self.wall?;
        let then = if now >= at {
            since_epoch.saturating_add(now.duration_since(at))
        } else {
            since_epoch.saturating_sub(at.duration_since(now))
        };
        Some(then.as_secs())
    }

    /// Whether unix time `end` is at most `--planned-room-max` ahead. An end
    /// already past is accepted and keeps nothing: the counsellor's clock may
    /// run behind the relay's, and refusing would cut her connection at the
    /// very end of an appointment.
    fn plannable(&self, end: u64, now: Instant) -> bool {
        let max = self.limits.planned_room_max.as_secs();
        self.unix_at(now)
            .is_some_and(|u| end <= u.saturating_add(max))
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Whether `member` is the host or an admitted member of `room` (also
    /// while away in its grace period): who may hold TURN credentials.
    pub fn is_in_call(&self, room: RoomId, member: MemberId) -> bool {
        self.rooms
            .get(&room)
            .and_then(|r| r.members.get(&member))
            .is_some_and(|m| matches!(m.status, Status::Host | Status::Admitted))
    }

    /// Counts an error that happened outside the state machine (e.g. server full).
    pub fn record_error(&mut self, code: ErrorCode) {
        *self.stats.errors.entry(code).or_default() += 1;
    }

    /// A new connection was accepted. An id already in use is left alone
    /// (the shell never reuses ids; the fuzz target does).
    pub fn connect(&mut self, conn: ConnId, now: Instant) {
        self.connect_from(conn, None, now);
    }

    /// A new connection from `source` (`None`: exempt from per-source limits).
    pub fn connect_from(&mut self, conn: ConnId, source: Option<Source>, now: Instant) {
        let buckets = Buckets::new(&self.limits, now);
        self.conns.entry(conn).or_insert(Conn {
            kind: Kind::Fresh,
            rooms: Vec::new(),
            buckets,
            source,
            left: Vec::new(),
            shard: None,
        });
    }

    /// The connection came with shard label `label` in its URL: it may only
    /// create, knock on or resume rooms of that label (4019 otherwise).
    pub fn set_shard(&mut self, conn: ConnId, label: ShardLabel) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.shard = Some(label);
        }
    }

    /// Whether the connection is a guest waiting in a lobby.
    fn in_lobby(&self, conn: ConnId) -> bool {
        let Some(c) = self.conns.get(&conn) else {
            return false;
        };
        c.kind == Kind::Guest
            && c.rooms.iter().any(|(room_id, member)| {
                self.rooms
                    .get(room_id)
                    .and_then(|r| r.members.get(member))
                    .is_some_and(|m| m.status == Status::Lobby)
            })
    }

    /// Whether the connection has not yet created a room, knocked or resumed.
    pub fn is_fresh(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| c.kind == Kind::Fresh)
    }

    /// The connection is gone (closed by the peer, or after a close we asked for).
    pub fn disconnect(&mut self, conn: ConnId, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        self.drop_conn(conn, now, &mut out);
        out
    }

    /// Closes a connection for a reason found by the shell (binary frame, oversized frame, idle, slow).
    pub fn kick(&mut self, conn: ConnId, code: ErrorCode, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        if self.conns.contains_key(&conn) {
            self.fail(conn, code, now, &mut out);
        }
        out
    }

    /// One text message from a connection, parsed by [`parse_text`] (outside
    /// the hub's lock): size and rate checks first, as if unparsed, then handling.
    pub fn receive_parsed(
        &mut self,
        conn: ConnId,
        size: usize,
        parsed: Result<ClientMessage, JsonError>,
        now: Instant,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        let in_lobby = self.in_lobby(conn);
        let Some(c) = self.conns.get_mut(&conn) else {
            return out;
        };
        let limits = &self.limits;
        if size > limits.max_message_bytes {
            self.fail(conn, ErrorCode::MessageTooLarge, now, &mut out);
        } else if !c.buckets.messages.take(
            1,
            u64::from(limits.rate_per_sec),
            u64::from(limits.rate_burst),
            now,
        ) || !c.buckets.bytes.take(
            size as u64,
            limits.rate_bytes_per_sec as u64,
            byte_burst(limits),
            now,
        ) || (in_lobby
            && !c.buckets.lobby_bytes.take(
                size as u64,
                limits.lobby_bytes_per_sec as u64,
                limits.lobby_bytes_burst as u64,
                now,
            ))
        {
            self.fail(conn, ErrorCode::RateLimited, now, &mut out);
        } else {
            match parsed {
                Ok(msg) => self.handle(conn, msg, now, &mut out),
                Err(_) => self.fail(conn, ErrorCode::ProtocolError, now, &mut out),
            }
        }
        out
    }

    /// Time passes: away guests and empty rooms whose grace period is over are removed.
    pub fn tick(&mut self, now: Instant) -> Vec<Output> {
        let mut out = Vec::new();
        let grace = self.limits.grace;
        let expired = |since: Option<Instant>| since.is_some_and(|t| now >= t + grace);
        let unix = self.unix_at(now);
        // A planned room (and its lobby) outlives the grace period until `keep_until`.
        let kept = |keep_until: Option<u64>| keep_until.zip(unix).is_some_and(|(k, u)| u < k);
        let mut gone_rooms = Vec::new();
        let mut ids: Vec<RoomId> = self.rooms.keys().copied().collect();
        ids.sort_unstable_by_key(|r| r.0);
        for room_id in ids {
            let Some(room) = self.rooms.get_mut(&room_id) else {
                continue;
            };
            let lobby_kept = kept(room.keep_until);
            let mut gone: Vec<MemberId> = room
                .members
                .iter()
                .filter(|(_, m)| {
                    m.status != Status::Host
                        && expired(m.away_since)
                        && !(m.status == Status::Lobby && lobby_kept)
                })
                .map(|(id, _)| *id)
                .collect();
            gone.sort_unstable();
            for member in gone {
                for peer in room.peers(member) {
                    out.push(Output::Send(
                        peer,
                        ServerMessage::MemberLeft {
                            room: room_id,
                            member,
                        },
                    ));
                }
                room.members.remove(&member);
            }
            if expired(room.empty_since) && !kept(room.keep_until) {
                gone_rooms.push(room_id);
            }
        }
        for room_id in gone_rooms {
            self.remove_room(room_id);
        }
        out
    }

    /// Deletes a room and returns it; its creator's source budget gets it back.
    fn remove_room(&mut self, room_id: RoomId) -> Option<Room> {
        let room = self.rooms.remove(&room_id)?;
        if let Some(source) = room.source
            && let Some(n) = self.rooms_by_source.get_mut(&source)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.rooms_by_source.remove(&source);
            }
        }
        Some(room)
    }

    /// Handles one decoded message.
    pub fn handle(
        &mut self,
        conn: ConnId,
        msg: ClientMessage,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some((kind, shard)) = self.conns.get(&conn).map(|c| (c.kind, c.shard)) else {
            return;
        };
        if let ClientMessage::CreateRoom { room, .. }
        | ClientMessage::Knock { room, .. }
        | ClientMessage::Resume { room, .. } = &msg
            && !crate::shard::room_fits(shard, room)
        {
            self.fail(conn, ErrorCode::WrongShard, now, out);
            return;
        }
        match msg {
            ClientMessage::CreateRoom {
                v,
                room,
                host_token,
                counsellor,
                keep_until,
            } => {
                if self.version_ok(conn, v, now, out)
                    && self.kind_ok(conn, kind, &[Kind::Fresh, Kind::Host], now, out)
                    && self.counsellor_ok(conn, &counsellor, now, out)
                {
                    self.create_room(conn, room, &host_token, keep_until, now, out);
                }
            }
            ClientMessage::Knock {
                v,
                room,
                invite_token,
                resume_hash,
                payload,
            } => {
                if self.version_ok(conn, v, now, out)
                    && self.kind_ok(conn, kind, &[Kind::Fresh], now, out)
                {
                    self.knock(conn, room, &invite_token, resume_hash, payload, now, out);
                }
            }
            ClientMessage::Resume {
                v,
                room,
                member,
                resume_secret,
                next_resume_hash,
            } => {
                if self.version_ok(conn, v, now, out)
                    && self.kind_ok(conn, kind, &[Kind::Fresh], now, out)
                {
                    self.resume(
                        conn,
                        room,
                        member,
                        &resume_secret,
                        next_resume_hash,
                        now,
                        out,
                    );
                }
            }
            other => self.in_room(conn, other, now, out),
        }
    }

    fn version_ok(&mut self, conn: ConnId, v: u32, now: Instant, out: &mut Vec<Output>) -> bool {
        if v == PROTOCOL_VERSION {
            return true;
        }
        self.fail(conn, ErrorCode::UnsupportedVersion, now, out);
        false
    }

    /// Rooms (and with them TURN credentials) only for signed-in counsellors;
    /// checked on every `create_room`, so a revoked sign-in cannot take a room back either.
    fn counsellor_ok(
        &mut self,
        conn: ConnId,
        token: &CounsellorToken,
        now: Instant,
        out: &mut Vec<Output>,
    ) -> bool {
        if self.access.admits(token) {
            return true;
        }
        self.fail(conn, ErrorCode::NotCounsellor, now, out);
        false
    }

    fn kind_ok(
        &mut self,
        conn: ConnId,
        kind: Kind,
        allowed: &[Kind],
        now: Instant,
        out: &mut Vec<Output>,
    ) -> bool {
        if allowed.contains(&kind) {
            return true;
        }
        self.fail(conn, ErrorCode::ProtocolError, now, out);
        false
    }

    fn create_room(
        &mut self,
        conn: ConnId,
        room_id: RoomId,
        token: &HostToken,
        keep_until: Option<u64>,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        if keep_until.is_some_and(|k| !self.plannable(k, now)) {
            self.fail(conn, ErrorCode::ProtocolError, now, out);
            return;
        }
        // A room id is the hash of its host token (`link::room_id_of`), so knowing
        // a room id from a link is not enough to create the room first (after a
        // restart or its grace). A room that exists keeps its own check below
        // (4016 for another token); its host's token was bound when it was made.
        if !self.rooms.contains_key(&room_id) && confide_shared::link::room_id_of(token) != room_id
        {
            self.fail(conn, ErrorCode::RoomIdMismatch, now, out);
            return;
        }
        let hash = token.hash();
        let (hosted, left, source) = self
            .conns
            .get(&conn)
            .map(|c| (c.rooms.clone(), c.left.clone(), c.source))
            .unwrap_or_default();
        if let Some((_, member)) = hosted.iter().find(|(r, _)| *r == room_id) {
            // Already hosting it on this connection: the token must still match.
            let same = self
                .rooms
                .get(&room_id)
                .is_some_and(|r| same_hash(&r.host_hash, &hash));
            if same {
                self.keep_until(room_id, keep_until);
                self.send_room_snapshot(conn, room_id, *member, true, out);
            } else {
                self.fail(conn, ErrorCode::RoomExists, now, out);
            }
            return;
        }
        // Rooms this connection left still count while they wait for their host.
        let waiting: Vec<RoomId> = left
            .into_iter()
            .filter(|r| self.waits_for_host(*r))
            .collect();
        let left_waiting = waiting.iter().filter(|r| **r != room_id).count();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.left = waiting;
        }
        if hosted.len() + left_waiting >= self.limits.max_rooms_per_connection {
            self.fail(conn, ErrorCode::TooManyRooms, now, out);
            return;
        }
        let (member, resumed) = match self.rooms.get(&room_id) {
            None => {
                if self.rooms.len() >= self.limits.max_rooms {
                    self.fail(conn, ErrorCode::ServerFull, now, out);
                    return;
                }
                if let Some(source) = source
                    && self.rooms_by_source.get(&source).copied().unwrap_or(0)
                        >= self.limits.max_rooms_per_source
                {
                    self.fail(conn, ErrorCode::TooManyRooms, now, out);
                    return;
                }
                if let Some(source) = source {
                    *self.rooms_by_source.entry(source).or_default() += 1;
                }
                let host = MemberId(self.rng.random());
                let mut members = HashMap::new();
                members.insert(
                    host,
                    Member {
                        status: Status::Host,
                        conn: None,
                        away_since: Some(now),
                        resume_hash: None,
                        resume_retry: None,
                        buckets: None,
                        held_knock: None,
                    },
                );
                self.rooms.insert(
                    room_id,
                    Room {
                        host_hash: hash,
                        host,
                        members,
                        invites: HashMap::new(),
                        empty_since: Some(now),
                        source,
                        keep_until: None,
                        knocks: 0,
                    },
                );
                self.stats.rooms_created += 1;
                (host, false)
            }
            Some(room) => {
                if !same_hash(&room.host_hash, &hash) {
                    self.fail(conn, ErrorCode::RoomExists, now, out);
                    return;
                }
                let host = room.host;
                if let Some(old) = room.members.get(&host).and_then(|m| m.conn) {
                    self.fail(old, ErrorCode::Replaced, now, out);
                }
                (host, true)
            }
        };
        if let Some(c) = self.conns.get_mut(&conn) {
            c.kind = Kind::Host;
            c.left.retain(|r| *r != room_id);
        }
        self.keep_until(room_id, keep_until);
        self.attach(conn, room_id, member, now, out);
        self.send_room_snapshot(conn, room_id, member, resumed, out);
    }

    /// A planned room is kept until the latest `keep_until` its host gave.
    fn keep_until(&mut self, room_id: RoomId, keep_until: Option<u64>) {
        if let Some(room) = self.rooms.get_mut(&room_id) {
            room.keep_until = room.keep_until.max(keep_until);
        }
    }

    /// Whether the room exists and its host is away (a room left by its host).
    fn waits_for_host(&self, room_id: RoomId) -> bool {
        self.rooms
            .get(&room_id)
            .is_some_and(|r| r.members.get(&r.host).is_some_and(|m| m.conn.is_none()))
    }

    fn send_room_snapshot(
        &self,
        conn: ConnId,
        room_id: RoomId,
        member: MemberId,
        resumed: bool,
        out: &mut Vec<Output>,
    ) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        out.push(Output::Send(
            conn,
            ServerMessage::RoomCreated {
                room: room_id,
                member,
                resumed,
                members: room.connected_ids(&[Status::Admitted], member),
                lobby: room.connected_ids(&[Status::Lobby], member),
            },
        ));
        if !resumed {
            return;
        }
        // The host (again) in its seat: every knock still waiting, connected
        // or away, in the order they came (it may have missed them).
        let mut held: Vec<(u64, MemberId, &Blob)> = room
            .members
            .iter()
            .filter_map(|(id, m)| m.held_knock.as_ref().map(|(n, p)| (*n, *id, p)))
            .collect();
        held.sort_unstable_by_key(|(n, _, _)| *n);
        for (_, knocker, payload) in held {
            out.push(Output::Send(
                conn,
                ServerMessage::Knocked {
                    room: room_id,
                    member: knocker,
                    payload: payload.clone(),
                },
            ));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn knock(
        &mut self,
        conn: ConnId,
        room_id: RoomId,
        token: &InviteToken,
        resume_hash: TokenHash,
        payload: Blob,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let max_participants = self.limits.max_participants;
        let unix = self.unix_at(now);
        // No room, an unknown, used or expired invite (or one whose
        // appointment window is not open): one answer, so an old link does
        // not tell whether its session still runs.
        let Some(room) = self.rooms.get_mut(&room_id) else {
            self.fail(conn, ErrorCode::InviteInvalid, now, out);
            return;
        };
        let refusal = match room.invites.get(&token.hash()) {
            None => Some(ErrorCode::InviteInvalid),
            Some(invite) if invite.used || !invite.valid.open(now, unix) => {
                Some(ErrorCode::InviteInvalid)
            }
            // Checked before the invite is consumed, so the guest may try again later.
            Some(_) if room.members.len() >= max_participants => Some(ErrorCode::RoomFull),
            Some(_) => None,
        };
        if let Some(code) = refusal {
            self.fail(conn, code, now, out);
            return;
        }
        if let Some(invite) = room.invites.get_mut(&token.hash()) {
            invite.used = true;
        }
        let member = fresh_member_id(&mut self.rng, room);
        let host = room.host;
        let host_conn = room.members.get(&host).and_then(|m| m.conn);
        room.knocks += 1;
        room.members.insert(
            member,
            Member {
                status: Status::Lobby,
                conn: None,
                away_since: Some(now),
                resume_hash: Some(resume_hash),
                resume_retry: None,
                buckets: None,
                // A real knock is about 500 bytes; a larger one is delivered
                // live but not kept, so held knocks stay small.
                held_knock: (payload.0.len() <= MAX_HELD_KNOCK_BYTES)
                    .then(|| (room.knocks, payload.clone())),
            },
        );
        if let Some(c) = self.conns.get_mut(&conn) {
            c.kind = Kind::Guest;
        }
        self.attach_quiet(conn, room_id, member, now);
        out.push(Output::Send(
            conn,
            ServerMessage::Waiting {
                room: room_id,
                member,
                host,
            },
        ));
        if let Some(host_conn) = host_conn {
            out.push(Output::Send(
                host_conn,
                ServerMessage::Knocked {
                    room: room_id,
                    member,
                    payload,
                },
            ));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn resume(
        &mut self,
        conn: ConnId,
        room_id: RoomId,
        member: MemberId,
        secret: &ResumeSecret,
        next: TokenHash,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        // No room is answered like a wrong secret (no liveness oracle).
        let Some(room) = self.rooms.get_mut(&room_id) else {
            self.fail(conn, ErrorCode::ResumeFailed, now, out);
            return;
        };
        let hash = secret.hash();
        // The current secret, used up now; or exactly the last resume again.
        let Some(m) = room.members.get_mut(&member).filter(|m| {
            m.resume_hash.as_ref().is_some_and(|h| same_hash(h, &hash))
                || m.resume_retry
                    .as_ref()
                    .is_some_and(|(used, named)| same_hash(used, &hash) && same_hash(named, &next))
        }) else {
            self.fail(conn, ErrorCode::ResumeFailed, now, out);
            return;
        };
        m.resume_retry = Some((hash, next));
        m.resume_hash = Some(next);
        let old = m.conn;
        if let Some(old) = old {
            self.fail(old, ErrorCode::Replaced, now, out);
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.kind = Kind::Guest;
        }
        self.attach(conn, room_id, member, now, out);
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let host = room.host;
        let status = room.members.get(&member).map(|m| m.status);
        let msg = if status == Some(Status::Admitted) {
            ServerMessage::Admitted {
                room: room_id,
                member,
                host,
                members: room.connected_ids(&[Status::Admitted, Status::Host], member),
            }
        } else {
            ServerMessage::Waiting {
                room: room_id,
                member,
                host,
            }
        };
        out.push(Output::Send(conn, msg));
    }

    /// Messages about a room the connection is already in.
    fn in_room(&mut self, conn: ConnId, msg: ClientMessage, now: Instant, out: &mut Vec<Output>) {
        let room_id = match &msg {
            ClientMessage::AddInvite { room, .. }
            | ClientMessage::RevokeInvite { room, .. }
            | ClientMessage::Admit { room, .. }
            | ClientMessage::Reject { room, .. }
            | ClientMessage::Remove { room, .. }
            | ClientMessage::Send { room, .. }
            | ClientMessage::Leave { room }
            | ClientMessage::EndSession { room } => *room,
            ClientMessage::CreateRoom { .. }
            | ClientMessage::Knock { .. }
            | ClientMessage::Resume { .. } => {
                return;
            }
        };
        let membership = self
            .conns
            .get(&conn)
            .and_then(|c| c.rooms.iter().find(|(r, _)| *r == room_id))
            .map(|(_, m)| *m);
        let status = membership.and_then(|m| {
            self.rooms
                .get(&room_id)
                .and_then(|r| r.members.get(&m))
                .map(|m| m.status)
        });
        let (Some(me), Some(status)) = (membership, status) else {
            self.fail(conn, ErrorCode::ProtocolError, now, out);
            return;
        };
        let host_only = !matches!(
            msg,
            ClientMessage::Send { .. } | ClientMessage::Leave { .. }
        );
        if host_only && status != Status::Host {
            self.fail(conn, ErrorCode::ProtocolError, now, out);
            return;
        }
        match msg {
            ClientMessage::AddInvite {
                token_hash,
                ttl_secs,
                opens,
                closes,
                ..
            } => {
                let window = match (opens, closes, ttl_secs) {
                    (None, None, _) => None,
                    (Some(opens), Some(closes), None)
                        if opens < closes && self.plannable(closes, now) =>
                    {
                        Some((opens, closes))
                    }
                    _ => {
                        self.fail(conn, ErrorCode::ProtocolError, now, out);
                        return;
                    }
                };
                self.add_invite(conn, room_id, token_hash, ttl_secs, window, now, out)
            }
            ClientMessage::RevokeInvite { token_hash, .. } => {
                if let Some(room) = self.rooms.get_mut(&room_id)
                    && room.invites.get(&token_hash).is_some_and(|i| !i.used)
                {
                    room.invites.remove(&token_hash);
                }
            }
            ClientMessage::Admit { member, .. } => self.admit(conn, room_id, member, out),
            ClientMessage::Reject { member, .. } => {
                self.evict(
                    conn,
                    room_id,
                    member,
                    &[Status::Lobby],
                    ErrorCode::Rejected,
                    now,
                    out,
                );
            }
            ClientMessage::Remove { member, .. } => {
                self.evict(
                    conn,
                    room_id,
                    member,
                    &[Status::Lobby, Status::Admitted],
                    ErrorCode::Removed,
                    now,
                    out,
                );
            }
            ClientMessage::Send { to, payload, .. } => {
                self.forward(conn, room_id, me, to, payload, out)
            }
            ClientMessage::Leave { .. } => self.leave(conn, room_id, me, status, now, out),
            ClientMessage::EndSession { .. } => self.end_session(conn, room_id, now, out),
            ClientMessage::CreateRoom { .. }
            | ClientMessage::Knock { .. }
            | ClientMessage::Resume { .. } => {}
        }
    }

    /// `window`: an appointment's `(opens, closes)`, already checked;
    /// otherwise `ttl_secs` or the default.
    #[allow(clippy::too_many_arguments)]
    fn add_invite(
        &mut self,
        conn: ConnId,
        room_id: RoomId,
        token_hash: TokenHash,
        ttl_secs: Option<u32>,
        window: Option<(u64, u64)>,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let unix = self.unix_at(now);
        let limits = &self.limits;
        let ttl = ttl_secs
            .map(|s| Duration::from_secs(u64::from(s)))
            .unwrap_or(limits.invite_ttl)
            .min(limits.invite_ttl_max);
        let (valid, secs) = match window {
            Some((opens, closes)) => (
                Validity::Window { opens, closes },
                closes.saturating_sub(unix.unwrap_or(closes)),
            ),
            None => (
                Validity::Until(now + ttl),
                ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0),
            ),
        };
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        if !room.invites.contains_key(&token_hash)
            && room.invites.len() >= limits.max_invites_per_room
        {
            room.invites
                .retain(|_, i| !i.used && !i.valid.over(now, unix));
            if room.invites.len() >= limits.max_invites_per_room {
                out.push(Output::Send(
                    conn,
                    ServerMessage::Error {
                        code: ErrorCode::TooManyInvites,
                        room: Some(room_id),
                    },
                ));
                return;
            }
        }
        let invite = room
            .invites
            .entry(token_hash)
            .or_insert(Invite { valid, used: false });
        // A used invite stays used: re-adding its hash must not arm it again.
        if !invite.used {
            invite.valid = valid;
        }
        out.push(Output::Send(
            conn,
            ServerMessage::InviteAdded {
                room: room_id,
                token_hash,
                ttl_secs: u32::try_from(secs).unwrap_or(u32::MAX),
            },
        ));
    }

    fn admit(&mut self, conn: ConnId, room_id: RoomId, member: MemberId, out: &mut Vec<Output>) {
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let Some(m) = room
            .members
            .get_mut(&member)
            .filter(|m| m.status == Status::Lobby)
        else {
            unknown_member(conn, room_id, out);
            return;
        };
        m.status = Status::Admitted;
        m.held_knock = None;
        let Some(guest_conn) = m.conn else {
            // Told when it resumes.
            return;
        };
        out.push(Output::Send(
            guest_conn,
            ServerMessage::Admitted {
                room: room_id,
                member,
                host: room.host,
                members: room.connected_ids(&[Status::Admitted, Status::Host], member),
            },
        ));
        for peer in room.peers(member) {
            out.push(Output::Send(
                peer,
                ServerMessage::MemberJoined {
                    room: room_id,
                    member,
                },
            ));
        }
    }

    /// Reject (lobby) or remove (any guest): the member loses its place for good.
    #[allow(clippy::too_many_arguments)]
    fn evict(
        &mut self,
        conn: ConnId,
        room_id: RoomId,
        member: MemberId,
        from: &[Status],
        code: ErrorCode,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        if !room
            .members
            .get(&member)
            .is_some_and(|m| from.contains(&m.status))
        {
            unknown_member(conn, room_id, out);
            return;
        }
        for peer in room.peers(member) {
            out.push(Output::Send(
                peer,
                ServerMessage::MemberLeft {
                    room: room_id,
                    member,
                },
            ));
        }
        let gone = room.members.remove(&member).and_then(|m| m.conn);
        update_empty(room, now);
        if let Some(guest_conn) = gone {
            let msg = if code == ErrorCode::Rejected {
                ServerMessage::Rejected { room: room_id }
            } else {
                ServerMessage::Removed { room: room_id }
            };
            out.push(Output::Send(guest_conn, msg));
            self.detach_membership(guest_conn, room_id);
            self.fail(guest_conn, code, now, out);
        }
    }

    fn forward(
        &mut self,
        conn: ConnId,
        room_id: RoomId,
        me: MemberId,
        to: Option<MemberId>,
        payload: Blob,
        out: &mut Vec<Output>,
    ) {
        let Some(room) = self.rooms.get(&room_id) else {
            return;
        };
        let Some(my_status) = room.members.get(&me).map(|m| m.status) else {
            return;
        };
        let targets: Vec<ConnId> = match to {
            None => {
                let mut t: Vec<(MemberId, ConnId)> = room
                    .connected()
                    .filter(|(id, m, _)| *id != me && broadcast_reaches(my_status, m.status))
                    .map(|(id, _, c)| (id, c))
                    .collect();
                t.sort_unstable();
                t.into_iter().map(|(_, c)| c).collect()
            }
            Some(target) => match room.members.get(&target) {
                Some(m) if target != me && visible(my_status, m.status) && m.conn.is_some() => {
                    m.conn.into_iter().collect()
                }
                _ => {
                    unknown_member(conn, room_id, out);
                    return;
                }
            },
        };
        self.stats.messages_forwarded += targets.len() as u64;
        for target in targets {
            out.push(Output::Send(
                target,
                ServerMessage::Deliver {
                    room: room_id,
                    from: me,
                    payload: payload.clone(),
                },
            ));
        }
    }

    fn leave(
        &mut self,
        conn: ConnId,
        room_id: RoomId,
        me: MemberId,
        status: Status,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        if status == Status::Host {
            // The host may come back with its token; the room lives on, and
            // keeps counting against this connection's budget meanwhile.
            self.detach_membership(conn, room_id);
            if let Some(c) = self.conns.get_mut(&conn) {
                c.left.push(room_id);
            }
            self.detach(room_id, me, now, out);
            return;
        }
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        for peer in room.peers(me) {
            out.push(Output::Send(
                peer,
                ServerMessage::MemberLeft {
                    room: room_id,
                    member: me,
                },
            ));
        }
        room.members.remove(&me);
        update_empty(room, now);
        self.conns.remove(&conn);
        out.push(Output::Close(conn, Close::LEFT));
    }

    fn end_session(&mut self, conn: ConnId, room_id: RoomId, now: Instant, out: &mut Vec<Output>) {
        let Some(room) = self.remove_room(room_id) else {
            return;
        };
        let mut guests: Vec<(MemberId, ConnId)> = room
            .connected()
            .filter(|(_, m, _)| m.status != Status::Host)
            .map(|(id, _, c)| (id, c))
            .collect();
        guests.sort_unstable();
        for (_, guest_conn) in guests {
            out.push(Output::Send(
                guest_conn,
                ServerMessage::SessionEnded { room: room_id },
            ));
            self.detach_membership(guest_conn, room_id);
            self.fail(guest_conn, ErrorCode::SessionEnded, now, out);
        }
        self.detach_membership(conn, room_id);
        out.push(Output::Send(
            conn,
            ServerMessage::SessionEnded { room: room_id },
        ));
    }

    /// Closes `conn` for `code` and forgets it.
    fn fail(&mut self, conn: ConnId, code: ErrorCode, now: Instant, out: &mut Vec<Output>) {
        self.record_error(code);
        out.push(Output::Close(conn, Close::error(code)));
        self.drop_conn(conn, now, out);
    }

    /// Forgets a connection; its members become away (they may come back).
    fn drop_conn(&mut self, conn: ConnId, now: Instant, out: &mut Vec<Output>) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        for (room_id, member) in c.rooms {
            // The seat keeps the connection's rate limits while it is away.
            if let Some(m) = self
                .rooms
                .get_mut(&room_id)
                .and_then(|r| r.members.get_mut(&member))
            {
                m.buckets = Some(c.buckets.clone());
            }
            self.detach(room_id, member, now, out);
        }
    }

    fn attach(
        &mut self,
        conn: ConnId,
        room_id: RoomId,
        member: MemberId,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        self.attach_quiet(conn, room_id, member, now);
        if let Some(room) = self.rooms.get(&room_id) {
            for peer in room.peers(member) {
                out.push(Output::Send(
                    peer,
                    ServerMessage::MemberJoined {
                        room: room_id,
                        member,
                    },
                ));
            }
        }
    }

    fn attach_quiet(&mut self, conn: ConnId, room_id: RoomId, member: MemberId, now: Instant) {
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let Some(m) = room.members.get_mut(&member) else {
            return;
        };
        m.conn = Some(conn);
        m.away_since = None;
        room.empty_since = None;
        let saved = m.buckets.take();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.rooms.push((room_id, member));
            // Coming back does not refill the seat's rate limits.
            if let Some(saved) = saved {
                c.buckets.keep_emptier(&saved, &self.limits, now);
            }
        }
    }

    /// The member lost its connection: it keeps its place for the grace period.
    fn detach(&mut self, room_id: RoomId, member: MemberId, now: Instant, out: &mut Vec<Output>) {
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let Some(m) = room.members.get_mut(&member) else {
            return;
        };
        m.conn = None;
        m.away_since = Some(now);
        for peer in room.peers(member) {
            out.push(Output::Send(
                peer,
                ServerMessage::MemberAway {
                    room: room_id,
                    member,
                },
            ));
        }
        update_empty(room, now);
    }

    fn detach_membership(&mut self, conn: ConnId, room_id: RoomId) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.rooms.retain(|(r, _)| *r != room_id);
        }
    }

    /// Panics if the internal bookkeeping is inconsistent (for tests and fuzzing).
    pub fn check_invariants(&self) {
        for (conn_id, conn) in &self.conns {
            match conn.kind {
                Kind::Fresh => assert!(conn.rooms.is_empty()),
                Kind::Guest => assert!(conn.rooms.len() <= 1),
                Kind::Host => assert!(conn.rooms.len() <= self.limits.max_rooms_per_connection),
            }
            for (room_id, member) in &conn.rooms {
                let room = self
                    .rooms
                    .get(room_id)
                    .unwrap_or_else(|| panic!("room of conn missing"));
                let m = room
                    .members
                    .get(member)
                    .unwrap_or_else(|| panic!("member missing"));
                assert_eq!(m.conn, Some(*conn_id));
                assert_eq!(m.status == Status::Host, conn.kind == Kind::Host);
            }
        }
        assert!(self.rooms.len() <= self.limits.max_rooms);
        let mut by_source: HashMap<Source, usize> = HashMap::new();
        for room in self.rooms.values() {
            if let Some(source) = room.source {
                *by_source.entry(source).or_default() += 1;
            }
        }
        assert_eq!(by_source, self.rooms_by_source);
        for (room_id, room) in &self.rooms {
            assert!(room.members.len() <= self.limits.max_participants.max(1));
            let hosts: Vec<_> = room
                .members
                .iter()
                .filter(|(_, m)| m.status == Status::Host)
                .collect();
            assert_eq!(hosts.len(), 1);
            assert_eq!(*hosts[0].0, room.host);
            assert_eq!(
                room.empty_since.is_none(),
                room.members.values().any(|m| m.conn.is_some())
            );
            assert!(room.keep_until.is_none() || self.wall.is_some());
            for (id, m) in &room.members {
                assert_eq!(m.away_since.is_some(), m.conn.is_none());
                assert!(m.held_knock.is_none() || m.status == Status::Lobby);
                if let Some(c) = m.conn {
                    let conn = self
                        .conns
                        .get(&c)
                        .unwrap_or_else(|| panic!("conn of member missing"));
                    assert!(conn.rooms.contains(&(*room_id, *id)));
                }
            }
        }
    }
}

fn update_empty(room: &mut Room, now: Instant) {
    if room.members.values().any(|m| m.conn.is_some()) {
        room.empty_since = None;
    } else if room.empty_since.is_none() {
        room.empty_since = Some(now);
    }
}

fn unknown_member(conn: ConnId, room_id: RoomId, out: &mut Vec<Output>) {
    out.push(Output::Send(
        conn,
        ServerMessage::Error {
            code: ErrorCode::UnknownMember,
            room: Some(room_id),
        },
    ));
}

fn fresh_member_id(rng: &mut StdRng, room: &Room) -> MemberId {
    loop {
        let id = MemberId(rng.random());
        if !room.members.contains_key(&id) {
            return id;
        }
    }
}

#[cfg(test)]
mod tests;
