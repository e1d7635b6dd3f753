//! Version-2 invite links (with an appointment) against the vectors in
//! `vectors/link/appointments.json`, computed with Python (`gen_appointments.py`
//! next to them), not by this crate.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use confide_shared::appointment::Appointment;
use confide_shared::link::{Invite, InviteSecret, LinkError, RoomId};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/link/appointments.json"
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
fn valid_links_read_and_write_exactly_as_the_vectors() {
    let v = vectors();
    let cases = v["valid"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for case in cases {
        let fragment = case["fragment"].as_str().unwrap();
        let invite = Invite::parse(fragment).unwrap();
        assert_eq!(invite.room_id().as_bytes(), &bytes::<16>(&case["room_id"]));
        assert_eq!(
            invite.secret().as_bytes(),
            &bytes::<32>(&case["invite_secret"])
        );
        let a = invite
            .appointment()
            .expect("a version-2 link carries its appointment");
        assert_eq!(a.starts(), case["starts"].as_u64().unwrap());
        assert_eq!(a.opens(), case["opens"].as_u64().unwrap());
        assert_eq!(a.closes(), case["closes"].as_u64().unwrap());

        // And the same link is written from its parts.
        let made = Invite::new(
            RoomId(bytes::<16>(&case["room_id"])),
            InviteSecret::from_bytes(bytes::<32>(&case["invite_secret"])),
        )
        .with_appointment(
            Appointment::new(
                case["starts"].as_u64().unwrap(),
                case["opens_before"].as_u64().unwrap() as u32,
                case["length"].as_u64().unwrap() as u32,
            )
            .unwrap(),
        );
        assert_eq!(made.fragment().as_str(), fragment);
        assert_eq!(
            made.to_url("https://relay.example/").as_str(),
            format!("https://relay.example/#{fragment}")
        );
    }
}

#[test]
fn invalid_links_fail_with_the_vectors_error() {
    let v = vectors();
    let cases = v["invalid"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for case in cases {
        let fragment = case["fragment"].as_str().unwrap();
        let got = Invite::parse(fragment).unwrap_err();
        let kind = match got {
            LinkError::Truncated { .. } => "truncated",
            LinkError::TooLong => "too_long",
            LinkError::BadEncoding => "bad_encoding",
            LinkError::BadAppointment(_) => "bad_appointment",
            LinkError::UnknownVersion(_) => "unknown_version",
            other => panic!("unexpected {other:?} for {fragment}"),
        };
        assert_eq!(kind, case["error"].as_str().unwrap(), "{fragment}");
    }
}

#[test]
fn a_link_without_appointment_stays_version_1_and_the_secret_derivations_do_not_change() {
    let v = vectors();
    let case = &v["valid"][0];
    let v2 = Invite::parse(case["fragment"].as_str().unwrap()).unwrap();
    let v1 = Invite::new(v2.room_id(), v2.secret().clone());
    assert!(v1.fragment().starts_with('1'));
    assert_eq!(v1.fragment().len(), 65);
    assert_eq!(v2.fragment().len(), 76);
    assert!(
        Invite::parse(&v1.fragment())
            .unwrap()
            .appointment()
            .is_none()
    );
    // The appointment is not part of any secret: same token and PSK.
    assert_eq!(v1.token().as_bytes(), v2.token().as_bytes());
    assert_eq!(v1.psk().as_bytes(), v2.psk().as_bytes());
}
