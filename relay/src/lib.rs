//! confide's relay: a thin I/O shell. It serves the browser app and forwards
//! opaque ciphertext between the admitted members of a room. The room logic
//! is a pure state machine (`room`); `ws` and `hub` connect it to sockets.

pub mod assets;
pub mod centre;
pub mod config;
pub mod counsellor;
pub mod http;
pub mod hub;
mod inline_scripts;
pub mod limits;
pub mod logging;
pub mod room;
pub mod server;
pub mod shard;
pub mod source;
pub mod tls;
pub mod turn;
pub mod ws;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use crate::assets::AssetSource;
use crate::config::{Config, TurnMode};
use crate::counsellor::Access;
use crate::hub::Hub;
use crate::turn::{Turn, TurnSockets};

/// Shared state of all handlers.
#[derive(Clone)]
pub struct AppState {
    pub assets: Arc<AssetSource>,
    pub csp: Arc<str>,
    pub tls: bool,
    pub metrics: bool,
    pub hub: Arc<Hub>,
    /// The shard labels this node holds (`--shard`; `None`: all).
    pub shards: Option<shard::Shards>,
    /// `/centre.json`: the centre's name and numbers for guests.
    pub centre: Arc<str>,
}

impl AppState {
    pub fn new(config: &Config) -> Self {
        // Without a usable key nobody may create rooms (fail closed).
        let access = config
            .counsellor_access()
            .unwrap_or_else(|_| Access::new(counsellor::CounsellorKey::generate()));
        AppState::with_turn(config, None, Arc::new(access))
    }

    /// With the built-in STUN/TURN the hub hands out ICE servers.
    /// Rooms only for counsellors that `access` admits.
    pub fn with_turn(config: &Config, turn: Option<Arc<Turn>>, access: Arc<Access>) -> Self {
        let assets = match &config.static_dir {
            Some(dir) => AssetSource::Directory(dir.clone()),
            None => AssetSource::Embedded,
        };
        AppState {
            csp: http::content_security_policy(&assets.script_hashes()).into(),
            assets: Arc::new(assets),
            tls: config.tls(),
            // With --metrics-listen, the public listener never serves /metrics.
            metrics: config.metrics && config.metrics_listen.is_none(),
            hub: Hub::with_turn(config.limits(), turn, access),
            shards: config.shard,
            centre: centre::Centre::from_config(config).to_json().into(),
        }
    }
}

/// Runs the relay on an already bound listener until SIGTERM or Ctrl-C; a
/// second signal during the shutdown exits at once.
pub async fn serve(listener: TcpListener, config: Config) -> std::io::Result<()> {
    let (first, second) = signals();
    serve_until_or_now(listener, config, first, second).await
}

/// Like [`serve`], with STUN/TURN listeners bound beforehand by [`bind_turn`]
/// (`None` with `--turn off`).
pub async fn serve_bound(
    listener: TcpListener,
    turn: Option<TurnSockets>,
    metrics: Option<TcpListener>,
    config: Config,
) -> std::io::Result<()> {
    let (first, second) = signals();
    serve_inner(listener, turn, metrics, config, first, second).await
}

/// Binds `--metrics-listen` if given; the error names the address.
pub async fn bind_metrics(config: &Config) -> Result<Option<TcpListener>, String> {
    match config.metrics_listen {
        Some(addr) => TcpListener::bind(addr)
            .await
            .map(Some)
            .map_err(|e| format!("cannot listen for metrics on {addr}: {e}")),
        None => Ok(None),
    }
}

/// Binds the STUN/TURN listeners the configuration asks for (none with
/// `--turn off`); the error names the protocol and address.
pub fn bind_turn(config: &Config) -> Result<Option<TurnSockets>, String> {
    if !config.builtin_turn() {
        return Ok(None);
    }
    config.turn_public_ip()?;
    turn::io::bind(config.turn_listen()).map(Some)
}

/// Runs the relay until `stop` completes, then says goodbye to every
/// WebSocket (`shutting_down`, close 1001) and returns.
pub async fn serve_until(
    listener: TcpListener,
    config: Config,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_until_or_now(listener, config, stop, std::future::pending()).await
}

/// Like [`serve_until`]; when `stop_now` completes during the shutdown, it
/// returns at once without waiting for goodbyes.
pub async fn serve_until_or_now(
    listener: TcpListener,
    config: Config,
    stop: impl Future<Output = ()> + Send + 'static,
    stop_now: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    config
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let sockets = bind_turn(&config).map_err(std::io::Error::other)?;
    let metrics = bind_metrics(&config).await.map_err(std::io::Error::other)?;
    serve_inner(listener, sockets, metrics, config, stop, stop_now).await
}

async fn serve_inner(
    listener: TcpListener,
    sockets: Option<TurnSockets>,
    metrics: Option<TcpListener>,
    config: Config,
    stop: impl Future<Output = ()> + Send + 'static,
    stop_now: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    config
        .validate()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let https_port = listener.local_addr().ok().map(|a| a.port());
    let turn = match sockets {
        Some(sockets) => {
            Some(Turn::start(&config, sockets, https_port).map_err(std::io::Error::other)?)
        }
        // An external STUN/TURN server (--ice-server), or none.
        None => Turn::external(&config),
    };
    let mut config = config;
    if config.counsellor_key.is_none() {
        config
            .load_counsellor_key()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    }
    let access = Arc::new(
        config
            .counsellor_access()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
    );
    let revocations = tokio::spawn(reload_revocations(access.clone()));
    let state = AppState::with_turn(&config, turn.clone(), access);
    let hub = state.hub.clone();
    let app = http::router(state.clone());
    let ticker = tokio::spawn(tick_loop(hub.clone()));
    // /metrics on its own listener: nothing else there, nothing of it on the public one.
    let metrics_task = metrics.map(|listener| {
        let state = AppState {
            metrics: true,
            ..state.clone()
        };
        let app = axum::Router::new()
            .route("/metrics", axum::routing::get(http::metrics))
            .with_state(state);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        })
    });
    let limits = hub.limits().clone();
    let gate = server::Gate::new(server::GateLimits {
        max_pending: config.max_pending_connections,
        max_pending_per_source: limits.max_connections_per_source,
        limit_loopback: limits.limit_loopback,
    });
    let header_timeout = config.header_timeout;
    let timeout = config.shutdown_timeout;
    let result = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => {
            let (tls_config, cert_files) =
                tls::reloading_server_config(cert, key).map_err(std::io::Error::other)?;
            // SIGHUP or changed files: new handshakes get the new certificate, rooms stay.
            let reloader = tokio::spawn(tls::reload_loop(cert_files, config.tls_reload_interval));
            let turn_tls =
                turn.as_ref()
                    .filter(|t| t.mode() == TurnMode::On)
                    .map(|t| tls::TurnTls {
                        turn: t.clone(),
                        config: tls::turn_config(&tls_config),
                    });
            let listener =
                tls::TlsListener::new(listener, tls_config, gate, header_timeout, turn_tls)?;
            server::run(listener, app, hub, header_timeout, timeout, stop, stop_now).await;
            reloader.abort();
            Ok(())
        }
        _ => {
            let hangup = tokio::spawn(tls::ignore_hangup());
            let acceptor = server::PlainAcceptor::new(listener, gate);
            server::run(acceptor, app, hub, header_timeout, timeout, stop, stop_now).await;
            hangup.abort();
            Ok(())
        }
    };
    ticker.abort();
    revocations.abort();
    if let Some(task) = metrics_task {
        task.abort();
    }
    if let Some(turn) = turn {
        turn.stop();
    }
    result
}

/// Reads --counsellor-revoked again when it changes (checked every 2 s), so
/// a revocation takes effect without a restart. A broken list is reported
/// and the previous one stays in force.
async fn reload_revocations(access: Arc<Access>) {
    let mut interval = tokio::time::interval(Duration::from_secs(2));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match access.reload_revoked() {
            Ok(Some(count)) => tracing::info!(revoked = count, "counsellor revocation list read"),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "counsellor revocation list not read; the previous one stays in force")
            }
        }
    }
}

/// Expires away members and empty rooms.
async fn tick_loop(hub: Arc<Hub>) {
    let period = (hub.limits().grace / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut interval = tokio::time::interval(period);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        hub.tick(Instant::now());
    }
}

/// Two futures: the first SIGTERM or Ctrl-C, and the second one.
fn signals() -> (
    impl Future<Output = ()> + Send + 'static,
    impl Future<Output = ()> + Send + 'static,
) {
    let (tx, rx) = tokio::sync::watch::channel(0u32);
    tokio::spawn(async move {
        loop {
            shutdown_signal().await;
            tx.send_modify(|n| *n += 1);
        }
    });
    let wait = |count: u32| {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|n| *n >= count).await;
        }
    };
    (wait(1), wait(2))
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
