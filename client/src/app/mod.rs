//! The Yew application.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};
use yew::prelude::*;

/// Mounts the app into `<body>`.
pub fn start() {
    yew::Renderer::<App>::new().render();
}

#[function_component(App)]
fn app() -> Html {
    let worker_status = use_state(|| "loading".to_string());
    {
        let worker_status = worker_status.clone();
        use_effect_with((), move |_| {
            let worker = Worker::new("/confide-worker_loader.js");
            let mut keep = None;
            match worker {
                Ok(worker) => {
                    let onmessage =
                        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                            if event.data().as_string().as_deref() == Some("pong") {
                                worker_status.set("ready".to_string());
                            } else if event.data().as_string().as_deref() == Some("ready") {
                                worker_status.set("started".to_string());
                            }
                        });
                    worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
                    let _ = worker.post_message(&JsValue::from_str("ping"));
                    keep = Some((worker, onmessage));
                }
                Err(_) => worker_status.set("failed".to_string()),
            }
            move || drop(keep)
        });
    }
    html! {
        <main id="confide-app" data-worker={(*worker_status).clone()}>
            <h1>{ "confide" }</h1>
        </main>
    }
}
