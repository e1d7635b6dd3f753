//! Rooms, invites, lobby and routing through the real relay over loopback WebSockets.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use confide_relay::config::Config;
use confide_shared::wire::{ClientMessage, ErrorCode, ServerMessage};
use confide_tests::relay::TestRelay;
use confide_tests::ws::*;

const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn routing_stays_in_the_room_and_out_of_the_lobby() {
    let relay = TestRelay::start(None).await;
    let url = relay.ws_url();
    let (mut host1, h1) = host(&url, 1).await;
    let (mut guest1, g1) = admitted_guest(&url, &mut host1, 1, 11).await;
    add_invite(&mut host1, 1, 12).await;
    let (mut lobby1, l1) = knock(&url, &mut host1, 1, 12).await;
    let (mut host2, _) = host(&url, 2).await;
    let (mut guest2, _) = admitted_guest(&url, &mut host2, 2, 21).await;

    // Broadcast from the host: the admitted guest only.
    host1.send(&send_msg(1, None, b"to all")).await;
    expect_delivery(&mut guest1, h1, b"to all").await;
    // Broadcast from the guest: the host only.
    guest1.send(&send_msg(1, None, b"from guest")).await;
    expect_delivery(&mut host1, g1, b"from guest").await;
    // Direct to the guest.
    host1.send(&send_msg(1, Some(g1), b"direct")).await;
    expect_delivery(&mut guest1, h1, b"direct").await;
    // The host answers the knock; the lobby member answers back (to the host only).
    host1.send(&send_msg(1, Some(l1), b"answer")).await;
    expect_delivery(&mut lobby1, h1, b"answer").await;
    lobby1.send(&send_msg(1, None, b"lobby says")).await;
    expect_delivery(&mut host1, l1, b"lobby says").await;
    // An admitted guest cannot address the lobby member.
    guest1.send(&send_msg(1, Some(l1), b"psst")).await;
    assert_eq!(
        guest1.recv().await,
        ServerMessage::Error {
            code: ErrorCode::UnknownMember,
            room: Some(room_id(1))
        }
    );

    // Nobody else received anything.
    lobby1.expect_silence(QUIET).await;
    host2.expect_silence(Duration::ZERO).await;
    guest2.expect_silence(Duration::ZERO).await;

    // A member of room 2 cannot send into room 1: closed, and room 1 hears nothing.
    guest2.send(&send_msg(1, None, b"intruder")).await;
    guest2.expect_close(4000).await;
    host1.expect_silence(QUIET).await;
    guest1.expect_silence(Duration::ZERO).await;
}

/// `add_invite` helper with the default TTL.
async fn add_invite<S>(host: &mut confide_tests::ws::WsClient<S>, room: u8, invite: u8)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    confide_tests::ws::add_invite(host, room, invite, None).await;
}

#[tokio::test]
async fn invite_reuse_is_refused_even_while_the_first_guest_waits() {
    let relay = TestRelay::start(None).await;
    let url = relay.ws_url();
    let (mut host1, _) = host(&url, 1).await;
    add_invite(&mut host1, 1, 5).await;
    let (mut first, _) = knock(&url, &mut host1, 1, 5).await;

    let mut second = Client::connect(&url).await;
    second.send(&knock_msg(1, 5, b"again")).await;
    // The same code as for any link that does not get in.
    second.expect_close(4007).await;
    // The host did not hear of the second knock; the first guest still waits.
    host1.expect_silence(QUIET).await;
    first.expect_silence(Duration::ZERO).await;
}

#[tokio::test]
async fn unknown_invite_and_unknown_room_are_refused_alike() {
    let relay = TestRelay::start(None).await;
    let url = relay.ws_url();
    let (_host1, _) = host(&url, 1).await;
    // A live room with a wrong invite, and a room that does not exist: one
    // answer, so an old link cannot tell whether its session still runs.
    let mut guest = Client::connect(&url).await;
    guest.send(&knock_msg(1, 99, b"x")).await;
    guest.expect_close(4007).await;
    let mut guest = Client::connect(&url).await;
    guest.send(&knock_msg(42, 99, b"x")).await;
    guest.expect_close(4007).await;
}

#[tokio::test]
async fn expired_invite_is_refused() {
    let mut config = Config::for_tests();
    config.invite_ttl_max = Duration::from_millis(200);
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let (mut host1, _) = host(&url, 1).await;
    add_invite(&mut host1, 1, 5).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut guest = Client::connect(&url).await;
    guest.send(&knock_msg(1, 5, b"late")).await;
    guest.expect_close(4007).await;
}

#[tokio::test]
async fn lobby_admit_and_reject() {
    let relay = TestRelay::start(None).await;
    let url = relay.ws_url();
    let (mut host1, h) = host(&url, 1).await;
    add_invite(&mut host1, 1, 5).await;
    add_invite(&mut host1, 1, 6).await;
    let (mut a, ma) = knock(&url, &mut host1, 1, 5).await;
    let (mut b, mb) = knock(&url, &mut host1, 1, 6).await;

    host1
        .send(&ClientMessage::Admit {
            room: room_id(1),
            member: ma,
        })
        .await;
    assert_eq!(
        a.recv().await,
        ServerMessage::Admitted {
            room: room_id(1),
            member: ma,
            host: h,
            members: vec![h]
        }
    );
    assert_eq!(
        host1.recv().await,
        ServerMessage::MemberJoined {
            room: room_id(1),
            member: ma
        }
    );

    host1
        .send(&ClientMessage::Reject {
            room: room_id(1),
            member: mb,
        })
        .await;
    assert_eq!(b.recv().await, ServerMessage::Rejected { room: room_id(1) });
    b.expect_close(4010).await;
    assert_eq!(
        host1.recv().await,
        ServerMessage::MemberLeft {
            room: room_id(1),
            member: mb
        }
    );
    // The lobby member never appeared to the admitted guest.
    a.expect_silence(QUIET).await;
}

#[tokio::test]
async fn removed_participant_is_disconnected_and_cannot_send() {
    let relay = TestRelay::start(None).await;
    let url = relay.ws_url();
    let (mut host1, h) = host(&url, 1).await;
    let (mut a, ma) = admitted_guest(&url, &mut host1, 1, 5).await;
    let (mut b, mb) = admitted_guest(&url, &mut host1, 1, 6).await;
    assert_eq!(
        a.recv().await,
        ServerMessage::MemberJoined {
            room: room_id(1),
            member: mb
        }
    );
    host1
        .send(&ClientMessage::Remove {
            room: room_id(1),
            member: mb,
        })
        .await;
    assert_eq!(b.recv().await, ServerMessage::Removed { room: room_id(1) });
    b.expect_close(4011).await;
    for client in [&mut host1, &mut a] {
        assert_eq!(
            client.recv().await,
            ServerMessage::MemberLeft {
                room: room_id(1),
                member: mb
            }
        );
    }
    // The removed guest cannot come back with its resume secret either.
    let mut back = Client::connect(&url).await;
    back.send(&resume_msg(1, mb, 6)).await;
    back.expect_close(4017).await;
    // The others still talk.
    a.send(&send_msg(1, None, b"still here")).await;
    expect_delivery(&mut host1, ma, b"still here").await;
    host1.send(&send_msg(1, None, b"yes")).await;
    expect_delivery(&mut a, h, b"yes").await;
}

#[tokio::test]
async fn end_session_closes_everyone_and_deletes_the_room() {
    let relay = TestRelay::start(None).await;
    let url = relay.ws_url();
    let (mut host1, _) = host(&url, 1).await;
    let (mut a, _) = admitted_guest(&url, &mut host1, 1, 5).await;
    host1
        .send(&ClientMessage::EndSession { room: room_id(1) })
        .await;
    assert_eq!(
        a.recv().await,
        ServerMessage::SessionEnded { room: room_id(1) }
    );
    a.expect_close(4012).await;
    assert_eq!(
        host1.recv().await,
        ServerMessage::SessionEnded { room: room_id(1) }
    );
    let mut late = Client::connect(&url).await;
    late.send(&knock_msg(1, 6, b"x")).await;
    late.expect_close(4007).await;
}

#[tokio::test]
async fn second_create_with_another_token_is_refused() {
    let relay = TestRelay::start(None).await;
    let url = relay.ws_url();
    let (mut host1, _) = host(&url, 1).await;
    let mut squatter = Client::connect(&url).await;
    squatter.send(&create_msg(1, 77)).await;
    squatter.expect_close(4016).await;
    host1.expect_silence(QUIET).await;
}

/// The squatting finding: a signed-in counsellor who knows a room id (from a
/// link) but not its host token cannot create the room first, e.g. after a
/// restart; the honest host creates it, and re-creates it after a reload.
#[tokio::test]
async fn a_room_id_is_created_only_with_its_host_token() {
    let relay = TestRelay::start(None).await;
    let url = relay.ws_url();
    let mut squatter = Client::connect(&url).await;
    squatter.send(&create_msg(1, 77)).await;
    squatter.expect_close(4021).await;
    // The refusal made no room: the honest host's create is a fresh room.
    let (mut host1, _) = host(&url, 1).await;
    add_invite(&mut host1, 1, 5).await;
    drop(host1);
    // The host's reload: a new connection re-creates it with the same token
    // and gets the room back, with its invite.
    let mut again = Client::connect(&url).await;
    again.send(&create_msg(1, 1)).await;
    match again.recv().await {
        ServerMessage::RoomCreated { resumed, .. } => assert!(resumed),
        other => panic!("expected room_created, got {other:?}"),
    }
    let mut guest = Client::connect(&url).await;
    guest.send(&knock_msg(1, 5, b"x")).await;
    assert!(matches!(again.recv().await, ServerMessage::Knocked { .. }));
}

#[tokio::test]
async fn healthz_and_security_headers() {
    let relay = TestRelay::start(None).await;
    let response = raw_get(relay.addr, "/healthz").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let lower = response.to_ascii_lowercase();
    assert!(lower.contains("content-security-policy:"));
    assert!(lower.contains("referrer-policy: no-referrer"));
    assert!(!lower.contains("strict-transport-security"));
    // Metrics are off by default.
    assert!(
        raw_get(relay.addr, "/metrics")
            .await
            .starts_with("HTTP/1.1 404")
    );
}

#[tokio::test]
async fn metrics_are_aggregate_counts_only() {
    let mut config = Config::for_tests();
    config.metrics = true;
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let (mut host1, h) = host(&url, 1).await;
    let (mut a, _) = admitted_guest(&url, &mut host1, 1, 5).await;
    host1.send(&send_msg(1, None, b"x")).await;
    expect_delivery(&mut a, h, b"x").await;
    let mut bad = Client::connect(&url).await;
    bad.send_raw(tokio_tungstenite::tungstenite::Message::text("nope"))
        .await;
    bad.expect_close(4000).await;
    let response = raw_get(relay.addr, "/metrics").await;
    assert!(response.contains("confide_connections 2"), "{response}");
    assert!(response.contains("confide_rooms 1"));
    assert!(response.contains("confide_messages_forwarded_total 1"));
    assert!(response.contains("confide_errors_total{kind=\"protocol_error\"} 1"));
    assert!(!response.contains(&room_id(1).to_base64()));
}

/// A minimal HTTP/1.1 GET over plain TCP, returning the whole response.
async fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).await.unwrap();
    response
}

/// Only a counsellor's sign-in made with the relay's key, not revoked, creates
/// a room; guests with an invite need none. Revocations are read while the
/// relay runs.
#[tokio::test]
async fn only_signed_in_counsellors_create_rooms() {
    use confide_relay::counsellor::{CounsellorId, CounsellorKey};
    use confide_shared::wire::CounsellorToken;
    use tokio_tungstenite::tungstenite::Message;

    let dir = std::env::temp_dir().join(format!("confide-rooms-access-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let revoked = dir.join("revoked");
    let gone = CounsellorId([2; 16]);
    std::fs::write(&revoked, format!("{gone} Former colleague\n")).unwrap();
    let mut config = Config::for_tests();
    config.counsellor_revoked = Some(revoked.clone());
    let relay = TestRelay::start_with(config).await;
    let url = relay.ws_url();
    let key = Config::test_counsellor_key();
    let create_with = |room: u8, counsellor: CounsellorToken| ClientMessage::CreateRoom {
        v: 1,
        room: room_id(room),
        host_token: host_token(room),
        counsellor,
        keep_until: None,
    };

    let mut forged = *counsellor_token().as_bytes();
    forged[47] ^= 1;
    let refused = [
        ("forged", CounsellorToken::from_bytes(forged)),
        (
            "another key",
            CounsellorKey::from_bytes([0x43; 32]).token(&CounsellorId([1; 16])),
        ),
        ("revoked", key.token(&gone)),
    ];
    for (what, token) in refused {
        let mut client = Client::connect(&url).await;
        client.send(&create_with(1, token)).await;
        // The first and only event: the close, no room_created.
        match client.next_event().await {
            Event::Closed(Some((code, _))) => assert_eq!(code, 4020, "{what}"),
            other => panic!("{what}: expected close 4020, got {other:?}"),
        }
    }
    // No sign-in at all: the message is malformed.
    let mut bare = Client::connect(&url).await;
    bare.send_raw(Message::text(format!(
        r#"{{"type":"create_room","v":1,"room":"{}","host_token":"{}"}}"#,
        room_id(1).to_base64(),
        host_token(1).to_base64()
    )))
    .await;
    bare.expect_close(4000).await;

    // None of them made the room: it does not exist, and the counsellor gets it.
    let mut stranger = Client::connect(&url).await;
    stranger.send(&knock_msg(1, 9, b"anyone?")).await;
    stranger.expect_close(4007).await;
    let (mut host1, h1) = host(&url, 1).await;
    // A guest with an invite needs no sign-in.
    let (mut guest, _) = admitted_guest(&url, &mut host1, 1, 6).await;

    // Revoked while the relay runs: refused from the next create_room on
    // (the file is read again within seconds), the room already open lives on.
    let anna = CounsellorId([1; 16]);
    std::fs::write(&revoked, format!("{gone}\n{anna} Anna\n")).unwrap();
    let mut tries = 0;
    let refused_at = loop {
        tries += 1;
        assert!(tries < 100, "the changed revocation list was not read");
        let mut client = Client::connect(&url).await;
        client.send(&create_with(2, key.token(&anna))).await;
        match client.next_event().await {
            Event::Closed(Some((4020, _))) => break true,
            Event::Message(ServerMessage::RoomCreated { .. }) => {
                client
                    .send(&ClientMessage::EndSession { room: room_id(2) })
                    .await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(refused_at);
    host1.send(&send_msg(1, None, b"still here")).await;
    expect_delivery(&mut guest, h1, b"still here").await;
    // Another counsellor is not affected.
    let mut bea = Client::connect(&url).await;
    bea.send(&create_with(3, key.token(&CounsellorId([3; 16]))))
        .await;
    assert!(matches!(
        bea.recv().await,
        ServerMessage::RoomCreated { .. }
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
