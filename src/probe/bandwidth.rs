//! Bandwidth: (a) a continuous, low-cost estimate from the dispersion of ICMP packet trains,
//! needing nothing on the far side; (b) an explicit throughput test, an HTTP(S) download of a
//! URL or a juknis reflector (`GET /reflect?bytes=N`) for a time or a byte cap, with progress.
//! Both report the bytes they spent.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::http::{Limits, Plan};
use super::profile::{BandwidthSpec, ThroughputSpec, TrainSpec};
use super::stats::{self, icmp_packet_bytes};
use super::{BoxFuture, Error, Kind, Outcome, Probe, Reason, Target};

/// What a bandwidth measurement found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    /// `trains` or `throughput`.
    pub method: String,
    /// The estimate in bits per second (median over trains, or body bits over reading time).
    pub estimate_bps: Option<f64>,
    /// Per-train capacity estimates (trains only).
    pub per_train_bps: Vec<f64>,
    /// Body bytes downloaded (throughput only).
    pub body_bytes: u64,
    /// Echoes lost across all trains (trains only).
    pub lost: u32,
}

/// Progress of a throughput test: body bytes so far and time since the first byte.
pub type Progress = Arc<dyn Fn(u64, Duration) + Send + Sync>;

/// A bandwidth probe of either method.
#[derive(Clone)]
pub struct BandwidthProbe {
    target: Target,
    spec: BandwidthSpec,
    plan: Option<Plan>,
    timeout: Duration,
    progress: Option<Progress>,
    sockets: Option<super::icmp::Sockets>,
}

impl std::fmt::Debug for BandwidthProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BandwidthProbe")
            .field("target", &self.target)
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

impl BandwidthProbe {
    pub fn new(
        target: Target,
        spec: BandwidthSpec,
        timeout: Duration,
    ) -> Result<BandwidthProbe, Error> {
        let plan = match &spec {
            BandwidthSpec::Throughput(t) => Some(Plan::new(&target, &t.endpoint)?),
            BandwidthSpec::Trains(_) => None,
        };
        Ok(BandwidthProbe {
            target,
            spec,
            plan,
            timeout,
            progress: None,
            sockets: None,
        })
    }

    /// Calls `progress` as body bytes arrive (throughput only), for the CLI's progress bar.
    #[must_use]
    pub fn with_progress(mut self, progress: Progress) -> BandwidthProbe {
        self.progress = Some(progress);
        self
    }

    /// Sends packet trains over sockets opened beforehand (see [`super::icmp::Sockets`]).
    #[must_use]
    pub fn with_sockets(mut self, sockets: super::icmp::Sockets) -> BandwidthProbe {
        self.sockets = Some(sockets);
        self
    }

    async fn measure(&self) -> Result<Outcome, Error> {
        match (&self.spec, &self.plan) {
            (BandwidthSpec::Trains(t), _) => self.trains(t).await,
            (BandwidthSpec::Throughput(t), Some(plan)) => self.throughput(t, plan).await,
            (BandwidthSpec::Throughput(_), None) => Err(Error::Target {
                target: self.target.to_string(),
                why: "throughput test without a URL".to_owned(),
            }),
        }
    }

    async fn trains(&self, spec: &TrainSpec) -> Result<Outcome, Error> {
        let started = SystemTime::now();
        let t0 = Instant::now();
        let mut detail = Detail {
            method: "trains".to_owned(),
            estimate_bps: None,
            per_train_bps: Vec::new(),
            body_bytes: 0,
            lost: 0,
        };
        let ip = match super::icmp::resolve(&self.target).await {
            Ok(ip) => ip,
            Err(r) => {
                return Ok(Outcome::new(
                    Kind::Bandwidth,
                    &self.target,
                    started,
                    t0.elapsed(),
                    super::Detail::Bandwidth(detail),
                )
                .failed(r));
            }
        };
        let (client, _) = super::icmp::client_for(self.sockets.as_ref(), ip, &self.target)?;
        let packet = icmp_packet_bytes(spec.size, ip.is_ipv6());
        let mut spent = 0_u64;
        let mut received_total = 0_u32;
        for i in 0..spec.trains {
            if i > 0 {
                tokio::time::sleep(spec.gap).await;
            }
            let seq = u16::try_from((i * spec.train_len) % 60_000).unwrap_or(0);
            let arrivals =
                super::icmp::train(&client, ip, spec.train_len, spec.size, self.timeout, seq).await;
            let got = u32::try_from(arrivals.len()).unwrap_or(u32::MAX);
            received_total += got;
            detail.lost += spec.train_len.saturating_sub(got);
            spent += u64::from(packet) * u64::from(spec.train_len + got);
            if let (Some(first), Some(last)) = (arrivals.first(), arrivals.last())
                && let Some(bps) = stats::train_capacity_bps(arrivals.len(), packet, *first, *last)
            {
                detail.per_train_bps.push(bps);
            }
        }
        detail.estimate_bps = stats::median(&detail.per_train_bps);
        let sent = spec.trains * spec.train_len;
        let no_estimate = detail.estimate_bps.is_none();
        let outcome = Outcome::new(
            Kind::Bandwidth,
            &self.target,
            started,
            t0.elapsed(),
            super::Detail::Bandwidth(detail),
        )
        .spent(spent);
        Ok(if received_total == 0 {
            outcome.failed(Reason::AllLost { sent })
        } else if no_estimate {
            outcome.failed(Reason::Network {
                message: "replies arrived without dispersion; no estimate".to_owned(),
            })
        } else {
            outcome
        })
    }

    async fn throughput(&self, spec: &ThroughputSpec, plan: &Plan) -> Result<Outcome, Error> {
        let started = SystemTime::now();
        let limits = Limits {
            max_body: spec.max_bytes,
            keep_body: 0,
            read_for: Some(spec.duration),
        };
        let f = plan
            .fetch(&self.target, self.timeout, limits, self.progress.as_deref())
            .await?;
        // Bits over the time from the response head to the last byte: the transfer, without the
        // handshakes, so a short test on a slow link is not dragged down by its set-up.
        let estimate = f
            .last_byte
            .filter(|d| !d.is_zero())
            .map(|d| f.body_bytes as f64 * 8.0 / d.as_secs_f64());
        let detail = Detail {
            method: "throughput".to_owned(),
            estimate_bps: estimate,
            per_train_bps: Vec::new(),
            body_bytes: f.body_bytes,
            lost: 0,
        };
        let outcome = Outcome::new(
            Kind::Bandwidth,
            &self.target,
            started,
            f.phases.total.unwrap_or_default(),
            super::Detail::Bandwidth(detail),
        )
        .spent(f.counters.wire_bytes());
        let reason = f.failure.or_else(|| match f.status {
            Some(s) if !(200..300).contains(&s) => Some(Reason::BadStatus {
                status: s,
                expected: vec![200],
            }),
            _ => None,
        });
        Ok(match reason {
            Some(r) => outcome.failed(r),
            None => outcome,
        })
    }
}

impl Probe for BandwidthProbe {
    fn kind(&self) -> Kind {
        Kind::Bandwidth
    }

    fn target(&self) -> &Target {
        &self.target
    }

    fn cost_bytes(&self) -> u64 {
        match &self.spec {
            BandwidthSpec::Trains(t) => t.cost_bytes(),
            BandwidthSpec::Throughput(t) => stats::tcp_wire_bytes(1_000, 5_000 + t.max_bytes),
        }
    }

    fn run(&self) -> BoxFuture<'_, Result<Outcome, Error>> {
        Box::pin(self.measure())
    }
}
