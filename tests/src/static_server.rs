//! A plain static file server on a free loopback port, standing in for a
//! centre's own web space in the two-origin tests: it serves the files of a
//! folder with their content types and nothing else (no security headers,
//! no Content-Security-Policy: the page's own `<meta>` policy has to do).
//! Also prepares a copy of a build for it, the way `cargo xtask build
//! --relay-url` does (the same code: `xtask/src/relay_url.rs`).

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// The xtask's page rewrite, included as source (xtask is a binary crate).
#[allow(dead_code)]
#[path = "../../xtask/src/relay_url.rs"]
mod relay_url;

/// A static file server running for the duration of a test.
pub struct StaticServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl StaticServer {
    /// Serves `dir` on 127.0.0.1 (a free port); files are read per request.
    pub async fn start(dir: PathBuf) -> StaticServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("cannot bind loopback: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let dir = dir.clone();
                tokio::spawn(async move {
                    let _ = answer(stream, &dir).await;
                });
            }
        });
        StaticServer { addr, task }
    }

    /// `http://127.0.0.1:PORT`, as browsers write this server's origin.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Answers one request (GET or HEAD of a file; `/` is `index.html`), then closes.
async fn answer(mut stream: TcpStream, dir: &Path) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buffer).await?;
        if n == 0 || request.len() > 64 * 1024 {
            return Ok(());
        }
        request.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&request);
    let mut words = text.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let target = words.next().unwrap_or_default();
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let path = if path == "/" { "/index.html" } else { path };
    let relative = Path::new(path.trim_start_matches('/'));
    let safe = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    let file = if safe && (method == "GET" || method == "HEAD") {
        tokio::fs::read(dir.join(relative)).await.ok()
    } else {
        None
    };
    let (status, body, kind) = match file {
        Some(body) => ("200 OK", body, content_type(path)),
        None => ("404 Not Found", b"not found".to_vec(), "text/plain"),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(&body).await?;
    }
    stream.shutdown().await
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript",
        "wasm" => "application/wasm",
        "css" => "text/css",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

/// Copies the sealed build in `dist` into `into`, naming the relay at
/// `relay_ws_url` in its page as `cargo xtask build --relay-url` does (the
/// inline scripts' hashes as the relay computes them).
pub fn copy_with_relay(dist: &Path, into: &Path, relay_ws_url: &str) {
    let entries =
        std::fs::read_dir(dist).unwrap_or_else(|e| panic!("cannot read {}: {e}", dist.display()));
    for entry in entries.flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), into.join(entry.file_name()))
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", entry.path().display()));
        }
    }
    let index = into.join("index.html");
    let html = std::fs::read_to_string(&index)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", index.display()));
    let hashes = confide_relay::assets::AssetSource::Directory(into.to_path_buf()).script_hashes();
    assert!(
        hashes.len() == relay_url::inline_scripts(&html).len(),
        "one hash per inline script"
    );
    let html = relay_url::with_relay(&html, relay_ws_url, &hashes)
        .unwrap_or_else(|e| panic!("cannot name the relay in the page: {e}"));
    std::fs::write(&index, html)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", index.display()));
}
