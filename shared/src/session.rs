//! One participant's view of a session, as a sans-IO state machine.
//!
//! It ties the pieces together: the relay's wire messages ([`crate::wire`]),
//! the invite link ([`crate::link`]), the handshake ([`crate::handshake`]),
//! envelopes ([`crate::envelope`]), membership and sender keys
//! ([`crate::group`]). Inputs are relay messages and the user's commands;
//! outputs are [`Effect`]s: messages to send to the relay and [`Event`]s for
//! the user interface and the media layer. The browser client and the native
//! tests drive the very same code.
//!
//! Spec: docs/PROTOCOL.md, "Session".

use std::collections::{BTreeMap, BTreeSet};

use rand_core::CryptoRngCore;

use crate::authority::{self, Refusal, Sender};
use crate::envelope::{Channel, ParticipantId};
use crate::group::{
    GuestView, HostRoster, Introduction, PEER_CONFIRM_FORMAT, PeerKeyIds, PeerLink, SenderKey,
    SenderKeySchedule,
};
use crate::handshake::{
    Established, HandshakeError, Initiator, InitiatorAwaitConfirm, InitiatorAwaitReveal, Responder,
    ResponderAwaitReveal, SessionKeypair, msg_type,
};
use crate::link::{Invite, Psk, SessionSecret};
use crate::resume::{GuestResume, HostResume, Resume, StoredInvite};
use crate::sas::Sas;
use crate::signal::{Knock, Signal, SignalError};
use crate::wire::{self, Blob, ClientMessage, ErrorCode, MemberId, ServerMessage};

/// The media cipher suite confide uses by default (ChaCha20-Poly1305, private use id).
pub const DEFAULT_SUITE: u16 = crate::sframe::CipherSuite::ChaCha20Poly1305Sha256Tag128.id();

/// At most this many invites may be open at once (host plus three guests).
pub const MAX_GUESTS: usize = 3;

/// First byte of a knock a guest sends with `send` instead of `knock`:
/// `0x15 || knock JSON`. Used when the host did not get the original knock
/// (it was away) or lost it (it reloaded), and when a reloaded or asked guest
/// runs the handshake again.
pub const KNOCK_AGAIN: u8 = 0x15;

/// The host's plaintext request "run the handshake with me again", exactly
/// this one byte. The host sends it after a reload, having lost every key.
/// Unauthenticated on purpose (there is no key left to authenticate it
/// with): a forged one only makes the guest run a PSK-bound handshake with
/// the real host, which shows a new safety code.
pub const REJOIN_REQUEST: u8 = 0x16;

/// Renewal handshakes with one seat that may be abandoned (answered with m2,
/// then never completed, or failed) before that seat's renewals are refused
/// for the rest of the session. Each attempt is one try at matching safety
/// codes for a link holder in the middle (10^-6 each); only the first
/// renewal after the counsellor's own reload is answered without her click.
pub const MAX_ABANDONED_RENEWALS: u32 = 3;

/// How often the driver calls [`Session::check_roster_acks`] (host). A
/// guest that has not acknowledged a roster by the second call after it was
/// sent (10 to 20 s) is reported with [`Event::RosterNotAcknowledged`].
pub const ROSTER_ACK_CHECK_MS: u32 = 10_000;

/// A media base key handed to the frame-crypto layer; zeroized when the
/// event (or whatever keeps it until the worker is ready) is dropped.
pub type MediaKey = zeroize::Zeroizing<[u8; 32]>;

/// What the driver must do.
#[derive(Debug)]
pub enum Effect {
    /// Send this message to the relay.
    Send(ClientMessage),
    /// Tell the user interface / media layer.
    Event(Event),
}

/// Something the user or the media layer must know.
#[derive(Debug)]
pub enum Event {
    /// Host: the relay created (or resumed) the room.
    RoomReady,
    /// Host: a guest knocked; `name` is what they typed (decrypted here; the relay cannot read it).
    Knocked {
        member: MemberId,
        name: Option<String>,
        invite: u32,
    },
    /// Host: a knock that no open invite's key opens (forged or for a revoked link); it was turned away.
    KnockRefused { member: MemberId },
    /// Guest: waiting in the lobby for the host.
    Waiting,
    /// Host: an admitted guest's seat asks for a new handshake that the
    /// counsellor did not start (the guest reloaded — or someone holding the
    /// link tries to get into the middle). Nothing is answered until she
    /// calls [`Session::accept_renewal`] ("Mira möchte die Verbindung neu
    /// aufbauen"); [`Session::decline_renewal`] keeps the current channel.
    RenewalRequested {
        member: MemberId,
        name: Option<String>,
    },
    /// Messages from `member` were lost on the way (the relay dropped them,
    /// or a connection broke): `count` sequence numbers were skipped. The
    /// rest of the conversation is intact; say "messages were lost".
    MessagesLost { member: MemberId, count: u64 },
    /// Host: `member` did not acknowledge the roster of `epoch` in time (the
    /// relay may be keeping it from them, e.g. to keep a removed participant
    /// connected to them). It was sent again; until it is acknowledged this
    /// guest must be treated as still trusting the people the roster
    /// dropped: show a warning; removing the guest is the safe answer.
    RosterNotAcknowledged { member: MemberId, epoch: u64 },
    /// Too many renewal handshakes with `member` were abandoned or failed
    /// ([`MAX_ABANDONED_RENEWALS`]): from now on its renewals are refused.
    /// Someone may be trying to get into the middle: show a warning. The
    /// current channel, if any, goes on.
    RenewalRefused { member: MemberId },
    /// The pairwise channel with `member` is authenticated. Between a guest
    /// and the counsellor, compare `sas` out loud; between two guests there is
    /// none (the counsellor vouched for both), so it is `None`.
    PeerSecured {
        member: MemberId,
        participant: ParticipantId,
        sas: Option<Sas>,
        name: Option<String>,
        /// Whether this side creates the WebRTC offer for this peer.
        is_offerer: bool,
        /// This replaces an earlier channel with the same member (a reload on
        /// either side): the safety code is new and must be compared again.
        renewed: bool,
    },
    /// A WebRTC signal (offer, answer, ICE) from `member`, authenticated and decrypted.
    Rtc { member: MemberId, signal: Signal },
    /// A chat line from `member`.
    Chat {
        member: MemberId,
        id: u64,
        text: String,
        sent_at_ms: u64,
    },
    /// Install this key for frames from `member`.
    PeerSenderKey {
        member: MemberId,
        kid: u64,
        key: MediaKey,
        suite: u16,
    },
    /// Encrypt our own frames with this key from now on.
    LocalSenderKey { kid: u64, key: MediaKey, suite: u16 },
    /// `member` is temporarily away (connection lost; may come back).
    PeerAway { member: MemberId },
    /// `member` left the call for good.
    PeerLeft { member: MemberId },
    /// A message from the relay was refused: it failed authentication, was a
    /// replay, or did not fit the protocol. The session goes on.
    Rejected {
        member: Option<MemberId>,
        reason: RejectReason,
    },
    /// The session is over for us.
    Ended(EndReason),
}

/// Why a message was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// Authentication failed, a replay, or a handshake check failed.
    Tampered(String),
    /// A well-formed but unexpected message (wrong state, unknown sender).
    Unexpected(&'static str),
    /// An authentic signal its sender may not send (the gate in
    /// [`crate::authority`]: e.g. a guest sending a counsellor's `Remove`).
    NotAllowed(Refusal),
}

/// Why the session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// We hung up.
    Left,
    /// The host ended the session for everyone.
    EndedByHost,
    /// The host turned the knock away.
    Rejected,
    /// The host removed us.
    Removed,
    /// The relay refused us (`invite_used`, `invite_expired`, `room_not_found`, ...).
    Relay(ErrorCode),
    /// The peer's handshake failed: the link's secret is wrong, or someone interfered.
    HandshakeFailed,
}

/// An authenticated peer.
struct Peer {
    participant: ParticipantId,
    channel: Channel,
    name: Option<String>,
    keys: PeerKeyIds,
}

/// Host: a knock waiting for the counsellor's decision, with the handshake already answered.
struct LobbyGuest {
    name: Option<String>,
    responder: ResponderAwaitReveal,
    reveal: Vec<u8>,
    m1: Vec<u8>,
}

/// Host: a guest that was admitted and is finishing the handshake.
struct Admitting {
    name: Option<String>,
    responder: ResponderAwaitReveal,
    /// The knock's m1 this answers (a duplicate of it is not answered again).
    m1: Vec<u8>,
    /// A handshake again after a reload (not the first admission).
    renewed: bool,
}

// One per session, never copied around: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Role {
    Host(HostState),
    Guest(GuestState),
}

struct HostState {
    secret: SessionSecret,
    /// Open invites with the id `create_invite` returned for them.
    invites: Vec<(u32, Invite)>,
    /// Invites already knocked with, by the seat that used them: their PSK
    /// binds every later handshake with that guest (after a reload).
    used: BTreeMap<MemberId, (u32, Invite)>,
    /// Seats the counsellor admitted (her `admit`, or her snapshot after a
    /// reload). Never taken from the relay: `room_created.members` is a hint.
    admitted: BTreeSet<MemberId>,
    /// Seats the counsellor turned away. They stay turned away: a knock from
    /// one is refused whatever the relay says about it.
    rejected: BTreeSet<MemberId>,
    next_invite: u32,
    lobby: BTreeMap<MemberId, LobbyGuest>,
    admitting: BTreeMap<MemberId, Admitting>,
    /// Renewals the counsellor did not start, waiting for her decision
    /// (m2 computed, not sent).
    renewals: BTreeMap<MemberId, LobbyGuest>,
    /// Seats we asked to rejoin ([`REJOIN_REQUEST`], after our reload): the
    /// first renewal from each is answered without asking her.
    asked: BTreeSet<MemberId>,
    /// Renewal handshakes per seat answered with m2 and then abandoned or failed.
    abandoned: BTreeMap<MemberId, u32>,
    /// Secured guests whose safety code the counsellor has not confirmed
    /// yet (public key and name, for the roster). They talk with her only:
    /// no introductions, no roster, no other guest's key until she does.
    unconfirmed: BTreeMap<MemberId, ([u8; 32], Option<String>)>,
    /// Roster epochs sent and not yet acknowledged, per guest seat.
    acks: BTreeMap<MemberId, PendingAck>,
    roster: HostRoster,
}

/// Host: a `Members` a guest has not acknowledged yet.
struct PendingAck {
    epoch: u64,
    /// `check_roster_acks` calls since it was sent.
    checks: u8,
    warned: bool,
}

enum GuestHandshake {
    NotStarted(InitiatorAwaitReveal),
    AwaitConfirm(InitiatorAwaitConfirm),
    Done,
    Failed,
}

struct GuestState {
    /// The link this guest came with: its PSK binds every handshake with the host.
    invite: Invite,
    name: String,
    resume_secret: wire::ResumeSecret,
    /// The current handshake's knock, `KNOCK_AGAIN`-framed, for re-sending.
    knock: Vec<u8>,
    /// After a reload: send `knock` once the relay gave the seat back.
    knock_on_seat: bool,
    /// This session replaced one lost in a reload.
    rejoined: bool,
    /// Renewal handshakes with the host abandoned (a new rejoin request
    /// while ours waited for m4) or failed; at [`MAX_ABANDONED_RENEWALS`]
    /// rejoin requests are refused.
    abandoned: u32,
    handshake: Option<GuestHandshake>,
    host: Option<MemberId>,
    view: Option<GuestView>,
    /// Peer channels to other guests, introduced by the host, awaiting the peer's confirmation.
    links: BTreeMap<MemberId, (PeerLink, Introduction)>,
    /// Confirmations that arrived before the host's introduction did.
    /// At most two per seat: a forged one cannot push out the genuine one.
    early_confirms: BTreeMap<MemberId, Vec<Vec<u8>>>,
}

/// One participant's session.
pub struct Session {
    room: wire::RoomId,
    keypair: SessionKeypair,
    role: Role,
    me: Option<MemberId>,
    peers: BTreeMap<MemberId, Peer>,
    sender_keys: SenderKeySchedule,
    next_chat_id: u64,
    ended: bool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("peers", &self.peers.len())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The counsellor starts a new session. Returns the session and the
    /// message that creates the room on the relay.
    pub fn new_host(rng: &mut impl CryptoRngCore) -> (Session, ClientMessage) {
        let secret = SessionSecret::generate(rng);
        Self::resume_host(rng, secret)
    }

    /// The counsellor's session after a page reload: same room, same invites,
    /// new keys. Every guest is asked to run the handshake again once the
    /// relay confirms the room (`room_created`).
    pub fn restore_host(
        rng: &mut impl CryptoRngCore,
        stored: HostResume,
    ) -> (Session, ClientMessage) {
        let HostResume {
            secret,
            next_invite,
            invites,
            admitted,
            rejected,
        } = stored;
        let (mut session, create) = Self::resume_host(rng, secret);
        if let Role::Host(host) = &mut session.role {
            host.next_invite = next_invite.max(1);
            host.admitted = admitted.into_iter().collect();
            host.rejected = rejected.into_iter().collect();
            for stored in invites {
                match stored.member {
                    Some(member) => {
                        host.used.insert(member, (stored.id, stored.invite));
                    }
                    None => host.invites.push((stored.id, stored.invite)),
                }
            }
        }
        (session, create)
    }

    /// What this tab keeps to rejoin after a reload (`None` for a guest that
    /// has no seat yet, or once the session ended).
    pub fn resume_state(&self) -> Option<Resume> {
        if self.ended {
            return None;
        }
        match &self.role {
            Role::Host(host) => {
                let mut invites: Vec<StoredInvite> = host
                    .invites
                    .iter()
                    .map(|(id, invite)| StoredInvite {
                        id: *id,
                        invite: invite.clone(),
                        member: None,
                    })
                    .collect();
                invites.extend(host.used.iter().map(|(member, (id, invite))| StoredInvite {
                    id: *id,
                    invite: invite.clone(),
                    member: Some(*member),
                }));
                Some(Resume::Host(HostResume {
                    secret: host.secret.clone(),
                    next_invite: host.next_invite,
                    invites,
                    admitted: host.admitted.iter().copied().collect(),
                    rejected: host.rejected.iter().copied().collect(),
                }))
            }
            Role::Guest(guest) => Some(Resume::Guest(GuestResume {
                invite: guest.invite.clone(),
                name: guest.name.clone(),
                member: self.me?,
                resume_secret: guest.resume_secret.clone(),
            })),
        }
    }

    /// The message that takes our seat again on a new relay connection (the
    /// socket dropped; the session and its keys are intact).
    pub fn reconnect(&self) -> Option<ClientMessage> {
        if self.ended {
            return None;
        }
        match &self.role {
            Role::Host(host) => Some(ClientMessage::CreateRoom {
                v: wire::PROTOCOL_VERSION,
                room: self.room,
                host_token: host.secret.host_token(),
            }),
            Role::Guest(guest) => Some(ClientMessage::Resume {
                v: wire::PROTOCOL_VERSION,
                room: self.room,
                member: self.me?,
                resume_secret: guest.resume_secret.clone(),
            }),
        }
    }

    /// The counsellor's session with a known secret and no invites yet.
    fn resume_host(
        rng: &mut impl CryptoRngCore,
        secret: SessionSecret,
    ) -> (Session, ClientMessage) {
        let keypair = SessionKeypair::generate(rng);
        let room = secret.room_id();
        let roster = HostRoster::new(rng, &keypair);
        let sender_keys = SenderKeySchedule::new(rng, keypair.id(), DEFAULT_SUITE);
        let create = ClientMessage::CreateRoom {
            v: wire::PROTOCOL_VERSION,
            room,
            host_token: secret.host_token(),
        };
        let host = HostState {
            secret,
            invites: Vec::new(),
            used: BTreeMap::new(),
            admitted: BTreeSet::new(),
            rejected: BTreeSet::new(),
            next_invite: 1,
            lobby: BTreeMap::new(),
            admitting: BTreeMap::new(),
            renewals: BTreeMap::new(),
            asked: BTreeSet::new(),
            abandoned: BTreeMap::new(),
            unconfirmed: BTreeMap::new(),
            acks: BTreeMap::new(),
            roster,
        };
        (
            Self::with_role(room, keypair, Role::Host(host), sender_keys),
            create,
        )
    }

    /// A guest knocks with an invite link. `name` may be empty. Returns the
    /// session, the knock message for the relay, and the resume secret the
    /// browser keeps to rejoin after a reload.
    pub fn new_guest(
        rng: &mut impl CryptoRngCore,
        invite: Invite,
        name: &str,
    ) -> Result<(Session, ClientMessage, wire::ResumeSecret), SignalError> {
        let mut resume = [0u8; 32];
        rng.fill_bytes(&mut resume);
        let resume = wire::ResumeSecret(resume);
        let invite_token = invite.token();
        let session = Self::guest(rng, invite, name, resume.clone(), false)?;
        let Role::Guest(guest) = &session.role else {
            return Err(SignalError::KnockName);
        };
        let message = ClientMessage::Knock {
            v: wire::PROTOCOL_VERSION,
            room: session.room,
            invite_token,
            resume_hash: resume.hash(),
            payload: Blob(guest.knock[1..].to_vec()),
        };
        Ok((session, message, resume))
    }

    /// A guest after a page reload: takes its seat again with the resume
    /// secret and runs a new handshake with the host (new keys, new safety
    /// code), bound to the same invite's PSK.
    pub fn rejoin_guest(
        rng: &mut impl CryptoRngCore,
        stored: GuestResume,
    ) -> Result<(Session, ClientMessage), SignalError> {
        let GuestResume {
            invite,
            name,
            member,
            resume_secret,
        } = stored;
        let mut session = Self::guest(rng, invite, &name, resume_secret, true)?;
        session.me = Some(member);
        let message = session.reconnect().ok_or(SignalError::KnockName)?;
        Ok((session, message))
    }

    fn guest(
        rng: &mut impl CryptoRngCore,
        invite: Invite,
        name: &str,
        resume_secret: wire::ResumeSecret,
        rejoined: bool,
    ) -> Result<Session, SignalError> {
        let keypair = SessionKeypair::generate(rng);
        let room = invite.room_id();
        let (initiator, knock) = Self::start_knock(rng, &keypair, &invite, name)?;
        let sender_keys = SenderKeySchedule::new(rng, keypair.id(), DEFAULT_SUITE);
        let guest = GuestState {
            invite,
            name: name.to_string(),
            resume_secret,
            knock,
            knock_on_seat: rejoined,
            rejoined,
            abandoned: 0,
            handshake: Some(GuestHandshake::NotStarted(initiator)),
            host: None,
            view: None,
            links: BTreeMap::new(),
            early_confirms: BTreeMap::new(),
        };
        Ok(Self::with_role(
            room,
            keypair,
            Role::Guest(guest),
            sender_keys,
        ))
    }

    /// A new handshake's first message inside a knock, `KNOCK_AGAIN`-framed.
    fn start_knock(
        rng: &mut impl CryptoRngCore,
        keypair: &SessionKeypair,
        invite: &Invite,
        name: &str,
    ) -> Result<(InitiatorAwaitReveal, Vec<u8>), SignalError> {
        let link_room = invite.room_id();
        let psk = invite.psk();
        let (initiator, m1) = Initiator::start(rng, keypair, &psk, &link_room);
        let knock = Knock::new(rng, &psk, &link_room, m1, name)?.to_json()?;
        let mut framed = Vec::with_capacity(1 + knock.len());
        framed.push(KNOCK_AGAIN);
        framed.extend_from_slice(&knock);
        Ok((initiator, framed))
    }

    fn with_role(
        room: wire::RoomId,
        keypair: SessionKeypair,
        role: Role,
        sender_keys: SenderKeySchedule,
    ) -> Session {
        Session {
            room,
            keypair,
            role,
            me: None,
            peers: BTreeMap::new(),
            sender_keys,
            next_chat_id: 1,
            ended: false,
        }
    }

    /// The room id the relay knows this session by.
    pub fn room(&self) -> wire::RoomId {
        self.room
    }

    /// Whether we are the counsellor.
    pub fn is_host(&self) -> bool {
        matches!(self.role, Role::Host(_))
    }

    /// Host: make a new one-time invite. Returns its id (named again in
    /// [`Event::Knocked`]), the link (for `origin`, e.g.
    /// `https://beratung.example`) and the message registering the invite's
    /// token hash with the relay. `None` for guests or when three invites are
    /// already open.
    pub fn create_invite(
        &mut self,
        rng: &mut impl CryptoRngCore,
        origin: &str,
    ) -> Option<(u32, String, ClientMessage)> {
        let Role::Host(host) = &mut self.role else {
            return None;
        };
        if host.invites.len() + host.lobby.len() + host.admitting.len() + self.peers.len()
            >= MAX_GUESTS
        {
            return None;
        }
        let invite = host.secret.new_invite(rng);
        let url = invite.to_url(origin).to_string();
        let token_hash = invite.token().hash();
        let id = host.next_invite;
        host.next_invite += 1;
        host.invites.push((id, invite));
        Some((
            id,
            url,
            ClientMessage::AddInvite {
                room: self.room,
                token_hash,
                ttl_secs: None,
            },
        ))
    }

    /// Host: let a knocking guest in. Sends the admission and the handshake's second message.
    pub fn admit(&mut self, member: MemberId) -> Vec<Effect> {
        let room = self.room;
        let Role::Host(host) = &mut self.role else {
            return Vec::new();
        };
        let Some(guest) = host.lobby.remove(&member) else {
            return Vec::new();
        };
        host.admitted.insert(member);
        host.admitting.insert(
            member,
            Admitting {
                name: guest.name,
                responder: guest.responder,
                m1: guest.m1,
                renewed: false,
            },
        );
        vec![
            Effect::Send(ClientMessage::Admit { room, member }),
            Effect::Send(ClientMessage::Send {
                room,
                to: Some(member),
                payload: Blob(guest.reveal),
            }),
        ]
    }

    /// Host: turn a knocking guest away.
    pub fn reject(&mut self, member: MemberId) -> Vec<Effect> {
        let room = self.room;
        let Role::Host(host) = &mut self.role else {
            return Vec::new();
        };
        host.lobby.remove(&member);
        host.admitted.remove(&member);
        host.rejected.insert(member);
        vec![Effect::Send(ClientMessage::Reject { room, member })]
    }

    /// Host: the counsellor compared `member`'s safety code and it matches.
    /// Only now does the guest join the group: it and the other guests are
    /// introduced to each other (their keys reach each other only through
    /// that) and everyone gets the new roster (`Members`). Before this, the
    /// guest talks with the counsellor alone (a 1:1 call has media from the
    /// start). After a renewal the new code must be confirmed again.
    pub fn confirm_peer(&mut self, rng: &mut impl CryptoRngCore, member: MemberId) -> Vec<Effect> {
        let Role::Host(host) = &mut self.role else {
            return Vec::new();
        };
        let Some((public, name)) = host.unconfirmed.remove(&member) else {
            return Vec::new();
        };
        match host.roster.admit(rng, public, name) {
            Ok(outgoing) => {
                let mut effects = Vec::new();
                for out in outgoing {
                    effects.extend(self.send_to_participant(out.to, &out.signal));
                }
                effects
            }
            Err(error) => Self::tampered(member, error),
        }
    }

    /// Host: call every [`ROSTER_ACK_CHECK_MS`]. Reports each guest that has
    /// not acknowledged its latest roster since the previous call
    /// ([`Event::RosterNotAcknowledged`], once per epoch) and sends it the
    /// current roster again on every call until it does.
    pub fn check_roster_acks(&mut self) -> Vec<Effect> {
        if self.ended {
            return Vec::new();
        }
        let Role::Host(host) = &mut self.role else {
            return Vec::new();
        };
        let mut late = Vec::new();
        for (member, pending) in host.acks.iter_mut() {
            pending.checks = pending.checks.saturating_add(1);
            if pending.checks >= 2 {
                late.push((*member, pending.epoch, !pending.warned));
                pending.warned = true;
            }
        }
        let members = host.roster.members();
        let current = host.roster.epoch();
        let mut effects = Vec::new();
        for (member, epoch, warn) in late {
            if warn {
                effects.push(Effect::Event(Event::RosterNotAcknowledged {
                    member,
                    epoch,
                }));
            }
            let mut again = Signal::Members {
                epoch: current,
                members: members.clone(),
            };
            if let Signal::Members { members, .. } = &mut again {
                for m in members.iter_mut() {
                    m.relay = self.member_of(m.id);
                }
            }
            effects.extend(self.send_rtc(member, &again));
        }
        effects
    }

    /// Host: whether `member` asked for a renewal she has not decided on
    /// ([`Event::RenewalRequested`]).
    pub fn renewal_pending(&self, member: MemberId) -> bool {
        matches!(&self.role, Role::Host(host) if host.renewals.contains_key(&member))
    }

    /// Host: the counsellor lets `member` run a new handshake (she will
    /// compare the new safety code). Sends m2.
    pub fn accept_renewal(&mut self, member: MemberId) -> Vec<Effect> {
        let room = self.room;
        let Role::Host(host) = &mut self.role else {
            return Vec::new();
        };
        let Some(renewal) = host.renewals.remove(&member) else {
            return Vec::new();
        };
        host.admitting.insert(
            member,
            Admitting {
                name: renewal.name,
                responder: renewal.responder,
                m1: renewal.m1,
                renewed: true,
            },
        );
        vec![Effect::Send(ClientMessage::Send {
            room,
            to: Some(member),
            payload: Blob(renewal.reveal),
        })]
    }

    /// Host: the counsellor refuses `member`'s renewal; the current channel,
    /// if any, goes on. Nothing is sent.
    pub fn decline_renewal(&mut self, member: MemberId) -> Vec<Effect> {
        if let Role::Host(host) = &mut self.role {
            host.renewals.remove(&member);
        }
        Vec::new()
    }

    /// Host: remove a participant from the call. Everyone else gets new media keys.
    pub fn remove(&mut self, rng: &mut impl CryptoRngCore, member: MemberId) -> Vec<Effect> {
        let room = self.room;
        if !self.is_host() {
            return Vec::new();
        }
        let mut effects = Vec::new();
        if let Some(peer) = self.peers.get_mut(&member)
            && let Ok(sealed) = (Signal::Remove {}).seal(&mut peer.channel)
        {
            effects.push(Effect::Send(ClientMessage::Send {
                room,
                to: Some(member),
                payload: Blob(sealed),
            }));
        }
        effects.push(Effect::Send(ClientMessage::Remove { room, member }));
        effects.extend(self.forget_peer(rng, member));
        effects
    }

    /// Host: end the session for everyone.
    pub fn end_session(&mut self) -> Vec<Effect> {
        self.ended = true;
        let room = self.room;
        let mut effects = self.broadcast(&Signal::EndSession {});
        effects.push(Effect::Send(ClientMessage::EndSession { room }));
        effects.push(Effect::Event(Event::Ended(EndReason::Left)));
        effects
    }

    /// Hang up (either role). The host's room stays for the grace period.
    pub fn leave(&mut self) -> Vec<Effect> {
        self.ended = true;
        let room = self.room;
        let mut effects = self.broadcast(&Signal::Bye {});
        effects.push(Effect::Send(ClientMessage::Leave { room }));
        effects.push(Effect::Event(Event::Ended(EndReason::Left)));
        effects
    }

    /// Send a chat line to everyone in the call. Returns the effects and the line's id.
    pub fn chat(&mut self, text: &str, now_ms: u64) -> Result<(Vec<Effect>, u64), SignalError> {
        let id = self.next_chat_id;
        let signal = Signal::Chat {
            id,
            text: text.to_string(),
            sent_at_ms: now_ms,
        };
        signal.validate()?;
        self.next_chat_id += 1;
        Ok((self.broadcast(&signal), id))
    }

    /// Send a WebRTC signal (offer, answer, ICE) to one peer.
    pub fn send_rtc(&mut self, member: MemberId, signal: &Signal) -> Vec<Effect> {
        let room = self.room;
        let Some(peer) = self.peers.get_mut(&member) else {
            return Vec::new();
        };
        match signal.seal(&mut peer.channel) {
            Ok(sealed) => vec![Effect::Send(ClientMessage::Send {
                room,
                to: Some(member),
                payload: Blob(sealed),
            })],
            Err(_) => Vec::new(),
        }
    }

    fn broadcast(&mut self, signal: &Signal) -> Vec<Effect> {
        let room = self.room;
        let mut effects = Vec::new();
        for (member, peer) in &mut self.peers {
            if let Ok(sealed) = signal.seal(&mut peer.channel) {
                effects.push(Effect::Send(ClientMessage::Send {
                    room,
                    to: Some(*member),
                    payload: Blob(sealed),
                }));
            }
        }
        effects
    }

    /// Handles one message from the relay.
    pub fn handle(&mut self, rng: &mut impl CryptoRngCore, message: ServerMessage) -> Vec<Effect> {
        if self.ended {
            return Vec::new();
        }
        match message {
            ServerMessage::RoomCreated {
                member,
                members,
                lobby,
                ..
            } => {
                self.me = Some(member);
                let mut effects = vec![Effect::Event(Event::RoomReady)];
                // Who is admitted is the counsellor's own record, not this
                // list: a seat listed here that she did not admit knocks in
                // the lobby again, and a seat she turned away stays away.
                for guest in members.iter().chain(lobby.iter()) {
                    effects.extend(self.ask_to_rejoin(*guest));
                }
                effects
            }
            ServerMessage::InviteAdded { .. } => Vec::new(),
            ServerMessage::Waiting { member, host, .. } => {
                self.me = Some(member);
                let mut effects = self.seat_taken(host);
                effects.push(Effect::Event(Event::Waiting));
                effects
            }
            ServerMessage::Knocked {
                member, payload, ..
            } => self.on_knock(rng, member, &payload.0),
            ServerMessage::Admitted { member, host, .. } => {
                self.me = Some(member);
                self.seat_taken(host)
            }
            ServerMessage::Rejected { .. } => self.end(EndReason::Rejected),
            ServerMessage::Removed { .. } => self.end(EndReason::Removed),
            ServerMessage::SessionEnded { .. } => self.end(EndReason::EndedByHost),
            ServerMessage::MemberJoined { member, .. } => self.on_member_joined(member),
            ServerMessage::MemberAway { member, .. } => {
                vec![Effect::Event(Event::PeerAway { member })]
            }
            ServerMessage::MemberLeft { member, .. } => {
                if let Role::Host(host) = &mut self.role {
                    host.lobby.remove(&member);
                    host.admitting.remove(&member);
                    host.renewals.remove(&member);
                    host.asked.remove(&member);
                    host.used.remove(&member);
                    host.admitted.remove(&member);
                }
                self.forget_peer(rng, member)
            }
            ServerMessage::Deliver { from, payload, .. } => self.on_deliver(rng, from, &payload.0),
            ServerMessage::ShuttingDown => Vec::new(),
            ServerMessage::Error { code, .. } => match code.close_code() {
                Some(_) => self.end(EndReason::Relay(code)),
                None => Vec::new(),
            },
        }
    }

    /// The relay connection closed with `code` (a WebSocket close code).
    /// Returns the end event when the code means the session is over.
    pub fn connection_closed(&mut self, code: u16) -> Vec<Effect> {
        match ErrorCode::from_close_code(code) {
            Some(ErrorCode::Rejected) => self.end(EndReason::Rejected),
            Some(ErrorCode::Removed) => self.end(EndReason::Removed),
            Some(ErrorCode::SessionEnded) => self.end(EndReason::EndedByHost),
            Some(code) => self.end(EndReason::Relay(code)),
            None => Vec::new(),
        }
    }

    fn end(&mut self, reason: EndReason) -> Vec<Effect> {
        if self.ended {
            return Vec::new();
        }
        self.ended = true;
        vec![Effect::Event(Event::Ended(reason))]
    }

    fn on_knock(
        &mut self,
        rng: &mut impl CryptoRngCore,
        member: MemberId,
        payload: &[u8],
    ) -> Vec<Effect> {
        let room = self.room;
        let keypair = &self.keypair;
        let Role::Host(host) = &mut self.role else {
            return vec![Effect::Event(Event::Rejected {
                member: Some(member),
                reason: RejectReason::Unexpected("knock to a guest"),
            })];
        };
        let refuse = |host: &mut HostState| {
            host.lobby.remove(&member);
            vec![
                Effect::Send(ClientMessage::Reject { room, member }),
                Effect::Event(Event::KnockRefused { member }),
            ]
        };
        if host.rejected.contains(&member) {
            // The relay offers a seat the counsellor turned away once more.
            return refuse(host);
        }
        let Ok(knock) = Knock::from_json(payload) else {
            return refuse(host);
        };
        // The knock names no invite (the relay must not learn which link was
        // used): the invite whose key opens the sealed name is the one.
        let found = host
            .invites
            .iter()
            .position(|(_, invite)| knock.open_name(&invite.psk(), &invite.room_id()).is_ok());
        let Some(index) = found else {
            return refuse(host);
        };
        let (invite_id, invite) = host.invites.remove(index);
        let psk: Psk = invite.psk();
        let name = knock
            .open_name(&psk, &invite.room_id())
            .ok()
            .filter(|n| !n.is_empty());
        let link_room = invite.room_id();
        host.used.insert(member, (invite_id, invite));
        match Responder::accept(rng, keypair, &psk, &link_room, &knock.m1) {
            Ok((responder, reveal)) => {
                host.lobby.insert(
                    member,
                    LobbyGuest {
                        name: name.clone(),
                        responder,
                        reveal,
                        m1: knock.m1.clone(),
                    },
                );
                vec![Effect::Event(Event::Knocked {
                    member,
                    name,
                    invite: invite_id,
                })]
            }
            Err(_) => refuse(host),
        }
    }

    fn on_deliver(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        payload: &[u8],
    ) -> Vec<Effect> {
        match payload.first().copied() {
            Some(msg_type::REVEAL_R) => self.guest_on_reveal(rng, from, payload),
            Some(msg_type::REVEAL_I) => self.host_on_reveal(rng, from, payload),
            Some(msg_type::CONFIRM_R) => self.guest_on_confirm(rng, from, payload),
            Some(crate::envelope::ENVELOPE_FORMAT) => self.on_envelope(rng, from, payload),
            Some(PEER_CONFIRM_FORMAT) => self.on_peer_confirm(rng, from, payload.to_vec()),
            Some(KNOCK_AGAIN) => self.host_on_knock_again(rng, from, &payload[1..]),
            Some(REJOIN_REQUEST) if payload.len() == 1 => self.guest_on_rejoin_request(rng, from),
            _ => vec![Effect::Event(Event::Rejected {
                member: Some(from),
                reason: RejectReason::Unexpected("unknown message type"),
            })],
        }
    }

    /// Guest: the relay gave us our seat (first admission, lobby, or again
    /// after a reload or a dropped socket).
    fn seat_taken(&mut self, host: MemberId) -> Vec<Effect> {
        let room = self.room;
        let Role::Guest(guest) = &mut self.role else {
            return Vec::new();
        };
        // The host's seat is learned once. Later `waiting`/`admitted`
        // messages naming another seat are the relay's word only; they
        // change nothing (the counsellor's authority comes from the
        // handshake, see `sender_of`, and handshake messages are taken only
        // from this seat).
        match guest.host {
            None => guest.host = Some(host),
            Some(known) if known != host => {
                return vec![Effect::Event(Event::Rejected {
                    member: Some(host),
                    reason: RejectReason::Unexpected("the relay named another seat as host"),
                })];
            }
            Some(_) => {}
        }
        if !std::mem::take(&mut guest.knock_on_seat) {
            return Vec::new();
        }
        vec![Effect::Send(ClientMessage::Send {
            room,
            to: Some(host),
            payload: Blob(guest.knock.clone()),
        })]
    }

    /// Someone's connection came (back). A guest whose knock is unanswered
    /// re-sends it to a returning host (the relay drops knocks while the
    /// host is away); a host asks a returning guest it has no keys with to
    /// run the handshake again.
    fn on_member_joined(&mut self, member: MemberId) -> Vec<Effect> {
        let room = self.room;
        match &mut self.role {
            Role::Guest(guest) => {
                let waiting = matches!(guest.handshake, Some(GuestHandshake::NotStarted(_)));
                if guest.host == Some(member) && waiting {
                    return vec![Effect::Send(ClientMessage::Send {
                        room,
                        to: Some(member),
                        payload: Blob(guest.knock.clone()),
                    })];
                }
                Vec::new()
            }
            Role::Host(_) => self.ask_to_rejoin(member),
        }
    }

    /// Host: send [`REJOIN_REQUEST`] to a guest whose invite we know but with
    /// whom we hold no keys and no handshake in progress (we reloaded).
    fn ask_to_rejoin(&mut self, member: MemberId) -> Vec<Effect> {
        let room = self.room;
        let Role::Host(host) = &mut self.role else {
            return Vec::new();
        };
        let known = host.used.contains_key(&member) && !host.rejected.contains(&member);
        let busy = self.peers.contains_key(&member)
            || host.lobby.contains_key(&member)
            || host.admitting.contains_key(&member)
            || host.renewals.contains_key(&member);
        if !known || busy {
            return Vec::new();
        }
        // We hold no keys with this seat: the one renewal we ask for here
        // is ours, and is answered without asking the counsellor again.
        host.asked.insert(member);
        vec![Effect::Send(ClientMessage::Send {
            room,
            to: Some(member),
            payload: Blob(vec![REJOIN_REQUEST]),
        })]
    }

    /// Host: a knock that came with `send`. From a seat whose invite we know,
    /// it is bound to that invite's PSK (an admitted guest rejoining after a
    /// reload on either side, or a lobby guest knocking again); from an
    /// unknown seat it must open with one of the open invites, exactly as a
    /// first knock.
    fn host_on_knock_again(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        payload: &[u8],
    ) -> Vec<Effect> {
        let keypair = &self.keypair;
        let Role::Host(host) = &mut self.role else {
            return Self::tampered(from, "knock to a guest");
        };
        if host.rejected.contains(&from) {
            return vec![Effect::Event(Event::Rejected {
                member: Some(from),
                reason: RejectReason::Unexpected("knock from a seat the counsellor turned away"),
            })];
        }
        let knock = match Knock::from_json(payload) {
            Ok(knock) => knock,
            Err(error) => return Self::tampered(from, error),
        };
        let (invite_id, invite) = match host.used.get(&from) {
            Some((id, invite)) => (*id, invite.clone()),
            None => {
                let found = host.invites.iter().position(|(_, invite)| {
                    knock.open_name(&invite.psk(), &invite.room_id()).is_ok()
                });
                let Some(index) = found else {
                    return Self::tampered(from, "knock that no invite of this session opens");
                };
                let (id, invite) = host.invites.remove(index);
                host.used.insert(from, (id, invite.clone()));
                (id, invite)
            }
        };
        let psk = invite.psk();
        let name = match knock.open_name(&psk, &invite.room_id()) {
            Ok(name) => Some(name).filter(|n| !n.is_empty()),
            Err(error) => return Self::tampered(from, error),
        };
        if host.admitted.contains(&from) {
            if host.abandoned.get(&from).copied().unwrap_or(0) >= MAX_ABANDONED_RENEWALS {
                return vec![Effect::Event(Event::Rejected {
                    member: Some(from),
                    reason: RejectReason::Unexpected(
                        "renewal refused: too many abandoned handshakes with this seat",
                    ),
                })];
            }
            // The same knock again (the guest re-sends an unanswered one):
            // already answered, and never answered twice.
            let duplicate = |m1: &Vec<u8>| *m1 == knock.m1;
            if host.admitting.get(&from).is_some_and(|a| duplicate(&a.m1))
                || host.renewals.get(&from).is_some_and(|r| duplicate(&r.m1))
            {
                return Vec::new();
            }
        }
        let (responder, reveal) =
            match Responder::accept(rng, keypair, &psk, &invite.room_id(), &knock.m1) {
                Ok(accepted) => accepted,
                Err(error) => return Self::tampered(from, error),
            };
        if host.admitted.contains(&from) {
            return self.host_on_renewal(from, name, responder, reveal, knock.m1);
        }
        host.lobby.insert(
            from,
            LobbyGuest {
                name: name.clone(),
                responder,
                reveal,
                m1: knock.m1,
            },
        );
        vec![Effect::Event(Event::Knocked {
            member: from,
            name,
            invite: invite_id,
        })]
    }

    /// Host: a knock again from a seat the counsellor admitted. At most one
    /// renewal per seat is in flight: a new one abandons the one before
    /// (counted; at [`MAX_ABANDONED_RENEWALS`] the seat's renewals are
    /// refused). Only the first renewal of a seat we asked to rejoin after
    /// our own reload (we hold no keys with it) is answered at once; every
    /// other one waits for the counsellor ([`Event::RenewalRequested`]).
    fn host_on_renewal(
        &mut self,
        from: MemberId,
        name: Option<String>,
        responder: ResponderAwaitReveal,
        reveal: Vec<u8>,
        m1: Vec<u8>,
    ) -> Vec<Effect> {
        let room = self.room;
        let has_channel = self.peers.contains_key(&from);
        let Role::Host(host) = &mut self.role else {
            return Vec::new();
        };
        let mut silent = host.asked.remove(&from) && !has_channel;
        if host.admitting.remove(&from).is_some() {
            silent = false;
            let count = host.abandoned.entry(from).or_insert(0);
            *count += 1;
            if *count >= MAX_ABANDONED_RENEWALS {
                host.renewals.remove(&from);
                return vec![Effect::Event(Event::RenewalRefused { member: from })];
            }
        }
        if silent {
            host.admitting.insert(
                from,
                Admitting {
                    name,
                    responder,
                    m1,
                    renewed: true,
                },
            );
            return vec![Effect::Send(ClientMessage::Send {
                room,
                to: Some(from),
                payload: Blob(reveal),
            })];
        }
        host.renewals.insert(
            from,
            LobbyGuest {
                name: name.clone(),
                responder,
                reveal,
                m1,
            },
        );
        vec![Effect::Event(Event::RenewalRequested {
            member: from,
            name,
        })]
    }

    /// Guest: whether we hold a working channel with the counsellor (the
    /// peer our own handshake with the host authenticated).
    fn host_channel_works(&self) -> bool {
        match &self.role {
            Role::Guest(guest) => guest.view.as_ref().is_some_and(|view| {
                self.peers
                    .values()
                    .any(|peer| peer.participant == view.host())
            }),
            Role::Host(_) => false,
        }
    }

    /// Guest: a renewal handshake with the host failed or was abandoned
    /// while the old channel works: keep the old channel, count it, and
    /// refuse further renewals at [`MAX_ABANDONED_RENEWALS`]. Without a
    /// working channel a failed handshake ends the attempt as before.
    fn guest_renewal_failed(
        &mut self,
        from: MemberId,
        what: impl std::fmt::Display,
    ) -> Vec<Effect> {
        let has_channel = self.host_channel_works();
        let Role::Guest(guest) = &mut self.role else {
            return Vec::new();
        };
        guest.abandoned = guest.abandoned.saturating_add(1);
        let refused = guest.abandoned >= MAX_ABANDONED_RENEWALS;
        let mut effects = Self::tampered(from, what);
        if has_channel {
            guest.handshake = Some(GuestHandshake::Done);
            if refused {
                effects.push(Effect::Event(Event::RenewalRefused { member: from }));
            }
        } else {
            guest.handshake = Some(GuestHandshake::Failed);
            if refused {
                effects.push(Effect::Event(Event::RenewalRefused { member: from }));
            }
            effects.extend(self.end(EndReason::HandshakeFailed));
        }
        effects
    }

    /// Guest: the host lost its keys (a reload) and asks for a new handshake.
    /// An unanswered knock is simply sent again; otherwise a new handshake
    /// starts with the same invite's PSK. Our channel to the host stays until
    /// the new one is confirmed.
    fn guest_on_rejoin_request(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
    ) -> Vec<Effect> {
        let room = self.room;
        let has_channel = self.host_channel_works();
        let Role::Guest(guest) = &mut self.role else {
            return Self::tampered(from, "rejoin request to the host");
        };
        if guest.host != Some(from) {
            return Self::tampered(from, "rejoin request from someone other than the host");
        }
        if guest.abandoned >= MAX_ABANDONED_RENEWALS {
            return vec![Effect::Event(Event::Rejected {
                member: Some(from),
                reason: RejectReason::Unexpected(
                    "rejoin request refused: too many abandoned handshakes with the host",
                ),
            })];
        }
        match guest.handshake {
            // Our knock is unanswered: the same one again (no new attempt).
            Some(GuestHandshake::NotStarted(_)) => {}
            // One handshake in flight: asking again abandons it (counted,
            // with or without an old channel: each abandoned handshake was
            // one try at a matching code for someone in the middle).
            Some(GuestHandshake::AwaitConfirm(_)) => {
                guest.abandoned = guest.abandoned.saturating_add(1);
                let mut effects = Self::tampered(from, "handshake with the host abandoned");
                if guest.abandoned < MAX_ABANDONED_RENEWALS {
                    effects.extend(self.guest_restart_knock(rng, from));
                    return effects;
                }
                effects.push(Effect::Event(Event::RenewalRefused { member: from }));
                if has_channel {
                    guest.handshake = Some(GuestHandshake::Done);
                } else {
                    guest.handshake = Some(GuestHandshake::Failed);
                    effects.extend(self.end(EndReason::HandshakeFailed));
                }
                return effects;
            }
            _ => return self.guest_restart_knock(rng, from),
        }
        vec![Effect::Send(ClientMessage::Send {
            room,
            to: Some(from),
            payload: Blob(guest.knock.clone()),
        })]
    }

    /// Guest: a new handshake with the host (new m1, same PSK), sent as a
    /// knock again. The old channel, if any, stays until the new one is
    /// confirmed.
    fn guest_restart_knock(&mut self, rng: &mut impl CryptoRngCore, from: MemberId) -> Vec<Effect> {
        let room = self.room;
        let keypair = &self.keypair;
        let Role::Guest(guest) = &mut self.role else {
            return Vec::new();
        };
        match Self::start_knock(rng, keypair, &guest.invite, &guest.name) {
            Ok((initiator, knock)) => {
                guest.handshake = Some(GuestHandshake::NotStarted(initiator));
                guest.knock = knock;
            }
            Err(error) => return Self::tampered(from, error),
        }
        vec![Effect::Send(ClientMessage::Send {
            room,
            to: Some(from),
            payload: Blob(guest.knock.clone()),
        })]
    }

    fn tampered(member: MemberId, what: impl std::fmt::Display) -> Vec<Effect> {
        vec![Effect::Event(Event::Rejected {
            member: Some(member),
            reason: RejectReason::Tampered(what.to_string()),
        })]
    }

    fn guest_on_reveal(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        m2: &[u8],
    ) -> Vec<Effect> {
        let room = self.room;
        let Role::Guest(guest) = &mut self.role else {
            return Self::tampered(from, "handshake reveal to the host");
        };
        if guest.host != Some(from) {
            return Self::tampered(from, "handshake reveal from someone other than the host");
        }
        match guest.handshake.take() {
            Some(GuestHandshake::NotStarted(initiator)) => match initiator.on_reveal(rng, m2) {
                Ok((confirm, m3)) => {
                    guest.handshake = Some(GuestHandshake::AwaitConfirm(confirm));
                    vec![Effect::Send(ClientMessage::Send {
                        room,
                        to: Some(from),
                        payload: Blob(m3),
                    })]
                }
                Err(error) => self.guest_renewal_failed(from, error),
            },
            other => {
                guest.handshake = other;
                Self::tampered(from, "unexpected handshake reveal")
            }
        }
    }

    fn guest_on_confirm(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        m4: &[u8],
    ) -> Vec<Effect> {
        let Role::Guest(guest) = &mut self.role else {
            return Self::tampered(from, "handshake confirmation to the host");
        };
        if guest.host != Some(from) {
            return Self::tampered(
                from,
                "handshake confirmation from someone other than the host",
            );
        }
        match guest.handshake.take() {
            Some(GuestHandshake::AwaitConfirm(confirm)) => match confirm.on_confirm(m4) {
                Ok(established) => {
                    guest.handshake = Some(GuestHandshake::Done);
                    let participant = ParticipantId::from_public(&established.peer_public());
                    guest.view = Some(GuestView::new(participant, self.keypair.id()));
                    let renewed = guest.rejoined;
                    self.peer_secured(rng, from, established, None, false, renewed)
                }
                Err(error) => self.guest_renewal_failed(from, error),
            },
            other => {
                guest.handshake = other;
                Self::tampered(from, "unexpected handshake confirmation")
            }
        }
    }

    fn host_on_reveal(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        m3: &[u8],
    ) -> Vec<Effect> {
        let room = self.room;
        let Role::Host(host) = &mut self.role else {
            return Self::tampered(from, "handshake reveal to a guest");
        };
        let Some(admitting) = host.admitting.remove(&from) else {
            return Self::tampered(from, "handshake reveal from someone not being admitted");
        };
        match admitting.responder.on_reveal(rng, m3) {
            Ok((established, m4)) => {
                let mut effects = vec![Effect::Send(ClientMessage::Send {
                    room,
                    to: Some(from),
                    payload: Blob(m4),
                })];
                effects.extend(self.peer_secured(
                    rng,
                    from,
                    established,
                    admitting.name,
                    true,
                    admitting.renewed,
                ));
                effects
            }
            Err(error) if self.peers.contains_key(&from) => {
                // A renewal failed while the old channel works: keep it.
                let mut effects = Self::tampered(from, error);
                if let Role::Host(host) = &mut self.role {
                    let count = host.abandoned.entry(from).or_insert(0);
                    *count += 1;
                    if *count >= MAX_ABANDONED_RENEWALS {
                        effects.push(Effect::Event(Event::RenewalRefused { member: from }));
                    }
                }
                effects
            }
            Err(error) => {
                let mut effects = self.handshake_failed(from, error);
                effects.push(Effect::Send(ClientMessage::Remove { room, member: from }));
                effects
            }
        }
    }

    fn handshake_failed(&mut self, from: MemberId, error: HandshakeError) -> Vec<Effect> {
        let mut effects = Self::tampered(from, error);
        if !self.is_host() {
            effects.extend(self.end(EndReason::HandshakeFailed));
        }
        effects
    }

    /// A peer is authenticated: announce it, update membership, hand out media keys.
    fn peer_secured(
        &mut self,
        rng: &mut impl CryptoRngCore,
        member: MemberId,
        established: Established,
        name: Option<String>,
        is_offerer: bool,
        renewed: bool,
    ) -> Vec<Effect> {
        let sas = established.sas();
        let peer_public = established.peer_public();
        let channel = established.into_channel();
        // A new handshake with a seat we already had keys with replaces them.
        let mut effects = self.forget_peer(rng, member);
        let renewed = renewed || !effects.is_empty();
        if let Role::Host(host) = &mut self.role {
            // The group meets this guest only once the counsellor confirmed
            // its code (`confirm_peer`).
            host.unconfirmed.insert(member, (peer_public, name.clone()));
        }
        effects.extend(self.add_peer(rng, member, channel, Some(sas), name, (is_offerer, renewed)));
        effects
    }

    /// Adds an authenticated channel and rotates our media key to include the new peer.
    fn add_peer(
        &mut self,
        rng: &mut impl CryptoRngCore,
        member: MemberId,
        channel: Channel,
        sas: Option<Sas>,
        name: Option<String>,
        (is_offerer, renewed): (bool, bool),
    ) -> Vec<Effect> {
        let participant = channel.peer_id();
        self.peers.insert(
            member,
            Peer {
                participant,
                channel,
                name: name.clone(),
                keys: PeerKeyIds::default(),
            },
        );
        let mut effects = vec![Effect::Event(Event::PeerSecured {
            member,
            participant,
            sas,
            name,
            is_offerer,
            renewed,
        })];
        let members: Vec<ParticipantId> = self.peers.values().map(|p| p.participant).collect();
        effects.extend(self.distribute_sender_key(rng, &members));
        effects
    }

    fn member_of(&self, participant: ParticipantId) -> Option<MemberId> {
        if participant == self.keypair.id() {
            return self.me;
        }
        self.peers
            .iter()
            .find(|(_, p)| p.participant == participant)
            .map(|(m, _)| *m)
    }

    /// Sends a roster signal, adding each named participant's relay address
    /// (the roster knows participants; only the session knows the relay's ids).
    fn send_to_participant(&mut self, to: ParticipantId, signal: &Signal) -> Vec<Effect> {
        let mut signal = signal.clone();
        match &mut signal {
            Signal::Introduce { peer, .. } => peer.relay = self.member_of(peer.id),
            Signal::Members { members, .. } => {
                for member in members.iter_mut() {
                    member.relay = self.member_of(member.id);
                }
            }
            _ => {}
        }
        let Some(member) = self.member_of(to) else {
            return Vec::new();
        };
        if let (Signal::Members { epoch, .. }, Role::Host(host)) = (&signal, &mut self.role) {
            host.acks.insert(
                member,
                PendingAck {
                    epoch: *epoch,
                    checks: 0,
                    warned: false,
                },
            );
        }
        self.send_rtc(member, &signal)
    }

    /// A fresh media key for the same people (the frame-crypto worker says
    /// the current key's counter runs low). Sent before it is used.
    pub fn rotate_media_key(&mut self, rng: &mut impl CryptoRngCore) -> Vec<Effect> {
        match self.sender_keys.rotate(rng) {
            Ok(distribution) => self.send_sender_key(&distribution),
            Err(_) => Vec::new(),
        }
    }

    /// Rotates our sender key if membership changed, and sends it to exactly `members`.
    fn distribute_sender_key(
        &mut self,
        rng: &mut impl CryptoRngCore,
        members: &[ParticipantId],
    ) -> Vec<Effect> {
        match self.sender_keys.set_members(rng, members) {
            Ok(Some(distribution)) => self.send_sender_key(&distribution),
            _ => Vec::new(),
        }
    }

    fn send_sender_key(&mut self, distribution: &crate::group::Distribution) -> Vec<Effect> {
        let key: &SenderKey = &distribution.key;
        let mut effects = vec![Effect::Event(Event::LocalSenderKey {
            kid: key.kid(),
            key: MediaKey::new(*key.base_key()),
            suite: key.suite(),
        })];
        let signal = key.to_signal();
        for to in &distribution.to {
            effects.extend(self.send_to_participant(*to, &signal));
        }
        effects
    }

    fn forget_peer(&mut self, rng: &mut impl CryptoRngCore, member: MemberId) -> Vec<Effect> {
        let Some(peer) = self.peers.remove(&member) else {
            return Vec::new();
        };
        let mut effects = vec![Effect::Event(Event::PeerLeft { member })];
        if let Role::Host(host) = &mut self.role {
            host.unconfirmed.remove(&member);
            host.acks.remove(&member);
        }
        if let Role::Host(host) = &mut self.role
            && let Ok(outgoing) = host.roster.remove(peer.participant)
        {
            for out in outgoing {
                effects.extend(self.send_to_participant(out.to, &out.signal));
            }
        }
        let members: Vec<ParticipantId> = self.peers.values().map(|p| p.participant).collect();
        effects.extend(self.distribute_sender_key(rng, &members));
        effects
    }

    fn on_envelope(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        payload: &[u8],
    ) -> Vec<Effect> {
        let Some(peer) = self.peers.get_mut(&from) else {
            return vec![Effect::Event(Event::Rejected {
                member: Some(from),
                reason: RejectReason::Unexpected("message from an unknown sender"),
            })];
        };
        let skipped_before = peer.channel.skipped();
        let signal = match Signal::open(&mut peer.channel, payload) {
            Ok(signal) => signal,
            Err(error) => return Self::tampered(from, error),
        };
        let lost = peer.channel.skipped().saturating_sub(skipped_before);
        let participant = peer.participant;
        let mut effects = Vec::new();
        if lost > 0 {
            effects.push(Effect::Event(Event::MessagesLost {
                member: from,
                count: lost,
            }));
        }
        effects.extend(self.on_signal(rng, from, participant, signal));
        effects
    }

    /// An authentic signal from `from` (whose channel authenticates `participant`).
    fn on_signal(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        participant: ParticipantId,
        signal: Signal,
    ) -> Vec<Effect> {
        // The one gate: the sender's role is what its channel authenticates.
        let sender = self.sender_of(participant);
        if let Err(refusal) = authority::check(sender, &signal) {
            return vec![Effect::Event(Event::Rejected {
                member: Some(from),
                reason: RejectReason::NotAllowed(refusal),
            })];
        }
        match signal {
            Signal::Offer { .. }
            | Signal::Answer { .. }
            | Signal::Ice { .. }
            | Signal::IceRestart {} => {
                vec![Effect::Event(Event::Rtc {
                    member: from,
                    signal,
                })]
            }
            Signal::Chat {
                id,
                text,
                sent_at_ms,
            } => vec![Effect::Event(Event::Chat {
                member: from,
                id,
                text,
                sent_at_ms,
            })],
            Signal::SenderKey { .. } => {
                let Some(peer) = self.peers.get_mut(&from) else {
                    return Vec::new();
                };
                match SenderKey::from_signal(&signal) {
                    Ok(key) => match peer.keys.accept(participant, &key) {
                        Ok(()) => vec![Effect::Event(Event::PeerSenderKey {
                            member: from,
                            kid: key.kid(),
                            key: MediaKey::new(*key.base_key()),
                            suite: key.suite(),
                        })],
                        Err(error) => Self::tampered(from, error),
                    },
                    Err(error) => Self::tampered(from, error),
                }
            }
            Signal::Members { .. } => self.on_members(rng, from, &signal),
            Signal::MembersAck { epoch } => self.on_members_ack(from, epoch),
            Signal::Hello { name, .. } => {
                if let Some(peer) = self.peers.get_mut(&from) {
                    peer.name = Some(name);
                }
                Vec::new()
            }
            Signal::Bye {} => self.forget_peer(rng, from),
            Signal::EndSession {} => self.end(EndReason::EndedByHost),
            Signal::Remove {} => self.end(EndReason::Removed),
            Signal::Introduce { .. } => self.on_introduce(rng, from, &signal),
        }
    }

    /// The authenticated role of the participant at the other end of one of
    /// our channels. For a guest, only the participant its own handshake with
    /// the host authenticated is the counsellor, whatever seat the relay
    /// names as host.
    fn sender_of(&self, participant: ParticipantId) -> Sender {
        match &self.role {
            Role::Host(_) => Sender::Guest,
            Role::Guest(guest) => match &guest.view {
                Some(view) if view.host() == participant => Sender::Counsellor,
                _ => Sender::PeerGuest,
            },
        }
    }

    /// Guest: the host introduces another guest. Derive the pair's channel
    /// and send our confirmation to that guest.
    fn on_introduce(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        signal: &Signal,
    ) -> Vec<Effect> {
        let room = self.room;
        let intro = match Introduction::from_signal(signal) {
            Ok(intro) => intro,
            Err(error) => return Self::tampered(from, error),
        };
        let Some(peer_member) = intro.peer.relay else {
            return Self::tampered(from, "introduction without the peer's relay address");
        };
        // The host reloaded and introduces again a pair that still holds a
        // working channel: keep it (the peer does the same).
        if self
            .peers
            .get(&peer_member)
            .is_some_and(|p| p.participant == intro.peer.id)
        {
            return Vec::new();
        }
        let (link, confirm) = match PeerLink::start(&self.keypair, &room, &intro) {
            Ok(started) => started,
            Err(error) => return Self::tampered(from, error),
        };
        let mut effects = vec![Effect::Send(ClientMessage::Send {
            room,
            to: Some(peer_member),
            payload: Blob(confirm),
        })];
        let Role::Guest(guest) = &mut self.role else {
            return effects;
        };
        guest.links.insert(peer_member, (link, intro));
        let early = guest
            .early_confirms
            .remove(&peer_member)
            .unwrap_or_default();
        for message in early {
            // Until one of them confirms the link (a forged one leaves it).
            if !matches!(&self.role, Role::Guest(g) if g.links.contains_key(&peer_member)) {
                break;
            }
            effects.extend(self.on_peer_confirm(rng, peer_member, message));
        }
        effects
    }

    /// Guest: another guest's confirmation of our pair channel.
    fn on_peer_confirm(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        message: Vec<u8>,
    ) -> Vec<Effect> {
        let own = self.keypair.id();
        let Role::Guest(guest) = &mut self.role else {
            return Self::tampered(from, "peer confirmation to the host");
        };
        let Some((link, intro)) = guest.links.remove(&from) else {
            // The introduction may still be on its way (another sender, so no ordering).
            let known = guest.early_confirms.contains_key(&from);
            if known || guest.early_confirms.len() < crate::signal::MAX_MEMBERS {
                let kept = guest.early_confirms.entry(from).or_default();
                if kept.len() < 2 {
                    kept.push(message);
                }
            }
            return Vec::new();
        };
        if let Err(error) = link.check_confirm(&message) {
            // A forged confirmation (early or not) leaves the link waiting
            // for the genuine one.
            guest.links.insert(from, (link, intro));
            return Self::tampered(from, error);
        }
        match link.on_confirm(&message) {
            Ok(channel) => {
                let is_offerer = own.as_bytes() < intro.peer.id.as_bytes();
                // A stale channel with this seat (the peer reloaded) goes first.
                let mut effects = self.forget_peer(rng, from);
                let renewed = !effects.is_empty();
                effects.extend(self.add_peer(
                    rng,
                    from,
                    channel,
                    None,
                    intro.peer.name.clone(),
                    (is_offerer, renewed),
                ));
                effects
            }
            Err(error) => Self::tampered(from, error),
        }
    }

    /// Host: a guest applied the roster of `epoch`.
    fn on_members_ack(&mut self, from: MemberId, epoch: u64) -> Vec<Effect> {
        let Role::Host(host) = &mut self.role else {
            return Vec::new();
        };
        match host.acks.get(&from) {
            Some(pending) if epoch == pending.epoch => {
                host.acks.remove(&from);
                Vec::new()
            }
            // An older epoch's acknowledgement: the latest is still due.
            Some(pending) if epoch < pending.epoch => Vec::new(),
            _ => Self::tampered(from, "acknowledgement of a roster never sent"),
        }
    }

    fn on_members(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        signal: &Signal,
    ) -> Vec<Effect> {
        let Role::Guest(guest) = &mut self.role else {
            return Vec::new();
        };
        let Some(view) = guest.view.as_mut() else {
            return Vec::new();
        };
        // The counsellor sends the roster again when our acknowledgement did
        // not reach her: acknowledge again, nothing else changes.
        if let Signal::Members { epoch, members } = signal
            && *epoch == view.epoch()
            && *epoch > 0
            && members.iter().map(|m| m.id).collect::<BTreeSet<_>>()
                == view.ids().into_iter().collect::<BTreeSet<_>>()
        {
            let ack = Signal::MembersAck { epoch: *epoch };
            return self.send_rtc(from, &ack);
        }
        match view.apply(signal) {
            Ok(change) => {
                // Peers the host no longer lists are gone; our key rotates without them.
                let gone: Vec<MemberId> = self
                    .peers
                    .iter()
                    .filter(|(_, p)| change.left.contains(&p.participant))
                    .map(|(m, _)| *m)
                    .collect();
                let mut effects = Vec::new();
                for member in gone {
                    effects.extend(self.forget_peer(rng, member));
                }
                // Guests send their media key only to peers they have an
                // authenticated channel with, and rotate on every change.
                let members: Vec<ParticipantId> =
                    self.peers.values().map(|p| p.participant).collect();
                effects.extend(self.distribute_sender_key(rng, &members));
                // Done: tell the counsellor (who warns when this does not come).
                if let Signal::Members { epoch, .. } = signal {
                    effects.extend(self.send_rtc(from, &Signal::MembersAck { epoch: *epoch }));
                }
                effects
            }
            Err(error) => Self::tampered(from, error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    fn waiting_guest() -> Session {
        let (mut host, _) = Session::new_host(&mut OsRng);
        let Some((_, url, _)) = host.create_invite(&mut OsRng, "https://b.example") else {
            panic!("an invite");
        };
        let Ok(invite) = Invite::parse(&url) else {
            panic!("the link parses");
        };
        let Ok((mut guest, _, _)) = Session::new_guest(&mut OsRng, invite, "") else {
            panic!("a knock");
        };
        let room = guest.room();
        guest.handle(
            &mut OsRng,
            ServerMessage::Waiting {
                room,
                member: MemberId(2),
                host: MemberId(1),
            },
        );
        guest
    }

    #[test]
    fn early_peer_confirmations_are_buffered_only_up_to_the_group_size() {
        let mut guest = waiting_guest();
        let room = guest.room();
        for from in 10..30 {
            let effects = guest.handle(
                &mut OsRng,
                ServerMessage::Deliver {
                    room,
                    from: MemberId(from),
                    payload: Blob(vec![PEER_CONFIRM_FORMAT; 40]),
                },
            );
            assert!(effects.is_empty(), "kept quietly until an introduction");
        }
        let Role::Guest(state) = &guest.role else {
            panic!("a guest");
        };
        assert_eq!(state.early_confirms.len(), crate::signal::MAX_MEMBERS);
    }

    #[test]
    fn a_rejoin_request_from_anyone_but_the_host_is_refused() {
        let mut guest = waiting_guest();
        let room = guest.room();
        let effects = guest.handle(
            &mut OsRng,
            ServerMessage::Deliver {
                room,
                from: MemberId(5),
                payload: Blob(vec![REJOIN_REQUEST]),
            },
        );
        assert!(matches!(
            effects.as_slice(),
            [Effect::Event(Event::Rejected {
                reason: RejectReason::Tampered(_),
                ..
            })]
        ));
        // From the host: the unanswered knock goes out again, unchanged.
        let Role::Guest(state) = &guest.role else {
            panic!("a guest");
        };
        let knock = state.knock.clone();
        let effects = guest.handle(
            &mut OsRng,
            ServerMessage::Deliver {
                room,
                from: MemberId(1),
                payload: Blob(vec![REJOIN_REQUEST]),
            },
        );
        assert!(matches!(
            effects.as_slice(),
            [Effect::Send(ClientMessage::Send { to: Some(MemberId(1)), payload, .. })] if payload.0 == knock
        ));
    }

    #[test]
    fn a_knock_again_that_no_invite_opens_is_refused() {
        let (mut host, _) = Session::new_host(&mut OsRng);
        let room = host.room();
        host.handle(
            &mut OsRng,
            ServerMessage::RoomCreated {
                room,
                member: MemberId(1),
                resumed: false,
                members: Vec::new(),
                lobby: Vec::new(),
            },
        );
        let _ = host.create_invite(&mut OsRng, "https://b.example");
        // A knock made with another session's link, sent straight to the host.
        let stranger = waiting_guest();
        let Role::Guest(state) = &stranger.role else {
            panic!("a guest");
        };
        let effects = host.handle(
            &mut OsRng,
            ServerMessage::Deliver {
                room,
                from: MemberId(9),
                payload: Blob(state.knock.clone()),
            },
        );
        assert!(matches!(
            effects.as_slice(),
            [Effect::Event(Event::Rejected {
                reason: RejectReason::Tampered(_),
                ..
            })]
        ));
        let Role::Host(state) = &host.role else {
            panic!("the host");
        };
        assert_eq!(state.invites.len(), 1, "the open invite is not used up");
        assert!(state.lobby.is_empty() && state.used.is_empty());
    }
}
