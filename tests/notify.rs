//! Notifiers with real parts on loopback: a real SMTP server (aiosmtpd), stand-ins for the
//! Telegram Bot API, a WhatsApp HTTP gateway and an Alertmanager webhook receiver that check
//! the request shapes those services document. A fault fed through the dispatcher gives
//! exactly one alert and one recovery per channel; a failing channel is retried and shows.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use juknis::gate::secrets::NotifierLogin;
use juknis::health::{Cause, PathVerdict, RouteVerdict, State};
use juknis::notify::{Dispatcher, Queue, Sender};
use juknis::topology::{NodeId, PathId, Topology};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

const BOT_TOKEN: &str = "123456:UJI-token-bot";
const WA_TOKEN: &str = "uji-wa-gateway-token";

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Value>>>);

impl Seen {
    fn push(&self, v: Value) {
        self.0.lock().expect("lock").push(v);
    }
    fn all(&self) -> Vec<Value> {
        self.0.lock().expect("lock").clone()
    }
}

/// `POST /bot<token>/sendMessage` as core.telegram.org/bots/api documents it: JSON with
/// `chat_id` and `text`; answers `{"ok": true, "result": Message}` or 401 for a wrong token.
fn telegram(seen: Seen) -> Router {
    Router::new().route(
        "/{bot}/sendMessage",
        post(
            move |axum::extract::Path(bot): axum::extract::Path<String>,
                  headers: HeaderMap,
                  Json(body): Json<Value>| {
                let seen = seen.clone();
                async move {
                    if bot != format!("bot{BOT_TOKEN}") {
                        return (
                            StatusCode::UNAUTHORIZED,
                            Json(serde_json::json!({"ok": false, "error_code": 401, "description": "Unauthorized"})),
                        );
                    }
                    let ct = headers.get("content-type").and_then(|v| v.to_str().ok());
                    let ok = ct == Some("application/json")
                        && body["chat_id"].is_string()
                        && body["text"].as_str().is_some_and(|t| !t.is_empty() && t.len() <= 4096);
                    if !ok {
                        return (
                            StatusCode::BAD_REQUEST,
                            Json(serde_json::json!({"ok": false, "error_code": 400, "description": "Bad Request: message text is empty"})),
                        );
                    }
                    seen.push(body);
                    (
                        StatusCode::OK,
                        Json(serde_json::json!({"ok": true, "result": {"message_id": 1}})),
                    )
                }
            },
        ),
    )
}

/// A WhatsApp HTTP API gateway's `POST /api/sendText`: bearer token, JSON with `session`,
/// `chatId` (`...@g.us` or `...@c.us`) and `text`.
fn whatsapp(seen: Seen) -> Router {
    Router::new().route(
        "/api/sendText",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let seen = seen.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                if auth != Some(&format!("Bearer {WA_TOKEN}")) {
                    return StatusCode::UNAUTHORIZED;
                }
                let chat = body["chatId"].as_str().unwrap_or("");
                let ok = body["session"] == "default"
                    && (chat.ends_with("@g.us") || chat.ends_with("@c.us"))
                    && body["text"].as_str().is_some_and(|t| !t.is_empty())
                    && headers.contains_key("idempotency-key");
                if !ok {
                    return StatusCode::UNPROCESSABLE_ENTITY;
                }
                seen.push(body);
                StatusCode::CREATED
            }
        }),
    )
}

/// An Alertmanager webhook receiver: the payload of version 4
/// (prometheus.io/docs/alerting/latest/configuration/#webhook_config). While `fail` is
/// above zero it answers 503 and counts down.
fn receiver(seen: Seen, fail: Arc<Mutex<u32>>) -> Router {
    Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let (seen, fail) = (seen.clone(), fail.clone());
            async move {
                {
                    let mut f = fail.lock().expect("lock");
                    if *f > 0 {
                        *f -= 1;
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                }
                let alerts = body["alerts"].as_array().cloned().unwrap_or_default();
                let ok = body["version"] == "4"
                    && body["groupKey"].is_string()
                    && matches!(body["status"].as_str(), Some("firing" | "resolved"))
                    && body["receiver"].is_string()
                    && body["groupLabels"].is_object()
                    && body["commonLabels"]["alertname"].is_string()
                    && !alerts.is_empty()
                    && alerts.iter().all(|a| {
                        a["labels"]["alertname"].is_string()
                            && a["status"] == body["status"]
                            && chrono::DateTime::parse_from_rfc3339(
                                a["startsAt"].as_str().unwrap_or(""),
                            )
                            .is_ok()
                            && chrono::DateTime::parse_from_rfc3339(
                                a["endsAt"].as_str().unwrap_or(""),
                            )
                            .is_ok()
                            && a["fingerprint"].is_string()
                    })
                    && headers.contains_key("idempotency-key");
                if !ok {
                    return StatusCode::BAD_REQUEST;
                }
                seen.push(body);
                StatusCode::OK
            }
        }),
    )
}

async fn serve(app: Router) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(l, app).await });
    port
}

/// aiosmtpd writing each message into a maildir; killed on drop.
struct Smtp {
    child: Child,
    port: u16,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp(maildir: &Path) -> Smtp {
    smtp_with(maildir, &[])
}

/// aiosmtpd with extra options (`--tlscert`/`--tlskey` for STARTTLS, required by default;
/// `--smtpscert`/`--smtpskey` for TLS from the first byte).
fn smtp_with(maildir: &Path, extra: &[&std::ffi::OsStr]) -> Smtp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new("/usr/bin/python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(extra)
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3-aiosmtpd is installed (scripts/install-deps.sh)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "aiosmtpd did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Smtp { child, port }
}

fn mails(maildir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    out.sort();
    out
}

fn topology(tg: u16, wa: u16, hook: u16, smtp: u16) -> Topology {
    topology_with(|head| head.to_owned(), tg, wa, hook, smtp)
}

/// The fixture's topology with its head (everything before `notifiers:`) changed by `edit`,
/// and the four notifiers on these loopback ports.
fn topology_with(
    edit: impl Fn(&str) -> String,
    tg: u16,
    wa: u16,
    hook: u16,
    smtp: u16,
) -> Topology {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notify/topology.yaml"),
    )
    .expect("fixture");
    let (head, _) = text.split_once("notifiers:").expect("notifiers section");
    let head = edit(head);
    let text = format!(
        "{head}notifiers:
  - {{id: grup-telegram, kind: telegram, api_url: \"http://127.0.0.1:{tg}\", to: [\"-1001234567890\"], credentials: bot-opd}}
  - id: grup-wa
    kind: whatsapp
    url: http://127.0.0.1:{wa}/api/sendText
    to: [\"120363000000000000@g.us\"]
    template: '{{\"session\": \"default\", \"chatId\": {{{{to}}}}, \"text\": {{{{text}}}}}}'
    credentials: wa-gateway
  - {{id: email-dinas, kind: email, smtp: 127.0.0.1, port: {smtp}, security: none, from: juknis@opd.example.go.id, to: [teknisi@opd.example.go.id, kepala@opd.example.go.id]}}
  - {{id: alertmanager, kind: webhook, url: \"http://127.0.0.1:{hook}/hook\", format: alertmanager}}
"
    );
    let profiles = |_: &Path| Some(["icmp".to_string()].into_iter().collect());
    juknis::topology::parse(&text, Path::new("topology.yaml"), &profiles)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn logins() -> BTreeMap<String, NotifierLogin> {
    let mut m = BTreeMap::new();
    m.insert(
        "bot-opd".to_string(),
        NotifierLogin {
            token: Some(BOT_TOKEN.into()),
            ..Default::default()
        },
    );
    m.insert(
        "wa-gateway".to_string(),
        NotifierLogin {
            token: Some(WA_TOKEN.into()),
            ..Default::default()
        },
    );
    m
}

fn verdict(path: &str, state: State) -> PathVerdict {
    let bad = state != State::Healthy;
    PathVerdict {
        path: PathId::new(path),
        state,
        best: Some(0),
        routes: vec![RouteVerdict {
            route: "primary".into(),
            state,
            cause: bad.then_some(Cause::Unreachable),
            at: bad.then(|| {
                (
                    Some(NodeId::new("opd-router")),
                    NodeId::new("kominfo-router"),
                )
            }),
            reason: if bad {
                "Tidak ada jawaban mulai di Router Diskominfo".into()
            } else {
                "Semua hop sehat".into()
            },
            links: Vec::new(),
        }],
    }
}

fn both(state: State) -> Vec<PathVerdict> {
    vec![verdict("portal", state), verdict("balikan", state)]
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_fault_gives_one_alert_and_one_recovery_on_every_channel() {
    let dir = tempfile::tempdir().expect("tmp");
    let maildir = dir.path().join("mail");
    let mail = smtp(&maildir);
    let (tg_seen, wa_seen, hook_seen) = (Seen::default(), Seen::default(), Seen::default());
    let tg = serve(telegram(tg_seen.clone())).await;
    let wa = serve(whatsapp(wa_seen.clone())).await;
    let hook = serve(receiver(hook_seen.clone(), Arc::new(Mutex::new(0)))).await;
    let t = Arc::new(topology(tg, wa, hook, mail.port));

    let queue = Queue::open(&dir.path().join("state")).expect("queue");
    let mut d = Dispatcher::new(Arc::clone(&t), queue.clone()).expect("dispatcher");
    let sender = Sender::new(&t.agreement.opd, &t.notifiers, &logins()).expect("sender");
    let cancel = CancellationToken::new();
    let metrics = juknis::metrics::Metrics::new();
    let task = tokio::spawn(juknis::notify::run_sender(
        sender,
        queue.clone(),
        metrics.clone(),
        cancel.clone(),
    ));

    // Both paths go down at the Diskominfo router and flap for a while, then heal for good.
    let t0 = 1_796_355_720_000_i64;
    let min = 60_000;
    for m in 0..10 {
        let s = if m % 3 == 2 {
            State::Healthy
        } else {
            State::Down
        };
        d.observe(&both(s), t0 + m * min).expect("observe");
    }
    for m in 10..15 {
        d.observe(&both(State::Healthy), t0 + m * min)
            .expect("observe");
    }

    wait_for("every delivery", || {
        tg_seen.all().len() >= 2
            && wa_seen.all().len() >= 2
            && hook_seen.all().len() >= 2
            && mails(&maildir).len() >= 2
    })
    .await;
    // Anything more would have arrived by now.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cancel.cancel();
    let _ = task.await;

    let texts = |seen: &Seen, field: &str| -> Vec<String> {
        seen.all()
            .iter()
            .map(|v| v[field].as_str().unwrap_or("").to_string())
            .collect()
    };
    for (channel, t) in [
        ("telegram", texts(&tg_seen, "text")),
        ("whatsapp", texts(&wa_seen, "text")),
    ] {
        assert_eq!(t.len(), 2, "{channel}: {t:#?}");
        assert!(t[0].starts_with("[GANGGUAN]"), "{channel}: {}", t[0]);
        assert!(
            t[0].contains("Router Diskominfo (198.51.100.2)"),
            "{}",
            t[0]
        );
        assert!(
            t[0].contains("cek NIK ditahan, kuota tidak terpakai"),
            "{}",
            t[0]
        );
        assert!(t[1].starts_with("[PULIH]"), "{channel}: {}", t[1]);
        assert!(t[1].contains("(10 menit)"), "{channel}: {}", t[1]);
    }
    assert_eq!(tg_seen.all()[0]["chat_id"], "-1001234567890");

    let hooks = hook_seen.all();
    assert_eq!(hooks.len(), 2, "{hooks:#?}");
    assert_eq!(hooks[0]["status"], "firing");
    assert_eq!(hooks[1]["status"], "resolved");
    assert_eq!(hooks[0]["groupKey"], hooks[1]["groupKey"]);
    assert_eq!(hooks[0]["alerts"].as_array().map(Vec::len), Some(2));
    assert_eq!(hooks[0]["alerts"][0]["labels"]["hop"], "kominfo-router");
    // The whole payload as an Alertmanager receiver gets it.
    let pretty = |v: &Value| serde_json::to_string_pretty(v).expect("json");
    insta::assert_snapshot!("alertmanager_firing", pretty(&hooks[0]));
    insta::assert_snapshot!("alertmanager_resolved", pretty(&hooks[1]));

    let m = mails(&maildir);
    assert_eq!(m.len(), 2, "{m:#?}");
    let alert = m
        .iter()
        .find(|x| x.contains("GANGGUAN"))
        .expect("alert mail");
    assert!(
        alert.contains("To: teknisi@opd.example.go.id, kepala@opd.example.go.id"),
        "{alert}"
    );
    assert!(alert.contains("Message-ID: <"), "{alert}");
    assert!(m.iter().any(|x| x.contains("PULIH")), "{m:#?}");

    // Everything queued was delivered, once.
    let all = queue.all().expect("list");
    assert_eq!(all.len(), 8, "{all:#?}");
    assert!(all.iter().all(|(_, _, _, sent)| *sent), "{all:#?}");
    let text = metrics.encode();
    assert!(
        text.contains(
            "juknis_notify_deliveries_total{notifier=\"grup-telegram\",result=\"sent\"} 2"
        ),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_receiver_is_retried_shown_as_failing_and_gets_the_alert_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let seen = Seen::default();
    // The receiver refuses the first three attempts.
    let fail = Arc::new(Mutex::new(3));
    let hook = serve(receiver(seen.clone(), fail.clone())).await;
    let text = format!(
        "{}notifiers:\n  - {{id: am, kind: webhook, url: \"http://127.0.0.1:{hook}/hook\", format: alertmanager}}\n",
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notify/topology.yaml")
        )
        .expect("fixture")
        .split_once("notifiers:")
        .expect("section")
        .0
    );
    let profiles = |_: &Path| Some(["icmp".to_string()].into_iter().collect());
    let t = Arc::new(
        juknis::topology::parse(&text, Path::new("t.yaml"), &profiles)
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let queue = Queue::open(dir.path()).expect("queue");
    let mut d = Dispatcher::new(Arc::clone(&t), queue.clone()).expect("dispatcher");
    d.observe(&both(State::Down), 1_796_355_720_000)
        .expect("observe");

    // Three failed attempts, 5 s and 10 s apart, would take too long here: make them due now.
    let sender = Sender::new(&t.agreement.opd, &t.notifiers, &BTreeMap::new()).expect("sender");
    let metrics = juknis::metrics::Metrics::new();
    let cancel = CancellationToken::new();
    let task = tokio::spawn(juknis::notify::run_sender(
        sender,
        queue.clone(),
        metrics.clone(),
        cancel.clone(),
    ));
    let db = dir.path().join(juknis::notify::DB_FILE);
    let hurry = || {
        let c = rusqlite::Connection::open(&db).expect("open");
        c.busy_timeout(Duration::from_secs(5)).expect("busy");
        c.execute("UPDATE delivery SET next_ms = 0 WHERE sent_ms IS NULL", [])
            .expect("hurry");
    };
    wait_for("three refusals", || {
        hurry();
        *fail.lock().expect("lock") == 0
    })
    .await;
    wait_for("the failing flag", || {
        queue
            .status()
            .expect("status")
            .first()
            .is_some_and(|s| s.failed_attempts >= 3)
    })
    .await;
    let st = queue.status().expect("status");
    assert!(
        st[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("503")),
        "{st:?}"
    );
    wait_for("the metric", || {
        metrics
            .encode()
            .contains("juknis_notify_failing{notifier=\"am\"} 1")
    })
    .await;
    // The receiver is back: the alert arrives, once.
    wait_for("the delivery", || {
        hurry();
        !seen.all().is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    cancel.cancel();
    let _ = task.await;
    assert_eq!(seen.all().len(), 1);
    let text = metrics.encode();
    assert!(
        text.contains("juknis_notify_deliveries_total{notifier=\"am\",result=\"failed\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("juknis_notify_failing{notifier=\"am\"} 0"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_goes_over_starttls_and_tls_trusting_only_the_configured_ca() {
    let dir = tempfile::tempdir().expect("tmp");
    let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("cert");
    let (cert, key) = (dir.path().join("smtp.pem"), dir.path().join("smtp.key"));
    std::fs::write(&cert, ck.cert.pem()).expect("write");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("write");
    let os = |p: &Path| p.as_os_str().to_owned();
    let (c, k) = (os(&cert), os(&key));
    let (md_start, md_tls) = (dir.path().join("starttls"), dir.path().join("tls"));
    // STARTTLS is required by this server: a client that stays in plain text is refused.
    let starttls = smtp_with(
        &md_start,
        &["--tlscert".as_ref(), &c, "--tlskey".as_ref(), &k],
    );
    let wrapped = smtp_with(
        &md_tls,
        &["--smtpscert".as_ref(), &c, "--smtpskey".as_ref(), &k],
    );
    let f = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notify/topology.yaml"),
    )
    .expect("fixture");
    let (head, _) = f.split_once("notifiers:").expect("section");
    let email = |id: &str, port: u16, security: &str, ca: bool| {
        let ca = if ca {
            format!(", tls_ca: \"{}\"", cert.display())
        } else {
            String::new()
        };
        format!(
            "  - {{id: {id}, kind: email, smtp: 127.0.0.1, port: {port}, security: {security}{ca}, from: juknis@opd.example.go.id, to: [teknisi@opd.example.go.id]}}\n"
        )
    };
    let text = format!(
        "{head}notifiers:\n{}{}{}",
        email("pinned-starttls", starttls.port, "starttls", true),
        email("pinned-tls", wrapped.port, "tls", true),
        email("system-roots", starttls.port, "starttls", false),
    );
    let profiles = |_: &Path| Some(["icmp".to_string()].into_iter().collect());
    let t = Arc::new(
        juknis::topology::parse(&text, Path::new("t.yaml"), &profiles)
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let queue = Queue::open(&dir.path().join("state")).expect("queue");
    let mut d = Dispatcher::new(Arc::clone(&t), queue.clone()).expect("dispatcher");
    d.observe(&both(State::Down), 1_796_355_720_000)
        .expect("observe");
    let sender = Sender::new(&t.agreement.opd, &t.notifiers, &BTreeMap::new()).expect("sender");
    let cancel = CancellationToken::new();
    let task = tokio::spawn(juknis::notify::run_sender(
        sender,
        queue.clone(),
        juknis::metrics::Metrics::new(),
        cancel.clone(),
    ));
    wait_for("both e-mails and the refusal", || {
        mails(&md_start).len() == 1
            && mails(&md_tls).len() == 1
            && queue
                .status()
                .expect("status")
                .iter()
                .any(|s| s.notifier == "system-roots" && s.failed_attempts >= 1)
    })
    .await;
    cancel.cancel();
    let _ = task.await;
    for m in [mails(&md_start), mails(&md_tls)] {
        assert!(m[0].contains("[GANGGUAN]"), "{m:?}");
    }
    // The self-signed server is not trusted by the system's roots: never sent in the clear.
    let st = queue.status().expect("status");
    let sys = st
        .iter()
        .find(|s| s.notifier == "system-roots")
        .expect("status");
    assert_eq!(sys.sent, 0, "{st:?}");
    let err = sys.last_error.clone().unwrap_or_default();
    assert!(
        err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_leaves_from_its_egress_source_address() {
    let dir = tempfile::tempdir().expect("tmp");
    let peers: Arc<Mutex<Vec<std::net::IpAddr>>> = Arc::default();
    let p = peers.clone();
    let app = Router::new().route(
        "/hook",
        post(
            move |axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<
                std::net::SocketAddr,
            >| {
                let p = p.clone();
                async move {
                    p.lock().expect("lock").push(peer.ip());
                    StatusCode::OK
                }
            },
        ),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = l.local_addr().expect("addr").port();
    tokio::spawn(async move {
        axum::serve(
            l,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let f = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notify/topology.yaml"),
    )
    .expect("fixture");
    let (head, _) = f.split_once("notifiers:").expect("section");
    // 127.0.0.2 stands for the internet-side address: the default route would pick 127.0.0.1.
    let text = format!(
        "{head}notifiers:\n  - {{id: inet, kind: webhook, url: \"http://127.0.0.1:{port}/hook\", egress: {{source: 127.0.0.2}}}}\n"
    );
    let profiles = |_: &Path| Some(["icmp".to_string()].into_iter().collect());
    let t = Arc::new(
        juknis::topology::parse(&text, Path::new("t.yaml"), &profiles)
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let queue = Queue::open(dir.path()).expect("queue");
    let mut d = Dispatcher::new(Arc::clone(&t), queue.clone()).expect("dispatcher");
    d.observe(&both(State::Down), 1_796_355_720_000)
        .expect("observe");
    let sender = Sender::new(&t.agreement.opd, &t.notifiers, &BTreeMap::new()).expect("sender");
    let cancel = CancellationToken::new();
    let task = tokio::spawn(juknis::notify::run_sender(
        sender,
        queue.clone(),
        juknis::metrics::Metrics::new(),
        cancel.clone(),
    ));
    wait_for("the delivery", || !peers.lock().expect("lock").is_empty()).await;
    cancel.cancel();
    let _ = task.await;
    assert_eq!(
        peers.lock().expect("lock").clone(),
        vec!["127.0.0.2".parse::<std::net::IpAddr>().expect("ip")]
    );
}

#[tokio::test]
async fn a_failed_telegram_delivery_never_shows_the_bot_token() {
    let dir = tempfile::tempdir().expect("tmp");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let seen = Seen::default();
    let refusing = serve(telegram(seen.clone())).await;
    let f = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notify/topology.yaml"),
    )
    .expect("fixture");
    let (head, _) = f.split_once("notifiers:").expect("section");
    // One API is not listening; the other refuses this token (401).
    let text = format!(
        "{head}notifiers:\n  - {{id: down, kind: telegram, api_url: \"http://127.0.0.1:{closed}\", to: [\"-1\"], credentials: bot}}\n  - {{id: wrong, kind: telegram, api_url: \"http://127.0.0.1:{refusing}\", to: [\"-1\"], credentials: bot}}\n"
    );
    let profiles = |_: &Path| Some(["icmp".to_string()].into_iter().collect());
    let t = Arc::new(
        juknis::topology::parse(&text, Path::new("t.yaml"), &profiles)
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let queue = Queue::open(dir.path()).expect("queue");
    let mut d = Dispatcher::new(Arc::clone(&t), queue.clone()).expect("dispatcher");
    d.observe(&both(State::Down), 1_796_355_720_000)
        .expect("observe");
    let secret = "987654:KUNCI-BOT-RAHASIA";
    let mut logins = BTreeMap::new();
    logins.insert(
        "bot".to_string(),
        NotifierLogin {
            token: Some(secret.into()),
            ..Default::default()
        },
    );
    let sender = Sender::new(&t.agreement.opd, &t.notifiers, &logins).expect("sender");
    let due = queue.due(i64::MAX, 10).expect("due");
    assert_eq!(due.len(), 2);
    for delivery in &due {
        let err = sender.send(delivery).await.expect_err("fails").to_string();
        assert!(!err.contains(secret) && !err.contains("KUNCI"), "{err}");
        assert!(err.contains(&delivery.notifier), "{err}");
    }
    assert!(seen.all().is_empty());
}

/// The agreement's renewal (Juknis VI.F) reaches every channel: once when the two months before
/// its last day begin, once more at each later stage, never twice for the same stage (not after
/// a restart either), and once when it has ended; the Alertmanager receiver gets one alert with
/// no path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agreement_renewal_reaches_every_channel_once_per_stage() {
    let dir = tempfile::tempdir().expect("tmp");
    let maildir = dir.path().join("mail");
    let mail = smtp(&maildir);
    let (tg_seen, wa_seen, hook_seen) = (Seen::default(), Seen::default(), Seen::default());
    let tg = serve(telegram(tg_seen.clone())).await;
    let wa = serve(whatsapp(wa_seen.clone())).await;
    let hook = serve(receiver(hook_seen.clone(), Arc::new(Mutex::new(0)))).await;
    // The fixture with a last day two days ago (deliveries are due from the instant they are
    // queued, so every stage is observed in the past).
    assert!(topology(tg, wa, hook, mail.port).agreement.end.is_none());
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    let end = today - chrono::Days::new(2);
    let two_months = end
        .checked_sub_months(chrono::Months::new(2))
        .expect("date");
    let t = Arc::new(topology_with(
        |head| {
            head.replace(
                "  opd: Dinas Sosial Kabupaten Contoh\n",
                &format!(
                    "  opd: Dinas Sosial Kabupaten Contoh\n  start: 2024-04-01\n  end: {end}\n  pks_opd: 400/123/Dinsos\n"
                ),
            )
        },
        tg,
        wa,
        hook,
        mail.port,
    ));
    assert_eq!(t.agreement.end, Some(end));

    // Noon WIB on a day.
    let at = |day: chrono::NaiveDate| {
        day.and_hms_opt(5, 0, 0)
            .expect("time")
            .and_utc()
            .timestamp_millis()
    };
    let day_before = two_months - chrono::Days::new(1);
    let state = dir.path().join("state");
    let queue = Queue::open(&state).expect("queue");
    let mut d = Dispatcher::new(Arc::clone(&t), queue.clone()).expect("dispatcher");
    // Before the two months: nothing.
    assert_eq!(d.observe_agreement(at(day_before)).expect("observe"), 0);
    // The two months begin: one message per recipient (4 notifiers, one recipient each).
    assert_eq!(d.observe_agreement(at(two_months)).expect("observe"), 4);
    let next_day = two_months + chrono::Days::new(1);
    assert_eq!(d.observe_agreement(at(next_day)).expect("observe"), 0);
    // A restart does not repeat it.
    let mut d = Dispatcher::new(Arc::clone(&t), queue.clone()).expect("dispatcher");
    let later = two_months + chrono::Days::new(10);
    assert_eq!(d.observe_agreement(at(later)).expect("observe"), 0);
    // 30 days left, then after the last day.
    let thirty = end - chrono::Days::new(30);
    assert_eq!(d.observe_agreement(at(thirty)).expect("observe"), 4);
    let after = end + chrono::Days::new(1);
    assert_eq!(d.observe_agreement(at(after)).expect("observe"), 4);

    let sender = Sender::new(&t.agreement.opd, &t.notifiers, &logins()).expect("sender");
    let cancel = CancellationToken::new();
    let task = tokio::spawn(juknis::notify::run_sender(
        sender,
        queue.clone(),
        juknis::metrics::Metrics::new(),
        cancel.clone(),
    ));
    wait_for("every delivery", || {
        tg_seen.all().len() >= 3
            && wa_seen.all().len() >= 3
            && hook_seen.all().len() >= 3
            && mails(&maildir).len() >= 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    cancel.cancel();
    let _ = task.await;

    let texts: Vec<String> = tg_seen
        .all()
        .iter()
        .map(|v| v["text"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(texts.len(), 3, "{texts:#?}");
    let left = (end - two_months).num_days();
    assert!(
        texts[0].starts_with(&format!(
            "[PKS] Perjanjian Kerja Sama berakhir dalam {left} hari ("
        )),
        "{}",
        texts[0]
    );
    assert!(texts[0].contains("Juknis VI.F"), "{}", texts[0]);
    assert!(texts[0].contains("PKS: 400/123/Dinsos"), "{}", texts[0]);
    assert!(texts[0].contains("Budi Teknisi"), "{}", texts[0]);
    assert!(texts[1].contains("berakhir dalam 30 hari"), "{}", texts[1]);
    assert!(
        texts[2].starts_with("[PKS BERAKHIR]") && texts[2].contains("cek NIK ditolak"),
        "{}",
        texts[2]
    );
    assert_eq!(wa_seen.all().len(), 3);
    assert_eq!(mails(&maildir).len(), 3);
    let hooks = hook_seen.all();
    assert_eq!(hooks.len(), 3, "{hooks:#?}");
    for h in &hooks {
        assert_eq!(h["alerts"].as_array().map(Vec::len), Some(1), "{h:#}");
        assert_eq!(
            h["alerts"][0]["labels"]["alertname"],
            "JuknisAgreementRenewal"
        );
        assert!(h["alerts"][0]["labels"].get("path").is_none(), "{h:#}");
    }
    assert_eq!(hooks[0]["alerts"][0]["labels"]["severity"], "warning");
    assert_eq!(hooks[2]["alerts"][0]["labels"]["severity"], "critical");
}

/// The Bot API as a group's bot sees it: `sendMessage` answers with a fresh `message_id` (from
/// 101) and keeps what it got; `getUpdates` hands out the group's updates from `offset` on, as
/// long polling does (an empty answer after a short wait when there is nothing new).
#[derive(Clone, Default)]
struct Group {
    sent: Seen,
    updates: Arc<Mutex<Vec<Value>>>,
    offsets: Arc<Mutex<Vec<i64>>>,
}

fn telegram_group(g: Group) -> Router {
    let send = g.clone();
    Router::new()
        .route(
            "/{bot}/sendMessage",
            post(
                move |axum::extract::Path(bot): axum::extract::Path<String>, Json(body): Json<Value>| {
                    let g = send.clone();
                    async move {
                        if bot != format!("bot{BOT_TOKEN}") || !body["chat_id"].is_string() {
                            return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"ok": false})));
                        }
                        g.sent.push(body);
                        let id = 100 + g.sent.all().len();
                        (
                            StatusCode::OK,
                            Json(serde_json::json!({"ok": true, "result": {"message_id": id}})),
                        )
                    }
                },
            ),
        )
        .route(
            "/{bot}/getUpdates",
            axum::routing::get(
                move |axum::extract::Path(bot): axum::extract::Path<String>,
                      axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>| {
                    let g = g.clone();
                    async move {
                        if bot != format!("bot{BOT_TOKEN}") {
                            return (StatusCode::UNAUTHORIZED, Json(serde_json::json!({"ok": false})));
                        }
                        let offset: i64 = q.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0);
                        g.offsets.lock().expect("lock").push(offset);
                        let fresh: Vec<Value> = g
                            .updates
                            .lock()
                            .expect("lock")
                            .iter()
                            .filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset)
                            .cloned()
                            .collect();
                        if fresh.is_empty() {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        (StatusCode::OK, Json(serde_json::json!({"ok": true, "result": fresh})))
                    }
                },
            ),
        )
}

/// Replying "siap" to the alert in the Telegram group acknowledges the incident in the history
/// in the replier's name, and the bot answers in the thread; a reply in another chat, to another
/// message, or saying something else changes nothing; the update offset is kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_in_the_telegram_group_acknowledges_the_incident() {
    let dir = tempfile::tempdir().expect("tmp");
    let state = dir.path().join("state");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let group = Group::default();
    let tg = serve(telegram_group(group.clone())).await;
    // Only Telegram answers; the other channels' deliveries fail and are retried.
    let t = Arc::new(topology(tg, closed, closed, closed));
    let queue = Queue::open(&state).expect("queue");
    let mut d = Dispatcher::new(Arc::clone(&t), queue.clone()).expect("dispatcher");
    let now_s = chrono::Utc::now().timestamp();
    let t0 = (now_s - 120) * 1000;

    // The appliance's history: both paths down since a little before the alert.
    let db = state.join("juknis.db");
    {
        let mut s = juknis::store::Store::open(&db).expect("store");
        s.record_state("portal", "down", "putus", now_s - 130)
            .expect("portal");
        s.record_state("balikan", "down", "putus", now_s - 130)
            .expect("balikan");
    }
    let ack_file = db.clone();
    let ack: juknis::notify::replies::Ack = Arc::new(move |incident, by| {
        juknis::store::Store::open(&ack_file)
            .and_then(|mut s| {
                s.acknowledge_paths(
                    &incident.paths,
                    incident.opened_ms / 1000,
                    by,
                    chrono::Utc::now().timestamp(),
                )
            })
            .map_err(|e| e.to_string())
    });
    let sender = Sender::new(&t.agreement.opd, &t.notifiers, &logins()).expect("sender");
    let bots = sender.telegram_bots();
    assert_eq!(bots.len(), 1);
    let cancel = CancellationToken::new();
    let sending = tokio::spawn(juknis::notify::run_sender(
        sender,
        queue.clone(),
        juknis::metrics::Metrics::new(),
        cancel.clone(),
    ));
    let replies = tokio::spawn(juknis::notify::replies::run_replies(
        bots[0].clone(),
        queue.clone(),
        ack,
        cancel.clone(),
    ));
    d.observe(&both(State::Down), t0).expect("observe");
    wait_for("the alert in the group", || !group.sent.all().is_empty()).await;
    let chat = "-1001234567890";
    let alert_id = 101;

    let msg = |update: i64, chat: i64, reply_to: i64, from: &str, text: &str| {
        serde_json::json!({"update_id": update, "message": {
            "message_id": 500 + update, "chat": {"id": chat, "type": "supergroup"},
            "from": {"id": 7, "first_name": from, "username": from.to_lowercase()},
            "date": now_s, "text": text, "reply_to_message": {"message_id": reply_to}}})
    };
    let ours: i64 = chat.parse().expect("chat id");
    group.updates.lock().expect("lock").extend([
        msg(40, -100_999, alert_id, "Asing", "ok"),
        msg(41, ours, 999, "Sari", "ok"),
        msg(42, ours, alert_id, "Sari", "kenapa putus?"),
        msg(43, ours, alert_id, "Budi", "siap, saya ke Diskominfo"),
    ]);
    let handled = |subject: &str| {
        let s = juknis::store::Store::open(&db).expect("store");
        let all = s.incidents_overlapping(0, i64::MAX).expect("read");
        let i = all.iter().find(|i| i.subject == subject).expect("entry");
        s.handling(i.id).expect("handling").and_then(|h| h.ack)
    };
    wait_for("the acknowledgement", || {
        handled("portal").is_some() && handled("balikan").is_some()
    })
    .await;
    let a = handled("portal").expect("ack");
    assert_eq!(a.by, "Budi (@budi) lewat Telegram");
    wait_for("the bot's answer", || group.sent.all().len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    cancel.cancel();
    let _ = sending.await;
    let _ = replies.await;

    let sent = group.sent.all();
    assert_eq!(sent.len(), 2, "one alert, one answer: {sent:#?}");
    assert_eq!(sent[1]["chat_id"], chat);
    assert_eq!(sent[1]["reply_to_message_id"], 543);
    assert!(
        sent[1]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Diterima: Budi (@budi) menangani gangguan ini")),
        "{sent:#?}"
    );
    assert_eq!(queue.reply_offset("grup-telegram").expect("offset"), 44);
    assert!(
        group.offsets.lock().expect("lock").contains(&44),
        "the next poll confirms the handled updates"
    );
}
