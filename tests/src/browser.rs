//! Real headless browsers, driven over WebDriver with fantoccini: Chromium
//! through ChromeDriver, and Firefox (ESR) through geckodriver.
//! Each [`Browser`] is a separate person: its own browser process and its own
//! empty profile, with a fake camera and microphone.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::netns::NsForward;

/// Which browser a [`Driver`] starts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Engine {
    /// Headless Chromium through ChromeDriver (any number of sessions per driver).
    #[default]
    Chromium,
    /// Headless Firefox through geckodriver (one session per driver).
    Firefox,
}

/// Where the browser tests find their tools; set by `cargo xtask test`.
pub struct BrowserEnv {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
    /// Firefox (ESR); only checked when a test starts Firefox.
    pub firefox: PathBuf,
    /// geckodriver; only checked when a test starts Firefox.
    pub geckodriver: PathBuf,
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
            firefox: get("CONFIDE_FIREFOX", "/usr/bin/firefox-esr"),
            geckodriver: std::env::var_os("CONFIDE_GECKODRIVER")
                .map(PathBuf::from)
                .unwrap_or_else(default_geckodriver),
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

    /// Fails, naming what to install, unless Firefox and geckodriver are present.
    pub fn require_firefox(&self) {
        for (what, path) in [
            ("Firefox", &self.firefox),
            ("geckodriver", &self.geckodriver),
        ] {
            assert!(
                path.is_file(),
                "{what} is missing at {}: install the Debian package firefox-esr and \
                 `cargo install geckodriver --locked`, or run `cargo xtask test`, which installs them",
                path.display()
            );
        }
    }
}

/// geckodriver on PATH, else in cargo's bin folder (where `cargo install` puts it).
fn default_geckodriver() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("geckodriver"))
            .find(|candidate| candidate.is_file())
    });
    on_path.unwrap_or_else(|| {
        std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
            .unwrap_or_default()
            .join("bin/geckodriver")
    })
}

/// A running WebDriver server (ChromeDriver or geckodriver) on a free
/// loopback port; killed on drop, with every browser it started.
pub struct Driver {
    child: Child,
    pub url: String,
    pub engine: Engine,
    /// geckodriver's output, which includes Firefox's (and the page's console).
    log: Option<TempDir>,
    /// For a driver inside a network namespace: the loopback forwarder `url` points at.
    _forward: Option<NsForward>,
}

/// `program`, started directly or, with `netns`, through `ip netns exec`
/// inside that network namespace (the NAT tests' homes).
fn command_in(program: &Path, netns: Option<&str>) -> Command {
    match netns {
        None => Command::new(program),
        Some(ns) => {
            let mut command = Command::new(crate::netns::ip_tool());
            command.args(["netns", "exec", ns]).arg(program);
            command
        }
    }
}

/// The URL fantoccini uses for a driver on `port`: the port itself, or for
/// a driver inside `netns` a forwarder into that namespace.
async fn driver_url(port: u16, netns: Option<&str>) -> (String, Option<NsForward>) {
    match netns {
        None => (format!("http://127.0.0.1:{port}"), None),
        Some(ns) => {
            let forward = NsForward::start(ns, port).await;
            (format!("http://{}", forward.addr), Some(forward))
        }
    }
}

impl Driver {
    pub async fn start(env: &BrowserEnv) -> Driver {
        Driver::start_in(env, None).await
    }

    /// Starts ChromeDriver, inside network namespace `netns` if given (its
    /// Chromiums run there too; the driver is reached through a forwarder).
    pub async fn start_in(env: &BrowserEnv, netns: Option<&str>) -> Driver {
        let (child, port) = start_listening("ChromeDriver", netns, |port| {
            // Its own process group, so that dropping the driver also ends every
            // Chromium it started, even when a test panicked before closing them.
            command_in(&env.chromedriver, netns)
                .process_group(0)
                .arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", env.chromedriver.display()))
        })
        .await;
        let (url, forward) = driver_url(port, netns).await;
        Driver {
            child,
            url,
            engine: Engine::Chromium,
            log: None,
            _forward: forward,
        }
    }

    /// Starts geckodriver. It serves one Firefox at a time: start one driver
    /// per Firefox (or use [`Browser::launch_firefox`], which does).
    pub async fn start_firefox(env: &BrowserEnv) -> Driver {
        Driver::start_firefox_in(env, None).await
    }

    /// Starts geckodriver, inside network namespace `netns` if given.
    pub async fn start_firefox_in(env: &BrowserEnv, netns: Option<&str>) -> Driver {
        env.require_firefox();
        let log = TempDir::new("confide-geckodriver");
        let log_file = |what: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log.path.join("driver.log"))
                .unwrap_or_else(|e| panic!("cannot open geckodriver's {what} log: {e}"))
        };
        let (child, port) = start_listening("geckodriver", netns, |port| {
            // Its own process group, so that dropping the driver also ends Firefox
            // and its content processes, even when a test panicked.
            command_in(&env.geckodriver, netns)
                .process_group(0)
                .arg("--port")
                .arg(port.to_string())
                .args(["--host", "127.0.0.1", "--allow-hosts", "127.0.0.1"])
                .arg("--binary")
                .arg(&env.firefox)
                .stdout(Stdio::from(log_file("stdout")))
                .stderr(Stdio::from(log_file("stderr")))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", env.geckodriver.display()))
        })
        .await;
        let (url, forward) = driver_url(port, netns).await;
        Driver {
            child,
            url,
            engine: Engine::Firefox,
            log: Some(log),
            _forward: forward,
        }
    }

    /// The last `max_lines` lines geckodriver and Firefox printed (the page's
    /// console included); empty for ChromeDriver.
    pub fn log_tail(&self, max_lines: usize) -> String {
        let Some(log) = &self.log else {
            return String::new();
        };
        log_tail(&log.path.join("driver.log"), max_lines)
    }
}

fn log_tail(path: &Path, max_lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(max_lines)..].join("\n")
}

/// Starts a driver on a free port until one listens: a port found free can
/// be taken by someone else before the driver binds it (the driver then
/// exits, or never listens), so a driver that has not listened after 20 s
/// is stopped and started again on another port, three times at most.
/// With `netns`, the driver runs in that namespace and is looked for there.
async fn start_listening(
    what: &str,
    netns: Option<&str>,
    spawn: impl Fn(u16) -> Child,
) -> (Child, u16) {
    for attempt in 1..=3 {
        let port = free_port();
        let mut child = spawn(port);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let listening = match netns {
                None => tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok(),
                Some(ns) => {
                    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
                    crate::netns::wait_for_tcp(ns, addr, Duration::ZERO).await
                }
            };
            if listening {
                return (child, port);
            }
            let exited = matches!(child.try_wait(), Ok(Some(_)));
            if exited || Instant::now() > deadline {
                eprintln!(
                    "{what} did not listen on port {port} (attempt {attempt}, {}); trying another port",
                    if exited { "it exited" } else { "timed out" }
                );
                let group = format!("-{}", child.id());
                let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!("{what} did not start listening on any of three free ports");
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
    /// Refuse camera and microphone (Chromium: no fake UI that grants them;
    /// Firefox: both permissions blocked by default).
    pub deny_media: bool,
    /// Extra Chromium flags (Firefox: extra command-line arguments).
    pub extra_args: Vec<String>,
    /// The network namespace the browser runs in (the NAT tests' homes):
    /// Firefox gets its geckodriver there (Chromium runs where its driver
    /// does, see [`Driver::start_in`]), and Firefox proxies nothing, since
    /// the namespace is the isolation.
    pub netns: Option<String>,
    /// Accept the relay's self-signed certificate (`acceptInsecureCerts`;
    /// Chromium also `--ignore-certificate-errors`, for TURN over TLS).
    pub accept_insecure_certs: bool,
}

/// Firefox preferences for a person in a call: fake camera and microphone
/// without a prompt, autoplay allowed, and ICE host candidates on loopback too
/// (by default Firefox leaves out loopback and hides host addresses behind mDNS).
fn firefox_prefs(options: &BrowserOptions) -> serde_json::Map<String, Value> {
    let mut prefs = serde_json::Map::new();
    let mut set = |name: &str, value: Value| {
        prefs.insert(name.to_string(), value);
    };
    set("media.navigator.streams.fake", json!(true));
    set("media.autoplay.default", json!(0));
    set("media.autoplay.blocking_policy", json!(0));
    set("media.peerconnection.ice.loopback", json!(true));
    set(
        "media.peerconnection.ice.obfuscate_host_addresses",
        json!(false),
    );
    if options.deny_media {
        // 2 = block, as if the person had said no.
        set("permissions.default.camera", json!(2));
        set("permissions.default.microphone", json!(2));
    } else {
        set("media.navigator.permission.disabled", json!(true));
        // Granted, as if remembered: without a stored permission Firefox
        // gathers ICE candidates on the default route's interface only and
        // ignores `ice.loopback` (measured in ESR 153).
        set("permissions.default.camera", json!(1));
        set("permissions.default.microphone", json!(1));
    }
    // The page's (and its workers') console on Firefox's stdout, so that
    // geckodriver's log shows it (Firefox has no WebDriver log endpoint).
    set("devtools.console.stdout.content", json!(true));
    // No first-run pages, updates or telemetry traffic.
    set("browser.shell.checkDefaultBrowser", json!(false));
    set("browser.startup.homepage_override.mstone", json!("ignore"));
    set("app.update.disabledForTesting", json!(true));
    set("datareporting.policy.dataSubmissionEnabled", json!(false));
    set("toolkit.telemetry.reportingpolicy.firstRun", json!(false));
    set("browser.safebrowsing.malware.enabled", json!(false));
    set("browser.safebrowsing.phishing.enabled", json!(false));
    set("network.captive-portal-service.enabled", json!(false));
    set("network.connectivity-service.enabled", json!(false));
    // Nothing leaves the machine: every host name resolves to loopback, no
    // DNS over HTTPS, and any other address goes to a loopback proxy port
    // nobody serves (port 9, discard). Loopback itself is never proxied.
    set("network.dns.native-is-localhost", json!(true));
    set("network.trr.mode", json!(5));
    set("network.dns.disablePrefetch", json!(true));
    set("network.prefetch-next", json!(false));
    set("network.proxy.type", json!(1));
    set("network.proxy.http", json!("127.0.0.1"));
    set("network.proxy.http_port", json!(9));
    set("network.proxy.ssl", json!("127.0.0.1"));
    set("network.proxy.ssl_port", json!(9));
    set("network.proxy.no_proxies_on", json!("localhost, 127.0.0.1"));
    set("network.proxy.allow_hijacking_localhost", json!(false));
    if options.netns.is_some() {
        // In a namespace of its own, the page's server is not on loopback,
        // and nothing could leave the namespaces anyway. Firefox would also
        // tunnel TURN over TCP/TLS through a configured proxy.
        set("network.proxy.type", json!(0));
        // A person at home has no use for loopback candidates; with them
        // the NAT tests' candidate lists would show 127.0.0.1 for everyone.
        set("media.peerconnection.ice.loopback", json!(false));
    }
    prefs
}

/// One person's headless browser.
pub struct Browser {
    pub client: Client,
    pub engine: Engine,
    /// The geckodriver this Firefox belongs to, when the browser owns it.
    own_driver: Option<Driver>,
    /// geckodriver's log (Firefox only), for failure messages.
    log: Option<PathBuf>,
    _profile: TempDir,
}

impl Browser {
    /// Starts a browser of `driver`'s engine with a fresh profile.
    /// A geckodriver serves one Firefox: use a driver per Firefox.
    pub async fn launch(env: &BrowserEnv, driver: &Driver, options: BrowserOptions) -> Browser {
        match driver.engine {
            Engine::Chromium => Browser::launch_chromium(env, driver, options).await,
            Engine::Firefox => Browser::launch_on_geckodriver(env, driver, options).await,
        }
    }

    /// Starts headless Firefox with a geckodriver of its own (one person).
    pub async fn launch_firefox(env: &BrowserEnv, options: BrowserOptions) -> Browser {
        let driver = Driver::start_firefox_in(env, options.netns.as_deref()).await;
        let mut browser = Browser::launch_on_geckodriver(env, &driver, options).await;
        browser.own_driver = Some(driver);
        browser
    }

    async fn launch_on_geckodriver(
        env: &BrowserEnv,
        driver: &Driver,
        options: BrowserOptions,
    ) -> Browser {
        let profile = TempDir::new("confide-firefox");
        let mut args: Vec<String> = vec!["-headless".into(), "-no-remote".into()];
        args.push("-profile".into());
        args.push(profile.path.display().to_string());
        args.extend(options.extra_args.iter().cloned());
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("firefox"));
        caps.insert(
            "moz:firefoxOptions".into(),
            json!({
                "binary": env.firefox,
                "args": args,
                "prefs": firefox_prefs(&options),
                "log": { "level": "info" },
            }),
        );
        if options.accept_insecure_certs {
            caps.insert("acceptInsecureCerts".into(), json!(true));
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .unwrap_or_else(|e| panic!("no TLS backend for the WebDriver client: {e}"))
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start Firefox through geckodriver: {e}\ngeckodriver log:\n{}",
                    driver.log_tail(40)
                )
            });
        client
            .set_window_size(1280, 800)
            .await
            .unwrap_or_else(|e| panic!("cannot size Firefox's window: {e}"));
        Browser {
            client,
            engine: Engine::Firefox,
            own_driver: None,
            log: driver.log.as_ref().map(|dir| dir.path.join("driver.log")),
            _profile: profile,
        }
    }

    async fn launch_chromium(
        env: &BrowserEnv,
        driver: &Driver,
        options: BrowserOptions,
    ) -> Browser {
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
        if options.accept_insecure_certs {
            args.push("--ignore-certificate-errors".into());
        }
        args.push(format!("--user-data-dir={}", profile.path.display()));
        args.extend(options.extra_args);
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": env.chromium, "args": args }),
        );
        if options.accept_insecure_certs {
            caps.insert("acceptInsecureCerts".into(), json!(true));
        }
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
            engine: Engine::Chromium,
            own_driver: None,
            log: None,
            _profile: profile,
        }
    }

    /// The last `max_lines` lines of the browser's own log (Firefox: geckodriver,
    /// Firefox and the page's console); empty for Chromium.
    pub fn log_tail(&self, max_lines: usize) -> String {
        self.log
            .as_deref()
            .map(|path| log_tail(path, max_lines))
            .unwrap_or_default()
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
                if self.engine == Engine::Firefox {
                    panic!(
                        "timed out waiting for {what} in Firefox; page text: {body}\n\
                         Firefox's log (last lines):\n{}",
                        self.log_tail(60)
                    );
                }
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
    /// Chromium only: fails on Firefox, which has no CDP.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        assert!(
            self.engine == Engine::Chromium,
            "CDP command {cmd} needs Chromium: Firefox has no Chrome DevTools Protocol \
             (before_every_page and set_permission are Chromium-only too)"
        );
        let body = json!({ "cmd": cmd, "params": params });
        self.client
            .issue_cmd(Extension {
                path: "goog/cdp/execute",
                body,
            })
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd} failed: {e}"))
    }

    /// Resizes the browser window (WebDriver "Set Window Rect"; headless
    /// browsers have no window chrome, so this is the viewport).
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .unwrap_or_else(|e| panic!("cannot resize the window to {width}×{height}: {e}"));
    }

    /// Runs `script` in every document this browser opens from now on, before the page's own scripts.
    /// Chromium only (through CDP).
    pub async fn before_every_page(&self, script: &str) {
        self.cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": script }),
        )
        .await;
    }

    /// Sets a permission (`camera`, `microphone`, ...) for all origins, as a user's choice would.
    /// Chromium only (through CDP); on Firefox use [`BrowserOptions::deny_media`].
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

    /// This browser's own profile folder: its main process names it on its
    /// command line (`--user-data-dir=` or `-profile`), so a bench can find
    /// the browser's processes in `/proc`.
    pub fn profile_dir(&self) -> &Path {
        &self._profile.path
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
        drop(self.own_driver);
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
