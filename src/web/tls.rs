//! The dashboard's own HTTPS: a certificate the OPD configured (its own CA's, or a public one),
//! or one made at first start and kept in the state directory, so that a browser that was told
//! to trust it once keeps trusting it across restarts and upgrades.
//!
//! The made certificate is self-signed for `localhost`, the host's name and the listening
//! address; its SHA-256 fingerprint is logged at every start so a technician can compare it
//! with what the browser shows before accepting it. The private key is written owner-only and,
//! like every secret file, refused at start when group or others may read it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};

/// Where a made certificate and its key live, under the state directory.
pub const MADE_CERT: &str = "tls/dashboard.crt";
/// ...and its key.
pub const MADE_KEY: &str = "tls/dashboard.key";

/// Where the dashboard's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// PEM files the OPD provides: the chain (leaf first) and its private key.
    Files { cert: PathBuf, key: PathBuf },
    /// Made at first start under `state_dir` ([`MADE_CERT`], [`MADE_KEY`]) for these names
    /// (host names and addresses), then reused.
    Made {
        state_dir: PathBuf,
        names: Vec<String>,
    },
}

/// A loaded certificate, ready to serve.
#[derive(Clone)]
pub struct Loaded {
    /// The rustls configuration (HTTP/1.1 only, as the plain listener).
    pub config: Arc<rustls::ServerConfig>,
    /// SHA-256 of the leaf certificate, colon-separated upper-case hex (as browsers show it).
    pub fingerprint: String,
    /// The certificate file in use.
    pub cert: PathBuf,
    /// True when this start made the certificate.
    pub made: bool,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("fingerprint", &self.fingerprint)
            .field("cert", &self.cert)
            .field("made", &self.made)
            .finish_non_exhaustive()
    }
}

/// Why the dashboard's certificate cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {path}: {source}", path = path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}", path = path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)", path = path.display())]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)", path = path.display())]
    NoKey { path: PathBuf },
    #[error(transparent)]
    NotPrivate(#[from] crate::secret::FileError),
    #[error("the key in {key} does not go with the certificate in {cert}", key = key.display(), cert = cert.display())]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("making a self-signed certificate")]
    Make(#[source] rcgen::Error),
}

impl Source {
    /// Load the certificate, making it first when it is [`Source::Made`] and not there yet.
    pub fn load(&self) -> Result<Loaded, Error> {
        match self {
            Source::Files { cert, key } => load_files(cert, key, false),
            Source::Made { state_dir, names } => {
                let (cert, key) = (state_dir.join(MADE_CERT), state_dir.join(MADE_KEY));
                let made = !cert.exists() || !key.exists();
                if made {
                    make(&cert, &key, names)?;
                }
                load_files(&cert, &key, made)
            }
        }
    }
}

fn load_files(cert: &Path, key: &Path, made: bool) -> Result<Loaded, Error> {
    crate::secret::check_private(key)?;
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| Error::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&read(cert)?)
        .filter_map(Result::ok)
        .collect();
    let Some(leaf) = chain.first() else {
        return Err(Error::NoCertificate {
            path: cert.to_path_buf(),
        });
    };
    let fingerprint = crate::portal::tls::fingerprint_of(leaf.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let private = PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|_| Error::NoKey {
        path: key.to_path_buf(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mismatch = |source| Error::Mismatch {
        cert: cert.to_path_buf(),
        key: key.to_path_buf(),
        source,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(mismatch)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(mismatch)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Loaded {
        config: Arc::new(config),
        fingerprint,
        cert: cert.to_path_buf(),
        made,
    })
}

/// Make a self-signed certificate for `names` (plus `localhost`) and write it, the key
/// owner-only (created so, never widened afterwards).
fn make(cert: &Path, key: &Path, names: &[String]) -> Result<(), Error> {
    let mut all = vec!["localhost".to_owned()];
    for n in names {
        if !n.is_empty() && !all.contains(n) {
            all.push(n.clone());
        }
    }
    let ck = rcgen::generate_simple_self_signed(all).map_err(Error::Make)?;
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Write { path, source }
    };
    if let Some(dir) = key.parent() {
        std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    }
    {
        use std::io::Write as _;
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let mut f = o.open(key).map_err(write_err(key))?;
        f.write_all(ck.signing_key.serialize_pem().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(write_err(key))?;
    }
    std::fs::write(cert, ck.cert.pem()).map_err(write_err(cert))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_made_certificate_is_kept_and_reused_with_its_key_private() {
        let dir = tempfile::tempdir().expect("tmp");
        let source = Source::Made {
            state_dir: dir.path().to_path_buf(),
            names: vec!["198.51.100.7".into(), "juknis.opd.example".into()],
        };
        let first = source.load().expect("made");
        assert!(first.made);
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1, "{}", first.fingerprint);
        let again = source.load().expect("reused");
        assert!(!again.made);
        assert_eq!(again.fingerprint, first.fingerprint, "the same certificate");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(MADE_KEY))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            // Widened by hand: refused, with the file named.
            std::fs::set_permissions(
                dir.path().join(MADE_KEY),
                std::fs::Permissions::from_mode(0o644),
            )
            .expect("chmod");
            let e = source.load().expect_err("a key others can read");
            assert!(e.to_string().contains("chmod 600"), "{e}");
        }
    }

    #[test]
    fn configured_files_that_do_not_fit_say_which_and_why() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = Source::Made {
            state_dir: dir.path().join("a"),
            names: vec![],
        };
        let b = Source::Made {
            state_dir: dir.path().join("b"),
            names: vec![],
        };
        a.load().expect("a");
        b.load().expect("b");
        // A's certificate with B's key.
        let crossed = Source::Files {
            cert: dir.path().join("a").join(MADE_CERT),
            key: dir.path().join("b").join(MADE_KEY),
        };
        let e = crossed.load().expect_err("mismatch");
        assert!(matches!(e, Error::Mismatch { .. }), "{e}");
        assert!(e.to_string().contains("does not go with"), "{e}");
        // A key where the certificate should be.
        let swapped = Source::Files {
            cert: dir.path().join("a").join(MADE_KEY),
            key: dir.path().join("a").join(MADE_KEY),
        };
        let e = swapped.load().expect_err("no certificate");
        assert!(matches!(e, Error::NoCertificate { .. }), "{e}");
        let missing = Source::Files {
            cert: dir.path().join("nope.crt"),
            key: dir.path().join("a").join(MADE_KEY),
        };
        let e = missing.load().expect_err("missing");
        assert!(e.to_string().contains("nope.crt"), "{e}");
    }
}
