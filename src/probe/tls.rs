//! TLS handshake inspection with rustls (ring): handshake time, protocol, cipher suite, chain
//! length, leaf expiry, name/IP match and self-signed detection, trusted by pin (see `trust`).
//!
//! The probe completes the handshake even when the certificate is untrusted, so it can report
//! what it saw, then closes without sending any application data.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rustls::ClientConnection;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::profile::TlsSpec;
use super::trust::{self, CertInfo, RecordingVerifier, Seen, Trust};
use super::wire::{Counted, Counters};
use super::{BoxFuture, Error, Kind, Outcome, Probe, Reason, Target};

/// What a TLS handshake showed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Detail {
    pub addr: Option<String>,
    #[serde(with = "super::secs::opt")]
    pub connect: Option<Duration>,
    #[serde(with = "super::secs::opt")]
    pub handshake: Option<Duration>,
    /// `TLSv1_3`, `TLSv1_2`.
    pub protocol: Option<String>,
    /// e.g. `TLS13_AES_256_GCM_SHA384`.
    pub cipher: Option<String>,
    /// Certificates the server sent, leaf included.
    pub chain_len: usize,
    pub leaf: Option<CertInfo>,
    /// Whether the pin (or system roots) vouched for the chain.
    pub trusted: bool,
    pub untrusted_why: Option<String>,
}

impl Detail {
    /// Fills the handshake facts from what the verifier saw and the connection negotiated, and
    /// returns the first failed condition: untrusted, then expired, then name mismatch.
    pub(crate) fn judge(
        &mut self,
        seen: &Seen,
        conn: Option<&ClientConnection>,
        wanted: &str,
    ) -> Option<Reason> {
        if let Some(c) = conn {
            self.protocol = c.protocol_version().map(|v| format!("{v:?}"));
            self.cipher = c
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()));
        }
        self.chain_len = seen.chain.len();
        self.leaf = seen
            .chain
            .first()
            .and_then(|der| CertInfo::inspect(der.as_ref(), wanted, trust::now_unix()).ok());
        match &seen.verdict {
            Some(Ok(())) => self.trusted = true,
            Some(Err(why)) => self.untrusted_why = Some(why.clone()),
            None => {}
        }
        if let Some(why) = &self.untrusted_why {
            return Some(Reason::Untrusted { why: why.clone() });
        }
        let leaf = self.leaf.as_ref()?;
        if leaf.expired {
            return Some(Reason::Expired {
                not_after: leaf.not_after.clone(),
            });
        }
        if !leaf.name_match {
            return Some(Reason::NameMismatch {
                wanted: wanted.to_owned(),
                names: leaf.sans.clone(),
            });
        }
        None
    }
}

/// Connects, shakes hands, inspects, closes.
#[derive(Debug, Clone)]
pub struct TlsProbe {
    target: Target,
    port: u16,
    server_name: String,
    trust: Trust,
    timeout: Duration,
}

impl TlsProbe {
    pub fn new(target: Target, spec: TlsSpec, timeout: Duration) -> Result<TlsProbe, Error> {
        let trust = Trust::new(spec.pin.as_ref()).map_err(|why| Error::Tls {
            target: target.to_string(),
            why,
        })?;
        let server_name = spec
            .server_name
            .clone()
            .unwrap_or_else(|| target.host_str());
        trust::server_name(&server_name).map_err(|why| Error::Tls {
            target: target.to_string(),
            why,
        })?;
        let port = target.port.unwrap_or(spec.port);
        Ok(TlsProbe {
            target,
            port,
            server_name,
            trust,
            timeout,
        })
    }

    async fn measure(&self) -> Result<Outcome, Error> {
        let started = SystemTime::now();
        let t0 = Instant::now();
        let mut detail = Detail::default();
        let counters = Counters::default();
        let reason = self.handshake(&mut detail, &counters).await?;
        let outcome = Outcome::new(
            Kind::Tls,
            &self.target,
            started,
            t0.elapsed(),
            super::Detail::Tls(detail),
        )
        .spent(counters.wire_bytes());
        Ok(match reason {
            Some(r) => outcome.failed(r),
            None => outcome,
        })
    }

    async fn handshake(
        &self,
        detail: &mut Detail,
        counters: &Counters,
    ) -> Result<Option<Reason>, Error> {
        let addr = match self.target.resolve(self.port).await {
            Ok(a) => a,
            Err(e) => {
                return Ok(Some(Reason::Unreachable {
                    message: e.to_string(),
                }));
            }
        };
        detail.addr = Some(addr.to_string());
        let c0 = Instant::now();
        let tcp = match tokio::time::timeout(
            self.timeout,
            super::connect_tcp(addr, &self.target.bind, None),
        )
        .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Ok(Some(Reason::from_io(&e))),
            Err(_) => {
                return Ok(Some(Reason::Timeout {
                    after: self.timeout,
                }));
            }
        };
        detail.connect = Some(c0.elapsed());
        let verifier = RecordingVerifier::new(self.trust.clone(), false);
        let config = trust::client_config(verifier.clone(), false).map_err(|why| Error::Tls {
            target: self.target.to_string(),
            why,
        })?;
        let name = trust::server_name(&self.server_name).map_err(|why| Error::Tls {
            target: self.target.to_string(),
            why,
        })?;
        let h0 = Instant::now();
        let connecting =
            TlsConnector::from(Arc::new(config)).connect(name, Counted::new(tcp, counters.clone()));
        match tokio::time::timeout(self.timeout, connecting).await {
            Ok(Ok(mut tls)) => {
                detail.handshake = Some(h0.elapsed());
                let reason =
                    detail.judge(&verifier.seen(), Some(tls.get_ref().1), &self.server_name);
                // close_notify; the answer does not matter.
                let _ = tokio::time::timeout(Duration::from_millis(200), tls.shutdown()).await;
                Ok(reason)
            }
            Ok(Err(e)) => {
                let judged = detail.judge(&verifier.seen(), None, &self.server_name);
                Ok(Some(judged.unwrap_or(Reason::Handshake {
                    message: e.to_string(),
                })))
            }
            Err(_) => Ok(Some(Reason::Timeout {
                after: self.timeout,
            })),
        }
    }
}

impl Probe for TlsProbe {
    fn kind(&self) -> Kind {
        Kind::Tls
    }

    fn target(&self) -> &Target {
        &self.target
    }

    fn cost_bytes(&self) -> u64 {
        super::stats::tcp_wire_bytes(600, 4_000)
    }

    fn run(&self) -> BoxFuture<'_, Result<Outcome, Error>> {
        Box::pin(self.measure())
    }
}
