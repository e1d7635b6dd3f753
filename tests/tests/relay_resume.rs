//! A page reload within the grace period keeps the room; after it, the room is gone.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use confide_relay::config::Config;
use confide_shared::wire::ServerMessage;
use confide_tests::relay::TestRelay;
use confide_tests::ws::*;

fn config() -> Config {
    let mut config = Config::for_tests();
    config.room_grace = Duration::from_millis(600);
    config
}

#[tokio::test]
async fn host_and_guest_resume_within_the_grace_period() {
    let relay = TestRelay::start_with(config()).await;
    let url = relay.ws_url();
    let (mut h, hid) = host(&url, 1).await;
    let (mut g, gid) = admitted_guest(&url, &mut h, 1, 5).await;

    // The host reloads.
    drop(h);
    assert_eq!(
        g.recv().await,
        ServerMessage::MemberAway {
            room: room_id(1),
            member: hid
        }
    );
    let mut h = Client::connect(&url).await;
    h.send(&create_msg(1, 1)).await;
    assert_eq!(
        h.recv().await,
        ServerMessage::RoomCreated {
            room: room_id(1),
            member: hid,
            resumed: true,
            members: vec![gid],
            lobby: vec![]
        }
    );
    assert_eq!(
        g.recv().await,
        ServerMessage::MemberJoined {
            room: room_id(1),
            member: hid
        }
    );

    // The guest reloads.
    drop(g);
    assert_eq!(
        h.recv().await,
        ServerMessage::MemberAway {
            room: room_id(1),
            member: gid
        }
    );
    let mut g = Client::connect(&url).await;
    g.send(&resume_msg(1, gid, 5)).await;
    assert_eq!(
        g.recv().await,
        ServerMessage::Admitted {
            room: room_id(1),
            member: gid,
            host: hid,
            members: vec![hid]
        }
    );
    assert_eq!(
        h.recv().await,
        ServerMessage::MemberJoined {
            room: room_id(1),
            member: gid
        }
    );
    h.send(&send_msg(1, None, b"welcome back")).await;
    expect_delivery(&mut g, hid, b"welcome back").await;

    // A wrong resume secret is refused.
    let mut impostor = Client::connect(&url).await;
    impostor.send(&resume_msg(1, gid, 6)).await;
    impostor.expect_close(4017).await;
}

#[tokio::test]
async fn room_survives_while_empty_for_less_than_the_grace_period() {
    let relay = TestRelay::start_with(config()).await;
    let url = relay.ws_url();
    let (mut h, hid) = host(&url, 1).await;
    let (g, gid) = admitted_guest(&url, &mut h, 1, 5).await;
    drop(g);
    drop(h);
    tokio::time::sleep(Duration::from_millis(250)).await;
    let mut g = Client::connect(&url).await;
    g.send(&resume_msg(1, gid, 5)).await;
    assert_eq!(
        g.recv().await,
        ServerMessage::Admitted {
            room: room_id(1),
            member: gid,
            host: hid,
            members: vec![]
        }
    );
}

#[tokio::test]
async fn after_the_grace_period_the_room_is_gone() {
    let relay = TestRelay::start_with(config()).await;
    let url = relay.ws_url();
    let (mut h, _) = host(&url, 1).await;
    let (g, gid) = admitted_guest(&url, &mut h, 1, 5).await;
    drop(g);
    drop(h);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut g = Client::connect(&url).await;
    g.send(&resume_msg(1, gid, 5)).await;
    // Like a wrong secret (4017): no word on whether the room existed.
    g.expect_close(4017).await;
    // The host token no longer means anything: creating gives a fresh room.
    let mut h = Client::connect(&url).await;
    h.send(&create_msg(1, 1)).await;
    assert!(matches!(
        h.recv().await,
        ServerMessage::RoomCreated { resumed: false, .. }
    ));
}

#[tokio::test]
async fn away_guest_loses_its_place_after_the_grace_period() {
    let relay = TestRelay::start_with(config()).await;
    let url = relay.ws_url();
    let (mut h, _) = host(&url, 1).await;
    let (g, gid) = admitted_guest(&url, &mut h, 1, 5).await;
    drop(g);
    assert_eq!(
        h.recv().await,
        ServerMessage::MemberAway {
            room: room_id(1),
            member: gid
        }
    );
    assert_eq!(
        h.recv().await,
        ServerMessage::MemberLeft {
            room: room_id(1),
            member: gid
        }
    );
    let mut g = Client::connect(&url).await;
    g.send(&resume_msg(1, gid, 5)).await;
    g.expect_close(4017).await;
}
