//! The hand-written snapshot codec against the serde derive it replaced:
//! same bytes out, same snapshots read, same texts refused.

use rand_core::OsRng;

use super::*;
use crate::json::corpus::{Rng, agree, random_edit, variants};

const FIELDS: [&str; 12] = [
    "role",
    "invite",
    "name",
    "member",
    "resume_secret",
    "next_resume_secret",
    "secret",
    "next_invite",
    "invites",
    "admitted",
    "rejected",
    "id",
];

fn snapshots() -> Vec<Resume> {
    let secret = SessionSecret::generate(&mut OsRng);
    let invite = secret.new_invite(&mut OsRng);
    let other = secret.new_invite(&mut OsRng);
    vec![
        Resume::Guest(GuestResume {
            invite: invite.clone(),
            name: "Zoë \"Z\"\n".into(),
            member: MemberId(9),
            resume_secret: ResumeSecret([5; 32]),
            next_resume_secret: None,
        }),
        Resume::Guest(GuestResume {
            invite: invite.clone(),
            name: String::new(),
            member: MemberId(u32::MAX),
            resume_secret: ResumeSecret([5; 32]),
            next_resume_secret: Some(ResumeSecret([6; 32])),
        }),
        Resume::Host(HostResume {
            secret: SessionSecret::from_bytes(*secret.as_bytes()),
            next_invite: 3,
            invites: vec![
                StoredInvite {
                    id: 1,
                    invite,
                    member: Some(MemberId(7)),
                },
                StoredInvite {
                    id: 2,
                    invite: other,
                    member: None,
                },
            ],
            admitted: vec![MemberId(7)],
            rejected: vec![],
        }),
    ]
}

/// A snapshot as the new writer writes it (the writer is checked separately).
fn stored_agrees(text: &str) -> bool {
    agree(
        text,
        Stored::read(text).map(|s| s.write().to_string()),
        serde_json::from_str::<Stored>(text).map(|s| s.write().to_string()),
    )
}

#[test]
fn snapshots_are_written_byte_for_byte_as_serde_did() {
    for snapshot in snapshots() {
        let json = snapshot.to_json();
        let stored = serde_json::from_str::<Stored>(&json).unwrap();
        assert_eq!(*json, serde_json::to_string(&stored).unwrap());
    }
    let empty = Stored::default();
    assert_eq!(*empty.write(), serde_json::to_string(&empty).unwrap());
}

#[test]
fn snapshots_are_read_and_refused_as_serde_did() {
    let mut texts = Vec::new();
    for snapshot in snapshots() {
        let json = snapshot.to_json();
        texts.extend(variants(&json, &FIELDS));
        // An invite entry's own fields (unknown ones are ignored there).
        if let Some(start) = json.find("[{") {
            let end = start + json[start..].find('}').unwrap();
            for inner in variants(&json[start + 1..end + 1], &["bogus"]) {
                texts.push(format!("{}{inner}{}", &json[..=start], &json[end + 1..]));
            }
        }
    }
    let (mut read, mut refused) = (0, 0);
    for text in &texts {
        if stored_agrees(text) {
            read += 1;
        } else {
            refused += 1;
        }
    }
    assert!(
        read > 100 && refused > 300,
        "read {read}, refused {refused}"
    );
    let mut rng = Rng::new(0x5eed_0030);
    let valid: Vec<String> = snapshots()
        .iter()
        .map(|s| s.to_json().to_string())
        .collect();
    for _ in 0..10_000 {
        let i = rng.below(valid.len());
        stored_agrees(&random_edit(&mut rng, &valid[i]));
    }
}
