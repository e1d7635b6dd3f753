//! The call: remote videos, self-view, encryption status and safety code,
//! controls, chat, and (counsellor) knocks arriving during the call.

use web_sys::HtmlSelectElement;
use yew::prelude::*;

use crate::app::components::icons::{Icon, icon};
use crate::app::components::video::Video;
use crate::app::devices::{self, Device};
use crate::app::i18n::{Strings, use_strings};
use crate::app::model::{
    CallView, Departure, DeviceKind, DeviceSwitch, ParticipantView, PeerId, SafetyCode, UiAction,
    WarningKind,
};
use crate::app::screens::chat::{ChatPanel, ChatToast};
use crate::app::screens::invite::{InviteLinks, knock_name, sentence_name};

#[derive(Properties, PartialEq)]
pub struct CallProps {
    pub view: CallView,
    pub on_action: Callback<UiAction>,
    /// Open the chat at first render (gallery screenshots).
    #[prop_or_default]
    pub chat_open: bool,
}

/// "123456" → "123 456" (easier to read aloud).
pub fn format_sas(sas: &str) -> String {
    let digits: Vec<char> = sas.chars().collect();
    digits
        .chunks(3)
        .map(|chunk| chunk.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

fn participant_name(strings: &Strings, participant: &ParticipantView) -> String {
    match &participant.name {
        Some(name) => name.clone(),
        None if participant.is_host => strings.counsellor.to_string(),
        None => strings.unnamed.to_string(),
    }
}

#[component(CallScreen)]
pub fn call_screen(props: &CallProps) -> Html {
    let strings = use_strings();
    let view = &props.view;
    let chat_open = use_state_eq(|| props.chat_open);
    let seen = use_state_eq(|| 0usize);
    let devices_open = use_state_eq(|| false);
    let invite_open = use_state_eq(|| false);
    let confirm_end = use_state_eq(|| false);
    // A guest's hang-up asks once more (one stray tap must not end the call).
    let confirm_hang_up = use_state_eq(|| false);
    // "Entfernen" asks once more (per person) before it removes anyone.
    let confirm_remove = use_state_eq(|| None::<PeerId>);
    // Phones: the other person's picture fills the portrait screen (cropped
    // at the sides) unless she asks for the whole picture.
    let whole = use_state_eq(|| false);
    // Phones: "Kamera wechseln" only where there is another camera.
    let cameras = use_state_eq(|| 0usize);
    {
        let cameras = cameras.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                cameras.set(devices::enumerate().await.0.len());
            });
        });
    }
    let flip_camera = {
        let on_action = props.on_action.clone();
        let stream = view.local_stream.clone();
        Callback::from(move |_: MouseEvent| {
            let on_action = on_action.clone();
            let current = stream
                .as_ref()
                .and_then(|s| devices::device_id(s, DeviceKind::Camera));
            wasm_bindgen_futures::spawn_local(async move {
                let (cameras, _) = devices::enumerate().await;
                let at = cameras.iter().position(|c| Some(&c.id) == current.as_ref());
                let Some(next) = cameras.get(at.map_or(0, |i| (i + 1) % cameras.len())) else {
                    return;
                };
                let device_id = next.id.clone();
                let id = Some(Some(device_id.as_str()));
                if let Ok(stream) = devices::get_user_media(id, None).await {
                    on_action.emit(UiAction::SwitchDevice(DeviceSwitch {
                        kind: DeviceKind::Camera,
                        device_id,
                        stream,
                    }));
                }
            });
        })
    };
    let toggle_fit = {
        let whole = whole.clone();
        Callback::from(move |_: MouseEvent| whole.set(!*whole))
    };

    // Messages are "read" while the panel is open.
    {
        let seen = seen.clone();
        use_effect_with((*chat_open, view.chat.len()), move |(open, len)| {
            if *open {
                seen.set(*len);
            }
        });
    }
    let unread = view
        .chat
        .iter()
        .skip(*seen)
        .filter(|line| !line.mine)
        .count();

    let emit = |action: UiAction| {
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| on_action.emit(action.clone()))
    };
    let toggle_chat = {
        let chat_open = chat_open.clone();
        Callback::from(move |_: MouseEvent| chat_open.set(!*chat_open))
    };
    // The counsellor's screen share first advises a single window (a whole
    // screen can show other clients' names); "Fenster wählen" then opens
    // the picker.
    let share_advice = use_state_eq(|| false);
    let share_click = {
        let share_advice = share_advice.clone();
        let on_action = props.on_action.clone();
        let direct = view.sharing_screen || !view.hosting();
        Callback::from(move |_: MouseEvent| {
            if direct {
                on_action.emit(UiAction::ShareScreen);
            } else {
                share_advice.set(true);
            }
        })
    };
    let share_choose = {
        let share_advice = share_advice.clone();
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| {
            share_advice.set(false);
            on_action.emit(UiAction::ShareScreen);
        })
    };
    let share_cancel = {
        let share_advice = share_advice.clone();
        Callback::from(move |_: MouseEvent| {
            share_advice.set(false);
            focus_testid("share-screen");
        })
    };
    let share_keydown = {
        let share_advice = share_advice.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                e.prevent_default(); // handled: not a step toward the quick exit
                share_advice.set(false);
                focus_testid("share-screen");
            }
        })
    };
    // The advice takes the focus, on its main button.
    use_effect_with(*share_advice, |open| {
        if *open {
            focus_testid("share-window");
        }
    });
    let newest_unread = view
        .chat
        .iter()
        .skip(*seen)
        .rfind(|line| !line.mine)
        .cloned();
    let close_chat = {
        let chat_open = chat_open.clone();
        Callback::from(move |()| {
            chat_open.set(false);
            focus_testid("chat-toggle");
        })
    };
    let toggle_devices = {
        let devices_open = devices_open.clone();
        Callback::from(move |_: MouseEvent| devices_open.set(!*devices_open))
    };
    let close_devices = {
        let devices_open = devices_open.clone();
        Callback::from(move |()| {
            devices_open.set(false);
            focus_testid("devices");
        })
    };
    let toggle_invite = {
        let invite_open = invite_open.clone();
        Callback::from(move |_: MouseEvent| invite_open.set(!*invite_open))
    };
    let close_invite = {
        let invite_open = invite_open.clone();
        Callback::from(move |_: MouseEvent| {
            invite_open.set(false);
            focus_testid("invite-in-call");
        })
    };
    let invite_keydown = {
        let invite_open = invite_open.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                e.prevent_default(); // handled: not a step toward the quick exit
                invite_open.set(false);
                focus_testid("invite-in-call");
            }
        })
    };
    let end_for_all = {
        let confirm_end = confirm_end.clone();
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| {
            if *confirm_end {
                on_action.emit(UiAction::EndForAll);
            } else {
                confirm_end.set(true);
            }
        })
    };
    let cancel_end = {
        let confirm_end = confirm_end.clone();
        Callback::from(move |_: FocusEvent| confirm_end.set(false))
    };
    let hang_up = {
        let confirm_hang_up = confirm_hang_up.clone();
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| {
            if *confirm_hang_up {
                on_action.emit(UiAction::HangUp);
            } else {
                confirm_hang_up.set(true);
            }
        })
    };
    let cancel_hang_up = {
        let confirm_hang_up = confirm_hang_up.clone();
        Callback::from(move |_: FocusEvent| confirm_hang_up.set(false))
    };

    let count = view.participants.len().clamp(1, 3);
    let tiles = view.participants.iter().map(|participant| {
        let name = participant_name(strings, participant);
        let asking = *confirm_remove == Some(participant.id);
        let remove = {
            let on_action = props.on_action.clone();
            let confirm_remove = confirm_remove.clone();
            let id = participant.id;
            Callback::from(move |_: MouseEvent| {
                if *confirm_remove == Some(id) {
                    confirm_remove.set(None);
                    on_action.emit(UiAction::Remove(id));
                } else {
                    confirm_remove.set(Some(id));
                }
            })
        };
        let cancel_remove = {
            let confirm_remove = confirm_remove.clone();
            Callback::from(move |_: FocusEvent| confirm_remove.set(None))
        };
        let show_video = participant.stream.is_some() && !participant.audio_only;
        html! {
            <figure class={classes!("tile", (!show_video).then_some("no-video"))} key={participant.id}
                data-testid="participant" data-peer={participant.id.to_string()}>
                <Video stream={participant.stream.clone()} testid="remote-video"
                    peer={Some(AttrValue::from(participant.id.to_string()))}
                    label={(strings.remote_video_label)(&name)} />
                // Away explains a missing picture better than "does not
                // come through", and retrying cannot help until they are back.
                if participant.paused && !participant.away {
                    <div class="tile-trouble dimmed" role="status" data-testid="participant-paused"
                        data-peer={participant.id.to_string()}>
                        <p class="tile-trouble-title">{ strings.paused_guest }</p>
                    </div>
                } else if participant.away {
                    <div class="tile-trouble dimmed" role="status" data-testid="participant-away"
                        data-peer={participant.id.to_string()}>
                        <p class="tile-trouble-title">{ strings.participant_away }</p>
                        <p>{ strings.participant_away_hint }</p>
                    </div>
                } else if participant.trouble.is_some() {
                    <div class="tile-trouble" role="alert" data-testid="media-trouble"
                        data-peer={participant.id.to_string()}
                        data-kind={participant.trouble.map(confide_shared::media_watch::Trouble::as_str).unwrap_or_default()}>
                        <p class="tile-trouble-title">{ strings.media_trouble }</p>
                        <p>{ strings.media_trouble_hint }</p>
                        <button type="button" class="btn btn-primary btn-small"
                            onclick={emit(UiAction::RetryMedia(participant.id))}
                            data-testid="retry-media" data-peer={participant.id.to_string()}>
                            { strings.media_retry }
                        </button>
                        <button type="button" class="btn btn-secondary btn-small"
                            onclick={emit(UiAction::SoundOnly(participant.id))}
                            data-testid="sound-only" data-peer={participant.id.to_string()}>
                            { strings.media_sound_only }
                        </button>
                    </div>
                } else if !show_video {
                    <div class="avatar-large" aria-hidden="true">
                        { name.chars().next().map(String::from).unwrap_or_default() }
                    </div>
                }
                <figcaption>
                    if participant.encrypted {
                        <span class="tile-lock" title={strings.encrypted}>{ icon(Icon::Lock) }</span>
                    }
                    <span class="tile-name">{ name.clone() }</span>
                    if participant.chat_only {
                        <span class="tile-mode" data-testid="participant-mode" data-mode="chat"
                            data-peer={participant.id.to_string()}>{ strings.tile_writes_only }</span>
                    } else if participant.audio_only {
                        <span class="tile-mode" data-testid="participant-mode" data-mode="audio"
                            data-peer={participant.id.to_string()}>{ strings.tile_sound_only }</span>
                    }
                    if participant.muted {
                        <span class="tile-muted" title={strings.participant_muted}>
                            { icon(Icon::MicOff) }
                            <span class="visually-hidden">{ strings.participant_muted }</span>
                        </span>
                    }
                    if view.hosting() && !participant.is_host {
                        <button type="button"
                            class={classes!("btn", "btn-small", if asking { "btn-danger" } else { "btn-quiet" })}
                            onclick={remove} onblur={cancel_remove}
                            aria-label={if asking { strings.host().remove_confirm.to_string() } else { (strings.host().remove_label)(&name) }}
                            data-testid="remove" data-peer={participant.id.to_string()}>
                            { if asking { strings.host().remove_confirm } else { strings.host().remove } }
                        </button>
                    }
                </figcaption>
            </figure>
        }
    });

    let knocks = view.knocks.iter().filter(|_| view.hosting()).map(|knock| {
        let name = knock_name(strings, knock);
        html! {
            <div class="banner knock-banner" key={knock.id} role="status"
                data-testid="knock-entry" data-peer={knock.id.to_string()}
                data-renewal={knock.renewal.to_string()}>
                { icon(Icon::Person) }
                if knock.renewal {
                    <span>{ (strings.host().renewal_request)(&sentence_name(strings, knock)) }</span>
                } else {
                    <span>{ (strings.host().knock_in_call)(&name) }</span>
                }
                if knock.declining {
                    <span class="hint" data-testid="declining">{ strings.host().declining }</span>
                    <button type="button" class="btn btn-secondary btn-small"
                        onclick={emit(UiAction::UndoReject(knock.id))} data-testid="undo-reject"
                        data-peer={knock.id.to_string()}>
                        { strings.host().undo }
                    </button>
                } else {
                    <button type="button" class="btn btn-primary btn-small" onclick={emit(UiAction::Admit(knock.id))}
                        aria-label={(strings.host().admit_label)(&name)} data-testid="admit"
                        data-peer={knock.id.to_string()}>
                        { if knock.renewal { strings.host().renewal_accept } else { strings.host().admit } }
                    </button>
                    <button type="button" class="btn btn-secondary btn-small" onclick={emit(UiAction::Reject(knock.id))}
                        aria-label={(strings.host().reject_label)(&name)} data-testid="reject"
                        data-peer={knock.id.to_string()}>
                        { strings.host().reject }
                    </button>
                }
            </div>
        }
    });

    let bool_attr = |b: bool| AttrValue::from(if b { "true" } else { "false" });

    html! {
        <div class={classes!("call", chat_open.then_some("with-chat"), whole.then_some("fit-whole"))} data-testid="call">
            <h1 class="visually-hidden" id="call-title" tabindex="-1">{ strings.call_title }</h1>
            <div class="call-top">
                <SecurityStatus view={view.clone()} on_action={props.on_action.clone()} />
            </div>
            { for view.warnings.iter().map(|warning| {
                let someone = || warning.name.clone().unwrap_or_else(|| strings.someone.to_string());
                let (testid, text) = match warning.kind {
                    WarningKind::RenewalRefused if view.hosting() => {
                        ("renewal-refused", (strings.host().renewal_refused_host)(&someone()))
                    }
                    WarningKind::RenewalRefused => {
                        ("renewal-refused", strings.renewal_refused_guest.to_string())
                    }
                    WarningKind::RosterNotAcknowledged => {
                        ("roster-not-acknowledged", (strings.roster_not_acknowledged)(&someone()))
                    }
                    WarningKind::MessagesLost => ("messages-lost", strings.messages_lost.to_string()),
                };
                html! {
                    <div class="banner warn" role="alert" key={warning.id} data-testid={testid}>
                        <span>{ text }</span>
                        <button type="button" class="btn btn-secondary btn-small"
                            onclick={emit(UiAction::DismissWarning(warning.id))}
                            data-testid="dismiss-warning">
                            { strings.dismiss }
                        </button>
                    </div>
                }
            }) }
            { for view.departures.iter().filter(|_| view.hosting()).map(|departure| html! {
                <DepartureNotice key={departure.id} departure={departure.clone()}
                    on_action={props.on_action.clone()} />
            }) }
            if view.counsellor_away && !view.reconnecting {
                <div class="banner" role="status" data-testid="counsellor-away">
                    { strings.counsellor_away }
                </div>
            }
            if view.reconnecting {
                <div class="banner warn" role="status" data-testid="reconnecting">
                    <span class="spinner" aria-hidden="true"></span>{ strings.reconnecting }
                </div>
            }
            if view.sharing_screen {
                <div class="banner" role="status" data-testid="sharing-banner">
                    { icon(Icon::Screen) }<span>{ strings.sharing_now }</span>
                    <button type="button" class="btn btn-secondary btn-small"
                        onclick={emit(UiAction::ShareScreen)} data-testid="stop-sharing">
                        { strings.stop_sharing }
                    </button>
                </div>
            }
            { for knocks }
            <div class="call-body">
                <div class={classes!("stage", format!("grid-{count}"))}>
                    { for tiles }
                    if view.participants.is_empty() {
                        <div class="alone"><p>{ strings.alone }</p></div>
                    } else {
                        <button type="button" class="btn btn-small btn-quiet fit-toggle" onclick={toggle_fit}
                            data-testid="fit-toggle">
                            { if *whole { strings.fit_fill } else { strings.fit_whole } }
                        </button>
                    }
                    <div class="self-view">
                        if view.camera_off || view.audio_only {
                            <div class="self-off" aria-hidden="true">{ icon(Icon::CameraOff) }</div>
                        }
                        <Video stream={view.local_stream.clone()} local=true testid="local-video"
                            class={classes!((view.camera_off || view.audio_only).then_some("hidden"))}
                            label={strings.preview_label} />
                        <span class="self-label">{ strings.you }</span>
                    </div>
                </div>
                if *chat_open {
                    <ChatPanel lines={view.chat.clone()} on_action={props.on_action.clone()}
                        on_close={close_chat.clone()} paused={view.counsellor_away} />
                }
            </div>
            if *devices_open {
                <DeviceMenu on_action={props.on_action.clone()} on_close={close_devices}
                    audio_only={view.audio_only} stream={view.local_stream.clone()} />
            }
            if *invite_open && view.hosting() {
                <div id="invite-panel" class="device-menu invite-panel" role="dialog"
                    aria-labelledby="invite-panel-title" onkeydown={invite_keydown}
                    data-testid="invite-panel">
                    <div class="device-menu-head">
                        <h2 id="invite-panel-title">{ strings.host().invite_in_call_title }</h2>
                        <button type="button" class="btn-icon" onclick={close_invite.clone()}
                            aria-label={strings.close} data-testid="invite-x">
                            { icon(Icon::Close) }
                        </button>
                    </div>
                    // The safety codes stay in sight while the dialog is open.
                    { for view.codes.iter().filter(|c| !c.confirmed).map(|code| html! {
                        <p class="invite-code" data-testid="invite-panel-code">
                            { strings.sas_title }{ " " }<strong>{ format_sas(&code.code) }</strong>
                        </p>
                    }) }
                    <InviteLinks invites={view.invites.iter().filter(|i| !i.used).cloned().collect::<Vec<_>>()}
                        on_action={props.on_action.clone()} />
                    <button type="button" class="btn btn-secondary" onclick={close_invite}
                        data-testid="invite-close">
                        { strings.close }
                    </button>
                </div>
            }
            // Only hers (a guest's share needs no advice): the guest's module
            // then has none of its texts.
            if *share_advice && view.hosting() {
                <div class="device-menu share-advice" role="dialog" aria-labelledby="share-advice-text"
                    onkeydown={share_keydown} data-testid="share-advice">
                    <p id="share-advice-text">{ strings.host().share_advice }</p>
                    <button type="button" class="btn btn-primary" onclick={share_choose}
                        data-testid="share-window">
                        { strings.host().share_choose_window }
                    </button>
                    <button type="button" class="btn btn-secondary" onclick={share_cancel}
                        data-testid="share-cancel">
                        { strings.host().share_cancel }
                    </button>
                </div>
            }
            if !*chat_open {
                <ChatToast line={newest_unread} {unread} on_open={toggle_chat.clone()} />
            }
            <nav class="controls" aria-label={strings.controls_label}>
                // "Nur schreiben": no microphone to switch, no devices to choose.
                if !view.chat_only {
                    <button type="button" class={classes!("ctl", view.muted.then_some("off"))}
                        onclick={emit(UiAction::ToggleMute)} data-testid="toggle-mute">
                        { icon(if view.muted { Icon::MicOff } else { Icon::Mic }) }
                        <span class="btn-label">{ if view.muted { strings.mute } else { strings.mic_on } }</span>
                    </button>
                }
                if !view.audio_only {
                    <button type="button" class={classes!("ctl", view.camera_off.then_some("off"))}
                        onclick={emit(UiAction::ToggleCamera)} data-testid="toggle-camera">
                        { icon(if view.camera_off { Icon::CameraOff } else { Icon::Camera }) }
                        <span class="btn-label">{ if view.camera_off { strings.camera_off } else { strings.camera_on } }</span>
                    </button>
                }
                if !view.audio_only && *cameras > 1 {
                    <button type="button" class="ctl" onclick={flip_camera} data-testid="flip-camera">
                        { icon(Icon::Camera) }
                        <span class="btn-label">{ strings.flip_camera }</span>
                    </button>
                }
                if !view.chat_only {
                    <button type="button" class="ctl" aria-expanded={bool_attr(*devices_open)}
                        aria-controls="device-menu" onclick={toggle_devices} data-testid="devices">
                        { icon(Icon::Devices) }
                        <span class="btn-label">{ strings.devices }</span>
                    </button>
                }
                // A guest without camera negotiated no video to send.
                if screen_share_supported() && (view.hosting() || !view.audio_only) {
                    <button type="button" class={classes!("ctl", "ctl-share", view.sharing_screen.then_some("on"))}
                        aria-pressed={bool_attr(view.sharing_screen)} onclick={share_click}
                        data-testid="share-screen">
                        { icon(Icon::Screen) }
                        <span class="btn-label">{ strings.share_screen }</span>
                    </button>
                }
                <button type="button" class={classes!("ctl", chat_open.then_some("on"))}
                    aria-pressed={bool_attr(*chat_open)} aria-controls="chat-panel"
                    onclick={toggle_chat} data-testid="chat-toggle">
                    { icon(Icon::Chat) }
                    <span class="btn-label">{ strings.chat }</span>
                    if unread > 0 {
                        <span class="badge" data-testid="chat-unread">
                            <span aria-hidden="true">{ unread }</span>
                            <span class="visually-hidden">{ (strings.chat_unread)(unread) }</span>
                        </span>
                    }
                </button>
                if view.hosting() {
                    <button type="button" class={classes!("ctl", invite_open.then_some("on"))}
                        aria-expanded={bool_attr(*invite_open)} aria-controls="invite-panel"
                        onclick={toggle_invite} data-testid="invite-in-call">
                        { icon(Icon::Plus) }
                        <span class="btn-label">{ strings.host().invite_in_call }</span>
                    </button>
                }
                // The counsellor has one way to end: for everyone, after a
                // confirmation. A counsellor who only "hung up" would leave
                // guests in a group without her.
                if view.hosting() {
                    <button type="button" class={classes!("ctl", "ctl-hangup", confirm_end.then_some("confirm"))}
                        onclick={end_for_all} onblur={cancel_end} data-testid="end-for-all">
                        { icon(Icon::HangUp) }
                        <span class="btn-label">
                            { if *confirm_end { strings.host().end_for_all_confirm } else { strings.host().end_for_all } }
                        </span>
                    </button>
                } else {
                    <button type="button" class={classes!("ctl", "ctl-hangup", confirm_hang_up.then_some("confirm"))}
                        onclick={hang_up} onblur={cancel_hang_up} data-testid="hang-up">
                        { icon(Icon::HangUp) }
                        <span class="btn-label">
                            { if *confirm_hang_up { strings.hang_up_confirm } else { strings.hang_up } }
                        </span>
                    </button>
                }
            </nav>
        </div>
    }
}

/// Returns keyboard focus to the button that opened a panel.
fn focus_testid(testid: &str) {
    use wasm_bindgen::JsCast;
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector(&format!("[data-testid=\"{testid}\"]"))
                .ok()
                .flatten()
        })
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}

/// Screen sharing needs `getDisplayMedia` (missing on phones).
fn screen_share_supported() -> bool {
    web_sys::window()
        .and_then(|w| w.navigator().media_devices().ok())
        .and_then(|m| js_sys::Reflect::get(&m, &"getDisplayMedia".into()).ok())
        .is_some_and(|f| f.is_function())
}

#[derive(Properties, PartialEq)]
struct SecurityProps {
    view: CallView,
    on_action: Callback<UiAction>,
}

/// "End-to-end encrypted" only when the controller says every track is; the
/// safety code with confirm/deny.
#[component(SecurityStatus)]
fn security_status(props: &SecurityProps) -> Html {
    let strings = use_strings();
    let view = &props.view;
    // Alone in the call there is nothing to secure or compare: no spinner
    // that never ends, the page says who is expected instead.
    if view.participants.is_empty() && view.codes.is_empty() {
        return html! {};
    }
    let host_name = view
        .codes
        .iter()
        .find(|c| c.with_host)
        .and_then(|c| c.name.as_deref());
    html! {
        <div class="security">
            if view.all_encrypted {
                <div class="status encrypted" role="status" data-testid="encrypted-indicator"
                    title={strings.encrypted_detail}>
                    { icon(Icon::Lock) }<span>{ strings.encrypted }</span>
                </div>
            } else {
                <div class="status securing" role="status" data-testid="securing-indicator">
                    <span class="spinner" aria-hidden="true"></span><span>{ strings.securing }</span>
                </div>
            }
            <div class={classes!("sas", view.all_codes_confirmed().then_some("confirmed"))}
                data-testid="sas-panel">
                if view.codes.is_empty() {
                    <span class="sas-explain">{ strings.sas_pending }</span>
                } else {
                    <span class="sas-title">{ strings.sas_title }</span>
                    // The counsellor leads: she asks, the guest reads out
                    // (or holds the number up to the camera).
                    if !view.all_codes_confirmed() {
                        <span class="sas-explain" data-testid="sas-lead">
                            { if view.hosting() { strings.sas_explain.to_string() } else { (strings.sas_lead_guest)(host_name) } }
                        </span>
                        <span class="sas-explain sas-silent" data-testid="sas-silent">
                            { if view.hosting() { strings.host().sas_silent_host } else { strings.sas_silent_guest } }
                        </span>
                    }
                    { for view.codes.iter().map(|code| html! {
                        <SafetyCodeRow code={code.clone()} labelled={view.codes.len() > 1}
                            on_action={props.on_action.clone()} />
                    }) }
                }
            </div>
            // Only the counsellor can act on an attack; a guest would only be alarmed.
            if view.refused > 0 && view.hosting() {
                <div class="status refused" role="status" data-testid="refused-notice"
                    data-count={view.refused.to_string()}>
                    { icon(Icon::Lock) }<span>{ strings.refused_notice }</span>
                </div>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct SafetyCodeProps {
    code: SafetyCode,
    /// Several codes are shown (counsellor in a group): name whom each is shared with.
    labelled: bool,
    on_action: Callback<UiAction>,
}

/// One safety code with "it matches" / "it does not match".
#[component(SafetyCodeRow)]
fn safety_code_row(props: &SafetyCodeProps) -> Html {
    let strings = use_strings();
    let code = &props.code;
    let peer = code.peer;
    // "Does not match" first asks to read the number again, slowly.
    let rechecking = use_state_eq(|| false);
    let recheck = |on: bool| {
        let rechecking = rechecking.clone();
        Callback::from(move |_: MouseEvent| rechecking.set(on))
    };
    let emit = |action: UiAction| {
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| on_action.emit(action.clone()))
    };
    let name = match &code.name {
        Some(name) => name.clone(),
        None if code.with_host => strings.counsellor.to_string(),
        None => strings.unnamed.to_string(),
    };
    let peer_attr = peer.to_string();
    html! {
        <div class={classes!("sas-row", code.confirmed.then_some("confirmed"))}
            data-testid="sas-row" data-peer={peer_attr.clone()}>
            if props.labelled {
                <span class="sas-with">{ (strings.sas_with)(&name) }</span>
            }
            if props.labelled && !code.confirmed && !code.with_host {
                <span class="sas-hint hint small" data-testid="group-confirm-hint">
                    { (strings.group_confirm_hint)(&name) }
                </span>
            }
            if code.renewed && !code.confirmed {
                <span class="sas-renewed" role="status" data-testid="sas-renewed">
                    { strings.sas_renewed }
                </span>
            }
            <span class="sas-code" data-testid="sas" data-code={code.code.clone()}
                data-peer={peer_attr.clone()} aria-label={(strings.sas_code_label)(&name, &code.code)}>
                { format_sas(&code.code) }
            </span>
            if code.confirmed {
                <span class="sas-ok" data-testid="sas-confirmed" data-peer={peer_attr.clone()}>
                    { icon(Icon::Check) }<span class="sas-ok-text">{ strings.sas_confirmed }</span>
                </span>
            } else if *rechecking {
                <span class="sas-recheck" role="alert" data-testid="sas-recheck">
                    <span>{ strings.sas_recheck }</span>
                    <button type="button" class="btn btn-small btn-quiet"
                        onclick={emit(UiAction::DenySas(peer))} data-testid="sas-deny-confirm"
                        data-peer={peer_attr.clone()}>
                        { strings.sas_is_different }
                    </button>
                    <button type="button" class="btn btn-small btn-confirm"
                        onclick={recheck(false)} data-testid="sas-deny-back" data-peer={peer_attr.clone()}>
                        { strings.back }
                    </button>
                </span>
            } else {
                <span class="sas-actions">
                    <button type="button" class="btn btn-small btn-confirm"
                        onclick={emit(UiAction::ConfirmSas(peer))} data-testid="sas-confirm"
                        data-peer={peer_attr.clone()} aria-label={(strings.sas_confirm_label)(&name)}>
                        { icon(Icon::Check) }{ strings.sas_confirm }
                    </button>
                    <button type="button" class="btn btn-small btn-quiet"
                        onclick={recheck(true)} data-testid="sas-deny"
                        data-peer={peer_attr} aria-label={(strings.sas_deny_label)(&name)}>
                        { strings.sas_deny }
                    </button>
                </span>
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct DeviceMenuProps {
    on_action: Callback<UiAction>,
    on_close: Callback<()>,
    audio_only: bool,
    /// The current local stream, to preselect the devices in use.
    stream: Option<web_sys::MediaStream>,
}

/// Camera/microphone choice during the call. Acquires the chosen device here and
/// hands the new track to the controller.
#[component(DeviceMenu)]
fn device_menu(props: &DeviceMenuProps) -> Html {
    let strings = use_strings();
    let lists = use_state_eq(|| (Vec::<Device>::new(), Vec::<Device>::new()));
    let busy = use_state_eq(|| false);
    let first = use_node_ref();
    {
        let lists = lists.clone();
        let first = first.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                lists.set(devices::enumerate().await);
            });
            if let Some(first) = first.cast::<web_sys::HtmlElement>() {
                let _ = first.focus();
            }
        });
    }
    let switch = |kind: DeviceKind| {
        let on_action = props.on_action.clone();
        let busy = busy.clone();
        Callback::from(move |e: Event| {
            let device_id = e.target_unchecked_into::<HtmlSelectElement>().value();
            let on_action = on_action.clone();
            let busy = busy.clone();
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let id = Some(Some(device_id.as_str()));
                let result = match kind {
                    DeviceKind::Camera => devices::get_user_media(id, None).await,
                    DeviceKind::Microphone => devices::get_user_media(None, id).await,
                };
                if let Ok(stream) = result {
                    on_action.emit(UiAction::SwitchDevice(DeviceSwitch {
                        kind,
                        device_id,
                        stream,
                    }));
                }
                busy.set(false);
            });
        })
    };
    let on_keydown = {
        let on_close = props.on_close.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                e.prevent_default(); // handled: not a step toward the quick exit
                on_close.emit(());
            }
        })
    };
    let on_close = {
        let on_close = props.on_close.clone();
        Callback::from(move |_: MouseEvent| on_close.emit(()))
    };
    let (cameras, microphones) = &*lists;
    let current = |kind: DeviceKind| {
        props
            .stream
            .as_ref()
            .and_then(|stream| devices::device_id(stream, kind))
    };
    let (current_camera, current_mic) =
        (current(DeviceKind::Camera), current(DeviceKind::Microphone));
    let options = |list: &[Device], current: &Option<String>, fallback: fn(usize) -> String| {
        list.iter()
            .enumerate()
            .map(|(i, d)| {
                let label = if d.label.is_empty() {
                    fallback(i + 1)
                } else {
                    d.label.clone()
                };
                let selected = current.as_deref() == Some(d.id.as_str());
                html! { <option value={d.id.clone()} {selected}>{ label }</option> }
            })
            .collect::<Html>()
    };
    html! {
        <div id="device-menu" class="device-menu" role="dialog" aria-labelledby="device-menu-title"
            onkeydown={on_keydown} aria-busy={busy.to_string()} data-testid="device-menu">
            <div class="device-menu-head">
                <h2 id="device-menu-title">{ strings.devices_title }</h2>
                <button type="button" class="btn-icon" onclick={on_close} aria-label={strings.close}>
                    { icon(Icon::Close) }
                </button>
            </div>
            if !props.audio_only {
                <div class="field">
                    <label for="call-camera">{ strings.camera }</label>
                    <select id="call-camera" ref={first.clone()} onchange={switch(DeviceKind::Camera)}
                        data-testid="call-camera-select">
                        { options(cameras, &current_camera, strings.camera_n) }
                    </select>
                </div>
            }
            <div class="field">
                <label for="call-mic">{ strings.microphone }</label>
                <select id="call-mic" onchange={switch(DeviceKind::Microphone)}
                    data-testid="call-mic-select">
                    { options(microphones, &current_mic, strings.microphone_n) }
                </select>
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct DepartureProps {
    departure: Departure,
    on_action: Callback<UiAction>,
}

/// "Mira hat das Gespräch verlassen." with a way back in: "Neuen Link
/// erstellen" makes a new one-time link and copies it at once (the click's
/// user activation still holds when the link arrives a moment later); the
/// link also stays on screen to copy by hand.
#[component(DepartureNotice)]
fn departure_notice(props: &DepartureProps) -> Html {
    let strings = use_strings();
    let wants_copy = use_mut_ref(|| false);
    // Whether the clipboard took the new link (the notice says so only then).
    let copied = use_state_eq(|| false);
    let departure = &props.departure;
    let name = departure
        .name
        .clone()
        .unwrap_or_else(|| strings.someone.to_string());
    {
        let wants_copy = wants_copy.clone();
        let copied = copied.clone();
        use_effect_with(departure.link.clone(), move |link| {
            if let Some(link) = link.clone()
                && std::mem::take(&mut *wants_copy.borrow_mut())
            {
                wasm_bindgen_futures::spawn_local(async move {
                    copied.set(crate::app::screens::invite::copy_to_clipboard(&link).await);
                });
            }
        });
    }
    let new_link = {
        let on_action = props.on_action.clone();
        let id = departure.id;
        Callback::from(move |_: MouseEvent| {
            *wants_copy.borrow_mut() = true;
            on_action.emit(UiAction::NewLinkAfterLeave(id));
        })
    };
    let dismiss = {
        let on_action = props.on_action.clone();
        let id = departure.id;
        Callback::from(move |_: MouseEvent| on_action.emit(UiAction::DismissDeparture(id)))
    };
    html! {
        <div class="banner departure" role="status" data-testid="guest-left"
            data-peer={departure.id.to_string()}>
            <span>{ (strings.host().guest_left)(&name) }</span>
            if let Some(link) = &departure.link {
                <span class="hint" data-testid="new-link-made">
                    { if *copied { (strings.host().new_link_copied)(&name) } else { (strings.host().new_link_made)(&name) } }
                </span>
                <input type="text" readonly=true value={link.clone()} class="departure-link"
                    aria-label={strings.host().invite_link_label} data-testid="new-link"
                    onfocus={Callback::from(|e: FocusEvent| {
                        e.target_unchecked_into::<web_sys::HtmlInputElement>().select();
                    })} />
            } else {
                <button type="button" class="btn btn-primary btn-small" onclick={new_link}
                    data-testid="new-link-after-leave">
                    { strings.host().new_link }
                </button>
            }
            <button type="button" class="btn btn-secondary btn-small" onclick={dismiss}
                data-testid="dismiss-departure">
                { strings.dismiss }
            </button>
        </div>
    }
}
