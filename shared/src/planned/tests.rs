// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use super::*;
use crate::appointment::DEFAULT_OPENS_BEFORE_SECS;

const START: u64 = 1_796_216_400;

fn rng() -> ChaCha20Rng {
    ChaCha20Rng::from_seed([5; 32])
}

fn at(start: u64) -> Appointment {
    Appointment::new(start, DEFAULT_OPENS_BEFORE_SECS, 50 * 60).unwrap()
}

#[test]
fn a_planned_session_survives_its_stored_line() {
    let s = PlannedSession::new(&mut rng(), at(START), "  für M.  ").unwrap();
    assert_eq!(s.label(), "für M.");
    let line = s.to_line();
    assert!(line.starts_with("p1 "));
    let back = PlannedSession::from_line(&line).unwrap();
    assert_eq!(back.room(), s.room());
    assert_eq!(back.appointment(), s.appointment());
    assert_eq!(back.label(), "für M.");
    assert_eq!(
        back.link("https://x.example").as_str(),
        s.link("https://x.example").as_str()
    );
    assert!(s.link("https://x.example").contains("/#2"));
}

#[test]
fn labels_are_checked() {
    let long = "x".repeat(MAX_LABEL_CHARS + 1);
    assert_eq!(
        PlannedSession::new(&mut rng(), at(START), &long).err(),
        Some(LabelError::TooLong)
    );
    assert_eq!(
        PlannedSession::new(&mut rng(), at(START), "a\nb").err(),
        Some(LabelError::ControlCharacter)
    );
    assert!(PlannedSession::new(&mut rng(), at(START), &"ü".repeat(MAX_LABEL_CHARS)).is_ok());
    assert!(PlannedSession::new(&mut rng(), at(START), "").is_ok());
}

#[test]
fn broken_or_foreign_lines_are_kept_not_dropped() {
    let mut r = rng();
    let good = PlannedSession::new(&mut r, at(START), "a").unwrap();
    let other = PlannedSession::new(&mut r, at(START), "b").unwrap();
    // A line whose link belongs to another session's room is refused.
    let swapped = format!(
        "p1 {} {} ",
        URL_SAFE_NO_PAD.encode(good.secret.as_bytes()),
        other.invite.fragment().as_str()
    );
    let v1_link = format!(
        "p1 {} {} ",
        URL_SAFE_NO_PAD.encode(good.secret.as_bytes()),
        Invite::new(good.room(), good.invite.secret().clone())
            .fragment()
            .as_str()
    );
    for bad in [
        "p2 something newer".to_owned(),
        "p1 short".to_owned(),
        swapped,
        v1_link,
        format!("{} extra", good.to_line().as_str()),
    ] {
        assert!(PlannedSession::from_line(&bad).is_none(), "{bad}");
    }
    let text = format!("{}\np2 something newer\n\n", good.to_line().as_str());
    let list = PlannedList::from_text(&text);
    assert_eq!(list.sessions().len(), 1);
    assert_eq!(list.unreadable(), 1);
    let again = PlannedList::from_text(&list.to_text());
    assert_eq!(again.sessions().len(), 1);
    assert_eq!(again.unreadable(), 1);
    let mut cleared = again;
    cleared.clear();
    assert_eq!(cleared.to_text().as_str(), "");
}

#[test]
fn the_list_is_in_start_order_and_forgets_past_sessions() {
    let mut r = rng();
    let mut list = PlannedList::default();
    let late = PlannedSession::new(&mut r, at(START + 86_400 * 3), "later").unwrap();
    let soon = PlannedSession::new(&mut r, at(START), "soon").unwrap();
    list.add(late.clone());
    list.add(soon.clone());
    let labels: Vec<&str> = list.sessions().iter().map(|s| s.label()).collect();
    assert_eq!(labels, ["soon", "later"]);

    // Only today's window is registered.
    let now = START - 3600;
    let due: Vec<RoomId> = list.due_for_registration(now).map(|s| s.room()).collect();
    assert_eq!(due, [soon.room()]);

    assert_eq!(list.drop_past(START + 50 * 60 - 1), 0);
    assert_eq!(list.drop_past(START + 50 * 60), 1);
    assert_eq!(list.sessions().len(), 1);
    assert!(list.get(late.room()).is_some());
    assert!(list.remove(late.room()).is_some());
    assert!(list.remove(late.room()).is_none());
}

#[test]
fn registration_is_an_immediate_sessions_messages_plus_the_window() {
    let s = PlannedSession::new(&mut rng(), at(START), "").unwrap();
    let [create, invite] = s.registration(CounsellorToken([9; 48]));
    let a = s.appointment();
    match create {
        ClientMessage::CreateRoom {
            room,
            host_token,
            keep_until,
            ..
        } => {
            assert_eq!(room, s.room());
            assert_eq!(crate::link::room_id_of(&host_token), room);
            assert_eq!(keep_until, Some(a.closes()));
        }
        other => panic!("{other:?}"),
    }
    match invite {
        ClientMessage::AddInvite {
            room,
            token_hash,
            ttl_secs,
            opens,
            closes,
        } => {
            assert_eq!(room, s.room());
            assert_eq!(token_hash, s.invite.token().hash());
            assert_eq!(ttl_secs, None);
            assert_eq!((opens, closes), (Some(a.opens()), Some(a.closes())));
        }
        other => panic!("{other:?}"),
    }
    // Opening it: the one invite, still open.
    let resume = s.host_resume();
    assert_eq!(resume.secret.room_id(), s.room());
    assert_eq!(resume.invites.len(), 1);
    assert!(resume.invites[0].member.is_none());
    assert_eq!(resume.invites[0].invite.appointment(), Some(a));
}

#[test]
fn a_du_session_keeps_its_choice_in_its_line_and_an_old_line_reads_as_sie() {
    let sie = PlannedSession::new(&mut rng(), at(START), "a").unwrap();
    let du = sie.clone().with_address(Address::Informal);
    // The link says it, so the guest's pages do.
    assert!(du.link("https://b.example").ends_with(".du"));
    assert!(!sie.link("https://b.example").ends_with(".du"));
    let back = PlannedSession::from_line(&du.to_line()).unwrap();
    assert_eq!(back.address(), Address::Informal);
    assert_eq!(back.room(), du.room());
    // The session it opens hands out the same link, marker and all.
    let resume = back.host_resume();
    assert_eq!(resume.invites[0].invite.address(), Address::Informal);
    // A line written before the marker existed (this one is such a line:
    // the format is unchanged without it) reads as "Sie".
    let old = sie.to_line();
    assert_eq!(old.split(' ').count(), 4);
    assert_eq!(
        PlannedSession::from_line(&old).unwrap().address(),
        Address::Formal
    );
    // A damaged marker is kept as an unreadable line, never dropped.
    let damaged = du.to_line().replace(".du ", ".dx ");
    let list = PlannedList::from_text(&damaged);
    assert!(list.sessions().is_empty());
    assert_eq!(list.to_text().trim_end(), damaged.as_str());
}
