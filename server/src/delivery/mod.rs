//! Outcomes on their way to the system of record: accepted appointment
//! outcomes (and each correction) delivered to the national Community
//! Payback API, which writes them to nDelius, and home-visit contacts to a
//! configurable contacts endpoint.
//!
//! Ingest writes one outbox row per accepted `upw.outcome_recorded` and
//! `visit.recorded` event in the same transaction that stores the event
//! ([`outbox`]); a worker on every instance claims rows under a lease,
//! builds the request here (pure functions, tested against the published
//! field names and enums), and sends it with an `Idempotency-key` derived
//! from the event ([`worker`]). A refusal (4xx) or a mapping the office has
//! not provided goes to a "needs attention" list with the reason; nothing
//! is dropped.
//!
//! The request shape is the Community Payback API's
//! `UpdateAppointmentOutcomeDto` as published in
//! `ministryofjustice/hmpps-community-payback-api` (`dto/UpdateAppointmentOutcomeDto.kt`,
//! `dto/AttendanceDataDto.kt`, `dto/EnforcementDto.kt`; the version with
//! enforcement data and the alert and sensitive flags), posted to
//! `/projects/{projectCode}/appointments/{deliusAppointmentId}/outcome`.

pub mod links;
pub mod outbox;
pub mod reference;
pub mod routes;
pub mod worker;

use chrono::{Duration, NaiveDate, NaiveTime};
use fieldbook_core::events::payload::{OutcomeRecorded, VisitRecorded};
use fieldbook_core::unpaid_work::model::{EnforcementStep, Rating};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Days a person has to respond to an enforcement action (MPoP breach
/// design, as for home visits).
pub const RESPOND_BY_DAYS: i64 = 7;

/// The national scale for work quality and behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Scale {
    /// Excellent.
    Excellent,
    /// Good.
    Good,
    /// Satisfactory.
    Satisfactory,
    /// Unsatisfactory.
    Unsatisfactory,
    /// Poor.
    Poor,
    /// Not applicable.
    NotApplicable,
}

impl From<Rating> for Scale {
    fn from(r: Rating) -> Self {
        match r {
            Rating::Excellent => Scale::Excellent,
            Rating::Good => Scale::Good,
            Rating::Satisfactory => Scale::Satisfactory,
            Rating::Unsatisfactory => Scale::Unsatisfactory,
            Rating::Poor => Scale::Poor,
            Rating::NotApplicable => Scale::NotApplicable,
        }
    }
}

/// `AttendanceDataDto`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttendanceData {
    /// Hi-vis worn.
    pub hi_vis_worn: bool,
    /// Worked intensively.
    pub worked_intensively: bool,
    /// Penalty minutes.
    pub penalty_minutes: i64,
    /// Work quality.
    pub work_quality: Scale,
    /// Behaviour.
    pub behaviour: Scale,
}

/// `EnforcementDto`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enforcement {
    /// The far end's id of the enforcement action.
    pub enforcement_action_id: String,
    /// When the person must respond by.
    pub respond_by: NaiveDate,
}

/// `UpdateAppointmentOutcomeDto`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeUpdate {
    /// The nDelius appointment id.
    pub delius_id: i64,
    /// The nDelius version of the appointment this update applies to.
    pub delius_version_to_update: String,
    /// Start, local `HH:mm`.
    pub start_time: String,
    /// End, local `HH:mm`.
    pub end_time: String,
    /// The far end's id of the contact outcome.
    pub contact_outcome_id: String,
    /// Attendance, for an attended outcome.
    pub attendance_data: Option<AttendanceData>,
    /// Enforcement, for an enforceable outcome.
    pub enforcement_data: Option<Enforcement>,
    /// The supervisor's officer (staff) code.
    pub supervisor_officer_code: String,
    /// Notes.
    pub notes: Option<String>,
    /// A form to delete at the far end (none: Fieldbook keeps no forms there).
    pub form_key_to_delete: Option<String>,
    /// Put the contact on the alert diary.
    pub alert_active: bool,
    /// Mark the contact sensitive.
    pub sensitive: bool,
}

/// What the office has told Fieldbook about an appointment in nDelius.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AppointmentLink {
    /// nDelius appointment id.
    pub delius_id: i64,
    /// nDelius version of the appointment.
    pub delius_version: String,
    /// The project's code.
    pub project_code: String,
}

/// Everything a request needs besides the event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    /// The appointment in nDelius.
    pub appointment: Option<AppointmentLink>,
    /// The far end's id of the outcome's contact outcome code.
    pub contact_outcome_id: Option<String>,
    /// The far end's id of the enforcement action for the outcome's step.
    pub enforcement_action_id: Option<String>,
    /// The session's planned times, for an outcome without arrival.
    pub planned: Option<(NaiveTime, NaiveTime)>,
}

/// Why a delivery cannot be made as it stands (it waits in the "needs
/// attention" list until the office fixes the cause and retries it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Attention {
    /// The office has not linked the appointment to nDelius.
    #[error("the appointment is not linked to an nDelius appointment")]
    NoAppointmentLink,
    /// The far end does not list the contact outcome code.
    #[error("the Community Payback API lists no contact outcome {0}")]
    UnknownOutcome(String),
    /// No enforcement action is configured for the step.
    #[error("no enforcement action is configured for {0}")]
    NoEnforcementAction(&'static str),
    /// No times to send.
    #[error("the outcome has no times and the session none planned")]
    NoTimes,
    /// The stored event does not read as its kind.
    #[error("the stored event does not read as its kind")]
    Unreadable,
    /// The far end's reference lists have not been loaded yet (it was
    /// unreachable): tried again later, not set aside.
    #[error("the Community Payback API's reference lists are not loaded yet")]
    ReferencesNotLoaded,
}

/// The name a step has in configuration.
pub fn step_name(step: EnforcementStep) -> &'static str {
    match step {
        EnforcementStep::WarningOrReferral => "warning_or_referral",
        EnforcementStep::BreachReferral => "breach_referral",
    }
}

fn hhmm(t: NaiveTime) -> String {
    t.format("%H:%M").to_string()
}

/// The request for an outcome: its path and body.
pub fn outcome_request(
    o: &OutcomeRecorded,
    officer_code: &str,
    lookup: &Lookup,
) -> Result<(String, OutcomeUpdate), Attention> {
    let link = lookup
        .appointment
        .as_ref()
        .ok_or(Attention::NoAppointmentLink)?;
    let contact_outcome_id = lookup
        .contact_outcome_id
        .clone()
        .ok_or_else(|| Attention::UnknownOutcome(o.code.clone()))?;
    // Local clock minutes, as nDelius counts them.
    let (start, end) = match (o.arrival, o.departure) {
        (Some(a), Some(d)) => (a.local_minute().time(), d.local_minute().time()),
        (Some(a), None) => (
            a.local_minute().time(),
            lookup.planned.map(|p| p.1).ok_or(Attention::NoTimes)?,
        ),
        _ => lookup.planned.ok_or(Attention::NoTimes)?,
    };
    let attended = o.arrival.is_some();
    let attendance_data = attended.then(|| AttendanceData {
        hi_vis_worn: o.compliance.hi_vis_worn.unwrap_or(false),
        worked_intensively: o.compliance.worked_intensively.unwrap_or(false),
        penalty_minutes: o.penalty_minutes,
        work_quality: o.work_quality.into(),
        behaviour: o.behaviour.into(),
    });
    let enforcement_data = match o.enforcement_step {
        None => None,
        Some(step) => Some(Enforcement {
            enforcement_action_id: lookup
                .enforcement_action_id
                .clone()
                .ok_or(Attention::NoEnforcementAction(step_name(step)))?,
            respond_by: o.session_date + Duration::days(RESPOND_BY_DAYS),
        }),
    };
    let path = format!(
        "/projects/{}/appointments/{}/outcome",
        urlencode(&link.project_code),
        link.delius_id
    );
    Ok((
        path,
        OutcomeUpdate {
            delius_id: link.delius_id,
            delius_version_to_update: link.delius_version.clone(),
            start_time: hhmm(start),
            end_time: hhmm(end),
            contact_outcome_id,
            attendance_data,
            enforcement_data,
            supervisor_officer_code: officer_code.to_owned(),
            notes: (!o.notes.is_empty()).then(|| o.notes.clone()),
            form_key_to_delete: None,
            alert_active: o.raise_alert,
            sensitive: o.sensitive,
        },
    ))
}

/// A home-visit contact for the configured contacts endpoint (no
/// published national shape: the fields nDelius holds for a CHVS contact).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VisitContact {
    /// CRN.
    pub crn: String,
    /// nDelius contact type.
    pub contact_type: String,
    /// Date.
    pub date: NaiveDate,
    /// Start, local `HH:mm`.
    pub start_time: String,
    /// End, local `HH:mm`, once ended.
    pub end_time: Option<String>,
    /// Outcome code (none: an unannounced visit nobody answered).
    pub outcome_code: Option<String>,
    /// Notes.
    pub notes: Option<String>,
    /// Sensitive.
    pub sensitive: bool,
    /// The officer's staff code.
    pub officer_code: String,
    /// Fieldbook's visit id (the far end's reference for repeats).
    pub external_reference: String,
}

/// The contact for a finalised visit.
pub fn visit_contact(v: &VisitRecorded, officer_code: &str) -> VisitContact {
    VisitContact {
        crn: v.crn.clone(),
        contact_type: v.contact_type.clone(),
        date: v.start.local().date(),
        start_time: hhmm(v.start.local_minute().time()),
        end_time: v.end.map(|e| hhmm(e.local_minute().time())),
        outcome_code: v.form.outcome.clone(),
        notes: (!v.form.notes.is_empty()).then(|| v.form.notes.clone()),
        sensitive: v.form.sensitive,
        officer_code: officer_code.to_owned(),
        external_reference: v.visit_id.to_string(),
    }
}

pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The idempotency key for an event's delivery: the same on every retry.
pub fn idempotency_key(event_id: &str) -> String {
    format!("fieldbook-{event_id}")
}

#[cfg(test)]
mod tests;
