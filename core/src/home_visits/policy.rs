//! Home-visit rules as data: nDelius's home-visit (CHVS) outcomes, the
//! first-visit timescales, draft expiry, the response period after a
//! failed arranged visit, and form validation. Sources are in the README.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::model::{Case, VisitForm};
use super::safety::SafetyPolicy;
use crate::forms::FieldError;
use crate::vocab::RiskLevel;

/// How a visit outcome counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitOutcomeKind {
    /// The person was seen (complied or not).
    Seen,
    /// Not seen without an acceptable reason.
    Failure,
    /// An absence the office accepted.
    AcceptableAbsence,
}

/// A home-visit outcome code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitOutcome {
    /// nDelius code.
    pub code: &'static str,
    /// Its meaning.
    pub description: &'static str,
    /// Kind.
    pub kind: VisitOutcomeKind,
    /// Whether it needs an enforcement follow-up.
    pub enforceable: bool,
}

const fn vo(
    code: &'static str,
    description: &'static str,
    kind: VisitOutcomeKind,
    enforceable: bool,
) -> VisitOutcome {
    VisitOutcome {
        code,
        description,
        kind,
        enforceable,
    }
}

/// The outcome list for contact type CHVS (home visit), as nDelius has it.
#[rustfmt::skip]
pub const VISIT_OUTCOMES: &[VisitOutcome] = &[
    vo("ATTC", "Attended – complied", VisitOutcomeKind::Seen, false),
    vo("AFTC", "Attended – failed to comply", VisitOutcomeKind::Seen, true),
    vo("AFTA", "Failed to attend (no answer at an arranged visit)", VisitOutcomeKind::Failure, true),
    vo("UAAB", "Unacceptable absence", VisitOutcomeKind::Failure, true),
    vo("AACL", "Acceptable absence – court or legal", VisitOutcomeKind::AcceptableAbsence, false),
    vo("AAEM", "Acceptable absence – employment", VisitOutcomeKind::AcceptableAbsence, false),
    vo("AAFC", "Acceptable absence – family or childcare", VisitOutcomeKind::AcceptableAbsence, false),
    vo("AAHO", "Acceptable absence – holiday", VisitOutcomeKind::AcceptableAbsence, false),
    vo("AAME", "Acceptable absence – medical", VisitOutcomeKind::AcceptableAbsence, false),
    vo("AARE", "Acceptable absence – religious", VisitOutcomeKind::AcceptableAbsence, false),
    vo("AARC", "Acceptable absence – remanded in custody", VisitOutcomeKind::AcceptableAbsence, false),
    vo("CO05", "Acceptable absence – professional judgement decision", VisitOutcomeKind::AcceptableAbsence, false),
    vo("CO10", "Acceptable failure – none in the following 12 months", VisitOutcomeKind::AcceptableAbsence, false),
];

/// Looks an outcome up.
pub fn visit_outcome(code: &str) -> Option<&'static VisitOutcome> {
    VISIT_OUTCOMES.iter().find(|o| o.code == code)
}

/// The rules' parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitPolicy {
    /// Recorded on computations.
    pub version: String,
    /// Days to the first visit for high and very high risk of serious
    /// harm, and for the registrations in `priority_registrations`.
    pub high_days: i64,
    /// Days to the first visit for medium risk (6 weeks).
    pub medium_days: i64,
    /// Days to the first visit for low risk (12 weeks).
    pub low_days: i64,
    /// Register codes that bring the first visit to `high_days`: registered
    /// sex offenders and child sexual exploitation (a local mapping onto
    /// the area's register type codes).
    pub priority_registrations: Vec<String>,
    /// Days between later visits by risk level (high, medium, low): a local
    /// policy, not a national rule.
    pub later_interval_days: [i64; 3],
    /// Days the person has to respond after a failed arranged visit.
    pub response_days: i64,
    /// Hours before an unfinished draft expires.
    pub draft_expiry_hours: i64,
    /// Hours before expiry that the warning shows.
    pub draft_warning_hours: i64,
    /// Longest note.
    pub notes_max_chars: usize,
    /// Lone-worker timer settings.
    pub safety: SafetyPolicy,
}

impl Default for VisitPolicy {
    fn default() -> Self {
        Self {
            version: "hv-rules/2026.2".to_owned(),
            high_days: 15,
            medium_days: 42,
            low_days: 84,
            priority_registrations: vec!["RSO".into(), "CSE".into()],
            later_interval_days: [15, 42, 84],
            response_days: 7,
            draft_expiry_hours: 72,
            draft_warning_hours: 24,
            notes_max_chars: 4000,
            safety: SafetyPolicy::default(),
        }
    }
}

impl VisitPolicy {
    fn band(&self, case: &Case) -> usize {
        let priority = case.registrations.iter().any(|r| {
            self.priority_registrations
                .iter()
                .any(|p| p.eq_ignore_ascii_case(r.trim()))
        });
        if case.risk_level >= RiskLevel::High || priority {
            0
        } else if case.risk_level == RiskLevel::Medium {
            1
        } else {
            2
        }
    }

    /// Days to the first home visit from the start of supervision.
    pub fn first_visit_days(&self, case: &Case) -> i64 {
        [self.high_days, self.medium_days, self.low_days][self.band(case)]
    }

    /// When the next home visit is due. Today when the office has flagged an
    /// escalation of risk or a safeguarding concern; otherwise the first
    /// visit from the start of supervision, and later ones from the latest
    /// visit by date, whether recorded on a device or by the office.
    pub fn next_due(
        &self,
        case: &Case,
        last_seen: Option<NaiveDate>,
        today: NaiveDate,
    ) -> NaiveDate {
        if case.escalation_flagged {
            return today;
        }
        match last_seen.max(case.last_visit) {
            None => case.supervision_start + Duration::days(self.first_visit_days(case)),
            Some(last) => last + Duration::days(self.later_interval_days[self.band(case)]),
        }
    }
}

/// What a form is checked against.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormContext {
    /// Whether the visit was arranged with the person (else unannounced).
    pub arranged: bool,
    /// Whether the version being replaced was sensitive.
    pub previous_sensitive: bool,
}

/// Checks a form for finalising: every message at once.
pub fn check_form(policy: &VisitPolicy, form: &VisitForm, ctx: FormContext) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let previous_sensitive = ctx.previous_sensitive;
    let outcome = match form.outcome.as_deref() {
        // No answer at an unannounced visit is not a failure: no outcome.
        None if form.no_answer && !ctx.arranged => None,
        None if form.no_answer => {
            errors.push(FieldError::new(
                "outcome",
                "no answer at an arranged visit is recorded as AFTA (failed to attend)",
            ));
            None
        }
        None => {
            errors.push(FieldError::new("outcome", "required"));
            None
        }
        Some(code) => match visit_outcome(code) {
            None => {
                errors.push(FieldError::new("outcome", "unknown outcome code"));
                None
            }
            Some(o) => Some(o),
        },
    };
    if form.officers_present.iter().all(|o| o.trim().is_empty()) {
        errors.push(FieldError::new("officers_present", "at least one officer"));
    }
    let chars = form.notes.chars().count();
    if chars >= policy.notes_max_chars {
        errors.push(FieldError::new(
            "notes",
            format!(
                "must be under {} characters ({chars} entered)",
                policy.notes_max_chars
            ),
        ));
    }
    for (field, text) in [
        ("risk_concerns", &form.risk_concerns),
        ("safeguarding_concerns", &form.safeguarding_concerns),
    ] {
        if text.chars().count() >= policy.notes_max_chars {
            errors.push(FieldError::new(field, "too long"));
        }
    }
    if previous_sensitive && !form.sensitive {
        errors.push(FieldError::new(
            "sensitive",
            "a sensitive record cannot be made non-sensitive",
        ));
    }
    for (i, p) in form.people_present.iter().enumerate() {
        if p.name.trim().is_empty() {
            errors.push(FieldError::new(
                &format!("people_present[{i}].name"),
                "required",
            ));
        }
    }
    for (i, f) in form.follow_ups.iter().enumerate() {
        if f.action.trim().is_empty() {
            errors.push(FieldError::new(
                &format!("follow_ups[{i}].action"),
                "required",
            ));
        }
    }
    if let Some(o) = outcome {
        if o.kind == VisitOutcomeKind::Seen && form.no_answer {
            errors.push(FieldError::new(
                "no_answer",
                "the person was seen: there was an answer",
            ));
        }
        if o.code == "AFTA" && !ctx.arranged {
            errors.push(FieldError::new(
                "outcome",
                "no answer at an unannounced visit is not a failure: leave the outcome empty",
            ));
        }
        if o.kind == VisitOutcomeKind::Seen && form.accommodation.is_none() {
            errors.push(FieldError::new(
                "accommodation",
                "record the accommodation when the person was seen",
            ));
        }
        match (o.enforceable, form.enforcement.is_some()) {
            (true, false) => errors.push(FieldError::new(
                "enforcement",
                "choose the enforcement follow-up",
            )),
            (false, true) => errors.push(FieldError::new(
                "enforcement",
                "only for an enforceable outcome",
            )),
            _ => {}
        }
    } else if form.enforcement.is_some() {
        errors.push(FieldError::new(
            "enforcement",
            "only for an enforceable outcome",
        ));
    }
    errors
}

/// The date by which the person must respond after an enforceable
/// outcome at an arranged visit (AFTA): the visit date plus the response
/// period.
pub fn respond_by(
    policy: &VisitPolicy,
    form: &VisitForm,
    visit_date: NaiveDate,
) -> Option<NaiveDate> {
    let o = form.outcome.as_deref().and_then(visit_outcome)?;
    (o.code == "AFTA").then(|| visit_date + Duration::days(policy.response_days))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::home_visits::model::AssessmentStatus;

    fn case(risk: RiskLevel, registrations: &[&str]) -> Case {
        Case {
            crn: "X1".into(),
            name: Some("A".into()),
            restricted: false,
            addresses: vec![],
            risk_level: risk,
            registrations: registrations.iter().map(|r| (*r).to_owned()).collect(),
            staff_risks: vec![],
            known_occupants: vec![],
            assessment: AssessmentStatus::Current,
            supervision_start: NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
            last_visit: None,
            escalation_flagged: false,
        }
    }

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).expect("date")
    }

    #[test]
    fn first_visit_due_by_risk_and_registration() {
        let p = VisitPolicy::default();
        let today = d(2026, 11, 2);
        let cases: &[(RiskLevel, &[&str], NaiveDate, &str)] = &[
            (
                RiskLevel::VeryHigh,
                &[],
                d(2026, 11, 16),
                "very high: 15 days",
            ),
            (RiskLevel::High, &[], d(2026, 11, 16), "high: 15 days"),
            (RiskLevel::Medium, &[], d(2026, 12, 13), "medium: 6 weeks"),
            (RiskLevel::Low, &[], d(2027, 1, 24), "low: 12 weeks"),
            (
                RiskLevel::Low,
                &["RSO"],
                d(2026, 11, 16),
                "registered sex offender: 15 days",
            ),
            (
                RiskLevel::Medium,
                &["cse"],
                d(2026, 11, 16),
                "child sexual exploitation: 15 days",
            ),
            // Changed: any registration used to bring it to 15 days.
            (
                RiskLevel::Low,
                &["MAPPA"],
                d(2027, 1, 24),
                "another registration: by risk",
            ),
            (
                RiskLevel::Medium,
                &["DV"],
                d(2026, 12, 13),
                "another registration: by risk",
            ),
        ];
        for (risk, regs, due, why) in cases {
            assert_eq!(p.next_due(&case(*risk, regs), None, today), *due, "{why}");
        }
    }

    #[test]
    fn later_visits_run_from_the_latest_visit_by_date() {
        let p = VisitPolicy::default();
        let today = d(2026, 12, 2);
        let c = case(RiskLevel::Medium, &[]);
        assert_eq!(p.next_due(&c, Some(d(2026, 12, 1)), today), d(2027, 1, 12));
        let mut known = c.clone();
        known.last_visit = Some(d(2026, 11, 10));
        assert_eq!(p.next_due(&known, None, today), d(2026, 12, 22));
        // The latest by date counts, wherever recorded (it used to prefer
        // the device's even when the office's was later).
        assert_eq!(
            p.next_due(&known, Some(d(2026, 11, 5)), today),
            d(2026, 12, 22)
        );
        assert_eq!(
            p.next_due(&known, Some(d(2026, 11, 20)), today),
            d(2027, 1, 1)
        );
        // An escalation flag makes it due now.
        known.escalation_flagged = true;
        assert_eq!(p.next_due(&known, Some(d(2026, 11, 20)), today), today);
    }

    #[test]
    fn outcomes_are_ndelius_chvs() {
        let mut seen = std::collections::HashSet::new();
        assert!(VISIT_OUTCOMES.iter().all(|o| seen.insert(o.code)));
        let mut enforceable: Vec<_> = VISIT_OUTCOMES
            .iter()
            .filter(|o| o.enforceable)
            .map(|o| o.code)
            .collect();
        enforceable.sort_unstable();
        assert_eq!(enforceable, ["AFTA", "AFTC", "UAAB"]);
        assert_eq!(VISIT_OUTCOMES.len(), 13);
        for old in ["SEEN", "FTA", "NSNA", "NSRE", "NSNL", "NSAS"] {
            assert!(visit_outcome(old).is_none(), "{old} was invented");
        }
    }
}
