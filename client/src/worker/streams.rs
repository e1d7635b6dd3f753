//! Keys, transform streams and per-frame work of the worker.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use js_sys::{ArrayBuffer, Date, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{
    DedicatedWorkerGlobalScope, ReadableStream, ReadableWritablePair, RtcRtpScriptTransformer,
    TransformStream, TransformStreamDefaultController, WritableStream,
};

#[cfg(feature = "test-hooks")]
use confide_shared::sframe::SframeHeader;
use confide_shared::sframe::{
    CipherSuite, Codec, ReceiveStream, ReceiverKeyStore, SenderKey, SframeError,
};

use super::protocol::{Direction, FromWorker, MediaKind, StreamOptions, StreamStats, WorkerStats};
use super::{post, post_error};

/// At most one key frame request per stream in this interval.
const KEY_FRAME_REQUEST_INTERVAL_MS: f64 = 1000.0;

/// A stream's codec is read from the frame's metadata on its first frame
/// and again after this long, not on every frame: `getMetadata()` builds a
/// fresh object of a dozen fields per call (docs/BENCHMARKS.md §14.1).
/// Codec preferences pin each transceiver to VP8 or Opus, so the codec of a
/// stream does not change; the re-read only keeps a surprise short.
const CODEC_RECHECK_MS: f64 = 1000.0;

#[wasm_bindgen]
extern "C" {
    /// An `RTCEncodedVideoFrame` or `RTCEncodedAudioFrame` (or the bench's
    /// `{data}`): only the members both have. Direct property access
    /// instead of `Reflect` with a fresh JS string per frame.
    #[wasm_bindgen(extends = Object)]
    pub(crate) type EncodedFrame;
    #[wasm_bindgen(method, getter, structural)]
    fn data(this: &EncodedFrame) -> JsValue;
    #[wasm_bindgen(method, setter, structural, catch, js_name = data)]
    fn set_data(this: &EncodedFrame, data: &ArrayBuffer) -> Result<(), JsValue>;
    #[wasm_bindgen(method, structural, catch, js_name = getMetadata)]
    fn get_metadata(this: &EncodedFrame) -> Result<FrameMetadata, JsValue>;

    /// The part of a frame's metadata the worker reads.
    type FrameMetadata;
    #[wasm_bindgen(method, getter, structural, js_name = mimeType)]
    fn mime_type(this: &FrameMetadata) -> JsValue;

    /// The worker's `performance`, kept instead of looked up per frame.
    type Performance;
    #[wasm_bindgen(method, structural)]
    fn now(this: &Performance) -> f64;
    #[wasm_bindgen(method, getter, structural, js_name = timeOrigin)]
    fn time_origin(this: &Performance) -> JsValue;
}

type FrameClosure = Closure<dyn FnMut(JsValue, TransformStreamDefaultController)>;

/// Why a frame was dropped (the stats key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DropReason {
    /// Sending without a sender key.
    NoSenderKey,
    /// Receiving from a peer with no keys installed.
    NoPeerKeys,
    /// The frame object had no readable `data`.
    BadFrame,
    /// The worker could not write the result back.
    WriteFailed,
    Sframe(SframeError),
}

impl DropReason {
    fn as_str(self) -> &'static str {
        match self {
            DropReason::NoSenderKey => "no_sender_key",
            DropReason::NoPeerKeys => "no_peer_keys",
            DropReason::BadFrame => "bad_frame",
            DropReason::WriteFailed => "write_failed",
            DropReason::Sframe(e) => match e {
                SframeError::UnsupportedCodec => "unsupported_codec",
                SframeError::FrameTooShort => "too_short",
                SframeError::Truncated => "truncated",
                SframeError::NonMinimalHeader => "non_minimal_header",
                SframeError::UnknownKey { .. } => "unknown_key",
                SframeError::Replay => "replay",
                SframeError::TooOld => "too_old",
                SframeError::Authentication => "authentication",
                SframeError::CounterExhausted => "counter_exhausted",
                SframeError::FrameTooLarge => "too_large",
                SframeError::KidConflict { .. } => "kid_conflict",
            },
        }
    }

    /// Failures that a key frame after (re)keying fixes.
    fn wants_key_frame(self) -> bool {
        matches!(
            self,
            DropReason::NoPeerKeys | DropReason::Sframe(SframeError::UnknownKey { .. })
        )
    }
}

impl From<SframeError> for DropReason {
    fn from(e: SframeError) -> Self {
        DropReason::Sframe(e)
    }
}

#[derive(Debug, Default)]
struct Counters {
    ok: u64,
    skipped: u64,
    #[cfg(feature = "test-hooks")]
    skipped_authentic: u64,
    #[cfg(feature = "test-hooks")]
    skipped_before_key: u64,
    #[cfg(feature = "test-hooks")]
    skipped_unverified: BTreeMap<&'static str, u64>,
    /// Skipped frames that named a KID with no key yet, by KID: they count
    /// as `skipped_before_key` once that key arrives.
    #[cfg(feature = "test-hooks")]
    skipped_waiting: HashMap<u64, u64>,
    #[cfg(feature = "test-hooks")]
    passed_through: u64,
    /// TEST ONLY: when the first frame was seen and first passed on.
    #[cfg(feature = "test-hooks")]
    first_frame_ms: Option<f64>,
    #[cfg(feature = "test-hooks")]
    first_ok_ms: Option<f64>,
    dropped: BTreeMap<&'static str, u64>,
    last_kid: Option<u64>,
    last_ok_ms: Option<f64>,
    last_frame_ms: Option<f64>,
}

pub(crate) struct Stream {
    id: u32,
    options: StreamOptions,
    receive: ReceiveStream,
    counters: Counters,
    /// Standard path: lets a receiver ask the sender for a key frame.
    transformer: Option<RtcRtpScriptTransformer>,
    wants_key_frame: bool,
    last_key_frame_request_ms: f64,
    /// The codec last read from a frame's metadata, and when.
    codec: Option<(Codec, f64)>,
    _closure: FrameClosure,
}

impl Stream {
    fn new(
        id: u32,
        options: StreamOptions,
        transformer: Option<RtcRtpScriptTransformer>,
        closure: FrameClosure,
    ) -> Stream {
        Stream {
            id,
            options,
            receive: ReceiveStream::new(),
            counters: Counters::default(),
            transformer,
            wants_key_frame: false,
            last_key_frame_request_ms: f64::NEG_INFINITY,
            codec: None,
            _closure: closure,
        }
    }

    /// The stream's codec: read from `frame` on the first frame and once
    /// per [`CODEC_RECHECK_MS`], else remembered. A refused codec is not
    /// remembered, so every frame of it is read and refused.
    fn codec(&mut self, frame: &EncodedFrame, now: f64) -> Result<Codec, DropReason> {
        if let Some((codec, read_ms)) = self.codec
            && now - read_ms < CODEC_RECHECK_MS
        {
            return Ok(codec);
        }
        self.codec = None;
        let codec = codec_of(frame, self.options.kind)?;
        self.codec = Some((codec, now));
        Ok(codec)
    }
}

/// Milliseconds on the worker's monotonic clock (`performance.timeOrigin +
/// performance.now()`): it never goes backwards when the system clock is
/// set, as the key overlap timer requires (docs/PROTOCOL.md §4.6), and it
/// stays on the same scale as the page's `Date.now()`, with which the stats
/// it stamps are compared. `Date.now()` only where `performance` is missing.
pub(crate) struct Clock {
    performance: Option<(Performance, f64)>,
}

impl Clock {
    fn new() -> Clock {
        let performance = Reflect::get(&js_sys::global(), &"performance".into())
            .ok()
            .filter(|p| p.is_object())
            .map(JsCast::unchecked_into::<Performance>)
            .and_then(|p| {
                let origin = p.time_origin().as_f64()?;
                Some((p, origin))
            });
        Clock { performance }
    }

    fn now_ms(&self) -> f64 {
        match &self.performance {
            Some((performance, origin)) => origin + performance.now(),
            None => Date::now(),
        }
    }
}

/// A key frame request to send once no state is borrowed.
pub(crate) struct KeyFrameRequest {
    transformer: Option<RtcRtpScriptTransformer>,
    peer: String,
    kind: MediaKind,
}

/// Everything the worker knows.
pub(crate) struct State {
    pub(crate) scope: DedicatedWorkerGlobalScope,
    sender: Option<SenderKey>,
    /// Every sender KID ever installed here: a KID is never reused, so no
    /// (key, KID, CTR) repeats even if the same key is sent again.
    used_sender_kids: HashSet<u64>,
    peers: HashMap<String, ReceiverKeyStore>,
    streams: Vec<Stream>,
    /// Placeholder tags of prepared connections and whose they became
    /// (`retag`): a transform made under one may still be on its way.
    retagged: Vec<(String, String)>,
    next_id: u32,
    clock: Clock,
    /// Every frame's bytes pass through this one buffer: copied in from
    /// `frame.data`, encrypted or decrypted in place, copied out.
    buffer: Vec<u8>,
    #[cfg(feature = "test-hooks")]
    skip_decrypt: HashSet<String>,
    /// TEST ONLY: every frame passes unchanged (the CPU bench's baseline).
    #[cfg(feature = "test-hooks")]
    pass_through: bool,
    /// TEST ONLY: new streams are piped straight to their output, no code
    /// of ours per frame (the CPU bench's piped mode).
    #[cfg(feature = "test-hooks")]
    pub(crate) pipe_only: bool,
}

/// What to do with a frame.
enum Outcome {
    Pass,
    Drop,
    DropAndRequest(KeyFrameRequest),
}

impl State {
    pub(crate) fn new(scope: DedicatedWorkerGlobalScope) -> Self {
        State {
            scope,
            sender: None,
            used_sender_kids: HashSet::new(),
            peers: HashMap::new(),
            streams: Vec::new(),
            retagged: Vec::new(),
            next_id: 0,
            clock: Clock::new(),
            buffer: Vec::new(),
            #[cfg(feature = "test-hooks")]
            skip_decrypt: HashSet::new(),
            #[cfg(feature = "test-hooks")]
            pass_through: false,
            #[cfg(feature = "test-hooks")]
            pipe_only: false,
        }
    }

    pub(crate) fn set_sender_key(
        &mut self,
        suite: CipherSuite,
        kid: u64,
        mut key: [u8; 32],
    ) -> Result<(), &'static str> {
        let result = if self.used_sender_kids.insert(kid) {
            self.sender = Some(SenderKey::new(suite, kid, &key));
            Ok(())
        } else {
            Err("sender KID already used; keeping the current key")
        };
        key.fill(0);
        result
    }

    /// Installs a peer's key; returns the key frame requests of that peer's
    /// receiving streams that were waiting for a key.
    pub(crate) fn set_receiver_key(
        &mut self,
        peer: &str,
        suite: CipherSuite,
        kid: u64,
        mut key: [u8; 32],
    ) -> Result<Vec<KeyFrameRequest>, SframeError> {
        let store = self
            .peers
            .entry(peer.to_string())
            .or_insert_with(|| ReceiverKeyStore::new(suite));
        if store.suite() != suite {
            *store = ReceiverKeyStore::new(suite);
        }
        let result = store.install(kid, &key);
        key.fill(0);
        result?;
        #[cfg(feature = "test-hooks")]
        for stream in self.streams.iter_mut().filter(|s| s.options.peer == peer) {
            let counters = &mut stream.counters;
            if let Some(frames) = counters.skipped_waiting.remove(&kid) {
                counters.skipped_before_key += frames;
            }
        }
        let now = self.clock.now_ms();
        Ok(self
            .streams
            .iter_mut()
            .filter(|s| {
                s.options.peer == peer
                    && s.options.direction == Direction::Recv
                    && s.wants_key_frame
            })
            .map(|s| {
                s.last_key_frame_request_ms = now;
                KeyFrameRequest {
                    transformer: s.transformer.clone(),
                    peer: s.options.peer.clone(),
                    kind: s.options.kind,
                }
            })
            .collect())
    }

    /// The streams made under the placeholder `peer` are `to`'s from now
    /// on, and so are those still to come (a transform is announced to the
    /// worker by its own event, which may come after this message).
    pub(crate) fn retag(&mut self, peer: String, to: String) {
        for stream in self.streams.iter_mut().filter(|s| s.options.peer == peer) {
            stream.options.peer.clone_from(&to);
        }
        self.retagged
            .retain(|(placeholder, _)| *placeholder != peer);
        self.retagged.push((peer, to));
    }

    /// Whose a new stream made under `tag` is (see [`State::retag`]).
    fn owner_of(&self, tag: String) -> String {
        match self
            .retagged
            .iter()
            .find(|(placeholder, _)| *placeholder == tag)
        {
            Some((_, to)) => to.clone(),
            None => tag,
        }
    }

    /// Forgets the peer's keys and returns its streams for dropping (their
    /// pipes error out on the next frame).
    pub(crate) fn forget_peer(&mut self, peer: &str) -> Vec<Stream> {
        self.peers.remove(peer);
        self.retagged
            .retain(|(placeholder, to)| placeholder != peer && to != peer);
        #[cfg(feature = "test-hooks")]
        self.skip_decrypt.remove(peer);
        let (gone, kept) = std::mem::take(&mut self.streams)
            .into_iter()
            .partition(|s| s.options.peer == peer);
        self.streams = kept;
        gone
    }

    #[cfg(feature = "test-hooks")]
    pub(crate) fn skip_decrypt(&mut self, peer: &str, on: bool) {
        if on {
            self.skip_decrypt.insert(peer.to_string());
        } else {
            self.skip_decrypt.remove(peer);
        }
    }

    /// TEST ONLY (`cargo xtask bench cpu`, docs/BENCHMARKS.md §14): from
    /// now on every frame takes the same path as with SFrame (its bytes
    /// copied into the worker's buffer and back into `frame.data`, the
    /// codec read as for SFrame) but passes unchanged, no crypto, so a
    /// call's CPU can be compared with and without the crypto.
    #[cfg(feature = "test-hooks")]
    pub(crate) fn pass_through(&mut self) {
        self.pass_through = true;
    }

    /// TEST ONLY (bench.rs): a stream with no pipe, whose frames a bench
    /// hands to [`State::process_frame`] directly.
    #[cfg(feature = "test-hooks")]
    pub(crate) fn add_detached_stream(&mut self, options: StreamOptions) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.streams.push(Stream::new(
            self.next_id,
            options,
            None,
            FrameClosure::new(|_, _| {}),
        ));
        self.next_id
    }

    /// TEST ONLY (bench.rs): the per-frame work of the transform handlers;
    /// whether the frame would be passed on.
    #[cfg(feature = "test-hooks")]
    pub(crate) fn process_frame(&mut self, id: u32, frame: &JsValue) -> bool {
        matches!(self.process(id, frame.unchecked_ref()), Outcome::Pass)
    }

    fn process(&mut self, id: u32, frame: &EncodedFrame) -> Outcome {
        let now = self.clock.now_ms();
        let State {
            sender,
            peers,
            streams,
            buffer,
            #[cfg(feature = "test-hooks")]
            skip_decrypt,
            #[cfg(feature = "test-hooks")]
            pass_through,
            ..
        } = self;
        let Some(stream) = streams.iter_mut().find(|s| s.id == id) else {
            return Outcome::Drop;
        };
        stream.counters.last_frame_ms = Some(now);
        #[cfg(feature = "test-hooks")]
        stream.counters.first_frame_ms.get_or_insert(now);

        // Counted as arrived media, as a decrypted frame is, so the call
        // behaves the same in every mode of the CPU bench.
        #[cfg(feature = "test-hooks")]
        if *pass_through {
            return match pass_frame(frame, stream, buffer, now) {
                Ok(()) => {
                    stream.counters.passed_through += 1;
                    stream.counters.last_ok_ms = Some(now);
                    stream.counters.first_ok_ms.get_or_insert(now);
                    Outcome::Pass
                }
                Err(reason) => {
                    *stream.counters.dropped.entry(reason.as_str()).or_insert(0) += 1;
                    Outcome::Drop
                }
            };
        }

        #[cfg(feature = "test-hooks")]
        if stream.options.direction == Direction::Recv
            && skip_decrypt.contains(&stream.options.peer)
        {
            stream.counters.skipped += 1;
            match trial_decrypt(frame, &stream.options, peers, now) {
                Trial::Authentic => stream.counters.skipped_authentic += 1,
                Trial::KeyNotYetThere(kid) => {
                    *stream.counters.skipped_waiting.entry(kid).or_insert(0) += 1;
                }
                Trial::Failed(reason) => {
                    *stream
                        .counters
                        .skipped_unverified
                        .entry(reason.as_str())
                        .or_insert(0) += 1;
                }
            }
            return Outcome::Pass;
        }

        match transform_frame(frame, stream, sender, peers, buffer, now) {
            Ok(kid) => {
                let counters = &mut stream.counters;
                counters.ok += 1;
                counters.last_kid = Some(kid);
                counters.last_ok_ms = Some(now);
                #[cfg(feature = "test-hooks")]
                counters.first_ok_ms.get_or_insert(now);
                stream.wants_key_frame = false;
                Outcome::Pass
            }
            Err(reason) => {
                *stream.counters.dropped.entry(reason.as_str()).or_insert(0) += 1;
                if stream.options.direction == Direction::Recv && reason.wants_key_frame() {
                    stream.wants_key_frame = true;
                    if now - stream.last_key_frame_request_ms >= KEY_FRAME_REQUEST_INTERVAL_MS {
                        stream.last_key_frame_request_ms = now;
                        return Outcome::DropAndRequest(KeyFrameRequest {
                            transformer: stream.transformer.clone(),
                            peer: stream.options.peer.clone(),
                            kind: stream.options.kind,
                        });
                    }
                }
                Outcome::Drop
            }
        }
    }

    fn stats(&self) -> WorkerStats {
        let mut merged: Vec<StreamStats> = Vec::new();
        for stream in &self.streams {
            let c = &stream.counters;
            let entry = match merged.iter_mut().find(|m| {
                m.peer == stream.options.peer
                    && m.direction == stream.options.direction
                    && m.kind == stream.options.kind
            }) {
                Some(entry) => entry,
                None => {
                    merged.push(StreamStats {
                        peer: stream.options.peer.clone(),
                        direction: stream.options.direction,
                        kind: stream.options.kind,
                        ok: 0,
                        dropped: BTreeMap::new(),
                        last_kid: None,
                        last_ok_ms: None,
                        last_frame_ms: None,
                        skipped: 0,
                        #[cfg(feature = "test-hooks")]
                        skipped_authentic: 0,
                        #[cfg(feature = "test-hooks")]
                        skipped_before_key: 0,
                        #[cfg(feature = "test-hooks")]
                        skipped_unverified: BTreeMap::new(),
                        #[cfg(feature = "test-hooks")]
                        passed_through: 0,
                        #[cfg(feature = "test-hooks")]
                        first_frame_ms: None,
                        #[cfg(feature = "test-hooks")]
                        first_ok_ms: None,
                    });
                    let last = merged.len() - 1;
                    &mut merged[last]
                }
            };
            entry.ok += c.ok;
            entry.skipped += c.skipped;
            #[cfg(feature = "test-hooks")]
            {
                entry.skipped_authentic += c.skipped_authentic;
                entry.skipped_before_key += c.skipped_before_key;
                entry.passed_through += c.passed_through;
                entry.first_frame_ms = earliest(entry.first_frame_ms, c.first_frame_ms);
                entry.first_ok_ms = earliest(entry.first_ok_ms, c.first_ok_ms);
                for (reason, n) in &c.skipped_unverified {
                    *entry
                        .skipped_unverified
                        .entry((*reason).to_string())
                        .or_insert(0) += n;
                }
            }
            for (reason, n) in &c.dropped {
                *entry.dropped.entry((*reason).to_string()).or_insert(0) += n;
            }
            if c.last_ok_ms > entry.last_ok_ms {
                entry.last_ok_ms = c.last_ok_ms;
                entry.last_kid = c.last_kid;
            }
            if c.last_frame_ms > entry.last_frame_ms {
                entry.last_frame_ms = c.last_frame_ms;
            }
        }
        WorkerStats {
            streams: merged,
            sender_kid: self.sender.as_ref().map(SenderKey::kid),
            needs_rotation: self.sender.as_ref().is_some_and(SenderKey::needs_rotation),
        }
    }
}

/// The earlier of two optional times.
#[cfg(feature = "test-hooks")]
fn earliest(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The codec of a frame: metadata `mimeType` when the browser gives one,
/// else VP8 for video and Opus for audio (what confide negotiates).
fn codec_of(frame: &EncodedFrame, kind: MediaKind) -> Result<Codec, DropReason> {
    let mime = frame
        .get_metadata()
        .ok()
        .filter(|meta| meta.is_object())
        .and_then(|meta| meta.mime_type().as_string())
        .filter(|mime| !mime.is_empty());
    let codec = match mime {
        Some(mime) => Codec::from_mime(&mime)?,
        None => match kind {
            MediaKind::Video => Codec::Vp8,
            MediaKind::Audio => Codec::Opus,
        },
    };
    let is_video = matches!(codec, Codec::Vp8 | Codec::Vp9);
    if is_video != (kind == MediaKind::Video) {
        return Err(SframeError::UnsupportedCodec.into());
    }
    Ok(codec)
}

/// Encrypts or decrypts `frame` in place; returns the KID used.
fn transform_frame(
    frame: &EncodedFrame,
    stream: &mut Stream,
    sender: &mut Option<SenderKey>,
    peers: &mut HashMap<String, ReceiverKeyStore>,
    buffer: &mut Vec<u8>,
    now: f64,
) -> Result<u64, DropReason> {
    read_frame(frame, buffer)?;
    let codec = stream.codec(frame, now)?;
    let kid = match stream.options.direction {
        Direction::Send => {
            let key = sender.as_mut().ok_or(DropReason::NoSenderKey)?;
            key.encrypt_frame_in_place(codec, buffer)?;
            key.kid()
        }
        Direction::Recv => {
            let store = peers
                .get_mut(&stream.options.peer)
                .ok_or(DropReason::NoPeerKeys)?;
            stream
                .receive
                .decrypt_frame_in_place(store, codec, buffer, now as u64)?
        }
    };
    write_frame(frame, buffer)?;
    Ok(kid)
}

/// TEST ONLY: [`transform_frame`] without the crypto (the CPU bench's
/// pass-through mode): the same reads, copies and write, bytes unchanged.
#[cfg(feature = "test-hooks")]
fn pass_frame(
    frame: &EncodedFrame,
    stream: &mut Stream,
    buffer: &mut Vec<u8>,
    now: f64,
) -> Result<(), DropReason> {
    read_frame(frame, buffer)?;
    stream.codec(frame, now)?;
    write_frame(frame, buffer)
}

/// Copies the frame's bytes into `buffer` (reused from frame to frame).
fn read_frame(frame: &EncodedFrame, buffer: &mut Vec<u8>) -> Result<(), DropReason> {
    let data = frame
        .data()
        .dyn_into::<ArrayBuffer>()
        .map_err(|_| DropReason::BadFrame)?;
    let view = Uint8Array::new(&data);
    buffer.clear();
    buffer.resize(view.length() as usize, 0);
    view.copy_to(buffer);
    Ok(())
}

/// Replaces the frame's bytes with `bytes` (a new `ArrayBuffer`: the
/// result is longer or shorter than the frame's own).
fn write_frame(frame: &EncodedFrame, bytes: &[u8]) -> Result<(), DropReason> {
    let out = Uint8Array::new_with_length(bytes.len() as u32);
    out.copy_from(bytes);
    frame
        .set_data(&out.buffer())
        .map_err(|_| DropReason::WriteFailed)
}

/// The frame's bytes (a copy of its `data`).
#[cfg(feature = "test-hooks")]
fn frame_bytes(frame: &EncodedFrame) -> Result<Vec<u8>, DropReason> {
    let mut bytes = Vec::new();
    read_frame(frame, &mut bytes)?;
    Ok(bytes)
}

/// The KID named by a protected frame's SFrame header, if it parses.
#[cfg(feature = "test-hooks")]
fn header_kid(codec: Codec, protected: &[u8]) -> Option<u64> {
    let prefix = codec.clear_prefix_len(protected).ok()?;
    let (header, _) = SframeHeader::decode(protected.get(prefix..)?).ok()?;
    Some(header.kid)
}

/// TEST ONLY: what decrypting a received frame would have given; the
/// `skip_decrypt` hook counts this to show that ciphertext reached the decoder.
#[cfg(feature = "test-hooks")]
enum Trial {
    Authentic,
    /// The frame names a KID whose key is not (yet) installed.
    KeyNotYetThere(u64),
    Failed(DropReason),
}

#[cfg(feature = "test-hooks")]
fn trial_decrypt(
    frame: &EncodedFrame,
    options: &StreamOptions,
    peers: &mut HashMap<String, ReceiverKeyStore>,
    now: f64,
) -> Trial {
    let bytes = match frame_bytes(frame) {
        Ok(bytes) => bytes,
        Err(reason) => return Trial::Failed(reason),
    };
    let codec = match codec_of(frame, options.kind) {
        Ok(codec) => codec,
        Err(reason) => return Trial::Failed(reason),
    };
    let Some(store) = peers.get_mut(&options.peer) else {
        return header_kid(codec, &bytes)
            .map_or(Trial::Failed(DropReason::NoPeerKeys), Trial::KeyNotYetThere);
    };
    // A fresh stream state: only the tag is asked about, not the replay
    // window (frames the browser hands over twice would count as replays).
    match ReceiveStream::new().decrypt_frame(store, codec, &bytes, now as u64) {
        Ok(_) => Trial::Authentic,
        Err(SframeError::UnknownKey { kid }) => Trial::KeyNotYetThere(kid),
        Err(e) => Trial::Failed(DropReason::Sframe(e)),
    }
}

fn on_frame(
    state: &Rc<RefCell<State>>,
    id: u32,
    frame: JsValue,
    controller: TransformStreamDefaultController,
) {
    let outcome = state.borrow_mut().process(id, frame.unchecked_ref());
    match outcome {
        Outcome::Pass => {
            let _ = controller.enqueue_with_chunk(&frame);
        }
        Outcome::Drop => {}
        Outcome::DropAndRequest(request) => request_key_frames(state, vec![request]),
    }
}

/// Asks senders for key frames: `sendKeyFrameRequest()` on the standard
/// path, else a `keyframe_needed` message to the main thread.
pub(crate) fn request_key_frames(state: &Rc<RefCell<State>>, requests: Vec<KeyFrameRequest>) {
    for request in requests {
        let method = request.transformer.as_ref().and_then(|t| {
            Reflect::get(t, &"sendKeyFrameRequest".into())
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok())
                .map(|f| (t.clone(), f))
        });
        if let Some((transformer, method)) = method
            && let Ok(promise) = method.call0(&transformer)
            && let Ok(promise) = promise.dyn_into::<js_sys::Promise>()
        {
            // Rejects e.g. while the receiver has no SSRC yet: harmless.
            spawn_local(async move {
                let _ = JsFuture::from(promise).await;
            });
            continue;
        }
        let scope = state.borrow().scope.clone();
        post(
            &scope,
            &FromWorker::KeyFrameNeeded {
                peer: request.peer,
                kind: request.kind,
            },
        );
    }
}

/// Pipes `readable` through a frame transform into `writable`.
pub(crate) fn attach(
    state: &Rc<RefCell<State>>,
    mut options: StreamOptions,
    readable: ReadableStream,
    writable: WritableStream,
    transformer: Option<RtcRtpScriptTransformer>,
) {
    let id = {
        let mut s = state.borrow_mut();
        options.peer = s.owner_of(std::mem::take(&mut options.peer));
        s.next_id = s.next_id.wrapping_add(1);
        s.next_id
    };
    let weak = Rc::downgrade(state);
    let closure = FrameClosure::new(move |frame: JsValue, controller| {
        if let Some(state) = weak.upgrade() {
            on_frame(&state, id, frame, controller);
        }
    });
    #[cfg(feature = "test-hooks")]
    if state.borrow().pipe_only {
        let pipe = readable.pipe_to(&writable);
        return watch_pipe(state, id, options, transformer, closure, pipe);
    }
    let hooks = Object::new();
    let transform_stream = Reflect::set(&hooks, &"transform".into(), closure.as_ref())
        .and_then(|_| TransformStream::new_with_transformer(&hooks));
    let transform_stream = match transform_stream {
        Ok(t) => t,
        Err(e) => return post_error(state, &format!("cannot create a TransformStream: {e:?}")),
    };
    let pipe = readable
        .pipe_through(&ReadableWritablePair::new(
            &transform_stream.readable(),
            &transform_stream.writable(),
        ))
        .pipe_to(&writable);
    watch_pipe(state, id, options, transformer, closure, pipe);
}

/// Keeps the stream `id` in the state until its pipe ends.
fn watch_pipe(
    state: &Rc<RefCell<State>>,
    id: u32,
    options: StreamOptions,
    transformer: Option<RtcRtpScriptTransformer>,
    closure: FrameClosure,
    pipe: js_sys::Promise,
) {
    state
        .borrow_mut()
        .streams
        .push(Stream::new(id, options, transformer, closure));
    let weak = Rc::downgrade(state);
    spawn_local(async move {
        // Resolves or rejects when the connection or the peer goes away.
        let _ = JsFuture::from(pipe).await;
        if let Some(state) = weak.upgrade() {
            let gone = {
                let mut s = state.borrow_mut();
                let (gone, kept): (Vec<Stream>, Vec<Stream>) = std::mem::take(&mut s.streams)
                    .into_iter()
                    .partition(|stream| stream.id == id);
                s.streams = kept;
                gone
            };
            drop(gone);
        }
    });
}

/// Posts the stats (every second).
pub(crate) fn report(state: &Rc<RefCell<State>>) {
    let (scope, stats) = {
        let s = state.borrow();
        (s.scope.clone(), s.stats())
    };
    post(&scope, &FromWorker::Stats(stats));
}
