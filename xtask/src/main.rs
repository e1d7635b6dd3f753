//! confide's developer commands. Two of them are all a new machine needs:
//!
//! - `cargo xtask serve`: install missing build tools, build the app in release
//!   mode, start the relay on 127.0.0.1:8080 and print the URL to open.
//! - `cargo xtask test`: install missing test tools, then run every check and
//!   test: formatting, clippy (native and wasm32), native tests, wasm tests and
//!   the real-browser tests.
//!
//! Tools are installed once and reused: each is checked by version first.

mod bench;
mod digest;
mod fresh;
mod guest_module;
mod integrity;
mod relay_url;
mod repro;
mod short_imports;
mod tools;
mod trim;
mod verify;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use tools::Toolbox;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("test") => test(&args[1..]),
        Some("build") => build(&args[1..]).map(|_| ()),
        Some("install") => Toolbox::install_all(true).map(|_| ()),
        Some("bench") => bench::run(&args[1..]),
        Some("fresh-check") => fresh::run(&args[1..]),
        Some("repro") => repro::run(&args[1..]),
        Some("verify") => verify::run(&args[1..]),
        Some("seal") if args.len() == 2 => integrity::seal(Path::new(&args[1])),
        Some("relay-url") if args.len() == 3 => relay_url::check_relay_url(&args[2])
            .and_then(|()| set_relay(Path::new(&args[1]), &args[2])),
        _ => {
            eprintln!(
                "usage: cargo xtask <command>\n\n\
                 serve [relay options]  build the app and run the relay on http://127.0.0.1:8080/\n\
                 test                   run every check and test (installs missing tools)\n\
                 build [--relay-url URL]  build the app (dist/) and the relay in release mode\n\
                 build --test-hooks     build only the browser tests' app (target/dist-test)\n\
                 bench [WHAT]           benchmarks, docs/BENCHMARKS.md (none: crypto and relay)\n\
                 \x20                      WHAT: crypto, relay, turn, shard, signalling, frames,\n\
                 \x20                      first-picture, page-load, cpu\n\
                 install                install the build and test tools only\n\
                 repro                  build HEAD twice in two folders and compare byte for byte\n\
                 verify URL [--dist DIR]  check that a server serves exactly this commit's app\n\
                 seal DIR               make a fresh Trunk output check what it loads (build does this)\n\
                 relay-url DIR URL      make a sealed build talk to the relay at URL (build --relay-url does this)\n\
                 fresh-check [DIR]      both commands above in a fresh clone with empty tool caches"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nxtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's folder).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Runs a command in the workspace root, failing with its name if it fails.
pub fn run(command: &mut Command) -> Result<(), String> {
    let description = format!("{command:?}");
    eprintln!("xtask: running {description}");
    if command.get_current_dir().is_none() {
        command.current_dir(root());
    }
    let started = std::time::Instant::now();
    let status = command
        .status()
        .map_err(|e| format!("could not start {description}: {e}"))?;
    // Each step's time, so a CI log shows where a run's minutes went.
    let took = started.elapsed().as_secs();
    eprintln!("xtask: that took {}:{:02}", took / 60, took % 60);
    if status.success() {
        Ok(())
    } else {
        Err(format!("{description} failed ({status})"))
    }
}

/// `cargo` without incremental caches: the full test run builds each crate
/// once, and the caches would only cost disk (about a gigabyte more for the
/// test build, enough to fill a small CI disk). Quick edit-and-test loops
/// with plain `cargo test` keep them.
pub fn cargo() -> Command {
    let mut command = Command::new("cargo");
    command.env("CARGO_INCREMENTAL", "0");
    command
}

/// Builds the browser app with Trunk into `dist` (or another folder) and
/// prints its release digest (docs/VERIFY.md). With `relay`, the page talks
/// to that relay instead of its own origin (`relay_url.rs`).
fn build_app(
    tools: &Toolbox,
    dist: &str,
    features: &[&str],
    relay: Option<&str>,
) -> Result<(), String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let dist = root().join(dist);
    let mut digest = build_app_in(tools, &root(), &target, &dist, features)?;
    if let Some(url) = relay {
        set_relay(&dist, url)?;
        digest = digest::of_dir(&dist)?.1;
        println!("The app talks to the relay at {url} (docs/RELAY.md).");
    }
    // The budget is about what guests download: the build without test hooks.
    report_download_size(&dist, features.is_empty())?;
    if features.is_empty() {
        let (manifest, _) = digest::of_dir(&dist)?;
        println!("Manifest (name  sha256; docs/VERIFY.md):\n{manifest}");
        println!(
            "Release digest: {digest}\n  (short: {}; `confide-relay --print-digest` prints the same)\n",
            digest::short(&digest)
        );
    } else {
        println!("Digest of this test build (not a release): {digest}\n");
    }
    Ok(())
}

/// Writes the relay setting and the page's own Content-Security-Policy into
/// a sealed build's `index.html` (`relay_url.rs`).
fn set_relay(dist: &Path, url: &str) -> Result<(), String> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let path = dist.join("index.html");
    let html = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let hashes: Vec<String> = relay_url::inline_scripts(&html)
        .into_iter()
        .map(|script| {
            format!(
                "sha256-{}",
                base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(script))
            )
        })
        .collect();
    let html = relay_url::with_relay(&html, url, &hashes)?;
    std::fs::write(&path, html).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    digest::stamp(dist).map(drop)
}

/// `--relay-url URL` (or `--relay-url=URL`) among `cargo xtask build`'s arguments.
fn relay_arg(args: &[String]) -> Result<Option<String>, String> {
    let mut relay = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if let Some(url) = arg.strip_prefix("--relay-url=") {
            relay = Some(url.to_string());
        } else if arg == "--relay-url" {
            relay = Some(rest.next().ok_or("--relay-url needs a URL")?.clone());
        } else {
            return Err(format!("unknown option for build: {arg}"));
        }
    }
    if let Some(url) = &relay {
        relay_url::check_relay_url(url)?;
    }
    Ok(relay)
}

/// What `.cargo/config.toml` gives wasm32 builds. `CARGO_ENCODED_RUSTFLAGS`
/// replaces it, so the app build repeats it (a test checks they agree).
const WASM_RUSTFLAGS: &[&str] = &["--cfg=web_sys_unstable_apis"];

/// Rust flags for the app: the config's, plus path remapping, so that no
/// folder of this machine (sources, cargo home, target) ends up in the WASM.
/// The last matching remap wins: the target folder may lie in the sources.
fn app_rustflags(source: &Path, target_dir: &Path) -> String {
    let mut flags: Vec<String> = WASM_RUSTFLAGS.iter().map(|f| f.to_string()).collect();
    for (from, to) in [
        (source.to_path_buf(), "/confide"),
        (tools::cargo_home(), "/cargo"),
        (target_dir.to_path_buf(), "/target"),
    ] {
        flags.push(format!("--remap-path-prefix={}={to}", from.display()));
    }
    flags.join("\u{1f}")
}

/// Builds the app from the sources in `source` (a checkout of this workspace)
/// with cargo's `target_dir` into `dist`, makes the page check what it loads
/// (`integrity.rs`) and returns the release digest of `dist`.
pub fn build_app_in(
    tools: &Toolbox,
    source: &Path,
    target_dir: &Path,
    dist: &Path,
    features: &[&str],
) -> Result<String, String> {
    let mut trunk = tools.trunk();
    trunk
        .current_dir(source)
        .env("CARGO_TARGET_DIR", target_dir)
        .env("CARGO_ENCODED_RUSTFLAGS", app_rustflags(source, target_dir))
        .env_remove("RUSTFLAGS")
        .args(["build", "--release", "--dist"])
        .arg(dist);
    if !features.is_empty() {
        trunk.args(["--features", &features.join(",")]);
    }
    run(&mut trunk)?;
    shrink_trunk_output(dist)?;
    let rustflags = app_rustflags(source, target_dir);
    guest_module::build(tools, source, target_dir, &rustflags, dist, features)?;
    integrity::seal(dist)?;
    let (_, digest) = digest::of_dir(dist)?;
    Ok(digest)
}

/// One module's files after wasm-bindgen and wasm-opt, made smaller without
/// changing what they do (docs/BENCHMARKS.md §5): short import names in both,
/// the glue trimmed. Trunk's modules and the guest's module go through it.
pub fn shrink_module(js: &str, wasm: &[u8]) -> Result<(String, Vec<u8>), String> {
    let (js, wasm) = short_imports::rewrite(js, wasm)?;
    Ok((trim::js(&js)?, wasm))
}

/// [`shrink_module`] for each module Trunk wrote into `dist` (`X_bg.wasm`
/// with its glue `X.js`), and its style sheets trimmed (`trim::style_sheet`).
fn shrink_trunk_output(dist: &Path) -> Result<(), String> {
    let files = digest::read_dir_files(dist)?;
    let text = |name: &str| -> Result<String, String> {
        let (_, content) = files
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| format!("Trunk wrote no {name} into {}", dist.display()))?;
        String::from_utf8(content.clone()).map_err(|_| format!("{name} is not UTF-8"))
    };
    let write = |name: &str, content: &[u8]| {
        let path = dist.join(name);
        std::fs::write(&path, content).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    let mut index = text("index.html")?;
    for (name, content) in &files {
        if let Some(module) = name.strip_suffix("_bg.wasm") {
            let glue = format!("{module}.js");
            let (js, wasm) =
                shrink_module(&text(&glue)?, content).map_err(|e| format!("{module}: {e}"))?;
            write(&glue, js.as_bytes())?;
            write(name, &wasm)?;
        } else if name.ends_with(".css") {
            let sheet = trim::style_sheet(name, &text(name)?, &mut index)?;
            write(name, sheet.as_bytes())?;
        }
    }
    write("index.html", index.as_bytes())
}

/// The most a guest's page may download, gzip: the page, its style sheet,
/// the guest's module and the frame-crypto worker (docs/BENCHMARKS.md §5:
/// 315 686 B without the counsellor's texts, plus 5 %, rounded up).
const GUEST_BUDGET: usize = 332_000;
/// The most the counsellor's page (the full app instead of the guest's
/// module) may download, gzip (374 895 B, plus 5 %, rounded up; 375 926 B
/// since the counsellor's texts are a table of their own).
const COUNSELLOR_BUDGET: usize = 394_000;

/// Prints the gzip size of every file of `dist` and what a guest's page and
/// the counsellor's page download of them (each loads one of the two app
/// modules, `guest_module.rs`); with `enforce_budget`, fails above either budget.
fn report_download_size(dist: &Path, enforce_budget: bool) -> Result<(), String> {
    use std::io::Write as _;
    let mut entries: Vec<_> = std::fs::read_dir(dist)
        .map_err(|e| format!("cannot read {}: {e}", dist.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    let (mut guest, mut counsellor) = (0usize, 0usize);
    if enforce_budget {
        println!("\nWhat the pages download (gzip -9):");
    } else {
        println!("\nTest build with test hooks (not served to guests; no budget), gzip -9:");
    }
    for path in entries {
        let raw =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&raw).map_err(|e| e.to_string())?;
        let gz = encoder.finish().map_err(|e| e.to_string())?.len();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (for_guest, for_counsellor) = (
            !name.starts_with("confide-client-"),
            !name.starts_with(guest_module::PREFIX),
        );
        guest += if for_guest { gz } else { 0 };
        counsellor += if for_counsellor { gz } else { 0 };
        let whose = match (for_guest, for_counsellor) {
            (true, true) => "",
            (true, false) => " (guest)",
            _ => " (counsellor)",
        };
        println!(
            "  {:<48} {:>9} B raw {:>9} B gzip",
            format!("{name}{whose}"),
            raw.len(),
            gz
        );
    }
    for (who, total, budget) in [
        ("a guest's page", guest, GUEST_BUDGET),
        ("the counsellor's page", counsellor, COUNSELLOR_BUDGET),
    ] {
        println!(
            "  {:<56} {:>9} {:>9} B gzip ({} KB; budget {} KB)",
            format!("total, {who}"),
            "",
            total,
            total / 1000,
            budget / 1000
        );
        if enforce_budget && total > budget {
            return Err(format!(
                "{who} downloads {total} B gzip, over its budget of {budget} B"
            ));
        }
    }
    println!();
    Ok(())
}

/// The relay's `--print-digest` (its embedded copy of `dist/`) equals the
/// digest of `dist/` itself; every file's hash is in the page.
fn check_embedded_digest(relay_bin: &Path) -> Result<(), String> {
    let dist = root().join("dist");
    integrity::check(&dist)?;
    let (_, expected) = digest::of_dir(&dist)?;
    let output = Command::new(relay_bin)
        .arg("--print-digest")
        .current_dir(root())
        .output()
        .map_err(|e| format!("could not run confide-relay --print-digest: {e}"))?;
    let printed = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if printed != expected {
        return Err(format!(
            "confide-relay --print-digest says {printed:?}, but dist/ has {expected}: \
             the relay embeds another build ({}). Rebuild with `cargo xtask build`.",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    println!("xtask: the relay embeds dist/ (release digest {expected})");
    Ok(())
}

fn build(args: &[String]) -> Result<Toolbox, String> {
    if args == ["--test-hooks"] {
        // Only the test build the browser tests use (`cargo xtask test` makes it too).
        let tools = Toolbox::install_all(false)?;
        build_app(&tools, "target/dist-test", &["test-hooks"], None)?;
        return Ok(tools);
    }
    let relay = relay_arg(args)?;
    let tools = Toolbox::install_all(false)?;
    build_app(&tools, "dist", &[], relay.as_deref())?;
    run(Command::new("cargo").args(["build", "--release", "--package", "confide-relay"]))?;
    Ok(tools)
}

/// The relay's own options, as given after `cargo xtask serve`. The README
/// writes `cargo xtask serve -- --help`; cargo passes that `--` on, and the
/// relay would refuse it as an argument.
fn relay_args(args: &[String]) -> &[String] {
    match args.first() {
        Some(first) if first == "--" => &args[1..],
        _ => args,
    }
}

fn serve(args: &[String]) -> Result<(), String> {
    let args = relay_args(args);
    build(&[])?;
    let relay = root().join("target/release/confide-relay");
    let (key_file, mut relay_args) = serve_counsellor_key(args)?;
    relay_args.extend(args.iter().cloned());
    // A sign-in link for local use, from the same key file as the relay.
    let scheme = if flag_value(args, "--tls-cert").is_some() {
        "https"
    } else {
        "http"
    };
    let listen = flag_value(args, "--listen")
        .or_else(|| std::env::var("CONFIDE_LISTEN").ok())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let output = Command::new(&relay)
        .arg("--counsellor-key-file")
        .arg(&key_file)
        .args(["counsellor", "add", "Local counsellor", "--url"])
        .arg(format!("{scheme}://{listen}/"))
        .output()
        .map_err(|e| format!("cannot run {}: {e}", relay.display()))?;
    if !output.status.success() {
        return Err(format!(
            "confide-relay counsellor add failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let link = text.lines().last().unwrap_or_default();
    println!(
        "\nconfide is starting. Open the URL below in Chromium, Firefox or Safari. Stop with Ctrl-C.\n\
         Counsellors: open this sign-in link once (key: {}):\n    {link}\n",
        key_file.display()
    );
    run(Command::new(relay).args(relay_args))
}

/// The value of `--flag VALUE` or `--flag=VALUE` in the relay's arguments.
fn flag_value(args: &[String], flag: &str) -> Option<String> {
    let prefix = format!("{flag}=");
    args.iter().enumerate().find_map(|(i, arg)| {
        if arg == flag {
            args.get(i + 1).cloned()
        } else {
            arg.strip_prefix(&prefix).map(str::to_string)
        }
    })
}

/// The counsellor key file for `serve`: the one given (flag or environment),
/// else `target/confide-dev/counsellor.key`, made once (so sign-ins survive a
/// restart). Returns it and the flags to pass for it.
fn serve_counsellor_key(args: &[String]) -> Result<(PathBuf, Vec<String>), String> {
    if let Some(given) = flag_value(args, "--counsellor-key-file")
        .or_else(|| std::env::var("CONFIDE_COUNSELLOR_KEY_FILE").ok())
    {
        return Ok((PathBuf::from(given), Vec::new()));
    }
    let file = root().join("target/confide-dev/counsellor.key");
    if !file.exists() {
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut random| std::io::Read::read_exact(&mut random, &mut bytes))
            .map_err(|e| format!("no random bytes for the counsellor key: {e}"))?;
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        write_private(&file, &hex)?;
    }
    let flags = vec![
        "--counsellor-key-file".to_string(),
        file.display().to_string(),
    ];
    Ok((file, flags))
}

/// Writes a secret readable by its owner only.
fn write_private(file: &Path, text: &str) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(file)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
        .map_err(|e| format!("{}: {e}", file.display()))
}

/// A clean clone's full test run grows `target/` to about 1.9 GB (measured
/// with `du` after `CI=true cargo xtask test`); with some margin:
const TEST_BUILD_BYTES: u64 = 2_500_000_000;

/// Kilobytes from the first number in the second line of a command's output
/// (`df -Pk` and `du -sk` both print that way, with a header line for df).
fn kilobytes(command: &mut Command, line: usize, column: usize) -> Option<u64> {
    let output = command.output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.lines()
        .nth(line)?
        .split_whitespace()
        .nth(column)?
        .parse()
        .ok()
}

/// Says up front when the disk is too full for the test build, instead of
/// letting the compiler stop half-way with "No space left on device".
fn check_free_disk() -> Result<(), String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let existing = target.ancestors().find(|p| p.exists()).unwrap_or(&target);
    let Some(free) = kilobytes(Command::new("df").arg("-Pk").arg(existing), 1, 3) else {
        return Ok(()); // no df: nothing to say
    };
    let built = kilobytes(Command::new("du").arg("-sk").arg(&target), 0, 0).unwrap_or(0);
    let needed = (TEST_BUILD_BYTES / 1024).saturating_sub(built);
    if free < needed {
        return Err(format!(
            "only {} MB free on the disk of {}, and the test build needs about {} MB more. \
             Free some space (or set CARGO_TARGET_DIR to a larger disk) and run again.",
            free / 1024,
            existing.display(),
            needed / 1024
        ));
    }
    Ok(())
}

fn test(_args: &[String]) -> Result<(), String> {
    check_free_disk()?;
    let tools = Toolbox::install_all(true)?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args([
        "clippy",
        "--package",
        "confide-client",
        "--package",
        "confide-shared",
        "--target",
        "wasm32-unknown-unknown",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The release app (what users get) is embedded in the relay; the browser
    // tests use a build with test hooks, served from its own folder.
    build_app(&tools, "dist", &[], None)?;
    build_app(&tools, "target/dist-test", &["test-hooks"], None)?;
    // The release relay: the siege and browser tests run it, and so does
    // relay_turn (CONFIDE_RELAY_BIN), which would otherwise build a debug
    // relay of its own (about 1.5 minutes on two cores).
    run(cargo().args(["build", "--release", "--package", "confide-relay"]))?;
    let relay_bin = root().join("target/release/confide-relay");
    run(cargo()
        .args(["test", "--workspace"])
        .env("CONFIDE_RELAY_BIN", &relay_bin))?;
    check_embedded_digest(&relay_bin)?;
    run(tools.wasm_test().args([
        "test",
        "--package",
        "confide-shared",
        "--target",
        "wasm32-unknown-unknown",
        "--test",
        "wasm",
    ]))?;
    let mut browser = cargo();
    browser
        .args([
            "test",
            // The same package selection as the native tests above, so cargo
            // reuses that build instead of compiling a second feature set.
            "--workspace",
            // Every browser test file runs even after a failure, so one run
            // reports every failing test.
            "--no-fail-fast",
            "--test",
            "browser",
            "--test",
            "browser_rtc",
            "--test",
            "browser_entry",
            "--test",
            "browser_attack",
            "--test",
            "browser_firefox",
            "--test",
            "browser_pairings",
            "--test",
            "browser_mute",
            "--test",
            "browser_guest_safety",
            "--test",
            "browser_counselling_day",
            "--test",
            "browser_knock",
            "--test",
            "browser_appointments",
            "--test",
            "browser_planned",
            "--test",
            "browser_voice",
            "--test",
            "browser_nat",
            "--test",
            "browser_integrity",
            "--test",
            "browser_two_origins",
            "--test",
            "relay_siege",
            // Three relay processes behind HAProxy (issue 19).
            "--test",
            "relay_shard",
            "--test",
            "browser_shard",
            // Smoke runs of the in-browser benches (`cargo xtask bench frames`).
            "--test",
            "browser_bench_smoke",
            "--",
            "--ignored",
            "--test-threads",
            "1",
        ])
        .env("CONFIDE_TEST_DIST", root().join("target/dist-test"))
        .env("CONFIDE_CHROMIUM", &tools.chromium)
        .env("CONFIDE_CHROMEDRIVER", &tools.chromedriver)
        .env("CONFIDE_FIREFOX", &tools.firefox)
        .env("CONFIDE_GECKODRIVER", &tools.geckodriver)
        .env("CONFIDE_RELAY_BIN", &relay_bin);
    run(&mut browser)?;
    println!("\nxtask: every check and test passed.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::relay_args;

    /// `.cargo/config.toml`'s wasm32 rustflags are all in WASM_RUSTFLAGS
    /// (CARGO_ENCODED_RUSTFLAGS replaces them for the app build).
    #[test]
    fn the_app_build_keeps_the_configured_rustflags() {
        let config =
            std::fs::read_to_string(super::root().join(".cargo/config.toml")).unwrap_or_default();
        let line = config
            .lines()
            .skip_while(|l| !l.starts_with("[target.wasm32-unknown-unknown]"))
            .find(|l| l.trim_start().starts_with("rustflags"))
            .unwrap_or_default();
        let flags: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
        assert!(
            !flags.is_empty(),
            "no wasm32 rustflags found in .cargo/config.toml"
        );
        for flag in flags {
            assert!(
                super::WASM_RUSTFLAGS.contains(&flag),
                "{flag} is missing from WASM_RUSTFLAGS"
            );
        }
    }

    #[test]
    fn the_separator_before_relay_options_is_not_passed_on() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(relay_args(&args(&["--", "--help"])), args(&["--help"]));
        assert_eq!(
            relay_args(&args(&["--listen", "127.0.0.1:0"])),
            args(&["--listen", "127.0.0.1:0"])
        );
        assert_eq!(relay_args(&args(&["--"])), args(&[]));
        assert_eq!(relay_args(&[]), args(&[]));
    }
}
