//! The gate's routes (issue 14): one portal client per route, bound as the route's `egress`
//! says; failover and failback by the state machine; a look-up sent once, on one route, with
//! the audit naming that route. Two simulators stand for the Web Portal as reached by the
//! primary (Diskominfo) and by the backup (a VPN concentrator's NAT address, its own URL and
//! certificate pin).
#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod gate_support;
mod web_support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gate_support::{APP, PURPOSE};
use juknis::gate::{self, Caller, Gate, ManualClock, Refusal, Rules};
use juknis::health::failover::Why;
use juknis::health::{PathVerdict, RouteVerdict, Source, State};
use juknis::metrics::Metrics;
use juknis::sim::{self, Handle};
use juknis::topology::{self, PathId, Topology};

/// A health source whose routes say what the test sets, the primary first.
struct Routes(Mutex<Vec<State>>);

impl Routes {
    fn new(states: &[State]) -> Arc<Routes> {
        Arc::new(Routes(Mutex::new(states.to_vec())))
    }
    fn set(&self, states: &[State]) {
        *self.0.lock().unwrap() = states.to_vec();
    }
}

impl Source for Routes {
    fn verdict(&self, path: &PathId) -> Option<PathVerdict> {
        let states = self.0.lock().unwrap().clone();
        let routes: Vec<RouteVerdict> = states
            .iter()
            .enumerate()
            .map(|(i, s)| RouteVerdict {
                route: if i == 0 {
                    "primary".into()
                } else {
                    format!("alternate-{i}")
                },
                state: *s,
                cause: None,
                at: None,
                reason: format!("rute {i}: {}", s.as_str()),
                links: Vec::new(),
            })
            .collect();
        let best = (0..states.len()).min_by_key(|i| (states[*i] != State::Healthy, *i));
        Some(PathVerdict {
            path: path.clone(),
            state: best.map_or(State::Unknown, |b| states[b]),
            best,
            routes,
        })
    }
}

/// The demo topology with the Web Portal at `primary`'s simulator and a VPN backup route
/// whose `egress` is `backup_egress` (YAML flow map), with a 30 s failback hold.
fn topology_with_backup(primary: &Handle, backup_egress: &str) -> Topology {
    topology_with_backups(primary, backup_egress, None)
}

/// [`topology_with_backup`], and the data balikan path with a backup too when
/// `balikan_egress` is given.
fn topology_with_backups(
    primary: &Handle,
    backup_egress: &str,
    balikan_egress: Option<&str>,
) -> Topology {
    let fp = hex::encode(primary.fingerprint().unwrap());
    let text = include_str!("../topology/demo.yaml")
        .replace(
            "address: 127.0.0.5, url: \"https://127.0.0.5:18443/\"",
            &format!(
                "address: 127.0.0.1, url: \"{}/\", tls_pin: \"{fp}\"",
                primary.base_url()
            ),
        )
        .replace(
            "url: \"https://127.0.0.5:18443/data_balikan/public\"",
            &format!(
                "url: \"{}/data_balikan/public\", tls_pin: \"{fp}\"",
                primary.base_url()
            ),
        )
        .replace(
            "  - {id: ditjen-db,",
            "  - {id: vpn-gw, zone: diskominfo, kind: router, name: \"Gateway VPN\", address: 127.0.0.7}\n  - {id: ditjen-db,",
        )
        .replace(
            "  - {id: dc-ditjen,",
            "  - {id: vpn-opd, from: opd-router, to: vpn-gw, provider: ISP (VPN cadangan), bandwidth: 10 Mbps}\n  - {id: vpn-portal, from: vpn-gw, to: web-portal}\n  - {id: vpn-balikan, from: vpn-gw, to: data-balikan}\n  - {id: dc-ditjen,",
        )
        .replace(
            "    primary: [opd-router, ap-dukcapil, kominfo-router, dukcapil-router, web-portal]\n  - id: balikan",
            &format!(
                "    primary: [opd-router, ap-dukcapil, kominfo-router, dukcapil-router, web-portal]\n    failback_hold: 30s\n    alternates:\n      - hops: [opd-router, vpn-gw, web-portal]\n        egress: {backup_egress}\n  - id: balikan"
            ),
        );
    let text = match balikan_egress {
        Some(e) => text.replace(
            "    primary: [opd-router, ap-dukcapil, kominfo-router, dukcapil-router, data-balikan]\n",
            &format!(
                "    primary: [opd-router, ap-dukcapil, kominfo-router, dukcapil-router, data-balikan]\n    alternates:\n      - hops: [opd-router, vpn-gw, data-balikan]\n        egress: {e}\n"
            ),
        ),
        None => text,
    };
    assert!(
        text.contains("failback_hold"),
        "demo topology changed shape"
    );
    assert!(
        balikan_egress.is_none() || text.matches("alternates:").count() == 2,
        "demo topology changed shape"
    );
    topology::parse(&text, Path::new("demo.yaml"), &|_| None).unwrap_or_else(|d| panic!("{d}"))
}

/// The backup's egress reaching `backup`'s simulator from `source` (its own URL and pin).
fn vpn_egress(backup: &Handle, source: &str) -> String {
    format!(
        "{{source: {source}, url: \"{}/\", tls_pin: \"{}\"}}",
        backup.base_url(),
        hex::encode(backup.fingerprint().unwrap())
    )
}

struct Bed {
    gate: Gate,
    health: Arc<Routes>,
    metrics: Metrics,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
}

fn open(t: Topology) -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let health = Routes::new(&[State::Healthy, State::Healthy]);
    let metrics = Metrics::new();
    let clock = Arc::new(ManualClock::new("2026-03-02T03:00:00Z".parse().unwrap()));
    let mut cfg = gate::Config::new(
        Arc::new(t),
        health.clone(),
        metrics.clone(),
        dir.path(),
        gate_support::secrets(sim::USER, sim::PASSWORD),
    );
    cfg.rules = Rules::off();
    cfg.clock = clock.clone();
    cfg.timeout = Duration::from_secs(5);
    Bed {
        gate: Gate::open(cfg).unwrap(),
        health,
        metrics,
        clock,
        dir: dir.path().to_path_buf(),
        _dir: dir,
    }
}

fn who() -> Caller {
    Caller::Application(APP.into())
}

/// `(route, forwarded)` of every audit row, in order.
fn audit_routes(dir: &Path) -> Vec<(String, bool)> {
    let conn = rusqlite::Connection::open(dir.join("audit.db")).unwrap();
    let mut st = conn
        .prepare("SELECT route, forwarded FROM audit ORDER BY seq")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn active_gauge(m: &Metrics, route: &str) -> i64 {
    m.route_active.with_label_values(&["portal", route]).get()
}

#[tokio::test]
async fn look_ups_fail_over_to_the_backup_and_come_back_after_the_hold() {
    let primary = gate_support::start_sim(None).await;
    let backup = gate_support::start_sim(None).await;
    let b = open(topology_with_backup(
        &primary,
        &vpn_egress(&backup, "127.0.0.1"),
    ));
    let nik = primary.samples()["found"].clone();
    let (h, u) = (State::Healthy, State::Down);

    // Both healthy: the primary carries the look-up.
    let a = b.gate.lookup(&who(), &nik, PURPOSE).await.unwrap();
    assert_eq!(a.route, "primary");
    assert_eq!(
        (
            primary.stats().lookups_answered,
            backup.stats().lookups_answered
        ),
        (1, 0)
    );
    assert_eq!(
        (
            active_gauge(&b.metrics, "primary"),
            active_gauge(&b.metrics, "alternate-1")
        ),
        (1, 0)
    );

    // The primary goes down: the backup's own client (its URL, its pin) carries it.
    b.health.set(&[u, h]);
    let a = b.gate.lookup(&who(), &nik, PURPOSE).await.unwrap();
    assert_eq!(a.route, "alternate-1");
    assert!(a.status.is_found(), "{:?}", a.status);
    assert_eq!(
        (
            primary.stats().lookups_answered,
            backup.stats().lookups_answered
        ),
        (1, 1)
    );
    let active = b.gate.active_route();
    assert_eq!(
        (
            active.route.as_str(),
            active.why,
            active.previous.as_deref()
        ),
        ("alternate-1", Some(Why::Failover), Some("primary"))
    );
    assert_eq!(
        (
            active_gauge(&b.metrics, "primary"),
            active_gauge(&b.metrics, "alternate-1")
        ),
        (0, 1)
    );

    // The primary heals: traffic stays on the backup through the 30 s hold...
    b.health.set(&[h, h]);
    b.gate.refresh_route();
    b.clock.set(
        "2026-03-02T03:00:29Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
    );
    let a = b.gate.lookup(&who(), &nik, PURPOSE).await.unwrap();
    assert_eq!(a.route, "alternate-1", "failback before the hold");
    // ...and comes back once the primary has been healthy for all of it.
    b.clock.set(
        "2026-03-02T03:00:30Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
    );
    let a = b.gate.lookup(&who(), &nik, PURPOSE).await.unwrap();
    assert_eq!(a.route, "primary");
    let active = b.gate.active_route();
    assert_eq!(
        (active.route.as_str(), active.why),
        ("primary", Some(Why::Failback))
    );
    assert_eq!(
        active.since,
        "2026-03-02T03:00:30Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!(
        (
            primary.stats().lookups_answered,
            backup.stats().lookups_answered
        ),
        (2, 2)
    );

    // Every audit row names the route the request crossed; one quota unit per look-up.
    assert_eq!(
        audit_routes(&b.dir),
        [
            ("primary".to_owned(), true),
            ("alternate-1".to_owned(), true),
            ("alternate-1".to_owned(), true),
            ("primary".to_owned(), true),
        ]
    );
    assert_eq!(b.gate.quota_used_today().unwrap(), 4);
    let changes = |why: &str| {
        b.metrics
            .route_changes
            .with_label_values(&["portal", why])
            .get()
    };
    assert_eq!((changes("failover"), changes("failback")), (1, 1));
}

#[tokio::test]
async fn both_routes_down_refuses_and_spends_nothing() {
    let primary = gate_support::start_sim(None).await;
    let backup = gate_support::start_sim(None).await;
    let b = open(topology_with_backup(
        &primary,
        &vpn_egress(&backup, "127.0.0.1"),
    ));
    b.health.set(&[State::Down, State::Down]);
    let r = b
        .gate
        .lookup(&who(), &primary.samples()["found"], PURPOSE)
        .await
        .unwrap_err();
    assert_eq!(r.kind, Refusal::LinkDown);
    assert_eq!(b.gate.quota_used_today().unwrap(), 0);
    assert_eq!(
        primary.stats().lookups_answered + backup.stats().lookups_answered,
        0
    );
}

#[tokio::test]
async fn a_look_up_in_flight_when_the_route_changes_is_not_resent() {
    let primary = gate_support::start_sim(None).await;
    let backup = gate_support::start_sim(None).await;
    primary.set_faults(sim::Faults {
        latency_ms: 1500,
        ..sim::Faults::default()
    });
    let b = open(topology_with_backup(
        &primary,
        &vpn_egress(&backup, "127.0.0.1"),
    ));
    let nik = primary.samples()["found"].clone();

    let in_flight = {
        let (gate, nik) = (b.gate.clone(), nik.clone());
        tokio::spawn(async move { gate.lookup(&who(), &nik, PURPOSE).await })
    };
    // While it waits for the slow primary, the primary is judged down and traffic moves.
    tokio::time::sleep(Duration::from_millis(400)).await;
    b.health.set(&[State::Down, State::Healthy]);
    b.gate.refresh_route();
    assert_eq!(b.gate.active_route().route, "alternate-1");
    let a = in_flight.await.unwrap().unwrap();
    assert_eq!(a.route, "primary", "answered on the route it was sent on");
    assert!(a.status.is_found());
    assert_eq!(
        (
            primary.stats().lookups_answered,
            backup.stats().lookups_answered
        ),
        (1, 0),
        "sent once, never again on the backup"
    );
    assert_eq!(b.gate.quota_used_today().unwrap(), 1);

    // The next look-up takes the backup.
    let a = b.gate.lookup(&who(), &nik, PURPOSE).await.unwrap();
    assert_eq!(a.route, "alternate-1");
    assert_eq!(
        (
            primary.stats().lookups_answered,
            backup.stats().lookups_answered
        ),
        (1, 1)
    );
    assert_eq!(b.gate.quota_used_today().unwrap(), 2);
    assert_eq!(
        audit_routes(&b.dir),
        [
            ("primary".to_owned(), true),
            ("alternate-1".to_owned(), true)
        ]
    );
}

/// The backup's client is bound to its `egress.source`: from an address this machine has, it
/// reaches the service; from one it lacks (198.51.100.77, documentation range, assigned to
/// nothing here), the bind fails before any packet leaves, so nothing is sent and the quota
/// unit comes back. A client that ignored `egress.source` would connect in both cases.
#[rstest::rstest]
#[case::own_address("127.0.0.1", true)]
#[case::another_loopback_address("127.0.0.2", true)]
#[case::an_address_the_machine_lacks("198.51.100.77", false)]
#[tokio::test]
async fn the_backup_leaves_from_its_source_address(#[case] source: &str, #[case] reaches: bool) {
    let primary = gate_support::start_sim(None).await;
    let backup = gate_support::start_sim(None).await;
    let b = open(topology_with_backup(&primary, &vpn_egress(&backup, source)));
    b.health.set(&[State::Down, State::Healthy]);
    let r = b
        .gate
        .lookup(&who(), &primary.samples()["found"], PURPOSE)
        .await;
    if reaches {
        assert_eq!(r.unwrap().route, "alternate-1");
        assert_eq!(backup.stats().lookups_answered, 1);
        assert_eq!(b.gate.quota_used_today().unwrap(), 1);
    } else {
        let e = r.unwrap_err();
        assert_eq!(e.kind, Refusal::PortalError);
        assert!(e.message.contains("kuota tidak terpakai"), "{}", e.message);
        assert_eq!(backup.stats().lookups_answered, 0);
        assert_eq!(b.gate.quota_used_today().unwrap(), 0);
        assert_eq!(audit_routes(&b.dir), [("alternate-1".to_owned(), false)]);
    }
    assert_eq!(primary.stats().lookups_answered, 0);
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// The backup's client is bound to its `egress.interface` (SO_BINDTODEVICE): bound to `lo`
/// it reaches the loopback service; bound to an interface that does not exist, nothing leaves.
#[rstest::rstest]
#[case::loopback("lo", true)]
#[case::missing("jk-none0", false)]
#[tokio::test]
async fn the_backup_leaves_by_its_interface(#[case] interface: &str, #[case] reaches: bool) {
    if !is_root() {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "SO_BINDTODEVICE needs root; CI=true, so this is a failure, not a skip"
        );
        eprintln!("skipped: SO_BINDTODEVICE needs root");
        return;
    }
    let primary = gate_support::start_sim(None).await;
    let backup = gate_support::start_sim(None).await;
    let egress = format!(
        "{{interface: {interface}, url: \"{}/\", tls_pin: \"{}\"}}",
        backup.base_url(),
        hex::encode(backup.fingerprint().unwrap())
    );
    let b = open(topology_with_backup(&primary, &egress));
    b.health.set(&[State::Down, State::Healthy]);
    let r = b
        .gate
        .lookup(&who(), &primary.samples()["found"], PURPOSE)
        .await;
    assert_eq!(r.is_ok(), reaches, "{r:?}");
    assert_eq!(backup.stats().lookups_answered, u64::from(reaches));
    assert_eq!(b.gate.quota_used_today().unwrap(), u64::from(reaches));
}

#[test]
fn failback_hold_is_validated_where_it_is_written() {
    let text = include_str!("../topology/demo.yaml").replace(
        "    primary: [opd-router, ap-dukcapil, kominfo-router, dukcapil-router, web-portal]\n  - id: balikan",
        "    primary: [opd-router, ap-dukcapil, kominfo-router, dukcapil-router, web-portal]\n    failback_hold: 2s\n  - id: balikan",
    );
    let e = topology::parse(&text, Path::new("demo.yaml"), &|_| None)
        .unwrap_err()
        .to_string();
    let line = text
        .lines()
        .position(|l| l.contains("failback_hold"))
        .unwrap()
        + 1;
    assert!(
        e.contains(&format!("demo.yaml:{line}:")),
        "located at line {line}: {e}"
    );
    assert!(e.contains("outside 10s..24h"), "{e}");
    let bad = text.replace("failback_hold: 2s", "failback_hold: soon");
    let e = topology::parse(&bad, Path::new("demo.yaml"), &|_| None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`soon` is not a duration"), "{e}");
    let ok = text.replace("failback_hold: 2s", "failback_hold: 10m");
    let t = topology::parse(&ok, Path::new("demo.yaml"), &|_| None).unwrap();
    assert_eq!(
        t.path(&PathId::new("portal".to_owned()))
            .unwrap()
            .failback_hold,
        Duration::from_secs(600)
    );
    let default = topology::parse(
        include_str!("../topology/demo.yaml"),
        Path::new("demo.yaml"),
        &|_| None,
    )
    .unwrap();
    assert_eq!(
        default
            .path(&PathId::new("portal".to_owned()))
            .unwrap()
            .failback_hold,
        topology::DEFAULT_FAILBACK_HOLD
    );
}

/// Ringkasan says which route carries the Web Portal's traffic and since when, in WIB, in
/// Bahasa Indonesia and in English.
#[tokio::test]
async fn ringkasan_names_the_active_route_and_since_when() {
    let primary = gate_support::start_sim(None).await;
    let backup = gate_support::start_sim(None).await;
    let b = open(topology_with_backup(
        &primary,
        &vpn_egress(&backup, "127.0.0.1"),
    ));
    let dir = tempfile::tempdir().unwrap();
    web_support::users(dir.path());
    let mut cfg = web_support::config(dir.path());
    cfg.gate = Some(b.gate.clone());
    let app = juknis::web::dashboard::router(web_support::shared(), cfg).unwrap();
    let (cookie, _) = web_support::login(&app, "tech").await;

    let (_, body) = web_support::send(&app, web_support::get("/", Some(&cookie))).await;
    assert!(
        body.contains("Jalur aktif: <strong>primary</strong> sejak 10.00 WIB"),
        "{body}"
    );
    // 07:05 UTC is 14.05 WIB: the primary goes down, the backup takes over.
    b.clock.set(
        "2026-03-02T07:05:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
    );
    b.health.set(&[State::Down, State::Healthy]);
    b.gate.refresh_route();
    let (_, body) = web_support::send(&app, web_support::get("/", Some(&cookie))).await;
    assert!(
        body.contains("Jalur aktif: <strong>alternate-1</strong> sejak 14.05 WIB"),
        "{body}"
    );
    let (_, body) = web_support::send(&app, web_support::get("/?lang=en", Some(&cookie))).await;
    assert!(
        body.contains("Active route: <strong>alternate-1</strong> since 14.05 WIB"),
        "{body}"
    );
}

/// The data balikan sender posts on the active route of its path: the primary while it is
/// usable, the backup's own client (its URL, its pin, its source) once the primary is down.
#[rstest::rstest]
#[case::primary_healthy(State::Healthy, (3, 0), "primary")]
#[case::primary_down(State::Down, (0, 3), "alternate-1")]
#[tokio::test]
async fn data_balikan_leaves_by_the_active_route(
    #[case] primary_state: State,
    #[case] held: (usize, usize),
    #[case] active: &str,
) {
    use juknis::outbox::{self, Outbox};
    let primary = gate_support::start_sim(None).await;
    let backup = gate_support::start_sim(None).await;
    let balikan_egress = format!(
        "{{source: 127.0.0.1, url: \"{}/data_balikan/public\", tls_pin: \"{}\"}}",
        backup.base_url(),
        hex::encode(backup.fingerprint().unwrap())
    );
    let t = topology_with_backups(
        &primary,
        &vpn_egress(&backup, "127.0.0.1"),
        Some(&balikan_egress),
    );
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(dir.path()).unwrap();
    let csv = include_bytes!("fixtures/balikan/baik.csv");
    let report = ob.import_csv("uji", csv).unwrap();
    assert_eq!(report.accepted, 3, "{report}");
    let token = juknis::secret::Secret::from(sim::DEFAULT_BALIKAN_TOKEN);
    let clients = outbox::sender::route_clients(&t, &token, "3204DINSOS")
        .unwrap()
        .unwrap();
    assert_eq!(clients.0.len(), 2);
    let mut cfg = outbox::sender::Config::from_topology(&t, "3204DINSOS").unwrap();
    assert_eq!(cfg.routes, ["primary", "alternate-1"]);
    cfg.stop_when_empty = true;
    let health = Routes::new(&[primary_state, State::Healthy]);
    let metrics = Metrics::new();
    let sender = outbox::Sender::new(ob.clone(), clients, health, cfg, metrics.clone());
    tokio::time::timeout(
        Duration::from_secs(30),
        sender.run(tokio_util::sync::CancellationToken::new()),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        (
            primary.balikan_records().len(),
            backup.balikan_records().len()
        ),
        held
    );
    assert_eq!(ob.counts().unwrap().delivered, 3);
    assert_eq!(
        metrics
            .route_active
            .with_label_values(&["balikan", active])
            .get(),
        1
    );
}

/// The probes of a backup route's hops leave as its traffic does: the service node's TLS
/// probe on the backup is bound to the route's source, aimed at the route's own URL and pin,
/// and the backup route is judged by it. From an address this machine lacks, it cannot leave:
/// the backup is down while the primary (judged by its own, unbound probes) stays healthy.
#[rstest::rstest]
#[case::reachable("127.0.0.2", State::Healthy)]
#[case::bound_to_an_address_the_machine_lacks("198.51.100.77", State::Down)]
#[tokio::test]
async fn a_backup_route_is_judged_by_probes_that_leave_as_it_does(
    #[case] source: &str,
    #[case] backup_state: State,
) {
    use juknis::health::{Hysteresis, TargetKey, Tracker};
    use juknis::probe::scheduler;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let primary = gate_support::start_sim(None).await;
    let backup = gate_support::start_sim(None).await;
    let t = topology_with_backup(&primary, &vpn_egress(&backup, source));
    let profiles =
        juknis::probe::profile::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("probes"))
            .unwrap();
    let (mut plan, errors) = scheduler::plan(&t, &profiles, None, &Default::default());
    assert!(errors.is_empty(), "{errors:?}");
    // The other probes (ICMP to the hops, which would need raw sockets) are taken as healthy:
    // the TLS probes of the service decide here.
    let mut tracker = Tracker::new(Hysteresis::default());
    for task in plan
        .tasks
        .iter()
        .filter(|t| !t.key.profile.starts_with("tls"))
    {
        tracker.observe(&task.key, juknis::health::Level::healthy(), 1_800_000_000);
    }
    plan.tasks
        .retain(|task| task.key.profile.starts_with("tls"));
    let via = t.paths[0].routes[1].egress.via().unwrap();
    let bound = TargetKey::new(
        juknis::topology::NodeId::new("web-portal"),
        format!("tls@{via}"),
    );
    let task = plan
        .tasks
        .iter()
        .find(|task| task.key == bound)
        .expect("a bound TLS probe of the service on the backup");
    assert_eq!(
        task.probe.target().bind.source,
        Some(source.parse().unwrap())
    );
    assert_eq!(task.probe.target().port, Some(backup.addr().port()));

    for (key, round) in scheduler::run_once(&plan).await {
        tracker.observe(&key, round.unwrap().level, 1_800_000_000);
    }
    let v = tracker.path(&t, &PathId::new("portal".to_owned())).unwrap();
    assert_eq!(v.routes[0].state, State::Healthy, "{:?}", v.routes[0]);
    assert_eq!(v.routes[1].state, backup_state, "{:?}", v.routes[1]);
}

/// A reloaded topology (SIGHUP) reaches the gate: new URLs and pins are used at the next
/// look-up, the active route survives a reload that keeps the routes' names, the quota goes
/// on, and a topology the gate cannot use is refused with the running routes kept.
#[tokio::test]
async fn the_gate_takes_a_reloaded_topology() {
    let primary = gate_support::start_sim(None).await;
    let backup = gate_support::start_sim(None).await;
    let b = open(topology_with_backup(
        &primary,
        &vpn_egress(&backup, "127.0.0.1"),
    ));
    let nik = primary.samples()["found"].clone();
    b.gate.lookup(&who(), &nik, PURPOSE).await.unwrap();
    assert_eq!(primary.stats().lookups_answered, 1);

    // The Web Portal moved: the same routes, the primary now reaching `backup`'s address.
    let moved = topology_with_backup(&backup, &vpn_egress(&primary, "127.0.0.1"));
    b.gate.reload(&moved).unwrap();
    let a = b.gate.lookup(&who(), &nik, PURPOSE).await.unwrap();
    assert_eq!(a.route, "primary");
    assert_eq!(
        (
            primary.stats().lookups_answered,
            backup.stats().lookups_answered
        ),
        (1, 1)
    );

    // Failed over, then reloaded with the same route names: still on the backup.
    b.health.set(&[State::Down, State::Healthy]);
    b.gate.refresh_route();
    assert_eq!(b.gate.active_route().route, "alternate-1");
    b.gate.reload(&moved).unwrap();
    assert_eq!(b.gate.active_route().route, "alternate-1");
    let a = b.gate.lookup(&who(), &nik, PURPOSE).await.unwrap();
    assert_eq!(a.route, "alternate-1");
    assert_eq!(
        primary.stats().lookups_answered,
        2,
        "the backup now reaches `primary`"
    );

    // A topology without a Web Portal path is refused; the running routes stay.
    let text = include_str!("../topology/demo.yaml");
    let cut = text.find("  - id: portal").unwrap();
    let without = format!(
        "{}  - id: balikan{}",
        &text[..cut],
        text[cut..].split("  - id: balikan").nth(1).unwrap()
    );
    let t = topology::parse(&without, Path::new("demo.yaml"), &|_| None).unwrap();
    assert!(b.gate.reload(&t).is_err());
    let a = b.gate.lookup(&who(), &nik, PURPOSE).await.unwrap();
    assert_eq!(a.route, "alternate-1");
    assert_eq!(b.gate.quota_used_today().unwrap(), 4);
}
