-- Frozen copy of schema version 1, for the upgrade test. Never edit.
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
