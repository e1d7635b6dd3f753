//! confide's media framing on top of SFrame:
//!
//! ```text
//! protected frame = clear_prefix || sframe_header || ciphertext || tag
//! AAD             = sframe_header || clear_prefix
//! ```

use zeroize::Zeroize;

use super::SframeError;
use super::codec::{Codec, MAX_CLEAR_PREFIX};
use super::header::{MAX_HEADER_LEN, SframeHeader};
use super::keys::FrameKeys;
use super::suite::TAG_LEN;

/// AAD for one frame, built on the stack: header then clear prefix.
struct FrameAad {
    bytes: [u8; MAX_HEADER_LEN + MAX_CLEAR_PREFIX],
    len: usize,
}

impl FrameAad {
    fn new(header: &[u8], clear_prefix: &[u8]) -> Result<Self, SframeError> {
        let len = header.len() + clear_prefix.len();
        let mut bytes = [0u8; MAX_HEADER_LEN + MAX_CLEAR_PREFIX];
        let (head, tail) = bytes
            .get_mut(..len)
            .ok_or(SframeError::Truncated)?
            .split_at_mut(header.len());
        head.copy_from_slice(header);
        tail.copy_from_slice(clear_prefix);
        Ok(Self { bytes, len })
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// Encrypts `frame` under `keys` with counter `ctr`.
pub(crate) fn protect(
    keys: &FrameKeys,
    ctr: u64,
    codec: Codec,
    frame: &[u8],
) -> Result<Vec<u8>, SframeError> {
    let prefix_len = codec.clear_prefix_len(frame)?;
    let (clear_prefix, body) = frame
        .split_at_checked(prefix_len)
        .ok_or(SframeError::FrameTooShort)?;
    let header = SframeHeader::new(keys.kid(), ctr).encode();
    let header = header.as_bytes();
    let aad = FrameAad::new(header, clear_prefix)?;

    let sealed_start = prefix_len + header.len();
    let mut out = Vec::with_capacity(sealed_start + body.len() + TAG_LEN);
    out.extend_from_slice(clear_prefix);
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    let tag = match out.get_mut(sealed_start..) {
        Some(sealed) => keys.seal_in_place(ctr, aad.as_bytes(), sealed),
        None => Err(SframeError::Truncated),
    };
    match tag {
        Ok(tag) => {
            out.extend_from_slice(&tag);
            Ok(out)
        }
        Err(error) => {
            out.zeroize();
            Err(error)
        }
    }
}

/// The parts of a protected frame, borrowed from it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProtectedFrame<'a> {
    pub(crate) header: SframeHeader,
    pub(crate) clear_prefix: &'a [u8],
    pub(crate) header_bytes: &'a [u8],
    pub(crate) ciphertext: &'a [u8],
    pub(crate) tag: &'a [u8; TAG_LEN],
}

impl<'a> ProtectedFrame<'a> {
    /// Splits a protected frame; checks lengths and header encoding only.
    pub(crate) fn parse(codec: Codec, protected: &'a [u8]) -> Result<Self, SframeError> {
        let prefix_len = codec
            .clear_prefix_len(protected)
            .map_err(|_| SframeError::Truncated)?;
        let (clear_prefix, rest) = protected
            .split_at_checked(prefix_len)
            .ok_or(SframeError::Truncated)?;
        let (header, header_len) = SframeHeader::decode(rest)?;
        let (header_bytes, sealed) = rest
            .split_at_checked(header_len)
            .ok_or(SframeError::Truncated)?;
        let ciphertext_len = sealed
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(SframeError::Truncated)?;
        let (ciphertext, tag) = sealed
            .split_at_checked(ciphertext_len)
            .ok_or(SframeError::Truncated)?;
        let tag = tag.try_into().map_err(|_| SframeError::Truncated)?;
        Ok(Self {
            header,
            clear_prefix,
            header_bytes,
            ciphertext,
            tag,
        })
    }

    /// Authenticates and decrypts into `clear_prefix || plaintext`.
    pub(crate) fn open(&self, keys: &FrameKeys) -> Result<Vec<u8>, SframeError> {
        let aad = FrameAad::new(self.header_bytes, self.clear_prefix)?;
        let prefix_len = self.clear_prefix.len();
        let mut out = Vec::with_capacity(prefix_len + self.ciphertext.len());
        out.extend_from_slice(self.clear_prefix);
        out.extend_from_slice(self.ciphertext);
        let opened = match out.get_mut(prefix_len..) {
            Some(body) => keys.open_in_place(self.header.ctr, aad.as_bytes(), body, self.tag),
            None => Err(SframeError::Truncated),
        };
        match opened {
            Ok(()) => Ok(out),
            Err(error) => {
                out.zeroize();
                Err(error)
            }
        }
    }
}
