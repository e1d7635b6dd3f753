//! The guest's module: the app built a second time with the client's feature
//! `guest-only` (`client/src/lib.rs`, `GUEST_MODULE`), which leaves out the
//! counsellor's screens and actions. A guest downloads it instead of the
//! full app (docs/BENCHMARKS.md §5): the page's module choice
//! (`integrity.rs`) picks it for invite links.
//!
//! Trunk builds one main app per page, so this module is built here, after
//! Trunk, with the flags Trunk passes for the app (release, the same rust
//! flags, `--offline` as Trunk runs offline), wasm-bindgen as Trunk calls
//! it (`--target=web --no-typescript`; the app's link sets none of Trunk's
//! other wasm-bindgen options, and [`build`] refuses a link that does) and
//! wasm-opt with the level and parameters of the app's link in
//! `index.html`, and put next to the app in `dist` as
//! `confide-guest-<hash>.js` and `confide-guest-<hash>_bg.wasm`, made smaller
//! as Trunk's modules are (`crate::shrink_module`).

use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::tools::Toolbox;

/// The start of the guest module's two file names in `dist`.
pub const PREFIX: &str = "confide-guest-";

/// The cargo binary of the guest's module (`client/src/bin/guest.rs`).
const BIN: &str = "confide-guest";

/// Trunk options of the app's link that would change its build in ways
/// [`build`] does not copy for the guest's module.
const NOT_PASSED_ON: [&str; 10] = [
    "data-cargo-features",
    "data-cargo-no-default-features",
    "data-cargo-all-features",
    "data-bindgen-target",
    "data-keep-debug",
    "data-no-demangle",
    "data-reference-types",
    "data-weak-refs",
    "data-typescript",
    "data-target-path",
];

/// wasm-opt's level and parameters of the app in `index.html`
/// (`data-wasm-opt`, `data-wasm-opt-params` of the `confide-client` link);
/// an error if that link sets an option of [`NOT_PASSED_ON`].
fn wasm_opt_args(index_html: &str) -> Result<Vec<String>, String> {
    let tag_start = index_html
        .find("data-bin=\"confide-client\"")
        .and_then(|at| index_html[..at].rfind("<link"))
        .ok_or("index.html has no <link data-trunk rel=\"rust\" data-bin=\"confide-client\">")?;
    let tag = &index_html[tag_start..];
    let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
    if let Some(option) = NOT_PASSED_ON.iter().find(|option| tag.contains(*option)) {
        return Err(format!(
            "the app's link in index.html sets {option}, which xtask/src/guest_module.rs \
             does not pass on to the guest's module: add it there"
        ));
    }
    let attribute = |name: &str| {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(&tag[start..start + tag[start..].find('"')?])
    };
    let level =
        attribute("data-wasm-opt").ok_or("the app's link in index.html has no data-wasm-opt")?;
    let mut args = vec![format!("-O{level}")];
    args.extend(
        attribute("data-wasm-opt-params")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string),
    );
    Ok(args)
}

/// Builds the guest's module from `source` with cargo's `target_dir` and
/// `rustflags` (those of Trunk's build) and the extra cargo `features`, and
/// writes its JS and WASM into `dist`.
pub fn build(
    tools: &Toolbox,
    source: &Path,
    target_dir: &Path,
    rustflags: &str,
    dist: &Path,
    features: &[&str],
) -> Result<(), String> {
    let index = std::fs::read_to_string(source.join("index.html"))
        .map_err(|e| format!("cannot read {}: {e}", source.join("index.html").display()))?;
    let opt_args = wasm_opt_args(&index)?;
    let features = std::iter::once("guest-only")
        .chain(features.iter().copied())
        .collect::<Vec<_>>()
        .join(",");
    crate::run(
        crate::cargo()
            .current_dir(source)
            .env("CARGO_TARGET_DIR", target_dir)
            .env("CARGO_ENCODED_RUSTFLAGS", rustflags)
            .env_remove("RUSTFLAGS")
            .args([
                "build",
                "--release",
                "--offline",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .args(["--package", "confide-client", "--bin", BIN, "--features"])
            .arg(&features),
    )?;
    let built = target_dir.join(format!("wasm32-unknown-unknown/release/{BIN}.wasm"));
    let work = target_dir.join("guest-module");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    // The same call as Trunk's for the app (`--target web`, no TypeScript).
    crate::run(
        tools
            .tool("wasm-bindgen")
            .args([
                "--target=web",
                "--no-typescript",
                "--out-name",
                BIN,
                "--out-dir",
            ])
            .arg(&work)
            .arg(&built),
    )?;
    let optimized = work.join("optimized.wasm");
    crate::run(
        tools
            .tool("wasm-opt")
            .arg(format!("--output={}", optimized.display()))
            .args(&opt_args)
            .arg(work.join(format!("{BIN}_bg.wasm"))),
    )?;
    let wasm = std::fs::read(&optimized)
        .map_err(|e| format!("cannot read {}: {e}", optimized.display()))?;
    let js_path = work.join(format!("{BIN}.js"));
    let js = std::fs::read_to_string(&js_path)
        .map_err(|e| format!("cannot read {}: {e}", js_path.display()))?;
    let (js, wasm) = crate::shrink_module(&js, &wasm)?;
    // Named by content, like Trunk's files: a new build never reuses a name.
    let hash = crate::digest::hex(&Sha256::digest(&wasm)[..8]);
    for (name, content) in [
        (format!("{PREFIX}{hash}_bg.wasm"), &wasm[..]),
        (format!("{PREFIX}{hash}.js"), js.as_bytes()),
    ] {
        std::fs::write(dist.join(&name), content)
            .map_err(|e| format!("cannot write {}: {e}", dist.join(&name).display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_opt_settings_come_from_the_apps_link() {
        let html = r#"<link data-trunk rel="css" href="a.css" />
<link data-trunk rel="rust" href="client/Cargo.toml" data-bin="confide-client" data-type="main" data-wasm-opt="z" data-wasm-opt-params="--low-memory-unused --strip-producers" />
<link data-trunk rel="rust" data-bin="confide-worker" data-wasm-opt="s" />"#;
        assert_eq!(
            wasm_opt_args(html),
            Ok(vec![
                "-Oz".to_string(),
                "--low-memory-unused".to_string(),
                "--strip-producers".to_string()
            ])
        );
        assert!(wasm_opt_args("<link data-bin=\"confide-worker\">").is_err());
        let weak_refs = html.replace("data-type=\"main\"", "data-type=\"main\" data-weak-refs");
        let error = wasm_opt_args(&weak_refs).err().unwrap_or_default();
        assert!(error.contains("data-weak-refs"), "{error}");
    }

    #[test]
    fn the_workspace_page_builds_the_app_with_wasm_opt() {
        let html = include_str!("../../index.html");
        let args = wasm_opt_args(html).unwrap_or_default();
        assert_eq!(args.first().map(String::as_str), Some("-Oz"), "{args:?}");
    }
}
