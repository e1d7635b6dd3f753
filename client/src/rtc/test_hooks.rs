//! TEST ONLY (cargo feature `test-hooks`): a loopback call between two
//! meshes in one page, so browser tests can prove the frame crypto path
//! without signaling or the session controller.
//!
//! From JavaScript (Trunk exposes the exports as `window.wasmBindings`):
//!
//! - `await confide_test_loopback({skip_decrypt, receiver_key})` starts the
//!   call: participant A offers, B answers, signals are handed over
//!   directly. `receiver_key: false` keeps A's key from B; `skip_decrypt:
//!   true` makes B's worker pass A's frames undecrypted. Resolves to the
//!   transform path (`"script"` or `"legacy"`).
//!   `late_receiver_transforms: true` reproduces the Chromium bug of
//!   receiver transforms set in the offerer's `track` event.
//! - `await confide_test_report()` gives B's inbound stats of A's media and
//!   vice versa, both workers' stats, both encryption states and the event log.
//! - `confide_test_replace_track(side, kind, track)` makes side `"a"` or
//!   `"b"` send `track` (any `MediaStreamTrack`, e.g. a canvas capture
//!   standing in for a screen, or `null`) through `Mesh::replace_track`;
//!   `confide_test_camera(side)` sends the call's camera again.
//! - `await confide_test_device_track(side, kind, device_id)` switches to
//!   a device with `rtc::device_track`; resolves to the new track's
//!   `{label, deviceId}`.
//! - `await confide_test_share_screen(side)` shares the screen with
//!   `rtc::share_screen` (call it in a click handler, as the app does);
//!   when the capture ends from outside, the side goes back to the camera
//!   and the log gets `"<side>:screen_ended"`.
//!   `confide_test_screen_track()` gives the screen track (to fire `ended`
//!   on it).
//! - `confide_test_ice(side, state)` makes a side's mesh react to ICE
//!   state `"disconnected"` or `"failed"` as if the browser reported it.
//! - `confide_test_drop_signals(side, kind, count)` loses the next `count`
//!   signals of `kind` (`"offer"`, `"answer"`, `"ice"`, `"ice_restart"`)
//!   that side sends, as a broken signaling channel would.
//! - `confide_test_hangup()` ends it.
//!
//! And for the app's own pages: `?certificates=hidden` in a page's URL makes
//! its DTLS check see no remote certificate (as when the browser has not
//! shown it yet), `?certificates=foreign` a different one than the
//! authenticated SDP names, so tests can watch both fail closed.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Array, Object, Reflect};
use serde_json::{Value, json};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{
    HtmlVideoElement, MediaStream, MediaStreamConstraints, MediaStreamTrack, RtcIceConnectionState,
    RtcPeerConnection,
};

use confide_shared::dtls::{Fingerprint, sdp_fingerprint};
use confide_shared::envelope::ParticipantId;
use confide_shared::ice_policy::TransportPolicy;
use confide_shared::sframe::CipherSuite;

use super::{
    EncryptionState, FrameCrypto, MediaKind, Mesh, RtcError, RtcEvent, ScreenShare,
    detect_transform_support, device_track, peer_tag, share_screen,
};

struct Loopback {
    a: Mesh,
    b: Mesh,
    a_id: ParticipantId,
    b_id: ParticipantId,
    local: MediaStream,
    videos: Vec<HtmlVideoElement>,
    /// Tracks the test switched to (stopped at hang-up).
    extra: RefCell<Vec<MediaStreamTrack>>,
    screen: RefCell<Option<ScreenShare>>,
}

impl Loopback {
    /// Side `"a"` or `"b"`: its mesh and the id of its peer.
    fn side(&self, side: &str) -> Result<(&Mesh, ParticipantId), JsValue> {
        match side {
            "a" => Ok((&self.a, self.b_id)),
            "b" => Ok((&self.b, self.a_id)),
            _ => Err(JsValue::from_str("side must be \"a\" or \"b\"")),
        }
    }
}

/// Runs `f` on the running loopback call (shared: mesh events may look
/// at the call while `f` runs).
fn with_loopback<T>(f: impl FnOnce(&Loopback) -> Result<T, JsValue>) -> Result<T, JsValue> {
    LOOPBACK.with(|lb| match lb.borrow().as_ref() {
        Some(lb) => f(lb),
        None => Err(JsValue::from_str("no loopback call")),
    })
}

fn log(line: String) {
    LOG.with(|log| log.borrow_mut().push(line));
}

fn parse_kind(kind: &str) -> Result<MediaKind, JsValue> {
    MediaKind::parse(kind).ok_or_else(|| JsValue::from_str("kind must be audio or video"))
}

thread_local! {
    static LOOPBACK: RefCell<Option<Loopback>> = const { RefCell::new(None) };
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// Signals to lose: (side, kind, how many more).
    static DROP: RefCell<Vec<(String, String, u32)>> = const { RefCell::new(Vec::new()) };
}

fn js_err(e: RtcError) -> JsValue {
    JsValue::from_str(&e.to_string())
}

fn random_key() -> Result<[u8; 32], JsValue> {
    let mut key = [0u8; 32];
    getrandom::getrandom(&mut key).map_err(|e| JsValue::from_str(&e.to_string()))?;
    Ok(key)
}

fn option_bool(options: &JsValue, name: &str, default: bool) -> bool {
    Reflect::get(options, &name.into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(default)
}

fn signal_kind(signal: &confide_shared::signal::Signal) -> &'static str {
    match signal {
        confide_shared::signal::Signal::Offer { .. } => "offer",
        confide_shared::signal::Signal::Answer { .. } => "answer",
        confide_shared::signal::Signal::Ice { .. } => "ice",
        confide_shared::signal::Signal::IceRestart {} => "ice_restart",
        _ => "other",
    }
}

/// Whether the test asked to lose this signal (counts it down).
fn lose(side: &str, kind: &str) -> bool {
    DROP.with(|drop| {
        let mut drop = drop.borrow_mut();
        let rule = drop
            .iter_mut()
            .find(|(s, k, n)| s == side && k == kind && *n > 0);
        rule.map(|(_, _, n)| *n -= 1).is_some()
    })
}

fn describe(event: &RtcEvent) -> String {
    match event {
        RtcEvent::Signal { signal, .. } => format!("signal:{}", signal_kind(signal)),
        RtcEvent::RemoteStream { .. } => "remote_stream".into(),
        RtcEvent::IceChecking { .. } => "ice_checking".into(),
        RtcEvent::Connected { .. } => "connected".into(),
        RtcEvent::Disconnected { .. } => "disconnected".into(),
        RtcEvent::FingerprintMismatch { .. } => "fingerprint_mismatch".into(),
        RtcEvent::TransformFailed {
            direction,
            kind,
            reason,
            ..
        } => format!(
            "transform_failed:{}:{}:{reason}",
            direction.as_str(),
            kind.as_str()
        ),
        RtcEvent::EncryptionState { all_encrypted } => format!("all_encrypted:{all_encrypted}"),
        RtcEvent::FramesDropped {
            direction,
            kind,
            reason,
            count,
            ..
        } => format!(
            "dropped:{}:{}:{reason}:{count}",
            direction.as_str(),
            kind.as_str()
        ),
        RtcEvent::SenderKeyRotationNeeded => "rotation_needed".into(),
        RtcEvent::MediaHealth { health, .. } => format!("media_health:{health:?}"),
        RtcEvent::Error { message, .. } => format!("error:{message}"),
    }
}

/// Event handler of one side: logs, forwards signals to the other side
/// (asynchronously, as a real channel would), shows remote video.
fn handler(side: &'static str) -> Rc<dyn Fn(RtcEvent)> {
    Rc::new(move |event: RtcEvent| {
        let line = format!("{side}:{}", describe(&event));
        LOG.with(|log| log.borrow_mut().push(line));
        match event {
            RtcEvent::Signal { signal, .. } if lose(side, signal_kind(&signal)) => {
                log(format!("{side}:lost:{}", signal_kind(&signal)));
            }
            RtcEvent::Signal { signal, .. } => spawn_local(async move {
                LOOPBACK.with(|lb| {
                    if let Some(lb) = lb.borrow().as_ref() {
                        if side == "a" {
                            lb.b.on_signal(lb.a_id, signal);
                        } else {
                            lb.a.on_signal(lb.b_id, signal);
                        }
                    }
                });
            }),
            RtcEvent::RemoteStream { stream, .. } => LOOPBACK.with(|lb| {
                if let Some(lb) = lb.borrow().as_ref() {
                    let index = usize::from(side == "b");
                    if let Some(video) = lb.videos.get(index) {
                        video.set_src_object(Some(&stream));
                    }
                }
            }),
            _ => {}
        }
    })
}

fn video_element(name: &str) -> Result<HtmlVideoElement, JsValue> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| JsValue::from_str("no document"))?;
    let video: HtmlVideoElement = document.create_element("video")?.unchecked_into();
    video.set_autoplay(true);
    video.set_muted(true);
    video.set_width(160);
    video.set_height(120);
    video.set_attribute("data-testid", name)?;
    if let Some(body) = document.body() {
        body.append_child(&video)?;
    }
    Ok(video)
}

/// Starts a loopback call; resolves to the transform path.
#[wasm_bindgen]
pub async fn confide_test_loopback(options: JsValue) -> Result<JsValue, JsValue> {
    confide_test_hangup();
    LOG.with(|log| log.borrow_mut().clear());
    DROP.with(|drop| drop.borrow_mut().clear());
    let skip = option_bool(&options, "skip_decrypt", false);
    let receiver_key = option_bool(&options, "receiver_key", true);
    let late = option_bool(&options, "late_receiver_transforms", false);
    let path = detect_transform_support().ok_or_else(|| js_err(RtcError::Unsupported))?;

    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let constraints = MediaStreamConstraints::new();
    constraints.set_audio(&JsValue::TRUE);
    constraints.set_video(&JsValue::TRUE);
    let local: MediaStream = JsFuture::from(
        window
            .navigator()
            .media_devices()?
            .get_user_media_with_constraints(&constraints)?,
    )
    .await?
    .unchecked_into();

    let crypto_a = FrameCrypto::start().await.map_err(js_err)?;
    let crypto_b = FrameCrypto::start().await.map_err(js_err)?;
    let a_id = ParticipantId::from_bytes([0xA1; 16]);
    let b_id = ParticipantId::from_bytes([0xB2; 16]);
    let suite = CipherSuite::default();
    let (key_a, key_b) = (random_key()?, random_key()?);
    crypto_a.set_sender_key(1, &key_a, suite).map_err(js_err)?;
    crypto_b.set_sender_key(2, &key_b, suite).map_err(js_err)?;
    crypto_a
        .set_receiver_key(&b_id, 2, &key_b, suite)
        .map_err(js_err)?;
    if receiver_key {
        crypto_b
            .set_receiver_key(&a_id, 1, &key_a, suite)
            .map_err(js_err)?;
    }
    if skip {
        crypto_b.skip_decrypt(&a_id, true).map_err(js_err)?;
    }

    let a = Mesh::new(crypto_a, path, &local, Vec::new(), handler("a"));
    let b = Mesh::new(crypto_b, path, &local, Vec::new(), handler("b"));
    a.set_late_receiver_transforms(late);
    let videos = vec![video_element("loopback-a")?, video_element("loopback-b")?];
    LOOPBACK.with(|lb| {
        *lb.borrow_mut() = Some(Loopback {
            a,
            b,
            a_id,
            b_id,
            local,
            videos,
            extra: RefCell::new(Vec::new()),
            screen: RefCell::new(None),
        });
    });
    LOOPBACK.with(|lb| -> Result<(), JsValue> {
        if let Some(lb) = lb.borrow().as_ref() {
            lb.b.add_peer(a_id, false, TransportPolicy::All)
                .map_err(js_err)?;
            lb.a.add_peer(b_id, true, TransportPolicy::All)
                .map_err(js_err)?;
        }
        Ok(())
    })?;
    Ok(JsValue::from_str(path.as_str()))
}

/// Inbound RTP and codec stats of `pc`, by kind.
pub(crate) async fn inbound(pc: Option<RtcPeerConnection>) -> Value {
    let Some(pc) = pc else { return Value::Null };
    let Ok(report) = JsFuture::from(pc.get_stats()).await else {
        return Value::Null;
    };
    let mut all: Vec<JsValue> = Vec::new();
    if let Ok(values) = Reflect::get(&report, &"values".into())
        && let Ok(values) = values.dyn_into::<js_sys::Function>()
        && let Ok(iterator) = values.call0(&report)
        && let Ok(Some(iter)) = js_sys::try_iter(&iterator)
    {
        all.extend(iter.flatten());
    }
    let get = |stat: &JsValue, name: &str| Reflect::get(stat, &name.into()).ok();
    let codec_of = |id: Option<JsValue>| {
        let id = id.and_then(|id| id.as_string())?;
        all.iter()
            .find(|s| get(s, "id").and_then(|v| v.as_string()).as_deref() == Some(id.as_str()))
            .and_then(|s| get(s, "mimeType"))
            .and_then(|m| m.as_string())
    };
    let mut out = serde_json::Map::new();
    for stat in &all {
        let kind = get(stat, "type").and_then(|t| t.as_string());
        let media = get(stat, "kind")
            .and_then(|k| k.as_string())
            .unwrap_or_default();
        let num = |name: &str| get(stat, name).and_then(|v| v.as_f64());
        match kind.as_deref() {
            Some("inbound-rtp") => {
                out.insert(
                    format!("in_{media}"),
                    json!({
                        "packetsReceived": num("packetsReceived"),
                        "framesReceived": num("framesReceived"),
                        "framesDecoded": num("framesDecoded"),
                        "keyFramesDecoded": num("keyFramesDecoded"),
                        "pliCount": num("pliCount"),
                        "totalSamplesReceived": num("totalSamplesReceived"),
                        "concealedSamples": num("concealedSamples"),
                        // What the received sound carried: zero energy is silence.
                        "totalAudioEnergy": num("totalAudioEnergy"),
                        "codec": codec_of(get(stat, "codecId")),
                    }),
                );
            }
            Some("outbound-rtp") => {
                out.insert(
                    format!("out_{media}"),
                    json!({
                        "packetsSent": num("packetsSent"),
                        "framesEncoded": num("framesEncoded"),
                        "codec": codec_of(get(stat, "codecId")),
                    }),
                );
            }
            _ => {}
        }
    }
    out.insert("ice".into(), candidates(&all));
    out.insert("dtls".into(), own_certificate(&pc));
    Value::Object(out)
}

/// Notes the SHA-256 fingerprint of a certificate `rtc/certificate.rs` made.
pub(crate) fn record_certificate(certificate: &JsValue) {
    let fingerprints = Reflect::get(certificate, &"getFingerprints".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call0(certificate).ok())
        .map(|list| Array::from(&list))
        .unwrap_or_default();
    for fingerprint in fingerprints.iter() {
        let text = |name: &str| {
            Reflect::get(&fingerprint, &name.into())
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        if text("algorithm").eq_ignore_ascii_case("sha-256")
            && let Ok(parsed) = Fingerprint::parse_hex(&text("value"))
        {
            MADE_CERTIFICATES.with(|made| made.borrow_mut().push(parsed));
        }
    }
}

/// The fingerprint the connection's description announces, and whether it
/// is one of a certificate `rtc/certificate.rs` made ahead: the group test
/// checks both, and that each connection has a key pair of its own.
fn own_certificate(pc: &RtcPeerConnection) -> Value {
    let fingerprint = pc
        .local_description()
        .and_then(|d| sdp_fingerprint(&d.sdp()).ok());
    let made_ahead =
        fingerprint.is_some_and(|f| MADE_CERTIFICATES.with(|made| made.borrow().contains(&f)));
    json!({
        "local_fingerprint": fingerprint.map(|f| format!("{f:?}")),
        "made_ahead": made_ahead,
    })
}

/// The ICE candidates of both sides and the pair in use, from `getStats()`:
/// which addresses this browser learned from the other side (the NAT test
/// checks that no guest learns another guest's), and whether the call runs
/// through the relay's TURN server (`selected.local_type == "relay"`).
fn candidates(all: &[JsValue]) -> Value {
    let get = |stat: &JsValue, name: &str| Reflect::get(stat, &name.into()).ok();
    let text = |stat: &JsValue, name: &str| get(stat, name).and_then(|v| v.as_string());
    let of_type = |kind: &str| {
        all.iter()
            .filter(move |s| text(s, "type").as_deref() == Some(kind))
            .collect::<Vec<_>>()
    };
    let describe = |stat: &JsValue| {
        json!({
            "id": text(stat, "id"),
            "type": text(stat, "candidateType"),
            "address": text(stat, "address").or_else(|| text(stat, "ip")),
            "protocol": text(stat, "protocol"),
            "relay_protocol": text(stat, "relayProtocol"),
        })
    };
    let locals: Vec<Value> = of_type("local-candidate")
        .into_iter()
        .map(describe)
        .collect();
    let remotes: Vec<Value> = of_type("remote-candidate")
        .into_iter()
        .map(describe)
        .collect();
    let selected_id = of_type("transport")
        .into_iter()
        .find_map(|t| text(t, "selectedCandidatePairId"));
    let truthy =
        |stat: &JsValue, name: &str| get(stat, name).and_then(|v| v.as_bool()) == Some(true);
    let pairs = of_type("candidate-pair");
    // Chromium names the pair in the transport; Firefox marks it `selected`.
    let selected = pairs
        .iter()
        .find(|p| selected_id.is_some() && text(p, "id") == selected_id)
        .or_else(|| pairs.iter().find(|p| truthy(p, "selected")))
        .or_else(|| {
            pairs.iter().find(|p| {
                truthy(p, "nominated") && text(p, "state").as_deref() == Some("succeeded")
            })
        });
    let kind_of = |list: &[Value], id: Option<String>| {
        list.iter()
            .find(|c| c["id"].as_str().is_some() && c["id"].as_str() == id.as_deref())
            .cloned()
            .unwrap_or(Value::Null)
    };
    let selected = selected.map_or(Value::Null, |pair| {
        let local = kind_of(&locals, text(pair, "localCandidateId"));
        let remote = kind_of(&remotes, text(pair, "remoteCandidateId"));
        json!({
            "state": text(pair, "state"),
            "local_type": local["type"],
            "local_relay_protocol": local["relay_protocol"],
            "remote_type": remote["type"],
        })
    });
    let succeeded = pairs
        .iter()
        .filter(|p| text(p, "state").as_deref() == Some("succeeded"))
        .count();
    json!({
        "local_candidates": locals,
        "remote_candidates": remotes,
        "selected": selected,
        "succeeded_pairs": succeeded,
    })
}

fn state_json(state: &EncryptionState) -> Value {
    json!({
        "all_encrypted": state.all_encrypted,
        "peers": state.peers.iter().map(|p| json!({
            "connected": p.connected,
            "fingerprint": format!("{:?}", p.fingerprint),
            "audio": format!("{:?}", p.audio),
            "video": format!("{:?}", p.video),
        })).collect::<Vec<_>>(),
    })
}

/// Stats of the running loopback call (see the module docs).
#[wasm_bindgen]
pub async fn confide_test_report() -> Result<JsValue, JsValue> {
    let handles = LOOPBACK.with(|lb| {
        lb.borrow().as_ref().map(|lb| {
            (
                lb.a.peer_connection(&lb.b_id),
                lb.b.peer_connection(&lb.a_id),
                serde_json::to_value(lb.a.worker_stats()).unwrap_or(Value::Null),
                serde_json::to_value(lb.b.worker_stats()).unwrap_or(Value::Null),
                state_json(&lb.a.encryption_state()),
                state_json(&lb.b.encryption_state()),
                lb.a.path().as_str(),
                peer_tag(&lb.a_id),
            )
        })
    });
    let Some((pc_a, pc_b, worker_a, worker_b, state_a, state_b, path, a_tag)) = handles else {
        return Err(JsValue::from_str("no loopback call"));
    };
    let (rtp_a, ice_a) = (inbound(pc_a.clone()).await, ice(pc_a).await);
    let (rtp_b, ice_b) = (inbound(pc_b.clone()).await, ice(pc_b).await);
    // The log last: it is at least as new as the states above (events
    // arrive while the stats are awaited).
    let log: Vec<String> = LOG.with(|log| log.borrow().clone());
    let report = json!({
        "path": path,
        "a_tag": a_tag,
        "a": { "rtp": rtp_a, "worker": worker_a, "state": state_a, "ice": ice_a },
        "b": { "rtp": rtp_b, "worker": worker_b, "state": state_b, "ice": ice_b },
        "log": log,
    });
    js_sys::JSON::parse(&report.to_string())
}

/// `a=ice-ufrag` of an SDP (bundled: the same on every m-line).
fn ufrag(sdp: Option<String>) -> Value {
    sdp.as_deref()
        .and_then(|sdp| {
            sdp.lines()
                .find_map(|line| line.trim().strip_prefix("a=ice-ufrag:"))
        })
        .map_or(Value::Null, |u| Value::from(u.to_string()))
}

/// ICE credentials, states and the transport's stats of `pc`.
async fn ice(pc: Option<RtcPeerConnection>) -> Value {
    let Some(pc) = pc else { return Value::Null };
    let text = |name: &str| {
        Reflect::get(&pc, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .map_or(Value::Null, Value::from)
    };
    let mut out = json!({
        "local_ufrag": ufrag(pc.local_description().map(|d| d.sdp())),
        "remote_ufrag": ufrag(pc.remote_description().map(|d| d.sdp())),
        "connection": text("connectionState"),
        "ice": text("iceConnectionState"),
        "signaling": text("signalingState"),
    });
    if let Ok(report) = JsFuture::from(pc.get_stats()).await
        && let Ok(values) = Reflect::get(&report, &"values".into())
        && let Ok(values) = values.dyn_into::<js_sys::Function>()
        && let Ok(iterator) = values.call0(&report)
        && let Ok(Some(iter)) = js_sys::try_iter(&iterator)
    {
        for stat in iter.flatten() {
            let get = |name: &str| Reflect::get(&stat, &name.into()).ok();
            if get("type").and_then(|t| t.as_string()).as_deref() != Some("transport") {
                continue;
            }
            let field = |name: &str| {
                get(name).map_or(Value::Null, |v| {
                    v.as_string()
                        .map(Value::from)
                        .or_else(|| v.as_f64().map(Value::from))
                        .unwrap_or(Value::Null)
                })
            };
            out["transport"] = json!({
                "iceLocalUsernameFragment": field("iceLocalUsernameFragment"),
                "iceState": field("iceState"),
                "dtlsState": field("dtlsState"),
                "selectedCandidatePairChanges": field("selectedCandidatePairChanges"),
                "bytesReceived": field("bytesReceived"),
            });
        }
    }
    out
}

/// Makes `side` send `track` (a `MediaStreamTrack` or `null`) as `kind`.
#[wasm_bindgen]
pub fn confide_test_replace_track(side: &str, kind: &str, track: JsValue) -> Result<(), JsValue> {
    let kind = parse_kind(kind)?;
    let track = if track.is_null() || track.is_undefined() {
        None
    } else {
        Some(
            track
                .dyn_into::<MediaStreamTrack>()
                .map_err(|_| JsValue::from_str("not a MediaStreamTrack"))?,
        )
    };
    with_loopback(|lb| {
        let (mesh, _) = lb.side(side)?;
        mesh.replace_track(kind, track.as_ref()).map_err(js_err)
    })?;
    log(format!("{side}:replaced:{}", kind.as_str()));
    Ok(())
}

/// Makes `side` send the call's camera again.
#[wasm_bindgen]
pub fn confide_test_camera(side: &str) -> Result<(), JsValue> {
    with_loopback(|lb| {
        let camera = lb
            .local
            .get_video_tracks()
            .get(0)
            .dyn_into::<MediaStreamTrack>()
            .ok();
        let (mesh, _) = lb.side(side)?;
        mesh.replace_track(MediaKind::Video, camera.as_ref())
            .map_err(js_err)
    })?;
    log(format!("{side}:camera"));
    Ok(())
}

/// Switches `side` to the device `device_id` with `rtc::device_track`.
#[wasm_bindgen]
pub async fn confide_test_device_track(
    side: String,
    kind: String,
    device_id: String,
) -> Result<JsValue, JsValue> {
    let kind = parse_kind(&kind)?;
    let track = device_track(kind, &device_id).await.map_err(js_err)?;
    let settings = track.get_settings();
    let result = json!({
        "label": track.label(),
        "deviceId": settings.get_device_id(),
    });
    with_loopback(|lb| {
        let (mesh, _) = lb.side(&side)?;
        let sent = mesh.replace_track(kind, Some(&track)).map_err(js_err);
        lb.extra.borrow_mut().push(track);
        sent
    })?;
    log(format!("{side}:device:{}", kind.as_str()));
    js_sys::JSON::parse(&result.to_string())
}

/// Shares the screen from `side` with `rtc::share_screen` (call it in a
/// click handler, as the app does). When the capture ends from
/// outside, the side sends its camera again, as the session controller
/// would. Resolves to the track's `{label, displaySurface}`.
#[wasm_bindgen]
pub async fn confide_test_share_screen(side: String) -> Result<JsValue, JsValue> {
    let (mesh_side, on_end_side) = (side.clone(), side.clone());
    with_loopback(|lb| lb.side(&side).map(|_| ()))?;
    let screen = share_screen(move || {
        log(format!("{on_end_side}:screen_ended"));
        let _ = confide_test_camera(&on_end_side);
        let old = LOOPBACK.with(|lb| lb.borrow().as_ref().and_then(|lb| lb.screen.take()));
        drop(old);
    })
    .await
    .map_err(js_err)?;
    let settings = screen.track().get_settings();
    let surface = Reflect::get(&settings, &"displaySurface".into())
        .ok()
        .and_then(|v| v.as_string());
    let result = json!({
        "label": screen.track().label(),
        "displaySurface": surface,
        "contentHint": Reflect::get(screen.track(), &"contentHint".into())
            .ok()
            .and_then(|v| v.as_string()),
    });
    with_loopback(|lb| {
        let (mesh, _) = lb.side(&mesh_side)?;
        mesh.replace_track(MediaKind::Video, Some(screen.track()))
            .map_err(js_err)?;
        *lb.screen.borrow_mut() = Some(screen);
        Ok(())
    })?;
    log(format!("{side}:screen"));
    js_sys::JSON::parse(&result.to_string())
}

/// The track of the running screen share, or `null`.
#[wasm_bindgen]
pub fn confide_test_screen_track() -> JsValue {
    LOOPBACK.with(|lb| {
        lb.borrow()
            .as_ref()
            .and_then(|lb| {
                lb.screen
                    .borrow()
                    .as_ref()
                    .map(|s| JsValue::from(s.track()))
            })
            .unwrap_or(JsValue::NULL)
    })
}

/// Makes `side`'s mesh react to ICE state `"disconnected"` or `"failed"`
/// towards its peer as if the browser had reported it.
#[wasm_bindgen]
pub fn confide_test_ice(side: &str, state: &str) -> Result<(), JsValue> {
    let state = match state {
        "disconnected" => RtcIceConnectionState::Disconnected,
        "failed" => RtcIceConnectionState::Failed,
        _ => return Err(JsValue::from_str("state must be disconnected or failed")),
    };
    log(format!("{side}:simulated_ice:{state:?}"));
    with_loopback(|lb| {
        let (mesh, peer) = lb.side(side)?;
        mesh.simulate_ice_state(peer, state);
        Ok(())
    })
}

/// Loses the next `count` signals of `kind` that `side` sends.
#[wasm_bindgen]
pub fn confide_test_drop_signals(side: &str, kind: &str, count: u32) {
    DROP.with(|drop| {
        drop.borrow_mut()
            .push((side.to_string(), kind.to_string(), count));
    });
}

/// Ends the loopback call (closes both meshes, stops the camera).
#[wasm_bindgen]
pub fn confide_test_hangup() {
    let old = LOOPBACK.with(|lb| lb.borrow_mut().take());
    if let Some(old) = old {
        for track in old.local.get_tracks().iter() {
            if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                track.stop();
            }
        }
        for track in old.extra.borrow().iter() {
            track.stop();
        }
        for video in &old.videos {
            video.remove();
        }
        drop(old);
    }
}

thread_local! {
    /// The page's `?certificates=` and `?skip_decrypt=1` switches, read when
    /// the page loaded: the app takes the link, query included, out of the
    /// address bar as soon as the guest enters the call, which can be
    /// before the worker is ready and the mesh (which reads them) exists.
    static CERTIFICATES_SWITCH: Cell<&'static str> = const { Cell::new("") };
    static SKIP_DECRYPT_SWITCH: Cell<bool> = const { Cell::new(false) };
    static REFUSE_SDP_SWITCH: Cell<bool> = const { Cell::new(false) };
    static FRAMES_SWITCH: Cell<FramesMode> = const { Cell::new(FramesMode::Encrypted) };
    /// Every remote description as it arrived, before any cleaning.
    static REMOTE_SDPS: RefCell<Vec<(&'static str, String)>> = const { RefCell::new(Vec::new()) };
    /// Fingerprints of the certificates `rtc/certificate.rs` made.
    static MADE_CERTIFICATES: RefCell<Vec<Fingerprint>> = const { RefCell::new(Vec::new()) };
}

/// Keeps a remote description as the other browser wrote it.
pub fn record_remote_sdp(kind: web_sys::RtcSdpType, sdp: &str) {
    let kind = if kind == web_sys::RtcSdpType::Offer {
        "offer"
    } else {
        "answer"
    };
    REMOTE_SDPS.with(|all| all.borrow_mut().push((kind, sdp.to_string())));
}

/// `[{type, sdp}]`: every remote description this page received, as the
/// other browser wrote it (tests check what each browser accepts).
#[wasm_bindgen]
pub fn confide_test_remote_sdps() -> Array {
    REMOTE_SDPS.with(|all| {
        all.borrow()
            .iter()
            .map(|(kind, sdp)| {
                let entry = Object::new();
                let _ = Reflect::set(&entry, &"type".into(), &(*kind).into());
                let _ = Reflect::set(&entry, &"sdp".into(), &sdp.as_str().into());
                JsValue::from(entry)
            })
            .collect()
    })
}

/// Reads the test switches from the page's URL; the app calls this at
/// start-up.
pub fn remember_page_switches() {
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    let certificates = ["hidden", "foreign"]
        .into_iter()
        .find(|view| query.contains(&format!("certificates={view}")))
        .unwrap_or_default();
    CERTIFICATES_SWITCH.with(|current| current.set(certificates));
    SKIP_DECRYPT_SWITCH.with(|current| current.set(query.contains("skip_decrypt=1")));
    REFUSE_SDP_SWITCH.with(|current| current.set(query.contains("refuse_remote_sdp=1")));
    let frames = if query.contains("frames=passthrough") {
        FramesMode::PassThrough
    } else if query.contains("frames=pipe") {
        FramesMode::Piped
    } else if query.contains("frames=none") {
        FramesMode::NoTransform
    } else {
        FramesMode::Encrypted
    };
    FRAMES_SWITCH.with(|current| current.set(frames));
}

/// What the page's media frames go through; `cargo xtask bench cpu`
/// (docs/BENCHMARKS.md §14) compares a call's CPU in the three modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramesMode {
    /// The real transform: SFrame in the worker.
    Encrypted,
    /// `?frames=passthrough`: the same worker and transform pipes, but
    /// every frame passes unchanged (no crypto).
    PassThrough,
    /// `?frames=pipe`: the transforms are attached, but the worker pipes
    /// each stream's frames straight to its output, with no code of ours
    /// per frame: what the browser's transform costs by itself.
    Piped,
    /// `?frames=none`: no encoded transform at all; the mesh's checks that
    /// frames go through the worker are off.
    NoTransform,
}

/// The page's `?frames=` switch (read when the page loaded).
pub fn frames_mode() -> FramesMode {
    FRAMES_SWITCH.with(Cell::get)
}

/// The remote description as the page asks: unchanged, or (with
/// `?refuse_remote_sdp=1`) text no browser accepts, so that tests see how a
/// refused description reaches the person.
pub fn remote_sdp_as_the_page_asks(sdp: String) -> String {
    if REFUSE_SDP_SWITCH.with(Cell::get) {
        "v=0\r\nx=refused on purpose by the test build\r\n".into()
    } else {
        sdp
    }
}

/// Whether the page was opened with `?skip_decrypt=1`.
pub fn skip_decrypt_asked() -> bool {
    SKIP_DECRYPT_SWITCH.with(Cell::get)
}

/// The remote certificates the DTLS check gets to see: the real ones, none
/// (`?certificates=hidden`) or each with one bit flipped, so its hash names
/// another certificate (`?certificates=foreign`).
pub fn certificates_as_the_page_asks(mut certificates: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    match CERTIFICATES_SWITCH.with(Cell::get) {
        "hidden" => certificates.clear(),
        "foreign" => {
            for certificate in &mut certificates {
                if let Some(last) = certificate.last_mut() {
                    *last ^= 1;
                }
            }
        }
        _ => {}
    }
    certificates
}

/// TEST ONLY: `cargo xtask bench frames` (`worker/bench.rs`). Starts a
/// fresh frame-crypto worker, has it measure its per-frame path against
/// WebCrypto and resolves to the report (a JSON string).
#[wasm_bindgen]
pub async fn confide_bench_frames(batches: u32, per_batch: u32) -> Result<JsValue, JsValue> {
    let crypto = FrameCrypto::start().await.map_err(js_err)?;
    let worker = crypto.worker().clone();
    let answer: Rc<RefCell<Option<js_sys::Function>>> = Rc::new(RefCell::new(None));
    let on_message = {
        let answer = answer.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let data = event.data();
            let kind = Reflect::get(&data, &"type".into())
                .ok()
                .and_then(|t| t.as_string());
            if kind.as_deref() == Some("bench_result")
                && let Some(resolve) = answer.borrow_mut().take()
            {
                let _ = resolve.call1(&JsValue::UNDEFINED, &data);
            }
        })
    };
    worker.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref())?;
    let done = js_sys::Promise::new(&mut |resolve, _| *answer.borrow_mut() = Some(resolve));
    let request = Object::new();
    Reflect::set(&request, &"type".into(), &"bench_frames".into())?;
    Reflect::set(&request, &"batches".into(), &batches.into())?;
    Reflect::set(&request, &"per_batch".into(), &per_batch.into())?;
    worker.post_message(&request)?;
    let data = JsFuture::from(done).await?;
    let _ =
        worker.remove_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    drop(crypto);
    match Reflect::get(&data, &"result".into())?.as_string() {
        Some(result) => Ok(result.into()),
        None => Err(Reflect::get(&data, &"error".into())?),
    }
}
