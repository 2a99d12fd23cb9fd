//! TCP connect time to host:port; refused and timeout are outcomes, not errors.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{BoxFuture, Error, Kind, Outcome, Probe, Reason, Target};

/// What a TCP connect measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    /// The address connected to (after name resolution).
    pub addr: Option<String>,
    /// Time from SYN to established, when it connected.
    #[serde(with = "super::secs::opt")]
    pub connect: Option<Duration>,
}

/// Connects and closes.
#[derive(Debug, Clone)]
pub struct TcpProbe {
    target: Target,
    port: u16,
    timeout: Duration,
}

impl TcpProbe {
    /// The target's own port wins over the profile's.
    #[must_use]
    pub fn new(target: Target, port: u16, timeout: Duration) -> TcpProbe {
        let port = target.port.unwrap_or(port);
        TcpProbe {
            target,
            port,
            timeout,
        }
    }

    async fn measure(&self) -> Outcome {
        let started = SystemTime::now();
        let t0 = Instant::now();
        let mut detail = Detail {
            addr: None,
            connect: None,
        };
        let done = |detail: Detail, t0: Instant| {
            Outcome::new(
                Kind::Tcp,
                &self.target,
                started,
                t0.elapsed(),
                super::Detail::Tcp(detail),
            )
        };
        let addr = match self.target.resolve(self.port).await {
            Ok(a) => a,
            Err(e) => {
                return done(detail, t0).failed(Reason::Unreachable {
                    message: e.to_string(),
                });
            }
        };
        detail.addr = Some(addr.to_string());
        let c0 = Instant::now();
        match tokio::time::timeout(
            self.timeout,
            super::connect_tcp(addr, &self.target.bind, None),
        )
        .await
        {
            Ok(Ok(stream)) => {
                detail.connect = Some(c0.elapsed());
                drop(stream);
                done(detail, t0).spent(super::stats::tcp_wire_bytes(0, 0))
            }
            // A SYN and the RST that refused it.
            Ok(Err(e)) => done(detail, t0).failed(Reason::from_io(&e)).spent(2 * 52),
            // SYN and its retransmissions, no answer.
            Err(_) => done(detail, t0)
                .failed(Reason::Timeout {
                    after: self.timeout,
                })
                .spent(3 * 60),
        }
    }
}

impl Probe for TcpProbe {
    fn kind(&self) -> Kind {
        Kind::Tcp
    }

    fn target(&self) -> &Target {
        &self.target
    }

    fn cost_bytes(&self) -> u64 {
        super::stats::tcp_wire_bytes(0, 0)
    }

    fn run(&self) -> BoxFuture<'_, Result<Outcome, Error>> {
        Box::pin(async move { Ok(self.measure().await) })
    }
}
