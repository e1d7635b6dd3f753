#![allow(clippy::expect_used)]
//! The counselling day (issue 16), in real browsers against the real relay.
//!
//! Guided safety code, in Chromium and Firefox: the counsellor is asked to
//! lead ("Bitten Sie Ihr Gegenüber, die Zahl vorzulesen"), the guest is told
//! she will be asked ("… fragt Sie gleich nach dieser Zahl"), both see
//! [Gleiche Zahl] and [Andere Zahl] and a way to compare without speaking;
//! no text on the panel has a slash (read aloud as "Schrägstrich"). On a
//! phone-sized screen the code panel collapses to a small badge once
//! confirmed and the other person's video gets at least half of the screen
//! (Chromium, 390 × 640 by device emulation; Firefox's headless window is
//! at least 500 px wide, so it checks the same at 500 × 640).
//!
//! The centre's identity: a relay started with `--centre-name`,
//! `--centre-phone` and `--centre-url` shows them on the guest's welcome,
//! waiting and failure pages; the end page also lists the crisis lines (the
//! German defaults). The page itself is served byte for byte as built (the
//! details come from `/centre.json`), so the release digest and the
//! Content-Security-Policy are unchanged.
//!
//! Links that are easy to send: under the link how long it works ("bis
//! morgen, 14:05 Uhr", the relay's answer); "Nachricht kopieren" copies a ready
//! message with the link, what the guest needs and the centre's phone.
//!
//! The waiting room: it says how long she has waited, and she can leave it (a second tap; the first only asks),
//! after which the counsellor no longer sees her knock.
//!
//! Like the other browser tests: `#[ignore]`d in a plain `cargo test`, run
//! by `cargo xtask test`.

use confide_relay::config::Config;
use confide_tests::browser::{Browser, BrowserEnv, BrowserOptions, Driver, Engine};
use confide_tests::call::*;
use confide_tests::relay::TestRelay;
use serde_json::Value;

/// A guest's browser with a phone-sized viewport (see the module comment).
async fn guest_on_a_phone(
    env: &BrowserEnv,
    engine: Engine,
    driver: &Driver,
    height: u32,
) -> Browser {
    match engine {
        Engine::Chromium => {
            let guest = Browser::launch(env, driver, BrowserOptions::default()).await;
            guest
                .cdp(
                    "Emulation.setDeviceMetricsOverride",
                    serde_json::json!({ "width": 390, "height": height, "deviceScaleFactor": 1, "mobile": true }),
                )
                .await;
            guest
        }
        Engine::Firefox => {
            let guest = Browser::launch_firefox(env, BrowserOptions::default()).await;
            guest.set_window_size(500, height).await;
            guest
        }
    }
}

/// The share of the viewport the other person's video covers, and the
/// height of the code panel, as `[share, panel height]`.
const VIDEO_SHARE: &str = "const v = document.querySelector('[data-testid=remote-video]'); \
     const p = document.querySelector('[data-testid=sas-panel]'); \
     if (!v || !p) return null; const r = v.getBoundingClientRect(); \
     const w = Math.min(r.right, innerWidth) - Math.max(r.left, 0); \
     const h = Math.min(r.bottom, innerHeight) - Math.max(r.top, 0); \
     return [Math.max(w, 0) * Math.max(h, 0) / (innerWidth * innerHeight), p.getBoundingClientRect().height]";

/// The visible text of the code panel.
async fn panel_text(browser: &Browser) -> String {
    browser
        .wait_until(
            "the code panel with its buttons",
            STEP,
            "const p = document.querySelector('[data-testid=sas-panel]'); \
             return p && p.querySelector('[data-testid=sas-confirm]') ? p.innerText : null",
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn guided_code(engine: Engine) {
    let env = BrowserEnv::from_env();
    if engine == Engine::Firefox {
        env.require_firefox();
    }
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    let guest = guest_on_a_phone(&env, engine, &driver, 640).await;
    let link = counsellor_starts_session(&host, &relay.http_url()).await;
    guest_knocks(&guest, &link, "Mira", None).await;
    counsellor_admits_and_enters(&host, "Mira").await;
    sees_the_call(&guest).await;
    both_show_the_same_code(&host, &guest).await;

    let host_text = panel_text(&host).await;
    let guest_text = panel_text(&guest).await;
    println!("{engine:?} counsellor's panel: {host_text:?}\nguest's panel: {guest_text:?}");
    assert!(
        host_text.contains("Bitten Sie Ihr Gegenüber, die Zahl vorzulesen"),
        "{host_text}"
    );
    assert!(
        guest_text.contains("fragt Sie gleich nach dieser Zahl"),
        "{guest_text}"
    );
    for text in [&host_text, &guest_text] {
        assert!(
            text.contains("Gleiche Zahl") && text.contains("Andere Zahl"),
            "{text}"
        );
        assert!(text.contains("Zettel"), "a way without speaking: {text}");
        assert!(!text.contains('/'), "no slash read aloud: {text}");
    }
    let before = guest
        .wait_until("the video beside the code", STEP, VIDEO_SHARE)
        .await;
    println!("{engine:?} guest before confirming: [video share, panel px] = {before}");
    let engine_name = format!("{engine:?}").to_lowercase();
    guest
        .screenshot(&format!("21-phone-call-with-code-{engine_name}"))
        .await;

    // Both confirm: the panel collapses to a badge, the video grows.
    counsellor_confirms_every_code(&host, 1).await;
    guest.click("[data-testid=sas-confirm]").await;
    guest
        .wait_until(
            "the confirmed badge",
            STEP,
            "const p = document.querySelector('[data-testid=sas-panel]'); \
             return p && p.classList.contains('confirmed') && !p.querySelector('[data-testid=sas-lead]')",
        )
        .await;
    // Let the layout settle (one animation frame is enough; two for Firefox).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let after = guest.eval(VIDEO_SHARE).await;
    println!("{engine:?} guest after confirming: [video share, panel px] = {after}");
    guest
        .screenshot(&format!("22-phone-call-confirmed-{engine_name}"))
        .await;
    let share = |v: &Value| v[0].as_f64().unwrap_or(0.0);
    let panel = |v: &Value| v[1].as_f64().unwrap_or(f64::MAX);
    assert!(
        panel(&after) < panel(&before),
        "the panel really collapsed: {before} -> {after}"
    );
    assert!(
        share(&after) >= 0.5,
        "at least half of the phone screen is the other person's video: {after}"
    );
    assert!(
        guest
            .eval("return document.querySelector('[data-testid=sas-confirmed]') !== null")
            .await
            == Value::Bool(true),
        "the badge still says the code was confirmed"
    );
    // The chat on the phone: it covers the call, with a way back.
    if engine == Engine::Chromium {
        send_chat(&host, "Hallo Mira, schön, dass Sie da sind.").await;
        guest.click("[data-testid=chat-toggle]").await;
        sees_chat(&guest, "schön, dass Sie da sind").await;
        guest.screenshot("29-phone-chat").await;
    }
    host.close().await;
    guest.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn the_counsellor_leads_the_code_and_it_collapses_on_a_phone_in_chromium() {
    guided_code(Engine::Chromium).await;
}

#[tokio::test]
#[ignore = "needs Firefox, geckodriver, Chromium and the built app: run `cargo xtask test`"]
async fn the_counsellor_leads_the_code_and_it_collapses_on_a_phone_in_firefox() {
    guided_code(Engine::Firefox).await;
}

const CENTRE: &str = "Beratungsstelle Nord";
const PHONE: &str = "030 123 456 78";

/// The text of the centre's box on the current page (waits for it).
async fn centre_box(browser: &Browser, page: &str) -> String {
    let text = browser
        .wait_until(
            &format!("the centre's details on the {page}"),
            STEP,
            "const e = document.querySelector('[data-testid=centre]'); return e ? e.innerText : null",
        )
        .await;
    let text = text.as_str().unwrap_or_default().to_string();
    println!("{page}: {text:?}");
    assert!(
        text.contains(CENTRE) && text.contains(PHONE),
        "{page}: {text}"
    );
    text
}

#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn guests_see_the_centres_name_and_phone_and_the_crisis_lines_at_the_end() {
    let env = BrowserEnv::from_env();
    let mut config = Config::for_tests();
    config.static_dir = Some(env.dist.clone());
    config.centre_name = Some(CENTRE.into());
    config.centre_phone = Some(PHONE.into());
    config.centre_url = Some("https://beratung-nord.example".into());
    let relay = TestRelay::start_with(config).await;
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    let guest = guest_on_a_phone(&env, Engine::Chromium, &driver, 844).await;
    let link = counsellor_starts_session(&host, &relay.http_url()).await;

    // The page is served exactly as built: nothing injected into it.
    let served = host
        .eval_async(
            "const done = arguments[arguments.length - 1]; \
             fetch('/').then(r => r.text()).then(done, e => done('error ' + e))",
        )
        .await;
    let built = std::fs::read_to_string(env.dist.join("index.html")).expect("the built page");
    assert_eq!(
        served.as_str(),
        Some(built.as_str()),
        "index.html is served as built"
    );

    guest.goto(&link).await;
    let welcome = centre_box(&guest, "welcome page").await;
    assert!(welcome.contains("beratung-nord.example"), "{welcome}");
    assert!(
        !welcome.contains("116 111"),
        "crisis lines only at the end: {welcome}"
    );
    assert_eq!(
        guest
            .eval(
                "return document.querySelector('[data-testid=centre-phone]').getAttribute('href')"
            )
            .await,
        Value::from("tel:03012345678"),
        "the phone can be tapped"
    );
    guest.screenshot("23-phone-welcome").await;
    guest.click("[data-testid=continue]").await;
    guest
        .wait_until(
            "the camera preview",
            STEP,
            "const b = document.querySelector('[data-testid=knock]'); return b && !b.disabled",
        )
        .await;
    guest.type_into("[data-testid=guest-name]", "Mira").await;
    guest.screenshot("24-phone-device-check").await;
    guest.click("[data-testid=knock]").await;
    guest
        .wait_until(
            "the waiting screen",
            STEP,
            "return document.querySelector('[data-testid=waiting]') !== null",
        )
        .await;
    centre_box(&guest, "waiting page").await;
    guest.screenshot("25-phone-waiting").await;
    counsellor_admits_and_enters(&host, "Mira").await;
    sees_the_call(&guest).await;

    // Someone else opens the used link: the failure page names the centre.
    let third = guest_on_a_phone(&env, Engine::Chromium, &driver, 844).await;
    third.goto(&link).await;
    third.click("[data-testid=continue]").await;
    third
        .wait_until(
            "the camera preview",
            STEP,
            "const b = document.querySelector('[data-testid=knock]'); return b && !b.disabled",
        )
        .await;
    third.click("[data-testid=knock]").await;
    third
        .wait_until(
            "the link-used page",
            STEP,
            "const e = document.querySelector('[data-testid=failure]'); return e && e.dataset.kind === 'link-used'",
        )
        .await;
    let used = centre_box(&third, "link-used page").await;
    third.screenshot("26-phone-link-used").await;
    assert!(!used.contains("116 111"), "{used}");
    third.close().await;

    // The counsellor ends: the guest's end page adds the crisis lines.
    host.click("[data-testid=end-for-all]").await;
    host.click("[data-testid=end-for-all]").await;
    guest
        .wait_until(
            "the end page",
            STEP,
            "const e = document.querySelector('[data-testid=failure]'); return e && e.dataset.kind === 'session-ended'",
        )
        .await;
    let end = centre_box(&guest, "end page").await;
    for number in ["0800 111 0 111", "0800 111 0 222", "116 111"] {
        assert!(end.contains(number), "the end page lists {number}: {end}");
    }
    guest.screenshot("27-phone-end-page").await;
    assert_eq!(
        host.eval("return document.querySelector('[data-testid=centre]') === null")
            .await,
        Value::Bool(true),
        "the counsellor's own end page does not list her centre"
    );
    host.close().await;
    guest.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn the_counsellor_copies_a_ready_message_and_the_guest_can_leave_the_waiting_room() {
    let env = BrowserEnv::from_env();
    let mut config = Config::for_tests();
    config.static_dir = Some(env.dist.clone());
    config.centre_name = Some(CENTRE.into());
    config.centre_phone = Some(PHONE.into());
    let relay = TestRelay::start_with(config).await;
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    let guest = guest_on_a_phone(&env, Engine::Chromium, &driver, 844).await;
    let link = counsellor_starts_session(&host, &relay.http_url()).await;

    // Under the link: how long it works, from the relay's answer (24 hours).
    let validity = host
        .wait_until(
            "how long the link works",
            STEP,
            "const p = document.querySelector('.invite-link .hint');              return p && p.innerText.includes('bis morgen') ? p.innerText : null",
        )
        .await;
    println!("under the link: {validity}");

    // What the page hands the clipboard (the headless clipboard itself
    // needs a focused window; the text is what matters here).
    host.eval(
        "window.copiedText = null; \
         navigator.clipboard.writeText = t => { window.copiedText = t; return Promise.resolve(); }; \
         return true",
    )
    .await;
    host.wait_until(
        "the centre's details to arrive",
        STEP,
        "const b = document.querySelector('[data-testid=copy-message]'); return b !== null",
    )
    .await;
    // The message names the centre once /centre.json has arrived.
    let message = host
        .wait_until(
            "the copied message",
            STEP,
            "document.querySelector('[data-testid=copy-message]').click(); \
             return window.copiedText && window.copiedText.includes('Beratungsstelle Nord') ? window.copiedText : null",
        )
        .await;
    let message = message.as_str().unwrap_or_default().to_string();
    println!("copied message:\n{message}");
    assert!(
        message.contains(&link),
        "the link is in the message: {message}"
    );
    for part in ["Guten Tag", "nur einmal", "nichts", PHONE] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
    assert!(
        !message.contains('/') || message.matches('/').count() == link.matches('/').count(),
        "no slash forms besides the link: {message}"
    );
    host.screenshot("28-invite-with-message").await;

    guest_knocks(&guest, &link, "Mira", None).await;
    let waited = guest
        .wait_until(
            "how long she has waited",
            STEP,
            "const e = document.querySelector('[data-testid=waited]'); return e ? e.innerText : null",
        )
        .await;
    assert_eq!(
        waited,
        Value::from("Sie warten seit weniger als einer Minute.")
    );
    host.wait_until(
        "the knock",
        STEP,
        "return document.querySelector('[data-testid=knock-entry]') !== null",
    )
    .await;
    // One tap only asks; she is still waiting and still seen.
    guest.click("[data-testid=leave-waiting]").await;
    let asked = guest
        .wait_until(
            "the question",
            STEP,
            "const b = document.querySelector('[data-testid=leave-waiting]'); \
             return b && b.innerText.includes('Wirklich gehen') ? b.innerText : null",
        )
        .await;
    println!("after one tap: {asked}");
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        host.eval("return document.querySelectorAll('[data-testid=knock-entry]').length")
            .await,
        1,
        "one tap did not leave"
    );
    // The second tap leaves: her page says so, and her knock is gone.
    guest.click("[data-testid=leave-waiting]").await;
    guest
        .wait_until(
            "the page after leaving",
            STEP,
            "const e = document.querySelector('[data-testid=failure]'); return e ? e.dataset.kind : null",
        )
        .await;
    host.wait_until(
        "the knock to be gone at the counsellor",
        STEP,
        "return document.querySelectorAll('[data-testid=knock-entry]').length === 0",
    )
    .await;
    host.close().await;
    guest.close().await;
}
