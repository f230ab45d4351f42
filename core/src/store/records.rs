//! Sealed records: derived state and reference data, one sealed JSON body
//! per row, found by random id or through blind indexes.
//!
//! A record type says which collection it lives in and which of its values
//! are looked up by equality; the store seals the body (binding collection,
//! id and version) and writes an HMAC term per lookup value. The lookup
//! values are kept inside the sealed body too, so key rotation can
//! recompute the terms without knowing the record's type.

use std::cell::RefCell;

use rusqlite::{Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::cache::{Entry, Lookup, RecordCache};
use crate::crypto::keys::KeySet;
use crate::crypto::seal::{Binding, Sealer};
use crate::error::{Error, Result};
use crate::ids::RecordId;

/// A type stored as sealed records.
pub trait Record: Serialize + DeserializeOwned {
    /// The collection's name: lowercase, non-identifying (e.g. `session`).
    const COLLECTION: &'static str;

    /// `(purpose, value)` pairs to look this record up by, e.g.
    /// `("crn", "X123456")`. Normalise values here.
    fn index_terms(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }
}

/// A record as read back: id, version and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored<T> {
    /// The record's random id.
    pub id: RecordId,
    /// Starts at 1; each put adds one.
    pub version: u64,
    /// The record.
    pub value: T,
}

#[derive(Serialize, Deserialize)]
struct Body<T> {
    #[serde(rename = "i")]
    index: Vec<(String, String)>,
    #[serde(rename = "d")]
    data: T,
}

pub(crate) fn binding<'a>(collection: &'a str, id: &'a str, version: u64) -> Binding<'a> {
    Binding {
        table: "records",
        record: id,
        version,
        column: collection,
    }
}

fn open_plain(
    keys: &KeySet,
    collection: &str,
    id: &str,
    version: u64,
    sealed: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    Ok(zeroize::Zeroizing::new(
        keys.sealer
            .open(&binding(collection, id, version), sealed)?,
    ))
}

fn decode<T: DeserializeOwned>(id: &str, version: u64, plain: &[u8]) -> Result<Stored<T>> {
    let body: Body<T> = serde_json::from_slice(plain)?;
    Ok(Stored {
        id: RecordId::parse(id)?,
        version,
        value: body.data,
    })
}

/// Read access to records.
#[derive(Debug, Clone, Copy)]
pub struct Records<'a> {
    pub(crate) conn: &'a Connection,
    pub(crate) keys: &'a KeySet,
    /// The session's cache of opened bodies; `None` reads the database
    /// every time (the safety lane's queue, written outside transactions).
    pub(crate) cache: Option<&'a RefCell<RecordCache>>,
}

impl Records<'_> {
    fn lookup(&self, collection: &str, id: &str) -> Lookup {
        self.cache
            .map_or(Lookup::Bypass, |c| c.borrow().lookup(collection, id))
    }

    /// The stored version and opened body of a record, through the cache.
    fn opened(&self, collection: &str, id: &str) -> Result<Entry> {
        let lookup = self.lookup(collection, id);
        if let Lookup::Hit(e) = lookup {
            return Ok(e);
        }
        let row: Option<(u64, Vec<u8>)> = self
            .conn
            .prepare_cached("SELECT version, body FROM records WHERE collection = ?1 AND id = ?2")?
            .query_row(rusqlite::params![collection, id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let entry = match row {
            Some((version, sealed)) => Some((
                version,
                open_plain(self.keys, collection, id, version, &sealed)?,
            )),
            None => None,
        };
        if let (Lookup::Miss, Some(c)) = (lookup, self.cache) {
            c.borrow_mut().remember(collection, id, entry.clone());
        }
        Ok(entry)
    }

    /// A row read with its body: opened from the cache when it holds this
    /// version, else opened (and remembered).
    fn open_read_row<T: Record>(&self, id: &str, version: u64, sealed: &[u8]) -> Result<Stored<T>> {
        let lookup = self.lookup(T::COLLECTION, id);
        if let Lookup::Hit(Some((v, plain))) = &lookup {
            if *v == version {
                return decode(id, version, plain);
            }
        }
        let plain = open_plain(self.keys, T::COLLECTION, id, version, sealed)?;
        let out = decode(id, version, &plain);
        if let (Lookup::Miss, Some(c)) = (lookup, self.cache) {
            c.borrow_mut()
                .remember(T::COLLECTION, id, Some((version, plain)));
        }
        out
    }
}

impl<'a> Records<'a> {
    /// The record with `id`, if present.
    pub fn get<T: Record>(&self, id: &RecordId) -> Result<Option<Stored<T>>> {
        self.opened(T::COLLECTION, id.as_str())?
            .map(|(version, plain)| decode(id.as_str(), version, &plain))
            .transpose()
    }

    /// The record with `id`, or [`Error::NotFound`].
    pub fn require<T: Record>(&self, id: &RecordId) -> Result<Stored<T>> {
        self.get(id)?
            .ok_or_else(|| Error::NotFound(T::COLLECTION.to_owned()))
    }

    /// Records whose lookup `purpose` equals `value`, in id order.
    pub fn find<T: Record>(&self, purpose: &str, value: &str) -> Result<Vec<Stored<T>>> {
        let term = self.keys.indexer.term(T::COLLECTION, purpose, value)?;
        let mut stmt = self.conn.prepare_cached(
            // CROSS JOIN fixes the order: seek the blind index first, then
            // each record by its key. Left to itself the planner walks every
            // record of the collection (it prefers the ORDER BY's index).
            "SELECT r.id, r.version, r.body
               FROM record_index i
               CROSS JOIN records r ON r.collection = i.collection AND r.id = i.id
              WHERE i.collection = ?1 AND i.purpose = ?2 AND i.term = ?3
              ORDER BY i.id",
        )?;
        let rows = stmt.query_map(
            rusqlite::params![T::COLLECTION, purpose, &term[..]],
            row_triple,
        )?;
        self.open_all(rows)
    }

    fn open_all<T: Record>(
        &self,
        rows: impl Iterator<Item = rusqlite::Result<(String, u64, Vec<u8>)>>,
    ) -> Result<Vec<Stored<T>>> {
        let mut out = Vec::new();
        for row in rows {
            let (id, version, body) = row?;
            out.push(self.open_read_row(&id, version, &body)?);
        }
        Ok(out)
    }

    /// The ids of records whose lookup `purpose` equals `value`, in id
    /// order, read from the blind index alone (no record is opened).
    pub fn find_ids<T: Record>(&self, purpose: &str, value: &str) -> Result<Vec<RecordId>> {
        let term = self.keys.indexer.term(T::COLLECTION, purpose, value)?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM record_index WHERE collection = ?1 AND purpose = ?2 AND term = ?3 ORDER BY id",
        )?;
        let rows = stmt.query_map(rusqlite::params![T::COLLECTION, purpose, &term[..]], |r| {
            r.get::<_, String>(0)
        })?;
        let mut out = Vec::new();
        for id in rows {
            out.push(RecordId::parse(&id?)?);
        }
        Ok(out)
    }

    /// Every record of the collection, in id order.
    pub fn all<T: Record>(&self) -> Result<Vec<Stored<T>>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, version, body FROM records WHERE collection = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([T::COLLECTION], row_triple)?;
        self.open_all(rows)
    }
}

fn row_triple(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, u64, Vec<u8>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

/// Writes a record; returns its new version.
pub(crate) fn put<T: Record>(records: &Records<'_>, id: &RecordId, value: &T) -> Result<u64> {
    let Records { conn, keys, cache } = *records;
    let current: Option<u64> = match records.lookup(T::COLLECTION, id.as_str()) {
        // The cache knows the version (or that there is none): one
        // statement fewer per capture.
        Lookup::Hit(e) => e.map(|(v, _)| v),
        Lookup::Miss | Lookup::Bypass => conn
            .prepare_cached("SELECT version FROM records WHERE collection = ?1 AND id = ?2")?
            .query_row(rusqlite::params![T::COLLECTION, id.as_str()], |r| r.get(0))
            .optional()?,
    };
    let version = current.unwrap_or(0) + 1;
    let index: Vec<(String, String)> = value
        .index_terms()
        .into_iter()
        .map(|(p, v)| (p.to_owned(), v))
        .collect();
    let body = Body { index, data: value };
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(&body)?);
    let sealed = keys
        .sealer
        .seal(&binding(T::COLLECTION, id.as_str(), version), &plain)?;
    conn.prepare_cached(
        "INSERT INTO records (collection, id, version, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (collection, id) DO UPDATE SET version = excluded.version, body = excluded.body",
    )?
    .execute(rusqlite::params![T::COLLECTION, id.as_str(), version, sealed])?;
    if version > 1 || !body.index.is_empty() {
        write_index(conn, keys, T::COLLECTION, id.as_str(), &body.index)?;
    }
    if let Some(c) = cache {
        c.borrow_mut()
            .stage(T::COLLECTION, id.as_str(), Some((version, plain)));
    }
    Ok(version)
}

/// Removes a record and its index terms; returns whether it existed.
pub(crate) fn delete(records: &Records<'_>, collection: &str, id: &RecordId) -> Result<bool> {
    let conn = records.conn;
    if let Some(c) = records.cache {
        c.borrow_mut().stage(collection, id.as_str(), None);
    }
    conn.execute(
        "DELETE FROM record_index WHERE collection = ?1 AND id = ?2",
        rusqlite::params![collection, id.as_str()],
    )?;
    let n = conn.execute(
        "DELETE FROM records WHERE collection = ?1 AND id = ?2",
        rusqlite::params![collection, id.as_str()],
    )?;
    Ok(n > 0)
}

fn write_index(
    conn: &Connection,
    keys: &KeySet,
    collection: &str,
    id: &str,
    index: &[(String, String)],
) -> Result<()> {
    conn.prepare_cached("DELETE FROM record_index WHERE collection = ?1 AND id = ?2")?
        .execute(rusqlite::params![collection, id])?;
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO record_index (collection, purpose, term, id) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (purpose, value) in index {
        let term = keys.indexer.term(collection, purpose, value)?;
        insert.execute(rusqlite::params![collection, purpose, &term[..], id])?;
    }
    Ok(())
}

/// Re-seals every record under `new` and recomputes its index terms, in
/// batches so memory stays bounded.
pub(crate) fn reseal_all(conn: &Connection, old: &KeySet, new: &KeySet) -> Result<u64> {
    let mut after = (String::new(), String::new());
    let mut count = 0;
    loop {
        let batch: Vec<(String, String, u64, Vec<u8>)> = {
            let mut stmt = conn.prepare_cached(
                "SELECT collection, id, version, body FROM records
                  WHERE (collection, id) > (?1, ?2) ORDER BY collection, id LIMIT 256",
            )?;
            let rows = stmt.query_map(rusqlite::params![after.0, after.1], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        let Some(last) = batch.last() else { break };
        after = (last.0.clone(), last.1.clone());
        for (collection, id, version, sealed) in batch {
            let b = binding(&collection, &id, version);
            let plain = zeroize::Zeroizing::new(old.sealer.open(&b, &sealed)?);
            let body: Body<serde_json::Value> = serde_json::from_slice(&plain)?;
            let resealed = reseal(&new.sealer, &b, &plain)?;
            conn.prepare_cached("UPDATE records SET body = ?3 WHERE collection = ?1 AND id = ?2")?
                .execute(rusqlite::params![collection, id, resealed])?;
            write_index(conn, new, &collection, &id, &body.index)?;
            count += 1;
        }
    }
    Ok(count)
}

fn reseal(sealer: &Sealer, b: &Binding<'_>, plain: &[u8]) -> Result<Vec<u8>> {
    sealer.seal(b, plain)
}
