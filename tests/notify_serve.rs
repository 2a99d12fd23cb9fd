//! The notification queue through the real binary: `juknis serve` sees a path die (a TCP
//! probe to a closed loopback port), queues the alert, is killed with SIGKILL while the
//! receiver refuses it, and after a restart delivers that same alert, once, without a second
//! alert for the same fault.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A topology of two hops on loopback: the router answers pings, the portal's port is closed.
fn config(dir: &Path, hook: u16) -> PathBuf {
    config_with(dir, hook, "")
}

/// [`config`] with `extra` YAML appended (a `maintenance:` section).
fn config_with(dir: &Path, hook: u16, extra: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("topology")).expect("mkdir");
    std::fs::create_dir_all(dir.join("probes")).expect("mkdir");
    std::fs::copy(
        root.join("tests/fixtures/fast/icmp.yaml"),
        dir.join("probes/icmp.yaml"),
    )
    .expect("copy");
    let closed = free_port();
    std::fs::write(
        dir.join("probes/tcp.yaml"),
        format!(
            "kind: tcp\ninterval: 1s\ntimeout: 500ms\nport: {closed}\nthresholds:\n  rtt_warn: 200ms\n  rtt_crit: 800ms\n"
        ),
    )
    .expect("write");
    let t = format!(
        "agreement:
  opd: Dinas Uji
  contacts:
    - {{party: disdukcapil, name: Tim Teknis Uji, phone: \"0800-0000-0003\"}}
zones:
  - {{id: opd, kind: opd}}
  - {{id: disdukcapil, kind: disdukcapil}}
nodes:
  - {{id: opd-router, zone: opd, kind: router, name: Router OPD, address: 127.0.0.1, probes: [icmp]}}
  - {{id: web-portal, zone: disdukcapil, kind: service, service: web_portal, name: Web Portal, address: 127.0.0.1, url: \"https://127.0.0.1:{closed}/\", probes: [tcp]}}
links:
  - {{id: wan, from: opd-router, to: web-portal}}
paths:
  - {{id: portal, service: web-portal, primary: [opd-router, web-portal]}}
notifiers:
  - {{id: hook, kind: webhook, url: \"http://127.0.0.1:{hook}/hook\"}}
{extra}"
    );
    let file = dir.join("topology/uji.yaml");
    std::fs::write(&file, t).expect("write");
    file
}

fn start(config: &Path, state: &Path) -> Serve {
    Serve(
        Command::new(env!("CARGO_BIN_EXE_juknis"))
            .args(["serve", "--config"])
            .arg(config)
            // The test never talks to the dashboard: any port the kernel picks.
            .args(["--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state)
            .env("JUKNIS_NOTIFY_EVERY_MS", "200")
            .stderr(Stdio::null())
            .spawn()
            .expect("juknis serve starts"),
    )
}

#[derive(Default)]
struct Hook {
    refuse: bool,
    attempts: Vec<String>,
    accepted: Vec<Value>,
}

fn wait(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_queued_alert_survives_sigkill_and_is_delivered_once() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let hook = Arc::new(Mutex::new(Hook {
        refuse: true,
        ..Default::default()
    }));
    let h = hook.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let h = h.clone();
            async move {
                let mut h = h.lock().expect("lock");
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                h.attempts.push(key);
                if h.refuse {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                h.accepted.push(body);
                StatusCode::OK
            }
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    rt.spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().expect("tmp");
    let config = config(dir.path(), port);
    let state = dir.path().join("state");
    let mut serve = start(&config, &state);
    // The portal dies after three failed rounds; the alert is queued and refused.
    wait("a refused alert", 45, || {
        !hook.lock().expect("lock").attempts.is_empty()
    });
    serve.0.kill().expect("SIGKILL");
    let _ = serve.0.wait();
    drop(serve);
    hook.lock().expect("lock").refuse = false;

    // After the restart the same alert goes out (its retry is due 5 s after the refusal).
    let _serve = start(&config, &state);
    wait("the alert after the restart", 45, || {
        !hook.lock().expect("lock").accepted.is_empty()
    });
    // The fault lasts: no second alert for it, whatever the restart did.
    std::thread::sleep(Duration::from_secs(3));
    let h = hook.lock().expect("lock");
    assert_eq!(h.accepted.len(), 1, "{:#?}", h.accepted);
    let body = &h.accepted[0];
    assert_eq!(body["event"], "alert");
    assert_eq!(body["incident"]["hop"], "web-portal");
    assert!(
        body["text"]
            .as_str()
            .is_some_and(|t| t.contains("cek NIK ditahan")),
        "{body}"
    );
    // Every attempt, before and after the kill, carried the one idempotency key.
    let first = &h.attempts[0];
    assert!(!first.is_empty());
    assert!(h.attempts.iter().all(|k| k == first), "{:?}", h.attempts);
}

/// Until the store in `db` holds the portal's open incident (the fault seen and recorded).
fn wait_for_the_portal_incident(db: &Path) {
    wait("the portal's incident", 45, || {
        db.exists()
            && juknis::store::Store::open_read_only(db)
                .and_then(|s| s.incidents(0, i64::MAX))
                .is_ok_and(|i| i.iter().any(|i| i.subject == "portal" && i.state == "down"))
    });
}

/// A webhook receiver on loopback that accepts everything, and what it got.
fn accepting_hook(rt: &tokio::runtime::Runtime) -> (u16, Arc<Mutex<Hook>>) {
    let hook = Arc::new(Mutex::new(Hook::default()));
    let h = hook.clone();
    let app = Router::new().route(
        "/hook",
        post(move |Json(body): Json<Value>| {
            let h = h.clone();
            async move {
                let mut h = h.lock().expect("lock");
                h.attempts.push(String::new());
                h.accepted.push(body);
                StatusCode::OK
            }
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    rt.spawn(async move { axum::serve(listener, app).await });
    (port, hook)
}

/// A `maintenance:` section whose one window on the WAN link runs now (from five minutes ago
/// for an hour, in WIB).
fn window_now() -> String {
    use chrono::{Duration as D, FixedOffset, Utc};
    let wib = FixedOffset::east_opt(7 * 3600).expect("WIB");
    let now = Utc::now().with_timezone(&wib);
    let at = |t: chrono::DateTime<FixedOffset>| t.format("%Y-%m-%d %H:%M").to_string();
    format!(
        "maintenance:\n  - links: [wan]\n    note: Penggantian perangkat\n    once: {{from: \"{}\", to: \"{}\"}}\n",
        at(now - D::minutes(5)),
        at(now + D::hours(1)),
    )
}

/// The same fault inside a declared maintenance window: the incident is recorded, but the
/// webhook never hears of it.
#[test]
fn a_fault_inside_a_maintenance_window_sends_nothing() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (port, hook) = accepting_hook(&rt);
    let window = window_now();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config_with(dir.path(), port, &window);
    let state = dir.path().join("state");
    let _serve = start(&config, &state);
    // The portal's incident opens (the fault is seen and recorded) ...
    let db = state.join("juknis.db");
    wait_for_the_portal_incident(&db);
    // ... and well past the time the alert took in the test above, nothing was sent.
    std::thread::sleep(Duration::from_secs(8));
    let h = hook.lock().expect("lock");
    assert!(h.accepted.is_empty(), "{:#?}", h.accepted);
}

/// A window taken away by a reload (SIGHUP) no longer holds the alert back: the dispatcher
/// works from the reloaded topology, not the one it started with.
#[test]
fn a_reload_reaches_the_notifications() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (port, hook) = accepting_hook(&rt);
    let window = window_now();
    let dir = tempfile::tempdir().expect("tmp");
    let config = config_with(dir.path(), port, &window);
    let state = dir.path().join("state");
    let serve = start(&config, &state);
    let db = state.join("juknis.db");
    wait_for_the_portal_incident(&db);
    std::thread::sleep(Duration::from_secs(3));
    assert!(hook.lock().expect("lock").accepted.is_empty());

    // The work is called off: the same topology without the window, then SIGHUP.
    let same = config_with(dir.path(), port, "");
    assert_eq!(same, config);
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &serve.0.id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(hup.success());
    wait("the alert after the reload", 45, || {
        !hook.lock().expect("lock").accepted.is_empty()
    });
}
