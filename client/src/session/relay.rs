//! The WebSocket to the relay: JSON wire messages in, JSON wire messages out.
//! Knows nothing about sessions; reports what arrives and how the socket closed.
//!
//! The relay is the one of this page's origin, unless the page names another
//! one in `<meta name="confide-relay" content="wss://…/ws">` (the app served by
//! the centre's own web space, the relay elsewhere: docs/RELAY.md). The page's
//! Content-Security-Policy (`connect-src`) must allow that address.
//!
//! The URL carries the room's shard label (`?s=3f`, docs/PROTOCOL.md "Shard
//! label"): with several relay nodes, the load balancer sends every
//! connection for one room to the same node. One connection per session, so a
//! counsellor's sessions in several tabs each reach their room's node.

use std::cell::Cell;
use std::rc::Rc;

use confide_shared::shard::{SHARD_PARAM, ShardLabel};
use confide_shared::wire::{ClientMessage, ErrorCode, RoomId, ServerMessage, WS_PATH};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// What the socket reports.
pub enum RelayEvent {
    Open,
    Message(ServerMessage),
    /// A message the relay sent that we cannot parse (a relay bug or an attack).
    Garbled,
    Closed {
        code: u16,
    },
}

/// One WebSocket connection to the relay (see the module documentation).
pub struct RelayConnection {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl RelayConnection {
    /// Connects to the page's relay ([`relay_url`]) for `room`.
    pub fn open(
        room: RoomId,
        on_event: Rc<dyn Fn(RelayEvent)>,
    ) -> Result<RelayConnection, JsValue> {
        let window = web_sys::window().ok_or("no window")?;
        let socket = WebSocket::new(&relay_url(&window, &room)?)?;
        let opened = Rc::new(Cell::new(false));

        let on_open = {
            let on_event = on_event.clone();
            let opened = opened.clone();
            Closure::<dyn FnMut()>::new(move || {
                opened.set(true);
                EVER_OPENED.with(|ever| ever.set(true));
                on_event(RelayEvent::Open)
            })
        };
        let on_message = {
            let on_event = on_event.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let parsed = event
                    .data()
                    .as_string()
                    .and_then(|text| ServerMessage::from_json(&text).ok());
                on_event(match parsed {
                    Some(message) => RelayEvent::Message(message),
                    None => RelayEvent::Garbled,
                });
            })
        };
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            let never_reached = !opened.get() && !EVER_OPENED.with(Cell::get);
            let code = if never_reached {
                // The relay was never reached from this page: unreachable, or
                // it refused the connection (an origin it does not serve gets
                // 403 before the upgrade; a browser cannot tell the two apart).
                // Reported as a refusal, so that the page says so at once
                // instead of waiting (a guest's knock is not retried at all).
                ErrorCode::ServerFull.close_code().unwrap_or(event.code())
            } else {
                event.code()
            };
            on_event(RelayEvent::Closed { code });
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(RelayConnection {
            socket,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Sends one message; false when the socket is not open.
    pub fn send(&self, message: &ClientMessage) -> bool {
        if self.socket.ready_state() != WebSocket::OPEN {
            return false;
        }
        self.socket.send_with_str(&message.to_json()).is_ok()
    }

    pub fn is_open(&self) -> bool {
        self.socket.ready_state() == WebSocket::OPEN
    }

    /// Closes without waiting; no more events are delivered.
    pub fn close(&self) {
        self.socket.set_onclose(None);
        self.socket.set_onmessage(None);
        let _ = self.socket.close();
    }
}

thread_local! {
    /// Whether any connection of this page has opened (a later failure is a
    /// dropped connection, worth retrying; see `on_close`).
    static EVER_OPENED: Cell<bool> = const { Cell::new(false) };
}

/// The relay's WebSocket address for `room`: the page's `<meta
/// name="confide-relay">` when it holds a `wss://` (or `ws://`) URL, else
/// `ws(s)://<this origin>/ws`; with the room's shard label as `s`.
pub fn relay_url(window: &web_sys::Window, room: &RoomId) -> Result<String, JsValue> {
    let base = match configured_relay(window) {
        Some(url) => url,
        None => {
            let location = window.location();
            let scheme = if location.protocol()? == "https:" {
                "wss"
            } else {
                "ws"
            };
            format!("{scheme}://{}{WS_PATH}", location.host()?)
        }
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{base}{separator}{SHARD_PARAM}={}",
        ShardLabel::of(room)
    ))
}

/// The relay named by the page's static files, if any.
fn configured_relay(window: &web_sys::Window) -> Option<String> {
    let meta = window
        .document()?
        .query_selector("meta[name=confide-relay]")
        .ok()??;
    let url = meta.get_attribute("content")?.trim().to_string();
    (url.starts_with("wss://") || url.starts_with("ws://")).then_some(url)
}

impl Drop for RelayConnection {
    fn drop(&mut self) {
        self.close();
    }
}
