//! Sealing: AES-256-GCM with a random 96-bit nonce per value.
//!
//! The associated data names the table, row id, row version and column, so a
//! sealed value copied into another row, column or version fails to open.
//! Sealed form: `[format = 1][nonce: 12][ciphertext][tag: 16]`.

use std::fmt;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use super::fill_random;
use super::keys::SecretKey;
use crate::error::{Error, Result};

const FORMAT_V1: u8 = 1;
/// Bytes a sealed value adds to its plaintext.
pub const OVERHEAD: usize = 1 + NONCE_LEN + 16;

/// Where a sealed value lives; bound into the ciphertext as associated data.
#[derive(Debug, Clone, Copy)]
pub struct Binding<'a> {
    /// The table (or logical collection).
    pub table: &'a str,
    /// The row's random id or sequence number, as text.
    pub record: &'a str,
    /// The row's version: a value from version n cannot stand in for n+1.
    pub version: u64,
    /// The column or field within the row.
    pub column: &'a str,
}

impl Binding<'_> {
    fn encode(&self) -> Vec<u8> {
        // Length-prefixed so that no two bindings encode alike.
        let mut out =
            Vec::with_capacity(16 + self.table.len() + self.record.len() + self.column.len() + 8);
        out.extend_from_slice(b"fieldbook/aad/v1");
        for part in [self.table, self.record, self.column] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out.extend_from_slice(&self.version.to_be_bytes());
        out
    }
}

/// Seals and opens values under one key.
pub struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    /// A sealer for `key`.
    pub fn new(key: &SecretKey) -> Result<Self> {
        let unbound = UnboundKey::new(&AES_256_GCM, key.expose())
            .map_err(|_| Error::Crypto("bad AES key"))?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// Seals `plaintext` for the place `binding` names.
    pub fn seal(&self, binding: &Binding<'_>, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.seal_aad(&binding.encode(), plaintext)
    }

    /// Opens a value sealed for `binding`; any change to the bytes or a
    /// different binding gives [`Error::Tampered`].
    pub fn open(&self, binding: &Binding<'_>, sealed: &[u8]) -> Result<Vec<u8>> {
        self.open_aad(&binding.encode(), sealed)
            .ok_or_else(|| Error::Tampered {
                table: binding.table.to_owned(),
            })
    }

    fn seal_aad(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut nonce_bytes = [0u8; NONCE_LEN];
        fill_random(&mut nonce_bytes)?;
        let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
        out.push(FORMAT_V1);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(plaintext);
        let tag = self
            .key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad),
                &mut out[1 + NONCE_LEN..],
            )
            .map_err(|_| Error::Crypto("seal failed"))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    fn open_aad(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < OVERHEAD || sealed[0] != FORMAT_V1 {
            return None;
        }
        let nonce_bytes = <[u8; NONCE_LEN]>::try_from(&sealed[1..1 + NONCE_LEN]).ok()?;
        let mut buf = sealed[1 + NONCE_LEN..].to_vec();
        let plain_len = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(aad),
                &mut buf,
            )
            .ok()?
            .len();
        buf.truncate(plain_len);
        Some(buf)
    }
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

/// Seals `plaintext` under a raw key with fixed associated data: used to
/// wrap the data key itself.
pub(crate) fn seal_with(key: &SecretKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    Sealer::new(key)?.seal_aad(aad, plaintext)
}

/// Opens what [`seal_with`] sealed; `None` when authentication fails.
pub(crate) fn open_with(key: &SecretKey, aad: &[u8], sealed: &[u8]) -> Result<Option<Vec<u8>>> {
    Ok(Sealer::new(key)?.open_aad(aad, sealed))
}

/// The AEAD algorithm's name as recorded in key envelopes.
pub const ALGORITHM: &str = "AES-256-GCM";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn binding<'a>(record: &'a str, version: u64) -> Binding<'a> {
        Binding {
            table: "t",
            record,
            version,
            column: "c",
        }
    }

    proptest! {
        #[test]
        fn round_trips(plain in proptest::collection::vec(any::<u8>(), 0..2048), version in any::<u64>()) {
            let sealer = Sealer::new(&SecretKey::random().expect("rng")).expect("key");
            let b = binding("r1", version);
            let sealed = sealer.seal(&b, &plain).expect("seal");
            prop_assert_eq!(sealed.len(), plain.len() + OVERHEAD);
            prop_assert_eq!(sealer.open(&b, &sealed).expect("open"), plain);
        }

        #[test]
        fn any_bit_flip_is_detected(plain in proptest::collection::vec(any::<u8>(), 1..256), pos in any::<prop::sample::Index>(), bit in 0u8..8) {
            let sealer = Sealer::new(&SecretKey::random().expect("rng")).expect("key");
            let b = binding("r1", 1);
            let mut sealed = sealer.seal(&b, &plain).expect("seal");
            let i = pos.index(sealed.len());
            sealed[i] ^= 1 << bit;
            let tampered = matches!(sealer.open(&b, &sealed), Err(Error::Tampered { .. }));
            prop_assert!(tampered);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
            let sealer = Sealer::new(&SecretKey::random().expect("rng")).expect("key");
            prop_assert!(sealer.open(&binding("r", 0), &bytes).is_err());
        }
    }

    #[test]
    fn binding_is_enforced() {
        let sealer = Sealer::new(&SecretKey::random().expect("rng")).expect("key");
        let sealed = sealer.seal(&binding("row-a", 1), b"Jane").expect("seal");
        assert!(sealer.open(&binding("row-b", 1), &sealed).is_err());
        assert!(sealer.open(&binding("row-a", 2), &sealed).is_err());
        let other_col = Binding {
            column: "d",
            ..binding("row-a", 1)
        };
        assert!(sealer.open(&other_col, &sealed).is_err());
        assert_eq!(
            sealer.open(&binding("row-a", 1), &sealed).expect("open"),
            b"Jane"
        );
    }

    #[test]
    fn nonces_are_random() {
        let sealer = Sealer::new(&SecretKey::random().expect("rng")).expect("key");
        let a = sealer.seal(&binding("r", 1), b"same").expect("seal");
        let b = sealer.seal(&binding("r", 1), b"same").expect("seal");
        assert_ne!(a, b);
    }
}
