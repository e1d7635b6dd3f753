//! Fixed vectors for every link derivation, re-derived here from the
//! spec's formulas with the primitives directly (not via the crate).
//! Regenerate with `CONFIDE_UPDATE_VECTORS=1` (then review the diff).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use confide_shared::link::{Invite, InviteSecret, ResumeSecret, SessionSecret};
use hkdf::Hkdf;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/link/derivations.json"
);

fn hkdf<const N: usize>(salt: &[u8], ikm: &[u8], info: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, &mut out)
        .unwrap();
    out
}

fn case(session: [u8; 32], invite: [u8; 32]) -> Value {
    let ss = SessionSecret::from_bytes(session);
    let room = ss.room_id();
    let host = ss.host_token();
    let inv = Invite::new(room, InviteSecret::from_bytes(invite));
    let (tok, psk) = (inv.token(), inv.psk());

    // The spec's formulas, independently.
    let host_m: [u8; 32] = hkdf(&[], &session, b"confide v1 host token");
    let room_hash: [u8; 32] = Sha256::new()
        .chain_update(b"confide v1 room id")
        .chain_update(host_m)
        .finalize()
        .into();
    let room_m: [u8; 16] = room_hash[..16].try_into().unwrap();
    let tok_m: [u8; 32] = hkdf(&room_m, &invite, b"confide v1 invite token");
    let psk_m: [u8; 32] = hkdf(&room_m, &invite, b"confide v1 psk");
    assert_eq!(room.as_bytes(), &room_m);
    assert_eq!(host.as_bytes(), &host_m);
    assert_eq!(tok.as_bytes(), &tok_m);
    assert_eq!(psk.as_bytes(), &psk_m);
    let sha = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
    assert_eq!(host.hash().0, sha(&host_m));
    assert_eq!(tok.hash().0, sha(&tok_m));

    json!({
        "session_secret": hex::encode(session),
        "invite_secret": hex::encode(invite),
        "room_id": hex::encode(room.as_bytes()),
        "room_id_b64": room.to_base64(),
        "host_token": hex::encode(host.as_bytes()),
        "host_token_hash": hex::encode(host.hash().0),
        "invite_token": hex::encode(tok.as_bytes()),
        "invite_token_b64": tok.to_base64(),
        "invite_token_hash": hex::encode(tok.hash().0),
        "psk": hex::encode(psk.as_bytes()),
        "fragment": inv.fragment().as_str(),
        "url": inv.to_url("https://relay.example/").as_str(),
    })
}

fn computed() -> Value {
    let mut cases = vec![case([0u8; 32], [0u8; 32]), case([0x11; 32], [0x22; 32])];
    let mut rng = ChaCha20Rng::from_seed([7u8; 32]);
    let ss = SessionSecret::generate(&mut rng);
    let inv = ss.new_invite(&mut rng);
    cases.push(case(*ss.as_bytes(), *inv.secret().as_bytes()));
    let resume = ResumeSecret::generate(&mut rng);
    let mut m = Map::new();
    m.insert(
        "description".into(),
        "confide v1 link derivations; see docs/PROTOCOL.md (section 1)".into(),
    );
    m.insert("cases".into(), Value::Array(cases));
    m.insert(
        "resume".into(),
        json!({
            "resume_secret": hex::encode(resume.as_bytes()),
            "resume_hash": hex::encode(resume.hash().0),
        }),
    );
    Value::Object(m)
}

#[test]
fn link_derivation_vectors() {
    let got = computed();
    if std::env::var_os("CONFIDE_UPDATE_VECTORS").is_some() {
        std::fs::write(PATH, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
    }
    let want: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    assert_eq!(got, want);
}

#[test]
fn vector_fragments_parse_back() {
    let want: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    for c in want["cases"].as_array().unwrap() {
        for input in [c["fragment"].as_str().unwrap(), c["url"].as_str().unwrap()] {
            let inv = Invite::parse(input).unwrap();
            assert_eq!(hex::encode(inv.room_id().as_bytes()), c["room_id"]);
            let psk = inv.psk();
            assert_eq!(hex::encode(psk.as_bytes()), c["psk"]);
        }
    }
}
