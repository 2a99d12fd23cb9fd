//! The numbers of the study: percentiles by day and by hour of the week, trends, utilisation
//! against the contract, busy hours, look-ups and their bytes, and the projection over the
//! horizon. Pure arithmetic over a [`History`].

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::cost::LookupCost;
use super::history::{History, Point};
use super::{Period, wib_hour_of_week};

/// Days in an average month, for trends per month.
pub const DAYS_PER_MONTH: f64 = 30.4375;

/// How many days at the end of the period give the current busy hour.
pub const RECENT_DAYS: i64 = 28;

/// A busy hour: utilisation p95 above this share of the contract.
pub const BUSY_UTILISATION: f64 = 0.70;

/// A busy hour: RTT p95 at least this many times the period's median RTT...
pub const BUSY_RTT_FACTOR: f64 = 2.0;
/// ...and at least this much above it, seconds.
pub const BUSY_RTT_MARGIN_S: f64 = 0.020;

/// What the analysis needs besides the history.
#[derive(Clone, Debug)]
pub struct Inputs {
    pub period: Period,
    pub contracted_bps: f64,
    /// OPD applications declared in the topology (nodes of kind `app`).
    pub apps: usize,
    pub cost: LookupCost,
    /// Declared growth of traffic and look-ups per year, percent; `None` uses the measured trend.
    pub growth_percent: Option<f64>,
    pub horizon_months: u32,
    /// Time within which one answer should arrive when every application asks at once.
    pub response_target_s: f64,
}

/// Distribution of a series (time-weighted).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

/// A least-squares line through daily values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trend {
    /// Change per month, in the series' unit.
    pub per_month: f64,
    /// The fitted value on the last day of the period.
    pub at_end: f64,
}

impl Trend {
    /// The fitted value `months` after the period's last day.
    pub fn after(&self, months: f64) -> f64 {
        self.at_end + self.per_month * months
    }
}

/// One WIB day.
#[derive(Clone, Debug, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    /// Utilisation of the busier direction, share of the contract.
    pub util_mean: Option<f64>,
    pub util_p95: Option<f64>,
    pub rx_p95_bps: Option<f64>,
    pub tx_p95_bps: Option<f64>,
    pub available_p50_bps: Option<f64>,
    pub rtt_p50_s: Option<f64>,
    pub rtt_p95_s: Option<f64>,
    pub loss_mean: Option<f64>,
    pub jitter_p50_s: Option<f64>,
    pub lookups: Option<u64>,
}

/// Look-ups per day.
#[derive(Clone, Debug, PartialEq)]
pub struct Lookups {
    pub days: usize,
    pub total: u64,
    pub mean: f64,
    pub max: u64,
    pub max_day: NaiveDate,
    pub trend: Option<Trend>,
    /// Bytes the look-ups put on the link on an average day.
    pub bytes_per_day: f64,
}

/// Where the growth over the horizon comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Growth {
    /// The user's figure, percent per year.
    Declared(f64),
    /// The measured trend of daily p95 utilisation (look-ups: their own trend).
    Measured,
}

/// The period's traffic carried forward over the horizon.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    pub horizon_months: u32,
    pub growth: Growth,
    /// Factor applied to the busy-hour utilisation.
    pub util_factor: f64,
    /// Factor applied to look-ups.
    pub lookup_factor: f64,
    /// Busy-hour p95 now (last weeks of the period), bits per second.
    pub busy_p95_bps: f64,
    /// Busy-hour p95 at the horizon, bits per second.
    pub projected_busy_p95_bps: f64,
    pub lookups_mean: Option<f64>,
    pub lookups_max: Option<f64>,
    pub apps: usize,
    pub response_target_s: f64,
    /// Every application receiving one answer within the target at once, bits per second.
    pub burst_bps: f64,
}

/// Everything the recommendation and the document use.
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    pub period: Period,
    pub contracted_bps: f64,
    pub days: Vec<Day>,
    /// Utilisation of the busier direction, share of the contract.
    pub util: Option<Summary>,
    pub rx_bps: Option<Summary>,
    pub tx_bps: Option<Summary>,
    /// Per hour of the week (Monday 00 first): utilisation p95 (share) and RTT p95 (seconds).
    pub heat_util: Vec<Option<f64>>,
    pub heat_rtt: Vec<Option<f64>>,
    /// Hours of the week that are busy (utilisation p95 over 70% or RTT p95 risen).
    pub busy_hours: Vec<usize>,
    /// The busiest hour of the week over the last weeks, and its utilisation p95 (share).
    pub busiest_hour: Option<(usize, f64)>,
    pub rtt_s: Option<Summary>,
    pub loss: Option<Summary>,
    pub jitter_s: Option<Summary>,
    pub available_bps: Option<Summary>,
    /// Bandwidth rounds that gave no figure (not counted in `available_bps`).
    pub bandwidth_undetermined: super::history::Undetermined,
    /// Capacity the provider delivers: each estimate of available bandwidth plus the traffic
    /// measured at the same time.
    pub delivered_bps: Option<Summary>,
    pub util_trend: Option<Trend>,
    pub rtt_trend: Option<Trend>,
    pub lookups: Option<Lookups>,
    pub cost: LookupCost,
    pub projection: Projection,
    pub source: String,
    pub resolutions: Vec<(i64, usize)>,
    /// Planned maintenance in the period, seconds, and the points left out for it.
    pub planned_s: i64,
    pub planned_points: usize,
}

/// The `q` quantile of time-weighted values (nearest rank on the cumulative weight).
pub fn weighted_quantile(values: &mut [(f64, f64)], q: f64) -> Option<f64> {
    values.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = values.iter().map(|v| v.1).sum();
    quantile_sorted(values, total, q)
}

/// [`weighted_quantile`] of values already sorted, whose weights sum to `total`.
fn quantile_sorted(sorted: &[(f64, f64)], total: f64, q: f64) -> Option<f64> {
    let want = q.clamp(0.0, 1.0) * total;
    let mut acc = 0.0;
    for &(v, w) in sorted {
        acc += w;
        if acc >= want - 1e-9 * total {
            return Some(v);
        }
    }
    sorted.last().map(|v| v.0)
}

fn summary(values: &[(f64, f64)]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let w: f64 = v.iter().map(|x| x.1).sum();
    let mean = v.iter().map(|x| x.0 * x.1).sum::<f64>() / w.max(f64::MIN_POSITIVE);
    Some(Summary {
        n: v.len(),
        mean,
        p50: quantile_sorted(&v, w, 0.5)?,
        p95: quantile_sorted(&v, w, 0.95)?,
        max: v.last().map_or(f64::NAN, |x| x.0),
    })
}

fn weighted(points: &[Point]) -> Vec<(f64, f64)> {
    points.iter().map(|p| (p.v, p.dur as f64)).collect()
}

/// Least squares through `(day index, value)`; `None` with fewer than 3 days.
pub fn trend(values: &[(f64, f64)], last_x: f64) -> Option<Trend> {
    if values.len() < 3 {
        return None;
    }
    let n = values.len() as f64;
    let mx = values.iter().map(|v| v.0).sum::<f64>() / n;
    let my = values.iter().map(|v| v.1).sum::<f64>() / n;
    let sxx: f64 = values.iter().map(|v| (v.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = values.iter().map(|v| (v.0 - mx) * (v.1 - my)).sum();
    let slope = sxy / sxx;
    Some(Trend {
        per_month: slope * DAYS_PER_MONTH,
        at_end: my + slope * (last_x - mx),
    })
}

/// Values per WIB day of the period (index 0 = the first day); points outside are dropped.
fn by_day(points: &[Point], period: &Period) -> Vec<Vec<(f64, f64)>> {
    let start = period.start_s();
    let n = period.days().max(0) as usize;
    let mut m = vec![Vec::new(); n];
    for p in points {
        let i = (p.t - start).div_euclid(86_400);
        if (0..n as i64).contains(&i) {
            m[i as usize].push((p.v, p.dur as f64));
        }
    }
    m
}

fn by_hour(points: &[Point]) -> Vec<Vec<(f64, f64)>> {
    let mut m = vec![Vec::new(); 168];
    for p in points {
        m[wib_hour_of_week(p.t)].push((p.v, p.dur as f64));
    }
    m
}

/// The busier direction of each bucket, bits per second (both series are sorted by time).
fn utilisation(h: &History) -> Vec<Point> {
    let (rx, tx) = (&h.rx_bps, &h.tx_bps);
    let mut out = Vec::with_capacity(rx.len().max(tx.len()));
    let (mut i, mut j) = (0, 0);
    while i < rx.len() || j < tx.len() {
        match (rx.get(i), tx.get(j)) {
            (Some(a), Some(b)) if a.t == b.t => {
                out.push(Point {
                    v: a.v.max(b.v),
                    ..*a
                });
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a.t < b.t => {
                out.push(*a);
                i += 1;
            }
            (Some(_), Some(b)) | (None, Some(b)) => {
                out.push(*b);
                j += 1;
            }
            (Some(a), None) => {
                out.push(*a);
                i += 1;
            }
            (None, None) => break,
        }
    }
    out
}

/// Analyse `h` for `inputs`.
pub fn analyse(h: &History, inputs: &Inputs) -> Analysis {
    let c = inputs.contracted_bps.max(1.0);
    let period = inputs.period;
    let start_day = period.from;
    let x_of = |d: NaiveDate| (d - start_day).num_days() as f64;
    let last_x = x_of(period.to);

    let used = utilisation(h);
    let share: Vec<Point> = used.iter().map(|p| Point { v: p.v / c, ..*p }).collect();

    // Per day.
    let util_d = by_day(&share, &period);
    let rx_d = by_day(&h.rx_bps, &period);
    let tx_d = by_day(&h.tx_bps, &period);
    let av_d = by_day(&h.available_bps, &period);
    let rtt_d = by_day(&h.rtt_p50_s, &period);
    let loss_d = by_day(&h.loss, &period);
    let jit_d = by_day(&h.jitter_s, &period);
    let look: BTreeMap<NaiveDate, u64> = h
        .lookups
        .iter()
        .filter(|(d, _)| *d >= period.from && *d <= period.to)
        .copied()
        .collect();
    let mut days = Vec::new();
    let mut d = period.from;
    for i in 0..util_d.len() {
        let s = |m: &[Vec<(f64, f64)>]| summary(&m[i]);
        let u = s(&util_d);
        let rtt = s(&rtt_d);
        let day = Day {
            date: d,
            util_mean: u.map(|u| u.mean),
            util_p95: u.map(|u| u.p95),
            rx_p95_bps: s(&rx_d).map(|v| v.p95),
            tx_p95_bps: s(&tx_d).map(|v| v.p95),
            available_p50_bps: s(&av_d).map(|v| v.p50),
            rtt_p50_s: rtt.map(|v| v.p50),
            rtt_p95_s: rtt.map(|v| v.p95),
            loss_mean: s(&loss_d).map(|v| v.mean),
            jitter_p50_s: s(&jit_d).map(|v| v.p50),
            lookups: look.get(&d).copied(),
        };
        days.push(day);
        d = d.succ_opt().unwrap_or(d);
    }

    // Per hour of the week, over the whole period.
    let quant = |cells: Vec<Vec<(f64, f64)>>| -> Vec<Option<f64>> {
        cells
            .into_iter()
            .map(|mut v| weighted_quantile(&mut v, 0.95))
            .collect()
    };
    let heat_util = quant(by_hour(&share));
    let heat_rtt = quant(by_hour(&h.rtt_p50_s));
    let rtt_s = summary(&weighted(&h.rtt_p50_s));
    let busy_hours: Vec<usize> = (0..168)
        .filter(|&i| {
            let u = heat_util[i].is_some_and(|u| u > BUSY_UTILISATION);
            let r = match (heat_rtt[i], rtt_s) {
                (Some(r), Some(all)) => {
                    r >= all.p50 * BUSY_RTT_FACTOR && r >= all.p50 + BUSY_RTT_MARGIN_S
                }
                _ => false,
            };
            u || r
        })
        .collect();

    // The busiest hour now: the last weeks of the period.
    let recent_from = period.end_s() - RECENT_DAYS.min(period.days()) * 86_400;
    let recent: Vec<Point> = used
        .iter()
        .filter(|p| p.t >= recent_from)
        .copied()
        .collect();
    let busiest_bps = quant(by_hour(&recent))
        .into_iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let busiest_hour = busiest_bps.map(|(i, v)| (i, v / c));

    // Delivered capacity: each estimate plus the traffic of its bucket (or its hour).
    let used_at = |t: i64| {
        used.binary_search_by_key(&t, |p| p.t)
            .ok()
            .map(|i| used[i].v)
    };
    let delivered: Vec<(f64, f64)> = h
        .available_bps
        .iter()
        .map(|p| {
            let u = used_at(p.t)
                .or_else(|| used_at(p.t - p.t.rem_euclid(3600)))
                .unwrap_or(0.0);
            (p.v + u, p.dur as f64)
        })
        .collect();

    // Trends over working days only: weekends carry no busy hour, and a weekly cycle cut at
    // the period's ends would read as a slope.
    let workday = |d: NaiveDate| d.weekday().num_days_from_monday() < 5;
    let daily = |f: &dyn Fn(&Day) -> Option<f64>| -> Vec<(f64, f64)> {
        days.iter()
            .filter(|d| workday(d.date))
            .filter_map(|d| f(d).map(|v| (x_of(d.date), v)))
            .collect()
    };
    let util_trend = trend(&daily(&|d| d.util_p95.map(|u| u * c)), last_x);
    let rtt_trend = trend(&daily(&|d| d.rtt_p95_s), last_x);

    let lookups = (!look.is_empty()).then(|| {
        let total: u64 = look.values().sum();
        let (max_day, max) = look
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(d, n)| (*d, *n))
            .unwrap_or((period.from, 0));
        let mean = total as f64 / look.len() as f64;
        let pts: Vec<(f64, f64)> = look
            .iter()
            .filter(|(d, _)| workday(**d))
            .map(|(d, n)| (x_of(*d), *n as f64))
            .collect();
        Lookups {
            days: look.len(),
            total,
            mean,
            max,
            max_day,
            trend: trend(&pts, last_x),
            bytes_per_day: mean * inputs.cost.total() as f64,
        }
    });

    // Projection.
    let h_m = f64::from(inputs.horizon_months);
    let measured = |t: Option<Trend>| -> f64 {
        match t {
            Some(t) if t.at_end > 0.0 => (t.after(h_m) / t.at_end).clamp(1.0, 10.0),
            _ => 1.0,
        }
    };
    let (growth, util_factor, lookup_factor) = match inputs.growth_percent {
        Some(g) => {
            let f = (1.0 + g / 100.0).max(0.0).powf(h_m / 12.0);
            (Growth::Declared(g), f, f)
        }
        None => (
            Growth::Measured,
            measured(util_trend),
            measured(lookups.as_ref().and_then(|l| l.trend)),
        ),
    };
    let busy_p95_bps = busiest_bps.map_or(0.0, |b| b.1);
    let projection = Projection {
        horizon_months: inputs.horizon_months,
        growth,
        util_factor,
        lookup_factor,
        busy_p95_bps,
        projected_busy_p95_bps: busy_p95_bps * util_factor,
        lookups_mean: lookups.as_ref().map(|l| l.mean * lookup_factor),
        lookups_max: lookups.as_ref().map(|l| l.max as f64 * lookup_factor),
        apps: inputs.apps,
        response_target_s: inputs.response_target_s,
        burst_bps: inputs.apps as f64 * inputs.cost.down as f64 * 8.0
            / inputs.response_target_s.max(0.001),
    };

    Analysis {
        period,
        contracted_bps: inputs.contracted_bps,
        days,
        util: summary(&weighted(&share)),
        rx_bps: summary(&weighted(&h.rx_bps)),
        tx_bps: summary(&weighted(&h.tx_bps)),
        heat_util,
        heat_rtt,
        busy_hours,
        busiest_hour,
        rtt_s,
        loss: summary(&weighted(&h.loss)),
        jitter_s: summary(&weighted(&h.jitter_s)),
        available_bps: summary(&weighted(&h.available_bps)),
        bandwidth_undetermined: h.bandwidth_undetermined.clone(),
        delivered_bps: summary(&delivered),
        util_trend,
        rtt_trend,
        lookups,
        cost: inputs.cost,
        projection,
        source: h.source.clone(),
        resolutions: h.resolutions.clone(),
        planned_s: h.planned_s,
        planned_points: h.planned_points,
    }
}
