//! Counsellor access: who may create rooms (and so hold TURN credentials).
//!
//! The relay stores nothing per counsellor. The operator keeps one secret key
//! (`--counsellor-key-file`); a counsellor's sign-in token is her random id
//! followed by an HMAC of that id under the key, so the relay checks a token
//! by recomputing the HMAC. Revoking a counsellor means listing her id in
//! `--counsellor-revoked`; changing the key signs everybody out.
//! Spec: docs/PROTOCOL.md ("Counsellor sign-in"), operator's view: docs/RELAY.md.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use confide_shared::wire::CounsellorToken;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Bytes of a counsellor id (shown as 32 hex digits).
pub const ID_LEN: usize = 16;
/// Bytes of the key (the key file holds them as 64 hex digits).
pub const KEY_LEN: usize = 32;
/// What the HMAC covers besides the id, so the key signs nothing else by accident.
const DOMAIN: &[u8] = b"confide counsellor sign-in v1";
/// The fragment of a sign-in link starts with this (the token follows in base64url).
pub const LINK_FRAGMENT: &str = "#counsellor=";

/// A counsellor's id: random, not secret, the only thing a revocation list names.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CounsellorId(pub [u8; ID_LEN]);

impl CounsellorId {
    pub fn random() -> Self {
        CounsellorId(rand::random())
    }

    /// Parses 32 hex digits (either case).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text).map_err(|_| format!("not a counsellor id: {text:?}"))?;
        bytes
            .try_into()
            .map(CounsellorId)
            .map_err(|_| format!("a counsellor id has 32 hex digits: {text:?}"))
    }
}

impl fmt::Display for CounsellorId {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for CounsellorId {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "CounsellorId({self})")
    }
}

/// The operator's secret; never printed.
#[derive(Clone)]
pub struct CounsellorKey(Zeroizing<[u8; KEY_LEN]>);

impl fmt::Debug for CounsellorKey {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("CounsellorKey(..)")
    }
}

impl CounsellorKey {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        CounsellorKey(Zeroizing::new(bytes))
    }

    /// A fresh random key (the loopback-only relay without a key file).
    pub fn generate() -> Self {
        CounsellorKey::from_bytes(rand::random())
    }

    /// Parses the key file's text: 64 hex digits, surrounding whitespace ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        if text.len() != 2 * KEY_LEN || hex::decode_to_slice(text, &mut bytes[..]).is_err() {
            return Err(format!(
                "the counsellor key file must hold {} hex digits (e.g. `openssl rand -hex 32`)",
                2 * KEY_LEN
            ));
        }
        Ok(CounsellorKey(bytes))
    }

    /// Reads and parses the key file; the message names the file.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        );
        CounsellorKey::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn mac(&self, id: &CounsellorId) -> Hmac<Sha256> {
        // HMAC takes keys of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0[..])
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(DOMAIN);
        mac.update(&id.0);
        mac
    }

    /// The sign-in token of counsellor `id`: `id ‖ HMAC-SHA256(key, DOMAIN ‖ id)`.
    pub fn token(&self, id: &CounsellorId) -> CounsellorToken {
        let mut bytes = [0u8; CounsellorToken::LEN];
        bytes[..ID_LEN].copy_from_slice(&id.0);
        bytes[ID_LEN..].copy_from_slice(&self.mac(id).finalize().into_bytes());
        CounsellorToken::from_bytes(bytes)
    }

    /// The id inside `token` if the token was made with this key (constant time).
    pub fn verify(&self, token: &CounsellorToken) -> Option<CounsellorId> {
        let (id, tag) = token.as_bytes().split_at(ID_LEN);
        let id = CounsellorId(id.try_into().ok()?);
        self.mac(&id).verify_slice(tag).ok().map(|()| id)
    }
}

/// The sign-in link for `token` on the app at `base` (e.g. `https://beratung.example/`).
/// The token is in the fragment, which browsers never send to a server.
pub fn sign_in_link(base: &str, token: &CounsellorToken) -> String {
    let base = base.split('#').next().unwrap_or_default();
    let slash = if base.ends_with('/') { "" } else { "/" };
    format!(
        "{base}{slash}{LINK_FRAGMENT}{}",
        URL_SAFE_NO_PAD.encode(token.as_bytes())
    )
}

/// Parses a revocation list: one counsellor id per line, first word of the
/// line; anything after it (her name, a date) and lines starting with `#`
/// are the operator's notes. A bad line is an error naming its number.
pub fn parse_revoked(text: &str) -> Result<HashSet<CounsellorId>, String> {
    let mut ids = HashSet::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let word = line.split_whitespace().next().unwrap_or_default();
        let id = CounsellorId::parse(word).map_err(|e| format!("line {}: {e}", number + 1))?;
        ids.insert(id);
    }
    Ok(ids)
}

/// Who may create rooms on this relay: the key, and the revoked ids (the
/// list is read again when its file changes, see [`Access::reload_revoked`]).
#[derive(Debug)]
pub struct Access {
    key: CounsellorKey,
    revoked_file: Option<PathBuf>,
    revoked: RwLock<Revoked>,
}

#[derive(Debug, Default)]
struct Revoked {
    ids: HashSet<CounsellorId>,
    modified: Option<SystemTime>,
}

impl Access {
    /// Access with `key` and no revocation list.
    pub fn new(key: CounsellorKey) -> Self {
        Access {
            key,
            revoked_file: None,
            revoked: RwLock::new(Revoked::default()),
        }
    }

    /// Access with `key` and the revocation list in `file` (read now: an
    /// unreadable or malformed list is an error, the relay does not start).
    pub fn with_revoked_file(key: CounsellorKey, file: &Path) -> Result<Self, String> {
        let access = Access {
            key,
            revoked_file: Some(file.to_path_buf()),
            revoked: RwLock::new(Revoked::default()),
        };
        access.reload_revoked()?;
        Ok(access)
    }

    /// Replaces the revoked ids (tests, and the file reader).
    pub fn set_revoked(&self, ids: HashSet<CounsellorId>) {
        if let Ok(mut revoked) = self.revoked.write() {
            revoked.ids = ids;
        }
    }

    /// Reads the revocation list again if its file changed since the last
    /// read. Returns how many ids it now lists, or why it could not (then
    /// the previous list stays in force).
    pub fn reload_revoked(&self) -> Result<Option<usize>, String> {
        let Some(file) = &self.revoked_file else {
            return Ok(None);
        };
        let modified = std::fs::metadata(file)
            .and_then(|m| m.modified())
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        if self
            .revoked
            .read()
            .is_ok_and(|r| r.modified == Some(modified))
        {
            return Ok(None);
        }
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let ids = parse_revoked(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let count = ids.len();
        if let Ok(mut revoked) = self.revoked.write() {
            *revoked = Revoked {
                ids,
                modified: Some(modified),
            };
        }
        Ok(Some(count))
    }

    /// Whether `token` is a valid sign-in of a counsellor who is not revoked.
    pub fn admits(&self, token: &CounsellorToken) -> bool {
        self.key.verify(token).is_some_and(|id| {
            self.revoked
                .read()
                .map(|r| !r.ids.contains(&id))
                .unwrap_or(false)
        })
    }
}

#[cfg(test)]
mod tests;
