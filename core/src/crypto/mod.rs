//! Cryptography for the on-device store, built only from `ring`.
//!
//! - [`keys`]: the random data key and the per-purpose keys derived from it.
//! - [`seal`]: AES-256-GCM sealing with associated data that binds each
//!   value to its table, row, version and column.
//! - [`kdf`]: PBKDF2-HMAC-SHA256 for the officer's PIN.
//! - [`envelope`]: the versioned, doubly wrapped form in which the data key
//!   is stored.
//! - [`blind_index`]: keyed hashes for equality lookups.
//! - [`signing`]: the device's Ed25519 key that signs every event.

pub mod blind_index;
pub mod envelope;
pub mod kdf;
pub mod keys;
pub mod seal;
pub mod signing;

use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, Result};

/// Fills `buf` from the system's secure random source.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<()> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| Error::Crypto("random source failed"))
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
