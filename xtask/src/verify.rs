//! `cargo xtask verify URL [--dist DIR]`: downloads what a browser loads from
//! a confide deployment (the page, and every file it or the worker loader
//! refers to, plus every file of the local build), recomputes the release
//! digest and compares each file with a local build of this checkout. Names
//! each file that differs, is missing or is extra, and fails if any does.
//! The number the served page shows (`<meta name="confide-release">`) is
//! reported too, marked when it is not the digest of what is served (the
//! number alone proves nothing: a modified page can show any).
//!
//! Downloads use `curl` (with `--compressed`: the bytes compared are the
//! decoded ones a browser sees).

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest as _, Sha256};

use crate::tools::Toolbox;
use crate::{build_app_in, digest, root};

pub fn run(args: &[String]) -> Result<(), String> {
    let usage = "usage: cargo xtask verify URL [--dist DIR]\n  \
                 URL   the deployment, e.g. https://beratung.example.org/ or http://127.0.0.1:8080/\n  \
                 DIR   compare with this build output instead of building this checkout";
    let mut url = None;
    let mut dist = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--dist" => dist = Some(PathBuf::from(rest.next().ok_or_else(|| usage.to_string())?)),
            other if url.is_none() && !other.starts_with('-') => url = Some(other.to_string()),
            _ => return Err(usage.into()),
        }
    }
    let url = url.ok_or_else(|| usage.to_string())?;
    let local = match dist {
        Some(dir) => dir,
        None => build_reference()?,
    };
    let report = verify(&url, &local)?;
    println!("\nServer {url}");
    println!("  release digest served: {}", report.served_digest);
    // A page that shows another number than its files give differs from
    // the build anyway (its own bytes, or other files): listed below.
    let shown = match report.shown_digest.as_deref() {
        None => "(no release digest)".to_string(),
        Some(d) if d == report.served_digest => format!("{d}  (the same)"),
        Some(d) => format!("{d}  (NOT the digest of what it serves)"),
    };
    println!("  the page shows:        {shown}");
    println!(
        "  release digest built:  {}  ({})",
        report.local_digest,
        local.display()
    );
    if report.differences.is_empty() {
        println!("OK: the server serves exactly this build, file for file.");
        Ok(())
    } else {
        for line in &report.differences {
            println!("  {line}");
        }
        Err(format!(
            "{url} does not serve this build: {} file(s) differ (listed above). \
             Check that the local checkout is the deployed commit (ask the operator; \
             docs/VERIFY.md); if it is, the server delivers modified code.",
            report.differences.len()
        ))
    }
}

/// Builds this checkout's app into target/verify/dist (reusing target/).
fn build_reference() -> Result<PathBuf, String> {
    let changed = Command::new("git")
        .args(["status", "--porcelain", "--"])
        .args([
            "client",
            "shared",
            "index.html",
            "Trunk.toml",
            "Cargo.toml",
            "Cargo.lock",
            ".cargo",
        ])
        .current_dir(root())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if !changed.is_empty() {
        eprintln!(
            "xtask: warning: the app's sources have uncommitted changes; the reference \
             build includes them:\n{changed}"
        );
    }
    let tools = Toolbox::install_all(false)?;
    let dist = root().join("target/verify/dist");
    let _ = std::fs::remove_dir_all(&dist);
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    build_app_in(&tools, &root(), &target, &dist, &[])?;
    Ok(dist)
}

pub struct Report {
    pub served_digest: String,
    pub local_digest: String,
    /// The release digest the served page shows, if it shows one.
    pub shown_digest: Option<String>,
    /// One line per file that differs, is missing on the server or is extra.
    pub differences: Vec<String>,
}

/// Downloads the deployment at `url` and compares it with the build in `local`.
pub fn verify(url: &str, local: &Path) -> Result<Report, String> {
    let base = if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    };
    let local_files = digest::read_dir_files(local)?;
    if !local_files.iter().any(|(n, _)| n == "index.html") {
        return Err(format!(
            "{} has no index.html: build the app first (cargo xtask build) or give --dist",
            local.display()
        ));
    }
    let index = download(&base)?
        .ok_or_else(|| format!("{base} answers 404: is this a confide deployment?"))?;
    let mut served: Vec<(String, Vec<u8>)> = vec![("index.html".into(), index)];
    let mut missing = Vec::new();
    // Everything the page refers to, what those refer to, and every file of the local build.
    let mut queue: Vec<String> = local_files.iter().map(|(n, _)| n.clone()).collect();
    let mut next = 0;
    let mut scanned = 0;
    loop {
        while scanned < served.len() {
            let (name, content) = &served[scanned];
            // The page and the worker loader name what the browser loads. The
            // app's and the worker's JS (wasm-bindgen's output) quote module
            // names that are no files; a changed JS differs from the build anyway.
            if name.ends_with(".html") || name.ends_with("_loader.js") {
                let dir = name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                for reference in references(&String::from_utf8_lossy(content), dir) {
                    if !queue.contains(&reference) {
                        queue.push(reference);
                    }
                }
            }
            scanned += 1;
        }
        let Some(name) = queue.get(next).cloned() else {
            break;
        };
        next += 1;
        if name == "index.html" || served.iter().any(|(n, _)| *n == name) {
            continue;
        }
        match download(&format!("{base}{name}"))? {
            Some(content) => served.push((name, content)),
            None => missing.push(name),
        }
    }
    served.sort();

    let sha = |c: &[u8]| digest::hex(&Sha256::digest(c));
    let mut differences = Vec::new();
    for (name, content) in &local_files {
        match served.iter().find(|(n, _)| n == name) {
            Some((_, remote)) if remote != content => differences.push(format!(
                "differs: {name} (served sha256 {}, built {})",
                sha(remote),
                sha(content)
            )),
            Some(_) => {}
            None => differences.push(format!("missing on the server: {name}")),
        }
    }
    for (name, _) in &served {
        if !local_files.iter().any(|(n, _)| n == name) {
            differences.push(format!(
                "extra: {name} (served and referenced by the page, not in this build)"
            ));
        }
    }
    for name in missing {
        if !local_files.iter().any(|(n, _)| *n == name) {
            differences.push(format!(
                "missing on the server: {name} (referenced by the served page)"
            ));
        }
    }
    // A static host may send no header; the page's own <meta> policy counts
    // then (`cargo xtask build --relay-url` writes one). Both are enforced.
    let mut policies = header_values(&base, "content-security-policy")?;
    if let Some((_, page)) = served.iter().find(|(n, _)| n == "index.html") {
        policies.extend(meta_policies(&String::from_utf8_lossy(page)));
    }
    differences.extend(csp_problems(&policies));
    let served_digest = digest::of_manifest(&digest::manifest(&served));
    let shown_digest = served
        .iter()
        .find(|(n, _)| n == "index.html")
        .and_then(|(_, page)| digest::shown(page));
    Ok(Report {
        served_digest,
        local_digest: digest::of_manifest(&digest::manifest(&local_files)),
        shown_digest,
        differences,
    })
}

/// The values of response header `name` for a GET of `url`.
fn header_values(url: &str, name: &str) -> Result<Vec<String>, String> {
    let output = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--compressed",
            "--max-time",
            "60",
            "--output",
            "/dev/null",
            "--dump-header",
            "-",
            url,
        ])
        .output()
        .map_err(|e| format!("could not run curl (install it: apt-get install curl): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "could not download {url}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(key, _)| key.trim().eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim().to_string())
        .collect())
}

/// The policies of `<meta http-equiv="Content-Security-Policy" content="…">` in a page.
fn meta_policies(html: &str) -> Vec<String> {
    const TAG: &str = "<meta http-equiv=\"Content-Security-Policy\" content=\"";
    html.match_indices(TAG)
        .filter_map(|(at, _)| {
            let rest = &html[at + TAG.len()..];
            rest.find('"').map(|end| rest[..end].to_string())
        })
        .collect()
}

/// What is wrong with the page's Content-Security-Policy, one line each: it
/// must exist and allow scripts only from the origin, by hash, and WASM
/// compilation (`'wasm-unsafe-eval'`); no other `'unsafe-…'`, no hosts.
pub fn csp_problems(policies: &[String]) -> Vec<String> {
    if policies.is_empty() {
        return vec!["csp: the page is served without a Content-Security-Policy".into()];
    }
    let mut problems = Vec::new();
    for policy in policies {
        let directives: Vec<&str> = policy.split(';').map(str::trim).collect();
        let directive = directives
            .iter()
            .find(|d| d.split_whitespace().next() == Some("script-src"))
            .or_else(|| {
                directives
                    .iter()
                    .find(|d| d.split_whitespace().next() == Some("default-src"))
            });
        let Some(directive) = directive else {
            problems.push(format!("csp: no script-src or default-src in {policy:?}"));
            continue;
        };
        for source in directive.split_whitespace().skip(1) {
            let allowed = ["'self'", "'none'", "'wasm-unsafe-eval'"].contains(&source)
                || ["'sha256-", "'sha384-", "'sha512-"]
                    .iter()
                    .any(|p| source.starts_with(p));
            if !allowed {
                problems.push(format!("csp: scripts are also allowed from {source}"));
            }
        }
    }
    problems
}

/// The body at `url`, or None for 404. Other failures are errors.
fn download(url: &str) -> Result<Option<Vec<u8>>, String> {
    let output = Command::new("curl")
        .args([
            "--silent",
            "--show-error",
            "--compressed",
            "--max-time",
            "120",
            "--write-out",
            "\n%{http_code}",
            url,
        ])
        .output()
        .map_err(|e| format!("could not run curl (install it: apt-get install curl): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "could not download {url}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let mut body = output.stdout;
    let split = body.iter().rposition(|b| *b == b'\n').unwrap_or(0);
    let code = String::from_utf8_lossy(&body[split..]).trim().to_string();
    body.truncate(split);
    match code.as_str() {
        "200" => Ok(Some(body)),
        "404" => Ok(None),
        other => Err(format!("{url} answered HTTP {other}")),
    }
}

/// Same-origin file names quoted in `text` (`"/x.js"`, `'./y.wasm'`), as
/// names relative to the site root; `dir` is the folder of the file `text`
/// came from (for `./` names).
pub fn references(text: &str, dir: &str) -> Vec<String> {
    let mut found = Vec::new();
    for quote in ['"', '\''] {
        let mut parts = text.split(quote);
        // Every second part lies between quotes.
        parts.next();
        for (i, part) in parts.enumerate() {
            if i % 2 != 0 {
                continue;
            }
            let part = part.split(['?', '#']).next().unwrap_or("");
            let name = if let Some(rest) = part.strip_prefix("./") {
                if dir.is_empty() {
                    rest.to_string()
                } else {
                    format!("{dir}/{rest}")
                }
            } else if let Some(rest) = part.strip_prefix('/') {
                if rest.starts_with('/') {
                    continue; // another origin
                }
                rest.to_string()
            } else {
                continue;
            };
            let file = name.rsplit('/').next().unwrap_or("");
            if file.contains('.')
                && !name.contains(char::is_whitespace)
                && !name.split('/').any(|p| p == "..")
                && !found.contains(&name)
            {
                found.push(name);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::TcpListener;

    #[test]
    fn references_in_a_sealed_page_and_a_worker_loader() {
        let html = r#"<link rel="stylesheet" href="/style-1.css" integrity="x"/>
<script type="importmap">{"integrity":{"/app-1.js":"sha384-a"}}</script>
<script type="module">const files = [["/app-1_bg.wasm","h"],["/w_loader.js","h"]];
await import("/app-1.js"); fetch('//evil.example/x.js'); x = "a b.js";</script>"#;
        assert_eq!(
            references(html, ""),
            vec!["style-1.css", "app-1.js", "app-1_bg.wasm", "w_loader.js"]
        );
        let loader = r#"importScripts("./w.js");wasm_bindgen({module_or_path:fetch("./w_bg.wasm",{integrity:"sha384-b"})})"#;
        assert_eq!(references(loader, ""), vec!["w.js", "w_bg.wasm"]);
    }

    #[test]
    fn a_weak_or_missing_csp_is_reported() {
        let policy = |p: &str| vec![p.to_string()];
        assert!(
            csp_problems(&policy(
                "default-src 'none'; script-src 'self' 'wasm-unsafe-eval' 'sha256-abc='; worker-src 'self'"
            ))
            .is_empty()
        );
        assert_eq!(
            csp_problems(&policy(
                "default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.example"
            )),
            vec![
                "csp: scripts are also allowed from 'unsafe-inline'".to_string(),
                "csp: scripts are also allowed from https://cdn.example".to_string()
            ]
        );
        assert_eq!(csp_problems(&[]).len(), 1);
        let page = "<head><meta charset=\"utf-8\">\n<meta http-equiv=\"Content-Security-Policy\" \
                    content=\"default-src 'none'; script-src 'self' 'sha256-x='\"></head>";
        assert_eq!(
            meta_policies(page),
            vec!["default-src 'none'; script-src 'self' 'sha256-x='".to_string()]
        );
        assert!(csp_problems(&meta_policies(page)).is_empty());
        assert_eq!(csp_problems(&policy("default-src *")).len(), 1);
    }

    /// What the test server sends: a policy `verify` accepts.
    const CSP: &str =
        "Content-Security-Policy: default-src 'none'; script-src 'self' 'sha256-x='\r\n";

    /// A minimal HTTP/1.0 file server for the tests: serves `dir`, `/` as index.html.
    fn serve(dir: PathBuf) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").ok();
        let address = listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.to_string())
            .unwrap_or_default();
        std::thread::spawn(move || {
            let Some(listener) = listener else { return };
            for mut stream in listener.incoming().flatten() {
                let mut line = String::new();
                let _ = BufReader::new(&stream).read_line(&mut line);
                let path = line
                    .split(' ')
                    .nth(1)
                    .unwrap_or("/")
                    .trim_start_matches('/');
                let path = if path.is_empty() { "index.html" } else { path };
                let response = match std::fs::read(dir.join(path)) {
                    Ok(body) => {
                        let mut r = format!(
                            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n{CSP}\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend(body);
                        r
                    }
                    Err(_) => b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
                };
                let _ = stream.write_all(&response);
            }
        });
        format!("http://{address}/")
    }

    pub fn sample_dist(dir: &Path) {
        let _ = std::fs::create_dir_all(dir);
        let files: [(&str, &str); 5] = [
            (
                "index.html",
                r#"<link href="/style-1.css"><script type="module">import("/app-1.js"); fetch("/app-1_bg.wasm"); fetch("/w_loader.js")</script>"#,
            ),
            ("style-1.css", "body{}"),
            ("app-1.js", "export default 1"),
            ("app-1_bg.wasm", "\0asm"),
            ("w_loader.js", r#"importScripts("./w.js")"#),
        ];
        for (name, content) in files {
            let _ = std::fs::write(dir.join(name), content);
        }
        let _ = std::fs::write(dir.join("w.js"), "worker");
        let page = format!(
            "<head>{}{}\"></head>",
            digest::RELEASE_META,
            digest::PLACEHOLDER
        );
        let _ = std::fs::write(dir.join("index.html"), page + files[0].1);
        let _ = digest::stamp(dir);
    }

    #[test]
    fn an_identical_server_passes_and_a_changed_file_is_named() {
        let base = std::env::temp_dir().join(format!("confide-verify-{}", std::process::id()));
        let (local, served) = (base.join("local"), base.join("served"));
        sample_dist(&local);
        sample_dist(&served);
        let url = serve(served.clone());

        let report = verify(&url, &local);
        let report = report
            .as_ref()
            .map(|r| (&r.differences, &r.served_digest, &r.local_digest));
        match report {
            Ok((differences, served_digest, local_digest)) => {
                assert!(differences.is_empty(), "{differences:?}");
                assert_eq!(served_digest, local_digest);
            }
            Err(error) => panic!("{error}"),
        }
        let shown = verify(&url, &local).map(|r| (r.shown_digest, r.served_digest));
        match shown {
            Ok((shown, served_digest)) => assert_eq!(shown, Some(served_digest)),
            Err(error) => panic!("{error}"),
        }

        // One byte changed in the worker's JS, which only the worker loader names.
        let _ = std::fs::write(served.join("w.js"), "workeR");
        let _ = std::fs::remove_file(served.join("style-1.css"));
        let report = verify(&url, &local);
        let _ = std::fs::remove_dir_all(&base);
        match report {
            Ok(report) => {
                assert_ne!(report.served_digest, report.local_digest);
                // The page still shows the genuine number: proves nothing.
                assert_eq!(report.shown_digest, Some(report.local_digest.clone()));
                assert_eq!(report.differences.len(), 2, "{:?}", report.differences);
                assert!(report.differences[0].starts_with("missing on the server: style-1.css"));
                assert!(report.differences[1].starts_with("differs: w.js"));
            }
            Err(error) => panic!("{error}"),
        }
    }
}
