//! Rooms sharded across relay nodes (issue 19; docs/PROTOCOL.md "Shard
//! label", docs/RELAY.md "Several relay nodes").
//!
//! - In-process relays: a node with `--shard N/M` closes connections for
//!   labels it does not hold, without a label or with a malformed one (4019),
//!   and no node lets a connection create, knock on or resume a room whose
//!   label is not the one it was routed by; the refused room really does not
//!   exist afterwards.
//! - Three real relay processes behind a real HAProxy (`cluster.rs`): 30
//!   rooms made through HAProxy, each with a guest, all hosted with one
//!   counsellor's sign-in over one connection per room (as her tabs do), so
//!   her sessions work on whichever node they land; every room's members
//!   are on one node (their ICE servers name that node's TURN port, the
//!   nodes' `/metrics` count exactly those rooms and connections, and a
//!   direct knock finds each room on its node only); rooms on all three
//!   nodes; stopping one node ends exactly its rooms while the others keep
//!   forwarding, and new rooms (and a host coming back) go to the other two.
//! - The fixed table of docs/RELAY.md (HAProxy map file, nodes with
//!   `--shard i/3`): each room lands on the node that holds its label; a
//!   table that does not match the nodes fails loudly (4019), creating no
//!   room anywhere.
//!
//!   Needs the `haproxy` package (fails naming it); `#[ignore]`d in a plain
//!   `cargo test`, run by `cargo xtask test`.

use confide_relay::config::Config;
use confide_shared::shard::ShardLabel;
use confide_shared::wire::{ClientMessage, ErrorCode, MemberId, ServerMessage};
use confide_tests::cluster::{Cluster, Routing};
use confide_tests::relay::TestRelay;
use confide_tests::ws::{Client, add_invite, create_msg, knock_msg, resume_msg, room_id, send_msg};

fn wrong_shard() -> u16 {
    ErrorCode::WrongShard.close_code().unwrap_or_default()
}

fn label(n: u8) -> ShardLabel {
    ShardLabel::of(&room_id(n))
}

/// Test room numbers whose labels node `index` of `count` holds (value mod count).
fn rooms_held_by(index: u8, count: u8) -> Vec<u8> {
    (1..=255u8)
        .filter(|n| label(*n).0 % count == index)
        .collect()
}

/// Connects with shard label `s` (raw text, may be malformed; `None`: no label).
async fn connect(relay: &TestRelay, s: Option<&str>) -> Client {
    let url = match s {
        Some(s) => format!("{}?s={s}", relay.ws_url()),
        None => relay.ws_url(),
    };
    Client::connect(&url).await
}

async fn created(client: &mut Client) {
    match client.recv().await {
        ServerMessage::RoomCreated { .. } => {}
        other => panic!("expected room_created, got {other:?}"),
    }
}

/// Whether room `n` exists on `relay`, asked as a signed-in counsellor (a
/// knock no longer tells: 4007 either way): `create_room` with another host
/// token gets 4016 where the room is, and 4021 (room id not of that token)
/// where it is not, so the probe makes no room.
async fn exists(relay: &TestRelay, n: u8) -> bool {
    probe_exists(connect(relay, Some(&label(n).to_string())).await, n).await
}

async fn probe_exists(mut probe: Client, n: u8) -> bool {
    probe.send(&create_msg(n, n.wrapping_add(100))).await;
    match probe.next_event().await {
        confide_tests::ws::Event::Closed(Some((4016, _))) => true,
        confide_tests::ws::Event::Closed(Some((4021, _))) => false,
        other => panic!("a probing create_room got {other:?}"),
    }
}

#[tokio::test]
async fn a_node_holds_only_its_labels_and_rooms_only_their_own() {
    let mut config = Config::for_tests();
    config.shard = Some("1/3".parse().unwrap_or_else(|e| panic!("{e}")));
    let relay = TestRelay::start_with(config).await;
    let held = rooms_held_by(0, 3);
    // Two rooms this node holds, with different labels; a's label has a hex
    // letter, so its upper-case spelling below is really another spelling.
    let a = *held
        .iter()
        .find(|n| {
            label(**n)
                .to_string()
                .bytes()
                .any(|c| c.is_ascii_alphabetic())
        })
        .unwrap_or_else(|| panic!("no label with a letter"));
    let b = *held
        .iter()
        .find(|n| label(**n) != label(a))
        .unwrap_or_else(|| panic!("no second label"));
    let elsewhere = rooms_held_by(1, 3)[0];

    // Its own label: served.
    let mut host = connect(&relay, Some(&label(a).to_string())).await;
    host.send(&create_msg(a, a)).await;
    created(&mut host).await;

    // Another node's label, no label, a malformed one: closed at once,
    // before any message.
    for s in [
        Some(label(elsewhere).to_string()),
        None,
        Some(label(a).to_string().to_uppercase()),
        Some(format!("{}&s={}", label(a), label(a))),
        Some("zz".to_string()),
    ] {
        let mut misrouted = connect(&relay, s.as_deref()).await;
        misrouted.expect_close(wrong_shard()).await;
    }

    // A client routed by one label that names a room of another label (both
    // held here): closed, and the room is not created.
    let mut liar = connect(&relay, Some(&label(a).to_string())).await;
    liar.send(&create_msg(b, b)).await;
    liar.expect_close(wrong_shard()).await;
    assert!(!exists(&relay, b).await, "the refused room exists");
    assert!(exists(&relay, a).await);

    // A knock and a resume on room a, routed by room b's label: closed; the
    // knock's invite stays unused (the right route still gets in with it).
    add_invite(&mut host, a, 1, None).await;
    let mut knocker = connect(&relay, Some(&label(b).to_string())).await;
    knocker.send(&knock_msg(a, 1, b"knock")).await;
    knocker.expect_close(wrong_shard()).await;
    let mut resumer = connect(&relay, Some(&label(b).to_string())).await;
    resumer.send(&resume_msg(a, MemberId(1), 1)).await;
    resumer.expect_close(wrong_shard()).await;
    let mut guest = connect(&relay, Some(&label(a).to_string())).await;
    guest.send(&knock_msg(a, 1, b"knock")).await;
    assert!(
        matches!(guest.recv().await, ServerMessage::Waiting { .. }),
        "the invite was used up by the refused knock"
    );
    relay.shutdown().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn without_shard_every_label_is_served_and_still_must_match() {
    let relay = TestRelay::start_with(Config::for_tests()).await;
    // One node: the label is optional, and any label is served.
    let mut plain = connect(&relay, None).await;
    plain.send(&create_msg(1, 1)).await;
    created(&mut plain).await;
    let mut labelled = connect(&relay, Some(&label(2).to_string())).await;
    labelled.send(&create_msg(2, 2)).await;
    created(&mut labelled).await;
    // A connection may host a second room of its own label (with that room's
    // own host token), not of another.
    let same = (3..=255u8)
        .find(|n| label(*n) == label(2))
        .unwrap_or_else(|| panic!("no other room with label {}", label(2)));
    labelled.send(&create_msg(same, same)).await;
    created(&mut labelled).await;
    let other = (3..=255u8)
        .find(|n| label(*n) != label(2))
        .unwrap_or_else(|| panic!("no room with another label"));
    labelled.send(&create_msg(other, other)).await;
    labelled.expect_close(wrong_shard()).await;
    assert!(!exists(&relay, other).await);
    // A malformed label is refused even here: a balancer may hash its spelling.
    let mut malformed = connect(&relay, Some("2D")).await;
    malformed.expect_close(wrong_shard()).await;
    relay.shutdown().await.unwrap_or_else(|e| panic!("{e}"));
}

// ---------------------------------------------------------------------------
// Three nodes behind HAProxy.

/// A room made through HAProxy: its host and one admitted guest, and the node
/// its ICE servers name.
struct Room {
    n: u8,
    host: Client,
    host_member: MemberId,
    guest: Client,
    guest_member: MemberId,
    node: usize,
}

/// The TURN port of the `turn:` URL in an `ice_servers` message.
fn turn_port(message: &ServerMessage) -> u16 {
    let ServerMessage::IceServers { servers, .. } = message else {
        panic!("expected ice_servers, got {message:?}");
    };
    servers
        .iter()
        .flat_map(|s| s.urls.iter())
        .find_map(|url| {
            let rest = url.strip_prefix("turn:127.0.0.1:")?;
            rest.split('?').next()?.parse().ok()
        })
        .unwrap_or_else(|| panic!("no turn:127.0.0.1 URL in {servers:?}"))
}

impl Room {
    /// Creates room `n` through HAProxy, invites, knocks and admits a guest
    /// (both through HAProxy) and has the guest send to the host.
    async fn open(cluster: &Cluster, n: u8) -> Room {
        let id = room_id(n);
        let url = cluster.ws_url(&id);
        let mut host = Client::connect(&url).await;
        host.send(&create_msg(n, n)).await;
        let host_member = match host.recv().await {
            ServerMessage::RoomCreated {
                member,
                resumed: false,
                ..
            } => member,
            other => panic!("room {n}: expected a new room, got {other:?}"),
        };
        let port = turn_port(&host.recv().await);
        let node = cluster
            .node_with_turn_port(port)
            .unwrap_or_else(|| panic!("room {n}: TURN port {port} is no node's"));
        add_invite(&mut host, n, n, None).await;
        let mut guest = Client::connect(&url).await;
        guest.send(&knock_msg(n, n, b"knock")).await;
        let guest_member = match guest.recv().await {
            ServerMessage::Waiting { member, .. } => member,
            other => panic!("room {n}: the guest expected waiting, got {other:?}"),
        };
        assert!(matches!(host.recv().await, ServerMessage::Knocked { .. }));
        host.send(&ClientMessage::Admit {
            room: id,
            member: guest_member,
        })
        .await;
        assert!(matches!(guest.recv().await, ServerMessage::Admitted { .. }));
        // The guest's TURN is its room's node too.
        assert_eq!(
            turn_port(&guest.recv().await),
            port,
            "room {n}: guest's TURN"
        );
        assert!(matches!(
            host.recv().await,
            ServerMessage::MemberJoined { .. }
        ));
        let mut room = Room {
            n,
            host,
            host_member,
            guest,
            guest_member,
            node,
        };
        room.exchange(b"hello").await;
        room
    }

    /// Both ways: the guest to the host, the host to the guest.
    async fn exchange(&mut self, payload: &[u8]) {
        self.guest
            .send(&send_msg(self.n, Some(self.host_member), payload))
            .await;
        expect_delivery(&mut self.host, self.guest_member, payload, self.n).await;
        self.host
            .send(&send_msg(self.n, Some(self.guest_member), payload))
            .await;
        expect_delivery(&mut self.guest, self.host_member, payload, self.n).await;
    }
}

async fn expect_delivery(client: &mut Client, from: MemberId, payload: &[u8], n: u8) {
    match client.recv().await {
        ServerMessage::Deliver {
            from: f,
            payload: p,
            ..
        } => assert!(f == from && p.0 == payload, "room {n}: wrong delivery"),
        other => panic!("room {n}: expected deliver, got {other:?}"),
    }
}

/// What node `i` says about itself, checked against the rooms we made.
fn assert_node_holds(cluster: &Cluster, i: usize, rooms: &[&Room]) {
    let mine = rooms.iter().filter(|r| r.node == i).count() as u64;
    assert_eq!(cluster.metric(i, "confide_rooms"), mine, "node {i}'s rooms");
    assert_eq!(
        cluster.metric(i, "confide_connections"),
        2 * mine,
        "node {i}'s connections (host and guest per room)"
    );
}

/// Whether room `n` is on node `i`, asked directly (see [`exists`]).
async fn exists_directly(cluster: &Cluster, i: usize, n: u8) -> bool {
    probe_exists(
        Client::connect(&cluster.node_ws_url(i, &room_id(n))).await,
        n,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts three relay processes and HAProxy (package haproxy): run `cargo xtask test`"]
async fn rooms_stay_on_one_node_behind_haproxy() {
    let mut cluster = Cluster::start(3, None);
    let mut rooms = Vec::new();
    for n in 1..=30u8 {
        rooms.push(Room::open(&cluster, n).await);
    }

    let per_node: Vec<usize> = (0..3)
        .map(|i| rooms.iter().filter(|r| r.node == i).count())
        .collect();
    println!("rooms per node through HAProxy: {per_node:?}");
    // Every room's members on one node, counted by the nodes themselves.
    let all: Vec<&Room> = rooms.iter().collect();
    for i in 0..3 {
        assert_node_holds(&cluster, i, &all);
        assert!(
            rooms.iter().any(|r| r.node == i),
            "no room on node {i}: HAProxy did not spread the labels"
        );
    }
    assert_eq!(
        (0..3)
            .map(|i| cluster.metric(i, "confide_rooms"))
            .sum::<u64>(),
        30
    );
    // Directly: each room is on its node, and on no other.
    for room in &rooms {
        for i in 0..3 {
            assert_eq!(
                exists_directly(&cluster, i, room.n).await,
                i == room.node,
                "room {} on node {i}",
                room.n
            );
        }
    }

    // A client that names a room of another label than it was routed by is
    // refused, and the refusal is counted where it happened.
    let (a, b) = (room_id(101), room_id(102));
    assert_ne!(ShardLabel::of(&a), ShardLabel::of(&b));
    let mut liar = Client::connect(&cluster.ws_url(&a)).await;
    liar.send(&create_msg(102, 102)).await;
    liar.expect_close(wrong_shard()).await;
    let refused: u64 = (0..3)
        .map(|i| cluster.metric(i, "confide_errors_total{kind=\"wrong_shard\"}"))
        .sum();
    assert_eq!(refused, 1);

    // Stop the node with the most rooms.
    let stopped = (0..3)
        .max_by_key(|i| rooms.iter().filter(|r| r.node == *i).count())
        .unwrap_or_default();
    cluster.stop_node(stopped);
    let (gone, mut kept): (Vec<Room>, Vec<Room>) =
        rooms.into_iter().partition(|r| r.node == stopped);
    assert!(!gone.is_empty() && !kept.is_empty());
    // Its rooms end: host and guest are told and closed with 1001.
    let mut ended = Vec::new();
    for mut room in gone {
        for client in [&mut room.host, &mut room.guest] {
            assert!(matches!(client.recv().await, ServerMessage::ShuttingDown));
            client.expect_close(1001).await;
        }
        ended.push(room.n);
    }
    // The other rooms go on as before.
    for room in &mut kept {
        room.exchange(b"still here").await;
    }
    let alive: Vec<usize> = (0..3).filter(|i| *i != stopped).collect();
    let kept_refs: Vec<&Room> = kept.iter().collect();
    for &i in &alive {
        assert_node_holds(&cluster, i, &kept_refs);
    }

    // New rooms go to the remaining two nodes, and work.
    let mut new_rooms = Vec::new();
    for n in 31..=40u8 {
        let room = Room::open(&cluster, n).await;
        assert_ne!(room.node, stopped, "room {n} went to the stopped node");
        new_rooms.push(room);
    }
    let now: Vec<&Room> = kept.iter().chain(new_rooms.iter()).collect();
    for &i in &alive {
        assert_node_holds(&cluster, i, &now);
    }
    assert!(
        new_rooms.iter().any(|r| r.node != new_rooms[0].node),
        "all new rooms on one node"
    );

    // A host of an ended room comes back (the app reconnects with its
    // token): its label now leads to another node, where the room starts
    // anew; its guests follow with a new link.
    let back = ended[0];
    let mut host = Client::connect(&cluster.ws_url(&room_id(back))).await;
    host.send(&create_msg(back, back)).await;
    assert!(matches!(
        host.recv().await,
        ServerMessage::RoomCreated { resumed: false, .. }
    ));
    let node = cluster
        .node_with_turn_port(turn_port(&host.recv().await))
        .unwrap_or_default();
    assert_ne!(node, stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "starts three relay processes and HAProxy (package haproxy): run `cargo xtask test`"]
async fn a_fixed_table_sends_each_label_to_the_node_that_holds_it() {
    // The table of docs/RELAY.md: label mod 3, nodes with --shard 1/3, 2/3, 3/3.
    let cluster = Cluster::start_with(3, None, Routing::Table(|label| usize::from(label) % 3));
    let mut rooms = Vec::new();
    for n in 1..=12u8 {
        let room = Room::open(&cluster, n).await;
        assert_eq!(room.node, usize::from(label(n).0) % 3, "room {n}");
        rooms.push(room);
    }
    let all: Vec<&Room> = rooms.iter().collect();
    for i in 0..3 {
        assert_node_holds(&cluster, i, &all);
    }
    drop(rooms);
    drop(cluster);

    // A table shifted by one against the nodes' --shard: the connection is
    // closed at once, counted where it arrived, and no room exists anywhere.
    let wrong = Cluster::start_with(
        3,
        None,
        Routing::Table(|label| (usize::from(label) + 1) % 3),
    );
    let mut misrouted = Client::connect(&wrong.ws_url(&room_id(1))).await;
    misrouted.send(&create_msg(1, 1)).await;
    misrouted.expect_close(wrong_shard()).await;
    let refused: u64 = (0..3)
        .map(|i| wrong.metric(i, "confide_errors_total{kind=\"wrong_shard\"}"))
        .sum();
    assert_eq!(refused, 1);
    assert_eq!(
        (0..3)
            .map(|i| wrong.metric(i, "confide_rooms"))
            .sum::<u64>(),
        0
    );
}
