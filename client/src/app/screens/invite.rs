//! Counsellor's invite page: one-time links with copy button and QR code, the
//! waiting room, and the counsellor's own camera check before entering the call.

use gloo::timers::callback::Timeout;
use js_sys::Reflect;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::app::attention;
use crate::app::components::address::{AddressChoice, address_of, message_strings};
use crate::app::components::centre::use_centre;
use crate::app::components::device_check::DeviceCheck;
use crate::app::components::icons::{Icon, icon};
use crate::app::components::qr::QrCodeSvg;
use crate::app::i18n::Lang;
use crate::app::i18n::{Strings, use_strings};
use crate::app::model::{InviteLink, InviteView, KnockView, LocalMedia, MAX_GUESTS, UiAction};
use crate::app::when;

#[derive(Properties, PartialEq)]
pub struct InviteProps {
    pub view: InviteView,
    pub on_action: Callback<UiAction>,
}

/// Result of the last copy attempt, shown for a moment.
#[derive(Clone, Copy, PartialEq)]
enum Copied {
    Ok(u32),
    Failed(u32),
}

/// Writes text to the clipboard; `false` if the browser has no Clipboard API
/// here (e.g. not a secure context) or refused.
pub(crate) async fn copy_to_clipboard(text: &str) -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let navigator = window.navigator();
    let has_clipboard = Reflect::get(&navigator, &JsValue::from_str("clipboard"))
        .map(|c| !c.is_undefined())
        .unwrap_or(false);
    if !has_clipboard {
        return false;
    }
    JsFuture::from(navigator.clipboard().write_text(text))
        .await
        .is_ok()
}

#[component(InviteScreen)]
pub fn invite_screen(props: &InviteProps) -> Html {
    let strings = use_strings();
    let host = strings.host();

    // "Hereinlassen" here also brings her into the call (issue 16 item 8):
    // it presses "Gespräch betreten" for her, now or once her camera is ready.
    let go = use_state_eq(|| 0u32);
    let waiting_action = {
        let on_action = props.on_action.clone();
        let go = go.clone();
        Callback::from(move |action: UiAction| {
            let admit = matches!(action, UiAction::Admit(_));
            on_action.emit(action);
            if admit {
                go.set(*go + 1);
            }
        })
    };
    let on_enter = {
        let on_action = props.on_action.clone();
        Callback::from(move |media: LocalMedia| on_action.emit(UiAction::EnterCall(media)))
    };
    let on_hide = {
        let on_action = props.on_action.clone();
        Callback::from(move |e: Event| {
            let checked = e.target_unchecked_into::<HtmlInputElement>().checked();
            on_action.emit(UiAction::HideAddress(checked));
        })
    };

    html! {
        <div class="invite-layout">
            <section class="card invite" aria-labelledby="invite-title">
                <h1 id="invite-title" tabindex="-1">{ host.invite_title }</h1>
                <p class="lead">{ host.invite_lead }</p>
                <InviteLinks invites={props.view.invites.clone()} on_action={props.on_action.clone()} />
                <div class="check-row">
                    <input id="hide-address" type="checkbox" checked={props.view.hide_address}
                        aria-describedby="hide-address-hint" data-testid="hide-address"
                        onchange={on_hide} />
                    <label for="hide-address">{ host.hide_address }</label>
                </div>
                <p id="hide-address-hint" class="hint small">{ host.hide_address_hint }</p>
            </section>
            <div class="invite-side">
                <WaitingRoom knocks={props.view.knocks.clone()} admitted={props.view.admitted.clone()}
                    on_action={waiting_action} notify_switch=true />
                if *go > 0 {
                    <p class="hint" role="status" data-testid="admit-enter-pending">
                        { host.admit_enter_pending }
                    </p>
                }
                <DeviceCheck compact=true title={host.own_devices} go={*go}
                    lead={Some(AttrValue::from(host.enter_call_hint))}
                    action_label={host.enter_call} action_testid="enter-call" on_go={on_enter} />
            </div>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct InviteLinksProps {
    pub invites: Vec<InviteLink>,
    pub on_action: Callback<UiAction>,
}

/// The one-time links with copy button and QR code, and "invite one more
/// person" (on the invite page and inside the call).
#[component(InviteLinks)]
pub fn invite_links(props: &InviteLinksProps) -> Html {
    let strings = use_strings();
    let host = strings.host();
    let lang = use_context::<Lang>().unwrap_or_default();
    let copied = use_state_eq(|| None::<Copied>);
    let reset = use_mut_ref(|| None::<Timeout>);

    let on_copy = {
        let copied = copied.clone();
        let reset = reset.clone();
        let on_action = props.on_action.clone();
        // The link alone, or the ready message around it.
        Callback::from(move |(link, text): (InviteLink, String)| {
            let copied = copied.clone();
            let reset = reset.clone();
            on_action.emit(UiAction::CopyLink(link.id));
            wasm_bindgen_futures::spawn_local(async move {
                let ok = copy_to_clipboard(&text).await;
                if !ok {
                    select_link(link.id);
                }
                copied.set(Some(if ok {
                    Copied::Ok(link.id)
                } else {
                    Copied::Failed(link.id)
                }));
                let clear = copied.clone();
                *reset.borrow_mut() = Some(Timeout::new(2500, move || clear.set(None)));
            });
        })
    };
    let create = {
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| on_action.emit(UiAction::CreateInvite))
    };

    let centre = use_centre();
    let can_share = attention::share_supported();
    let invites = &props.invites;
    let count = invites.len();
    // "Anrede im Link": what her open links say (she changes them all at once).
    let address = invites
        .iter()
        .rev()
        .find(|l| !l.used)
        .or(invites.last())
        .map(|l| address_of(&l.url))
        .unwrap_or_default();
    let on_address = props.on_action.reform(UiAction::SetAddress);
    let links = invites.iter().enumerate().map(|(i, link)| {
        let label = if count > 1 {
            (host.invite_link_n)(i + 1)
        } else {
            host.invite_link_label.to_string()
        };
        let state = match *copied {
            Some(Copied::Ok(id)) if id == link.id => Some(Ok(())),
            Some(Copied::Failed(id)) if id == link.id => Some(Err(())),
            _ => None,
        };
        let newest = i + 1 == count;
        let message = (message_strings(lang, &link.url).host().invite_message)(
            &link.url,
            None,
            centre.name.as_deref(),
            centre.phone.as_deref(),
        );
        let share = {
            let message = message.clone();
            Callback::from(move |_: MouseEvent| attention::share(&message))
        };
        let note = {
            let on_action = props.on_action.clone();
            let id = link.id;
            Callback::from(move |e: Event| {
                let text = e.target_unchecked_into::<HtmlInputElement>().value();
                on_action.emit(UiAction::NoteInvite(id, text.trim().to_string()));
            })
        };
        let copy = |text: String| {
            let on_copy = on_copy.clone();
            let link = link.clone();
            Callback::from(move |_: MouseEvent| on_copy.emit((link.clone(), text.clone())))
        };
        html! {
            <div class={classes!("invite-link", link.used.then_some("used"))} key={link.id}>
                <label for={format!("invite-{}", link.id)}>{ label }</label>
                <div class="link-row">
                    <input id={format!("invite-{}", link.id)} type="text" readonly=true
                        value={link.url.clone()} onfocus={Callback::from(|e: FocusEvent| {
                            e.target_unchecked_into::<HtmlInputElement>().select();
                        })}
                        data-testid="invite-link" data-invite={link.id.to_string()} />
                    <button type="button" class="btn btn-primary" data-testid="copy-link"
                        data-invite={link.id.to_string()}
                        onclick={copy(link.url.clone())}>
                        { icon(if state == Some(Ok(())) { Icon::Check } else { Icon::Copy }) }
                        { if state == Some(Ok(())) { host.copied } else { host.copy_link } }
                    </button>
                </div>
                if !link.used {
                    <div class="link-row send-row">
                        <button type="button" class="btn btn-secondary btn-small" data-testid="copy-message"
                            data-invite={link.id.to_string()} onclick={copy(message)}>
                            { host.copy_message }
                        </button>
                        if can_share {
                            <button type="button" class="btn btn-secondary btn-small" data-testid="share-link"
                                onclick={share}>
                                { host.share_link }
                            </button>
                        }
                    </div>
                    <div class="link-row send-row">
                        <label class="visually-hidden" for={format!("note-{}", link.id)}>{ host.invite_note }</label>
                        <input id={format!("note-{}", link.id)} class="link-note" type="text" maxlength="40"
                            value={link.note.clone()} placeholder={host.invite_note_placeholder}
                            title={host.invite_note} onchange={note}
                            data-testid="link-note" data-invite={link.id.to_string()} />
                    </div>
                }
                <p class="hint small" role="status">
                    { match state {
                        Some(Ok(())) => host.copied.into(),
                        Some(Err(())) => host.copy_failed.into(),
                        None if link.used => host.link_used.into(),
                        None => match link.until {
                            Some(until) => host.link_until[0].to_owned()
                                + &when::day_and_clock(until, lang, host.until_days)
                                + host.link_until[1],
                            None => host.link_once.into(),
                        },
                    } }
                </p>
                if !link.used {
                    <details class="qr-details" open={newest}>
                        <summary>{ host.qr_show }</summary>
                        <QrCodeSvg data={link.url.clone()} label={host.qr_label} />
                    </details>
                }
            </div>
        }
    });

    html! {
        <>
            <AddressChoice value={address} on_change={on_address} group="link-address" />
            { for links }
            if count < MAX_GUESTS {
                <button type="button" class="btn btn-secondary" onclick={create}
                    data-testid="invite-more">
                    { icon(Icon::Plus) }{ host.invite_more }
                </button>
            }
            <p class="hint small">{ host.invite_limit }</p>
        </>
    }
}

/// Selects the link text so the user can copy it by hand.
fn select_link(id: u32) {
    let input = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(&format!("invite-{id}")));
    if let Some(input) = input {
        use wasm_bindgen::JsCast;
        if let Ok(input) = input.dyn_into::<HtmlInputElement>() {
            let _ = input.focus();
            input.select();
        }
    }
}

#[derive(Properties, PartialEq)]
pub struct WaitingRoomProps {
    pub knocks: Vec<KnockView>,
    #[prop_or_default]
    pub admitted: Vec<KnockView>,
    pub on_action: Callback<UiAction>,
    /// Offer "Bei Klopfen benachrichtigen" (the invite page).
    #[prop_or_default]
    pub notify_switch: bool,
}

/// The display name of a knocking guest.
/// With her note on the link it came with: "Ohne Namen – Link für M.".
pub fn knock_name(strings: &Strings, knock: &KnockView) -> String {
    let name = knock.name.as_deref().unwrap_or(strings.unnamed);
    match &knock.note {
        Some(note) => [name, " – ", strings.host().knock_via, " ", note].concat(),
        None => name.to_string(),
    }
}

/// A knocking guest's name inside a sentence: "Eine Person" without one.
pub fn sentence_name(strings: &Strings, knock: &KnockView) -> String {
    knock
        .name
        .clone()
        .unwrap_or_else(|| strings.someone.to_string())
}

/// Knocking guests with "let in" / "decline" (also used inside the call).
#[component(WaitingRoom)]
pub fn waiting_room(props: &WaitingRoomProps) -> Html {
    let strings = use_strings();
    let host = strings.host();
    let entries = props.knocks.iter().map(|knock| {
        let name = knock_name(strings, knock);
        let admit = {
            let on_action = props.on_action.clone();
            let id = knock.id;
            Callback::from(move |_: MouseEvent| on_action.emit(UiAction::Admit(id)))
        };
        let reject = {
            let on_action = props.on_action.clone();
            let id = knock.id;
            Callback::from(move |_: MouseEvent| on_action.emit(UiAction::Reject(id)))
        };
        let undo = {
            let on_action = props.on_action.clone();
            let id = knock.id;
            Callback::from(move |_: MouseEvent| on_action.emit(UiAction::UndoReject(id)))
        };
        html! {
            <li class="knock" key={knock.id} data-testid="knock-entry" data-peer={knock.id.to_string()}
                data-renewal={knock.renewal.to_string()}>
                <span class="avatar" aria-hidden="true">{ icon(Icon::Person) }</span>
                <span class="knock-name">
                    <strong class={classes!(knock.name.is_none().then_some("unnamed"))}>{ name.clone() }</strong>
                    if knock.renewal {
                        <span class="hint small">{ (host.renewal_request)(&sentence_name(strings, knock)) }</span>
                    } else {
                        <span class="hint small">{ host.knocking }</span>
                    }
                </span>
                <span class="knock-actions">
                    if knock.declining {
                        <span class="hint" data-testid="declining">{ host.declining }</span>
                        <button type="button" class="btn btn-secondary" onclick={undo}
                            data-testid="undo-reject" data-peer={knock.id.to_string()}>
                            { host.undo }
                        </button>
                    } else {
                        <button type="button" class="btn btn-primary" onclick={admit}
                            aria-label={(host.admit_label)(&name)}
                            data-testid="admit" data-peer={knock.id.to_string()}>
                            { if knock.renewal { host.renewal_accept } else { host.admit } }
                        </button>
                        <button type="button" class="btn btn-secondary" onclick={reject}
                            aria-label={(host.reject_label)(&name)}
                            data-testid="reject" data-peer={knock.id.to_string()}>
                            { host.reject }
                        </button>
                    }
                </span>
            </li>
        }
    });
    html! {
        <section class="card waiting-room" aria-labelledby="waiting-room-title" data-testid="waiting-room">
            <h2 id="waiting-room-title">{ host.waiting_room }</h2>
            <ul class="knocks" aria-live="polite">
                { for entries }
            </ul>
            if props.knocks.is_empty() {
                <p class="hint">{ host.waiting_room_empty }</p>
            }
            if props.notify_switch {
                <NotifySwitch />
            }
            if !props.admitted.is_empty() {
                <h3>{ host.admitted }</h3>
                <ul class="admitted">
                    { for props.admitted.iter().map(|guest| html! {
                        <li key={guest.id}>{ icon(Icon::Check) }{ knock_name(strings, guest) }</li>
                    }) }
                </ul>
            }
        </section>
    }
}

/// "Bei Klopfen benachrichtigen": asks the browser once, after her click;
/// remembered (attention.rs). Absent where the browser has no notifications.
#[component(NotifySwitch)]
pub fn notify_switch() -> Html {
    let strings = use_strings();
    let host = strings.host();
    let on = use_state_eq(attention::notify_on);
    let refused = use_state_eq(|| false);
    if !attention::notifications_supported() {
        return html! {};
    }
    let toggle = {
        let on = on.clone();
        let refused = refused.clone();
        Callback::from(move |_: Event| {
            let wanted = !*on;
            let on = on.clone();
            let refused = refused.clone();
            attention::set_notify(
                wanted,
                Callback::from(move |now: bool| {
                    on.set(now);
                    refused.set(wanted && !now);
                }),
            );
        })
    };
    html! {
        <>
            <div class="check-row">
                <input id="notify-knocks" type="checkbox" checked={*on} onchange={toggle}
                    data-testid="notify-switch" />
                <label for="notify-knocks">{ host.notify_switch }</label>
            </div>
            if *refused {
                <p class="hint small" role="status" data-testid="notify-blocked">{ host.notify_blocked }</p>
            }
        </>
    }
}
