//! Starts the real relay in-process on a free loopback port.

use std::net::SocketAddr;
use std::path::PathBuf;

use confide_relay::config::Config;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// `page` (no fragment) with the test counsellor's sign-in as its fragment
/// (relays with [`Config::test_counsellor_key`], see [`crate::ws::counsellor_token`]).
pub fn counsellor_link(page: &str) -> String {
    format!(
        "{page}#counsellor={}",
        crate::ws::counsellor_token().to_base64()
    )
}

/// The test key as a key file (for relay binaries: `--counsellor-key-file`).
pub fn counsellor_key_file() -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "confide-test-counsellor-{}.key",
        std::process::id()
    ));
    let hex: String = std::iter::repeat_n("42", confide_relay::counsellor::KEY_LEN).collect();
    std::fs::write(&path, hex).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// A relay running on 127.0.0.1 for the duration of a test.
pub struct TestRelay {
    pub addr: SocketAddr,
    pub tls: bool,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    stop: Option<oneshot::Sender<()>>,
}

impl TestRelay {
    /// Starts a relay with the default configuration, serving the app from `static_dir` if given.
    pub async fn start(static_dir: Option<PathBuf>) -> TestRelay {
        let mut config = Config::for_tests();
        config.static_dir = static_dir;
        Self::start_with(config).await
    }

    /// Starts a relay with the given configuration (its `listen` address is ignored).
    pub async fn start_with(config: Config) -> TestRelay {
        Self::start_at(config, "127.0.0.1:0").await
    }

    /// Starts a relay on `addr`: with the address of a relay that was shut
    /// down, it is that relay restarted (pages served by it reconnect to it).
    pub async fn start_at(config: Config, addr: &str) -> TestRelay {
        let listener = TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("cannot bind {addr}: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let tls = config.tls();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            confide_relay::serve_until(listener, config, async move {
                let _ = stopped.await;
            })
            .await
        });
        TestRelay {
            addr,
            tls,
            task: Some(task),
            stop: Some(stop),
        }
    }

    /// The address it listens on (`127.0.0.1:port`).
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    pub fn http_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
    }

    /// The app's address with the test counsellor's sign-in link fragment:
    /// what a counsellor opens once before she can start sessions.
    pub fn counsellor_url(&self) -> String {
        counsellor_link(&self.http_url())
    }

    pub fn ws_url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/ws", self.addr)
    }

    /// One value of the relay's `/metrics` (a relay started with metrics on
    /// its own address, as the tests' configurations do).
    pub async fn metric(&self, name: &str) -> u64 {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the relay: {e}"));
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap_or_else(|e| panic!("cannot ask for /metrics: {e}"));
        let mut text = String::new();
        stream
            .read_to_string(&mut text)
            .await
            .unwrap_or_else(|e| panic!("cannot read /metrics: {e}"));
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    }

    /// Asks the relay to shut down gracefully and waits until it has.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task
                .await
                .unwrap_or_else(|e| panic!("relay task failed: {e}")),
            None => Ok(()),
        }
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
