//! Probe profiles (`probes/*.yaml`): a raw serde layer with readable units, then a validated
//! [`Profile`] that cannot be wrong. Every problem is collected with its file:line:column, as
//! the topology's are: the same [`Diagnostic`], every unknown key at once with a did-you-mean,
//! and the same unit parsers.
//!
//! Reads only the profile files and the CA files they name; no network, no tokio.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::Kind;
use super::stats::icmp_packet_bytes;
use super::trust::Pin;
use crate::topology::tree::{self, Schema, Shape, raw_struct};
use crate::topology::{Diagnostics, Location};

/// A problem in a profile file: the topology's own type, so `juknis check` reports both alike.
pub use crate::topology::Diagnostic;
pub use crate::topology::{parse_bytes, parse_duration};

/// A validated probe profile. Its name is the file stem (`probes/icmp.yaml` is `icmp`).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    pub kind: Kind,
    /// How often the scheduler runs it.
    pub interval: Duration,
    /// How long one exchange may take (one echo, one connect, one request) before it counts as
    /// a timeout.
    pub timeout: Duration,
    pub spec: Spec,
    pub thresholds: Thresholds,
}

/// What each kind needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Icmp(IcmpSpec),
    Tcp(TcpSpec),
    Dns(DnsSpec),
    Http(HttpSpec),
    Tls(TlsSpec),
    Bandwidth(BandwidthSpec),
    Snmp(super::snmp::Spec),
}

/// A round of echoes.
#[derive(Debug, Clone, PartialEq)]
pub struct IcmpSpec {
    /// Echoes per round.
    pub count: u32,
    /// Time between two echoes of a round.
    pub spacing: Duration,
    /// ICMP payload bytes (56 gives the classic 84-byte IPv4 packet).
    pub size: u32,
}

/// A TCP connect.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpSpec {
    pub port: u16,
}

/// A DNS query.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsSpec {
    /// The server to ask; when absent the probe's target is the server.
    pub server: Option<SocketAddr>,
    /// The port when the target is the server.
    pub port: u16,
    /// The name to look up.
    pub query: String,
    pub record: RecordKind,
}

/// DNS record types a profile may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    A,
    Aaaa,
    Cname,
    Mx,
    Ns,
    Txt,
}

impl RecordKind {
    fn parse(s: &str) -> Option<RecordKind> {
        Some(match s.to_ascii_uppercase().as_str() {
            "A" => RecordKind::A,
            "AAAA" => RecordKind::Aaaa,
            "CNAME" => RecordKind::Cname,
            "MX" => RecordKind::Mx,
            "NS" => RecordKind::Ns,
            "TXT" => RecordKind::Txt,
            _ => return None,
        })
    }
}

/// Where an HTTP-like probe goes, relative to its target.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// `https` when true.
    pub tls: bool,
    /// Port; the scheme's default when absent.
    pub port: Option<u16>,
    /// Path and query, starting with `/`.
    pub path: String,
    /// A full URL that replaces target + scheme + port + path.
    pub url: Option<String>,
    /// Trust for `https`.
    pub pin: Option<Pin>,
    /// Name to check the certificate against, when it differs from the target host.
    pub server_name: Option<String>,
}

/// An HTTP(S) request with conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpSpec {
    pub endpoint: Endpoint,
    /// Statuses that count as success.
    pub expected_status: Vec<u16>,
    /// Text the body must contain, within the first `max_body_bytes`.
    pub body_contains: Option<String>,
    /// Bytes of body read at most; the rest is not downloaded.
    pub max_body_bytes: u64,
}

/// A TLS handshake and certificate inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct TlsSpec {
    pub port: u16,
    pub pin: Option<Pin>,
    pub server_name: Option<String>,
}

/// A bandwidth measurement.
#[derive(Debug, Clone, PartialEq)]
pub enum BandwidthSpec {
    /// Low-cost continuous estimate from ICMP packet-train dispersion; needs nothing on the far side.
    Trains(TrainSpec),
    /// Explicit download of a URL (or a juknis reflector) for a time or a byte cap.
    Throughput(ThroughputSpec),
}

/// Packet trains.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSpec {
    /// Trains per run.
    pub trains: u32,
    /// Echo requests per train, sent back to back.
    pub train_len: u32,
    /// ICMP payload bytes of each echo.
    pub size: u32,
    /// Pause between trains.
    pub gap: Duration,
    /// Most bytes one run may spend (requests plus replies); checked at load time.
    pub byte_budget: u64,
}

impl TrainSpec {
    /// Bytes a run spends when every echo comes back.
    #[must_use]
    pub fn cost_bytes(&self) -> u64 {
        u64::from(self.trains)
            * u64::from(self.train_len)
            * 2
            * u64::from(icmp_packet_bytes(self.size, false))
    }
}

/// A throughput download.
#[derive(Debug, Clone, PartialEq)]
pub struct ThroughputSpec {
    pub endpoint: Endpoint,
    /// Read for at most this long after the first byte.
    pub duration: Duration,
    /// Read at most this many body bytes.
    pub max_bytes: u64,
}

/// Health thresholds; an absent one is not checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    pub rtt_warn: Option<Duration>,
    pub rtt_crit: Option<Duration>,
    /// Loss share in `0..=1`.
    pub loss_warn: Option<f64>,
    pub loss_crit: Option<f64>,
    pub jitter_warn: Option<Duration>,
    /// Warn when the certificate expires in fewer days.
    pub tls_days_warn: Option<u32>,
    /// Degraded when the estimate falls under this share of the contracted bandwidth.
    pub min_bandwidth_ratio: Option<f64>,
}

/// Loads every `*.yaml` / `*.yml` in `dir`, keyed by file stem. All problems of all files are
/// returned together.
pub fn load_dir(dir: &Path) -> Result<BTreeMap<String, Profile>, Vec<Diagnostic>> {
    let io_diag =
        |file: &Path, e: &std::io::Error| Diagnostic::new(Location::file(file), cannot_read(e));
    let entries = std::fs::read_dir(dir).map_err(|e| vec![io_diag(dir, &e)])?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort();
    let mut out = BTreeMap::new();
    let mut diags = Vec::new();
    for file in files {
        match load_file(&file) {
            Ok(p) => {
                out.insert(p.name.clone(), p);
            }
            Err(mut d) => diags.append(&mut d),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(diags)
    }
}

/// Loads one profile file; its name is the file stem.
pub fn load_file(file: &Path) -> Result<Profile, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| vec![Diagnostic::new(Location::file(file), cannot_read(&e))])?;
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("profile")
        .to_owned();
    let base = file.parent().unwrap_or(Path::new("."));
    parse_str(&name, file, base, &text)
}

fn cannot_read(e: &std::io::Error) -> String {
    format!("cannot read: {e}")
}

/// Parses and validates profile text. `file` is used in diagnostics, `base` resolves relative
/// CA file paths. Every problem comes back at once, in file order: every unknown key (with the
/// known key it is closest to), then every value that does not fit.
pub fn parse_str(
    name: &str,
    file: &Path,
    base: &Path,
    text: &str,
) -> Result<Profile, Vec<Diagnostic>> {
    let syntax = |e: &serde_saphyr::Error| {
        let at = e
            .location()
            .map_or_else(|| Location::file(file), |l| Location::new(file, l));
        Diagnostic::new(at, first_line(&e.to_string()))
            .hint("see probes/icmp.yaml for the fields a profile may have")
    };
    // Pass 1: the keys, all of them (serde would stop at the first unknown one).
    let mut diags = Diagnostics(
        tree::unknown_key_diagnostics::<RawProfile>(text, file).map_err(|e| vec![syntax(&e)])?,
    );
    // Pass 2: the typed profile, which ignores the keys pass 1 reported.
    let raw: RawProfile = match serde_saphyr::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            diags.push(syntax(&e));
            return Err(sorted(diags));
        }
    };
    let mut v = Validator {
        file: file.to_owned(),
        base: base.to_owned(),
        diags,
    };
    match v.profile(name, raw) {
        Some(p) if v.diags.is_empty() => Ok(p),
        _ => Err(sorted(v.diags)),
    }
}

fn sorted(mut diags: Diagnostics) -> Vec<Diagnostic> {
    diags.sort();
    diags.0
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_owned()
}

/// A YAML scalar where a unit is expected, so `interval: 5` gets a helpful message rather than
/// a type error.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(u64),
    Float(f64),
    Str(String),
}

impl Shape for Scalar {
    fn schema() -> Schema {
        Schema::Any
    }
}

// No `deny_unknown_fields`: unknown keys are reported all at once by the tree pass, from the
// schema `raw_struct!` derives from these same fields.
raw_struct! {
    #[derive(Debug, Deserialize)]
    struct RawProfile {
        kind: Spanned<String>,
        interval: Option<Spanned<Scalar>>,
        timeout: Option<Spanned<Scalar>>,
        count: Option<Spanned<u32>>,
        spacing: Option<Spanned<Scalar>>,
        size: Option<Spanned<Scalar>>,
        port: Option<Spanned<u16>>,
        scheme: Option<Spanned<String>>,
        path: Option<Spanned<String>>,
        url: Option<Spanned<String>>,
        expected_status: Option<Spanned<Vec<u16>>>,
        body_contains: Option<Spanned<String>>,
        max_body: Option<Spanned<Scalar>>,
        pin: Option<Spanned<RawPin>>,
        server_name: Option<Spanned<String>>,
        server: Option<Spanned<String>>,
        query: Option<Spanned<String>>,
        record: Option<Spanned<String>>,
        mode: Option<Spanned<String>>,
        trains: Option<Spanned<u32>>,
        train_len: Option<Spanned<u32>>,
        gap: Option<Spanned<Scalar>>,
        byte_budget: Option<Spanned<Scalar>>,
        duration: Option<Spanned<Scalar>>,
        max_bytes: Option<Spanned<Scalar>>,
        retries: Option<Spanned<u32>>,
        min_window: Option<Spanned<Scalar>>,
        thresholds: Option<RawThresholds>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    struct RawPin {
        sha256: Option<String>,
        ca_file: Option<String>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    struct RawThresholds {
        rtt_warn: Option<Spanned<Scalar>>,
        rtt_crit: Option<Spanned<Scalar>>,
        loss_warn: Option<Spanned<Scalar>>,
        loss_crit: Option<Spanned<Scalar>>,
        jitter_warn: Option<Spanned<Scalar>>,
        tls_days_warn: Option<Spanned<u32>>,
        min_bandwidth_ratio: Option<Spanned<Scalar>>,
    }
}

type Loc = (u64, u64);

fn loc<T>(s: &Spanned<T>) -> Loc {
    (s.referenced.line(), s.referenced.column())
}

struct Validator {
    file: PathBuf,
    base: PathBuf,
    diags: Diagnostics,
}

impl Validator {
    fn err(&mut self, at: Loc, message: impl Into<String>, hint: Option<&str>) {
        let location = Location {
            file: self.file.clone(),
            line: at.0,
            column: at.1,
        };
        let d = Diagnostic::new(location, message);
        self.diags.push(match hint {
            Some(h) => d.hint(h),
            None => d,
        });
    }

    fn duration(
        &mut self,
        field: &str,
        v: &Option<Spanned<Scalar>>,
        default: Duration,
    ) -> Duration {
        let Some(s) = v else { return default };
        match &s.value {
            Scalar::Str(text) => match parse_duration(text) {
                Some(d) if !d.is_zero() => return d,
                _ => self.err(
                    loc(s),
                    format!("`{field}`: {text:?} is not a positive duration"),
                    Some("write e.g. 500ms, 5s, 1m, 1h"),
                ),
            },
            _ => self.err(
                loc(s),
                format!("`{field}` needs a unit"),
                Some("write e.g. 500ms, 5s, 1m, 1h"),
            ),
        }
        default
    }

    fn opt_duration(&mut self, field: &str, v: &Option<Spanned<Scalar>>) -> Option<Duration> {
        v.as_ref()?;
        Some(self.duration(field, v, Duration::ZERO))
    }

    fn bytes(&mut self, field: &str, v: &Option<Spanned<Scalar>>, default: u64) -> u64 {
        let Some(s) = v else { return default };
        match &s.value {
            Scalar::Int(n) => return *n,
            Scalar::Str(text) => match parse_bytes(text) {
                Some(n) => return n,
                None => self.err(
                    loc(s),
                    format!("`{field}`: {text:?} is not a byte size"),
                    Some("write e.g. 1400, 64 KiB, 2 MB"),
                ),
            },
            Scalar::Float(_) => self.err(
                loc(s),
                format!("`{field}` must be a whole number of bytes"),
                None,
            ),
        }
        default
    }

    fn ratio(&mut self, field: &str, v: &Option<Spanned<Scalar>>) -> Option<f64> {
        let s = v.as_ref()?;
        let r = match &s.value {
            Scalar::Int(n) => Some(*n as f64),
            Scalar::Float(f) => Some(*f),
            Scalar::Str(t) => t
                .trim()
                .strip_suffix('%')
                .and_then(|p| p.trim().parse::<f64>().ok())
                .map(|p| p / 100.0),
        };
        match r {
            Some(r) if (0.0..=1.0).contains(&r) => Some(r),
            _ => {
                self.err(
                    loc(s),
                    format!("`{field}` must be a share between 0 and 1, or a percentage"),
                    Some("write e.g. 0.02 or 2%"),
                );
                None
            }
        }
    }

    fn pin(&mut self, v: &Option<Spanned<RawPin>>) -> Option<Pin> {
        let s = v.as_ref()?;
        let at = loc(s);
        match (&s.value.sha256, &s.value.ca_file) {
            (Some(fp), None) => match Pin::parse_sha256(fp) {
                Some(p) => Some(p),
                None => {
                    self.err(
                        at,
                        "`pin.sha256` must be 64 hex digits (colons allowed)",
                        Some("openssl x509 -noout -fingerprint -sha256 -in leaf.pem"),
                    );
                    None
                }
            },
            (None, Some(path)) => {
                let p = self.base.join(path);
                match Pin::load_ca_file(&p) {
                    Ok(pin) => Some(pin),
                    Err(e) => {
                        self.err(
                            at,
                            format!("`pin.ca_file` {}: {e}", p.display()),
                            Some("a PEM file with one or more CA certificates"),
                        );
                        None
                    }
                }
            }
            _ => {
                self.err(at, "`pin` needs exactly one of `sha256` or `ca_file`", None);
                None
            }
        }
    }

    fn endpoint(&mut self, raw: &RawProfile) -> Endpoint {
        let tls = match &raw.scheme {
            None => true,
            Some(s) => match s.value.as_str() {
                "https" => true,
                "http" => false,
                other => {
                    self.err(
                        loc(s),
                        format!("`scheme` {other:?} is neither http nor https"),
                        None,
                    );
                    true
                }
            },
        };
        let path = match &raw.path {
            None => "/".to_owned(),
            Some(p) if p.value.starts_with('/') => p.value.clone(),
            Some(p) => {
                self.err(loc(p), "`path` must start with /", None);
                "/".to_owned()
            }
        };
        if let Some(u) = &raw.url
            && !(u.value.starts_with("http://") || u.value.starts_with("https://"))
        {
            self.err(loc(u), "`url` must start with http:// or https://", None);
        }
        let pin = self.pin(&raw.pin);
        Endpoint {
            tls,
            port: raw.port.as_ref().map(|p| p.value),
            path,
            url: raw.url.as_ref().map(|u| u.value.clone()),
            pin,
            server_name: raw.server_name.as_ref().map(|s| s.value.clone()),
        }
    }

    fn profile(&mut self, name: &str, raw: RawProfile) -> Option<Profile> {
        let kind_at = loc(&raw.kind);
        let Some(kind) = Kind::parse(&raw.kind.value) else {
            self.err(
                kind_at,
                format!("unknown kind {:?}", raw.kind.value),
                Some("one of icmp, tcp, dns, http, tls, bandwidth, snmp"),
            );
            return None;
        };
        self.fields_fit(kind, &raw);
        let interval = self.duration("interval", &raw.interval, Duration::from_secs(60));
        let default_timeout = if kind == Kind::Bandwidth {
            Duration::from_secs(30)
        } else {
            Duration::from_secs(5)
        };
        let timeout = self.duration("timeout", &raw.timeout, default_timeout);
        let size = |v: &mut Self, default: u64| -> u32 {
            let n = v.bytes("size", &raw.size, default);
            match u32::try_from(n) {
                Ok(n) if n <= 65_000 => n,
                _ => {
                    if let Some(s) = &raw.size {
                        v.err(loc(s), "`size` must be at most 65000 bytes", None);
                    }
                    56
                }
            }
        };
        let spec = match kind {
            Kind::Icmp => {
                let count = raw.count.as_ref().map_or(10, |c| c.value);
                if let Some(c) = raw.count.as_ref().filter(|c| c.value == 0) {
                    self.err(loc(c), "`count` must be at least 1", None);
                }
                let spacing = self.duration("spacing", &raw.spacing, Duration::from_secs(1));
                let size = size(self, 56);
                Spec::Icmp(IcmpSpec {
                    count,
                    spacing,
                    size,
                })
            }
            Kind::Tcp => {
                let Some(port) = &raw.port else {
                    self.err(kind_at, "a tcp profile needs `port`", Some("port: 443"));
                    return None;
                };
                Spec::Tcp(TcpSpec { port: port.value })
            }
            Kind::Dns => {
                let server = raw
                    .server
                    .as_ref()
                    .and_then(|s| match parse_server(&s.value) {
                        Some(a) => Some(a),
                        None => {
                            self.err(
                                loc(s),
                                format!("`server` {:?} is not an IP address or IP:port", s.value),
                                Some("server: 192.0.2.53 or 192.0.2.53:5353"),
                            );
                            None
                        }
                    });
                let Some(query) = &raw.query else {
                    self.err(
                        kind_at,
                        "a dns profile needs `query` (the name to look up)",
                        Some("query: portal.dukcapil.example."),
                    );
                    return None;
                };
                let record = match &raw.record {
                    None => RecordKind::A,
                    Some(r) => RecordKind::parse(&r.value).unwrap_or_else(|| {
                        self.err(
                            loc(r),
                            format!("unknown record type {:?}", r.value),
                            Some("A, AAAA, CNAME, MX, NS or TXT"),
                        );
                        RecordKind::A
                    }),
                };
                Spec::Dns(DnsSpec {
                    server,
                    port: raw.port.as_ref().map_or(53, |p| p.value),
                    query: query.value.clone(),
                    record,
                })
            }
            Kind::Http => {
                let endpoint = self.endpoint(&raw);
                let expected_status = raw
                    .expected_status
                    .as_ref()
                    .map_or_else(|| vec![200], |s| s.value.clone());
                if let Some(s) = &raw.expected_status
                    && (s.value.is_empty() || s.value.iter().any(|c| !(100..=599).contains(c)))
                {
                    self.err(
                        loc(s),
                        "`expected_status` must list HTTP statuses 100-599",
                        Some("expected_status: [200]"),
                    );
                }
                Spec::Http(HttpSpec {
                    endpoint,
                    expected_status,
                    body_contains: raw.body_contains.as_ref().map(|b| b.value.clone()),
                    max_body_bytes: self.bytes("max_body", &raw.max_body, 64 * 1024),
                })
            }
            Kind::Tls => Spec::Tls(TlsSpec {
                port: raw.port.as_ref().map_or(443, |p| p.value),
                pin: self.pin(&raw.pin),
                server_name: raw.server_name.as_ref().map(|s| s.value.clone()),
            }),
            Kind::Bandwidth => {
                let mode = raw.mode.as_ref().map_or("trains", |m| m.value.as_str());
                match mode {
                    "trains" => {
                        let spec = TrainSpec {
                            trains: raw.trains.as_ref().map_or(5, |t| t.value).max(1),
                            train_len: raw.train_len.as_ref().map_or(8, |t| t.value).max(2),
                            size: size(self, 1000),
                            gap: self.duration("gap", &raw.gap, Duration::from_millis(500)),
                            byte_budget: self.bytes("byte_budget", &raw.byte_budget, 100 * 1024),
                        };
                        if spec.cost_bytes() > spec.byte_budget {
                            let at = raw.byte_budget.as_ref().map_or(kind_at, loc);
                            self.err(
                                at,
                                format!("trains would spend {} bytes, over the byte_budget of {}", spec.cost_bytes(), spec.byte_budget),
                                Some("fewer trains, shorter trains, smaller size, or a larger byte_budget"),
                            );
                        }
                        Spec::Bandwidth(BandwidthSpec::Trains(spec))
                    }
                    "throughput" => {
                        let endpoint = self.endpoint(&raw);
                        Spec::Bandwidth(BandwidthSpec::Throughput(ThroughputSpec {
                            endpoint,
                            duration: self.duration(
                                "duration",
                                &raw.duration,
                                Duration::from_secs(10),
                            ),
                            max_bytes: self.bytes("max_bytes", &raw.max_bytes, 4 * 1024 * 1024),
                        }))
                    }
                    other => {
                        let at = raw.mode.as_ref().map_or(kind_at, loc);
                        self.err(
                            at,
                            format!("unknown bandwidth mode {other:?}"),
                            Some("trains or throughput"),
                        );
                        return None;
                    }
                }
            }
            Kind::Snmp => {
                let retries = raw.retries.as_ref().map_or(1, |r| r.value);
                if let Some(r) = raw.retries.as_ref().filter(|r| r.value > 5) {
                    self.err(
                        loc(r),
                        "`retries` above 5 only delays the verdict",
                        Some("0 to 5; the default is 1"),
                    );
                }
                let min_window =
                    self.duration("min_window", &raw.min_window, Duration::from_secs(10));
                if let Some(at) = raw.min_window.as_ref()
                    && min_window > interval
                {
                    self.err(
                        loc(at),
                        "`min_window` is longer than `interval`: no round would give a rate",
                        Some("min_window: 10s with interval: 30s"),
                    );
                }
                Spec::Snmp(super::snmp::Spec {
                    retries,
                    min_window,
                })
            }
        };
        let thresholds = self.thresholds(raw.thresholds.as_ref());
        Some(Profile {
            name: name.to_owned(),
            kind,
            interval,
            timeout,
            spec,
            thresholds,
        })
    }

    fn thresholds(&mut self, raw: Option<&RawThresholds>) -> Thresholds {
        let Some(t) = raw else {
            return Thresholds::default();
        };
        let out = Thresholds {
            rtt_warn: self.opt_duration("rtt_warn", &t.rtt_warn),
            rtt_crit: self.opt_duration("rtt_crit", &t.rtt_crit),
            loss_warn: self.ratio("loss_warn", &t.loss_warn),
            loss_crit: self.ratio("loss_crit", &t.loss_crit),
            jitter_warn: self.opt_duration("jitter_warn", &t.jitter_warn),
            tls_days_warn: t.tls_days_warn.as_ref().map(|d| d.value),
            min_bandwidth_ratio: self.ratio("min_bandwidth_ratio", &t.min_bandwidth_ratio),
        };
        if let (Some(w), Some(c), Some(at)) = (out.rtt_warn, out.rtt_crit, t.rtt_crit.as_ref())
            && w > c
        {
            self.err(loc(at), "`rtt_crit` is below `rtt_warn`", None);
        }
        if let (Some(w), Some(c), Some(at)) = (out.loss_warn, out.loss_crit, t.loss_crit.as_ref())
            && w > c
        {
            self.err(loc(at), "`loss_crit` is below `loss_warn`", None);
        }
        out
    }

    /// Reports fields that mean nothing for the kind, so a typo'd profile does not silently
    /// probe something other than what its author thought.
    fn fields_fit(&mut self, kind: Kind, raw: &RawProfile) {
        let fields: [(&str, Option<Loc>); 23] = [
            ("count", raw.count.as_ref().map(loc)),
            ("spacing", raw.spacing.as_ref().map(loc)),
            ("size", raw.size.as_ref().map(loc)),
            ("port", raw.port.as_ref().map(loc)),
            ("scheme", raw.scheme.as_ref().map(loc)),
            ("path", raw.path.as_ref().map(loc)),
            ("url", raw.url.as_ref().map(loc)),
            ("expected_status", raw.expected_status.as_ref().map(loc)),
            ("body_contains", raw.body_contains.as_ref().map(loc)),
            ("max_body", raw.max_body.as_ref().map(loc)),
            ("pin", raw.pin.as_ref().map(loc)),
            ("server_name", raw.server_name.as_ref().map(loc)),
            ("server", raw.server.as_ref().map(loc)),
            ("query", raw.query.as_ref().map(loc)),
            ("record", raw.record.as_ref().map(loc)),
            ("mode", raw.mode.as_ref().map(loc)),
            ("trains", raw.trains.as_ref().map(loc)),
            ("train_len", raw.train_len.as_ref().map(loc)),
            ("gap", raw.gap.as_ref().map(loc)),
            ("byte_budget", raw.byte_budget.as_ref().map(loc)),
            ("duration", raw.duration.as_ref().map(loc)),
            ("retries", raw.retries.as_ref().map(loc)),
            ("min_window", raw.min_window.as_ref().map(loc)),
        ];
        let endpoint: &[&str] = &["port", "scheme", "path", "url", "pin", "server_name"];
        let throughput = raw.mode.as_ref().is_some_and(|m| m.value == "throughput");
        let allowed: Vec<&str> = match kind {
            Kind::Icmp => vec!["count", "spacing", "size"],
            Kind::Tcp => vec!["port"],
            Kind::Dns => vec!["port", "server", "query", "record"],
            Kind::Http => [endpoint, &["expected_status", "body_contains", "max_body"]].concat(),
            Kind::Tls => vec!["port", "pin", "server_name"],
            Kind::Bandwidth if throughput => [endpoint, &["mode", "duration"]].concat(),
            Kind::Bandwidth => vec!["mode", "trains", "train_len", "size", "gap", "byte_budget"],
            Kind::Snmp => vec!["retries", "min_window"],
        };
        for (field, at) in fields {
            if let Some(at) = at
                && !allowed.contains(&field)
            {
                self.err(
                    at,
                    format!("`{field}` does not apply to a {kind} profile"),
                    Some(&format!("{kind} takes: {}", allowed.join(", "))),
                );
            }
        }
        if let Some(m) = &raw.max_bytes
            && !(kind == Kind::Bandwidth && throughput)
        {
            self.err(
                loc(m),
                format!("`max_bytes` does not apply to a {kind} profile"),
                Some("only bandwidth with mode: throughput"),
            );
        }
    }
}

fn parse_server(s: &str) -> Option<SocketAddr> {
    s.parse::<SocketAddr>().ok().or_else(|| {
        s.parse::<std::net::IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

#[cfg(test)]
mod tests;
