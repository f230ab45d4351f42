//! Home-visit rules as data: outcome codes, first-visit timescales by risk,
//! draft expiry and form validation.

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::model::{Case, VisitForm};
use super::safety::SafetyPolicy;
use crate::forms::FieldError;
use crate::unpaid_work::model::RiskLevel;

/// How a visit outcome counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitOutcomeKind {
    /// The person was seen.
    Seen,
    /// A failure that needs an enforcement follow-up.
    Failure,
    /// Not seen, not a failure by itself.
    NotSeen,
    /// An acceptable absence the office agreed.
    AcceptableAbsence,
}

/// A visit outcome code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitOutcome {
    /// Code.
    pub code: &'static str,
    /// Description.
    pub description: &'static str,
    /// Kind.
    pub kind: VisitOutcomeKind,
}

/// The outcome list (contact type CHVS, home visit).
pub const VISIT_OUTCOMES: &[VisitOutcome] = &[
    VisitOutcome {
        code: "SEEN",
        description: "Attended – seen",
        kind: VisitOutcomeKind::Seen,
    },
    VisitOutcome {
        code: "FTA",
        description: "Failed to attend",
        kind: VisitOutcomeKind::Failure,
    },
    VisitOutcome {
        code: "NSNA",
        description: "Not seen – no answer",
        kind: VisitOutcomeKind::NotSeen,
    },
    VisitOutcome {
        code: "NSRE",
        description: "Not seen – refused entry",
        kind: VisitOutcomeKind::Failure,
    },
    VisitOutcome {
        code: "NSNL",
        description: "Not seen – no longer living there",
        kind: VisitOutcomeKind::NotSeen,
    },
    VisitOutcome {
        code: "NSAS",
        description: "Not seen – abandoned for safety",
        kind: VisitOutcomeKind::NotSeen,
    },
    VisitOutcome {
        code: "AAME",
        description: "Acceptable absence – medical",
        kind: VisitOutcomeKind::AcceptableAbsence,
    },
    VisitOutcome {
        code: "AAEM",
        description: "Acceptable absence – employment",
        kind: VisitOutcomeKind::AcceptableAbsence,
    },
    VisitOutcome {
        code: "AAFC",
        description: "Acceptable absence – family or childcare",
        kind: VisitOutcomeKind::AcceptableAbsence,
    },
    VisitOutcome {
        code: "AACL",
        description: "Acceptable absence – court or legal",
        kind: VisitOutcomeKind::AcceptableAbsence,
    },
    VisitOutcome {
        code: "AARC",
        description: "Acceptable absence – religious or cultural",
        kind: VisitOutcomeKind::AcceptableAbsence,
    },
    VisitOutcome {
        code: "CO05",
        description: "Acceptable absence – other agreed reason",
        kind: VisitOutcomeKind::AcceptableAbsence,
    },
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
    /// Days to the first visit for high and very high risk, and for
    /// registered cases.
    pub high_days: i64,
    /// Days for medium risk.
    pub medium_days: i64,
    /// Days for low risk.
    pub low_days: i64,
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
            version: "hv-rules/2026.1".to_owned(),
            high_days: 15,
            medium_days: 42,
            low_days: 84,
            draft_expiry_hours: 72,
            draft_warning_hours: 24,
            notes_max_chars: 4000,
            safety: SafetyPolicy::default(),
        }
    }
}

impl VisitPolicy {
    /// The interval that applies to a case.
    pub fn interval_days(&self, case: &Case) -> i64 {
        if case.risk_level >= RiskLevel::High || !case.registrations.is_empty() {
            self.high_days
        } else if case.risk_level == RiskLevel::Medium {
            self.medium_days
        } else {
            self.low_days
        }
    }

    /// When the next home visit is due: the interval from the start of
    /// supervision for the first, from the last visit after that.
    pub fn next_due(&self, case: &Case, last_seen: Option<NaiveDate>) -> NaiveDate {
        let base = last_seen
            .or(case.last_visit)
            .unwrap_or(case.supervision_start);
        base + Duration::days(self.interval_days(case))
    }
}

/// Checks a form for finalising: every message at once.
pub fn check_form(
    policy: &VisitPolicy,
    form: &VisitForm,
    previous_sensitive: bool,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let outcome = match form.outcome.as_deref() {
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
        match o.kind {
            VisitOutcomeKind::Seen => {
                if form.accommodation.is_none() {
                    errors.push(FieldError::new(
                        "accommodation",
                        "record the accommodation when the person was seen",
                    ));
                }
                if form.enforcement.is_some() {
                    errors.push(FieldError::new("enforcement", "only for a failed visit"));
                }
            }
            VisitOutcomeKind::Failure => {
                if form.enforcement.is_none() {
                    errors.push(FieldError::new(
                        "enforcement",
                        "choose the enforcement follow-up",
                    ));
                }
            }
            _ => {
                if form.enforcement.is_some() {
                    errors.push(FieldError::new("enforcement", "only for a failed visit"));
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::home_visits::model::AssessmentStatus;

    fn case(risk: RiskLevel, registered: bool) -> Case {
        Case {
            crn: "X1".into(),
            name: Some("A".into()),
            restricted: false,
            addresses: vec![],
            risk_level: risk,
            registrations: if registered {
                vec!["MAPPA".into()]
            } else {
                vec![]
            },
            staff_risks: vec![],
            known_occupants: vec![],
            assessment: AssessmentStatus::Current,
            supervision_start: NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
            last_visit: None,
        }
    }

    #[test]
    fn due_dates_by_risk_level() {
        let p = VisitPolicy::default();
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).expect("date");
        let cases = [
            (RiskLevel::VeryHigh, false, d(2026, 11, 16)),
            (RiskLevel::High, false, d(2026, 11, 16)),
            (RiskLevel::Medium, false, d(2026, 12, 13)),
            (RiskLevel::Low, false, d(2027, 1, 24)),
            (RiskLevel::Low, true, d(2026, 11, 16)),
            (RiskLevel::Medium, true, d(2026, 11, 16)),
        ];
        for (risk, registered, due) in cases {
            assert_eq!(
                p.next_due(&case(risk, registered), None),
                due,
                "{risk:?} {registered}"
            );
        }
        // After a visit, the interval runs from it.
        let c = case(RiskLevel::Medium, false);
        assert_eq!(p.next_due(&c, Some(d(2026, 12, 1))), d(2027, 1, 12));
        let mut known = c.clone();
        known.last_visit = Some(d(2026, 11, 10));
        assert_eq!(p.next_due(&known, None), d(2026, 12, 22));
    }

    #[test]
    fn outcomes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        assert!(VISIT_OUTCOMES.iter().all(|o| seen.insert(o.code)));
    }
}
