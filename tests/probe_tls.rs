//! TLS probe against an in-process rustls server with rcgen certificates: pin by fingerprint,
//! pin by CA file, wrong pin, expired, name mismatch, self-signed detection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod probe_common;

use std::time::Duration;

use juknis::probe::profile::TlsSpec;
use juknis::probe::trust::Pin;
use juknis::probe::{Detail, Probe, Reason, Target, tls};
use probe_common::{ca_and_leaf, self_signed, tls_server};
use rstest::rstest;

async fn run(addr: std::net::SocketAddr, pin: Option<Pin>) -> juknis::probe::Outcome {
    let spec = TlsSpec {
        port: addr.port(),
        pin,
        server_name: None,
    };
    let probe = tls::TlsProbe::new(Target::socket(addr), spec, Duration::from_secs(5)).unwrap();
    probe.run().await.unwrap()
}

fn detail(o: &juknis::probe::Outcome) -> &tls::Detail {
    match &o.detail {
        Detail::Tls(d) => d,
        other => panic!("not a TLS detail: {other:?}"),
    }
}

#[derive(Debug, Clone, Copy)]
enum Case {
    PinnedOk,
    WrongPin,
    Expired,
    NameMismatch,
}

#[rstest]
#[case::valid_pin(Case::PinnedOk, None)]
#[case::wrong_pin(Case::WrongPin, Some("untrusted"))]
#[case::expired(Case::Expired, Some("expired"))]
#[case::name_mismatch(Case::NameMismatch, Some("name_mismatch"))]
#[tokio::test]
async fn pinned_self_signed(#[case] case: Case, #[case] want: Option<&str>) {
    let sans: &[&str] = match case {
        Case::NameMismatch => &["portal.other.example"],
        _ => &["127.0.0.1"],
    };
    let cert = self_signed(sans, matches!(case, Case::Expired));
    let addr = tls_server(vec![cert.der.clone()], cert.key_der(), "").await;
    let pin = match case {
        Case::WrongPin => Pin::parse_sha256(&"ab".repeat(32)),
        _ => Pin::parse_sha256(&cert.sha256()),
    };
    let o = run(addr, pin).await;
    assert_eq!(o.reason.as_ref().map(Reason::code), want, "{:?}", o.reason);
    assert_eq!(o.ok, want.is_none());
    // Whatever the verdict, the facts of the handshake are there.
    let d = detail(&o);
    assert_eq!(d.protocol.as_deref(), Some("TLSv1_3"));
    assert!(d.cipher.is_some());
    assert!(d.handshake.is_some());
    assert_eq!(d.chain_len, 1);
    let leaf = d.leaf.as_ref().unwrap();
    assert!(
        leaf.self_signed,
        "rcgen self-signed leaf is detected as such"
    );
    assert_eq!(leaf.sha256, cert.sha256());
    assert_eq!(d.trusted, !matches!(case, Case::WrongPin));
    if matches!(case, Case::Expired) {
        assert!(leaf.days_to_expiry < 0 && leaf.expired);
    } else {
        assert!(leaf.days_to_expiry > 300);
    }
    assert!(
        o.bytes_spent > 500,
        "a handshake costs more than {} bytes",
        o.bytes_spent
    );
}

#[tokio::test]
async fn ca_file_pin_trusts_a_signed_chain_and_refuses_another_ca() {
    let ((ca_der, ca_pem), leaf) = ca_and_leaf(&["127.0.0.1"]);
    let addr = tls_server(vec![leaf.der.clone(), ca_der], leaf.key_der(), "").await;
    let pin = Pin::from_ca_pem(std::path::Path::new("test-ca.pem"), ca_pem.as_bytes()).unwrap();
    let o = run(addr, Some(pin)).await;
    assert!(o.ok, "{:?}", o.reason);
    let d = detail(&o);
    assert!(d.trusted);
    assert_eq!(d.chain_len, 2);
    assert!(!d.leaf.as_ref().unwrap().self_signed);

    let ((_, other_pem), _) = ca_and_leaf(&["127.0.0.1"]);
    let other =
        Pin::from_ca_pem(std::path::Path::new("other-ca.pem"), other_pem.as_bytes()).unwrap();
    let o = run(addr, Some(other)).await;
    assert_eq!(o.reason.as_ref().map(Reason::code), Some("untrusted"));
    assert!(detail(&o).leaf.is_some(), "details are still reported");
}

#[tokio::test]
async fn no_pin_is_never_silently_trusted() {
    let cert = self_signed(&["127.0.0.1"], false);
    let addr = tls_server(vec![cert.der.clone()], cert.key_der(), "").await;
    let o = run(addr, None).await;
    match &o.reason {
        Some(Reason::Untrusted { why }) => assert!(!why.is_empty()),
        other => panic!("expected untrusted, got {other:?}"),
    }
    assert_eq!(
        detail(&o).leaf.as_ref().unwrap().sha256,
        cert.sha256(),
        "the fingerprint to pin is shown"
    );
}

#[tokio::test]
async fn refused_port_is_an_outcome() {
    let addr = probe_common::closed_port().await;
    let o = run(addr, Pin::parse_sha256(&"00".repeat(32))).await;
    assert_eq!(o.reason, Some(Reason::Refused));
}
