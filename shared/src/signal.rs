//! Signaling messages: the plaintext inside envelopes, and the knock.
//!
//! JSON with a `"t"` tag; unknown fields and unknown tags are rejected so
//! that a message means exactly one thing (field-less messages are empty
//! struct variants, `Bye {}`, because serde ignores extra fields on unit
//! variants of internally tagged enums). Every string has a size limit,
//! checked on encode and on decode, so a peer cannot make us hold or render
//! unbounded data. Binary fields are base64url without padding.

mod flat;

use std::borrow::Cow;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::envelope::{Channel, EnvelopeError, ParticipantId};
use crate::kdf;
use crate::link::{Psk, RoomId};

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

fn decode_b64<'de, D: Deserializer<'de>, const N: usize>(
    d: D,
) -> Result<Zeroizing<[u8; N]>, D::Error> {
    let s = Zeroizing::new(Cow::<str>::deserialize(d)?.into_owned());
    let mut out = Zeroizing::new([0u8; N]);
    // A correct encoding of N bytes needs exactly ceil(4N/3) characters.
    if s.len() != (N * 4).div_ceil(3) {
        return Err(D::Error::custom(format!("expected {N} base64url bytes")));
    }
    match URL_SAFE_NO_PAD.decode_slice(s.as_bytes(), &mut out[..]) {
        Ok(n) if n == N => Ok(out),
        _ => Err(D::Error::custom("bad base64url")),
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0)))
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(*decode_b64::<D, 32>(d)?))
    }
}

/// An X25519 public key in a signal, base64url in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PublicBytes(pub [u8; 32]);

impl Serialize for PublicBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for PublicBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(*decode_b64::<D, 32>(d)?))
    }
}

impl Serialize for ParticipantId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(self.as_bytes()))
    }
}

impl<'de> Deserialize<'de> for ParticipantId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_bytes(*decode_b64::<D, 16>(d)?))
    }
}

/// One participant as the host announces it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub id: ParticipantId,
    /// Display name as the host saw it (an unverified claim of the guest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The relay's address for this participant, so guests can reach each
    /// other. Routing only: a wrong value makes the peer's confirmation
    /// fail or never arrive; it cannot authenticate anyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<crate::wire::MemberId>,
}

/// A signaling message, the plaintext of one envelope. Read through
/// [`flat`] (same JSON, smaller code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "t")]
pub enum Signal {
    /// First message on a new channel: who I am (as I call myself).
    Hello {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lang: Option<String>,
    },
    /// WebRTC offer; its `a=fingerprint` is authenticated by the envelope.
    Offer { sdp: String },
    /// WebRTC answer.
    Answer { sdp: String },
    /// A trickled ICE candidate.
    Ice {
        candidate: String,
        #[serde(default)]
        sdp_mid: Option<String>,
        #[serde(default)]
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

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        flat::FlatSignal::deserialize(deserializer)?
            .into_signal()
            .map_err(D::Error::custom)
    }
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
    check_text("name", name, MAX_NAME_CHARS, false)
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
        serde_json::to_vec(self)
            .map(Zeroizing::new)
            .map_err(|e| SignalError::Json(e.to_string()))
    }

    /// Parses and validates JSON bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, SignalError> {
        let s: Signal = from_json_bytes(bytes)?;
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

/// Reads JSON bytes through `serde_json::from_str`, the entry point every
/// other reader of the app uses: `from_slice` would put a second copy of
/// serde_json's parser into the WebAssembly (docs/BENCHMARKS.md §5). Bytes
/// that are not UTF-8 are refused either way.
fn from_json_bytes<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, SignalError> {
    let text = std::str::from_utf8(bytes).map_err(|_| SignalError::Json("not UTF-8".to_owned()))?;
    serde_json::from_str(text).map_err(|e| SignalError::Json(e.to_string()))
}

fn check_member(m: &Member) -> Result<(), SignalError> {
    match &m.name {
        Some(n) => check_name(n),
        None => Ok(()),
    }
}

fn b64_vec<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&URL_SAFE_NO_PAD.encode(v))
}

fn de_b64_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = Cow::<str>::deserialize(d)?;
    URL_SAFE_NO_PAD
        .decode(s.as_bytes())
        .map_err(|_| D::Error::custom("bad base64url"))
}

/// The guest's knock payload, forwarded by the relay to the host: the
/// handshake's m1 and the guest's name, sealed so only link holders (the
/// host) can read it. The name is padded to a fixed size so its length
/// does not leak either.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Knock {
    #[serde(serialize_with = "b64_vec", deserialize_with = "de_b64_vec")]
    pub m1: Vec<u8>,
    #[serde(serialize_with = "b64_vec", deserialize_with = "de_b64_vec")]
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
        serde_json::to_vec(self).map_err(|e| SignalError::Json(e.to_string()))
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
        let k: Knock = from_json_bytes(bytes)?;
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
