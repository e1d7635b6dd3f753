//! The HTTP server loop: accepts TCP connections, admits them through the
//! [`Gate`] (a cap on connections that are not yet WebSockets, in total and
//! per source), and serves HTTP/1.1 with hyper's header-read timeout, so that
//! slowly trickled headers (slowloris) and idle keep-alive connections cannot
//! pile up. A connection leaves the gate once it has become a WebSocket (those
//! are counted by the hub) or when it closes.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tower_service::Service as _;

use crate::hub::Hub;
use crate::source::{Peer, Source};

/// Limits on connections before they become WebSockets.
#[derive(Debug, Clone)]
pub struct GateLimits {
    /// In total: TLS handshakes, HTTP requests and idle keep-alive connections.
    pub max_pending: usize,
    /// From one source.
    pub max_pending_per_source: usize,
    pub limit_loopback: bool,
}

/// Admits connections that are not yet WebSockets.
pub struct Gate {
    limits: GateLimits,
    permits: Arc<Semaphore>,
    per_source: Mutex<HashMap<Source, usize>>,
}

/// One admitted connection's place in the gate; dropping it frees the place.
pub struct Pass {
    gate: Arc<Gate>,
    source: Option<Source>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Pass {
    fn drop(&mut self) {
        if let Some(source) = self.source {
            let mut map = self
                .gate
                .per_source
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(n) = map.get_mut(&source) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(&source);
                }
            }
        }
    }
}

impl Gate {
    pub fn new(limits: GateLimits) -> Arc<Gate> {
        Arc::new(Gate {
            permits: Arc::new(Semaphore::new(limits.max_pending.max(1))),
            limits,
            per_source: Mutex::new(HashMap::new()),
        })
    }

    /// A place for a new connection from `peer`, or `None`: then the caller
    /// drops the connection at once (a refusal, logged only as a kind).
    pub fn admit(self: &Arc<Self>, peer: SocketAddr) -> Option<Pass> {
        let source = Source::of(peer.ip(), self.limits.limit_loopback);
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            tracing::debug!(reason = "pending_full", "connection dropped");
            return None;
        };
        if let Some(source) = source {
            let mut map = self
                .per_source
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let n = map.entry(source).or_default();
            if *n >= self.limits.max_pending_per_source {
                tracing::debug!(reason = "pending_source_full", "connection dropped");
                return None;
            }
            *n += 1;
        }
        Some(Pass {
            gate: self.clone(),
            source,
            _permit: permit,
        })
    }
}

/// Something that yields admitted connections: plain TCP or TLS.
pub trait Acceptor: Send + 'static {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn accept(&mut self) -> impl Future<Output = (Self::Io, SocketAddr, Pass)> + Send;
}

/// Plain TCP through the gate.
pub struct PlainAcceptor {
    listener: TcpListener,
    gate: Arc<Gate>,
}

impl PlainAcceptor {
    pub fn new(listener: TcpListener, gate: Arc<Gate>) -> Self {
        PlainAcceptor { listener, gate }
    }
}

impl Acceptor for PlainAcceptor {
    type Io = TcpStream;

    async fn accept(&mut self) -> (TcpStream, SocketAddr, Pass) {
        loop {
            let (tcp, peer) = accept_tcp(&self.listener).await;
            if let Some(pass) = self.gate.admit(peer) {
                return (tcp, peer, pass);
            }
        }
    }
}

/// Accepts one TCP connection, backing off on errors (out of file descriptors and the like).
pub async fn accept_tcp(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((tcp, peer)) => {
                let _ = tcp.set_nodelay(true);
                return (tcp, peer);
            }
            Err(error) => {
                tracing::warn!(kind = ?error.kind(), "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Serves `app` on connections from `acceptor` until `stop`, then shuts
/// down: tells every WebSocket goodbye and lets HTTP requests finish, for at
/// most `shutdown_timeout`. During that drain the relay still answers (one
/// request per connection; `/healthz` says 503, WebSockets get `shutting_down`).
/// When `stop_now` completes during the drain, it returns at once.
pub async fn run(
    mut acceptor: impl Acceptor,
    app: Router,
    hub: Arc<Hub>,
    header_timeout: Duration,
    shutdown_timeout: Duration,
    stop: impl Future<Output = ()> + Send,
    stop_now: impl Future<Output = ()> + Send,
) {
    let (drain_tx, drain_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            (io, peer, pass) = acceptor.accept() => {
                tasks.spawn(serve_connection(io, peer, pass, app.clone(), Some(drain_rx.clone()), header_timeout));
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tracing::info!(connections = hub.open_connections(), "shutting down");
    hub.begin_shutdown();
    drain_tx.send_replace(true);
    let deadline = tokio::time::sleep(shutdown_timeout);
    tokio::pin!(deadline);
    tokio::pin!(stop_now);
    let mut check = tokio::time::interval(Duration::from_millis(10));
    loop {
        tokio::select! {
            () = &mut deadline => break,
            () = &mut stop_now => {
                tracing::info!("second signal: exiting at once");
                break;
            }
            (io, peer, pass) = acceptor.accept() => {
                tasks.spawn(serve_connection(io, peer, pass, app.clone(), None, header_timeout));
            }
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            _ = check.tick() => {
                if hub.open_connections() == 0 && tasks.is_empty() {
                    break;
                }
            }
        }
    }
    drop(acceptor);
    tasks.abort_all();
}

async fn serve_connection<I>(
    io: I,
    peer: SocketAddr,
    pass: Pass,
    app: Router,
    drain: Option<watch::Receiver<bool>>,
    header_timeout: Duration,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(Peer(peer)));
        let mut app = app.clone();
        async move { app.call(request).await }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        // While draining: one request per connection.
        .keep_alive(drain.is_some());
    let connection = builder
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(connection);
    let draining = async {
        match drain {
            Some(mut drain) => {
                let _ = drain.wait_for(|draining| *draining).await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = connection.as_mut() => {}
        () = draining => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
    // Upgraded (the WebSocket task now owns the stream) or closed.
    drop(pass);
}
