//! nDelius's unpaid work contact outcomes, as data: each code's meaning,
//! whether it credits time, whether it is enforceable, whether it is an
//! acceptable absence, and who may record it. Records map one to one onto
//! nDelius (source: the Community Payback API's contact outcome reference
//! data and its `attended`, `enforceable` and supervisor-group migrations).

use serde::{Deserialize, Serialize};

/// How an outcome counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// On site (ATTC, ATCH, AFTC, AFDA, ATSH, ATSS): time is credited.
    Attended,
    /// Absent, or failed an instruction, without an agreed reason.
    Failure,
    /// An absence (or failure) the office accepted.
    AcceptableAbsence,
    /// The appointment was moved: it neither credits nor enforces.
    Rescheduled,
    /// An administrative result (warrant outstanding, suspended, YOT breach).
    Administrative,
}

/// Who may record a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordedBy {
    /// The supervisor on site (and the office).
    Supervisor,
    /// The office only; arrives on the device by sync.
    Office,
}

/// One outcome code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeCode {
    /// The nDelius code, e.g. `ATTC`.
    pub code: &'static str,
    /// Its nDelius meaning.
    pub description: &'static str,
    /// The hint a supervisor sees beside it.
    pub hint: &'static str,
    /// How it counts.
    pub kind: OutcomeKind,
    /// Whether the time recorded is credited to the order.
    pub credits_time: bool,
    /// Whether it goes to the office's enforcement list.
    pub enforceable: bool,
    /// Who may record it.
    pub recorded_by: RecordedBy,
}

impl OutcomeCode {
    /// Whether the person was on site.
    pub fn attended(&self) -> bool {
        self.kind == OutcomeKind::Attended
    }

    /// Whether it is an absence the office accepted.
    pub fn acceptable_absence(&self) -> bool {
        self.kind == OutcomeKind::AcceptableAbsence
    }

    /// Whether a supervisor may choose it on site.
    pub fn supervisor_selectable(&self) -> bool {
        self.recorded_by == RecordedBy::Supervisor
    }
}

const fn code(
    code: &'static str,
    description: &'static str,
    hint: &'static str,
    kind: OutcomeKind,
    enforceable: bool,
    recorded_by: RecordedBy,
) -> OutcomeCode {
    OutcomeCode {
        code,
        description,
        hint,
        kind,
        credits_time: matches!(kind, OutcomeKind::Attended),
        enforceable,
        recorded_by,
    }
}

use OutcomeKind::{AcceptableAbsence, Administrative, Attended, Failure, Rescheduled};
use RecordedBy::{Office, Supervisor};

/// nDelius's full list, in its order.
#[rustfmt::skip]
pub const OUTCOME_CODES: &[OutcomeCode] = &[
    code("AFDA", "Attended – failed to comply, deemed acceptable",
        "The office accepted the reason for the failure; the time is credited.",
        Attended, false, Office),
    code("ATTC", "Attended – complied",
        "Worked the session as instructed.", Attended, false, Supervisor),
    code("AFTC", "Attended – failed to comply",
        "For example lateness, arriving unfit, leaving early without evidence, no protective equipment.",
        Attended, true, Supervisor),
    code("ATSH", "Attended – sent home (behaviour)",
        "For example aggression, under the influence, refusing instructions, unsafe behaviour.",
        Attended, true, Supervisor),
    code("ATSS", "Attended – sent home (service issues)",
        "For example oversubscribed, supervisor ill, early closure, vehicle or weather.",
        Attended, false, Supervisor),
    code("ATFI", "Failed to comply with other instruction",
        "An instruction other than attendance was not followed.", Failure, true, Office),
    code("UACP", "Unacceptable absence",
        "Did not attend and gave no valid reason.", Failure, true, Supervisor),
    code("AAME", "Acceptable absence – medical",
        "Agreed by the office: medical reasons.", AcceptableAbsence, false, Office),
    code("AASD", "Acceptable absence – stood down",
        "The session was stood down before it started.", AcceptableAbsence, false, Office),
    code("AAEM", "Acceptable absence – employment",
        "Agreed by the office: work commitments.", AcceptableAbsence, false, Office),
    code("AAFC", "Acceptable absence – family or childcare",
        "Agreed by the office: family or childcare.", AcceptableAbsence, false, Office),
    code("AACL", "Acceptable absence – court or legal",
        "Agreed by the office: court or legal appointment.", AcceptableAbsence, false, Office),
    code("AARC", "Acceptable absence – remanded in custody",
        "The person is in custody on remand.", AcceptableAbsence, false, Office),
    code("RSSR", "Rescheduled – service request",
        "Moved by the service, usually planned before the session.", Rescheduled, false, Office),
    code("RSOF", "Rescheduled – person on probation's request",
        "Moved at the person's request, for example a prior appointment or caring.",
        Rescheduled, false, Office),
    code("CO10", "Acceptable failure – none in the following 12 months",
        "A failure the office accepted because none followed within 12 months.",
        AcceptableAbsence, false, Office),
    code("CO38", "Warrant outstanding",
        "A warrant is outstanding for the person.", Administrative, false, Office),
    code("CO39", "YOT breach – not enforceable",
        "Breach handled by the youth offending team.", Administrative, false, Office),
    code("CO40", "Suspended", "The requirement is suspended.", Administrative, false, Office),
    code("ATCH", "Attended – concurrent hours",
        "Hours counted towards more than one requirement.", Attended, false, Office),
    code("CO05", "Acceptable absence – professional judgement decision",
        "The office accepted the absence on professional judgement.",
        AcceptableAbsence, false, Office),
];

/// Looks a code up.
pub fn outcome(code: &str) -> Option<&'static OutcomeCode> {
    OUTCOME_CODES.iter().find(|c| c.code == code)
}

/// The codes a supervisor is offered on site.
pub fn supervisor_outcomes() -> impl Iterator<Item = &'static OutcomeCode> {
    OUTCOME_CODES.iter().filter(|c| c.supervisor_selectable())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes_where(f: impl Fn(&OutcomeCode) -> bool) -> Vec<&'static str> {
        let mut v: Vec<_> = OUTCOME_CODES
            .iter()
            .filter(|c| f(c))
            .map(|c| c.code)
            .collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn the_full_ndelius_set_with_its_flags() {
        let mut seen = std::collections::HashSet::new();
        for c in OUTCOME_CODES {
            assert!(seen.insert(c.code), "duplicate {}", c.code);
            assert!(!c.hint.is_empty() && !c.description.is_empty());
        }
        assert_eq!(OUTCOME_CODES.len(), 21);
        assert_eq!(
            codes_where(|c| c.credits_time),
            ["AFDA", "AFTC", "ATCH", "ATSH", "ATSS", "ATTC"]
        );
        assert_eq!(
            codes_where(|c| c.enforceable),
            ["AFTC", "ATFI", "ATSH", "UACP"]
        );
        assert_eq!(
            codes_where(|c| c.supervisor_selectable()),
            ["AFTC", "ATSH", "ATSS", "ATTC", "UACP"]
        );
        assert_eq!(codes_where(|c| c.kind == Rescheduled), ["RSOF", "RSSR"]);
        for c in OUTCOME_CODES.iter().filter(|c| c.kind == Rescheduled) {
            assert!(!c.credits_time && !c.enforceable, "{}", c.code);
        }
        let aarc = outcome("AARC").expect("AARC");
        assert!(aarc.description.contains("remanded in custody"));
        assert!(aarc.acceptable_absence());
        assert!(outcome("CO05")
            .expect("CO05")
            .description
            .contains("professional judgement"));
        assert!(outcome("XXXX").is_none());
    }
}
