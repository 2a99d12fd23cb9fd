//! Riwayat: RTT, loss, jitter and bandwidth of one target over 1 h, 24 h, 7 d or 30 d from
//! the store's rollups (raw samples when the last hour has no minute rollup yet), and each
//! bandwidth round with its method, burst, direction, or why it gave no figure.

use std::sync::Arc;

use askama::Template;
use axum::extract::State as AxState;
use axum::response::Response;

use super::chart::{self, LOSS_LEGEND, Point, Stroke, Unit};
use crate::web::dashboard::{Authed, Chrome, Dash, query_param, render};
use crate::web::i18n::Text;

/// The ranges offered: (key, seconds, rollup resolution).
pub const RANGES: [(&str, i64, i64); 4] = [
    ("1h", 3600, 60),
    ("24h", 86_400, 60),
    ("7d", 7 * 86_400, 3600),
    ("30d", 30 * 86_400, 3600),
];

/// `(time, value)` points of one measure.
type Series = Vec<(i64, Option<f64>)>;

pub struct Chart {
    pub title: String,
    pub svg: String,
    /// Whether the loss-colour legend goes under it (the latency median and the loss line
    /// are coloured by it).
    pub legend: bool,
}

#[derive(Template)]
#[template(path = "history.html")]
pub struct Page {
    pub c: Chrome,
    pub t: &'static Text,
    pub targets: Vec<(String, bool)>,
    pub ranges: Vec<(&'static str, bool)>,
    pub charts: Vec<Chart>,
    pub empty: bool,
    pub legend: Vec<(&'static str, &'static str)>,
    /// The bandwidth rounds of the range, newest first (at most [`BW_ROUNDS`]).
    pub bw_rounds: Vec<BwRound>,
}

/// Bandwidth rounds listed under the charts.
pub const BW_ROUNDS: usize = 20;

/// One bandwidth round as the technician reads it.
pub struct BwRound {
    pub when: String,
    pub method: &'static str,
    /// "burst ±32 KB, lalu 512 Kbps", or "tidak dapat ditentukan: ..." and no figure.
    pub result: String,
    pub measured: bool,
    pub direction: &'static str,
    pub bytes: u64,
}

impl BwRound {
    fn of(row: &crate::store::BandwidthSample, t: &'static Text) -> BwRound {
        use crate::probe::bandwidth::Detail;
        let detail = Detail {
            method: row.method.clone(),
            // An undetermined round never shows a rate, whatever the row holds.
            estimate_bps: row.estimate_bps.filter(|_| row.undetermined.is_none()),
            per_train_bps: Vec::new(),
            body_bytes: 0,
            lost: 0,
            burst_bytes: row.burst_bytes,
            burst_min_bytes: row.burst_min_bytes,
            capacity_bps: row.capacity_bps,
            policed: row.policed,
            direction: row.direction.clone(),
            undetermined: row.undetermined.clone(),
            clock: None,
        };
        BwRound {
            when: crate::web::i18n::wib(row.ts_ms.div_euclid(1000)),
            method: match row.method.as_str() {
                "trains" => t.bw_trains,
                "throughput" => t.bw_download,
                _ => "-",
            },
            measured: detail.estimate_bps.is_some(),
            result: detail.summary(),
            direction: match row.direction.as_deref() {
                Some("round_trip") => t.bw_round_trip,
                Some("down") => t.bw_down,
                Some("up") => t.bw_up,
                _ => "-",
            },
            bytes: row.bytes,
        }
    }
}

pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed, uri: axum::http::Uri) -> Response {
    let t = a.t();
    let topology = dash.shared.topology();
    let all: Vec<String> = topology
        .nodes
        .iter()
        .flat_map(|n| n.probes.iter().map(move |p| format!("{}/{}", n.id, p)))
        // A link's interface polled over SNMP is kept under the link's id.
        .chain(
            topology
                .links
                .iter()
                .filter_map(|l| l.snmp.as_ref().map(|s| format!("{}/{}", l.id, s.profile))),
        )
        .collect();
    let q = uri.query();
    let target = query_param(q, "target")
        .map(|s| s.replace("%2F", "/"))
        .filter(|s| all.contains(s))
        .or_else(|| all.first().cloned());
    let range = query_param(q, "range")
        .and_then(|r| RANGES.iter().find(|x| x.0 == r).copied())
        .unwrap_or(RANGES[0]);
    let (key, span, res) = range;
    let now = super::now_s();
    let (from, to) = (now - span, now);
    let mut charts = Vec::new();
    let mut empty = true;
    let mut bw_rounds = Vec::new();
    if let Some(target) = &target
        && let Some((node, profile)) = target.split_once('/')
    {
        let (node, profile) = (node.to_string(), profile.to_string());
        let node_id = node.clone();
        let data = super::with_store(&dash.cfg.state_dir, move |s| {
            let rollups = s.rollups(res, &node, &profile, from - res, to)?;
            let raw = if rollups.len() < 2 && span <= 3600 {
                s.samples(&node, &profile, from * 1000, to * 1000)?
            } else {
                Vec::new()
            };
            let rounds = s.bandwidth_samples(&node, &profile, from * 1000, (to + 1) * 1000)?;
            Ok((rollups, raw, rounds))
        })
        .await;
        if let Ok((_, _, rounds)) = &data {
            bw_rounds = rounds
                .iter()
                .rev()
                .take(BW_ROUNDS)
                .map(|r| BwRound::of(r, t))
                .collect();
        }
        // The interface's traffic both ways (SNMP probes), for the link's utilisation.
        let (rx, tx): (Series, Series) = match &data {
            Ok((rollups, raw, _)) if raw.len() > rollups.len() => (
                raw.iter().map(|s| (s.ts_ms / 1000, s.rx_bps)).collect(),
                raw.iter().map(|s| (s.ts_ms / 1000, s.tx_bps)).collect(),
            ),
            Ok((rollups, _, _)) => (
                rollups
                    .iter()
                    .map(|r| (r.bucket_s, r.rx_mean_bps))
                    .collect(),
                rollups
                    .iter()
                    .map(|r| (r.bucket_s, r.tx_mean_bps))
                    .collect(),
            ),
            Err(_) => (Vec::new(), Vec::new()),
        };
        let (points, bw, jitter, step): (Vec<Point>, Series, Series, i64) = match data {
            Ok((rollups, raw, _)) if raw.len() > rollups.len() => (
                raw.iter()
                    .map(|s| Point {
                        t: s.ts_ms / 1000,
                        min: s.rtt_min_s,
                        p50: s.rtt_p50_s,
                        p90: s.rtt_p90_s,
                        max: s.rtt_max_s,
                        loss: s.loss.or(Some(if s.ok { 0.0 } else { 1.0 })),
                    })
                    .collect(),
                raw.iter()
                    .map(|s| (s.ts_ms / 1000, s.bandwidth_bps))
                    .collect(),
                raw.iter().map(|s| (s.ts_ms / 1000, s.jitter_s)).collect(),
                raw.windows(2)
                    .map(|w| (w[1].ts_ms - w[0].ts_ms) / 1000)
                    .min()
                    .unwrap_or(60)
                    .max(1),
            ),
            Ok((rollups, _, _)) => (
                rollups
                    .iter()
                    .map(|r| Point {
                        t: r.bucket_s,
                        min: r.rtt_min_s,
                        p50: r.rtt_p50_s,
                        p90: r.rtt_p90_s,
                        max: r.rtt_max_s,
                        loss: r.loss_mean,
                    })
                    .collect(),
                rollups
                    .iter()
                    .map(|r| (r.bucket_s, r.bandwidth_mean_bps))
                    .collect(),
                rollups
                    .iter()
                    .map(|r| (r.bucket_s, r.jitter_mean_s))
                    .collect(),
                res,
            ),
            Err(e) => {
                tracing::warn!(error = %e, "reading history");
                (Vec::new(), Vec::new(), Vec::new(), res)
            }
        };
        empty = points.is_empty() && bw_rounds.is_empty();
        if !points.is_empty() {
            let loss: Vec<(i64, Option<f64>)> = points.iter().map(|p| (p.t, p.loss)).collect();
            charts.push(Chart {
                title: t.rtt.to_owned(),
                svg: chart::smoke(&points, from, to, step, t.rtt),
                legend: true,
            });
            charts.push(Chart {
                title: t.loss.to_owned(),
                svg: chart::line(&loss, from, to, step, t.loss, Stroke::ByLoss, Unit::PERCENT),
                legend: true,
            });
            if jitter.iter().any(|j| j.1.is_some()) {
                charts.push(Chart {
                    title: t.jitter.to_owned(),
                    svg: chart::line(
                        &jitter,
                        from,
                        to,
                        step,
                        t.jitter,
                        Stroke::Fixed("#8250df"),
                        Unit::MS,
                    ),
                    legend: false,
                });
            }
            if rx.iter().chain(&tx).any(|b| b.1.is_some()) {
                // Against the contract of the link whose interface was polled.
                let contract = topology
                    .links
                    .iter()
                    .find(|l| l.id.as_str() == node_id)
                    .and_then(|l| l.bandwidth);
                let limit = contract.map(|b| b.bps() as f64);
                let top = rx
                    .iter()
                    .chain(&tx)
                    .filter_map(|b| b.1)
                    .chain(limit)
                    .fold(0.0, f64::max);
                charts.push(Chart {
                    title: match contract {
                        Some(c) => format!("{} ({} {c})", t.utilisation, t.utilisation_contract),
                        None => t.utilisation.to_owned(),
                    },
                    svg: chart::lines(
                        &[(&rx, "#0969da"), (&tx, "#8250df")],
                        limit,
                        (from, to, step),
                        t.utilisation,
                        Unit::bandwidth(top),
                    ),
                    legend: false,
                });
            }
            if bw.iter().any(|b| b.1.is_some()) {
                let max = bw.iter().filter_map(|b| b.1).fold(0.0, f64::max);
                charts.push(Chart {
                    title: t.bandwidth.to_owned(),
                    svg: chart::line(
                        &bw,
                        from,
                        to,
                        step,
                        t.bandwidth,
                        Stroke::Fixed("#0969da"),
                        Unit::bandwidth(max),
                    ),
                    legend: false,
                });
            }
        }
    }
    render(&Page {
        c: a.chrome("history", t.nav_history),
        t,
        targets: all
            .iter()
            .map(|x| (x.clone(), Some(x) == target.as_ref()))
            .collect(),
        ranges: RANGES.iter().map(|r| (r.0, r.0 == key)).collect(),
        charts,
        empty,
        legend: LOSS_LEGEND.to_vec(),
        bw_rounds,
    })
}
