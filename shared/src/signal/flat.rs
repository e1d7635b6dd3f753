//! Reading signals without serde's internally tagged enums (see
//! `wire::flat` for why): one flat struct with every field any signal may
//! have; the tag `t` decides which must be present, any other is refused
//! like `deny_unknown_fields` would.

use serde::Deserialize;

use super::{Member, PublicBytes, SecretBytes, Signal};
// The tag `t` names a signal type exactly as the authority table does.
use crate::authority::SignalKind as Kind;
use crate::wire::flat::{FlatError, need};

/// Every field of every signal; `None` = absent (or `null`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FlatSignal {
    t: Kind,
    name: Option<String>,
    lang: Option<String>,
    sdp: Option<String>,
    candidate: Option<String>,
    sdp_mid: Option<String>,
    sdp_m_line_index: Option<u16>,
    id: Option<u64>,
    text: Option<String>,
    sent_at_ms: Option<u64>,
    kid: Option<u64>,
    key: Option<SecretBytes>,
    suite: Option<u16>,
    peer: Option<Member>,
    peer_public: Option<PublicBytes>,
    group_secret: Option<SecretBytes>,
    intro_nonce: Option<PublicBytes>,
    epoch: Option<u64>,
    members: Option<Vec<Member>>,
    knock: Option<PublicBytes>,
}

impl FlatSignal {
    fn present(&self) -> impl Iterator<Item = &'static str> {
        [
            ("name", self.name.is_some()),
            ("lang", self.lang.is_some()),
            ("sdp", self.sdp.is_some()),
            ("candidate", self.candidate.is_some()),
            ("sdp_mid", self.sdp_mid.is_some()),
            ("sdp_m_line_index", self.sdp_m_line_index.is_some()),
            ("id", self.id.is_some()),
            ("text", self.text.is_some()),
            ("sent_at_ms", self.sent_at_ms.is_some()),
            ("kid", self.kid.is_some()),
            ("key", self.key.is_some()),
            ("suite", self.suite.is_some()),
            ("peer", self.peer.is_some()),
            ("peer_public", self.peer_public.is_some()),
            ("group_secret", self.group_secret.is_some()),
            ("intro_nonce", self.intro_nonce.is_some()),
            ("epoch", self.epoch.is_some()),
            ("members", self.members.is_some()),
            ("knock", self.knock.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, some)| some.then_some(name))
    }

    /// The signal, if exactly the fields of its kind are present.
    pub(super) fn into_signal(self) -> Result<Signal, FlatError> {
        let allowed: &[&str] = match self.t {
            Kind::Hello => &["name", "lang"],
            Kind::Offer | Kind::Answer => &["sdp"],
            Kind::Ice => &["candidate", "sdp_mid", "sdp_m_line_index"],
            Kind::Chat => &["id", "text", "sent_at_ms"],
            Kind::SenderKey => &["kid", "key", "suite"],
            Kind::Introduce => &["peer", "peer_public", "group_secret", "intro_nonce"],
            Kind::Members => &["epoch", "members"],
            Kind::MembersAck => &["epoch"],
            Kind::RejoinReceived => &["knock"],
            Kind::IceRestart | Kind::Bye | Kind::EndSession | Kind::Remove => &[],
        };
        if let Some(extra) = self.present().find(|name| !allowed.contains(name)) {
            return Err(FlatError::Unexpected(extra));
        }
        Ok(match self.t {
            Kind::Hello => Signal::Hello {
                name: need(self.name, "name")?,
                lang: self.lang,
            },
            Kind::Offer => Signal::Offer {
                sdp: need(self.sdp, "sdp")?,
            },
            Kind::Answer => Signal::Answer {
                sdp: need(self.sdp, "sdp")?,
            },
            Kind::Ice => Signal::Ice {
                candidate: need(self.candidate, "candidate")?,
                sdp_mid: self.sdp_mid,
                sdp_m_line_index: self.sdp_m_line_index,
            },
            Kind::IceRestart => Signal::IceRestart {},
            Kind::Chat => Signal::Chat {
                id: need(self.id, "id")?,
                text: need(self.text, "text")?,
                sent_at_ms: need(self.sent_at_ms, "sent_at_ms")?,
            },
            Kind::SenderKey => Signal::SenderKey {
                kid: need(self.kid, "kid")?,
                key: need(self.key, "key")?,
                suite: need(self.suite, "suite")?,
            },
            Kind::Introduce => Signal::Introduce {
                peer: need(self.peer, "peer")?,
                peer_public: need(self.peer_public, "peer_public")?,
                group_secret: need(self.group_secret, "group_secret")?,
                intro_nonce: need(self.intro_nonce, "intro_nonce")?,
            },
            Kind::Members => Signal::Members {
                epoch: need(self.epoch, "epoch")?,
                members: need(self.members, "members")?,
            },
            Kind::MembersAck => Signal::MembersAck {
                epoch: need(self.epoch, "epoch")?,
            },
            Kind::RejoinReceived => Signal::RejoinReceived {
                knock: need(self.knock, "knock")?,
            },
            Kind::Bye => Signal::Bye {},
            Kind::EndSession => Signal::EndSession {},
            Kind::Remove => Signal::Remove {},
        })
    }
}
