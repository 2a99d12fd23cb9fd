//! ICMP echo rounds with surge-ping: RTT percentiles, loss and jitter, keeping the sorted RTTs
//! of the round (SmokePing's view of the distribution). Also sends the back-to-back packet
//! trains of the bandwidth estimate.
//!
//! A raw socket as root or with CAP_NET_RAW, an unprivileged ICMP (SOCK_DGRAM) socket otherwise;
//! when neither may be opened the probe cannot run and says how to allow it.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use surge_ping::{Client, Config, ICMP, IcmpPacket, PingIdentifier, PingSequence, SurgeError};
use tokio::time::Instant;

use super::profile::IcmpSpec;
use super::stats::{self, RttSummary, icmp_packet_bytes};
use super::{BoxFuture, Error, Host, Kind, Outcome, Probe, Reason, Target};

#[cfg(test)]
mod tests;

/// What a round measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    pub addr: String,
    /// `raw` or `dgram`: which socket the kernel allowed.
    pub socket: String,
    /// ICMP payload bytes per echo.
    pub size: u32,
    pub sent: u32,
    pub received: u32,
    pub loss_ratio: f64,
    /// RTT statistics; absent when nothing came back.
    pub rtt: Option<RttSummary>,
}

/// ICMP sockets opened once and shared by every ICMP and packet-train probe: `juknis serve`
/// opens them at start-up, before it drops privileges, and a thousand targets share two
/// sockets instead of opening one per round. Replies are told apart by identifier and sequence.
#[derive(Clone)]
pub struct Sockets {
    v4: (Client, &'static str),
    v6: Option<(Client, &'static str)>,
}

impl std::fmt::Debug for Sockets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sockets")
            .field("v4", &self.v4.1)
            .field("v6", &self.v6.as_ref().map(|s| s.1))
            .finish()
    }
}

impl Sockets {
    /// Opens the IPv4 socket (required) and the IPv6 one (when the host has IPv6). Must run
    /// inside a tokio runtime, which then owns the receiving tasks.
    pub fn open() -> Result<Sockets, Error> {
        let any = Target::ip(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let v4 = open(any.host_ip(), &any)?;
        let v6 = open(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), &any).ok();
        Ok(Sockets { v4, v6 })
    }

    fn for_ip(&self, ip: IpAddr, target: &Target) -> Result<(Client, &'static str), Error> {
        match (ip, &self.v6) {
            (IpAddr::V4(_), _) => Ok(self.v4.clone()),
            (IpAddr::V6(_), Some(v6)) => Ok(v6.clone()),
            (IpAddr::V6(_), None) => open(ip, target),
        }
    }
}

/// The shared sockets when given, else sockets opened for this run.
pub(crate) fn client_for(
    shared: Option<&Sockets>,
    ip: IpAddr,
    target: &Target,
) -> Result<(Client, &'static str), Error> {
    match shared {
        Some(s) => s.for_ip(ip, target),
        None => open(ip, target),
    }
}

/// A round of `count` echoes, `spacing` apart, each waiting at most `timeout`.
#[derive(Debug, Clone)]
pub struct IcmpProbe {
    target: Target,
    spec: IcmpSpec,
    timeout: Duration,
    sockets: Option<Sockets>,
    /// The echo payload, made once rather than every round.
    payload: Vec<u8>,
}

impl IcmpProbe {
    #[must_use]
    pub fn new(target: Target, spec: IcmpSpec, timeout: Duration) -> IcmpProbe {
        IcmpProbe {
            payload: vec![0x4a_u8; spec.size as usize],
            target,
            spec,
            timeout,
            sockets: None,
        }
    }

    /// Uses sockets opened beforehand instead of opening one per round.
    #[must_use]
    pub fn with_sockets(mut self, sockets: Sockets) -> IcmpProbe {
        self.sockets = Some(sockets);
        self
    }

    async fn round(&self) -> Result<Outcome, Error> {
        let started = SystemTime::now();
        let t0 = Instant::now();
        let ip = match resolve(&self.target).await {
            Ok(ip) => ip,
            Err(reason) => {
                let detail = Detail {
                    addr: self.target.host_str(),
                    socket: String::new(),
                    size: self.spec.size,
                    sent: 0,
                    received: 0,
                    loss_ratio: 1.0,
                    rtt: None,
                };
                return Ok(Outcome::new(
                    Kind::Icmp,
                    &self.target,
                    started,
                    t0.elapsed(),
                    super::Detail::Icmp(detail),
                )
                .failed(reason));
            }
        };
        let (client, socket) = client_for(self.sockets.as_ref(), ip, &self.target)?;
        let payload = &self.payload;
        // Echoes leave `spacing` apart whatever their replies do, as ping and SmokePing send
        // them: waiting for each reply would stretch a lossy round by a timeout per loss.
        let ident = next_ident();
        let mut results = Vec::with_capacity(self.spec.count as usize);
        if self.spec.count == 1 {
            // One echo needs no spacing and no task of its own: at a thousand targets a second
            // the spawned task and the interval timer cost more than the echo.
            let mut pinger = client.pinger(ip, ident).await;
            pinger.timeout(self.timeout);
            results.push((0, pinger.ping(PingSequence(0), payload).await));
        } else {
            let mut inflight = tokio::task::JoinSet::new();
            let mut tick = tokio::time::interval(self.spec.spacing);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            for seq in 0..self.spec.count {
                tick.tick().await;
                let client = client.clone();
                let payload = payload.clone();
                let timeout = self.timeout;
                inflight.spawn(async move {
                    let mut pinger = client.pinger(ip, ident).await;
                    pinger.timeout(timeout);
                    let seq16 = PingSequence(u16::try_from(seq % 65_536).unwrap_or(0));
                    (seq, pinger.ping(seq16, &payload).await)
                });
            }
            while let Some(joined) = inflight.join_next().await {
                if let Ok(r) = joined {
                    results.push(r);
                }
            }
        }
        results.sort_by_key(|(seq, _)| *seq);
        let mut rtts = Vec::with_capacity(self.spec.count as usize);
        let mut last_err: Option<Reason> = None;
        for (_, r) in results {
            match r {
                Ok((packet, rtt)) => match answer(&packet) {
                    Answer::Reply => rtts.push(rtt),
                    // A router's "unreachable" or "time exceeded" is not the target answering:
                    // the echo is lost, and the round says who spoke instead.
                    Answer::Error(message) => last_err = Some(Reason::Unreachable { message }),
                },
                Err(SurgeError::Timeout { .. }) => {}
                Err(SurgeError::IOError(e)) => last_err = Some(Reason::from_io(&e)),
                Err(e) => {
                    last_err = Some(Reason::Network {
                        message: e.to_string(),
                    })
                }
            }
        }
        let received = u32::try_from(rtts.len()).unwrap_or(u32::MAX);
        let packet = u64::from(icmp_packet_bytes(self.spec.size, ip.is_ipv6()));
        let spent = packet * (u64::from(self.spec.count) + u64::from(received));
        let detail = Detail {
            addr: ip.to_string(),
            socket: socket.to_owned(),
            size: self.spec.size,
            sent: self.spec.count,
            received,
            loss_ratio: stats::loss_ratio(self.spec.count, received),
            rtt: stats::summarize(self.spec.count, &rtts),
        };
        let outcome = Outcome::new(
            Kind::Icmp,
            &self.target,
            started,
            t0.elapsed(),
            super::Detail::Icmp(detail),
        )
        .spent(spent);
        Ok(if received == 0 {
            outcome.failed(last_err.unwrap_or(Reason::AllLost {
                sent: self.spec.count,
            }))
        } else {
            outcome
        })
    }
}

impl Probe for IcmpProbe {
    fn kind(&self) -> Kind {
        Kind::Icmp
    }

    fn target(&self) -> &Target {
        &self.target
    }

    fn cost_bytes(&self) -> u64 {
        2 * u64::from(self.spec.count) * u64::from(icmp_packet_bytes(self.spec.size, false))
    }

    fn run(&self) -> BoxFuture<'_, Result<Outcome, Error>> {
        Box::pin(self.round())
    }
}

/// Resolves a target to one IP, as a [`Reason`] when it cannot.
pub(crate) async fn resolve(target: &Target) -> Result<IpAddr, Reason> {
    match &target.host {
        Host::Ip(ip) => Ok(*ip),
        Host::Name(_) => target
            .resolve(0)
            .await
            .map(|a| a.ip())
            .map_err(|e| Reason::Unreachable {
                message: e.to_string(),
            }),
    }
}

/// Opens an ICMP client: raw first, then unprivileged datagram (surge-ping falls back itself).
pub(crate) fn open(ip: IpAddr, target: &Target) -> Result<(Client, &'static str), Error> {
    let kind = if ip.is_ipv6() { ICMP::V6 } else { ICMP::V4 };
    let config = Config::builder()
        .kind(kind)
        .sock_type_hint(socket2::Type::RAW)
        .build();
    match Client::new(&config) {
        Ok(c) => {
            let label = if c.get_socket().get_type() == socket2::Type::RAW {
                "raw"
            } else {
                "dgram"
            };
            Ok((c, label))
        }
        Err(e)
            if matches!(e.kind(), std::io::ErrorKind::PermissionDenied)
                || e.raw_os_error() == Some(1) =>
        {
            Err(Error::IcmpPrivilege {
                target: target.to_string(),
                source: e,
            })
        }
        Err(e) => Err(Error::Socket {
            operation: "opening an ICMP socket",
            target: target.to_string(),
            source: e,
        }),
    }
}

/// What came back for one echo. surge-ping hands an ICMP error quoting the echo (a router's
/// "destination unreachable" or "time exceeded") to the echo's waiter as if it were the reply;
/// only an echo reply is the target answering.
#[derive(Debug, PartialEq)]
pub(crate) enum Answer {
    Reply,
    /// An error from a router on the way, described for the round's reason.
    Error(String),
}

/// Echo reply types: ICMPv4 0, ICMPv6 129.
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REPLY_V6: u8 = 129;

pub(crate) fn answer(packet: &IcmpPacket) -> Answer {
    let (ty, code, from) = match packet {
        IcmpPacket::V4(p) => (
            p.get_icmp_type().0,
            p.get_icmp_code().0,
            IpAddr::V4(p.get_source()),
        ),
        IcmpPacket::V6(p) => (
            p.get_icmpv6_type().0,
            p.get_icmpv6_code().0,
            IpAddr::V6(p.get_source()),
        ),
    };
    let reply = if from.is_ipv4() {
        ECHO_REPLY_V4
    } else {
        ECHO_REPLY_V6
    };
    if ty == reply {
        return Answer::Reply;
    }
    Answer::Error(format!(
        "{} answered {} instead of {}",
        from,
        icmp_error_words(from.is_ipv6(), ty, code),
        packet.real_destination()
    ))
}

/// The common ICMP errors in words (RFC 792, RFC 4443); others by number.
fn icmp_error_words(v6: bool, ty: u8, code: u8) -> String {
    let words = match (v6, ty, code) {
        (false, 3, 0) => "network unreachable",
        (false, 3, 1) => "host unreachable",
        (false, 3, 3) => "port unreachable",
        (false, 3, 13) => "administratively prohibited",
        (false, 3, _) => "destination unreachable",
        (false, 11, _) => "time exceeded",
        (true, 1, 0) => "no route to destination",
        (true, 1, 1) => "administratively prohibited",
        (true, 1, 3) => "address unreachable",
        (true, 1, _) => "destination unreachable",
        (true, 3, _) => "time exceeded",
        _ => return format!("ICMP type {ty} code {code}"),
    };
    words.to_string()
}

/// Identifiers differ per round so concurrent rounds on a raw socket do not take each other's
/// replies.
pub(crate) fn next_ident() -> PingIdentifier {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = (std::process::id() & 0xffff) as u16;
    PingIdentifier(base.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed).wrapping_mul(7919)))
}

/// One packet train: `len` echoes of `size` payload bytes sent back to back. Returns the
/// arrival instants of the replies (send instant plus RTT), in seconds since the first send.
pub(crate) async fn train(
    client: &Client,
    ip: IpAddr,
    len: u32,
    size: u32,
    timeout: Duration,
    seq_base: u16,
) -> Vec<f64> {
    let payload = vec![0x5a_u8; size as usize];
    let ident = next_ident();
    let origin = Instant::now();
    let mut pingers = Vec::with_capacity(len as usize);
    for _ in 0..len {
        let mut p = client.pinger(ip, ident).await;
        p.timeout(timeout);
        pingers.push(p);
    }
    let futs = pingers.into_iter().enumerate().map(|(i, mut p)| {
        let payload = payload.clone();
        let seq = PingSequence(seq_base.wrapping_add(u16::try_from(i).unwrap_or(0)));
        async move {
            // The send happens in the first poll, so this instant is the send time.
            let sent_at = Instant::now();
            p.ping(seq, &payload)
                .await
                .ok()
                .filter(|(packet, _)| matches!(answer(packet), Answer::Reply))
                .map(|(_, rtt)| {
                    (sent_at + rtt)
                        .saturating_duration_since(origin)
                        .as_secs_f64()
                })
        }
    });
    let mut arrivals: Vec<f64> = futures_util::future::join_all(futs)
        .await
        .into_iter()
        .flatten()
        .collect();
    arrivals.sort_by(f64::total_cmp);
    arrivals
}
