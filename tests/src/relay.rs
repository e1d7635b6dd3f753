//! Starts the real relay in-process on a free loopback port.

use std::net::SocketAddr;
use std::path::PathBuf;

use confide_relay::config::Config;
use tokio::net::TcpListener;

/// A relay running on 127.0.0.1 for the duration of a test.
pub struct TestRelay {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
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
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("cannot bind loopback: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let task = tokio::spawn(async move {
            let _ = confide_relay::serve(listener, config).await;
        });
        TestRelay { addr, task }
    }

    pub fn http_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
