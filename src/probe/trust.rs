//! Certificate trust by pinning (a CA file or the leaf's SHA-256), a rustls verifier that records
//! the chain it saw, and the certificate facts (expiry, names, self-signed) that TLS probes report.
//!
//! Never a blanket skip-verification: an unpinned certificate that the system roots do not vouch
//! for is reported "untrusted" with the reason, and an enforcing verifier refuses it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How a certificate is trusted.
#[derive(Clone, PartialEq, Eq)]
pub enum Pin {
    /// The SHA-256 of the leaf certificate's DER.
    Sha256([u8; 32]),
    /// CA certificates the chain must lead to.
    CaFile {
        path: PathBuf,
        certs: Vec<CertificateDer<'static>>,
    },
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pin::Sha256(fp) => write!(f, "Pin::Sha256({})", hex::encode(fp)),
            Pin::CaFile { path, certs } => {
                write!(f, "Pin::CaFile({}, {} certs)", path.display(), certs.len())
            }
        }
    }
}

impl Pin {
    /// Parses 64 hex digits, with or without colons (as `openssl x509 -fingerprint` prints).
    #[must_use]
    pub fn parse_sha256(text: &str) -> Option<Pin> {
        let clean: String = text
            .chars()
            .filter(|c| *c != ':' && !c.is_whitespace())
            .collect();
        let bytes = hex::decode(clean).ok()?;
        <[u8; 32]>::try_from(bytes).ok().map(Pin::Sha256)
    }

    /// Loads CA certificates from a PEM file.
    pub fn load_ca_file(path: &Path) -> Result<Pin, String> {
        let pem = std::fs::read(path).map_err(|e| e.to_string())?;
        Pin::from_ca_pem(path, &pem)
    }

    /// Uses CA certificates from PEM text.
    pub fn from_ca_pem(path: &Path, pem: &[u8]) -> Result<Pin, String> {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("not PEM certificates: {e}"))?;
        if certs.is_empty() {
            return Err("no certificate in the file".to_owned());
        }
        Ok(Pin::CaFile {
            path: path.to_owned(),
            certs,
        })
    }
}

/// The SHA-256 fingerprint of a DER certificate, lowercase hex.
#[must_use]
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// The crypto provider of every probe: ring (aws-lc-rs is kept out of the build).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's root certificates, loaded once.
fn system_roots() -> Option<Arc<RootCertStore>> {
    static ROOTS: OnceLock<Option<Arc<RootCertStore>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            (added > 0).then(|| Arc::new(store))
        })
        .clone()
}

/// Decides trust for a probe: built once per probe, asked once per connection.
#[derive(Debug, Clone)]
pub(crate) struct Trust {
    pin: Option<[u8; 32]>,
    chain: Option<Arc<WebPkiServerVerifier>>,
    source: &'static str,
}

impl Trust {
    pub(crate) fn new(pin: Option<&Pin>) -> Result<Trust, String> {
        let webpki = |roots: Arc<RootCertStore>| {
            WebPkiServerVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|e| e.to_string())
        };
        Ok(match pin {
            Some(Pin::Sha256(fp)) => Trust {
                pin: Some(*fp),
                chain: None,
                source: "pinned leaf SHA-256",
            },
            Some(Pin::CaFile { path, certs }) => {
                let mut store = RootCertStore::empty();
                for c in certs {
                    store
                        .add(c.clone())
                        .map_err(|e| format!("CA in {}: {e}", path.display()))?;
                }
                Trust {
                    pin: None,
                    chain: Some(webpki(Arc::new(store))?),
                    source: "pinned CA file",
                }
            }
            None => match system_roots() {
                Some(roots) => Trust {
                    pin: None,
                    chain: Some(webpki(roots)?),
                    source: "system roots",
                },
                None => Trust {
                    pin: None,
                    chain: None,
                    source: "nothing",
                },
            },
        })
    }

    /// Whether the chain is trusted, and if not why. Expiry and name are judged separately
    /// (see [`CertInfo`]), so an expired but pinned certificate reads "trusted, expired".
    fn decide(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), String> {
        if let Some(fp) = self.pin {
            let got: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
            return if got == fp {
                Ok(())
            } else {
                Err(format!(
                    "leaf SHA-256 {} does not match the pinned {}",
                    hex::encode(got),
                    hex::encode(fp)
                ))
            };
        }
        let Some(chain) = &self.chain else {
            return Err("no pin configured and no system root certificates; pin the leaf SHA-256 or a CA file".to_owned());
        };
        let is_time = |e: &rustls::Error| {
            matches!(
                e,
                rustls::Error::InvalidCertificate(
                    CertificateError::Expired
                        | CertificateError::ExpiredContext { .. }
                        | CertificateError::NotValidYet
                        | CertificateError::NotValidYetContext { .. }
                )
            )
        };
        let is_name = |e: &rustls::Error| {
            matches!(
                e,
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. }
                )
            )
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, &[], now) {
            Ok(_) => Ok(()),
            Err(e) if is_name(&e) => Ok(()),
            Err(e) if is_time(&e) => {
                // Judge the chain at a moment when the leaf was valid, so expiry is reported as
                // expiry and not mistaken for (or hiding) an unknown issuer.
                let Some(mid) = CertInfo::midlife(end_entity) else {
                    return Err(format!("{e}"));
                };
                match chain.verify_server_cert(end_entity, intermediates, server_name, &[], mid) {
                    Ok(_) => Ok(()),
                    Err(e2) if is_name(&e2) => Ok(()),
                    Err(e2) => Err(format!(
                        "{} does not vouch for the chain: {e2}",
                        self.source
                    )),
                }
            }
            Err(e) => Err(format!("{} does not vouch for the chain: {e}", self.source)),
        }
    }
}

/// What the verifier saw during one handshake.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    /// `Ok` when trusted, `Err(why)` otherwise.
    pub(crate) verdict: Option<Result<(), String>>,
}

/// A rustls verifier that records the presented chain and decides trust by [`Trust`]. With
/// `enforce` off the handshake completes even when untrusted (the TLS probe only inspects, it
/// sends no application data); with it on (HTTP) an untrusted server is refused.
#[derive(Debug)]
pub(crate) struct RecordingVerifier {
    trust: Trust,
    enforce: bool,
    provider: Arc<CryptoProvider>,
    seen: Mutex<Seen>,
}

impl RecordingVerifier {
    pub(crate) fn new(trust: Trust, enforce: bool) -> Arc<RecordingVerifier> {
        Arc::new(RecordingVerifier {
            trust,
            enforce,
            provider: provider(),
            seen: Mutex::new(Seen::default()),
        })
    }

    pub(crate) fn seen(&self) -> Seen {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .trust
            .decide(end_entity, intermediates, server_name, now);
        if let Ok(mut seen) = self.seen.lock() {
            seen.chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.clone().into_owned())
                .collect();
            seen.verdict = Some(verdict.clone());
        }
        match verdict {
            Err(why) if self.enforce => Err(rustls::Error::General(format!("untrusted: {why}"))),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
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
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
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

/// A client config whose only verifier is the recording one.
pub(crate) fn client_config(
    verifier: Arc<RecordingVerifier>,
    alpn_http1: bool,
) -> Result<rustls::ClientConfig, String> {
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    if alpn_http1 {
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    }
    Ok(cfg)
}

/// The server name rustls sends and checks: an IP for bare-IP targets (no SNI is sent then).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_owned())
        .map_err(|e| format!("{host:?} is not a valid server name: {e}"))
}

/// Facts about the leaf certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses of the subject alternative name extension.
    pub sans: Vec<String>,
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
    /// Whole days until not-after; negative once expired.
    pub days_to_expiry: i64,
    pub expired: bool,
    /// Issuer equals subject: nobody but the server vouches for it.
    pub self_signed: bool,
    /// SHA-256 of the DER, lowercase hex: what to put in a `pin.sha256`.
    pub sha256: String,
    /// Whether the certificate names the target (SAN DNS with wildcards, SAN IP, or the CN when
    /// there is no SAN).
    pub name_match: bool,
}

impl CertInfo {
    /// Parses a DER certificate and judges it against `wanted` (a host name or IP) at `now_unix`.
    pub fn inspect(der: &[u8], wanted: &str, now_unix: i64) -> Result<CertInfo, String> {
        use x509_parser::extensions::GeneralName;
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("cannot parse certificate: {e}"))?;
        let mut sans = Vec::new();
        let mut san_ips = Vec::new();
        let mut san_dns = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for n in &ext.value.general_names {
                match n {
                    GeneralName::DNSName(d) => {
                        sans.push((*d).to_owned());
                        san_dns.push((*d).to_ascii_lowercase());
                    }
                    GeneralName::IPAddress(b) => {
                        let ip = match b.len() {
                            4 => <[u8; 4]>::try_from(*b).ok().map(std::net::IpAddr::from),
                            16 => <[u8; 16]>::try_from(*b).ok().map(std::net::IpAddr::from),
                            _ => None,
                        };
                        if let Some(ip) = ip {
                            sans.push(ip.to_string());
                            san_ips.push(ip);
                        }
                    }
                    _ => {}
                }
            }
        }
        let cn: Vec<String> = cert
            .subject()
            .iter_common_name()
            .filter_map(|a| a.as_str().ok().map(str::to_ascii_lowercase))
            .collect();
        let wanted_l = wanted.trim_end_matches('.').to_ascii_lowercase();
        let name_match = match wanted_l.parse::<std::net::IpAddr>() {
            Ok(ip) => san_ips.contains(&ip),
            Err(_) if sans.is_empty() => cn.iter().any(|n| dns_match(n, &wanted_l)),
            Err(_) => san_dns.iter().any(|n| dns_match(n, &wanted_l)),
        };
        let nb = cert.validity().not_before.timestamp();
        let na = cert.validity().not_after.timestamp();
        let rfc = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0).map_or_else(|| t.to_string(), |d| d.to_rfc3339())
        };
        let secs_left = na - now_unix;
        let akid_is_skid = {
            use x509_parser::extensions::ParsedExtension;
            let mut akid = None;
            let mut skid = None;
            for ext in cert.extensions() {
                match ext.parsed_extension() {
                    ParsedExtension::AuthorityKeyIdentifier(a) => {
                        akid = a.key_identifier.as_ref().map(|k| k.0.to_vec())
                    }
                    ParsedExtension::SubjectKeyIdentifier(s) => skid = Some(s.0.to_vec()),
                    _ => {}
                }
            }
            match (akid, skid) {
                (Some(a), Some(s)) => a == s,
                _ => true,
            }
        };
        Ok(CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            sans,
            not_before: rfc(nb),
            not_after: rfc(na),
            days_to_expiry: secs_left.div_euclid(86_400),
            expired: now_unix > na,
            self_signed: cert.subject().as_raw() == cert.issuer().as_raw() && akid_is_skid,
            sha256: fingerprint(der),
            name_match,
        })
    }

    /// A moment in the middle of the certificate's validity.
    fn midlife(der: &[u8]) -> Option<UnixTime> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let nb = cert.validity().not_before.timestamp();
        let na = cert.validity().not_after.timestamp();
        let mid = nb + (na - nb) / 2;
        Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(mid).ok()?,
        )))
    }
}

/// RFC 6125 matching with a single left-most wildcard label.
fn dns_match(pattern: &str, name: &str) -> bool {
    let pattern = pattern.trim_end_matches('.');
    if let Some(rest) = pattern.strip_prefix("*.") {
        return name
            .split_once('.')
            .is_some_and(|(first, tail)| !first.is_empty() && tail == rest);
    }
    pattern == name
}

/// Now, as Unix seconds.
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("portal.example", "portal.example", true)]
    #[case("*.example", "portal.example", true)]
    #[case("*.example", "a.b.example", false)]
    #[case("*.example", "example", false)]
    #[case("other.example", "portal.example", false)]
    fn wildcards(#[case] pattern: &str, #[case] name: &str, #[case] want: bool) {
        assert_eq!(dns_match(pattern, name), want);
    }

    #[rstest]
    #[case(
        "AB:CD:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd",
        true
    )]
    #[case("abcd", false)]
    #[case("zz", false)]
    fn sha256_pins(#[case] text: &str, #[case] ok: bool) {
        assert_eq!(Pin::parse_sha256(text).is_some(), ok);
    }
}
