//! The probe scheduler: turns the topology and the profiles into probe tasks, runs each on
//! its interval with jitter, at most one run per target at a time, and within each link's
//! probe budget; every outcome is judged, fed to health, counted in metrics and sent to the
//! store.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::budget::{BitsPerSecond, Share, TokenBucket};
use super::trust::Pin;
use super::{Kind, Outcome, Probe, Profile, Spec, Target, icmp, judge, snmp};
use crate::health::{Level, TargetKey};
use crate::topology::{self, Link, LinkId, Node, NodeId, TlsTrust, Topology};

/// SNMP credentials by the name a link's `snmp: {credentials: NAME}` gives (from the secrets
/// file).
pub type SnmpCredentials = BTreeMap<String, snmp::Credentials>;

/// One probe of one node by one profile, ready to run.
pub struct Task {
    pub key: TargetKey,
    pub profile: Profile,
    pub probe: Arc<dyn Probe>,
    /// The contracted link whose budget pays for this probe, if the node sits behind one.
    pub link: Option<LinkId>,
    /// The contracted bandwidth of that link, for the bandwidth threshold; for an SNMP task,
    /// the contracted bandwidth of the polled link itself (its utilisation's denominator).
    pub contracted_bps: Option<u64>,
}

/// Everything the scheduler will run.
pub struct Plan {
    pub tasks: Vec<Task>,
    /// Per contracted link: its bits per second and its probe share.
    pub budgets: BTreeMap<LinkId, (u64, f64)>,
    /// The first round of every task starts at a random moment within this much time (or
    /// its interval, if shorter), so rounds do not bunch up but every probe reports soon.
    pub first_round_within: Duration,
    /// Where requests to probe a target again at once arrive (see [`Reprobe`]).
    pub reprobe: Reprobe,
}

/// Requests to run some targets' next round now rather than on their interval: when a hop
/// turns bad, the hops before it are probed again at once, so that the place of a fault is
/// judged from rounds of the same moment (`health::Tracker::route`). A re-probe takes its
/// bytes from the link's budget like any round (skipped and counted when it does not fit),
/// and restarts the target's interval. Cloning shares the registry: the daemon keeps one and
/// gives it to every plan it runs.
#[derive(Clone, Debug, Default)]
pub struct Reprobe(Arc<Mutex<BTreeMap<TargetKey, Arc<tokio::sync::Notify>>>>);

impl Reprobe {
    /// Ask `key` for a round now; false when no running task has that key. Requests made while
    /// its round runs give one more round right after it.
    pub fn request(&self, key: &TargetKey) -> bool {
        let wake = self.0.lock().ok().and_then(|m| m.get(key).cloned());
        wake.map(|w| w.notify_one()).is_some()
    }

    /// The wake-up of one task, replacing any of an earlier plan.
    fn register(&self, key: &TargetKey) -> Arc<tokio::sync::Notify> {
        let wake = Arc::new(tokio::sync::Notify::new());
        if let Ok(mut m) = self.0.lock() {
            m.insert(key.clone(), Arc::clone(&wake));
        }
        wake
    }

    /// Forget every target but `keep` (a new plan replaces the old).
    fn retain(&self, keep: &std::collections::BTreeSet<&TargetKey>) {
        if let Ok(mut m) = self.0.lock() {
            m.retain(|k, _| keep.contains(k));
        }
    }
}

/// A task that could not be built, and why.
#[derive(Debug)]
pub struct PlanError {
    pub key: TargetKey,
    pub why: String,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.why)
    }
}

/// The target a profile probes on a node.
fn target_for(node: &Node, profile: &Profile) -> Result<Target, String> {
    let from_url = || {
        node.url
            .as_deref()
            .map(Target::parse)
            .transpose()
            .map_err(|e| e.to_string())
    };
    match profile.kind {
        Kind::Http => match (from_url()?, node.address) {
            (Some(t), _) => Ok(t),
            (None, Some(ip)) => Ok(Target::ip(ip)),
            (None, None) => Err("no url or address".into()),
        },
        // A TLS handshake goes to the port of the node's URL when it has one.
        Kind::Tls | Kind::Tcp if node.url.is_some() => {
            let mut t = from_url()?.ok_or("bad url")?;
            t.url = None;
            if let Some(ip) = node.address {
                t.host = super::Host::Ip(ip);
            }
            Ok(t)
        }
        _ => match (node.address, from_url()?) {
            (Some(ip), _) => Ok(Target::ip(ip)),
            (None, Some(mut t)) => {
                t.url = None;
                Ok(t)
            }
            (None, None) => Err("no address".into()),
        },
    }
}

/// The node's own trust replaces the profile's pin (profiles ship a placeholder: the pin
/// belongs to the endpoint).
fn apply_trust(profile: &mut Profile, trust: &TlsTrust) -> Result<(), String> {
    let pin = match trust {
        TlsTrust::System => return Ok(()),
        TlsTrust::Fingerprint(hex) => Pin::parse_sha256(hex).ok_or("bad fingerprint")?,
        TlsTrust::CaFile(path) => Pin::load_ca_file(path)?,
    };
    match &mut profile.spec {
        Spec::Tls(s) => s.pin = Some(pin),
        Spec::Http(s) => s.endpoint.pin = Some(pin),
        _ => {}
    }
    Ok(())
}

/// The smallest contracted link on the way from the OPD to `node`, by the declared paths.
pub(crate) fn budget_link(t: &Topology, node: &Node) -> Option<(LinkId, u64)> {
    let mut best: Option<(LinkId, u64)> = None;
    for p in &t.paths {
        for r in &p.routes {
            let Some(pos) = r.hops.iter().position(|h| h == &node.id) else {
                continue;
            };
            for l in r.links.iter().take(pos) {
                if let Some(bw) = t.link(l).and_then(|l| l.bandwidth)
                    && best.as_ref().is_none_or(|(_, b)| bw.bps() < *b)
                {
                    best = Some((l.clone(), bw.bps()));
                }
            }
        }
    }
    best
}

/// The SNMP poll of a link's interface, as a task keyed by the link's id.
fn snmp_task(
    t: &Topology,
    link: &Link,
    poll: &topology::SnmpPoll,
    profiles: &BTreeMap<String, Profile>,
    credentials: &SnmpCredentials,
) -> Result<Task, String> {
    let profile = profiles.get(&poll.profile).ok_or_else(|| {
        format!(
            "no profile `{}` in {} (the shipped one is probes/snmp.yaml)",
            poll.profile,
            t.probe_dir.display()
        )
    })?;
    let Spec::Snmp(spec) = &profile.spec else {
        return Err(format!(
            "profile `{}` is a {} profile, not snmp",
            poll.profile, profile.kind
        ));
    };
    let creds = credentials.get(&poll.credentials).ok_or_else(|| {
        format!(
            "no SNMP credentials `{}` in the secrets file: add it under `snmp:` in secrets.yaml \
             (`{{community}}` for v2c, `{{user, auth, auth_password, privacy, privacy_password}}` for v3)",
            poll.credentials,
        )
    })?;
    if creds.version() != poll.version.key() {
        return Err(format!(
            "the link polls with SNMP {} but credentials `{}` are for {}",
            poll.version.key(),
            poll.credentials,
            creds.version()
        ));
    }
    let interface = poll.interface.clone();
    let probe = snmp::SnmpProbe::new(
        std::net::SocketAddr::new(poll.address, poll.port),
        link.id.as_str(),
        interface,
        creds.clone(),
        spec.clone(),
        profile.timeout,
    );
    // The agent usually sits on the OPD's side: its traffic spends no WAN budget.
    let budget = t.node(&poll.agent).and_then(|n| budget_link(t, n));
    Ok(Task {
        key: TargetKey::new(NodeId::new(link.id.as_str()), poll.profile.clone()),
        profile: profile.clone(),
        probe: Arc::new(probe),
        link: budget.map(|(l, _)| l),
        contracted_bps: link.bandwidth.map(|b| b.bps()),
    })
}

/// Build every task of the topology. Profiles named by a node but missing, or targets that
/// cannot be built, are returned as errors; the rest still runs. `snmp` holds the credentials
/// of the links' SNMP polls (SNMP tasks are keyed by the link's id, not a node's).
pub fn plan(
    t: &Topology,
    profiles: &BTreeMap<String, Profile>,
    sockets: Option<&icmp::Sockets>,
    snmp: &SnmpCredentials,
) -> (Plan, Vec<PlanError>) {
    let mut tasks = Vec::new();
    let mut errors = Vec::new();
    for node in &t.nodes {
        for name in &node.probes {
            let key = TargetKey::new(node.id.clone(), name.clone());
            let Some(profile) = profiles.get(name) else {
                errors.push(PlanError {
                    key,
                    why: format!("no profile `{name}` in {}", t.probe_dir.display()),
                });
                continue;
            };
            let mut profile = profile.clone();
            let built = apply_trust(&mut profile, &node.tls)
                .and_then(|()| target_for(node, &profile))
                .and_then(|target| {
                    super::build_shared(&profile, &target, sockets).map_err(|e| e.to_string())
                });
            match built {
                Ok(probe) => {
                    let link = budget_link(t, node);
                    tasks.push(Task {
                        key,
                        profile,
                        probe: Arc::from(probe),
                        contracted_bps: link.as_ref().map(|(_, b)| *b),
                        link: link.map(|(l, _)| l),
                    });
                }
                Err(why) => errors.push(PlanError { key, why }),
            }
        }
    }
    bound_tasks(t, profiles, sockets, &mut tasks, &mut errors);
    for link in &t.links {
        let Some(poll) = &link.snmp else { continue };
        match snmp_task(t, link, poll, profiles, snmp) {
            Ok(task) => tasks.push(task),
            Err(why) => errors.push(PlanError {
                key: TargetKey::new(NodeId::new(link.id.as_str()), poll.profile.clone()),
                why,
            }),
        }
    }
    let budgets = t
        .contracted_links()
        .filter_map(|l| Some((l.id.clone(), (l.bandwidth?.bps(), l.probe_share))))
        .collect();
    let plan = Plan {
        tasks,
        budgets,
        first_round_within: Duration::from_secs(60),
        reprobe: Reprobe::default(),
    };
    (plan, errors)
}

/// The probes of the hops of every route with its own `egress`, leaving as that route does:
/// bound to its source address and interface, and at the service node, to the route's own
/// URL and pin. Keyed `profile@via` ([`crate::health::TargetKey::via`]), so that the route is
/// judged by what its traffic crosses. ICMP and bandwidth probes share raw sockets and are
/// not bound: a route's hops watched only by them are judged by their unbound rounds.
fn bound_tasks(
    t: &Topology,
    profiles: &BTreeMap<String, Profile>,
    sockets: Option<&icmp::Sockets>,
    tasks: &mut Vec<Task>,
    errors: &mut Vec<PlanError>,
) {
    let mut seen = std::collections::BTreeSet::new();
    for path in &t.paths {
        for route in &path.routes {
            let Some(via) = route.egress.via() else {
                continue;
            };
            for hop in &route.hops {
                let Some(node) = t.node(hop) else { continue };
                for name in &node.probes {
                    let key = TargetKey::new(node.id.clone(), format!("{name}@{via}"));
                    let Some(profile) = profiles.get(name) else {
                        continue; // reported once, for the unbound task
                    };
                    if !matches!(profile.kind, Kind::Tcp | Kind::Tls | Kind::Http)
                        || !seen.insert(key.clone())
                    {
                        continue;
                    }
                    let mut profile = profile.clone();
                    let mut node = node.clone();
                    let mut trust = node.tls.clone();
                    if node.id == path.service {
                        if let Some(u) = &route.egress.url {
                            node.url = Some(u.clone());
                            // The service answers at the route's URL, not its own address.
                            node.address = None;
                        }
                        if let Some(tls) = &route.egress.tls {
                            trust = tls.clone();
                        }
                    }
                    let built = apply_trust(&mut profile, &trust)
                        .and_then(|()| target_for(&node, &profile))
                        .and_then(|mut target| {
                            target.bind = super::Bind {
                                source: route.egress.source,
                                interface: route.egress.interface.clone(),
                            };
                            super::build_shared(&profile, &target, sockets)
                                .map_err(|e| e.to_string())
                        });
                    match built {
                        Ok(probe) => {
                            let link = budget_link(t, &node);
                            tasks.push(Task {
                                key,
                                profile,
                                probe: Arc::from(probe),
                                contracted_bps: link.as_ref().map(|(_, b)| *b),
                                link: link.map(|(l, _)| l),
                            });
                        }
                        Err(why) => errors.push(PlanError { key, why }),
                    }
                }
            }
        }
    }
}

/// One judged round, as the scheduler reports it.
#[derive(Clone, Debug)]
pub struct Round {
    pub key: TargetKey,
    pub kind: Kind,
    pub link: Option<LinkId>,
    pub outcome: Outcome,
    pub level: Level,
}

/// Run one round of every task now, concurrently, ignoring budgets and intervals
/// (`juknis probe --once`). Tasks that cannot run give their error. A probe that measures
/// between two runs (SNMP counters) runs twice, its `rate_window` apart, and reports the
/// second.
pub async fn run_once(plan: &Plan) -> Vec<(TargetKey, Result<Round, super::Error>)> {
    let futures = plan.tasks.iter().map(|task| async move {
        let mut res = task.probe.run().await;
        if let (Some(window), Ok(first)) = (task.probe.rate_window(), &res)
            && first.ok
        {
            tokio::time::sleep(window).await;
            res = task.probe.run().await;
        }
        let res = res.map(|outcome| Round {
            level: judge::level(&outcome, &task.profile.thresholds, task.contracted_bps),
            key: task.key.clone(),
            kind: task.profile.kind,
            link: task.link.clone(),
            outcome,
        });
        (task.key.clone(), res)
    });
    futures_util::future::join_all(futures).await
}

/// The grid rounds start on, at Diskominfo scale: a thousand targets a second fall into fifty
/// slots and each slot's rounds share one wake-up of the runtime (its timer, its sends, the
/// burst of replies) instead of one each; that halved the daemon's CPU at 1,000 targets.
const ROUND_SLOT: Duration = Duration::from_millis(20);
/// From this many tasks on, rounds start on the [`ROUND_SLOT`] grid. Below it they keep the
/// timer's own millisecond: an OPD's dozen targets mostly sit behind one thin link, where
/// echoes leaving in the same slot would queue behind each other (1.5 ms per echo at
/// 512 kbit/s) and add to each other's RTT.
const GRID_FROM_TASKS: usize = 100;

/// `d` rounded down to a whole number of `slot`s.
fn on_slot(d: Duration, slot: Duration) -> Duration {
    let slot = slot.as_nanos().max(1);
    let n = d.as_nanos() / slot;
    Duration::from_nanos(u64::try_from(n * slot).unwrap_or(u64::MAX))
}

/// Run every task on its interval until `cancel`, sending each judged round to `out`.
/// Each task waits a random share of its interval first so rounds do not bunch up, and
/// takes its bytes from its link's token bucket; a round that does not fit is skipped and
/// reported through `skipped`.
pub async fn run(
    plan: Plan,
    out: mpsc::Sender<Round>,
    skipped: impl Fn(&TargetKey) + Send + Sync + 'static,
    cancel: CancellationToken,
) {
    run_with_jitter(plan, out, skipped, cancel, rand::random::<f64>).await;
}

/// [`run`], with the share of the first-round window each task waits drawn from `jitter`
/// (one call per task, a share in `[0, 1)`), so that tests can seed it.
pub(crate) async fn run_with_jitter(
    plan: Plan,
    out: mpsc::Sender<Round>,
    skipped: impl Fn(&TargetKey) + Send + Sync + 'static,
    cancel: CancellationToken,
    mut jitter: impl FnMut() -> f64,
) {
    let buckets: BTreeMap<LinkId, Arc<Mutex<TokenBucket>>> = plan
        .budgets
        .iter()
        .map(|(id, (bps, share))| {
            let share = Share::new(*share).unwrap_or_default();
            let bucket =
                TokenBucket::for_link(BitsPerSecond(*bps), share, Duration::from_secs(600));
            (id.clone(), Arc::new(Mutex::new(bucket)))
        })
        .collect();
    let skipped = Arc::new(skipped);
    let first_within = plan.first_round_within;
    plan.reprobe
        .retain(&plan.tasks.iter().map(|t| &t.key).collect());
    let tracker = TaskTracker::new();
    // At scale, rounds start on a grid of ROUND_SLOT from one origin: every task's first round
    // and so every later one lands on a slot.
    let origin = tokio::time::Instant::now();
    let slot = if plan.tasks.len() >= GRID_FROM_TASKS {
        ROUND_SLOT
    } else {
        Duration::from_millis(1)
    };
    for task in plan.tasks {
        let wake = plan.reprobe.register(&task.key);
        let out = out.clone();
        let cancel = cancel.clone();
        let bucket = task.link.as_ref().and_then(|l| buckets.get(l)).cloned();
        let skipped = Arc::clone(&skipped);
        let interval = task.profile.interval.max(Duration::from_millis(100));
        let start = origin + on_slot(interval.min(first_within).mul_f64(jitter()), slot);
        tracker.spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep_until(start) => {}
            }
            let mut ticker = tokio::time::interval_at(start, on_slot(interval, slot));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    _ = ticker.tick() => {}
                    () = wake.notified() => {
                        tracing::debug!(target = %task.key, "probed again at once");
                        ticker.reset();
                    }
                }
                let cost = task.probe.cost_bytes();
                let allowed = match &bucket {
                    Some(b) => b.lock().map(|mut b| b.try_take(cost)).unwrap_or(true),
                    None => true,
                };
                if !allowed {
                    skipped(&task.key);
                    continue;
                }
                let result = tokio::select! {
                    () = cancel.cancelled() => return,
                    r = task.probe.run() => r,
                };
                let outcome = match result {
                    Ok(o) => o,
                    Err(e) => {
                        tracing::warn!(target = %task.key, error = %e, "probe cannot run");
                        continue;
                    }
                };
                if let Some(b) = &bucket
                    && let Ok(mut b) = b.lock()
                {
                    b.settle(cost, outcome.bytes_spent);
                }
                // Boxed while it waits for room in the channel: a round held by value across
                // that wait made every task's future 2 KB larger (a thousand targets, 2 MB).
                let round = Box::new(Round {
                    level: judge::level(&outcome, &task.profile.thresholds, task.contracted_bps),
                    key: task.key.clone(),
                    kind: task.profile.kind,
                    link: task.link.clone(),
                    outcome,
                });
                // A consumer that stopped reading must not hold the shutdown up.
                let permit = tokio::select! {
                    () = cancel.cancelled() => return,
                    permit = out.reserve() => match permit {
                        Ok(p) => p,
                        Err(_) => return,
                    },
                };
                permit.send(*round);
            }
        });
    }
    tracker.close();
    tracker.wait().await;
}

#[cfg(test)]
mod tests;
