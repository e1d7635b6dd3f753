//! Which peers a TURN allocation may talk to. The relay must not become a
//! door into the network it sits in: loopback, private, link-local (cloud
//! metadata), CGNAT, multicast and reserved addresses are refused, and so is
//! every address of the server itself, except a port that is an active
//! relayed port of this server (two browsers relayed through the same
//! server is the common case).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a peer address was refused (a kind for logs and metrics, never the address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Loopback, private, link-local, CGNAT, multicast, reserved or unspecified.
    Reserved,
    /// An address of this server on a port that is not an active relayed port.
    OwnAddress,
}

/// What the relay may do with a peer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// An ordinary public address.
    Allowed,
    /// An active relayed port of this server: deliver inside the process.
    OwnRelay(u16),
    Denied(Denied),
}

/// The IPv4 address behind an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) IPv6 address, else the address itself.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            let embedded =
                Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
            // NAT64 well-known prefix 64:ff9b::/96 and local-use 64:ff9b:1::/48.
            if s[0] == 0x64 && s[1] == 0xff9b && (s[2..6] == [0; 4] || s[2] == 1) {
                return IpAddr::V4(embedded);
            }
            // Deprecated IPv4-compatible ::a.b.c.d (not :: and ::1 themselves).
            if s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1) {
                return IpAddr::V4(embedded);
            }
            ip
        }
    }
}

/// Whether `ip` is in one of the ranges no allocation may reach.
pub fn is_reserved(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => reserved_v4(v4),
        IpAddr::V6(v6) => reserved_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    (u32::from(ip) & mask) == (u32::from(Ipv4Addr::from(net)) & mask)
}

fn reserved_v4(ip: Ipv4Addr) -> bool {
    const NETS: [([u8; 4], u32); 10] = [
        ([0, 0, 0, 0], 8),
        ([10, 0, 0, 0], 8),
        ([100, 64, 0, 0], 10),
        ([127, 0, 0, 0], 8),
        ([169, 254, 0, 0], 16),
        ([172, 16, 0, 0], 12),
        ([192, 168, 0, 0], 16),
        ([224, 0, 0, 0], 4),
        ([240, 0, 0, 0], 4),
        // 192.0.0.0/24: IETF protocol assignments (DS-Lite B4, NAT64 discovery).
        ([192, 0, 0, 0], 24),
    ];
    NETS.iter().any(|&(net, bits)| in_v4(ip, net, bits))
}

fn reserved_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_unspecified()
        || ip.is_loopback()
        || (first & 0xfe00) == 0xfc00 // fc00::/7 unique local
        || (first & 0xffc0) == 0xfe80 // fe80::/10 link-local
        || (first & 0xffc0) == 0xfec0 // fec0::/10 site-local (deprecated)
        || (first & 0xff00) == 0xff00 // ff00::/8 multicast
        || ip.segments()[..6] == [0; 6] // ::/96 (IPv4-compatible leftovers)
}

/// The verdict for `peer`. `is_own` says whether an address belongs to this
/// server; `is_relay_port` whether a port is an active relayed port.
pub fn peer_verdict(
    peer: SocketAddr,
    is_own: impl Fn(IpAddr) -> bool,
    is_relay_port: impl Fn(u16) -> bool,
) -> Verdict {
    let ip = canonical(peer.ip());
    if is_own(ip) {
        return if is_relay_port(peer.port()) {
            Verdict::OwnRelay(peer.port())
        } else {
            Verdict::Denied(Denied::OwnAddress)
        };
    }
    if is_reserved(ip) {
        return Verdict::Denied(Denied::Reserved);
    }
    Verdict::Allowed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(addr: &str) -> Verdict {
        let own: IpAddr = "203.0.113.10"
            .parse()
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        match addr.parse::<SocketAddr>() {
            Ok(a) => peer_verdict(a, |ip| ip == own, |port| port == 50000),
            Err(_) => panic!("bad test address {addr}"),
        }
    }

    #[test]
    fn reserved_ranges_are_denied() {
        for a in [
            "0.1.2.3:1",
            "10.0.0.1:1",
            "100.64.0.1:1",
            "100.127.255.255:1",
            "127.0.0.1:1",
            "169.254.169.254:80",
            "172.16.0.1:1",
            "172.31.255.255:1",
            "192.168.1.1:1",
            "224.0.0.1:1",
            "239.255.255.250:1900",
            "240.0.0.1:1",
            "255.255.255.255:1",
            "[::]:1",
            "[::1]:1",
            "[fc00::1]:1",
            "[fd12:3456::1]:1",
            "[fe80::1]:1",
            "[febf::1]:1",
            "[ff02::1]:1",
            "[::ffff:127.0.0.1]:1",
            "[::ffff:10.1.2.3]:1",
            "[::ffff:169.254.169.254]:80",
            "[64:ff9b::a00:1]:1",
            "[::127.0.0.1]:1",
        ] {
            assert_eq!(v(a), Verdict::Denied(Denied::Reserved), "{a}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for a in [
            "1.1.1.1:3478",
            "100.63.255.255:1",
            "100.128.0.1:1",
            "172.15.255.255:1",
            "172.32.0.1:1",
            "198.51.100.7:9",
            "203.0.113.11:5000",
            "[2001:db8::1]:1",
            "[2a00:1450::1]:1",
            "[::ffff:8.8.8.8]:53",
        ] {
            assert_eq!(v(a), Verdict::Allowed, "{a}");
        }
    }

    #[test]
    fn own_address_only_on_relay_ports() {
        assert_eq!(v("203.0.113.10:50000"), Verdict::OwnRelay(50000));
        assert_eq!(v("[::ffff:203.0.113.10]:50000"), Verdict::OwnRelay(50000));
        assert_eq!(v("203.0.113.10:443"), Verdict::Denied(Denied::OwnAddress));
        assert_eq!(v("203.0.113.10:3478"), Verdict::Denied(Denied::OwnAddress));
        assert_eq!(
            v("[64:ff9b::cb00:710a]:8080"),
            Verdict::Denied(Denied::OwnAddress)
        );
    }
}
