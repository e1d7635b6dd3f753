#![allow(clippy::expect_used)]
//! A full call through HAProxy in front of three relay nodes (issue 19;
//! `cluster.rs`): the counsellor and the guest (Chromium both) open the app
//! at HAProxy's address, and their pages' WebSockets carry the room's shard
//! label, so HAProxy sends both to the same node. Without the label HAProxy
//! would spread the two connections over the nodes and the guest's knock
//! would find no room. Checked from the nodes' side too: exactly one node
//! holds the room and both connections, the other two hold nothing.
//!
//! Then the counsellor starts more sessions in new tabs of the same browser
//! (her sign-in is shared, each tab has its own connection with its own
//! label) until one lands on another node, and a second guest joins that
//! one: both calls run at once, on two nodes.
//!
//! Needs the browsers, the built app and the `haproxy` package;
//! `#[ignore]`d in a plain `cargo test`, run by `cargo xtask test`.

use confide_tests::browser::{Browser, BrowserEnv, BrowserOptions, Driver};
use confide_tests::call::*;
use confide_tests::cluster::Cluster;

/// (rooms, connections) of every node.
fn load(cluster: &Cluster) -> Vec<(u64, u64)> {
    (0..cluster.nodes.len())
        .map(|i| {
            (
                cluster.metric(i, "confide_rooms"),
                cluster.metric(i, "confide_connections"),
            )
        })
        .collect()
}

/// Waits until the `who`'s remote video has presented more than `frames` frames.
async fn plays_beyond(browser: &Browser, who: &str, frames: u64) {
    browser
        .wait_until(
            &format!("the {who}'s remote video playing"),
            STEP * 2,
            &format!(
                "const v = document.querySelector('[data-testid=remote-video]'); \
                 return v && v.getVideoPlaybackQuality().totalVideoFrames > {frames}"
            ),
        )
        .await;
}

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
        plays_beyond(browser, who, 10).await;
        assert!(
            looks_like_fake_camera(remote_rgb(browser).await),
            "the {who} sees the other's camera"
        );
    }

    // One node holds the room and both people's connections; the others nothing.
    let held = load(&cluster);
    let mut sorted = held.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        vec![(0, 0), (0, 0), (1, 2)],
        "(rooms, connections) per node: {held:?}"
    );
    println!("a call through HAProxy: safety code {code}, (rooms, connections) per node {held:?}");
    let first_node = held
        .iter()
        .position(|(rooms, _)| *rooms == 1)
        .expect("the node of the first room");

    // More sessions in new tabs until one is on another node (each lands on
    // a node by its random room id; eight tries miss with odds below 1 %).
    let mut second = None;
    for _ in 0..8 {
        let before = load(&cluster);
        let tab = host.client.new_window(true).await.expect("a new tab");
        host.client
            .switch_to_window(tab.handle)
            .await
            .expect("switching to the new tab");
        let link = counsellor_starts_session(&host, &cluster.http_url()).await;
        let after = load(&cluster);
        let node = (0..3)
            .find(|i| after[*i].0 == before[*i].0 + 1)
            .expect("the node of the new session's room");
        if node != first_node {
            second = Some((link, node));
            break;
        }
    }
    let (link, second_node) = second.expect("a session on another node within eight tabs");
    let nora = Browser::launch(&env, &driver, BrowserOptions::default()).await;
    guest_knocks(&nora, &link, "Nora", None).await;
    counsellor_admits_and_enters(&host, "Nora").await;
    sees_the_call(&nora).await;
    plays_beyond(&host, "counsellor's second", 10).await;
    plays_beyond(&nora, "second guest", 10).await;
    // The first call goes on meanwhile, on its node.
    let mara_saw = remote_frames(&guest).await;
    plays_beyond(&guest, "first guest", mara_saw + 10).await;
    println!("the counsellor's two sessions run at once on nodes {first_node} and {second_node}");
    nora.close().await;
    guest.close().await;
    host.close().await;
}
