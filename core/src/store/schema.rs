//! The on-device database's schema, connection settings and migrations.
//!
//! The schema version lives in `PRAGMA user_version`. Each upgrade step runs
//! in one IMMEDIATE transaction and rolls back on failure. A database from a
//! newer Fieldbook is refused before anything writes to it, never deleted or
//! overwritten.

use std::path::Path;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::error::{Error, Result};

/// The schema this build writes.
pub const CURRENT_VERSION: u32 = 3;

/// One upgrade step: brings a database at `to - 1` to `to`.
pub(crate) struct Step {
    pub to: u32,
    pub apply: fn(&rusqlite::Transaction<'_>) -> Result<()>,
}

/// The steps from an empty database to [`CURRENT_VERSION`].
pub(crate) const STEPS: &[Step] = &[
    Step { to: 1, apply: v1 },
    Step { to: 2, apply: v2 },
    Step { to: 3, apply: v3 },
];

/// Version 3: the outbox becomes a watermark over the event log. Every
/// event at or below `outbox_mark.acked` that has no `outbox_state` row was
/// acknowledged; above it, an event without a row is pending. Rows are kept
/// only for the exceptions: acknowledged ahead of the watermark (the safety
/// lane's events, or a batch acknowledged out of order), quarantined and
/// resolved. A capture then writes no outbox page at all: the v2 outbox
/// row was one of the ~5.8 WAL pages of every durable check-in.
fn v3(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "
        CREATE TABLE outbox_mark (
            id    INTEGER PRIMARY KEY CHECK (id = 0),
            acked INTEGER NOT NULL
        );
        -- state: 1 acknowledged above the watermark, 2 quarantined (with
        -- the office's reason), 3 resolved (a correction superseded it).
        CREATE TABLE outbox_state (
            seq    INTEGER PRIMARY KEY REFERENCES events(seq),
            state  INTEGER NOT NULL CHECK (state IN (1, 2, 3)),
            reason TEXT
        );
        ",
    )?;
    // The v2 outbox held a row for every event not acknowledged (pending,
    // quarantined, resolved); an acknowledged event had none. The watermark
    // goes just below the first pending event, or to the head when nothing
    // is pending (the retention checkpoint's when retention purged all).
    let first_pending: Option<u64> =
        tx.query_row("SELECT MIN(seq) FROM outbox WHERE state = 0", [], |r| {
            r.get(0)
        })?;
    let last_event: Option<u64> = tx.query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))?;
    let acked = match (first_pending, last_event) {
        (Some(p), _) => p - 1,
        (None, Some(last)) => last,
        (None, None) => super::log::checkpoint(tx)?.map_or(0, |c| c.seq),
    };
    tx.execute(
        "INSERT INTO outbox_mark (id, acked) VALUES (0, ?1)",
        [acked],
    )?;
    tx.execute(
        "INSERT INTO outbox_state (seq, state, reason)
         SELECT seq, state, reason FROM outbox WHERE state IN (2, 3)",
        [],
    )?;
    // Acknowledged events above the watermark need their exception row.
    tx.execute(
        "INSERT INTO outbox_state (seq, state)
         SELECT e.seq, 1 FROM events e
          WHERE e.seq > ?1 AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.seq = e.seq)",
        [acked],
    )?;
    let unknown: u64 = tx.query_row(
        "SELECT COUNT(*) FROM outbox WHERE state NOT IN (0, 2, 3)",
        [],
        |r| r.get(0),
    )?;
    if unknown > 0 {
        return Err(Error::Corrupt("outbox state unknown".into()));
    }
    tx.execute_batch("DROP TABLE outbox;")?;
    Ok(())
}

/// Version 2: outbox states for sync. 0 pending, 2 quarantined (refused by
/// the office, with a machine-readable reason), 3 resolved (a correction
/// superseded the quarantined event). Acknowledged events leave the outbox.
fn v2(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    // No index on state: the outbox holds only what the office has not
    // acknowledged, so a scan is cheap, and every capture would pay for
    // the index page in its durable commit.
    tx.execute_batch("ALTER TABLE outbox ADD COLUMN reason TEXT;")?;
    Ok(())
}

fn v1(tx: &rusqlite::Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "
        -- Plaintext columns hold only random ids, sequence numbers and
        -- non-identifying state. Everything else is sealed.
        CREATE TABLE meta (
            name  TEXT PRIMARY KEY,
            value BLOB NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE events (
            seq  INTEGER PRIMARY KEY,
            id   TEXT NOT NULL UNIQUE,
            body BLOB NOT NULL
        );
        -- Append-only: identity columns never change. (Bodies are re-sealed
        -- by key rotation only.)
        CREATE TRIGGER events_identity_fixed BEFORE UPDATE OF seq, id ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

        -- Pending for sync; written in the same transaction as the event.
        CREATE TABLE outbox (
            seq   INTEGER PRIMARY KEY REFERENCES events(seq),
            state INTEGER NOT NULL DEFAULT 0
        );

        -- Derived state and reference data, sealed per record.
        CREATE TABLE records (
            collection TEXT NOT NULL,
            id         TEXT NOT NULL,
            version    INTEGER NOT NULL,
            body       BLOB NOT NULL,
            PRIMARY KEY (collection, id)
        ) WITHOUT ROWID;

        -- Blind indexes: HMAC terms for equality lookups.
        CREATE TABLE record_index (
            collection TEXT NOT NULL,
            purpose    TEXT NOT NULL,
            term       BLOB NOT NULL,
            id         TEXT NOT NULL,
            PRIMARY KEY (collection, purpose, term, id)
        ) WITHOUT ROWID;
        CREATE INDEX record_index_by_id ON record_index (collection, id);
        ",
    )?;
    Ok(())
}

/// Maps SQLite's "this is not a database" family to [`Error::Corrupt`].
pub(crate) fn classify(err: rusqlite::Error) -> Error {
    match err.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Error::Corrupt("not a database".into()),
        Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt("malformed".into()),
        _ => Error::Sqlite(err),
    }
}

/// Opens an existing database for writing; never creates one.
pub(crate) fn open_existing(path: &Path) -> Result<Connection> {
    if !path.exists() {
        return Err(Error::NoStore);
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(classify)?;
    Ok(conn)
}

/// Opens, or creates, the database at `path`.
pub(crate) fn open_or_create(path: &Path) -> Result<Connection> {
    Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(classify)
}

/// The schema version recorded in the file.
pub(crate) fn version(conn: &Connection) -> Result<u32> {
    conn.query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))
        .map_err(classify)
}

/// Refuses a database from a newer build, before any write touches it.
pub(crate) fn refuse_newer(conn: &Connection) -> Result<u32> {
    let found = version(conn)?;
    if found > CURRENT_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    Ok(found)
}

/// Durability and hygiene settings, applied on every open.
pub(crate) fn configure(conn: &Connection) -> Result<()> {
    // WAL keeps readers off the writer's back; FULL syncs the WAL on every
    // commit, so an acknowledged capture survives power loss.
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(classify)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Corrupt(format!("journal mode {mode} refused")));
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA secure_delete = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA foreign_keys = ON;
         PRAGMA trusted_schema = OFF;
         PRAGMA cache_size = -8192;",
    )
    .map_err(classify)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // The store's queries outnumber rusqlite's default cache of 16, and a
    // statement re-prepared on every capture costs more than its crypto.
    conn.set_prepared_statement_cache_capacity(128);
    // The bundled SQLite plans with STAT4, and a plan that may depend on a
    // bound value makes SQLite re-prepare the statement whenever that value
    // changes: the blind-index lookup was re-compiled on every check-in
    // (12% of a capture's CPU in a profile). The store's queries are all
    // keyed lookups whose best plan never depends on the value.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// Runs `f` with its commits written to the WAL but not flushed
/// (`synchronous = NORMAL`): durable only from the next flushed commit.
/// Only for a write whose loss in a crash is harmless; `synchronous = FULL`
/// is back before this returns, whatever `f` did.
pub(crate) fn without_flush<R>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<R>,
) -> Result<R> {
    conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
    let out = f(conn);
    conn.execute_batch("PRAGMA synchronous = FULL;")?;
    out
}

/// Checks the file's structure: a truncated or damaged file is refused.
pub(crate) fn check_integrity(conn: &Connection) -> Result<()> {
    let result: String = conn
        .query_row("PRAGMA quick_check(1)", [], |r| r.get(0))
        .map_err(classify)?;
    if result != "ok" {
        return Err(Error::Corrupt("integrity check failed".into()));
    }
    Ok(())
}

/// Runs the steps above the file's version, each in its own IMMEDIATE
/// transaction.
pub(crate) fn migrate(conn: &mut Connection, steps: &[Step]) -> Result<()> {
    let mut current = refuse_newer(conn)?;
    for step in steps {
        if step.to <= current {
            continue;
        }
        if step.to != current + 1 {
            return Err(Error::Migration {
                to: step.to,
                source: Box::new(Error::Corrupt("missing migration step".into())),
            });
        }
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let outcome =
            (step.apply)(&tx).and_then(|()| Ok(tx.pragma_update(None, "user_version", step.to)?));
        match outcome {
            Ok(()) => tx.commit()?,
            Err(source) => {
                // Dropping the transaction rolls it back.
                drop(tx);
                return Err(Error::Migration {
                    to: step.to,
                    source: Box::new(source),
                });
            }
        }
        tracing::info!(version = step.to, "schema migrated");
        current = step.to;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn fresh_database_reaches_current_version() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, STEPS).expect("migrate");
        assert_eq!(version(&conn).expect("version"), CURRENT_VERSION);
        assert!(tables(&conn).contains(&"events".to_owned()));
        // Running again is a no-op.
        migrate(&mut conn, STEPS).expect("migrate again");
    }

    #[test]
    fn failing_step_rolls_back() {
        fn broken(tx: &rusqlite::Transaction<'_>) -> Result<()> {
            tx.execute_batch("CREATE TABLE half_done (x);")?;
            Err(Error::invalid("test", "step fails on purpose"))
        }
        let steps = [
            Step { to: 1, apply: v1 },
            Step { to: 2, apply: v2 },
            Step {
                to: 3,
                apply: broken,
            },
        ];
        let mut conn = Connection::open_in_memory().expect("open");
        let err = migrate(&mut conn, &steps).expect_err("must fail");
        assert!(matches!(err, Error::Migration { to: 3, .. }), "{err}");
        assert_eq!(version(&conn).expect("version"), 2);
        assert!(!tables(&conn).contains(&"half_done".to_owned()));
    }

    /// The version-1 schema as it shipped, frozen: upgrading it must give
    /// the same schema as a fresh database.
    const FROZEN_V1: &str = include_str!("schema_v1.sql");

    fn schema_of(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .expect("prepare");
        let rows: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("rows");
        // Layout differs between the frozen file and the code; compare the
        // statements with white space folded.
        rows.iter()
            .map(|sql| sql.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn upgraded_v1_equals_fresh() {
        let mut old = Connection::open_in_memory().expect("open");
        old.execute_batch(FROZEN_V1).expect("v1");
        old.pragma_update(None, "user_version", 1).expect("version");
        old.execute(
            "INSERT INTO events (seq, id, body) VALUES (1, 'a', x'00')",
            [],
        )
        .expect("event");
        old.execute("INSERT INTO outbox (seq, state) VALUES (1, 0)", [])
            .expect("outbox");
        migrate(&mut old, &STEPS[..2]).expect("upgrade to v2");
        let reason: Option<String> = old
            .query_row("SELECT reason FROM outbox WHERE seq = 1", [], |r| r.get(0))
            .expect("row kept");
        assert_eq!(reason, None);
        migrate(&mut old, STEPS).expect("upgrade");
        let mut fresh = Connection::open_in_memory().expect("open");
        migrate(&mut fresh, STEPS).expect("fresh");
        assert_eq!(schema_of(&old), schema_of(&fresh));
        assert_eq!(
            super::super::log::pending_seqs(&old).expect("pending"),
            vec![1]
        );
    }

    /// A v2 database: events 1 to 9; 1, 2 and 5 acknowledged (no outbox
    /// row), 3 quarantined, 4 resolved, 6 and 8 pending, 7 and 9
    /// acknowledged ahead of them (the safety lane's, say).
    fn v2_database() -> Connection {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, &STEPS[..2]).expect("v2");
        for seq in 1..=9 {
            conn.execute(
                "INSERT INTO events (seq, id, body) VALUES (?1, ?2, x'00')",
                rusqlite::params![seq, format!("e{seq}")],
            )
            .expect("event");
        }
        conn.execute_batch(
            "INSERT INTO outbox (seq, state, reason) VALUES
                (3, 2, 'unknown_appointment'), (4, 3, 'superseded'), (6, 0, NULL), (8, 0, NULL);",
        )
        .expect("outbox");
        conn
    }

    #[test]
    fn v2_outbox_upgrades_losslessly() {
        use super::super::log;
        let mut conn = v2_database();
        migrate(&mut conn, STEPS).expect("upgrade");
        assert_eq!(version(&conn).expect("version"), 3);
        assert!(!tables(&conn).contains(&"outbox".to_owned()));
        let events: u64 = conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .expect("count");
        assert_eq!(events, 9, "every event kept");
        assert_eq!(log::pending_seqs(&conn).expect("pending"), vec![6, 8]);
        assert_eq!(log::pending_count(&conn).expect("count"), 2);
        assert_eq!(log::unsent_count(&conn).expect("unsent"), 3);
        let states: Vec<(u64, i64, Option<String>)> = conn
            .prepare("SELECT seq, state, reason FROM outbox_state ORDER BY seq")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("rows");
        assert_eq!(
            states,
            vec![
                (3, log::QUARANTINED, Some("unknown_appointment".into())),
                (4, log::RESOLVED, Some("superseded".into())),
                (7, log::ACKED, None),
                (9, log::ACKED, None),
            ]
        );
        // Still the outbox's: quarantined, resolved, pending; not the
        // acknowledged ones.
        let kept: Vec<u64> = (1..=9)
            .filter(|&s| log::in_outbox(&conn, s).expect("in outbox"))
            .collect();
        assert_eq!(kept, vec![3, 4, 6, 8]);
        // Acknowledging 6 moves the watermark over 6 and 7 only; then 8
        // takes it to the head and the acknowledged rows are gone.
        log::acknowledge(&conn, &[6]).expect("ack");
        assert_eq!(log::pending_seqs(&conn).expect("pending"), vec![8]);
        log::acknowledge(&conn, &[8]).expect("ack");
        assert!(log::pending_seqs(&conn).expect("pending").is_empty());
        let rows: u64 = conn
            .query_row(
                "SELECT COUNT(*) FROM outbox_state WHERE state = ?1",
                [log::ACKED],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(rows, 0);
        let mark: u64 = conn
            .query_row("SELECT acked FROM outbox_mark", [], |r| r.get(0))
            .expect("mark");
        assert_eq!(mark, 9);
        // A new event is pending.
        conn.execute(
            "INSERT INTO events (seq, id, body) VALUES (10, 'e10', x'00')",
            [],
        )
        .expect("event");
        assert_eq!(log::pending_seqs(&conn).expect("pending"), vec![10]);
        assert_eq!(log::unsent_count(&conn).expect("unsent"), 2);
    }

    #[test]
    fn v2_with_nothing_pending_upgrades_to_the_head() {
        let mut conn = v2_database();
        conn.execute("DELETE FROM outbox WHERE state = 0", [])
            .expect("ack all");
        migrate(&mut conn, STEPS).expect("upgrade");
        let mark: u64 = conn
            .query_row("SELECT acked FROM outbox_mark", [], |r| r.get(0))
            .expect("mark");
        assert_eq!(mark, 9);
        assert!(super::super::log::pending_seqs(&conn)
            .expect("pending")
            .is_empty());
        let acked_rows: u64 = conn
            .query_row(
                "SELECT COUNT(*) FROM outbox_state WHERE state = 1",
                [],
                |r| r.get(0),
            )
            .expect("count");
        assert_eq!(acked_rows, 0);
    }

    #[test]
    fn failing_v3_rolls_back_to_v2_intact() {
        fn v3_then_crash(tx: &rusqlite::Transaction<'_>) -> Result<()> {
            v3(tx)?;
            Err(Error::invalid("test", "crash after the data moved"))
        }
        let mut conn = v2_database();
        let steps = [
            Step { to: 1, apply: v1 },
            Step { to: 2, apply: v2 },
            Step {
                to: 3,
                apply: v3_then_crash,
            },
        ];
        let err = migrate(&mut conn, &steps).expect_err("must fail");
        assert!(matches!(err, Error::Migration { to: 3, .. }), "{err}");
        assert_eq!(version(&conn).expect("version"), 2);
        let t = tables(&conn);
        assert!(t.contains(&"outbox".to_owned()));
        assert!(!t.contains(&"outbox_state".to_owned()));
        assert!(!t.contains(&"outbox_mark".to_owned()));
        let rows: u64 = conn
            .query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 4);
        // And the real step then upgrades it.
        migrate(&mut conn, STEPS).expect("upgrade");
        assert_eq!(
            super::super::log::pending_seqs(&conn).expect("pending"),
            vec![6, 8]
        );
    }

    #[test]
    fn newer_database_is_refused_untouched() {
        let mut conn = Connection::open_in_memory().expect("open");
        conn.pragma_update(None, "user_version", CURRENT_VERSION + 1)
            .expect("set");
        let err = migrate(&mut conn, STEPS).expect_err("refused");
        assert!(matches!(err, Error::SchemaTooNew { .. }));
        assert!(tables(&conn).is_empty());
    }

    fn synchronous(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("synchronous")
    }

    #[test]
    fn without_flush_restores_full_even_when_the_write_fails() {
        let dir = tempfile::tempdir().expect("tmp");
        let conn = open_or_create(&dir.path().join("db")).expect("open");
        configure(&conn).expect("configure");
        assert_eq!(synchronous(&conn), 2, "FULL");
        without_flush(&conn, |c| {
            assert_eq!(synchronous(c), 1, "NORMAL inside");
            Ok(())
        })
        .expect("ok");
        assert_eq!(synchronous(&conn), 2);
        let err = without_flush(&conn, |c| {
            c.execute_batch("INSERT INTO no_such_table VALUES (1);")?;
            Ok(())
        });
        assert!(err.is_err());
        assert_eq!(synchronous(&conn), 2, "FULL again after a failure");
    }

    #[test]
    fn events_are_append_only() {
        let mut conn = Connection::open_in_memory().expect("open");
        migrate(&mut conn, STEPS).expect("migrate");
        conn.execute(
            "INSERT INTO events (seq, id, body) VALUES (1, 'a', x'00')",
            [],
        )
        .expect("insert");
        assert!(conn.execute("DELETE FROM events", []).is_err());
        assert!(conn.execute("UPDATE events SET seq = 2", []).is_err());
    }
}
