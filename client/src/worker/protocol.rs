//! Messages between the main thread and the frame-crypto worker.
//!
//! Main thread → worker (`postMessage` values):
//!
//! | message | meaning |
//! |---|---|
//! | `"ping"` | answered with `"pong"` |
//! | `{type:"set_sender_key", kid, key: Uint8Array(32), suite}` | the local participant's key for every outgoing stream (one shared counter); a KID can be used once per worker |
//! | `{type:"set_receiver_key", peer, kid, key: Uint8Array(32), suite}` | a remote participant's key |
//! | `{type:"forget_peer", peer}` | drop the peer's keys and stop its streams |
//! | `{type:"legacy_streams", peer, direction:"send"\|"recv", kind:"audio"\|"video", readable, writable}` | streams from Chromium's `createEncodedStreams()` (transferred) |
//! | `{type:"skip_decrypt", peer, on}` | test-hooks builds only: pass that peer's frames through undecrypted |
//! | `{type:"pass_through"}` | test-hooks builds only (`cargo xtask bench cpu`): from now on every frame of every stream passes unchanged, no crypto at all |
//!
//! `peer` is the participant id as 32 lower-case hex digits, `kid` a number
//! below 2^53, `suite` the SFrame suite id (4 or 0xF001). The standard path
//! needs no message: `new RTCRtpScriptTransform(worker, {peer, direction, kind})`
//! fires `rtctransform` in the worker.
//!
//! Worker → main thread: `"ready"` (handlers installed; sent once at start,
//! followed by a `"pong"` for a ping lost while the WASM loaded),
//! `"pong"`, and objects:
//! `{type:"stats", stats: {streams:[{peer, direction, kind, ok, dropped:{reason:n}, last_kid, last_ok_ms, last_frame_ms}], sender_kid, needs_rotation}}`
//! every second; `{type:"keyframe_needed", peer, kind}` (legacy path: the
//! worker cannot ask the sender itself); `{type:"error", reason}`.

use js_sys::{Array, Object, Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{ReadableStream, WritableStream};

use confide_shared::envelope::ParticipantId;
use confide_shared::sframe::CipherSuite;

/// Which way a stream's frames go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Local media to a peer: encrypt.
    Send,
    /// A peer's media to us: decrypt.
    Recv,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Send => "send",
            Direction::Recv => "recv",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "send" => Some(Direction::Send),
            "recv" => Some(Direction::Recv),
            _ => None,
        }
    }
}

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "audio" => Some(MediaKind::Audio),
            "video" => Some(MediaKind::Video),
            _ => None,
        }
    }
}

/// A peer as the worker names it: 32 lower-case hex digits.
pub fn peer_tag(peer: &ParticipantId) -> String {
    peer.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// The options of one transform (`RTCRtpScriptTransform` options, or the
/// fields of a `legacy_streams` message).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamOptions {
    pub peer: String,
    pub direction: Direction,
    pub kind: MediaKind,
}

impl StreamOptions {
    /// `{peer, direction, kind}` as a JS object.
    pub fn to_js(&self) -> Result<Object, JsValue> {
        let obj = Object::new();
        Reflect::set(&obj, &"peer".into(), &self.peer.as_str().into())?;
        Reflect::set(&obj, &"direction".into(), &self.direction.as_str().into())?;
        Reflect::set(&obj, &"kind".into(), &self.kind.as_str().into())?;
        Ok(obj)
    }

    pub fn from_js(value: &JsValue) -> Result<Self, ProtocolError> {
        Ok(StreamOptions {
            peer: get_peer(value)?,
            direction: Direction::parse(&get_string(value, "direction")?)
                .ok_or(ProtocolError::Field("direction"))?,
            kind: MediaKind::parse(&get_string(value, "kind")?)
                .ok_or(ProtocolError::Field("kind"))?,
        })
    }
}

/// A message for the worker.
pub enum ToWorker {
    Ping,
    SetSenderKey {
        kid: u64,
        key: [u8; 32],
        suite: CipherSuite,
    },
    SetReceiverKey {
        peer: String,
        kid: u64,
        key: [u8; 32],
        suite: CipherSuite,
    },
    ForgetPeer {
        peer: String,
    },
    LegacyStreams {
        options: StreamOptions,
        readable: ReadableStream,
        writable: WritableStream,
    },
    #[cfg(feature = "test-hooks")]
    SkipDecrypt {
        peer: String,
        on: bool,
    },
    /// TEST ONLY: the CPU bench's pass-through mode (docs/BENCHMARKS.md §14).
    #[cfg(feature = "test-hooks")]
    PassThrough,
}

impl core::fmt::Debug for ToWorker {
    // Never prints key bytes.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ToWorker::Ping => write!(f, "Ping"),
            ToWorker::SetSenderKey { kid, .. } => write!(f, "SetSenderKey {{ kid: {kid} }}"),
            ToWorker::SetReceiverKey { peer, kid, .. } => {
                write!(f, "SetReceiverKey {{ peer: {peer}, kid: {kid} }}")
            }
            ToWorker::ForgetPeer { peer } => write!(f, "ForgetPeer {{ peer: {peer} }}"),
            ToWorker::LegacyStreams { options, .. } => write!(f, "LegacyStreams {options:?}"),
            #[cfg(feature = "test-hooks")]
            ToWorker::SkipDecrypt { peer, on } => {
                write!(f, "SkipDecrypt {{ peer: {peer}, on: {on} }}")
            }
            #[cfg(feature = "test-hooks")]
            ToWorker::PassThrough => write!(f, "PassThrough"),
        }
    }
}

/// A message the worker could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("unknown message type")]
    UnknownType,
    #[error("missing or invalid field {0}")]
    Field(&'static str),
    #[error("could not build the message: {0}")]
    Js(String),
}

impl From<JsValue> for ProtocolError {
    fn from(value: JsValue) -> Self {
        ProtocolError::Js(format!("{value:?}"))
    }
}

/// Largest KID we accept: JS numbers are exact up to 2^53.
const MAX_KID: u64 = (1 << 53) - 1;

fn get(value: &JsValue, field: &'static str) -> Result<JsValue, ProtocolError> {
    Reflect::get(value, &field.into()).map_err(|_| ProtocolError::Field(field))
}

fn get_string(value: &JsValue, field: &'static str) -> Result<String, ProtocolError> {
    get(value, field)?
        .as_string()
        .ok_or(ProtocolError::Field(field))
}

fn get_peer(value: &JsValue) -> Result<String, ProtocolError> {
    let peer = get_string(value, "peer")?;
    if peer.len() == 32
        && peer
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(peer)
    } else {
        Err(ProtocolError::Field("peer"))
    }
}

fn get_kid(value: &JsValue) -> Result<u64, ProtocolError> {
    let kid = get(value, "kid")?
        .as_f64()
        .ok_or(ProtocolError::Field("kid"))?;
    if kid >= 0.0 && kid.fract() == 0.0 && kid <= MAX_KID as f64 {
        Ok(kid as u64)
    } else {
        Err(ProtocolError::Field("kid"))
    }
}

fn get_suite(value: &JsValue) -> Result<CipherSuite, ProtocolError> {
    let id = get(value, "suite")?
        .as_f64()
        .ok_or(ProtocolError::Field("suite"))?;
    if id.fract() != 0.0 || !(0.0..=f64::from(u16::MAX)).contains(&id) {
        return Err(ProtocolError::Field("suite"));
    }
    CipherSuite::from_id(id as u16).ok_or(ProtocolError::Field("suite"))
}

/// Reads the 32 key bytes and wipes the received copy.
fn get_key(value: &JsValue) -> Result<[u8; 32], ProtocolError> {
    let array = get(value, "key")?
        .dyn_into::<Uint8Array>()
        .map_err(|_| ProtocolError::Field("key"))?;
    if array.length() != 32 {
        return Err(ProtocolError::Field("key"));
    }
    let mut key = [0u8; 32];
    array.copy_to(&mut key);
    array.fill(0, 0, 32);
    Ok(key)
}

fn key_array(key: &[u8; 32]) -> Uint8Array {
    let array = Uint8Array::new_with_length(32);
    array.copy_from(key);
    array
}

impl ToWorker {
    /// The JS message and the objects to transfer with it. Key bytes are
    /// copied into a fresh `Uint8Array`; call [`wipe`] on the message after
    /// posting it (postMessage clones it).
    pub fn to_js(&self) -> Result<(JsValue, Array), ProtocolError> {
        if let ToWorker::Ping = self {
            return Ok((JsValue::from_str("ping"), Array::new()));
        }
        let obj = Object::new();
        let set = |name: &str, value: &JsValue| Reflect::set(&obj, &name.into(), value);
        let transfer = Array::new();
        match self {
            ToWorker::Ping => {}
            ToWorker::SetSenderKey { kid, key, suite } => {
                set("type", &"set_sender_key".into())?;
                set("kid", &JsValue::from_f64(*kid as f64))?;
                set("key", &key_array(key))?;
                set("suite", &JsValue::from_f64(f64::from(suite.id())))?;
            }
            ToWorker::SetReceiverKey {
                peer,
                kid,
                key,
                suite,
            } => {
                set("type", &"set_receiver_key".into())?;
                set("peer", &peer.as_str().into())?;
                set("kid", &JsValue::from_f64(*kid as f64))?;
                set("key", &key_array(key))?;
                set("suite", &JsValue::from_f64(f64::from(suite.id())))?;
            }
            ToWorker::ForgetPeer { peer } => {
                set("type", &"forget_peer".into())?;
                set("peer", &peer.as_str().into())?;
            }
            ToWorker::LegacyStreams {
                options,
                readable,
                writable,
            } => {
                set("type", &"legacy_streams".into())?;
                set("peer", &options.peer.as_str().into())?;
                set("direction", &options.direction.as_str().into())?;
                set("kind", &options.kind.as_str().into())?;
                set("readable", readable)?;
                set("writable", writable)?;
                transfer.push(readable);
                transfer.push(writable);
            }
            #[cfg(feature = "test-hooks")]
            ToWorker::SkipDecrypt { peer, on } => {
                set("type", &"skip_decrypt".into())?;
                set("peer", &peer.as_str().into())?;
                set("on", &JsValue::from_bool(*on))?;
            }
            #[cfg(feature = "test-hooks")]
            ToWorker::PassThrough => {
                set("type", &"pass_through".into())?;
            }
        }
        Ok((obj.into(), transfer))
    }

    /// Parses a message received by the worker (wiping key bytes in it).
    pub fn from_js(value: &JsValue) -> Result<Self, ProtocolError> {
        if value.as_string().as_deref() == Some("ping") {
            return Ok(ToWorker::Ping);
        }
        if !value.is_object() {
            return Err(ProtocolError::UnknownType);
        }
        let kind = get_string(value, "type")?;
        Ok(match kind.as_str() {
            "set_sender_key" => ToWorker::SetSenderKey {
                kid: get_kid(value)?,
                suite: get_suite(value)?,
                key: get_key(value)?,
            },
            "set_receiver_key" => ToWorker::SetReceiverKey {
                peer: get_peer(value)?,
                kid: get_kid(value)?,
                suite: get_suite(value)?,
                key: get_key(value)?,
            },
            "forget_peer" => ToWorker::ForgetPeer {
                peer: get_peer(value)?,
            },
            "legacy_streams" => ToWorker::LegacyStreams {
                options: StreamOptions::from_js(value)?,
                readable: get(value, "readable")?
                    .dyn_into()
                    .map_err(|_| ProtocolError::Field("readable"))?,
                writable: get(value, "writable")?
                    .dyn_into()
                    .map_err(|_| ProtocolError::Field("writable"))?,
            },
            #[cfg(feature = "test-hooks")]
            "skip_decrypt" => ToWorker::SkipDecrypt {
                peer: get_peer(value)?,
                on: get(value, "on")?
                    .as_bool()
                    .ok_or(ProtocolError::Field("on"))?,
            },
            #[cfg(feature = "test-hooks")]
            "pass_through" => ToWorker::PassThrough,
            _ => return Err(ProtocolError::UnknownType),
        })
    }
}

/// Zeroes the key bytes of a message built by [`ToWorker::to_js`] once it
/// has been posted.
pub fn wipe(message: &JsValue) {
    if let Ok(key) = Reflect::get(message, &"key".into())
        && let Ok(key) = key.dyn_into::<Uint8Array>()
    {
        key.fill(0, 0, key.length());
    }
}

/// Counters of one stream, as the worker reports them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamStats {
    pub peer: String,
    pub direction: Direction,
    pub kind: MediaKind,
    /// Frames encrypted (send) or decrypted (recv) and passed on.
    pub ok: u64,
    /// Frames dropped, by reason (`unknown_key`, `authentication`,
    /// `no_sender_key`, `replay`, ...).
    pub dropped: std::collections::BTreeMap<String, u64>,
    /// KID of the last frame passed on.
    pub last_kid: Option<u64>,
    /// When the last frame was passed on (worker clock, on `Date.now()`'s scale).
    pub last_ok_ms: Option<f64>,
    /// When the last frame was seen at all, passed on or dropped (same clock).
    pub last_frame_ms: Option<f64>,
    /// Frames passed through without decryption (test hook `skip_decrypt`).
    #[serde(default)]
    pub skipped: u64,
    /// Of those, the frames that authenticated under the peer's key: proof
    /// that what reached the decoder was ciphertext from the wire.
    #[cfg(feature = "test-hooks")]
    #[serde(default)]
    pub skipped_authentic: u64,
    /// Of those, the frames that came before their key (as around every key
    /// change) and named a KID whose key was installed afterwards.
    #[cfg(feature = "test-hooks")]
    #[serde(default)]
    pub skipped_before_key: u64,
    /// Of those, the frames that would not have decrypted, by reason.
    #[cfg(feature = "test-hooks")]
    #[serde(default)]
    pub skipped_unverified: std::collections::BTreeMap<String, u64>,
    /// Frames passed on unchanged, no crypto (test hook `pass_through`).
    #[cfg(feature = "test-hooks")]
    #[serde(default)]
    pub passed_through: u64,
}

/// The worker's periodic report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerStats {
    pub streams: Vec<StreamStats>,
    /// KID of the current sender key, if any.
    pub sender_kid: Option<u64>,
    /// The sender key has used half its counter space: install a new one.
    pub needs_rotation: bool,
}

/// A message from the worker.
#[derive(Debug, Clone, PartialEq)]
pub enum FromWorker {
    Ready,
    Pong,
    Stats(WorkerStats),
    KeyFrameNeeded { peer: String, kind: MediaKind },
    Error { reason: String },
}

impl FromWorker {
    pub fn to_js(&self) -> Result<JsValue, ProtocolError> {
        let obj = Object::new();
        let set = |name: &str, value: &JsValue| Reflect::set(&obj, &name.into(), value);
        match self {
            FromWorker::Ready => return Ok("ready".into()),
            FromWorker::Pong => return Ok("pong".into()),
            FromWorker::Stats(stats) => {
                let json =
                    serde_json::to_string(stats).map_err(|e| ProtocolError::Js(e.to_string()))?;
                set("type", &"stats".into())?;
                set("stats", &js_sys::JSON::parse(&json)?)?;
            }
            FromWorker::KeyFrameNeeded { peer, kind } => {
                set("type", &"keyframe_needed".into())?;
                set("peer", &peer.as_str().into())?;
                set("kind", &kind.as_str().into())?;
            }
            FromWorker::Error { reason } => {
                set("type", &"error".into())?;
                set("reason", &reason.as_str().into())?;
            }
        }
        Ok(obj.into())
    }

    pub fn from_js(value: &JsValue) -> Result<Self, ProtocolError> {
        match value.as_string().as_deref() {
            Some("ready") => return Ok(FromWorker::Ready),
            Some("pong") => return Ok(FromWorker::Pong),
            Some(_) => return Err(ProtocolError::UnknownType),
            None => {}
        }
        if !value.is_object() {
            return Err(ProtocolError::UnknownType);
        }
        Ok(match get_string(value, "type")?.as_str() {
            "stats" => {
                let json = js_sys::JSON::stringify(&get(value, "stats")?)
                    .map_err(|_| ProtocolError::Field("stats"))?;
                let json = String::from(json);
                FromWorker::Stats(
                    serde_json::from_str(&json).map_err(|_| ProtocolError::Field("stats"))?,
                )
            }
            "keyframe_needed" => FromWorker::KeyFrameNeeded {
                peer: get_peer(value)?,
                kind: MediaKind::parse(&get_string(value, "kind")?)
                    .ok_or(ProtocolError::Field("kind"))?,
            },
            "error" => FromWorker::Error {
                reason: get_string(value, "reason")?,
            },
            _ => return Err(ProtocolError::UnknownType),
        })
    }
}
