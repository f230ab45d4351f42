//! The `meta` table: the key envelope, the sealed canary, the sealed device
//! key and officer id, and the plaintext lock-out counter and policy.

use rusqlite::{Connection, OptionalExtension};

use crate::crypto::seal::{Binding, Sealer};
use crate::error::Result;

pub(crate) const KEY_ENVELOPE: &str = "key_envelope";
pub(crate) const CANARY: &str = "canary";
pub(crate) const DEVICE_KEY: &str = "device_key";
pub(crate) const OFFICER: &str = "officer";
pub(crate) const LOCKOUT_STATE: &str = "lockout_state";
pub(crate) const LOCKOUT_POLICY: &str = "lockout_policy";
pub(crate) const OFFICE_RESET: &str = "office_reset_sha256";
pub(crate) const SYNC_DEADLINE: &str = "sync_deadline_ms";
pub(crate) const CHAIN_CHECKPOINT: &str = "chain_checkpoint";

/// Names of the sealed meta values (re-sealed by key rotation).
pub(crate) const SEALED: &[&str] = &[CANARY, DEVICE_KEY, OFFICER];

/// The canary's plaintext: opening it proves the data key is this store's.
pub(crate) const CANARY_VALUE: &[u8] = b"fieldbook canary v1";

pub(crate) fn binding(name: &str) -> Binding<'_> {
    Binding {
        table: "meta",
        record: name,
        version: 0,
        column: "value",
    }
}

pub(crate) fn get(conn: &Connection, name: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?)
}

pub(crate) fn put(conn: &Connection, name: &str, value: &[u8]) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        rusqlite::params![name, value],
    )?;
    Ok(())
}

pub(crate) fn delete(conn: &Connection, name: &str) -> Result<()> {
    conn.execute("DELETE FROM meta WHERE name = ?1", [name])?;
    Ok(())
}

pub(crate) fn get_sealed(
    conn: &Connection,
    sealer: &Sealer,
    name: &str,
) -> Result<Option<Vec<u8>>> {
    match get(conn, name)? {
        Some(sealed) => Ok(Some(sealer.open(&binding(name), &sealed)?)),
        None => Ok(None),
    }
}

pub(crate) fn put_sealed(
    conn: &Connection,
    sealer: &Sealer,
    name: &str,
    value: &[u8],
) -> Result<()> {
    let sealed = sealer.seal(&binding(name), value)?;
    put(conn, name, &sealed)
}

pub(crate) fn get_json<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    name: &str,
) -> Result<Option<T>> {
    match get(conn, name)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

pub(crate) fn put_json<T: serde::Serialize>(
    conn: &Connection,
    name: &str,
    value: &T,
) -> Result<()> {
    put(conn, name, &serde_json::to_vec(value)?)
}
