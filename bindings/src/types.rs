//! The records and enums that cross the boundary. Ids are 32-character
//! hex strings; dates are `YYYY-MM-DD` and times `HH:MM:SS` strings; moments
//! are [`Stamp`]s (UTC milliseconds plus the local offset at capture).
//! Input records mirror the core's serde names, so they convert through
//! serde without hand-written field copies.

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::error::{FieldbookError, Res};

/// Converts between the FFI mirror and the core type by their shared serde
/// form.
pub(crate) fn convert<A: Serialize, B: DeserializeOwned>(a: &A) -> Res<B> {
    let v = serde_json::to_value(a).map_err(|_| FieldbookError::Storage {
        reason: "conversion".into(),
    })?;
    serde_json::from_value(v).map_err(|e| FieldbookError::InvalidInput {
        field: "input".into(),
        label: crate::labels::label("input").to_owned(),
        reason: format!("does not match the expected shape ({})", e.classify_name()),
    })
}

trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Data => "data",
            serde_json::error::Category::Syntax => "syntax",
            serde_json::error::Category::Eof => "eof",
            serde_json::error::Category::Io => "io",
        }
    }
}

/// A moment captured on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct Stamp {
    /// Milliseconds since the epoch, UTC.
    pub utc_ms: i64,
    /// Local offset at capture, minutes.
    pub offset_min: i32,
}

/// Where the failed-unlock counter stands.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LockoutStatus {
    /// Consecutive failures.
    pub failures: u32,
    /// Attempts left before the office must re-enable the store.
    pub remaining_attempts: u32,
    /// Milliseconds to wait before the next attempt.
    pub retry_after_ms: i64,
    /// Whether only the office can re-enable the store.
    pub locked_out: bool,
}

/// A field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FieldMessage {
    /// The field's name, for matching it to a control (never shown).
    pub field: String,
    /// The field in words a person reads ("Why they left early"). A shell
    /// that builds its own message (a time it cannot read) gives its own.
    #[uniffi(default = "")]
    pub label: String,
    /// The message.
    pub message: String,
}

impl From<fieldbook_core::forms::FieldError> for FieldMessage {
    fn from(e: fieldbook_core::forms::FieldError) -> Self {
        Self {
            label: crate::labels::label(&e.field).to_owned(),
            field: e.field,
            message: e.message,
        }
    }
}

/// What every capture returns: the signed event it wrote (id and
/// sequence number on this device) and the record it created, if any.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Recorded {
    pub event_id: String,
    pub seq: u64,
    /// The new record (a visit, an unallocated arrival's appointment).
    pub record_id: Option<String>,
}

impl From<fieldbook_core::vocab::Recorded> for Recorded {
    fn from(r: fieldbook_core::vocab::Recorded) -> Self {
        Self {
            event_id: r.event_id,
            seq: r.seq,
            record_id: r.record_id.map(|i| i.to_string()),
        }
    }
}

// ---- unpaid work ----

/// Whether a session's captures have reached the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncState {
    /// Nothing captured yet.
    NothingCaptured,
    /// All acknowledged.
    Synced,
    /// Waiting to be sent.
    Pending { events: u32 },
}

/// One line of the supervisor's "Today".
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SessionSummary {
    pub session_id: String,
    pub project_name: String,
    pub date: String,
    pub planned_start: String,
    pub planned_end: String,
    /// planned, started, stood_down, ended.
    pub status: String,
    pub allocated: u32,
    pub arrived: u32,
    pub did_not_attend: u32,
    pub sent_home: u32,
    pub outcomes_missing: u32,
    pub sync: SyncState,
}

fn snake<T: Serialize>(t: &T) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl From<fieldbook_core::unpaid_work::views::SessionSummary> for SessionSummary {
    fn from(s: fieldbook_core::unpaid_work::views::SessionSummary) -> Self {
        use fieldbook_core::unpaid_work::views::SyncState as S;
        Self {
            session_id: s.session_id.to_string(),
            project_name: s.project_name,
            date: s.date.to_string(),
            planned_start: s.planned_start.to_string(),
            planned_end: s.planned_end.to_string(),
            status: snake(&s.status),
            allocated: s.allocated,
            arrived: s.arrived,
            did_not_attend: s.did_not_attend,
            sent_home: s.sent_home,
            outcomes_missing: s.outcomes_missing,
            sync: match s.sync {
                S::NothingCaptured => SyncState::NothingCaptured,
                S::Synced => SyncState::Synced,
                S::Pending(n) => SyncState::Pending { events: n },
            },
        }
    }
}

/// Where an appointment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum AppointmentStatus {
    Expected,
    OnSite,
    Attended,
    SentHome,
    Absent,
    /// Rescheduled by the office: neither credits nor enforces.
    Rescheduled,
    /// Closed by an administrative outcome from the office.
    ClosedByOffice,
}

/// An action the roll call offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RollCallAction {
    CheckIn,
    DidNotAttend,
    RecordAgreedAbsence,
    RecordOutcome,
    Correct,
    /// Record that a warning was given on site.
    RecordWarningGiven,
}

/// A warning on a roll-call row.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RollCallWarning {
    Risk {
        level: String,
    },
    Registrations {
        items: Vec<String>,
    },
    HiVis,
    HoursNearlyComplete {
        outstanding_minutes: i64,
    },
    EnforcementHistory {
        open_items: u32,
        last_warning: Option<String>,
    },
    Unallocated,
    Late {
        minutes: i64,
    },
    /// After the order's expected end: credited and flagged to the office.
    AfterExpectedEnd {
        expected_end: String,
    },
    /// The order's hours in aggregate are outside 40–300.
    AggregateHoursUnusual {
        hours: u32,
    },
}

/// One roll-call row.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RollCallRow {
    pub appointment_id: String,
    /// Name, or the CRN for a restricted case.
    pub label: String,
    pub crn: String,
    pub restricted: bool,
    pub photo_ref: Option<String>,
    pub status: AppointmentStatus,
    pub outcome_code: Option<String>,
    pub arrival: Option<Stamp>,
    pub minutes_on_site: Option<i64>,
    pub minutes_credited_to_date: Option<i64>,
    pub warnings: Vec<RollCallWarning>,
    /// Exactly the actions the status allows.
    pub actions: Vec<RollCallAction>,
}

/// The roll call screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RollCall {
    pub summary: SessionSummary,
    pub hi_vis_required: bool,
    pub hazards: String,
    pub rows: Vec<RollCallRow>,
}

fn stamp(s: fieldbook_core::unpaid_work::model::Stamp) -> Stamp {
    Stamp {
        utc_ms: s.utc_ms,
        offset_min: s.offset_min,
    }
}

impl From<fieldbook_core::unpaid_work::views::RollCall> for RollCall {
    fn from(r: fieldbook_core::unpaid_work::views::RollCall) -> Self {
        use fieldbook_core::unpaid_work::views as v;
        let rows = r
            .rows
            .into_iter()
            .map(|row| RollCallRow {
                appointment_id: row.appointment_id.to_string(),
                label: row.label,
                crn: row.crn,
                restricted: row.restricted,
                photo_ref: row.photo_ref,
                status: match row.status {
                    v::AppointmentStatus::Expected => AppointmentStatus::Expected,
                    v::AppointmentStatus::OnSite => AppointmentStatus::OnSite,
                    v::AppointmentStatus::Attended => AppointmentStatus::Attended,
                    v::AppointmentStatus::SentHome => AppointmentStatus::SentHome,
                    v::AppointmentStatus::Absent => AppointmentStatus::Absent,
                    v::AppointmentStatus::Rescheduled => AppointmentStatus::Rescheduled,
                    v::AppointmentStatus::ClosedByOffice => AppointmentStatus::ClosedByOffice,
                },
                outcome_code: row.outcome_code,
                arrival: row.arrival.map(stamp),
                minutes_on_site: row.minutes_on_site,
                minutes_credited_to_date: row.minutes_credited_to_date,
                warnings: row
                    .warnings
                    .into_iter()
                    .map(|w| match w {
                        v::RollCallWarning::Risk { level } => RollCallWarning::Risk {
                            level: snake(&level),
                        },
                        v::RollCallWarning::Registrations { items } => {
                            RollCallWarning::Registrations { items }
                        }
                        v::RollCallWarning::HiVis => RollCallWarning::HiVis,
                        v::RollCallWarning::HoursNearlyComplete {
                            outstanding_minutes,
                        } => RollCallWarning::HoursNearlyComplete {
                            outstanding_minutes,
                        },
                        v::RollCallWarning::EnforcementHistory {
                            open_items,
                            last_warning,
                        } => RollCallWarning::EnforcementHistory {
                            open_items,
                            last_warning: last_warning.map(|d| d.to_string()),
                        },
                        v::RollCallWarning::Unallocated => RollCallWarning::Unallocated,
                        v::RollCallWarning::Late { minutes } => RollCallWarning::Late { minutes },
                        v::RollCallWarning::AfterExpectedEnd { expected_end } => {
                            RollCallWarning::AfterExpectedEnd {
                                expected_end: expected_end.to_string(),
                            }
                        }
                        v::RollCallWarning::AggregateHoursUnusual { hours } => {
                            RollCallWarning::AggregateHoursUnusual { hours }
                        }
                    })
                    .collect(),
                actions: row
                    .actions
                    .into_iter()
                    .map(|a| match a {
                        v::RollCallAction::CheckIn => RollCallAction::CheckIn,
                        v::RollCallAction::DidNotAttend => RollCallAction::DidNotAttend,
                        v::RollCallAction::RecordAgreedAbsence => {
                            RollCallAction::RecordAgreedAbsence
                        }
                        v::RollCallAction::RecordOutcome => RollCallAction::RecordOutcome,
                        v::RollCallAction::Correct => RollCallAction::Correct,
                        v::RollCallAction::RecordWarningGiven => RollCallAction::RecordWarningGiven,
                    })
                    .collect(),
            })
            .collect();
        Self {
            summary: r.summary.into(),
            hi_vis_required: r.hi_vis_required,
            hazards: r.hazards,
            rows,
        }
    }
}

/// What the supervisor enters at check-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct CheckIn {
    /// `None`: now.
    pub arrival: Option<Stamp>,
    pub identity_checked: bool,
    pub hi_vis_issued: bool,
    pub hi_vis_worn: bool,
}

/// Ratings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, uniffi::Enum)]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Excellent,
    Good,
    Satisfactory,
    Unsatisfactory,
    Poor,
    NotApplicable,
}

/// An outcome as entered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct OutcomeInput {
    /// ATTC, AFTC, ATSH, ATSS, UACP or an agreed absence code.
    pub code: String,
    /// `None`: the check-in time.
    pub arrival: Option<Stamp>,
    /// `None`: now.
    pub departure: Option<Stamp>,
    pub penalty_minutes: i64,
    pub work_quality: Rating,
    pub behaviour: Rating,
    pub notes: String,
    pub sensitive: bool,
    /// Send to the practitioner's alert diary (any outcome).
    pub raise_alert: bool,
    pub travel_minutes: Option<u32>,
    /// Compliance on the day (attended outcomes).
    #[uniffi(default = None)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Compliance>,
}

/// Compliance on the day, in the national supervisors service's steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct Compliance {
    pub hi_vis_worn: Option<bool>,
    /// Working intensively (28 hours over a 4-day week).
    pub worked_intensively: Option<bool>,
    /// Why the person cannot work today.
    pub unable_to_work_reason: Option<String>,
    /// Why they left early.
    pub left_early_reason: Option<String>,
}

/// What recording an outcome did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OutcomeResult {
    pub recorded: Recorded,
    pub minutes_credited: i64,
    /// warning or breach_referral for enforceable outcomes.
    pub enforcement: Option<String>,
    pub policy_version: String,
}

impl From<fieldbook_core::unpaid_work::OutcomeResult> for OutcomeResult {
    fn from(r: fieldbook_core::unpaid_work::OutcomeResult) -> Self {
        Self {
            recorded: r.recorded.into(),
            minutes_credited: r.minutes_credited,
            enforcement: r.enforcement.map(|s| snake(&s)),
            policy_version: r.policy_version,
        }
    }
}

/// What a stand-down did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StandDownResult {
    pub recorded: Recorded,
    /// Outcomes recorded with it (ATSS on site, AASD before the start).
    pub outcomes_recorded: u32,
}

/// A headcount beside the roll call's number on site.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HeadcountResult {
    pub recorded: Recorded,
    pub count: u32,
    pub on_site: u32,
}

/// A proposed outcome checked without recording.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OutcomeCheck {
    pub errors: Vec<FieldMessage>,
    pub minutes_credited: Option<i64>,
    pub late_by_minutes: Option<i64>,
    /// warning_or_referral or breach_referral.
    pub enforcement: Option<String>,
    /// The work is after the order's expected end (credited, flagged).
    pub after_expected_end: bool,
}

/// An outcome the form offers.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OutcomeOption {
    pub code: String,
    pub description: String,
    /// The hint text the supervisor sees.
    pub hint: String,
    pub enforceable: bool,
    /// Whether the form asks the compliance questions for this code (the
    /// core's rule: only for someone who attended).
    pub asks_compliance: bool,
}

/// A recorded outcome (current or superseded), with everything it was
/// recorded with, so a correction starts from it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RecordedOutcome {
    pub event_id: String,
    pub code: String,
    pub minutes_credited: i64,
    pub notes: String,
    pub sensitive: bool,
    pub correction_reason: Option<String>,
    pub arrival: Option<Stamp>,
    pub departure: Option<Stamp>,
    pub penalty_minutes: i64,
    pub work_quality: Rating,
    pub behaviour: Rating,
    pub raise_alert: bool,
    pub travel_minutes: Option<u32>,
    /// `None`: no compliance answer was recorded.
    pub compliance: Option<Compliance>,
}

/// The appointment form's state.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AppointmentForm {
    pub row: RollCallRow,
    pub outcomes: Vec<OutcomeOption>,
    pub default_arrival: Stamp,
    pub default_departure: Stamp,
    pub travel_time_eligible: bool,
    pub current: Option<RecordedOutcome>,
    /// Superseded versions, oldest first.
    pub history: Vec<RecordedOutcome>,
    pub notes_max_chars: u32,
}

/// Why a sync might start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncTrigger {
    OnDemand,
    Reconnected,
    AppStart,
    Timer,
    Captured,
}

/// A person's hours.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PersonLedger {
    pub label: String,
    pub crn: String,
    pub required_minutes: i64,
    pub credited_minutes: i64,
    /// Adds to the minutes required.
    pub positive_adjustment_minutes: i64,
    /// Reduces them (travel time is one).
    pub negative_adjustment_minutes: i64,
    pub outstanding_minutes: i64,
    pub ete_credited_minutes: i64,
    pub ete_cap_minutes: i64,
    /// Warnings given on the order, oldest first (YYYY-MM-DD).
    pub warnings_given: Vec<String>,
    pub scheduled_minutes: i64,
    /// The scheduled sessions cannot finish the order by its end date.
    pub at_risk: bool,
    pub order_end: String,
    pub open_enforcement_codes: Vec<String>,
    pub policy_version: String,
}

// ---- home visits ----

/// A location, only with consent.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: f64,
}

/// What the officer enters to start a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, uniffi::Record)]
pub struct StartVisit {
    pub case_id: String,
    pub address_id: Option<String>,
    pub scheduled_visit_id: Option<String>,
    pub purpose: String,
    pub officers_present: Vec<String>,
    pub expected_minutes: i64,
    pub location_consent: bool,
    pub location: Option<GeoPoint>,
    /// Arranged with the person (else unannounced).
    #[uniffi(default = false)]
    #[serde(default)]
    pub arranged: bool,
    /// A manager's override of an unmet safety prerequisite.
    #[uniffi(default = None)]
    #[serde(default)]
    pub manager_override: Option<ManagerOverride>,
}

/// A manager's decision to let a visit start although a safety
/// prerequisite (pairs only, current risk assessment) is not met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct ManagerOverride {
    pub manager_id: String,
    pub reason: String,
}

/// Lone-worker status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SafetyStatus {
    Active,
    Overdue,
    Escalated,
    Alert,
    Ended,
}

/// A notification the shell should schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Alarm {
    pub at_ms: i64,
    pub kind: crate::platform::AlarmKind,
}

/// The lone-worker timer as the shell shows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SafetyView {
    pub visit_id: String,
    pub status: SafetyStatus,
    /// What the screen shows: a silent alert shows as the running timer.
    pub shown_status: SafetyStatus,
    /// Silent alert: no sound, no visible change.
    pub silent: bool,
    pub expected_finish_ms: i64,
    pub remaining_ms: i64,
    pub alarms: Vec<Alarm>,
    /// The office's latest acknowledgement of an alert on this visit:
    /// show "The office has acknowledged" with who, when and the note.
    pub office_ack: Option<OfficeAck>,
}

/// The office acknowledged a lone-worker alert, and the phone received it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OfficeAck {
    pub alert_id: String,
    /// Who at the office.
    pub by: String,
    /// When the office acknowledged it (UTC ms).
    pub at_ms: i64,
    /// The office's note to the officer.
    pub note: String,
    /// When this phone received it (UTC ms).
    pub seen_ms: i64,
}

/// What one contact with the safety lane did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SafetyLaneSummary {
    /// Safety events the office's clock confirmed now.
    pub confirmed: u64,
    /// Safety events still unconfirmed (call again at `beacon_due_ms`).
    pub unconfirmed: u64,
    /// New acknowledgements from the office.
    pub acknowledgements: u64,
}

impl From<fieldbook_core::sync::SafetyLaneReport> for SafetyLaneSummary {
    fn from(r: fieldbook_core::sync::SafetyLaneReport) -> Self {
        Self {
            confirmed: r.confirmed,
            unconfirmed: r.unconfirmed,
            acknowledgements: r.acknowledgements,
        }
    }
}

fn status(s: fieldbook_core::home_visits::safety::SafetyStatus) -> SafetyStatus {
    use fieldbook_core::home_visits::safety::SafetyStatus as C;
    match s {
        C::Active => SafetyStatus::Active,
        C::Overdue => SafetyStatus::Overdue,
        C::Escalated => SafetyStatus::Escalated,
        C::Alert => SafetyStatus::Alert,
        C::Ended => SafetyStatus::Ended,
    }
}

impl From<fieldbook_core::home_visits::SafetyView> for SafetyView {
    fn from(s: fieldbook_core::home_visits::SafetyView) -> Self {
        use crate::platform::AlarmKind as K;
        use fieldbook_core::home_visits::safety::AlarmKind as CK;
        Self {
            visit_id: s.visit_id.to_string(),
            status: status(s.status),
            shown_status: status(s.shown_status),
            silent: s.silent,
            expected_finish_ms: s.expected_finish_ms,
            remaining_ms: s.remaining_ms,
            alarms: s
                .alarms
                .into_iter()
                .map(|a| Alarm {
                    at_ms: a.at_ms,
                    kind: match a.kind {
                        CK::Reminder => K::Reminder,
                        CK::Overdue => K::Overdue,
                        CK::Escalation => K::Escalation,
                    },
                })
                .collect(),
            office_ack: s.office_ack.map(|a| OfficeAck {
                alert_id: a.alert_id,
                by: a.by,
                at_ms: a.at_ms,
                note: a.note,
                seen_ms: a.seen_ms,
            }),
        }
    }
}

/// A visit just started.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StartedVisit {
    /// The `visit.started` event; its `record_id` is the visit.
    pub recorded: Recorded,
    pub visit_id: String,
    /// pairs_only_with_one_officer, staff_risk: …, assessment_not_current.
    pub warnings: Vec<String>,
    pub safety: SafetyView,
}

/// What a timer tick found.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SafetyTick {
    pub visits: Vec<SafetyView>,
    /// When to call `tick` again (UTC ms).
    pub next_wake_ms: Option<i64>,
    /// When to call `send_safety` again (UTC ms): every 30 s while a visit
    /// runs or a safety event is unconfirmed.
    pub beacon_due_ms: Option<i64>,
    /// The lane's interval: after a failed contact, the next is this long
    /// after it (the core's `BEACON_INTERVAL_MS`).
    pub beacon_interval_ms: i64,
}

/// One line of the officer's "Today".
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitDue {
    pub case_id: String,
    pub label: String,
    pub crn: String,
    pub scheduled_visit_id: Option<String>,
    pub purpose: Option<String>,
    pub address: String,
    pub access_notes: String,
    pub risk_level: String,
    pub staff_risks: Vec<String>,
    pub due: String,
    pub overdue_days: i64,
    pub days_since_last_visit: Option<i64>,
}

/// Someone present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct PersonPresent {
    pub name: String,
    pub relationship: String,
    pub child: bool,
}

/// Accommodation suitability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, uniffi::Enum)]
#[serde(rename_all = "snake_case")]
pub enum Suitability {
    Suitable,
    Unsuitable,
    NotAssessed,
}

/// Accommodation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, uniffi::Enum)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Good,
    Fair,
    Poor,
    NotSeen,
}

/// Accommodation observations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct Accommodation {
    pub suitability: Suitability,
    pub condition: Condition,
    pub changes: String,
}

/// A follow-up action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct FollowUp {
    pub action: String,
    /// YYYY-MM-DD.
    pub due: String,
    pub done: bool,
}

/// Enforcement follow-up for a failed visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Enum)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum EnforcementAction {
    WarningLetter,
    DecisionPendingResponse { respond_by: String },
    ReferToOffenderManager,
    InitiateBreach,
    NoFurtherAction,
}

/// The visit capture form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, uniffi::Record)]
pub struct VisitForm {
    pub outcome: Option<String>,
    pub officers_present: Vec<String>,
    pub people_present: Vec<PersonPresent>,
    pub accommodation: Option<Accommodation>,
    pub risk_concerns: String,
    pub safeguarding_concerns: String,
    pub visor: bool,
    pub follow_ups: Vec<FollowUp>,
    pub enforcement: Option<EnforcementAction>,
    pub notes: String,
    pub sensitive: bool,
    /// Nobody answered the door.
    #[uniffi(default = false)]
    #[serde(default)]
    pub no_answer: bool,
}

/// The active-visit screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ActiveVisit {
    pub visit_id: String,
    /// The person visited (for their history).
    pub case_id: String,
    pub label: String,
    pub address: String,
    pub access_notes: String,
    pub safety: SafetyView,
    /// draft, final, draft_expired.
    pub status: String,
    pub form: VisitForm,
    pub validation: Vec<FieldMessage>,
    /// not_draft, fresh, expires_soon, expired.
    pub draft_expiry: String,
}

/// One visit in a person's history.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VisitLine {
    pub visit_id: String,
    pub start: Stamp,
    pub planned: bool,
    pub outcome: Option<String>,
    pub amendments: u32,
    /// Finalised, so `hv_amend` accepts an amendment (drafts are finalised
    /// instead; an expired draft is gone).
    pub amendable: bool,
}

/// A follow-up not yet done, with where it is recorded (for
/// `hv_complete_follow_up`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OpenFollowUp {
    pub visit_id: String,
    pub index: u32,
    pub follow_up: FollowUp,
}

/// The person screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PersonVisits {
    pub label: String,
    pub crn: String,
    pub history: Vec<VisitLine>,
    /// Earliest due first.
    pub open_follow_ups: Vec<OpenFollowUp>,
    pub next_due: String,
    pub overdue_by_policy: bool,
}

// ---- sync ----

/// Sync phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SyncPhase {
    Status,
    Push,
    Pull,
    Shredding,
    Done,
}

/// Progress for the shells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgress {
    pub phase: SyncPhase,
    pub sent: u64,
    pub total: u64,
    pub bytes_sent: u64,
    pub pulled: u64,
}

impl From<fieldbook_core::sync::SyncProgress> for SyncProgress {
    fn from(p: fieldbook_core::sync::SyncProgress) -> Self {
        use fieldbook_core::sync::SyncPhase as C;
        Self {
            phase: match p.phase {
                C::Status => SyncPhase::Status,
                C::Push => SyncPhase::Push,
                C::Pull => SyncPhase::Pull,
                C::Shredding => SyncPhase::Shredding,
                C::Done => SyncPhase::Done,
            },
            sent: p.sent,
            total: p.total,
            bytes_sent: p.bytes_sent,
            pulled: p.pulled,
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncSummary {
    pub accepted: u64,
    pub duplicates: u64,
    pub quarantined: u64,
    pub pulled: u64,
    pub skipped: u64,
    pub reset: bool,
    /// The office revoked the device and the store was crypto-shredded:
    /// show the officer and return to enrolment.
    pub shredded: bool,
    pub bytes_sent: u64,
}

impl From<fieldbook_core::sync::SyncReport> for SyncSummary {
    fn from(r: fieldbook_core::sync::SyncReport) -> Self {
        Self {
            accepted: r.accepted,
            duplicates: r.duplicates,
            quarantined: r.quarantined,
            pulled: r.pulled,
            skipped: r.skipped,
            reset: r.reset,
            shredded: r.shredded,
            bytes_sent: r.bytes_sent,
        }
    }
}

/// An event the office refused, for the officer to review.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct QuarantinedEvent {
    pub event_id: String,
    pub seq: u64,
    pub kind: String,
    /// Machine-readable reason (out_of_scope, chain_broken, …).
    pub reason: String,
}

/// Device enrolment.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enrolment {
    pub device_id: String,
    pub officer_id: String,
    /// supervisor or probation_officer.
    pub role: String,
}

pub(crate) fn snake_name<T: Serialize>(t: &T) -> String {
    snake(t)
}
