//! Home-visit records: the officer's caseload and scheduled visits
//! (reference data from the office) and the visits captured on the device.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::safety::SafetyState;
use crate::ids::RecordId;
use crate::store::Record;
use crate::vocab::{normalise_crn, RiskLevel, Stamp};

/// One of the person's addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Stable id within the case.
    pub id: String,
    /// The address.
    pub text: String,
    /// How to get in (gate code, flat entrance, parking).
    pub access_notes: String,
    /// Whether it is the main address.
    pub main: bool,
}

/// A risk to staff recorded on the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "detail")]
pub enum StaffRisk {
    /// Dogs at the address.
    Dogs(String),
    /// Weapons known or suspected.
    Weapons(String),
    /// Hostile household members.
    HostileHousehold(String),
    /// Visits only in pairs.
    PairsOnly,
    /// Anything else.
    Other(String),
}

/// The home-visit risk assessment's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssessmentStatus {
    /// Not done.
    NotStarted,
    /// Done and current.
    Current,
    /// Needs review.
    ReviewDue,
}

/// A person on the officer's caseload, as visits need them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Case reference number.
    pub crn: String,
    /// Name; `None` for a case the officer is restricted from.
    pub name: Option<String>,
    /// Whether the officer is restricted from this case (CRN only).
    pub restricted: bool,
    /// Addresses.
    pub addresses: Vec<Address>,
    /// Risk of serious harm.
    pub risk_level: RiskLevel,
    /// Registrations (MAPPA, child protection, ...).
    pub registrations: Vec<String>,
    /// Risks to staff.
    pub staff_risks: Vec<StaffRisk>,
    /// Other people known at the address.
    pub known_occupants: Vec<String>,
    /// Home-visit risk assessment status.
    pub assessment: AssessmentStatus,
    /// When supervision started (the first visit is due from here).
    pub supervision_start: NaiveDate,
    /// The last home visit the office knows of.
    pub last_visit: Option<NaiveDate>,
    /// The office flagged an escalation of risk or a safeguarding concern:
    /// a visit is due now.
    #[serde(default)]
    pub escalation_flagged: bool,
}

impl Case {
    /// The label an officer may see.
    pub fn display_name(&self) -> String {
        match (&self.name, self.restricted) {
            (Some(n), false) => n.clone(),
            _ => self.crn.clone(),
        }
    }

    /// Whether the case requires two officers.
    pub fn pairs_only(&self) -> bool {
        self.staff_risks.contains(&StaffRisk::PairsOnly)
    }
}

impl Record for Case {
    const COLLECTION: &'static str = "hv_case";
    fn index_terms(&self) -> Vec<(&'static str, String)> {
        vec![("crn", normalise_crn(&self.crn)), ("all", "all".into())]
    }
}

/// A visit the office has scheduled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledVisit {
    /// The case.
    pub case_id: RecordId,
    /// The date.
    pub date: NaiveDate,
    /// Purpose.
    pub purpose: String,
    /// Which address (by [`Address::id`]).
    pub address_id: String,
}

impl Record for ScheduledVisit {
    const COLLECTION: &'static str = "hv_scheduled";
    fn index_terms(&self) -> Vec<(&'static str, String)> {
        vec![
            ("date", self.date.to_string()),
            ("case", self.case_id.to_string()),
        ]
    }
}

/// Someone present at the visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonPresent {
    /// Name or description.
    pub name: String,
    /// Relationship to the person on probation.
    pub relationship: String,
    /// Whether they are a child.
    pub child: bool,
}

/// Accommodation suitability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suitability {
    /// Suitable.
    Suitable,
    /// Unsuitable.
    Unsuitable,
    /// Could not be judged.
    NotAssessed,
}

/// Accommodation condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Good.
    Good,
    /// Fair.
    Fair,
    /// Poor.
    Poor,
    /// Not seen.
    NotSeen,
}

/// What the officer observed about the accommodation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accommodation {
    /// Suitability.
    pub suitability: Suitability,
    /// Condition.
    pub condition: Condition,
    /// Changes since the last visit.
    pub changes: String,
}

/// An action to follow the visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    /// What.
    pub action: String,
    /// By when.
    pub due: NaiveDate,
    /// Whether done.
    pub done: bool,
}

/// Enforcement follow-up for a failed visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum EnforcementAction {
    /// Send a warning letter.
    WarningLetter,
    /// Decision pending the person's response by a date.
    DecisionPendingResponse { respond_by: NaiveDate },
    /// Refer to the offender manager.
    ReferToOffenderManager,
    /// Start breach proceedings.
    InitiateBreach,
    /// No further action.
    NoFurtherAction,
}

/// A location reading, only with the officer's consent for the visit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Accuracy, metres.
    pub accuracy_m: f64,
}

/// The visit's capture form (`Default` is the empty form a visit starts
/// with: nothing chosen, nothing written).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VisitForm {
    /// Outcome code (see [`super::policy::VISIT_OUTCOMES`]).
    pub outcome: Option<String>,
    /// Officers present (ids).
    pub officers_present: Vec<String>,
    /// Who else was present.
    pub people_present: Vec<PersonPresent>,
    /// Accommodation observations.
    pub accommodation: Option<Accommodation>,
    /// Risk concerns.
    pub risk_concerns: String,
    /// Safeguarding concerns.
    pub safeguarding_concerns: String,
    /// Whether it goes in the ViSOR report.
    pub visor: bool,
    /// Follow-up actions.
    pub follow_ups: Vec<FollowUp>,
    /// For failures: enforcement follow-up.
    pub enforcement: Option<EnforcementAction>,
    /// Notes.
    pub notes: String,
    /// Sensitive flag (never unset once finalised).
    pub sensitive: bool,
    /// Nobody answered the door.
    #[serde(default)]
    pub no_answer: bool,
}

/// Where a visit's record stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Being written.
    Draft,
    /// Finalised: changes only by amendment.
    Final,
    /// The draft expired and its contents were erased.
    DraftExpired,
}

/// A finalised version (kept as history when amended).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalVersion {
    /// The event that recorded it.
    pub event_id: String,
    /// The form as recorded.
    pub form: VisitForm,
    /// For amendments: why.
    pub reason: Option<String>,
}

/// A visit captured on the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// The case.
    pub case_id: RecordId,
    /// Planned (from a scheduled visit) or unplanned.
    pub planned: bool,
    /// The scheduled visit, if planned.
    pub scheduled_visit_id: Option<RecordId>,
    /// Arranged with the person (else unannounced).
    #[serde(default)]
    pub arranged: bool,
    /// For a failed arranged visit: when the person must respond by.
    #[serde(default)]
    pub respond_by: Option<NaiveDate>,
    /// Address visited.
    pub address: Address,
    /// Purpose.
    pub purpose: String,
    /// Start.
    pub start: Stamp,
    /// End, once ended.
    pub end: Option<Stamp>,
    /// Officer consent to location for this visit.
    pub location_consent: bool,
    /// Location at start.
    pub start_location: Option<GeoPoint>,
    /// Location at end.
    pub end_location: Option<GeoPoint>,
    /// The lone-worker timer.
    pub safety: SafetyState,
    /// Record status.
    pub status: RecordStatus,
    /// The draft form.
    pub draft: VisitForm,
    /// When the draft was last saved (UTC ms).
    pub draft_saved_ms: i64,
    /// The current final version and earlier ones (oldest first).
    pub finals: Vec<FinalVersion>,
    /// The start event.
    pub start_event: String,
    /// Events about this visit (for sync state).
    pub event_seqs: Vec<u64>,
    /// The office's acknowledgements of lone-worker alerts on this visit,
    /// oldest first (absent before the safety lane).
    #[serde(default)]
    pub office_acks: Vec<OfficeAckSeen>,
}

/// The office acknowledged a lone-worker alert on a visit, and the device
/// received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfficeAckSeen {
    /// The office's alert.
    pub alert_id: String,
    /// Who at the office.
    pub by: String,
    /// When the office acknowledged it (UTC ms).
    pub at_ms: i64,
    /// What the office said to the officer.
    pub note: String,
    /// When this device received it (UTC ms).
    pub seen_ms: i64,
}

impl Visit {
    /// The current final version.
    pub fn current(&self) -> Option<&FinalVersion> {
        self.finals.last()
    }
}

impl Record for Visit {
    const COLLECTION: &'static str = "hv_visit";
    fn index_terms(&self) -> Vec<(&'static str, String)> {
        let mut terms = vec![("case", self.case_id.to_string())];
        if self.safety.status != super::safety::SafetyStatus::Ended {
            terms.push(("running", "yes".into()));
        }
        if self.status == RecordStatus::Draft {
            terms.push(("draft", "yes".into()));
        }
        terms
    }
}
