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
//!
//! One concept per file: the counsellor's side in `host.rs`, a guest's in
//! `guest.rs`, guest-to-guest channels in `peer_link.rs`; what both share
//! (the relay inputs, envelopes and the one gate every signal passes,
//! [`crate::authority`], media keys) is here.

use crate::small_map::{SmallMap, SmallSet};

use rand_core::CryptoRngCore;

use crate::authority::{self, PayloadKind, PayloadRefusal, Receiver, Refusal, Sender};
use crate::envelope::{Channel, ParticipantId};
use crate::group::{
    GuestView, HostRoster, Introduction, PeerKeyIds, PeerLink, SenderKey, SenderKeySchedule,
};
use crate::handshake::{
    Established, HandshakeError, Initiator, InitiatorAwaitConfirm, InitiatorAwaitReveal, Responder,
    ResponderAwaitReveal, SessionKeypair,
};
use crate::link::{Address, Invite, Psk, SessionSecret};
use crate::resume::{GuestResume, HostResume, Resume, StoredInvite};
use crate::sas::Sas;
use crate::signal::{Knock, Signal, SignalError};
use crate::wire::{self, Blob, ClientMessage, ErrorCode, MemberId, ServerMessage};

mod guest;
mod host;
mod peer_link;

use guest::{GuestHandshake, GuestState};
use host::{HostState, PendingAck};

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

/// SHA-256 of a knock's JSON, as a guest names it in
/// [`Signal::RejoinReceived`] and the host recognises it.
fn knock_digest(knock_json: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(knock_json).into()
}

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
    /// Host: the relay registered invite `invite` for `ttl_secs` more
    /// seconds (what the counsellor's link screen says about it). The
    /// relay's word, shown as such: it could shorten a link, never lengthen
    /// what the link allows.
    InviteValid { invite: u32, ttl_secs: u32 },
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
    /// Guest: the name the counsellor gave herself for her guests (from a
    /// `Hello` on her authenticated channel); shown instead of "Beratung".
    CounsellorNamed { name: String },
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
    /// `member` is temporarily away (connection lost; may come back). The
    /// relay says so: a hint for the page ("Verbindung unterbrochen"), never
    /// a reason to trust or distrust anyone.
    PeerAway { member: MemberId },
    /// `member`, a peer we have a channel with, is connected again (the
    /// relay's hint, like `PeerAway`).
    PeerBack { member: MemberId },
    /// `member` left the call for good.
    PeerLeft { member: MemberId },
    /// A message from the relay was refused: it failed authentication, was a
    /// replay, or did not fit the protocol. The session goes on.
    Rejected {
        member: Option<MemberId>,
        reason: RejectReason,
    },
    /// The relay's STUN/TURN servers and this member's credentials for
    /// them: use them for every peer connection from now on. The relay
    /// could send anything here; the worst it gains is what it has anyway
    /// (it carries the media, encrypted), or no media path at all.
    IceServers(Vec<wire::IceServer>),
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
    /// A payload format our role never receives (the payload gate in
    /// [`crate::authority`]: e.g. a handshake m2 sent to the counsellor).
    WrongRecipient(PayloadRefusal),
}

/// For the console: what was refused and why, in words.
impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectReason::Tampered(why) => write!(f, "tampered: {why}"),
            RejectReason::Unexpected(why) => write!(f, "unexpected: {why}"),
            RejectReason::NotAllowed(refusal) => write!(f, "not allowed: {refusal}"),
            RejectReason::WrongRecipient(refusal) => write!(f, "wrong recipient: {refusal}"),
        }
    }
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
    /// The relay refused us (`invite_invalid`, `resume_failed`, ...).
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

// One per session, never copied around: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Role {
    Host(HostState),
    Guest(GuestState),
}

/// One participant's session.
pub struct Session {
    room: wire::RoomId,
    keypair: SessionKeypair,
    role: Role,
    me: Option<MemberId>,
    peers: SmallMap<MemberId, Peer>,
    /// Seats whose peer left (newest last, at most [`MAX_DEPARTED`]): what
    /// they sent just before leaving can still be on its way, and is dropped
    /// quietly instead of being shown as a refused message.
    departed: Vec<MemberId>,
    sender_keys: SenderKeySchedule,
    next_chat_id: u64,
    ended: bool,
    /// Host: the name her guests see for her ("Frau Berger", "Anna"),
    /// sent to each guest in a `Hello` on its authenticated channel.
    own_name: Option<String>,
}

/// How many departed seats a session remembers (see `Session::departed`).
const MAX_DEPARTED: usize = 32;

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("peers", &self.peers.len())
            .finish_non_exhaustive()
    }
}

impl Session {
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
                next_resume_secret: guest.next_resume_secret.clone(),
            })),
        }
    }

    /// The message that takes our seat again on a new relay connection (the
    /// socket dropped; the session and its keys are intact). A guest names
    /// its next resume secret: keep [`Session::resume_state`] before sending,
    /// so that a reload meanwhile still has it.
    pub fn reconnect(&mut self, rng: &mut impl CryptoRngCore) -> Option<ClientMessage> {
        if self.ended {
            return None;
        }
        match &mut self.role {
            Role::Host(_) => self.create_room_message(),
            Role::Guest(guest) => {
                let member = self.me?;
                // The same next secret until the relay answers (a retry of a
                // resume whose answer was lost must name the same one).
                let next = guest
                    .next_resume_secret
                    .get_or_insert_with(|| wire::ResumeSecret::generate(rng))
                    .hash();
                Some(ClientMessage::Resume {
                    v: wire::PROTOCOL_VERSION,
                    room: self.room,
                    member,
                    resume_secret: guest.resume_secret.clone(),
                    next_resume_hash: next,
                })
            }
        }
    }

    /// Host: the `create_room` that creates or takes back our room (first
    /// connection, reconnect, reload), with a planned session's window.
    pub(super) fn create_room_message(&self) -> Option<ClientMessage> {
        let Role::Host(host) = &self.role else {
            return None;
        };
        Some(ClientMessage::CreateRoom {
            v: wire::PROTOCOL_VERSION,
            room: self.room,
            host_token: host.secret.host_token(),
            counsellor: host.counsellor.clone(),
            keep_until: host.keep_until,
        })
    }

    /// The relay answered our `resume` (or a knock): the secret it used up
    /// is gone, the next one is the current one.
    fn resume_answered(&mut self) {
        if let Role::Guest(guest) = &mut self.role
            && let Some(next) = guest.next_resume_secret.take()
        {
            guest.resume_secret = next;
        }
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
            peers: SmallMap::new(),
            departed: Vec::new(),
            sender_keys,
            next_chat_id: 1,
            ended: false,
            own_name: None,
        }
    }

    /// Host: the name her guests see for her (empty: none; guests then say
    /// "Beratung"). Sent now to every guest with a channel, and to each
    /// guest whose channel is secured later. Guests take a name only from
    /// the counsellor's own channel (see `Event::CounsellorNamed`).
    pub fn set_own_name(&mut self, name: &str) -> Result<Vec<Effect>, SignalError> {
        let name = name.trim();
        if !self.is_host() || name.is_empty() {
            self.own_name = None;
            return Ok(Vec::new());
        }
        let hello = Signal::Hello {
            name: name.to_owned(),
            lang: None,
        };
        hello.validate()?;
        self.own_name = Some(name.to_owned());
        Ok(self.broadcast(&hello))
    }

    /// The room id the relay knows this session by.
    pub fn room(&self) -> wire::RoomId {
        self.room
    }

    /// Whether we are the counsellor.
    pub fn is_host(&self) -> bool {
        matches!(self.role, Role::Host(_))
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
                resumed,
                ..
            } => {
                self.me = Some(member);
                let mut effects = vec![Effect::Event(Event::RoomReady)];
                if !resumed {
                    // A new room (the relay restarted, or forgot the room):
                    // our open links work again only once registered again.
                    effects.extend(self.open_invite_messages().into_iter().map(Effect::Send));
                }
                // Who is admitted is the counsellor's own record, not this
                // list: a seat listed here that she did not admit knocks in
                // the lobby again, and a seat she turned away stays away.
                for guest in members.iter().chain(lobby.iter()) {
                    effects.extend(self.ask_to_rejoin(*guest));
                }
                effects
            }
            ServerMessage::InviteAdded {
                token_hash,
                ttl_secs,
                ..
            } => self.invite_valid(token_hash, ttl_secs),
            ServerMessage::Waiting { member, host, .. } => {
                self.me = Some(member);
                self.resume_answered();
                let mut effects = self.seat_taken(host);
                effects.push(Effect::Event(Event::Waiting));
                effects
            }
            ServerMessage::Knocked {
                member, payload, ..
            } => self.on_knock(rng, member, &payload.0),
            ServerMessage::Admitted { member, host, .. } => {
                self.me = Some(member);
                self.resume_answered();
                self.seat_taken(host)
            }
            ServerMessage::Rejected { .. } => self.end(EndReason::Rejected),
            ServerMessage::Removed { .. } => self.end(EndReason::Removed),
            ServerMessage::SessionEnded { .. } => self.end(EndReason::EndedByHost),
            ServerMessage::MemberJoined { member, .. } => {
                let mut effects = Vec::new();
                if self.peers.contains_key(&member) {
                    effects.push(Effect::Event(Event::PeerBack { member }));
                }
                effects.extend(self.on_member_joined(member));
                effects
            }
            ServerMessage::MemberAway { member, .. } => {
                vec![Effect::Event(Event::PeerAway { member })]
            }
            ServerMessage::MemberLeft { member, .. } => {
                let mut knocked = false;
                if let Role::Host(host) = &mut self.role {
                    knocked = host.lobby.remove(&member).is_some();
                    host.admitting.remove(&member);
                    host.renewals.remove(&member);
                    host.asked.remove(&member);
                    host.used.remove(&member);
                    host.admitted.remove(&member);
                }
                let effects = self.forget_peer(rng, member);
                // A guest who leaves the waiting room was never a peer: the
                // counsellor still has to learn that her knock is gone.
                if effects.is_empty() && knocked {
                    vec![Effect::Event(Event::PeerLeft { member })]
                } else {
                    effects
                }
            }
            ServerMessage::Deliver { from, payload, .. } => self.on_deliver(rng, from, &payload.0),
            ServerMessage::IceServers { servers, .. } => {
                vec![Effect::Event(Event::IceServers(servers))]
            }
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

    fn on_deliver(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        payload: &[u8],
    ) -> Vec<Effect> {
        let me = if self.is_host() {
            Receiver::Counsellor
        } else {
            Receiver::Guest
        };
        // The payload gate: which formats our role accepts at all. The
        // handlers check the state (which seat, which handshake step).
        let kind = match authority::check_payload(me, payload) {
            Ok(Some(kind)) => kind,
            Ok(None) => {
                return vec![Effect::Event(Event::Rejected {
                    member: Some(from),
                    reason: RejectReason::Unexpected("unknown message type"),
                })];
            }
            Err(refusal) => {
                return vec![Effect::Event(Event::Rejected {
                    member: Some(from),
                    reason: RejectReason::WrongRecipient(refusal),
                })];
            }
        };
        match kind {
            PayloadKind::Reveal => self.guest_on_reveal(rng, from, payload),
            PayloadKind::RevealAndConfirm => self.host_on_reveal(rng, from, payload),
            PayloadKind::Confirm => self.guest_on_confirm(rng, from, payload),
            PayloadKind::Envelope => self.on_envelope(rng, from, payload),
            PayloadKind::PeerConfirm => self.on_peer_confirm(rng, from, payload.to_vec()),
            PayloadKind::KnockAgain => {
                self.host_on_knock_again(rng, from, payload.get(1..).unwrap_or_default())
            }
            PayloadKind::RejoinRequest => self.guest_on_rejoin_request(rng, from),
        }
    }

    /// Someone's connection came (back). A guest whose knock is unanswered
    /// re-sends it to a returning host (the relay also hands its kept copy
    /// over; the host takes the same knock once); a host asks a returning guest it has no keys with to
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

    fn tampered(member: MemberId, what: impl std::fmt::Display) -> Vec<Effect> {
        vec![Effect::Event(Event::Rejected {
            member: Some(member),
            reason: RejectReason::Tampered(what.to_string()),
        })]
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
        if let (true, Some(own)) = (self.is_host(), self.own_name.clone()) {
            let hello = Signal::Hello {
                name: own,
                lang: None,
            };
            effects.extend(self.send_rtc(member, &hello));
        }
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
        if self.departed.len() == MAX_DEPARTED {
            self.departed.remove(0);
        }
        self.departed.push(member);
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
        if let Role::Host(host) = &self.role
            && host.asked.contains(&from)
            && !self.peers.contains_key(&from)
        {
            // We reloaded and asked this seat to rejoin: what it still sends
            // on the old channel (chat, its notice of our request) cannot be
            // read and is expected. Not a refusal worth showing.
            return Vec::new();
        }
        if self.departed.contains(&from) && !self.peers.contains_key(&from) {
            // Sent before its sender left (its `Bye` or the counsellor's
            // roster overtook it): nothing to read, nothing to warn about.
            return Vec::new();
        }
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
            Signal::RejoinReceived { knock } => self.on_rejoin_received(from, knock.0),
            // The counsellor's name, only from her own channel: the relay
            // and other guests cannot set what a guest calls her.
            Signal::Hello { name, .. } if sender == Sender::Counsellor => {
                if let Some(peer) = self.peers.get_mut(&from) {
                    peer.name = Some(name.clone());
                }
                vec![Effect::Event(Event::CounsellorNamed { name })]
            }
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
}

#[cfg(test)]
mod tests;
