//! The data key and the subkeys derived from it.
//!
//! One random 256-bit data key protects everything. It is never used
//! directly: HKDF-SHA256 derives a sealing key and a blind-index root from
//! it, so the two uses cannot interfere. Key bytes are zeroised on drop and
//! never printed.

use std::fmt;

use ring::hkdf;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::blind_index::BlindIndexer;
use super::fill_random;
use super::seal::Sealer;
use crate::error::{Error, Result};

/// Length of every symmetric key in bytes.
pub const KEY_LEN: usize = 32;

/// 256 bits of key material, zeroised on drop, redacted in `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretKey([u8; KEY_LEN]);

impl SecretKey {
    /// A fresh key from the system's secure random source.
    pub fn random() -> Result<Self> {
        let mut bytes = [0u8; KEY_LEN];
        fill_random(&mut bytes)?;
        let key = Self(bytes);
        bytes.zeroize();
        Ok(key)
    }

    /// Takes key bytes, e.g. just unwrapped; the caller's copy should be a
    /// `Zeroizing` buffer.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let array: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| Error::Crypto("key has the wrong length"))?;
        Ok(Self(array))
    }

    /// The raw bytes, for wrapping and key derivation only.
    pub(crate) fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        super::ct_eq(&self.0, &other.0)
    }
}

/// A length for HKDF output that `ring` accepts.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256 expand of `key` for `info`, with Fieldbook's fixed salt.
pub(crate) fn derive(key: &SecretKey, info: &[u8]) -> Result<SecretKey> {
    let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"fieldbook/hkdf-salt/v1");
    let prk = salt.extract(key.expose());
    let info_parts = [info];
    let okm = prk
        .expand(&info_parts, Len(KEY_LEN))
        .map_err(|_| Error::Crypto("hkdf expand failed"))?;
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    okm.fill(out.as_mut())
        .map_err(|_| Error::Crypto("hkdf fill failed"))?;
    SecretKey::from_slice(out.as_ref())
}

/// The working keys of an unlocked store, all derived from the data key.
pub struct KeySet {
    /// Seals and opens every personal-data value.
    pub sealer: Sealer,
    /// Computes blind indexes for equality lookups.
    pub indexer: BlindIndexer,
}

impl KeySet {
    /// Derives the working keys from the data key.
    pub fn derive(data_key: &SecretKey) -> Result<Self> {
        let seal_key = derive(data_key, b"fieldbook/seal/v1")?;
        let index_root = derive(data_key, b"fieldbook/blind-index/v1")?;
        Ok(Self {
            sealer: Sealer::new(&seal_key)?,
            indexer: BlindIndexer::new(index_root),
        })
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeySet(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = SecretKey::from_slice(&[0xAB; KEY_LEN]).expect("len");
        let text = format!("{key:?}");
        assert!(!text.to_lowercase().contains("ab"), "{text}");
        assert!(text.contains("redacted"));
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let key = SecretKey::random().expect("rng");
        let a = derive(&key, b"a").expect("derive");
        let b = derive(&key, b"b").expect("derive");
        assert_ne!(a, b);
        assert_eq!(a, derive(&key, b"a").expect("derive"));
    }
}
