//! A man in the middle who holds the invite link (it leaked, or the relay
//! operator got hold of it): the strongest attacker confide's threat model
//! names. It sits on the guest's relay connection (see
//! [`crate::attacker::Rule::ManInTheMiddle`]) and runs two handshakes of its
//! own, as the counsellor toward the guest and as the guest toward the
//! counsellor, then re-encrypts every signaling envelope between the two
//! legs. Both browsers see a completed, authenticated handshake and a
//! working call; only the safety codes differ, which is what the counsellor
//! must notice (docs/PROTOCOL.md, "Why a man in the middle cannot grind a match").
//!
//! Sans-IO: the proxy hands it the guest connection's messages as JSON and
//! sends what it returns.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use confide_shared::envelope::{Channel, ENVELOPE_FORMAT, ParticipantId};
use confide_shared::handshake::{
    Established, Initiator, InitiatorAwaitConfirm, InitiatorAwaitReveal, Responder,
    ResponderAwaitReveal, SessionKeypair, msg_type,
};
use confide_shared::link::Invite;
use confide_shared::signal::{Knock, Signal};
use rand_core::OsRng;
use serde_json::{Value, json};

/// A renewal knock for the seat of a guest admitted with `link`, as the
/// relay would send it on that seat's behalf: `KNOCK_AGAIN` followed by a
/// knock with a fresh handshake commitment (m1), base64url for the wire.
/// Each call is one new try at a safety code.
pub fn renewal_knock(link: &str, name: &str) -> Result<String, String> {
    let invite = Invite::parse(link).map_err(|e| format!("link: {e}"))?;
    let psk = invite.psk();
    let room = invite.room_id();
    let keypair = SessionKeypair::generate(&mut OsRng);
    let (_abandoned, m1) = Initiator::start(&mut OsRng, &keypair, &psk, &room);
    let knock = Knock::new(&mut OsRng, &psk, &room, m1, name)
        .and_then(|k| k.to_json())
        .map_err(|e| format!("knock: {e}"))?;
    let mut framed = vec![confide_shared::session::KNOCK_AGAIN];
    framed.extend_from_slice(&knock);
    Ok(b64(&framed))
}

/// Where a message the man in the middle makes up goes.
#[derive(Debug)]
pub enum Out {
    /// To the relay, on the guest's connection (as if the guest sent it).
    ToRelay(String),
    /// To the guest's browser (as if the relay delivered it).
    ToBrowser(String),
}

/// What to do with the message that was handed in.
#[derive(Debug)]
pub enum Verdict {
    Forward,
    Replace(String),
    Drop,
}

enum GuestLeg {
    /// Answered the guest's m1 with our own m2; waiting for the guest's m3.
    AwaitReveal(ResponderAwaitReveal),
    Done(Channel),
    Failed,
}

enum HostLeg {
    /// Sent our own knock (m1); waiting for the counsellor's m2.
    AwaitReveal(InitiatorAwaitReveal),
    AwaitConfirm(InitiatorAwaitConfirm),
    Done(Channel),
    Failed,
}

/// The man in the middle of one guest's connection.
pub struct LinkHolder {
    room: String,
    /// The counsellor's relay member id, from the first delivery of the handshake.
    host: Option<u64>,
    guest_leg: GuestLeg,
    host_leg: HostLeg,
    /// Our m2 for the guest, sent in place of the counsellor's.
    m2_for_guest: Vec<u8>,
    /// Our m4 for the guest, held until the counsellor's side is complete
    /// (so the guest sends nothing we could not re-encrypt yet).
    m4_for_guest: Option<Vec<u8>>,
    /// Envelopes from the counsellor that came before the guest's side was complete.
    early: Vec<Vec<u8>>,
    ready: bool,
    /// Participant ids, to rewrite the counsellor's membership lists.
    host_id: Option<ParticipantId>,
    guest_id: Option<ParticipantId>,
    me_toward_guest: ParticipantId,
    me_toward_host: ParticipantId,
    guest_code: Option<String>,
    host_code: Option<String>,
    /// Every chat line the man in the middle read, either direction.
    pub chat_read: Vec<String>,
    /// Envelopes re-encrypted from one leg to the other.
    pub relayed: usize,
    /// What went wrong, if anything (for failure messages).
    pub errors: Vec<String>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn code(established: &Established) -> String {
    established.sas().to_string().replace(' ', "")
}

impl LinkHolder {
    /// The guest's `knock` message, intercepted: returns the attacker's state
    /// and the knock to send to the relay instead (the attacker's own m1, the
    /// guest's name sealed again to match it).
    pub fn intercept_knock(link: &str, knock: &Value) -> Result<(LinkHolder, String), String> {
        let invite = Invite::parse(link).map_err(|e| format!("link: {e}"))?;
        let psk = invite.psk();
        let room = invite.room_id();
        let payload = knock
            .get("payload")
            .and_then(Value::as_str)
            .ok_or("knock without payload")?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|e| format!("knock payload: {e}"))?;
        let theirs = Knock::from_json(&bytes).map_err(|e| format!("knock: {e}"))?;
        let name = theirs
            .open_name(&psk, &room)
            .map_err(|e| format!("knock name (wrong link?): {e}"))?;
        let toward_guest = SessionKeypair::generate(&mut OsRng);
        let toward_host = SessionKeypair::generate(&mut OsRng);
        let (responder, m2_for_guest) =
            Responder::accept(&mut OsRng, &toward_guest, &psk, &room, &theirs.m1)
                .map_err(|e| format!("guest's m1: {e}"))?;
        let (initiator, m1) = Initiator::start(&mut OsRng, &toward_host, &psk, &room);
        let ours = Knock::new(&mut OsRng, &psk, &room, m1, &name)
            .and_then(|k| k.to_json())
            .map_err(|e| format!("our knock: {e}"))?;
        let mut knock = knock.clone();
        knock["payload"] = Value::from(b64(&ours));
        let room = knock
            .get("room")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let holder = LinkHolder {
            room,
            host: None,
            guest_leg: GuestLeg::AwaitReveal(responder),
            host_leg: HostLeg::AwaitReveal(initiator),
            m2_for_guest,
            m4_for_guest: None,
            early: Vec::new(),
            ready: false,
            host_id: None,
            guest_id: None,
            me_toward_guest: toward_guest.id(),
            me_toward_host: toward_host.id(),
            guest_code: None,
            host_code: None,
            chat_read: Vec::new(),
            relayed: 0,
            errors: Vec::new(),
        };
        Ok((holder, knock.to_string()))
    }

    /// The safety codes the two browsers show, once both legs are complete:
    /// (the guest's, the counsellor's).
    pub fn codes(&self) -> Option<(String, String)> {
        Some((self.guest_code.clone()?, self.host_code.clone()?))
    }

    fn to_guest_message(&self, payload: &[u8]) -> String {
        json!({
            "type": "deliver",
            "room": self.room,
            "from": self.host.unwrap_or_default(),
            "payload": b64(payload),
        })
        .to_string()
    }

    fn to_host_message(&self, payload: &[u8]) -> String {
        json!({
            "type": "send",
            "room": self.room,
            "to": self.host.unwrap_or_default(),
            "payload": b64(payload),
        })
        .to_string()
    }

    /// A message from the guest's browser to the relay.
    pub fn from_guest(&mut self, message: &Value, out: &mut Vec<Out>) -> Verdict {
        if message.get("type").and_then(Value::as_str) != Some("send") {
            return Verdict::Forward;
        }
        let Some(payload) = message
            .get("payload")
            .and_then(Value::as_str)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        else {
            return Verdict::Forward;
        };
        match payload.first().copied() {
            Some(msg_type::REVEAL_I) => {
                let leg = std::mem::replace(&mut self.guest_leg, GuestLeg::Failed);
                let GuestLeg::AwaitReveal(responder) = leg else {
                    self.guest_leg = leg;
                    return Verdict::Forward;
                };
                match responder.on_reveal(&mut OsRng, &payload) {
                    Ok((established, m4)) => {
                        self.guest_code = Some(code(&established));
                        self.guest_id =
                            Some(ParticipantId::from_public(&established.peer_public()));
                        self.guest_leg = GuestLeg::Done(established.into_channel());
                        self.m4_for_guest = Some(m4);
                        self.flush(out);
                    }
                    Err(e) => self.errors.push(format!("guest's m3: {e}")),
                }
                Verdict::Drop
            }
            Some(ENVELOPE_FORMAT) if self.ready => match self.reencrypt(&payload, false) {
                Some(sealed) => {
                    let mut message = message.clone();
                    message["payload"] = Value::from(b64(&sealed));
                    Verdict::Replace(message.to_string())
                }
                None => Verdict::Forward,
            },
            _ => Verdict::Forward,
        }
    }

    /// A message from the relay to the guest's browser.
    pub fn to_guest(&mut self, message: &Value, out: &mut Vec<Out>) -> Verdict {
        if message.get("type").and_then(Value::as_str) != Some("deliver") {
            return Verdict::Forward;
        }
        let Some(payload) = message
            .get("payload")
            .and_then(Value::as_str)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        else {
            return Verdict::Forward;
        };
        match payload.first().copied() {
            Some(msg_type::REVEAL_R) => {
                let leg = std::mem::replace(&mut self.host_leg, HostLeg::Failed);
                let HostLeg::AwaitReveal(initiator) = leg else {
                    self.host_leg = leg;
                    return Verdict::Forward;
                };
                self.host = message.get("from").and_then(Value::as_u64);
                match initiator.on_reveal(&mut OsRng, &payload) {
                    Ok((confirm, m3)) => {
                        self.host_leg = HostLeg::AwaitConfirm(confirm);
                        out.push(Out::ToRelay(self.to_host_message(&m3)));
                    }
                    Err(e) => self.errors.push(format!("counsellor's m2: {e}")),
                }
                // The guest gets our reveal instead of the counsellor's.
                let mut message = message.clone();
                message["payload"] = Value::from(b64(&self.m2_for_guest));
                Verdict::Replace(message.to_string())
            }
            Some(msg_type::CONFIRM_R) => {
                let leg = std::mem::replace(&mut self.host_leg, HostLeg::Failed);
                let HostLeg::AwaitConfirm(confirm) = leg else {
                    self.host_leg = leg;
                    return Verdict::Forward;
                };
                match confirm.on_confirm(&payload) {
                    Ok(established) => {
                        self.host_code = Some(code(&established));
                        self.host_id = Some(ParticipantId::from_public(&established.peer_public()));
                        self.host_leg = HostLeg::Done(established.into_channel());
                        self.flush(out);
                    }
                    Err(e) => self.errors.push(format!("counsellor's m4: {e}")),
                }
                Verdict::Drop
            }
            Some(ENVELOPE_FORMAT) if self.ready => match self.reencrypt(&payload, true) {
                Some(sealed) => {
                    let mut message = message.clone();
                    message["payload"] = Value::from(b64(&sealed));
                    Verdict::Replace(message.to_string())
                }
                None => Verdict::Forward,
            },
            Some(ENVELOPE_FORMAT) if self.host.is_some() => {
                // The counsellor's side is ahead of the guest's: keep it for later.
                self.early.push(payload);
                Verdict::Drop
            }
            _ => Verdict::Forward,
        }
    }

    /// Once both handshakes are complete: our m4 to the guest, then whatever
    /// the counsellor already sent, re-encrypted.
    fn flush(&mut self, out: &mut Vec<Out>) {
        let both = matches!(self.guest_leg, GuestLeg::Done(_))
            && matches!(self.host_leg, HostLeg::Done(_));
        if !both || self.ready {
            return;
        }
        let Some(m4) = self.m4_for_guest.take() else {
            return;
        };
        out.push(Out::ToBrowser(self.to_guest_message(&m4)));
        self.ready = true;
        for payload in std::mem::take(&mut self.early) {
            if let Some(sealed) = self.reencrypt(&payload, true) {
                out.push(Out::ToBrowser(self.to_guest_message(&sealed)));
            }
        }
    }

    /// Opens an envelope with one leg's channel and seals it with the
    /// other's; membership lists get the ids each side expects.
    fn reencrypt(&mut self, payload: &[u8], host_to_guest: bool) -> Option<Vec<u8>> {
        let (GuestLeg::Done(guest), HostLeg::Done(host)) =
            (&mut self.guest_leg, &mut self.host_leg)
        else {
            return None;
        };
        let (from, to) = if host_to_guest {
            (host, guest)
        } else {
            (guest, host)
        };
        let mut signal = match Signal::open(from, payload) {
            Ok(signal) => signal,
            Err(e) => {
                self.errors.push(format!("open: {e}"));
                return None;
            }
        };
        match &mut signal {
            Signal::Chat { text, .. } => self.chat_read.push(text.clone()),
            Signal::Members { members, .. } if host_to_guest => {
                for member in members.iter_mut() {
                    if Some(member.id) == self.host_id {
                        member.id = self.me_toward_guest;
                    } else if member.id == self.me_toward_host
                        && let Some(guest_id) = self.guest_id
                    {
                        member.id = guest_id;
                    }
                }
            }
            _ => {}
        }
        match signal.seal(to) {
            Ok(sealed) => {
                self.relayed += 1;
                Some(sealed)
            }
            Err(e) => {
                self.errors.push(format!("seal: {e}"));
                None
            }
        }
    }
}
