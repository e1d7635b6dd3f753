//! Signaling messages: the plaintext inside envelopes, and the knock.
//!
//! JSON with a `"t"` tag; unknown fields and unknown tags are rejected so
//! that a message means exactly one thing (field-less messages are empty
//! struct variants, `Bye {}`, written `{"t":"Bye"}`; the codec is
//! `crate::json`, see [`flat`]). Every string has a size limit,
//! checked on encode and on decode, so a peer cannot make us hold or render
//! unbounded data. Binary fields are base64url without padding.

#[cfg(test)]
mod equivalence;
mod flat;
#[cfg(test)]
pub(crate) mod serde_reference;

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::authority::SignalKind;
use crate::envelope::{Channel, EnvelopeError, ParticipantId};
use crate::json::{self, JsonError, ObjectWriter, Value, string_of};
use crate::kdf;
use crate::link::{Psk, RoomId};

/// The buffer a signal is written into. Every signal that carries a secret
/// (`Keys`, `Introduce` with a 64-character name of 4-byte characters) fits,
/// so the buffer never grows: growing would free an unwiped copy of the key.
const ENCODE_CAPACITY: usize = 1024;

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 4000;
/// Longest SDP, in bytes.
pub const MAX_SDP_BYTES: usize = 32 * 1024;
/// Longest ICE candidate line / mid, in bytes.
pub const MAX_CANDIDATE_BYTES: usize = 1024;
/// Longest language tag (BCP 47 practical maximum), in bytes.
pub const MAX_LANG_BYTES: usize = 35;
/// Most participants in a call (host + 3 guests).
pub const MAX_MEMBERS: usize = 4;

/// Sealed name: a fixed-size plaintext so its length does not leak.
const NAME_PAD: usize = 2 + MAX_NAME_CHARS * 4;
const XNONCE: usize = 24;
const TAG: usize = 16;
/// Upper bound on a knock's m1 (sealed handshake message 1 is 73 bytes).
const MAX_M1: usize = 128;
const KNOCK_NAME_LABEL: &[u8] = b"confide v1 knock name";

/// Why a signal could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignalError {
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("malformed signal: {0}")]
    Json(String),
    #[error("{field} is {len} long, at most {max} allowed")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} contains control characters")]
    ControlCharacter { field: &'static str },
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("the knock's name could not be unsealed")]
    KnockName,
}

/// 32 secret bytes inside a signal (sender key, group secret): zeroized on
/// drop, redacted in `Debug`, base64url in JSON.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(pub(crate) [u8; 32]);

impl SecretBytes {
    /// Wraps key bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBytes(<redacted>)")
    }
}

/// Reads the base64url form of exactly `N` bytes.
fn read_b64<const N: usize>(value: Value) -> Result<Zeroizing<[u8; N]>, JsonError> {
    let s = value.as_str()?;
    let mut out = Zeroizing::new([0u8; N]);
    // A correct encoding of N bytes needs exactly ceil(4N/3) characters.
    if s.len() != (N * 4).div_ceil(3) {
        return Err(JsonError("wrong number of base64url bytes"));
    }
    match URL_SAFE_NO_PAD.decode_slice(s.as_bytes(), &mut out[..]) {
        Ok(n) if n == N => Ok(out),
        _ => Err(JsonError("bad base64url")),
    }
}

impl SecretBytes {
    fn read(value: Value) -> Result<Self, JsonError> {
        Ok(Self(*read_b64::<32>(value)?))
    }

    fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0))
    }
}

/// An X25519 public key in a signal, base64url in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicBytes(pub [u8; 32]);

impl PublicBytes {
    fn read(value: Value) -> Result<Self, JsonError> {
        Ok(Self(*read_b64::<32>(value)?))
    }

    fn to_base64(self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

fn read_participant(value: Value) -> Result<ParticipantId, JsonError> {
    Ok(ParticipantId::from_bytes(*read_b64::<16>(value)?))
}

/// One participant as the host announces it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    test,
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct Member {
    pub id: ParticipantId,
    /// Display name as the host saw it (an unverified claim of the guest).
    #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
    pub name: Option<String>,
    /// The relay's address for this participant, so guests can reach each
    /// other. Routing only: a wrong value makes the peer's confirmation
    /// fail or never arrive; it cannot authenticate anyone.
    #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
    pub relay: Option<crate::wire::MemberId>,
}

impl Member {
    fn read(value: Value) -> Result<Self, JsonError> {
        let mut o = value.into_object()?;
        let member = Member {
            id: o.required("id", read_participant)?,
            name: o.optional("name", string_of)?,
            relay: o.optional("relay", crate::wire::MemberId::read)?,
        };
        o.end()?;
        Ok(member)
    }

    fn write(&self, out: &mut String) {
        let mut w = ObjectWriter::new(out);
        w.str("id", &URL_SAFE_NO_PAD.encode(self.id.as_bytes()));
        if let Some(name) = &self.name {
            w.str("name", name);
        }
        if let Some(relay) = self.relay {
            w.u64("relay", u64::from(relay.0));
        }
        w.end();
    }
}

/// A signaling message, the plaintext of one envelope. Read through
/// [`flat`]: the tag decides which fields must be there.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(test, derive(serde::Serialize), serde(tag = "t"))]
pub enum Signal {
    /// First message on a new channel: who I am (as I call myself).
    Hello {
        name: String,
        #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
        lang: Option<String>,
    },
    /// WebRTC offer; its `a=fingerprint` is authenticated by the envelope.
    Offer { sdp: String },
    /// WebRTC answer.
    Answer { sdp: String },
    /// A trickled ICE candidate.
    Ice {
        candidate: String,
        #[cfg_attr(test, serde(default))]
        sdp_mid: Option<String>,
        #[cfg_attr(test, serde(default))]
        sdp_m_line_index: Option<u16>,
    },
    /// Ask the peer to restart ICE (network change).
    IceRestart {},
    /// A chat line. `sent_at_ms` is the sender's clock (a claim).
    Chat {
        id: u64,
        text: String,
        sent_at_ms: u64,
    },
    /// The sender's current media key; see `group::SenderKey`.
    SenderKey {
        kid: u64,
        key: SecretBytes,
        suite: u16,
    },
    /// Host → guest: "this is your peer"; see `group`.
    Introduce {
        peer: Member,
        peer_public: PublicBytes,
        group_secret: SecretBytes,
        intro_nonce: PublicBytes,
    },
    /// Host → guests: who is in the call now. `epoch` only increases.
    Members { epoch: u64, members: Vec<Member> },
    /// Guest → host: "I applied your roster of this epoch" (and rotated my
    /// media key without anyone it dropped).
    MembersAck { epoch: u64 },
    /// Guest → host, on the channel that still works: "a rejoin request
    /// reached me; the knock with this SHA-256 (of its JSON) follows". A
    /// host that can read it still holds the keys, so it never sent that
    /// request and drops that knock.
    RejoinReceived { knock: PublicBytes },
    /// I am leaving.
    Bye {},
    /// Host: the session is over for everyone.
    EndSession {},
    /// Host → guest: you have been removed from the call.
    Remove {},
}

fn check_text(
    field: &'static str,
    s: &str,
    max_chars: usize,
    allow_newlines: bool,
) -> Result<(), SignalError> {
    let n = s.chars().count();
    if n > max_chars {
        return Err(SignalError::TooLong {
            field,
            len: n,
            max: max_chars,
        });
    }
    if s.chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\t')))
    {
        return Err(SignalError::ControlCharacter { field });
    }
    Ok(())
}

fn check_bytes(field: &'static str, s: &str, max: usize) -> Result<(), SignalError> {
    if s.len() > max {
        return Err(SignalError::TooLong {
            field,
            len: s.len(),
            max,
        });
    }
    Ok(())
}

/// Names: non-empty after trimming, at most 64 characters, no controls.
pub fn check_name(name: &str) -> Result<(), SignalError> {
    if name.trim().is_empty() {
        return Err(SignalError::Empty { field: "name" });
    }
    check_text("name", name, MAX_NAME_CHARS, false)?;
    if name.chars().any(is_bidi_control) {
        return Err(SignalError::ControlCharacter { field: "name" });
    }
    Ok(())
}

/// Unicode's bidirectional formatting characters. Not control characters by
/// `char::is_control`, but one of them in a name reorders the text shown
/// after it ("Frau \u{202E}regreB"), so a name could imitate another.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl Signal {
    /// Checks every size limit and character rule.
    pub fn validate(&self) -> Result<(), SignalError> {
        match self {
            Signal::Hello { name, lang } => {
                check_name(name)?;
                if let Some(l) = lang {
                    check_bytes("lang", l, MAX_LANG_BYTES)?;
                    check_text("lang", l, MAX_LANG_BYTES, false)?;
                }
            }
            Signal::Offer { sdp } | Signal::Answer { sdp } => {
                check_bytes("sdp", sdp, MAX_SDP_BYTES)?
            }
            Signal::Ice {
                candidate, sdp_mid, ..
            } => {
                check_bytes("candidate", candidate, MAX_CANDIDATE_BYTES)?;
                check_text("candidate", candidate, MAX_CANDIDATE_BYTES, false)?;
                if let Some(m) = sdp_mid {
                    check_bytes("sdp_mid", m, MAX_CANDIDATE_BYTES)?;
                }
            }
            Signal::Chat { text, .. } => {
                if text.trim().is_empty() {
                    return Err(SignalError::Empty { field: "text" });
                }
                check_text("text", text, MAX_CHAT_CHARS, true)?;
            }
            Signal::Introduce { peer, .. } => check_member(peer)?,
            Signal::Members { members, .. } => {
                if members.len() > MAX_MEMBERS {
                    return Err(SignalError::TooLong {
                        field: "members",
                        len: members.len(),
                        max: MAX_MEMBERS,
                    });
                }
                for m in members {
                    check_member(m)?;
                }
            }
            Signal::IceRestart {}
            | Signal::MembersAck { .. }
            | Signal::RejoinReceived { .. }
            | Signal::SenderKey { .. }
            | Signal::Bye {}
            | Signal::EndSession {}
            | Signal::Remove {} => {}
        }
        Ok(())
    }

    /// JSON bytes, zeroized on drop (they may hold keys).
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, SignalError> {
        self.validate()?;
        let mut out = Zeroizing::new(String::with_capacity(ENCODE_CAPACITY));
        self.write(&mut out);
        Ok(Zeroizing::new(std::mem::take(&mut *out).into_bytes()))
    }

    /// The JSON form: the tag `t` first, then the fields in declaration order.
    fn write(&self, out: &mut String) {
        let mut w = ObjectWriter::new(out);
        w.str("t", SignalKind::of(self).as_str());
        match self {
            Signal::Hello { name, lang } => {
                w.str("name", name);
                if let Some(lang) = lang {
                    w.str("lang", lang);
                }
            }
            Signal::Offer { sdp } | Signal::Answer { sdp } => {
                w.str("sdp", sdp);
            }
            Signal::Ice {
                candidate,
                sdp_mid,
                sdp_m_line_index,
            } => {
                w.str("candidate", candidate);
                w.str_or_null("sdp_mid", sdp_mid.as_deref())
                    .u64_or_null("sdp_m_line_index", sdp_m_line_index.map(u64::from));
            }
            Signal::Chat {
                id,
                text,
                sent_at_ms,
            } => {
                w.u64("id", *id)
                    .str("text", text)
                    .u64("sent_at_ms", *sent_at_ms);
            }
            Signal::SenderKey { kid, key, suite } => {
                w.u64("kid", *kid)
                    .str("key", &key.to_base64())
                    .u64("suite", u64::from(*suite));
            }
            Signal::Introduce {
                peer,
                peer_public,
                group_secret,
                intro_nonce,
            } => {
                peer.write(w.key("peer"));
                w.str("peer_public", &peer_public.to_base64())
                    .str("group_secret", &group_secret.to_base64())
                    .str("intro_nonce", &intro_nonce.to_base64());
            }
            Signal::Members { epoch, members } => {
                w.u64("epoch", *epoch)
                    .array("members", members, |out, m| m.write(out));
            }
            Signal::MembersAck { epoch } => {
                w.u64("epoch", *epoch);
            }
            Signal::RejoinReceived { knock } => {
                w.str("knock", &knock.to_base64());
            }
            Signal::IceRestart {} | Signal::Bye {} | Signal::EndSession {} | Signal::Remove {} => {}
        }
        w.end();
    }

    /// Parses and validates JSON bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, SignalError> {
        let s =
            flat::read_signal(json::parse_bytes(bytes).map_err(json_error)?).map_err(json_error)?;
        s.validate()?;
        Ok(s)
    }

    /// Encodes and seals into one envelope.
    pub fn seal(&self, channel: &mut Channel) -> Result<Vec<u8>, SignalError> {
        Ok(channel.seal(&pad(&self.encode()?))?)
    }

    /// Opens one envelope and decodes it. A message that authenticates but
    /// does not parse still advances the channel (it was the peer's).
    pub fn open(channel: &mut Channel, envelope: &[u8]) -> Result<Self, SignalError> {
        let pt = Zeroizing::new(channel.open(envelope)?);
        Self::decode(&pt)
    }
}

/// Envelope plaintext sizes: a signal's JSON is padded with spaces (JSON
/// allows trailing whitespace, so `decode` needs no change) to the first
/// bucket it fits. The relay sees one of a few sizes, not the length of a
/// chat line or which signal it is. JSON longer than the largest bucket (only
/// very large SDPs) is not padded: padding it further could push the
/// base64-encoded `send` past the relay's 64 KiB message limit.
pub const PAD_BUCKETS: [usize; 5] = [256, 1024, 4096, 16 * 1024, 32 * 1024];

/// The plaintext length a signal of `json_len` bytes is padded to.
pub fn padded_len(json_len: usize) -> usize {
    PAD_BUCKETS
        .iter()
        .copied()
        .find(|b| json_len <= *b)
        .unwrap_or(json_len)
}

fn pad(json: &[u8]) -> Zeroizing<Vec<u8>> {
    let len = padded_len(json.len());
    // One allocation of the final size: no copy of the plaintext is left
    // behind by a reallocation.
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    out.extend_from_slice(json);
    out.resize(len, b' ');
    out
}

fn json_error(e: JsonError) -> SignalError {
    SignalError::Json(e.0.to_owned())
}

fn check_member(m: &Member) -> Result<(), SignalError> {
    match &m.name {
        Some(n) => check_name(n),
        None => Ok(()),
    }
}

fn read_b64_vec(value: Value) -> Result<Vec<u8>, JsonError> {
    URL_SAFE_NO_PAD
        .decode(value.as_str()?)
        .map_err(|_| JsonError("bad base64url"))
}

/// The guest's knock payload, forwarded by the relay to the host: the
/// handshake's m1 and the guest's name, sealed so only link holders (the
/// host) can read it. The name is padded to a fixed size so its length
/// does not leak either.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    test,
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct Knock {
    #[cfg_attr(
        test,
        serde(
            serialize_with = "serde_reference::b64_vec",
            deserialize_with = "serde_reference::de_b64_vec"
        )
    )]
    pub m1: Vec<u8>,
    #[cfg_attr(
        test,
        serde(
            serialize_with = "serde_reference::b64_vec",
            deserialize_with = "serde_reference::de_b64_vec"
        )
    )]
    pub sealed_name: Vec<u8>,
}

fn knock_key(psk: &Psk, room: &RoomId) -> Zeroizing<[u8; 32]> {
    kdf::hkdf::<32>(room.as_bytes(), psk.as_bytes(), &[KNOCK_NAME_LABEL])
}

fn knock_aad(room: &RoomId, m1: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(KNOCK_NAME_LABEL.len() + 16 + m1.len());
    a.extend_from_slice(KNOCK_NAME_LABEL);
    a.extend_from_slice(room.as_bytes());
    a.extend_from_slice(m1);
    a
}

impl Knock {
    /// Builds the knock: `sealed_name = xnonce || XChaCha20-Poly1305(key =
    /// HKDF(salt = room, ikm = psk, "confide v1 knock name"), pad(name),
    /// aad = label || room || m1)`.
    pub fn new(
        rng: &mut impl CryptoRngCore,
        psk: &Psk,
        room: &RoomId,
        m1: Vec<u8>,
        name: &str,
    ) -> Result<Self, SignalError> {
        // The name is optional: a guest may knock without one.
        if !name.is_empty() {
            check_name(name)?;
        }
        if m1.len() > MAX_M1 {
            return Err(SignalError::TooLong {
                field: "m1",
                len: m1.len(),
                max: MAX_M1,
            });
        }
        let mut padded = Zeroizing::new([0u8; NAME_PAD]);
        let nb = name.as_bytes();
        // check_name bounds chars to 64, so at most 256 bytes: fits.
        let len = nb.len().min(NAME_PAD - 2);
        padded[..2].copy_from_slice(&(len as u16).to_be_bytes());
        padded[2..2 + len].copy_from_slice(&nb[..len]);
        let mut nonce = [0u8; XNONCE];
        rng.fill_bytes(&mut nonce);
        let key = knock_key(psk, room);
        let cipher = XChaCha20Poly1305::new((&*key).into());
        let ct = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &padded[..],
                    aad: &knock_aad(room, &m1),
                },
            )
            .map_err(|_| SignalError::KnockName)?;
        let mut sealed_name = Vec::with_capacity(XNONCE + ct.len());
        sealed_name.extend_from_slice(&nonce);
        sealed_name.extend_from_slice(&ct);
        Ok(Self { m1, sealed_name })
    }

    /// The name the guest typed (an unverified claim; the SAS is what
    /// authenticates the guest).
    pub fn open_name(&self, psk: &Psk, room: &RoomId) -> Result<String, SignalError> {
        if self.sealed_name.len() != XNONCE + NAME_PAD + TAG {
            return Err(SignalError::KnockName);
        }
        let key = knock_key(psk, room);
        let cipher = XChaCha20Poly1305::new((&*key).into());
        let pt = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&self.sealed_name[..XNONCE]),
                    Payload {
                        msg: &self.sealed_name[XNONCE..],
                        aad: &knock_aad(room, &self.m1),
                    },
                )
                .map_err(|_| SignalError::KnockName)?,
        );
        let len = usize::from(u16::from_be_bytes([pt[0], pt[1]]));
        if len > NAME_PAD - 2 {
            return Err(SignalError::KnockName);
        }
        let name = std::str::from_utf8(&pt[2..2 + len]).map_err(|_| SignalError::KnockName)?;
        // Empty means the guest chose not to give a name.
        if !name.is_empty() {
            check_name(name)?;
        }
        Ok(name.to_owned())
    }

    /// JSON form.
    pub fn to_json(&self) -> Result<Vec<u8>, SignalError> {
        let mut out = String::with_capacity(16 + (self.m1.len() + self.sealed_name.len()) * 4 / 3);
        let mut w = ObjectWriter::new(&mut out);
        w.str("m1", &URL_SAFE_NO_PAD.encode(&self.m1))
            .str("sealed_name", &URL_SAFE_NO_PAD.encode(&self.sealed_name));
        w.end();
        Ok(out.into_bytes())
    }

    /// Parses the JSON form, bounding field sizes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, SignalError> {
        let max_json = 64 + (MAX_M1 + XNONCE + NAME_PAD + TAG) * 4 / 3;
        if bytes.len() > max_json {
            return Err(SignalError::TooLong {
                field: "knock",
                len: bytes.len(),
                max: max_json,
            });
        }
        let k = read_knock(bytes).map_err(json_error)?;
        if k.m1.len() > MAX_M1 {
            return Err(SignalError::TooLong {
                field: "m1",
                len: k.m1.len(),
                max: MAX_M1,
            });
        }
        Ok(k)
    }
}

fn read_knock(bytes: &[u8]) -> Result<Knock, JsonError> {
    let mut o = json::parse_bytes(bytes)?.into_object()?;
    let knock = Knock {
        m1: o.required("m1", read_b64_vec)?,
        sealed_name: o.required("sealed_name", read_b64_vec)?,
    };
    o.end()?;
    Ok(knock)
}

#[cfg(test)]
mod padding_tests {
    use super::*;

    #[test]
    fn sealed_signals_show_only_their_bucket() {
        let mut sizes = std::collections::BTreeSet::new();
        for signal in [
            Signal::Bye {},
            Signal::Chat {
                id: 1,
                text: "ja".into(),
                sent_at_ms: 0,
            },
            Signal::Chat {
                id: 2,
                text: "x".repeat(150),
                sent_at_ms: 0,
            },
            Signal::MembersAck { epoch: 7 },
        ] {
            let padded = pad(&signal.encode().unwrap_or_default());
            assert_eq!(Signal::decode(&padded).ok(), Some(signal.clone()));
            sizes.insert(padded.len());
        }
        assert_eq!(sizes.into_iter().collect::<Vec<_>>(), vec![256]);
        assert_eq!(padded_len(257), 1024);
        assert_eq!(padded_len(5000), 16 * 1024);
        assert_eq!(
            padded_len(32 * 1024 + 1),
            32 * 1024 + 1,
            "not padded past 32 KiB"
        );
    }
}

#[cfg(test)]
mod capacity_tests {
    use super::*;

    /// The longest signal with a secret is written without growing its
    /// buffer (a grown buffer would leave the key in freed memory).
    #[test]
    fn secret_signals_never_grow_their_buffer() {
        let longest_name = "\u{10FFFF}".repeat(MAX_NAME_CHARS);
        let introduce = Signal::Introduce {
            peer: Member {
                id: ParticipantId::from_bytes([0xff; 16]),
                name: Some(longest_name),
                relay: Some(crate::wire::MemberId(u32::MAX)),
            },
            peer_public: PublicBytes([0xff; 32]),
            group_secret: SecretBytes([0xff; 32]),
            intro_nonce: PublicBytes([0xff; 32]),
        };
        let encoded = introduce.encode().unwrap_or_default();
        assert!(encoded.len() > 256, "the case that grew the old buffer");
        assert_eq!(encoded.capacity(), ENCODE_CAPACITY);
    }

    #[test]
    fn names_with_bidi_controls_are_refused() {
        for bad in [
            "Frau \u{202E}regreB",
            "a\u{2066}b",
            "\u{200F}x",
            "x\u{061C}",
        ] {
            assert_eq!(
                check_name(bad),
                Err(SignalError::ControlCharacter { field: "name" }),
                "{bad:?}"
            );
        }
        assert_eq!(check_name("Frau Berger"), Ok(()));
        assert_eq!(check_name("مريم"), Ok(()), "right-to-left names are fine");
    }
}

#[cfg(test)]
mod utf8_tests {
    use super::*;

    /// Signals and knocks are read as text: a byte that is not UTF-8, inside
    /// a string or outside, is refused, and the same JSON as text is read.
    #[test]
    fn bytes_that_are_not_utf8_are_refused() {
        let json = br#"{"t":"Chat","id":1,"text":"ja","sent_at_ms":0}"#;
        assert!(Signal::decode(json).is_ok(), "the valid form is read");
        let inside = b"{\"t\":\"Chat\",\"id\":1,\"text\":\"j\xffa\",\"sent_at_ms\":0}";
        let outside = b"{\"t\":\"Bye\"}\xff";
        for bytes in [&inside[..], &outside[..]] {
            assert_eq!(
                Signal::decode(bytes),
                Err(SignalError::Json("not UTF-8".to_owned()))
            );
            assert_eq!(
                Knock::from_json(bytes).err(),
                Some(SignalError::Json("not UTF-8".to_owned()))
            );
        }
    }
}
