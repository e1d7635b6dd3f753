//! Envelope channel: round trips, and every way `open` can fail (each
//! failure leaves the channel unchanged).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use confide_shared::envelope::{Channel, EnvelopeError, MAX_PLAINTEXT};
use confide_shared::handshake::{Initiator, Responder, SessionKeypair};
use confide_shared::link::SessionSecret;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// (guest channel, host channel) from a real handshake.
fn pair(seed: u8) -> (Channel, Channel) {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    let ss = SessionSecret::generate(&mut rng);
    let inv = ss.new_invite(&mut rng);
    let (room, psk) = (ss.room_id(), inv.psk());
    let g = SessionKeypair::generate(&mut rng);
    let h = SessionKeypair::generate(&mut rng);
    let (gi, m1) = Initiator::start(&mut rng, &g, &psk, &room);
    let (hr, m2) = Responder::accept(&mut rng, &h, &psk, &room, &m1).unwrap();
    let (gc, m3) = gi.on_reveal(&mut rng, &m2).unwrap();
    let (he, m4) = hr.on_reveal(&mut rng, &m3).unwrap();
    let ge = gc.on_confirm(&m4).unwrap();
    (ge.into_channel(), he.into_channel())
}

#[test]
fn round_trip_both_directions_and_ids() {
    let (mut g, mut h) = pair(1);
    assert_eq!(g.peer_id(), h.own_id());
    assert_eq!(h.peer_id(), g.own_id());
    for i in 0..5u8 {
        let e = g.seal(&[i; 10]).unwrap();
        assert_eq!(e[0], 0x20);
        assert_eq!(&e[1..9], &u64::from(i).to_be_bytes());
        assert_eq!(e.len(), 1 + 8 + 10 + 16);
        assert_eq!(h.open(&e).unwrap(), vec![i; 10]);
        let r = h.seal(b"").unwrap();
        assert_eq!(g.open(&r).unwrap(), b"");
    }
    assert_eq!(h.skipped(), 0);
}

#[test]
fn replay_rejected_and_state_kept() {
    let (mut g, mut h) = pair(2);
    let e0 = g.seal(b"a").unwrap();
    let e1 = g.seal(b"b").unwrap();
    h.open(&e0).unwrap();
    assert_eq!(h.open(&e0), Err(EnvelopeError::Replay { seq: 0, last: 0 }));
    assert_eq!(h.open(&e1).unwrap(), b"b");
    assert_eq!(h.open(&e1), Err(EnvelopeError::Replay { seq: 1, last: 1 }));
}

#[test]
fn reorder_rejected_gap_counted() {
    let (mut g, mut h) = pair(3);
    let e0 = g.seal(b"a").unwrap();
    let e1 = g.seal(b"b").unwrap();
    let e2 = g.seal(b"c").unwrap();
    assert_eq!(h.open(&e1).unwrap(), b"b");
    assert_eq!(h.skipped(), 1);
    assert_eq!(h.open(&e0), Err(EnvelopeError::Replay { seq: 0, last: 1 }));
    assert_eq!(h.open(&e2).unwrap(), b"c");
    assert_eq!(h.skipped(), 1);
}

#[test]
fn reflection_and_cross_channel_rejected() {
    let (mut g, _h) = pair(4);
    let e = g.seal(b"to host").unwrap();
    // Fed back to its sender: wrong key and wrong sender/recipient ids.
    assert_eq!(g.open(&e), Err(EnvelopeError::Authentication));
    // Fed to another session's host.
    let (_g2, mut h2) = pair(5);
    assert_eq!(h2.open(&e), Err(EnvelopeError::Authentication));
}

#[test]
fn failed_open_does_not_advance() {
    let (mut g, mut h) = pair(6);
    let e0 = g.seal(b"a").unwrap();
    let mut forged = g.seal(b"b").unwrap();
    let real1 = forged.clone();
    let n = forged.len() - 1;
    forged[n] ^= 1;
    assert_eq!(h.open(&forged), Err(EnvelopeError::Authentication));
    // A forged far-future sequence number must not block real messages.
    let mut future = e0.clone();
    future[1..9].copy_from_slice(&u64::MAX.to_be_bytes());
    assert_eq!(h.open(&future), Err(EnvelopeError::Authentication));
    assert_eq!(h.open(&e0).unwrap(), b"a");
    assert_eq!(h.open(&real1).unwrap(), b"b");
}

#[test]
fn malformed_rejected() {
    let (mut g, mut h) = pair(7);
    let e = g.seal(b"x").unwrap();
    assert_eq!(h.open(&[]), Err(EnvelopeError::Truncated { len: 0 }));
    assert_eq!(h.open(&e[..24]), Err(EnvelopeError::Truncated { len: 24 }));
    let mut v = e.clone();
    v[0] = 0x21;
    assert_eq!(h.open(&v), Err(EnvelopeError::Version(0x21)));
    let big = vec![0u8; 1 + 8 + MAX_PLAINTEXT + 1 + 16];
    let mut big = big;
    big[0] = 0x20;
    assert_eq!(
        h.open(&big),
        Err(EnvelopeError::TooLarge {
            len: MAX_PLAINTEXT + 1,
            max: MAX_PLAINTEXT
        })
    );
    assert_eq!(
        g.seal(&vec![0u8; MAX_PLAINTEXT + 1]),
        Err(EnvelopeError::TooLarge {
            len: MAX_PLAINTEXT + 1,
            max: MAX_PLAINTEXT
        })
    );
    let max = g.seal(&vec![7u8; MAX_PLAINTEXT]).unwrap();
    assert_eq!(h.open(&max).unwrap().len(), MAX_PLAINTEXT);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_single_bit_flip_fails(pt in proptest::collection::vec(any::<u8>(), 0..200), bit in any::<usize>()) {
        let (mut g, mut h) = pair(8);
        let mut e = g.seal(&pt).unwrap();
        let b = bit % (e.len() * 8);
        e[b / 8] ^= 1 << (b % 8);
        prop_assert!(h.open(&e).is_err());
        // …and the channel still accepts the genuine message.
        e[b / 8] ^= 1 << (b % 8);
        prop_assert_eq!(h.open(&e).unwrap(), pt);
    }

    #[test]
    fn open_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let (_g, mut h) = pair(9);
        let _ = h.open(&bytes);
    }
}
