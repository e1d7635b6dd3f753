//! Appointments (issue 15) through the real relay over loopback WebSockets:
//! a planned room (`create_room.keep_until`) with an invite window
//! (`add_invite.opens/closes`), windows of a few seconds of real time.
//! The relay takes unix time from the system clock, as in production.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use confide_relay::config::Config;
use confide_shared::wire::{ClientMessage, MemberId, ServerMessage};
use confide_tests::relay::TestRelay;
use confide_tests::ws::*;

/// The longest a test waits for the relay to forget something.
const BOUND: Duration = Duration::from_secs(30);

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// Sleeps until unix time `secs` has begun (and a little more).
async fn sleep_until(secs: u64) {
    let target = Duration::from_secs(secs) + Duration::from_millis(50);
    tokio::time::sleep(target.saturating_sub(unix_now())).await;
}

fn planned_create(room: u8, keep_until: Option<u64>) -> ClientMessage {
    ClientMessage::CreateRoom {
        v: 1,
        room: room_id(room),
        host_token: host_token(room),
        counsellor: counsellor_token(),
        keep_until,
    }
}

/// The counsellor's tab registers room `room`, kept until `keep_until`;
/// returns the connection, the host's member id and whether the relay knew the room.
async fn plan(url: &str, room: u8, keep_until: Option<u64>) -> (Client, MemberId, bool) {
    let mut tab = Client::connect(url).await;
    tab.send(&planned_create(room, keep_until)).await;
    match tab.recv().await {
        ServerMessage::RoomCreated {
            member, resumed, ..
        } => (tab, member, resumed),
        other => panic!("expected room_created, got {other:?}"),
    }
}

/// The tab registers invite `invite` for `[opens, closes)`; returns `invite_added.ttl_secs`.
async fn add_window(tab: &mut Client, room: u8, invite: u8, opens: u64, closes: u64) -> u32 {
    tab.send(&ClientMessage::AddInvite {
        room: room_id(room),
        token_hash: invite_token(invite).hash(),
        ttl_secs: None,
        opens: Some(opens),
        closes: Some(closes),
    })
    .await;
    match tab.recv().await {
        ServerMessage::InviteAdded { ttl_secs, .. } => ttl_secs,
        other => panic!("expected invite_added, got {other:?}"),
    }
}

/// A guest knocks with `invite` and expects to wait in the lobby.
async fn knock_waiting(url: &str, room: u8, invite: u8, payload: &[u8]) -> (Client, MemberId) {
    let mut guest = Client::connect(url).await;
    guest.send(&knock_msg(room, invite, payload)).await;
    match guest.recv().await {
        ServerMessage::Waiting { member, .. } => (guest, member),
        other => panic!("expected waiting, got {other:?}"),
    }
}

/// A knock that does not get in: closed with 4007.
async fn knock_refused(url: &str, room: u8, invite: u8) {
    let mut guest = Client::connect(url).await;
    guest.send(&knock_msg(room, invite, b"refused")).await;
    guest.expect_close(4007).await;
}

/// Polls `/metrics` until `name` is `value` (bounded: panics after [`BOUND`]).
async fn wait_for_metric(relay: &TestRelay, name: &str, value: u64) {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let now = relay.metric(name).await;
        if now == value {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} is still {now}, not {value}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn with_metrics() -> Config {
    let mut config = Config::for_tests();
    config.metrics = true;
    config
}

async fn admit(tab: &mut Client, guest: &mut Client, room: u8, member: MemberId, host: MemberId) {
    tab.send(&ClientMessage::Admit {
        room: room_id(room),
        member,
    })
    .await;
    loop {
        match guest.recv().await {
            ServerMessage::Admitted {
                member: m, host: h, ..
            } => {
                assert_eq!((m, h), (member, host));
                break;
            }
            ServerMessage::MemberJoined { member: m, .. } => assert_eq!(m, host),
            other => panic!("expected admitted, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_window_lets_knocks_in_only_while_it_is_open() {
    let relay = TestRelay::start(None).await;
    let url = relay.ws_url();
    let t = unix_now().as_secs();
    let (opens, closes) = (t + 3, t + 6);
    let (mut tab, host, resumed) = plan(&url, 1, Some(closes)).await;
    assert!(!resumed);
    let ttl = add_window(&mut tab, 1, 2, opens, closes).await;
    assert!(
        (1..=6).contains(&ttl),
        "ttl_secs {ttl} = seconds until closes"
    );
    add_window(&mut tab, 1, 3, opens, closes).await;

    // Before the window: the answer of an unknown invite; the host hears nothing.
    knock_refused(&url, 1, 2).await;
    assert!(
        unix_now().as_secs() < opens,
        "the early knock came before the window"
    );
    tab.expect_silence(Duration::from_millis(200)).await;

    // Inside: the same invite (not used up by the early knock) gets in.
    sleep_until(opens).await;
    let (mut guest, g) = knock_waiting(&url, 1, 2, b"in time").await;
    match tab.recv().await {
        ServerMessage::Knocked {
            member, payload, ..
        } => assert_eq!((member, payload.0.as_slice()), (g, &b"in time"[..])),
        other => panic!("expected knocked, got {other:?}"),
    }

    // From `closes` on: refused, although invite 3 was never used.
    sleep_until(closes).await;
    knock_refused(&url, 1, 3).await;
    // The guest who came in time is still let in.
    admit(&mut tab, &mut guest, 1, g, host).await;
}

#[tokio::test]
async fn a_knock_before_the_counsellor_arrives_reaches_her_when_she_does() {
    // With ICE servers (an external STUN server), so that their place is checked too.
    let mut config = with_metrics();
    config.ice_server = vec!["stun:stun.example.org:3478".into()];
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let t = unix_now().as_secs();
    let keep = t + 120;
    let (mut tab, host, _) = plan(&url, 1, Some(keep)).await;
    assert!(matches!(tab.recv().await, ServerMessage::IceServers { .. }));
    add_window(&mut tab, 1, 2, t, keep).await;
    // The counsellor closes her tab; the relay has let go of it.
    drop(tab);
    wait_for_metric(&relay, "confide_connections", 0).await;
    assert_eq!(relay.metric("confide_rooms").await, 1);

    let (mut guest, g) = knock_waiting(&url, 1, 2, b"sealed knock for the counsellor").await;

    // She opens confide later: her seat, its ICE servers, then the knock she missed.
    let mut tab = Client::connect(&url).await;
    tab.send(&create_msg(1, 1)).await;
    match tab.recv().await {
        ServerMessage::RoomCreated {
            member,
            resumed,
            lobby,
            ..
        } => {
            assert_eq!(member, host);
            assert!(resumed);
            assert_eq!(lobby, vec![g]);
        }
        other => panic!("expected room_created, got {other:?}"),
    }
    assert!(matches!(tab.recv().await, ServerMessage::IceServers { .. }));
    match tab.recv().await {
        ServerMessage::Knocked {
            member, payload, ..
        } => {
            assert_eq!(member, g);
            assert_eq!(payload.0, b"sealed knock for the counsellor");
        }
        other => panic!("expected the held knock, got {other:?}"),
    }
    admit(&mut tab, &mut guest, 1, g, host).await;
    match tab.recv().await {
        ServerMessage::MemberJoined { member, .. } => assert_eq!(member, g),
        other => panic!("expected member_joined, got {other:?}"),
    }
}

#[tokio::test]
async fn after_a_relay_restart_the_counsellors_registration_lets_the_guest_in() {
    let first = TestRelay::start(None).await;
    let t = unix_now().as_secs();
    let keep = t + 120;
    let (mut tab, _, _) = plan(&first.ws_url(), 1, Some(keep)).await;
    add_window(&mut tab, 1, 2, t, keep).await;

    // The relay restarts: the tab is told, and nothing survives.
    first.shutdown().await.unwrap();
    assert_eq!(tab.recv().await, ServerMessage::ShuttingDown);
    tab.expect_close(1001).await;
    let second = TestRelay::start(None).await;
    let url = second.ws_url();
    knock_refused(&url, 1, 2).await;

    // The tab registers the planned room and its invite again.
    let (mut tab, host, resumed) = plan(&url, 1, Some(keep)).await;
    assert!(!resumed, "a new relay does not know the room");
    add_window(&mut tab, 1, 2, t, keep).await;
    let (mut guest, g) = knock_waiting(&url, 1, 2, b"after the restart").await;
    match tab.recv().await {
        ServerMessage::Knocked { member, .. } => assert_eq!(member, g),
        other => panic!("expected knocked, got {other:?}"),
    }
    admit(&mut tab, &mut guest, 1, g, host).await;
}

#[tokio::test]
async fn nothing_about_a_planned_room_remains_after_its_window() {
    let mut config = with_metrics();
    config.room_grace = Duration::from_secs(1);
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let t = unix_now().as_secs();
    let keep = t + 6;
    let (mut tab, _, _) = plan(&url, 1, Some(keep)).await;
    add_window(&mut tab, 1, 2, t, keep).await;
    let (guest, g) = knock_waiting(&url, 1, 2, b"waiting").await;
    // Both go away: the guest's phone sleeps in the lobby, the counsellor closes her tab.
    drop(guest);
    drop(tab);
    wait_for_metric(&relay, "confide_connections", 0).await;

    // Well past the grace period (1 s) the room and the guest's seat are still there.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(relay.metric("confide_rooms").await, 1);
    let mut guest = Client::connect(&url).await;
    guest.send(&resume_msg(1, g, 2)).await;
    match guest.recv().await {
        ServerMessage::Waiting { member, .. } => assert_eq!(member, g),
        other => panic!("expected waiting, got {other:?}"),
    }
    assert!(
        unix_now().as_secs() < keep,
        "the room was checked before keep_until"
    );
    drop(guest);

    // After keep_until the relay forgets the room.
    wait_for_metric(&relay, "confide_rooms", 0).await;
    assert!(
        unix_now().as_secs() >= keep,
        "forgotten only after keep_until"
    );
    let mut guest = Client::connect(&url).await;
    guest.send(&resume_msg(1, g, 2)).await;
    guest.expect_close(4017).await;
    knock_refused(&url, 1, 2).await;
    let (_tab, _, resumed) = plan(&url, 1, None).await;
    assert!(!resumed, "the same token makes a new room");
}
