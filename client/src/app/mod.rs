//! The Yew application: every screen of confide, German and English.
//!
//! The app renders a [`model::Screen`] pushed by a [`controller::Controller`] and
//! reports [`model::UiAction`]s back to it. Until the session controller exists, a
//! stub controller walks through the screens with sample data.

pub mod attention;
pub mod components;
pub mod controller;
mod crypto_worker;
pub mod devices;
#[cfg(feature = "test-hooks")]
pub mod gallery;
pub mod i18n;
pub mod model;
pub mod screens;
pub mod stub;
pub mod when;

use std::rc::Rc;

use wasm_bindgen::JsCast;
use yew::prelude::*;

use components::icons::{Icon, icon};
use confide_shared::link::Address;
use controller::{Controller, ControllerRef, ScreenUpdate, UiHandle};
use i18n::{Lang, use_strings};
use model::{FailureKind, Screen, UiAction};
use screens::appointment::AppointmentScreen;
use screens::call::CallScreen;
use screens::failure::FailureView;
use screens::guest::{GuestDeviceCheck, GuestWelcome, WaitingScreen};
use screens::invite::InviteScreen;
use screens::start::StartScreen;

/// Mounts the app into `<body>` with the default controller.
pub fn start() {
    start_with(default_controller());
}

/// Mounts the app into `<body>`, driven by `controller`.
pub fn start_with(controller: Box<dyn Controller>) {
    yew::Renderer::<App>::with_props(AppProps {
        controller: ControllerRef::new(controller),
    })
    .render();
}

fn default_controller() -> Box<dyn Controller> {
    #[cfg(feature = "test-hooks")]
    if let Some(gallery) = gallery::from_url() {
        return Box::new(gallery);
    }
    Box::new(crate::session::SessionController::new())
}

#[derive(Properties, PartialEq)]
pub struct AppProps {
    pub controller: ControllerRef,
}

/// The current screen; replaced or edited only by the controller.
struct ScreenState(Screen);

enum ScreenMsg {
    Set(Screen),
    Update(ScreenUpdate),
}

impl Reducible for ScreenState {
    type Action = ScreenMsg;

    fn reduce(self: Rc<Self>, action: ScreenMsg) -> Rc<Self> {
        match action {
            ScreenMsg::Set(screen) => Rc::new(ScreenState(screen)),
            ScreenMsg::Update(change) => {
                let mut screen = self.0.clone();
                change(&mut screen);
                Rc::new(ScreenState(screen))
            }
        }
    }
}

/// A short name per screen (for `data-screen` and focus handling).
fn screen_name(screen: &Screen) -> &'static str {
    match screen {
        Screen::Loading => "loading",
        Screen::Start(_) => "start",
        Screen::Invite(_) => "invite",
        Screen::GuestWelcome(_) => "guest-welcome",
        Screen::DeviceCheck(_) => "device-check",
        Screen::Waiting => "waiting",
        Screen::Appointment(_) => "appointment",
        Screen::Call(_) => "call",
        Screen::Failure(_) => "failure",
    }
}

/// The guest arrived through an invite link (fragment present).
fn opened_by_link() -> bool {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .is_some_and(|hash| hash.len() > 1)
}

#[component(App)]
fn app(props: &AppProps) -> Html {
    let controller = props.controller.clone();
    let lang = use_state_eq(Lang::load);
    let screen = {
        let controller = controller.clone();
        use_reducer(move || {
            ScreenState(
                controller
                    .with(|c| c.initial_screen())
                    .unwrap_or(Screen::Loading),
            )
        })
    };
    // After `initial_screen`, which read the link (or the reload's snapshot).
    let address = {
        let controller = controller.clone();
        *use_memo((), move |_| {
            controller.with(|c| c.guest_address()).unwrap_or_default()
        })
    };
    let supported = {
        let controller = controller.clone();
        use_memo((), move |_| {
            !controller
                .with(|c| c.check_browser_support())
                .unwrap_or(true)
                || devices::e2ee_supported()
        })
    };
    let worker = crypto_worker::use_crypto_worker(controller.clone());
    // Once a guest, always a guest: keeps "quick exit" on every later page
    // (in the guest's module from the first, e.g. while a reload rejoins).
    let guest = use_mut_ref(|| crate::GUEST_MODULE || opened_by_link());

    // Hand the controller its handle once.
    {
        let controller = controller.clone();
        let dispatcher = screen.dispatcher();
        use_effect_with((), move |_| {
            let set = {
                let dispatcher = dispatcher.clone();
                Callback::from(move |s: Screen| dispatcher.dispatch(ScreenMsg::Set(s)))
            };
            let update = Callback::from(move |u: ScreenUpdate| {
                dispatcher.dispatch(ScreenMsg::Update(u));
            });
            controller.with(|c| c.attach(UiHandle { set, update }));
        });
    }

    use_effect_with(*lang, |lang| lang.apply());

    let shown = if *supported {
        screen.0.clone()
    } else {
        Screen::Failure(FailureKind::UnsupportedBrowser)
    };
    if shown.is_guest_screen() {
        *guest.borrow_mut() = true;
    }
    let is_guest = *guest.borrow();
    let name = screen_name(&shown);

    // Knocks are noticed on every screen of hers; the screen stays on
    // while waiting and in a call; the guest hears when she is let in.
    let waiting = match &shown {
        Screen::Invite(view) => view.knocks.iter().filter(|k| !k.declining).count(),
        Screen::Call(view) => view.knocks.iter().filter(|k| !k.declining).count(),
        Screen::Start(view) => view.planned.iter().filter(|p| p.knocking).count(),
        _ => 0,
    };
    attention::use_knock_attention(waiting, lang.strings());
    attention::use_wake_lock(matches!(name, "waiting" | "call"));
    attention::use_let_in_note(name);

    // Move focus to the new page's heading so screen readers announce it
    // (not on first load: the browser starts at the top anyway). After the
    // new page's first frame: `focus()` lays the page out at once, and in
    // the render's task that is 10–20 ms more before the browser may go on
    // with the call (docs/BENCHMARKS.md §12.12); once the frame is drawn,
    // the layout is there and the focus costs nothing.
    {
        let first = use_mut_ref(|| true);
        use_effect_with(name, move |_| {
            if std::mem::take(&mut *first.borrow_mut()) {
                return;
            }
            after_next_frame(|| {
                let heading = web_sys::window()
                    .and_then(|w| w.document())
                    .and_then(|d| d.query_selector("#confide-app h1").ok().flatten())
                    .and_then(|h| h.dyn_into::<web_sys::HtmlElement>().ok());
                if let Some(heading) = heading {
                    let _ = heading.focus();
                }
            });
        });
    }

    let on_action = {
        let lang = lang.clone();
        Callback::from(move |action: UiAction| {
            if let UiAction::SetLanguage(new) = action {
                lang.set(new);
            }
            controller.dispatch(action);
        })
    };

    let body = match &shown {
        Screen::Loading => html! { <Loading /> },
        // The guest's module has neither (`crate::GUEST_MODULE`).
        Screen::Start(_) | Screen::Invite(_) if crate::GUEST_MODULE => html! { <Loading /> },
        Screen::Start(view) => {
            html! { <StartScreen view={view.clone()} on_action={on_action.clone()} /> }
        }
        Screen::Invite(view) => {
            html! { <InviteScreen view={view.clone()} on_action={on_action.clone()} /> }
        }
        Screen::GuestWelcome(view) => {
            html! { <GuestWelcome view={view.clone()} on_action={on_action.clone()} /> }
        }
        Screen::DeviceCheck(view) => {
            html! { <GuestDeviceCheck view={view.clone()} on_action={on_action.clone()} /> }
        }
        Screen::Waiting => html! { <WaitingScreen on_action={on_action.clone()} /> },
        Screen::Appointment(view) => html! { <AppointmentScreen view={view.clone()} /> },
        Screen::Call(view) => html! {
            <CallScreen view={view.clone()} on_action={on_action.clone()} chat_open={chat_param()} />
        },
        Screen::Failure(kind) => html! {
            <FailureView kind={*kind} on_action={on_action.clone()} offer_new_session={!is_guest} />
        },
    };

    html! {
        <ContextProvider<Lang> context={*lang}>
          <ContextProvider<Address> context={address}>
            <Frame lang={*lang} guest={is_guest} on_action={on_action.clone()} in_call={name == "call"} />
            <main id="confide-app" data-worker={worker} data-screen={name}
                class={classes!("screen", format!("screen-{name}"))}>
                { body }
            </main>
          </ContextProvider<Address>>
        </ContextProvider<Lang>>
    }
}

/// Gallery screenshots may open the chat with `&chat=1`.
fn chat_param() -> bool {
    #[cfg(feature = "test-hooks")]
    {
        gallery::query("gallery").as_deref() == Some("call-chat")
    }
    #[cfg(not(feature = "test-hooks"))]
    {
        false
    }
}

#[component(Loading)]
fn loading() -> Html {
    let strings = use_strings();
    html! { <p class="loading" role="status">{ strings.loading }</p> }
}

#[derive(Properties, PartialEq)]
struct FrameProps {
    lang: Lang,
    guest: bool,
    in_call: bool,
    on_action: Callback<UiAction>,
}

/// Pressing Escape twice within this time leaves like the quick-exit button.
const ESCAPE_TWICE_MS: f64 = 1500.0;

/// Guests: Escape pressed twice quickly is the quick exit, from anywhere on
/// the page (a person who must hide the screen has no time to find a button).
#[hook]
fn use_escape_twice_to_leave(enabled: bool, on_action: Callback<UiAction>) {
    use_effect_with(enabled, move |enabled| {
        let listener = (*enabled)
            .then(web_sys::window)
            .flatten()
            .and_then(|w| w.document())
            .map(|document| {
                let last = std::cell::Cell::new(f64::NEG_INFINITY);
                gloo::events::EventListener::new(&document, "keydown", move |event| {
                    // An Escape that closed a menu or panel was handled
                    // there and does not count.
                    let is_escape = event
                        .dyn_ref::<web_sys::KeyboardEvent>()
                        .is_some_and(|key| key.key() == "Escape" && !key.default_prevented());
                    if !is_escape {
                        last.set(f64::NEG_INFINITY);
                        return;
                    }
                    let now = js_sys::Date::now();
                    if now - last.get() <= ESCAPE_TWICE_MS {
                        on_action.emit(UiAction::QuickExit);
                    } else {
                        last.set(now);
                    }
                })
            });
        move || drop(listener)
    });
}

/// The slim top bar: name, language switch and (guests) quick exit. It
/// stays at the top of the screen while the page scrolls.
#[component(Frame)]
fn frame(props: &FrameProps) -> Html {
    let strings = use_strings();
    use_escape_twice_to_leave(props.guest, props.on_action.clone());
    let other = props.lang.other();
    let switch = {
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| on_action.emit(UiAction::SetLanguage(other)))
    };
    let quick_exit = {
        let on_action = props.on_action.clone();
        Callback::from(move |_: MouseEvent| on_action.emit(UiAction::QuickExit))
    };
    html! {
        <header class={classes!("topbar", props.in_call.then_some("in-call"))}>
            <span class="brand">
                <span class="brand-mark" aria-hidden="true">{ icon(Icon::Lock) }</span>
                <span class="brand-name">{ "confide" }</span>
                <span class="brand-tagline">{ strings.brand_tagline }</span>
            </span>
            <span class="topbar-actions">
                <button type="button" class="btn btn-quiet lang-switch" onclick={switch}
                    lang={other.tag()} aria-label={strings.lang_switch_label} data-testid="lang-switch">
                    { strings.lang_switch }
                </button>
                if props.guest {
                    <button type="button" class="btn quick-exit" onclick={quick_exit}
                        aria-label={strings.quick_exit_label} data-testid="quick-exit">
                        { icon(Icon::Exit) }<span>{ strings.quick_exit }</span>
                    </button>
                }
            </span>
        </header>
    }
}

/// Runs `then` in a task after the browser's next frame (its style and
/// layout included): `requestAnimationFrame`, then a timer of 0 ms.
pub(crate) fn after_next_frame(then: impl FnOnce() + 'static) {
    use wasm_bindgen::closure::Closure;
    let frame = Closure::once_into_js(move || {
        gloo::timers::callback::Timeout::new(0, then).forget();
    });
    if let Some(window) = web_sys::window() {
        let _ = window.request_animation_frame(frame.unchecked_ref());
    }
}
