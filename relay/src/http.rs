//! HTTP surface: the app's files, health, the WebSocket endpoint, optional
//! aggregate metrics, and the security headers on every response.

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use confide_shared::wire::{ErrorCode, WS_PATH};

use crate::AppState;
use crate::assets;

/// Builds the router for the whole relay.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route(WS_PATH, get(crate::ws::upgrade))
        .route("/metrics", get(metrics))
        .route("/centre.json", get(centre))
        .fallback(get(static_file))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            security_headers,
        ))
        .with_state(state)
}

/// `ok`, or 503 `draining` once the shutdown has begun (load balancers stop sending).
async fn healthz(State(state): State<AppState>) -> Response {
    if state.hub.is_draining() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CACHE_CONTROL, "no-store")],
            "draining",
        )
            .into_response()
    } else {
        ([(header::CACHE_CONTROL, "no-store")], "ok").into_response()
    }
}

async fn static_file(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if !state.assets.has_app() {
        return assets::app_missing();
    }
    state.assets.respond(uri.path(), &headers).await
}

/// `/centre.json`: the centre's name, phone, web address and crisis lines
/// (`relay/src/centre.rs`). Not cached for long: a changed flag shows soon.
async fn centre(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        state.centre.to_string(),
    )
        .into_response()
}

/// `/metrics` (only with `--metrics`): aggregate counts, never an id or an address.
pub async fn metrics(State(state): State<AppState>) -> Response {
    if !state.metrics {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    let hub = &state.hub;
    let (rooms, stats) = hub.with_relay(|relay| (relay.room_count(), relay.stats().clone()));
    let mut text = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = write!(
            text,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        );
    };
    metric(
        "confide_connections",
        "gauge",
        "Open WebSocket connections.",
        hub.open_connections() as u64,
    );
    metric(
        "confide_queued_bytes",
        "gauge",
        "Bytes of messages queued for all connections.",
        hub.queued_bytes() as u64,
    );
    metric(
        "confide_rooms",
        "gauge",
        "Rooms, including rooms in their grace period.",
        rooms as u64,
    );
    metric(
        "confide_rooms_created_total",
        "counter",
        "Rooms created.",
        stats.rooms_created,
    );
    metric(
        "confide_messages_forwarded_total",
        "counter",
        "Payloads delivered to a member.",
        stats.messages_forwarded,
    );
    let _ = write!(
        text,
        "# HELP confide_errors_total Errors and closes by kind.\n# TYPE confide_errors_total counter\n"
    );
    for code in ErrorCode::ALL {
        let count = stats.errors.get(&code).copied().unwrap_or(0);
        let _ = writeln!(text, "confide_errors_total{{kind=\"{code}\"}} {count}");
    }
    if let Some(turn) = state.hub.turn() {
        turn.metrics().render(&mut text);
    }
    (
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// The Content-Security-Policy: only our own scripts (plus Trunk's inline
/// starter, by hash), WASM compilation, and connections to this origin.
pub fn content_security_policy(script_hashes: &[String]) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for hash in script_hashes {
        script_src.push_str(&format!(" '{hash}'"));
    }
    format!(
        "default-src 'none'; script-src {script_src}; worker-src 'self'; connect-src 'self'; \
         img-src 'self' data: blob:; media-src 'self' blob: mediastream:; style-src 'self'; font-src 'self'; \
         manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&state.csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if state.tls {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000; includeSubDomains"),
        );
    }
    response
}
