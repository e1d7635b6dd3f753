//! Relay wire types: the JSON text messages between a browser and the relay.
//!
//! Everything the relay needs for routing is here; everything else travels
//! inside [`Blob`]s, which the relay forwards without looking. Binary values
//! are base64url strings without padding; fixed-length values validate their
//! length when decoded, so a malformed message never reaches the room logic.
//! `docs/PROTOCOL.md (section 3)` is the spec of these messages.

#[cfg(test)]
mod equivalence;
pub(crate) mod flat;
#[cfg(test)]
pub(crate) mod serde_reference;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::json::{self, JsonError, Object, ObjectWriter, Value, string_of, u32_of, u64_of};

/// The relay protocol version carried as `v` in the first message of a connection.
pub const PROTOCOL_VERSION: u32 = 1;

/// Default limit of one WebSocket message, in bytes.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// WebSocket path of the relay.
pub const WS_PATH: &str = "/ws";

/// Decoding a base64url string into a fixed-length value failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BytesError {
    #[error("not base64url without padding")]
    Encoding,
    #[error("expected {expected} bytes, got {got}")]
    Length { expected: usize, got: usize },
}

fn decode_fixed<const N: usize>(text: &str) -> Result<[u8; N], BytesError> {
    // Bound the work before decoding: N bytes are at most ceil(4N/3) characters.
    if text.len() > N.div_ceil(3) * 4 {
        return Err(BytesError::Length {
            expected: N,
            got: text.len() * 3 / 4,
        });
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| BytesError::Encoding)?;
    let got = bytes.len();
    bytes
        .try_into()
        .map_err(|_| BytesError::Length { expected: N, got })
}

/// Defines a fixed-length byte newtype that travels as base64url. `Debug`
/// never prints the bytes, so a value cannot leak into a log by accident.
macro_rules! fixed_bytes {
    ($(#[$meta:meta])* $name:ident, $len:expr, secret = $secret:tt) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq)]
        #[cfg_attr(not($secret), derive(Hash, Copy))]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// Wraps raw bytes (e.g. derived from a link, or read back from storage).
            pub fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// Parses the base64url (no padding) form.
            pub fn from_base64(text: &str) -> Result<Self, BytesError> {
                decode_fixed::<$len>(text).map(Self)
            }

            /// The base64url (no padding) form, as sent on the wire.
            pub fn to_base64(&self) -> String {
                URL_SAFE_NO_PAD.encode(self.0)
            }

            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }

        impl $name {
            /// Reads the JSON string form.
            pub(crate) fn read(value: Value) -> Result<Self, JsonError> {
                Self::from_base64(value.as_str()?).map_err(|_| JsonError("malformed bytes"))
            }
        }

        fixed_bytes!(@secret $name, $secret);
    };
    (@secret $name:ident, true) => {
        impl Zeroize for $name {
            fn zeroize(&mut self) {
                self.0.zeroize();
            }
        }
        impl Drop for $name {
            fn drop(&mut self) {
                self.zeroize();
            }
        }
        impl ZeroizeOnDrop for $name {}

        impl $name {
            /// SHA-256 of the secret: the only form the relay keeps.
            pub fn hash(&self) -> TokenHash {
                TokenHash(Sha256::digest(self.0).into())
            }
        }
    };
    (@secret $name:ident, false) => {};
}

fixed_bytes!(
    /// A room's routing id, chosen at random by the host (16 bytes).
    RoomId,
    16,
    secret = false
);
fixed_bytes!(
    /// Proves to the relay that a connection is the host of a room (32 bytes). The relay stores its SHA-256.
    HostToken,
    32,
    secret = true
);
fixed_bytes!(
    /// One-time admission ticket of a guest (32 bytes). The host registers only its SHA-256.
    InviteToken,
    32,
    secret = true
);
fixed_bytes!(
    /// Lets a guest take its place again after a reload (32 bytes). The relay stores its SHA-256.
    ResumeSecret,
    32,
    secret = true
);
fixed_bytes!(
    /// A counsellor's sign-in (48 bytes, from the centre's sign-in link): only
    /// connections that present a valid one may create rooms. Opaque to the
    /// client; the relay checks it (`relay/src/counsellor.rs`).
    CounsellorToken,
    48,
    secret = true
);
fixed_bytes!(
    /// SHA-256 of a token or secret (32 bytes).
    TokenHash,
    32,
    secret = false
);

/// A member of a room, assigned by the relay, unique within the room.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(test, derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct MemberId(pub u32);

impl MemberId {
    pub(crate) fn read(value: Value) -> Result<Self, JsonError> {
        value.as_u32().map(MemberId)
    }
}

impl fmt::Debug for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("MemberId(..)")
    }
}

/// Opaque ciphertext the relay forwards without interpreting it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Vec<u8>);

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl Blob {
    pub(crate) fn read(value: Value) -> Result<Self, JsonError> {
        URL_SAFE_NO_PAD
            .decode(value.as_str()?)
            .map(Blob)
            .map_err(|_| JsonError("malformed bytes"))
    }

    fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }
}

/// Client → relay.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    test,
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)
)]
pub enum ClientMessage {
    /// Host: create a room, or take it over again with the same token after a reload.
    CreateRoom {
        v: u32,
        room: RoomId,
        host_token: HostToken,
        /// The counsellor's sign-in; without a valid one the relay closes with 4020.
        counsellor: CounsellorToken,
        /// A planned session: keep the room, even with nobody connected, until
        /// this unix time (seconds), so a link sent days ahead still works.
        #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
        keep_until: Option<u64>,
    },
    /// Host: register a one-time invite by the SHA-256 of its token.
    AddInvite {
        room: RoomId,
        token_hash: TokenHash,
        #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
        ttl_secs: Option<u32>,
        /// An appointment's window in unix seconds: the invite lets a guest in
        /// only while `opens <= now < closes`. Both or neither, never with `ttl_secs`.
        #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
        opens: Option<u64>,
        #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
        closes: Option<u64>,
    },
    /// Host: withdraw an invite that has not been used.
    RevokeInvite { room: RoomId, token_hash: TokenHash },
    /// Guest: use an invite and wait in the lobby; `payload` goes to the host.
    Knock {
        v: u32,
        room: RoomId,
        invite_token: InviteToken,
        resume_hash: TokenHash,
        payload: Blob,
    },
    /// Guest: take one's place again after a reload, within the grace period.
    /// The secret is used up: from then on the seat answers only to the
    /// secret whose SHA-256 is `next_resume_hash`.
    Resume {
        v: u32,
        room: RoomId,
        member: MemberId,
        resume_secret: ResumeSecret,
        next_resume_hash: TokenHash,
    },
    /// Host: let a lobby member in.
    Admit { room: RoomId, member: MemberId },
    /// Host: turn a lobby member away.
    Reject { room: RoomId, member: MemberId },
    /// Host: remove a member (lobby or admitted).
    Remove { room: RoomId, member: MemberId },
    /// Forward `payload` to one member, or with `to: null` to all admitted others.
    Send {
        room: RoomId,
        #[cfg_attr(test, serde(default))]
        to: Option<MemberId>,
        payload: Blob,
    },
    /// Leave the room (a guest for good; the host may come back with its token).
    Leave { room: RoomId },
    /// Host: end the session for everyone and delete the room.
    EndSession { room: RoomId },
}

/// Relay → client. Read through [`flat`]: the `type` decides which fields must be there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(
    test,
    derive(serde::Serialize),
    serde(tag = "type", rename_all = "snake_case")
)]
pub enum ServerMessage {
    /// To the host: the room exists and the host is `member`. After a resume,
    /// `members` are the connected admitted members and `lobby` the connected lobby members.
    RoomCreated {
        room: RoomId,
        member: MemberId,
        resumed: bool,
        members: Vec<MemberId>,
        lobby: Vec<MemberId>,
    },
    /// To the host: the invite is registered and expires in `ttl_secs`.
    InviteAdded {
        room: RoomId,
        token_hash: TokenHash,
        ttl_secs: u32,
    },
    /// To a guest: it is `member`, waiting in the lobby for `host`.
    Waiting {
        room: RoomId,
        member: MemberId,
        host: MemberId,
    },
    /// To the host: `member` knocked with `payload`.
    Knocked {
        room: RoomId,
        member: MemberId,
        payload: Blob,
    },
    /// To a guest: it is admitted; `members` are the other connected admitted members.
    Admitted {
        room: RoomId,
        member: MemberId,
        host: MemberId,
        members: Vec<MemberId>,
    },
    /// To a lobby guest: the host turned it away (the connection closes with 4010).
    Rejected { room: RoomId },
    /// To a guest: the host removed it (the connection closes with 4011).
    Removed { room: RoomId },
    /// `member` is (again) connected to the room.
    MemberJoined { room: RoomId, member: MemberId },
    /// `member` lost its connection; it may come back within the grace period.
    MemberAway { room: RoomId, member: MemberId },
    /// `member` is gone for good.
    MemberLeft { room: RoomId, member: MemberId },
    /// A forwarded `payload` from `from`.
    Deliver {
        room: RoomId,
        from: MemberId,
        payload: Blob,
    },
    /// To the host (after `room_created`) and to an admitted guest (after
    /// `admitted`): the STUN/TURN servers its browser may use, with
    /// time-limited credentials minted for this member. Never to the lobby.
    IceServers {
        room: RoomId,
        servers: Vec<IceServer>,
    },
    /// The host ended the session; the room no longer exists.
    SessionEnded { room: RoomId },
    /// The relay is stopping (the connection closes with 1001).
    ShuttingDown,
    /// A request failed. Fatal errors are followed by a close with `code.close_code()`.
    Error {
        code: ErrorCode,
        #[cfg_attr(test, serde(default, skip_serializing_if = "Option::is_none"))]
        room: Option<RoomId>,
    },
}

/// One entry of a browser's `RTCConfiguration.iceServers`: URLs such as
/// `turn:203.0.113.10:3478?transport=udp`, and the TURN REST credentials
/// (`<expiry>:<id>`, base64 HMAC-SHA1) valid for all of them. STUN-only
/// entries have empty `username` and `credential`.
#[derive(Clone, PartialEq, Eq)]
#[cfg_attr(
    test,
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields)
)]
pub struct IceServer {
    pub urls: Vec<String>,
    #[cfg_attr(test, serde(default))]
    pub username: String,
    #[cfg_attr(test, serde(default))]
    pub credential: String,
}

impl IceServer {
    fn read(value: Value) -> Result<Self, JsonError> {
        let mut o = value.into_object()?;
        let server = IceServer {
            urls: o.required("urls", |v| v.array_of(string_of))?,
            username: o.or_default("username", string_of)?,
            credential: o.or_default("credential", string_of)?,
        };
        o.end()?;
        Ok(server)
    }

    fn write(&self, out: &mut String) {
        let mut w = ObjectWriter::new(out);
        w.array("urls", &self.urls, |out, url| json::write_str(out, url))
            .str("username", &self.username)
            .str("credential", &self.credential);
        w.end();
    }
}

/// Credentials stay out of logs and panic messages.
impl std::fmt::Debug for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &"<redacted>")
            .field("credential", &"<redacted>")
            .finish()
    }
}

/// Stable error identifiers. The fatal ones are also the close reason strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    test,
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
pub enum ErrorCode {
    ProtocolError,
    MessageTooLarge,
    RateLimited,
    TooManyRooms,
    RoomFull,
    ServerFull,
    IdleTimeout,
    /// A knock that does not get in: no such room, or an unknown, revoked,
    /// used or expired invite (one code on purpose: 4008, 4009 and 4013 are retired).
    InviteInvalid,
    Rejected,
    Removed,
    SessionEnded,
    SlowConsumer,
    UnsupportedVersion,
    RoomExists,
    ResumeFailed,
    Replaced,
    /// This relay node does not serve the connection's shard label, or the
    /// room's id does not derive the label the connection was routed by
    /// (`shard`): a load balancer sent it to the wrong node.
    WrongShard,
    /// `create_room` without a valid counsellor sign-in (missing, forged,
    /// made with another key, or revoked).
    NotCounsellor,
    /// `create_room` whose room id is not the one its host token derives
    /// (`link::room_id_of`): someone who learned a room id tried to take the room.
    RoomIdMismatch,
    /// Not fatal: the addressed member is not (or no longer) reachable for the sender.
    UnknownMember,
    /// Not fatal: the room has as many invites as it may keep.
    TooManyInvites,
}

impl ErrorCode {
    /// All codes, for tables and metrics.
    pub const ALL: [ErrorCode; 21] = [
        ErrorCode::ProtocolError,
        ErrorCode::MessageTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::TooManyRooms,
        ErrorCode::RoomFull,
        ErrorCode::ServerFull,
        ErrorCode::IdleTimeout,
        ErrorCode::InviteInvalid,
        ErrorCode::Rejected,
        ErrorCode::Removed,
        ErrorCode::SessionEnded,
        ErrorCode::SlowConsumer,
        ErrorCode::UnsupportedVersion,
        ErrorCode::RoomExists,
        ErrorCode::ResumeFailed,
        ErrorCode::Replaced,
        ErrorCode::WrongShard,
        ErrorCode::NotCounsellor,
        ErrorCode::RoomIdMismatch,
        ErrorCode::UnknownMember,
        ErrorCode::TooManyInvites,
    ];

    /// The WebSocket close code of a fatal error; `None` for errors that keep the connection.
    pub fn close_code(self) -> Option<u16> {
        Some(match self {
            ErrorCode::ProtocolError => 4000,
            ErrorCode::MessageTooLarge => 4001,
            ErrorCode::RateLimited => 4002,
            ErrorCode::TooManyRooms => 4003,
            ErrorCode::RoomFull => 4004,
            ErrorCode::ServerFull => 4005,
            ErrorCode::IdleTimeout => 4006,
            ErrorCode::InviteInvalid => 4007,
            ErrorCode::Rejected => 4010,
            ErrorCode::Removed => 4011,
            ErrorCode::SessionEnded => 4012,
            ErrorCode::SlowConsumer => 4014,
            ErrorCode::UnsupportedVersion => 4015,
            ErrorCode::RoomExists => 4016,
            ErrorCode::ResumeFailed => 4017,
            ErrorCode::Replaced => 4018,
            ErrorCode::WrongShard => 4019,
            ErrorCode::NotCounsellor => 4020,
            ErrorCode::RoomIdMismatch => 4021,
            ErrorCode::UnknownMember | ErrorCode::TooManyInvites => return None,
        })
    }

    /// The fatal error that a close code stands for.
    pub fn from_close_code(code: u16) -> Option<ErrorCode> {
        ErrorCode::ALL
            .into_iter()
            .find(|e| e.close_code() == Some(code))
    }

    /// The snake_case name, as on the wire and as the close reason.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ProtocolError => "protocol_error",
            ErrorCode::MessageTooLarge => "message_too_large",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::TooManyRooms => "too_many_rooms",
            ErrorCode::RoomFull => "room_full",
            ErrorCode::ServerFull => "server_full",
            ErrorCode::IdleTimeout => "idle_timeout",
            ErrorCode::InviteInvalid => "invite_invalid",
            ErrorCode::Rejected => "rejected",
            ErrorCode::Removed => "removed",
            ErrorCode::SessionEnded => "session_ended",
            ErrorCode::SlowConsumer => "slow_consumer",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::RoomExists => "room_exists",
            ErrorCode::ResumeFailed => "resume_failed",
            ErrorCode::Replaced => "replaced",
            ErrorCode::WrongShard => "wrong_shard",
            ErrorCode::NotCounsellor => "not_counsellor",
            ErrorCode::RoomIdMismatch => "room_id_mismatch",
            ErrorCode::UnknownMember => "unknown_member",
            ErrorCode::TooManyInvites => "too_many_invites",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Close code sent to every connection when the relay shuts down.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code after a guest's `leave`.
pub const CLOSE_NORMAL: u16 = 1000;

impl ClientMessage {
    /// Parses one text message: exactly the fields of its `type`.
    pub fn from_json(text: &str) -> Result<ClientMessage, JsonError> {
        let mut o = json::parse(text)?.into_object()?;
        let kind = o.required("type", string_of)?;
        let room = |o: &mut Object| o.required("room", RoomId::read);
        let member = |o: &mut Object| o.required("member", MemberId::read);
        let message = match kind.as_str() {
            "create_room" => ClientMessage::CreateRoom {
                v: o.required("v", u32_of)?,
                room: room(&mut o)?,
                host_token: o.required("host_token", HostToken::read)?,
                counsellor: o.required("counsellor", CounsellorToken::read)?,
                keep_until: o.optional("keep_until", u64_of)?,
            },
            "add_invite" => ClientMessage::AddInvite {
                room: room(&mut o)?,
                token_hash: o.required("token_hash", TokenHash::read)?,
                ttl_secs: o.optional("ttl_secs", u32_of)?,
                opens: o.optional("opens", u64_of)?,
                closes: o.optional("closes", u64_of)?,
            },
            "revoke_invite" => ClientMessage::RevokeInvite {
                room: room(&mut o)?,
                token_hash: o.required("token_hash", TokenHash::read)?,
            },
            "knock" => ClientMessage::Knock {
                v: o.required("v", u32_of)?,
                room: room(&mut o)?,
                invite_token: o.required("invite_token", InviteToken::read)?,
                resume_hash: o.required("resume_hash", TokenHash::read)?,
                payload: o.required("payload", Blob::read)?,
            },
            "resume" => ClientMessage::Resume {
                v: o.required("v", u32_of)?,
                room: room(&mut o)?,
                member: member(&mut o)?,
                resume_secret: o.required("resume_secret", ResumeSecret::read)?,
                next_resume_hash: o.required("next_resume_hash", TokenHash::read)?,
            },
            "admit" => ClientMessage::Admit {
                room: room(&mut o)?,
                member: member(&mut o)?,
            },
            "reject" => ClientMessage::Reject {
                room: room(&mut o)?,
                member: member(&mut o)?,
            },
            "remove" => ClientMessage::Remove {
                room: room(&mut o)?,
                member: member(&mut o)?,
            },
            "send" => ClientMessage::Send {
                room: room(&mut o)?,
                to: o.optional("to", MemberId::read)?,
                payload: o.required("payload", Blob::read)?,
            },
            "leave" => ClientMessage::Leave {
                room: room(&mut o)?,
            },
            "end_session" => ClientMessage::EndSession {
                room: room(&mut o)?,
            },
            _ => return Err(JsonError("unknown type")),
        };
        o.end()?;
        Ok(message)
    }

    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(160);
        let mut w = ObjectWriter::new(&mut out);
        match self {
            ClientMessage::CreateRoom {
                v,
                room,
                host_token,
                counsellor,
                keep_until,
            } => {
                w.str("type", "create_room")
                    .u64("v", u64::from(*v))
                    .str("room", &room.to_base64())
                    .str("host_token", &host_token.to_base64())
                    .str("counsellor", &counsellor.to_base64());
                if let Some(t) = keep_until {
                    w.u64("keep_until", *t);
                }
            }
            ClientMessage::AddInvite {
                room,
                token_hash,
                ttl_secs,
                opens,
                closes,
            } => {
                w.str("type", "add_invite")
                    .str("room", &room.to_base64())
                    .str("token_hash", &token_hash.to_base64());
                if let Some(t) = ttl_secs {
                    w.u64("ttl_secs", u64::from(*t));
                }
                if let Some(t) = opens {
                    w.u64("opens", *t);
                }
                if let Some(t) = closes {
                    w.u64("closes", *t);
                }
            }
            ClientMessage::RevokeInvite { room, token_hash } => {
                w.str("type", "revoke_invite")
                    .str("room", &room.to_base64())
                    .str("token_hash", &token_hash.to_base64());
            }
            ClientMessage::Knock {
                v,
                room,
                invite_token,
                resume_hash,
                payload,
            } => {
                w.str("type", "knock")
                    .u64("v", u64::from(*v))
                    .str("room", &room.to_base64())
                    .str("invite_token", &invite_token.to_base64())
                    .str("resume_hash", &resume_hash.to_base64())
                    .str("payload", &payload.to_base64());
            }
            ClientMessage::Resume {
                v,
                room,
                member,
                resume_secret,
                next_resume_hash,
            } => {
                w.str("type", "resume")
                    .u64("v", u64::from(*v))
                    .str("room", &room.to_base64())
                    .u64("member", u64::from(member.0))
                    .str("resume_secret", &resume_secret.to_base64())
                    .str("next_resume_hash", &next_resume_hash.to_base64());
            }
            ClientMessage::Admit { room, member }
            | ClientMessage::Reject { room, member }
            | ClientMessage::Remove { room, member } => {
                let kind = match self {
                    ClientMessage::Admit { .. } => "admit",
                    ClientMessage::Reject { .. } => "reject",
                    _ => "remove",
                };
                w.str("type", kind)
                    .str("room", &room.to_base64())
                    .u64("member", u64::from(member.0));
            }
            ClientMessage::Send { room, to, payload } => {
                w.str("type", "send")
                    .str("room", &room.to_base64())
                    .u64_or_null("to", to.map(|m| u64::from(m.0)))
                    .str("payload", &payload.to_base64());
            }
            ClientMessage::Leave { room } => {
                w.str("type", "leave").str("room", &room.to_base64());
            }
            ClientMessage::EndSession { room } => {
                w.str("type", "end_session").str("room", &room.to_base64());
            }
        }
        w.end();
        out
    }
}

fn write_members(out: &mut String, member: &MemberId) {
    json::write_u64(out, u64::from(member.0));
}

impl ServerMessage {
    /// Parses one text message: exactly the fields of its `type` ([`flat`]).
    pub fn from_json(text: &str) -> Result<ServerMessage, JsonError> {
        flat::read_server_message(json::parse(text)?.into_object()?)
    }

    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(128);
        let mut w = ObjectWriter::new(&mut out);
        let (kind, room) = match self {
            ServerMessage::RoomCreated { room, .. } => ("room_created", Some(room)),
            ServerMessage::InviteAdded { room, .. } => ("invite_added", Some(room)),
            ServerMessage::Waiting { room, .. } => ("waiting", Some(room)),
            ServerMessage::Knocked { room, .. } => ("knocked", Some(room)),
            ServerMessage::Admitted { room, .. } => ("admitted", Some(room)),
            ServerMessage::Rejected { room } => ("rejected", Some(room)),
            ServerMessage::Removed { room } => ("removed", Some(room)),
            ServerMessage::MemberJoined { room, .. } => ("member_joined", Some(room)),
            ServerMessage::MemberAway { room, .. } => ("member_away", Some(room)),
            ServerMessage::MemberLeft { room, .. } => ("member_left", Some(room)),
            ServerMessage::Deliver { room, .. } => ("deliver", Some(room)),
            ServerMessage::IceServers { room, .. } => ("ice_servers", Some(room)),
            ServerMessage::SessionEnded { room } => ("session_ended", Some(room)),
            ServerMessage::ShuttingDown => ("shutting_down", None),
            // `code` comes before the optional room.
            ServerMessage::Error { .. } => ("error", None),
        };
        w.str("type", kind);
        if let Some(room) = room {
            w.str("room", &room.to_base64());
        }
        match self {
            ServerMessage::RoomCreated {
                member,
                resumed,
                members,
                lobby,
                ..
            } => {
                w.u64("member", u64::from(member.0))
                    .bool("resumed", *resumed)
                    .array("members", members, write_members)
                    .array("lobby", lobby, write_members);
            }
            ServerMessage::InviteAdded {
                token_hash,
                ttl_secs,
                ..
            } => {
                w.str("token_hash", &token_hash.to_base64())
                    .u64("ttl_secs", u64::from(*ttl_secs));
            }
            ServerMessage::Waiting { member, host, .. } => {
                w.u64("member", u64::from(member.0))
                    .u64("host", u64::from(host.0));
            }
            ServerMessage::Knocked {
                member, payload, ..
            } => {
                w.u64("member", u64::from(member.0))
                    .str("payload", &payload.to_base64());
            }
            ServerMessage::Admitted {
                member,
                host,
                members,
                ..
            } => {
                w.u64("member", u64::from(member.0))
                    .u64("host", u64::from(host.0))
                    .array("members", members, write_members);
            }
            ServerMessage::MemberJoined { member, .. }
            | ServerMessage::MemberAway { member, .. }
            | ServerMessage::MemberLeft { member, .. } => {
                w.u64("member", u64::from(member.0));
            }
            ServerMessage::Deliver { from, payload, .. } => {
                w.u64("from", u64::from(from.0))
                    .str("payload", &payload.to_base64());
            }
            ServerMessage::IceServers { servers, .. } => {
                w.array("servers", servers, |out, server| server.write(out));
            }
            ServerMessage::Error { code, room } => {
                w.str("code", code.as_str());
                if let Some(room) = room {
                    w.str("room", &room.to_base64());
                }
            }
            ServerMessage::Rejected { .. }
            | ServerMessage::Removed { .. }
            | ServerMessage::SessionEnded { .. }
            | ServerMessage::ShuttingDown => {}
        }
        w.end();
        out
    }
}

impl ErrorCode {
    fn read(value: Value) -> Result<Self, JsonError> {
        let name = value.as_str()?;
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == name)
            .ok_or(JsonError("unknown error code"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room() -> RoomId {
        RoomId([7; 16])
    }

    #[test]
    fn create_room_shape() {
        let msg = ClientMessage::CreateRoom {
            v: 1,
            room: room(),
            host_token: HostToken([1; 32]),
            counsellor: CounsellorToken([2; 48]),
            keep_until: None,
        };
        let json = msg.to_json();
        assert_eq!(
            json,
            format!(
                r#"{{"type":"create_room","v":1,"room":"{}","host_token":"{}","counsellor":"{}"}}"#,
                room().to_base64(),
                HostToken([1; 32]).to_base64(),
                CounsellorToken([2; 48]).to_base64()
            )
        );
        assert_eq!(ClientMessage::from_json(&json).unwrap(), msg);
    }

    #[test]
    fn appointment_fields_are_optional_and_exact() {
        let (r, h, c) = (
            room().to_base64(),
            HostToken([1; 32]).to_base64(),
            CounsellorToken([2; 48]).to_base64(),
        );
        let planned = ClientMessage::CreateRoom {
            v: 1,
            room: room(),
            host_token: HostToken([1; 32]),
            counsellor: CounsellorToken([2; 48]),
            keep_until: Some(1_790_000_000),
        };
        let json = format!(
            r#"{{"type":"create_room","v":1,"room":"{r}","host_token":"{h}","counsellor":"{c}","keep_until":1790000000}}"#
        );
        assert_eq!(planned.to_json(), json);
        assert_eq!(ClientMessage::from_json(&json).unwrap(), planned);
        let t = TokenHash([3; 32]).to_base64();
        let window = ClientMessage::AddInvite {
            room: room(),
            token_hash: TokenHash([3; 32]),
            ttl_secs: None,
            opens: Some(1_789_999_100),
            closes: Some(1_790_003_600),
        };
        let json = format!(
            r#"{{"type":"add_invite","room":"{r}","token_hash":"{t}","opens":1789999100,"closes":1790003600}}"#
        );
        assert_eq!(window.to_json(), json);
        assert_eq!(ClientMessage::from_json(&json).unwrap(), window);
        // Absent (or null) is None, and None is not written.
        let bare = format!(r#"{{"type":"add_invite","room":"{r}","token_hash":"{t}"}}"#);
        let ClientMessage::AddInvite { opens, closes, .. } =
            ClientMessage::from_json(&bare).unwrap()
        else {
            panic!("not add_invite");
        };
        assert_eq!((opens, closes), (None, None));
        let null =
            format!(r#"{{"type":"add_invite","room":"{r}","token_hash":"{t}","opens":null}}"#);
        assert!(ClientMessage::from_json(&null).is_ok());
        // Negative, fractional, textual or misspelt times are refused.
        for bad in [
            r#""opens":-1,"closes":5"#,
            r#""opens":1.5,"closes":5"#,
            r#""opens":"1","closes":5"#,
            r#""open":1,"closes":5"#,
        ] {
            let text = format!(r#"{{"type":"add_invite","room":"{r}","token_hash":"{t}",{bad}}}"#);
            assert!(ClientMessage::from_json(&text).is_err(), "{text}");
        }
        // keep_until belongs to create_room only.
        let misplaced =
            format!(r#"{{"type":"add_invite","room":"{r}","token_hash":"{t}","keep_until":5}}"#);
        assert!(ClientMessage::from_json(&misplaced).is_err());
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        let r = room().to_base64();
        assert!(ClientMessage::from_json(&format!(r#"{{"type":"leave","room":"{r}"}}"#)).is_ok());
        assert!(
            ClientMessage::from_json(&format!(r#"{{"type":"leave","room":"{r}","x":1}}"#)).is_err()
        );
        assert!(ClientMessage::from_json(&format!(r#"{{"type":"fly","room":"{r}"}}"#)).is_err());
        assert!(ClientMessage::from_json(r#"{"type":"leave"}"#).is_err());
    }

    #[test]
    fn fixed_lengths_are_checked() {
        let short = URL_SAFE_NO_PAD.encode([0u8; 15]);
        assert!(
            ClientMessage::from_json(&format!(r#"{{"type":"leave","room":"{short}"}}"#)).is_err()
        );
        assert_eq!(
            RoomId::from_base64(&short),
            Err(BytesError::Length {
                expected: 16,
                got: 15
            })
        );
        assert_eq!(RoomId::from_base64("!!"), Err(BytesError::Encoding));
        // Padding is not accepted.
        let padded = base64::engine::general_purpose::URL_SAFE.encode([0u8; 16]);
        assert!(RoomId::from_base64(&padded).is_err());
        assert!(RoomId::from_base64(&"A".repeat(10_000)).is_err());
    }

    #[test]
    fn send_to_null_and_missing() {
        let r = room().to_base64();
        let a = ClientMessage::from_json(&format!(
            r#"{{"type":"send","room":"{r}","to":null,"payload":"AAEC"}}"#
        ))
        .unwrap();
        let b = ClientMessage::from_json(&format!(
            r#"{{"type":"send","room":"{r}","payload":"AAEC"}}"#
        ))
        .unwrap();
        assert_eq!(a, b);
        assert!(
            matches!(a, ClientMessage::Send { to: None, ref payload, .. } if payload.0 == [0, 1, 2])
        );
    }

    #[test]
    fn server_messages_round_trip() {
        let msgs = [
            ServerMessage::ShuttingDown,
            ServerMessage::Error {
                code: ErrorCode::UnknownMember,
                room: Some(room()),
            },
            ServerMessage::Deliver {
                room: room(),
                from: MemberId(5),
                payload: Blob(vec![1, 2, 3]),
            },
            ServerMessage::IceServers {
                room: room(),
                servers: vec![IceServer {
                    urls: vec!["turn:203.0.113.10:3478?transport=udp".into()],
                    username: "1790000000:3".into(),
                    credential: "c2VjcmV0".into(),
                }],
            },
        ];
        for msg in msgs {
            assert_eq!(ServerMessage::from_json(&msg.to_json()).unwrap(), msg);
        }
        assert_eq!(
            ServerMessage::ShuttingDown.to_json(),
            r#"{"type":"shutting_down"}"#
        );
    }

    #[test]
    fn close_codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let json = ServerMessage::Error { code, room: None }.to_json();
            assert_eq!(
                json,
                format!(r#"{{"type":"error","code":"{}"}}"#, code.as_str())
            );
            assert_eq!(
                ServerMessage::from_json(&json),
                Ok(ServerMessage::Error { code, room: None })
            );
            if let Some(close) = code.close_code() {
                assert!((4000..5000).contains(&close));
                assert!(seen.insert(close));
                assert_eq!(ErrorCode::from_close_code(close), Some(code));
            }
        }
    }

    #[test]
    fn ice_server_credentials_stay_out_of_debug_output() {
        let server = IceServer {
            urls: vec!["turn:203.0.113.10:3478?transport=udp".into()],
            username: "1790000000:3".into(),
            credential: "c2VjcmV0".into(),
        };
        let shown = format!("{server:?}");
        assert!(shown.contains("turn:203.0.113.10"));
        assert!(!shown.contains("1790000000") && !shown.contains("c2VjcmV0"));
        // A server entry with a field the format does not know is refused.
        let room = room().to_base64();
        let extra = format!(
            r#"{{"type":"ice_servers","room":"{room}","servers":[{{"urls":[],"bogus":1}}]}}"#
        );
        assert!(ServerMessage::from_json(&extra).is_err());
    }

    #[test]
    fn debug_never_shows_bytes() {
        let token = HostToken([0xab; 32]);
        assert_eq!(format!("{token:?}"), "HostToken(..)");
        assert_eq!(format!("{:?}", Blob(vec![1; 4])), "Blob(4 bytes)");
    }

    #[test]
    fn hash_is_sha256() {
        let h = InviteToken([0; 32]).hash();
        assert_eq!(
            hex::encode(h.0),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
    }

    #[test]
    fn relay_messages_with_a_wrong_set_of_fields_are_refused() {
        let room = room().to_base64();
        let ok = format!(r#"{{"type":"member_joined","room":"{room}","member":1}}"#);
        assert!(ServerMessage::from_json(&ok).is_ok());
        for (why, text) in [
            (
                "a field of another type",
                format!(r#"{{"type":"member_joined","room":"{room}","member":1,"payload":"AA"}}"#),
            ),
            (
                "an unknown field",
                format!(r#"{{"type":"member_joined","room":"{room}","member":1,"bogus":1}}"#),
            ),
            (
                "a missing field",
                format!(r#"{{"type":"member_joined","room":"{room}"}}"#),
            ),
            (
                "an unknown type",
                format!(r#"{{"type":"member_dances","room":"{room}","member":1}}"#),
            ),
            ("no type", format!(r#"{{"room":"{room}","member":1}}"#)),
            (
                "fields on a bare type",
                r#"{"type":"shutting_down","room":"x"}"#.to_string(),
            ),
        ] {
            assert!(ServerMessage::from_json(&text).is_err(), "{why}: {text}");
        }
    }
}
