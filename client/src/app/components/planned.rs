//! The counsellor's appointments on her start page: "Termin planen" and the
//! list of planned sessions, each with its link, the ready message, "open
//! now" and "delete" (asked once). What is stored and registered is the
//! session controller's (`session/planner.rs`).

use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

use crate::app::components::address::{AddressChoice, message_strings};
use crate::app::components::centre::use_centre;
use crate::app::components::confirm::ConfirmButton;
use crate::app::i18n::{Lang, use_strings};
use crate::app::model::{Address, PlannedView, UiAction};
use crate::app::screens::invite::copy_to_clipboard;
use crate::app::when;

/// Lengths offered, in minutes (50 is the counselling hour).
const LENGTHS: [u32; 5] = [30, 45, 50, 60, 90];
const DEFAULT_LENGTH: u32 = 50;
/// How long before the start the link opens, in minutes (time to check the camera calmly).
const OPENS_BEFORE: [u32; 4] = [5, 15, 30, 60];
const DEFAULT_OPENS_BEFORE: u32 = 15;

#[derive(Properties, PartialEq)]
pub struct PlanFormProps {
    pub on_action: Callback<UiAction>,
    pub on_close: Callback<()>,
    /// "Anrede im Link" to start with: her last choice.
    pub address: Address,
}

/// Date, time, length and an optional label; "Termin anlegen".
#[component(PlanForm)]
pub fn plan_form(props: &PlanFormProps) -> Html {
    let strings = use_strings();
    let host = strings.host();
    let defaults = use_memo((), |_| when::next_full_hour());
    let (day_ref, time_ref, length_ref, label_ref) = (
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
        use_node_ref(),
    );
    let before_ref = use_node_ref();
    let in_past = use_state_eq(|| false);
    let address = use_state_eq(|| props.address);
    let on_address = {
        let address = address.clone();
        Callback::from(move |a: Address| address.set(a))
    };
    let onsubmit = {
        let address = address.clone();
        let (day_ref, time_ref, length_ref, label_ref, before_ref) = (
            day_ref.clone(),
            time_ref.clone(),
            length_ref.clone(),
            label_ref.clone(),
            before_ref.clone(),
        );
        let on_action = props.on_action.clone();
        let on_close = props.on_close.clone();
        let in_past = in_past.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let value = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|input| input.value())
                    .unwrap_or_default()
            };
            let chosen = |r: &NodeRef, default: u32| {
                r.cast::<HtmlSelectElement>()
                    .and_then(|s| s.value().parse().ok())
                    .unwrap_or(default)
            };
            let minutes = chosen(&length_ref, DEFAULT_LENGTH);
            let opens_before = chosen(&before_ref, DEFAULT_OPENS_BEFORE);
            let starts = when::parse_local(&value(&day_ref), &value(&time_ref));
            let now = (js_sys::Date::now() / 1000.0) as u64;
            match starts {
                Some(starts) if starts + u64::from(minutes) * 60 > now => {
                    in_past.set(false);
                    on_action.emit(UiAction::PlanSession {
                        starts,
                        minutes,
                        opens_before,
                        label: value(&label_ref),
                        address: *address,
                    });
                    on_close.emit(());
                }
                _ => in_past.set(true),
            }
        })
    };
    let cancel = props.on_close.reform(|_: MouseEvent| ());
    html! {
        <form class="plan-form" {onsubmit} data-testid="plan-form">
            <div class="plan-when">
                <div class="field">
                    <label for="plan-day">{ host.plan_date }</label>
                    <input id="plan-day" type="date" required=true ref={day_ref}
                        value={defaults.0.clone()} data-testid="plan-day" />
                </div>
                <div class="field">
                    <label for="plan-time">{ host.plan_time }</label>
                    <input id="plan-time" type="time" required=true ref={time_ref}
                        value={defaults.1.clone()} data-testid="plan-time" />
                </div>
                <div class="field">
                    <label for="plan-length">{ host.plan_length }</label>
                    <select id="plan-length" ref={length_ref} data-testid="plan-length">
                        { for LENGTHS.iter().map(|m| html! {
                            <option value={m.to_string()} selected={*m == DEFAULT_LENGTH}>
                                { m.to_string() + host.plan_minutes }
                            </option>
                        }) }
                    </select>
                </div>
                <div class="field">
                    <label for="plan-opens">{ host.plan_opens }</label>
                    <select id="plan-opens" ref={before_ref} data-testid="plan-opens">
                        { for OPENS_BEFORE.iter().map(|m| html! {
                            <option value={m.to_string()} selected={*m == DEFAULT_OPENS_BEFORE}>
                                { m.to_string() + host.plan_opens_before }
                            </option>
                        }) }
                    </select>
                </div>
            </div>
            <div class="field">
                <label for="plan-label">{ host.plan_label }</label>
                <input id="plan-label" type="text" maxlength="40" ref={label_ref}
                    aria-describedby="plan-label-hint" data-testid="plan-label" />
                <p id="plan-label-hint" class="hint small">{ host.plan_label_hint }</p>
            </div>
            <AddressChoice value={*address} on_change={on_address} group="plan-address" />
            if *in_past {
                <p class="form-error" role="alert">{ host.plan_in_past }</p>
            }
            <div class="actions">
                <button type="submit" class="btn btn-primary" data-testid="plan-submit">
                    { host.plan_submit }
                </button>
                <button type="button" class="btn btn-secondary" onclick={cancel}>
                    { host.plan_cancel }
                </button>
            </div>
        </form>
    }
}

/// "Heute, 14:00 – für M.", "Morgen, 9:30", "Donnerstag, 3. Dezember, 14:00".
pub fn planned_title(p: &PlannedView, lang: Lang, days: [&'static str; 2]) -> String {
    let title = when::day_and_clock(p.starts, lang, days);
    if p.label.is_empty() {
        title
    } else {
        title + " – " + &p.label
    }
}

#[derive(Properties, PartialEq)]
pub struct PlannedListProps {
    pub planned: Vec<PlannedView>,
    pub on_action: Callback<UiAction>,
}

/// The planned sessions, soonest first.
#[component(PlannedList)]
pub fn planned_list(props: &PlannedListProps) -> Html {
    let strings = use_strings();
    let host = strings.host();
    let lang = use_context::<Lang>().unwrap_or_default();
    let centre = use_centre();
    let copied = use_state_eq(|| None::<String>);
    let items = props.planned.iter().map(|p| {
        let title = planned_title(p, lang, host.planned_days);
        let window = host.planned_window[0].to_owned()
            + &when::clock(p.opens, lang)
            + host.planned_window[1]
            + &when::clock(p.closes, lang)
            + host.planned_window[2];
        let starts = when::day(p.starts, lang) + ", " + &when::clock(p.starts, lang);
        let before = ((p.starts - p.opens) / 60) as u32;
        // In the link's form of address ("du" or "Sie").
        let message = (message_strings(lang, &p.link).host().invite_message)(
            &p.link,
            Some((&starts, before)),
            centre.name.as_deref(),
            centre.phone.as_deref(),
        );
        let copy = |text: String, what: &'static str| {
            let copied = copied.clone();
            let key = p.room.clone() + what;
            Callback::from(move |_: MouseEvent| {
                let (copied, text, key) = (copied.clone(), text.clone(), key.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    if copy_to_clipboard(&text).await {
                        copied.set(Some(key));
                    }
                });
            })
        };
        let is_copied = |what: &str| copied.as_deref() == Some(&(p.room.clone() + what));
        let room = p.room.clone();
        let open = props
            .on_action
            .reform(move |_: MouseEvent| UiAction::OpenPlanned(room.clone()));
        let room = p.room.clone();
        let delete = props
            .on_action
            .reform(move |()| UiAction::DeletePlanned(room.clone()));
        html! {
            <li class={classes!("planned", p.knocking.then_some("knocking"))} key={p.room.clone()}
                data-testid="planned" data-room={p.room.clone()}>
                <details open={p.fresh || p.knocking}>
                    <summary>
                        <span class="planned-when">{ title }</span>
                        if p.knocking {
                            <span class="badge-wait" data-testid="planned-knocking">
                                { host.planned_knocking }
                            </span>
                        }
                    </summary>
                    <p class="hint small">{ window }</p>
                    <div class="link-row">
                        <input type="text" readonly=true value={p.link.clone()}
                            aria-label={host.invite_link_label} data-testid="planned-link" />
                        <button type="button" class="btn btn-secondary"
                            onclick={copy(p.link.clone(), "link")} data-testid="planned-copy-link">
                            { if is_copied("link") { host.copied } else { host.copy_link } }
                        </button>
                    </div>
                    <div class="actions">
                        <button type="button" class="btn btn-secondary btn-small"
                            onclick={copy(message, "message")} data-testid="planned-copy-message">
                            { if is_copied("message") { host.copied } else { host.copy_message } }
                        </button>
                        <button type="button" class="btn btn-primary btn-small" onclick={open}
                            data-testid="planned-open">{ host.planned_open }</button>
                    </div>
                    <ConfirmButton texts={host.planned_delete} testid="planned-delete"
                        on_confirm={delete} />
                </details>
            </li>
        }
    });
    let delete_all = props.on_action.reform(|()| UiAction::DeleteAllPlanned);
    html! {
        <section class="planned-list" aria-labelledby="planned-title">
            <h2 id="planned-title">{ host.planned_title }</h2>
            <ul>{ for items }</ul>
            <ConfirmButton texts={host.planned_delete_all} testid="planned-delete-all"
                on_confirm={delete_all} />
        </section>
    }
}
