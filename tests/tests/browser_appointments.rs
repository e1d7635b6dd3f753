#![allow(clippy::expect_used)]
//! Appointments (issue 15), the guest's side, in real browsers against the
//! real relay, in Chromium and Firefox. The link carries the appointment
//! (link version 2); the tests make it from `shared` and play the
//! counsellor with a native WebSocket client, so they do not depend on the
//! counsellor's planning screen:
//!
//! - Too early: the page shows the appointment's day and time and when the
//!   link opens, waits, and goes on to the welcome page by itself once the
//!   window opens (not before: the test checks the clock when it arrives).
//! - Inside the window before the counsellor's confide registered the room:
//!   the knock is refused (4007, seen in the test build's reasons), the page
//!   says the counsellor is not there yet and knocks again; once the native
//!   counsellor registers the room, the knock arrives and the guest waits as
//!   usual, without a second camera check.
//! - After the window: "Dieser Termin ist vorbei" with the time it was and
//!   the centre's contact; and a page that keeps knocking until the window
//!   closes ends on the same page (Chromium).
//!
//! Screenshots (Chromium, desktop 1280 × 800 and phone 390 × 844):
//! 40-appointment-too-early, 41-appointment-not-there-yet (and
//! `-after-minutes`: the test build's `?appointment_long=6` makes "some
//! minutes" six seconds), 42-appointment-over (each with `-phone`).
//!
//! Like the other browser tests: `#[ignore]`d in a plain `cargo test`, run
//! by `cargo xtask test`.

use std::time::{SystemTime, UNIX_EPOCH};

use confide_relay::config::Config;
use confide_shared::appointment::Appointment;
use confide_shared::link::{Invite, SessionSecret};
use confide_shared::wire::{ClientMessage, MemberId, PROTOCOL_VERSION, ServerMessage};
use confide_tests::browser::{Browser, BrowserEnv, BrowserOptions, Driver, Engine};
use confide_tests::call::STEP;
use confide_tests::relay::TestRelay;
use confide_tests::ws::{Client, Event, counsellor_token};
use rand_core::OsRng;
use serde_json::Value;

const CENTRE: &str = "Beratungsstelle Nord";
const PHONE: &str = "030 123 456 78";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A relay with the centre's details (they belong on every appointment page).
async fn relay_with_centre(env: &BrowserEnv) -> TestRelay {
    let mut config = Config::for_tests();
    config.static_dir = Some(env.dist.clone());
    config.centre_name = Some(CENTRE.into());
    config.centre_phone = Some(PHONE.into());
    TestRelay::start_with(config).await
}

/// A planned session's guest link: a fresh session secret and invite with
/// `appointment`, as the counsellor's browser makes them.
pub fn appointment_link(
    relay_url: &str,
    appointment: Appointment,
) -> (SessionSecret, Invite, String) {
    let secret = SessionSecret::generate(&mut OsRng);
    let invite = secret.new_invite(&mut OsRng).with_appointment(appointment);
    let url = invite.to_url(relay_url).to_string();
    assert!(url.contains("/#2"), "a version-2 link: {url}");
    (secret, invite, url)
}

/// The next message that `pick` accepts, skipping others (`ice_servers`
/// and the like); waits up to [`STEP`] (a page that knocks again may be
/// 15 s away from its next knock).
async fn next_that(
    client: &mut Client,
    what: &str,
    pick: impl Fn(&ServerMessage) -> bool,
) -> ServerMessage {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match client.try_next(left).await {
            Some(Event::Message(message)) if pick(&message) => return message,
            Some(Event::Message(_)) => {}
            Some(Event::Closed(close)) => panic!("closed ({close:?}) before {what}"),
            None => panic!("no {what} within {STEP:?}"),
        }
    }
}

/// The counsellor's confide registers the planned room and its invite with
/// the appointment's window (what her tab does once it is open).
pub async fn native_counsellor_registers(
    ws_url: &str,
    secret: &SessionSecret,
    invite: &Invite,
) -> Client {
    let appointment = invite.appointment().expect("an appointment link");
    let mut host = Client::connect(ws_url).await;
    host.send(&ClientMessage::CreateRoom {
        v: PROTOCOL_VERSION,
        room: secret.room_id(),
        host_token: secret.host_token(),
        counsellor: counsellor_token(),
        keep_until: Some(appointment.closes()),
    })
    .await;
    next_that(&mut host, "room_created", |m| {
        matches!(m, ServerMessage::RoomCreated { .. })
    })
    .await;
    host.send(&ClientMessage::AddInvite {
        room: secret.room_id(),
        token_hash: invite.token().hash(),
        ttl_secs: None,
        opens: Some(appointment.opens()),
        closes: Some(appointment.closes()),
    })
    .await;
    next_that(&mut host, "invite_added", |m| {
        matches!(m, ServerMessage::InviteAdded { .. })
    })
    .await;
    host
}

/// The counsellor sees the guest's knock; returns the guest's member id.
pub async fn native_counsellor_sees_knock(host: &mut Client) -> MemberId {
    let knock = next_that(host, "the guest's knock", |m| {
        matches!(m, ServerMessage::Knocked { .. })
    })
    .await;
    match knock {
        ServerMessage::Knocked { member, .. } => member,
        _ => unreachable!(),
    }
}

/// Saves `name` at the desktop size, then `name-phone` at 390 × 844
/// (Chromium's device emulation), and goes back to the desktop size.
pub async fn desktop_and_phone_screenshots(browser: &Browser, name: &str) {
    browser.screenshot(name).await;
    browser
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({ "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true }),
        )
        .await;
    // Let the layout settle.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    browser.screenshot(&format!("{name}-phone")).await;
    browser
        .cdp(
            "Emulation.clearDeviceMetricsOverride",
            serde_json::json!({}),
        )
        .await;
}

/// The page's text once `css` and the centre's details (fetched after the
/// page loads) are on it.
async fn page_with(browser: &Browser, what: &str, css: &str) -> String {
    let script = format!(
        "return document.querySelector('{css}') && document.querySelector('[data-testid=centre]') \
         ? document.querySelector('main').innerText : null"
    );
    let text = browser.wait_until(what, STEP, &script).await;
    let text = text.as_str().unwrap_or_default().to_string();
    println!("{what}: {text:?}");
    text
}

/// `"Donnerstag, 3. Dezember"` and `"14:00"` for `unix` as this browser
/// writes them in German (its own calendar and time zone).
async fn local_day_and_time(browser: &Browser, unix: u64) -> (String, String) {
    let both = browser
        .eval(&format!(
            "const d = new Date({ms}); return [\
             d.toLocaleDateString('de', {{weekday: 'long', day: 'numeric', month: 'long'}}), \
             d.toLocaleTimeString('de', {{hour: 'numeric', minute: '2-digit'}})]",
            ms = unix * 1000
        ))
        .await;
    let part = |i: usize| both[i].as_str().unwrap_or_default().to_string();
    (part(0), part(1))
}

async fn launch(env: &BrowserEnv, engine: Engine, driver: &Driver) -> Browser {
    match engine {
        Engine::Chromium => Browser::launch(env, driver, BrowserOptions::default()).await,
        Engine::Firefox => Browser::launch_firefox(env, BrowserOptions::default()).await,
    }
}

fn env_for(engine: Engine) -> BrowserEnv {
    let env = BrowserEnv::from_env();
    if engine == Engine::Firefox {
        env.require_firefox();
    }
    env
}

/// From the welcome page through the camera check to "Anklopfen".
async fn guest_checks_devices_and_knocks(guest: &Browser) {
    guest.click("[data-testid=continue]").await;
    guest
        .wait_until(
            "the camera preview",
            STEP,
            "const b = document.querySelector('[data-testid=knock]'); return b && !b.disabled",
        )
        .await;
    guest.type_into("[data-testid=guest-name]", "Mira").await;
    guest.click("[data-testid=knock]").await;
}

async fn refusals(browser: &Browser) -> usize {
    let reasons = browser
        .eval("return document.body.getAttribute('data-confide-reasons') || ''")
        .await;
    reasons
        .as_str()
        .unwrap_or_default()
        .matches("Relay(InviteInvalid)")
        .count()
}

async fn too_early(engine: Engine) {
    let env = env_for(engine);
    let relay = relay_with_centre(&env).await;
    let driver = Driver::start(&env).await;
    let guest = launch(&env, engine, &driver).await;
    // Starts in 70 s; the link opens 60 s before, i.e. in about 10 s.
    let appointment = Appointment::new(unix_now() + 70, 60, 3600).expect("an appointment");
    let (_secret, _invite, link) = appointment_link(&relay.http_url(), appointment);

    guest.goto(&link).await;
    let text = page_with(
        &guest,
        "the too-early page",
        "[data-testid=appointment][data-kind=early]",
    )
    .await;
    let (day, start) = local_day_and_time(&guest, appointment.starts()).await;
    let (_, opens) = local_day_and_time(&guest, appointment.opens()).await;
    assert!(
        text.contains(&format!("Ihr Termin: {day}, {start} Uhr")),
        "the day and time in local time: {text}"
    );
    assert!(
        text.contains(&format!("ab {opens} Uhr")),
        "when the link opens: {text}"
    );
    assert!(
        text.contains("verbindet Sie zur Terminzeit von selbst"),
        "{text}"
    );
    assert!(
        text.contains(CENTRE) && text.contains(PHONE),
        "the centre: {text}"
    );
    assert!(!text.contains('/'), "no slash read aloud: {text}");
    let still_early = unix_now() < appointment.opens();
    assert!(still_early, "the page was seen before the window opened");
    assert_eq!(
        guest
            .eval("return document.querySelector('[data-testid=quick-exit]') !== null")
            .await,
        Value::Bool(true),
        "the quick exit is there"
    );
    if engine == Engine::Chromium {
        desktop_and_phone_screenshots(&guest, "40-appointment-too-early").await;
    }

    // The window opens: on to the welcome page by itself, not before.
    let arrived = guest
        .wait_until(
            "the welcome page when the window opens",
            STEP,
            "return document.querySelector('[data-testid=continue]') ? Date.now() / 1000 : null",
        )
        .await;
    let arrived = arrived.as_f64().unwrap_or_default();
    println!(
        "{engine:?}: the welcome page came {:.1} s after the window opened",
        arrived - appointment.opens() as f64
    );
    assert!(
        arrived >= appointment.opens() as f64,
        "not before the window opened ({arrived} < {})",
        appointment.opens()
    );
    guest.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn a_guest_who_is_too_early_sees_the_time_and_the_page_continues_by_itself_in_chromium() {
    too_early(Engine::Chromium).await;
}

#[tokio::test]
#[ignore = "needs Firefox, geckodriver, Chromium and the built app: run `cargo xtask test`"]
async fn a_guest_who_is_too_early_sees_the_time_and_the_page_continues_by_itself_in_firefox() {
    too_early(Engine::Firefox).await;
}

async fn counsellor_not_there_yet(engine: Engine) {
    let env = env_for(engine);
    let relay = relay_with_centre(&env).await;
    let driver = Driver::start(&env).await;
    let guest = launch(&env, engine, &driver).await;
    // Started a minute ago: inside the window, but no room on the relay yet.
    let appointment = Appointment::new(unix_now() - 60, 900, 3600).expect("an appointment");
    let (secret, invite, link) = appointment_link(&relay.http_url(), appointment);
    // The test build's switch: "some minutes" are 6 s here.
    let link = link.replacen("/#", "/?appointment_long=6#", 1);

    guest.goto(&link).await;
    guest_checks_devices_and_knocks(&guest).await;
    let text = page_with(
        &guest,
        "the not-there-yet page",
        "[data-testid=appointment][data-kind=not-there-yet]",
    )
    .await;
    assert!(
        text.contains("Das Gespräch hat noch nicht begonnen"),
        "{text}"
    );
    assert!(text.contains("versucht es weiter"), "{text}");
    assert!(text.contains(CENTRE), "the centre: {text}");
    assert!(!text.contains('/'), "no slash read aloud: {text}");
    assert!(
        refusals(&guest).await >= 1,
        "the relay really refused the knock (4007)"
    );
    assert!(
        !text.contains("benutzt"),
        "the used-link sentence only after some minutes: {text}"
    );
    if engine == Engine::Chromium {
        desktop_and_phone_screenshots(&guest, "41-appointment-not-there-yet").await;
    }
    // After some minutes (of knocking again): the centre's phone, and the
    // honest sentence that a used link looks the same.
    let text = page_with(
        &guest,
        "the not-there-yet page after some minutes",
        "[data-testid=appointment-link-used]",
    )
    .await;
    assert!(
        text.contains("Falls Ihr Link schon von jemand anderem benutzt wurde"),
        "{text}"
    );
    assert_eq!(
        guest
            .eval(
                "return document.querySelector('[data-testid=waiting-long] a').getAttribute('href')"
            )
            .await,
        Value::from("tel:03012345678"),
        "the centre's phone can be tapped"
    );
    assert!(refusals(&guest).await >= 2, "the page really knocked again");
    if engine == Engine::Chromium {
        desktop_and_phone_screenshots(&guest, "41-appointment-not-there-yet-after-minutes").await;
    }

    // The counsellor opens confide: her tab registers the room, and the
    // guest's next knock gets in without a second camera check.
    let mut host = native_counsellor_registers(&relay.ws_url(), &secret, &invite).await;
    native_counsellor_sees_knock(&mut host).await;
    guest
        .wait_until(
            "the ordinary waiting page",
            STEP,
            "return document.querySelector('[data-testid=waiting]') !== null",
        )
        .await;
    let refused = refusals(&guest).await;
    println!("{engine:?}: {refused} knock(s) refused before the room was there");
    assert_eq!(
        guest
            .eval("return document.querySelector('[data-testid=knock]') === null")
            .await,
        Value::Bool(true),
        "no second camera check"
    );
    guest.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn a_guest_whose_counsellor_is_not_there_yet_knocks_again_until_she_is_in_chromium() {
    counsellor_not_there_yet(Engine::Chromium).await;
}

#[tokio::test]
#[ignore = "needs Firefox, geckodriver, Chromium and the built app: run `cargo xtask test`"]
async fn a_guest_whose_counsellor_is_not_there_yet_knocks_again_until_she_is_in_firefox() {
    counsellor_not_there_yet(Engine::Firefox).await;
}

/// Checks the "Dieser Termin ist vorbei" page for `appointment`.
async fn sees_appointment_over(guest: &Browser, appointment: Appointment) -> String {
    let text = page_with(
        guest,
        "the appointment-over page",
        "[data-testid=failure][data-kind=appointment-over]",
    )
    .await;
    let (day, start) = local_day_and_time(guest, appointment.starts()).await;
    assert!(text.contains("Dieser Termin ist vorbei"), "{text}");
    assert!(
        text.contains(&format!("{day}, {start} Uhr")),
        "the time it was: {text}"
    );
    assert!(text.contains("neuen Termin"), "what to do next: {text}");
    assert!(
        text.contains(CENTRE) && text.contains(PHONE),
        "the centre: {text}"
    );
    assert!(!text.contains('/'), "no slash read aloud: {text}");
    text
}

async fn too_late(engine: Engine) {
    let env = env_for(engine);
    let relay = relay_with_centre(&env).await;
    let driver = Driver::start(&env).await;
    let guest = launch(&env, engine, &driver).await;
    // Two hours ago, one hour long.
    let appointment = Appointment::new(unix_now() - 7200, 900, 3600).expect("an appointment");
    let (_secret, _invite, link) = appointment_link(&relay.http_url(), appointment);
    guest.goto(&link).await;
    sees_appointment_over(&guest, appointment).await;
    assert_eq!(
        refusals(&guest).await,
        0,
        "decided by the link's time, without knocking"
    );
    if engine == Engine::Chromium {
        desktop_and_phone_screenshots(&guest, "42-appointment-over").await;
    }
    guest.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn a_guest_who_comes_after_the_window_is_told_the_appointment_is_over_in_chromium() {
    too_late(Engine::Chromium).await;
}

#[tokio::test]
#[ignore = "needs Firefox, geckodriver, Chromium and the built app: run `cargo xtask test`"]
async fn a_guest_who_comes_after_the_window_is_told_the_appointment_is_over_in_firefox() {
    too_late(Engine::Firefox).await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn a_guest_who_knocks_until_the_window_closes_is_told_the_appointment_is_over() {
    let env = env_for(Engine::Chromium);
    let relay = relay_with_centre(&env).await;
    let driver = Driver::start(&env).await;
    let guest = launch(&env, Engine::Chromium, &driver).await;
    // The shortest appointment (one minute), closing in about 25 s.
    let appointment = Appointment::new(unix_now() - 35, 0, 60).expect("an appointment");
    let (_secret, _invite, link) = appointment_link(&relay.http_url(), appointment);
    guest.goto(&link).await;
    guest_checks_devices_and_knocks(&guest).await;
    page_with(
        &guest,
        "the not-there-yet page",
        "[data-testid=appointment][data-kind=not-there-yet]",
    )
    .await;
    assert!(
        unix_now() < appointment.closes(),
        "the knock was refused inside the window"
    );
    sees_appointment_over(&guest, appointment).await;
    let refused = refusals(&guest).await;
    println!("{refused} knock(s) refused before the window closed");
    assert!(refused >= 1, "{refused}");
    assert!(
        unix_now() >= appointment.closes(),
        "the end page came only after the window closed"
    );
    guest.close().await;
}
