//! Health of targets, links and paths, from per-round probe levels, with hysteresis so a state
//! does not flap, and topology-aware verdicts: the first hop of a path where trouble starts is
//! named, a TLS or DNS fault is told apart from a dead path, and what follows a broken hop is
//! not reported again (one fault, one alarm). Pure: no IO, no clock; callers pass time in.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::topology::{LinkId, NodeId, PathId, Route, Topology};

pub mod failover;

#[cfg(test)]
mod tests;

/// The health of something, worst last. Shown in Bahasa Indonesia on the dashboard.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Healthy,
    Degraded,
    Down,
    /// No probe result yet, or nothing probes it.
    Unknown,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Healthy => "healthy",
            State::Degraded => "degraded",
            State::Down => "down",
            State::Unknown => "unknown",
        }
    }

    /// The word on the dashboard.
    pub fn label_id(self) -> &'static str {
        match self {
            State::Healthy => "Sehat",
            State::Degraded => "Terganggu",
            State::Down => "Putus",
            State::Unknown => "Belum diketahui",
        }
    }

    pub const ALL: [State; 4] = [State::Healthy, State::Degraded, State::Down, State::Unknown];

    /// Severity for "worst of": unknown ranks between healthy and degraded.
    fn severity(self) -> u8 {
        match self {
            State::Healthy => 0,
            State::Unknown => 1,
            State::Degraded => 2,
            State::Down => 3,
        }
    }

    pub fn worst(self, other: State) -> State {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_id())
    }
}

/// What kind of trouble a probe saw. Orders the explanation: a dead hop, then a TLS or DNS
/// fault (the path carries packets but the service cannot be used), then quality problems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Unreachable,
    Loss,
    Latency,
    Jitter,
    Bandwidth,
    Tls,
    Dns,
    Http,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Unreachable => "unreachable",
            Cause::Loss => "loss",
            Cause::Latency => "latency",
            Cause::Jitter => "jitter",
            Cause::Bandwidth => "bandwidth",
            Cause::Tls => "tls",
            Cause::Dns => "dns",
            Cause::Http => "http",
        }
    }

    /// Whether the fault lives in the service rather than in the network path.
    pub fn is_service(self) -> bool {
        matches!(self, Cause::Tls | Cause::Dns | Cause::Http)
    }
}

/// The judgement of one probe round against its profile's thresholds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Level {
    pub state: State,
    pub cause: Option<Cause>,
    /// Short, in Bahasa Indonesia: "rugi paket 12%", "sertifikat kedaluwarsa 3 hari lagi".
    pub detail: String,
}

impl Level {
    pub fn healthy() -> Self {
        Self {
            state: State::Healthy,
            cause: None,
            detail: String::new(),
        }
    }

    pub fn bad(state: State, cause: Cause, detail: impl Into<String>) -> Self {
        Self {
            state,
            cause: Some(cause),
            detail: detail.into(),
        }
    }
}

/// How many rounds it takes to change state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hysteresis {
    /// Consecutive worse rounds before the state worsens.
    pub down_after: u32,
    /// Consecutive better rounds before the state improves.
    pub up_after: u32,
}

impl Default for Hysteresis {
    fn default() -> Self {
        Self {
            down_after: 3,
            up_after: 2,
        }
    }
}

/// One probed thing: a node watched by one profile.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TargetKey {
    pub node: NodeId,
    pub profile: String,
}

impl TargetKey {
    pub fn new(node: NodeId, profile: impl Into<String>) -> Self {
        Self {
            node,
            profile: profile.into(),
        }
    }
}

impl TargetKey {
    /// The way out this target's probes take: the part of the profile after `@` (set by the
    /// scheduler for the hops of a route with its own `egress`, see
    /// [`crate::topology::Egress::via`]); `None` for probes that leave as the routing table says.
    pub fn via(&self) -> Option<&str> {
        self.profile.split_once('@').map(|(_, v)| v)
    }
}

impl fmt::Display for TargetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.node, self.profile)
    }
}

/// The committed state of one target and the rounds counted toward a change.
#[derive(Clone, Debug, Serialize)]
pub struct TargetHealth {
    /// The state after hysteresis.
    pub committed: Level,
    /// The last round's judgement.
    pub last: Level,
    /// Consecutive rounds that disagree with `committed` in the same direction.
    streak: u32,
    /// Unix seconds of the last change of `committed`.
    pub since: i64,
    /// Unix milliseconds at which the last round started.
    pub last_started_ms: i64,
    /// Unix milliseconds at which the first of the current run of bad rounds ended (`None`
    /// while the last round was healthy): the fault was there by then, so a round of a hop
    /// before this one that started at or after it crossed the network after the fault, and
    /// only such rounds may place it (see [`Tracker::route`]).
    pub trouble_seen_ms: Option<i64>,
}

/// A change of a target's committed state, for logs, metrics and incidents.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub target: TargetKey,
    pub from: State,
    pub to: State,
}

/// The health of every target.
#[derive(Debug, Default)]
pub struct Tracker {
    hysteresis: Hysteresis,
    targets: BTreeMap<TargetKey, TargetHealth>,
}

impl Tracker {
    pub fn new(hysteresis: Hysteresis) -> Self {
        Self {
            hysteresis,
            targets: BTreeMap::new(),
        }
    }

    /// Record one round's level for `target` at `now` (unix seconds), taken as the moment the
    /// round started. The first round of a target is taken at once; later changes need their
    /// streak.
    pub fn observe(&mut self, target: &TargetKey, level: Level, now: i64) -> Option<Transition> {
        let ms = now.saturating_mul(1000);
        self.observe_round(target, level, now, ms, ms)
    }

    /// [`Tracker::observe`] for a round that started at `started_ms` and ended at `ended_ms`
    /// (unix milliseconds), judged at `now` (unix seconds). Both ends matter for placing a
    /// fault: a failing round's end is when the fault was certainly there, and only rounds of
    /// the hops before it that started after that moment tell where it is. A round that
    /// straddles the fault (its first echoes answered, the last lost, judged healthy by its
    /// thresholds) would otherwise clear a hop that is in fact cut off.
    pub fn observe_round(
        &mut self,
        target: &TargetKey,
        level: Level,
        now: i64,
        started_ms: i64,
        ended_ms: i64,
    ) -> Option<Transition> {
        let h = self.hysteresis;
        let bad = is_bad(level.state);
        let Some(t) = self.targets.get_mut(target) else {
            let state = level.state;
            self.targets.insert(
                target.clone(),
                TargetHealth {
                    committed: level.clone(),
                    last: level,
                    streak: 0,
                    since: now,
                    last_started_ms: started_ms,
                    trouble_seen_ms: bad.then_some(ended_ms),
                },
            );
            return Some(Transition {
                target: target.clone(),
                from: State::Unknown,
                to: state,
            })
            .filter(|_| state != State::Unknown);
        };
        let from = t.committed.state;
        let to = level.state;
        t.last_started_ms = started_ms;
        t.trouble_seen_ms = match (bad, t.trouble_seen_ms) {
            (false, _) => None,
            (true, Some(s)) => Some(s.min(ended_ms)),
            (true, None) => Some(ended_ms),
        };
        let previous = std::mem::replace(&mut t.last, level.clone());
        if to == from {
            t.streak = 0;
            // Same state, fresher words (e.g. loss 12% then 15%).
            t.committed = level;
            return None;
        }
        let worse = to.severity() > from.severity();
        let same_direction =
            (previous.state.severity() > from.severity()) == worse && previous.state != from;
        t.streak = if same_direction { t.streak + 1 } else { 1 };
        let needed = if worse { h.down_after } else { h.up_after };
        if t.streak >= needed.max(1) {
            t.committed = level;
            t.streak = 0;
            t.since = now;
            return Some(Transition {
                target: target.clone(),
                from,
                to,
            });
        }
        None
    }

    pub fn target(&self, key: &TargetKey) -> Option<&TargetHealth> {
        self.targets.get(key)
    }

    pub fn targets(&self) -> impl Iterator<Item = (&TargetKey, &TargetHealth)> {
        self.targets.iter()
    }

    /// Forget targets that are no longer probed (after a reload).
    pub fn retain(&mut self, keep: impl Fn(&TargetKey) -> bool) {
        self.targets.retain(|k, _| keep(k));
    }

    /// The health of one node: the worst committed level over its targets, `Unknown` when
    /// nothing probes it yet. A network cause outranks a service cause of the same state.
    pub fn node(&self, node: &NodeId) -> Level {
        self.node_via(node, None, true)
    }

    /// The health of one node as seen by the probes that leave by `via` (see
    /// [`TargetKey::via`]); with `any`, by every probe of it.
    fn node_via(&self, node: &NodeId, via: Option<&str>, any: bool) -> Level {
        let worst = worst_of(
            self.targets
                .iter()
                .filter(|(k, _)| &k.node == node && (any || k.via() == via))
                .map(|(_, t)| &t.committed),
        );
        worst.unwrap_or(Level {
            state: State::Unknown,
            cause: None,
            detail: "belum ada hasil pemantauan".to_string(),
        })
    }

    /// The verdict on one route of a path, walking its hops from the OPD outward.
    ///
    /// A route with its own `egress` is judged by the probes that leave as it does; a hop
    /// that no such probe watches is judged by its other probes.
    pub fn route(&self, t: &Topology, route: &Route) -> RouteVerdict {
        let via = route.egress.via();
        let via = via.as_deref();
        let level_of = |hop: &NodeId| {
            let bound = self
                .targets
                .keys()
                .any(|k| &k.node == hop && k.via() == via);
            if bound {
                self.node_via(hop, via, false)
            } else {
                self.node(hop)
            }
        };
        let probed: Vec<(usize, Level)> = route
            .hops
            .iter()
            .enumerate()
            // A hop counts when the topology probes it; one not heard from yet is unknown.
            .filter(|(_, hop)| {
                t.node(hop).is_some_and(|n| !n.probes.is_empty())
                    || self.targets.keys().any(|k| &k.node == *hop)
            })
            .map(|(i, hop)| (i, level_of(hop)))
            .collect();
        let name = |id: &NodeId| {
            t.node(id)
                .map(|n| n.name.clone())
                .unwrap_or_else(|| id.to_string())
        };
        let mut links: Vec<(LinkId, State)> = route
            .links
            .iter()
            .map(|l| (l.clone(), State::Unknown))
            .collect();
        if probed.is_empty() {
            return RouteVerdict {
                route: route.name.clone(),
                state: State::Unknown,
                cause: None,
                at: None,
                reason: "belum ada hasil pemantauan pada jalur ini".to_string(),
                links,
            };
        }
        // Links up to the last healthy hop are healthy; the link into the first failing hop
        // carries its state; links beyond it are unknown (hidden by the fault).
        let mut last_good: Option<usize> = None;
        let mut first_bad: Option<(usize, Level)> = None;
        for (i, level) in &probed {
            match level.state {
                State::Healthy if first_bad.is_none() => last_good = Some(*i),
                State::Healthy | State::Unknown => {}
                _ if first_bad.is_none() => first_bad = Some((*i, level.clone())),
                _ => {}
            }
        }
        for (j, link) in links.iter_mut().enumerate() {
            // Link j joins hop j and hop j+1: healthy when the far end answered well.
            if last_good.is_some_and(|g| j < g) {
                link.1 = State::Healthy;
            }
        }
        let Some((bad_i, bad)) = first_bad else {
            let unknown = probed.iter().any(|(_, l)| l.state == State::Unknown);
            return RouteVerdict {
                route: route.name.clone(),
                state: if unknown {
                    State::Unknown
                } else {
                    State::Healthy
                },
                cause: None,
                at: None,
                reason: if unknown {
                    "sebagian hop belum memiliki hasil pemantauan".to_string()
                } else {
                    "semua hop menjawab dalam batas ambang".to_string()
                },
                links,
            };
        };
        // The worst state anywhere on the route decides usability; the first failing hop
        // explains it.
        let state = probed
            .iter()
            .filter(|(i, _)| *i >= bad_i)
            .fold(bad.state, |acc, (_, l)| acc.worst(l.state))
            .worst(bad.state);
        // Where the trouble starts. A service fault lives on its node. A network fault is placed
        // only from rounds of the same window: every hop before the failing one must have a
        // round that started after the trouble on this route was first seen, or a hop whose
        // rounds happen to come first would be blamed for a fault that lies before it (its
        // predecessors are re-probed at once when it turns bad, see `cli::serve`).
        let place = if bad.cause.is_some_and(Cause::is_service) {
            Place::At {
                i: bad_i,
                level: bad.clone(),
                prev: last_good,
            }
        } else {
            self.place(route, &probed, bad_i, &bad)
        };
        let (prev_i, at_i, level) = match &place {
            Place::At { i, level, prev } => (*prev, Some(*i), level),
            Place::Pending { prev, .. } => (*prev, None, &bad),
        };
        for (j, link) in links.iter_mut().enumerate() {
            link.1 = if prev_i.is_some_and(|g| j < g) {
                State::Healthy
            } else {
                State::Unknown
            };
        }
        if let Some(i) = at_i.filter(|i| *i > 0) {
            links[i - 1].1 = level.state;
        }
        let prev = prev_i.map(|i| &route.hops[i]);
        let (reason, at) = match place {
            Place::Pending { waiting, .. } => (
                format!(
                    "{} di {}; letak gangguan belum dipastikan: menunggu hasil baru dari {}",
                    bad.cause.map_or("Gangguan", cause_words),
                    name(&route.hops[bad_i]),
                    name(&route.hops[waiting])
                ),
                None,
            ),
            Place::At { i, level, .. } => {
                let hop = &route.hops[i];
                let reason = match (level.cause, prev) {
                    (Some(c), _) if c.is_service() => {
                        format!("{} di {}: {}", cause_words(c), name(hop), level.detail)
                    }
                    (Some(c), Some(p)) => format!(
                        "{} mulai antara {} dan {}{}",
                        cause_words(c),
                        name(p),
                        name(hop),
                        detail_suffix(&level.detail)
                    ),
                    (Some(c), None) => format!(
                        "{} di {}{}",
                        cause_words(c),
                        name(hop),
                        detail_suffix(&level.detail)
                    ),
                    (None, _) => format!("{} {}", name(hop), level.detail),
                };
                (reason, Some((prev.cloned(), hop.clone())))
            }
        };
        RouteVerdict {
            route: route.name.clone(),
            state,
            cause: bad.cause,
            at,
            reason,
            links,
        }
    }

    /// Place a network fault whose first committed bad hop is `bad_i`: walk the hops before
    /// it, each judged by its last round if that round started after the trouble from `bad_i`
    /// on was first seen. The first such hop that is bad is the place; one without such a
    /// round leaves the place pending.
    fn place(&self, route: &Route, probed: &[(usize, Level)], bad_i: usize, bad: &Level) -> Place {
        let window = self.trouble_seen(route, bad_i);
        let mut prev = None;
        for (i, _) in probed.iter().filter(|(i, _)| *i < bad_i) {
            let hop = &route.hops[*i];
            // A hop nothing has reported on yet has nothing to wait for.
            if !self.targets.keys().any(|k| &k.node == hop) {
                continue;
            }
            match self.fresh(hop, window) {
                None => return Place::Pending { waiting: *i, prev },
                Some(l) if is_bad(l.state) && !l.cause.is_some_and(Cause::is_service) => {
                    return Place::At {
                        i: *i,
                        level: l,
                        prev,
                    };
                }
                Some(_) => prev = Some(*i),
            }
        }
        Place::At {
            i: bad_i,
            level: bad.clone(),
            prev,
        }
    }

    /// When the trouble from hop `bad_i` of `route` on was first seen (unix ms): the earliest
    /// end of a first bad round over the targets of that hop and the hops after it whose last
    /// rounds are bad. The fault was there by then, wherever it is; a hop before `bad_i` that
    /// answered a round started since then is before the fault. Falls back to when `bad_i`
    /// was committed bad (its last round may be good again while its state recovers).
    fn trouble_seen(&self, route: &Route, bad_i: usize) -> i64 {
        let after = &route.hops[bad_i..];
        self.targets
            .iter()
            .filter(|(k, _)| after.contains(&k.node))
            .filter_map(|(_, t)| t.trouble_seen_ms)
            .min()
            .or_else(|| {
                self.targets
                    .iter()
                    .filter(|(k, t)| k.node == route.hops[bad_i] && is_bad(t.committed.state))
                    .map(|(_, t)| t.since.saturating_mul(1000))
                    .max()
            })
            .unwrap_or(i64::MIN)
    }

    /// The worst last round of `node`'s targets whose last round started at or after
    /// `window_ms`; `None` when no round of it did.
    fn fresh(&self, node: &NodeId, window_ms: i64) -> Option<Level> {
        worst_of(
            self.targets
                .iter()
                .filter(|(k, t)| &k.node == node && t.last_started_ms >= window_ms)
                .map(|(_, t)| &t.last),
        )
    }

    /// The targets of the hops before `node` on every route through it: those to probe again
    /// at once when `node` turns bad, so that its fault is placed from rounds of one window.
    pub fn before(&self, t: &Topology, node: &NodeId) -> Vec<TargetKey> {
        let mut hops: Vec<&NodeId> = Vec::new();
        for p in &t.paths {
            for r in &p.routes {
                if let Some(pos) = r.hops.iter().position(|h| h == node) {
                    hops.extend(&r.hops[..pos]);
                }
            }
        }
        self.targets
            .keys()
            .filter(|k| hops.contains(&&k.node))
            .cloned()
            .collect()
    }

    /// The verdict on a path: each route's, and the route a request should take.
    pub fn path(&self, t: &Topology, path: &PathId) -> Option<PathVerdict> {
        let p = t.path(path)?;
        let routes: Vec<RouteVerdict> = p.routes.iter().map(|r| self.route(t, r)).collect();
        let best = routes
            .iter()
            .enumerate()
            .min_by_key(|(i, r)| (r.state.severity(), *i))
            .map(|(i, _)| i);
        let state = best.map(|i| routes[i].state).unwrap_or(State::Unknown);
        Some(PathVerdict {
            path: path.clone(),
            state,
            best,
            routes,
        })
    }
}

/// Where a route's trouble starts, or which hop it waits for before saying.
enum Place {
    /// At hop `i`, judged `level`, after the last good hop `prev`.
    At {
        i: usize,
        level: Level,
        prev: Option<usize>,
    },
    /// Not yet: hop `waiting` has no round from the window; `prev` is the last good hop.
    Pending { waiting: usize, prev: Option<usize> },
}

fn is_bad(s: State) -> bool {
    matches!(s, State::Degraded | State::Down)
}

/// The worst of some levels; a network cause outranks a service cause of the same state.
fn worst_of<'a>(levels: impl Iterator<Item = &'a Level>) -> Option<Level> {
    let mut worst: Option<&Level> = None;
    for l in levels {
        worst = Some(match worst {
            None => l,
            Some(w) if l.state.severity() > w.state.severity() => l,
            Some(w)
                if l.state == w.state
                    && w.cause.is_some_and(Cause::is_service)
                    && l.cause.is_some_and(|c| !c.is_service()) =>
            {
                l
            }
            Some(w) => w,
        });
    }
    worst.cloned()
}

fn cause_words(c: Cause) -> &'static str {
    match c {
        Cause::Unreachable => "Tidak ada jawaban",
        Cause::Loss => "Kehilangan paket",
        Cause::Latency => "Latensi tinggi",
        Cause::Jitter => "Jitter tinggi",
        Cause::Bandwidth => "Bandwidth tersedia rendah",
        Cause::Tls => "Gangguan TLS",
        Cause::Dns => "Gangguan DNS",
        Cause::Http => "Gangguan layanan HTTP",
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    }
}

/// The verdict on one route.
#[derive(Clone, Debug, Serialize)]
pub struct RouteVerdict {
    pub route: String,
    pub state: State,
    pub cause: Option<Cause>,
    /// Where it breaks: the last good hop before the fault (if any) and the first bad hop.
    pub at: Option<(Option<NodeId>, NodeId)>,
    /// In Bahasa Indonesia, for people: "Kehilangan paket mulai antara Router OPD dan ...".
    pub reason: String,
    /// Each link of the route with its state (links hidden behind a fault are unknown).
    pub links: Vec<(LinkId, State)>,
}

/// The verdict on a path: the state of its best route and every route's verdict.
#[derive(Clone, Debug, Serialize)]
pub struct PathVerdict {
    pub path: PathId,
    pub state: State,
    /// Index of the route to use: the healthiest, the primary among equals.
    pub best: Option<usize>,
    pub routes: Vec<RouteVerdict>,
}

impl PathVerdict {
    /// The states of the path's `routes` routes as a route chooser sees them, the primary
    /// first: each route's verdict; a source that judges the path as a whole (no route
    /// verdicts) speaks for the primary; a route without a verdict is unknown.
    pub fn route_states(&self, routes: usize) -> Vec<State> {
        (0..routes)
            .map(|n| match self.routes.get(n) {
                Some(r) => r.state,
                None if n == 0 && self.routes.is_empty() => self.state,
                None => State::Unknown,
            })
            .collect()
    }

    /// The reason shown for the path: its best route's.
    pub fn reason(&self) -> &str {
        self.best
            .map(|i| self.routes[i].reason.as_str())
            .unwrap_or("jalur tidak memiliki rute")
    }
}

/// Where adapters (the gate, the outbox sender) read path health from: the running appliance,
/// or a fixed answer in tests.
pub trait Source: Send + Sync {
    /// The current verdict on `path`, `None` when the topology has no such path.
    fn verdict(&self, path: &PathId) -> Option<PathVerdict>;
}
