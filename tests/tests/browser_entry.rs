#![allow(clippy::expect_used)]
//! How a guest comes in (issue 16 item 10), in real Chromium and Firefox
//! through the real relay: "Nur schreiben" asks the browser for nothing
//! (no `getUserMedia` at all) yet she sees and hears the counsellor and
//! writes with her; "Nur Ton" asks for the microphone only. The counsellor's
//! tile says which (read from the guest's authenticated description, which
//! negotiates the kinds she does not send `recvonly`), and neither side shows
//! the "kein Bild" alarm for media that was never meant to come. A chat
//! message while the chat is closed shows a toast and a count; opening the
//! chat clears both. The counsellor's screen share first advises a single
//! window, and the picker is asked for a window.
//!
//! Each media request the page makes is recorded by a wrapper around
//! `navigator.mediaDevices` installed on the welcome page, before any choice
//! (the page asks for nothing before that), so a request cannot go unseen.
//!
//! Like the other browser tests they need the built app and the browsers,
//! so they are `#[ignore]`d in a plain `cargo test`; `cargo xtask test` runs
//! them with `--ignored`.

use std::time::{Duration, Instant};

use confide_shared::media_watch::NO_MEDIA_DEADLINE_MS;
use confide_tests::browser::{Browser, BrowserEnv, Driver, Engine};
use confide_tests::call::*;
use confide_tests::pairing::{REMOTE_VIDEO, launch, name};
use confide_tests::relay::TestRelay;
use serde_json::Value;

/// Records every `getUserMedia` and `getDisplayMedia` call (with its
/// argument) in `window.__confideMedia`.
const WATCH_MEDIA_REQUESTS: &str = "const m = navigator.mediaDevices; \
     window.__confideMedia = { user: [], display: [] }; \
     const user = m.getUserMedia.bind(m); \
     m.getUserMedia = (c) => { window.__confideMedia.user.push(c); return user(c); }; \
     if (m.getDisplayMedia) { \
       const display = m.getDisplayMedia.bind(m); \
       m.getDisplayMedia = (o) => { window.__confideMedia.display.push(o); return display(o); }; \
     } \
     return true;";

/// The recorded requests of one kind (`user` or `display`).
async fn media_requests(browser: &Browser, kind: &str) -> Vec<Value> {
    let script = format!("return window.__confideMedia ? window.__confideMedia.{kind} : null");
    match browser.eval(&script).await {
        Value::Array(requests) => requests,
        other => panic!("the media watch is installed: {other}"),
    }
}

/// Phone size for the screenshots.
const PHONE: (u32, u32) = (390, 844);

/// A call whose guest came in by one of the three entry choices.
struct EntryCall {
    host: Browser,
    guest: Browser,
    _relay: TestRelay,
    _chromedriver: Driver,
}

/// The counsellor (in `host_engine`) starts a session; the guest (in
/// `guest_engine`) chooses `entry` ("audio", "chat") on the welcome page,
/// knocks as `guest_name` and is admitted. With `shots`, the guest's choice
/// and (chat only) her call are saved as phone screenshots.
async fn guest_enters(
    host_engine: Engine,
    guest_engine: Engine,
    entry: &str,
    guest_name: &str,
    shots: bool,
) -> EntryCall {
    let env = BrowserEnv::from_env();
    env.require_firefox();
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let chromedriver = Driver::start(&env).await;
    let host = launch(&env, host_engine, Some(&chromedriver)).await;
    let guest = launch(&env, guest_engine, Some(&chromedriver)).await;
    let link = counsellor_starts_session(&host, &relay.http_url()).await;
    host.eval(WATCH_MEDIA_REQUESTS).await;

    guest.goto(&link).await;
    guest
        .wait_until(
            "the entry choices",
            STEP,
            "return document.querySelector('[data-testid=entry-choices]') !== null",
        )
        .await;
    assert_eq!(guest.eval(WATCH_MEDIA_REQUESTS).await, Value::Bool(true));
    assert!(
        media_requests(&guest, "user").await.is_empty(),
        "nothing was asked before the choice"
    );
    guest.click(&format!("[data-testid=entry-{entry}]")).await;
    if shots {
        guest.set_window_size(PHONE.0, PHONE.1).await;
        guest
            .eval("document.querySelector('[data-testid=entry-choices]').scrollIntoView({block: 'center'}); return true")
            .await;
        guest.screenshot("48-entry-choices-phone").await;
    }
    guest.click("[data-testid=continue]").await;
    guest
        .wait_until(
            "the knock button, ready",
            STEP,
            "const b = document.querySelector('[data-testid=knock]'); return b && !b.disabled",
        )
        .await;
    guest
        .type_into("[data-testid=guest-name]", guest_name)
        .await;
    guest.click("[data-testid=knock]").await;
    guest
        .wait_until(
            "the waiting screen",
            STEP,
            "return document.querySelector('[data-testid=waiting]') !== null",
        )
        .await;
    counsellor_admits_and_enters(&host, guest_name).await;
    sees_the_call(&guest).await;
    EntryCall {
        host,
        guest,
        _relay: relay,
        _chromedriver: chromedriver,
    }
}

/// The guest shows the counsellor's picture, live, as a picture (her tile
/// is not the no-picture avatar and names no entry mode: the counsellor
/// sends both, whatever the guest chose).
async fn sees_the_picture(guest: &Browser) {
    guest
        .wait_until(
            "the counsellor's picture at the guest",
            STEP,
            &format!(
                "const v = document.querySelector('{REMOTE_VIDEO}'); return {SHOWN_FRAMES_JS} > 10"
            ),
        )
        .await;
    let tile = guest
        .eval(
            "const t = document.querySelector('[data-testid=participant]'); \
             return t ? [t.classList.contains('no-video'), \
                         t.querySelector('[data-testid=participant-mode]') !== null] : null",
        )
        .await;
    assert_eq!(
        tile,
        serde_json::json!([false, false]),
        "the counsellor's tile at the guest shows her picture (no avatar, no mode)"
    );
}

/// The counsellor's tile for the guest says `mode` ("chat", "audio").
async fn tile_says(host: &Browser, mode: &str) -> String {
    let text = host
        .wait_until(
            &format!("the guest's tile to say {mode}"),
            STEP,
            &format!(
                "const e = document.querySelector('[data-testid=participant-mode]'); \
                 return e && e.dataset.mode === '{mode}' ? e.innerText : null"
            ),
        )
        .await;
    text.as_str().unwrap_or_default().to_string()
}

/// After the media watch's deadline has passed since both are in the call,
/// neither page shows "Bild und Ton kommen nicht an".
async fn no_false_alarm(call: &EntryCall, in_call_since: Instant) {
    let deadline = Duration::from_millis(NO_MEDIA_DEADLINE_MS) + Duration::from_secs(3);
    if let Some(rest) = deadline.checked_sub(in_call_since.elapsed()) {
        tokio::time::sleep(rest).await;
    }
    for (who, browser) in [("counsellor", &call.host), ("guest", &call.guest)] {
        assert_eq!(
            browser
                .eval("return document.querySelector('[data-testid=media-trouble]') !== null")
                .await,
            Value::Bool(false),
            "no 'no picture' alarm at the {who} {:?} after entering",
            in_call_since.elapsed()
        );
    }
}

/// The counsellor's packets received from the guest, by kind.
async fn host_receives(host: &Browser, kind: &str) -> f64 {
    call_stat(host, &format!("in_{kind}"), "packetsReceived").await
}

async fn chat_only_entry(host_engine: Engine, guest_engine: Engine) {
    let shots_guest = guest_engine == Engine::Chromium;
    let shots_host = host_engine == Engine::Chromium;
    let call = guest_enters(host_engine, guest_engine, "chat", "Mira", shots_guest).await;
    let entered = Instant::now();
    let (host, guest) = (&call.host, &call.guest);
    println!(
        "counsellor in {}, chat-only guest in {}",
        name(host_engine),
        name(guest_engine)
    );

    sees_the_picture(guest).await;
    let said = tile_says(host, "chat").await;
    println!("the counsellor's tile says: {said}");
    assert!(
        guest
            .eval("return document.querySelector('[data-testid=toggle-mute]') === null")
            .await
            .as_bool()
            .unwrap_or(false),
        "a guest who only writes has no microphone button"
    );
    if shots_guest {
        guest.screenshot("49-chat-only-guest-phone").await;
    }

    // The guest writes while the counsellor's chat is closed: a toast.
    assert_eq!(
        host.eval("return document.querySelector('[data-testid=chat-panel]') === null")
            .await,
        Value::Bool(true),
        "the counsellor's chat is closed"
    );
    send_chat(guest, "Hallo, ich schreibe lieber.").await;
    let toast = host
        .wait_until(
            "the chat toast at the counsellor",
            STEP,
            "const t = document.querySelector('[data-testid=chat-toast]'); \
             const live = t && t.closest('[aria-live=polite]'); \
             return t && live && document.querySelector('[data-testid=chat-unread]') ? t.innerText : null",
        )
        .await;
    let toast = toast.as_str().unwrap_or_default().to_string();
    assert!(
        toast.contains("Mira") && toast.contains("Hallo, ich schreibe lieber."),
        "the toast names the sender and shows the start: {toast}"
    );
    if shots_host {
        host.screenshot("50-chat-toast-counsellor").await;
        host.set_window_size(PHONE.0, PHONE.1).await;
        host.screenshot("50-chat-toast-counsellor-phone").await;
        host.set_window_size(1280, 800).await;
    }
    host.click("[data-testid=chat-toast]").await;
    host.wait_until(
        "the chat open, toast and count gone",
        STEP,
        "return document.querySelector('[data-testid=chat-log]') !== null \
           && document.querySelector('[data-testid=chat-toast]') === null \
           && document.querySelector('[data-testid=chat-unread]') === null",
    )
    .await;
    sees_chat(host, "Hallo, ich schreibe lieber.").await;

    // And back: the guest, whose chat she closed, gets the same toast.
    guest.click("[data-testid=chat-close]").await;
    send_chat(host, "Gern, ich lese mit.").await;
    guest
        .wait_until(
            "the chat toast at the guest",
            STEP,
            "const t = document.querySelector('[data-testid=chat-toast]'); \
             return t && t.innerText.includes('Gern, ich lese mit.')",
        )
        .await;
    sees_chat(guest, "Gern, ich lese mit.").await;

    if shots_host {
        share_advice(host).await;
    }

    no_false_alarm(&call, entered).await;
    assert_eq!(
        media_requests(guest, "user").await,
        Vec::<Value>::new(),
        "the guest who only writes was never asked for camera or microphone"
    );
    assert_eq!(
        (
            host_receives(host, "audio").await,
            host_receives(host, "video").await
        ),
        (0.0, 0.0),
        "the guest really sent nothing (so 'no media' was really the case)"
    );

    // A reload rejoins the call, and still asks for nothing (Chromium: the
    // watch must be in the new page before its scripts run).
    if guest_engine == Engine::Chromium {
        guest
            .before_every_page(&format!("(() => {{ {WATCH_MEDIA_REQUESTS} }})();"))
            .await;
        guest.eval("location.reload(); return true").await;
        // The counsellor lets the reloaded page back in (a renewal, asked by name).
        host.wait_until(
            "the renewal request at the counsellor",
            STEP * 2,
            "return document.querySelector('[data-testid=knock-entry][data-renewal=true]') !== null",
        )
        .await;
        host.click("[data-testid=knock-entry][data-renewal=true] [data-testid=admit]")
            .await;
        guest
            .wait_until(
                "the reloaded page",
                STEP,
                "return window.__confideMedia !== undefined \
                   && document.querySelector('[data-testid=call]') !== null",
            )
            .await;
        sees_the_picture(guest).await;
        tile_says(host, "chat").await;
        assert_eq!(
            media_requests(guest, "user").await,
            Vec::<Value>::new(),
            "after a reload the guest who only writes is still asked for nothing"
        );
    }
    call.host.close().await;
    call.guest.close().await;
}

/// Chromium counsellor: "Bildschirm teilen" first advises a single window;
/// "Fenster wählen" opens the picker, asked for a window.
async fn share_advice(host: &Browser) {
    host.click("[data-testid=share-screen]").await;
    let advice = host
        .wait_until(
            "the advice to share one window",
            STEP,
            "const e = document.querySelector('[data-testid=share-advice]'); return e ? e.innerText : null",
        )
        .await;
    assert!(
        advice.as_str().unwrap_or_default().contains("Fenster"),
        "{advice}"
    );
    assert!(
        media_requests(host, "display").await.is_empty(),
        "no picker before she chose"
    );
    host.screenshot("51-share-window-advice").await;
    host.click("[data-testid=share-cancel]").await;
    assert!(
        media_requests(host, "display").await.is_empty(),
        "cancel opens no picker"
    );
    host.click("[data-testid=share-screen]").await;
    host.click("[data-testid=share-window]").await;
    host.wait_until(
        "the sharing banner",
        STEP,
        "return document.querySelector('[data-testid=sharing-banner]') !== null",
    )
    .await;
    let asked = media_requests(host, "display").await;
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(
        asked[0].pointer("/video/displaySurface"),
        Some(&Value::from("window")),
        "the picker is asked for a window: {asked:?}"
    );
    assert_eq!(
        asked[0].get("monitorTypeSurfaces"),
        Some(&Value::from("exclude")),
        "{asked:?}"
    );
    host.click("[data-testid=stop-sharing]").await;
}

#[tokio::test]
#[ignore = "needs Firefox, geckodriver, Chromium and the built app: run `cargo xtask test`"]
async fn chat_only_guest_in_firefox_counsellor_in_chromium() {
    chat_only_entry(Engine::Chromium, Engine::Firefox).await;
}

#[tokio::test]
#[ignore = "needs Firefox, geckodriver, Chromium and the built app: run `cargo xtask test`"]
async fn chat_only_guest_in_chromium_counsellor_in_firefox() {
    chat_only_entry(Engine::Firefox, Engine::Chromium).await;
}

#[tokio::test]
#[ignore = "needs Firefox, geckodriver, Chromium and the built app: run `cargo xtask test`"]
async fn audio_only_guest_in_firefox_counsellor_in_chromium() {
    let call = guest_enters(Engine::Chromium, Engine::Firefox, "audio", "Noa", false).await;
    let entered = Instant::now();
    let (host, guest) = (&call.host, &call.guest);
    sees_the_picture(guest).await;
    let said = tile_says(host, "audio").await;
    println!("the counsellor's tile says: {said}");

    let asked = media_requests(guest, "user").await;
    assert!(!asked.is_empty(), "the microphone was asked for");
    for constraints in &asked {
        assert_eq!(
            constraints.get("video"),
            Some(&Value::Bool(false)),
            "only audio is asked for: {asked:?}"
        );
        assert!(
            constraints
                .get("audio")
                .is_some_and(|a| a != &Value::Bool(false)),
            "{asked:?}"
        );
    }

    // The counsellor hears her: decrypted audio frames keep arriving.
    let deadline = Instant::now() + STEP;
    let first = worker_frames(&call_report(host).await, "recv", "audio", "ok");
    loop {
        let now = worker_frames(&call_report(host).await, "recv", "audio", "ok");
        if now > first + 50 {
            println!("the counsellor decrypted {now} audio frames of the guest");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the counsellor hears the guest ({first} -> {now} frames)"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    no_false_alarm(&call, entered).await;
    assert_eq!(
        host_receives(host, "video").await,
        0.0,
        "the guest really sent no picture"
    );
    call.host.close().await;
    call.guest.close().await;
}
