//! Finds or installs the tools the build and the tests need, each in exactly
//! the version the project pins. A tool already present in the right version
//! is reused; nothing is downloaded twice.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{root, run};

/// Trunk 0.22 needs rustc 1.96; 0.21.14 is the newest that builds on 1.95.
const TRUNK_VERSION: &str = "0.21.14";
/// binaryen's wasm-opt from npm (Debian's is too old for current wasm-bindgen output).
const BINARYEN_VERSION: &str = "132";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// geckodriver (drives Firefox in the browser tests), installed with cargo
/// when none is on PATH or in cargo's bin folder.
const GECKODRIVER_VERSION: &str = "0.37.1";

/// Paths and environment for the installed tools.
pub struct Toolbox {
    /// Directories to put in front of PATH (cargo's bin, binaryen's bin).
    path_prefix: Vec<PathBuf>,
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
    pub firefox: PathBuf,
    pub geckodriver: PathBuf,
}

impl Toolbox {
    /// Makes sure every build tool is present; with `for_tests`, the browser too.
    ///
    /// On a fresh machine the browsers come from apt (mostly download and
    /// unpacking) while the cargo tools compile (mostly CPU), so the two run
    /// side by side (docs/BENCHMARKS.md §7).
    pub fn install_all(for_tests: bool) -> Result<Toolbox, String> {
        ensure_wasm_target()?;
        let browsers = if for_tests {
            let packages = missing_browser_packages()?;
            Some(std::thread::spawn(move || install_browsers(packages)))
        } else {
            None
        };
        let cargo_bin = cargo_home().join("bin");
        let cargo_tools = install_cargo_tools(&cargo_bin, for_tests);
        let browsers = browsers
            .map(|thread| {
                thread
                    .join()
                    .map_err(|_| "the browser installation stopped unexpectedly".to_string())?
            })
            .transpose();
        let geckodriver = cargo_tools?;
        let browsers = browsers?;
        let binaryen_bin = ensure_binaryen()?;
        let mut toolbox = Toolbox {
            path_prefix: vec![binaryen_bin, cargo_bin],
            chromium: PathBuf::from("/usr/bin/chromium"),
            chromedriver: PathBuf::from("/usr/bin/chromedriver"),
            firefox: PathBuf::from("/usr/bin/firefox-esr"),
            geckodriver: cargo_home().join("bin/geckodriver"),
        };
        if let Some(Browsers {
            chromium,
            chromedriver,
            firefox,
        }) = browsers
        {
            toolbox.chromium = chromium;
            toolbox.chromedriver = chromedriver;
            toolbox.firefox = firefox;
        }
        if let Some(geckodriver) = geckodriver {
            toolbox.geckodriver = geckodriver;
        }
        Ok(toolbox)
    }

    /// PATH with our tools first, so Trunk finds exactly the pinned versions.
    fn path(&self) -> std::ffi::OsString {
        let mut paths: Vec<PathBuf> = self.path_prefix.clone();
        if let Some(existing) = std::env::var_os("PATH") {
            paths.extend(std::env::split_paths(&existing));
        }
        std::env::join_paths(paths).unwrap_or_default()
    }

    /// `trunk`, configured never to download anything.
    pub fn trunk(&self) -> Command {
        let mut command = Command::new(cargo_home().join("bin/trunk"));
        command
            .env("PATH", self.path())
            .env("TRUNK_OFFLINE", "true")
            .env("TRUNK_SKIP_VERSION_CHECK", "true")
            .env("NO_COLOR", "true");
        command
    }

    /// One of the build tools on our PATH (wasm-bindgen, wasm-opt), in
    /// exactly the version Trunk uses.
    pub fn tool(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("PATH", self.path());
        command
    }

    /// `cargo` set up to run wasm32 test binaries in Node.js with wasm-bindgen's runner.
    pub fn wasm_test(&self) -> Command {
        let mut command = crate::cargo();
        command.env("PATH", self.path()).env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            cargo_home().join("bin/wasm-bindgen-test-runner"),
        );
        command
    }
}

/// Where the browsers the tests drive were found.
struct Browsers {
    chromium: PathBuf,
    chromedriver: PathBuf,
    firefox: PathBuf,
}

/// Trunk and wasm-bindgen, and with `for_tests` geckodriver (whose path it
/// returns), each in its pinned version.
fn install_cargo_tools(cargo_bin: &Path, for_tests: bool) -> Result<Option<PathBuf>, String> {
    let wasm_bindgen_version = locked_version("wasm-bindgen")?;
    ensure_cargo_tool(cargo_bin, "trunk", "trunk", TRUNK_VERSION)?;
    ensure_cargo_tool(
        cargo_bin,
        "wasm-bindgen",
        "wasm-bindgen-cli",
        &wasm_bindgen_version,
    )?;
    for_tests.then(|| ensure_geckodriver(cargo_bin)).transpose()
}

// (what, the programs it may be called, its Debian package)
const BROWSERS: [(&str, &[&str], &str); 3] = [
    ("Chromium", &["chromium", "chromium-browser"], "chromium"),
    ("ChromeDriver", &["chromedriver"], "chromium-driver"),
    ("Firefox ESR", &["firefox-esr", "firefox"], "firefox-esr"),
];
const NETWORK_TOOLS: [(&str, &[&str], &str); 4] = [
    ("ip", &["ip"], "iproute2"),
    ("iptables", &["iptables"], "iptables"),
    ("curl", &["curl"], "curl"),
    // The load balancer of the sharding tests (relay_shard, browser_shard).
    ("HAProxy", &["haproxy"], "haproxy"),
];

/// The Debian packages of the browsers, what the NAT tests build their
/// networks with (`ip`, `iptables`, `curl`) and HAProxy for the sharding
/// tests that are missing here. Fails at once, before anything is
/// installed, when some are missing and we are not root.
fn missing_browser_packages() -> Result<Vec<&'static str>, String> {
    let missing: Vec<(&str, &str)> = BROWSERS
        .iter()
        .chain(NETWORK_TOOLS.iter())
        .filter(|(_, names, _)| find_program(names).is_none())
        .map(|(what, _, package)| (*what, *package))
        .collect();
    let whats: Vec<&str> = missing.iter().map(|(what, _)| *what).collect();
    let packages: Vec<&str> = missing.iter().map(|(_, package)| *package).collect();
    if !missing.is_empty() && !is_root() {
        return Err(format!(
            "the browser tests need {}, which {} missing. Install the Debian \
             package(s) {} (sudo apt-get install {}) and run again.",
            whats.join(", "),
            if whats.len() == 1 { "is" } else { "are" },
            packages
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", "),
            packages.join(" ")
        ));
    }
    Ok(packages)
}

/// Installs `packages` with apt (none: nothing to do) and finds the browsers.
fn install_browsers(packages: Vec<&'static str>) -> Result<Browsers, String> {
    if !packages.is_empty() {
        eprintln!("xtask: installing {} with apt-get", packages.join(", "));
        run(Command::new("apt-get").args(["update", "-q"]))?;
        run(Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&packages)
            .env("DEBIAN_FRONTEND", "noninteractive"))?;
    }
    let [chromium, chromedriver, firefox] = BROWSERS.map(|(_, names, package)| {
        find_program(names).ok_or(format!(
            "apt-get installed {package}, but it is not on PATH"
        ))
    });
    Ok(Browsers {
        chromium: chromium?,
        chromedriver: chromedriver?,
        firefox: firefox?,
    })
}

/// geckodriver from PATH or cargo's bin folder, else `cargo install`ed there
/// (it is a Rust program on crates.io; no root needed).
fn ensure_geckodriver(cargo_bin: &Path) -> Result<PathBuf, String> {
    let works = |path: &Path| output_of(Command::new(path).arg("--version")).is_some();
    let present = find_program(&["geckodriver"])
        .into_iter()
        .chain([cargo_bin.join("geckodriver")])
        .find(|path| path.is_file() && works(path));
    if let Some(path) = present {
        return Ok(path);
    }
    eprintln!(
        "xtask: installing geckodriver {GECKODRIVER_VERSION} (once; this takes a few minutes on two cores)"
    );
    cargo_install("geckodriver", GECKODRIVER_VERSION)?;
    let installed = cargo_bin.join("geckodriver");
    if works(&installed) {
        Ok(installed)
    } else {
        Err(format!(
            "cargo installed geckodriver, but {} does not run",
            installed.display()
        ))
    }
}

pub fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

/// Where tools that are not cargo binaries are kept between runs.
fn tool_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| root().join("target"))
        .join("confide-tools")
}

fn output_of(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn ensure_wasm_target() -> Result<(), String> {
    let installed = output_of(
        Command::new("rustup")
            .args(["target", "list", "--installed"])
            .current_dir(root()),
    )
    .unwrap_or_default();
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// The version of `package` in Cargo.lock, so the CLI always matches the crate.
fn locked_version(package: &str) -> Result<String, String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock"))
        .map_err(|e| format!("cannot read Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == format!("name = \"{package}\"")
            && let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
        {
            return Ok(version.trim_end_matches('"').to_string());
        }
    }
    Err(format!("{package} is not in Cargo.lock"))
}

fn ensure_cargo_tool(
    cargo_bin: &Path,
    binary: &str,
    krate: &str,
    version: &str,
) -> Result<(), String> {
    let present =
        output_of(Command::new(cargo_bin.join(binary)).arg("--version")).unwrap_or_default();
    if present.split_whitespace().any(|word| word == version) {
        return Ok(());
    }
    eprintln!(
        "xtask: installing {krate} {version} (once; this takes several minutes on two cores)"
    );
    cargo_install(krate, version)
}

/// What to do after `cargo install --locked` ended.
#[derive(Debug, PartialEq, Eq)]
enum LockedOutcome {
    Installed,
    /// cargo could not use the tool's own lock file (the registry this
    /// machine reaches lacks a version it names): try once without it.
    RetryUnlocked,
    /// Any other failure (compile error, network, disk): stop with it.
    Failed,
}

/// Decides from the exit status and what cargo printed on stderr. Only the
/// lock file's own resolution errors justify an unlocked retry: those are
/// the messages cargo prints when a locked version is missing or the lock
/// file would have to change.
fn locked_outcome(success: bool, stderr: &str) -> LockedOutcome {
    const LOCK_ERRORS: [&str; 3] = [
        "failed to select a version for",
        "needs to be updated but --locked was passed",
        "(locked to ",
    ];
    if success {
        LockedOutcome::Installed
    } else if LOCK_ERRORS.iter().any(|marker| stderr.contains(marker)) {
        LockedOutcome::RetryUnlocked
    } else {
        LockedOutcome::Failed
    }
}

/// How `cargo install` builds the tools: without the link-time optimisation
/// and single codegen unit that Trunk's own release profile asks for, and at
/// `opt-level = 1` (Trunk: 396 s instead of 522 s on two cores). The tools only
/// start the compiler, wasm-bindgen and wasm-opt and copy files, so how fast
/// they themselves run does not show (docs/BENCHMARKS.md §7).
const QUICK_TOOL_PROFILE: [(&str, &str); 4] = [
    ("CARGO_PROFILE_RELEASE_LTO", "false"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
    ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1"),
    ("CARGO_PROFILE_RELEASE_DEBUG", "false"),
];

/// `cargo install KRATE --version VERSION --locked`, and once more without
/// `--locked` when only the tool's lock file stood in the way (issue 10:
/// wasm-bindgen-cli 0.2.130 locks webpki-roots 1.0.11, which the registry
/// here does not carry).
fn cargo_install(krate: &str, version: &str) -> Result<(), String> {
    let install = || {
        let mut command = Command::new("cargo");
        command
            .args(["install", krate, "--version", version])
            .envs(QUICK_TOOL_PROFILE);
        command
    };
    let mut locked = install();
    locked.arg("--locked");
    let description = format!("{locked:?}");
    eprintln!("xtask: running {description}");
    let output = locked
        .current_dir(root())
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(tee_stderr)
        .map_err(|e| format!("could not start {description}: {e}"))?;
    match locked_outcome(output.0.success(), &output.1) {
        LockedOutcome::Installed => Ok(()),
        LockedOutcome::Failed => Err(format!("{description} failed ({})", output.0)),
        LockedOutcome::RetryUnlocked => {
            eprintln!(
                "xtask: {krate} {version}'s own lock file names a version this registry lacks; \
                 installing it again without --locked"
            );
            run(&mut install())
        }
    }
}

/// Waits for `child`, copying its stderr to ours line by line (the person
/// sees cargo's progress as usual) and keeping it for `locked_outcome`.
fn tee_stderr(
    mut child: std::process::Child,
) -> std::io::Result<(std::process::ExitStatus, String)> {
    use std::io::BufRead as _;
    let mut kept = String::new();
    if let Some(stderr) = child.stderr.take() {
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line?;
            eprintln!("{line}");
            kept.push_str(&line);
            kept.push('\n');
        }
    }
    Ok((child.wait()?, kept))
}

fn ensure_binaryen() -> Result<PathBuf, String> {
    let prefix = tool_cache().join(format!("binaryen-{BINARYEN_VERSION}"));
    let bin = prefix.join("node_modules/.bin");
    let present =
        output_of(Command::new(bin.join("wasm-opt")).arg("--version")).unwrap_or_default();
    if present.contains(&format!("version {BINARYEN_VERSION}")) {
        return Ok(bin);
    }
    if find_program(&["npm"]).is_none() {
        return Err(
            "wasm-opt (binaryen) comes from npm, and npm is missing: install Node.js and npm"
                .into(),
        );
    }
    std::fs::create_dir_all(&prefix)
        .map_err(|e| format!("cannot create {}: {e}", prefix.display()))?;
    eprintln!("xtask: installing binaryen {BINARYEN_VERSION} (wasm-opt) from npm");
    run(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&prefix)
        .arg(format!("binaryen@{BINARYEN_VERSION}")))?;
    Ok(bin)
}

/// A program on `PATH`, or in the sbin folders (`ip` and `iptables` live
/// there, and a non-login shell's `PATH` may lack them).
fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let sbin = ["/usr/sbin", "/sbin"].map(PathBuf::from);
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .chain(sbin.iter().cloned())
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn is_root() -> bool {
    output_of(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

#[cfg(test)]
mod tests {
    use super::{LockedOutcome, locked_outcome};

    /// What cargo printed on this machine for wasm-bindgen-cli 0.2.130 --locked.
    const MISSING_LOCKED_VERSION: &str = "    Updating crates.io index\n\
        error: failed to select a version for the requirement `webpki-roots = \"^1.0.10\"` (locked to 1.0.11)\n\
        candidate versions found which didn't match: 1.0.10, 1.0.9, 1.0.8\n";

    #[test]
    fn a_locked_version_the_registry_lacks_retries_unlocked() {
        assert_eq!(
            locked_outcome(false, MISSING_LOCKED_VERSION),
            LockedOutcome::RetryUnlocked
        );
        assert_eq!(
            locked_outcome(
                false,
                "error: the lock file /x/Cargo.lock needs to be updated but --locked was passed to prevent this"
            ),
            LockedOutcome::RetryUnlocked
        );
    }

    #[test]
    fn other_failures_stop_with_the_error() {
        for stderr in [
            "error[E0308]: mismatched types\nerror: failed to compile `trunk v0.21.14`",
            "error: could not find `trunk` in registry `crates-io` with version `=9.9.9`",
            "error: failed to download from `https://…`: No space left on device",
            "",
        ] {
            assert_eq!(
                locked_outcome(false, stderr),
                LockedOutcome::Failed,
                "{stderr}"
            );
        }
    }

    #[test]
    fn success_is_success_whatever_cargo_printed() {
        assert_eq!(
            locked_outcome(true, MISSING_LOCKED_VERSION),
            LockedOutcome::Installed
        );
    }
}
