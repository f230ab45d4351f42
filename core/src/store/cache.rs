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

/// The cache through the store: never stale, emptied on lock and rotation.
#[cfg(test)]
mod store_tests {
    use std::sync::Arc;

    use serde::{Deserialize, Serialize};

    use crate::clock::ManualClock;
    use crate::error::Error;
    use crate::ids::RecordId;
    use crate::platform::SoftwareKeyStore;
    use crate::store::{Record, Store, StoreSettings};

    const PIN: &str = "274913";

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Note {
        text: String,
        tag: String,
    }

    impl Record for Note {
        const COLLECTION: &'static str = "test_note";
        fn index_terms(&self) -> Vec<(&'static str, String)> {
            vec![("tag", self.tag.clone())]
        }
    }

    fn note(text: &str) -> Note {
        Note {
            text: text.into(),
            tag: "t".into(),
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tmp");
        let mut settings = StoreSettings::new("sup");
        settings.kdf_iterations = 1000;
        let store = Store::create(
            &dir.path().join("db"),
            settings,
            PIN,
            Arc::new(SoftwareKeyStore::random().expect("rng")),
            Arc::new(ManualClock::new(1_795_424_400_000)),
        )
        .expect("store");
        (dir, store)
    }

    fn get(store: &Store, id: &RecordId) -> Option<(u64, String)> {
        store
            .read(|r| r.records().get::<Note>(id))
            .expect("read")
            .map(|s| (s.version, s.value.text))
    }

    fn find(store: &Store) -> Vec<String> {
        store
            .read(|r| r.records().find::<Note>("tag", "t"))
            .expect("find")
            .into_iter()
            .map(|s| s.value.text)
            .collect()
    }

    #[test]
    fn reads_after_a_write_never_see_the_old_value() {
        let (_dir, store) = store();
        let id = RecordId::random().expect("rng");
        assert_eq!(get(&store, &id), None);
        store.write(|w| w.put(&id, &note("one"))).expect("put");
        assert_eq!(get(&store, &id), Some((1, "one".into())));
        assert!(store.cached_records() > 0, "the read was cached");
        store.write(|w| w.put(&id, &note("two"))).expect("put");
        assert_eq!(get(&store, &id), Some((2, "two".into())));
        assert_eq!(find(&store), vec!["two".to_owned()]);
        store
            .write(|w| w.remove::<Note>(&id).map(|_| ()))
            .expect("remove");
        assert_eq!(get(&store, &id), None);
        assert!(find(&store).is_empty());
        // A write's own later reads see what it wrote.
        let seen = store
            .write(|w| {
                w.put(&id, &note("three"))?;
                w.records().get::<Note>(&id)
            })
            .expect("write");
        assert_eq!(seen.map(|s| s.value.text), Some("three".into()));
        assert_eq!(get(&store, &id), Some((1, "three".into())));
    }

    #[test]
    fn a_rolled_back_write_leaves_nothing_in_the_cache() {
        let (_dir, store) = store();
        let id = RecordId::random().expect("rng");
        store.write(|w| w.put(&id, &note("kept"))).expect("put");
        assert_eq!(get(&store, &id), Some((1, "kept".into())));
        let err = store
            .write(|w| {
                w.put(&id, &note("dropped"))?;
                let inside = w.records().require::<Note>(&id)?;
                assert_eq!(inside.value.text, "dropped");
                Err::<(), _>(Error::invalid("test", "fails on purpose"))
            })
            .expect_err("rolled back");
        assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
        assert_eq!(get(&store, &id), Some((1, "kept".into())));
        assert_eq!(find(&store), vec!["kept".to_owned()]);
        // The version the cache reports for the next put is the stored one.
        assert_eq!(store.write(|w| w.put(&id, &note("next"))).expect("put"), 2);
    }

    #[test]
    fn lock_empties_the_cache_and_unlock_starts_cold() {
        let (_dir, store) = store();
        let id = RecordId::random().expect("rng");
        store.write(|w| w.put(&id, &note("one"))).expect("put");
        assert_eq!(get(&store, &id), Some((1, "one".into())));
        assert!(store.cached_records() > 0);
        store.lock();
        assert_eq!(store.cached_records(), 0);
        assert!(matches!(
            store.read(|r| r.records().get::<Note>(&id)),
            Err(Error::Locked)
        ));
        store.unlock(PIN).expect("unlock");
        assert_eq!(store.cached_records(), 0, "a new session starts empty");
        assert_eq!(get(&store, &id), Some((1, "one".into())));
    }

    #[test]
    fn key_rotation_empties_the_cache() {
        let (_dir, store) = store();
        let id = RecordId::random().expect("rng");
        store.write(|w| w.put(&id, &note("one"))).expect("put");
        assert_eq!(get(&store, &id), Some((1, "one".into())));
        assert!(store.cached_records() > 0);
        store.rotate_data_key(PIN).expect("rotate");
        assert_eq!(store.cached_records(), 0);
        assert_eq!(get(&store, &id), Some((1, "one".into())));
        assert_eq!(find(&store), vec!["one".to_owned()]);
    }
}
