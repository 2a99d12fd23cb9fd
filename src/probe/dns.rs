//! DNS look-ups with hickory-resolver against a configured server (not the system resolver):
//! time, answers and the response code; NXDOMAIN and SERVFAIL are outcomes.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use hickory_resolver::Resolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::RecordType;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::profile::{DnsSpec, RecordKind};
use super::{BoxFuture, Error, Host, Kind, Outcome, Probe, Reason, Target};

/// What a look-up measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    pub server: String,
    pub query: String,
    pub record: String,
    /// `NoError`, `NXDomain`, `ServFail`, ...; absent on a timeout.
    pub rcode: Option<String>,
    /// Answer data as text (addresses, names).
    pub answers: Vec<String>,
    #[serde(with = "super::secs::opt")]
    pub time: Option<Duration>,
}

/// One query to one server, no cache, no retry beyond the profile's timeout.
#[derive(Debug, Clone)]
pub struct DnsProbe {
    target: Target,
    server: SocketAddr,
    spec: DnsSpec,
    timeout: Duration,
}

impl DnsProbe {
    /// The server is the profile's `server`, else the target (an IP) on the profile's port.
    pub fn new(target: Target, spec: DnsSpec, timeout: Duration) -> Result<DnsProbe, Error> {
        let server = match (spec.server, &target.host) {
            (Some(s), _) => s,
            (None, Host::Ip(ip)) => SocketAddr::new(*ip, target.port.unwrap_or(spec.port)),
            (None, Host::Name(_)) => {
                return Err(Error::Target {
                    target: target.to_string(),
                    why: "a DNS probe needs the server as an IP address (or `server:` in the profile)".to_owned(),
                });
            }
        };
        Ok(DnsProbe {
            target,
            server,
            spec,
            timeout,
        })
    }

    fn resolver(&self) -> Result<Resolver<TokioRuntimeProvider>, Error> {
        let mut conn = ConnectionConfig::udp();
        conn.port = self.server.port();
        let ns = NameServerConfig::new(self.server.ip(), true, vec![conn]);
        let config = ResolverConfig::from_name_servers(vec![ns]);
        let mut builder = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
        let opts = builder.options_mut();
        opts.timeout = self.timeout;
        opts.attempts = 1;
        opts.cache_size = 0;
        opts.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
        opts.ndots = 0;
        builder.build().map_err(|e| Error::Socket {
            operation: "building the DNS resolver",
            target: self.target.to_string(),
            source: std::io::Error::other(e.to_string()),
        })
    }

    async fn measure(&self) -> Result<Outcome, Error> {
        let started = SystemTime::now();
        let t0 = Instant::now();
        let resolver = self.resolver()?;
        let record = record_type(self.spec.record);
        let mut detail = Detail {
            server: self.server.to_string(),
            query: self.spec.query.clone(),
            record: record.to_string(),
            rcode: None,
            answers: Vec::new(),
            time: None,
        };
        // Header 12, question name + 4, EDNS OPT 11.
        let query_bytes = 12 + self.spec.query.len() as u64 + 2 + 4 + 11;
        let q0 = Instant::now();
        let res = tokio::time::timeout(
            self.timeout + Duration::from_millis(100),
            resolver.lookup(self.spec.query.as_str(), record),
        )
        .await;
        let took = q0.elapsed();
        let outcome = |detail: Detail| {
            Outcome::new(
                Kind::Dns,
                &self.target,
                started,
                t0.elapsed(),
                super::Detail::Dns(detail),
            )
        };
        let udp = super::stats::udp_wire_bytes;
        Ok(match res {
            Ok(Ok(lookup)) => {
                detail.time = Some(took);
                detail.rcode = Some(format!("{:?}", lookup.message().metadata.response_code));
                detail.answers = lookup
                    .answers()
                    .iter()
                    .map(|r| r.data.to_string())
                    .collect();
                let answer_bytes = lookup
                    .message()
                    .to_vec()
                    .map_or(query_bytes + 16, |v| v.len() as u64);
                outcome(detail).spent(udp(query_bytes, answer_bytes))
            }
            Ok(Err(e)) => {
                let (reason, answered) = classify(&e, self.timeout);
                if answered {
                    detail.time = Some(took);
                    detail.rcode = Some(match &reason {
                        Reason::NxDomain => "NXDomain".to_owned(),
                        Reason::DnsError { rcode } => rcode.clone(),
                        _ => String::new(),
                    });
                }
                let back = if answered { query_bytes + 50 } else { 0 };
                outcome(detail).failed(reason).spent(udp(query_bytes, back))
            }
            Err(_) => outcome(detail)
                .failed(Reason::Timeout {
                    after: self.timeout,
                })
                .spent(udp(query_bytes, 0)),
        })
    }
}

/// Maps a resolver error; `true` when the server did answer.
fn classify(e: &NetError, timeout: Duration) -> (Reason, bool) {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr))
            if nr.response_code == ResponseCode::NXDomain =>
        {
            (Reason::NxDomain, true)
        }
        NetError::Dns(DnsError::NoRecordsFound(nr)) => (
            Reason::DnsError {
                rcode: format!("{:?} (no records)", nr.response_code),
            },
            true,
        ),
        NetError::Dns(DnsError::ResponseCode(code)) => (
            Reason::DnsError {
                rcode: format!("{code:?}"),
            },
            true,
        ),
        NetError::Timeout => (Reason::Timeout { after: timeout }, false),
        NetError::Io(io) => (Reason::from_io(io), false),
        other => (
            Reason::Network {
                message: other.to_string(),
            },
            false,
        ),
    }
}

fn record_type(k: RecordKind) -> RecordType {
    match k {
        RecordKind::A => RecordType::A,
        RecordKind::Aaaa => RecordType::AAAA,
        RecordKind::Cname => RecordType::CNAME,
        RecordKind::Mx => RecordType::MX,
        RecordKind::Ns => RecordType::NS,
        RecordKind::Txt => RecordType::TXT,
    }
}

impl Probe for DnsProbe {
    fn kind(&self) -> Kind {
        Kind::Dns
    }

    fn target(&self) -> &Target {
        &self.target
    }

    fn cost_bytes(&self) -> u64 {
        super::stats::udp_wire_bytes(64, 512)
    }

    fn run(&self) -> BoxFuture<'_, Result<Outcome, Error>> {
        Box::pin(self.measure())
    }
}
