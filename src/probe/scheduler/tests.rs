use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use futures_util::future::BoxFuture;

use super::*;
use crate::probe::profile::{TcpSpec, Thresholds};

/// A probe that counts its runs and answers at once.
struct Counting {
    target: Target,
    runs: Arc<AtomicUsize>,
}

impl Probe for Counting {
    fn kind(&self) -> Kind {
        Kind::Tcp
    }
    fn target(&self) -> &Target {
        &self.target
    }
    fn cost_bytes(&self) -> u64 {
        120
    }
    fn run(&self) -> BoxFuture<'_, Result<Outcome, super::super::Error>> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            Ok(Outcome::new(
                Kind::Tcp,
                &self.target,
                SystemTime::now(),
                Duration::ZERO,
                super::super::Detail::Tcp(super::super::tcp::Detail {
                    addr: None,
                    connect: None,
                }),
            ))
        })
    }
}

fn task(node: &str, interval: Duration, runs: &Arc<AtomicUsize>) -> Task {
    let target = Target::ip("198.51.100.1".parse().expect("ip"));
    Task {
        key: TargetKey::new(NodeId::new(node), "tcp"),
        profile: Profile {
            name: "tcp".into(),
            kind: Kind::Tcp,
            interval,
            timeout: Duration::from_secs(1),
            spec: Spec::Tcp(TcpSpec { port: 443 }),
            thresholds: Thresholds::default(),
        },
        probe: Arc::new(Counting {
            target,
            runs: Arc::clone(runs),
        }),
        link: None,
        contracted_bps: None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_reprobe_runs_a_round_at_once_and_restarts_the_interval() {
    let runs = Arc::new(AtomicUsize::new(0));
    let plan = Plan {
        tasks: vec![task("kominfo-router", Duration::from_secs(60), &runs)],
        budgets: BTreeMap::new(),
        first_round_within: Duration::ZERO,
        reprobe: Reprobe::default(),
    };
    let reprobe = plan.reprobe.clone();
    let key = TargetKey::new(NodeId::new("kominfo-router"), "tcp");
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let running = tokio::spawn(run(plan, tx, |_| {}, cancel.clone()));
    // The first round, at once.
    rx.recv().await.expect("first round");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert!(reprobe.request(&key), "a running task is known");
    assert!(
        !reprobe.request(&TargetKey::new(NodeId::new("elsewhere"), "tcp")),
        "an unknown target is not"
    );
    let r = tokio::time::timeout(Duration::from_secs(1), rx.recv())
        .await
        .expect("the re-probe runs within a second, not on the 60 s interval");
    assert!(r.is_some());
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // The interval restarted at the re-probe: nothing at the old 60 s mark.
    tokio::time::sleep(Duration::from_secs(55)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    cancel.cancel();
    running.await.expect("stops");
}
