//! Who may send which signal: the one gate every incoming envelope passes.
//!
//! The sender of an envelope is what the *channel* it opened on
//! authenticates, never what the relay says: a guest's channel with the
//! counsellor comes from the PSK-bound handshake (its peer is the host's
//! participant id the guest's [`crate::group::GuestView`] was built with),
//! a guest-to-guest channel from a peer link the counsellor vouched for, and
//! the counsellor's channel with a guest from the handshake it answered.
//! The relay's member ids only route.
//!
//! [`check`] is the table in docs/PROTOCOL.md, "Who may send what"; the
//! negative test in `tests/tests/session_authority.rs` loops over
//! [`SignalKind::ALL`] × [`Sender::ALL`].
//!
//! One level down, every relay `deliver` first passes [`check_payload`]:
//! which opaque payload formats (handshake messages, knocks again, rejoin
//! requests, envelopes, peer confirmations) our role accepts at all. The
//! handlers then check the state (which seat, which handshake step).

use crate::signal::Signal;

/// The authenticated role of an envelope's sender, from the receiver's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sender {
    /// To a guest: the counsellor (the channel of the guest's handshake with the host).
    Counsellor,
    /// To the counsellor: a guest (the channel of the handshake the host answered).
    Guest,
    /// To a guest: another guest (a peer channel from the counsellor's introduction).
    PeerGuest,
}

impl Sender {
    /// Every sender role, for exhaustive tests.
    pub const ALL: [Sender; 3] = [Sender::Counsellor, Sender::Guest, Sender::PeerGuest];
}

/// A signal's type without its content; also the tag `t` the signal reader
/// (`signal::flat`) reads, so the two cannot drift apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(test, derive(serde::Deserialize))]
pub enum SignalKind {
    Hello,
    Offer,
    Answer,
    Ice,
    IceRestart,
    Chat,
    SenderKey,
    Introduce,
    Members,
    MembersAck,
    RejoinReceived,
    Bye,
    EndSession,
    Remove,
}

impl SignalKind {
    /// Every signal type, for exhaustive tests.
    pub const ALL: [SignalKind; 14] = [
        SignalKind::Hello,
        SignalKind::Offer,
        SignalKind::Answer,
        SignalKind::Ice,
        SignalKind::IceRestart,
        SignalKind::Chat,
        SignalKind::SenderKey,
        SignalKind::Introduce,
        SignalKind::Members,
        SignalKind::MembersAck,
        SignalKind::RejoinReceived,
        SignalKind::Bye,
        SignalKind::EndSession,
        SignalKind::Remove,
    ];

    /// The tag `t` of this type on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::Hello => "Hello",
            SignalKind::Offer => "Offer",
            SignalKind::Answer => "Answer",
            SignalKind::Ice => "Ice",
            SignalKind::IceRestart => "IceRestart",
            SignalKind::Chat => "Chat",
            SignalKind::SenderKey => "SenderKey",
            SignalKind::Introduce => "Introduce",
            SignalKind::Members => "Members",
            SignalKind::MembersAck => "MembersAck",
            SignalKind::RejoinReceived => "RejoinReceived",
            SignalKind::Bye => "Bye",
            SignalKind::EndSession => "EndSession",
            SignalKind::Remove => "Remove",
        }
    }

    /// The type whose tag is `name`.
    pub fn from_name(name: &str) -> Option<SignalKind> {
        SignalKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }

    /// The type of `signal`.
    pub fn of(signal: &Signal) -> SignalKind {
        match signal {
            Signal::Hello { .. } => SignalKind::Hello,
            Signal::Offer { .. } => SignalKind::Offer,
            Signal::Answer { .. } => SignalKind::Answer,
            Signal::Ice { .. } => SignalKind::Ice,
            Signal::IceRestart {} => SignalKind::IceRestart,
            Signal::Chat { .. } => SignalKind::Chat,
            Signal::SenderKey { .. } => SignalKind::SenderKey,
            Signal::Introduce { .. } => SignalKind::Introduce,
            Signal::Members { .. } => SignalKind::Members,
            Signal::MembersAck { .. } => SignalKind::MembersAck,
            Signal::RejoinReceived { .. } => SignalKind::RejoinReceived,
            Signal::Bye {} => SignalKind::Bye,
            Signal::EndSession {} => SignalKind::EndSession,
            Signal::Remove {} => SignalKind::Remove,
        }
    }
}

const ANYONE: &[Sender] = &[Sender::Counsellor, Sender::Guest, Sender::PeerGuest];
const COUNSELLOR: &[Sender] = &[Sender::Counsellor];
const GUEST: &[Sender] = &[Sender::Guest];

/// Who may send `kind`: the table itself.
pub const fn expected(kind: SignalKind) -> &'static [Sender] {
    match kind {
        // Between any two authenticated participants.
        SignalKind::Hello
        | SignalKind::Offer
        | SignalKind::Answer
        | SignalKind::Ice
        | SignalKind::IceRestart
        | SignalKind::Chat
        | SignalKind::SenderKey
        | SignalKind::Bye => ANYONE,
        // The counsellor's decisions: only on the channel of the guest's own
        // handshake with the host.
        SignalKind::Introduce
        | SignalKind::Members
        | SignalKind::EndSession
        | SignalKind::Remove => COUNSELLOR,
        // A guest's answers to the counsellor: to her only.
        SignalKind::MembersAck | SignalKind::RejoinReceived => GUEST,
    }
}

/// A signal refused by the gate: what arrived, from whom, and who may send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub signal: SignalKind,
    pub got: Sender,
    pub expected: &'static [Sender],
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} from {:?}; only {:?} may send it",
            self.signal, self.got, self.expected
        )
    }
}

/// The gate: `Ok(kind)` when `from` may send `signal`, otherwise the one
/// refusal with expected and got.
pub fn check(from: Sender, signal: &Signal) -> Result<SignalKind, Refusal> {
    allowed(from, SignalKind::of(signal))
}

/// [`check`] on the type alone.
pub fn allowed(from: Sender, kind: SignalKind) -> Result<SignalKind, Refusal> {
    let expected = expected(kind);
    if expected.contains(&from) {
        Ok(kind)
    } else {
        Err(Refusal {
            signal: kind,
            got: from,
            expected,
        })
    }
}

/// Our own role, for the payload table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Receiver {
    /// The counsellor's session.
    Counsellor,
    /// A guest's session.
    Guest,
}

impl Receiver {
    /// Both roles, for exhaustive tests.
    pub const ALL: [Receiver; 2] = [Receiver::Counsellor, Receiver::Guest];
}

/// The format of an opaque payload, named by its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PayloadKind {
    /// `0x12` handshake m2 (responder's reveal).
    Reveal,
    /// `0x13` handshake m3 (initiator's reveal and confirmation).
    RevealAndConfirm,
    /// `0x14` handshake m4 (responder's confirmation).
    Confirm,
    /// `0x15` a knock sent with `send` (again, or after a reload).
    KnockAgain,
    /// `0x16` the host's rejoin request (exactly one byte).
    RejoinRequest,
    /// `0x20` an envelope on an authenticated channel.
    Envelope,
    /// `0x30` a guest-to-guest peer confirmation.
    PeerConfirm,
}

impl PayloadKind {
    /// Every format, for exhaustive tests.
    pub const ALL: [PayloadKind; 7] = [
        PayloadKind::Reveal,
        PayloadKind::RevealAndConfirm,
        PayloadKind::Confirm,
        PayloadKind::KnockAgain,
        PayloadKind::RejoinRequest,
        PayloadKind::Envelope,
        PayloadKind::PeerConfirm,
    ];

    /// The format of `payload`, `None` for an unknown one.
    pub fn of(payload: &[u8]) -> Option<PayloadKind> {
        use crate::handshake::msg_type;
        match *payload.first()? {
            msg_type::REVEAL_R => Some(PayloadKind::Reveal),
            msg_type::REVEAL_I => Some(PayloadKind::RevealAndConfirm),
            msg_type::CONFIRM_R => Some(PayloadKind::Confirm),
            crate::session::KNOCK_AGAIN => Some(PayloadKind::KnockAgain),
            crate::session::REJOIN_REQUEST if payload.len() == 1 => {
                Some(PayloadKind::RejoinRequest)
            }
            crate::envelope::ENVELOPE_FORMAT => Some(PayloadKind::Envelope),
            crate::group::PEER_CONFIRM_FORMAT => Some(PayloadKind::PeerConfirm),
            _ => None,
        }
    }
}

const COUNSELLOR_ONLY: &[Receiver] = &[Receiver::Counsellor];
const GUEST_ONLY: &[Receiver] = &[Receiver::Guest];
const BOTH: &[Receiver] = &[Receiver::Counsellor, Receiver::Guest];

/// Who may receive `kind`: the payload table.
pub const fn receivers(kind: PayloadKind) -> &'static [Receiver] {
    match kind {
        // The host answers knocks and reveals; it initiates nothing.
        PayloadKind::RevealAndConfirm | PayloadKind::KnockAgain => COUNSELLOR_ONLY,
        // The guest is the handshake's initiator and follows the host's requests.
        PayloadKind::Reveal
        | PayloadKind::Confirm
        | PayloadKind::RejoinRequest
        | PayloadKind::PeerConfirm => GUEST_ONLY,
        PayloadKind::Envelope => BOTH,
    }
}

/// A payload our role never accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadRefusal {
    pub payload: PayloadKind,
    pub got: Receiver,
    pub expected: &'static [Receiver],
}

impl std::fmt::Display for PayloadRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?} sent to the {:?}; only {:?} accept it",
            self.payload, self.got, self.expected
        )
    }
}

/// The payload gate: `Ok(Some(kind))` when `me` accepts this format,
/// `Ok(None)` for an unknown format, otherwise the refusal.
pub fn check_payload(me: Receiver, payload: &[u8]) -> Result<Option<PayloadKind>, PayloadRefusal> {
    let Some(kind) = PayloadKind::of(payload) else {
        return Ok(None);
    };
    let expected = receivers(kind);
    if expected.contains(&me) {
        Ok(Some(kind))
    } else {
        Err(PayloadRefusal {
            payload: kind,
            got: me,
            expected,
        })
    }
}
