//! The data key's stored form: wrapped by the officer's PIN, then by the
//! platform key store. Unlocking needs both.
//!
//! ```text
//! stored  = platform.wrap( json(PinEnvelope) )      -- in StoredEnvelope
//! PinEnvelope { format, aead, kdf { algorithm, iterations, salt },
//!               wrapped_key = AEAD(PBKDF2(pin), data key, aad = params) }
//! ```
//! Both layers are versioned and name their algorithms, so the KDF cost or
//! cipher can change later. The KDF parameters are bound into the AEAD's
//! associated data, so editing them makes the envelope fail to open.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::kdf::KdfParams;
use super::keys::SecretKey;
use super::seal::{open_with, seal_with, ALGORITHM};
use crate::error::{Error, Result};
use crate::platform::{KeyStoreError, PlatformKeyStore};

/// Current format of both layers.
pub const FORMAT: u32 = 1;

/// What the database holds (as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredEnvelope {
    /// Format of this layer.
    pub format: u32,
    /// Which platform wrap produced `platform_wrapped`.
    pub platform: String,
    /// The platform key store's wrap of the JSON [`PinEnvelope`].
    #[serde(with = "hex")]
    pub platform_wrapped: Vec<u8>,
}

/// The PIN layer, visible only after the platform key store unwraps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinEnvelope {
    /// Format of this layer.
    pub format: u32,
    /// AEAD used to wrap the data key.
    pub aead: String,
    /// How the PIN key is derived.
    pub kdf: KdfParams,
    /// The sealed data key.
    #[serde(with = "hex")]
    pub wrapped_key: Vec<u8>,
}

/// Why an envelope did not open.
#[derive(Debug)]
pub enum UnwrapFailure {
    /// The platform key store no longer has the key.
    PlatformKey,
    /// The platform key store failed transiently.
    PlatformFailed(String),
    /// The platform key needs the device's user authentication first.
    UserAuthenticationRequired,
    /// The PIN is wrong.
    WrongPin,
    /// The envelope is malformed or uses parameters this build refuses.
    Invalid(Error),
}

fn pin_aad(aead: &str, kdf: &KdfParams) -> Vec<u8> {
    format!(
        "fieldbook/key-envelope/v{FORMAT}|{aead}|{}|{}|{}",
        kdf.algorithm,
        kdf.iterations,
        hex::encode(&kdf.salt)
    )
    .into_bytes()
}

/// Wraps `data_key` under `pin` (with `kdf`) and then the platform key.
pub fn wrap(
    data_key: &SecretKey,
    pin: &str,
    kdf: KdfParams,
    platform: &dyn PlatformKeyStore,
) -> Result<Vec<u8>> {
    let pin_key = kdf.derive(pin)?;
    let wrapped_key = seal_with(&pin_key, &pin_aad(ALGORITHM, &kdf), data_key.expose())?;
    let inner = PinEnvelope {
        format: FORMAT,
        aead: ALGORITHM.to_owned(),
        kdf,
        wrapped_key,
    };
    let inner_json = Zeroizing::new(serde_json::to_vec(&inner)?);
    let platform_wrapped = platform.wrap(inner_json.to_vec()).map_err(|e| match e {
        KeyStoreError::KeyUnavailable => Error::PlatformKeyStore("key unavailable".into()),
        KeyStoreError::UserAuthenticationRequired => Error::UserAuthenticationRequired,
        KeyStoreError::Failed { reason } => Error::PlatformKeyStore(reason),
    })?;
    let stored = StoredEnvelope {
        format: FORMAT,
        platform: "platform-key-store/v1".to_owned(),
        platform_wrapped,
    };
    Ok(serde_json::to_vec(&stored)?)
}

/// Parses the stored layer; refuses unknown formats.
pub fn parse_stored(bytes: &[u8]) -> Result<StoredEnvelope> {
    let stored: StoredEnvelope = serde_json::from_slice(bytes)?;
    if stored.format != FORMAT {
        return Err(Error::invalid("key envelope", "unknown format"));
    }
    Ok(stored)
}

/// Unwraps the data key with the platform key store and `pin`.
pub fn unwrap(
    bytes: &[u8],
    pin: &str,
    platform: &dyn PlatformKeyStore,
) -> std::result::Result<(SecretKey, KdfParams), UnwrapFailure> {
    let stored = parse_stored(bytes).map_err(UnwrapFailure::Invalid)?;
    let inner_json = Zeroizing::new(platform.unwrap(stored.platform_wrapped).map_err(
        |e| match e {
            KeyStoreError::KeyUnavailable => UnwrapFailure::PlatformKey,
            KeyStoreError::UserAuthenticationRequired => UnwrapFailure::UserAuthenticationRequired,
            KeyStoreError::Failed { reason } => UnwrapFailure::PlatformFailed(reason),
        },
    )?);
    let inner: PinEnvelope =
        serde_json::from_slice(&inner_json).map_err(|e| UnwrapFailure::Invalid(Error::from(e)))?;
    if inner.format != FORMAT || inner.aead != ALGORITHM {
        return Err(UnwrapFailure::Invalid(Error::invalid(
            "key envelope",
            "unknown format or cipher",
        )));
    }
    inner.kdf.check().map_err(UnwrapFailure::Invalid)?;
    let pin_key = inner.kdf.derive(pin).map_err(UnwrapFailure::Invalid)?;
    let plain = open_with(
        &pin_key,
        &pin_aad(&inner.aead, &inner.kdf),
        &inner.wrapped_key,
    )
    .map_err(UnwrapFailure::Invalid)?
    .ok_or(UnwrapFailure::WrongPin)?;
    let plain = Zeroizing::new(plain);
    let key = SecretKey::from_slice(&plain).map_err(UnwrapFailure::Invalid)?;
    Ok((key, inner.kdf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::kdf::minimum_iterations;
    use crate::platform::SoftwareKeyStore;
    use proptest::prelude::*;

    fn iterations() -> u32 {
        minimum_iterations().max(1000)
    }

    #[test]
    fn round_trip_and_failures() {
        let platform = SoftwareKeyStore::random().expect("rng");
        let key = SecretKey::random().expect("rng");
        let kdf = KdfParams::new(iterations()).expect("kdf");
        let stored = wrap(&key, "271828", kdf.clone(), &platform).expect("wrap");
        let (got, params) = unwrap(&stored, "271828", &platform).expect("unwrap");
        assert_eq!(got, key);
        assert_eq!(params, kdf);
        assert!(matches!(
            unwrap(&stored, "271829", &platform),
            Err(UnwrapFailure::WrongPin)
        ));
        let other = SoftwareKeyStore::random().expect("rng");
        assert!(matches!(
            unwrap(&stored, "271828", &other),
            Err(UnwrapFailure::PlatformKey)
        ));
    }

    #[test]
    fn edited_kdf_params_do_not_open() {
        let platform = SoftwareKeyStore::random().expect("rng");
        let key = SecretKey::random().expect("rng");
        let stored = wrap(
            &key,
            "271828",
            KdfParams::new(iterations()).expect("kdf"),
            &platform,
        )
        .expect("wrap");
        // Re-wrap the inner layer with a changed iteration count, as an
        // attacker holding the platform key might.
        let outer = parse_stored(&stored).expect("parse");
        let inner_json = platform.unwrap(outer.platform_wrapped).expect("unwrap");
        let mut inner: PinEnvelope = serde_json::from_slice(&inner_json).expect("json");
        inner.kdf.iterations += 1;
        let rewrapped = StoredEnvelope {
            format: FORMAT,
            platform: outer.platform,
            platform_wrapped: platform
                .wrap(serde_json::to_vec(&inner).expect("json"))
                .expect("wrap"),
        };
        let bytes = serde_json::to_vec(&rewrapped).expect("json");
        assert!(matches!(
            unwrap(&bytes, "271828", &platform),
            Err(UnwrapFailure::WrongPin)
        ));
    }

    proptest! {
        #[test]
        fn envelope_json_round_trips(format in any::<u32>(), iterations in any::<u32>(),
                                     salt in proptest::collection::vec(any::<u8>(), 0..64),
                                     wrapped in proptest::collection::vec(any::<u8>(), 0..128)) {
            let inner = PinEnvelope {
                format,
                aead: ALGORITHM.to_owned(),
                kdf: KdfParams { algorithm: "PBKDF2-HMAC-SHA256".into(), iterations, salt },
                wrapped_key: wrapped.clone(),
            };
            let json = serde_json::to_vec(&inner).expect("json");
            let back: PinEnvelope = serde_json::from_slice(&json).expect("parse");
            prop_assert_eq!(back, inner);
            let outer = StoredEnvelope { format, platform: "p".into(), platform_wrapped: wrapped };
            let json = serde_json::to_vec(&outer).expect("json");
            let back: StoredEnvelope = serde_json::from_slice(&json).expect("parse");
            prop_assert_eq!(back, outer);
        }

        #[test]
        fn arbitrary_bytes_never_unwrap(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let platform = SoftwareKeyStore::random().expect("rng");
            prop_assert!(unwrap(&bytes, "271828", &platform).is_err());
        }
    }
}
