//! The handshake re-implemented from the spec's formulas with the
//! primitives directly, checked against the crate and against fixed
//! vectors (handshake, SAS, envelope); plus attacks that need hand-made
//! messages (low-order keys, bad commitments, reflection, a relay that
//! breaks the seal but lacks the PSK).
//! Regenerate vectors with `CONFIDE_UPDATE_VECTORS=1` (then review).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, XChaCha20Poly1305, XNonce};
use confide_shared::envelope::ParticipantId;
use confide_shared::handshake::{
    HandshakeError, Initiator, InitiatorAwaitReveal, Responder, ResponderAwaitReveal,
    SessionKeypair,
};
use confide_shared::link::{Invite, InviteSecret, Psk, RoomId, SessionSecret};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors");

// ---- the spec, independently -------------------------------------------

fn hkdf32(salt: &[u8], ikm: &[u8], info: &[&[u8]]) -> [u8; 32] {
    let mut out = [0u8; 32];
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(&info.concat(), &mut out)
        .unwrap();
    out
}
fn sha(parts: &[&[u8]]) -> [u8; 32] {
    Sha256::digest(parts.concat()).into()
}
fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    m.update(&parts.concat());
    m.finalize().into_bytes().into()
}
fn seal_key(psk: &Psk, room: &RoomId) -> [u8; 32] {
    hkdf32(
        room.as_bytes(),
        psk.as_bytes(),
        &[b"confide v1 handshake seal"],
    )
}
fn seal_aad(room: &RoomId, ty: u8) -> Vec<u8> {
    [
        b"confide v1 handshake seal".as_slice(),
        room.as_bytes(),
        &[ty],
    ]
    .concat()
}
fn seal(key: &[u8; 32], room: &RoomId, ty: u8, nonce: [u8; 24], body: &[u8]) -> Vec<u8> {
    let c = XChaCha20Poly1305::new(key.into());
    let aad = seal_aad(room, ty);
    let ct = c
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: body,
                aad: &aad,
            },
        )
        .unwrap();
    [&[ty][..], &nonce, &ct].concat()
}
fn open(key: &[u8; 32], room: &RoomId, bytes: &[u8]) -> Vec<u8> {
    let c = XChaCha20Poly1305::new(key.into());
    let aad = seal_aad(room, bytes[0]);
    c.decrypt(
        XNonce::from_slice(&bytes[1..25]),
        Payload {
            msg: &bytes[25..],
            aad: &aad,
        },
    )
    .unwrap()
}
fn reseal(key: &[u8; 32], room: &RoomId, orig: &[u8], body: &[u8]) -> Vec<u8> {
    seal(key, room, orig[0], orig[1..25].try_into().unwrap(), body)
}

struct Derived {
    th: [u8; 32],
    confirm_i_key: [u8; 32],
    confirm_r_key: [u8; 32],
    i_to_r: [u8; 32],
    r_to_i: [u8; 32],
    sas_key: [u8; 32],
    confirm_i: [u8; 32],
    confirm_r: [u8; 32],
    sas: u32,
}

#[allow(clippy::too_many_arguments)]
fn derive(
    psk: &Psk,
    room: &RoomId,
    dh: &[u8; 32],
    commit: &[u8],
    pub_r: &[u8],
    nonce_r: &[u8],
    pub_i: &[u8],
    nonce_i: &[u8],
) -> Derived {
    let th = sha(&[
        b"confide v1 handshake transcript",
        room.as_bytes(),
        &[0x11],
        commit,
        &[0x12],
        pub_r,
        nonce_r,
        &[0x13],
        pub_i,
        nonce_i,
    ]);
    let k = |l: &[u8]| hkdf32(psk.as_bytes(), dh, &[l, &th]);
    let confirm_i_key = k(b"confide v1 confirm I");
    let confirm_r_key = k(b"confide v1 confirm R");
    let sas_key = k(b"confide v1 sas");
    Derived {
        th,
        confirm_i: hmac(&confirm_i_key, &[b"confide v1 confirm I", &th]),
        confirm_r: hmac(&confirm_r_key, &[b"confide v1 confirm R", &th]),
        confirm_i_key,
        confirm_r_key,
        i_to_r: k(b"confide v1 envelope I to R"),
        r_to_i: k(b"confide v1 envelope R to I"),
        sas: (u64::from_be_bytes(sas_key[..8].try_into().unwrap()) % 1_000_000) as u32,
        sas_key,
    }
}

fn pid(public: &[u8]) -> [u8; 16] {
    sha(&[b"confide v1 participant id", public])[..16]
        .try_into()
        .unwrap()
}

fn envelope(key: &[u8; 32], sender: &[u8], recipient: &[u8], seq: u64, pt: &[u8]) -> Vec<u8> {
    let aad = [
        b"confide v1 envelope".as_slice(),
        &[0x20],
        &pid(sender),
        &pid(recipient),
        &seq.to_be_bytes(),
    ]
    .concat();
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&seq.to_be_bytes());
    let ct = ChaCha20Poly1305::new(key.into())
        .encrypt(&nonce.into(), Payload { msg: pt, aad: &aad })
        .unwrap();
    [&[0x20][..], &seq.to_be_bytes(), &ct].concat()
}

// ---- fixtures -----------------------------------------------------------

fn invite() -> Invite {
    let ss = SessionSecret::from_bytes([0x11; 32]);
    Invite::new(ss.room_id(), InviteSecret::from_bytes([0x22; 32]))
}

fn secret_from(rng: &mut ChaCha20Rng) -> [u8; 32] {
    // SessionKeypair::generate draws exactly 32 bytes: mirror that.
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    b
}

fn check_or_update(path: &str, got: &Value) {
    let path = format!("{DIR}/{path}");
    if std::env::var_os("CONFIDE_UPDATE_VECTORS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(got).unwrap() + "\n").unwrap();
    }
    let want: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(got, &want, "{path}");
}

#[test]
fn handshake_sas_envelope_vectors() {
    let inv = invite();
    let (room, psk) = (inv.room_id(), inv.psk());
    let mut g_rng = ChaCha20Rng::from_seed([1u8; 32]);
    let mut h_rng = ChaCha20Rng::from_seed([2u8; 32]);
    let guest = SessionKeypair::generate(&mut g_rng);
    let host = SessionKeypair::generate(&mut h_rng);
    let g_secret = secret_from(&mut ChaCha20Rng::from_seed([1u8; 32]));
    let h_secret = secret_from(&mut ChaCha20Rng::from_seed([2u8; 32]));
    assert_eq!(
        guest.public(),
        PublicKey::from(&StaticSecret::from(g_secret)).to_bytes()
    );
    assert_eq!(guest.id().as_bytes(), &pid(&guest.public()));

    let (gi, m1) = Initiator::start(&mut g_rng, &guest, &psk, &room);
    let (hr, m2) = Responder::accept(&mut h_rng, &host, &psk, &room, &m1).unwrap();
    let (gc, m3) = gi.on_reveal(&mut g_rng, &m2).unwrap();
    let (mut h_est, m4) = hr.on_reveal(&mut h_rng, &m3).unwrap();
    let mut g_est = gc.on_confirm(&m4).unwrap();

    // Model: unseal, recompute everything, compare.
    let sk = seal_key(&psk, &room);
    let (b1, b2, b3, b4) = (
        open(&sk, &room, &m1),
        open(&sk, &room, &m2),
        open(&sk, &room, &m3),
        open(&sk, &room, &m4),
    );
    assert_eq!([m1[0], m2[0], m3[0], m4[0]], [0x11, 0x12, 0x13, 0x14]);
    let (pub_r, nonce_r) = (&b2[..32], &b2[32..64]);
    let (pub_i, nonce_i, confirm_i) = (&b3[..32], &b3[32..64], &b3[64..96]);
    assert_eq!(pub_i, guest.public());
    assert_eq!(pub_r, host.public());
    assert_eq!(b1, sha(&[b"confide v1 commit", pub_i, nonce_i]));
    let dh = StaticSecret::from(g_secret)
        .diffie_hellman(&PublicKey::from(<[u8; 32]>::try_from(pub_r).unwrap()))
        .to_bytes();
    let dh2 = StaticSecret::from(h_secret)
        .diffie_hellman(&PublicKey::from(<[u8; 32]>::try_from(pub_i).unwrap()))
        .to_bytes();
    assert_eq!(dh, dh2);
    let d = derive(&psk, &room, &dh, &b1, pub_r, nonce_r, pub_i, nonce_i);
    assert_eq!(confirm_i, d.confirm_i);
    assert_eq!(b4, d.confirm_r);
    assert_eq!(g_est.sas().value(), d.sas);
    assert_eq!(h_est.sas(), g_est.sas());
    assert_eq!(g_est.peer_public(), host.public());
    assert_eq!(h_est.peer_public(), guest.public());
    assert_eq!(g_est.own_public(), guest.public());

    check_or_update(
        "handshake/basic.json",
        &json!({
            "description": "guest rng = ChaCha20Rng(seed 01*32), host rng = ChaCha20Rng(seed 02*32); keypair = first 32 bytes of each rng; psk/room from link vectors case 2",
            "room_id": hex::encode(room.as_bytes()),
            "psk": hex::encode(psk.as_bytes()),
            "seal_key": hex::encode(sk),
            "guest_secret": hex::encode(g_secret),
            "guest_public": hex::encode(guest.public()),
            "guest_id": hex::encode(guest.id().as_bytes()),
            "host_secret": hex::encode(h_secret),
            "host_public": hex::encode(host.public()),
            "host_id": hex::encode(host.id().as_bytes()),
            "m1": hex::encode(&m1), "m2": hex::encode(&m2), "m3": hex::encode(&m3), "m4": hex::encode(&m4),
            "nonce_i": hex::encode(nonce_i),
            "nonce_r": hex::encode(nonce_r),
            "commit": hex::encode(&b1),
            "dh": hex::encode(dh),
            "th": hex::encode(d.th),
            "confirm_i_key": hex::encode(d.confirm_i_key),
            "confirm_r_key": hex::encode(d.confirm_r_key),
            "confirm_i": hex::encode(d.confirm_i),
            "confirm_r": hex::encode(d.confirm_r),
            "envelope_i_to_r_key": hex::encode(d.i_to_r),
            "envelope_r_to_i_key": hex::encode(d.r_to_i),
            "sas_key": hex::encode(d.sas_key),
        }),
    );
    let sas = g_est.sas();
    check_or_update(
        "sas/basic.json",
        &json!({
            "description": "SAS of handshake/basic.json: first 8 bytes of sas_key, big-endian, mod 10^6",
            "sas_key": hex::encode(d.sas_key),
            "value": sas.value(),
            "display": sas.to_string(),
        }),
    );
    assert_eq!(sas.to_string().len(), 7);

    // Envelopes, both directions, first messages.
    let g_ch = g_est.channel();
    let e0 = g_ch.seal(b"{\"t\":\"Bye\"}").unwrap();
    let e1 = g_ch.seal(b"hello host").unwrap();
    assert_eq!(e0, envelope(&d.i_to_r, pub_i, pub_r, 0, b"{\"t\":\"Bye\"}"));
    assert_eq!(e1, envelope(&d.i_to_r, pub_i, pub_r, 1, b"hello host"));
    let h_ch = h_est.channel();
    assert_eq!(h_ch.open(&e0).unwrap(), b"{\"t\":\"Bye\"}");
    assert_eq!(h_ch.open(&e1).unwrap(), b"hello host");
    let r0 = h_ch.seal(b"hello guest").unwrap();
    assert_eq!(r0, envelope(&d.r_to_i, pub_r, pub_i, 0, b"hello guest"));
    assert_eq!(g_est.channel().open(&r0).unwrap(), b"hello guest");
    check_or_update(
        "envelope/basic.json",
        &json!({
            "description": "envelopes on the channel of handshake/basic.json",
            "i_to_r_key": hex::encode(d.i_to_r),
            "r_to_i_key": hex::encode(d.r_to_i),
            "guest_id": hex::encode(pid(pub_i)),
            "host_id": hex::encode(pid(pub_r)),
            "cases": [
                {"from": "guest", "seq": 0, "plaintext": hex::encode(b"{\"t\":\"Bye\"}"), "envelope": hex::encode(&e0)},
                {"from": "guest", "seq": 1, "plaintext": hex::encode(b"hello host"), "envelope": hex::encode(&e1)},
                {"from": "host", "seq": 0, "plaintext": hex::encode(b"hello guest"), "envelope": hex::encode(&r0)},
            ],
        }),
    );
}

// ---- hand-made attacks ----------------------------------------------------

struct Run {
    room: RoomId,
    psk: Psk,
    sk: [u8; 32],
    guest: SessionKeypair,
    host: SessionKeypair,
    rng: ChaCha20Rng,
}

fn run(seed: u8) -> Run {
    let inv = invite();
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    Run {
        room: inv.room_id(),
        psk: inv.psk(),
        sk: seal_key(&inv.psk(), &inv.room_id()),
        guest: SessionKeypair::generate(&mut rng),
        host: SessionKeypair::generate(&mut rng),
        rng,
    }
}

impl Run {
    fn until_m2(&mut self) -> (ResponderAwaitReveal, InitiatorAwaitReveal, Vec<u8>, Vec<u8>) {
        let (gi, m1) = Initiator::start(&mut self.rng, &self.guest, &self.psk, &self.room);
        let (hr, m2) =
            Responder::accept(&mut self.rng, &self.host, &self.psk, &self.room, &m1).unwrap();
        (hr, gi, m1, m2)
    }
}

/// Small-order u-coordinates of Curve25519 (0, 1, the two order-8 points,
/// p - 1) and encodings that decode to them (p, p + 1, top bit set).
fn low_order_points() -> Vec<[u8; 32]> {
    let hexes = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        // Bit 255 is masked on decoding, so these are 0 and 1 again.
        "0000000000000000000000000000000000000000000000000000000000000080",
        "0100000000000000000000000000000000000000000000000000000000000080",
    ];
    hexes
        .iter()
        .map(|h| hex::decode(h).unwrap().try_into().unwrap())
        .collect()
}

#[test]
fn low_order_reveal_r_rejected_by_guest() {
    for (i, p) in low_order_points().into_iter().enumerate() {
        let mut r = run(10 + i as u8);
        let (_hr, gi, _m1, m2) = r.until_m2();
        let body = [&p[..], &open(&r.sk, &r.room, &m2)[32..]].concat();
        let evil = reseal(&r.sk, &r.room, &m2, &body);
        let err = gi.on_reveal(&mut r.rng, &evil).unwrap_err();
        assert_eq!(err, HandshakeError::LowOrderPoint, "point {i}");
    }
}

#[test]
fn low_order_reveal_i_rejected_by_host() {
    // A guest that commits to a low-order key and reveals it honestly.
    for (i, p) in low_order_points().into_iter().enumerate() {
        let mut r = run(30 + i as u8);
        let nonce_i = [9u8; 32];
        let commit = sha(&[b"confide v1 commit", &p, &nonce_i]);
        let m1 = seal(&r.sk, &r.room, 0x11, [1; 24], &commit);
        let (hr, _m2) = Responder::accept(&mut r.rng, &r.host, &r.psk, &r.room, &m1).unwrap();
        let m3 = seal(
            &r.sk,
            &r.room,
            0x13,
            [2; 24],
            &[&p[..], &nonce_i, &[0u8; 32]].concat(),
        );
        let err = hr.on_reveal(&mut r.rng, &m3).unwrap_err();
        assert_eq!(err, HandshakeError::LowOrderPoint, "point {i}");
    }
}

#[test]
fn bad_commitment_rejected() {
    let mut r = run(50);
    let (hr, gi, _m1, m2) = r.until_m2();
    let (_gc, m3) = gi.on_reveal(&mut r.rng, &m2).unwrap();
    let mut body = open(&r.sk, &r.room, &m3);
    body[40] ^= 1; // nonce_I differs from the committed one
    let err = hr
        .on_reveal(&mut r.rng, &reseal(&r.sk, &r.room, &m3, &body))
        .unwrap_err();
    assert_eq!(err, HandshakeError::BadCommitment);

    // A different key than the committed one (key substitution after m2).
    let mut r = run(51);
    let (hr, gi, _m1, m2) = r.until_m2();
    let (_gc, m3) = gi.on_reveal(&mut r.rng, &m2).unwrap();
    let mut body = open(&r.sk, &r.room, &m3);
    let other = SessionKeypair::generate(&mut r.rng);
    body[..32].copy_from_slice(&other.public());
    let err = hr
        .on_reveal(&mut r.rng, &reseal(&r.sk, &r.room, &m3, &body))
        .unwrap_err();
    assert_eq!(err, HandshakeError::BadCommitment);
}

#[test]
fn reflected_key_rejected() {
    // Relay answers the guest with the guest's own key.
    let mut r = run(52);
    let (_hr, gi, _m1, m2) = r.until_m2();
    let body = [&r.guest.public()[..], &open(&r.sk, &r.room, &m2)[32..]].concat();
    let err = gi
        .on_reveal(&mut r.rng, &reseal(&r.sk, &r.room, &m2, &body))
        .unwrap_err();
    assert_eq!(err, HandshakeError::Reflection);

    // A "guest" that reveals the host's own key (committed properly).
    let mut r = run(53);
    let nonce_i = [4u8; 32];
    let hp = r.host.public();
    let m1 = seal(
        &r.sk,
        &r.room,
        0x11,
        [1; 24],
        &sha(&[b"confide v1 commit", &hp, &nonce_i]),
    );
    let (hr, _m2) = Responder::accept(&mut r.rng, &r.host, &r.psk, &r.room, &m1).unwrap();
    let m3 = seal(
        &r.sk,
        &r.room,
        0x13,
        [2; 24],
        &[&hp[..], &nonce_i, &[0u8; 32]].concat(),
    );
    assert_eq!(
        hr.on_reveal(&mut r.rng, &m3).unwrap_err(),
        HandshakeError::Reflection
    );
}

#[test]
fn bad_confirmations_rejected() {
    // Guest's confirmation altered (inside a valid seal).
    let mut r = run(54);
    let (hr, gi, _m1, m2) = r.until_m2();
    let (_gc, m3) = gi.on_reveal(&mut r.rng, &m2).unwrap();
    let mut body = open(&r.sk, &r.room, &m3);
    body[70] ^= 0x80;
    let err = hr
        .on_reveal(&mut r.rng, &reseal(&r.sk, &r.room, &m3, &body))
        .unwrap_err();
    assert_eq!(err, HandshakeError::BadConfirmation);

    // Host's confirmation altered.
    let mut r = run(55);
    let (hr, gi, _m1, m2) = r.until_m2();
    let (gc, m3) = gi.on_reveal(&mut r.rng, &m2).unwrap();
    let (_est, m4) = hr.on_reveal(&mut r.rng, &m3).unwrap();
    let mut body = open(&r.sk, &r.room, &m4);
    body[0] ^= 1;
    let err = gc
        .on_confirm(&reseal(&r.sk, &r.room, &m4, &body))
        .unwrap_err();
    assert_eq!(err, HandshakeError::BadConfirmation);

    // Guest's confirmation reflected as the host's (direction-specific keys).
    let mut r = run(56);
    let (_hr, gi, _m1, m2) = r.until_m2();
    let (gc, m3) = gi.on_reveal(&mut r.rng, &m2).unwrap();
    let confirm_i = open(&r.sk, &r.room, &m3)[64..].to_vec();
    let fake_m4 = seal(&r.sk, &r.room, 0x14, [3; 24], &confirm_i);
    assert_eq!(
        gc.on_confirm(&fake_m4).unwrap_err(),
        HandshakeError::BadConfirmation
    );
}

/// A relay that has broken (or simply been given) the seal key, but not
/// the PSK, swaps in its own key: the confirmation still fails, so the
/// seal is not what the security rests on.
#[test]
fn seal_key_without_psk_cannot_mitm() {
    let mut r = run(57);
    let wrong_psk = Invite::new(r.room, InviteSecret::from_bytes([0x99; 32])).psk();
    let mallory = SessionKeypair::generate(&mut r.rng);
    // Toward the guest: Mallory pretends to be the host, with the seal key
    // of the real PSK but the inner protocol run on her wrong PSK.
    let (gi, m1) = Initiator::start(&mut r.rng, &r.guest, &r.psk, &r.room);
    let body1 = open(&r.sk, &r.room, &m1);
    let nonce_r = [5u8; 32];
    let m2 = seal(
        &r.sk,
        &r.room,
        0x12,
        [6; 24],
        &[&mallory.public()[..], &nonce_r].concat(),
    );
    let (gc, m3) = gi.on_reveal(&mut r.rng, &m2).unwrap();
    let b3 = open(&r.sk, &r.room, &m3);
    let dh = StaticSecret::from(secret_of(&mallory, 57))
        .diffie_hellman(&PublicKey::from(<[u8; 32]>::try_from(&b3[..32]).unwrap()))
        .to_bytes();
    let d = derive(
        &wrong_psk,
        &r.room,
        &dh,
        &body1,
        &mallory.public(),
        &nonce_r,
        &b3[..32],
        &b3[32..64],
    );
    assert_ne!(
        &b3[64..],
        d.confirm_i,
        "without the PSK Mallory cannot even check"
    );
    let m4 = seal(&r.sk, &r.room, 0x14, [7; 24], &d.confirm_r);
    assert_eq!(
        gc.on_confirm(&m4).unwrap_err(),
        HandshakeError::BadConfirmation
    );

    // Toward the host: Mallory pretends to be the guest.
    let mut r = run(58);
    let mallory = SessionKeypair::generate(&mut r.rng);
    let (mi, m1) = Initiator::start(&mut r.rng, &mallory, &wrong_psk, &r.room);
    // Mallory's own seal is under the wrong PSK: re-seal under the real one.
    let sk_wrong = seal_key(&wrong_psk, &r.room);
    let m1 = reseal(&r.sk, &r.room, &m1, &open(&sk_wrong, &r.room, &m1));
    let (hr, m2) = Responder::accept(&mut r.rng, &r.host, &r.psk, &r.room, &m1).unwrap();
    let m2 = reseal(&sk_wrong, &r.room, &m2, &open(&r.sk, &r.room, &m2));
    let (_mc, m3) = mi.on_reveal(&mut r.rng, &m2).unwrap();
    let m3 = reseal(&r.sk, &r.room, &m3, &open(&sk_wrong, &r.room, &m3));
    assert_eq!(
        hr.on_reveal(&mut r.rng, &m3).unwrap_err(),
        HandshakeError::BadConfirmation
    );
}

/// Re-draws the secret of a keypair generated as the third draw of
/// `run(seed)`'s RNG (guest, host, then Mallory).
fn secret_of(kp: &SessionKeypair, seed: u8) -> [u8; 32] {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    for _ in 0..16 {
        let s = secret_from(&mut rng);
        if PublicKey::from(&StaticSecret::from(s)).to_bytes() == kp.public() {
            return s;
        }
    }
    panic!("keypair not found in rng stream");
}

#[test]
fn participant_id_is_hash_prefix() {
    let r = run(60);
    assert_eq!(
        ParticipantId::from_public(&r.host.public()).as_bytes(),
        &pid(&r.host.public())
    );
}
