//! Floods within a room (issue 14): rate limits count bytes as well as
//! messages, a guest waiting in the lobby has a much tighter byte quota
//! (it can reach only the host, before any code was compared), and a seat
//! keeps its rate limits across reconnect + resume. Every test shows the
//! flood getting through first, then the 4002 close.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use confide_relay::config::Config;
use confide_shared::wire::ServerMessage;
use confide_tests::relay::TestRelay;
use confide_tests::ws::*;

const BIG: usize = 30 * 1024;

#[tokio::test]
async fn byte_rate_limit_stops_a_flood_of_large_messages() {
    let mut config = Config::for_tests();
    // The message rate would allow the flood; the byte rate does not.
    config.rate_per_sec = 1000;
    config.rate_burst = 1000;
    config.rate_bytes_per_sec = Some(10 * 1024);
    config.rate_bytes_burst = Some(200 * 1024);
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let (mut h, hid) = host(&url, 1).await;
    let (mut g, _) = admitted_guest(&url, &mut h, 1, 5).await;
    let payload = vec![7u8; BIG];
    for _ in 0..20 {
        h.send(&send_msg(1, None, &payload)).await;
    }
    h.expect_close(4002).await;
    // The first few got through (about 200 KiB of base64 JSON), then nothing.
    let mut delivered = 0;
    while let Some(Event::Message(msg)) = g.try_next(std::time::Duration::from_millis(300)).await {
        match msg {
            ServerMessage::Deliver { from, .. } if from == hid => delivered += 1,
            ServerMessage::MemberAway { .. } => break,
            other => panic!("{other:?}"),
        }
    }
    assert!((3..=6).contains(&delivered), "delivered {delivered}");
}

#[tokio::test]
async fn a_lobby_member_has_a_tight_byte_quota() {
    let mut config = Config::for_tests();
    config.rate_per_sec = 1000;
    config.rate_burst = 1000;
    config.lobby_bytes_per_sec = 1024;
    config.lobby_bytes_burst = 64 * 1024;
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let (mut h, _) = host(&url, 1).await;
    // An admitted guest may send as much as it likes within the normal limits.
    let (mut admitted, admitted_id) = admitted_guest(&url, &mut h, 1, 5).await;
    let payload = vec![7u8; 8 * 1024];
    for _ in 0..12 {
        admitted.send(&send_msg(1, None, &payload)).await;
        expect_delivery(&mut h, admitted_id, &payload).await;
    }
    // A guest still in the lobby floods the host with the same messages.
    add_invite(&mut h, 1, 6, None).await;
    let (mut lobby, lobby_id) = knock(&url, &mut h, 1, 6).await;
    for _ in 0..12 {
        lobby.send(&send_msg(1, None, &payload)).await;
    }
    lobby.expect_close(4002).await;
    let mut delivered = 0;
    loop {
        match h.recv().await {
            ServerMessage::Deliver { from, .. } if from == lobby_id => delivered += 1,
            ServerMessage::MemberAway { member, .. } if member == lobby_id => break,
            other => panic!("{other:?}"),
        }
    }
    // 64 KiB of quota: about five 8 KiB payloads after base64.
    assert!((3..=6).contains(&delivered), "delivered {delivered}");
}

#[tokio::test]
async fn resume_does_not_refill_the_rate_limit() {
    let mut config = Config::for_tests();
    config.rate_per_sec = 1;
    config.rate_burst = 10;
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let (mut h, _) = host(&url, 1).await;
    let (mut g, gid) = admitted_guest(&url, &mut h, 1, 5).await;
    // Nine of ten messages spent (the knock was the first).
    for _ in 0..8 {
        g.send(&send_msg(1, None, b"x")).await;
        expect_delivery(&mut h, gid, b"x").await;
    }
    drop(g);
    assert!(matches!(h.recv().await, ServerMessage::MemberAway { .. }));
    // Back on a new connection: the seat's bucket, not a fresh one.
    let mut again = Client::connect(&url).await;
    again.send(&resume_msg(1, gid, 5)).await;
    assert!(matches!(again.recv().await, ServerMessage::Admitted { .. }));
    assert!(matches!(h.recv().await, ServerMessage::MemberJoined { .. }));
    for _ in 0..6 {
        again.send(&send_msg(1, None, b"y")).await;
    }
    again.expect_close(4002).await;
}
