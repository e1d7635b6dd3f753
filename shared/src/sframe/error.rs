//! One error type for every SFrame operation, so the worker can count drops
//! per cause. On any error the caller drops the frame.

/// Why a frame could not be protected or unprotected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SframeError {
    /// The codec is not one we know how to split into clear and encrypted
    /// bytes; such frames are never passed through in clear.
    #[error("unsupported codec")]
    UnsupportedCodec,
    /// A plaintext frame is shorter than its codec's clear prefix (a frame
    /// that malformed is dropped rather than sent partly in clear).
    #[error("frame shorter than the codec's clear prefix")]
    FrameTooShort,
    /// A protected frame ends before its prefix, header or tag is complete.
    #[error("protected frame truncated")]
    Truncated,
    /// The SFrame header encodes KID or CTR with more bytes than needed.
    #[error("non-minimal SFrame header encoding")]
    NonMinimalHeader,
    /// No key is installed (or it has expired) for this KID.
    #[error("no key for KID {kid}")]
    UnknownKey {
        /// The KID named by the frame header, so the caller can ask for it.
        kid: u64,
    },
    /// This CTR was already accepted on this stream under this KID.
    #[error("replayed frame counter")]
    Replay,
    /// The CTR is older than the replay window can still judge.
    #[error("frame counter too old for the replay window")]
    TooOld,
    /// The AEAD tag did not verify: wrong key, or the frame was altered.
    #[error("frame authentication failed")]
    Authentication,
    /// The sender key has used its whole counter space; install a new key.
    #[error("frame counter exhausted; rotate the sender key")]
    CounterExhausted,
    /// The frame is larger than the AEAD can encrypt in one call.
    #[error("frame too large to encrypt")]
    FrameTooLarge,
    /// The same KID was installed again with a different base key.
    #[error("KID {kid} already installed with a different key")]
    KidConflict {
        /// The KID that was installed twice.
        kid: u64,
    },
}
