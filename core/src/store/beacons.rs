//! The safety lane's queue on the device: which signed lone-worker events
//! the office's overdue clock has not yet confirmed.
//!
//! Every event of a safety-lane kind is queued in the same transaction
//! that appends it, so none can be missed; the queue is a sealed record
//! (it reveals nothing about when visits happen). The ordered push still
//! delivers the same events in their place in the chain.

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::log::{open_event, Outgoing};
use super::records::{self, Records};
use crate::crypto::keys::KeySet;
use crate::error::Result;
use crate::ids::RecordId;

/// The queue's single record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconQueue {
    /// Sequence numbers not yet confirmed by the office, in order.
    pub seqs: Vec<u64>,
    /// When the lane last reached the office (UTC ms).
    pub last_contact_ms: Option<i64>,
}

impl records::Record for BeaconQueue {
    const COLLECTION: &'static str = "beacon_queue";
}

const QUEUE_ID: &str = "0000000000000000000000000000be01";

fn queue_id() -> Result<RecordId> {
    RecordId::parse(QUEUE_ID)
}

pub(crate) fn load(conn: &Connection, keys: &KeySet) -> Result<BeaconQueue> {
    let r = Records {
        conn,
        keys,
        cache: None,
    };
    Ok(r.get::<BeaconQueue>(&queue_id()?)?
        .map(|s| s.value)
        .unwrap_or_default())
}

fn save(conn: &Connection, keys: &KeySet, q: &BeaconQueue) -> Result<()> {
    // Uncached: the queue is also saved outside a transaction (by the
    // push), where nothing could stage it.
    let r = Records {
        conn,
        keys,
        cache: None,
    };
    records::put(&r, &queue_id()?, q)?;
    Ok(())
}

/// Queues `seq` (called by the append of a safety-lane event).
pub(crate) fn enqueue(conn: &Connection, keys: &KeySet, seq: u64) -> Result<()> {
    let mut q = load(conn, keys)?;
    if !q.seqs.contains(&seq) {
        q.seqs.push(seq);
    }
    save(conn, keys, &q)
}

/// Up to `limit` queued events, oldest first, as signed. Events the
/// ordered push has already delivered leave the queue here: the office
/// applied them to its clock when it stored them.
pub(crate) fn batch(conn: &Connection, keys: &KeySet, limit: usize) -> Result<Vec<Outgoing>> {
    let mut q = load(conn, keys)?;
    let mut out = Vec::new();
    let mut keep = Vec::with_capacity(q.seqs.len());
    let mut stmt = conn.prepare_cached("SELECT id, body FROM events WHERE seq = ?1")?;
    for &seq in &q.seqs {
        if !super::log::in_outbox(conn, seq)? {
            continue;
        }
        let row: Option<(String, Vec<u8>)> = stmt
            .query_row([seq], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((id, sealed)) = row else { continue };
        keep.push(seq);
        if out.len() < limit {
            let signed = open_event(keys, seq, &id, &sealed)?;
            out.push(Outgoing { seq, id, signed });
        }
    }
    if keep.len() != q.seqs.len() {
        q.seqs = keep;
        save(conn, keys, &q)?;
    }
    Ok(out)
}

/// The office confirmed `seqs` (applied or refused) at `now`.
pub(crate) fn done(conn: &Connection, keys: &KeySet, seqs: &[u64], now: i64) -> Result<()> {
    let mut q = load(conn, keys)?;
    q.seqs.retain(|s| !seqs.contains(s));
    q.last_contact_ms = Some(now);
    save(conn, keys, &q)
}
