//! Shared harness of the gate tests: the simulator over HTTPS with a pinned fingerprint, the
//! demo topology pointed at it, a fake health source, a real state dir, and the router.
#![allow(dead_code, reason = "each test binary uses part of the harness")]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use juknis::gate::{self, Gate, ManualClock, Rules, Secrets, breaker, secrets::Portal};
use juknis::health::{PathVerdict, RouteVerdict, Source, State};
use juknis::metrics::Metrics;
use juknis::portal::Credentials;
use juknis::sim::{self, Handle, Server};
use juknis::topology::{self, PathId, Topology};
use serde_json::Value;
use tower::ServiceExt;

pub const TOKEN: &str = "token-aplikasi-web-verifikasi-0001";
pub const APP: &str = "app-web";
pub const PURPOSE: &str = "bansos";

/// A health source that says what the test sets.
pub struct FakeHealth {
    pub state: Mutex<(State, String)>,
}

impl FakeHealth {
    pub fn new(state: State) -> Arc<FakeHealth> {
        Arc::new(FakeHealth {
            state: Mutex::new((state, "semua hop menjawab dalam batas ambang".into())),
        })
    }
    pub fn set(&self, state: State, reason: &str) {
        *self.state.lock().unwrap() = (state, reason.to_owned());
    }
}

impl Source for FakeHealth {
    fn verdict(&self, path: &PathId) -> Option<PathVerdict> {
        let (state, reason) = self.state.lock().unwrap().clone();
        Some(PathVerdict {
            path: path.clone(),
            state,
            best: Some(0),
            routes: vec![RouteVerdict {
                route: "primary".into(),
                state,
                cause: None,
                at: None,
                reason,
                links: Vec::new(),
            }],
        })
    }
}

pub fn topology_for(sim: &Handle, quota: &str) -> Topology {
    topology_edited(sim, quota, &|t| t)
}

/// The demo topology for `sim`, with `edit` applied to its text.
pub fn topology_edited(sim: &Handle, quota: &str, edit: &dyn Fn(String) -> String) -> Topology {
    let text = edit(include_str!("../../topology/demo.yaml").to_owned());
    let fp = hex::encode(sim.fingerprint().unwrap());
    let text = text
        .replace(
            "url: \"https://127.0.0.5:18443/\"",
            &format!("url: \"{}/\", tls_pin: \"{fp}\"", sim.base_url()),
        )
        .replace("quota_per_day: 200", &format!("quota_per_day: {quota}"));
    assert!(
        text.contains(&sim.base_url()),
        "demo topology changed shape"
    );
    topology::parse(&text, Path::new("demo.yaml"), &|_| None).unwrap()
}

pub fn secrets(user: &str, password: &str) -> Secrets {
    Secrets::new(Some(Portal {
        credentials: Credentials {
            user_id: user.into(),
            password: password.into(),
            ip_user: sim::IP_USER.into(),
        },
        instansi_id: sim::INSTANSI_ID.into(),
    }))
    .with_token(APP, TOKEN)
    .unwrap()
}

pub struct Opts {
    pub quota: String,
    pub rules: Rules,
    pub user: String,
    pub password: String,
    pub breaker: breaker::Config,
    pub state: State,
    pub clock: Arc<ManualClock>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            quota: "200".into(),
            rules: Rules::off(),
            user: sim::USER.into(),
            password: sim::PASSWORD.into(),
            breaker: breaker::Config::default(),
            state: State::Healthy,
            clock: Arc::new(ManualClock::new("2026-03-02T03:00:00Z".parse().unwrap())),
        }
    }
}

pub struct Harness {
    pub gate: Gate,
    pub app: Router,
    pub health: Arc<FakeHealth>,
    pub metrics: Metrics,
    pub dir: PathBuf,
}

pub async fn start_sim(canary: Option<&str>) -> Handle {
    Server::start(sim::Config {
        canary: canary.map(str::to_owned),
        ..sim::Config::default()
    })
    .await
    .unwrap()
}

pub fn open_gate(sim: &Handle, dir: &Path, o: &Opts) -> Harness {
    open_gate_with(sim, dir, o, secrets(&o.user, &o.password))
}

pub fn open_gate_with(sim: &Handle, dir: &Path, o: &Opts, secrets: Secrets) -> Harness {
    open_gate_edited(sim, dir, o, secrets, &|t| t).unwrap()
}

/// A gate on the demo topology with `edit` applied to its text.
pub fn open_gate_edited(
    sim: &Handle,
    dir: &Path,
    o: &Opts,
    secrets: Secrets,
    edit: &dyn Fn(String) -> String,
) -> Result<Harness, gate::Error> {
    let health = FakeHealth::new(o.state);
    let metrics = Metrics::new();
    let mut cfg = gate::Config::new(
        Arc::new(topology_edited(sim, &o.quota, edit)),
        health.clone(),
        metrics.clone(),
        dir,
        secrets,
    );
    cfg.rules = o.rules.clone();
    cfg.breaker = o.breaker;
    cfg.clock = o.clock.clone();
    cfg.timeout = Duration::from_secs(5);
    let gate = Gate::open(cfg)?;
    Ok(Harness {
        app: gate::api::router(gate.clone()),
        gate,
        health,
        metrics,
        dir: dir.to_path_buf(),
    })
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["status"].as_str().unwrap_or_default()
    }
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }
}

pub async fn post_raw(app: &Router, token: Option<&str>, body: impl Into<Body>) -> Reply {
    let mut req = Request::post("/api/v1/lookup").header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    assert_eq!(
        headers.get("cache-control").map(|v| v.to_str().unwrap()),
        Some("no-store, max-age=0"),
        "every look-up answer is no-store"
    );
    Reply {
        status,
        headers,
        body,
    }
}

pub async fn lookup(app: &Router, nik: &str) -> Reply {
    post_raw(
        app,
        Some(TOKEN),
        serde_json::json!({"nik": nik, "purpose": PURPOSE}).to_string(),
    )
    .await
}
