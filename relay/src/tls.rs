//! HTTPS straight from certificate files (rustls, ring provider). TLS
//! handshakes run in their own tasks so that a slow client cannot hold up
//! the accept loop; finished streams are handed to the server through a
//! channel. Every connection passes the [`Gate`] before its handshake, so
//! handshakes count against the cap on connections that are not yet WebSockets.
//!
//! With the built-in TURN, the same port also carries TURN over TLS
//! (`turns:`, for networks that let only TCP 443 out): the ClientHello's ALPN
//! decides. Browsers' HTTPS offers `http/1.1` (or `h2`); TURN clients offer
//! nothing or `stun.turn` (RFC 7443). Never routed by SNI: Firefox sends none
//! on `turns:`.
//!
//! The certificate is reloaded without a restart ([`CertFiles`]): on SIGHUP
//! and when the files change, so a renewal drops no room. A broken new pair
//! is reported and the previous certificate stays in use.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::LazyConfigAcceptor;
use tokio_rustls::server::TlsStream;

use crate::server::{Acceptor, Gate, Pass, accept_tcp};
use crate::turn::Turn;

/// Reading the certificate or key failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read certificate chain {path}: {source}")]
    Cert {
        path: String,
        source: rustls::pki_types::pem::Error,
    },
    #[error("cannot read private key {path}: {source}")]
    Key {
        path: String,
        source: rustls::pki_types::pem::Error,
    },
    #[error("invalid certificate or key: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Builds the server configuration from PEM files (HTTP/1.1 only: WebSocket needs it).
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    reloading_server_config(cert, key).map(|(config, _)| config)
}

/// Like [`server_config`], with the handle that reloads the certificate
/// the configuration serves.
pub fn reloading_server_config(
    cert: &Path,
    key: &Path,
) -> Result<(Arc<rustls::ServerConfig>, Arc<CertFiles>), TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let files = Arc::new(CertFiles::load(cert, key, provider.clone())?);
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(files.clone());
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), files))
}

/// The certificate and key files, and the pair read from them last. Every
/// handshake takes the current pair, so a reload applies to new
/// connections; open ones keep theirs.
pub struct CertFiles {
    cert: PathBuf,
    key: PathBuf,
    provider: Arc<rustls::crypto::CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
    /// Modification times of both files at the last read.
    stamp: RwLock<Option<(SystemTime, SystemTime)>>,
}

impl std::fmt::Debug for CertFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertFiles")
            .field("cert", &self.cert)
            .finish_non_exhaustive()
    }
}

impl CertFiles {
    fn load(
        cert: &Path,
        key: &Path,
        provider: Arc<rustls::crypto::CryptoProvider>,
    ) -> Result<CertFiles, TlsError> {
        let stamp = stamp(cert, key);
        let pair = read_pair(cert, key, &provider)?;
        Ok(CertFiles {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            provider,
            current: RwLock::new(Arc::new(pair)),
            stamp: RwLock::new(stamp),
        })
    }

    /// Reads both files again if they changed since the last read (or
    /// always, with `force`). `Ok(true)`: a new pair is in use. On an error
    /// the previous pair stays in use.
    pub fn reload(&self, force: bool) -> Result<bool, TlsError> {
        let stamp = stamp(&self.cert, &self.key);
        let last = *self.stamp.read().unwrap_or_else(|p| p.into_inner());
        if !force && stamp == last {
            return Ok(false);
        }
        // Remember the attempt: a broken pair is reported once, not every poll.
        *self.stamp.write().unwrap_or_else(|p| p.into_inner()) = stamp;
        let pair = read_pair(&self.cert, &self.key, &self.provider)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(pair);
        Ok(true)
    }
}

impl rustls::server::ResolvesServerCert for CertFiles {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

fn stamp(cert: &Path, key: &Path) -> Option<(SystemTime, SystemTime)> {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    Some((modified(cert)?, modified(key)?))
}

/// Reads a certificate chain and its key, and checks that they belong together.
fn read_pair(
    cert: &Path,
    key: &Path,
    provider: &rustls::crypto::CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Cert {
            path: cert.display().to_string(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::Rustls(rustls::Error::General(format!(
            "no certificate in {}",
            cert.display()
        ))));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::Key {
        path: key.display().to_string(),
        source,
    })?;
    Ok(CertifiedKey::from_der(certs, key, provider)?)
}

/// Reloads the certificate on SIGHUP and when its files change (checked
/// every `poll`), until aborted. Logs the outcome, never a path's contents.
/// The SIGHUP handler is installed when this is called (not when the future
/// first runs), so a SIGHUP after the relay answers never ends the process.
pub fn reload_loop(files: Arc<CertFiles>, poll: Duration) -> impl Future<Output = ()> {
    #[cfg(unix)]
    let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    #[cfg(not(unix))]
    let hangup = ();
    reload_forever(files, poll, hangup)
}

/// Without TLS: a SIGHUP (`systemctl reload`) only says there is nothing to
/// reload, instead of ending the process and every room.
pub fn ignore_hangup() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    async move {
        #[cfg(unix)]
        if let Some(mut hangup) = hangup {
            while hangup.recv().await.is_some() {
                tracing::info!("SIGHUP: no certificate to reload (no --tls-cert)");
            }
        }
        std::future::pending::<()>().await
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = ();

async fn reload_forever(files: Arc<CertFiles>, poll: Duration, hangup: Hangup) {
    #[cfg(unix)]
    let mut hangup = hangup;
    #[cfg(not(unix))]
    let _ = hangup;
    // The first look after one period: the files were read at start.
    let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + poll, poll);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let force = tokio::select! {
            _ = interval.tick() => false,
            Some(()) = async {
                match hangup.as_mut() {
                    Some(signal) => signal.recv().await,
                    None => std::future::pending().await,
                }
            } => true,
        };
        #[cfg(not(unix))]
        let force = {
            interval.tick().await;
            false
        };
        match files.reload(force) {
            Ok(true) => tracing::info!("TLS certificate reloaded"),
            Ok(false) => {}
            Err(error) => tracing::warn!(
                %error,
                "TLS certificate not reloaded; the previous one stays in use"
            ),
        }
    }
}

/// The same certificate for TURN over TLS: ALPN `stun.turn` when the client
/// offers it, none otherwise.
pub fn turn_config(http: &rustls::ServerConfig) -> Arc<rustls::ServerConfig> {
    let mut config = http.clone();
    config.alpn_protocols = vec![b"stun.turn".to_vec()];
    Arc::new(config)
}

/// Whether a ClientHello with these ALPN offers is for TURN: no offer, or
/// offers without an HTTP protocol.
pub fn is_turn_hello(offers: Option<Vec<&[u8]>>) -> bool {
    match offers {
        None => true,
        Some(offers) => !offers
            .iter()
            .any(|p| *p == b"http/1.1" || *p == b"h2" || *p == b"http/1.0"),
    }
}

/// Where TLS connections for TURN go.
#[derive(Clone)]
pub struct TurnTls {
    pub turn: Arc<Turn>,
    pub config: Arc<rustls::ServerConfig>,
}

type Ready = (TlsStream<TcpStream>, SocketAddr, Pass);

/// A listener that yields TLS streams.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<Ready>,
    accept_task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// A client has `handshake_timeout` to finish its TLS handshake.
    pub fn new(
        listener: TcpListener,
        config: Arc<rustls::ServerConfig>,
        gate: Arc<Gate>,
        handshake_timeout: Duration,
        turn: Option<TurnTls>,
    ) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let accept_task = tokio::spawn(accept_loop(
            listener,
            config,
            tx,
            gate,
            handshake_timeout,
            turn,
        ));
        Ok(TlsListener {
            local,
            ready,
            accept_task,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
    tx: mpsc::Sender<Ready>,
    gate: Arc<Gate>,
    handshake_timeout: Duration,
    turn: Option<TurnTls>,
) {
    loop {
        let (tcp, peer) = accept_tcp(&listener).await;
        let Some(pass) = gate.admit(peer) else {
            continue;
        };
        let config = config.clone();
        let tx = tx.clone();
        let turn = turn.clone();
        tokio::spawn(async move {
            let handshake = async {
                let start =
                    LazyConfigAcceptor::new(rustls::server::Acceptor::default(), tcp).await?;
                let offers: Option<Vec<&[u8]>> =
                    start.client_hello().alpn().map(|offers| offers.collect());
                match &turn {
                    Some(turn) if is_turn_hello(offers) => {
                        let stream = start.into_stream(turn.config.clone()).await?;
                        Ok::<_, io::Error>(Err((stream, turn.turn.clone())))
                    }
                    _ => Ok(Ok(start.into_stream(config).await?)),
                }
            };
            match tokio::time::timeout(handshake_timeout, handshake).await {
                Ok(Ok(Ok(stream))) => {
                    let _ = tx.send((stream, peer, pass)).await;
                }
                Ok(Ok(Err((stream, turn)))) => {
                    // TURN has its own cap on streams; the HTTP gate is free again.
                    drop(pass);
                    turn.accept_stream(stream, peer);
                }
                Ok(Err(_)) | Err(_) => tracing::debug!("tls handshake failed"),
            }
        });
    }
}

impl TlsListener {
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }
}

impl Acceptor for TlsListener {
    type Io = TlsStream<TcpStream>;

    async fn accept(&mut self) -> Ready {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The accept loop only ends when aborted; then nothing comes any more.
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_decides() {
        assert!(is_turn_hello(None));
        assert!(is_turn_hello(Some(vec![b"stun.turn"])));
        assert!(!is_turn_hello(Some(vec![b"h2", b"http/1.1"])));
        assert!(!is_turn_hello(Some(vec![b"http/1.1"])));
        assert!(!is_turn_hello(Some(vec![b"stun.turn", b"http/1.1"])));
    }
}
