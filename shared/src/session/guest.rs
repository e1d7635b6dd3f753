//! A guest's side: knocking, the handshake with the counsellor (and its
//! renewals after a reload on either side), the host seat, and following
//! the counsellor's roster.
//!
//! Spec: docs/PROTOCOL.md, "Session".

use super::*;
use crate::signal::PublicBytes;

pub(super) enum GuestHandshake {
    NotStarted(InitiatorAwaitReveal),
    AwaitConfirm(InitiatorAwaitConfirm),
    Done,
    Failed,
}

pub(super) struct GuestState {
    /// The link this guest came with: its PSK binds every handshake with the host.
    pub(super) invite: Invite,
    pub(super) name: String,
    pub(super) resume_secret: wire::ResumeSecret,
    /// The secret named in our last `resume` (by its hash), until the relay
    /// answers it: then it replaces `resume_secret` (each secret works once).
    pub(super) next_resume_secret: Option<wire::ResumeSecret>,
    /// The current handshake's knock, `KNOCK_AGAIN`-framed, for re-sending.
    pub(super) knock: Vec<u8>,
    /// After a reload: send `knock` once the relay gave the seat back.
    pub(super) knock_on_seat: bool,
    /// This session replaced one lost in a reload.
    pub(super) rejoined: bool,
    /// Renewal handshakes with the host abandoned (a new rejoin request
    /// while ours waited for m4) or failed; at [`MAX_ABANDONED_RENEWALS`]
    /// rejoin requests are refused.
    pub(super) abandoned: u32,
    pub(super) handshake: Option<GuestHandshake>,
    pub(super) host: Option<MemberId>,
    pub(super) view: Option<GuestView>,
    /// Peer channels to other guests, introduced by the host, awaiting the peer's confirmation.
    pub(super) links: SmallMap<MemberId, (PeerLink, Introduction)>,
    /// Confirmations that arrived before the host's introduction did.
    /// At most two per seat: a forged one cannot push out the genuine one.
    pub(super) early_confirms: SmallMap<MemberId, Vec<Vec<u8>>>,
}

impl Session {
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
            next_resume_secret,
        } = stored;
        let mut session = Self::guest(rng, invite, &name, resume_secret, true)?;
        session.me = Some(member);
        if let Role::Guest(guest) = &mut session.role {
            guest.next_resume_secret = next_resume_secret;
        }
        let message = session.reconnect(rng).ok_or(SignalError::KnockName)?;
        Ok((session, message))
    }

    pub(super) fn guest(
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
            next_resume_secret: None,
            knock,
            knock_on_seat: rejoined,
            rejoined,
            abandoned: 0,
            handshake: Some(GuestHandshake::NotStarted(initiator)),
            host: None,
            view: None,
            links: SmallMap::new(),
            early_confirms: SmallMap::new(),
        };
        Ok(Self::with_role(
            room,
            keypair,
            Role::Guest(guest),
            sender_keys,
        ))
    }

    /// A new handshake's first message inside a knock, `KNOCK_AGAIN`-framed.
    pub(super) fn start_knock(
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

    /// Guest: the relay gave us our seat (first admission, lobby, or again
    /// after a reload or a dropped socket).
    pub(super) fn seat_taken(&mut self, host: MemberId) -> Vec<Effect> {
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

    /// Guest: whether we hold a working channel with the counsellor (the
    /// peer our own handshake with the host authenticated).
    pub(super) fn host_channel_works(&self) -> bool {
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
    pub(super) fn guest_renewal_failed(
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
    pub(super) fn guest_on_rejoin_request(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
    ) -> Vec<Effect> {
        let has_channel = self.host_channel_works();
        let mut effects = self.guest_answer_rejoin(rng, from, has_channel);
        let knock_sent = effects.iter().any(|e| {
            matches!(e, Effect::Send(ClientMessage::Send { payload, .. })
                if payload.0.first() == Some(&KNOCK_AGAIN))
        });
        // Tell the counsellor first, over the channel that still works, which
        // knock follows: if she can read this she still holds our keys, so
        // she did not reload, the request is forged and she drops that knock
        // (a reloaded host cannot read it and ignores it).
        if has_channel
            && knock_sent
            && let Role::Guest(guest) = &self.role
        {
            let knock = PublicBytes(knock_digest(guest.knock.get(1..).unwrap_or_default()));
            let notice = self.send_rtc(from, &Signal::RejoinReceived { knock });
            effects.splice(0..0, notice);
        }
        effects
    }

    fn guest_answer_rejoin(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        has_channel: bool,
    ) -> Vec<Effect> {
        let room = self.room;
        let Role::Guest(guest) = &self.role else {
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
        let mut effects = Vec::new();
        let Role::Guest(guest) = &mut self.role else {
            return effects;
        };
        match guest.handshake {
            // Our knock is unanswered: the same one again (no new attempt).
            Some(GuestHandshake::NotStarted(_)) => {}
            // One handshake in flight: asking again abandons it (counted,
            // with or without an old channel: each abandoned handshake was
            // one try at a matching code for someone in the middle).
            Some(GuestHandshake::AwaitConfirm(_)) => {
                guest.abandoned = guest.abandoned.saturating_add(1);
                effects.extend(Self::tampered(from, "handshake with the host abandoned"));
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
            _ => {
                effects.extend(self.guest_restart_knock(rng, from));
                return effects;
            }
        }
        effects.push(Effect::Send(ClientMessage::Send {
            room,
            to: Some(from),
            payload: Blob(guest.knock.clone()),
        }));
        effects
    }

    /// Guest: a new handshake with the host (new m1, same PSK), sent as a
    /// knock again. The old channel, if any, stays until the new one is
    /// confirmed.
    pub(super) fn guest_restart_knock(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
    ) -> Vec<Effect> {
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

    pub(super) fn guest_on_reveal(
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

    pub(super) fn guest_on_confirm(
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

    pub(super) fn on_members(
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
            && members.iter().map(|m| m.id).collect::<SmallSet<_>>()
                == view.ids().into_iter().collect::<SmallSet<_>>()
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
