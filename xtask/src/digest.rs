//! The release digest: one SHA-256 that names a build of the browser app.
//!
//! The manifest lists every file of the build output, one line each,
//! `name  sha256-in-hex`, sorted by name (byte order), names relative to the
//! output folder with `/` between folders. The release digest is the SHA-256
//! of that manifest text. The relay computes the same from its embedded copy
//! (`confide-relay --print-digest`, `relay/src/assets.rs`); both are tested
//! against the same examples below, so they cannot drift apart.
//!
//! The page shows the digest (`<meta name="confide-release" content="…">`,
//! read by `client/src/app/components/release.rs`), so the page cannot count
//! with its own bytes: in `index.html`, every value of that meta (exactly 64
//! lower-case hex digits) counts as 64 zeros ([`normalised`]). [`stamp`]
//! writes the real value into a page that has the zeroed one; the digest of
//! the stamped folder is the value in its meta.
//!
//! No dependency but `sha2` (the browser test includes this file).

use std::borrow::Cow;
use std::path::Path;

use sha2::{Digest as _, Sha256};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The start of the page's release meta; its value follows, then `">`.
pub const RELEASE_META: &str = "<meta name=\"confide-release\" content=\"";

/// The value the manifest counts instead of the digest in the release meta.
pub const PLACEHOLDER: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The byte ranges of the release meta values in `html`: after each
/// [`RELEASE_META`], exactly 64 lower-case hex digits followed by `">`.
fn release_values(html: &[u8]) -> Vec<std::ops::Range<usize>> {
    let meta = RELEASE_META.as_bytes();
    let mut found = Vec::new();
    let mut at = 0;
    while let Some(offset) = html[at..].windows(meta.len()).position(|w| w == meta) {
        let start = at + offset + meta.len();
        let end = start + PLACEHOLDER.len();
        if html.len() >= end + 2
            && html[start..end]
                .iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            && &html[end..end + 2] == b"\">"
        {
            found.push(start..end);
        }
        at = start;
    }
    found
}

/// A file's content as the manifest counts it: for `index.html`, every
/// release meta value replaced by [`PLACEHOLDER`]; every other file as it is.
pub fn normalised<'a>(name: &str, content: &'a [u8]) -> Cow<'a, [u8]> {
    if name != "index.html" {
        return Cow::Borrowed(content);
    }
    let values = release_values(content);
    if values.is_empty() {
        return Cow::Borrowed(content);
    }
    let mut out = content.to_vec();
    for range in values {
        out[range].copy_from_slice(PLACEHOLDER.as_bytes());
    }
    Cow::Owned(out)
}

/// The release digest a page shows (the first release meta value), if any.
pub fn shown(html: &[u8]) -> Option<String> {
    release_values(html)
        .first()
        .map(|range| String::from_utf8_lossy(&html[range.clone()]).into_owned())
}

/// `html` with every release meta value set to `digest` (64 hex digits).
pub fn with_digest(html: &[u8], digest: &str) -> Vec<u8> {
    let mut out = html.to_vec();
    for range in release_values(html) {
        out[range].copy_from_slice(digest.as_bytes());
    }
    out
}

/// Writes the release digest of `dir` into its `index.html`'s release meta
/// (which must be there) and returns it. Changing `index.html` afterwards
/// (`cargo xtask relay-url`) needs another stamp.
pub fn stamp(dir: &Path) -> Result<String, String> {
    let path = dir.join("index.html");
    let html = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if shown(&html).is_none() {
        return Err(format!(
            "{} has no <meta name=\"confide-release\"> to write the digest into \
             (sealed by an older xtask? build again)",
            path.display()
        ));
    }
    let (_, digest) = of_dir(dir)?;
    std::fs::write(&path, with_digest(&html, &digest))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(digest)
}

/// The manifest text for `(name, content)` pairs, in any order
/// (`index.html` [`normalised`]).
pub fn manifest<N: AsRef<str>, C: AsRef<[u8]>>(files: &[(N, C)]) -> String {
    let mut lines: Vec<String> = files
        .iter()
        .map(|(name, content)| {
            let content = normalised(name.as_ref(), content.as_ref());
            let hash = hex(&Sha256::digest(&content));
            format!("{}  {hash}\n", name.as_ref())
        })
        .collect();
    lines.sort();
    lines.concat()
}

/// The release digest of a manifest.
pub fn of_manifest(manifest: &str) -> String {
    hex(&Sha256::digest(manifest.as_bytes()))
}

/// The first 16 hex digits in groups of four, as the app shows it.
pub fn short(digest: &str) -> String {
    digest
        .as_bytes()
        .chunks(4)
        .take(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every file under `dir`, as (name relative to `dir` with `/`, content).
pub fn read_dir_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), String> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry
                .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
                .path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let name = path
                    .strip_prefix(root)
                    .map_err(|e| e.to_string())?
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                let content = std::fs::read(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                out.push((name, content));
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.sort();
    Ok(files)
}

/// The manifest and release digest of the build output in `dir`.
pub fn of_dir(dir: &Path) -> Result<(String, String), String> {
    let files = read_dir_files(dir)?;
    if files.is_empty() {
        return Err(format!(
            "{} is empty: build the app first (cargo xtask build)",
            dir.display()
        ));
    }
    let manifest = manifest(&files);
    let digest = of_manifest(&manifest);
    Ok((manifest, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same examples are in relay/src/assets.rs: both sides must agree.
    #[test]
    fn manifest_and_digest_of_a_known_example() {
        let files = [("index.html", "<p>hi</p>"), ("a.js", "")];
        let manifest = manifest(&files);
        assert_eq!(
            manifest,
            "a.js  e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
             index.html  0a4735281db700223af63abc387c351f64ea6961a1ef955631df08d96169e772\n"
        );
        let digest = of_manifest(&manifest);
        assert_eq!(
            digest,
            "d9cbbc9fe41984033b7a9540371b8e0923a9f402a2b5669fcebcebdb4c16ea4d"
        );
        assert_eq!(short(&digest), "d9cb bc9f e419 8403");
    }

    /// A page with the release meta: its value counts as zeros, so the
    /// stamped page and the zeroed one have the same digest. The same
    /// example is in relay/src/assets.rs.
    #[test]
    fn the_release_meta_counts_as_zeros() {
        let zeroed = format!("<head>{RELEASE_META}{PLACEHOLDER}\"></head>");
        let files = [("index.html", zeroed.clone()), ("a.js", String::new())];
        let digest = of_manifest(&manifest(&files));
        assert_eq!(
            digest,
            "27e705deee081f52301dd398d49c0808275407aa17f1a6a8ee68e919472e15fe"
        );
        let stamped =
            String::from_utf8(with_digest(zeroed.as_bytes(), &digest)).unwrap_or_default();
        assert_eq!(stamped, format!("<head>{RELEASE_META}{digest}\"></head>"));
        assert_eq!(shown(stamped.as_bytes()), Some(digest.clone()));
        let stamped_files = [("index.html", stamped.clone()), ("a.js", String::new())];
        assert_eq!(of_manifest(&manifest(&stamped_files)), digest);
        // Only the page's meta, only 64 lower-case hex digits, only there.
        let elsewhere = [("other.html", stamped.clone()), ("a.js", String::new())];
        assert_ne!(
            manifest(&elsewhere),
            manifest(&[("other.html", zeroed.clone()), ("a.js", String::new())])
        );
        for odd in [
            format!("<head>{RELEASE_META}{}\"></head>", digest.to_uppercase()),
            format!("<head>{RELEASE_META}{}\"></head>", &digest[1..]),
            format!("<head>{RELEASE_META}{digest}0\"></head>"),
            format!("<head>{RELEASE_META}{digest}\" x></head>"),
        ] {
            assert_eq!(shown(odd.as_bytes()), None, "{odd}");
            assert_ne!(
                of_manifest(&manifest(&[
                    ("index.html", odd.clone()),
                    ("a.js", String::new())
                ])),
                digest,
                "{odd}"
            );
        }
    }

    /// The round trip on a folder: the digest of the stamped output is the
    /// value in its meta, and stamping again changes nothing.
    #[test]
    fn a_stamped_folder_shows_its_own_digest() {
        let dir = std::env::temp_dir().join(format!("confide-stamp-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::create_dir_all(&dir);
        let page = format!("<html><head>{RELEASE_META}{PLACEHOLDER}\"></head></html>");
        let _ = std::fs::write(dir.join("index.html"), &page);
        let _ = std::fs::write(dir.join("app.js"), "go()");
        let before = of_dir(&dir).map(|(_, d)| d);
        let stamped = stamp(&dir);
        let html = std::fs::read(dir.join("index.html")).unwrap_or_default();
        let after = of_dir(&dir).map(|(_, d)| d);
        let again = stamp(&dir);
        let _ = std::fs::write(dir.join("index.html"), "<html></html>");
        let without_meta = stamp(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(stamped.is_ok(), "{stamped:?}");
        assert_eq!(stamped, before);
        assert_eq!(shown(&html), stamped.clone().ok());
        assert_eq!(after, stamped);
        assert_eq!(again, stamped);
        assert!(without_meta.is_err());
    }

    #[test]
    fn order_of_input_does_not_matter() {
        let a = manifest(&[("b", "1"), ("a", "2")]);
        let b = manifest(&[("a", "2"), ("b", "1")]);
        assert_eq!(a, b);
        assert!(a.starts_with("a  "));
    }

    #[test]
    fn a_folder_is_read_with_relative_slash_names() {
        let dir = std::env::temp_dir().join(format!("confide-digest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub"))
            .map_err(|e| e.to_string())
            .ok();
        std::fs::write(dir.join("index.html"), "<p>hi</p>").ok();
        std::fs::write(dir.join("sub/a.js"), "").ok();
        let (manifest, digest) = of_dir(&dir).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            manifest,
            super::manifest(&[("index.html", "<p>hi</p>"), ("sub/a.js", "")])
        );
        assert_eq!(digest.len(), 64);
    }
}
