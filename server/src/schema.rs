//! The office database schema, for SQLite and PostgreSQL.
//!
//! Events are stored once each (the event id is the primary key, the
//! device and sequence number unique). `chain_links` keeps every link of
//! every device's chain, including refused events (hash only, no content),
//! so the chain can be checked across them. Reference data carries a
//! cursor for pulls and an audience per officer (with a restricted flag).
//! `nonces.seen_ms` holds the request's signed timestamp (the purge is
//! keyed on it, see `Db::use_nonce`).

/// SQLite schema.
pub const SQLITE: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS officers (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enrolment_codes (
    code_hash TEXT PRIMARY KEY, officer_id TEXT NOT NULL,
    expires_ms INTEGER NOT NULL, used_ms INTEGER);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, officer_id TEXT NOT NULL, public_key TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL, enrolled_ms INTEGER NOT NULL, revoked_ms INTEGER,
    final_push_allowed INTEGER NOT NULL DEFAULT 1, shredded_ms INTEGER,
    last_seq INTEGER NOT NULL DEFAULT 0, last_hash TEXT NOT NULL, last_sync_ms INTEGER);
CREATE TABLE IF NOT EXISTS nonces (
    device_id TEXT NOT NULL, nonce TEXT NOT NULL, seen_ms INTEGER NOT NULL,
    PRIMARY KEY (device_id, nonce));
CREATE TABLE IF NOT EXISTS chain_links (
    device_id TEXT NOT NULL, seq INTEGER NOT NULL, event_id TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    PRIMARY KEY (device_id, seq));
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, seq INTEGER NOT NULL,
    officer_id TEXT NOT NULL, kind TEXT NOT NULL, recorded_ms INTEGER NOT NULL,
    received_ms INTEGER NOT NULL, supersedes TEXT, session_id TEXT, case_id TEXT,
    visit_id TEXT, appointment_id TEXT, body TEXT NOT NULL, signature TEXT NOT NULL,
    UNIQUE (device_id, seq));
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, received_ms);
CREATE INDEX IF NOT EXISTS events_appointment ON events (appointment_id);
CREATE INDEX IF NOT EXISTS events_visit ON events (visit_id);
CREATE TABLE IF NOT EXISTS conflicts (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL,
    event_a TEXT NOT NULL, event_b TEXT NOT NULL, created_ms INTEGER NOT NULL,
    UNIQUE (event_a, event_b));
CREATE TABLE IF NOT EXISTS reference (
    entity TEXT NOT NULL, id TEXT NOT NULL, data TEXT, cursor INTEGER NOT NULL,
    PRIMARY KEY (entity, id));
CREATE INDEX IF NOT EXISTS reference_cursor ON reference (cursor);
CREATE TABLE IF NOT EXISTS reference_audience (
    entity TEXT NOT NULL, id TEXT NOT NULL, officer_id TEXT NOT NULL,
    restricted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (entity, id, officer_id));
CREATE INDEX IF NOT EXISTS audience_officer ON reference_audience (officer_id, entity, id);
CREATE TABLE IF NOT EXISTS reference_tombstones (
    entity TEXT NOT NULL, id TEXT NOT NULL, officer_id TEXT NOT NULL, cursor INTEGER NOT NULL,
    PRIMARY KEY (entity, id, officer_id));
CREATE INDEX IF NOT EXISTS tombstones_officer ON reference_tombstones (officer_id, cursor);
CREATE TABLE IF NOT EXISTS current_records (
    kind TEXT NOT NULL, subject TEXT NOT NULL, event_id TEXT NOT NULL, received_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, subject));
CREATE INDEX IF NOT EXISTS current_records_order ON current_records (kind, received_ms, subject);
-- Keys enrolled before they were normalised: lower-case hex, unless the
-- lower-case spelling is enrolled too (then the office sees both).
UPDATE devices SET public_key = lower(public_key)
 WHERE public_key <> lower(public_key)
   AND lower(public_key) NOT IN (SELECT public_key FROM devices);
";

/// Columns added after the first release, for SQLite (which has no
/// `ADD COLUMN IF NOT EXISTS`): table, column, definition.
pub const SQLITE_ADDED_COLUMNS: &[(&str, &str, &str)] = &[(
    "devices",
    "final_push_until_ms",
    "final_push_until_ms INTEGER",
)];

/// PostgreSQL schema.
pub const POSTGRES: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS officers (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enrolment_codes (
    code_hash TEXT PRIMARY KEY, officer_id TEXT NOT NULL,
    expires_ms BIGINT NOT NULL, used_ms BIGINT);
CREATE TABLE IF NOT EXISTS devices (
    id TEXT PRIMARY KEY, officer_id TEXT NOT NULL, public_key TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL, enrolled_ms BIGINT NOT NULL, revoked_ms BIGINT,
    final_push_allowed BOOLEAN NOT NULL DEFAULT TRUE, shredded_ms BIGINT,
    last_seq BIGINT NOT NULL DEFAULT 0, last_hash TEXT NOT NULL, last_sync_ms BIGINT);
CREATE TABLE IF NOT EXISTS nonces (
    device_id TEXT NOT NULL, nonce TEXT NOT NULL, seen_ms BIGINT NOT NULL,
    PRIMARY KEY (device_id, nonce));
CREATE TABLE IF NOT EXISTS chain_links (
    device_id TEXT NOT NULL, seq BIGINT NOT NULL, event_id TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,
    PRIMARY KEY (device_id, seq));
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, seq BIGINT NOT NULL,
    officer_id TEXT NOT NULL, kind TEXT NOT NULL, recorded_ms BIGINT NOT NULL,
    received_ms BIGINT NOT NULL, supersedes TEXT, session_id TEXT, case_id TEXT,
    visit_id TEXT, appointment_id TEXT, body TEXT NOT NULL, signature TEXT NOT NULL,
    UNIQUE (device_id, seq));
CREATE INDEX IF NOT EXISTS events_kind ON events (kind, received_ms);
CREATE INDEX IF NOT EXISTS events_appointment ON events (appointment_id);
CREATE INDEX IF NOT EXISTS events_visit ON events (visit_id);
CREATE TABLE IF NOT EXISTS conflicts (
    id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL,
    event_a TEXT NOT NULL, event_b TEXT NOT NULL, created_ms BIGINT NOT NULL,
    UNIQUE (event_a, event_b));
CREATE SEQUENCE IF NOT EXISTS reference_cursor_seq;
CREATE TABLE IF NOT EXISTS reference (
    entity TEXT NOT NULL, id TEXT NOT NULL, data TEXT, cursor BIGINT NOT NULL,
    PRIMARY KEY (entity, id));
CREATE INDEX IF NOT EXISTS reference_cursor ON reference (cursor);
CREATE TABLE IF NOT EXISTS reference_audience (
    entity TEXT NOT NULL, id TEXT NOT NULL, officer_id TEXT NOT NULL,
    restricted BOOLEAN NOT NULL DEFAULT FALSE, PRIMARY KEY (entity, id, officer_id));
CREATE INDEX IF NOT EXISTS audience_officer ON reference_audience (officer_id, entity, id);
CREATE TABLE IF NOT EXISTS reference_tombstones (
    entity TEXT NOT NULL, id TEXT NOT NULL, officer_id TEXT NOT NULL, cursor BIGINT NOT NULL,
    PRIMARY KEY (entity, id, officer_id));
CREATE INDEX IF NOT EXISTS tombstones_officer ON reference_tombstones (officer_id, cursor);
CREATE TABLE IF NOT EXISTS current_records (
    kind TEXT NOT NULL, subject TEXT NOT NULL, event_id TEXT NOT NULL, received_ms BIGINT NOT NULL,
    PRIMARY KEY (kind, subject));
CREATE INDEX IF NOT EXISTS current_records_order ON current_records (kind, received_ms, subject);
ALTER TABLE devices ADD COLUMN IF NOT EXISTS final_push_until_ms BIGINT;
-- Keys enrolled before they were normalised: lower-case hex, unless the
-- lower-case spelling is enrolled too (then the office sees both).
UPDATE devices SET public_key = lower(public_key)
 WHERE public_key <> lower(public_key)
   AND lower(public_key) NOT IN (SELECT public_key FROM devices);
";

/// Fills the office-read projection from the event log once, for a
/// database written before the projection existed (both dialects).
pub const BACKFILL_CURRENT: &str = "
INSERT INTO current_records (kind, subject, event_id, received_ms)
SELECT kind, subject, event_id, received_ms FROM (
    SELECT e.kind AS kind,
           CASE WHEN e.kind = 'upw.outcome_recorded' THEN e.appointment_id ELSE e.visit_id END AS subject,
           e.event_id AS event_id, e.received_ms AS received_ms,
           ROW_NUMBER() OVER (PARTITION BY e.kind,
               CASE WHEN e.kind = 'upw.outcome_recorded' THEN e.appointment_id ELSE e.visit_id END
               ORDER BY e.received_ms DESC, e.device_id DESC, e.seq DESC) AS n
      FROM events e
     WHERE e.kind IN ('upw.outcome_recorded', 'visit.recorded', 'visit.safety')
       AND NOT EXISTS (SELECT 1 FROM current_records)
) AS latest
WHERE n = 1 AND subject IS NOT NULL;
";
