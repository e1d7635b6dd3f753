//! `cargo xtask repro`: builds the committed sources (HEAD) twice, from two
//! different folders with two different cargo target folders, and compares
//! the two app builds byte for byte. Prints both release digests and names
//! every file that differs; fails when anything differs.
//!
//! The first run compiles everything twice (about 3 minutes each on 2
//! cores); later runs reuse the two target folders under `target/repro-*`.

use std::path::Path;
use std::process::Command;

use crate::tools::Toolbox;
use crate::{build_app_in, digest, root};

pub fn run(args: &[String]) -> Result<(), String> {
    if let Some(extra) = args.first() {
        return Err(format!(
            "`cargo xtask repro` takes no arguments (got {extra:?})"
        ));
    }
    let tools = Toolbox::install_all(false)?;
    let commit = head_commit()?;
    // Two source folders of different depth and name; the target folders
    // stay under target/ so that the next run reuses the compiled crates.
    let builds = [
        (
            std::env::temp_dir().join("confide-repro-a/src"),
            root().join("target/repro-a"),
        ),
        (
            root().join("target/repro-b/another/src"),
            root().join("target/repro-b"),
        ),
    ];
    let mut digests = Vec::new();
    for (source, work) in &builds {
        export_head(source)?;
        let dist = work.join("dist");
        let _ = std::fs::remove_dir_all(&dist);
        let started = std::time::Instant::now();
        let digest = build_app_in(&tools, source, &work.join("target"), &dist, &[])?;
        println!(
            "xtask: built {commit} in {} ({} s): release digest {digest}",
            source.display(),
            started.elapsed().as_secs()
        );
        digests.push((dist, digest));
    }
    let differences = compare(&digests[0].0, &digests[1].0)?;
    println!("\nCommit {commit}");
    println!("  build A: {}  ({})", digests[0].1, digests[0].0.display());
    println!("  build B: {}  ({})", digests[1].1, digests[1].0.display());
    if differences.is_empty() && digests[0].1 == digests[1].1 {
        println!("Reproducible: both builds are byte for byte identical.");
        Ok(())
    } else {
        for line in &differences {
            println!("  differs: {line}");
        }
        Err(format!(
            "the two builds differ in {} file(s); see above. Compare them with \
             `cmp` or `diff` in the two dist folders.",
            differences.len()
        ))
    }
}

fn head_commit() -> Result<String, String> {
    let output = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not run git: {e}"))?;
    if !output.status.success() {
        return Err("`git rev-parse HEAD` failed: run this in a git checkout of confide".into());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// A fresh copy of the committed tree (`git archive HEAD`) in `dir`.
fn export_head(dir: &Path) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let tar = dir.with_extension("tar");
    crate::run(
        Command::new("git")
            .args(["archive", "--format=tar", "-o"])
            .arg(&tar)
            .arg("HEAD"),
    )?;
    crate::run(Command::new("tar").arg("-xf").arg(&tar).arg("-C").arg(dir))?;
    let _ = std::fs::remove_file(&tar);
    Ok(())
}

/// One line per file that is only in one build or differs between them.
pub fn compare(a: &Path, b: &Path) -> Result<Vec<String>, String> {
    let files_a = digest::read_dir_files(a)?;
    let files_b = digest::read_dir_files(b)?;
    let mut names: Vec<&String> = files_a.iter().chain(&files_b).map(|(n, _)| n).collect();
    names.sort();
    names.dedup();
    let find = |files: &[(String, Vec<u8>)], name: &str| -> Option<usize> {
        files.iter().position(|(n, _)| n == name)
    };
    let mut differences = Vec::new();
    for name in names {
        match (find(&files_a, name), find(&files_b, name)) {
            (Some(i), Some(j)) => {
                let (x, y) = (&files_a[i].1, &files_b[j].1);
                if x != y {
                    let first = x.iter().zip(y.iter()).position(|(p, q)| p != q);
                    differences.push(format!(
                        "{name} ({} vs {} bytes, first difference at byte {})",
                        x.len(),
                        y.len(),
                        first.unwrap_or(x.len().min(y.len()))
                    ));
                }
            }
            (Some(_), None) => differences.push(format!("{name} (only in build A)")),
            (None, _) => differences.push(format!("{name} (only in build B)")),
        }
    }
    Ok(differences)
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn differing_and_missing_files_are_named() {
        let base = std::env::temp_dir().join(format!("confide-compare-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("b"));
        let _ = std::fs::create_dir_all(&a);
        let _ = std::fs::create_dir_all(&b);
        for dir in [&a, &b] {
            let _ = std::fs::write(dir.join("same.js"), "x");
        }
        let _ = std::fs::write(a.join("app.wasm"), "abc");
        let _ = std::fs::write(b.join("app.wasm"), "abd");
        let _ = std::fs::write(a.join("only-a.css"), "");
        let differences = compare(&a, &b).unwrap_or_default();
        let _ = std::fs::remove_dir_all(&base);
        assert_eq!(
            differences,
            vec![
                "app.wasm (3 vs 3 bytes, first difference at byte 2)".to_string(),
                "only-a.css (only in build A)".to_string(),
            ]
        );
    }
}
