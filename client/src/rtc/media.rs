//! New tracks during a call: the screen (screen share) and a chosen camera
//! or microphone (device switch).
//!
//! Both only obtain a track; sending it is [`Mesh::replace_track`]. That
//! keeps encryption in one place: the encrypting transform belongs to the
//! RTP sender, not to the track, so whatever track is swapped in leaves
//! through the same transform as the camera did (and a sender without a
//! transform never gets a track at all).
//!
//! [`Mesh::replace_track`]: super::Mesh::replace_track

use js_sys::{Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{MediaDevices, MediaStream, MediaStreamConstraints, MediaStreamTrack};

use super::{MediaKind, RtcError};

fn media_devices() -> Result<MediaDevices, RtcError> {
    let window = web_sys::window().ok_or_else(|| RtcError::Js("no window".into()))?;
    Ok(window.navigator().media_devices()?)
}

/// A rejected `getUserMedia` / `getDisplayMedia`, keeping the
/// `DOMException` name the caller decides on.
fn media_error(error: JsValue) -> RtcError {
    let text = |name: &str| {
        Reflect::get(&error, &name.into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    };
    RtcError::Media {
        name: text("name"),
        message: text("message"),
    }
}

/// The first track of `kind` in `stream`; every other track is stopped (a
/// capture nobody sends must not keep running).
fn take_track(stream: &MediaStream, kind: MediaKind) -> Option<MediaStreamTrack> {
    let mut chosen = None;
    for track in stream.get_tracks().iter() {
        let Ok(track) = track.dyn_into::<MediaStreamTrack>() else {
            continue;
        };
        if chosen.is_none() && MediaKind::parse(&track.kind()) == Some(kind) {
            chosen = Some(track);
        } else {
            track.stop();
        }
    }
    chosen
}

/// A screen, window or tab being captured. Dropping it stops the capture,
/// so a forgotten handle cannot keep the screen captured behind the
/// user's back; keep it as long as the track is sent.
pub struct ScreenShare {
    track: MediaStreamTrack,
    on_ended: Closure<dyn FnMut(JsValue)>,
}

impl ScreenShare {
    /// The video track, for [`Mesh::replace_track`](super::Mesh::replace_track)
    /// and the local preview. Do not call `.clone()` on it: web-sys's
    /// `MediaStreamTrack::clone()` is JavaScript's `track.clone()`, a second
    /// capture of the screen that dropping this handle would not stop
    /// (`Clone::clone(track)` copies the handle).
    pub fn track(&self) -> &MediaStreamTrack {
        &self.track
    }

    /// Stops sharing. The `on_ended` callback is not called for this (the
    /// browser fires `ended` only when the capture ends from outside).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for ScreenShare {
    fn drop(&mut self) {
        // The listener only schedules the callback, so it is never running
        // while this drops.
        let _ = self
            .track
            .remove_event_listener_with_callback("ended", self.on_ended.as_ref().unchecked_ref());
        self.track.stop();
    }
}

/// Asks the user which window (preferably), screen or tab to share and
/// returns its video
/// track, with `contentHint = "detail"` so the encoder keeps text sharp
/// rather than the frame rate high.
///
/// The picker opens on windows (`displaySurface: "window"`); Chromium also
/// leaves whole screens and this tab out of it (`monitorTypeSurfaces`,
/// `selfBrowserSurface: "exclude"`) — a whole screen can show other
/// clients' names. Browsers that do not know an option ignore it.
///
/// Call it from a click handler: the specification requires a user
/// gesture (Firefox and Safari enforce it; headless Chromium with its fake
/// UI does not, so tests cannot prove it). `on_ended` runs once (after the
/// current event) when the capture ends from outside — the browser's
/// "Stop sharing" button, or the shared window closed — so the caller can
/// switch back to the camera; it does not run for [`ScreenShare::stop`] or
/// drop, except when the capture ended in the same moment (so make it
/// harmless when no longer sharing).
///
/// Errors: [`RtcError::Media`] with `NotAllowedError` when the user
/// cancelled the picker or a policy forbids capture (not worth an error
/// message), others when capture failed; [`RtcError::Js`] when the browser
/// has no `getDisplayMedia` (phones).
pub async fn share_screen(on_ended: impl FnOnce() + 'static) -> Result<ScreenShare, RtcError> {
    let devices = media_devices()?;
    let get_display_media = Reflect::get(&devices, &"getDisplayMedia".into())?
        .dyn_into::<js_sys::Function>()
        .map_err(|_| RtcError::Js("this browser cannot share the screen".into()))?;
    let video = Object::new();
    Reflect::set(&video, &"displaySurface".into(), &"window".into())?;
    let options = Object::new();
    Reflect::set(&options, &"video".into(), &video)?;
    Reflect::set(&options, &"audio".into(), &JsValue::FALSE)?;
    Reflect::set(&options, &"monitorTypeSurfaces".into(), &"exclude".into())?;
    Reflect::set(&options, &"selfBrowserSurface".into(), &"exclude".into())?;
    let promise = get_display_media
        .call1(&devices, &options)
        .map_err(media_error)?
        .dyn_into::<js_sys::Promise>()
        .map_err(|_| RtcError::Js("getDisplayMedia returned no promise".into()))?;
    let stream: MediaStream = JsFuture::from(promise)
        .await
        .map_err(media_error)?
        .dyn_into()
        .map_err(|_| RtcError::Js("getDisplayMedia gave no stream".into()))?;
    let track = take_track(&stream, MediaKind::Video)
        .ok_or_else(|| RtcError::Js("the screen capture has no video".into()))?;
    let _ = Reflect::set(&track, &"contentHint".into(), &"detail".into());
    let mut on_ended = Some(on_ended);
    let on_ended = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
        if let Some(callback) = on_ended.take() {
            // After this event: the callback may drop the `ScreenShare`
            // that owns this closure.
            spawn_local(async move { callback() });
        }
    });
    track.add_event_listener_with_callback("ended", on_ended.as_ref().unchecked_ref())?;
    Ok(ScreenShare { track, on_ended })
}

/// A new track from the camera or microphone `device_id` (from
/// `enumerateDevices()`), for switching devices in a call: hand it to
/// [`Mesh::replace_track`](super::Mesh::replace_track), then stop the old
/// track.
///
/// Asks with `deviceId: {exact}`, so the result is that device or an
/// error, never silently another one. Errors: [`RtcError::Media`] with
/// `OverconstrainedError` when the device is gone, `NotAllowedError` when
/// access was refused, `NotReadableError` when it is in use (some phones
/// cannot open a second camera: stop the old track first, then retry).
pub async fn device_track(kind: MediaKind, device_id: &str) -> Result<MediaStreamTrack, RtcError> {
    let devices = media_devices()?;
    let exact = Object::new();
    Reflect::set(&exact, &"exact".into(), &device_id.into())?;
    let track_constraints = Object::new();
    Reflect::set(&track_constraints, &"deviceId".into(), &exact)?;
    let constraints = MediaStreamConstraints::new();
    match kind {
        MediaKind::Audio => {
            constraints.set_audio(&track_constraints);
            constraints.set_video(&JsValue::FALSE);
        }
        MediaKind::Video => {
            constraints.set_video(&track_constraints);
            constraints.set_audio(&JsValue::FALSE);
        }
    }
    let promise = devices
        .get_user_media_with_constraints(&constraints)
        .map_err(media_error)?;
    let stream: MediaStream = JsFuture::from(promise)
        .await
        .map_err(media_error)?
        .dyn_into()
        .map_err(|_| RtcError::Js("getUserMedia gave no stream".into()))?;
    take_track(&stream, kind).ok_or_else(|| RtcError::Media {
        name: "NotFoundError".into(),
        message: format!("the device gave no {} track", kind.as_str()),
    })
}
