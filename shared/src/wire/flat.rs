//! Reading relay → client messages: the `type` decides which fields must be
//! present; any field the format does not know is refused, and a field of
//! another type is refused unless it is `null` (what the reader always did:
//! it read every field of every message into one flat struct, `null` as
//! absent, and then checked the set; test `wire::equivalence`).

use super::{Blob, ErrorCode, IceServer, MemberId, RoomId, ServerMessage, TokenHash};
use crate::json::{JsonError, Object, Value, bool_of, u32_of};

/// Every field any relay message has.
pub(super) const FIELDS: [&str; 12] = [
    "room",
    "member",
    "resumed",
    "members",
    "lobby",
    "token_hash",
    "ttl_secs",
    "host",
    "payload",
    "from",
    "code",
    "servers",
];

/// After a reader took the fields of its type: the others may only be `null`.
pub(crate) fn end_flat(mut o: Object, fields: &[&str]) -> Result<(), JsonError> {
    for name in fields {
        if let Some(value) = o.take(name)?
            && !matches!(value, Value::Null)
        {
            return Err(JsonError("field of another type"));
        }
    }
    o.end()
}

fn members(value: Value) -> Result<Vec<MemberId>, JsonError> {
    value.array_of(MemberId::read)
}

pub(super) fn read_server_message(mut o: Object) -> Result<ServerMessage, JsonError> {
    let kind = o.required("type", crate::json::string_of)?;
    let room = |o: &mut Object| o.required("room", RoomId::read);
    let member = |o: &mut Object| o.required("member", MemberId::read);
    let message = match kind.as_str() {
        "room_created" => ServerMessage::RoomCreated {
            room: room(&mut o)?,
            member: member(&mut o)?,
            resumed: o.required("resumed", bool_of)?,
            members: o.required("members", members)?,
            lobby: o.required("lobby", members)?,
        },
        "invite_added" => ServerMessage::InviteAdded {
            room: room(&mut o)?,
            token_hash: o.required("token_hash", TokenHash::read)?,
            ttl_secs: o.required("ttl_secs", u32_of)?,
        },
        "waiting" => ServerMessage::Waiting {
            room: room(&mut o)?,
            member: member(&mut o)?,
            host: o.required("host", MemberId::read)?,
        },
        "knocked" => ServerMessage::Knocked {
            room: room(&mut o)?,
            member: member(&mut o)?,
            payload: o.required("payload", Blob::read)?,
        },
        "admitted" => ServerMessage::Admitted {
            room: room(&mut o)?,
            member: member(&mut o)?,
            host: o.required("host", MemberId::read)?,
            members: o.required("members", members)?,
        },
        "rejected" => ServerMessage::Rejected {
            room: room(&mut o)?,
        },
        "removed" => ServerMessage::Removed {
            room: room(&mut o)?,
        },
        "session_ended" => ServerMessage::SessionEnded {
            room: room(&mut o)?,
        },
        "member_joined" => ServerMessage::MemberJoined {
            room: room(&mut o)?,
            member: member(&mut o)?,
        },
        "member_away" => ServerMessage::MemberAway {
            room: room(&mut o)?,
            member: member(&mut o)?,
        },
        "member_left" => ServerMessage::MemberLeft {
            room: room(&mut o)?,
            member: member(&mut o)?,
        },
        "deliver" => ServerMessage::Deliver {
            room: room(&mut o)?,
            from: o.required("from", MemberId::read)?,
            payload: o.required("payload", Blob::read)?,
        },
        "ice_servers" => ServerMessage::IceServers {
            room: room(&mut o)?,
            servers: o.required("servers", |v| v.array_of(IceServer::read))?,
        },
        "shutting_down" => ServerMessage::ShuttingDown,
        "error" => ServerMessage::Error {
            code: o.required("code", ErrorCode::read)?,
            room: o.optional("room", RoomId::read)?,
        },
        _ => return Err(JsonError("unknown type")),
    };
    end_flat(o, &FIELDS)?;
    Ok(message)
}
