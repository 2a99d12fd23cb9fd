use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use rstest::rstest;

use super::*;
use crate::topology::{self, PathId};

fn chain3() -> Topology {
    let text = include_str!("../../../tests/fixtures/chain3/topology.yaml");
    let profiles = |_: &Path| Some(BTreeSet::<String>::new());
    topology::parse(text, Path::new("chain3.yaml"), &profiles).expect("chain3 topology")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

/// A hop answered by `addr` (None: silent), `received` of 10.
fn hop(ttl: u8, addr: Option<&str>, received: usize) -> Hop {
    Hop {
        ttl,
        addrs: addr.map(ip).into_iter().collect(),
        sent: 10,
        received,
        loss_ratio: (10 - received) as f64 / 10.0,
        rtt: addr.map(|_| Rtt {
            min_ms: 1.0,
            p50_ms: 1.0,
            p90_ms: 1.0,
            max_ms: 1.0,
        }),
        unreachable: false,
        node: None,
        note: String::new(),
    }
}

fn trace(hops: Vec<Hop>) -> Trace {
    let reached = hops
        .last()
        .is_some_and(|h| h.addrs.first() == Some(&ip("203.0.113.2")));
    Trace {
        target: ip("203.0.113.2"),
        protocol: Protocol::Tcp,
        port: Some(8443),
        path: Some("portal".into()),
        started_unix_ms: 0,
        duration_ms: 0,
        rounds: 10,
        bytes_spent: 0,
        reached,
        hops,
        summary: String::new(),
    }
}

fn compared(hops: Vec<Hop>) -> Trace {
    let t = chain3();
    let route = &t.path(&PathId::new("portal")).expect("portal").routes[0];
    let mut tr = trace(hops);
    compare(&mut tr, Some((&t, route)));
    tr
}

#[test]
fn hops_are_named_silent_ones_inferred_and_strangers_called_out() {
    let tr = compared(vec![
        hop(1, Some("198.51.100.1"), 10),
        hop(2, None, 0),
        hop(3, Some("198.51.100.130"), 10),
        hop(4, Some("198.51.100.200"), 10),
        hop(5, Some("203.0.113.2"), 10),
    ]);
    let notes: Vec<&str> = tr.hops.iter().map(|h| h.note.as_str()).collect();
    assert_eq!(
        notes,
        [
            "hop 1 (198.51.100.1) = Router Diskominfo (kominfo-router)",
            "hop 2 diam (tidak menjawab); menurut topologi: Router Antara",
            "hop 3 (198.51.100.130) = Router Disdukcapil (dukcapil-router)",
            "hop 4 menjawab dari alamat yang tidak dideklarasikan topologi (198.51.100.200)",
            "hop 5 (203.0.113.2) = Web Portal (web-portal)",
        ]
    );
    assert_eq!(tr.hops[3].node, None);
}

#[test]
fn a_silent_hop_is_named_only_when_the_count_of_declared_nodes_fits() {
    let tr = compared(vec![
        hop(1, Some("198.51.100.1"), 10),
        hop(2, None, 0),
        hop(3, Some("198.51.100.130"), 10),
        hop(4, Some("203.0.113.2"), 10),
    ]);
    // Two silent hops where the topology declares one router: no guess.
    let unsure = compared(vec![
        hop(1, Some("198.51.100.1"), 10),
        hop(2, None, 0),
        hop(3, None, 0),
        hop(4, Some("198.51.100.130"), 10),
    ]);
    assert_eq!(unsure.hops[1].node, None);
    assert_eq!(unsure.hops[2].note, "hop 3 diam (tidak menjawab)");
    assert_eq!(
        tr.hops[1].note,
        "hop 2 diam (tidak menjawab); menurut topologi: Router Antara"
    );
    assert_eq!(tr.hops[1].node, Some("antara-router".to_string()));
    assert!(
        tr.summary
            .starts_with("Tujuan 203.0.113.2 terjangkau dalam 4 hop"),
        "{}",
        tr.summary
    );
}

#[rstest]
#[case::loss_on_the_path(
    [10, 10, 6, 5],
    "rugi paket mulai di hop 3 (dukcapil-router) dan berlanjut sampai tujuan (50%)"
)]
#[case::a_router_limits_its_answers(
    [4, 10, 10, 10],
    "rugi paket di hop 1 tidak berlanjut ke hop berikutnya"
)]
fn loss_that_carries_on_is_told_from_a_router_that_limits_answers(
    #[case] received: [usize; 4],
    #[case] said: &str,
) {
    let tr = compared(vec![
        hop(1, Some("198.51.100.1"), received[0]),
        hop(2, None, 0),
        hop(3, Some("198.51.100.130"), received[2]),
        hop(4, Some("203.0.113.2"), received[3]),
    ]);
    assert!(tr.summary.contains(said), "{}", tr.summary);
    // The silent hop is not loss.
    assert!(!tr.summary.contains("hop 2"), "{}", tr.summary);
}

#[test]
fn an_unreached_target_names_the_last_hop_that_answered() {
    let tr = compared(vec![
        hop(1, Some("198.51.100.1"), 10),
        hop(2, None, 0),
        hop(3, None, 0),
    ]);
    assert!(!tr.reached);
    assert_eq!(
        tr.summary,
        "Tujuan 203.0.113.2 tidak terjangkau: jawaban terakhir dari hop 1 (kominfo-router)."
    );
}

#[rstest]
#[case::cut_to_fit(100_000, 10)]
#[case::fewer_rounds(10_000, 3)]
fn the_rounds_fit_the_budget(#[case] allowed: u64, #[case] rounds: usize) {
    let cfg = Config::new(ip("203.0.113.2"), Protocol::Tcp, 443)
        .within(allowed)
        .expect("fits");
    assert_eq!(cfg.rounds, rounds);
    assert!(cfg.rounds as u64 * cfg.round_bytes() <= allowed);
}

#[test]
fn a_budget_smaller_than_one_round_is_an_error_that_says_so() {
    let e = Config::new(ip("203.0.113.2"), Protocol::Icmp, 0)
        .within(1000)
        .expect_err("too small");
    assert!(e.to_string().contains("costs 2688"), "{e}");
}

#[test]
fn a_router_that_says_unreachable_ends_the_trace() {
    let mut refused = hop(2, Some("198.51.100.130"), 10);
    refused.unreachable = true;
    let tr = compared(vec![hop(1, Some("198.51.100.1"), 10), refused]);
    assert_eq!(
        tr.hops[1].note,
        "hop 2 (198.51.100.130) = Router Disdukcapil (dukcapil-router): menjawab tujuan tidak dapat dijangkau"
    );
    assert_eq!(
        tr.summary,
        "Tujuan 203.0.113.2 tidak terjangkau: hop 2 (dukcapil-router) menjawab tujuan tidak dapat dijangkau."
    );
}
