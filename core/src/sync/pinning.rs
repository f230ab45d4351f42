//! Pinning the office's certificate: when pins are configured, the device
//! accepts only a server certificate whose SHA-256 is one of them (a list,
//! so a renewed certificate can be pinned before it is deployed), instead
//! of trusting any public CA. Handshake signatures are still verified with
//! `ring`, rustls's only crypto provider in this build.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::error::{Error, Result};

#[derive(Debug)]
struct Pinned {
    pins: Vec<[u8; 32]>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let digest = ring::digest::digest(&ring::digest::SHA256, end_entity.as_ref());
        if self
            .pins
            .iter()
            .any(|p| crate::crypto::ct_eq(p, digest.as_ref()))
        {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "office certificate does not match the pin".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS client configuration that trusts only the pinned certificates
/// (SHA-256 of the DER, hex).
pub fn pinned_config(pins_hex: &[String]) -> Result<rustls::ClientConfig> {
    let pins = pins_hex
        .iter()
        .map(|h| {
            hex::decode(h)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| Error::invalid("pinned_cert_sha256", "64 hex digits each"))
        })
        .collect::<Result<Vec<_>>>()?;
    if pins.is_empty() {
        return Err(Error::invalid("pinned_cert_sha256", "at least one pin"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::Crypto("tls protocol versions"))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned { pins, provider }))
        .with_no_client_auth();
    Ok(config)
}
