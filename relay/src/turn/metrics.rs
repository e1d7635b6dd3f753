//! Counters of the TURN part for `/metrics`: numbers only, never an address,
//! a username or a credential.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use super::policy::Denied;

/// Why a request or a packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A request without credentials (the normal first step: answered 401).
    Unauthenticated,
    /// Wrong password, realm or username format.
    BadCredentials,
    Expired,
    Revoked,
    /// `--turn stun-only`.
    TurnDisabled,
    /// `--turn-max-allocations-per-credential` (486).
    CredentialQuota,
    /// `--turn-max-allocations` (508).
    ServerQuota,
    /// No free port in `--relay-ports` (508).
    NoPort,
    /// EVEN-PORT / RESERVATION-TOKEN (508).
    Unsupported,
    /// `--turn-max-lifetime` reached on Refresh (403).
    Lifetime,
    /// Too many permissions or channels on one allocation.
    Permissions,
    /// A peer address the policy refuses (403, or a dropped packet).
    Peer(Denied),
}

impl Refusal {
    const ALL: [Refusal; 13] = [
        Refusal::Unauthenticated,
        Refusal::BadCredentials,
        Refusal::Expired,
        Refusal::Revoked,
        Refusal::TurnDisabled,
        Refusal::CredentialQuota,
        Refusal::ServerQuota,
        Refusal::NoPort,
        Refusal::Unsupported,
        Refusal::Lifetime,
        Refusal::Permissions,
        Refusal::Peer(Denied::Reserved),
        Refusal::Peer(Denied::OwnAddress),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Unauthenticated => "unauthenticated",
            Refusal::BadCredentials => "bad_credentials",
            Refusal::Expired => "expired",
            Refusal::Revoked => "revoked",
            Refusal::TurnDisabled => "turn_disabled",
            Refusal::CredentialQuota => "credential_quota",
            Refusal::ServerQuota => "server_quota",
            Refusal::NoPort => "no_port",
            Refusal::Unsupported => "unsupported",
            Refusal::Lifetime => "lifetime",
            Refusal::Permissions => "permissions",
            Refusal::Peer(Denied::Reserved) => "peer_reserved",
            Refusal::Peer(Denied::OwnAddress) => "peer_own_address",
        }
    }

    fn index(self) -> usize {
        Refusal::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// Shared between the TURN server and the HTTP `/metrics` handler.
#[derive(Debug, Default)]
pub struct TurnMetrics {
    allocations: AtomicU64,
    allocations_total: AtomicU64,
    refusals: [AtomicU64; 13],
    auth_failures: AtomicU64,
    bytes_up: AtomicU64,
    bytes_down: AtomicU64,
    packets_up: AtomicU64,
    packets_down: AtomicU64,
    bandwidth_drops: AtomicU64,
}

impl TurnMetrics {
    pub fn allocation_opened(&self) {
        self.allocations.fetch_add(1, Ordering::Relaxed);
        self.allocations_total.fetch_add(1, Ordering::Relaxed);
    }

    pub fn allocation_closed(&self) {
        let _ = self
            .allocations
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    pub fn refused(&self, why: Refusal) {
        self.refusals[why.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// A request with credentials that do not hold (also counted as a refusal).
    pub fn auth_failed(&self, why: Refusal) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
        self.refused(why);
    }

    pub fn relayed_up(&self, bytes: usize) {
        self.bytes_up.fetch_add(bytes as u64, Ordering::Relaxed);
        self.packets_up.fetch_add(1, Ordering::Relaxed);
    }

    pub fn relayed_down(&self, bytes: usize) {
        self.bytes_down.fetch_add(bytes as u64, Ordering::Relaxed);
        self.packets_down.fetch_add(1, Ordering::Relaxed);
    }

    pub fn bandwidth_drop(&self) {
        self.bandwidth_drops.fetch_add(1, Ordering::Relaxed);
    }

    pub fn allocations(&self) -> u64 {
        self.allocations.load(Ordering::Relaxed)
    }

    pub fn refusals(&self, why: Refusal) -> u64 {
        self.refusals[why.index()].load(Ordering::Relaxed)
    }

    pub fn bandwidth_drops(&self) -> u64 {
        self.bandwidth_drops.load(Ordering::Relaxed)
    }

    /// Appends the Prometheus text lines.
    pub fn render(&self, out: &mut String) {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(out, "# TYPE confide_turn_allocations gauge");
        let _ = writeln!(out, "confide_turn_allocations {}", get(&self.allocations));
        let _ = writeln!(out, "# TYPE confide_turn_allocations_total counter");
        let _ = writeln!(
            out,
            "confide_turn_allocations_total {}",
            get(&self.allocations_total)
        );
        let _ = writeln!(out, "# TYPE confide_turn_refusals_total counter");
        for why in Refusal::ALL {
            let _ = writeln!(
                out,
                "confide_turn_refusals_total{{reason=\"{}\"}} {}",
                why.as_str(),
                get(&self.refusals[why.index()])
            );
        }
        let _ = writeln!(out, "# TYPE confide_turn_auth_failures_total counter");
        let _ = writeln!(
            out,
            "confide_turn_auth_failures_total {}",
            get(&self.auth_failures)
        );
        let _ = writeln!(out, "# TYPE confide_turn_relayed_bytes_total counter");
        let _ = writeln!(
            out,
            "confide_turn_relayed_bytes_total{{direction=\"to_peer\"}} {}",
            get(&self.bytes_up)
        );
        let _ = writeln!(
            out,
            "confide_turn_relayed_bytes_total{{direction=\"to_client\"}} {}",
            get(&self.bytes_down)
        );
        let _ = writeln!(out, "# TYPE confide_turn_relayed_packets_total counter");
        let _ = writeln!(
            out,
            "confide_turn_relayed_packets_total{{direction=\"to_peer\"}} {}",
            get(&self.packets_up)
        );
        let _ = writeln!(
            out,
            "confide_turn_relayed_packets_total{{direction=\"to_client\"}} {}",
            get(&self.packets_down)
        );
        let _ = writeln!(out, "# TYPE confide_turn_bandwidth_drops_total counter");
        let _ = writeln!(
            out,
            "confide_turn_bandwidth_drops_total {}",
            get(&self.bandwidth_drops)
        );
    }
}
