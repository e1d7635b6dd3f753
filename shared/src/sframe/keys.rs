//! The SFrame key schedule (RFC 9605 §4.4.2) and the per-KID key material.
//!
//! ```text
//! sframe_secret = HKDF-Extract("", base_key)
//! sframe_key    = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key "  || KID(8) || suite(2), Nk)
//! sframe_salt   = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " || KID(8) || suite(2), Nn)
//! nonce         = sframe_salt XOR CTR (big-endian, right-aligned to Nn)
//! ```

use hkdf::Hkdf;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use super::SframeError;
use super::header::SframeHeader;
use super::suite::{Aead, CipherSuite, NONCE_LEN, TAG_LEN};

const KEY_LABEL_PREFIX: &[u8] = b"SFrame 1.0 Secret key ";
const SALT_LABEL_PREFIX: &[u8] = b"SFrame 1.0 Secret salt ";
/// Longest AEAD key of any supported suite.
const MAX_KEY_LEN: usize = 32;

/// `HKDF-Extract("", base_key)` with SHA-256 (the hash of every supported suite).
pub fn sframe_secret(base_key: &[u8]) -> Zeroizing<[u8; 32]> {
    let (prk, _) = Hkdf::<Sha256>::extract(Some(&[]), base_key);
    let mut secret = Zeroizing::new([0u8; 32]);
    secret.copy_from_slice(&prk);
    let mut prk = prk;
    prk.as_mut_slice().zeroize();
    secret
}

/// `"SFrame 1.0 Secret key " || KID || suite`, the HKDF info for the key.
pub fn key_label(kid: u64, suite: CipherSuite) -> Vec<u8> {
    label(KEY_LABEL_PREFIX, kid, suite)
}

/// `"SFrame 1.0 Secret salt " || KID || suite`, the HKDF info for the salt.
pub fn salt_label(kid: u64, suite: CipherSuite) -> Vec<u8> {
    label(SALT_LABEL_PREFIX, kid, suite)
}

fn label(prefix: &[u8], kid: u64, suite: CipherSuite) -> Vec<u8> {
    let mut label = Vec::with_capacity(prefix.len() + 10);
    label.extend_from_slice(prefix);
    label.extend_from_slice(&kid.to_be_bytes());
    label.extend_from_slice(&suite.id().to_be_bytes());
    label
}

/// The AEAD key and salt for one (base key, KID, suite), ready to protect
/// frames. Secret bytes are zeroized on drop.
pub struct FrameKeys {
    suite: CipherSuite,
    kid: u64,
    key: Zeroizing<[u8; MAX_KEY_LEN]>,
    salt: Zeroizing<[u8; NONCE_LEN]>,
    aead: Aead,
}

impl core::fmt::Debug for FrameKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print key material.
        f.debug_struct("FrameKeys")
            .field("suite", &self.suite)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl FrameKeys {
    /// Runs the key schedule for `base_key` (any length; confide uses 32
    /// bytes) under `kid` and `suite`.
    pub fn derive(suite: CipherSuite, kid: u64, base_key: &[u8]) -> Self {
        let secret = sframe_secret(base_key);
        // A 32-byte PRK is always a valid HKDF-SHA256 PRK.
        let hkdf = Hkdf::<Sha256>::from_prk(secret.as_slice()).ok();
        let mut key = Zeroizing::new([0u8; MAX_KEY_LEN]);
        let mut salt = Zeroizing::new([0u8; NONCE_LEN]);
        let key_len = suite.key_len();
        if let Some(hkdf) = hkdf {
            // Output lengths (16/32 and 12) are far below HKDF's 255*32 limit.
            let _ = hkdf.expand(&key_label(kid, suite), &mut key[..key_len]);
            let _ = hkdf.expand(&salt_label(kid, suite), salt.as_mut_slice());
        }
        let aead = Aead::new(suite, &key);
        Self {
            suite,
            kid,
            key,
            salt,
            aead,
        }
    }

    /// The suite these keys belong to.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The KID these keys were derived for.
    pub fn kid(&self) -> u64 {
        self.kid
    }

    /// `sframe_key` (Nk bytes). Exposed for test vectors and key comparison.
    pub fn sframe_key(&self) -> &[u8] {
        self.key.get(..self.suite.key_len()).unwrap_or(&[])
    }

    /// `sframe_salt` (Nn bytes).
    pub fn sframe_salt(&self) -> &[u8; NONCE_LEN] {
        &self.salt
    }

    /// Whether both hold the same key material (constant time).
    pub fn same_key_as(&self, other: &FrameKeys) -> bool {
        self.suite == other.suite
            && self.kid == other.kid
            && bool::from(self.key.as_slice().ct_eq(other.key.as_slice()))
            && bool::from(self.salt.as_slice().ct_eq(other.salt.as_slice()))
    }

    /// `sframe_salt XOR CTR`, CTR big-endian and right-aligned.
    pub fn nonce(&self, ctr: u64) -> [u8; NONCE_LEN] {
        let mut nonce = *self.salt;
        for (byte, ctr_byte) in nonce[NONCE_LEN - 8..].iter_mut().zip(ctr.to_be_bytes()) {
            *byte ^= ctr_byte;
        }
        nonce
    }

    /// Encrypts `buffer` in place for counter `ctr`; returns the tag.
    pub(crate) fn seal_in_place(
        &self,
        ctr: u64,
        aad: &[u8],
        buffer: &mut [u8],
    ) -> Result<[u8; TAG_LEN], SframeError> {
        self.aead.seal(&self.nonce(ctr), aad, buffer)
    }

    /// Verifies and decrypts `buffer` in place for counter `ctr`.
    pub(crate) fn open_in_place(
        &self,
        ctr: u64,
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), SframeError> {
        self.aead.open(&self.nonce(ctr), aad, buffer, tag)
    }

    /// RFC 9605 `encrypt`: returns `header || ciphertext || tag` with
    /// AAD = `header || metadata`. The caller guarantees CTR uniqueness.
    pub fn encrypt(
        &self,
        ctr: u64,
        metadata: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, SframeError> {
        let header = SframeHeader::new(self.kid, ctr).encode();
        let header = header.as_bytes();
        let mut aad = Vec::with_capacity(header.len() + metadata.len());
        aad.extend_from_slice(header);
        aad.extend_from_slice(metadata);
        let mut out = Vec::with_capacity(header.len() + plaintext.len() + TAG_LEN);
        out.extend_from_slice(header);
        out.extend_from_slice(plaintext);
        let body = out.get_mut(header.len()..).unwrap_or_default();
        let tag = self.seal_in_place(ctr, &aad, body)?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// RFC 9605 `decrypt` of `header || ciphertext || tag` with AAD =
    /// `header || metadata`. Fails with `UnknownKey` if the header names
    /// another KID. No replay check: callers that need one use
    /// [`super::ReceiveStream`].
    pub fn decrypt(
        &self,
        metadata: &[u8],
        sframe: &[u8],
    ) -> Result<(SframeHeader, Vec<u8>), SframeError> {
        let (header, header_len) = SframeHeader::decode(sframe)?;
        if header.kid != self.kid {
            return Err(SframeError::UnknownKey { kid: header.kid });
        }
        let (header_bytes, sealed) = sframe
            .split_at_checked(header_len)
            .ok_or(SframeError::Truncated)?;
        let body_len = sealed
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(SframeError::Truncated)?;
        let (ciphertext, tag) = sealed
            .split_at_checked(body_len)
            .ok_or(SframeError::Truncated)?;
        let tag: &[u8; TAG_LEN] = tag.try_into().map_err(|_| SframeError::Truncated)?;
        let mut aad = Vec::with_capacity(header_len + metadata.len());
        aad.extend_from_slice(header_bytes);
        aad.extend_from_slice(metadata);
        let mut plaintext = ciphertext.to_vec();
        if let Err(error) = self.open_in_place(header.ctr, &aad, &mut plaintext, tag) {
            plaintext.zeroize();
            return Err(error);
        }
        Ok((header, plaintext))
    }
}
