//! Real-browser tests: the real relay on loopback serving the real app to
//! headless Chromium with a fake camera and microphone.
//!
//! They need a built app and Chromium, so they are `#[ignore]`d in a plain
//! `cargo test`; `cargo xtask test` builds and installs both and runs them
//! with `--ignored`. Missing tools make them fail, never pass.

use std::time::Duration;

use confide_tests::browser::{Browser, BrowserEnv, BrowserOptions, Driver};
use confide_tests::relay::TestRelay;

#[tokio::test]
#[ignore = "needs Chromium and the built app: run `cargo xtask test`"]
async fn app_mounts_and_worker_answers_ping() {
    let env = BrowserEnv::from_env();
    let relay = TestRelay::start(Some(env.dist.clone())).await;
    let driver = Driver::start(&env).await;
    let browser = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    browser.goto(&relay.http_url()).await;
    browser
        .wait_until(
            "the Yew app to mount",
            Duration::from_secs(20),
            "return document.getElementById('confide-app') !== null",
        )
        .await;
    let status = browser
        .wait_until(
            "the frame-crypto worker to answer ping",
            Duration::from_secs(20),
            "const s = document.getElementById('confide-app').dataset.worker; return s === 'ready' ? s : null",
        )
        .await;
    assert_eq!(status, "ready");
    browser.close().await;
}
