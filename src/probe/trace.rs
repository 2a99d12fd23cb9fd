//! The path tracer (`juknis trace`, the dashboard's "Telusuri jalur" button): MTR-like rounds of
//! TTL-limited probes (ICMP echo, UDP, or TCP SYN to the service's port) through trippy-core, read
//! back per hop as the answering address, the RTT distribution and the loss, and compared with the
//! path the topology declares ("hop 3 (198.51.100.1) = Router Diskominfo; hop 4 diam"). The number
//! of rounds is cut to the link's probe budget. Blocking: async callers run it on a blocking
//! thread. The comparison ([`compare`]) is pure and tested without sockets.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::topology::{NodeId, Route, Topology};

#[cfg(test)]
mod tests;

/// Why a trace could not run (a trace that ran and found silence is a result, not an error).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the tracer toward {target} could not start: {source}")]
    Start {
        target: IpAddr,
        #[source]
        source: trippy_core::Error,
    },
    #[error("the trace toward {target} failed: {source}")]
    Run {
        target: IpAddr,
        #[source]
        source: trippy_core::Error,
    },
    #[error("the trace toward {target} stopped: {message}")]
    Tracer { target: IpAddr, message: String },
    #[error("the topology has no path `{path}` (paths: {known})")]
    UnknownPath { path: String, known: String },
    #[error("node `{node}`, the service of path `{path}`, has no address to trace toward")]
    NoAddress { path: String, node: NodeId },
    #[error(
        "the probe budget allows {allowed} bytes for a trace, but one round toward {target} costs {per_round}: \
         raise the link's probe_share_percent or trace with fewer hops (--max-ttl)"
    )]
    OverBudget {
        target: IpAddr,
        allowed: u64,
        per_round: u64,
    },
}

/// What the probes are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Icmp,
    Udp,
    /// TCP SYN to the service's port: what firewalls toward Dukcapil let through.
    Tcp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Icmp => "icmp",
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
        }
    }
}

/// How to trace.
#[derive(Clone, Debug)]
pub struct Config {
    pub target: IpAddr,
    pub protocol: Protocol,
    /// Destination port of TCP probes (UDP probes vary theirs, from 33434).
    pub port: u16,
    /// Rounds to send (each probes every TTL up to the target once).
    pub rounds: usize,
    pub max_ttl: u8,
    /// Longest wait for a round's answers.
    pub round_timeout: Duration,
}

impl Config {
    pub fn new(target: IpAddr, protocol: Protocol, port: u16) -> Self {
        Self {
            target,
            protocol,
            port,
            rounds: 10,
            max_ttl: 16,
            round_timeout: Duration::from_millis(1000),
        }
    }

    /// Bytes of one packet (IPv4 header, ICMP/UDP header and payload; a TCP SYN is smaller).
    pub const PACKET_BYTES: u64 = 84;

    /// The most bytes one round can spend on the link: every TTL's probe and its answer (an
    /// ICMP error quotes the probe, so it is about as large).
    pub fn round_bytes(&self) -> u64 {
        u64::from(self.max_ttl) * 2 * Self::PACKET_BYTES
    }

    /// Cut the rounds so that the whole trace spends at most `allowed` bytes.
    pub fn within(mut self, allowed: u64) -> Result<Self, Error> {
        let per_round = self.round_bytes();
        let fit = usize::try_from(allowed / per_round.max(1)).unwrap_or(usize::MAX);
        if fit == 0 {
            return Err(Error::OverBudget {
                target: self.target,
                allowed,
                per_round,
            });
        }
        self.rounds = self.rounds.min(fit);
        Ok(self)
    }
}

/// The trace of a declared path: toward its service's address, by default with TCP SYN to the
/// port of the service's URL (443 without one), cut to the probe budget; and the route to compare
/// it with (the primary).
pub fn for_path<'t>(
    t: &'t Topology,
    path: &str,
    protocol: Option<Protocol>,
    port: Option<u16>,
) -> Result<(Config, &'t Route), Error> {
    let p = t
        .path(&crate::topology::PathId::new(path))
        .ok_or_else(|| Error::UnknownPath {
            path: path.to_string(),
            known: t
                .paths
                .iter()
                .map(|p| p.id.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let node = t.node(&p.service);
    let addr = node
        .and_then(|n| n.address)
        .ok_or_else(|| Error::NoAddress {
            path: path.to_string(),
            node: p.service.clone(),
        })?;
    let url_port = node
        .and_then(|n| n.url.as_deref())
        .and_then(|u| reqwest::Url::parse(u).ok())
        .and_then(|u| u.port_or_known_default());
    let cfg = Config::new(
        addr,
        protocol.unwrap_or(Protocol::Tcp),
        port.or(url_port).unwrap_or(443),
    );
    let route = p.routes.first().ok_or_else(|| Error::UnknownPath {
        path: path.to_string(),
        known: String::new(),
    })?;
    Ok((cfg, route))
}

/// The route of `t` that declares a node at `addr`, to compare a trace toward it with.
pub fn route_to(t: &Topology, addr: IpAddr) -> Option<&Route> {
    t.paths.iter().flat_map(|p| &p.routes).find(|r| {
        r.hops
            .iter()
            .any(|h| t.node(h).is_some_and(|n| n.address == Some(addr)))
    })
}

/// What a trace may spend toward a node of `t`: one minute of the probe share of the smallest
/// contracted link before it (the scheduler's bucket holds ten), or `fallback` off the topology.
pub fn budget_bytes(t: &Topology, target: &NodeId, fallback: u64) -> u64 {
    let Some(node) = t.node(target) else {
        return fallback;
    };
    match super::scheduler::budget_link(t, node) {
        Some((link, bps)) => {
            let share = t.link(&link).map_or(0.01, |l| l.probe_share);
            (bps as f64 / 8.0 * share * 60.0) as u64
        }
        None => fallback,
    }
}

/// Round-trip times of a hop's answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rtt {
    pub min_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub max_ms: f64,
}

/// One TTL of a trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hop {
    pub ttl: u8,
    /// The addresses that answered at this TTL, most frequent first (empty: silent).
    pub addrs: Vec<IpAddr>,
    pub sent: usize,
    pub received: usize,
    pub loss_ratio: f64,
    pub rtt: Option<Rtt>,
    /// The answer was "destination unreachable": the router has no way on.
    #[serde(default)]
    pub unreachable: bool,
    /// The id of the declared node that answered, or that the topology puts at this silent hop.
    pub node: Option<String>,
    /// In Bahasa Indonesia: how this hop compares with the declared path.
    pub note: String,
}

/// A finished trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub target: IpAddr,
    pub protocol: Protocol,
    pub port: Option<u16>,
    /// The declared path it was compared with, if any.
    pub path: Option<String>,
    pub started_unix_ms: i64,
    pub duration_ms: u64,
    pub rounds: usize,
    /// Bytes the probes and their answers took on the link (estimated from the packets).
    pub bytes_spent: u64,
    /// Whether the target itself answered.
    pub reached: bool,
    pub hops: Vec<Hop>,
    /// In Bahasa Indonesia: where the trace stops or loses packets, in one sentence.
    pub summary: String,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Run the trace (blocking for about `rounds` × `round_timeout` at most) and compare it with
/// `declared` (the route and the topology it belongs to), if given.
pub fn run(cfg: &Config, declared: Option<(&Topology, &Route)>) -> Result<Trace, Error> {
    use trippy_core::{Builder, PortDirection};
    let target = cfg.target;
    let protocol = match cfg.protocol {
        Protocol::Icmp => trippy_core::Protocol::Icmp,
        Protocol::Udp => trippy_core::Protocol::Udp,
        Protocol::Tcp => trippy_core::Protocol::Tcp,
    };
    let direction = match cfg.protocol {
        Protocol::Icmp => PortDirection::None,
        Protocol::Udp => PortDirection::new_fixed_src(33_000 + (std::process::id() % 1000) as u16),
        Protocol::Tcp => PortDirection::new_fixed_dest(cfg.port),
    };
    let started = now_ms();
    let clock = std::time::Instant::now();
    let tracer = Builder::new(target)
        .protocol(protocol)
        .port_direction(direction)
        .trace_identifier((std::process::id() & 0xffff) as u16 ^ (started & 0xffff) as u16)
        .max_rounds(Some(cfg.rounds.max(1)))
        .max_ttl(cfg.max_ttl)
        .min_round_duration(Duration::from_millis(100))
        .max_round_duration(cfg.round_timeout)
        .grace_duration(Duration::from_millis(100))
        .tcp_connect_timeout(cfg.round_timeout)
        .build()
        .map_err(|source| Error::Start { target, source })?;
    tracer
        .run()
        .map_err(|source| Error::Run { target, source })?;
    let state = tracer.snapshot();
    if let Some(message) = state.error() {
        return Err(Error::Tracer {
            target,
            message: message.to_string(),
        });
    }
    let mut hops: Vec<Hop> = state.hops().iter().map(hop_of).collect();
    // trippy keeps a slot for every TTL it may send; the trace ends at the target or at the last
    // TTL that was probed.
    let reached_at = hops.iter().position(|h| h.addrs.contains(&target));
    // A router that says "unreachable" ends the trace: every later TTL gets the same answer.
    let refused_at = hops.iter().position(|h| h.unreachable);
    match (reached_at, refused_at) {
        (Some(i), _) | (None, Some(i)) => hops.truncate(i + 1),
        (None, None) => hops.retain(|h| h.sent > 0),
    }
    let sent: usize = hops.iter().map(|h| h.sent).sum();
    let received: usize = hops.iter().map(|h| h.received).sum();
    let mut trace = Trace {
        target,
        protocol: cfg.protocol,
        port: (cfg.protocol == Protocol::Tcp).then_some(cfg.port),
        path: None,
        started_unix_ms: started,
        duration_ms: clock.elapsed().as_millis() as u64,
        rounds: state.round_count(trippy_core::State::default_flow_id()),
        bytes_spent: (sent + received) as u64 * Config::PACKET_BYTES,
        reached: reached_at.is_some(),
        hops,
        summary: String::new(),
    };
    compare(&mut trace, declared);
    Ok(trace)
}

fn hop_of(h: &trippy_core::Hop) -> Hop {
    let mut addrs: Vec<(IpAddr, usize)> = h.addrs_with_counts().map(|(a, n)| (*a, *n)).collect();
    addrs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    // trippy records a lost probe as a zero sample.
    let mut ms: Vec<f64> = h
        .samples()
        .iter()
        .filter(|d| !d.is_zero())
        .map(|d| d.as_secs_f64() * 1e3)
        .collect();
    ms.sort_by(f64::total_cmp);
    let q = |p| crate::store::quantile(&ms, p);
    let rtt = match (q(0.0), q(0.5), q(0.9), q(1.0)) {
        (Some(min_ms), Some(p50_ms), Some(p90_ms), Some(max_ms)) if h.total_recv() > 0 => {
            Some(Rtt {
                min_ms,
                p50_ms,
                p90_ms,
                max_ms,
            })
        }
        _ => None,
    };
    Hop {
        ttl: h.ttl(),
        addrs: addrs.into_iter().map(|(a, _)| a).collect(),
        sent: h.total_sent(),
        received: h.total_recv(),
        loss_ratio: h.loss_pct() / 100.0,
        rtt,
        unreachable: matches!(
            h.last_icmp_packet_type(),
            Some(trippy_core::IcmpPacketType::Unreachable(_))
        ),
        node: None,
        note: String::new(),
    }
}

/// Name each hop against the declared route (when given) and write the summary: which declared
/// node answered at each TTL, which addresses the topology does not declare, which hops are
/// silent (and, when the hops around them are known, which declared node stays silent), and
/// whether loss starts at a hop and carries on to the target (loss on the path) or stays at
/// that hop (the router limits its ICMP answers).
pub fn compare(trace: &mut Trace, declared: Option<(&Topology, &Route)>) {
    let declared_nodes: Vec<(usize, &crate::topology::Node)> = declared
        .map(|(t, r)| {
            r.hops
                .iter()
                .enumerate()
                .filter_map(|(i, id)| t.node(id).map(|n| (i, n)))
                .collect()
        })
        .unwrap_or_default();
    let index_of = |addr: &IpAddr| {
        declared_nodes
            .iter()
            .find(|(_, n)| n.address.as_ref() == Some(addr))
            .map(|(i, n)| (*i, *n))
    };
    // Declared position of each answering hop.
    let position: Vec<Option<usize>> = trace
        .hops
        .iter()
        .map(|h| h.addrs.first().and_then(index_of).map(|(i, _)| i))
        .collect();
    let route_hops: Vec<NodeId> = declared.map(|(_, r)| r.hops.clone()).unwrap_or_default();
    let name_of = |id: &NodeId| {
        declared_nodes
            .iter()
            .find(|(_, n)| &n.id == id)
            .map_or_else(|| id.to_string(), |(_, n)| n.name.clone())
    };
    let n = trace.hops.len();
    for i in 0..n {
        let hop = &trace.hops[i];
        let ttl = hop.ttl;
        let (node, note) = match hop.addrs.first() {
            None => {
                // A silent run between two answering hops whose declared positions leave exactly
                // as many nodes as silent hops: the topology says who they are.
                let before = (0..i).rev().find_map(|j| position[j].map(|p| (j, p)));
                let after = (i + 1..n).find_map(|j| position[j].map(|p| (j, p)));
                let inferred = match (before, after) {
                    (Some((bj, bp)), Some((aj, ap))) if ap > bp && ap - bp == aj - bj => {
                        route_hops.get(bp + (i - bj)).cloned()
                    }
                    _ => None,
                };
                let note = match &inferred {
                    Some(id) => format!(
                        "hop {ttl} diam (tidak menjawab); menurut topologi: {}",
                        name_of(id)
                    ),
                    None => format!("hop {ttl} diam (tidak menjawab)"),
                };
                (inferred.map(|id| id.to_string()), note)
            }
            Some(addr) => match index_of(addr) {
                Some((_, node)) => {
                    let same = i > 0 && trace.hops[i - 1].addrs.first() == Some(addr);
                    let note = if hop.unreachable {
                        format!(
                            "hop {ttl} ({addr}) = {} ({}): menjawab tujuan tidak dapat dijangkau",
                            node.name, node.id
                        )
                    } else if same {
                        format!(
                            "hop {ttl} ({addr}) = {} lagi (router yang sama meneruskan dua kali)",
                            node.name
                        )
                    } else {
                        format!("hop {ttl} ({addr}) = {} ({})", node.name, node.id)
                    };
                    (Some(node.id.to_string()), note)
                }
                None if declared.is_some() => (
                    None,
                    format!(
                        "hop {ttl} menjawab dari alamat yang tidak dideklarasikan topologi ({addr}){}",
                        if hop.unreachable {
                            ": tujuan tidak dapat dijangkau"
                        } else {
                            ""
                        }
                    ),
                ),
                None => (None, format!("hop {ttl} ({addr})")),
            },
        };
        let hop = &mut trace.hops[i];
        hop.node = node;
        hop.note = note;
    }
    trace.summary = summary(trace);
}

/// Loss below this, per hop, is noise over a handful of rounds.
const LOSS_NOTICE: f64 = 0.1;

fn summary(trace: &Trace) -> String {
    let answering: Vec<&Hop> = trace.hops.iter().filter(|h| !h.addrs.is_empty()).collect();
    let last = answering.last();
    let target_loss = trace
        .hops
        .last()
        .filter(|_| trace.reached)
        .map_or(1.0, |h| h.loss_ratio);
    // The first answering hop from which loss carries on to the target.
    let onset = answering.iter().find(|h| {
        h.loss_ratio >= LOSS_NOTICE
            && answering
                .iter()
                .filter(|k| k.ttl > h.ttl)
                .all(|k| k.loss_ratio >= LOSS_NOTICE)
    });
    let mut parts = Vec::new();
    if trace.reached {
        parts.push(format!(
            "Tujuan {} terjangkau dalam {} hop",
            trace.target,
            trace.hops.len()
        ));
    } else {
        let after = last.map_or_else(
            || "tidak ada hop yang menjawab".to_string(),
            |h| {
                let who = h
                    .node
                    .as_ref()
                    .map_or_else(|| first_addr(h), |id| id.to_string());
                if h.unreachable {
                    format!(
                        "hop {} ({who}) menjawab tujuan tidak dapat dijangkau",
                        h.ttl
                    )
                } else {
                    format!("jawaban terakhir dari hop {} ({who})", h.ttl)
                }
            },
        );
        parts.push(format!("Tujuan {} tidak terjangkau: {after}", trace.target));
    }
    match onset {
        Some(h) if trace.reached && target_loss >= LOSS_NOTICE => parts.push(format!(
            "rugi paket mulai di hop {} ({}) dan berlanjut sampai tujuan ({:.0}%)",
            h.ttl,
            h.node
                .as_ref()
                .map_or_else(|| first_addr(h), |id| id.to_string()),
            target_loss * 100.0
        )),
        _ => {}
    }
    let limited: Vec<String> = answering
        .iter()
        .filter(|h| h.loss_ratio >= LOSS_NOTICE && onset.is_none_or(|o| h.ttl < o.ttl))
        .map(|h| h.ttl.to_string())
        .collect();
    if !limited.is_empty() {
        parts.push(format!(
            "rugi paket di hop {} tidak berlanjut ke hop berikutnya (router membatasi jawaban ICMP, bukan kehilangan paket di jalur)",
            limited.join(", ")
        ));
    }
    format!("{}.", parts.join("; "))
}

fn first_addr(h: &Hop) -> String {
    h.addrs
        .first()
        .map_or_else(|| "?".to_string(), ToString::to_string)
}

/// The trace as a table for a terminal, in Bahasa Indonesia.
pub fn table(trace: &Trace) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let port = trace.port.map(|p| format!(":{p}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "Trace {} ke {}{port}, {} putaran, {} byte, {:.1} s",
        trace.protocol.as_str().to_uppercase(),
        trace.target,
        trace.rounds,
        trace.bytes_spent,
        trace.duration_ms as f64 / 1000.0
    );
    let _ = writeln!(
        out,
        "{:>3}  {:<16} {:>6} {:>9} {:>9} {:>9} {:>9}  keterangan",
        "hop", "alamat", "rugi", "min ms", "p50 ms", "p90 ms", "maks ms"
    );
    for h in &trace.hops {
        let addr = h
            .addrs
            .first()
            .map_or_else(|| "*".to_string(), ToString::to_string);
        let ms = |f: fn(&Rtt) -> f64| {
            h.rtt
                .as_ref()
                .map_or_else(|| "-".to_string(), |r| format!("{:.2}", f(r)))
        };
        let _ = writeln!(
            out,
            "{:>3}  {:<16} {:>5.0}% {:>9} {:>9} {:>9} {:>9}  {}",
            h.ttl,
            addr,
            h.loss_ratio * 100.0,
            ms(|r| r.min_ms),
            ms(|r| r.p50_ms),
            ms(|r| r.p90_ms),
            ms(|r| r.max_ms),
            h.note
        );
    }
    let _ = writeln!(out, "{}", trace.summary);
    out
}
