//! The camera and microphone check: preview, level meter, device choice, and the
//! failure pages for a blocked or missing camera/microphone.
//!
//! Owns the preview stream until the user presses the main button; then the
//! stream is handed to the controller (inside [`LocalMedia`]) and no longer
//! stopped here.

use std::cell::RefCell;
use std::rc::Rc;

use gloo::events::EventListener;
use gloo::timers::callback::Interval;
use web_sys::{HtmlMeterElement, HtmlSelectElement, MediaStream};
use yew::prelude::*;

use crate::app::components::icons::{Icon, icon};
use crate::app::components::video::Video;
use crate::app::devices::{self, Device, LevelMeter, MediaError};
use crate::app::i18n::use_strings;
use crate::app::model::{DeviceKind, FailureKind, LocalMedia, UiAction};
use crate::app::screens::failure::FailureView;

#[derive(Properties, PartialEq)]
pub struct DeviceCheckProps {
    /// Start without camera (the user already chose "sound only").
    #[prop_or_default]
    pub audio_only: bool,
    /// The guest chose "Nur schreiben": nothing is asked for, nothing previewed.
    #[prop_or_default]
    pub chat_only: bool,
    /// Counsellor's variant: smaller, inside the invite page.
    #[prop_or_default]
    pub compact: bool,
    pub title: AttrValue,
    #[prop_or_default]
    pub lead: Option<AttrValue>,
    /// The main button's text ("Anklopfen", "Gespräch betreten").
    pub action_label: AttrValue,
    pub action_testid: AttrValue,
    /// Pressed the main button with working media.
    pub on_go: Callback<LocalMedia>,
    /// Bumped by the page to press the main button for her ("Hereinlassen"
    /// on the invite page also enters); waits until the camera is ready.
    #[prop_or_default]
    pub go: u32,
    /// Extra fields shown above the main button (the guest's name field).
    #[prop_or_default]
    pub children: Html,
}

#[derive(Clone, PartialEq)]
enum Phase {
    Starting,
    Ready(MediaStream),
    Failed(FailureKind),
}

/// The devices the user picked (`None` = browser default).
#[derive(Clone, Debug, Default, PartialEq)]
struct Choice {
    camera: Option<String>,
    microphone: Option<String>,
    audio_only: bool,
    chat_only: bool,
    /// Bumped by "try again" to re-run the same request.
    attempt: u32,
}

/// Asks for camera + microphone and works out which failure page fits.
async fn acquire(choice: &Choice) -> Result<MediaStream, FailureKind> {
    if choice.chat_only {
        // No getUserMedia at all: the browser asks nothing.
        return MediaStream::new()
            .map_err(|_| FailureKind::MicrophoneUnavailable { denied: false });
    }
    let mic = Some(choice.microphone.as_deref());
    if !choice.audio_only {
        match devices::get_user_media_or_default(Some(choice.camera.as_deref()), mic).await {
            Ok(stream) => return Ok(stream),
            Err(camera_error) => {
                // Is it only the camera? Then sound only is an option.
                return match devices::get_user_media_or_default(None, mic).await {
                    Ok(audio) => {
                        devices::stop_all(&audio);
                        Err(FailureKind::CameraUnavailable {
                            denied: camera_error == MediaError::Denied,
                        })
                    }
                    Err(error) => Err(FailureKind::MicrophoneUnavailable {
                        denied: error == MediaError::Denied,
                    }),
                };
            }
        }
    }
    devices::get_user_media_or_default(None, mic)
        .await
        .map_err(|error| FailureKind::MicrophoneUnavailable {
            denied: error == MediaError::Denied,
        })
}

/// The preview stream, stopped when replaced or unmounted unless handed over.
#[derive(Default)]
struct Owned {
    stream: Option<MediaStream>,
    handed_over: bool,
    generation: u32,
}

impl Owned {
    fn release(&mut self) {
        if let Some(stream) = self.stream.take()
            && !self.handed_over
        {
            devices::stop_all(&stream);
        }
    }
}

#[component(DeviceCheck)]
pub fn device_check(props: &DeviceCheckProps) -> Html {
    let strings = use_strings();
    let choice = use_state_eq(|| Choice {
        audio_only: props.audio_only,
        chat_only: props.chat_only,
        ..Choice::default()
    });
    let phase = use_state_eq(|| Phase::Starting);
    let owned = use_mut_ref(Owned::default);
    let lists = use_state_eq(|| (Vec::<Device>::new(), Vec::<Device>::new()));
    let mic_ok = use_state_eq(|| false);
    let meter = use_node_ref();

    // The controller may re-open the check in sound-only mode.
    {
        let choice = choice.clone();
        use_effect_with(props.audio_only, move |audio_only| {
            if *audio_only && !choice.audio_only {
                choice.set(Choice {
                    audio_only: true,
                    ..(*choice).clone()
                });
            }
        });
    }

    // (Re-)acquire whenever the choice changes.
    {
        let phase = phase.clone();
        let owned = owned.clone();
        let lists = lists.clone();
        use_effect_with((*choice).clone(), move |choice| {
            let generation = {
                let mut owned = owned.borrow_mut();
                owned.release();
                owned.handed_over = false;
                owned.generation += 1;
                owned.generation
            };
            phase.set(Phase::Starting);
            let choice = choice.clone();
            let owned_task = owned.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = acquire(&choice).await;
                if owned_task.borrow().generation != generation {
                    if let Ok(stream) = result {
                        devices::stop_all(&stream);
                    }
                    return;
                }
                match result {
                    Ok(stream) => {
                        owned_task.borrow_mut().stream = Some(Clone::clone(&stream));
                        phase.set(Phase::Ready(stream));
                        if !choice.chat_only {
                            lists.set(devices::enumerate().await);
                        }
                    }
                    Err(kind) => phase.set(Phase::Failed(kind)),
                }
            });
            move || {
                // Unmount (or next run) must not leave the camera light on.
                let mut owned = owned.borrow_mut();
                owned.generation += 1;
                owned.release();
            }
        });
    }

    // Keep the device lists current when a headset is plugged in or out.
    {
        let lists = lists.clone();
        use_effect_with((), move |_| {
            let listener = web_sys::window()
                .and_then(|w| w.navigator().media_devices().ok())
                .map(|media| {
                    EventListener::new(&media, "devicechange", move |_| {
                        let lists = lists.clone();
                        wasm_bindgen_futures::spawn_local(async move {
                            lists.set(devices::enumerate().await);
                        });
                    })
                });
            move || drop(listener)
        });
    }

    // The microphone level, written straight into the <meter> (no re-render per tick).
    {
        let meter = meter.clone();
        let mic_ok = mic_ok.clone();
        let stream = match &*phase {
            Phase::Ready(stream) => Some(Clone::clone(stream)),
            _ => None,
        };
        use_effect_with(stream, move |stream| {
            let level = stream.as_ref().and_then(LevelMeter::new);
            let interval = level.map(|level| {
                let level = Rc::new(RefCell::new(level));
                Interval::new(100, move || {
                    let value = level.borrow_mut().level();
                    if let Some(element) = meter.cast::<HtmlMeterElement>() {
                        element.set_value(value);
                    }
                    if value > 0.2 {
                        mic_ok.set(true);
                    }
                })
            });
            move || drop(interval)
        });
    }

    // The page pressed the button for her: now, or once the camera is ready.
    {
        let owned = owned.clone();
        let on_go = props.on_go.clone();
        let audio_only = choice.audio_only;
        let ready = match &*phase {
            Phase::Ready(stream) => Some(Clone::clone(stream)),
            _ => None,
        };
        let handled = use_mut_ref(|| 0u32);
        use_effect_with((props.go, ready), move |(go, ready)| {
            if let Some(stream) = ready
                && *go > *handled.borrow()
            {
                *handled.borrow_mut() = *go;
                owned.borrow_mut().handed_over = true;
                on_go.emit(LocalMedia {
                    stream: Clone::clone(stream),
                    camera_id: devices::device_id(stream, DeviceKind::Camera),
                    microphone_id: devices::device_id(stream, DeviceKind::Microphone),
                    audio_only,
                });
            }
        });
    }

    let on_failure_action = {
        let choice = choice.clone();
        Callback::from(move |action: UiAction| match action {
            UiAction::AudioOnly => choice.set(Choice {
                audio_only: true,
                attempt: choice.attempt + 1,
                ..(*choice).clone()
            }),
            _ => choice.set(Choice {
                attempt: choice.attempt + 1,
                ..(*choice).clone()
            }),
        })
    };

    if let Phase::Failed(kind) = &*phase {
        return html! {
            <FailureView kind={*kind} on_action={on_failure_action} compact={props.compact} />
        };
    }

    let stream = match &*phase {
        Phase::Ready(stream) => Some(Clone::clone(stream)),
        _ => None,
    };
    let current_camera = stream
        .as_ref()
        .and_then(|s| devices::device_id(s, DeviceKind::Camera));
    let current_mic = stream
        .as_ref()
        .and_then(|s| devices::device_id(s, DeviceKind::Microphone));

    let on_camera = {
        let choice = choice.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            choice.set(Choice {
                camera: Some(value),
                ..(*choice).clone()
            });
        })
    };
    let on_mic = {
        let choice = choice.clone();
        Callback::from(move |e: Event| {
            let value = e.target_unchecked_into::<HtmlSelectElement>().value();
            choice.set(Choice {
                microphone: Some(value),
                ..(*choice).clone()
            });
        })
    };
    let on_go = {
        let owned = owned.clone();
        let on_go = props.on_go.clone();
        let stream = stream.clone();
        let audio_only = choice.audio_only;
        let (camera_id, microphone_id) = (current_camera.clone(), current_mic.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(stream) = stream.clone() else {
                return;
            };
            owned.borrow_mut().handed_over = true;
            on_go.emit(LocalMedia {
                stream,
                camera_id: camera_id.clone(),
                microphone_id: microphone_id.clone(),
                audio_only,
            });
        })
    };

    let (cameras, microphones) = &*lists;
    let options = |list: &[Device], current: &Option<String>, fallback: fn(usize) -> String| {
        list.iter()
            .enumerate()
            .map(|(i, device)| {
                let label = if device.label.is_empty() {
                    fallback(i + 1)
                } else {
                    device.label.clone()
                };
                let selected = current.as_deref() == Some(device.id.as_str());
                html! { <option value={device.id.clone()} selected={selected}>{ label }</option> }
            })
            .collect::<Html>()
    };
    let starting = matches!(*phase, Phase::Starting);

    html! {
        <section class={classes!("card", "device-check", props.compact.then_some("compact"))}
            aria-labelledby="device-check-title" data-testid="device-check">
            if props.compact {
                <h2 id="device-check-title">{ props.title.clone() }</h2>
            } else {
                <h1 id="device-check-title" tabindex="-1">{ props.title.clone() }</h1>
            }
            if let Some(lead) = &props.lead {
                <p class="lead">{ lead.clone() }</p>
            }
            if !choice.chat_only {
                <div class={classes!("preview", choice.audio_only.then_some("audio"))}
                    aria-busy={starting.to_string()}>
                    if choice.audio_only {
                        <div class="preview-placeholder">
                            { icon(Icon::Mic) }
                            <span>{ strings.sound_only }</span>
                        </div>
                    } else {
                        <Video stream={stream.clone()} local=true testid="local-video"
                            label={strings.preview_label} />
                    }
                    if starting {
                        <div class="preview-status" role="status">{ strings.check_starting }</div>
                    }
                </div>
                <div class="level">
                    <label for="mic-level">{ strings.mic_level }</label>
                    <meter id="mic-level" ref={meter} min="0" max="1"
                        value="0" data-testid="mic-level" />
                    <p class="hint" role="status">
                        { if *mic_ok { strings.mic_ok } else { strings.mic_hint } }
                    </p>
                </div>
                <div class="device-selects">
                    if !choice.audio_only && !cameras.is_empty() {
                        <div class="field">
                            <label for="camera-select">{ strings.camera }</label>
                            <select id="camera-select" onchange={on_camera} data-testid="camera-select">
                                { options(cameras, &current_camera, strings.camera_n) }
                            </select>
                        </div>
                    }
                    if !microphones.is_empty() {
                        <div class="field">
                            <label for="mic-select">{ strings.microphone }</label>
                            <select id="mic-select" onchange={on_mic} data-testid="mic-select">
                                { options(microphones, &current_mic, strings.microphone_n) }
                            </select>
                        </div>
                    }
                </div>
            }
            { props.children.clone() }
            <button type="button" class="btn btn-primary btn-large" onclick={on_go}
                disabled={stream.is_none()} data-testid={props.action_testid.clone()}>
                { props.action_label.clone() }
            </button>
        </section>
    }
}
