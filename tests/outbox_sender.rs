//! The outbox sender with a fake service and a fake health source, on tokio's paused clock:
//! health gating, exponential backoff with jitter, idempotent resends, refusals split down to
//! the record at fault, and the metrics.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use juknis::health::{self, PathVerdict, State};
use juknis::metrics::Metrics;
use juknis::outbox::report::Unit;
use juknis::outbox::row::RawRow;
use juknis::outbox::sender::{Config, Post, Step};
use juknis::outbox::{Backoff, Outbox, Sender};
use juknis::portal::{self, BalikanBatch, BalikanOutcome};
use juknis::topology::PathId;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A health source whose state the test sets.
struct FakeHealth(Mutex<State>);

impl FakeHealth {
    fn new(s: State) -> Arc<Self> {
        Arc::new(FakeHealth(Mutex::new(s)))
    }
    fn set(&self, s: State) {
        *self.0.lock().unwrap() = s;
    }
}

impl health::Source for FakeHealth {
    fn verdict(&self, path: &PathId) -> Option<PathVerdict> {
        Some(PathVerdict {
            path: path.clone(),
            state: *self.0.lock().unwrap(),
            best: None,
            routes: Vec::new(),
        })
    }
}

type Answer = Result<BalikanOutcome, portal::Error>;

/// A data balikan service: answers from a script, then Delivered; refuses (422) any batch
/// holding `poison`; remembers what it holds and every post's time and size.
#[derive(Clone, Default)]
struct FakeService {
    script: Arc<Mutex<VecDeque<Answer>>>,
    poison: Option<String>,
    /// Answer "already sent" and hold nothing when any record of a batch is held.
    all_or_nothing: bool,
    held: Arc<Mutex<Vec<String>>>,
    posts: Arc<Mutex<Vec<(Instant, usize)>>>,
}

impl FakeService {
    fn posts(&self) -> Vec<(Instant, usize)> {
        self.posts.lock().unwrap().clone()
    }
}

impl Post for FakeService {
    fn post(&self, batch: &BalikanBatch) -> impl Future<Output = Answer> + Send {
        let niks: Vec<String> = batch
            .records
            .iter()
            .map(|r| r.nik.expose().to_owned())
            .collect();
        self.posts
            .lock()
            .unwrap()
            .push((Instant::now(), niks.len()));
        let scripted = self.script.lock().unwrap().pop_front();
        let answer = match scripted {
            Some(a) => a,
            None if self.poison.as_ref().is_some_and(|p| niks.contains(p)) => {
                Ok(BalikanOutcome::Rejected {
                    status: 422,
                    text: "Format data tidak valid".into(),
                })
            }
            None => {
                let mut held = self.held.lock().unwrap();
                let already = niks.iter().any(|n| held.contains(n));
                for n in niks
                    .into_iter()
                    .filter(|_| !(already && self.all_or_nothing))
                {
                    if !held.contains(&n) {
                        held.push(n);
                    }
                }
                Ok(if already {
                    BalikanOutcome::AlreadySent
                } else {
                    BalikanOutcome::Delivered
                })
            }
        };
        async move { answer }
    }
}

fn transport_error() -> portal::Error {
    portal::Error::Transport {
        url: "http://127.0.0.1:1".into(),
        source: Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "connection reset",
        )),
    }
}

fn niks(n: usize) -> Vec<String> {
    let regions = juknis::nik::region::all();
    (0..n)
        .map(|i| format!("{}0101900{:03}", regions[i].code, i + 1))
        .collect()
}

fn outbox_with(n: usize) -> (tempfile::TempDir, Outbox, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(dir.path()).unwrap();
    let niks = niks(n);
    let rows = niks
        .iter()
        .enumerate()
        .map(|(i, nik)| {
            (
                i as u64 + 2,
                RawRow {
                    nik: nik.clone(),
                    recipient_id: format!("R-{i}"),
                    aid: "PKH".into(),
                },
            )
        })
        .collect();
    let report = ob.import("uji", Unit::Line, rows).unwrap();
    assert_eq!(report.accepted, n as u64, "{report}");
    (dir, ob, niks)
}

fn config(batch: usize) -> Config {
    let mut c = Config::new(PathId::new("balikan"), "3204DINSOS", "Dinas Sosial (uji)");
    c.batch_size = batch;
    c.backoff_base = Duration::from_secs(1);
    c.backoff_max = Duration::from_secs(60);
    c.stop_when_empty = true;
    c
}

fn sender(
    ob: &Outbox,
    svc: &FakeService,
    health: Arc<FakeHealth>,
    batch: usize,
    metrics: &Metrics,
) -> Sender<FakeService> {
    Sender::new(
        ob.clone(),
        svc.clone(),
        health,
        config(batch),
        metrics.clone(),
    )
    .with_backoff(Backoff::seeded(
        Duration::from_secs(1),
        Duration::from_secs(60),
        7,
    ))
}

#[tokio::test(start_paused = true)]
async fn a_down_path_sends_nothing_until_it_recovers() {
    let (_dir, ob, _) = outbox_with(250);
    let svc = FakeService::default();
    let health = FakeHealth::new(State::Down);
    let metrics = Metrics::new();
    let task = tokio::spawn(
        sender(&ob, &svc, health.clone(), 100, &metrics).run(CancellationToken::new()),
    );

    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(
        svc.posts().is_empty(),
        "nothing is posted while the path is down"
    );
    health.set(State::Unknown);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(svc.posts().is_empty(), "nor while its health is unknown");
    assert_eq!(ob.counts().unwrap().pending, 250);

    health.set(State::Degraded);
    task.await.unwrap().unwrap();
    let sizes: Vec<usize> = svc.posts().iter().map(|p| p.1).collect();
    assert_eq!(sizes, [100, 100, 50]);
    let c = ob.counts().unwrap();
    assert_eq!((c.pending, c.delivered), (0, 250));
    let text = metrics.encode();
    assert!(
        text.contains("juknis_balikan_records{state=\"delivered\"} 250"),
        "{text}"
    );
    assert!(text.contains("juknis_balikan_records{state=\"pending\"} 0"));
    assert!(text.contains("juknis_balikan_oldest_pending_age_seconds 0"));
}

#[tokio::test(start_paused = true)]
async fn step_reports_the_gate() {
    let (_dir, ob, _) = outbox_with(1);
    let svc = FakeService::default();
    let mut s = sender(&ob, &svc, FakeHealth::new(State::Down), 10, &Metrics::new());
    assert_eq!(s.step().await, Step::Gated(State::Down));
    assert!(svc.posts().is_empty());
}

#[tokio::test(start_paused = true)]
async fn failures_back_off_exponentially_with_jitter_and_resend_the_same_batch() {
    let (_dir, ob, _) = outbox_with(30);
    let svc = FakeService::default();
    {
        let mut script = svc.script.lock().unwrap();
        for _ in 0..6 {
            script.push_back(Err(transport_error()));
        }
        script.push_back(Err(portal::Error::HttpStatus {
            url: "x".into(),
            status: 503,
            text: "Service Unavailable".into(),
        }));
    }
    let metrics = Metrics::new();
    sender(&ob, &svc, FakeHealth::new(State::Healthy), 10, &metrics)
        .run(CancellationToken::new())
        .await
        .unwrap();

    let posts = svc.posts();
    // 7 failed posts of the first batch, then three batches delivered.
    assert_eq!(posts.len(), 10);
    assert!(
        posts.iter().all(|p| p.1 == 10),
        "the same batch is posted again"
    );
    let gaps: Vec<Duration> = posts.windows(2).map(|w| w[1].0 - w[0].0).collect();
    for (n, gap) in gaps.iter().take(7).enumerate() {
        let ceiling = Duration::from_secs(1 << n).min(Duration::from_secs(60));
        assert!(
            *gap >= ceiling / 2 && *gap <= ceiling,
            "retry {n}: {gap:?} not within [{:?}, {ceiling:?}]",
            ceiling / 2
        );
    }
    assert!(gaps[2..7].windows(2).all(|w| w[1] > w[0]), "{gaps:?}");
    // After a success, no wait.
    assert!(gaps[7..].iter().all(|g| g.is_zero()), "{gaps:?}");
    let text = metrics.encode();
    assert!(
        text.contains("juknis_balikan_send_failures_total{reason=\"transport\"} 6"),
        "{text}"
    );
    assert!(text.contains("juknis_balikan_send_failures_total{reason=\"http_5xx\"} 1"));
    assert_eq!(ob.counts().unwrap().delivered, 30);
}

#[test]
fn backoff_stays_within_its_bounds() {
    for seed in 0..200 {
        let mut b = Backoff::seeded(Duration::from_millis(100), Duration::from_secs(5), seed);
        for n in 0..20u32 {
            let ceiling =
                (Duration::from_millis(100) * 2u32.pow(n.min(16))).min(Duration::from_secs(5));
            let d = b.next_delay();
            assert!(
                d >= ceiling / 2 && d <= ceiling,
                "seed {seed} retry {n}: {d:?}"
            );
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}

#[tokio::test(start_paused = true)]
async fn an_answer_lost_in_a_crash_is_resent_and_counted_as_delivered() {
    let (dir, ob, niks) = outbox_with(10);
    let svc = FakeService::default();
    // The service took the batch, but the process died before recording the answer: the
    // batch is claimed (committed) and the service holds it.
    let batch = ob.claim(10).unwrap().unwrap();
    svc.held
        .lock()
        .unwrap()
        .extend(batch.records.iter().map(|r| r.nik.expose().to_owned()));
    drop(ob);

    let ob = Outbox::open(dir.path()).unwrap();
    sender(
        &ob,
        &svc,
        FakeHealth::new(State::Healthy),
        4,
        &Metrics::new(),
    )
    .run(CancellationToken::new())
    .await
    .unwrap();
    let posts = svc.posts();
    assert_eq!(
        posts.len(),
        1,
        "the open batch is posted again whole, not re-cut"
    );
    assert_eq!(posts[0].1, 10);
    assert_eq!(ob.counts().unwrap().delivered, 10);
    assert_eq!(svc.held.lock().unwrap().len(), niks.len());
}

#[tokio::test(start_paused = true)]
async fn a_refused_batch_is_split_until_the_record_at_fault_is_found() {
    let (_dir, ob, niks) = outbox_with(16);
    let svc = FakeService {
        poison: Some(niks[5].clone()),
        ..FakeService::default()
    };
    let metrics = Metrics::new();
    sender(&ob, &svc, FakeHealth::new(State::Healthy), 16, &metrics)
        .run(CancellationToken::new())
        .await
        .unwrap();
    let c = ob.counts().unwrap();
    assert_eq!((c.pending, c.delivered, c.rejected), (0, 15, 1));
    // Halved down to the record at fault (16, 8, 4, 2, 1), each sibling half delivered.
    let sizes: Vec<usize> = svc.posts().iter().map(|p| p.1).collect();
    assert_eq!(sizes, [16, 8, 8, 4, 4, 2, 2, 1, 1]);
    assert_eq!(svc.held.lock().unwrap().len(), 15);
    // The refused record is listed with the service's own words, what a person needs to
    // correct it, and no NIK; through the API too.
    let refused = ob.rejected(10).unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        (refused[0].recipient_id.as_str(), refused[0].aid.as_str()),
        ("R-5", "PKH")
    );
    assert_eq!(refused[0].reason, "HTTP 422: Format data tidak valid");
    assert_eq!(refused[0].source, "uji");
    let app = juknis::outbox::api::router(ob.clone());
    let res = tower::ServiceExt::oneshot(
        app,
        axum::http::Request::get("/api/v1/balikan/rejected")
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("\"recipient_id\":\"R-5\"") && text.contains("Format data tidak valid"),
        "{text}"
    );
    assert!(!text.contains(&niks[5]), "no NIK in the answer: {text}");
}

#[tokio::test(start_paused = true)]
async fn an_unauthorized_answer_rejects_no_record() {
    let (_dir, ob, _) = outbox_with(3);
    let svc = FakeService::default();
    svc.script
        .lock()
        .unwrap()
        .push_back(Ok(BalikanOutcome::Rejected {
            status: 401,
            text: "Unauthorized".into(),
        }));
    let metrics = Metrics::new();
    sender(&ob, &svc, FakeHealth::new(State::Healthy), 10, &metrics)
        .run(CancellationToken::new())
        .await
        .unwrap();
    let c = ob.counts().unwrap();
    assert_eq!((c.delivered, c.rejected), (3, 0));
    assert!(
        metrics
            .encode()
            .contains("juknis_balikan_send_failures_total{reason=\"unauthorized\"} 1")
    );
}

#[tokio::test(start_paused = true)]
async fn records_sent_elsewhere_do_not_hide_new_ones_from_an_all_or_nothing_service() {
    let (_dir, ob, niks) = outbox_with(8);
    let svc = FakeService {
        all_or_nothing: true,
        ..FakeService::default()
    };
    // Someone uploaded one of them by hand before.
    svc.held.lock().unwrap().push(niks[6].clone());
    sender(
        &ob,
        &svc,
        FakeHealth::new(State::Healthy),
        8,
        &Metrics::new(),
    )
    .run(CancellationToken::new())
    .await
    .unwrap();
    assert_eq!(ob.counts().unwrap().delivered, 8);
    let mut held = svc.held.lock().unwrap().clone();
    held.sort();
    let mut want = niks.clone();
    want.sort();
    assert_eq!(
        held, want,
        "every record is held, not only the one sent by hand"
    );
}
