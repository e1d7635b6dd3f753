//! Command-line and environment configuration. Every option has a default that
//! is right for a first run on localhost; nothing needs a config file.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use zeroize::Zeroizing;

use crate::limits::Limits;

/// confide relay: serves the confide app and forwards end-to-end encrypted
/// messages between the members of a session. It never sees a key, a name,
/// a chat message or a picture; it stores nothing on disk.
///
/// Durations are written like 500ms, 20s, 2m, 24h or 7d.
#[derive(Parser, Debug, Clone)]
#[command(name = "confide-relay", version, about, long_about = None)]
pub struct Config {
    /// Address and port to listen on. Use 0.0.0.0:443 (with --tls-cert/--tls-key) on a server,
    /// or keep 127.0.0.1 behind a reverse proxy that terminates TLS.
    #[arg(long, env = "CONFIDE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Serve the app from this directory instead of the copy built into the binary (development).
    #[arg(long, env = "CONFIDE_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// PEM certificate chain: serve HTTPS and WSS directly (needs --tls-key). Also turns on HSTS.
    #[arg(long, env = "CONFIDE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key (PKCS#8, PKCS#1 or SEC1) belonging to --tls-cert.
    #[arg(long, env = "CONFIDE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// How often the relay checks whether --tls-cert or --tls-key changed (a
    /// renewal); SIGHUP reloads at once. Open connections and rooms stay.
    #[arg(long, env = "CONFIDE_TLS_RELOAD_INTERVAL", default_value = "30s", value_parser = parse_duration)]
    pub tls_reload_interval: Duration,

    /// Serve /metrics: aggregate counts in Prometheus text format (no ids, no addresses).
    #[arg(long, env = "CONFIDE_METRICS")]
    pub metrics: bool,

    /// Serve /metrics (only) on this separate address instead, e.g. 127.0.0.1:9100,
    /// so that the public listener never answers it. Not with --metrics.
    #[arg(long, env = "CONFIDE_METRICS_LISTEN", conflicts_with = "metrics")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// Largest WebSocket message a client may send, in bytes.
    #[arg(long, env = "CONFIDE_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024)]
    pub max_message_bytes: usize,

    /// Sustained messages per second per connection; faster senders are closed (4002).
    #[arg(long, env = "CONFIDE_RATE_PER_SEC", default_value_t = 50)]
    pub rate_per_sec: u32,

    /// Messages per connection allowed in a burst above the sustained rate.
    #[arg(long, env = "CONFIDE_RATE_BURST", default_value_t = 100)]
    pub rate_burst: u32,

    /// Sustained bytes per second per connection; faster senders are closed (4002).
    /// Default: 4 KiB per message of --rate-per-sec (200 KiB/s).
    #[arg(long, env = "CONFIDE_RATE_BYTES_PER_SEC")]
    pub rate_bytes_per_sec: Option<usize>,

    /// Bytes per connection allowed in a burst (at least --max-message-bytes).
    /// Default: 8 KiB per message of --rate-burst (800 KiB).
    #[arg(long, env = "CONFIDE_RATE_BYTES_BURST")]
    pub rate_bytes_burst: Option<usize>,

    /// Sustained bytes per second a guest may send while it waits in the lobby (4002 beyond).
    #[arg(long, env = "CONFIDE_LOBBY_BYTES_PER_SEC", default_value_t = 4 * 1024)]
    pub lobby_bytes_per_sec: usize,

    /// Bytes a guest may send in a burst while it waits in the lobby (after its knock).
    #[arg(long, env = "CONFIDE_LOBBY_BYTES_BURST", default_value_t = 64 * 1024)]
    pub lobby_bytes_burst: usize,

    /// Rooms one connection may host (4003 beyond).
    #[arg(long, env = "CONFIDE_MAX_ROOMS_PER_CONNECTION", default_value_t = 4)]
    pub max_rooms_per_connection: usize,

    /// Participants per room, host and lobby included (4004 beyond).
    #[arg(long, env = "CONFIDE_MAX_PARTICIPANTS", default_value_t = 4)]
    pub max_participants: usize,

    /// Open WebSocket connections on the whole relay (4005 beyond).
    #[arg(long, env = "CONFIDE_MAX_CONNECTIONS", default_value_t = 1000)]
    pub max_connections: usize,

    /// Rooms on the whole relay, including rooms in their grace period (4005 beyond).
    #[arg(long, env = "CONFIDE_MAX_ROOMS", default_value_t = 1000)]
    pub max_rooms: usize,

    /// Invites one room keeps at a time.
    #[arg(long, env = "CONFIDE_MAX_INVITES_PER_ROOM", default_value_t = 32)]
    pub max_invites_per_room: usize,

    /// Ping a connection this often.
    #[arg(long, env = "CONFIDE_PING_INTERVAL", default_value = "20s", value_parser = parse_duration)]
    pub ping_interval: Duration,

    /// Close a connection that sent nothing, not even a pong, for this long (4006).
    #[arg(long, env = "CONFIDE_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_timeout: Duration,

    /// How long a disconnected member keeps its place and an empty room lives on,
    /// so that reloading the page does not end a session.
    #[arg(long, env = "CONFIDE_ROOM_GRACE", default_value = "2m", value_parser = parse_duration)]
    pub room_grace: Duration,

    /// Lifetime of an invite when the host does not choose one.
    #[arg(long, env = "CONFIDE_INVITE_TTL", default_value = "24h", value_parser = parse_duration)]
    pub invite_ttl: Duration,

    /// Longest invite lifetime a host may choose; longer requests are shortened to this.
    #[arg(long, env = "CONFIDE_INVITE_TTL_MAX", default_value = "7d", value_parser = parse_duration)]
    pub invite_ttl_max: Duration,

    /// How far ahead a planned session (an appointment) may be registered: the
    /// relay keeps its room and invite window in memory at most this long (4000 beyond).
    #[arg(long, env = "CONFIDE_PLANNED_ROOM_MAX", default_value = "36h", value_parser = parse_duration)]
    pub planned_room_max: Duration,

    /// Messages queued for one connection before it is closed as too slow (4014).
    #[arg(long, env = "CONFIDE_SEND_QUEUE", default_value_t = 256)]
    pub send_queue: usize,

    /// Open WebSocket connections from one source: one IPv4 address or one IPv6 /64 (4005 beyond).
    /// Loopback peers are exempt (a local reverse proxy): limit there, e.g. nginx `limit_conn`.
    #[arg(long, env = "CONFIDE_MAX_CONNECTIONS_PER_SOURCE", default_value_t = 32)]
    pub max_connections_per_source: usize,

    /// Rooms created from one source that still exist, grace period included (4003 beyond).
    #[arg(long, env = "CONFIDE_MAX_ROOMS_PER_SOURCE", default_value_t = 32)]
    pub max_rooms_per_source: usize,

    /// Connections that have not yet created a room, knocked or resumed (4005 beyond).
    /// Default: a quarter of --max-connections.
    #[arg(long, env = "CONFIDE_MAX_UNIDENTIFIED")]
    pub max_unidentified: Option<usize>,

    /// A new connection must create a room, knock or resume within this time (4006).
    #[arg(long, env = "CONFIDE_FIRST_MESSAGE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub first_message_timeout: Duration,

    /// Apply the per-source limits to loopback peers too (only for tests: behind a local
    /// reverse proxy every client has the proxy's loopback address).
    #[arg(long, env = "CONFIDE_LIMIT_LOOPBACK", hide = true)]
    pub limit_loopback: bool,

    /// Time a client has for its TLS handshake and for each request's headers (also how long
    /// an idle keep-alive HTTP connection stays open).
    #[arg(long, env = "CONFIDE_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,

    /// Connections that are not yet WebSockets (TLS handshakes, HTTP requests, idle keep-alive);
    /// beyond, new connections are dropped at once. From one source at most
    /// --max-connections-per-source of them.
    #[arg(long, env = "CONFIDE_MAX_PENDING_CONNECTIONS", default_value_t = 512)]
    pub max_pending_connections: usize,

    /// Bytes of messages queued for one connection before it is closed as too slow (4014).
    #[arg(long, env = "CONFIDE_SEND_QUEUE_BYTES", default_value_t = 2 << 20)]
    pub send_queue_bytes: usize,

    /// Bytes of messages queued for all connections together; beyond, a connection with a
    /// backlog is closed as too slow (4014). A broadcast counts once per recipient.
    #[arg(long, env = "CONFIDE_SEND_QUEUE_TOTAL_BYTES", default_value_t = 128 << 20)]
    pub send_queue_total_bytes: usize,

    /// On shutdown, wait at most this long for connections to say goodbye.
    #[arg(long, env = "CONFIDE_SHUTDOWN_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,

    /// Built-in STUN/TURN for browsers behind NAT: `on` (STUN and TURN), `stun-only` (answers
    /// STUN Binding, refuses allocations, sends only stun: URLs) or `off` (nothing listens and
    /// no ICE servers are sent).
    #[arg(long, env = "CONFIDE_TURN", value_enum, default_value = "on")]
    pub turn: TurnMode,

    /// UDP and TCP address of STUN/TURN. Default: the IP of --listen with port 3478
    /// (port 0, a free port, when --listen has port 0).
    #[arg(long, env = "CONFIDE_TURN_LISTEN")]
    pub turn_listen: Option<SocketAddr>,

    /// The IPv4 address browsers reach this server at: put into relayed addresses and into the
    /// STUN/TURN URLs. Default: the --turn-listen IP when it is not 0.0.0.0; behind 1:1 NAT
    /// (cloud VMs) give the public address.
    #[arg(long, env = "CONFIDE_PUBLIC_IP")]
    pub public_ip: Option<IpAddr>,

    /// The DNS name browsers reach this server by (the name on its certificate), like
    /// beratung.example.org. When the relay terminates TLS, the turns: URL names this host
    /// (Firefox ignores a turns: URL given by IP); turn: and stun: URLs keep the IP.
    #[arg(long, env = "CONFIDE_PUBLIC_HOST", value_parser = parse_host)]
    pub public_host: Option<String>,

    /// The counselling centre's name, shown to guests on the welcome, waiting, failure and
    /// end pages (served as /centre.json; docs/RELAY.md "The centre's name and numbers").
    #[arg(long, env = "CONFIDE_CENTRE_NAME", value_parser = crate::centre::parse_name)]
    pub centre_name: Option<String>,

    /// The centre's phone number, shown to guests with the name, like "030 123 456 78".
    #[arg(long, env = "CONFIDE_CENTRE_PHONE", value_parser = crate::centre::parse_phone)]
    pub centre_phone: Option<String>,

    /// The centre's web address, shown to guests with the name, like https://beratung.example.org.
    #[arg(long, env = "CONFIDE_CENTRE_URL", value_parser = crate::centre::parse_url)]
    pub centre_url: Option<String>,

    /// A crisis line for the end page, as "Name: number" (repeat the flag, or separate by ";").
    /// Default: Telefonseelsorge 0800 111 0 111 and 0800 111 0 222, Nummer gegen Kummer 116 111.
    #[arg(long = "crisis-line", env = "CONFIDE_CRISIS_LINE", value_delimiter = ';',
          value_parser = crate::centre::parse_crisis_line)]
    pub crisis_line: Vec<crate::centre::CrisisLine>,

    /// Show no crisis lines on the end page.
    #[arg(long, env = "CONFIDE_NO_CRISIS_LINES")]
    pub no_crisis_lines: bool,

    /// An external STUN/TURN server to hand to browsers instead of the built-in one, like
    /// turn:turn.example.org:3478?transport=udp (repeat the flag, or separate URLs by commas).
    /// With a turn: or turns: URL, --turn-secret must be that server's shared secret (coturn's
    /// use-auth-secret / static-auth-secret): members get REST credentials minted with it.
    /// The built-in STUN/TURN is then off.
    #[arg(long = "ice-server", env = "CONFIDE_ICE_SERVER", value_delimiter = ',', value_parser = parse_ice_url)]
    pub ice_server: Vec<String>,

    /// UDP ports for relayed addresses (open them in the firewall), as A-B.
    #[arg(long, env = "CONFIDE_RELAY_PORTS", default_value = "49152-65535", value_parser = parse_port_range)]
    pub relay_ports: PortRange,

    /// Shared secret of the TURN REST credentials (HMAC-SHA1). Default: 32 random bytes per
    /// process (credentials end with the process). Give one to share it with tools.
    #[arg(long, env = "CONFIDE_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<Secret>,

    /// Lifetime of the TURN credentials a member gets (renewed when it resumes).
    #[arg(long, env = "CONFIDE_TURN_CREDENTIAL_TTL", default_value = "12h", value_parser = parse_duration)]
    pub turn_credential_ttl: Duration,

    /// TURN allocations on the whole relay (508 beyond).
    #[arg(long, env = "CONFIDE_TURN_MAX_ALLOCATIONS", default_value_t = 2000)]
    pub turn_max_allocations: usize,

    /// TURN allocations per credential, i.e. per member of a room (486 beyond): 3 peer
    /// connections of a group of four, 2 transports each, and slack for ICE restarts.
    #[arg(
        long,
        env = "CONFIDE_TURN_MAX_ALLOCATIONS_PER_CREDENTIAL",
        default_value_t = 12
    )]
    pub turn_max_allocations_per_credential: usize,

    /// Longest life of one TURN allocation, refreshes included (each refresh grants at most 1 h,
    /// 10 min by default).
    #[arg(long, env = "CONFIDE_TURN_MAX_LIFETIME", default_value = "12h", value_parser = parse_duration)]
    pub turn_max_lifetime: Duration,

    /// Bytes per second one TURN allocation may relay in each direction; excess packets are
    /// dropped. Default 512 KiB/s (4.2 Mbit/s): twice a 2 Mbit/s video call, for key frames,
    /// retransmissions and SRTP/TURN overhead.
    #[arg(long, env = "CONFIDE_TURN_BANDWIDTH", default_value_t = 512 * 1024)]
    pub turn_bandwidth: u64,

    /// The centre's secret for counsellor sign-ins: a file holding 64 hex digits
    /// (`openssl rand -hex 32`). Only counsellors with a sign-in link made from it
    /// (`confide-relay counsellor add "Name"`) may create rooms. Without it the relay
    /// starts only on a loopback address, with a key of its own that ends with the
    /// process (it prints a sign-in link). docs/RELAY.md "Counsellor access".
    #[arg(long, env = "CONFIDE_COUNSELLOR_KEY_FILE", global = true)]
    pub counsellor_key_file: Option<PathBuf>,

    /// Revoked counsellors: a file with one counsellor id per line (what
    /// `counsellor add` printed; anything after the id is a note). Read at start
    /// and again within seconds of every change.
    #[arg(long, env = "CONFIDE_COUNSELLOR_REVOKED")]
    pub counsellor_revoked: Option<PathBuf>,

    /// The counsellor key in use (read from --counsellor-key-file, or made up on
    /// loopback; tests set it directly).
    #[arg(skip)]
    pub counsellor_key: Option<crate::counsellor::CounsellorKey>,

    /// `counsellor add "Name"`: print a new counsellor's sign-in link.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Print the release digest of the app this relay serves (built in, or --static-dir) and
    /// exit; compare it with `cargo xtask build` of the same commit (docs/VERIFY.md).
    #[arg(long)]
    pub print_digest: bool,

    /// Another origin whose pages may open this relay's WebSocket, like
    /// https://beratung.example.org: the app served from the centre's own web space
    /// (docs/RELAY.md). Repeat the flag, or separate origins by commas. Pages of the
    /// relay's own origin may always connect; other browser pages get 403.
    #[arg(long = "allowed-origin", env = "CONFIDE_ALLOWED_ORIGIN", value_delimiter = ',', value_parser = parse_origin)]
    pub allowed_origin: Vec<String>,

    /// Several relay nodes behind a load balancer that routes by the shard label (`/ws?s=3f`):
    /// this node holds only the labels whose value mod M is N - 1, like 2/3, and closes
    /// connections for other labels, or without one, with 4019 (docs/RELAY.md "Several relay
    /// nodes"). Default: every label (one node, or a balancer that moves labels on failure).
    #[arg(long, env = "CONFIDE_SHARD")]
    pub shard: Option<crate::shard::Shards>,
}

/// Parses `--allowed-origin`: `http(s)://host[:port]`, as browsers send it in
/// the `Origin` header (lower case, no path; a trailing `/` is dropped).
pub fn parse_origin(text: &str) -> Result<String, String> {
    let origin = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let bad = || {
        format!(
            "not an origin: {text:?} (write the scheme and host, and the port if it is not the \
             default, e.g. https://beratung.example.org or http://127.0.0.1:8000)"
        )
    };
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(bad)?;
    let valid = !authority.is_empty()
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c));
    if !valid {
        return Err(bad());
    }
    Ok(origin)
}

/// Parses `--public-host`: a DNS name (letters, digits, `-` and dots; lower
/// case, a trailing dot dropped), nothing that could end a URL's host part.
pub fn parse_host(text: &str) -> Result<String, String> {
    let host = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let all_digits = host.chars().all(|c| c.is_ascii_digit() || c == '.');
    if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) || all_digits {
        return Err(format!(
            "not a DNS name: {text:?} (write the host name of the certificate, e.g. \
             beratung.example.org; the address goes into --public-ip)"
        ));
    }
    Ok(host)
}

/// Parses `--ice-server`: a `stun:`, `turn:` or `turns:` URL (RFC 7064/7065)
/// without spaces, quotes or anything else a browser's URL parser would
/// stumble over.
pub fn parse_ice_url(text: &str) -> Result<String, String> {
    let url = text.trim();
    let rest = ["stun:", "turn:", "turns:"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme));
    let valid = rest.is_some_and(|rest| {
        !rest.is_empty()
            && !rest.starts_with('/')
            && rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]?=_".contains(c))
    });
    if !valid {
        return Err(format!(
            "not a STUN/TURN URL: {text:?} (write e.g. turn:turn.example.org:3478?transport=udp \
             or stun:turn.example.org:3478)"
        ));
    }
    Ok(url.to_owned())
}

/// `--turn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TurnMode {
    On,
    StunOnly,
    Off,
}

/// `--relay-ports A-B` (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

/// Parses `49152-65535`.
pub fn parse_port_range(text: &str) -> Result<PortRange, String> {
    let bad = || format!("not a port range: {text:?} (write e.g. 49152-65535)");
    let (a, b) = text.trim().split_once('-').ok_or_else(bad)?;
    let first: u16 = a.trim().parse().map_err(|_| bad())?;
    let last: u16 = b.trim().parse().map_err(|_| bad())?;
    if first == 0 || first > last {
        return Err(bad());
    }
    Ok(PortRange { first, last })
}

/// A secret from the command line: zeroized when dropped, never printed.
#[derive(Clone)]
pub struct Secret(pub Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl FromStr for Secret {
    type Err = String;
    fn from_str(text: &str) -> Result<Secret, String> {
        if text.is_empty() {
            return Err("the secret must not be empty".into());
        }
        Ok(Secret(Zeroizing::new(text.as_bytes().to_vec())))
    }
}

/// Tasks besides serving.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum Command {
    /// Counsellor sign-ins (needs --counsellor-key-file).
    Counsellor {
        #[command(subcommand)]
        action: CounsellorCommand,
    },
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum CounsellorCommand {
    /// Print a sign-in link for a new counsellor, and her id (for --counsellor-revoked).
    /// The relay stores nothing: run it again for a new link with a new id.
    Add {
        /// Her name, only printed back (the relay never learns it).
        name: String,
        /// The address of the app, like https://beratung.example.org/. Default: from
        /// --public-host, else --listen.
        #[arg(long)]
        url: Option<String>,
    },
}

impl Config {
    /// The defaults, as if started with no flags and no environment (for tests),
    /// except that STUN/TURN is off: in-process tests run many relays at once
    /// and expect no `ice_servers` message unless they turn it on (then also
    /// set `turn_listen` to a port-0 address).
    pub fn for_tests() -> Config {
        let mut config = Config::parse_from(["confide-relay"]);
        config.turn = TurnMode::Off;
        config.counsellor_key = Some(Config::test_counsellor_key());
        config
    }

    /// The counsellor key of [`Config::for_tests`] (public: tests sign in with it).
    pub fn test_counsellor_key() -> crate::counsellor::CounsellorKey {
        crate::counsellor::CounsellorKey::from_bytes([0x42; crate::counsellor::KEY_LEN])
    }

    /// Loads the counsellor key: from --counsellor-key-file, or (without one, only
    /// on a loopback address) a new random key. Returns whether it made one up.
    /// A relay reachable from elsewhere without a key file refuses to start: a
    /// forgotten flag must not open the server to everyone.
    pub fn load_counsellor_key(&mut self) -> Result<bool, String> {
        if let Some(file) = &self.counsellor_key_file {
            self.counsellor_key = Some(crate::counsellor::CounsellorKey::read(file)?);
            return Ok(false);
        }
        if self.counsellor_key.is_some() {
            return Ok(false);
        }
        if !self.listen.ip().is_loopback() {
            return Err(format!(
                "--counsellor-key-file is needed when listening on {} (only loopback runs \
                 without one): create it with `openssl rand -hex 32 > FILE`, see docs/RELAY.md \
                 \"Counsellor access\"",
                self.listen
            ));
        }
        self.counsellor_key = Some(crate::counsellor::CounsellorKey::generate());
        Ok(true)
    }

    /// Who may create rooms: the loaded key (a random one nobody holds if
    /// none was loaded) and the revocation list.
    pub fn counsellor_access(&self) -> Result<crate::counsellor::Access, String> {
        let key = self
            .counsellor_key
            .clone()
            .unwrap_or_else(crate::counsellor::CounsellorKey::generate);
        match &self.counsellor_revoked {
            Some(file) => crate::counsellor::Access::with_revoked_file(key, file),
            None => Ok(crate::counsellor::Access::new(key)),
        }
    }

    /// The app's address for sign-in links: `https://<--public-host>/`, else --listen.
    pub fn app_url(&self) -> String {
        match &self.public_host {
            Some(host) => format!("https://{host}/"),
            None => {
                let scheme = if self.tls() { "https" } else { "http" };
                format!("{scheme}://{}/", self.listen)
            }
        }
    }

    /// Where STUN/TURN listens (UDP and TCP).
    pub fn turn_listen(&self) -> SocketAddr {
        self.turn_listen.unwrap_or_else(|| {
            let port = if self.listen.port() == 0 { 0 } else { 3478 };
            SocketAddr::new(self.listen.ip(), port)
        })
    }

    /// The address put into relayed addresses and URLs.
    pub fn turn_public_ip(&self) -> Result<IpAddr, String> {
        let ip = match self.public_ip {
            Some(ip) => ip,
            None if self.turn_listen().ip().is_unspecified() => {
                return Err(format!(
                    "STUN/TURN listens on {} (all addresses): give --public-ip, the IPv4 address \
                     browsers reach this server at (or --turn-listen with a specific address, \
                     or --turn off)",
                    self.turn_listen()
                ));
            }
            None => self.turn_listen().ip(),
        };
        let ip = crate::turn::policy::canonical(ip);
        if !ip.is_ipv4() || ip.is_unspecified() || ip.is_multicast() {
            return Err(format!(
                "--public-ip must be a unicast IPv4 address (relayed addresses are IPv4), not {ip}"
            ));
        }
        Ok(ip)
    }

    /// The limits the room state machine and the connection shell enforce.
    pub fn limits(&self) -> Limits {
        Limits {
            max_message_bytes: self.max_message_bytes,
            rate_per_sec: self.rate_per_sec,
            rate_burst: self.rate_burst,
            rate_bytes_per_sec: self
                .rate_bytes_per_sec
                .unwrap_or((self.rate_per_sec as usize).saturating_mul(4096)),
            rate_bytes_burst: self
                .rate_bytes_burst
                .unwrap_or((self.rate_burst as usize).saturating_mul(8192)),
            lobby_bytes_per_sec: self.lobby_bytes_per_sec,
            lobby_bytes_burst: self.lobby_bytes_burst,
            max_rooms_per_connection: self.max_rooms_per_connection,
            max_participants: self.max_participants,
            max_connections: self.max_connections,
            max_rooms: self.max_rooms,
            max_invites_per_room: self.max_invites_per_room,
            ping_interval: self.ping_interval.max(Duration::from_millis(10)),
            idle_timeout: self.idle_timeout,
            grace: self.room_grace,
            invite_ttl: self.invite_ttl,
            invite_ttl_max: self.invite_ttl_max,
            planned_room_max: self.planned_room_max,
            send_queue: self.send_queue,
            send_queue_bytes: self.send_queue_bytes,
            send_queue_total_bytes: self.send_queue_total_bytes,
            max_connections_per_source: self.max_connections_per_source,
            max_rooms_per_source: self.max_rooms_per_source,
            max_unidentified: self
                .max_unidentified
                .unwrap_or((self.max_connections / 4).max(1)),
            first_message_timeout: self.first_message_timeout,
            limit_loopback: self.limit_loopback,
            allowed_origins: self.allowed_origin.clone(),
        }
    }

    /// Checks the configuration before anything starts: durations the clock
    /// can add without overflow on every platform, and limits that leave the
    /// relay usable. The message names the flag.
    pub fn validate(&self) -> Result<(), String> {
        // Ten years: far beyond any sensible setting, far below what `Instant` can add.
        const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 86_400);
        let durations = [
            ("--ping-interval", self.ping_interval),
            ("--idle-timeout", self.idle_timeout),
            ("--room-grace", self.room_grace),
            ("--invite-ttl", self.invite_ttl),
            ("--invite-ttl-max", self.invite_ttl_max),
            ("--planned-room-max", self.planned_room_max),
            ("--shutdown-timeout", self.shutdown_timeout),
            ("--first-message-timeout", self.first_message_timeout),
            ("--header-timeout", self.header_timeout),
            ("--tls-reload-interval", self.tls_reload_interval),
            ("--turn-credential-ttl", self.turn_credential_ttl),
            ("--turn-max-lifetime", self.turn_max_lifetime),
        ];
        for (flag, value) in durations {
            if value > MAX_DURATION {
                return Err(format!("{flag} is longer than ten years"));
            }
        }
        if let Some(metrics) = self.metrics_listen {
            if self.metrics {
                return Err(
                    "--metrics and --metrics-listen: choose one (--metrics-listen keeps \
                            /metrics off the public listener)"
                        .into(),
                );
            }
            if metrics == self.listen && metrics.port() != 0 {
                return Err("--metrics-listen must be another address than --listen".into());
            }
        }
        // The relay checks for silence at each ping: a shorter idle timeout
        // would close clients that answer every ping.
        if self.idle_timeout <= self.ping_interval {
            return Err("--idle-timeout must be longer than --ping-interval".into());
        }
        if self.tls_reload_interval.is_zero() {
            return Err("--tls-reload-interval must be longer than 0".into());
        }
        if self.header_timeout.is_zero() {
            return Err("--header-timeout must be longer than 0".into());
        }
        let at_least_one = [
            ("--max-connections", self.max_connections),
            (
                "--max-connections-per-source",
                self.max_connections_per_source,
            ),
            ("--max-rooms-per-source", self.max_rooms_per_source),
            ("--max-pending-connections", self.max_pending_connections),
            ("--max-participants", self.max_participants),
            ("--send-queue", self.send_queue),
            ("--rate-burst", self.rate_burst as usize),
            ("--max-unidentified", self.max_unidentified.unwrap_or(1)),
            ("--turn-max-allocations", self.turn_max_allocations),
            (
                "--turn-max-allocations-per-credential",
                self.turn_max_allocations_per_credential,
            ),
        ];
        for (flag, value) in at_least_one {
            if value == 0 {
                return Err(format!("{flag} must be at least 1"));
            }
        }
        if self.max_message_bytes < 1024 {
            return Err("--max-message-bytes must be at least 1024".into());
        }
        // A delivery is the sender's message in base64 inside JSON: up to 4/3 of its size.
        if self.send_queue_bytes < self.max_message_bytes.saturating_mul(2) {
            return Err("--send-queue-bytes must be at least twice --max-message-bytes".into());
        }
        if self.send_queue_total_bytes < self.max_message_bytes.saturating_mul(2) {
            return Err(
                "--send-queue-total-bytes must be at least twice --max-message-bytes".into(),
            );
        }
        let external_turn = self.ice_server.iter().any(|url| url.starts_with("turn"));
        if external_turn && self.turn_secret.is_none() {
            return Err(
                "--ice-server with a turn: or turns: URL needs --turn-secret, the shared secret \
                 of that server (coturn's static-auth-secret)"
                    .into(),
            );
        }
        if external_turn && self.turn_credential_ttl < Duration::from_secs(60) {
            return Err("--turn-credential-ttl must be at least 1m".into());
        }
        if self.builtin_turn() {
            self.turn_public_ip()?;
            if self.turn_bandwidth < 16 * 1024 {
                return Err("--turn-bandwidth must be at least 16384 (bytes per second)".into());
            }
            if self.turn_credential_ttl < Duration::from_secs(60) {
                return Err("--turn-credential-ttl must be at least 1m".into());
            }
            if self.turn_max_lifetime < Duration::from_secs(60) {
                return Err("--turn-max-lifetime must be at least 1m".into());
            }
        }
        Ok(())
    }

    /// Whether the built-in STUN/TURN runs: `--turn` is not `off` and no
    /// external `--ice-server` is given.
    pub fn builtin_turn(&self) -> bool {
        self.turn != TurnMode::Off && self.ice_server.is_empty()
    }

    pub fn tls(&self) -> bool {
        self.tls_cert.is_some() && self.tls_key.is_some()
    }
}

/// Parses `500ms`, `20s`, `2m`, `24h`, `7d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("not a duration: {text:?} (write e.g. 500ms, 20s, 2m, 24h, 7d)"))?;
    let millis_per_unit = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} (use ms, s, m, h or d)"
            ));
        }
    };
    n.checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("duration too long: {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert!(parse_duration("1y").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn defaults_match_limits_defaults() {
        assert_eq!(Config::for_tests().limits(), Limits::default());
        assert!(!Config::for_tests().tls());
    }

    #[test]
    fn validation() {
        assert_eq!(Config::for_tests().validate(), Ok(()));
        let parse = |args: &[&str]| {
            let mut all = vec!["confide-relay"];
            all.extend_from_slice(args);
            Config::try_parse_from(all)
                .map_err(|e| e.to_string())?
                .validate()
        };
        assert!(parse(&["--room-grace", "18446744073709551615ms"]).is_err());
        assert!(parse(&["--invite-ttl-max", "20000d"]).is_err());
        assert!(parse(&["--room-grace", "3650d"]).is_ok());
        assert!(parse(&["--max-connections", "0"]).is_err());
        assert!(parse(&["--header-timeout", "0s"]).is_err());
        assert!(parse(&["--send-queue-bytes", "1000"]).is_err());
        // Every duration flag: a huge value is refused by name, never a panic later.
        for flag in [
            "--ping-interval",
            "--idle-timeout",
            "--room-grace",
            "--invite-ttl",
            "--invite-ttl-max",
            "--planned-room-max",
            "--shutdown-timeout",
            "--first-message-timeout",
            "--header-timeout",
            "--tls-reload-interval",
            "--turn-credential-ttl",
            "--turn-max-lifetime",
        ] {
            let error = parse(&[flag, "10000000d"]).err().unwrap_or_default();
            assert!(error.contains(flag), "{flag}: {error:?}");
            assert!(parse(&[flag, "99999999999999999999d"]).is_err(), "{flag}");
        }
        assert!(parse(&["--idle-timeout", "20s"]).is_err());
        assert!(parse(&["--idle-timeout", "21s"]).is_ok());
        assert!(parse(&["--metrics-listen", "127.0.0.1:9100"]).is_ok());
        assert!(parse(&["--metrics-listen", "127.0.0.1:8080"]).is_err());
        assert!(parse(&["--metrics", "--metrics-listen", "127.0.0.1:9100"]).is_err());
        let mut huge = Config::for_tests();
        huge.ping_interval = Duration::MAX;
        assert!(huge.validate().is_err());
    }

    #[test]
    fn turn_flags() {
        let parse = |args: &[&str]| {
            let mut all = vec!["confide-relay"];
            all.extend_from_slice(args);
            let config = Config::try_parse_from(all).map_err(|e| e.to_string())?;
            config.validate().map(|()| config)
        };
        let default = parse(&[]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(default.turn, TurnMode::On);
        assert_eq!(
            default.turn_listen(),
            "127.0.0.1:3478".parse().ok().unwrap_or(default.listen)
        );
        assert_eq!(default.turn_public_ip().ok(), "127.0.0.1".parse().ok());
        assert_eq!(
            default.relay_ports,
            PortRange {
                first: 49152,
                last: 65535
            }
        );
        let ephemeral = parse(&["--listen", "127.0.0.1:0"]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ephemeral.turn_listen().port(), 0);
        // All addresses without --public-ip: refused, naming the flag.
        let error = parse(&["--listen", "0.0.0.0:443"])
            .err()
            .unwrap_or_default();
        assert!(error.contains("--public-ip"), "{error}");
        assert!(parse(&["--listen", "0.0.0.0:443", "--turn", "off"]).is_ok());
        assert!(parse(&["--listen", "0.0.0.0:443", "--public-ip", "203.0.113.10"]).is_ok());
        assert!(parse(&["--public-ip", "2001:db8::1"]).is_err());
        assert!(parse(&["--turn", "stun-only"]).is_ok());
        assert!(parse(&["--turn", "maybe"]).is_err());
        assert!(parse(&["--relay-ports", "60000-50000"]).is_err());
        assert!(parse(&["--relay-ports", "0-10"]).is_err());
        assert!(parse(&["--turn-max-allocations", "0"]).is_err());
        assert!(parse(&["--turn-max-allocations-per-credential", "0"]).is_err());
        assert!(parse(&["--turn-bandwidth", "10"]).is_err());
        assert!(parse(&["--turn-secret", ""]).is_err());
        let secret = parse(&["--turn-secret", "hunter2"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn external_ice_servers() {
        let parse = |args: &[&str]| {
            let mut all = vec!["confide-relay"];
            all.extend_from_slice(args);
            let config = Config::try_parse_from(all).map_err(|e| e.to_string())?;
            config.validate().map(|()| config)
        };
        let config = parse(&[
            "--ice-server",
            "stun:turn.example.org:3478,turn:turn.example.org:3478?transport=udp",
            "--ice-server",
            "turns:turn.example.org:5349?transport=tcp",
            "--turn-secret",
            "s",
            // Needs no --public-ip: the built-in TURN is off.
            "--listen",
            "0.0.0.0:443",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.ice_server.len(), 3);
        assert!(!config.builtin_turn());
        // A turn: URL without the secret to mint its credentials: refused.
        let error = parse(&["--ice-server", "turn:203.0.113.5:3478"])
            .err()
            .unwrap_or_default();
        assert!(error.contains("--turn-secret"), "{error}");
        // STUN alone needs none.
        assert!(parse(&["--ice-server", "stun:stun.example.org"]).is_ok());
        for bad in [
            "https://turn.example.org",
            "turn:",
            "turn://turn.example.org",
            "turn:turn.example.org\"onerror=x",
            "turn:turn example.org",
        ] {
            assert!(
                parse(&["--ice-server", bad, "--turn-secret", "s"]).is_err(),
                "{bad:?}"
            );
        }
        assert!(parse(&[]).is_ok_and(|c| c.builtin_turn()));
    }

    #[test]
    fn public_host() {
        let parse = |args: &[&str]| {
            let mut all = vec!["confide-relay"];
            all.extend_from_slice(args);
            Config::try_parse_from(all).map(|c| c.public_host)
        };
        assert_eq!(parse(&[]).ok(), Some(None));
        assert_eq!(
            parse(&["--public-host", "Beratung.Example.org."]).ok(),
            Some(Some("beratung.example.org".into()))
        );
        assert_eq!(
            parse(&["--public-host", "relay-1.xn--bcher-kva.example"]).ok(),
            Some(Some("relay-1.xn--bcher-kva.example".into()))
        );
        for bad in [
            "",
            "203.0.113.10",
            "example.org:443",
            "https://example.org",
            "example.org/x",
            "ex ample.org",
            "example.org?transport=udp",
            "-example.org",
            "example..org",
            "[2001:db8::1]",
        ] {
            assert!(parse(&["--public-host", bad]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn allowed_origins() {
        let parse = |args: &[&str]| {
            let mut all = vec!["confide-relay"];
            all.extend_from_slice(args);
            Config::try_parse_from(all).map(|c| c.allowed_origin)
        };
        assert_eq!(parse(&[]).ok(), Some(vec![]));
        assert_eq!(
            parse(&[
                "--allowed-origin",
                "https://Beratung.example.org/",
                "--allowed-origin",
                "http://127.0.0.1:8000,http://[::1]:8000"
            ])
            .ok(),
            Some(vec![
                "https://beratung.example.org".to_string(),
                "http://127.0.0.1:8000".to_string(),
                "http://[::1]:8000".to_string()
            ])
        );
        assert!(parse(&["--allowed-origin", "beratung.example.org"]).is_err());
        assert!(parse(&["--allowed-origin", "https://example.org/app"]).is_err());
        assert!(parse(&["--allowed-origin", "https://"]).is_err());
        assert!(parse(&["--allowed-origin", "*"]).is_err());
    }

    #[test]
    fn tls_needs_both_files() {
        assert!(Config::try_parse_from(["confide-relay", "--tls-cert", "a.pem"]).is_err());
        assert!(
            Config::try_parse_from(["confide-relay", "--tls-cert", "a.pem", "--tls-key", "k.pem"])
                .is_ok()
        );
    }
}
