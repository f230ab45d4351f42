//! The integration outbox and the links to nDelius, on either backend (one
//! SQL text, [`crate::storage::sql`]). Rows are written by ingest in the
//! transaction that stores the event; a worker claims them under a lease
//! (the lease condition is checked again on the row being updated, so two
//! instances never claim one row), one appointment at a time in the order
//! the office received them (a device pushes in sequence order), so a correction never overtakes what it
//! corrects (one that needs attention does not hold back its correction).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppointmentLink;
use crate::db::{Db, DbError};
use crate::ingest::Plan;
use crate::payload::kinds;
use crate::storage::sql::{decode, encode, first, st, Stmt, P};

type R<T> = Result<T, DbError>;

/// The delivery tables (the same SQL for SQLite and PostgreSQL).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS delivery_outbox (
    event_id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL,
    officer_id TEXT NOT NULL, recorded_ms BIGINT NOT NULL, seq BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    next_attempt_ms BIGINT NOT NULL, attempts BIGINT NOT NULL, state TEXT NOT NULL,
    lease_owner TEXT, lease_until_ms BIGINT, request TEXT, reason TEXT, status_code BIGINT,
    updated_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS delivery_outbox_due ON delivery_outbox (state, next_attempt_ms);
CREATE INDEX IF NOT EXISTS delivery_outbox_subject ON delivery_outbox (subject, created_ms, seq);
CREATE TABLE IF NOT EXISTS delivery_attempts (
    event_id TEXT NOT NULL, attempt BIGINT NOT NULL, at_ms BIGINT NOT NULL, entry TEXT NOT NULL,
    PRIMARY KEY (event_id, attempt));
CREATE TABLE IF NOT EXISTS cp_appointments (
    appointment_id TEXT PRIMARY KEY, delius_id BIGINT NOT NULL, delius_version TEXT NOT NULL,
    project_code TEXT NOT NULL, updated_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS cp_references (
    kind TEXT NOT NULL, code TEXT NOT NULL, id TEXT NOT NULL, updated_ms BIGINT NOT NULL,
    PRIMARY KEY (kind, code));
";

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting to be sent (or retried).
    Pending,
    /// The far end has it.
    Delivered,
    /// Refused by the far end, or missing a link: the office must act.
    Attention,
    /// Not sent: this deployment delivers no home-visit contacts.
    Off,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Delivered => "delivered",
            State::Attention => "attention",
            State::Off => "off",
        }
    }
}

/// The outbox kind of an office conflict resolution's delivery.
pub const RESOLUTION: &str = "office.conflict_resolution";

/// The outbox id of a resolution's delivery (its idempotency key is
/// derived from it, so a retried resolution never records twice).
pub fn resolution_delivery_id(resolution_id: &str) -> String {
    format!("resolution-{resolution_id}")
}

/// Queues a resolution's delivery, in the resolution's transaction (the
/// console's `?N` SQL): `?1` outbox id, `?2` appointment, `?3` now, `?4`
/// the resolution id (nothing is queued unless it was written). The
/// officer is the recorder of the version the projection now shows; it
/// sorts after every delivery the appointment already has (the largest
/// sequence number breaks a tie on time).
pub const RESOLUTION_ENQUEUE: &str = "INSERT INTO delivery_outbox (event_id, kind, subject, officer_id,
        recorded_ms, seq, created_ms, next_attempt_ms, attempts, state, updated_ms)
     SELECT ?1, 'office.conflict_resolution', ?2,
            COALESCE((SELECT e.officer_id FROM current_records c JOIN events e ON e.event_id = c.event_id
                       WHERE c.kind = 'upw.outcome_recorded' AND c.subject = ?2), ''),
            ?3, 9223372036854775807, ?3, ?3, 0, 'pending', ?3
      WHERE EXISTS (SELECT 1 FROM console_conflict_resolutions WHERE id = ?4)
     ON CONFLICT (event_id) DO NOTHING";

/// A resolution as its delivery needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolutionToDeliver {
    /// The version whose times and attendance data are sent: the chosen
    /// one, or for a correction the one the projection shows.
    pub base_event: Option<String>,
    /// The corrected code and minutes, and when (a correction).
    pub correction: Option<(String, i64, i64)>,
}

/// The statements that queue a plan's deliverable events (in ingest's
/// transaction).
pub fn enqueue_stmts(plan: &Plan<'_>, now: i64) -> Vec<Stmt> {
    plan.events
        .iter()
        .filter_map(|new| {
            let body = new.event.parsed.as_ref()?;
            let subject = if body.kind == kinds::OUTCOME_RECORDED {
                new.subject.appointment_id.clone()?
            } else if body.kind == kinds::VISIT_RECORDED {
                new.subject.visit_id.clone()?
            } else {
                return None;
            };
            Some(st(
                "INSERT INTO delivery_outbox (event_id, kind, subject, officer_id, recorded_ms,
                     seq, created_ms, next_attempt_ms, attempts, state, updated_ms)
                 VALUES ($1, $2, $3, $4, $5, $7, $6, $6, 0, 'pending', $6)
                 ON CONFLICT (event_id) DO NOTHING",
                vec![
                    P::T(body.id.clone()),
                    P::T(body.kind.clone()),
                    P::T(subject),
                    P::T(body.officer.clone()),
                    P::I(body.recorded_at_ms),
                    P::I(now),
                    P::I(i64::try_from(body.seq).unwrap_or(i64::MAX)),
                ],
            ))
        })
        .collect()
}

/// The statements that link appointments to nDelius's (run alone, or in
/// a reference import's transaction).
pub fn link_stmts(links: &[(String, AppointmentLink)], now: i64) -> Vec<Stmt> {
    links
        .iter()
        .map(|(id, link)| {
            st(
                "INSERT INTO cp_appointments (appointment_id, delius_id, delius_version, project_code, updated_ms)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (appointment_id) DO UPDATE SET delius_id = excluded.delius_id,
                     delius_version = excluded.delius_version, project_code = excluded.project_code,
                     updated_ms = excluded.updated_ms",
                vec![
                    P::T(id.clone()),
                    P::I(link.delius_id),
                    P::T(link.delius_version.clone()),
                    P::T(link.project_code.clone()),
                    P::I(now),
                ],
            )
        })
        .collect()
}

/// A claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The event.
    pub event_id: String,
    /// Its kind.
    pub kind: String,
    /// The appointment or visit.
    pub subject: String,
    /// The recording officer.
    pub officer_id: String,
    /// This attempt's number (1 for the first).
    pub attempt: i64,
    /// The request built at the first attempt (retries send the same
    /// bytes: the far end's idempotency is over key and body).
    pub request: Option<String>,
}

/// One delivery as the office sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryRow {
    /// The event.
    pub event_id: String,
    /// Its kind.
    pub kind: String,
    /// The appointment or visit.
    pub subject: String,
    /// The recording officer (whose teams see it).
    pub officer_id: String,
    /// State.
    pub state: State,
    /// When a pending delivery is next tried (UTC ms).
    pub next_attempt_ms: Option<i64>,
    /// Attempts so far.
    pub attempts: i64,
    /// The far end's reason, or the missing link, when it needs attention.
    pub reason: Option<String>,
    /// The far end's last status.
    pub status_code: Option<i64>,
    /// Last change (UTC ms).
    pub updated_ms: i64,
}

/// One attempt, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    /// Attempt number.
    pub attempt: i64,
    /// When.
    pub at_ms: i64,
    /// The instance that tried.
    pub instance: String,
    /// The far end's status, if it answered.
    pub status_code: Option<u16>,
    /// `delivered`, `retry`, `attention` or `off`.
    pub outcome: String,
    /// Why not delivered.
    pub reason: Option<String>,
}

fn delivery_row(r: Vec<Option<String>>) -> R<DeliveryRow> {
    let mut it = r.into_iter();
    let mut next = || it.next().flatten();
    let text = |v: Option<String>| v.ok_or_else(|| DbError("delivery: row".into()));
    let event_id = text(next())?;
    let kind = text(next())?;
    let subject = text(next())?;
    let officer_id = text(next())?;
    let state: State = serde_json::from_value(serde_json::Value::String(text(next())?))
        .map_err(|_| DbError("delivery: state".into()))?;
    let next_attempt = parse_i64(next())?;
    Ok(DeliveryRow {
        event_id,
        kind,
        subject,
        officer_id,
        next_attempt_ms: (state == State::Pending).then_some(next_attempt),
        state,
        attempts: parse_i64(next())?,
        reason: next(),
        status_code: next().and_then(|t| t.parse().ok()),
        updated_ms: parse_i64(next())?,
    })
}

fn parse_i64(v: Option<String>) -> R<i64> {
    v.and_then(|t| t.parse().ok())
        .ok_or_else(|| DbError("delivery: integer column".into()))
}

impl Db {
    /// Claims up to `limit` due deliveries for `instance` until
    /// `lease_until`: per subject only the earliest undelivered one.
    pub async fn delivery_claim(
        &self,
        instance: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> R<Vec<Claimed>> {
        let rows = self
            .query_rows(st(
                "UPDATE delivery_outbox SET lease_owner = $1, lease_until_ms = $2,
                        attempts = attempts + 1
                  WHERE state = 'pending' AND next_attempt_ms <= $3
                    AND (lease_until_ms IS NULL OR lease_until_ms < $3)
                    AND event_id IN (
                        SELECT o.event_id FROM delivery_outbox o
                         WHERE o.state = 'pending' AND o.next_attempt_ms <= $3
                           AND (o.lease_until_ms IS NULL OR o.lease_until_ms < $3)
                           AND NOT EXISTS (
                               SELECT 1 FROM delivery_outbox e
                                WHERE e.subject = o.subject AND e.state = 'pending'
                                  AND (e.created_ms < o.created_ms
                                       OR (e.created_ms = o.created_ms AND e.seq < o.seq)))
                         ORDER BY o.next_attempt_ms LIMIT $4)
                  RETURNING event_id, kind, subject, officer_id, CAST(attempts AS TEXT), request",
                vec![
                    P::T(instance.to_owned()),
                    P::I(lease_until),
                    P::I(now),
                    P::I(limit),
                ],
            ))
            .await?;
        rows.into_iter()
            .map(|r| {
                let mut it = r.into_iter();
                let mut next = || it.next().flatten();
                let text = |v: Option<String>| v.ok_or_else(|| DbError("delivery: row".into()));
                Ok(Claimed {
                    event_id: text(next())?,
                    kind: text(next())?,
                    subject: text(next())?,
                    officer_id: text(next())?,
                    attempt: parse_i64(next())?,
                    request: next(),
                })
            })
            .collect()
    }

    /// Logs an attempt and moves the delivery on. `retry_at` schedules a
    /// retry (state stays pending); the request is kept for retries.
    pub async fn delivery_record(
        &self,
        c: &Claimed,
        request: Option<&str>,
        state: State,
        attempt: &Attempt,
        retry_at: Option<i64>,
    ) -> R<()> {
        self.run_stmts(vec![
            st(
                "INSERT INTO delivery_attempts (event_id, attempt, at_ms, entry)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (event_id, attempt) DO NOTHING",
                vec![
                    P::T(c.event_id.clone()),
                    P::I(c.attempt),
                    P::I(attempt.at_ms),
                    P::T(encode(attempt)?),
                ],
            ),
            st(
                "UPDATE delivery_outbox SET state = $2, next_attempt_ms = $3, lease_owner = NULL,
                        lease_until_ms = NULL, request = COALESCE($4, request), reason = $5,
                        status_code = $6, updated_ms = $7
                  WHERE event_id = $1",
                vec![
                    P::T(c.event_id.clone()),
                    P::T(state.as_str().to_owned()),
                    P::I(retry_at.unwrap_or(attempt.at_ms)),
                    P::OT(request.map(str::to_owned)),
                    P::OT(attempt.reason.clone()),
                    P::OI(attempt.status_code.map(i64::from)),
                    P::I(attempt.at_ms),
                ],
            ),
        ])
        .await?;
        Ok(())
    }

    /// Deliveries in `state` (all when `None`), oldest first.
    pub async fn deliveries(
        &self,
        state: Option<State>,
        limit: i64,
        offset: i64,
    ) -> R<Vec<DeliveryRow>> {
        let rows = self
            .query_rows(st(
                "SELECT event_id, kind, subject, officer_id, state, CAST(next_attempt_ms AS TEXT),
                        CAST(attempts AS TEXT), reason, CAST(status_code AS TEXT), CAST(updated_ms AS TEXT)
                   FROM delivery_outbox WHERE $1 = '' OR state = $1
                  ORDER BY created_ms, seq, event_id LIMIT $2 OFFSET $3",
                vec![
                    P::T(state.map(|s| s.as_str().to_owned()).unwrap_or_default()),
                    P::I(limit),
                    P::I(offset),
                ],
            ))
            .await?;
        rows.into_iter().map(delivery_row).collect()
    }

    /// One delivery.
    pub async fn delivery(&self, event_id: &str) -> R<Option<DeliveryRow>> {
        let rows = self
            .query_rows(st(
                "SELECT event_id, kind, subject, officer_id, state, CAST(next_attempt_ms AS TEXT),
                        CAST(attempts AS TEXT), reason, CAST(status_code AS TEXT), CAST(updated_ms AS TEXT)
                   FROM delivery_outbox WHERE event_id = $1",
                vec![P::T(event_id.to_owned())],
            ))
            .await?;
        rows.into_iter().next().map(delivery_row).transpose()
    }

    /// Every attempt for one delivery.
    pub async fn delivery_attempts(&self, event_id: &str) -> R<Vec<Attempt>> {
        let rows = self
            .query_rows(st(
                "SELECT entry FROM delivery_attempts WHERE event_id = $1 ORDER BY attempt",
                vec![P::T(event_id.to_owned())],
            ))
            .await?;
        rows.iter()
            .map(|r| decode(r.first().and_then(|c| c.as_ref())))
            .collect()
    }

    /// Puts a delivery that needs attention back in the queue (the office
    /// fixed the cause). The request is built afresh. Returns whether it
    /// was waiting for attention.
    pub async fn delivery_retry(&self, event_id: &str, now: i64) -> R<bool> {
        let n = self
            .run_stmts(vec![st(
                "UPDATE delivery_outbox SET state = 'pending', next_attempt_ms = $2, request = NULL,
                        updated_ms = $2
                  WHERE event_id = $1 AND state = 'attention'",
                vec![P::T(event_id.to_owned()), P::I(now)],
            )])
            .await?;
        Ok(n.first().copied().unwrap_or(0) == 1)
    }

    /// Links a Fieldbook appointment to its nDelius appointment.
    pub async fn link_appointment(
        &self,
        appointment_id: &str,
        link: &AppointmentLink,
        now: i64,
    ) -> R<()> {
        self.link_appointments(&[(appointment_id.to_owned(), link.clone())], now)
            .await
    }

    /// Links many appointments in one transaction.
    pub async fn link_appointments(&self, links: &[(String, AppointmentLink)], now: i64) -> R<()> {
        self.run_stmts(link_stmts(links, now)).await?;
        Ok(())
    }

    /// Every live reference item of `entity`: (id, data as JSON text).
    pub async fn reference_items(&self, entity: &str) -> R<Vec<(String, String)>> {
        let rows = self
            .query_rows(st(
                "SELECT id, data FROM reference WHERE entity = $1 AND data IS NOT NULL",
                vec![P::T(entity.to_owned())],
            ))
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let mut it = r.into_iter();
                Some((it.next().flatten()?, it.next().flatten()?))
            })
            .collect())
    }

    /// The nDelius link of an appointment.
    pub async fn appointment_link(&self, appointment_id: &str) -> R<Option<AppointmentLink>> {
        let rows = self
            .query_rows(st(
                "SELECT CAST(delius_id AS TEXT), delius_version, project_code FROM cp_appointments
                  WHERE appointment_id = $1",
                vec![P::T(appointment_id.to_owned())],
            ))
            .await?;
        let Some(r) = rows.into_iter().next() else {
            return Ok(None);
        };
        let mut it = r.into_iter();
        let delius_id = parse_i64(it.next().flatten())?;
        Ok(Some(AppointmentLink {
            delius_id,
            delius_version: it.next().flatten().unwrap_or_default(),
            project_code: it.next().flatten().unwrap_or_default(),
        }))
    }

    /// Replaces the far end's reference list of `kind` (code → id).
    pub async fn put_cp_references(
        &self,
        kind: &str,
        items: &[(String, String)],
        now: i64,
    ) -> R<()> {
        let mut stmts = vec![st(
            "DELETE FROM cp_references WHERE kind = $1",
            vec![P::T(kind.to_owned())],
        )];
        for (code, id) in items {
            stmts.push(st(
                "INSERT INTO cp_references (kind, code, id, updated_ms) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (kind, code) DO UPDATE SET id = excluded.id, updated_ms = excluded.updated_ms",
                vec![P::T(kind.to_owned()), P::T(code.clone()), P::T(id.clone()), P::I(now)],
            ));
        }
        self.run_stmts(stmts).await?;
        Ok(())
    }

    /// The far end's id for `code` in its list of `kind`.
    pub async fn cp_reference(&self, kind: &str, code: &str) -> R<Option<String>> {
        let rows = self
            .query_rows(st(
                "SELECT id FROM cp_references WHERE kind = $1 AND code = $2",
                vec![P::T(kind.to_owned()), P::T(code.to_owned())],
            ))
            .await?;
        Ok(first(&rows).cloned())
    }

    /// Whether the far end's reference list of `kind` has been loaded.
    pub async fn cp_references_loaded(&self, kind: &str) -> R<bool> {
        let rows = self
            .query_rows(st(
                "SELECT code FROM cp_references WHERE kind = $1 LIMIT 1",
                vec![P::T(kind.to_owned())],
            ))
            .await?;
        Ok(!rows.is_empty())
    }

    /// A stored event's signed body (JSON text).
    pub async fn event_body(&self, event_id: &str) -> R<Option<String>> {
        let rows = self
            .query_rows(st(
                "SELECT body FROM events WHERE event_id = $1",
                vec![P::T(event_id.to_owned())],
            ))
            .await?;
        Ok(first(&rows).cloned())
    }

    /// A resolution's delivery, by its outbox id.
    pub async fn resolution_to_deliver(&self, delivery_id: &str) -> R<Option<ResolutionToDeliver>> {
        let Some(id) = delivery_id.strip_prefix("resolution-") else {
            return Ok(None);
        };
        let rows = self
            .query_rows(st(
                "SELECT r.method, r.chosen_event, r.code, CAST(r.minutes AS TEXT), CAST(r.at_ms AS TEXT),
                        (SELECT c.event_id FROM current_records c
                          WHERE c.kind = 'upw.outcome_recorded' AND c.subject = r.subject)
                   FROM console_conflict_resolutions r WHERE r.id = $1",
                vec![P::T(id.to_owned())],
            ))
            .await?;
        let Some(r) = rows.into_iter().next() else {
            return Ok(None);
        };
        let mut it = r.into_iter();
        let mut next = || it.next().flatten();
        let method = next().unwrap_or_default();
        let chosen = next();
        let code = next();
        let minutes = next();
        let at = next();
        let current = next();
        Ok(Some(if method == "choose" {
            ResolutionToDeliver {
                base_event: chosen,
                correction: None,
            }
        } else {
            ResolutionToDeliver {
                base_event: current,
                correction: Some((
                    code.unwrap_or_default(),
                    parse_i64(minutes)?,
                    parse_i64(at)?,
                )),
            }
        }))
    }

    /// A reference item's data (JSON text).
    pub async fn reference_data(&self, entity: &str, id: &str) -> R<Option<String>> {
        let rows = self
            .query_rows(st(
                "SELECT data FROM reference WHERE entity = $1 AND id = $2",
                vec![P::T(entity.to_owned()), P::T(id.to_owned())],
            ))
            .await?;
        Ok(first(&rows).cloned())
    }
}
