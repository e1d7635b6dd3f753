//! A `<video>` bound to a `MediaStream` (streams cannot be set as attributes).

use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlVideoElement, MediaStream};
use yew::prelude::*;

use crate::app::i18n::use_strings;

#[derive(Properties, PartialEq)]
pub struct VideoProps {
    pub stream: Option<MediaStream>,
    /// Our own preview: never play our own sound back (no echo, no surprise).
    #[prop_or_default]
    pub local: bool,
    #[prop_or_default]
    pub class: Classes,
    pub testid: AttrValue,
    #[prop_or_default]
    pub peer: Option<AttrValue>,
    pub label: AttrValue,
}

/// Plays a stream; if the browser blocks playback with sound, offers a button.
#[component(Video)]
pub fn video(props: &VideoProps) -> Html {
    let strings = use_strings();
    let node = use_node_ref();
    let blocked = use_state_eq(|| false);

    let play = {
        let node = node.clone();
        let blocked = blocked.clone();
        Callback::from(move |_| {
            let Some(video) = node.cast::<HtmlVideoElement>() else {
                return;
            };
            let blocked = blocked.clone();
            if let Ok(promise) = video.play() {
                wasm_bindgen_futures::spawn_local(async move {
                    // A later stream replacing this one aborts the play; only a
                    // NotAllowedError means "autoplay with sound blocked".
                    if let Err(error) = JsFuture::from(promise).await {
                        let name = js_sys::Reflect::get(&error, &"name".into())
                            .ok()
                            .and_then(|n| n.as_string());
                        blocked.set(name.as_deref() == Some("NotAllowedError"));
                    } else {
                        blocked.set(false);
                    }
                });
            }
        })
    };

    {
        let node = node.clone();
        let play = play.clone();
        let local = props.local;
        use_effect_with(props.stream.clone(), move |stream| {
            if let Some(video) = node.cast::<HtmlVideoElement>() {
                video.set_muted(local);
                video.set_src_object(stream.as_ref());
                if stream.is_some() {
                    play.emit(());
                }
            }
            let node = node.clone();
            move || {
                if let Some(video) = node.cast::<HtmlVideoElement>() {
                    video.set_src_object(None);
                }
            }
        });
    }

    let on_unblock = {
        let play = play.clone();
        Callback::from(move |_: MouseEvent| play.emit(()))
    };

    let class = classes!(
        "video",
        props.local.then_some("video-local"),
        props.class.clone()
    );
    html! {
        <div class="video-wrap">
            <video ref={node} class={class} autoplay=true playsinline=true
                muted={props.local}
                aria-label={props.label.clone()}
                data-testid={props.testid.clone()}
                data-peer={props.peer.clone()} />
            if *blocked {
                <button type="button" class="btn btn-primary video-unblock" onclick={on_unblock}>
                    { strings.enable_sound }
                </button>
            }
        </div>
    }
}
