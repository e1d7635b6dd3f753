//! Counsellor's invite page: one-time links with copy button and QR code, the
//! waiting room, and the counsellor's own camera check before entering the call.

use gloo::timers::callback::Timeout;
use js_sys::Reflect;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::HtmlInputElement;
use yew::prelude::*;

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

    // A knock changes the tab title so it is noticed in another tab.
    {
        let waiting = props.view.knocks.len();
        use_effect_with(waiting, move |waiting| {
            let document = web_sys::window().and_then(|w| w.document());
            if let Some(document) = &document {
                if *waiting > 0 {
                    document.set_title(&format!("({waiting}) confide"));
                } else {
                    document.set_title("confide");
                }
            }
            move || {
                if let Some(document) = document {
                    document.set_title("confide");
                }
            }
        });
    }

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
                <h1 id="invite-title" tabindex="-1">{ strings.invite_title }</h1>
                <p class="lead">{ strings.invite_lead }</p>
                <InviteLinks invites={props.view.invites.clone()} on_action={props.on_action.clone()} />
                <div class="check-row">
                    <input id="hide-address" type="checkbox" checked={props.view.hide_address}
                        aria-describedby="hide-address-hint" data-testid="hide-address"
                        onchange={on_hide} />
                    <label for="hide-address">{ strings.hide_address }</label>
                </div>
                <p id="hide-address-hint" class="hint small">{ strings.hide_address_hint }</p>
            </section>
            <div class="invite-side">
                <WaitingRoom knocks={props.view.knocks.clone()} admitted={props.view.admitted.clone()}
                    on_action={props.on_action.clone()} />
                <DeviceCheck compact=true title={strings.own_devices}
                    lead={Some(AttrValue::from(strings.enter_call_hint))}
                    action_label={strings.enter_call} action_testid="enter-call" on_go={on_enter} />
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
    let invites = &props.invites;
    let count = invites.len();
    let links = invites.iter().enumerate().map(|(i, link)| {
        let label = if count > 1 {
            (strings.invite_link_n)(i + 1)
        } else {
            strings.invite_link_label.to_string()
        };
        let state = match *copied {
            Some(Copied::Ok(id)) if id == link.id => Some(Ok(())),
            Some(Copied::Failed(id)) if id == link.id => Some(Err(())),
            _ => None,
        };
        let newest = i + 1 == count;
        let message = (strings.invite_message)(
            &link.url,
            None,
            centre.name.as_deref(),
            centre.phone.as_deref(),
        );
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
                        { if state == Some(Ok(())) { strings.copied } else { strings.copy_link } }
                    </button>
                </div>
                if !link.used {
                    <div class="link-row send-row">
                        <button type="button" class="btn btn-secondary btn-small" data-testid="copy-message"
                            data-invite={link.id.to_string()} onclick={copy(message)}>
                            { strings.copy_message }
                        </button>
                    </div>
                }
                <p class="hint small" role="status">
                    { match state {
                        Some(Ok(())) => strings.copied.into(),
                        Some(Err(())) => strings.copy_failed.into(),
                        None if link.used => strings.link_used.into(),
                        None => match link.until {
                            Some(until) => strings.link_until[0].to_owned()
                                + &when::day_and_clock(until, lang, strings.until_days)
                                + strings.link_until[1],
                            None => strings.link_once.into(),
                        },
                    } }
                </p>
                if !link.used {
                    <details class="qr-details" open={newest}>
                        <summary>{ strings.qr_show }</summary>
                        <QrCodeSvg data={link.url.clone()} label={strings.qr_label} />
                    </details>
                }
            </div>
        }
    });

    html! {
        <>
            { for links }
            if count < MAX_GUESTS {
                <button type="button" class="btn btn-secondary" onclick={create}
                    data-testid="invite-more">
                    { icon(Icon::Plus) }{ strings.invite_more }
                </button>
            }
            <p class="hint small">{ strings.invite_limit }</p>
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
}

/// The display name of a knocking guest.
pub fn knock_name(strings: &Strings, knock: &KnockView) -> String {
    knock
        .name
        .clone()
        .unwrap_or_else(|| strings.unnamed.to_string())
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
                        <span class="hint small">{ (strings.renewal_request)(&sentence_name(strings, knock)) }</span>
                    } else {
                        <span class="hint small">{ strings.knocking }</span>
                    }
                </span>
                <span class="knock-actions">
                    if knock.declining {
                        <span class="hint" data-testid="declining">{ strings.declining }</span>
                        <button type="button" class="btn btn-secondary" onclick={undo}
                            data-testid="undo-reject" data-peer={knock.id.to_string()}>
                            { strings.undo }
                        </button>
                    } else {
                        <button type="button" class="btn btn-primary" onclick={admit}
                            aria-label={(strings.admit_label)(&name)}
                            data-testid="admit" data-peer={knock.id.to_string()}>
                            { if knock.renewal { strings.renewal_accept } else { strings.admit } }
                        </button>
                        <button type="button" class="btn btn-secondary" onclick={reject}
                            aria-label={(strings.reject_label)(&name)}
                            data-testid="reject" data-peer={knock.id.to_string()}>
                            { strings.reject }
                        </button>
                    }
                </span>
            </li>
        }
    });
    html! {
        <section class="card waiting-room" aria-labelledby="waiting-room-title" data-testid="waiting-room">
            <h2 id="waiting-room-title">{ strings.waiting_room }</h2>
            <ul class="knocks" aria-live="polite">
                { for entries }
            </ul>
            if props.knocks.is_empty() {
                <p class="hint">{ strings.waiting_room_empty }</p>
            }
            if !props.admitted.is_empty() {
                <h3>{ strings.admitted }</h3>
                <ul class="admitted">
                    { for props.admitted.iter().map(|guest| html! {
                        <li key={guest.id}>{ icon(Icon::Check) }{ knock_name(strings, guest) }</li>
                    }) }
                </ul>
            }
        </section>
    }
}
