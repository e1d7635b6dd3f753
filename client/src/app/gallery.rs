//! TEST-ONLY (feature `test-hooks`): `?gallery=<name>` renders any screen with
//! sample data so every screen can be screenshotted and tested without a call.
//! Actions are recorded in `window.confideActions` (as debug strings) and then
//! handled by the stub controller.

use js_sys::{Array, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MediaStream, MediaStreamTrack, UrlSearchParams};

use super::controller::{Controller, UiHandle};
use super::devices;
use super::model::{
    CallView, ChatLine, FailureKind, GuestView, InviteLink, InviteView, KnockView, ParticipantView,
    PlannedView, SafetyCode, Screen, StartView, Trouble, UiAction, Warning, WarningKind,
};
use super::stub::StubController;

/// Every failure kind, for `failure-<data-kind>`.
const FAILURES: [FailureKind; 13] = [
    FailureKind::InvalidLink,
    FailureKind::LinkUsed,
    FailureKind::Rejected,
    FailureKind::Removed,
    FailureKind::SessionEnded,
    FailureKind::Left,
    FailureKind::CameraUnavailable { denied: true },
    FailureKind::CameraUnavailable { denied: false },
    FailureKind::MicrophoneUnavailable { denied: true },
    FailureKind::MicrophoneUnavailable { denied: false },
    FailureKind::UnsupportedBrowser,
    FailureKind::ConnectionLost { retrying: true },
    FailureKind::SecurityWarning,
];

/// Query parameter value, if present.
pub fn query(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    UrlSearchParams::new_with_str(&search).ok()?.get(name)
}

/// The gallery controller if the URL asks for one.
pub fn from_url() -> Option<GalleryController> {
    let name = query("gallery")?;
    let screen = sample(&name)?;
    Some(GalleryController {
        inner: StubController::new(),
        screen,
    })
}

fn link(id: u32, used: bool) -> InviteLink {
    InviteLink {
        id,
        url: format!("https://confide.example/#1{id}Xq7mVb2KpZr9TnW4cLd8HsYe3FgJ5uAo6Qi0"),
        used,
        until: None,
        note: String::new(),
    }
}

fn peer(id: u32, name: Option<&str>, is_host: bool) -> ParticipantView {
    ParticipantView {
        id,
        name: name.map(String::from),
        is_host,
        stream: None,
        audio_only: false,
        chat_only: false,
        muted: false,
        encrypted: true,
        trouble: None,
        away: false,
        paused: false,
    }
}

fn chat() -> Vec<ChatLine> {
    let now = js_sys::Date::now();
    vec![
        ChatLine {
            id: 1,
            mine: false,
            sender: None,
            from_host: true,
            at_ms: now - 120_000.0,
            text: "Guten Tag! Schön, dass Sie da sind. Hören Sie mich gut?".into(),
        },
        ChatLine {
            id: 2,
            mine: true,
            sender: None,
            from_host: false,
            at_ms: now - 60_000.0,
            text: "Ja, alles gut. Der Ton ist klar.".into(),
        },
        ChatLine {
            id: 3,
            mine: false,
            sender: None,
            from_host: true,
            at_ms: now,
            text: "Prima. Nehmen Sie sich Zeit.".into(),
        },
    ]
}

/// Two appointments: one today in an hour with a guest already waiting, one next week.
fn planned_samples() -> Vec<PlannedView> {
    let now = (js_sys::Date::now() / 1000.0) as u64;
    let today = now - now % 3600 + 3600;
    let sample = |n: u8, starts: u64, label: &str, knocking: bool| PlannedView {
        room: format!("room{n}"),
        starts,
        opens: starts - 15 * 60,
        closes: starts + 50 * 60,
        label: label.into(),
        link: format!("https://beratung.example/#2{}", "A".repeat(75)),
        knocking,
        fresh: false,
    };
    vec![
        sample(1, today, "für M.", true),
        sample(2, today + 7 * 86_400, "", false),
    ]
}

fn sample(name: &str) -> Option<Screen> {
    let host = || peer(1, None, true);
    Some(match name {
        "loading" => Screen::Loading,
        "start" => Screen::Start(StartView::default()),
        "start-planned" => Screen::Start(StartView {
            planned: planned_samples(),
            ..StartView::default()
        }),
        "invite" => Screen::Invite(InviteView {
            invites: vec![link(1, false)],
            ..InviteView::default()
        }),
        "invite-knocks" => Screen::Invite(InviteView {
            invites: vec![link(1, true), link(2, true), link(3, false)],
            knocks: vec![
                KnockView {
                    id: 7,
                    name: Some("Alex".into()),
                    renewal: false,
                    declining: false,
                    note: None,
                },
                KnockView {
                    id: 8,
                    name: None,
                    renewal: false,
                    declining: false,
                    note: None,
                },
            ],
            admitted: vec![KnockView {
                id: 6,
                name: Some("Sam".into()),
                renewal: false,
                declining: false,
                note: None,
            }],
            hide_address: true,
        }),
        "guest-welcome" => Screen::GuestWelcome(GuestView::default()),
        "device-check" => Screen::DeviceCheck(GuestView::default()),
        "device-check-audio" => Screen::DeviceCheck(GuestView {
            audio_only: true,
            ..GuestView::default()
        }),
        "waiting" => Screen::Waiting,
        "call-refused" => Screen::Call(CallView {
            participants: vec![host()],
            codes: vec![code(1, None, true, true)],
            all_encrypted: true,
            refused: 1,
            ..CallView::default()
        }),
        "call" | "call-chat" => Screen::Call(CallView {
            participants: vec![host()],
            codes: vec![code(1, None, true, false)],
            all_encrypted: true,
            chat: chat(),
            ..CallView::default()
        }),
        "call-confirmed" => Screen::Call(CallView {
            participants: vec![host()],
            codes: vec![code(1, None, true, true)],
            all_encrypted: true,
            ..CallView::default()
        }),
        "call-securing" => Screen::Call(CallView {
            participants: vec![ParticipantView {
                encrypted: false,
                ..host()
            }],
            ..CallView::default()
        }),
        "call-host" => Screen::Call(CallView {
            is_host: true,
            participants: vec![peer(7, Some("Alex"), false)],
            codes: vec![code(7, Some("Alex"), false, false)],
            all_encrypted: true,
            knocks: vec![KnockView {
                id: 8,
                name: None,
                renewal: false,
                declining: false,
                note: None,
            }],
            ..CallView::default()
        }),
        "call-3" => Screen::Call(CallView {
            is_host: true,
            participants: vec![
                peer(6, Some("Sam"), false),
                ParticipantView {
                    audio_only: true,
                    muted: true,
                    ..peer(7, Some("Alex"), false)
                },
                peer(8, None, false),
            ],
            codes: vec![
                code(6, Some("Sam"), false, true),
                code(7, Some("Alex"), false, false),
                code(8, None, false, false),
            ],
            all_encrypted: true,
            ..CallView::default()
        }),
        "call-alone" => Screen::Call(CallView {
            is_host: true,
            ..CallView::default()
        }),
        "call-no-media" => Screen::Call(CallView {
            is_host: true,
            participants: vec![ParticipantView {
                encrypted: false,
                trouble: Some(Trouble::NoMedia),
                ..peer(7, Some("Alex"), false)
            }],
            codes: vec![code(7, Some("Alex"), false, true)],
            ..CallView::default()
        }),
        "call-renewal" => Screen::Call(CallView {
            is_host: true,
            participants: vec![peer(7, Some("Alex"), false)],
            codes: vec![code(7, Some("Alex"), false, true)],
            all_encrypted: true,
            knocks: vec![KnockView {
                id: 7,
                name: Some("Alex".into()),
                renewal: true,
                declining: false,
                note: None,
            }],
            warnings: vec![Warning {
                id: 1,
                kind: WarningKind::RenewalRefused,
                peer: Some(7),
                name: Some("Alex".into()),
            }],
            ..CallView::default()
        }),
        "call-reconnecting" => Screen::Call(CallView {
            participants: vec![host()],
            codes: vec![code(1, None, true, true)],
            all_encrypted: true,
            reconnecting: true,
            muted: true,
            ..CallView::default()
        }),
        other => {
            let kind = other.strip_prefix("failure-")?;
            Screen::Failure(*FAILURES.iter().find(|k| k.test_kind() == kind)?)
        }
    })
}

pub struct GalleryController {
    inner: StubController,
    screen: Screen,
}

/// Appends an action to `window.confideActions` for browser tests.
fn record(action: &UiAction) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let key = JsValue::from_str("confideActions");
    let log = Reflect::get(&window, &key)
        .ok()
        .and_then(|v| v.dyn_into::<Array>().ok())
        .unwrap_or_else(|| {
            let log = Array::new();
            let _ = Reflect::set(&window, &key, &log);
            log
        });
    log.push(&JsValue::from_str(&format!("{action:?}")));
}

impl Controller for GalleryController {
    fn initial_screen(&self) -> Screen {
        self.screen.clone()
    }

    fn attach(&mut self, ui: UiHandle) {
        // Call screens: fill the videos with the (fake) camera, video only so the
        // gallery never plays sound.
        if let Screen::Call(call) = &self.screen
            && !call.audio_only
        {
            let ui_task = ui.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let Ok(stream) = devices::get_user_media(Some(None), Some(None)).await else {
                    return;
                };
                let video = Array::new();
                for track in stream.get_video_tracks().iter() {
                    if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
                        video.push(&track);
                    }
                }
                let remote = MediaStream::new_with_tracks(&video).ok();
                ui_task.update(move |screen| {
                    if let Screen::Call(call) = screen {
                        call.local_stream = Some(stream);
                        for participant in &mut call.participants {
                            if !participant.audio_only {
                                participant.stream = remote.clone();
                            }
                        }
                    }
                });
            });
        }
        self.inner.attach(ui);
    }

    fn handle(&mut self, action: UiAction) {
        record(&action);
        self.inner.handle(action);
    }

    fn check_browser_support(&self) -> bool {
        false
    }
}

/// A sample safety code shared with `peer`.
fn code(peer: u32, name: Option<&str>, with_host: bool, confirmed: bool) -> SafetyCode {
    SafetyCode {
        peer,
        name: name.map(str::to_string),
        with_host,
        code: format!("48291{}", peer % 10),
        confirmed,
        renewed: false,
    }
}
