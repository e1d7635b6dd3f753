//! TEST ONLY (feature `test-hooks`): `cargo xtask bench frames` — the
//! worker's own per-frame path against WebCrypto, in the same worker and run.
//!
//! Synthetic frames (`{data: ArrayBuffer}`, as the browser hands them over)
//! go through [`State::process_frame`], the function the `rtctransform` and
//! `createEncodedStreams` handlers call, so the figures include reading and
//! writing `frame.data` and the SFrame work of both suites; a third row,
//! `passthrough`, is the same path without the crypto (the boundary
//! alone). The frames have no `getMetadata()`, so the codec lookup of real
//! frames is not in these figures. The baseline is
//! AES-128-GCM with one `await crypto.subtle.encrypt` (and `decrypt`) per
//! frame. `performance.now()` is coarse in a page that is not cross-origin
//! isolated (100 µs in Chromium, 1 ms in Firefox), so each figure is a
//! batch's time divided by its frames; batches of every contender alternate
//! so machine noise hits all of them alike.

use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use serde_json::{Value, json};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::DedicatedWorkerGlobalScope;

use confide_shared::sframe::CipherSuite;

use super::protocol::{Direction, MediaKind, StreamOptions};
use super::streams::State;

/// The frames measured: label, bytes, kind, VP8 tag byte (bit 0 clear
/// marks a key frame, which keeps 10 bytes in clear instead of 3).
const FRAMES: [(&str, usize, MediaKind, u8); 4] = [
    ("opus_120", 120, MediaKind::Audio, 0xfc),
    ("vp8_delta_1200", 1200, MediaKind::Video, 0x01),
    ("vp8_delta_5000", 5000, MediaKind::Video, 0x01),
    ("vp8_key_50000", 50_000, MediaKind::Video, 0x00),
];

const PEER: &str = "bench";

/// Handles `{type: "bench_frames", batches, per_batch}` (`per_batch`
/// frames of 50 KB, more of smaller ones); answers with
/// `{type: "bench_result", result}` (a JSON string) or `{..., error}`.
pub(crate) fn handles(scope: &DedicatedWorkerGlobalScope, data: &JsValue) -> bool {
    let kind = Reflect::get(data, &"type".into())
        .ok()
        .and_then(|t| t.as_string());
    if kind.as_deref() != Some("bench_frames") {
        return false;
    }
    let number = |name: &str, default: f64| {
        Reflect::get(data, &name.into())
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(default)
            .clamp(1.0, 10_000.0) as usize
    };
    let batches = number("batches", 30.0);
    let per_batch = number("per_batch", 50.0);
    let scope = scope.clone();
    spawn_local(async move {
        let answer = Object::new();
        let _ = Reflect::set(&answer, &"type".into(), &"bench_result".into());
        match run(&scope, batches, per_batch).await {
            Ok(result) => {
                let _ = Reflect::set(&answer, &"result".into(), &result.to_string().into());
            }
            Err(e) => {
                let _ = Reflect::set(&answer, &"error".into(), &format!("{e:?}").into());
            }
        }
        let _ = scope.post_message(&answer);
    });
    true
}

/// Microseconds per frame of each batch, per contender and operation.
#[derive(Default)]
struct Samples {
    rows: Vec<(String, Vec<f64>)>,
}

impl Samples {
    fn push(&mut self, name: &str, us_per_frame: f64) {
        match self.rows.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(us_per_frame),
            None => self.rows.push((name.to_string(), vec![us_per_frame])),
        }
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

struct Clock {
    performance: JsValue,
    now: Function,
}

impl Clock {
    fn new() -> Result<Clock, JsValue> {
        let performance = Reflect::get(&js_sys::global(), &"performance".into())?;
        let now = Reflect::get(&performance, &"now".into())?.dyn_into()?;
        Ok(Clock { performance, now })
    }

    fn ms(&self) -> f64 {
        self.now
            .call0(&self.performance)
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
    }
}

/// WebCrypto AES-128-GCM with one awaited call per frame.
struct WebCrypto {
    subtle: JsValue,
    encrypt: Function,
    decrypt: Function,
    key: JsValue,
}

impl WebCrypto {
    async fn new() -> Result<WebCrypto, JsValue> {
        let crypto = Reflect::get(&js_sys::global(), &"crypto".into())?;
        let subtle = Reflect::get(&crypto, &"subtle".into())?;
        let import: Function = Reflect::get(&subtle, &"importKey".into())?.dyn_into()?;
        let mut raw = [0u8; 16];
        getrandom::getrandom(&mut raw).map_err(|e| JsValue::from_str(&e.to_string()))?;
        let args = Array::of5(
            &"raw".into(),
            &Uint8Array::from(raw.as_slice()),
            &"AES-GCM".into(),
            &false.into(),
            &Array::of2(&"encrypt".into(), &"decrypt".into()),
        );
        let key = JsFuture::from(js_sys::Promise::from(import.apply(&subtle, &args)?)).await?;
        Ok(WebCrypto {
            encrypt: Reflect::get(&subtle, &"encrypt".into())?.dyn_into()?,
            decrypt: Reflect::get(&subtle, &"decrypt".into())?.dyn_into()?,
            subtle,
            key,
        })
    }

    async fn call(&self, f: &Function, counter: u64, data: &JsValue) -> Result<JsValue, JsValue> {
        let mut iv = [0u8; 12];
        iv[4..].copy_from_slice(&counter.to_be_bytes());
        let params = Object::new();
        Reflect::set(&params, &"name".into(), &"AES-GCM".into())?;
        Reflect::set(&params, &"iv".into(), &Uint8Array::from(iv.as_slice()))?;
        let promise = f.call3(&self.subtle, &params, &self.key, data)?;
        JsFuture::from(js_sys::Promise::from(promise)).await
    }
}

/// A sender and a receiving stream of one suite, as in a call (or, with
/// `pass_through`, the same path without the crypto).
struct Confide {
    state: State,
    send: u32,
    recv: u32,
}

impl Confide {
    fn new(
        scope: &DedicatedWorkerGlobalScope,
        suite: CipherSuite,
        kind: MediaKind,
        pass_through: bool,
    ) -> Result<Confide, JsValue> {
        let mut state = State::new(scope.clone());
        if pass_through {
            state.pass_through();
        }
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).map_err(|e| JsValue::from_str(&e.to_string()))?;
        state
            .set_sender_key(suite, 1, key)
            .map_err(JsValue::from_str)?;
        state
            .set_receiver_key(PEER, suite, 1, key)
            .map_err(|e| JsValue::from_str(&e.to_string()))?;
        key.fill(0);
        let options = |direction| StreamOptions {
            peer: PEER.to_string(),
            direction,
            kind,
        };
        let send = state.add_detached_stream(options(Direction::Send));
        let recv = state.add_detached_stream(options(Direction::Recv));
        Ok(Confide { state, send, recv })
    }
}

async fn run(
    scope: &DedicatedWorkerGlobalScope,
    batches: usize,
    per_batch: usize,
) -> Result<Value, JsValue> {
    let clock = Clock::new()?;
    let webcrypto = WebCrypto::new().await?;
    let mut results = Vec::new();
    let mut counter = 0u64;
    for (label, size, kind, tag) in FRAMES {
        // `per_batch` is for the largest frame; smaller ones get more per
        // batch (up to 40×), so that a batch outlasts the coarse clock.
        let per_batch = per_batch * (FRAMES[3].1 / size).clamp(1, 40);
        let mut plain = vec![0u8; size];
        getrandom::getrandom(&mut plain).map_err(|e| JsValue::from_str(&e.to_string()))?;
        plain[0] = tag;
        let mut suites = [
            (
                "chacha20poly1305",
                Confide::new(
                    scope,
                    CipherSuite::ChaCha20Poly1305Sha256Tag128,
                    kind,
                    false,
                )?,
            ),
            (
                "aes128gcm",
                Confide::new(scope, CipherSuite::Aes128GcmSha256Tag128, kind, false)?,
            ),
            // The boundary alone: the same reads, copies and writes of
            // `frame.data`, no crypto ("encrypt" = send side, "decrypt" =
            // receive side).
            (
                "passthrough",
                Confide::new(scope, CipherSuite::default(), kind, true)?,
            ),
        ];
        let mut samples = Samples::default();
        for _ in 0..batches {
            // WebCrypto: the data is ready before the clock starts.
            let inputs: Vec<JsValue> = (0..per_batch)
                .map(|_| Uint8Array::from(plain.as_slice()).into())
                .collect();
            let mut sealed = Vec::with_capacity(per_batch);
            let start = clock.ms();
            for input in &inputs {
                counter += 1;
                sealed.push((
                    counter,
                    webcrypto.call(&webcrypto.encrypt, counter, input).await?,
                ));
            }
            let middle = clock.ms();
            for (n, data) in &sealed {
                webcrypto.call(&webcrypto.decrypt, *n, data).await?;
            }
            let end = clock.ms();
            samples.push(
                "webcrypto_aesgcm_encrypt",
                (middle - start) * 1000.0 / per_batch as f64,
            );
            samples.push(
                "webcrypto_aesgcm_decrypt",
                (end - middle) * 1000.0 / per_batch as f64,
            );

            for (name, confide) in suites.iter_mut() {
                let frames: Vec<Object> = (0..per_batch)
                    .map(|_| {
                        let frame = Object::new();
                        let data = Uint8Array::from(plain.as_slice()).buffer();
                        let _ = Reflect::set(&frame, &"data".into(), &data);
                        frame
                    })
                    .collect();
                let start = clock.ms();
                for frame in &frames {
                    if !confide.state.process_frame(confide.send, frame) {
                        return Err(JsValue::from_str("encryption dropped a frame"));
                    }
                }
                let middle = clock.ms();
                for frame in &frames {
                    if !confide.state.process_frame(confide.recv, frame) {
                        return Err(JsValue::from_str("decryption dropped a frame"));
                    }
                }
                let end = clock.ms();
                // The round trip gave the plaintext back.
                let first = frames.first().map(|f| Reflect::get(f, &"data".into()));
                if let Some(Ok(data)) = first
                    && Uint8Array::new(&data).to_vec() != plain
                {
                    return Err(JsValue::from_str("decryption gave other bytes"));
                }
                samples.push(
                    &format!("{name}_encrypt"),
                    (middle - start) * 1000.0 / per_batch as f64,
                );
                samples.push(
                    &format!("{name}_decrypt"),
                    (end - middle) * 1000.0 / per_batch as f64,
                );
            }
        }
        let mut row = serde_json::Map::new();
        for (name, mut values) in samples.rows {
            values.sort_by(f64::total_cmp);
            row.insert(
                name,
                json!({"median_us": percentile(&values, 0.5), "p99_us": percentile(&values, 0.99)}),
            );
        }
        results.push(
            json!({"frame": label, "bytes": size, "per_batch": per_batch, "us_per_frame": row}),
        );
    }
    Ok(json!({"batches": batches, "per_batch_50k": per_batch, "frames": results}))
}
