//! One `RTCPeerConnection` per remote participant, every frame through the
//! frame-crypto worker.
//!
//! Negotiation: the caller decides who offers ([`Mesh::add_peer`]); only
//! the offerer ever creates offers (no glare). The other side asks for an
//! ICE restart with `Signal::IceRestart {}`. Remote ICE candidates are
//! applied once `setRemoteDescription` was called (queued before).
//!
//! ICE restarts: when `iceConnectionState` becomes `disconnected` or
//! `failed`, the offerer restarts ICE (an offer with new credentials) and
//! the other side asks for it, at most once per `RESTART_INTERVAL_MS`.
//! Signals get lost when the signaling channel breaks together with ICE
//! (a network change), so a watchdog on the worker's stats tick (about
//! once a second) repeats both while ICE stays broken, and the offerer
//! offers again when an answer is `OFFER_TIMEOUT_MS` late (otherwise one
//! lost offer would block every later restart).
//!
//! Transforms: sender transforms are attached as soon as the sender exists
//! (offerer: right after `addTransceiver`, before any track is set;
//! answerer: in the `track` event of `setRemoteDescription`), receiver
//! transforms in the `track` event, once per receiver. A sender whose
//! transform could not be attached never gets a track.
//!
//! After `connectionState == "connected"` the DTLS certificate the browser
//! saw is checked against the fingerprint in the authenticated remote SDP
//! ([`confide_shared::dtls`]); on mismatch the connection is closed and
//! [`RtcEvent::FingerprintMismatch`] emitted.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::{Rc, Weak};

use js_sys::{Array, ArrayBuffer, Date, Function, Object, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{
    MediaStream, MediaStreamTrack, ReadableStream, RtcBundlePolicy, RtcConfiguration,
    RtcIceCandidateInit, RtcIceConnectionState, RtcIceServer, RtcOfferOptions, RtcPeerConnection,
    RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcRtpReceiver, RtcRtpScriptTransform,
    RtcRtpSender, RtcRtpTransceiver, RtcRtpTransceiverDirection, RtcRtpTransceiverInit, RtcSdpType,
    RtcSessionDescriptionInit, RtcTrackEvent, WritableStream,
};

use confide_shared::dtls::{DtlsError, verify_remote_certificate};
use confide_shared::envelope::ParticipantId;
use confide_shared::ice_policy::TransportPolicy;
use confide_shared::media_watch::{MediaHealth, MediaWatch, Sending};
use confide_shared::sdp::without_orphan_payload_lines;
use confide_shared::signal::Signal;

mod prepared;

use super::{FrameCrypto, RtcError, TransformPath};
use crate::worker::protocol::{
    Direction, FromWorker, MediaKind, StreamOptions, ToWorker, WorkerStats, peer_tag,
};

/// A receiving stream counts as decrypting if the worker passed a frame on
/// within this time.
const FRESH_MS: f64 = 3000.0;
/// How much later than the last decrypted frame RTP may have been seen to
/// grow when a stream goes quiet (the RTP poll runs about once a second).
const QUIET_SLACK_MS: f64 = 2000.0;
/// At most one ICE restart (or restart request) per peer in this interval.
const RESTART_INTERVAL_MS: f64 = 5000.0;
/// A connected peer whose remote certificate the browser still does not
/// show after this long is treated as a fingerprint mismatch.
const FINGERPRINT_DEADLINE_MS: f64 = 5_000.0;

/// An offer not answered within this time is taken as lost and made again
/// (with an ICE restart). Answers take well under a second.
const OFFER_TIMEOUT_MS: f64 = 10_000.0;

const KINDS: [MediaKind; 2] = [MediaKind::Audio, MediaKind::Video];
/// RTP packets that must flow past a transform that saw no frame at all
/// before it is suspected bypassed (send, recv). A suspicion must hold on
/// two polls in a row (~1 s apart): the worker's stats lag a little.
const BYPASS_PACKETS: [f64; 2] = [50.0, 250.0];

#[wasm_bindgen]
extern "C" {
    /// An `RTCRtpSender` or `RTCRtpReceiver` with Chromium's legacy
    /// `createEncodedStreams()` (not in web-sys).
    #[wasm_bindgen(extends = Object)]
    type EncodedStreamsSource;

    #[wasm_bindgen(method, catch, js_name = createEncodedStreams)]
    fn create_encoded_streams(this: &EncodedStreamsSource) -> Result<Object, JsValue>;
}

/// A STUN or TURN server, with this member's credentials (from the relay).
pub use confide_shared::wire::IceServer;

/// What the mesh tells the session controller.
#[derive(Debug, Clone)]
pub enum RtcEvent {
    /// Send this to `peer` through the encrypted channel (Offer, Answer,
    /// Ice, IceRestart).
    Signal { peer: ParticipantId, signal: Signal },
    /// The peer's media (the same stream object each time; emitted again
    /// when a track is added to it).
    RemoteStream {
        peer: ParticipantId,
        stream: MediaStream,
    },
    /// `iceConnectionState` became `checking`: the browser has candidate
    /// pairs to try and checks them without the page's main thread.
    IceChecking { peer: ParticipantId },
    /// `connectionState` became `connected`.
    Connected { peer: ParticipantId },
    /// `connectionState` left `connected` (ICE restarts are handled here).
    Disconnected { peer: ParticipantId },
    /// The DTLS certificate does not match the authenticated SDP: the
    /// connection was closed. Hang up and warn.
    FingerprintMismatch { peer: ParticipantId },
    /// A transform could not be attached: that sender sends nothing (or
    /// that receiver's media cannot be decrypted).
    TransformFailed {
        peer: ParticipantId,
        direction: Direction,
        kind: MediaKind,
        reason: String,
    },
    /// Whether all media is end-to-end encrypted right now; emitted on change.
    EncryptionState { all_encrypted: bool },
    /// Frames dropped since the last report (about once per second).
    FramesDropped {
        peer: ParticipantId,
        direction: Direction,
        kind: MediaKind,
        reason: String,
        count: u64,
    },
    /// The sender key used half its counters: install a new one soon.
    SenderKeyRotationNeeded,
    /// Whether media from `peer` gets through changed (see
    /// [`confide_shared::media_watch`]); emitted on change.
    MediaHealth {
        peer: ParticipantId,
        health: MediaHealth,
    },
    /// Something failed that the caller may log or show (negotiation,
    /// worker errors).
    Error {
        peer: Option<ParticipantId>,
        message: String,
    },
}

/// Result of the DTLS fingerprint check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FingerprintStatus {
    /// Not connected yet, or connected but the browser does not show the
    /// remote certificate yet (checked again on every stats tick).
    Pending,
    /// Certificate matches the authenticated SDP.
    Verified,
    /// The browser has no `getRemoteCertificates()` (Firefox, Safari): the
    /// browser's own DTLS check against the same SDP is all we have.
    Unavailable,
    /// Mismatch: the connection was closed.
    Mismatch,
}

/// One kind (audio or video) towards one peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotState {
    /// A local track is being sent.
    pub sending: bool,
    pub sender_transform: bool,
    /// The peer's track arrived (`track` event).
    pub remote_track: bool,
    pub receiver_transform: bool,
    /// RTP (`getStats()`) or the worker saw frames from this peer within
    /// ~3 s.
    pub receiving: bool,
    /// The worker decrypted frames from this peer within ~3 s, or the
    /// stream went quiet right after a decrypted frame (a still picture
    /// sends no frames).
    pub decrypting: bool,
}

impl SlotState {
    fn encrypted(&self) -> bool {
        (!self.sending || self.sender_transform)
            && (!self.remote_track || self.receiver_transform)
            && (!self.receiving || self.decrypting)
    }
}

/// Encryption of one peer connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEncryption {
    pub peer: ParticipantId,
    pub connected: bool,
    pub fingerprint: FingerprintStatus,
    pub audio: SlotState,
    pub video: SlotState,
}

/// Encryption of the whole call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionState {
    /// At least one peer is connected, and for every connected peer: every
    /// sending track has a transform, every received track has one, and
    /// every stream that is receiving frames decrypts them.
    pub all_encrypted: bool,
    pub peers: Vec<PeerEncryption>,
}

type Handler = Closure<dyn FnMut(JsValue)>;

struct Slot {
    kind: MediaKind,
    transceiver: RtcRtpTransceiver,
    sender_transform: bool,
    remote_track: bool,
    receiver_transform: bool,
}

struct Peer {
    id: ParticipantId,
    tag: String,
    pc: RtcPeerConnection,
    is_offerer: bool,
    /// Which candidates this connection may use (see `shared::ice_policy`).
    policy: TransportPolicy,
    /// Nothing of ours is sent on this connection (see [`Mesh::set_paused`]).
    paused: bool,
    slots: Vec<Slot>,
    remote_stream: MediaStream,
    /// The last remote SDP, as received through the authenticated channel.
    remote_sdp: Option<String>,
    remote_description_called: bool,
    pending_ice: Vec<RtcIceCandidateInit>,
    connected: bool,
    /// When `connectionState` became `connected` (for the fingerprint deadline).
    connected_ms: f64,
    negotiating: bool,
    /// When the offer being negotiated was started.
    offer_started_ms: f64,
    restart_wanted: bool,
    last_restart_ms: f64,
    fingerprint: FingerprintStatus,
    rtp: RtpWatch,
    /// Whether decrypted media arrives, and what the page last said about it.
    media: MediaWatch,
    health: MediaHealth,
    /// What the peer's last description says it sends ("Nur Ton", "Nur schreiben").
    sending: Sending,
    /// Offer/answer exchanges completed (initial and renegotiations).
    negotiations: u32,
    handlers: Vec<Handler>,
}

/// What `getStats()` says about the peer's RTP, by kind (audio, video):
/// independent of the worker, so a transform that frames bypass, or a
/// stalled worker, cannot make the call look encrypted.
#[derive(Debug, Default)]
struct RtpWatch {
    /// First and last `packetsReceived` / `packetsSent` seen.
    first_in: [Option<f64>; 2],
    last_in: [f64; 2],
    first_out: [Option<f64>; 2],
    last_out: [f64; 2],
    /// When the counters last grew.
    in_grew_ms: [Option<f64>; 2],
    /// Consecutive polls with a suspected bypass, by (send, recv) and kind;
    /// `u8::MAX` once reported.
    suspect: [[u8; 2]; 2],
}

impl Peer {
    fn slot(&self, kind: MediaKind) -> Option<&Slot> {
        self.slots.iter().find(|s| s.kind == kind)
    }

    /// Closes the connection and detaches its handlers; the returned
    /// handlers must be dropped later (one of them may be running).
    fn close(mut self) -> Vec<Handler> {
        self.pc.set_onicecandidate(None);
        self.pc.set_ontrack(None);
        self.pc.set_onconnectionstatechange(None);
        self.pc.set_oniceconnectionstatechange(None);
        self.pc.close();
        std::mem::take(&mut self.handlers)
    }
}

/// Drops `value` after the current event handler returned.
fn drop_later<T: 'static>(value: T) {
    spawn_local(async move { drop(value) });
}

/// What an event handler must start after releasing the state.
enum Action {
    Restart(ParticipantId),
}

struct Inner {
    crypto: FrameCrypto,
    path: TransformPath,
    tracks: [Option<MediaStreamTrack>; 2],
    ice_servers: Vec<IceServer>,
    on_event: Rc<dyn Fn(RtcEvent)>,
    peers: HashMap<ParticipantId, Peer>,
    stats: WorkerStats,
    last_all_encrypted: Option<bool>,
    rotation_reported: bool,
    /// Test hook: reproduce the Chromium bug (receiver transforms of the
    /// offerer set in `track`) to exercise the bypass detection.
    late_receiver_transforms: bool,
    /// The kinds we send; the others are negotiated `recvonly`.
    sending: Sending,
    /// The counsellor's next connection, made ahead ([`Mesh::prepare_offer`]).
    prepared: Option<prepared::Prepared>,
}

fn kind_index(kind: MediaKind) -> usize {
    match kind {
        MediaKind::Audio => 0,
        MediaKind::Video => 1,
    }
}

fn sends(sending: Sending, kind: MediaKind) -> bool {
    match kind {
        MediaKind::Audio => sending.audio,
        MediaKind::Video => sending.video,
    }
}

fn first_track(tracks: &Array) -> Option<MediaStreamTrack> {
    tracks.get(0).dyn_into::<MediaStreamTrack>().ok()
}

/// A stream whose RTP stopped right after its last decrypted frame went
/// quiet: a still picture (a static shared screen, a canvas) sends no
/// frames at all. That is not a failure to decrypt, although RTP was seen
/// growing (at the poll after that frame) more recently than the frame
/// was decrypted. Frames that keep arriving undecrypted, or bypass the
/// worker, keep RTP growing past the slack.
fn went_quiet(last_ok_ms: Option<f64>, rtp_grew_ms: Option<f64>) -> bool {
    match (last_ok_ms, rtp_grew_ms) {
        (Some(ok), Some(grew)) => grew - ok <= QUIET_SLACK_MS,
        _ => false,
    }
}

/// Emits events with no state borrowed (handlers may call back into the mesh).
fn emit(inner: &Rc<RefCell<Inner>>, events: Vec<RtcEvent>) {
    if events.is_empty() {
        return;
    }
    let on_event = inner.borrow().on_event.clone();
    for event in events {
        on_event(event);
    }
}

/// The full mesh of peer connections. Dropping it closes every connection.
pub struct Mesh {
    inner: Rc<RefCell<Inner>>,
}

impl Mesh {
    /// A mesh sending `local`'s first audio and video track to every peer.
    /// `crypto` must already be started; `on_event` receives everything the
    /// session controller must act on.
    pub fn new(
        crypto: FrameCrypto,
        path: TransformPath,
        local: &MediaStream,
        ice_servers: Vec<IceServer>,
        on_event: Rc<dyn Fn(RtcEvent)>,
    ) -> Mesh {
        let inner = Rc::new(RefCell::new(Inner {
            crypto: crypto.clone(),
            path,
            tracks: [
                first_track(&local.get_audio_tracks()),
                first_track(&local.get_video_tracks()),
            ],
            ice_servers,
            on_event,
            peers: HashMap::new(),
            stats: WorkerStats::default(),
            last_all_encrypted: None,
            rotation_reported: false,
            late_receiver_transforms: false,
            sending: Sending::ALL,
            prepared: None,
        }));
        let weak = Rc::downgrade(&inner);
        crypto.set_listener(Some(Rc::new(move |message: FromWorker| {
            if let Some(inner) = weak.upgrade() {
                let is_stats = matches!(message, FromWorker::Stats(_));
                let events = inner.borrow_mut().on_worker(message);
                emit(&inner, events);
                if is_stats {
                    poll_rtp(&inner);
                    recheck_fingerprints(&inner);
                    ice_watchdog(&inner);
                }
            }
        })));
        Mesh { inner }
    }

    /// A guest who chose "Nur Ton" or "Nur schreiben": the kinds she does
    /// not send are negotiated `recvonly` on every connection made after
    /// this, so the other side can read her choice from the authenticated
    /// description ([`Mesh::remote_sending`]) instead of waiting for media.
    pub fn set_sending(&self, sending: Sending) {
        self.inner.borrow_mut().sending = sending;
    }

    /// What `peer`'s last description says it sends (both kinds before one arrived).
    pub fn remote_sending(&self, peer: &ParticipantId) -> Sending {
        self.inner
            .borrow()
            .peers
            .get(peer)
            .map_or(Sending::ALL, |p| p.sending)
    }

    /// The frame-crypto handle (to install keys).
    pub fn crypto(&self) -> FrameCrypto {
        self.inner.borrow().crypto.clone()
    }

    /// The transform API in use.
    pub fn path(&self) -> TransformPath {
        self.inner.borrow().path
    }

    /// Opens a connection to `peer`. The offerer sends an offer at once
    /// (as [`RtcEvent::Signal`]), from the connection made ahead if one
    /// fits ([`Mesh::prepare_offer`]); the other side waits for it.
    pub fn add_peer(
        &self,
        peer: ParticipantId,
        is_offerer: bool,
        policy: TransportPolicy,
    ) -> Result<(), RtcError> {
        let (events, prepared_offer) = {
            let mut inner = self.inner.borrow_mut();
            if inner.peers.contains_key(&peer) {
                return Err(RtcError::PeerExists);
            }
            let sending = inner.sending;
            // Only the counsellor prepares: the guest's module leaves this out.
            let prepared = match crate::GUEST_MODULE {
                true => None,
                false => inner
                    .prepared
                    .take_if(|p| is_offerer && p.fits(policy, sending)),
            };
            let mut events = Vec::new();
            let prepared_offer = match prepared {
                Some(prepared) => {
                    // Before the offer leaves, so before any frame can flow.
                    if let Err(e) = inner.crypto.retag(&prepared.placeholder, &peer) {
                        prepared.discard(&inner.crypto);
                        return Err(e);
                    }
                    let (pc, slots, offer, gathered) = prepared.take_over();
                    let mut created = Inner::peer_on(&self.inner, pc, peer, true, policy)?;
                    created.slots = slots;
                    inner.peers.insert(peer, created);
                    Some((offer, gathered))
                }
                None => {
                    let created = inner.create_peer(&self.inner, peer, is_offerer, policy)?;
                    inner.peers.insert(peer, created);
                    if is_offerer {
                        events.extend(inner.add_offerer_slots(peer));
                    }
                    None
                }
            };
            (events, prepared_offer)
        };
        emit(&self.inner, events);
        match prepared_offer {
            Some((offer, gathered)) => {
                #[cfg(feature = "test-hooks")]
                crate::page_marks::count_in_page("prepared-offers");
                send_offer(&self.inner, peer, Ok(offer), false, gathered);
            }
            None if is_offerer => start_offer(&self.inner, peer, false),
            None => {}
        }
        Ok(())
    }

    /// Counsellor: makes the connection for the next guest she let in now,
    /// while that guest's handshake runs, so that its offer is ready when
    /// the handshake ends (see `prepared.rs`). Nothing if one with `policy`
    /// is ready already.
    pub fn prepare_offer(&self, policy: TransportPolicy) {
        let mut inner = self.inner.borrow_mut();
        let sending = inner.sending;
        if inner
            .prepared
            .as_ref()
            .is_some_and(|p| p.fits(policy, sending))
        {
            return;
        }
        if let Some(old) = inner.prepared.take() {
            old.discard(&inner.crypto);
        }
        inner.prepared = prepared::Prepared::make(&inner, policy);
    }

    /// Nobody waits for a connection any more: closes the one made ahead.
    pub fn drop_prepared(&self) {
        let mut inner = self.inner.borrow_mut();
        if let Some(old) = inner.prepared.take() {
            old.discard(&inner.crypto);
        }
    }

    /// Handles a signal from `peer` (after the envelope was opened and
    /// authenticated). Signals other than Offer/Answer/Ice/IceRestart are
    /// ignored.
    pub fn on_signal(&self, peer: ParticipantId, signal: Signal) {
        match signal {
            Signal::Offer { sdp } => accept_offer(&self.inner, peer, sdp),
            Signal::Answer { sdp } => accept_answer(&self.inner, peer, sdp),
            Signal::Ice {
                candidate,
                sdp_mid,
                sdp_m_line_index,
            } => {
                let init = RtcIceCandidateInit::new(&candidate);
                init.set_sdp_mid(sdp_mid.as_deref());
                init.set_sdp_m_line_index(sdp_m_line_index);
                let mut inner = self.inner.borrow_mut();
                if let Some(p) = inner.peers.get_mut(&peer) {
                    if p.remote_description_called {
                        add_candidate(&p.pc, &init);
                    } else {
                        p.pending_ice.push(init);
                    }
                }
            }
            Signal::IceRestart {} => {
                let restart = {
                    let mut inner = self.inner.borrow_mut();
                    inner.peers.get_mut(&peer).is_some_and(|p| {
                        if !p.is_offerer {
                            return false;
                        }
                        if p.negotiating {
                            p.restart_wanted = true;
                            return false;
                        }
                        p.last_restart_ms = Date::now();
                        true
                    })
                };
                if restart {
                    start_offer(&self.inner, peer, true);
                }
            }
            _ => {}
        }
    }

    /// The person asked to try again after [`RtcEvent::MediaHealth`]
    /// reported trouble: the offerer offers again with an ICE restart, the
    /// other side asks it to. The deadline starts again.
    pub fn retry_media(&self, peer: ParticipantId) {
        let (offer, events) = {
            let mut inner = self.inner.borrow_mut();
            let Some(p) = inner.peers.get_mut(&peer) else {
                return;
            };
            p.media.retry(now_ms());
            p.last_restart_ms = Date::now();
            let offer = p.is_offerer;
            let mut events = inner.health_events();
            if !offer {
                events.push(RtcEvent::Signal {
                    peer,
                    signal: Signal::IceRestart {},
                });
            }
            (offer, events)
        };
        emit(&self.inner, events);
        if offer {
            start_offer(&self.inner, peer, true);
        }
    }

    /// Closes the connection to `peer` and forgets its keys in the worker.
    pub fn remove_peer(&self, peer: ParticipantId) {
        let (removed, events) = {
            let mut inner = self.inner.borrow_mut();
            let removed = inner.peers.remove(&peer);
            if removed.is_some() {
                let _ = inner.crypto.forget_peer(&peer);
            }
            (removed, inner.state_events())
        };
        if let Some(removed) = removed {
            drop_later(removed.close());
        }
        emit(&self.inner, events);
    }

    /// Sends `track` (or nothing) as this kind to every peer, and to every
    /// peer that joins later: camera or microphone switch, screen share and
    /// back, mute by removing the track.
    ///
    /// Encryption does not depend on the track: the transform belongs to
    /// the sender (`RTCRtpSender.transform`, or its encoded streams on the
    /// legacy path) and stays when `replaceTrack` swaps the source, so a
    /// screen track is encrypted exactly like the camera (proven on both
    /// paths by `tests/tests/browser_rtc.rs`). Only senders whose transform
    /// is attached get the track; no renegotiation happens.
    ///
    /// The caller keeps ownership of the old track (stop it once it is no
    /// longer shown locally). Fails, sending nothing new, if `track` is not
    /// of `kind`.
    ///
    /// Takes a reference on purpose: web-sys's `MediaStreamTrack::clone()`
    /// is JavaScript's `track.clone()`, a second capture of the source that
    /// nobody would stop (`Clone::clone` is the cheap handle copy).
    pub fn replace_track(
        &self,
        kind: MediaKind,
        track: Option<&MediaStreamTrack>,
    ) -> Result<(), RtcError> {
        if let Some(track) = track
            && MediaKind::parse(&track.kind()) != Some(kind)
        {
            return Err(RtcError::Js(format!(
                "a {} track cannot be sent as {}",
                track.kind(),
                kind.as_str()
            )));
        }
        let senders: Vec<RtcRtpSender> = {
            let mut inner = self.inner.borrow_mut();
            inner.tracks[kind_index(kind)] = track.cloned();
            let prepared = inner.prepared.iter().flat_map(|p| &p.slots);
            inner
                .peers
                .values()
                .filter(|p| !p.paused)
                .filter_map(|p| p.slot(kind))
                .chain(prepared.filter(|s| s.kind == kind))
                .filter(|s| s.sender_transform)
                .map(|s| s.transceiver.sender())
                .collect()
        };
        for sender in senders {
            set_track(&sender, track);
        }
        Ok(())
    }

    /// Stops (`true`) or resumes sending our camera and microphone to
    /// `peer`, without renegotiation: its senders get no track, so nothing
    /// of ours reaches it. A guest pauses its links to the other guests
    /// while the counsellor is away: no group goes on without her.
    pub fn set_paused(&self, peer: ParticipantId, paused: bool) {
        let senders: Vec<(RtcRtpSender, Option<MediaStreamTrack>)> = {
            let mut inner = self.inner.borrow_mut();
            let tracks = inner.tracks.clone();
            let Some(p) = inner.peers.get_mut(&peer) else {
                return;
            };
            if p.paused == paused {
                return;
            }
            p.paused = paused;
            p.slots
                .iter()
                .filter(|s| s.sender_transform)
                .map(|s| {
                    let track = if paused {
                        None
                    } else {
                        tracks[kind_index(s.kind)].clone()
                    };
                    (s.transceiver.sender(), track)
                })
                .collect()
        };
        for (sender, track) in senders {
            set_track(&sender, track.as_ref());
        }
    }

    /// Per-peer and overall encryption state.
    pub fn encryption_state(&self) -> EncryptionState {
        self.inner.borrow().encryption_state()
    }

    /// The worker's last stats report.
    pub fn worker_stats(&self) -> WorkerStats {
        self.inner.borrow().stats.clone()
    }

    /// The connection to `peer` (e.g. for `getStats()`).
    /// New STUN/TURN servers (credentials renewed, or they arrived after a
    /// connection was made), and each connection's policy under them. A
    /// connection whose policy changes gathers again (ICE restart), so a
    /// link that must hide addresses never keeps its old candidates.
    pub fn set_ice_servers(
        &self,
        servers: Vec<IceServer>,
        policy_of: impl Fn(ParticipantId) -> TransportPolicy,
    ) {
        let restart = {
            let mut inner = self.inner.borrow_mut();
            inner.ice_servers = servers;
            // Made with the old servers: the next guest's is made as before.
            if let Some(old) = inner.prepared.take() {
                old.discard(&inner.crypto);
            }
            let mut restart = Vec::new();
            let ids: Vec<ParticipantId> = inner.peers.keys().copied().collect();
            for id in ids {
                let policy = policy_of(id);
                let Ok(config) = inner.configuration(policy) else {
                    continue;
                };
                let Some(peer) = inner.peers.get_mut(&id) else {
                    continue;
                };
                if let Err(error) = peer.pc.set_configuration_with_configuration(&config) {
                    web_sys::console::warn_2(&"confide: setConfiguration".into(), &error);
                    continue;
                }
                if peer.policy != policy {
                    peer.policy = policy;
                    restart.push(id);
                }
            }
            restart
        };
        for id in restart {
            self.retry_media(id);
        }
    }

    pub fn peer_connection(&self, peer: &ParticipantId) -> Option<RtcPeerConnection> {
        self.inner.borrow().peers.get(peer).map(|p| p.pc.clone())
    }

    /// TEST ONLY: attach the offerer's receiver transforms in the `track`
    /// event on the script path too (Chromium then bypasses them), so tests
    /// can prove the bypass is detected.
    #[cfg(feature = "test-hooks")]
    pub fn set_late_receiver_transforms(&self, on: bool) {
        self.inner.borrow_mut().late_receiver_transforms = on;
    }

    /// TEST ONLY: runs the mesh's reaction to `iceConnectionState ==
    /// state` towards `peer` as if the browser had reported it (ICE cannot
    /// be broken on purpose inside one page): `Disconnected` or `Failed`
    /// starts the same ICE restart a real failure would.
    #[cfg(feature = "test-hooks")]
    pub fn simulate_ice_state(&self, peer: ParticipantId, state: RtcIceConnectionState) {
        ice_state_changed(&self.inner, peer, state);
    }

    /// The peers in the mesh.
    pub fn peers(&self) -> Vec<ParticipantId> {
        self.inner.borrow().peers.keys().copied().collect()
    }

    /// TEST ONLY: whether we offer to `peer`, and how many offer/answer
    /// exchanges with it completed.
    #[cfg(feature = "test-hooks")]
    pub fn negotiations(&self, peer: &ParticipantId) -> Option<(bool, u32)> {
        let inner = self.inner.borrow();
        inner
            .peers
            .get(peer)
            .map(|p| (p.is_offerer, p.negotiations))
    }
}

impl Drop for Mesh {
    fn drop(&mut self) {
        let (peers, crypto) = {
            let mut inner = self.inner.borrow_mut();
            let peers: Vec<Peer> = inner.peers.drain().map(|(_, p)| p).collect();
            if let Some(old) = inner.prepared.take() {
                old.discard(&inner.crypto);
            }
            (peers, inner.crypto.clone())
        };
        crypto.set_listener(None);
        for peer in peers {
            let _ = crypto.forget_peer(&peer.id);
            drop_later(peer.close());
        }
    }
}

fn set_track(sender: &RtcRtpSender, track: Option<&MediaStreamTrack>) {
    let promise = sender.replace_track(track);
    spawn_local(async move {
        let _ = JsFuture::from(promise).await;
    });
}

fn add_candidate(pc: &RtcPeerConnection, init: &RtcIceCandidateInit) {
    let promise = pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(init));
    spawn_local(async move {
        // Candidates from before an ICE restart fail by design, so a failure
        // is logged, not shown: a connection that gets no media because of
        // failed candidates is reported by its media watch after the deadline.
        if let Err(error) = JsFuture::from(promise).await {
            web_sys::console::warn_1(
                &format!(
                    "confide: ICE candidate not applied: {}",
                    RtcError::from(error)
                )
                .into(),
            );
        }
    });
}

/// VP8 (+ RTX) for video, Opus alone for audio: no RED, no FEC, no
/// telephone events (frames of other codecs are dropped by the worker).
fn set_codec_preferences(transceiver: &RtcRtpTransceiver, kind: MediaKind) {
    let Some(capabilities) = RtcRtpReceiver::get_capabilities(kind.as_str()) else {
        return;
    };
    let Ok(codecs) = Reflect::get(&capabilities, &"codecs".into()) else {
        return;
    };
    let Ok(codecs) = codecs.dyn_into::<Array>() else {
        return;
    };
    let mime = |codec: &JsValue| {
        Reflect::get(codec, &"mimeType".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let primary = match kind {
        MediaKind::Video => "video/vp8",
        MediaKind::Audio => "audio/opus",
    };
    let chosen = Array::new();
    for codec in codecs.iter().filter(|c| mime(c) == primary) {
        chosen.push(&codec);
    }
    if chosen.length() == 0 {
        return;
    }
    if kind == MediaKind::Video {
        for codec in codecs.iter().filter(|c| mime(c) == "video/rtx") {
            chosen.push(&codec);
        }
    }
    if let Ok(method) = Reflect::get(transceiver, &"setCodecPreferences".into())
        && let Ok(method) = method.dyn_into::<Function>()
    {
        let _ = method.call1(transceiver, &chosen);
    }
}

/// TEST ONLY: whether the page asked for no encoded transform at all
/// (`?frames=none`, the CPU bench's baseline, docs/BENCHMARKS.md §14).
#[cfg(feature = "test-hooks")]
fn without_transform() -> bool {
    super::test_hooks::frames_mode() == super::test_hooks::FramesMode::NoTransform
}

/// Release builds always attach the transform.
#[cfg(not(feature = "test-hooks"))]
const fn without_transform() -> bool {
    false
}

/// TEST ONLY: whether no code of the worker sees the frames (no transform,
/// or the worker pipes them straight through: `?frames=none|pipe`), so the
/// worker cannot report them and RTP is the only sign of media.
#[cfg(feature = "test-hooks")]
fn frames_unseen() -> bool {
    matches!(
        super::test_hooks::frames_mode(),
        super::test_hooks::FramesMode::NoTransform | super::test_hooks::FramesMode::Piped
    )
}

/// Release builds always see every frame in the worker.
#[cfg(not(feature = "test-hooks"))]
const fn frames_unseen() -> bool {
    false
}

/// Attaches the worker transform to a sender or receiver.
fn attach_transform(
    crypto: &FrameCrypto,
    path: TransformPath,
    target: &JsValue,
    options: StreamOptions,
) -> Result<(), RtcError> {
    if without_transform() {
        return Ok(());
    }
    match path {
        TransformPath::Script => {
            let transform =
                RtcRtpScriptTransform::new_with_options(crypto.worker(), &options.to_js()?.into())?;
            if !Reflect::set(target, &"transform".into(), &transform)? {
                return Err(RtcError::Js("transform not settable".into()));
            }
            Ok(())
        }
        TransformPath::Legacy => {
            let streams = target
                .unchecked_ref::<EncodedStreamsSource>()
                .create_encoded_streams()?;
            let readable = Reflect::get(&streams, &"readable".into())?
                .dyn_into::<ReadableStream>()
                .map_err(|_| RtcError::Js("no readable stream".into()))?;
            let writable = Reflect::get(&streams, &"writable".into())?
                .dyn_into::<WritableStream>()
                .map_err(|_| RtcError::Js("no writable stream".into()))?;
            crypto.post(&ToWorker::LegacyStreams {
                options,
                readable,
                writable,
            })
        }
    }
}

/// The DER certificates of every DTLS transport of `pc` against the
/// authenticated remote SDP.
fn check_fingerprint(pc: &RtcPeerConnection, remote_sdp: Option<&str>) -> FingerprintStatus {
    let Some(remote_sdp) = remote_sdp else {
        return FingerprintStatus::Mismatch;
    };
    let mut transports: Vec<JsValue> = Vec::new();
    for endpoint in pc.get_senders().iter().chain(pc.get_receivers().iter()) {
        if let Ok(transport) = Reflect::get(&endpoint, &"transport".into())
            && transport.is_object()
            && !transports.contains(&transport)
        {
            transports.push(transport);
        }
    }
    if transports.is_empty() {
        return FingerprintStatus::Unavailable;
    }
    for transport in transports {
        let Some(method) = Reflect::get(&transport, &"getRemoteCertificates".into())
            .ok()
            .and_then(|m| m.dyn_into::<Function>().ok())
        else {
            return FingerprintStatus::Unavailable;
        };
        let Ok(certificates) = method.call0(&transport) else {
            return FingerprintStatus::Mismatch;
        };
        let certificates: Vec<Vec<u8>> = Array::from(&certificates)
            .iter()
            .filter_map(|c| c.dyn_into::<ArrayBuffer>().ok())
            .map(|c| Uint8Array::new(&c).to_vec())
            .collect();
        #[cfg(feature = "test-hooks")]
        let certificates = super::test_hooks::certificates_as_the_page_asks(certificates);
        // `connectionstatechange` can run before the DTLS transport shows
        // its remote certificate to script (seen under load): not a
        // mismatch yet; the caller checks again, with a deadline.
        if certificates.is_empty() {
            return FingerprintStatus::Pending;
        }
        match verify_remote_certificate(remote_sdp, &certificates) {
            Ok(()) => {}
            Err(DtlsError::NoCertificate) | Err(_) => return FingerprintStatus::Mismatch,
        }
    }
    FingerprintStatus::Verified
}

impl Inner {
    /// The `RTCConfiguration` of a connection with `policy`.
    fn configuration(&self, policy: TransportPolicy) -> Result<RtcConfiguration, RtcError> {
        let config = RtcConfiguration::new();
        config.set_bundle_policy(RtcBundlePolicy::MaxBundle);
        let servers = Array::new();
        for server in &self.ice_servers {
            let s = RtcIceServer::new();
            let urls: Array = server.urls.iter().map(|u| JsValue::from_str(u)).collect();
            s.set_urls(&urls);
            if !server.username.is_empty() {
                s.set_username(&server.username);
                s.set_credential(&server.credential);
            }
            servers.push(&s);
        }
        config.set_ice_servers(&servers);
        Reflect::set(
            &config,
            &"iceTransportPolicy".into(),
            &policy.as_str().into(),
        )?;
        if self.path == TransformPath::Legacy {
            // Without it Chromium may send frames untransformed.
            Reflect::set(&config, &"encodedInsertableStreams".into(), &true.into())?;
        }
        Ok(config)
    }

    /// A new connection with `policy` and a certificate made ahead.
    fn new_connection(&self, policy: TransportPolicy) -> Result<RtcPeerConnection, RtcError> {
        let config = self.configuration(policy)?;
        // Only here, not in `configuration`: `setConfiguration` refuses
        // certificates other than the connection's own.
        if let Some(certificate) = super::certificate::take() {
            config.set_certificates(&Array::of1(&certificate));
        }
        Ok(RtcPeerConnection::new_with_configuration(&config)?)
    }

    fn create_peer(
        &self,
        rc: &Rc<RefCell<Inner>>,
        id: ParticipantId,
        is_offerer: bool,
        policy: TransportPolicy,
    ) -> Result<Peer, RtcError> {
        let pc = self.new_connection(policy)?;
        Self::peer_on(rc, pc, id, is_offerer, policy)
    }

    /// `pc` as the connection to `id`, with its handlers.
    fn peer_on(
        rc: &Rc<RefCell<Inner>>,
        pc: RtcPeerConnection,
        id: ParticipantId,
        is_offerer: bool,
        policy: TransportPolicy,
    ) -> Result<Peer, RtcError> {
        let weak = Rc::downgrade(rc);
        let handlers = install_handlers(&pc, &weak, id);
        Ok(Peer {
            id,
            tag: peer_tag(&id),
            pc,
            is_offerer,
            policy,
            paused: false,
            slots: Vec::new(),
            remote_stream: MediaStream::new()?,
            remote_sdp: None,
            remote_description_called: false,
            pending_ice: Vec::new(),
            connected: false,
            connected_ms: f64::NEG_INFINITY,
            negotiating: false,
            offer_started_ms: f64::NEG_INFINITY,
            restart_wanted: false,
            last_restart_ms: f64::NEG_INFINITY,
            fingerprint: FingerprintStatus::Pending,
            rtp: RtpWatch::default(),
            media: MediaWatch::new(now_ms()),
            health: MediaHealth::Connecting,
            sending: Sending::ALL,
            negotiations: 0,
            handlers,
        })
    }

    /// Offerer: one sendrecv transceiver per kind, sender transform first,
    /// then the track.
    fn add_offerer_slots(&mut self, id: ParticipantId) -> Vec<RtcEvent> {
        let Some(peer) = self.peers.get(&id) else {
            return Vec::new();
        };
        let (slots, failed) = self.offerer_slots(&peer.pc, &peer.tag, peer.paused);
        if let Some(peer) = self.peers.get_mut(&id) {
            peer.slots = slots;
        }
        failed
            .into_iter()
            .map(|(direction, kind, reason)| RtcEvent::TransformFailed {
                peer: id,
                direction,
                kind,
                reason,
            })
            .collect()
    }

    /// The offerer's slots on `pc`, its transforms made under `tag`, and
    /// the transforms that failed.
    fn offerer_slots(
        &self,
        pc: &RtcPeerConnection,
        tag: &str,
        paused: bool,
    ) -> (Vec<Slot>, Vec<(Direction, MediaKind, String)>) {
        let mut slots = Vec::new();
        let mut failed = Vec::new();
        for kind in KINDS {
            let init = RtcRtpTransceiverInit::new();
            init.set_direction(if sends(self.sending, kind) {
                RtcRtpTransceiverDirection::Sendrecv
            } else {
                RtcRtpTransceiverDirection::Recvonly
            });
            let transceiver = pc.add_transceiver_with_str_and_init(kind.as_str(), &init);
            set_codec_preferences(&transceiver, kind);
            let sender = transceiver.sender();
            let options = |direction| StreamOptions {
                peer: tag.to_owned(),
                direction,
                kind,
            };
            let sender_transform = match attach_transform(
                &self.crypto,
                self.path,
                &sender,
                options(Direction::Send),
            ) {
                Ok(()) => {
                    if let Some(track) = &self.tracks[kind_index(kind)]
                        && !paused
                    {
                        set_track(&sender, Some(track));
                    }
                    true
                }
                Err(e) => {
                    failed.push((Direction::Send, kind, e.to_string()));
                    false
                }
            };
            // Script path: Chromium 156 never runs a receiver transform
            // set in the offerer's `track` event (frames bypass it and
            // reach the decoder; measured), so attach it up front.
            let receiver_transform = self.path == TransformPath::Script
                && !self.late_receiver_transforms
                && match attach_transform(
                    &self.crypto,
                    self.path,
                    &transceiver.receiver(),
                    options(Direction::Recv),
                ) {
                    Ok(()) => true,
                    Err(e) => {
                        failed.push((Direction::Recv, kind, e.to_string()));
                        false
                    }
                };
            slots.push(Slot {
                kind,
                transceiver,
                sender_transform,
                remote_track: false,
                receiver_transform,
            });
        }
        (slots, failed)
    }

    /// Finds or creates the slot of `transceiver`, attaching the sender
    /// transform of a new slot.
    fn slot_for(
        &mut self,
        id: ParticipantId,
        transceiver: &RtcRtpTransceiver,
        kind: MediaKind,
        events: &mut Vec<RtcEvent>,
    ) -> Option<usize> {
        let (crypto, path) = (self.crypto.clone(), self.path);
        let peer = self.peers.get_mut(&id)?;
        if let Some(index) = peer
            .slots
            .iter()
            .position(|s| &s.transceiver == transceiver)
        {
            return Some(index);
        }
        let attached = attach_transform(
            &crypto,
            path,
            &transceiver.sender(),
            StreamOptions {
                peer: peer.tag.clone(),
                direction: Direction::Send,
                kind,
            },
        );
        if let Err(e) = &attached {
            events.push(RtcEvent::TransformFailed {
                peer: id,
                direction: Direction::Send,
                kind,
                reason: e.to_string(),
            });
        }
        peer.slots.push(Slot {
            kind,
            transceiver: transceiver.clone(),
            sender_transform: attached.is_ok(),
            remote_track: false,
            receiver_transform: false,
        });
        Some(peer.slots.len() - 1)
    }

    fn on_track(&mut self, id: ParticipantId, event: &RtcTrackEvent) -> Vec<RtcEvent> {
        let mut events = Vec::new();
        let track = event.track();
        let Some(kind) = MediaKind::parse(&track.kind()) else {
            return events;
        };
        let transceiver = event.transceiver();
        let Some(index) = self.slot_for(id, &transceiver, kind, &mut events) else {
            return events;
        };
        let (crypto, path) = (self.crypto.clone(), self.path);
        let Some(peer) = self.peers.get_mut(&id) else {
            return events;
        };
        let tag = peer.tag.clone();
        let Some(slot) = peer.slots.get_mut(index) else {
            return events;
        };
        slot.remote_track = true;
        // Exactly once per receiver: the legacy API throws on a second call.
        if !slot.receiver_transform {
            match attach_transform(
                &crypto,
                path,
                &event.receiver(),
                StreamOptions {
                    peer: tag,
                    direction: Direction::Recv,
                    kind,
                },
            ) {
                Ok(()) => slot.receiver_transform = true,
                Err(e) => events.push(RtcEvent::TransformFailed {
                    peer: id,
                    direction: Direction::Recv,
                    kind,
                    reason: e.to_string(),
                }),
            }
        }
        if peer.remote_stream.get_track_by_id(&track.id()).is_none() {
            peer.remote_stream.add_track(&track);
        }
        events.push(RtcEvent::RemoteStream {
            peer: id,
            // The same stream every time: its new track shows in the same <video>.
            stream: Clone::clone(&peer.remote_stream),
        });
        events
    }

    /// Answerer, after `setRemoteDescription(offer)`: every transceiver
    /// sendrecv with codec preferences; returns the senders to give tracks.
    fn after_remote_offer(
        &mut self,
        id: ParticipantId,
    ) -> (Vec<(RtcRtpSender, MediaStreamTrack)>, Vec<RtcEvent>) {
        let mut events = Vec::new();
        let mut senders = Vec::new();
        let Some(pc) = self.peers.get(&id).map(|p| p.pc.clone()) else {
            return (senders, events);
        };
        for transceiver in pc.get_transceivers().iter() {
            let Ok(transceiver) = transceiver.dyn_into::<RtcRtpTransceiver>() else {
                continue;
            };
            if transceiver.stopped() {
                continue;
            }
            let Some(kind) = MediaKind::parse(&transceiver.receiver().track().kind()) else {
                continue;
            };
            let Some(index) = self.slot_for(id, &transceiver, kind, &mut events) else {
                continue;
            };
            let direction = if sends(self.sending, kind) {
                "sendrecv"
            } else {
                "recvonly"
            };
            let _ = Reflect::set(&transceiver, &"direction".into(), &direction.into());
            set_codec_preferences(&transceiver, kind);
            let track = self.tracks[kind_index(kind)].clone();
            if let Some(peer) = self.peers.get(&id)
                && !peer.paused
                && let Some(slot) = peer.slots.get(index)
                && slot.sender_transform
                && let Some(track) = track
                && transceiver.sender().track().is_none()
            {
                senders.push((transceiver.sender(), track));
            }
        }
        (senders, events)
    }

    fn on_connection_state(&mut self, id: ParticipantId) -> (Vec<RtcEvent>, Option<Peer>) {
        let mut events = Vec::new();
        let Some(peer) = self.peers.get_mut(&id) else {
            return (events, None);
        };
        let mut closed = None;
        match peer.pc.connection_state() {
            RtcPeerConnectionState::Connected if !peer.connected => {
                peer.connected = true;
                peer.connected_ms = Date::now();
                peer.fingerprint = check_fingerprint(&peer.pc, peer.remote_sdp.as_deref());
                match peer.fingerprint {
                    FingerprintStatus::Mismatch => {
                        events.push(RtcEvent::FingerprintMismatch { peer: id });
                        closed = self.peers.remove(&id);
                        let _ = self.crypto.forget_peer(&id);
                    }
                    FingerprintStatus::Pending => {}
                    _ => events.push(RtcEvent::Connected { peer: id }),
                }
            }
            RtcPeerConnectionState::Disconnected
            | RtcPeerConnectionState::Failed
            | RtcPeerConnectionState::Closed
                if peer.connected =>
            {
                peer.connected = false;
                events.push(RtcEvent::Disconnected { peer: id });
            }
            _ => {}
        }
        events.extend(self.state_events());
        (events, closed)
    }

    /// `state` is the connection's `iceConnectionState` (a test hook passes
    /// a pretended one).
    fn on_ice_state(
        &mut self,
        id: ParticipantId,
        state: RtcIceConnectionState,
    ) -> (Vec<RtcEvent>, Option<Action>) {
        let mut events = Vec::new();
        let Some(peer) = self.peers.get_mut(&id) else {
            return (events, None);
        };
        if state == RtcIceConnectionState::Checking {
            events.push(RtcEvent::IceChecking { peer: id });
            return (events, None);
        }
        if !matches!(
            state,
            RtcIceConnectionState::Disconnected | RtcIceConnectionState::Failed
        ) {
            return (events, None);
        }
        let now = Date::now();
        if peer.is_offerer && peer.negotiating {
            peer.restart_wanted = true;
            return (events, None);
        }
        if now - peer.last_restart_ms < RESTART_INTERVAL_MS {
            return (events, None);
        }
        peer.last_restart_ms = now;
        if peer.is_offerer {
            (events, Some(Action::Restart(id)))
        } else {
            events.push(RtcEvent::Signal {
                peer: id,
                signal: Signal::IceRestart {},
            });
            (events, None)
        }
    }

    /// Offerer: offers again when the answer is overdue, restarts ICE
    /// while it stays broken. Other side: asks again while ICE stays
    /// broken. Returns the restart requests to send and the peers to
    /// restart.
    /// Checks again the fingerprints the browser did not show yet at
    /// `connected`. Still none after [`FINGERPRINT_DEADLINE_MS`]: treated
    /// as a mismatch (fail closed). Returns the events and the closed peers.
    fn recheck_fingerprints(&mut self) -> (Vec<RtcEvent>, Vec<Peer>) {
        let now = Date::now();
        let mut events = Vec::new();
        let mut mismatched = Vec::new();
        for peer in self.peers.values_mut() {
            if !peer.connected || peer.fingerprint != FingerprintStatus::Pending {
                continue;
            }
            peer.fingerprint = check_fingerprint(&peer.pc, peer.remote_sdp.as_deref());
            if peer.fingerprint == FingerprintStatus::Pending
                && now - peer.connected_ms > FINGERPRINT_DEADLINE_MS
            {
                peer.fingerprint = FingerprintStatus::Mismatch;
            }
            match peer.fingerprint {
                FingerprintStatus::Mismatch => mismatched.push(peer.id),
                FingerprintStatus::Pending => {}
                _ => events.push(RtcEvent::Connected { peer: peer.id }),
            }
        }
        let mut closed = Vec::new();
        for id in mismatched {
            events.push(RtcEvent::FingerprintMismatch { peer: id });
            closed.extend(self.peers.remove(&id));
            let _ = self.crypto.forget_peer(&id);
        }
        (events, closed)
    }

    fn ice_watchdog(&mut self) -> (Vec<RtcEvent>, Vec<ParticipantId>) {
        let now = Date::now();
        let mut events = Vec::new();
        let mut restarts = Vec::new();
        for peer in self.peers.values_mut() {
            if peer.is_offerer && peer.negotiating {
                if now - peer.offer_started_ms >= OFFER_TIMEOUT_MS {
                    peer.restart_wanted = false;
                    peer.last_restart_ms = now;
                    restarts.push(peer.id);
                }
                continue;
            }
            let broken = matches!(
                peer.pc.ice_connection_state(),
                RtcIceConnectionState::Disconnected | RtcIceConnectionState::Failed
            );
            if !broken || now - peer.last_restart_ms < RESTART_INTERVAL_MS {
                continue;
            }
            peer.last_restart_ms = now;
            if peer.is_offerer {
                restarts.push(peer.id);
            } else {
                events.push(RtcEvent::Signal {
                    peer: peer.id,
                    signal: Signal::IceRestart {},
                });
            }
        }
        (events, restarts)
    }

    fn on_worker(&mut self, message: FromWorker) -> Vec<RtcEvent> {
        let mut events = Vec::new();
        match message {
            FromWorker::Stats(stats) => {
                let previous: HashMap<(String, Direction, MediaKind), &BTreeMap<String, u64>> =
                    self.stats
                        .streams
                        .iter()
                        .map(|s| ((s.peer.clone(), s.direction, s.kind), &s.dropped))
                        .collect();
                for stream in &stats.streams {
                    let Some(peer) = self.peers.values_mut().find(|p| p.tag == stream.peer) else {
                        continue;
                    };
                    if stream.direction == Direction::Recv
                        && let Some(at) = stream.last_ok_ms
                    {
                        peer.media.media_arrived(at as u64);
                    }
                    let before =
                        previous.get(&(stream.peer.clone(), stream.direction, stream.kind));
                    for (reason, count) in &stream.dropped {
                        let old = before.and_then(|b| b.get(reason)).copied().unwrap_or(0);
                        if *count > old {
                            events.push(RtcEvent::FramesDropped {
                                peer: peer.id,
                                direction: stream.direction,
                                kind: stream.kind,
                                reason: reason.clone(),
                                count: count - old,
                            });
                        }
                    }
                }
                if stats.needs_rotation && !self.rotation_reported {
                    events.push(RtcEvent::SenderKeyRotationNeeded);
                }
                self.rotation_reported = stats.needs_rotation;
                self.stats = stats;
                events.extend(self.state_events());
                events.extend(self.health_events());
            }
            // Legacy path: the receiving decoder sends PLIs by itself once
            // frames decrypt again; nothing to do here.
            FromWorker::KeyFrameNeeded { .. } => {}
            FromWorker::Error { reason } => events.push(RtcEvent::Error {
                peer: None,
                message: format!("frame-crypto worker: {reason}"),
            }),
            FromWorker::Ready | FromWorker::Pong => {}
        }
        events
    }

    fn encryption_state(&self) -> EncryptionState {
        let now = Date::now();
        let fresh = |t: Option<f64>| t.is_some_and(|t| now - t <= FRESH_MS);
        let mut peers: Vec<PeerEncryption> = self
            .peers
            .values()
            .map(|peer| {
                let slot_state = |kind: MediaKind| {
                    let Some(slot) = peer.slot(kind) else {
                        return SlotState::default();
                    };
                    let recv = self.stats.streams.iter().find(|s| {
                        s.peer == peer.tag && s.direction == Direction::Recv && s.kind == kind
                    });
                    let rtp_grew = peer.rtp.in_grew_ms[kind_index(kind)];
                    SlotState {
                        sending: slot.transceiver.sender().track().is_some(),
                        sender_transform: slot.sender_transform,
                        remote_track: slot.remote_track,
                        receiver_transform: slot.receiver_transform,
                        receiving: fresh(rtp_grew) || recv.is_some_and(|s| fresh(s.last_frame_ms)),
                        decrypting: recv.is_some_and(|s| {
                            fresh(s.last_ok_ms) || went_quiet(s.last_ok_ms, rtp_grew)
                        }) || (frames_unseen() && fresh(rtp_grew)),
                    }
                };
                PeerEncryption {
                    peer: peer.id,
                    connected: peer.connected,
                    fingerprint: peer.fingerprint,
                    audio: slot_state(MediaKind::Audio),
                    video: slot_state(MediaKind::Video),
                }
            })
            .collect();
        peers.sort_by_key(|p| p.peer);
        let connected: Vec<&PeerEncryption> = peers.iter().filter(|p| p.connected).collect();
        let all_encrypted = !connected.is_empty()
            && connected.iter().all(|p| {
                // Claimed only once the DTLS check passed (or cannot run here).
                matches!(
                    p.fingerprint,
                    FingerprintStatus::Verified | FingerprintStatus::Unavailable
                ) && p.audio.encrypted()
                    && p.video.encrypted()
            });
        EncryptionState {
            all_encrypted,
            peers,
        }
    }

    /// A `MediaHealth` event for each peer whose verdict changed.
    fn health_events(&mut self) -> Vec<RtcEvent> {
        let now = now_ms();
        let mut events = Vec::new();
        for peer in self.peers.values_mut() {
            let health = peer.media.health(now);
            if health != peer.health {
                peer.health = health;
                events.push(RtcEvent::MediaHealth {
                    peer: peer.id,
                    health,
                });
            }
        }
        events
    }

    /// An `EncryptionState` event if the overall verdict changed.
    fn state_events(&mut self) -> Vec<RtcEvent> {
        let all_encrypted = self.encryption_state().all_encrypted;
        if self.last_all_encrypted == Some(all_encrypted) {
            return Vec::new();
        }
        self.last_all_encrypted = Some(all_encrypted);
        vec![RtcEvent::EncryptionState { all_encrypted }]
    }
}

fn install_handlers(
    pc: &RtcPeerConnection,
    weak: &Weak<RefCell<Inner>>,
    id: ParticipantId,
) -> Vec<Handler> {
    let mut handlers = Vec::new();

    let w = weak.clone();
    let on_ice = Handler::new(move |event: JsValue| {
        let Some(inner) = w.upgrade() else { return };
        let event: RtcPeerConnectionIceEvent = event.unchecked_into();
        let Some(candidate) = event.candidate() else {
            return;
        };
        let text = candidate.candidate();
        if text.is_empty() {
            return; // end of candidates
        }
        emit(
            &inner,
            vec![RtcEvent::Signal {
                peer: id,
                signal: Signal::Ice {
                    candidate: text,
                    sdp_mid: candidate.sdp_mid(),
                    sdp_m_line_index: candidate.sdp_m_line_index(),
                },
            }],
        );
    });
    pc.set_onicecandidate(Some(on_ice.as_ref().unchecked_ref()));
    handlers.push(on_ice);

    let w = weak.clone();
    let on_track = Handler::new(move |event: JsValue| {
        let Some(inner) = w.upgrade() else { return };
        let event: RtcTrackEvent = event.unchecked_into();
        let events = inner.borrow_mut().on_track(id, &event);
        emit(&inner, events);
    });
    pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
    handlers.push(on_track);

    let w = weak.clone();
    let on_connection = Handler::new(move |_: JsValue| {
        let Some(inner) = w.upgrade() else { return };
        let (events, closed) = inner.borrow_mut().on_connection_state(id);
        if let Some(closed) = closed {
            drop_later(closed.close());
        }
        emit(&inner, events);
    });
    pc.set_onconnectionstatechange(Some(on_connection.as_ref().unchecked_ref()));
    handlers.push(on_connection);

    let w = weak.clone();
    let on_ice_state = Handler::new(move |_: JsValue| {
        let Some(inner) = w.upgrade() else { return };
        let state = {
            let i = inner.borrow();
            let Some(peer) = i.peers.get(&id) else { return };
            peer.pc.ice_connection_state()
        };
        ice_state_changed(&inner, id, state);
    });
    pc.set_oniceconnectionstatechange(Some(on_ice_state.as_ref().unchecked_ref()));
    handlers.push(on_ice_state);

    handlers
}

/// Reacts to an ICE connection state: a broken connection is restarted
/// (offerer) or a restart is asked for (the other side).
fn ice_state_changed(inner: &Rc<RefCell<Inner>>, id: ParticipantId, state: RtcIceConnectionState) {
    let (events, action) = inner.borrow_mut().on_ice_state(id, state);
    emit(inner, events);
    if let Some(Action::Restart(peer)) = action {
        start_offer(inner, peer, true);
    }
}

/// The fingerprint checks that had to wait for the browser (see
/// [`Inner::recheck_fingerprints`]).
fn recheck_fingerprints(inner: &Rc<RefCell<Inner>>) {
    let (events, closed) = inner.borrow_mut().recheck_fingerprints();
    for peer in closed {
        drop_later(peer.close());
    }
    emit(inner, events);
}

/// Repeats what a lost signal would leave undone (see the module docs).
fn ice_watchdog(inner: &Rc<RefCell<Inner>>) {
    let (events, restarts) = inner.borrow_mut().ice_watchdog();
    emit(inner, events);
    for peer in restarts {
        start_offer(inner, peer, true);
    }
}

fn error_event(peer: ParticipantId, what: &str, e: RtcError) -> RtcEvent {
    RtcEvent::Error {
        peer: Some(peer),
        message: format!("{what}: {e}"),
    }
}

/// A session description was refused or could not be made: reported as an
/// error and, at once, as trouble the person sees (never a silent spinner).
fn negotiation_failed(
    inner: &Rc<RefCell<Inner>>,
    peer: ParticipantId,
    what: &str,
    e: RtcError,
) -> Vec<RtcEvent> {
    let mut i = inner.borrow_mut();
    if let Some(p) = i.peers.get_mut(&peer) {
        p.media.negotiation_failed();
    }
    let mut events = vec![error_event(peer, what, e)];
    events.extend(i.health_events());
    events
}

fn now_ms() -> u64 {
    Date::now() as u64
}

/// `setLocalDescription()` without a description: the browser makes the
/// offer or answer and applies it in one step. With `createOffer` and then
/// `setLocalDescription(offer)` the offer would first come back to the main
/// thread, which is busiest while a call is set up, before the second call
/// could be made (docs/BENCHMARKS.md §12.8).
fn make_and_set_local(pc: &RtcPeerConnection) -> Result<js_sys::Promise, RtcError> {
    let method = Reflect::get(pc, &"setLocalDescription".into())?
        .dyn_into::<Function>()
        .map_err(|_| RtcError::Js("no setLocalDescription".into()))?;
    method
        .call0(pc)?
        .dyn_into::<js_sys::Promise>()
        .map_err(|_| RtcError::Js("setLocalDescription gave no promise".into()))
}

/// The SDP of `pc`'s local description once it is set.
fn local_sdp(pc: &RtcPeerConnection) -> Result<String, RtcError> {
    pc.local_description()
        .map(|d| d.sdp())
        .ok_or_else(|| RtcError::Js("no local description".into()))
}

/// Offerer: makes and sets the offer (an ICE restart through
/// `createOffer({iceRestart})`), then emits it. The browser is asked at
/// once, in the caller's task, not in a spawned one that would run after
/// the renders already queued.
fn start_offer(inner: &Rc<RefCell<Inner>>, id: ParticipantId, ice_restart: bool) {
    let Some(pc) = inner.borrow().peers.get(&id).map(|p| p.pc.clone()) else {
        return;
    };
    let asked = if ice_restart {
        let options = RtcOfferOptions::new();
        options.set_ice_restart(true);
        Ok(pc.create_offer_with_rtc_offer_options(&options))
    } else {
        make_and_set_local(&pc)
    };
    send_offer(inner, id, asked, ice_restart, Vec::new());
}

/// Emits the offer `asked` makes (a restart's is set first), or reports
/// why there is none.
fn send_offer(
    inner: &Rc<RefCell<Inner>>,
    id: ParticipantId,
    asked: Result<js_sys::Promise, RtcError>,
    ice_restart: bool,
    gathered: Vec<Signal>,
) {
    let pc = {
        let mut i = inner.borrow_mut();
        let Some(peer) = i.peers.get_mut(&id) else {
            return;
        };
        peer.negotiating = true;
        peer.offer_started_ms = Date::now();
        peer.pc.clone()
    };
    let weak = Rc::downgrade(inner);
    spawn_local(async move {
        let result = async {
            // The restart's offer, or nothing: the one step set it already.
            let made = JsFuture::from(asked?).await?;
            if ice_restart {
                let sdp = Reflect::get(&made, &"sdp".into())?
                    .as_string()
                    .ok_or_else(|| RtcError::Js("offer without SDP".into()))?;
                let description = RtcSessionDescriptionInit::new(RtcSdpType::Offer);
                description.set_sdp(&sdp);
                JsFuture::from(pc.set_local_description(&description)).await?;
            }
            local_sdp(&pc)
        }
        .await;
        let Some(inner) = weak.upgrade() else { return };
        let events = match result {
            Ok(sdp) => {
                // Candidates gathered before anyone listened, and not in
                // the description already: after it, as trickled ones come.
                let missing: Vec<Signal> = gathered
                    .into_iter()
                    .filter(|signal| match signal {
                        Signal::Ice { candidate, .. } => !sdp.contains(candidate.as_str()),
                        _ => false,
                    })
                    .collect();
                let offer = Signal::Offer { sdp };
                std::iter::once(offer)
                    .chain(missing)
                    .map(|signal| RtcEvent::Signal { peer: id, signal })
                    .collect()
            }
            Err(e) => {
                if let Some(peer) = inner.borrow_mut().peers.get_mut(&id) {
                    peer.negotiating = false;
                }
                negotiation_failed(&inner, id, "offer", e)
            }
        };
        emit(&inner, events);
    });
}

/// Starts `setRemoteDescription` and applies queued candidates behind it
/// (the browser's operation chain keeps them in order).
fn set_remote(
    inner: &Rc<RefCell<Inner>>,
    id: ParticipantId,
    kind: RtcSdpType,
    sdp: &str,
    must_be_offerer: bool,
) -> Option<(RtcPeerConnection, js_sys::Promise)> {
    let mut i = inner.borrow_mut();
    let peer = i.peers.get_mut(&id)?;
    if peer.is_offerer != must_be_offerer {
        return None; // only the offerer receives answers, only the other side offers
    }
    // Firefox leaves attribute lines for the codecs that codec preferences
    // removed, and Chromium refuses the whole SDP for them (issue 11).
    #[cfg(feature = "test-hooks")]
    super::test_hooks::record_remote_sdp(kind, sdp);
    let sdp = without_orphan_payload_lines(sdp);
    // What they send, from the description as they sent it: a test build
    // that makes the browser refuse it (below) changes only what the
    // browser gets, as a real refusal would.
    let sending = Sending::from_sdp(&sdp);
    #[cfg(feature = "test-hooks")]
    let sdp = super::test_hooks::remote_sdp_as_the_page_asks(sdp);
    let description = RtcSessionDescriptionInit::new(kind);
    description.set_sdp(&sdp);
    let promise = peer.pc.set_remote_description(&description);
    peer.sending = sending;
    peer.media.set_sending(peer.sending);
    peer.remote_sdp = Some(sdp);
    peer.remote_description_called = true;
    for candidate in std::mem::take(&mut peer.pending_ice) {
        add_candidate(&peer.pc, &candidate);
    }
    Some((peer.pc.clone(), promise))
}

fn accept_offer(inner: &Rc<RefCell<Inner>>, id: ParticipantId, sdp: String) {
    let Some((pc, applied)) = set_remote(inner, id, RtcSdpType::Offer, &sdp, false) else {
        emit(
            inner,
            vec![error_event(
                id,
                "offer",
                RtcError::Js("unexpected offer".into()),
            )],
        );
        return;
    };
    let weak = Rc::downgrade(inner);
    spawn_local(async move {
        let applied = JsFuture::from(applied).await;
        let Some(inner) = weak.upgrade() else { return };
        if let Err(e) = applied {
            let events = negotiation_failed(&inner, id, "remote offer", e.into());
            emit(&inner, events);
            return;
        }
        let (senders, events) = inner.borrow_mut().after_remote_offer(id);
        emit(&inner, events);
        for (sender, track) in senders {
            set_track(&sender, Some(&track));
        }
        let result = async {
            JsFuture::from(make_and_set_local(&pc)?).await?;
            local_sdp(&pc)
        }
        .await;
        let events = match result {
            Ok(sdp) => {
                if let Some(peer) = inner.borrow_mut().peers.get_mut(&id) {
                    peer.negotiations += 1;
                }
                vec![RtcEvent::Signal {
                    peer: id,
                    signal: Signal::Answer { sdp },
                }]
            }
            Err(e) => negotiation_failed(&inner, id, "answer", e),
        };
        emit(&inner, events);
    });
}

fn accept_answer(inner: &Rc<RefCell<Inner>>, id: ParticipantId, sdp: String) {
    let Some((_, applied)) = set_remote(inner, id, RtcSdpType::Answer, &sdp, true) else {
        emit(
            inner,
            vec![error_event(
                id,
                "answer",
                RtcError::Js("unexpected answer".into()),
            )],
        );
        return;
    };
    let weak = Rc::downgrade(inner);
    spawn_local(async move {
        let applied = JsFuture::from(applied).await;
        let Some(inner) = weak.upgrade() else { return };
        let restart = {
            let mut i = inner.borrow_mut();
            match i.peers.get_mut(&id) {
                Some(peer) => {
                    peer.negotiating = false;
                    if applied.is_ok() {
                        peer.negotiations += 1;
                    }
                    let restart = peer.restart_wanted;
                    peer.restart_wanted = false;
                    if restart {
                        peer.last_restart_ms = Date::now();
                    }
                    restart
                }
                None => false,
            }
        };
        if let Err(e) = applied {
            let events = negotiation_failed(&inner, id, "remote answer", e.into());
            emit(&inner, events);
        }
        if restart {
            start_offer(&inner, id, true);
        }
    });
}

/// `packetsReceived` (inbound) and `packetsSent` (outbound) by kind.
fn rtp_counters(report: &JsValue) -> ([f64; 2], [f64; 2]) {
    let mut inbound = [0.0; 2];
    let mut outbound = [0.0; 2];
    let values = Reflect::get(report, &"values".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|f| f.call0(report).ok());
    let Some(Ok(Some(iter))) = values.map(|v| js_sys::try_iter(&v)) else {
        return (inbound, outbound);
    };
    for stat in iter.flatten() {
        let text = |name: &str| {
            Reflect::get(&stat, &name.into())
                .ok()
                .and_then(|v| v.as_string())
        };
        let num = |name: &str| {
            Reflect::get(&stat, &name.into())
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0)
        };
        let Some(kind) = text("kind").as_deref().and_then(MediaKind::parse) else {
            continue;
        };
        match text("type").as_deref() {
            Some("inbound-rtp") => inbound[kind_index(kind)] += num("packetsReceived"),
            Some("outbound-rtp") => outbound[kind_index(kind)] += num("packetsSent"),
            _ => {}
        }
    }
    (inbound, outbound)
}

/// Polls `getStats()` of every connected peer and checks the transforms
/// against it (about once per second, driven by the worker's stats).
fn poll_rtp(inner: &Rc<RefCell<Inner>>) {
    let connections: Vec<(ParticipantId, RtcPeerConnection)> = inner
        .borrow()
        .peers
        .values()
        .filter(|p| p.connected)
        .map(|p| (p.id, p.pc.clone()))
        .collect();
    for (id, pc) in connections {
        let weak = Rc::downgrade(inner);
        spawn_local(async move {
            let Ok(report) = JsFuture::from(pc.get_stats()).await else {
                return;
            };
            let (inbound, outbound) = rtp_counters(&report);
            let Some(inner) = weak.upgrade() else { return };
            let (events, cut) = inner.borrow_mut().on_rtp(id, inbound, outbound);
            for sender in cut {
                set_track(&sender, None);
            }
            emit(&inner, events);
        });
    }
}

impl Inner {
    /// Updates the RTP watch; a transform that saw no frame while RTP
    /// flowed is bypassed: a bypassed sender loses its track at once
    /// (plaintext could leave), a bypassed receiver is reported.
    fn on_rtp(
        &mut self,
        id: ParticipantId,
        inbound: [f64; 2],
        outbound: [f64; 2],
    ) -> (Vec<RtcEvent>, Vec<RtcRtpSender>) {
        let mut events = Vec::new();
        let mut cut = Vec::new();
        let now = Date::now();
        let stats = &self.stats;
        let Some(peer) = self.peers.get_mut(&id) else {
            return (events, cut);
        };
        for kind in KINDS {
            let k = kind_index(kind);
            let watch = &mut peer.rtp;
            if inbound[k] > watch.last_in[k] {
                watch.in_grew_ms[k] = Some(now);
                // No worker reports frames then: RTP is the arrival sign.
                if frames_unseen() {
                    peer.media.media_arrived(now as u64);
                }
            }
            watch.last_in[k] = inbound[k];
            watch.last_out[k] = outbound[k];
            let first_in = *watch.first_in[k].get_or_insert(inbound[k]);
            let first_out = *watch.first_out[k].get_or_insert(outbound[k]);
            let saw_frames = |direction: Direction| {
                stats.streams.iter().any(|s| {
                    s.peer == peer.tag
                        && s.direction == direction
                        && s.kind == kind
                        && s.last_frame_ms.is_some()
                })
            };
            for (d, direction, grown) in [
                (0, Direction::Send, outbound[k] - first_out),
                (1, Direction::Recv, inbound[k] - first_in),
            ] {
                let suspect = &mut watch.suspect[d][k];
                if *suspect == u8::MAX {
                    continue;
                }
                if grown <= BYPASS_PACKETS[d] || saw_frames(direction) || frames_unseen() {
                    *suspect = 0;
                    continue;
                }
                *suspect += 1;
                if *suspect < 2 {
                    continue;
                }
                *suspect = u8::MAX;
                let slot = peer.slots.iter_mut().find(|s| s.kind == kind);
                let reason = match direction {
                    Direction::Send => {
                        if let Some(slot) = slot {
                            slot.sender_transform = false;
                            cut.push(slot.transceiver.sender());
                        }
                        "frames bypass the encrypting transform; stopped sending"
                    }
                    Direction::Recv => {
                        if let Some(slot) = slot {
                            slot.receiver_transform = false;
                        }
                        "frames bypass the decrypting transform"
                    }
                };
                events.push(RtcEvent::TransformFailed {
                    peer: id,
                    direction,
                    kind,
                    reason: reason.into(),
                });
            }
        }
        events.extend(self.state_events());
        (events, cut)
    }
}
