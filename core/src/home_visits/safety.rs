//! The lone-worker state machine for one visit, as pure functions of time.
//!
//! Starting a visit sets an expected finish. The officer can extend it,
//! check in safe or raise an alert (silent or not). Missing the expected
//! finish by the grace period moves the visit to *overdue*, and a further
//! period to *escalated*. Ending the visit stops the timer.
//!
//! Time comes from an injectable clock. Device wall clocks jump, so every
//! evaluation remembers the last wall and monotonic readings and never lets
//! time run backwards: when the wall clock is set back, the monotonic clock
//! carries elapsed time forward. The whole state is plain data saved in the
//! store, so it survives the app being killed and restarted.

use serde::{Deserialize, Serialize};

/// Timer settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyPolicy {
    /// After the expected finish, how long before the visit is overdue.
    pub grace_minutes: i64,
    /// After becoming overdue, how long before it escalates.
    pub escalate_after_minutes: i64,
    /// Minutes a check-in adds when the expected finish has passed.
    pub check_in_extension_minutes: i64,
    /// Minutes before the expected finish to remind the officer.
    pub reminder_before_minutes: i64,
    /// Shortest and longest planned duration or extension.
    pub min_minutes: i64,
    /// See `min_minutes`.
    pub max_minutes: i64,
}

impl Default for SafetyPolicy {
    fn default() -> Self {
        Self {
            grace_minutes: 15,
            escalate_after_minutes: 15,
            check_in_extension_minutes: 15,
            reminder_before_minutes: 5,
            min_minutes: 5,
            max_minutes: 8 * 60,
        }
    }
}

/// Where a visit's timer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SafetyStatus {
    /// Running; the expected finish has not passed the grace period.
    Active,
    /// The expected finish plus grace has passed.
    Overdue,
    /// Overdue for longer than the escalation period.
    Escalated,
    /// The officer raised an alert.
    Alert,
    /// The visit ended.
    Ended,
}

/// The timer's saved state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyState {
    /// Current status.
    pub status: SafetyStatus,
    /// When the visit started (UTC ms).
    pub started_ms: i64,
    /// When it is expected to finish (UTC ms).
    pub expected_finish_ms: i64,
    /// Whether the alert (if any) is silent.
    pub silent_alert: bool,
    /// Last check-in (UTC ms).
    pub last_check_in_ms: Option<i64>,
    /// Latest effective time seen (UTC ms), never decreasing.
    pub seen_wall_ms: i64,
    /// Monotonic reading at `seen_wall_ms`.
    pub seen_mono_ms: u64,
}

/// A reading of the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Wall clock, UTC ms.
    pub wall_ms: i64,
    /// Monotonic reading.
    pub mono_ms: u64,
}

/// A notification the shell should schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    /// When (UTC ms).
    pub at_ms: i64,
    /// What for.
    pub kind: AlarmKind,
}

/// Kinds of scheduled notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// The expected finish is close: extend or check in.
    Reminder,
    /// The visit becomes overdue.
    Overdue,
    /// The visit escalates to the office.
    Escalation,
}

/// Why a safety action was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SafetyError {
    /// Duration out of range.
    Duration { min: i64, max: i64 },
    /// The visit has ended.
    Ended,
}

const MINUTE: i64 = 60_000;

impl SafetyState {
    /// A timer started at `now` for `minutes`.
    pub fn start(policy: &SafetyPolicy, now: Now, minutes: i64) -> Result<Self, SafetyError> {
        check_minutes(policy, minutes)?;
        Ok(Self {
            status: SafetyStatus::Active,
            started_ms: now.wall_ms,
            expected_finish_ms: now.wall_ms + minutes * MINUTE,
            silent_alert: false,
            last_check_in_ms: None,
            seen_wall_ms: now.wall_ms,
            seen_mono_ms: now.mono_ms,
        })
    }

    /// The effective time: the wall clock, but never earlier than the last
    /// effective time plus the monotonic time elapsed since.
    pub fn effective_ms(&self, now: Now) -> i64 {
        let elapsed = now.mono_ms.saturating_sub(self.seen_mono_ms);
        let carried = self
            .seen_wall_ms
            .saturating_add(i64::try_from(elapsed).unwrap_or(i64::MAX));
        now.wall_ms.max(carried)
    }

    fn observe(&mut self, now: Now) -> i64 {
        let t = self.effective_ms(now);
        self.seen_wall_ms = t;
        self.seen_mono_ms = now.mono_ms;
        t
    }

    fn overdue_at(&self, policy: &SafetyPolicy) -> i64 {
        self.expected_finish_ms + policy.grace_minutes * MINUTE
    }

    fn escalate_at(&self, policy: &SafetyPolicy) -> i64 {
        self.overdue_at(policy) + policy.escalate_after_minutes * MINUTE
    }

    /// Moves the status on by time; returns the statuses entered, in order
    /// (each one is recorded as an event by the caller).
    pub fn evaluate(&mut self, policy: &SafetyPolicy, now: Now) -> Vec<SafetyStatus> {
        let t = self.observe(now);
        let mut entered = Vec::new();
        if self.status == SafetyStatus::Active && t >= self.overdue_at(policy) {
            self.status = SafetyStatus::Overdue;
            entered.push(SafetyStatus::Overdue);
        }
        if self.status == SafetyStatus::Overdue && t >= self.escalate_at(policy) {
            self.status = SafetyStatus::Escalated;
            entered.push(SafetyStatus::Escalated);
        }
        entered
    }

    /// Extends the expected finish by `minutes` from the later of now and
    /// the current expected finish. Clears overdue and escalated.
    pub fn extend(
        &mut self,
        policy: &SafetyPolicy,
        now: Now,
        minutes: i64,
    ) -> Result<(), SafetyError> {
        self.ensure_running()?;
        check_minutes(policy, minutes)?;
        let t = self.observe(now);
        self.expected_finish_ms = self.expected_finish_ms.max(t) + minutes * MINUTE;
        if matches!(self.status, SafetyStatus::Overdue | SafetyStatus::Escalated) {
            self.status = SafetyStatus::Active;
        }
        Ok(())
    }

    /// The officer says they are safe. Clears overdue, escalated and a
    /// raised alert; if the expected finish has passed, it moves to now
    /// plus the check-in extension.
    pub fn check_in(&mut self, policy: &SafetyPolicy, now: Now) -> Result<(), SafetyError> {
        self.ensure_running()?;
        let t = self.observe(now);
        self.last_check_in_ms = Some(t);
        if self.expected_finish_ms <= t {
            self.expected_finish_ms = t + policy.check_in_extension_minutes * MINUTE;
        }
        self.status = SafetyStatus::Active;
        self.silent_alert = false;
        Ok(())
    }

    /// The officer raises an alert (silent: no sound or screen change on the
    /// phone).
    pub fn raise_alert(&mut self, now: Now, silent: bool) -> Result<(), SafetyError> {
        self.ensure_running()?;
        self.observe(now);
        self.status = SafetyStatus::Alert;
        self.silent_alert = silent;
        Ok(())
    }

    /// The visit ended.
    pub fn end(&mut self, now: Now) -> Result<(), SafetyError> {
        self.ensure_running()?;
        self.observe(now);
        self.status = SafetyStatus::Ended;
        Ok(())
    }

    fn ensure_running(&self) -> Result<(), SafetyError> {
        if self.status == SafetyStatus::Ended {
            Err(SafetyError::Ended)
        } else {
            Ok(())
        }
    }

    /// Milliseconds left before the expected finish (negative once past).
    pub fn remaining_ms(&self, now: Now) -> i64 {
        self.expected_finish_ms - self.effective_ms(now)
    }

    /// The notifications still ahead, for the shell to schedule.
    pub fn alarms(&self, policy: &SafetyPolicy, now: Now) -> Vec<Alarm> {
        let t = self.effective_ms(now);
        let mut out = Vec::new();
        let mut push = |at_ms: i64, kind| {
            if at_ms > t {
                out.push(Alarm { at_ms, kind });
            }
        };
        match self.status {
            SafetyStatus::Active => {
                push(
                    self.expected_finish_ms - policy.reminder_before_minutes * MINUTE,
                    AlarmKind::Reminder,
                );
                push(self.overdue_at(policy), AlarmKind::Overdue);
                push(self.escalate_at(policy), AlarmKind::Escalation);
            }
            SafetyStatus::Overdue => push(self.escalate_at(policy), AlarmKind::Escalation),
            _ => {}
        }
        out
    }
}

fn check_minutes(policy: &SafetyPolicy, minutes: i64) -> Result<(), SafetyError> {
    if minutes < policy.min_minutes || minutes > policy.max_minutes {
        Err(SafetyError::Duration {
            min: policy.min_minutes,
            max: policy.max_minutes,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_424_400_000;

    fn at(min: i64) -> Now {
        Now {
            wall_ms: T0 + min * MINUTE,
            mono_ms: u64::try_from(min * MINUTE).expect("positive") + 1_000_000,
        }
    }

    fn started(minutes: i64) -> (SafetyPolicy, SafetyState) {
        let p = SafetyPolicy::default();
        let s = SafetyState::start(&p, at(0), minutes).expect("start");
        (p, s)
    }

    #[test]
    fn timeline_without_action() {
        let (p, mut s) = started(30);
        // (minute, status after evaluation, statuses entered)
        let steps: &[(i64, SafetyStatus, &[SafetyStatus])] = &[
            (10, SafetyStatus::Active, &[]),
            (30, SafetyStatus::Active, &[]),
            (44, SafetyStatus::Active, &[]),
            (45, SafetyStatus::Overdue, &[SafetyStatus::Overdue]),
            (59, SafetyStatus::Overdue, &[]),
            (60, SafetyStatus::Escalated, &[SafetyStatus::Escalated]),
            (120, SafetyStatus::Escalated, &[]),
        ];
        for (minute, status, entered) in steps {
            assert_eq!(
                s.evaluate(&p, at(*minute)),
                entered.to_vec(),
                "minute {minute}"
            );
            assert_eq!(s.status, *status, "minute {minute}");
        }
    }

    #[test]
    fn a_late_first_evaluation_enters_both_states_in_order() {
        let (p, mut s) = started(30);
        assert_eq!(
            s.evaluate(&p, at(90)),
            vec![SafetyStatus::Overdue, SafetyStatus::Escalated]
        );
    }

    #[test]
    fn extension_moves_the_deadline_and_clears_overdue() {
        let (p, mut s) = started(30);
        s.extend(&p, at(20), 20).expect("extend");
        assert_eq!(s.expected_finish_ms, T0 + 50 * MINUTE);
        assert!(s.evaluate(&p, at(64)).is_empty());
        assert_eq!(s.evaluate(&p, at(65)), vec![SafetyStatus::Overdue]);
        s.extend(&p, at(70), 10).expect("extend while overdue");
        assert_eq!(s.status, SafetyStatus::Active);
        assert_eq!(
            s.expected_finish_ms,
            T0 + 80 * MINUTE,
            "from now, not the old finish"
        );
        assert_eq!(
            s.extend(&p, at(71), 1),
            Err(SafetyError::Duration { min: 5, max: 480 })
        );
        assert!(s.extend(&p, at(71), 481).is_err());
    }

    #[test]
    fn check_in_clears_escalation_and_alert() {
        let (p, mut s) = started(30);
        s.evaluate(&p, at(61));
        assert_eq!(s.status, SafetyStatus::Escalated);
        s.check_in(&p, at(62)).expect("check in");
        assert_eq!(s.status, SafetyStatus::Active);
        assert_eq!(s.expected_finish_ms, T0 + 77 * MINUTE);
        // A check-in before the finish leaves the finish alone.
        let (p, mut s) = started(30);
        s.check_in(&p, at(10)).expect("check in");
        assert_eq!(s.expected_finish_ms, T0 + 30 * MINUTE);
        assert_eq!(s.last_check_in_ms, Some(T0 + 10 * MINUTE));
        s.raise_alert(at(12), true).expect("alert");
        assert_eq!(s.status, SafetyStatus::Alert);
        assert!(s.silent_alert);
        // An alert is not overridden by the timer.
        assert!(s.evaluate(&p, at(200)).is_empty());
        assert_eq!(s.status, SafetyStatus::Alert);
        s.check_in(&p, at(201)).expect("safe");
        assert_eq!(s.status, SafetyStatus::Active);
        assert!(!s.silent_alert);
    }

    #[test]
    fn ended_visits_accept_nothing() {
        let (p, mut s) = started(30);
        s.end(at(20)).expect("end");
        assert!(s.evaluate(&p, at(500)).is_empty());
        assert_eq!(s.status, SafetyStatus::Ended);
        assert_eq!(s.extend(&p, at(21), 10), Err(SafetyError::Ended));
        assert_eq!(s.check_in(&p, at(21)), Err(SafetyError::Ended));
        assert_eq!(s.raise_alert(at(21), false), Err(SafetyError::Ended));
        assert_eq!(s.end(at(21)), Err(SafetyError::Ended));
        assert!(s.alarms(&p, at(21)).is_empty());
    }

    #[test]
    fn clock_moved_backwards_does_not_delay_escalation() {
        let (p, mut s) = started(30);
        s.evaluate(&p, at(10));
        // Wall clock set back two hours, while 36 real minutes pass.
        let back = Now {
            wall_ms: T0 - 120 * MINUTE,
            mono_ms: at(46).mono_ms,
        };
        assert_eq!(s.evaluate(&p, back), vec![SafetyStatus::Overdue]);
        assert_eq!(s.remaining_ms(back), -16 * MINUTE);
    }

    #[test]
    fn clock_moved_forward_counts() {
        let (p, mut s) = started(30);
        let jump = Now {
            wall_ms: T0 + 300 * MINUTE,
            mono_ms: at(1).mono_ms,
        };
        assert_eq!(s.evaluate(&p, jump).len(), 2);
    }

    #[test]
    fn restart_keeps_time_with_a_new_monotonic_origin() {
        let (p, mut s) = started(30);
        s.evaluate(&p, at(20));
        let saved = serde_json::to_string(&s).expect("save");
        // The app is killed; the new process's monotonic clock restarts
        // near zero, the wall clock is right.
        let mut restored: SafetyState = serde_json::from_str(&saved).expect("load");
        let after = Now {
            wall_ms: T0 + 50 * MINUTE,
            mono_ms: 5,
        };
        assert_eq!(restored.evaluate(&p, after), vec![SafetyStatus::Overdue]);
    }

    #[test]
    fn alarms_are_the_future_deadlines() {
        let (p, s) = started(30);
        assert_eq!(
            s.alarms(&p, at(0)),
            vec![
                Alarm {
                    at_ms: T0 + 25 * MINUTE,
                    kind: AlarmKind::Reminder
                },
                Alarm {
                    at_ms: T0 + 45 * MINUTE,
                    kind: AlarmKind::Overdue
                },
                Alarm {
                    at_ms: T0 + 60 * MINUTE,
                    kind: AlarmKind::Escalation
                },
            ]
        );
        assert_eq!(s.alarms(&p, at(26)).len(), 2);
        let mut s = s;
        s.evaluate(&p, at(50));
        assert_eq!(
            s.alarms(&p, at(50)),
            vec![Alarm {
                at_ms: T0 + 60 * MINUTE,
                kind: AlarmKind::Escalation
            }]
        );
    }

    #[test]
    fn start_validates_duration() {
        let p = SafetyPolicy::default();
        assert!(SafetyState::start(&p, at(0), 4).is_err());
        assert!(SafetyState::start(&p, at(0), 481).is_err());
        assert!(SafetyState::start(&p, at(0), 5).is_ok());
    }

    #[test]
    fn every_action_from_every_status() {
        // Exhaustive: each action applied in each reachable status.
        let p = SafetyPolicy::default();
        let reach = |status: SafetyStatus| -> SafetyState {
            let mut s = SafetyState::start(&p, at(0), 30).expect("start");
            match status {
                SafetyStatus::Active => {}
                SafetyStatus::Overdue => {
                    s.evaluate(&p, at(46));
                }
                SafetyStatus::Escalated => {
                    s.evaluate(&p, at(61));
                }
                SafetyStatus::Alert => s.raise_alert(at(5), false).expect("alert"),
                SafetyStatus::Ended => s.end(at(5)).expect("end"),
            }
            assert_eq!(s.status, status);
            s
        };
        let all = [
            SafetyStatus::Active,
            SafetyStatus::Overdue,
            SafetyStatus::Escalated,
            SafetyStatus::Alert,
            SafetyStatus::Ended,
        ];
        for from in all {
            let running = from != SafetyStatus::Ended;
            let mut s = reach(from);
            assert_eq!(
                s.extend(&p, at(70), 10).is_ok(),
                running,
                "extend from {from:?}"
            );
            if running {
                let expect = if from == SafetyStatus::Alert {
                    SafetyStatus::Alert
                } else {
                    SafetyStatus::Active
                };
                assert_eq!(s.status, expect, "extend from {from:?}");
            }
            let mut s = reach(from);
            assert_eq!(
                s.check_in(&p, at(70)).is_ok(),
                running,
                "check in from {from:?}"
            );
            if running {
                assert_eq!(s.status, SafetyStatus::Active);
            }
            let mut s = reach(from);
            assert_eq!(
                s.raise_alert(at(70), true).is_ok(),
                running,
                "alert from {from:?}"
            );
            let mut s = reach(from);
            assert_eq!(s.end(at(70)).is_ok(), running, "end from {from:?}");
        }
    }
}
