//! Opened record bodies kept for the life of an unlocked session, so a warm
//! read skips the SQL statement and the AES-GCM open; zeroised when the
//! session ends (lock, shred, close) and emptied on key rotation.
//!
//! The cache only ever holds committed state. A write transaction stages
//! what it puts and deletes (its own reads see it); the staged entries
//! reach the cache when the transaction commits and are dropped if it
//! rolls back. Every write to the records table goes through
//! [`super::records`], which stages it here, so no entry can go stale.

use std::collections::HashMap;
use std::fmt;

use zeroize::Zeroizing;

/// Most plaintext bytes held (committed and staged each): beyond this the
/// cache starts over rather than grow without bound.
const MAX_BYTES: usize = 8 << 20;

/// What is known of one record: its version and opened body, or that it
/// is absent.
pub(crate) type Entry = Option<(u64, Zeroizing<Vec<u8>>)>;

/// A record's cache key: collection and id.
type Key = (Box<str>, Box<str>);

enum Staged {
    /// What the transaction wrote.
    Known(Entry),
    /// Written by the transaction but not kept (over the size bound): read
    /// it from the database, and never cache what was read.
    Unknown,
}

/// The cache; see the module documentation.
#[derive(Default)]
pub(crate) struct RecordCache {
    committed: HashMap<Key, Entry>,
    committed_bytes: usize,
    staged: HashMap<Key, Staged>,
    staged_bytes: usize,
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// The record's state as this transaction sees it.
    Hit(Entry),
    /// Not known: read the database, and remember what was read.
    Miss,
    /// Written by this transaction but not kept: read the database, and do
    /// not remember it.
    Bypass,
}

fn key(collection: &str, id: &str) -> Key {
    (collection.into(), id.into())
}

fn size(e: &Entry) -> usize {
    e.as_ref().map_or(0, |(_, b)| b.len()) + 64
}

impl RecordCache {
    /// The record's state as the current transaction sees it.
    pub(crate) fn lookup(&self, collection: &str, id: &str) -> Lookup {
        let k = key(collection, id);
        match self.staged.get(&k) {
            Some(Staged::Known(e)) => return Lookup::Hit(e.clone()),
            Some(Staged::Unknown) => return Lookup::Bypass,
            None => {}
        }
        match self.committed.get(&k) {
            Some(e) => Lookup::Hit(e.clone()),
            None => Lookup::Miss,
        }
    }

    /// Remembers what a read found in the database. Only called after a
    /// [`Lookup::Miss`], so the row is not one this transaction wrote: what
    /// was read is committed state.
    pub(crate) fn remember(&mut self, collection: &str, id: &str, entry: Entry) {
        let n = size(&entry);
        if self.committed_bytes + n > MAX_BYTES {
            self.committed.clear();
            self.committed_bytes = 0;
        }
        self.committed_bytes += n;
        if let Some(old) = self.committed.insert(key(collection, id), entry) {
            self.committed_bytes -= size(&old);
        }
    }

    /// Stages a write of the current transaction (`None`: deleted).
    pub(crate) fn stage(&mut self, collection: &str, id: &str, entry: Entry) {
        let k = key(collection, id);
        if let Some(old) = self.committed.remove(&k) {
            self.committed_bytes -= size(&old);
        }
        let n = size(&entry);
        let slot = if self.staged_bytes + n > MAX_BYTES {
            Staged::Unknown
        } else {
            self.staged_bytes += n;
            Staged::Known(entry)
        };
        if let Some(Staged::Known(old)) = self.staged.insert(k, slot) {
            self.staged_bytes -= size(&old);
        }
    }

    /// The transaction committed: what it wrote is now committed state.
    pub(crate) fn commit(&mut self) {
        self.staged_bytes = 0;
        for ((collection, id), slot) in std::mem::take(&mut self.staged) {
            if let Staged::Known(entry) = slot {
                self.remember(&collection, &id, entry);
            }
        }
    }

    /// The transaction rolled back: forget what it wrote.
    pub(crate) fn rollback(&mut self) {
        self.staged.clear();
        self.staged_bytes = 0;
    }

    /// Forgets everything (each opened body is zeroised as it drops).
    pub(crate) fn clear(&mut self) {
        self.rollback();
        self.committed.clear();
        self.committed_bytes = 0;
    }

    /// How many records are cached (committed or staged).
    pub(crate) fn len(&self) -> usize {
        self.committed.len() + self.staged.len()
    }
}

impl fmt::Debug for RecordCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordCache")
            .field("records", &self.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: u64, text: &str) -> Entry {
        Some((v, Zeroizing::new(text.as_bytes().to_vec())))
    }

    fn hit(c: &RecordCache, id: &str) -> Option<Entry> {
        match c.lookup("c", id) {
            Lookup::Hit(e) => Some(e),
            Lookup::Miss | Lookup::Bypass => None,
        }
    }

    #[test]
    fn staged_writes_are_seen_then_committed_or_dropped() {
        let mut c = RecordCache::default();
        c.remember("c", "a", body(1, "one"));
        c.stage("c", "a", body(2, "two"));
        assert_eq!(hit(&c, "a"), Some(body(2, "two")));
        c.rollback();
        // The committed value was dropped when the write was staged, so a
        // rolled-back write can never leave its value behind.
        assert!(matches!(c.lookup("c", "a"), Lookup::Miss));
        c.stage("c", "a", body(2, "two"));
        c.commit();
        assert_eq!(hit(&c, "a"), Some(body(2, "two")));
        c.stage("c", "a", None);
        c.commit();
        assert_eq!(hit(&c, "a"), Some(None));
    }

    #[test]
    fn over_the_bound_a_staged_write_bypasses_and_is_never_remembered() {
        let mut c = RecordCache::default();
        let big = "x".repeat(MAX_BYTES);
        c.stage("c", "big", body(1, &big));
        assert!(matches!(c.lookup("c", "big"), Lookup::Bypass));
        c.commit();
        assert!(matches!(c.lookup("c", "big"), Lookup::Miss));
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn the_committed_side_stays_bounded() {
        let mut c = RecordCache::default();
        let chunk = "y".repeat(1 << 20);
        for i in 0..20 {
            c.remember("c", &i.to_string(), body(1, &chunk));
            assert!(c.committed_bytes <= MAX_BYTES);
        }
        assert!(c.len() < 20);
        c.clear();
        assert_eq!(c.len(), 0);
    }
}
