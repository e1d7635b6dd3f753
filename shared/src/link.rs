//! Invite links and the secrets derived from them.
//!
//! The counsellor's browser (host) holds a [`SessionSecret`]; from it comes
//! the relay-visible [`HostToken`], and from that the [`RoomId`] (so the relay
//! can check that a room's creator holds its host token). Each invitee gets an
//! [`InviteSecret`]; the link fragment carries `room_id || invite_secret`,
//! and from it come the relay-visible [`InviteToken`] and the [`Psk`] that
//! never leaves the browsers. Browsers never send the fragment to a server,
//! so the relay sees only tokens, of which it stores only hashes.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The relay-visible values derived here are the very types the relay
/// protocol carries: one definition, no conversions.
pub use crate::wire::{HostToken, InviteToken, ResumeSecret, RoomId};

use crate::appointment::{APPOINTMENT_BYTES, Appointment, AppointmentError};
use crate::kdf;

/// HKDF info labels (and the room id's hash prefix); see
/// `docs/PROTOCOL.md (section 1)` §Derivations.
pub(crate) mod label {
    pub const ROOM_ID: &[u8] = b"confide v1 room id";
    pub const HOST_TOKEN: &[u8] = b"confide v1 host token";
    pub const INVITE_TOKEN: &[u8] = b"confide v1 invite token";
    pub const PSK: &[u8] = b"confide v1 psk";
}

/// The link format version, the first character of the fragment: `1` for a
/// link that works now, `2` for one that also carries its appointment.
pub const LINK_VERSION: char = '1';
/// The version of a link with an appointment (see `appointment`).
pub const LINK_VERSION_APPOINTMENT: char = '2';
/// Bytes carried by a version-1 fragment: room id (16) + invite secret (32).
pub const FRAGMENT_BYTES: usize = RoomId::LEN + 32;
/// Bytes carried by a version-2 fragment: version 1's, then the appointment (8).
pub const FRAGMENT_BYTES_APPOINTMENT: usize = FRAGMENT_BYTES + APPOINTMENT_BYTES;
/// Base64url characters of a version-1 fragment payload (no padding).
const FRAGMENT_CHARS: usize = 64;
/// Base64url characters of a version-2 fragment payload (56 bytes, no padding).
const FRAGMENT_CHARS_APPOINTMENT: usize = 75;
/// Ends the fragment of a link whose guest pages say "du" (after the
/// base64url part, of either version). Without it: "Sie".
pub const INFORMAL_MARKER: &str = ".du";

/// How the guest's German pages address the guest, chosen per link by the
/// counsellor (youth services say "du"). No secret and no part of any
/// derivation: it only picks a table of texts. English has one form.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Address {
    /// "Sie": every link without a marker, all links before the marker existed.
    #[default]
    Formal,
    /// "du": the link ends with [`INFORMAL_MARKER`].
    Informal,
}

/// Why an invite link could not be read. Messages are meant for the UI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the invite link is empty")]
    Empty,
    #[error("the link has no '#…' part; it was probably cut off when copied")]
    NoFragment,
    #[error("invite link version '{0}' is not supported by this app")]
    UnknownVersion(char),
    #[error("the invite link contains characters that do not belong to it")]
    BadEncoding,
    #[error("the invite link is cut off ({got} of {expected} bytes)")]
    Truncated { got: usize, expected: usize },
    #[error("the invite link is longer than expected")]
    TooLong,
    #[error("the appointment in the invite link is not valid: {0}")]
    BadAppointment(AppointmentError),
    #[error("the invite link ends with something this app does not know")]
    UnknownMarker,
}

fn random32(rng: &mut impl CryptoRngCore) -> [u8; 32] {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    b
}

macro_rules! secret32 {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; 32]);

        impl $name {
            /// Wraps stored bytes (e.g. read back from browser storage).
            pub fn from_bytes(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }
            /// The raw bytes, for storage or transmission as documented.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret32!(
    /// The host's root secret for one session. Never leaves the host browser.
    SessionSecret
);

secret32!(
    /// Per-invitee secret carried in the link fragment.
    InviteSecret
);

secret32!(
    /// Pre-shared key of one invite: binds the handshake to link holders.
    /// Never leaves the browsers.
    Psk
);

impl SessionSecret {
    /// A fresh session secret.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self(random32(rng))
    }
    /// The relay-visible room id, derived from the host token (see [`room_id_of`]).
    pub fn room_id(&self) -> RoomId {
        room_id_of(&self.host_token())
    }
    /// The host's relay credential.
    pub fn host_token(&self) -> HostToken {
        HostToken(*kdf::hkdf::<32>(&[], &self.0, &[label::HOST_TOKEN]))
    }
    /// A new one-time invite for this session's room.
    pub fn new_invite(&self, rng: &mut impl CryptoRngCore) -> Invite {
        Invite::new(self.room_id(), InviteSecret::generate(rng))
    }
}

/// The room id a host token may create: the first 16 bytes of
/// SHA-256("confide v1 room id" || host_token). Public so the relay can refuse a
/// `create_room` whose room id is not its host token's: whoever learns a room id
/// (from a link) cannot take the room without the host token behind it.
pub fn room_id_of(host_token: &HostToken) -> RoomId {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(label::ROOM_ID)
        .chain_update(host_token.as_bytes())
        .finalize();
    let mut room = [0u8; RoomId::LEN];
    room.copy_from_slice(&digest[..RoomId::LEN]);
    RoomId(room)
}

impl InviteSecret {
    /// A fresh invite secret.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self(random32(rng))
    }
}

impl ResumeSecret {
    /// A fresh resume secret.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self(random32(rng))
    }
}

/// Everything a link carries: which room, the invite secret, for a
/// planned session its appointment, and how the guest's pages address her.
#[derive(Clone, Debug)]
pub struct Invite {
    room_id: RoomId,
    secret: InviteSecret,
    appointment: Option<Appointment>,
    address: Address,
}

impl Invite {
    /// Assembles an invite from its parts.
    pub fn new(room_id: RoomId, secret: InviteSecret) -> Self {
        Self {
            room_id,
            secret,
            appointment: None,
            address: Address::Formal,
        }
    }
    /// The same invite, its guest addressed as `address` (the link's marker).
    pub fn with_address(mut self, address: Address) -> Self {
        self.address = address;
        self
    }
    /// How the guest's pages address the guest.
    pub fn address(&self) -> Address {
        self.address
    }
    /// The same invite for a planned session: its link (version 2) carries
    /// the appointment, so the guest's page knows when to knock.
    pub fn with_appointment(mut self, appointment: Appointment) -> Self {
        self.appointment = Some(appointment);
        self
    }
    /// The appointment, for a planned session's link.
    pub fn appointment(&self) -> Option<Appointment> {
        self.appointment
    }
    /// The room this invite is for.
    pub fn room_id(&self) -> RoomId {
        self.room_id
    }
    /// The invite secret.
    pub fn secret(&self) -> &InviteSecret {
        &self.secret
    }
    /// The relay-visible one-time credential.
    pub fn token(&self) -> InviteToken {
        InviteToken(*kdf::hkdf::<32>(
            &self.room_id.0,
            &self.secret.0,
            &[label::INVITE_TOKEN],
        ))
    }
    /// The pre-shared key for the handshake.
    pub fn psk(&self) -> Psk {
        Psk(*kdf::hkdf::<32>(
            &self.room_id.0,
            &self.secret.0,
            &[label::PSK],
        ))
    }

    /// The fragment without '#': `"1"` + base64url(room_id || secret), or
    /// for a planned session `"2"` + base64url(room_id || secret || appointment);
    /// then `".du"` if the guest is addressed with "du".
    ///
    /// Returned in a zeroizing string: it is as secret as the PSK.
    pub fn fragment(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new([0u8; FRAGMENT_BYTES_APPOINTMENT]);
        raw[..RoomId::LEN].copy_from_slice(&self.room_id.0);
        raw[RoomId::LEN..FRAGMENT_BYTES].copy_from_slice(&self.secret.0);
        let (version, len) = match self.appointment {
            Some(appointment) => {
                raw[FRAGMENT_BYTES..].copy_from_slice(&appointment.to_bytes());
                (LINK_VERSION_APPOINTMENT, FRAGMENT_BYTES_APPOINTMENT)
            }
            None => (LINK_VERSION, FRAGMENT_BYTES),
        };
        let mut s = Zeroizing::new(String::with_capacity(
            1 + FRAGMENT_CHARS_APPOINTMENT + INFORMAL_MARKER.len(),
        ));
        s.push(version);
        URL_SAFE_NO_PAD.encode_string(&raw[..len], &mut s);
        if self.address == Address::Informal {
            s.push_str(INFORMAL_MARKER);
        }
        s
    }

    /// The full link, `origin + "/#" + fragment`. `origin` is like
    /// `https://relay.example` (a trailing slash is tolerated).
    pub fn to_url(&self, origin: &str) -> Zeroizing<String> {
        let origin = origin.trim_end_matches('/');
        let frag = self.fragment();
        let mut s = Zeroizing::new(String::with_capacity(origin.len() + 2 + frag.len()));
        s.push_str(origin);
        s.push_str("/#");
        s.push_str(&frag);
        s
    }

    /// Reads a link: a whole URL, a fragment with '#', or without it.
    /// Surrounding whitespace is ignored.
    pub fn parse(input: &str) -> Result<Self, LinkError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(LinkError::Empty);
        }
        let frag = match input.split_once('#') {
            Some((_, f)) => f,
            None if input.contains("://") || input.contains('/') => {
                return Err(LinkError::NoFragment);
            }
            None => input,
        };
        let mut chars = frag.chars();
        let version = chars.next().ok_or(LinkError::Empty)?;
        let (chars_expected, bytes) = match version {
            LINK_VERSION => (FRAGMENT_CHARS, FRAGMENT_BYTES),
            LINK_VERSION_APPOINTMENT => (FRAGMENT_CHARS_APPOINTMENT, FRAGMENT_BYTES_APPOINTMENT),
            other => return Err(LinkError::UnknownVersion(other)),
        };
        // The marker comes after the payload and is outside the base64url
        // alphabet; one marker is known, anything else is refused (one
        // spelling per link, and a damaged link is not silently "Sie").
        let (payload, address) = match chars.as_str().split_once('.') {
            None => (chars.as_str(), Address::Formal),
            Some((payload, "du")) => (payload, Address::Informal),
            Some(_) => return Err(LinkError::UnknownMarker),
        };
        if !payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(LinkError::BadEncoding);
        }
        if payload.len() < chars_expected {
            return Err(LinkError::Truncated {
                got: payload.len() * 6 / 8,
                expected: bytes,
            });
        }
        if payload.len() > chars_expected {
            return Err(LinkError::TooLong);
        }
        // The base64 engine refuses non-zero trailing bits, so each link has
        // exactly one spelling (version 2's 75 characters carry 2 spare bits).
        let mut raw = Zeroizing::new([0u8; FRAGMENT_BYTES_APPOINTMENT]);
        match URL_SAFE_NO_PAD.decode_slice(payload, &mut raw[..]) {
            Ok(n) if n == bytes => {}
            _ => return Err(LinkError::BadEncoding),
        }
        let appointment = if bytes == FRAGMENT_BYTES_APPOINTMENT {
            let mut b = [0u8; APPOINTMENT_BYTES];
            b.copy_from_slice(&raw[FRAGMENT_BYTES..]);
            Some(Appointment::from_bytes(&b).map_err(LinkError::BadAppointment)?)
        } else {
            None
        };
        let mut room = [0u8; RoomId::LEN];
        room.copy_from_slice(&raw[..RoomId::LEN]);
        let mut secret = [0u8; 32];
        secret.copy_from_slice(&raw[RoomId::LEN..FRAGMENT_BYTES]);
        let mut invite = Invite::new(RoomId(room), InviteSecret(secret));
        invite.appointment = appointment;
        invite.address = address;
        secret.zeroize();
        Ok(invite)
    }
}
