//! The SNMP probe: one GET of `sysUpTime.0` and the interface's two counters a round, the
//! interface's index found once by name, a session kept between rounds.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use snmp2::{AsyncSession, Oid, Value};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{
    AuthProtocol, Credentials, Detail, Discard, Interface, Privacy, Problem, Reading, Spec, rate,
};
use crate::probe::{BoxFuture, Detail as AnyDetail, Error, Kind, Outcome, Probe, Reason, Target};

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

/// Bytes on the wire of one request and its answer (IP and UDP headers, the message, three
/// varbinds), estimated: v3 adds its security parameters and, after a new session, discovery.
const EXCHANGE_BYTES_V2C: u64 = 330;
const EXCHANGE_BYTES_V3: u64 = 480;

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
