//! The counsellor's side: invites, knocks and the lobby, admission and
//! rejection, renewals (with their limits), confirming a guest's code into
//! the roster, roster acknowledgements, removal and ending.
//!
//! Spec: docs/PROTOCOL.md, "Session" and "Reconnecting and rejoining after a reload".

use super::*;

/// Host: a knock waiting for the counsellor's decision, with the handshake already answered.
pub(super) struct LobbyGuest {
    pub(super) name: Option<String>,
    pub(super) responder: ResponderAwaitReveal,
    pub(super) reveal: Vec<u8>,
    pub(super) m1: Vec<u8>,
}

/// Host: a guest that was admitted and is finishing the handshake.
pub(super) struct Admitting {
    pub(super) name: Option<String>,
    pub(super) responder: ResponderAwaitReveal,
    /// The knock's m1 this answers (a duplicate of it is not answered again).
    pub(super) m1: Vec<u8>,
    /// A handshake again after a reload (not the first admission).
    pub(super) renewed: bool,
}

pub(super) struct HostState {
    pub(super) secret: SessionSecret,
    /// Her sign-in, sent again with every `create_room` (also after a reconnect).
    pub(super) counsellor: wire::CounsellorToken,
    /// Open invites with the id `create_invite` returned for them.
    pub(super) invites: Vec<(u32, Invite)>,
    /// Invites already knocked with, by the seat that used them: their PSK
    /// binds every later handshake with that guest (after a reload).
    pub(super) used: SmallMap<MemberId, (u32, Invite)>,
    /// Seats the counsellor admitted (her `admit`, or her snapshot after a
    /// reload). Never taken from the relay: `room_created.members` is a hint.
    pub(super) admitted: SmallSet<MemberId>,
    /// Seats the counsellor turned away. They stay turned away: a knock from
    /// one is refused whatever the relay says about it.
    pub(super) rejected: SmallSet<MemberId>,
    pub(super) next_invite: u32,
    pub(super) lobby: SmallMap<MemberId, LobbyGuest>,
    pub(super) admitting: SmallMap<MemberId, Admitting>,
    /// Renewals the counsellor did not start, waiting for her decision
    /// (m2 computed, not sent).
    pub(super) renewals: SmallMap<MemberId, LobbyGuest>,
    /// Seats we asked to rejoin ([`REJOIN_REQUEST`], after our reload): the
    /// first renewal from each is answered without asking her.
    pub(super) asked: SmallSet<MemberId>,
    /// Seats that told us, on their working channel, that a rejoin request
    /// reached them: we never sent it (we hold their keys), so their next
    /// knock again is not a renewal anyone wants.
    /// (The SHA-256 of the knock they named.)
    pub(super) forged_rejoin: SmallMap<MemberId, [u8; 32]>,
    /// Renewal handshakes per seat answered with m2 and then abandoned or failed.
    pub(super) abandoned: SmallMap<MemberId, u32>,
    /// Secured guests whose safety code the counsellor has not confirmed
    /// yet (public key and name, for the roster). They talk with her only:
    /// no introductions, no roster, no other guest's key until she does.
    pub(super) unconfirmed: SmallMap<MemberId, ([u8; 32], Option<String>)>,
    /// Roster epochs sent and not yet acknowledged, per guest seat.
    pub(super) acks: SmallMap<MemberId, PendingAck>,
    pub(super) roster: HostRoster,
    /// A planned session's room is kept by the relay until its window
    /// closes, also while her tab is closed (`create_room.keep_until`).
    pub(super) keep_until: Option<u64>,
}

/// Host: a `Members` a guest has not acknowledged yet.
pub(super) struct PendingAck {
    pub(super) epoch: u64,
    /// `check_roster_acks` calls since it was sent.
    pub(super) checks: u8,
    pub(super) warned: bool,
}

impl Session {
    /// The counsellor starts a new session. Returns the session and the
    /// message that creates the room on the relay (with her sign-in, without
    /// which the relay creates no room).
    pub fn new_host(
        rng: &mut impl CryptoRngCore,
        counsellor: wire::CounsellorToken,
    ) -> (Session, ClientMessage) {
        let secret = SessionSecret::generate(rng);
        Self::resume_host(rng, secret, counsellor)
    }

    /// The counsellor's session after a page reload: same room, same invites,
    /// new keys. Every guest is asked to run the handshake again once the
    /// relay confirms the room (`room_created`).
    pub fn restore_host(
        rng: &mut impl CryptoRngCore,
        stored: HostResume,
        counsellor: wire::CounsellorToken,
    ) -> (Session, ClientMessage) {
        let HostResume {
            secret,
            next_invite,
            invites,
            admitted,
            rejected,
        } = stored;
        let (mut session, mut create) = Self::resume_host(rng, secret, counsellor);
        if let Role::Host(host) = &mut session.role {
            host.next_invite = next_invite.max(1);
            host.admitted = admitted.into_iter().collect();
            host.rejected = rejected.into_iter().collect();
            host.keep_until = invites
                .iter()
                .filter_map(|stored| stored.invite.appointment())
                .map(|appointment| appointment.closes())
                .max();
            for stored in invites {
                match stored.member {
                    Some(member) => {
                        host.used.insert(member, (stored.id, stored.invite));
                    }
                    None => host.invites.push((stored.id, stored.invite)),
                }
            }
        }
        // The room is created again with the window of a planned session.
        if let Some(message) = session.create_room_message() {
            create = message;
        }
        (session, create)
    }

    /// The counsellor's session with a known secret and no invites yet.
    pub(super) fn resume_host(
        rng: &mut impl CryptoRngCore,
        secret: SessionSecret,
        counsellor: wire::CounsellorToken,
    ) -> (Session, ClientMessage) {
        let keypair = SessionKeypair::generate(rng);
        let room = secret.room_id();
        let roster = HostRoster::new(rng, &keypair);
        let sender_keys = SenderKeySchedule::new(rng, keypair.id(), DEFAULT_SUITE);
        let create = ClientMessage::CreateRoom {
            v: wire::PROTOCOL_VERSION,
            room,
            host_token: secret.host_token(),
            counsellor: counsellor.clone(),
            keep_until: None,
        };
        let host = HostState {
            secret,
            counsellor,
            invites: Vec::new(),
            used: SmallMap::new(),
            admitted: SmallSet::new(),
            rejected: SmallSet::new(),
            next_invite: 1,
            lobby: SmallMap::new(),
            admitting: SmallMap::new(),
            renewals: SmallMap::new(),
            asked: SmallSet::new(),
            forged_rejoin: SmallMap::new(),
            abandoned: SmallMap::new(),
            unconfirmed: SmallMap::new(),
            acks: SmallMap::new(),
            roster,
            keep_until: None,
        };
        (
            Self::with_role(room, keypair, Role::Host(host), sender_keys),
            create,
        )
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
        self.create_invite_addressed(rng, origin, Address::Formal)
    }

    /// Host: [`Session::create_invite`] whose link addresses the guest as
    /// `address` ("du" or "Sie", §1 "Invite links").
    pub fn create_invite_addressed(
        &mut self,
        rng: &mut impl CryptoRngCore,
        origin: &str,
        address: Address,
    ) -> Option<(u32, String, ClientMessage)> {
        let Role::Host(host) = &mut self.role else {
            return None;
        };
        if host.invites.len() + host.lobby.len() + host.admitting.len() + self.peers.len()
            >= MAX_GUESTS
        {
            return None;
        }
        let invite = host.secret.new_invite(rng).with_address(address);
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
                opens: None,
                closes: None,
            },
        ))
    }

    /// Host: every open invite now addresses its guest as `address`; the new
    /// link of each, by invite id. The marker is no part of any secret, so
    /// what the relay registered stays valid (a copy of the old spelling
    /// still gets in, in the old form of address).
    pub fn set_invite_address(&mut self, origin: &str, address: Address) -> Vec<(u32, String)> {
        let Role::Host(host) = &mut self.role else {
            return Vec::new();
        };
        host.invites
            .iter_mut()
            .map(|(id, invite)| {
                *invite = invite.clone().with_address(address);
                (*id, invite.to_url(origin).to_string())
            })
            .collect()
    }

    /// Host: `add_invite` for every open invite, a planned session's with
    /// its window (the relay lets the link in only inside it).
    pub(super) fn open_invite_messages(&self) -> Vec<ClientMessage> {
        let Role::Host(host) = &self.role else {
            return Vec::new();
        };
        host.invites
            .iter()
            .map(|(_, invite)| {
                let window = invite.appointment();
                ClientMessage::AddInvite {
                    room: self.room,
                    token_hash: invite.token().hash(),
                    ttl_secs: None,
                    opens: window.map(|a| a.opens()),
                    closes: window.map(|a| a.closes()),
                }
            })
            .collect()
    }

    /// Host: which of our open invites the relay registered (by its hash).
    pub(super) fn invite_valid(&self, token_hash: wire::TokenHash, ttl_secs: u32) -> Vec<Effect> {
        let Role::Host(host) = &self.role else {
            return Vec::new();
        };
        host.invites
            .iter()
            .find(|(_, invite)| invite.token().hash() == token_hash)
            .map(|(id, _)| {
                vec![Effect::Event(Event::InviteValid {
                    invite: *id,
                    ttl_secs,
                })]
            })
            .unwrap_or_default()
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

    pub(super) fn on_knock(
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
        if host.used.contains_key(&member) {
            // A seat whose knock we already know: the relay hands its knock
            // over again (it keeps knocks for a host who arrives later or
            // reloads). Bound to that seat's invite, like a knock by `send`.
            return self.host_on_knock_again(rng, member, payload);
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

    /// Host: send [`REJOIN_REQUEST`] to a guest whose invite we know but with
    /// whom we hold no keys and no handshake in progress (we reloaded).
    pub(super) fn ask_to_rejoin(&mut self, member: MemberId) -> Vec<Effect> {
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
    pub(super) fn host_on_knock_again(
        &mut self,
        rng: &mut impl CryptoRngCore,
        from: MemberId,
        payload: &[u8],
    ) -> Vec<Effect> {
        let keypair = &self.keypair;
        let has_channel = self.peers.contains_key(&from);
        let Role::Host(host) = &mut self.role else {
            return Self::tampered(from, "knock to a guest");
        };
        if has_channel && host.forged_rejoin.get(&from) == Some(&knock_digest(payload)) {
            // The knock the guest announced on its working channel as the
            // answer to a rejoin request we never sent: nobody asks the
            // counsellor, the old channel goes on (already reported).
            host.forged_rejoin.remove(&from);
            return Vec::new();
        }
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
        if host
            .lobby
            .get(&from)
            .is_some_and(|waiting| waiting.m1 == knock.m1)
        {
            // The same knock from a guest still waiting (the relay's kept
            // copy and her own re-send): she is already listed.
            return Vec::new();
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
    pub(super) fn host_on_renewal(
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
            let count = host.abandoned.get_or_insert_with(from, || 0);
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

    pub(super) fn host_on_reveal(
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
        let renewal = admitting.renewed;
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
            Err(error) if renewal || self.peers.contains_key(&from) => {
                // A renewal failed: counted; the seat stays admitted (and
                // keeps its old channel, if any). Removing it would let
                // anyone with the link push a genuine guest out.
                let mut effects = Self::tampered(from, error);
                if let Role::Host(host) = &mut self.role {
                    let count = host.abandoned.get_or_insert_with(from, || 0);
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

    /// Host: a guest tells us, on its working channel, that a rejoin request
    /// reached it. We hold its keys, so we never sent one: the relay forged
    /// it. Its knock again that follows is dropped without asking the
    /// counsellor, and the forgery is shown like any refused message.
    pub(super) fn on_rejoin_received(&mut self, from: MemberId, knock: [u8; 32]) -> Vec<Effect> {
        let Role::Host(host) = &mut self.role else {
            return Vec::new();
        };
        host.forged_rejoin.insert(from, knock);
        Self::tampered(
            from,
            "a rejoin request the counsellor never sent reached this guest",
        )
    }

    /// Host: a guest applied the roster of `epoch`.
    pub(super) fn on_members_ack(&mut self, from: MemberId, epoch: u64) -> Vec<Effect> {
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
}
