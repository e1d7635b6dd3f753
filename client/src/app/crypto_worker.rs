//! Starts the frame-crypto worker and reports its state (`data-worker` on
//! `<main>`) and the worker itself to the controller.
//!
//! The worker (its script and WASM, about 44 KB gzip) is not needed before a
//! call, so a guest's first pages do not wait for it: on a phone's mobile
//! connection its download would share the bandwidth with the app itself and
//! the camera start (docs/BENCHMARKS.md §13.1). It starts once the page asks
//! for it (`wanted`), and then only once.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};
use yew::prelude::*;

use super::controller::ControllerRef;

/// Lets a component below the app ask for the worker now: the guest's device
/// check does, once her camera preview runs (or failed), so the worker loads
/// while she looks at herself.
#[derive(Clone, PartialEq)]
pub struct StartWorker(pub Callback<()>);

/// "waiting" (not asked for yet) → "loading" → "started" (worker script ran)
/// → "ready" (answered a ping), or "failed".
#[hook]
pub fn use_crypto_worker(controller: ControllerRef, wanted: bool) -> String {
    let status = use_state(|| "waiting".to_string());
    // The worker and its listener live as long as the app, once started.
    let started = use_mut_ref(|| None::<(Worker, Closure<dyn FnMut(MessageEvent)>)>);
    {
        let status = status.clone();
        use_effect_with(wanted, move |wanted| {
            if !*wanted || started.borrow().is_some() {
                return;
            }
            status.set("loading".to_string());
            match Worker::new("/confide-worker_loader.js") {
                Ok(worker) => {
                    let handle = worker.clone();
                    let onmessage =
                        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                            match event.data().as_string().as_deref() {
                                Some("pong") => {
                                    status.set("ready".to_string());
                                    controller.with(|c| c.worker_ready(handle.clone()));
                                }
                                Some("ready") => status.set("started".to_string()),
                                _ => {}
                            }
                        });
                    worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
                    let _ = worker.post_message(&JsValue::from_str("ping"));
                    *started.borrow_mut() = Some((worker, onmessage));
                }
                Err(_) => status.set("failed".to_string()),
            }
        });
    }
    (*status).clone()
}
