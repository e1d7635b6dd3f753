//! Feeds arbitrary sequences of connections, raw text, well-formed messages,
//! disconnects and time steps into the relay's pure room state machine, and
//! checks its bookkeeping and outputs after every step.
#![no_main]

use std::collections::HashSet;
use std::time::{Duration, Instant};

use confide_relay::limits::Limits;
use confide_relay::room::{ConnId, Output, Relay, parse_text};
use confide_shared::wire::{
    Blob, ClientMessage, HostToken, InviteToken, MemberId, ResumeSecret, RoomId, ServerMessage,
};
use libfuzzer_sys::fuzz_target;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> Option<u8> {
        let (first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*first)
    }
    fn take(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

/// Rooms 0 and 1 are those of host tokens 0 and 1 (the relay checks the
/// binding); room 2 has no token here, so its creates are refused.
fn room(b: u8) -> RoomId {
    confide_shared::link::room_id_of(&HostToken([b % 3; 32]))
}

fn check(out: &[Output], members: &mut Vec<MemberId>) {
    let mut closed: HashSet<ConnId> = HashSet::new();
    for o in out {
        match o {
            Output::Close(c, close) => {
                assert!(closed.insert(*c), "closed twice in one step");
                assert!(close.code == 1000 || (4000..5000).contains(&close.code));
            }
            Output::Send(c, msg) => {
                assert!(!closed.contains(c), "message after close");
                assert!(msg.to_json().len() < 200_000);
                match msg {
                    ServerMessage::RoomCreated { member, .. }
                    | ServerMessage::Waiting { member, .. }
                    | ServerMessage::Knocked { member, .. }
                    | ServerMessage::MemberJoined { member, .. } => members.push(*member),
                    _ => {}
                }
            }
        }
    }
    if members.len() > 64 {
        members.drain(..32);
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_message_bytes: 4096,
        rate_per_sec: 20,
        rate_burst: 30,
        max_rooms_per_connection: 2,
        max_participants: 3,
        max_rooms: 4,
        max_invites_per_room: 3,
        grace: Duration::from_millis(500),
        invite_ttl: Duration::from_secs(2),
        invite_ttl_max: Duration::from_secs(5),
        planned_room_max: Duration::from_secs(5),
        ..Limits::default()
    };
    // Sign-ins from this key pass (b % 3 == 2 sends a forged one).
    let key = confide_relay::counsellor::CounsellorKey::from_bytes([7; 32]);
    let signed_in = key.token(&confide_relay::counsellor::CounsellorId([1; 16]));
    let access = std::sync::Arc::new(confide_relay::counsellor::Access::new(key));
    let mut relay = Relay::new(limits, 1, access);
    let mut now = Instant::now();
    // Planned sessions: unix time 1000 s at the start.
    relay.set_wall_clock(now, Duration::from_secs(1000));
    let mut members: Vec<MemberId> = vec![MemberId(0)];
    let mut bytes = Bytes(data);
    while let Some(op) = bytes.next() {
        let conn = ConnId::from(bytes.next().unwrap_or(0) % 6);
        let out = match op % 8 {
            0 => {
                relay.connect(conn, now);
                Vec::new()
            }
            1 => relay.disconnect(conn, now),
            2 => {
                now += Duration::from_millis(u64::from(bytes.next().unwrap_or(0)) * 10);
                relay.tick(now)
            }
            3 => {
                let len = usize::from(bytes.next().unwrap_or(0));
                let text = String::from_utf8_lossy(bytes.take(len)).into_owned();
                let (size, parsed) = parse_text(&text);
                relay.receive_parsed(conn, size, parsed, now)
            }
            _ => {
                let kind = bytes.next().unwrap_or(0);
                let a = bytes.next().unwrap_or(0);
                let b = bytes.next().unwrap_or(0);
                let member = members[usize::from(b) % members.len()];
                let v = if a == 255 { 2 } else { 1 };
                let msg = match kind % 11 {
                    0 => ClientMessage::CreateRoom {
                        v,
                        room: room(a),
                        host_token: HostToken([b % 2; 32]),
                        counsellor: if b % 3 == 2 {
                            confide_shared::wire::CounsellorToken([b; 48])
                        } else {
                            signed_in.clone()
                        },
                        keep_until: (a & 8 != 0).then_some(1000 + u64::from(b % 8)),
                    },
                    1 => ClientMessage::AddInvite {
                        room: room(a),
                        token_hash: InviteToken([b % 4; 32]).hash(),
                        ttl_secs: (a & 4 == 0).then_some(u32::from(b % 8)),
                        opens: (a & 8 != 0).then_some(1000 + u64::from(b % 4)),
                        closes: (a & 16 != 0).then_some(1000 + u64::from(b / 4 % 8)),
                    },
                    2 => ClientMessage::RevokeInvite {
                        room: room(a),
                        token_hash: InviteToken([b % 4; 32]).hash(),
                    },
                    3 => ClientMessage::Knock {
                        v,
                        room: room(a),
                        invite_token: InviteToken([b % 4; 32]),
                        resume_hash: ResumeSecret([b % 4; 32]).hash(),
                        payload: Blob(vec![a; usize::from(b)]),
                    },
                    4 => ClientMessage::Resume {
                        v,
                        room: room(a),
                        member,
                        resume_secret: ResumeSecret([a % 4; 32]),
                        next_resume_hash: ResumeSecret([b % 4; 32]).hash(),
                    },
                    5 => ClientMessage::Admit {
                        room: room(a),
                        member,
                    },
                    6 => ClientMessage::Reject {
                        room: room(a),
                        member,
                    },
                    7 => ClientMessage::Remove {
                        room: room(a),
                        member,
                    },
                    8 => ClientMessage::Send {
                        room: room(a),
                        to: (a & 8 == 0).then_some(member),
                        payload: Blob(vec![b; usize::from(a)]),
                    },
                    9 => ClientMessage::Leave { room: room(a) },
                    _ => ClientMessage::EndSession { room: room(a) },
                };
                // Through the text path, so decoding is exercised as well.
                let (size, parsed) = parse_text(&msg.to_json());
                relay.receive_parsed(conn, size, parsed, now)
            }
        };
        relay.check_invariants();
        check(&out, &mut members);
        now += Duration::from_millis(1);
    }
});
