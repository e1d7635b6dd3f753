//! STUN and TURN built into the relay (issue 13; design in
//! docs/design/turn.md). The codec is `stun-types`/`turn-types`; the
//! allocation state machine (`server`) is ours, so that the peer policy,
//! the credential revocation and the quotas are in our hands.

pub mod creds;
pub mod io;
pub mod metrics;
pub mod policy;
pub mod server;

pub use io::{Turn, TurnSockets};

#[cfg(test)]
mod tests;

/// The codec crates, for tests that speak STUN/TURN to a running relay.
pub use stun_types;
pub use turn_types;
