//! Short authentication string: six decimal digits both people compare.
//!
//! Derived from the handshake's SAS key (HKDF over the X25519 result, the
//! PSK and the transcript hash). Because of the commitment in the
//! handshake, a man in the middle gets one random guess per handshake:
//! his two codes match with probability 10^-6. Digits are language
//! independent and easy to read out on the phone.

use std::fmt;

use subtle::ConstantTimeEq;

/// Number of decimal digits.
pub const SAS_DIGITS: usize = 6;
const MODULUS: u64 = 1_000_000;

/// A six-digit code, displayed as `"123 456"`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sas(u32);

impl Sas {
    /// The code from the handshake's 32-byte SAS key: the first 8 bytes as
    /// a big-endian integer, modulo 10^6. The modulo bias is below 2^-44.
    pub(crate) fn from_key(key: &[u8; 32]) -> Self {
        let mut b = [0u8; 8];
        b.copy_from_slice(&key[..8]);
        // Always < 10^6, so it fits a u32.
        Self((u64::from_be_bytes(b) % MODULUS) as u32)
    }

    /// The code as a number in `0..1_000_000`.
    pub fn value(&self) -> u32 {
        self.0
    }

    /// The six digits, most significant first.
    pub fn digits(&self) -> [u8; SAS_DIGITS] {
        let mut d = [0u8; SAS_DIGITS];
        let mut v = self.0;
        for slot in d.iter_mut().rev() {
            *slot = (v % 10) as u8;
            v /= 10;
        }
        d
    }

    /// Compares against what the user typed (spaces and other separators
    /// ignored), in constant time over the digits. Returns false for input
    /// that does not contain exactly six digits.
    pub fn matches_input(&self, input: &str) -> bool {
        let typed: Vec<u8> = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_digit(10).map_or(255, |d| d as u8))
            .collect();
        typed.len() == SAS_DIGITS && bool::from(typed.ct_eq(&self.digits()[..]))
    }
}

impl fmt::Display for Sas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03} {:03}", self.0 / 1000, self.0 % 1000)
    }
}

impl fmt::Debug for Sas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sas({self})")
    }
}
