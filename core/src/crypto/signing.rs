//! The device's Ed25519 identity: it signs every event so the office (and a
//! court) can tell which device recorded what.

use std::fmt;

use ring::digest;
use ring::rand::SystemRandom;
use ring::signature::{self, Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// The device's signing key. The PKCS#8 bytes are kept only to be sealed
/// into the store and are zeroised on drop.
pub struct DeviceKey {
    pkcs8: Zeroizing<Vec<u8>>,
    pair: Ed25519KeyPair,
}

impl DeviceKey {
    /// A new random key.
    pub fn generate() -> Result<Self> {
        let doc = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| Error::Crypto("ed25519 key generation failed"))?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// A key from its PKCS#8 encoding.
    pub fn from_pkcs8(bytes: &[u8]) -> Result<Self> {
        let pair = Ed25519KeyPair::from_pkcs8(bytes)
            .map_err(|_| Error::Crypto("bad ed25519 key encoding"))?;
        Ok(Self {
            pkcs8: Zeroizing::new(bytes.to_vec()),
            pair,
        })
    }

    /// The PKCS#8 encoding, to be sealed.
    pub(crate) fn pkcs8(&self) -> &[u8] {
        &self.pkcs8
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        let sig = self.pair.sign(message);
        let mut out = [0u8; SIGNATURE_LEN];
        out.copy_from_slice(sig.as_ref());
        out
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// A short stable name for the key: hex of the first 16 bytes of the
    /// SHA-256 of the public key.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.pair.public_key().as_ref())
    }
}

impl fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceKey({})", self.fingerprint())
    }
}

/// The fingerprint of a public key; see [`DeviceKey::fingerprint`].
pub fn fingerprint(public_key: &[u8]) -> String {
    let d = digest::digest(&digest::SHA256, public_key);
    hex::encode(&d.as_ref()[..16])
}

/// Whether `sig` is `public_key`'s signature of `message`.
pub fn verify(public_key: &[u8], message: &[u8], sig: &[u8]) -> bool {
    signature::UnparsedPublicKey::new(&signature::ED25519, public_key)
        .verify(message, sig)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_reload() {
        let key = DeviceKey::generate().expect("gen");
        let sig = key.sign(b"event");
        assert!(verify(&key.public_key(), b"event", &sig));
        assert!(!verify(&key.public_key(), b"evenT", &sig));
        let again = DeviceKey::from_pkcs8(key.pkcs8()).expect("reload");
        assert_eq!(again.public_key(), key.public_key());
        assert_eq!(again.fingerprint().len(), 32);
    }
}
