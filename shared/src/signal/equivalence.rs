//! The hand-written signal and knock codec against the serde implementation
//! it replaced (`serde_reference` and the test-only derives): same bytes
//! out, same signals read, same texts refused.

use super::*;
use crate::json::corpus::{Rng, agree, random_edit, variants};

fn member(relay: Option<u32>, name: Option<&str>) -> Member {
    Member {
        id: ParticipantId::from_bytes([0xa5; 16]),
        name: name.map(str::to_owned),
        relay: relay.map(crate::wire::MemberId),
    }
}

fn signals() -> Vec<Signal> {
    vec![
        Signal::Hello {
            name: "Mira".into(),
            lang: None,
        },
        Signal::Hello {
            name: "Zoë \"Z\" Öztürk 😀".into(),
            lang: Some("de-DE".into()),
        },
        Signal::Offer {
            sdp: "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=fingerprint:sha-256 AB:CD\r\n".into(),
        },
        Signal::Answer { sdp: String::new() },
        Signal::Ice {
            candidate: "candidate:1 1 udp 2122260223 192.0.2.1 54400 typ host".into(),
            sdp_mid: None,
            sdp_m_line_index: None,
        },
        Signal::Ice {
            candidate: String::new(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(u16::MAX),
        },
        Signal::IceRestart {},
        Signal::Chat {
            id: u64::MAX,
            text: "Guten Tag\nwie geht's?\t\u{7f}</script>".into(),
            sent_at_ms: 1_790_000_000_000,
        },
        Signal::SenderKey {
            kid: 7,
            key: SecretBytes::new([0x42; 32]),
            suite: 2,
        },
        Signal::Introduce {
            peer: member(Some(3), Some("Ana")),
            peer_public: PublicBytes([1; 32]),
            group_secret: SecretBytes::new([2; 32]),
            intro_nonce: PublicBytes([3; 32]),
        },
        Signal::Members {
            epoch: 4,
            members: vec![member(None, None), member(Some(2), Some("B"))],
        },
        Signal::Members {
            epoch: 0,
            members: vec![],
        },
        Signal::MembersAck { epoch: 4 },
        Signal::RejoinReceived {
            knock: PublicBytes([0xee; 32]),
        },
        Signal::Bye {},
        Signal::EndSession {},
        Signal::Remove {},
    ]
}

fn fields() -> Vec<&'static str> {
    let mut fields = flat::FIELDS.to_vec();
    fields.push("t");
    fields
}

fn text_of(signal: &Signal) -> String {
    let mut out = String::new();
    signal.write(&mut out);
    out
}

fn signal_agrees(text: &str) -> bool {
    agree(
        text,
        json::parse(text).and_then(flat::read_signal),
        serde_json::from_str::<Signal>(text),
    )
}

fn knock_agrees(text: &str) -> bool {
    agree(
        text,
        read_knock(text.as_bytes()),
        serde_json::from_str::<Knock>(text),
    )
}

#[test]
fn the_tags_are_the_variant_names() {
    for kind in SignalKind::ALL {
        assert_eq!(kind.as_str(), format!("{kind:?}"));
        assert_eq!(SignalKind::from_name(kind.as_str()), Some(kind));
    }
    assert_eq!(SignalKind::from_name("bye"), None);
}

#[test]
fn signals_and_knocks_are_written_byte_for_byte_as_serde_did() {
    for signal in signals() {
        assert_eq!(text_of(&signal), serde_json::to_string(&signal).unwrap());
        if signal.validate().is_ok() {
            assert_eq!(
                signal.encode().unwrap().as_slice(),
                serde_json::to_vec(&signal).unwrap()
            );
        }
    }
    let knock = Knock {
        m1: vec![1; 73],
        sealed_name: vec![2; 298],
    };
    assert_eq!(
        knock.to_json().unwrap(),
        serde_json::to_vec(&knock).unwrap()
    );
}

#[test]
fn signals_are_read_and_refused_as_serde_did() {
    let fields = fields();
    let (mut read, mut refused) = (0, 0);
    for signal in signals() {
        for text in variants(&text_of(&signal), &fields) {
            if signal_agrees(&text) {
                read += 1;
            } else {
                refused += 1;
            }
        }
    }
    assert!(
        read > 100 && refused > 1000,
        "read {read}, refused {refused}"
    );
    // Nested: a member entry's own fields.
    let valid = text_of(&Signal::Members {
        epoch: 1,
        members: vec![member(Some(2), Some("B"))],
    });
    let inner_start = valid.find("[{").unwrap() + 1;
    let inner_end = valid.rfind("}]").unwrap() + 1;
    for inner in variants(&valid[inner_start..inner_end], &["epoch"]) {
        signal_agrees(&format!(
            "{}{inner}{}",
            &valid[..inner_start],
            &valid[inner_end..]
        ));
    }
}

#[test]
fn knocks_are_read_and_refused_as_serde_did() {
    let knock = Knock {
        m1: vec![1; 73],
        sealed_name: vec![2; 298],
    };
    let valid = String::from_utf8(knock.to_json().unwrap()).unwrap();
    let mut read = 0;
    for text in variants(&valid, &["t"]) {
        read += usize::from(knock_agrees(&text));
    }
    assert!(read > 5, "read {read}");
}

#[test]
fn random_edits_are_read_and_refused_as_serde_did() {
    let mut rng = Rng::new(0x5eed_0020);
    let texts: Vec<String> = signals().iter().map(text_of).collect();
    let mut read = 0;
    for _ in 0..20_000 {
        let i = rng.below(texts.len());
        let text = random_edit(&mut rng, &texts[i]);
        read += usize::from(signal_agrees(&text));
    }
    assert!(read > 500, "some edits still read ({read})");
}
