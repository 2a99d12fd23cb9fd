//! How the portal client trusts the server: system roots, a pinned CA, or a pinned fingerprint.
//!
//! There is deliberately no way to skip verification.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};

use super::Error;

/// Which certificates the client accepts.
#[derive(Clone, PartialEq, Eq)]
pub enum Trust {
    /// The operating system's roots (through `rustls-platform-verifier`), host name checked.
    System,
    /// Only chains to these CA certificates (DER), host name or IP checked.
    Ca(Vec<Vec<u8>>),
    /// Only a server certificate whose SHA-256 is this; the pin is the identity, so neither the
    /// chain nor the name is checked, but the handshake signatures still are.
    Fingerprint([u8; 32]),
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trust::System => f.write_str("System"),
            Trust::Ca(c) => write!(f, "Ca({} certificates)", c.len()),
            Trust::Fingerprint(fp) => write!(f, "Fingerprint({})", fingerprint_hex(fp)),
        }
    }
}

/// `AB:CD:...` upper-case hex, the way browsers and `openssl x509 -fingerprint` show it.
pub fn fingerprint_hex(fp: &[u8]) -> String {
    fp.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// SHA-256 of a DER certificate.
pub fn fingerprint_of(der: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(Sha256::digest(der).as_slice());
    out
}

impl Trust {
    /// Pin the CA certificates of a PEM file.
    pub fn ca_file(path: &Path) -> Result<Trust, Error> {
        let pem = std::fs::read(path)
            .map_err(|e| Error::Config(format!("cannot read CA file {}: {e}", path.display())))?;
        Trust::ca_pem(&pem).map_err(|e| match e {
            Error::Config(m) => Error::Config(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Pin the CA certificates of PEM text.
    pub fn ca_pem(pem: &[u8]) -> Result<Trust, Error> {
        use rustls::pki_types::pem::PemObject;
        let certs = CertificateDer::pem_slice_iter(pem)
            .map(|c| c.map(|c| c.to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Config(format!("bad PEM certificate: {e}")))?;
        if certs.is_empty() {
            return Err(Error::Config("no certificate in the PEM text".into()));
        }
        Ok(Trust::Ca(certs))
    }

    /// Pin a SHA-256 fingerprint given as hex, with or without colons (the probes' parser).
    pub fn fingerprint(hex_text: &str) -> Result<Trust, Error> {
        match crate::probe::trust::Pin::parse_sha256(hex_text) {
            Some(crate::probe::trust::Pin::Sha256(fp)) => Ok(Trust::Fingerprint(fp)),
            _ => Err(Error::Config(format!(
                "a pin is the certificate's SHA-256: 64 hex digits, with or without colons; got {} characters",
                hex_text.len()
            ))),
        }
    }

    /// The rustls configuration for this trust, on the `ring` provider.
    pub(crate) fn client_config(&self) -> Result<rustls::ClientConfig, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS versions: {e}")))?;
        let config = match self {
            Trust::System => {
                let verifier = rustls_platform_verifier::Verifier::new(provider)
                    .map_err(|e| Error::Config(format!("system roots: {e}")))?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
                    .with_no_client_auth()
            }
            Trust::Ca(certs) => {
                let mut roots = rustls::RootCertStore::empty();
                for der in certs {
                    roots
                        .add(CertificateDer::from(der.clone()))
                        .map_err(|e| Error::Config(format!("pinned CA refused: {e}")))?;
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            Trust::Fingerprint(pin) => {
                // The probes' verifier, enforcing: one pinned-certificate check in the program.
                let trust =
                    crate::probe::trust::Trust::new(Some(&crate::probe::trust::Pin::Sha256(*pin)))
                        .map_err(Error::Config)?;
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(crate::probe::trust::RecordingVerifier::new(
                        trust, true,
                    ))
                    .with_no_client_auth()
            }
        };
        Ok(config)
    }
}
