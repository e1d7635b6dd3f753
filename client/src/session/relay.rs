//! The WebSocket to the relay: JSON wire messages in, JSON wire messages out.
//! Knows nothing about sessions; reports what arrives and how the socket closed.

use std::rc::Rc;

use confide_shared::wire::{ClientMessage, ServerMessage, WS_PATH};
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

/// One WebSocket connection to the relay of this page's origin.
pub struct RelayConnection {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl RelayConnection {
    /// Connects to `ws(s)://<this origin>/ws`.
    pub fn open(on_event: Rc<dyn Fn(RelayEvent)>) -> Result<RelayConnection, JsValue> {
        let location = web_sys::window().ok_or("no window")?.location();
        let scheme = if location.protocol()? == "https:" {
            "wss"
        } else {
            "ws"
        };
        let url = format!("{scheme}://{}{WS_PATH}", location.host()?);
        let socket = WebSocket::new(&url)?;

        let on_open = {
            let on_event = on_event.clone();
            Closure::<dyn FnMut()>::new(move || on_event(RelayEvent::Open))
        };
        let on_message = {
            let on_event = on_event.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let parsed = event
                    .data()
                    .as_string()
                    .and_then(|text| serde_json::from_str::<ServerMessage>(&text).ok());
                on_event(match parsed {
                    Some(message) => RelayEvent::Message(message),
                    None => RelayEvent::Garbled,
                });
            })
        };
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            on_event(RelayEvent::Closed { code: event.code() });
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
        match serde_json::to_string(message) {
            Ok(text) => self.socket.send_with_str(&text).is_ok(),
            Err(_) => false,
        }
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

impl Drop for RelayConnection {
    fn drop(&mut self) {
        self.close();
    }
}
