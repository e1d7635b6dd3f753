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

/// A signal's type without its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
    Bye,
    EndSession,
    Remove,
}

impl SignalKind {
    /// Every signal type, for exhaustive tests.
    pub const ALL: [SignalKind; 13] = [
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
        SignalKind::Bye,
        SignalKind::EndSession,
        SignalKind::Remove,
    ];

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
        // A guest's answer to the counsellor's roster: to her only.
        SignalKind::MembersAck => GUEST,
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
