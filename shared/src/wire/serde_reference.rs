//! The serde implementation of the relay messages as it was before the
//! hand-written codec (`crate::json`): the reference the equivalence tests
//! (`wire::equivalence`, `signal::equivalence`) compare against. Test-only.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::{
    Blob, BytesError, CounsellorToken, ErrorCode, HostToken, IceServer, InviteToken, MemberId,
    ResumeSecret, RoomId, ServerMessage, TokenHash, decode_fixed,
};

struct FixedVisitor<const N: usize>;

impl<const N: usize> Visitor<'_> for FixedVisitor<N> {
    type Value = [u8; N];

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{N} bytes as base64url without padding")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        decode_fixed::<N>(text).map_err(E::custom)
    }
}

macro_rules! serde_fixed {
    ($($name:ident),*) => {$(
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_base64())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer
                    .deserialize_str(FixedVisitor::<{ $name::LEN }>)
                    .map(Self)
            }
        }
    )*};
}

serde_fixed!(
    RoomId,
    HostToken,
    InviteToken,
    ResumeSecret,
    CounsellorToken,
    TokenHash
);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&URL_SAFE_NO_PAD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BlobVisitor;
        impl Visitor<'_> for BlobVisitor {
            type Value = Blob;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("base64url without padding")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Blob, E> {
                URL_SAFE_NO_PAD
                    .decode(text)
                    .map(Blob)
                    .map_err(|_| E::custom(BytesError::Encoding))
            }
        }
        deserializer.deserialize_str(BlobVisitor)
    }
}

impl<'de> Deserialize<'de> for ServerMessage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        FlatServerMessage::deserialize(deserializer)?
            .into_message()
            .map_err(de::Error::custom)
    }
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Kind {
    RoomCreated,
    InviteAdded,
    Waiting,
    Knocked,
    Admitted,
    Rejected,
    Removed,
    MemberJoined,
    MemberAway,
    MemberLeft,
    Deliver,
    IceServers,
    SessionEnded,
    ShuttingDown,
    Error,
}

/// Every field of every relay message; `None` = absent (or `null`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlatServerMessage {
    #[serde(rename = "type")]
    kind: Kind,
    room: Option<RoomId>,
    member: Option<MemberId>,
    resumed: Option<bool>,
    members: Option<Vec<MemberId>>,
    lobby: Option<Vec<MemberId>>,
    token_hash: Option<TokenHash>,
    ttl_secs: Option<u32>,
    host: Option<MemberId>,
    payload: Option<Blob>,
    from: Option<MemberId>,
    code: Option<ErrorCode>,
    servers: Option<Vec<IceServer>>,
}

/// Why a flat message is not a valid message of its type.
pub(crate) enum FlatError {
    Missing(&'static str),
    Unexpected(&'static str),
}

impl std::fmt::Display for FlatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlatError::Missing(field) => write!(f, "missing field `{field}`"),
            FlatError::Unexpected(field) => write!(f, "unknown field `{field}`"),
        }
    }
}

pub(crate) fn need<T>(value: Option<T>, field: &'static str) -> Result<T, FlatError> {
    value.ok_or(FlatError::Missing(field))
}

impl FlatServerMessage {
    /// The names of the fields present.
    fn present(&self) -> impl Iterator<Item = &'static str> {
        [
            ("room", self.room.is_some()),
            ("member", self.member.is_some()),
            ("resumed", self.resumed.is_some()),
            ("members", self.members.is_some()),
            ("lobby", self.lobby.is_some()),
            ("token_hash", self.token_hash.is_some()),
            ("ttl_secs", self.ttl_secs.is_some()),
            ("host", self.host.is_some()),
            ("payload", self.payload.is_some()),
            ("from", self.from.is_some()),
            ("code", self.code.is_some()),
            ("servers", self.servers.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, some)| some.then_some(name))
    }

    /// The message, if exactly the fields of its type are present.
    pub(crate) fn into_message(self) -> Result<ServerMessage, FlatError> {
        let allowed: &[&str] = match self.kind {
            Kind::RoomCreated => &["room", "member", "resumed", "members", "lobby"],
            Kind::InviteAdded => &["room", "token_hash", "ttl_secs"],
            Kind::Waiting => &["room", "member", "host"],
            Kind::Knocked => &["room", "member", "payload"],
            Kind::Admitted => &["room", "member", "host", "members"],
            Kind::Rejected | Kind::Removed | Kind::SessionEnded => &["room"],
            Kind::MemberJoined | Kind::MemberAway | Kind::MemberLeft => &["room", "member"],
            Kind::Deliver => &["room", "from", "payload"],
            Kind::IceServers => &["room", "servers"],
            Kind::ShuttingDown => &[],
            Kind::Error => &["code", "room"],
        };
        if let Some(extra) = self.present().find(|name| !allowed.contains(name)) {
            return Err(FlatError::Unexpected(extra));
        }
        let room = self.room;
        Ok(match self.kind {
            Kind::RoomCreated => ServerMessage::RoomCreated {
                room: need(room, "room")?,
                member: need(self.member, "member")?,
                resumed: need(self.resumed, "resumed")?,
                members: need(self.members, "members")?,
                lobby: need(self.lobby, "lobby")?,
            },
            Kind::InviteAdded => ServerMessage::InviteAdded {
                room: need(room, "room")?,
                token_hash: need(self.token_hash, "token_hash")?,
                ttl_secs: need(self.ttl_secs, "ttl_secs")?,
            },
            Kind::Waiting => ServerMessage::Waiting {
                room: need(room, "room")?,
                member: need(self.member, "member")?,
                host: need(self.host, "host")?,
            },
            Kind::Knocked => ServerMessage::Knocked {
                room: need(room, "room")?,
                member: need(self.member, "member")?,
                payload: need(self.payload, "payload")?,
            },
            Kind::Admitted => ServerMessage::Admitted {
                room: need(room, "room")?,
                member: need(self.member, "member")?,
                host: need(self.host, "host")?,
                members: need(self.members, "members")?,
            },
            Kind::Rejected => ServerMessage::Rejected {
                room: need(room, "room")?,
            },
            Kind::Removed => ServerMessage::Removed {
                room: need(room, "room")?,
            },
            Kind::SessionEnded => ServerMessage::SessionEnded {
                room: need(room, "room")?,
            },
            Kind::MemberJoined => ServerMessage::MemberJoined {
                room: need(room, "room")?,
                member: need(self.member, "member")?,
            },
            Kind::MemberAway => ServerMessage::MemberAway {
                room: need(room, "room")?,
                member: need(self.member, "member")?,
            },
            Kind::MemberLeft => ServerMessage::MemberLeft {
                room: need(room, "room")?,
                member: need(self.member, "member")?,
            },
            Kind::Deliver => ServerMessage::Deliver {
                room: need(room, "room")?,
                from: need(self.from, "from")?,
                payload: need(self.payload, "payload")?,
            },
            Kind::IceServers => ServerMessage::IceServers {
                room: need(room, "room")?,
                servers: need(self.servers, "servers")?,
            },
            Kind::ShuttingDown => ServerMessage::ShuttingDown,
            Kind::Error => ServerMessage::Error {
                code: need(self.code, "code")?,
                room,
            },
        })
    }
}
