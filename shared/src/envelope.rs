//! Encrypted, ordered, authenticated channel for signaling messages.
//!
//! One [`Channel`] per pair of participants, with one ChaCha20-Poly1305 key
//! per direction (from the handshake or a peer introduction). The relay's
//! transport (WebSocket over TCP) is ordered, so the receiver demands
//! strictly increasing sequence numbers: any replay or reordering is the
//! relay (or someone in front of it) tampering, and is rejected. Gaps
//! (dropped messages) cannot be prevented by a relay-carried channel; they
//! are counted in [`Channel::skipped`] so the app can tell the user.
//!
//! Wire format: `format (0x20) || seq (u64 BE) || ciphertext || tag (16)`.
//! Nonce: `0x00000000 || seq (BE)`. AAD: `"confide v1 envelope" || format
//! || sender id || recipient id || seq`.

use std::fmt;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, KeyInit, Nonce};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::kdf;

/// First byte of every envelope: format and version (envelope v1).
pub const ENVELOPE_FORMAT: u8 = 0x20;
/// Largest plaintext one envelope carries (SDP ≤ 32 KiB plus JSON framing).
pub const MAX_PLAINTEXT: usize = 48 * 1024;
/// Header bytes before the ciphertext.
pub const HEADER_LEN: usize = 1 + 8;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;

const AAD_LABEL: &[u8] = b"confide v1 envelope";
const PARTICIPANT_ID_LABEL: &[u8] = b"confide v1 participant id";

/// Why an envelope was not sealed or opened. A failed `open` leaves the
/// channel unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("envelope shorter than header and tag ({len} bytes)")]
    Truncated { len: usize },
    #[error("unknown envelope format byte {0:#04x}")]
    Version(u8),
    #[error("envelope sequence {seq} not after {last}: replayed or reordered")]
    Replay { seq: u64, last: u64 },
    #[error("envelope failed authentication")]
    Authentication,
    #[error("envelope payload of {len} bytes exceeds {max}")]
    TooLarge { len: usize, max: usize },
    #[error("send sequence numbers exhausted; start a new channel")]
    Exhausted,
}

/// A participant's identifier in this protocol: the first 16 bytes of
/// `SHA-256("confide v1 participant id" || X25519 public key)`.
///
/// Derived from the session public key, so it is authenticated as soon as
/// the key is (by the SAS or by the host's introduction).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ParticipantId([u8; 16]);

impl ParticipantId {
    /// The id of the holder of `public` (an X25519 public key).
    pub fn from_public(public: &[u8; 32]) -> Self {
        let h = kdf::sha256(&[PARTICIPANT_ID_LABEL, public]);
        let mut id = [0u8; 16];
        id.copy_from_slice(&h[..16]);
        Self(id)
    }
    /// Wraps raw bytes (as received in a signal).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ParticipantId(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// A 32-byte direction key, zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct DirectionKey(pub(crate) [u8; 32]);

/// One side of an authenticated pairwise channel.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Channel {
    send_key: [u8; 32],
    recv_key: [u8; 32],
    #[zeroize(skip)]
    own_public: [u8; 32],
    #[zeroize(skip)]
    peer_public: [u8; 32],
    #[zeroize(skip)]
    own_id: ParticipantId,
    #[zeroize(skip)]
    peer_id: ParticipantId,
    /// Next sequence number to send.
    send_seq: u64,
    /// Highest sequence number accepted so far.
    last_recv: Option<u64>,
    /// Sequence numbers never seen because the receiver jumped over them.
    skipped: u64,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("own_id", &self.own_id)
            .field("peer_id", &self.peer_id)
            .field("send_seq", &self.send_seq)
            .field("last_recv", &self.last_recv)
            .finish_non_exhaustive()
    }
}

impl Channel {
    /// Both keys come from a key agreement; callers in this crate only.
    pub(crate) fn new(
        send: &DirectionKey,
        recv: &DirectionKey,
        own_public: [u8; 32],
        peer_public: [u8; 32],
    ) -> Self {
        Self {
            send_key: send.0,
            recv_key: recv.0,
            own_public,
            peer_public,
            own_id: ParticipantId::from_public(&own_public),
            peer_id: ParticipantId::from_public(&peer_public),
            send_seq: 0,
            last_recv: None,
            skipped: 0,
        }
    }

    /// This side's participant id.
    pub fn own_id(&self) -> ParticipantId {
        self.own_id
    }
    /// The other side's participant id.
    pub fn peer_id(&self) -> ParticipantId {
        self.peer_id
    }
    /// This side's session public key.
    pub fn own_public(&self) -> [u8; 32] {
        self.own_public
    }
    /// The other side's (authenticated) session public key.
    pub fn peer_public(&self) -> [u8; 32] {
        self.peer_public
    }
    /// Number of sequence numbers the peer's stream jumped over (messages
    /// the relay dropped). Non-zero means something was lost.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Encrypts one message to the peer.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(EnvelopeError::TooLarge {
                len: plaintext.len(),
                max: MAX_PLAINTEXT,
            });
        }
        let seq = self.send_seq;
        let next = seq.checked_add(1).ok_or(EnvelopeError::Exhausted)?;
        let aad = aad(&self.own_id, &self.peer_id, seq);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.send_key));
        let ct = cipher
            .encrypt(
                &nonce(seq),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| EnvelopeError::TooLarge {
                len: plaintext.len(),
                max: MAX_PLAINTEXT,
            })?;
        let mut out = Vec::with_capacity(HEADER_LEN + ct.len());
        out.push(ENVELOPE_FORMAT);
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&ct);
        self.send_seq = next;
        Ok(out)
    }

    /// Decrypts one message from the peer. Checks, in order: length,
    /// format byte, size limit, sequence (strictly increasing), tag. Only a
    /// fully authenticated message advances the receive state.
    pub fn open(&mut self, bytes: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        if bytes.len() < HEADER_LEN + TAG_LEN {
            return Err(EnvelopeError::Truncated { len: bytes.len() });
        }
        if bytes[0] != ENVELOPE_FORMAT {
            return Err(EnvelopeError::Version(bytes[0]));
        }
        let body_len = bytes.len() - HEADER_LEN - TAG_LEN;
        if body_len > MAX_PLAINTEXT {
            return Err(EnvelopeError::TooLarge {
                len: body_len,
                max: MAX_PLAINTEXT,
            });
        }
        let mut seq_bytes = [0u8; 8];
        seq_bytes.copy_from_slice(&bytes[1..HEADER_LEN]);
        let seq = u64::from_be_bytes(seq_bytes);
        if let Some(last) = self.last_recv
            && seq <= last
        {
            return Err(EnvelopeError::Replay { seq, last });
        }
        // The sender's AAD names the sender first: here that is the peer.
        let aad = aad(&self.peer_id, &self.own_id, seq);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.recv_key));
        let pt = cipher
            .decrypt(
                &nonce(seq),
                Payload {
                    msg: &bytes[HEADER_LEN..],
                    aad: &aad,
                },
            )
            .map_err(|_| EnvelopeError::Authentication)?;
        let expected = self.last_recv.map_or(0, |l| l.saturating_add(1));
        self.skipped = self.skipped.saturating_add(seq - expected);
        self.last_recv = Some(seq);
        Ok(pt)
    }
}

fn nonce(seq: u64) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&seq.to_be_bytes());
    Nonce::from(n)
}

fn aad(sender: &ParticipantId, recipient: &ParticipantId, seq: u64) -> Vec<u8> {
    let mut a = Vec::with_capacity(AAD_LABEL.len() + 1 + 16 + 16 + 8);
    a.extend_from_slice(AAD_LABEL);
    a.push(ENVELOPE_FORMAT);
    a.extend_from_slice(&sender.0);
    a.extend_from_slice(&recipient.0);
    a.extend_from_slice(&seq.to_be_bytes());
    a
}
