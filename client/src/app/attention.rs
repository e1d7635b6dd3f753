//! Being noticed (issue 16 item 8): a knock sounds a soft chime, badges the
//! tab (title "(1) confide", a dot on the icon) and, if the counsellor asked
//! for it, shows a browser notification while her tab is hidden; the guest
//! hears a higher note when let in; the screen stays on while waiting and
//! in a call; the phone's share sheet for a link.
//!
//! Lean on purpose (docs/BENCHMARKS.md §5): WebAudio, notifications and the
//! wake lock are reached through `js_sys::Reflect` with two small helpers
//! instead of a dozen web-sys bindings. Each feature does nothing where the
//! browser lacks it.

use std::cell::RefCell;

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AudioContext, AudioContextState};
use yew::prelude::*;

use crate::app::i18n::Strings;

/// The tab title without a badge.
const TITLE: &str = "confide";
/// The counsellor's "notify me" switch, remembered per browser.
const NOTIFY_KEY: &str = "confide.notify";
/// The knock chime's and the "you are in" note's pitch (Hz).
pub const KNOCK_PITCH: f32 = 660.0;
pub const LET_IN_PITCH: f32 = 880.0;
/// Tab icons: a lock, and the lock with a dot while someone waits.
const ICON: &str = "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'><rect x='3' y='7' width='10' height='8' rx='1' fill='%23345'/><path d='M5 7V5a3 3 0 0 1 6 0v2' stroke='%23345' stroke-width='2' fill='none'/>";
const ICON_END: &str = "</svg>";
const DOT: &str = "<circle cx='12' cy='4' r='4' fill='%23d33'/>";

thread_local! {
    /// One audio context for all chimes (browsers limit how many a page opens).
    static AUDIO: RefCell<Option<AudioContext>> = const { RefCell::new(None) };
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or_default()
}

/// `target.method(...args)`; `None` where the method does not exist or threw.
fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Option<JsValue> {
    let method = get(target, method).dyn_into::<Function>().ok()?;
    method.apply(target, &args.iter().collect::<Array>()).ok()
}

/// A soft sine note with a gentle envelope (0.6 s). Silently nothing where
/// the page may not play sound yet (no click on it so far).
pub fn chime(pitch: f32) {
    let context = AUDIO.with(|audio| {
        let mut audio = audio.borrow_mut();
        if audio.is_none() {
            *audio = AudioContext::new().ok();
        }
        audio.clone()
    });
    let Some(context) = context else {
        return;
    };
    if context.state() == AudioContextState::Running {
        return play(&context, pitch);
    }
    // A new context starts suspended in Firefox, and so does one the page
    // may not use yet; resuming waits for either (forever, if no sound is
    // allowed: then nothing plays).
    let Some(resumed) = call(&context, "resume", &[]) else {
        return;
    };
    wasm_bindgen_futures::spawn_local(async move {
        let resumed = resumed.unchecked_into::<js_sys::Promise>();
        if wasm_bindgen_futures::JsFuture::from(resumed).await.is_ok()
            && context.state() == AudioContextState::Running
        {
            play(&context, pitch);
        }
    });
}

fn play(context: &AudioContext, pitch: f32) {
    let context = JsValue::from(context);
    let (Some(note), Some(gain)) = (
        call(&context, "createOscillator", &[]),
        call(&context, "createGain", &[]),
    ) else {
        return;
    };
    let now = get(&context, "currentTime").as_f64().unwrap_or_default();
    let _ = Reflect::set(&get(&note, "frequency"), &"value".into(), &pitch.into());
    let level = get(&gain, "gain");
    call(&level, "setValueAtTime", &[0.0001.into(), now.into()]);
    call(
        &level,
        "exponentialRampToValueAtTime",
        &[0.12.into(), (now + 0.04).into()],
    );
    call(
        &level,
        "exponentialRampToValueAtTime",
        &[0.0001.into(), (now + 0.6).into()],
    );
    call(&note, "connect", std::slice::from_ref(&gain));
    call(&gain, "connect", &[get(&context, "destination")]);
    call(&note, "start", &[now.into()]);
    call(&note, "stop", &[(now + 0.65).into()]);
    #[cfg(feature = "test-hooks")]
    crate::page_marks::count_in_page("chimes");
}

/// The phone's share sheet (`navigator.share`) exists here.
pub fn share_supported() -> bool {
    web_sys::window().is_some_and(|w| get(&w.navigator(), "share").is_function())
}

/// Opens the share sheet with `text`; closing it without sharing is no error.
pub fn share(text: &str) {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return;
    };
    let data = js_sys::Object::new();
    let _ = Reflect::set(&data, &"text".into(), &text.into());
    if let Some(shared) = call(&navigator, "share", &[data.into()]) {
        // A dismissed sheet rejects; nothing to do about it.
        wasm_bindgen_futures::spawn_local(async move {
            let _ =
                wasm_bindgen_futures::JsFuture::from(shared.unchecked_into::<js_sys::Promise>())
                    .await;
        });
    }
}

/// The browser can show notifications at all.
pub fn notifications_supported() -> bool {
    web_sys::window().is_some_and(|w| get(&w, "Notification").is_function())
}

fn permission() -> JsValue {
    web_sys::window()
        .map(|w| get(&get(&w, "Notification"), "permission"))
        .unwrap_or_default()
}

/// She asked to be notified, and the browser still allows it.
pub fn notify_on() -> bool {
    permission() == "granted"
        && crate::session::device_storage()
            .is_some_and(|s| s.get_item(NOTIFY_KEY).ok().flatten().is_some())
}

/// Switches notifications on (asking the browser once, after her click) or
/// off; `done` gets whether they are on now.
pub fn set_notify(on: bool, done: Callback<bool>) {
    let Some(storage) = crate::session::device_storage() else {
        return done.emit(false);
    };
    if !on {
        let _ = storage.remove_item(NOTIFY_KEY);
        return done.emit(false);
    }
    let Some(window) = web_sys::window() else {
        return;
    };
    let Some(asked) = call(&get(&window, "Notification"), "requestPermission", &[]) else {
        return done.emit(false);
    };
    wasm_bindgen_futures::spawn_local(async move {
        let answer =
            wasm_bindgen_futures::JsFuture::from(asked.unchecked_into::<js_sys::Promise>()).await;
        let granted = answer.is_ok_and(|a| a == "granted");
        if granted {
            let _ = storage.set_item(NOTIFY_KEY, "1");
        }
        done.emit(granted);
    });
}

/// A notification (only while the tab is hidden: otherwise she sees the
/// page). It names nobody: it may show on a locked phone or a shared screen.
/// Clicking it brings the tab to the front.
fn notify(strings: &Strings) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let hidden = window.document().is_some_and(|d| d.hidden());
    if !hidden || !notify_on() {
        return;
    }
    let options = js_sys::Object::new();
    let _ = Reflect::set(&options, &"body".into(), &strings.notify_body.into());
    let _ = Reflect::set(&options, &"tag".into(), &"confide-knock".into());
    let Ok(constructor) = get(&window, "Notification").dyn_into::<Function>() else {
        return;
    };
    let args = Array::of2(&TITLE.into(), &options);
    if let Ok(shown) = Reflect::construct(&constructor, &args)
        && let Ok(focus) = get(&window, "focus").dyn_into::<Function>()
    {
        let _ = Reflect::set(&shown, &"onclick".into(), &focus.bind0(&window));
        #[cfg(feature = "test-hooks")]
        crate::page_marks::count_in_page("notifications");
    }
}

/// Title and tab icon say how many wait (`0`: plain again).
fn badge(waiting: usize) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if waiting > 0 {
        document.set_title(&["(", &waiting.to_string(), ") ", TITLE].concat());
    } else {
        document.set_title(TITLE);
    }
    let link = match document.query_selector("link[rel=icon]").ok().flatten() {
        Some(link) => link,
        None => {
            let Ok(link) = document.create_element("link") else {
                return;
            };
            let _ = link.set_attribute("rel", "icon");
            if let Some(head) = document.head() {
                let _ = head.append_child(&link);
            }
            link
        }
    };
    let dot = if waiting > 0 { DOT } else { "" };
    let _ = link.set_attribute("href", &[ICON, dot, ICON_END].concat());
}

/// The counsellor's side: `waiting` people knock now (on any of her
/// screens). A new knock chimes and notifies; the badge follows the count.
#[hook]
pub fn use_knock_attention(waiting: usize, strings: &'static Strings) {
    let before = use_mut_ref(|| 0usize);
    use_effect_with(waiting, move |waiting| {
        if *waiting > std::mem::replace(&mut *before.borrow_mut(), *waiting) {
            chime(KNOCK_PITCH);
            notify(strings);
        }
        badge(*waiting);
    });
}

/// Keeps the screen on while `wanted` (waiting room, call): the Screen Wake
/// Lock where the browser has it. The browser drops the lock when the tab
/// is hidden, so it is asked again when the tab is shown.
#[hook]
pub fn use_wake_lock(wanted: bool) {
    use_effect_with(wanted, |wanted| {
        let held = std::rc::Rc::new(RefCell::new(JsValue::UNDEFINED));
        let request = {
            let held = held.clone();
            move || {
                let navigator = web_sys::window().map(|w| w.navigator());
                let lock = navigator.map(|n| get(&n, "wakeLock")).unwrap_or_default();
                let Some(asked) = call(&lock, "request", &["screen".into()]) else {
                    return;
                };
                let held = held.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    let promise = asked.unchecked_into::<js_sys::Promise>();
                    if let Ok(sentinel) = wasm_bindgen_futures::JsFuture::from(promise).await {
                        *held.borrow_mut() = sentinel;
                    }
                });
            }
        };
        let listener = (*wanted).then(|| {
            request();
            let document = web_sys::window().and_then(|w| w.document());
            document.map(|document| {
                gloo::events::EventListener::new(&document.clone(), "visibilitychange", move |_| {
                    if !document.hidden() {
                        request();
                    }
                })
            })
        });
        move || {
            drop(listener);
            call(&held.borrow(), "release", &[]);
        }
    });
}

/// How long the "you are in" note waits for the call's first picture or
/// sound before it sounds anyway (a call without media, a slow network).
const LET_IN_NOTE_LATEST_MS: u32 = 2_000;

/// The guest's side: the higher note once she is let in (waiting room →
/// call). It sounds when the call's first picture or sound starts playing,
/// so she hears it as the counsellor appears, or after
/// [`LET_IN_NOTE_LATEST_MS`]. Not in the let-in render: its audio context
/// and first oscillator took 15–20 ms of the main thread there, while the
/// browser was still connecting the call (docs/BENCHMARKS.md §12.12,
/// §12.13). Made at her knock instead, the context cost Firefox guests
/// their first picture later.
#[hook]
pub fn use_let_in_note(screen: &'static str) {
    let before = use_mut_ref(|| "");
    use_effect_with(screen, move |screen| {
        let let_in =
            std::mem::replace(&mut *before.borrow_mut(), screen) == "waiting" && *screen == "call";
        // Leaving the call screen first cancels a note not yet sounded.
        let pending = let_in.then(LetInNote::arm).flatten();
        move || drop(pending)
    });
}

/// The let-in note, waiting for the first remote `playing` event or its
/// timer, whichever comes first; dropped, it never sounds.
struct LetInNote {
    _playing: gloo::events::EventListener,
    _latest: gloo::timers::callback::Timeout,
}

impl LetInNote {
    fn arm() -> Option<Self> {
        let document = web_sys::window()?.document()?;
        let due = std::rc::Rc::new(std::cell::Cell::new(true));
        let sound = move |why: &'static str| {
            if due.replace(false) {
                #[cfg(feature = "test-hooks")]
                crate::page_marks::mark_in_page("let-in-note", why);
                #[cfg(not(feature = "test-hooks"))]
                let _ = why;
                chime(LET_IN_PITCH);
            }
        };
        let on_playing = sound.clone();
        // `playing` does not bubble: heard on the way down. Our own
        // preview (`video-local`) plays from the first render and is not
        // the call's.
        let playing = gloo::events::EventListener::new_with_options(
            &document,
            "playing",
            gloo::events::EventListenerOptions::run_in_capture_phase(),
            move |event| {
                let remote = event
                    .target()
                    .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                    .is_some_and(|e| e.matches("video:not(.video-local)").unwrap_or(false));
                if remote {
                    // After the frame that shows it: the note's 15–20 ms
                    // must not hold up the picture's first frame either.
                    let on_playing = on_playing.clone();
                    crate::app::after_next_frame(move || on_playing("media"));
                }
            },
        );
        let latest =
            gloo::timers::callback::Timeout::new(LET_IN_NOTE_LATEST_MS, move || sound("timer"));
        Some(Self {
            _playing: playing,
            _latest: latest,
        })
    }
}
