//! The one decision path for a device's pushed batch: chain position,
//! duplicates, scope and cross-device conflicts, decided here once for
//! both storage backends.
//!
//! Ingest runs in three steps inside one database transaction:
//! 1. [`Needs::of`] lists what the batch needs to know from storage (ids
//!    already held, audience entries, visits started, the conflict
//!    subjects to lock);
//! 2. the backend locks the device row and the subjects, and reads those
//!    [`Facts`];
//! 3. [`decide_batch`] (pure: no I/O) turns batch and facts into a
//!    [`Plan`], which the backend writes and commits.
//!
//! Reading the facts only after the subject locks are held is what makes
//! conflict detection hold across server instances: two devices pushing
//! outcomes for one appointment are serialised on that appointment.

use std::collections::{BTreeSet, HashMap, HashSet};

use fieldbook_core::sync::protocol::{PushOutcome, PushResult, RejectReason};

use crate::model::{DeviceRow, Incoming};
use crate::payload::{kinds, Subject};

/// What the chain rules say about the next event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Store it.
    Accept,
    /// Already stored.
    Duplicate,
    /// An earlier event is missing: answer Retry and stop.
    Gap {
        /// The sequence number the office expects next.
        expected: u64,
    },
    /// Record the link as refused (and advance the chain) with this reason.
    Refuse(RejectReason),
}

/// Applies the chain rules given the office's position.
pub fn decide(
    ev: &Incoming,
    known: bool,
    last_seq: u64,
    last_hash: &str,
    in_scope: bool,
) -> Decision {
    if known {
        return Decision::Duplicate;
    }
    if ev.seq <= last_seq {
        return Decision::Refuse(RejectReason::ChainBroken);
    }
    if ev.seq != last_seq + 1 {
        return Decision::Gap {
            expected: last_seq + 1,
        };
    }
    if let Some(r) = ev.refused {
        return Decision::Refuse(r);
    }
    let prev_ok = ev.parsed.as_ref().is_some_and(|b| b.prev_hash == last_hash);
    if !prev_ok {
        return Decision::Refuse(RejectReason::ChainBroken);
    }
    if !in_scope {
        return Decision::Refuse(RejectReason::OutOfScope);
    }
    Decision::Accept
}

/// The wire outcome of a decision.
pub fn outcome(d: &Decision) -> PushOutcome {
    match d {
        Decision::Accept => PushOutcome::Accepted,
        Decision::Duplicate => PushOutcome::Duplicate,
        Decision::Gap { expected } => PushOutcome::Retry {
            expected_seq: *expected,
        },
        Decision::Refuse(r) => PushOutcome::Rejected { reason: *r },
    }
}

/// Reference entities an event can need in the officer's audience.
pub mod entity {
    /// An unpaid work session.
    pub const SESSION: &str = "upw_session";
    /// A home-visit case.
    pub const CASE: &str = "hv_case";
}

/// Which reference item an event must be in scope for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeNeed {
    /// Nothing (access log, device-wide events).
    None,
    /// This reference item in the officer's audience.
    Audience(&'static str, String),
    /// A visit this device started (earlier or in this batch).
    Visit(String),
    /// A field the kind requires is missing.
    Missing,
}

/// What scope an event of `kind` about `subject` needs.
pub fn scope_need(kind: &str, subject: &Subject) -> ScopeNeed {
    let need = |id: &Option<String>, f: &dyn Fn(String) -> ScopeNeed| match id {
        Some(v) => f(v.clone()),
        None => ScopeNeed::Missing,
    };
    // A kind this server does not know (a newer phone) is stored and
    // reported but never projected into any view, so no scope applies.
    if !fieldbook_core::events::Payload::known_kind(kind) {
        return ScopeNeed::None;
    }
    if kind.starts_with("upw.") {
        need(&subject.session_id, &|s| {
            ScopeNeed::Audience(entity::SESSION, s)
        })
    } else if kind == kinds::VISIT_STARTED || kind == kinds::VISIT_RECORDED {
        need(&subject.case_id, &|c| ScopeNeed::Audience(entity::CASE, c))
    } else if kind.starts_with("visit.") {
        need(&subject.visit_id, &ScopeNeed::Visit)
    } else {
        ScopeNeed::None
    }
}

/// A subject two devices can disagree about: the lock and conflict unit.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConflictSubject {
    /// Conflict kind as stored (`outcome`).
    pub kind: &'static str,
    /// The subject's id (an appointment id).
    pub id: String,
}

/// The conflict subject of an event, if it has one.
pub fn conflict_subject(kind: &str, subject: &Subject) -> Option<ConflictSubject> {
    if kind == kinds::OUTCOME_RECORDED {
        subject.appointment_id.clone().map(|id| ConflictSubject {
            kind: "outcome",
            id,
        })
    } else {
        None
    }
}

fn kind_of(ev: &Incoming) -> Option<&str> {
    ev.parsed.as_ref().map(|b| b.kind.as_str())
}

/// The ids an incoming event names (empty when it did not parse), read
/// once by [`Incoming::check`].
pub fn subject(ev: &Incoming) -> &Subject {
    &ev.subject
}

/// What a batch needs to read from storage before deciding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// Every event id in the batch (to find those already held).
    pub event_ids: Vec<String>,
    /// Reference items that must be in the officer's audience.
    pub audience: Vec<(&'static str, String)>,
    /// Visits that must have been started by this device.
    pub visits: Vec<String>,
    /// Conflict subjects, sorted and without repeats: the backend locks
    /// them in this order (a consistent order cannot deadlock) and reads
    /// other devices' events on them.
    pub subjects: Vec<ConflictSubject>,
    /// Appointments named (their reference rows are read to check that
    /// session, requirement and CRN belong together).
    pub appointments: Vec<String>,
    /// Events named as superseded (their device, kind and subject are read).
    pub superseded: Vec<String>,
}

impl Needs {
    /// What `events` needs.
    pub fn of(events: &[Incoming]) -> Needs {
        let mut audience = BTreeSet::new();
        let mut visits = BTreeSet::new();
        let mut subjects = BTreeSet::new();
        let mut appointments = BTreeSet::new();
        let mut superseded = BTreeSet::new();
        for ev in events {
            let Some(kind) = kind_of(ev) else { continue };
            let s = subject(ev);
            if let Some(a) = &s.appointment_id {
                appointments.insert(a.clone());
            }
            if let Some(old) = ev.parsed.as_ref().and_then(|b| b.supersedes.clone()) {
                superseded.insert(old);
            }
            // A visit's record is scoped by its case, and must also name a
            // visit this device started: perhaps in an earlier push, so the
            // start is looked up as for the visit's other events.
            if kind == kinds::VISIT_RECORDED {
                if let Some(v) = &s.visit_id {
                    visits.insert(v.clone());
                }
            }
            match scope_need(kind, s) {
                ScopeNeed::Audience(e, id) => {
                    audience.insert((e, id));
                }
                ScopeNeed::Visit(v) => {
                    visits.insert(v);
                }
                ScopeNeed::None | ScopeNeed::Missing => {}
            }
            if let Some(c) = conflict_subject(kind, s) {
                subjects.insert(c);
            }
        }
        Needs {
            event_ids: events.iter().map(|e| e.id.clone()).collect(),
            audience: audience.into_iter().collect(),
            visits: visits.into_iter().collect(),
            subjects: subjects.into_iter().collect(),
            appointments: appointments.into_iter().collect(),
            superseded: superseded.into_iter().collect(),
        }
    }
}

/// An appointment as the office's reference data holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentRef {
    /// Its session.
    pub session_id: String,
    /// Its requirement.
    pub requirement_id: Option<String>,
    /// Its CRN, normalised.
    pub crn: String,
}

/// Reads an appointment's reference row (the core's type, as the office
/// stored it).
pub fn appointment_ref(data: &str) -> Option<AppointmentRef> {
    let a: fieldbook_core::unpaid_work::model::Appointment = serde_json::from_str(data).ok()?;
    Some(AppointmentRef {
        session_id: a.session_id.to_string(),
        requirement_id: a.requirement_id.map(|r| r.to_string()),
        crn: fieldbook_core::vocab::normalise_crn(&a.crn),
    })
}

/// A stored event another event claims to supersede.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupersededRef {
    /// The device that recorded it.
    pub device_id: String,
    /// Its kind.
    pub kind: String,
    /// Its appointment or visit.
    pub subject: Option<String>,
}

/// What storage says, read under the device and subject locks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The device's chain position: last sequence number and hash.
    pub last_seq: u64,
    /// Hash of the last link, hex.
    pub last_hash: String,
    /// Event ids already held as chain links, with the refusal reason for
    /// those that were refused.
    pub known: HashMap<String, Option<String>>,
    /// The needed reference items that are in the officer's audience.
    pub in_audience: HashSet<(&'static str, String)>,
    /// The needed visits this device has started (stored events).
    pub visits_started: HashSet<String>,
    /// Events of other devices on each conflict subject.
    pub others_on: HashMap<ConflictSubject, Vec<String>>,
    /// The pushing device's officer: every event must name them.
    pub officer_id: String,
    /// Reference rows of the named appointments that exist.
    pub appointments: HashMap<String, AppointmentRef>,
    /// Named appointments this device itself created (unallocated arrivals
    /// already stored), with their session.
    pub device_appointments: HashMap<String, String>,
    /// The named superseded events that are stored.
    pub superseded: HashMap<String, SupersededRef>,
    /// The pushing device's id.
    pub device_of_batch: Option<String>,
    /// Named superseded events that are this device's own refused links
    /// (a quarantined event being corrected: its body was never stored).
    pub own_refused: HashSet<String>,
}

/// A chain link to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Sequence number.
    pub seq: i64,
    /// Event id.
    pub event_id: String,
    /// Chain hash, hex.
    pub hash: String,
    /// `None` when accepted; the reason when refused.
    pub refused: Option<RejectReason>,
}

/// An event to store, with the ids it names (stored as columns).
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// The event.
    pub event: &'a Incoming,
    /// Its subject ids.
    pub subject: Subject,
}

/// A conflict to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConflict {
    /// Kind and subject.
    pub subject: ConflictSubject,
    /// The event already held (another device's).
    pub event_a: String,
    /// The event arriving now.
    pub event_b: String,
}

/// What to write, and what to answer.
#[derive(Debug)]
pub struct Plan<'a> {
    /// One answer per event, in order.
    pub results: Vec<PushResult>,
    /// Events to store.
    pub events: Vec<NewEvent<'a>>,
    /// Chain links to record (accepted and refused).
    pub links: Vec<Link>,
    /// Conflicts to record.
    pub conflicts: Vec<NewConflict>,
    /// The device's new chain position.
    pub last_seq: i64,
    /// Hash of the new last link.
    pub last_hash: String,
}

/// An event refused before (its answer lost on the way) is refused again
/// with the same reason, never reported as a duplicate: the device must
/// quarantine it, not acknowledge it.
fn refused_before(reason: Option<&str>) -> Option<Decision> {
    reason.and_then(RejectReason::parse).map(Decision::Refuse)
}

/// Whether the batch started visit `v` before `ev`.
fn started_in(batch: &[Incoming], ev: &Incoming, v: &str) -> bool {
    batch.iter().any(|b| {
        b.seq < ev.seq
            && kind_of(b) == Some(kinds::VISIT_STARTED)
            && subject(b).visit_id.as_deref() == Some(v)
    })
}

fn in_scope(facts: &Facts, ev: &Incoming, batch: &[Incoming]) -> bool {
    let Some(kind) = kind_of(ev) else {
        return true;
    };
    let s = subject(ev);
    let scoped = match scope_need(kind, s) {
        ScopeNeed::None => true,
        ScopeNeed::Missing => false,
        ScopeNeed::Audience(e, id) => facts.in_audience.contains(&(e, id)),
        ScopeNeed::Visit(v) => started_in(batch, ev, &v) || facts.visits_started.contains(&v),
    };
    scoped && relations_hold(facts, ev, kind, s, batch) && supersedes_ok(facts, ev, kind, s, batch)
}

/// Every id an event names must belong together: the appointment to the
/// session, the requirement and CRN to the appointment; a visit's record
/// to a visit this device started. Otherwise one session in a device's
/// audience would let it credit minutes to anyone.
fn relations_hold(
    facts: &Facts,
    ev: &Incoming,
    kind: &str,
    s: &Subject,
    batch: &[Incoming],
) -> bool {
    if kind == kinds::VISIT_RECORDED {
        let Some(v) = &s.visit_id else { return false };
        return started_in(batch, ev, v) || facts.visits_started.contains(v);
    }
    let Some(appointment) = &s.appointment_id else {
        return true;
    };
    if kind == kinds::UNALLOCATED_ARRIVAL {
        // A new appointment: its id must not be one the office issued.
        return !facts.appointments.contains_key(appointment);
    }
    if let Some(r) = facts.appointments.get(appointment) {
        return s.session_id.as_deref() == Some(r.session_id.as_str())
            && (s.requirement_id.is_none() || s.requirement_id == r.requirement_id)
            && s.crn.as_deref().is_none_or(|c| c == r.crn);
    }
    // Not the office's: it must be one this device created for the session.
    let created_here = facts.device_appointments.get(appointment) == s.session_id.as_ref()
        || batch.iter().any(|b| {
            b.seq < ev.seq
                && kind_of(b) == Some(kinds::UNALLOCATED_ARRIVAL)
                && subject(b).appointment_id.as_deref() == Some(appointment)
                && subject(b).session_id == s.session_id
        });
    created_here && s.session_id.is_some()
}

/// A correction may supersede only an event of the same device, kind and
/// subject (stored, or earlier in this batch).
fn supersedes_ok(
    facts: &Facts,
    ev: &Incoming,
    kind: &str,
    s: &Subject,
    batch: &[Incoming],
) -> bool {
    let Some(old) = ev.parsed.as_ref().and_then(|b| b.supersedes.as_deref()) else {
        return true;
    };
    let key = s.appointment_id.clone().or_else(|| s.visit_id.clone());
    if facts.own_refused.contains(old) {
        return true;
    }
    if let Some(r) = facts.superseded.get(old) {
        return facts.device_of_batch.as_deref() == Some(r.device_id.as_str())
            && r.kind == kind
            && r.subject == key;
    }
    batch.iter().any(|b| {
        b.seq < ev.seq && b.id == old && kind_of(b) == Some(kind) && {
            let bs = subject(b);
            bs.appointment_id.as_ref().or(bs.visit_id.as_ref()) == key.as_ref()
        }
    })
}

/// Decides every event of a batch, in order, from the facts read under
/// the locks.
pub fn decide_batch<'a>(mut facts: Facts, events: &'a [Incoming]) -> Plan<'a> {
    let mut plan = Plan {
        results: Vec::with_capacity(events.len()),
        events: Vec::new(),
        links: Vec::new(),
        conflicts: Vec::new(),
        last_seq: i64::try_from(facts.last_seq).unwrap_or(i64::MAX),
        last_hash: facts.last_hash.clone(),
    };
    let mut gap: Option<u64> = None;
    for ev in events {
        // An id already held is a link of the chain already: never a new
        // one, whatever its answer (a second link would repeat the id).
        let known = facts.known.contains_key(&ev.id);
        let decision = if let Some(expected) = gap {
            Decision::Gap { expected }
        } else {
            let link = facts.known.get(&ev.id);
            let scope = if !known && ev.seq == facts.last_seq + 1 && ev.refused.is_none() {
                in_scope(&facts, ev, events)
            } else {
                true
            };
            // An event must name its device's own officer; the office shows
            // the officer from the device record.
            let impersonates = ev
                .parsed
                .as_ref()
                .is_some_and(|b| b.officer != facts.officer_id);
            refused_before(link.and_then(|r| r.as_deref())).unwrap_or_else(|| {
                if impersonates && !known && ev.seq == facts.last_seq + 1 {
                    Decision::Refuse(RejectReason::DeviceMismatch)
                } else {
                    decide(ev, known, facts.last_seq, &facts.last_hash, scope)
                }
            })
        };
        let refused = match &decision {
            Decision::Accept => {
                let s = subject(ev);
                if let Some(c) = kind_of(ev).and_then(|k| conflict_subject(k, s)) {
                    for other in facts.others_on.get(&c).into_iter().flatten() {
                        plan.conflicts.push(NewConflict {
                            subject: c.clone(),
                            event_a: other.clone(),
                            event_b: ev.id.clone(),
                        });
                    }
                }
                plan.events.push(NewEvent {
                    event: ev,
                    subject: s.clone(),
                });
                Some(None)
            }
            Decision::Refuse(reason) if !known && ev.seq == facts.last_seq + 1 => {
                Some(Some(*reason))
            }
            Decision::Gap { expected } => {
                gap = Some(*expected);
                None
            }
            Decision::Refuse(_) | Decision::Duplicate => None,
        };
        // Accepted and refused-in-place events are links of the chain: it
        // advances past them, and a repeat later in the batch is known.
        if let Some(refused) = refused {
            let seq = i64::try_from(ev.seq).unwrap_or(i64::MAX);
            plan.links.push(Link {
                seq,
                event_id: ev.id.clone(),
                hash: ev.hash.clone(),
                refused,
            });
            facts
                .known
                .insert(ev.id.clone(), refused.map(|r| r.as_str().to_owned()));
            facts.last_seq = ev.seq;
            facts.last_hash = ev.hash.clone();
            plan.last_seq = seq;
            plan.last_hash = ev.hash.clone();
        }
        plan.results.push(PushResult {
            id: ev.id.clone(),
            seq: ev.seq,
            outcome: outcome(&decision),
        });
    }
    plan
}

/// Kinds whose latest event per subject the office reads: the projection
/// kept at ingest (`current_records`), so office views read one row per
/// appointment or visit instead of scanning the event log.
pub const PROJECTED: &[&str] = &[
    kinds::OUTCOME_RECORDED,
    kinds::VISIT_RECORDED,
    kinds::VISIT_SAFETY,
];

/// The projection rows a plan sets, one per (kind, subject), the last
/// event in the batch winning (later events replace earlier ones: a
/// correction arrives after what it corrects).
pub fn projections<'a>(plan: &'a Plan<'a>) -> Vec<(&'a str, String, &'a str)> {
    let mut rows: Vec<(&str, String, &str)> = Vec::new();
    for new in &plan.events {
        let Some(kind) = kind_of(new.event) else {
            continue;
        };
        let Some(kind) = PROJECTED.iter().copied().find(|k| *k == kind) else {
            continue;
        };
        let subject = if kind == kinds::OUTCOME_RECORDED {
            new.subject.appointment_id.clone()
        } else {
            new.subject.visit_id.clone()
        };
        let Some(subject) = subject else { continue };
        rows.retain(|(k, s, _)| !(*k == kind && *s == subject));
        rows.push((kind, subject, new.event.id.as_str()));
    }
    rows
}

/// A device's batch as the backends receive it.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    /// The pushing device.
    pub device: &'a DeviceRow,
    /// Its events, checked without the database.
    pub events: &'a [Incoming],
    /// Server time, ms.
    pub now: i64,
}

#[cfg(test)]
mod tests;
