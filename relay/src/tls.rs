//! HTTPS straight from certificate files (rustls, ring provider). TLS
//! handshakes run in their own tasks so that a slow client cannot hold up
//! the accept loop; finished streams are handed to the server through a
//! channel. Every connection passes the [`Gate`] before its handshake, so
//! handshakes count against the cap on connections that are not yet WebSockets.

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::server::{Acceptor, Gate, Pass, accept_tcp};

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
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Cert {
            path: cert.display().to_string(),
            source,
        })?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::Key {
        path: key.display().to_string(),
        source,
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
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
    ) -> io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        let accept_task =
            tokio::spawn(accept_loop(listener, acceptor, tx, gate, handshake_timeout));
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
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<Ready>,
    gate: Arc<Gate>,
    handshake_timeout: Duration,
) {
    loop {
        let (tcp, peer) = accept_tcp(&listener).await;
        let Some(pass) = gate.admit(peer) else {
            continue;
        };
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let _ = tx.send((stream, peer, pass)).await;
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
