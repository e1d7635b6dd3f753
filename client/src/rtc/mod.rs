//! The WebRTC mesh with end-to-end frame encryption.
//!
//! - [`FrameCrypto`] owns the frame-crypto worker (`worker/`) and installs
//!   keys in it.
//! - [`Mesh`] keeps one `RTCPeerConnection` per remote participant (full
//!   mesh, up to 3 peers), attaches an encrypting transform to every sender
//!   and a decrypting transform to every receiver, and reports what the
//!   session controller must send or show as [`RtcEvent`]s.
//! - [`share_screen`] and [`device_track`] obtain the tracks that
//!   [`Mesh::replace_track`] sends in their place (screen share, device
//!   switch).
//!
//! - [`certificate`] keeps a DTLS certificate ready for the next connection.
//!
//! Media is never sent without a transform: if one cannot be attached the
//! sender gets no track. Which transform API is used is a [`TransformPath`],
//! chosen by [`detect_transform_support`].

pub mod certificate;
mod crypto;
mod media;
mod mesh;
#[cfg(feature = "test-hooks")]
pub mod test_hooks;

use wasm_bindgen::JsValue;

pub use crate::worker::protocol::{Direction, MediaKind, StreamStats, WorkerStats, peer_tag};
pub use crypto::{FrameCrypto, new_worker};
pub use media::{ScreenShare, device_track, share_screen};
pub use mesh::{
    EncryptionState, FingerprintStatus, IceServer, Mesh, PeerEncryption, RtcEvent, SlotState,
};

/// What went wrong in the browser side of media.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtcError {
    /// A browser API threw or rejected.
    #[error("browser error: {0}")]
    Js(String),
    /// Neither `RTCRtpScriptTransform` nor `createEncodedStreams` exists.
    #[error("this browser cannot encrypt media frames")]
    Unsupported,
    /// The frame-crypto worker did not start or answer.
    #[error("the frame-crypto worker is not available: {0}")]
    Worker(String),
    /// A message for the worker could not be built.
    #[error("worker message: {0}")]
    Protocol(#[from] crate::worker::protocol::ProtocolError),
    /// The participant is not part of the mesh.
    #[error("unknown peer")]
    UnknownPeer,
    /// The participant is already part of the mesh.
    #[error("peer already added")]
    PeerExists,
    /// `getUserMedia` or `getDisplayMedia` refused. `name` is the
    /// `DOMException` name the caller decides on: `NotAllowedError` (access
    /// refused, or the screen picker cancelled), `OverconstrainedError`
    /// (that device is gone), `NotFoundError`, `NotReadableError` (busy).
    #[error("media device: {name}: {message}")]
    Media { name: String, message: String },
}

impl From<JsValue> for RtcError {
    fn from(value: JsValue) -> Self {
        let text = value
            .as_string()
            .or_else(|| {
                js_sys::Reflect::get(&value, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
            })
            .unwrap_or_else(|| "an error without a message".to_owned());
        RtcError::Js(text)
    }
}

/// How frames get into the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransformPath {
    /// Standard `RTCRtpScriptTransform` (`rtctransform` event in the worker).
    Script,
    /// Chromium's `createEncodedStreams()` with `encodedInsertableStreams: true`;
    /// the streams are transferred to the worker.
    Legacy,
}

impl TransformPath {
    pub fn as_str(self) -> &'static str {
        match self {
            TransformPath::Script => "script",
            TransformPath::Legacy => "legacy",
        }
    }
}

fn script_supported() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &"RTCRtpScriptTransform".into()).unwrap_or(false)
}

fn legacy_supported() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &"RTCRtpSender".into())
        .and_then(|class| js_sys::Reflect::get(&class, &"prototype".into()))
        .and_then(|proto| js_sys::Reflect::has(&proto, &"createEncodedStreams".into()))
        .unwrap_or(false)
}

/// Whether this browser's ICE waits for the page between the answer and
/// the connection: Chromium (the engine with `createEncodedStreams`) applies
/// the other side's trickled candidates only between the page's tasks, so
/// a long task there holds up the connection by its whole length; Firefox
/// checks without the page (docs/BENCHMARKS.md §12.11).
pub fn ice_waits_for_the_page() -> bool {
    legacy_supported()
}

/// The transform API to use: `RTCRtpScriptTransform` when present, else
/// `createEncodedStreams`, else `None` (this browser cannot do E2EE calls).
///
/// The URL query `?transform=script` or `?transform=legacy` forces a path
/// (so tests cover both); a forced path the browser lacks gives `None`.
pub fn detect_transform_support() -> Option<TransformPath> {
    let forced = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|search| web_sys::UrlSearchParams::new_with_str(&search).ok())
        .and_then(|params| params.get("transform"));
    match forced.as_deref() {
        Some("script") => script_supported().then_some(TransformPath::Script),
        Some("legacy") => legacy_supported().then_some(TransformPath::Legacy),
        _ if script_supported() => Some(TransformPath::Script),
        _ if legacy_supported() => Some(TransformPath::Legacy),
        _ => None,
    }
}
