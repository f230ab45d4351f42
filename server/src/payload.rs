//! The one place the server reads fields out of an event's payload.
//!
//! Everything else (ingest decisions, storage columns, office reads) asks
//! this module, so that when event payloads become typed structs shared
//! with the core, only these functions change.

use serde_json::Value;

/// Event kinds the server gives meaning to.
pub mod kinds {
    /// A supervisor's outcome for one appointment (conflict subject).
    pub const OUTCOME_RECORDED: &str = "upw.outcome_recorded";
    /// A home visit begun on a device (it scopes later visit events).
    pub const VISIT_STARTED: &str = "visit.started";
    /// The finalised record of a home visit.
    pub const VISIT_RECORDED: &str = "visit.recorded";
    /// Prefix of the lone-worker safety transitions.
    pub const VISIT_SAFETY_PREFIX: &str = "visit.safety";
}

/// The ids an event refers to, as far as the server cares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// Unpaid work session.
    pub session_id: Option<String>,
    /// Home-visit case.
    pub case_id: Option<String>,
    /// Home visit.
    pub visit_id: Option<String>,
    /// Unpaid work appointment.
    pub appointment_id: Option<String>,
}

fn text(payload: &Value, field: &str) -> Option<String> {
    payload.get(field)?.as_str().map(str::to_owned)
}

/// The ids an event of `kind` names in its payload.
pub fn subject_of(_kind: &str, payload: &Value) -> Subject {
    // Every kind uses the same field names today; `kind` is here so typed
    // payloads can pick the right variant.
    Subject {
        session_id: text(payload, "session_id"),
        case_id: text(payload, "case_id"),
        visit_id: text(payload, "visit_id"),
        appointment_id: text(payload, "appointment_id"),
    }
}

/// What the office reads from an outcome event's payload.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutcomeFields {
    /// Appointment.
    pub appointment_id: Option<String>,
    /// Requirement (the order the minutes count towards).
    pub requirement_id: Option<String>,
    /// Case reference.
    pub crn: Option<String>,
    /// Outcome code.
    pub code: Option<String>,
    /// Enforcement step the device flagged, if any.
    pub enforcement_step: Value,
    /// Whether the device raised an alert.
    pub raise_alert: Value,
    /// Session date.
    pub session_date: Value,
    /// Minutes the device credited.
    pub minutes_credited: i64,
}

/// Reads an `upw.outcome_recorded` payload.
pub fn outcome_of(payload: &Value) -> OutcomeFields {
    let field = |name: &str| payload.get(name).cloned().unwrap_or(Value::Null);
    OutcomeFields {
        appointment_id: text(payload, "appointment_id"),
        requirement_id: text(payload, "requirement_id"),
        crn: text(payload, "crn"),
        code: text(payload, "code"),
        enforcement_step: field("enforcement_step"),
        raise_alert: field("raise_alert"),
        session_date: field("session_date"),
        minutes_credited: payload
            .get("minutes_credited")
            .and_then(Value::as_i64)
            .unwrap_or(0),
    }
}

/// The outcome code a `visit.recorded` payload's form holds.
pub fn visit_outcome_of(payload: &Value) -> Option<String> {
    payload.get("form").and_then(|f| text(f, "outcome"))
}

/// The lone-worker status a `visit.safety*` payload reports.
pub fn safety_status_of(payload: &Value) -> Option<String> {
    text(payload, "status")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_ids_and_ignores_wrong_types() {
        let s = subject_of(
            kinds::OUTCOME_RECORDED,
            &json!({ "session_id": "s", "appointment_id": "a", "visit_id": 3 }),
        );
        assert_eq!(s.session_id.as_deref(), Some("s"));
        assert_eq!(s.appointment_id.as_deref(), Some("a"));
        assert_eq!(s.visit_id, None);
        assert_eq!(s.case_id, None);
        assert_eq!(subject_of("x", &Value::Null), Subject::default());
    }

    #[test]
    fn outcome_fields() {
        let o =
            outcome_of(&json!({ "appointment_id": "a", "minutes_credited": 90, "code": "ATTC" }));
        assert_eq!(o.minutes_credited, 90);
        assert_eq!(o.code.as_deref(), Some("ATTC"));
        assert!(o.enforcement_step.is_null());
    }
}
