//! HTTP(S) probe phases and conditions against in-process servers, and the reflector-based
//! throughput test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod probe_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use juknis::probe::bandwidth::BandwidthProbe;
use juknis::probe::http::HttpProbe;
use juknis::probe::profile::{BandwidthSpec, Endpoint, HttpSpec, ThroughputSpec};
use juknis::probe::trust::Pin;
use juknis::probe::{Detail, Probe, Reason, Target};
use rstest::rstest;

async fn http_server() -> std::net::SocketAddr {
    let app = Router::new()
        .route("/", get(|| async { "Selamat datang di portal juknis" }))
        .route(
            "/missing",
            get(|| async { (axum::http::StatusCode::NOT_FOUND, "no") }),
        )
        .merge(juknis::reflector::router());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    a
}

fn endpoint(tls: bool, path: &str, pin: Option<Pin>) -> Endpoint {
    Endpoint {
        tls,
        port: None,
        path: path.to_owned(),
        url: None,
        pin,
        server_name: None,
    }
}

fn spec(path: &str, contains: Option<&str>) -> HttpSpec {
    HttpSpec {
        endpoint: endpoint(false, path, None),
        expected_status: vec![200],
        body_contains: contains.map(str::to_owned),
        max_body_bytes: 64 * 1024,
    }
}

#[rstest]
#[case::ok("/", Some("portal juknis"), None)]
#[case::bad_status("/missing", None, Some("bad_status"))]
#[case::body_mismatch("/", Some("Data Ditemukan"), Some("body_mismatch"))]
#[tokio::test]
async fn plain_http_conditions(
    #[case] path: &str,
    #[case] contains: Option<&str>,
    #[case] want: Option<&str>,
) {
    let addr = http_server().await;
    let p = HttpProbe::new(
        Target::socket(addr),
        spec(path, contains),
        Duration::from_secs(5),
    )
    .unwrap();
    let o = p.run().await.unwrap();
    assert_eq!(o.reason.as_ref().map(Reason::code), want, "{:?}", o.reason);
    let Detail::Http(d) = &o.detail else {
        panic!("not http")
    };
    assert!(d.status.is_some());
    assert!(
        d.phases.connect.is_some() && d.phases.first_byte.is_some() && d.phases.total.is_some()
    );
    assert!(d.phases.dns.is_none(), "an IP target has no DNS phase");
    assert!(d.phases.tls.is_none());
    assert!(o.bytes_spent > d.body_bytes);
}

#[tokio::test]
async fn name_target_has_a_dns_phase() {
    let addr = http_server().await;
    let t = Target::parse(&format!("http://localhost:{}/", addr.port())).unwrap();
    let p = HttpProbe::new(t, spec("/", None), Duration::from_secs(5)).unwrap();
    let o = p.run().await.unwrap();
    let Detail::Http(d) = &o.detail else {
        panic!("not http")
    };
    assert!(d.phases.dns.is_some(), "{:?}", o);
}

#[tokio::test]
async fn refused_is_an_outcome() {
    let addr = probe_common::closed_port().await;
    let p = HttpProbe::new(
        Target::socket(addr),
        spec("/", None),
        Duration::from_secs(5),
    )
    .unwrap();
    assert_eq!(p.run().await.unwrap().reason, Some(Reason::Refused));
}

const OK_RESPONSE: &str =
    "HTTP/1.1 200 OK\r\nContent-Length: 22\r\nConnection: close\r\n\r\nSelamat datang, juknis";

#[rstest]
#[case::pinned(true, false, None)]
#[case::wrong_pin(false, false, Some("untrusted"))]
#[case::pinned_but_expired(true, true, Some("expired"))]
#[tokio::test]
async fn https_with_pin(
    #[case] right_pin: bool,
    #[case] expired: bool,
    #[case] want: Option<&str>,
) {
    let cert = probe_common::self_signed(&["127.0.0.1"], expired);
    let addr = probe_common::tls_server(vec![cert.der.clone()], cert.key_der(), OK_RESPONSE).await;
    let pin = if right_pin {
        Pin::parse_sha256(&cert.sha256())
    } else {
        Pin::parse_sha256(&"11".repeat(32))
    };
    let mut s = spec("/", Some("juknis"));
    s.endpoint = endpoint(true, "/", pin);
    let p = HttpProbe::new(Target::socket(addr), s, Duration::from_secs(5)).unwrap();
    let o = p.run().await.unwrap();
    assert_eq!(o.reason.as_ref().map(Reason::code), want, "{:?}", o.reason);
    let Detail::Http(d) = &o.detail else {
        panic!("not http")
    };
    let tls = d.tls.as_ref().unwrap();
    assert_eq!(tls.leaf.as_ref().unwrap().sha256, cert.sha256());
    if right_pin {
        assert_eq!(d.status, Some(200));
        assert!(d.phases.tls.is_some());
    } else {
        assert_eq!(d.status, None, "no request is sent to an untrusted server");
    }
}

#[tokio::test]
async fn throughput_against_the_reflector_reports_estimate_and_bytes() {
    let addr = http_server().await;
    let spec = BandwidthSpec::Throughput(ThroughputSpec {
        endpoint: endpoint(false, "/reflect?bytes=3000000", None),
        duration: Duration::from_secs(5),
        max_bytes: 1_000_000,
    });
    let seen = Arc::new(AtomicU64::new(0));
    let seen2 = seen.clone();
    let p = BandwidthProbe::new(Target::socket(addr), spec, Duration::from_secs(5))
        .unwrap()
        .with_progress(Arc::new(move |bytes, _| {
            seen2.store(bytes, Ordering::Relaxed)
        }));
    let o = p.run().await.unwrap();
    assert!(o.ok, "{:?}", o.reason);
    let Detail::Bandwidth(d) = &o.detail else {
        panic!("not bandwidth")
    };
    assert!(
        d.body_bytes >= 1_000_000 && d.body_bytes < 3_000_000,
        "stops at the first frame past the cap (it was on the wire, so it counts): {}",
        d.body_bytes
    );
    assert!(d.estimate_bps.unwrap() > 1e6, "loopback is fast");
    assert!(o.bytes_spent >= d.body_bytes);
    assert_eq!(
        seen.load(Ordering::Relaxed),
        d.body_bytes,
        "progress saw every byte"
    );
    let json = serde_json::to_value(&o).unwrap();
    assert!(json["detail"]["bandwidth"]["estimate_bps"].is_number());
    assert!(json["bytes_spent"].is_u64());
}

/// A download with a byte budget stays within it even where the data comes faster than it is
/// read (loopback): the read that crosses the cap holds at most the receive window.
#[tokio::test]
async fn a_budgeted_download_spends_no_more_than_its_budget() {
    let addr = http_server().await;
    for budget in [40_000_u64, 61_000, 120_000] {
        let spec = BandwidthSpec::Throughput(ThroughputSpec {
            endpoint: endpoint(false, "/reflect?bytes=3000000", None),
            duration: Duration::from_secs(5),
            max_bytes: 2_000_000,
        });
        let o = BandwidthProbe::new(Target::socket(addr), spec, Duration::from_secs(5))
            .unwrap()
            .with_budget(budget)
            .run()
            .await
            .unwrap();
        assert!(
            o.bytes_spent <= budget,
            "{} bytes spent of {budget}: {:?}",
            o.bytes_spent,
            o.detail
        );
    }
}

#[tokio::test]
async fn reflector_caps_and_sends_incompressible_bytes() {
    let addr = http_server().await;
    let mut s = spec("/reflect?bytes=100000", None);
    s.max_body_bytes = 10_000_000;
    let p = HttpProbe::new(Target::socket(addr), s, Duration::from_secs(5)).unwrap();
    let o = p.run().await.unwrap();
    let Detail::Http(d) = &o.detail else {
        panic!("not http")
    };
    assert_eq!(d.body_bytes, 100_000);
}

#[tokio::test]
async fn shipped_throughput_profile_runs_against_a_reflector() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("probes/throughput.yaml");
    let profile = juknis::probe::profile::load_file(&dir).unwrap();
    let addr = http_server().await;
    // The target's port wins over the profile's.
    let probe = juknis::probe::build(&profile, &Target::socket(addr)).unwrap();
    let o = probe.run().await.unwrap();
    assert!(o.ok, "{:?}", o.reason);
    assert!(o.measures().bandwidth_bps.is_some());
    assert!(o.bytes_spent >= 2_000_000 && o.bytes_spent <= probe.cost_bytes() + 1_000_000);
}
