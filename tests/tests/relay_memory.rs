//! Queued messages are bounded in bytes, not only in count (issue 14): a
//! member that does not read is closed as too slow (4014) once its queue
//! holds `--send-queue-bytes`, or once the relay's total `--send-queue-total-bytes`
//! is used up while it has a backlog; its queue is freed at once, and
//! everyone else keeps talking.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use confide_relay::config::Config;
use confide_shared::wire::{MemberId, ServerMessage};
use confide_tests::relay::TestRelay;
use confide_tests::ws::*;

/// Large messages are allowed and the message-count queue and the rate
/// limits are out of the way: only byte budgets can stop the flood.
fn config() -> Config {
    let mut config = Config::for_tests();
    config.metrics = true;
    config.send_queue = 100_000;
    config.rate_per_sec = 100_000;
    config.rate_burst = 100_000;
    config.rate_bytes_per_sec = Some(1 << 40);
    config.rate_bytes_burst = Some(1 << 40);
    config
}

const PAYLOAD: usize = 40 * 1024;
/// Far more than the loopback socket buffers and the budgets under test
/// together, far less than the message count queue.
const MAX_SENT: usize = 600;

/// The host floods a guest that never reads until the relay reports the
/// guest away (closed as too slow); returns how many messages that took.
async fn flood_until_away(host: &mut Client, room: u8, guest: MemberId) -> Option<usize> {
    let payload = vec![0x5au8; PAYLOAD];
    for sent in 1..=MAX_SENT {
        host.send(&send_msg(room, None, &payload)).await;
        if let Some(event) = host.try_next(Duration::from_millis(1)).await {
            match event {
                Event::Message(ServerMessage::MemberAway { member, .. }) if member == guest => {
                    return Some(sent);
                }
                other => panic!("host got {other:?}"),
            }
        }
    }
    match host.try_next(Duration::from_secs(2)).await {
        Some(Event::Message(ServerMessage::MemberAway { member, .. })) if member == guest => {
            Some(MAX_SENT)
        }
        _ => None,
    }
}

#[tokio::test]
async fn a_guest_that_does_not_read_is_closed_at_its_byte_budget() {
    let mut config = config();
    config.send_queue_bytes = 512 * 1024;
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let (mut host_client, _) = host(&url, 1).await;
    let (mut deaf, deaf_id) = admitted_guest(&url, &mut host_client, 1, 5).await;
    let sent = flood_until_away(&mut host_client, 1, deaf_id).await;
    assert!(
        sent.is_some(),
        "the deaf guest was never closed as too slow"
    );
    // Its queue is freed at once.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(relay.metric("confide_queued_bytes").await, 0);
    assert!(
        relay
            .metric("confide_errors_total{kind=\"slow_consumer\"}")
            .await
            >= 1
    );
    // When it reads at last, it finds the close (or a cut connection) after what was buffered.
    let code = tokio::time::timeout(Duration::from_secs(15), deaf.closed())
        .await
        .ok()
        .flatten();
    assert!(matches!(code, Some(4014) | None), "{code:?}");
    // The host goes on: a new guest joins and hears it.
    let (mut guest, _) = admitted_guest(&url, &mut host_client, 1, 6).await;
    host_client.send(&send_msg(1, None, b"still here")).await;
    match guest.recv().await {
        ServerMessage::Deliver { payload, .. } => assert_eq!(payload.0, b"still here"),
        other => panic!("expected deliver, got {other:?}"),
    }
}

#[tokio::test]
async fn the_total_budget_closes_members_with_a_backlog() {
    let mut config = config();
    config.send_queue_bytes = 64 << 20;
    config.send_queue_total_bytes = 512 * 1024;
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let (mut host_client, _) = host(&url, 1).await;
    let (_deaf, deaf_id) = admitted_guest(&url, &mut host_client, 1, 5).await;
    // Another room talks throughout.
    let (mut host2, host2_id) = host(&url, 2).await;
    let (mut guest2, _) = admitted_guest(&url, &mut host2, 2, 6).await;
    let sent = flood_until_away(&mut host_client, 1, deaf_id).await;
    assert!(
        sent.is_some(),
        "the deaf guest was never closed as too slow"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(relay.metric("confide_queued_bytes").await, 0);
    host2.send(&send_msg(2, None, b"fine")).await;
    expect_delivery(&mut guest2, host2_id, b"fine").await;
}
