//! Reading signals: the tag `t` decides which fields must be present; any
//! field the format does not know is refused, and a field of another signal
//! type is refused unless it is `null` (see `wire::flat`).

use super::{Member, PublicBytes, SecretBytes, Signal};
// The tag `t` names a signal type exactly as the authority table does.
use crate::authority::SignalKind as Kind;
use crate::json::{JsonError, Object, Value, string_of, u16_of, u64_of};
use crate::wire::flat::end_flat;

/// Every field any signal has.
pub(super) const FIELDS: [&str; 19] = [
    "name",
    "lang",
    "sdp",
    "candidate",
    "sdp_mid",
    "sdp_m_line_index",
    "id",
    "text",
    "sent_at_ms",
    "kid",
    "key",
    "suite",
    "peer",
    "peer_public",
    "group_secret",
    "intro_nonce",
    "epoch",
    "members",
    "knock",
];

fn members(value: Value) -> Result<Vec<Member>, JsonError> {
    value.array_of(Member::read)
}

/// The signal in `value`, if it has exactly the fields of its type.
pub(super) fn read_signal(value: Value) -> Result<Signal, JsonError> {
    let mut o: Object = value.into_object()?;
    let tag = o.required("t", |v| {
        Kind::from_name(v.as_str()?).ok_or(JsonError("unknown signal type"))
    })?;
    let sdp = |o: &mut Object| o.required("sdp", string_of);
    let epoch = |o: &mut Object| o.required("epoch", u64_of);
    let signal = match tag {
        Kind::Hello => Signal::Hello {
            name: o.required("name", string_of)?,
            lang: o.optional("lang", string_of)?,
        },
        Kind::Offer => Signal::Offer { sdp: sdp(&mut o)? },
        Kind::Answer => Signal::Answer { sdp: sdp(&mut o)? },
        Kind::Ice => Signal::Ice {
            candidate: o.required("candidate", string_of)?,
            sdp_mid: o.optional("sdp_mid", string_of)?,
            sdp_m_line_index: o.optional("sdp_m_line_index", u16_of)?,
        },
        Kind::IceRestart => Signal::IceRestart {},
        Kind::Chat => Signal::Chat {
            id: o.required("id", u64_of)?,
            text: o.required("text", string_of)?,
            sent_at_ms: o.required("sent_at_ms", u64_of)?,
        },
        Kind::SenderKey => Signal::SenderKey {
            kid: o.required("kid", u64_of)?,
            key: o.required("key", SecretBytes::read)?,
            suite: o.required("suite", u16_of)?,
        },
        Kind::Introduce => Signal::Introduce {
            peer: o.required("peer", Member::read)?,
            peer_public: o.required("peer_public", PublicBytes::read)?,
            group_secret: o.required("group_secret", SecretBytes::read)?,
            intro_nonce: o.required("intro_nonce", PublicBytes::read)?,
        },
        Kind::Members => Signal::Members {
            epoch: epoch(&mut o)?,
            members: o.required("members", members)?,
        },
        Kind::MembersAck => Signal::MembersAck {
            epoch: epoch(&mut o)?,
        },
        Kind::RejoinReceived => Signal::RejoinReceived {
            knock: o.required("knock", PublicBytes::read)?,
        },
        Kind::Bye => Signal::Bye {},
        Kind::EndSession => Signal::EndSession {},
        Kind::Remove => Signal::Remove {},
    };
    end_flat(o, &FIELDS)?;
    Ok(signal)
}
