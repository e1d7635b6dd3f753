//! The attacking proxy itself (tests/src/attacker.rs), with the real relay
//! and plain WebSocket clients: it passes HTTP through untouched, forwards
//! WebSocket traffic both ways, and each armed rule visibly does its attack
//! exactly once, on exactly the messages it is meant for.

use std::time::Duration;

use confide_shared::wire::{MemberId, ServerMessage};
use confide_tests::attacker::{AttackKind, AttackerProxy, Role, Rule, Target};
use confide_tests::relay::TestRelay;
use confide_tests::ws::{self, Client, expect_delivery, send_msg};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// An envelope-like payload (format byte 0x20) of `len` bytes.
fn envelope(len: usize, fill: u8) -> Vec<u8> {
    let mut payload = vec![fill; len];
    payload[0] = 0x20;
    payload
}

/// The next message must be a delivery from `from`; returns its payload.
async fn delivery(client: &mut Client, from: MemberId) -> Vec<u8> {
    match client.recv().await {
        ServerMessage::Deliver {
            from: f, payload, ..
        } => {
            assert_eq!(f, from, "delivered from the expected member");
            payload.0
        }
        other => panic!("expected deliver, got {other:?}"),
    }
}

#[tokio::test]
async fn http_passes_through_untouched() {
    let relay = TestRelay::start(None).await;
    let proxy = AttackerProxy::start(&relay).await;
    let mut stream = tokio::net::TcpStream::connect(proxy.addr)
        .await
        .expect("connect to the proxy");
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("send a request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read the response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("ok"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("content-security-policy:"),
        "the relay's headers arrive as sent: {response}"
    );
}

#[tokio::test]
async fn flip_and_replay_hit_one_envelope_each() {
    let relay = TestRelay::start(None).await;
    let proxy = AttackerProxy::start(&relay).await;
    let url = proxy.ws_url();
    let (mut host, host_id) = ws::host(&url, 1).await;
    let (mut guest, guest_id) = ws::admitted_guest(&url, &mut host, 1, 1).await;

    // Nothing armed: the payload arrives as sent.
    let plain = envelope(100, 7);
    host.send(&send_msg(1, Some(guest_id), &plain)).await;
    expect_delivery(&mut guest, host_id, &plain).await;

    // A flip aimed at the host leaves deliveries to the guest alone, and one
    // with a size window leaves smaller envelopes alone.
    proxy.arm(Rule::FlipBit(Target::to(Role::Host).sized(500, 1000)));
    host.send(&send_msg(1, Some(guest_id), &plain)).await;
    expect_delivery(&mut guest, host_id, &plain).await;
    let small = envelope(200, 9);
    guest.send(&send_msg(1, Some(host_id), &small)).await;
    expect_delivery(&mut host, guest_id, &small).await;
    // Non-envelope payloads are never touched.
    let handshake = {
        let mut p = envelope(600, 9);
        p[0] = 0x13;
        p
    };
    guest.send(&send_msg(1, Some(host_id), &handshake)).await;
    expect_delivery(&mut host, guest_id, &handshake).await;
    assert!(proxy.attacks().is_empty(), "{:?}", proxy.attacks());

    // The matching envelope: exactly one bit differs, past the header.
    let big = envelope(600, 9);
    guest.send(&send_msg(1, Some(host_id), &big)).await;
    let got = delivery(&mut host, guest_id).await;
    assert_eq!(got.len(), big.len());
    let diff: Vec<(usize, u8)> = got
        .iter()
        .zip(&big)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| (i, a ^ b))
        .collect();
    assert_eq!(diff.len(), 1, "one byte changed: {diff:?}");
    assert_eq!(diff[0].1.count_ones(), 1, "one bit changed: {diff:?}");
    assert!(diff[0].0 >= 9, "the format byte and sequence number stay");
    let attacks = proxy.attacks();
    assert_eq!(attacks.len(), 1);
    assert_eq!(attacks[0].to, Some(Role::Host));
    assert_eq!(attacks[0].payload_len, 600);
    assert!(matches!(attacks[0].kind, AttackKind::FlippedBit { byte, .. } if byte == diff[0].0));
    // It fired once: the next one arrives intact.
    guest.send(&send_msg(1, Some(host_id), &big)).await;
    expect_delivery(&mut host, guest_id, &big).await;
    assert_eq!(proxy.armed(), 0);

    // Replay: the same delivery twice, the second after the delay.
    proxy.arm(Rule::Replay {
        target: Target::to(Role::Guest),
        after: Duration::from_millis(300),
    });
    let once = envelope(80, 3);
    host.send(&send_msg(1, Some(guest_id), &once)).await;
    expect_delivery(&mut guest, host_id, &once).await;
    expect_delivery(&mut guest, host_id, &once).await;
    let attacks = proxy
        .wait_for_attacks("the replay", 2, Duration::from_secs(5))
        .await;
    assert_eq!(attacks[1].kind, AttackKind::Replayed);
    assert_eq!(attacks[1].to, Some(Role::Guest));
    guest.expect_silence(Duration::from_millis(500)).await;
}

#[tokio::test]
async fn swap_reveals_crosses_two_rooms() {
    let relay = TestRelay::start(None).await;
    let proxy = AttackerProxy::start(&relay).await;
    let url = proxy.ws_url();
    let (mut host_a, host_a_id) = ws::host(&url, 1).await;
    let (mut guest_a, guest_a_id) = ws::admitted_guest(&url, &mut host_a, 1, 1).await;
    let (mut host_b, host_b_id) = ws::host(&url, 2).await;
    let (mut guest_b, guest_b_id) = ws::admitted_guest(&url, &mut host_b, 2, 2).await;
    let reveal = |fill: u8| {
        let mut p = vec![fill; 121];
        p[0] = 0x12;
        p
    };
    proxy.arm(Rule::SwapReveals);
    host_a
        .send(&send_msg(1, Some(guest_a_id), &reveal(0xaa)))
        .await;
    // Held until the other room's reveal comes.
    guest_a.expect_silence(Duration::from_millis(300)).await;
    host_b
        .send(&send_msg(2, Some(guest_b_id), &reveal(0xbb)))
        .await;
    // Each guest gets the other room's reveal, seemingly from its own host.
    let got_a = delivery(&mut guest_a, host_a_id).await;
    let got_b = delivery(&mut guest_b, host_b_id).await;
    assert_eq!(got_a, reveal(0xbb));
    assert_eq!(got_b, reveal(0xaa));
    let attacks = proxy
        .wait_for_attacks("the swap", 2, Duration::from_secs(5))
        .await;
    assert_eq!(attacks.len(), 2);
    assert!(attacks.iter().all(
        |a| matches!(&a.kind, AttackKind::SwappedReveal { with_room } if *with_room != a.room)
    ));
    // Later traffic flows normally again.
    host_a
        .send(&send_msg(1, Some(guest_a_id), &reveal(0xcc)))
        .await;
    expect_delivery(&mut guest_a, host_a_id, &reveal(0xcc)).await;
}
