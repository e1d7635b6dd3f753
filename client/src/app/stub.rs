//! A stand-in controller until the real session controller exists: walks through
//! the screens with sample data, without any network. Not a security boundary.

use gloo::timers::callback::Timeout;
use wasm_bindgen::JsCast;
use web_sys::{MediaStream, MediaStreamTrack};

use super::controller::{Controller, UiHandle};
use super::devices;
use super::model::{
    CallView, ChatLine, DeviceKind, FailureKind, GuestView, InviteLink, InviteView, KnockView,
    MAX_GUESTS, ParticipantView, SafetyCode, Screen, StartView, UiAction,
};

#[derive(Default)]
pub struct StubController {
    ui: Option<UiHandle>,
    next_id: u32,
    local: Option<MediaStream>,
}

/// The fragment of the page URL without `#`.
fn fragment() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .map(|hash| hash.trim_start_matches('#').to_string())
        .unwrap_or_default()
}

fn sample_link(id: u32) -> InviteLink {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    InviteLink {
        id,
        url: format!("{origin}/#1{id}Xq7mVb2KpZr9TnW4cLd8HsYe3FgJ5uAo6Qi0"),
        used: false,
        until: None,
        note: String::new(),
    }
}

fn now() -> f64 {
    js_sys::Date::now()
}

fn set_enabled(stream: &Option<MediaStream>, kind: DeviceKind, enabled: bool) {
    if let Some(track) = stream.as_ref().and_then(|s| devices::first_track(s, kind)) {
        track.set_enabled(enabled);
    }
}

impl StubController {
    pub fn new() -> Self {
        Self::default()
    }

    fn ui(&self) -> Option<&UiHandle> {
        self.ui.as_ref()
    }

    fn set(&self, screen: Screen) {
        if let Some(ui) = self.ui() {
            ui.set_screen(screen);
        }
    }

    fn update_call(&self, change: impl FnOnce(&mut CallView) + 'static) {
        if let Some(ui) = self.ui() {
            ui.update(move |screen| {
                if let Screen::Call(call) = screen {
                    change(call);
                }
            });
        }
    }

    fn stop_local(&mut self) {
        if let Some(stream) = self.local.take() {
            devices::stop_all(&stream);
        }
    }

    /// After `ms`, change the screen (one-shot).
    fn later(&self, ms: u32, change: impl FnOnce(&mut Screen) + 'static) {
        if let Some(ui) = self.ui().cloned() {
            Timeout::new(ms, move || ui.update(change)).forget();
        }
    }
}

impl Controller for StubController {
    fn initial_screen(&self) -> Screen {
        let fragment = fragment();
        if fragment.is_empty() {
            Screen::Start(StartView::default())
        } else if fragment.starts_with('1') && fragment.len() > 20 {
            Screen::GuestWelcome(GuestView::default())
        } else {
            Screen::Failure(FailureKind::InvalidLink)
        }
    }

    fn attach(&mut self, ui: UiHandle) {
        self.ui = Some(ui);
    }

    fn handle(&mut self, action: UiAction) {
        match action {
            UiAction::StartSession => {
                self.next_id = 1;
                self.set(Screen::Invite(InviteView {
                    invites: vec![sample_link(1)],
                    ..InviteView::default()
                }));
                // Somebody knocks after a while, to show the waiting room.
                self.later(6000, |screen| {
                    if let Screen::Invite(view) = screen {
                        view.knocks.push(KnockView {
                            id: 7,
                            name: Some("Alex".into()),
                            renewal: false,
                            declining: false,
                            note: None,
                        });
                    }
                });
            }
            UiAction::CreateInvite => {
                self.next_id += 1;
                let link = sample_link(self.next_id);
                if let Some(ui) = self.ui() {
                    ui.update(move |screen| {
                        if let Screen::Invite(view) = screen
                            && view.invites.len() < MAX_GUESTS
                        {
                            view.invites.push(link);
                        }
                    });
                }
            }
            UiAction::Admit(id) => {
                if let Some(ui) = self.ui() {
                    ui.update(move |screen| match screen {
                        Screen::Invite(view) => {
                            if let Some(pos) = view.knocks.iter().position(|k| k.id == id) {
                                let knock = view.knocks.remove(pos);
                                view.admitted.push(knock);
                            }
                        }
                        Screen::Call(call) => {
                            if let Some(pos) = call.knocks.iter().position(|k| k.id == id) {
                                let knock = call.knocks.remove(pos);
                                call.participants.push(ParticipantView {
                                    id,
                                    name: knock.name,
                                    is_host: false,
                                    stream: None,
                                    audio_only: true,
                                    chat_only: false,
                                    muted: false,
                                    encrypted: true,
                                    trouble: None,
                                    away: false,
                                    paused: false,
                                });
                            }
                        }
                        _ => {}
                    });
                }
            }
            UiAction::Reject(id) => {
                if let Some(ui) = self.ui() {
                    ui.update(move |screen| match screen {
                        Screen::Invite(view) => view.knocks.retain(|k| k.id != id),
                        Screen::Call(call) => call.knocks.retain(|k| k.id != id),
                        _ => {}
                    });
                }
            }
            UiAction::Remove(id) => self.update_call(move |call| {
                call.participants.retain(|p| p.id != id);
            }),
            UiAction::EnterCall(media) => {
                self.local = Some(Clone::clone(&media.stream));
                if let Some(ui) = self.ui() {
                    ui.update(move |screen| {
                        let admitted = match screen {
                            Screen::Invite(view) => view.admitted.clone(),
                            _ => Vec::new(),
                        };
                        *screen = Screen::Call(CallView {
                            is_host: true,
                            participants: admitted
                                .into_iter()
                                .map(|guest| ParticipantView {
                                    id: guest.id,
                                    name: guest.name,
                                    is_host: false,
                                    stream: None,
                                    audio_only: true,
                                    chat_only: false,
                                    muted: false,
                                    encrypted: true,
                                    trouble: None,
                                    away: false,
                                    paused: false,
                                })
                                .collect(),
                            local_stream: Some(media.stream),
                            audio_only: media.audio_only,
                            codes: vec![SafetyCode {
                                peer: 2,
                                name: None,
                                with_host: false,
                                code: "482916".into(),
                                confirmed: false,
                                renewed: false,
                            }],
                            ..CallView::default()
                        });
                    });
                }
                self.later(1500, |screen| {
                    if let Screen::Call(call) = screen {
                        call.all_encrypted = true;
                    }
                });
            }
            UiAction::ContinueToDeviceCheck => {
                self.set(Screen::DeviceCheck(GuestView::default()));
            }
            UiAction::Knock { name: _, media } => {
                self.local = Some(Clone::clone(&media.stream));
                self.set(Screen::Waiting);
                let stream = media.stream;
                let audio_only = media.audio_only;
                self.later(4000, move |screen| {
                    *screen = Screen::Call(CallView {
                        participants: vec![ParticipantView {
                            id: 1,
                            name: None,
                            is_host: true,
                            stream: None,
                            audio_only: true,
                            chat_only: false,
                            muted: false,
                            encrypted: true,
                            trouble: None,
                            away: false,
                            paused: false,
                        }],
                        local_stream: Some(stream),
                        audio_only,
                        codes: vec![SafetyCode {
                            peer: 1,
                            name: None,
                            with_host: true,
                            code: "482916".into(),
                            confirmed: false,
                            renewed: false,
                        }],
                        ..CallView::default()
                    });
                });
                self.later(5500, |screen| {
                    if let Screen::Call(call) = screen {
                        call.all_encrypted = true;
                    }
                });
            }
            UiAction::ToggleMute => {
                let local = self.local.clone();
                self.update_call(move |call| {
                    call.muted = !call.muted;
                    set_enabled(&local, DeviceKind::Microphone, !call.muted);
                });
            }
            UiAction::ToggleCamera => {
                let local = self.local.clone();
                self.update_call(move |call| {
                    call.camera_off = !call.camera_off;
                    set_enabled(&local, DeviceKind::Camera, !call.camera_off);
                });
            }
            UiAction::SwitchDevice(switch) => {
                let Some(local) = &self.local else {
                    devices::stop_all(&switch.stream);
                    return;
                };
                if let Some(old) = devices::first_track(local, switch.kind) {
                    old.stop();
                    local.remove_track(&old);
                }
                for track in switch.stream.get_tracks().iter() {
                    if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
                        local.add_track(&track);
                    }
                }
            }
            UiAction::ShareScreen => self.update_call(|call| {
                call.sharing_screen = !call.sharing_screen;
            }),
            UiAction::SendChat(text) => self.update_call(move |call| {
                let id = call.chat.len() as u64;
                call.chat.push(ChatLine {
                    id,
                    mine: true,
                    sender: None,
                    from_host: call.is_host,
                    at_ms: now(),
                    text,
                });
            }),
            UiAction::ConfirmSas(peer) => self.update_call(move |call| {
                for code in call.codes.iter_mut().filter(|c| c.peer == peer) {
                    code.confirmed = true;
                }
            }),
            UiAction::DenySas(_) => {
                self.stop_local();
                self.set(Screen::Failure(FailureKind::SecurityWarning));
            }
            UiAction::HangUp => {
                self.stop_local();
                self.set(Screen::Failure(FailureKind::Left));
            }
            UiAction::EndForAll => {
                self.stop_local();
                self.set(Screen::Failure(FailureKind::SessionEnded));
            }
            UiAction::QuickExit => {
                self.stop_local();
                if let Some(window) = web_sys::window() {
                    let _ = window.location().replace("about:blank");
                }
            }
            UiAction::Retry => self.set(self.initial_screen()),
            UiAction::AudioOnly => self.set(Screen::DeviceCheck(GuestView {
                audio_only: true,
                ..GuestView::default()
            })),
            UiAction::ChatOnly => self.set(Screen::DeviceCheck(GuestView {
                audio_only: true,
                chat_only: true,
            })),
            UiAction::CopyLink(_)
            | UiAction::NoteInvite(..)
            | UiAction::SetLanguage(_)
            | UiAction::RetryMedia(_)
            | UiAction::SoundOnly(_)
            | UiAction::HideAddress(_)
            | UiAction::UndoReject(_)
            | UiAction::NewLinkAfterLeave(_)
            | UiAction::DismissDeparture(_)
            | UiAction::DismissWarning(_)
            | UiAction::SignOut
            | UiAction::PlanSession { .. }
            | UiAction::SetAddress(_)
            | UiAction::SetOwnName(_)
            | UiAction::OpenPlanned(_)
            | UiAction::DeletePlanned(_)
            | UiAction::DeleteAllPlanned => {}
        }
    }
}
