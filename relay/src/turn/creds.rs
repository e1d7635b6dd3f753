//! TURN REST API credentials ("A REST API for Access to TURN Services",
//! draft-uberti-behave-turn-rest): the username is `<expiry-unix>:<id>`, the
//! password `base64(HMAC-SHA1(secret, username))`. Anyone holding the secret
//! can mint them, so the relay keeps no password table; it only remembers
//! which ids it has revoked.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use zeroize::Zeroizing;

/// A credential for a browser's `RTCIceServer`.
#[derive(Clone, PartialEq, Eq)]
pub struct IceCredential {
    pub username: String,
    pub password: Zeroizing<String>,
}

impl std::fmt::Debug for IceCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IceCredential(<redacted>)")
    }
}

/// Mints and checks credentials with one shared secret.
pub struct Minter {
    key: hmac::Key,
}

impl Minter {
    /// The secret is copied into the HMAC key; the caller zeroizes its copy.
    pub fn new(secret: &[u8]) -> Minter {
        Minter {
            key: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret),
        }
    }

    /// A credential for `id` valid until `expires_unix` (seconds since 1970).
    pub fn mint(&self, id: &str, expires_unix: u64) -> IceCredential {
        let username = format!("{expires_unix}:{id}");
        let password = self.password_for(&username);
        IceCredential { username, password }
    }

    /// The password belonging to `username`.
    pub fn password_for(&self, username: &str) -> Zeroizing<String> {
        let tag = hmac::sign(&self.key, username.as_bytes());
        Zeroizing::new(STANDARD.encode(tag.as_ref()))
    }
}

/// Splits a REST username into its expiry (unix seconds) and id.
pub fn parse_username(username: &str) -> Option<(u64, &str)> {
    let (expiry, id) = username.split_once(':')?;
    if expiry.is_empty() || expiry.len() > 20 || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((expiry.parse().ok()?, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checked against
    /// `printf %s 1700000000:alice | openssl dgst -sha1 -hmac 'north-wind' -binary | base64`.
    #[test]
    fn matches_openssl() {
        let minter = Minter::new(b"north-wind");
        let c = minter.mint("alice", 1_700_000_000);
        assert_eq!(c.username, "1700000000:alice");
        assert_eq!(c.password.as_str(), "Oko4dt8u/EbTRjRUJWQDFm/zTCc=");
    }

    #[test]
    fn usernames() {
        assert_eq!(parse_username("17:abc"), Some((17, "abc")));
        assert_eq!(parse_username("17:a:b"), Some((17, "a:b")));
        assert_eq!(parse_username("abc"), None);
        assert_eq!(parse_username(":abc"), None);
        assert_eq!(parse_username("-1:abc"), None);
        assert_eq!(parse_username("99999999999999999999999:abc"), None);
    }

    #[test]
    fn debug_redacts() {
        let c = Minter::new(b"k").mint("x", 1);
        assert!(!format!("{c:?}").contains(&*c.password));
    }
}
