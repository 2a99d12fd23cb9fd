//! Interface utilisation over SNMP v2c/v3: `ifHCInOctets` and `ifHCOutOctets` of the interface
//! that carries a link on the OPD side, read every interval and turned into bits per second from
//! the counters' deltas. The link's real use, which no probe can see from outside.
//!
//! One poll is one GET of `sysUpTime.0` and the two counters. The first poll only primes; each
//! later one gives a rate, unless the agent restarted (`sysUpTime` went backwards), the counters
//! were reset, or the polls were closer than `min_window` (agents cache interface counters for
//! a few seconds: net-snmp refreshes them every 3 s, so a shorter window measures the cache).
//! A timeout, a refused v3 user or a missing object is an [`Outcome`] that says so, never a
//! panic: SNMP is a monitoring channel, and its failure says nothing about the data path.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use snmp2::{AsyncSession, Oid, Value};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{BoxFuture, Detail as AnyDetail, Error, Kind, Outcome, Probe, Reason, Target};
use crate::health::{Level, State};

/// `sysUpTime.0`: hundredths of a second since the agent (re)started.
const SYS_UPTIME: &[u64] = &[1, 3, 6, 1, 2, 1, 1, 3, 0];
/// `ifHCInOctets` column of `ifXTable`.
const IF_HC_IN: &[u64] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6];
/// `ifHCOutOctets` column of `ifXTable`.
const IF_HC_OUT: &[u64] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 10];
/// `ifName` column of `ifXTable`.
const IF_NAME: &[u64] = &[1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1];
/// `ifDescr` column of `ifTable`.
const IF_DESCR: &[u64] = &[1, 3, 6, 1, 2, 1, 2, 2, 1, 2];

/// A rate above this is not a rate but a counter that was reset (a wrapped 64-bit counter gives
/// a small delta; a reset one a delta near 2^64). 1 Tbit/s is beyond any OPD interface.
const MAX_PLAUSIBLE_BPS: f64 = 1e12;

/// Bytes on the wire of one request and its answer (IP and UDP headers, the message, three
/// varbinds), estimated: v3 adds its security parameters and, after a new session, discovery.
const EXCHANGE_BYTES_V2C: u64 = 330;
const EXCHANGE_BYTES_V3: u64 = 480;

/// Which interface of the agent.
/// Which interface of the agent: the topology's own type.
pub use crate::topology::Interface;

/// How the agent knows us. `Debug` never shows a community or a password.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    V2c { community: String },
    V3(V3),
}

/// An SNMPv3 (USM) user.
#[derive(Clone, PartialEq, Eq)]
pub struct V3 {
    pub user: String,
    pub auth: AuthProtocol,
    pub auth_password: String,
    pub privacy: Privacy,
    /// Absent when `privacy` is `None`.
    pub privacy_password: Option<String>,
}

/// USM authentication protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthProtocol {
    Md5,
    Sha,
    Sha256,
}

/// USM privacy (encryption) protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privacy {
    None,
    Des,
    /// AES-128 (CFB), what `createUser ... AES` makes in net-snmp.
    Aes,
}

impl Credentials {
    /// `v2c` or `v3`, as in the topology.
    #[must_use]
    pub fn version(&self) -> &'static str {
        match self {
            Credentials::V2c { .. } => "v2c",
            Credentials::V3(_) => "v3",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::V2c { .. } => f.write_str("Credentials::V2c(<redacted>)"),
            Credentials::V3(v) => f
                .debug_struct("Credentials::V3")
                .field("user", &v.user)
                .field("auth", &v.auth)
                .field("privacy", &v.privacy)
                .finish_non_exhaustive(),
        }
    }
}

/// Credentials as written under `snmp:` in the secrets file: `{community}` for v2c, or
/// `{user, auth, auth_password, privacy, privacy_password}` for v3.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawCredentials {
    community: Option<String>,
    user: Option<String>,
    auth: Option<String>,
    auth_password: Option<String>,
    privacy: Option<String>,
    privacy_password: Option<String>,
}

/// USM refuses passwords shorter than this (RFC 3414 2.6).
const MIN_USM_PASSWORD: usize = 8;

impl RawCredentials {
    /// Check one entry; `name` is its key, for the message. The message never quotes a secret.
    pub fn validate(self, name: &str) -> Result<Credentials, String> {
        let at = format!("SNMP credentials `{name}`");
        let v3_fields = [
            ("user", self.user.is_some()),
            ("auth", self.auth.is_some()),
            ("auth_password", self.auth_password.is_some()),
            ("privacy", self.privacy.is_some()),
            ("privacy_password", self.privacy_password.is_some()),
        ];
        let any_v3: Vec<&str> = v3_fields.iter().filter(|f| f.1).map(|f| f.0).collect();
        if let Some(community) = self.community {
            if !any_v3.is_empty() {
                return Err(format!(
                    "{at}: `community` (v2c) cannot go with {} (v3); keep one",
                    any_v3.join(", ")
                ));
            }
            if community.is_empty() {
                return Err(format!("{at}: `community` is empty"));
            }
            return Ok(Credentials::V2c { community });
        }
        let (Some(user), Some(auth_password)) = (self.user, self.auth_password) else {
            return Err(format!(
                "{at}: give `community` for v2c, or `user` and `auth_password` (with `auth` and \
                 `privacy`) for v3"
            ));
        };
        let auth = match self.auth.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("sha" | "sha1") => AuthProtocol::Sha,
            Some("sha256" | "sha-256") => AuthProtocol::Sha256,
            Some("md5") => AuthProtocol::Md5,
            Some(_) => return Err(format!("{at}: `auth` must be sha, sha256 or md5")),
        };
        let privacy = match self
            .privacy
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("aes" | "aes128") => Privacy::Aes,
            Some("des") => Privacy::Des,
            Some("none") => Privacy::None,
            Some(_) => return Err(format!("{at}: `privacy` must be aes, des or none")),
        };
        if auth_password.len() < MIN_USM_PASSWORD {
            return Err(format!(
                "{at}: `auth_password` is shorter than {MIN_USM_PASSWORD} characters (SNMPv3 refuses it)"
            ));
        }
        let privacy_password = match (privacy, self.privacy_password) {
            (Privacy::None, Some(_)) => {
                return Err(format!(
                    "{at}: `privacy_password` given but `privacy: none`"
                ));
            }
            (Privacy::None, None) => None,
            (_, None) => {
                return Err(format!(
                    "{at}: `privacy_password` is missing (or set `privacy: none`)"
                ));
            }
            (_, Some(p)) if p.len() < MIN_USM_PASSWORD => {
                return Err(format!(
                    "{at}: `privacy_password` is shorter than {MIN_USM_PASSWORD} characters"
                ));
            }
            (_, Some(p)) => Some(p),
        };
        Ok(Credentials::V3(V3 {
            user,
            auth,
            auth_password,
            privacy,
            privacy_password,
        }))
    }
}

/// What the profile says about polling.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Extra attempts after a timeout, within one round.
    pub retries: u32,
    /// Polls closer than this give no rate (the agent's counter cache would be measured).
    pub min_window: Duration,
}

/// One reading of the counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// When the answer arrived (monotonic).
    pub at: Instant,
    /// `sysUpTime.0`, hundredths of a second.
    pub uptime_cs: u32,
    /// `ifHCInOctets`: received by the interface, toward the OPD.
    pub in_octets: u64,
    /// `ifHCOutOctets`: sent by the interface, away from the OPD.
    pub out_octets: u64,
}

/// The rate between two readings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub window: Duration,
    pub rx_octets: u64,
    pub tx_octets: u64,
    pub rx_bps: f64,
    pub tx_bps: f64,
}

/// Why two readings give no rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Discard {
    /// `sysUpTime` went backwards: the agent restarted, its counters may have too.
    AgentRestarted,
    /// The readings are closer than the profile's `min_window`.
    WindowTooShort {
        #[serde(with = "super::secs")]
        window: Duration,
        #[serde(with = "super::secs")]
        min: Duration,
    },
    /// A counter went down by more than a wrap explains: it was reset.
    CounterReset,
}

/// Octets counted between two readings of a 64-bit counter, across a wrap.
#[must_use]
pub fn counter_delta(before: u64, after: u64) -> u64 {
    after.wrapping_sub(before)
}

/// Rates from two readings, or why there is none.
pub fn rate(prev: &Reading, now: &Reading, min_window: Duration) -> Result<Rate, Discard> {
    if now.uptime_cs < prev.uptime_cs {
        return Err(Discard::AgentRestarted);
    }
    let window = now.at.saturating_duration_since(prev.at);
    if window < min_window || window.is_zero() {
        return Err(Discard::WindowTooShort {
            window,
            min: min_window,
        });
    }
    let rx_octets = counter_delta(prev.in_octets, now.in_octets);
    let tx_octets = counter_delta(prev.out_octets, now.out_octets);
    let secs = window.as_secs_f64();
    let rx_bps = rx_octets as f64 * 8.0 / secs;
    let tx_bps = tx_octets as f64 * 8.0 / secs;
    if rx_bps > MAX_PLAUSIBLE_BPS || tx_bps > MAX_PLAUSIBLE_BPS {
        return Err(Discard::CounterReset);
    }
    Ok(Rate {
        window,
        rx_octets,
        tx_octets,
        rx_bps,
        tx_bps,
    })
}

/// Why a poll failed, beyond a timeout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The v3 user, its protocols or its passwords were refused.
    Auth { why: String },
    /// The agent has no such object or instance (`noSuchObject`, `noSuchInstance`).
    NoSuch { object: String, instance: bool },
    /// No interface has this name in `ifName` or `ifDescr`.
    NoInterface { name: String },
    /// The agent answered with an error status.
    Status { status: u32 },
    /// A malformed or unexpected answer.
    Protocol { message: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Auth { why } => write!(f, "SNMPv3 authentication refused: {why}"),
            Problem::NoSuch { object, instance } => write!(
                f,
                "{object}: {}",
                if *instance {
                    "noSuchInstance"
                } else {
                    "noSuchObject"
                }
            ),
            Problem::NoInterface { name } => {
                write!(f, "no interface named {name:?} in ifName or ifDescr")
            }
            Problem::Status { status } => write!(f, "agent answered error-status {status}"),
            Problem::Protocol { message } => write!(f, "SNMP protocol error: {message}"),
        }
    }
}

/// Kind-specific measurements of an SNMP round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    /// The link whose interface this is (its id in the topology).
    pub link: String,
    /// `v2c` or `v3`.
    pub version: String,
    /// The interface as configured.
    pub interface: Interface,
    /// Its index, once known.
    pub if_index: Option<u32>,
    /// `sysUpTime.0` in hundredths of a second.
    pub uptime_cs: Option<u32>,
    pub in_octets: Option<u64>,
    pub out_octets: Option<u64>,
    /// Time between this reading and the previous one, when a rate was computed.
    #[serde(with = "super::secs::opt")]
    pub window: Option<Duration>,
    /// Octets received/sent over the window.
    pub rx_octets: Option<u64>,
    pub tx_octets: Option<u64>,
    /// Bits per second received (toward the OPD) and sent over the window.
    pub rx_bps: Option<f64>,
    pub tx_bps: Option<f64>,
    /// This round only primed the counters (the first one, or after a discarded round).
    pub primed: bool,
    /// Why this round gave no rate, when it did not.
    pub discarded: Option<Discard>,
}

/// A poll of one interface of one agent.
pub struct SnmpProbe {
    target: Target,
    addr: SocketAddr,
    link: String,
    interface: Interface,
    credentials: Credentials,
    spec: Spec,
    timeout: Duration,
    state: Mutex<PollState>,
}

#[derive(Default)]
struct PollState {
    /// Kept between rounds; dropped on any error so a late answer cannot confuse the next.
    session: Option<Box<AsyncSession>>,
    if_index: Option<u32>,
    last: Option<Reading>,
}

impl SnmpProbe {
    /// A poll of `interface` on the agent at `addr`, for `link`.
    #[must_use]
    pub fn new(
        addr: SocketAddr,
        link: impl Into<String>,
        interface: Interface,
        credentials: Credentials,
        spec: Spec,
        timeout: Duration,
    ) -> SnmpProbe {
        let if_index = match interface {
            Interface::Index(i) => Some(i),
            Interface::Name(_) => None,
        };
        SnmpProbe {
            target: Target::socket(addr),
            addr,
            link: link.into(),
            interface,
            credentials,
            spec,
            timeout,
            state: Mutex::new(PollState {
                if_index,
                ..PollState::default()
            }),
        }
    }

    fn exchange_bytes(&self) -> u64 {
        match self.credentials {
            Credentials::V2c { .. } => EXCHANGE_BYTES_V2C,
            Credentials::V3(_) => EXCHANGE_BYTES_V3,
        }
    }

    async fn round(&self) -> Outcome {
        let started = SystemTime::now();
        let t0 = Instant::now();
        let mut st = self.state.lock().await;
        let mut exchanges = 0u64;
        let mut result = Err(Reason::Timeout {
            after: self.timeout,
        });
        let (mut attempts, mut rediscovered) = (0, false);
        while attempts <= self.spec.retries {
            attempts += 1;
            exchanges += 1;
            let had_session = st.session.is_some();
            match tokio::time::timeout(self.timeout, self.poll(&mut st, &mut exchanges)).await {
                Ok(Ok(r)) => {
                    result = Ok(r);
                    break;
                }
                // A kept v3 session whose agent restarted (new engine id, boots or time) is
                // refused: discover the engine again once before calling it a failure.
                Ok(Err(Reason::Snmp {
                    problem: Problem::Auth { .. },
                })) if had_session && !rediscovered => {
                    st.session = None;
                    rediscovered = true;
                    attempts -= 1;
                }
                Ok(Err(reason)) => {
                    st.session = None;
                    result = Err(reason);
                    break;
                }
                Err(_) => {
                    st.session = None;
                    result = Err(Reason::Timeout {
                        after: self.timeout,
                    });
                }
            }
        }
        let mut detail = Detail {
            link: self.link.clone(),
            version: self.credentials.version().to_owned(),
            interface: self.interface.clone(),
            if_index: st.if_index,
            uptime_cs: None,
            in_octets: None,
            out_octets: None,
            window: None,
            rx_octets: None,
            tx_octets: None,
            rx_bps: None,
            tx_bps: None,
            primed: false,
            discarded: None,
        };
        let elapsed = t0.elapsed();
        let spent = exchanges * self.exchange_bytes();
        let reading = match result {
            Ok(r) => r,
            Err(reason) => {
                return Outcome::new(Kind::Snmp, &self.target, started, elapsed, wrap(detail))
                    .failed(reason)
                    .spent(spent);
            }
        };
        detail.uptime_cs = Some(reading.uptime_cs);
        detail.in_octets = Some(reading.in_octets);
        detail.out_octets = Some(reading.out_octets);
        match st.last.replace(reading) {
            None => detail.primed = true,
            Some(prev) => match rate(&prev, &reading, self.spec.min_window) {
                Ok(r) => {
                    detail.window = Some(r.window);
                    detail.rx_octets = Some(r.rx_octets);
                    detail.tx_octets = Some(r.tx_octets);
                    detail.rx_bps = Some(r.rx_bps);
                    detail.tx_bps = Some(r.tx_bps);
                }
                Err(d) => {
                    if d == Discard::AgentRestarted && matches!(self.interface, Interface::Name(_))
                    {
                        // A rebooted router may number its interfaces anew.
                        st.if_index = None;
                    }
                    if matches!(d, Discard::WindowTooShort { .. }) {
                        // Keep the older reading: the next round measures from it.
                        st.last = Some(prev);
                    }
                    detail.discarded = Some(d);
                }
            },
        }
        Outcome::new(Kind::Snmp, &self.target, started, elapsed, wrap(detail)).spent(spent)
    }

    /// One reading: a session (v3 discovery when new), the interface index (a walk when only
    /// the name is known), then one GET.
    async fn poll(&self, st: &mut PollState, exchanges: &mut u64) -> Result<Reading, Reason> {
        if st.session.is_none() {
            st.session = Some(self.open(exchanges).await?);
        }
        let Some(session) = st.session.as_deref_mut() else {
            return Err(protocol("no session"));
        };
        let index = match st.if_index {
            Some(i) => i,
            None => {
                let Interface::Name(name) = &self.interface else {
                    return Err(protocol("no interface index"));
                };
                let i = resolve(session, name, exchanges).await?;
                st.if_index = Some(i);
                i
            }
        };
        let up = oid(SYS_UPTIME)?;
        let rx = oid(&[IF_HC_IN, &[u64::from(index)]].concat())?;
        let tx = oid(&[IF_HC_OUT, &[u64::from(index)]].concat())?;
        let mut attempt = 0;
        let pdu = loop {
            attempt += 1;
            match session.get_many(&[&up, &rx, &tx]).await {
                // v3: the agent's clock or boots moved; the session has caught up, ask again.
                Err(snmp2::Error::AuthUpdated) if attempt < 3 => *exchanges += 1,
                Err(e) => return Err(from_snmp(&e)),
                Ok(p) => break p,
            }
        };
        if pdu.error_status != 0 {
            return Err(Reason::Snmp {
                problem: Problem::Status {
                    status: pdu.error_status,
                },
            });
        }
        let at = Instant::now();
        let (mut uptime, mut inn, mut out) = (None, None, None);
        for (name, value) in pdu.varbinds {
            let label = if name == up {
                "sysUpTime.0".to_owned()
            } else if name == rx {
                format!("ifHCInOctets.{index}")
            } else if name == tx {
                format!("ifHCOutOctets.{index}")
            } else {
                continue;
            };
            match value {
                Value::Timeticks(t) if name == up => uptime = Some(t),
                Value::Counter64(c) if name == rx => inn = Some(c),
                Value::Counter64(c) if name == tx => out = Some(c),
                Value::NoSuchInstance | Value::NoSuchObject => {
                    return Err(Reason::Snmp {
                        problem: Problem::NoSuch {
                            object: label,
                            instance: matches!(value, Value::NoSuchInstance),
                        },
                    });
                }
                other => return Err(protocol(&format!("{label} is {other:?}"))),
            }
        }
        match (uptime, inn, out) {
            (Some(uptime_cs), Some(in_octets), Some(out_octets)) => Ok(Reading {
                at,
                uptime_cs,
                in_octets,
                out_octets,
            }),
            _ => Err(protocol("the answer lacks sysUpTime or a counter")),
        }
    }

    async fn open(&self, exchanges: &mut u64) -> Result<Box<AsyncSession>, Reason> {
        let req_id = rand::random::<i32>() & 0x3fff_ffff;
        let io = |e: std::io::Error| Reason::from_io(&e);
        match &self.credentials {
            Credentials::V2c { community } => {
                AsyncSession::new_v2c(self.addr, community.as_bytes(), req_id)
                    .await
                    .map(Box::new)
                    .map_err(io)
            }
            Credentials::V3(v) => {
                use snmp2::v3;
                let auth = match v.auth {
                    AuthProtocol::Md5 => v3::AuthProtocol::Md5,
                    AuthProtocol::Sha => v3::AuthProtocol::Sha1,
                    AuthProtocol::Sha256 => v3::AuthProtocol::Sha256,
                };
                let level = match (v.privacy, &v.privacy_password) {
                    (Privacy::Des, Some(p)) => v3::Auth::AuthPriv {
                        cipher: v3::Cipher::Des,
                        privacy_password: p.as_bytes().to_vec(),
                    },
                    (Privacy::Aes, Some(p)) => v3::Auth::AuthPriv {
                        cipher: v3::Cipher::Aes128,
                        privacy_password: p.as_bytes().to_vec(),
                    },
                    _ => v3::Auth::AuthNoPriv,
                };
                let security = v3::Security::new(v.user.as_bytes(), v.auth_password.as_bytes())
                    .with_auth_protocol(auth)
                    .with_auth(level);
                let mut s = AsyncSession::new_v3(self.addr, req_id, security)
                    .await
                    .map(Box::new)
                    .map_err(io)?;
                *exchanges += 1;
                s.init().await.map_err(|e| from_snmp(&e))?;
                Ok(s)
            }
        }
    }
}

fn wrap(d: Detail) -> AnyDetail {
    AnyDetail::Snmp(d)
}

fn oid(arcs: &[u64]) -> Result<Oid<'static>, Reason> {
    Oid::from(arcs).map_err(|_| protocol("bad object identifier"))
}

fn protocol(message: &str) -> Reason {
    Reason::Snmp {
        problem: Problem::Protocol {
            message: message.to_owned(),
        },
    }
}

fn from_snmp(e: &snmp2::Error) -> Reason {
    match e {
        snmp2::Error::AuthFailure(kind) => Reason::Snmp {
            problem: Problem::Auth {
                why: kind.to_string(),
            },
        },
        snmp2::Error::Send | snmp2::Error::Receive => Reason::Network {
            message: e.to_string(),
        },
        other => protocol(&other.to_string()),
    }
}

/// The index of the interface named `name`: `ifName` first (short names like `ether1`), then
/// `ifDescr`, each walked with GETBULK.
async fn resolve(
    session: &mut AsyncSession,
    name: &str,
    exchanges: &mut u64,
) -> Result<u32, Reason> {
    for column in [IF_NAME, IF_DESCR] {
        let mut cursor = oid(column)?;
        'walk: for _ in 0..64 {
            *exchanges += 1;
            let pdu = match session.getbulk(&[&cursor], 0, 16).await {
                Err(snmp2::Error::AuthUpdated) => continue,
                Err(e) => return Err(from_snmp(&e)),
                Ok(p) => p,
            };
            let mut last = None;
            for (o, value) in pdu.varbinds {
                let arcs: Vec<u64> = o.iter().map(Iterator::collect).unwrap_or_default();
                if arcs.len() != column.len() + 1 || !arcs.starts_with(column) {
                    break 'walk;
                }
                if let Value::OctetString(text) = value
                    && String::from_utf8_lossy(text).trim_end_matches('\0') == name
                {
                    return u32::try_from(arcs[column.len()])
                        .map_err(|_| protocol("interface index out of range"));
                }
                last = Some(arcs);
            }
            match last {
                Some(arcs) => cursor = oid(&arcs)?,
                None => break,
            }
        }
    }
    Err(Reason::Snmp {
        problem: Problem::NoInterface {
            name: name.to_owned(),
        },
    })
}

impl Probe for SnmpProbe {
    fn kind(&self) -> Kind {
        Kind::Snmp
    }

    fn target(&self) -> &Target {
        &self.target
    }

    fn cost_bytes(&self) -> u64 {
        // A round with a fresh v3 session: discovery plus the GET.
        2 * self.exchange_bytes()
    }

    fn run(&self) -> BoxFuture<'_, Result<Outcome, Error>> {
        Box::pin(async move { Ok(self.round().await) })
    }

    fn rate_window(&self) -> Option<Duration> {
        Some(self.spec.min_window)
    }
}

/// 1 234 567 bps as `1,23 Mbps` and 512 000 bps as `512 Kbps`, with a decimal comma.
fn human_bps(bps: f64) -> String {
    let (v, unit) = if bps >= 1e9 {
        (bps / 1e9, "Gbps")
    } else if bps >= 1e6 {
        (bps / 1e6, "Mbps")
    } else if bps >= 1e3 {
        (bps / 1e3, "Kbps")
    } else {
        (bps, "bps")
    };
    let n = format!("{v:.2}");
    let n = n.trim_end_matches('0').trim_end_matches('.');
    format!("{} {unit}", n.replace('.', ","))
}

/// A share as a percentage with a decimal comma: `0,4%`, `48,0%`.
fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0).replace('.', ",")
}

/// The level of an SNMP round, worded in Bahasa Indonesia. A failed poll is `Unknown`, not
/// `Down`: the monitoring channel failed, not the link.
#[must_use]
pub fn level(outcome: &Outcome, contracted_bps: Option<u64>) -> Level {
    let d = match &outcome.detail {
        AnyDetail::Snmp(d) => Some(d),
        _ => None,
    };
    if !outcome.ok {
        let detail = match &outcome.reason {
            Some(Reason::Timeout { after }) => format!(
                "agen SNMP {} tidak menjawab dalam {:.1} s (community salah, ACL agen, atau agen mati)",
                outcome.target,
                after.as_secs_f64()
            )
            .replace('.', ","),
            Some(Reason::Snmp { problem }) => match problem {
                Problem::Auth { .. } => format!(
                    "autentikasi SNMPv3 ke {} ditolak: periksa user, protokol auth/privasi dan kata sandinya",
                    outcome.target
                ),
                Problem::NoSuch { object, .. } => format!(
                    "objek {object} tidak ada di agen ({problem}): periksa if_index, atau agen tidak mendukung penghitung 64-bit"
                ),
                Problem::NoInterface { name } => format!(
                    "antarmuka `{name}` tidak ditemukan di ifName maupun ifDescr agen: periksa if_name"
                ),
                Problem::Status { status } => {
                    format!("agen SNMP menolak permintaan (error-status {status})")
                }
                Problem::Protocol { message } => format!("jawaban SNMP tidak dapat dibaca: {message}"),
            },
            Some(other) => format!("agen SNMP tidak dapat dihubungi: {other}"),
            None => "pembacaan SNMP gagal".to_owned(),
        };
        return Level {
            state: State::Unknown,
            cause: None,
            detail,
        };
    }
    let detail = match d {
        Some(d) if d.primed => {
            "pembacaan pertama: penghitung dicatat, laju dihitung pada putaran berikutnya".to_owned()
        }
        Some(Detail {
            discarded: Some(why),
            ..
        }) => match why {
            Discard::AgentRestarted => {
                "agen SNMP dimulai ulang (sysUpTime mundur): putaran dibuang, penghitung dicatat ulang".to_owned()
            }
            Discard::WindowTooShort { window, min } => format!(
                "jarak pembacaan {:.1} s lebih pendek dari min_window {:.1} s: putaran dibuang",
                window.as_secs_f64(),
                min.as_secs_f64()
            )
            .replace('.', ","),
            Discard::CounterReset => {
                "penghitung antarmuka direset: putaran dibuang, penghitung dicatat ulang".to_owned()
            }
        },
        Some(Detail {
            rx_bps: Some(rx),
            tx_bps: Some(tx),
            ..
        }) => {
            let mut s = format!("masuk {}, keluar {}", human_bps(*rx), human_bps(*tx));
            if let Some(c) = contracted_bps.filter(|c| *c > 0) {
                let c = c as f64;
                s.push_str(&format!(
                    " (utilisasi {} / {} dari kontrak {})",
                    percent(rx / c),
                    percent(tx / c),
                    human_bps(c)
                ));
            }
            s
        }
        _ => String::new(),
    };
    Level {
        state: State::Healthy,
        cause: None,
        detail,
    }
}

#[cfg(test)]
mod tests;
