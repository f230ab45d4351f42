//! Platform services the core needs from the phone, as traits the shells
//! implement: today the key store that wraps the data key (Android Keystore,
//! iOS Keychain / Secure Enclave).
//!
//! [`SoftwareKeyStore`] is the implementation for tests and the command-line
//! demonstration. It keeps its key in memory or in a file and offers none of
//! the hardware protection a phone's key store does.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::Path;

use crate::crypto::keys::SecretKey;
use crate::crypto::seal::{open_with, seal_with};

/// Why the platform key store could not help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyStoreError {
    /// The key is gone or is not the one that wrapped this value (key store
    /// reset, app data restored onto another phone).
    #[error("platform key unavailable")]
    KeyUnavailable,
    /// Anything else (user not authenticated, hardware busy); may pass.
    #[error("platform key store failed: {reason}")]
    Failed { reason: String },
}

/// Wraps and unwraps small secrets with a key the platform holds and never
/// exports.
pub trait PlatformKeyStore: Send + Sync {
    /// Encrypts `plaintext` (the PIN-wrapped data key).
    fn wrap(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, KeyStoreError>;
    /// Decrypts what [`PlatformKeyStore::wrap`] returned.
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreError>;
}

const SOFTWARE_AAD: &[u8] = b"fieldbook/software-key-store/v1";

/// A key store in software: for tests and the demonstration only.
pub struct SoftwareKeyStore {
    key: SecretKey,
}

impl SoftwareKeyStore {
    /// A key store with a fresh random key.
    pub fn random() -> crate::Result<Self> {
        Ok(Self {
            key: SecretKey::random()?,
        })
    }

    /// Loads the key from `path`, creating it (mode 0600) when absent.
    pub fn load_or_create(path: &Path) -> crate::Result<Self> {
        if path.exists() {
            let bytes = zeroize::Zeroizing::new(fs::read(path)?);
            return Ok(Self {
                key: SecretKey::from_slice(&bytes)?,
            });
        }
        let store = Self::random()?;
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        file.write_all(store.key.expose())?;
        file.sync_all()?;
        Ok(store)
    }
}

impl SoftwareKeyStore {
    /// The raw key, so a test can hand the same "phone" key to a child
    /// process. Test and demonstration use only.
    #[doc(hidden)]
    pub fn export_for_tests(&self) -> Vec<u8> {
        self.key.expose().to_vec()
    }
}

impl fmt::Debug for SoftwareKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SoftwareKeyStore(<redacted>)")
    }
}

impl PlatformKeyStore for SoftwareKeyStore {
    fn wrap(&self, plaintext: Vec<u8>) -> Result<Vec<u8>, KeyStoreError> {
        let plaintext = zeroize::Zeroizing::new(plaintext);
        seal_with(&self.key, SOFTWARE_AAD, &plaintext).map_err(|e| KeyStoreError::Failed {
            reason: e.to_string(),
        })
    }

    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreError> {
        match seal_with_result(open_with(&self.key, SOFTWARE_AAD, &wrapped)) {
            Some(plain) => Ok(plain),
            None => Err(KeyStoreError::KeyUnavailable),
        }
    }
}

fn seal_with_result(r: crate::Result<Option<Vec<u8>>>) -> Option<Vec<u8>> {
    r.ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_key_store_cannot_unwrap() {
        let a = SoftwareKeyStore::random().expect("rng");
        let b = SoftwareKeyStore::random().expect("rng");
        let wrapped = a.wrap(b"secret".to_vec()).expect("wrap");
        assert_eq!(a.unwrap(wrapped.clone()).expect("unwrap"), b"secret");
        assert_eq!(b.unwrap(wrapped), Err(KeyStoreError::KeyUnavailable));
    }

    #[test]
    fn file_key_store_persists() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("platform.key");
        let a = SoftwareKeyStore::load_or_create(&path).expect("create");
        let wrapped = a.wrap(b"x".to_vec()).expect("wrap");
        let b = SoftwareKeyStore::load_or_create(&path).expect("load");
        assert_eq!(b.unwrap(wrapped).expect("unwrap"), b"x");
    }
}
