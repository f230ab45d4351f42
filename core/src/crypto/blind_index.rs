//! Blind indexes: keyed HMAC-SHA256 of a lookup value, so equality lookups
//! work without storing the value.
//!
//! Each (collection, purpose) pair gets its own HMAC key derived by HKDF,
//! so equal values in different indexes do not hash alike and one index
//! cannot be joined with another.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

use ring::hmac;

use super::keys::{derive, SecretKey};
use crate::error::Result;

/// Length of a blind-index term.
pub const TERM_LEN: usize = 32;

/// Computes blind-index terms.
pub struct BlindIndexer {
    root: SecretKey,
    keys: Mutex<HashMap<String, hmac::Key>>,
}

impl BlindIndexer {
    /// An indexer under `root`, itself derived from the data key.
    pub fn new(root: SecretKey) -> Self {
        Self {
            root,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The term for `value` in the index `purpose` of `collection`.
    pub fn term(&self, collection: &str, purpose: &str, value: &str) -> Result<[u8; TERM_LEN]> {
        let label = format!("{collection}\u{1f}{purpose}");
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        let key = match keys.get(&label) {
            Some(key) => key.clone(),
            None => {
                let info = format!("fieldbook/blind-index/{label}");
                let sub = derive(&self.root, info.as_bytes())?;
                let key = hmac::Key::new(hmac::HMAC_SHA256, sub.expose());
                keys.insert(label, key.clone());
                key
            }
        };
        drop(keys);
        let tag = hmac::sign(&key, value.as_bytes());
        let mut out = [0u8; TERM_LEN];
        out.copy_from_slice(tag.as_ref());
        Ok(out)
    }
}

impl fmt::Debug for BlindIndexer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndexer(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_keyed_and_scoped() {
        let root = SecretKey::random().expect("rng");
        let a = BlindIndexer::new(root.clone());
        let b = BlindIndexer::new(SecretKey::random().expect("rng"));
        let t = a.term("people", "crn", "X123456").expect("term");
        assert_eq!(t, a.term("people", "crn", "X123456").expect("term"));
        assert_ne!(t, a.term("people", "crn", "X123457").expect("term"));
        assert_ne!(t, a.term("people", "name", "X123456").expect("term"));
        assert_ne!(t, a.term("visits", "crn", "X123456").expect("term"));
        assert_ne!(t, b.term("people", "crn", "X123456").expect("term"));
    }
}
