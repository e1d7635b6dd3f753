//! The main thread's handle on the frame-crypto worker.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker};

use confide_shared::envelope::ParticipantId;
use confide_shared::sframe::CipherSuite;

use super::RtcError;
use crate::worker::protocol::{FromWorker, ToWorker, peer_tag, wipe};

/// Trunk's loader shim for the `confide-worker` binary.
const WORKER_URL: &str = "/confide-worker_loader.js";
/// The sealed page's promise that the worker's files match this build
/// (`xtask/src/integrity.rs`): it checks them only after the app's own WASM
/// has arrived, so that on a slow connection they do not share its bandwidth.
const WORKER_FILES_CHECKED: &str = "confideWorkerFiles";
/// How long to wait for the worker's WASM to load.
const START_TIMEOUT_MS: u32 = 15_000;

type Listener = Rc<dyn Fn(FromWorker)>;

struct Inner {
    worker: Worker,
    /// Terminate the worker when the last handle goes (we started it).
    owned: bool,
    on_message: Closure<dyn FnMut(MessageEvent)>,
    /// Where stats and other worker reports go (the mesh).
    listener: Rc<RefCell<Option<Listener>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.worker.remove_event_listener_with_callback(
            "message",
            self.on_message.as_ref().unchecked_ref(),
        );
        if self.owned {
            self.worker.terminate();
        }
    }
}

/// Starts the frame-crypto worker, but only from files the page checked: it
/// waits for the sealed page's check of the worker's files (absent in an
/// unsealed development build). A mismatch gives an error here, and the page
/// replaces itself with its refusal.
pub async fn new_worker() -> Result<Worker, RtcError> {
    let window = web_sys::window().ok_or_else(|| RtcError::Worker("no window".into()))?;
    let check = js_sys::Reflect::get(&window, &WORKER_FILES_CHECKED.into())
        .map_err(|_| RtcError::Worker("no worker check".into()))?;
    if let Ok(check) = check.dyn_into::<Promise>() {
        JsFuture::from(check)
            .await
            .map_err(|_| RtcError::Worker("the worker's files do not match this build".into()))?;
    }
    Ok(Worker::new(WORKER_URL)?)
}

/// The frame-crypto worker: every outgoing frame is encrypted with the
/// sender key set here, every incoming frame decrypted with the peer's key.
/// Cheap to clone (a handle).
#[derive(Clone)]
pub struct FrameCrypto {
    inner: Rc<Inner>,
}

impl FrameCrypto {
    /// Starts a new worker and resolves once it reported `"ready"` (its
    /// `rtctransform` handler is installed, so transforms may be created).
    pub async fn start() -> Result<FrameCrypto, RtcError> {
        let worker = new_worker().await?;
        Self::wrap(worker).await
    }

    /// Uses the worker the app started at page load, after it answered the
    /// app's own ping (so its `rtctransform` handler is installed; the worker
    /// is not terminated when the handle is dropped): no second round trip to
    /// the worker, so the call's peer connections can be created in the same
    /// task as the click that enters the call (docs/BENCHMARKS.md §12).
    pub fn adopt_answered(worker: Worker) -> Result<FrameCrypto, RtcError> {
        let (crypto, _waiting) = Self::handle(worker, false)?;
        crypto.ready()?;
        Ok(crypto)
    }

    async fn wrap(worker: Worker) -> Result<FrameCrypto, RtcError> {
        let (crypto, waiting) = Self::handle(worker, true)?;
        let ready = Promise::new(&mut |resolve, reject| {
            *waiting.borrow_mut() = Some(resolve);
            let timeout = gloo::timers::callback::Timeout::new(START_TIMEOUT_MS, move || {
                let _ = reject.call1(&JsValue::UNDEFINED, &"timeout".into());
            });
            timeout.forget();
        });
        JsFuture::from(ready)
            .await
            .map_err(|_| RtcError::Worker("no answer from the worker".into()))?;
        crypto.ready()?;
        Ok(crypto)
    }

    /// The handle and the slot its `"ready"`/`"pong"` resolves.
    #[allow(clippy::type_complexity)]
    fn handle(
        worker: Worker,
        owned: bool,
    ) -> Result<(FrameCrypto, Rc<RefCell<Option<Function>>>), RtcError> {
        let waiting: Rc<RefCell<Option<Function>>> = Rc::new(RefCell::new(None));
        let listener: Rc<RefCell<Option<Listener>>> = Rc::new(RefCell::new(None));
        let on_message = {
            let waiting = waiting.clone();
            let listener = listener.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let Ok(message) = FromWorker::from_js(&event.data()) else {
                    return;
                };
                match message {
                    FromWorker::Ready | FromWorker::Pong => {
                        let resolve = waiting.borrow_mut().take();
                        if let Some(resolve) = resolve {
                            let _ = resolve.call0(&JsValue::UNDEFINED);
                        }
                    }
                    other => {
                        let listener = listener.borrow().clone();
                        if let Some(listener) = listener {
                            listener(other);
                        }
                    }
                }
            })
        };
        worker.add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref())?;
        let crypto = FrameCrypto {
            inner: Rc::new(Inner {
                worker,
                owned,
                on_message,
                listener,
            }),
        };
        Ok((crypto, waiting))
    }

    /// What follows once the worker answered, before any stream exists
    /// (messages reach the worker in order).
    fn ready(&self) -> Result<(), RtcError> {
        #[cfg(feature = "test-hooks")]
        match super::test_hooks::frames_mode() {
            super::test_hooks::FramesMode::PassThrough => self.post(&ToWorker::PassThrough)?,
            super::test_hooks::FramesMode::Piped => self.post(&ToWorker::PipeOnly)?,
            _ => {}
        }
        Ok(())
    }

    /// The worker, for `new RTCRtpScriptTransform(worker, ...)`.
    pub fn worker(&self) -> &Worker {
        &self.inner.worker
    }

    /// Installs the local participant's sender key: every outgoing frame
    /// from now on is encrypted with it. Each KID may be used once per
    /// worker (the worker refuses a reused KID and keeps the old key).
    pub fn set_sender_key(
        &self,
        kid: u64,
        key: &[u8; 32],
        suite: CipherSuite,
    ) -> Result<(), RtcError> {
        self.post(&ToWorker::SetSenderKey {
            kid,
            key: *key,
            suite,
        })
    }

    /// Installs a remote participant's key (several KIDs may be live
    /// during a key change).
    pub fn set_receiver_key(
        &self,
        peer: &ParticipantId,
        kid: u64,
        key: &[u8; 32],
        suite: CipherSuite,
    ) -> Result<(), RtcError> {
        self.post(&ToWorker::SetReceiverKey {
            peer: peer_tag(peer),
            kid,
            key: *key,
            suite,
        })
    }

    /// Forgets a peer's keys and stops its streams in the worker.
    pub fn forget_peer(&self, peer: &ParticipantId) -> Result<(), RtcError> {
        self.post(&ToWorker::ForgetPeer {
            peer: peer_tag(peer),
        })
    }

    /// The streams of a connection prepared under `placeholder` are
    /// `peer`'s from now on: they use its keys.
    pub fn retag(&self, placeholder: &ParticipantId, peer: &ParticipantId) -> Result<(), RtcError> {
        self.post(&ToWorker::Retag {
            peer: peer_tag(placeholder),
            to: peer_tag(peer),
        })
    }

    /// TEST ONLY: pass the peer's received frames to the decoder without
    /// decrypting them (proves that ciphertext does not decode).
    #[cfg(feature = "test-hooks")]
    pub fn skip_decrypt(&self, peer: &ParticipantId, on: bool) -> Result<(), RtcError> {
        self.post(&ToWorker::SkipDecrypt {
            peer: peer_tag(peer),
            on,
        })
    }

    /// Posts a message (transferring streams, wiping key bytes after).
    pub(crate) fn post(&self, message: &ToWorker) -> Result<(), RtcError> {
        let (value, transfer) = message.to_js()?;
        let result = if transfer.length() == 0 {
            self.inner.worker.post_message(&value)
        } else {
            self.inner
                .worker
                .post_message_with_transfer(&value, &transfer)
        };
        wipe(&value);
        Ok(result?)
    }

    /// Where worker reports (stats, key frame requests, errors) go.
    pub(crate) fn set_listener(&self, listener: Option<Listener>) {
        *self.inner.listener.borrow_mut() = listener;
    }
}
