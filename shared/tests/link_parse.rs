//! Link parsing: accepted forms, each typed error, and round trips.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use confide_shared::link::{Invite, InviteSecret, LinkError, RoomId, SessionSecret};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn invite() -> Invite {
    let mut rng = ChaCha20Rng::from_seed([3u8; 32]);
    SessionSecret::generate(&mut rng).new_invite(&mut rng)
}

#[test]
fn accepts_fragment_hash_fragment_and_url() {
    let inv = invite();
    let f = inv.fragment();
    assert_eq!(f.len(), 65);
    assert!(f.starts_with('1'));
    for input in [
        f.to_string(),
        format!("#{}", f.as_str()),
        inv.to_url("https://relay.example").to_string(),
        format!("  https://relay.example/join?x=1#{}\n", f.as_str()),
    ] {
        let p = Invite::parse(&input).unwrap();
        assert_eq!(p.room_id(), inv.room_id());
        assert_eq!(p.secret().as_bytes(), inv.secret().as_bytes());
    }
    assert_eq!(
        inv.to_url("https://relay.example/").as_str(),
        format!("https://relay.example/#{}", f.as_str())
    );
}

#[test]
fn typed_errors() {
    let f = invite().fragment().to_string();
    assert_eq!(Invite::parse("").unwrap_err(), LinkError::Empty);
    assert_eq!(Invite::parse("   ").unwrap_err(), LinkError::Empty);
    assert_eq!(Invite::parse("#").unwrap_err(), LinkError::Empty);
    assert_eq!(
        Invite::parse("https://relay.example/#").unwrap_err(),
        LinkError::Empty
    );
    assert_eq!(
        Invite::parse("https://relay.example/").unwrap_err(),
        LinkError::NoFragment
    );
    let v3 = format!("3{}", &f[1..]);
    assert_eq!(
        Invite::parse(&v3).unwrap_err(),
        LinkError::UnknownVersion('3')
    );
    // Version 2 (with an appointment) is 11 characters longer than version 1.
    let v2 = format!("2{}", &f[1..]);
    assert_eq!(
        Invite::parse(&v2).unwrap_err(),
        LinkError::Truncated {
            got: 48,
            expected: 56
        }
    );
    assert_eq!(
        Invite::parse("#ü").unwrap_err(),
        LinkError::UnknownVersion('ü')
    );
    let bad = format!("{}+{}", &f[..10], &f[11..]);
    assert_eq!(Invite::parse(&bad).unwrap_err(), LinkError::BadEncoding);
    let padded = format!("{f}=");
    assert_eq!(Invite::parse(&padded).unwrap_err(), LinkError::BadEncoding);
    assert_eq!(
        Invite::parse(&f[..40]).unwrap_err(),
        LinkError::Truncated {
            got: 29,
            expected: 48
        }
    );
    assert_eq!(
        Invite::parse("1").unwrap_err(),
        LinkError::Truncated {
            got: 0,
            expected: 48
        }
    );
    assert_eq!(
        Invite::parse(&format!("{f}A")).unwrap_err(),
        LinkError::TooLong
    );
    // 48 bytes are exactly 64 base64 characters: no spare bits, so every
    // 64-character string over the alphabet is canonical; nothing to test.
    // Every error explains itself.
    for e in [
        LinkError::Empty,
        LinkError::NoFragment,
        LinkError::UnknownVersion('x'),
        LinkError::BadEncoding,
        LinkError::Truncated {
            got: 1,
            expected: 48,
        },
        LinkError::TooLong,
        LinkError::BadAppointment(confide_shared::appointment::AppointmentError::BadLength),
    ] {
        assert!(e.to_string().len() > 10);
    }
}

#[test]
fn secrets_do_not_print() {
    let inv = invite();
    let dbg = format!("{inv:?} {:?} {:?}", inv.psk(), inv.token());
    let secret_hex = hex::encode(inv.secret().as_bytes());
    assert!(!dbg.contains(&secret_hex));
    assert!(dbg.contains("redacted"));
}

proptest! {
    #[test]
    fn round_trip(room in any::<[u8; 16]>(), secret in any::<[u8; 32]>()) {
        let inv = Invite::new(RoomId::from_bytes(room), InviteSecret::from_bytes(secret));
        let url = inv.to_url("https://r.example");
        let p = Invite::parse(&url).unwrap();
        prop_assert_eq!(*p.room_id().as_bytes(), room);
        prop_assert_eq!(*p.secret().as_bytes(), secret);
        prop_assert_eq!(*p.psk().as_bytes(), *inv.psk().as_bytes());
    }

    #[test]
    fn parse_never_panics(s in ".{0,200}") {
        let _ = Invite::parse(&s);
    }

    #[test]
    fn distinct_invites_distinct_tokens(seed in any::<[u8; 32]>()) {
        let mut rng = ChaCha20Rng::from_seed(seed);
        let ss = SessionSecret::generate(&mut rng);
        let a = ss.new_invite(&mut rng);
        let b = ss.new_invite(&mut rng);
        prop_assert_eq!(a.room_id(), b.room_id());
        let (ta, tb, pa, pb, h) = (a.token(), b.token(), a.psk(), b.psk(), ss.host_token());
        prop_assert_ne!(ta.as_bytes(), tb.as_bytes());
        prop_assert_ne!(pa.as_bytes(), pb.as_bytes());
        prop_assert_ne!(pa.as_bytes(), ta.as_bytes());
        prop_assert_ne!(h.as_bytes(), ta.as_bytes());
    }
}
