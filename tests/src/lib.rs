//! Helpers shared by confide's integration and browser tests: start a real
//! relay on a free loopback port, start headless Chromium sessions, put an
//! attacking proxy in front of the relay.

pub mod attacker;
pub mod browser;
pub mod call;
pub mod camera;
pub mod cluster;
pub mod cpu;
pub mod mitm;
pub mod netns;
pub mod pairing;
pub mod relay;
pub mod static_server;
pub mod ws;
