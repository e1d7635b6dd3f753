//! Calls with up to four participants: host-vouched peer channels,
//! membership, and media sender keys.
//!
//! * The host authenticated every guest by SAS. It introduces guests to
//!   each other over those channels ([`HostRoster::admit`] emits the
//!   `Introduce` signals); guests then derive a pairwise channel from
//!   X25519 and confirm it ([`PeerLink`]), so a wrong introduction fails
//!   visibly instead of silently producing an unauthenticated channel.
//! * The host decides membership and announces it (`Members`); guests
//!   follow ([`GuestView`]).
//! * Every participant has a media [`SenderKey`]; on any membership change
//!   each rotates and sends the new key only to current members
//!   ([`SenderKeySchedule`]), so a removed participant cannot decrypt
//!   later frames and a new one cannot decrypt earlier ones.

use crate::small_map::{SmallMap, SmallSet};
use std::fmt;

use hkdf::Hkdf;
use rand_core::CryptoRngCore;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::envelope::{Channel, DirectionKey, ParticipantId};
use crate::handshake::{HandshakeError, SessionKeypair};
use crate::kdf;
use crate::link::RoomId;
use crate::signal::{MAX_MEMBERS, Member, PublicBytes, SecretBytes, Signal};

/// Labels of the peer-channel derivation, listed in the spec.
pub(crate) mod label {
    pub const LO_TO_HI: &[u8] = b"confide v1 peer channel lo to hi";
    pub const HI_TO_LO: &[u8] = b"confide v1 peer channel hi to lo";
    pub const CONFIRM_LO: &[u8] = b"confide v1 peer confirm lo";
    pub const CONFIRM_HI: &[u8] = b"confide v1 peer confirm hi";
}

/// First byte of a peer confirmation message.
pub const PEER_CONFIRM_FORMAT: u8 = 0x30;
const PEER_CONFIRM_LEN: usize = 1 + 32;

/// Why a group operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupError {
    #[error("introduced peer id does not match its public key")]
    IdMismatch,
    #[error("introduced peer key rejected: {0}")]
    PeerKey(HandshakeError),
    #[error("peer confirmation malformed")]
    Decode,
    #[error("peer confirmation failed: the introduction was wrong or tampered with")]
    BadConfirmation,
    #[error("the call is full ({max} participants)")]
    Full { max: usize },
    #[error("participant already in the call")]
    AlreadyMember,
    #[error("no such participant")]
    UnknownMember,
    #[error("members announcement epoch {got} is not after {current}")]
    StaleEpoch { got: u64, current: u64 },
    #[error("members announcement does not include the host and us")]
    BadMembers,
    #[error("sender key id {got} is not after {current}")]
    StaleKey { got: u64, current: u64 },
    #[error("counter exhausted")]
    Exhausted,
    #[error("signal is not a {0}")]
    WrongSignal(&'static str),
}

fn random32(rng: &mut impl CryptoRngCore) -> [u8; 32] {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    b
}

/// A fresh introduction as a guest receives it from the host.
#[derive(Clone, Debug)]
pub struct Introduction {
    /// Who the host says the peer is.
    pub peer: Member,
    /// The peer's session public key, as authenticated by the host.
    pub peer_public: [u8; 32],
    group_secret: SecretBytes,
    intro_nonce: [u8; 32],
}

impl Introduction {
    /// Reads an `Introduce` signal (which must come from the host's
    /// channel: the caller checks the channel it arrived on).
    pub fn from_signal(signal: &Signal) -> Result<Self, GroupError> {
        match signal {
            Signal::Introduce {
                peer,
                peer_public,
                group_secret,
                intro_nonce,
            } => {
                if ParticipantId::from_public(&peer_public.0) != peer.id {
                    return Err(GroupError::IdMismatch);
                }
                Ok(Self {
                    peer: peer.clone(),
                    peer_public: peer_public.0,
                    group_secret: group_secret.clone(),
                    intro_nonce: intro_nonce.0,
                })
            }
            _ => Err(GroupError::WrongSignal("Introduce")),
        }
    }
}

/// Guest side of a peer channel, waiting for the peer's confirmation.
pub struct PeerLink {
    keys: PeerKeys,
    own_public: [u8; 32],
    peer_public: [u8; 32],
    /// Whether our public key sorts first.
    we_are_lo: bool,
}

impl fmt::Debug for PeerLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PeerLink")
    }
}

#[derive(Zeroize, ZeroizeOnDrop)]
struct PeerKeys {
    lo_to_hi: [u8; 32],
    hi_to_lo: [u8; 32],
    confirm_lo: [u8; 32],
    confirm_hi: [u8; 32],
}

impl PeerLink {
    /// Derives the pair's keys and returns our confirmation message.
    ///
    /// `HKDF-SHA256(salt = group_secret, ikm = X25519(own, peer), info =
    /// label || room id || intro_nonce || pub_lo || pub_hi)`, with the
    /// public keys sorted bytewise so both sides compute the same keys.
    /// Use each introduction once: the fresh `intro_nonce` is what makes a
    /// re-introduction yield new keys (sequence numbers restart at 0).
    pub fn start(
        keypair: &SessionKeypair,
        room: &RoomId,
        intro: &Introduction,
    ) -> Result<(Self, Vec<u8>), GroupError> {
        let own_public = keypair.public();
        let peer_public = intro.peer_public;
        let dh = keypair.dh(&peer_public).map_err(GroupError::PeerKey)?;
        let we_are_lo = own_public < peer_public;
        let (lo, hi) = if we_are_lo {
            (own_public, peer_public)
        } else {
            (peer_public, own_public)
        };
        let hk = Hkdf::<Sha256>::new(Some(intro.group_secret.as_bytes()), &dh[..]);
        let k =
            |l: &[u8]| *kdf::expand::<32>(&hk, &[l, room.as_bytes(), &intro.intro_nonce, &lo, &hi]);
        let keys = PeerKeys {
            lo_to_hi: k(label::LO_TO_HI),
            hi_to_lo: k(label::HI_TO_LO),
            confirm_lo: k(label::CONFIRM_LO),
            confirm_hi: k(label::CONFIRM_HI),
        };
        let link = Self {
            keys,
            own_public,
            peer_public,
            we_are_lo,
        };
        let mut msg = Vec::with_capacity(PEER_CONFIRM_LEN);
        msg.push(PEER_CONFIRM_FORMAT);
        msg.extend_from_slice(&link.mac(link.we_are_lo));
        Ok((link, msg))
    }

    /// `HMAC(confirm key of one side, label || pub_lo || pub_hi)`.
    fn mac(&self, lo_side: bool) -> [u8; 32] {
        let (lo, hi) = if self.we_are_lo {
            (self.own_public, self.peer_public)
        } else {
            (self.peer_public, self.own_public)
        };
        if lo_side {
            kdf::hmac(&self.keys.confirm_lo, &[label::CONFIRM_LO, &lo, &hi])
        } else {
            kdf::hmac(&self.keys.confirm_hi, &[label::CONFIRM_HI, &lo, &hi])
        }
    }

    /// Checks the peer's confirmation without using the link up (a forged
    /// one must not cost the genuine one its link).
    pub fn check_confirm(&self, msg: &[u8]) -> Result<(), GroupError> {
        if msg.len() != PEER_CONFIRM_LEN || msg[0] != PEER_CONFIRM_FORMAT {
            return Err(GroupError::Decode);
        }
        if !kdf::ct_eq(&msg[1..], &self.mac(!self.we_are_lo)) {
            return Err(GroupError::BadConfirmation);
        }
        Ok(())
    }

    /// Checks the peer's confirmation; on success the channel is ready.
    pub fn on_confirm(self, msg: &[u8]) -> Result<Channel, GroupError> {
        self.check_confirm(msg)?;
        let lo_to_hi = DirectionKey(self.keys.lo_to_hi);
        let hi_to_lo = DirectionKey(self.keys.hi_to_lo);
        let (send, recv) = if self.we_are_lo {
            (&lo_to_hi, &hi_to_lo)
        } else {
            (&hi_to_lo, &lo_to_hi)
        };
        Ok(Channel::new(send, recv, self.own_public, self.peer_public))
    }
}

/// A signal for one participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub to: ParticipantId,
    pub signal: Signal,
}

#[derive(Clone, Debug)]
struct Guest {
    public: [u8; 32],
    name: Option<String>,
}

/// The host's membership state: who is in the call, introductions, and
/// `Members` announcements. Pure: returns the signals to send.
pub struct HostRoster {
    host: ParticipantId,
    epoch: u64,
    group_secret: SecretBytes,
    guests: SmallMap<ParticipantId, Guest>,
}

impl fmt::Debug for HostRoster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostRoster")
            .field("host", &self.host)
            .field("epoch", &self.epoch)
            .field("guests", &self.guests.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl HostRoster {
    /// A roster with only the host; generates the session's group secret.
    pub fn new(rng: &mut impl CryptoRngCore, host: &SessionKeypair) -> Self {
        Self {
            host: host.id(),
            epoch: 0,
            group_secret: SecretBytes::new(random32(rng)),
            guests: SmallMap::new(),
        }
    }

    /// The current announcement epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Everyone in the call, host first.
    pub fn members(&self) -> Vec<Member> {
        let mut v = vec![Member {
            id: self.host,
            name: None,
            relay: None,
        }];
        v.extend(self.guests.iter().map(|(id, g)| Member {
            id: *id,
            name: g.name.clone(),
            relay: None,
        }));
        v
    }

    /// Participant ids of everyone in the call (host included).
    pub fn ids(&self) -> Vec<ParticipantId> {
        std::iter::once(self.host)
            .chain(self.guests.keys().copied())
            .collect()
    }

    fn announce(&mut self, out: &mut Vec<Outgoing>) -> Result<(), GroupError> {
        self.epoch = self.epoch.checked_add(1).ok_or(GroupError::Exhausted)?;
        let members = self.members();
        for id in self.guests.keys() {
            out.push(Outgoing {
                to: *id,
                signal: Signal::Members {
                    epoch: self.epoch,
                    members: members.clone(),
                },
            });
        }
        Ok(())
    }

    /// Admits a guest whose SAS the counsellor confirmed. Returns the
    /// introductions (new guest ↔ each existing guest, one fresh
    /// `intro_nonce` per pair) and the new `Members` announcement.
    pub fn admit(
        &mut self,
        rng: &mut impl CryptoRngCore,
        guest_public: [u8; 32],
        name: Option<String>,
    ) -> Result<Vec<Outgoing>, GroupError> {
        let id = ParticipantId::from_public(&guest_public);
        if id == self.host || self.guests.contains_key(&id) {
            return Err(GroupError::AlreadyMember);
        }
        if self.guests.len() + 1 >= MAX_MEMBERS {
            return Err(GroupError::Full { max: MAX_MEMBERS });
        }
        let mut out = Vec::new();
        for (other_id, other) in &self.guests {
            let nonce = PublicBytes(random32(rng));
            out.push(Outgoing {
                to: *other_id,
                signal: Signal::Introduce {
                    peer: Member {
                        id,
                        name: name.clone(),
                        relay: None,
                    },
                    peer_public: PublicBytes(guest_public),
                    group_secret: self.group_secret.clone(),
                    intro_nonce: nonce,
                },
            });
            out.push(Outgoing {
                to: id,
                signal: Signal::Introduce {
                    peer: Member {
                        id: *other_id,
                        name: other.name.clone(),
                        relay: None,
                    },
                    peer_public: PublicBytes(other.public),
                    group_secret: self.group_secret.clone(),
                    intro_nonce: nonce,
                },
            });
        }
        self.guests.insert(
            id,
            Guest {
                public: guest_public,
                name,
            },
        );
        self.announce(&mut out)?;
        Ok(out)
    }

    /// Removes a guest (removed by the counsellor, or left). Returns
    /// `Remove` for that guest and the new `Members` for the rest.
    pub fn remove(&mut self, id: ParticipantId) -> Result<Vec<Outgoing>, GroupError> {
        if self.guests.remove(&id).is_none() {
            return Err(GroupError::UnknownMember);
        }
        let mut out = vec![Outgoing {
            to: id,
            signal: Signal::Remove {},
        }];
        self.announce(&mut out)?;
        Ok(out)
    }
}

/// Who joined and who left, as a guest learns from `Members`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MembershipChange {
    pub joined: Vec<ParticipantId>,
    pub left: Vec<ParticipantId>,
}

/// A guest's view of membership, following the host's announcements.
#[derive(Clone, Debug)]
pub struct GuestView {
    host: ParticipantId,
    me: ParticipantId,
    epoch: u64,
    members: SmallSet<ParticipantId>,
}

impl GuestView {
    /// Before any announcement: just the host and us.
    pub fn new(host: ParticipantId, me: ParticipantId) -> Self {
        Self {
            host,
            me,
            epoch: 0,
            members: [host, me].into_iter().collect(),
        }
    }

    /// The counsellor's participant id, fixed by the guest's handshake with the host.
    pub fn host(&self) -> ParticipantId {
        self.host
    }

    /// The epoch of the last roster applied (0 before any).
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// Everyone in the call as last announced.
    pub fn ids(&self) -> Vec<ParticipantId> {
        self.members.iter().copied().collect()
    }

    /// Applies a `Members` signal received on the host's channel.
    pub fn apply(&mut self, signal: &Signal) -> Result<MembershipChange, GroupError> {
        let Signal::Members { epoch, members } = signal else {
            return Err(GroupError::WrongSignal("Members"));
        };
        if *epoch <= self.epoch {
            return Err(GroupError::StaleEpoch {
                got: *epoch,
                current: self.epoch,
            });
        }
        let next: SmallSet<ParticipantId> = members.iter().map(|m| m.id).collect();
        if next.len() != members.len()
            || next.len() > MAX_MEMBERS
            || !next.contains(&self.host)
            || !next.contains(&self.me)
        {
            return Err(GroupError::BadMembers);
        }
        let change = MembershipChange {
            joined: next.difference(&self.members).copied().collect(),
            left: self.members.difference(&next).copied().collect(),
        };
        self.epoch = *epoch;
        self.members = next;
        Ok(change)
    }
}

/// One sender's media key: the SFrame base key with its key id (KID).
///
/// KIDs are scoped per sender (a receiver knows the sender from the peer
/// connection the frame came on) and only increase.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct SenderKey {
    kid: u64,
    base_key: [u8; 32],
    suite: u16,
}

impl fmt::Debug for SenderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderKey")
            .field("kid", &self.kid)
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl SenderKey {
    /// The key id.
    pub fn kid(&self) -> u64 {
        self.kid
    }
    /// The SFrame base key.
    pub fn base_key(&self) -> &[u8; 32] {
        &self.base_key
    }
    /// The SFrame cipher suite id.
    pub fn suite(&self) -> u16 {
        self.suite
    }
    /// The `SenderKey` signal carrying this key.
    pub fn to_signal(&self) -> Signal {
        Signal::SenderKey {
            kid: self.kid,
            key: SecretBytes::new(self.base_key),
            suite: self.suite,
        }
    }
    /// Reads a `SenderKey` signal.
    pub fn from_signal(signal: &Signal) -> Result<Self, GroupError> {
        match signal {
            Signal::SenderKey { kid, key, suite } => Ok(Self {
                kid: *kid,
                base_key: *key.as_bytes(),
                suite: *suite,
            }),
            _ => Err(GroupError::WrongSignal("SenderKey")),
        }
    }
}

/// A new sender key and who must receive it.
#[derive(Clone, Debug)]
pub struct Distribution {
    pub key: SenderKey,
    pub to: Vec<ParticipantId>,
}

/// Our own sender key and its rotation on membership changes.
pub struct SenderKeySchedule {
    me: ParticipantId,
    current: SenderKey,
    members: SmallSet<ParticipantId>,
}

impl fmt::Debug for SenderKeySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SenderKeySchedule")
            .field("me", &self.me)
            .field("kid", &self.current.kid)
            .field("members", &self.members)
            .finish()
    }
}

impl SenderKeySchedule {
    /// A first key (KID 0) with nobody to send it to yet.
    pub fn new(rng: &mut impl CryptoRngCore, me: ParticipantId, suite: u16) -> Self {
        Self {
            me,
            current: SenderKey {
                kid: 0,
                base_key: random32(rng),
                suite,
            },
            members: SmallSet::new(),
        }
    }

    /// The key frames are encrypted with now.
    pub fn current(&self) -> &SenderKey {
        &self.current
    }

    /// Sets the call's members (ours included or not). If the set of
    /// other members changed, rotates (fresh key, KID + 1) and returns the
    /// new key with exactly the current other members as recipients;
    /// otherwise returns `None`. Encrypt with the new key only after it has
    /// been sent.
    pub fn set_members(
        &mut self,
        rng: &mut impl CryptoRngCore,
        members: &[ParticipantId],
    ) -> Result<Option<Distribution>, GroupError> {
        let next: SmallSet<ParticipantId> = members
            .iter()
            .copied()
            .filter(|id| *id != self.me)
            .collect();
        if next.len() >= MAX_MEMBERS {
            return Err(GroupError::Full { max: MAX_MEMBERS });
        }
        if next == self.members {
            return Ok(None);
        }
        self.members = next;
        self.rotate(rng).map(Some)
    }

    /// A fresh key (KID + 1) for the same members, e.g. when the frame
    /// counter of the current one runs low. Returns it with its recipients.
    pub fn rotate(&mut self, rng: &mut impl CryptoRngCore) -> Result<Distribution, GroupError> {
        let kid = self
            .current
            .kid
            .checked_add(1)
            .ok_or(GroupError::Exhausted)?;
        self.current = SenderKey {
            kid,
            base_key: random32(rng),
            suite: self.current.suite,
        };
        Ok(Distribution {
            key: self.current.clone(),
            to: self.members.iter().copied().collect(),
        })
    }
}

/// The latest sender key accepted from each peer; refuses rollbacks.
#[derive(Clone, Debug, Default)]
pub struct PeerKeyIds {
    latest: SmallMap<ParticipantId, u64>,
}

impl PeerKeyIds {
    /// Accepts `key` from `from` if its KID is newer than the last one.
    pub fn accept(&mut self, from: ParticipantId, key: &SenderKey) -> Result<(), GroupError> {
        if let Some(&current) = self.latest.get(&from)
            && key.kid <= current
        {
            return Err(GroupError::StaleKey {
                got: key.kid,
                current,
            });
        }
        self.latest.insert(from, key.kid);
        Ok(())
    }
    /// Forgets a peer that left.
    pub fn forget(&mut self, id: &ParticipantId) {
        self.latest.remove(id);
    }
}
