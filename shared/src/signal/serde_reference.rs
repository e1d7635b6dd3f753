//! The serde implementation of signals and knocks as it was before the
//! hand-written codec (`crate::json`): the reference `signal::equivalence`
//! compares against. Test-only.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use super::{Member, PublicBytes, SecretBytes, Signal};
use crate::authority::SignalKind as Kind;
use crate::envelope::ParticipantId;
use crate::wire::serde_reference::{FlatError, need};

fn decode_b64<'de, D: Deserializer<'de>, const N: usize>(
    d: D,
) -> Result<Zeroizing<[u8; N]>, D::Error> {
    let s = Zeroizing::new(Cow::<str>::deserialize(d)?.into_owned());
    let mut out = Zeroizing::new([0u8; N]);
    if s.len() != (N * 4).div_ceil(3) {
        return Err(D::Error::custom(format!("expected {N} base64url bytes")));
    }
    match URL_SAFE_NO_PAD.decode_slice(s.as_bytes(), &mut out[..]) {
        Ok(n) if n == N => Ok(out),
        _ => Err(D::Error::custom("bad base64url")),
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&Zeroizing::new(URL_SAFE_NO_PAD.encode(self.0)))
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(*decode_b64::<D, 32>(d)?))
    }
}

impl Serialize for PublicBytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for PublicBytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self(*decode_b64::<D, 32>(d)?))
    }
}

impl Serialize for ParticipantId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&URL_SAFE_NO_PAD.encode(self.as_bytes()))
    }
}

impl<'de> Deserialize<'de> for ParticipantId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::from_bytes(*decode_b64::<D, 16>(d)?))
    }
}

impl<'de> Deserialize<'de> for Signal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        FlatSignal::deserialize(deserializer)?
            .into_signal()
            .map_err(D::Error::custom)
    }
}

pub(crate) fn b64_vec<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&URL_SAFE_NO_PAD.encode(v))
}

pub(crate) fn de_b64_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = Cow::<str>::deserialize(d)?;
    URL_SAFE_NO_PAD
        .decode(s.as_bytes())
        .map_err(|_| D::Error::custom("bad base64url"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
/// Every field of every signal; `None` = absent (or `null`).
pub(crate) struct FlatSignal {
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
    pub(crate) fn into_signal(self) -> Result<Signal, FlatError> {
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
