//! Ringkasan names a notifier whose oldest waiting message keeps failing, with its last error,
//! and stops naming it once the message went out.

mod web_support;

use std::sync::Arc;

use juknis::health::State;
use juknis::notify::{Dispatcher, Queue};
use juknis::web::dashboard;
use web_support::*;

fn topology() -> juknis::topology::Topology {
    let f = std::fs::read_to_string(root().join("tests/fixtures/notify/topology.yaml"))
        .expect("fixture");
    let (head, _) = f.split_once("notifiers:").expect("section");
    let text = format!(
        "{head}notifiers:\n  - {{id: noc-hook, kind: webhook, url: \"http://127.0.0.1:9/hook\"}}\n"
    );
    let profiles = |_: &std::path::Path| Some(["icmp".to_string()].into_iter().collect());
    juknis::topology::parse(&text, std::path::Path::new("t.yaml"), &profiles)
        .unwrap_or_else(|e| panic!("{e}"))
}

fn down() -> Vec<juknis::health::PathVerdict> {
    vec![juknis::health::PathVerdict {
        path: juknis::topology::PathId::new("portal"),
        state: State::Down,
        best: Some(0),
        routes: vec![juknis::health::RouteVerdict {
            route: "primary".into(),
            state: State::Down,
            cause: Some(juknis::health::Cause::Unreachable),
            at: Some((
                Some(juknis::topology::NodeId::new("opd-router")),
                juknis::topology::NodeId::new("kominfo-router"),
            )),
            reason: "Tidak ada jawaban mulai di Router Diskominfo".into(),
            links: Vec::new(),
        }],
    }]
}

#[tokio::test]
async fn a_notifier_that_keeps_failing_shows_on_ringkasan_until_it_delivers() {
    let dir = tempfile::tempdir().expect("tmp");
    users(dir.path());
    let queue = Queue::open(dir.path()).expect("queue");
    let mut d = Dispatcher::new(Arc::new(topology()), queue.clone()).expect("dispatcher");
    d.observe(&down(), 1_796_355_720_000).expect("observe");
    let id = queue.due(i64::MAX, 10).expect("due")[0].id;
    let mut cfg = config(dir.path());
    cfg.notify = Some(queue.clone());
    let app = dashboard::router(shared(), cfg).expect("router");
    let (cookie, _) = login(&app, "tech").await;
    let line = "data-notifier=\"noc-hook\"";

    // Two failures: a passing hiccup, not yet shown.
    for _ in 0..2 {
        queue
            .failed(id, "503 Service Unavailable", 0)
            .expect("fail");
    }
    let (_, body) = send(&app, get("/", Some(&cookie))).await;
    assert!(!body.contains(line), "{body}");

    queue
        .failed(id, "503 Service Unavailable", 0)
        .expect("fail");
    let (_, body) = send(&app, get("/", Some(&cookie))).await;
    assert!(body.contains(line), "{body}");
    assert!(body.contains("Pemberitahuan tidak terkirim"), "{body}");
    assert!(
        body.contains("3 kali gagal; terakhir: 503 Service Unavailable"),
        "{body}"
    );

    let (_, body) = send(&app, get("/?lang=en", Some(&cookie))).await;
    assert!(body.contains("Notifications not delivered"), "{body}");

    queue.sent(id, 1, None).expect("sent");
    let (_, body) = send(&app, get("/", Some(&cookie))).await;
    assert!(!body.contains(line), "{body}");
}
