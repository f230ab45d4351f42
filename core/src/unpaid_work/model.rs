//! Unpaid work records: reference data from the office (projects, sessions,
//! requirements, appointments) and the state derived on the device from
//! captures (attendance, session state, enforcement items, travel tasks).
//! All are sealed records; lookups go through blind indexes.

use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::ids::RecordId;
use crate::store::Record;

/// Kinds of placement, as nDelius names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProjectType {
    /// A supervised group at a site.
    GroupPlacement,
    /// One person placed with a beneficiary organisation.
    IndividualPlacement,
    /// The induction session.
    Induction,
    /// Education, training and employment hours.
    EducationTrainingEmployment,
}

/// A work project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Project code.
    pub code: String,
    /// Project name.
    pub name: String,
    /// Placement type.
    pub project_type: ProjectType,
    /// Whether travel time can be credited (creates an office task).
    pub travel_time_eligible: bool,
    /// Site address.
    pub address: String,
    /// Who benefits.
    pub beneficiary: String,
    /// Site contact.
    pub site_contact: String,
    /// Whether hi-vis must be worn.
    pub hi_vis_required: bool,
    /// Hazards on site.
    pub hazards: String,
    /// Risk notes for the supervisor.
    pub risk_notes: String,
    /// Days the project runs.
    pub available_days: Vec<Weekday>,
    /// Earliest start.
    pub available_from: NaiveTime,
    /// Latest finish.
    pub available_until: NaiveTime,
}

impl Record for Project {
    const COLLECTION: &'static str = "upw_project";
}

/// One project on one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkSession {
    /// The project.
    pub project_id: RecordId,
    /// Local date.
    pub date: NaiveDate,
    /// Planned local start.
    pub planned_start: NaiveTime,
    /// Planned local end (may be after midnight, i.e. earlier than start).
    pub planned_end: NaiveTime,
    /// The supervisor (officer id) allocated.
    pub supervisor_id: String,
    /// Where people are picked up.
    pub pick_up_point: Option<String>,
    /// When.
    pub pick_up_time: Option<NaiveTime>,
}

impl WorkSession {
    /// Planned minutes, allowing for sessions that cross midnight.
    pub fn planned_minutes(&self) -> i64 {
        let d = (self.planned_end - self.planned_start).num_minutes();
        if d <= 0 {
            d + 24 * 60
        } else {
            d
        }
    }
}

impl Record for WorkSession {
    const COLLECTION: &'static str = "upw_session";
    fn index_terms(&self) -> Vec<(&'static str, String)> {
        vec![
            ("date", self.date.to_string()),
            ("supervisor", self.supervisor_id.clone()),
        ]
    }
}

/// Risk of serious harm level shown as a badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Very high.
    VeryHigh,
}

/// An unpaid work requirement (of a community or suspended sentence order)
/// with the person as the supervisor needs them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requirement {
    /// Case reference number.
    pub crn: String,
    /// Name; `None` for a case the supervisor is restricted from.
    pub name: Option<String>,
    /// Whether the supervisor is restricted from this case (CRN only).
    pub restricted: bool,
    /// Reference of the photo for the identity check.
    pub photo_ref: Option<String>,
    /// Risk badge.
    pub risk_level: RiskLevel,
    /// Registrations that matter on site.
    pub registrations: Vec<String>,
    /// Hours ordered (40 to 300).
    pub hours_required: u32,
    /// Minutes credited before this device's captures (from the office).
    pub minutes_credited_office: i64,
    /// Office adjustments in minutes (travel time, etc.).
    pub adjustment_minutes: i64,
    /// Order start date.
    pub order_start: NaiveDate,
    /// Order end date.
    pub order_end: NaiveDate,
    /// Date of the last enforcement warning the office issued, if any.
    pub last_warning: Option<NaiveDate>,
}

impl Requirement {
    /// What a supervisor may see as the person's label.
    pub fn display_name(&self) -> String {
        match (&self.name, self.restricted) {
            (Some(name), false) => name.clone(),
            _ => self.crn.clone(),
        }
    }
}

impl Record for Requirement {
    const COLLECTION: &'static str = "upw_requirement";
    fn index_terms(&self) -> Vec<(&'static str, String)> {
        vec![("crn", normalise_crn(&self.crn))]
    }
}

/// CRNs compare without case or surrounding space.
pub fn normalise_crn(crn: &str) -> String {
    crn.trim().to_uppercase()
}

/// One person in one session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    /// The session.
    pub session_id: RecordId,
    /// The requirement; `None` for an unallocated arrival not known here.
    pub requirement_id: Option<RecordId>,
    /// CRN (for unallocated arrivals with no requirement on the device).
    pub crn: String,
    /// Whether the office allocated them (false: turned up unallocated).
    pub allocated: bool,
    /// An acceptable absence the office has already agreed, if any.
    pub agreed_absence: Option<String>,
}

impl Record for Appointment {
    const COLLECTION: &'static str = "upw_appointment";
    fn index_terms(&self) -> Vec<(&'static str, String)> {
        let mut terms = vec![("session", self.session_id.to_string())];
        if let Some(r) = &self.requirement_id {
            terms.push(("requirement", r.to_string()));
        }
        terms
    }
}

/// Work and behaviour ratings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
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

/// A time captured on the device: UTC plus the offset in force, so local
/// times survive clock changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// Milliseconds since the epoch, UTC.
    pub utc_ms: i64,
    /// Local offset in minutes at capture.
    pub offset_min: i32,
}

impl Stamp {
    /// The local date and time.
    pub fn local(&self) -> chrono::NaiveDateTime {
        let utc = chrono::DateTime::from_timestamp_millis(self.utc_ms).unwrap_or_default();
        (utc + chrono::Duration::minutes(i64::from(self.offset_min))).naive_utc()
    }
}

/// An outcome as recorded (or corrected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeRecord {
    /// The event that recorded it.
    pub event_id: String,
    /// Outcome code.
    pub code: String,
    /// Arrival, for attended outcomes.
    pub arrival: Option<Stamp>,
    /// Departure, for attended outcomes.
    pub departure: Option<Stamp>,
    /// Penalty minutes deducted.
    pub penalty_minutes: i64,
    /// Minutes credited under `policy_version`.
    pub minutes_credited: i64,
    /// Work quality.
    pub work_quality: Rating,
    /// Behaviour.
    pub behaviour: Rating,
    /// Notes.
    pub notes: String,
    /// Sensitive flag (never unset).
    pub sensitive: bool,
    /// Whether the practitioner is alerted.
    pub raise_alert: bool,
    /// Travel minutes claimed, for eligible projects.
    pub travel_minutes: Option<u32>,
    /// The rules' version that computed it.
    pub policy_version: String,
    /// For corrections: why.
    pub correction_reason: Option<String>,
}

/// The device's view of one appointment's attendance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attendance {
    /// Arrival event id.
    pub arrival_event: Option<String>,
    /// When they arrived.
    pub arrival: Option<Stamp>,
    /// Whether identity was checked against the photo.
    pub identity_checked: bool,
    /// Hi-vis issued.
    pub hi_vis_issued: bool,
    /// Hi-vis worn.
    pub hi_vis_worn: bool,
    /// The current outcome; earlier ones are in `history`.
    pub outcome: Option<OutcomeRecord>,
    /// Superseded outcomes, oldest first.
    pub history: Vec<OutcomeRecord>,
    /// Events about this appointment (for sync state).
    pub event_seqs: Vec<u64>,
}

impl Record for Attendance {
    const COLLECTION: &'static str = "upw_attendance";
}

/// Session lifecycle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Not started.
    #[default]
    Planned,
    /// Started on site.
    Started,
    /// Stood down or cancelled.
    StoodDown,
    /// Ended and closed.
    Ended,
}

/// The device's view of a session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionState {
    /// Lifecycle.
    pub status: SessionStatus,
    /// Stand-down reason.
    pub stood_down_reason: Option<String>,
    /// Headcounts taken.
    pub headcounts: Vec<(Stamp, u32)>,
    /// Incidents recorded (event ids).
    pub incidents: Vec<String>,
    /// Events about this session (for sync state).
    pub event_seqs: Vec<u64>,
}

impl Record for SessionState {
    const COLLECTION: &'static str = "upw_session_state";
}

/// The step the statutory rule calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnforcementStep {
    /// First unreasonable failure: a warning.
    Warning,
    /// A further failure within 12 months of a warning: refer for breach.
    BreachReferral,
}

/// Where an enforcement item stands on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnforcementStatus {
    /// Waiting for the office's decision.
    Open,
    /// The outcome was corrected to one that is not enforceable.
    Withdrawn,
}

/// A flag for the office: an enforceable outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnforcementItem {
    /// The requirement.
    pub requirement_id: Option<RecordId>,
    /// The appointment.
    pub appointment_id: RecordId,
    /// Session date.
    pub date: NaiveDate,
    /// The outcome code.
    pub code: String,
    /// What the statutory rule calls for.
    pub step: EnforcementStep,
    /// Whether the supervisor asked for the practitioner to be alerted.
    pub raise_alert: bool,
    /// Status.
    pub status: EnforcementStatus,
    /// The outcome event.
    pub event_id: String,
    /// The rules' version.
    pub policy_version: String,
}

impl Record for EnforcementItem {
    const COLLECTION: &'static str = "upw_enforcement";
    fn index_terms(&self) -> Vec<(&'static str, String)> {
        let mut terms = vec![("appointment", self.appointment_id.to_string())];
        if let Some(r) = &self.requirement_id {
            terms.push(("requirement", r.to_string()));
        }
        terms
    }
}

/// A task for the office to credit travel time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TravelTimeTask {
    /// The requirement.
    pub requirement_id: Option<RecordId>,
    /// The appointment.
    pub appointment_id: RecordId,
    /// Minutes claimed (at most the policy's cap).
    pub minutes: u32,
    /// The outcome event.
    pub event_id: String,
    /// Whether a correction withdrew it.
    pub withdrawn: bool,
}

impl Record for TravelTimeTask {
    const COLLECTION: &'static str = "upw_travel_task";
    fn index_terms(&self) -> Vec<(&'static str, String)> {
        vec![("appointment", self.appointment_id.to_string())]
    }
}
