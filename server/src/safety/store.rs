//! Safety-lane storage on either backend: one schema and one set of SQL
//! statements for both (placeholders written `$n`, SQLite reading them
//! as `?n`), run by three primitives per backend: a query, a batch of
//! statements in one transaction, and a visit's read-decide-write
//! transaction, serialised per visit (a PostgreSQL advisory lock; SQLite
//! has one writer), so with several instances each transition is decided
//! once.

use super::{Alert, Loaded, Plan, TimelineEntry, VisitClock};
use crate::db::{blocking, Db, DbError};
use crate::storage::sql::{
    decode, encode, first, lite_exec, lite_query, pg_exec, pg_query, st, Row, Stmt, P,
};

type R<T> = Result<T, DbError>;

/// The safety tables (the same SQL for SQLite and PostgreSQL).
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS safety_facts (
    event_id TEXT PRIMARY KEY, visit_id TEXT NOT NULL, received_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS safety_facts_visit ON safety_facts (visit_id);
CREATE TABLE IF NOT EXISTS safety_visits (
    visit_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, officer_id TEXT NOT NULL,
    status TEXT NOT NULL, next_check_ms BIGINT, updated_ms BIGINT NOT NULL, state TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS safety_visits_due ON safety_visits (next_check_ms);
CREATE TABLE IF NOT EXISTS safety_alerts (
    alert_id TEXT PRIMARY KEY, visit_id TEXT NOT NULL, device_id TEXT NOT NULL,
    officer_id TEXT NOT NULL, status TEXT NOT NULL, level TEXT NOT NULL,
    opened_ms BIGINT NOT NULL, updated_ms BIGINT NOT NULL, ack_pending BIGINT NOT NULL,
    state TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS safety_alerts_status ON safety_alerts (status, opened_ms);
CREATE INDEX IF NOT EXISTS safety_alerts_visit ON safety_alerts (visit_id);
CREATE INDEX IF NOT EXISTS safety_alerts_device ON safety_alerts (device_id, ack_pending);
CREATE TABLE IF NOT EXISTS safety_timeline (
    visit_id TEXT NOT NULL, n BIGINT NOT NULL, at_ms BIGINT NOT NULL,
    received_ms BIGINT NOT NULL, entry TEXT NOT NULL, PRIMARY KEY (visit_id, n));
CREATE TABLE IF NOT EXISTS safety_outbox (
    id TEXT PRIMARY KEY, alert_id TEXT NOT NULL, target TEXT NOT NULL, kind TEXT NOT NULL,
    body TEXT NOT NULL, created_ms BIGINT NOT NULL, next_attempt_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL, state TEXT NOT NULL, lease_owner TEXT, lease_until_ms BIGINT,
    delivered_ms BIGINT);
CREATE INDEX IF NOT EXISTS safety_outbox_due ON safety_outbox (state, next_attempt_ms);
CREATE TABLE IF NOT EXISTS safety_deliveries (
    outbox_id TEXT NOT NULL, attempt BIGINT NOT NULL, at_ms BIGINT NOT NULL, entry TEXT NOT NULL,
    PRIMARY KEY (outbox_id, attempt));
";

/// The statements that load one visit: clock, alerts, applied facts, the
/// officer's name.
fn load_stmts(visit_id: &str, officer_id: &str) -> Vec<Stmt> {
    let v = || P::T(visit_id.to_owned());
    vec![
        st(
            "SELECT state FROM safety_visits WHERE visit_id = $1",
            vec![v()],
        ),
        st(
            "SELECT state FROM safety_alerts WHERE visit_id = $1 ORDER BY opened_ms, alert_id",
            vec![v()],
        ),
        st(
            "SELECT event_id FROM safety_facts WHERE visit_id = $1",
            vec![v()],
        ),
        st(
            "SELECT name FROM officers WHERE id = COALESCE(
                (SELECT officer_id FROM safety_visits WHERE visit_id = $1), $2)",
            vec![v(), P::T(officer_id.to_owned())],
        ),
    ]
}

fn loaded_from(visit_id: &str, results: &[Vec<Row>]) -> R<Loaded> {
    let [clock, alerts, facts, name] = results else {
        return Err(DbError("safety: load shape".into()));
    };
    Ok(Loaded {
        visit_id: visit_id.to_owned(),
        clock: first(clock).map(|t| decode(Some(t))).transpose()?,
        alerts: alerts
            .iter()
            .map(|r| decode(r.first().and_then(|c| c.as_ref())))
            .collect::<R<_>>()?,
        facts: facts
            .iter()
            .filter_map(|r| r.first().cloned().flatten())
            .collect(),
        officer_name: first(name).cloned(),
    })
}

fn status_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn random_id() -> String {
    let mut b = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).unwrap_or(());
    hex::encode(b)
}

/// The statements that write a plan, with one outbox row per notice and
/// notifier target.
fn write_stmts(
    plan: &Plan,
    visit_id: &str,
    periods: super::Periods,
    targets: &[String],
    now: i64,
) -> R<Vec<Stmt>> {
    let mut out = Vec::new();
    for id in &plan.facts {
        out.push(st(
            "INSERT INTO safety_facts (event_id, visit_id, received_ms) VALUES ($1, $2, $3)
             ON CONFLICT (event_id) DO NOTHING",
            vec![P::T(id.clone()), P::T(visit_id.to_owned()), P::I(now)],
        ));
    }
    if let Some(c) = &plan.clock {
        out.push(clock_stmt(c, periods, now)?);
    }
    for a in &plan.alerts {
        out.push(alert_stmt(a, now)?);
    }
    for e in &plan.timeline {
        out.push(timeline_stmt(visit_id, e)?);
    }
    for n in &plan.notices {
        let body = encode(n)?;
        for t in targets {
            out.push(st(
                "INSERT INTO safety_outbox (id, alert_id, target, kind, body, created_ms,
                     next_attempt_ms, attempts, state)
                 VALUES ($1, $2, $3, $4, $5, $6, $6, 0, 'pending')",
                vec![
                    P::T(random_id()),
                    P::T(n.alert_id.clone()),
                    P::T(t.clone()),
                    P::T(status_text(&n.kind)),
                    P::T(body.clone()),
                    P::I(now),
                ],
            ));
        }
    }
    Ok(out)
}

fn clock_stmt(c: &VisitClock, periods: super::Periods, now: i64) -> R<Stmt> {
    Ok(st(
        "INSERT INTO safety_visits (visit_id, device_id, officer_id, status, next_check_ms,
             updated_ms, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (visit_id) DO UPDATE SET status = excluded.status,
             next_check_ms = excluded.next_check_ms, updated_ms = excluded.updated_ms,
             state = excluded.state",
        vec![
            P::T(c.visit_id.clone()),
            P::T(c.device_id.clone()),
            P::T(c.officer_id.clone()),
            P::T(status_text(&c.status)),
            P::OI(c.next_check_ms(&periods)),
            P::I(now),
            P::T(encode(c)?),
        ],
    ))
}

fn alert_stmt(a: &Alert, now: i64) -> R<Stmt> {
    Ok(st(
        "INSERT INTO safety_alerts (alert_id, visit_id, device_id, officer_id, status, level,
             opened_ms, updated_ms, ack_pending, state)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (alert_id) DO UPDATE SET status = excluded.status, level = excluded.level,
             updated_ms = excluded.updated_ms, ack_pending = excluded.ack_pending,
             state = excluded.state",
        vec![
            P::T(a.alert_id.clone()),
            P::T(a.visit_id.clone()),
            P::T(a.device_id.clone()),
            P::T(a.officer_id.clone()),
            P::T(status_text(&a.status)),
            P::T(status_text(&a.level)),
            P::I(a.opened_ms),
            P::I(now),
            P::I(i64::from(a.ack_pending())),
            P::T(encode(a)?),
        ],
    ))
}

fn timeline_stmt(visit_id: &str, e: &TimelineEntry) -> R<Stmt> {
    Ok(st(
        "INSERT INTO safety_timeline (visit_id, n, at_ms, received_ms, entry)
         VALUES ($1, $2, $3, $4, $5)",
        vec![
            P::T(visit_id.to_owned()),
            P::I(e.n),
            P::I(e.at_ms),
            P::I(e.received_ms),
            P::T(encode(e)?),
        ],
    ))
}

/// A notice waiting for delivery to one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Delivery id (the receiver's idempotency key).
    pub id: String,
    /// The alert.
    pub alert_id: String,
    /// The notifier target.
    pub target: String,
    /// The notice, as JSON.
    pub body: String,
    /// This attempt's number (1 for the first).
    pub attempt: i64,
}

/// One delivery attempt, as logged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Delivery id.
    pub delivery_id: String,
    /// The target.
    pub target: String,
    /// The notice kind.
    pub kind: String,
    /// Attempt number.
    pub attempt: i64,
    /// When (server time).
    pub at_ms: i64,
    /// The instance that tried.
    pub instance: String,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// `delivered`, `retry` or `failed` (gave up).
    pub outcome: String,
    /// Why it failed (no personal data: a status or an error kind).
    pub error: Option<String>,
}

impl Db {
    /// Reads one visit, decides with `decide`, and writes the plan, in one
    /// transaction that holds the visit's lock. `officer_id` names the
    /// officer for a visit not yet stored.
    pub async fn safety_mutate<E: Send + 'static>(
        &self,
        visit_id: &str,
        officer_id: &str,
        write: Writing,
        decide: impl FnOnce(&Loaded) -> Result<Plan, E> + Send + 'static,
    ) -> R<Result<Plan, E>> {
        let visit_id = visit_id.to_owned();
        let loads = load_stmts(&visit_id, officer_id);
        match self {
            Db::Sqlite(c) => {
                blocking(c, move |c| {
                    let tx =
                        c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                    let results = loads
                        .iter()
                        .map(|s| lite_query(&tx, s))
                        .collect::<R<Vec<_>>>()?;
                    let loaded = loaded_from(&visit_id, &results)?;
                    let plan = match decide(&loaded) {
                        Ok(p) => p,
                        Err(e) => return Ok(Err(e)),
                    };
                    for s in
                        write_stmts(&plan, &visit_id, write.periods, &write.targets, write.now)?
                    {
                        lite_exec(&tx, &s)?;
                    }
                    tx.commit()?;
                    Ok(Ok(plan))
                })
                .await
            }
            Db::Postgres(p) => {
                let mut client = p.get().await?;
                let tx = client.transaction().await?;
                // Serialises every decision about this visit across
                // instances: the second waits, then reads what the first
                // wrote.
                tx.execute(
                    "SELECT pg_advisory_xact_lock(7342002, hashtext($1))",
                    &[&visit_id],
                )
                .await?;
                let mut results = Vec::with_capacity(loads.len());
                for s in &loads {
                    results.push(pg_query(&*tx, s).await?);
                }
                let loaded = loaded_from(&visit_id, &results)?;
                let plan = match decide(&loaded) {
                    Ok(p) => p,
                    Err(e) => return Ok(Err(e)),
                };
                for s in write_stmts(&plan, &visit_id, write.periods, &write.targets, write.now)? {
                    pg_exec(&*tx, &s).await?;
                }
                tx.commit().await?;
                Ok(Ok(plan))
            }
        }
    }

    /// Visits whose next check is due at `now` (oldest first).
    pub async fn safety_due(&self, now: i64, limit: i64) -> R<Vec<String>> {
        let rows = self
            .query_rows(st(
                "SELECT visit_id FROM safety_visits
                  WHERE next_check_ms IS NOT NULL AND next_check_ms <= $1
                  ORDER BY next_check_ms LIMIT $2",
                vec![P::I(now), P::I(limit)],
            ))
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| r.into_iter().next().flatten())
            .collect())
    }

    /// Alerts, newest first: only the live ones (open or acknowledged)
    /// unless `all`.
    pub async fn safety_alerts(&self, all: bool, limit: i64, offset: i64) -> R<Vec<Alert>> {
        let rows = self
            .query_rows(st(
                "SELECT state FROM safety_alerts
                  WHERE CAST($1 AS BIGINT) = 1 OR status IN ('open', 'acknowledged')
                  ORDER BY opened_ms DESC, alert_id LIMIT $2 OFFSET $3",
                vec![P::I(i64::from(all)), P::I(limit), P::I(offset)],
            ))
            .await?;
        rows.iter()
            .map(|r| decode(r.first().and_then(|c| c.as_ref())))
            .collect()
    }

    /// One alert.
    pub async fn safety_alert(&self, alert_id: &str) -> R<Option<Alert>> {
        let rows = self
            .query_rows(st(
                "SELECT state FROM safety_alerts WHERE alert_id = $1",
                vec![P::T(alert_id.to_owned())],
            ))
            .await?;
        first(&rows).map(|t| decode(Some(t))).transpose()
    }

    /// A visit's clock.
    pub async fn safety_clock(&self, visit_id: &str) -> R<Option<VisitClock>> {
        let rows = self
            .query_rows(st(
                "SELECT state FROM safety_visits WHERE visit_id = $1",
                vec![P::T(visit_id.to_owned())],
            ))
            .await?;
        first(&rows).map(|t| decode(Some(t))).transpose()
    }

    /// A visit's timeline, in order.
    pub async fn safety_timeline(&self, visit_id: &str) -> R<Vec<TimelineEntry>> {
        let rows = self
            .query_rows(st(
                "SELECT entry FROM safety_timeline WHERE visit_id = $1 ORDER BY n",
                vec![P::T(visit_id.to_owned())],
            ))
            .await?;
        rows.iter()
            .map(|r| decode(r.first().and_then(|c| c.as_ref())))
            .collect()
    }

    /// Every delivery attempt for an alert's notices, in order.
    pub async fn safety_deliveries(&self, alert_id: &str) -> R<Vec<Delivery>> {
        let rows = self
            .query_rows(st(
                "SELECT d.entry FROM safety_deliveries d JOIN safety_outbox o ON o.id = d.outbox_id
                  WHERE o.alert_id = $1 ORDER BY d.at_ms, d.outbox_id, d.attempt",
                vec![P::T(alert_id.to_owned())],
            ))
            .await?;
        rows.iter()
            .map(|r| decode(r.first().and_then(|c| c.as_ref())))
            .collect()
    }

    /// Acknowledged alerts on this device's visits that it has not yet
    /// reported seeing.
    pub async fn safety_acks_for(&self, device_id: &str) -> R<Vec<Alert>> {
        let rows = self
            .query_rows(st(
                "SELECT state FROM safety_alerts WHERE device_id = $1 AND ack_pending = 1
                  ORDER BY opened_ms LIMIT 50",
                vec![P::T(device_id.to_owned())],
            ))
            .await?;
        rows.iter()
            .map(|r| decode(r.first().and_then(|c| c.as_ref())))
            .collect()
    }

    /// Claims up to `limit` notices due at `now` for `instance`, leased
    /// until `lease_until` (a crashed instance's lease runs out and another
    /// takes over). The lease condition is checked again on the row being
    /// updated, so two instances never claim the same notice.
    pub async fn safety_claim(
        &self,
        instance: &str,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> R<Vec<OutboxItem>> {
        let rows = self
            .query_rows(st(
                "UPDATE safety_outbox SET lease_owner = $1, lease_until_ms = $2,
                        attempts = attempts + 1
                  WHERE state = 'pending' AND next_attempt_ms <= $3
                    AND (lease_until_ms IS NULL OR lease_until_ms < $3)
                    AND id IN (SELECT id FROM safety_outbox
                                WHERE state = 'pending' AND next_attempt_ms <= $3
                                  AND (lease_until_ms IS NULL OR lease_until_ms < $3)
                                ORDER BY next_attempt_ms LIMIT $4)
                  RETURNING id, alert_id, target, body, CAST(attempts AS TEXT)",
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
                let mut next = || {
                    it.next()
                        .flatten()
                        .ok_or_else(|| DbError("safety: outbox row shape".into()))
                };
                Ok(OutboxItem {
                    id: next()?,
                    alert_id: next()?,
                    target: next()?,
                    body: next()?,
                    attempt: next()?
                        .parse()
                        .map_err(|_| DbError("safety: attempts".into()))?,
                })
            })
            .collect()
    }

    /// Logs an attempt and moves the notice on: delivered, retried at
    /// `retry_at`, or given up (`retry_at` of `None` after a failure).
    pub async fn safety_record_delivery(
        &self,
        item: &OutboxItem,
        delivery: &Delivery,
        retry_at: Option<i64>,
    ) -> R<()> {
        let state = match (delivery.outcome.as_str(), retry_at) {
            ("delivered", _) => "delivered",
            (_, Some(_)) => "pending",
            (_, None) => "failed",
        };
        let delivered = (state == "delivered").then_some(delivery.at_ms);
        self.run_stmts(vec![
            st(
                "INSERT INTO safety_deliveries (outbox_id, attempt, at_ms, entry)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (outbox_id, attempt) DO NOTHING",
                vec![
                    P::T(item.id.clone()),
                    P::I(item.attempt),
                    P::I(delivery.at_ms),
                    P::T(encode(delivery)?),
                ],
            ),
            st(
                "UPDATE safety_outbox SET state = $2, next_attempt_ms = $3, lease_owner = NULL,
                        lease_until_ms = NULL, delivered_ms = $4
                  WHERE id = $1",
                vec![
                    P::T(item.id.clone()),
                    P::T(state.to_owned()),
                    P::I(retry_at.unwrap_or(delivery.at_ms)),
                    P::OI(delivered),
                ],
            ),
        ])
        .await?;
        Ok(())
    }

    /// Whether reference item `entity`/`id` is in `officer`'s audience.
    pub async fn in_audience(&self, entity: &str, id: &str, officer: &str) -> R<bool> {
        let rows = self
            .query_rows(st(
                "SELECT officer_id FROM reference_audience
                  WHERE entity = $1 AND id = $2 AND officer_id = $3",
                vec![
                    P::T(entity.to_owned()),
                    P::T(id.to_owned()),
                    P::T(officer.to_owned()),
                ],
            ))
            .await?;
        Ok(!rows.is_empty())
    }

    /// Whether the office holds an event from `device_id` about `visit_id`.
    pub async fn device_has_visit(&self, device_id: &str, visit_id: &str) -> R<bool> {
        let rows = self
            .query_rows(st(
                "SELECT event_id FROM events WHERE device_id = $1 AND visit_id = $2 LIMIT 1",
                vec![P::T(device_id.to_owned()), P::T(visit_id.to_owned())],
            ))
            .await?;
        Ok(!rows.is_empty())
    }

    /// Open (unacknowledged) alerts, notices waiting to be delivered, and
    /// notices given up on: for `/metrics`.
    pub async fn safety_gauges(&self) -> R<[i64; 3]> {
        let rows = self
            .query_rows(st(
                "SELECT CAST((SELECT COUNT(*) FROM safety_alerts WHERE status = 'open') AS TEXT),
                        CAST((SELECT COUNT(*) FROM safety_outbox WHERE state = 'pending') AS TEXT),
                        CAST((SELECT COUNT(*) FROM safety_outbox WHERE state = 'failed') AS TEXT)",
                vec![],
            ))
            .await?;
        let mut out = [0; 3];
        if let Some(row) = rows.first() {
            for (o, v) in out.iter_mut().zip(row) {
                *o = v.as_deref().and_then(|t| t.parse().ok()).unwrap_or(0);
            }
        }
        Ok(out)
    }
}

/// What a write needs besides the plan.
#[derive(Debug, Clone)]
pub struct Writing {
    /// The clock's periods (for the next check time).
    pub periods: super::Periods,
    /// Notifier targets (one outbox row per notice and target).
    pub targets: Vec<String>,
    /// Now (server time).
    pub now: i64,
}
