//! The "du" marker of invite links against `vectors/link/address.json`,
//! computed with Python (`gen_address.py` next to it), not by this crate.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use confide_shared::appointment::Appointment;
use confide_shared::link::{Address, Invite, InviteSecret, LinkError, RoomId};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/link/address.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn bytes<const N: usize>(hex_str: &Value) -> [u8; N] {
    hex::decode(hex_str.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

#[test]
fn links_with_and_without_the_marker_read_and_write_exactly_as_the_vectors() {
    let v = vectors();
    let cases = v["valid"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let fragment = case["fragment"].as_str().unwrap();
        let address = match case["address"].as_str().unwrap() {
            "formal" => Address::Formal,
            "informal" => Address::Informal,
            other => panic!("unknown address {other}"),
        };
        let invite = Invite::parse(&format!("https://relay.example/#{fragment}")).unwrap();
        assert_eq!(invite.address(), address, "{fragment}");
        assert_eq!(invite.room_id().as_bytes(), &bytes::<16>(&case["room_id"]));
        assert_eq!(
            invite.secret().as_bytes(),
            &bytes::<32>(&case["invite_secret"])
        );
        assert_eq!(
            invite.appointment().is_some(),
            case["version"].as_u64().unwrap() == 2
        );

        // Written from its parts, the same spelling.
        let mut made = Invite::new(
            RoomId(bytes::<16>(&case["room_id"])),
            InviteSecret::from_bytes(bytes::<32>(&case["invite_secret"])),
        )
        .with_address(address);
        if let Some(a) = invite.appointment() {
            made = made.with_appointment(Appointment::new(a.starts(), 900, 3000).unwrap());
        }
        assert_eq!(made.fragment().as_str(), fragment);
    }
}

#[test]
fn unknown_or_damaged_markers_are_refused_with_the_vectors_error() {
    let v = vectors();
    let cases = v["invalid"].as_array().unwrap();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let fragment = case["fragment"].as_str().unwrap();
        let kind = match Invite::parse(fragment).unwrap_err() {
            LinkError::UnknownMarker => "unknown_marker",
            LinkError::Truncated { .. } => "truncated",
            LinkError::TooLong => "too_long",
            LinkError::BadEncoding => "bad_encoding",
            other => panic!("unexpected {other:?} for {fragment}"),
        };
        assert_eq!(kind, case["error"].as_str().unwrap(), "{fragment}");
    }
}

#[test]
fn the_marker_is_no_part_of_any_secret() {
    let v = vectors();
    let sie = Invite::parse(v["valid"][0]["fragment"].as_str().unwrap()).unwrap();
    let du = Invite::parse(v["valid"][1]["fragment"].as_str().unwrap()).unwrap();
    assert_eq!(sie.address(), Address::Formal);
    assert_eq!(du.address(), Address::Informal);
    // The same room, token and PSK: the relay sees the same link either way.
    assert_eq!(sie.room_id(), du.room_id());
    assert_eq!(sie.token().as_bytes(), du.token().as_bytes());
    assert_eq!(sie.psk().as_bytes(), du.psk().as_bytes());
}
