//! Calls between people in different browsers: every counsellor × guest
//! pairing of Chromium and Firefox goes through [`one_to_one_call`], so each
//! pairing is checked the same way (picture both ways, the same safety code,
//! audio, the encrypted indicator, chat).
// Test helpers: a missing precondition is a failed test, said plainly.
#![allow(clippy::expect_used)]

use std::time::Duration;

use serde_json::Value;

use crate::browser::{Browser, BrowserEnv, BrowserOptions, Driver, Engine};
use crate::call::*;
use crate::relay::TestRelay;

pub const REMOTE_VIDEO: &str = "[data-testid=remote-video]";
pub const LOCAL_VIDEO: &str = "[data-testid=local-video]";

/// Starts one person's browser: Chromium on the shared ChromeDriver, Firefox
/// with a geckodriver of its own (geckodriver serves one session).
pub async fn launch(env: &BrowserEnv, engine: Engine, chromedriver: Option<&Driver>) -> Browser {
    match engine {
        Engine::Chromium => {
            let driver = chromedriver.expect("a ChromeDriver for the Chromium person");
            Browser::launch(env, driver, BrowserOptions::default()).await
        }
        Engine::Firefox => Browser::launch_firefox(env, BrowserOptions::default()).await,
    }
}

pub fn name(engine: Engine) -> &'static str {
    match engine {
        Engine::Chromium => "Chromium",
        Engine::Firefox => "Firefox",
    }
}

/// What the browser offers for frame encryption.
pub async fn transform_apis(browser: &Browser) -> Value {
    browser
        .eval(
            "return { script: typeof RTCRtpScriptTransform === 'function', \
                      legacy: typeof RTCRtpSender !== 'undefined' && 'createEncodedStreams' in RTCRtpSender.prototype, \
                      ua: navigator.userAgent };",
        )
        .await
}

/// `viewer` sees `sender`'s camera live, sampled every 200 ms for 5 s: every
/// remote picture has the look of the sender's fake camera.
///
/// From Chromium it must also have the colour the sender's own preview showed
/// during the 2.5 s before. From Firefox that comparison is meaningless:
/// Firefox's fake camera restarts its colour walk whenever the page asks for
/// the camera again, and an older `<video>` of it can stop updating (measured
/// in ESR 153: two `getUserMedia` calls 2 s apart, the first element stayed
/// green while the second stream and a clone of the first moved on together),
/// so the preview and the sent track need not be in step. Instead the picture
/// must lie on the fake camera's colour path and keep moving along it (a
/// frozen picture would not).
pub async fn sees_the_live_picture(viewer: (&str, &Browser), sender: (&str, &Browser)) {
    let (viewer_name, viewer) = viewer;
    let (sender_name, sender) = sender;
    let window = Duration::from_millis(2500);
    let begin = std::time::Instant::now();
    let mut previews: Vec<(Duration, Picture)> = Vec::new();
    let mut remotes: Vec<(Duration, Picture)> = Vec::new();
    while begin.elapsed() < window * 2 {
        previews.push((begin.elapsed(), picture(sender, LOCAL_VIDEO).await));
        remotes.push((begin.elapsed(), picture(viewer, REMOTE_VIDEO).await));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (at, remote) in &remotes {
        let looks_right = match sender.engine {
            Engine::Chromium => looks_like_fake_camera(remote.rgb),
            Engine::Firefox => looks_like_firefox_fake_camera(remote),
        };
        assert!(
            looks_right,
            "the {viewer_name} sees the {sender_name}'s camera ({} fake camera), \
             not black or noise, at {at:?}: {remote:?} (distance to Firefox's fake colours {:.1})",
            name(sender.engine),
            firefox_fake_camera_distance(remote.rgb)
        );
    }
    let moved = remotes
        .iter()
        .flat_map(|(_, a)| remotes.iter().map(move |(_, b)| a.colour_distance(b)))
        .fold(0.0, f64::max);
    println!(
        "{viewer_name} sees {sender_name}: {} pictures, colour moved by up to {moved:.1}; last {:?}",
        remotes.len(),
        remotes.last().map(|(_, p)| p)
    );
    match sender.engine {
        Engine::Chromium => {
            for (at, remote) in remotes.iter().filter(|(at, _)| *at >= window) {
                let (distance, seen) = previews
                    .iter()
                    .filter(|(when, _)| *when + window >= *at && *when <= *at)
                    .map(|(when, preview)| (remote.colour_distance(preview), (when, preview)))
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .expect("previews before each remote picture");
                assert!(
                    distance < 25.0,
                    "the {viewer_name}'s picture at {at:?} ({remote:?}) has a colour the \
                     {sender_name}'s own preview did not show shortly before \
                     (nearest {distance:.1}: {seen:?})"
                );
            }
        }
        Engine::Firefox => assert!(
            moved > 20.0,
            "the {viewer_name}'s picture of the {sender_name} is live: its colour moved by {moved:.1}"
        ),
    }
}

/// A 1:1 call between two browsers, running: what [`one_to_one_call`]
/// leaves for a test to go on with. Keep it alive as long as the browsers.
pub struct MixedCall {
    pub host: Browser,
    pub guest: Browser,
    pub relay: TestRelay,
    pub chromedriver: Option<Driver>,
}

/// A 1:1 call as people do it: the counsellor in `host_engine`, the guest in
/// `guest_engine`, through the real relay serving the test build. Checks
/// who made the offer (the counsellor, whatever the browsers), and that no
/// browser refused a description.
pub async fn one_to_one_call(host_engine: Engine, guest_engine: Engine) -> MixedCall {
    let started = std::time::Instant::now();
    let env = BrowserEnv::from_env();
    if host_engine == Engine::Firefox || guest_engine == Engine::Firefox {
        env.require_firefox();
    }
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let chromedriver = if host_engine == Engine::Chromium || guest_engine == Engine::Chromium {
        Some(Driver::start(&env).await)
    } else {
        None
    };
    let host = launch(&env, host_engine, chromedriver.as_ref()).await;
    let guest = launch(&env, guest_engine, chromedriver.as_ref()).await;
    let host_name = format!("counsellor ({})", name(host_engine));
    let guest_name = format!("guest ({})", name(guest_engine));

    // Firefox can only use the standard API; the app must pick it by itself.
    for (who, browser) in [(&host_name, &host), (&guest_name, &guest)] {
        browser.goto("about:blank").await;
        let apis = transform_apis(browser).await;
        println!("{who}: {apis}");
        assert_eq!(
            apis["script"],
            Value::Bool(true),
            "the {who} has RTCRtpScriptTransform"
        );
        if browser.engine == Engine::Firefox {
            assert_eq!(
                apis["legacy"],
                Value::Bool(false),
                "Firefox has no createEncodedStreams, so only the script path exists"
            );
        }
    }

    let link = counsellor_starts_session(&host, &relay.http_url()).await;
    assert!(
        link.contains("/#1") && !link.contains("transform="),
        "an invite link with a secret fragment and no forced transform path: {link}"
    );
    guest_knocks(&guest, &link, "Mira", None).await;
    counsellor_admits_and_enters(&host, "Mira").await;
    sees_the_call(&guest).await;
    println!("in the call after {:?}", started.elapsed());

    both_show_the_same_code(&host, &guest).await;

    // Video really decodes in both directions and shows the other camera.
    for ((who, browser), other) in [
        ((&host_name, &host), (&guest_name, &guest)),
        ((&guest_name, &guest), (&host_name, &host)),
    ] {
        browser
            .wait_until(
                &format!("decoded remote video at the {who}"),
                STEP * 2,
                &format!(
                    "const v = document.querySelector('{REMOTE_VIDEO}'); return {SHOWN_FRAMES_JS} > 10"
                ),
            )
            .await;
        let before = shown_frames(browser, REMOTE_VIDEO).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        let after = shown_frames(browser, REMOTE_VIDEO).await;
        assert!(
            after > before,
            "the {who}'s remote video keeps decoding ({before} → {after})"
        );
        let decoded = call_stat(browser, "in_video", "framesDecoded").await;
        println!("{who}: {after} frames shown, {decoded} decoded (RTP stats)");
        assert!(
            decoded > 10.0,
            "the {who} decodes received video ({decoded})"
        );
        sees_the_live_picture((who.as_str(), browser), (other.0.as_str(), other.1)).await;
        browser
            .wait_until(
                &format!("the encrypted indicator at the {who}"),
                STEP,
                "return document.querySelector('[data-testid=encrypted-indicator]') !== null",
            )
            .await;
    }

    // Audio arrives in both directions, and both encrypt with a media key in their worker.
    for (who, browser) in [(&host_name, &host), (&guest_name, &guest)] {
        let packets = call_stat(browser, "in_audio", "packetsReceived").await;
        assert!(
            packets > 20.0,
            "the {who} receives audio packets ({packets})"
        );
        let kid = sender_kid(browser).await;
        assert!(kid.is_some(), "the {who} encrypts its frames with a key");
    }

    send_chat(&guest, "Hallo, ich bin da.").await;
    sees_chat(&host, "Hallo, ich bin da.").await;
    send_chat(&host, "Schön, dass Sie da sind.").await;
    sees_chat(&guest, "Schön, dass Sie da sind.").await;
    // The counsellor offers, the guest answers, and neither browser refused
    // anything: in this pairing the offer is written by the host's browser.
    let host_report = call_report(&host).await;
    let guest_report = call_report(&guest).await;
    assert_eq!(
        offerers(&host_report),
        vec![true],
        "the {host_name} offers: {host_report}"
    );
    assert_eq!(
        offerers(&guest_report),
        vec![false],
        "the {guest_name} answers: {guest_report}"
    );
    // Her offer came from the connection made while the guest's
    // handshake ran (`rtc/mesh/prepared.rs`), and the media above went
    // through it: its streams, made under a placeholder, use the guest's keys.
    assert_eq!(
        host.eval("return document.documentElement.dataset.preparedOffers || '0'")
            .await,
        "1",
        "the {host_name}'s offer came from the connection prepared at her click"
    );
    assert_eq!(
        guest
            .eval("return document.documentElement.dataset.preparedOffers || '0'")
            .await,
        "0",
        "a guest prepares nothing"
    );
    for (who, browser) in [(&host_name, &host), (&guest_name, &guest)] {
        assert_eq!(
            media_errors(browser).await,
            "",
            "the {who}'s browser refused nothing"
        );
    }
    println!(
        "{host_name} (offer) with {guest_name} (answer): done after {:?}",
        started.elapsed()
    );
    MixedCall {
        host,
        guest,
        relay,
        chromedriver,
    }
}

/// Per peer connection of a call report: whether this browser offers.
pub fn offerers(report: &Value) -> Vec<bool> {
    per_peer(report, "offerer", Value::as_bool)
}

/// Offer/answer exchanges completed with each peer, from a call report.
pub fn negotiations(report: &Value) -> Vec<u64> {
    per_peer(report, "completed", Value::as_u64)
}

/// One field of the call report's `negotiation` entry, per peer.
fn per_peer<T>(report: &Value, field: &str, read: impl Fn(&Value) -> Option<T>) -> Vec<T> {
    report
        .get("negotiation")
        .and_then(Value::as_object)
        .map(|peers| {
            peers
                .values()
                .filter_map(|p| p.get(field).and_then(&read))
                .collect()
        })
        .unwrap_or_default()
}

/// What the media layer of the page reported as failed (a refused session
/// description, a worker error), one per line; empty when nothing failed.
pub async fn media_errors(browser: &Browser) -> String {
    browser
        .eval("return document.body.dataset.confideMediaErrors || ''")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Every remote description `browser` received, as the other browser wrote
/// it: `(type, sdp)`.
pub async fn remote_sdps(browser: &Browser) -> Vec<(String, String)> {
    let all = browser
        .eval("return window.wasmBindings.confide_test_remote_sdps()")
        .await;
    all.as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e.get("type")?.as_str()?.to_string(),
                e.get("sdp")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// Whether `browser`'s own engine accepts `sdp` as a remote description of
/// `kind` ("offer" or "answer") in a fresh peer connection (an answer after
/// an offer of its own); `Err` carries the browser's message.
pub async fn accepts(browser: &Browser, kind: &str, sdp: &str) -> Result<(), String> {
    let script = format!(
        "const done = arguments[arguments.length - 1];          const pc = new RTCPeerConnection();          (async () => {{            if ({kind:?} === 'answer') {{              pc.addTransceiver('audio'); pc.addTransceiver('video');              await pc.setLocalDescription(await pc.createOffer());            }}            await pc.setRemoteDescription({{ type: {kind:?}, sdp: {sdp} }});            if ({kind:?} === 'offer') await pc.setLocalDescription(await pc.createAnswer());          }})().then(() => {{ pc.close(); done(null); }}, e => {{ pc.close(); done(String(e)); }});",
        sdp = Value::String(sdp.to_string())
    );
    match browser.eval_async(&script).await {
        Value::Null => Ok(()),
        other => Err(other
            .as_str()
            .map_or_else(|| other.to_string(), str::to_string)),
    }
}
