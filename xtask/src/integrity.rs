//! Makes the built page check every file it loads before it runs any of it.
//!
//! Trunk writes `index.html` with an inline module script that imports the
//! app's JS and fetches its WASM without any check, and a worker loader
//! (`confide-worker_loader.js`) that loads the frame-crypto worker's JS and
//! WASM without any check. After Trunk, [`seal`] rewrites both:
//!
//! - the worker loader fetches its WASM with the SHA-384 baked into it;
//! - `index.html` gets, before its style sheet, an import map that pins the
//!   JS modules of the app and of the guest's module (`guest_module.rs`) by
//!   hash (`integrity`), and a small script that picks the module for this
//!   page: the guest's module for an invite link (a fragment other than a
//!   sign-in link's) and for a guest's reload (her tab's snapshot in
//!   `sessionStorage`, no counsellor signed in on this device); the full app
//!   for everything else. It preloads that module's JS (with its hash) and
//!   WASM, and nothing of the other module. A sign-in link pasted into a
//!   guest's tab reloads the page into the full app.
//! - The inline start script then fetches that module's WASM, the worker
//!   loader, the worker's JS and the worker's WASM and checks each against
//!   its SHA-384. No file runs before its own check; a mismatch shows a
//!   refusal instead of the app.
//! - The app's WASM is compiled while it downloads (`compileStreaming`) and
//!   hashed at the same time (WebCrypto); the compiled module is
//!   instantiated only once the hash matches. Compiling is not running: on a
//!   phone's connection this takes the compilation off the critical path
//!   (docs/BENCHMARKS.md §13.2). Where WebCrypto is missing (a page not
//!   served securely) it falls back to `fetch(…, {integrity})`, which
//!   compiles only after the whole file has arrived.
//! - The worker's three files are fetched with `fetch(…, {integrity})` only
//!   once the app's WASM is in, so that they do not share its bandwidth; the
//!   app starts meanwhile, but creates its worker only after this check
//!   (`window.confideWorkerFiles`, awaited by `client/src/rtc/crypto.rs`
//!   `new_worker`). A mismatch found after the app started reloads the page
//!   into the refusal (the file's name kept in `sessionStorage` for that one
//!   load), so that nothing of the app keeps running beside it.
//!
//! The page also gets `<meta name="confide-release">` with the release
//! digest of the sealed folder (`digest.rs`: the value counts as zeros in the
//! digest), which the app shows in a small footer line.
//!
//! The style sheet keeps the `integrity` Trunk gives it. The relay allows the
//! three inline scripts (import map, module choice, start) by their SHA-256 in
//! its CSP (`relay/src/inline_scripts.rs`).
//! [`check`] proves that every file's hash is in the page and every hash in
//! the page belongs to a file (run after every build).

use std::path::Path;

use base64::Engine as _;
use sha2::{Digest as _, Sha384};

/// `sha384-<base64>`, the form of `integrity` values.
pub fn sri(content: &[u8]) -> String {
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(content))
    )
}

/// Marks a sealed page (so that sealing twice is an error, not a mess).
const SEALED: &str = "confide-integrity-start";

/// The text between the first `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// Removes the first tag that begins with `start` (up to its `>`).
fn remove_tag(text: &mut String, start: &str) -> bool {
    let Some(from) = text.find(start) else {
        return false;
    };
    let Some(len) = text[from..].find('>') else {
        return false;
    };
    text.replace_range(from..from + len + 1, "");
    true
}

fn changed_trunk(what: &str) -> String {
    format!(
        "Trunk's output no longer looks as expected ({what}); \
         update xtask/src/integrity.rs to the new format"
    )
}

/// The file names a sealed page refers to (the app's JS and WASM, the guest
/// module's JS and WASM, the worker's loader, JS and WASM), each with its `/`.
struct AppFiles {
    main_js: String,
    main_wasm: String,
    guest_js: String,
    guest_wasm: String,
    loader: String,
    worker_js: String,
    worker_wasm: String,
}

/// Rewrites Trunk's `index.html` and worker loader in `dist` (see the module
/// documentation).
pub fn seal(dist: &Path) -> Result<(), String> {
    let read = |name: &str| {
        std::fs::read_to_string(dist.join(name))
            .map_err(|e| format!("cannot read {}: {e}", dist.join(name).display()))
    };
    let write = |name: &str, text: &str| {
        std::fs::write(dist.join(name), text)
            .map_err(|e| format!("cannot write {}: {e}", dist.join(name).display()))
    };
    let hash_of = |name: &str| {
        std::fs::read(dist.join(name.trim_start_matches('/')))
            .map(|bytes| sri(&bytes))
            .map_err(|e| format!("cannot read {}: {e}", dist.join(name).display()))
    };

    let mut html = read("index.html")?;
    if html.contains(SEALED) {
        return Err("index.html is already sealed (run Trunk again first)".into());
    }
    let script_start = html
        .find("<script type=\"module\">")
        .ok_or_else(|| changed_trunk("no inline module script"))?;
    let script_len = html[script_start..]
        .find("</script>")
        .ok_or_else(|| changed_trunk("unclosed script"))?
        + "</script>".len();
    let trunk_script = html[script_start..script_start + script_len].to_string();
    let main_js = between(&trunk_script, "from '", "'")
        .ok_or_else(|| changed_trunk("no import of the app's JS"))?
        .to_string();
    let main_wasm = between(&trunk_script, "module_or_path: '", "'")
        .ok_or_else(|| changed_trunk("no WASM path"))?
        .to_string();

    let names: Vec<String> = std::fs::read_dir(dist)
        .map_err(|e| format!("cannot read {}: {e}", dist.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let guest_file = |suffix: &str| {
        names
            .iter()
            .find(|name| name.starts_with(crate::guest_module::PREFIX) && name.ends_with(suffix))
            .map(|name| format!("/{name}"))
            .ok_or_else(|| {
                format!(
                    "{} has no guest module ({}*{suffix}): `cargo xtask build` makes it \
                     (xtask/src/guest_module.rs)",
                    dist.display(),
                    crate::guest_module::PREFIX
                )
            })
    };
    let guest_js = guest_file(".js")?;
    let guest_wasm = guest_file("_bg.wasm")?;
    // The worker loader (made by `data-loader-shim`): load its WASM only by hash.
    let loader_name = names
        .iter()
        .find(|name| name.ends_with("_loader.js"))
        .cloned()
        .ok_or_else(|| changed_trunk("no worker loader *_loader.js"))?;
    let loader = read(&loader_name)?;
    let worker_js = between(&loader, "importScripts(\"./", "\"")
        .ok_or_else(|| changed_trunk("no importScripts in the worker loader"))?
        .to_string();
    let worker_wasm = between(&loader, "wasm_bindgen(\"./", "\"")
        .ok_or_else(|| changed_trunk("no wasm_bindgen call in the worker loader"))?
        .to_string();
    let sealed_loader = format!(
        "importScripts(\"./{worker_js}\");\
         wasm_bindgen({{module_or_path:fetch(\"./{worker_wasm}\",{{integrity:\"{hash}\"}})}})\
         .catch(e=>{{console.error(\"confide: the frame-crypto worker's WASM does not match \
         this build; the worker stops\",e);close();}});\n",
        hash = hash_of(&worker_wasm)?,
    );
    write(&loader_name, &sealed_loader)?;

    let files = AppFiles {
        main_js,
        main_wasm,
        guest_js,
        guest_wasm,
        loader: format!("/{loader_name}"),
        worker_js: format!("/{worker_js}"),
        worker_wasm: format!("/{worker_wasm}"),
    };
    // Trunk's preloads (after its script) carry no check we rely on: the start
    // script fetches the WASM itself, and pins the JS with its own modulepreload.
    let mut tail = html.split_off(script_start + script_len);
    remove_tag(&mut tail, "<link rel=\"modulepreload\"");
    remove_tag(&mut tail, "<link rel=\"preload\"");
    let start = start_script(&files, &hash_of)?;
    html.replace_range(script_start..script_start + script_len, &start);
    html.push_str(&tail);
    // Before the style sheet: a script after it would wait for it to load.
    let choice_at = html
        .find("<link rel=\"stylesheet\"")
        .or_else(|| html.find("<script type=\"module\""))
        .ok_or_else(|| changed_trunk("no style sheet or start script"))?;
    html.insert_str(choice_at, &module_choice(&files, &hash_of)?);
    insert_release_meta(&mut html)?;
    write("index.html", &html)?;
    crate::digest::stamp(dist)?;
    check(dist)
}

/// Puts the release meta with the zeroed digest (`digest.rs`) after the
/// page's `<meta charset>` (or its `<head>`); [`crate::digest::stamp`] then
/// writes the digest.
fn insert_release_meta(html: &mut String) -> Result<(), String> {
    let after = ["<meta charset", "<head"]
        .iter()
        .find_map(|tag| {
            let at = html.find(tag)?;
            Some(at + html[at..].find('>')? + 1)
        })
        .ok_or_else(|| changed_trunk("no <head> for the release meta"))?;
    html.insert_str(
        after,
        &format!(
            "\n    {}{}\">",
            crate::digest::RELEASE_META,
            crate::digest::PLACEHOLDER
        ),
    );
    Ok(())
}

/// The import map (both modules' JS pinned by hash) and the script that
/// picks this page's module and preloads only that one (module docs).
fn module_choice(
    files: &AppFiles,
    hash_of: &dyn Fn(&str) -> Result<String, String>,
) -> Result<String, String> {
    let module = |js: &str, wasm: &str| -> Result<String, String> {
        Ok(format!(
            "[\"{js}\",\"{}\",\"{wasm}\",\"{}\"]",
            hash_of(js)?,
            hash_of(wasm)?
        ))
    };
    let app = module(&files.main_js, &files.main_wasm)?;
    let guest = module(&files.guest_js, &files.guest_wasm)?;
    let (main_js, guest_js) = (&files.main_js, &files.guest_js);
    let (main_js_hash, guest_js_hash) = (hash_of(main_js)?, hash_of(guest_js)?);
    // The WASM's preload carries no `integrity`: the start script fetches it
    // without one (it hashes it itself while it compiles), and a preload is
    // only used by a fetch with the same integrity.
    Ok(format!(
        r##"<script type="importmap">{{"integrity":{{"{main_js}":"{main_js_hash}","{guest_js}":"{guest_js_hash}"}}}}</script>
    <script id="confide-module-choice">
(() => {{
  // [JS, its hash, WASM, its hash]: the full app, and the guest's module without the counsellor's screens.
  const app = {app}, guest = {guest};
  function guestPage() {{
    const fragment = location.hash;
    if (fragment.length > 1) return !fragment.startsWith("#counsellor=");
    try {{
      if (localStorage.getItem("confide.counsellor") !== null) return false;
      return JSON.parse(sessionStorage.getItem("confide.session")).role === "guest";
    }} catch (e) {{ return false; }}
  }}
  const chosen = window.confideModule = guestPage() ? guest : app;
  // A sign-in link pasted into a guest's tab changes only the fragment: load
  // the page again, into the full app (which takes the sign-in). The full app
  // never reloads by itself: a counsellor's tab keeps her session.
  addEventListener("hashchange", () => {{ if (chosen === guest && location.hash.startsWith("#counsellor=")) location.reload(); }});
  for (const [rel, href, integrity] of [["modulepreload", chosen[0], chosen[1]], ["preload", chosen[2], null]]) {{
    const link = document.createElement("link");
    link.rel = rel;
    link.href = href;
    link.crossOrigin = "anonymous";
    if (integrity) link.integrity = integrity;
    else {{ link.setAttribute("as", "fetch"); link.setAttribute("fetchpriority", "high"); }}
    document.head.append(link);
  }}
}})();
</script>
    "##
    ))
}

/// The inline start script: checks and starts the module the choice picked.
fn start_script(
    files: &AppFiles,
    hash_of: &dyn Fn(&str) -> Result<String, String>,
) -> Result<String, String> {
    // The worker's files get no preload: they are fetched once the app's
    // WASM is in (the start script).
    let mut checked = Vec::new();
    for name in [&files.loader, &files.worker_js, &files.worker_wasm] {
        let hash = hash_of(name)?;
        checked.push(format!("[\"{name}\",\"{hash}\"]"));
    }
    let checked = checked.join(",");
    Ok(format!(
        r#"<script type="module" id="{SEALED}">
const [mainJs, , mainWasm, wasmHash] = window.confideModule;
const workerFiles = [{checked}];
const REFUSED = "confide-refused";
let started = false, refused = false;
function refuse(file, reason) {{
  refused = true;
  if (started) {{
    // The app runs already: reload into the refusal, so that nothing of it keeps running.
    try {{ sessionStorage.setItem(REFUSED, file); location.reload(); }} catch (e) {{}}
  }}
  const box = document.createElement("div");
  box.setAttribute("role", "alert");
  box.className = "integrity-refusal";
  const de = document.createElement("p");
  de.lang = "de";
  de.textContent = "confide startet nicht: Die Datei " + file + " fehlt oder weicht von der Fassung ab, mit der diese Seite gebaut wurde. Der Server liefert veränderten oder unvollständigen Code aus. Bitte nicht fortfahren und die Beratungsstelle informieren; bleibt es nach dem Neuladen, ist es kein Netzfehler.";
  const en = document.createElement("p");
  en.lang = "en";
  en.textContent = "confide refuses to start: the file " + file + " is missing or differs from the version this page was built with. The server is serving modified or incomplete code. Do not continue; tell the counselling centre. If it stays after a reload, it is not a network error.";
  box.append(de, en);
  document.body.replaceChildren(box);
  throw new Error("confide: integrity check failed for " + file + ": " + reason);
}}
let earlier = null;
try {{ earlier = sessionStorage.getItem(REFUSED); sessionStorage.removeItem(REFUSED); }} catch (e) {{}}
if (earlier !== null) refuse(earlier, "found after the app had started");
function checked([file, integrity]) {{
  return fetch(file, {{ integrity }})
    .then(r => r.ok ? r : refuse(file, "HTTP " + r.status), e => refuse(file, e));
}}
async function compiled([file, integrity]) {{
  if (!(self.crypto && crypto.subtle && WebAssembly.compileStreaming)) return checked([file, integrity]);
  const r = await fetch(file).catch(e => refuse(file, e));
  if (!r.ok) refuse(file, "HTTP " + r.status);
  const copy = r.clone();
  const module = WebAssembly.compileStreaming(r);
  module.catch(() => {{}});
  const bytes = await copy.arrayBuffer().catch(e => refuse(file, e));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-384", bytes));
  let text = "";
  for (const b of digest) text += String.fromCharCode(b);
  if (btoa(text) !== integrity.slice(integrity.indexOf("-") + 1)) refuse(file, "different SHA-384");
  return module.catch(() => WebAssembly.compile(bytes));
}}
const source = await compiled([mainWasm, wasmHash]);
// The worker's files only now that the app's WASM is in (on a slow line they
// would share its bandwidth); the app starts the worker only once they match.
window.confideWorkerFiles = Promise.all(workerFiles.map(checked));
window.confideWorkerFiles.catch(() => {{}});
let bindings;
try {{ bindings = await import(mainJs); }} catch (e) {{ refuse(mainJs, e); }}
if (refused) throw new Error("confide: refused before the start");
started = true;
const wasm = await bindings.default({{ module_or_path: source }});
window.wasmBindings = bindings;
dispatchEvent(new CustomEvent("TrunkApplicationStarted", {{ detail: {{ wasm }} }}));
</script>"#
    ))
}

/// Every file's SHA-384 is in the page (the worker's WASM also in the worker
/// loader), every SHA-384 in them belongs to a file of `dist`, and the page
/// shows the release digest of `dist` (`digest.rs`).
pub fn check(dist: &Path) -> Result<(), String> {
    let files = crate::digest::read_dir_files(dist)?;
    let text_of = |name: &str| {
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
    };
    let html =
        text_of("index.html").ok_or_else(|| format!("{} has no index.html", dist.display()))?;
    if !html.contains(SEALED) {
        return Err(format!(
            "{}/index.html does not check what it loads (not sealed by xtask/src/integrity.rs)",
            dist.display()
        ));
    }
    let loaders: Vec<String> = files
        .iter()
        .filter(|(n, _)| n.ends_with("_loader.js"))
        .map(|(n, c)| format!("{n}\n{}", String::from_utf8_lossy(c)))
        .collect();
    let hashes: Vec<(&str, String)> = files
        .iter()
        .map(|(name, content)| (name.as_str(), sri(content)))
        .collect();
    for (name, hash) in &hashes {
        if *name != "index.html" && !html.contains(hash.as_str()) {
            return Err(format!(
                "index.html does not carry the hash of {name} ({hash}): the page would load it unchecked"
            ));
        }
    }
    let known = |hash: &str| hashes.iter().any(|(_, h)| h == hash);
    for text in std::iter::once(&html).chain(loaders.iter()) {
        let mut rest = text.as_str();
        while let Some(at) = rest.find("sha384-") {
            let token: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "+/=-".contains(*c))
                .collect();
            if !known(&token) {
                return Err(format!(
                    "the page or worker loader carries {token}, which matches no file of {}",
                    dist.display()
                ));
            }
            rest = &rest[at + token.len()..];
        }
    }
    // The number the page shows is the digest of its folder (`digest.rs`).
    let digest = crate::digest::of_manifest(&crate::digest::manifest(&files));
    match crate::digest::shown(html.as_bytes()) {
        Some(shown) if shown == digest => Ok(()),
        shown => Err(format!(
            "{}/index.html shows the release digest {shown:?}, but its files give {digest} \
             (changed after sealing without `digest::stamp`?)",
            dist.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trunk 0.21's output for confide, reduced.
    const TRUNK_HTML: &str = r#"<!doctype html>
<html><head>
<link rel="stylesheet" href="/style-1.css" integrity="CSSHASH"/>
<script type="module">
import init, * as bindings from '/app-1.js';
const wasm = await init({ module_or_path: '/app-1_bg.wasm' });
window.wasmBindings = bindings;
</script>
<link rel="modulepreload" href="/app-1.js" crossorigin="anonymous" integrity="sha384-x"><link rel="preload" href="/app-1_bg.wasm" crossorigin="anonymous" integrity="sha384-y" as="fetch" type="application/wasm"></head>
<body></body></html>
"#;

    fn trunk_dist(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("confide-seal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let _ = std::fs::create_dir_all(&dir);
        let css = b"body{}";
        let files: [(&str, &[u8]); 8] = [
            ("style-1.css", css),
            ("app-1.js", b"export default function(){}"),
            ("app-1_bg.wasm", b"\0asm main"),
            (
                "confide-guest-2.js",
                b"export default function(){ /* guest */ }",
            ),
            ("confide-guest-2_bg.wasm", b"\0asm guest"),
            ("w.js", b"var wasm_bindgen;"),
            ("w_bg.wasm", b"\0asm worker"),
            (
                "w_loader.js",
                br#"importScripts("./w.js");wasm_bindgen("./w_bg.wasm");"#,
            ),
        ];
        for (name, content) in files {
            let _ = std::fs::write(dir.join(name), content);
        }
        let _ = std::fs::write(
            dir.join("index.html"),
            TRUNK_HTML.replace("CSSHASH", &sri(css)),
        );
        dir
    }

    #[test]
    fn a_sealed_page_pins_every_file_and_the_check_notices_a_change() {
        let dir = trunk_dist("ok");
        assert_eq!(seal(&dir), Ok(()));
        let html = std::fs::read_to_string(dir.join("index.html")).unwrap_or_default();
        let loader = std::fs::read_to_string(dir.join("w_loader.js")).unwrap_or_default();
        assert!(html.contains(r#"{"integrity":{"/app-1.js":"sha384-"#));
        assert!(html.contains(&sri(b"\0asm main")));
        let guest_js = sri(b"export default function(){ /* guest */ }");
        assert!(html.contains(&format!(r#""/confide-guest-2.js":"{guest_js}""#)));
        assert!(html.contains(&sri(b"\0asm guest")));
        // The module choice runs before the style sheet (a script after it
        // would wait for it), the start script after it.
        let at = |what: &str| html.find(what).unwrap_or(usize::MAX);
        assert!(at("<script type=\"importmap\">") < at("confide-module-choice"));
        assert!(at("confide-module-choice") < at("<link rel=\"stylesheet\""));
        assert!(at("<link rel=\"stylesheet\"") < at(SEALED));
        assert!(html.contains(&sri(b"\0asm worker")));
        assert!(loader.contains(&sri(b"\0asm worker")));
        assert!(!html.contains("sha384-x\""), "Trunk's preloads are gone");
        assert!(seal(&dir).is_err(), "sealing twice is refused");
        let digest = crate::digest::of_dir(&dir)
            .map(|(_, d)| d)
            .unwrap_or_default();
        assert_eq!(crate::digest::shown(html.as_bytes()), Some(digest));
        assert!(html.starts_with(&format!(
            "<!doctype html>\n<html><head>\n    {}",
            crate::digest::RELEASE_META
        )));

        // A page changed after sealing shows another number than its files give.
        let _ = std::fs::write(dir.join("index.html"), html.replace("</body>", " </body>"));
        let error = check(&dir).err().unwrap_or_default();
        assert!(error.contains("shows the release digest"), "{error}");
        let _ = std::fs::write(dir.join("index.html"), &html);
        assert_eq!(check(&dir), Ok(()));

        let _ = std::fs::write(dir.join("w.js"), b"var wasm_bindgen; evil()");
        let error = check(&dir).err().unwrap_or_default();
        assert!(error.contains("w.js"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_folder_without_the_guest_module_is_not_sealed() {
        let dir = trunk_dist("no-guest");
        let _ = std::fs::remove_file(dir.join("confide-guest-2_bg.wasm"));
        let error = seal(&dir).err().unwrap_or_default();
        assert!(error.contains("guest_module.rs"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unexpected_trunk_output_is_an_error() {
        let dir = trunk_dist("odd");
        let _ = std::fs::write(dir.join("index.html"), "<html></html>");
        let error = seal(&dir).err().unwrap_or_default();
        assert!(error.contains("integrity.rs"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
