//! `cargo xtask verify` against a real relay on loopback (`--static-dir`):
//! OK when it serves exactly the local build; names the file and fails when
//! one byte of a served file changed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use confide_relay::config::Config;

/// A small Trunk-shaped output (page, app JS and WASM, worker loader, JS and
/// WASM, style sheet), sealed by `xtask seal` as a real build is.
fn sealed_build(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    let files: [(&str, &[u8]); 9] = [
        (
            "index.html",
            br#"<!doctype html>
<html><head>
<link rel="stylesheet" href="/style-1.css" integrity="sha384-myyg/hQ74aSgjBBvVME/QXAXEkT4Y9dHbVQ5C0lIyGpldvNLJV2IWc5ElXbqLi06"/>
<script type="module">
import init, * as bindings from '/app-1.js';
const wasm = await init({ module_or_path: '/app-1_bg.wasm' });
window.wasmBindings = bindings;
</script>
<link rel="modulepreload" href="/app-1.js" crossorigin="anonymous" integrity="sha384-x"><link rel="preload" href="/app-1_bg.wasm" crossorigin="anonymous" integrity="sha384-y" as="fetch" type="application/wasm"></head>
<body></body></html>
"#,
        ),
        ("style-1.css", b"body{}"),
        ("app-1.js", b"export default function(){}"),
        ("app-1_bg.wasm", b"\0asm main"),
        ("confide-guest-2.js", b"export default function(){}"),
        ("confide-guest-2_bg.wasm", b"\0asm guest"),
        ("w.js", b"var wasm_bindgen;"),
        ("w_bg.wasm", b"\0asm worker"),
        (
            "w_loader.js",
            br#"importScripts("./w.js");wasm_bindgen("./w_bg.wasm");"#,
        ),
    ];
    for (name, content) in files {
        std::fs::write(dir.join(name), content)
            .unwrap_or_else(|e| panic!("cannot write {name}: {e}"));
    }
    let status = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("seal")
        .arg(dir)
        .status()
        .unwrap_or_else(|e| panic!("cannot run xtask: {e}"));
    assert!(status.success(), "xtask seal failed");
}

fn copy(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("cannot create {}: {e}", to.display()));
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        std::fs::copy(entry.path(), to.join(entry.file_name()))
            .unwrap_or_else(|e| panic!("cannot copy {}: {e}", entry.path().display()));
    }
}

fn verify(url: &str, local: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["verify", url, "--dist"])
        .arg(local)
        .output()
        .unwrap_or_else(|e| panic!("cannot run xtask: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_for_the_same_build_and_names_a_changed_file() {
    let base: PathBuf =
        std::env::temp_dir().join(format!("confide-xtask-verify-{}", std::process::id()));
    let (local, served) = (base.join("local"), base.join("served"));
    sealed_build(&local);
    copy(&local, &served);

    let mut config = Config::for_tests();
    config.static_dir = Some(served.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("cannot bind: {e}"));
    let url = format!(
        "http://{}/",
        listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no address: {e}"))
    );
    tokio::spawn(confide_relay::serve(listener, config));

    let ok = tokio::task::spawn_blocking({
        let (url, local) = (url.clone(), local.clone());
        move || verify(&url, &local)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(
        ok.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        stdout.contains("OK: the server serves exactly this build"),
        "{stdout}"
    );

    // One byte of the worker's WASM, which only the worker loader refers to.
    let wasm = served.join("w_bg.wasm");
    let mut bytes = std::fs::read(&wasm).unwrap_or_default();
    bytes[1] ^= 1;
    std::fs::write(&wasm, bytes).unwrap_or_else(|e| panic!("cannot write: {e}"));
    let changed = tokio::task::spawn_blocking({
        let (url, local) = (url.clone(), local.clone());
        move || verify(&url, &local)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&base);
    let stdout = String::from_utf8_lossy(&changed.stdout);
    let stderr = String::from_utf8_lossy(&changed.stderr);
    assert!(!changed.status.success(), "{stdout}");
    assert!(stdout.contains("differs: w_bg.wasm"), "{stdout}");
    assert_eq!(stdout.matches("differs:").count(), 1, "{stdout}");
    assert!(stderr.contains("1 file(s) differ"), "{stderr}");
}
