use std::time::Duration;

use rstest::rstest;

use super::*;
use crate::notify::incident::tests::{fixture, verdict};
use crate::notify::incident::{Alerter, Policy};

/// 4 December 2026 03:42 UTC = 10.42 WIB.
const T0: i64 = 1_796_355_720_000;
const MIN: i64 = 60_000;

/// A path, its state, and where it fails (last good hop, first bad hop).
type Case<'a> = (&'a str, State, Option<(&'a str, &'a str)>);

fn events(paths: &[Case<'_>]) -> Vec<Event> {
    let mut a = Alerter::default();
    let p = vec![Policy {
        notifier: "grup".into(),
        reminder: Some(Duration::from_secs(3600)),
        max_per_hour: 12,
    }];
    let bad: Vec<_> = paths.iter().map(|(p, s, h)| verdict(p, *s, *h)).collect();
    let good: Vec<_> = paths
        .iter()
        .map(|(p, _, _)| verdict(p, State::Healthy, None))
        .collect();
    let mut out = a.observe(&bad, &p, Duration::from_secs(120), T0);
    out.extend(a.observe(&bad, &p, Duration::from_secs(120), T0 + 65 * MIN));
    out.extend(a.observe(&good, &p, Duration::from_secs(120), T0 + 97 * MIN));
    out.extend(a.observe(&good, &p, Duration::from_secs(120), T0 + 100 * MIN));
    out
}

#[test]
fn both_services_down_at_the_diskominfo_router() {
    let t = fixture();
    let ev = events(&[
        (
            "portal",
            State::Down,
            Some(("opd-router", "kominfo-router")),
        ),
        (
            "balikan",
            State::Down,
            Some(("opd-router", "kominfo-router")),
        ),
    ]);
    assert_eq!(ev.len(), 3, "alert, reminder, recovery: {ev:?}");
    let texts: Vec<String> = ev
        .iter()
        .map(|e| {
            let m = render(&t, e);
            format!("Subject: {}\n{}", m.subject, m.text)
        })
        .collect();
    insta::assert_snapshot!(texts.join("\n\n=====\n\n"));
}

#[test]
fn the_portal_slow_at_dukcapil() {
    let t = fixture();
    let ev = events(&[(
        "portal",
        State::Degraded,
        Some(("dukcapil-router", "web-portal")),
    )]);
    let m = render(&t, &ev[0]);
    insta::assert_snapshot!(format!("Subject: {}\n{}", m.subject, m.text));
}

#[test]
fn the_alert_names_the_hop_its_address_the_time_in_wib_and_the_right_contacts() {
    let t = fixture();
    let ev = events(&[(
        "portal",
        State::Down,
        Some(("opd-router", "kominfo-router")),
    )]);
    let m = render(&t, &ev[0]);
    assert!(
        m.text.contains("Router Diskominfo (198.51.100.2)"),
        "{}",
        m.text
    );
    assert!(m.text.contains("4 Desember 2026 10.42 WIB"), "{}", m.text);
    assert!(
        m.text.contains("cek NIK ditahan, kuota tidak terpakai"),
        "{}",
        m.text
    );
    assert!(m.text.contains("Piket Jaringan Diskominfo"), "{}", m.text);
    assert!(
        !m.text.contains("Tim Teknis Jaringan"),
        "only the hop's party: {}",
        m.text
    );
}

#[rstest]
#[case(Duration::from_secs(30), "kurang dari 1 menit")]
#[case(Duration::from_secs(5 * 60), "5 menit")]
#[case(Duration::from_secs(3900), "1 jam 5 menit")]
#[case(Duration::from_secs(26 * 3600), "1 hari 2 jam")]
fn durations_read_in_indonesian(#[case] d: Duration, #[case] words: &str) {
    assert_eq!(lama(d), words);
}
