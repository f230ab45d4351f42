//! View models for the supervisor's screens: today's sessions, the roll
//! call, the appointment form and the person's ledger. The shells render
//! these as they are; every rule behind them is computed here.
//!
//! Views that show personal data record a consultation in the access log.

use std::collections::HashSet;

use chrono::{Duration, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use super::codes::{self, OutcomeKind};
use super::model::{
    Appointment, Attendance, EnforcementItem, EnforcementStatus, EnforcementStep, OutcomeRecord,
    Project, Requirement, RiskLevel, SessionState, SessionStatus, Stamp, WorkSession,
};
use super::policy::{self, FieldError, Ledger};
use super::{device_credits, now_stamp, order_history, scheduled_minutes, UnpaidWork};
use crate::error::Result;
use crate::ids::RecordId;
use crate::store::{Records, Stored};

/// Whether a session's captures have reached the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Nothing captured yet.
    NothingCaptured,
    /// Everything captured has been acknowledged.
    Synced,
    /// This many events wait to be sent.
    Pending(u32),
}

/// One line of "Today".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// Session id.
    pub session_id: RecordId,
    /// Project name.
    pub project_name: String,
    /// Date.
    pub date: NaiveDate,
    /// Planned start.
    pub planned_start: NaiveTime,
    /// Planned end.
    pub planned_end: NaiveTime,
    /// Lifecycle.
    pub status: SessionStatus,
    /// People allocated (plus unallocated arrivals).
    pub allocated: u32,
    /// Arrived (on site or attended).
    pub arrived: u32,
    /// Did not attend (unacceptable or acceptable absence).
    pub did_not_attend: u32,
    /// Sent home.
    pub sent_home: u32,
    /// Appointments with no outcome yet.
    pub outcomes_missing: u32,
    /// Sync state.
    pub sync: SyncState,
}

/// Where an appointment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    /// Not arrived, no outcome.
    Expected,
    /// Arrived, no outcome yet.
    OnSite,
    /// Attended (ATTC, AFTC).
    Attended,
    /// Sent home (ATSH, ATSS).
    SentHome,
    /// Absent (a failure or an acceptable absence).
    Absent,
    /// Rescheduled by the office (RSSR, RSOF): neither credits nor enforces.
    Rescheduled,
    /// Closed by an administrative outcome from the office (CO38–CO40).
    ClosedByOffice,
}

/// What the supervisor can do with an appointment now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollCallAction {
    /// Record arrival.
    CheckIn,
    /// Record UACP.
    DidNotAttend,
    /// Record the absence the office agreed.
    RecordAgreedAbsence,
    /// Record departure and outcome.
    RecordOutcome,
    /// Correct the recorded outcome.
    Correct,
    /// Record that a warning was given on site (enforceable outcomes).
    RecordWarningGiven,
}

/// A warning on a roll-call row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum RollCallWarning {
    /// Risk of serious harm badge (medium and above).
    Risk { level: RiskLevel },
    /// Registrations that matter on site.
    Registrations { items: Vec<String> },
    /// Hi-vis required but not recorded as issued and worn.
    HiVis,
    /// Few hours left on the order.
    HoursNearlyComplete { outstanding_minutes: i64 },
    /// Earlier enforcement on this order: open items, and the last warning
    /// actually given (by the office or on site).
    EnforcementHistory {
        open_items: u32,
        last_warning: Option<NaiveDate>,
    },
    /// The session is after the order's expected end: the work is credited
    /// and the office is told.
    AfterExpectedEnd { expected_end: NaiveDate },
    /// The order's hours in aggregate are outside the statutory 40–300.
    AggregateHoursUnusual { hours: u32 },
    /// Turned up without an allocation.
    Unallocated,
    /// Arrived late.
    Late { minutes: i64 },
}

/// One row of the roll call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollCallRow {
    /// Appointment id.
    pub appointment_id: RecordId,
    /// Name, or the CRN for a restricted case.
    pub label: String,
    /// CRN.
    pub crn: String,
    /// Whether only the CRN may be shown.
    pub restricted: bool,
    /// Photo reference for the identity check (never for restricted cases).
    pub photo_ref: Option<String>,
    /// Status.
    pub status: AppointmentStatus,
    /// Outcome code, once recorded.
    pub outcome_code: Option<String>,
    /// Arrival.
    pub arrival: Option<Stamp>,
    /// Minutes on site so far (to departure, or to now while on site).
    pub minutes_on_site: Option<i64>,
    /// Minutes credited to the order so far (office plus device).
    pub minutes_credited_to_date: Option<i64>,
    /// Warnings.
    pub warnings: Vec<RollCallWarning>,
    /// Exactly the actions the status allows.
    pub actions: Vec<RollCallAction>,
}

/// The roll-call screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollCall {
    /// The session's summary line.
    pub summary: SessionSummary,
    /// Whether hi-vis is required on this project.
    pub hi_vis_required: bool,
    /// Hazards on site.
    pub hazards: String,
    /// Rows, ordered by label.
    pub rows: Vec<RollCallRow>,
}

/// An outcome the form offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeOption {
    /// Code.
    pub code: String,
    /// Description.
    pub description: String,
    /// Hint text.
    pub hint: String,
    /// Whether it opens an enforcement item.
    pub enforceable: bool,
    /// Whether the form asks the compliance questions (can the person work
    /// today, hi-vis worn, working intensively, left early) for it: only for
    /// someone who attended, as [`super::policy::judge`] enforces.
    pub asks_compliance: bool,
}

/// The appointment form's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentForm {
    /// The row as on the roll call.
    pub row: RollCallRow,
    /// Outcomes offered.
    pub outcomes: Vec<OutcomeOption>,
    /// Arrival to prefill.
    pub default_arrival: Stamp,
    /// Departure to prefill.
    pub default_departure: Stamp,
    /// Whether travel time can be claimed.
    pub travel_time_eligible: bool,
    /// The current outcome.
    pub current: Option<OutcomeRecord>,
    /// Earlier, superseded outcomes.
    pub history: Vec<OutcomeRecord>,
    /// The notes limit.
    pub notes_max_chars: usize,
}

/// The result of checking a proposed outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCheck {
    /// Field-level messages; empty when it can be recorded.
    pub errors: Vec<FieldError>,
    /// Minutes it would credit.
    pub minutes_credited: Option<i64>,
    /// Minutes late.
    pub late_by_minutes: Option<i64>,
    /// The enforcement step it would flag.
    pub enforcement: Option<EnforcementStep>,
    /// Whether the work is after the order's expected end (flagged).
    pub after_expected_end: bool,
}

/// One line of a person's recent attendance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttendanceLine {
    /// Session date.
    pub date: NaiveDate,
    /// Project name.
    pub project_name: String,
    /// Outcome code, if recorded.
    pub code: Option<String>,
    /// Minutes credited.
    pub minutes_credited: i64,
}

/// The person's ledger screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonLedger {
    /// Name or CRN.
    pub label: String,
    /// CRN.
    pub crn: String,
    /// Hours.
    pub ledger: Ledger,
    /// The order's expected end (work after it is still credited).
    pub order_end: NaiveDate,
    /// Warnings given on the order (office and on site), oldest first.
    pub warnings_given: Vec<NaiveDate>,
    /// The order's hours across its requirements on this device.
    pub aggregate_hours: u32,
    /// Most recent first.
    pub recent: Vec<AttendanceLine>,
    /// Open enforcement items with the step each calls for.
    pub open_enforcement: Vec<EnforcementItem>,
}

/// The code in force: the device's outcome, else the office's.
fn effective_code(appt: &Appointment, att: &Attendance) -> Option<&'static codes::OutcomeCode> {
    att.outcome
        .as_ref()
        .map(|o| o.code.as_str())
        .or(appt.office_outcome.as_deref())
        .and_then(codes::outcome)
}

fn status_of(appt: &Appointment, att: &Attendance) -> AppointmentStatus {
    match effective_code(appt, att) {
        Some(c) => match c.kind {
            OutcomeKind::Attended if matches!(c.code, "ATSH" | "ATSS") => {
                AppointmentStatus::SentHome
            }
            OutcomeKind::Attended => AppointmentStatus::Attended,
            OutcomeKind::AcceptableAbsence | OutcomeKind::Failure => AppointmentStatus::Absent,
            OutcomeKind::Rescheduled => AppointmentStatus::Rescheduled,
            OutcomeKind::Administrative => AppointmentStatus::ClosedByOffice,
        },
        None if att.arrival.is_some() => AppointmentStatus::OnSite,
        None => AppointmentStatus::Expected,
    }
}

/// Those arrived and without an outcome.
pub(crate) fn on_site_count(records: &Records<'_>, session_id: &RecordId) -> Result<u32> {
    let mut n = 0;
    for appt in records.find::<Appointment>("session", session_id.as_str())? {
        if let Some(att) = records.get::<Attendance>(&appt.id)? {
            if status_of(&appt.value, &att.value) == AppointmentStatus::OnSite {
                n += 1;
            }
        }
    }
    Ok(n)
}

fn sync_state(seqs: &[u64], pending: &HashSet<u64>) -> SyncState {
    if seqs.is_empty() {
        return SyncState::NothingCaptured;
    }
    let n = seqs.iter().filter(|s| pending.contains(s)).count();
    if n == 0 {
        SyncState::Synced
    } else {
        SyncState::Pending(u32::try_from(n).unwrap_or(u32::MAX))
    }
}

struct Loaded {
    appointment: Stored<Appointment>,
    attendance: Attendance,
    requirement: Option<Stored<Requirement>>,
}

fn load_session_rows(records: &Records<'_>, session_id: &RecordId) -> Result<Vec<Loaded>> {
    let mut out = Vec::new();
    for appointment in records.find::<Appointment>("session", session_id.as_str())? {
        let attendance = records
            .get::<Attendance>(&appointment.id)?
            .map(|a| a.value)
            .unwrap_or_default();
        let requirement = match &appointment.value.requirement_id {
            Some(id) => records.get::<Requirement>(id)?,
            None => None,
        };
        out.push(Loaded {
            appointment,
            attendance,
            requirement,
        });
    }
    Ok(out)
}

fn summarise(
    session_id: &RecordId,
    session: &WorkSession,
    project: &Project,
    state: &SessionState,
    rows: &[Loaded],
    pending: &HashSet<u64>,
) -> SessionSummary {
    let mut s = SessionSummary {
        session_id: session_id.clone(),
        project_name: project.name.clone(),
        date: session.date,
        planned_start: session.planned_start,
        planned_end: session.planned_end,
        status: state.status,
        allocated: 0,
        arrived: 0,
        did_not_attend: 0,
        sent_home: 0,
        outcomes_missing: 0,
        sync: SyncState::NothingCaptured,
    };
    let mut seqs = state.event_seqs.clone();
    for row in rows {
        s.allocated += 1;
        seqs.extend(&row.attendance.event_seqs);
        match status_of(&row.appointment.value, &row.attendance) {
            AppointmentStatus::Expected => s.outcomes_missing += 1,
            AppointmentStatus::OnSite => {
                s.arrived += 1;
                s.outcomes_missing += 1;
            }
            AppointmentStatus::Attended => s.arrived += 1,
            AppointmentStatus::SentHome => {
                s.arrived += 1;
                s.sent_home += 1;
            }
            AppointmentStatus::Absent => s.did_not_attend += 1,
            AppointmentStatus::Rescheduled | AppointmentStatus::ClosedByOffice => {}
        }
    }
    s.sync = sync_state(&seqs, pending);
    s
}

impl UnpaidWork {
    /// "Today": the supervisor's sessions from today for `days_ahead` days,
    /// the next one first (closed sessions last).
    pub fn today(&self, supervisor_id: &str, days_ahead: u32) -> Result<Vec<SessionSummary>> {
        let today = now_stamp(self.clock().as_ref()).local().date();
        self.store.read(|r| {
            let records = r.records();
            let pending: HashSet<u64> = r.pending_seqs()?.into_iter().collect();
            let mut out = Vec::new();
            for offset in 0..=days_ahead {
                let date = today + Duration::days(i64::from(offset));
                for session in records.find::<WorkSession>("date", &date.to_string())? {
                    if session.value.supervisor_id != supervisor_id {
                        continue;
                    }
                    let project = records.require::<Project>(&session.value.project_id)?.value;
                    let state = records
                        .get::<SessionState>(&session.id)?
                        .map(|s| s.value)
                        .unwrap_or_default();
                    let rows = load_session_rows(&records, &session.id)?;
                    out.push(summarise(
                        &session.id,
                        &session.value,
                        &project,
                        &state,
                        &rows,
                        &pending,
                    ));
                }
            }
            out.sort_by_key(|s| {
                let closed = matches!(s.status, SessionStatus::Ended | SessionStatus::StoodDown);
                (closed, s.date, s.planned_start)
            });
            Ok(out)
        })
    }

    fn clock(&self) -> std::sync::Arc<dyn crate::clock::Clock> {
        self.store.clock()
    }

    /// The roll call for a session (records a consultation).
    pub fn roll_call(&self, session_id: &RecordId) -> Result<RollCall> {
        self.store.write(|w| {
            let view = self.roll_call_in(
                &w.records(),
                &w.pending_seqs()?,
                session_id,
                now_stamp(w.clock()),
            )?;
            w.record_consultation(format!("upw_session/{session_id}"), "roll call")?;
            Ok(view)
        })
    }

    /// The roll call computed without recording access (benchmarks and
    /// internal use).
    pub fn roll_call_unlogged(&self, session_id: &RecordId) -> Result<RollCall> {
        let now = now_stamp(self.clock().as_ref());
        self.store
            .read(|r| self.roll_call_in(&r.records(), &r.pending_seqs()?, session_id, now))
    }

    fn roll_call_in(
        &self,
        records: &Records<'_>,
        pending: &[u64],
        session_id: &RecordId,
        now: Stamp,
    ) -> Result<RollCall> {
        let pending: HashSet<u64> = pending.iter().copied().collect();
        let session = records.require::<WorkSession>(session_id)?;
        let project = records.require::<Project>(&session.value.project_id)?.value;
        let state = records
            .get::<SessionState>(session_id)?
            .map(|s| s.value)
            .unwrap_or_default();
        let loaded = load_session_rows(records, session_id)?;
        let summary = summarise(
            session_id,
            &session.value,
            &project,
            &state,
            &loaded,
            &pending,
        );
        let mut rows = Vec::with_capacity(loaded.len());
        for l in &loaded {
            rows.push(self.row(records, &session.value, &project, &state, l, now)?);
        }
        rows.sort_by(|a, b| a.label.cmp(&b.label).then(a.crn.cmp(&b.crn)));
        Ok(RollCall {
            summary,
            hi_vis_required: project.hi_vis_required,
            hazards: project.hazards.clone(),
            rows,
        })
    }

    fn row(
        &self,
        records: &Records<'_>,
        session: &WorkSession,
        project: &Project,
        state: &SessionState,
        l: &Loaded,
        now: Stamp,
    ) -> Result<RollCallRow> {
        let status = status_of(&l.appointment.value, &l.attendance);
        let att = &l.attendance;
        let outcome = att.outcome.as_ref();
        let minutes_on_site = match (
            outcome.and_then(|o| o.arrival),
            outcome.and_then(|o| o.departure),
        ) {
            (Some(a), Some(d)) => Some(policy::minutes_between(&a, &d)),
            _ => att
                .arrival
                .map(|a| policy::minutes_between(&a, &now).max(0)),
        };
        let mut warnings = Vec::new();
        let mut credited_to_date = None;
        let (label, restricted, photo_ref) = match &l.requirement {
            Some(req) => {
                let r = &req.value;
                if r.risk_level >= RiskLevel::Medium {
                    warnings.push(RollCallWarning::Risk {
                        level: r.risk_level,
                    });
                }
                if !r.registrations.is_empty() {
                    warnings.push(RollCallWarning::Registrations {
                        items: r.registrations.clone(),
                    });
                }
                let (device, ete) = device_credits(records, &req.id, None)?;
                let ledger = policy::ledger(&self.policy, r, device, ete, 0);
                credited_to_date = Some(ledger.credited_minutes);
                if ledger.outstanding_minutes <= self.policy.nearly_complete_minutes {
                    warnings.push(RollCallWarning::HoursNearlyComplete {
                        outstanding_minutes: ledger.outstanding_minutes,
                    });
                }
                let open = records
                    .find::<EnforcementItem>("requirement", req.id.as_str())?
                    .into_iter()
                    .filter(|e| {
                        e.value.status == EnforcementStatus::Open
                            && e.value.appointment_id != l.appointment.id
                    })
                    .count();
                let history = order_history(records, req, None)?;
                if open > 0 || history.last_warning.is_some() {
                    warnings.push(RollCallWarning::EnforcementHistory {
                        open_items: u32::try_from(open).unwrap_or(u32::MAX),
                        last_warning: history.last_warning,
                    });
                }
                if session.date > r.order_end {
                    warnings.push(RollCallWarning::AfterExpectedEnd {
                        expected_end: r.order_end,
                    });
                }
                if policy::aggregate_hours_unusual(history.aggregate_hours) {
                    warnings.push(RollCallWarning::AggregateHoursUnusual {
                        hours: history.aggregate_hours,
                    });
                }
                let photo = if r.restricted {
                    None
                } else {
                    r.photo_ref.clone()
                };
                (r.display_name(), r.restricted, photo)
            }
            None => (l.appointment.value.crn.clone(), false, None),
        };
        if project.hi_vis_required
            && att.arrival.is_some()
            && !(att.hi_vis_issued && att.hi_vis_worn)
        {
            warnings.push(RollCallWarning::HiVis);
        }
        if !l.appointment.value.allocated {
            warnings.push(RollCallWarning::Unallocated);
        }
        if let Some(arrival) = &att.arrival {
            if let Some(minutes) = policy::lateness(&self.policy, session, arrival) {
                warnings.push(RollCallWarning::Late { minutes });
            }
        }
        let open_session = matches!(
            state.status,
            SessionStatus::Planned | SessionStatus::Started
        );
        let started = now.local_minute() >= session.date.and_time(session.planned_start);
        // Stood down after the start: those not yet arrived stay open.
        let open_after_stand_down =
            state.status == SessionStatus::StoodDown && !state.stood_down_before_start;
        let from_office = l.appointment.value.office_outcome.is_some();
        let mut actions = Vec::new();
        match status {
            AppointmentStatus::Expected if open_session || open_after_stand_down => {
                if open_session {
                    actions.push(RollCallAction::CheckIn);
                }
                if started {
                    actions.push(RollCallAction::DidNotAttend);
                }
                if l.appointment.value.agreed_absence.is_some() {
                    actions.push(RollCallAction::RecordAgreedAbsence);
                }
            }
            AppointmentStatus::OnSite if open_session => {
                actions.push(RollCallAction::RecordOutcome)
            }
            AppointmentStatus::Attended
            | AppointmentStatus::SentHome
            | AppointmentStatus::Absent
                if !from_office =>
            {
                actions.push(RollCallAction::Correct);
                let enforceable =
                    effective_code(&l.appointment.value, att).is_some_and(|c| c.enforceable);
                if enforceable && att.warning_given.is_none() {
                    actions.push(RollCallAction::RecordWarningGiven);
                }
            }
            _ => {}
        }
        Ok(RollCallRow {
            appointment_id: l.appointment.id.clone(),
            label,
            crn: l.appointment.value.crn.clone(),
            restricted,
            photo_ref,
            status,
            outcome_code: effective_code(&l.appointment.value, att).map(|c| c.code.to_owned()),
            arrival: att.arrival,
            minutes_on_site,
            minutes_credited_to_date: credited_to_date,
            warnings,
            actions,
        })
    }

    /// The appointment form (records a consultation).
    pub fn appointment_form(&self, appointment_id: &RecordId) -> Result<AppointmentForm> {
        self.store.write(|w| {
            let now = now_stamp(w.clock());
            let records = w.records();
            let appointment = records.require::<Appointment>(appointment_id)?;
            let session = records.require::<WorkSession>(&appointment.value.session_id)?;
            let project = records.require::<Project>(&session.value.project_id)?.value;
            let state = records
                .get::<SessionState>(&session.id)?
                .map(|s| s.value)
                .unwrap_or_default();
            let loaded = load_session_rows(&records, &session.id)?
                .into_iter()
                .find(|l| l.appointment.id == *appointment_id)
                .ok_or_else(|| crate::Error::NotFound("appointment".into()))?;
            let row = self.row(&records, &session.value, &project, &state, &loaded, now)?;
            let mut outcomes: Vec<OutcomeOption> = codes::supervisor_outcomes()
                .filter(|c| {
                    // Only attended outcomes once they arrived; only the
                    // absence once they have not.
                    let arrived = loaded.attendance.arrival.is_some();
                    c.credits_time == arrived || loaded.attendance.outcome.is_some()
                })
                .map(option)
                .collect();
            if let Some(code) = loaded
                .appointment
                .value
                .agreed_absence
                .as_deref()
                .and_then(codes::outcome)
            {
                outcomes.push(option(code));
            }
            let default_arrival = loaded.attendance.arrival.unwrap_or(now);
            let form = AppointmentForm {
                row,
                outcomes,
                default_arrival,
                default_departure: now,
                travel_time_eligible: project.travel_time_eligible,
                current: loaded.attendance.outcome.clone(),
                history: loaded.attendance.history.clone(),
                notes_max_chars: self.policy.notes_max_chars,
            };
            w.record_consultation(
                format!("upw_appointment/{appointment_id}"),
                "appointment form",
            )?;
            Ok(form)
        })
    }

    /// The person's ledger (records a consultation).
    pub fn person_ledger(&self, requirement_id: &RecordId) -> Result<PersonLedger> {
        self.store.write(|w| {
            let today = now_stamp(w.clock()).local().date();
            let records = w.records();
            let req = records.require::<Requirement>(requirement_id)?;
            let (device, ete) = device_credits(&records, requirement_id, None)?;
            let scheduled = scheduled_minutes(&self.policy, &records, &req, today)?;
            let ledger = policy::ledger(&self.policy, &req.value, device, ete, scheduled);
            let history = order_history(&records, &req, None)?;
            let mut recent = Vec::new();
            for appt in records.find::<Appointment>("requirement", requirement_id.as_str())? {
                let session = records.require::<WorkSession>(&appt.value.session_id)?;
                let project = records.require::<Project>(&session.value.project_id)?.value;
                let outcome = records
                    .get::<Attendance>(&appt.id)?
                    .and_then(|a| a.value.outcome);
                let code = outcome
                    .as_ref()
                    .map(|o| o.code.clone())
                    .or(appt.value.office_outcome.clone());
                recent.push(AttendanceLine {
                    date: session.value.date,
                    project_name: project.name,
                    code,
                    minutes_credited: outcome.map(|o| o.minutes_credited).unwrap_or(0),
                });
            }
            recent.sort_by_key(|line| std::cmp::Reverse(line.date));
            recent.truncate(20);
            let mut open_enforcement: Vec<EnforcementItem> = records
                .find::<EnforcementItem>("requirement", requirement_id.as_str())?
                .into_iter()
                .map(|e| e.value)
                .filter(|e| e.status == EnforcementStatus::Open)
                .collect();
            open_enforcement.sort_by_key(|e| e.date);
            let view = PersonLedger {
                label: req.value.display_name(),
                crn: req.value.crn.clone(),
                ledger,
                order_end: req.value.order_end,
                warnings_given: history.warnings,
                aggregate_hours: history.aggregate_hours,
                recent,
                open_enforcement,
            };
            w.record_consultation(format!("upw_requirement/{requirement_id}"), "ledger")?;
            Ok(view)
        })
    }

    /// Enforcement items for the office, open and withdrawn.
    pub fn enforcement_items(&self) -> Result<Vec<EnforcementItem>> {
        self.store.read(|r| {
            Ok(r.records()
                .all::<EnforcementItem>()?
                .into_iter()
                .map(|e| e.value)
                .collect())
        })
    }

    /// Travel-time tasks for the office.
    pub fn travel_tasks(&self) -> Result<Vec<super::model::TravelTimeTask>> {
        self.store.read(|r| {
            Ok(r.records()
                .all::<super::model::TravelTimeTask>()?
                .into_iter()
                .map(|e| e.value)
                .collect())
        })
    }

    /// The ledger alone, without recording access (internal, tests).
    pub fn ledger(&self, requirement_id: &RecordId) -> Result<Ledger> {
        // The clock is read before the store is locked for the read.
        let today = now_stamp(self.clock().as_ref()).local().date();
        self.store.read(|r| {
            let records = r.records();
            let req = records.require::<Requirement>(requirement_id)?;
            let (device, ete) = device_credits(&records, requirement_id, None)?;
            let scheduled = scheduled_minutes(&self.policy, &records, &req, today)?;
            Ok(policy::ledger(
                &self.policy,
                &req.value,
                device,
                ete,
                scheduled,
            ))
        })
    }
}

fn option(c: &codes::OutcomeCode) -> OutcomeOption {
    OutcomeOption {
        code: c.code.to_owned(),
        description: c.description.to_owned(),
        hint: c.hint.to_owned(),
        enforceable: c.enforceable,
        asks_compliance: c.attended(),
    }
}

/// The words a supervisor reads for a field that the unpaid-work rules
/// name in their messages (`None`: not one of them). Shells show these
/// beside the core's message, never the field's name.
pub fn field_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "code" => "What happened",
        "arrival" => "Arrival time",
        "departure" => "Departure time",
        "penalty_minutes" => "Penalty minutes",
        "travel_minutes" => "Travel time",
        "notes" => "Notes",
        "sensitive" => "Sensitive record",
        "compliance" => "Compliance on the day",
        "compliance.unable_to_work_reason" => "Why they cannot work today",
        "compliance.left_early_reason" => "Why they left early",
        "session" => "Session",
        "reason" => "Reason",
        "crn" => "Case reference number (CRN)",
        "count" => "Number on site",
        "description" => "What happened (incident)",
        "appointment" => "Appointment",
        // Reference data from the office, checked at import.
        "agreed_absence" => "Agreed absence (office)",
        "office_outcome" => "Outcome recorded by the office",
        "available_days" => "Project days (office)",
        "available_from" => "Project hours (office)",
        "planned_end" => "Session end time (office)",
        "hours_required" => "Hours ordered (office)",
        "minutes_credited_office" => "Minutes credited by the office",
        "ete_minutes_credited_office" => "ETE minutes credited by the office",
        "order_end" => "Order end date (office)",
        "project_id" => "Project (office)",
        "requirement_id" => "Requirement (office)",
        "session_id" => "Session (office)",
        "supervisor_id" => "Supervisor (office)",
        _ => return None,
    })
}
