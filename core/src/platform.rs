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
    /// The platform key needs the device's user authentication (device
    /// PIN, pattern or biometrics) first; the shell prompts and retries.
    /// The hardware enforces its own retry limit, so the app's PIN cannot
    /// be guessed offline even on a rooted phone.
    #[error("user authentication required")]
    UserAuthenticationRequired,
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
    /// Deletes the platform key for good (Keystore alias, Keychain item),
    /// as the crypto-shred's last step. Deleting a key that is already gone
    /// is not an error.
    fn destroy(&self) -> Result<(), KeyStoreError>;
}

const SOFTWARE_AAD: &[u8] = b"fieldbook/software-key-store/v1";

/// A key store in software: for tests and the demonstration only.
pub struct SoftwareKeyStore {
    key: std::sync::RwLock<Option<SecretKey>>,
    path: Option<std::path::PathBuf>,
}

impl SoftwareKeyStore {
    /// A key store with a fresh random key.
    pub fn random() -> crate::Result<Self> {
        Ok(Self {
            key: std::sync::RwLock::new(Some(SecretKey::random()?)),
            path: None,
        })
    }

    fn with_key<R>(&self, f: impl FnOnce(&SecretKey) -> R) -> Result<R, KeyStoreError> {
        let guard = self.key.read().map_err(|_| KeyStoreError::Failed {
            reason: "key store lock poisoned".into(),
        })?;
        guard.as_ref().map(f).ok_or(KeyStoreError::KeyUnavailable)
    }

    /// Whether it still holds a key (false after [`PlatformKeyStore::destroy`]).
    pub fn holds_key(&self) -> bool {
        self.key.read().map(|k| k.is_some()).unwrap_or(false)
            && self.path.as_ref().is_none_or(|p| p.exists())
    }

    /// Loads the key from `path`, creating it (mode 0600) when absent.
    pub fn load_or_create(path: &Path) -> crate::Result<Self> {
        if path.exists() {
            let bytes = zeroize::Zeroizing::new(fs::read(path)?);
            return Ok(Self {
                key: std::sync::RwLock::new(Some(SecretKey::from_slice(&bytes)?)),
                path: Some(path.to_owned()),
            });
        }
        let mut store = Self::random()?;
        store.path = Some(path.to_owned());
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path)?;
        let key = store.export_for_tests();
        file.write_all(&key)?;
        file.sync_all()?;
        Ok(store)
    }
}

impl SoftwareKeyStore {
    /// The raw key, so a test can hand the same "phone" key to a child
    /// process. Test and demonstration use only.
    #[doc(hidden)]
    pub fn export_for_tests(&self) -> Vec<u8> {
        self.with_key(|k| k.expose().to_vec()).unwrap_or_default()
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
        self.with_key(|key| seal_with(key, SOFTWARE_AAD, &plaintext))?
            .map_err(|e| KeyStoreError::Failed {
                reason: e.to_string(),
            })
    }

    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyStoreError> {
        match self.with_key(|key| seal_with_result(open_with(key, SOFTWARE_AAD, &wrapped)))? {
            Some(plain) => Ok(plain),
            None => Err(KeyStoreError::KeyUnavailable),
        }
    }

    fn destroy(&self) -> Result<(), KeyStoreError> {
        let mut guard = self.key.write().map_err(|_| KeyStoreError::Failed {
            reason: "key store lock poisoned".into(),
        })?;
        // Dropping the key zeroises it.
        *guard = None;
        if let Some(path) = &self.path {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(KeyStoreError::Failed {
                        reason: e.kind().to_string(),
                    })
                }
            }
        }
        Ok(())
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
        assert_eq!(b.unwrap(wrapped.clone()).expect("unwrap"), b"x");
        b.destroy().expect("destroy");
        assert!(!path.exists() && !b.holds_key());
        assert_eq!(b.unwrap(wrapped), Err(KeyStoreError::KeyUnavailable));
        b.destroy().expect("destroying again is fine");
    }
}
