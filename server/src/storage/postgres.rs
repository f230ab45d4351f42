//! Ingest storage on PostgreSQL: reads the facts a batch needs and writes
//! the plan, in one transaction, one statement per table, the reads sent
//! as one pipeline and the writes as another.
//!
//! Several server instances share the database, so two locks make the
//! decisions hold: the device's row (`FOR UPDATE`) serialises that
//! device's pushes, and a transaction-scoped advisory lock per conflict
//! subject (appointment) serialises pushes from different devices about
//! the same subject. Facts are read only once both are held; under READ
//! COMMITTED each later statement then sees every earlier holder's
//! committed events, so no cross-device pair goes unrecorded.

use std::collections::HashMap;

use fieldbook_core::sync::protocol::PushResult;

use crate::db::DbError;
use crate::ingest::{decide_batch, Batch, ConflictSubject, Facts, Needs, Plan};
use crate::payload::kinds;

type R<T> = Result<T, DbError>;

/// First key of the two-key advisory locks taken on conflict subjects
/// ("FB" + 1). Two-key locks never collide with the one-key lock that
/// guards schema creation.
const SUBJECT_LOCK_SPACE: i32 = 0x4642_0001;

/// The second advisory-lock key of a subject: 32 bits of SHA-256 over its
/// kind and id. A collision only serialises two unrelated subjects.
pub fn subject_lock_key(s: &ConflictSubject) -> i32 {
    let mut input = Vec::with_capacity(s.kind.len() + s.id.len() + 1);
    input.extend_from_slice(s.kind.as_bytes());
    input.push(0);
    input.extend_from_slice(s.id.as_bytes());
    let d = ring::digest::digest(&ring::digest::SHA256, &input);
    let b = d.as_ref();
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The lock keys for `subjects`, in ascending order without repeats: every
/// transaction takes them in this one order, so none waits in a cycle.
pub fn lock_keys(subjects: &[ConflictSubject]) -> Vec<i32> {
    let mut keys: Vec<i32> = subjects.iter().map(subject_lock_key).collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// A statement's answer, boxed so that a batch's statements of different
/// shapes go out in one pipeline.
type Pending<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>>
            + Send
            + 'a,
    >,
>;

/// What each answer of the facts pipeline is.
#[derive(Debug, Clone, Copy)]
enum FactQuery {
    Device,
    AppointmentRefs,
    DeviceAppointments,
    OwnRefused,
    Superseded,
    SubjectLocks,
    Known,
    Audience,
    Visits,
    Others,
}

/// Sends `statements` down the connection as one pipeline, in order, and
/// waits for every answer: one round trip instead of one each.
/// tokio-postgres writes each request when its future is first polled,
/// and `try_join_all` polls them in order, so PostgreSQL runs them in the
/// order given (a lock before the reads that must follow it).
async fn pipeline(statements: Vec<Pending<'_>>) -> R<Vec<Vec<tokio_postgres::Row>>> {
    Ok(futures_util::future::try_join_all(statements).await?)
}

/// A statement queued for a pipeline (its parameters borrowed for as
/// long as the answer is awaited).
fn queue<'a>(
    tx: &'a deadpool_postgres::Transaction<'_>,
    statement: &'a tokio_postgres::Statement,
    params: &[&'a (dyn tokio_postgres::types::ToSql + Sync)],
) -> Pending<'a> {
    let params = params.to_vec();
    Box::pin(async move { tx.query(statement, &params).await })
}

async fn read_facts(
    tx: &deadpool_postgres::Transaction<'_>,
    b: &Batch<'_>,
    needs: &Needs,
) -> R<Facts> {
    // Prepared first (once per pooled connection): a statement prepared
    // inside the pipeline would take its own round trip and could run
    // after statements queued behind it.
    let device_lock = tx
        .prepare_cached("SELECT last_seq, last_hash FROM devices WHERE id = $1 FOR UPDATE")
        .await?;
    let known = tx
        .prepare_cached("SELECT event_id, reason FROM chain_links WHERE event_id = ANY($1)")
        .await?;
    let appointment_refs = tx.prepare_cached("SELECT id, data FROM reference WHERE entity = 'upw_appointment' AND id = ANY($1) AND data IS NOT NULL").await?;
    let device_appointments = tx.prepare_cached("SELECT appointment_id, session_id FROM events WHERE appointment_id = ANY($1) AND device_id = $2 AND kind = $3").await?;
    let own_refused = tx.prepare_cached("SELECT event_id FROM chain_links WHERE event_id = ANY($1) AND device_id = $2 AND reason IS NOT NULL").await?;
    let superseded = tx.prepare_cached("SELECT event_id, device_id, kind, COALESCE(appointment_id, visit_id) FROM events WHERE event_id = ANY($1)").await?;
    // One statement, the keys in array order (a function scan keeps it):
    // the locks are taken one after the other, ascending.
    let subject_locks = tx.prepare_cached("SELECT pg_advisory_xact_lock($1, k) FROM unnest($2::int4[]) WITH ORDINALITY AS t(k, n) ORDER BY n").await?;
    let audience = tx
        .prepare_cached(
            "SELECT a.entity, a.id FROM reference_audience a
               JOIN UNNEST($1::text[], $2::text[]) AS t(e, i) ON a.entity = t.e AND a.id = t.i
              WHERE a.officer_id = $3",
        )
        .await?;
    let visits = tx.prepare_cached("SELECT DISTINCT visit_id FROM events WHERE visit_id = ANY($1) AND device_id = $2 AND kind = $3").await?;
    let others = tx
        .prepare_cached(
            "SELECT appointment_id, event_id FROM events
              WHERE appointment_id = ANY($1) AND kind = $2 AND device_id <> $3
              ORDER BY appointment_id, received_ms, device_id, seq",
        )
        .await?;

    let keys = lock_keys(&needs.subjects);
    let entities: Vec<&str> = needs.audience.iter().map(|(e, _)| *e).collect();
    let audience_ids: Vec<&str> = needs.audience.iter().map(|(_, i)| i.as_str()).collect();
    let subject_ids: Vec<&str> = needs.subjects.iter().map(|s| s.id.as_str()).collect();
    let device_id = &b.device.id;

    // In this order: the device row lock first (it serialises this
    // device's pushes across instances), the subject locks before every
    // read that depends on them, as when each statement was its own round
    // trip.
    let mut what = vec![FactQuery::Device];
    let mut sent: Vec<Pending<'_>> = vec![queue(tx, &device_lock, &[device_id])];
    if !needs.appointments.is_empty() {
        what.push(FactQuery::AppointmentRefs);
        sent.push(queue(tx, &appointment_refs, &[&needs.appointments]));
        what.push(FactQuery::DeviceAppointments);
        sent.push(queue(
            tx,
            &device_appointments,
            &[&needs.appointments, device_id, &kinds::UNALLOCATED_ARRIVAL],
        ));
    }
    if !needs.superseded.is_empty() {
        what.push(FactQuery::OwnRefused);
        sent.push(queue(tx, &own_refused, &[&needs.superseded, device_id]));
        what.push(FactQuery::Superseded);
        sent.push(queue(tx, &superseded, &[&needs.superseded]));
    }
    if !keys.is_empty() {
        what.push(FactQuery::SubjectLocks);
        sent.push(queue(tx, &subject_locks, &[&SUBJECT_LOCK_SPACE, &keys]));
    }
    what.push(FactQuery::Known);
    sent.push(queue(tx, &known, &[&needs.event_ids]));
    if !needs.audience.is_empty() {
        what.push(FactQuery::Audience);
        sent.push(queue(
            tx,
            &audience,
            &[&entities, &audience_ids, &b.device.officer_id],
        ));
    }
    if !needs.visits.is_empty() {
        what.push(FactQuery::Visits);
        sent.push(queue(
            tx,
            &visits,
            &[&needs.visits, device_id, &kinds::VISIT_STARTED],
        ));
    }
    if !needs.subjects.is_empty() {
        what.push(FactQuery::Others);
        sent.push(queue(
            tx,
            &others,
            &[&subject_ids, &kinds::OUTCOME_RECORDED, device_id],
        ));
    }
    let answers = pipeline(sent).await?;

    let mut facts = Facts {
        officer_id: b.device.officer_id.clone(),
        device_of_batch: Some(b.device.id.clone()),
        ..Facts::default()
    };
    let by_id: HashMap<&str, &ConflictSubject> =
        needs.subjects.iter().map(|s| (s.id.as_str(), s)).collect();
    for (query, rows) in what.into_iter().zip(answers) {
        match query {
            FactQuery::Device => {
                let [row] = rows.as_slice() else {
                    return Err(DbError("ingest: the device row is missing".into()));
                };
                let last_seq: i64 = row.try_get(0)?;
                facts.last_seq = u64::try_from(last_seq).unwrap_or(0);
                facts.last_hash = row.try_get(1)?;
            }
            FactQuery::AppointmentRefs => {
                for r in rows {
                    let (id, data): (String, String) = (r.try_get(0)?, r.try_get(1)?);
                    if let Some(a) = crate::ingest::appointment_ref(&data) {
                        facts.appointments.insert(id, a);
                    }
                }
            }
            FactQuery::DeviceAppointments => {
                for r in rows {
                    let (id, session): (String, Option<String>) = (r.try_get(0)?, r.try_get(1)?);
                    if let Some(session) = session {
                        facts.device_appointments.insert(id, session);
                    }
                }
            }
            FactQuery::OwnRefused => {
                for r in rows {
                    facts.own_refused.insert(r.try_get(0)?);
                }
            }
            FactQuery::Superseded => {
                for r in rows {
                    let kind: Option<String> = r.try_get(2)?;
                    facts.superseded.insert(
                        r.try_get(0)?,
                        crate::ingest::SupersededRef {
                            device_id: r.try_get(1)?,
                            kind: kind.unwrap_or_default(),
                            subject: r.try_get(3)?,
                        },
                    );
                }
            }
            FactQuery::SubjectLocks => {}
            FactQuery::Known => {
                for r in rows {
                    facts.known.insert(r.try_get(0)?, r.try_get(1)?);
                }
            }
            FactQuery::Audience => {
                for r in rows {
                    let (entity, id): (String, String) = (r.try_get(0)?, r.try_get(1)?);
                    if let Some((e, _)) = needs
                        .audience
                        .iter()
                        .find(|(e, i)| *e == entity && *i == id)
                    {
                        facts.in_audience.insert((e, id));
                    }
                }
            }
            FactQuery::Visits => {
                for r in rows {
                    facts.visits_started.insert(r.try_get(0)?);
                }
            }
            FactQuery::Others => {
                for r in rows {
                    let appointment: String = r.try_get(0)?;
                    if let Some(s) = by_id.get(appointment.as_str()) {
                        facts
                            .others_on
                            .entry((*s).clone())
                            .or_default()
                            .push(r.try_get(1)?);
                    }
                }
            }
        }
    }
    Ok(facts)
}

async fn write_plan(
    tx: &deadpool_postgres::Transaction<'_>,
    b: &Batch<'_>,
    plan: &Plan<'_>,
) -> R<()> {
    // Deliveries to the system of record, in the same transaction.
    for s in crate::delivery::outbox::enqueue_stmts(plan, b.now) {
        crate::storage::sql::pg_exec(&**tx, &s).await?;
    }
    let insert_events = tx.prepare_cached("INSERT INTO events (event_id, device_id, seq, officer_id, kind, recorded_ms, received_ms, supersedes,
                session_id, case_id, visit_id, appointment_id, body, signature)
             SELECT e, $2, s, o, k, r, $3, sup, ses, c, v, a, b, sig
               FROM UNNEST($1::text[], $4::bigint[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[],
                           $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
                 AS t(e, s, o, k, r, sup, ses, c, v, a, b, sig)").await?;
    let upsert_current = tx.prepare_cached("INSERT INTO current_records (kind, subject, event_id, received_ms)
             SELECT k, s, e, $4 FROM UNNEST($1::text[], $2::text[], $3::text[]) AS t(k, s, e)
             ON CONFLICT (kind, subject) DO UPDATE SET event_id = excluded.event_id, received_ms = excluded.received_ms").await?;
    let insert_links = tx.prepare_cached("INSERT INTO chain_links (device_id, seq, event_id, hash, status, reason)
             SELECT $1, s, e, h, st, r FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(s, e, h, st, r)").await?;
    let insert_conflicts = tx
        .prepare_cached(
            "INSERT INTO conflicts (kind, subject, event_a, event_b, created_ms)
             SELECT k, s, a, b, $5 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS t(k, s, a, b, n)
              ORDER BY n
             ON CONFLICT DO NOTHING",
        )
        .await?;
    let update_device = tx
        .prepare_cached(
            "UPDATE devices SET last_seq = $2, last_hash = $3, last_sync_ms = $4 WHERE id = $1",
        )
        .await?;

    let text = |f: &dyn Fn(&crate::ingest::NewEvent<'_>) -> Option<String>| {
        plan.events.iter().map(f).collect::<Vec<Option<String>>>()
    };
    let event_ids: Vec<&str> = plan.events.iter().map(|e| e.event.id.as_str()).collect();
    let event_seqs: Vec<i64> = plan
        .events
        .iter()
        .map(|e| i64::try_from(e.event.seq).unwrap_or(i64::MAX))
        .collect();
    let officers = text(&|e| e.event.parsed.as_ref().map(|b| b.officer.clone()));
    let event_kinds = text(&|e| e.event.parsed.as_ref().map(|b| b.kind.clone()));
    let recorded: Vec<Option<i64>> = plan
        .events
        .iter()
        .map(|e| e.event.parsed.as_ref().map(|b| b.recorded_at_ms))
        .collect();
    let supersedes = text(&|e| e.event.parsed.as_ref().and_then(|b| b.supersedes.clone()));
    let sessions = text(&|e| e.subject.session_id.clone());
    let cases = text(&|e| e.subject.case_id.clone());
    let visits = text(&|e| e.subject.visit_id.clone());
    let appointments = text(&|e| e.subject.appointment_id.clone());
    let bodies: Vec<&str> = plan.events.iter().map(|e| e.event.body.as_str()).collect();
    let sigs: Vec<&str> = plan
        .events
        .iter()
        .map(|e| e.event.signature.as_str())
        .collect();

    let current = crate::ingest::projections(plan);
    let current_kinds: Vec<&str> = current.iter().map(|(k, _, _)| *k).collect();
    let current_subjects: Vec<&str> = current.iter().map(|(_, s, _)| s.as_str()).collect();
    let current_ids: Vec<&str> = current.iter().map(|(_, _, e)| *e).collect();

    let link_seqs: Vec<i64> = plan.links.iter().map(|l| l.seq).collect();
    let link_ids: Vec<&str> = plan.links.iter().map(|l| l.event_id.as_str()).collect();
    let hashes: Vec<&str> = plan.links.iter().map(|l| l.hash.as_str()).collect();
    let statuses: Vec<&str> = plan
        .links
        .iter()
        .map(|l| {
            if l.refused.is_some() {
                "rejected"
            } else {
                "accepted"
            }
        })
        .collect();
    let reasons: Vec<Option<&str>> = plan
        .links
        .iter()
        .map(|l| l.refused.map(|r| r.as_str()))
        .collect();

    let conflict_kinds: Vec<&str> = plan.conflicts.iter().map(|c| c.subject.kind).collect();
    let conflict_subjects: Vec<&str> = plan
        .conflicts
        .iter()
        .map(|c| c.subject.id.as_str())
        .collect();
    let conflict_a: Vec<&str> = plan.conflicts.iter().map(|c| c.event_a.as_str()).collect();
    let conflict_b: Vec<&str> = plan.conflicts.iter().map(|c| c.event_b.as_str()).collect();

    // Every write of the plan in one pipeline (one round trip); the
    // transaction makes them one change.
    let mut sent: Vec<Pending<'_>> = Vec::new();
    if !plan.events.is_empty() {
        sent.push(queue(
            tx,
            &insert_events,
            &[
                &event_ids,
                &b.device.id,
                &b.now,
                &event_seqs,
                &officers,
                &event_kinds,
                &recorded,
                &supersedes,
                &sessions,
                &cases,
                &visits,
                &appointments,
                &bodies,
                &sigs,
            ],
        ));
    }
    if !current.is_empty() {
        sent.push(queue(
            tx,
            &upsert_current,
            &[&current_kinds, &current_subjects, &current_ids, &b.now],
        ));
    }
    if !plan.links.is_empty() {
        sent.push(queue(
            tx,
            &insert_links,
            &[
                &b.device.id,
                &link_seqs,
                &link_ids,
                &hashes,
                &statuses,
                &reasons,
            ],
        ));
    }
    if !plan.conflicts.is_empty() {
        sent.push(queue(
            tx,
            &insert_conflicts,
            &[
                &conflict_kinds,
                &conflict_subjects,
                &conflict_a,
                &conflict_b,
                &b.now,
            ],
        ));
    }
    sent.push(queue(
        tx,
        &update_device,
        &[&b.device.id, &plan.last_seq, &plan.last_hash, &b.now],
    ));
    pipeline(sent).await?;
    Ok(())
}

/// Ingests a batch in one transaction; one result per event. The
/// statements are prepared once per pooled connection (`prepare_cached`):
/// a query passed as text costs a prepare round trip every time. The
/// facts go out as one pipeline and the writes as another, so a batch
/// costs four round trips (begin, facts, writes, commit) whatever it
/// holds.
pub async fn ingest(client: &mut deadpool_postgres::Object, b: &Batch<'_>) -> R<Vec<PushResult>> {
    let needs = Needs::of(b.events);
    let tx = client.transaction().await?;
    let facts = read_facts(&tx, b, &needs).await?;
    let plan = decide_batch(facts, b.events);
    write_plan(&tx, b, &plan).await?;
    tx.commit().await?;
    Ok(plan.results)
}
