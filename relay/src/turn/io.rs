//! The tokio shell around [`TurnServer`]: the UDP and TCP listeners, one
//! socket per relayed port (bound on demand in `--relay-ports`) and a 1 s
//! tick. The state machine sits behind one `std::sync::Mutex`, stepped like
//! `hub.rs` steps the rooms: lock, step, unlock, then send without waiting.
//! Nothing here logs an address or a credential.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{AbortHandle, JoinSet};

use super::creds::{IceCredential, Minter};
use super::metrics::TurnMetrics;
use super::server::{Client, Output, RelayPorts, Transport, TurnServer, TurnSettings};
use crate::config::{Config, PortRange, TurnMode};

/// The realm of the long-term credentials.
pub const REALM: &str = "confide";
/// A TCP connection that sends nothing for this long is closed.
const TCP_IDLE: Duration = Duration::from_secs(600);
/// A new TCP connection must send its first complete message within this time.
const TCP_FIRST: Duration = Duration::from_secs(10);
/// Messages queued for one TCP client before further ones are dropped.
const TCP_QUEUE: usize = 256;
/// Largest frame on a TCP connection (a STUN message or padded ChannelData).
const MAX_FRAME: usize = 4 + 65535 + 3;

/// The bound STUN/TURN listeners (UDP and TCP on one port).
pub struct TurnSockets {
    pub udp: std::net::UdpSocket,
    pub tcp: std::net::TcpListener,
    pub addr: SocketAddr,
}

/// Binds UDP and TCP on `addr`; with port 0 both get the same free port.
pub fn bind(addr: SocketAddr) -> Result<TurnSockets, String> {
    let attempts = if addr.port() == 0 { 20 } else { 1 };
    let mut last = String::new();
    for _ in 0..attempts {
        let udp = std::net::UdpSocket::bind(addr)
            .map_err(|e| format!("cannot listen on udp {addr}: {e}"))?;
        let bound = udp
            .local_addr()
            .map_err(|e| format!("cannot listen on udp {addr}: {e}"))?;
        match std::net::TcpListener::bind(bound) {
            Ok(tcp) => {
                udp.set_nonblocking(true).map_err(|e| e.to_string())?;
                tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
                return Ok(TurnSockets {
                    udp,
                    tcp,
                    addr: bound,
                });
            }
            Err(e) => last = format!("cannot listen on tcp {bound}: {e}"),
        }
    }
    Err(last)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Relayed sockets bound by the state machine, waiting for their tasks.
type Pending = Arc<Mutex<Vec<(u16, std::net::UdpSocket)>>>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Binds relayed ports: random probes in the range, as coturn does.
struct Binder {
    ip: IpAddr,
    range: PortRange,
    pending: Pending,
}

impl RelayPorts for Binder {
    fn open(&mut self, even: bool) -> Option<u16> {
        let first = u32::from(self.range.first);
        let last = u32::from(self.range.last);
        let span = last - first + 1;
        let tries = span.min(64);
        for i in 0..tries {
            let offset = if span <= 64 {
                i
            } else {
                rand::random_range(0..span)
            };
            let mut port = first + offset;
            if even && port % 2 == 1 {
                // The even neighbour inside the range (with small ranges the
                // loop visits each even port twice, which is harmless).
                port = if port > first { port - 1 } else { port + 1 };
                if port > last {
                    continue;
                }
            }
            let port = port as u16;
            if let Ok(socket) = std::net::UdpSocket::bind(SocketAddr::new(self.ip, port))
                && socket.set_nonblocking(true).is_ok()
            {
                lock(&self.pending).push((port, socket));
                return Some(port);
            }
        }
        None
    }
}

struct RelaySocket {
    socket: Arc<UdpSocket>,
    task: AbortHandle,
}

/// Everything the tasks share.
struct Shell {
    server: Mutex<TurnServer>,
    udp: Arc<UdpSocket>,
    relays: Mutex<HashMap<u16, RelaySocket>>,
    tcp: Mutex<HashMap<u64, mpsc::Sender<Vec<u8>>>>,
    pending: Pending,
    next_tcp: AtomicU64,
    /// Open TCP and TLS streams (beyond the cap new ones are dropped at once).
    streams: Arc<Semaphore>,
}

impl Shell {
    /// Steps the state machine and carries out what it says.
    fn step(self: &Arc<Self>, f: impl FnOnce(&mut TurnServer) -> Vec<Output>) {
        let outputs = f(&mut lock(&self.server));
        self.start_relays();
        for output in outputs {
            match output {
                Output::ToClient { client, bytes } => match client.transport {
                    Transport::Udp => {
                        let _ = self.udp.try_send_to(&bytes, client.addr);
                    }
                    Transport::Tcp(id) => {
                        if let Some(tx) = lock(&self.tcp).get(&id) {
                            let _ = tx.try_send(bytes);
                        }
                    }
                },
                Output::ToPeer {
                    relay_port,
                    to,
                    bytes,
                } => {
                    let socket = lock(&self.relays)
                        .get(&relay_port)
                        .map(|r| r.socket.clone());
                    if let Some(socket) = socket {
                        let _ = socket.try_send_to(&bytes, to);
                    }
                }
                Output::CloseRelay(port) => {
                    if let Some(relay) = lock(&self.relays).remove(&port) {
                        relay.task.abort();
                    }
                }
            }
        }
    }

    /// Starts a receive task for each newly bound relayed socket.
    fn start_relays(self: &Arc<Self>) {
        let fresh: Vec<_> = std::mem::take(&mut *lock(&self.pending));
        for (port, socket) in fresh {
            let Ok(socket) = UdpSocket::from_std(socket) else {
                continue;
            };
            let socket = Arc::new(socket);
            let shell = self.clone();
            let task = tokio::spawn(relay_loop(shell, port, socket.clone())).abort_handle();
            lock(&self.relays).insert(port, RelaySocket { socket, task });
        }
    }
}

async fn relay_loop(shell: Arc<Shell>, port: u16, socket: Arc<UdpSocket>) {
    let mut buf = vec![0u8; 65536];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            // Errors on an unconnected UDP socket are rare; never spin on them.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let data = &buf[..n];
        shell.step(|s| s.on_peer(port, from, data, Instant::now()));
    }
}

async fn udp_loop(shell: Arc<Shell>) {
    let mut buf = vec![0u8; 65536];
    let udp = shell.udp.clone();
    loop {
        let Ok((n, from)) = udp.recv_from(&mut buf).await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let client = Client {
            transport: Transport::Udp,
            addr: from,
        };
        let data = &buf[..n];
        shell.step(|s| s.on_client(client, data, Instant::now(), unix_now()));
    }
}

async fn tcp_accept_loop(shell: Arc<Shell>, listener: TcpListener) {
    let mut tasks = JoinSet::new();
    loop {
        let Ok((stream, from)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        while tasks.try_join_next().is_some() {}
        // Beyond the cap new connections are dropped at once.
        let Ok(permit) = shell.streams.clone().try_acquire_owned() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shell = shell.clone();
        tasks.spawn(async move {
            serve_stream(shell, stream, from).await;
            drop(permit);
        });
    }
}

/// Serves one TCP or TLS client: STUN messages and ChannelData framed back
/// to back (RFC 8656 §12.5: ChannelData padded to four bytes).
async fn serve_stream<S>(shell: Arc<Shell>, stream: S, from: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let id = shell.next_tcp.fetch_add(1, Ordering::Relaxed);
    let client = Client {
        transport: Transport::Tcp(id),
        addr: from,
    };
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(TCP_QUEUE);
    lock(&shell.tcp).insert(id, tx);
    let (mut reader, mut writer) = tokio::io::split(stream);
    let write = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16384];
    let mut patience = TCP_FIRST;
    'read: loop {
        let n = match tokio::time::timeout(patience, reader.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => n,
            _ => break,
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            let Some((frame, payload)) = frame_len(&buf) else {
                if buf.len() > MAX_FRAME {
                    break 'read;
                }
                break;
            };
            if frame == 0 {
                break 'read;
            }
            if buf.len() < frame {
                break;
            }
            let data = &buf[..payload];
            shell.step(|s| s.on_client(client, data, Instant::now(), unix_now()));
            buf.drain(..frame);
            patience = TCP_IDLE;
        }
    }
    lock(&shell.tcp).remove(&id);
    write.abort();
    shell.step(|s| s.client_closed(client));
}

/// The length of the frame at the start of `buf` and of its unpadded part,
/// `(0, 0)` for data that is neither STUN nor ChannelData, `None` when the
/// header is incomplete.
fn frame_len(buf: &[u8]) -> Option<(usize, usize)> {
    let header = buf.get(..4)?;
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    match header[0] >> 6 {
        0 => Some((20 + len, 20 + len)),
        1 => Some(((4 + len).div_ceil(4) * 4, 4 + len)),
        _ => Some((0, 0)),
    }
}

async fn tick_loop(shell: Arc<Shell>) {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        shell.step(|s| s.tick(Instant::now(), unix_now()));
    }
}

/// The `stun:` and the `turn:`/`turns:` URLs for browsers. `advertised` is
/// the public IP with the STUN/TURN port; `tls_port` the HTTPS port when the
/// relay terminates TLS itself (TURN over TLS shares it, by ALPN). The
/// `turns:` URL names `public_host` when there is one: browsers check the
/// certificate against the URL's host, and Firefox does not use a `turns:`
/// URL given by IP at all. Plain `turn:` and `stun:` keep the IP (no DNS
/// lookup, nothing to check).
fn ice_urls(
    mode: TurnMode,
    advertised: SocketAddr,
    tls_port: Option<u16>,
    public_host: Option<&str>,
) -> (Vec<String>, Vec<String>) {
    let stun_urls = vec![format!("stun:{advertised}")];
    if mode != TurnMode::On {
        return (stun_urls, Vec::new());
    }
    let mut turn_urls = vec![
        format!("turn:{advertised}?transport=udp"),
        format!("turn:{advertised}?transport=tcp"),
    ];
    if let Some(port) = tls_port {
        let host = match public_host {
            Some(name) => name.to_owned(),
            None => advertised.ip().to_string(),
        };
        turn_urls.push(format!("turns:{host}:{port}?transport=tcp"));
    }
    (stun_urls, turn_urls)
}

/// STUN/TURN as the rest of the relay sees it: the hub mints credentials
/// and revokes them; `/metrics` reads the counters.
pub struct Turn {
    mode: TurnMode,
    minter: Minter,
    ttl: Duration,
    stun_urls: Vec<String>,
    turn_urls: Vec<String>,
    metrics: Arc<TurnMetrics>,
    shell: Option<Arc<Shell>>,
    tasks: Vec<AbortHandle>,
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Turn {
    /// Stops listening and relaying (at shutdown).
    pub fn stop(&self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Some(shell) = &self.shell {
            for (_, relay) in lock(&shell.relays).drain() {
                relay.task.abort();
            }
        }
    }

    /// Starts STUN/TURN on bound `sockets` (inside a tokio runtime). With
    /// `--turn off` there is nothing to start: use `None` instead.
    /// `https_port` is the port the relay serves HTTPS on (for the
    /// `turns:` URL when it terminates TLS itself).
    pub fn start(
        config: &Config,
        sockets: TurnSockets,
        https_port: Option<u16>,
    ) -> Result<Arc<Turn>, String> {
        let public_ip = config.turn_public_ip()?;
        let advertised = SocketAddr::new(public_ip, sockets.addr.port());
        let secret: zeroize::Zeroizing<Vec<u8>> = match &config.turn_secret {
            Some(secret) => secret.0.clone(),
            None => zeroize::Zeroizing::new(rand::random::<[u8; 32]>().to_vec()),
        };
        let minter = Minter::new(&secret);
        let server_minter = Minter::new(&secret);
        let metrics = Arc::new(TurnMetrics::default());
        // Relayed sockets on the TURN IP when it is a specific IPv4 address.
        let relay_ip = match sockets.addr.ip() {
            IpAddr::V4(v4) if !v4.is_unspecified() => IpAddr::V4(v4),
            _ => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        };
        let pending: Pending = Arc::default();
        let known = [public_ip, sockets.addr.ip(), config.listen.ip()];
        let settings = TurnSettings {
            allocate: config.turn == TurnMode::On,
            realm: REALM.into(),
            relay_ip: public_ip,
            max_allocations: config.turn_max_allocations,
            max_allocations_per_credential: config.turn_max_allocations_per_credential,
            max_lifetime: config.turn_max_lifetime,
            bandwidth: config.turn_bandwidth,
            is_own: own_addresses(known),
        };
        let server = TurnServer::new(
            settings,
            server_minter,
            Box::new(Binder {
                ip: relay_ip,
                range: config.relay_ports,
                pending: pending.clone(),
            }),
            metrics.clone(),
        );
        let udp = UdpSocket::from_std(sockets.udp).map_err(|e| e.to_string())?;
        let tcp = TcpListener::from_std(sockets.tcp).map_err(|e| e.to_string())?;
        let shell = Arc::new(Shell {
            server: Mutex::new(server),
            udp: Arc::new(udp),
            relays: Mutex::default(),
            tcp: Mutex::default(),
            pending,
            next_tcp: AtomicU64::new(1),
            streams: Arc::new(Semaphore::new(config.turn_max_allocations.max(1))),
        });
        let tasks = vec![
            tokio::spawn(udp_loop(shell.clone())).abort_handle(),
            tokio::spawn(tcp_accept_loop(shell.clone(), tcp)).abort_handle(),
            tokio::spawn(tick_loop(shell.clone())).abort_handle(),
        ];
        let tls_port = config
            .tls()
            .then(|| https_port.unwrap_or(config.listen.port()));
        let (stun_urls, turn_urls) = ice_urls(
            config.turn,
            advertised,
            tls_port,
            config.public_host.as_deref(),
        );
        Ok(Arc::new(Turn {
            mode: config.turn,
            minter,
            ttl: config.turn_credential_ttl,
            stun_urls,
            turn_urls,
            metrics,
            shell: Some(shell),
            tasks,
        }))
    }

    /// An external STUN/TURN server (`--ice-server`, e.g. coturn with
    /// `use-auth-secret`) instead of the built-in one: nothing listens here;
    /// browsers get the given URLs, the `turn:`/`turns:` ones with REST
    /// credentials minted with `--turn-secret`, which the external server
    /// checks. `None` without `--ice-server`.
    pub fn external(config: &Config) -> Option<Arc<Turn>> {
        if config.ice_server.is_empty() {
            return None;
        }
        let (turn_urls, stun_urls): (Vec<String>, Vec<String>) = config
            .ice_server
            .iter()
            .cloned()
            .partition(|url| url.starts_with("turn"));
        // Validation insists on a secret when there are turn: URLs; without
        // them nothing is minted.
        let secret = config
            .turn_secret
            .as_ref()
            .map(|s| s.0.clone())
            .unwrap_or_else(|| zeroize::Zeroizing::new(rand::random::<[u8; 32]>().to_vec()));
        tracing::info!(
            "built-in STUN/TURN off: browsers get {} external STUN and {} TURN URL(s) (--ice-server)",
            stun_urls.len(),
            turn_urls.len()
        );
        Some(Arc::new(Turn {
            // Not ours to serve: no TURN over TLS on the HTTPS port.
            mode: TurnMode::Off,
            minter: Minter::new(&secret),
            ttl: config.turn_credential_ttl,
            stun_urls,
            turn_urls,
            metrics: Arc::new(TurnMetrics::default()),
            shell: None,
            tasks: Vec::new(),
        }))
    }

    /// The startup line: where STUN/TURN listens and what it advertises.
    pub fn describe(config: &Config, listen: SocketAddr) -> Result<(String, bool), String> {
        let public_ip = config.turn_public_ip()?;
        let private = super::policy::is_reserved(public_ip);
        let what = match config.turn {
            TurnMode::On => "STUN/TURN",
            TurnMode::StunOnly => "STUN (TURN refused: --turn stun-only)",
            TurnMode::Off => "nothing",
        };
        let source = if config.public_ip.is_some() {
            "--public-ip"
        } else {
            "the --turn-listen address"
        };
        let tls = match (
            &config.public_host,
            config.tls() && config.turn == TurnMode::On,
        ) {
            (Some(host), true) => format!(", TURN over TLS on the HTTPS port (by ALPN) as {host}"),
            (None, true) => ", TURN over TLS on the HTTPS port (by ALPN)".to_owned(),
            (Some(_), false) => {
                ", --public-host unused (no TURN over TLS without --tls-cert)".to_owned()
            }
            (None, false) => String::new(),
        };
        Ok((
            format!(
                "{what} on udp+tcp {listen}, relayed address {public_ip} ({source}), relay ports {}-{}{tls}",
                config.relay_ports.first, config.relay_ports.last
            ),
            private,
        ))
    }

    pub fn mode(&self) -> TurnMode {
        self.mode
    }

    pub fn metrics(&self) -> &Arc<TurnMetrics> {
        &self.metrics
    }

    /// The credential lifetime (`--turn-credential-ttl`).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// A fresh credential for credential id `id`, valid for the TTL.
    pub fn mint(&self, id: &str) -> (IceCredential, u64) {
        let expires = unix_now().saturating_add(self.ttl.as_secs());
        (self.minter.mint(id, expires), expires)
    }

    /// The URLs for browsers: `stun:` always (unless an external server
    /// has none), `turn:` (UDP and TCP) when TURN is on.
    pub fn stun_urls(&self) -> &[String] {
        &self.stun_urls
    }

    pub fn turn_urls(&self) -> &[String] {
        &self.turn_urls
    }

    /// Serves a TURN-over-TLS stream handed over by the HTTPS listener.
    pub fn accept_stream<S>(&self, stream: S, from: SocketAddr)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let Some(shell) = &self.shell else {
            return;
        };
        if self.mode != TurnMode::On {
            return;
        }
        let Ok(permit) = shell.streams.clone().try_acquire_owned() else {
            return;
        };
        let shell = shell.clone();
        tokio::spawn(async move {
            serve_stream(shell, stream, from).await;
            drop(permit);
        });
    }

    /// Revokes credential `id` (which expires at `until_unix`) and closes its allocations.
    pub fn revoke(&self, id: &str, until_unix: u64) {
        if let Some(shell) = &self.shell {
            shell.step(|s| s.revoke(id, until_unix));
        }
    }

    /// Current allocations (for tests and `/metrics`).
    pub fn allocations(&self) -> usize {
        self.shell
            .as_ref()
            .map_or(0, |shell| lock(&shell.server).allocation_count())
    }
}

/// Whether an address belongs to this server: the configured ones, or any
/// address a socket can be bound to here (checked once a minute per address).
fn own_addresses(known: [IpAddr; 3]) -> Box<dyn Fn(IpAddr) -> bool + Send> {
    let known: Vec<IpAddr> = known
        .into_iter()
        .map(super::policy::canonical)
        .filter(|ip| !ip.is_unspecified())
        .collect();
    let cache: RefCell<HashMap<IpAddr, (bool, Instant)>> = RefCell::default();
    Box::new(move |ip: IpAddr| {
        let ip = super::policy::canonical(ip);
        if known.contains(&ip) {
            return true;
        }
        let now = Instant::now();
        let mut cache = cache.borrow_mut();
        if let Some((own, at)) = cache.get(&ip)
            && now.saturating_duration_since(*at) < Duration::from_secs(60)
        {
            return *own;
        }
        if cache.len() > 4096 {
            cache.clear();
        }
        let own = std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok();
        cache.insert(ip, (own, now));
        own
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        assert_eq!(frame_len(&[0, 1, 0]), None);
        assert_eq!(frame_len(&[0, 1, 0, 8]), Some((28, 28)));
        assert_eq!(frame_len(&[0x40, 0, 0, 5]), Some((12, 9)));
        assert_eq!(frame_len(&[0x40, 0, 0, 4]), Some((8, 8)));
        assert_eq!(frame_len(&[0x80, 0, 0, 4]), Some((0, 0)));
    }

    #[test]
    fn loopback_is_own() {
        let own = own_addresses([IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)); 3]);
        assert!(own(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(own(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10))));
        // TEST-NET-2 is on no interface of a test machine.
        assert!(!own(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1))));
    }

    #[test]
    fn external_servers_get_coturn_rest_credentials() {
        use clap::Parser as _;
        let config = Config::try_parse_from([
            "confide-relay",
            "--ice-server",
            "stun:turn.example.org:3478,turn:turn.example.org:3478?transport=udp",
            "--ice-server",
            "turns:turn.example.org:5349?transport=tcp",
            "--turn-secret",
            "coturn-secret",
            "--turn-credential-ttl",
            "2h",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(Turn::external(&Config::for_tests()).is_none());
        let turn = Turn::external(&config).unwrap_or_else(|| panic!("no external TURN"));
        assert_eq!(turn.stun_urls(), ["stun:turn.example.org:3478"]);
        assert_eq!(
            turn.turn_urls(),
            [
                "turn:turn.example.org:3478?transport=udp",
                "turns:turn.example.org:5349?transport=tcp"
            ]
        );
        // Nothing served here, not even TURN over TLS on the HTTPS port.
        assert_eq!(turn.mode(), TurnMode::Off);
        // coturn's use-auth-secret: username `<expiry unix>:<anything>`,
        // password base64(HMAC-SHA1(static-auth-secret, username)).
        let before = unix_now();
        let (credential, expires) = turn.mint("abc");
        assert!((before + 7200..=unix_now() + 7200).contains(&expires));
        assert_eq!(credential.username, format!("{expires}:abc"));
        // `printf %s 1800000000:abc | openssl dgst -sha1 -hmac coturn-secret -binary | base64`
        assert_eq!(
            turn.minter.mint("abc", 1_800_000_000).password.as_str(),
            "IifpbtzuPEJb58rQqwehRsxgD7o="
        );
    }

    #[test]
    fn turns_url_names_the_public_host() {
        let at: SocketAddr = "203.0.113.10:3478"
            .parse()
            .unwrap_or_else(|_| unreachable!());
        let (stun, turn) = ice_urls(TurnMode::On, at, Some(443), Some("beratung.example.org"));
        assert_eq!(stun, ["stun:203.0.113.10:3478"]);
        assert_eq!(
            turn,
            [
                "turn:203.0.113.10:3478?transport=udp",
                "turn:203.0.113.10:3478?transport=tcp",
                "turns:beratung.example.org:443?transport=tcp",
            ]
        );
        // Without a name the IP, as before.
        let (_, turn) = ice_urls(TurnMode::On, at, Some(8443), None);
        assert_eq!(turn[2], "turns:203.0.113.10:8443?transport=tcp");
        // Without TLS here there is no turns: URL, name or not.
        let (stun, turn) = ice_urls(TurnMode::On, at, None, Some("beratung.example.org"));
        assert_eq!(stun, ["stun:203.0.113.10:3478"]);
        assert_eq!(turn.len(), 2);
        assert!(
            turn.iter()
                .all(|u| u.starts_with("turn:203.0.113.10:3478?"))
        );
        // STUN only: no TURN URLs at all.
        let (stun, turn) = ice_urls(TurnMode::StunOnly, at, Some(443), Some("x.example"));
        assert_eq!((stun.len(), turn.len()), (1, 0));
    }

    #[test]
    fn even_ports_are_even_and_in_the_range() {
        for (first, last) in [(40001, 40003), (40100, 40600), (40700, 40701)] {
            let mut binder = Binder {
                ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
                range: PortRange { first, last },
                pending: Pending::default(),
            };
            for _ in 0..3 {
                let Some(port) = binder.open(true) else {
                    continue;
                };
                assert_eq!(port % 2, 0, "{port}");
                assert!((first..=last).contains(&port), "{port}");
            }
        }
    }

    #[tokio::test]
    async fn ephemeral_ports_match_for_udp_and_tcp() {
        let sockets = bind("127.0.0.1:0".parse().unwrap_or_else(|_| unreachable!()));
        let sockets = sockets.unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(sockets.addr.port(), 0);
        assert_eq!(sockets.tcp.local_addr().ok(), Some(sockets.addr));
    }
}
