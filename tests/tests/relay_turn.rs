//! Abuse tests of the TURN part of the real `confide-relay` binary (issue
//! 13). Each test builds its own network namespace: `lo` and a veth pair
//! (both ends inside) with 203.0.113.10/24 (a public-looking TEST-NET address, not on
//! the deny list), runs the relay inside it and talks to it with std sockets
//! from a thread that entered it. A refusal that fails cannot send anything
//! beyond the namespace. Needs root and `ip` (iproute2); fails naming what is
//! missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use confide_relay::turn::creds::Minter;
use confide_relay::turn::stun_types::attribute::{
    ErrorCode, Nonce, Realm, Username, XorMappedAddress,
};
use confide_relay::turn::stun_types::message::{
    BINDING, IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass,
    MessageIntegrityCredentials, MessageWrite, MessageWriteExt, MessageWriteVec, Method,
    TransactionId,
};
use confide_relay::turn::turn_types::attribute::{
    ChannelNumber, Data, Lifetime, RequestedTransport, XorPeerAddress, XorRelayedAddress,
};
use confide_relay::turn::turn_types::channel::ChannelData;
use confide_relay::turn::turn_types::message::{
    ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, DATA, REFRESH, SEND,
};
use confide_shared::wire::{ClientMessage, IceServer, ServerMessage};
use confide_tests::ws::{Client as WsClient, add_invite, create_msg, knock, room_id};

const RELAY_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
const SECRET: &str = "relay-turn-test-secret";
const WAIT: Duration = Duration::from_secs(3);

// ---------------------------------------------------------------------------
// The namespace and the relay inside it.

fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn run(program: &Path, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        output.status.success(),
        "`{} {}` failed: {}",
        program.display(),
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A network namespace with `lo` and 203.0.113.10/24 on a veth end.
struct Ns {
    name: String,
    ip: PathBuf,
}

impl Ns {
    fn new() -> Ns {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let uid = rustix::process::geteuid();
        assert!(
            uid.is_root(),
            "relay_turn builds network namespaces and needs root (effective uid {}): run it as root",
            uid.as_raw()
        );
        let ip = tool("ip").unwrap_or_else(|| {
            panic!("`ip` (iproute2) is missing: install the Debian package iproute2 for relay_turn")
        });
        let name = format!(
            "cfturn{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        confide_tests::netns::remove_orphans(&ip, "cfturn");
        run(&ip, &["netns", "add", &name]);
        let ns = Ns { name, ip };
        let n = ns.name.as_str();
        run(&ns.ip, &["-n", n, "link", "set", "lo", "up"]);
        // A veth pair with both ends inside (the dummy driver is not in every kernel).
        run(
            &ns.ip,
            &[
                "-n", n, "link", "add", "d0", "type", "veth", "peer", "name", "d1",
            ],
        );
        run(&ns.ip, &["-n", n, "link", "set", "d1", "up"]);
        run(
            &ns.ip,
            &["-n", n, "addr", "add", "203.0.113.10/24", "dev", "d0"],
        );
        run(&ns.ip, &["-n", n, "link", "set", "d0", "up"]);
        ns
    }

    /// Runs `f` on a thread inside the namespace: its sockets and the
    /// processes it starts live there.
    fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let file = std::fs::File::open(Path::new("/run/netns").join(&self.name))
            .unwrap_or_else(|e| panic!("namespace {} has no /run/netns entry: {e}", self.name));
        std::thread::scope(|scope| {
            let thread = scope.spawn(move || {
                rustix::thread::move_into_link_name_space(
                    file.as_fd(),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .unwrap_or_else(|e| panic!("cannot enter the namespace: {e}"));
                f()
            });
            match thread.join() {
                Ok(value) => value,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new(&self.ip)
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// The newest modification time of the files under `path`.
fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|entry| newest(&entry.path()))
        .max()
}

/// The relay binary: `CONFIDE_RELAY_BIN` (`cargo xtask test` builds the
/// release relay first and names it, so this file does not compile a second,
/// debug relay), else the one next to this test
/// (`target/<profile>/confide-relay`), built first when it is missing or
/// older than the relay's or the shared crate's sources (building only when
/// needed: the relay alone resolves other dependency features than the test
/// build, so it recompiles).
fn relay_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CONFIDE_RELAY_BIN") {
        return PathBuf::from(path);
    }
    static BUILD: Once = Once::new();
    let exe = std::env::current_exe().expect("the test binary's path");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("confide-relay"))
        .expect("the target folder");
    BUILD.call_once(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let sources = ["relay/src", "relay/Cargo.toml", "shared/src", "Cargo.lock"]
            .iter()
            .filter_map(|p| newest(&root.join(p)))
            .max();
        let built = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        if built.is_some() && built >= sources {
            return;
        }
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command.args(["build", "-p", "confide-relay", "--bin", "confide-relay"]);
        if !cfg!(debug_assertions) {
            command.arg("--release");
        }
        let status = command
            .status()
            .unwrap_or_else(|e| panic!("cannot run cargo to build confide-relay: {e}"));
        assert!(status.success(), "`cargo build -p confide-relay` failed");
    });
    assert!(path.is_file(), "no relay binary at {}", path.display());
    path
}

impl Relay {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `confide-relay` running inside the namespace.
struct Relay {
    child: Child,
    http: SocketAddr,
    turn: SocketAddr,
    /// Its stdout after the two startup lines, for the log check.
    rest: Option<(
        std::sync::mpsc::Receiver<String>,
        std::thread::JoinHandle<()>,
    )>,
}

impl Relay {
    /// Starts the relay (call from inside the namespace) with TURN on
    /// 203.0.113.10 (ephemeral ports) and `extra` flags.
    fn start(extra: &[&str]) -> Relay {
        let mut args = vec!["--turn-secret", SECRET];
        args.extend_from_slice(extra);
        Relay::spawn(&args)
    }

    /// Starts the relay with `--listen 203.0.113.10:0` and `args` only.
    fn spawn(args: &[&str]) -> Relay {
        Relay::spawn_with(args, true)
    }

    /// Like [`Relay::spawn`]; without `turn_line` it waits for the HTTP line
    /// only (no built-in STUN/TURN), and `turn` is 0.0.0.0:0.
    fn spawn_with(args: &[&str], turn_line: bool) -> Relay {
        let mut child = Command::new(relay_binary())
            .args(["--listen", "203.0.113.10:0"])
            .arg("--counsellor-key-file")
            .arg(confide_tests::relay::counsellor_key_file())
            .args(args)
            .env("CONFIDE_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start confide-relay: {e}"));
        // Lines arrive through a thread, so that a relay that never
        // announces itself fails the test instead of hanging it.
        let out = BufReader::new(child.stdout.take().expect("stdout"));
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut http = None;
        let mut turn = (!turn_line).then(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        while http.is_none() || turn.is_none() {
            let Ok(line) = lines.recv_timeout(Duration::from_secs(30)) else {
                let _ = child.kill();
                panic!(
                    "the relay did not announce HTTP and STUN/TURN within 30 s (turn: {turn:?})"
                );
            };
            let announced = line.trim().strip_prefix("confide relay listening on ");
            if let Some(rest) = announced.and_then(|r| {
                r.strip_prefix("http://")
                    .or_else(|| r.strip_prefix("https://"))
            }) {
                http = rest.trim_end_matches('/').parse().ok();
            }
            if let Some((_, rest)) = line
                .trim()
                .strip_prefix("confide relay ")
                .and_then(|r| r.split_once(" on udp+tcp "))
            {
                turn = rest.split(',').next().and_then(|a| a.parse().ok());
                assert!(
                    rest.contains("relayed address 203.0.113.10"),
                    "TURN line: {line}"
                );
            }
        }
        Relay {
            child,
            http: http.expect("http address"),
            turn: turn.expect("turn address"),
            rest: Some((lines, reader)),
        }
    }

    /// Stops the relay and returns everything it printed after starting.
    fn stop(mut self) -> String {
        self.kill();
        let Some((lines, reader)) = self.rest.take() else {
            return String::new();
        };
        let _ = reader.join();
        lines.try_iter().collect::<Vec<_>>().join("\n")
    }
}

// ---------------------------------------------------------------------------
// A small TURN client on std sockets, writing requests with the codec.

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

enum Socket {
    Udp(UdpSocket, SocketAddr),
    Tcp(TcpStream, Vec<u8>),
    Tls(Box<TlsStream>, Vec<u8>),
}

/// The next STUN message or ChannelData (unpadded) from a byte stream.
fn read_frame(reader: &mut impl std::io::Read, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if buf.len() >= 4 {
            let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
            let (frame, payload) = if buf[0] >> 6 == 0 {
                (20 + len, 20 + len)
            } else {
                ((4 + len).div_ceil(4) * 4, 4 + len)
            };
            if buf.len() >= frame {
                let data = buf[..payload].to_vec();
                buf.drain(..frame);
                return Some(data);
            }
        }
        let mut chunk = [0; 4096];
        let n = reader.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

impl Socket {
    fn send(&mut self, bytes: &[u8]) {
        match self {
            Socket::Udp(s, to) => {
                s.send_to(bytes, *to).expect("udp send");
            }
            Socket::Tcp(s, _) => s.write_all(bytes).expect("tcp send"),
            Socket::Tls(s, _) => {
                s.write_all(bytes).expect("tls send");
                s.flush().expect("tls flush");
            }
        }
    }

    /// The next datagram or framed TCP message, or `None` after `WAIT`.
    fn recv(&mut self) -> Option<Vec<u8>> {
        match self {
            Socket::Udp(s, _) => {
                s.set_read_timeout(Some(WAIT)).ok()?;
                let mut buf = vec![0; 65536];
                let (n, _) = s.recv_from(&mut buf).ok()?;
                buf.truncate(n);
                Some(buf)
            }
            Socket::Tcp(s, buf) => {
                s.set_read_timeout(Some(WAIT)).ok()?;
                read_frame(s, buf)
            }
            Socket::Tls(s, buf) => {
                s.sock.set_read_timeout(Some(WAIT)).ok()?;
                read_frame(s.as_mut(), buf)
            }
        }
    }
}

struct Turn {
    socket: Socket,
    username: String,
    password: String,
    nonce: Option<String>,
    /// Data that arrived while waiting for an answer.
    inbox: Vec<Vec<u8>>,
}

impl Turn {
    fn udp(relay: &Relay, username: &str, password: &str) -> Turn {
        let socket = UdpSocket::bind("203.0.113.10:0").expect("udp socket");
        Turn::with(Socket::Udp(socket, relay.turn), username, password)
    }

    fn tcp(relay: &Relay, username: &str, password: &str) -> Turn {
        let stream = TcpStream::connect(relay.turn).expect("tcp connect to TURN");
        Turn::with(Socket::Tcp(stream, Vec::new()), username, password)
    }

    /// TURN over TLS to the HTTPS port, offering `alpn` (browsers offer none).
    fn tls(
        relay: &Relay,
        cert: &rustls::pki_types::CertificateDer<'static>,
        alpn: &[&[u8]],
    ) -> TlsStream {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.clone()).unwrap();
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let name = rustls::pki_types::ServerName::from(IpAddr::V4(RELAY_IP));
        let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
        let tcp = TcpStream::connect(relay.http).expect("tcp connect to the HTTPS port");
        tcp.set_read_timeout(Some(WAIT)).unwrap();
        rustls::StreamOwned::new(conn, tcp)
    }

    fn with(socket: Socket, username: &str, password: &str) -> Turn {
        Turn {
            socket,
            username: username.into(),
            password: password.into(),
            nonce: None,
            inbox: Vec::new(),
        }
    }

    /// A fresh credential minted with the test secret.
    fn minted(id: &str, expires: u64) -> (String, String) {
        let c = Minter::new(SECRET.as_bytes()).mint(id, expires);
        (c.username, c.password.to_string())
    }

    fn request(
        &self,
        method: Method,
        add: &dyn Fn(&mut MessageWriteVec),
    ) -> (Vec<u8>, TransactionId) {
        let mut w = Message::builder_request(method, MessageWriteVec::new());
        add(&mut w);
        if let Some(nonce) = &self.nonce {
            w.add_attribute(&Username::new(&self.username).unwrap())
                .unwrap();
            w.add_attribute(&Realm::new("confide").unwrap()).unwrap();
            w.add_attribute(&Nonce::new(nonce).unwrap()).unwrap();
            let creds: MessageIntegrityCredentials = LongTermKeyCredentials::new(
                self.username.clone(),
                self.password.clone(),
                "confide".into(),
            )
            .into();
            w.add_message_integrity(&creds, IntegrityAlgorithm::Sha1)
                .unwrap();
        }
        let txid = w.transaction_id();
        (w.finish(), txid)
    }

    /// Sends a request and returns (error code or 0, answer); learns the
    /// nonce from a first 401 or a 438 and tries again, as browsers do.
    fn call(&mut self, method: Method, add: &dyn Fn(&mut MessageWriteVec)) -> (u16, Vec<u8>) {
        for _ in 0..3 {
            let (bytes, txid) = self.request(method, add);
            self.socket.send(&bytes);
            let answer = loop {
                let got = self
                    .socket
                    .recv()
                    .unwrap_or_else(|| panic!("no answer to {method} within {WAIT:?}"));
                match Message::from_bytes(&got) {
                    Ok(m) if m.transaction_id() == txid && m.is_response() => break got,
                    _ => self.inbox.push(got),
                }
            };
            let msg = Message::from_bytes(&answer).unwrap();
            let code = match msg.class() {
                MessageClass::Success => 0,
                _ => msg
                    .attribute::<ErrorCode>()
                    .map(|e| e.code())
                    .unwrap_or(u16::MAX),
            };
            if (code == 401 && self.nonce.is_none()) || code == 438 {
                self.nonce = Some(msg.attribute::<Nonce>().unwrap().nonce().to_owned());
                continue;
            }
            return (code, answer);
        }
        panic!("{method}: still asked for a nonce after two tries");
    }

    fn allocate(&mut self) -> Result<SocketAddr, u16> {
        let (code, answer) = self.call(ALLOCATE, &|w| {
            w.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                .unwrap();
        });
        if code != 0 {
            return Err(code);
        }
        let msg = Message::from_bytes(&answer).unwrap();
        Ok(msg
            .attribute::<XorRelayedAddress>()
            .unwrap()
            .addr(msg.transaction_id()))
    }

    fn permission(&mut self, peer: SocketAddr) -> u16 {
        self.call(CREATE_PERMISSION, &|w| {
            let t = w.transaction_id();
            w.add_attribute(&XorPeerAddress::new(peer, t)).unwrap();
        })
        .0
    }

    fn channel(&mut self, number: u16, peer: SocketAddr) -> u16 {
        self.call(CHANNEL_BIND, &|w| {
            let t = w.transaction_id();
            w.add_attribute(&ChannelNumber::new(number)).unwrap();
            w.add_attribute(&XorPeerAddress::new(peer, t)).unwrap();
        })
        .0
    }

    fn send(&mut self, peer: SocketAddr, data: &[u8]) {
        let mut w = Message::builder_indication(SEND, MessageWriteVec::new());
        let t = w.transaction_id();
        w.add_attribute(&XorPeerAddress::new(peer, t)).unwrap();
        w.add_attribute(&Data::new(data)).unwrap();
        let bytes = w.finish();
        self.socket.send(&bytes);
    }

    fn send_channel(&mut self, number: u16, data: &[u8]) {
        let len = 4 + data.len();
        let mut bytes = vec![0; len.div_ceil(4) * 4];
        ChannelData::new(number, data).write_into_unchecked(&mut bytes[..len]);
        if matches!(self.socket, Socket::Udp(..)) {
            bytes.truncate(len);
        }
        self.socket.send(&bytes);
    }

    /// The next relayed packet: (peer, data) from a Data indication, or
    /// (None, data) from ChannelData.
    fn receive(&mut self) -> Option<(Option<SocketAddr>, u16, Vec<u8>)> {
        let got = if self.inbox.is_empty() {
            self.socket.recv()?
        } else {
            self.inbox.remove(0)
        };
        if got[0] >> 6 == 1 {
            let cd = ChannelData::parse(&got).ok()?;
            return Some((None, cd.id(), cd.data().to_vec()));
        }
        let msg = Message::from_bytes(&got).ok()?;
        assert!(msg.has_method(DATA), "expected a Data indication");
        let peer = msg
            .attribute::<XorPeerAddress>()
            .ok()?
            .addr(msg.transaction_id());
        let data = msg.attribute::<Data>().ok()?.data().to_vec();
        Some((Some(peer), 0, data))
    }
}

// ---------------------------------------------------------------------------

#[test]
fn allocations_without_valid_credentials_are_refused() {
    let ns = Ns::new();
    ns.enter(|| {
        let relay = Relay::start(&["--metrics"]);
        // STUN Binding needs no credentials.
        let mut stun = Turn::udp(&relay, "", "");
        let (code, answer) = stun.call(BINDING, &|_| {});
        assert_eq!(code, 0);
        let msg = Message::from_bytes(&answer).unwrap();
        assert!(msg.attribute::<XorMappedAddress>().is_ok());

        // No credentials at all: 401, and nothing allocated.
        let mut anonymous = Turn::udp(&relay, "", "");
        let (bytes, _) = anonymous.request(ALLOCATE, &|w| {
            w.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                .unwrap();
        });
        anonymous.socket.send(&bytes);
        let answer = anonymous.socket.recv().expect("an answer");
        let msg = Message::from_bytes(&answer).unwrap();
        assert_eq!(msg.attribute::<ErrorCode>().unwrap().code(), 401);
        assert!(msg.attribute::<Nonce>().is_ok() && msg.attribute::<Realm>().is_ok());

        // A well-formed username with a password that is not the HMAC of it.
        let (user, _) = Turn::minted("mallory", unix_now() + 3600);
        let mut wrong = Turn::udp(&relay, &user, "bm90IHRoZSBwYXNzd29yZA==");
        assert_eq!(wrong.allocate(), Err(401), "wrong password");
        // A credential minted with another secret.
        let other = Minter::new(b"another secret").mint("mallory", unix_now() + 3600);
        let mut forged = Turn::udp(&relay, &other.username, &other.password);
        assert_eq!(forged.allocate(), Err(401), "credential of another secret");
        // Expired a minute ago, correctly signed.
        let (user, pass) = Turn::minted("late", unix_now() - 60);
        let mut expired = Turn::udp(&relay, &user, &pass);
        assert_eq!(expired.allocate(), Err(401), "expired credential");
        // The same over TCP.
        let mut expired_tcp = Turn::tcp(&relay, &user, &pass);
        assert_eq!(
            expired_tcp.allocate(),
            Err(401),
            "expired credential over TCP"
        );

        // A valid one works, over UDP and over TCP.
        let (user, pass) = Turn::minted("fine", unix_now() + 3600);
        let relayed = Turn::udp(&relay, &user, &pass).allocate();
        assert_eq!(relayed.map(|a| a.ip()), Ok(IpAddr::V4(RELAY_IP)));
        assert!(Turn::tcp(&relay, &user, &pass).allocate().is_ok());

        // /metrics counts them by reason, with no address or name.
        let lines = [
            "confide_turn_refusals_total{reason=\"expired\"} 2",
            "confide_turn_refusals_total{reason=\"bad_credentials\"} 2",
            "confide_turn_auth_failures_total 4",
            // The TCP client above is gone, and its allocation with it (the
            // relay learns of the close a moment later: asked again for 5 s).
            "confide_turn_allocations 1",
            "confide_turn_allocations_total 2",
        ];
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let metrics = loop {
            let mut http = TcpStream::connect(relay.http).unwrap();
            http.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut metrics = String::new();
            let _ = http.read_to_string(&mut metrics);
            if lines.iter().all(|l| metrics.contains(l)) || std::time::Instant::now() > deadline {
                break metrics;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        for line in lines {
            assert!(metrics.contains(line), "/metrics lacks {line}: {metrics}");
        }
        assert!(!metrics.contains("203.0.113"), "an address in /metrics");
        assert!(!metrics.contains("fine"), "a credential id in /metrics");

        let log = relay.stop();
        for secret in [SECRET, pass.as_str(), user.as_str()] {
            assert!(!log.contains(secret), "the log shows a credential: {log}");
        }
        assert!(
            !log.contains("203.0.113.10:"),
            "the log shows an address: {log}"
        );
    });
}

#[test]
fn relaying_into_the_servers_networks_is_refused_but_allocations_reach_each_other() {
    let ns = Ns::new();
    ns.enter(|| {
        let relay = Relay::start(&[]);
        let (user, pass) = Turn::minted("alice", unix_now() + 3600);
        let mut a = Turn::udp(&relay, &user, &pass);
        let ra = a.allocate().expect("allocation a");
        let (user_b, pass_b) = Turn::minted("bob", unix_now() + 3600);
        // b over TCP: the framing path of the relay.
        let mut b = Turn::tcp(&relay, &user_b, &pass_b);
        let rb = b.allocate().expect("allocation b");
        assert_eq!(ra.ip(), IpAddr::V4(RELAY_IP));
        assert_ne!(ra.port(), rb.port());

        let refused = [
            SocketAddr::from((Ipv4Addr::LOCALHOST, 22)),
            SocketAddr::from((Ipv4Addr::new(10, 0, 0, 1), 80)),
            SocketAddr::from((Ipv4Addr::new(192, 168, 1, 1), 80)),
            SocketAddr::from((Ipv4Addr::new(169, 254, 169, 254), 80)),
            "[fe80::1]:80".parse().unwrap(),
            "[::ffff:127.0.0.1]:80".parse().unwrap(),
            // The relay's own HTTP port and its TURN port.
            relay.http,
            relay.turn,
        ];
        for (n, peer) in refused.iter().enumerate() {
            assert_eq!(a.permission(*peer), 403, "CreatePermission to {peer}");
            assert_eq!(
                a.channel(0x4000 + n as u16, *peer),
                403,
                "ChannelBind to {peer}"
            );
        }
        // Nothing reaches the HTTP port through a Send indication either.
        let http_probe = std::net::UdpSocket::bind(SocketAddr::new(IpAddr::V4(RELAY_IP), 0))
            .expect("probe socket");
        let probe = http_probe.local_addr().unwrap();
        a.send(probe, b"should not arrive");
        http_probe
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = [0; 64];
        assert!(
            http_probe.recv_from(&mut buf).is_err(),
            "a Send to an own non-relay port was relayed"
        );

        // Another allocation's relayed address on the same relay works, both ways.
        assert_eq!(
            a.permission(rb),
            0,
            "CreatePermission to the other allocation"
        );
        assert_eq!(b.permission(ra), 0, "CreatePermission back");
        a.send(rb, b"hello b");
        assert_eq!(
            b.receive(),
            Some((Some(ra), 0, b"hello b".to_vec())),
            "a Data indication from a's relayed address"
        );
        b.send(ra, b"hello a");
        assert_eq!(a.receive(), Some((Some(rb), 0, b"hello a".to_vec())));
        // Channels: a binds 0x4100 to b, b binds 0x4200 to a.
        assert_eq!(a.channel(0x4100, rb), 0);
        assert_eq!(b.channel(0x4200, ra), 0);
        a.send_channel(0x4100, b"over a channel");
        assert_eq!(
            b.receive(),
            Some((None, 0x4200, b"over a channel".to_vec()))
        );
        b.send_channel(0x4200, b"and back");
        assert_eq!(a.receive(), Some((None, 0x4100, b"and back".to_vec())));

        // When b's allocation is gone its port is an ordinary own port again.
        let (code, _) = b.call(REFRESH, &|w| {
            w.add_attribute(&Lifetime::new(0)).unwrap();
        });
        assert_eq!(code, 0);
        assert_eq!(a.permission(rb), 403, "a freed relayed port");
        relay.stop();
    });
}

#[test]
fn the_per_credential_allocation_cap_holds() {
    let ns = Ns::new();
    ns.enter(|| {
        let relay = Relay::start(&["--turn-max-allocations-per-credential", "3"]);
        let (user, pass) = Turn::minted("greedy", unix_now() + 3600);
        let mut held = Vec::new();
        for n in 0..3 {
            let mut c = Turn::udp(&relay, &user, &pass);
            assert!(c.allocate().is_ok(), "allocation {n} within the cap");
            held.push(c);
        }
        let mut fourth = Turn::udp(&relay, &user, &pass);
        assert_eq!(
            fourth.allocate(),
            Err(486),
            "the fourth allocation of one credential"
        );
        let mut tcp = Turn::tcp(&relay, &user, &pass);
        assert_eq!(tcp.allocate(), Err(486), "also over TCP");
        // Another credential is not affected.
        let (user2, pass2) = Turn::minted("modest", unix_now() + 3600);
        assert!(Turn::udp(&relay, &user2, &pass2).allocate().is_ok());
        // Freeing one makes room again.
        let (code, _) = held[0].call(REFRESH, &|w| {
            w.add_attribute(&Lifetime::new(0)).unwrap();
        });
        assert_eq!(code, 0);
        assert!(fourth.allocate().is_ok(), "room again after a release");
        relay.stop();
    });
}

fn turn_server(servers: &[IceServer]) -> (&IceServer, Vec<&str>) {
    let turn = servers
        .iter()
        .find(|s| s.urls.iter().any(|u| u.starts_with("turn:")))
        .expect("a turn: entry");
    let urls = servers
        .iter()
        .flat_map(|s| s.urls.iter().map(String::as_str))
        .collect();
    (turn, urls)
}

#[test]
fn credentials_come_over_the_websocket_and_die_with_the_guest() {
    let ns = Ns::new();
    ns.enter(|| {
        let relay = Relay::start(&[]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let url = format!("ws://{}/ws", relay.http);
            // A stranger without a valid counsellor sign-in creates no room
            // and gets no credentials: the first thing it gets is the close.
            let mut forged = *confide_tests::ws::counsellor_token().as_bytes();
            forged[20] ^= 1;
            let mut stranger = WsClient::connect(&url).await;
            stranger
                .send(&ClientMessage::CreateRoom {
                    v: 1,
                    room: room_id(9),
                    host_token: confide_tests::ws::host_token(9),
                    counsellor: confide_shared::wire::CounsellorToken::from_bytes(forged),
                    keep_until: None,
                })
                .await;
            stranger.expect_close(4020).await;

            let mut host = WsClient::connect(&url).await;
            host.send(&create_msg(1, 1)).await;
            assert!(matches!(
                host.recv().await,
                ServerMessage::RoomCreated { .. }
            ));
            let host_servers = match host.recv().await {
                ServerMessage::IceServers { room, servers } => {
                    assert_eq!(room, room_id(1));
                    servers
                }
                other => panic!("expected ice_servers after room_created, got {other:?}"),
            };
            let (_, urls) = turn_server(&host_servers);
            let port = relay.turn.port();
            assert_eq!(
                urls,
                vec![
                    format!("stun:203.0.113.10:{port}"),
                    format!("turn:203.0.113.10:{port}?transport=udp"),
                    format!("turn:203.0.113.10:{port}?transport=tcp"),
                ]
            );

            // A guest in the lobby gets none; once admitted it gets its own.
            add_invite(&mut host, 1, 2, None).await;
            let (mut guest, member) = knock(&url, &mut host, 1, 2).await;
            assert!(
                guest.try_next(Duration::from_millis(300)).await.is_none(),
                "a guest in the lobby was sent something (ice_servers?)"
            );
            host.send(&ClientMessage::Admit {
                room: room_id(1),
                member,
            })
            .await;
            assert!(matches!(guest.recv().await, ServerMessage::Admitted { .. }));
            let guest_servers = match guest.recv().await {
                ServerMessage::IceServers { servers, .. } => servers,
                other => panic!("expected ice_servers after admitted, got {other:?}"),
            };
            let (host_turn, _) = turn_server(&host_servers);
            let (guest_turn, _) = turn_server(&guest_servers);
            assert_ne!(host_turn.username, guest_turn.username);

            let (relay_ref, guest_turn, host_turn) =
                (&relay, guest_turn.clone(), host_turn.clone());
            let mut g = Turn::udp(relay_ref, &guest_turn.username, &guest_turn.credential);
            let rg = g
                .allocate()
                .expect("the guest allocates with its credential");
            let mut h = Turn::udp(relay_ref, &host_turn.username, &host_turn.credential);
            let rh = h
                .allocate()
                .expect("the host allocates with its credential");
            assert_eq!(h.permission(rg), 0);

            // The host removes the guest: its credential is revoked and its allocation closed.
            host.send(&ClientMessage::Remove {
                room: room_id(1),
                member,
            })
            .await;
            assert!(matches!(guest.recv().await, ServerMessage::Removed { .. }));
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut again = Turn::udp(relay_ref, &guest_turn.username, &guest_turn.credential);
            assert_eq!(again.allocate(), Err(401), "a removed guest's credential");
            let (code, _) = g.call(REFRESH, &|w| {
                w.add_attribute(&Lifetime::new(600)).unwrap();
            });
            assert_eq!(code, 401, "its old allocation cannot be refreshed");
            assert_eq!(h.permission(rg), 403, "its relayed port is closed");
            // The host's credential still works.
            assert_eq!(h.permission(rh), 0);
        });
        relay.stop();
    });
}

#[test]
fn an_external_turn_server_is_handed_out_with_rest_credentials() {
    let ns = Ns::new();
    ns.enter(|| {
        let relay = Relay::spawn_with(
            &[
                "--ice-server",
                "stun:turn.example.org:3478,turn:turn.example.org:3478?transport=udp",
                "--ice-server",
                "turns:turn.example.org:5349?transport=tcp",
                "--turn-secret",
                SECRET,
            ],
            false,
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let url = format!("ws://{}/ws", relay.http);
            let mut host = WsClient::connect(&url).await;
            host.send(&create_msg(1, 1)).await;
            assert!(matches!(
                host.recv().await,
                ServerMessage::RoomCreated { .. }
            ));
            let servers = match host.recv().await {
                ServerMessage::IceServers { servers, .. } => servers,
                other => panic!("expected ice_servers after room_created, got {other:?}"),
            };
            let (turn, urls) = turn_server(&servers);
            assert_eq!(
                urls,
                vec![
                    "stun:turn.example.org:3478",
                    "turn:turn.example.org:3478?transport=udp",
                    "turns:turn.example.org:5349?transport=tcp",
                ]
            );
            // coturn's use-auth-secret format: `<expiry>:<id>` and
            // base64(HMAC-SHA1(secret, username)), valid for the TTL (12 h).
            let (expiry, _) = turn.username.split_once(':').expect("expiry:id");
            let expiry: u64 = expiry.parse().expect("a unix time");
            let now = unix_now();
            assert!((now + 12 * 3600 - 60..=now + 12 * 3600 + 60).contains(&expiry));
            assert_eq!(
                turn.credential,
                Minter::new(SECRET.as_bytes())
                    .password_for(&turn.username)
                    .as_str()
            );
        });
        // The built-in STUN/TURN is off: it never announced itself.
        let log = relay.stop();
        assert!(
            !log.contains(" on udp+tcp "),
            "built-in TURN started: {log}"
        );
        assert!(!log.contains(SECRET), "the log shows the secret: {log}");
    });
}

#[test]
fn stun_only_answers_binding_and_refuses_allocations() {
    let ns = Ns::new();
    ns.enter(|| {
        let relay = Relay::spawn(&["--turn", "stun-only"]);
        let mut stun = Turn::udp(&relay, "", "");
        assert_eq!(stun.call(BINDING, &|_| {}).0, 0);
        let (user, pass) = Turn::minted("x", unix_now() + 3600);
        assert_eq!(Turn::udp(&relay, &user, &pass).allocate(), Err(403));
        relay.stop();
    });
}

#[test]
fn turn_over_tls_shares_the_https_port_by_alpn() {
    let certified = rcgen::generate_simple_self_signed(vec![RELAY_IP.to_string()]).unwrap();
    let dir = std::env::temp_dir().join(format!("confide-relay-turn-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    let cert = certified.cert.der().clone();
    let ns = Ns::new();
    ns.enter(|| {
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        let relay = Relay::start(&[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ]);
        // HTTPS (ALPN http/1.1) still reaches the web server.
        let mut https = Turn::tls(&relay, &cert, &[b"http/1.1"]);
        https
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 203.0.113.10\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        let _ = https.read_to_string(&mut response);
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");

        // A TURN client offering no ALPN (as browsers on turns:) gets TURN.
        let (user, pass) = Turn::minted("tls", unix_now() + 3600);
        let stream = Turn::tls(&relay, &cert, &[]);
        let mut a = Turn::with(Socket::Tls(Box::new(stream), Vec::new()), &user, &pass);
        let ra = a.allocate().expect("an allocation over TLS");
        assert_eq!(ra.ip(), IpAddr::V4(RELAY_IP));
        // And one offering stun.turn (RFC 7443) too; both relay to each other.
        let stream = Turn::tls(&relay, &cert, &[b"stun.turn"]);
        let mut b = Turn::with(Socket::Tls(Box::new(stream), Vec::new()), &user, &pass);
        let rb = b
            .allocate()
            .expect("an allocation over TLS with ALPN stun.turn");
        assert_eq!(a.permission(rb), 0);
        assert_eq!(b.permission(ra), 0);
        assert_eq!(a.channel(0x4321, rb), 0);
        a.send_channel(0x4321, b"through TLS");
        assert_eq!(b.receive(), Some((Some(ra), 0, b"through TLS".to_vec())));
        // The relay's own HTTPS port is still refused as a peer.
        assert_eq!(a.permission(relay.http), 403);

        // The WebSocket's ice_servers name turns: on the HTTPS port.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let port = relay.http.port();
        let turn_port = relay.turn.port();
        runtime.block_on(async {
            let tls = tokio_rustls::TlsConnector::from({
                let mut roots = rustls::RootCertStore::empty();
                roots.add(cert.clone()).unwrap();
                let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
                let mut config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .unwrap()
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                // As browsers do; a client offering no ALPN would get TURN.
                config.alpn_protocols = vec![b"http/1.1".to_vec()];
                std::sync::Arc::new(config)
            });
            let tcp = tokio::net::TcpStream::connect(relay.http).await.unwrap();
            let name = rustls::pki_types::ServerName::from(IpAddr::V4(RELAY_IP));
            let stream = tls.connect(name, tcp).await.unwrap();
            let url = format!("wss://203.0.113.10:{port}/ws");
            let (ws, _) = tokio_tungstenite::client_async(&url, stream).await.unwrap();
            let mut host = confide_tests::ws::WsClient::new(ws);
            host.send(&create_msg(1, 1)).await;
            assert!(matches!(
                host.recv().await,
                ServerMessage::RoomCreated { .. }
            ));
            let servers = match host.recv().await {
                ServerMessage::IceServers { servers, .. } => servers,
                other => panic!("expected ice_servers, got {other:?}"),
            };
            let (_, urls) = turn_server(&servers);
            assert_eq!(
                urls,
                vec![
                    format!("stun:203.0.113.10:{turn_port}"),
                    format!("turn:203.0.113.10:{turn_port}?transport=udp"),
                    format!("turn:203.0.113.10:{turn_port}?transport=tcp"),
                    format!("turns:203.0.113.10:{port}?transport=tcp"),
                ]
            );
        });
        relay.stop();
    });
    let _ = std::fs::remove_dir_all(&dir);
}
