//! A DTLS certificate made before a connection needs it.
//!
//! An `RTCPeerConnection` without `certificates` in its configuration makes
//! its own key pair, and its first offer or answer waits for that (in
//! Firefox about 100 ms of the time to the first picture,
//! docs/BENCHMARKS.md §12.8). Here one certificate is kept ready: each new
//! connection takes it and the next one is made at once, so every
//! connection still has a key pair of its own (the relay, which sees the
//! DTLS handshakes it relays, cannot link two connections by their
//! certificate).

use std::cell::RefCell;

use js_sys::{Date, Object, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::RtcPeerConnection;

/// A certificate that expires sooner than this is not used: the browser's
/// own default lifetime is 30 days, so only a page left open for weeks
/// meets one.
const MIN_REMAINING_MS: f64 = 24.0 * 60.0 * 60.0 * 1000.0;

#[derive(Default)]
struct Pool {
    ready: Option<JsValue>,
    making: bool,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool::default());
}

/// Starts making a certificate unless one is ready or being made.
pub fn prepare() {
    let start = POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let start = pool.ready.is_none() && !pool.making;
        pool.making |= start;
        start
    });
    if !start {
        return;
    }
    spawn_local(async {
        let made = generate().await;
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            pool.making = false;
            pool.ready = made;
        });
    });
}

/// The ready certificate for a new connection, if there is one (else the
/// browser makes its own, as without this module); the next is started.
pub fn take() -> Option<JsValue> {
    let ready = POOL.with(|pool| pool.borrow_mut().ready.take());
    prepare();
    ready.filter(|certificate| {
        Reflect::get(certificate, &"expires".into())
            .ok()
            .and_then(|expires| expires.as_f64())
            .is_some_and(|expires| expires - Date::now() > MIN_REMAINING_MS)
    })
}

/// An ECDSA P-256 certificate, what both browsers make by default.
async fn generate() -> Option<JsValue> {
    let algorithm = Object::new();
    Reflect::set(&algorithm, &"name".into(), &"ECDSA".into()).ok()?;
    Reflect::set(&algorithm, &"namedCurve".into(), &"P-256".into()).ok()?;
    let promise = RtcPeerConnection::generate_certificate_with_object(&algorithm).ok()?;
    let certificate = JsFuture::from(promise).await.ok()?;
    #[cfg(feature = "test-hooks")]
    super::test_hooks::record_certificate(&certificate);
    Some(certificate)
}
