//! Command-line and environment configuration. Every option has a default that
//! is right for a first run on localhost; nothing needs a config file.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

/// confide relay: serves the confide app and forwards end-to-end encrypted
/// messages between the members of a session. It never sees a key, a name,
/// a chat message or a picture; it stores nothing on disk.
#[derive(Parser, Debug, Clone)]
#[command(name = "confide-relay", version, about, long_about = None)]
pub struct Config {
    /// Address and port to listen on. Use 0.0.0.0:443 (with --tls-cert/--tls-key) on a server,
    /// or keep 127.0.0.1 behind a reverse proxy that terminates TLS.
    #[arg(long, env = "CONFIDE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Serve the app from this directory instead of the copy built into the binary (development).
    #[arg(long, env = "CONFIDE_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
}

impl Config {
    /// The defaults, as if started with no flags and no environment (for tests).
    pub fn for_tests() -> Config {
        Config::parse_from(["confide-relay"])
    }
}
