//! confide's protocol and crypto core.
//!
//! Everything here is pure: no sockets, no browser types, no clocks or
//! randomness of its own (callers pass an RNG and the current time). The
//! relay, the browser app and the frame-crypto worker are thin I/O shells
//! around these state machines and formats. `docs/PROTOCOL.md` is the spec.

pub mod appointment;
pub mod authority;
pub mod dtls;
pub mod envelope;
pub mod group;
pub mod handshake;
pub mod ice_policy;
pub mod json;
mod kdf;
pub mod link;
pub mod media_watch;
pub mod planned;
pub mod reconnect;
pub mod resume;
pub mod sas;
pub mod sdp;
pub mod session;
pub mod sframe;
pub mod shard;
pub mod signal;
pub mod small_map;
pub mod wire;
