#![allow(clippy::expect_used)]
//! The page refuses to run files other than the ones it was built with
//! (issue 17, docs/VERIFY.md "What the page checks before it runs"), in
//! real Chromium and Firefox.
//!
//! A copy of the sealed test build is served by the real relay
//! (`--static-dir`) with one byte changed in one file: the frame-crypto
//! worker's WASM, the app's WASM, or the app's JS. The page must show its
//! refusal (German and English, naming the file), not run the app beside
//! it (no `#confide-app`, no start button, `window.wasmBindings` undefined)
//! and never create a peer connection. A changed app file is refused before
//! anything runs; the worker's files are checked once the app's WASM is in
//! (the app starts meanwhile but makes no worker), and a mismatch there
//! reloads the page into the refusal. In Chromium every `RTCPeerConnection` the page creates is
//! counted by a wrapper installed before the page's own scripts (CDP); the
//! control run shows that the wrapper does count the app's connections.
//! Firefox has no way to run a script before the page here (no CDP), so
//! there the app not starting is the proof: without the app nothing can
//! create a peer connection.
//!
//! The unchanged copy's start page also shows the first 16 hex digits of
//! the release digest that xtask's own code (`xtask/src/digest.rs`, included
//! here) computes for the served folder, and the full digest as its label.
//!
//! Like the other browser tests they need the built app and the browsers,
//! so they are `#[ignore]`d in a plain `cargo test`; `cargo xtask test` runs
//! them with `--ignored`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use confide_tests::browser::{Browser, BrowserEnv, BrowserOptions, Driver, Engine, TempDir};
use confide_tests::call::STEP;
use confide_tests::relay::TestRelay;
use serde_json::Value;

#[allow(dead_code)]
#[path = "../../xtask/src/digest.rs"]
mod digest;

/// Counts every `RTCPeerConnection` the page constructs (run before the page's scripts).
const COUNT_PEER_CONNECTIONS: &str = "(() => {
  window.__confidePeerConnections = 0;
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  const Counted = new Proxy(Native, {
    construct(target, args, newTarget) {
      window.__confidePeerConnections += 1;
      return Reflect.construct(target, args, newTarget);
    }
  });
  window.RTCPeerConnection = Counted;
  window.webkitRTCPeerConnection = Counted;
})();";

/// What the page shows when it refuses: the refusal box's text, or null.
const REFUSAL_TEXT: &str = "const e = document.querySelector('[role=alert].integrity-refusal'); \
     return e ? e.innerText : null";

/// Copies the test build in `env.dist` into a fresh folder; with `change`,
/// flips one bit of one byte (in the middle) of the first file whose name
/// `change` accepts, and returns that file's name too.
fn served_copy(env: &BrowserEnv, change: Option<&dyn Fn(&str) -> bool>) -> (TempDir, String) {
    let copy = TempDir::new("confide-integrity");
    let mut names: Vec<String> = std::fs::read_dir(&env.dist)
        .expect("the test build's folder")
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut changed = String::new();
    for name in &names {
        let mut bytes = std::fs::read(env.dist.join(name)).expect("a file of the test build");
        if changed.is_empty()
            && let Some(accepts) = change
            && accepts(name)
        {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
            changed = name.clone();
        }
        std::fs::write(copy.path.join(name), &bytes).expect("a file of the copy");
    }
    assert!(
        change.is_none() || !changed.is_empty(),
        "no file to change among {names:?}"
    );
    (copy, changed)
}

/// One person's browser of `engine`; Chromium counts peer connections.
async fn launch(env: &BrowserEnv, engine: Engine, chromedriver: &Driver) -> Browser {
    match engine {
        Engine::Chromium => {
            let browser = Browser::launch(env, chromedriver, BrowserOptions::default()).await;
            browser.before_every_page(COUNT_PEER_CONNECTIONS).await;
            browser
        }
        Engine::Firefox => Browser::launch_firefox(env, BrowserOptions::default()).await,
    }
}

/// How the refusal came: before the app ran (a file of the app), or after
/// it had started, by a reload into the refusal (a file of the worker, which
/// the page checks only once the app's WASM is in).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Found {
    BeforeStart,
    AfterStart,
}

/// Which page is opened: the relay's start page (the full app) or an
/// invite link (the guest's module; any fragment but a sign-in's picks it).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Page {
    Start,
    InviteLink,
}

impl Page {
    fn url(self, relay: &TestRelay) -> String {
        match self {
            Page::Start => relay.http_url(),
            // Not a valid invite: the guest's module shows "invalid link".
            Page::InviteLink => format!("{}#1not-a-real-invite", relay.http_url()),
        }
    }
}

/// Opens `page` in `engine` and checks the refusal naming `file`:
/// no app, no start button, no bindings, no peer connection.
async fn refuses(
    env: &BrowserEnv,
    driver: &Driver,
    dir: &Path,
    file: &str,
    engine: Engine,
    (page, found): (Page, Found),
) {
    let relay = TestRelay::start(Some(PathBuf::from(dir))).await;
    let browser = launch(env, engine, driver).await;
    browser.goto(&page.url(&relay)).await;
    let text = browser
        .wait_until(&format!("the refusal ({engine:?})"), STEP, REFUSAL_TEXT)
        .await;
    let text = text.as_str().unwrap_or_default().to_string();
    assert!(
        text.contains("confide startet nicht") && text.contains("confide refuses to start"),
        "{engine:?}: the refusal in German and English: {text}"
    );
    assert!(
        text.contains(file),
        "{engine:?}: the refusal names the changed file {file}: {text}"
    );
    // Whatever the page would do next has had time to happen.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let state = browser
        .eval(
            "return { \
               bindings: typeof window.wasmBindings, \
               app: document.getElementById('confide-app') !== null, \
               start: document.querySelector('[data-testid=start-session]') !== null, \
               refusal: document.querySelector('[role=alert].integrity-refusal') !== null, \
               navigation: performance.getEntriesByType('navigation')[0].type, \
               peers: window.__confidePeerConnections === undefined \
                 ? null : window.__confidePeerConnections }",
        )
        .await;
    assert_eq!(
        state.get("bindings").and_then(Value::as_str),
        Some("undefined"),
        "{engine:?}: the app's code never ran: {state}"
    );
    assert_eq!(
        state.get("app"),
        Some(&Value::Bool(false)),
        "{engine:?}: the app never mounted: {state}"
    );
    assert_eq!(
        state.get("start"),
        Some(&Value::Bool(false)),
        "{engine:?}: no start button: {state}"
    );
    assert_eq!(
        state.get("refusal"),
        Some(&Value::Bool(true)),
        "{engine:?}: the refusal stays: {state}"
    );
    // The page that shows the refusal was reloaded into it exactly when the
    // app had started before the mismatch was found.
    let expected = match found {
        Found::BeforeStart => "navigate",
        Found::AfterStart => "reload",
    };
    assert_eq!(
        state.get("navigation").and_then(Value::as_str),
        Some(expected),
        "{engine:?}: {found:?}: {state}"
    );
    if engine == Engine::Chromium {
        assert_eq!(
            state.get("peers").and_then(Value::as_u64),
            Some(0),
            "Chromium: no RTCPeerConnection was ever created: {state}"
        );
    }
    browser.close().await;
    relay
        .shutdown()
        .await
        .expect("the relay shuts down cleanly");
}

/// The control: the unchanged copy, served the same way, starts in both
/// browsers (the start button, the frame-crypto worker answers, the footer
/// shows the folder's release digest); in
/// Chromium the wrapper counts the peer connections of the test build's
/// loopback call, so a zero in the refusal tests means something.
#[tokio::test]
#[ignore = "needs Chromium, Firefox, their drivers and the built app: run `cargo xtask test`"]
async fn an_unchanged_copy_starts_in_chromium_and_firefox() {
    let env = BrowserEnv::from_env();
    let driver = Driver::start(&env).await;
    let (copy, _) = served_copy(&env, None);
    let (_, expected_digest) = digest::of_dir(&copy.path).expect("the copy's release digest");
    let relay = TestRelay::start(Some(copy.path.clone())).await;
    for engine in [Engine::Chromium, Engine::Firefox] {
        let browser = launch(&env, engine, &driver).await;
        browser.goto(&relay.counsellor_url()).await;
        browser
            .wait_until(
                &format!("the start button ({engine:?})"),
                STEP,
                "return document.querySelector('[data-testid=start-session]') !== null",
            )
            .await;
        browser
            .wait_until(
                &format!("the frame-crypto worker to answer ({engine:?})"),
                STEP,
                "const m = document.getElementById('confide-app'); \
                 return m && m.dataset.worker === 'ready'",
            )
            .await;
        let refusal = browser.eval(REFUSAL_TEXT).await;
        assert_eq!(refusal, Value::Null, "{engine:?}: no refusal");
        let release = browser
            .eval(
                "const e = document.querySelector('[data-testid=release]'); \
                 return e ? { text: e.textContent, label: e.getAttribute('aria-label') } : null",
            )
            .await;
        let text = release
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let label = release
            .get("label")
            .and_then(Value::as_str)
            .unwrap_or_default();
        assert!(
            text.contains(&format!("{} …", digest::short(&expected_digest)))
                && (text.contains("Prüfsumme") || text.contains("Checksum")),
            "{engine:?}: the start page shows the release digest {expected_digest}: {release}"
        );
        let words: Vec<&str> = label.split_whitespace().collect();
        assert_eq!(
            words[words.len().saturating_sub(16)..].concat(),
            expected_digest,
            "{engine:?}: the label carries the full digest: {release}"
        );
        if engine == Engine::Chromium {
            let started = browser
                .eval_async(
                    "const done = arguments[arguments.length - 1];
                     window.wasmBindings.confide_test_loopback({})
                       .then(p => done({ path: p }), e => done({ error: String(e) }));",
                )
                .await;
            assert!(
                started.get("path").is_some(),
                "the loopback call starts: {started}"
            );
            let peers = browser
                .wait_until(
                    "the wrapper to count the loopback call's peer connections",
                    STEP,
                    "return window.__confidePeerConnections >= 2 ? window.__confidePeerConnections : null",
                )
                .await;
            assert!(peers.as_u64().unwrap_or(0) >= 2, "counted: {peers}");
        }
        browser.close().await;
    }
    relay
        .shutdown()
        .await
        .expect("the relay shuts down cleanly");
}

/// Changes one byte in the first file of the test build whose name starts
/// with `prefix` and ends with `suffix`, and checks that both browsers
/// refuse it, `found` before or after the app's start.
async fn one_changed_byte_is_refused(prefix: &str, suffix: &str, page: Page, found: Found) {
    let env = BrowserEnv::from_env();
    let driver = Driver::start(&env).await;
    let chosen = |name: &str| name.starts_with(prefix) && name.ends_with(suffix);
    let (copy, file) = served_copy(&env, Some(&chosen));
    for engine in [Engine::Chromium, Engine::Firefox] {
        refuses(&env, &driver, &copy.path, &file, engine, (page, found)).await;
    }
}

/// One changed byte in the frame-crypto worker's WASM: both browsers refuse
/// (after a reload: the worker's files are checked once the app runs).
#[tokio::test]
#[ignore = "needs Chromium, Firefox, their drivers and the built app: run `cargo xtask test`"]
async fn one_changed_byte_in_the_worker_wasm_is_refused_in_chromium_and_firefox() {
    one_changed_byte_is_refused("confide-worker", ".wasm", Page::Start, Found::AfterStart).await;
}

/// One changed byte in the app's WASM (compiled while it downloads, run only
/// once its SHA-384 matches): both browsers refuse.
#[tokio::test]
#[ignore = "needs Chromium, Firefox, their drivers and the built app: run `cargo xtask test`"]
async fn one_changed_byte_in_the_app_wasm_is_refused_in_chromium_and_firefox() {
    one_changed_byte_is_refused("confide-client", ".wasm", Page::Start, Found::BeforeStart).await;
}

/// One changed byte in the app's JS module: both browsers refuse.
#[tokio::test]
#[ignore = "needs Chromium, Firefox, their drivers and the built app: run `cargo xtask test`"]
async fn one_changed_byte_in_the_app_js_is_refused_in_chromium_and_firefox() {
    one_changed_byte_is_refused("confide-client", ".js", Page::Start, Found::BeforeStart).await;
}

/// One changed byte in the guest's module (the app without the
/// counsellor's screens, loaded for invite links): an invite link is refused
/// in both browsers before anything runs.
#[tokio::test]
#[ignore = "needs Chromium, Firefox, their drivers and the built app: run `cargo xtask test`"]
async fn one_changed_byte_in_the_guest_module_is_refused_on_an_invite_link() {
    one_changed_byte_is_refused(
        "confide-guest",
        ".wasm",
        Page::InviteLink,
        Found::BeforeStart,
    )
    .await;
}

/// One changed byte in the guest's module's JS: an invite link is refused
/// in both browsers before anything runs.
#[tokio::test]
#[ignore = "needs Chromium, Firefox, their drivers and the built app: run `cargo xtask test`"]
async fn one_changed_byte_in_the_guest_modules_js_is_refused_on_an_invite_link() {
    one_changed_byte_is_refused("confide-guest", ".js", Page::InviteLink, Found::BeforeStart).await;
}

/// Waits until `ready` (JS) holds on `browser`'s page, then checks which
/// app modules that page fetched: `(the full app's, the guest's)`.
async fn loads(browser: &Browser, what: &str, ready: &str, expected: (bool, bool)) {
    browser.wait_until(what, STEP, ready).await;
    let names = browser
        .eval("return performance.getEntriesByType('resource').map(e => new URL(e.name).pathname)")
        .await;
    let names: Vec<&str> = names
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let any = |prefix: &str| names.iter().any(|n| n.starts_with(prefix));
    assert_eq!(
        (any("/confide-client-"), any("/confide-guest-")),
        expected,
        "{what}: (full app, guest's module) loaded: {names:?}"
    );
}

/// An invite link loads the guest's module and nothing of the full app (it
/// shows the guest's page for a broken link); a guest's reload (her tab's
/// snapshot, no fragment) loads the guest's module again (the snapshot here
/// only has her role, so the page then says it cannot rejoin; the real
/// rejoin through the guest's module is browser.rs's
/// `a_guest_who_reloads_the_page_rejoins_the_call`); a sign-in link opened
/// in that tab (only the fragment changes) reloads it into the full app,
/// which loads nothing of the guest's module.
#[tokio::test]
#[ignore = "needs Chromium, Firefox, their drivers and the built app: run `cargo xtask test`"]
async fn an_invite_link_loads_only_the_guests_module_in_chromium_and_firefox() {
    let env = BrowserEnv::from_env();
    let driver = Driver::start(&env).await;
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    for engine in [Engine::Chromium, Engine::Firefox] {
        let browser = launch(&env, engine, &driver).await;
        browser.goto(&Page::InviteLink.url(&relay)).await;
        loads(
            &browser,
            &format!("{engine:?}: an invite link (the guest's page for a broken link)"),
            "const m = document.getElementById('confide-app'); \
             return m && m.dataset.screen === 'failure' \
               && document.querySelector('[data-testid=quick-exit]') !== null",
            (false, true),
        )
        .await;

        // A guest's reload: the fragment is gone, her tab's snapshot stays.
        browser
            .eval(
                "sessionStorage.setItem('confide.session', '{\"role\":\"guest\"}'); \
                 return null",
            )
            .await;
        browser.goto(&Page::Start.url(&relay)).await;
        loads(
            &browser,
            &format!("{engine:?}: a guest's reload"),
            "const m = document.getElementById('confide-app'); return m && m.dataset.screen",
            (false, true),
        )
        .await;

        browser.goto(&relay.counsellor_url()).await;
        loads(
            &browser,
            &format!("{engine:?}: a sign-in link in that tab (the start button)"),
            "return document.querySelector('[data-testid=start-session]') !== null",
            (true, false),
        )
        .await;
        browser.close().await;
    }
    relay
        .shutdown()
        .await
        .expect("the relay shuts down cleanly");
}
