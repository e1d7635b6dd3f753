//! TEST ONLY (cargo feature `test-hooks`): lets browser tests look into the
//! live call and switch decryption off on this receiver, to prove that the
//! media is really encrypted. Absent from release builds.
//!
//! From JavaScript (`window.wasmBindings`):
//! - `await confide_call_report()`: per peer, inbound/outbound RTP stats;
//!   `sender_kid`, the key id our frames are encrypted with now; `worker`,
//!   the frame-crypto worker's last per-stream counters; `refused`, how many
//!   relay messages this browser refused (altered, replayed, forged);
//!   `counsellor_tag`, which key of `peers` is the counsellor (guests).
//! - `confide_call_skip_decrypt(true)`: this browser's worker hands received
//!   frames to the decoder undecrypted.
//!   `negotiation`: per peer, whether we offer and how many offer/answer
//!   exchanges completed.
//! - `confide_call_restart_ice()`: what "Erneut versuchen" does, for every peer.
//! - `confide_test_remote_sdps()`: every remote description as it arrived.
//! - `confide_call_give_up_after(ms)`: a lost relay connection is given up
//!   after `ms` instead of the relay's 2-minute grace period.
//! - `confide_test_plan_in(start_in, opens_before, length, label)`: plans an
//!   appointment starting `start_in` seconds from now whose link opens
//!   `opens_before` seconds earlier and lasts `length` seconds (the form
//!   offers whole minutes and days; tests need seconds: the shortened clock).

use std::cell::RefCell;
use std::rc::Weak;

use serde_json::{Value, json};
use wasm_bindgen::prelude::*;

use confide_shared::envelope::ParticipantId;

use super::Inner;
use crate::rtc::peer_tag;

thread_local! {
    static CURRENT: RefCell<Weak<RefCell<Inner>>> = const { RefCell::new(Weak::new()) };
}

/// With `?skip_decrypt=1` in the page's URL, this receiver never decrypts
/// `peer`'s frames, from the first frame on.
pub(super) fn skip_decrypt_if_asked(crypto: &crate::rtc::FrameCrypto, peer: &ParticipantId) {
    if crate::rtc::test_hooks::skip_decrypt_asked() {
        let _ = crypto.skip_decrypt(peer, true);
    }
}

/// Remembers the page's controller for the hooks below, and the page's
/// test switches in its URL (`?certificates=`, `?skip_decrypt=1`).
pub(super) fn register(inner: Weak<RefCell<Inner>>) {
    crate::rtc::test_hooks::remember_page_switches();
    CURRENT.with(|current| *current.borrow_mut() = inner);
}

/// Inbound and outbound RTP stats of every peer connection of the call.
#[wasm_bindgen]
pub async fn confide_call_report() -> Result<JsValue, JsValue> {
    let connections = CURRENT.with(|current| {
        let inner = current.borrow().upgrade()?;
        let inner = inner.try_borrow().ok()?;
        let mesh = inner.mesh.as_ref()?;
        let peers = mesh
            .peers()
            .into_iter()
            .map(|peer| {
                (
                    peer_tag(&peer),
                    mesh.peer_connection(&peer),
                    mesh.negotiations(&peer),
                )
            })
            .collect::<Vec<_>>();
        let counsellor = inner
            .peers
            .values()
            .find(|p| p.is_host)
            .map(|p| peer_tag(&p.participant));
        Some((peers, mesh.worker_stats(), inner.refused, counsellor))
    });
    let Some((connections, worker, refused, counsellor)) = connections else {
        return Err(JsValue::from_str("no call"));
    };
    let mut peers = serde_json::Map::new();
    let mut negotiation = serde_json::Map::new();
    for (tag, pc, negotiations) in connections {
        if let Some((offerer, completed)) = negotiations {
            negotiation.insert(
                tag.clone(),
                json!({ "offerer": offerer, "completed": completed }),
            );
        }
        peers.insert(tag, crate::rtc::test_hooks::inbound(pc).await);
    }
    js_sys::JSON::parse(
        &json!({
            "peers": Value::Object(peers),
            "sender_kid": worker.sender_kid,
            "worker": worker,
            "refused": refused,
            "negotiation": Value::Object(negotiation),
            "counsellor_tag": counsellor,
        })
        .to_string(),
    )
}

/// Switches decryption of every received frame off (`true`) or on again.
#[wasm_bindgen]
pub fn confide_call_skip_decrypt(on: bool) -> Result<(), JsValue> {
    CURRENT.with(|current| {
        let inner = current.borrow().upgrade().ok_or("no call")?;
        let inner = inner.try_borrow().map_err(|_| "busy")?;
        let crypto = inner.crypto.as_ref().ok_or("no call")?;
        for peer in inner.peers.values() {
            crypto
                .skip_decrypt(&peer.participant, on)
                .map_err(|e| JsValue::from_str(&e.to_string()))?;
        }
        Ok(())
    })
}

/// Asks for new connections to every peer, as "Erneut versuchen" does: the
/// offerer offers again with an ICE restart, the other side asks it to.
#[wasm_bindgen]
pub fn confide_call_restart_ice() -> Result<(), JsValue> {
    CURRENT.with(|current| {
        let inner = current.borrow().upgrade().ok_or("no call")?;
        let inner = inner.try_borrow().map_err(|_| "busy")?;
        let mesh = inner.mesh.as_ref().ok_or("no call")?;
        for peer in inner.peers.values() {
            mesh.retry_media(peer.participant);
        }
        Ok(())
    })
}

/// Gives up reconnecting to the relay after `ms` (tests cannot wait 2 minutes).
#[wasm_bindgen]
pub fn confide_call_give_up_after(ms: u32) -> Result<(), JsValue> {
    CURRENT.with(|current| {
        let inner = current.borrow().upgrade().ok_or("no call")?;
        let mut inner = inner.try_borrow_mut().map_err(|_| "busy")?;
        let policy = inner.reconnect.policy();
        inner
            .reconnect
            .set_policy(confide_shared::reconnect::ReconnectPolicy {
                give_up_after_ms: u64::from(ms),
                ..policy
            });
        Ok(())
    })
}

/// Media errors (a refused session description, a worker error), in the
/// `data-confide-media-errors` attribute of `<body>`, one per line, so tests
/// can tell what the browser refused from what the person was shown.
pub(super) fn record_media_error(message: &str) {
    let Some(body) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
    else {
        return;
    };
    let mut errors = body
        .get_attribute("data-confide-media-errors")
        .unwrap_or_default();
    errors.push_str(message);
    errors.push('\n');
    let _ = body.set_attribute("data-confide-media-errors", &errors);
}

/// Why the last session ended (or the last message was refused), in the
/// `data-confide-reason` attribute of `<body>` (and every such reason in
/// `data-confide-reasons`), so a failed test can say why.
pub(super) fn record_reason(reason: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Some(body) = document.body() {
        let _ = body.set_attribute("data-confide-reason", reason);
        // Every reason in order, so a test that counts refusals can say which.
        let mut all = body
            .get_attribute("data-confide-reasons")
            .unwrap_or_default();
        all.push_str(reason);
        all.push('\n');
        let _ = body.set_attribute("data-confide-reasons", &all);
        // Also as (visually hidden) text: failed tests print the page's text.
        if let Ok(note) = document.create_element("span") {
            note.set_class_name("visually-hidden");
            note.set_text_content(Some(&format!("[test build] {reason}")));
            let _ = body.append_child(&note);
        }
    }
}

/// Plans an appointment on the counsellor's start page in seconds, not
/// minutes (see the module documentation).
#[wasm_bindgen]
pub fn confide_test_plan_in(
    start_in: u32,
    opens_before: u32,
    length: u32,
    label: String,
) -> Result<(), JsValue> {
    CURRENT.with(|current| {
        let inner = current.borrow().upgrade().ok_or("no controller")?;
        let mut inner = inner.try_borrow_mut().map_err(|_| "busy")?;
        let starts = super::planner::now_secs() + u64::from(start_in);
        let appointment =
            confide_shared::appointment::Appointment::new(starts, opens_before, length)
                .map_err(|e| e.to_string())?;
        let me = inner.me.clone();
        inner
            .planner
            .plan_appointment(&me, appointment, &label, super::voice::address())
            .map_err(|()| "label refused")?;
        inner.refresh_start();
        Ok(())
    })
}
