//! The app on one origin (the centre's own web space), the relay on another
//! (docs/RELAY.md, "App from the centre's web space, relay on the rented
//! server"). `cargo xtask build --relay-url wss://relay.example/ws` writes two
//! tags into the sealed page, right after `<meta charset>`:
//!
//! - `<meta name="confide-relay" content="wss://…/ws">`: the client connects
//!   there instead of to its own origin (`client/src/session/relay.rs`);
//! - `<meta http-equiv="Content-Security-Policy" …>`: the relay's policy for
//!   its own pages (`relay/src/http.rs`), with `connect-src` allowing that
//!   relay, so that a static host that sends no policy still gets one.
//!
//! Both are in `index.html`, whose SHA-256 is a line of the manifest: the
//! release digest covers the setting. The page checks the other files as
//! always; nothing else changes.
//!
//! No dependencies (the browser test includes this file to prepare its copy
//! of the test build the same way).

/// Checks a relay URL for the page: `wss://` (or `ws://`, for loopback
/// tests) and nothing that could leave the attribute or the policy.
pub fn check_relay_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("wss://")
        .or_else(|| url.strip_prefix("ws://"))
        .ok_or_else(|| format!("the relay URL must start with wss:// (or ws://): {url:?}"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("the relay URL has no host: {url:?}"));
    }
    if let Some(bad) = url
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~:/[]%@".contains(*c)))
    {
        return Err(format!("the relay URL may not contain {bad:?}: {url:?}"));
    }
    Ok(())
}

/// The page's own policy: the relay's (`relay/src/http.rs`), without
/// `frame-ancestors` (ignored in a `<meta>`), connecting to `relay_url` too.
pub fn content_security_policy(relay_url: &str, script_hashes: &[String]) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for hash in script_hashes {
        script_src.push_str(&format!(" '{hash}'"));
    }
    format!(
        "default-src 'none'; script-src {script_src}; worker-src 'self'; \
         connect-src 'self' {relay_url}; img-src 'self' data: blob:; \
         media-src 'self' blob: mediastream:; style-src 'self'; font-src 'self'; \
         manifest-src 'self'; base-uri 'none'; form-action 'none'"
    )
}

/// The contents of the inline `<script>` elements of `html` (the policy
/// allows them by their SHA-256; same rule as `relay/src/inline_scripts.rs`).
pub fn inline_scripts(html: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        rest = &rest[start..];
        let Some(tag_end) = rest.find('>') else { break };
        let tag = &rest[..tag_end];
        let body_start = tag_end + 1;
        let Some(close) = rest[body_start..].find("</script>") else {
            break;
        };
        if !tag.contains(" src=") {
            found.push(&rest[body_start..body_start + close]);
        }
        rest = &rest[body_start + close..];
    }
    found
}

/// `html` with the relay setting and the page's policy after `<meta charset>`.
pub fn with_relay(html: &str, relay_url: &str, script_hashes: &[String]) -> Result<String, String> {
    check_relay_url(relay_url)?;
    if html.contains("name=\"confide-relay\"") {
        return Err("the page already names a relay (build again first)".into());
    }
    let charset = html
        .find("<meta charset")
        .ok_or("the page has no <meta charset> to put the relay setting after")?;
    let end = charset
        + html[charset..]
            .find('>')
            .ok_or("the page's <meta charset> is not closed")?
        + 1;
    let tags = format!(
        "\n    <meta name=\"confide-relay\" content=\"{relay_url}\">\
         \n    <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        content_security_policy(relay_url, script_hashes)
    );
    let mut out = html.to_string();
    out.insert_str(end, &tags);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_and_the_policy_go_after_the_charset() {
        let html = "<html><head><meta charset=\"utf-8\"/><script type=\"module\">go()</script>\
                    <script src=\"/a.js\"></script></head></html>";
        assert_eq!(inline_scripts(html), vec!["go()"]);
        let hashes = vec!["sha256-abc=".to_string()];
        let out = with_relay(html, "wss://relay.example/ws", &hashes).unwrap_or_default();
        let meta = out.find("name=\"confide-relay\" content=\"wss://relay.example/ws\"");
        let policy = out.find("connect-src 'self' wss://relay.example/ws;");
        let script = out.find("<script");
        assert!(meta.is_some() && policy.is_some(), "{out}");
        assert!(meta < script && policy < script, "{out}");
        assert!(out.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-abc='"));
        assert!(!out.contains("unsafe-inline") && !out.contains("frame-ancestors"));
        assert!(with_relay(&out, "wss://relay.example/ws", &hashes).is_err());
    }

    #[test]
    fn only_plain_websocket_urls() {
        assert!(check_relay_url("wss://relay.example/ws").is_ok());
        assert!(check_relay_url("ws://127.0.0.1:8080/ws").is_ok());
        assert!(check_relay_url("https://relay.example/ws").is_err());
        assert!(check_relay_url("wss:///ws").is_err());
        assert!(check_relay_url("wss://relay.example/ws\" onload=\"x").is_err());
        assert!(check_relay_url("wss://relay.example/ws; script-src *").is_err());
    }
}
