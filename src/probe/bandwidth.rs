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
            if let Some(bps) = train_rate_bps(&arrivals, packet) {
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

/// The rate one train shows: the packets' bits over the spread of the train's second half.
///
/// Not the whole train's spread: a link shaped by a token bucket (Linux `tbf`, most providers'
/// policers) lets its burst through at line rate, so the first replies of a train arrive nearly
/// together and only the rest are spaced at the shaped rate. On the test-bed (a burst of 10 ms at
/// the rate, at least 3,028 bytes) the whole spread of a 6-packet train of 1,028-byte echoes read
/// 59 % high at 512 kbit/s, 1 Mbit/s and 2 Mbit/s alike. Once the bucket is empty every packet
/// waits exactly one packet time for its tokens, so the second half is spaced at the rate as long
/// as the burst holds fewer than half the train. A train that fits in the burst entirely still
/// reads the line rate: that is a limit of packet trains, not of this arithmetic. `arrivals` are
/// sorted instants in seconds.
fn train_rate_bps(arrivals: &[f64], packet_bytes: u32) -> Option<f64> {
    let n = arrivals.len();
    if n < 2 {
        return None;
    }
    let first = (n - 1) / 2;
    let gaps = n - 1 - first;
    let spread = arrivals[n - 1] - arrivals[first];
    (spread.is_finite() && spread > 0.0)
        .then(|| gaps as f64 * f64::from(packet_bytes) * 8.0 / spread)
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

#[cfg(test)]
mod tests {
    use super::train_rate_bps;

    /// A 6-packet train of 1,028-byte echoes after a token bucket of 1 Mbit/s whose burst let the
    /// first two packets through together and the third almost so (the test-bed's `tbf`).
    #[test]
    fn token_bucket_burst_does_not_inflate_the_rate() {
        let gap = 1042.0 * 8.0 / 1e6;
        let arrivals = [0.0, 0.0, 98.0 * 8.0 / 1e6, 0.0, 0.0, 0.0];
        let mut t = arrivals[2];
        let mut a = arrivals.to_vec();
        for x in a.iter_mut().skip(3) {
            t += gap;
            *x = t;
        }
        let bps = train_rate_bps(&a, 1028).unwrap_or_default();
        assert!((bps / (1e6 * 1028.0 / 1042.0) - 1.0).abs() < 1e-9, "{bps}");
    }

    #[test]
    fn evenly_spaced_train_gives_its_rate() {
        let a: Vec<f64> = (0..8).map(|i| f64::from(i) * 0.004).collect();
        let bps = train_rate_bps(&a, 1000).unwrap_or_default();
        assert!((bps - 2e6).abs() < 1e-3, "{bps}");
    }

    #[test]
    fn no_dispersion_no_estimate() {
        assert_eq!(train_rate_bps(&[1.0, 1.0, 1.0], 1000), None);
        assert_eq!(train_rate_bps(&[1.0], 1000), None);
        assert_eq!(train_rate_bps(&[], 1000), None);
    }
}
