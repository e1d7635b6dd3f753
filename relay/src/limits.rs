//! The numbers that bound what one connection, one room and the whole relay
//! may cost. Kept apart from the command line so the state machine, its
//! tests and the fuzz target can build them directly.

use std::time::Duration;

use confide_shared::wire::DEFAULT_MAX_MESSAGE_BYTES;

/// Every limit the relay enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted WebSocket message (and frame), in bytes.
    pub max_message_bytes: usize,
    /// Sustained messages per second per connection (token bucket refill).
    pub rate_per_sec: u32,
    /// Messages a connection may send in a burst (token bucket size).
    pub rate_burst: u32,
    /// Sustained bytes per second per connection (token bucket refill).
    pub rate_bytes_per_sec: usize,
    /// Bytes a connection may send in a burst (at least one largest message).
    pub rate_bytes_burst: usize,
    /// Sustained bytes per second while a guest waits in the lobby.
    pub lobby_bytes_per_sec: usize,
    /// Bytes a guest may send in a burst while it waits in the lobby (after its knock).
    pub lobby_bytes_burst: usize,
    /// Rooms one connection may host.
    pub max_rooms_per_connection: usize,
    /// Members of one room, host and lobby included.
    pub max_participants: usize,
    /// Open WebSocket connections on the whole relay.
    pub max_connections: usize,
    /// Rooms on the whole relay (rooms outlive their connections for the grace period).
    pub max_rooms: usize,
    /// Invites one room keeps (used and expired ones are dropped first).
    pub max_invites_per_room: usize,
    /// How often the relay pings an otherwise quiet connection.
    pub ping_interval: Duration,
    /// A connection that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
    /// How long an away member keeps its place, and an empty room its existence.
    pub grace: Duration,
    /// Invite lifetime when the host does not ask for one.
    pub invite_ttl: Duration,
    /// Longest invite lifetime a host may ask for (longer requests are shortened).
    pub invite_ttl_max: Duration,
    /// How far ahead a planned session may be registered: the latest
    /// `keep_until` and invite `closes`, counted from now.
    pub planned_room_max: Duration,
    /// Messages queued for one connection before it counts as too slow.
    pub send_queue: usize,
    /// Bytes queued for one connection before it counts as too slow.
    pub send_queue_bytes: usize,
    /// Bytes queued for all connections together; beyond, a connection with
    /// a backlog counts as too slow.
    pub send_queue_total_bytes: usize,
    /// Open WebSocket connections from one source (IPv4 address, IPv6 /64).
    pub max_connections_per_source: usize,
    /// Rooms created from one source that still exist (grace period included).
    pub max_rooms_per_source: usize,
    /// Connections that have not yet created a room, knocked or resumed.
    pub max_unidentified: usize,
    /// How long a new connection may take to create a room, knock or resume.
    pub first_message_timeout: Duration,
    /// Apply the per-source limits to loopback peers too (by default a
    /// loopback peer is a local reverse proxy and exempt).
    pub limit_loopback: bool,
    /// Origins besides the relay's own whose pages may open a WebSocket
    /// (`--allowed-origin`, normalized: lower case, no trailing `/`).
    pub allowed_origins: Vec<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            rate_per_sec: 50,
            rate_burst: 100,
            rate_bytes_per_sec: 50 * 4096,
            rate_bytes_burst: 100 * 8192,
            lobby_bytes_per_sec: 4 * 1024,
            lobby_bytes_burst: 64 * 1024,
            max_rooms_per_connection: 4,
            max_participants: 4,
            max_connections: 1000,
            max_rooms: 1000,
            max_invites_per_room: 32,
            ping_interval: Duration::from_secs(20),
            idle_timeout: Duration::from_secs(60),
            grace: Duration::from_secs(120),
            invite_ttl: Duration::from_secs(24 * 3600),
            invite_ttl_max: Duration::from_secs(7 * 24 * 3600),
            planned_room_max: Duration::from_secs(36 * 3600),
            send_queue: 256,
            send_queue_bytes: 2 << 20,
            send_queue_total_bytes: 128 << 20,
            max_connections_per_source: 32,
            max_rooms_per_source: 32,
            max_unidentified: 250,
            first_message_timeout: Duration::from_secs(10),
            limit_loopback: false,
            allowed_origins: Vec::new(),
        }
    }
}
