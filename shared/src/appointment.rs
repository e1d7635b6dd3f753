//! Appointments: when a planned session's link works, and what each side does
//! about the time.
//!
//! Counselling runs on appointments: the centre sends the link days ahead, so
//! the link carries the appointment (version-2 links, see `link`), and the
//! relay accepts knocks only inside its window (`add_invite` with
//! `opens`/`closes`). Everything here is a pure function of the appointment and
//! the current time, which callers pass in (unix seconds).
//!
//! The window: from `opens_before` before the start (15 minutes by default, so
//! a guest can check her camera calmly) until the stated end.

use crate::link::{Invite, SessionSecret};
use crate::wire::{ClientMessage, CounsellorToken};

/// Bytes of an appointment inside a version-2 link: start (u32, unix seconds),
/// opens before (u16, seconds), length (u16, seconds), all big-endian.
pub const APPOINTMENT_BYTES: usize = 8;

/// The link opens at most this long before the start.
pub const MAX_OPENS_BEFORE_SECS: u32 = 2 * 60 * 60;
/// An appointment lasts at most this long (the relay keeps a planned room no longer).
pub const MAX_LENGTH_SECS: u32 = 12 * 60 * 60;
/// Default: the link opens this long before the start.
pub const DEFAULT_OPENS_BEFORE_SECS: u32 = 15 * 60;

/// The counsellor's tab registers a planned room with the relay once its
/// window opens within this time ("the day's planned rooms"): the relay learns
/// of a room at most a day ahead and forgets it at the window's end.
pub const REGISTER_AHEAD_SECS: u64 = 24 * 60 * 60;

/// The longest wait between two knocks refused inside the window (the
/// counsellor's confide may not be open yet).
pub const MAX_KNOCK_RETRY_SECS: u64 = 15;

/// A waiting page re-checks the time at least this often: phones throttle
/// and freeze timers, so one long timer is not to be trusted.
pub const MAX_WAKE_SECS: u64 = 30;

/// Why an appointment cannot be made or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AppointmentError {
    #[error("the appointment's start is not a valid time")]
    BadStart,
    #[error("the link may open at most two hours before the start")]
    OpensTooEarly,
    #[error("an appointment lasts between one minute and twelve hours")]
    BadLength,
}

/// One appointment: a start and a window around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appointment {
    start: u32,
    opens_before: u16,
    length: u16,
}

/// Where a moment falls relative to an appointment's window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before the window: the link does not work yet.
    Early { opens_in: u64 },
    /// Inside the window.
    Open,
    /// The window has closed.
    Over,
}

impl Appointment {
    /// An appointment starting at `start` (unix seconds), whose link opens
    /// `opens_before` seconds earlier and which lasts `length` seconds.
    pub fn new(start: u64, opens_before: u32, length: u32) -> Result<Self, AppointmentError> {
        let start = u32::try_from(start).map_err(|_| AppointmentError::BadStart)?;
        if opens_before > MAX_OPENS_BEFORE_SECS || u64::from(opens_before) > u64::from(start) {
            return Err(AppointmentError::OpensTooEarly);
        }
        if !(60..=MAX_LENGTH_SECS).contains(&length) {
            return Err(AppointmentError::BadLength);
        }
        // Both fit: the maxima are below u16::MAX.
        Ok(Self {
            start,
            opens_before: opens_before as u16,
            length: length as u16,
        })
    }

    /// When the appointment starts (unix seconds).
    pub fn starts(&self) -> u64 {
        u64::from(self.start)
    }

    /// When the link starts to work (unix seconds).
    pub fn opens(&self) -> u64 {
        self.starts() - u64::from(self.opens_before)
    }

    /// When the link stops working and the relay forgets the room (unix seconds).
    pub fn closes(&self) -> u64 {
        self.starts() + u64::from(self.length)
    }

    /// Where `now` falls.
    pub fn phase(&self, now: u64) -> Phase {
        if now < self.opens() {
            Phase::Early {
                opens_in: self.opens() - now,
            }
        } else if now < self.closes() {
            Phase::Open
        } else {
            Phase::Over
        }
    }

    /// Whether the counsellor's tab should register the room now: the
    /// window opens within [`REGISTER_AHEAD_SECS`] and has not closed.
    pub fn due_for_registration(&self, now: u64) -> bool {
        now < self.closes() && self.opens() <= now.saturating_add(REGISTER_AHEAD_SECS)
    }

    /// A knock was refused (4007) after `refused` earlier refusals: seconds
    /// to wait before knocking again, or `None` once the window has closed
    /// (then the page says the appointment is over, not that the link was used).
    pub fn after_refusal(&self, now: u64, refused: u32) -> Option<u64> {
        match self.phase(now) {
            Phase::Over => None,
            _ => Some(knock_retry_delay(refused)),
        }
    }

    /// Seconds a waiting page may sleep before it looks at the clock again.
    pub fn next_wake(&self, now: u64) -> u64 {
        match self.phase(now) {
            Phase::Early { opens_in } => opens_in.clamp(1, MAX_WAKE_SECS),
            Phase::Open => (self.closes() - now).clamp(1, MAX_WAKE_SECS),
            Phase::Over => MAX_WAKE_SECS,
        }
    }

    /// The 8 bytes carried in a version-2 link.
    pub fn to_bytes(&self) -> [u8; APPOINTMENT_BYTES] {
        let mut b = [0u8; APPOINTMENT_BYTES];
        b[..4].copy_from_slice(&self.start.to_be_bytes());
        b[4..6].copy_from_slice(&self.opens_before.to_be_bytes());
        b[6..].copy_from_slice(&self.length.to_be_bytes());
        b
    }

    /// Reads the 8 bytes of a version-2 link, with the same checks as [`Appointment::new`].
    pub fn from_bytes(b: &[u8; APPOINTMENT_BYTES]) -> Result<Self, AppointmentError> {
        let start = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        let opens_before = u16::from_be_bytes([b[4], b[5]]);
        let length = u16::from_be_bytes([b[6], b[7]]);
        Self::new(u64::from(start), u32::from(opens_before), u32::from(length))
    }
}

/// Seconds a guest waits before knocking again after a knock was refused
/// (4007) inside the window: the counsellor's confide has probably not
/// registered the room yet. 2, 4, 8, then every 15 s, so she gets in soon
/// after the counsellor opens confide, without hammering the relay.
pub fn knock_retry_delay(attempt: u32) -> u64 {
    match attempt {
        0 => 2,
        1 => 4,
        2 => 8,
        _ => MAX_KNOCK_RETRY_SECS,
    }
}

/// The two messages that register a planned room with the relay, exactly what
/// an immediate session gives it, plus the window: `create_room` keeps the room
/// until the window closes, `add_invite` makes the link work only inside it.
/// Sent on a connection of its own, again after every reconnect (a restarted
/// relay has forgotten everything).
pub fn registration(
    secret: &SessionSecret,
    invite: &Invite,
    appointment: Appointment,
    counsellor: CounsellorToken,
) -> [ClientMessage; 2] {
    let room = secret.room_id();
    [
        ClientMessage::CreateRoom {
            v: crate::wire::PROTOCOL_VERSION,
            room,
            host_token: secret.host_token(),
            counsellor,
            keep_until: Some(appointment.closes()),
        },
        ClientMessage::AddInvite {
            room,
            token_hash: invite.token().hash(),
            ttl_secs: None,
            opens: Some(appointment.opens()),
            closes: Some(appointment.closes()),
        },
    ]
}

#[cfg(test)]
mod tests;
