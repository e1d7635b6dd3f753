//! Steps of a real call, as people do them, in real browsers; and what to
//! measure in the page (decoded frames, picture brightness, chat, SAS).

use std::time::Duration;

use serde_json::Value;

use crate::browser::Browser;

/// How long a step of a call may take on a loaded 2-core machine.
pub const STEP: Duration = Duration::from_secs(30);

/// The counsellor opens confide and starts a session; returns the invite link.
pub async fn counsellor_starts_session(host: &Browser, relay_url: &str) -> String {
    host.goto(relay_url).await;
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

/// The counsellor admits the first knock and enters the call.
pub async fn counsellor_admits_and_enters(host: &Browser, expected_name: &str) {
    let entry = host
        .wait_until("a knock", STEP, "const e = document.querySelector('[data-testid=knock-entry]'); return e ? e.innerText : null")
        .await;
    assert!(
        entry.as_str().unwrap_or_default().contains(expected_name),
        "the knock shows the guest's name: {entry}"
    );
    host.click("[data-testid=admit]").await;
    host.wait_until(
        "the counsellor's camera check",
        STEP,
        "const b = document.querySelector('[data-testid=enter-call]'); return b && !b.disabled",
    )
    .await;
    host.click("[data-testid=enter-call]").await;
    host.wait_until(
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
    let value = browser
        .eval(
            "const v = document.querySelector('[data-testid=remote-video]'); \
             if (!v || !v.videoWidth) return [0, 0, 0]; \
             const c = document.createElement('canvas'); c.width = 64; c.height = 48; \
             const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 48); \
             const d = g.getImageData(0, 0, 64, 48).data; const s = [0, 0, 0]; \
             for (let i = 0; i < d.length; i += 4) { s[0] += d[i]; s[1] += d[i+1]; s[2] += d[i+2]; } \
             return s.map(x => x / (d.length / 4));",
        )
        .await;
    let channel = |i: usize| {
        value
            .get(i)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0)
    };
    [channel(0), channel(1), channel(2)]
}

/// Whether a picture has the look of Chromium's fake camera (mostly green).
/// Decoded ciphertext is black or grey noise, never this.
pub fn looks_like_fake_camera([r, g, b]: [f64; 3]) -> bool {
    g > 100.0 && g > r + 50.0 && g > b + 50.0
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
