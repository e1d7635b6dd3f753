//! The shard label: which relay node holds a room when several nodes share
//! the load behind a load balancer that routes by it (docs/PROTOCOL.md
//! "Shard label").
//!
//! Every connection for a room carries the same label in its WebSocket URL
//! (`/ws?s=3f`), so the balancer sends them all to one node; nodes share
//! nothing. Proxies log URLs, so the label is one byte of a hash of the room
//! id, never the id: it says only which of 256 buckets the room falls in.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::wire::RoomId;

/// The query parameter of the WebSocket URL that carries the label.
pub const SHARD_PARAM: &str = "s";

/// Separates the label's hash from every other use of SHA-256 over a room id.
const DOMAIN: &[u8] = b"confide shard label v1";

/// One of 256 shard labels, written as two lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShardLabel(pub u8);

impl ShardLabel {
    /// The label of a room: the first byte of SHA-256(DOMAIN || room id).
    pub fn of(room: &RoomId) -> ShardLabel {
        let digest = Sha256::new()
            .chain_update(DOMAIN)
            .chain_update(room.0)
            .finalize();
        ShardLabel(digest[0])
    }

    /// Reads a label as it appears in the URL: exactly two lower-case hex
    /// digits (one spelling per label, so a balancer that hashes the text
    /// sends every connection of a room to the same node).
    pub fn parse(text: &str) -> Option<ShardLabel> {
        let bytes = text.as_bytes();
        let digit = |b: u8| match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        };
        match bytes {
            [high, low] => Some(ShardLabel(digit(*high)? << 4 | digit(*low)?)),
            _ => None,
        }
    }
}

impl fmt::Display for ShardLabel {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{:02x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors() {
        // SHA-256("confide shard label v1" || room id), first byte, computed
        // with Python's hashlib.
        for (room, label) in [([0u8; 16], "b6"), ([7; 16], "2d"), ([0xff; 16], "b1")] {
            let got = ShardLabel::of(&RoomId(room));
            assert_eq!(got.to_string(), label, "room {room:?}");
            assert_eq!(ShardLabel::parse(label), Some(got));
        }
    }

    #[test]
    fn one_spelling_per_label() {
        for value in 0..=255u8 {
            let text = ShardLabel(value).to_string();
            assert_eq!(text.len(), 2);
            assert_eq!(ShardLabel::parse(&text), Some(ShardLabel(value)));
        }
        for bad in ["", "3", "3F", "003", "0x", "g0", " 3f", "3f ", "+f", "%33"] {
            assert_eq!(ShardLabel::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn labels_spread_over_nodes() {
        // 3000 room ids (a counter as id): every label value mod 3 gets a fair share.
        let mut per_node = [0u32; 3];
        for n in 0..3000u32 {
            let mut id = [0u8; 16];
            id[..4].copy_from_slice(&n.to_be_bytes());
            per_node[usize::from(ShardLabel::of(&RoomId(id)).0) % 3] += 1;
        }
        assert!(
            per_node.iter().all(|&n| (850..1150).contains(&n)),
            "{per_node:?}"
        );
    }
}
