//! Faults as people hear of them: path verdicts grouped into incidents (one per failing hop,
//! not one per path or per hop behind it), and the events each notifier is owed: the alert,
//! reminders while it lasts, the recovery once it has held. Pure: no IO, no clock; the state
//! serialises so that a restart neither repeats an alert nor forgets a recovery.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::health::{Cause, PathVerdict, State};
use crate::topology::Notifier;

/// How long every path of an incident must stay healthy before the recovery is told. A link
/// that flaps inside this time stays one incident: one alert, one recovery.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(120);

/// How long an alert waits for the verdict to name the failing hop (the hops before a failing
/// one are probed again first) before it goes without one.
pub const HOP_WAIT: Duration = Duration::from_secs(30);

/// One fault: where the paths it stops first fail, since when, and which paths it touches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Stable and unique: `<opened_ms>-<hop or path>`; part of every message's idempotency key.
    pub id: String,
    pub opened_ms: i64,
    /// The worst state seen now (degraded or down).
    pub state: State,
    pub cause: Option<Cause>,
    /// The first failing hop (a node id), when the verdict names one.
    pub hop: Option<String>,
    /// The last good hop before it.
    pub last_good: Option<String>,
    /// The verdict's reason, in Bahasa Indonesia.
    pub reason: String,
    /// The paths it stops, in the order they failed.
    pub paths: Vec<String>,
}

/// What a message says about an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Alert,
    Reminder,
    Recovery,
    /// About the agreement, not a fault: the PKS' renewal is due or it has ended (Juknis VI.F).
    /// Its `incident` is `pks-<last day>` with no paths; `seq` is the stage (see
    /// [`crate::notify::agreement_stage`]).
    Agreement,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Alert => "alert",
            Kind::Reminder => "reminder",
            Kind::Recovery => "recovery",
            Kind::Agreement => "agreement",
        }
    }
}

/// One message owed to one notifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub notifier: String,
    pub kind: Kind,
    /// 0 for the alert and the recovery, n for the n-th reminder.
    pub seq: u32,
    pub at_ms: i64,
    /// The incident as it stands (at a recovery: as it was when it ended).
    pub incident: Incident,
}

impl Event {
    /// The same for every attempt and every restart: what receivers that deduplicate key on.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.incident.id,
            self.kind.as_str(),
            self.seq,
            self.notifier
        )
    }

    /// How long the incident lasted (at a recovery) or has lasted so far.
    pub fn duration(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.at_ms - self.incident.opened_ms).unwrap_or(0))
    }
}

/// Why an event is not sent now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    /// The notifier's `max_per_hour` is spent; tried again at the next observation.
    RateLimited,
    /// The verdict does not yet say where the fault is (see [`HOP_WAIT`]).
    Locating,
}

/// A notifier's policy, as the incident logic needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub notifier: String,
    pub reminder: Option<Duration>,
    pub max_per_hour: u32,
}

impl From<&Notifier> for Policy {
    fn from(n: &Notifier) -> Self {
        Policy {
            notifier: n.id.to_string(),
            reminder: n.reminder,
            max_per_hour: n.max_per_hour,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Told {
    last_ms: i64,
    reminders: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Open {
    incident: Incident,
    healthy_since_ms: Option<i64>,
    /// Notifiers that were told of it, and when last.
    told: BTreeMap<String, Told>,
}

/// Open incidents and what each notifier was told. Serialisable: the dispatcher stores it
/// with the messages it produced, in one transaction.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Alerter {
    open: Vec<Open>,
    /// Per notifier, when its messages of the last hour were produced (the rate limit).
    sent: BTreeMap<String, Vec<i64>>,
    /// Incidents ever opened, so that ids stay unique within one millisecond.
    #[serde(default)]
    opened: u64,
}

impl Alerter {
    /// The incidents open now.
    pub fn open(&self) -> impl Iterator<Item = &Incident> {
        self.open.iter().map(|o| &o.incident)
    }

    /// Take in the verdicts of every path at `now_ms` and return the messages owed.
    pub fn observe(
        &mut self,
        verdicts: &[PathVerdict],
        policies: &[Policy],
        settle: Duration,
        now_ms: i64,
    ) -> Vec<Event> {
        self.observe_quiet(verdicts, policies, settle, now_ms, &BTreeSet::new())
    }

    /// [`Alerter::observe`], with the paths inside a maintenance window now (`quiet`): an
    /// incident all of whose paths are quiet opens and is tracked, but no alert or reminder
    /// goes out; if it outlasts the window, the alert goes then. A recovery still reaches a
    /// notifier that was told of the fault before the window began, so nobody is left
    /// believing the link is down.
    pub fn observe_quiet(
        &mut self,
        verdicts: &[PathVerdict],
        policies: &[Policy],
        settle: Duration,
        now_ms: i64,
        quiet: &BTreeSet<String>,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        // 1. Bad paths join the incident that holds them, or the one failing at the same hop,
        //    or open a new one.
        for v in verdicts {
            if !matches!(v.state, State::Degraded | State::Down) {
                continue;
            }
            let route = v.best.and_then(|b| v.routes.get(b));
            let hop = route
                .and_then(|r| r.at.as_ref())
                .map(|(_, h)| h.to_string());
            let last_good = route
                .and_then(|r| r.at.as_ref())
                .and_then(|(g, _)| g.as_ref().map(ToString::to_string));
            let cause = route.and_then(|r| r.cause);
            let path = v.path.to_string();
            let found = self
                .open
                .iter()
                .position(|o| o.incident.paths.contains(&path))
                .or_else(|| {
                    hop.as_ref().and_then(|h| {
                        self.open
                            .iter()
                            .position(|o| o.incident.hop.as_ref() == Some(h))
                    })
                });
            match found {
                Some(i) => {
                    let o = &mut self.open[i];
                    o.healthy_since_ms = None;
                    if !o.incident.paths.contains(&path) {
                        o.incident.paths.push(path.clone());
                    }
                    // The first path speaks for the incident; its verdict may sharpen.
                    if o.incident.paths.first() == Some(&path) {
                        o.incident.hop = hop;
                        o.incident.last_good = last_good;
                        o.incident.cause = cause;
                        o.incident.reason = v.reason().to_string();
                    }
                    o.incident.state = o.incident.state.worst(v.state);
                }
                None => {
                    self.opened += 1;
                    let id = format!(
                        "{now_ms}-{}-{}",
                        self.opened,
                        hop.as_deref().unwrap_or(&path)
                    );
                    self.open.push(Open {
                        incident: Incident {
                            id,
                            opened_ms: now_ms,
                            state: v.state,
                            cause,
                            hop,
                            last_good,
                            reason: v.reason().to_string(),
                            paths: vec![path],
                        },
                        healthy_since_ms: None,
                        told: BTreeMap::new(),
                    });
                }
            }
        }
        // 2. An incident whose paths are all healthy closes once they have held for `settle`;
        //    the notifiers that were told hear of the recovery.
        let state_of = |p: &str| {
            verdicts
                .iter()
                .find(|v| v.path.as_str() == p)
                // A path gone from the topology no longer holds an incident open.
                .map_or(State::Healthy, |v| v.state)
        };
        let mut still = Vec::new();
        for mut o in std::mem::take(&mut self.open) {
            let all_healthy = o
                .incident
                .paths
                .iter()
                .all(|p| state_of(p) == State::Healthy);
            if !all_healthy {
                o.healthy_since_ms = None;
                // Recompute "now" from the paths still bad (a partial recovery lowers it).
                let worst = o
                    .incident
                    .paths
                    .iter()
                    .map(|p| state_of(p))
                    .filter(|s| matches!(s, State::Degraded | State::Down))
                    .fold(None, |w: Option<State>, s| {
                        Some(w.map_or(s, |w| w.worst(s)))
                    });
                if let Some(w) = worst {
                    o.incident.state = w;
                }
                still.push(o);
                continue;
            }
            let since = *o.healthy_since_ms.get_or_insert(now_ms);
            let held = u64::try_from(now_ms - since).unwrap_or(0) >= settle.as_millis() as u64;
            if !held {
                still.push(o);
                continue;
            }
            // Ended when the paths turned healthy, not when the settle time ran out.
            for notifier in o.told.keys() {
                if let Some(p) = policies.iter().find(|p| &p.notifier == notifier)
                    && self.decide(p, Kind::Recovery, None, now_ms).is_ok()
                {
                    events.push(Event {
                        notifier: notifier.clone(),
                        kind: Kind::Recovery,
                        seq: 0,
                        at_ms: since,
                        incident: o.incident.clone(),
                    });
                }
            }
        }
        self.open = still;
        // 3. Alerts owed to notifiers not yet told, reminders owed to those told long ago.
        for i in 0..self.open.len() {
            for p in policies {
                let (kind, seq) = match self.open[i].told.get(&p.notifier) {
                    None => (Kind::Alert, 0),
                    Some(t) => match p.reminder {
                        Some(r)
                            if u64::try_from(now_ms - t.last_ms).unwrap_or(0)
                                >= r.as_millis() as u64 =>
                        {
                            (Kind::Reminder, t.reminders + 1)
                        }
                        _ => continue,
                    },
                };
                let incident = self.open[i].incident.clone();
                if incident.paths.iter().all(|p| quiet.contains(p)) {
                    // Planned work, not a fault to tell (yet).
                    continue;
                }
                if self.decide(p, kind, Some(&incident), now_ms).is_err() {
                    continue;
                }
                let o = &mut self.open[i];
                o.told.insert(
                    p.notifier.clone(),
                    Told {
                        last_ms: now_ms,
                        reminders: seq,
                    },
                );
                events.push(Event {
                    notifier: p.notifier.clone(),
                    kind,
                    seq,
                    at_ms: now_ms,
                    incident: o.incident.clone(),
                });
            }
        }
        events
    }

    /// Whether a message of `kind` goes to notifier `p` now: the one place where sending is
    /// decided (maintenance windows belong here). A recovery always goes to a notifier that
    /// was told of the fault; an alert waits up to [`HOP_WAIT`] for the verdict to name the
    /// failing hop; alerts and reminders wait while the hour's budget is spent. Records the
    /// send when the answer is yes.
    fn decide(
        &mut self,
        p: &Policy,
        kind: Kind,
        incident: Option<&Incident>,
        now_ms: i64,
    ) -> Result<(), Hold> {
        if kind == Kind::Alert
            && let Some(i) = incident
            && i.hop.is_none()
            && u64::try_from(now_ms - i.opened_ms).unwrap_or(0) < HOP_WAIT.as_millis() as u64
        {
            return Err(Hold::Locating);
        }
        let sent = self.sent.entry(p.notifier.clone()).or_default();
        sent.retain(|t| now_ms - t < 3_600_000);
        if kind != Kind::Recovery && sent.len() >= p.max_per_hour as usize {
            return Err(Hold::RateLimited);
        }
        sent.push(now_ms);
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests;
