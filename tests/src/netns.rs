//! Real NAT for browser tests (issue 13): network namespaces built by the
//! test itself, so that browsers sit in separate "homes" behind their own
//! address-and-port-dependent (symmetric) NAT, and the relay on a
//! public-looking address in an "internet" namespace.
//!
//! ```text
//!   inet (br0 203.0.113.10, the relay) ── p<i> ══ wan<i> 203.0.113.2<i> ── nat<i> ── lan<i> 10.0.<i>.1 ══ eth0 10.0.<i>.2 ── home<i>
//! ```
//!
//! Each NAT namespace masquerades with `--random-fully` (a new, random
//! mapped port per destination: symmetric NAT, which defeats hole punching)
//! and forwards from the wan side only what belongs to a connection the home
//! opened. IPv6 is off, `lo` is up everywhere (the drivers talk to their
//! browsers over loopback), and there is no management link: the test process
//! reaches into a namespace only through sockets created from a thread that
//! entered it ([`in_netns`]), so no ICE path can bypass the NAT. The host's
//! own interfaces are never touched. Names carry the test's pid; everything
//! is torn down on drop (processes inside first), also after a panic.
//!
//! Needs root, `ip` (iproute2) and `iptables`; [`Topology::build`] fails
//! naming whichever is missing, and proves the NAT symmetric before any
//! browser starts ([`Topology::preflight`]).
// Test helpers: a missing precondition is a failed test, said plainly.
#![allow(clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsFd as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::browser::TempDir;

/// The relay's address in the "internet" namespace.
pub const RELAY_IP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);

/// Where the network tools live when `PATH` lacks the sbin folders.
const SBIN: [&str; 4] = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// What a home's router lets out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HomeOptions {
    /// Only TCP to port 443 leaves the home; UDP is refused at once (ICMP
    /// port unreachable) and other TCP ports are reset, as on networks that
    /// allow HTTPS only.
    pub only_tcp_443: bool,
}

/// One home: a NAT namespace and the home namespace behind it.
#[derive(Clone, Debug)]
pub struct Home {
    /// 1-based, as in the addresses.
    pub index: u8,
    /// The home's namespace (browsers and drivers run here).
    pub ns: String,
    /// The NAT router's namespace.
    pub nat_ns: String,
    /// The home's own address (10.0.i.2).
    pub addr: Ipv4Addr,
    /// The NAT's public-looking address (203.0.113.2i).
    pub nat_addr: Ipv4Addr,
    pub options: HomeOptions,
}

/// The namespaces of one test, torn down on drop.
pub struct Topology {
    /// The "internet" namespace, where the relay runs on [`RELAY_IP`].
    pub inet: String,
    pub homes: Vec<Home>,
    /// Every namespace created so far, for teardown.
    created: Vec<String>,
    ip: PathBuf,
}

/// Finds a tool on `PATH` or in the sbin folders.
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(SBIN.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Fails, naming what is missing, unless this process can build namespaces:
/// root, `ip` and `iptables`. Returns the paths of `ip` and `iptables`.
pub fn require_tools() -> (PathBuf, PathBuf) {
    let uid = rustix::process::geteuid();
    assert!(
        uid.is_root(),
        "the NAT tests build network namespaces and need root (effective uid {}): run them as root",
        uid.as_raw()
    );
    let ip = tool("ip").unwrap_or_else(|| {
        panic!("`ip` (iproute2) is missing: install the Debian package iproute2 for the NAT tests")
    });
    let iptables = tool("iptables").unwrap_or_else(|| {
        panic!("`iptables` is missing: install the Debian package iptables for the NAT tests")
    });
    (ip, iptables)
}

/// Runs a command, failing with its output when it does not succeed.
fn run(program: &Path, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    assert!(
        output.status.success(),
        "`{} {}` failed ({}): {}{}",
        program.display(),
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `f` on a new thread that entered the network namespace `ns` first;
/// every socket `f` creates stays in `ns` for its whole life, whichever
/// thread uses it later.
pub fn in_netns<T: Send>(
    ns: &str,
    f: impl FnOnce() -> std::io::Result<T> + Send,
) -> std::io::Result<T> {
    let file = std::fs::File::open(Path::new("/run/netns").join(ns))?;
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                rustix::thread::move_into_link_name_space(
                    file.as_fd(),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )?;
                f()
            })
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the namespace thread panicked")))
    })
}

/// Namespaces named `<prefix><pid>…` that earlier test runs left behind
/// when their process was killed before its drop ran: the processes inside
/// are killed and the namespaces removed, so that they do not pile up.
pub fn remove_orphans(ip: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            kill_inside(ip, &name);
            let _ = Command::new(ip)
                .args(["netns", "del", &name])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Kills every process in namespace `ns` (all of them were started by this test).
fn kill_inside(ip: &Path, ns: &str) {
    let Ok(output) = Command::new(ip).args(["netns", "pids", ns]).output() else {
        return;
    };
    for pid in String::from_utf8_lossy(&output.stdout).split_whitespace() {
        if pid.parse::<u32>().is_ok() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
}

impl Topology {
    /// Builds the "internet" and one home (with its NAT) per entry of
    /// `homes`, then runs [`Topology::preflight`].
    pub fn build(homes: &[HomeOptions]) -> Topology {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let (ip, iptables) = require_tools();
        remove_orphans(&ip, "cfnat");
        let run_id = format!(
            "cfnat{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut topology = Topology {
            inet: format!("{run_id}-inet"),
            homes: Vec::new(),
            created: Vec::new(),
            ip: ip.clone(),
        };
        let ip_path = ip;
        let ip = |args: &[&str]| run(&ip_path, args);
        let exec = |ns: &str, program: &Path, args: &[&str]| {
            let program = program.display().to_string();
            let mut all = vec!["netns", "exec", ns, &program];
            all.extend_from_slice(args);
            run(&ip_path, &all);
        };
        let sh = PathBuf::from("/bin/sh");
        // Writes a sysctl through /proc/sys as seen from inside `ns`.
        let sysctl = |ns: &str, key: &str, value: &str| {
            let file = format!("/proc/sys/{}", key.replace('.', "/"));
            exec(ns, &sh, &["-c", &format!("echo {value} > {file}")]);
        };
        let namespace = |topology: &mut Topology, ns: &str| {
            ip(&["netns", "add", ns]);
            topology.created.push(ns.to_string());
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1");
            sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1");
        };

        let inet = topology.inet.clone();
        namespace(&mut topology, &inet);
        ip(&["-n", &inet, "link", "add", "br0", "type", "bridge"]);
        ip(&[
            "-n",
            &inet,
            "addr",
            "add",
            &format!("{RELAY_IP}/24"),
            "dev",
            "br0",
        ]);
        ip(&["-n", &inet, "link", "set", "br0", "up"]);

        for (k, options) in homes.iter().enumerate() {
            let i = u8::try_from(k + 1).expect("fewer than 256 homes");
            let home = Home {
                index: i,
                ns: format!("{run_id}-home{i}"),
                nat_ns: format!("{run_id}-nat{i}"),
                addr: Ipv4Addr::new(10, 0, i, 2),
                nat_addr: Ipv4Addr::new(203, 0, 113, 20 + i),
                options: *options,
            };
            let (nat, ns) = (home.nat_ns.clone(), home.ns.clone());
            namespace(&mut topology, &nat);
            namespace(&mut topology, &ns);
            let (wan, lan, port) = (format!("wan{i}"), format!("lan{i}"), format!("p{i}"));
            // wan<i> (NAT) ══ p<i> (internet bridge)
            ip(&[
                "link", "add", &wan, "netns", &nat, "type", "veth", "peer", "name", &port, "netns",
                &inet,
            ]);
            ip(&["-n", &inet, "link", "set", &port, "master", "br0", "up"]);
            ip(&[
                "-n",
                &nat,
                "addr",
                "add",
                &format!("{}/24", home.nat_addr),
                "dev",
                &wan,
            ]);
            ip(&["-n", &nat, "link", "set", &wan, "up"]);
            // lan<i> (NAT) ══ eth0 (home)
            ip(&[
                "link", "add", &lan, "netns", &nat, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ]);
            ip(&[
                "-n",
                &nat,
                "addr",
                "add",
                &format!("10.0.{i}.1/24"),
                "dev",
                &lan,
            ]);
            ip(&["-n", &nat, "link", "set", &lan, "up"]);
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", home.addr),
                "dev",
                "eth0",
            ]);
            ip(&["-n", &ns, "link", "set", "eth0", "up"]);
            ip(&[
                "-n",
                &ns,
                "route",
                "add",
                "default",
                "via",
                &format!("10.0.{i}.1"),
            ]);
            sysctl(&nat, "net.ipv4.ip_forward", "1");
            let ipt = |args: &[&str]| exec(&nat, &iptables, args);
            ipt(&[
                "-t",
                "nat",
                "-A",
                "POSTROUTING",
                "-o",
                &wan,
                "-j",
                "MASQUERADE",
                "--random-fully",
            ]);
            ipt(&["-P", "FORWARD", "DROP"]);
            ipt(&["-A", "FORWARD", "-i", &lan, "-o", &wan, "-j", "ACCEPT"]);
            ipt(&[
                "-A",
                "FORWARD",
                "-i",
                &wan,
                "-o",
                &lan,
                "-m",
                "conntrack",
                "--ctstate",
                "ESTABLISHED,RELATED",
                "-j",
                "ACCEPT",
            ]);
            // Counts (no target) UDP that reaches the NAT itself from the
            // internet: packets for which no mapping exists, such as another
            // home's connectivity checks to this home's server-reflexive
            // address (a mapping made towards the STUN server only).
            ipt(&["-A", "INPUT", "-i", &wan, "-p", "udp"]);
            if options.only_tcp_443 {
                // REJECT, not DROP: the browser gives up on UDP at once.
                ipt(&[
                    "-I",
                    "FORWARD",
                    "1",
                    "-i",
                    &lan,
                    "-p",
                    "udp",
                    "-j",
                    "REJECT",
                    "--reject-with",
                    "icmp-port-unreachable",
                ]);
                ipt(&[
                    "-I",
                    "FORWARD",
                    "2",
                    "-i",
                    &lan,
                    "-p",
                    "tcp",
                    "!",
                    "--dport",
                    "443",
                    "-j",
                    "REJECT",
                    "--reject-with",
                    "tcp-reset",
                ]);
            }
            topology.homes.push(home);
        }
        topology.preflight();
        topology
    }

    /// Proves the NAT is what the tests claim, before any browser starts:
    /// one socket in each home (UDP allowed) sending to two ports in the
    /// internet comes out from the NAT's address with two different mapped
    /// ports (address-and-port-dependent mapping: symmetric NAT), never
    /// with the home's own address; a home with only TCP 443 gets no UDP out.
    pub fn preflight(&self) {
        for home in &self.homes {
            let listeners = in_netns(&self.inet, || {
                let a = UdpSocket::bind((RELAY_IP, 0))?;
                let b = UdpSocket::bind((RELAY_IP, 0))?;
                for socket in [&a, &b] {
                    socket.set_read_timeout(Some(Duration::from_secs(2)))?;
                }
                Ok((a, b))
            })
            .unwrap_or_else(|e| panic!("cannot open UDP sockets in {}: {e}", self.inet));
            let targets = [
                listeners.0.local_addr().expect("a local address"),
                listeners.1.local_addr().expect("a local address"),
            ];
            let sender = in_netns(&home.ns, || UdpSocket::bind((home.addr, 0)))
                .unwrap_or_else(|e| panic!("cannot open a UDP socket in {}: {e}", home.ns));
            let mut seen: Vec<SocketAddr> = Vec::new();
            for (target, listener) in targets.iter().zip([&listeners.0, &listeners.1]) {
                // A few tries: the first packet can be lost while ARP resolves.
                let mut from = None;
                for _ in 0..5 {
                    let _ = sender.send_to(b"confide preflight", target);
                    let mut buf = [0u8; 64];
                    if let Ok((_, source)) = listener.recv_from(&mut buf) {
                        from = Some(source);
                        break;
                    }
                    if home.options.only_tcp_443 {
                        break;
                    }
                }
                if home.options.only_tcp_443 {
                    assert_eq!(
                        from, None,
                        "home {} allows only TCP 443 out, yet UDP reached the internet",
                        home.index
                    );
                    continue;
                }
                let from = from.unwrap_or_else(|| {
                    panic!(
                        "no UDP from home {} reached the internet at {target}: the NAT does not forward",
                        home.index
                    )
                });
                seen.push(from);
            }
            if home.options.only_tcp_443 {
                continue;
            }
            let sent_from = sender.local_addr().expect("a local address");
            println!(
                "NAT preflight, home {}: {sent_from} came out as {} and {}",
                home.index, seen[0], seen[1]
            );
            for from in &seen {
                assert_eq!(
                    from.ip(),
                    std::net::IpAddr::V4(home.nat_addr),
                    "home {}'s packets leave with the NAT's address, not the home's",
                    home.index
                );
            }
            assert_ne!(
                seen[0].port(),
                seen[1].port(),
                "the NAT of home {} is not symmetric: one socket got the same mapped port \
                 towards two destinations ({} and {}), so hole punching could succeed; \
                 iptables' MASQUERADE --random-fully is needed",
                home.index,
                seen[0],
                seen[1]
            );
        }
    }

    /// How many UDP packets from the internet reached home `index`'s NAT
    /// without a mapping (see the counting rule in [`Topology::build`]).
    pub fn unmapped_udp(&self, index: u8) -> u64 {
        let home = &self.homes[usize::from(index) - 1];
        let iptables = require_tools().1;
        let output = Command::new(&self.ip)
            .args(["netns", "exec", &home.nat_ns])
            .arg(&iptables)
            .args(["-L", "INPUT", "-v", "-n", "-x"])
            .output()
            .unwrap_or_else(|e| panic!("cannot read the counters of {}: {e}", home.nat_ns));
        let wan = format!("wan{index}");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            // The protocol column says `udp`, or `17` with `-n`.
            .find(|fields| {
                (fields.contains(&"udp") || fields.contains(&"17"))
                    && fields.contains(&wan.as_str())
            })
            .and_then(|fields| fields.first().and_then(|n| n.parse().ok()))
            .unwrap_or_else(|| panic!("no UDP counter for {wan} in {}", home.nat_ns))
    }

    /// Starts `program` with `args` inside namespace `ns` (through `ip netns
    /// exec`), in its own process group; see [`NsProcess`].
    pub fn spawn(&self, ns: &str, program: &Path, args: &[String], log: &Path) -> NsProcess {
        spawn_in(&self.ip, ns, program, args, log)
    }
}

/// Starts `program` inside `ns` in a process group of its own, its output
/// appended to `log`.
pub fn spawn_in(ip: &Path, ns: &str, program: &Path, args: &[String], log: &Path) -> NsProcess {
    let file = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("cannot open the log {}: {e}", log.display()))
    };
    let child = Command::new(ip)
        .process_group(0)
        .args(["netns", "exec", ns])
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(file()))
        .stderr(Stdio::from(file()))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {} in {ns}: {e}", program.display()));
    NsProcess { child }
}

/// The path of `ip`, for starting processes in a namespace.
pub fn ip_tool() -> PathBuf {
    require_tools().0
}

/// A process started in a namespace; its whole process group is killed on drop.
pub struct NsProcess {
    pub child: Child,
}

impl NsProcess {
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }
}

impl Drop for NsProcess {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for ns in self.created.iter().rev() {
            kill_inside(&self.ip, ns);
        }
        for ns in self.created.iter().rev() {
            // A namespace whose processes are still exiting can refuse once.
            for _ in 0..20 {
                let done = Command::new(&self.ip)
                    .args(["netns", "del", ns])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success());
                if done || !Path::new("/run/netns").join(ns).exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// Waits until something accepts TCP connections at `addr` inside `ns`.
pub async fn wait_for_tcp(ns: &str, addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let ns = ns.to_string();
        let connected = tokio::task::spawn_blocking(move || {
            in_netns(&ns, || {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500))
            })
        })
        .await
        .is_ok_and(|r| r.is_ok());
        if connected {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TCP forwarder from 127.0.0.1:`port` in the test's own namespace to
/// 127.0.0.1:`port` inside `ns`: how fantoccini reaches a WebDriver server
/// that runs in a home. Each upstream socket is opened from a thread that
/// entered `ns`. The same port on both sides, because geckodriver refuses
/// requests whose `Host` header names another port than its own. Stops
/// accepting on drop.
pub struct NsForward {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl NsForward {
    pub async fn start(ns: &str, port: u16) -> NsForward {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap_or_else(|e| {
                panic!("cannot bind the forwarder into {ns} on 127.0.0.1:{port}: {e}")
            });
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let ns = ns.to_string();
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let ns = ns.clone();
                tokio::spawn(async move {
                    let upstream = tokio::task::spawn_blocking(move || {
                        in_netns(&ns, || {
                            let stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
                            stream.set_nonblocking(true)?;
                            Ok(stream)
                        })
                    })
                    .await;
                    let Ok(Ok(upstream)) = upstream else { return };
                    let Ok(mut upstream) = tokio::net::TcpStream::from_std(upstream) else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        NsForward { addr, task }
    }
}

impl Drop for NsForward {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The relay binary (`confide-relay`) running inside the "internet"
/// namespace on [`RELAY_IP`]:443 with HTTPS from a per-run certificate,
/// serving the test build of the app.
pub struct NsRelay {
    pub url: String,
    log: PathBuf,
    process: NsProcess,
    _dir: TempDir,
}

/// The relay binary: `CONFIDE_RELAY_BIN`, else `confide-relay` in this
/// test's target folder (`target/debug/confide-relay`, which `cargo xtask
/// test` builds before the browser tests). Fails when it is missing or older
/// than the relay's or the shared crate's sources, naming the command that
/// builds it (a stale relay would test yesterday's code). Checked once per
/// test process: sources edited while the tests run do not fail the later ones.
pub fn relay_binary() -> PathBuf {
    static CHECKED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CHECKED.get_or_init(find_relay_binary).clone()
}

fn find_relay_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("CONFIDE_RELAY_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    // target/debug/deps/<test> → target/debug/confide-relay
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("confide-relay"))
        .expect("the target folder");
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| {
            panic!(
                "confide-relay is not built at {} ({e}): run `cargo build -p confide-relay` \
                 (or `cargo xtask test`), or set CONFIDE_RELAY_BIN",
                path.display()
            )
        });
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for dir in ["relay/src", "relay/Cargo.toml", "shared/src"] {
        if let Some((newest, file)) = newest_file(&root.join(dir))
            && newest > built
        {
            panic!(
                "confide-relay at {} is older than {}: run `cargo build -p confide-relay` first",
                path.display(),
                file.display()
            );
        }
    }
    path
}

/// The most recently modified Rust source or manifest under `path` (or
/// `path` itself); other files (an editor's backup) do not make a build stale.
fn newest_file(path: &Path) -> Option<(std::time::SystemTime, PathBuf)> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_dir() {
        let name = path.file_name()?.to_string_lossy();
        if !(name.ends_with(".rs") || name == "Cargo.toml") {
            return None;
        }
        return Some((meta.modified().ok()?, path.to_path_buf()));
    }
    std::fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|entry| newest_file(&entry.path()))
        .max_by_key(|(time, _)| *time)
}

/// The relay's `--help`, to see which flags this tree's relay has.
pub fn relay_help(binary: &Path) -> String {
    let output = Command::new(binary)
        .arg("--help")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} --help: {e}", binary.display()));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl NsRelay {
    /// Starts the relay in `topology`'s internet with `extra` flags after
    /// the listen, TLS and static-dir flags.
    pub async fn start(topology: &Topology, binary: &Path, dist: &Path, extra: &[&str]) -> NsRelay {
        let dir = TempDir::new("confide-nat-relay");
        let certified = rcgen::generate_simple_self_signed(vec![RELAY_IP.to_string()])
            .expect("a self-signed certificate");
        let (cert, key) = (dir.path.join("cert.pem"), dir.path.join("key.pem"));
        std::fs::write(&cert, certified.cert.pem()).expect("write the certificate");
        std::fs::write(&key, certified.signing_key.serialize_pem()).expect("write the key");
        let mut args: Vec<String> = vec![
            "--listen".into(),
            format!("{RELAY_IP}:443"),
            "--tls-cert".into(),
            cert.display().to_string(),
            "--tls-key".into(),
            key.display().to_string(),
            "--static-dir".into(),
            dist.display().to_string(),
            // The test key: counsellors sign in with `relay::counsellor_link`.
            "--counsellor-key-file".into(),
            crate::relay::counsellor_key_file().display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let log = dir.path.join("relay.log");
        let mut process = topology.spawn(&topology.inet, binary, &args, &log);
        let listening = wait_for_tcp(
            &topology.inet,
            SocketAddr::from((RELAY_IP, 443)),
            Duration::from_secs(20),
        )
        .await;
        if !listening || process.has_exited() {
            panic!(
                "the relay did not listen on {RELAY_IP}:443 in {} (args {args:?}); its log:\n{}",
                topology.inet,
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        NsRelay {
            url: format!("https://{RELAY_IP}/"),
            log,
            process,
            _dir: dir,
        }
    }

    /// What the relay printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn is_running(&mut self) -> bool {
        !self.process.has_exited()
    }
}
