//! Alerts where technicians are: faults from the topology-aware path verdicts, grouped into
//! incidents (`incident`), worded in Bahasa Indonesia (`message`), kept in a durable queue of
//! their own (`queue`, `notify.sqlite` in the state folder) and delivered over each notifier's
//! own route (`send`: Telegram, a WhatsApp HTTP gateway, SMTP, webhooks).
//!
//! The [`Dispatcher`] turns verdicts into queued deliveries (the incident state and its
//! deliveries in one transaction); [`run_sender`] delivers them, with retries and backoff,
//! marking each sent only once its channel accepted it. Uses `health` (verdicts), `topology`
//! (notifiers, contacts), `metrics` and `sqlite`; must not depend on `gate` (beyond the
//! secrets type), `outbox` or the dashboard.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use crate::health::PathVerdict;
use crate::metrics::Metrics;
use crate::topology::Topology;
use crate::topology::maintenance::Subject;

pub mod incident;
pub mod message;
pub mod queue;
pub mod replies;
pub mod send;

pub use incident::{Alerter, Event, Incident, Kind, Policy};
pub use message::Message;
pub use queue::{Delivery, Queue, Status};
pub use send::{Bot, Sender};

/// File name of the notification queue inside the state folder.
pub const DB_FILE: &str = "notify.sqlite";

/// A notifier counts as failing once its oldest waiting message has failed this many times.
pub const FAILING_AFTER: u32 = 3;

/// Why the notification queue failed (a failed delivery is data: it is retried).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be opened, migrated or written.
    #[error("notification queue {path}: {operation}: {source}")]
    Db {
        path: String,
        operation: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    /// The state folder could not be created.
    #[error("notification queue folder {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The database was written by a newer juknis.
    #[error(
        "notification queue {path} has schema version {found}, newer than this juknis ({known})"
    )]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
    /// A stored incident state or event cannot be read back.
    #[error("notification queue {path}: stored state unreadable: {detail}")]
    State { path: String, detail: String },
    /// A blocking task died.
    #[error("notification task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Turns path verdicts into queued deliveries.
pub struct Dispatcher {
    topology: Arc<Topology>,
    queue: Queue,
    alerter: Alerter,
    policies: Vec<Policy>,
    /// How long an incident's paths must stay healthy before its recovery is told.
    pub settle: Duration,
    /// The agreement reminder last queued (its id and stage), so a tick does not queue it again.
    agreement_told: Option<(String, u32)>,
}

impl Dispatcher {
    /// Resume from the queue's saved incident state.
    pub fn new(topology: Arc<Topology>, queue: Queue) -> Result<Dispatcher, Error> {
        let alerter = queue.alerter()?;
        let policies = topology.notifiers.iter().map(Policy::from).collect();
        Ok(Dispatcher {
            topology,
            queue,
            alerter,
            policies,
            settle: incident::DEFAULT_SETTLE,
            agreement_told: None,
        })
    }

    /// Take a reloaded topology (SIGHUP): its maintenance windows, contacts, agreement and the
    /// policies of the notifiers it started with apply from the next observation; open
    /// incidents carry on. A notifier added by the reload waits for the next start (its client
    /// and secret are built at start; queuing for it now would only pile up failures).
    pub fn set_topology(&mut self, topology: Arc<Topology>) {
        if Arc::ptr_eq(&self.topology, &topology) {
            return;
        }
        let known: BTreeSet<&str> = self.policies.iter().map(|p| p.notifier.as_str()).collect();
        let policies: Vec<Policy> = topology
            .notifiers
            .iter()
            .filter(|n| known.contains(n.id.as_str()))
            .map(Policy::from)
            .collect();
        let added: Vec<&str> = topology
            .notifiers
            .iter()
            .map(|n| n.id.as_str())
            .filter(|id| !known.contains(id))
            .collect();
        if !added.is_empty() {
            tracing::warn!(notifiers = ?added, "notifiers added by the reload take effect at the next start");
        }
        self.policies = policies;
        self.topology = topology;
        self.agreement_told = None;
    }

    /// The incidents open now.
    pub fn open(&self) -> impl Iterator<Item = &Incident> {
        self.alerter.open()
    }

    /// Observe every path's verdict at `now_ms`; queue what is owed. Returns the deliveries
    /// queued. On a failed write the incident state is left as it was, so the next observation
    /// produces the same messages again.
    pub fn observe(&mut self, verdicts: &[PathVerdict], now_ms: i64) -> Result<usize, Error> {
        let mut next = self.alerter.clone();
        let at = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now_ms).unwrap_or_default();
        let quiet: BTreeSet<String> = self
            .topology
            .paths
            .iter()
            .filter(|p| {
                self.topology
                    .maintenance
                    .active(&self.topology, Subject::Path(p.id.as_str()), at)
                    .is_some()
            })
            .map(|p| p.id.to_string())
            .collect();
        let events = next.observe_quiet(verdicts, &self.policies, self.settle, now_ms, &quiet);
        if events.is_empty() && next == self.alerter {
            return Ok(0);
        }
        let mut deliveries = Vec::new();
        for e in events {
            let Some(n) = self
                .topology
                .notifiers
                .iter()
                .find(|n| n.id.as_str() == e.notifier)
            else {
                continue;
            };
            let m = message::render(&self.topology, &e);
            tracing::info!(
                notifier = %e.notifier,
                kind = e.kind.as_str(),
                incident = %e.incident.id,
                "notification queued"
            );
            for r in Sender::recipients(n) {
                deliveries.push((r, e.clone(), m.clone()));
            }
        }
        let added = self.queue.commit(&next, &deliveries, now_ms)?;
        self.alerter = next;
        Ok(added)
    }
}

/// The stage of the agreement's life a reminder is owed for, from the days left until its last
/// day (Juknis VI.F: apply for renewal at the latest two months before it ends): 0 when the
/// two months begin, then 1 (30 days), 2 (14), 3 (7), 4 (the last day) and 5 (ended). `None`
/// outside the two months. One message per stage and notifier, whatever the restarts.
#[must_use]
pub fn agreement_stage(a: &crate::topology::Agreement, today: chrono::NaiveDate) -> Option<u32> {
    let left = a.days_left(today)?;
    if left < 0 {
        return Some(5);
    }
    if !a.renewal_due(today) {
        return None;
    }
    Some(match left {
        0 => 4,
        1..=7 => 3,
        8..=14 => 2,
        15..=30 => 1,
        _ => 0,
    })
}

impl Dispatcher {
    /// Queue the agreement's reminder owed `today`, once per stage and notifier (the queue keys
    /// it by the last day and the stage). Returns the deliveries queued.
    pub fn observe_agreement(&mut self, now_ms: i64) -> Result<usize, Error> {
        let a = &self.topology.agreement;
        let today = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now_ms)
            .unwrap_or_default()
            .with_timezone(&chrono_tz::Asia::Jakarta)
            .date_naive();
        let (Some(end), Some(stage)) = (a.end, agreement_stage(a, today)) else {
            return Ok(0);
        };
        let id = format!("pks-{end}");
        if self.agreement_told.as_ref() == Some(&(id.clone(), stage)) {
            return Ok(0);
        }
        let incident = incident::Incident {
            id: id.clone(),
            opened_ms: now_ms,
            state: crate::health::State::Degraded,
            cause: None,
            hop: None,
            last_good: None,
            reason: end.to_string(),
            paths: Vec::new(),
        };
        let mut deliveries = Vec::new();
        let known: BTreeSet<&str> = self.policies.iter().map(|p| p.notifier.as_str()).collect();
        for n in self
            .topology
            .notifiers
            .iter()
            .filter(|n| known.contains(n.id.as_str()))
        {
            let e = incident::Event {
                notifier: n.id.to_string(),
                kind: incident::Kind::Agreement,
                seq: stage,
                at_ms: now_ms,
                incident: incident.clone(),
            };
            let m = message::render(&self.topology, &e);
            for r in Sender::recipients(n) {
                deliveries.push((r, e.clone(), m.clone()));
            }
        }
        let added = self.queue.commit(&self.alerter, &deliveries, now_ms)?;
        if added > 0 {
            tracing::info!(stage, end = %end, "agreement reminder queued");
        }
        self.agreement_told = Some((id, stage));
        Ok(added)
    }
}

/// Observe the verdicts every `every` until cancelled, with the topology `current` gives at
/// each tick (so a SIGHUP reload's maintenance windows and notifiers apply).
pub async fn run_dispatcher(
    mut d: Dispatcher,
    verdicts: impl Fn() -> Vec<PathVerdict> + Send + 'static,
    current: impl Fn() -> Arc<Topology> + Send + 'static,
    metrics: Metrics,
    every: Duration,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let v = verdicts();
        d.set_topology(current());
        // SQLite with synchronous=FULL: off the async workers.
        let now = now_ms();
        let (back, r) = match tokio::task::spawn_blocking(move || {
            let r = d
                .observe(&v, now)
                .and_then(|n| Ok(n + d.observe_agreement(now)?));
            (d, r)
        })
        .await
        {
            Ok(x) => x,
            Err(e) => {
                tracing::error!(error = %e, "the notification dispatcher died");
                return;
            }
        };
        d = back;
        metrics
            .notify_incidents_open
            .set(i64::try_from(d.open().count()).unwrap_or(0));
        if let Err(e) = r {
            tracing::warn!(error = %e, "cannot queue notifications; retrying");
        }
    }
}

/// Backoff after `attempts` failed attempts: 5 s, 10 s, 20 s, ... up to 10 minutes.
pub fn backoff(attempts: u32) -> Duration {
    let s = 5u64.saturating_mul(1u64 << attempts.saturating_sub(1).min(10));
    Duration::from_secs(s.min(600))
}

/// Sent deliveries are kept this long (for audits), then pruned.
pub const KEEP_SENT: Duration = Duration::from_secs(90 * 86_400);

/// Deliver queued messages until cancelled: due ones oldest first, each marked sent once its
/// channel accepted it, failures retried with [`backoff`].
pub async fn run_sender(sender: Sender, queue: Queue, metrics: Metrics, cancel: CancellationToken) {
    let mut pruned_at: Option<tokio::time::Instant> = None;
    loop {
        if pruned_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600)) {
            pruned_at = Some(tokio::time::Instant::now());
            let q = queue.clone();
            let before = now_ms() - i64::try_from(KEEP_SENT.as_millis()).unwrap_or(i64::MAX);
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || q.prune(before)).await {
                tracing::warn!(error = %e, "cannot prune the notification queue");
            }
        }
        let q = queue.clone();
        let due = tokio::task::spawn_blocking(move || q.due(now_ms(), 50))
            .await
            .map_err(Error::Task)
            .and_then(|r| r);
        let due = match due {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the notification queue");
                Vec::new()
            }
        };
        for d in due {
            if cancel.is_cancelled() {
                return;
            }
            let result = sender.send(&d).await;
            let q = queue.clone();
            let (id, attempts) = (d.id, d.attempts);
            let outcome = match &result {
                Ok(_) => "sent",
                Err(_) => "failed",
            };
            metrics
                .notify_deliveries
                .with_label_values(&[d.notifier.as_str(), outcome])
                .inc();
            let why = result.as_ref().err().map(ToString::to_string);
            let reference = result.ok().flatten();
            if let Some(why) = &why {
                tracing::warn!(notifier = %d.notifier, attempt = attempts + 1, error = %why, "notification not delivered");
            } else {
                tracing::info!(notifier = %d.notifier, kind = d.event.kind.as_str(), "notification delivered");
            }
            let marked = tokio::task::spawn_blocking(move || match why {
                None => q.sent(id, now_ms(), reference.as_deref()),
                Some(why) => {
                    let next = now_ms()
                        + i64::try_from(backoff(attempts + 1).as_millis()).unwrap_or(600_000);
                    q.failed(id, &why, next)
                }
            })
            .await;
            if !matches!(marked, Ok(Ok(()))) {
                tracing::warn!(notifier = %d.notifier, "cannot record a delivery's outcome");
            }
        }
        let q = queue.clone();
        if let Ok(Ok(status)) = tokio::task::spawn_blocking(move || q.status()).await {
            for s in status {
                metrics
                    .notify_pending
                    .with_label_values(&[s.notifier.as_str()])
                    .set(i64::try_from(s.pending).unwrap_or(i64::MAX));
                metrics
                    .notify_failing
                    .with_label_values(&[s.notifier.as_str()])
                    .set(i64::from(s.failed_attempts >= FAILING_AFTER));
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
