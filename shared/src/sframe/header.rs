//! The SFrame header (RFC 9605 §4.3): config byte `X|K(3)|Y|C(3)`, then the
//! extended KID and CTR, big-endian in the fewest bytes.
//!
//! Decoding rejects non-minimal encodings (leading zero bytes, or an
//! extended field holding a value below 8). The RFC requires senders to use
//! the minimal form; refusing anything else keeps a single byte string per
//! (KID, CTR), so the header bytes used as AAD are canonical.

use super::SframeError;

/// Longest possible header: config byte, 8-byte KID, 8-byte CTR.
pub const MAX_HEADER_LEN: usize = 17;

/// Values below this fit in the config byte's 3-bit fields.
const INLINE_LIMIT: u64 = 8;

/// Key ID and frame counter of one SFrame ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SframeHeader {
    /// Key ID: which base key protects the frame.
    pub kid: u64,
    /// Frame counter: unique per (base key, KID); forms the nonce.
    pub ctr: u64,
}

/// An encoded header held inline, so protecting a frame needs no extra
/// allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: usize,
}

impl EncodedHeader {
    /// The header bytes as they go on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

impl AsRef<[u8]> for EncodedHeader {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

/// Bytes needed after the config byte for `value` (0 when inline).
fn extended_len(value: u64) -> usize {
    if value < INLINE_LIMIT {
        0
    } else {
        // 1..=8: the number of significant bytes.
        8 - (value.leading_zeros() / 8) as usize
    }
}

/// The 4 config bits for one field: `0|value` when inline, `1|len-1` when not.
fn config_bits(value: u64, len: usize) -> u8 {
    if len == 0 {
        // value < 8 here, so the cast is exact.
        (value & 0x07) as u8
    } else {
        0x08 | ((len - 1) as u8 & 0x07)
    }
}

impl SframeHeader {
    /// Creates a header for `kid` and `ctr`.
    pub fn new(kid: u64, ctr: u64) -> Self {
        Self { kid, ctr }
    }

    /// Length of the encoded header in bytes (1..=17).
    pub fn encoded_len(&self) -> usize {
        1 + extended_len(self.kid) + extended_len(self.ctr)
    }

    /// Encodes the header in its unique minimal form.
    pub fn encode(&self) -> EncodedHeader {
        let kid_len = extended_len(self.kid);
        let ctr_len = extended_len(self.ctr);
        let mut bytes = [0u8; MAX_HEADER_LEN];
        bytes[0] = (config_bits(self.kid, kid_len) << 4) | config_bits(self.ctr, ctr_len);
        let kid_be = self.kid.to_be_bytes();
        let ctr_be = self.ctr.to_be_bytes();
        // Both lengths are at most 8, so every range below is in bounds.
        bytes[1..1 + kid_len].copy_from_slice(&kid_be[8 - kid_len..]);
        bytes[1 + kid_len..1 + kid_len + ctr_len].copy_from_slice(&ctr_be[8 - ctr_len..]);
        EncodedHeader {
            bytes,
            len: 1 + kid_len + ctr_len,
        }
    }

    /// Decodes a header from the start of `input`; returns it and the number
    /// of bytes it took.
    pub fn decode(input: &[u8]) -> Result<(Self, usize), SframeError> {
        let (&config, mut rest) = input.split_first().ok_or(SframeError::Truncated)?;
        let kid = read_field(config >> 4, &mut rest)?;
        let ctr = read_field(config & 0x0f, &mut rest)?;
        let used = input.len() - rest.len();
        Ok((Self { kid, ctr }, used))
    }
}

/// Reads one field given its 4 config bits `X|VVV`, advancing `rest`.
fn read_field(bits: u8, rest: &mut &[u8]) -> Result<u64, SframeError> {
    let value_or_len = u64::from(bits & 0x07);
    if bits & 0x08 == 0 {
        return Ok(value_or_len);
    }
    let len = (value_or_len + 1) as usize;
    let (field, tail) = rest.split_at_checked(len).ok_or(SframeError::Truncated)?;
    if field.first() == Some(&0) {
        return Err(SframeError::NonMinimalHeader);
    }
    let value = field
        .iter()
        .fold(0u64, |acc, &byte| (acc << 8) | u64::from(byte));
    if value < INLINE_LIMIT {
        return Err(SframeError::NonMinimalHeader);
    }
    *rest = tail;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_len_boundaries() {
        assert_eq!(extended_len(0), 0);
        assert_eq!(extended_len(7), 0);
        assert_eq!(extended_len(8), 1);
        assert_eq!(extended_len(255), 1);
        assert_eq!(extended_len(256), 2);
        assert_eq!(extended_len(u64::MAX), 8);
    }

    #[test]
    fn rejects_extended_small_values() {
        // X=1, KLEN=1, KID=0x05: must have been inline.
        assert_eq!(
            SframeHeader::decode(&[0x80, 0x05]),
            Err(SframeError::NonMinimalHeader)
        );
        // Y=1, CLEN=2, CTR=0x00ff: leading zero byte.
        assert_eq!(
            SframeHeader::decode(&[0x09, 0x00, 0xff]),
            Err(SframeError::NonMinimalHeader)
        );
    }
}
