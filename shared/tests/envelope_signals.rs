//! Signal messages (the envelope plaintext) and the knock.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use confide_shared::handshake::{Initiator, Responder, SessionKeypair};
use confide_shared::link::{Invite, InviteSecret, SessionSecret};
use confide_shared::signal::{
    Knock, MAX_CHAT_CHARS, MAX_NAME_CHARS, MAX_SDP_BYTES, Member, SecretBytes, Signal, SignalError,
};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn all_kinds() -> Vec<Signal> {
    vec![
        Signal::Hello {
            name: "Dr. Müller".into(),
            lang: Some("de-DE".into()),
        },
        Signal::Hello {
            name: "Ann".into(),
            lang: None,
        },
        Signal::Offer {
            sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n".into(),
        },
        Signal::Answer {
            sdp: "v=0\r\n".into(),
        },
        Signal::Ice {
            candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        },
        Signal::IceRestart {},
        Signal::Chat {
            id: 7,
            text: "line one\nline two".into(),
            sent_at_ms: 1_700_000_000_000,
        },
        Signal::SenderKey {
            kid: 3,
            key: SecretBytes::new([5; 32]),
            suite: 0xF001,
        },
        Signal::Members {
            epoch: 2,
            members: vec![Member {
                id: confide_shared::envelope::ParticipantId::from_bytes([1; 16]),
                name: Some("Bo".into()),
                relay: None,
            }],
        },
        Signal::Bye {},
        Signal::EndSession {},
        Signal::Remove {},
    ]
}

#[test]
fn json_round_trip_and_tag() {
    for s in all_kinds() {
        let j = s.encode().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert!(v["t"].is_string(), "{v}");
        assert_eq!(Signal::decode(&j).unwrap(), s);
    }
    assert_eq!(&*Signal::Bye {}.encode().unwrap(), br#"{"t":"Bye"}"#);
}

#[test]
fn unknown_fields_and_tags_rejected() {
    for bad in [
        r#"{"t":"Offer","sdp":"v=0","extra":1}"#,
        r#"{"t":"Nope"}"#,
        r#"{"sdp":"v=0"}"#,
        r#"{"t":"Chat","id":1,"text":"hi"}"#,
        r#"{"t":"SenderKey","kid":1,"key":"AAAA","suite":1}"#,
        r#"{"t":"SenderKey","kid":1,"key":"BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU=","suite":1}"#,
        "not json",
    ] {
        assert!(
            matches!(Signal::decode(bad.as_bytes()), Err(SignalError::Json(_))),
            "{bad}"
        );
    }
}

#[test]
fn unit_variant_with_extra_field_rejected() {
    let r = Signal::decode(br#"{"t":"Bye","x":1}"#);
    assert!(matches!(r, Err(SignalError::Json(_))), "{r:?}");
}

#[test]
fn size_and_character_limits() {
    let long_name = "x".repeat(MAX_NAME_CHARS + 1);
    let e = Signal::Hello {
        name: long_name.clone(),
        lang: None,
    };
    assert_eq!(
        e.encode().unwrap_err(),
        SignalError::TooLong {
            field: "name",
            len: 65,
            max: 64
        }
    );
    let j = format!(r#"{{"t":"Hello","name":"{long_name}"}}"#);
    assert!(matches!(
        Signal::decode(j.as_bytes()),
        Err(SignalError::TooLong { field: "name", .. })
    ));
    // 64 multi-byte characters are fine.
    let ok = Signal::Hello {
        name: "ü".repeat(MAX_NAME_CHARS),
        lang: None,
    };
    ok.encode().unwrap();
    for bad in ["", "   ", "a\u{0}b", "a\nb", "\u{1b}[31m"] {
        let s = Signal::Hello {
            name: bad.into(),
            lang: None,
        };
        assert!(s.validate().is_err(), "{bad:?}");
    }
    let chat = |text: String| Signal::Chat {
        id: 1,
        text,
        sent_at_ms: 0,
    };
    chat("ß".repeat(MAX_CHAT_CHARS)).validate().unwrap();
    assert!(matches!(
        chat("a".repeat(MAX_CHAT_CHARS + 1)).validate(),
        Err(SignalError::TooLong { field: "text", .. })
    ));
    assert!(matches!(
        chat("bell\u{7}".into()).validate(),
        Err(SignalError::ControlCharacter { field: "text" })
    ));
    assert!(matches!(
        chat(" ".into()).validate(),
        Err(SignalError::Empty { field: "text" })
    ));
    let sdp = |n: usize| Signal::Offer { sdp: "a".repeat(n) };
    sdp(MAX_SDP_BYTES).validate().unwrap();
    assert!(matches!(
        sdp(MAX_SDP_BYTES + 1).validate(),
        Err(SignalError::TooLong { field: "sdp", .. })
    ));
    let ice = Signal::Ice {
        candidate: "c".repeat(1025),
        sdp_mid: None,
        sdp_m_line_index: None,
    };
    assert!(ice.validate().is_err());
    let lang = Signal::Hello {
        name: "A".into(),
        lang: Some("x".repeat(36)),
    };
    assert!(lang.validate().is_err());
    let members = Signal::Members {
        epoch: 1,
        members: (0..5)
            .map(|i| Member {
                id: confide_shared::envelope::ParticipantId::from_bytes([i; 16]),
                name: None,
                relay: None,
            })
            .collect(),
    };
    assert!(matches!(
        members.validate(),
        Err(SignalError::TooLong {
            field: "members",
            ..
        })
    ));
    // The largest SDP still fits one envelope after JSON escaping of \r\n.
    let big = Signal::Offer {
        sdp: "a=x\r\n".repeat(MAX_SDP_BYTES / 5),
    };
    assert!(big.encode().unwrap().len() <= confide_shared::envelope::MAX_PLAINTEXT);
}

#[test]
fn signals_through_a_channel() {
    let mut rng = ChaCha20Rng::from_seed([1; 32]);
    let ss = SessionSecret::generate(&mut rng);
    let inv = ss.new_invite(&mut rng);
    let (room, psk) = (ss.room_id(), inv.psk());
    let g = SessionKeypair::generate(&mut rng);
    let h = SessionKeypair::generate(&mut rng);
    let (gi, m1) = Initiator::start(&mut rng, &g, &psk, &room);
    let (hr, m2) = Responder::accept(&mut rng, &h, &psk, &room, &m1).unwrap();
    let (gc, m3) = gi.on_reveal(&mut rng, &m2).unwrap();
    let (he, m4) = hr.on_reveal(&mut rng, &m3).unwrap();
    let (mut gch, mut hch) = (
        gc.on_confirm(&m4).unwrap().into_channel(),
        he.into_channel(),
    );
    for s in all_kinds() {
        let e = s.seal(&mut gch).unwrap();
        assert_eq!(Signal::open(&mut hch, &e).unwrap(), s);
    }
    let e = Signal::Bye {}.seal(&mut gch).unwrap();
    assert!(matches!(
        Signal::open(&mut gch, &e),
        Err(SignalError::Envelope(_))
    ));
}

#[test]
fn knock_name_sealed_for_link_holders() {
    let mut rng = ChaCha20Rng::from_seed([2; 32]);
    let ss = SessionSecret::generate(&mut rng);
    let inv = ss.new_invite(&mut rng);
    let (room, psk) = (ss.room_id(), inv.psk());
    let g = SessionKeypair::generate(&mut rng);
    let (_gi, m1) = Initiator::start(&mut rng, &g, &psk, &room);
    let k = Knock::new(&mut rng, &psk, &room, m1.clone(), "Ann").unwrap();
    let k2 = Knock::new(&mut rng, &psk, &room, m1.clone(), &"Ä".repeat(64)).unwrap();
    assert_eq!(k.sealed_name.len(), k2.sealed_name.len(), "padded");
    let json = k.to_json().unwrap();
    assert!(!String::from_utf8_lossy(&json).contains("Ann"));
    let back = Knock::from_json(&json).unwrap();
    assert_eq!(back.open_name(&psk, &room).unwrap(), "Ann");
    assert_eq!(k2.open_name(&psk, &room).unwrap(), "Ä".repeat(64));
    // Wrong link.
    let other = Invite::new(room, InviteSecret::from_bytes([9; 32])).psk();
    assert_eq!(
        k.open_name(&other, &room).unwrap_err(),
        SignalError::KnockName
    );
    // Name moved onto another knock's m1 (bound as AAD).
    let (_gi2, m1b) = Initiator::start(&mut rng, &g, &psk, &room);
    let moved = Knock {
        m1: m1b,
        sealed_name: k.sealed_name.clone(),
    };
    assert_eq!(
        moved.open_name(&psk, &room).unwrap_err(),
        SignalError::KnockName
    );
    let mut cut = k.clone();
    cut.sealed_name.pop();
    assert_eq!(
        cut.open_name(&psk, &room).unwrap_err(),
        SignalError::KnockName
    );
    // Names are checked before sealing; no name at all is allowed (it is optional).
    assert!(Knock::new(&mut rng, &psk, &room, m1.clone(), "   ").is_err());
    assert!(Knock::new(&mut rng, &psk, &room, m1.clone(), "bad\u{7}name").is_err());
    let anonymous = Knock::new(&mut rng, &psk, &room, m1.clone(), "").unwrap();
    assert_eq!(anonymous.open_name(&psk, &room).unwrap(), "");
    assert!(Knock::new(&mut rng, &psk, &room, vec![0; 200], "Ann").is_err());
    assert!(Knock::from_json(br#"{"m1":"AA","sealed_name":"AA","x":1}"#).is_err());
    assert!(Knock::from_json(&vec![b' '; 10_000]).is_err());
    // The host can run the handshake from the knock's m1.
    let h = SessionKeypair::generate(&mut rng);
    Responder::accept(&mut rng, &h, &psk, &room, &back.m1).unwrap();
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Signal::decode(&bytes);
        let _ = Knock::from_json(&bytes);
    }

    #[test]
    fn chat_round_trip(text in "[^\\p{Cc}]{1,200}", id in any::<u64>()) {
        prop_assume!(!text.trim().is_empty());
        let s = Signal::Chat { id, text, sent_at_ms: 1 };
        prop_assert_eq!(Signal::decode(&s.encode().unwrap()).unwrap(), s);
    }
}

#[test]
fn signals_with_a_wrong_set_of_fields_are_refused() {
    assert!(Signal::decode(br#"{"t":"Offer","sdp":"v=0"}"#).is_ok());
    for (why, text) in [
        (
            "a field of another kind",
            r#"{"t":"Offer","sdp":"v=0","text":"hi"}"#,
        ),
        ("an unknown field", r#"{"t":"Offer","sdp":"v=0","bogus":1}"#),
        ("a missing field", r#"{"t":"Chat","id":1,"text":"hi"}"#),
        ("an unknown kind", r#"{"t":"Dance","sdp":"v=0"}"#),
        ("no kind", r#"{"sdp":"v=0"}"#),
        ("fields on a bare kind", r#"{"t":"Bye","sdp":"v=0"}"#),
    ] {
        assert!(Signal::decode(text.as_bytes()).is_err(), "{why}: {text}");
    }
}
