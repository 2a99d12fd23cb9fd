//! Shared helpers of the dashboard tests: an appliance state on the demo topology, users of
//! each role, and a log-in through the real form.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, header};
use http_body_util::BodyExt;
use juknis::health::{Hysteresis, Tracker};
use juknis::metrics::Metrics;
use juknis::web::auth::{Lockout, Role, Users};
use juknis::web::{Shared, dashboard};
use tower::ServiceExt;

pub const PASSWORD: &str = "kata-sandi-uji-123";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo topology, as the appliance loads it.
pub fn shared() -> Arc<Shared> {
    let t = juknis::topology::load(&root().join("topology/demo.yaml")).expect("demo topology");
    Shared::new(t, Tracker::new(Hysteresis::default()), Metrics::new())
}

/// The demo topology pointed at a running simulator and pinned to its certificate.
pub fn shared_for(sim: &juknis::sim::Handle) -> Arc<Shared> {
    let fp = hex::encode(sim.fingerprint().expect("the simulator's fingerprint"));
    let text = include_str!("../../topology/demo.yaml").replace(
        "url: \"https://127.0.0.5:18443/\"",
        &format!("url: \"{}/\", tls_pin: \"{fp}\"", sim.base_url()),
    );
    assert!(
        text.contains(&sim.base_url()),
        "demo topology changed shape"
    );
    let t = juknis::topology::parse(&text, Path::new("demo.yaml"), &|_| None).expect("topology");
    Shared::new(t, Tracker::new(Hysteresis::default()), Metrics::new())
}

/// The NIK gate on `shared`'s topology and health, with the simulator's sandbox account.
pub fn gate(shared: &Arc<Shared>, dir: &Path) -> juknis::gate::Gate {
    use juknis::gate::{self, Secrets, secrets::Portal};
    use juknis::portal::Credentials;
    use juknis::sim;
    let secrets = Secrets::new(Some(Portal {
        credentials: Credentials {
            user_id: sim::USER.into(),
            password: sim::PASSWORD.into(),
            ip_user: sim::IP_USER.into(),
        },
        instansi_id: sim::INSTANSI_ID.into(),
    }));
    let health: Arc<dyn juknis::health::Source> = shared.clone();
    let mut cfg = gate::Config::new(
        shared.topology(),
        health,
        shared.metrics.clone(),
        dir,
        secrets,
    );
    cfg.timeout = Duration::from_secs(5);
    gate::Gate::open(cfg).expect("the gate opens")
}

/// A simulator of the Web Portal on loopback.
pub async fn sim() -> juknis::sim::Handle {
    juknis::sim::Server::start(juknis::sim::Config::default())
        .await
        .expect("the simulator starts")
}

/// Users: admin (NDA), tech, op (no NDA), opnda (NDA).
pub fn users(dir: &Path) {
    let u = Users::open(dir, Lockout::default()).expect("users.db");
    for (name, role, nda) in [
        ("admin", Role::Admin, true),
        ("tech", Role::Technician, false),
        ("op", Role::Operator, false),
        ("opnda", Role::Operator, true),
    ] {
        u.add(name, role, PASSWORD, nda).expect("add user");
    }
}

pub fn config(dir: &Path) -> dashboard::Config {
    let mut c = dashboard::Config::new(dir);
    c.failure_delay = Duration::ZERO;
    c.lockout = Lockout {
        after: 3,
        for_: Duration::from_secs(600),
    };
    c.outbox = Some(juknis::outbox::Outbox::open(dir).expect("outbox"));
    c
}

pub fn app(dir: &Path) -> Router {
    users(dir);
    dashboard::router(shared(), config(dir)).expect("router")
}

pub async fn send(app: &Router, req: Request<Body>) -> (Response<Body>, String) {
    let res = app.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (
        Response::from_parts(parts, Body::empty()),
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

pub fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).expect("request")
}

pub fn post_form(uri: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Request<Body> {
    let body = form
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut b =
        Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(body)).expect("request")
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The value of `name="csrf" value="..."` in a page.
pub fn csrf_of(body: &str) -> String {
    let i = body.find("name=\"csrf\" value=\"").expect("a csrf field");
    let rest = &body[i + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("end")].to_string()
}

/// `name=value` of a Set-Cookie header.
pub fn set_cookie(res: &Response<Body>, name: &str) -> Option<String> {
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(ToString::to_string)
}

/// Post the log-in form; returns the response and its body.
pub async fn try_login(app: &Router, user: &str, password: &str) -> (Response<Body>, String) {
    let (res, body) = send(app, get("/masuk", None)).await;
    let pre = set_cookie(&res, dashboard::LOGIN_COOKIE).expect("login cookie");
    let pre = pre.split(';').next().expect("pair").to_string();
    let csrf = csrf_of(&body);
    send(
        app,
        post_form(
            "/masuk",
            Some(&pre),
            &[("username", user), ("password", password), ("csrf", &csrf)],
        ),
    )
    .await
}

/// Log in; returns the session cookie pair and the session's CSRF token.
pub async fn login(app: &Router, user: &str) -> (String, String) {
    let (res, _) = try_login(app, user, PASSWORD).await;
    assert_eq!(res.status(), 303, "log-in of {user}");
    let c = set_cookie(&res, dashboard::SESSION_COOKIE).expect("session cookie");
    let pair = c.split(';').next().expect("pair").to_string();
    let (_, body) = send(app, get("/", Some(&pair))).await;
    (pair.clone(), csrf_of(&body))
}

/// Synthetic live state: every probed target healthy (with a measured-looking detail), two
/// hours of minute samples for the Web Portal, and one closed incident.
pub fn seed(shared: &Shared, dir: &Path) {
    use juknis::health::{Level, State, TargetKey};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let t = shared.topology();
    {
        let mut h = shared.health.write().expect("lock");
        for n in &t.nodes {
            let mut probes = n.probes.clone();
            if probes.is_empty() && n.address.is_some() {
                probes.push("icmp".into());
            }
            for p in probes {
                h.observe(
                    &TargetKey::new(n.id.clone(), p.clone()),
                    Level {
                        state: State::Healthy,
                        cause: None,
                        detail: format!("{p}: RTT 24 ms, hilang 0%"),
                    },
                    now - 300,
                );
            }
        }
    }
    let mut store = juknis::store::Store::open(&dir.join("juknis.db")).expect("store");
    let mut samples = Vec::new();
    for i in 0..120i64 {
        let ts = now - (120 - i) * 60;
        // A synthetic busy spell in the middle: slower and lossy.
        let busy = (50..62).contains(&i);
        let base = if busy { 0.085 } else { 0.022 } + (i % 7) as f64 * 0.0015;
        let loss = if busy {
            Some(0.08)
        } else if i % 23 == 0 {
            Some(0.01)
        } else {
            Some(0.0)
        };
        samples.push(juknis::store::Sample {
            ts_ms: ts * 1000,
            node: "web-portal".into(),
            profile: "icmp".into(),
            kind: "icmp".into(),
            ok: true,
            state: "healthy".into(),
            rtt_min_s: Some(base * 0.8),
            rtt_p50_s: Some(base),
            rtt_p90_s: Some(base * 1.3),
            rtt_max_s: Some(base * 1.9),
            loss,
            jitter_s: Some(base * 0.1),
            bandwidth_bps: Some(if busy { 310_000.0 } else { 480_000.0 }),
            bytes: 640,
            detail: String::new(),
            rx_bps: None,
            tx_bps: None,
        });
    }
    store.insert(&samples).expect("samples");
    store.rollup(60, now - 3 * 3600, now + 60).expect("rollup");
    store
        .record_state(
            "portal",
            "degraded",
            "Kehilangan paket 8% mulai antara Router Diskominfo dan Router Disdukcapil",
            now - 70 * 60,
        )
        .expect("incident");
    store
        .record_state("portal", "healthy", "", now - 58 * 60)
        .expect("incident closed");
}
