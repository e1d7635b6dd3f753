//! A guest's appointment link (link version 2): the page before the window
//! opens, knocking again while the counsellor's confide has not opened the
//! room, and the end of the window. When what happens is
//! `shared::appointment`'s; here are only the clock and the timers.

use confide_shared::appointment::{Appointment, Phase};
use confide_shared::link::Invite;
use confide_shared::session::Session;
use gloo::events::EventListener;
use gloo::timers::callback::Timeout;
use rand_core::OsRng;

use super::{Inner, storage};
use crate::app::model::{AppointmentPage, AppointmentView, FailureKind, GuestView, Screen};

/// What a guest with an appointment link waits with.
#[derive(Default)]
pub(super) struct AppointmentWait {
    appointment: Option<Appointment>,
    /// The next look at the clock, or the next knock.
    timer: Option<Timeout>,
    /// Before the window: look again when the page comes back to the
    /// foreground (phones throttle and freeze timers in the background).
    on_visible: Option<EventListener>,
    /// Knocks refused inside the window so far, and when the first was.
    refused: u32,
    first_refused_ms: f64,
    /// The invite and name to knock again with (the camera stays on).
    again: Option<(Invite, String)>,
}

/// After knocking again this long, the page also offers the centre's phone
/// and says what else may be wrong.
const LONG_MS: f64 = 5.0 * 60_000.0;

/// [`LONG_MS`]; test builds take `?appointment_long=<seconds>` from the page's address.
fn long_ms() -> f64 {
    #[cfg(feature = "test-hooks")]
    if let Some(secs) =
        crate::app::gallery::query("appointment_long").and_then(|s| s.parse::<f64>().ok())
    {
        return secs * 1000.0;
    }
    LONG_MS
}

/// Whole seconds since 1970, and the milliseconds past them.
fn now() -> (u64, u32) {
    let ms = js_sys::Date::now().max(0.0) as u64;
    (ms / 1000, (ms % 1000) as u32)
}

fn view(appointment: Appointment) -> AppointmentView {
    AppointmentView {
        starts: appointment.starts(),
        opens: appointment.opens(),
        page: AppointmentPage::Early,
        long: false,
    }
}

fn page(appointment: Appointment, page: AppointmentPage) -> Screen {
    Screen::Appointment(AppointmentView {
        page,
        ..view(appointment)
    })
}

impl Inner {
    /// The page for a link's appointment, or `None` for the ordinary guest
    /// flow (no appointment, or inside its window). Before the window it
    /// keeps looking at the clock and continues by itself.
    pub(super) fn appointment_page(&mut self, invite: &Invite) -> Option<Screen> {
        let appointment = invite.appointment()?;
        self.appointment.appointment = Some(appointment);
        match appointment.phase(now().0) {
            Phase::Open => None,
            Phase::Early { .. } => {
                let me = self.me.clone();
                self.appointment.on_visible =
                    web_sys::window()
                        .and_then(|w| w.document())
                        .map(|document| {
                            EventListener::new(&document, "visibilitychange", move |_| {
                                Inner::later(&me, Inner::look_at_the_clock);
                            })
                        });
                self.wake_up(appointment);
                Some(page(appointment, AppointmentPage::Early))
            }
            Phase::Over => Some(page(appointment, AppointmentPage::Over)),
        }
    }

    /// Sets the next look at the clock: at most `MAX_WAKE_SECS` away, and
    /// just after the very moment the window opens.
    fn wake_up(&mut self, appointment: Appointment) {
        let (secs, ms) = now();
        let wait_ms = (appointment.next_wake(secs) as u32 * 1000).saturating_sub(ms) + 20;
        let me = self.me.clone();
        self.appointment.timer = Some(Timeout::new(wait_ms, move || {
            Inner::later(&me, Inner::look_at_the_clock);
        }));
    }

    /// Before the window: still early, or on to the welcome page (or the
    /// end, for a page that slept through the whole window).
    fn look_at_the_clock(&mut self) {
        let Some(appointment) = self.appointment.appointment else {
            return;
        };
        if self.appointment.on_visible.is_none() {
            return;
        }
        match appointment.phase(now().0) {
            Phase::Early { .. } => self.wake_up(appointment),
            phase => {
                self.appointment.on_visible = None;
                self.appointment.timer = None;
                self.show(if phase == Phase::Open {
                    Screen::GuestWelcome(GuestView::default())
                } else {
                    page(appointment, AppointmentPage::Over)
                });
            }
        }
    }

    /// Keeps what a knock with an appointment link needs to be sent again.
    pub(super) fn remember_knock(&mut self, invite: &Invite, name: &str) {
        if self.appointment.appointment.is_some() {
            self.appointment.again = Some((invite.clone(), name.to_owned()));
        }
    }

    /// The relay refused our knock (4007). Inside the window that most
    /// likely means the counsellor's confide has not opened the room yet —
    /// or someone else used the link; the relay gives one answer for both on
    /// purpose. So the page says so and knocks again later. Returns whether
    /// it does (otherwise the link-used page follows).
    pub(super) fn knock_again_later(&mut self) -> bool {
        let Some(appointment) = self.appointment.appointment else {
            return false;
        };
        // Never once someone of the session was secured: that is no first knock.
        if self.appointment.again.is_none() || !self.peers.is_empty() {
            return false;
        }
        let Some(delay) = appointment.after_refusal(now().0, self.appointment.refused) else {
            self.appointment_over(appointment);
            return true;
        };
        self.session = None;
        self.relay = None;
        self.outbox.clear();
        storage::clear();
        let delay = delay as u32 * 1000;
        if self.appointment.refused == 0 {
            self.appointment.first_refused_ms = js_sys::Date::now();
        }
        self.appointment.refused += 1;
        self.show(Screen::Appointment(AppointmentView {
            page: AppointmentPage::NotThereYet,
            long: js_sys::Date::now() - self.appointment.first_refused_ms >= long_ms(),
            ..view(appointment)
        }));
        let me = self.me.clone();
        self.appointment.timer = Some(Timeout::new(delay, move || {
            Inner::later(&me, Inner::knock_again);
        }));
        true
    }

    /// The window closed while she knocked: everything ends, and the page
    /// says the appointment is over (not that the link was used).
    fn appointment_over(&mut self, appointment: Appointment) {
        self.appointment.again = None;
        self.finish(FailureKind::LinkUsed);
        self.show(page(appointment, AppointmentPage::Over));
    }

    /// The same knock once more (a fresh session: a refused one is over),
    /// or the end page if the window closed meanwhile.
    fn knock_again(&mut self) {
        let (Some(appointment), Some((invite, name))) =
            (self.appointment.appointment, self.appointment.again.clone())
        else {
            return;
        };
        if appointment.phase(now().0) == Phase::Over {
            self.appointment_over(appointment);
            return;
        }
        match Session::new_guest(&mut OsRng, invite, &name) {
            Ok((session, knock, _resume)) => {
                self.session = Some(session);
                self.connect();
                self.send(knock);
            }
            Err(_) => self.finish(FailureKind::InvalidLink),
        }
    }
}
