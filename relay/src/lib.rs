//! confide's relay: a thin I/O shell. It serves the browser app and forwards
//! opaque ciphertext between the admitted members of a room. The room logic
//! is a pure state machine (`room`); `ws` and `hub` connect it to sockets.

pub mod assets;
pub mod config;
pub mod http;
pub mod hub;
mod inline_scripts;
pub mod limits;
pub mod room;
pub mod source;
pub mod tls;
pub mod ws;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use crate::assets::AssetSource;
use crate::config::Config;
use crate::hub::Hub;

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    pub assets: Arc<AssetSource>,
    pub csp: Arc<str>,
    pub tls: bool,
    pub metrics: bool,
    pub hub: Arc<Hub>,
}

impl AppState {
    pub fn new(config: &Config) -> Self {
        let assets = match &config.static_dir {
            Some(dir) => AssetSource::Directory(dir.clone()),
            None => AssetSource::Embedded,
        };
        AppState {
            csp: http::content_security_policy(&assets.script_hashes()).into(),
            assets: Arc::new(assets),
            tls: config.tls(),
            metrics: config.metrics,
            hub: Hub::new(config.limits()),
        }
    }
}

/// Runs the relay on an already bound listener until SIGTERM or Ctrl-C.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    serve_until(listener, config, shutdown_signal()).await
}

/// Runs the relay until `stop` completes, then says goodbye to every
/// WebSocket (`shutting_down`, close 1001) and returns.
pub async fn serve_until(
    listener: TcpListener,
    config: Config,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = AppState::new(&config);
    let hub = state.hub.clone();
    let app = http::router(state);
    let ticker = tokio::spawn(tick_loop(hub.clone()));
    let timeout = config.shutdown_timeout;
    let graceful = async move {
        stop.await;
        tracing::info!(connections = hub.open_connections(), "shutting down");
        hub.begin_shutdown();
        let deadline = Instant::now() + timeout;
        while hub.open_connections() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let result = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let tls_config = tls::server_config(cert, key).map_err(std::io::Error::other)?;
            let listener = tls::TlsListener::new(listener, tls_config)?;
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<source::Peer>(),
            )
            .with_graceful_shutdown(graceful)
            .await
        }
        _ => {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<source::Peer>(),
            )
            .with_graceful_shutdown(graceful)
            .await
        }
    };
    ticker.abort();
    result
}

/// Expires away members and empty rooms.
async fn tick_loop(hub: Arc<Hub>) {
    let period = (hub.limits().grace / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        hub.run(|relay| relay.tick(Instant::now()));
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
