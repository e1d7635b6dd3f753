//! The release digest the page shows: "Version … · Prüfsumme 3f9a 51c2 8e07 9b1d …"
//! (docs/VERIFY.md, "The number in the footer").
//!
//! `cargo xtask seal` writes the digest of the build into the page
//! (`<meta name="confide-release" content="…">`, `xtask/src/digest.rs`); this
//! reads it at runtime. The number is for comparing with what the centre
//! publishes, or for reading it out over the phone: a modified page can show
//! the genuine number, so it proves nothing. Only `cargo xtask verify` checks
//! a deployment.

use yew::prelude::*;

use crate::app::i18n::use_strings;

/// The `content` of the page's `<meta name="{name}">`, if there is one.
fn meta(name: &str) -> Option<String> {
    web_sys::window()?
        .document()?
        .query_selector(&format!("meta[name={name}]"))
        .ok()??
        .get_attribute("content")
}

/// The page's release digest, if it carries a well-formed one.
fn release_digest() -> Option<String> {
    meta("confide-release").filter(|d| {
        d.len() == 64
            && d.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && d.bytes().any(|b| b != b'0')
    })
}

/// `digest` in groups of four hex digits, at most `groups` of them.
fn grouped(digest: &str, groups: usize) -> String {
    digest
        .as_bytes()
        .chunks(4)
        .take(groups)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A small line with the version and the first 16
/// hex digits of the release digest; the full digest as its label and tooltip.
#[component(ReleaseLine)]
pub fn release_line() -> Html {
    let strings = use_strings();
    let Some(digest) = release_digest() else {
        return html! {};
    };
    // The page may name a version; otherwise the app's own (Cargo.toml):
    // the same for every build of a commit, unlike a build time or a path.
    let version = meta("confide-version")
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 40)
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string());
    let version = format!("{} {version} · ", strings.release_version);
    let text = format!(
        "{version}{} {} …",
        strings.release_checksum,
        grouped(&digest, 4)
    );
    let full = format!(
        "{version}{} {}",
        strings.release_checksum,
        grouped(&digest, 16)
    );
    let title = format!("{full}. {}", strings.release_note);
    html! {
        <footer class="release hint small" role="note" aria-label={full} {title}
            data-testid="release">
            { text }
        </footer>
    }
}
