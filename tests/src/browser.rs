//! Real headless Chromium, driven over WebDriver (ChromeDriver + fantoccini).
//! Each [`Browser`] is a separate person: its own Chromium process and its own
//! empty profile, with a fake camera and microphone.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// Where the browser tests find their tools; set by `cargo xtask test`.
pub struct BrowserEnv {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
    /// The app built with test hooks.
    pub dist: PathBuf,
}

impl BrowserEnv {
    /// Reads the environment; panics with a message naming what is missing,
    /// so a missing browser is a failure, never a silent pass.
    pub fn from_env() -> BrowserEnv {
        let get = |name: &str, default: &str| {
            std::env::var_os(name)
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(default))
        };
        let env = BrowserEnv {
            chromium: get("CONFIDE_CHROMIUM", "/usr/bin/chromium"),
            chromedriver: get("CONFIDE_CHROMEDRIVER", "/usr/bin/chromedriver"),
            dist: get(
                "CONFIDE_TEST_DIST",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../target/dist-test"),
            ),
        };
        for (what, path) in [
            ("Chromium", &env.chromium),
            ("ChromeDriver", &env.chromedriver),
        ] {
            assert!(
                path.is_file(),
                "{what} is missing at {}: install the Debian packages chromium and chromium-driver, \
                 or run `cargo xtask test`, which installs them",
                path.display()
            );
        }
        assert!(
            env.dist.join("index.html").is_file(),
            "the app is not built at {}: run `cargo xtask test`, which builds it with test hooks",
            env.dist.display()
        );
        env
    }
}

/// A running ChromeDriver on a free loopback port; killed on drop.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Driver {
    pub async fn start(env: &BrowserEnv) -> Driver {
        let port = free_port();
        // Its own process group, so that dropping the driver also ends every
        // Chromium it started, even when a test panicked before closing them.
        let child = Command::new(&env.chromedriver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", env.chromedriver.display()));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "ChromeDriver did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Options for one person's browser.
#[derive(Clone, Debug, Default)]
pub struct BrowserOptions {
    /// Refuse camera and microphone (no fake UI that grants them).
    pub deny_media: bool,
    /// Extra Chromium flags.
    pub extra_args: Vec<String>,
}

/// One person's headless Chromium.
pub struct Browser {
    pub client: Client,
    _profile: TempDir,
}

impl Browser {
    pub async fn launch(env: &BrowserEnv, driver: &Driver, options: BrowserOptions) -> Browser {
        let profile = TempDir::new("confide-chromium");
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--use-fake-device-for-media-stream",
            "--autoplay-policy=no-user-gesture-required",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-gpu",
            "--no-first-run",
            "--window-size=1280,800",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if !options.deny_media {
            args.push("--use-fake-ui-for-media-stream".into());
        }
        args.push(format!("--user-data-dir={}", profile.path.display()));
        args.extend(options.extra_args);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": env.chromium, "args": args }),
        );
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        // Two rustls backends are linked in the tests; pick one for the WebDriver client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .unwrap_or_else(|e| panic!("no TLS backend for the WebDriver client: {e}"))
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| panic!("cannot start Chromium through ChromeDriver: {e}"));
        Browser {
            client,
            _profile: profile,
        }
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// Runs `script` (a function body; `arguments` are available) and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Runs an async script: the body must call `arguments[arguments.length - 1](value)`.
    pub async fn eval_async(&self, script: &str) -> Value {
        self.client
            .execute_async(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("async script failed: {e}\n{script}"))
    }

    /// Waits until `script` returns a truthy value, or fails naming `what`.
    pub async fn wait_until(&self, what: &str, timeout: Duration, script: &str) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self
                .client
                .execute(script, vec![])
                .await
                .unwrap_or(Value::Null);
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            if Instant::now() > deadline {
                let body = self
                    .eval("return document.body ? document.body.innerText : ''")
                    .await;
                panic!("timed out waiting for {what}; page text: {body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits (up to 20 s) for an element matching `css`.
    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Waits for an element matching `css` and clicks it.
    pub async fn click(&self, css: &str) {
        let element = self.element(css).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Waits for an input matching `css` and types `text` into it, as a person would.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        element
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
    }

    /// Sends a Chrome DevTools Protocol command through ChromeDriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        let body = json!({ "cmd": cmd, "params": params });
        self.client
            .issue_cmd(Extension {
                path: "goog/cdp/execute",
                body,
            })
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd} failed: {e}"))
    }

    /// Runs `script` in every document this browser opens from now on, before the page's own scripts.
    pub async fn before_every_page(&self, script: &str) {
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": script }),
        )
        .await;
    }

    /// Sets a permission (`camera`, `microphone`, ...) for all origins, as a user's choice would.
    pub async fn set_permission(&self, name: &str, setting: &str) {
        self.cdp(
            "Browser.setPermission",
            json!({ "permission": { "name": name }, "setting": setting }),
        )
        .await;
    }

    /// Saves a PNG of the viewport to `docs/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot failed: {e}"));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        let _ = std::fs::create_dir_all(&dir);
        let _ = std::fs::write(dir.join(format!("{name}.png")), png);
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

/// A ChromeDriver extension command (`POST /session/{id}/<path>`).
#[derive(Debug)]
struct Extension {
    path: &'static str,
    body: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Extension {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// A directory removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}
