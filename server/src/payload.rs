//! The one place the server reads an event's payload: through the core's
//! typed payloads (`fieldbook_core::events::Payload`), the contract the
//! phone writes with. Ingest decisions, storage columns and office reads
//! ask this module; nothing indexes a payload by string key.

use fieldbook_core::events::Payload;
use serde_json::Value;

/// Event kinds the server gives meaning to, named once in the core.
pub mod kinds {
    pub use fieldbook_core::events::kinds::{
        UPW_OUTCOME as OUTCOME_RECORDED, UPW_UNALLOCATED_ARRIVAL as UNALLOCATED_ARRIVAL,
        VISIT_RECORDED, VISIT_SAFETY, VISIT_STARTED,
    };
    /// Prefix that selects the lone-worker safety events in storage (the
    /// exact kind is [`VISIT_SAFETY`]).
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
    /// Unpaid work requirement.
    pub requirement_id: Option<String>,
    /// The CRN the event names, normalised.
    pub crn: Option<String>,
}

/// The typed payload of an event of `kind`: `None` when a known kind's
/// payload does not match its type. Unknown kinds come back as
/// [`Payload::Unknown`].
pub fn typed(kind: &str, payload: &Value) -> Option<Payload> {
    Payload::parse(kind, payload).ok()
}

/// The ids an event of `kind` names in its payload.
pub fn subject_of(kind: &str, payload: &Value) -> Subject {
    typed(kind, payload)
        .map(|p| subject_of_typed(&p))
        .unwrap_or_default()
}

/// The ids a typed payload names, as the server stores them.
pub fn subject_of_typed(p: &Payload) -> Subject {
    let s = p.subject();
    let text = |id: Option<fieldbook_core::ids::RecordId>| id.map(|i| i.to_string());
    Subject {
        session_id: text(s.session_id),
        case_id: text(s.case_id),
        visit_id: text(s.visit_id),
        appointment_id: text(s.appointment_id),
        requirement_id: text(s.requirement_id),
        crn: s.crn.map(|c| fieldbook_core::vocab::normalise_crn(&c)),
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

/// Reads an `upw.outcome_recorded` payload (empty fields for anything else).
pub fn outcome_of(payload: &Value) -> OutcomeFields {
    let Some(Payload::Outcome(o)) = typed(kinds::OUTCOME_RECORDED, payload) else {
        return OutcomeFields::default();
    };
    let json = |v: serde_json::Result<Value>| v.unwrap_or(Value::Null);
    OutcomeFields {
        appointment_id: Some(o.appointment_id.to_string()),
        requirement_id: o.requirement_id.as_ref().map(ToString::to_string),
        crn: Some(o.crn.clone()),
        code: Some(o.code.clone()),
        enforcement_step: json(serde_json::to_value(o.enforcement_step)),
        raise_alert: Value::Bool(o.raise_alert),
        session_date: json(serde_json::to_value(o.session_date)),
        minutes_credited: o.minutes_credited,
    }
}

/// The outcome code a `visit.recorded` payload's form holds.
pub fn visit_outcome_of(payload: &Value) -> Option<String> {
    match typed(kinds::VISIT_RECORDED, payload)? {
        Payload::VisitRecorded(v) => v.form.outcome.clone(),
        _ => None,
    }
}

/// The lone-worker status a `visit.safety` payload reports.
pub fn safety_status_of(payload: &Value) -> Option<String> {
    match typed(kinds::VISIT_SAFETY, payload)? {
        Payload::VisitSafety(s) => serde_json::to_value(s.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbook_core::events::payload as ev;
    use fieldbook_core::ids::RecordId;
    use fieldbook_core::vocab::Stamp;
    use serde_json::json;

    fn rid() -> RecordId {
        RecordId::random().expect("rng")
    }

    #[test]
    fn reads_through_the_typed_payloads() {
        let (s, a) = (rid(), rid());
        let p = Payload::WarningGiven(ev::WarningGiven {
            appointment_id: a.clone(),
            session_id: s.clone(),
            requirement_id: None,
            crn: "X1".into(),
            date: chrono::NaiveDate::from_ymd_opt(2026, 12, 2).expect("date"),
            at: Stamp {
                utc_ms: 0,
                offset_min: 0,
            },
        });
        let v = p.to_value().expect("value");
        let subject = subject_of(p.kind(), &v);
        assert_eq!(subject.session_id, Some(s.to_string()));
        assert_eq!(subject.appointment_id, Some(a.to_string()));
        assert_eq!(subject.visit_id, None);
        // A known kind with the wrong shape names nothing (ingest refuses
        // it as malformed); so does an unknown kind.
        let bad = json!({ "session_id": "s", "appointment_id": "a", "visit_id": 3 });
        assert_eq!(
            subject_of(kinds::OUTCOME_RECORDED, &bad),
            Subject::default()
        );
        assert!(typed(kinds::OUTCOME_RECORDED, &bad).is_none());
        assert_eq!(subject_of("x.newer", &Value::Null), Subject::default());
        assert!(typed("x.newer", &Value::Null).is_some_and(|p| !p.is_known()));
        assert_eq!(outcome_of(&bad), OutcomeFields::default());
    }
}
