//! `cargo xtask bench shard`: relay forwarding through HAProxy in front of
//! 1, 2 and 3 relay nodes, next to one node without HAProxy, with the same
//! client load, side by side in one run (docs/BENCHMARKS.md, "Several relay
//! nodes").
//!
//! Three release relays share one counsellor key file; three HAProxy
//! processes route by the shard label (`balance url_param s`, `hash-type
//! consistent`, the sample of docs/RELAY.md) to the first one, two or three
//! of them. Each repetition runs the same load through each set-up in turn
//! (the forwarding run of `cargo xtask bench relay-fwd`, every room's
//! connections carrying its label), so a busy moment of this shared
//! machine hits all set-ups alike. Everything is on loopback: the nodes
//! share two cores with HAProxy and the load generator, so this shows what
//! HAProxy costs and that splitting rooms over nodes loses nothing, not
//! what more machines would add. Needs the `haproxy` package.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{Relay, forward, median, relay_binary};

/// Rooms, members per room, broadcasts per member (1 KB each).
const LOAD: (usize, usize, u64) = (12, 2, 5_000);
const REPS: usize = 5;

/// One HAProxy process in front of some nodes.
struct Balancer {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A folder removed at the end.
struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(super) fn run() -> Result<(), String> {
    let haproxy = find_haproxy()?;
    let binary = relay_binary()?;
    let folder =
        Folder(std::env::temp_dir().join(format!("confide-bench-shard-{}", std::process::id())));
    std::fs::create_dir_all(&folder.0).map_err(|e| format!("{}: {e}", folder.0.display()))?;
    // A key for this run only (loopback; the nodes must share one).
    let key_file = folder.0.join("counsellor.key");
    let key: String = (0..32)
        .map(|i| format!("{:02x}", (i * 37 + std::process::id()) as u8))
        .collect();
    std::fs::write(&key_file, key).map_err(|e| format!("{}: {e}", key_file.display()))?;
    let key_arg = key_file.display().to_string();
    let counsellor = sign_in(&binary, &key_arg)?;
    let flags = ["--counsellor-key-file", key_arg.as_str(), "--metrics"];
    let nodes = (0..3)
        .map(|_| Relay::start_with(&binary, &flags, Some(&counsellor)))
        .collect::<Result<Vec<Relay>, String>>()?;
    let balancers = (1..=3)
        .map(|k| start_balancer(&haproxy, &folder.0, k, &nodes[..k]))
        .collect::<Result<Vec<Balancer>, String>>()?;

    // (name, address the clients use, processes whose CPU time counts, nodes behind it)
    let node_pids: Vec<u32> = nodes.iter().map(|n| n.child.id()).collect();
    let mut setups: Vec<(String, SocketAddr, Vec<u32>, usize)> = vec![(
        "1 node, no HAProxy".into(),
        nodes[0].addr,
        vec![node_pids[0]],
        1,
    )];
    for (k, balancer) in balancers.iter().enumerate() {
        let mut pids = node_pids[..=k].to_vec();
        pids.push(balancer.child.id());
        setups.push((
            format!("HAProxy + {} node{}", k + 1, if k == 0 { "" } else { "s" }),
            balancer.addr,
            pids,
            k + 1,
        ));
    }

    let (rooms, members, per_member) = LOAD;
    println!(
        "\nForwarding through HAProxy, {rooms} rooms x {members} members, {per_member} broadcasts \
         of 1 KB per member, each set-up in turn, {REPS} repetitions ({}):",
        haproxy_version(&haproxy)
    );
    let mut rates = vec![Vec::new(); setups.len()];
    let mut per_cpu = vec![Vec::new(); setups.len()];
    let mut spread = vec![vec![0u64; 3]; setups.len()];
    let mut room_seq = 0u32;
    for rep in 1..=REPS {
        for (i, (name, addr, pids, behind)) in setups.iter().enumerate() {
            let before = rooms_created(&nodes)?;
            let (rate, cpu) = forward(
                *addr,
                pids,
                &counsellor,
                &mut room_seq,
                rooms,
                members,
                per_member,
            )?;
            let after = rooms_created(&nodes)?;
            for (node, (a, b)) in after.iter().zip(before).enumerate().take(*behind) {
                spread[i][node] += a - b;
            }
            println!("  rep {rep}: {name}: {rate:.0} deliveries/s, {cpu:.0} per CPU-second");
            rates[i].push(rate);
            per_cpu[i].push(cpu);
        }
    }
    println!("  medians (CPU: the nodes behind it and HAProxy):");
    let direct = median(&mut rates[0].clone());
    for (i, (name, _, _, behind)) in setups.iter().enumerate() {
        let rate = median(&mut rates[i]);
        println!(
            "  {name}: {rate:.0} deliveries/s ({:.2}x the node without HAProxy), {:.0} per CPU-second; rooms per node {:?}",
            rate / direct,
            median(&mut per_cpu[i]),
            &spread[i][..*behind]
        );
    }
    Ok(())
}

/// HAProxy's program, or an error naming the package.
fn find_haproxy() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("haproxy"))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| "the shard bench needs HAProxy: install the Debian package `haproxy`".into())
}

fn haproxy_version(haproxy: &Path) -> String {
    Command::new(haproxy)
        .arg("-v")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|text| text.lines().next().map(|l| l.trim().to_string()))
        .unwrap_or_else(|| "HAProxy, version unknown".into())
}

/// A counsellor sign-in made with the key file (`confide-relay counsellor add`).
fn sign_in(binary: &Path, key_file: &str) -> Result<String, String> {
    let output = Command::new(binary)
        .args([
            "--counsellor-key-file",
            key_file,
            "counsellor",
            "add",
            "bench",
        ])
        .args(["--url", "http://127.0.0.1/"])
        .output()
        .map_err(|e| format!("confide-relay counsellor add: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.lines()
        .find_map(|line| {
            line.trim()
                .split_once("#counsellor=")
                .map(|(_, t)| t.to_string())
        })
        .ok_or_else(|| format!("no sign-in link from `confide-relay counsellor add`: {text}"))
}

/// `confide_rooms_created_total` of every node.
fn rooms_created(nodes: &[Relay]) -> Result<Vec<u64>, String> {
    nodes
        .iter()
        .map(|node| {
            let text = http_get(node.addr, "/metrics")?;
            text.lines()
                .find_map(|l| {
                    l.strip_prefix("confide_rooms_created_total ")?
                        .trim()
                        .parse()
                        .ok()
                })
                .ok_or_else(|| format!("no confide_rooms_created_total from {}", node.addr))
        })
        .collect()
}

fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| e.to_string())?;
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    Ok(text)
}

/// HAProxy in front of `nodes` (the docs/RELAY.md sample), up once it sees all of them up.
fn start_balancer(
    haproxy: &Path,
    folder: &Path,
    k: usize,
    nodes: &[Relay],
) -> Result<Balancer, String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| format!("no free port: {e}"))?
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let socket = folder.join(format!("admin{k}.sock"));
    let servers: String = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| format!("    server relay{} {}\n", i + 1, n.addr))
        .collect();
    let config = format!(
        "global\n    maxconn 4096\n    stats socket {} mode 600 level admin\n\n\
         defaults\n    mode http\n    timeout connect 2s\n    timeout client 10m\n    \
         timeout server 10m\n    timeout tunnel 1h\n\n\
         frontend confide\n    bind {addr}\n    default_backend relays\n\n\
         backend relays\n    balance url_param s\n    hash-type consistent\n    \
         option httpchk GET /healthz\n    http-check expect status 200\n    \
         default-server check inter 1s fall 2 rise 1\n{servers}",
        socket.display()
    );
    let file = folder.join(format!("haproxy{k}.cfg"));
    std::fs::write(&file, config).map_err(|e| format!("{}: {e}", file.display()))?;
    let child = Command::new(haproxy)
        .arg("-db")
        .arg("-f")
        .arg(&file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", haproxy.display()))?;
    let balancer = Balancer { child, addr };
    let started = Instant::now();
    while up_servers(&socket) < nodes.len() {
        if started.elapsed() > Duration::from_secs(20) {
            return Err(format!(
                "HAProxy {k} does not see its {} nodes up",
                nodes.len()
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(balancer)
}

/// How many servers HAProxy's `show stat` reports UP.
fn up_servers(socket: &Path) -> usize {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return 0;
    };
    let mut text = String::new();
    if stream.write_all(b"show stat\n").is_err() || stream.read_to_string(&mut text).is_err() {
        return 0;
    }
    text.lines()
        .filter(|l| l.starts_with("relays,relay") && l.split(',').any(|f| f == "UP"))
        .count()
}
