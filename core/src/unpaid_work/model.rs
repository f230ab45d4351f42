//! Unpaid work records: reference data from the office (projects, sessions,
//! requirements, appointments) and the state derived on the device from
//! captures (attendance, session state, enforcement items, travel tasks).
//! All are sealed records; lookups go through blind indexes.

use chrono::{NaiveDate, NaiveTime, Weekday};
use serde::{Deserialize, Serialize};

use crate::ids::RecordId;
use crate::store::Record;
pub use crate::vocab::{normalise_crn, RiskLevel, Stamp};

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
    /// Planned local end, after the start on the same day (sessions that
    /// cross midnight are refused at import).
    pub planned_end: NaiveTime,
    /// The supervisor (officer id) allocated.
    pub supervisor_id: String,
    /// Where people are picked up.
    pub pick_up_point: Option<String>,
    /// When.
    pub pick_up_time: Option<NaiveTime>,
}

impl WorkSession {
    /// Planned minutes.
    pub fn planned_minutes(&self) -> i64 {
        (self.planned_end - self.planned_start).num_minutes().max(0)
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

/// Which way an adjustment moves the minutes required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentDirection {
    /// Increases the minutes required.
    Positive,
    /// Reduces them (travel time is one).
    Negative,
}

/// An office adjustment to a requirement's hours, as nDelius records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    /// Positive or negative.
    pub direction: AdjustmentDirection,
    /// Minutes, always positive.
    pub minutes: i64,
    /// nDelius adjustment reason, e.g. `TTX` (travel time).
    pub reason_code: String,
    /// When it was made.
    pub date: NaiveDate,
}

/// The nDelius adjustment reason for travel time: negative, at most
/// 180 minutes (Community Payback API adjustment reasons).
pub const TRAVEL_TIME_REASON: &str = "TTX";

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
    /// Hours ordered. Below 40 is valid (a fine default or a breach can
    /// impose fewer); the 40–300 range is checked on the order's aggregate
    /// as a warning.
    pub hours_required: u32,
    /// Minutes credited before this device's captures (from the office),
    /// including any education, training and employment minutes.
    pub minutes_credited_office: i64,
    /// Of those, education, training and employment minutes.
    #[serde(default)]
    pub ete_minutes_credited_office: i64,
    /// Office adjustments.
    #[serde(default)]
    pub adjustments: Vec<Adjustment>,
    /// Order start date.
    pub order_start: NaiveDate,
    /// The order's expected end. The requirement stays in force until the
    /// hours are worked, so later work is recorded and flagged, not refused.
    pub order_end: NaiveDate,
    /// The order (nDelius event) this requirement belongs to; warnings count
    /// per order, across its requirements. `None`: an order of its own.
    #[serde(default)]
    pub order_ref: Option<String>,
    /// Dates of the enforcement warnings the office gave on this order.
    #[serde(default)]
    pub warnings: Vec<NaiveDate>,
}

impl Requirement {
    /// Minutes of positive and of negative adjustments.
    pub fn adjustment_totals(&self) -> (i64, i64) {
        self.adjustments
            .iter()
            .fold((0, 0), |(pos, neg), a| match a.direction {
                AdjustmentDirection::Positive => (pos + a.minutes, neg),
                AdjustmentDirection::Negative => (pos, neg + a.minutes),
            })
    }

    /// Whether `other` is a requirement of the same order.
    pub fn same_order(&self, other: &Requirement) -> bool {
        normalise_crn(&self.crn) == normalise_crn(&other.crn)
            && self.order_ref.is_some()
            && self.order_ref == other.order_ref
    }

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
    /// An outcome the office recorded for this appointment (for example
    /// rescheduled, remanded in custody), shown and counted on the device.
    #[serde(default)]
    pub office_outcome: Option<String>,
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
    /// Compliance on the day as the national supervisors service records it.
    #[serde(default)]
    pub compliance: Compliance,
    /// Whether the minutes are education, training and employment minutes.
    #[serde(default)]
    pub ete: bool,
    /// Whether the work was after the order's expected end (flagged for the
    /// office, never refused).
    #[serde(default)]
    pub after_expected_end: bool,
    /// The rules' version that computed it.
    pub policy_version: String,
    /// For corrections: why.
    pub correction_reason: Option<String>,
}

/// Compliance on the day, in the national supervisors service's steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compliance {
    /// Hi-vis worn.
    pub hi_vis_worn: Option<bool>,
    /// Working intensively (28 hours over a 4-day week).
    pub worked_intensively: Option<bool>,
    /// Why the person cannot work today, when they cannot.
    pub unable_to_work_reason: Option<String>,
    /// Why they left early, when they did.
    pub left_early_reason: Option<String>,
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
    /// A warning the supervisor gave on site, with when.
    #[serde(default)]
    pub warning_given: Option<Stamp>,
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
    /// Whether the stand-down came before the planned start (then those
    /// not yet arrived got AASD).
    #[serde(default)]
    pub stood_down_before_start: bool,
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

/// What the statutory rule leaves to the office (Sentencing Code,
/// Schedule 10 paragraph 6). The device flags; the office decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnforcementStep {
    /// No warning given in the 12 months: the office gives a warning or
    /// refers for breach (para 6(2)).
    #[serde(alias = "warning")]
    WarningOrReferral,
    /// A warning was given within the 12 months: the office must refer for
    /// breach (para 6(3)).
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
