#![allow(clippy::expect_used)]
//! Quick exit always in reach, in Chromium and Firefox on a phone-sized
//! screen: 390 × 844 in Chromium (device emulation); Firefox has none over
//! WebDriver and its headless window is at least 500 px wide (measured
//! 500 × 758 when 390 × 844 was asked), which is still narrower than the
//! page's phone breakpoint. A guest in a shared flat who must hide the screen
//! scrolls the device check, and the "Schnell verlassen" button is still on
//! screen, uncovered; pressing Escape twice leaves as the button does (the
//! tab goes to a neutral page; in Chromium the history is checked to get no
//! new entry, Firefox's WebDriver cannot run scripts in that page). An
//! Escape that closes something on the page does not count.
//!
//!
//! Nothing irreversible in one click, in both browsers: a guest's single
//! tap on "Auflegen" or on "Stimmt nicht überein" ends nothing; the first
//! asks "Wirklich auflegen?", the second asks to read the number again,
//! with [Sie ist anders] and [Zurück].
//!
//! No group without the counsellor: when her tab is gone, two guests stop
//! sending to each other (and are told why); her one way to end reaches
//! every guest within two seconds and closes every connection.
//!
//! Like the other browser tests: `#[ignore]`d in a plain `cargo test`, run
//! by `cargo xtask test`.

use confide_tests::browser::{Browser, BrowserEnv, BrowserOptions, Driver, Engine};
use confide_tests::call::*;
use confide_tests::relay::TestRelay;
use serde_json::Value;

/// WebDriver's key code for Escape.
const ESCAPE: &str = "\u{e00c}";

/// The quick-exit button is inside the viewport and nothing covers it.
const QUICK_EXIT_IN_REACH: &str = "const b = document.querySelector('[data-testid=quick-exit]'); \
     if (!b) return 'no button'; const r = b.getBoundingClientRect(); \
     if (r.top < 0 || r.bottom > innerHeight || r.width === 0) return 'off screen: ' + JSON.stringify(r); \
     const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); \
     return b.contains(hit) ? 'ok' : 'covered by ' + (hit && hit.outerHTML.slice(0, 80));";

async fn guest_on_a_phone(env: &BrowserEnv, engine: Engine, driver: &Driver) -> Browser {
    match engine {
        Engine::Chromium => {
            let guest = Browser::launch(env, driver, BrowserOptions::default()).await;
            guest
                .cdp(
                    "Emulation.setDeviceMetricsOverride",
                    serde_json::json!({ "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true }),
                )
                .await;
            guest
        }
        Engine::Firefox => {
            let guest = Browser::launch_firefox(env, BrowserOptions::default()).await;
            guest.set_window_size(390, 844).await;
            guest
        }
    }
}

async fn quick_exit_in_reach(engine: Engine) {
    let env = BrowserEnv::from_env();
    if engine == Engine::Firefox {
        env.require_firefox();
    }
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    let guest = guest_on_a_phone(&env, engine, &driver).await;
    let link = counsellor_starts_session(&host, &relay.http_url()).await;

    guest.goto(&link).await;
    guest.click("[data-testid=continue]").await;
    guest
        .wait_until(
            "the camera preview",
            STEP,
            "const b = document.querySelector('[data-testid=knock]'); return b && !b.disabled",
        )
        .await;
    let size = guest.eval("return [innerWidth, innerHeight]").await;
    println!("{engine:?} guest viewport {size}");
    assert!(
        size[0].as_u64().is_some_and(|w| w <= 500),
        "a phone-sized screen: {size}"
    );
    // She scrolls down to the name field and knock button...
    let scrolled = guest
        .eval(
            "document.querySelector('[data-testid=knock]').scrollIntoView({block: 'end'}); \
             window.scrollTo(0, document.documentElement.scrollHeight); \
             return window.scrollY",
        )
        .await;
    println!("{engine:?}: scrolled by {scrolled} px");
    assert!(
        scrolled.as_f64().is_some_and(|y| y > 0.0),
        "the device check is taller than the phone's screen, so the page really scrolled ({scrolled})"
    );
    // ...and the quick exit is still there.
    assert_eq!(
        guest.eval(QUICK_EXIT_IN_REACH).await,
        Value::from("ok"),
        "the quick exit stays on screen after scrolling ({engine:?})"
    );
    guest
        .screenshot(&format!(
            "16-quick-exit-after-scrolling-{}",
            format!("{engine:?}").to_lowercase()
        ))
        .await;

    // One Escape is nothing; two in a row leave, as the button does.
    let history_before = guest.eval("return history.length").await;
    guest.type_into("[data-testid=guest-name]", ESCAPE).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(
        guest
            .eval("return document.querySelector('[data-testid=quick-exit]') !== null")
            .await
            == Value::Bool(true),
        "a single Escape (and another after the time is up) does not leave"
    );
    guest
        .type_into("[data-testid=guest-name]", &format!("{ESCAPE}{ESCAPE}"))
        .await;
    let origin = relay.http_url();
    guest
        .wait_until(
            "the tab to leave confide after Escape twice",
            STEP,
            &format!(
                "return !location.href.startsWith({})",
                Value::from(origin.clone())
            ),
        )
        .await;
    // Firefox's WebDriver answers every script in the neutral page the quick
    // exit opens with null (seen in 3 of 4 runs), so the history is checked
    // in Chromium, as in browser.rs's quick-exit test.
    if engine == Engine::Chromium {
        assert_eq!(
            guest.eval("return history.length").await,
            history_before,
            "the quick exit replaces the history entry"
        );
    }
    host.close().await;
    guest.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn quick_exit_stays_in_reach_on_a_phone_in_chromium() {
    quick_exit_in_reach(Engine::Chromium).await;
}

#[tokio::test]
#[ignore = "needs Firefox, geckodriver, Chromium and the built app: run `cargo xtask test`"]
async fn quick_exit_stays_in_reach_on_a_phone_in_firefox() {
    quick_exit_in_reach(Engine::Firefox).await;
}

/// A 1:1 call with the guest in `engine`; a single tap on "Auflegen" and on
/// "Stimmt nicht überein" ends nothing, "Zurück" goes back, and the second
/// tap on "Auflegen" leaves.
async fn no_single_tap_ends_the_call(engine: Engine) {
    let env = BrowserEnv::from_env();
    if engine == Engine::Firefox {
        env.require_firefox();
    }
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    let guest = match engine {
        Engine::Chromium => Browser::launch(&env, &driver, BrowserOptions::default()).await,
        Engine::Firefox => Browser::launch_firefox(&env, BrowserOptions::default()).await,
    };
    let link = counsellor_starts_session(&host, &relay.http_url()).await;
    guest_knocks(&guest, &link, "Mira", None).await;
    counsellor_admits_and_enters(&host, "Mira").await;
    sees_the_call(&guest).await;
    let code = both_show_the_same_code(&host, &guest).await;

    // "Stimmt nicht überein": read it again first; "Zurück" goes back.
    guest.click("[data-testid=sas-deny]").await;
    let recheck = guest
        .wait_until(
            "the request to read the number again",
            STEP,
            "const e = document.querySelector('[data-testid=sas-recheck]'); return e ? e.innerText : null",
        )
        .await;
    println!("{engine:?} guest after one tap on 'Stimmt nicht überein': {recheck}");
    assert!(
        recheck
            .as_str()
            .unwrap_or_default()
            .contains("noch einmal langsam"),
        "{recheck}"
    );
    guest
        .screenshot(&format!(
            "17-read-the-code-again-{}",
            format!("{engine:?}").to_lowercase()
        ))
        .await;
    guest.click("[data-testid=sas-deny-back]").await;
    guest
        .wait_until(
            "the code buttons again",
            STEP,
            "return document.querySelector('[data-testid=sas-confirm]') !== null",
        )
        .await;
    assert_eq!(
        shown_sas(&guest).await,
        code,
        "still in the call, same code"
    );

    // One tap on "Auflegen" asks once more; the call goes on meanwhile.
    guest.click("[data-testid=hang-up]").await;
    guest
        .wait_until(
            "'Wirklich auflegen?'",
            STEP,
            "const b = document.querySelector('[data-testid=hang-up]'); \
             return b && b.innerText.includes('Wirklich auflegen')",
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        host.eval("return document.querySelectorAll('[data-testid=participant]').length")
            .await,
        1,
        "one tap did not end the call"
    );
    // The second tap does.
    guest.click("[data-testid=hang-up]").await;
    host.wait_until(
        "the guest to be gone at the counsellor",
        STEP,
        "return document.querySelectorAll('[data-testid=participant]').length === 0",
    )
    .await;
    host.close().await;
    guest.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn no_single_tap_ends_the_call_in_chromium() {
    no_single_tap_ends_the_call(Engine::Chromium).await;
}

#[tokio::test]
#[ignore = "needs Firefox, geckodriver, Chromium and the built app: run `cargo xtask test`"]
async fn no_single_tap_ends_the_call_in_firefox() {
    no_single_tap_ends_the_call(Engine::Firefox).await;
}

/// RTP packets of `kind` this guest sent to the other guest so far (the
/// connection that is not the counsellor's, from the test build's report).
async fn sent_to_other_guest(guest: &Browser, kind: &str) -> f64 {
    let report = call_report(guest).await;
    let counsellor = report
        .get("counsellor_tag")
        .and_then(Value::as_str)
        .expect("the report names the counsellor's connection")
        .to_string();
    let peers = report
        .get("peers")
        .and_then(Value::as_object)
        .expect("the report lists the connections");
    let others: Vec<&Value> = peers
        .iter()
        .filter(|(tag, _)| **tag != counsellor)
        .map(|(_, stats)| stats)
        .collect();
    assert_eq!(
        others.len(),
        1,
        "one connection to the other guest: {report}"
    );
    others[0]
        .pointer(&format!("/out_{kind}/packetsSent"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

/// Safeguarding (separated parents in one session): the counsellor's tab is
/// gone (crash, closed laptop), her seat kept for the grace period. The two
/// guests do not go on as a group without her: each stops sending picture
/// and sound to the other (no renegotiation: its senders get no track, so
/// the packet counters stand still), the other's tile says it is paused,
/// the chat is paused, and a calm banner says the conversation goes on when
/// she is back.
#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn without_the_counsellor_the_guests_exchange_nothing() {
    let stage = Stage::start().await;
    let (host, alex, sam) = group_of_three(&stage, &stage.relay.http_url()).await;
    let before = sent_to_other_guest(&alex, "video").await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(
        sent_to_other_guest(&alex, "video").await > before,
        "Alex sends video to Sam while the counsellor is there"
    );
    host.close().await;
    for (who, guest) in [("Alex", &alex), ("Sam", &sam)] {
        guest
            .wait_until(
                &format!("{who} to be told the counsellor is away"),
                STEP,
                "return document.querySelector('[data-testid=counsellor-away]') !== null \
                   && document.querySelectorAll('[data-testid=participant-paused]').length === 1",
            )
            .await;
    }
    // Give the last packets in flight a moment, then nothing more flows.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    for (who, guest) in [("Alex", &alex), ("Sam", &sam)] {
        let (video, audio) = (
            sent_to_other_guest(guest, "video").await,
            sent_to_other_guest(guest, "audio").await,
        );
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert_eq!(
            (
                sent_to_other_guest(guest, "video").await,
                sent_to_other_guest(guest, "audio").await
            ),
            (video, audio),
            "{who} sends nothing to the other guest while the counsellor is away"
        );
    }
    alex.click("[data-testid=chat-toggle]").await;
    alex.wait_until(
        "the chat to say it is paused, its input disabled",
        STEP,
        "const i = document.querySelector('[data-testid=chat-input]'); \
         return document.querySelector('[data-testid=chat-paused]') !== null && i && i.disabled",
    )
    .await;
    alex.screenshot("19-counsellor-away-guest").await;
    alex.close().await;
    sam.close().await;
}

/// The counsellor's one way to end ("Gespräch beenden", confirmed once)
/// reaches every guest within two seconds, and no guest-to-guest
/// connection survives it: both guests' pages show the end, and their call
/// (every peer connection) is gone.
#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn the_counsellors_end_reaches_every_guest_within_two_seconds() {
    let stage = Stage::start().await;
    let (host, alex, sam) = group_of_three(&stage, &stage.relay.http_url()).await;
    host.click("[data-testid=end-for-all]").await;
    host.wait_until(
        "the end button to ask once more",
        STEP,
        "const b = document.querySelector('[data-testid=end-for-all]'); \
         return b !== null && b.textContent.includes('Wirklich')",
    )
    .await;
    assert!(
        !call_report(&alex).await.is_null(),
        "one click ended nothing"
    );
    host.click("[data-testid=end-for-all]").await;
    let clicked = std::time::Instant::now();
    for (who, guest) in [("Alex", &alex), ("Sam", &sam)] {
        guest
            .wait_until(
                &format!("{who} to see that the counsellor ended the session"),
                std::time::Duration::from_secs(2).saturating_sub(clicked.elapsed()),
                "const e = document.querySelector('[data-testid=failure]'); \
                 return e && e.dataset.kind === 'session-ended'",
            )
            .await;
    }
    for (who, guest) in [("Alex", &alex), ("Sam", &sam)] {
        assert!(
            call_report(guest).await.is_null(),
            "{who} has no call left: every peer connection is closed"
        );
    }
    host.close().await;
    alex.close().await;
    sam.close().await;
}

/// Nothing irreversible in one click, on the counsellor's side: "Ablehnen"
/// waits a few seconds with "Rückgängig" (taken back, the guest stays in
/// the waiting room and can be let in), and "Entfernen" asks once more.
#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn no_single_click_turns_away_or_removes_anyone() {
    let stage = Stage::start().await;
    let host = stage.person().await;
    let guest = stage.person().await;
    let link = counsellor_starts_session(&host, &stage.relay.http_url()).await;
    guest_knocks(&guest, &link, "Mira", None).await;
    host.wait_until(
        "Mira's knock",
        STEP,
        "return document.querySelector('[data-testid=knock-entry] [data-testid=reject]') !== null",
    )
    .await;
    host.click("[data-testid=knock-entry] [data-testid=reject]")
        .await;
    host.wait_until(
        "the decline to wait with a way to take it back",
        STEP,
        "return document.querySelector('[data-testid=declining]') !== null \
           && document.querySelector('[data-testid=undo-reject]') !== null",
    )
    .await;
    host.click("[data-testid=undo-reject]").await;
    // Past the grace time: Mira is still knocking, still waiting.
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(
        host.eval("return document.querySelectorAll('[data-testid=knock-entry] [data-testid=admit]').length")
            .await,
        1,
        "the knock is back with \"Hereinlassen\""
    );
    assert_eq!(
        guest
            .eval("return document.querySelector('[data-testid=waiting]') !== null")
            .await,
        true,
        "Mira was not turned away"
    );
    counsellor_admits_and_enters(&host, "Mira").await;
    sees_the_call(&guest).await;
    host.click("[data-testid=remove]").await;
    host.wait_until(
        "\"Entfernen\" to ask once more",
        STEP,
        "const b = document.querySelector('[data-testid=remove]'); \
         return b !== null && b.textContent.includes('Wirklich')",
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(
        guest
            .eval("return document.querySelector('[data-testid=failure]') === null")
            .await,
        true,
        "one click removed nobody"
    );
    host.click("[data-testid=remove]").await;
    guest
        .wait_until(
            "Mira to be told she was removed",
            STEP,
            "const e = document.querySelector('[data-testid=failure]'); \
             return e && e.dataset.kind === 'removed'",
        )
        .await;
    host.close().await;
    guest.close().await;
}

/// A way back in: when a guest leaves, the counsellor sees "Mira hat das
/// Gespräch verlassen." with "Neuen Link erstellen"; the new one-time link
/// is shown (and copied), and Mira knocks with it.
#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn a_guest_who_left_gets_a_new_link_from_the_notice() {
    let stage = Stage::start().await;
    let host = stage.person().await;
    let guest = stage.person().await;
    let link = counsellor_starts_session(&host, &stage.relay.http_url()).await;
    guest_knocks(&guest, &link, "Mira", None).await;
    counsellor_admits_and_enters(&host, "Mira").await;
    sees_the_call(&guest).await;
    guest_hangs_up(&guest).await;
    let notice = host
        .wait_until(
            "the notice that Mira left",
            STEP,
            "const n = document.querySelector('[data-testid=guest-left]'); return n ? n.innerText : null",
        )
        .await;
    assert!(
        notice
            .as_str()
            .unwrap_or_default()
            .contains("Mira hat das Gespräch verlassen"),
        "the notice names her: {notice}"
    );
    host.click("[data-testid=new-link-after-leave]").await;
    let new_link = host
        .wait_until(
            "the new link in the notice",
            STEP,
            "const i = document.querySelector('[data-testid=new-link]'); return i ? i.value : null",
        )
        .await;
    let new_link = new_link.as_str().expect("a link").to_string();
    assert_ne!(new_link, link, "a new one-time link");
    host.screenshot("20-guest-left-new-link").await;
    // She opens it as she would from a message (a fresh page load; a
    // fragment change alone would not reload the app).
    guest.goto("about:blank").await;
    guest_knocks(&guest, &new_link, "Mira", None).await;
    host.wait_until(
        "Mira's knock with the new link",
        STEP,
        "const e = document.querySelector('[data-testid=call] [data-testid=knock-entry]'); \
         return e !== null && e.innerText.includes('Mira')",
    )
    .await;
    host.close().await;
    guest.close().await;
}
