use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use rstest::rstest;

use super::*;
use crate::health::{PathVerdict, RouteVerdict};
use crate::topology::{self, NodeId, PathId, Topology};

pub(crate) fn fixture() -> Topology {
    let text = include_str!("../../../tests/fixtures/notify/topology.yaml");
    let profiles = |_: &Path| {
        Some(
            ["icmp"]
                .into_iter()
                .map(String::from)
                .collect::<BTreeSet<_>>(),
        )
    };
    topology::parse(text, Path::new("topology.yaml"), &profiles).expect("fixture topology")
}

/// A path's verdict: healthy, or bad from `hop` on (after `good`).
pub(crate) fn verdict(path: &str, state: State, hop: Option<(&str, &str)>) -> PathVerdict {
    PathVerdict {
        path: PathId::new(path),
        state,
        best: Some(0),
        routes: vec![RouteVerdict {
            route: "primary".into(),
            state,
            cause: hop.map(|_| Cause::Unreachable),
            at: hop.map(|(g, h)| (Some(NodeId::new(g)), NodeId::new(h))),
            reason: match hop {
                Some((_, h)) => format!("Tidak ada jawaban mulai di {h}"),
                None => "sehat".into(),
            },
            links: Vec::new(),
        }],
    }
}

fn policy(reminder: Option<u64>, max: u32) -> Vec<Policy> {
    vec![Policy {
        notifier: "grup".into(),
        reminder: reminder.map(Duration::from_secs),
        max_per_hour: max,
    }]
}

const MIN: i64 = 60_000;
const SETTLE: Duration = Duration::from_secs(120);

fn down_at_kominfo() -> Vec<PathVerdict> {
    vec![
        verdict(
            "portal",
            State::Down,
            Some(("opd-router", "kominfo-router")),
        ),
        verdict(
            "balikan",
            State::Down,
            Some(("opd-router", "kominfo-router")),
        ),
    ]
}

fn healthy() -> Vec<PathVerdict> {
    vec![
        verdict("portal", State::Healthy, None),
        verdict("balikan", State::Healthy, None),
    ]
}

fn kinds(ev: &[Event]) -> Vec<(Kind, u32)> {
    ev.iter().map(|e| (e.kind, e.seq)).collect()
}

#[test]
fn two_paths_failing_at_one_hop_are_one_incident_with_one_alert_and_one_recovery() {
    let mut a = Alerter::default();
    let p = policy(None, 12);
    let ev = a.observe(&down_at_kominfo(), &p, SETTLE, 0);
    assert_eq!(kinds(&ev), vec![(Kind::Alert, 0)]);
    assert_eq!(ev[0].incident.paths, vec!["portal", "balikan"]);
    assert_eq!(ev[0].incident.hop.as_deref(), Some("kominfo-router"));
    // Still down: nothing new.
    assert!(a.observe(&down_at_kominfo(), &p, SETTLE, MIN).is_empty());
    // Healthy, but not yet for the settle time.
    assert!(a.observe(&healthy(), &p, SETTLE, 10 * MIN).is_empty());
    let ev = a.observe(&healthy(), &p, SETTLE, 12 * MIN);
    assert_eq!(kinds(&ev), vec![(Kind::Recovery, 0)]);
    // The outage lasted until the paths turned healthy, not until the settle time ran out.
    assert_eq!(ev[0].duration(), Duration::from_secs(600));
    assert_eq!(a.open().count(), 0);
    assert!(a.observe(&healthy(), &p, SETTLE, 20 * MIN).is_empty());
}

#[test]
fn a_flapping_link_is_one_incident() {
    let mut a = Alerter::default();
    let p = policy(None, 12);
    let mut all = Vec::new();
    // Down one minute, up one minute, for twenty minutes; then up for good.
    for m in 0..20 {
        let v = if m % 2 == 0 {
            down_at_kominfo()
        } else {
            healthy()
        };
        all.extend(a.observe(&v, &p, SETTLE, m * MIN));
    }
    for m in 20..30 {
        all.extend(a.observe(&healthy(), &p, SETTLE, m * MIN));
    }
    assert_eq!(kinds(&all), vec![(Kind::Alert, 0), (Kind::Recovery, 0)]);
}

#[test]
fn reminders_come_at_the_interval_while_the_fault_lasts() {
    let mut a = Alerter::default();
    let p = policy(Some(1800), 12);
    let mut all = Vec::new();
    for m in 0..=65 {
        all.extend(a.observe(&down_at_kominfo(), &p, SETTLE, m * MIN));
    }
    assert_eq!(
        kinds(&all),
        vec![(Kind::Alert, 0), (Kind::Reminder, 1), (Kind::Reminder, 2)]
    );
    assert_eq!(all[1].at_ms, 30 * MIN);
    assert_eq!(all[2].at_ms, 60 * MIN);
}

#[test]
fn the_hour_budget_holds_new_alerts_and_never_a_recovery() {
    let mut a = Alerter::default();
    let p = policy(None, 1);
    let ev = a.observe(
        &[verdict(
            "portal",
            State::Down,
            Some(("opd-router", "kominfo-router")),
        )],
        &p,
        SETTLE,
        0,
    );
    assert_eq!(kinds(&ev), vec![(Kind::Alert, 0)]);
    // Another fault elsewhere while the budget is spent: held, not lost.
    let other = vec![
        verdict(
            "portal",
            State::Down,
            Some(("opd-router", "kominfo-router")),
        ),
        verdict(
            "balikan",
            State::Down,
            Some(("dukcapil-router", "data-balikan")),
        ),
    ];
    assert!(a.observe(&other, &p, SETTLE, MIN).is_empty());
    assert_eq!(a.open().count(), 2);
    // An hour on, the held alert goes.
    let ev = a.observe(&other, &p, SETTLE, 61 * MIN);
    assert_eq!(kinds(&ev), vec![(Kind::Alert, 0)]);
    assert_eq!(ev[0].incident.hop.as_deref(), Some("data-balikan"));
    // Both end: the budget is spent, yet both recoveries go.
    a.observe(&healthy(), &p, SETTLE, 62 * MIN);
    let ev = a.observe(&healthy(), &p, SETTLE, 65 * MIN);
    assert_eq!(kinds(&ev), vec![(Kind::Recovery, 0), (Kind::Recovery, 0)]);
}

#[rstest]
#[case::unknown_keeps_it_open(State::Unknown)]
#[case::degraded_keeps_it_open(State::Degraded)]
fn an_incident_closes_only_when_every_path_is_healthy(#[case] balikan: State) {
    let mut a = Alerter::default();
    let p = policy(None, 12);
    a.observe(&down_at_kominfo(), &p, SETTLE, 0);
    let partly = vec![
        verdict("portal", State::Healthy, None),
        verdict("balikan", balikan, Some(("opd-router", "kominfo-router"))),
    ];
    for m in 1..20 {
        assert!(a.observe(&partly, &p, SETTLE, m * MIN).is_empty());
    }
    assert_eq!(a.open().count(), 1);
}

#[test]
fn the_state_survives_a_restart_without_repeating_the_alert() {
    let mut a = Alerter::default();
    let p = policy(Some(1800), 12);
    a.observe(&down_at_kominfo(), &p, SETTLE, 0);
    let json = serde_json::to_string(&a).expect("serialise");
    let mut b: Alerter = serde_json::from_str(&json).expect("deserialise");
    assert!(b.observe(&down_at_kominfo(), &p, SETTLE, MIN).is_empty());
    let ev = b.observe(&healthy(), &p, SETTLE, 2 * MIN);
    assert!(ev.is_empty());
    let ev = b.observe(&healthy(), &p, SETTLE, 5 * MIN);
    assert_eq!(kinds(&ev), vec![(Kind::Recovery, 0)]);
}

#[test]
fn idempotency_keys_differ_by_kind_seq_and_notifier_and_repeat_for_the_same_event() {
    let mut a = Alerter::default();
    let p = vec![
        Policy {
            notifier: "a".into(),
            reminder: Some(Duration::from_secs(60)),
            max_per_hour: 12,
        },
        Policy {
            notifier: "b".into(),
            reminder: None,
            max_per_hour: 12,
        },
    ];
    let mut all = a.observe(&down_at_kominfo(), &p, SETTLE, 0);
    all.extend(a.observe(&down_at_kominfo(), &p, SETTLE, MIN));
    let keys: BTreeSet<String> = all.iter().map(Event::key).collect();
    assert_eq!(keys.len(), all.len(), "{keys:?}");
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].key(), all[0].clone().key());
}

#[test]
fn an_alert_waits_briefly_for_the_verdict_to_name_the_hop() {
    let mut a = Alerter::default();
    let p = policy(None, 12);
    let unsure = vec![verdict("portal", State::Down, None)];
    assert!(a.observe(&unsure, &p, SETTLE, 0).is_empty());
    let sure = vec![verdict(
        "portal",
        State::Down,
        Some(("opd-router", "kominfo-router")),
    )];
    let ev = a.observe(&sure, &p, SETTLE, 2_000);
    assert_eq!(kinds(&ev), vec![(Kind::Alert, 0)]);
    assert_eq!(ev[0].incident.hop.as_deref(), Some("kominfo-router"));
    // A verdict that never names a hop still alerts, after HOP_WAIT.
    let mut b = Alerter::default();
    assert!(b.observe(&unsure, &p, SETTLE, 0).is_empty());
    assert!(b.observe(&unsure, &p, SETTLE, 29_000).is_empty());
    assert_eq!(
        kinds(&b.observe(&unsure, &p, SETTLE, 30_000)),
        vec![(Kind::Alert, 0)]
    );
}

#[test]
fn a_fault_inside_a_maintenance_window_is_told_only_if_it_outlasts_it() {
    let mut a = Alerter::default();
    let p = policy(Some(3600), 12);
    let both: BTreeSet<String> = ["portal", "balikan"].map(String::from).into();
    let portal_only: BTreeSet<String> = ["portal"].map(String::from).into();
    // Inside the window: tracked, not told, no reminder either.
    assert!(
        a.observe_quiet(&down_at_kominfo(), &p, SETTLE, 0, &both)
            .is_empty()
    );
    assert_eq!(a.open().count(), 1);
    assert!(
        a.observe_quiet(&down_at_kominfo(), &p, SETTLE, 2 * 3_600_000, &both)
            .is_empty()
    );
    // Half the incident's paths out of their window: the fault is real for the other one.
    let ev = a.observe_quiet(
        &down_at_kominfo(),
        &p,
        SETTLE,
        2 * 3_600_000 + MIN,
        &portal_only,
    );
    assert_eq!(kinds(&ev), vec![(Kind::Alert, 0)]);

    // A fault that heals inside its window is never told, nor its recovery.
    let mut b = Alerter::default();
    assert!(
        b.observe_quiet(&down_at_kominfo(), &p, SETTLE, 0, &both)
            .is_empty()
    );
    assert!(
        b.observe_quiet(&healthy(), &p, SETTLE, MIN, &both)
            .is_empty()
    );
    assert!(
        b.observe_quiet(&healthy(), &p, SETTLE, 20 * MIN, &both)
            .is_empty()
    );
    assert_eq!(b.open().count(), 0);

    // Told before the window began: the recovery still goes, so nobody waits on a link that
    // is back.
    let mut c = Alerter::default();
    assert_eq!(c.observe(&down_at_kominfo(), &p, SETTLE, 0).len(), 1);
    assert!(
        c.observe_quiet(&healthy(), &p, SETTLE, MIN, &both)
            .is_empty()
    );
    let ev = c.observe_quiet(&healthy(), &p, SETTLE, 20 * MIN, &both);
    assert_eq!(kinds(&ev), vec![(Kind::Recovery, 0)]);
}
