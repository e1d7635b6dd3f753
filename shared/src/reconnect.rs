//! When to try the relay again after the connection dropped, and when to
//! stop trying (docs/PROTOCOL.md, "Reconnecting and rejoining after a
//! reload"). Pure: the caller passes the time and runs the timers.
//!
//! A lost connection is normal (a train tunnel, a laptop lid): the client
//! tries again at once-ish, then less and less often, so that a relay that
//! is down is not hammered by every waiting browser. After the relay's grace
//! period the seat is gone anyway, so trying longer cannot help: the client
//! gives up and says that the connection was lost.

/// Backoff and give-up times, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// The wait before the first attempt; each failed attempt doubles it...
    pub first_delay_ms: u32,
    /// ...up to this.
    pub max_delay_ms: u32,
    /// Give up when the connection has been gone this long.
    pub give_up_after_ms: u64,
}

impl ReconnectPolicy {
    /// 0.5 s doubling to 8 s, for the relay's default grace period of 2 min.
    pub const DEFAULT: ReconnectPolicy = ReconnectPolicy {
        first_delay_ms: 500,
        max_delay_ms: 8_000,
        give_up_after_ms: 120_000,
    };
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy::DEFAULT
    }
}

/// What to do after a loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retry {
    /// Try again after this many milliseconds.
    After { delay_ms: u32 },
    /// Stop: the connection is lost for good.
    GiveUp,
}

/// The reconnection state of one relay connection.
#[derive(Clone, Debug)]
pub struct Reconnect {
    policy: ReconnectPolicy,
    /// When the connection was first lost, while it is still gone.
    lost_since_ms: Option<u64>,
    /// Attempts made since then.
    attempts: u32,
}

impl Reconnect {
    pub fn new(policy: ReconnectPolicy) -> Reconnect {
        Reconnect {
            policy,
            lost_since_ms: None,
            attempts: 0,
        }
    }

    /// The connection dropped, or an attempt to reconnect failed, at `now_ms`.
    pub fn lost(&mut self, now_ms: u64) -> Retry {
        let since = *self.lost_since_ms.get_or_insert(now_ms);
        if now_ms.saturating_sub(since) >= self.policy.give_up_after_ms {
            return Retry::GiveUp;
        }
        let delay_ms = self
            .policy
            .first_delay_ms
            .saturating_mul(1 << self.attempts.min(16))
            .min(self.policy.max_delay_ms);
        self.attempts = self.attempts.saturating_add(1);
        Retry::After { delay_ms }
    }

    /// The relay answered again, or the session ended: the next loss starts
    /// from the first delay. Returns whether a reconnection was under way
    /// (the UI then hides its banner).
    pub fn reset(&mut self) -> bool {
        self.attempts = 0;
        self.lost_since_ms.take().is_some()
    }

    /// Whether the connection is gone and being tried again.
    pub fn is_reconnecting(&self) -> bool {
        self.lost_since_ms.is_some()
    }

    pub fn policy(&self) -> ReconnectPolicy {
        self.policy
    }

    /// Another policy from now on (the test build shortens the give-up).
    pub fn set_policy(&mut self, policy: ReconnectPolicy) {
        self.policy = policy;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays(reconnect: &mut Reconnect, start_ms: u64, count: usize) -> Vec<u32> {
        let mut now = start_ms;
        (0..count)
            .map(|_| match reconnect.lost(now) {
                Retry::After { delay_ms } => {
                    now += u64::from(delay_ms);
                    delay_ms
                }
                Retry::GiveUp => panic!("gave up at {now}"),
            })
            .collect()
    }

    #[test]
    fn waits_double_from_half_a_second_up_to_eight() {
        let mut reconnect = Reconnect::new(ReconnectPolicy::DEFAULT);
        assert!(!reconnect.is_reconnecting());
        assert_eq!(
            delays(&mut reconnect, 1_000, 8),
            [500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000, 8_000]
        );
        assert!(reconnect.is_reconnecting());
    }

    #[test]
    fn gives_up_when_the_grace_period_is_over_and_not_before() {
        let mut reconnect = Reconnect::new(ReconnectPolicy::DEFAULT);
        assert!(matches!(reconnect.lost(10_000), Retry::After { .. }));
        assert!(matches!(reconnect.lost(129_999), Retry::After { .. }));
        assert_eq!(reconnect.lost(130_000), Retry::GiveUp);
        assert_eq!(reconnect.lost(500_000), Retry::GiveUp);
    }

    #[test]
    fn coming_back_starts_over() {
        let mut reconnect = Reconnect::new(ReconnectPolicy::DEFAULT);
        delays(&mut reconnect, 0, 5);
        assert!(reconnect.reset(), "this ended a reconnection");
        assert!(!reconnect.is_reconnecting());
        assert!(!reconnect.reset(), "nothing to end the second time");
        // A loss much later: the give-up clock starts again, from 0.5 s.
        assert_eq!(delays(&mut reconnect, 1_000_000, 2), [500, 1_000]);
        assert!(matches!(reconnect.lost(1_100_000), Retry::After { .. }));
    }

    #[test]
    fn a_clock_going_backwards_does_not_give_up_or_panic() {
        let mut reconnect = Reconnect::new(ReconnectPolicy::DEFAULT);
        assert!(matches!(reconnect.lost(50_000), Retry::After { .. }));
        assert!(matches!(reconnect.lost(10_000), Retry::After { .. }));
    }

    #[test]
    fn many_attempts_do_not_overflow() {
        let mut reconnect = Reconnect::new(ReconnectPolicy {
            first_delay_ms: u32::MAX / 2,
            max_delay_ms: u32::MAX,
            give_up_after_ms: u64::MAX,
        });
        for _ in 0..100 {
            assert!(matches!(reconnect.lost(0), Retry::After { .. }));
        }
    }

    #[test]
    fn a_shorter_policy_applies_to_a_reconnection_under_way() {
        let mut reconnect = Reconnect::new(ReconnectPolicy::DEFAULT);
        assert!(matches!(reconnect.lost(0), Retry::After { .. }));
        reconnect.set_policy(ReconnectPolicy {
            give_up_after_ms: 3_000,
            ..ReconnectPolicy::DEFAULT
        });
        assert_eq!(reconnect.policy().give_up_after_ms, 3_000);
        assert!(matches!(reconnect.lost(2_999), Retry::After { .. }));
        assert_eq!(reconnect.lost(3_000), Retry::GiveUp);
    }
}
