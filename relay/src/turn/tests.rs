//! The TURN state machine driven in memory, with requests written by the
//! `stun-types` codec the way a browser writes them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stun_types::attribute::{ErrorCode, Nonce, Realm, Username};
use stun_types::message::{
    BINDING, IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass,
    MessageIntegrityCredentials, MessageWrite, MessageWriteExt, MessageWriteVec, Method,
};
use turn_types::attribute::{
    ChannelNumber, Data, EvenPort, Lifetime, RequestedTransport, ReservationToken, XorPeerAddress,
    XorRelayedAddress,
};
use turn_types::channel::ChannelData;
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, DATA, REFRESH, SEND};

use super::creds::Minter;
use super::metrics::{Refusal, TurnMetrics};
use super::server::{Client, Output, RelayPorts, Transport, TurnServer, TurnSettings};

const OWN: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10));
const SECRET: &[u8] = b"test secret";
const UNIX: u64 = 1_800_000_000;

struct Ports(u16);

impl RelayPorts for Ports {
    fn open(&mut self, even: bool) -> Option<u16> {
        self.0 += 1;
        if even && self.0 % 2 == 1 {
            self.0 += 1;
        }
        Some(self.0)
    }
}

fn settings() -> TurnSettings {
    TurnSettings {
        allocate: true,
        realm: "confide".into(),
        relay_ip: OWN,
        max_allocations: 100,
        max_allocations_per_credential: 3,
        max_lifetime: Duration::from_secs(12 * 3600),
        bandwidth: 512 * 1024,
        is_own: Box::new(|ip| ip == OWN),
    }
}

fn server_with(settings: TurnSettings) -> TurnServer {
    TurnServer::new(
        settings,
        Minter::new(SECRET),
        Box::new(Ports(50000)),
        Arc::new(TurnMetrics::default()),
    )
}

fn server() -> TurnServer {
    server_with(settings())
}

/// A TURN client as a browser behaves: first request without credentials,
/// then again with the realm and nonce from the 401.
struct C {
    client: Client,
    username: String,
    password: String,
    nonce: Option<String>,
}

/// What came back: the error code (0 for success) and the raw answer.
struct Answer {
    code: u16,
    bytes: Vec<u8>,
}

impl Answer {
    fn msg(&self) -> Message<'_> {
        match Message::from_bytes(&self.bytes) {
            Ok(m) => m,
            Err(e) => panic!("answer does not parse: {e}"),
        }
    }
}

fn client(port: u16, id: &str, expires: u64) -> C {
    let c = Minter::new(SECRET).mint(id, expires);
    C {
        client: Client {
            transport: Transport::Udp,
            addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)), port),
        },
        username: c.username,
        password: c.password.to_string(),
        nonce: None,
    }
}

fn answers(out: &[Output], to: Client) -> Vec<Vec<u8>> {
    out.iter()
        .filter_map(|o| match o {
            Output::ToClient { client, bytes } if *client == to => Some(bytes.clone()),
            _ => None,
        })
        .collect()
}

impl C {
    fn request(&self, method: Method, add: &dyn Fn(&mut MessageWriteVec), sign: bool) -> Vec<u8> {
        let mut w = Message::builder_request(method, MessageWriteVec::new());
        add(&mut w);
        if sign && let Some(nonce) = &self.nonce {
            let creds: MessageIntegrityCredentials = LongTermKeyCredentials::new(
                self.username.clone(),
                self.password.clone(),
                "confide".into(),
            )
            .into();
            w.add_attribute(&Username::new(&self.username).unwrap_or_else(|_| panic!()))
                .ok();
            w.add_attribute(&Realm::new("confide").unwrap_or_else(|_| panic!()))
                .ok();
            w.add_attribute(&Nonce::new(nonce).unwrap_or_else(|_| panic!()))
                .ok();
            w.add_message_integrity(&creds, IntegrityAlgorithm::Sha1)
                .ok();
        }
        w.finish()
    }

    /// Sends a request (learning the nonce on 401/438 and trying once more).
    fn call(
        &mut self,
        s: &mut TurnServer,
        method: Method,
        add: &dyn Fn(&mut MessageWriteVec),
        now: Instant,
    ) -> Answer {
        for _ in 0..2 {
            let bytes = self.request(method, add, true);
            let out = s.on_client(self.client, &bytes, now, UNIX);
            let mut got = answers(&out, self.client);
            assert_eq!(got.len(), 1, "one answer per request");
            let bytes = got.remove(0);
            let answer = Answer { code: 0, bytes };
            let msg = answer.msg();
            let code = match msg.class() {
                MessageClass::Success => 0,
                _ => msg
                    .attribute::<ErrorCode>()
                    .map(|e| e.code())
                    .unwrap_or(u16::MAX),
            };
            let had_nonce = self.nonce.is_some();
            if (code == 401 && !had_nonce) || code == 438 {
                self.nonce = msg.attribute::<Nonce>().ok().map(|n| n.nonce().to_owned());
                continue;
            }
            return Answer {
                code,
                bytes: answer.bytes,
            };
        }
        panic!("no answer after a nonce retry");
    }

    fn allocate(&mut self, s: &mut TurnServer, now: Instant) -> Answer {
        self.call(
            s,
            ALLOCATE,
            &|w| {
                w.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                    .ok();
            },
            now,
        )
    }

    fn relayed(&mut self, s: &mut TurnServer, now: Instant) -> SocketAddr {
        let a = self.allocate(s, now);
        assert_eq!(a.code, 0, "allocation refused");
        let msg = a.msg();
        match msg.attribute::<XorRelayedAddress>() {
            Ok(r) => r.addr(msg.transaction_id()),
            Err(e) => panic!("no relayed address: {e}"),
        }
    }

    fn permission(&mut self, s: &mut TurnServer, peer: &str, now: Instant) -> u16 {
        let peer: SocketAddr = peer.parse().unwrap_or_else(|_| panic!("{peer}"));
        self.call(
            s,
            CREATE_PERMISSION,
            &|w| {
                let t = w.transaction_id();
                w.add_attribute(&XorPeerAddress::new(peer, t)).ok();
            },
            now,
        )
        .code
    }

    fn channel(&mut self, s: &mut TurnServer, number: u16, peer: SocketAddr, now: Instant) -> u16 {
        self.call(
            s,
            CHANNEL_BIND,
            &|w| {
                let t = w.transaction_id();
                w.add_attribute(&ChannelNumber::new(number)).ok();
                w.add_attribute(&XorPeerAddress::new(peer, t)).ok();
            },
            now,
        )
        .code
    }

    fn send(&self, s: &mut TurnServer, peer: SocketAddr, data: &[u8], now: Instant) -> Vec<Output> {
        let mut w = Message::builder_indication(SEND, MessageWriteVec::new());
        let t = w.transaction_id();
        w.add_attribute(&XorPeerAddress::new(peer, t)).ok();
        w.add_attribute(&Data::new(data)).ok();
        s.on_client(self.client, &w.finish(), now, UNIX)
    }
}

#[test]
fn binding_answers_the_mapped_address() {
    let mut s = server_with(TurnSettings {
        allocate: false,
        ..settings()
    });
    let c = client(4000, "a", UNIX + 60);
    let req = c.request(BINDING, &|_| {}, false);
    let out = s.on_client(c.client, &req, Instant::now(), UNIX);
    let got = answers(&out, c.client);
    let msg = Message::from_bytes(&got[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(msg.class(), MessageClass::Success);
    let mapped = msg
        .attribute::<stun_types::attribute::XorMappedAddress>()
        .map(|a| a.addr(msg.transaction_id()));
    assert_eq!(mapped.ok(), Some(c.client.addr));
}

#[test]
fn stun_only_refuses_allocate() {
    let mut s = server_with(TurnSettings {
        allocate: false,
        ..settings()
    });
    let mut c = client(4000, "a", UNIX + 60);
    assert_eq!(c.allocate(&mut s, Instant::now()).code, 403);
    assert_eq!(s.allocation_count(), 0);
}

#[test]
fn allocation_needs_valid_credentials() {
    let mut s = server();
    let now = Instant::now();
    // Without credentials: 401 carrying a realm and a nonce.
    let c = client(4000, "a", UNIX + 60);
    let req = c.request(
        ALLOCATE,
        &|w| {
            w.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                .ok();
        },
        false,
    );
    let out = s.on_client(c.client, &req, now, UNIX);
    let got = answers(&out, c.client);
    let msg = Message::from_bytes(&got[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        msg.attribute::<ErrorCode>().map(|e| e.code()).ok(),
        Some(401)
    );
    assert!(msg.attribute::<Nonce>().is_ok());
    assert_eq!(
        msg.attribute::<Realm>().map(|r| r.realm().to_owned()).ok(),
        Some("confide".into())
    );

    // Wrong password.
    let mut wrong = client(4001, "a", UNIX + 60);
    wrong.password = "not the password".into();
    assert_eq!(wrong.allocate(&mut s, now).code, 401);
    // Expired.
    let mut old = client(4002, "a", UNIX - 1);
    assert_eq!(old.allocate(&mut s, now).code, 401);
    // A forged nonce is stale (438, then a fresh one works).
    let mut forged = client(4003, "a", UNIX + 60);
    forged.nonce = Some("ffffffffff-AAAAAAAAAAAAAAAAAAAAAA".into());
    assert_eq!(forged.allocate(&mut s, now).code, 0);
    assert_eq!(s.allocation_count(), 1);
    assert_eq!(s.metrics().refusals(Refusal::Expired), 1);
    assert_eq!(s.metrics().refusals(Refusal::BadCredentials), 1);
}

#[test]
fn nonce_is_bound_to_the_client_address() {
    let mut s = server();
    let now = Instant::now();
    let mut a = client(4000, "a", UNIX + 60);
    assert_eq!(a.allocate(&mut s, now).code, 0);
    let mut b = client(4001, "b", UNIX + 60);
    b.client.addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 8)), 4001);
    b.nonce = a.nonce.clone();
    // b's first try with a's nonce gets 438; the retry with its own works.
    let req = b.request(
        ALLOCATE,
        &|w| {
            w.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                .ok();
        },
        true,
    );
    let out = s.on_client(b.client, &req, now, UNIX);
    let msg_bytes = answers(&out, b.client);
    let msg = Message::from_bytes(&msg_bytes[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        msg.attribute::<ErrorCode>().map(|e| e.code()).ok(),
        Some(438)
    );
}

#[test]
fn retransmitted_allocate_gets_the_same_answer() {
    let mut s = server();
    let now = Instant::now();
    let mut c = client(4000, "a", UNIX + 60);
    c.allocate(&mut s, now);
    let req = c.request(
        ALLOCATE,
        &|w| {
            w.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                .ok();
        },
        true,
    );
    let first = answers(&s.on_client(c.client, &req, now, UNIX), c.client);
    // The first call made the allocation: this one is a new transaction (437).
    let msg = Message::from_bytes(&first[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        msg.attribute::<ErrorCode>().map(|e| e.code()).ok(),
        Some(437)
    );
    // Allocate once, then the very same bytes again.
    let mut e = client(4002, "c", UNIX + 60);
    e.nonce = c.nonce.clone();
    e.client.addr = SocketAddr::new(c.client.addr.ip(), 4002);
    let req = e.request(
        ALLOCATE,
        &|w| {
            w.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                .ok();
        },
        true,
    );
    let one = answers(&s.on_client(e.client, &req, now, UNIX), e.client);
    let two = answers(&s.on_client(e.client, &req, now, UNIX), e.client);
    assert_eq!(one, two);
    assert_eq!(s.allocation_count(), 2);
}

#[test]
fn peers_in_reserved_ranges_and_own_ports_are_refused() {
    let mut s = server();
    let now = Instant::now();
    let mut c = client(4000, "a", UNIX + 60);
    let relayed = c.relayed(&mut s, now);
    for peer in [
        "127.0.0.1:80",
        "10.0.0.1:22",
        "192.168.1.1:80",
        "172.16.0.1:80",
        "100.64.0.1:80",
        "169.254.169.254:80",
        "[fe80::1]:80",
        "[::1]:80",
        "[::ffff:127.0.0.1]:80",
        "203.0.113.10:443",
        "203.0.113.10:3478",
    ] {
        assert_eq!(c.permission(&mut s, peer, now), 403, "{peer}");
    }
    for (n, peer) in ["127.0.0.1:80", "10.0.0.1:22", "203.0.113.10:8080"]
        .iter()
        .enumerate()
    {
        let peer: SocketAddr = peer.parse().unwrap_or_else(|_| panic!());
        assert_eq!(c.channel(&mut s, 0x4000 + n as u16, peer, now), 403);
    }
    // Its own relayed address is an active relayed port: allowed.
    assert_eq!(c.permission(&mut s, &relayed.to_string(), now), 0);
    // A public peer is fine; a channel number outside the range is not.
    assert_eq!(c.permission(&mut s, "198.51.100.99:5000", now), 0);
    let public: SocketAddr = "198.51.100.99:5000".parse().unwrap_or_else(|_| panic!());
    assert_eq!(c.channel(&mut s, 0x3fff, public, now), 400);
    assert_eq!(c.channel(&mut s, 0x4000, public, now), 0);
}

/// An Allocate with extra attributes after REQUESTED-TRANSPORT.
fn allocate_with(
    c: &mut C,
    s: &mut TurnServer,
    extra: &dyn Fn(&mut MessageWriteVec),
    now: Instant,
) -> Answer {
    c.call(
        s,
        ALLOCATE,
        &|w| {
            w.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                .ok();
            extra(w);
        },
        now,
    )
}

#[test]
fn even_port_without_reservation_gets_an_even_port() {
    let mut s = server();
    let now = Instant::now();
    // The test's port source would hand out 50001 next: odd.
    let mut c = client(4000, "a", UNIX + 60);
    let a = allocate_with(
        &mut c,
        &mut s,
        &|w| {
            w.add_attribute(&EvenPort::new(false)).ok();
        },
        now,
    );
    assert_eq!(a.code, 0);
    let msg = a.msg();
    let relayed = msg
        .attribute::<XorRelayedAddress>()
        .map(|r| r.addr(msg.transaction_id()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(relayed.port() % 2, 0, "{relayed}");
    assert!(msg.attribute::<ReservationToken>().is_err());
    // Without EVEN-PORT the next one may be odd.
    let mut d = client(4001, "a", UNIX + 60);
    assert_eq!(d.relayed(&mut s, now).port() % 2, 1);
}

#[test]
fn even_port_with_reservation_and_reservation_tokens_are_refused() {
    let mut s = server();
    let now = Instant::now();
    let mut c = client(4000, "a", UNIX + 60);
    // R = 1 (reserve the next port too): not offered, 508.
    let even_r = |w: &mut MessageWriteVec| {
        w.add_attribute(&EvenPort::new(true)).ok();
    };
    assert_eq!(allocate_with(&mut c, &mut s, &even_r, now).code, 508);
    // A token we never issued: 508.
    let token = |w: &mut MessageWriteVec| {
        w.add_attribute(&ReservationToken::new(7)).ok();
    };
    assert_eq!(allocate_with(&mut c, &mut s, &token, now).code, 508);
    // Both together are exclusive: 400.
    let both = |w: &mut MessageWriteVec| {
        w.add_attribute(&EvenPort::new(false)).ok();
        w.add_attribute(&ReservationToken::new(7)).ok();
    };
    assert_eq!(allocate_with(&mut c, &mut s, &both, now).code, 400);
    assert_eq!(s.allocation_count(), 0);
    assert_eq!(s.metrics().refusals(Refusal::Unsupported), 2);
}

#[test]
fn rfc_5766_channel_numbers_are_bound_and_carried() {
    // coturn's turnutils_uclient picks channel numbers up to 0x7FFF (RFC
    // 5766's range), which RFC 8656 narrowed to 0x4FFF.
    let mut s = server();
    let now = Instant::now();
    let mut a = client(4000, "a", UNIX + 60);
    let mut b = client(4001, "b", UNIX + 60);
    let ra = a.relayed(&mut s, now);
    let rb = b.relayed(&mut s, now);
    assert_eq!(a.channel(&mut s, 0x616c, rb, now), 0);
    assert_eq!(b.channel(&mut s, 0x7fff, ra, now), 0);
    let mut frame = vec![0; 4 + 3];
    ChannelData::new(0x616c, b"abc").write_into_unchecked(&mut frame);
    let out = s.on_client(a.client, &frame, now, UNIX);
    let got = answers(&out, b.client);
    assert_eq!(got.len(), 1, "{out:?}");
    let cd = ChannelData::parse(&got[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((cd.id(), cd.data()), (0x7fff, &b"abc"[..]));
}

#[test]
fn channel_numbers_outside_the_range_and_forbidden_peers_are_refused() {
    let mut s = server();
    let now = Instant::now();
    let mut a = client(4000, "a", UNIX + 60);
    let mut b = client(4001, "b", UNIX + 60);
    a.relayed(&mut s, now);
    let rb = b.relayed(&mut s, now);
    // Numbers that are no channel at all.
    assert_eq!(a.channel(&mut s, 0x8000, rb, now), 400);
    assert_eq!(a.channel(&mut s, 0xfffe, rb, now), 400);
    assert_eq!(a.channel(&mut s, 0x3fff, rb, now), 400);
    // The wider range changes nothing about which peers are allowed.
    for peer in [
        "127.0.0.1:80",
        "10.0.0.1:22",
        "192.168.1.1:80",
        "203.0.113.10:8080",
    ] {
        let peer: SocketAddr = peer.parse().unwrap_or_else(|_| panic!());
        assert_eq!(a.channel(&mut s, 0x616c, peer, now), 403, "{peer}");
    }
    // One number, one peer.
    assert_eq!(a.channel(&mut s, 0x616c, rb, now), 0);
    let other: SocketAddr = "198.51.100.99:5000".parse().unwrap_or_else(|_| panic!());
    assert_eq!(a.channel(&mut s, 0x616c, other, now), 400);
    // ChannelData on a number that is not bound is dropped.
    let mut frame = vec![0; 4 + 1];
    ChannelData::new(0x616d, b"x").write_into_unchecked(&mut frame);
    assert!(s.on_client(a.client, &frame, now, UNIX).is_empty());
}

#[test]
fn two_allocations_on_this_server_reach_each_other() {
    let mut s = server();
    let now = Instant::now();
    let mut a = client(4000, "a", UNIX + 60);
    let mut b = client(4001, "b", UNIX + 60);
    let ra = a.relayed(&mut s, now);
    let rb = b.relayed(&mut s, now);
    assert_eq!(ra.ip(), OWN);
    assert_ne!(ra, rb);
    assert_eq!(a.permission(&mut s, &rb.to_string(), now), 0);
    assert_eq!(b.permission(&mut s, &ra.to_string(), now), 0);
    // Send indication a → b arrives at b as a Data indication from a's relayed address.
    let out = a.send(&mut s, rb, b"hello", now);
    let got = answers(&out, b.client);
    assert_eq!(got.len(), 1, "{out:?}");
    let msg = Message::from_bytes(&got[0]).unwrap_or_else(|e| panic!("{e}"));
    assert!(msg.has_method(DATA));
    let from = msg
        .attribute::<XorPeerAddress>()
        .map(|p| p.addr(msg.transaction_id()));
    assert_eq!(from.ok(), Some(ra));
    assert_eq!(
        msg.attribute::<Data>().map(|d| d.data().to_vec()).ok(),
        Some(b"hello".to_vec())
    );
    // Nothing left the process.
    assert!(!out.iter().any(|o| matches!(o, Output::ToPeer { .. })));

    // Channels both ways: ChannelData in, ChannelData out.
    assert_eq!(a.channel(&mut s, 0x4001, rb, now), 0);
    assert_eq!(b.channel(&mut s, 0x4002, ra, now), 0);
    let mut frame = vec![0; 4 + 3];
    ChannelData::new(0x4001, b"abc").write_into_unchecked(&mut frame);
    let out = s.on_client(a.client, &frame, now, UNIX);
    let got = answers(&out, b.client);
    let cd = ChannelData::parse(&got[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((cd.id(), cd.data()), (0x4002, &b"abc"[..]));

    // Without a permission nothing is delivered: a third allocation c.
    let mut c = client(4002, "c", UNIX + 60);
    let rc = c.relayed(&mut s, now);
    let out = a.send(&mut s, rc, b"x", now);
    assert!(out.is_empty(), "{out:?}");
    // When b's allocation is gone, its port is no longer an own relay: 403.
    b.call(
        &mut s,
        REFRESH,
        &|w| {
            w.add_attribute(&Lifetime::new(0)).ok();
        },
        now,
    );
    assert_eq!(a.permission(&mut s, &rb.to_string(), now), 403);
}

#[test]
fn public_peers_get_packets_and_answer() {
    let mut s = server();
    let now = Instant::now();
    let mut a = client(4000, "a", UNIX + 60);
    let ra = a.relayed(&mut s, now);
    let peer: SocketAddr = "198.51.100.50:7000".parse().unwrap_or_else(|_| panic!());
    // No permission yet: dropped both ways.
    assert!(a.send(&mut s, peer, b"x", now).is_empty());
    assert!(s.on_peer(ra.port(), peer, b"y", now).is_empty());
    assert_eq!(a.permission(&mut s, &peer.to_string(), now), 0);
    let out = a.send(&mut s, peer, b"x", now);
    assert_eq!(
        out,
        vec![Output::ToPeer {
            relay_port: ra.port(),
            to: peer,
            bytes: b"x".to_vec()
        }]
    );
    let out = s.on_peer(ra.port(), peer, b"y", now);
    assert_eq!(answers(&out, a.client).len(), 1);
    // Permissions expire after five minutes.
    let later = now + Duration::from_secs(301);
    s.tick(later, UNIX + 301);
    assert!(s.on_peer(ra.port(), peer, b"y", later).is_empty());
}

#[test]
fn per_credential_and_total_caps() {
    let mut s = server_with(TurnSettings {
        max_allocations: 4,
        ..settings()
    });
    let now = Instant::now();
    for port in 0..3 {
        let mut c = client(5000 + port, "same", UNIX + 60);
        assert_eq!(c.allocate(&mut s, now).code, 0);
    }
    let mut fourth = client(5003, "same", UNIX + 60);
    assert_eq!(fourth.allocate(&mut s, now).code, 486);
    let mut other = client(5004, "other", UNIX + 60);
    assert_eq!(other.allocate(&mut s, now).code, 0);
    let mut fifth = client(5005, "third", UNIX + 60);
    assert_eq!(fifth.allocate(&mut s, now).code, 508);
}

#[test]
fn revoked_credentials_lose_their_allocations() {
    let mut s = server();
    let now = Instant::now();
    let mut a = client(4000, "guest", UNIX + 600);
    let ra = a.relayed(&mut s, now);
    let out = s.revoke("guest", UNIX + 600);
    assert_eq!(out, vec![Output::CloseRelay(ra.port())]);
    assert_eq!(s.allocation_count(), 0);
    let mut again = client(4001, "guest", UNIX + 600);
    assert_eq!(again.allocate(&mut s, now).code, 401);
    assert_eq!(s.metrics().refusals(Refusal::Revoked), 1);
    assert_eq!(s.metrics().allocations(), 0);
}

#[test]
fn lifetime_is_capped() {
    let mut s = server_with(TurnSettings {
        max_lifetime: Duration::from_secs(900),
        ..settings()
    });
    let now = Instant::now();
    let mut a = client(4000, "a", UNIX + 3600);
    a.relayed(&mut s, now);
    let refresh = |a: &mut C, s: &mut TurnServer, at: Instant| {
        a.call(
            s,
            REFRESH,
            &|w| {
                w.add_attribute(&Lifetime::new(3600)).ok();
            },
            at,
        )
    };
    let r = refresh(&mut a, &mut s, now + Duration::from_secs(500));
    assert_eq!(r.code, 0);
    let granted = r.msg().attribute::<Lifetime>().map(|l| l.seconds()).ok();
    assert_eq!(granted, Some(400), "bounded by the 900 s cap");
    // At the cap the allocation is gone.
    let end = now + Duration::from_secs(900);
    assert_eq!(s.tick(end, UNIX + 900).len(), 1);
    assert_eq!(refresh(&mut a, &mut s, end).code, 437);
}

#[test]
fn bandwidth_is_capped_per_allocation() {
    let mut s = server_with(TurnSettings {
        bandwidth: 100_000,
        ..settings()
    });
    let now = Instant::now();
    let mut a = client(4000, "a", UNIX + 60);
    a.relayed(&mut s, now);
    let peer: SocketAddr = "198.51.100.50:7000".parse().unwrap_or_else(|_| panic!());
    a.permission(&mut s, &peer.to_string(), now);
    let packet = [0u8; 1000];
    let sent = (0..200)
        .filter(|_| !a.send(&mut s, peer, &packet, now).is_empty())
        .count();
    // One second of burst (100 kB, at least 64 KiB) passes at once, the rest is dropped.
    assert_eq!(sent, 100);
    assert_eq!(s.metrics().bandwidth_drops(), 100);
    // Half a second later, half a second of rate is back.
    let later = now + Duration::from_millis(500);
    let sent = (0..200)
        .filter(|_| !a.send(&mut s, peer, &packet, later).is_empty())
        .count();
    assert_eq!(sent, 50);
}

#[test]
fn garbage_is_ignored() {
    let mut s = server();
    let c = client(4000, "a", UNIX + 60);
    let now = Instant::now();
    for data in [
        &[][..],
        &[0xff; 10][..],
        &[0x00, 0x01, 0x00, 0x08, 0x21, 0x12][..],
        &[0x40, 0x00, 0x00, 0x10, 1, 2][..],
    ] {
        assert!(s.on_client(c.client, data, now, UNIX).is_empty());
    }
    assert!(s.on_peer(1, c.client.addr, b"x", now).is_empty());
}

/// Random and mutated datagrams from clients and peers: no panic, and every
/// answer parses.
#[test]
fn random_input_does_not_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let mut s = server();
    let now = Instant::now();
    let mut a = client(4000, "a", UNIX + 60);
    let relayed = a.relayed(&mut s, now);
    a.permission(&mut s, "198.51.100.50:7000", now);
    // Seeds: real requests of every kind, mutated byte by byte.
    let seeds: Vec<Vec<u8>> = vec![
        a.request(BINDING, &|_| {}, false),
        a.request(
            ALLOCATE,
            &|w| {
                w.add_attribute(&RequestedTransport::new(RequestedTransport::UDP))
                    .ok();
            },
            true,
        ),
        a.request(
            CHANNEL_BIND,
            &|w| {
                let t = w.transaction_id();
                w.add_attribute(&ChannelNumber::new(0x4000)).ok();
                w.add_attribute(&XorPeerAddress::new(relayed, t)).ok();
            },
            true,
        ),
        a.request(
            REFRESH,
            &|w| {
                w.add_attribute(&Lifetime::new(60)).ok();
            },
            true,
        ),
        vec![0x40, 0x00, 0x00, 0x03, 1, 2, 3],
    ];
    for round in 0..20_000u32 {
        let mut data = seeds[round as usize % seeds.len()].clone();
        for _ in 0..rng.random_range(1..4) {
            let i = rng.random_range(0..data.len());
            data[i] = rng.random();
        }
        if rng.random_bool(0.1) {
            data.truncate(rng.random_range(0..data.len()));
        }
        let from = Client {
            transport: if round % 3 == 0 {
                Transport::Tcp(1)
            } else {
                Transport::Udp
            },
            addr: SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(198, 51, 100, (round % 4) as u8)),
                4000 + (round % 2) as u16,
            ),
        };
        for output in s.on_client(from, &data, now, UNIX) {
            if let Output::ToClient { bytes, .. } = output
                && bytes[0] >> 6 == 0
            {
                assert!(Message::from_bytes(&bytes).is_ok());
            }
        }
        let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 50)), 7000);
        let _ = s.on_peer(relayed.port(), peer, &data, now);
    }
    let big = vec![0u8; 65507];
    let peer = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(198, 51, 100, 50)), 7000);
    assert!(s.on_peer(relayed.port(), peer, &big, now).is_empty());
}
