//! The officer's PIN: validation and PBKDF2-HMAC-SHA256 key derivation.
//!
//! Release builds require at least [`MIN_ITERATIONS`] iterations both when a
//! key is wrapped and when an envelope is opened, so a tampered envelope
//! cannot lower the cost of guessing. Only the `insecure-test-kdf` feature,
//! used by test suites, permits fewer.

use std::num::NonZeroU32;

use ring::pbkdf2;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::fill_random;
use super::keys::{SecretKey, KEY_LEN};
use crate::error::{Error, Result};

/// The KDF's name as recorded in key envelopes.
pub const ALGORITHM: &str = "PBKDF2-HMAC-SHA256";
/// The least iteration count a release build accepts (OWASP 2023 guidance).
pub const MIN_ITERATIONS: u32 = 600_000;
// The build fails if someone lowers the release floor.
const _: () = assert!(MIN_ITERATIONS >= 600_000);
/// The most iterations accepted, so a crafted envelope cannot hang unlock.
pub const MAX_ITERATIONS: u32 = 20_000_000;
/// Salt length in bytes.
pub const SALT_LEN: usize = 16;

/// The least iteration count this build accepts.
pub fn minimum_iterations() -> u32 {
    if cfg!(any(test, feature = "insecure-test-kdf")) {
        1
    } else {
        MIN_ITERATIONS
    }
}

/// KDF parameters, recorded beside the wrapped key so they can change later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Always [`ALGORITHM`] for now.
    pub algorithm: String,
    /// PBKDF2 iteration count.
    pub iterations: u32,
    /// Random salt, hex in the envelope.
    #[serde(with = "hex")]
    pub salt: Vec<u8>,
}

impl KdfParams {
    /// Fresh parameters with a random salt.
    pub fn new(iterations: u32) -> Result<Self> {
        let mut salt = vec![0u8; SALT_LEN];
        fill_random(&mut salt)?;
        let params = Self {
            algorithm: ALGORITHM.to_owned(),
            iterations,
            salt,
        };
        params.check()?;
        Ok(params)
    }

    /// Refuses unknown algorithms, short salts and iteration counts outside
    /// what this build accepts.
    pub fn check(&self) -> Result<()> {
        if self.algorithm != ALGORITHM {
            return Err(Error::invalid("kdf", "unknown algorithm"));
        }
        if self.salt.len() < SALT_LEN {
            return Err(Error::invalid("kdf", "salt too short"));
        }
        if self.iterations < minimum_iterations() {
            return Err(Error::invalid(
                "kdf",
                format!("iteration count below {}", minimum_iterations()),
            ));
        }
        if self.iterations > MAX_ITERATIONS {
            return Err(Error::invalid("kdf", "iteration count too high"));
        }
        Ok(())
    }

    /// Derives the PIN key.
    pub fn derive(&self, pin: &str) -> Result<SecretKey> {
        self.check()?;
        let iterations =
            NonZeroU32::new(self.iterations).ok_or(Error::Crypto("zero iterations"))?;
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &self.salt,
            pin.as_bytes(),
            out.as_mut(),
        );
        SecretKey::from_slice(out.as_ref())
    }
}

/// Checks a new PIN: 6 to 12 digits, not all one digit, not a run such as
/// 123456 or 987654.
pub fn validate_new_pin(pin: &str) -> Result<()> {
    let digits: Vec<i16> = pin
        .bytes()
        .map(|b| i16::from(b) - i16::from(b'0'))
        .collect();
    if !(6..=12).contains(&digits.len()) || digits.iter().any(|d| !(0..=9).contains(d)) {
        return Err(Error::invalid("pin", "must be 6 to 12 digits"));
    }
    let steps: Vec<i16> = digits.windows(2).map(|w| w[1] - w[0]).collect();
    if steps.iter().all(|s| *s == 0) {
        return Err(Error::invalid("pin", "must not repeat one digit"));
    }
    if steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1) {
        return Err(Error::invalid("pin", "must not be a run of digits"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_rules() {
        assert!(validate_new_pin("271828").is_ok());
        for bad in [
            "12345",
            "1234567890123",
            "12a456",
            "000000",
            "123456",
            "987654",
            "",
        ] {
            assert!(validate_new_pin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn same_pin_same_key_other_pin_other_key() {
        let params = KdfParams::new(minimum_iterations().max(1000)).expect("params");
        let a = params.derive("271828").expect("derive");
        assert_eq!(a, params.derive("271828").expect("derive"));
        assert_ne!(a, params.derive("271829").expect("derive"));
    }

    #[test]
    fn refuses_bad_params() {
        let mut p = KdfParams::new(minimum_iterations().max(1000)).expect("params");
        p.algorithm = "md5".into();
        assert!(p.check().is_err());
        let mut p = KdfParams::new(minimum_iterations().max(1000)).expect("params");
        p.salt.truncate(4);
        assert!(p.check().is_err());
        let mut p = KdfParams::new(minimum_iterations().max(1000)).expect("params");
        p.iterations = MAX_ITERATIONS + 1;
        assert!(p.check().is_err());
    }
}
