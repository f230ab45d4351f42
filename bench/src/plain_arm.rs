//! The plain-table baseline's capture and roll-call code, shared word for
//! word by the plain SQLite arm (`fieldbook-bench`) and the SQLCipher arm
//! (`bench-sqlcipher`, which includes this file by path), so the two arms
//! differ only in the SQLite they link.

use std::time::{Duration, Instant};

use rusqlite::{params, Connection};

/// The PRAGMAs both baseline arms run on open: WAL, a durable commit per
/// statement, the 8 MiB page cache the Fieldbook store uses.
pub const PRAGMAS: &str =
    "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -8192;";

/// The check-in table of the capture baseline.
pub const CAPTURE_SCHEMA: &str = "CREATE TABLE attendance (appointment_id TEXT PRIMARY KEY, session_id TEXT, crn TEXT, arrival_ms INTEGER,
    offset_min INTEGER, identity_checked INTEGER, hi_vis_issued INTEGER, hi_vis_worn INTEGER);";

/// The plaintext tables of the roll-call baseline, holding the same JSON.
pub const ROLL_SCHEMA: &str = "CREATE TABLE projects (id TEXT PRIMARY KEY, body TEXT);
    CREATE TABLE sessions (id TEXT PRIMARY KEY, body TEXT);
    CREATE TABLE requirements (id TEXT PRIMARY KEY, crn TEXT, body TEXT);
    CREATE TABLE appointments (id TEXT PRIMARY KEY, session_id TEXT, requirement_id TEXT, body TEXT);
    CREATE INDEX ap_session ON appointments (session_id);
    CREATE INDEX ap_req ON appointments (requirement_id);
    CREATE TABLE attendance (id TEXT PRIMARY KEY, body TEXT);
    CREATE TABLE enforcement (id TEXT PRIMARY KEY, requirement_id TEXT, body TEXT);
    CREATE INDEX en_req ON enforcement (requirement_id);
    CREATE TABLE visits (id TEXT PRIMARY KEY, case_id TEXT, body TEXT);";

/// One check-in as the baseline stores it.
#[derive(Debug, Clone)]
pub struct PlainCheckIn {
    pub appointment_id: String,
    pub session_id: String,
    pub crn: String,
    pub arrival_ms: i64,
}

/// Inserts each check-in as its own durable transaction (autocommit),
/// reusing the prepared statement as a tuned plain app would; returns the
/// time of each.
pub fn capture(conn: &Connection, rows: &[PlainCheckIn]) -> rusqlite::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(rows.len());
    for r in rows {
        let t = Instant::now();
        conn.prepare_cached("INSERT INTO attendance VALUES (?1, ?2, ?3, ?4, 0, 1, 1, 1)")?
            .execute(params![r.appointment_id, r.session_id, r.crn, r.arrival_ms])?;
        samples.push(t.elapsed());
    }
    Ok(samples)
}

fn get(conn: &Connection, table: &str, id: &str) -> Option<String> {
    conn.prepare_cached(&format!("SELECT body FROM {table} WHERE id = ?1"))
        .ok()?
        .query_row([id], |r| r.get(0))
        .ok()
}

fn decode(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or(serde_json::Value::Null)
}

/// The roll call's lookups on plaintext tables: the session, its
/// appointments, each one's attendance and requirement, the person's other
/// appointments and their attendance (minutes credited to date), and
/// enforcement items; every body decoded. Returns the number of rows.
pub fn roll_call(conn: &Connection, session_id: &str) -> rusqlite::Result<usize> {
    let _session = decode(&get(conn, "sessions", session_id).unwrap_or_default());
    let rows: Vec<(String, String, String)> = conn
        .prepare_cached("SELECT id, requirement_id, body FROM appointments WHERE session_id = ?1")?
        .query_map([session_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut n = 0;
    for (appt, req, body) in rows {
        let _a = decode(&body);
        let _att = get(conn, "attendance", &appt).map(|b| decode(&b));
        let _r = decode(&get(conn, "requirements", &req).unwrap_or_default());
        let others: Vec<String> = conn
            .prepare_cached("SELECT id FROM appointments WHERE requirement_id = ?1")?
            .query_map([&req], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut credited = 0;
        for o in others {
            if let Some(b) = get(conn, "attendance", &o) {
                credited += decode(&b)["outcome"]["minutes_credited"]
                    .as_i64()
                    .unwrap_or(0);
            }
        }
        let _e: Vec<String> = conn
            .prepare_cached("SELECT body FROM enforcement WHERE requirement_id = ?1")?
            .query_map([&req], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        n += usize::from(credited >= 0);
    }
    Ok(n)
}

/// Times `iterations` roll calls of `session_id`, checking each has
/// `expect` rows.
pub fn roll_calls(
    conn: &Connection,
    session_id: &str,
    iterations: usize,
    expect: usize,
) -> rusqlite::Result<Vec<Duration>> {
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        let n = roll_call(conn, session_id)?;
        samples.push(t.elapsed());
        if n != expect {
            return Err(rusqlite::Error::QueryReturnedNoRows);
        }
    }
    Ok(samples)
}
