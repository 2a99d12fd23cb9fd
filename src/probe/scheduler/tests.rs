//! The scheduler under paused time, with a fake probe that counts its runs, can be slow, and
//! records when it starts and how many of its runs overlap. No sockets.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use futures_util::future::BoxFuture;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rstest::rstest;
use tokio::time::Instant;

use super::*;
use crate::probe::profile::{TcpSpec, Thresholds};

/// What a fake probe saw of its runs.
#[derive(Debug, Default)]
struct Record {
    runs: AtomicUsize,
    finished: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    starts: Mutex<Vec<Instant>>,
}

impl Record {
    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }

    fn starts(&self) -> Vec<Instant> {
        self.starts.lock().expect("lock").clone()
    }
}

/// Counts a run in flight in every record it is given, until dropped (finished or cancelled).
struct InFlight(Vec<Arc<Record>>);

impl InFlight {
    fn enter(records: &[Arc<Record>]) -> InFlight {
        for r in records {
            let now = r.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            r.max_in_flight.fetch_max(now, Ordering::SeqCst);
        }
        InFlight(records.to_vec())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        for r in &self.0 {
            r.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A probe that takes `delay` per run, costs and spends `cost` bytes, and writes what it sees
/// to each of its records (its own, and any shared with other probes).
struct Fake {
    target: Target,
    delay: Duration,
    cost: u64,
    records: Vec<Arc<Record>>,
}

impl Probe for Fake {
    fn kind(&self) -> Kind {
        Kind::Tcp
    }
    fn target(&self) -> &Target {
        &self.target
    }
    fn cost_bytes(&self) -> u64 {
        self.cost
    }
    fn run(&self) -> BoxFuture<'_, Result<Outcome, super::super::Error>> {
        for r in &self.records {
            r.runs.fetch_add(1, Ordering::SeqCst);
            r.starts.lock().expect("lock").push(Instant::now());
        }
        let in_flight = InFlight::enter(&self.records);
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            drop(in_flight);
            for r in &self.records {
                r.finished.fetch_add(1, Ordering::SeqCst);
            }
            let detail = super::super::Detail::Tcp(super::super::tcp::Detail {
                addr: None,
                connect: None,
            });
            let outcome = Outcome::new(
                Kind::Tcp,
                &self.target,
                SystemTime::now(),
                self.delay,
                detail,
            );
            Ok(outcome.spent(self.cost))
        })
    }
}

fn key(node: &str) -> TargetKey {
    TargetKey::new(NodeId::new(node), "tcp")
}

/// A task probing `node` every `interval` with a fake that answers after `delay`.
fn task(node: &str, interval: Duration, delay: Duration, records: &[&Arc<Record>]) -> Task {
    let target = Target::ip("198.51.100.1".parse().expect("ip"));
    Task {
        key: key(node),
        profile: Profile {
            name: "tcp".into(),
            kind: Kind::Tcp,
            interval,
            timeout: Duration::from_secs(1),
            spec: Spec::Tcp(TcpSpec { port: 443 }),
            thresholds: Thresholds::default(),
        },
        probe: Arc::new(Fake {
            target,
            delay,
            cost: 120,
            records: records.iter().map(|r| Arc::clone(r)).collect(),
        }),
        link: None,
        contracted_bps: None,
    }
}

fn plan(tasks: Vec<Task>, first_round_within: Duration) -> Plan {
    Plan {
        tasks,
        budgets: BTreeMap::new(),
        first_round_within,
        reprobe: Reprobe::default(),
    }
}

/// A running scheduler whose rounds are drained and counted.
struct Running {
    cancel: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
    rounds: Arc<AtomicUsize>,
    skipped: Arc<Mutex<Vec<TargetKey>>>,
}

fn start(plan: Plan, jitter: impl FnMut() -> f64 + Send + 'static) -> Running {
    let (tx, mut rx) = mpsc::channel(8);
    let rounds = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&rounds);
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    let skipped = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&skipped);
    let cancel = CancellationToken::new();
    let handle = tokio::spawn(run_with_jitter(
        plan,
        tx,
        move |k: &TargetKey| seen.lock().expect("lock").push(k.clone()),
        cancel.clone(),
        jitter,
    ));
    Running {
        cancel,
        handle,
        rounds,
        skipped,
    }
}

impl Running {
    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(1), self.handle)
            .await
            .expect("run returns within a second of the cancel")
            .expect("run does not panic");
    }
}

#[tokio::test(start_paused = true)]
async fn a_reprobe_runs_a_round_at_once_and_restarts_the_interval() {
    let record = Arc::new(Record::default());
    let plan = plan(
        vec![task(
            "kominfo-router",
            Duration::from_secs(60),
            Duration::ZERO,
            &[&record],
        )],
        Duration::ZERO,
    );
    let reprobe = plan.reprobe.clone();
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let running = tokio::spawn(run(plan, tx, |_| {}, cancel.clone()));
    // The first round, at once.
    rx.recv().await.expect("first round");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(record.runs(), 1);
    assert!(
        reprobe.request(&key("kominfo-router")),
        "a running task is known"
    );
    assert!(
        !reprobe.request(&key("elsewhere")),
        "an unknown target is not"
    );
    let r = tokio::time::timeout(Duration::from_secs(1), rx.recv())
        .await
        .expect("the re-probe runs within a second, not on the 60 s interval");
    assert!(r.is_some());
    assert_eq!(record.runs(), 2);
    // The interval restarted at the re-probe: nothing at the old 60 s mark.
    tokio::time::sleep(Duration::from_secs(55)).await;
    assert_eq!(record.runs(), 2);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(record.runs(), 3);
    cancel.cancel();
    running.await.expect("stops");
}

#[tokio::test(start_paused = true)]
async fn rounds_over_the_link_budget_are_skipped_and_counted() {
    // 8 kbit/s at 1%: 10 B/s, a burst of 600 s worth (6000 B). At 1000 B a round, every 10 s:
    // six rounds from the burst, then one per 100 s of refill, none of them within 95 s.
    let wan = LinkId::new("wan");
    let (metered, free) = (Arc::new(Record::default()), Arc::new(Record::default()));
    let mut on_wan = task(
        "dukcapil",
        Duration::from_secs(10),
        Duration::ZERO,
        &[&metered],
    );
    on_wan.link = Some(wan.clone());
    on_wan.probe = Arc::new(Fake {
        target: on_wan.probe.target().clone(),
        delay: Duration::ZERO,
        cost: 1000,
        records: vec![Arc::clone(&metered)],
    });
    let on_lan = task(
        "lan-switch",
        Duration::from_secs(10),
        Duration::ZERO,
        &[&free],
    );
    let mut plan = plan(vec![on_wan, on_lan], Duration::ZERO);
    plan.budgets.insert(wan, (8_000, 0.01));

    let running = start(plan, || 0.0);
    tokio::time::sleep(Duration::from_secs(95)).await;

    assert_eq!(metered.runs(), 6, "the burst pays for six rounds");
    let skipped = running.skipped.lock().expect("lock").clone();
    assert_eq!(
        skipped,
        vec![key("dukcapil"); 4],
        "rounds at 60, 70, 80, 90 s"
    );
    assert_eq!(
        free.runs(),
        10,
        "a target behind no contracted link is never skipped"
    );
    assert_eq!(
        running.rounds.load(Ordering::SeqCst),
        16,
        "a skipped round reports nothing"
    );
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_every_task_wherever_it_waits_and_run_returns() {
    let hour = Duration::from_secs(3600);
    let slow = Arc::new(Record::default());
    let idle = Arc::new(Record::default());
    let late = Arc::new(Record::default());
    let plan = plan(
        vec![
            // In the middle of a run that would take an hour.
            task("slow", hour, hour, &[&slow]),
            // Done, waiting for its next tick.
            task("idle", hour, Duration::ZERO, &[&idle]),
            // Still waiting for its first round.
            task("late", hour, Duration::ZERO, &[&late]),
        ],
        hour,
    );
    let mut shares = [0.0, 0.0, 0.9].into_iter();
    let running = start(plan, move || shares.next().unwrap_or(0.0));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(slow.in_flight.load(Ordering::SeqCst), 1);
    assert_eq!((idle.runs(), late.runs()), (1, 0));

    let t0 = Instant::now();
    running.stop().await;
    assert_eq!(t0.elapsed(), Duration::ZERO, "no waiting for the slow run");
    assert_eq!(
        slow.in_flight.load(Ordering::SeqCst),
        0,
        "the slow run was dropped"
    );
    assert_eq!(slow.finished.load(Ordering::SeqCst), 0);
    tokio::time::sleep(2 * hour).await;
    assert_eq!(
        (slow.runs(), idle.runs(), late.runs()),
        (1, 1, 0),
        "nothing runs after the cancel"
    );
}

#[rstest]
#[case::window_shorter_than_interval(Duration::from_secs(600), Duration::from_secs(60))]
#[case::interval_shorter_than_window(Duration::from_secs(60), Duration::from_secs(600))]
#[tokio::test(start_paused = true)]
async fn the_first_round_is_spread_over_the_interval_or_the_window(
    #[case] interval: Duration,
    #[case] within: Duration,
) {
    let bound = interval.min(within);
    let records: Vec<Arc<Record>> = (0..20).map(|_| Arc::new(Record::default())).collect();
    let tasks = records
        .iter()
        .enumerate()
        .map(|(i, r)| task(&format!("node-{i}"), interval, Duration::ZERO, &[r]))
        .collect();
    let mut rng = StdRng::seed_from_u64(19);
    let t0 = Instant::now();
    let running = start(plan(tasks, within), move || rng.random::<f64>());
    tokio::time::sleep(bound).await;

    let mut firsts: Vec<Duration> = records
        .iter()
        .map(|r| *r.starts().first().expect("ran within the bound") - t0)
        .collect();
    firsts.sort();
    firsts.dedup();
    assert_eq!(firsts.len(), 20, "every task starts at its own moment");
    let (first, last) = (firsts[0], firsts[19]);
    assert!(last < bound, "{last:?} is not within {bound:?}");
    assert!(
        first < bound / 4 && last > bound * 3 / 4,
        "spread over the whole {bound:?}, not bunched: {first:?}..{last:?}"
    );
    running.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_probe_slower_than_its_interval_never_overlaps_itself() {
    // Each run takes 25 s on a 10 s interval; two such targets share a record too, to show the
    // fake does see overlapping runs when there are any.
    let both = Arc::new(Record::default());
    let (a, b) = (Arc::new(Record::default()), Arc::new(Record::default()));
    let (interval, delay) = (Duration::from_secs(10), Duration::from_secs(25));
    let plan = plan(
        vec![
            task("portal-a", interval, delay, &[&a, &both]),
            task("portal-b", interval, delay, &[&b, &both]),
        ],
        Duration::ZERO,
    );
    let running = start(plan, || 0.0);
    tokio::time::sleep(Duration::from_secs(200)).await;

    for (name, r) in [("portal-a", &a), ("portal-b", &b)] {
        assert_eq!(r.max_in_flight.load(Ordering::SeqCst), 1, "{name}");
        let starts = r.starts();
        assert!(starts.len() >= 7, "{name} kept running: {}", starts.len());
        for pair in starts.windows(2) {
            assert!(
                pair[1] - pair[0] >= delay,
                "{name}: a run started before the last ended"
            );
        }
    }
    assert_eq!(
        both.max_in_flight.load(Ordering::SeqCst),
        2,
        "two targets do run at the same time"
    );
    running.stop().await;
}

/// A consumer that stopped reading (but still holds its end) must not hold the shutdown up:
/// the tasks waiting to hand over a round give up on the cancel.
#[tokio::test(start_paused = true)]
async fn cancel_is_not_held_up_by_a_consumer_that_stopped_reading() {
    let second = Duration::from_secs(1);
    let records: Vec<Arc<Record>> = (0..4).map(|_| Arc::new(Record::default())).collect();
    let tasks = records
        .iter()
        .enumerate()
        .map(|(i, r)| task(&format!("t{i}"), second, Duration::ZERO, &[r]))
        .collect();
    let (tx, _held) = mpsc::channel(1);
    let cancel = CancellationToken::new();
    let handle = tokio::spawn(run_with_jitter(
        plan(tasks, second),
        tx,
        |_: &TargetKey| {},
        cancel.clone(),
        || 0.0,
    ));
    tokio::time::sleep(Duration::from_secs(10)).await;
    // One round fits the channel; every task is now blocked handing over the next.
    assert!(records.iter().map(|r| r.runs()).sum::<usize>() >= 2);
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(1), handle)
        .await
        .expect("run returns within a second of the cancel")
        .expect("run does not panic");
}
