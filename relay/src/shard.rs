//! Several relay nodes behind a load balancer that routes by the shard label
//! (`/ws?s=3f`, `confide_shared::shard`): which labels this node holds
//! (`--shard N/M`), and whether a connection and the rooms it names belong
//! here. A misrouted connection is closed with 4019 `wrong_shard` instead of
//! creating a second room with the same id on another node.

use std::fmt;
use std::str::FromStr;

use confide_shared::shard::{SHARD_PARAM, ShardLabel};
use confide_shared::wire::RoomId;

/// The labels one node holds: those whose value mod `count` is `index`
/// (`--shard N/M` gives index N − 1 and count M).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shards {
    index: u16,
    count: u16,
}

impl Shards {
    pub fn holds(self, label: ShardLabel) -> bool {
        u16::from(label.0) % self.count == self.index
    }
}

/// `N/M` with 1 ≤ N ≤ M ≤ 256, like `2/3`.
impl FromStr for Shards {
    type Err = String;

    fn from_str(text: &str) -> Result<Shards, String> {
        let bad = || format!("--shard wants N/M with 1 <= N <= M <= 256, like 2/3, not {text:?}");
        let (n, m) = text.trim().split_once('/').ok_or_else(bad)?;
        let n: u16 = n.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        if n == 0 || n > m || m > 256 {
            return Err(bad());
        }
        Ok(Shards {
            index: n - 1,
            count: m,
        })
    }
}

impl fmt::Display for Shards {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

/// Why a new connection does not belong to this node (closed with 4019).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misrouted {
    /// `s` is not two lower-case hex digits, or is given twice.
    Malformed,
    /// This node holds only some labels (`--shard`) and the URL has none.
    Missing,
    /// Another node holds this label.
    NotHeld,
}

impl Misrouted {
    /// For the log: a kind, never the label.
    pub fn as_str(self) -> &'static str {
        match self {
            Misrouted::Malformed => "shard_label_malformed",
            Misrouted::Missing => "shard_label_missing",
            Misrouted::NotHeld => "shard_label_not_held",
        }
    }
}

/// Admits a new connection by the query of its URL: the label it carries
/// (`None`: none, allowed when this node holds every label, `held` is
/// `None`), or why it belongs elsewhere.
pub fn admit(held: Option<Shards>, query: Option<&str>) -> Result<Option<ShardLabel>, Misrouted> {
    let mut values = query
        .unwrap_or("")
        .split('&')
        .filter_map(|pair| pair.strip_prefix(SHARD_PARAM)?.strip_prefix('='));
    let label = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(text), None) => Some(ShardLabel::parse(text).ok_or(Misrouted::Malformed)?),
        (Some(_), Some(_)) => return Err(Misrouted::Malformed),
    };
    match (held, label) {
        (None, label) => Ok(label),
        (Some(_), None) => Err(Misrouted::Missing),
        (Some(held), Some(label)) if held.holds(label) => Ok(Some(label)),
        (Some(_), Some(_)) => Err(Misrouted::NotHeld),
    }
}

/// Whether a connection routed by `label` may create, knock on or resume
/// `room`: the room's own label must be the one the balancer routed by.
pub fn room_fits(label: Option<ShardLabel>, room: &RoomId) -> bool {
    label.is_none_or(|label| ShardLabel::of(room) == label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_flag() {
        let two_of_three: Shards = "2/3".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(two_of_three.to_string(), "2/3");
        let held: Vec<u8> = (0..=255u8)
            .filter(|v| two_of_three.holds(ShardLabel(*v)))
            .collect();
        assert_eq!(held.len(), 85);
        assert_eq!(&held[..3], &[1, 4, 7]);
        // Every label is held by exactly one of the three nodes.
        for value in 0..=255u8 {
            let holders = (1..=3)
                .filter(|n| {
                    format!("{n}/3")
                        .parse::<Shards>()
                        .is_ok_and(|s| s.holds(ShardLabel(value)))
                })
                .count();
            assert_eq!(holders, 1, "label {value}");
        }
        assert!(
            "1/1"
                .parse::<Shards>()
                .is_ok_and(|s| s.holds(ShardLabel(0xff)))
        );
        assert!(
            "256/256"
                .parse::<Shards>()
                .is_ok_and(|s| s.holds(ShardLabel(0xff)))
        );
        for bad in [
            "", "3", "0/3", "4/3", "1/0", "1/257", "-1/3", "1/3/4", "a/b", "1 / 3",
        ] {
            assert!(bad.parse::<Shards>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn admission_by_url() {
        let node: Option<Shards> = "1/3".parse().ok();
        let label = ShardLabel(0x03); // 3 mod 3 = 0: node 1 of 3
        // Every label, and none, on a node without --shard.
        assert_eq!(admit(None, None), Ok(None));
        assert_eq!(admit(None, Some("s=04")), Ok(Some(ShardLabel(4))));
        assert_eq!(admit(None, Some("x=1&s=03&y")), Ok(Some(label)));
        // With --shard: its own labels only, and a label is required.
        assert_eq!(admit(node, Some("s=03")), Ok(Some(label)));
        assert_eq!(admit(node, Some("s=04")), Err(Misrouted::NotHeld));
        assert_eq!(admit(node, None), Err(Misrouted::Missing));
        assert_eq!(admit(node, Some("ss=03")), Err(Misrouted::Missing));
        // One spelling, once: anything else could be routed differently.
        for bad in ["s=3", "s=03&s=03", "s=0A", "s=", "s=%30%33"] {
            assert_eq!(admit(None, Some(bad)), Err(Misrouted::Malformed), "{bad}");
            assert_eq!(admit(node, Some(bad)), Err(Misrouted::Malformed), "{bad}");
        }
    }

    #[test]
    fn rooms_must_have_the_routed_label() {
        let room = RoomId([7; 16]);
        let own = ShardLabel::of(&room);
        assert!(room_fits(None, &room));
        assert!(room_fits(Some(own), &room));
        assert!(!room_fits(Some(ShardLabel(own.0.wrapping_add(1))), &room));
    }
}
