//! Helpers shared by confide's integration and browser tests: start a real
//! relay on a free loopback port, start headless Chromium sessions.

pub mod browser;
pub mod call;
pub mod relay;
pub mod ws;
