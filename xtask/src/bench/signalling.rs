//! `cargo xtask bench signalling [messages-per-second-per-member]`: 5 000
//! WebSocket connections in 1 250 rooms of 4, every member sending small
//! signalling messages (default one per second, 256 bytes, far inside the
//! relay's default rate limits, which stay in force) to its room. Measured
//! from outside, for the release relay and, side by side in the same run, for
//! a bare tokio-tungstenite broadcast forwarder written for this benchmark
//! (no parsing, no limits: join a room, every text goes to the others):
//! RSS per idle connection, deliveries per CPU-second of the server process,
//! and p50/p99 forwarding latency (send to receipt, one clock).
//!
//! Loopback only. The relay's own caps (connections, rooms, unidentified
//! and pending connections) are raised by flags for the run; per-source caps
//! do not apply to loopback peers. The bench raises its own soft limit on open
//! files, and the servers' (they inherit it).

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::{SinkExt as _, StreamExt as _};
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::{bench_secret, cpu_seconds, median, relay_binary, room_id_of};

const ROOMS: usize = 1250;
const MEMBERS: usize = 4;
const PAYLOAD: usize = 256;
/// How long traffic runs per measurement (after a warm-up of 2 s).
const RUN: Duration = Duration::from_secs(15);
const WARMUP: Duration = Duration::from_secs(2);
const REPS: usize = 2;

/// Flags for the relay: room for 5 000 connections; rate limits at their defaults.
const RELAY_FLAGS: [&str; 14] = [
    "--listen",
    "127.0.0.1:0",
    "--turn",
    "off",
    "--max-connections",
    "6000",
    "--max-rooms",
    "2000",
    "--max-unidentified",
    "6000",
    "--max-pending-connections",
    "6000",
    "--first-message-timeout",
    "5m",
];

pub fn run(args: &[String]) -> Result<(), String> {
    // The forwarder is this program: compared with the release relay, it
    // must be optimised too (and so must the clients).
    if cfg!(debug_assertions) {
        crate::run(Command::new("cargo").args(["build", "--release", "--package", "xtask"]))?;
        let release = crate::root().join("target/release/xtask");
        return crate::run(
            Command::new(release)
                .args(["bench", "signalling"])
                .args(args),
        );
    }
    let rate: f64 = match args.first() {
        Some(r) => r
            .parse()
            .map_err(|_| format!("not a message rate: {r:?}"))?,
        None => 1.0,
    };
    raise_open_files((3 * ROOMS * MEMBERS) as u64 + 1000)?;
    let binary = relay_binary()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "\nSignalling: {} connections in {ROOMS} rooms of {MEMBERS}, {rate} message(s)/s each \
         ({PAYLOAD} B payload), {}s per run after {}s warm-up, {REPS} runs each, alternating:",
        ROOMS * MEMBERS,
        RUN.as_secs(),
        WARMUP.as_secs()
    );
    let mut results: HashMap<&str, Vec<Outcome>> = HashMap::new();
    for rep in 1..=REPS {
        for kind in [Kind::Relay, Kind::Forwarder] {
            let server = Server::start(kind, &binary)?;
            let outcome = runtime.block_on(measure(&server, rate))?;
            println!(
                "  rep {rep} {:<9}: {:.1} kB/idle conn, {:.0} deliveries/s, {:.0} deliveries per CPU-second, \
                 latency p50 {:.2} ms p99 {:.2} ms, {} lost",
                kind.name(),
                outcome.kb_per_conn,
                outcome.deliveries_per_sec,
                outcome.per_cpu,
                outcome.p50_ms,
                outcome.p99_ms,
                outcome.lost
            );
            results.entry(kind.name()).or_default().push(outcome);
        }
    }
    let summary = |name: &str| -> (f64, f64, f64, f64) {
        let all = results.get(name).cloned().unwrap_or_default();
        let pick = |f: fn(&Outcome) -> f64| median(&mut all.iter().map(f).collect::<Vec<_>>());
        (
            pick(|o| o.kb_per_conn),
            pick(|o| o.per_cpu),
            pick(|o| o.p50_ms),
            pick(|o| o.p99_ms),
        )
    };
    let relay = summary("relay");
    let bare = summary("forwarder");
    println!(
        "  median relay:     {:.1} kB/conn, {:.0} deliveries/CPU-s, p50 {:.2} ms, p99 {:.2} ms",
        relay.0, relay.1, relay.2, relay.3
    );
    println!(
        "  median forwarder: {:.1} kB/conn, {:.0} deliveries/CPU-s, p50 {:.2} ms, p99 {:.2} ms",
        bare.0, bare.1, bare.2, bare.3
    );
    let ratio = relay.1 / bare.1.max(1e-9);
    println!(
        "  relay/forwarder deliveries per CPU-second: {ratio:.2}x (target >= 0.8x: {}); \
         relay memory per idle connection {:.1} kB (target <= 12 kB: {})",
        if ratio >= 0.8 { "met" } else { "NOT met" },
        relay.0,
        if relay.0 <= 12.0 { "met" } else { "NOT met" }
    );
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Relay,
    Forwarder,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Relay => "relay",
            Kind::Forwarder => "forwarder",
        }
    }
}

#[derive(Clone, Default)]
struct Outcome {
    kb_per_conn: f64,
    deliveries_per_sec: f64,
    per_cpu: f64,
    p50_ms: f64,
    p99_ms: f64,
    lost: u64,
}

/// Raises this process's soft limit on open files to at least `need`
/// (up to the hard limit); children inherit it.
fn raise_open_files(need: u64) -> Result<(), String> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    let target = match limit.maximum {
        Some(max) => need.min(max),
        None => need,
    };
    if limit.current.is_some_and(|c| c < target) {
        limit.current = Some(target);
        setrlimit(Resource::Nofile, limit).map_err(|e| format!("setrlimit: {e}"))?;
    }
    let now = getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX);
    if now < need {
        return Err(format!(
            "open files limit {now} is below the {need} the bench needs (raise the hard limit)"
        ));
    }
    Ok(())
}

struct Server {
    kind: Kind,
    child: Child,
    addr: SocketAddr,
    /// The relay's counsellor sign-in (none for the forwarder).
    counsellor: String,
}

impl Server {
    fn start(kind: Kind, relay: &Path) -> Result<Server, String> {
        let mut command = match kind {
            Kind::Relay => {
                let mut c = Command::new(relay);
                c.args(RELAY_FLAGS).env("CONFIDE_LOG", "warn");
                c
            }
            Kind::Forwarder => {
                let exe = std::env::current_exe().map_err(|e| e.to_string())?;
                let mut c = Command::new(exe);
                c.args(["bench", "signalling-forwarder"]);
                c
            }
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the {}: {e}", kind.name()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout);
        let mut addr = None;
        let mut counsellor = String::new();
        let mut line = String::new();
        while addr.is_none() || (kind == Kind::Relay && counsellor.is_empty()) {
            line.clear();
            if lines.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the {} ended before it listened", kind.name()));
            }
            if let Some(rest) = line
                .trim()
                .strip_prefix("confide relay listening on http://")
            {
                addr = rest.trim_end_matches('/').parse::<SocketAddr>().ok();
            } else if let Some(rest) = line.trim().strip_prefix("forwarder listening on ") {
                addr = rest.parse::<SocketAddr>().ok();
            } else if let Some((_, token)) = line.trim().split_once("#counsellor=") {
                counsellor = token.to_string();
            }
        }
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        let addr = addr.ok_or("no address")?;
        if !addr.ip().is_loopback() {
            return Err(format!("{addr} is not loopback"));
        }
        Ok(Server {
            kind,
            child,
            addr,
            counsellor,
        })
    }

    fn rss_kb(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no VmRSS in {path}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: SocketAddr) -> Result<Ws, String> {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    Ok(ws)
}

async fn send(ws: &mut Ws, text: String) -> Result<(), String> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| format!("send: {e}"))
}

/// The next text message of type `kind` (others, like `ice_servers`, skipped).
async fn expect(ws: &mut Ws, kind: &str) -> Result<serde_json::Value, String> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .map_err(|_| format!("waiting for {kind}: timeout"))?
            .ok_or_else(|| format!("closed while waiting for {kind}"))?
            .map_err(|e| format!("waiting for {kind}: {e}"))?;
        let Message::Text(text) = message else {
            continue;
        };
        let value: serde_json::Value =
            serde_json::from_str(text.as_str()).map_err(|e| format!("bad JSON: {e}"))?;
        match value.get("type").and_then(serde_json::Value::as_str) {
            Some(t) if t == kind => return Ok(value),
            Some("error") => return Err(format!("waiting for {kind}: {value}")),
            _ => continue,
        }
    }
}

/// Room `n` on the relay with four admitted members (host first).
async fn relay_room(
    addr: SocketAddr,
    counsellor: &str,
    n: u32,
) -> Result<(String, Vec<Ws>), String> {
    let secret = |kind: u8, i: usize| bench_secret(n, kind, i);
    let id = room_id_of(&secret(1, 0));
    let room = URL_SAFE_NO_PAD.encode(id);
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let hash = |b: &[u8]| URL_SAFE_NO_PAD.encode(Sha256::digest(b));
    let mut host = connect(addr).await?;
    send(
        &mut host,
        format!(
            r#"{{"type":"create_room","v":1,"room":"{room}","host_token":"{}","counsellor":"{counsellor}"}}"#,
            b64(&secret(1, 0))
        ),
    )
    .await?;
    expect(&mut host, "room_created").await?;
    let mut conns = vec![host];
    for i in 1..MEMBERS {
        let invite = secret(2, i);
        send(
            &mut conns[0],
            format!(
                r#"{{"type":"add_invite","room":"{room}","token_hash":"{}"}}"#,
                hash(&invite)
            ),
        )
        .await?;
        expect(&mut conns[0], "invite_added").await?;
        let mut guest = connect(addr).await?;
        send(
            &mut guest,
            format!(
                r#"{{"type":"knock","v":1,"room":"{room}","invite_token":"{}","resume_hash":"{}","payload":"{}"}}"#,
                b64(&invite),
                hash(&secret(3, i)),
                b64(b"bench knock")
            ),
        )
        .await?;
        let waiting = expect(&mut guest, "waiting").await?;
        let member = waiting
            .get("member")
            .and_then(serde_json::Value::as_u64)
            .ok_or("waiting without member")?;
        expect(&mut conns[0], "knocked").await?;
        send(
            &mut conns[0],
            format!(r#"{{"type":"admit","room":"{room}","member":{member}}}"#),
        )
        .await?;
        expect(&mut guest, "admitted").await?;
        for conn in conns.iter_mut() {
            expect(conn, "member_joined").await?;
        }
        conns.push(guest);
    }
    Ok((room, conns))
}

/// Room `n` on the forwarder: four members that joined.
async fn forwarder_room(addr: SocketAddr, n: u32) -> Result<(String, Vec<Ws>), String> {
    let room = format!("room{n}");
    let mut conns = Vec::new();
    for _ in 0..MEMBERS {
        let mut ws = connect(addr).await?;
        send(&mut ws, format!(r#"{{"type":"join","room":"{room}"}}"#)).await?;
        conns.push(ws);
    }
    Ok((room, conns))
}

/// Sets up every room, measures idle memory, then runs the traffic.
async fn measure(server: &Server, rate: f64) -> Result<Outcome, String> {
    // Warm up the server's runtime first.
    drop(connect(server.addr).await?);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = server.rss_kb()?;
    let mut rooms = Vec::with_capacity(ROOMS);
    // A few rooms at a time: the setup is not what is measured.
    let mut pending = Vec::new();
    for n in 0..ROOMS as u32 {
        let addr = server.addr;
        let counsellor = server.counsellor.clone();
        let kind = server.kind;
        pending.push(tokio::spawn(async move {
            match kind {
                Kind::Relay => relay_room(addr, &counsellor, n + 1).await,
                Kind::Forwarder => forwarder_room(addr, n + 1).await,
            }
        }));
        if pending.len() == 16 {
            for task in pending.drain(..) {
                rooms.push(task.await.map_err(|e| e.to_string())??);
            }
        }
    }
    for task in pending.drain(..) {
        rooms.push(task.await.map_err(|e| e.to_string())??);
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let rss_idle = server.rss_kb()?;
    let kb_per_conn = (rss_idle as f64 - rss_before as f64) / (ROOMS * MEMBERS) as f64;

    let epoch = Instant::now();
    let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let delivered = Arc::new(AtomicU64::new(0));
    // Over the whole run: sent messages and deliveries received.
    let sent = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
    let stop_at = epoch + WARMUP + RUN + Duration::from_millis(500);
    let period = Duration::from_secs_f64(1.0 / rate.max(0.01));
    let mut tasks = Vec::new();
    for (i, (room, conns)) in rooms.into_iter().enumerate() {
        for (j, ws) in conns.into_iter().enumerate() {
            let (mut tx, mut rx) = ws.split();
            let room = room.clone();
            let sent_s = sent.clone();
            // Senders start spread over one period.
            let offset = period.mul_f64(((i * MEMBERS + j) % 997) as f64 / 997.0);
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(offset).await;
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut filler = vec![0x5au8; PAYLOAD];
                while Instant::now() < stop_at - Duration::from_millis(500) {
                    tick.tick().await;
                    let nanos = epoch.elapsed().as_nanos() as u64;
                    filler[..8].copy_from_slice(&nanos.to_be_bytes());
                    let text = format!(
                        r#"{{"type":"send","room":"{room}","to":null,"payload":"{}"}}"#,
                        URL_SAFE_NO_PAD.encode(&filler)
                    );
                    if tx.send(Message::text(text)).await.is_err() {
                        break;
                    }
                    sent_s.fetch_add(1, Ordering::Relaxed);
                }
                // Keep the connection open until every receiver is done.
                tokio::time::sleep_until(stop_at.into()).await;
                drop(tx);
            }));
            let (measuring_r, delivered_r, latencies_r, received_r) = (
                measuring.clone(),
                delivered.clone(),
                latencies.clone(),
                received.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut local = Vec::new();
                loop {
                    let next = tokio::time::timeout_at(stop_at.into(), rx.next()).await;
                    let Ok(Some(Ok(message))) = next else {
                        break;
                    };
                    let Message::Text(text) = message else {
                        continue;
                    };
                    let Some(nanos) = sent_at(text.as_str()) else {
                        continue;
                    };
                    received_r.fetch_add(1, Ordering::Relaxed);
                    if measuring_r.load(Ordering::Relaxed) {
                        delivered_r.fetch_add(1, Ordering::Relaxed);
                        let micros =
                            (epoch.elapsed().as_nanos() as u64).saturating_sub(nanos) / 1000;
                        local.push(micros.min(u32::MAX as u64) as u32);
                    }
                }
                if let Ok(mut all) = latencies_r.lock() {
                    all.extend(local);
                }
            }));
        }
    }
    tokio::time::sleep(WARMUP).await;
    let pid = server.child.id();
    let cpu_before = cpu_seconds(pid)?;
    let delivered_before = delivered.load(Ordering::Relaxed);
    measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(RUN).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid)? - cpu_before;
    let deliveries = delivered.load(Ordering::Relaxed) - delivered_before;
    for task in tasks {
        let _ = task.await;
    }
    let expected = sent.load(Ordering::Relaxed) * (MEMBERS as u64 - 1);
    let mut all = std::mem::take(&mut *latencies.lock().map_err(|_| "poisoned")?);
    all.sort_unstable();
    let pct = |p: f64| -> f64 {
        if all.is_empty() {
            return f64::NAN;
        }
        let i = ((all.len() - 1) as f64 * p).round() as usize;
        all[i] as f64 / 1000.0
    };
    Ok(Outcome {
        kb_per_conn,
        deliveries_per_sec: deliveries as f64 / elapsed,
        per_cpu: deliveries as f64 / cpu.max(1e-3),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        lost: expected.saturating_sub(received.load(Ordering::Relaxed)),
    })
}

/// The send time in a delivery (relay: `deliver`; forwarder: the `send`
/// text itself): the first 8 bytes of the payload.
fn sent_at(text: &str) -> Option<u64> {
    let start = text.find(r#""payload":""#)? + r#""payload":""#.len();
    let rest = &text[start..];
    let end = rest.find('"')?;
    let bytes = URL_SAFE_NO_PAD.decode(&rest[..end]).ok()?;
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// `cargo xtask bench signalling-forwarder`: the bare broadcast forwarder.
/// A connection's first text names its room (`{"type":"join","room":R}`);
/// every later text goes, unchanged, to the room's other members.
pub fn forwarder() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("forwarder listening on {addr}");
        let rooms: Rooms = Arc::new(Mutex::new(HashMap::new()));
        let mut next = 0u64;
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let _ = tcp.set_nodelay(true);
            next += 1;
            tokio::spawn(forward_one(tcp, next, rooms.clone()));
        }
    })
}

type Rooms = Arc<Mutex<HashMap<String, Vec<(u64, mpsc::Sender<Message>)>>>>;

async fn forward_one(tcp: tokio::net::TcpStream, id: u64, rooms: Rooms) {
    // The relay's buffer sizes (relay/src/ws.rs), so memory compares like with like.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(tcp, Some(config)).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(256);
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.send(message).await.is_err() {
                break;
            }
        }
    });
    let mut room: Option<String> = None;
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        match &room {
            None => {
                let Some(name) = text
                    .as_str()
                    .split(r#""room":""#)
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                else {
                    break;
                };
                if let Ok(mut rooms) = rooms.lock() {
                    rooms
                        .entry(name.to_string())
                        .or_default()
                        .push((id, tx.clone()));
                }
                room = Some(name.to_string());
            }
            Some(name) => {
                let peers: Vec<mpsc::Sender<Message>> = match rooms.lock() {
                    Ok(rooms) => rooms
                        .get(name)
                        .map(|members| {
                            members
                                .iter()
                                .filter(|(m, _)| *m != id)
                                .map(|(_, tx)| tx.clone())
                                .collect()
                        })
                        .unwrap_or_default(),
                    Err(_) => break,
                };
                let message = Message::Text(text);
                for peer in peers {
                    let _ = peer.try_send(message.clone());
                }
            }
        }
    }
    if let (Some(name), Ok(mut rooms)) = (room, rooms.lock())
        && let Some(members) = rooms.get_mut(&name)
    {
        members.retain(|(m, _)| *m != id);
        if members.is_empty() {
            rooms.remove(&name);
        }
    }
    writer.abort();
}
