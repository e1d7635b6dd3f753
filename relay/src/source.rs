//! Where a connection comes from, coarsely: the key the per-source limits
//! count under. IPv4 addresses count per address (/32), IPv6 per /64 (one
//! customer's network). Kept in memory only, for as long as the source has
//! a connection or a room; never logged, never written anywhere.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// A masked peer address (IPv4 /32, IPv6 /64).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Source(IpAddr);

// No Debug with the address: a stray `{:?}` must not put it into a log.
impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Source(..)")
    }
}

impl Source {
    /// The key for `peer`, or `None` when per-source limits do not apply to it:
    /// a loopback peer is a local reverse proxy (every client would share its
    /// address) unless `limit_loopback` says otherwise (tests).
    pub fn of(peer: IpAddr, limit_loopback: bool) -> Option<Source> {
        let ip = match peer {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            },
            v4 => v4,
        };
        if ip.is_loopback() && !limit_loopback {
            return None;
        }
        Some(Source(match ip {
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
            v4 => v4,
        }))
    }
}

/// The peer address the server puts into every request's extensions.
#[derive(Clone, Copy, Debug)]
pub struct Peer(pub SocketAddr);

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn masks_and_exemptions() {
        assert_eq!(Source::of(ip("127.0.0.1"), false), None);
        assert_eq!(Source::of(ip("::1"), false), None);
        assert_eq!(Source::of(ip("::ffff:127.0.0.1"), false), None);
        assert!(Source::of(ip("127.0.0.1"), true).is_some());
        assert_ne!(
            Source::of(ip("192.0.2.1"), false),
            Source::of(ip("192.0.2.2"), false)
        );
        assert_eq!(
            Source::of(ip("::ffff:192.0.2.1"), false),
            Source::of(ip("192.0.2.1"), false)
        );
        assert_eq!(
            Source::of(ip("2001:db8:1:2:aaaa::1"), false),
            Source::of(ip("2001:db8:1:2:ffff::9"), false)
        );
        assert_ne!(
            Source::of(ip("2001:db8:1:2::1"), false),
            Source::of(ip("2001:db8:1:3::1"), false)
        );
        assert_eq!(
            format!("{:?}", Source::of(ip("192.0.2.1"), false)),
            "Some(Source(..))"
        );
    }
}
