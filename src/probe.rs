//! Probes: one trait over ICMP, TCP, DNS, HTTP, TLS and bandwidth measurements, their outcomes,
//! profiles (`probes/*.yaml`) and the byte budget that keeps them off a thin link's back.
//!
//! An adapter: it does network IO and uses tokio. Below it lie only the pure core (`topology`
//! for targets and budgets, `health` for judging rounds, `secret` for SNMP credentials) and
//! `store` (its quantiles, for the tracer); the portal client, the gate, the dashboard and the
//! CLI sit above it. `tests/architecture.rs` holds it to that. A failed probe (timeout,
//! refused, bad status, untrusted certificate) is an [`Outcome`] with a [`Reason`]; only a probe
//! that cannot run at all (no privilege, no socket, a target the profile cannot use) is an
//! [`Error`].

pub mod bandwidth;
pub mod budget;
pub mod dns;
pub mod http;
pub mod icmp;
pub mod judge;
pub mod profile;
pub mod scheduler;
pub mod snmp;
pub mod stats;
pub mod tcp;
pub mod tls;
pub mod trace;
pub mod trust;
mod wire;

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use profile::{Diagnostic, Profile, Spec, Thresholds};

/// A boxed future, so that `dyn Probe` is object-safe and the scheduler can hold a
/// `Vec<Box<dyn Probe>>` of mixed kinds.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One measurement against one target, run again and again by the scheduler.
pub trait Probe: Send + Sync {
    /// Which kind of probe this is (a bounded metrics label).
    fn kind(&self) -> Kind;
    /// What it measures.
    fn target(&self) -> &Target;
    /// A worst-case estimate of the bytes one run puts on the wire, for the budget.
    fn cost_bytes(&self) -> u64;
    /// Runs the probe once. `Ok` also for a failed measurement; `Err` only when it cannot run.
    fn run(&self) -> BoxFuture<'_, Result<Outcome, Error>>;
    /// For a probe that measures between two runs (SNMP counters): the least time between
    /// them. A one-off run (`juknis probe --once`) runs it twice this far apart.
    fn rate_window(&self) -> Option<Duration> {
        None
    }
}

/// The kinds of probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Icmp,
    Tcp,
    Dns,
    Http,
    Tls,
    Bandwidth,
    /// Interface counters read from an SNMP agent (a link's utilisation).
    Snmp,
}

impl Kind {
    /// Every kind, in a stable order.
    pub const ALL: [Kind; 7] = [
        Kind::Icmp,
        Kind::Tcp,
        Kind::Dns,
        Kind::Http,
        Kind::Tls,
        Kind::Bandwidth,
        Kind::Snmp,
    ];

    /// The name used in YAML, JSON and metric labels.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Icmp => "icmp",
            Kind::Tcp => "tcp",
            Kind::Dns => "dns",
            Kind::Http => "http",
            Kind::Tls => "tls",
            Kind::Bandwidth => "bandwidth",
            Kind::Snmp => "snmp",
        }
    }

    /// Parses a YAML kind name.
    #[must_use]
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a probe measures: a host (an IP, or a name resolved when the probe runs), an optional
/// port, and for HTTP-like probes an optional full URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub host: Host,
    pub port: Option<u16>,
    /// A full `http://` or `https://` URL, when the target was given as one.
    pub url: Option<String>,
    /// How the probe's packets leave (a route's `egress`); the default: as the routing
    /// table says. TCP, TLS and HTTP probes honour it.
    #[serde(skip)]
    pub bind: Bind,
}

/// How a probe's packets leave: from a local source address and/or through an interface
/// (`SO_BINDTODEVICE`), as the route it watches says, so that a route's health is the health
/// of what its traffic actually crosses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bind {
    pub source: Option<IpAddr>,
    pub interface: Option<String>,
}

impl Bind {
    /// Whether the probe leaves as the routing table says.
    pub fn is_default(&self) -> bool {
        self.source.is_none() && self.interface.is_none()
    }
}

/// Connect to `addr` over TCP, bound as `bind` says, with the receive buffer set before the
/// handshake when `recv_window` is given (so the window scale agrees with it).
pub(crate) async fn connect_tcp(
    addr: SocketAddr,
    bind: &Bind,
    recv_window: Option<u32>,
) -> std::io::Result<tokio::net::TcpStream> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    if let Some(w) = recv_window {
        socket.set_recv_buffer_size(w)?;
    }
    if let Some(name) = &bind.interface {
        bind_device(&socket, name)?;
    }
    if let Some(src) = bind.source {
        socket.bind(SocketAddr::new(src, 0))?;
    }
    socket.connect(addr).await
}

#[cfg(any(target_os = "android", target_os = "fuchsia", target_os = "linux"))]
fn bind_device(socket: &tokio::net::TcpSocket, name: &str) -> std::io::Result<()> {
    socket.bind_device(Some(name.as_bytes()))
}

#[cfg(not(any(target_os = "android", target_os = "fuchsia", target_os = "linux")))]
fn bind_device(_: &tokio::net::TcpSocket, name: &str) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!("binding to interface `{name}` (SO_BINDTODEVICE) needs Linux"),
    ))
}

/// The host part of a [`Target`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Host {
    Ip(IpAddr),
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

impl Target {
    /// A bare IP address.
    #[must_use]
    pub fn ip(ip: IpAddr) -> Target {
        Target {
            host: Host::Ip(ip),
            port: None,
            url: None,
            bind: Bind::default(),
        }
    }

    /// An address and port.
    #[must_use]
    pub fn socket(addr: SocketAddr) -> Target {
        Target {
            host: Host::Ip(addr.ip()),
            port: Some(addr.port()),
            url: None,
            bind: Bind::default(),
        }
    }

    /// Parses `203.0.113.5`, `203.0.113.5:443`, `[2001:db8::1]:443`, `portal.example`,
    /// `portal.example:8443` or `https://203.0.113.5/path`.
    pub fn parse(s: &str) -> Result<Target, Error> {
        let bad = |why: &str| Error::Target {
            target: s.to_owned(),
            why: why.to_owned(),
        };
        let s = s.trim();
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if s.contains("://") {
            let uri: ::http::Uri = s
                .parse()
                .map_err(|e: ::http::uri::InvalidUri| bad(&e.to_string()))?;
            match uri.scheme_str() {
                Some("http" | "https") => {}
                _ => return Err(bad("only http:// and https:// URLs are probed")),
            }
            let host = uri.host().ok_or_else(|| bad("URL has no host"))?;
            return Ok(Target {
                host: parse_host(host),
                port: uri.port_u16(),
                url: Some(s.to_owned()),
                bind: Bind::default(),
            });
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Target::ip(ip));
        }
        if let Ok(sa) = s.parse::<SocketAddr>() {
            return Ok(Target::socket(sa));
        }
        if let Some((h, p)) = s.rsplit_once(':') {
            let port = p
                .parse::<u16>()
                .map_err(|_| bad("port is not a number 0-65535"))?;
            return Ok(Target {
                host: parse_host(h),
                port: Some(port),
                url: None,
                bind: Bind::default(),
            });
        }
        if s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Ok(Target {
                host: Host::Name(s.to_owned()),
                port: None,
                url: None,
                bind: Bind::default(),
            });
        }
        Err(bad(
            "not an IP address, host name, host:port or http(s) URL",
        ))
    }

    /// The IP of an IP target, unspecified for a name.
    pub(crate) fn host_ip(&self) -> IpAddr {
        match &self.host {
            Host::Ip(ip) => *ip,
            Host::Name(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        }
    }

    /// The host as a string without brackets, for TLS server names and `Host:` headers.
    #[must_use]
    pub fn host_str(&self) -> String {
        match &self.host {
            Host::Ip(ip) => ip.to_string(),
            Host::Name(n) => n.clone(),
        }
    }

    /// Resolves the host (system resolver for names) and pairs it with `port`.
    pub(crate) async fn resolve(&self, port: u16) -> std::io::Result<SocketAddr> {
        match &self.host {
            Host::Ip(ip) => Ok(SocketAddr::new(*ip, port)),
            Host::Name(n) => tokio::net::lookup_host((n.as_str(), port))
                .await?
                .next()
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, format!("{n} has no address"))
                }),
        }
    }
}

fn parse_host(h: &str) -> Host {
    let bare = h.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .map_or_else(|_| Host::Name(bare.to_owned()), Host::Ip)
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(url) = &self.url {
            return f.write_str(url);
        }
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.host),
            None => write!(f, "{}", self.host),
        }
    }
}

/// The result of one run: stored as a row, counted in metrics, printed by `juknis probe --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub kind: Kind,
    /// The target as the user wrote it (never a NIK, never a query string with personal data).
    pub target: String,
    /// When the run started, milliseconds since the Unix epoch (UTC).
    pub started_unix_ms: i64,
    /// Wall time of the whole run.
    #[serde(with = "secs")]
    pub elapsed: Duration,
    /// `true` when the measurement succeeded and every condition of the profile held.
    pub ok: bool,
    /// Why it did not, when `ok` is false.
    pub reason: Option<Reason>,
    /// Bytes sent plus received on the wire, estimated from packet sizes including IP, ICMP,
    /// UDP and TCP headers (not link-layer framing).
    pub bytes_spent: u64,
    /// Kind-specific measurements, present as far as the run got.
    pub detail: Detail,
}

impl Outcome {
    pub(crate) fn new(
        kind: Kind,
        target: &Target,
        started: SystemTime,
        elapsed: Duration,
        detail: Detail,
    ) -> Outcome {
        let started_unix_ms = started
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Outcome {
            kind,
            target: target.to_string(),
            started_unix_ms,
            elapsed,
            ok: true,
            reason: None,
            bytes_spent: 0,
            detail,
        }
    }

    pub(crate) fn failed(mut self, reason: Reason) -> Outcome {
        self.ok = false;
        self.reason = Some(reason);
        self
    }

    pub(crate) fn spent(mut self, bytes: u64) -> Outcome {
        self.bytes_spent = bytes;
        self
    }
}

/// The headline numbers of an outcome, whatever its kind: what `health` compares with a
/// profile's [`Thresholds`] and what `metrics` exports. Absent when the kind does not measure it
/// or the run did not get that far.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Measures {
    /// The latency that stands for the run: ICMP median RTT, TCP connect, DNS answer time,
    /// HTTP total, TLS handshake.
    pub rtt: Option<Duration>,
    pub loss_ratio: Option<f64>,
    pub jitter: Option<Duration>,
    pub tls_days_to_expiry: Option<i64>,
    pub bandwidth_bps: Option<f64>,
}

impl Outcome {
    /// The headline numbers of this outcome.
    #[must_use]
    pub fn measures(&self) -> Measures {
        let mut m = Measures::default();
        match &self.detail {
            Detail::Icmp(d) => {
                m.loss_ratio = Some(d.loss_ratio);
                m.rtt = d.rtt.as_ref().map(|r| r.p50);
                m.jitter = d.rtt.as_ref().map(|r| r.jitter);
            }
            Detail::Tcp(d) => m.rtt = d.connect,
            Detail::Dns(d) => m.rtt = d.time,
            Detail::Http(d) => {
                m.rtt = d.phases.total.filter(|_| d.status.is_some());
                m.tls_days_to_expiry = d
                    .tls
                    .as_ref()
                    .and_then(|t| t.leaf.as_ref())
                    .map(|l| l.days_to_expiry);
            }
            Detail::Tls(d) => {
                m.rtt = d.handshake;
                m.tls_days_to_expiry = d.leaf.as_ref().map(|l| l.days_to_expiry);
            }
            Detail::Bandwidth(d) => m.bandwidth_bps = d.estimate_bps,
            // Interface throughput is not available bandwidth: it is read from the detail.
            Detail::Snmp(_) => {}
        }
        m
    }
}

/// Why a probe failed. Stable `code`s: they are stored and become metric label values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Reason {
    /// No answer within the profile's timeout.
    Timeout {
        #[serde(with = "secs")]
        after: Duration,
    },
    /// The port answered with a reset.
    Refused,
    /// No route, host or network unreachable, or the name did not resolve.
    Unreachable { message: String },
    /// Every echo of an ICMP round (or train) was lost.
    AllLost { sent: u32 },
    /// Some other network failure (reset mid-way, protocol error).
    Network { message: String },
    /// The HTTP status was not one of the expected ones.
    BadStatus { status: u16, expected: Vec<u16> },
    /// The body did not contain the expected text within the bytes read.
    BodyMismatch { wanted: String, read_bytes: u64 },
    /// Neither the pin nor the system roots vouch for the certificate.
    Untrusted { why: String },
    /// The leaf certificate's not-after is in the past.
    Expired { not_after: String },
    /// The leaf certificate is for other names or addresses.
    NameMismatch { wanted: String, names: Vec<String> },
    /// The TLS handshake itself failed (not a trust decision).
    Handshake { message: String },
    /// The DNS name does not exist.
    NxDomain,
    /// The DNS server answered with an error code (SERVFAIL, REFUSED, ...) or no records.
    DnsError { rcode: String },
    /// An SNMP agent refused the user, lacks the object, or answered with an error.
    Snmp { problem: snmp::Problem },
    /// The measurement ran but cannot give a figure (a bandwidth whose burst the budget could
    /// not cross); `why` is Indonesian and starts with "tidak dapat ditentukan".
    Undetermined { why: String },
}

impl Reason {
    /// The stable code, for metric labels.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Reason::Timeout { .. } => "timeout",
            Reason::Refused => "refused",
            Reason::Unreachable { .. } => "unreachable",
            Reason::AllLost { .. } => "all_lost",
            Reason::Network { .. } => "network",
            Reason::BadStatus { .. } => "bad_status",
            Reason::BodyMismatch { .. } => "body_mismatch",
            Reason::Untrusted { .. } => "untrusted",
            Reason::Expired { .. } => "expired",
            Reason::NameMismatch { .. } => "name_mismatch",
            Reason::Handshake { .. } => "handshake",
            Reason::NxDomain => "nxdomain",
            Reason::DnsError { .. } => "dns_error",
            Reason::Snmp { .. } => "snmp",
            Reason::Undetermined { .. } => "undetermined",
        }
    }

    /// Maps an IO error from connecting or talking to a target.
    pub(crate) fn from_io(e: &std::io::Error) -> Reason {
        use std::io::ErrorKind as K;
        match e.kind() {
            K::ConnectionRefused => Reason::Refused,
            K::HostUnreachable | K::NetworkUnreachable | K::AddrNotAvailable | K::NotFound => {
                Reason::Unreachable {
                    message: e.to_string(),
                }
            }
            _ => Reason::Network {
                message: e.to_string(),
            },
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Timeout { after } => write!(f, "no answer within {after:?}"),
            Reason::Refused => f.write_str("connection refused"),
            Reason::Unreachable { message } => write!(f, "unreachable: {message}"),
            Reason::AllLost { sent } => write!(f, "all {sent} echoes lost"),
            Reason::Network { message } => write!(f, "network error: {message}"),
            Reason::BadStatus { status, expected } => {
                write!(f, "status {status}, expected one of {expected:?}")
            }
            Reason::BodyMismatch { wanted, read_bytes } => {
                write!(
                    f,
                    "body does not contain {wanted:?} in the first {read_bytes} bytes"
                )
            }
            Reason::Untrusted { why } => write!(f, "untrusted certificate: {why}"),
            Reason::Expired { not_after } => write!(f, "certificate expired on {not_after}"),
            Reason::NameMismatch { wanted, names } => {
                write!(f, "certificate is for {names:?}, not {wanted}")
            }
            Reason::Handshake { message } => write!(f, "TLS handshake failed: {message}"),
            Reason::NxDomain => f.write_str("NXDOMAIN: the name does not exist"),
            Reason::DnsError { rcode } => write!(f, "DNS error {rcode}"),
            Reason::Snmp { problem } => write!(f, "{problem}"),
            Reason::Undetermined { why } => f.write_str(why),
        }
    }
}

/// Kind-specific measurements of an [`Outcome`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detail {
    Icmp(icmp::Detail),
    Tcp(tcp::Detail),
    Dns(dns::Detail),
    Http(http::Detail),
    Tls(tls::Detail),
    Bandwidth(bandwidth::Detail),
    Snmp(snmp::Detail),
}

/// A probe that cannot run at all. Not a failed measurement: those are [`Outcome`]s.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Neither a raw nor an unprivileged ICMP socket may be opened.
    #[error(
        "cannot open an ICMP socket to probe {target}: {source}. Run juknis as root, or give the binary \
         the capability with `setcap cap_net_raw+ep /usr/bin/juknis`, or allow unprivileged ICMP for \
         its group with `sysctl -w net.ipv4.ping_group_range=\"0 2147483647\"`"
    )]
    IcmpPrivilege {
        target: String,
        #[source]
        source: std::io::Error,
    },
    /// A socket operation failed before anything was measured.
    #[error("{operation} for {target}: {source}")]
    Socket {
        operation: &'static str,
        target: String,
        #[source]
        source: std::io::Error,
    },
    /// The target cannot be parsed or does not suit the profile.
    #[error("target {target:?}: {why}")]
    Target { target: String, why: String },
    /// The profile cannot build this probe.
    #[error("profile {profile:?} ({kind}): {why}")]
    Config {
        profile: String,
        kind: Kind,
        why: String,
    },
    /// The TLS client could not be configured.
    #[error("TLS configuration for {target}: {why}")]
    Tls { target: String, why: String },
}

/// Builds the probe a profile describes for one target.
///
/// ICMP and the packet-train bandwidth estimate open their socket when they run, so a missing
/// privilege shows up as an `Err` from [`Probe::run`], not here. The daemon uses
/// [`build_shared`] instead, with sockets opened before it dropped privileges.
pub fn build(profile: &Profile, target: &Target) -> Result<Box<dyn Probe>, Error> {
    build_shared(profile, target, None)
}

/// [`build`], with ICMP sockets opened once ([`icmp::Sockets::open`]) shared by every ICMP and
/// packet-train probe.
pub fn build_shared(
    profile: &Profile,
    target: &Target,
    sockets: Option<&icmp::Sockets>,
) -> Result<Box<dyn Probe>, Error> {
    let t = target.clone();
    let timeout = profile.timeout;
    Ok(match &profile.spec {
        Spec::Icmp(s) => {
            let p = icmp::IcmpProbe::new(t, s.clone(), timeout);
            Box::new(match sockets {
                Some(sk) => p.with_sockets(sk.clone()),
                None => p,
            })
        }
        Spec::Tcp(s) => Box::new(tcp::TcpProbe::new(t, s.port, timeout)),
        Spec::Dns(s) => Box::new(dns::DnsProbe::new(t, s.clone(), timeout)?),
        Spec::Http(s) => Box::new(http::HttpProbe::new(t, s.clone(), timeout)?),
        Spec::Tls(s) => Box::new(tls::TlsProbe::new(t, s.clone(), timeout)?),
        Spec::Bandwidth(s) => {
            let p = bandwidth::BandwidthProbe::new(t, s.clone(), timeout)?;
            Box::new(match sockets {
                Some(sk) => p.with_sockets(sk.clone()),
                None => p,
            })
        }
        Spec::Snmp(_) => {
            return Err(Error::Config {
                profile: profile.name.clone(),
                kind: Kind::Snmp,
                why: "an SNMP profile polls a link's interface: name it in the link's `snmp:` \
                      (`profile:`), not in a node's `probes:`"
                    .to_owned(),
            });
        }
    })
}

/// Serde for `Duration` as floating seconds, the unit Prometheus and JSON readers expect.
pub(crate) mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }

    /// The same for `Option<Duration>`.
    pub mod opt {
        use std::time::Duration;

        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_some(&d.as_secs_f64()),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
            Option::<f64>::deserialize(d)?
                .map(|v| Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("203.0.113.5", "203.0.113.5", None, false)]
    #[case("203.0.113.5:443", "203.0.113.5", Some(443), false)]
    #[case("[2001:db8::1]:443", "2001:db8::1", Some(443), false)]
    #[case("portal.example", "portal.example", None, false)]
    #[case("portal.example:8443", "portal.example", Some(8443), false)]
    #[case("https://198.51.100.7/data_balikan/public", "198.51.100.7", None, true)]
    #[case("http://[2001:db8::2]:8080/x", "2001:db8::2", Some(8080), true)]
    fn targets(
        #[case] text: &str,
        #[case] host: &str,
        #[case] port: Option<u16>,
        #[case] url: bool,
    ) {
        let t = Target::parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.host_str(), host);
        assert_eq!(t.port, port);
        assert_eq!(t.url.is_some(), url);
    }

    #[rstest]
    #[case("")]
    #[case("ftp://192.0.2.1/")]
    #[case("host:port")]
    #[case("not a host")]
    fn bad_targets(#[case] text: &str) {
        assert!(Target::parse(text).is_err());
    }

    #[test]
    fn icmp_privilege_error_says_what_to_do() {
        let e = Error::IcmpPrivilege {
            target: "192.0.2.1".to_owned(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        let msg = e.to_string();
        for needle in ["root", "setcap cap_net_raw+ep", "net.ipv4.ping_group_range"] {
            assert!(msg.contains(needle), "{msg}");
        }
    }

    #[test]
    fn outcome_json_shape() {
        let t = Target::parse("192.0.2.1:443").unwrap_or_else(|e| panic!("{e}"));
        let o = Outcome::new(
            Kind::Tcp,
            &t,
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            Duration::from_millis(1500),
            Detail::Tcp(tcp::Detail {
                addr: Some("192.0.2.1:443".to_owned()),
                connect: None,
            }),
        )
        .failed(Reason::Timeout {
            after: Duration::from_secs(3),
        })
        .spent(180);
        let v = serde_json::to_value(&o).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({
                "kind": "tcp",
                "target": "192.0.2.1:443",
                "started_unix_ms": 1_700_000_000_000_i64,
                "elapsed": 1.5,
                "ok": false,
                "reason": {"code": "timeout", "after": 3.0},
                "bytes_spent": 180,
                "detail": {"tcp": {"addr": "192.0.2.1:443", "connect": null}}
            })
        );
        let back: Outcome = serde_json::from_value(v).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, o);
        assert_eq!(o.measures(), Measures::default());
    }
}
