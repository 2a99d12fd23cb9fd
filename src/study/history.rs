//! Where the study's measurements come from, behind one trait: the appliance's SQLite store
//! (1-minute rollups where they are still kept, hourly beyond) and, in
//! [`super::prometheus`], a Prometheus server's HTTP API.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::Period;
use crate::store::{Rollup, Store};
use crate::topology::{LinkId, Topology};

/// The store file in the state dir (the one `juknis serve` writes).
pub const STORE_FILE: &str = "juknis.db";

/// The profile name under which SNMP utilisation samples of a link are stored (node = link id).
pub const SNMP_PROFILE: &str = "snmp";

/// One measurement: a bucket starting at `t` (Unix seconds) lasting `dur` seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub t: i64,
    pub dur: i64,
    pub v: f64,
}

/// A probe target: a node and one of its probe profiles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub node: String,
    pub profile: String,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.node, self.profile)
    }
}

/// What the study reads for one link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub link: LinkId,
    /// The target whose RTT, loss and jitter stand for the link (an ICMP probe behind it).
    pub latency: Target,
    /// The target whose available-bandwidth estimates stand for the link.
    pub bandwidth: Target,
}

impl Selection {
    /// The default targets for `link`: the first node behind it (by the declared paths, the
    /// Web Portal first) with an ICMP profile for latency, and one with a bandwidth profile for
    /// the estimates; failing that, the service's `icmp` and the link's far end's `bandwidth`.
    /// `kind_of` tells a profile's kind (`icmp`, `bandwidth`, ...).
    pub fn for_link(t: &Topology, link: &LinkId, kind_of: &dyn Fn(&str) -> Option<String>) -> Self {
        let mut behind: Vec<&crate::topology::Node> = Vec::new();
        for p in &t.paths {
            for r in &p.routes {
                if let Some(pos) = r.links.iter().position(|l| l == link) {
                    for hop in &r.hops[pos + 1..] {
                        if let Some(n) = t.node(hop)
                            && !behind.iter().any(|b| b.id == n.id)
                        {
                            behind.push(n);
                        }
                    }
                }
            }
        }
        // The Web Portal is what the study is about: prefer it.
        behind.sort_by_key(|n| {
            !matches!(
                n.kind,
                crate::topology::NodeKind::Service(crate::topology::ServiceKind::WebPortal)
            )
        });
        let find = |kind: &str| {
            behind.iter().find_map(|n| {
                n.probes
                    .iter()
                    .find(|p| kind_of(p).as_deref() == Some(kind))
                    .map(|p| Target {
                        node: n.id.to_string(),
                        profile: p.clone(),
                    })
            })
        };
        let service = behind
            .iter()
            .find(|n| matches!(n.kind, crate::topology::NodeKind::Service(_)))
            .map(|n| n.id.to_string());
        let far_end = t.link(link).map(|l| l.to.to_string());
        Selection {
            link: link.clone(),
            latency: find("icmp").unwrap_or(Target {
                node: service.unwrap_or_else(|| far_end.clone().unwrap_or_default()),
                profile: "icmp".into(),
            }),
            bandwidth: find("bandwidth").unwrap_or(Target {
                node: far_end.unwrap_or_default(),
                profile: "bandwidth".into(),
            }),
        }
    }
}

/// The measurements of one link over a period, each series oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Median RTT of each bucket, seconds.
    pub rtt_p50_s: Vec<Point>,
    /// Packet loss, 0 to 1.
    pub loss: Vec<Point>,
    /// Jitter, seconds.
    pub jitter_s: Vec<Point>,
    /// Available-bandwidth estimates, bits per second.
    pub available_bps: Vec<Point>,
    /// Bandwidth rounds that could not give a figure (a shaper's burst beyond the probe
    /// budget): how many, and the latest reason. They are not in `available_bps`.
    pub bandwidth_undetermined: Undetermined,
    /// Interface throughput toward the OPD, bits per second (SNMP).
    pub rx_bps: Vec<Point>,
    /// Interface throughput from the OPD, bits per second (SNMP).
    pub tx_bps: Vec<Point>,
    /// NIK look-ups forwarded per WIB day.
    pub lookups: Vec<(NaiveDate, u64)>,
    /// Where the data came from, for the document ("SQLite /var/lib/juknis/juknis.db").
    pub source: String,
    /// The resolutions used, seconds, with how many points each (for the document).
    pub resolutions: Vec<(i64, usize)>,
    /// Planned maintenance in the period (see [`History::without_planned`]): its seconds and
    /// the measurement points left out because they touch it.
    pub planned_s: i64,
    pub planned_points: usize,
}

/// Bandwidth rounds without a figure over a period.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Undetermined {
    pub rounds: usize,
    /// Of all bandwidth rounds with details stored (measured or not).
    pub of: usize,
    /// The latest round's reason ("tidak dapat ditentukan: ...").
    pub latest: Option<String>,
}

impl History {
    /// Leave out every point whose bucket touches a planned maintenance interval (`[from, to)`
    /// in Unix seconds, sorted): planned work is not the link's behaviour, as availability
    /// leaves out the hours a window touches. Counts what went.
    pub fn without_planned(&mut self, planned: &[(i64, i64)]) {
        let touches = |p: &Point| planned.iter().any(|(a, b)| p.t < *b && p.t + p.dur > *a);
        let mut gone = 0;
        for series in [
            &mut self.rtt_p50_s,
            &mut self.loss,
            &mut self.jitter_s,
            &mut self.available_bps,
            &mut self.rx_bps,
            &mut self.tx_bps,
        ] {
            let before = series.len();
            series.retain(|p| !touches(p));
            gone += before - series.len();
        }
        self.planned_s += planned.iter().map(|(a, b)| (b - a).max(0)).sum::<i64>();
        self.planned_points += gone;
    }

    /// True when there is nothing to study.
    pub fn is_empty(&self) -> bool {
        self.rtt_p50_s.is_empty()
            && self.available_bps.is_empty()
            && self.rx_bps.is_empty()
            && self.tx_bps.is_empty()
    }
}

/// Why history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "no store at {0}: give the appliance's state folder with --state-dir (it holds juknis.db), or read Prometheus with --prometheus URL"
    )]
    NoStore(PathBuf),
    #[error("reading the store {path}: {source}")]
    Store {
        path: PathBuf,
        #[source]
        source: crate::store::Error,
    },
    #[error("reading the look-up counts: {0}")]
    Quota(#[from] crate::gate::quota::Error),
    #[error("Prometheus at {url} is unreachable ({query}): {why}")]
    Unreachable {
        url: String,
        query: String,
        why: String,
    },
    #[error("Prometheus at {url} gave an answer the study cannot read, for {query}: {why}")]
    Garbage {
        url: String,
        query: String,
        why: String,
    },
}

/// A source of history.
pub trait Source {
    /// Where the data comes from, in words for the document.
    fn describe(&self) -> String;
    /// The measurements selected by `sel` within `period`.
    fn load(&self, sel: &Selection, period: &Period) -> Result<History, Error>;
}

/// The appliance's own store: `DIR/juknis.db` (rollups) and `DIR/quota.db` (look-ups).
pub struct Sqlite {
    state_dir: PathBuf,
}

impl Sqlite {
    pub fn new(state_dir: &Path) -> Self {
        Self {
            state_dir: state_dir.to_path_buf(),
        }
    }
}

impl Source for Sqlite {
    fn describe(&self) -> String {
        format!(
            "basis data SQLite perangkat juknis ({})",
            self.state_dir.join(STORE_FILE).display()
        )
    }

    fn load(&self, sel: &Selection, period: &Period) -> Result<History, Error> {
        let path = self.state_dir.join(STORE_FILE);
        if !path.exists() {
            return Err(Error::NoStore(path));
        }
        let err = |source| Error::Store {
            path: path.clone(),
            source,
        };
        let store = Store::open(&path).map_err(err)?;
        let (from, to) = (period.start_s(), period.end_s());
        // Hourly before the oldest kept minute (rounded up to an hour), minutes after it.
        let cut = match store.oldest_minute_bucket().map_err(err)? {
            Some(m) => (m + 3599).div_euclid(3600) * 3600,
            None => to,
        }
        .clamp(from, to);
        let mut h = History {
            source: self.describe(),
            ..History::default()
        };
        let mut counts = std::collections::BTreeMap::<i64, usize>::new();
        for (res, a, b) in [(3600, from, cut), (60, cut, to)] {
            if a >= b {
                continue;
            }
            let lat = store
                .rollups(res, &sel.latency.node, &sel.latency.profile, a, b)
                .map_err(err)?;
            *counts.entry(res).or_default() += lat.len();
            push(&mut h.rtt_p50_s, &lat, |r| r.rtt_p50_s);
            push(&mut h.loss, &lat, |r| r.loss_mean);
            push(&mut h.jitter_s, &lat, |r| r.jitter_mean_s);
            let bw = store
                .rollups(res, &sel.bandwidth.node, &sel.bandwidth.profile, a, b)
                .map_err(err)?;
            push(&mut h.available_bps, &bw, |r| r.bandwidth_mean_bps);
            let link = store
                .rollups(res, sel.link.as_str(), SNMP_PROFILE, a, b)
                .map_err(err)?;
            *counts.entry(res).or_default() += link.len();
            push(&mut h.rx_bps, &link, |r| r.rx_mean_bps);
            push(&mut h.tx_bps, &link, |r| r.tx_mean_bps);
        }
        h.resolutions = counts.into_iter().filter(|(_, n)| *n > 0).collect();
        let details = store
            .bandwidth_samples(
                &sel.bandwidth.node,
                &sel.bandwidth.profile,
                from * 1000,
                to * 1000,
            )
            .map_err(err)?;
        h.bandwidth_undetermined = Undetermined {
            rounds: details.iter().filter(|d| d.undetermined.is_some()).count(),
            of: details.len(),
            latest: details.iter().rev().find_map(|d| d.undetermined.clone()),
        };
        h.lookups = crate::gate::quota::history(&self.state_dir, period.from, period.to)?
            .unwrap_or_default();
        Ok(h)
    }
}

fn push(out: &mut Vec<Point>, rows: &[Rollup], f: impl Fn(&Rollup) -> Option<f64>) {
    out.extend(rows.iter().filter_map(|r| {
        f(r).filter(|v| v.is_finite()).map(|v| Point {
            t: r.bucket_s,
            dur: r.resolution_s,
            v,
        })
    }));
}
