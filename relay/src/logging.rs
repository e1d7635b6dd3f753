//! The log filter. The operator chooses levels with `CONFIDE_LOG` (`RUST_LOG`
//! is not read), but only the relay's own targets may log below `warn`:
//! dependencies (tungstenite, hyper, axum, rustls, …) write frames, headers
//! and peer addresses at `debug` and `trace`, and the STUN/TURN codec does so
//! at every level. The relay keeps no such thing, whatever the setting.

use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The most a dependency may log.
pub const DEPENDENCY_MAX: LevelFilter = LevelFilter::WARN;

/// The fixed cap: the relay's own targets as the operator asks, the codec
/// crates never, everything else at most [`DEPENDENCY_MAX`].
pub fn cap() -> Targets {
    Targets::new()
        .with_target("confide_relay", LevelFilter::TRACE)
        .with_target("stun_types", LevelFilter::OFF)
        .with_target("turn_types", LevelFilter::OFF)
        .with_target("stun_proto", LevelFilter::OFF)
        .with_default(DEPENDENCY_MAX)
}

/// The operator's filter (`CONFIDE_LOG`, default `info`).
pub fn operator_filter() -> EnvFilter {
    EnvFilter::try_from_env("CONFIDE_LOG").unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the global subscriber: `filter` (the operator's), under [`cap`],
/// writing to `writer`. Also routes the `log` crate (tungstenite logs
/// through it) into the same filters.
pub fn init<W>(filter: EnvFilter, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::registry()
        .with(cap())
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false),
        )
        .init();
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::*;

    #[test]
    fn dependencies_never_log_below_warn() {
        let cap = cap();
        for target in [
            "tungstenite::protocol",
            "tokio_tungstenite",
            "hyper::proto::h1::io",
            "hyper_util::server",
            "axum::serve",
            "rustls::server::hs",
            "tokio_rustls",
            "h2",
        ] {
            assert!(!cap.would_enable(target, &Level::DEBUG), "{target}");
            assert!(!cap.would_enable(target, &Level::INFO), "{target}");
            assert!(cap.would_enable(target, &Level::WARN), "{target}");
        }
        for target in ["stun_types::message", "turn_types", "stun_proto"] {
            assert!(!cap.would_enable(target, &Level::ERROR), "{target}");
        }
        assert!(cap.would_enable("confide_relay::ws", &Level::TRACE));
    }
}
