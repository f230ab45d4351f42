//! The event log's storage: appending (in the caller's transaction),
//! reading back, chain verification, re-sealing, and the outbox: a
//! watermark over the log with rows only for its exceptions.

use rusqlite::{Connection, OptionalExtension};

use crate::clock::Clock;
use crate::crypto::keys::KeySet;
use crate::crypto::seal::Binding;
use crate::crypto::signing::DeviceKey;
use crate::error::{Error, Result};
use crate::events::{
    hash_bytes, ChainReport, ChainVerifier, EventBody, EventDraft, SignedEvent, EVENT_FORMAT,
    GENESIS_HASH,
};
use crate::ids::RecordId;

/// The last event's sequence number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    /// 0 when the log is empty.
    pub seq: u64,
    /// [`GENESIS_HASH`] when the log is empty.
    pub hash: [u8; 32],
}

impl ChainHead {
    /// The head of an empty log.
    pub const EMPTY: ChainHead = ChainHead {
        seq: 0,
        hash: GENESIS_HASH,
    };
}

/// What an append produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The event's random id.
    pub id: String,
    /// Its per-device sequence number.
    pub seq: u64,
    /// Its chain hash.
    pub hash: [u8; 32],
}

/// An event read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    /// Sequence number.
    pub seq: u64,
    /// The signed form, exactly as signed.
    pub signed: SignedEvent,
    /// The parsed body.
    pub body: EventBody,
}

fn binding(seq_text: &str, seq: u64) -> Binding<'_> {
    Binding {
        table: "events",
        record: seq_text,
        version: seq,
        column: "body",
    }
}

fn record_key(seq: u64, id: &str) -> String {
    format!("{seq}:{id}")
}

/// Who and what signs appended events.
#[derive(Clone, Copy)]
pub(crate) struct Signer<'a> {
    pub device: &'a DeviceKey,
    pub officer: &'a str,
    pub clock: &'a dyn Clock,
}

impl std::fmt::Debug for Signer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("device", self.device)
            .finish_non_exhaustive()
    }
}

/// Appends `draft` after `head` (pending for sync from then on) and
/// advances `head`. Runs inside the caller's transaction.
pub(crate) fn append(
    conn: &Connection,
    keys: &KeySet,
    signer: Signer<'_>,
    head: &mut ChainHead,
    draft: EventDraft,
) -> Result<Appended> {
    draft.validate()?;
    if let Some(target) = &draft.supersedes {
        let exists: Option<u64> = conn
            .query_row("SELECT seq FROM events WHERE id = ?1", [target], |r| {
                r.get(0)
            })
            .optional()?;
        if exists.is_none() {
            return Err(Error::invalid("supersedes", "no such event on this device"));
        }
    }
    let seq = head.seq + 1;
    let id = RecordId::random()?.to_string();
    if let Some(target) = &draft.supersedes {
        // A correction resolves a quarantined event it supersedes.
        conn.prepare_cached(
            "UPDATE outbox_state SET state = ?2 WHERE state = ?3 AND seq = (SELECT seq FROM events WHERE id = ?1)",
        )?
        .execute(rusqlite::params![target, RESOLVED, QUARANTINED])?;
    }
    let body = EventBody {
        format: EVENT_FORMAT,
        id: id.clone(),
        device: signer.device.fingerprint(),
        seq,
        officer: signer.officer.to_owned(),
        recorded_at_ms: signer.clock.now_utc_ms(),
        utc_offset_min: signer.clock.utc_offset_minutes(),
        monotonic_ms: signer.clock.monotonic_ms(),
        kind: draft.kind,
        payload: draft.payload,
        supersedes: draft.supersedes,
        reason: draft.reason,
        prev_hash: hex::encode(head.hash),
    };
    let bytes = serde_json::to_vec(&body)?;
    let signature = signer.device.sign(&bytes);
    let signed = SignedEvent { bytes, signature };
    let hash = signed.hash();
    let key = record_key(seq, &id);
    let plain = zeroize::Zeroizing::new(signed.encode());
    let sealed = keys.sealer.seal(&binding(&key, seq), &plain)?;
    // Pending for sync by being above the outbox watermark: no outbox row.
    conn.prepare_cached("INSERT INTO events (seq, id, body) VALUES (?1, ?2, ?3)")?
        .execute(rusqlite::params![seq, id, sealed])?;
    *head = ChainHead { seq, hash };
    Ok(Appended { id, seq, hash })
}

pub(crate) fn open_event(keys: &KeySet, seq: u64, id: &str, sealed: &[u8]) -> Result<SignedEvent> {
    let key = record_key(seq, id);
    let plain = zeroize::Zeroizing::new(keys.sealer.open(&binding(&key, seq), sealed)?);
    SignedEvent::decode(&plain)
}

/// The head of the log as stored.
pub(crate) fn load_head(conn: &Connection, keys: &KeySet) -> Result<ChainHead> {
    let row: Option<(u64, String, Vec<u8>)> = conn
        .query_row(
            "SELECT seq, id, body FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        // Retention may have purged every event: continue from its checkpoint.
        None => Ok(checkpoint_head(conn)?.unwrap_or(ChainHead::EMPTY)),
        Some((seq, id, body)) => {
            let signed = open_event(keys, seq, &id, &body)?;
            Ok(ChainHead {
                seq,
                hash: hash_bytes(&signed.bytes),
            })
        }
    }
}

/// Events with `seq > after`, at most `limit`, in order.
pub(crate) fn read(
    conn: &Connection,
    keys: &KeySet,
    after: u64,
    limit: u32,
) -> Result<Vec<LoggedEvent>> {
    let mut stmt = conn
        .prepare_cached("SELECT seq, id, body FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
    let rows = stmt.query_map(rusqlite::params![after, limit], |r| {
        Ok((
            r.get::<_, u64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, id, sealed) = row?;
        let signed = open_event(keys, seq, &id, &sealed)?;
        let body = signed.body()?;
        out.push(LoggedEvent { seq, signed, body });
    }
    Ok(out)
}

/// Where the kept log starts after retention purged its beginning: the
/// last purged event's sequence number and hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// Last purged sequence number.
    pub seq: u64,
    /// Its hash, hex.
    pub hash: String,
}

pub(crate) fn checkpoint(conn: &Connection) -> Result<Option<Checkpoint>> {
    super::meta::get_json(conn, super::meta::CHAIN_CHECKPOINT)
}

/// The retention checkpoint as the head the kept log continues from.
fn checkpoint_head(conn: &Connection) -> Result<Option<ChainHead>> {
    checkpoint(conn)?
        .map(|c| {
            let mut hash = [0u8; 32];
            hex::decode_to_slice(&c.hash, &mut hash)
                .map_err(|_| Error::Corrupt("retention checkpoint unreadable".into()))?;
            Ok(ChainHead { seq: c.seq, hash })
        })
        .transpose()
}

/// Walks the whole kept log (from the retention checkpoint, if any) and
/// reports the first broken link.
pub(crate) fn verify(conn: &Connection, keys: &KeySet, public_key: &[u8]) -> Result<ChainReport> {
    let (start, prev) = match checkpoint_head(conn)? {
        Some(c) => (c.seq + 1, c.hash),
        None => (1, GENESIS_HASH),
    };
    let mut verifier = ChainVerifier::new(public_key, start, prev);
    let mut after: i64 = -1;
    loop {
        let batch: Vec<(u64, String, Vec<u8>)> = {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, id, body FROM events WHERE seq > ?1 ORDER BY seq LIMIT 512",
            )?;
            let rows = stmt.query_map([after], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        if batch.is_empty() {
            return Ok(verifier.finish(None));
        }
        for (seq, id, sealed) in batch {
            after = i64::try_from(seq).unwrap_or(i64::MAX);
            let signed = open_event(keys, seq, &id, &sealed).ok();
            if let Err(broken) = verifier.check(seq, &id, signed.as_ref()) {
                return Ok(verifier.finish(Some(broken)));
            }
        }
    }
}

/// Outbox exception states (`outbox_state.state`). An event with no row is
/// acknowledged at or below the watermark (`outbox_mark.acked`) and pending
/// above it.
pub(crate) const ACKED: i64 = 1;
pub(crate) const QUARANTINED: i64 = 2;
pub(crate) const RESOLVED: i64 = 3;

/// SQL: the event `e` has no exception row. Above the watermark, that is
/// what pending means; each query binds the watermark itself (so SQLite
/// seeks straight to it rather than scanning the log from the start).
const NO_EXCEPTION: &str = "NOT EXISTS (SELECT 1 FROM outbox_state s WHERE s.seq = e.seq)";

/// The outbox watermark: every event at or below it without an exception
/// row was acknowledged.
fn watermark(conn: &Connection) -> Result<u64> {
    Ok(conn
        .prepare_cached("SELECT acked FROM outbox_mark WHERE id = 0")?
        .query_row([], |r| r.get(0))?)
}

/// Events waiting to be sent to the office.
pub(crate) fn pending_count(conn: &Connection) -> Result<u64> {
    let acked = watermark(conn)?;
    Ok(conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM events e WHERE e.seq > ?1 AND {NO_EXCEPTION}"
        ))?
        .query_row([acked], |r| r.get(0))?)
}

/// Events the office does not hold: pending or quarantined.
pub(crate) fn unsent_count(conn: &Connection) -> Result<u64> {
    let quarantined: u64 = conn
        .prepare_cached("SELECT COUNT(*) FROM outbox_state WHERE state = ?1")?
        .query_row([QUARANTINED], |r| r.get(0))?;
    Ok(pending_count(conn)? + quarantined)
}

/// Whether event `seq` is still the outbox's: pending, quarantined or
/// resolved (never purged by retention, still owed to the safety lane).
pub(crate) fn in_outbox(conn: &Connection, seq: u64) -> Result<bool> {
    let state: Option<i64> = conn
        .prepare_cached("SELECT state FROM outbox_state WHERE seq = ?1")?
        .query_row([seq], |r| r.get(0))
        .optional()?;
    Ok(match state {
        Some(state) => state != ACKED,
        None => seq > watermark(conn)? && event_exists(conn, seq)?,
    })
}

fn event_exists(conn: &Connection, seq: u64) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM events WHERE seq = ?1")?
        .query_row([seq], |_| Ok(()))
        .optional()?
        .is_some())
}

/// An event ready to push.
#[derive(Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Sequence number.
    pub seq: u64,
    /// Event id.
    pub id: String,
    /// The signed form.
    pub signed: SignedEvent,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Outgoing({}, {})", self.seq, self.id)
    }
}

/// Up to `limit` pending events after `after`, in order.
pub(crate) fn pending_batch(
    conn: &Connection,
    keys: &KeySet,
    after: u64,
    limit: u32,
) -> Result<Vec<Outgoing>> {
    let from = after.max(watermark(conn)?);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT e.seq, e.id, e.body FROM events e
          WHERE e.seq > ?1 AND {NO_EXCEPTION} ORDER BY e.seq LIMIT ?2"
    ))?;
    let rows = stmt.query_map(rusqlite::params![from, limit], |r| {
        Ok((
            r.get::<_, u64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, id, sealed) = row?;
        let signed = open_event(keys, seq, &id, &sealed)?;
        out.push(Outgoing { seq, id, signed });
    }
    Ok(out)
}

/// Marks acknowledged events (those still pending; others are left as
/// they are) and moves the watermark up over every acknowledged or
/// quarantined/resolved event directly above it, dropping the rows of the
/// acknowledged ones it passes.
pub(crate) fn acknowledge(conn: &Connection, seqs: &[u64]) -> Result<()> {
    let start = watermark(conn)?;
    let mut seqs = seqs.to_vec();
    seqs.sort_unstable();
    seqs.dedup();
    let mut pending = conn.prepare_cached(&format!(
        "SELECT 1 FROM events e WHERE e.seq = ?1 AND e.seq > ?2 AND {NO_EXCEPTION}"
    ))?;
    let mut mark = conn.prepare_cached("INSERT INTO outbox_state (seq, state) VALUES (?1, ?2)")?;
    let mut acked = start;
    for seq in seqs {
        if !pending.exists(rusqlite::params![seq, start])? {
            continue;
        }
        if seq == acked + 1 {
            // In order, the usual case: the watermark moves, no row.
            acked = seq;
        } else {
            mark.execute(rusqlite::params![seq, ACKED])?;
        }
    }
    let from = acked;
    let mut passed_acked = false;
    {
        let mut above =
            conn.prepare_cached("SELECT seq, state FROM outbox_state WHERE seq > ?1 ORDER BY seq")?;
        let mut rows = above.query([from])?;
        while let Some(row) = rows.next()? {
            let (seq, state): (u64, i64) = (row.get(0)?, row.get(1)?);
            if seq != acked + 1 {
                break;
            }
            acked = seq;
            passed_acked |= state == ACKED;
        }
    }
    if acked != start {
        if passed_acked {
            conn.prepare_cached(
                "DELETE FROM outbox_state WHERE seq > ?1 AND seq <= ?2 AND state = ?3",
            )?
            .execute(rusqlite::params![from, acked, ACKED])?;
        }
        conn.prepare_cached("UPDATE outbox_mark SET acked = ?1 WHERE id = 0")?
            .execute([acked])?;
    }
    Ok(())
}

/// Moves a refused event to quarantine with the office's reason (an event
/// already acknowledged, or not on this device, is left alone).
pub(crate) fn quarantine(conn: &Connection, seq: u64, reason: &str) -> Result<()> {
    if !in_outbox(conn, seq)? {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO outbox_state (seq, state, reason) VALUES (?1, ?2, ?3)
         ON CONFLICT (seq) DO UPDATE SET state = excluded.state, reason = excluded.reason",
    )?
    .execute(rusqlite::params![seq, QUARANTINED, reason])?;
    Ok(())
}

/// Quarantined events with their reasons.
pub(crate) fn quarantined(conn: &Connection, keys: &KeySet) -> Result<Vec<(LoggedEvent, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.seq, e.id, e.body, s.reason FROM outbox_state s JOIN events e ON e.seq = s.seq
          WHERE s.state = ?1 ORDER BY s.seq",
    )?;
    let rows = stmt.query_map([QUARANTINED], |r| {
        Ok((
            r.get::<_, u64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, id, sealed, reason) = row?;
        let signed = open_event(keys, seq, &id, &sealed)?;
        let body = signed.body()?;
        out.push((
            LoggedEvent { seq, signed, body },
            reason.unwrap_or_default(),
        ));
    }
    Ok(out)
}

/// Sequence numbers still to be sent, in order.
pub(crate) fn pending_seqs(conn: &Connection) -> Result<Vec<u64>> {
    let acked = watermark(conn)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT e.seq FROM events e WHERE e.seq > ?1 AND {NO_EXCEPTION} ORDER BY e.seq"
    ))?;
    let rows = stmt.query_map([acked], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Purges acknowledged events recorded before `cutoff_ms` from the start
/// of the log (stopping at the first one still unsent or too recent),
/// moving the checkpoint on; returns how many went.
pub(crate) fn purge_acknowledged(
    conn: &Connection,
    keys: &KeySet,
    cutoff_ms: i64,
) -> Result<(u64, Option<Checkpoint>)> {
    let mut last: Option<(u64, [u8; 32])> = None;
    let mut after = 0;
    'scan: loop {
        let batch = read(conn, keys, after, 512)?;
        if batch.is_empty() {
            break;
        }
        for e in batch {
            after = e.seq;
            if in_outbox(conn, e.seq)? || e.body.recorded_at_ms >= cutoff_ms {
                break 'scan;
            }
            last = Some((e.seq, e.signed.hash()));
        }
    }
    let Some((seq, hash)) = last else {
        return Ok((0, None));
    };
    // The append-only guard is lifted for this one statement, in this
    // transaction, and restored before it commits.
    conn.execute_batch("DROP TRIGGER events_no_delete;")?;
    conn.execute("DELETE FROM outbox_state WHERE seq <= ?1", [seq])?;
    let n = conn.execute("DELETE FROM events WHERE seq <= ?1", [seq])?;
    conn.execute_batch(
        "CREATE TRIGGER events_no_delete BEFORE DELETE ON events
         BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;",
    )?;
    let checkpoint = Checkpoint {
        seq,
        hash: hex::encode(hash),
    };
    super::meta::put_json(conn, super::meta::CHAIN_CHECKPOINT, &checkpoint)?;
    Ok((n as u64, Some(checkpoint)))
}

/// Re-seals every event under `new`, in batches.
pub(crate) fn reseal_all(conn: &Connection, old: &KeySet, new: &KeySet) -> Result<u64> {
    let mut after: i64 = -1;
    let mut count = 0;
    loop {
        let batch: Vec<(u64, String, Vec<u8>)> = {
            let mut stmt = conn.prepare_cached(
                "SELECT seq, id, body FROM events WHERE seq > ?1 ORDER BY seq LIMIT 512",
            )?;
            let rows = stmt.query_map([after], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        if batch.is_empty() {
            return Ok(count);
        }
        for (seq, id, sealed) in batch {
            after = i64::try_from(seq).unwrap_or(i64::MAX);
            let key = record_key(seq, &id);
            let b = binding(&key, seq);
            let plain = zeroize::Zeroizing::new(old.sealer.open(&b, &sealed)?);
            let resealed = new.sealer.seal(&b, &plain)?;
            conn.prepare_cached("UPDATE events SET body = ?2 WHERE seq = ?1")?
                .execute(rusqlite::params![seq, resealed])?;
            count += 1;
        }
    }
}

/// Used by tests that play an attacker holding the data key: seals
/// `signed` into row `seq`/`id` exactly as the store would.
#[doc(hidden)]
pub fn seal_event_row(keys: &KeySet, seq: u64, id: &str, signed: &SignedEvent) -> Result<Vec<u8>> {
    keys.sealer
        .seal(&binding(&record_key(seq, id), seq), &signed.encode())
}
