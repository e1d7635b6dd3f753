//! The hand-written relay message codec against the serde implementation it
//! replaced (`serde_reference` and the test-only derives): same bytes out,
//! same messages read, same texts refused.

use super::*;
use crate::json::corpus::{Rng, agree, random_edit, variants};

const CLIENT_FIELDS: [&str; 17] = [
    "type",
    "v",
    "room",
    "host_token",
    "counsellor",
    "keep_until",
    "token_hash",
    "ttl_secs",
    "opens",
    "closes",
    "invite_token",
    "resume_hash",
    "payload",
    "resume_secret",
    "next_resume_hash",
    "member",
    "to",
];

fn client_messages() -> Vec<ClientMessage> {
    let room = RoomId([7; 16]);
    let hash = TokenHash([3; 32]);
    vec![
        ClientMessage::CreateRoom {
            v: 1,
            room,
            host_token: HostToken([1; 32]),
            counsellor: CounsellorToken([2; 48]),
            keep_until: None,
        },
        ClientMessage::CreateRoom {
            v: u32::MAX,
            room,
            host_token: HostToken([0xff; 32]),
            counsellor: CounsellorToken([0xfe; 48]),
            keep_until: Some(u64::MAX),
        },
        ClientMessage::AddInvite {
            room,
            token_hash: hash,
            ttl_secs: Some(600),
            opens: None,
            closes: None,
        },
        ClientMessage::AddInvite {
            room,
            token_hash: hash,
            ttl_secs: None,
            opens: Some(1_789_999_100),
            closes: Some(1_790_003_600),
        },
        ClientMessage::RevokeInvite {
            room,
            token_hash: hash,
        },
        ClientMessage::Knock {
            v: 1,
            room,
            invite_token: InviteToken([4; 32]),
            resume_hash: hash,
            payload: Blob(vec![0xfb; 40]),
        },
        ClientMessage::Resume {
            v: 1,
            room,
            member: MemberId(9),
            resume_secret: ResumeSecret([5; 32]),
            next_resume_hash: hash,
        },
        ClientMessage::Admit {
            room,
            member: MemberId(0),
        },
        ClientMessage::Reject {
            room,
            member: MemberId(u32::MAX),
        },
        ClientMessage::Remove {
            room,
            member: MemberId(3),
        },
        ClientMessage::Send {
            room,
            to: None,
            payload: Blob(vec![]),
        },
        ClientMessage::Send {
            room,
            to: Some(MemberId(2)),
            payload: Blob(vec![1, 2, 3]),
        },
        ClientMessage::Leave { room },
        ClientMessage::EndSession { room },
    ]
}

fn server_messages() -> Vec<ServerMessage> {
    let room = RoomId([7; 16]);
    vec![
        ServerMessage::RoomCreated {
            room,
            member: MemberId(1),
            resumed: true,
            members: vec![MemberId(2), MemberId(3)],
            lobby: vec![],
        },
        ServerMessage::InviteAdded {
            room,
            token_hash: TokenHash([3; 32]),
            ttl_secs: 600,
        },
        ServerMessage::Waiting {
            room,
            member: MemberId(4),
            host: MemberId(1),
        },
        ServerMessage::Knocked {
            room,
            member: MemberId(4),
            payload: Blob(vec![9; 100]),
        },
        ServerMessage::Admitted {
            room,
            member: MemberId(4),
            host: MemberId(1),
            members: vec![MemberId(2)],
        },
        ServerMessage::Rejected { room },
        ServerMessage::Removed { room },
        ServerMessage::MemberJoined {
            room,
            member: MemberId(5),
        },
        ServerMessage::MemberAway {
            room,
            member: MemberId(5),
        },
        ServerMessage::MemberLeft {
            room,
            member: MemberId(5),
        },
        ServerMessage::Deliver {
            room,
            from: MemberId(1),
            payload: Blob(vec![0, 255]),
        },
        ServerMessage::IceServers {
            room,
            servers: vec![
                IceServer {
                    urls: vec![
                        "turn:203.0.113.10:3478?transport=udp".into(),
                        "stun:[2001:db8::1]:3478".into(),
                    ],
                    username: "1790000000:3".into(),
                    credential: "c2VjcmV0+/=".into(),
                },
                IceServer {
                    urls: vec![],
                    username: String::new(),
                    credential: "\"quoted\\\u{1}\"".into(),
                },
            ],
        },
        ServerMessage::SessionEnded { room },
        ServerMessage::ShuttingDown,
        ServerMessage::Error {
            code: ErrorCode::RoomFull,
            room: None,
        },
        ServerMessage::Error {
            code: ErrorCode::UnknownMember,
            room: Some(room),
        },
    ]
}

#[test]
fn client_messages_are_written_byte_for_byte_as_serde_did() {
    for message in client_messages() {
        assert_eq!(message.to_json(), serde_json::to_string(&message).unwrap());
    }
}

#[test]
fn server_messages_are_written_byte_for_byte_as_serde_did() {
    for message in server_messages() {
        assert_eq!(message.to_json(), serde_json::to_string(&message).unwrap());
    }
    for code in ErrorCode::ALL {
        let message = ServerMessage::Error { code, room: None };
        assert_eq!(message.to_json(), serde_json::to_string(&message).unwrap());
    }
}

fn client_agrees(text: &str) -> bool {
    agree(
        text,
        ClientMessage::from_json(text),
        serde_json::from_str::<ClientMessage>(text),
    )
}

fn server_agrees(text: &str) -> bool {
    agree(
        text,
        ServerMessage::from_json(text),
        serde_json::from_str::<ServerMessage>(text),
    )
}

#[test]
fn client_messages_are_read_and_refused_as_serde_did() {
    let (mut read, mut refused) = (0, 0);
    for message in client_messages() {
        for text in variants(&message.to_json(), &CLIENT_FIELDS) {
            if client_agrees(&text) {
                read += 1;
            } else {
                refused += 1;
            }
        }
    }
    // Both outcomes were exercised, many times.
    assert!(
        read > 100 && refused > 1000,
        "read {read}, refused {refused}"
    );
}

#[test]
fn server_messages_are_read_and_refused_as_serde_did() {
    let mut fields = flat::FIELDS.to_vec();
    fields.push("type");
    let (mut read, mut refused) = (0, 0);
    for message in server_messages() {
        for text in variants(&message.to_json(), &fields) {
            if server_agrees(&text) {
                read += 1;
            } else {
                refused += 1;
            }
        }
    }
    assert!(
        read > 100 && refused > 1000,
        "read {read}, refused {refused}"
    );
    // Nested: an ICE server entry's own fields.
    let room = RoomId([7; 16]).to_base64();
    for server in variants(
        r#"{"urls":["turn:x"],"username":"u","credential":"c"}"#,
        &["room"],
    ) {
        server_agrees(&format!(
            r#"{{"type":"ice_servers","room":"{room}","servers":[{server}]}}"#
        ));
    }
}

#[test]
fn random_edits_are_read_and_refused_as_serde_did() {
    let mut rng = Rng::new(0x5eed_0010);
    let clients: Vec<String> = client_messages().iter().map(|m| m.to_json()).collect();
    let servers: Vec<String> = server_messages().iter().map(|m| m.to_json()).collect();
    let mut read = 0;
    for _ in 0..20_000 {
        let i = rng.below(clients.len());
        let text = random_edit(&mut rng, &clients[i]);
        read += usize::from(client_agrees(&text));
        let i = rng.below(servers.len());
        let text = random_edit(&mut rng, &servers[i]);
        read += usize::from(server_agrees(&text));
    }
    assert!(read > 500, "some edits still read ({read})");
}

/// The one difference, on purpose: serde also read a struct from a JSON
/// array of its fields and an enum value from `{"name":null}`; no writer
/// ever produced either, and the relay now refuses them.
#[test]
fn array_and_map_forms_serde_took_are_refused() {
    let r = RoomId([7; 16]).to_base64();
    let array = format!(r#"["leave","{r}"]"#);
    assert!(serde_json::from_str::<ClientMessage>(&array).is_ok());
    assert!(ClientMessage::from_json(&array).is_err());
    let map = format!(r#"{{"type":"error","code":{{"room_full":null}},"room":"{r}"}}"#);
    assert!(serde_json::from_str::<ServerMessage>(&map).is_ok());
    assert!(ServerMessage::from_json(&map).is_err());
}
