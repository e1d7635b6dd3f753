//! One client must not be able to take the relay away from everyone else
//! (issue 14): per-source connection caps, the first-message deadline, the
//! cap on not-yet-identified connections, and room budgets that rooms in
//! their grace period still count against. Every test first shows that the
//! attack really happened (the attacker's sockets were accepted, its rooms
//! were created) and then that a legitimate counsellor and guest still get in.
//!
//! All on loopback: 127.0.0.1 is the attacker, 127.0.0.2/3 are other
//! sources. The test relays apply the per-source limits to loopback
//! (`limit_loopback`), which the real relay exempts (a local reverse proxy).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use confide_relay::config::Config;
use confide_shared::wire::{ClientMessage, MemberId, ServerMessage};
use confide_tests::relay::TestRelay;
use confide_tests::ws::*;

const ATTACKER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const COUNSELLOR: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const GUEST: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

fn config() -> Config {
    let mut config = Config::for_tests();
    config.limit_loopback = true;
    config
}

/// Creates room `room` from `from`; returns the host's client and member id.
async fn host_from(url: &str, from: IpAddr, room: u8) -> (Client, MemberId) {
    let mut client = Client::connect_from(url, from).await;
    client.send(&create_msg(room, room)).await;
    match client.recv().await {
        ServerMessage::RoomCreated { member, .. } => (client, member),
        other => panic!("expected room_created, got {other:?}"),
    }
}

/// A counsellor from 127.0.0.2 creates `room`, a guest from 127.0.0.3 knocks,
/// is admitted, and both exchange a message.
async fn legitimate_session(url: &str, room: u8) -> (Client, Client) {
    let (mut host, host_id) = host_from(url, COUNSELLOR, room).await;
    add_invite(&mut host, room, room, None).await;
    let mut guest = Client::connect_from(url, GUEST).await;
    guest.send(&knock_msg(room, room, b"knock")).await;
    let guest_id = match guest.recv().await {
        ServerMessage::Waiting { member, .. } => member,
        other => panic!("expected waiting, got {other:?}"),
    };
    assert!(matches!(host.recv().await, ServerMessage::Knocked { .. }));
    host.send(&ClientMessage::Admit {
        room: room_id(room),
        member: guest_id,
    })
    .await;
    assert!(matches!(guest.recv().await, ServerMessage::Admitted { .. }));
    assert!(matches!(
        host.recv().await,
        ServerMessage::MemberJoined { .. }
    ));
    host.send(&send_msg(room, None, b"hello")).await;
    expect_delivery(&mut guest, host_id, b"hello").await;
    guest.send(&send_msg(room, None, b"hi")).await;
    expect_delivery(&mut host, guest_id, b"hi").await;
    (host, guest)
}

/// Opens `n` connections from `from` that say nothing; returns those the
/// relay kept open and the close codes of those it refused at once.
async fn idle_sockets(url: &str, from: IpAddr, n: usize) -> (Vec<Client>, Vec<Option<u16>>) {
    let mut held = Vec::new();
    let mut refused = Vec::new();
    for _ in 0..n {
        let mut client = Client::connect_from(url, from).await;
        match tokio::time::timeout(Duration::from_millis(150), client.closed()).await {
            Ok(code) => refused.push(code),
            Err(_) => held.push(client),
        }
    }
    (held, refused)
}

#[tokio::test]
async fn one_source_cannot_hold_every_connection_slot() {
    let mut config = config();
    config.max_connections = 20;
    config.max_connections_per_source = 8;
    config.max_unidentified = Some(20);
    config.first_message_timeout = Duration::from_secs(30);
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();

    // The attacker asks for twice its cap of idle sockets from one address.
    let (held, refused) = idle_sockets(&url, ATTACKER, 16).await;
    assert_eq!(held.len(), 8, "the attacker holds its cap of sockets");
    assert_eq!(refused, vec![Some(4005); 8], "the rest are refused");
    // A seventeenth is refused as well.
    let mut more = Client::connect_from(&url, ATTACKER).await;
    more.expect_close(4005).await;

    // Everyone else still gets in, and the attacker's sockets are still held.
    let (_host, _guest) = legitimate_session(&url, 1).await;
    for mut socket in held {
        socket.expect_silence(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn fresh_connections_must_identify_in_time() {
    let mut config = config();
    config.max_connections_per_source = 100;
    config.first_message_timeout = Duration::from_millis(400);
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let (mut host, _) = host_from(&url, COUNSELLOR, 1).await;
    let (held, refused) = idle_sockets(&url, ATTACKER, 5).await;
    assert_eq!((held.len(), refused.len()), (5, 0), "accepted at first");
    for mut socket in held {
        socket.expect_close(4006).await;
    }
    // A host that identified itself in time is not affected.
    add_invite(&mut host, 1, 9, None).await;
}

#[tokio::test]
async fn unidentified_connections_are_capped() {
    let mut config = config();
    config.max_connections_per_source = 100;
    config.max_unidentified = Some(3);
    config.first_message_timeout = Duration::from_millis(600);
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    // A host identified itself: it does not take one of the three slots.
    let (mut host, _) = host_from(&url, COUNSELLOR, 1).await;
    let (held, refused) = idle_sockets(&url, ATTACKER, 5).await;
    assert_eq!(held.len(), 3, "the attacker holds every unidentified slot");
    assert_eq!(refused, vec![Some(4005); 2]);
    add_invite(&mut host, 1, 9, None).await;
    // The deadline frees the slots again.
    for mut socket in held {
        socket.expect_close(4006).await;
    }
    let (_host, _guest) = legitimate_session(&url, 2).await;
}

#[tokio::test]
async fn create_and_leave_cannot_fill_the_room_table() {
    let mut config = config();
    config.max_rooms_per_connection = 2;
    config.max_rooms = 6;
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    // One socket creates and leaves rooms: the rooms it left live on (grace
    // period) and keep counting against its budget.
    let mut attacker = Client::connect_from(&url, ATTACKER).await;
    for room in 10..12 {
        attacker.send(&create_msg(room, room)).await;
        assert!(matches!(
            attacker.recv().await,
            ServerMessage::RoomCreated { .. }
        ));
        attacker
            .send(&ClientMessage::Leave {
                room: room_id(room),
            })
            .await;
    }
    attacker.send(&create_msg(12, 12)).await;
    attacker.expect_close(4003).await;
    // Coming back to a room it left is not a new room: still allowed.
    let mut back = Client::connect_from(&url, ATTACKER).await;
    back.send(&create_msg(10, 10)).await;
    assert!(matches!(
        back.recv().await,
        ServerMessage::RoomCreated { resumed: true, .. }
    ));
    let (_host, _guest) = legitimate_session(&url, 1).await;
}

#[tokio::test]
async fn one_source_cannot_fill_the_room_table_by_reconnecting() {
    let mut config = config();
    config.max_rooms_per_connection = 2;
    config.max_rooms_per_source = 3;
    config.max_rooms = 6;
    config.room_grace = Duration::from_millis(500);
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    // New sockets from one source each create rooms and go away; the rooms
    // stay for their grace period.
    let mut created = 0;
    let mut refused = 0;
    for n in 0..3u8 {
        let mut attacker = Client::connect_from(&url, ATTACKER).await;
        for room in [10 + 2 * n, 11 + 2 * n] {
            attacker.send(&create_msg(room, room)).await;
            match attacker.next_event().await {
                Event::Message(ServerMessage::RoomCreated { .. }) => created += 1,
                Event::Closed(Some((4003, _))) => {
                    refused += 1;
                    break;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(created, 3, "the attacker's rooms up to its source budget");
    assert_eq!(refused, 2, "then every socket from that source is refused");
    // Other sources still create rooms (the relay holds 6).
    let (_host, _guest) = legitimate_session(&url, 1).await;
    let (_host2, _) = host_from(&url, GUEST, 2).await;
    // When the attacker's rooms expire, its budget is back.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (_again, _) = host_from(&url, ATTACKER, 20).await;
}
