//! The per-target probe series (`juknis_probe_runs_total`, `_success`, `_rtt_seconds`,
//! `_loss_ratio`, `_jitter_seconds` and `juknis_target_state`), kept as plain numbers and
//! written out only when `/metrics` is read.
//!
//! A label vector keeps every series as an object with its own copy of each label name and
//! value (about 600 bytes a series, a dozen series a target): at a thousand targets that was
//! 7.5 MB of the daemon's 16 MB of heap (heaptrack, 2026-12-05). Here a target is one entry
//! of a hundred-odd bytes; the series exist only while a scrape encodes them. The output is
//! the same text: the same names, labels, types and values, and a series appears once its
//! first round has set it, as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prometheus::core::{Collector, Desc};
use prometheus::proto::{Counter, Gauge, LabelPair, Metric, MetricFamily, MetricType};

use crate::health::State;

/// What the last rounds of one target (a node's profile) set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// The probe's kind (`icmp`, `http`, ...), a label of the runs, success and RTT series.
    pub kind: &'static str,
    /// Rounds that succeeded and failed; a count appears once it has counted a round.
    pub runs: [Option<u64>; 2],
    pub success: Option<bool>,
    /// min, p50, p90, max, in seconds.
    pub rtt: Option<[f64; 4]>,
    pub loss: Option<f64>,
    pub jitter: Option<f64>,
    /// The committed state (after hysteresis).
    pub state: Option<State>,
}

impl Series {
    /// Counts one round, succeeded or failed.
    pub fn count(&mut self, ok: bool) {
        let n = &mut self.runs[usize::from(!ok)];
        *n = Some(n.unwrap_or(0) + 1);
        self.success = Some(ok);
    }
}

/// Every target's series, shared between the daemon that updates them and the registry that
/// encodes them. Cloning shares them.
#[derive(Clone)]
pub struct TargetSeries {
    /// node, then profile.
    map: Arc<Mutex<HashMap<String, HashMap<String, Series>>>>,
    descs: Arc<Vec<Desc>>,
}

/// Name, help, type and labels of each family, in the order [`TargetSeries::collect`] writes them.
const FAMILIES: [(&str, &str, MetricType, &[&str]); 6] = [
    (
        "juknis_probe_runs_total",
        "Probe rounds run, by outcome (ok or fail).",
        MetricType::COUNTER,
        &["node", "profile", "kind", "result"],
    ),
    (
        "juknis_probe_success",
        "1 if the last round of the probe succeeded, else 0.",
        MetricType::GAUGE,
        &["node", "profile", "kind"],
    ),
    (
        "juknis_probe_rtt_seconds",
        "Round-trip time of the last round, by statistic (min, p50, p90, max).",
        MetricType::GAUGE,
        &["node", "profile", "kind", "stat"],
    ),
    (
        "juknis_probe_loss_ratio",
        "Share of probes lost in the last round (0 to 1).",
        MetricType::GAUGE,
        &["node", "profile"],
    ),
    (
        "juknis_probe_jitter_seconds",
        "Mean absolute difference of consecutive RTTs in the last round.",
        MetricType::GAUGE,
        &["node", "profile"],
    ),
    (
        "juknis_target_state",
        "1 for the target's current state after hysteresis.",
        MetricType::GAUGE,
        &["node", "profile", "state"],
    ),
];

const RTT_STATS: [&str; 4] = ["min", "p50", "p90", "max"];

impl TargetSeries {
    #[must_use]
    pub fn new() -> TargetSeries {
        let descs = FAMILIES
            .iter()
            .map(|(name, help, _, labels)| {
                Desc::new(
                    (*name).to_owned(),
                    (*help).to_owned(),
                    labels.iter().map(|l| (*l).to_owned()).collect(),
                    HashMap::new(),
                )
                .expect("valid metric")
            })
            .collect();
        TargetSeries {
            map: Arc::default(),
            descs: Arc::new(descs),
        }
    }

    /// Changes the series of `node`'s `profile`, creating an empty one on its first round.
    pub fn update<R>(&self, node: &str, profile: &str, f: impl FnOnce(&mut Series) -> R) -> R {
        let mut map = match self.map.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let profiles = match map.get_mut(node) {
            Some(p) => p,
            None => map.entry(node.to_owned()).or_default(),
        };
        let series = match profiles.get_mut(profile) {
            Some(s) => s,
            None => profiles.entry(profile.to_owned()).or_default(),
        };
        f(series)
    }

    /// A copy of one target's series (for tests and the dashboard).
    #[must_use]
    pub fn get(&self, node: &str, profile: &str) -> Option<Series> {
        let map = self.map.lock().ok()?;
        map.get(node)?.get(profile).cloned()
    }
}

impl Default for TargetSeries {
    fn default() -> Self {
        Self::new()
    }
}

/// One sample: sorted label pairs (as the registry's own metrics have them) and a value.
fn metric(labels: &[(&str, &str)], value: f64, counter: bool) -> Metric {
    let mut pairs: Vec<LabelPair> = labels
        .iter()
        .map(|(n, v)| {
            let mut p = LabelPair::default();
            p.set_name((*n).to_owned());
            p.set_value((*v).to_owned());
            p
        })
        .collect();
    pairs.sort_by(|a, b| a.name().cmp(b.name()));
    let mut m = Metric::default();
    m.set_label(pairs);
    if counter {
        let mut c = Counter::default();
        c.set_value(value);
        m.set_counter(c);
    } else {
        let mut g = Gauge::default();
        g.set_value(value);
        m.set_gauge(g);
    }
    m
}

impl Collector for TargetSeries {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut out: [Vec<Metric>; 6] = Default::default();
        let map = match self.map.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (node, profiles) in map.iter() {
            for (profile, s) in profiles {
                let (n, p, k) = (node.as_str(), profile.as_str(), s.kind);
                let base = [("node", n), ("profile", p)];
                for (count, result) in s.runs.iter().zip(["ok", "fail"]) {
                    if let Some(c) = count {
                        out[0].push(metric(
                            &[base[0], base[1], ("kind", k), ("result", result)],
                            *c as f64,
                            true,
                        ));
                    }
                }
                if let Some(ok) = s.success {
                    out[1].push(metric(
                        &[base[0], base[1], ("kind", k)],
                        f64::from(u8::from(ok)),
                        false,
                    ));
                }
                if let Some(rtt) = s.rtt {
                    for (v, stat) in rtt.iter().zip(RTT_STATS) {
                        out[2].push(metric(
                            &[base[0], base[1], ("kind", k), ("stat", stat)],
                            *v,
                            false,
                        ));
                    }
                }
                if let Some(l) = s.loss {
                    out[3].push(metric(&base, l, false));
                }
                if let Some(j) = s.jitter {
                    out[4].push(metric(&base, j, false));
                }
                if let Some(state) = s.state {
                    for st in State::ALL {
                        out[5].push(metric(
                            &[base[0], base[1], ("state", st.as_str())],
                            f64::from(u8::from(st == state)),
                            false,
                        ));
                    }
                }
            }
        }
        drop(map);
        FAMILIES
            .iter()
            .zip(out)
            .filter(|(_, metrics)| !metrics.is_empty())
            .map(|((name, help, kind, _), metrics)| {
                let mut f = MetricFamily::default();
                f.set_name((*name).to_owned());
                f.set_help((*help).to_owned());
                f.set_field_type(*kind);
                f.set_metric(metrics);
                f
            })
            .collect()
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn a_target_reads_as_the_label_vectors_wrote_it() {
        let reg = prometheus::Registry::new();
        let t = TargetSeries::new();
        reg.register(Box::new(t.clone())).unwrap();
        t.update("web-portal", "icmp", |s| {
            s.kind = "icmp";
            s.count(true);
            s.count(true);
            s.count(false);
            s.rtt = Some([0.001, 0.002, 0.003, 0.004]);
            s.loss = Some(0.25);
            s.state = Some(State::Degraded);
        });
        t.update("dns", "dns", |s| {
            s.kind = "dns";
            s.count(true);
        });
        let mut buf = Vec::new();
        prometheus::Encoder::encode(&prometheus::TextEncoder::new(), &reg.gather(), &mut buf)
            .unwrap();
        let text = String::from_utf8(buf).unwrap();
        for line in [
            "# TYPE juknis_probe_runs_total counter",
            "juknis_probe_runs_total{kind=\"icmp\",node=\"web-portal\",profile=\"icmp\",result=\"ok\"} 2",
            "juknis_probe_runs_total{kind=\"icmp\",node=\"web-portal\",profile=\"icmp\",result=\"fail\"} 1",
            "juknis_probe_runs_total{kind=\"dns\",node=\"dns\",profile=\"dns\",result=\"ok\"} 1",
            "juknis_probe_success{kind=\"icmp\",node=\"web-portal\",profile=\"icmp\"} 0",
            "juknis_probe_rtt_seconds{kind=\"icmp\",node=\"web-portal\",profile=\"icmp\",stat=\"p90\"} 0.003",
            "juknis_probe_loss_ratio{node=\"web-portal\",profile=\"icmp\"} 0.25",
            "juknis_target_state{node=\"web-portal\",profile=\"icmp\",state=\"degraded\"} 1",
            "juknis_target_state{node=\"web-portal\",profile=\"icmp\",state=\"healthy\"} 0",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        // Unset series are absent, not zero.
        assert!(!text.contains("juknis_probe_jitter_seconds"), "{text}");
        assert!(!text.contains("node=\"dns\",profile=\"dns\",result=\"fail\""));
    }
}
