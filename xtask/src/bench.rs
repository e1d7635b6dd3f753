//! `cargo xtask bench [crypto|relay|relay-mem|relay-fwd|all]`: the numbers in `docs/BENCHMARKS.md`.
//!
//! - `crypto`: runs the criterion benches of confide-shared (SFrame per
//!   frame, handshake, envelope) and prints medians, MB/s, the ChaCha/AES
//!   ratio per frame size and the share of one core a 4-person call needs.
//! - `relay`: builds the release relay, starts the real binary on
//!   127.0.0.1 (port 0), and measures from outside: RSS per idle WebSocket
//!   connection (`/proc/<pid>/status`) and forwarding throughput for rooms
//!   of 2 and 4 members with 1 KB payloads. Loopback only; every loop is
//!   bounded in count and time, and the relay is stopped at the end.
//!
//! - `turn`: the built-in TURN server against coturn, side by side, in a
//!   network namespace of its own (see `bench/turn.rs`; root, coturn).
//!   Not part of `all`: it needs root and the coturn package.
//! - `signalling`: 5 000 connections in rooms of 4 at the default rate
//!   limits, the relay against a bare tokio-tungstenite forwarder (see
//!   `bench/signalling.rs`). Not part of `all` (a few minutes).
//! - `frames`: the frame-crypto worker's own per-frame path against
//!   WebCrypto AES-GCM, in headless Chromium and Firefox (see
//!   `bench/browser.rs`). Not part of `all` (browsers, a few minutes).
//! - `first-picture`: from the counsellor's "Hereinlassen" to the first
//!   picture on both pages, 10 calls per browser pairing, with the steps in
//!   between (`bench/browser.rs`). Not part of `all`.
//! - `page-load`: a guest opens the link in Chromium emulating a phone's
//!   mobile connection and a 4× slower CPU; time until the device check is
//!   interactive, first and repeat visit (`bench/browser.rs`). Not part of `all`.
//! - `cpu [--secs N]`: CPU of each browser's processes and threads over N s
//!   (60) of a 1:1 and a 4-person call with SFrame, a pass-through
//!   transform, a worker that only pipes frames, and no transform
//!   (`bench/browser.rs`). Not part of `all`.
//! - `shard`: forwarding through HAProxy in front of 1, 2 and 3 relay
//!   nodes, next to one node without HAProxy (see `bench/shard.rs`; the
//!   haproxy package). Not part of `all`.
//!
//! The machine is shared and has 2 cores: every figure is the median of a
//! few repetitions, and the spread is printed next to it.

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use crate::root;

mod browser;
mod shard;
mod signalling;
mod turn;

pub fn run(args: &[String]) -> Result<(), String> {
    let what = args.first().map(String::as_str).unwrap_or("all");
    println!("load before: {}", loadavg());
    match what {
        "crypto" => crypto()?,
        "relay" => {
            relay_memory()?;
            relay_forwarding()?;
        }
        "relay-mem" => relay_memory()?,
        "relay-fwd" => relay_forwarding()?,
        "turn" => turn::run()?,
        "shard" => shard::run()?,
        "frames" => browser::run_bench("frames", false)?,
        "first-picture" => browser::run_bench("first_picture", false)?,
        "page-load" => browser::run_bench("page_load", true)?,
        "cpu" => browser::run_cpu(&args[1..])?,
        "signalling" => signalling::run(&args[1..])?,
        "signalling-forwarder" => signalling::forwarder()?,
        "all" => {
            crypto()?;
            relay_memory()?;
            relay_forwarding()?;
        }
        other => {
            return Err(format!(
                "unknown bench {other:?}: crypto, relay (relay-mem, relay-fwd), turn, shard, signalling, frames, first-picture, page-load, cpu or all"
            ));
        }
    }
    println!("load after: {}", loadavg());
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

// ---------------------------------------------------------------- crypto

/// One criterion result: median and its 95 % confidence interval, in ns.
struct Estimate {
    median: f64,
    low: f64,
    high: f64,
    bytes: Option<f64>,
}

fn crypto() -> Result<(), String> {
    let criterion = target_dir().join("criterion");
    // Old results of renamed benches must not show up in the table.
    let _ = std::fs::remove_dir_all(&criterion);
    crate::run(Command::new("cargo").args(["bench", "-p", "confide-shared", "--bench", "sframe"]))?;
    let results = read_criterion(&criterion)?;
    let get = |id: &str| {
        results
            .get(id)
            .ok_or_else(|| format!("no criterion result for {id}"))
    };

    println!("\nSFrame per frame, native (criterion median [95% CI of the median]):");
    println!(
        "  {:<18} {:<10} {:>26} {:>9} {:>26} {:>9}",
        "frame", "suite", "encrypt µs", "MB/s", "decrypt µs", "MB/s"
    );
    let mut ratios = Vec::new();
    for frame in [
        "120B_opus",
        "1200B_vp8_delta",
        "5000B_vp8_delta",
        "50000B_vp8_key",
    ] {
        let mut medians = BTreeMap::new();
        for suite in ["chacha20poly1305", "aes128gcm"] {
            let enc = get(&format!("sframe_encrypt/{frame}/{suite}"))?;
            let dec = get(&format!("sframe_decrypt/{frame}/{suite}"))?;
            println!(
                "  {frame:<18} {:<10} {:>26} {:>9.0} {:>26} {:>9.0}",
                suite
                    .trim_end_matches("20poly1305")
                    .trim_end_matches("128gcm"),
                micros(enc),
                mbps(enc),
                micros(dec),
                mbps(dec),
            );
            medians.insert(suite, (enc.median, dec.median));
        }
        if let (Some(c), Some(a)) = (medians.get("chacha20poly1305"), medians.get("aes128gcm")) {
            ratios.push((frame, c.0 / a.0, c.1 / a.1));
        }
    }
    println!("\nChaCha20-Poly1305 / AES-128-GCM time ratio (same run, adjacent):");
    for (frame, enc, dec) in &ratios {
        println!("  {frame:<18} encrypt {enc:.2}x  decrypt {dec:.2}x");
    }

    // A 4-person call: 3 peers, each sent and received 30 video frames
    // (5 KB delta) and 50 audio frames (120 B) per second.
    println!(
        "\nShare of one core for frame crypto, 3 peers x (30 fps video 5 KB + 50 fps audio 120 B), each way:"
    );
    for suite in ["chacha20poly1305", "aes128gcm"] {
        let v_enc = get(&format!("sframe_encrypt/5000B_vp8_delta/{suite}"))?.median;
        let v_dec = get(&format!("sframe_decrypt/5000B_vp8_delta/{suite}"))?.median;
        let a_enc = get(&format!("sframe_encrypt/120B_opus/{suite}"))?.median;
        let a_dec = get(&format!("sframe_decrypt/120B_opus/{suite}"))?.median;
        let enc_ns = 3.0 * (30.0 * v_enc + 50.0 * a_enc);
        let dec_ns = 3.0 * (30.0 * v_dec + 50.0 * a_dec);
        println!(
            "  native {suite:<17} encrypt {:.3}%  encrypt+decrypt {:.3}% of one core",
            enc_ns / 1e7,
            (enc_ns + dec_ns) / 1e7
        );
    }
    // The team's in-browser spike (docs: field notes), encrypt only; decrypt assumed equal.
    let wasm_chacha = 3.0 * (30.0 * 27_000.0 + 50.0 * 1_800.0);
    let webcrypto_aes = 3.0 * (30.0 * 35_000.0 + 50.0 * 18_000.0);
    println!(
        "  browser WASM chacha (field notes)  encrypt {:.2}%  both ways ~{:.2}% of one core",
        wasm_chacha / 1e7,
        2.0 * wasm_chacha / 1e7
    );
    println!(
        "  browser WebCrypto AES (field notes) encrypt {:.2}%  both ways ~{:.2}% of one core",
        webcrypto_aes / 1e7,
        2.0 * webcrypto_aes / 1e7
    );

    println!("\nHandshake and envelope (criterion median [95% CI]):");
    for id in [
        "handshake/full",
        "handshake/keypair_generate",
        "envelope/seal_1k",
        "envelope/open_1k",
    ] {
        println!("  {id:<28} {:>26} µs", micros(get(id)?));
    }
    Ok(())
}

fn micros(e: &Estimate) -> String {
    format!(
        "{:.2} [{:.2}–{:.2}]",
        e.median / 1e3,
        e.low / 1e3,
        e.high / 1e3
    )
}

fn mbps(e: &Estimate) -> f64 {
    // Bytes per ns = GB/s; * 1000 = MB/s (10^6 bytes).
    e.bytes.map_or(f64::NAN, |b| b / e.median * 1e3)
}

/// Reads `<group>/<function>/new/{benchmark,estimates}.json` under `dir`.
fn read_criterion(dir: &Path) -> Result<BTreeMap<String, Estimate>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n == "new") {
                    if let Some((id, estimate)) = read_result(&path) {
                        out.insert(id, estimate);
                    }
                } else {
                    stack.push(path);
                }
            }
        }
    }
    if out.is_empty() {
        return Err(format!("no criterion results under {}", dir.display()));
    }
    Ok(out)
}

fn read_result(dir: &Path) -> Option<(String, Estimate)> {
    let read = |name: &str| -> Option<serde_json::Value> {
        let text = std::fs::read_to_string(dir.join(name)).ok()?;
        serde_json::from_str(&text).ok()
    };
    let benchmark = read("benchmark.json")?;
    let estimates = read("estimates.json")?;
    let id = benchmark.get("full_id")?.as_str()?.to_string();
    let bytes = benchmark
        .get("throughput")
        .and_then(|t| t.get("Bytes"))
        .and_then(serde_json::Value::as_f64);
    let median = estimates.get("median")?;
    let interval = median.get("confidence_interval")?;
    Some((
        id,
        Estimate {
            median: median.get("point_estimate")?.as_f64()?,
            low: interval.get("lower_bound")?.as_f64()?,
            high: interval.get("upper_bound")?.as_f64()?,
            bytes,
        },
    ))
}

// ---------------------------------------------------------------- relay

/// Flags for the benchmark relay: rate limits and the connection cap out of
/// the way (they would be what we measure otherwise), no pings during a run
/// (the bench clients do not answer them), and no STUN/TURN (no
/// `ice_servers` messages between the set-up steps).
const RELAY_FLAGS: [&str; 14] = [
    "--listen",
    "127.0.0.1:0",
    "--turn",
    "off",
    "--max-connections",
    "5000",
    "--rate-per-sec",
    "1000000",
    "--rate-burst",
    "1000000",
    "--ping-interval",
    "10m",
    "--idle-timeout",
    "30m",
];

/// Hard limit for any one measurement; past it the run stops and fails.
const DEADLINE: Duration = Duration::from_secs(60);

struct Relay {
    child: Child,
    addr: SocketAddr,
    /// The counsellor sign-in from the link the relay prints (loopback, no key file).
    counsellor: String,
}

impl Relay {
    fn start(binary: &Path) -> Result<Relay, String> {
        Relay::start_with(binary, &[], None)
    }

    /// With `extra` flags after the bench's own; with `--counsellor-key-file`
    /// among them, `counsellor` is a sign-in made with that key (the relay
    /// then prints none).
    fn start_with(
        binary: &Path,
        extra: &[&str],
        counsellor: Option<&str>,
    ) -> Result<Relay, String> {
        let mut child = Command::new(binary)
            .args(RELAY_FLAGS)
            .args(extra)
            .env("CONFIDE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("relay has no stdout")?;
        let mut lines = BufReader::new(stdout);
        let mut line = String::new();
        lines
            .read_line(&mut line)
            .map_err(|e| format!("reading the relay's first line: {e}"))?;
        // "confide relay listening on http://127.0.0.1:PORT/"
        let addr = line
            .trim()
            .strip_prefix("confide relay listening on http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .and_then(|a| a.parse::<SocketAddr>().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("unexpected first line from the relay: {line:?}"));
        };
        if !addr.ip().is_loopback() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("relay listens on {addr}, not loopback"));
        }
        // "confide relay counsellor sign-in (...): http://127.0.0.1:PORT/#counsellor=TOKEN"
        let counsellor = match counsellor {
            Some(counsellor) => counsellor.to_string(),
            None => {
                line.clear();
                let _ = lines.read_line(&mut line);
                let Some((_, counsellor)) = line.trim().split_once("#counsellor=") else {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "no counsellor sign-in link from the relay: {line:?}"
                    ));
                };
                counsellor.to_string()
            }
        };
        // Keep draining stdout so the relay never blocks on it.
        thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        Ok(Relay {
            child,
            addr,
            counsellor,
        })
    }

    fn status_kb(&self, field: &str) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no {field} in {path}"))
    }

    fn rss_kb(&self) -> Result<u64, String> {
        self.status_kb("VmRSS:")
    }
}

/// User + system CPU time of process `pid` (all its threads) so far, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => Ok((u + s) / clock_ticks()),
        _ => Err(format!("cannot parse {path}")),
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn relay_binary() -> Result<PathBuf, String> {
    crate::run(Command::new("cargo").args(["build", "--release", "--package", "confide-relay"]))?;
    Ok(target_dir().join("release/confide-relay"))
}

fn relay_memory() -> Result<(), String> {
    let binary = relay_binary()?;

    println!("\nRelay RSS per idle WebSocket connection (fresh relay per repetition):");
    let mut per_200 = Vec::new();
    let mut per_1000 = Vec::new();
    for rep in 1..=3 {
        let relay = Relay::start(&binary)?;
        let (base, at_200, at_1000) = idle_memory(&relay)?;
        let a = (at_200 as f64 - base as f64) / 200.0;
        let b = (at_1000 as f64 - base as f64) / 1000.0;
        println!(
            "  rep {rep}: RSS base {base} kB, 200 idle {at_200} kB, 1000 idle {at_1000} kB -> {a:.1} kB/conn (200), {b:.1} kB/conn (1000)"
        );
        per_200.push(a);
        per_1000.push(b);
    }
    println!(
        "  median: {:.1} kB per connection at 200, {:.1} kB at 1000",
        median(&mut per_200),
        median(&mut per_1000)
    );
    Ok(())
}

fn relay_forwarding() -> Result<(), String> {
    let binary = relay_binary()?;
    println!(
        "\nRelay forwarding, 1 KB payloads, every member broadcasting (5 runs each, one relay):"
    );
    let relay = Relay::start(&binary)?;
    let mut room_seq = 0u32;
    for (rooms, members, per_member) in [(1, 2, 40_000), (1, 4, 16_000), (8, 4, 2_000)] {
        let mut rates = Vec::new();
        let mut per_cpu = Vec::new();
        for _ in 0..5 {
            let pids = [relay.child.id()];
            let r = forward(
                relay.addr,
                &pids,
                &relay.counsellor,
                &mut room_seq,
                rooms,
                members,
                per_member,
            )?;
            rates.push(r.0);
            per_cpu.push(r.1);
        }
        let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let max = rates.iter().copied().fold(0.0, f64::max);
        println!(
            "  {rooms} room(s) x {members} members: median {:.0} deliveries/s (min {min:.0}, max {max:.0}); {:.0} deliveries per relay CPU-second",
            median(&mut rates),
            median(&mut per_cpu),
        );
    }
    Ok(())
}

/// RSS with no connection (after one warm-up connection), with 200 and with
/// 1000 idle connections.
fn idle_memory(relay: &Relay) -> Result<(u64, u64, u64), String> {
    // Warm up the runtime (worker threads, allocator arenas) first.
    drop(Conn::connect(relay.addr)?);
    thread::sleep(Duration::from_millis(300));
    let base = relay.rss_kb()?;
    let mut conns = Vec::with_capacity(1000);
    for _ in 0..200 {
        conns.push(Conn::connect(relay.addr)?);
    }
    thread::sleep(Duration::from_millis(500));
    let at_200 = relay.rss_kb()?;
    for _ in 200..1000 {
        conns.push(Conn::connect(relay.addr)?);
    }
    thread::sleep(Duration::from_millis(500));
    let at_1000 = relay.rss_kb()?;
    Ok((base, at_200, at_1000))
}

/// One forwarding run through `addr`: `rooms` rooms of `members` members,
/// created with the sign-in `counsellor`; every member sends `per_member`
/// broadcasts of 1 KB. Returns (deliveries per second, deliveries per
/// CPU-second of the processes `pids`).
fn forward(
    addr: SocketAddr,
    pids: &[u32],
    counsellor: &str,
    room_seq: &mut u32,
    rooms: usize,
    members: usize,
    per_member: u64,
) -> Result<(f64, f64), String> {
    let mut all = Vec::new();
    for _ in 0..rooms {
        *room_seq += 1;
        all.push(setup_room(addr, counsellor, *room_seq, members)?);
    }
    let expected_each = per_member * (members as u64 - 1);
    let total = expected_each * (rooms * members) as u64;
    let payload = URL_SAFE_NO_PAD.encode(vec![0xa5u8; 1024]);
    let stop = Arc::new(AtomicBool::new(false));
    let cpu = || -> Result<f64, String> { pids.iter().map(|pid| cpu_seconds(*pid)).sum() };
    let cpu_before = cpu()?;
    let started = Instant::now();
    let mut handles = Vec::new();
    for (room, conns) in all {
        // Per room: deliveries still owed to its members. Senders keep at
        // most `window` in flight so that no relay send queue (256
        // messages per connection) can overflow.
        let sent = Arc::new(AtomicU64::new(0));
        let received = Arc::new(AtomicU64::new(0));
        let window = 192;
        let send_text =
            format!(r#"{{"type":"send","room":"{room}","to":null,"payload":"{payload}"}}"#);
        for conn in conns {
            let Conn { reader, writer } = conn;
            let (sent_w, received_w, stop_w) = (sent.clone(), received.clone(), stop.clone());
            let text = send_text.clone();
            let fanout = members as u64 - 1;
            handles.push(thread::spawn(move || -> Result<(), String> {
                let mut writer = writer;
                for _ in 0..per_member {
                    while sent_w.load(Ordering::Acquire) * fanout
                        >= received_w.load(Ordering::Acquire) + window
                    {
                        if stop_w.load(Ordering::Relaxed) || started.elapsed() > DEADLINE {
                            return Err("forwarding run hit the deadline".into());
                        }
                        thread::sleep(Duration::from_micros(50));
                    }
                    sent_w.fetch_add(1, Ordering::AcqRel);
                    write_text(&mut writer, text.as_bytes()).map_err(|e| format!("send: {e}"))?;
                }
                Ok(())
            }));
            let (received_r, stop_r) = (received.clone(), stop.clone());
            handles.push(thread::spawn(move || -> Result<(), String> {
                let mut reader = reader;
                let mut got = 0;
                while got < expected_each {
                    if stop_r.load(Ordering::Relaxed) || started.elapsed() > DEADLINE {
                        return Err("forwarding run hit the deadline".into());
                    }
                    let text = read_text(&mut reader).map_err(|e| format!("receive: {e}"))?;
                    if text.starts_with(br#"{"type":"deliver""#) {
                        got += 1;
                        received_r.fetch_add(1, Ordering::AcqRel);
                    } else {
                        return Err(format!(
                            "unexpected message: {}",
                            String::from_utf8_lossy(&text[..text.len().min(120)])
                        ));
                    }
                }
                Ok(())
            }));
        }
    }
    let mut result = Ok(());
    for handle in handles {
        let outcome = handle
            .join()
            .unwrap_or_else(|_| Err("a bench thread panicked".into()));
        if let Err(e) = outcome {
            stop.store(true, Ordering::Relaxed);
            result = Err(e);
        }
    }
    result?;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu()? - cpu_before;
    Ok((total as f64 / elapsed, total as f64 / cpu.max(1e-3)))
}

/// Creates room `n` with `members` admitted members (host first).
fn setup_room(
    addr: SocketAddr,
    counsellor: &str,
    n: u32,
    members: usize,
) -> Result<(String, Vec<Conn>), String> {
    let secret = |kind: u8, i: usize| bench_secret(n, kind, i);
    let id = room_id_of(&secret(1, 0));
    let room = URL_SAFE_NO_PAD.encode(id);
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let hash = |b: &[u8]| URL_SAFE_NO_PAD.encode(Sha256::digest(b));

    // Every connection of the room carries its shard label, as the app's do.
    let path = format!("/ws?s={}", shard_label(&id));
    let mut host = Conn::connect_to(addr, &path)?;
    host.send(&format!(
        r#"{{"type":"create_room","v":1,"room":"{room}","host_token":"{}","counsellor":"{counsellor}"}}"#,
        b64(&secret(1, 0))
    ))?;
    host.expect("room_created")?;
    let mut conns = vec![host];
    for i in 1..members {
        let invite = secret(2, i);
        conns[0].send(&format!(
            r#"{{"type":"add_invite","room":"{room}","token_hash":"{}"}}"#,
            hash(&invite)
        ))?;
        conns[0].expect("invite_added")?;
        let mut guest = Conn::connect_to(addr, &path)?;
        guest.send(&format!(
            r#"{{"type":"knock","v":1,"room":"{room}","invite_token":"{}","resume_hash":"{}","payload":"{}"}}"#,
            b64(&invite),
            hash(&secret(3, i)),
            b64(b"bench knock")
        ))?;
        let waiting = guest.expect("waiting")?;
        let member = waiting
            .get("member")
            .and_then(serde_json::Value::as_u64)
            .ok_or("waiting without member")?;
        conns[0].expect("knocked")?;
        conns[0].send(&format!(
            r#"{{"type":"admit","room":"{room}","member":{member}}}"#
        ))?;
        guest.expect("admitted")?;
        // Everyone already in hears that the guest joined.
        for conn in conns.iter_mut() {
            conn.expect("member_joined")?;
        }
        conns.push(guest);
    }
    Ok((room, conns))
}

/// Secret `i` of `kind` (1 host token, 2 invite, 3 resume) of bench room `n`:
/// fixed, so every run and set-up sees the same rooms.
fn bench_secret(n: u32, kind: u8, i: usize) -> [u8; 32] {
    let mut s = [kind; 32];
    s[..4].copy_from_slice(&n.to_be_bytes());
    s[4] = i as u8;
    s
}

/// The room id of a host token (docs/PROTOCOL.md "Derivations", as
/// `confide_shared::link::room_id_of`; the relay refuses any other). xtask
/// does not build the protocol crate, so the test below pins it to its vector.
fn room_id_of(host_token: &[u8; 32]) -> [u8; 16] {
    let digest = Sha256::new()
        .chain_update(b"confide v1 room id")
        .chain_update(host_token)
        .finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

/// The shard label of a room (docs/PROTOCOL.md "Shard label"; the same
/// vector as `confide_shared::shard`'s test).
fn shard_label(room: &[u8; 16]) -> String {
    let digest = Sha256::new()
        .chain_update(b"confide shard label v1")
        .chain_update(room)
        .finalize();
    format!("{:02x}", digest[0])
}

// ---------------------------------------------------------------- client

/// A minimal blocking WebSocket client (RFC 6455): text frames only, no
/// fragmentation, no ping answers. Enough for a benchmark on loopback.
struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn connect(addr: SocketAddr) -> Result<Conn, String> {
        Conn::connect_to(addr, "/ws")
    }

    /// The WebSocket at `path` (like `/ws?s=3f`).
    fn connect_to(addr: SocketAddr, path: &str) -> Result<Conn, String> {
        if !addr.ip().is_loopback() {
            return Err(format!("refusing to connect to non-loopback {addr}"));
        }
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .map_err(|e| e.to_string())?;
        let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
        write!(
            writer,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: Y29uZmlkZSBiZW5jaCBrZXk=\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .map_err(|e| format!("handshake: {e}"))?;
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader
            .read_line(&mut status)
            .map_err(|e| format!("handshake: {e}"))?;
        if !status.starts_with("HTTP/1.1 101") {
            return Err(format!("WebSocket upgrade refused: {}", status.trim()));
        }
        loop {
            let mut line = String::new();
            let n = reader
                .read_line(&mut line)
                .map_err(|e| format!("handshake: {e}"))?;
            if n == 0 || line == "\r\n" {
                break;
            }
        }
        Ok(Conn { reader, writer })
    }

    fn send(&mut self, text: &str) -> Result<(), String> {
        write_text(&mut self.writer, text.as_bytes()).map_err(|e| format!("send: {e}"))
    }

    /// The next message, which must be of type `kind`.
    fn expect(&mut self, kind: &str) -> Result<serde_json::Value, String> {
        let text = read_text(&mut self.reader).map_err(|e| format!("waiting for {kind}: {e}"))?;
        let value: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| format!("bad JSON: {e}"))?;
        if value.get("type").and_then(serde_json::Value::as_str) == Some(kind) {
            Ok(value)
        } else {
            Err(format!("expected {kind}, got {value}"))
        }
    }
}

fn write_text(writer: &mut TcpStream, payload: &[u8]) -> std::io::Result<()> {
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x81); // FIN, text
    let len = payload.len();
    if len < 126 {
        frame.push(0x80 | len as u8);
    } else if len <= 0xffff {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        frame.push(0x80 | 127);
        frame.extend_from_slice(&(len as u64).to_be_bytes());
    }
    // Clients must mask; the key needs no secrecy on loopback.
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    writer.write_all(&frame)
}

/// Reads frames until a text frame; skips pings and pongs; a close frame
/// or anything fragmented is an error.
fn read_text(reader: &mut BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    loop {
        let mut head = [0u8; 2];
        reader.read_exact(&mut head)?;
        let opcode = head[0] & 0x0f;
        let mut len = u64::from(head[1] & 0x7f);
        if len == 126 {
            let mut b = [0u8; 2];
            reader.read_exact(&mut b)?;
            len = u64::from(u16::from_be_bytes(b));
        } else if len == 127 {
            let mut b = [0u8; 8];
            reader.read_exact(&mut b)?;
            len = u64::from_be_bytes(b);
        }
        if len > 1 << 20 {
            return Err(std::io::Error::other("frame over 1 MiB"));
        }
        let mut payload = vec![0u8; len as usize];
        reader.read_exact(&mut payload)?;
        match opcode {
            0x1 if head[0] & 0x80 != 0 => return Ok(payload),
            0x9 | 0xa => continue,
            0x8 => {
                let code = payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                return Err(std::io::Error::other(format!(
                    "closed by the relay ({code:?} {})",
                    String::from_utf8_lossy(payload.get(2..).unwrap_or_default())
                )));
            }
            _ => return Err(std::io::Error::other(format!("unexpected opcode {opcode}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    /// The vectors of docs/PROTOCOL.md "Shard label" (shared/src/shard.rs).
    #[test]
    fn shard_labels_are_the_protocols() {
        assert_eq!(super::shard_label(&[0; 16]), "b6");
        assert_eq!(super::shard_label(&[7; 16]), "2d");
        assert_eq!(super::shard_label(&[0xff; 16]), "b1");
    }

    /// The first case of shared/tests/vectors/link/derivations.json.
    #[test]
    fn room_ids_are_the_protocols() {
        let hex = "ce5c6a16c76a68221878368e7c2555e09f5f49996634bd31706424668f74999a";
        let mut token = [0u8; 32];
        for (i, byte) in token.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or_default();
        }
        let id: String = super::room_id_of(&token)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(id, "58a05d4c976f1e77a3b4acb6ba00b66b");
    }
}
