//! Which network paths a peer connection may use, so that nobody in a
//! session learns an address they should not.
//!
//! A browser's ICE candidates carry its addresses (home network, public
//! address of its router) to the other side. Between two guests of one
//! session, that is a leak the counsellor cannot see or prevent (think of
//! separated parents in one session): their links use the relay's TURN
//! server only (`iceTransportPolicy: "relay"`), so each side offers only
//! the relay's address. The counsellor may ask the same for her own links
//! ("IP-Adressen verbergen", e.g. when she works from home). Which side must
//! restrict itself: each side's policy hides *its own* address, because a
//! side on `relay` gathers and sends nothing else.
//!
//! Without a TURN server, `relay` could never connect, so every link uses
//! all paths; the relay operator chose that (`--turn off`), and
//! docs/RELAY.md says what it reveals.
//!
//! Pure: the client maps the result onto `RTCConfiguration`.

use crate::wire::IceServer;

/// `RTCConfiguration.iceTransportPolicy` for one peer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportPolicy {
    /// Host, server-reflexive and relayed candidates (the browser default).
    All,
    /// Relayed candidates only: the other side sees the TURN server's
    /// address, never ours.
    Relay,
}

impl TransportPolicy {
    /// The value for `iceTransportPolicy`.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportPolicy::All => "all",
            TransportPolicy::Relay => "relay",
        }
    }
}

/// Who we are and who the other end of the link is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// We are the counsellor.
    pub me_counsellor: bool,
    /// The other end is the counsellor.
    pub peer_counsellor: bool,
    /// The counsellor chose "IP-Adressen verbergen" for this session (only
    /// the counsellor's own browser knows and applies it).
    pub hide_counsellor_address: bool,
}

/// Whether `servers` include a TURN server (a `turn:` or `turns:` URL with
/// credentials): without one, a relay-only link cannot connect.
pub fn has_turn(servers: &[IceServer]) -> bool {
    servers.iter().any(|server| {
        !server.username.is_empty()
            && server
                .urls
                .iter()
                .any(|url| url.starts_with("turn:") || url.starts_with("turns:"))
    })
}

/// The policy for one link, given the ICE servers this browser has.
pub fn policy_for(link: Link, servers: &[IceServer]) -> TransportPolicy {
    if !has_turn(servers) {
        return TransportPolicy::All;
    }
    let between_guests = !link.me_counsellor && !link.peer_counsellor;
    let counsellor_hides = link.me_counsellor && link.hide_counsellor_address;
    if between_guests || counsellor_hides {
        TransportPolicy::Relay
    } else {
        TransportPolicy::All
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn() -> Vec<IceServer> {
        vec![IceServer {
            urls: vec![
                "stun:203.0.113.10:3478".into(),
                "turn:203.0.113.10:3478?transport=udp".into(),
            ],
            username: "1790000000:7".into(),
            credential: "c2VjcmV0".into(),
        }]
    }

    fn stun_only() -> Vec<IceServer> {
        vec![IceServer {
            urls: vec!["stun:203.0.113.10:3478".into()],
            username: String::new(),
            credential: String::new(),
        }]
    }

    fn link(me: bool, peer: bool, hide: bool) -> Link {
        Link {
            me_counsellor: me,
            peer_counsellor: peer,
            hide_counsellor_address: hide,
        }
    }

    /// Every combination, as a table: (me counsellor, peer counsellor,
    /// hide) → policy with a TURN server.
    #[test]
    fn with_turn_guests_never_see_each_other_and_the_counsellor_may_hide() {
        use TransportPolicy::{All, Relay};
        let table = [
            (false, false, false, Relay), // guest ↔ guest
            (false, false, true, Relay),
            (false, true, false, All), // guest → counsellor
            (false, true, true, All),  // the guest does not know; her side hides her
            (true, false, false, All), // counsellor → guest
            (true, false, true, Relay),
        ];
        for (me, peer, hide, want) in table {
            assert_eq!(
                policy_for(link(me, peer, hide), &turn()),
                want,
                "me counsellor {me}, peer counsellor {peer}, hide {hide}"
            );
        }
    }

    #[test]
    fn without_turn_every_link_uses_all_paths() {
        for servers in [Vec::new(), stun_only()] {
            for (me, peer, hide) in [(false, false, false), (true, false, true)] {
                assert_eq!(
                    policy_for(link(me, peer, hide), &servers),
                    TransportPolicy::All
                );
            }
        }
    }

    #[test]
    fn a_turn_url_without_credentials_is_no_turn_server() {
        let mut servers = turn();
        servers[0].username.clear();
        assert!(!has_turn(&servers));
        assert!(has_turn(&turn()));
        let turns_only = vec![IceServer {
            urls: vec!["turns:relay.example:443?transport=tcp".into()],
            username: "1:1".into(),
            credential: "x".into(),
        }];
        assert!(has_turn(&turns_only));
    }
}
