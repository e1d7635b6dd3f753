//! Cipher suites and the AEAD behind each.
//!
//! `AES_128_GCM_SHA256_128` is RFC 9605's suite 0x0004. ChaCha20-Poly1305
//! has no registered SFrame suite, so confide uses the private-use id
//! 0xF001 with the same HKDF-SHA256 key schedule (Nk 32, Nn 12, Nt 16). It
//! is the default: RustCrypto's ChaCha20 is fast in WASM without AES
//! instructions; AES-GCM stays available where TR-02102 compliance matters.

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;

use super::SframeError;

/// Nonce length (Nn) of every supported suite.
pub const NONCE_LEN: usize = 12;
/// Tag length (Nt) of every supported suite.
pub const TAG_LEN: usize = 16;

/// The SFrame cipher suites confide speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CipherSuite {
    /// RFC 9605 `AES_128_GCM_SHA256_128` (0x0004).
    Aes128GcmSha256Tag128,
    /// confide private-use suite 0xF001: ChaCha20-Poly1305, HKDF-SHA256,
    /// 16-byte tag.
    #[default]
    ChaCha20Poly1305Sha256Tag128,
}

impl CipherSuite {
    /// Every supported suite, for tests and negotiation.
    pub const ALL: [CipherSuite; 2] = [
        CipherSuite::Aes128GcmSha256Tag128,
        CipherSuite::ChaCha20Poly1305Sha256Tag128,
    ];

    /// The 2-byte suite identifier (goes into the key derivation labels).
    pub const fn id(self) -> u16 {
        match self {
            CipherSuite::Aes128GcmSha256Tag128 => 0x0004,
            CipherSuite::ChaCha20Poly1305Sha256Tag128 => 0xF001,
        }
    }

    /// Looks a suite up by identifier; `None` for suites we do not speak.
    pub const fn from_id(id: u16) -> Option<Self> {
        match id {
            0x0004 => Some(CipherSuite::Aes128GcmSha256Tag128),
            0xF001 => Some(CipherSuite::ChaCha20Poly1305Sha256Tag128),
            _ => None,
        }
    }

    /// AEAD key length (Nk).
    pub const fn key_len(self) -> usize {
        match self {
            CipherSuite::Aes128GcmSha256Tag128 => 16,
            CipherSuite::ChaCha20Poly1305Sha256Tag128 => 32,
        }
    }

    /// AEAD nonce length (Nn).
    pub const fn nonce_len(self) -> usize {
        NONCE_LEN
    }

    /// AEAD tag length (Nt).
    pub const fn tag_len(self) -> usize {
        TAG_LEN
    }
}

/// A keyed AEAD instance. Both RustCrypto types zeroize their key state on
/// drop (AES via the `aes`/`polyval` zeroize features set in Cargo.toml).
pub(crate) enum Aead {
    Aes128Gcm(Box<Aes128Gcm>),
    ChaCha20Poly1305(Box<ChaCha20Poly1305>),
}

impl Aead {
    /// Keys the suite's AEAD with the first `suite.key_len()` bytes of `key`.
    pub(crate) fn new(suite: CipherSuite, key: &[u8; 32]) -> Self {
        match suite {
            CipherSuite::Aes128GcmSha256Tag128 => Aead::Aes128Gcm(Box::new(Aes128Gcm::new(
                GenericArray::from_slice(&key[..16]),
            ))),
            CipherSuite::ChaCha20Poly1305Sha256Tag128 => Aead::ChaCha20Poly1305(Box::new(
                ChaCha20Poly1305::new(GenericArray::from_slice(key)),
            )),
        }
    }

    /// Encrypts `buffer` in place and returns the tag.
    pub(crate) fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut [u8],
    ) -> Result<[u8; TAG_LEN], SframeError> {
        let nonce = GenericArray::from_slice(nonce);
        let tag = match self {
            Aead::Aes128Gcm(cipher) => cipher.encrypt_in_place_detached(nonce, aad, buffer),
            Aead::ChaCha20Poly1305(cipher) => cipher.encrypt_in_place_detached(nonce, aad, buffer),
        }
        .map_err(|_| SframeError::FrameTooLarge)?;
        Ok(tag.into())
    }

    /// Verifies `tag` and decrypts `buffer` in place. On failure the buffer
    /// content is unspecified and must be discarded.
    pub(crate) fn open(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        buffer: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<(), SframeError> {
        let nonce = GenericArray::from_slice(nonce);
        let tag = GenericArray::from_slice(tag);
        match self {
            Aead::Aes128Gcm(cipher) => cipher.decrypt_in_place_detached(nonce, aad, buffer, tag),
            Aead::ChaCha20Poly1305(cipher) => {
                cipher.decrypt_in_place_detached(nonce, aad, buffer, tag)
            }
        }
        .map_err(|_| SframeError::Authentication)
    }
}
