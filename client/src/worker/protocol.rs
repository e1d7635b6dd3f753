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
//! | `{type:"retag", peer, to}` | the streams made for `peer` (a prepared connection's placeholder) belong to `to` from now on, also those whose transform is still on its way |
//! | `{type:"legacy_streams", peer, direction:"send"\|"recv", kind:"audio"\|"video", readable, writable}` | streams from Chromium's `createEncodedStreams()` (transferred) |
//! | `{type:"skip_decrypt", peer, on}` | test-hooks builds only: pass that peer's frames through undecrypted |
//! | `{type:"pass_through"}` | test-hooks builds only (`cargo xtask bench cpu`): from now on every frame of every stream passes unchanged, no crypto at all |
//! | `{type:"pipe_only"}` | test-hooks builds only (`cargo xtask bench cpu`): from now on new streams are piped straight to their output, no code per frame |
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
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{ReadableStream, WritableStream};

use confide_shared::envelope::ParticipantId;
use confide_shared::sframe::CipherSuite;

/// Which way a stream's frames go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "test-hooks",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "test-hooks",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
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
    /// A prepared connection was given to its participant: its streams,
    /// made under a placeholder tag, now use `to`'s keys.
    Retag {
        peer: String,
        to: String,
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
    /// TEST ONLY: the CPU bench's piped mode (docs/BENCHMARKS.md §14).
    #[cfg(feature = "test-hooks")]
    PipeOnly,
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
            ToWorker::Retag { peer, to } => write!(f, "Retag {{ peer: {peer}, to: {to} }}"),
            ToWorker::LegacyStreams { options, .. } => write!(f, "LegacyStreams {options:?}"),
            #[cfg(feature = "test-hooks")]
            ToWorker::SkipDecrypt { peer, on } => {
                write!(f, "SkipDecrypt {{ peer: {peer}, on: {on} }}")
            }
            #[cfg(feature = "test-hooks")]
            ToWorker::PassThrough => write!(f, "PassThrough"),
            #[cfg(feature = "test-hooks")]
            ToWorker::PipeOnly => write!(f, "PipeOnly"),
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
    get_tag(value, "peer")
}

/// A participant id as 32 lower-case hex digits, from the field `name`.
fn get_tag(value: &JsValue, name: &'static str) -> Result<String, ProtocolError> {
    let tag = get_string(value, name)?;
    if tag.len() == 32
        && tag
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        Ok(tag)
    } else {
        Err(ProtocolError::Field(name))
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
            ToWorker::Retag { peer, to } => {
                set("type", &"retag".into())?;
                set("peer", &peer.as_str().into())?;
                set("to", &to.as_str().into())?;
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
            #[cfg(feature = "test-hooks")]
            ToWorker::PipeOnly => {
                set("type", &"pipe_only".into())?;
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
            "retag" => ToWorker::Retag {
                peer: get_peer(value)?,
                to: get_tag(value, "to")?,
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
            #[cfg(feature = "test-hooks")]
            "pipe_only" => ToWorker::PipeOnly,
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
/// Travels as a plain JS object (no JSON on the way): `{peer, direction,
/// kind, ok, dropped: {reason: n}, last_kid, last_ok_ms, last_frame_ms,
/// skipped}` (plus the test-hooks counters), `null` for `None`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "test-hooks", derive(serde::Serialize))]
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
    pub skipped: u64,
    /// Of those, the frames that authenticated under the peer's key: proof
    /// that what reached the decoder was ciphertext from the wire.
    #[cfg(feature = "test-hooks")]
    pub skipped_authentic: u64,
    /// Of those, the frames that came before their key (as around every key
    /// change) and named a KID whose key was installed afterwards.
    #[cfg(feature = "test-hooks")]
    pub skipped_before_key: u64,
    /// Of those, the frames that would not have decrypted, by reason.
    #[cfg(feature = "test-hooks")]
    pub skipped_unverified: std::collections::BTreeMap<String, u64>,
    /// Frames passed on unchanged, no crypto (test hook `pass_through`).
    #[cfg(feature = "test-hooks")]
    pub passed_through: u64,
    /// When the stream's first frame was seen, and first passed on (worker
    /// clock): the first-picture bench's marks (docs/BENCHMARKS.md §12.4).
    #[cfg(feature = "test-hooks")]
    pub first_frame_ms: Option<f64>,
    #[cfg(feature = "test-hooks")]
    pub first_ok_ms: Option<f64>,
}

/// The worker's periodic report.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "test-hooks", derive(serde::Serialize))]
pub struct WorkerStats {
    pub streams: Vec<StreamStats>,
    /// KID of the current sender key, if any.
    pub sender_kid: Option<u64>,
    /// The sender key has used half its counter space: install a new one.
    pub needs_rotation: bool,
}

fn set_field(obj: &Object, name: &str, value: &JsValue) -> Result<(), JsValue> {
    Reflect::set(obj, &name.into(), value).map(|_| ())
}

/// `null` for `None`, as the JSON form of the statistics had it.
fn number_or_null(value: Option<f64>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_f64)
}

fn counts_to_js(counts: &std::collections::BTreeMap<String, u64>) -> Result<JsValue, JsValue> {
    let obj = Object::new();
    for (reason, n) in counts {
        set_field(&obj, reason, &JsValue::from_f64(*n as f64))?;
    }
    Ok(obj.into())
}

/// A whole, non-negative number.
fn get_count(value: &JsValue, field: &'static str) -> Result<u64, ProtocolError> {
    let n = get(value, field)?
        .as_f64()
        .ok_or(ProtocolError::Field(field))?;
    if n >= 0.0 && n.fract() == 0.0 && n <= u64::MAX as f64 {
        Ok(n as u64)
    } else {
        Err(ProtocolError::Field(field))
    }
}

/// A count that older workers did not send: absent is 0.
fn get_count_or_zero(value: &JsValue, field: &'static str) -> Result<u64, ProtocolError> {
    if get(value, field)?.is_undefined() {
        Ok(0)
    } else {
        get_count(value, field)
    }
}

/// `None` for `null` or absent.
fn get_optional(value: &JsValue, field: &'static str) -> Result<Option<JsValue>, ProtocolError> {
    let v = get(value, field)?;
    Ok((!v.is_null() && !v.is_undefined()).then_some(v))
}

fn get_counts(
    value: &JsValue,
    field: &'static str,
) -> Result<std::collections::BTreeMap<String, u64>, ProtocolError> {
    let obj = get(value, field)?;
    if !obj.is_object() {
        return Err(ProtocolError::Field(field));
    }
    let mut counts = std::collections::BTreeMap::new();
    for entry in Object::entries(obj.unchecked_ref::<Object>()).iter() {
        let pair = Array::from(&entry);
        let reason = pair.get(0).as_string().ok_or(ProtocolError::Field(field))?;
        let n = pair.get(1).as_f64().ok_or(ProtocolError::Field(field))?;
        if !(n >= 0.0 && n.fract() == 0.0) {
            return Err(ProtocolError::Field(field));
        }
        counts.insert(reason, n as u64);
    }
    Ok(counts)
}

impl StreamStats {
    fn to_js(&self) -> Result<JsValue, JsValue> {
        let obj = Object::new();
        set_field(&obj, "peer", &self.peer.as_str().into())?;
        set_field(&obj, "direction", &self.direction.as_str().into())?;
        set_field(&obj, "kind", &self.kind.as_str().into())?;
        set_field(&obj, "ok", &JsValue::from_f64(self.ok as f64))?;
        set_field(&obj, "dropped", &counts_to_js(&self.dropped)?)?;
        set_field(
            &obj,
            "last_kid",
            &number_or_null(self.last_kid.map(|k| k as f64)),
        )?;
        set_field(&obj, "last_ok_ms", &number_or_null(self.last_ok_ms))?;
        set_field(&obj, "last_frame_ms", &number_or_null(self.last_frame_ms))?;
        set_field(&obj, "skipped", &JsValue::from_f64(self.skipped as f64))?;
        #[cfg(feature = "test-hooks")]
        {
            let counters = [
                ("skipped_authentic", self.skipped_authentic),
                ("skipped_before_key", self.skipped_before_key),
                ("passed_through", self.passed_through),
            ];
            for (name, n) in counters {
                set_field(&obj, name, &JsValue::from_f64(n as f64))?;
            }
            set_field(
                &obj,
                "skipped_unverified",
                &counts_to_js(&self.skipped_unverified)?,
            )?;
            set_field(&obj, "first_frame_ms", &number_or_null(self.first_frame_ms))?;
            set_field(&obj, "first_ok_ms", &number_or_null(self.first_ok_ms))?;
        }
        Ok(obj.into())
    }

    fn from_js(value: &JsValue) -> Result<Self, ProtocolError> {
        let time = |field| -> Result<Option<f64>, ProtocolError> {
            get_optional(value, field)?
                .map(|v| v.as_f64().ok_or(ProtocolError::Field(field)))
                .transpose()
        };
        Ok(StreamStats {
            peer: get_string(value, "peer")?,
            direction: Direction::parse(&get_string(value, "direction")?)
                .ok_or(ProtocolError::Field("direction"))?,
            kind: MediaKind::parse(&get_string(value, "kind")?)
                .ok_or(ProtocolError::Field("kind"))?,
            ok: get_count(value, "ok")?,
            dropped: get_counts(value, "dropped")?,
            last_kid: match get_optional(value, "last_kid")? {
                Some(_) => Some(get_count(value, "last_kid")?),
                None => None,
            },
            last_ok_ms: time("last_ok_ms")?,
            last_frame_ms: time("last_frame_ms")?,
            skipped: get_count_or_zero(value, "skipped")?,
            #[cfg(feature = "test-hooks")]
            skipped_authentic: get_count_or_zero(value, "skipped_authentic")?,
            #[cfg(feature = "test-hooks")]
            skipped_before_key: get_count_or_zero(value, "skipped_before_key")?,
            #[cfg(feature = "test-hooks")]
            skipped_unverified: if get(value, "skipped_unverified")?.is_undefined() {
                Default::default()
            } else {
                get_counts(value, "skipped_unverified")?
            },
            #[cfg(feature = "test-hooks")]
            passed_through: get_count_or_zero(value, "passed_through")?,
            #[cfg(feature = "test-hooks")]
            first_frame_ms: time("first_frame_ms")?,
            #[cfg(feature = "test-hooks")]
            first_ok_ms: time("first_ok_ms")?,
        })
    }
}

impl WorkerStats {
    fn to_js(&self) -> Result<JsValue, JsValue> {
        let obj = Object::new();
        let streams = Array::new();
        for stream in &self.streams {
            streams.push(&stream.to_js()?);
        }
        set_field(&obj, "streams", &streams)?;
        set_field(
            &obj,
            "sender_kid",
            &number_or_null(self.sender_kid.map(|k| k as f64)),
        )?;
        set_field(&obj, "needs_rotation", &self.needs_rotation.into())?;
        Ok(obj.into())
    }

    fn from_js(value: &JsValue) -> Result<Self, ProtocolError> {
        if !value.is_object() {
            return Err(ProtocolError::Field("stats"));
        }
        let streams = get(value, "streams")?;
        if !Array::is_array(&streams) {
            return Err(ProtocolError::Field("streams"));
        }
        Ok(WorkerStats {
            streams: Array::from(&streams)
                .iter()
                .map(|s| StreamStats::from_js(&s))
                .collect::<Result<_, _>>()?,
            sender_kid: match get_optional(value, "sender_kid")? {
                Some(_) => Some(get_count(value, "sender_kid")?),
                None => None,
            },
            needs_rotation: get(value, "needs_rotation")?
                .as_bool()
                .ok_or(ProtocolError::Field("needs_rotation"))?,
        })
    }
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
                set("type", &"stats".into())?;
                set("stats", &stats.to_js()?)?;
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
            "stats" => FromWorker::Stats(
                WorkerStats::from_js(&get(value, "stats")?)
                    .map_err(|_| ProtocolError::Field("stats"))?,
            ),
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
