#![allow(clippy::expect_used)]
//! A full call through HAProxy in front of three relay nodes (issue 19;
//! `cluster.rs`): the counsellor and the guest (Chromium both) open the app
//! at HAProxy's address, and their pages' WebSockets carry the room's shard
//! label, so HAProxy sends both to the same node. Without the label HAProxy
//! would spread the two connections over the nodes and the guest's knock
//! would find no room. Checked from the nodes' side too: exactly one node
//! holds the room and both connections, the other two hold nothing.
//!
//! Needs the browsers, the built app and the `haproxy` package;
//! `#[ignore]`d in a plain `cargo test`, run by `cargo xtask test`.

use confide_tests::browser::{Browser, BrowserEnv, BrowserOptions, Driver};
use confide_tests::call::*;
use confide_tests::cluster::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium, its driver, the built app and HAProxy: run `cargo xtask test`"]
async fn a_call_through_haproxy_in_front_of_three_nodes() {
    let env = BrowserEnv::from_env();
    let cluster = Cluster::start(3, Some(&env.dist));
    let driver = Driver::start(&env).await;
    let host = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    let guest = Browser::launch(&env, &driver, BrowserOptions::default()).await;

    let link = counsellor_starts_session(&host, &cluster.http_url()).await;
    assert!(
        link.starts_with(&format!("{}#", cluster.http_url())),
        "the invite link points at HAProxy: {link}"
    );
    guest_knocks(&guest, &link, "Mara", None).await;
    counsellor_admits_and_enters(&host, "Mara").await;
    sees_the_call(&guest).await;
    let code = both_show_the_same_code(&host, &guest).await;
    for (who, browser) in [("counsellor", &host), ("guest", &guest)] {
        browser
            .wait_until(
                &format!("the {who}'s remote video playing"),
                STEP * 2,
                "const v = document.querySelector('[data-testid=remote-video]'); \
                 return v && v.getVideoPlaybackQuality().totalVideoFrames > 10",
            )
            .await;
        assert!(
            looks_like_fake_camera(remote_rgb(browser).await),
            "the {who} sees the other's camera"
        );
    }

    // One node holds the room and both people's connections; the others nothing.
    let held: Vec<(u64, u64)> = (0..3)
        .map(|i| {
            (
                cluster.metric(i, "confide_rooms"),
                cluster.metric(i, "confide_connections"),
            )
        })
        .collect();
    let mut sorted = held.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        vec![(0, 0), (0, 0), (1, 2)],
        "(rooms, connections) per node: {held:?}"
    );
    println!("a call through HAProxy: safety code {code}, (rooms, connections) per node {held:?}");
    guest.close().await;
    host.close().await;
}
