//! The counsellor's planned sessions: kept in `localStorage` on her device
//! (per sign-in), and registered with the relay while a confide tab of hers
//! is open (docs/PROTOCOL.md "Planned sessions"). What to register and when
//! is `shared::planned`/`shared::appointment`; here are the storage, one
//! relay connection per registered room, and the timers.

use std::rc::{Rc, Weak};

use confide_shared::appointment::{Appointment, knock_retry_delay};
use confide_shared::link::Address;
use confide_shared::planned::{PlannedList, PlannedSession};
use confide_shared::wire::{
    ClientMessage, CounsellorToken, ErrorCode, MemberId, RoomId, ServerMessage,
};
use gloo::timers::callback::{Interval, Timeout};
use rand_core::OsRng;
use std::cell::RefCell;

use super::Inner;
use super::relay::{RelayConnection, RelayEvent};
use crate::app::model::PlannedView;

const KEY_PREFIX: &str = "confide.planned.";
/// How often the list looks at the clock: a room becomes due, a window closes.
const TICK_MS: u32 = 30_000;

/// Unix seconds now.
pub(super) fn now_secs() -> u64 {
    (js_sys::Date::now().max(0.0) / 1000.0) as u64
}

/// Planned sessions belong to the sign-in they were made with: the key holds
/// the counsellor's id (the sign-in's first 16 bytes, not its secret part).
fn key(counsellor: &CounsellorToken) -> String {
    keyed(KEY_PREFIX, counsellor)
}

/// A storage key of `prefix` for this sign-in (see [`key`]).
pub(super) fn keyed(prefix: &str, counsellor: &CounsellorToken) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut key = prefix.to_owned();
    for byte in &counsellor.0[..16] {
        key.push(char::from(HEX[usize::from(byte >> 4)]));
        key.push(char::from(HEX[usize::from(byte & 15)]));
    }
    key
}

/// One room registered with the relay.
struct Registration {
    room: RoomId,
    connection: Option<RelayConnection>,
    retry: Option<Timeout>,
    failures: u32,
    /// Seats waiting in the lobby (someone knocked).
    lobby: Vec<MemberId>,
}

/// The planned sessions of the signed-in counsellor on this device.
#[derive(Default)]
pub(super) struct Planner {
    counsellor: Option<CounsellorToken>,
    list: PlannedList,
    registrations: Vec<Registration>,
    /// The room this tab hosts as its session now (not registered here: the
    /// session's own connection holds the seat).
    opened: Option<RoomId>,
    /// The session just planned, shown opened in the list.
    fresh: Option<RoomId>,
    tick: Option<Interval>,
}

impl Planner {
    /// Loads the list and starts registering (the counsellor's tab, any screen).
    pub(super) fn start(&mut self, me: &Weak<RefCell<Inner>>, counsellor: CounsellorToken) {
        let text = super::device_storage()
            .and_then(|s| s.get_item(&key(&counsellor)).ok().flatten())
            .unwrap_or_default();
        self.list = PlannedList::from_text(&text);
        self.counsellor = Some(counsellor);
        let me_tick = me.clone();
        self.tick = Some(Interval::new(TICK_MS, move || {
            Inner::later(&me_tick, |inner| {
                let me = inner.me.clone();
                inner.planner.update(&me);
                inner.refresh_start();
            });
        }));
        self.update(me);
    }

    fn save(&self) {
        let (Some(counsellor), Some(storage)) = (&self.counsellor, super::device_storage()) else {
            return;
        };
        let text = self.list.to_text();
        let _ = if text.is_empty() {
            storage.remove_item(&key(counsellor))
        } else {
            storage.set_item(&key(counsellor), &text)
        };
    }

    /// Forgets past sessions, registers the due ones, stops the rest.
    pub(super) fn update(&mut self, me: &Weak<RefCell<Inner>>) {
        let now = now_secs();
        if self.list.drop_past(now) > 0 {
            self.save();
        }
        let due: Vec<RoomId> = self
            .list
            .due_for_registration(now)
            .map(PlannedSession::room)
            .filter(|room| Some(*room) != self.opened)
            .collect();
        self.registrations.retain(|r| due.contains(&r.room));
        for room in due {
            if !self.registrations.iter().any(|r| r.room == room) {
                self.registrations.push(Registration {
                    room,
                    connection: None,
                    retry: None,
                    failures: 0,
                    lobby: Vec::new(),
                });
                self.connect(me, room);
            }
        }
    }

    fn connect(&mut self, me: &Weak<RefCell<Inner>>, room: RoomId) {
        let me = me.clone();
        let on_event: Rc<dyn Fn(RelayEvent)> = Rc::new(move |event| {
            Inner::later(&me, move |inner| {
                let me = inner.me.clone();
                if inner.planner.on_event(&me, room, event) {
                    inner.refresh_start();
                }
            });
        });
        let connection = RelayConnection::open(room, on_event).ok();
        if let Some(r) = self.registrations.iter_mut().find(|r| r.room == room) {
            r.connection = connection;
        }
    }

    /// A registration's connection reports. Returns whether the list changed.
    fn on_event(&mut self, me: &Weak<RefCell<Inner>>, room: RoomId, event: RelayEvent) -> bool {
        let messages = match (&self.counsellor, self.list.get(room)) {
            (Some(counsellor), Some(planned)) => Some(planned.registration(counsellor.clone())),
            _ => None,
        };
        let Some(r) = self.registrations.iter_mut().find(|r| r.room == room) else {
            return false;
        };
        match event {
            RelayEvent::Open => {
                // Again after every reconnect: a restarted relay forgot the room.
                for message in messages.iter().flatten() {
                    if let Some(connection) = &r.connection {
                        connection.send(message);
                    }
                }
                false
            }
            RelayEvent::Message(message) => {
                r.failures = 0;
                let before = r.lobby.is_empty();
                match message {
                    ServerMessage::RoomCreated { lobby, .. } => r.lobby = lobby,
                    // The relay keeps the knock; the session takes it when
                    // she opens the appointment.
                    ServerMessage::Knocked { member, .. } if !r.lobby.contains(&member) => {
                        r.lobby.push(member)
                    }
                    ServerMessage::MemberLeft { member, .. } => r.lobby.retain(|m| *m != member),
                    _ => {}
                }
                before != r.lobby.is_empty()
            }
            RelayEvent::Garbled => false,
            RelayEvent::Closed { code } => {
                r.connection = None;
                r.lobby.clear();
                let stop = matches!(
                    ErrorCode::from_close_code(code),
                    // Another tab of hers (or this tab's session) holds the
                    // seat; the relay refuses the sign-in or the room.
                    Some(
                        ErrorCode::Replaced
                            | ErrorCode::NotCounsellor
                            | ErrorCode::RoomExists
                            | ErrorCode::RoomIdMismatch
                            | ErrorCode::ProtocolError
                            | ErrorCode::SessionEnded
                    )
                );
                if !stop {
                    let delay = knock_retry_delay(r.failures);
                    r.failures = r.failures.saturating_add(1);
                    let me = me.clone();
                    r.retry = Some(Timeout::new((delay * 1000) as u32, move || {
                        Inner::later(&me, move |inner| {
                            let me = inner.me.clone();
                            if inner.planner.registrations.iter().any(|r| r.room == room) {
                                inner.planner.connect(&me, room);
                            }
                        });
                    }));
                }
                true
            }
        }
    }

    /// "Termin anlegen": a new planned session, starting at `starts` (unix
    /// seconds) for `minutes`, its link open from `opens_before` minutes
    /// earlier. `Err` when the time or label cannot be used.
    pub(super) fn plan(
        &mut self,
        me: &Weak<RefCell<Inner>>,
        starts: u64,
        minutes: u32,
        opens_before: u32,
        label: &str,
        address: Address,
    ) -> Result<(), ()> {
        if starts.saturating_add(u64::from(minutes) * 60) <= now_secs() {
            return Err(());
        }
        let appointment = Appointment::new(
            starts,
            opens_before.saturating_mul(60),
            minutes.saturating_mul(60),
        )
        .map_err(|_| ())?;
        self.plan_appointment(me, appointment, label, address)
    }

    pub(super) fn plan_appointment(
        &mut self,
        me: &Weak<RefCell<Inner>>,
        appointment: Appointment,
        label: &str,
        address: Address,
    ) -> Result<(), ()> {
        let session = PlannedSession::new(&mut OsRng, appointment, label)
            .map_err(|_| ())?
            .with_address(address);
        self.fresh = Some(session.room());
        self.list.add(session);
        self.save();
        self.update(me);
        Ok(())
    }

    /// "Löschen": forgets the session here and at the relay (the link stops working).
    pub(super) fn delete(&mut self, room: RoomId) {
        self.forget_at_relay(room);
        self.list.remove(room);
        self.save();
    }

    /// "Alle Termine auf diesem Gerät löschen".
    pub(super) fn delete_all(&mut self) {
        let rooms: Vec<RoomId> = self.registrations.iter().map(|r| r.room).collect();
        for room in rooms {
            self.forget_at_relay(room);
        }
        self.list.clear();
        self.save();
    }

    fn forget_at_relay(&mut self, room: RoomId) {
        if let Some(index) = self.registrations.iter().position(|r| r.room == room) {
            let r = self.registrations.remove(index);
            if let Some(connection) = r.connection {
                connection.send(&ClientMessage::EndSession { room });
            }
        }
    }

    /// The counsellor opens a planned session in this tab: its registration
    /// steps aside (the session's `create_room` takes the seat).
    pub(super) fn open(&mut self, room: RoomId) -> Option<PlannedSession> {
        let planned = self.list.get(room)?.clone();
        self.registrations.retain(|r| r.room != room);
        self.opened = Some(room);
        Some(planned)
    }

    /// This tab hosts `room` as its session (after a reload): never register it here.
    pub(super) fn hosting(&mut self, room: RoomId) {
        self.opened = Some(room);
        self.registrations.retain(|r| r.room != room);
    }

    /// The session in `room` ended for good: the appointment is over.
    pub(super) fn session_ended(&mut self, room: RoomId) {
        if self.list.remove(room).is_some() {
            self.save();
        }
        if self.opened == Some(room) {
            self.opened = None;
        }
    }

    /// What the start page lists.
    pub(super) fn views(&self, origin: &str) -> Vec<PlannedView> {
        self.list
            .sessions()
            .iter()
            .map(|s| {
                let room = s.room();
                let a = s.appointment();
                PlannedView {
                    room: room.to_base64(),
                    starts: a.starts(),
                    opens: a.opens(),
                    closes: a.closes(),
                    label: s.label().to_owned(),
                    link: s.link(origin).to_string(),
                    knocking: self
                        .registrations
                        .iter()
                        .any(|r| r.room == room && !r.lobby.is_empty()),
                    fresh: self.fresh == Some(room),
                }
            })
            .collect()
    }

    /// Stored lines this version could not read (kept; the page says so).
    pub(super) fn unreadable(&self) -> usize {
        self.list.unreadable()
    }
}
