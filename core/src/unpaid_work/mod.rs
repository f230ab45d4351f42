//! Unpaid work (Community Payback) on site: sessions, roll call, outcomes,
//! minutes credited, enforcement flags, all offline.
//!
//! [`UnpaidWork`] is the supervisor's service over the store. Every capture
//! is an event in the signed log, written in the same transaction as the
//! derived state it changes (attendance, ledger inputs, enforcement items,
//! travel tasks). Rules live in [`policy`]; the code list in [`codes`];
//! what the shells render in [`views`].

pub mod codes;
pub mod model;
pub mod policy;
pub mod validate;
pub mod views;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::events::payload as ev;
use crate::events::{EventDraft, Payload};
use crate::ids::RecordId;
use crate::store::{Records, Store, Stored, Writer};
pub use crate::vocab::{now_stamp, Recorded};

use model::{
    normalise_crn, Appointment, Attendance, EnforcementItem, EnforcementStatus, EnforcementStep,
    OutcomeRecord, Project, Requirement, SessionState, SessionStatus, Stamp, TravelTimeTask,
    WorkSession,
};
use policy::{first_error, judge, Judged, OutcomeContext, OutcomeInput, Policy};

/// Event kinds written by this module (named once, in [`crate::events::kinds`]).
pub mod kinds {
    pub use crate::events::kinds::{
        UPW_ARRIVED as ARRIVED, UPW_HEADCOUNT as HEADCOUNT, UPW_INCIDENT as INCIDENT,
        UPW_OUTCOME as OUTCOME, UPW_SESSION_ENDED as SESSION_ENDED,
        UPW_SESSION_STARTED as SESSION_STARTED, UPW_SESSION_STOOD_DOWN as SESSION_STOOD_DOWN,
        UPW_UNALLOCATED_ARRIVAL as UNALLOCATED_ARRIVAL, UPW_WARNING_GIVEN as WARNING_GIVEN,
    };
}

/// Reference data from the office (or created locally through this API).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReferenceBatch {
    /// Projects.
    pub projects: Vec<(RecordId, Project)>,
    /// Sessions.
    pub sessions: Vec<(RecordId, WorkSession)>,
    /// Requirements with the people.
    pub requirements: Vec<(RecordId, Requirement)>,
    /// Appointments.
    pub appointments: Vec<(RecordId, Appointment)>,
}

/// What the supervisor enters at check-in.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckIn {
    /// Arrival; `None` means now.
    pub arrival: Option<Stamp>,
    /// Identity checked against the photo.
    pub identity_checked: bool,
    /// Hi-vis issued.
    pub hi_vis_issued: bool,
    /// Hi-vis worn.
    pub hi_vis_worn: bool,
}

/// The result of recording an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeResult {
    /// The event.
    pub recorded: Recorded,
    /// Minutes credited.
    pub minutes_credited: i64,
    /// The enforcement step flagged, for enforceable outcomes.
    pub enforcement: Option<EnforcementStep>,
    /// The rules' version.
    pub policy_version: String,
}

/// The result of a stand-down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoodDown {
    /// The stand-down event.
    pub recorded: Recorded,
    /// Outcomes recorded with it (ATSS for those on site, AASD before the start).
    pub outcomes_recorded: u32,
}

/// The result of a headcount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadcountRecorded {
    /// The headcount event.
    pub recorded: Recorded,
    /// The number counted.
    pub count: u32,
    /// The number on site by the roll call, so a mismatch shows.
    pub on_site: u32,
}

/// The supervisor's service.
#[derive(Debug, Clone)]
pub struct UnpaidWork {
    store: Arc<Store>,
    policy: Policy,
}

/// Everything about one appointment, loaded in a transaction.
struct Ctx {
    appointment: Stored<Appointment>,
    session: Stored<WorkSession>,
    project: Project,
    requirement: Option<Stored<Requirement>>,
    attendance: Attendance,
    session_state: SessionState,
}

impl Ctx {
    /// What the rules need to judge an outcome for this appointment: the
    /// minutes outstanding and ETE minutes credited without it, and whether
    /// the outcome it would replace is sensitive.
    fn context(
        &self,
        policy: &Policy,
        records: &Records<'_>,
        appointment_id: &RecordId,
    ) -> Result<OutcomeContext<'_>> {
        let (outstanding_minutes, ete_credited_minutes) = match &self.requirement {
            Some(r) => (
                Some(outstanding(policy, records, r, Some(appointment_id))?),
                ete_credited(records, r, Some(appointment_id))?,
            ),
            None => (None, 0),
        };
        let previous_sensitive = self
            .attendance
            .outcome
            .as_ref()
            .is_some_and(|p| p.sensitive);
        Ok(OutcomeContext {
            session: &self.session.value,
            project: &self.project,
            requirement: self.requirement.as_ref().map(|r| &r.value),
            outstanding_minutes,
            ete_credited_minutes,
            agreed_absence: self.appointment.value.agreed_absence.as_deref(),
            office_outcome: self.appointment.value.office_outcome.as_deref(),
            previous_sensitive,
            stood_down_before_start: self.session_state.status == SessionStatus::StoodDown
                && self.session_state.stood_down_before_start,
        })
    }
}

fn load(records: &Records<'_>, appointment_id: &RecordId) -> Result<Ctx> {
    let appointment = records.require::<Appointment>(appointment_id)?;
    let session = records.require::<WorkSession>(&appointment.value.session_id)?;
    let project = records.require::<Project>(&session.value.project_id)?.value;
    let requirement = match &appointment.value.requirement_id {
        Some(id) => Some(records.require::<Requirement>(id)?),
        None => None,
    };
    let attendance = records
        .get::<Attendance>(appointment_id)?
        .map(|a| a.value)
        .unwrap_or_default();
    let session_state = records
        .get::<SessionState>(&session.id)?
        .map(|s| s.value)
        .unwrap_or_default();
    Ok(Ctx {
        appointment,
        session,
        project,
        requirement,
        attendance,
        session_state,
    })
}

/// Minutes credited on this device to a requirement, except `exclude`:
/// (all minutes, of which education, training and employment).
pub(crate) fn device_credits(
    records: &Records<'_>,
    requirement_id: &RecordId,
    exclude: Option<&RecordId>,
) -> Result<(i64, i64)> {
    let (mut total, mut ete) = (0, 0);
    // Ids from the index alone: the appointments themselves are not needed.
    for appt_id in records.find_ids::<Appointment>("requirement", requirement_id.as_str())? {
        if Some(&appt_id) == exclude {
            continue;
        }
        if let Some(o) = records
            .get::<Attendance>(&appt_id)?
            .and_then(|a| a.value.outcome)
        {
            total += o.minutes_credited;
            if o.ete {
                ete += o.minutes_credited;
            }
        }
    }
    Ok((total, ete))
}

/// Planned minutes of a requirement's sessions from `from` to the at-risk
/// rule's date that have no outcome yet (none when the rule is off).
pub(crate) fn scheduled_minutes(
    policy: &Policy,
    records: &Records<'_>,
    requirement: &Stored<Requirement>,
    from: NaiveDate,
) -> Result<i64> {
    let Some(order_end) = policy::at_risk_date(policy, &requirement.value) else {
        return Ok(0);
    };
    let requirement_id = &requirement.id;
    let mut total = 0;
    for appt in records.find::<Appointment>("requirement", requirement_id.as_str())? {
        let session = records.require::<WorkSession>(&appt.value.session_id)?;
        if session.value.date < from || session.value.date > order_end {
            continue;
        }
        let done = appt.value.office_outcome.is_some()
            || records
                .get::<Attendance>(&appt.id)?
                .is_some_and(|a| a.value.outcome.is_some());
        if !done {
            total += session.value.planned_minutes();
        }
    }
    Ok(total)
}

fn outstanding(
    policy: &Policy,
    records: &Records<'_>,
    requirement: &Stored<Requirement>,
    exclude: Option<&RecordId>,
) -> Result<i64> {
    let (credited, ete) = device_credits(records, &requirement.id, exclude)?;
    Ok(policy::ledger(policy, &requirement.value, credited, ete, 0).outstanding_minutes)
}

/// ETE minutes credited to a requirement (office plus device), except
/// `exclude`.
fn ete_credited(
    records: &Records<'_>,
    requirement: &Stored<Requirement>,
    exclude: Option<&RecordId>,
) -> Result<i64> {
    let (_, ete) = device_credits(records, &requirement.id, exclude)?;
    Ok(requirement.value.ete_minutes_credited_office + ete)
}

fn local_now(clock: &dyn Clock) -> chrono::NaiveDateTime {
    now_stamp(clock).local()
}

fn require_text(field: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "required"));
    }
    if value.chars().count() >= max {
        return Err(Error::invalid(
            field,
            format!("must be under {max} characters"),
        ));
    }
    Ok(())
}

impl UnpaidWork {
    /// The service with the default rules.
    pub fn new(store: Arc<Store>) -> Self {
        Self::with_policy(store, Policy::default())
    }

    /// The service with other rules.
    pub fn with_policy(store: Arc<Store>, policy: Policy) -> Self {
        Self { store, policy }
    }

    /// The rules in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Validates and writes reference data in one transaction; a bad item
    /// rejects the whole batch with the item's position.
    pub fn import(&self, batch: ReferenceBatch) -> Result<()> {
        self.store.write(|w| import_in(w, &batch))
    }

    /// Marks a session started (check-in also does this). `None`: it had
    /// started already, and nothing new was recorded.
    pub fn start_session(&self, session_id: &RecordId) -> Result<Option<Recorded>> {
        self.store.write(|w| {
            let mut state = session_state(w, session_id)?;
            match state.status {
                SessionStatus::Planned => {}
                SessionStatus::Started => return Ok(None),
                _ => return Err(Error::Conflict("the session is closed".into())),
            }
            let recorded = start(w, session_id, &mut state)?;
            w.put(session_id, &state)?;
            Ok(Some(recorded))
        })
    }

    /// Records an arrival. A second tap for someone already checked in
    /// records nothing and says so (`None`).
    pub fn check_in(&self, appointment_id: &RecordId, input: CheckIn) -> Result<Option<Recorded>> {
        self.store.write(|w| {
            let mut c = load(&w.records(), appointment_id)?;
            if c.attendance.arrival.is_some() {
                return Ok(None);
            }
            if c.attendance.outcome.is_some() {
                return Err(Error::Conflict(
                    "an outcome is already recorded; correct it instead".into(),
                ));
            }
            office_outcome_free(&c.appointment.value)?;
            open_session(&c.session_state)?;
            let now = now_stamp(w.clock());
            let arrival = input.arrival.unwrap_or(now);
            check_arrival_time(&c.session.value, &arrival, &now)?;
            let errs = policy::check_session_date(
                &c.session.value,
                &c.project,
                c.requirement.as_ref().map(|r| &r.value),
            );
            if !errs.is_empty() {
                return Err(first_error(errs));
            }
            if let Some(req) = &c.requirement {
                ensure_not_on_site_elsewhere(
                    &w.records(),
                    &req.id,
                    Some(&c.appointment.id),
                    c.session.value.date,
                )?;
            }
            if c.session_state.status == SessionStatus::Planned {
                start(w, &c.session.id, &mut c.session_state)?;
                w.put(&c.session.id, &c.session_state)?;
            }
            let ev = w.append(EventDraft::typed(&Payload::Arrived(ev::Arrived {
                appointment_id: appointment_id.clone(),
                session_id: c.session.id.clone(),
                requirement_id: c.appointment.value.requirement_id.clone(),
                crn: c.appointment.value.crn.clone(),
                arrival,
                identity_checked: input.identity_checked,
                hi_vis_issued: input.hi_vis_issued,
                hi_vis_worn: input.hi_vis_worn,
            }))?)?;
            let recorded = Recorded::event(ev.id.clone(), ev.seq);
            c.attendance.arrival = Some(arrival);
            c.attendance.arrival_event = Some(ev.id);
            c.attendance.identity_checked = input.identity_checked;
            c.attendance.hi_vis_issued = input.hi_vis_issued;
            c.attendance.hi_vis_worn = input.hi_vis_worn;
            c.attendance.event_seqs.push(ev.seq);
            w.put(appointment_id, &c.attendance)?;
            Ok(Some(recorded))
        })
    }

    /// "Did not attend": UACP, once the start time has passed.
    pub fn did_not_attend(
        &self,
        appointment_id: &RecordId,
        raise_alert: bool,
    ) -> Result<OutcomeResult> {
        let mut input = OutcomeInput::absence("UACP");
        input.raise_alert = raise_alert;
        self.record_outcome(appointment_id, input)
    }

    /// Records an outcome. Missing arrival defaults to the check-in time,
    /// missing departure to now.
    pub fn record_outcome(
        &self,
        appointment_id: &RecordId,
        input: OutcomeInput,
    ) -> Result<OutcomeResult> {
        self.store
            .write(|w| self.write_outcome(w, appointment_id, input, None))
    }

    /// Corrects a recorded outcome: a new event that supersedes the old
    /// one, with a reason; the history keeps both.
    pub fn correct_outcome(
        &self,
        appointment_id: &RecordId,
        input: OutcomeInput,
        reason: &str,
    ) -> Result<OutcomeResult> {
        require_text("reason", reason, crate::events::MAX_REASON_CHARS)?;
        self.store
            .write(|w| self.write_outcome(w, appointment_id, input, Some(reason)))
    }

    fn write_outcome(
        &self,
        w: &mut Writer<'_>,
        appointment_id: &RecordId,
        mut input: OutcomeInput,
        correction: Option<&str>,
    ) -> Result<OutcomeResult> {
        let policy = &self.policy;
        let mut c = load(&w.records(), appointment_id)?;
        let previous = c.attendance.outcome.clone();
        match (&previous, correction) {
            (Some(_), None) => {
                return Err(Error::Conflict(
                    "an outcome is already recorded; correct it instead".into(),
                ))
            }
            (None, Some(_)) => return Err(Error::invalid("appointment", "no outcome to correct")),
            _ => {}
        }
        if correction.is_none() {
            office_outcome_free(&c.appointment.value)?;
            // After a stand-down past the start time, those not yet arrived
            // stay open for an outcome.
            if c.session_state.status != SessionStatus::StoodDown {
                open_session(&c.session_state)?;
            }
        }
        let code = codes::outcome(&input.code)
            .ok_or_else(|| Error::invalid("code", "unknown outcome code"))?;
        let now = now_stamp(w.clock());
        if code.credits_time {
            if input.arrival.is_none() {
                input.arrival = c.attendance.arrival;
            }
            if input.departure.is_none() {
                input.departure = Some(now);
            }
        } else if correction.is_none() && c.attendance.arrival.is_some() {
            return Err(Error::invalid(
                "code",
                "they were checked in: choose an attended outcome",
            ));
        }
        if code.code == "UACP" && correction.is_none() {
            let start = c.session.value.date.and_time(c.session.value.planned_start);
            if local_now(w.clock()) < start {
                return Err(Error::invalid(
                    "code",
                    "did not attend can be recorded once the start time has passed",
                ));
            }
        }
        let records = w.records();
        let ctx = c.context(policy, &records, appointment_id)?;
        let judged = judge(policy, &input, &ctx).map_err(first_error)?;
        let step = if judged.code.enforceable {
            Some(self.enforcement_step(&w.records(), &c, appointment_id)?)
        } else {
            None
        };
        let result = self.append_outcome(
            w,
            &mut c,
            appointment_id,
            &input,
            &judged,
            step,
            previous,
            correction,
        )?;
        Ok(result)
    }

    fn enforcement_step(
        &self,
        records: &Records<'_>,
        c: &Ctx,
        appointment_id: &RecordId,
    ) -> Result<EnforcementStep> {
        let warnings = match &c.requirement {
            Some(req) => order_history(records, req, Some(appointment_id))?.warnings,
            None => Vec::new(),
        };
        Ok(policy::statutory_step(
            &self.policy,
            &warnings,
            c.session.value.date,
        ))
    }

    /// Records that the supervisor gave the person an enforcement warning
    /// on site for this appointment's (enforceable) outcome. It then counts
    /// for the statutory step from today.
    pub fn record_warning_given(&self, appointment_id: &RecordId) -> Result<Recorded> {
        self.store.write(|w| {
            let mut c = load(&w.records(), appointment_id)?;
            let enforceable = c
                .attendance
                .outcome
                .as_ref()
                .and_then(|o| codes::outcome(&o.code))
                .is_some_and(|code| code.enforceable);
            if !enforceable {
                return Err(Error::invalid(
                    "appointment",
                    "a warning is given for an enforceable outcome: record that first",
                ));
            }
            if c.attendance.warning_given.is_some() {
                return Err(Error::Conflict("a warning is already recorded".into()));
            }
            let now = now_stamp(w.clock());
            let ev = w.append(EventDraft::typed(&Payload::WarningGiven(
                ev::WarningGiven {
                    appointment_id: appointment_id.clone(),
                    session_id: c.session.id.clone(),
                    requirement_id: c.appointment.value.requirement_id.clone(),
                    crn: c.appointment.value.crn.clone(),
                    date: now.local().date(),
                    at: now,
                },
            ))?)?;
            c.attendance.warning_given = Some(now);
            c.attendance.event_seqs.push(ev.seq);
            w.put(appointment_id, &c.attendance)?;
            Ok(Recorded::event(ev.id, ev.seq))
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn append_outcome(
        &self,
        w: &mut Writer<'_>,
        c: &mut Ctx,
        appointment_id: &RecordId,
        input: &OutcomeInput,
        judged: &Judged,
        step: Option<EnforcementStep>,
        previous: Option<OutcomeRecord>,
        correction: Option<&str>,
    ) -> Result<OutcomeResult> {
        let payload = Payload::Outcome(Box::new(ev::OutcomeRecorded {
            appointment_id: appointment_id.clone(),
            session_id: c.session.id.clone(),
            requirement_id: c.appointment.value.requirement_id.clone(),
            crn: c.appointment.value.crn.clone(),
            session_date: c.session.value.date,
            code: judged.code.code.to_owned(),
            arrival: input.arrival,
            departure: input.departure,
            penalty_minutes: input.penalty_minutes,
            work_quality: input.work_quality,
            behaviour: input.behaviour,
            notes: input.notes.clone(),
            sensitive: input.sensitive,
            raise_alert: input.raise_alert,
            travel_minutes: input.travel_minutes,
            compliance: input.compliance.clone(),
            ete: judged.ete,
            after_expected_end: judged.after_expected_end,
            minutes_credited: judged.minutes_credited,
            late_by_minutes: judged.late_by_minutes,
            enforcement_step: step,
            policy_version: self.policy.version.clone(),
        }));
        let draft = match (correction, &previous) {
            (Some(reason), Some(prev)) => {
                EventDraft::typed_correction(&payload, prev.event_id.clone(), reason)?
            }
            _ => EventDraft::typed(&payload)?,
        };
        let ev = w.append(draft)?;
        let record = OutcomeRecord {
            event_id: ev.id.clone(),
            code: judged.code.code.to_owned(),
            arrival: input.arrival,
            departure: input.departure,
            penalty_minutes: input.penalty_minutes,
            minutes_credited: judged.minutes_credited,
            work_quality: input.work_quality,
            behaviour: input.behaviour,
            notes: input.notes.clone(),
            sensitive: input.sensitive,
            raise_alert: input.raise_alert,
            travel_minutes: input.travel_minutes,
            compliance: input.compliance.clone(),
            ete: judged.ete,
            after_expected_end: judged.after_expected_end,
            policy_version: self.policy.version.clone(),
            correction_reason: correction.map(str::to_owned),
        };
        if let Some(prev) = previous {
            c.attendance.history.push(prev);
        }
        c.attendance.outcome = Some(record);
        c.attendance.event_seqs.push(ev.seq);
        w.put(appointment_id, &c.attendance)?;

        // Enforcement: one item per appointment, kept in step with the
        // current outcome.
        let existing = w
            .records()
            .find::<EnforcementItem>("appointment", appointment_id.as_str())?
            .into_iter()
            .next();
        match (step, existing) {
            (Some(step), existing) => {
                let id = match &existing {
                    Some(e) => e.id.clone(),
                    None => RecordId::random()?,
                };
                w.put(
                    &id,
                    &EnforcementItem {
                        requirement_id: c.appointment.value.requirement_id.clone(),
                        appointment_id: appointment_id.clone(),
                        date: c.session.value.date,
                        code: judged.code.code.to_owned(),
                        step,
                        raise_alert: input.raise_alert,
                        status: EnforcementStatus::Open,
                        event_id: ev.id.clone(),
                        policy_version: self.policy.version.clone(),
                    },
                )?;
            }
            (None, Some(mut e)) => {
                e.value.status = EnforcementStatus::Withdrawn;
                e.value.event_id = ev.id.clone();
                w.put(&e.id, &e.value)?;
            }
            (None, None) => {}
        }

        // Travel time: a task for the office on eligible projects.
        let existing = w
            .records()
            .find::<TravelTimeTask>("appointment", appointment_id.as_str())?
            .into_iter()
            .next();
        let wants_task = c.project.travel_time_eligible && judged.code.credits_time;
        match (wants_task, existing) {
            (true, existing) => {
                let id = match &existing {
                    Some(e) => e.id.clone(),
                    None => RecordId::random()?,
                };
                w.put(
                    &id,
                    &TravelTimeTask {
                        requirement_id: c.appointment.value.requirement_id.clone(),
                        appointment_id: appointment_id.clone(),
                        minutes: input.travel_minutes.unwrap_or(0),
                        event_id: ev.id.clone(),
                        withdrawn: false,
                    },
                )?;
            }
            (false, Some(mut t)) => {
                t.value.withdrawn = true;
                w.put(&t.id, &t.value)?;
            }
            (false, None) => {}
        }
        Ok(OutcomeResult {
            recorded: Recorded::event(ev.id, ev.seq),
            minutes_credited: judged.minutes_credited,
            enforcement: step,
            policy_version: self.policy.version.clone(),
        })
    }

    /// Stands a session down (or cancels it). In the same transaction,
    /// everyone on site without an outcome gets ATSS with their time on
    /// site; those not yet arrived get AASD only when the stand-down is
    /// before the session's start time, and otherwise stay open for an
    /// outcome. Returns the stand-down event and how many outcomes were
    /// recorded with it.
    pub fn stand_down(&self, session_id: &RecordId, reason: &str) -> Result<StoodDown> {
        require_text("reason", reason, crate::events::MAX_REASON_CHARS)?;
        self.store.write(|w| {
            let mut state = session_state(w, session_id)?;
            open_session(&state)?;
            let session = w.records().require::<WorkSession>(session_id)?;
            let now = now_stamp(w.clock());
            let before_start =
                now.local_minute() < session.value.date.and_time(session.value.planned_start);
            let ev = w.append(EventDraft::typed(&Payload::SessionStoodDown(
                ev::SessionStoodDown {
                    session_id: session_id.clone(),
                    reason: reason.to_owned(),
                    at: now,
                    before_start,
                },
            ))?)?;
            let recorded = Recorded::event(ev.id.clone(), ev.seq);
            state.status = SessionStatus::StoodDown;
            state.stood_down_reason = Some(reason.to_owned());
            state.stood_down_before_start = before_start;
            state.event_seqs.push(ev.seq);
            w.put(session_id, &state)?;
            let mut count = 0;
            for appt in w
                .records()
                .find::<Appointment>("session", session_id.as_str())?
            {
                let mut c = load(&w.records(), &appt.id)?;
                if c.attendance.outcome.is_some() || appt.value.office_outcome.is_some() {
                    continue;
                }
                let (input, minutes) = match c.attendance.arrival {
                    Some(arrival) => {
                        let departure = if now.utc_ms > arrival.utc_ms {
                            now
                        } else {
                            arrival
                        };
                        let on_site = policy::minutes_between(&arrival, &departure).max(0);
                        let cap = match &c.requirement {
                            Some(r) => outstanding(&self.policy, &w.records(), r, Some(&appt.id))?,
                            None => on_site,
                        };
                        let mut input = OutcomeInput::attended("ATSS", arrival, departure);
                        input.notes = format!("Session stood down: {reason}");
                        (input, on_site.min(cap).max(0))
                    }
                    None if before_start => (OutcomeInput::absence("AASD"), 0),
                    None => continue,
                };
                let code = codes::outcome(&input.code)
                    .ok_or_else(|| Error::invalid("code", "unknown outcome code"))?;
                let judged = Judged {
                    code,
                    minutes_credited: minutes,
                    late_by_minutes: None,
                    ete: c.project.project_type == model::ProjectType::EducationTrainingEmployment
                        && code.credits_time,
                    after_expected_end: c
                        .requirement
                        .as_ref()
                        .is_some_and(|r| session.value.date > r.value.order_end),
                };
                self.append_outcome(w, &mut c, &appt.id, &input, &judged, None, None, None)?;
                count += 1;
            }
            Ok(StoodDown {
                recorded,
                outcomes_recorded: count,
            })
        })
    }

    /// Ends and closes a session. Every appointment needs an outcome first.
    pub fn end_session(&self, session_id: &RecordId) -> Result<Recorded> {
        self.store.write(|w| {
            let mut state = session_state(w, session_id)?;
            open_session(&state)?;
            let mut missing = 0;
            let mut attended = 0;
            for appt in w
                .records()
                .find::<Appointment>("session", session_id.as_str())?
            {
                if let Some(code) = appt
                    .value
                    .office_outcome
                    .as_deref()
                    .and_then(codes::outcome)
                {
                    attended += u32::from(code.attended());
                    continue;
                }
                match w
                    .records()
                    .get::<Attendance>(&appt.id)?
                    .and_then(|a| a.value.outcome)
                {
                    None => missing += 1,
                    Some(o) if codes::outcome(&o.code).is_some_and(|c| c.attended()) => {
                        attended += 1
                    }
                    Some(_) => {}
                }
            }
            if missing > 0 {
                return Err(Error::invalid(
                    "session",
                    format!("{missing} appointments still need an outcome"),
                ));
            }
            let ev = w.append(EventDraft::typed(&Payload::SessionEnded(
                ev::SessionEnded {
                    session_id: session_id.clone(),
                    at: now_stamp(w.clock()),
                    attended,
                },
            ))?)?;
            state.status = SessionStatus::Ended;
            state.event_seqs.push(ev.seq);
            w.put(session_id, &state)?;
            Ok(Recorded::event(ev.id, ev.seq))
        })
    }

    /// Records an incident on site.
    pub fn record_incident(&self, session_id: &RecordId, description: &str) -> Result<Recorded> {
        require_text("description", description, self.policy.notes_max_chars)?;
        self.store.write(|w| {
            let mut state = session_state(w, session_id)?;
            let ev = w.append(EventDraft::typed(&Payload::Incident(ev::Incident {
                session_id: session_id.clone(),
                description: description.to_owned(),
                at: now_stamp(w.clock()),
            }))?)?;
            state.incidents.push(ev.id.clone());
            state.event_seqs.push(ev.seq);
            w.put(session_id, &state)?;
            Ok(Recorded::event(ev.id, ev.seq))
        })
    }

    /// Records a headcount; returns it beside the number checked in and
    /// still on site, so a mismatch shows.
    pub fn record_headcount(&self, session_id: &RecordId, count: u32) -> Result<HeadcountRecorded> {
        if count > 500 {
            return Err(Error::invalid("count", "at most 500"));
        }
        self.store.write(|w| {
            let mut state = session_state(w, session_id)?;
            let on_site = views::on_site_count(&w.records(), session_id)?;
            let now = now_stamp(w.clock());
            let ev = w.append(EventDraft::typed(&Payload::Headcount(ev::Headcount {
                session_id: session_id.clone(),
                count,
                on_site,
                at: now,
            }))?)?;
            state.headcounts.push((now, count));
            state.event_seqs.push(ev.seq);
            w.put(session_id, &state)?;
            Ok(HeadcountRecorded {
                recorded: Recorded::event(ev.id, ev.seq),
                count,
                on_site,
            })
        })
    }

    /// Someone turned up without an allocation: recorded, not refused.
    /// Returns the event, naming the new appointment.
    pub fn record_unallocated_arrival(
        &self,
        session_id: &RecordId,
        crn: &str,
        name: Option<String>,
        arrival: Option<Stamp>,
    ) -> Result<Recorded> {
        let crn = normalise_crn(crn);
        if crn.is_empty() || crn.len() > 16 || !crn.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::invalid("crn", "1 to 16 letters and digits"));
        }
        self.store.write(|w| {
            let session = w.records().require::<WorkSession>(session_id)?;
            let mut state = session_state(w, session_id)?;
            open_session(&state)?;
            let requirement = w
                .records()
                .find::<Requirement>("crn", &crn)?
                .into_iter()
                .next();
            for appt in w
                .records()
                .find::<Appointment>("session", session_id.as_str())?
            {
                if appt.value.crn == crn {
                    return Err(Error::Conflict(
                        "they are already in this session: check them in".into(),
                    ));
                }
            }
            let now = now_stamp(w.clock());
            let arrival = arrival.unwrap_or(now);
            check_arrival_time(&session.value, &arrival, &now)?;
            if let Some(req) = &requirement {
                ensure_not_on_site_elsewhere(&w.records(), &req.id, None, session.value.date)?;
            }
            if state.status == SessionStatus::Planned {
                start(w, session_id, &mut state)?;
                w.put(session_id, &state)?;
            }
            let id = RecordId::random()?;
            let appointment = Appointment {
                session_id: session_id.clone(),
                requirement_id: requirement.as_ref().map(|r| r.id.clone()),
                crn: crn.clone(),
                allocated: false,
                agreed_absence: None,
                office_outcome: None,
            };
            w.put(&id, &appointment)?;
            let restricted = requirement.as_ref().is_some_and(|r| r.value.restricted);
            let ev = w.append(EventDraft::typed(&Payload::UnallocatedArrival(
                ev::UnallocatedArrival {
                    appointment_id: id.clone(),
                    session_id: session_id.clone(),
                    requirement_id: appointment.requirement_id.clone(),
                    crn: crn.clone(),
                    name: if restricted { None } else { name },
                    arrival,
                },
            ))?)?;
            let recorded = Recorded::event(ev.id.clone(), ev.seq).creating(id.clone());
            let attendance = Attendance {
                arrival: Some(arrival),
                arrival_event: Some(ev.id),
                event_seqs: vec![ev.seq],
                ..Attendance::default()
            };
            w.put(&id, &attendance)?;
            Ok(recorded)
        })
    }

    /// Validates a proposed outcome without recording it: every field's
    /// messages, the credit and the enforcement step it would give.
    pub fn check_outcome(
        &self,
        appointment_id: &RecordId,
        input: &OutcomeInput,
    ) -> Result<views::OutcomeCheck> {
        self.store.read(|r| {
            let records = r.records();
            let c = load(&records, appointment_id)?;
            let mut input = input.clone();
            let credits = codes::outcome(&input.code).is_some_and(|c| c.credits_time);
            if credits && input.arrival.is_none() {
                input.arrival = c.attendance.arrival;
            }
            let ctx = c.context(&self.policy, &records, appointment_id)?;
            Ok(match judge(&self.policy, &input, &ctx) {
                Ok(j) => views::OutcomeCheck {
                    errors: Vec::new(),
                    minutes_credited: Some(j.minutes_credited),
                    late_by_minutes: j.late_by_minutes,
                    after_expected_end: j.after_expected_end,
                    enforcement: if j.code.enforceable {
                        Some(self.enforcement_step(&records, &c, appointment_id)?)
                    } else {
                        None
                    },
                },
                Err(errors) => views::OutcomeCheck {
                    errors,
                    minutes_credited: None,
                    late_by_minutes: None,
                    after_expected_end: false,
                    enforcement: None,
                },
            })
        })
    }
}

/// Validates and writes reference data inside a transaction; a bad item
/// rejects the whole batch with the item's position.
pub fn import_in(w: &mut Writer<'_>, batch: &ReferenceBatch) -> Result<()> {
    import_items(w, batch)?;
    record_import(w, batch)
}

/// Writes the items of `batch` without an access-log entry (the caller
/// records one for everything it imports).
pub fn import_items(w: &mut Writer<'_>, batch: &ReferenceBatch) -> Result<()> {
    for (i, (id, p)) in batch.projects.iter().enumerate() {
        validate::project(p).map_err(|e| at("projects", i, e))?;
        w.put(id, p)?;
    }
    for (i, (id, s)) in batch.sessions.iter().enumerate() {
        if w.records().get::<Project>(&s.project_id)?.is_none() {
            return Err(at(
                "sessions",
                i,
                Error::invalid("project_id", "unknown project"),
            ));
        }
        validate::session(s).map_err(|e| at("sessions", i, e))?;
        w.put(id, s)?;
    }
    for (i, (id, r)) in batch.requirements.iter().enumerate() {
        let mut r = r.clone();
        validate::requirement(&r).map_err(|e| at("requirements", i, e))?;
        if r.restricted {
            // A restricted case is held as its CRN only.
            r.name = None;
            r.photo_ref = None;
        }
        w.put(id, &r)?;
    }
    for (i, (id, a)) in batch.appointments.iter().enumerate() {
        if w.records().get::<WorkSession>(&a.session_id)?.is_none() {
            return Err(at(
                "appointments",
                i,
                Error::invalid("session_id", "unknown session"),
            ));
        }
        if let Some(r) = &a.requirement_id {
            if w.records().get::<Requirement>(r)?.is_none() {
                return Err(at(
                    "appointments",
                    i,
                    Error::invalid("requirement_id", "unknown requirement"),
                ));
            }
        }
        validate::appointment(a).map_err(|e| at("appointments", i, e))?;
        w.put(id, a)?;
    }
    Ok(())
}

fn record_import(w: &mut Writer<'_>, batch: &ReferenceBatch) -> Result<()> {
    w.record_access(
        crate::access::AccessAction::Collection,
        crate::access::AccessPayload {
            subject: format!(
                "reference: {} projects, {} sessions, {} requirements, {} appointments",
                batch.projects.len(),
                batch.sessions.len(),
                batch.requirements.len(),
                batch.appointments.len()
            ),
            purpose: "unpaid work reference data".into(),
            recipient: None,
        },
    )?;
    Ok(())
}

fn at(list: &str, index: usize, err: Error) -> Error {
    match err {
        Error::InvalidInput { field, reason } => Error::InvalidInput {
            field: format!("{list}[{index}].{field}"),
            reason,
        },
        other => other,
    }
}

/// The requirements of `req`'s order on this device (itself included).
fn order_requirements(
    records: &Records<'_>,
    req: &Stored<Requirement>,
) -> Result<Vec<Stored<Requirement>>> {
    if req.value.order_ref.is_none() {
        return Ok(vec![req.clone()]);
    }
    let mut out: Vec<Stored<Requirement>> = records
        .find::<Requirement>("crn", &normalise_crn(&req.value.crn))?
        .into_iter()
        .filter(|r| r.id != req.id && r.value.same_order(&req.value))
        .collect();
    out.push(req.clone());
    Ok(out)
}

/// An order's enforcement history and size, across its requirements.
pub(crate) struct OrderHistory {
    /// Warnings given (office and on site), oldest first.
    pub warnings: Vec<NaiveDate>,
    /// The most recent.
    pub last_warning: Option<NaiveDate>,
    /// Hours across the order's requirements.
    pub aggregate_hours: u32,
}

/// `exclude`: an appointment whose own on-site warning is left out (the
/// warning given for a failure does not count against that failure).
pub(crate) fn order_history(
    records: &Records<'_>,
    req: &Stored<Requirement>,
    exclude: Option<&RecordId>,
) -> Result<OrderHistory> {
    let mut warnings = Vec::new();
    let mut hours = 0u32;
    for r in order_requirements(records, req)? {
        hours = hours.saturating_add(r.value.hours_required);
        warnings.extend(r.value.warnings.iter().copied());
        for appt_id in records.find_ids::<Appointment>("requirement", r.id.as_str())? {
            if Some(&appt_id) == exclude {
                continue;
            }
            if let Some(given) = records
                .get::<Attendance>(&appt_id)?
                .and_then(|a| a.value.warning_given)
            {
                warnings.push(given.local().date());
            }
        }
    }
    warnings.sort_unstable();
    warnings.dedup();
    Ok(OrderHistory {
        last_warning: warnings.last().copied(),
        warnings,
        aggregate_hours: hours,
    })
}

/// An appointment the office has already given an outcome takes no other.
fn office_outcome_free(a: &Appointment) -> Result<()> {
    match &a.office_outcome {
        Some(code) => Err(Error::Conflict(format!(
            "the office has recorded {code} for this appointment"
        ))),
        None => Ok(()),
    }
}

fn session_state(w: &Writer<'_>, session_id: &RecordId) -> Result<SessionState> {
    w.records().require::<WorkSession>(session_id)?;
    Ok(w.records()
        .get::<SessionState>(session_id)?
        .map(|s| s.value)
        .unwrap_or_default())
}

fn start(w: &mut Writer<'_>, session_id: &RecordId, state: &mut SessionState) -> Result<Recorded> {
    let ev = w.append(EventDraft::typed(&Payload::SessionStarted(
        ev::SessionStarted {
            session_id: session_id.clone(),
            at: now_stamp(w.clock()),
        },
    ))?)?;
    state.status = SessionStatus::Started;
    state.event_seqs.push(ev.seq);
    Ok(Recorded::event(ev.id, ev.seq))
}

fn open_session(state: &SessionState) -> Result<()> {
    match state.status {
        SessionStatus::Planned | SessionStatus::Started => Ok(()),
        SessionStatus::StoodDown => Err(Error::Conflict("the session was stood down".into())),
        SessionStatus::Ended => Err(Error::Conflict("the session is closed".into())),
    }
}

/// An arrival is on the session's day, by its scheduled end, and not in
/// the future. There is no early limit: none is in the national rules.
fn check_arrival_time(session: &WorkSession, arrival: &Stamp, now: &Stamp) -> Result<()> {
    if arrival.utc_ms > now.utc_ms + 60_000 {
        return Err(Error::invalid("arrival", "cannot be in the future"));
    }
    let local = arrival.local_minute();
    if local.date() != session.date {
        return Err(Error::invalid("arrival", "must be on the session's date"));
    }
    if local > session.date.and_time(session.planned_end) {
        return Err(Error::invalid(
            "arrival",
            format!(
                "the session ended at {}: check-in is closed",
                session.planned_end.format("%H:%M")
            ),
        ));
    }
    Ok(())
}

/// Refuses a check-in while the same person is on site at another session.
fn ensure_not_on_site_elsewhere(
    records: &Records<'_>,
    requirement_id: &RecordId,
    this_appointment: Option<&RecordId>,
    date: NaiveDate,
) -> Result<()> {
    // Attendance first (from the index alone); the session is read only for
    // someone actually on site somewhere, which is rare.
    for appt_id in records.find_ids::<Appointment>("requirement", requirement_id.as_str())? {
        if Some(&appt_id) == this_appointment {
            continue;
        }
        let on_site = records
            .get::<Attendance>(&appt_id)?
            .is_some_and(|a| a.value.arrival.is_some() && a.value.outcome.is_none());
        if !on_site {
            continue;
        }
        let appt = records.require::<Appointment>(&appt_id)?;
        let session = records.require::<WorkSession>(&appt.value.session_id)?;
        if session.value.date == date {
            return Err(Error::Conflict(
                "already checked in at another session today".into(),
            ));
        }
    }
    Ok(())
}
