//! `cargo xtask bench turn`: the built-in TURN server against coturn, side
//! by side in one run, with the same load generator and settings.
//!
//! Both servers run in a network namespace this bench creates (a veth pair
//! inside it: the servers on 203.0.113.10, the load generator on
//! 203.0.113.20, TEST-NET-3 addresses that are no one's), so not a packet
//! leaves it. The generator is coturn's `turnutils_uclient`, in two modes:
//!
//! - client to client (`-y`): every message goes from one client's
//!   allocation to another's on the same server, which is what two browsers
//!   relayed through one confide server do (confide hands such packets over
//!   inside the process; coturn sends them from one relayed socket to the
//!   other through the kernel);
//! - to an outside peer: every message goes out of a relayed socket to
//!   `turnutils_peer` (an echo server in a second namespace, on
//!   198.51.100.2 behind a second veth pair, so not an address of the
//!   server) and its echo comes back in through that socket, which is a
//!   browser relayed to one that is not.
//!
//! Each server gets the same runs, alternating, and we compare
//! **end-to-end delivered packets per CPU-second of the server process**
//! (utime + stime of all its threads, from `/proc/<pid>/stat`), the figure
//! that decides how many relayed calls one machine carries. Needs root,
//! iproute2 and the `coturn` package.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::{cpu_seconds, median, relay_binary};

const SERVER_IP: &str = "203.0.113.10";
const CLIENT_IP: &str = "203.0.113.20";
/// The outside peer (TEST-NET-2) and the bench namespace's side of its link.
const PEER_IP: &str = "198.51.100.2";
const PEER_GATEWAY: &str = "198.51.100.1";
const PEER_PORT: u16 = 3480;
const SECRET: &str = "confide-bench-secret";
const COTURN_PORT: u16 = 3478;
const CONFIDE_PORT: u16 = 3479;

/// One load: `clients` allocation pairs (client to client) or allocations
/// (to the outside peer, which echoes), `messages` per client of `size`
/// bytes every `interval_ms`.
#[derive(Clone, Copy)]
struct Load {
    clients: u32,
    messages: u32,
    size: u32,
    interval_ms: u32,
    to_peer: bool,
}

impl Load {
    fn describe(&self) -> String {
        let how = if self.to_peer {
            "to an outside echo peer and back"
        } else {
            "client to client"
        };
        format!(
            "{} clients x {} messages of {} B every {} ms, {how}",
            self.clients, self.messages, self.size, self.interval_ms
        )
    }
}

/// What one run of the generator against one server measured.
struct Sample {
    delivered: u64,
    lost: u64,
    cpu_s: f64,
    wall_s: f64,
    bytes: u64,
}

/// The bench's network namespaces: one with a veth pair inside (servers
/// and generator), and the outside peer's behind a second veth pair; both
/// deleted on drop.
struct Namespace {
    name: String,
    peer: String,
}

impl Namespace {
    fn create() -> Result<Namespace, String> {
        let name = format!("cfbench{}", std::process::id());
        let peer = format!("cfbenchpeer{}", std::process::id());
        ip(&["netns", "add", &name])?;
        let mut ns = Namespace {
            name,
            peer: String::new(),
        };
        ip(&["netns", "add", &peer])?;
        ns.peer = peer;
        ns.ip(&["link", "set", "lo", "up"])?;
        ns.ip(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"])?;
        ns.ip(&["addr", "add", &format!("{SERVER_IP}/24"), "dev", "v0"])?;
        ns.ip(&["addr", "add", &format!("{CLIENT_IP}/24"), "dev", "v1"])?;
        ns.ip(&["link", "set", "v0", "up"])?;
        ns.ip(&["link", "set", "v1", "up"])?;
        ns.ip(&[
            "link", "add", "p0", "type", "veth", "peer", "name", "p1", "netns", &ns.peer,
        ])?;
        ns.ip(&["addr", "add", &format!("{PEER_GATEWAY}/24"), "dev", "p0"])?;
        ns.ip(&["link", "set", "p0", "up"])?;
        let in_peer = |args: &[&str]| {
            let mut all = vec!["-n", ns.peer.as_str()];
            all.extend_from_slice(args);
            ip(&all)
        };
        in_peer(&["link", "set", "lo", "up"])?;
        in_peer(&["addr", "add", &format!("{PEER_IP}/24"), "dev", "p1"])?;
        in_peer(&["link", "set", "p1", "up"])?;
        in_peer(&["route", "add", "default", "via", PEER_GATEWAY])?;
        Ok(ns)
    }

    fn ip(&self, args: &[&str]) -> Result<(), String> {
        let mut all = vec!["-n", self.name.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// `program args…` inside the namespace.
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name, program]);
        command
    }

    /// The echo peer (`turnutils_peer`) in the peer's namespace, killed on drop.
    fn start_peer(&self) -> Result<Server, String> {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.peer, "turnutils_peer", "-L", PEER_IP])
            .args(["-p", &PEER_PORT.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start turnutils_peer (install coturn): {e}"))?;
        Ok(Server { child })
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        for name in [&self.name, &self.peer] {
            if !name.is_empty() {
                let _ = Command::new("ip").args(["netns", "del", name]).status();
            }
        }
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip` (install iproute2): {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {} (the TURN bench needs root)",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// A server process in the namespace, killed on drop.
struct Server {
    child: Child,
}

impl Server {
    fn cpu_seconds(&self) -> Result<f64, String> {
        cpu_seconds(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Which {
    Coturn,
    Confide,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Coturn => "coturn",
            Which::Confide => "confide",
        }
    }

    fn port(self) -> u16 {
        match self {
            Which::Coturn => COTURN_PORT,
            Which::Confide => CONFIDE_PORT,
        }
    }
}

fn start(ns: &Namespace, which: Which, relay: &Path) -> Result<Server, String> {
    let mut command = match which {
        Which::Coturn => {
            let mut c = ns.command("turnserver");
            c.args([
                "-n",
                "--listening-ip",
                SERVER_IP,
                "--listening-port",
                &COTURN_PORT.to_string(),
                "--relay-ip",
                SERVER_IP,
                "--use-auth-secret",
                "--static-auth-secret",
                SECRET,
                "--realm",
                "confide",
                "--no-tls",
                "--no-dtls",
                "--min-port",
                "50000",
                "--max-port",
                "54999",
                "--no-cli",
                "--no-stdout-log",
                "--log-file",
                "/dev/null",
            ]);
            c
        }
        Which::Confide => {
            let mut c = ns.command(&relay.to_string_lossy());
            c.args([
                "--listen",
                &format!("{SERVER_IP}:8443"),
                "--turn",
                "on",
                "--turn-listen",
                &format!("{SERVER_IP}:{CONFIDE_PORT}"),
                "--public-ip",
                SERVER_IP,
                "--turn-secret",
                SECRET,
                "--relay-ports",
                "55000-59999",
                // The generator uses one credential for every client, and
                // sends faster than one call: lift the per-call limits.
                "--turn-max-allocations-per-credential",
                "1000",
                "--turn-bandwidth",
                "1000000000",
            ]);
            c
        }
    };
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", which.name()))?;
    let server = Server { child };
    wait_for_stun(ns, which.port())?;
    Ok(server)
}

/// Waits until the server answers a STUN Binding request (from inside the
/// namespace, through `turnutils_stunclient` runs of at most a second).
fn wait_for_stun(ns: &Namespace, port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        // The STUN client retries for ever while nothing answers.
        let ok = ns
            .command("timeout")
            .args([
                "1",
                "turnutils_stunclient",
                "-p",
                &port.to_string(),
                SERVER_IP,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(200));
    }
    Err(format!("no STUN answer on {SERVER_IP}:{port} within 10 s"))
}

fn generate(ns: &Namespace, server: &Server, port: u16, load: Load) -> Result<Sample, String> {
    let cpu_before = server.cpu_seconds()?;
    let started = Instant::now();
    let mut command = ns.command("turnutils_uclient");
    if load.to_peer {
        command.args(["-e", PEER_IP, "-r", &PEER_PORT.to_string()]);
    } else {
        command.arg("-y");
    }
    let output = command
        .args([
            "-c",
            "-X",
            "-m",
            &load.clients.to_string(),
            "-n",
            &load.messages.to_string(),
            "-l",
            &load.size.to_string(),
            "-z",
            &load.interval_ms.to_string(),
            "-W",
            SECRET,
            "-u",
            "bench",
            "-L",
            CLIENT_IP,
            "-p",
            &port.to_string(),
            SERVER_IP,
        ])
        .output()
        .map_err(|e| format!("cannot run turnutils_uclient (install coturn): {e}"))?;
    let wall_s = started.elapsed().as_secs_f64();
    let cpu_s = server.cpu_seconds()? - cpu_before;
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    parse_uclient(&text, cpu_s, wall_s).ok_or_else(|| {
        let tail: Vec<&str> = text.lines().rev().take(8).collect();
        format!(
            "turnutils_uclient did not finish on port {port}: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        )
    })
}

/// The generator's totals: `tot_recv_msgs=…`, `tot_recv_bytes ~ …`, `Total
/// lost packets N`.
fn parse_uclient(text: &str, cpu_s: f64, wall_s: f64) -> Option<Sample> {
    let after = |key: &str| -> Option<u64> {
        let line = text.lines().rev().find(|l| l.contains(key))?;
        let rest = &line[line.find(key)? + key.len()..];
        let digits: String = rest
            .trim_start_matches([' ', '=', '~'])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    if !text.contains("Total lost packets") {
        return None;
    }
    Some(Sample {
        delivered: after("tot_recv_msgs")?,
        lost: after("Total lost packets")?,
        bytes: after("tot_recv_bytes")?,
        cpu_s,
        wall_s,
    })
}

pub(super) fn run() -> Result<(), String> {
    for tool in [
        "turnserver",
        "turnutils_uclient",
        "turnutils_stunclient",
        "turnutils_peer",
    ] {
        if Command::new(tool).arg("-h").output().is_err() {
            return Err(format!(
                "`{tool}` not found: install the `coturn` package (apt-get install coturn)"
            ));
        }
    }
    let relay = relay_binary()?;
    let ns = Namespace::create()?;
    let _peer = ns.start_peer()?;
    let loads = [
        // Audio-like: many small packets.
        Load {
            clients: 20,
            messages: 1500,
            size: 160,
            interval_ms: 5,
            to_peer: false,
        },
        // Video-like: fewer, larger packets.
        Load {
            clients: 10,
            messages: 1500,
            size: 1100,
            interval_ms: 5,
            to_peer: false,
        },
        // Video-like, through relayed sockets to a peer outside and back.
        Load {
            clients: 10,
            messages: 1500,
            size: 1100,
            interval_ms: 5,
            to_peer: true,
        },
    ];
    println!(
        "\nTURN relaying, coturn {} vs confide-relay, turnutils_uclient, 3 alternating runs each:",
        coturn_version()
    );
    for load in loads {
        println!("  load: {}", load.describe());
        let mut per_cpu = [Vec::new(), Vec::new()];
        let mut mbit = [Vec::new(), Vec::new()];
        for rep in 1..=3 {
            for (i, which) in [Which::Coturn, Which::Confide].into_iter().enumerate() {
                let server = start(&ns, which, &relay)?;
                let sample = generate(&ns, &server, which.port(), load)?;
                drop(server);
                let rate = sample.delivered as f64 / sample.cpu_s.max(0.001);
                let mbits = sample.bytes as f64 * 8.0 / sample.wall_s / 1e6;
                println!(
                    "    rep {rep} {:<8} delivered {:>6} lost {:>4}  server CPU {:>6.2} s  wall {:>5.1} s  {:>8.0} packets/CPU-s  {:>6.1} Mbit/s",
                    which.name(),
                    sample.delivered,
                    sample.lost,
                    sample.cpu_s,
                    sample.wall_s,
                    rate,
                    mbits
                );
                per_cpu[i].push(rate);
                mbit[i].push(mbits);
            }
        }
        let coturn = median(&mut per_cpu[0]);
        let confide = median(&mut per_cpu[1]);
        println!(
            "    median packets per server CPU-second: coturn {coturn:.0}, confide {confide:.0} -> confide/coturn {:.2}x (target >= 0.8x); delivered Mbit/s coturn {:.1}, confide {:.1}",
            confide / coturn,
            median(&mut mbit[0]),
            median(&mut mbit[1])
        );
    }
    Ok(())
}

fn coturn_version() -> String {
    Command::new("turnserver")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generators_totals_are_read() {
        let text = "8: : start_mclient: tot_send_msgs=5000, tot_recv_msgs=4990\n\
                    8: : start_mclient: tot_send_bytes ~ 850000, tot_recv_bytes ~ 848300\n\
                    8: : Total transmit time is 8\n\
                    8: : Total lost packets 10 (0.200000%), total send dropped 0 (0.000000%)\n";
        let sample = parse_uclient(text, 2.0, 8.0).expect("totals");
        assert_eq!(sample.delivered, 4990);
        assert_eq!(sample.bytes, 848_300);
        assert_eq!(sample.lost, 10);
        assert!(parse_uclient("0: : error 508 (Insufficient Capacity)", 1.0, 1.0).is_none());
    }
}
