#![allow(clippy::expect_used)]
//! "du" or "Sie" per link, and the counsellor's own name (issue 16 item 10),
//! in real browsers against the real relay.
//!
//! - **A du link.** The counsellor gives herself a name on her start page
//!   ("Frau Berger"), starts a session and sets "Anrede im Link" to "du":
//!   her link now ends with `.du`. The guest's welcome, device check and
//!   waiting pages say "du" and no "Sie"; in the call her tile, the safety
//!   code's lead and her chat line carry the counsellor's name; switching
//!   to English and back keeps "du". Chromium counsellor with a Firefox
//!   guest, and the other way round.
//! - **A Sie link and a planned du session.** The counsellor plans a session
//!   with "du" through the form: its link says so and keeps it over a
//!   reload, and the form starts with her last choice. Then she starts a
//!   session, switches its link back to "Sie": the guest's pages say "Sie",
//!   and without a name her tile says "Beratung".
//!
//! Screenshots: 45-du-welcome-phone, 46-counsellor-name-in-call-phone,
//! 47-new-link-with-address-choice (each also at desktop size).
//!
//! Like the other browser tests: `#[ignore]`d in a plain `cargo test`, run
//! by `cargo xtask test`.

use confide_tests::browser::{Browser, BrowserEnv, BrowserOptions, Driver};
use confide_tests::call::*;
use confide_tests::relay::TestRelay;
use serde_json::Value;

/// Forms of "Sie" as whole words (capitalised: "she" is lower case inside
/// a sentence; none of the pages checked here starts a sentence with "Sie"
/// meaning "she").
const SIE_FORMS: &str =
    r"/(^|[^\wäöüÄÖÜß])(Sie|Ihnen|Ihr|Ihre|Ihrem|Ihren|Ihrer|Ihres)(?![\wäöüÄÖÜß])/";

/// The text of the app's page (not the top bar).
async fn page_text(browser: &Browser) -> String {
    browser
        .eval("return document.querySelector('#confide-app').innerText")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The page says `expected` and addresses nobody with "Sie".
async fn says_du(browser: &Browser, page: &str, expected: &str) {
    let text = page_text(browser).await;
    assert!(text.contains(expected), "{page}: {text}");
    let sie = browser
        .eval(&format!(
            "const m = document.querySelector('#confide-app').innerText.match({SIE_FORMS}); \
             return m ? m[0] : null"
        ))
        .await;
    assert_eq!(sie, Value::Null, "{page} says {sie}: {text}");
}

/// Saves `name` at the desktop size and `name-phone` at 390 × 844
/// (Chromium's device emulation).
async fn desktop_and_phone(browser: &Browser, name: &str) {
    browser.screenshot(name).await;
    browser
        .cdp(
            "Emulation.setDeviceMetricsOverride",
            serde_json::json!({ "width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": true }),
        )
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    browser.screenshot(&format!("{name}-phone")).await;
    browser
        .cdp(
            "Emulation.clearDeviceMetricsOverride",
            serde_json::json!({}),
        )
        .await;
}

/// The link shown on the invite page (or in the call's invite panel).
async fn link_ending(host: &Browser, what: &str, du: bool) -> String {
    let script = format!(
        "const e = document.querySelector('[data-testid=invite-link]'); \
         return e && e.value.includes('#') && e.value.endsWith('.du') === {du} ? e.value : null"
    );
    host.wait_until(what, STEP, &script)
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn a_du_link_says_du(
    host: &Browser,
    guest: &Browser,
    relay: &TestRelay,
    chromium_host: bool,
) {
    // Her name for guests, on her start page (kept on her device).
    host.goto(&relay.counsellor_url()).await;
    host.type_into("[data-testid=own-name]", "Frau Berger")
        .await;
    // Kept, for this sign-in, on her device.
    host.wait_until(
        "her name kept on her device",
        STEP,
        "return Object.keys(localStorage).some(k => k.startsWith('confide.name.') \
           && localStorage.getItem(k) === 'Frau Berger')",
    )
    .await;
    host.click("[data-testid=start-session]").await;
    let sie_link = link_ending(host, "the first link (Sie)", false).await;
    host.click("[data-testid=address-du]").await;
    let link = link_ending(host, "the same link with du", true).await;
    // The same secret, only the marker differs.
    assert_eq!(link, format!("{sie_link}.du"));
    if chromium_host {
        desktop_and_phone(host, "47-new-link-with-address-choice").await;
    }

    guest.goto(&link).await;
    guest
        .wait_until(
            "the welcome page",
            STEP,
            "return document.querySelector('[data-testid=continue]') !== null",
        )
        .await;
    says_du(
        guest,
        "welcome",
        "Du wurdest zu einem vertraulichen Videogespräch eingeladen",
    )
    .await;
    if !chromium_host {
        desktop_and_phone(guest, "45-du-welcome").await;
    }
    guest.click("[data-testid=continue]").await;
    guest
        .wait_until(
            "the camera preview",
            STEP,
            "const b = document.querySelector('[data-testid=knock]'); return b && !b.disabled",
        )
        .await;
    says_du(guest, "device check", "Diese Vorschau siehst nur du").await;
    guest.type_into("[data-testid=guest-name]", "Mira").await;
    guest.click("[data-testid=knock]").await;
    guest
        .wait_until(
            "the waiting screen",
            STEP,
            "return document.querySelector('[data-testid=waiting]') !== null",
        )
        .await;
    says_du(guest, "waiting", "Du hast angeklopft").await;

    counsellor_admits_and_enters(host, "Mira").await;
    sees_the_call(guest).await;
    // Her name, from her own channel: on her tile and in the code's lead.
    guest
        .wait_until(
            "the counsellor's name on her tile",
            STEP,
            "return [...document.querySelectorAll('.tile-name')].some(e => e.innerText.includes('Frau Berger'))",
        )
        .await;
    let lead = guest
        .wait_until(
            "the safety code's lead",
            STEP,
            "const e = document.querySelector('[data-testid=sas-lead]'); return e ? e.innerText : null",
        )
        .await;
    assert!(
        lead.as_str()
            .unwrap_or_default()
            .contains("Frau Berger fragt dich gleich nach dieser Zahl"),
        "{lead}"
    );
    // The counsellor's own screen says "Sie" (her UI), never "du".
    let host_lead = host
        .wait_until(
            "the counsellor's lead",
            STEP,
            "const e = document.querySelector('[data-testid=sas-lead]'); return e ? e.innerText : null",
        )
        .await;
    assert!(
        host_lead
            .as_str()
            .unwrap_or_default()
            .contains("Bitten Sie"),
        "{host_lead}"
    );

    send_chat(host, "Hallo Mira, schön, dass du da bist.").await;
    sees_chat(guest, "schön, dass du da bist").await;
    let line = guest
        .eval(
            "const l = [...document.querySelectorAll('[data-testid=chat-line]')].pop(); \
             return l ? l.innerText : null",
        )
        .await;
    assert!(
        line.as_str().unwrap_or_default().contains("Frau Berger"),
        "{line}"
    );
    if !chromium_host {
        desktop_and_phone(guest, "46-counsellor-name-in-call").await;
    }

    // The call's invite dialog offers the same choice, and a new link there
    // follows her last one (du).
    host.click("[data-testid=invite-in-call]").await;
    host.click("[data-testid=invite-panel] [data-testid=invite-more]")
        .await;
    let more = host
        .wait_until(
            "a new link in the call's invite dialog",
            STEP,
            &format!(
                "const l = [...document.querySelectorAll('[data-testid=invite-panel] [data-testid=invite-link]')] \
                   .map(e => e.value).filter(v => v !== {}); return l.length ? l : null",
                serde_json::to_string(&link).unwrap_or_default()
            ),
        )
        .await;
    let more: Vec<&str> = more
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(more.iter().all(|l| l.ends_with(".du")), "{more:?}");
    assert_eq!(
        host.eval(
            "return document.querySelector('[data-testid=invite-panel] [data-testid=address-du]').checked"
        )
        .await,
        Value::Bool(true)
    );
    host.click("[data-testid=invite-close]").await;

    // English and back: still "du".
    guest.click("[data-testid=lang-switch]").await;
    guest
        .wait_until(
            "the English lead",
            STEP,
            "const e = document.querySelector('[data-testid=sas-lead]'); \
             return e && e.innerText.includes('will ask you') ? e.innerText : null",
        )
        .await;
    guest.click("[data-testid=lang-switch]").await;
    guest
        .wait_until(
            "du again after switching back",
            STEP,
            "const e = document.querySelector('[data-testid=sas-lead]'); \
             return e && e.innerText.includes('fragt dich') ? e.innerText : null",
        )
        .await;
}

#[tokio::test]
#[ignore = "needs a browser; run with cargo xtask test"]
async fn a_du_link_from_chromium_says_du_to_a_guest_in_firefox() {
    let env = BrowserEnv::from_env();
    env.require_firefox();
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    let guest = Browser::launch_firefox(&env, BrowserOptions::default()).await;
    a_du_link_says_du(&host, &guest, &relay, true).await;
}

#[tokio::test]
#[ignore = "needs a browser; run with cargo xtask test"]
async fn a_du_link_from_firefox_says_du_to_a_guest_in_chromium() {
    let env = BrowserEnv::from_env();
    env.require_firefox();
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let driver = Driver::start(&env).await;
    let host = Browser::launch_firefox(&env, BrowserOptions::default()).await;
    let guest = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    a_du_link_says_du(&host, &guest, &relay, false).await;
}

#[tokio::test]
#[ignore = "needs a browser; run with cargo xtask test"]
async fn a_planned_du_session_keeps_its_choice_and_a_sie_link_says_sie() {
    let env = BrowserEnv::from_env();
    env.require_firefox();
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    let guest = Browser::launch_firefox(&env, BrowserOptions::default()).await;

    // Plan tomorrow 10:00 with "du".
    host.goto(&relay.counsellor_url()).await;
    host.click("[data-testid=plan-session]").await;
    let checked = host
        .eval("return document.querySelector('[data-testid=address-sie]').checked")
        .await;
    assert_eq!(checked, Value::Bool(true), "Sie unless she chose du before");
    host.eval(
        "const d = new Date(Date.now() + 86400000); const two = n => String(n).padStart(2, '0'); \
         document.querySelector('[data-testid=plan-day]').value = \
           d.getFullYear() + '-' + two(d.getMonth() + 1) + '-' + two(d.getDate()); \
         document.querySelector('[data-testid=plan-time]').value = '10:00'; return true",
    )
    .await;
    host.click("[data-testid=address-du]").await;
    host.click("[data-testid=plan-submit]").await;
    let planned = "const e = document.querySelector('[data-testid=planned-link]'); \
                   return e && e.value.includes('#2') ? e.value : null";
    let link = host.wait_until("the planned link", STEP, planned).await;
    assert!(link.as_str().unwrap_or_default().ends_with(".du"), "{link}");
    // After a reload: the same link, still du; the form starts with du.
    host.goto(&relay.http_url()).await;
    let again = host
        .wait_until("the planned link after a reload", STEP, planned)
        .await;
    assert_eq!(again, link);
    host.click("[data-testid=plan-session]").await;
    let checked = host
        .eval("return document.querySelector('[data-testid=address-du]').checked")
        .await;
    assert_eq!(checked, Value::Bool(true), "her last choice is remembered");

    // A session now: its link starts as du (her last choice); she sets Sie.
    host.click("[data-testid=start-session]").await;
    let du_link = link_ending(&host, "the first link (du, her last choice)", true).await;
    host.click("[data-testid=address-sie]").await;
    let link = link_ending(&host, "the same link with Sie", false).await;
    assert_eq!(format!("{link}.du"), du_link);

    guest.goto(&link).await;
    guest
        .wait_until(
            "the welcome page",
            STEP,
            "return document.querySelector('[data-testid=continue]') !== null",
        )
        .await;
    let text = page_text(&guest).await;
    assert!(
        text.contains("Sie wurden zu einem vertraulichen Videogespräch eingeladen"),
        "{text}"
    );
    guest_continues_and_knocks(&guest, "Kim", None).await;
    let text = page_text(&guest).await;
    assert!(text.contains("Sie haben angeklopft"), "{text}");
    counsellor_admits_and_enters(&host, "Kim").await;
    sees_the_call(&guest).await;
    // No name given: "Beratung", and the lead says "Ihre Beratung".
    let lead = guest
        .wait_until(
            "the safety code's lead",
            STEP,
            "const e = document.querySelector('[data-testid=sas-lead]'); return e ? e.innerText : null",
        )
        .await;
    assert!(
        lead.as_str()
            .unwrap_or_default()
            .contains("Ihre Beratung fragt Sie gleich"),
        "{lead}"
    );
    guest
        .wait_until(
            "'Beratung' on the counsellor's tile",
            STEP,
            "return [...document.querySelectorAll('.tile-name')].some(e => e.innerText.trim() === 'Beratung')",
        )
        .await;
}
