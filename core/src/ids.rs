//! Random identifiers: the only values allowed in plaintext columns besides
//! sequence numbers and non-identifying state.

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A random 128-bit identifier, shown as 32 lowercase hex digits.
///
/// Records and events are keyed by these, never by a natural key such as a
/// case reference, so the database's plaintext columns reveal nothing.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RecordId(String);

impl RecordId {
    /// A fresh identifier from the system's secure random source.
    pub fn random() -> Result<Self> {
        let mut bytes = [0u8; 16];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::Crypto("random source failed"))?;
        Ok(Self(hex::encode(bytes)))
    }

    /// Parses an identifier received from elsewhere (the server, a shell).
    pub fn parse(text: &str) -> Result<Self> {
        let ok = text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(Error::invalid("id", "must be 32 lowercase hex digits"))
        }
    }

    /// The identifier's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RecordId {
    type Error = Error;
    fn try_from(value: String) -> Result<Self> {
        Self::parse(&value)
    }
}

impl From<RecordId> for String {
    fn from(value: RecordId) -> Self {
        value.0
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_parse_and_differ() {
        let a = RecordId::random().expect("rng");
        let b = RecordId::random().expect("rng");
        assert_ne!(a, b);
        assert_eq!(RecordId::parse(a.as_str()).expect("parse"), a);
    }

    #[test]
    fn rejects_non_hex_and_wrong_length() {
        assert!(RecordId::parse("X123").is_err());
        assert!(RecordId::parse(&"A".repeat(32)).is_err());
        assert!(RecordId::parse(&"a".repeat(31)).is_err());
    }
}
