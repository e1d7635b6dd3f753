//! Graceful shutdown: every client hears `shutting_down` and a 1001 close.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use confide_shared::wire::ServerMessage;
use confide_tests::relay::TestRelay;
use confide_tests::ws::*;

#[tokio::test]
async fn shutdown_notifies_every_client() {
    let relay = TestRelay::start(None).await;
    let url = relay.ws_url();
    let (mut h, _) = host(&url, 1).await;
    let (mut g, _) = admitted_guest(&url, &mut h, 1, 5).await;
    let mut fresh = Client::connect(&url).await;
    let started = Instant::now();
    let stopping = tokio::spawn(relay.shutdown());
    for client in [&mut h, &mut g, &mut fresh] {
        assert_eq!(client.recv().await, ServerMessage::ShuttingDown);
        client.expect_close(1001).await;
    }
    stopping.await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_secs(4));
}

/// Starts a relay with `serve_until_or_now`: `stop` begins the graceful
/// shutdown, `stop_now` (a second signal) ends it at once.
async fn relay_with_two_stops(
    config: confide_relay::config::Config,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (stop_now, stopped_now) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(confide_relay::serve_until_or_now(
        listener,
        config,
        async move {
            let _ = stopped.await;
        },
        async move {
            let _ = stopped_now.await;
        },
    ));
    (addr, stop, stop_now, task)
}

async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    let _ = tokio::time::timeout(PATIENCE, stream.read_to_string(&mut response)).await;
    response
}

#[tokio::test]
async fn healthz_says_503_while_draining_and_a_second_stop_exits_at_once() {
    let (addr, stop, stop_now, task) =
        relay_with_two_stops(confide_relay::config::Config::for_tests()).await;
    let url = format!("ws://{addr}/ws");
    assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
    // A client that never reads keeps the drain going (the relay waits for its close reply).
    let (_deaf, _) = host(&url, 1).await;
    stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!task.is_finished(), "still draining");
    let health = get(addr, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 503"), "{health}");
    assert!(health.ends_with("draining"), "{health}");
    let started = Instant::now();
    stop_now.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .unwrap_or_else(|_| panic!("the second stop ends the relay at once"))
        .unwrap()
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn unfinished_requests_do_not_hang_shutdown() {
    use tokio::io::AsyncWriteExt as _;
    let mut config = confide_relay::config::Config::for_tests();
    config.shutdown_timeout = Duration::from_millis(500);
    let relay = TestRelay::start_with(config).await;
    let mut slow = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(3), relay.shutdown())
        .await
        .unwrap_or_else(|_| panic!("shutdown hangs on an unfinished request"))
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(1500));
    drop(slow);
}
