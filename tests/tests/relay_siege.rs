//! The siege (issue 14): the real release binary on loopback, with the
//! per-source limits applied to loopback (`--limit-loopback`), under four
//! attacks at once from the attacker's addresses (127.0.66.x–127.0.69.x):
//!
//! - twice the per-source cap of idle WebSockets from one address;
//! - 200 sockets trickling HTTP headers (spread over eight addresses, so
//!   that every one of them is accepted and held);
//! - a loop creating rooms and leaving them at once;
//! - a room flooded with the largest messages by a member that never reads,
//!   to a guest that never reads.
//!
//! Meanwhile a counsellor and a guest (127.0.0.1, the helpers' address)
//! create a room, knock, are admitted and exchange messages within 2 s; a
//! session started before the siege still works after it; and the relay's
//! resident memory stays under [`RSS_BOUND_KB`]. Every attack is shown to
//! have happened: sockets accepted and held, refusals counted in /metrics.
//!
//! The binary: `CONFIDE_RELAY_BIN`, else `target/release/confide-relay`
//! (`cargo xtask test` builds it and sets the variable).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use confide_shared::wire::{ClientMessage, ServerMessage};
use confide_tests::ws::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;

/// The relay's default `--max-connections-per-source`.
const PER_SOURCE: usize = 32;
/// Sockets trickling headers.
const TRICKLES: usize = 200;
/// Largest payload whose `send` fits the default 64 KiB message limit
/// (base64 inside JSON).
const MAX_PAYLOAD: usize = 48 * 1024 - 256;
/// Resident memory the relay must stay under during the siege, in KiB.
const RSS_BOUND_KB: u64 = 48 * 1024;
/// What the legitimate pair may take from create to the last message.
const LEGIT_BUDGET: Duration = Duration::from_secs(2);

fn attacker(third: u8, fourth: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, third, fourth))
}

/// The real relay binary as a child process.
struct RelayProcess {
    child: Child,
    addr: SocketAddr,
}

impl RelayProcess {
    fn start() -> RelayProcess {
        let binary = std::env::var_os("CONFIDE_RELAY_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/confide-relay")
            });
        assert!(
            binary.exists(),
            "no relay binary at {} (cargo build --release -p confide-relay, or set CONFIDE_RELAY_BIN)",
            binary.display()
        );
        // The key the helpers' counsellor sign-in is made with.
        let key_file = confide_tests::relay::counsellor_key_file();
        let mut child = Command::new(&binary)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--turn",
                "off",
                "--limit-loopback",
                "--metrics",
                "--counsellor-key-file",
            ])
            .arg(&key_file)
            .env("CONFIDE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let addr = loop {
            line.clear();
            if stdout.read_line(&mut line).unwrap() == 0 {
                panic!("the relay ended without a listening line");
            }
            if let Some(addr) = line
                .trim()
                .strip_prefix("confide relay listening on http://")
                .and_then(|rest| rest.trim_end_matches('/').parse().ok())
            {
                break addr;
            }
        };
        // Keep reading, so that the relay's later lines have somewhere to go.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        RelayProcess { child, addr }
    }

    fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmRSS in {status}"))
    }

    /// The /metrics text, asked from 127.0.0.1.
    async fn metrics(&self) -> String {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).await.unwrap();
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        text
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

fn errors(text: &str, kind: &str) -> u64 {
    metric(text, &format!("confide_errors_total{{kind=\"{kind}\"}}"))
}

async fn tcp_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    socket.connect(to).await
}

/// What the attacks achieved, counted by the attacker.
#[derive(Default)]
struct Tally {
    idle_held: AtomicUsize,
    idle_refused: AtomicUsize,
    trickles_held: AtomicUsize,
    trickles_started: AtomicUsize,
    rooms_created: AtomicUsize,
    rooms_refused: AtomicUsize,
    flood_rounds: AtomicUsize,
    flood_bytes: AtomicUsize,
    flood_rate_limited: AtomicUsize,
}

/// Opens 2× the per-source cap of WebSockets from one address and holds
/// those the relay keeps; the others must be refused with 4005.
async fn idle_sockets(url: String, tally: Arc<Tally>) -> Vec<Client> {
    let mut clients = Vec::new();
    for _ in 0..2 * PER_SOURCE {
        clients.push(Client::connect_from(&url, attacker(66, 1)).await);
    }
    let mut held = Vec::new();
    for mut client in clients {
        match client.try_next(Duration::from_millis(200)).await {
            None => {
                tally.idle_held.fetch_add(1, Ordering::SeqCst);
                held.push(client);
            }
            Some(Event::Closed(Some((4005, _)))) => {
                tally.idle_refused.fetch_add(1, Ordering::SeqCst);
            }
            Some(other) => panic!("an idle socket got {other:?}"),
        }
    }
    held
}

/// One socket that sends a request head one header line at a time.
async fn trickle(relay: SocketAddr, from: IpAddr, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let Ok(mut stream) = tcp_from(from, relay).await else {
        return;
    };
    if stream
        .write_all(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .is_err()
    {
        return;
    }
    tally.trickles_started.fetch_add(1, Ordering::SeqCst);
    tally.trickles_held.fetch_add(1, Ordering::SeqCst);
    let mut buf = [0u8; 256];
    while !stop.load(Ordering::SeqCst) {
        match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(_)) => continue,
            Err(_) => {}
        }
        if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
            break;
        }
    }
    tally.trickles_held.fetch_sub(1, Ordering::SeqCst);
}

/// Creates rooms and leaves them at once, from one address, until stopped.
async fn create_and_leave(url: String, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let mut n: u8 = 100;
    while !stop.load(Ordering::SeqCst) {
        let mut client = Client::connect_from(&url, attacker(68, 1)).await;
        client.send(&create_msg(n, n)).await;
        match client.next_event().await {
            Event::Message(ServerMessage::RoomCreated { room, .. }) => {
                tally.rooms_created.fetch_add(1, Ordering::SeqCst);
                client.send(&ClientMessage::Leave { room }).await;
            }
            Event::Message(ServerMessage::Error { .. }) | Event::Closed(_) => {
                tally.rooms_refused.fetch_add(1, Ordering::SeqCst);
            }
            other => panic!("create+leave got {other:?}"),
        }
        n = if n >= 199 { 100 } else { n + 1 };
    }
}

/// Rounds of: a room whose guest never reads, flooded by its host with
/// the largest messages without reading, until the relay closes the host.
async fn flood(url: String, tally: Arc<Tally>, stop: Arc<AtomicBool>) {
    let payload = vec![0xa5u8; MAX_PAYLOAD];
    let mut room: u8 = 20;
    let mut silent_guests = Vec::new();
    while !stop.load(Ordering::SeqCst) && room < 60 {
        let mut host = Client::connect_from(&url, attacker(69, 1)).await;
        host.send(&create_msg(room, room)).await;
        match host.recv().await {
            ServerMessage::RoomCreated { .. } => {}
            other => panic!("flood room: {other:?}"),
        }
        add_invite(&mut host, room, room, None).await;
        let mut guest = Client::connect_from(&url, attacker(69, 2)).await;
        guest.send(&knock_msg(room, room, b"knock")).await;
        let member = match guest.recv().await {
            ServerMessage::Waiting { member, .. } => member,
            other => panic!("flood knock: {other:?}"),
        };
        loop {
            match host.recv().await {
                ServerMessage::Knocked { .. } => break,
                _ => continue,
            }
        }
        host.send(&ClientMessage::Admit {
            room: room_id(room),
            member,
        })
        .await;
        // From here on neither of them reads until the host is closed.
        for _ in 0..64 {
            host.send(&send_msg(room, None, &payload)).await;
            tally.flood_bytes.fetch_add(payload.len(), Ordering::SeqCst);
        }
        let code = loop {
            match host.try_next(PATIENCE).await {
                Some(Event::Closed(frame)) => break frame.map(|(code, _)| code),
                Some(Event::Message(_)) => continue,
                None => panic!("the flooding host was never closed"),
            }
        };
        if code == Some(4002) {
            tally.flood_rate_limited.fetch_add(1, Ordering::SeqCst);
        }
        tally.flood_rounds.fetch_add(1, Ordering::SeqCst);
        silent_guests.push(guest);
        room += 1;
    }
}

/// Creates a room, knocks, admits and exchanges a message each way.
async fn legit_session(url: &str, room: u8, invite: u8) -> (Client, Client, Duration) {
    let started = Instant::now();
    let (mut counsellor, counsellor_id) = host(url, room).await;
    let (mut guest, guest_id) = admitted_guest(url, &mut counsellor, room, invite).await;
    counsellor.send(&send_msg(room, None, b"hello")).await;
    skip_to_delivery(&mut guest, counsellor_id, b"hello").await;
    guest.send(&send_msg(room, None, b"hi")).await;
    skip_to_delivery(&mut counsellor, guest_id, b"hi").await;
    (counsellor, guest, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the release relay binary; run by cargo xtask test"]
async fn a_legitimate_session_gets_through_a_siege() {
    let relay = RelayProcess::start();
    let url = relay.ws_url();
    let rss_before = relay.rss_kb();
    // A session that runs before the siege starts.
    let (mut running_host, mut running_guest, _) = legit_session(&url, 1, 1).await;

    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut attacks = JoinSet::new();
    for i in 0..TRICKLES {
        attacks.spawn(trickle(
            relay.addr,
            attacker(67, 1 + (i % 8) as u8),
            tally.clone(),
            stop.clone(),
        ));
    }
    let idle = idle_sockets(url.clone(), tally.clone()).await;
    attacks.spawn(create_and_leave(url.clone(), tally.clone(), stop.clone()));
    attacks.spawn(flood(url.clone(), tally.clone(), stop.clone()));
    // Every attack is under way: trickles all held, a flood round done,
    // rooms created and refused.
    let ready = Instant::now();
    while tally.trickles_held.load(Ordering::SeqCst) < TRICKLES
        || tally.flood_rounds.load(Ordering::SeqCst) < 1
        || tally.rooms_refused.load(Ordering::SeqCst) < 1
    {
        assert!(
            ready.elapsed() < Duration::from_secs(6),
            "the attacks did not get under way: trickles {} held, flood rounds {}, rooms refused {}",
            tally.trickles_held.load(Ordering::SeqCst),
            tally.flood_rounds.load(Ordering::SeqCst),
            tally.rooms_refused.load(Ordering::SeqCst),
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (_counsellor, _guest, took) = legit_session(&url, 2, 2).await;
    let trickles_during = tally.trickles_held.load(Ordering::SeqCst);
    let during = relay.metrics().await;
    let rss_during = relay.rss_kb();

    // The session from before the siege still works.
    running_host.send(&send_msg(1, None, b"still here")).await;
    let host_id = match &running_host.received[..] {
        [first, ..] => match ServerMessage::from_json(first).unwrap() {
            ServerMessage::RoomCreated { member, .. } => member,
            other => panic!("{other:?}"),
        },
        [] => panic!("no room_created"),
    };
    skip_to_delivery(&mut running_guest, host_id, b"still here").await;

    stop.store(true, Ordering::SeqCst);
    attacks.abort_all();
    while attacks.join_next().await.is_some() {}
    drop(idle);
    let rss_after = relay.rss_kb();

    eprintln!(
        "siege: legit session {took:?}; idle held {} refused {}; trickles {} held during the session; \
         rooms created {} refused {}; flood rounds {} ({} MB sent, {} rate-limited); \
         RSS {rss_before} kB before, {rss_during} kB during, {rss_after} kB after",
        tally.idle_held.load(Ordering::SeqCst),
        tally.idle_refused.load(Ordering::SeqCst),
        trickles_during,
        tally.rooms_created.load(Ordering::SeqCst),
        tally.rooms_refused.load(Ordering::SeqCst),
        tally.flood_rounds.load(Ordering::SeqCst),
        tally.flood_bytes.load(Ordering::SeqCst) >> 20,
        tally.flood_rate_limited.load(Ordering::SeqCst),
    );

    // The attacks happened.
    assert_eq!(tally.idle_held.load(Ordering::SeqCst), PER_SOURCE);
    assert_eq!(tally.idle_refused.load(Ordering::SeqCst), PER_SOURCE);
    assert_eq!(trickles_during, TRICKLES, "every trickle was held");
    assert!(tally.rooms_created.load(Ordering::SeqCst) >= PER_SOURCE);
    assert!(tally.flood_rate_limited.load(Ordering::SeqCst) >= 1);
    assert!(metric(&during, "confide_connections") >= PER_SOURCE as u64);
    assert!(errors(&during, "server_full") >= PER_SOURCE as u64);
    assert!(errors(&during, "too_many_rooms") >= 1);
    assert!(errors(&during, "rate_limited") >= 1);
    // And the relay served the legitimate pair regardless.
    assert!(took < LEGIT_BUDGET, "the legitimate session took {took:?}");
    assert!(
        rss_during.max(rss_after) < RSS_BOUND_KB,
        "RSS {rss_during} kB / {rss_after} kB"
    );
}
