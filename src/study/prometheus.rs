//! History from a Prometheus server that scrapes the appliance (`/api/v1/query_range`), for an
//! OPD whose long history lives in Prometheus rather than in the appliance's store.
//!
//! Gauges are read at a 1-minute step (as the store's minute rollups), in chunks that stay
//! under Prometheus' 11,000 points per series and query. Each point summarises the scrapes of
//! its minute as the store's rollup does: `quantile_over_time(0.5, ...)` for the RTT (the
//! median of the rounds' medians, both interpolating linearly), `avg_over_time` for loss and
//! jitter; it is evaluated at the minute's last second so the window covers `[b, b+59]` and the
//! point is stamped with the minute's start `b`. Interface counters are read raw and
//! differenced here: the difference of two counter readings a step apart, times 8, divided by
//! the step, is the same mean bit rate as `rate()*8` without its extrapolation at the window's
//! edges, so the numbers match the store's to the bit. Look-ups per WIB day are the day's
//! highest `juknis_quota_used`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::history::{Error, History, Point, Selection, Source};
use super::{Period, wib_midnight};
use crate::cause::chain;

/// Points per query, below Prometheus' limit of 11,000.
pub const MAX_POINTS: i64 = 10_000;

/// A Prometheus server.
pub struct Prometheus {
    base: String,
    /// Extra label matchers added to every selector (`opd="dinsos"`), for a central Prometheus.
    matchers: String,
    /// Step of gauge queries, seconds.
    pub step_s: i64,
}

impl Prometheus {
    /// `base` is the server's URL (`http://127.0.0.1:9090`); `matchers` extra label matchers.
    pub fn new(base: &str, matchers: Option<&str>) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            matchers: matchers.unwrap_or("").trim().trim_matches(',').to_string(),
            step_s: 60,
        }
    }

    fn selector(&self, name: &str, labels: &[(&str, &str)]) -> String {
        let mut parts: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        if !self.matchers.is_empty() {
            parts.push(self.matchers.clone());
        }
        format!("{name}{{{}}}", parts.join(","))
    }
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Matrix>,
}

#[derive(Deserialize)]
struct Matrix {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

/// One blocking client for the duration of a load.
struct Client<'a> {
    prom: &'a Prometheus,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Client<'_> {
    /// `query` over `[start, end]` at `step`, chunked; the single series' points (none when
    /// nothing matches). Several series are an error: the selector is ambiguous.
    fn range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<Vec<(i64, f64)>, Error> {
        let mut out: Vec<(i64, f64)> = Vec::new();
        let mut labels: Option<BTreeMap<String, String>> = None;
        let mut a = start;
        while a <= end {
            let b = (a + (MAX_POINTS - 1) * step).min(end);
            let m = self.fetch(query, a, b, step)?;
            if m.len() > 1 {
                return Err(self.garbage(
                    query,
                    format!(
                        "{} series match (e.g. {:?} and {:?}); narrow them with --prometheus-match 'label=\"value\"'",
                        m.len(),
                        m[0].metric,
                        m[1].metric
                    ),
                ));
            }
            for s in m {
                if labels.as_ref().is_some_and(|l| *l != s.metric) {
                    return Err(self.garbage(query, "the matching series changed labels between chunks; narrow them with --prometheus-match".into()));
                }
                labels = Some(s.metric);
                for (t, v) in s.values {
                    let v: f64 = v
                        .parse()
                        .map_err(|_| self.garbage(query, format!("value `{v}` is not a number")))?;
                    if v.is_finite() {
                        out.push((t.round() as i64, v));
                    }
                }
            }
            a = b + step;
        }
        Ok(out)
    }

    fn garbage(&self, query: &str, why: String) -> Error {
        Error::Garbage {
            url: self.prom.base.clone(),
            query: query.to_string(),
            why,
        }
    }

    fn fetch(&self, query: &str, start: i64, end: i64, step: i64) -> Result<Vec<Matrix>, Error> {
        let url = format!("{}/api/v1/query_range", self.prom.base);
        let form = format!(
            "query={}&start={start}&end={end}&step={step}",
            form_encode(query)
        );
        let (status, body) = self
            .rt
            .block_on(async {
                let resp = self
                    .http
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(form.clone())
                    .send()
                    .await?;
                let status = resp.status();
                Ok::<_, reqwest::Error>((status, resp.text().await?))
            })
            .map_err(|e| Error::Unreachable {
                url: self.prom.base.clone(),
                query: query.to_string(),
                why: chain(&e),
            })?;
        let answer: Answer = serde_json::from_str(&body).map_err(|e| {
            let head: String = body.chars().take(120).collect();
            self.garbage(
                query,
                format!("HTTP {status}, not the query API's JSON ({e}); it begins with {head:?}"),
            )
        })?;
        if answer.status != "success" {
            return Err(self.garbage(
                query,
                format!(
                    "HTTP {status}, status `{}`: {}",
                    answer.status,
                    answer.error.unwrap_or_default()
                ),
            ));
        }
        let data = answer
            .data
            .ok_or_else(|| self.garbage(query, "no `data` in a successful answer".into()))?;
        if data.result_type != "matrix" {
            return Err(self.garbage(
                query,
                format!("result type `{}`, expected `matrix`", data.result_type),
            ));
        }
        Ok(data.result)
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Source for Prometheus {
    fn describe(&self) -> String {
        format!("server Prometheus ({})", self.base)
    }

    fn load(&self, sel: &Selection, period: &Period) -> Result<History, Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Unreachable {
                url: self.base.clone(),
                query: String::new(),
                why: format!("cannot start the HTTP runtime: {e}"),
            })?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Unreachable {
                url: self.base.clone(),
                query: String::new(),
                why: chain(&e),
            })?;
        let c = Client {
            prom: self,
            rt,
            http,
        };
        let step = self.step_s;
        let (from, to) = (period.start_s(), period.end_s());
        // Bucket starts, as the store's: the last evaluation is one step before the end.
        let last = to - step;
        let points = |v: Vec<(i64, f64)>, scale: f64| -> Vec<Point> {
            v.into_iter()
                .filter(|(t, _)| *t >= from && *t < to)
                .map(|(t, v)| Point {
                    t,
                    dur: step,
                    v: v * scale,
                })
                .collect()
        };
        let (node, profile) = (sel.latency.node.as_str(), sel.latency.profile.as_str());
        let lat = [("node", node), ("profile", profile)];
        // Each minute's scrapes, evaluated at its last second, stamped with its start.
        let minutes = |f: &str, sel: String| -> Result<Vec<(i64, f64)>, Error> {
            let q = format!("{f}{sel}[{step}s])");
            Ok(c.range(&q, from + step - 1, last + step - 1, step)?
                .into_iter()
                .map(|(t, v)| (t - (step - 1), v))
                .collect())
        };
        let mut h = History {
            source: self.describe(),
            ..History::default()
        };
        let rtt = self.selector(
            "juknis_probe_rtt_seconds",
            &[("node", node), ("profile", profile), ("stat", "p50")],
        );
        h.rtt_p50_s = points(minutes("quantile_over_time(0.5, ", rtt)?, 1.0);
        h.loss = points(
            minutes(
                "avg_over_time(",
                self.selector("juknis_probe_loss_ratio", &lat),
            )?,
            1.0,
        );
        h.jitter_s = points(
            minutes(
                "avg_over_time(",
                self.selector("juknis_probe_jitter_seconds", &lat),
            )?,
            1.0,
        );
        // A gauge repeats its last estimate until the next round: one point per estimate.
        let bw = self.selector(
            "juknis_link_bandwidth_estimate_bytes_per_second",
            &[
                ("node", sel.bandwidth.node.as_str()),
                ("profile", sel.bandwidth.profile.as_str()),
            ],
        );
        let mut estimates = minutes("avg_over_time(", bw)?;
        estimates.dedup_by(|b, a| a.1 == b.1);
        h.available_bps = points(estimates, 8.0);
        for (dir, out) in [("rx", &mut h.rx_bps), ("tx", &mut h.tx_bps)] {
            let q = self.selector(
                "juknis_link_interface_octets_total",
                &[("link", sel.link.as_str()), ("direction", dir)],
            );
            // One reading past the end closes the last bucket.
            let raw = c.range(&q, from, to, step)?;
            *out = raw
                .windows(2)
                .filter(|w| w[1].0 - w[0].0 == step && w[1].1 >= w[0].1 && w[0].0 < to)
                .map(|w| Point {
                    t: w[0].0,
                    dur: step,
                    v: (w[1].1 - w[0].1) * 8.0 / step as f64,
                })
                .collect();
        }
        // The day's highest count, read at the day's last second.
        let q = format!(
            "max_over_time({}[86399s])",
            self.selector("juknis_quota_used", &[])
        );
        let first = wib_midnight(period.from) + 86_399;
        let days = c.range(&q, first, first + (period.days() - 1) * 86_400, 86_400)?;
        h.lookups = days
            .into_iter()
            .map(|(t, v)| (super::wib_day(t), v.max(0.0).round() as u64))
            .collect();
        let n = h.rtt_p50_s.len() + h.rx_bps.len();
        if n > 0 {
            h.resolutions = vec![(step, n)];
        }
        Ok(h)
    }
}
