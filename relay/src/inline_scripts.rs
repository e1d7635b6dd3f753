//! CSP hashes of inline `<script>` elements. Trunk's index.html starts the
//! app with one inline module script; the Content-Security-Policy allows
//! exactly that script by its SHA-256 instead of `'unsafe-inline'`.
//!
//! Used at run time for the page actually served (embedded or `--static-dir`).

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// `sha256-<base64>` for each inline script (no `src` attribute) in `html`.
pub fn script_hashes(html: &str) -> Vec<String> {
    inline_scripts(html)
        .into_iter()
        .map(|script| {
            let digest = Sha256::digest(script.as_bytes());
            format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .collect()
}

/// Contents of `<script>` elements without a `src` attribute.
fn inline_scripts(html: &str) -> Vec<&str> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_only_inline_scripts() {
        let html = "<script src=\"/a.js\"></script><script type=\"module\">alert(1)</script>";
        // sha256("alert(1)"), base64.
        assert_eq!(
            script_hashes(html),
            vec!["sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=".to_string()]
        );
        assert!(script_hashes("<p>no scripts</p>").is_empty());
    }
}
