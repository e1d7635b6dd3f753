//! The browser app, embedded at build time (see `build.rs`) or read from a
//! directory given on the command line. Serves precompressed bytes when the
//! browser accepts them, with long cache lifetimes only for content-hashed files.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file of `dist/`.
pub struct Asset {
    pub path: &'static str,
    pub raw: &'static [u8],
    pub gzip: &'static [u8],
    pub brotli: &'static [u8],
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Where the app's files come from.
#[derive(Clone, Debug)]
pub enum AssetSource {
    /// Compiled into the binary.
    Embedded,
    /// Read from this directory on every request (for development).
    Directory(PathBuf),
}

impl AssetSource {
    /// True when there is an app to serve at all.
    pub fn has_app(&self) -> bool {
        match self {
            AssetSource::Embedded => ASSETS.iter().any(|a| a.path == "/index.html"),
            AssetSource::Directory(dir) => dir.join("index.html").is_file(),
        }
    }

    /// CSP hashes of the inline scripts of the index.html this source serves.
    pub fn script_hashes(&self) -> Vec<String> {
        let html = match self {
            AssetSource::Embedded => ASSETS
                .iter()
                .find(|a| a.path == "/index.html")
                .map(|a| String::from_utf8_lossy(a.raw).into_owned()),
            AssetSource::Directory(dir) => std::fs::read_to_string(dir.join("index.html")).ok(),
        };
        html.map(|html| crate::inline_scripts::script_hashes(&html))
            .unwrap_or_default()
    }

    /// The release digest of the app this source serves (see docs/VERIFY.md):
    /// SHA-256 over the manifest of its files, sorted `name  sha256` lines.
    /// `cargo xtask build` prints the same for the build output.
    pub fn release_digest(&self) -> Result<String, String> {
        let files: Vec<(String, Vec<u8>)> = match self {
            AssetSource::Embedded => ASSETS
                .iter()
                .map(|a| (a.path.trim_start_matches('/').to_string(), a.raw.to_vec()))
                .collect(),
            AssetSource::Directory(dir) => {
                let mut files = Vec::new();
                read_files(dir, dir, &mut files)?;
                files
            }
        };
        if !self.has_app() {
            return Err(
                "there is no app (index.html) to take the digest of: build it with \
                 `cargo xtask build` (or give --static-dir a built dist folder)"
                    .into(),
            );
        }
        Ok(release_digest(&files))
    }

    /// Answers a GET for `path` (already percent-decoded by the router).
    pub async fn respond(&self, path: &str, request_headers: &HeaderMap) -> Response {
        let path = if path == "/" || path.is_empty() {
            "/index.html"
        } else {
            path
        };
        match self {
            AssetSource::Embedded => match ASSETS.iter().find(|a| a.path == path) {
                Some(asset) => embedded_response(asset, request_headers),
                None => not_found(),
            },
            AssetSource::Directory(dir) => directory_response(dir, path).await,
        }
    }
}

/// The start of the page's release meta (`<meta name="confide-release"
/// content="…">`); 64 lower-case hex digits and `">` follow.
const RELEASE_META: &[u8] = b"<meta name=\"confide-release\" content=\"";

/// `index.html` as the manifest counts it: every release meta value (exactly
/// 64 lower-case hex digits before `">`) replaced by 64 zeros, since the page
/// shows the digest of its own folder. The same as `xtask/src/digest.rs`.
fn normalised_page(html: &[u8]) -> Vec<u8> {
    let mut out = html.to_vec();
    let mut at = 0;
    while let Some(offset) = out[at..]
        .windows(RELEASE_META.len())
        .position(|w| w == RELEASE_META)
    {
        let start = at + offset + RELEASE_META.len();
        let end = start + 64;
        if out.len() >= end + 2
            && out[start..end]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            && &out[end..end + 2] == b"\">"
        {
            out[start..end].fill(b'0');
        }
        at = start;
    }
    out
}

/// SHA-256 (hex) over the manifest of `(name, content)`: one `name  sha256`
/// line per file, sorted by name, `index.html` with its release meta zeroed
/// (`normalised_page`). The same as `xtask/src/digest.rs`.
pub fn release_digest(files: &[(String, Vec<u8>)]) -> String {
    use sha2::{Digest, Sha256};
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut lines: Vec<String> = files
        .iter()
        .map(|(name, content)| {
            let hash = if name == "index.html" {
                Sha256::digest(normalised_page(content))
            } else {
                Sha256::digest(content)
            };
            format!("{name}  {}\n", hex(&hash))
        })
        .collect();
    lines.sort();
    hex(&Sha256::digest(lines.concat().as_bytes()))
}

/// Every file under `dir`, named relative to `root` with `/`.
fn read_files(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            read_files(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let name = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let content =
                std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            out.push((name, content));
        }
    }
    Ok(())
}

/// `confide-relay --print-digest`: prints the release digest of the app it
/// serves (embedded, or the `--static-dir` folder) and exits.
pub fn print_digest(static_dir: Option<&Path>) -> std::process::ExitCode {
    let source = match static_dir {
        Some(dir) => AssetSource::Directory(dir.to_path_buf()),
        None => AssetSource::Embedded,
    };
    match source.release_digest() {
        Ok(digest) => {
            println!("{digest}");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("confide-relay: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn embedded_response(asset: &Asset, request_headers: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", asset.etag);
    if request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        set_cache_headers(response.headers_mut(), asset.path, &etag);
        return response;
    }
    let accepted = request_headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (body, encoding): (&'static [u8], Option<&str>) =
        if accepts(accepted, "br") && asset.brotli.len() < asset.raw.len() {
            (asset.brotli, Some("br"))
        } else if accepts(accepted, "gzip") && asset.gzip.len() < asset.raw.len() {
            (asset.gzip, Some("gzip"))
        } else {
            (asset.raw, None)
        };
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(mime_type(asset.path)),
    );
    if let Some(encoding) = encoding {
        headers.insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static(if encoding == "br" { "br" } else { "gzip" }),
        );
    }
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    set_cache_headers(headers, asset.path, &etag);
    response
}

async fn directory_response(dir: &Path, path: &str) -> Response {
    let relative = path.trim_start_matches('/');
    // Refuse anything that could leave the directory.
    if relative
        .split('/')
        .any(|part| part == ".." || part.is_empty() || part.contains('\\'))
    {
        return not_found();
    }
    match tokio::fs::read(dir.join(relative)).await {
        Ok(bytes) => {
            let mut response = Response::new(Body::from(bytes));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(mime_type(path)),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        Err(_) => not_found(),
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// The page served when the relay was built without the app.
pub fn app_missing() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "confide: this relay was built without the browser app. Run `cargo xtask serve`, \
         or `cargo xtask build` (app and relay).\n",
    )
        .into_response()
}

fn accepts(accept_encoding: &str, coding: &str) -> bool {
    accept_encoding.split(',').any(|part| {
        let mut pieces = part.split(';');
        let name = pieces.next().unwrap_or("").trim();
        let refused = pieces.any(|p| p.trim().replace(' ', "") == "q=0");
        name.eq_ignore_ascii_case(coding) && !refused
    })
}

/// Trunk puts a content hash (a u64 in hex, so up to 16 digits) into the names of files whose
/// content changes with every build; those may be cached for a year.
fn is_content_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-').is_some_and(|(_, hash)| {
        (8..=16).contains(&hash.len()) && hash.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

fn set_cache_headers(headers: &mut HeaderMap, path: &str, etag: &str) {
    let policy = if is_content_hashed(path) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    if let Ok(value) = HeaderValue::from_str(etag) {
        headers.insert(header::ETAG, value);
    }
}

/// MIME type by file extension; browsers refuse to compile WASM served as anything but `application/wasm`.
pub fn mime_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "json" | "webmanifest" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_content_hashed(
            "/confide-client-1a2b3c4d5e6f7a8b_bg.wasm"
        ));
        assert!(is_content_hashed("/style-0123456789abcdef.css"));
        // A hash with a leading zero digit is printed one digit shorter.
        assert!(is_content_hashed("/confide-client-c65f6601003ab70_bg.wasm"));
        assert!(!is_content_hashed("/confide-worker_bg.wasm"));
        assert!(!is_content_hashed("/index.html"));
    }

    #[test]
    fn accept_encoding_parsing() {
        assert!(accepts("gzip, deflate, br", "br"));
        assert!(accepts("gzip;q=1.0", "gzip"));
        assert!(!accepts("gzip;q=0", "gzip"));
        assert!(!accepts("identity", "gzip"));
    }

    /// The same examples are in xtask/src/digest.rs: both sides must agree.
    #[test]
    fn release_digest_of_a_known_example() {
        let files = [
            ("index.html".to_string(), b"<p>hi</p>".to_vec()),
            ("a.js".to_string(), Vec::new()),
        ];
        assert_eq!(
            release_digest(&files),
            "d9cbbc9fe41984033b7a9540371b8e0923a9f402a2b5669fcebcebdb4c16ea4d"
        );
    }

    /// The page's release meta counts as zeros, whatever digest it shows
    /// (xtask/src/digest.rs, `the_release_meta_counts_as_zeros`).
    #[test]
    fn release_digest_counts_the_shown_digest_as_zeros() {
        let meta = "<meta name=\"confide-release\" content=\"";
        let page = |value: &str| format!("<head>{meta}{value}\"></head>").into_bytes();
        let digest = "27e705deee081f52301dd398d49c0808275407aa17f1a6a8ee68e919472e15fe";
        for value in ["0".repeat(64).as_str(), digest] {
            let files = [
                ("index.html".to_string(), page(value)),
                ("a.js".to_string(), Vec::new()),
            ];
            assert_eq!(release_digest(&files), digest);
        }
        // Not 64 lower-case hex digits: counted as it is.
        let files = [
            ("index.html".to_string(), page(&digest.to_uppercase())),
            ("a.js".to_string(), Vec::new()),
        ];
        assert_ne!(release_digest(&files), digest);
    }

    #[test]
    fn wasm_is_application_wasm() {
        assert_eq!(mime_type("/x_bg.wasm"), "application/wasm");
    }
}
