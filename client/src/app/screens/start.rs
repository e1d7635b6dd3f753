//! Counsellor's start page: one sentence about confide, "start a session
//! now", "plan an appointment", and her planned sessions (with a knock
//! alert when someone already waits for one).

use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::app::components::icons::{Icon, icon};
use crate::app::components::planned::{PlanForm, PlannedList, planned_title};
use crate::app::components::release::ReleaseLine;
use crate::app::components::sign_out::SignOut;
use crate::app::i18n::{Lang, use_strings};
use crate::app::model::{StartView, UiAction};
use crate::app::screens::invite::NotifySwitch;

#[derive(Properties, PartialEq)]
pub struct StartProps {
    pub view: StartView,
    pub on_action: Callback<UiAction>,
}

#[component(StartScreen)]
pub fn start_screen(props: &StartProps) -> Html {
    let strings = use_strings();
    let host = strings.host();
    let planning = use_state_eq(|| false);
    let onclick = {
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| on_action.emit(UiAction::StartSession))
    };
    let plan = {
        let planning = planning.clone();
        Callback::from(move |_: MouseEvent| planning.set(true))
    };
    let close = {
        let planning = planning.clone();
        Callback::from(move |()| planning.set(false))
    };
    let view = &props.view;
    // Kept as she types (a `change` may never come if the page goes on).
    let set_name = props.on_action.reform(|e: InputEvent| {
        UiAction::SetOwnName(e.target_unchecked_into::<HtmlInputElement>().value())
    });
    let lang = use_context::<Lang>().unwrap_or_default();
    // Someone waits for an appointment: said first, with the way in.
    let alerts = view.planned.iter().filter(|p| p.knocking).map(|p| {
        let room = p.room.clone();
        let open = props
            .on_action
            .reform(move |_: MouseEvent| UiAction::OpenPlanned(room.clone()));
        html! {
            <div class="knock-alert" role="alert" data-testid="planned-knock-alert" key={p.room.clone()}>
                { icon(Icon::Person) }
                <span>{ host.planned_knocking }{ ": " }{ planned_title(p, lang, host.planned_days) }</span>
                <button type="button" class="btn btn-small" onclick={open}
                    data-testid="planned-alert-open">{ host.planned_open }</button>
            </div>
        }
    });
    html! {
        <section class="card start" aria-labelledby="start-title">
            { for alerts }
            <h1 id="start-title" tabindex="-1">{ host.start_title }</h1>
            <p class="lead">{ host.start_lead }</p>
            if view.planned.is_empty() {
                <ul class="points">
                    { for host.start_points.iter().map(|point| html! {
                        <li>{ icon(Icon::Check) }<span>{ *point }</span></li>
                    }) }
                </ul>
            }
            // Her guests see this name instead of "Beratung".
            <div class="field own-name">
                <label for="own-name">{ host.own_name_label }</label>
                <input id="own-name" type="text" maxlength="40" value={view.own_name.clone()}
                    aria-describedby="own-name-hint" oninput={set_name} data-testid="own-name" />
                <p id="own-name-hint" class="hint small">{ host.own_name_hint }</p>
            </div>
            <div class="start-actions">
                <button type="button" class="btn btn-primary btn-large" {onclick}
                    data-testid="start-session">
                    { host.start_button }
                </button>
                if !*planning {
                    <button type="button" class="btn btn-secondary btn-large" onclick={plan}
                        data-testid="plan-session">
                        { host.plan_button }
                    </button>
                }
            </div>
            if *planning {
                <PlanForm on_action={props.on_action.clone()} on_close={close}
                    address={view.address} />
            }
            if view.plan_refused {
                <p class="form-error" role="alert">{ host.plan_in_past }</p>
            }
            if !view.planned.is_empty() {
                <PlannedList planned={view.planned.clone()} on_action={props.on_action.clone()} />
                // A knock for an appointment is noticed here too (attention.rs).
                <NotifySwitch />
            }
            // A second device has none of her planned sessions: said, not silent.
            <p class="hint small" data-testid="planned-device-note">
                { if view.planned.is_empty() { host.planned_none } else { host.planned_device_note } }
            </p>
            if view.unreadable > 0 {
                <p class="hint small">{ host.planned_unreadable }</p>
            }
            <SignOut on_action={props.on_action.clone()} />
            <ReleaseLine />
        </section>
    }
}
