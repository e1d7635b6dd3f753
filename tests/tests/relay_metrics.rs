//! `--metrics-listen` (issue 14): /metrics on a separate listener, which
//! serves nothing else, and never on the public one.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use confide_relay::config::Config;
use confide_tests::relay::TestRelay;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

async fn get(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    text
}

/// A loopback port that was free a moment ago.
fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn metrics_only_on_their_own_listener() {
    let metrics = free_port();
    let mut config = Config::for_tests();
    config.metrics_listen = Some(metrics);
    let relay = TestRelay::start_with(config).await;
    // The relay is up (the public listener answers) …
    let health = get(relay.addr, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    // … and its public listener has no /metrics.
    let public = get(relay.addr, "/metrics").await;
    assert!(public.starts_with("HTTP/1.1 404"), "{public}");
    assert!(!public.contains("confide_connections"), "{public}");
    // The metrics listener has them, and nothing else.
    let private = get(metrics, "/metrics").await;
    assert!(private.starts_with("HTTP/1.1 200"), "{private}");
    assert!(private.contains("\nconfide_connections 0\n"), "{private}");
    let app = get(metrics, "/").await;
    assert!(app.starts_with("HTTP/1.1 404"), "{app}");
    let ws = get(metrics, "/ws").await;
    assert!(ws.starts_with("HTTP/1.1 404"), "{ws}");
    relay.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_metrics_flags_no_metrics_anywhere() {
    let relay = TestRelay::start_with(Config::for_tests()).await;
    let public = get(relay.addr, "/metrics").await;
    assert!(public.starts_with("HTTP/1.1 404"), "{public}");
    relay.shutdown().await.unwrap();
}
