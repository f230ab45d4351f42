//! Ingest storage on SQLite: reads the facts a batch needs and writes the
//! plan, in one IMMEDIATE transaction. The single writer lock serialises
//! every push, so the subject locks of PostgreSQL have no counterpart here.

use rusqlite::OptionalExtension;

use crate::db::DbError;
use crate::ingest::{decide_batch, Batch, Facts, Needs, Plan};
use crate::payload::kinds;
use fieldbook_core::sync::protocol::PushResult;

type R<T> = Result<T, DbError>;

fn read_facts(tx: &rusqlite::Transaction<'_>, b: &Batch<'_>, needs: &Needs) -> R<Facts> {
    let (last_seq, last_hash): (i64, String) = tx.query_row(
        "SELECT last_seq, last_hash FROM devices WHERE id = ?1",
        [&b.device.id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut facts = Facts {
        last_seq: u64::try_from(last_seq).unwrap_or(0),
        last_hash,
        officer_id: b.device.officer_id.clone(),
        device_of_batch: Some(b.device.id.clone()),
        ..Facts::default()
    };
    {
        let mut s = tx.prepare_cached(
            "SELECT data FROM reference WHERE entity = 'upw_appointment' AND id = ?1 AND data IS NOT NULL",
        )?;
        let mut mine = tx.prepare_cached(
            "SELECT session_id FROM events WHERE appointment_id = ?1 AND device_id = ?2 AND kind = ?3",
        )?;
        for id in &needs.appointments {
            let data: Option<String> = s.query_row([id], |r| r.get(0)).optional()?;
            if let Some(r) = data.as_deref().and_then(crate::ingest::appointment_ref) {
                facts.appointments.insert(id.clone(), r);
            }
            let session: Option<Option<String>> = mine
                .query_row(
                    [id.as_str(), &b.device.id, kinds::UNALLOCATED_ARRIVAL],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(Some(session)) = session {
                facts.device_appointments.insert(id.clone(), session);
            }
        }
        let mut old = tx.prepare_cached(
            "SELECT device_id, kind, COALESCE(appointment_id, visit_id) FROM events WHERE event_id = ?1",
        )?;
        let mut refused = tx.prepare_cached(
            "SELECT 1 FROM chain_links WHERE event_id = ?1 AND device_id = ?2 AND reason IS NOT NULL",
        )?;
        for id in &needs.superseded {
            if refused
                .query_row([id, &b.device.id], |_| Ok(()))
                .optional()?
                .is_some()
            {
                facts.own_refused.insert(id.clone());
            }
            let found = old
                .query_row([id], |r| {
                    Ok(crate::ingest::SupersededRef {
                        device_id: r.get(0)?,
                        kind: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        subject: r.get(2)?,
                    })
                })
                .optional()?;
            if let Some(found) = found {
                facts.superseded.insert(id.clone(), found);
            }
        }
    }
    {
        let mut s = tx.prepare_cached("SELECT reason FROM chain_links WHERE event_id = ?1")?;
        for id in &needs.event_ids {
            let link: Option<Option<String>> = s.query_row([id], |r| r.get(0)).optional()?;
            if let Some(reason) = link {
                facts.known.insert(id.clone(), reason);
            }
        }
    }
    {
        let mut s = tx.prepare_cached(
            "SELECT 1 FROM reference_audience WHERE entity = ?1 AND id = ?2 AND officer_id = ?3",
        )?;
        for (entity, id) in &needs.audience {
            let found = s
                .query_row([entity, id.as_str(), b.device.officer_id.as_str()], |_| {
                    Ok(())
                })
                .optional()?;
            if found.is_some() {
                facts.in_audience.insert((entity, id.clone()));
            }
        }
    }
    {
        let mut s = tx.prepare_cached(
            "SELECT 1 FROM events WHERE visit_id = ?1 AND device_id = ?2 AND kind = ?3",
        )?;
        for v in &needs.visits {
            let found = s
                .query_row([v, &b.device.id, kinds::VISIT_STARTED], |_| Ok(()))
                .optional()?;
            if found.is_some() {
                facts.visits_started.insert(v.clone());
            }
        }
    }
    {
        let mut s = tx.prepare_cached(
            "SELECT event_id FROM events WHERE appointment_id = ?1 AND kind = ?3 AND device_id <> ?2",
        )?;
        for subject in &needs.subjects {
            let others: Vec<String> = s
                .query_map(
                    [subject.id.as_str(), &b.device.id, kinds::OUTCOME_RECORDED],
                    |r| r.get(0),
                )?
                .collect::<Result<_, _>>()?;
            if !others.is_empty() {
                facts.others_on.insert(subject.clone(), others);
            }
        }
    }
    Ok(facts)
}

fn write_plan(tx: &rusqlite::Transaction<'_>, b: &Batch<'_>, plan: &Plan<'_>) -> R<()> {
    let mut ev_stmt = tx.prepare_cached(
        "INSERT INTO events (event_id, device_id, seq, officer_id, kind, recorded_ms, received_ms, supersedes,
            session_id, case_id, visit_id, appointment_id, body, signature)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    for new in &plan.events {
        let (ev, s) = (new.event, &new.subject);
        let body = ev.parsed.as_ref();
        ev_stmt.execute(rusqlite::params![
            ev.id,
            b.device.id,
            ev.seq,
            body.map(|b| b.officer.clone()),
            body.map(|b| b.kind.clone()),
            body.map(|b| b.recorded_at_ms),
            b.now,
            body.and_then(|b| b.supersedes.clone()),
            s.session_id,
            s.case_id,
            s.visit_id,
            s.appointment_id,
            ev.body,
            ev.signature
        ])?;
    }
    let mut current = tx.prepare_cached(
        "INSERT INTO current_records (kind, subject, event_id, received_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, subject) DO UPDATE SET event_id = excluded.event_id, received_ms = excluded.received_ms",
    )?;
    for (kind, subject, event_id) in crate::ingest::projections(plan) {
        current.execute(rusqlite::params![kind, subject, event_id, b.now])?;
    }
    // Deliveries to the system of record, in the same transaction.
    for s in crate::delivery::outbox::enqueue_stmts(plan, b.now) {
        crate::storage::sql::lite_exec(tx, &s)?;
    }
    let mut link_stmt = tx.prepare_cached(
        "INSERT INTO chain_links (device_id, seq, event_id, hash, status, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for l in &plan.links {
        let status = if l.refused.is_some() {
            "rejected"
        } else {
            "accepted"
        };
        link_stmt.execute(rusqlite::params![
            b.device.id,
            l.seq,
            l.event_id,
            l.hash,
            status,
            l.refused.map(|r| r.as_str())
        ])?;
    }
    let mut conflict_stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO conflicts (kind, subject, event_a, event_b, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for c in &plan.conflicts {
        conflict_stmt.execute(rusqlite::params![
            c.subject.kind,
            c.subject.id,
            c.event_a,
            c.event_b,
            b.now
        ])?;
    }
    tx.execute(
        "UPDATE devices SET last_seq = ?2, last_hash = ?3, last_sync_ms = ?4 WHERE id = ?1",
        rusqlite::params![b.device.id, plan.last_seq, plan.last_hash, b.now],
    )?;
    Ok(())
}

/// Ingests a batch in one transaction; one result per event.
pub fn ingest(c: &mut rusqlite::Connection, b: &Batch<'_>) -> R<Vec<PushResult>> {
    let needs = Needs::of(b.events);
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let facts = read_facts(&tx, b, &needs)?;
    let plan = decide_batch(facts, b.events);
    write_plan(&tx, b, &plan)?;
    tx.commit()?;
    Ok(plan.results)
}
