//! Shared harness for the probe tests: rcgen certificates, an in-process rustls server that
//! answers a fixed HTTP response, and an in-process DNS responder, all on 127.0.0.1:0.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// A certificate and its key.
pub struct Cert {
    pub der: CertificateDer<'static>,
    pub pem: String,
    pub key: KeyPair,
}

impl Cert {
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der()))
    }

    pub fn sha256(&self) -> String {
        juknis::probe::trust::fingerprint(self.der.as_ref())
    }
}

fn params(sans: &[&str], expired: bool) -> CertificateParams {
    let mut p =
        CertificateParams::new(sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(
        DnType::CommonName,
        sans.first().copied().unwrap_or("juknis test"),
    );
    if expired {
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2021, 1, 1);
    }
    p
}

/// A self-signed leaf for `sans` (IPs become IP SANs).
pub fn self_signed(sans: &[&str], expired: bool) -> Cert {
    let key = KeyPair::generate().unwrap();
    let cert = params(sans, expired).self_signed(&key).unwrap();
    Cert {
        der: cert.der().clone(),
        pem: cert.pem(),
        key,
    }
}

/// A CA (DER, PEM) and a leaf it signed.
pub fn ca_and_leaf(sans: &[&str]) -> ((CertificateDer<'static>, String), Cert) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Juknis Test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = params(sans, false).signed_by(&leaf_key, &issuer).unwrap();
    (
        (ca_cert.der().clone(), ca_cert.pem()),
        Cert {
            der: leaf_cert.der().clone(),
            pem: leaf_cert.pem(),
            key: leaf_key,
        },
    )
}

/// A TLS server on 127.0.0.1:0 presenting `chain`; each connection gets `response` (raw HTTP)
/// after the request head, or nothing when `response` is empty.
pub async fn tls_server(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    response: &'static str,
) -> SocketAddr {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if response.is_empty() {
                    let mut buf = [0u8; 64];
                    let _ = tls.read(&mut buf).await;
                    return;
                }
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

/// How the DNS responder answers.
#[derive(Clone, Copy)]
pub enum DnsMode {
    /// A record 192.0.2.10 for every name.
    Answer,
    NxDomain,
    ServFail,
    /// Reads and never answers.
    Silent,
}

/// A UDP DNS responder on 127.0.0.1:0.
pub async fn dns_server(mode: DnsMode) -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let Ok(req) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let mut resp = Message::response(req.metadata.id, req.metadata.op_code);
            resp.metadata.recursion_desired = req.metadata.recursion_desired;
            resp.metadata.recursion_available = true;
            for q in &req.queries {
                resp.add_query(q.clone());
            }
            match mode {
                DnsMode::Silent => continue,
                DnsMode::Answer => {
                    if let Some(q) = req.queries.first() {
                        resp.add_answer(Record::from_rdata(
                            q.name().clone(),
                            60,
                            RData::A(A::new(192, 0, 2, 10)),
                        ));
                    }
                }
                DnsMode::NxDomain => resp.metadata.response_code = ResponseCode::NXDomain,
                DnsMode::ServFail => resp.metadata.response_code = ResponseCode::ServFail,
            }
            let Ok(bytes) = resp.to_vec() else { continue };
            let _ = sock.send_to(&bytes, from).await;
        }
    });
    addr
}

/// A port on 127.0.0.1 with nothing listening.
pub async fn closed_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    drop(l);
    a
}

/// Skips (prints why) unless root; fails instead under CI=true.
pub fn need_root(what: &str) -> bool {
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        });
    if uid.as_deref() == Some("0") {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{what} needs root and CI=true: failing instead of skipping"
    );
    eprintln!("skipping {what}: needs root (raw ICMP socket)");
    false
}
