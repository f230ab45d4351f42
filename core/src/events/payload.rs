//! One typed payload per event kind: the contract between the phone that
//! writes an event, the server that checks and projects it, and the office
//! that shows it. Each kind's name and shape are written here once.
//!
//! Payloads are serialised through `serde_json::Value`, whose object keys
//! are ordered, so the signed bytes of every existing kind are exactly what
//! the `json!` maps produced before these types existed (fields that were
//! absent stay absent, `None` stays `null`). A kind this build does not know
//! (a newer phone) parses as [`Payload::Unknown`] with its JSON kept whole.

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::access::{AccessPayload, KIND_PREFIX as ACCESS_PREFIX};
use crate::error::{Error, Result};
use crate::home_visits::model::{GeoPoint, VisitForm};
use crate::home_visits::safety::SafetyStatus;
use crate::home_visits::StartWarning;
use crate::ids::RecordId;
use crate::unpaid_work::model::{Compliance, EnforcementStep, Rating};
use crate::vocab::Stamp;

/// Every event kind, by name.
pub mod kinds {
    /// Session started.
    pub const UPW_SESSION_STARTED: &str = "upw.session_started";
    /// Session stood down or cancelled.
    pub const UPW_SESSION_STOOD_DOWN: &str = "upw.session_stood_down";
    /// Session ended and closed.
    pub const UPW_SESSION_ENDED: &str = "upw.session_ended";
    /// Incident on site.
    pub const UPW_INCIDENT: &str = "upw.incident";
    /// Headcount taken.
    pub const UPW_HEADCOUNT: &str = "upw.headcount";
    /// Person arrived.
    pub const UPW_ARRIVED: &str = "upw.arrived";
    /// Person turned up without an allocation.
    pub const UPW_UNALLOCATED_ARRIVAL: &str = "upw.unallocated_arrival";
    /// Outcome recorded (or corrected, with `supersedes`).
    pub const UPW_OUTCOME: &str = "upw.outcome_recorded";
    /// The supervisor gave an enforcement warning on site.
    pub const UPW_WARNING_GIVEN: &str = "upw.warning_given";
    /// A visit started (and its timer).
    pub const VISIT_STARTED: &str = "visit.started";
    /// A manager overrode a safety prerequisite to let a visit start.
    pub const VISIT_SAFETY_OVERRIDE: &str = "visit.safety_override";
    /// A safety action or timer transition.
    pub const VISIT_SAFETY: &str = "visit.safety";
    /// The visit ended.
    pub const VISIT_ENDED: &str = "visit.ended";
    /// The visit's record, finalised (or amended, with `supersedes`).
    pub const VISIT_RECORDED: &str = "visit.recorded";
    /// A follow-up action was completed.
    pub const VISIT_FOLLOW_UP_DONE: &str = "visit.follow_up_done";
    /// The device received the office's acknowledgement of a safety alert.
    pub const VISIT_ACK_SEEN: &str = "visit.ack_seen";

    /// The kinds the lone-worker safety lane carries ahead of the ordered
    /// log: what the office needs to run its own overdue clock.
    pub const SAFETY_LANE: [&str; 4] = [VISIT_STARTED, VISIT_SAFETY, VISIT_ENDED, VISIT_ACK_SEEN];

    /// Whether `kind` travels on the safety lane.
    pub fn is_safety_lane(kind: &str) -> bool {
        SAFETY_LANE.contains(&kind)
    }
}

/// `upw.session_started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStarted {
    /// The session.
    pub session_id: RecordId,
    /// When.
    pub at: Stamp,
}

/// `upw.session_stood_down`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionStoodDown {
    /// The session.
    pub session_id: RecordId,
    /// Why.
    pub reason: String,
    /// When.
    pub at: Stamp,
    /// Whether before the planned start (absent in events before 2026.2).
    #[serde(default)]
    pub before_start: bool,
}

/// `upw.session_ended`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionEnded {
    /// The session.
    pub session_id: RecordId,
    /// When.
    pub at: Stamp,
    /// How many attended.
    pub attended: u32,
}

/// `upw.incident`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    /// The session.
    pub session_id: RecordId,
    /// What happened.
    pub description: String,
    /// When.
    pub at: Stamp,
}

/// `upw.headcount`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headcount {
    /// The session.
    pub session_id: RecordId,
    /// Counted.
    pub count: u32,
    /// Checked in and still on site.
    pub on_site: u32,
    /// When.
    pub at: Stamp,
}

/// `upw.arrived`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arrived {
    /// The appointment.
    pub appointment_id: RecordId,
    /// Its session.
    pub session_id: RecordId,
    /// Its requirement.
    pub requirement_id: Option<RecordId>,
    /// CRN.
    pub crn: String,
    /// Arrival.
    pub arrival: Stamp,
    /// Identity checked against the photo.
    pub identity_checked: bool,
    /// Hi-vis issued.
    pub hi_vis_issued: bool,
    /// Hi-vis worn.
    pub hi_vis_worn: bool,
}

/// `upw.unallocated_arrival`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnallocatedArrival {
    /// The new appointment.
    pub appointment_id: RecordId,
    /// The session.
    pub session_id: RecordId,
    /// The requirement, when known on the device.
    pub requirement_id: Option<RecordId>,
    /// CRN.
    pub crn: String,
    /// Name as given (never for a restricted case).
    pub name: Option<String>,
    /// Arrival.
    pub arrival: Stamp,
}

/// `upw.outcome_recorded`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeRecorded {
    /// The appointment.
    pub appointment_id: RecordId,
    /// Its session.
    pub session_id: RecordId,
    /// Its requirement.
    pub requirement_id: Option<RecordId>,
    /// CRN.
    pub crn: String,
    /// Session date.
    pub session_date: NaiveDate,
    /// Outcome code.
    pub code: String,
    /// Arrival.
    pub arrival: Option<Stamp>,
    /// Departure.
    pub departure: Option<Stamp>,
    /// Penalty minutes.
    pub penalty_minutes: i64,
    /// Work quality.
    pub work_quality: Rating,
    /// Behaviour.
    pub behaviour: Rating,
    /// Notes.
    pub notes: String,
    /// Sensitive.
    pub sensitive: bool,
    /// Send to the alert diary.
    pub raise_alert: bool,
    /// Travel minutes claimed.
    pub travel_minutes: Option<u32>,
    /// Compliance on the day (absent before 2026.2).
    #[serde(default)]
    pub compliance: Compliance,
    /// ETE minutes (absent before 2026.2).
    #[serde(default)]
    pub ete: bool,
    /// After the order's expected end (absent before 2026.2).
    #[serde(default)]
    pub after_expected_end: bool,
    /// Minutes credited.
    pub minutes_credited: i64,
    /// Minutes late.
    pub late_by_minutes: Option<i64>,
    /// The statutory step flagged.
    pub enforcement_step: Option<EnforcementStep>,
    /// The rules' version.
    pub policy_version: String,
}

/// `upw.warning_given`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarningGiven {
    /// The appointment whose outcome it is for.
    pub appointment_id: RecordId,
    /// Its session.
    pub session_id: RecordId,
    /// Its requirement.
    pub requirement_id: Option<RecordId>,
    /// CRN.
    pub crn: String,
    /// The local date it was given.
    pub date: NaiveDate,
    /// When.
    pub at: Stamp,
}

/// `visit.started`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitStarted {
    /// The visit.
    pub visit_id: RecordId,
    /// The case.
    pub case_id: RecordId,
    /// CRN.
    pub crn: String,
    /// From a scheduled visit.
    pub planned: bool,
    /// The scheduled visit.
    pub scheduled_visit_id: Option<RecordId>,
    /// Arranged with the person (absent before 2026.2).
    #[serde(default)]
    pub arranged: bool,
    /// The address visited.
    pub address: String,
    /// Purpose.
    pub purpose: String,
    /// Officers present.
    pub officers_present: Vec<String>,
    /// Start.
    pub start: Stamp,
    /// Expected finish (UTC ms).
    pub expected_finish_ms: i64,
    /// Location, only with consent.
    pub location: Option<GeoPoint>,
    /// Warnings shown at the start.
    pub warnings: Vec<StartWarning>,
}

/// `visit.safety_override`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyOverride {
    /// The visit it allowed.
    pub visit_id: RecordId,
    /// The case.
    pub case_id: RecordId,
    /// The prerequisites not met.
    pub unmet: Vec<StartWarning>,
    /// The manager.
    pub manager_id: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: Stamp,
}

/// `visit.safety`: an officer's action, or a timer transition
/// (`action` = `timer`, no `silent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitSafety {
    /// The visit.
    pub visit_id: RecordId,
    /// `extend`, `check_in`, `alert`, `silent_alert`, `end` or `timer`.
    pub action: String,
    /// Status after it.
    pub status: SafetyStatus,
    /// Silent alert (actions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silent: Option<bool>,
    /// Expected finish (UTC ms).
    pub expected_finish_ms: i64,
    /// When.
    pub at: Stamp,
}

/// `visit.ended`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitEnded {
    /// The visit.
    pub visit_id: RecordId,
    /// When.
    pub end: Stamp,
    /// Location, only with consent.
    pub location: Option<GeoPoint>,
}

/// `visit.ack_seen`: the device received the office's acknowledgement of
/// a lone-worker alert and showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckSeen {
    /// The visit.
    pub visit_id: RecordId,
    /// The office's alert.
    pub alert_id: String,
    /// When the device received it.
    pub seen: Stamp,
}

/// `visit.recorded`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitRecorded {
    /// The visit.
    pub visit_id: RecordId,
    /// The case.
    pub case_id: RecordId,
    /// CRN.
    pub crn: String,
    /// nDelius contact type (CHVS).
    pub contact_type: String,
    /// From a scheduled visit.
    pub planned: bool,
    /// The scheduled visit.
    pub scheduled_visit_id: Option<RecordId>,
    /// Arranged with the person (absent before 2026.2).
    #[serde(default)]
    pub arranged: bool,
    /// Respond-by date after a failed arranged visit (absent before 2026.2).
    #[serde(default)]
    pub respond_by: Option<NaiveDate>,
    /// The address visited.
    pub address: String,
    /// Purpose.
    pub purpose: String,
    /// Start.
    pub start: Stamp,
    /// End.
    pub end: Option<Stamp>,
    /// Location at start.
    pub start_location: Option<GeoPoint>,
    /// Location at end.
    pub end_location: Option<GeoPoint>,
    /// The form as recorded.
    pub form: VisitForm,
    /// The rules' version.
    pub policy_version: String,
}

/// `visit.follow_up_done`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpDone {
    /// The visit.
    pub visit_id: RecordId,
    /// Which follow-up.
    pub index: usize,
    /// When.
    pub at: Stamp,
}

/// A typed event payload.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// `upw.session_started`.
    SessionStarted(SessionStarted),
    /// `upw.session_stood_down`.
    SessionStoodDown(SessionStoodDown),
    /// `upw.session_ended`.
    SessionEnded(SessionEnded),
    /// `upw.incident`.
    Incident(Incident),
    /// `upw.headcount`.
    Headcount(Headcount),
    /// `upw.arrived`.
    Arrived(Arrived),
    /// `upw.unallocated_arrival`.
    UnallocatedArrival(UnallocatedArrival),
    /// `upw.outcome_recorded`.
    Outcome(Box<OutcomeRecorded>),
    /// `upw.warning_given`.
    WarningGiven(WarningGiven),
    /// `visit.started`.
    VisitStarted(Box<VisitStarted>),
    /// `visit.safety_override`.
    SafetyOverride(SafetyOverride),
    /// `visit.safety`.
    VisitSafety(VisitSafety),
    /// `visit.ended`.
    VisitEnded(VisitEnded),
    /// `visit.recorded`.
    VisitRecorded(Box<VisitRecorded>),
    /// `visit.follow_up_done`.
    FollowUpDone(FollowUpDone),
    /// `visit.ack_seen`.
    AckSeen(AckSeen),
    /// `access.<action>`: the section 62 log.
    Access {
        /// The full kind, e.g. `access.consultation`.
        kind: String,
        /// What was accessed, why, for whom.
        payload: AccessPayload,
    },
    /// A kind this build does not know (a newer phone): kept whole.
    Unknown {
        /// Its kind.
        kind: String,
        /// Its JSON, as sent.
        payload: serde_json::Value,
    },
}

/// The records an event is about, for scope and conflict checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// A work session.
    pub session_id: Option<RecordId>,
    /// An appointment.
    pub appointment_id: Option<RecordId>,
    /// A requirement.
    pub requirement_id: Option<RecordId>,
    /// A case.
    pub case_id: Option<RecordId>,
    /// A visit.
    pub visit_id: Option<RecordId>,
    /// The CRN named, if any.
    pub crn: Option<String>,
}

fn parse<T: DeserializeOwned>(kind: &str, value: &serde_json::Value) -> Result<T> {
    T::deserialize(value).map_err(|e| {
        // Serde's message names the field and the expected type, never the
        // value, so no personal data reaches the error.
        Error::invalid("payload", format!("{kind}: {e}"))
    })
}

impl Payload {
    /// Reads the payload of an event of `kind`. A known kind whose payload
    /// does not match its type is an error; an unknown kind is kept whole.
    pub fn parse(kind: &str, value: &serde_json::Value) -> Result<Payload> {
        use kinds::*;
        Ok(match kind {
            UPW_SESSION_STARTED => Payload::SessionStarted(parse(kind, value)?),
            UPW_SESSION_STOOD_DOWN => Payload::SessionStoodDown(parse(kind, value)?),
            UPW_SESSION_ENDED => Payload::SessionEnded(parse(kind, value)?),
            UPW_INCIDENT => Payload::Incident(parse(kind, value)?),
            UPW_HEADCOUNT => Payload::Headcount(parse(kind, value)?),
            UPW_ARRIVED => Payload::Arrived(parse(kind, value)?),
            UPW_UNALLOCATED_ARRIVAL => Payload::UnallocatedArrival(parse(kind, value)?),
            UPW_OUTCOME => Payload::Outcome(Box::new(parse(kind, value)?)),
            UPW_WARNING_GIVEN => Payload::WarningGiven(parse(kind, value)?),
            VISIT_STARTED => Payload::VisitStarted(Box::new(parse(kind, value)?)),
            VISIT_SAFETY_OVERRIDE => Payload::SafetyOverride(parse(kind, value)?),
            VISIT_SAFETY => Payload::VisitSafety(parse(kind, value)?),
            VISIT_ENDED => Payload::VisitEnded(parse(kind, value)?),
            VISIT_RECORDED => Payload::VisitRecorded(Box::new(parse(kind, value)?)),
            VISIT_FOLLOW_UP_DONE => Payload::FollowUpDone(parse(kind, value)?),
            VISIT_ACK_SEEN => Payload::AckSeen(parse(kind, value)?),
            k if k.starts_with(ACCESS_PREFIX) && crate::access::action_of(k).is_some() => {
                Payload::Access {
                    kind: k.to_owned(),
                    payload: parse(kind, value)?,
                }
            }
            k => Payload::Unknown {
                kind: k.to_owned(),
                payload: value.clone(),
            },
        })
    }

    /// Whether this build knows `kind` (an exact, case-sensitive match).
    pub fn known_kind(kind: &str) -> bool {
        use kinds::*;
        [
            UPW_SESSION_STARTED,
            UPW_SESSION_STOOD_DOWN,
            UPW_SESSION_ENDED,
            UPW_INCIDENT,
            UPW_HEADCOUNT,
            UPW_ARRIVED,
            UPW_UNALLOCATED_ARRIVAL,
            UPW_OUTCOME,
            UPW_WARNING_GIVEN,
            VISIT_STARTED,
            VISIT_SAFETY_OVERRIDE,
            VISIT_SAFETY,
            VISIT_ENDED,
            VISIT_RECORDED,
            VISIT_FOLLOW_UP_DONE,
            VISIT_ACK_SEEN,
        ]
        .contains(&kind)
            || crate::access::action_of(kind).is_some()
    }

    /// The event kind.
    pub fn kind(&self) -> &str {
        use kinds::*;
        match self {
            Payload::SessionStarted(_) => UPW_SESSION_STARTED,
            Payload::SessionStoodDown(_) => UPW_SESSION_STOOD_DOWN,
            Payload::SessionEnded(_) => UPW_SESSION_ENDED,
            Payload::Incident(_) => UPW_INCIDENT,
            Payload::Headcount(_) => UPW_HEADCOUNT,
            Payload::Arrived(_) => UPW_ARRIVED,
            Payload::UnallocatedArrival(_) => UPW_UNALLOCATED_ARRIVAL,
            Payload::Outcome(_) => UPW_OUTCOME,
            Payload::WarningGiven(_) => UPW_WARNING_GIVEN,
            Payload::VisitStarted(_) => VISIT_STARTED,
            Payload::SafetyOverride(_) => VISIT_SAFETY_OVERRIDE,
            Payload::VisitSafety(_) => VISIT_SAFETY,
            Payload::VisitEnded(_) => VISIT_ENDED,
            Payload::VisitRecorded(_) => VISIT_RECORDED,
            Payload::FollowUpDone(_) => VISIT_FOLLOW_UP_DONE,
            Payload::AckSeen(_) => VISIT_ACK_SEEN,
            Payload::Access { kind, .. } | Payload::Unknown { kind, .. } => kind,
        }
    }

    /// The JSON that is signed.
    pub fn to_value(&self) -> Result<serde_json::Value> {
        let v = match self {
            Payload::SessionStarted(p) => serde_json::to_value(p),
            Payload::SessionStoodDown(p) => serde_json::to_value(p),
            Payload::SessionEnded(p) => serde_json::to_value(p),
            Payload::Incident(p) => serde_json::to_value(p),
            Payload::Headcount(p) => serde_json::to_value(p),
            Payload::Arrived(p) => serde_json::to_value(p),
            Payload::UnallocatedArrival(p) => serde_json::to_value(p),
            Payload::Outcome(p) => serde_json::to_value(p),
            Payload::WarningGiven(p) => serde_json::to_value(p),
            Payload::VisitStarted(p) => serde_json::to_value(p),
            Payload::SafetyOverride(p) => serde_json::to_value(p),
            Payload::VisitSafety(p) => serde_json::to_value(p),
            Payload::VisitEnded(p) => serde_json::to_value(p),
            Payload::VisitRecorded(p) => serde_json::to_value(p),
            Payload::FollowUpDone(p) => serde_json::to_value(p),
            Payload::AckSeen(p) => serde_json::to_value(p),
            Payload::Access { payload, .. } => serde_json::to_value(payload),
            Payload::Unknown { payload, .. } => Ok(payload.clone()),
        };
        Ok(v?)
    }

    /// Whether this build knows the kind.
    pub fn is_known(&self) -> bool {
        !matches!(self, Payload::Unknown { .. })
    }

    /// The records the event is about.
    pub fn subject(&self) -> Subject {
        let mut s = Subject::default();
        match self {
            Payload::SessionStarted(p) => s.session_id = Some(p.session_id.clone()),
            Payload::SessionStoodDown(p) => s.session_id = Some(p.session_id.clone()),
            Payload::SessionEnded(p) => s.session_id = Some(p.session_id.clone()),
            Payload::Incident(p) => s.session_id = Some(p.session_id.clone()),
            Payload::Headcount(p) => s.session_id = Some(p.session_id.clone()),
            Payload::Arrived(p) => {
                s.session_id = Some(p.session_id.clone());
                s.appointment_id = Some(p.appointment_id.clone());
                s.requirement_id = p.requirement_id.clone();
                s.crn = Some(p.crn.clone());
            }
            Payload::UnallocatedArrival(p) => {
                s.session_id = Some(p.session_id.clone());
                s.appointment_id = Some(p.appointment_id.clone());
                s.requirement_id = p.requirement_id.clone();
                s.crn = Some(p.crn.clone());
            }
            Payload::Outcome(p) => {
                s.session_id = Some(p.session_id.clone());
                s.appointment_id = Some(p.appointment_id.clone());
                s.requirement_id = p.requirement_id.clone();
                s.crn = Some(p.crn.clone());
            }
            Payload::WarningGiven(p) => {
                s.session_id = Some(p.session_id.clone());
                s.appointment_id = Some(p.appointment_id.clone());
                s.requirement_id = p.requirement_id.clone();
                s.crn = Some(p.crn.clone());
            }
            Payload::VisitStarted(p) => {
                s.visit_id = Some(p.visit_id.clone());
                s.case_id = Some(p.case_id.clone());
                s.crn = Some(p.crn.clone());
            }
            Payload::SafetyOverride(p) => {
                s.visit_id = Some(p.visit_id.clone());
                s.case_id = Some(p.case_id.clone());
            }
            Payload::VisitSafety(p) => s.visit_id = Some(p.visit_id.clone()),
            Payload::VisitEnded(p) => s.visit_id = Some(p.visit_id.clone()),
            Payload::VisitRecorded(p) => {
                s.visit_id = Some(p.visit_id.clone());
                s.case_id = Some(p.case_id.clone());
                s.crn = Some(p.crn.clone());
            }
            Payload::FollowUpDone(p) => s.visit_id = Some(p.visit_id.clone()),
            Payload::AckSeen(p) => s.visit_id = Some(p.visit_id.clone()),
            Payload::Access { .. } | Payload::Unknown { .. } => {}
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_kinds_are_kept_whole_and_known_kinds_must_match() {
        let newer = json!({ "future_field": [1, 2, 3] });
        let p = Payload::parse("upw.photo_taken", &newer).expect("unknown is fine");
        assert!(!p.is_known());
        assert_eq!(p.kind(), "upw.photo_taken");
        assert_eq!(p.to_value().expect("value"), newer);
        // A known kind with the wrong shape is refused, naming the kind.
        let err = Payload::parse(kinds::UPW_HEADCOUNT, &json!({ "count": "many" }))
            .expect_err("bad shape");
        assert!(err.to_string().contains("upw.headcount"), "{err}");
        // Case matters: an upper-case kind is not the known one.
        assert!(!Payload::parse("VISIT.SAFETY", &json!({}))
            .expect("kept")
            .is_known());
    }
}
