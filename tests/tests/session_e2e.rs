//! The real protocol code (`shared::session::Session`, the same state machine
//! the browser runs) talking through the real relay over real WebSockets on
//! loopback: a counsellor and a guest complete the handshake, compare equal
//! safety codes, exchange media keys, WebRTC signals and chat. Every message
//! the relay received or sent is recorded and scanned for plaintext that only
//! the two browsers know.

#![allow(clippy::expect_used)] // test helpers: a failed expectation is a failed test

use std::time::Duration;

use confide_shared::link::{Invite, InviteSecret};
use confide_shared::resume::Resume;
use confide_shared::session::{Effect, EndReason, Event, RejectReason, Session};
use confide_shared::signal::Signal;
use confide_shared::wire::{ClientMessage, ErrorCode, MemberId};
use confide_tests::relay::TestRelay;
use confide_tests::ws::{Client, Event as WsEvent};
use rand_core::OsRng;

const GUEST_NAME: &str = "Mira Vertraulich";
const CHAT_HOST: &str = "Wie geht es Ihnen heute?";
const CHAT_GUEST: &str = "Ehrlich gesagt nicht so gut.";
const SDP_OFFER: &str = "v=0\r\na=fingerprint:sha-256 AB:CD:EF:01\r\na=ice-ufrag:geheim1\r\n";
const CANDIDATE: &str = "candidate:1 1 udp 2122260223 192.0.2.7 54321 typ host";

/// One participant: a Session, its socket, and everything it saw.
struct Party {
    session: Session,
    ws: Client,
    /// Every text the relay received from this party.
    sent_wire: Vec<String>,
    events: Vec<Event>,
}

impl Party {
    async fn new(relay: &TestRelay, session: Session, first: ClientMessage) -> Party {
        let ws = Client::connect(&relay.ws_url()).await;
        let mut party = Party {
            session,
            ws,
            sent_wire: Vec::new(),
            events: Vec::new(),
        };
        party.send(first).await;
        party
    }

    async fn send(&mut self, message: ClientMessage) {
        self.sent_wire.push(message.to_json());
        self.ws.send(&message).await;
    }

    async fn apply(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send(message) => self.send(message).await,
                Effect::Event(event) => self.events.push(event),
            }
        }
    }

    /// Handles relay messages until `done` holds for a recorded event.
    async fn until(&mut self, what: &str, done: impl Fn(&Event) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !self.events.iter().any(&done) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; events: {:?}",
                self.events
            );
            match self.ws.next_event().await {
                WsEvent::Message(message) => {
                    let effects = self.session.handle(&mut OsRng, message);
                    self.apply(effects).await;
                }
                WsEvent::Closed(close) => {
                    let effects = self
                        .session
                        .connection_closed(close.as_ref().map(|(code, _)| *code).unwrap_or(1006));
                    self.apply(effects).await;
                    assert!(
                        self.events.iter().any(&done),
                        "connection closed ({close:?}) before {what}; events: {:?}",
                        self.events
                    );
                }
            }
        }
    }

    /// Like [`Party::until`], until `done` holds for `count` recorded events.
    async fn until_count(&mut self, what: &str, count: usize, done: impl Fn(&Event) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.events.iter().filter(|e| done(e)).count() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; events: {:?}",
                self.events
            );
            match self.ws.next_event().await {
                WsEvent::Message(message) => {
                    let effects = self.session.handle(&mut OsRng, message);
                    self.apply(effects).await;
                }
                WsEvent::Closed(close) => panic!("connection closed ({close:?}) before {what}"),
            }
        }
    }

    fn secured(&self) -> Option<(MemberId, String)> {
        self.events.iter().find_map(|e| match e {
            Event::PeerSecured {
                member,
                sas: Some(sas),
                ..
            } => Some((*member, sas.to_string())),
            _ => None,
        })
    }

    /// Everything the relay saw of this party, both directions.
    fn wire_text(&self) -> String {
        let mut all = self.sent_wire.join("\n");
        all.push('\n');
        all.push_str(&self.ws.received.join("\n"));
        all
    }
}

/// A counsellor with a room and one invite link; returns the party and the link.
async fn host_with_invite(relay: &TestRelay) -> (Party, String) {
    let (session, create) = Session::new_host(&mut OsRng, confide_tests::ws::counsellor_token());
    let mut host = Party::new(relay, session, create).await;
    host.until("room ready", |e| matches!(e, Event::RoomReady))
        .await;
    let (_, url, add) = host
        .session
        .create_invite(&mut OsRng, "https://beratung.example")
        .expect("invite");
    host.send(add).await;
    // The relay confirms with invite_added; the session ignores it.
    let _ = host.ws.recv().await;
    (host, url)
}

async fn guest_knocks(relay: &TestRelay, url: &str, name: &str) -> Party {
    let invite = Invite::parse(url).expect("link parses");
    let (session, knock, _resume) = Session::new_guest(&mut OsRng, invite, name).expect("knock");
    Party::new(relay, session, knock).await
}

/// Runs the counsellor and guest through knock, admission and handshake.
async fn connected_pair(relay: &TestRelay) -> (Party, Party, String) {
    let (mut host, url) = host_with_invite(relay).await;
    let mut guest = guest_knocks(relay, &url, GUEST_NAME).await;
    guest
        .until("waiting", |e| matches!(e, Event::Waiting))
        .await;
    host.until("knock", |e| matches!(e, Event::Knocked { .. }))
        .await;
    let (member, name) = host
        .events
        .iter()
        .find_map(|e| match e {
            Event::Knocked { member, name, .. } => Some((*member, name.clone())),
            _ => None,
        })
        .expect("knock event");
    assert_eq!(
        name.as_deref(),
        Some(GUEST_NAME),
        "the counsellor reads the name the guest typed"
    );
    let effects = host.session.admit(member);
    host.apply(effects).await;
    // Guest: m2 → m3; host: m3 → m4 + secured; guest: m4 → secured.
    let guest_task = async {
        guest
            .until("guest secured", |e| matches!(e, Event::PeerSecured { .. }))
            .await;
        guest
    };
    let host_task = async {
        host.until("host secured", |e| matches!(e, Event::PeerSecured { .. }))
            .await;
        host
    };
    let (guest, host) = tokio::join!(guest_task, host_task);
    (host, guest, url)
}

#[tokio::test]
async fn counsellor_and_guest_agree_on_the_safety_code_and_talk() {
    let relay = TestRelay::start(None).await;
    let (mut host, mut guest, url) = connected_pair(&relay).await;
    let (guest_member, host_sas) = host.secured().expect("host secured");
    let (host_member, guest_sas) = guest.secured().expect("guest secured");
    assert_eq!(host_sas, guest_sas, "both sides show the same safety code");
    assert_eq!(host_sas.chars().filter(char::is_ascii_digit).count(), 6);

    // Both hand out media keys.
    host.until("local key", |e| matches!(e, Event::LocalSenderKey { .. }))
        .await;
    guest
        .until("host's key", |e| matches!(e, Event::PeerSenderKey { .. }))
        .await;
    host.until("guest's key", |e| matches!(e, Event::PeerSenderKey { .. }))
        .await;
    let host_local = host.events.iter().find_map(|e| match e {
        Event::LocalSenderKey { kid, key, .. } => Some((*kid, **key)),
        _ => None,
    });
    let guest_view = guest.events.iter().find_map(|e| match e {
        Event::PeerSenderKey { kid, key, .. } => Some((*kid, **key)),
        _ => None,
    });
    assert_eq!(
        host_local, guest_view,
        "the guest holds exactly the counsellor's media key"
    );

    // WebRTC signals and chat, both ways.
    let effects = host.session.send_rtc(
        guest_member,
        &Signal::Offer {
            sdp: SDP_OFFER.into(),
        },
    );
    host.apply(effects).await;
    let effects = host.session.send_rtc(
        guest_member,
        &Signal::Ice {
            candidate: CANDIDATE.into(),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        },
    );
    host.apply(effects).await;
    let (effects, _) = host.session.chat(CHAT_HOST, 1).expect("chat");
    host.apply(effects).await;
    guest
        .until("chat", |e| matches!(e, Event::Chat { .. }))
        .await;
    assert!(guest.events.iter().any(
        |e| matches!(e, Event::Rtc { signal: Signal::Offer { sdp }, .. } if sdp == SDP_OFFER)
    ));
    assert!(guest.events.iter().any(|e| matches!(
        e,
        Event::Rtc {
            signal: Signal::Ice { .. },
            ..
        }
    )));
    assert!(guest.events.iter().any(|e| matches!(e, Event::Chat { text, member, .. } if text == CHAT_HOST && *member == host_member)));
    let (effects, _) = guest.session.chat(CHAT_GUEST, 2).expect("chat");
    guest.apply(effects).await;
    host.until(
        "chat back",
        |e| matches!(e, Event::Chat { text, .. } if text == CHAT_GUEST),
    )
    .await;

    // Nothing the two browsers know appears in any byte the relay handled.
    let wire = format!("{}\n{}", host.wire_text(), guest.wire_text());
    let fragment = url.split('#').nth(1).expect("fragment");
    let forbidden: Vec<(&str, String)> = vec![
        ("guest name", GUEST_NAME.into()),
        ("guest name (part)", "Vertraulich".into()),
        ("chat from counsellor", CHAT_HOST.into()),
        ("chat from guest", CHAT_GUEST.into()),
        ("SDP fingerprint line", "a=fingerprint".into()),
        ("SDP ufrag", "ice-ufrag".into()),
        ("ICE candidate", "candidate:".into()),
        ("candidate address", "192.0.2.7".into()),
        ("link fragment", fragment.into()),
        ("link secret (tail)", fragment[fragment.len() - 20..].into()),
        ("safety code", host_sas.replace(' ', "")),
    ];
    assert!(
        wire.len() > 2000,
        "the scan saw the traffic ({} bytes)",
        wire.len()
    );
    for (what, needle) in forbidden {
        assert!(!wire.contains(&needle), "the relay saw the {what} in clear");
    }
}

#[tokio::test]
async fn a_used_link_is_refused_like_any_link_that_does_not_get_in() {
    let relay = TestRelay::start(None).await;
    let (_host, _guest, url) = connected_pair(&relay).await;
    let mut second = guest_knocks(&relay, &url, "Zweiter Versuch").await;
    second
        .until("refusal", |e| {
            matches!(e, Event::Ended(EndReason::Relay(ErrorCode::InviteInvalid)))
        })
        .await;
}

#[tokio::test]
async fn a_link_with_the_right_room_but_a_wrong_secret_gets_nowhere() {
    let relay = TestRelay::start(None).await;
    let (mut host, url) = host_with_invite(&relay).await;
    // Same room id, different secret: flip one character of the secret part.
    let mut forged: Vec<char> = url.chars().collect();
    let last = forged.len() - 3;
    forged[last] = if forged[last] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let mut intruder = guest_knocks(&relay, &forged, "Eindringling").await;
    intruder
        .until("refusal", |e| {
            matches!(e, Event::Ended(EndReason::Relay(ErrorCode::InviteInvalid)))
        })
        .await;
    // The counsellor never saw a knock.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !host
            .events
            .iter()
            .any(|e| matches!(e, Event::Knocked { .. }))
    );
    let _ = &mut host;
}

#[tokio::test]
async fn a_tampered_message_is_refused_and_the_session_goes_on() {
    let relay = TestRelay::start(None).await;
    let (mut host, mut guest, _url) = connected_pair(&relay).await;
    let (guest_member, _) = host.secured().expect("secured");
    // The counsellor's next chat line, with one bit flipped on the way (as a malicious relay would).
    let (effects, _) = host.session.chat("erste Nachricht", 1).expect("chat");
    for effect in effects {
        if let Effect::Send(ClientMessage::Send {
            room,
            to,
            mut payload,
        }) = effect
        {
            let middle = payload.0.len() / 2;
            payload.0[middle] ^= 0x01;
            host.send(ClientMessage::Send { room, to, payload }).await;
        }
    }
    guest
        .until("refusal", |e| matches!(e, Event::Rejected { .. }))
        .await;
    // Replay: the guest's next genuine message, sent twice.
    let (effects, _) = host.session.chat("zweite Nachricht", 2).expect("chat");
    for effect in effects {
        if let Effect::Send(message) = effect {
            host.send(message.clone()).await;
            host.send(message).await;
        }
    }
    guest
        .until(
            "second line",
            |e| matches!(e, Event::Chat { text, .. } if text == "zweite Nachricht"),
        )
        .await;
    guest
        .until("replay refused", |e| matches!(e, Event::Rejected { reason, .. } if format!("{reason:?}").contains("eplay")))
        .await;
    let chats = guest
        .events
        .iter()
        .filter(|e| matches!(e, Event::Chat { .. }))
        .count();
    assert_eq!(chats, 1, "the tampered line and the replay were not shown");
    let _ = guest_member;
}

/// The latest own media key id this party announced.
fn latest_local_kid(party: &Party) -> Option<u64> {
    party.events.iter().rev().find_map(|e| match e {
        Event::LocalSenderKey { kid, .. } => Some(*kid),
        _ => None,
    })
}

/// A counsellor and two guests, everyone secured with everyone. Returns them
/// and the second guest's seat.
async fn group_of_three(relay: &TestRelay) -> (Party, Party, Party, MemberId) {
    let (mut host, mut first, _) = connected_pair(relay).await;
    // The counsellor compared the first guest's code: it may meet others.
    let (first_member, _) = host.secured().expect("first guest secured");
    let effects = host.session.confirm_peer(&mut OsRng, first_member);
    host.apply(effects).await;
    let (_, url) = {
        let (_, url, add) = host
            .session
            .create_invite(&mut OsRng, "https://beratung.example")
            .expect("second invite");
        host.send(add).await;
        ((), url)
    };
    let mut second = guest_knocks(relay, &url, "Zweite Person").await;
    second
        .until("waiting", |e| matches!(e, Event::Waiting))
        .await;
    host.until(
        "second knock",
        |e| matches!(e, Event::Knocked { name: Some(n), .. } if n == "Zweite Person"),
    )
    .await;
    let member = host
        .events
        .iter()
        .find_map(|e| match e {
            Event::Knocked {
                member,
                name: Some(n),
                ..
            } if n == "Zweite Person" => Some(*member),
            _ => None,
        })
        .expect("knock");
    let effects = host.session.admit(member);
    host.apply(effects).await;
    // Everyone ends up with a channel to both others: the guests' one is vouched for by the host.
    let (first, second, host) = tokio::join!(
        async {
            first
                .until("peer channel to the second guest", |e| {
                    matches!(e, Event::PeerSecured { sas: None, .. })
                })
                .await;
            first
        },
        async {
            second
                .until("channel to the host", |e| {
                    matches!(e, Event::PeerSecured { sas: Some(_), .. })
                })
                .await;
            second
                .until("peer channel to the first guest", |e| {
                    matches!(e, Event::PeerSecured { sas: None, .. })
                })
                .await;
            second
        },
        async {
            host.until(
                "second guest secured",
                |e| matches!(e, Event::PeerSecured { member: m, .. } if *m == member),
            )
            .await;
            // Only after she confirmed the second guest's code does it meet the first.
            let effects = host.session.confirm_peer(&mut OsRng, member);
            host.apply(effects).await;
            host
        },
    );
    (host, first, second, member)
}

#[tokio::test]
async fn three_people_secure_each_other_and_a_departure_rotates_the_keys() {
    let relay = TestRelay::start(None).await;
    let (host, first, second, member) = group_of_three(&relay).await;
    let count_secured = |p: &Party| {
        p.events
            .iter()
            .filter(|e| matches!(e, Event::PeerSecured { .. }))
            .count()
    };
    let (mut first, mut second, mut host) = (first, second, host);
    assert_eq!(count_secured(&first), 2);
    assert_eq!(count_secured(&second), 2);
    assert_eq!(count_secured(&host), 2);

    // A chat line from one guest reaches both others.
    let (effects, _) = second.session.chat("Hallo zusammen", 5).expect("chat");
    second.apply(effects).await;
    host.until(
        "chat at host",
        |e| matches!(e, Event::Chat { text, .. } if text == "Hallo zusammen"),
    )
    .await;
    first
        .until(
            "chat at first guest",
            |e| matches!(e, Event::Chat { text, .. } if text == "Hallo zusammen"),
        )
        .await;

    // The second guest leaves: the others rotate their media keys without them.
    let host_kid = latest_local_kid(&host);
    let first_kid = latest_local_kid(&first);
    let effects = second.session.leave();
    second.apply(effects).await;
    host.until(
        "departure",
        |e| matches!(e, Event::PeerLeft { member: m } if *m == member),
    )
    .await;
    first
        .until("departure", |e| matches!(e, Event::PeerLeft { .. }))
        .await;
    assert!(
        latest_local_kid(&host) > host_kid,
        "the counsellor's key id changed"
    );
    assert!(
        latest_local_kid(&first) > first_kid,
        "the remaining guest's key id changed"
    );
    // The departed guest never received the new keys.
    let new_host_kid = latest_local_kid(&host);
    assert!(
        !second
            .events
            .iter()
            .any(|e| matches!(e, Event::PeerSenderKey { kid, .. } if Some(*kid) == new_host_kid))
    );
}

#[tokio::test]
async fn a_guest_may_knock_without_a_name() {
    let relay = TestRelay::start(None).await;
    let (mut host, url) = host_with_invite(&relay).await;
    let mut guest = guest_knocks(&relay, &url, "").await;
    guest
        .until("waiting", |e| matches!(e, Event::Waiting))
        .await;
    host.until("knock", |e| matches!(e, Event::Knocked { name: None, .. }))
        .await;
}

/// The safety codes of every `PeerSecured` event with a code, oldest first.
fn codes(party: &Party) -> Vec<(MemberId, String, bool)> {
    party
        .events
        .iter()
        .filter_map(|e| match e {
            Event::PeerSecured {
                member,
                sas: Some(sas),
                renewed,
                ..
            } => Some((*member, sas.to_string(), *renewed)),
            _ => None,
        })
        .collect()
}

/// The counsellor waits for the renewal request of a reloaded guest (she
/// still holds a channel with that seat, so it needs her click) and accepts it.
async fn accept_renewal(host: &mut Party) {
    host.until("the renewal request", |e| {
        matches!(e, Event::RenewalRequested { .. })
    })
    .await;
    let member = host
        .events
        .iter()
        .find_map(|e| match e {
            Event::RenewalRequested { member, .. } => Some(*member),
            _ => None,
        })
        .expect("a renewal request");
    assert!(host.session.renewal_pending(member));
    let effects = host.session.accept_renewal(member);
    host.apply(effects).await;
}

/// What a reload leaves of a party: its stored snapshot (the socket goes).
fn reload(party: Party) -> Resume {
    let stored = party.session.resume_state().expect("a snapshot to keep");
    // Through the JSON the tab keeps in sessionStorage, exactly as the browser does.
    let json = stored.to_json();
    drop(party);
    Resume::from_json(&json).expect("the snapshot reads back")
}

async fn chat_arrives(from: &mut Party, to: &mut Party, text: &str) {
    let (effects, _) = from.session.chat(text, 9).expect("chat");
    from.apply(effects).await;
    to.until(
        "chat",
        |e| matches!(e, Event::Chat { text: t, .. } if t == text),
    )
    .await;
}

#[tokio::test]
async fn a_guest_who_reloads_rejoins_with_a_new_safety_code() {
    let relay = TestRelay::start(None).await;
    let (mut host, guest, _) = connected_pair(&relay).await;
    let (_, first_code, _) = codes(&host)[0].clone();
    let Resume::Guest(stored) = reload(guest) else {
        panic!("a guest keeps a guest snapshot");
    };
    let (session, resume) = Session::rejoin_guest(&mut OsRng, stored).expect("rejoin");
    let mut guest = Party::new(&relay, session, resume).await;
    let (guest, host) = tokio::join!(
        async {
            guest
                .until("the new channel to the counsellor", |e| {
                    matches!(e, Event::PeerSecured { .. })
                })
                .await;
            guest
        },
        async {
            accept_renewal(&mut host).await;
            host.until("the rejoined guest", |e| {
                matches!(e, Event::PeerSecured { renewed: true, .. })
            })
            .await;
            host
        },
    );
    let (mut host, mut guest) = (host, guest);
    let host_codes = codes(&host);
    let guest_codes = codes(&guest);
    assert_eq!(host_codes.len(), 2, "one handshake, then one more");
    assert!(host_codes[1].2, "the counsellor is told the code is new");
    assert!(guest_codes[0].2, "the guest is told the code is new");
    assert_eq!(
        host_codes[1].1, guest_codes[0].1,
        "both show the same new code"
    );
    assert_ne!(host_codes[1].1, first_code, "new keys, new code");
    assert!(
        host.events
            .iter()
            .any(|e| matches!(e, Event::PeerLeft { .. })),
        "the old channel (and its peer connection) is dropped first"
    );
    chat_arrives(&mut guest, &mut host, "wieder da").await;
    chat_arrives(&mut host, &mut guest, "willkommen zurück").await;
}

#[tokio::test]
async fn a_counsellor_who_reloads_gets_the_guest_back() {
    let relay = TestRelay::start(None).await;
    let (host, mut guest, _) = connected_pair(&relay).await;
    let (_, first_code, _) = codes(&guest)[0].clone();
    let Resume::Host(stored) = reload(host) else {
        panic!("a counsellor keeps a host snapshot");
    };
    let (session, create) =
        Session::restore_host(&mut OsRng, stored, confide_tests::ws::counsellor_token());
    let mut host = Party::new(&relay, session, create).await;
    let (guest, host) = tokio::join!(
        async {
            guest
                .until("the renewed channel", |e| {
                    matches!(e, Event::PeerSecured { renewed: true, .. })
                })
                .await;
            guest
        },
        async {
            host.until("the guest back", |e| {
                matches!(e, Event::PeerSecured { renewed: true, .. })
            })
            .await;
            host
        },
    );
    let (mut host, mut guest) = (host, guest);
    let guest_codes = codes(&guest);
    assert_eq!(codes(&host)[0].1, guest_codes[1].1, "the same new code");
    assert_ne!(guest_codes[1].1, first_code);
    chat_arrives(&mut host, &mut guest, "Entschuldigung, die Seite war weg").await;
    chat_arrives(&mut guest, &mut host, "kein Problem").await;
    // The invite used before the reload is still used; a new one can be made.
    assert!(
        host.session
            .create_invite(&mut OsRng, "https://beratung.example")
            .is_some()
    );
}

#[tokio::test]
async fn a_dropped_socket_resumes_without_a_new_handshake() {
    let relay = TestRelay::start(None).await;
    let (mut host, guest, _) = connected_pair(&relay).await;
    let Party {
        mut session,
        events,
        ..
    } = guest;
    let Some(Resume::Guest(before)) = session.resume_state() else {
        panic!("a guest snapshot");
    };
    let message = session.reconnect(&mut OsRng).expect("a seat to take again");
    let mut guest = Party::new(&relay, session, message).await;
    guest.events = events;
    chat_arrives(&mut host, &mut guest, "noch da?").await;
    chat_arrives(&mut guest, &mut host, "ja").await;
    assert_eq!(codes(&host).len(), 1, "no second handshake");
    assert_eq!(codes(&guest).len(), 1);

    // The secret it resumed with is used up: someone who copied it is refused.
    let mut thief = Client::connect(&relay.ws_url()).await;
    thief
        .send(&ClientMessage::Resume {
            v: 1,
            room: before.invite.room_id(),
            member: before.member,
            resume_secret: before.resume_secret.clone(),
            next_resume_hash: confide_shared::wire::ResumeSecret::generate(&mut OsRng).hash(),
        })
        .await;
    thief.expect_close(4017).await;
    // Dropped again: the session resumes with the secret it named last time.
    let Party {
        mut session,
        events,
        ..
    } = guest;
    let message = session.reconnect(&mut OsRng).expect("the seat again");
    let mut guest = Party::new(&relay, session, message).await;
    guest.events = events;
    chat_arrives(&mut host, &mut guest, "und jetzt?").await;
    chat_arrives(&mut guest, &mut host, "immer noch").await;
}

#[tokio::test]
async fn a_rejoin_without_the_links_key_is_refused() {
    // The relay (or whoever holds the resume secret) takes the guest's seat
    // but does not know the link: its handshake cannot pass the PSK check.
    let relay = TestRelay::start(None).await;
    let (mut host, guest, _) = connected_pair(&relay).await;
    let Resume::Guest(mut stored) = reload(guest) else {
        panic!("guest snapshot");
    };
    stored.invite = Invite::new(stored.invite.room_id(), InviteSecret::generate(&mut OsRng));
    let (session, resume) = Session::rejoin_guest(&mut OsRng, stored).expect("rejoin");
    let mut impostor = Party::new(&relay, session, resume).await;
    // The relay gives the seat back; the impostor then sends its knock.
    let seat = impostor.ws.recv().await;
    let effects = impostor.session.handle(&mut OsRng, seat);
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Send(_))),
        "the impostor's knock goes out"
    );
    impostor.apply(effects).await;
    host.until("the refusal", |e| {
        matches!(
            e,
            Event::Rejected {
                reason: RejectReason::Tampered(_),
                ..
            }
        )
    })
    .await;
    assert_eq!(codes(&host).len(), 1, "no new channel");
}

#[tokio::test]
async fn in_a_group_a_reloading_guest_comes_back_to_both_others() {
    let relay = TestRelay::start(None).await;
    let (host, mut first, second, second_member) = group_of_three(&relay).await;
    let Resume::Guest(stored) = reload(second) else {
        panic!("guest snapshot");
    };
    let (session, resume) = Session::rejoin_guest(&mut OsRng, stored).expect("rejoin");
    let mut second = Party::new(&relay, session, resume).await;
    let first_secured_before = first
        .events
        .iter()
        .filter(|e| matches!(e, Event::PeerSecured { .. }))
        .count();
    let (host, first, second) = tokio::join!(
        async {
            let mut host = host;
            accept_renewal(&mut host).await;
            host.until("the second guest renewed", |e| {
                matches!(e, Event::PeerSecured { member, renewed: true, .. } if *member == second_member)
            })
            .await;
            // The new code is confirmed again before the others meet it.
            let effects = host.session.confirm_peer(&mut OsRng, second_member);
            host.apply(effects).await;
            host
        },
        async {
            first
                .until_count("a new pair channel to the reloaded guest", 2, |e| {
                    matches!(e, Event::PeerSecured { member, sas: None, .. } if *member == second_member)
                })
                .await;
            first
        },
        async {
            second
                .until("the counsellor", |e| {
                    matches!(e, Event::PeerSecured { sas: Some(_), .. })
                })
                .await;
            second
                .until("the first guest", |e| {
                    matches!(e, Event::PeerSecured { sas: None, .. })
                })
                .await;
            second
        },
    );
    let (mut host, mut first, mut second) = (host, first, second);
    assert_eq!(
        first
            .events
            .iter()
            .filter(|e| matches!(e, Event::PeerSecured { .. }))
            .count(),
        first_secured_before + 1,
        "only the pair with the reloaded guest is renewed"
    );
    chat_arrives(&mut second, &mut first, "wieder im Kreis").await;
    chat_arrives(&mut first, &mut second, "hallo").await;
    chat_arrives(&mut second, &mut host, "auch an die Beratung").await;
}

#[tokio::test]
async fn in_a_group_a_reloading_counsellor_gets_everyone_back() {
    let relay = TestRelay::start(None).await;
    let (host, first, second, _) = group_of_three(&relay).await;
    let Resume::Host(stored) = reload(host) else {
        panic!("host snapshot");
    };
    let (session, create) =
        Session::restore_host(&mut OsRng, stored, confide_tests::ws::counsellor_token());
    let host = Party::new(&relay, session, create).await;
    let renewed_code = |e: &Event| {
        matches!(
            e,
            Event::PeerSecured {
                sas: Some(_),
                renewed: true,
                ..
            }
        )
    };
    let (host, first, second) = tokio::join!(
        async {
            let mut host = host;
            host.until_count("both guests back", 2, renewed_code).await;
            host
        },
        async {
            let mut first = first;
            first.until("the counsellor again", renewed_code).await;
            first
        },
        async {
            let mut second = second;
            second.until("the counsellor again", renewed_code).await;
            second
        },
    );
    let (mut host, mut first, mut second) = (host, first, second);
    // The two guests' own channel still works and was not renewed.
    for guest in [&first, &second] {
        assert!(
            !guest.events.iter().any(|e| matches!(
                e,
                Event::PeerSecured {
                    sas: None,
                    renewed: true,
                    ..
                }
            )),
            "the guests keep their pair channel"
        );
    }
    chat_arrives(&mut host, &mut first, "bin wieder da").await;
    chat_arrives(&mut host, &mut second, "bin wieder da").await;
    chat_arrives(&mut first, &mut second, "wir auch").await;
    chat_arrives(&mut second, &mut host, "gut").await;
}

#[tokio::test]
async fn an_introduction_without_the_peers_relay_address_is_refused() {
    use confide_shared::envelope::ParticipantId;
    use confide_shared::signal::{Member, PublicBytes, SecretBytes};
    let relay = TestRelay::start(None).await;
    let (mut host, mut guest, _) = connected_pair(&relay).await;
    let (guest_member, _) = host.secured().expect("secured");
    // Authentic (sealed by the real host) but without the routing address:
    // the guest could not send its confirmation anywhere.
    let intro = Signal::Introduce {
        peer: Member {
            id: ParticipantId::from_public(&[9; 32]),
            name: None,
            relay: None,
        },
        peer_public: PublicBytes([9; 32]),
        group_secret: SecretBytes::new([3; 32]),
        intro_nonce: PublicBytes([4; 32]),
    };
    let effects = host.session.send_rtc(guest_member, &intro);
    host.apply(effects).await;
    guest
        .until("the refusal", |e| {
            matches!(e, Event::Rejected { reason: RejectReason::Tampered(why), .. }
                if why.contains("relay address"))
        })
        .await;
    // Nothing was sent in answer, and the call goes on.
    chat_arrives(&mut host, &mut guest, "weiter").await;
}

#[tokio::test]
async fn a_fresh_media_key_for_the_same_people_reaches_them() {
    let relay = TestRelay::start(None).await;
    let (mut host, mut guest, _) = connected_pair(&relay).await;
    guest
        .until("the counsellor's first key", |e| {
            matches!(e, Event::PeerSenderKey { .. })
        })
        .await;
    let before = latest_local_kid(&host).expect("a key in use");
    let effects = host.session.rotate_media_key(&mut OsRng);
    host.apply(effects).await;
    let after = latest_local_kid(&host).expect("a key in use");
    assert_eq!(after, before + 1, "the key id goes up by one");
    guest
        .until(
            "the new key",
            |e| matches!(e, Event::PeerSenderKey { kid, .. } if *kid == after),
        )
        .await;
}
