#![allow(clippy::expect_used)]
//! The app from the centre's own web space, the relay on the rented server
//! (issue 17, item 4; docs/RELAY.md): the test build, named to the relay as
//! `cargo xtask build --relay-url` does, is served by a plain static file
//! server on one loopback port (`static_server.rs`: no security headers,
//! the page's own `<meta>` policy), the relay runs on another port with
//! `--allowed-origin` naming the first.
//!
//! - A Chromium counsellor and a Firefox guest have a full call through it
//!   (picture both ways, the same safety code); the invite link points at the
//!   static server, where the app is.
//! - A third origin, not in `--allowed-origin`, serving the same files: the
//!   relay refuses its WebSocket upgrade with 403 (a raw client with that
//!   `Origin`; the allowed origin and a client without `Origin` get through),
//!   and its page says calmly that the connection failed, no endless wait.
//!
//! Loopback origins are secure contexts, so no TLS is needed. Like the other
//! browser tests they are `#[ignore]`d in a plain `cargo test`; `cargo xtask
//! test` runs them with `--ignored`.

use confide_relay::config::Config;
use confide_tests::browser::{Browser, BrowserEnv, BrowserOptions, Driver, TempDir};
use confide_tests::call::*;
use confide_tests::pairing::{REMOTE_VIDEO, sees_the_live_picture};
use confide_tests::relay::TestRelay;
use confide_tests::static_server::{StaticServer, copy_with_relay};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

/// The relay allowing `app_origin`, and the app served by a static server
/// of its own (whose origin that is, checked) naming the relay.
struct TwoOrigins {
    app: StaticServer,
    relay: TestRelay,
    _files: TempDir,
}

async fn two_origins(env: &BrowserEnv) -> TwoOrigins {
    let files = TempDir::new("confide-two-origins");
    // The server first: its port is the origin the relay must allow.
    let app = StaticServer::start(files.path.clone()).await;
    let mut config = Config::for_tests();
    config.allowed_origin = vec![app.origin()];
    let relay = TestRelay::start_with(config).await;
    copy_with_relay(&env.dist, &files.path, &relay.ws_url());
    TwoOrigins {
        app,
        relay,
        _files: files,
    }
}

/// Opens the relay's WebSocket with `origin` (or none); `Ok(())` when the
/// upgrade succeeded, else the HTTP status of the refusal.
async fn upgrade_with_origin(ws_url: &str, origin: Option<&str>) -> Result<(), u16> {
    let mut request = ws_url
        .into_client_request()
        .expect("a WebSocket request for the relay");
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("an origin header value"));
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((mut socket, response)) => {
            assert_eq!(response.status().as_u16(), 101);
            let _ = socket.close(None).await;
            Ok(())
        }
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("the upgrade failed without an HTTP answer: {other}"),
    }
}

/// A full 1:1 call, the app on one origin and the relay on another.
#[tokio::test]
#[ignore = "needs Chromium, Firefox, their drivers and the built app: run `cargo xtask test`"]
async fn a_call_with_the_app_on_one_origin_and_the_relay_on_another() {
    let env = BrowserEnv::from_env();
    let stage = two_origins(&env).await;
    assert_ne!(stage.app.addr.port(), stage.relay.addr.port());
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    let guest = Browser::launch_firefox(&env, BrowserOptions::default()).await;

    let link = counsellor_starts_session(&host, &stage.app.url()).await;
    assert!(
        link.starts_with(&format!("{}/#", stage.app.origin())),
        "the invite link points at the app's origin, not the relay's: {link}"
    );
    let relay_named = host
        .eval(
            "const m = document.querySelector('meta[name=confide-relay]'); \
             return m ? m.content : null",
        )
        .await;
    assert_eq!(
        relay_named.as_str(),
        Some(stage.relay.ws_url().as_str()),
        "the page names the relay"
    );
    guest_knocks(&guest, &link, "Mara", None).await;
    counsellor_admits_and_enters(&host, "Mara").await;
    sees_the_call(&guest).await;
    let code = both_show_the_same_code(&host, &guest).await;
    // Video decodes in both directions and shows the other person's camera.
    let host_side = ("counsellor (Chromium)", &host);
    let guest_side = ("guest (Firefox)", &guest);
    for (viewer, sender) in [(host_side, guest_side), (guest_side, host_side)] {
        viewer
            .1
            .wait_until(
                &format!("decoded remote video at the {}", viewer.0),
                STEP * 2,
                &format!(
                    "const v = document.querySelector('{REMOTE_VIDEO}'); return {SHOWN_FRAMES_JS} > 10"
                ),
            )
            .await;
        sees_the_live_picture(viewer, sender).await;
    }
    println!("two origins: the same safety code {code} on both sides");
    guest.close().await;
    host.close().await;
    stage
        .relay
        .shutdown()
        .await
        .expect("the relay shuts down cleanly");
}

/// A third origin, not in `--allowed-origin`: 403 before the upgrade, and a
/// calm failure screen in its page (Chromium counsellor, Firefox guest).
#[tokio::test]
#[ignore = "needs Chromium, Firefox, their drivers and the built app: run `cargo xtask test`"]
async fn a_third_origin_is_refused_by_the_relay() {
    let env = BrowserEnv::from_env();
    let stage = two_origins(&env).await;
    let other_files = TempDir::new("confide-third-origin");
    copy_with_relay(&env.dist, &other_files.path, &stage.relay.ws_url());
    let other = StaticServer::start(other_files.path.clone()).await;
    let ws_url = stage.relay.ws_url();

    assert_eq!(
        upgrade_with_origin(&ws_url, Some(&stage.app.origin())).await,
        Ok(()),
        "the allowed origin gets through"
    );
    let own = format!("http://{}", stage.relay.addr);
    assert_eq!(
        upgrade_with_origin(&ws_url, Some(&own)).await,
        Ok(()),
        "the relay's own origin gets through"
    );
    assert_eq!(
        upgrade_with_origin(&ws_url, None).await,
        Ok(()),
        "a client without Origin (no browser page) gets through"
    );
    assert_eq!(
        upgrade_with_origin(&ws_url, Some(&other.origin())).await,
        Err(403),
        "the third origin is refused before the upgrade"
    );
    assert_eq!(
        upgrade_with_origin(&ws_url, Some("null")).await,
        Err(403),
        "an opaque origin is refused"
    );

    // The counsellor on the third origin's page: a calm failure, at once.
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    host.goto(&confide_tests::relay::counsellor_link(&other.url()))
        .await;
    host.click("[data-testid=start-session]").await;
    let shown = host
        .wait_until(
            "the failure screen on the third origin",
            STEP,
            "const f = document.querySelector('[data-testid=failure]'); \
             return f ? f.dataset.kind + ': ' + f.innerText : null",
        )
        .await;
    let shown = shown.as_str().unwrap_or_default().to_string();
    assert!(
        shown.starts_with("connection-lost"),
        "the page says the connection failed: {shown}"
    );
    assert_eq!(
        host.eval("return document.querySelector('[data-testid=invite-link]') === null")
            .await,
        serde_json::Value::Bool(true),
        "no invite link without the relay"
    );

    // A guest with a link made on the allowed origin, opened on the third
    // one (Firefox): the knock fails calmly instead of waiting forever.
    let allowed_host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    let link = counsellor_starts_session(&allowed_host, &stage.app.url()).await;
    let moved = link.replacen(&stage.app.origin(), &other.origin(), 1);
    let guest = Browser::launch_firefox(&env, BrowserOptions::default()).await;
    guest.goto(&moved).await;
    guest.click("[data-testid=continue]").await;
    guest
        .wait_until(
            "the camera preview",
            STEP,
            "const b = document.querySelector('[data-testid=knock]'); return b && !b.disabled",
        )
        .await;
    guest.type_into("[data-testid=guest-name]", "Mara").await;
    guest.click("[data-testid=knock]").await;
    let shown = guest
        .wait_until(
            "the failure screen for the guest on the third origin",
            STEP,
            "const f = document.querySelector('[data-testid=failure]'); \
             return f ? f.dataset.kind : null",
        )
        .await;
    assert_eq!(shown.as_str(), Some("connection-lost"));

    guest.close().await;
    allowed_host.close().await;
    host.close().await;
    stage
        .relay
        .shutdown()
        .await
        .expect("the relay shuts down cleanly");
}
