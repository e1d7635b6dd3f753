//! `cargo xtask fresh-check`: the README's two commands as a new machine runs
//! them, without touching this developer's own tools.
//!
//! CI runs where every tool is already installed, so it cannot see a broken
//! install step (issue 10). This command clones the committed HEAD into a
//! temporary folder and runs `cargo xtask serve` (until the relay says
//! "listening") and `cargo xtask test` there with an empty `CARGO_HOME` for
//! tools and an empty tool cache. It shares only what a new machine of this
//! kind has too: the rustup toolchain, and (to spare the registry) cargo's
//! download cache. Apt packages are the machine's own and are not removed.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::root;

/// A line of a phase's output worth a timestamp in the summary: everything
/// the xtask itself says (tool installs, an unlocked retry, each command),
/// and the relay's "listening".
fn is_milestone(line: &str) -> bool {
    line.starts_with("xtask: ") || line.starts_with("confide relay listening")
}

struct Phase {
    name: &'static str,
    took: Duration,
    ok: bool,
    milestones: Vec<(Duration, String)>,
}

pub fn run(args: &[String]) -> Result<(), String> {
    let base = match args.first() {
        Some(dir) => PathBuf::from(dir),
        None => std::env::temp_dir().join(format!("confide-fresh-{}", std::process::id())),
    };
    if base.exists() {
        return Err(format!(
            "{} exists already; name an empty folder",
            base.display()
        ));
    }
    let repo = base.join("repo");
    let cargo_home = base.join("cargo-home");
    let cache = base.join("cache");
    let logs = base.join("logs");
    for dir in [&cargo_home, &cache, &logs] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let dirty = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(root())
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(false);
    if dirty {
        eprintln!("xtask: note: uncommitted changes are not part of the check (it clones HEAD)");
    }
    let env = FreshEnv::new(&cargo_home, &cache)?;
    let started = Instant::now();
    let mut phases = Vec::new();

    let clone_start = Instant::now();
    let cloned = Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(root())
        .arg(&repo)
        .status()
        .map_err(|e| format!("cannot run git: {e}"))?
        .success();
    phases.push(Phase {
        name: "git clone",
        took: clone_start.elapsed(),
        ok: cloned,
        milestones: Vec::new(),
    });
    if cloned {
        let serve = run_phase(
            "cargo xtask serve (to \"listening\")",
            env.command(&repo, &["xtask", "serve", "--", "--listen", "127.0.0.1:0"]),
            &logs.join("serve.log"),
            Some("confide relay listening on "),
        )?;
        let serve_ok = serve.ok;
        phases.push(serve);
        if serve_ok {
            phases.push(run_phase(
                "cargo xtask test",
                env.command(&repo, &["xtask", "test"]),
                &logs.join("test.log"),
                None,
            )?);
        }
    }

    println!("\nfresh-machine check of {}", head_commit(&repo));
    println!("  folder: {} (logs in logs/)", base.display());
    println!("  CARGO_HOME for tools: empty at start; tool cache (XDG_CACHE_HOME): empty at start");
    for phase in &phases {
        println!(
            "  {:<40} {:>8}  {}",
            phase.name,
            minutes(phase.took),
            if phase.ok { "ok" } else { "FAILED" }
        );
        for (at, line) in &phase.milestones {
            println!("      +{:>8}  {line}", minutes(*at));
        }
    }
    println!("  total {}", minutes(started.elapsed()));
    if phases.iter().all(|p| p.ok) && phases.len() == 3 {
        println!("xtask: fresh-machine check passed");
        Ok(())
    } else {
        Err(format!(
            "the fresh-machine check failed; see the logs in {}",
            logs.display()
        ))
    }
}

/// The environment of a machine that never built confide.
struct FreshEnv {
    cargo_home: PathBuf,
    cache: PathBuf,
    rustup_home: PathBuf,
    path: std::ffi::OsString,
}

impl FreshEnv {
    fn new(cargo_home: &Path, cache: &Path) -> Result<FreshEnv, String> {
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .ok_or("HOME is not set")?;
        let own_cargo_home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".cargo"));
        let rustup_home = std::env::var_os("RUSTUP_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".rustup"));
        // The download cache only: crates already fetched need not be
        // fetched again, and no installed tool comes with it.
        let registry = own_cargo_home.join("registry");
        if registry.is_dir() {
            symlink(&registry, &cargo_home.join("registry"))?;
        }
        // rustup's proxies (cargo, rustc, …) in a folder of their own, so the
        // developer's cargo bin folder, where the tools live, is off PATH.
        let proxies = cargo_home.join("rustup-proxies");
        std::fs::create_dir_all(&proxies).map_err(|e| e.to_string())?;
        for name in [
            "cargo",
            "rustc",
            "rustup",
            "rustfmt",
            "cargo-fmt",
            "cargo-clippy",
            "clippy-driver",
            "rustdoc",
        ] {
            let proxy = own_cargo_home.join("bin").join(name);
            if proxy.exists() {
                symlink(&proxy, &proxies.join(name))?;
            }
        }
        let own_bin = own_cargo_home.join("bin");
        let rest = std::env::var_os("PATH").unwrap_or_default();
        let mut paths = vec![cargo_home.join("bin"), proxies];
        paths.extend(std::env::split_paths(&rest).filter(|p| *p != own_bin));
        let path = std::env::join_paths(paths).map_err(|e| e.to_string())?;
        Ok(FreshEnv {
            cargo_home: cargo_home.to_path_buf(),
            cache: cache.to_path_buf(),
            rustup_home,
            path,
        })
    }

    fn command(&self, repo: &Path, args: &[&str]) -> Command {
        let mut command = Command::new("cargo");
        command
            .args(args)
            .current_dir(repo)
            .env("CARGO_HOME", &self.cargo_home)
            .env("RUSTUP_HOME", &self.rustup_home)
            .env("XDG_CACHE_HOME", &self.cache)
            .env("PATH", &self.path)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO");
        command
    }
}

fn symlink(from: &Path, to: &Path) -> Result<(), String> {
    std::os::unix::fs::symlink(from, to)
        .map_err(|e| format!("cannot link {} to {}: {e}", to.display(), from.display()))
}

/// Runs one phase with stdout and stderr into `log` (and ours), noting the
/// time of each milestone. With `until`, the phase ends successfully at the
/// first line that starts so, and the process group is stopped.
fn run_phase(
    name: &'static str,
    command: Command,
    log: &Path,
    until: Option<&str>,
) -> Result<Phase, String> {
    use std::os::unix::process::CommandExt as _;
    eprintln!("xtask: fresh-check phase: {name}");
    let mut file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let start = Instant::now();
    // One stream for both, in the order the phase printed them.
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" 2>&1")
        .arg(command.get_program())
        .args(command.get_args())
        .envs(
            command
                .get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO")
        .current_dir(command.get_current_dir().unwrap_or(Path::new(".")))
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {name}: {e}"))?;
    let mut milestones = Vec::new();
    let mut reached = false;
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(file, "{line}");
            println!("{line}");
            if is_milestone(&line) {
                milestones.push((start.elapsed(), shorten(&line)));
            }
            if until.is_some_and(|prefix| line.starts_with(prefix)) {
                reached = true;
                let _ = Command::new("kill")
                    .args(["-TERM", "--", &format!("-{}", child.id())])
                    .status();
                break;
            }
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let ok = if until.is_some() {
        reached
    } else {
        status.success()
    };
    Ok(Phase {
        name,
        took: start.elapsed(),
        ok,
        milestones,
    })
}

/// Milestone lines name whole commands with every argument: keep the gist
/// (no quotes, no `NAME=value` environment in front, programs by file name).
fn shorten(line: &str) -> String {
    let cleaned: String = line
        .replace('"', "")
        .split(' ')
        .filter(|word| !word.contains('=') || word.starts_with('-'))
        .map(|word| {
            if word.starts_with('/') {
                word.rsplit('/').next().unwrap_or(word)
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    match cleaned.char_indices().nth(110) {
        Some((cut, _)) => format!("{}…", &cleaned[..cut]),
        None => cleaned,
    }
}

fn minutes(d: Duration) -> String {
    let s = d.as_secs();
    format!("{}:{:02}", s / 60, s % 60)
}

/// The commit the check cloned (the developer's HEAD may move meanwhile).
fn head_commit(repo: &Path) -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(repo)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{is_milestone, shorten};

    #[test]
    fn milestones_are_the_xtasks_own_lines_shortened() {
        assert!(is_milestone(
            "xtask: wasm-bindgen-cli 0.2.130's own lock file names a version this registry lacks"
        ));
        assert!(is_milestone(
            "confide relay listening on http://127.0.0.1:1/"
        ));
        assert!(!is_milestone(
            "warning: package `x` is yanked, consider running without --locked"
        ));
        assert_eq!(
            shorten(
                r#"xtask: running NO_COLOR="true" PATH="/a:/b" "/tmp/h/bin/trunk" "build" "--release""#
            ),
            "xtask: running trunk build --release"
        );
    }
}
