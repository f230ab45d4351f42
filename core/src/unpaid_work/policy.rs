//! The unpaid work rules, as data with a version recorded on every
//! computation: minutes credited, validation of an outcome, the statutory
//! enforcement step, and the ledger. Pure functions, no storage.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::codes::{self, OutcomeCode, OutcomeKind};
use super::model::{EnforcementStep, Project, Rating, Requirement, Stamp, WorkSession};
pub use crate::forms::{first_error, FieldError};

/// The rules' parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Recorded on every computation.
    pub version: String,
    /// Longest note.
    pub notes_max_chars: usize,
    /// Most travel minutes a task may claim.
    pub travel_time_max_minutes: u32,
    /// A further failure within this many months of a warning is referred
    /// for breach (Sentencing Code, Schedule 10 paragraph 6).
    pub breach_window_months: u32,
    /// How long before the planned start an arrival may be recorded.
    pub early_arrival_minutes: i64,
    /// Minutes after the planned start before an arrival counts as late.
    pub lateness_tolerance_minutes: i64,
    /// Outstanding minutes at or below which "hours nearly complete" shows.
    pub nearly_complete_minutes: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            version: "upw-rules/2026.1".to_owned(),
            notes_max_chars: 4000,
            travel_time_max_minutes: 180,
            breach_window_months: 12,
            early_arrival_minutes: 120,
            lateness_tolerance_minutes: 10,
            nearly_complete_minutes: 600,
        }
    }
}

/// What the supervisor enters for an outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeInput {
    /// Outcome code.
    pub code: String,
    /// Arrival (attended outcomes).
    pub arrival: Option<Stamp>,
    /// Departure (attended outcomes).
    pub departure: Option<Stamp>,
    /// Penalty minutes.
    pub penalty_minutes: i64,
    /// Work quality.
    pub work_quality: Rating,
    /// Behaviour.
    pub behaviour: Rating,
    /// Notes (under the policy's limit).
    pub notes: String,
    /// Sensitive flag.
    pub sensitive: bool,
    /// For enforceable outcomes: alert the practitioner.
    pub raise_alert: bool,
    /// Travel minutes claimed (eligible projects).
    pub travel_minutes: Option<u32>,
}

impl OutcomeInput {
    /// An outcome with no times, ratings not applicable, no notes.
    pub fn absence(code: &str) -> Self {
        Self {
            code: code.to_owned(),
            arrival: None,
            departure: None,
            penalty_minutes: 0,
            work_quality: Rating::NotApplicable,
            behaviour: Rating::NotApplicable,
            notes: String::new(),
            sensitive: false,
            raise_alert: false,
            travel_minutes: None,
        }
    }

    /// An attended outcome between two stamps.
    pub fn attended(code: &str, arrival: Stamp, departure: Stamp) -> Self {
        Self {
            arrival: Some(arrival),
            departure: Some(departure),
            work_quality: Rating::Good,
            behaviour: Rating::Good,
            ..Self::absence(code)
        }
    }
}

/// What the rules need to judge an outcome.
#[derive(Debug, Clone, Copy)]
pub struct OutcomeContext<'a> {
    /// The session.
    pub session: &'a WorkSession,
    /// Its project.
    pub project: &'a Project,
    /// The requirement, when known on the device.
    pub requirement: Option<&'a Requirement>,
    /// Minutes still outstanding on it, not counting this appointment.
    pub outstanding_minutes: Option<i64>,
    /// An absence the office agreed for this appointment.
    pub agreed_absence: Option<&'a str>,
    /// The outcome this one would replace (corrections).
    pub previous_sensitive: bool,
    /// Whether the session has been stood down (enables AASD).
    pub stood_down: bool,
}

/// An outcome the rules accept, with what they computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// The code's entry.
    pub code: &'static OutcomeCode,
    /// Minutes credited.
    pub minutes_credited: i64,
    /// Late by this many minutes (beyond the tolerance), if arrived late.
    pub late_by_minutes: Option<i64>,
}

/// Minutes on site between two stamps (UTC, so midnight and clock changes
/// are handled).
pub fn minutes_between(arrival: &Stamp, departure: &Stamp) -> i64 {
    (departure.utc_ms - arrival.utc_ms).div_euclid(60_000)
}

/// Checks an outcome and computes its credit; all problems at once.
pub fn judge(
    policy: &Policy,
    input: &OutcomeInput,
    ctx: &OutcomeContext<'_>,
) -> Result<Judged, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(code) = codes::outcome(&input.code) else {
        return Err(vec![FieldError::new("code", "unknown outcome code")]);
    };
    if code.kind == OutcomeKind::AcceptableAbsence {
        let agreed =
            ctx.agreed_absence == Some(code.code) || (code.code == "AASD" && ctx.stood_down);
        if !agreed {
            errors.push(FieldError::new(
                "code",
                "acceptable absences are recorded only when the office has agreed them",
            ));
        }
    }
    let chars = input.notes.chars().count();
    if chars >= policy.notes_max_chars {
        errors.push(FieldError::new(
            "notes",
            format!(
                "must be under {} characters ({chars} entered)",
                policy.notes_max_chars
            ),
        ));
    }
    if ctx.previous_sensitive && !input.sensitive {
        errors.push(FieldError::new(
            "sensitive",
            "a sensitive record cannot be made non-sensitive",
        ));
    }
    if input.raise_alert && !code.enforceable {
        errors.push(FieldError::new(
            "raise_alert",
            "alerts are raised only for enforceable outcomes",
        ));
    }
    if input.penalty_minutes < 0 {
        errors.push(FieldError::new("penalty_minutes", "cannot be negative"));
    }
    if let Some(minutes) = input.travel_minutes {
        if !ctx.project.travel_time_eligible {
            errors.push(FieldError::new(
                "travel_minutes",
                "this project does not support travel time",
            ));
        } else if minutes > policy.travel_time_max_minutes {
            errors.push(FieldError::new(
                "travel_minutes",
                format!("at most {} minutes", policy.travel_time_max_minutes),
            ));
        }
    }
    errors.extend(check_session_date(
        ctx.session,
        ctx.project,
        ctx.requirement,
    ));

    let mut minutes_credited = 0;
    let mut late_by_minutes = None;
    if code.credits_time() {
        match (&input.arrival, &input.departure) {
            (Some(arrival), Some(departure)) => {
                let on_site = minutes_between(arrival, departure);
                if departure.utc_ms <= arrival.utc_ms {
                    errors.push(FieldError::new("departure", "must be after arrival"));
                } else if input.penalty_minutes > on_site {
                    errors.push(FieldError::new(
                        "penalty_minutes",
                        format!("cannot exceed the {on_site} minutes on site"),
                    ));
                } else {
                    minutes_credited = on_site - input.penalty_minutes.max(0);
                    if let Some(outstanding) = ctx.outstanding_minutes {
                        if minutes_credited > outstanding {
                            errors.push(FieldError::new(
                                "departure",
                                format!(
                                    "{minutes_credited} minutes would exceed the {} outstanding",
                                    outstanding.max(0)
                                ),
                            ));
                        }
                    }
                }
                late_by_minutes = lateness(policy, ctx.session, arrival);
            }
            (None, _) => errors.push(FieldError::new("arrival", "required for this outcome")),
            (_, None) => errors.push(FieldError::new("departure", "required for this outcome")),
        }
    } else {
        if input.arrival.is_some() || input.departure.is_some() {
            errors.push(FieldError::new(
                "arrival",
                "times are not recorded for an absence",
            ));
        }
        if input.penalty_minutes != 0 {
            errors.push(FieldError::new(
                "penalty_minutes",
                "no penalty for an absence",
            ));
        }
    }
    if errors.is_empty() {
        Ok(Judged {
            code,
            minutes_credited,
            late_by_minutes,
        })
    } else {
        Err(errors)
    }
}

/// Minutes late beyond the tolerance, if any.
pub fn lateness(policy: &Policy, session: &WorkSession, arrival: &Stamp) -> Option<i64> {
    let planned = session.date.and_time(session.planned_start);
    let late = (arrival.local() - planned).num_minutes() - policy.lateness_tolerance_minutes;
    (late > 0).then_some(late + policy.lateness_tolerance_minutes)
}

/// The session date must fall within the order and on a project day.
pub fn check_session_date(
    session: &WorkSession,
    project: &Project,
    requirement: Option<&Requirement>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(req) = requirement {
        if session.date < req.order_start || session.date > req.order_end {
            errors.push(FieldError::new(
                "session",
                "the session date is outside the order",
            ));
        }
    }
    if !project.available_days.contains(&session.date.weekday()) {
        errors.push(FieldError::new(
            "session",
            "the project does not run on this day",
        ));
    }
    errors
}

/// Schedule 10 paragraph 6: a first unreasonable failure gets a warning; a
/// further one within the window of a warning must be referred for breach.
pub fn statutory_step(policy: &Policy, warnings: &[NaiveDate], date: NaiveDate) -> EnforcementStep {
    let within = warnings.iter().any(|w| {
        let end = w
            .checked_add_months(Months::new(policy.breach_window_months))
            .unwrap_or(NaiveDate::MAX);
        *w <= date && date <= end
    });
    if within {
        EnforcementStep::BreachReferral
    } else {
        EnforcementStep::Warning
    }
}

/// A requirement's hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Minutes ordered.
    pub required_minutes: i64,
    /// Minutes credited (office plus this device's captures).
    pub credited_minutes: i64,
    /// Office adjustments.
    pub adjustment_minutes: i64,
    /// Minutes still to do.
    pub outstanding_minutes: i64,
    /// Planned minutes of the remaining scheduled sessions before the order
    /// ends.
    pub scheduled_minutes: i64,
    /// Set when the scheduled sessions cannot finish it by the end date.
    pub at_risk: bool,
    /// The rules' version.
    pub policy_version: String,
}

/// Computes a ledger.
pub fn ledger(
    policy: &Policy,
    requirement: &Requirement,
    device_credited: i64,
    scheduled_minutes: i64,
) -> Ledger {
    let required = i64::from(requirement.hours_required) * 60;
    let credited = requirement.minutes_credited_office + device_credited;
    let outstanding = (required - credited - requirement.adjustment_minutes).max(0);
    Ledger {
        required_minutes: required,
        credited_minutes: credited,
        adjustment_minutes: requirement.adjustment_minutes,
        outstanding_minutes: outstanding,
        scheduled_minutes,
        at_risk: scheduled_minutes < outstanding,
        policy_version: policy.version.clone(),
    }
}
