//! Starts the frame-crypto worker and reports its state (`data-worker` on
//! `<main>`, checked by the browser tests) and the worker itself to the controller.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::MessageEvent;
use yew::prelude::*;

use super::controller::ControllerRef;

/// "loading" → "started" (worker script ran) → "ready" (answered a ping), or "failed".
#[hook]
pub fn use_crypto_worker(controller: ControllerRef) -> String {
    let status = use_state(|| "loading".to_string());
    {
        let status = status.clone();
        use_effect_with((), move |_| {
            // The first connection's certificate too, long before a call.
            crate::rtc::certificate::prepare();
            let keep = Rc::new(RefCell::new(None));
            let kept = keep.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match crate::rtc::new_worker().await {
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
                        *kept.borrow_mut() = Some((worker, onmessage));
                    }
                    Err(_) => status.set("failed".to_string()),
                }
            });
            move || drop(keep.borrow_mut().take())
        });
    }
    (*status).clone()
}
