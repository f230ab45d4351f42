//! Conflicts as the office handles them: one item per record (the
//! appointment two or more devices recorded differently) holding each
//! device's version, and its resolution by the office — choosing one
//! version or correcting the values — with a required reason.
//!
//! Ingest stores one `conflicts` row per pair of versions; this module
//! groups them per record at read time (an index on `(kind, subject)`
//! keeps that one pass). A resolution is kept in
//! `console_conflict_resolutions` (never changed, so every resolution stays
//! as history). Choosing points the office projection (`current_records`)
//! at the chosen event; a correction is laid over the projection by
//! [`overlay`] for every office read. A version arriving after the
//! resolution reopens the record (its new conflict rows are later).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use serde_json::Value;

use super::sql::{self, Row, Val};
use crate::db::{Db, DbError};
use crate::payload::kinds;

/// The conflict kind ingest stores for outcomes (`ConflictSubject::kind`).
pub const OUTCOME: &str = "outcome";

/// The longest correction the office may enter (one day), in minutes.
pub const MAX_MINUTES: i64 = 24 * 60;

/// The longest reason kept.
pub const MAX_REASON: usize = 1000;

/// One device's version of a record: its latest event (a device's own
/// correction replaces its earlier one, so that is not a version).
#[derive(Debug, Clone, PartialEq)]
pub struct Version {
    /// Event id.
    pub event_id: String,
    /// Device that sent it.
    pub device_id: String,
    /// Officer who recorded it.
    pub officer_id: String,
    /// Device time, ms.
    pub recorded_ms: i64,
    /// Server time, ms.
    pub received_ms: i64,
    /// The event it corrects (same device), if any.
    pub supersedes: Option<String>,
    /// The signed payload.
    pub payload: Value,
}

/// A record with a conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Conflict kind (`outcome`).
    pub kind: String,
    /// The appointment.
    pub subject: String,
    /// When the first conflict on it was stored.
    pub first_ms: i64,
    /// When the latest was stored.
    pub last_ms: i64,
    /// The latest resolution, if any.
    pub resolved_ms: Option<i64>,
    /// Each device's version, oldest first.
    pub versions: Vec<Version>,
}

impl Record {
    /// Whether the office still has to resolve it.
    pub fn open(&self) -> bool {
        is_open(self.last_ms, self.resolved_ms)
    }
}

/// A record is open until a resolution at or after its latest conflict:
/// a version that arrives later reopens it.
pub fn is_open(last_conflict_ms: i64, resolved_ms: Option<i64>) -> bool {
    resolved_ms.is_none_or(|r| r < last_conflict_ms)
}

/// The versions among a record's events: each event not superseded by a
/// later one (a device's own correction), oldest first.
pub fn versions_of(mut events: Vec<Version>) -> Vec<Version> {
    let replaced: HashSet<String> = events.iter().filter_map(|e| e.supersedes.clone()).collect();
    events.retain(|e| !replaced.contains(&e.event_id));
    events.sort_by(|a, b| (a.recorded_ms, &a.event_id).cmp(&(b.recorded_ms, &b.event_id)));
    events
}

fn version_of(r: &Row) -> Version {
    let body: Value = serde_json::from_str(&r.text(7)).unwrap_or(Value::Null);
    Version {
        event_id: r.text(1),
        device_id: r.text(2),
        officer_id: r.text(3),
        recorded_ms: r.int(4),
        received_ms: r.int(5),
        supersedes: r.opt_text(6),
        payload: body.get("payload").cloned().unwrap_or(Value::Null),
    }
}

const VERSION_COLUMNS: &str =
    "e.appointment_id, e.event_id, e.device_id, e.officer_id, e.recorded_ms, e.received_ms, e.supersedes, e.body";

/// The records with a conflict: one grouped pass over the pair rows,
/// read in index order (`conflicts_subject`).
pub const GROUPS: &str = "SELECT c.kind, c.subject, MIN(c.created_ms), MAX(c.created_ms),
        (SELECT MAX(r.at_ms) FROM console_conflict_resolutions r WHERE r.kind = c.kind AND r.subject = c.subject)
 FROM conflicts c WHERE c.kind = ?1 GROUP BY c.kind, c.subject ORDER BY MIN(c.created_ms), c.subject";

/// Every record with a conflict, oldest first, with its versions: one
/// grouped pass over the conflict rows and one over their events.
pub async fn records(db: &Db) -> Result<Vec<Record>, DbError> {
    let groups = sql::query(db, GROUPS, vec![Val::from(OUTCOME)]).await?;
    let sql_text = format!(
        "SELECT {VERSION_COLUMNS} FROM events e
         WHERE e.kind = ?1 AND e.appointment_id IN (SELECT DISTINCT subject FROM conflicts WHERE kind = ?2)"
    );
    let mut by_subject: HashMap<String, Vec<Version>> = HashMap::new();
    for r in sql::query(
        db,
        &sql_text,
        vec![Val::from(kinds::OUTCOME_RECORDED), Val::from(OUTCOME)],
    )
    .await?
    {
        by_subject
            .entry(r.text(0))
            .or_default()
            .push(version_of(&r));
    }
    Ok(groups
        .into_iter()
        .map(|g| Record {
            kind: g.text(0),
            versions: versions_of(by_subject.remove(&g.text(1)).unwrap_or_default()),
            subject: g.text(1),
            first_ms: g.int(2),
            last_ms: g.int(3),
            resolved_ms: g.opt_int(4),
        })
        .collect())
}

/// One record, if it has a conflict.
pub async fn record(db: &Db, subject: &str) -> Result<Option<Record>, DbError> {
    let Some(g) = sql::one(
        db,
        "SELECT MIN(c.created_ms), MAX(c.created_ms), COUNT(*),
                (SELECT MAX(r.at_ms) FROM console_conflict_resolutions r WHERE r.kind = ?1 AND r.subject = ?2)
         FROM conflicts c WHERE c.kind = ?1 AND c.subject = ?2",
        vec![Val::from(OUTCOME), Val::from(subject)],
    )
    .await?
    .filter(|g| g.int(2) > 0) else {
        return Ok(None);
    };
    let sql_text = format!(
        "SELECT {VERSION_COLUMNS} FROM events e WHERE e.kind = ?1 AND e.appointment_id = ?2"
    );
    let events = sql::query(
        db,
        &sql_text,
        vec![Val::from(kinds::OUTCOME_RECORDED), Val::from(subject)],
    )
    .await?
    .iter()
    .map(version_of)
    .collect();
    Ok(Some(Record {
        kind: OUTCOME.into(),
        subject: subject.into(),
        first_ms: g.int(0),
        last_ms: g.int(1),
        resolved_ms: g.opt_int(3),
        versions: versions_of(events),
    }))
}

/// How the office resolved a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// This version is the record.
    Choose(String),
    /// The record is these values.
    Correct {
        /// Outcome code.
        code: String,
        /// Minutes credited.
        minutes: i64,
    },
}

/// A checked resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    /// Chosen or corrected.
    pub method: Method,
    /// Why (required).
    pub reason: String,
}

/// A form problem: the field it belongs to and what to do.
pub type Problem = (&'static str, String);

/// What the form asks for, as entered.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    /// `choose:EVENT_ID` or `correct`.
    pub choice: String,
    /// Outcome code (a correction).
    pub code: String,
    /// Minutes credited (a correction), as typed.
    pub minutes: String,
    /// Why.
    pub reason: String,
}

/// Checks a resolution against the record's versions and the outcome
/// codes: a version of this record, or a known code with minutes it may
/// credit (none unless the code credits time); always a reason.
pub fn check(versions: &[Version], asked: &Asked) -> Result<Resolution, Vec<Problem>> {
    let mut problems = vec![];
    let reason = asked.reason.trim().to_owned();
    let method = if let Some(id) = asked.choice.strip_prefix("choose:") {
        if versions.iter().any(|v| v.event_id == id) {
            Some(Method::Choose(id.to_owned()))
        } else {
            problems.push((
                "choice",
                "Select one of this record's versions, or correct the values".to_owned(),
            ));
            None
        }
    } else if asked.choice == "correct" {
        let code = asked.code.trim().to_uppercase();
        let found = fieldbook_core::unpaid_work::codes::outcome(&code);
        if found.is_none() {
            problems.push(("code", "Select the outcome".to_owned()));
        }
        let minutes = match asked.minutes.trim().parse::<i64>() {
            Ok(m) if (0..=MAX_MINUTES).contains(&m) => Some(m),
            _ if asked.minutes.trim().is_empty() => {
                problems.push((
                    "minutes",
                    "Enter the minutes credited, 0 if none".to_owned(),
                ));
                None
            }
            _ => {
                problems.push((
                    "minutes",
                    format!("The minutes credited must be a whole number from 0 to {MAX_MINUTES}"),
                ));
                None
            }
        };
        if let (Some(c), Some(m)) = (found, minutes) {
            if !c.credits_time && m != 0 {
                problems.push((
                    "minutes",
                    format!("{} does not credit time: enter 0 minutes", c.code),
                ));
            }
        }
        match (found, minutes) {
            (Some(c), Some(m)) => Some(Method::Correct {
                code: c.code.to_owned(),
                minutes: m,
            }),
            _ => None,
        }
    } else {
        problems.push((
            "choice",
            "Select one of this record's versions, or correct the values".to_owned(),
        ));
        None
    };
    if reason.is_empty() {
        problems.push(("reason", "Enter the reason for this resolution".to_owned()));
    } else if reason.chars().count() > MAX_REASON {
        problems.push((
            "reason",
            format!("The reason must be {MAX_REASON} characters or fewer"),
        ));
    }
    match method {
        Some(method) if problems.is_empty() => Ok(Resolution { method, reason }),
        _ => Err(problems),
    }
}

/// Stores a resolution and updates the office projection, in one
/// transaction; `false` (nothing written) when the record was resolved
/// meanwhile (by someone else, since its latest conflict).
pub async fn resolve(
    db: &Db,
    subject: &str,
    r: &Resolution,
    versions: &[Version],
    account_id: &str,
    now: i64,
) -> Result<bool, DbError> {
    let id = super::random_token(16)?;
    let (method, chosen, code, minutes) = match &r.method {
        Method::Choose(e) => ("choose", Some(e.clone()), None, None),
        Method::Correct { code, minutes } => ("correct", None, Some(code.clone()), Some(*minutes)),
    };
    let seen = versions
        .iter()
        .map(|v| v.event_id.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let mut statements = vec![(
        "INSERT INTO console_conflict_resolutions
            (id, kind, subject, method, chosen_event, code, minutes, reason, versions, account_id, at_ms)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
         WHERE NOT EXISTS (SELECT 1 FROM console_conflict_resolutions r
             WHERE r.kind = ?2 AND r.subject = ?3
               AND r.at_ms >= (SELECT MAX(c.created_ms) FROM conflicts c WHERE c.kind = ?2 AND c.subject = ?3))",
        vec![
            Val::from(&id),
            Val::from(OUTCOME),
            Val::from(subject),
            Val::from(method),
            Val::from(chosen.clone()),
            Val::from(code),
            Val::from(minutes),
            Val::from(&r.reason),
            Val::from(seen),
            Val::from(account_id),
            Val::I(now),
        ],
    )];
    if let Some(chosen) = chosen {
        // Only when the resolution above was written.
        statements.push((
            "UPDATE current_records SET event_id = ?1
             WHERE kind = ?2 AND subject = ?3
               AND EXISTS (SELECT 1 FROM console_conflict_resolutions WHERE id = ?4)",
            vec![
                Val::from(chosen),
                Val::from(kinds::OUTCOME_RECORDED),
                Val::from(subject),
                Val::from(&id),
            ],
        ));
    }
    // The system of record gets the resolved outcome, after what the
    // devices sent (queued only when the resolution above was written).
    statements.push((
        crate::delivery::outbox::RESOLUTION_ENQUEUE,
        vec![
            Val::from(crate::delivery::outbox::resolution_delivery_id(&id)),
            Val::from(subject),
            Val::I(now),
            Val::from(&id),
        ],
    ));
    let n = sql::transaction(db, statements).await?;
    Ok(n.first().copied().unwrap_or(0) == 1)
}

/// A resolution as the record's history shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Past {
    /// `choose` or `correct`.
    pub method: String,
    /// The chosen event.
    pub chosen_event: Option<String>,
    /// Corrected code.
    pub code: Option<String>,
    /// Corrected minutes.
    pub minutes: Option<i64>,
    /// Why.
    pub reason: String,
    /// Who (account id).
    pub account_id: String,
    /// When, ms.
    pub at_ms: i64,
}

/// A record's resolutions, latest first.
pub async fn history(db: &Db, subject: &str) -> Result<Vec<Past>, DbError> {
    Ok(sql::query(
        db,
        "SELECT method, chosen_event, code, minutes, reason, account_id, at_ms
         FROM console_conflict_resolutions WHERE kind = ?1 AND subject = ?2 ORDER BY at_ms DESC, id",
        vec![Val::from(OUTCOME), Val::from(subject)],
    )
    .await?
    .iter()
    .map(|r| Past {
        method: r.text(0),
        chosen_event: r.opt_text(1),
        code: r.opt_text(2),
        minutes: r.opt_int(3),
        reason: r.text(4),
        account_id: r.text(5),
        at_ms: r.int(6),
    })
    .collect())
}

/// A correction in force: the office's code and minutes, when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    /// Outcome code.
    pub code: String,
    /// Minutes credited.
    pub minutes: i64,
    /// When the office corrected it (ms).
    pub at_ms: i64,
    /// The resolution's reason.
    pub reason: String,
}

/// The corrections in force: per appointment, the latest resolution when
/// it is a correction (it holds while no device event reached the
/// projection after it).
pub async fn corrections(db: &Db) -> Result<BTreeMap<String, Correction>, DbError> {
    corrections_of(db, None).await
}

/// The correction in force on one appointment, as [`corrections`] reads it.
pub async fn correction(db: &Db, subject: &str) -> Result<Option<Correction>, DbError> {
    Ok(corrections_of(db, Some(subject)).await?.remove(subject))
}

async fn corrections_of(
    db: &Db,
    subject: Option<&str>,
) -> Result<BTreeMap<String, Correction>, DbError> {
    Ok(sql::query(
        db,
        "SELECT r.subject, r.code, r.minutes, r.at_ms, r.reason FROM console_conflict_resolutions r
         WHERE r.kind = ?1 AND r.method = 'correct' AND (?2 = '' OR r.subject = ?2)
           AND NOT EXISTS (SELECT 1 FROM console_conflict_resolutions l
               WHERE l.kind = r.kind AND l.subject = r.subject
                 AND (l.at_ms > r.at_ms OR (l.at_ms = r.at_ms AND l.id > r.id)))",
        vec![Val::from(OUTCOME), Val::from(subject.unwrap_or_default())],
    )
    .await?
    .iter()
    .map(|r| {
        (
            r.text(0),
            Correction {
                code: r.text(1),
                minutes: r.int(2),
                at_ms: r.int(3),
                reason: r.text(4),
            },
        )
    })
    .collect())
}

/// The key an overlaid payload carries when the correction took an
/// enforceable outcome out of the enforcement queue: the resolution's
/// reason, which closes the item.
pub const CLOSED_BY: &str = "enforcement_closed_by_resolution";

/// The warnings the office gave on a requirement (its reference item's
/// `warnings`, the dates the devices count for the statutory step).
pub async fn requirement_warnings(
    db: &Db,
    requirement_id: Option<&str>,
) -> Result<Vec<NaiveDate>, DbError> {
    let Some(id) = requirement_id else {
        return Ok(vec![]);
    };
    let Some(r) = sql::one(
        db,
        "SELECT data FROM reference WHERE entity = 'upw_requirement' AND id = ?1 AND data IS NOT NULL",
        vec![Val::from(id)],
    )
    .await?
    else {
        return Ok(vec![]);
    };
    let data: Value = serde_json::from_str(&r.text(0)).unwrap_or(Value::Null);
    Ok(data
        .get("warnings")
        .and_then(Value::as_array)
        .map(|w| {
            w.iter()
                .filter_map(|d| d.as_str()?.parse::<NaiveDate>().ok())
                .collect()
        })
        .unwrap_or_default())
}

/// Lays a correction over a current outcome's payload: the office's code
/// and minutes. An enforceable code carries the statutory step a device
/// would have flagged (the core's rule over the order's `warnings`; a
/// version that already flagged one keeps it), so it joins the
/// enforcement queue; a code that is not enforceable carries none, and an
/// item that was in the queue is closed with the resolution's reason.
/// `projected_ms` is when the projection last changed: a device event
/// after the correction wins (and reopened the conflict).
pub fn overlay(
    payload: &mut Value,
    correction: &Correction,
    projected_ms: i64,
    warnings: &[NaiveDate],
) -> bool {
    if correction.at_ms < projected_ms || !payload.is_object() {
        return false;
    }
    payload["code"] = Value::String(correction.code.clone());
    payload["minutes_credited"] = Value::from(correction.minutes);
    let enforceable = fieldbook_core::unpaid_work::codes::outcome(&correction.code)
        .is_some_and(|c| c.enforceable);
    let flagged = !payload.get("enforcement_step").is_none_or(Value::is_null);
    if !enforceable {
        if flagged {
            payload[CLOSED_BY] = Value::String(correction.reason.clone());
        }
        payload["enforcement_step"] = Value::Null;
    } else if !flagged {
        let date = payload
            .get("session_date")
            .and_then(Value::as_str)
            .and_then(|d| d.parse::<NaiveDate>().ok());
        if let Some(date) = date {
            let step = fieldbook_core::unpaid_work::policy::statutory_step(
                &fieldbook_core::unpaid_work::policy::Policy::default(),
                warnings,
                date,
            );
            payload["enforcement_step"] = serde_json::to_value(step).unwrap_or(Value::Null);
        }
    }
    true
}

/// The one rule every office read of current outcomes follows (the
/// console's pages and the office API): the correction in force on the
/// payload's appointment, if any, laid over it with the order's warnings.
pub async fn lay_over(
    db: &Db,
    corrections: &BTreeMap<String, Correction>,
    payload: &mut Value,
    projected_ms: i64,
) -> Result<bool, DbError> {
    let Some(c) = payload
        .get("appointment_id")
        .and_then(Value::as_str)
        .and_then(|a| corrections.get(a))
    else {
        return Ok(false);
    };
    let requirement = payload
        .get("requirement_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let warnings = requirement_warnings(db, requirement.as_deref()).await?;
    Ok(overlay(payload, c, projected_ms, &warnings))
}

/// [`overlay`] for one payload, reading the order's warnings (a
/// resolution's delivery: the correction is in force by construction).
pub async fn overlay_for_delivery(
    db: &Db,
    payload: &mut Value,
    correction: &(String, i64, i64),
) -> Result<bool, DbError> {
    let requirement = payload
        .get("requirement_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let warnings = requirement_warnings(db, requirement.as_deref()).await?;
    let c = Correction {
        code: correction.0.clone(),
        minutes: correction.1,
        at_ms: correction.2,
        reason: String::new(),
    };
    Ok(overlay(payload, &c, i64::MIN, &warnings))
}

#[cfg(test)]
mod tests;
