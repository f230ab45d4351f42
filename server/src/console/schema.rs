//! The console's tables, for SQLite and PostgreSQL, run after the main
//! schema: accounts, sessions, sign-in flows (OIDC), API keys, the
//! office's own audit log (append-only: triggers refuse any change or
//! deletion), enforcement decisions and conflict resolutions (and the index
//! that groups conflicts per record), and the indexes the pages read
//! reference data by. Safety acknowledgements live in the safety
//! lane's own tables ([`crate::safety`]).

/// SQLite.
pub const SQLITE: &str = "
CREATE TABLE IF NOT EXISTS console_accounts (
    id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,
    role TEXT NOT NULL, teams TEXT NOT NULL, password_hash TEXT, oidc_subject TEXT UNIQUE,
    failed_logins INTEGER NOT NULL DEFAULT 0, locked_until_ms INTEGER,
    disabled_ms INTEGER, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL, csrf TEXT NOT NULL,
    created_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS console_sessions_account ON console_sessions (account_id);
CREATE TABLE IF NOT EXISTS console_oidc_flows (
    state TEXT PRIMARY KEY, verifier TEXT NOT NULL, nonce TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS console_api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL, scopes TEXT NOT NULL,
    created_by TEXT NOT NULL, created_ms INTEGER NOT NULL, revoked_ms INTEGER, last_used_ms INTEGER);
CREATE TABLE IF NOT EXISTS console_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, what TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS console_audit_no_update BEFORE UPDATE ON console_audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS console_audit_no_delete BEFORE DELETE ON console_audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS console_decisions (
    id TEXT PRIMARY KEY, event_id TEXT NOT NULL, appointment_id TEXT NOT NULL,
    requirement_id TEXT, crn TEXT NOT NULL, decision TEXT NOT NULL, decision_date TEXT,
    note TEXT NOT NULL, account_id TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS console_decisions_event ON console_decisions (event_id);
CREATE INDEX IF NOT EXISTS conflicts_subject ON conflicts (kind, subject, created_ms);
CREATE TABLE IF NOT EXISTS console_conflict_resolutions (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, method TEXT NOT NULL,
    chosen_event TEXT, code TEXT, minutes INTEGER, reason TEXT NOT NULL, versions TEXT NOT NULL,
    account_id TEXT NOT NULL, at_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS console_conflict_resolutions_subject ON console_conflict_resolutions (kind, subject, at_ms);
-- The pages read reference items by a field of their data (sessions by
-- date, appointments by session): `console::data::json_field` writes
-- the same expressions, so those reads are seeks, not scans of a year.
CREATE INDEX IF NOT EXISTS reference_data_date ON reference (entity, json_extract(data, '$.date'));
CREATE INDEX IF NOT EXISTS reference_data_session ON reference (entity, json_extract(data, '$.session_id'));
-- A person's ledger reads the outcomes naming their requirement.
CREATE INDEX IF NOT EXISTS events_outcome_requirement ON events (json_extract(body, '$.payload.requirement_id'))
    WHERE kind = 'upw.outcome_recorded';
";

/// PostgreSQL.
pub const POSTGRES: &str = "
CREATE TABLE IF NOT EXISTS console_accounts (
    id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,
    role TEXT NOT NULL, teams TEXT NOT NULL, password_hash TEXT, oidc_subject TEXT UNIQUE,
    failed_logins BIGINT NOT NULL DEFAULT 0, locked_until_ms BIGINT,
    disabled_ms BIGINT, created_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash TEXT PRIMARY KEY, account_id TEXT NOT NULL, csrf TEXT NOT NULL,
    created_ms BIGINT NOT NULL, last_seen_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS console_sessions_account ON console_sessions (account_id);
CREATE TABLE IF NOT EXISTS console_oidc_flows (
    state TEXT PRIMARY KEY, verifier TEXT NOT NULL, nonce TEXT NOT NULL, created_ms BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS console_api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL, scopes TEXT NOT NULL,
    created_by TEXT NOT NULL, created_ms BIGINT NOT NULL, revoked_ms BIGINT, last_used_ms BIGINT);
CREATE TABLE IF NOT EXISTS console_audit (
    seq BIGSERIAL PRIMARY KEY, at_ms BIGINT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, what TEXT NOT NULL, subject TEXT NOT NULL, detail TEXT NOT NULL);
CREATE OR REPLACE FUNCTION console_audit_refuse() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$ LANGUAGE plpgsql;
CREATE OR REPLACE TRIGGER console_audit_append_only BEFORE UPDATE OR DELETE ON console_audit
    FOR EACH ROW EXECUTE FUNCTION console_audit_refuse();
CREATE OR REPLACE TRIGGER console_audit_no_truncate BEFORE TRUNCATE ON console_audit
    FOR EACH STATEMENT EXECUTE FUNCTION console_audit_refuse();
CREATE TABLE IF NOT EXISTS console_decisions (
    id TEXT PRIMARY KEY, event_id TEXT NOT NULL, appointment_id TEXT NOT NULL,
    requirement_id TEXT, crn TEXT NOT NULL, decision TEXT NOT NULL, decision_date TEXT,
    note TEXT NOT NULL, account_id TEXT NOT NULL, at_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS console_decisions_event ON console_decisions (event_id);
CREATE INDEX IF NOT EXISTS conflicts_subject ON conflicts (kind, subject, created_ms);
CREATE TABLE IF NOT EXISTS console_conflict_resolutions (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, subject TEXT NOT NULL, method TEXT NOT NULL,
    chosen_event TEXT, code TEXT, minutes BIGINT, reason TEXT NOT NULL, versions TEXT NOT NULL,
    account_id TEXT NOT NULL, at_ms BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS console_conflict_resolutions_subject ON console_conflict_resolutions (kind, subject, at_ms);
CREATE INDEX IF NOT EXISTS reference_data_date ON reference (entity, ((data)::jsonb ->> 'date'));
CREATE INDEX IF NOT EXISTS reference_data_session ON reference (entity, ((data)::jsonb ->> 'session_id'));
CREATE INDEX IF NOT EXISTS events_outcome_requirement ON events ((((body)::jsonb -> 'payload' ->> 'requirement_id')))
    WHERE kind = 'upw.outcome_recorded';
";
