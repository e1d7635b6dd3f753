#![allow(clippy::expect_used)]
//! The in-browser benches of `cargo xtask bench frames|…` (docs/BENCHMARKS.md
//! §§ 9–12), and their smoke runs.
//!
//! Without `CONFIDE_BENCH=full` every bench runs with tiny counts and only
//! checks that it produced numbers, so `cargo xtask test` keeps the bench
//! pages from rotting; `cargo xtask bench <name>` sets `CONFIDE_BENCH=full`
//! and prints the tables the docs quote. No timed assertions.

use std::collections::BTreeMap;
use std::time::Duration;

use confide_tests::browser::{Browser, BrowserEnv, BrowserOptions, Driver, Engine};
use confide_tests::cpu;
use confide_tests::relay::TestRelay;
use serde_json::{Value, json};

/// Whether this is the real bench (`cargo xtask bench`) or a smoke run.
fn full() -> bool {
    std::env::var("CONFIDE_BENCH").is_ok_and(|v| v == "full")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Opens the test build and waits for its bindings and worker.
async fn open_app(browser: &Browser, relay: &TestRelay) {
    browser.goto(&relay.http_url()).await;
    browser
        .wait_until(
            "the app's bench bindings and frame-crypto worker",
            Duration::from_secs(60),
            "const m = document.getElementById('confide-app'); \
             return !!(window.wasmBindings && window.wasmBindings.confide_bench_frames) \
                    && m && m.dataset.worker === 'ready'",
        )
        .await;
}

/// Runs the worker's frame bench in `browser`; the parsed report.
async fn frames_report(browser: &Browser, batches: u32, per_batch: u32) -> Value {
    browser
        .eval(&format!(
            "window.__bench = null;
             window.wasmBindings.confide_bench_frames({batches}, {per_batch})
               .then(r => window.__bench = {{ ok: r }}, e => window.__bench = {{ error: String(e) }});
             return true;"
        ))
        .await;
    let answer = browser
        .wait_until(
            "the frame bench to finish",
            Duration::from_secs(if full() { 1800 } else { 120 }),
            "return window.__bench",
        )
        .await;
    let text = answer
        .get("ok")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("the frame bench failed: {answer}"));
    serde_json::from_str(text).expect("the frame bench's report is JSON")
}

/// Prints the table of one browser's report and checks every cell is a
/// positive, finite number.
fn print_frames(browser: &str, report: &Value) {
    let frames = report["frames"].as_array().expect("frames in the report");
    assert_eq!(frames.len(), 4, "four frame sizes: {report}");
    println!(
        "\n{browser}: µs per frame, median (p99) of {} batch means (batch: {} frames of 50 KB, up to 40× as many smaller ones); load {}",
        report["batches"],
        report["per_batch_50k"],
        loadavg()
    );
    println!(
        "{:<16} {:<10} {:>18} {:>18} {:>18} {:>9} {:>9} {:>18}",
        "frame",
        "op",
        "WebCrypto AES-GCM",
        "ChaCha (default)",
        "AES-128-GCM",
        "ChaCha/WC",
        "AES/WC",
        "pass-through"
    );
    for row in frames {
        let cell = |name: &str, stat: &str| {
            let v = row["us_per_frame"][name][stat].as_f64().unwrap_or(f64::NAN);
            assert!(
                v.is_finite() && v >= 0.0,
                "{name} {stat} is not a number: {row}"
            );
            v
        };
        for op in ["encrypt", "decrypt"] {
            let wc = cell(&format!("webcrypto_aesgcm_{op}"), "median_us");
            let chacha = cell(&format!("chacha20poly1305_{op}"), "median_us");
            let aes = cell(&format!("aes128gcm_{op}"), "median_us");
            let with_p99 = |name: &str, median: f64| {
                format!(
                    "{median:.1} ({:.1})",
                    cell(&format!("{name}_{op}"), "p99_us")
                )
            };
            // The boundary alone (same path, no crypto); builds before
            // docs/BENCHMARKS.md §11.1 have no such row.
            let pass = match row["us_per_frame"].get(format!("passthrough_{op}")) {
                Some(_) => with_p99(
                    "passthrough",
                    cell(&format!("passthrough_{op}"), "median_us"),
                ),
                None => "-".to_string(),
            };
            println!(
                "{:<16} {:<10} {:>18} {:>18} {:>18} {:>9.2} {:>9.2} {:>18}",
                row["frame"].as_str().unwrap_or("?"),
                op,
                with_p99("webcrypto_aesgcm", wc),
                with_p99("chacha20poly1305", chacha),
                with_p99("aes128gcm", aes),
                chacha / wc,
                aes / wc,
                pass,
            );
        }
    }
}

/// Item 1 of issue 18: the worker's real per-frame path (both suites)
/// against one awaited WebCrypto AES-GCM call per frame, in headless
/// Chromium and Firefox.
#[tokio::test]
#[ignore = "needs the browsers and the built app: run `cargo xtask test` or `cargo xtask bench frames`"]
async fn frames() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let env = BrowserEnv::from_env();
    env.require_firefox();
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let (batches, per_batch) = if full() { (40, 50) } else { (2, 1) };
    let rounds = if full() { 2 } else { 1 };
    for round in 1..=rounds {
        println!("\n== round {round} of {rounds}");
        {
            let driver = Driver::start(&env).await;
            let browser = Browser::launch(&env, &driver, BrowserOptions::default()).await;
            open_app(&browser, &relay).await;
            let report = frames_report(&browser, batches, per_batch).await;
            print_frames("Chromium", &report);
            browser.close().await;
        }
        {
            let browser = Browser::launch_firefox(&env, BrowserOptions::default()).await;
            open_app(&browser, &relay).await;
            let report = frames_report(&browser, batches, per_batch).await;
            print_frames("Firefox", &report);
            browser.close().await;
        }
    }
}

/// Marks what a call's first second is made of, in the page, on the
/// clock both browsers share (`performance.timeOrigin + performance.now()`,
/// milliseconds since the epoch): every `RTCPeerConnection` step and state
/// change, the WebSocket messages (count and time only: they are sealed),
/// and the first picture the remote `<video>` presents
/// (`requestVideoFrameCallback`; its `receiveTime` is when the last packet
/// of that frame arrived). Nothing of the app changes: the page's globals
/// are wrapped once the page has loaded, before the admission.
const MARKS: &str = r#"
if (window.__ttfp) return true;
const t = () => performance.timeOrigin + performance.now();
const m = window.__ttfp = { marks: {}, ws_out: [], ws_in: [] };
const mark = (name, at) => { if (!(name in m.marks)) m.marks[name] = at === undefined ? t() : at; };
window.__ttfp_mark = mark;
const hook = (pc) => {
  if (pc.__ttfp) return;
  pc.__ttfp = true;
  mark('pc_created');
  pc.addEventListener('icegatheringstatechange', () => mark('gathering_' + pc.iceGatheringState));
  pc.addEventListener('iceconnectionstatechange', () => mark('ice_' + pc.iceConnectionState));
  pc.addEventListener('connectionstatechange', () => mark('dtls_' + pc.connectionState));
  pc.addEventListener('track', () => mark('track_event'));
};
const Orig = window.RTCPeerConnection;
window.RTCPeerConnection = new Proxy(Orig, { construct(T, args) { const pc = new T(...args); hook(pc); return pc; } });
const P = Orig.prototype;
for (const [name, label] of [['createOffer', 'create_offer'], ['createAnswer', 'create_answer'],
                             ['setLocalDescription', 'set_local'], ['setRemoteDescription', 'set_remote'],
                             ['addIceCandidate', 'add_ice']]) {
  const orig = P[name];
  P[name] = function (...a) {
    hook(this);
    const d = a[0];
    let type = d && d.type ? d.type : '';
    if (name === 'setLocalDescription' && !type) type = this.signalingState === 'have-remote-offer' ? 'answer' : 'offer';
    const label2 = type ? label + '_' + type : label;
    mark(label2);
    const r = orig.apply(this, a);
    if (r && r.then) r.then(() => mark(label2 + '_done'), () => {});
    return r;
  };
}
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (...a) {
  if (!this.__ttfp) { this.__ttfp = true; this.addEventListener('message', () => m.ws_in.push(t())); }
  m.ws_out.push(t());
  return send.apply(this, a);
};
// Main-thread tasks of 50 ms or more (Chromium; Firefox has no 'longtask').
m.long = [];
m.long_supported = (PerformanceObserver.supportedEntryTypes || []).includes('longtask');
if (m.long_supported) {
  new PerformanceObserver(l => l.getEntries().forEach(e =>
    m.long.push([performance.timeOrigin + e.startTime, e.duration]))).observe({ type: 'longtask' });
}
// Long animation frames (Chromium): what ran in them, by the callback
// that ran it, and how much of them was rendering.
m.loaf = [];
if ((PerformanceObserver.supportedEntryTypes || []).includes('long-animation-frame')) {
  new PerformanceObserver(l => l.getEntries().forEach(e => m.loaf.push({
    start: performance.timeOrigin + e.startTime, duration: e.duration,
    render: e.renderStart > 0 ? e.startTime + e.duration - e.renderStart : 0,
    style_layout: e.styleAndLayoutStart > 0 ? e.startTime + e.duration - e.styleAndLayoutStart : 0,
    scripts: (e.scripts || []).map(s => [s.invoker + (s.sourceFunctionName ? ' ' + s.sourceFunctionName : ''),
                                         s.duration, s.forcedStyleAndLayoutDuration]),
  }))).observe({ type: 'long-animation-frame', buffered: true });
}
// How long the page's main thread spends in a media element's set-up:
// each `srcObject` assignment and `play()` call, timed synchronously.
m.spans = [];
const span = (label, f) => { const s = t(); try { return f(); } finally { m.spans.push([label, s, t() - s]); } };
const src = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'srcObject');
Object.defineProperty(HTMLMediaElement.prototype, 'srcObject', {
  configurable: true, enumerable: src.enumerable, get: src.get,
  set(v) { span(v ? 'src_object' : 'src_object_none', () => src.set.call(this, v)); },
});
const play = HTMLMediaElement.prototype.play;
HTMLMediaElement.prototype.play = function () { return span('play', () => play.call(this)); };
const watch = (v) => {
  if (v.__ttfp || !v.requestVideoFrameCallback) return;
  v.__ttfp = true;
  mark('video_element');
  v.addEventListener('playing', () => mark('video_playing'), { once: true });
  v.addEventListener('loadedmetadata', () => mark('video_loadedmetadata'), { once: true });
  v.requestVideoFrameCallback((now, meta) => {
    mark('first_frame_shown');
    if (!meta) return;
    const at = (name, ms) => { if (ms) mark(name, performance.timeOrigin + ms); };
    at('first_frame_received', meta.receiveTime);
    // When the compositor got the frame, and when the screen should show
    // it: the person sees it then, whatever keeps the page's script busy.
    at('first_frame_presented', meta.presentationTime);
    at('first_frame_expected_display', meta.expectedDisplayTime);
    m.presented_frames = meta.presentedFrames;
  });
};
const scan = () => {
  document.querySelectorAll('[data-testid=remote-video]').forEach(watch);
  if (document.querySelector('[data-testid=call]')) mark('call_screen');
};
new MutationObserver(scan).observe(document, { childList: true, subtree: true });
scan();
return true;
"#;

/// One call's marks of one side, in ms after the counsellor's click on
/// "Hereinlassen", plus WebSocket messages sent and received after it.
fn side_marks(page: &Value, admit: f64, side: &str, into: &mut Vec<(String, f64)>) {
    if let Some(marks) = page["marks"].as_object() {
        for (name, at) in marks {
            if let Some(at) = at.as_f64() {
                into.push((format!("{side}.{name}"), at - admit));
            }
        }
    }
    // Frames the element had presented when the page first heard of one:
    // above 1, the page's script ran late, not the picture.
    if let Some(frames) = page["presented_frames"].as_f64() {
        into.push((format!("{side}.presented_frames_at_first_callback"), frames));
    }
    for dir in ["ws_out", "ws_in"] {
        let after: Vec<f64> = page[dir]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(Value::as_f64)
                    .filter(|at| *at >= admit)
                    .collect()
            })
            .unwrap_or_default();
        into.push((format!("{side}.{dir}_count"), after.len() as f64));
        // The first few one by one: which message waited for what.
        for (i, at) in after.iter().take(8).enumerate() {
            into.push((format!("{side}.{dir}_{}", i + 1), at - admit));
        }
    }
    // How long the page's main thread was blocked by tasks of 50 ms or more
    // between the click and its first picture (Chromium only).
    let shown = page["marks"]["first_frame_shown"].as_f64();
    if page["long_supported"] == true
        && let Some(shown) = shown
    {
        let tasks: Vec<f64> = page["long"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|task| Some((task.get(0)?.as_f64()?, task.get(1)?.as_f64()?)))
            .filter(|(start, _)| *start >= admit && *start < shown)
            .map(|(_, duration)| duration)
            .collect();
        into.push((format!("{side}.long_tasks_count"), tasks.len() as f64));
        into.push((format!("{side}.long_tasks_ms"), tasks.iter().sum()));
    }
    if let Some(shown) = shown {
        loaf_marks(page, admit, shown, side, into);
        span_marks(page, admit, shown, side, into);
    }
}

/// The media elements' set-up between the click and the first picture:
/// per kind (`src_object`, `play`), how many calls and their total time,
/// and the first three one by one (start, and time taken).
fn span_marks(page: &Value, admit: f64, shown: f64, side: &str, into: &mut Vec<(String, f64)>) {
    let mut by_label: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for span in page["spans"].as_array().into_iter().flatten() {
        if let (Some(label), Some(start), Some(ms)) =
            (span[0].as_str(), span[1].as_f64(), span[2].as_f64())
            && start >= admit
            && start < shown
        {
            by_label
                .entry(label.to_string())
                .or_default()
                .push((start, ms));
        }
    }
    for (label, spans) in by_label {
        into.push((format!("{side}.{label}_count"), spans.len() as f64));
        into.push((
            format!("{side}.{label}_ms"),
            spans.iter().map(|(_, ms)| ms).sum(),
        ));
        for (i, (start, ms)) in spans.iter().take(3).enumerate() {
            into.push((format!("{side}.{label}_{}_start", i + 1), start - admit));
            into.push((format!("{side}.{label}_{}_ms", i + 1), *ms));
        }
    }
}

/// What the long animation frames between the click and the first picture
/// spent their time on (Chromium's `long-animation-frame` entries): in all,
/// rendering, style and layout, and each callback that ran script for more
/// than 5 ms, summed by its invoker (and function name, where it has one).
fn loaf_marks(page: &Value, admit: f64, shown: f64, side: &str, into: &mut Vec<(String, f64)>) {
    let frames: Vec<&Value> = page["loaf"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["start"].as_f64().is_some_and(|s| s >= admit && s < shown))
        .collect();
    if frames.is_empty() {
        return;
    }
    let sum = |field: &str| frames.iter().filter_map(|f| f[field].as_f64()).sum::<f64>();
    into.push((format!("{side}.loaf_count"), frames.len() as f64));
    into.push((format!("{side}.loaf_ms"), sum("duration")));
    into.push((format!("{side}.loaf_render_ms"), sum("render")));
    into.push((format!("{side}.loaf_style_layout_ms"), sum("style_layout")));
    // The first three one by one: where in the call's set-up they sat.
    for (i, f) in frames.iter().take(3).enumerate() {
        if let (Some(start), Some(duration)) = (f["start"].as_f64(), f["duration"].as_f64()) {
            into.push((format!("{side}.loaf_{}_start", i + 1), start - admit));
            into.push((
                format!("{side}.loaf_{}_end", i + 1),
                start + duration - admit,
            ));
        }
    }
    let mut by_invoker: BTreeMap<String, f64> = BTreeMap::new();
    for script in frames
        .iter()
        .filter_map(|f| f["scripts"].as_array())
        .flatten()
    {
        if let (Some(name), Some(ms)) = (script[0].as_str(), script[1].as_f64()) {
            *by_invoker
                .entry(name.chars().take(48).collect())
                .or_default() += ms;
        }
    }
    for (name, ms) in by_invoker {
        into.push((format!("{side}.script {name}"), ms));
    }
}

/// When one side's frame-crypto worker encrypted its first video frame,
/// saw the first video frame from the other side and first decrypted one,
/// in ms after the click (the worker's clock is on the page's scale).
fn worker_marks(report: &Value, admit: f64, side: &str, into: &mut Vec<(String, f64)>) {
    let streams = report
        .pointer("/worker/streams")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for stream in streams {
        if stream["kind"] != "video" {
            continue;
        }
        let fields: &[(&str, &str)] = if stream["direction"] == "send" {
            &[("first_ok_ms", "worker_first_video_encrypted")]
        } else {
            &[
                ("first_frame_ms", "worker_first_video_arrived"),
                ("first_ok_ms", "worker_first_video_decrypted"),
            ]
        };
        for (field, mark) in fields {
            if let Some(at) = stream[*field].as_f64() {
                into.push((format!("{side}.{mark}"), at - admit));
            }
        }
    }
}

/// Counts of the received video by about a second after the first picture
/// (`getStats` inbound-rtp): key frames decoded, key frame requests (PLI)
/// and frames dropped tell whether the first key frame was usable.
fn decoder_counts(report: &Value, side: &str, into: &mut Vec<(String, f64)>) {
    let peers = report["peers"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values());
    let mut sums = [0.0; 3];
    let names = ["keyFramesDecoded", "pliCount", "framesDropped"];
    for peer in peers {
        for (sum, name) in sums.iter_mut().zip(names) {
            *sum += peer["in_video"][name].as_f64().unwrap_or(0.0);
        }
    }
    for (sum, name) in sums.iter().zip(names) {
        into.push((format!("{side}.in_video_{name}"), *sum));
    }
}

/// Opens a browser of `engine` ("chromium" or "firefox") on `stage`.
async fn person(env: &BrowserEnv, driver: &Driver, engine: &str) -> Browser {
    match engine {
        "firefox" => Browser::launch_firefox(env, BrowserOptions::default()).await,
        _ => Browser::launch(env, driver, BrowserOptions::default()).await,
    }
}

/// One call, counsellor in `host_engine`, guest in `guest_engine`; the
/// marks of both sides after the admission.
async fn one_call(
    env: &BrowserEnv,
    driver: &Driver,
    relay: &TestRelay,
    host_engine: &str,
    guest_engine: &str,
) -> Vec<(String, f64)> {
    use confide_tests::call::{counsellor_starts_session, guest_knocks};
    let host = person(env, driver, host_engine).await;
    let guest = person(env, driver, guest_engine).await;
    let link = counsellor_starts_session(&host, &relay.http_url()).await;
    guest_knocks(&guest, &link, "Alex", None).await;
    host.eval(MARKS).await;
    guest.eval(MARKS).await;
    host.wait_until(
        "a knock",
        Duration::from_secs(30),
        "return document.querySelector('[data-testid=admit]') !== null",
    )
    .await;
    // The click comes from the page itself: "Hereinlassen", which also
    // enters the call once her camera check is ready (the page marks
    // 'enter_click' when the call screen shows; polled every 5 ms), so
    // WebDriver's round trips are not in the figures.
    for page in [&host, &guest].into_iter().filter(|p| profiled(p)) {
        page.cdp("Profiler.enable", json!({})).await;
        page.cdp("Profiler.setSamplingInterval", json!({ "interval": 200 }))
            .await;
        page.cdp("Profiler.start", json!({})).await;
    }
    host.eval(
        "const mark = window.__ttfp_mark;
         mark('admit_click');
         document.querySelector('[data-testid=admit]').click();
         const timer = setInterval(() => {
           if (document.querySelector('[data-testid=call]')) { clearInterval(timer); mark('enter_click'); }
         }, 5);
         return true;",
    )
    .await;
    for (who, page) in [("counsellor", &host), ("guest", &guest)] {
        page.wait_until(
            &format!("the first remote picture at the {who}"),
            Duration::from_secs(60),
            "return window.__ttfp && 'first_frame_shown' in window.__ttfp.marks",
        )
        .await;
    }
    let mut marks = Vec::new();
    for (side, page) in [("counsellor", &host), ("guest", &guest)] {
        if profiled(page) {
            let profile = page.cdp("Profiler.stop", json!({})).await;
            profile_marks(&profile["profile"], side, &mut marks);
            keep_profile(&profile["profile"], side);
        }
    }
    let host_page = host.eval("return window.__ttfp").await;
    let guest_page = guest.eval("return window.__ttfp").await;
    let admit = host_page["marks"]["admit_click"]
        .as_f64()
        .expect("the admission click was marked");
    side_marks(&host_page, admit, "counsellor", &mut marks);
    side_marks(&guest_page, admit, "guest", &mut marks);
    // The workers report once a second; their first-frame times then stay.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    for (side, page) in [("counsellor", &host), ("guest", &guest)] {
        let report = confide_tests::call::call_report(page).await;
        worker_marks(&report, admit, side, &mut marks);
        decoder_counts(&report, side, &mut marks);
    }
    host.close().await;
    guest.close().await;
    marks
}

/// Whether `page` gets a CPU profile (`CONFIDE_BENCH_PROFILE=1`; V8's
/// sampling profiler, 200 µs, through ChromeDriver's CDP, so Chromium only)
/// from the click to its first picture.
fn profiled(page: &Browser) -> bool {
    page.engine == Engine::Chromium
        && std::env::var("CONFIDE_BENCH_PROFILE").is_ok_and(|v| v == "1")
}

/// With `CONFIDE_BENCH_PROFILE_DIR`, writes `profile` there as
/// `<side>-<n>.cpuprofile` (Chromium DevTools opens it) for analysis by
/// function, which the medians of `profile_marks` cannot give.
fn keep_profile(profile: &Value, side: &str) {
    let Ok(dir) = std::env::var("CONFIDE_BENCH_PROFILE_DIR") else {
        return;
    };
    let _ = std::fs::create_dir_all(&dir);
    let path = (0..)
        .map(|n| std::path::Path::new(&dir).join(format!("{side}-{n}.cpuprofile")))
        .find(|path| !path.exists())
        .expect("some file name is free");
    std::fs::write(&path, profile.to_string()).expect("the profile folder is writable");
}

/// A profile's self time per function (ms), for functions with 1 ms or
/// more, keyed by side, function name and the end of its script's URL.
fn profile_marks(profile: &Value, side: &str, into: &mut Vec<(String, f64)>) {
    let names: std::collections::HashMap<u64, String> = profile["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            let frame = &n["callFrame"];
            let file = frame["url"].as_str().unwrap_or("").rsplit('/').next();
            let name = frame["functionName"].as_str().unwrap_or("");
            Some((
                n["id"].as_u64()?,
                format!("{name} [{}]", file.unwrap_or("")),
            ))
        })
        .collect();
    let deltas = profile["timeDeltas"].as_array();
    let mut by_function: BTreeMap<&str, f64> = BTreeMap::new();
    let samples = profile["samples"].as_array().into_iter().flatten();
    for (i, sample) in samples.enumerate() {
        // A sample's time is the delta to the next one.
        let us = deltas.and_then(|d| d.get(i + 1)).and_then(Value::as_f64);
        if let Some(name) = sample.as_u64().and_then(|id| names.get(&id)) {
            *by_function.entry(name).or_default() += us.unwrap_or(0.0) / 1000.0;
        }
    }
    into.extend(
        by_function
            .into_iter()
            .filter(|(_, ms)| *ms >= 1.0)
            .map(|(name, ms)| (format!("{side}.profile {name}"), ms)),
    );
}

fn median_and_max(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let median = if values.is_empty() {
        f64::NAN
    } else if values.len() % 2 == 1 {
        values[values.len() / 2]
    } else {
        (values[values.len() / 2 - 1] + values[values.len() / 2]) / 2.0
    };
    (median, values.last().copied().unwrap_or(f64::NAN))
}

/// Item 2 of issue 18: from the counsellor's click on "Hereinlassen" to the
/// first picture on both pages, with what happens in between.
#[tokio::test]
#[ignore = "needs the browsers and the built app: run `cargo xtask test` or `cargo xtask bench first-picture`"]
async fn first_picture() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let env = BrowserEnv::from_env();
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let driver = Driver::start(&env).await;
    let every: &[(&str, &str)] = if full() {
        &[
            ("chromium", "chromium"),
            ("chromium", "firefox"),
            ("firefox", "firefox"),
        ]
    } else {
        &[("chromium", "chromium")]
    };
    // `CONFIDE_BENCH_PAIRINGS=chromium-chromium,firefox-firefox`: only these
    // (shorter runs when base and change alternate).
    let chosen = std::env::var("CONFIDE_BENCH_PAIRINGS").ok();
    let pairings: Vec<(&str, &str)> = every
        .iter()
        .copied()
        .filter(|(host, guest)| {
            chosen
                .as_deref()
                .is_none_or(|list| list.split(',').any(|p| p == format!("{host}-{guest}")))
        })
        .collect();
    if pairings
        .iter()
        .any(|(h, g)| *h == "firefox" || *g == "firefox")
    {
        env.require_firefox();
    }
    let calls = if full() { 10 } else { 1 };
    for (host_engine, guest_engine) in pairings {
        let mut all: Vec<(String, Vec<f64>)> = Vec::new();
        for _ in 0..calls {
            for (name, ms) in one_call(&env, &driver, &relay, host_engine, guest_engine).await {
                match all.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, v)) => v.push(ms),
                    None => all.push((name, vec![ms])),
                }
            }
        }
        for who in ["counsellor", "guest"] {
            let first = all
                .iter()
                .find(|(n, _)| *n == format!("{who}.first_frame_shown"))
                .map_or(0, |(_, v)| v.len());
            assert_eq!(first, calls, "every call showed a picture at the {who}");
        }
        let mut rows: Vec<(String, f64, f64, usize)> = all
            .into_iter()
            .map(|(name, mut v)| {
                let n = v.len();
                let (median, max) = median_and_max(&mut v);
                (name, median, max, n)
            })
            .collect();
        rows.sort_by(|a, b| a.1.total_cmp(&b.1));
        println!(
            "\ncounsellor {host_engine} -> guest {guest_engine}: ms after 'Hereinlassen', {calls} calls; load {}",
            loadavg()
        );
        println!("{:<64} {:>9} {:>9} {:>6}", "mark", "median", "max", "calls");
        for (name, median, max, n) in rows {
            assert!(median.is_finite(), "{name} is a number");
            println!("{name:<64} {median:>9.1} {max:>9.1} {n:>6}");
        }
    }
}

/// Runs in every page before its own scripts: clicks "continue" on the
/// guest's first screen as soon as it is there (every 5 ms until it is gone), and notes (ms since the
/// navigation started) when that screen appeared and when the device check
/// became interactive (its "knock" button enabled: camera preview running).
const PAGE_LOAD_MARKS: &str = r#"
window.__load = {};
addEventListener('TrunkApplicationStarted', () => { window.__load.app_started = performance.now(); });
// When a file's last byte arrived (Resource Timing), by the end of its name.
const arrived = (end) => {
  const e = performance.getEntriesByType('resource').find(e => e.name.endsWith(end) || e.name.includes(end));
  return e ? e.responseEnd : undefined;
};
const tick = () => {
  const l = window.__load;
  const go = document.querySelector('[data-testid=continue]');
  if (go && l.first_screen === undefined) l.first_screen = performance.now();
  // Clicked on every tick while it is there: under the CPU slowdown a
  // click can come before the button listens.
  if (go) go.click();
  const knock = document.querySelector('[data-testid=knock]');
  if (knock && l.device_check_shown === undefined) l.device_check_shown = performance.now();
  if (knock && !knock.disabled && l.device_check_ready === undefined) {
    l.device_check_ready = performance.now();
    l.app_wasm_arrived = arrived('_bg.wasm');
    l.worker_wasm_arrived = arrived('confide-worker_bg.wasm');
    l.bytes = performance.getEntriesByType('resource').reduce((n, e) => n + (e.transferSize || 0), 0)
      + ((performance.getEntriesByType('navigation')[0] || {}).transferSize || 0);
    return;
  }
  setTimeout(tick, 5);
};
tick();
"#;

/// Item 4 of issue 18: a guest opens the link on a phone-like connection
/// (Chromium's network emulation, 1.6 Mbit/s down, 750 kbit/s up, 150 ms
/// round trip, and 4× CPU slowdown); how long until the device check is
/// interactive, first visit (empty cache) and repeat visit.
#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test` or `cargo xtask bench page-load`"]
async fn page_load() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let env = BrowserEnv::from_env();
    // The test build from a folder: served uncompressed and `no-cache`
    // (the relay's folder mode), so this is an upper bound for the release
    // build, which the relay embeds, compresses and lets browsers cache
    // (docs/BENCHMARKS.md §13). `CONFIDE_BENCH_APP=embedded`: the release
    // app embedded in this test binary (the `dist/` it was compiled with).
    let embedded = std::env::var("CONFIDE_BENCH_APP").is_ok_and(|v| v == "embedded");
    let relay = TestRelay::start((!embedded).then(|| env.dist.clone())).await;
    println!(
        "\napp: {}",
        if embedded {
            "the release build embedded in the relay (compressed, cached)"
        } else {
            "the test build from a folder (uncompressed, no-cache)"
        }
    );
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    let link = confide_tests::call::counsellor_starts_session(&host, &relay.http_url()).await;
    let rounds = if full() { 5 } else { 1 };
    let mut figures: Vec<(String, Vec<f64>)> = Vec::new();
    let mut record = |name: String, value: f64| match figures.iter_mut().find(|(n, _)| *n == name) {
        Some((_, v)) => v.push(value),
        None => figures.push((name, vec![value])),
    };
    for _ in 0..rounds {
        let guest = Browser::launch(&env, &driver, BrowserOptions::default()).await;
        guest.set_window_size(390, 844).await;
        guest.cdp("Network.enable", serde_json::json!({})).await;
        guest
            .cdp(
                "Network.emulateNetworkConditions",
                serde_json::json!({
                    "offline": false,
                    "latency": 150,
                    "downloadThroughput": 1_600_000 / 8,
                    "uploadThroughput": 750_000 / 8,
                }),
            )
            .await;
        guest
            .cdp(
                "Emulation.setCPUThrottlingRate",
                serde_json::json!({ "rate": 4 }),
            )
            .await;
        guest.before_every_page(PAGE_LOAD_MARKS).await;
        for visit in ["first", "repeat"] {
            guest.goto("about:blank").await;
            guest.goto(&link).await;
            let load = guest
                .wait_until(
                    "the interactive device check",
                    Duration::from_secs(120),
                    "return window.__load && window.__load.device_check_ready !== undefined ? window.__load : null",
                )
                .await;
            for name in [
                "first_screen",
                "device_check_shown",
                "device_check_ready",
                "bytes",
            ] {
                let value = load[name].as_f64().unwrap_or(f64::NAN);
                assert!(
                    value.is_finite(),
                    "{visit} visit: {name} was measured: {load}"
                );
                record(format!("{visit}.{name}"), value);
            }
            // The breakdown: when the app's WASM arrived, when the app
            // started, when the worker's WASM arrived (absent where the
            // browser's Resource Timing does not see it, or on a repeat
            // visit served from the cache without an entry).
            for name in ["app_wasm_arrived", "app_started", "worker_wasm_arrived"] {
                if let Some(value) = load[name].as_f64() {
                    record(format!("{visit}.{name}"), value);
                }
            }
        }
        guest.close().await;
    }
    println!(
        "\nguest link on a phone connection (1.6 Mbit/s, 150 ms RTT, 4× CPU), {rounds} fresh browsers; ms since navigation start (bytes: transferred); load {}",
        loadavg()
    );
    println!("{:<32} {:>10} {:>10}", "mark", "median", "max");
    for (name, mut values) in figures {
        let (median, max) = median_and_max(&mut values);
        println!("{name:<32} {median:>10.0} {max:>10.0}");
    }
    host.close().await;
}

/// The modes of `cargo xtask bench cpu`: the test build's `?frames=` page
/// switch (empty: none given) and how the tables name it.
const CPU_MODES: [(&str, &str); 4] = [
    ("", "SFrame"),
    ("passthrough", "pass-through"),
    ("pipe", "worker pipe"),
    ("none", "no transform"),
];
/// Where each mode is in `CPU_MODES`; no transform, the reference, is last.
const SFRAME: usize = 0;
const PASS: usize = 1;
const PIPE: usize = 2;
const NONE: usize = 3;

/// `url` with the page switch `?frames=<mode>` before its fragment.
fn with_frames_switch(url: &str, mode: &str) -> String {
    if mode.is_empty() {
        return url.to_string();
    }
    let switched = url.replacen("/#", &format!("/?frames={mode}#"), 1);
    assert!(
        switched.contains(&format!("frames={mode}")),
        "the switch is in the link: {switched}"
    );
    switched
}

/// Sum of one worker counter over every stream of this browser's worker.
fn worker_total(report: &Value, counter: &str) -> u64 {
    ["send", "recv"]
        .iter()
        .flat_map(|d| ["audio", "video"].map(|k| (*d, k)))
        .map(|(d, k)| confide_tests::call::worker_frames(report, d, k, counter))
        .sum()
}

/// A call of `engine` browsers: a counsellor and `guests` guests, every
/// page with the `?frames=<mode>` switch; returns once everyone decodes
/// everyone else's video.
async fn call_in_mode(
    env: &BrowserEnv,
    driver: &Driver,
    relay: &TestRelay,
    engine: &str,
    guests: usize,
    mode: &str,
) -> Vec<(String, Browser)> {
    use confide_tests::call::{
        SHOWN_FRAMES_JS, STEP, counsellor_admits_and_enters, counsellor_admits_in_the_call,
        counsellor_invites_from_the_call, counsellor_starts_session, guest_knocks,
    };
    let names = ["Alex", "Sam", "Kim"];
    let host = person(env, driver, engine).await;
    let page = if mode.is_empty() {
        relay.http_url()
    } else {
        format!("{}?frames={mode}", relay.http_url())
    };
    let link = counsellor_starts_session(&host, &page).await;
    let mut people = Vec::new();
    for (i, name) in names.iter().take(guests).enumerate() {
        let guest = person(env, driver, engine).await;
        let link = if i == 0 {
            link.clone()
        } else {
            counsellor_invites_from_the_call(&host, None).await
        };
        guest_knocks(&guest, &with_frames_switch(&link, mode), name, None).await;
        if i == 0 {
            counsellor_admits_and_enters(&host, name).await;
        } else {
            // Guests meet each other once the counsellor confirmed their
            // codes: both first ones at the second, then each new one.
            counsellor_admits_in_the_call(&host, name, if i == 1 { 2 } else { 1 }).await;
        }
        people.push((name.to_string(), guest));
    }
    people.insert(0, ("counsellor".to_string(), host));
    for (who, browser) in &people {
        browser
            .wait_until(
                &format!("{guests} decoding remote videos at {who}"),
                STEP * 3,
                &format!(
                    "return [...document.querySelectorAll('[data-testid=remote-video]')] \
                       .filter(v => {SHOWN_FRAMES_JS} > 10).length >= {guests}"
                ),
            )
            .await;
    }
    people
}

/// One measured call: CPU seconds per person, video frames encoded and
/// decoded per second (all people), and the remote picture's size.
#[derive(Clone)]
struct CallCpu {
    cpu: Vec<(String, f64)>,
    /// Processes in each browser's tree at the end (same order).
    processes: Vec<usize>,
    encoded_per_s: f64,
    decoded_per_s: f64,
    /// Key frames decoded per second (all people): a transform that drops
    /// frames makes receivers ask for key frames, which cost far more CPU.
    key_frames_per_s: f64,
    size: (u64, u64),
    /// CPU seconds per thread kind ("process: thread"), all people summed.
    threads: BTreeMap<String, cpu::Seconds>,
    /// Frames through the frame-crypto workers per second (all people):
    /// encrypted, decrypted or passed through.
    worker_frames_per_s: f64,
    /// Seconds measured.
    elapsed: f64,
}

impl CallCpu {
    fn total(&self) -> f64 {
        self.cpu.iter().map(|(_, s)| s).sum()
    }

    /// CPU seconds of the frame-crypto workers' threads (all people).
    fn worker_seconds(&self) -> f64 {
        self.threads
            .iter()
            .filter(|(kind, _)| is_worker_thread(kind))
            .map(|(_, s)| s.total())
            .sum()
    }
}

/// Frames encoded, decoded and key frames decoded so far by everyone in the call.
async fn frames_so_far(people: &[(String, Browser)]) -> (f64, f64, f64) {
    let mut totals = (0.0, 0.0, 0.0);
    for (_, browser) in people {
        totals.0 += confide_tests::call::call_stat(browser, "out_video", "framesEncoded").await;
        totals.1 += confide_tests::call::call_stat(browser, "in_video", "framesDecoded").await;
        totals.2 += confide_tests::call::call_stat(browser, "in_video", "keyFramesDecoded").await;
    }
    totals
}

/// Frames the frame-crypto workers of everyone in the call have handled so
/// far (as of their last stats message, at most a second old).
async fn worker_frames_so_far(people: &[(String, Browser)]) -> f64 {
    let mut total = 0;
    for (_, browser) in people {
        let report = confide_tests::call::call_report(browser).await;
        total += worker_total(&report, "ok") + worker_total(&report, "passed_through");
    }
    total as f64
}

/// Checks that every page of the call really ran in `mode`: the worker's
/// counters say whether frames went through SFrame, through the worker
/// unchanged, or never reached it; the pictures say what got decoded.
async fn assert_mode(people: &[(String, Browser)], mode: &str, engine: &str) {
    use confide_tests::call::{
        call_report, looks_like_fake_camera, looks_like_firefox_fake_camera, picture,
    };
    for (who, browser) in people {
        let report = call_report(browser).await;
        let streams = report
            .pointer("/worker/streams")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let crypto = worker_total(&report, "ok");
        let passed = worker_total(&report, "passed_through");
        let video = |direction: &str, counter: &str| {
            confide_tests::call::worker_frames(&report, direction, "video", counter)
        };
        match mode {
            "" => assert!(
                video("send", "ok") > 0 && video("recv", "ok") > 0 && passed == 0,
                "{who}: the worker encrypted and decrypted every frame: {report}"
            ),
            "pipe" => assert!(
                streams > 0 && crypto == 0 && passed == 0,
                "{who}: the worker had streams but no code of ours saw a frame: {report}"
            ),
            "passthrough" => assert!(
                video("send", "passed_through") > 0
                    && video("recv", "passed_through") > 0
                    && crypto == 0
                    && worker_total(&report, "skipped") == 0,
                "{who}: frames went through the worker unchanged, none through SFrame: {report}"
            ),
            _ => assert!(
                streams == 0 && crypto == 0 && passed == 0,
                "{who}: no frame reached the worker (no transform attached): {report}"
            ),
        }
        // Every picture shows the other side's camera: in pass-through and
        // without a transform, because both sides send plaintext (had one
        // encrypted, the other's decoder would show noise).
        let shown = picture(browser, "[data-testid=remote-video]").await;
        let camera = if engine == "firefox" {
            looks_like_firefox_fake_camera(&shown)
        } else {
            looks_like_fake_camera(shown.rgb)
        };
        assert!(camera, "{who} sees the fake camera: {shown:?}");
        assert_eq!(
            browser
                .eval("return document.body.dataset.confideMediaErrors || ''")
                .await,
            "",
            "{who}: no media errors"
        );
    }
}

/// One call in `mode`: set up, warmed up, measured for `secs`, checked.
#[allow(clippy::too_many_arguments)]
async fn measure_call(
    env: &BrowserEnv,
    driver: &Driver,
    relay: &TestRelay,
    engine: &str,
    guests: usize,
    mode: &str,
    warm_up: Duration,
    secs: u64,
) -> CallCpu {
    let people = call_in_mode(env, driver, relay, engine, guests, mode).await;
    tokio::time::sleep(warm_up).await;
    let hz = cpu::clock_ticks();
    let frames_before = frames_so_far(&people).await;
    let worker_before = worker_frames_so_far(&people).await;
    let read = || -> Vec<cpu::Reading> {
        people
            .iter()
            .map(|(_, b)| cpu::Reading::of_browser(b.profile_dir()))
            .collect()
    };
    let before = read();
    let started = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let after = read();
    let elapsed = started.elapsed().as_secs_f64();
    let frames_after = frames_so_far(&people).await;
    let worker_after = worker_frames_so_far(&people).await;
    let mut threads: BTreeMap<String, cpu::Seconds> = BTreeMap::new();
    let cpu: Vec<(String, f64)> = people
        .iter()
        .zip(before.iter().zip(after.iter()))
        .map(|((who, _), (b, a))| {
            assert!(
                !a.is_empty(),
                "{who}'s browser processes were found in /proc"
            );
            let kinds = a.seconds_by_kind_since(b, hz);
            for (kind, seconds) in &kinds {
                *threads.entry(kind.clone()).or_default() += *seconds;
            }
            (who.clone(), kinds.values().map(|s| s.total()).sum())
        })
        .collect();
    for (who, seconds) in &cpu {
        assert!(
            seconds.is_finite() && *seconds > 0.0,
            "{who}'s browser used CPU during the call: {seconds}"
        );
    }
    let processes = after.iter().map(cpu::Reading::processes).collect();
    assert_mode(&people, mode, engine).await;
    let size = confide_tests::call::remote_size(&people[0].1).await;
    for (_, browser) in people {
        browser.close().await;
    }
    CallCpu {
        cpu,
        processes,
        encoded_per_s: (frames_after.0 - frames_before.0) / elapsed,
        decoded_per_s: (frames_after.1 - frames_before.1) / elapsed,
        key_frames_per_s: (frames_after.2 - frames_before.2) / elapsed,
        size,
        threads,
        worker_frames_per_s: (worker_after - worker_before) / elapsed,
        elapsed,
    }
}

/// Prints where each mode's CPU went, by thread kind (all browsers of the
/// call summed), the largest kinds first, with what each mode adds over
/// the last one (no transform): the rows that grow are where a mode's
/// extra CPU goes.
fn print_threads(calls: &[(&str, CallCpu)]) {
    let Some((_, reference)) = calls.last() else {
        return;
    };
    let seconds = |call: &CallCpu, kind: &str| call.threads.get(kind).map_or(0.0, |s| s.total());
    let mut kinds: Vec<&String> = calls.iter().flat_map(|(_, c)| c.threads.keys()).collect();
    kinds.sort();
    kinds.dedup();
    let largest = |kind: &str| {
        calls
            .iter()
            .map(|(_, c)| seconds(c, kind).max((seconds(c, kind) - seconds(reference, kind)).abs()))
            .fold(0.0, f64::max)
    };
    kinds.sort_by(|a, b| largest(b).total_cmp(&largest(a)));
    println!("CPU s by thread (process: thread), all browsers; last columns: minus the last mode");
    print!("{:<38} {:>5}", "thread", "sys%");
    for (mode, _) in calls {
        print!(" {:>13}", truncate(mode, 13));
    }
    for (mode, _) in &calls[..calls.len() - 1] {
        print!(" {:>13}", format!("Δ {}", truncate(mode, 11)));
    }
    println!();
    let shown = 16;
    for kind in kinds.iter().take(shown) {
        let first = calls[0].1.threads.get(*kind).copied().unwrap_or_default();
        print!(
            "{:<38} {:>5.0}",
            truncate(kind, 38),
            100.0 * first.system / first.total().max(1e-9)
        );
        for (_, call) in calls {
            print!(" {:>13.2}", seconds(call, kind));
        }
        for (_, call) in &calls[..calls.len() - 1] {
            print!(" {:>+13.2}", seconds(call, kind) - seconds(reference, kind));
        }
        println!();
    }
    if kinds.len() > shown {
        let rest = &kinds[shown..];
        print!("{:<44}", format!("({} other kinds)", rest.len()));

        let sum = |call: &CallCpu| rest.iter().map(|k| seconds(call, k)).sum::<f64>();
        for (_, call) in calls {
            print!(" {:>13.2}", sum(call));
        }
        for (_, call) in &calls[..calls.len() - 1] {
            print!(" {:>+13.2}", sum(call) - sum(reference));
        }
        println!();
    }
}

/// The frame-crypto workers' threads' CPU per frame they handled, per mode.
fn print_worker_per_frame(calls: &[(&str, CallCpu)]) {
    for (mode, call) in calls {
        let worker = call.worker_seconds();
        let frames = call.worker_frames_per_s;
        if frames > 0.0 {
            println!(
                "{mode}: the frame-crypto workers handled {frames:.0} frames/s and used {:.3} CPU s/s: {:.0} µs of their thread per frame",
                worker / call.elapsed,
                1e6 * worker / call.elapsed / frames
            );
        }
    }
}

/// What the frame-crypto worker's thread adds to the call, split by what
/// the modes take away one after another, as a share of the call's CPU
/// without a transform (`reference`): measured on that one thread, so the
/// noise of the encoders and the compositor is not in it.
fn print_worker_split(worker: &[f64; CPU_MODES.len()], reference: f64) {
    let share = |seconds: f64| 100.0 * seconds / reference;
    println!(
        "worker thread, % of the call's CPU without a transform: SFrame {:.1} % = crypto {:.1} % (SFrame − pass-through) + our frame handling {:.1} % (pass-through − worker pipe) + the browser's pipe to the worker {:.1} %",
        share(worker[SFRAME] - worker[NONE]),
        share(worker[SFRAME] - worker[PASS]),
        share(worker[PASS] - worker[PIPE]),
        share(worker[PIPE] - worker[NONE]),
    );
}

/// Whether a thread kind is a dedicated worker's thread (Chromium names it
/// "DedicatedWorker thread", Firefox "DOM Worker").
fn is_worker_thread(kind: &str) -> bool {
    kind.contains("DedicatedWorker") || kind.contains("DOM Worker")
}

/// At most `n` characters of `text`.
fn truncate(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

/// Prints one call size's table: CPU seconds per person and mode, and
/// what encryption and the transform plumbing add over no transform.
/// Returns what SFrame and pass-through add over no transform (% of total CPU).
fn print_cpu(title: &str, secs: u64, calls: &[(&str, CallCpu)]) -> (f64, f64) {
    println!(
        "\n{title}: CPU seconds of each browser (process tree) over {secs} s; load {}",
        loadavg()
    );
    let people: Vec<&str> = calls
        .first()
        .map(|(_, c)| c.cpu.iter().map(|(w, _)| w.as_str()).collect())
        .unwrap_or_default();
    if let Some((_, call)) = calls.first() {
        println!("processes per browser: {:?}", call.processes);
    }
    print!("{:<14}", "mode");
    for who in &people {
        print!(" {who:>11}");
    }
    println!(
        " {:>9} {:>10} {:>10} {:>8} {:>13} {:>9}",
        "total", "enc fps", "dec fps", "key/s", "ms/dec frame", "picture"
    );
    for (mode, call) in calls {
        print!("{mode:<14}");
        for (_, s) in &call.cpu {
            print!(" {s:>11.2}");
        }
        let per_frame = call.total() * 1000.0 / (call.decoded_per_s * secs as f64);
        println!(
            " {:>9.2} {:>10.1} {:>10.1} {:>8.2} {:>13.2} {:>9}",
            call.total(),
            call.encoded_per_s,
            call.decoded_per_s,
            call.key_frames_per_s,
            per_frame,
            format!("{}x{}", call.size.0, call.size.1)
        );
    }
    print_threads(calls);
    print_worker_per_frame(calls);
    let total = |i: usize| calls.get(i).map_or(f64::NAN, |(_, c)| c.total());
    let per_frame = |i: usize| {
        calls
            .get(i)
            .map_or(f64::NAN, |(_, c)| c.total() / c.decoded_per_s)
    };
    print_worker_split(
        &std::array::from_fn(|i| calls.get(i).map_or(f64::NAN, |(_, c)| c.worker_seconds())),
        total(NONE),
    );
    let share = |a: f64, base: f64| 100.0 * (a - base) / base;
    println!(
        "encryption adds {:+.1} % (per decoded frame {:+.1} %), transform plumbing {:+.1} % (per decoded frame {:+.1} %), over no transform",
        share(total(SFRAME), total(NONE)),
        share(per_frame(SFRAME), per_frame(NONE)),
        share(total(PASS), total(NONE)),
        share(per_frame(PASS), per_frame(NONE)),
    );
    println!(
        "the browser's transform alone (worker pipe) adds {:+.1} % (per decoded frame {:+.1} %)",
        share(total(PIPE), total(NONE)),
        share(per_frame(PIPE), per_frame(NONE)),
    );
    (
        share(total(SFRAME), total(NONE)),
        share(total(PASS), total(NONE)),
    )
}

/// Item 3 of issue 18: a call's CPU with SFrame, with a pass-through
/// transform (same worker and pipes, no crypto), with a worker that only
/// pipes the frames (the browser's transform alone) and with no transform,
/// in one run: 1:1 and four people in Chromium, 1:1 in Firefox; per browser
/// and per thread, with the worker's thread split into those parts. The
/// smoke run checks the four modes in a short Chromium 1:1.
///
/// `CONFIDE_BENCH_BASE_DIST=<dist>` (`cargo xtask bench cpu --base <dist>`)
/// measures a second build side by side: it is served by a relay of its
/// own, and every mode runs base then change (change then base in every
/// other round), so a drifting load hits both alike.
#[tokio::test]
#[ignore = "needs the browsers and the built app: run `cargo xtask test` or `cargo xtask bench cpu`"]
async fn cpu() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let env = BrowserEnv::from_env();
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let base_relay = match std::env::var_os("CONFIDE_BENCH_BASE_DIST") {
        Some(dist) if !dist.is_empty() => {
            Some(TestRelay::start(Some(std::path::PathBuf::from(dist))).await)
        }
        _ => None,
    };
    // (label, relay) of each build measured.
    let mut builds: Vec<(&str, &TestRelay)> = Vec::new();
    if let Some(base) = &base_relay {
        builds.push(("base", base));
    }
    builds.push((if base_relay.is_some() { "change" } else { "" }, &relay));
    let driver = Driver::start(&env).await;
    let number = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let (secs, rounds) = if full() {
        (
            number("CONFIDE_BENCH_SECS", 60),
            number("CONFIDE_BENCH_ROUNDS", 1).max(1),
        )
    } else {
        (2, 1)
    };
    // `CONFIDE_BENCH_CALLS=chromium-2,chromium-4,firefox-2` picks calls.
    let only = std::env::var("CONFIDE_BENCH_CALLS").unwrap_or_default();
    let warm_up = Duration::from_secs(if full() { 10 } else { 1 });
    let mut runs: Vec<(&str, &str, usize, &str)> =
        vec![("Chromium 1:1", "chromium", 1, "chromium-2")];
    if full() {
        runs.push(("Chromium, 4 people", "chromium", 3, "chromium-4"));
        if env.firefox.exists() {
            runs.push(("Firefox 1:1", "firefox", 1, "firefox-2"));
        }
    }
    runs.retain(|(.., key)| only.is_empty() || only.split(',').any(|k| k == *key));
    println!("\nload before: {}", loadavg());
    for (title, engine, guests, _) in runs {
        // Per build and mode over all rounds: CPU seconds and decoded
        // frames; per build, each round's SFrame and pass-through shares.
        let mut sums = vec![[(0.0, 0.0); CPU_MODES.len()]; builds.len()];
        let mut worker_sums = vec![[0.0; CPU_MODES.len()]; builds.len()];
        let mut shares: Vec<Vec<(f64, f64)>> = vec![Vec::new(); builds.len()];
        for round in 0..rounds {
            // Every other round in reverse (modes and builds), so a
            // drifting load hits every mode and build alike.
            let mut order: Vec<(usize, usize)> = (0..CPU_MODES.len())
                .flat_map(|m| (0..builds.len()).map(move |b| (m, b)))
                .collect();
            if round % 2 == 1 {
                order.reverse();
            }
            let mut calls: Vec<(usize, usize, &str, CallCpu)> = Vec::new();
            for (i, b) in order {
                let (mode, label) = CPU_MODES[i];
                let call = measure_call(
                    &env,
                    &driver,
                    builds[b].1,
                    engine,
                    guests,
                    mode,
                    warm_up,
                    secs,
                )
                .await;
                sums[b][i].0 += call.total();
                worker_sums[b][i] += call.worker_seconds();
                sums[b][i].1 += call.decoded_per_s * secs as f64;
                calls.push((i, b, label, call));
            }
            calls.sort_by_key(|(i, b, ..)| (*b, *i));
            for (b, (build, _)) in builds.iter().enumerate() {
                let mine: Vec<(&str, CallCpu)> = calls
                    .iter()
                    .filter(|(_, cb, ..)| *cb == b)
                    .map(|(_, _, l, c)| (*l, c.clone()))
                    .collect();
                let build = if build.is_empty() {
                    String::new()
                } else {
                    format!(" [{build}]")
                };
                shares[b].push(print_cpu(
                    &format!("{title}{build}, round {} of {rounds}", round + 1),
                    secs,
                    &mine,
                ));
            }
        }
        let share = |a: f64, base: f64| 100.0 * (a - base) / base;
        for (b, (build, _)) in builds.iter().enumerate() {
            let sums = &sums[b];
            let per_frame = |i: usize| sums[i].0 / sums[i].1;
            let median_max = |pick: fn(&(f64, f64)) -> f64| {
                median_and_max(&mut shares[b].iter().map(pick).collect::<Vec<f64>>())
            };
            let (sframe_median, sframe_max) = median_max(|s| s.0);
            let (pass_median, pass_max) = median_max(|s| s.1);
            println!(
                "{title}{}, all {rounds} rounds: CPU s {:.2} / {:.2} / {:.2} (SFrame / pass-through / none); encryption adds {:+.1} % (per decoded frame {:+.1} %; rounds: median {:+.1} %, max {:+.1} %), plumbing {:+.1} % (per decoded frame {:+.1} %; rounds: median {:+.1} %, max {:+.1} %)",
                if build.is_empty() {
                    String::new()
                } else {
                    format!(" [{build}]")
                },
                sums[SFRAME].0,
                sums[PASS].0,
                sums[NONE].0,
                share(sums[SFRAME].0, sums[NONE].0),
                share(per_frame(SFRAME), per_frame(NONE)),
                sframe_median,
                sframe_max,
                share(sums[PASS].0, sums[NONE].0),
                share(per_frame(PASS), per_frame(NONE)),
                pass_median,
                pass_max,
            );
            print_worker_split(&worker_sums[b], sums[NONE].0);
        }
    }
    println!("load after: {}", loadavg());
}
