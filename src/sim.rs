//! The Dukcapil simulator: a faithful stand-in for the Web Portal and the data balikan service
//! (DUKCAPIL_WIRE.md), for the demo, the tests and the OPD's PoC sandbox.
//!
//! Owns its synthetic population, accounts, daily quota, fault injection and self-signed TLS.
//! Depends on `nik` (format rules) and `portal::Status` (codes and messages) only; nothing in the
//! appliance's own path may depend on it.
//!
//! Endpoints (all `POST` answers of the look-up are HTTP 200, as on the real service):
//! - `POST /dukcapil/get_json/{pp_kk}/{instansi_user}/{service}`: regional variant (`RESPON` only)
//! - `POST /dukcapil/get_json/{instansi_id}/{service}`: central variant (`RESPONSE_CODE`,
//!   `quotaLimiter`)
//! - `POST /data_balikan/public/api/v1/balikan`: data balikan, bearer token
//! - `GET /_sim/stats`, `GET|POST /_sim/faults`, `GET /_sim/samples`: test controls

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::portal::Status;

pub mod population;
mod serve;
mod wire;

pub use population::{LOCALLY_INVALID_NIK, Population};
pub use wire::{HeldBalikan, found_answer_body};

/// The seed of `juknis sim` and of the demo when none is given.
pub const DEFAULT_SEED: u64 = 20_260_101;
/// The simulator's daily quota when none is given (the Juknis' 200 is the gate's own limit).
pub const DEFAULT_QUOTA: u64 = 10_000;
/// Password of every simulated account.
pub const PASSWORD: &str = "sandbox-rahasia";
/// The active account.
pub const USER: &str = "opd_sandbox";
/// The account of an inactive agency (code 16).
pub const USER_AGENCY_INACTIVE: &str = "opd_instansi_nonaktif";
/// The inactive user (code 17).
pub const USER_INACTIVE: &str = "opd_user_nonaktif";
/// The user whose access hours are over (code 06).
pub const USER_OUTSIDE_HOURS: &str = "opd_luar_jam";
/// The IP every account is registered with by default: the demo topology's access point
/// (its IP LAN, Juknis I.A), which `serve` requires the account's `ip_user` to be.
pub const IP_USER: &str = "127.0.0.2";
/// The central variant's agency id used in the demo.
pub const INSTANSI_ID: &str = "3204DINSOS";
/// Path of the data balikan endpoint.
pub const BALIKAN_PATH: &str = "/data_balikan/public/api/v1/balikan";
/// Bearer token of the data balikan endpoint when none is given.
pub const DEFAULT_BALIKAN_TOKEN: &str = "sandbox-balikan-token";

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binding the listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Requested address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Certificate generation or TLS set-up failed.
    #[error("TLS set-up of the simulator failed")]
    Tls(#[source] crate::cause::BoxError),
    /// Writing the certificate PEM failed.
    #[error("cannot write the certificate to {path}: {source}")]
    CertOut {
        /// Requested path.
        path: std::path::PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Faults injected into wire answers (look-ups and balikan, not `/_sim/*`).
///
/// A dropped, 5xx or broken-JSON answer is decided before the request is processed, so it spends
/// no quota and holds no balikan record; latency and slow bodies only delay a normal answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Delay before answering, in milliseconds.
    pub latency_ms: u64,
    /// Close the connection without an answer.
    pub drop: bool,
    /// Answer with this HTTP status (e.g. 503) and an HTML page.
    pub http_status: Option<u16>,
    /// Send the body in 16-byte pieces with this delay between them, in milliseconds.
    pub slow_body_ms: u64,
    /// Answer 200 with JSON cut in the middle.
    pub broken_json: bool,
    /// Apply the faults to every n-th wire request only (0 and 1: to all).
    pub every: u32,
}

/// Counters of the simulator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Look-ups answered (any status), faulted ones excluded.
    pub lookups_answered: u64,
    /// Look-ups by status name.
    pub by_status: BTreeMap<String, u64>,
    /// Remaining daily quota.
    pub quota_left: u64,
    /// Wire requests that got an injected fault (other than latency alone).
    pub faults_injected: u64,
    /// Balikan posts received with a valid token and body.
    pub balikan_posts: u64,
    /// Distinct balikan records held.
    pub balikan_records: usize,
    /// Balikan records received again after being held.
    pub balikan_duplicates: u64,
}

/// How an account behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// Normal.
    Active,
    /// Code 16.
    AgencyInactive,
    /// Code 17.
    UserInactive,
    /// Code 06.
    OutsideHours,
}

/// A simulated Web Portal account.
#[derive(Debug, Clone)]
pub struct Account {
    /// `user_id`.
    pub user_id: &'static str,
    /// `password`.
    pub password: &'static str,
    /// Registered IP (`ip_user`).
    pub ip: IpAddr,
    /// Behaviour.
    pub state: AccountState,
}

/// The simulator's accounts, all registered with `ip`: one active, one per account-level
/// refusal.
pub fn accounts(ip: IpAddr) -> Vec<Account> {
    [
        (USER, AccountState::Active),
        (USER_AGENCY_INACTIVE, AccountState::AgencyInactive),
        (USER_INACTIVE, AccountState::UserInactive),
        (USER_OUTSIDE_HOURS, AccountState::OutsideHours),
    ]
    .into_iter()
    .map(|(user_id, state)| Account {
        user_id,
        password: PASSWORD,
        ip,
        state,
    })
    .collect()
}

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen (tests: `127.0.0.1:0`).
    pub listen: SocketAddr,
    /// Serve HTTPS with a self-signed certificate generated at start.
    pub tls: bool,
    /// Population seed.
    pub seed: u64,
    /// Daily quota (the day in WIB).
    pub quota: u64,
    /// Faults from the start.
    pub faults: Faults,
    /// Bearer token of the balikan endpoint.
    pub balikan_token: String,
    /// The `param` keys and aid types the balikan endpoint takes (an OPD's topology declares
    /// the same; the documented ones by default).
    pub balikan_fields: crate::topology::BalikanFields,
    /// A marker put into every found record's name and address, for zero-storage scans.
    pub canary: Option<String>,
    /// The IP the accounts are registered with (`ip_user`; [`IP_USER`] by default).
    pub ip_user: IpAddr,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: true,
            seed: DEFAULT_SEED,
            quota: DEFAULT_QUOTA,
            faults: Faults::default(),
            balikan_token: DEFAULT_BALIKAN_TOKEN.to_owned(),
            balikan_fields: crate::topology::BalikanFields::default(),
            canary: None,
            ip_user: IP_USER.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        }
    }
}

#[derive(Debug, Default)]
struct Mutable {
    quota_day: Option<NaiveDate>,
    quota_used: u64,
    faults: Faults,
    wire_requests: u64,
    stats: Stats,
    held_keys: HashSet<(String, String, String)>,
    held: Vec<HeldBalikan>,
}

/// State shared by every connection.
#[derive(Debug)]
pub(crate) struct Shared {
    population: Population,
    accounts: Vec<Account>,
    quota: u64,
    balikan_token: String,
    pub(crate) balikan_fields: crate::topology::BalikanFields,
    mutable: Mutex<Mutable>,
}

/// The faults decided for one wire request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Applied {
    latency: Duration,
    drop: bool,
    http_status: Option<u16>,
    slow_body: Option<Duration>,
    broken_json: bool,
}

fn today_wib() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive()
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Mutable> {
        // A poisoned lock only means a panic elsewhere; the counters are still usable.
        self.mutable.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn roll_day(&self, m: &mut Mutable) {
        let today = today_wib();
        if m.quota_day != Some(today) {
            m.quota_day = Some(today);
            m.quota_used = 0;
        }
    }

    /// Spend one unit of today's quota; `false` when it is spent.
    pub(crate) fn spend_quota(&self) -> bool {
        let mut m = self.lock();
        self.roll_day(&mut m);
        if m.quota_used >= self.quota {
            return false;
        }
        m.quota_used += 1;
        true
    }

    pub(crate) fn quota_left(&self) -> u64 {
        let mut m = self.lock();
        self.roll_day(&mut m);
        self.quota.saturating_sub(m.quota_used)
    }

    /// Count an answer; returns a running number used to vary `RESPON` spellings.
    pub(crate) fn count_answer(&self, status: &Status) -> u64 {
        let mut m = self.lock();
        m.stats.lookups_answered += 1;
        *m.stats
            .by_status
            .entry(status.as_str().to_owned())
            .or_default() += 1;
        m.stats.lookups_answered
    }

    /// Hold new records; `true` when none of them was held before.
    pub(crate) fn hold_balikan(&self, records: Vec<HeldBalikan>) -> bool {
        let mut m = self.lock();
        m.stats.balikan_posts += 1;
        let mut all_new = true;
        for r in records {
            let key = (r.nik.clone(), r.recipient_id.clone(), r.aid.clone());
            if m.held_keys.insert(key) {
                m.held.push(r);
            } else {
                all_new = false;
                m.stats.balikan_duplicates += 1;
            }
        }
        m.stats.balikan_records = m.held.len();
        all_new
    }

    pub(crate) fn faults_for(&self, path: &str) -> Applied {
        if path.starts_with("/_sim/") {
            return Applied::default();
        }
        let mut m = self.lock();
        m.wire_requests += 1;
        let f = m.faults.clone();
        let every = u64::from(f.every.max(1));
        if !m.wire_requests.is_multiple_of(every) {
            return Applied::default();
        }
        let applied = Applied {
            latency: Duration::from_millis(f.latency_ms),
            drop: f.drop,
            http_status: f.http_status,
            slow_body: (f.slow_body_ms > 0).then(|| Duration::from_millis(f.slow_body_ms)),
            broken_json: f.broken_json,
        };
        if applied.drop
            || applied.http_status.is_some()
            || applied.broken_json
            || applied.slow_body.is_some()
        {
            m.stats.faults_injected += 1;
        }
        applied
    }

    fn stats(&self) -> Stats {
        let mut s = self.lock().stats.clone();
        s.quota_left = self.quota_left();
        s
    }
}

/// The simulator's server.
#[derive(Debug)]
pub struct Server;

/// A running simulator.
#[derive(Debug)]
pub struct Handle {
    addr: SocketAddr,
    tls: bool,
    cert_pem: Option<String>,
    fingerprint: Option<[u8; 32]>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/dukcapil/get_json/{region}/{instansi_user}/{service}",
            post(wire::regional),
        )
        .route(
            "/dukcapil/get_json/{instansi_id}/{service}",
            post(wire::central),
        )
        .route(BALIKAN_PATH, post(wire::balikan))
        .route("/_sim/stats", get(admin_stats))
        .route("/_sim/faults", get(admin_get_faults).post(admin_set_faults))
        .route("/_sim/samples", get(admin_samples))
        .with_state(shared)
}

async fn admin_stats(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
) -> axum::Json<Stats> {
    axum::Json(shared.stats())
}

async fn admin_get_faults(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
) -> axum::Json<Faults> {
    axum::Json(shared.lock().faults.clone())
}

async fn admin_set_faults(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    axum::Json(faults): axum::Json<Faults>,
) -> axum::Json<Faults> {
    shared.lock().faults = faults.clone();
    axum::Json(faults)
}

async fn admin_samples(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
) -> axum::Json<BTreeMap<String, String>> {
    axum::Json(shared.population.samples().clone())
}

impl Server {
    /// Bind, generate the certificate if TLS is on, and serve until [`Handle::shutdown`].
    pub async fn start(config: Config) -> Result<Handle, Error> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| Error::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Bind {
            addr: config.listen,
            source,
        })?;
        let (acceptor, cert_pem, fingerprint) = if config.tls {
            let (acceptor, pem, fp) = serve::self_signed(addr.ip())?;
            (Some(acceptor), Some(pem), Some(fp))
        } else {
            (None, None, None)
        };
        let shared = Arc::new(Shared {
            population: Population::generate(config.seed, config.canary.as_deref()),
            accounts: accounts(config.ip_user),
            quota: config.quota,
            balikan_token: config.balikan_token,
            balikan_fields: config.balikan_fields,
            mutable: Mutex::new(Mutable {
                faults: config.faults,
                ..Mutable::default()
            }),
        });
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        tracker.spawn(serve::accept_loop(
            listener,
            acceptor,
            router(shared.clone()),
            shared.clone(),
            cancel.clone(),
            tracker.clone(),
        ));
        Ok(Handle {
            addr,
            tls: config.tls,
            cert_pem,
            fingerprint,
            shared,
            cancel,
            tracker,
        })
    }
}

impl Handle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` (or `http://`).
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Full URL of the data balikan endpoint.
    pub fn balikan_url(&self) -> String {
        format!("{}{BALIKAN_PATH}", self.base_url())
    }

    /// The self-signed certificate, PEM (TLS only).
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    /// SHA-256 of the certificate (TLS only).
    pub fn fingerprint(&self) -> Option<[u8; 32]> {
        self.fingerprint
    }

    /// One NIK per NIK-determined status (see [`Population::samples`]).
    pub fn samples(&self) -> BTreeMap<String, String> {
        self.shared.population.samples().clone()
    }

    /// The population, for tests.
    pub fn population(&self) -> &Population {
        &self.shared.population
    }

    /// Replace the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults = faults;
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Every balikan record held, in arrival order, each once.
    pub fn balikan_records(&self) -> Vec<HeldBalikan> {
        self.shared.lock().held.clone()
    }

    /// Stop accepting, let open connections finish (up to 5 s), then return.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        if tokio::time::timeout(Duration::from_secs(5), self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("simulator connections still open after 5 s; leaving them");
        }
    }

    /// Wait until shutdown is requested elsewhere (for the CLI).
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}
