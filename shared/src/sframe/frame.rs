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
    let mut out = Vec::with_capacity(frame.len() + MAX_HEADER_LEN + TAG_LEN);
    out.extend_from_slice(frame);
    protect_in_place(keys, ctr, codec, &mut out)?;
    Ok(out)
}

/// [`protect`] in `frame`'s own buffer: the worker reuses one buffer for
/// every frame instead of allocating two per frame. On error `frame` is
/// zeroized.
pub(crate) fn protect_in_place(
    keys: &FrameKeys,
    ctr: u64,
    codec: Codec,
    frame: &mut Vec<u8>,
) -> Result<(), SframeError> {
    let prefix_len = codec.clear_prefix_len(frame)?;
    let clear_prefix = frame.get(..prefix_len).ok_or(SframeError::FrameTooShort)?;
    let header = SframeHeader::new(keys.kid(), ctr).encode();
    let header = header.as_bytes();
    let aad = FrameAad::new(header, clear_prefix)?;

    // clear_prefix || body  ->  clear_prefix || header || body
    let body_end = frame.len();
    let sealed_start = prefix_len + header.len();
    frame.reserve(header.len() + TAG_LEN);
    frame.resize(body_end + header.len(), 0);
    frame.copy_within(prefix_len..body_end, sealed_start);
    let tag = match frame.get_mut(prefix_len..sealed_start) {
        Some(slot) => {
            slot.copy_from_slice(header);
            match frame.get_mut(sealed_start..) {
                Some(sealed) => keys.seal_in_place(ctr, aad.as_bytes(), sealed),
                None => Err(SframeError::Truncated),
            }
        }
        None => Err(SframeError::Truncated),
    };
    match tag {
        Ok(tag) => {
            frame.extend_from_slice(&tag);
            Ok(())
        }
        Err(error) => {
            frame.zeroize();
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

    /// What [`open_in_place`] needs once the borrow of the buffer ends.
    pub(crate) fn layout(&self) -> Result<InPlace, SframeError> {
        let prefix_len = self.clear_prefix.len();
        let ciphertext_start = prefix_len + self.header_bytes.len();
        Ok(InPlace {
            aad: FrameAad::new(self.header_bytes, self.clear_prefix)?,
            ctr: self.header.ctr,
            tag: *self.tag,
            prefix_len,
            ciphertext_start,
            ciphertext_end: ciphertext_start + self.ciphertext.len(),
        })
    }
}

/// Where the parts of a parsed protected frame lie in its buffer.
pub(crate) struct InPlace {
    aad: FrameAad,
    ctr: u64,
    tag: [u8; TAG_LEN],
    prefix_len: usize,
    ciphertext_start: usize,
    ciphertext_end: usize,
}

/// [`ProtectedFrame::open`] in the frame's own buffer: on success `frame`
/// becomes `clear_prefix || plaintext`; on error it is zeroized.
pub(crate) fn open_in_place(
    layout: &InPlace,
    keys: &FrameKeys,
    frame: &mut Vec<u8>,
) -> Result<(), SframeError> {
    let opened = match frame.get_mut(layout.ciphertext_start..layout.ciphertext_end) {
        Some(body) => keys.open_in_place(layout.ctr, layout.aad.as_bytes(), body, &layout.tag),
        None => Err(SframeError::Truncated),
    };
    if let Err(error) = opened {
        frame.zeroize();
        return Err(error);
    }
    // clear_prefix || header || plaintext || tag  ->  clear_prefix || plaintext
    frame.copy_within(
        layout.ciphertext_start..layout.ciphertext_end,
        layout.prefix_len,
    );
    frame.truncate(layout.prefix_len + layout.ciphertext_end - layout.ciphertext_start);
    Ok(())
}
