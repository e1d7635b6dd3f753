//! The chat panel: message log (announced politely), input that sends on Enter;
//! and the toast that shows a new message while the panel is closed.

use wasm_bindgen::JsValue;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::app::components::icons::{Icon, icon};
use crate::app::i18n::{Strings, use_strings};
use crate::app::model::{ChatLine, UiAction};

/// Longest message the UI sends.
const MAX_MESSAGE: usize = 2000;

#[derive(Properties, PartialEq)]
pub struct ChatProps {
    pub lines: Vec<ChatLine>,
    /// Nothing can be sent now (a guest while the counsellor is away).
    #[prop_or_default]
    pub paused: bool,
    pub on_action: Callback<UiAction>,
    pub on_close: Callback<()>,
}

/// "14:03" in the browser's local time.
fn clock(ms: f64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(ms));
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

#[component(ChatPanel)]
pub fn chat_panel(props: &ChatProps) -> Html {
    let strings = use_strings();
    let input = use_node_ref();
    let log = use_node_ref();

    // Keep the newest message in view.
    {
        let log = log.clone();
        use_effect_with(props.lines.len(), move |_| {
            if let Some(log) = log.cast::<web_sys::Element>() {
                log.set_scroll_top(f64::from(log.scroll_height()));
            }
        });
    }
    // Focus the input when the panel opens: the user came here to write.
    {
        let input = input.clone();
        use_effect_with((), move |_| {
            if let Some(input) = input.cast::<HtmlInputElement>() {
                let _ = input.focus();
            }
        });
    }

    let onsubmit = {
        let input = input.clone();
        let on_action = props.on_action.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(input) = input.cast::<HtmlInputElement>() else {
                return;
            };
            let text = input.value();
            let text = text.trim();
            if text.is_empty() {
                return;
            }
            on_action.emit(UiAction::SendChat(text.chars().take(MAX_MESSAGE).collect()));
            input.set_value("");
        })
    };
    let on_close = {
        let on_close = props.on_close.clone();
        Callback::from(move |_: MouseEvent| on_close.emit(()))
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

    html! {
        <aside id="chat-panel" class="chat" aria-labelledby="chat-title" onkeydown={on_keydown}
            data-testid="chat-panel">
            <header class="chat-head">
                <h2 id="chat-title">{ strings.chat }</h2>
                <button type="button" class="btn-icon" onclick={on_close} aria-label={strings.close}
                    data-testid="chat-close">
                    { icon(Icon::Close) }
                </button>
            </header>
            <p class="chat-note">{ icon(Icon::Lock) }{ strings.chat_note }</p>
            <ol class="chat-log" ref={log} aria-live="polite" aria-relevant="additions"
                data-testid="chat-log" tabindex="0" aria-labelledby="chat-title">
                { for props.lines.iter().map(|line| {
                    let sender = if line.mine {
                        strings.you.to_string()
                    } else {
                        sender_name(strings, line)
                    };
                    html! {
                        <li key={line.id} class={classes!("chat-line", line.mine.then_some("mine"))}
                            data-testid="chat-line">
                            <span class="chat-meta">
                                <span class="chat-sender">{ sender }</span>
                                <time>{ clock(line.at_ms) }</time>
                            </span>
                            <span class="chat-text">{ line.text.clone() }</span>
                        </li>
                    }
                }) }
            </ol>
            if props.lines.is_empty() {
                <p class="hint chat-empty">{ strings.chat_empty }</p>
            }
            if props.paused {
                <p class="hint chat-empty" role="status" data-testid="chat-paused">
                    { strings.chat_paused }
                </p>
            }
            <form class="chat-form" {onsubmit}>
                <label for="chat-input" class="visually-hidden">{ strings.chat_input_label }</label>
                <input id="chat-input" ref={input} type="text" autocomplete="off"
                    maxlength={MAX_MESSAGE.to_string()} placeholder={strings.chat_placeholder}
                    disabled={props.paused} data-testid="chat-input" />
                <button type="submit" class="btn btn-primary" aria-label={strings.chat_send}
                    disabled={props.paused} data-testid="chat-send">
                    { icon(Icon::Send) }<span class="btn-label">{ strings.chat_send }</span>
                </button>
            </form>
        </aside>
    }
}

/// Longest start of a message the toast shows.
const TOAST_CHARS: usize = 80;

fn sender_name(strings: &Strings, line: &ChatLine) -> String {
    line.sender.clone().unwrap_or_else(|| {
        if line.from_host {
            strings.counsellor
        } else {
            strings.unnamed
        }
        .to_string()
    })
}

#[derive(Properties, PartialEq)]
pub struct ChatToastProps {
    /// The newest message not read yet, if any.
    pub line: Option<ChatLine>,
    pub unread: usize,
    /// Tapping the toast opens the chat.
    pub on_open: Callback<MouseEvent>,
}

/// A new message while the chat is closed (on a phone it is a sheet, so
/// she would not see it): who wrote and how it begins, near the chat
/// button, read out politely, no sound. The live region stays in the page
/// so screen readers hear each new message.
#[component(ChatToast)]
pub fn chat_toast(props: &ChatToastProps) -> Html {
    let strings = use_strings();
    html! {
        <div class="chat-toast-region" aria-live="polite" aria-atomic="true">
            if let Some(line) = &props.line {
                <button type="button" class="chat-toast" onclick={props.on_open.clone()}
                    data-testid="chat-toast" data-count={props.unread.to_string()}>
                    { icon(Icon::Chat) }
                    <span class="chat-toast-text">
                        <strong data-testid="chat-toast-sender">{ (strings.chat_toast)(&sender_name(strings, line)) }</strong>
                        <span data-testid="chat-toast-start">
                            { line.text.chars().take(TOAST_CHARS).collect::<String>() }
                            if line.text.chars().count() > TOAST_CHARS { { "…" } }
                        </span>
                    </span>
                </button>
            }
        </div>
    }
}
