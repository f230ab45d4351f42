//! The event log's storage: appending (with its outbox entry, in the
//! caller's transaction), reading back, chain verification and re-sealing.

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

/// Appends `draft` after `head`, writes its outbox entry, and advances
/// `head`. Runs inside the caller's transaction.
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
            "UPDATE outbox SET state = ?2 WHERE state = ?3 AND seq = (SELECT seq FROM events WHERE id = ?1)",
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
    conn.prepare_cached("INSERT INTO events (seq, id, body) VALUES (?1, ?2, ?3)")?
        .execute(rusqlite::params![seq, id, sealed])?;
    conn.prepare_cached("INSERT INTO outbox (seq, state) VALUES (?1, 0)")?
        .execute([seq])?;
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

/// Outbox states.
pub(crate) const PENDING: i64 = 0;
pub(crate) const QUARANTINED: i64 = 2;
pub(crate) const RESOLVED: i64 = 3;

/// Events waiting to be sent to the office.
pub(crate) fn pending_count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM outbox WHERE state = ?1",
        [PENDING],
        |r| r.get(0),
    )?)
}

/// Events the office does not hold: pending or quarantined.
pub(crate) fn unsent_count(conn: &Connection) -> Result<u64> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM outbox WHERE state IN (?1, ?2)",
        [PENDING, QUARANTINED],
        |r| r.get(0),
    )?)
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
    let mut stmt = conn.prepare_cached(
        "SELECT e.seq, e.id, e.body FROM outbox o JOIN events e ON e.seq = o.seq
          WHERE o.state = ?1 AND o.seq > ?2 ORDER BY o.seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(rusqlite::params![PENDING, after, limit], |r| {
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

/// Removes acknowledged events from the outbox.
pub(crate) fn acknowledge(conn: &Connection, seqs: &[u64]) -> Result<()> {
    let mut stmt = conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1 AND state = ?2")?;
    for seq in seqs {
        stmt.execute(rusqlite::params![seq, PENDING])?;
    }
    Ok(())
}

/// Moves a refused event to quarantine with the office's reason.
pub(crate) fn quarantine(conn: &Connection, seq: u64, reason: &str) -> Result<()> {
    conn.execute(
        "UPDATE outbox SET state = ?2, reason = ?3 WHERE seq = ?1",
        rusqlite::params![seq, QUARANTINED, reason],
    )?;
    Ok(())
}

/// Quarantined events with their reasons.
pub(crate) fn quarantined(conn: &Connection, keys: &KeySet) -> Result<Vec<(LoggedEvent, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.seq, e.id, e.body, o.reason FROM outbox o JOIN events e ON e.seq = o.seq
          WHERE o.state = ?1 ORDER BY o.seq",
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
    let mut stmt = conn.prepare_cached("SELECT seq FROM outbox WHERE state = 0 ORDER BY seq")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
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
            let unsent: bool = conn
                .prepare_cached("SELECT 1 FROM outbox WHERE seq = ?1")?
                .query_row([e.seq], |_| Ok(()))
                .optional()?
                .is_some();
            if unsent || e.body.recorded_at_ms >= cutoff_ms {
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
    conn.execute("DELETE FROM outbox WHERE seq <= ?1", [seq])?;
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
