//! Home visits with lone-worker safety, offline.
//!
//! [`HomeVisits`] is the officer's service over the store. Starting a visit
//! starts the lone-worker timer ([`safety`]); safety actions and the
//! overdue and escalated transitions are events in the signed log, so they
//! reach the office with the next sync. The capture form is drafted in
//! sealed storage, finalised into a `visit.recorded` event, and afterwards
//! changed only by amendment events with a reason. Unfinished drafts expire
//! after a configurable time, with a warning first.

pub mod model;
pub mod policy;
pub mod safety;
pub mod views;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::access::{AccessAction, AccessPayload};
use crate::error::{Error, Result};
use crate::events::payload as ev;
use crate::events::{EventDraft, Payload};
use crate::forms::{first_error, FieldError};
use crate::ids::RecordId;
use crate::store::{Store, Stored, Writer};
use crate::sync::protocol::{OfficeAck, BEACON_INTERVAL_MS};
use crate::vocab::{now_stamp, Recorded, Stamp};

pub use model::OfficeAckSeen;
use model::{
    Case, FinalVersion, GeoPoint, RecordStatus, ScheduledVisit, StaffRisk, Visit, VisitForm,
};
use policy::{check_form, FormContext, VisitPolicy};
use safety::{Alarm, Now, SafetyError, SafetyState, SafetyStatus};

/// Event kinds written by this module (named once, in [`crate::events::kinds`]).
pub mod kinds {
    pub use crate::events::kinds::{
        VISIT_ENDED as ENDED, VISIT_FOLLOW_UP_DONE as FOLLOW_UP_DONE, VISIT_RECORDED as RECORDED,
        VISIT_SAFETY as SAFETY, VISIT_SAFETY_OVERRIDE as SAFETY_OVERRIDE, VISIT_STARTED as STARTED,
    };
}

/// A manager's decision to let a visit start although a safety
/// prerequisite is not met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagerOverride {
    /// The manager (officer id).
    pub manager_id: String,
    /// Why.
    pub reason: String,
}

/// Caseload reference data from the office (or created locally).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseloadBatch {
    /// Cases.
    pub cases: Vec<(RecordId, Case)>,
    /// Scheduled visits.
    pub scheduled: Vec<(RecordId, ScheduledVisit)>,
}

/// What the officer enters to start a visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartVisit {
    /// The case.
    pub case_id: RecordId,
    /// Which address (`None`: the main one).
    pub address_id: Option<String>,
    /// The scheduled visit (planned), or `None` (unplanned).
    pub scheduled_visit_id: Option<RecordId>,
    /// Arranged with the person (else unannounced).
    #[serde(default)]
    pub arranged: bool,
    /// A manager's override of an unmet safety prerequisite.
    #[serde(default)]
    pub manager_override: Option<ManagerOverride>,
    /// Purpose.
    pub purpose: String,
    /// Officers present (ids).
    pub officers_present: Vec<String>,
    /// Expected duration in minutes.
    pub expected_minutes: i64,
    /// The officer's consent to record location for this visit.
    pub location_consent: bool,
    /// Location at start (only with consent).
    pub location: Option<GeoPoint>,
}

/// A warning shown when a visit starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "detail")]
pub enum StartWarning {
    /// The case is "visit in pairs only" and one officer is present.
    PairsOnlyWithOneOfficer,
    /// A recorded risk to staff.
    StaffRisk(StaffRisk),
    /// The home-visit risk assessment is not current.
    AssessmentNotCurrent,
}

/// The lone-worker state the shells surface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyView {
    /// The visit.
    pub visit_id: RecordId,
    /// Status.
    pub status: SafetyStatus,
    /// The status the screen shows: a silent alert shows as the running
    /// timer, so the phone looks unchanged to anyone watching.
    pub shown_status: SafetyStatus,
    /// Silent alert (no sound, no visible change on the phone).
    pub silent: bool,
    /// Expected finish (UTC ms).
    pub expected_finish_ms: i64,
    /// Milliseconds left (negative once past).
    pub remaining_ms: i64,
    /// Notifications the shell should schedule.
    pub alarms: Vec<Alarm>,
    /// The office's latest acknowledgement of an alert on this visit, to
    /// show as "the office has acknowledged" with who and when; none shown
    /// after a silent alert (the phone must look unchanged; the office
    /// still learns that the phone received it).
    pub office_ack: Option<OfficeAckSeen>,
}

/// A visit just started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Started {
    /// The `visit.started` event, naming the new visit.
    pub recorded: Recorded,
    /// The new visit.
    pub visit_id: RecordId,
    /// Warnings to show.
    pub warnings: Vec<StartWarning>,
    /// The timer.
    pub safety: SafetyView,
}

/// What a timer tick found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetyTick {
    /// Every running visit.
    pub visits: Vec<SafetyView>,
    /// Statuses entered during this tick: (visit, status).
    pub entered: Vec<(RecordId, SafetyStatus)>,
    /// When the shell should wake the core next (UTC ms).
    pub next_wake_ms: Option<i64>,
    /// When the shell should contact the safety lane next (UTC ms):
    /// while a visit runs or a safety event is unconfirmed, every
    /// [`BEACON_INTERVAL_MS`] after the last contact (now, if overdue).
    pub beacon_due_ms: Option<i64>,
}

fn now_of(store: &Store) -> Now {
    let clock = store.clock();
    Now {
        wall_ms: clock.now_utc_ms(),
        mono_ms: clock.monotonic_ms(),
    }
}

fn safety_error(err: SafetyError) -> Error {
    match err {
        SafetyError::Duration { min, max } => {
            Error::invalid("minutes", format!("must be {min} to {max}"))
        }
        SafetyError::Ended => Error::Conflict("the visit has ended".into()),
    }
}

/// The officer's service.
#[derive(Debug, Clone)]
pub struct HomeVisits {
    store: Arc<Store>,
    policy: VisitPolicy,
}

impl HomeVisits {
    /// The service with the default rules.
    pub fn new(store: Arc<Store>) -> Self {
        Self::with_policy(store, VisitPolicy::default())
    }

    /// The service with other rules.
    pub fn with_policy(store: Arc<Store>, policy: VisitPolicy) -> Self {
        Self { store, policy }
    }

    /// The rules.
    pub fn policy(&self) -> &VisitPolicy {
        &self.policy
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Validates and writes caseload data in one transaction.
    pub fn import(&self, batch: CaseloadBatch) -> Result<()> {
        self.store.write(|w| import_in(w, &batch))
    }

    /// Starts a visit and its lone-worker timer.
    pub fn start_visit(&self, input: StartVisit) -> Result<Started> {
        if input.purpose.trim().is_empty() {
            return Err(Error::invalid("purpose", "required"));
        }
        if input.officers_present.iter().all(|o| o.trim().is_empty()) {
            return Err(Error::invalid("officers_present", "at least one officer"));
        }
        if input.location.is_some() && !input.location_consent {
            return Err(Error::invalid(
                "location",
                "recorded only with the officer's consent",
            ));
        }
        if let Some(loc) = &input.location {
            validate_location(loc)?;
        }
        let now = now_of(&self.store);
        let mut safety = SafetyState::start(&self.policy.safety, now, input.expected_minutes)
            .map_err(|e| match safety_error(e) {
                Error::InvalidInput { reason, .. } => Error::invalid("expected_minutes", reason),
                other => other,
            })?;
        self.store.write(|w| {
            let case = w
                .records()
                .get::<Case>(&input.case_id)?
                .ok_or_else(|| Error::invalid("case_id", "unknown person"))?;
            if !w.records().find::<Visit>("running", "yes")?.is_empty() {
                return Err(Error::Conflict(
                    "another visit is still running: end it first".into(),
                ));
            }
            let address = match &input.address_id {
                Some(id) => case.value.addresses.iter().find(|a| &a.id == id),
                None => case
                    .value
                    .addresses
                    .iter()
                    .find(|a| a.main)
                    .or(case.value.addresses.first()),
            }
            .cloned()
            .ok_or_else(|| Error::invalid("address_id", "unknown address"))?;
            if let Some(sid) = &input.scheduled_visit_id {
                let s = w.records().get::<ScheduledVisit>(sid)?.ok_or_else(|| {
                    Error::invalid("scheduled_visit_id", "unknown scheduled visit")
                })?;
                if s.value.case_id != input.case_id {
                    return Err(Error::invalid(
                        "scheduled_visit_id",
                        "belongs to another case",
                    ));
                }
            }
            let mut warnings = Vec::new();
            let officers = input
                .officers_present
                .iter()
                .filter(|o| !o.trim().is_empty())
                .count();
            // Safety prerequisites: refused unless a manager overrides.
            let mut unmet = Vec::new();
            if case.value.pairs_only() && officers < 2 {
                unmet.push(StartWarning::PairsOnlyWithOneOfficer);
            }
            if case.value.assessment != model::AssessmentStatus::Current {
                unmet.push(StartWarning::AssessmentNotCurrent);
            }
            let id = RecordId::random()?;
            if !unmet.is_empty() {
                let Some(ov) = &input.manager_override else {
                    let why = if unmet.contains(&StartWarning::PairsOnlyWithOneOfficer) {
                        "this case is visited in pairs only: add the second officer, or record a manager's override"
                    } else {
                        "the home-visit risk assessment is not current: record a manager's override to go ahead"
                    };
                    return Err(Error::invalid("manager_override", why));
                };
                require_override(ov)?;
            }
            let unmet_prereqs = unmet.clone();
            warnings.extend(unmet);
            for risk in &case.value.staff_risks {
                if *risk != StaffRisk::PairsOnly {
                    warnings.push(StartWarning::StaffRisk(risk.clone()));
                }
            }
            let start = now_stamp(w.clock());
            let ev = w.append(EventDraft::typed(&Payload::VisitStarted(Box::new(
                ev::VisitStarted {
                    visit_id: id.clone(),
                    case_id: input.case_id.clone(),
                    crn: case.value.crn.clone(),
                    planned: input.scheduled_visit_id.is_some(),
                    scheduled_visit_id: input.scheduled_visit_id.clone(),
                    arranged: input.arranged,
                    address: address.text.clone(),
                    purpose: input.purpose.clone(),
                    officers_present: input.officers_present.clone(),
                    start,
                    expected_finish_ms: safety.expected_finish_ms,
                    location: if input.location_consent {
                        input.location
                    } else {
                        None
                    },
                    warnings: warnings.clone(),
                },
            )))?)?;
            // The override is recorded with the start, after it, so the
            // office can scope it to the visit it allowed.
            if let (false, Some(ov)) = (unmet_prereqs.is_empty(), &input.manager_override) {
                w.append(EventDraft::typed(&Payload::SafetyOverride(
                    ev::SafetyOverride {
                        visit_id: id.clone(),
                        case_id: input.case_id.clone(),
                        unmet: unmet_prereqs,
                        manager_id: ov.manager_id.trim().to_owned(),
                        reason: ov.reason.clone(),
                        at: now_stamp(w.clock()),
                    },
                ))?)?;
            }
            safety.seen_wall_ms = safety.seen_wall_ms.max(start.utc_ms);
            let visit = Visit {
                case_id: input.case_id.clone(),
                planned: input.scheduled_visit_id.is_some(),
                scheduled_visit_id: input.scheduled_visit_id.clone(),
                arranged: input.arranged,
                respond_by: None,
                address,
                purpose: input.purpose.clone(),
                start,
                end: None,
                location_consent: input.location_consent,
                start_location: input.location,
                end_location: None,
                safety: safety.clone(),
                status: RecordStatus::Draft,
                draft: VisitForm {
                    officers_present: input.officers_present.clone(),
                    ..VisitForm::default()
                },
                draft_saved_ms: start.utc_ms,
                finals: vec![],
                start_event: ev.id,
                event_seqs: vec![ev.seq],
                office_acks: vec![],
            };
            w.put(&id, &visit)?;
            let view = self.safety_view(&id, &visit.safety, &visit.office_acks, now);
            Ok(Started {
                recorded: Recorded::event(visit.start_event.clone(), ev.seq).creating(id.clone()),
                visit_id: id,
                warnings,
                safety: view,
            })
        })
    }

    fn safety_view(
        &self,
        id: &RecordId,
        s: &SafetyState,
        acks: &[OfficeAckSeen],
        now: Now,
    ) -> SafetyView {
        let silent_alert = s.silent_alert && s.status == SafetyStatus::Alert;
        SafetyView {
            visit_id: id.clone(),
            status: s.status,
            shown_status: if silent_alert {
                SafetyStatus::Active
            } else {
                s.status
            },
            silent: s.silent_alert,
            expected_finish_ms: s.expected_finish_ms,
            remaining_ms: s.remaining_ms(now),
            alarms: s.alarms(&self.policy.safety, now),
            office_ack: acks.last().filter(|_| !s.silent_alert).cloned(),
        }
    }

    fn safety_action(
        &self,
        visit_id: &RecordId,
        action: &str,
        f: impl FnOnce(&mut SafetyState, Now) -> std::result::Result<(), SafetyError>,
    ) -> Result<SafetyView> {
        let now = now_of(&self.store);
        self.store.write(|w| {
            let mut visit = w.records().require::<Visit>(visit_id)?;
            // Catch up on time first, so an overdue visit records that it was.
            let entered = visit.value.safety.evaluate(&self.policy.safety, now);
            record_transitions(w, visit_id, &mut visit.value, &entered)?;
            f(&mut visit.value.safety, now).map_err(safety_error)?;
            let s = &visit.value.safety;
            let ev = w.append(EventDraft::typed(&Payload::VisitSafety(ev::VisitSafety {
                visit_id: visit_id.clone(),
                action: action.to_owned(),
                status: s.status,
                silent: Some(s.silent_alert),
                expected_finish_ms: s.expected_finish_ms,
                at: now_stamp(w.clock()),
            }))?)?;
            visit.value.event_seqs.push(ev.seq);
            w.put(visit_id, &visit.value)?;
            Ok(self.safety_view(visit_id, &visit.value.safety, &visit.value.office_acks, now))
        })
    }

    /// Extends the expected finish by `minutes`.
    pub fn extend(&self, visit_id: &RecordId, minutes: i64) -> Result<SafetyView> {
        let policy = self.policy.safety.clone();
        self.safety_action(visit_id, "extended", move |s, now| {
            s.extend(&policy, now, minutes)
        })
    }

    /// The officer checks in safe.
    pub fn check_in_safe(&self, visit_id: &RecordId) -> Result<SafetyView> {
        let policy = self.policy.safety.clone();
        self.safety_action(visit_id, "checked_in", move |s, now| {
            s.check_in(&policy, now)
        })
    }

    /// The officer raises an alert; `silent` keeps the phone quiet.
    pub fn raise_alert(&self, visit_id: &RecordId, silent: bool) -> Result<SafetyView> {
        self.safety_action(visit_id, "alert", move |s, now| s.raise_alert(now, silent))
    }

    /// Evaluates every running visit's timer against the clock, records the
    /// overdue and escalated transitions as events, and says when to wake
    /// next. Shells call this on their scheduled notifications and at start.
    pub fn tick(&self) -> Result<SafetyTick> {
        let now = now_of(&self.store);
        self.store.write(|w| {
            let mut tick = SafetyTick {
                visits: vec![],
                entered: vec![],
                next_wake_ms: None,
                beacon_due_ms: None,
            };
            for Stored { id, mut value, .. } in w.records().find::<Visit>("running", "yes")? {
                let entered = value.safety.evaluate(&self.policy.safety, now);
                record_transitions(w, &id, &mut value, &entered)?;
                // Persist the observed time even without a transition, so a
                // later backwards clock is caught.
                w.put(&id, &value)?;
                tick.entered
                    .extend(entered.into_iter().map(|s| (id.clone(), s)));
                let view = self.safety_view(&id, &value.safety, &value.office_acks, now);
                if let Some(first) = view.alarms.first() {
                    tick.next_wake_ms = Some(
                        tick.next_wake_ms
                            .map_or(first.at_ms, |t| t.min(first.at_ms)),
                    );
                }
                tick.visits.push(view);
            }
            let queue = w.beacon_queue()?;
            if !tick.visits.is_empty() || !queue.seqs.is_empty() {
                let due = queue
                    .last_contact_ms
                    .map_or(now.wall_ms, |t| t + BEACON_INTERVAL_MS);
                tick.beacon_due_ms = Some(due.min(now.wall_ms + BEACON_INTERVAL_MS));
            }
            Ok(tick)
        })
    }

    /// Ends a visit (and its timer). `end` defaults to now.
    pub fn end_visit(
        &self,
        visit_id: &RecordId,
        end: Option<Stamp>,
        location: Option<GeoPoint>,
    ) -> Result<Recorded> {
        if let Some(loc) = &location {
            validate_location(loc)?;
        }
        let now = now_of(&self.store);
        self.store.write(|w| {
            let mut visit = w.records().require::<Visit>(visit_id)?;
            let end = end.unwrap_or_else(|| now_stamp(w.clock()));
            if end.utc_ms <= visit.value.start.utc_ms {
                return Err(Error::invalid("end", "must be after the start"));
            }
            if end.utc_ms > now.wall_ms + 60_000 {
                return Err(Error::invalid("end", "cannot be in the future"));
            }
            if location.is_some() && !visit.value.location_consent {
                return Err(Error::invalid(
                    "location",
                    "recorded only with the officer's consent",
                ));
            }
            let entered = visit.value.safety.evaluate(&self.policy.safety, now);
            record_transitions(w, visit_id, &mut visit.value, &entered)?;
            visit.value.safety.end(now).map_err(safety_error)?;
            let ev = w.append(EventDraft::typed(&Payload::VisitEnded(ev::VisitEnded {
                visit_id: visit_id.clone(),
                end,
                location,
            }))?)?;
            visit.value.end = Some(end);
            visit.value.end_location = location;
            visit.value.event_seqs.push(ev.seq);
            w.put(visit_id, &visit.value)?;
            Ok(Recorded::event(ev.id, ev.seq))
        })
    }

    /// Saves the draft form (sealed; no event). Returns the validation
    /// messages finalising would give now.
    pub fn save_draft(&self, visit_id: &RecordId, form: VisitForm) -> Result<Vec<FieldError>> {
        self.store.write(|w| {
            let mut visit = w.records().require::<Visit>(visit_id)?;
            match visit.value.status {
                RecordStatus::Draft => {}
                RecordStatus::Final => {
                    return Err(Error::Conflict(
                        "the visit is finalised: amend it instead".into(),
                    ))
                }
                RecordStatus::DraftExpired => {
                    return Err(Error::Conflict("the draft expired and was erased".into()))
                }
            }
            if form.notes.chars().count() > self.policy.notes_max_chars * 4 {
                return Err(Error::invalid("notes", "far over the limit"));
            }
            visit.value.draft = form;
            visit.value.draft_saved_ms = w.clock().now_utc_ms();
            let errors = check_form(
                &self.policy,
                &visit.value.draft,
                form_context(&visit.value, false),
            );
            w.put(visit_id, &visit.value)?;
            Ok(errors)
        })
    }

    /// Finalises the draft into a `visit.recorded` event. The visit must
    /// have ended and the form must be complete.
    pub fn finalise(&self, visit_id: &RecordId) -> Result<Recorded> {
        self.store.write(|w| {
            let mut visit = w.records().require::<Visit>(visit_id)?;
            if visit.value.status != RecordStatus::Draft {
                return Err(Error::Conflict("only a draft can be finalised".into()));
            }
            if visit.value.end.is_none() {
                return Err(Error::invalid("end", "end the visit before finalising"));
            }
            let errors = check_form(
                &self.policy,
                &visit.value.draft,
                form_context(&visit.value, false),
            );
            if !errors.is_empty() {
                return Err(first_error(errors));
            }
            let form = visit.value.draft.clone();
            let recorded = self.record(w, visit_id, &mut visit.value, form, None)?;
            visit.value.status = RecordStatus::Final;
            w.put(visit_id, &visit.value)?;
            Ok(recorded)
        })
    }

    /// Amends a finalised visit: a new event superseding the current
    /// version, with a reason.
    pub fn amend(&self, visit_id: &RecordId, form: VisitForm, reason: &str) -> Result<Recorded> {
        if reason.trim().is_empty() {
            return Err(Error::invalid("reason", "an amendment needs a reason"));
        }
        self.store.write(|w| {
            let mut visit = w.records().require::<Visit>(visit_id)?;
            let previous_sensitive = match (visit.value.status, visit.value.current()) {
                (RecordStatus::Final, Some(current)) => current.form.sensitive,
                _ => {
                    return Err(Error::Conflict(
                        "only a finalised visit can be amended".into(),
                    ))
                }
            };
            let errors = check_form(
                &self.policy,
                &form,
                form_context(&visit.value, previous_sensitive),
            );
            if !errors.is_empty() {
                return Err(first_error(errors));
            }
            let recorded = self.record(w, visit_id, &mut visit.value, form, Some(reason))?;
            w.put(visit_id, &visit.value)?;
            Ok(recorded)
        })
    }

    fn record(
        &self,
        w: &mut Writer<'_>,
        visit_id: &RecordId,
        visit: &mut Visit,
        form: VisitForm,
        reason: Option<&str>,
    ) -> Result<Recorded> {
        let case = w.records().require::<Case>(&visit.case_id)?;
        visit.respond_by = policy::respond_by(&self.policy, &form, visit.start.local().date());
        let payload = Payload::VisitRecorded(Box::new(ev::VisitRecorded {
            visit_id: visit_id.clone(),
            case_id: visit.case_id.clone(),
            crn: case.value.crn.clone(),
            contact_type: "CHVS".into(),
            planned: visit.planned,
            scheduled_visit_id: visit.scheduled_visit_id.clone(),
            arranged: visit.arranged,
            respond_by: visit.respond_by,
            address: visit.address.text.clone(),
            purpose: visit.purpose.clone(),
            start: visit.start,
            end: visit.end,
            start_location: visit.start_location,
            end_location: visit.end_location,
            form: form.clone(),
            policy_version: self.policy.version.clone(),
        }));
        let draft = match (reason, visit.current()) {
            (Some(reason), Some(current)) => {
                EventDraft::typed_correction(&payload, current.event_id.clone(), reason)?
            }
            _ => EventDraft::typed(&payload)?,
        };
        let ev = w.append(draft)?;
        visit.finals.push(FinalVersion {
            event_id: ev.id.clone(),
            form,
            reason: reason.map(str::to_owned),
        });
        visit.event_seqs.push(ev.seq);
        Ok(Recorded::event(ev.id, ev.seq))
    }

    /// Marks follow-up `index` of a finalised visit done. `None`: it was
    /// done already, and nothing new was recorded.
    pub fn complete_follow_up(
        &self,
        visit_id: &RecordId,
        index: usize,
    ) -> Result<Option<Recorded>> {
        self.store.write(|w| {
            let mut visit = w.records().require::<Visit>(visit_id)?;
            let current = visit
                .value
                .finals
                .last_mut()
                .ok_or_else(|| Error::Conflict("the visit is not finalised".into()))?;
            let follow_up = current
                .form
                .follow_ups
                .get_mut(index)
                .ok_or_else(|| Error::invalid("index", "no such follow-up"))?;
            if follow_up.done {
                return Ok(None);
            }
            follow_up.done = true;
            let ev = w.append(EventDraft::typed(&Payload::FollowUpDone(
                ev::FollowUpDone {
                    visit_id: visit_id.clone(),
                    index,
                    at: now_stamp(w.clock()),
                },
            ))?)?;
            visit.value.event_seqs.push(ev.seq);
            w.put(visit_id, &visit.value)?;
            Ok(Some(Recorded::event(ev.id, ev.seq)))
        })
    }

    /// Erases drafts older than the expiry (logging each erasure); returns
    /// how many.
    pub fn expire_drafts(&self) -> Result<u32> {
        let expiry_ms = self.policy.draft_expiry_hours * 3_600_000;
        self.store.write(|w| {
            let now = w.clock().now_utc_ms();
            let mut n = 0;
            for Stored { id, mut value, .. } in w.records().find::<Visit>("draft", "yes")? {
                if now < value.draft_saved_ms + expiry_ms {
                    continue;
                }
                value.draft = VisitForm {
                    officers_present: value.draft.officers_present.clone(),
                    ..VisitForm::default()
                };
                value.status = RecordStatus::DraftExpired;
                w.put(&id, &value)?;
                w.record_access(
                    AccessAction::Erasure,
                    AccessPayload {
                        subject: format!("hv_visit/{id}/draft"),
                        purpose: "draft expired unfinished".into(),
                        recipient: None,
                    },
                )?;
                n += 1;
            }
            Ok(n)
        })
    }
}

/// Records the office's acknowledgements of lone-worker alerts that came
/// back on the safety lane: each is kept on its visit (the safety view
/// shows it) and the device records that it received it
/// (`visit.ack_seen`, itself sent on the lane). One already held, or for a
/// visit this device does not hold, changes nothing. Returns how many were
/// new.
pub fn record_office_acks(w: &mut Writer<'_>, acks: &[OfficeAck]) -> Result<u32> {
    let mut new = 0;
    for ack in acks {
        let Ok(visit_id) = RecordId::parse(&ack.visit_id) else {
            continue;
        };
        let Some(mut visit) = w.records().get::<Visit>(&visit_id)? else {
            continue;
        };
        if visit
            .value
            .office_acks
            .iter()
            .any(|a| a.alert_id == ack.alert_id)
        {
            continue;
        }
        let seen = now_stamp(w.clock());
        let ev = w.append(EventDraft::typed(&Payload::AckSeen(ev::AckSeen {
            visit_id: visit_id.clone(),
            alert_id: ack.alert_id.clone(),
            seen,
        }))?)?;
        visit.value.office_acks.push(OfficeAckSeen {
            alert_id: ack.alert_id.clone(),
            by: ack.by.clone(),
            at_ms: ack.at_ms,
            note: ack.note.clone(),
            seen_ms: seen.utc_ms,
        });
        visit.value.event_seqs.push(ev.seq);
        w.put(&visit_id, &visit.value)?;
        new += 1;
    }
    Ok(new)
}

/// Validates and writes caseload data inside a transaction.
pub fn import_in(w: &mut Writer<'_>, batch: &CaseloadBatch) -> Result<()> {
    import_items(w, batch)?;
    record_import(w, batch)
}

/// Writes the items of `batch` without an access-log entry (the caller
/// records one for everything it imports).
pub fn import_items(w: &mut Writer<'_>, batch: &CaseloadBatch) -> Result<()> {
    for (i, (id, case)) in batch.cases.iter().enumerate() {
        let mut case = case.clone();
        if case.crn.trim().is_empty() {
            return Err(Error::invalid(format!("cases[{i}].crn"), "required"));
        }
        if case.addresses.is_empty() {
            return Err(Error::invalid(
                format!("cases[{i}].addresses"),
                "at least one",
            ));
        }
        if case.restricted {
            case.name = None;
        }
        w.put(id, &case)?;
    }
    for (i, (id, s)) in batch.scheduled.iter().enumerate() {
        let case = w
            .records()
            .get::<Case>(&s.case_id)?
            .ok_or_else(|| Error::invalid(format!("scheduled[{i}].case_id"), "unknown case"))?;
        if !case.value.addresses.iter().any(|a| a.id == s.address_id) {
            return Err(Error::invalid(
                format!("scheduled[{i}].address_id"),
                "unknown address",
            ));
        }
        w.put(id, s)?;
    }
    Ok(())
}

fn record_import(w: &mut Writer<'_>, batch: &CaseloadBatch) -> Result<()> {
    w.record_access(
        AccessAction::Collection,
        AccessPayload {
            subject: format!(
                "reference: {} cases, {} scheduled visits",
                batch.cases.len(),
                batch.scheduled.len()
            ),
            purpose: "home visit caseload".into(),
            recipient: None,
        },
    )?;
    Ok(())
}

fn record_transitions(
    w: &mut Writer<'_>,
    visit_id: &RecordId,
    visit: &mut Visit,
    entered: &[SafetyStatus],
) -> Result<()> {
    for status in entered {
        let ev = w.append(EventDraft::typed(&Payload::VisitSafety(ev::VisitSafety {
            visit_id: visit_id.clone(),
            action: "timer".into(),
            status: *status,
            silent: None,
            expected_finish_ms: visit.safety.expected_finish_ms,
            at: now_stamp(w.clock()),
        }))?)?;
        visit.event_seqs.push(ev.seq);
    }
    Ok(())
}

fn form_context(visit: &Visit, previous_sensitive: bool) -> FormContext {
    FormContext {
        arranged: visit.arranged,
        previous_sensitive,
    }
}

fn require_override(ov: &ManagerOverride) -> Result<()> {
    if ov.manager_id.trim().is_empty() {
        return Err(Error::invalid(
            "manager_override.manager_id",
            "who authorised it",
        ));
    }
    if ov.reason.trim().is_empty() || ov.reason.chars().count() > crate::events::MAX_REASON_CHARS {
        return Err(Error::invalid(
            "manager_override.reason",
            "say why (under 1000 characters)",
        ));
    }
    Ok(())
}

fn validate_location(loc: &GeoPoint) -> Result<()> {
    let ok = loc.lat.is_finite()
        && loc.lon.is_finite()
        && loc.accuracy_m.is_finite()
        && (-90.0..=90.0).contains(&loc.lat)
        && (-180.0..=180.0).contains(&loc.lon)
        && loc.accuracy_m >= 0.0;
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("location", "not a valid position"))
    }
}
