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
