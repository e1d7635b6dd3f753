//! The WebSocket shell around the room state machine: one task per
//! connection that reads frames, writes its queue, pings, and says goodbye.
//! Nothing here decides about rooms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::Extensions;
use axum::response::Response;
use confide_shared::wire::{ErrorCode, ServerMessage};

use crate::AppState;
use crate::hub::{Hub, Outbound, Registration};
use crate::room::Close;
use crate::source::{Peer, Source};

/// How long one write may take before the peer counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to keep reading after our close frame, so the peer receives it
/// before the TCP connection goes (closing with unread data sends a reset).
const LINGER: Duration = Duration::from_secs(2);

/// `GET /ws`.
pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    extensions: Extensions,
) -> Response {
    let hub = state.hub.clone();
    let limits = hub.limits();
    // The peer's address decides only which per-source counter applies; it is never logged.
    let source = extensions
        .get::<ConnectInfo<Peer>>()
        .and_then(|ConnectInfo(Peer(addr))| Source::of(addr.ip(), limits.limit_loopback));
    // Frames up to twice the limit are read whole and refused by the state
    // machine with a clean 4001; larger ones fail in the WebSocket layer.
    let hard_limit = limits.max_message_bytes.saturating_mul(2).max(1024);
    let registration = hub.try_open(source);
    ws.read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(hard_limit.saturating_mul(2))
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_upgrade(move |socket| async move {
            match registration {
                Ok(registration) => serve(socket, registration, hub).await,
                Err(refusal) => {
                    tracing::info!(reason = refusal.as_str(), "connection refused");
                    close(socket, Close::error(ErrorCode::ServerFull)).await;
                }
            }
        })
}

async fn serve(mut socket: WebSocket, mut reg: Registration, hub: Arc<Hub>) {
    let id = reg.id;
    let limits = hub.limits().clone();
    let mut shutdown = hub.shutdown_signal();
    let start = tokio::time::Instant::now() + limits.ping_interval;
    let mut ping = tokio::time::interval_at(start, limits.ping_interval);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    // A new connection must create a room, knock or resume in time.
    let first_message = tokio::time::sleep(limits.first_message_timeout);
    tokio::pin!(first_message);
    tracing::debug!("connection opened");
    if *shutdown.borrow_and_update() {
        goodbye(socket).await;
        return;
    }
    let reason = loop {
        tokio::select! {
            biased;
            close = reg.kill.fired() => break close,
            item = reg.rx.recv() => match item {
                Some(Outbound::Text(text)) => {
                    reg.dequeued(text.len());
                    // A peer that does not read blocks this write; a kill
                    // (slow consumer) must still get through and free the queue.
                    let kill = reg.kill.clone();
                    tokio::select! {
                        biased;
                        close = kill.fired() => break close,
                        written = write(&mut socket, Message::Text(text)) => if !written {
                            return;
                        },
                    }
                }
                Some(Outbound::Close(close)) => break close,
                None => return,
            },
            _ = shutdown.changed() => {
                goodbye(socket).await;
                return;
            }
            incoming = socket.recv() => {
                let now = Instant::now();
                last_heard = now;
                match incoming {
                    Some(Ok(Message::Text(text))) => {
                        hub.run(|relay| relay.receive_text(id, text.as_str(), now));
                        reg.check_identified();
                    }
                    Some(Ok(Message::Binary(_))) => hub.run(|relay| relay.kick(id, ErrorCode::ProtocolError, now)),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => return,
                    Some(Err(error)) => {
                        let code = if error.to_string().contains("Space limit exceeded") {
                            ErrorCode::MessageTooLarge
                        } else {
                            ErrorCode::ProtocolError
                        };
                        hub.run(|relay| relay.kick(id, code, now));
                        // The stream is unusable after a read error: close without lingering.
                        let _ = tokio::time::timeout(WRITE_TIMEOUT, socket.send(close_message(Close::error(code)))).await;
                        log_close(Close::error(code));
                        return;
                    }
                }
            }
            () = &mut first_message, if reg.is_unidentified() => {
                if !reg.check_identified() {
                    hub.run(|relay| relay.kick(id, ErrorCode::IdleTimeout, Instant::now()));
                }
            }
            _ = ping.tick() => {
                if last_heard.elapsed() >= limits.idle_timeout {
                    hub.run(|relay| relay.kick(id, ErrorCode::IdleTimeout, Instant::now()));
                } else if !write(&mut socket, Message::Ping(Default::default())).await {
                    return;
                }
            }
        }
    };
    log_close(reason);
    // Nothing more will be written: free the queue before the goodbye, which may take a while.
    reg.discard_queue();
    close(socket, reason).await;
}

fn log_close(close: Close) {
    if close.code >= 4000 {
        tracing::info!(
            reason = close.reason,
            code = close.code,
            "connection closed"
        );
    } else {
        tracing::debug!(reason = close.reason, "connection closed");
    }
}

async fn write(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(WRITE_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

fn close_message(close: Close) -> Message {
    Message::Close(Some(CloseFrame {
        code: close.code,
        reason: close.reason.into(),
    }))
}

/// Sends `shutting_down` and closes with 1001.
async fn goodbye(mut socket: WebSocket) {
    let _ = write(
        &mut socket,
        Message::Text(ServerMessage::ShuttingDown.to_json().into()),
    )
    .await;
    close(socket, Close::GOING_AWAY).await;
}

/// Sends the close frame and waits briefly for the peer's answer.
async fn close(mut socket: WebSocket, close: Close) {
    if !write(&mut socket, close_message(close)).await {
        return;
    }
    let _ = tokio::time::timeout(LINGER, async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}
