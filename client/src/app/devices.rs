//! Camera and microphone access: getUserMedia with chosen devices, device lists,
//! error classification and the microphone level, plus the browser support check.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AnalyserNode, AudioContext, MediaDeviceInfo, MediaDeviceKind, MediaDevices, MediaStream,
    MediaStreamConstraints, MediaStreamTrack,
};

use super::model::DeviceKind;

/// Why the browser did not give us a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaError {
    /// The user or a policy blocked access (`NotAllowedError`, `SecurityError`).
    Denied,
    /// No such device, or it is busy (`NotFoundError`, `NotReadableError`, ...).
    Missing,
    /// The chosen device is gone (`OverconstrainedError`): retry with the default.
    Gone,
}

/// One selectable device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    /// Empty until the user granted access once.
    pub label: String,
}

fn media_devices() -> Option<MediaDevices> {
    web_sys::window()?.navigator().media_devices().ok()
}

/// True when this browser can encrypt frames end to end (standard
/// `RTCRtpScriptTransform` or Chromium's encoded streams) and has camera access.
/// Without it the app refuses to start a call.
pub fn e2ee_supported() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    let global: &JsValue = window.as_ref();
    let has = |target: &JsValue, name: &str| {
        Reflect::get(target, &JsValue::from_str(name))
            .map(|v| !v.is_undefined() && !v.is_null())
            .unwrap_or(false)
    };
    let script_transform = has(global, "RTCRtpScriptTransform");
    let encoded_streams = Reflect::get(global, &JsValue::from_str("RTCRtpSender"))
        .and_then(|sender| Reflect::get(&sender, &JsValue::from_str("prototype")))
        .map(|proto| has(&proto, "createEncodedStreams"))
        .unwrap_or(false);
    let navigator: JsValue = window.navigator().into();
    (script_transform || encoded_streams) && has(&navigator, "mediaDevices")
}

fn track_constraints(device_id: Option<&str>) -> JsValue {
    match device_id {
        Some(id) if !id.is_empty() => {
            let exact = Object::new();
            let _ = Reflect::set(&exact, &"exact".into(), &id.into());
            let constraints = Object::new();
            let _ = Reflect::set(&constraints, &"deviceId".into(), &exact);
            constraints.into()
        }
        _ => JsValue::TRUE,
    }
}

fn classify(error: &JsValue) -> MediaError {
    let name = Reflect::get(error, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    match name.as_str() {
        "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => MediaError::Denied,
        "OverconstrainedError" | "ConstraintNotSatisfiedError" => MediaError::Gone,
        _ => MediaError::Missing,
    }
}

/// Asks for the camera (unless `camera` is `None`) and microphone.
/// `camera: Some(None)` means "the default camera".
pub async fn get_user_media(
    camera: Option<Option<&str>>,
    microphone: Option<Option<&str>>,
) -> Result<MediaStream, MediaError> {
    let devices = media_devices().ok_or(MediaError::Missing)?;
    let constraints = MediaStreamConstraints::new();
    match camera {
        Some(id) => constraints.set_video(&track_constraints(id)),
        None => constraints.set_video(&JsValue::FALSE),
    }
    match microphone {
        Some(id) => constraints.set_audio(&track_constraints(id)),
        None => constraints.set_audio(&JsValue::FALSE),
    }
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(|e| classify(&e))?;
    let stream = JsFuture::from(promise).await.map_err(|e| classify(&e))?;
    stream
        .dyn_into::<MediaStream>()
        .map_err(|_| MediaError::Missing)
}

/// Like [`get_user_media`], but falls back to the default device when a chosen
/// device disappeared.
pub async fn get_user_media_or_default(
    camera: Option<Option<&str>>,
    microphone: Option<Option<&str>>,
) -> Result<MediaStream, MediaError> {
    match get_user_media(camera, microphone).await {
        Err(MediaError::Gone) => get_user_media(camera.map(|_| None), microphone.map(|_| None))
            .await
            .map_err(|e| {
                if e == MediaError::Gone {
                    MediaError::Missing
                } else {
                    e
                }
            }),
        other => other,
    }
}

/// Lists cameras and microphones (labels are empty before permission).
pub async fn enumerate() -> (Vec<Device>, Vec<Device>) {
    let mut cameras = Vec::new();
    let mut microphones = Vec::new();
    let Some(devices) = media_devices() else {
        return (cameras, microphones);
    };
    let Ok(promise) = devices.enumerate_devices() else {
        return (cameras, microphones);
    };
    let Ok(list) = JsFuture::from(promise).await else {
        return (cameras, microphones);
    };
    for info in Array::from(&list).iter() {
        let Ok(info) = info.dyn_into::<MediaDeviceInfo>() else {
            continue;
        };
        let device = Device {
            id: info.device_id(),
            label: info.label(),
        };
        if device.id.is_empty() {
            continue;
        }
        match info.kind() {
            MediaDeviceKind::Videoinput => cameras.push(device),
            MediaDeviceKind::Audioinput => microphones.push(device),
            _ => {}
        }
    }
    (cameras, microphones)
}

/// The first track of a kind in a stream.
pub fn first_track(stream: &MediaStream, kind: DeviceKind) -> Option<MediaStreamTrack> {
    let tracks = match kind {
        DeviceKind::Camera => stream.get_video_tracks(),
        DeviceKind::Microphone => stream.get_audio_tracks(),
    };
    tracks.get(0).dyn_into::<MediaStreamTrack>().ok()
}

/// The device id a stream's track actually uses.
pub fn device_id(stream: &MediaStream, kind: DeviceKind) -> Option<String> {
    first_track(stream, kind)?
        .get_settings()
        .get_device_id()
        .filter(|id| !id.is_empty())
}

/// Stops every track (releases the camera light).
pub fn stop_all(stream: &MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// Measures a stream's microphone loudness for the level meter. Dropping it
/// closes the audio context (the tracks stay untouched).
pub struct LevelMeter {
    context: AudioContext,
    analyser: AnalyserNode,
    buffer: Vec<u8>,
    smoothed: f64,
}

impl LevelMeter {
    pub fn new(stream: &MediaStream) -> Option<LevelMeter> {
        if stream.get_audio_tracks().length() == 0 {
            return None;
        }
        let context = AudioContext::new().ok()?;
        let source = context.create_media_stream_source(stream).ok()?;
        let analyser = context.create_analyser().ok()?;
        analyser.set_fft_size(512);
        source.connect_with_audio_node(&analyser).ok()?;
        // Created after a click, but resume anyway in case the browser suspended it.
        let _ = context.resume();
        let buffer = vec![0; analyser.fft_size() as usize];
        Some(LevelMeter {
            context,
            analyser,
            buffer,
            smoothed: 0.0,
        })
    }

    /// The current level between 0 and 1 (peak-based, gently smoothed, scaled so
    /// normal speech fills most of the bar).
    pub fn level(&mut self) -> f64 {
        self.analyser.get_byte_time_domain_data(&mut self.buffer);
        let peak = self
            .buffer
            .iter()
            .map(|&b| (f64::from(b) - 128.0).abs() / 128.0)
            .fold(0.0, f64::max);
        let scaled = (peak * 2.5).min(1.0);
        self.smoothed = if scaled > self.smoothed {
            scaled
        } else {
            self.smoothed * 0.85 + scaled * 0.15
        };
        self.smoothed
    }
}

impl Drop for LevelMeter {
    fn drop(&mut self) {
        let _ = self.context.close();
    }
}
