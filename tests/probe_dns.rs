//! DNS probe against an in-process UDP responder on 127.0.0.1:0 built from hickory-proto types.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod probe_common;

use std::time::Duration;

use juknis::probe::dns::DnsProbe;
use juknis::probe::profile::{DnsSpec, RecordKind};
use juknis::probe::{Detail, Probe, Reason, Target};
use probe_common::{DnsMode, dns_server};
use rstest::rstest;

#[rstest]
#[case::answer(DnsMode::Answer, None, Some("NoError"))]
#[case::nxdomain(DnsMode::NxDomain, Some("nxdomain"), Some("NXDomain"))]
#[case::servfail(DnsMode::ServFail, Some("dns_error"), Some("ServFail"))]
#[case::silent(DnsMode::Silent, Some("timeout"), None)]
#[tokio::test]
async fn lookups(#[case] mode: DnsMode, #[case] want: Option<&str>, #[case] rcode: Option<&str>) {
    let server = dns_server(mode).await;
    let spec = DnsSpec {
        server: None,
        port: 53,
        query: "portal.dukcapil.example.".to_owned(),
        record: RecordKind::A,
    };
    let p = DnsProbe::new(Target::socket(server), spec, Duration::from_millis(500)).unwrap();
    let o = p.run().await.unwrap();
    assert_eq!(o.reason.as_ref().map(Reason::code), want, "{:?}", o.reason);
    let Detail::Dns(d) = &o.detail else {
        panic!("not dns")
    };
    assert_eq!(
        d.rcode.as_deref().map(|r| r.split(' ').next().unwrap_or(r)),
        rcode
    );
    if matches!(mode, DnsMode::Answer) {
        assert_eq!(d.answers, vec!["192.0.2.10".to_owned()]);
        assert!(d.time.is_some());
    }
    assert!(o.bytes_spent > 28);
}

#[tokio::test]
async fn a_name_is_not_a_server() {
    let spec = DnsSpec {
        server: None,
        port: 53,
        query: "x.example.".to_owned(),
        record: RecordKind::A,
    };
    assert!(
        DnsProbe::new(
            Target::parse("resolver.example").unwrap(),
            spec,
            Duration::from_secs(1)
        )
        .is_err()
    );
}
