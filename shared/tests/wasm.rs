//! The protocol core executed as WebAssembly (Node.js, via wasm-bindgen's test
//! runner): the code the browser and the worker run, checked where it runs.
//! `cargo xtask test` runs it with `--target wasm32-unknown-unknown`.
#![cfg(target_arch = "wasm32")]

use confide_shared::link::Invite;
use confide_shared::session::{Effect, Event, Session};
use confide_shared::sframe::{
    CipherSuite, Codec, ReceiveStream, ReceiverKeyStore, SenderKey, SframeHeader,
};
use rand_core::OsRng;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn sframe_round_trip_and_tamper_detection() {
    for suite in CipherSuite::ALL {
        let key = [7u8; 32];
        let mut sender = SenderKey::new(suite, 3, &key);
        let mut store = ReceiverKeyStore::new(suite);
        store.install(3, &key).expect("install");
        let mut stream = ReceiveStream::new();
        let frame: Vec<u8> = (0..1200u32).map(|i| (i % 251) as u8).collect();
        let protected = sender.encrypt_frame(Codec::Vp8, &frame).expect("encrypt");
        assert_ne!(protected[10..], frame[10..]);
        let opened = stream
            .decrypt_frame(&mut store, Codec::Vp8, &protected, 0)
            .expect("decrypt");
        assert_eq!(opened, frame);
        // Replay and a flipped bit both fail.
        assert!(
            stream
                .decrypt_frame(&mut store, Codec::Vp8, &protected, 0)
                .is_err()
        );
        let mut flipped = sender.encrypt_frame(Codec::Vp8, &frame).expect("encrypt");
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(
            stream
                .decrypt_frame(&mut store, Codec::Vp8, &flipped, 0)
                .is_err()
        );
    }
}

#[wasm_bindgen_test]
fn sframe_header_matches_the_rfc_examples() {
    assert_eq!(SframeHeader::new(0, 0).encode().as_bytes(), [0x00]);
    assert_eq!(
        SframeHeader::new(255, 256).encode().as_bytes(),
        [0x89, 0xff, 0x01, 0x00]
    );
    assert_eq!(
        SframeHeader::new(256, 65535).encode().as_bytes(),
        [0x99, 0x01, 0x00, 0xff, 0xff]
    );
}

/// Delivers `effects` of one side to the other as the relay would, returning the events.
fn events(effects: Vec<Effect>) -> (Vec<confide_shared::wire::ClientMessage>, Vec<Event>) {
    let mut sent = Vec::new();
    let mut events = Vec::new();
    for effect in effects {
        match effect {
            Effect::Send(message) => sent.push(message),
            Effect::Event(event) => events.push(event),
        }
    }
    (sent, events)
}

#[wasm_bindgen_test]
fn invite_link_and_knock_work_in_wasm() {
    let (mut host, _create) =
        Session::new_host(&mut OsRng, confide_shared::wire::CounsellorToken([0; 48]));
    let (_, url, _add) = host
        .create_invite(&mut OsRng, "https://beratung.example")
        .expect("invite");
    let invite = Invite::parse(&url).expect("parse");
    assert_eq!(invite.room_id().as_bytes(), host.room().as_bytes());
    let (guest, knock, _resume) = Session::new_guest(&mut OsRng, invite, "Ada").expect("guest");
    assert!(!guest.is_host());
    let json = knock.to_json();
    assert!(!json.contains("Ada"), "the knock carries the name sealed");
    let (_, evs) = events(Vec::new());
    assert!(evs.is_empty());
}

/// RFC 7748 §6.1, computed the way the browser computes it: there the
/// x25519 crate runs without its precomputed base-point table (shared/Cargo.toml).
#[wasm_bindgen_test]
fn x25519_without_the_precomputed_table_matches_rfc7748() {
    use x25519_dalek::{PublicKey, StaticSecret};
    let key = |h: &str| -> [u8; 32] { hex::decode(h).expect("hex").try_into().expect("32") };
    let alice = StaticSecret::from(key(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    ));
    let bob = StaticSecret::from(key(
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    ));
    let alice_public = PublicKey::from(&alice);
    let bob_public = PublicKey::from(&bob);
    assert_eq!(
        alice_public.as_bytes(),
        &key("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    );
    assert_eq!(
        bob_public.as_bytes(),
        &key("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    );
    let shared = key("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    assert_eq!(alice.diffie_hellman(&bob_public).as_bytes(), &shared);
    assert_eq!(bob.diffie_hellman(&alice_public).as_bytes(), &shared);
}
