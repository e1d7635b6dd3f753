//! Several real relay processes behind a real HAProxy, all on loopback
//! (issue 19; docs/RELAY.md "Several relay nodes"): the set-up of
//! `relay_shard.rs` and `browser_shard.rs`.
//!
//! HAProxy routes `/ws` by the shard label (`balance url_param s`,
//! `hash-type consistent`; or by a fixed table, [`Routing::Table`], to nodes
//! with `--shard`), checks `/healthz` every 100 ms and takes a node out at
//! its first failed check (503 while it drains, then refused). Each
//! node runs its own STUN/TURN on a port of its own and shares the
//! counsellor key of `Config::for_tests`. HAProxy's admin socket tells the
//! test which nodes it considers up.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use confide_shared::shard::ShardLabel;
use confide_shared::wire::RoomId;

use crate::browser::{TempDir, free_port};
use crate::netns::relay_binary;

/// The Debian package that has HAProxy.
pub const HAPROXY_PACKAGE: &str = "haproxy";

/// How long a node or HAProxy may take to start, or HAProxy to see a change.
const START: Duration = Duration::from_secs(20);

/// HAProxy's program, or a failure that names the package to install.
pub fn haproxy() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join("haproxy"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "HAProxy is not installed: install the Debian package `{HAPROXY_PACKAGE}` \
                 (apt-get install {HAPROXY_PACKAGE}; `cargo xtask test` does it when run as root)"
            )
        })
}

/// One relay process.
pub struct Node {
    /// Its name in HAProxy's configuration (`relay1`, …).
    pub name: String,
    pub http: SocketAddr,
    /// Its own STUN/TURN port (UDP and TCP on 127.0.0.1): in its ICE server URLs.
    pub turn_port: u16,
    child: Option<Child>,
}

/// The nodes, HAProxy in front of them, and their files.
pub struct Cluster {
    pub nodes: Vec<Node>,
    /// HAProxy's frontend: where browsers and clients connect.
    pub lb: SocketAddr,
    haproxy: Child,
    admin_socket: PathBuf,
    dir: TempDir,
}

/// How HAProxy picks a node for a label.
pub enum Routing {
    /// `balance url_param s` with `hash-type consistent`; the nodes hold every label.
    Consistent,
    /// A fixed table, label → node index, in a map file (`use_backend`, one
    /// backend per node); node i runs with `--shard i+1/count`.
    Table(fn(u8) -> usize),
}

impl Cluster {
    /// Starts `count` relay nodes (serving the app from `static_dir` when
    /// given) and HAProxy in front of them, routing consistently; returns
    /// once HAProxy sees all up.
    pub fn start(count: usize, static_dir: Option<&Path>) -> Cluster {
        Cluster::start_with(count, static_dir, Routing::Consistent)
    }

    /// Like [`Cluster::start`], routing as `routing` says.
    pub fn start_with(count: usize, static_dir: Option<&Path>, routing: Routing) -> Cluster {
        let haproxy_program = haproxy();
        let dir = TempDir::new("confide-cluster");
        // The tests' sign-ins (`ws::create_msg`, the browser's sign-in link) work on every node.
        let key_file = crate::relay::counsellor_key_file();
        let nodes: Vec<Node> = (1..=count)
            .map(|i| {
                let shard = match routing {
                    Routing::Consistent => None,
                    Routing::Table(_) => Some(format!("{i}/{count}")),
                };
                Node::start(&format!("relay{i}"), &key_file, static_dir, shard)
            })
            .collect();
        let lb: SocketAddr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let admin_socket = dir.path.join("admin.sock");
        let config = match routing {
            Routing::Consistent => haproxy_config(lb, &admin_socket, &nodes),
            Routing::Table(node_of) => {
                let map = dir.path.join("shards.map");
                let table: String = (0..=255u8)
                    .map(|label| format!("{label:02x} {}\n", nodes[node_of(label)].name))
                    .collect();
                std::fs::write(&map, table)
                    .unwrap_or_else(|e| panic!("cannot write {}: {e}", map.display()));
                haproxy_table_config(lb, &admin_socket, &nodes, &map)
            }
        };
        let config_file = dir.path.join("haproxy.cfg");
        std::fs::write(&config_file, config)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config_file.display()));
        let log = std::fs::File::create(dir.path.join("haproxy.log"))
            .unwrap_or_else(|e| panic!("cannot create HAProxy's log: {e}"));
        let haproxy = Command::new(&haproxy_program)
            // Foreground, one process; the configuration is checked first.
            .arg("-db")
            .arg("-f")
            .arg(&config_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", haproxy_program.display()));
        let cluster = Cluster {
            nodes,
            lb,
            haproxy,
            admin_socket,
            dir,
        };
        for i in 0..count {
            cluster.wait_for(i, true);
        }
        cluster
    }

    /// The app's address through HAProxy.
    pub fn http_url(&self) -> String {
        format!("http://{}/", self.lb)
    }

    /// The WebSocket address for `room` through HAProxy, as the app builds it.
    pub fn ws_url(&self, room: &RoomId) -> String {
        format!("ws://{}/ws?s={}", self.lb, ShardLabel::of(room))
    }

    /// The WebSocket address for `room` on node `i` directly, past HAProxy.
    pub fn node_ws_url(&self, i: usize, room: &RoomId) -> String {
        format!("ws://{}/ws?s={}", self.nodes[i].http, ShardLabel::of(room))
    }

    /// The node whose TURN port `port` is.
    pub fn node_with_turn_port(&self, port: u16) -> Option<usize> {
        self.nodes.iter().position(|n| n.turn_port == port)
    }

    /// A value of node `i`'s `/metrics`, like `confide_rooms`.
    pub fn metric(&self, i: usize, name: &str) -> u64 {
        let text = http_get(self.nodes[i].http, "/metrics");
        text.lines()
            .find_map(|line| {
                line.strip_prefix(name)?
                    .strip_prefix(' ')?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("no {name} in the /metrics of {}", self.nodes[i].name))
    }

    /// Stops node `i` as an operator does (SIGTERM: it drains, says goodbye
    /// to every connection and exits), waits until it has exited and until
    /// HAProxy has taken it out.
    pub fn stop_node(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let Some(mut child) = node.child.take() else {
            return;
        };
        let pid = rustix::process::Pid::from_raw(child.id() as i32)
            .unwrap_or_else(|| panic!("no pid for {}", node.name));
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .unwrap_or_else(|e| panic!("cannot stop {}: {e}", node.name));
        let status = child
            .wait()
            .unwrap_or_else(|e| panic!("waiting for {}: {e}", node.name));
        assert!(status.success(), "{} exited with {status}", node.name);
        self.wait_for(i, false);
    }

    /// Waits until HAProxy reports node `i` up (or down).
    fn wait_for(&self, i: usize, up: bool) {
        let name = &self.nodes[i].name;
        let started = Instant::now();
        loop {
            let status = self.haproxy_status(name);
            if status.as_deref().is_some_and(|s| s.starts_with("UP") == up) {
                return;
            }
            assert!(
                started.elapsed() < START,
                "HAProxy does not see {name} {}: status {status:?}; its log: {}",
                if up { "up" } else { "down" },
                std::fs::read_to_string(self.dir.path.join("haproxy.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The `status` column of HAProxy's `show stat` for server `name`.
    fn haproxy_status(&self, name: &str) -> Option<String> {
        let mut socket = UnixStream::connect(&self.admin_socket).ok()?;
        socket.write_all(b"show stat\n").ok()?;
        let mut text = String::new();
        socket.read_to_string(&mut text).ok()?;
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next()?.trim_start_matches("# ").split(',').collect();
        let column = |field: &str| header.iter().position(|h| *h == field);
        let (server, status) = (column("svname")?, column("status")?);
        lines
            .map(|line| line.split(',').collect::<Vec<_>>())
            .find(|fields| fields.get(server) == Some(&name))
            .and_then(|fields| fields.get(status).map(|s| s.to_string()))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.haproxy.kill();
        let _ = self.haproxy.wait();
    }
}

impl Node {
    fn start(
        name: &str,
        key_file: &Path,
        static_dir: Option<&Path>,
        shard: Option<String>,
    ) -> Node {
        let binary = relay_binary();
        let turn_port = free_port();
        let mut command = Command::new(&binary);
        command
            .args(["--listen", "127.0.0.1:0", "--metrics", "--turn", "on"])
            .arg("--turn-listen")
            .arg(format!("127.0.0.1:{turn_port}"))
            .arg("--counsellor-key-file")
            .arg(key_file)
            .env("CONFIDE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(dir) = static_dir {
            command.arg("--static-dir").arg(dir);
        }
        if let Some(shard) = shard {
            command.arg("--shard").arg(shard);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stdout = child
            .stdout
            .take()
            .unwrap_or_else(|| panic!("{name}: no stdout"));
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        let _ = lines.read_line(&mut line);
        // "confide relay listening on http://127.0.0.1:PORT/"
        let http = line
            .trim()
            .strip_prefix("confide relay listening on http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .and_then(|a| a.parse::<SocketAddr>().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("{name}: unexpected first line {line:?}")
            });
        assert!(http.ip().is_loopback(), "{name} listens on {http}");
        // Keep reading, so that the relay never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        Node {
            name: name.to_string(),
            http,
            turn_port,
            child: Some(child),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// HAProxy in front of `nodes`: the sample of docs/RELAY.md, on loopback,
/// with an admin socket and checks ten times as often.
fn haproxy_config(lb: SocketAddr, admin_socket: &Path, nodes: &[Node]) -> String {
    let servers: String = nodes
        .iter()
        .map(|n| format!("    server {} {}\n", n.name, n.http))
        .collect();
    format!(
        "global
    maxconn 4096
    stats socket {admin} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    option redispatch
    retries 2

frontend confide
    bind {lb}
    default_backend relays

backend relays
    balance url_param s
    hash-type consistent
    option httpchk GET /healthz
    http-check expect status 200
    default-server check inter 100ms fall 1 rise 1
{servers}",
        admin = admin_socket.display()
    )
}

/// HAProxy with the fixed table of docs/RELAY.md: one backend per node,
/// chosen by the label through the map file `map` (pages without a label go
/// to the first node).
fn haproxy_table_config(lb: SocketAddr, admin_socket: &Path, nodes: &[Node], map: &Path) -> String {
    let backends: String = nodes
        .iter()
        .map(|n| {
            format!(
                "backend {name}
    option httpchk GET /healthz
    http-check expect status 200
    server {name} {addr} check inter 100ms fall 1 rise 1

",
                name = n.name,
                addr = n.http
            )
        })
        .collect();
    format!(
        "global
    maxconn 4096
    stats socket {admin} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h

frontend confide
    bind {lb}
    use_backend %[urlp(s),map({map},{first})]

{backends}",
        admin = admin_socket.display(),
        map = map.display(),
        first = nodes[0].name,
    )
}

/// A plain HTTP/1.0 GET on loopback; the body.
pub fn http_get(addr: SocketAddr, path: &str) -> String {
    assert!(addr.ip().is_loopback(), "not loopback: {addr}");
    let mut stream = TcpStream::connect_timeout(&addr, START)
        .unwrap_or_else(|e| panic!("cannot connect to {addr}: {e}"));
    let _ = stream.set_read_timeout(Some(START));
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")
        .unwrap_or_else(|e| panic!("GET {path} from {addr}: {e}"));
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_else(|| panic!("GET {path} from {addr}: no answer ({response:?})"))
}
