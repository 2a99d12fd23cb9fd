//! The NIK gateway: every look-up an OPD application or operator asks for passes here, in the
//! order of [`DECISIONS`] (which Lampiran II draws): identity, local NIK validation, the PKS'
//! purpose and the end user, the agreement's period, the application's PoC, pattern and burst
//! rules (per caller and over the whole User ID), the path's health and the route's circuit
//! breaker, the daily quota; then one forward through the portal client, the agreement's
//! filter, and the audit log.
//!
//! Owns the quota, pattern memory, breakers, audit log and secrets. Depends on `nik`, `portal`,
//! `health` (through [`health::Source`]), `topology` and `metrics`; never on `web` or `sim`. It
//! stores no population data: NIKs become HMACs, records pass through memory only.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::health::failover::{self, Failover};
use crate::health::{self, State};
use crate::metrics::Metrics;
use crate::nik::Nik;
use crate::portal::{self, Record, Status};
use crate::topology::{self, Node, NodeKind, PathId, ServiceKind, Topology};

pub mod api;
pub mod audit;
pub mod breaker;
pub mod pattern;
pub mod quota;
pub mod secrets;

pub use pattern::Rules;
pub use secrets::Secrets;

pub use crate::flow::{DECISIONS, Decision};

/// The wall clock of the quota's WIB day and the audit timestamps; injectable for tests.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stays where it is set (tests: the next WIB day).
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing `t`.
    pub fn new(t: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(t))
    }

    /// Move the clock to `t`.
    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = t;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Who asks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Caller {
    /// An OPD application, by the name its API token is registered under.
    Application(String),
    /// A named operator of the dashboard.
    Operator(String),
}

impl Caller {
    /// `application` or `operator` (the metrics' `client` label).
    pub fn kind(&self) -> &'static str {
        match self {
            Caller::Application(_) => "application",
            Caller::Operator(_) => "operator",
        }
    }

    /// The application's or operator's name.
    pub fn name(&self) -> &str {
        match self {
            Caller::Application(n) | Caller::Operator(n) => n,
        }
    }
}

/// Everything needed to build a [`Gate`].
#[derive(Clone)]
pub struct Config {
    /// The validated topology: its Web Portal path, node URL and TLS trust, and the agreement.
    pub topology: Arc<Topology>,
    /// Where path health comes from (the running appliance's tracker, or a fake).
    pub health: Arc<dyn health::Source>,
    /// The appliance's metrics.
    pub metrics: Metrics,
    /// Where `quota.db`, `audit.db` and `audit.key` live (and `secrets.yaml`).
    pub state_dir: PathBuf,
    /// API tokens and the Dukcapil account.
    pub secrets: Secrets,
    /// Pattern and burst rules.
    pub rules: Rules,
    /// Circuit breaker settings.
    pub breaker: breaker::Config,
    /// Wall clock.
    pub clock: Arc<dyn Clock>,
    /// Whole-request timeout of a forward.
    pub timeout: Duration,
    /// Replace the agreement's quota (benchmarks and tests only).
    pub quota_override: Option<topology::Quota>,
    /// Most look-ups answered at once; beyond it [`Gate::try_admit`] refuses at once with
    /// [`Refusal::Busy`] (at least 1). See [`DEFAULT_MAX_IN_FLIGHT`].
    pub max_in_flight: usize,
}

/// The default in-flight limit. Far above what one OPD needs (the Juknis quota is 200 a day;
/// a Web Portal answer over a 512 Kbps link takes tens of milliseconds) and above the 32
/// concurrent clients at which the gate reaches its full throughput on a 2-core machine
/// (BENCHMARKS.md), so it never limits honest traffic; small enough that a flood waits at most
/// 64 look-ups' time instead of queueing without bound, and that 64 forwards at the portal
/// timeout stay a bounded amount of memory.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

impl Config {
    /// A configuration with the defaults: [`Rules::default`] with the agreement's
    /// `lookups_per_minute`, [`breaker::Config::default`],
    /// the system clock, [`portal::DEFAULT_TIMEOUT`], the agreement's quota.
    pub fn new(
        topology: Arc<Topology>,
        health: Arc<dyn health::Source>,
        metrics: Metrics,
        state_dir: impl Into<PathBuf>,
        secrets: Secrets,
    ) -> Config {
        let rules = Rules {
            per_minute: Some(topology.agreement.lookups_per_minute),
            ..Rules::default()
        };
        Config {
            topology,
            health,
            metrics,
            state_dir: state_dir.into(),
            secrets,
            rules,
            breaker: breaker::Config::default(),
            clock: Arc::new(SystemClock),
            timeout: portal::DEFAULT_TIMEOUT,
            quota_override: None,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

/// Why a gate could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The topology has no path to a Web Portal service.
    #[error("the topology {file} has no path whose service is a Web Portal (`service: web_portal`)", file = file.display())]
    NoWebPortal {
        /// The topology file.
        file: PathBuf,
    },
    /// The Web Portal node has no usable URL.
    #[error(
        "node `{node}` (the Web Portal) needs a `url` such as https://ADDRESS:8000/ (the Web Portal address from the Juknis): {detail}"
    )]
    Url {
        /// The node id.
        node: String,
        /// What is wrong.
        detail: String,
    },
    /// No Dukcapil account.
    #[error(
        "no Dukcapil account: put `portal: {{user_id, password, ip_user, instansi_id}}` in \
         {dir}/{file} (mode 600) or set {u}, {p}, {i}, {n}",
        dir = dir.display(), file = secrets::FILE, u = secrets::ENV_USER_ID,
        p = secrets::ENV_PASSWORD, i = secrets::ENV_IP_USER, n = secrets::ENV_INSTANSI_ID
    )]
    NoAccount {
        /// The state dir.
        dir: PathBuf,
    },
    /// The state dir cannot be used.
    #[error("state dir {dir}: {source}", dir = dir.display())]
    StateDir {
        /// The folder.
        dir: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// An API token names an application the topology does not declare (Juknis I.D: every
    /// application is on Lampiran I).
    #[error(
        "API token for application `{app}`, which the topology {file} does not declare; \
         declared applications (nodes with `kind: app`): {declared}. Add the application to the \
         topology (Lampiran I) or remove its token",
        file = file.display()
    )]
    UndeclaredApplication {
        /// The token's application name.
        app: String,
        /// The topology file.
        file: PathBuf,
        /// The declared applications, comma separated (or "none").
        declared: String,
    },
    /// The account's `ip_user` is not the access point's LAN address that the topology
    /// declares (Juknis I.A: Dukcapil registers that one address; every look-up sent with
    /// another would be refused).
    #[error(
        "ip_user {ip_user} of the Dukcapil account is not the access point's LAN address \
         {access_point} in {file} (Juknis I.A: Dukcapil gives the OPD one access point with that \
         IP LAN and registers it; look-ups sent with another ip_user would be refused). Correct \
         whichever is wrong: `ip_user` in the secrets file or the access point's `address`",
        file = file.display()
    )]
    IpUserMismatch {
        /// What the secrets file says.
        ip_user: String,
        /// What the topology says.
        access_point: std::net::IpAddr,
        /// The topology file.
        file: PathBuf,
    },
    /// The portal client could not be built (TLS trust, route).
    #[error("portal client: {0}")]
    Portal(#[from] portal::Error),
    /// Secrets or the HMAC key.
    #[error(transparent)]
    Secrets(#[from] secrets::Error),
    /// The quota store.
    #[error(transparent)]
    Quota(#[from] quota::Error),
    /// The audit log.
    #[error(transparent)]
    Audit(#[from] audit::Error),
}

/// A look-up Dukcapil answered.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The answer's status.
    pub status: Status,
    /// The person, filtered to the agreement's elements, only when found.
    pub record: Option<Record>,
    /// The route taken.
    pub route: String,
    /// Time through the gate.
    pub latency: Duration,
}

/// The appliance's own reasons to answer without (usable) data from Dukcapil.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No or unknown API token.
    Unauthorized,
    /// Bad request: missing purpose, bad JSON.
    InvalidRequest,
    /// Not a NIK by the local format rules (no quota spent).
    InvalidFormat,
    /// Sequential or patterned look-ups.
    Pattern,
    /// Too many look-ups close together.
    Burst,
    /// Today's quota is spent (nothing forwarded).
    QuotaExhausted,
    /// The path to the Web Portal is unusable (nothing forwarded, no quota spent).
    LinkDown,
    /// The Web Portal gave no usable answer (timeout, broken connection, error page).
    PortalError,
    /// The appliance failed (the audit log could not be written).
    Internal,
    /// Too many look-ups in flight: refused before the request was read (not audited).
    Busy,
    /// The agreement (PKS) has ended or not begun: nothing forwarded.
    AgreementEnded,
    /// The application has not passed its PoC and the agreement gives it only the sandbox.
    PocPending,
}

impl Refusal {
    /// The API's `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Unauthorized => "unauthorized",
            Refusal::InvalidRequest => "invalid_request",
            Refusal::InvalidFormat => "invalid_format",
            Refusal::Pattern => "refused_pattern",
            Refusal::Burst => "refused_burst",
            Refusal::QuotaExhausted => "quota_exhausted",
            Refusal::LinkDown => "link_down",
            Refusal::PortalError => "portal_error",
            Refusal::Internal => "internal_error",
            Refusal::Busy => "busy",
            Refusal::AgreementEnded => "agreement_ended",
            Refusal::PocPending => "poc_pending",
        }
    }

    /// The HTTP status of the API answer.
    pub fn http_status(self) -> u16 {
        match self {
            Refusal::Unauthorized => 401,
            Refusal::AgreementEnded | Refusal::PocPending => 403,
            Refusal::InvalidRequest | Refusal::InvalidFormat => 400,
            Refusal::Pattern | Refusal::Burst | Refusal::QuotaExhausted => 429,
            Refusal::PortalError => 502,
            Refusal::LinkDown | Refusal::Busy => 503,
            Refusal::Internal => 500,
        }
    }
}

/// A look-up the gate answered itself.
#[derive(Debug, Clone)]
pub struct Refused {
    /// Why.
    pub kind: Refusal,
    /// For people, in Bahasa Indonesia.
    pub message: String,
    /// When a retry may succeed.
    pub retry_after: Option<Duration>,
}

impl Refused {
    fn new(kind: Refusal, message: impl Into<String>) -> Refused {
        Refused {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    fn after(mut self, d: Duration) -> Refused {
        self.retry_after = Some(d);
        self
    }
}

/// Messages of the appliance's own answers, in the words of DESIGN.md's table.
pub mod messages {
    /// Unknown or missing token.
    pub const UNAUTHORIZED: &str = "Akses ditolak: token API tidak dikenal atau tidak disertakan";
    /// Sequential or patterned.
    pub const PATTERN: &str = "Permintaan ditolak: NIK berurutan atau berpola (Juknis II.E.1)";
    /// Burst.
    pub const BURST: &str = "Permintaan ditolak: terlalu banyak permintaan dalam waktu berdekatan";
    /// Sequential or patterned together with other callers of the same User ID.
    pub const PATTERN_USER_ID: &str = "Permintaan ditolak: NIK berurutan atau berpola bila \
        digabung dengan permintaan aplikasi atau operator lain pada User ID yang sama (Juknis \
        II.E.1 berlaku untuk seluruh User ID)";
    /// Burst on the whole User ID.
    pub const BURST_USER_ID: &str = "Permintaan ditolak: terlalu banyak permintaan dalam waktu \
        berdekatan pada User ID ini (gabungan semua aplikasi dan operator, Juknis II.E.1)";
    /// The in-flight limit is reached.
    pub const BUSY: &str = "Gateway sedang sibuk, coba lagi dalam 1 detik. Permintaan tidak \
                            diproses dan kuota tidak terpakai.";
    /// Empty purpose.
    pub const NO_PURPOSE: &str =
        "Permintaan tidak lengkap: tujuan penggunaan data (purpose) wajib diisi";
    /// No end user where the agreement asks for one.
    pub const NO_END_USER: &str = "Permintaan tidak lengkap: identitas pengguna akhir \
        (end_user) wajib disertakan sesuai PKS; Kepala OPD bertanggung jawab atas setiap \
        penggunaan User ID (Juknis II.A.2)";
}

/// A look-up as asked: the NIK, the purpose (a code from the PKS, or its text) and, for an
/// application, the end user it asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ask<'a> {
    /// The NIK as given.
    pub nik: &'a str,
    /// The purpose as given.
    pub purpose: &'a str,
    /// The person behind an application's look-up (its own user id or name), if given.
    pub end_user: Option<&'a str>,
}

/// Longest end-user identity kept, in characters.
pub const MAX_END_USER: usize = 120;

fn route_segment_ok(s: &str) -> bool {
    !s.is_empty()
}

/// What the gate forwards on, built from the topology and replaced whole by
/// [`Gate::reload`]: a look-up takes one snapshot and keeps it to its end.
struct Routing {
    /// The topology the routes were built from (applications, agreement).
    topology: Arc<Topology>,
    path: PathId,
    routes: Vec<String>,
    /// One client per route, bound as the route's `egress` says; same order as `routes`.
    clients: Vec<portal::Client>,
    breakers: Arc<breaker::Breakers>,
    failover: Mutex<Failover>,
}

struct Inner {
    routing: std::sync::RwLock<Arc<Routing>>,
    active: tokio::sync::watch::Sender<ActiveRoute>,
    /// What [`Gate::reload`] needs to build clients again.
    build: Build,
    health: Arc<dyn health::Source>,
    metrics: Metrics,
    memory: pattern::Memory,
    quota: quota::Quota,
    audit: audit::Log,
    key: secrets::HmacKey,
    secrets: Secrets,
    clock: Arc<dyn Clock>,
    in_flight: Arc<Semaphore>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("quota", &self.quota)
            .field("audit", &self.audit)
            .field("secrets", &self.secrets)
            .field("in_flight_free", &self.in_flight.available_permits())
            .finish_non_exhaustive()
    }
}

/// The route that carries a path's traffic now, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveRoute {
    /// The path.
    pub path: PathId,
    /// The route's index in the path (0: the primary).
    pub index: usize,
    /// `primary`, `alternate-1`, ...
    pub route: String,
    /// Since when it carries the traffic (the gate's start, or the last change).
    pub since: DateTime<Utc>,
    /// Why it became the active route; `None` at start.
    pub why: Option<failover::Why>,
    /// The route it took over from, at a change.
    pub previous: Option<String>,
}

/// The gate. Cheap to clone; every clone shares quota, memory, breakers and audit log.
#[derive(Debug, Clone)]
pub struct Gate {
    inner: Arc<Inner>,
}

/// The topology's Web Portal path and its service node.
fn web_portal(t: &Topology) -> Result<(&topology::Path, &Node), Error> {
    t.paths
        .iter()
        .find_map(|p| {
            let n = t.node(&p.service)?;
            (n.kind == NodeKind::Service(ServiceKind::WebPortal)).then_some((p, n))
        })
        .ok_or_else(|| Error::NoWebPortal {
            file: t.file.clone(),
        })
}

/// What building the routes' clients needs besides the topology.
struct Build {
    account: secrets::Portal,
    timeout: Duration,
    breaker: breaker::Config,
}

impl Build {
    /// The Web Portal path of `t` with one client per route, each bound as its route's
    /// `egress` says: the route named in the audit is the route the request crossed.
    fn routing(&self, t: &Arc<Topology>, now: DateTime<Utc>) -> Result<Routing, Error> {
        let (path, node) = web_portal(t)?;
        let url_err = |detail: String| Error::Url {
            node: node.id.to_string(),
            detail,
        };
        let mut clients = Vec::with_capacity(path.routes.len());
        for route in &path.routes {
            let (url, trust) = portal::route::endpoint_of(node, &route.egress);
            let url = url.ok_or_else(|| url_err("it has none".into()))?;
            let base: reqwest::Url = url
                .parse()
                .map_err(|e| url_err(format!("`{url}` ({}): {e}", route.name)))?;
            let mut pc = portal::Config::new(
                base,
                &self.account.instansi_id,
                self.account.credentials.clone(),
                portal::route::trust_of(trust)?,
            );
            pc.timeout = self.timeout;
            pc.elements = portal::Elements::of(&t.agreement.elements);
            portal::route::bind(&mut pc, &route.egress);
            clients.push(portal::Client::new(pc)?);
        }
        Ok(Routing {
            topology: Arc::clone(t),
            path: path.id.clone(),
            routes: path.routes.iter().map(|r| r.name.clone()).collect(),
            breakers: Arc::new(breaker::Breakers::new(self.breaker, clients.len())),
            clients,
            failover: Mutex::new(Failover::new(path.failback_hold, now)),
        })
    }
}

fn quota_limit(q: topology::Quota) -> Option<u64> {
    match q {
        topology::Quota::PerDay(n) => Some(u64::from(n)),
        topology::Quota::Unlimited => None,
    }
}

impl Gate {
    /// Build the gate: find the Web Portal path, build its client from the node's URL and TLS
    /// trust and the account in `secrets`, open (or create) the quota and audit databases and
    /// the HMAC key in the state dir.
    pub fn open(cfg: Config) -> Result<Gate, Error> {
        web_portal(&cfg.topology)?;
        check_secrets(&cfg.topology, &cfg.secrets)?;
        let account = cfg.secrets.portal.clone().ok_or_else(|| Error::NoAccount {
            dir: cfg.state_dir.clone(),
        })?;
        if !route_segment_ok(&account.instansi_id) {
            return Err(Error::NoAccount {
                dir: cfg.state_dir.clone(),
            });
        }
        let build = Build {
            account,
            timeout: cfg.timeout,
            breaker: cfg.breaker,
        };
        let routing = build.routing(&cfg.topology, cfg.clock.now())?;
        let t = &cfg.topology;
        crate::sqlite::create_state_dir(&cfg.state_dir).map_err(|source| Error::StateDir {
            dir: cfg.state_dir.clone(),
            source,
        })?;
        let key = secrets::HmacKey::load_or_create(&cfg.state_dir)?;
        let limit = quota_limit(cfg.quota_override.unwrap_or(t.agreement.quota));
        let quota = quota::Quota::open(&cfg.state_dir, limit, cfg.clock.clone())?;
        let audit = audit::Log::open(&cfg.state_dir)?;
        let (path, routes) = (routing.path.clone(), routing.routes.clone());
        cfg.metrics
            .quota_limit
            .set(limit.map_or(0, |l| i64::try_from(l).unwrap_or(i64::MAX)));
        cfg.metrics
            .quota_used
            .set(i64::try_from(quota.used_today()?).unwrap_or(i64::MAX));
        let max_in_flight = cfg.max_in_flight.max(1);
        cfg.metrics
            .lookups_in_flight_limit
            .set(i64::try_from(max_in_flight).unwrap_or(i64::MAX));
        for (n, r) in routes.iter().enumerate() {
            cfg.metrics
                .breaker_open
                .with_label_values(&[path.as_str(), r])
                .set(0);
            cfg.metrics
                .route_active
                .with_label_values(&[path.as_str(), r])
                .set(i64::from(n == 0));
        }
        let now = cfg.clock.now();
        let (active, _) = tokio::sync::watch::channel(ActiveRoute {
            path: path.clone(),
            index: 0,
            route: routes.first().cloned().unwrap_or_default(),
            since: now,
            why: None,
            previous: None,
        });
        Ok(Gate {
            inner: Arc::new(Inner {
                routing: std::sync::RwLock::new(Arc::new(routing)),
                active,
                build,
                health: cfg.health,
                metrics: cfg.metrics,
                memory: pattern::Memory::new(cfg.rules),
                quota,
                audit,
                key,
                secrets: cfg.secrets,
                clock: cfg.clock,
                in_flight: Arc::new(Semaphore::new(max_in_flight)),
            }),
        })
    }

    /// The caller a bearer token belongs to, compared as SHA-256 in constant time.
    pub fn authenticate(&self, token: &str) -> Option<Caller> {
        self.inner
            .secrets
            .application(token)
            .map(|a| Caller::Application(a.to_owned()))
    }

    /// A place among the look-ups in flight, held until the answer is sent; when all
    /// [`Config::max_in_flight`] are taken, a [`Refusal::Busy`] to answer at once (counted in
    /// `juknis_lookups_shed_total`). Never waits: a flood is shed, not queued.
    pub fn try_admit(&self) -> Result<InFlight, Refused> {
        let m = &self.inner.metrics;
        match Arc::clone(&self.inner.in_flight).try_acquire_owned() {
            Ok(permit) => {
                m.lookups_in_flight.inc();
                Ok(InFlight {
                    _permit: permit,
                    gauge: m.lookups_in_flight.clone(),
                })
            }
            Err(_) => {
                m.lookups_shed.inc();
                Err(Refused::new(Refusal::Busy, messages::BUSY).after(BUSY_RETRY_AFTER))
            }
        }
    }

    /// The Web Portal path the gate forwards on.
    pub fn path(&self) -> PathId {
        self.routing().path.clone()
    }

    fn routing(&self) -> Arc<Routing> {
        Arc::clone(&self.inner.routing.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Take a new topology (SIGHUP): the Web Portal path's routes, URLs, pins and egress are
    /// built again. Look-ups in flight finish on the clients they started with; the quota,
    /// audit log and pattern memory carry on. The active route and the breakers carry on when
    /// the path's routes keep their names, and start again on the primary otherwise. A
    /// topology the gate cannot use is refused and the running one kept.
    pub fn reload(&self, t: &Topology) -> Result<(), Error> {
        let i = &self.inner;
        // A topology that drops an application whose token is in use, or moves the access
        // point away from the account's ip_user, is refused like at start.
        check_secrets(t, &i.secrets)?;
        let now = i.clock.now();
        let mut next = i.build.routing(&Arc::new(t.clone()), now)?;
        let old = self.routing();
        let same = old.path == next.path && old.routes == next.routes;
        if same {
            next.breakers = Arc::clone(&old.breakers);
            let f = old
                .failover
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let hold = next
                .failover
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .hold();
            next.failover = Mutex::new(f.with_hold(hold));
        } else {
            for r in &old.routes {
                let _ = i
                    .metrics
                    .route_active
                    .remove_label_values(&[old.path.as_str(), r]);
                let _ = i
                    .metrics
                    .breaker_open
                    .remove_label_values(&[old.path.as_str(), r]);
            }
            for (n, r) in next.routes.iter().enumerate() {
                i.metrics
                    .route_active
                    .with_label_values(&[next.path.as_str(), r])
                    .set(i64::from(n == 0));
                i.metrics
                    .breaker_open
                    .with_label_values(&[next.path.as_str(), r])
                    .set(0);
            }
            i.active.send_replace(ActiveRoute {
                path: next.path.clone(),
                index: 0,
                route: next.routes.first().cloned().unwrap_or_default(),
                since: now,
                why: None,
                previous: None,
            });
        }
        tracing::info!(path = %next.path, routes = next.routes.len(), kept_state = same, "NIK gate: topology reloaded");
        *i.routing.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        Ok(())
    }

    /// Look-ups counted today (WIB).
    pub fn quota_used_today(&self) -> Result<u64, quota::Error> {
        self.inner.quota.used_today()
    }

    /// The breaker phase of each route, in the path's order.
    pub fn breakers(&self) -> Vec<(String, breaker::Phase)> {
        let r = self.routing();
        r.routes
            .iter()
            .enumerate()
            .map(|(n, name)| (name.clone(), r.breakers.phase(n)))
            .collect()
    }

    fn nik_hmac(&self, nik: &str) -> String {
        hex::encode(self.inner.key.tag(nik.as_bytes()))
    }

    /// Look one NIK up for `who`, for `purpose`. See the module documentation for the order.
    pub async fn lookup(
        &self,
        who: &Caller,
        nik: &str,
        purpose: &str,
    ) -> Result<Answered, Refused> {
        self.ask(
            who,
            Ask {
                nik,
                purpose,
                end_user: None,
            },
        )
        .await
    }

    /// Look one NIK up for `who`, with the end user behind it. See [`DECISIONS`] for the order.
    pub async fn ask(&self, who: &Caller, ask: Ask<'_>) -> Result<Answered, Refused> {
        let Ask {
            nik,
            purpose,
            end_user,
        } = ask;
        let end_user = end_user.map(str::trim).filter(|u| !u.is_empty());
        let started = Instant::now();
        let at = self.inner.clock.now();
        let mut forwarded = false;
        let mut route = String::new();
        let outcome = self
            .decide(who, nik, purpose, end_user, &mut forwarded, &mut route)
            .await;
        let latency = started.elapsed();
        let status = match &outcome {
            Ok(a) => a.status.as_str(),
            Err(r) => r.kind.as_str(),
        };
        // The audit names the PKS purpose by its code; free text only when it names none.
        let purpose_kept = self
            .routing()
            .topology
            .agreement
            .purpose_of(purpose)
            .map_or_else(|| purpose.trim().to_owned(), |p| p.code.clone());
        let entry = audit::Entry {
            at,
            caller_kind: who.kind().to_owned(),
            caller: who.name().to_owned(),
            purpose: purpose_kept,
            nik_hmac: self.nik_hmac(nik.trim()),
            status: status.to_owned(),
            route: route.clone(),
            latency,
            forwarded,
            end_user: end_user
                .map(|u| u.chars().take(MAX_END_USER).collect())
                .unwrap_or_default(),
        };
        let m = &self.inner.metrics;
        if let Err(e) = self.inner.audit.append(entry).await {
            // Unrecorded access is not allowed to return data.
            tracing::error!(error = %e, caller = who.name(), "audit log write failed; answer withheld");
            m.lookups
                .with_label_values(&[Refusal::Internal.as_str(), who.kind()])
                .inc();
            return Err(Refused::new(
                Refusal::Internal,
                "Permintaan tidak dapat dicatat di log audit; data tidak ditampilkan. Hubungi admin.",
            ));
        }
        m.lookups.with_label_values(&[status, who.kind()]).inc();
        m.lookup_duration
            .with_label_values(&[if forwarded { "true" } else { "false" }])
            .observe(latency.as_secs_f64());
        tracing::info!(
            caller_kind = who.kind(),
            caller = who.name(),
            status,
            route = route.as_str(),
            forwarded,
            latency_ms = latency.as_secs_f64() * 1000.0,
            "look-up"
        );
        outcome.map(|mut a| {
            a.latency = latency;
            a
        })
    }

    async fn decide(
        &self,
        who: &Caller,
        nik: &str,
        purpose: &str,
        end_user: Option<&str>,
        forwarded: &mut bool,
        route_out: &mut String,
    ) -> Result<Answered, Refused> {
        let i = &self.inner;
        let nik = Nik::parse(nik).map_err(|e| {
            // Malformed look-ups are audited too: they count toward the burst rule.
            if let Err(v) = i.memory.count(who) {
                return refusal_of(v);
            }
            Refused::new(
                Refusal::InvalidFormat,
                format!("{}: {}", Status::InvalidFormat.message(), local_reason(&e)),
            )
        })?;
        // One snapshot of the routes and their topology for the whole look-up.
        let r = self.routing();
        let agreement = &r.topology.agreement;
        if purpose.trim().is_empty() {
            return Err(Refused::new(Refusal::InvalidRequest, messages::NO_PURPOSE));
        }
        if agreement.purpose_of(purpose).is_none() {
            let listed: Vec<String> = agreement
                .purposes
                .iter()
                .map(|p| format!("`{}` ({})", p.code, p.text))
                .collect();
            return Err(Refused::new(
                Refusal::InvalidRequest,
                format!(
                    "Tujuan pemanfaatan tidak tercantum dalam PKS (Juknis II.E.1); gunakan salah \
                     satu kode: {}",
                    listed.join(", ")
                ),
            ));
        }
        if agreement.end_user_required
            && matches!(who, Caller::Application(_))
            && end_user.is_none()
        {
            return Err(Refused::new(Refusal::InvalidRequest, messages::NO_END_USER));
        }
        let today = quota::wib_day(i.clock.now());
        if !agreement.in_force(today) {
            return Err(Refused::new(
                Refusal::AgreementEnded,
                agreement_words(agreement, today),
            ));
        }
        if let Caller::Application(app) = who
            && agreement.before_poc == topology::BeforePoc::Sandbox
            && !r
                .topology
                .application(app)
                .is_some_and(topology::Node::poc_passed)
        {
            return Err(Refused::new(
                Refusal::PocPending,
                format!(
                    "Aplikasi `{app}` belum lulus Proof of Concept (Juknis II.D); sesuai PKS, \
                     sebelum PoC aplikasi hanya boleh mengakses sandbox. Permintaan tidak dikirim \
                     dan kuota tidak terpakai."
                ),
            ));
        }
        let digits = nik.expose();
        let prefix_tag = {
            let t = i.key.tag(digits.get(..12).unwrap_or_default().as_bytes());
            u64::from_be_bytes([t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7]])
        };
        let mark = i.memory.mark(prefix_tag, nik.serial(), nik.as_u64());
        i.memory.check(who, mark).map_err(refusal_of)?;

        // Health first: a dead path answers at once and spends nothing.
        let route = self.choose_route(&r)?;
        let reservation = match i.quota.reserve() {
            Ok(Ok(r)) => r,
            Ok(Err(ex)) => {
                return Err(Refused::new(
                    Refusal::QuotaExhausted,
                    Status::QuotaExhausted.message(),
                )
                .after(ex.retry_after));
            }
            Err(e) => {
                tracing::error!(error = %e, "quota store failed");
                return Err(Refused::new(
                    Refusal::Internal,
                    "Kuota tidak dapat diperiksa; permintaan tidak dikirim. Hubungi admin.",
                ));
            }
        };
        let ticket = match r.breakers.admit(route) {
            Ok(t) => t,
            Err(after) => {
                let _ = i.quota.release(reservation);
                return Err(self.breaker_refusal(after));
            }
        };
        self.publish_quota();
        let route_name = r.routes.get(route).cloned().unwrap_or_default();
        *route_out = route_name.clone();
        *forwarded = true;
        // Sent once, on this route's client only: a route change while it is in flight moves
        // the next look-ups, never this one (no resend, one quota unit).
        let Some(client) = r.clients.get(route) else {
            let _ = i.quota.release(reservation);
            return Err(Refused::new(
                Refusal::Internal,
                "Rute tidak dikenal; permintaan tidak dikirim. Hubungi admin.",
            ));
        };
        let result = client.lookup(&nik).await;
        match result {
            Ok(answer) => {
                r.breakers.record(ticket, breaker::Outcome::Success);
                self.publish_breaker(&r, route, false);
                Ok(Answered {
                    record: answer.record.filter(|_| answer.status.is_found()),
                    status: answer.status,
                    route: route_name,
                    latency: Duration::ZERO,
                })
            }
            Err(e) => {
                let never_sent = matches!(
                    e,
                    portal::Error::Connect { .. }
                        | portal::Error::Tls { .. }
                        | portal::Error::Config(_)
                );
                let outcome = match e.kind() {
                    portal::ErrorKind::Config => breaker::Outcome::Neutral,
                    _ => breaker::Outcome::Failure,
                };
                let open = r.breakers.record(ticket, outcome);
                self.publish_breaker(&r, route, open);
                if never_sent {
                    *forwarded = false;
                    let _ = i.quota.release(reservation);
                    self.publish_quota();
                }
                tracing::warn!(
                    error = loggable(&e),
                    route = route_name.as_str(),
                    breaker_open = open,
                    quota_returned = never_sent,
                    "Web Portal gave no usable answer"
                );
                let (what, spent) = portal_error_words(&e, never_sent);
                Err(Refused::new(
                    Refusal::PortalError,
                    format!("Tidak ada jawaban sah dari Web Portal ({what}). {spent}"),
                )
                .after(Duration::from_secs(5)))
            }
        }
    }

    /// The route to use: the active route of the failover state machine
    /// ([`health::failover`]), fed with each route's health, a route whose breaker is open
    /// counting as down; else a `link_down` refusal naming the reason.
    fn choose_route(&self, r: &Routing) -> Result<usize, Refused> {
        let i = &self.inner;
        let verdict = i.health.verdict(&r.path).ok_or_else(|| {
            link_down(
                "jalur Web Portal tidak dikenal oleh pemantauan",
                Duration::from_secs(30),
            )
        })?;
        let mut soonest: Option<Duration> = None;
        let mut states = verdict.route_states(r.routes.len());
        for (n, s) in states.iter_mut().enumerate() {
            if let Err(after) = r.breakers.peek(n) {
                soonest = Some(soonest.map_or(after, |s| s.min(after)));
                *s = State::Down;
            }
        }
        let active = self.update_active(r, &states);
        match states.get(active).copied().unwrap_or(State::Unknown) {
            State::Healthy | State::Degraded => Ok(active),
            _ if r.breakers.peek(active).is_err() => {
                Err(self.breaker_refusal(soonest.unwrap_or(Duration::from_secs(30))))
            }
            State::Unknown => {
                // Not known to be down, but not known to work either: nothing is sent.
                Err(Refused::new(
                    Refusal::LinkDown,
                    format!(
                        "Kondisi jalur ke Web Portal belum diketahui: {}. Permintaan tidak dikirim dan \
                         kuota tidak terpakai; coba lagi sebentar lagi.",
                        verdict
                            .routes
                            .get(active)
                            .map_or(verdict.reason(), |v| v.reason.as_str())
                    ),
                )
                .after(Duration::from_secs(10)))
            }
            _ => Err(link_down(verdict.reason(), Duration::from_secs(30))),
        }
    }

    /// Feed the routes' states to the failover state machine; on a change, say so in the
    /// log, the metrics and to [`Gate::watch_route`]'s receivers. Returns the active route.
    fn update_active(&self, r: &Routing, states: &[State]) -> usize {
        let i = &self.inner;
        let now = i.clock.now();
        let (change, active, since) = {
            let mut f = r.failover.lock().unwrap_or_else(|p| p.into_inner());
            let c = f.update(states, now);
            (c, f.active(), f.since())
        };
        if let Some(c) = change {
            let from = r.routes.get(c.from).cloned().unwrap_or_default();
            let to = r.routes.get(c.to).cloned().unwrap_or_default();
            tracing::warn!(
                path = %r.path,
                from = from.as_str(),
                to = to.as_str(),
                why = c.why.as_str(),
                "Web Portal traffic moved to another route"
            );
            for (n, name) in r.routes.iter().enumerate() {
                i.metrics
                    .route_active
                    .with_label_values(&[r.path.as_str(), name])
                    .set(i64::from(n == c.to));
            }
            i.metrics
                .route_changes
                .with_label_values(&[r.path.as_str(), c.why.as_str()])
                .inc();
            i.active.send_replace(ActiveRoute {
                path: r.path.clone(),
                index: c.to,
                route: to,
                since,
                why: Some(c.why),
                previous: Some(from),
            });
        }
        active
    }

    /// Judge the routes again without a look-up (call every few seconds), so that a failover
    /// or failback is decided, logged and shown when it happens, not at the next look-up.
    pub fn refresh_route(&self) {
        let i = &self.inner;
        let r = self.routing();
        if let Some(v) = i.health.verdict(&r.path) {
            let mut states = v.route_states(r.routes.len());
            for (n, s) in states.iter_mut().enumerate() {
                if r.breakers.peek(n).is_err() {
                    *s = State::Down;
                }
            }
            self.update_active(&r, &states);
        }
    }

    /// The route that carries look-ups now, and since when.
    pub fn active_route(&self) -> ActiveRoute {
        self.inner.active.borrow().clone()
    }

    /// Told of every change of the active route (the incident history, the dashboard).
    pub fn watch_route(&self) -> tokio::sync::watch::Receiver<ActiveRoute> {
        self.inner.active.subscribe()
    }

    fn breaker_refusal(&self, after: Duration) -> Refused {
        link_down(
            &format!(
                "pemutus sirkuit terbuka setelah permintaan ke Web Portal berturut-turut gagal; \
                 dicoba lagi dalam {} detik",
                after.as_secs().max(1)
            ),
            after.max(Duration::from_secs(1)),
        )
    }

    fn publish_quota(&self) {
        if let Ok(u) = self.inner.quota.used_today() {
            self.inner
                .metrics
                .quota_used
                .set(i64::try_from(u).unwrap_or(i64::MAX));
        }
    }

    fn publish_breaker(&self, r: &Routing, route: usize, open: bool) {
        let i = &self.inner;
        if let Some(name) = r.routes.get(route) {
            i.metrics
                .breaker_open
                .with_label_values(&[r.path.as_str(), name])
                .set(i64::from(open));
        }
    }

    /// Forget pattern memory of idle callers (call every few minutes).
    pub fn prune(&self) {
        self.inner.memory.prune();
    }

    /// Write an event that is not a look-up (a log-in lock-out) into the audit log, on the
    /// chain like every entry: no NIK, not forwarded, counted by no report.
    pub async fn record_event(
        &self,
        kind: &str,
        who: &str,
        what: &str,
        status: &str,
    ) -> Result<i64, audit::Error> {
        self.inner
            .audit
            .append(audit::Entry {
                at: self.inner.clock.now(),
                caller_kind: kind.to_owned(),
                caller: who.to_owned(),
                purpose: what.to_owned(),
                nik_hmac: String::new(),
                status: status.to_owned(),
                route: String::new(),
                latency: Duration::ZERO,
                forwarded: false,
                end_user: String::new(),
            })
            .await
    }
}

/// Every API token must belong to an application node of the topology.
pub fn check_applications(t: &Topology, secrets: &Secrets) -> Result<(), Error> {
    for app in secrets.applications() {
        if t.application(app).is_none() {
            let declared: Vec<&str> = t.applications().map(|n| n.id.as_str()).collect();
            return Err(Error::UndeclaredApplication {
                app: app.to_owned(),
                file: t.file.clone(),
                declared: if declared.is_empty() {
                    "none".to_owned()
                } else {
                    declared.join(", ")
                },
            });
        }
    }
    Ok(())
}

/// The secrets against the topology: every API token belongs to a declared application
/// ([`check_applications`]) and the account's `ip_user` is the access point's LAN address
/// where the topology gives one. `serve` and `check --state-dir` stop on either (exit 64); a
/// reload that breaks them keeps the running routes.
pub fn check_secrets(t: &Topology, secrets: &Secrets) -> Result<(), Error> {
    check_applications(t, secrets)?;
    if let (Some(ap), Some(p)) = (t.access_point_address(), &secrets.portal) {
        let ip_user = p.credentials.ip_user.trim();
        if ip_user.parse::<std::net::IpAddr>().ok() != Some(ap) {
            return Err(Error::IpUserMismatch {
                ip_user: ip_user.to_owned(),
                access_point: ap,
                file: t.file.clone(),
            });
        }
    }
    Ok(())
}

/// Why the agreement does not allow look-ups on `today`, with the dates.
fn agreement_words(a: &topology::Agreement, today: chrono::NaiveDate) -> String {
    match (a.start, a.end) {
        (Some(s), _) if today < s => format!(
            "Perjanjian Kerja Sama belum berlaku (mulai {s}); permintaan tidak dikirim dan kuota \
             tidak terpakai."
        ),
        (_, Some(e)) => format!(
            "Perjanjian Kerja Sama telah berakhir pada {e}; akses data kependudukan dihentikan \
             sampai perpanjangan (Juknis VI.F). Permintaan tidak dikirim. Hubungi admin OPD."
        ),
        _ => "Perjanjian Kerja Sama tidak berlaku.".to_owned(),
    }
}

/// The refusal of a pattern or burst verdict, saying whether the caller's own look-ups or the
/// whole User ID's broke the rule.
fn refusal_of(v: pattern::Verdict) -> Refused {
    match v {
        pattern::Verdict::Pattern(d) => Refused::new(Refusal::Pattern, messages::PATTERN).after(d),
        pattern::Verdict::Burst(d) => Refused::new(Refusal::Burst, messages::BURST).after(d),
        pattern::Verdict::UserIdPattern(d) => {
            Refused::new(Refusal::Pattern, messages::PATTERN_USER_ID).after(d)
        }
        pattern::Verdict::UserIdBurst(d) => {
            Refused::new(Refusal::Burst, messages::BURST_USER_ID).after(d)
        }
    }
}

/// When a shed caller may retry: look-ups take milliseconds, so a second is plenty.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// A look-up's place in flight (see [`Gate::try_admit`]); dropping it frees the place.
#[derive(Debug)]
pub struct InFlight {
    _permit: OwnedSemaphorePermit,
    gauge: prometheus::IntGauge,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

fn link_down(reason: &str, after: Duration) -> Refused {
    Refused::new(
        Refusal::LinkDown,
        format!(
            "Jalur ke Web Portal sedang terputus: {reason}. Permintaan tidak dikirim dan kuota tidak terpakai."
        ),
    )
    .after(after)
}

/// What of a portal error may go to a log line: never the answer's text or a parser's message,
/// which can quote population data from a broken answer.
fn loggable(e: &portal::Error) -> String {
    match e {
        portal::Error::HttpStatus { url, status, .. } => format!("{url} answered HTTP {status}"),
        portal::Error::Malformed { .. } => "malformed answer (text withheld)".to_owned(),
        other => crate::cause::chain(other),
    }
}

fn portal_error_words(e: &portal::Error, never_sent: bool) -> (&'static str, &'static str) {
    let what = match e {
        portal::Error::Config(_) => "konfigurasi klien salah",
        portal::Error::Connect { .. } => "koneksi ditolak atau tidak tersambung",
        portal::Error::Timeout { .. } => "batas waktu habis",
        portal::Error::Tls { .. } => "sertifikat TLS tidak sesuai",
        portal::Error::Transport { .. } => "koneksi terputus",
        portal::Error::HttpStatus { .. } => "halaman galat HTTP",
        portal::Error::Malformed { .. } => "jawaban tidak sesuai format",
    };
    let spent = if never_sent {
        "Permintaan tidak sampai dan kuota tidak terpakai."
    } else {
        "Permintaan mungkin sudah sampai; kuota dihitung terpakai."
    };
    (what, spent)
}

/// The precise local reason a string is not a NIK, in Bahasa Indonesia, never quoting digits.
pub fn local_reason(e: &crate::nik::Error) -> String {
    use crate::nik::{DateProblem, Error as E};
    match e {
        E::Length { len } => format!("NIK harus 16 digit, yang diberikan {len} karakter"),
        E::NotDigit { position } => format!("karakter ke-{position} bukan angka"),
        E::UnknownRegion => {
            "digit 1-6 (provinsi, kabupaten/kota, kecamatan) bukan kode wilayah Kemendagri".into()
        }
        E::BirthDate { problem } => format!(
            "digit 7-12 (tanggal lahir DDMMYY, tanggal +40 untuk perempuan) bukan tanggal yang sah: {}",
            match problem {
                DateProblem::Day => "tanggal bukan 01-31 atau 41-71",
                DateProblem::Month => "bulan bukan 01-12",
                DateProblem::NoSuchDay => "tanggal itu tidak ada pada bulan tersebut",
            }
        ),
        E::ZeroSerial => "digit 13-16 (nomor urut) 0000; nomor urut dimulai dari 0001".into(),
    }
}

/// Where the gate's files live in `dir`, for scans and backups.
pub fn files(dir: &Path) -> [PathBuf; 4] {
    [
        dir.join(quota::FILE),
        dir.join(audit::FILE),
        dir.join(secrets::KEY_FILE),
        dir.join(secrets::FILE),
    ]
}
