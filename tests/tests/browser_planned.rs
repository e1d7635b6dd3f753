#![allow(clippy::expect_used)]
//! Appointments (issue 15) from the counsellor's side to the call, in real
//! browsers against the real relay.
//!
//! - **She is late.** The counsellor plans a session (the test build's
//!   shortened clock: the window opens seconds later instead of 15 minutes
//!   before a time days ahead) and closes confide. The guest opens the link
//!   before the window: the page shows the time and waits by itself; when
//!   the window opens it goes on, she checks her camera and knocks into a
//!   room whose counsellor is not there — the relay keeps the knock. The
//!   counsellor opens confide again on the same device: her start page says
//!   someone waits for that appointment; she opens it, admits the guest, and
//!   both see the same safety code. Chromium counsellor, Firefox guest.
//! - **The relay restarts** between planning and the appointment (the
//!   counsellor's confide stays open on the start page): her tab registers
//!   the room again by itself, the guest gets in, same safety codes. Firefox
//!   counsellor, Chromium guest.
//!
//! - **Planning through the form**: a time already past is refused with a
//!   reason; tomorrow 10:00 is listed as "Morgen, 10:00 – für R." with its
//!   window and a version-2 link, survives a reload, and deleting it asks
//!   first (Chromium).
//!
//! Screenshots: 43-planned-list (the list with the knock after she came
//! back late, desktop and phone), 44-planned-tomorrow.
//!
//! Like the other browser tests: `#[ignore]`d in a plain `cargo test`, run
//! by `cargo xtask test`.

use confide_relay::config::Config;
use confide_tests::browser::{Browser, BrowserEnv, BrowserOptions, Driver};
use confide_tests::call::*;
use confide_tests::relay::TestRelay;

/// The counsellor plans an appointment on her start page with the test
/// build's clock: it starts `start_in` seconds from now, its link opens
/// `opens_before` seconds earlier. Returns the guest's link from the list.
async fn counsellor_plans(host: &Browser, start_in: u32, opens_before: u32, label: &str) -> String {
    host.wait_until(
        "the start page",
        STEP,
        "return document.querySelector('[data-testid=plan-session]') !== null",
    )
    .await;
    // A device without planned sessions says so (her others' are not here).
    let note = host
        .eval("return document.querySelector('[data-testid=planned-device-note]').innerText")
        .await;
    assert!(
        note.as_str().unwrap_or_default().contains("anderen Gerät"),
        "{note}"
    );
    host.eval(&format!(
        "window.wasmBindings.confide_test_plan_in({start_in}, {opens_before}, 600, '{label}'); return true"
    ))
    .await;
    let link = host
        .wait_until(
            "the planned session's link",
            STEP,
            "const e = document.querySelector('[data-testid=planned-link]'); \
             return e && e.value.includes('#2') ? e.value : null",
        )
        .await;
    let listed = host
        .eval("return document.querySelector('[data-testid=planned]').innerText")
        .await;
    assert!(
        listed.as_str().unwrap_or_default().contains(label),
        "the list shows the label: {listed}"
    );
    link.as_str().unwrap_or_default().to_string()
}

/// The guest waits on the too-early page until it goes on by itself, then
/// checks her camera and knocks.
async fn guest_arrives_early_and_knocks(guest: &Browser, link: &str, name: &str) {
    guest.goto(link).await;
    let early = guest
        .wait_until(
            "the too-early page",
            STEP,
            "const e = document.querySelector('[data-testid=appointment][data-kind=early]'); \
             return e ? e.innerText : null",
        )
        .await;
    println!("the guest's too-early page: {early}");
    let early = early.as_str().unwrap_or_default();
    assert!(
        early.contains("verbindet Sie zur Terminzeit von selbst") && early.contains("Uhr"),
        "the page says when and that it waits by itself: {early}"
    );
    // No click: the page goes on when the window opens.
    guest
        .wait_until(
            "the welcome page, by itself",
            STEP,
            "return document.querySelector('[data-testid=continue]') !== null",
        )
        .await;
    guest_continues_and_knocks(guest, name, None).await;
}

/// The counsellor's start page shows that someone waits for the appointment;
/// she opens it and admits the guest.
async fn counsellor_sees_the_knock_and_admits(
    host: &Browser,
    name: &str,
    screenshot: Option<&str>,
) {
    let alert = host
        .wait_until(
            "the knock on the start page",
            STEP,
            "const k = document.querySelector('[data-testid=planned-knocking]'); \
             const a = document.querySelector('[data-testid=planned-knock-alert]'); \
             return k && a ? a.innerText : null",
        )
        .await;
    println!("the counsellor's start page: {alert}");
    if let Some(name) = screenshot {
        host.screenshot(name).await;
        host.cdp(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({ "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true }),
        )
        .await;
        host.screenshot(&format!("{name}-phone")).await;
        host.cdp(
            "Emulation.clearDeviceMetricsOverride",
            serde_json::json!({}),
        )
        .await;
    }
    host.click("[data-testid=planned-alert-open]").await;
    counsellor_admits_and_enters(host, name).await;
}

#[tokio::test]
#[ignore = "needs a browser; run with cargo xtask test"]
async fn a_late_counsellor_finds_the_early_guest_waiting() {
    let env = BrowserEnv::from_env();
    env.require_firefox();
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    let guest = Browser::launch_firefox(&env, BrowserOptions::default()).await;

    host.goto(&relay.counsellor_url()).await;
    let link = counsellor_plans(&host, 25, 15, "für M.").await;
    // She closes confide (her device keeps the planned session).
    host.goto("about:blank").await;

    guest_arrives_early_and_knocks(&guest, &link, "Mira").await;

    // Later she opens confide again on the same device.
    host.goto(&relay.http_url()).await;
    counsellor_sees_the_knock_and_admits(&host, "Mira", Some("43-planned-list")).await;
    sees_the_call(&guest).await;
    let code = both_show_the_same_code(&host, &guest).await;
    println!("the same safety code on both sides: {code}");
}

#[tokio::test]
#[ignore = "needs a browser; run with cargo xtask test"]
async fn after_a_relay_restart_the_open_tab_registers_the_appointment_again() {
    let env = BrowserEnv::from_env();
    env.require_firefox();
    let mut config = Config::for_tests();
    config.static_dir = Some(env.dist.clone());
    let relay = TestRelay::start_with(config.clone()).await;
    let addr = relay.addr();
    let driver = Driver::start(&env).await;
    let host = Browser::launch_firefox(&env, BrowserOptions::default()).await;
    let guest = Browser::launch(&env, &driver, BrowserOptions::default()).await;

    host.goto(&relay.counsellor_url()).await;
    let link = counsellor_plans(&host, 20, 10, "für K.").await;

    // The relay restarts: it forgets every room.
    relay.shutdown().await.expect("the relay stops");
    let relay = TestRelay::start_at(config, &addr).await;
    assert_eq!(relay.addr(), addr);

    guest_arrives_early_and_knocks(&guest, &link, "Kim").await;
    counsellor_sees_the_knock_and_admits(&host, "Kim", None).await;
    sees_the_call(&guest).await;
    let code = both_show_the_same_code(&host, &guest).await;
    println!("the same safety code on both sides: {code}");
}

/// Sets the plan form's fields (`day_offset` days from today, local time).
async fn fill_plan_form(host: &Browser, day_offset: i32, time: &str, label: &str) {
    host.eval(&format!(
        "const d = new Date(Date.now() + {day_offset} * 86400000); \
         const two = n => String(n).padStart(2, '0'); \
         document.querySelector('[data-testid=plan-day]').value = \
           d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()); \
         document.querySelector('[data-testid=plan-time]').value = '{time}'; \
         return true"
    ))
    .await;
    host.type_into("[data-testid=plan-label]", label).await;
}

#[tokio::test]
#[ignore = "needs a browser; run with cargo xtask test"]
async fn planning_through_the_form_refuses_a_past_time_and_deleting_asks_first() {
    let env = BrowserEnv::from_env();
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    host.goto(&relay.counsellor_url()).await;

    // Yesterday: refused, with a reason, and nothing is planned.
    host.click("[data-testid=plan-session]").await;
    fill_plan_form(&host, -1, "10:00", "gestern").await;
    host.click("[data-testid=plan-submit]").await;
    let refusal = host
        .wait_until(
            "the refusal",
            STEP,
            "const e = document.querySelector('.plan-form [role=alert]'); return e ? e.innerText : null",
        )
        .await;
    assert!(
        refusal
            .as_str()
            .unwrap_or_default()
            .contains("schon vorbei"),
        "{refusal}"
    );
    assert_eq!(
        host.eval("return document.querySelectorAll('[data-testid=planned]').length")
            .await,
        0
    );

    // Tomorrow at 10:00, 50 minutes, the link opens 15 minutes before.
    host.eval("document.querySelector('[data-testid=plan-label]').value = ''; return true")
        .await;
    fill_plan_form(&host, 1, "10:00", "für R.").await;
    host.click("[data-testid=plan-submit]").await;
    let item = host
        .wait_until(
            "the planned session",
            STEP,
            "const e = document.querySelector('[data-testid=planned]'); return e ? e.innerText : null",
        )
        .await;
    let item = item.as_str().unwrap_or_default().to_string();
    println!("planned: {item:?}");
    assert!(item.contains("Morgen, 10:00 – für R."), "{item}");
    assert!(item.contains("von 9:45 bis 10:50 Uhr"), "{item}");
    let link = host
        .eval("return document.querySelector('[data-testid=planned-link]').value")
        .await;
    assert!(link.as_str().unwrap_or_default().contains("/#2"), "{link}");

    // It survives a reload (kept on this device).
    host.goto(&relay.http_url()).await;
    host.wait_until(
        "the planned session after a reload",
        STEP,
        "return document.querySelectorAll('[data-testid=planned]').length === 1",
    )
    .await;
    host.screenshot("44-planned-tomorrow").await;

    // Deleting asks first; "Behalten" keeps it, "Löschen" removes it.
    host.eval("document.querySelector('[data-testid=planned] details').open = true; return true")
        .await;
    host.click("[data-testid=planned-delete]").await;
    assert_eq!(
        host.eval("return document.querySelectorAll('[data-testid=planned]').length")
            .await,
        1,
        "one click deletes nothing"
    );
    host.click("[data-testid=planned-delete-confirm]").await;
    host.wait_until(
        "the list without it",
        STEP,
        "return document.querySelectorAll('[data-testid=planned]').length === 0",
    )
    .await;
    host.goto(&relay.http_url()).await;
    host.wait_until(
        "the start page",
        STEP,
        "return document.querySelector('[data-testid=plan-session]') !== null",
    )
    .await;
    assert_eq!(
        host.eval("return document.querySelectorAll('[data-testid=planned]').length")
            .await,
        0,
        "deleted for good"
    );
}
