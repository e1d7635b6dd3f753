//! Planned sessions: what the counsellor's browser keeps about her
//! appointments, and nowhere else.
//!
//! A planned session is an ordinary session made ahead of time: its secret
//! (room and host token follow from it), the one invite whose link she sent
//! with the appointment, and an optional label ("für M."). The server never
//! stores any of it; the counsellor's tab registers the day's rooms with the
//! relay (`appointment::registration`) and opens the session like a reloaded
//! one when she wants to (`host_resume`).
//!
//! Stored as text, one line per session:
//! `p1 <b64u(session secret)> <invite fragment, version 2> <b64u(label)>`.
//! The fragment carries the link's "du" marker if the counsellor chose it
//! (lines from before the marker read as "Sie").
//! A line this version cannot read is kept as it is, never dropped.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::appointment::{Appointment, registration};
use crate::link::{Address, Invite, SessionSecret};
use crate::resume::{HostResume, StoredInvite};
use crate::wire::{ClientMessage, CounsellorToken, RoomId};

/// Longest label, in characters.
pub const MAX_LABEL_CHARS: usize = 40;
/// Prefix of a stored line of this version.
const LINE_TAG: &str = "p1";

/// Why a label cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("the label is longer than 40 characters")]
    TooLong,
    #[error("the label contains a line break or control character")]
    ControlCharacter,
}

/// One planned session.
#[derive(Clone)]
pub struct PlannedSession {
    secret: SessionSecret,
    invite: Invite,
    appointment: Appointment,
    label: String,
}

impl PlannedSession {
    /// A new planned session with a fresh secret and link. The label is
    /// trimmed; it is for the counsellor only (it never leaves her device).
    pub fn new(
        rng: &mut impl CryptoRngCore,
        appointment: Appointment,
        label: &str,
    ) -> Result<Self, LabelError> {
        let label = check_label(label)?;
        let secret = SessionSecret::generate(rng);
        let invite = secret.new_invite(rng).with_appointment(appointment);
        Ok(Self {
            secret,
            invite,
            appointment,
            label,
        })
    }

    /// The same session, its guest addressed as `address` (the link says so).
    pub fn with_address(mut self, address: Address) -> Self {
        self.invite = self.invite.with_address(address);
        self
    }

    /// How the guest's pages address the guest.
    pub fn address(&self) -> Address {
        self.invite.address()
    }

    pub fn appointment(&self) -> Appointment {
        self.appointment
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// The room the session lives in.
    pub fn room(&self) -> RoomId {
        self.secret.room_id()
    }

    /// The guest's link (version 2, with the appointment).
    pub fn link(&self, origin: &str) -> Zeroizing<String> {
        self.invite.to_url(origin)
    }

    /// The messages that register the room with the relay for the window.
    pub fn registration(&self, counsellor: CounsellorToken) -> [ClientMessage; 2] {
        registration(&self.secret, &self.invite, self.appointment, counsellor)
    }

    /// The counsellor opens the session: it starts like her own session after
    /// a reload, with the one invite still open (invite id 1).
    pub fn host_resume(&self) -> HostResume {
        HostResume {
            secret: self.secret.clone(),
            next_invite: 2,
            invites: vec![StoredInvite {
                id: 1,
                invite: self.invite.clone(),
                member: None,
            }],
            admitted: Vec::new(),
            rejected: Vec::new(),
        }
    }

    /// The stored line.
    pub fn to_line(&self) -> Zeroizing<String> {
        let mut line = Zeroizing::new(String::with_capacity(160));
        line.push_str(LINE_TAG);
        line.push(' ');
        URL_SAFE_NO_PAD.encode_string(self.secret.as_bytes(), &mut line);
        line.push(' ');
        line.push_str(&self.invite.fragment());
        line.push(' ');
        URL_SAFE_NO_PAD.encode_string(self.label.as_bytes(), &mut line);
        line
    }

    /// Reads a stored line; `None` if it is not one this version wrote.
    pub fn from_line(line: &str) -> Option<Self> {
        let mut parts = line.split(' ');
        if parts.next() != Some(LINE_TAG) {
            return None;
        }
        let (secret, fragment) = (parts.next()?, parts.next()?);
        let label = parts.next().unwrap_or("");
        if parts.next().is_some() {
            return None;
        }
        let mut raw = Zeroizing::new([0u8; 32]);
        if URL_SAFE_NO_PAD.decode_slice(secret, &mut raw[..]).ok()? != 32 {
            return None;
        }
        let secret = SessionSecret::from_bytes(*raw);
        let invite = Invite::parse(fragment).ok()?;
        let appointment = invite.appointment()?;
        if invite.room_id() != secret.room_id() {
            return None;
        }
        let label = String::from_utf8(URL_SAFE_NO_PAD.decode(label).ok()?).ok()?;
        let label = check_label(&label).ok()?;
        Some(Self {
            secret,
            invite,
            appointment,
            label,
        })
    }
}

fn check_label(label: &str) -> Result<String, LabelError> {
    let label = label.trim();
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(LabelError::TooLong);
    }
    if label.chars().any(char::is_control) {
        return Err(LabelError::ControlCharacter);
    }
    Ok(label.to_owned())
}

/// The counsellor's planned sessions on this device, in start order, and any
/// stored lines this version could not read (kept, never dropped).
#[derive(Clone, Default)]
pub struct PlannedList {
    sessions: Vec<PlannedSession>,
    unreadable: Vec<Zeroizing<String>>,
}

impl PlannedList {
    /// Reads what `to_text` wrote.
    pub fn from_text(text: &str) -> Self {
        let mut list = Self::default();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match PlannedSession::from_line(line) {
                Some(session) => list.sessions.push(session),
                None => list.unreadable.push(Zeroizing::new(line.to_owned())),
            }
        }
        list.sort();
        list
    }

    pub fn to_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::new());
        for line in self.sessions.iter().map(PlannedSession::to_line) {
            text.push_str(&line);
            text.push('\n');
        }
        for line in &self.unreadable {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    pub fn sessions(&self) -> &[PlannedSession] {
        &self.sessions
    }

    /// Lines this version could not read.
    pub fn unreadable(&self) -> usize {
        self.unreadable.len()
    }

    pub fn add(&mut self, session: PlannedSession) {
        self.sessions.push(session);
        self.sort();
    }

    /// "Alle Termine auf diesem Gerät löschen": everything, unreadable lines too.
    pub fn clear(&mut self) {
        self.sessions.clear();
        self.unreadable.clear();
    }

    /// Forgets the session in `room` (deleted, or ended by the counsellor).
    pub fn remove(&mut self, room: RoomId) -> Option<PlannedSession> {
        let index = self.sessions.iter().position(|s| s.room() == room)?;
        Some(self.sessions.remove(index))
    }

    pub fn get(&self, room: RoomId) -> Option<&PlannedSession> {
        self.sessions.iter().find(|s| s.room() == room)
    }

    /// Forgets every session whose window closed before `now`: its link
    /// works no more and the relay has forgotten the room.
    pub fn drop_past(&mut self, now: u64) -> usize {
        let before = self.sessions.len();
        self.sessions.retain(|s| now < s.appointment.closes());
        before - self.sessions.len()
    }

    /// The sessions the counsellor's tab registers with the relay now.
    pub fn due_for_registration(&self, now: u64) -> impl Iterator<Item = &PlannedSession> {
        self.sessions
            .iter()
            .filter(move |s| s.appointment.due_for_registration(now))
    }

    fn sort(&mut self) {
        self.sessions.sort_by_key(|s| s.appointment.starts());
    }
}

#[cfg(test)]
mod tests;
