//! Profiles: every shipped file loads, every shipped profile builds a probe, and bad files are
//! reported with file:line:column.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use juknis::probe::profile::{self, BandwidthSpec, Spec};
use juknis::probe::{self, Kind, Target};
use rstest::rstest;

fn shipped() -> std::collections::BTreeMap<String, juknis::probe::Profile> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("probes");
    match profile::load_dir(&dir) {
        Ok(p) => p,
        Err(diags) => panic!(
            "{}",
            diags
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

#[test]
fn every_shipped_profile_loads() {
    let all = shipped();
    let names: Vec<&str> = all.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "bandwidth",
            "dns",
            "https",
            "icmp",
            "snmp",
            "tcp",
            "throughput",
            "tls"
        ]
    );
    match &all["snmp"].spec {
        Spec::Snmp(s) => {
            assert_eq!(all["snmp"].interval, Duration::from_secs(30));
            // Longer than net-snmp's 3 s interface cache, shorter than the interval.
            assert!(s.min_window > Duration::from_secs(3) && s.min_window < all["snmp"].interval);
        }
        other => panic!("{other:?}"),
    }
    let icmp = &all["icmp"];
    assert_eq!(icmp.kind, Kind::Icmp);
    assert_eq!(icmp.interval, Duration::from_secs(60));
    assert_eq!(icmp.thresholds.loss_warn, Some(0.02));
    assert_eq!(icmp.thresholds.rtt_crit, Some(Duration::from_millis(400)));
    match &all["bandwidth"].spec {
        Spec::Bandwidth(BandwidthSpec::Trains(t)) => assert!(t.cost_bytes() <= t.byte_budget),
        other => panic!("{other:?}"),
    }
    match &all["https"].spec {
        Spec::Http(h) => {
            assert_eq!(h.expected_status, vec![200]);
            assert!(h.endpoint.pin.is_some() && h.endpoint.tls);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_shipped_profile_builds_a_probe() {
    for (name, p) in shipped() {
        let target = Target::parse("127.0.0.1").unwrap();
        if p.kind == Kind::Snmp {
            // An SNMP profile polls a link's interface, named in the link's `snmp:`.
            let e = probe::build(&p, &target).err().map(|e| e.to_string());
            assert!(e.is_some_and(|e| e.contains("`snmp:`")), "{name}");
            continue;
        }
        let built = probe::build(&p, &target).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(built.kind(), p.kind);
        assert!(built.cost_bytes() > 0, "{name}");
    }
}

fn diags(text: &str) -> Vec<String> {
    let file = Path::new("probes/bad.yaml");
    match profile::parse_str("bad", file, Path::new("."), text) {
        Ok(p) => panic!("accepted: {p:?}"),
        Err(d) => d.iter().map(ToString::to_string).collect(),
    }
}

#[rstest]
#[case::unknown_field("kind: icmp\ncount: 3\ncuont: 4\n", "probes/bad.yaml:3:1")]
#[case::unknown_kind("kind: smoke\n", "probes/bad.yaml:1:7")]
#[case::no_unit("kind: icmp\ninterval: 5\n", "probes/bad.yaml:2:11")]
#[case::bad_duration("kind: icmp\ninterval: soon\n", "probes/bad.yaml:2:11")]
#[case::field_of_other_kind("kind: icmp\nport: 443\n", "probes/bad.yaml:2:7")]
#[case::tcp_needs_port("kind: tcp\n", "probes/bad.yaml:1:7")]
#[case::crit_below_warn(
    "kind: icmp\nthresholds:\n  loss_warn: 10%\n  loss_crit: 2%\n",
    "probes/bad.yaml:4:14"
)]
#[case::bad_pin("kind: tls\npin:\n  sha256: nope\n", "probes/bad.yaml:3:3")]
#[case::over_budget(
    "kind: bandwidth\ntrains: 100\ntrain_len: 50\nsize: 1400\nbyte_budget: 10 KiB\n",
    "probes/bad.yaml:5:14"
)]
#[case::snmp_window_over_interval(
    "kind: snmp\ninterval: 5s\nmin_window: 10s\n",
    "probes/bad.yaml:3:13"
)]
#[case::snmp_field_elsewhere("kind: icmp\nmin_window: 10s\n", "probes/bad.yaml:2:13")]
fn bad_profiles_point_at_the_problem(#[case] text: &str, #[case] at: &str) {
    let d = diags(text);
    assert!(
        d.iter().any(|l| l.starts_with(at)),
        "wanted {at}, got {d:#?}"
    );
}

#[test]
fn all_problems_are_reported_together() {
    let d = diags("kind: icmp\ninterval: 5\ntimeout: later\nport: 1\n");
    assert_eq!(d.len(), 3, "{d:#?}");
}

#[test]
fn ca_file_pin_is_loaded_relative_to_the_profile() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&key).unwrap();
    std::fs::write(dir.path().join("dukcapil-ca.pem"), ca.pem()).unwrap();
    std::fs::write(
        dir.path().join("portal.yaml"),
        "kind: tls\nport: 443\npin:\n  ca_file: dukcapil-ca.pem\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "kind: tls\npin:\n  ca_file: missing.pem\n",
    )
    .unwrap();
    let d = profile::load_dir(dir.path()).unwrap_err();
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(d[0].to_string().contains("broken.yaml:3:3"), "{}", d[0]);
    std::fs::remove_file(dir.path().join("broken.yaml")).unwrap();
    let all = profile::load_dir(dir.path()).unwrap();
    match &all["portal"].spec {
        Spec::Tls(t) => assert!(matches!(
            t.pin,
            Some(juknis::probe::trust::Pin::CaFile { .. })
        )),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn shipped_icmp_profile_runs_over_shared_sockets() {
    let uid_root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    });
    if !uid_root {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "needs root under CI"
        );
        eprintln!("skipping: needs root (raw ICMP socket)");
        return;
    }
    let mut p = shipped()["icmp"].clone();
    if let Spec::Icmp(s) = &mut p.spec {
        // The shipped round is 10 echoes a second apart; keep the test quick.
        s.count = 3;
        s.spacing = Duration::from_millis(10);
    }
    let sockets = juknis::probe::icmp::Sockets::open().unwrap();
    let probe =
        probe::build_shared(&p, &Target::parse("127.0.0.1").unwrap(), Some(&sockets)).unwrap();
    let o = probe.run().await.unwrap();
    assert!(o.ok, "{:?}", o.reason);
    assert_eq!(o.measures().loss_ratio, Some(0.0));
}
