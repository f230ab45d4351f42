//! The office's evidence signing key: Ed25519 (ring), kept as PKCS#8 in a
//! file readable by its owner only, generated there when missing; its
//! public key is published (`GET /v1/evidence/office-key`, the
//! `evidence-key` command) so verifiers can pin it.

use std::path::Path;

use ring::signature::{Ed25519KeyPair, KeyPair};

/// The office's signing key.
pub struct OfficeKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for OfficeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OfficeKey(public {})", self.public_hex())
    }
}

impl OfficeKey {
    /// A new random key held in memory only (tests; a server started
    /// without a key file).
    pub fn generate() -> Result<OfficeKey, String> {
        let doc = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .map_err(|_| "the random source failed".to_owned())?;
        Self::from_pkcs8(doc.as_ref())
    }

    /// The key from its PKCS#8 document.
    pub fn from_pkcs8(der: &[u8]) -> Result<OfficeKey, String> {
        let pair = Ed25519KeyPair::from_pkcs8(der)
            .map_err(|_| "the evidence key is not an Ed25519 PKCS#8 key".to_owned())?;
        Ok(OfficeKey { pair })
    }

    /// Reads the key from `file` (hex PKCS#8, owner-only), or generates one
    /// and writes it there (mode 0600) when the file is missing. Returns
    /// the key and whether it was generated.
    pub fn load_or_create(file: &Path) -> Result<(OfficeKey, bool), String> {
        match std::fs::read_to_string(file) {
            Ok(text) => {
                refuse_shared(file)?;
                let der = hex::decode(text.trim())
                    .map_err(|_| "the evidence key file does not hold a hex key".to_owned())?;
                Ok((Self::from_pkcs8(&der)?, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let doc = Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
                    .map_err(|_| "the random source failed".to_owned())?;
                write_private(file, &hex::encode(doc.as_ref()))
                    .map_err(|e| format!("cannot write the evidence key file: {}", e.kind()))?;
                Ok((Self::from_pkcs8(doc.as_ref())?, true))
            }
            Err(e) => Err(format!("cannot read the evidence key file: {}", e.kind())),
        }
    }

    /// The public key, hex.
    pub fn public_hex(&self) -> String {
        hex::encode(self.pair.public_key().as_ref())
    }

    /// Signs `message`; the signature in hex.
    pub fn sign_hex(&self, message: &[u8]) -> String {
        hex::encode(self.pair.sign(message).as_ref())
    }
}

/// The key a server signs packs with: from `file` (created when
/// missing), or a key held in memory only when no file is configured.
pub fn for_server(file: Option<&Path>) -> Result<OfficeKey, String> {
    match file {
        Some(f) => {
            let (key, generated) = OfficeKey::load_or_create(f)?;
            if generated {
                tracing::info!(public_key = %key.public_hex(), "a new evidence signing key was generated");
            }
            Ok(key)
        }
        None => {
            tracing::warn!(
                "no evidence key file: evidence packs are signed with a key held in memory only"
            );
            OfficeKey::generate()
        }
    }
}

/// Whether `signature_hex` is `public_hex`'s Ed25519 signature of `message`.
pub fn verify_hex(public_hex: &str, message: &[u8], signature_hex: &str) -> bool {
    let (Ok(public), Ok(signature)) = (hex::decode(public_hex), hex::decode(signature_hex)) else {
        return false;
    };
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public)
        .verify(message, &signature)
        .is_ok()
}

#[cfg(unix)]
fn refuse_shared(file: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(file)
        .map_err(|e| format!("cannot read the evidence key file: {}", e.kind()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "the evidence key file {} is readable by others (mode {:o}); chmod 600 it",
            file.display(),
            mode & 0o777
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_shared(_file: &Path) -> Result<(), String> {
    Ok(())
}

fn write_private(file: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(file)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_owner_only_read_back_and_verified() {
        let dir = tempfile::tempdir().expect("tmp");
        let file = dir.path().join("evidence.key");
        let (key, generated) = OfficeKey::load_or_create(&file).expect("generated");
        assert!(generated);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, generated) = OfficeKey::load_or_create(&file).expect("read");
        assert!(!generated);
        assert_eq!(key.public_hex(), again.public_hex());
        let sig = key.sign_hex(b"manifest");
        assert!(verify_hex(&again.public_hex(), b"manifest", &sig));
        assert!(!verify_hex(&again.public_hex(), b"manifesT", &sig));
        assert!(!format!("{key:?}").contains(&std::fs::read_to_string(&file).expect("f")[..20]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(OfficeKey::load_or_create(&file).is_err());
        }
    }
}
