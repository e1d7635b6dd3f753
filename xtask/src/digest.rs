//! The release digest: one SHA-256 that names a build of the browser app.
//!
//! The manifest lists every file of the build output, one line each,
//! `name  sha256-in-hex`, sorted by name (byte order), names relative to the
//! output folder with `/` between folders. The release digest is the SHA-256
//! of that manifest text. The relay computes the same from its embedded copy
//! (`confide-relay --print-digest`, `relay/src/assets.rs`); both are tested
//! against the same example below, so they cannot drift apart.

use std::path::Path;

use sha2::{Digest as _, Sha256};

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The manifest text for `(name, content)` pairs, in any order.
pub fn manifest<N: AsRef<str>, C: AsRef<[u8]>>(files: &[(N, C)]) -> String {
    let mut lines: Vec<String> = files
        .iter()
        .map(|(name, content)| {
            let hash = hex(&Sha256::digest(content.as_ref()));
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

    /// The same example is in relay/src/assets.rs: both sides must agree.
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
