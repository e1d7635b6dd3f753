//! `cargo xtask bench frames|first-picture|page-load|cpu`: the in-browser benches (docs/BENCHMARKS.md
//! §9 on). Each builds the app with test hooks into `target/dist-bench`
//! and runs its test in `tests/tests/browser_bench_smoke.rs` with
//! `CONFIDE_BENCH=full`, which prints the tables; without that variable the
//! same tests are the smoke runs of `cargo xtask test`.

use crate::tools::Toolbox;
use crate::{build_app_in, cargo, root, run};

const DIST: &str = "target/dist-bench";
/// A cargo target folder of its own for the WASM: other builds of the app
/// in `target/` (without test hooks) would race for the same output files.
const WASM_TARGET: &str = "target/bench-wasm";

/// Runs the bench test `name` at full size in headless Chromium and Firefox.
/// `release_app`: the page is the release build, embedded in the relay as
/// guests get it (built into `dist/` first, as `cargo xtask build` does).
pub fn run_bench(name: &str, release_app: bool) -> Result<(), String> {
    run_bench_with(name, release_app, &[])
}

/// `cargo xtask bench cpu [--secs N] [--rounds N] [--calls LIST] [--base
/// DIST]`: a call's CPU in three frame modes, measured for N seconds each
/// (60), N rounds (1; every other one in reverse order), for the calls in
/// LIST (`chromium-2,chromium-4,firefox-2`, the default: all three).
/// `--base DIST`: also measure the test build in DIST (built and sealed
/// before, e.g. from another commit), alternating with this one.
pub fn run_cpu(args: &[String]) -> Result<(), String> {
    let usage = "usage: cargo xtask bench cpu [--secs N] [--rounds N] [--calls chromium-2,chromium-4,firefox-2] [--base DIST]";
    let mut vars: Vec<(&str, String)> = vec![("CONFIDE_BENCH_SECS", "60".into())];
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or(usage)?;
        let var = match flag.as_str() {
            "--secs" => "CONFIDE_BENCH_SECS",
            "--rounds" => "CONFIDE_BENCH_ROUNDS",
            "--calls" => "CONFIDE_BENCH_CALLS",
            "--base" => "CONFIDE_BENCH_BASE_DIST",
            _ => return Err(usage.into()),
        };
        if var == "CONFIDE_BENCH_BASE_DIST" {
            let dist = root().join(value);
            if !dist.join("index.html").is_file() {
                return Err(format!("--base {value}: no built app there"));
            }
            vars.retain(|(v, _)| *v != var);
            vars.push((var, dist.display().to_string()));
            continue;
        }
        let number_ok = value.parse::<u64>().is_ok_and(|n| n > 0);
        if var != "CONFIDE_BENCH_CALLS" && !number_ok {
            return Err(format!("{flag} wants a positive number, not {value:?}"));
        }
        vars.retain(|(v, _)| *v != var);
        vars.push((var, value.clone()));
    }
    run_bench_with("cpu", false, &vars)
}

/// [`run_bench`] with more environment variables for the test.
fn run_bench_with(name: &str, release_app: bool, vars: &[(&str, String)]) -> Result<(), String> {
    let tools = Toolbox::install_all(true)?;
    if release_app {
        crate::build_app(&tools, "dist", &[], None)?;
    }
    build_app_in(
        &tools,
        &root(),
        &root().join(WASM_TARGET),
        &root().join(DIST),
        &["test-hooks"],
    )?;
    let mut command = cargo();
    command.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
    run(command
        .args([
            "test",
            "--package",
            "confide-tests",
            "--test",
            "browser_bench_smoke",
            "--",
            "--ignored",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
            name,
        ])
        .env("CONFIDE_BENCH", "full")
        .env(
            "CONFIDE_BENCH_APP",
            if release_app { "embedded" } else { "" },
        )
        .env("CONFIDE_TEST_DIST", root().join(DIST))
        .env("CONFIDE_CHROMIUM", &tools.chromium)
        .env("CONFIDE_CHROMEDRIVER", &tools.chromedriver)
        .env("CONFIDE_FIREFOX", &tools.firefox)
        .env("CONFIDE_GECKODRIVER", &tools.geckodriver))
}
