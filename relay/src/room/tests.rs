//! Unit tests of the pure room state machine.

use super::*;

struct H {
    relay: Relay,
    now: Instant,
}

/// The unix time the test relays' clock starts at.
const T0: u64 = 1_800_000_000;

/// Room `n` is the room of host token `n` (`create_room` checks the binding).
fn room(n: u8) -> RoomId {
    confide_shared::link::room_id_of(&host_token(n))
}
fn host_token(n: u8) -> HostToken {
    HostToken([n; 32])
}
fn invite(n: u8) -> InviteToken {
    InviteToken([n; 32])
}
/// The key of the test relays, and the sign-in of a counsellor made with it.
fn key() -> crate::counsellor::CounsellorKey {
    crate::counsellor::CounsellorKey::from_bytes([0x42; crate::counsellor::KEY_LEN])
}
fn counsellor() -> CounsellorToken {
    key().token(&crate::counsellor::CounsellorId([1; 16]))
}
fn secret(n: u8) -> ResumeSecret {
    ResumeSecret([n; 32])
}
fn payload(text: &str) -> Blob {
    Blob(text.as_bytes().to_vec())
}

fn closes(out: &[Output]) -> Vec<(ConnId, u16)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Close(c, close) => Some((*c, close.code)),
            Output::Send(..) => None,
        })
        .collect()
}

fn sent_to(out: &[Output], conn: ConnId) -> Vec<ServerMessage> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(c, m) if *c == conn => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn recipients(out: &[Output]) -> Vec<ConnId> {
    let mut r: Vec<ConnId> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send(c, ServerMessage::Deliver { .. }) => Some(*c),
            _ => None,
        })
        .collect();
    r.sort_unstable();
    r
}

impl H {
    fn new(limits: Limits) -> H {
        let now = Instant::now();
        let mut relay = Relay::new(limits, 7, Arc::new(Access::new(key())));
        relay.set_wall_clock(now, Duration::from_secs(T0));
        H { relay, now }
    }

    /// The relay's unix time now.
    fn unix(&self) -> u64 {
        self.relay.unix_at(self.now).unwrap_or_default()
    }

    fn connect(&mut self, conn: ConnId) {
        self.relay.connect(conn, self.now);
    }

    fn send(&mut self, conn: ConnId, msg: ClientMessage) -> Vec<Output> {
        let out = receive_text(&mut self.relay, conn, &msg.to_json(), self.now);
        self.relay.check_invariants();
        out
    }

    fn advance(&mut self, by: Duration) -> Vec<Output> {
        self.now += by;
        let out = self.relay.tick(self.now);
        self.relay.check_invariants();
        out
    }

    fn disconnect(&mut self, conn: ConnId) -> Vec<Output> {
        let out = self.relay.disconnect(conn, self.now);
        self.relay.check_invariants();
        out
    }

    /// Connects `conn` and creates room `r`; returns the host's member id.
    fn create(&mut self, conn: ConnId, r: u8) -> MemberId {
        self.connect(conn);
        let out = self.send(conn, create(r, r));
        match sent_to(&out, conn).as_slice() {
            [ServerMessage::RoomCreated { member, .. }] => *member,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn add_invite(&mut self, host: ConnId, r: u8, n: u8, ttl_secs: Option<u32>) {
        let out = self.send(
            host,
            ClientMessage::AddInvite {
                room: room(r),
                token_hash: invite(n).hash(),
                ttl_secs,
                opens: None,
                closes: None,
            },
        );
        assert!(matches!(
            sent_to(&out, host).as_slice(),
            [ServerMessage::InviteAdded { .. }]
        ));
    }

    fn knock_raw(&mut self, conn: ConnId, r: u8, n: u8) -> Vec<Output> {
        self.connect(conn);
        self.send(
            conn,
            ClientMessage::Knock {
                v: 1,
                room: room(r),
                invite_token: invite(n),
                resume_hash: secret(n).hash(),
                payload: payload("hello"),
            },
        )
    }

    /// A guest with invite `n` knocks; returns its member id.
    fn knock(&mut self, conn: ConnId, r: u8, n: u8) -> MemberId {
        let out = self.knock_raw(conn, r, n);
        match sent_to(&out, conn).as_slice() {
            [ServerMessage::Waiting { member, .. }] => *member,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn admit(&mut self, host: ConnId, r: u8, member: MemberId) -> Vec<Output> {
        self.send(
            host,
            ClientMessage::Admit {
                room: room(r),
                member,
            },
        )
    }

    /// Room `r` hosted on `host` with an admitted guest on `guest`.
    fn pair(&mut self, host: ConnId, guest: ConnId, r: u8) -> (MemberId, MemberId) {
        let h = self.create(host, r);
        self.add_invite(host, r, guest as u8, None);
        let g = self.knock(guest, r, guest as u8);
        self.admit(host, r, g);
        (h, g)
    }
}

/// What `ws.rs` does with a text message: parse (outside the lock), then receive.
fn receive_text(relay: &mut Relay, conn: ConnId, text: &str, now: Instant) -> Vec<Output> {
    let (size, parsed) = parse_text(text);
    relay.receive_parsed(conn, size, parsed, now)
}

fn create(r: u8, token: u8) -> ClientMessage {
    ClientMessage::CreateRoom {
        v: 1,
        room: room(r),
        host_token: host_token(token),
        counsellor: counsellor(),
        keep_until: None,
    }
}

fn send_all(r: u8, text: &str) -> ClientMessage {
    ClientMessage::Send {
        room: room(r),
        to: None,
        payload: payload(text),
    }
}

fn small() -> Limits {
    Limits {
        grace: Duration::from_secs(10),
        ..Limits::default()
    }
}

#[test]
fn knock_reaches_host_and_admit_tells_everyone() {
    let mut h = H::new(small());
    let host = h.create(1, 1);
    h.add_invite(1, 1, 2, None);
    let out = h.knock_raw(2, 1, 2);
    let guest = match sent_to(&out, 2).as_slice() {
        [
            ServerMessage::Waiting {
                member, host: told, ..
            },
        ] => {
            assert_eq!(*told, host);
            *member
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        sent_to(&out, 1),
        vec![ServerMessage::Knocked {
            room: room(1),
            member: guest,
            payload: payload("hello")
        }]
    );
    let out = h.admit(1, 1, guest);
    assert_eq!(
        sent_to(&out, 2),
        vec![ServerMessage::Admitted {
            room: room(1),
            member: guest,
            host,
            members: vec![host]
        }]
    );
    assert_eq!(
        sent_to(&out, 1),
        vec![ServerMessage::MemberJoined {
            room: room(1),
            member: guest
        }]
    );
}

#[test]
fn payloads_stay_in_the_room_and_out_of_the_lobby() {
    let mut h = H::new(small());
    let (_, _) = h.pair(1, 2, 1);
    h.add_invite(1, 1, 3, None);
    let lobby = h.knock(3, 1, 3);
    let (_, _) = h.pair(10, 11, 2);

    // Host broadcast: only the admitted guest.
    assert_eq!(recipients(&h.send(1, send_all(1, "x"))), vec![2]);
    // Guest broadcast: only the host.
    assert_eq!(recipients(&h.send(2, send_all(1, "x"))), vec![1]);
    // Lobby member: only the host.
    assert_eq!(recipients(&h.send(3, send_all(1, "x"))), vec![1]);
    // Host may answer the lobby member directly; the admitted guest may not address it.
    let to_lobby = |r| ClientMessage::Send {
        room: room(r),
        to: Some(lobby),
        payload: payload("x"),
    };
    assert_eq!(recipients(&h.send(1, to_lobby(1))), vec![3]);
    let out = h.send(2, to_lobby(1));
    assert!(recipients(&out).is_empty());
    assert!(matches!(
        sent_to(&out, 2).as_slice(),
        [ServerMessage::Error {
            code: ErrorCode::UnknownMember,
            ..
        }]
    ));
    // Another room's member cannot send into room 1.
    let out = h.send(10, send_all(1, "x"));
    assert_eq!(closes(&out), vec![(10, 4000)]);
    assert!(recipients(&out).is_empty());
    assert_eq!(h.relay.stats().messages_forwarded, 4);
}

#[test]
fn invites_are_one_time_and_expire() {
    let mut h = H::new(small());
    h.create(1, 1);
    h.add_invite(1, 1, 2, Some(60));
    h.knock(2, 1, 2);
    // Every refusal is the same 4007, so a link does not tell whether its
    // room lives. Reuse while the first guest still waits in the lobby:
    assert_eq!(closes(&h.knock_raw(3, 1, 2)), vec![(3, 4007)]);
    // Unknown invite, unknown room.
    assert_eq!(closes(&h.knock_raw(4, 1, 9)), vec![(4, 4007)]);
    assert_eq!(closes(&h.knock_raw(5, 7, 2)), vec![(5, 4007)]);
    // Expired.
    h.add_invite(1, 1, 6, Some(1));
    h.advance(Duration::from_millis(1500));
    assert_eq!(closes(&h.knock_raw(6, 1, 6)), vec![(6, 4007)]);
    // None of them got in: the room holds the host and the first guest.
    assert_eq!(h.relay.rooms[&room(1)].members.len(), 2);
    // Revoked.
    h.add_invite(1, 1, 7, None);
    h.send(
        1,
        ClientMessage::RevokeInvite {
            room: room(1),
            token_hash: invite(7).hash(),
        },
    );
    assert_eq!(closes(&h.knock_raw(7, 1, 7)), vec![(7, 4007)]);
}

#[test]
fn invite_ttl_is_capped() {
    let mut h = H::new(Limits {
        invite_ttl_max: Duration::from_secs(5),
        ..small()
    });
    h.create(1, 1);
    let out = h.send(
        1,
        ClientMessage::AddInvite {
            room: room(1),
            token_hash: invite(2).hash(),
            ttl_secs: Some(3600),
            opens: None,
            closes: None,
        },
    );
    assert!(matches!(
        sent_to(&out, 1).as_slice(),
        [ServerMessage::InviteAdded { ttl_secs: 5, .. }]
    ));
    h.advance(Duration::from_secs(6));
    assert_eq!(closes(&h.knock_raw(2, 1, 2)), vec![(2, 4007)]);
}

#[test]
fn reused_hash_stays_used() {
    let mut h = H::new(small());
    h.create(1, 1);
    h.add_invite(1, 1, 2, None);
    h.knock(2, 1, 2);
    h.add_invite(1, 1, 2, None);
    assert_eq!(closes(&h.knock_raw(3, 1, 2)), vec![(3, 4007)]);
}

#[test]
fn reject_and_remove_close_the_guest() {
    let mut h = H::new(small());
    let (_, g) = h.pair(1, 2, 1);
    h.add_invite(1, 1, 3, None);
    let lobby = h.knock(3, 1, 3);
    let out = h.send(
        1,
        ClientMessage::Reject {
            room: room(1),
            member: lobby,
        },
    );
    assert_eq!(
        sent_to(&out, 3),
        vec![ServerMessage::Rejected { room: room(1) }]
    );
    assert_eq!(closes(&out), vec![(3, 4010)]);
    // Rejecting an admitted member is not possible.
    let out = h.send(
        1,
        ClientMessage::Reject {
            room: room(1),
            member: g,
        },
    );
    assert!(closes(&out).is_empty());
    let out = h.send(
        1,
        ClientMessage::Remove {
            room: room(1),
            member: g,
        },
    );
    assert_eq!(
        sent_to(&out, 2),
        vec![ServerMessage::Removed { room: room(1) }]
    );
    assert_eq!(closes(&out), vec![(2, 4011)]);
    assert_eq!(
        sent_to(&out, 1),
        vec![ServerMessage::MemberLeft {
            room: room(1),
            member: g
        }]
    );
    // The removed connection is forgotten: whatever it still sends goes nowhere.
    assert!(h.send(2, send_all(1, "x")).is_empty());
    // And it cannot come back with its resume secret.
    h.connect(20);
    let out = h.send(
        20,
        ClientMessage::Resume {
            v: 1,
            room: room(1),
            member: g,
            resume_secret: secret(2),
            next_resume_hash: secret(2).hash(),
        },
    );
    assert_eq!(closes(&out), vec![(20, 4017)]);
}

#[test]
fn guests_cannot_do_host_things() {
    let mut h = H::new(small());
    let (hm, _) = h.pair(1, 2, 1);
    let out = h.send(
        2,
        ClientMessage::Remove {
            room: room(1),
            member: hm,
        },
    );
    assert_eq!(closes(&out), vec![(2, 4000)]);
    let mut h = H::new(small());
    h.pair(1, 2, 1);
    let out = h.send(2, create(5, 5));
    assert_eq!(closes(&out), vec![(2, 4000)]);
    // A fresh connection must start with create_room, knock or resume.
    h.connect(3);
    assert_eq!(closes(&h.send(3, send_all(1, "x"))), vec![(3, 4000)]);
}

#[test]
fn limits_close_with_their_codes() {
    let mut h = H::new(Limits {
        max_message_bytes: 200,
        rate_per_sec: 1,
        rate_burst: 3,
        max_rooms_per_connection: 2,
        max_participants: 2,
        ..small()
    });
    h.connect(1);
    assert_eq!(
        closes(&receive_text(&mut h.relay, 1, &"x".repeat(201), h.now)),
        vec![(1, 4001)]
    );
    h.connect(2);
    assert_eq!(
        closes(&receive_text(&mut h.relay, 2, "{nope", h.now)),
        vec![(2, 4000)]
    );
    h.connect(3);
    let out = h.send(
        3,
        ClientMessage::CreateRoom {
            v: 2,
            room: room(3),
            host_token: host_token(3),
            counsellor: counsellor(),
            keep_until: None,
        },
    );
    assert_eq!(closes(&out), vec![(3, 4015)]);

    // Rate: burst 3, then closed.
    let mut h2 = H::new(Limits {
        rate_per_sec: 1,
        rate_burst: 3,
        ..small()
    });
    h2.pair(1, 2, 1);
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.extend(closes(&h2.send(2, send_all(1, "x"))));
    }
    assert_eq!(codes, vec![(2, 4002)]);

    // Rooms per connection.
    let mut h = H::new(Limits {
        max_rooms_per_connection: 2,
        max_participants: 2,
        ..small()
    });
    h.create(10, 1);
    h.send(10, create(2, 2));
    assert_eq!(closes(&h.send(10, create(3, 3))), vec![(10, 4003)]);

    // Room full (host + 1); the invite is not consumed by the refusal.
    let (_, g) = h.pair(20, 21, 5);
    h.add_invite(20, 5, 22, None);
    assert_eq!(closes(&h.knock_raw(22, 5, 22)), vec![(22, 4004)]);
    h.send(
        20,
        ClientMessage::Remove {
            room: room(5),
            member: g,
        },
    );
    h.knock(23, 5, 22);
}

#[test]
fn rate_refills_over_time() {
    let mut h = H::new(Limits {
        rate_per_sec: 10,
        rate_burst: 2,
        ..small()
    });
    h.pair(1, 2, 1);
    for _ in 0..20 {
        h.now += Duration::from_millis(100);
        assert!(closes(&h.send(2, send_all(1, "x"))).is_empty());
    }
}

#[test]
fn room_ids_are_bound_to_host_tokens() {
    let mut h = H::new(small());
    // A signed-in counsellor who knows room 1's id but not its host token
    // cannot create it first: refused, and no room is made.
    h.connect(1);
    assert_eq!(closes(&h.send(1, create(1, 2))), vec![(1, 4021)]);
    assert!(h.relay.rooms.is_empty());
    // The honest host creates it, leaves, and re-creates it with the same token.
    h.connect(2);
    assert!(closes(&h.send(2, create(1, 1))).is_empty());
    assert!(h.relay.rooms.contains_key(&room(1)));
    h.send(2, ClientMessage::Leave { room: room(1) });
    // Its grace passes and the room is gone; the host token still makes it again.
    h.now += h.relay.limits.grace + Duration::from_secs(1);
    h.relay.tick(h.now);
    assert!(h.relay.rooms.is_empty());
    h.connect(3);
    assert!(closes(&h.send(3, create(1, 1))).is_empty());
    assert!(h.relay.rooms.contains_key(&room(1)));
}

#[test]
fn host_resumes_with_its_token_and_replaces_the_old_connection() {
    let mut h = H::new(small());
    let (hm, g) = h.pair(1, 2, 1);
    // Another token: refused.
    h.connect(3);
    assert_eq!(closes(&h.send(3, create(1, 99))), vec![(3, 4016)]);
    // Same token while the old tab is still connected: the old one is replaced.
    h.connect(4);
    let out = h.send(4, create(1, 1));
    assert_eq!(closes(&out), vec![(1, 4018)]);
    assert_eq!(
        sent_to(&out, 4),
        vec![ServerMessage::RoomCreated {
            room: room(1),
            member: hm,
            resumed: true,
            members: vec![g],
            lobby: vec![]
        }]
    );
    assert_eq!(
        sent_to(&out, 2),
        vec![
            ServerMessage::MemberAway {
                room: room(1),
                member: hm
            },
            ServerMessage::MemberJoined {
                room: room(1),
                member: hm
            }
        ]
    );
}

#[test]
fn reload_within_grace_keeps_the_room_and_after_grace_it_is_gone() {
    let mut h = H::new(small());
    let (hm, g) = h.pair(1, 2, 1);
    let out = h.disconnect(2);
    assert_eq!(
        sent_to(&out, 1),
        vec![ServerMessage::MemberAway {
            room: room(1),
            member: g
        }]
    );
    h.disconnect(1);
    h.advance(Duration::from_secs(9));
    assert_eq!(h.relay.room_count(), 1);
    // Guest resumes first (host still away), then host.
    h.connect(3);
    let out = h.send(
        3,
        ClientMessage::Resume {
            v: 1,
            room: room(1),
            member: g,
            resume_secret: secret(2),
            next_resume_hash: secret(2).hash(),
        },
    );
    assert_eq!(
        sent_to(&out, 3),
        vec![ServerMessage::Admitted {
            room: room(1),
            member: g,
            host: hm,
            members: vec![]
        }]
    );
    h.connect(4);
    let out = h.send(4, create(1, 1));
    assert_eq!(
        sent_to(&out, 3),
        vec![ServerMessage::MemberJoined {
            room: room(1),
            member: hm
        }]
    );
    assert!(recipients(&h.send(4, send_all(1, "x"))) == vec![3]);
    // Wrong secret.
    h.connect(5);
    let out = h.send(
        5,
        ClientMessage::Resume {
            v: 1,
            room: room(1),
            member: g,
            resume_secret: secret(9),
            next_resume_hash: secret(9).hash(),
        },
    );
    assert_eq!(closes(&out), vec![(5, 4017)]);
    // Everyone leaves; after the grace period the room is gone.
    h.disconnect(3);
    h.disconnect(4);
    h.advance(Duration::from_secs(5));
    assert_eq!(h.relay.room_count(), 1);
    h.advance(Duration::from_secs(6));
    assert_eq!(h.relay.room_count(), 0);
    h.connect(6);
    let out = h.send(
        6,
        ClientMessage::Resume {
            v: 1,
            room: room(1),
            member: g,
            resume_secret: secret(2),
            next_resume_hash: secret(2).hash(),
        },
    );
    // Like a wrong secret: no word on whether the room ever existed.
    assert_eq!(closes(&out), vec![(6, 4017)]);
}

#[test]
fn away_guest_expires_while_the_room_lives_on() {
    let mut h = H::new(small());
    let (_, g) = h.pair(1, 2, 1);
    h.disconnect(2);
    let out = h.advance(Duration::from_secs(11));
    assert_eq!(
        sent_to(&out, 1),
        vec![ServerMessage::MemberLeft {
            room: room(1),
            member: g
        }]
    );
    assert_eq!(h.relay.room_count(), 1);
}

#[test]
fn guest_leave_is_final_and_host_leave_is_not() {
    let mut h = H::new(small());
    let (hm, g) = h.pair(1, 2, 1);
    let out = h.send(2, ClientMessage::Leave { room: room(1) });
    assert_eq!(closes(&out), vec![(2, 1000)]);
    assert_eq!(
        sent_to(&out, 1),
        vec![ServerMessage::MemberLeft {
            room: room(1),
            member: g
        }]
    );
    h.add_invite(1, 1, 3, None);
    let g3 = h.knock(3, 1, 3);
    h.admit(1, 1, g3);
    let out = h.send(1, ClientMessage::Leave { room: room(1) });
    assert!(closes(&out).is_empty());
    assert_eq!(
        sent_to(&out, 3),
        vec![ServerMessage::MemberAway {
            room: room(1),
            member: hm
        }]
    );
    assert_eq!(h.relay.room_count(), 1);
}

#[test]
fn end_session_tells_everyone_and_deletes_the_room() {
    let mut h = H::new(small());
    h.pair(1, 2, 1);
    h.add_invite(1, 1, 3, None);
    h.knock(3, 1, 3);
    let out = h.send(1, ClientMessage::EndSession { room: room(1) });
    for guest in [2, 3] {
        assert_eq!(
            sent_to(&out, guest),
            vec![ServerMessage::SessionEnded { room: room(1) }]
        );
    }
    assert_eq!(closes(&out), vec![(2, 4012), (3, 4012)]);
    assert_eq!(
        sent_to(&out, 1),
        vec![ServerMessage::SessionEnded { room: room(1) }]
    );
    assert_eq!(h.relay.room_count(), 0);
    // The host connection stays usable.
    assert_eq!(closes(&h.send(1, create(2, 2))), vec![]);
}

#[test]
fn lobby_guest_away_can_be_admitted_and_learns_it_on_resume() {
    let mut h = H::new(small());
    let hm = h.create(1, 1);
    h.add_invite(1, 1, 2, None);
    let g = h.knock(2, 1, 2);
    h.disconnect(2);
    h.admit(1, 1, g);
    h.connect(3);
    let out = h.send(
        3,
        ClientMessage::Resume {
            v: 1,
            room: room(1),
            member: g,
            resume_secret: secret(2),
            next_resume_hash: secret(2).hash(),
        },
    );
    assert_eq!(
        sent_to(&out, 3),
        vec![ServerMessage::Admitted {
            room: room(1),
            member: g,
            host: hm,
            members: vec![hm]
        }]
    );
}

#[test]
fn too_many_invites_is_not_fatal() {
    let mut h = H::new(Limits {
        max_invites_per_room: 2,
        ..small()
    });
    h.create(1, 1);
    h.add_invite(1, 1, 2, None);
    h.add_invite(1, 1, 3, None);
    let out = h.send(
        1,
        ClientMessage::AddInvite {
            room: room(1),
            token_hash: invite(4).hash(),
            ttl_secs: None,
            opens: None,
            closes: None,
        },
    );
    assert!(matches!(
        sent_to(&out, 1).as_slice(),
        [ServerMessage::Error {
            code: ErrorCode::TooManyInvites,
            ..
        }]
    ));
    assert!(closes(&out).is_empty());
    // A used invite makes room.
    h.knock(2, 1, 2);
    h.add_invite(1, 1, 4, None);
}

#[test]
fn server_room_limit() {
    let mut h = H::new(Limits {
        max_rooms: 1,
        ..small()
    });
    h.create(1, 1);
    h.connect(2);
    assert_eq!(closes(&h.send(2, create(2, 2))), vec![(2, 4005)]);
}

/// Found by the fuzz target: `connect` with an id in use must not orphan its memberships.
#[test]
fn connect_with_an_id_in_use_is_ignored() {
    let mut h = H::new(small());
    h.pair(1, 2, 1);
    h.connect(1);
    h.connect(2);
    h.relay.check_invariants();
    assert_eq!(recipients(&h.send(1, send_all(1, "x"))), vec![2]);
}

#[test]
fn only_signed_in_counsellors_create_rooms() {
    use crate::counsellor::{CounsellorId, CounsellorKey};
    let access = Arc::new(Access::new(key()));
    let mut h = H {
        relay: Relay::new(small(), 7, access.clone()),
        now: Instant::now(),
    };
    let with = |r: u8, counsellor: CounsellorToken| ClientMessage::CreateRoom {
        v: 1,
        room: room(r),
        host_token: host_token(r),
        counsellor,
        keep_until: None,
    };
    // Forged (right length, wrong tag), made with another key, all zeros.
    let mut forged = *counsellor().as_bytes();
    forged[40] ^= 0x80;
    let foreign =
        CounsellorKey::from_bytes([0x43; crate::counsellor::KEY_LEN]).token(&CounsellorId([1; 16]));
    let refused = [
        CounsellorToken::from_bytes(forged),
        foreign,
        CounsellorToken::from_bytes([0; 48]),
    ];
    for (i, token) in refused.into_iter().enumerate() {
        let conn = 10 + i as ConnId;
        h.connect(conn);
        let out = h.send(conn, with(1, token));
        assert_eq!(closes(&out), vec![(conn, 4020)]);
        assert!(
            sent_to(&out, conn)
                .iter()
                .all(|m| !matches!(m, ServerMessage::RoomCreated { .. }))
        );
    }
    assert_eq!(h.relay.room_count(), 0);
    // Missing: the message does not parse without it.
    h.connect(20);
    let r = room(1).to_base64();
    let t = host_token(1).to_base64();
    let out = receive_text(
        &mut h.relay,
        20,
        &format!(r#"{{"type":"create_room","v":1,"room":"{r}","host_token":"{t}"}}"#),
        h.now,
    );
    assert_eq!(closes(&out), vec![(20, 4000)]);
    assert_eq!(h.relay.room_count(), 0);

    // A valid sign-in creates the room; a guest with an invite needs none.
    h.connect(1);
    h.create(1, 1);
    h.add_invite(1, 1, 5, None);
    h.connect(2);
    h.knock(2, 1, 5);
    assert_eq!(h.relay.room_count(), 1);

    // Revoked: refused, also when taking her own room back after a reload.
    let anna = CounsellorId([1; 16]);
    access.set_revoked([anna].into_iter().collect());
    h.connect(30);
    let out = h.send(30, with(2, counsellor()));
    assert_eq!(closes(&out), vec![(30, 4020)]);
    h.connect(31);
    let out = h.send(31, create(1, 1));
    assert_eq!(closes(&out), vec![(31, 4020)]);
    assert_eq!(h.relay.room_count(), 1);
    // Another counsellor is not affected.
    h.connect(32);
    let out = h.send(32, with(3, key().token(&CounsellorId([2; 16]))));
    assert!(closes(&out).is_empty());
    assert_eq!(h.relay.room_count(), 2);
}

#[test]
fn resume_secrets_work_once() {
    let mut h = H::new(small());
    let (_, g) = h.pair(1, 2, 1);
    let resume = |used: u8, next: u8| ClientMessage::Resume {
        v: 1,
        room: room(1),
        member: g,
        resume_secret: secret(used),
        next_resume_hash: secret(next).hash(),
    };
    h.disconnect(2);
    // The knock's secret (2) names 3 as the next one.
    h.connect(3);
    let out = h.send(3, resume(2, 3));
    assert!(closes(&out).is_empty(), "{out:?}");
    assert!(matches!(
        sent_to(&out, 3).as_slice(),
        [ServerMessage::Admitted { .. }, ..]
    ));
    // Its answer was lost: exactly the same resume again still works.
    h.connect(4);
    let out = h.send(4, resume(2, 3));
    assert_eq!(closes(&out), vec![(3, 4018)]);
    // The used secret with any other next one is refused.
    h.connect(5);
    assert_eq!(closes(&h.send(5, resume(2, 9))), vec![(5, 4017)]);
    // The named one works (and names 4); after that, 2 is dead for good.
    h.connect(6);
    let out = h.send(6, resume(3, 4));
    assert_eq!(closes(&out), vec![(4, 4018)]);
    h.connect(7);
    assert_eq!(closes(&h.send(7, resume(2, 3))), vec![(7, 4017)]);
    // 3 with another next one is refused; 4 is the secret now.
    h.connect(8);
    assert_eq!(closes(&h.send(8, resume(3, 5))), vec![(8, 4017)]);
    h.connect(9);
    assert_eq!(closes(&h.send(9, resume(4, 5))), vec![(6, 4018)]);
}

// Planned sessions (appointments): `keep_until`, invite windows, held knocks.

const HOUR: u64 = 3600;

fn planned(r: u8, keep_until: Option<u64>) -> ClientMessage {
    ClientMessage::CreateRoom {
        v: 1,
        room: room(r),
        host_token: host_token(r),
        counsellor: counsellor(),
        keep_until,
    }
}

fn window(r: u8, n: u8, opens: Option<u64>, closes: Option<u64>) -> ClientMessage {
    ClientMessage::AddInvite {
        room: room(r),
        token_hash: invite(n).hash(),
        ttl_secs: None,
        opens,
        closes,
    }
}

fn resume(r: u8, member: MemberId, n: u8) -> ClientMessage {
    ClientMessage::Resume {
        v: 1,
        room: room(r),
        member,
        resume_secret: secret(n),
        next_resume_hash: secret(n).hash(),
    }
}

fn knocks(out: &[Output], conn: ConnId) -> Vec<(MemberId, Blob)> {
    sent_to(out, conn)
        .into_iter()
        .filter_map(|m| match m {
            ServerMessage::Knocked {
                member, payload, ..
            } => Some((member, payload)),
            _ => None,
        })
        .collect()
}

impl H {
    /// Connects `conn` and registers planned room `r`, kept until `keep_until`.
    fn plan(&mut self, conn: ConnId, r: u8, keep_until: u64) -> MemberId {
        self.connect(conn);
        let out = self.send(conn, planned(r, Some(keep_until)));
        match sent_to(&out, conn).as_slice() {
            [ServerMessage::RoomCreated { member, .. }] => *member,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Host `conn` of room `r` registers invite `n` for `[opens, closes)`.
    fn add_window(&mut self, conn: ConnId, r: u8, n: u8, opens: u64, closes: u64) -> u32 {
        let out = self.send(conn, window(r, n, Some(opens), Some(closes)));
        match sent_to(&out, conn).as_slice() {
            [ServerMessage::InviteAdded { ttl_secs, .. }] => *ttl_secs,
            other => panic!("unexpected {other:?}"),
        }
    }

    /// A guest on `conn` knocks with invite `n` and its own payload.
    fn knock_with(&mut self, conn: ConnId, r: u8, n: u8, text: &str) -> Vec<Output> {
        self.connect(conn);
        self.send(
            conn,
            ClientMessage::Knock {
                v: 1,
                room: room(r),
                invite_token: invite(n),
                resume_hash: secret(n).hash(),
                payload: payload(text),
            },
        )
    }

    fn advance_to(&mut self, unix: u64) -> Vec<Output> {
        let by = unix.saturating_sub(self.unix());
        self.advance(Duration::from_secs(by))
    }
}

#[test]
fn keep_until_must_be_within_the_maximum_and_a_past_one_keeps_nothing() {
    let mut h = H::new(small());
    let max = small().planned_room_max.as_secs();
    let now = h.unix();
    h.connect(3);
    let out = h.send(3, planned(1, Some(now + max + 1)));
    assert_eq!(closes(&out), vec![(3, 4000)]);
    assert_eq!(h.relay.room_count(), 0, "no room beyond the maximum");
    // A time already past (the counsellor's clock behind the relay's) is no
    // error: the room is made, and kept no longer than any other.
    h.connect(1);
    let out = h.send(1, planned(1, Some(now - 1)));
    assert!(closes(&out).is_empty());
    h.disconnect(1);
    h.advance(Duration::from_secs(11));
    assert_eq!(h.relay.room_count(), 0, "gone after the grace period");
    h.plan(5, 1, now + max);
    assert_eq!(h.relay.room_count(), 1);
    assert_eq!(h.relay.rooms[&room(1)].keep_until, Some(now + max));
}

#[test]
fn a_relay_without_a_wall_clock_refuses_planned_sessions() {
    let mut relay = Relay::new(small(), 7, Arc::new(Access::new(key())));
    let now = Instant::now();
    relay.connect(1, now);
    let out = receive_text(&mut relay, 1, &planned(1, Some(T0 + 60)).to_json(), now);
    assert_eq!(closes(&out), vec![(1, 4000)]);
    assert_eq!(relay.room_count(), 0);
}

#[test]
fn invite_windows_are_checked() {
    let mut h = H::new(small());
    let max = small().planned_room_max.as_secs();
    h.create(1, 1);
    let now = h.unix();
    let bad = [
        ("opens alone", window(1, 2, Some(now), None)),
        ("closes alone", window(1, 2, None, Some(now + 60))),
        ("empty window", window(1, 2, Some(now + 60), Some(now + 60))),
        ("reversed", window(1, 2, Some(now + 61), Some(now + 60))),
        ("too far", window(1, 2, Some(now), Some(now + max + 1))),
        (
            "with ttl_secs",
            ClientMessage::AddInvite {
                room: room(1),
                token_hash: invite(2).hash(),
                ttl_secs: Some(60),
                opens: Some(now),
                closes: Some(now + 60),
            },
        ),
    ];
    for (conn, (why, msg)) in (10..).zip(bad) {
        let host = conn;
        h.connect(host);
        h.send(host, create(1, 1));
        let out = h.send(host, msg);
        assert_eq!(closes(&out), vec![(host, 4000)], "{why}");
        assert!(h.relay.rooms[&room(1)].invites.is_empty(), "{why}");
    }
    h.connect(2);
    h.send(2, create(1, 1));
    // A window already closed is no error (clocks differ), it just never lets anyone in.
    assert_eq!(h.add_window(2, 1, 4, now - 60, now), 0);
    assert_eq!(closes(&h.knock_raw(30, 1, 4)), vec![(30, 4007)]);
    // invite_added says how long until the window closes (opening in the past is fine).
    assert_eq!(h.add_window(2, 1, 2, now - 5, now + max), max as u32);
    assert_eq!(
        h.add_window(2, 1, 3, now + HOUR, now + 2 * HOUR),
        2 * HOUR as u32
    );
}

#[test]
fn a_window_lets_guests_in_only_while_open_and_early_knocks_do_not_use_it() {
    let mut h = H::new(small());
    h.create(1, 1);
    let now = h.unix();
    h.add_window(1, 1, 2, now + 100, now + 200);
    h.add_window(1, 1, 3, now + 100, now + 200);
    // Before the window: the answer of an unknown invite, and the invite stays.
    let out = h.knock_raw(10, 1, 2);
    assert_eq!(closes(&out), vec![(10, 4007)]);
    assert!(knocks(&out, 1).is_empty());
    h.advance_to(now + 99);
    let out = h.knock_raw(11, 1, 2);
    assert_eq!(closes(&out), vec![(11, 4007)]);
    assert!(!h.relay.rooms[&room(1)].invites[&invite(2).hash()].used);
    // From `opens` on it works, once.
    h.advance_to(now + 100);
    h.knock(12, 1, 2);
    assert_eq!(closes(&h.knock_raw(13, 1, 2)), vec![(13, 4007)]);
    // From `closes` on it is refused, unused invite or not.
    h.advance_to(now + 199);
    h.knock(14, 1, 3);
    let mut h2 = H::new(small());
    h2.create(1, 1);
    let t = h2.unix();
    h2.add_window(1, 1, 3, t, t + 100);
    h2.advance_to(t + 100);
    let out = h2.knock_raw(15, 1, 3);
    assert_eq!(closes(&out), vec![(15, 4007)]);
    assert!(!h2.relay.rooms[&room(1)].invites[&invite(3).hash()].used);
}

#[test]
fn re_adding_a_window_replaces_it_unless_used() {
    let mut h = H::new(small());
    h.create(1, 1);
    let now = h.unix();
    h.add_window(1, 1, 2, now + 100, now + 200);
    // Moved earlier: open now.
    h.add_window(1, 1, 2, now, now + 200);
    let g = h.knock(10, 1, 2);
    h.admit(1, 1, g);
    // Used: a new window does not arm it again.
    h.add_window(1, 1, 2, now, now + 300);
    assert_eq!(closes(&h.knock_raw(11, 1, 2)), vec![(11, 4007)]);
    // An immediate invite can become an appointment's (and back).
    h.add_invite(1, 1, 3, Some(60));
    h.add_window(1, 1, 3, now + 100, now + 200);
    assert_eq!(closes(&h.knock_raw(12, 1, 3)), vec![(12, 4007)]);
    h.add_invite(1, 1, 3, Some(60));
    h.knock(13, 1, 3);
}

#[test]
fn a_planned_room_stays_empty_until_keep_until_then_is_forgotten() {
    let mut h = H::new(small());
    let now = h.unix();
    h.plan(1, 1, now + HOUR);
    h.add_window(1, 1, 2, now + HOUR / 2, now + HOUR);
    h.disconnect(1);
    // Far past the grace period (10 s) the room is still there.
    h.advance(Duration::from_secs(HOUR - 1));
    assert_eq!(h.relay.room_count(), 1);
    h.advance_to(now + HOUR);
    assert_eq!(h.relay.room_count(), 0);
    // Nothing remains: the same token makes a new room.
    h.connect(2);
    let out = h.send(2, create(1, 1));
    assert!(matches!(
        sent_to(&out, 2).as_slice(),
        [ServerMessage::RoomCreated { resumed: false, .. }]
    ));
    // An immediate room is still gone after its grace period.
    h.disconnect(2);
    h.advance(small().grace);
    assert_eq!(h.relay.room_count(), 0);
}

#[test]
fn a_planned_room_left_empty_after_keep_until_lasts_its_grace_period() {
    let mut h = H::new(small());
    let now = h.unix();
    h.plan(1, 1, now + 100);
    h.advance_to(now + 200);
    h.disconnect(1);
    h.advance(small().grace - Duration::from_secs(1));
    assert_eq!(h.relay.room_count(), 1);
    h.advance(Duration::from_secs(1));
    assert_eq!(h.relay.room_count(), 0);
}

#[test]
fn keep_until_only_grows_on_the_hosts_return() {
    let mut h = H::new(small());
    let now = h.unix();
    h.plan(1, 1, now + 600);
    let kept = |h: &H| h.relay.rooms[&room(1)].keep_until;
    // Same connection, earlier: stays.
    h.send(1, planned(1, Some(now + 300)));
    assert_eq!(kept(&h), Some(now + 600));
    h.disconnect(1);
    // A new connection without keep_until: stays.
    h.connect(2);
    h.send(2, create(1, 1));
    assert_eq!(kept(&h), Some(now + 600));
    // Later: grows.
    h.connect(3);
    let out = h.send(3, planned(1, Some(now + 900)));
    assert_eq!(closes(&out), vec![(2, 4018)]);
    assert_eq!(kept(&h), Some(now + 900));
    // A bad keep_until on the host's return changes nothing and closes only that connection.
    h.connect(4);
    let max = small().planned_room_max.as_secs();
    let out = h.send(4, planned(1, Some(now + max + 1)));
    assert_eq!(closes(&out), vec![(4, 4000)]);
    assert_eq!(kept(&h), Some(now + 900));
    assert_eq!(
        h.relay.rooms[&room(1)].members[&h.relay.rooms[&room(1)].host].conn,
        Some(3)
    );
}

#[test]
fn a_knock_over_the_held_size_is_delivered_live_but_not_kept() {
    let mut h = H::new(small());
    let now = h.unix();
    h.plan(1, 1, now + HOUR);
    h.add_window(1, 1, 2, now, now + HOUR);
    h.add_window(1, 1, 3, now, now + HOUR);
    let big = "x".repeat(MAX_HELD_KNOCK_BYTES + 1);
    let fits = "y".repeat(MAX_HELD_KNOCK_BYTES);
    // The host is there: both reach her at once.
    let out = h.knock_with(10, 1, 2, &big);
    let (a, _) = knocks(&out, 1)[0].clone();
    let out = h.knock_with(11, 1, 3, &fits);
    let (b, _) = knocks(&out, 1)[0].clone();
    // She comes back: only the one within the size is handed over again.
    h.connect(2);
    let out = h.send(2, create(1, 1));
    assert_eq!(knocks(&out, 2), vec![(b, payload(&fits))]);
    assert_ne!(a, b);
}

#[test]
fn held_knocks_reach_a_host_who_arrives_later_in_the_order_they_came() {
    let mut h = H::new(small());
    let now = h.unix();
    h.plan(1, 1, now + HOUR);
    for n in [2, 3, 4] {
        h.add_window(1, 1, n, now, now + HOUR);
    }
    h.disconnect(1);
    let waiting = |out: &[Output], conn| match sent_to(out, conn).as_slice() {
        [ServerMessage::Waiting { member, .. }] => *member,
        other => panic!("unexpected {other:?}"),
    };
    let a = waiting(&h.knock_with(10, 1, 2, "first"), 10);
    h.advance(Duration::from_secs(1));
    let b = waiting(&h.knock_with(11, 1, 3, "second"), 11);
    let c = waiting(&h.knock_with(12, 1, 4, "third"), 12);
    // `b` leaves the lobby for good, `c`'s phone sleeps (away, seat kept).
    h.send(11, ClientMessage::Leave { room: room(1) });
    h.disconnect(12);
    h.advance(Duration::from_secs(20 * 60));
    h.connect(2);
    let out = h.send(2, create(1, 1));
    let to_host = sent_to(&out, 2);
    assert!(matches!(
        to_host.first(),
        Some(ServerMessage::RoomCreated { resumed: true, lobby, .. }) if *lobby == vec![a]
    ));
    assert_eq!(
        knocks(&out, 2),
        vec![(a, payload("first")), (c, payload("third"))]
    );
    assert_ne!(a, b);
    // Knocks come right after room_created.
    assert_eq!(to_host.len(), 3);
    // Admitted: no longer held. Still held for the one waiting.
    h.admit(2, 1, a);
    h.connect(3);
    let out = h.send(3, create(1, 1));
    assert_eq!(knocks(&out, 3), vec![(c, payload("third"))]);
    // The away guest admitted meanwhile is told when she comes back.
    h.admit(3, 1, c);
    h.connect(13);
    let out = h.send(13, resume(1, c, 4));
    assert!(matches!(
        sent_to(&out, 13).as_slice(),
        [ServerMessage::Admitted { member, .. }] if *member == c
    ));
    h.connect(4);
    assert!(knocks(&h.send(4, create(1, 1)), 4).is_empty());
}

#[test]
fn a_knock_to_a_present_host_is_delivered_at_once_and_again_after_a_reload() {
    let mut h = H::new(small());
    h.create(1, 1);
    h.add_invite(1, 1, 2, None);
    h.add_invite(1, 1, 3, None);
    let out = h.knock_with(10, 1, 2, "now");
    let g = match sent_to(&out, 10).as_slice() {
        [ServerMessage::Waiting { member, .. }] => *member,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(knocks(&out, 1), vec![(g, payload("now"))]);
    h.disconnect(1);
    h.connect(2);
    assert_eq!(
        knocks(&h.send(2, create(1, 1)), 2),
        vec![(g, payload("now"))]
    );
    // Rejected: gone, and its knock with it.
    h.send(
        2,
        ClientMessage::Reject {
            room: room(1),
            member: g,
        },
    );
    h.connect(3);
    assert!(knocks(&h.send(3, create(1, 1)), 3).is_empty());
    assert!(
        h.relay.rooms[&room(1)]
            .members
            .values()
            .all(|m| m.held_knock.is_none())
    );
}

#[test]
fn away_lobby_seats_of_a_planned_room_are_kept_until_keep_until() {
    let mut h = H::new(small());
    let now = h.unix();
    h.plan(1, 1, now + HOUR);
    h.add_window(1, 1, 2, now, now + HOUR);
    h.disconnect(1);
    let g = match sent_to(&h.knock_raw(10, 1, 2), 10).as_slice() {
        [ServerMessage::Waiting { member, .. }] => *member,
        other => panic!("unexpected {other:?}"),
    };
    h.disconnect(10);
    // Long past the grace period, the sleeping phone gets its seat back.
    h.advance(Duration::from_secs(HOUR / 2));
    h.connect(11);
    let out = h.send(11, resume(1, g, 2));
    assert!(matches!(
        sent_to(&out, 11).as_slice(),
        [ServerMessage::Waiting { member, .. }] if *member == g
    ));
    h.disconnect(11);
    // Until keep_until: then the seat and the room are gone.
    h.advance_to(now + HOUR - 1);
    assert!(h.relay.rooms[&room(1)].members.contains_key(&g));
    h.advance_to(now + HOUR);
    assert_eq!(h.relay.room_count(), 0);
}

#[test]
fn away_lobby_seats_of_a_planned_room_with_its_host_present_expire_at_keep_until() {
    let mut h = H::new(small());
    let now = h.unix();
    h.plan(1, 1, now + 100);
    h.add_window(1, 1, 2, now, now + 100);
    let g = h.knock(10, 1, 2);
    h.disconnect(10);
    h.advance_to(now + 99);
    assert!(h.relay.rooms[&room(1)].members.contains_key(&g));
    // keep_until passed, and the grace period since she went away is long over.
    let out = h.advance_to(now + 100);
    assert!(sent_to(&out, 1).contains(&ServerMessage::MemberLeft {
        room: room(1),
        member: g
    }));
    assert!(!h.relay.rooms[&room(1)].members.contains_key(&g));
    // An immediate room's lobby seat still lasts only the grace period.
    let mut h = H::new(small());
    h.create(1, 1);
    h.add_invite(1, 1, 2, None);
    let g = h.knock(10, 1, 2);
    h.disconnect(10);
    h.advance(small().grace);
    assert!(!h.relay.rooms[&room(1)].members.contains_key(&g));
}
