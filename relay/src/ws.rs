//! The WebSocket shell around the room state machine: one task per
//! connection that reads frames, writes its queue, pings, and says goodbye.
//! Nothing here decides about rooms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{Extensions, HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
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
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let hub = state.hub.clone();
    let limits = hub.limits();
    if let Err(reason) = check_origin(&headers, &uri, &limits.allowed_origins) {
        // The reason only: a refused origin may be a person's own machine.
        tracing::info!(reason, "WebSocket refused (403): a page of another origin");
        return (
            StatusCode::FORBIDDEN,
            [(header::CACHE_CONTROL, "no-store")],
            "This relay does not accept connections from pages of this origin.",
        )
            .into_response();
    }
    // The peer's address decides only which per-source counter applies; it is never logged.
    let source = extensions
        .get::<ConnectInfo<Peer>>()
        .and_then(|ConnectInfo(Peer(addr))| Source::of(addr.ip(), limits.limit_loopback));
    // Frames up to twice the limit are read whole and refused by the state
    // machine with a clean 4001; larger ones fail in the WebSocket layer.
    let hard_limit = limits.max_message_bytes.saturating_mul(2).max(1024);
    let registration = match crate::shard::admit(state.shards, uri.query()) {
        Ok(label) => hub
            .try_open(source)
            .map_err(|refusal| (refusal.as_str(), ErrorCode::ServerFull))
            .inspect(|registration| {
                if let Some(label) = label {
                    hub.run(|relay| {
                        relay.set_shard(registration.id, label);
                        Vec::new()
                    });
                }
            }),
        // Another node's connection (or a balancer without the label): refused loudly.
        Err(misrouted) => {
            hub.run(|relay| {
                relay.record_error(ErrorCode::WrongShard);
                Vec::new()
            });
            Err((misrouted.as_str(), ErrorCode::WrongShard))
        }
    };
    ws.read_buffer_size(4096)
        .write_buffer_size(0)
        .max_write_buffer_size(hard_limit.saturating_mul(2))
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_upgrade(move |socket| async move {
            match registration {
                Ok(registration) => serve(socket, registration, hub).await,
                Err((reason, code)) => {
                    tracing::info!(reason, "connection refused");
                    close(socket, Close::error(code)).await;
                }
            }
        })
}

/// Whether the page that opens the WebSocket may: its `Origin` is the
/// relay's own (the `Host` it was asked for, any scheme: a reverse proxy may
/// terminate TLS) or one of `allowed` (`--allowed-origin`). A request without
/// `Origin` comes from no browser page (tools, tests) and is let through:
/// the check keeps other websites' pages away from the relay, it does not
/// authenticate anybody. The error is the reason, for the log.
pub fn check_origin(
    headers: &HeaderMap,
    uri: &Uri,
    allowed: &[String],
) -> Result<(), &'static str> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin
        .to_str()
        .map_err(|_| "origin is not text")?
        .trim()
        .to_ascii_lowercase();
    if allowed.contains(&origin) {
        return Ok(());
    }
    let Some(authority) = origin
        .strip_prefix("https://")
        .map(|a| a.strip_suffix(":443").unwrap_or(a))
        .or_else(|| {
            origin
                .strip_prefix("http://")
                .map(|a| a.strip_suffix(":80").unwrap_or(a))
        })
    else {
        return Err("origin is not http(s) and not listed");
    };
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .ok_or("no Host to compare the origin with")?
        .to_ascii_lowercase();
    let host = host
        .strip_suffix(":443")
        .or_else(|| host.strip_suffix(":80"))
        .unwrap_or(&host);
    if authority == host {
        Ok(())
    } else {
        Err("origin is another site and not in --allowed-origin")
    }
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
                Some(Outbound::Text(shared)) => {
                    reg.dequeued(shared.budget());
                    // Serialised here, outside the hub's lock, once per broadcast.
                    let text = shared.text();
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
                        // Parsed here, outside the hub's lock; only the checks
                        // and the handling run under it.
                        let (size, parsed) = crate::room::parse_text(text.as_str());
                        hub.run(|relay| relay.receive_parsed(id, size, parsed, now));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn check(origin: Option<&str>, host: &str, allowed: &[&str]) -> Result<(), &'static str> {
        let mut headers = HeaderMap::new();
        if let Some(origin) = origin {
            headers.insert(header::ORIGIN, origin.parse().unwrap_or_else(|_| panic!()));
        }
        headers.insert(header::HOST, host.parse().unwrap_or_else(|_| panic!()));
        let allowed: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
        check_origin(&headers, &Uri::from_static("/ws"), &allowed)
    }

    #[test]
    fn own_origin_and_listed_origins_only() {
        // No Origin: not a browser page.
        assert_eq!(check(None, "relay.example", &[]), Ok(()));
        // The relay's own pages, directly or behind a TLS-terminating proxy.
        assert_eq!(
            check(Some("http://127.0.0.1:8080"), "127.0.0.1:8080", &[]),
            Ok(())
        );
        assert_eq!(
            check(Some("https://Relay.example"), "relay.example", &[]),
            Ok(())
        );
        assert_eq!(
            check(Some("https://relay.example"), "relay.example:443", &[]),
            Ok(())
        );
        // Another site: only when listed.
        let app = "https://beratung.example.org";
        assert!(check(Some(app), "relay.example", &[]).is_err());
        assert_eq!(check(Some(app), "relay.example", &[app]), Ok(()));
        assert!(check(Some("https://evil.example"), "relay.example", &[app]).is_err());
        assert!(check(Some("http://127.0.0.1:9"), "127.0.0.1:8080", &[]).is_err());
        assert!(check(Some("null"), "relay.example", &[]).is_err());
        // A look-alike host is not the relay's own.
        assert!(check(Some("https://relay.example.evil"), "relay.example", &[]).is_err());
    }
}
