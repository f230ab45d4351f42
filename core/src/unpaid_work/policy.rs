//! The unpaid work rules, as data with a version recorded on every
//! computation: minutes credited, validation of an outcome, the ETE cap,
//! the statutory enforcement step, and the ledger. Pure functions, no
//! storage. Each rule names its source in the README's rules section.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use super::codes::{self, OutcomeCode, OutcomeKind};
use super::model::{
    Compliance, EnforcementStep, Project, ProjectType, Rating, Requirement, Stamp, WorkSession,
};
pub use crate::forms::{first_error, FieldError};

/// The rules' parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Recorded on every computation.
    pub version: String,
    /// Longest note.
    pub notes_max_chars: usize,
    /// Most travel minutes a task may claim (nDelius reason TTX: 180).
    pub travel_time_max_minutes: u32,
    /// A further failure within this many months of a warning is referred
    /// for breach (Sentencing Code, Schedule 10 paragraph 6).
    pub breach_window_months: u32,
    /// Minutes after the planned start before an arrival counts as late.
    pub lateness_tolerance_minutes: i64,
    /// Outstanding minutes at or below which "hours nearly complete" shows.
    pub nearly_complete_minutes: i64,
    /// Education, training and employment may make up at most this share
    /// of the minutes ordered, in per cent (rounded down to the minute).
    pub ete_cap_percent: i64,
    /// When the "at risk" warning shows (a local choice, not a legal limit).
    pub at_risk: AtRiskRule,
}

/// When the ledger warns that the hours will not be finished in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "rule", content = "months")]
pub enum AtRiskRule {
    /// Never.
    Off,
    /// When the scheduled sessions before the order's expected end cannot
    /// cover the outstanding minutes.
    ByExpectedEnd,
    /// The same, by this many months from the order's start (the Sentencing
    /// Code's 12 months, Schedule 9 paragraph 1(1)(b), until the Sentencing
    /// Act 2026 section 36 removes that period).
    MonthsFromStart(u32),
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            version: "upw-rules/2026.2".to_owned(),
            notes_max_chars: 4000,
            travel_time_max_minutes: 180,
            breach_window_months: 12,
            lateness_tolerance_minutes: 10,
            nearly_complete_minutes: 600,
            ete_cap_percent: 30,
            at_risk: AtRiskRule::ByExpectedEnd,
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
    /// Send to the practitioner's alert diary (any outcome).
    pub raise_alert: bool,
    /// Travel minutes claimed (eligible projects).
    pub travel_minutes: Option<u32>,
    /// Compliance on the day.
    #[serde(default)]
    pub compliance: Compliance,
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
            compliance: Compliance::default(),
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
    /// ETE minutes already credited to it, not counting this appointment.
    pub ete_credited_minutes: i64,
    /// An absence the office agreed for this appointment.
    pub agreed_absence: Option<&'a str>,
    /// An outcome the office recorded for it (e.g. rescheduled).
    pub office_outcome: Option<&'a str>,
    /// The outcome this one would replace (corrections).
    pub previous_sensitive: bool,
    /// Whether the session was stood down before its start (enables AASD).
    pub stood_down_before_start: bool,
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
    /// Whether these are education, training and employment minutes.
    pub ete: bool,
    /// Work after the order's expected end: flagged for the office.
    pub after_expected_end: bool,
}

/// Minutes on site as nDelius computes them: from the local clock times
/// as recorded, to the minute (09:00:40 counts as 09:00). On a clock-change
/// day this is what the supervisor's watch shows, not elapsed time.
pub fn minutes_between(arrival: &Stamp, departure: &Stamp) -> i64 {
    (departure.local_minute() - arrival.local_minute()).num_minutes()
}

/// The most ETE minutes a requirement may have credited: the policy's
/// share of the minutes ordered, rounded down.
pub fn ete_cap_minutes(policy: &Policy, requirement: &Requirement) -> i64 {
    i64::from(requirement.hours_required) * 60 * policy.ete_cap_percent / 100
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
    let rescheduled = ctx
        .office_outcome
        .and_then(codes::outcome)
        .is_some_and(|c| c.kind == OutcomeKind::Rescheduled);
    if rescheduled && code.kind == OutcomeKind::Failure {
        errors.push(FieldError::new(
            "code",
            "the appointment was rescheduled: it cannot be recorded as a failure",
        ));
    }
    if !code.supervisor_selectable() {
        let agreed = ctx.agreed_absence == Some(code.code)
            || ctx.office_outcome == Some(code.code)
            || (code.code == "AASD" && ctx.stood_down_before_start);
        if !agreed {
            errors.push(FieldError::new(
                "code",
                "this outcome is recorded by the office; choose one of the on-site outcomes",
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
    check_compliance(policy, code, &input.compliance, &mut errors);
    if ctx.previous_sensitive && !input.sensitive {
        errors.push(FieldError::new(
            "sensitive",
            "a sensitive record cannot be made non-sensitive",
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

    let ete = ctx.project.project_type == ProjectType::EducationTrainingEmployment;
    let mut minutes_credited = 0;
    let mut late_by_minutes = None;
    if code.credits_time {
        match (&input.arrival, &input.departure) {
            (Some(arrival), Some(departure)) => {
                let on_site = minutes_between(arrival, departure);
                if departure.utc_ms <= arrival.utc_ms || on_site <= 0 {
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
                    if let (true, Some(req)) = (ete, ctx.requirement) {
                        let cap = ete_cap_minutes(policy, req);
                        let remaining = (cap - ctx.ete_credited_minutes).max(0);
                        if minutes_credited > remaining {
                            errors.push(FieldError::new(
                                "departure",
                                format!(
                                    "education, training and employment is capped at {cap} minutes \
                                     for this order ({}% of the hours); {remaining} minutes remain",
                                    policy.ete_cap_percent
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
            ete: ete && code.credits_time,
            after_expected_end: ctx
                .requirement
                .is_some_and(|r| ctx.session.date > r.order_end),
        })
    } else {
        Err(errors)
    }
}

fn check_compliance(
    policy: &Policy,
    code: &OutcomeCode,
    c: &Compliance,
    errors: &mut Vec<FieldError>,
) {
    for (field, text) in [
        ("compliance.unable_to_work_reason", &c.unable_to_work_reason),
        ("compliance.left_early_reason", &c.left_early_reason),
    ] {
        if let Some(text) = text {
            if text.trim().is_empty() {
                errors.push(FieldError::new(field, "say why, or leave it out"));
            } else if text.chars().count() >= policy.notes_max_chars {
                errors.push(FieldError::new(field, "too long"));
            }
        }
    }
    if !code.attended()
        && (c.hi_vis_worn.is_some()
            || c.worked_intensively.is_some()
            || c.unable_to_work_reason.is_some()
            || c.left_early_reason.is_some())
    {
        errors.push(FieldError::new(
            "compliance",
            "compliance is recorded only for someone who attended",
        ));
    }
}

/// Minutes late beyond the tolerance, if any.
pub fn lateness(policy: &Policy, session: &WorkSession, arrival: &Stamp) -> Option<i64> {
    let planned = session.date.and_time(session.planned_start);
    let late = (arrival.local_minute() - planned).num_minutes() - policy.lateness_tolerance_minutes;
    (late > 0).then_some(late + policy.lateness_tolerance_minutes)
}

/// The session must be on a project day and not before the order began.
/// A date after the order's expected end is valid: the requirement stays
/// in force until the hours are worked.
pub fn check_session_date(
    session: &WorkSession,
    project: &Project,
    requirement: Option<&Requirement>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(req) = requirement {
        if session.date < req.order_start {
            errors.push(FieldError::new(
                "session",
                "the session is before the order began",
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

/// Schedule 10 paragraph 6: a failure with no warning given in the window
/// is the office's choice of a warning or a breach referral; a failure
/// within the window of a warning must be referred. The window is the 12
/// months beginning with the day the warning was given, so it ends the day
/// before the anniversary. Only warnings actually given count.
pub fn statutory_step(policy: &Policy, warnings: &[NaiveDate], date: NaiveDate) -> EnforcementStep {
    let within = warnings.iter().any(|w| {
        let end = w
            .checked_add_months(Months::new(policy.breach_window_months))
            .unwrap_or(NaiveDate::MAX);
        *w <= date && date < end
    });
    if within {
        EnforcementStep::BreachReferral
    } else {
        EnforcementStep::WarningOrReferral
    }
}

/// A requirement's hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Minutes ordered.
    pub required_minutes: i64,
    /// Minutes credited (office plus this device's captures).
    pub credited_minutes: i64,
    /// Positive adjustments (add to what is required).
    pub positive_adjustment_minutes: i64,
    /// Negative adjustments (reduce it; travel time is one).
    pub negative_adjustment_minutes: i64,
    /// Minutes still to do: required + positive − negative − credited.
    pub outstanding_minutes: i64,
    /// ETE minutes credited, and the cap.
    pub ete_credited_minutes: i64,
    /// The most ETE minutes allowed.
    pub ete_cap_minutes: i64,
    /// Planned minutes of the remaining scheduled sessions before the
    /// at-risk rule's date.
    pub scheduled_minutes: i64,
    /// Set when the at-risk rule is on and the scheduled sessions cannot
    /// finish the hours by its date.
    pub at_risk: bool,
    /// The rules' version.
    pub policy_version: String,
}

/// The date by which the at-risk rule expects the hours done, if any.
pub fn at_risk_date(policy: &Policy, requirement: &Requirement) -> Option<NaiveDate> {
    match policy.at_risk {
        AtRiskRule::Off => None,
        AtRiskRule::ByExpectedEnd => Some(requirement.order_end),
        AtRiskRule::MonthsFromStart(m) => requirement
            .order_start
            .checked_add_months(Months::new(m))
            .and_then(|d| d.pred_opt()),
    }
}

/// Computes a ledger.
pub fn ledger(
    policy: &Policy,
    requirement: &Requirement,
    device_credited: i64,
    device_ete_credited: i64,
    scheduled_minutes: i64,
) -> Ledger {
    let required = i64::from(requirement.hours_required) * 60;
    let (positive, negative) = requirement.adjustment_totals();
    let credited = requirement.minutes_credited_office + device_credited;
    let outstanding = (required + positive - negative - credited).max(0);
    Ledger {
        required_minutes: required,
        credited_minutes: credited,
        positive_adjustment_minutes: positive,
        negative_adjustment_minutes: negative,
        outstanding_minutes: outstanding,
        ete_credited_minutes: requirement.ete_minutes_credited_office + device_ete_credited,
        ete_cap_minutes: ete_cap_minutes(policy, requirement),
        scheduled_minutes,
        at_risk: at_risk_date(policy, requirement).is_some() && scheduled_minutes < outstanding,
        policy_version: policy.version.clone(),
    }
}

/// Whether an order's aggregate hours lie outside the Sentencing Code's
/// 40 to 300 (Schedule 9 paragraph 2(1)(b)); a warning, never a refusal.
pub fn aggregate_hours_unusual(aggregate_hours: u32) -> bool {
    !(40..=300).contains(&aggregate_hours)
}
