//! PSK-bound, commitment-first key exchange between a guest and the host.
//!
//! The guest is the initiator I, the counsellor's browser the responder R:
//!
//! ```text
//! m1 I→R  commit = SHA-256("confide v1 commit" || pub_I || nonce_I)
//! m2 R→I  pub_R || nonce_R
//! m3 I→R  pub_I || nonce_I || confirm_I     (R checks the commitment)
//! m4 R→I  confirm_R
//! ```
//!
//! I commits to its key before it sees R's; R reveals before it sees I's.
//! A man in the middle therefore has to fix his own keys before the
//! honest party's fresh values are known, and gets a random SAS on each
//! side (see `docs/PROTOCOL.md (section 1)`). Keys come from
//! `HKDF-SHA256(salt = psk, ikm = X25519, info = label || TH)`, so without
//! the PSK nobody, the relay included, can produce a valid confirmation.
//! Each message is also sealed under a PSK-only key so the relay does not
//! see public keys; security does not depend on that seal.
//!
//! The state types consume themselves on each step, so messages can only
//! be processed in protocol order.

use std::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::envelope::{Channel, DirectionKey, ParticipantId};
use crate::kdf;
use crate::link::{Psk, RoomId};
use crate::sas::Sas;

/// Domain-separation labels, listed in the spec.
pub(crate) mod label {
    pub const SEAL: &[u8] = b"confide v1 handshake seal";
    pub const COMMIT: &[u8] = b"confide v1 commit";
    pub const TRANSCRIPT: &[u8] = b"confide v1 handshake transcript";
    pub const CONFIRM_I: &[u8] = b"confide v1 confirm I";
    pub const CONFIRM_R: &[u8] = b"confide v1 confirm R";
    pub const ENVELOPE_I_TO_R: &[u8] = b"confide v1 envelope I to R";
    pub const ENVELOPE_R_TO_I: &[u8] = b"confide v1 envelope R to I";
    pub const SAS: &[u8] = b"confide v1 sas";
}

/// Message type bytes: the first byte of each sealed handshake message.
pub mod msg_type {
    /// m1, Commit (guest → host, inside the knock).
    pub const COMMIT: u8 = 0x11;
    /// m2, Reveal-R (host → guest).
    pub const REVEAL_R: u8 = 0x12;
    /// m3, Reveal-I with the guest's confirmation (guest → host).
    pub const REVEAL_I: u8 = 0x13;
    /// m4, Confirm-R (host → guest).
    pub const CONFIRM_R: u8 = 0x14;
}

const KEY: usize = 32;
const NONCE: usize = 32;
const XNONCE: usize = 24;
const TAG: usize = 16;

/// Why a handshake step failed. Any error ends that handshake attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    #[error("handshake message malformed")]
    Decode,
    #[error("expected handshake message {expected:#04x}, got {got:#04x}")]
    UnexpectedMessage { expected: u8, got: u8 },
    #[error("handshake message failed to unseal (wrong invite link or tampering)")]
    Seal,
    #[error("revealed key does not match the commitment")]
    BadCommitment,
    #[error("peer public key is a low-order point")]
    LowOrderPoint,
    #[error("peer public key equals our own")]
    Reflection,
    #[error("key confirmation failed (wrong invite link or man in the middle)")]
    BadConfirmation,
}

/// A participant's X25519 key pair for one session. The host uses one for
/// all its guests; a guest uses one for the host and its peers.
#[derive(Clone)]
pub struct SessionKeypair {
    secret: StaticSecret,
    public: PublicKey,
}

impl SessionKeypair {
    /// A fresh key pair.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        let mut b = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut b[..]);
        let secret = StaticSecret::from(*b);
        let public = PublicKey::from(&secret);
        Self { secret, public }
    }
    /// The public key.
    pub fn public(&self) -> [u8; 32] {
        self.public.to_bytes()
    }
    /// The participant id derived from the public key.
    pub fn id(&self) -> ParticipantId {
        ParticipantId::from_public(self.public.as_bytes())
    }
    /// X25519 with a peer key; rejects low-order peer keys (all-zero
    /// result) and our own key (reflection).
    pub(crate) fn dh(&self, peer: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, HandshakeError> {
        if kdf::ct_eq(peer, self.public.as_bytes()) {
            return Err(HandshakeError::Reflection);
        }
        let shared = self.secret.diffie_hellman(&PublicKey::from(*peer));
        if !shared.was_contributory() {
            return Err(HandshakeError::LowOrderPoint);
        }
        Ok(Zeroizing::new(shared.to_bytes()))
    }
}

impl fmt::Debug for SessionKeypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKeypair({:?})", self.id())
    }
}

/// Key sealing handshake messages: HKDF(salt = room id, ikm = psk).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct SealKey([u8; 32]);

impl SealKey {
    fn derive(psk: &Psk, room: &RoomId) -> Self {
        Self(*kdf::hkdf::<32>(
            room.as_bytes(),
            psk.as_bytes(),
            &[label::SEAL],
        ))
    }

    fn aad(room: &RoomId, ty: u8) -> Vec<u8> {
        let mut a = Vec::with_capacity(label::SEAL.len() + 17);
        a.extend_from_slice(label::SEAL);
        a.extend_from_slice(room.as_bytes());
        a.push(ty);
        a
    }

    /// `type || xnonce (24) || XChaCha20-Poly1305(body, aad = label || room || type)`.
    fn seal(&self, rng: &mut impl CryptoRngCore, room: &RoomId, ty: u8, body: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; XNONCE];
        rng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let aad = Self::aad(room, ty);
        let mut out = Vec::with_capacity(1 + XNONCE + body.len() + TAG);
        out.push(ty);
        out.extend_from_slice(&nonce);
        // Encryption only fails for inputs beyond 2^38 bytes; bodies here
        // are at most 96 bytes.
        if let Ok(ct) = cipher.encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: body,
                aad: &aad,
            },
        ) {
            out.extend_from_slice(&ct);
        }
        out
    }

    fn open(
        &self,
        room: &RoomId,
        ty: u8,
        body_len: usize,
        bytes: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, HandshakeError> {
        let Some(&got) = bytes.first() else {
            return Err(HandshakeError::Decode);
        };
        if got != ty {
            return Err(HandshakeError::UnexpectedMessage { expected: ty, got });
        }
        if bytes.len() != 1 + XNONCE + body_len + TAG {
            return Err(HandshakeError::Decode);
        }
        let cipher = XChaCha20Poly1305::new((&self.0).into());
        let aad = Self::aad(room, ty);
        cipher
            .decrypt(
                XNonce::from_slice(&bytes[1..1 + XNONCE]),
                Payload {
                    msg: &bytes[1 + XNONCE..],
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| HandshakeError::Seal)
    }
}

fn commitment(pub_i: &[u8; 32], nonce_i: &[u8; 32]) -> [u8; 32] {
    kdf::sha256(&[label::COMMIT, pub_i, nonce_i])
}

/// `TH = SHA-256(label || room id || 0x11 || m1 || 0x12 || m2 || 0x13 ||
/// pub_I || nonce_I)`; the type bytes name the sender's role (odd = I =
/// guest, even = R = host). All fields are fixed-length.
fn transcript(
    room: &RoomId,
    commit: &[u8; 32],
    pub_r: &[u8; 32],
    nonce_r: &[u8; 32],
    pub_i: &[u8; 32],
    nonce_i: &[u8; 32],
) -> [u8; 32] {
    kdf::sha256(&[
        label::TRANSCRIPT,
        room.as_bytes(),
        &[msg_type::COMMIT],
        commit,
        &[msg_type::REVEAL_R],
        pub_r,
        nonce_r,
        &[msg_type::REVEAL_I],
        pub_i,
        nonce_i,
    ])
}

/// Everything derived from `HKDF(salt = psk, ikm = dh, info = label || TH)`.
#[derive(Zeroize, ZeroizeOnDrop)]
struct Keys {
    confirm_i: [u8; 32],
    confirm_r: [u8; 32],
    i_to_r: [u8; 32],
    r_to_i: [u8; 32],
    sas: [u8; 32],
    #[zeroize(skip)]
    th: [u8; 32],
}

impl Keys {
    fn derive(psk: &Psk, dh: &[u8; 32], th: [u8; 32]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(psk.as_bytes()), dh);
        let k = |l: &[u8]| *kdf::expand::<32>(&hk, &[l, &th]);
        Self {
            confirm_i: k(label::CONFIRM_I),
            confirm_r: k(label::CONFIRM_R),
            i_to_r: k(label::ENVELOPE_I_TO_R),
            r_to_i: k(label::ENVELOPE_R_TO_I),
            sas: k(label::SAS),
            th,
        }
    }
    fn mac_i(&self) -> [u8; 32] {
        kdf::hmac(&self.confirm_i, &[label::CONFIRM_I, &self.th])
    }
    fn mac_r(&self) -> [u8; 32] {
        kdf::hmac(&self.confirm_r, &[label::CONFIRM_R, &self.th])
    }
}

fn split<const A: usize>(b: &[u8], at: usize) -> [u8; A] {
    let mut out = [0u8; A];
    out.copy_from_slice(&b[at..at + A]);
    out
}

/// Entry point for the guest (initiator).
#[derive(Debug)]
pub struct Initiator;

/// Entry point for the host (responder).
#[derive(Debug)]
pub struct Responder;

impl Initiator {
    /// Starts a handshake: returns the state and m1 (put it in the knock).
    pub fn start(
        rng: &mut impl CryptoRngCore,
        keypair: &SessionKeypair,
        psk: &Psk,
        room: &RoomId,
    ) -> (InitiatorAwaitReveal, Vec<u8>) {
        Self::start_with_seal(rng, keypair, psk, SealKey::derive(psk, room), room)
    }

    fn start_with_seal(
        rng: &mut impl CryptoRngCore,
        keypair: &SessionKeypair,
        psk: &Psk,
        seal: SealKey,
        room: &RoomId,
    ) -> (InitiatorAwaitReveal, Vec<u8>) {
        let mut nonce = [0u8; NONCE];
        rng.fill_bytes(&mut nonce);
        let commit = commitment(&keypair.public(), &nonce);
        let m1 = seal.seal(rng, room, msg_type::COMMIT, &commit);
        let state = InitiatorAwaitReveal {
            keypair: keypair.clone(),
            psk: psk.clone(),
            seal,
            room: *room,
            nonce_i: nonce,
            commit,
        };
        (state, m1)
    }
}

/// Guest waiting for m2.
pub struct InitiatorAwaitReveal {
    keypair: SessionKeypair,
    psk: Psk,
    seal: SealKey,
    room: RoomId,
    nonce_i: [u8; 32],
    commit: [u8; 32],
}

impl fmt::Debug for InitiatorAwaitReveal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InitiatorAwaitReveal")
    }
}

impl InitiatorAwaitReveal {
    /// Handles m2; returns the state and m3.
    pub fn on_reveal(
        self,
        rng: &mut impl CryptoRngCore,
        m2: &[u8],
    ) -> Result<(InitiatorAwaitConfirm, Vec<u8>), HandshakeError> {
        let body = self
            .seal
            .open(&self.room, msg_type::REVEAL_R, KEY + NONCE, m2)?;
        let pub_r: [u8; 32] = split(&body, 0);
        let nonce_r: [u8; 32] = split(&body, KEY);
        let pub_i = self.keypair.public();
        let dh = self.keypair.dh(&pub_r)?;
        let th = transcript(
            &self.room,
            &self.commit,
            &pub_r,
            &nonce_r,
            &pub_i,
            &self.nonce_i,
        );
        let keys = Keys::derive(&self.psk, &dh, th);
        let mut m3_body = Zeroizing::new(Vec::with_capacity(KEY + NONCE + 32));
        m3_body.extend_from_slice(&pub_i);
        m3_body.extend_from_slice(&self.nonce_i);
        m3_body.extend_from_slice(&keys.mac_i());
        let m3 = self
            .seal
            .seal(rng, &self.room, msg_type::REVEAL_I, &m3_body);
        let state = InitiatorAwaitConfirm {
            seal: self.seal.clone(),
            room: self.room,
            keys,
            own_public: pub_i,
            peer_public: pub_r,
        };
        Ok((state, m3))
    }
}

/// Guest waiting for m4.
pub struct InitiatorAwaitConfirm {
    seal: SealKey,
    room: RoomId,
    keys: Keys,
    own_public: [u8; 32],
    peer_public: [u8; 32],
}

impl fmt::Debug for InitiatorAwaitConfirm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InitiatorAwaitConfirm")
    }
}

impl InitiatorAwaitConfirm {
    /// Handles m4; on success the host has proven it holds the PSK and the
    /// key matching the transcript.
    pub fn on_confirm(self, m4: &[u8]) -> Result<Established, HandshakeError> {
        let body = self.seal.open(&self.room, msg_type::CONFIRM_R, 32, m4)?;
        if !kdf::ct_eq(&body, &self.keys.mac_r()) {
            return Err(HandshakeError::BadConfirmation);
        }
        let channel = Channel::new(
            &DirectionKey(self.keys.i_to_r),
            &DirectionKey(self.keys.r_to_i),
            self.own_public,
            self.peer_public,
        );
        Ok(Established {
            sas: Sas::from_key(&self.keys.sas),
            channel,
        })
    }
}

impl Responder {
    /// Handles m1 (from a knock); returns the state and m2.
    pub fn accept(
        rng: &mut impl CryptoRngCore,
        keypair: &SessionKeypair,
        psk: &Psk,
        room: &RoomId,
        m1: &[u8],
    ) -> Result<(ResponderAwaitReveal, Vec<u8>), HandshakeError> {
        Self::accept_with_seal(rng, keypair, psk, SealKey::derive(psk, room), room, m1)
    }

    fn accept_with_seal(
        rng: &mut impl CryptoRngCore,
        keypair: &SessionKeypair,
        psk: &Psk,
        seal: SealKey,
        room: &RoomId,
        m1: &[u8],
    ) -> Result<(ResponderAwaitReveal, Vec<u8>), HandshakeError> {
        let body = seal.open(room, msg_type::COMMIT, 32, m1)?;
        let commit: [u8; 32] = split(&body, 0);
        let mut nonce_r = [0u8; NONCE];
        rng.fill_bytes(&mut nonce_r);
        let mut m2_body = [0u8; KEY + NONCE];
        m2_body[..KEY].copy_from_slice(&keypair.public());
        m2_body[KEY..].copy_from_slice(&nonce_r);
        let m2 = seal.seal(rng, room, msg_type::REVEAL_R, &m2_body);
        let state = ResponderAwaitReveal {
            keypair: keypair.clone(),
            psk: psk.clone(),
            seal,
            room: *room,
            commit,
            nonce_r,
        };
        Ok((state, m2))
    }
}

/// Host waiting for m3.
pub struct ResponderAwaitReveal {
    keypair: SessionKeypair,
    psk: Psk,
    seal: SealKey,
    room: RoomId,
    commit: [u8; 32],
    nonce_r: [u8; 32],
}

impl fmt::Debug for ResponderAwaitReveal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResponderAwaitReveal")
    }
}

impl ResponderAwaitReveal {
    /// Handles m3: checks the commitment, the key and the guest's
    /// confirmation; returns the session and m4.
    pub fn on_reveal(
        self,
        rng: &mut impl CryptoRngCore,
        m3: &[u8],
    ) -> Result<(Established, Vec<u8>), HandshakeError> {
        let body = self
            .seal
            .open(&self.room, msg_type::REVEAL_I, KEY + NONCE + 32, m3)?;
        let pub_i: [u8; 32] = split(&body, 0);
        let nonce_i: [u8; 32] = split(&body, KEY);
        let confirm_i: [u8; 32] = split(&body, KEY + NONCE);
        if !kdf::ct_eq(&commitment(&pub_i, &nonce_i), &self.commit) {
            return Err(HandshakeError::BadCommitment);
        }
        let dh = self.keypair.dh(&pub_i)?;
        let pub_r = self.keypair.public();
        let th = transcript(
            &self.room,
            &self.commit,
            &pub_r,
            &self.nonce_r,
            &pub_i,
            &nonce_i,
        );
        let keys = Keys::derive(&self.psk, &dh, th);
        if !kdf::ct_eq(&confirm_i, &keys.mac_i()) {
            return Err(HandshakeError::BadConfirmation);
        }
        let m4 = self
            .seal
            .seal(rng, &self.room, msg_type::CONFIRM_R, &keys.mac_r());
        let channel = Channel::new(
            &DirectionKey(keys.r_to_i),
            &DirectionKey(keys.i_to_r),
            pub_r,
            pub_i,
        );
        Ok((
            Established {
                sas: Sas::from_key(&keys.sas),
                channel,
            },
            m4,
        ))
    }
}

/// A completed handshake: the SAS to compare and the envelope channel.
#[derive(Debug)]
pub struct Established {
    sas: Sas,
    channel: Channel,
}

impl Established {
    /// The code both people compare before trusting the session.
    pub fn sas(&self) -> Sas {
        self.sas
    }
    /// The peer's session public key (as authenticated by the SAS).
    pub fn peer_public(&self) -> [u8; 32] {
        self.channel.peer_public()
    }
    /// Our own session public key.
    pub fn own_public(&self) -> [u8; 32] {
        self.channel.own_public()
    }
    /// The envelope channel, borrowed.
    pub fn channel(&mut self) -> &mut Channel {
        &mut self.channel
    }
    /// The envelope channel, taking it over.
    pub fn into_channel(self) -> Channel {
        self.channel
    }
}
