//! Deterministic synthetic histories of a link, for the demo, tests and benchmarks: probe
//! rollups (1-minute for the last days, hourly for the whole span), raw samples for the last
//! hours, SNMP utilisation and look-ups per WIB day, in shapes whose right answer is known.
//! Every value is a pure function of the seed and the instant, so the same history can be
//! written to the store and, as OpenMetrics, to Prometheus.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;

use super::history::{SNMP_PROFILE, Selection};
use super::{wib_day, wib_midnight};
use crate::store::{Rollup, Sample, Store, quantile};

/// The shape of the traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Busy hours (weekdays 08–12 and 13–15 WIB) at about 95% of the contract, RTT and loss
    /// rising with them; many look-ups.
    Saturated,
    /// At most 15% of the contract; few look-ups.
    Idle,
    /// Busy hours growing from 20% to 45% of the contract over the span; look-ups growing.
    Growing,
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Spec {
    pub shape: Shape,
    pub contracted_bps: f64,
    /// The last WIB day of the history (included).
    pub last_day: NaiveDate,
    pub days: u32,
    pub seed: u64,
    /// Share of the contract the provider actually delivers (1.0: all of it).
    pub delivered: f64,
    /// Days at the end kept at 1-minute resolution (the store keeps 90).
    pub minute_days: u32,
    /// Hours at the end also written as raw samples.
    pub raw_hours: u32,
}

impl Spec {
    /// A spec with the store's retention (90 days of minutes, one day of raw samples).
    pub fn new(shape: Shape, contracted_bps: f64, last_day: NaiveDate, days: u32) -> Self {
        Self {
            shape,
            contracted_bps,
            last_day,
            days,
            seed: 20_260_101,
            delivered: 1.0,
            minute_days: 90,
            raw_hours: 24,
        }
    }

    /// The first instant, 00:00 WIB of the first day.
    pub fn start_s(&self) -> i64 {
        wib_midnight(self.last_day) + 86_400 - i64::from(self.days) * 86_400
    }

    /// The end (exclusive).
    pub fn end_s(&self) -> i64 {
        wib_midnight(self.last_day) + 86_400
    }
}

/// One minute of the link.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Minute {
    pub rtt_p50_s: f64,
    pub rtt_p90_s: f64,
    pub rtt_min_s: f64,
    pub rtt_max_s: f64,
    pub loss: f64,
    pub jitter_s: f64,
    pub rx_bps: f64,
    pub tx_bps: f64,
}

/// Interval of the bandwidth estimates, seconds (the shipped bandwidth profile's).
pub const ESTIMATE_EVERY_S: i64 = 1800;

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in [0, 1) for (seed, instant, channel).
fn u(seed: u64, t: i64, channel: u64) -> f64 {
    let h = mix(seed ^ mix((t as u64).wrapping_mul(31).wrapping_add(channel)));
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// (weekday 0 = Monday, hour with fraction) in WIB.
fn local(t: i64) -> (i64, f64) {
    let l = t + super::WIB_OFFSET_S;
    (
        (l.div_euclid(86_400) + 3).rem_euclid(7),
        l.rem_euclid(86_400) as f64 / 3600.0,
    )
}

/// Share of the contract in use at `t`, before the provider's cap.
fn load(spec: &Spec, t: i64) -> f64 {
    let (wd, h) = local(t);
    let r = u(spec.seed, t, 1);
    let busy = (8.0..12.0).contains(&h) || (13.0..15.0).contains(&h);
    let office = (7.0..17.0).contains(&h);
    if wd >= 5 {
        return 0.02 + 0.03 * r;
    }
    match spec.shape {
        Shape::Saturated if busy => 0.93 + 0.05 * r,
        Shape::Saturated if office => 0.50 + 0.10 * r,
        Shape::Saturated => 0.04 + 0.04 * r,
        Shape::Idle if busy => 0.09 + 0.05 * r,
        Shape::Idle if office => 0.05 + 0.03 * r,
        Shape::Idle => 0.01 + 0.02 * r,
        Shape::Growing => {
            let span = (spec.end_s() - spec.start_s()).max(1) as f64;
            let frac = (t - spec.start_s()) as f64 / span;
            let level = 0.20 + 0.25 * frac;
            if busy {
                level + 0.04 * r
            } else if office {
                level * 0.5 + 0.03 * r
            } else {
                0.03 + 0.03 * r
            }
        }
    }
}

/// The minute starting at `t`.
pub fn minute(spec: &Spec, t: i64) -> Minute {
    let cap = spec.delivered.clamp(0.05, 1.0);
    let share = load(spec, t).min(cap * 0.995);
    let pressure = share / cap;
    let c = spec.contracted_bps;
    let rx = share * c;
    let tx = rx * (0.22 + 0.06 * u(spec.seed, t, 2));
    let mut rtt = 0.018 + 0.004 * u(spec.seed, t, 3);
    let congested = pressure > 0.85;
    if congested {
        rtt += 0.35 * ((pressure - 0.85) / 0.15).min(1.0) + 0.05 * u(spec.seed, t, 4);
    }
    let loss = if pressure > 0.9 {
        0.015 + 0.03 * u(spec.seed, t, 5)
    } else if u(spec.seed, t, 6) < 0.02 {
        0.1
    } else {
        0.0
    };
    let p90 = rtt * 1.25 + 0.005;
    Minute {
        rtt_p50_s: rtt,
        rtt_p90_s: p90,
        rtt_min_s: rtt * 0.9,
        rtt_max_s: p90 * 1.5,
        loss,
        jitter_s: 0.002 + 0.002 * u(spec.seed, t, 7) + if congested { 0.03 } else { 0.0 },
        rx_bps: rx,
        tx_bps: tx,
    }
}

/// The available-bandwidth estimate made at `t`, bits per second (every 30 minutes).
pub fn estimate(spec: &Spec, t: i64) -> Option<f64> {
    if t.rem_euclid(ESTIMATE_EVERY_S) != 0 {
        return None;
    }
    let c = spec.contracted_bps;
    let delivered = spec.delivered.clamp(0.05, 1.0) * c;
    let free = (delivered - minute(spec, t).rx_bps).max(0.03 * c);
    Some(free * (0.97 + 0.06 * u(spec.seed, t, 8)))
}

/// NIK look-ups on a WIB day.
pub fn lookups(spec: &Spec, day: NaiveDate) -> u64 {
    let t = wib_midnight(day);
    let (wd, _) = local(t);
    let r = u(spec.seed, t, 9);
    if wd >= 5 {
        return (5.0 * r) as u64;
    }
    let n = match spec.shape {
        Shape::Saturated => 160.0 + 30.0 * r,
        Shape::Idle => 15.0 + 10.0 * r,
        Shape::Growing => {
            let frac = (t - spec.start_s()) as f64 / (spec.end_s() - spec.start_s()).max(1) as f64;
            40.0 + 100.0 * frac + 10.0 * r
        }
    };
    n as u64
}

/// Why a synthetic history could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Store(#[from] crate::store::Error),
    #[error("{0}")]
    Quota(#[from] crate::gate::quota::Error),
}

/// Rows written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Written {
    pub minute_rollups: usize,
    pub hour_rollups: usize,
    pub samples: usize,
    pub days: usize,
}

fn rollup(res: i64, bucket: i64, node: &str, profile: &str) -> Rollup {
    Rollup {
        resolution_s: res,
        bucket_s: bucket,
        node: node.into(),
        profile: profile.into(),
        rounds: 0,
        ok_rounds: 0,
        rtt_min_s: None,
        rtt_p50_s: None,
        rtt_p90_s: None,
        rtt_max_s: None,
        loss_mean: None,
        jitter_mean_s: None,
        bandwidth_mean_bps: None,
        bytes: 0,
        rx_mean_bps: None,
        rx_max_bps: None,
        tx_mean_bps: None,
        tx_max_bps: None,
    }
}

/// Bytes one ICMP round of the shipped profile puts on the wire.
const ICMP_ROUND_BYTES: i64 = 1680;
/// Bytes one estimate of the shipped bandwidth profile puts on the wire.
const ESTIMATE_BYTES: i64 = 49_344;

/// Write the history of `spec` for `sel` into `store` and `state_dir/quota.db`.
pub fn write(
    store: &mut Store,
    state_dir: &Path,
    sel: &Selection,
    spec: &Spec,
) -> Result<Written, Error> {
    let mut w = Written::default();
    let (lat_n, lat_p) = (sel.latency.node.as_str(), sel.latency.profile.as_str());
    let (bw_n, bw_p) = (sel.bandwidth.node.as_str(), sel.bandwidth.profile.as_str());
    let link = sel.link.as_str();
    let minute_from = spec.end_s() - i64::from(spec.minute_days) * 86_400;
    let raw_from = spec.end_s() - i64::from(spec.raw_hours) * 3600;
    let mut samples = Vec::new();
    let mut day_start = spec.start_s();
    let mut rows = Vec::with_capacity(3000);
    while day_start < spec.end_s() {
        for hour in 0..24 {
            let hs = day_start + hour * 3600;
            let mut lat = rollup(3600, hs, lat_n, lat_p);
            let mut snmp = rollup(3600, hs, link, SNMP_PROFILE);
            let mut bw = rollup(3600, hs, bw_n, bw_p);
            let mut medians = Vec::with_capacity(60);
            let (mut loss, mut jitter, mut rx, mut tx) = (0.0, 0.0, 0.0, 0.0);
            let (mut rx_max, mut tx_max, mut lo, mut hi) = (0.0f64, 0.0f64, f64::MAX, 0.0f64);
            let (mut est_sum, mut est_n) = (0.0, 0);
            for m in 0..60 {
                let t = hs + m * 60;
                let x = minute(spec, t);
                medians.push(x.rtt_p50_s);
                loss += x.loss;
                jitter += x.jitter_s;
                rx += x.rx_bps;
                tx += x.tx_bps;
                rx_max = rx_max.max(x.rx_bps);
                tx_max = tx_max.max(x.tx_bps);
                lo = lo.min(x.rtt_min_s);
                hi = hi.max(x.rtt_max_s);
                let est = estimate(spec, t);
                if let Some(e) = est {
                    est_sum += e;
                    est_n += 1;
                }
                if t >= minute_from {
                    let mut r = rollup(60, t, lat_n, lat_p);
                    r.rounds = 1;
                    r.ok_rounds = 1;
                    r.rtt_min_s = Some(x.rtt_min_s);
                    r.rtt_p50_s = Some(x.rtt_p50_s);
                    r.rtt_max_s = Some(x.rtt_max_s);
                    r.loss_mean = Some(x.loss);
                    r.jitter_mean_s = Some(x.jitter_s);
                    r.bytes = ICMP_ROUND_BYTES;
                    // As the store rolls a minute of one round up: the p90 of one median.
                    r.rtt_p90_s = Some(x.rtt_p50_s);
                    rows.push(r);
                    let mut s = rollup(60, t, link, SNMP_PROFILE);
                    s.rounds = 1;
                    s.ok_rounds = 1;
                    s.rx_mean_bps = Some(x.rx_bps);
                    s.rx_max_bps = Some(x.rx_bps);
                    s.tx_mean_bps = Some(x.tx_bps);
                    s.tx_max_bps = Some(x.tx_bps);
                    rows.push(s);
                    if let Some(e) = est {
                        let mut b = rollup(60, t, bw_n, bw_p);
                        b.rounds = 1;
                        b.ok_rounds = 1;
                        b.bandwidth_mean_bps = Some(e);
                        b.bytes = ESTIMATE_BYTES;
                        rows.push(b);
                    }
                    w.minute_rollups += 2 + usize::from(est.is_some());
                }
                if t >= raw_from {
                    samples.extend(raw(spec, sel, t, &x, est));
                }
            }
            medians.sort_by(f64::total_cmp);
            lat.rounds = 60;
            lat.ok_rounds = 60;
            lat.rtt_min_s = Some(lo);
            lat.rtt_p50_s = quantile(&medians, 0.5);
            lat.rtt_p90_s = quantile(&medians, 0.9);
            lat.rtt_max_s = Some(hi);
            lat.loss_mean = Some(loss / 60.0);
            lat.jitter_mean_s = Some(jitter / 60.0);
            lat.bytes = 60 * ICMP_ROUND_BYTES;
            snmp.rounds = 60;
            snmp.ok_rounds = 60;
            snmp.rx_mean_bps = Some(rx / 60.0);
            snmp.tx_mean_bps = Some(tx / 60.0);
            snmp.rx_max_bps = Some(rx_max);
            snmp.tx_max_bps = Some(tx_max);
            rows.push(lat);
            rows.push(snmp);
            w.hour_rollups += 2;
            if est_n > 0 {
                bw.rounds = est_n;
                bw.ok_rounds = est_n;
                bw.bandwidth_mean_bps = Some(est_sum / est_n as f64);
                bw.bytes = est_n * ESTIMATE_BYTES;
                rows.push(bw);
                w.hour_rollups += 1;
            }
        }
        day_start += 86_400;
    }
    // One transaction: per-day commits made the write twice as slow.
    store.insert_rollups(&rows)?;
    w.samples = samples.len();
    store.insert(&samples)?;
    let days: Vec<(NaiveDate, u64)> = (0..spec.days)
        .map(|i| {
            let d = wib_day(spec.start_s() + i64::from(i) * 86_400);
            (d, lookups(spec, d))
        })
        .collect();
    w.days = days.len();
    crate::gate::quota::write_history(state_dir, &days)?;
    Ok(w)
}

fn raw(spec: &Spec, sel: &Selection, t: i64, x: &Minute, est: Option<f64>) -> Vec<Sample> {
    let base = |node: &str, profile: &str, kind: &str| Sample {
        ts_ms: t * 1000,
        node: node.into(),
        profile: profile.into(),
        kind: kind.into(),
        ok: true,
        state: "healthy".into(),
        rtt_p50_s: None,
        rtt_p90_s: None,
        rtt_max_s: None,
        rtt_min_s: None,
        loss: None,
        jitter_s: None,
        bandwidth_bps: None,
        bytes: 0,
        detail: "sintetis".into(),
        rx_bps: None,
        tx_bps: None,
    };
    let mut v = Vec::with_capacity(3);
    let mut s = base(&sel.latency.node, &sel.latency.profile, "icmp");
    s.rtt_p50_s = Some(x.rtt_p50_s);
    s.rtt_p90_s = Some(x.rtt_p90_s);
    s.rtt_min_s = Some(x.rtt_min_s);
    s.rtt_max_s = Some(x.rtt_max_s);
    s.loss = Some(x.loss);
    s.jitter_s = Some(x.jitter_s);
    s.bytes = ICMP_ROUND_BYTES as u64;
    if x.loss > 0.05 || x.rtt_p50_s > 0.15 {
        s.state = "degraded".into();
    }
    v.push(s);
    let mut s = base(sel.link.as_str(), SNMP_PROFILE, "snmp");
    s.rx_bps = Some(x.rx_bps);
    s.tx_bps = Some(x.tx_bps);
    v.push(s);
    if let Some(e) = est {
        let mut s = base(&sel.bandwidth.node, &sel.bandwidth.profile, "bandwidth");
        s.bandwidth_bps = Some(e);
        s.bytes = ESTIMATE_BYTES as u64;
        if e < 0.2 * spec.contracted_bps {
            s.state = "degraded".into();
        }
        v.push(s);
    }
    v
}

/// The same history as OpenMetrics text with timestamps, for `promtool tsdb
/// create-blocks-from openmetrics`, over `[from_s, to_s)` at one sample a minute: the metrics
/// `juknis serve` exposes, as a Prometheus scraping it every minute would have stored them.
pub fn openmetrics(
    out: &mut impl Write,
    sel: &Selection,
    spec: &Spec,
    from_s: i64,
    to_s: i64,
) -> std::io::Result<()> {
    let (n, p) = (&sel.latency.node, &sel.latency.profile);
    let minutes = || (from_s..to_s).step_by(60);
    writeln!(out, "# TYPE juknis_probe_rtt_seconds gauge")?;
    for stat in ["p50", "p90"] {
        for t in minutes() {
            let m = minute(spec, t);
            let v = if stat == "p50" {
                m.rtt_p50_s
            } else {
                m.rtt_p90_s
            };
            writeln!(
                out,
                "juknis_probe_rtt_seconds{{node=\"{n}\",profile=\"{p}\",kind=\"icmp\",stat=\"{stat}\"}} {v} {t}"
            )?;
        }
    }
    writeln!(out, "# TYPE juknis_probe_loss_ratio gauge")?;
    for t in minutes() {
        let v = minute(spec, t).loss;
        writeln!(
            out,
            "juknis_probe_loss_ratio{{node=\"{n}\",profile=\"{p}\"}} {v} {t}"
        )?;
    }
    writeln!(out, "# TYPE juknis_probe_jitter_seconds gauge")?;
    for t in minutes() {
        let v = minute(spec, t).jitter_s;
        writeln!(
            out,
            "juknis_probe_jitter_seconds{{node=\"{n}\",profile=\"{p}\"}} {v} {t}"
        )?;
    }
    writeln!(
        out,
        "# TYPE juknis_link_bandwidth_estimate_bytes_per_second gauge"
    )?;
    let (bn, bp) = (&sel.bandwidth.node, &sel.bandwidth.profile);
    for t in minutes() {
        if let Some(e) = estimate(spec, t) {
            let v = e / 8.0;
            writeln!(
                out,
                "juknis_link_bandwidth_estimate_bytes_per_second{{node=\"{bn}\",profile=\"{bp}\",method=\"trains\"}} {v} {t}"
            )?;
        }
    }
    writeln!(out, "# TYPE juknis_link_interface_octets counter")?;
    let link = sel.link.as_str();
    for dir in ["rx", "tx"] {
        let mut octets = 0.0;
        // One reading at the end closes the last minute.
        for t in (from_s..=to_s).step_by(60) {
            writeln!(
                out,
                "juknis_link_interface_octets_total{{link=\"{link}\",direction=\"{dir}\"}} {octets} {t}"
            )?;
            let m = minute(spec, t);
            octets += if dir == "rx" { m.rx_bps } else { m.tx_bps } * 60.0 / 8.0;
        }
    }
    writeln!(out, "# TYPE juknis_quota_used gauge")?;
    for t in (from_s..to_s).step_by(600) {
        let day = wib_day(t);
        let into = (t - wib_midnight(day) + 600) as f64 / 86_400.0;
        let v = (lookups(spec, day) as f64 * into.min(1.0)).floor();
        writeln!(out, "juknis_quota_used {v} {t}")?;
    }
    writeln!(out, "# EOF")
}
