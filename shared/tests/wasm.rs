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
