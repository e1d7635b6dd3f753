//! Guest pages: the privacy note, the camera check with name and knock, and the
//! calm waiting page.

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::app::components::centre::{CentreInfo, tel, use_centre};
use crate::app::components::device_check::DeviceCheck;
use crate::app::components::icons::{Icon, icon};
use crate::app::components::release::ReleaseLine;
use crate::app::i18n::use_strings;
use crate::app::model::{GuestView, LocalMedia, UiAction};

/// Longest name we pass on (display only; the controller may limit further).
const MAX_NAME: usize = 40;

#[derive(Properties, PartialEq)]
pub struct GuestProps {
    pub view: GuestView,
    pub on_action: Callback<UiAction>,
}

/// The three ways in, chosen before the browser asks for anything (so
/// "Nur schreiben" never sees a permission prompt): index into
/// `Strings::entry_choices`, the action it leads to, and its test id.
const ENTRY: [(UiAction, &str); 3] = [
    (UiAction::ContinueToDeviceCheck, "entry-video"),
    (UiAction::AudioOnly, "entry-audio"),
    (UiAction::ChatOnly, "entry-chat"),
];

/// Explains the privacy promise and lets her choose how she takes part
/// before the browser asks for camera or microphone access.
#[component(GuestWelcome)]
pub fn guest_welcome(props: &GuestProps) -> Html {
    let strings = use_strings();
    let chosen = use_state_eq(|| 0usize);
    let onclick = {
        let on_action = props.on_action.clone();
        let chosen = *chosen;
        Callback::from(move |_: MouseEvent| on_action.emit(ENTRY[chosen].0.clone()))
    };
    let choices = ENTRY.iter().enumerate().map(|(i, (_, testid))| {
        let (label, hint) = strings.entry_choices[i];
        let onchange = {
            let chosen = chosen.clone();
            Callback::from(move |_: Event| chosen.set(i))
        };
        html! {
            <label class={classes!("entry-choice", (*chosen == i).then_some("chosen"))}>
                <input type="radio" name="entry" checked={*chosen == i} {onchange}
                    data-testid={*testid} />
                <span class="entry-label">{ label }</span>
                <span class="entry-hint">{ hint }</span>
            </label>
        }
    });
    let next = match *chosen {
        0 => strings.welcome_next,
        1 => strings.entry_next_audio,
        _ => strings.entry_next_chat,
    };
    html! {
        <section class="card welcome" aria-labelledby="welcome-title">
            <div class="welcome-sign">{ icon(Icon::Lock) }</div>
            <h1 id="welcome-title" tabindex="-1">{ strings.welcome_title }</h1>
            <p class="lead">{ strings.welcome_lead }</p>
            <ul class="points" data-testid="privacy-note">
                { for strings.privacy_points.iter().map(|point| html! {
                    <li>{ icon(Icon::Check) }<span>{ *point }</span></li>
                }) }
            </ul>
            <fieldset class="entry-choices" data-testid="entry-choices">
                <legend>{ strings.entry_legend }</legend>
                { for choices }
            </fieldset>
            if *chosen < 2 {
                <p class="hint">{ strings.welcome_next_hint }</p>
            }
            <button type="button" class="btn btn-primary btn-large" {onclick}
                data-testid="continue">
                { next }
            </button>
            <p class="hint small">{ strings.quick_exit_note }</p>
            <CentreInfo />
            <ReleaseLine />
        </section>
    }
}

/// Camera/microphone check, optional name, "knock".
#[component(GuestDeviceCheck)]
pub fn guest_device_check(props: &GuestProps) -> Html {
    let strings = use_strings();
    let name = use_node_ref();
    let on_go = {
        let on_action = props.on_action.clone();
        let name = name.clone();
        Callback::from(move |media: LocalMedia| {
            let name = name
                .cast::<HtmlInputElement>()
                .map(|input| {
                    input
                        .value()
                        .trim()
                        .chars()
                        .take(MAX_NAME)
                        .collect::<String>()
                })
                .filter(|name| !name.is_empty());
            on_action.emit(UiAction::Knock { name, media });
        })
    };
    html! {
        <DeviceCheck audio_only={props.view.audio_only} chat_only={props.view.chat_only}
            title={if props.view.chat_only { strings.chat_only_title } else { strings.check_title }}
            lead={Some(AttrValue::from(if props.view.chat_only { strings.chat_only_lead } else { strings.check_lead }))}
            action_label={strings.knock} action_testid="knock" {on_go}>
            <div class="field">
                <label for="guest-name">{ strings.name_label }</label>
                <input id="guest-name" ref={name} type="text" maxlength={MAX_NAME.to_string()}
                    autocomplete="off" aria-describedby="guest-name-hint"
                    data-testid="guest-name" />
                <p id="guest-name-hint" class="hint small">{ strings.name_hint }</p>
            </div>
        </DeviceCheck>
    }
}

#[derive(Properties, PartialEq)]
pub struct WaitingProps {
    pub on_action: Callback<UiAction>,
}

/// After this many minutes the page also offers the centre's phone.
const WAITING_LONG_MINUTES: u32 = 10;

/// After knocking: a calm page with a slow, gentle animation, how long she
/// has waited, and a way out that asks once more (the link is spent).
#[component(WaitingScreen)]
pub fn waiting_screen(props: &WaitingProps) -> Html {
    let strings = use_strings();
    let minutes = use_state_eq(|| 0u32);
    let confirm_leave = use_state_eq(|| false);
    {
        let minutes = minutes.clone();
        use_effect_with((), move |_| {
            let started = js_sys::Date::now();
            let tick = gloo::timers::callback::Interval::new(15_000, move || {
                minutes.set(((js_sys::Date::now() - started) / 60_000.0) as u32);
            });
            move || drop(tick)
        });
    }
    let centre = use_centre();
    let leave = {
        let confirm_leave = confirm_leave.clone();
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| {
            if *confirm_leave {
                on_action.emit(UiAction::HangUp);
            } else {
                confirm_leave.set(true);
            }
        })
    };
    let cancel_leave = {
        let confirm_leave = confirm_leave.clone();
        Callback::from(move |_: FocusEvent| confirm_leave.set(false))
    };
    html! {
        <section class="card waiting" aria-labelledby="waiting-title" data-testid="waiting">
            <div class="breathe" aria-hidden="true"><span></span></div>
            <h1 id="waiting-title" tabindex="-1">{ strings.waiting_title }</h1>
            <p class="lead">{ strings.waiting_lead }</p>
            <p>{ strings.waiting_calm }</p>
            <p class="hint" data-testid="waited">{ (strings.waited)(*minutes) }</p>
            if let Some(phone) = centre.phone.as_ref().filter(|_| *minutes >= WAITING_LONG_MINUTES) {
                <p data-testid="waiting-long">{ strings.waiting_long }{ " " }
                    <a href={tel(phone)}>{ phone.clone() }</a></p>
            }
            <p class="visually-hidden" role="status">{ strings.waiting_status }</p>
            <button type="button" class={classes!("btn", if *confirm_leave { "btn-danger" } else { "btn-quiet" })}
                onclick={leave} onblur={cancel_leave} data-testid="leave-waiting">
                { if *confirm_leave { strings.leave_waiting_confirm } else { strings.leave_waiting } }
            </button>
            <CentreInfo />
            <ReleaseLine />
        </section>
    }
}
