//! Group calls: host-vouched peer channels, mis-introductions, membership
//! and sender-key rotation.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns

use confide_shared::envelope::{Channel, ParticipantId};
use confide_shared::group::{
    GroupError, GuestView, HostRoster, Introduction, MembershipChange, PeerKeyIds, PeerLink,
    SenderKey, SenderKeySchedule,
};
use confide_shared::handshake::SessionKeypair;
use confide_shared::link::{RoomId, SessionSecret};
use confide_shared::signal::{Member, PublicBytes, SecretBytes, Signal};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

struct World {
    rng: ChaCha20Rng,
    room: RoomId,
    host: SessionKeypair,
    roster: HostRoster,
}

fn world(seed: u8) -> World {
    let mut rng = ChaCha20Rng::from_seed([seed; 32]);
    let room = SessionSecret::generate(&mut rng).room_id();
    let host = SessionKeypair::generate(&mut rng);
    let roster = HostRoster::new(&mut rng, &host);
    World {
        rng,
        room,
        host,
        roster,
    }
}

fn intro_for(out: &[confide_shared::group::Outgoing], to: ParticipantId) -> Introduction {
    let o = out
        .iter()
        .find(|o| o.to == to && matches!(o.signal, Signal::Introduce { .. }))
        .expect("introduction");
    // Signals travel as JSON inside envelopes: go through that too.
    let back = Signal::decode(&o.signal.encode().unwrap()).unwrap();
    Introduction::from_signal(&back).unwrap()
}

fn link(
    a: &SessionKeypair,
    ia: &Introduction,
    b: &SessionKeypair,
    ib: &Introduction,
    room: &RoomId,
) -> (Channel, Channel) {
    let (la, ca) = PeerLink::start(a, room, ia).unwrap();
    let (lb, cb) = PeerLink::start(b, room, ib).unwrap();
    (la.on_confirm(&cb).unwrap(), lb.on_confirm(&ca).unwrap())
}

#[test]
fn introduced_guests_get_a_working_channel() {
    let mut w = world(1);
    let a = SessionKeypair::generate(&mut w.rng);
    let b = SessionKeypair::generate(&mut w.rng);
    let out_a = w
        .roster
        .admit(&mut w.rng, a.public(), Some("Ann".into()))
        .unwrap();
    assert!(
        out_a
            .iter()
            .all(|o| !matches!(o.signal, Signal::Introduce { .. }))
    );
    let out_b = w
        .roster
        .admit(&mut w.rng, b.public(), Some("Bo".into()))
        .unwrap();
    let (ia, ib) = (intro_for(&out_b, a.id()), intro_for(&out_b, b.id()));
    assert_eq!(ia.peer.id, b.id());
    assert_eq!(ia.peer.name.as_deref(), Some("Bo"));
    assert_eq!(ib.peer_public, a.public());
    let (mut ca, mut cb) = link(&a, &ia, &b, &ib, &w.room);
    assert_eq!(ca.peer_id(), b.id());
    let e = ca.seal(b"hi B").unwrap();
    assert_eq!(cb.open(&e).unwrap(), b"hi B");
    let e = cb.seal(b"hi A").unwrap();
    assert_eq!(ca.open(&e).unwrap(), b"hi A");
    // Swap detection on the peer channel too.
    let e = ca.seal(b"x").unwrap();
    assert!(ca.open(&e).is_err());
    // Members announcements: every guest, epochs increase, host first.
    let members: Vec<_> = out_b
        .iter()
        .filter_map(|o| match &o.signal {
            Signal::Members { epoch, members } => Some((o.to, *epoch, members.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(members.len(), 2);
    assert!(
        members
            .iter()
            .all(|(_, e, m)| *e == 2 && m.len() == 3 && m[0].id == w.host.id())
    );
}

#[test]
fn mis_introduction_fails_visibly() {
    let mut w = world(2);
    let a = SessionKeypair::generate(&mut w.rng);
    let b = SessionKeypair::generate(&mut w.rng);
    let mallory = SessionKeypair::generate(&mut w.rng);
    w.roster.admit(&mut w.rng, a.public(), None).unwrap();
    let out = w.roster.admit(&mut w.rng, b.public(), None).unwrap();
    let ib = intro_for(&out, b.id());
    // A is told that Mallory is B (a wrong or malicious introduction).
    let Signal::Introduce {
        group_secret,
        intro_nonce,
        ..
    } = out.iter().find(|o| o.to == a.id()).unwrap().signal.clone()
    else {
        panic!()
    };
    let wrong = Introduction::from_signal(&Signal::Introduce {
        peer: Member {
            id: mallory.id(),
            name: None,
            relay: None,
        },
        peer_public: PublicBytes(mallory.public()),
        group_secret,
        intro_nonce,
    })
    .unwrap();
    let (la, ca) = PeerLink::start(&a, &w.room, &wrong).unwrap();
    let (lb, cb) = PeerLink::start(&b, &w.room, &ib).unwrap();
    assert_eq!(la.on_confirm(&cb).unwrap_err(), GroupError::BadConfirmation);
    assert_eq!(lb.on_confirm(&ca).unwrap_err(), GroupError::BadConfirmation);
}

#[test]
fn wrong_group_secret_or_nonce_fails() {
    let mut w = world(3);
    let a = SessionKeypair::generate(&mut w.rng);
    let b = SessionKeypair::generate(&mut w.rng);
    w.roster.admit(&mut w.rng, a.public(), None).unwrap();
    let out = w.roster.admit(&mut w.rng, b.public(), None).unwrap();
    let (ia, ib) = (intro_for(&out, a.id()), intro_for(&out, b.id()));
    for tamper in 0..2 {
        let Signal::Introduce {
            peer,
            peer_public,
            mut group_secret,
            mut intro_nonce,
        } = out.iter().find(|o| o.to == a.id()).unwrap().signal.clone()
        else {
            panic!()
        };
        if tamper == 0 {
            group_secret = SecretBytes::new([0; 32]);
        } else {
            intro_nonce = PublicBytes([0; 32]);
        }
        let bad = Introduction::from_signal(&Signal::Introduce {
            peer,
            peer_public,
            group_secret,
            intro_nonce,
        })
        .unwrap();
        let (la, _) = PeerLink::start(&a, &w.room, &bad).unwrap();
        let (_, cb) = PeerLink::start(&b, &w.room, &ib).unwrap();
        assert_eq!(la.on_confirm(&cb).unwrap_err(), GroupError::BadConfirmation);
    }
    // Own confirmation reflected back: rejected (direction-specific keys).
    let (la, ca) = PeerLink::start(&a, &w.room, &ia).unwrap();
    assert_eq!(la.on_confirm(&ca).unwrap_err(), GroupError::BadConfirmation);
    let (la, _) = PeerLink::start(&a, &w.room, &ia).unwrap();
    assert_eq!(la.on_confirm(&[0x30; 10]).unwrap_err(), GroupError::Decode);
}

#[test]
fn introduction_checks() {
    let mut w = world(4);
    let a = SessionKeypair::generate(&mut w.rng);
    let b = SessionKeypair::generate(&mut w.rng);
    let intro = |id: ParticipantId, public: [u8; 32]| Signal::Introduce {
        peer: Member {
            id,
            name: None,
            relay: None,
        },
        peer_public: PublicBytes(public),
        group_secret: SecretBytes::new([1; 32]),
        intro_nonce: PublicBytes([2; 32]),
    };
    assert_eq!(
        Introduction::from_signal(&intro(a.id(), b.public())).unwrap_err(),
        GroupError::IdMismatch
    );
    assert_eq!(
        Introduction::from_signal(&Signal::Bye {}).unwrap_err(),
        GroupError::WrongSignal("Introduce")
    );
    let zero = [0u8; 32];
    let i = Introduction::from_signal(&intro(ParticipantId::from_public(&zero), zero)).unwrap();
    assert!(matches!(
        PeerLink::start(&a, &w.room, &i).unwrap_err(),
        GroupError::PeerKey(_)
    ));
    let i = Introduction::from_signal(&intro(a.id(), a.public())).unwrap();
    assert!(matches!(
        PeerLink::start(&a, &w.room, &i).unwrap_err(),
        GroupError::PeerKey(_)
    ));
}

#[test]
fn roster_limits_and_removal() {
    let mut w = world(5);
    let guests: Vec<_> = (0..4)
        .map(|_| SessionKeypair::generate(&mut w.rng))
        .collect();
    for g in &guests[..3] {
        w.roster.admit(&mut w.rng, g.public(), None).unwrap();
    }
    assert_eq!(
        w.roster
            .admit(&mut w.rng, guests[3].public(), None)
            .unwrap_err(),
        GroupError::Full { max: 4 }
    );
    assert_eq!(
        w.roster
            .admit(&mut w.rng, guests[0].public(), None)
            .unwrap_err(),
        GroupError::AlreadyMember
    );
    assert_eq!(
        w.roster
            .admit(&mut w.rng, w.host.public(), None)
            .unwrap_err(),
        GroupError::AlreadyMember
    );
    let out = w.roster.remove(guests[1].id()).unwrap();
    assert_eq!(out[0].to, guests[1].id());
    assert_eq!(out[0].signal, Signal::Remove {});
    assert!(out[1..].iter().all(|o| o.to != guests[1].id()));
    assert_eq!(out.len(), 3);
    assert_eq!(
        w.roster.remove(guests[1].id()).unwrap_err(),
        GroupError::UnknownMember
    );
    assert_eq!(w.roster.ids().len(), 3);
    assert_eq!(w.roster.epoch(), 4);
}

#[test]
fn guest_view_follows_host() {
    let mut w = world(6);
    let a = SessionKeypair::generate(&mut w.rng);
    let b = SessionKeypair::generate(&mut w.rng);
    let mut view = GuestView::new(w.host.id(), a.id());
    let out = w.roster.admit(&mut w.rng, a.public(), None).unwrap();
    let for_a = |out: &[confide_shared::group::Outgoing]| {
        out.iter()
            .find(|o| o.to == a.id() && matches!(o.signal, Signal::Members { .. }))
            .unwrap()
            .signal
            .clone()
    };
    assert_eq!(
        view.apply(&for_a(&out)).unwrap(),
        MembershipChange::default()
    );
    let out = w.roster.admit(&mut w.rng, b.public(), None).unwrap();
    let m = for_a(&out);
    assert_eq!(
        view.apply(&m).unwrap(),
        MembershipChange {
            joined: vec![b.id()],
            left: vec![]
        }
    );
    // Replayed or old announcement.
    assert_eq!(
        view.apply(&m).unwrap_err(),
        GroupError::StaleEpoch { got: 2, current: 2 }
    );
    let out = w.roster.remove(b.id()).unwrap();
    assert_eq!(view.apply(&for_a(&out)).unwrap().left, vec![b.id()]);
    // Announcements that drop us or the host, or repeat ids, are refused.
    for members in [
        vec![w.host.id()],
        vec![a.id()],
        vec![w.host.id(), a.id(), a.id()],
    ] {
        let s = Signal::Members {
            epoch: 100,
            members: members
                .into_iter()
                .map(|id| Member {
                    id,
                    name: None,
                    relay: None,
                })
                .collect(),
        };
        assert_eq!(view.apply(&s).unwrap_err(), GroupError::BadMembers);
    }
    assert_eq!(
        view.apply(&Signal::Bye {}).unwrap_err(),
        GroupError::WrongSignal("Members")
    );
    assert_eq!(view.ids().len(), 2);
}

#[test]
fn rotation_excludes_removed_member() {
    let mut rng = ChaCha20Rng::from_seed([7; 32]);
    let ids: Vec<ParticipantId> = (0..4)
        .map(|_| SessionKeypair::generate(&mut rng).id())
        .collect();
    let (me, a, b, c) = (ids[0], ids[1], ids[2], ids[3]);
    let mut s = SenderKeySchedule::new(&mut rng, me, 0xF001);
    assert_eq!(s.current().kid(), 0);
    let d1 = s.set_members(&mut rng, &[me, a, b, c]).unwrap().unwrap();
    assert_eq!(d1.key.kid(), 1);
    assert_eq!(d1.to.len(), 3);
    assert!(s.set_members(&mut rng, &[a, b, c, me]).unwrap().is_none());
    let d2 = s.set_members(&mut rng, &[me, a, b]).unwrap().unwrap();
    assert_eq!(d2.key.kid(), 2);
    assert!(!d2.to.contains(&c), "removed member gets no new key");
    assert_eq!(d2.to.len(), 2);
    assert_ne!(d2.key.base_key(), d1.key.base_key());
    assert_eq!(d2.key.suite(), 0xF001);
    // Join rotates too (the newcomer cannot read older frames).
    let d3 = s.set_members(&mut rng, &[me, a, b, c]).unwrap().unwrap();
    assert_eq!(d3.key.kid(), 3);
    assert_ne!(d3.key.base_key(), d1.key.base_key());
    assert_eq!(
        s.set_members(
            &mut rng,
            &ids.iter()
                .copied()
                .chain([ParticipantId::from_bytes([9; 16])])
                .collect::<Vec<_>>()
        )
        .unwrap_err(),
        GroupError::Full { max: 4 }
    );
    // Key travels as a signal and back; Debug does not print it.
    let sig = d3.key.to_signal();
    let back = SenderKey::from_signal(&Signal::decode(&sig.encode().unwrap()).unwrap()).unwrap();
    assert_eq!(back, d3.key);
    assert!(!format!("{sig:?}{back:?}").contains(&format!("{:?}", back.base_key())));
    assert_eq!(
        SenderKey::from_signal(&Signal::Bye {}).unwrap_err(),
        GroupError::WrongSignal("SenderKey")
    );
    // Receivers refuse rollbacks.
    let mut seen = PeerKeyIds::default();
    seen.accept(me, &d2.key).unwrap();
    seen.accept(me, &d3.key).unwrap();
    assert_eq!(
        seen.accept(me, &d2.key).unwrap_err(),
        GroupError::StaleKey { got: 2, current: 3 }
    );
    seen.forget(&me);
    seen.accept(me, &d2.key).unwrap();
}
