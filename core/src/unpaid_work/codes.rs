//! The national outcome codes for unpaid work appointments, as data, with
//! the hint texts a supervisor sees. Records map one to one onto nDelius.

use serde::{Deserialize, Serialize};

/// How an outcome counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    /// Attended and the time on site is credited.
    Attended,
    /// Attended, then sent home; the time on site is credited.
    SentHome,
    /// Absence the office has agreed; no credit, no enforcement.
    AcceptableAbsence,
    /// Did not attend without agreement; enforceable.
    UnacceptableAbsence,
}

/// One outcome code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutcomeCode {
    /// The nDelius code, e.g. `ATTC`.
    pub code: &'static str,
    /// Short description.
    pub description: &'static str,
    /// The hint a supervisor sees beside it.
    pub hint: &'static str,
    /// How it counts.
    pub kind: OutcomeKind,
    /// Whether it opens an enforcement item for the office.
    pub enforceable: bool,
    /// Whether a supervisor may choose it on site (acceptable absences are
    /// recorded only when the office has already agreed them).
    pub supervisor_selectable: bool,
}

impl OutcomeCode {
    /// Whether time on site is credited.
    pub fn credits_time(&self) -> bool {
        matches!(self.kind, OutcomeKind::Attended | OutcomeKind::SentHome)
    }

    /// Whether the person was on site.
    pub fn attended(&self) -> bool {
        self.credits_time()
    }
}

/// The code list.
pub const OUTCOME_CODES: &[OutcomeCode] = &[
    OutcomeCode {
        code: "ATTC",
        description: "Attended – complied",
        hint: "Worked the session as instructed.",
        kind: OutcomeKind::Attended,
        enforceable: false,
        supervisor_selectable: true,
    },
    OutcomeCode {
        code: "AFTC",
        description: "Attended – failed to comply",
        hint: "Lateness, arriving unfit, leaving early, no PPE.",
        kind: OutcomeKind::Attended,
        enforceable: true,
        supervisor_selectable: true,
    },
    OutcomeCode {
        code: "ATSH",
        description: "Attended – sent home (behaviour)",
        hint: "Sent home because of their behaviour.",
        kind: OutcomeKind::SentHome,
        enforceable: true,
        supervisor_selectable: true,
    },
    OutcomeCode {
        code: "ATSS",
        description: "Attended – sent home (service issues)",
        hint: "Oversubscribed, supervisor ill, vehicle, weather.",
        kind: OutcomeKind::SentHome,
        enforceable: false,
        supervisor_selectable: true,
    },
    OutcomeCode {
        code: "UACP",
        description: "Unacceptable absence",
        hint: "Did not attend and no absence was agreed.",
        kind: OutcomeKind::UnacceptableAbsence,
        enforceable: true,
        supervisor_selectable: true,
    },
    OutcomeCode {
        code: "AAME",
        description: "Acceptable absence – medical",
        hint: "Agreed by the office: medical reasons.",
        kind: OutcomeKind::AcceptableAbsence,
        enforceable: false,
        supervisor_selectable: false,
    },
    OutcomeCode {
        code: "AASD",
        description: "Acceptable absence – stood down",
        hint: "The session was stood down before they arrived.",
        kind: OutcomeKind::AcceptableAbsence,
        enforceable: false,
        supervisor_selectable: false,
    },
    OutcomeCode {
        code: "AAEM",
        description: "Acceptable absence – employment",
        hint: "Agreed by the office: work commitments.",
        kind: OutcomeKind::AcceptableAbsence,
        enforceable: false,
        supervisor_selectable: false,
    },
    OutcomeCode {
        code: "AAFC",
        description: "Acceptable absence – family or childcare",
        hint: "Agreed by the office: family or childcare.",
        kind: OutcomeKind::AcceptableAbsence,
        enforceable: false,
        supervisor_selectable: false,
    },
    OutcomeCode {
        code: "AACL",
        description: "Acceptable absence – court or legal",
        hint: "Agreed by the office: court or legal appointment.",
        kind: OutcomeKind::AcceptableAbsence,
        enforceable: false,
        supervisor_selectable: false,
    },
    OutcomeCode {
        code: "AARC",
        description: "Acceptable absence – religious or cultural",
        hint: "Agreed by the office: religious or cultural observance.",
        kind: OutcomeKind::AcceptableAbsence,
        enforceable: false,
        supervisor_selectable: false,
    },
    OutcomeCode {
        code: "CO05",
        description: "Acceptable absence – other agreed reason",
        hint: "Agreed by the office for another reason.",
        kind: OutcomeKind::AcceptableAbsence,
        enforceable: false,
        supervisor_selectable: false,
    },
];

/// Looks a code up.
pub fn outcome(code: &str) -> Option<&'static OutcomeCode> {
    OUTCOME_CODES.iter().find(|c| c.code == code)
}

/// The codes a supervisor is offered on site.
pub fn supervisor_outcomes() -> impl Iterator<Item = &'static OutcomeCode> {
    OUTCOME_CODES.iter().filter(|c| c.supervisor_selectable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_classified() {
        let mut seen = std::collections::HashSet::new();
        for c in OUTCOME_CODES {
            assert!(seen.insert(c.code), "duplicate {}", c.code);
            assert!(!c.hint.is_empty());
        }
        let enforceable: Vec<_> = OUTCOME_CODES
            .iter()
            .filter(|c| c.enforceable)
            .map(|c| c.code)
            .collect();
        assert_eq!(enforceable, ["AFTC", "ATSH", "UACP"]);
        let credited: Vec<_> = OUTCOME_CODES
            .iter()
            .filter(|c| c.credits_time())
            .map(|c| c.code)
            .collect();
        assert_eq!(credited, ["ATTC", "AFTC", "ATSH", "ATSS"]);
        assert_eq!(supervisor_outcomes().count(), 5);
        assert!(outcome("XXXX").is_none());
    }
}
