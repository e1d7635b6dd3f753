//! The session controller: the I/O shell around `confide_shared::session::Session`.
//!
//! It turns user actions ([`UiAction`]) and relay messages into calls on the
//! sans-IO session, carries out the session's effects (send to the relay, keys
//! to the frame-crypto worker, WebRTC signals to the mesh) and keeps the UI's
//! [`Screen`] up to date. All protocol decisions live in `shared`.

mod appointment;
mod counsellor;
mod planner;
mod relay;
mod storage;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod voice;

/// `localStorage`: what stays on this device across tabs and restarts (her
/// sign-in, planned sessions, her choices). `None` where the browser refuses
/// it (private modes); every caller then simply keeps nothing.
pub fn device_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

use confide_shared::small_map::SmallMap;
use std::cell::RefCell;
use std::rc::{Rc, Weak};

use confide_shared::envelope::ParticipantId;
use confide_shared::ice_policy::{self, Link, TransportPolicy};
use confide_shared::link::{Address, Invite};
use confide_shared::media_watch::{MediaHealth, Sending};
use confide_shared::reconnect::{Reconnect, ReconnectPolicy, Retry};
use confide_shared::resume::{HostResume, Resume};
use confide_shared::session::{Effect, EndReason, Event, MediaKey, ROSTER_ACK_CHECK_MS, Session};
use confide_shared::sframe::CipherSuite;
use confide_shared::wire::{ClientMessage, CounsellorToken, ErrorCode, IceServer, MemberId};
use rand_core::OsRng;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{MediaStream, Worker};

use crate::app::controller::{Controller, UiHandle};
use crate::app::devices;
use crate::app::model::{
    CallView, ChatLine, Departure, DeviceKind, DeviceSwitch, FailureKind, GuestView, InviteLink,
    InviteView, KnockView, LocalMedia, ParticipantView, SafetyCode, Screen, StartView, UiAction,
    Warning, WarningKind,
};
use crate::rtc::{self, FrameCrypto, MediaKind, Mesh, RtcEvent, ScreenShare, TransformPath};
use relay::{RelayConnection, RelayEvent};
use storage::MediaChoice;

/// The controller the app runs with.
pub struct SessionController {
    inner: Rc<RefCell<Inner>>,
}

impl SessionController {
    pub fn new() -> SessionController {
        let inner = Rc::new_cyclic(|me| RefCell::new(Inner::new(me.clone())));
        #[cfg(feature = "test-hooks")]
        test_hooks::register(Rc::downgrade(&inner));
        SessionController { inner }
    }
}

impl Default for SessionController {
    fn default() -> Self {
        Self::new()
    }
}

/// What we know of a remote participant.
struct PeerInfo {
    participant: ParticipantId,
    name: Option<String>,
    is_host: bool,
    /// The safety code, for counsellor–guest pairs.
    sas: Option<String>,
    sas_confirmed: bool,
    /// The code replaced an earlier one (a reload on either side).
    renewed: bool,
    /// We create the WebRTC offer for this peer.
    is_offerer: bool,
    stream: Option<MediaStream>,
    /// Whether picture and sound from this peer get through.
    health: MediaHealth,
    /// The relay says this peer's connection is lost (it may come back).
    away: bool,
}

/// Media keys that arrived before the frame-crypto worker was ready.
#[derive(Default)]
struct PendingKeys {
    local: Option<(u64, MediaKey, u16)>,
    peers: Vec<(ParticipantId, u64, MediaKey, u16)>,
}

struct Inner {
    me: Weak<RefCell<Inner>>,
    ui: Option<UiHandle>,
    /// The guest's parsed invite (from the URL fragment).
    invite: Option<Invite>,
    /// Guest: the link's appointment, if any, and what waits for it.
    appointment: appointment::AppointmentWait,
    /// Counsellor: her planned sessions on this device, registered with the relay.
    planner: planner::Planner,
    /// The start page is showing (its list follows the planner).
    start_shown: std::cell::Cell<bool>,
    /// The last "Termin anlegen" was refused (a time in the past).
    plan_refused: bool,
    /// A session this tab kept before a reload, to rejoin once the UI is attached.
    pending_rejoin: Option<(Resume, MediaChoice)>,
    session: Option<Session>,
    relay: Option<RelayConnection>,
    /// Messages waiting for the socket to open.
    outbox: Vec<ClientMessage>,
    local: Option<LocalMedia>,
    /// The frame-crypto worker the app started at page load.
    worker: Option<Worker>,
    /// A guest who only writes, rejoining after a reload: enters the call
    /// (in the call or not) once the worker is there.
    chat_only_waits: Option<(LocalMedia, bool)>,
    crypto: Option<FrameCrypto>,
    mesh: Option<Mesh>,
    pending_keys: PendingKeys,
    /// WebRTC signals that arrived before the mesh existed (after a reload the
    /// counsellor's offer can beat our camera).
    pending_signals: Vec<(ParticipantId, confide_shared::signal::Signal)>,
    peers: SmallMap<MemberId, PeerInfo>,
    invites: InviteView,
    in_call: bool,
    /// A guest just let in: her call screen waits until her answer to the
    /// counsellor's offer is sent, and in Chromium until her browser checks
    /// the connection (ICE `checking`; [`crate::rtc::ice_waits_for_the_page`]),
    /// at most [`CALL_SCREEN_HOLD_MS`], so its render, the page's longest
    /// task, holds up neither the offer nor the connection.
    call_screen_held: bool,
    chat: Vec<ChatLine>,
    all_encrypted: bool,
    /// Messages refused as altered, replayed or forged.
    refused: u32,
    /// The relay's STUN/TURN servers with our credentials (`ice_servers`).
    ice_servers: Vec<IceServer>,
    /// The counsellor chose "IP-Adressen verbergen": her own links are
    /// relay-only too (see `shared::ice_policy`).
    hide_addresses: bool,
    /// Security warnings shown until dismissed (one per kind and person).
    warnings: Vec<Warning>,
    next_warning: u32,
    /// When to try the relay again after the socket dropped.
    reconnect: Reconnect,
    /// This tab rejoins a session after a reload.
    rejoining: bool,
    muted: bool,
    camera_off: bool,
    /// The screen capture being sent instead of the camera, if any.
    screen: Option<ScreenShare>,
    /// Counsellor: guests who left, each with a way back in (a new link).
    departures: Vec<Departure>,
    /// Counsellor: seats she removed herself (no "has left" notice for them).
    removed_by_me: Vec<MemberId>,
    /// Counsellor: the `beforeunload` handler that asks before the tab
    /// closes or reloads while her session is open.
    unload_guard: Option<Closure<dyn FnMut(web_sys::Event)>>,
}

/// How long "Rückgängig" can take back an "Ablehnen".
const REJECT_UNDO_MS: u32 = 5_000;

/// The longest a guest's call screen waits for her answer, or in Chromium
/// for her browser to start checking the connection (docs/BENCHMARKS.md
/// §12.10, §12.11). On loopback both come 100–160 ms after the admission;
/// when the offer is later (the counsellor still at her camera check), the
/// screen comes after this time, long before any picture could.
const CALL_SCREEN_HOLD_MS: u32 = 250;

fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The invite in this page's URL fragment, if any.
fn invite_from_url() -> Option<Result<Invite, ()>> {
    let hash = web_sys::window()?.location().hash().ok()?;
    if hash.len() <= 1 {
        return None;
    }
    Some(Invite::parse(&hash).map_err(|_| ()))
}

/// Removes the secret from the address bar and the history entry.
fn scrub_fragment() {
    if let Some(window) = web_sys::window()
        && let Ok(history) = window.history()
    {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("/"));
    }
}

fn failure_for(reason: EndReason) -> FailureKind {
    match reason {
        EndReason::Left => FailureKind::Left,
        EndReason::EndedByHost => FailureKind::SessionEnded,
        EndReason::Rejected => FailureKind::Rejected,
        EndReason::Removed => FailureKind::Removed,
        EndReason::HandshakeFailed => FailureKind::SecurityWarning,
        EndReason::Relay(code) => match code {
            // No room, or an unknown, used or expired invite: the relay
            // tells them apart for nobody (docs/PROTOCOL.md, close codes).
            ErrorCode::InviteInvalid => FailureKind::LinkUsed,
            ErrorCode::NotCounsellor => FailureKind::SignInNeeded,
            ErrorCode::SessionEnded => FailureKind::SessionEnded,
            ErrorCode::Removed => FailureKind::Removed,
            ErrorCode::Rejected => FailureKind::Rejected,
            _ => FailureKind::ConnectionLost { retrying: false },
        },
    }
}

impl Inner {
    fn new(me: Weak<RefCell<Inner>>) -> Inner {
        Inner {
            me,
            ui: None,
            invite: None,
            appointment: appointment::AppointmentWait::default(),
            planner: planner::Planner::default(),
            start_shown: std::cell::Cell::new(false),
            plan_refused: false,
            pending_rejoin: None,
            session: None,
            relay: None,
            outbox: Vec::new(),
            local: None,
            worker: None,
            chat_only_waits: None,
            crypto: None,
            mesh: None,
            pending_keys: PendingKeys::default(),
            pending_signals: Vec::new(),
            peers: SmallMap::new(),
            invites: InviteView::default(),
            in_call: false,
            call_screen_held: false,
            chat: Vec::new(),
            all_encrypted: false,
            refused: 0,
            ice_servers: Vec::new(),
            hide_addresses: false,
            warnings: Vec::new(),
            next_warning: 0,
            reconnect: Reconnect::new(ReconnectPolicy::DEFAULT),
            rejoining: false,
            muted: false,
            camera_off: false,
            screen: None,
            unload_guard: None,
            departures: Vec::new(),
            removed_by_me: Vec::new(),
        }
    }

    fn show(&self, screen: Screen) {
        self.start_shown.set(matches!(screen, Screen::Start(_)));
        if let Some(ui) = &self.ui {
            ui.set_screen(screen);
        }
    }

    /// Runs `f` on the controller later, outside any current borrow.
    fn later(me: &Weak<RefCell<Inner>>, f: impl FnOnce(&mut Inner) + 'static) {
        let me = me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Some(inner) = me.upgrade() {
                if let Ok(mut inner) = inner.try_borrow_mut() {
                    f(&mut inner);
                } else {
                    Inner::later(&Rc::downgrade(&inner), f);
                }
            }
        });
    }

    // ----- relay -----

    /// Opens the connection for the current session's room (set before every call).
    fn connect(&mut self) {
        let Some(room) = self.session.as_ref().map(Session::room) else {
            return;
        };
        let me = self.me.clone();
        let on_event: Rc<dyn Fn(RelayEvent)> = Rc::new(move |event| {
            Inner::later(&me, move |inner| inner.on_relay(event));
        });
        match RelayConnection::open(room, on_event) {
            Ok(connection) => self.relay = Some(connection),
            Err(_) => self.show(Screen::Failure(FailureKind::ConnectionLost {
                retrying: false,
            })),
        }
    }

    fn send(&mut self, message: ClientMessage) {
        match &self.relay {
            Some(relay) if relay.is_open() => {
                relay.send(&message);
            }
            _ => self.outbox.push(message),
        }
    }

    fn on_relay(&mut self, event: RelayEvent) {
        match event {
            RelayEvent::Open => {
                for message in std::mem::take(&mut self.outbox) {
                    if let Some(relay) = &self.relay {
                        relay.send(&message);
                    }
                }
            }
            RelayEvent::Message(message) => {
                if self.reconnect.reset() {
                    self.refresh();
                }
                let effects = match self.session.as_mut() {
                    Some(session) => session.handle(&mut OsRng, message),
                    None => Vec::new(),
                };
                self.apply(effects);
            }
            RelayEvent::Garbled => {
                self.refused += 1;
                self.refresh();
            }
            RelayEvent::Closed { code } => {
                let effects = match self.session.as_mut() {
                    Some(session) => session.connection_closed(code),
                    None => Vec::new(),
                };
                let ended = effects
                    .iter()
                    .any(|e| matches!(e, Effect::Event(Event::Ended(_))));
                self.apply(effects);
                if !ended && self.session.is_some() {
                    self.reconnect_later();
                }
            }
        }
    }

    /// The socket dropped but the session did not end: try again with
    /// backoff, showing "reconnecting"; give up after the grace period.
    fn reconnect_later(&mut self) {
        self.relay = None;
        // Whole milliseconds since 1970 fit u64 for the next 500 million years.
        let delay_ms = match self.reconnect.lost(now_ms().max(0.0) as u64) {
            Retry::After { delay_ms } => delay_ms,
            Retry::GiveUp => {
                self.finish(FailureKind::ConnectionLost { retrying: false });
                return;
            }
        };
        if self.in_call {
            self.refresh();
        }
        let me = self.me.clone();
        gloo::timers::callback::Timeout::new(delay_ms, move || {
            Inner::later(&me, Inner::reconnect);
        })
        .forget();
    }

    /// Counsellor: every `ROSTER_ACK_CHECK_MS`, report guests that did not
    /// acknowledge the latest list of participants (and send it again).
    fn check_roster_acks_regularly(&mut self) {
        let me = self.me.clone();
        gloo::timers::callback::Interval::new(ROSTER_ACK_CHECK_MS, move || {
            Inner::later(&me, |inner| inner.run(Session::check_roster_acks));
        })
        .forget();
    }

    fn reconnect(&mut self) {
        let Some(message) = self
            .session
            .as_mut()
            .and_then(|session| session.reconnect(&mut OsRng))
        else {
            return;
        };
        // Keep the next resume secret before the relay can use up this one.
        self.persist();
        self.outbox.clear();
        self.connect();
        self.send(message);
    }

    /// Keeps what a reload needs to rejoin (see `storage`).
    fn persist(&self) {
        let Some(resume) = self.session.as_ref().and_then(Session::resume_state) else {
            return;
        };
        let local = self.local.as_ref();
        let media = MediaChoice {
            in_call: self.in_call,
            audio_only: local.is_some_and(|l| l.audio_only),
            chat_only: local.is_some_and(LocalMedia::is_chat_only),
            camera_id: local.and_then(|l| l.camera_id.clone()),
            microphone_id: local.and_then(|l| l.microphone_id.clone()),
            hide_address: self.hide_addresses,
        };
        storage::save(&resume, &media);
    }

    // ----- effects of the session -----

    /// Runs a command on the session (if there is one) and carries out its effects.
    fn run(&mut self, command: impl FnOnce(&mut Session) -> Vec<Effect>) {
        let effects = self.session.as_mut().map(command).unwrap_or_default();
        self.apply(effects);
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        // Only these change what a reload needs (seat, invites, members);
        // WebRTC signals, chat and keys do not.
        let changed = effects.iter().any(|e| {
            matches!(
                e,
                Effect::Event(
                    Event::RoomReady
                        | Event::Knocked { .. }
                        | Event::Waiting
                        | Event::PeerSecured { .. }
                        | Event::PeerLeft { .. }
                )
            )
        });
        for effect in effects {
            match effect {
                Effect::Send(message) => self.send(message),
                Effect::Event(event) => self.on_session_event(event),
            }
        }
        if changed {
            self.persist();
        }
    }

    fn on_session_event(&mut self, event: Event) {
        match event {
            // Only a counsellor's session has a room of its own, links and
            // knocks: the guest's module leaves them out.
            Event::RoomReady
            | Event::InviteValid { .. }
            | Event::Knocked { .. }
            | Event::RenewalRequested { .. }
                if crate::GUEST_MODULE => {}
            Event::RoomReady => {
                if self.invites.invites.is_empty() {
                    self.create_invite();
                }
                // A restored counsellor has the room back; guests rejoin one by one.
                self.rejoining = false;
                self.refresh();
            }
            Event::InviteValid { invite, ttl_secs } => {
                let until = planner::now_secs() + u64::from(ttl_secs);
                if let Some(link) = self.invites.invites.iter_mut().find(|l| l.id == invite) {
                    link.until = Some(until);
                }
                self.refresh();
            }
            Event::Knocked {
                member,
                name,
                invite,
            } => {
                // A guest may knock again (reload, or we reloaded): one entry per seat.
                self.invites.knocks.retain(|k| k.id != member.0);
                let link = self.invites.invites.iter_mut().find(|i| i.id == invite);
                let note = link
                    .as_ref()
                    .map(|l| l.note.clone())
                    .filter(|n| !n.is_empty());
                self.invites.knocks.push(KnockView {
                    id: member.0,
                    name,
                    renewal: false,
                    declining: false,
                    note,
                });
                if let Some(used) = link {
                    used.used = true;
                }
                self.refresh();
            }
            Event::KnockRefused { .. } => {}
            // A renewal the counsellor did not start waits for her click:
            // its own entry ("… möchte die Verbindung neu aufbauen"), where
            // "Neu verbinden" accepts it and "Ablehnen" declines it (see
            // `UiAction::Admit`).
            Event::RenewalRequested { member, name } => {
                web_sys::console::warn_1(
                    &"confide: a participant asks to renew the connection".into(),
                );
                #[cfg(feature = "test-hooks")]
                test_hooks::record_reason("renewal requested");
                // Named as the counsellor knows the seat: the new knock's
                // name is whatever its sender typed (or made up).
                let known = self
                    .peers
                    .get(&member)
                    .and_then(|p| p.name.clone())
                    .or_else(|| {
                        let admitted = self.invites.admitted.iter();
                        admitted
                            .filter(|k| k.id == member.0)
                            .find_map(|k| k.name.clone())
                    });
                self.invites.knocks.retain(|k| k.id != member.0);
                self.invites.knocks.push(KnockView {
                    id: member.0,
                    name: known.or(name),
                    renewal: true,
                    declining: false,
                    note: None,
                });
                self.refresh();
            }
            // Envelopes were dropped on the way: a calm notice.
            Event::MessagesLost { member, count } => {
                web_sys::console::warn_1(&format!("confide: {count} messages were lost").into());
                self.warn(WarningKind::MessagesLost, member);
            }
            // A guest did not acknowledge the counsellor's roster: it may
            // still trust someone who was removed.
            Event::RosterNotAcknowledged { member, .. } => {
                #[cfg(feature = "test-hooks")]
                test_hooks::record_reason("roster not acknowledged");
                self.warn(WarningKind::RosterNotAcknowledged, member);
            }
            // Too many abandoned renewals with this seat: someone may be
            // trying to get into the middle.
            Event::RenewalRefused { member } => {
                #[cfg(feature = "test-hooks")]
                test_hooks::record_reason("renewal refused");
                self.invites
                    .knocks
                    .retain(|k| !(k.id == member.0 && k.renewal));
                self.warn(WarningKind::RenewalRefused, member);
            }
            Event::Waiting => self.show(Screen::Waiting),
            Event::PeerSecured {
                member,
                participant,
                sas,
                name,
                is_offerer,
                renewed,
            } => {
                // The counsellor is the one peer a guest shares a safety code with.
                let is_host = !self.session.as_ref().is_some_and(Session::is_host) && sas.is_some();
                self.peers.insert(
                    member,
                    PeerInfo {
                        participant,
                        name,
                        is_host,
                        // The UI groups the digits itself.
                        sas: sas.map(|s| s.to_string().replace(' ', "")),
                        sas_confirmed: false,
                        renewed,
                        is_offerer,
                        stream: None,
                        health: MediaHealth::Connecting,
                        away: false,
                    },
                );
                if let Some(mesh) = self.mesh.as_ref() {
                    let _ = mesh.add_peer(participant, is_offerer, self.policy_for(member));
                    self.pause_guest_links();
                    #[cfg(feature = "test-hooks")]
                    test_hooks::skip_decrypt_if_asked(&mesh.crypto(), &participant);
                }
                self.prepare_offer();
                if !self.session.as_ref().is_some_and(Session::is_host) {
                    // A guest enters the call as soon as the counsellor is verified.
                    if !self.in_call && self.mesh.is_some() {
                        self.hold_call_screen();
                    }
                    self.in_call = true;
                    self.rejoining = false;
                    scrub_fragment();
                }
                self.refresh();
            }
            Event::Rtc { member, signal } => {
                if let Some(peer) = self.peers.get(&member) {
                    match self.mesh.as_ref() {
                        Some(mesh) => mesh.on_signal(peer.participant, signal),
                        None => self.pending_signals.push((peer.participant, signal)),
                    }
                }
            }
            // Only from the counsellor's own channel (the session checks):
            // her tile and her chat lines, earlier ones too, say her name.
            Event::CounsellorNamed { name } => {
                for peer in self.peers.values_mut().filter(|p| p.is_host) {
                    peer.name = Some(name.clone());
                }
                for line in self.chat.iter_mut().filter(|l| l.from_host) {
                    line.sender = Some(name.clone());
                }
                self.refresh();
            }
            // The sender's line id is its own numbering; lines are keyed locally.
            Event::Chat { member, text, .. } => {
                let sender = self.peers.get(&member).and_then(|p| p.name.clone());
                self.chat.push(ChatLine {
                    id: self.chat.len() as u64 + 1,
                    mine: false,
                    sender,
                    from_host: self.peers.get(&member).is_some_and(|p| p.is_host),
                    at_ms: now_ms(),
                    text,
                });
                self.refresh();
            }
            Event::LocalSenderKey { kid, key, suite } => match &self.crypto {
                Some(crypto) => install_sender_key(crypto, kid, &key, suite),
                None => self.pending_keys.local = Some((kid, key, suite)),
            },
            Event::PeerSenderKey {
                member,
                kid,
                key,
                suite,
            } => {
                if let Some(peer) = self.peers.get(&member) {
                    match &self.crypto {
                        Some(crypto) => {
                            install_receiver_key(crypto, &peer.participant, kid, &key, suite)
                        }
                        None => self
                            .pending_keys
                            .peers
                            .push((peer.participant, kid, key, suite)),
                    }
                }
            }
            Event::PeerAway { member } | Event::PeerBack { member } => {
                let away = matches!(event, Event::PeerAway { .. });
                if let Some(peer) = self.peers.get_mut(&member) {
                    peer.away = away;
                    self.pause_guest_links();
                    self.refresh();
                }
            }
            Event::PeerLeft { member } => {
                if let Some(peer) = self.peers.remove(&member) {
                    let counsellor = self.session.as_ref().is_some_and(Session::is_host);
                    if counsellor && !self.removed_by_me.contains(&member) {
                        self.departures.retain(|d| d.id != member.0);
                        self.departures.push(Departure {
                            id: member.0,
                            name: peer.name.clone(),
                            link: None,
                        });
                    }
                    if let Some(mesh) = self.mesh.as_ref() {
                        mesh.remove_peer(peer.participant);
                    }
                    if let Some(crypto) = &self.crypto {
                        let _ = crypto.forget_peer(&peer.participant);
                    }
                }
                self.invites.knocks.retain(|k| k.id != member.0);
                self.invites.admitted.retain(|k| k.id != member.0);
                self.prepare_offer();
                self.refresh();
            }
            Event::Rejected { reason, .. } => {
                web_sys::console::warn_1(&format!("confide: refused a message: {reason}").into());
                #[cfg(feature = "test-hooks")]
                test_hooks::record_reason(&format!("refused {reason:?}"));
                self.refused += 1;
                self.refresh();
            }
            Event::IceServers(servers) => {
                self.ice_servers = servers;
                self.apply_ice_servers();
            }
            Event::Ended(reason) => {
                #[cfg(feature = "test-hooks")]
                test_hooks::record_reason(&format!("{reason:?}"));
                // Inside an appointment's window: the room may just not be open yet.
                if reason == EndReason::Relay(ErrorCode::InviteInvalid) && self.knock_again_later()
                {
                    return;
                }
                if reason == EndReason::Relay(ErrorCode::NotCounsellor) {
                    // Revoked, or the centre changed its key: this sign-in is dead.
                    counsellor::forget();
                }
                self.finish(failure_for(reason))
            }
        }
    }

    /// Switches our camera on or off. Off is a disabled track (a black
    /// picture); on also puts the camera back on the senders in case "Nur
    /// Ton" took it off them.
    fn set_camera(&mut self, on: bool) {
        self.camera_off = !on;
        let Some(local) = &self.local else {
            return;
        };
        for track in local.stream.get_video_tracks().iter() {
            if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                track.set_enabled(on);
                if on
                    && self.screen.is_none()
                    && let Some(mesh) = &self.mesh
                {
                    let _ = mesh.replace_track(MediaKind::Video, Some(&track));
                }
            }
        }
    }

    /// "Ablehnen" after its grace time, unless it was taken back (or the
    /// knock is gone meanwhile: admitted, left).
    fn reject_now(&mut self, id: u32) {
        if !self
            .invites
            .knocks
            .iter()
            .any(|k| k.id == id && k.declining)
        {
            return;
        }
        self.invites.knocks.retain(|k| k.id != id);
        self.run(|s| {
            if s.renewal_pending(MemberId(id)) {
                s.decline_renewal(MemberId(id))
            } else {
                s.reject(MemberId(id))
            }
        });
        self.persist();
        self.refresh();
    }

    /// Guest: the relay says the counsellor's connection is lost.
    fn counsellor_away(&self) -> bool {
        !self.session.as_ref().is_some_and(Session::is_host)
            && self.peers.values().any(|p| p.is_host && p.away)
    }

    /// Guest: while the counsellor is away, nothing of ours goes to the
    /// other guests (and the chat is paused): no group goes on without her.
    /// Resumed when she is back. The relay could claim she is away to
    /// pause a call; it can cut the call anyway.
    fn pause_guest_links(&self) {
        let Some(mesh) = self.mesh.as_ref() else {
            return;
        };
        let paused = self.counsellor_away();
        for peer in self.peers.values().filter(|p| !p.is_host) {
            mesh.set_paused(peer.participant, paused);
        }
    }

    /// Counsellor: the connection for a guest she let in whose handshake
    /// is still under way, made now, so that its offer is ready when the
    /// handshake ends (`rtc/mesh/prepared.rs`); closed when nobody waits.
    fn prepare_offer(&self) {
        if crate::GUEST_MODULE || !self.session.as_ref().is_some_and(Session::is_host) {
            return;
        }
        let Some(mesh) = self.mesh.as_ref() else {
            return;
        };
        let waiting = self
            .invites
            .admitted
            .iter()
            .map(|k| MemberId(k.id))
            .find(|member| !self.peers.contains_key(member));
        match waiting {
            Some(member) => mesh.prepare_offer(self.policy_for(member)),
            None => mesh.drop_prepared(),
        }
    }

    /// Which candidates the link with `member` may use.
    fn policy_for(&self, member: MemberId) -> TransportPolicy {
        let link = Link {
            me_counsellor: self.session.as_ref().is_some_and(Session::is_host),
            peer_counsellor: self.peers.get(&member).is_some_and(|p| p.is_host),
            hide_counsellor_address: self.hide_addresses,
        };
        ice_policy::policy_for(link, &self.ice_servers)
    }

    /// Hands the current servers and policies to every open connection.
    fn apply_ice_servers(&self) {
        let Some(mesh) = self.mesh.as_ref() else {
            return;
        };
        let policies: Vec<(ParticipantId, TransportPolicy)> = self
            .peers
            .iter()
            .map(|(member, peer)| (peer.participant, self.policy_for(*member)))
            .collect();
        mesh.set_ice_servers(self.ice_servers.clone(), |id| {
            policies
                .iter()
                .find(|(p, _)| *p == id)
                .map_or(TransportPolicy::All, |(_, policy)| *policy)
        });
    }

    /// Counsellor: while her session is open, closing or reloading the tab
    /// asks first (the browser's own dialog): a stray Ctrl+W must not end
    /// a counselling session. Never for guests, whose quick exit must
    /// leave at once.
    fn ask_before_closing(&mut self, on: bool) {
        let Some(window) = web_sys::window() else {
            return;
        };
        if on {
            let guard = Closure::<dyn FnMut(web_sys::Event)>::new(|event: web_sys::Event| {
                event.prevent_default();
                let _ = js_sys::Reflect::set(&event, &"returnValue".into(), &"".into());
            });
            window.set_onbeforeunload(Some(guard.as_ref().unchecked_ref()));
            self.unload_guard = Some(guard);
        } else {
            window.set_onbeforeunload(None);
            self.unload_guard = None;
        }
    }

    /// Ends everything local and shows `kind`.
    fn finish(&mut self, kind: FailureKind) {
        if let Some(session) = &self.session
            && session.is_host()
            && kind == FailureKind::SessionEnded
        {
            // The appointment took place (or she ended it): its link is spent.
            self.planner.session_ended(session.room());
        }
        self.ask_before_closing(false);
        storage::clear();
        self.reconnect.reset();
        if let Some(screen) = self.screen.take() {
            screen.stop();
        }
        // Dropping the mesh closes every peer connection.
        self.mesh = None;
        self.crypto = None;
        if let Some(relay) = self.relay.take() {
            relay.close();
        }
        if let Some(local) = self.local.take() {
            stop_stream(&local.stream);
        }
        self.session = None;
        self.in_call = false;
        self.show(Screen::Failure(kind));
    }

    /// The counsellor's start page with her planned sessions.
    fn start_view(&self) -> Screen {
        Screen::Start(StartView {
            planned: self.planner.views(&origin()),
            unreadable: self.planner.unreadable(),
            plan_refused: self.plan_refused,
            address: voice::address(),
            own_name: counsellor::load()
                .map(|token| voice::own_name(&token))
                .unwrap_or_default(),
        })
    }

    /// The counsellor's session tells each guest the name she gave herself.
    fn announce_own_name(&mut self) {
        let name = counsellor::load()
            .map(|token| voice::own_name(&token))
            .unwrap_or_default();
        self.run(|s| s.set_own_name(&name).unwrap_or_default());
    }

    /// "Anrede im Link": remembered for the next links, and her open links
    /// say it now (the same links otherwise: the marker is no secret).
    fn set_address(&mut self, address: Address) {
        voice::remember_address(address);
        let Some(session) = self.session.as_mut() else {
            return;
        };
        for (id, url) in session.set_invite_address(&origin(), address) {
            if let Some(link) = self.invites.invites.iter_mut().find(|l| l.id == id) {
                link.url = url;
            }
        }
        self.persist();
        self.refresh();
    }

    /// The planned sessions changed: redraw the start page if it is showing.
    fn refresh_start(&self) {
        if self.start_shown.get() {
            self.show(self.start_view());
        }
    }

    /// The counsellor opens a planned session: it starts like her own session
    /// after a reload, in its waiting room; a knock the relay kept arrives.
    fn open_planned(&mut self, room: &str) {
        let Ok(room) = confide_shared::wire::RoomId::from_base64(room) else {
            return;
        };
        let (Some(token), Some(planned)) = (counsellor::load(), self.planner.open(room)) else {
            return;
        };
        self.restore_host(planned.host_resume(), token);
        self.refresh();
    }

    /// The counsellor's session from what she kept (a reload, or a planned
    /// session): same room and links, new keys; takes the host seat again.
    fn restore_host(&mut self, stored: HostResume, token: CounsellorToken) {
        self.invites.invites = stored
            .invites
            .iter()
            .map(|i| InviteLink {
                id: i.id,
                url: i.invite.to_url(&origin()).to_string(),
                used: i.member.is_some(),
                until: i.invite.appointment().map(|a| a.closes()),
                note: String::new(),
            })
            .collect();
        let (session, create) = Session::restore_host(&mut OsRng, stored, token);
        self.session = Some(session);
        self.announce_own_name();
        self.check_roster_acks_regularly();
        self.ask_before_closing(true);
        self.connect();
        self.send(create);
    }

    /// Keeps the call screen back until [`Inner::release_call_screen`]:
    /// when the answer is sent (Chromium: when ICE starts checking), or
    /// after [`CALL_SCREEN_HOLD_MS`].
    fn hold_call_screen(&mut self) {
        self.call_screen_held = true;
        let me = self.me.clone();
        gloo::timers::callback::Timeout::new(CALL_SCREEN_HOLD_MS, move || {
            Inner::later(&me, Inner::release_call_screen);
        })
        .forget();
    }

    fn release_call_screen(&mut self) {
        if std::mem::take(&mut self.call_screen_held) {
            self.refresh();
        }
    }

    /// Pushes the current state to the screen that is showing.
    fn refresh(&self) {
        let Some(session) = &self.session else { return };
        if self.in_call {
            if !self.call_screen_held {
                self.show(Screen::Call(self.call_view(session.is_host())));
            }
        } else if session.is_host() && !self.rejoining {
            self.show(Screen::Invite(self.invites.clone()));
        }
    }

    fn call_view(&self, is_host: bool) -> CallView {
        let participants = self
            .peers
            .iter()
            .map(|(member, peer)| {
                // What they chose to send, from their authenticated description.
                let sending = self
                    .mesh
                    .as_ref()
                    .map_or(Sending::ALL, |mesh| mesh.remote_sending(&peer.participant));
                (member, peer, sending)
            })
            .map(|(member, peer, sending)| ParticipantView {
                id: member.0,
                name: peer.name.clone(),
                is_host: peer.is_host,
                stream: peer.stream.clone(),
                audio_only: !sending.video,
                chat_only: !sending.anything(),
                muted: false,
                encrypted: self.all_encrypted,
                trouble: match peer.health {
                    MediaHealth::Trouble(trouble) => Some(trouble),
                    _ => None,
                },
                away: peer.away,
                paused: !is_host && !peer.is_host && self.counsellor_away(),
            })
            .collect();
        // A guest compares one code (with the counsellor); the counsellor one per guest.
        let codes = self
            .peers
            .iter()
            .filter_map(|(member, peer)| {
                Some(SafetyCode {
                    peer: member.0,
                    name: peer.name.clone(),
                    with_host: peer.is_host,
                    code: peer.sas.clone()?,
                    confirmed: peer.sas_confirmed,
                    renewed: peer.renewed,
                })
            })
            .collect();
        CallView {
            is_host,
            participants,
            local_stream: self.local.as_ref().map(|l| Clone::clone(&l.stream)),
            codes,
            all_encrypted: self.all_encrypted,
            chat: self.chat.clone(),
            muted: self.muted,
            camera_off: self.camera_off,
            audio_only: self.local.as_ref().is_some_and(|l| l.audio_only),
            chat_only: self.local.as_ref().is_some_and(LocalMedia::is_chat_only),
            sharing_screen: self.screen.is_some(),
            knocks: if is_host {
                self.invites.knocks.clone()
            } else {
                Vec::new()
            },
            invites: if is_host {
                self.invites.invites.clone()
            } else {
                Vec::new()
            },
            // A rejoin after a reload is a reconnection too, until the code is back.
            reconnecting: self.reconnect.is_reconnecting() || self.rejoining,
            refused: self.refused,
            counsellor_away: !is_host && self.counsellor_away(),
            departures: if is_host {
                self.departures.clone()
            } else {
                Vec::new()
            },
            warnings: self.warnings.clone(),
        }
    }

    // ----- media -----

    /// Starts the frame-crypto worker and the mesh for `stream`. Fails closed:
    /// without encoded-transform support no call starts.
    fn start_media(&mut self, stream: MediaStream) {
        let Some(path) = rtc::detect_transform_support() else {
            self.finish(FailureKind::UnsupportedBrowser);
            return;
        };
        // The app's worker answered its ping already: the mesh starts in this
        // task, so the counsellor's peer connection and offer are under way
        // before the call screen renders (docs/BENCHMARKS.md §12).
        if let Some(worker) = self.worker.take() {
            self.media_ready(FrameCrypto::adopt_answered(worker), path, stream);
            return;
        }
        let me = self.me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let crypto = FrameCrypto::start().await;
            Inner::later(&me, move |inner| inner.media_ready(crypto, path, stream));
        });
    }

    fn media_ready(
        &mut self,
        crypto: Result<FrameCrypto, rtc::RtcError>,
        path: TransformPath,
        stream: MediaStream,
    ) {
        let Ok(crypto) = crypto else {
            self.finish(FailureKind::UnsupportedBrowser);
            return;
        };
        if let Some((kid, key, suite)) = self.pending_keys.local.take() {
            install_sender_key(&crypto, kid, &key, suite);
        }
        for (peer, kid, key, suite) in std::mem::take(&mut self.pending_keys.peers) {
            install_receiver_key(&crypto, &peer, kid, &key, suite);
        }
        let me = self.me.clone();
        let on_event: Rc<dyn Fn(RtcEvent)> = Rc::new(move |event| {
            Inner::later(&me, move |inner| inner.on_rtc(event));
        });
        let mesh = Mesh::new(
            crypto.clone(),
            path,
            &stream,
            self.ice_servers.clone(),
            on_event,
        );
        // A guest's "Nur Ton" or "Nur schreiben" is negotiated as recvonly,
        // so the others see her choice instead of waiting for a picture.
        // The counsellor always offers both (her screen share needs video).
        if self.session.as_ref().is_some_and(|s| !s.is_host()) {
            mesh.set_sending(Sending {
                audio: stream.get_audio_tracks().length() > 0,
                video: stream.get_video_tracks().length() > 0,
            });
        }
        for (member, peer) in self.peers.iter() {
            let _ = mesh.add_peer(peer.participant, peer.is_offerer, self.policy_for(*member));
            #[cfg(feature = "test-hooks")]
            test_hooks::skip_decrypt_if_asked(&crypto, &peer.participant);
        }
        for (peer, signal) in std::mem::take(&mut self.pending_signals) {
            if self.peers.values().any(|p| p.participant == peer) {
                mesh.on_signal(peer, signal);
            }
        }
        self.crypto = Some(crypto);
        self.mesh = Some(mesh);
        self.prepare_offer();
        self.pause_guest_links();
    }

    /// Shows a warning about `member` (once per kind and person while shown).
    fn warn(&mut self, kind: WarningKind, member: MemberId) {
        let peer = self.peers.contains_key(&member).then_some(member.0);
        if self
            .warnings
            .iter()
            .any(|w| w.kind == kind && w.peer == peer)
        {
            return;
        }
        let name = self.peers.get(&member).and_then(|p| p.name.clone());
        self.next_warning += 1;
        self.warnings.push(Warning {
            id: self.next_warning,
            kind,
            peer,
            name,
        });
        self.refresh();
    }

    fn member_of(&self, participant: ParticipantId) -> Option<MemberId> {
        self.peers
            .iter()
            .find(|(_, p)| p.participant == participant)
            .map(|(m, _)| *m)
    }

    fn on_rtc(&mut self, event: RtcEvent) {
        match event {
            RtcEvent::Signal { peer, signal } => {
                let answer = matches!(signal, confide_shared::signal::Signal::Answer { .. });
                if let (Some(member), Some(session)) = (self.member_of(peer), self.session.as_mut())
                {
                    let effects = session.send_rtc(member, &signal);
                    self.apply(effects);
                }
                if answer && !crate::rtc::ice_waits_for_the_page() {
                    self.release_call_screen();
                }
            }
            RtcEvent::IceChecking { .. } => self.release_call_screen(),
            RtcEvent::RemoteStream { peer, stream } => {
                if let Some(member) = self.member_of(peer)
                    && let Some(info) = self.peers.get_mut(&member)
                {
                    info.stream = Some(stream);
                }
                self.refresh();
            }
            RtcEvent::EncryptionState { all_encrypted } if self.all_encrypted != all_encrypted => {
                self.all_encrypted = all_encrypted;
                self.refresh();
            }
            RtcEvent::MediaHealth { peer, health } => {
                if let Some(member) = self.member_of(peer)
                    && let Some(info) = self.peers.get_mut(&member)
                {
                    info.health = health;
                }
                self.refresh();
            }
            RtcEvent::Error { message, .. } => {
                web_sys::console::warn_1(&format!("confide: {message}").into());
                #[cfg(feature = "test-hooks")]
                test_hooks::record_media_error(&message);
            }
            // Months of frames on one key: hand out a fresh one in time.
            RtcEvent::SenderKeyRotationNeeded => self.run(|s| s.rotate_media_key(&mut OsRng)),
            RtcEvent::FingerprintMismatch { peer } => {
                web_sys::console::error_1(
                    &format!("confide: DTLS fingerprint mismatch with {peer:?}").into(),
                );
                self.run(Session::leave);
                // After leaving, whose own reason ("Left") it replaces.
                #[cfg(feature = "test-hooks")]
                test_hooks::record_reason("FingerprintMismatch");
                self.finish(FailureKind::SecurityWarning);
            }
            _ => {}
        }
    }

    // ----- user actions -----

    fn create_invite(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let address = voice::address();
        if let Some((id, url, message)) =
            session.create_invite_addressed(&mut OsRng, &origin(), address)
        {
            self.send(message);
            self.invites.invites.push(InviteLink {
                id,
                url,
                used: false,
                until: None,
                note: String::new(),
            });
        }
        self.persist();
        self.refresh();
    }

    /// What only the counsellor does: start and plan sessions, invite,
    /// admit, turn away and remove (the first arm of [`Inner::handle`]).
    fn handle_counsellors(&mut self, action: UiAction) {
        match action {
            UiAction::StartSession => {
                let Some(token) = counsellor::load() else {
                    self.show(Screen::Failure(FailureKind::SignInNeeded));
                    return;
                };
                let (session, create) = Session::new_host(&mut OsRng, token);
                self.session = Some(session);
                self.announce_own_name();
                self.check_roster_acks_regularly();
                self.ask_before_closing(true);
                self.connect();
                self.send(create);
                self.refresh();
            }
            UiAction::CreateInvite => self.create_invite(),
            UiAction::SetAddress(address) => self.set_address(address),
            UiAction::SetOwnName(name) => {
                if let Some(token) = counsellor::load() {
                    voice::remember_own_name(&token, &name);
                }
                self.run(|s| s.set_own_name(&name).unwrap_or_default());
            }
            UiAction::PlanSession {
                starts,
                minutes,
                opens_before,
                label,
                address,
            } => {
                let me = self.me.clone();
                voice::remember_address(address);
                self.plan_refused = self
                    .planner
                    .plan(&me, starts, minutes, opens_before, &label, address)
                    .is_err();
                self.refresh_start();
            }
            UiAction::OpenPlanned(room) => self.open_planned(&room),
            UiAction::DeletePlanned(room) => {
                if let Ok(room) = confide_shared::wire::RoomId::from_base64(&room) {
                    self.planner.delete(room);
                }
                self.refresh_start();
            }
            UiAction::DeleteAllPlanned => {
                self.planner.delete_all();
                self.refresh_start();
            }
            UiAction::SignOut => {
                // Her planned sessions stay stored for her next sign-in, but
                // this tab registers nothing for her any more.
                self.planner = planner::Planner::default();
                counsellor::forget();
                self.show(Screen::Failure(FailureKind::SignInNeeded));
            }
            UiAction::HideAddress(hide) => {
                self.hide_addresses = hide;
                self.invites.hide_address = hide;
                self.apply_ice_servers();
                self.persist();
                self.refresh();
            }
            UiAction::CopyLink(_) => {}
            UiAction::NoteInvite(id, note) => {
                if let Some(link) = self.invites.invites.iter_mut().find(|l| l.id == id) {
                    link.note = note;
                }
                self.refresh();
            }
            UiAction::Admit(id) => {
                if let Some(pos) = self.invites.knocks.iter().position(|k| k.id == id) {
                    let knock = self.invites.knocks.remove(pos);
                    // A renewal's seat may be listed already.
                    self.invites.admitted.retain(|k| k.id != id);
                    self.invites.admitted.push(knock);
                }
                self.run(|s| {
                    if s.renewal_pending(MemberId(id)) {
                        s.accept_renewal(MemberId(id))
                    } else {
                        s.admit(MemberId(id))
                    }
                });
                // After the admission has left: its handshake runs meanwhile.
                self.prepare_offer();
                // The counsellor's decision is part of what a reload keeps.
                self.persist();
                self.refresh();
            }
            UiAction::Reject(id) => {
                // Not at once: "Rückgängig" can take it back for a few
                // seconds (a mis-tap must not turn someone in crisis away).
                let Some(knock) = self.invites.knocks.iter_mut().find(|k| k.id == id) else {
                    return;
                };
                knock.declining = true;
                let me = self.me.clone();
                gloo::timers::callback::Timeout::new(REJECT_UNDO_MS, move || {
                    Inner::later(&me, move |inner| inner.reject_now(id));
                })
                .forget();
                self.refresh();
            }
            UiAction::UndoReject(id) => {
                if let Some(knock) = self.invites.knocks.iter_mut().find(|k| k.id == id) {
                    knock.declining = false;
                }
                self.refresh();
            }
            UiAction::Remove(id) => {
                self.removed_by_me.push(MemberId(id));
                self.run(|s| s.remove(&mut OsRng, MemberId(id)));
            }
            UiAction::NewLinkAfterLeave(id) => {
                let before = self.invites.invites.len();
                self.create_invite();
                let url = (self.invites.invites.len() > before)
                    .then(|| self.invites.invites.last().map(|i| i.url.clone()))
                    .flatten();
                if let Some(departure) = self.departures.iter_mut().find(|d| d.id == id) {
                    departure.link = url;
                }
                self.refresh();
            }
            UiAction::DismissDeparture(id) => {
                self.departures.retain(|d| d.id != id);
                self.refresh();
            }
            UiAction::EndForAll => {
                self.run(Session::end_session);
            }
            // Not hers: `handle` sends only the actions of its first arm here.
            _ => {}
        }
    }

    fn handle(&mut self, action: UiAction) {
        match action {
            // Only the counsellor asks for these. The guest's module leaves
            // them unhandled, so the compiler drops everything behind them.
            UiAction::StartSession
            | UiAction::SignOut
            | UiAction::PlanSession { .. }
            | UiAction::SetAddress(_)
            | UiAction::SetOwnName(_)
            | UiAction::OpenPlanned(_)
            | UiAction::DeletePlanned(_)
            | UiAction::DeleteAllPlanned
            | UiAction::CreateInvite
            | UiAction::CopyLink(_)
            | UiAction::NoteInvite(..)
            | UiAction::Admit(_)
            | UiAction::Reject(_)
            | UiAction::UndoReject(_)
            | UiAction::Remove(_)
            | UiAction::NewLinkAfterLeave(_)
            | UiAction::DismissDeparture(_)
            | UiAction::HideAddress(_)
            | UiAction::EndForAll => {
                if !crate::GUEST_MODULE {
                    self.handle_counsellors(action);
                }
            }
            UiAction::DismissWarning(id) => {
                self.warnings.retain(|w| w.id != id);
                self.refresh();
            }
            UiAction::RetryMedia(id) => {
                if let (Some(mesh), Some(peer)) = (&self.mesh, self.peers.get(&MemberId(id))) {
                    mesh.retry_media(peer.participant);
                }
            }
            UiAction::SoundOnly(id) => {
                // Our picture stops being sent at all (not a black picture):
                // what is left is sound, a few dozen kbit/s. "Kamera an"
                // brings it back.
                self.set_camera(false);
                if self.screen.is_none()
                    && let Some(mesh) = &self.mesh
                {
                    let _ = mesh.replace_track(MediaKind::Video, None);
                }
                if let (Some(mesh), Some(peer)) = (&self.mesh, self.peers.get(&MemberId(id))) {
                    mesh.retry_media(peer.participant);
                }
                self.refresh();
            }
            UiAction::EnterCall(media) => self.enter_call(media, true),
            UiAction::ContinueToDeviceCheck => self.show(Screen::DeviceCheck(GuestView::default())),
            UiAction::ChatOnly => self.show(Screen::DeviceCheck(GuestView {
                audio_only: true,
                chat_only: true,
            })),
            UiAction::AudioOnly => self.show(Screen::DeviceCheck(GuestView {
                audio_only: true,
                ..GuestView::default()
            })),
            UiAction::Knock { name, media } => self.knock(name.unwrap_or_default(), media),
            UiAction::ToggleMute => {
                self.muted = !self.muted;
                if let Some(local) = &self.local {
                    for track in local.stream.get_audio_tracks().iter() {
                        if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                            track.set_enabled(!self.muted);
                        }
                    }
                }
                self.refresh();
            }
            UiAction::ToggleCamera => {
                self.set_camera(self.camera_off);
                self.refresh();
            }
            UiAction::SwitchDevice(switch) => self.switch_device(switch),
            UiAction::ShareScreen => self.toggle_screen_share(),
            UiAction::SendChat(text) => {
                if self.counsellor_away() {
                    return; // the panel says the chat is paused
                }
                let Some(session) = self.session.as_mut() else {
                    return;
                };
                if let Ok((effects, _)) = session.chat(&text, now_ms() as u64) {
                    self.chat.push(ChatLine {
                        id: self.chat.len() as u64 + 1,
                        mine: true,
                        sender: None,
                        from_host: false,
                        at_ms: now_ms(),
                        text,
                    });
                    self.apply(effects);
                    self.refresh();
                }
            }
            UiAction::ConfirmSas(peer) => {
                if let Some(info) = self.peers.get_mut(&MemberId(peer)) {
                    info.sas_confirmed = true;
                    info.renewed = false;
                }
                // Counsellor: only now does this guest meet the others (a
                // no-op for guests and for a guest already confirmed).
                self.run(|s| s.confirm_peer(&mut OsRng, MemberId(peer)));
                self.refresh();
            }
            UiAction::DenySas(peer) => {
                let is_host = self.session.as_ref().is_some_and(Session::is_host);
                if is_host && self.peers.len() > 1 {
                    // Only this guest's connection is in doubt: remove them, keep the others.
                    self.run(|s| s.remove(&mut OsRng, MemberId(peer)));
                } else {
                    self.run(Session::leave);
                    self.finish(FailureKind::SecurityWarning);
                }
            }
            UiAction::HangUp => {
                self.run(Session::leave);
            }
            UiAction::QuickExit => {
                // Say goodbye first (queued on the socket before the page goes),
                // so the others see the guest leave instead of waiting for a timeout.
                self.run(Session::leave);
                quick_exit();
            }
            UiAction::Retry => {
                if let Some(window) = web_sys::window() {
                    let _ = window.location().reload();
                }
            }
            UiAction::SetLanguage(_) => {}
        }
    }

    /// Sends the newly chosen camera or microphone instead of the old one
    /// (through the same encrypting senders), keeping mute and camera-off.
    fn switch_device(&mut self, switch: DeviceSwitch) {
        let Some(track) = devices::first_track(&switch.stream, switch.kind) else {
            return;
        };
        let Some(local) = self.local.as_mut() else {
            devices::stop_all(&switch.stream);
            return;
        };
        let (kind, enabled) = match switch.kind {
            DeviceKind::Camera => (MediaKind::Video, !self.camera_off),
            DeviceKind::Microphone => (MediaKind::Audio, !self.muted),
        };
        track.set_enabled(enabled);
        // While the screen is shared, the camera waits in the local stream.
        let sending = !(kind == MediaKind::Video && self.screen.is_some());
        if sending
            && let Some(mesh) = &self.mesh
            && mesh.replace_track(kind, Some(&track)).is_err()
        {
            devices::stop_all(&switch.stream);
            return;
        }
        if let Some(old) = devices::first_track(&local.stream, switch.kind) {
            local.stream.remove_track(&old);
            old.stop();
        }
        local.stream.add_track(&track);
        match switch.kind {
            DeviceKind::Camera => {
                local.camera_id = Some(switch.device_id);
                local.audio_only = false;
            }
            DeviceKind::Microphone => local.microphone_id = Some(switch.device_id),
        }
        self.persist();
        self.refresh();
    }

    /// Shares the screen instead of the camera, or goes back to the camera.
    /// The screen goes through the same encrypting senders as the camera.
    fn toggle_screen_share(&mut self) {
        if let Some(screen) = self.screen.take() {
            screen.stop();
            self.back_to_camera();
            return;
        }
        let me = self.me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let ended = me.clone();
            // The browser's own "stop sharing" ends the capture from outside.
            let shared = rtc::share_screen(move || {
                Inner::later(&ended, |inner| {
                    inner.screen = None;
                    inner.back_to_camera();
                });
            })
            .await;
            Inner::later(&me, move |inner| {
                // A cancelled picker is the user's choice, not an error.
                let Ok(screen) = shared else { return };
                let sent = inner.mesh.as_ref().is_some_and(|mesh| {
                    mesh.replace_track(MediaKind::Video, Some(screen.track()))
                        .is_ok()
                });
                if sent {
                    inner.screen = Some(screen);
                    inner.refresh();
                }
            });
        });
    }

    fn back_to_camera(&mut self) {
        let camera = self
            .local
            .as_ref()
            .and_then(|l| devices::first_track(&l.stream, DeviceKind::Camera));
        if let Some(mesh) = &self.mesh {
            let _ = mesh.replace_track(MediaKind::Video, camera.as_ref());
        }
        self.refresh();
    }

    /// Takes `media` as ours and starts encryption and the mesh.
    fn enter_call(&mut self, media: LocalMedia, in_call: bool) {
        self.in_call = in_call;
        let stream = Clone::clone(&media.stream);
        self.local = Some(media);
        self.start_media(stream);
        self.persist();
        self.refresh();
    }

    /// After a reload: the same session again, without a new link.
    fn rejoin(&mut self, resume: Resume, media: MediaChoice) {
        if rtc::detect_transform_support().is_none() {
            self.finish(FailureKind::UnsupportedBrowser);
            return;
        }
        self.rejoining = true;
        match resume {
            Resume::Guest(stored) => {
                let Ok((session, resume)) = Session::rejoin_guest(&mut OsRng, stored) else {
                    self.finish(FailureKind::InvalidLink);
                    return;
                };
                self.session = Some(session);
                // The resume names the next secret: keep it before sending.
                if let Some(state) = self.session.as_ref().and_then(Session::resume_state) {
                    storage::save(&state, &media);
                }
                self.in_call = media.in_call;
                self.connect();
                self.send(resume);
                if media.in_call {
                    self.refresh();
                } else {
                    self.show(Screen::Waiting);
                }
                self.acquire_media(media);
            }
            Resume::Host(stored) => {
                let Some(token) = counsellor::load() else {
                    // Signed out in another tab meanwhile.
                    storage::clear();
                    self.show(Screen::Failure(FailureKind::SignInNeeded));
                    return;
                };
                self.restore_host(stored, token);
                if media.in_call {
                    self.in_call = true;
                    self.refresh();
                    self.acquire_media(media);
                } else {
                    self.show(Screen::Loading);
                }
            }
        }
    }

    /// Gets the camera and microphone chosen before the reload (the default
    /// ones if those are gone; sound only if the camera is gone) and enters.
    fn acquire_media(&mut self, choice: MediaChoice) {
        // "Nur schreiben" stays that: nothing is asked after a reload either.
        // Right after the reload the page's frame-crypto worker may not have
        // answered yet (the camera path waits for getUserMedia meanwhile):
        // then she enters once it has.
        if choice.chat_only
            && let Some(media) = LocalMedia::chat_only()
        {
            if self.worker.is_some() {
                self.enter_call(media, choice.in_call);
            } else {
                self.chat_only_waits = Some((media, choice.in_call));
            }
            return;
        }
        let me = self.me.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let microphone = Some(choice.microphone_id.as_deref());
            let mut result = if choice.audio_only {
                Err(devices::MediaError::Missing)
            } else {
                devices::get_user_media_or_default(Some(choice.camera_id.as_deref()), microphone)
                    .await
                    .map(|stream| (stream, false))
            };
            if result.is_err() {
                result = devices::get_user_media_or_default(None, microphone)
                    .await
                    .map(|stream| (stream, true));
            }
            Inner::later(&me, move |inner| match result {
                Ok((stream, audio_only)) => {
                    let media = LocalMedia {
                        camera_id: devices::device_id(&stream, DeviceKind::Camera),
                        microphone_id: devices::device_id(&stream, DeviceKind::Microphone),
                        stream,
                        audio_only,
                    };
                    inner.enter_call(media, choice.in_call);
                }
                Err(error) => {
                    inner.run(Session::leave);
                    inner.finish(FailureKind::MicrophoneUnavailable {
                        denied: error == devices::MediaError::Denied,
                    });
                }
            });
        });
    }

    fn knock(&mut self, name: String, media: LocalMedia) {
        let Some(invite) = self.invite.take() else {
            self.show(Screen::Failure(FailureKind::InvalidLink));
            return;
        };
        if rtc::detect_transform_support().is_none() {
            self.show(Screen::Failure(FailureKind::UnsupportedBrowser));
            return;
        }
        self.remember_knock(&invite, &name);
        match Session::new_guest(&mut OsRng, invite, &name) {
            Ok((session, knock, _resume)) => {
                self.session = Some(session);
                let stream = Clone::clone(&media.stream);
                self.local = Some(media);
                self.connect();
                self.send(knock);
                self.show(Screen::Waiting);
                self.start_media(stream);
            }
            Err(_) => self.show(Screen::Failure(FailureKind::InvalidLink)),
        }
    }
}

/// Keys with a suite we do not speak are ignored: those frames never decode (fail closed).
fn install_sender_key(crypto: &FrameCrypto, kid: u64, key: &[u8; 32], suite: u16) {
    if let Some(suite) = CipherSuite::from_id(suite) {
        let _ = crypto.set_sender_key(kid, key, suite);
    }
}

fn install_receiver_key(
    crypto: &FrameCrypto,
    peer: &ParticipantId,
    kid: u64,
    key: &[u8; 32],
    suite: u16,
) {
    if let Some(suite) = CipherSuite::from_id(suite) {
        let _ = crypto.set_receiver_key(peer, kid, key, suite);
    }
}

fn stop_stream(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// Leaves at once: forgets everything this tab kept and replaces the current
/// history entry with a neutral page, so "back" does not return to confide.
fn quick_exit() {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Ok(Some(storage)) = window.session_storage() {
        let _ = storage.clear();
    }
    let _ = window
        .location()
        .replace("https://www.google.com/search?q=wetter");
}

impl Controller for SessionController {
    fn initial_screen(&self) -> Screen {
        let mut inner = self.inner.borrow_mut();
        counsellor::take_from_link();
        let from_url = invite_from_url();
        if let Some((resume, media)) = storage::load() {
            // A reload (the link's fragment is gone from the address bar once
            // in the call, or still the same link): rejoin. Another link: start afresh.
            let same = match (&from_url, &resume) {
                (None, _) => true,
                (Some(Ok(invite)), Resume::Guest(stored)) => {
                    *invite.fragment() == *stored.invite.fragment()
                }
                _ => false,
            };
            if same {
                inner.pending_rejoin = Some((resume, media));
                return Screen::Loading;
            }
            storage::clear();
        }
        match from_url {
            None if counsellor::load().is_none() => Screen::Failure(FailureKind::SignInNeeded),
            None => Screen::Start(StartView::default()),
            Some(Ok(invite)) => {
                let page = inner.appointment_page(&invite);
                inner.invite = Some(invite);
                page.unwrap_or(Screen::GuestWelcome(GuestView::default()))
            }
            Some(Err(())) => Screen::Failure(FailureKind::InvalidLink),
        }
    }

    fn attach(&mut self, ui: UiHandle) {
        let mut inner = self.inner.borrow_mut();
        inner.ui = Some(ui);
        // The counsellor's tab, on any screen, registers her planned rooms.
        if inner.invite.is_none()
            && let Some(token) = counsellor::load()
        {
            if let Some((Resume::Host(stored), _)) = &inner.pending_rejoin {
                let room = stored.secret.room_id();
                inner.planner.hosting(room);
            }
            let me = inner.me.clone();
            inner.planner.start(&me, token);
            if inner.pending_rejoin.is_none() {
                inner.show(inner.start_view());
            }
        }
        if let Some((resume, media)) = inner.pending_rejoin.take() {
            inner.hide_addresses = media.hide_address;
            inner.invites.hide_address = media.hide_address;
            inner.rejoin(resume, media);
        }
    }

    fn handle(&mut self, action: UiAction) {
        self.inner.borrow_mut().handle(action);
    }

    fn worker_ready(&mut self, worker: Worker) {
        let mut inner = self.inner.borrow_mut();
        inner.worker = Some(worker);
        if let Some((media, in_call)) = inner.chat_only_waits.take() {
            inner.enter_call(media, in_call);
        }
    }

    fn guest_address(&self) -> Address {
        let inner = self.inner.borrow();
        match (&inner.invite, &inner.pending_rejoin) {
            (Some(invite), _) => invite.address(),
            (None, Some((Resume::Guest(stored), _))) => stored.invite.address(),
            _ => Address::Formal,
        }
    }
}
