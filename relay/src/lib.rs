//! confide's relay: a thin I/O shell. It serves the browser app and forwards
//! opaque ciphertext between the admitted members of a room.

pub mod assets;
pub mod config;
pub mod http;

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::assets::AssetSource;
use crate::config::Config;

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    pub assets: Arc<AssetSource>,
    pub csp: Arc<str>,
    pub tls: bool,
}

impl AppState {
    pub fn new(config: &Config) -> Self {
        let assets = match &config.static_dir {
            Some(dir) => AssetSource::Directory(dir.clone()),
            None => AssetSource::Embedded,
        };
        AppState {
            assets: Arc::new(assets),
            csp: http::content_security_policy().into(),
            tls: false,
        }
    }
}

/// Runs the relay on an already bound listener until the process is asked to stop.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    let state = AppState::new(&config);
    let app = http::router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
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
