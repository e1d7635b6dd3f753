use super::*;
use crate::group::PEER_CONFIRM_FORMAT;
use rand_core::OsRng;

fn waiting_guest() -> Session {
    let (mut host, _) = Session::new_host(&mut OsRng, wire::CounsellorToken([0; 48]));
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
    let (mut host, _) = Session::new_host(&mut OsRng, wire::CounsellorToken([0; 48]));
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

#[test]
fn a_guest_who_leaves_the_waiting_room_is_no_longer_knocking() {
    let (mut host, _) = Session::new_host(&mut OsRng, wire::CounsellorToken([0; 48]));
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
    let Some((_, url, _)) = host.create_invite(&mut OsRng, "https://b.example") else {
        panic!("an invite");
    };
    let Ok(invite) = Invite::parse(&url) else {
        panic!("the link parses");
    };
    let Ok((_, ClientMessage::Knock { payload, .. }, _)) =
        Session::new_guest(&mut OsRng, invite, "Mira")
    else {
        panic!("a knock");
    };
    let effects = host.handle(
        &mut OsRng,
        ServerMessage::Knocked {
            room,
            member: MemberId(2),
            payload,
        },
    );
    assert!(matches!(
        effects.as_slice(),
        [Effect::Event(Event::Knocked {
            member: MemberId(2),
            ..
        })]
    ));
    let Role::Host(state) = &host.role else {
        panic!("the host");
    };
    assert!(state.lobby.contains_key(&MemberId(2)), "she is knocking");
    // She leaves the waiting room before being let in: never a peer, yet the
    // counsellor must learn that the knock is gone.
    let effects = host.handle(
        &mut OsRng,
        ServerMessage::MemberLeft {
            room,
            member: MemberId(2),
        },
    );
    assert!(matches!(
        effects.as_slice(),
        [Effect::Event(Event::PeerLeft {
            member: MemberId(2)
        })]
    ));
    let Role::Host(state) = &host.role else {
        panic!("the host");
    };
    assert!(state.lobby.is_empty());
}

/// A planned session as the counsellor's tab opens it (see `crate::planned`).
fn planned_host() -> (Session, ClientMessage, crate::planned::PlannedSession) {
    let appointment = crate::appointment::Appointment::new(1_796_216_400, 900, 3000)
        .unwrap_or_else(|_| panic!("a valid appointment"));
    let Ok(planned) = crate::planned::PlannedSession::new(&mut OsRng, appointment, "für M.")
    else {
        panic!("a valid label");
    };
    let (host, create) = Session::restore_host(
        &mut OsRng,
        planned.host_resume(),
        wire::CounsellorToken([0; 48]),
    );
    (host, create, planned)
}

fn room_created(room: wire::RoomId, resumed: bool, lobby: Vec<MemberId>) -> ServerMessage {
    ServerMessage::RoomCreated {
        room,
        member: MemberId(1),
        resumed,
        members: Vec::new(),
        lobby,
    }
}

#[test]
fn a_planned_session_keeps_its_room_until_the_window_closes() {
    let (mut host, create, planned) = planned_host();
    let closes = planned.appointment().closes();
    assert!(matches!(
        create,
        ClientMessage::CreateRoom { keep_until: Some(k), .. } if k == closes
    ));
    assert!(matches!(
        host.reconnect(&mut OsRng),
        Some(ClientMessage::CreateRoom { keep_until: Some(k), .. }) if k == closes
    ));
    // An immediate session keeps nothing.
    let (_, create) = Session::new_host(&mut OsRng, wire::CounsellorToken([0; 48]));
    assert!(matches!(
        create,
        ClientMessage::CreateRoom {
            keep_until: None,
            ..
        }
    ));
}

#[test]
fn a_new_room_gets_the_open_links_again_with_their_window() {
    let (mut host, _, planned) = planned_host();
    let room = host.room();
    let a = planned.appointment();
    // The relay still had the room: nothing to register.
    let effects = host.handle(&mut OsRng, room_created(room, true, Vec::new()));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Send(_))));
    // The relay restarted: the link is registered again, with its window.
    let effects = host.handle(&mut OsRng, room_created(room, false, Vec::new()));
    let sent: Vec<&ClientMessage> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send(m) => Some(m),
            _ => None,
        })
        .collect();
    assert!(matches!(
        sent.as_slice(),
        [ClientMessage::AddInvite { opens: Some(o), closes: Some(c), ttl_secs: None, .. }]
            if (*o, *c) == (a.opens(), a.closes())
    ));
}

#[test]
fn a_knock_the_relay_kept_is_taken_once_and_never_refused_when_handed_over_again() {
    let (mut host, _, planned) = planned_host();
    let room = host.room();
    let Ok(invite) = Invite::parse(&planned.link("https://b.example")) else {
        panic!("the link parses");
    };
    let Ok((_, ClientMessage::Knock { payload, .. }, _)) =
        Session::new_guest(&mut OsRng, invite, "Mira")
    else {
        panic!("a knock");
    };
    host.handle(&mut OsRng, room_created(room, true, vec![MemberId(2)]));
    let knocked = || ServerMessage::Knocked {
        room,
        member: MemberId(2),
        payload: payload.clone(),
    };
    let effects = host.handle(&mut OsRng, knocked());
    assert!(matches!(
        effects.as_slice(),
        [Effect::Event(Event::Knocked {
            member: MemberId(2),
            invite: 1,
            ..
        })]
    ));
    // The same knock again (the relay hands it over again, or the guest
    // re-sends it when she sees the counsellor arrive): nothing new, and
    // above all no rejection.
    assert!(host.handle(&mut OsRng, knocked()).is_empty());
    let mut again = vec![KNOCK_AGAIN];
    again.extend_from_slice(&payload.0);
    assert!(
        host.handle(
            &mut OsRng,
            ServerMessage::Deliver {
                room,
                from: MemberId(2),
                payload: Blob(again),
            }
        )
        .is_empty()
    );

    // After the counsellor's reload the kept knock arrives once more: the
    // seat is known (its invite is used), so it is listed again, not refused.
    let Some(stored) = host.resume_state() else {
        panic!("a snapshot");
    };
    let Resume::Host(stored) = stored else {
        panic!("a host snapshot");
    };
    let (mut reloaded, _) =
        Session::restore_host(&mut OsRng, stored, wire::CounsellorToken([0; 48]));
    reloaded.handle(&mut OsRng, room_created(room, true, vec![MemberId(2)]));
    let effects = reloaded.handle(&mut OsRng, knocked());
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::Send(ClientMessage::Reject { .. }))),
        "{effects:?}"
    );
    assert!(
        effects.iter().any(|e| matches!(
            e,
            Effect::Event(Event::Knocked {
                member: MemberId(2),
                ..
            })
        )),
        "{effects:?}"
    );
}

#[test]
fn the_relays_answer_to_an_invite_says_which_link_works_how_long() {
    let (mut host, _) = Session::new_host(&mut OsRng, wire::CounsellorToken([0; 48]));
    let room = host.room();
    let Some((id, url, _)) = host.create_invite(&mut OsRng, "https://b.example") else {
        panic!("an invite");
    };
    let Ok(invite) = Invite::parse(&url) else {
        panic!("the link parses");
    };
    let added = |token_hash| ServerMessage::InviteAdded {
        room,
        token_hash,
        ttl_secs: 86_400,
    };
    let effects = host.handle(&mut OsRng, added(invite.token().hash()));
    assert!(matches!(
        effects.as_slice(),
        [Effect::Event(Event::InviteValid { invite, ttl_secs: 86_400 })] if *invite == id
    ));
    // An answer about a hash that is none of our links says nothing.
    let other = wire::TokenHash([9; 32]);
    assert!(host.handle(&mut OsRng, added(other)).is_empty());
}

#[test]
fn a_refusal_reads_in_words() {
    assert_eq!(
        RejectReason::Tampered("replayed envelope".into()).to_string(),
        "tampered: replayed envelope"
    );
    assert_eq!(
        RejectReason::Unexpected("knock in a call").to_string(),
        "unexpected: knock in a call"
    );
    let refusal = authority::allowed(Sender::Guest, authority::SignalKind::Remove);
    let Err(refusal) = refusal else {
        panic!("a guest may not remove");
    };
    assert_eq!(
        RejectReason::NotAllowed(refusal).to_string(),
        format!("not allowed: {refusal}")
    );
}
