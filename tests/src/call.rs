//! Steps of a real call, as people do them, in real browsers; and what to
//! measure in the page (decoded frames, picture brightness, chat, SAS).

use std::time::Duration;

use serde_json::Value;

use crate::browser::{Browser, BrowserEnv, BrowserOptions, Driver};
use crate::relay::TestRelay;

/// How long a step of a call may take on a loaded 2-core machine.
pub const STEP: Duration = Duration::from_secs(30);

/// The counsellor opens confide (signed in with the test counsellor's link,
/// as she does once on her device) and starts a session; returns the invite link.
pub async fn counsellor_starts_session(host: &Browser, relay_url: &str) -> String {
    host.goto(&crate::relay::counsellor_link(relay_url)).await;
    host.click("[data-testid=start-session]").await;
    let link = host
        .wait_until(
            "the invite link",
            STEP,
            "const e = document.querySelector('[data-testid=invite-link]'); return e && e.value.includes('#') ? e.value : null",
        )
        .await;
    link.as_str().unwrap_or_default().to_string()
}

/// The guest opens the link, reads the note, checks devices, types a name and
/// knocks; with `screenshot`, the device check is saved under that name.
pub async fn guest_knocks(guest: &Browser, link: &str, name: &str, screenshot: Option<&str>) {
    guest.goto(link).await;
    guest_continues_and_knocks(guest, name, screenshot).await;
}

/// From the guest's welcome page: reads the note, checks devices, types a
/// name and knocks (see [`guest_knocks`]).
pub async fn guest_continues_and_knocks(guest: &Browser, name: &str, screenshot: Option<&str>) {
    guest.click("[data-testid=continue]").await;
    guest
        .wait_until(
            "the camera preview",
            STEP,
            "const b = document.querySelector('[data-testid=knock]'); return b && !b.disabled",
        )
        .await;
    guest.type_into("[data-testid=guest-name]", name).await;
    if let Some(screenshot) = screenshot {
        guest.screenshot(screenshot).await;
    }
    guest.click("[data-testid=knock]").await;
    guest
        .wait_until(
            "the waiting screen",
            STEP,
            "return document.querySelector('[data-testid=waiting]') !== null",
        )
        .await;
}

/// The counsellor admits the first knock, which also brings her into the
/// call (as soon as her camera check is ready).
pub async fn counsellor_admits_and_enters(host: &Browser, expected_name: &str) {
    let entry = host
        .wait_until("a knock", STEP, "const e = document.querySelector('[data-testid=knock-entry]'); return e ? e.innerText : null")
        .await;
    assert!(
        entry.as_str().unwrap_or_default().contains(expected_name),
        "the knock shows the guest's name: {entry}"
    );
    host.click("[data-testid=admit]").await;
    sees_the_call(host).await;
}

/// Waits until `browser` shows the call screen.
pub async fn sees_the_call(browser: &Browser) {
    browser
        .wait_until(
            "the call screen",
            STEP,
            "return document.querySelector('[data-testid=call]') !== null",
        )
        .await;
}

/// Frames the remote `<video>` has presented so far (0 if none).
pub async fn remote_frames(browser: &Browser) -> u64 {
    browser
        .eval(
            "const v = document.querySelector('[data-testid=remote-video]'); \
             return v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().totalVideoFrames : 0",
        )
        .await
        .as_u64()
        .unwrap_or(0)
}

/// Mean red, green and blue (0–255) of the remote video's current picture; zeros when there is none.
pub async fn remote_rgb(browser: &Browser) -> [f64; 3] {
    received_rgb(browser).await.unwrap_or([0.0; 3])
}

/// Mean red, green and blue (0–255) of the remote video's current picture;
/// `None` while there is no element or no picture (so a hidden video never
/// passes for a black one).
pub async fn received_rgb(browser: &Browser) -> Option<[f64; 3]> {
    let value = browser
        .eval(
            "const v = document.querySelector('[data-testid=remote-video]'); \
             if (!v || !v.videoWidth) return null; \
             const c = document.createElement('canvas'); c.width = 64; c.height = 48; \
             const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 48); \
             const d = g.getImageData(0, 0, 64, 48).data; const s = [0, 0, 0]; \
             for (let i = 0; i < d.length; i += 4) { s[0] += d[i]; s[1] += d[i+1]; s[2] += d[i+2]; } \
             return s.map(x => x / (d.length / 4));",
        )
        .await;
    let channel = |i: usize| value.get(i).and_then(serde_json::Value::as_f64);
    Some([channel(0)?, channel(1)?, channel(2)?])
}

/// Whether a picture has the look of Chromium's fake camera (mostly green).
/// Decoded ciphertext is black or grey noise, never this.
pub fn looks_like_fake_camera([r, g, b]: [f64; 3]) -> bool {
    g > 100.0 && g > r + 50.0 && g > b + 50.0
}

/// A guest hangs up: "Auflegen", then "Wirklich auflegen?" (one tap alone
/// does not end the call).
pub async fn guest_hangs_up(guest: &Browser) {
    guest.click("[data-testid=hang-up]").await;
    guest
        .wait_until(
            "the hang-up button to ask once more",
            STEP,
            "const b = document.querySelector('[data-testid=hang-up]'); \
             return b && b.classList.contains('confirm')",
        )
        .await;
    guest.click("[data-testid=hang-up]").await;
}

/// Both people show the same 6-digit safety code; returns it.
pub async fn both_show_the_same_code(host: &Browser, guest: &Browser) -> String {
    let host_sas = shown_sas(host).await;
    let guest_sas = shown_sas(guest).await;
    assert_eq!(
        host_sas, guest_sas,
        "both browsers show the same safety code"
    );
    assert_eq!(host_sas.chars().filter(char::is_ascii_digit).count(), 6);
    host_sas
}

/// Every safety code the call screen shows.
pub async fn all_codes(browser: &Browser) -> Vec<String> {
    let codes = browser
        .wait_until(
            "the safety codes",
            STEP,
            "const c = [...document.querySelectorAll('[data-testid=sas]')].map(e => e.dataset.code); \
             return c.length ? c : null",
        )
        .await;
    codes
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The size of the (first) remote picture (`videoWidth` × `videoHeight`).
pub async fn remote_size(browser: &Browser) -> (u64, u64) {
    let size = browser
        .eval(
            "const v = document.querySelector('[data-testid=remote-video]'); \
             return v ? [v.videoWidth, v.videoHeight] : [0, 0]",
        )
        .await;
    let at = |i: usize| size.get(i).and_then(Value::as_u64).unwrap_or(0);
    (at(0), at(1))
}

/// From inside the call, the counsellor makes one more invite link and
/// closes the panel again (with `screenshot`, the open panel is saved under
/// that name first); returns the link.
pub async fn counsellor_invites_from_the_call(host: &Browser, screenshot: Option<&str>) -> String {
    host.click("[data-testid=invite-in-call]").await;
    host.click("[data-testid=invite-panel] [data-testid=invite-more]")
        .await;
    let link = host
        .wait_until(
            "a new link in the call's invite panel",
            STEP,
            "const l = document.querySelector('[data-testid=invite-panel] [data-testid=invite-link]'); \
             return l ? l.value : null",
        )
        .await;
    if let Some(screenshot) = screenshot {
        host.screenshot(screenshot).await;
    }
    host.click("[data-testid=invite-close]").await;
    link.as_str().unwrap_or_default().to_string()
}

/// The counsellor, in the call, lets in the guest who knocks (named
/// `expected_name`) and confirms every code, so that in a group the guests
/// meet each other (`codes`: how many codes she compares by then).
pub async fn counsellor_admits_in_the_call(host: &Browser, expected_name: &str, codes: usize) {
    let knock = host
        .wait_until(
            &format!("{expected_name}'s knock inside the call"),
            STEP,
            "const e = document.querySelector('[data-testid=call] [data-testid=knock-entry]'); \
             return e ? e.innerText : null",
        )
        .await;
    assert!(
        knock.as_str().unwrap_or_default().contains(expected_name),
        "the knock names {expected_name}: {knock}"
    );
    host.click("[data-testid=call] [data-testid=admit]").await;
    counsellor_confirms_every_code(host, codes).await;
}

/// The counsellor confirms every safety code her call screen still asks
/// about ("Code stimmt überein"), as she does after reading each one aloud
/// with its guest. In a group, guests meet each other only after that
/// (docs/PROTOCOL.md, admission after confirmation); returns how many she
/// confirmed.
pub async fn counsellor_confirms_every_code(host: &Browser, expected: usize) -> usize {
    let mut confirmed = 0;
    let deadline = std::time::Instant::now() + STEP;
    while confirmed < expected {
        assert!(
            std::time::Instant::now() < deadline,
            "the counsellor confirmed {confirmed} of {expected} codes; no more to confirm"
        );
        let clicked = host
            .eval(
                "const b = document.querySelector('[data-testid=sas-confirm]'); \
                 if (!b) return false; b.click(); return true",
            )
            .await;
        if clicked == Value::Bool(true) {
            confirmed += 1;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    confirmed
}

/// The safety code shown on the call screen.
pub async fn shown_sas(browser: &Browser) -> String {
    let code = browser
        .wait_until(
            "the safety code",
            STEP,
            "const e = document.querySelector('[data-testid=sas]'); return e ? e.dataset.code : null",
        )
        .await;
    match code {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Sends a chat line through the call screen's chat panel.
pub async fn send_chat(browser: &Browser, text: &str) {
    let open = browser
        .eval("return document.querySelector('[data-testid=chat-input]') !== null")
        .await;
    if open != Value::Bool(true) {
        browser.click("[data-testid=chat-toggle]").await;
    }
    browser.type_into("[data-testid=chat-input]", text).await;
    browser.click("[data-testid=chat-send]").await;
}

/// Waits until the chat log shows `text`.
pub async fn sees_chat(browser: &Browser, text: &str) {
    let open = browser
        .eval("return document.querySelector('[data-testid=chat-log]') !== null")
        .await;
    if open != Value::Bool(true) {
        browser.click("[data-testid=chat-toggle]").await;
    }
    let script = format!(
        "const e = document.querySelector('[data-testid=chat-log]'); return e && e.innerText.includes({})",
        serde_json::to_string(text).unwrap_or_default()
    );
    browser
        .wait_until(&format!("the chat line {text:?}"), STEP, &script)
        .await;
}

/// Sums a numeric inbound/outbound stat over all peers of the live call
/// (e.g. `("in_audio", "packetsReceived")`), through the test build's hook.
pub async fn call_stat(browser: &Browser, group: &str, name: &str) -> f64 {
    let script = format!(
        "const done = arguments[arguments.length - 1]; \
         window.wasmBindings.confide_call_report().then(r => {{ \
           let sum = 0; for (const p of Object.values(r.peers)) {{ const g = p && p['{group}']; if (g && g['{name}']) sum += g['{name}']; }} \
           done(sum); }}).catch(() => done(-1));"
    );
    browser.eval_async(&script).await.as_f64().unwrap_or(-1.0)
}

/// The whole report of the test build's `confide_call_report()` hook
/// (`Null` when there is no call).
pub async fn call_report(browser: &Browser) -> Value {
    browser
        .eval_async(
            "const done = arguments[arguments.length - 1]; \
             window.wasmBindings.confide_call_report().then(done).catch(() => done(null));",
        )
        .await
}

/// Sums one counter (`ok`, `skipped`) of this browser's frame-crypto worker
/// over every stream of `direction` (`send`/`recv`) and `kind` (`audio`/`video`).
pub fn worker_frames(report: &Value, direction: &str, kind: &str, counter: &str) -> u64 {
    report
        .pointer("/worker/streams")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| {
            s.get("direction").and_then(Value::as_str) == Some(direction)
                && s.get("kind").and_then(Value::as_str) == Some(kind)
        })
        .filter_map(|s| s.get(counter).and_then(Value::as_u64))
        .sum()
}

/// The key id this browser encrypts its frames with now (test build hook); `None` before the first key.
pub async fn sender_kid(browser: &Browser) -> Option<u64> {
    browser
        .eval_async(
            "const done = arguments[arguments.length - 1]; \
             window.wasmBindings.confide_call_report().then(r => done(r.sender_kid)).catch(() => done(null));",
        )
        .await
        .as_u64()
}

/// JavaScript: the frames the `<video>` in `v` has shown. Chromium counts them
/// in `getVideoPlaybackQuality()`; Firefox (ESR 153) leaves that at 0 for a
/// `MediaStream` source and counts them in `mozPaintedFrames`.
pub const SHOWN_FRAMES_JS: &str = "(v ? Math.max(\
     (v.getVideoPlaybackQuality && v.getVideoPlaybackQuality().totalVideoFrames) || 0, \
     v.mozPaintedFrames || 0) : 0)";

/// Frames the first `<video>` matching `css` has shown (0 if none), in Chromium and Firefox.
pub async fn shown_frames(browser: &Browser, css: &str) -> u64 {
    let script = format!(
        "const v = document.querySelector({}); return {SHOWN_FRAMES_JS};",
        serde_json::to_string(css).unwrap_or_default()
    );
    browser.eval(&script).await.as_u64().unwrap_or(0)
}

/// Colour statistics of a video's current picture.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Picture {
    /// Mean red, green and blue (0–255).
    pub rgb: [f64; 3],
    /// Mean absolute deviation of the pixels from that mean (0 = one uniform colour).
    pub spread: f64,
    /// The video's own width (0 when it has no picture yet).
    pub width: u64,
}

impl Picture {
    /// Euclidean distance of the mean colours.
    pub fn colour_distance(&self, other: &Picture) -> f64 {
        distance(self.rgb, other.rgb)
    }
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// The current picture of the first `<video>` matching `css` (zeros when there is none).
pub async fn picture(browser: &Browser, css: &str) -> Picture {
    let script = format!(
        "const v = document.querySelector({}); \
         if (!v || !v.videoWidth) return null; \
         const c = document.createElement('canvas'); c.width = 64; c.height = 48; \
         const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 48); \
         const d = g.getImageData(0, 0, 64, 48).data; const n = d.length / 4; const m = [0, 0, 0]; \
         for (let i = 0; i < d.length; i += 4) {{ m[0] += d[i]; m[1] += d[i+1]; m[2] += d[i+2]; }} \
         for (let k = 0; k < 3; k++) m[k] /= n; \
         let dev = 0; for (let i = 0; i < d.length; i += 4) \
           dev += (Math.abs(d[i] - m[0]) + Math.abs(d[i+1] - m[1]) + Math.abs(d[i+2] - m[2])) / 3; \
         return {{ rgb: m, spread: dev / n, width: v.videoWidth }};",
        serde_json::to_string(css).unwrap_or_default()
    );
    let value = browser.eval(&script).await;
    let channel = |i: usize| {
        value
            .pointer(&format!("/rgb/{i}"))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    Picture {
        rgb: [channel(0), channel(1), channel(2)],
        spread: value.get("spread").and_then(Value::as_f64).unwrap_or(0.0),
        width: value.get("width").and_then(Value::as_u64).unwrap_or(0),
    }
}

/// How far (Euclidean, RGB) a colour is from every colour Firefox's fake
/// camera (`media.navigator.streams.fake`) shows. That camera paints one
/// uniform colour with Y' = 128 whose Cb and Cr walk around the edge of the
/// square 16..=240 one step per frame (green, cyan, blue, magenta, red, ...);
/// measured here through BT.601 limited-range conversion, both in Firefox's
/// own preview and in the decoded video Chromium and Firefox show.
pub fn firefox_fake_camera_distance(rgb: [f64; 3]) -> f64 {
    let colour = |cb: f64, cr: f64| {
        let y = 1.164 * (128.0 - 16.0);
        [
            y + 1.596 * (cr - 128.0),
            y - 0.392 * (cb - 128.0) - 0.813 * (cr - 128.0),
            y + 2.017 * (cb - 128.0),
        ]
        .map(|c: f64| c.clamp(0.0, 255.0))
    };
    (16..=240)
        .map(f64::from)
        .flat_map(|t| {
            [
                colour(t, 16.0),
                colour(240.0, t),
                colour(t, 240.0),
                colour(16.0, t),
            ]
        })
        .map(|c| distance(c, rgb))
        .fold(f64::INFINITY, f64::min)
}

/// Whether a picture has the look of Firefox's fake camera: one uniform
/// colour on its colour path (see [`firefox_fake_camera_distance`]). Black is
/// far from that path; decoded ciphertext is grey or blocky noise, not uniform.
pub fn looks_like_firefox_fake_camera(picture: &Picture) -> bool {
    picture.width > 0 && picture.spread < 12.0 && firefox_fake_camera_distance(picture.rgb) < 15.0
}

/// What every browser test stands on: the real relay serving the test build
/// on loopback, and one ChromeDriver for its browsers. Keep it alive as long
/// as the browsers.
pub struct Stage {
    pub env: BrowserEnv,
    pub driver: Driver,
    pub relay: TestRelay,
}

impl Stage {
    pub async fn start() -> Stage {
        let env = BrowserEnv::from_env();
        let relay = TestRelay::start(Some(env.dist.clone())).await;
        let driver = Driver::start(&env).await;
        Stage { env, driver, relay }
    }

    /// Another person: a new headless Chromium with its own profile and a
    /// fake camera and microphone.
    pub async fn person(&self) -> Browser {
        Browser::launch(&self.env, &self.driver, BrowserOptions::default()).await
    }
}

/// A counsellor (on `relay_url`, the relay or a proxy in front of it),
/// Alex and Sam in one call, the counsellor having confirmed both codes;
/// returns once every one of them decodes both others' video.
pub async fn group_of_three(stage: &Stage, relay_url: &str) -> (Browser, Browser, Browser) {
    let host = stage.person().await;
    let alex = stage.person().await;
    let sam = stage.person().await;
    let link_one = counsellor_starts_session(&host, relay_url).await;
    guest_knocks(&alex, &link_one, "Alex", None).await;
    counsellor_admits_and_enters(&host, "Alex").await;
    let link_two = counsellor_invites_from_the_call(&host, None).await;
    guest_knocks(&sam, &link_two, "Sam", None).await;
    counsellor_admits_in_the_call(&host, "Sam", 2).await;
    for (who, browser) in [("counsellor", &host), ("Alex", &alex), ("Sam", &sam)] {
        browser
            .wait_until(
                &format!("two decoding remote videos at {who}"),
                STEP * 3,
                "return [...document.querySelectorAll('[data-testid=remote-video]')] \
                   .filter(v => v.getVideoPlaybackQuality().totalVideoFrames > 5).length >= 2",
            )
            .await;
    }
    (host, alex, sam)
}

/// Everything a 1:1 call test needs, started: the stage, and a counsellor
/// and a guest (named `name`) who are in the call.
pub struct OneToOne {
    pub host: Browser,
    pub guest: Browser,
    /// The invite link the guest used.
    pub link: String,
    pub stage: Stage,
}

/// Starts a relay and two browsers and runs knock and admission as people do.
pub async fn one_to_one(name: &str) -> OneToOne {
    let stage = Stage::start().await;
    let host = stage.person().await;
    let guest = stage.person().await;
    let link = counsellor_starts_session(&host, &stage.relay.http_url()).await;
    guest_knocks(&guest, &link, name, None).await;
    counsellor_admits_and_enters(&host, name).await;
    OneToOne {
        host,
        guest,
        link,
        stage,
    }
}
