//! Every limit closes the offending connection with its own code, and bad
//! input on one connection never disturbs another room.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use confide_relay::config::Config;
use confide_shared::wire::{ClientMessage, MemberId};
use confide_tests::relay::TestRelay;
use confide_tests::ws::*;
use tokio_tungstenite::tungstenite::Message;

/// A second room whose members keep talking while the first misbehaves.
struct Bystanders {
    host: Client,
    host_id: MemberId,
    guest: Client,
    guest_id: MemberId,
}

impl Bystanders {
    async fn new(url: &str, room: u8) -> Self {
        let (mut host_client, host_id) = host(url, room).await;
        let (guest, guest_id) = admitted_guest(url, &mut host_client, room, room + 100).await;
        Bystanders {
            host: host_client,
            host_id,
            guest,
            guest_id,
        }
    }

    async fn still_work(&mut self, room: u8) {
        self.host.send(&send_msg(room, None, b"ping?")).await;
        expect_delivery(&mut self.guest, self.host_id, b"ping?").await;
        self.guest.send(&send_msg(room, None, b"pong!")).await;
        expect_delivery(&mut self.host, self.guest_id, b"pong!").await;
    }
}

fn config() -> Config {
    let mut config = Config::for_tests();
    config.max_message_bytes = 2048;
    config
}

#[tokio::test]
async fn garbage_truncated_binary_and_oversized_close_only_that_connection() {
    let relay = TestRelay::start_with(config()).await;
    let url = relay.ws_url();
    let mut others = Bystanders::new(&url, 1).await;
    let (mut host2, _) = host(&url, 2).await;

    let cases: Vec<(Message, u16)> = vec![
        (Message::text("garbage"), 4000),
        (
            Message::text(r#"{"type":"create_room","v":1,"room":"#),
            4000,
        ),
        (
            Message::text(r#"{"type":"create_room","v":1,"room":"AAAA","host_token":"AAAA"}"#),
            4000,
        ),
        (Message::text(r#"{"type":"launch_missiles"}"#), 4000),
        (Message::binary(vec![0u8, 1, 2, 3]), 4000),
        (Message::text("x".repeat(3000)), 4001),
        (
            Message::text(create_msg(3, 3).to_json().replace("\"v\":1", "\"v\":2")),
            4015,
        ),
    ];
    for (frame, code) in cases {
        let mut bad = Client::connect(&url).await;
        bad.send_raw(frame).await;
        bad.expect_close(code).await;
        others.still_work(1).await;
    }
    // The same inside an established room: the room's other members are not affected.
    host2.send_raw(Message::text("{\"type\":\"send\"")).await;
    host2.expect_close(4000).await;
    others.still_work(1).await;
}

#[tokio::test]
async fn huge_frame_is_cut_off_without_reading_it() {
    let relay = TestRelay::start_with(config()).await;
    let url = relay.ws_url();
    let mut others = Bystanders::new(&url, 1).await;
    let mut bad = Client::connect(&url).await;
    bad.send_raw(Message::binary(vec![7u8; 1 << 20])).await;
    // Beyond the hard limit the WebSocket layer stops reading: 4001 if the
    // close frame makes it before the reset, otherwise just the end.
    let code = bad.closed().await;
    assert!(matches!(code, Some(4001) | None), "{code:?}");
    others.still_work(1).await;
}

#[tokio::test]
async fn rate_limit() {
    let mut config = config();
    config.rate_per_sec = 1;
    config.rate_burst = 10;
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let mut others = Bystanders::new(&url, 1).await;
    let (mut host1, _) = host(&url, 2).await;
    for _ in 0..30 {
        host1.send(&send_msg(2, None, b"flood")).await;
    }
    host1.expect_close(4002).await;
    others.still_work(1).await;
}

#[tokio::test]
async fn rooms_per_connection() {
    let mut config = config();
    config.max_rooms_per_connection = 2;
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let (mut h, _) = host(&url, 1).await;
    h.send(&create_msg(2, 2)).await;
    assert!(matches!(
        h.recv().await,
        confide_shared::wire::ServerMessage::RoomCreated { .. }
    ));
    h.send(&create_msg(3, 3)).await;
    h.expect_close(4003).await;
}

#[tokio::test]
async fn room_full() {
    let mut config = config();
    config.max_participants = 2;
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let (mut h, _) = host(&url, 1).await;
    let (_g, _) = admitted_guest(&url, &mut h, 1, 5).await;
    add_invite(&mut h, 1, 6, None).await;
    let mut third = Client::connect(&url).await;
    third.send(&knock_msg(1, 6, b"x")).await;
    third.expect_close(4004).await;
}

#[tokio::test]
async fn total_connections() {
    let mut config = config();
    config.max_connections = 3;
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let (mut h, hid) = host(&url, 1).await;
    let (mut g, _) = admitted_guest(&url, &mut h, 1, 5).await;
    let _third = Client::connect(&url).await;
    let mut fourth = Client::connect(&url).await;
    fourth.expect_close(4005).await;
    h.send(&send_msg(1, None, b"fine")).await;
    expect_delivery(&mut g, hid, b"fine").await;
    // A slot frees up when someone leaves.
    drop(_third);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut fifth = Client::connect(&url).await;
    fifth.send(&create_msg(2, 2)).await;
    assert!(matches!(
        fifth.recv().await,
        confide_shared::wire::ServerMessage::RoomCreated { .. }
    ));
}

#[tokio::test]
async fn idle_timeout_without_pongs() {
    let mut config = config();
    config.ping_interval = Duration::from_millis(100);
    config.idle_timeout = Duration::from_millis(300);
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let (mut deaf, _) = host(&url, 1).await;
    let (mut alive, _) = host(&url, 2).await;
    // `alive` keeps reading, so it answers the relay's pings; `deaf` does not read at all.
    alive.expect_silence(Duration::from_millis(900)).await;
    deaf.expect_close(4006).await;
    alive
        .send(&ClientMessage::AddInvite {
            room: room_id(2),
            token_hash: invite_token(1).hash(),
            ttl_secs: None,
            opens: None,
            closes: None,
        })
        .await;
    assert!(matches!(
        alive.recv().await,
        confide_shared::wire::ServerMessage::InviteAdded { .. }
    ));
}

#[tokio::test]
async fn absurd_configuration_is_refused_at_start() {
    let mut config = Config::for_tests();
    // About 584 million years: once a room waits for its host, `now + grace`
    // would overflow the clock on platforms with a 64-bit nanosecond Instant.
    config.room_grace = Duration::from_millis(u64::MAX);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let result = tokio::time::timeout(
        Duration::from_secs(2),
        confide_relay::serve_until(listener, config, std::future::pending()),
    )
    .await
    .unwrap_or_else(|_| panic!("the relay started with a room grace of 584 million years"));
    let error = result.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("--room-grace"), "{error}");
}
