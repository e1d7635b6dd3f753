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
