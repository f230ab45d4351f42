//! Failed-unlock accounting: escalating delays, then a lock-out that only
//! the office can lift.
//!
//! Policy (defaults; the office may set others at enrolment):
//! - the first [`LockoutPolicy::free_attempts`] wrong PINs cost nothing;
//! - each further one imposes a delay that doubles from
//!   [`LockoutPolicy::base_delay_ms`] up to [`LockoutPolicy::max_delay_ms`];
//! - at [`LockoutPolicy::max_failures`] the store locks out until the office
//!   re-enables it with a one-time code. Data is never deleted for this.
//!
//! An attempt is counted durably *before* the PIN is checked and forgiven
//! only on success, so killing the app mid-check does not grant free
//! guesses. A wall clock moved backwards restarts the current delay rather
//! than shortening it.
//!
//! The counter lives in the database in plaintext: an attacker who can edit
//! the file can reset it, but such an attacker is stopped by the platform
//! key (hardware-bound on phones), not by this counter. The counter stops
//! guessing through the app.

use serde::{Deserialize, Serialize};

/// When failures impose delays and when they lock the store out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutPolicy {
    /// Failures allowed without delay.
    pub free_attempts: u32,
    /// First delay after the free attempts, in ms.
    pub base_delay_ms: i64,
    /// Longest delay, in ms.
    pub max_delay_ms: i64,
    /// Failures after which only the office can re-enable the store.
    pub max_failures: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            free_attempts: 3,
            base_delay_ms: 30_000,
            max_delay_ms: 15 * 60_000,
            max_failures: 10,
        }
    }
}

impl LockoutPolicy {
    /// Checks that the policy is usable.
    pub fn validate(&self) -> crate::Result<()> {
        if self.max_failures == 0 || self.max_failures > 100 {
            return Err(crate::Error::invalid("max_failures", "must be 1 to 100"));
        }
        if self.free_attempts >= self.max_failures {
            return Err(crate::Error::invalid(
                "free_attempts",
                "must be fewer than max_failures",
            ));
        }
        if self.base_delay_ms < 0 || self.max_delay_ms < self.base_delay_ms {
            return Err(crate::Error::invalid("delay", "0 <= base <= max required"));
        }
        Ok(())
    }

    /// The delay imposed after `failures` consecutive failures.
    pub fn delay_after(&self, failures: u32) -> i64 {
        if failures <= self.free_attempts {
            return 0;
        }
        let doublings = (failures - self.free_attempts - 1).min(30);
        self.base_delay_ms
            .saturating_mul(1i64 << doublings)
            .min(self.max_delay_ms)
    }
}

/// The durable counter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockoutState {
    /// Consecutive failed (or unfinished) attempts.
    pub failures: u32,
    /// Wall-clock time the current delay runs from.
    pub last_failure_ms: i64,
    /// Set at `max_failures`; cleared only by the office.
    pub locked_out: bool,
}

/// What the counter allows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// Try the PIN.
    Open,
    /// Wait this long first.
    Wait { ms: i64 },
    /// Only the office can help.
    LockedOut,
}

impl LockoutState {
    /// Whether an attempt may be made at `now_ms`. When the clock has moved
    /// backwards the delay restarts from `now_ms` (returned as the new
    /// state's `last_failure_ms`).
    pub fn gate(&mut self, policy: &LockoutPolicy, now_ms: i64) -> Gate {
        if self.locked_out {
            return Gate::LockedOut;
        }
        let delay = policy.delay_after(self.failures);
        if delay == 0 {
            return Gate::Open;
        }
        if now_ms < self.last_failure_ms {
            self.last_failure_ms = now_ms;
        }
        let ready_at = self.last_failure_ms.saturating_add(delay);
        if now_ms >= ready_at {
            Gate::Open
        } else {
            Gate::Wait {
                ms: ready_at - now_ms,
            }
        }
    }

    /// Counts an attempt before the PIN is checked.
    pub fn begin_attempt(&mut self, now_ms: i64) {
        self.failures = self.failures.saturating_add(1);
        self.last_failure_ms = now_ms;
    }

    /// The attempt turned out to be a wrong PIN; locks out at the limit.
    /// Returns the attempts left before lock-out.
    pub fn wrong_pin(&mut self, policy: &LockoutPolicy) -> u32 {
        if self.failures >= policy.max_failures {
            self.locked_out = true;
        }
        policy.max_failures.saturating_sub(self.failures)
    }

    /// The attempt did not test the PIN (platform key failure): forgiven.
    pub fn not_a_guess(&mut self) {
        self.failures = self.failures.saturating_sub(1);
    }

    /// The PIN was right.
    pub fn success(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_escalate_and_cap() {
        let p = LockoutPolicy::default();
        let delays: Vec<i64> = (0..=10).map(|n| p.delay_after(n)).collect();
        assert_eq!(
            delays,
            vec![0, 0, 0, 0, 30_000, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000]
        );
    }

    #[test]
    fn full_sequence_to_lockout() {
        let p = LockoutPolicy::default();
        let mut s = LockoutState::default();
        let mut now = 1_000_000;
        for attempt in 1..=10u32 {
            match s.gate(&p, now) {
                Gate::Open => {}
                Gate::Wait { ms } => {
                    assert!(attempt > 4, "attempt {attempt} should not wait");
                    now += ms;
                    assert_eq!(s.gate(&p, now), Gate::Open);
                }
                Gate::LockedOut => panic!("locked out too early at {attempt}"),
            }
            s.begin_attempt(now);
            let left = s.wrong_pin(&p);
            assert_eq!(left, 10 - attempt);
        }
        assert_eq!(s.gate(&p, now + 10_000_000), Gate::LockedOut);
    }

    #[test]
    fn clock_backwards_restarts_delay() {
        let p = LockoutPolicy::default();
        let mut s = LockoutState {
            failures: 4,
            last_failure_ms: 1_000_000,
            locked_out: false,
        };
        assert_eq!(s.gate(&p, 1_000_000 + 10_000), Gate::Wait { ms: 20_000 });
        // Clock set back an hour: the full delay runs from the new time.
        let back = 1_000_000 - 3_600_000;
        assert_eq!(s.gate(&p, back), Gate::Wait { ms: 30_000 });
        assert_eq!(s.gate(&p, back + 30_000), Gate::Open);
    }

    #[test]
    fn success_and_forgiveness_reset() {
        let p = LockoutPolicy::default();
        let mut s = LockoutState::default();
        s.begin_attempt(1);
        s.not_a_guess();
        assert_eq!(s.failures, 0);
        s.begin_attempt(1);
        s.wrong_pin(&p);
        s.success();
        assert_eq!(s, LockoutState::default());
    }

    #[test]
    fn policy_validation() {
        assert!(LockoutPolicy::default().validate().is_ok());
        let bad = LockoutPolicy {
            max_failures: 0,
            ..LockoutPolicy::default()
        };
        assert!(bad.validate().is_err());
        let bad = LockoutPolicy {
            free_attempts: 10,
            ..LockoutPolicy::default()
        };
        assert!(bad.validate().is_err());
    }
}
