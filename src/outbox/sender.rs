//! The sender: posts the outbox's batches to the data balikan service while the path is healthy
//! or degraded, backs off exponentially with jitter when a post gets no verdict, and marks
//! records only after the service has answered for them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio_util::sync::CancellationToken;

use super::{Error, Outbox, blocking};
use crate::health::failover::Failover;
use crate::health::{self, State};
use crate::metrics::Metrics;
use crate::portal::{self, BalikanBatch, BalikanOutcome, ErrorKind};
use crate::topology::{NodeKind, PathId, ServiceKind, Topology};

/// Where batches go: the portal client, or a fake in tests.
pub trait Post: Send + Sync + 'static {
    /// Post one batch; `Err` means no verdict (retry the same batch later).
    fn post(
        &self,
        batch: &BalikanBatch,
    ) -> impl Future<Output = Result<BalikanOutcome, portal::Error>> + Send;

    /// Post one batch on route `route` of the path (0: the primary). A poster with one way
    /// out posts every batch the same way.
    fn post_on(
        &self,
        route: usize,
        batch: &BalikanBatch,
    ) -> impl Future<Output = Result<BalikanOutcome, portal::Error>> + Send {
        let _ = route;
        self.post(batch)
    }
}

/// One data balikan client per route of the path, each bound as its route's `egress` says
/// (see [`route_clients`]).
#[derive(Debug, Clone)]
pub struct RouteClients(pub Vec<portal::Client>);

impl Post for RouteClients {
    fn post(
        &self,
        batch: &BalikanBatch,
    ) -> impl Future<Output = Result<BalikanOutcome, portal::Error>> + Send {
        self.post_on(0, batch)
    }

    fn post_on(
        &self,
        route: usize,
        batch: &BalikanBatch,
    ) -> impl Future<Output = Result<BalikanOutcome, portal::Error>> + Send {
        let client = self.0.get(route).or_else(|| self.0.first()).cloned();
        let batch = batch.clone();
        async move {
            match client {
                Some(c) => c.send_balikan(&batch).await,
                None => Err(portal::Error::Config("no data balikan client".into())),
            }
        }
    }
}

/// The clients of `t`'s data balikan path, one per route: the service node's URL (or the
/// route's `egress.url`) plus `/api/v1/balikan`, its TLS trust (or the route's pin), bound to
/// the route's source address and interface. `None` when the topology has no data balikan
/// path or its service has no URL on some route.
pub fn route_clients(
    t: &Topology,
    token: &crate::secret::Secret,
    id_lembaga: &str,
) -> Option<Result<RouteClients, portal::Error>> {
    let path = t.path(&balikan_path(t)?)?;
    let node = t.node(&path.service)?;
    let mut clients = Vec::new();
    for route in &path.routes {
        let (url, trust) = portal::route::endpoint_of(node, &route.egress);
        let endpoint = format!("{}/api/v1/balikan", url?.trim_end_matches('/'));
        let built = (|| {
            let endpoint: reqwest::Url = endpoint.parse().map_err(|e| {
                portal::Error::Config(format!(
                    "the data balikan URL `{endpoint}` of node `{}` ({}): {e}",
                    node.id, route.name
                ))
            })?;
            let credentials = portal::Credentials {
                user_id: String::new(),
                password: Default::default(),
                ip_user: String::new(),
            };
            let mut cfg = portal::Config::new(
                endpoint.clone(),
                id_lembaga,
                credentials,
                portal::route::trust_of(trust)?,
            );
            cfg.balikan = Some(portal::BalikanConfig {
                url: endpoint,
                token: token.clone(),
            });
            portal::route::bind(&mut cfg, &route.egress);
            portal::Client::new(cfg)
        })();
        match built {
            Ok(c) => clients.push(c),
            Err(e) => return Some(Err(e)),
        }
    }
    Some(Ok(RouteClients(clients)))
}

impl Post for portal::Client {
    fn post(
        &self,
        batch: &BalikanBatch,
    ) -> impl Future<Output = Result<BalikanOutcome, portal::Error>> + Send {
        self.send_balikan(batch)
    }
}

/// A health source for a sender that runs without probes (the `juknis balikan send` command):
/// every path is taken as healthy, and the backoff alone paces the retries.
#[derive(Debug, Clone, Copy, Default)]
pub struct AssumeHealthy;

impl health::Source for AssumeHealthy {
    fn verdict(&self, path: &PathId) -> Option<health::PathVerdict> {
        Some(health::PathVerdict {
            path: path.clone(),
            state: State::Healthy,
            best: None,
            routes: Vec::new(),
        })
    }
}

/// The path of the topology whose service is the data balikan service.
pub fn balikan_path(t: &Topology) -> Option<PathId> {
    t.paths
        .iter()
        .find(|p| {
            t.node(&p.service)
                .is_some_and(|n| n.kind == NodeKind::Service(ServiceKind::DataBalikan))
        })
        .map(|p| p.id.clone())
}

/// Exponential backoff with equal jitter: the n-th delay is drawn from
/// `[d/2, d]` where `d = min(max, base * 2^n)`, so it grows and spreads at once.
#[derive(Debug)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
    rng: StdRng,
}

impl Backoff {
    /// A backoff seeded from the system's randomness.
    pub fn new(base: Duration, max: Duration) -> Self {
        Self::seeded(base, max, rand::rng().random())
    }

    /// A reproducible backoff (tests).
    pub fn seeded(base: Duration, max: Duration, seed: u64) -> Self {
        Backoff {
            base,
            max: max.max(base),
            attempt: 0,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The next delay; each call doubles the ceiling up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(30));
        let ceiling = self.base.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_nanos()).unwrap_or(u64::MAX);
        half + Duration::from_nanos(self.rng.random_range(0..=spread))
    }

    /// After a success: start again from `base`.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Failures since the last reset.
    pub fn failures(&self) -> u32 {
        self.attempt
    }
}

/// How the sender behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data balikan path whose health gates sending.
    pub path: PathId,
    /// `id_lembaga` of every batch.
    pub id_lembaga: String,
    /// `nama_lembaga` of every batch (the agreement's OPD name).
    pub nama_lembaga: String,
    /// Records per post.
    pub batch_size: usize,
    /// First retry delay.
    pub backoff_base: Duration,
    /// Longest retry delay.
    pub backoff_max: Duration,
    /// How often health is read again while the path is down.
    pub health_poll: Duration,
    /// How often the queue is read again while it is empty.
    pub idle_poll: Duration,
    /// Return once nothing is pending (the command line), instead of waiting for more.
    pub stop_when_empty: bool,
    /// The path's routes, the primary first (`primary`, `alternate-1`, ...).
    pub routes: Vec<String>,
    /// How long the primary must be healthy before batches go back to it.
    pub failback_hold: Duration,
    /// The `param` keys of a record on the wire (the topology's `data_balikan`).
    pub fields: crate::topology::BalikanFields,
}

impl Config {
    /// The defaults: batches of 100, backoff from 1 s to 5 min, polls every 5 s.
    pub fn new(path: PathId, id_lembaga: &str, nama_lembaga: &str) -> Self {
        Config {
            path,
            id_lembaga: id_lembaga.to_owned(),
            nama_lembaga: nama_lembaga.to_owned(),
            batch_size: 100,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            health_poll: Duration::from_secs(5),
            idle_poll: Duration::from_secs(5),
            stop_when_empty: false,
            routes: vec!["primary".to_owned()],
            failback_hold: crate::topology::DEFAULT_FAILBACK_HOLD,
            fields: crate::topology::BalikanFields::default(),
        }
    }

    /// The defaults for `topology`'s data balikan path and OPD name; `None` when the topology
    /// has no data balikan path.
    pub fn from_topology(t: &Topology, id_lembaga: &str) -> Option<Self> {
        let path = t.path(&balikan_path(t)?)?;
        let mut c = Self::new(path.id.clone(), id_lembaga, &t.agreement.opd);
        c.routes = path.routes.iter().map(|r| r.name.clone()).collect();
        c.failback_hold = path.failback_hold;
        c.fields = t.data_balikan.clone();
        Some(c)
    }
}

/// The outbox's sender.
pub struct Sender<P: Post = portal::Client> {
    outbox: Outbox,
    post: P,
    health: Arc<dyn health::Source>,
    config: Config,
    metrics: Metrics,
    backoff: Backoff,
    failover: Failover,
}

/// What one step did, for the loop and for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The path is neither healthy nor degraded: nothing was sent.
    Gated(State),
    /// Nothing is pending.
    Idle,
    /// A batch was answered for: records delivered, or rejected, or the batch split.
    Answered,
    /// A post got no verdict, or the database failed; wait this long.
    Failed(Duration),
}

/// Which bounded label a failure counts under.
fn failure_reason(e: &portal::Error) -> &'static str {
    match (e.kind(), e) {
        (_, portal::Error::Timeout { .. }) => "timeout",
        (_, portal::Error::Connect { .. }) => "connect",
        (_, portal::Error::Tls { .. }) => "tls",
        (ErrorKind::Transport, _) => "transport",
        (ErrorKind::HttpStatus, _) => "http_5xx",
        (ErrorKind::Malformed, _) => "malformed",
        (ErrorKind::Config, _) => "config",
    }
}

/// Statuses whose refusal is about the records (split, then reject the one at fault); any
/// other 4xx is about the request (token, URL, rate) and is retried as it is.
fn refusal_is_about_records(status: u16) -> bool {
    matches!(status, 400 | 409 | 413 | 422)
}

impl<P: Post> Sender<P> {
    /// A sender over `outbox`, posting through `post`, gated by `health`.
    pub fn new(
        outbox: Outbox,
        post: P,
        health: Arc<dyn health::Source>,
        config: Config,
        metrics: Metrics,
    ) -> Self {
        let backoff = Backoff::new(config.backoff_base, config.backoff_max);
        let failover = Failover::new(config.failback_hold, chrono::Utc::now());
        for (n, r) in config.routes.iter().enumerate() {
            metrics
                .route_active
                .with_label_values(&[config.path.as_str(), r])
                .set(i64::from(n == 0));
        }
        Sender {
            failover,
            outbox,
            post,
            health,
            config,
            metrics,
            backoff,
        }
    }

    /// Replace the backoff (a seeded one in tests).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    fn count_failure(&self, reason: &str) {
        self.metrics
            .balikan_send_failures
            .with_label_values(&[reason])
            .inc();
    }

    async fn refresh_metrics(&self) {
        let ob = self.outbox.clone();
        match blocking(move || ob.counts()).await {
            Ok(c) => self.outbox.export(&c, &self.metrics),
            Err(e) => tracing::warn!(error = %e, "cannot count the outbox"),
        }
    }

    fn db_failed(&mut self, e: &Error) -> Step {
        tracing::error!(error = %e, "outbox database step failed; retrying");
        self.count_failure("database");
        Step::Failed(self.backoff.next_delay())
    }

    /// The route batches take now (0: the primary).
    pub fn active_route(&self) -> usize {
        self.failover.active()
    }

    /// Feed the routes' health to the failover state machine; log and count a change.
    fn choose_route(&mut self) -> (usize, State) {
        let routes = self.config.routes.len().max(1);
        let states = self
            .health
            .verdict(&self.config.path)
            .map_or_else(|| vec![State::Unknown; routes], |v| v.route_states(routes));
        if let Some(c) = self.failover.update(&states, chrono::Utc::now()) {
            let name = |n: usize| self.config.routes.get(n).map_or("", String::as_str);
            tracing::warn!(
                path = %self.config.path,
                from = name(c.from),
                to = name(c.to),
                why = c.why.as_str(),
                "data balikan traffic moved to another route"
            );
            for (n, r) in self.config.routes.iter().enumerate() {
                self.metrics
                    .route_active
                    .with_label_values(&[self.config.path.as_str(), r])
                    .set(i64::from(n == c.to));
            }
            self.metrics
                .route_changes
                .with_label_values(&[self.config.path.as_str(), c.why.as_str()])
                .inc();
        }
        let active = self.failover.active();
        (
            active,
            states.get(active).copied().unwrap_or(State::Unknown),
        )
    }

    /// One step: read health, pick the route, claim a batch, post it on that route, record
    /// the answer.
    pub async fn step(&mut self) -> Step {
        let (route, state) = self.choose_route();
        if !matches!(state, State::Healthy | State::Degraded) {
            return Step::Gated(state);
        }
        let ob = self.outbox.clone();
        let size = self.config.batch_size;
        let batch = match blocking(move || ob.claim(size)).await {
            Ok(Some(b)) => b,
            Ok(None) => return Step::Idle,
            Err(e) => return self.db_failed(&e),
        };
        let wire = BalikanBatch {
            id_lembaga: self.config.id_lembaga.clone(),
            nama_lembaga: self.config.nama_lembaga.clone(),
            records: batch.records,
            fields: self.config.fields.clone(),
        };
        let n = wire.records.len();
        let id = batch.id;
        let answer = self.post.post_on(route, &wire).await;
        let ob = self.outbox.clone();
        let (result, step) = match answer {
            Ok(BalikanOutcome::Delivered) => {
                tracing::info!(batch = id, records = n, "data balikan batch delivered");
                (blocking(move || ob.delivered(id, false)).await, None)
            }
            Ok(BalikanOutcome::AlreadySent) if batch.attempt == 1 && n > 1 => {
                // This batch was never posted before, so the service holds some of it from
                // elsewhere (a manual upload). A service that refuses a whole batch for one
                // held record would then hold none of the others: halve the batch until each
                // "already sent" is about one record.
                tracing::warn!(
                    batch = id,
                    records = n,
                    "the service already holds records of a batch never posted before; splitting it"
                );
                self.count_failure("already_held_elsewhere");
                let r = blocking(move || ob.split(id, "already sent on its first post"))
                    .await
                    .map(|_| 0);
                (r, None)
            }
            Ok(BalikanOutcome::AlreadySent) => {
                tracing::info!(
                    batch = id,
                    records = n,
                    attempt = batch.attempt,
                    "data balikan batch already held by the service: delivered"
                );
                (blocking(move || ob.delivered(id, true)).await, None)
            }
            Ok(BalikanOutcome::Rejected { status, text }) if refusal_is_about_records(status) => {
                // The service's message may quote a NIK back: mask digit runs before it is
                // logged or kept as the reason.
                let text = portal::answer::shown(&text);
                tracing::warn!(batch = id, records = n, status, text = %text, "data balikan batch refused");
                self.count_failure("rejected");
                let reason = format!("HTTP {status}: {text}");
                (blocking(move || ob.refused(id, &reason)).await, None)
            }
            Ok(BalikanOutcome::Rejected { status, text }) => {
                let text = portal::answer::shown(&text);
                let reason = if matches!(status, 401 | 403) {
                    "unauthorized"
                } else {
                    "http_4xx"
                };
                tracing::warn!(batch = id, status, text = %text, "data balikan post refused; retrying later");
                self.count_failure(reason);
                let note = format!("HTTP {status}: {text}");
                let r = blocking(move || ob.failed(id, &note)).await.map(|()| 0);
                (r, Some(Step::Failed(self.backoff.next_delay())))
            }
            Err(e) => {
                let reason = failure_reason(&e);
                let note = crate::cause::chain(&e);
                tracing::warn!(batch = id, error = %note, reason, "data balikan post got no verdict; retrying later");
                self.count_failure(reason);
                let r = blocking(move || ob.failed(id, &note)).await.map(|()| 0);
                (r, Some(Step::Failed(self.backoff.next_delay())))
            }
        };
        if let Err(e) = result {
            return self.db_failed(&e);
        }
        self.refresh_metrics().await;
        match step {
            Some(s) => s,
            None => {
                self.backoff.reset();
                Step::Answered
            }
        }
    }

    /// Send until `cancel` fires (or, with `stop_when_empty`, until nothing is pending). A post
    /// in flight when `cancel` fires is let finish, bounded by the client's timeout, so that
    /// its answer is recorded.
    pub async fn run(mut self, cancel: CancellationToken) -> Result<(), Error> {
        self.refresh_metrics().await;
        let mut gated = false;
        loop {
            if cancel.is_cancelled() {
                return Ok(());
            }
            let wait = match self.step().await {
                Step::Answered => {
                    gated = false;
                    continue;
                }
                Step::Idle if self.config.stop_when_empty => return Ok(()),
                Step::Idle => {
                    self.refresh_metrics().await;
                    self.config.idle_poll
                }
                Step::Gated(state) => {
                    // The oldest pending record keeps ageing while the path is down.
                    self.refresh_metrics().await;
                    if !gated {
                        tracing::info!(path = %self.config.path, state = state.as_str(), "data balikan path not usable; holding the outbox");
                        gated = true;
                    }
                    self.config.health_poll
                }
                Step::Failed(d) => d,
            };
            tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}
