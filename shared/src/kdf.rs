//! Hashing and key-derivation helpers shared by the signaling modules.
//!
//! One place for the primitives so every derivation in
//! `docs/PROTOCOL.md (section 1)` maps to exactly one call shape:
//! `HKDF-SHA256(salt, ikm, info = label || context...)`, and
//! `SHA-256(label || parts...)`.

use hkdf::Hkdf;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// HKDF-SHA256 with `info` given as concatenated parts.
///
/// `N` is checked at compile time against HKDF's output limit
/// (255 * 32 bytes), which makes the expand step infallible.
pub(crate) fn hkdf<const N: usize>(salt: &[u8], ikm: &[u8], info: &[&[u8]]) -> Zeroizing<[u8; N]> {
    let hk = Hkdf::<Sha256>::new(Some(salt), ikm);
    expand(&hk, info)
}

/// HKDF-Expand from an already extracted PRK (one Extract, many keys).
pub(crate) fn expand<const N: usize>(hk: &Hkdf<Sha256>, info: &[&[u8]]) -> Zeroizing<[u8; N]> {
    const { assert!(N <= 255 * 32, "HKDF-SHA256 output too long") };
    let mut okm = Zeroizing::new([0u8; N]);
    // Cannot fail: the length bound is asserted at compile time above.
    let _ = hk.expand_multi_info(info, &mut okm[..]);
    okm
}

/// SHA-256 over concatenated parts.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// HMAC-SHA256 over concatenated parts.
pub(crate) fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC pads keys shorter than the 64-byte block with zeros, so a
    // 32-byte key zero-padded to 64 bytes is the same HMAC key; this keeps
    // construction infallible.
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(key);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&(*block).into());
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Constant-time equality for MACs and commitments.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}
