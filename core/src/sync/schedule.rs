//! When to sync: on demand, on reconnect, at app start, and on a timer that
//! backs off while the office cannot be reached. Never a busy loop offline.

use serde::{Deserialize, Serialize};

/// Why a sync may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The officer asked.
    OnDemand,
    /// Connectivity came back.
    Reconnected,
    /// The app started.
    AppStart,
    /// The periodic timer fired.
    Timer,
    /// Something was captured.
    Captured,
}

/// Timer settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchedulePolicy {
    /// Interval after a success.
    pub interval_ms: i64,
    /// First retry delay after a failure.
    pub retry_base_ms: i64,
    /// Longest retry delay.
    pub retry_max_ms: i64,
}

impl Default for SchedulePolicy {
    fn default() -> Self {
        Self {
            interval_ms: 15 * 60_000,
            retry_base_ms: 30_000,
            retry_max_ms: 30 * 60_000,
        }
    }
}

/// The scheduler's memory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scheduler {
    /// Failures since the last success.
    pub failures: u32,
    /// When the last attempt ended (UTC ms).
    pub last_attempt_ms: Option<i64>,
    /// Whether the device believes it is online.
    pub online: bool,
}

impl Scheduler {
    /// Whether `trigger` should start a sync at `now_ms`.
    pub fn should_start(&self, policy: &SchedulePolicy, trigger: Trigger, now_ms: i64) -> bool {
        match trigger {
            Trigger::OnDemand | Trigger::Reconnected | Trigger::AppStart => true,
            Trigger::Timer | Trigger::Captured => {
                self.online && self.next_due_ms(policy).is_none_or(|due| now_ms >= due)
            }
        }
    }

    /// When the timer should next fire.
    pub fn next_due_ms(&self, policy: &SchedulePolicy) -> Option<i64> {
        let last = self.last_attempt_ms?;
        Some(last + self.delay_ms(policy))
    }

    fn delay_ms(&self, policy: &SchedulePolicy) -> i64 {
        if self.failures == 0 {
            return policy.interval_ms;
        }
        let doublings = (self.failures - 1).min(20);
        policy
            .retry_base_ms
            .saturating_mul(1i64 << doublings)
            .min(policy.retry_max_ms)
    }

    /// Records an attempt's result.
    pub fn finished(&mut self, now_ms: i64, success: bool) {
        self.last_attempt_ms = Some(now_ms);
        self.failures = if success {
            0
        } else {
            self.failures.saturating_add(1)
        };
    }

    /// Records a connectivity change.
    pub fn connectivity(&mut self, online: bool) {
        self.online = online;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_while_failing_and_never_spins_offline() {
        let p = SchedulePolicy::default();
        let mut s = Scheduler {
            online: true,
            ..Scheduler::default()
        };
        assert!(s.should_start(&p, Trigger::Timer, 0));
        let mut t = 0;
        let mut delays = vec![];
        for _ in 0..8 {
            s.finished(t, false);
            let due = s.next_due_ms(&p).expect("due");
            delays.push(due - t);
            assert!(!s.should_start(&p, Trigger::Timer, due - 1));
            assert!(s.should_start(&p, Trigger::Timer, due));
            t = due;
        }
        assert_eq!(
            delays,
            vec![30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_800_000, 1_800_000]
        );
        // Offline: the timer never starts a sync; reconnecting does.
        s.connectivity(false);
        assert!(!s.should_start(&p, Trigger::Timer, t + 10_000_000));
        assert!(s.should_start(&p, Trigger::Reconnected, t));
        s.finished(t, true);
        assert_eq!(s.next_due_ms(&p), Some(t + 15 * 60_000));
    }
}
