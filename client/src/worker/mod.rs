//! The frame-crypto worker: encrypts and decrypts every audio and video frame
//! off the main thread. Loaded by Trunk's worker loader shim.
//!
//! It holds the local participant's one [`SenderKey`] (one counter shared by
//! every outgoing stream), a [`ReceiverKeyStore`] per remote peer and a
//! [`ReceiveStream`] per receiving transform. Frames arrive either through
//! the standard `rtctransform` event (`RTCRtpScriptTransform`) or through
//! streams from Chromium's legacy `createEncodedStreams()` sent in a
//! `legacy_streams` message. Any failure drops the frame: nothing is ever
//! sent in clear, and ciphertext never reaches a decoder.
//!
//! Protocol: [`protocol`].

#[cfg(feature = "test-hooks")]
mod bench;
pub mod protocol;
mod streams;

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, RtcTransformEvent};

use protocol::{FromWorker, StreamOptions, ToWorker};
use streams::State;

/// Called once the worker's WASM is instantiated: installs the handlers,
/// then posts `"ready"` and `"pong"`.
pub fn start() {
    let Ok(scope) = js_sys::global().dyn_into::<DedicatedWorkerGlobalScope>() else {
        return;
    };
    let state = Rc::new(RefCell::new(State::new(scope.clone())));

    let onmessage = {
        let state = state.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            handle_message(&state, &event.data());
        })
    };
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget(); // lives as long as the worker

    let ontransform = {
        let state = state.clone();
        Closure::<dyn FnMut(RtcTransformEvent)>::new(move |event: RtcTransformEvent| {
            let transformer = event.transformer();
            match StreamOptions::from_js(&transformer.options()) {
                Ok(options) => {
                    let readable = transformer.readable();
                    let writable = transformer.writable();
                    streams::attach(&state, options, readable, writable, Some(transformer));
                }
                Err(e) => post_error(&state, &format!("bad transform options: {e}")),
            }
        })
    };
    scope.set_onrtctransform(Some(ontransform.as_ref().unchecked_ref()));
    ontransform.forget();

    let stats_state = state.clone();
    gloo::timers::callback::Interval::new(1000, move || streams::report(&stats_state)).forget();

    post(&scope, &FromWorker::Ready);
    // A "ping" posted right after `new Worker(...)` arrives while the WASM
    // is still loading and is dropped (Trunk's loader shim has no handler
    // yet; measured: the app stayed at "started"). Answer it here; pings
    // from now on are answered by the handler above.
    post(&scope, &FromWorker::Pong);
}

fn handle_message(state: &Rc<RefCell<State>>, data: &JsValue) {
    #[cfg(feature = "test-hooks")]
    {
        let scope = state.borrow().scope.clone();
        if bench::handles(&scope, data) {
            return;
        }
    }
    let message = match ToWorker::from_js(data) {
        Ok(message) => message,
        Err(e) => return post_error(state, &format!("bad message: {e}")),
    };
    match message {
        ToWorker::Ping => {
            let scope = state.borrow().scope.clone();
            post(&scope, &FromWorker::Pong);
        }
        ToWorker::SetSenderKey { kid, key, suite } => {
            let result = state.borrow_mut().set_sender_key(suite, kid, key);
            if let Err(reason) = result {
                post_error(state, reason);
            }
        }
        ToWorker::SetReceiverKey {
            peer,
            kid,
            key,
            suite,
        } => {
            let result = state.borrow_mut().set_receiver_key(&peer, suite, kid, key);
            match result {
                Ok(requests) => streams::request_key_frames(state, requests),
                Err(e) => post_error(state, &format!("receiver key rejected: {e}")),
            }
        }
        ToWorker::ForgetPeer { peer } => {
            let dropped = state.borrow_mut().forget_peer(&peer);
            // Dropping the transform closures outside the borrow; the
            // streams error out on their next frame.
            drop(dropped);
        }
        ToWorker::Retag { peer, to } => state.borrow_mut().retag(peer, to),
        ToWorker::LegacyStreams {
            options,
            readable,
            writable,
        } => streams::attach(state, options, readable, writable, None),
        #[cfg(feature = "test-hooks")]
        ToWorker::SkipDecrypt { peer, on } => state.borrow_mut().skip_decrypt(&peer, on),
        #[cfg(feature = "test-hooks")]
        ToWorker::PassThrough => state.borrow_mut().pass_through(),
        #[cfg(feature = "test-hooks")]
        ToWorker::PipeOnly => state.borrow_mut().pipe_only = true,
    }
}

fn post(scope: &DedicatedWorkerGlobalScope, message: &FromWorker) {
    if let Ok(value) = message.to_js() {
        let _ = scope.post_message(&value);
    }
}

fn post_error(state: &Rc<RefCell<State>>, reason: &str) {
    let scope = state.borrow().scope.clone();
    post(
        &scope,
        &FromWorker::Error {
            reason: reason.to_string(),
        },
    );
}
