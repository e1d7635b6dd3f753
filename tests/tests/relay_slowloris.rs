//! Connections that are not yet WebSockets cannot pile up (issue 14): a
//! header-read timeout (trickled headers, idle keep-alive, stalled TLS
//! handshakes), and a cap on such connections in total and per source.
//! Each test shows the attacker's sockets were accepted and held first.
//!
//! 127.0.0.1 is the attacker, 127.0.0.2/3 are other sources; the test relays
//! apply per-source limits to loopback (`limit_loopback`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use confide_relay::config::Config;
use confide_shared::wire::ServerMessage;
use confide_tests::relay::TestRelay;
use confide_tests::ws::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

fn config() -> Config {
    let mut config = Config::for_tests();
    config.limit_loopback = true;
    config
}

async fn tcp_from(from: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    socket.connect(to).await.unwrap()
}

/// Whether the relay closed (or answered and closed) `stream` within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // An error response (e.g. 408) is fine; wait for the close after it.
            Ok(Ok(_)) => continue,
        }
    }
}

/// Sends the start of a request and keeps it unfinished.
async fn start_request(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
}

#[tokio::test]
async fn trickled_headers_are_cut_off() {
    let mut config = config();
    config.header_timeout = Duration::from_millis(400);
    let relay = TestRelay::start_with(config).await;
    let mut stream = tcp_from(ATTACKER, relay.addr).await;
    start_request(&mut stream).await;
    // One header line every 50 ms: each arrives well within the timeout,
    // the whole head never does.
    let started = Instant::now();
    let mut lines = 0;
    let mut buf = [0u8; 256];
    let closed = loop {
        if started.elapsed() > Duration::from_secs(3) {
            break false;
        }
        match tokio::time::timeout(Duration::from_millis(50), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(_)) => continue,
            Err(_) => {}
        }
        if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
            break true;
        }
        lines += 1;
    };
    assert!(lines >= 4, "the trickle ran for a while ({lines} lines)");
    assert!(closed, "the relay still waits for the headers after 3 s");
    assert!(started.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let mut config = config();
    config.header_timeout = Duration::from_millis(400);
    let relay = TestRelay::start_with(config).await;
    let mut stream = tcp_from(ATTACKER, relay.addr).await;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "answered first");
    assert!(closed_within(&mut stream, Duration::from_secs(2)).await);
}

#[tokio::test]
async fn pending_connections_per_source_are_capped() {
    let mut config = config();
    config.max_connections_per_source = 4;
    config.header_timeout = Duration::from_secs(20);
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut stream = tcp_from(ATTACKER, relay.addr).await;
        start_request(&mut stream).await;
        held.push(stream);
    }
    for stream in &mut held {
        assert!(
            !closed_within(stream, Duration::from_millis(100)).await,
            "the attacker's first sockets are held"
        );
    }
    let mut fifth = tcp_from(ATTACKER, relay.addr).await;
    start_request(&mut fifth).await;
    assert!(
        closed_within(&mut fifth, Duration::from_secs(1)).await,
        "a fifth unfinished request from the same source is dropped"
    );
    // Another source upgrades and works.
    let mut host = Client::connect_from(&url, OTHER).await;
    host.send(&create_msg(1, 1)).await;
    assert!(matches!(
        host.recv().await,
        ServerMessage::RoomCreated { .. }
    ));
}

#[tokio::test]
async fn pending_connections_are_capped_and_websockets_do_not_count() {
    let mut config = config();
    config.max_connections_per_source = 100;
    config.max_pending_connections = 2;
    config.header_timeout = Duration::from_secs(20);
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    // Upgraded connections leave the pending pool: three hosts with a pool of two.
    let (mut h1, _) = host(&url, 1).await;
    let (_h2, _) = host(&url, 2).await;
    let (_h3, _) = host(&url, 3).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = tcp_from(ATTACKER, relay.addr).await;
        start_request(&mut stream).await;
        held.push(stream);
    }
    for stream in &mut held {
        assert!(!closed_within(stream, Duration::from_millis(100)).await);
    }
    let mut third = tcp_from(OTHER, relay.addr).await;
    start_request(&mut third).await;
    assert!(closed_within(&mut third, Duration::from_secs(1)).await);
    // Running sessions are not affected.
    add_invite(&mut h1, 1, 9, None).await;
    // When a pending connection goes, its place is free again.
    drop(held);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_h4, _) = host(&url, 4).await;
}

#[tokio::test]
async fn stalled_tls_handshakes_are_capped_and_timed_out() {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let dir = std::env::temp_dir().join(format!("confide-relay-slowtls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), certified.signing_key.serialize_pem()).unwrap();
    let mut config = config();
    config.tls_cert = Some(dir.join("cert.pem"));
    config.tls_key = Some(dir.join("key.pem"));
    config.max_connections_per_source = 3;
    config.header_timeout = Duration::from_millis(800);
    let relay = TestRelay::start_with(config).await;
    // Three sockets that never say hello hold the source's handshake places...
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tcp_from(ATTACKER, relay.addr).await);
    }
    for stream in &mut held {
        assert!(!closed_within(stream, Duration::from_millis(100)).await);
    }
    // ...a fourth is dropped at once...
    let mut fourth = tcp_from(ATTACKER, relay.addr).await;
    assert!(closed_within(&mut fourth, Duration::from_millis(500)).await);
    // ...and the held ones are closed when their handshake time is up.
    for stream in &mut held {
        assert!(closed_within(stream, Duration::from_secs(2)).await);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
