//! ICMP rounds and packet trains against 127.0.0.1 (needs root: skips with a reason otherwise,
//! fails under CI=true), and TCP connect outcomes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod probe_common;

use std::time::Duration;

use juknis::probe::bandwidth::BandwidthProbe;
use juknis::probe::icmp::IcmpProbe;
use juknis::probe::profile::{BandwidthSpec, IcmpSpec, TrainSpec};
use juknis::probe::tcp::TcpProbe;
use juknis::probe::{Detail, Kind, Probe, Reason, Target};

#[tokio::test]
async fn echo_round_on_loopback() {
    if !probe_common::need_root("echo_round_on_loopback") {
        return;
    }
    let spec = IcmpSpec {
        count: 5,
        spacing: Duration::from_millis(20),
        size: 56,
    };
    let p = IcmpProbe::new(
        Target::parse("127.0.0.1").unwrap(),
        spec,
        Duration::from_secs(1),
    );
    let o = p.run().await.unwrap();
    assert!(o.ok, "{:?}", o.reason);
    assert_eq!(o.kind, Kind::Icmp);
    let Detail::Icmp(d) = &o.detail else {
        panic!("not icmp")
    };
    assert_eq!((d.sent, d.received), (5, 5));
    assert_eq!(d.socket, "raw");
    let rtt = d.rtt.as_ref().unwrap();
    assert_eq!(rtt.sorted_rtts.len(), 5);
    assert!(rtt.min <= rtt.p50 && rtt.p50 <= rtt.max);
    assert!(rtt.max < Duration::from_millis(100));
    // 5 requests + 5 replies of 20 + 8 + 56 bytes.
    assert_eq!(o.bytes_spent, 10 * 84);
    assert_eq!(o.bytes_spent, p.cost_bytes());
}

#[tokio::test]
async fn packet_trains_on_loopback() {
    if !probe_common::need_root("packet_trains_on_loopback") {
        return;
    }
    let spec = TrainSpec {
        trains: 3,
        train_len: 5,
        size: 1000,
        gap: Duration::from_millis(10),
        byte_budget: 100_000,
    };
    let p = BandwidthProbe::new(
        Target::parse("127.0.0.1").unwrap(),
        BandwidthSpec::Trains(spec.clone()),
        Duration::from_secs(1),
    )
    .unwrap();
    let o = p.run().await.unwrap();
    let Detail::Bandwidth(d) = &o.detail else {
        panic!("not bandwidth")
    };
    assert_eq!(d.method, "trains");
    assert_eq!(d.lost, 0);
    // Trains lengthen while they fit in the (here unlimited) burst, within the byte budget:
    // at least the first schedule is sent, never more than the budget the scheduler reserves.
    assert!(o.bytes_spent >= spec.cost_bytes(), "{}", o.bytes_spent);
    assert!(o.bytes_spent <= spec.byte_budget);
    assert_eq!(p.cost_bytes(), spec.byte_budget);
    // Loopback has no bottleneck worth the name; when the replies spread at all the estimate
    // is large.
    if let Some(bps) = d.estimate_bps {
        assert!(bps > 1e6, "{bps}");
    }
}

#[tokio::test]
async fn tcp_connect_and_refusal() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = l.local_addr().unwrap();
    let p = TcpProbe::new(Target::socket(open), 1, Duration::from_secs(2));
    let o = p.run().await.unwrap();
    assert!(o.ok);
    let Detail::Tcp(d) = &o.detail else {
        panic!("not tcp")
    };
    assert!(d.connect.is_some());
    assert!(o.bytes_spent > 0);

    let closed = probe_common::closed_port().await;
    let o = TcpProbe::new(Target::socket(closed), 1, Duration::from_secs(2))
        .run()
        .await
        .unwrap();
    assert_eq!(o.reason, Some(Reason::Refused));
    let json = serde_json::to_value(&o).unwrap();
    assert_eq!(json["reason"]["code"], "refused");
}

#[tokio::test]
async fn concurrent_rounds_share_one_socket_without_stealing_replies() {
    if !probe_common::need_root("concurrent_rounds_share_one_socket_without_stealing_replies") {
        return;
    }
    let sockets = juknis::probe::icmp::Sockets::open().unwrap();
    let spec = IcmpSpec {
        count: 8,
        spacing: Duration::from_millis(5),
        size: 32,
    };
    let probes: Vec<IcmpProbe> = ["127.0.0.1", "127.0.0.2", "127.0.0.1"]
        .iter()
        .map(|t| {
            IcmpProbe::new(
                Target::parse(t).unwrap(),
                spec.clone(),
                Duration::from_secs(1),
            )
            .with_sockets(sockets.clone())
        })
        .collect();
    let outcomes = futures_util::future::join_all(probes.iter().map(|p| p.run())).await;
    for o in outcomes {
        let o = o.unwrap();
        let Detail::Icmp(d) = &o.detail else {
            panic!("not icmp")
        };
        assert_eq!(d.received, 8, "{}: {:?}", o.target, d);
    }
}
