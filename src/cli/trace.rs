//! `juknis trace`: an MTR-like trace toward a host or a declared path's service, compared with
//! the path the topology declares, printed as a table (Bahasa Indonesia) or JSON, and kept in the
//! store with the path's open incident when `--state-dir` is given.

use std::net::{IpAddr, ToSocketAddrs as _};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::probe::trace::{self, Protocol};
use crate::topology::Topology;

/// Bytes a trace may spend when no topology says what the link allows.
const BUDGET_WITHOUT_TOPOLOGY: u64 = 64 * 1024;

/// Arguments of `juknis trace`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("toward").required(true).args(["target", "path"])))]
pub struct Args {
    /// The host to trace toward (an address or a name).
    #[arg(long, value_name = "HOST")]
    target: Option<String>,
    /// A declared path, by id: traced toward its service (needs --config).
    #[arg(long, value_name = "ID", requires = "config")]
    path: Option<String>,
    /// The topology: the declared path to compare with, and the probe budget.
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
    /// The probes: TCP SYN to the service's port (the default for --path), UDP, or ICMP echo
    /// (the default for --target).
    #[arg(long, value_enum)]
    protocol: Option<Protocol>,
    /// Destination port of TCP probes (default: the port of the service's URL, or 443).
    #[arg(long)]
    port: Option<u16>,
    /// Rounds to send (fewer when the probe budget does not allow them).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    rounds: u16,
    /// The highest TTL to probe.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u8).range(1..=64))]
    max_ttl: u8,
    /// Keep the trace in the store of this state folder, with the path's open incident.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Print the trace as JSON.
    #[arg(long)]
    json: bool,
}

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(code)
}

fn resolve(host: &str) -> Result<IpAddr, String> {
    if let Ok(ip) = host.parse() {
        return Ok(ip);
    }
    (host, 0)
        .to_socket_addrs()
        .map_err(|e| format!("--target {host}: cannot resolve: {e}"))?
        .map(|a| a.ip())
        .find(IpAddr::is_ipv4)
        .ok_or_else(|| format!("--target {host}: no IPv4 address"))
}

pub fn run(args: Args) -> ExitCode {
    let topology: Option<Topology> = match &args.config {
        Some(path) => match crate::topology::load(path) {
            Ok(t) => Some(t),
            Err(e) => return fail(super::EXIT_BAD_CONFIG, e),
        },
        None => None,
    };
    let (cfg, route, subject) = match (&args.path, &args.target, &topology) {
        (Some(path), _, Some(t)) => match trace::for_path(t, path, args.protocol, args.port) {
            Ok((cfg, route)) => (cfg, Some(route), path.clone()),
            Err(e) => return fail(super::EXIT_BAD_CONFIG, e),
        },
        (_, Some(host), _) => {
            let addr = match resolve(host) {
                Ok(a) => a,
                Err(e) => return fail(super::EXIT_BAD_CONFIG, e),
            };
            let route = topology.as_ref().and_then(|t| trace::route_to(t, addr));
            let protocol = args.protocol.unwrap_or(Protocol::Icmp);
            (
                trace::Config::new(addr, protocol, args.port.unwrap_or(443)),
                route,
                addr.to_string(),
            )
        }
        _ => {
            return fail(
                super::EXIT_BAD_CONFIG,
                "give --target HOST, or --path ID with --config",
            );
        }
    };
    let mut cfg = cfg;
    cfg.rounds = usize::from(args.rounds);
    cfg.max_ttl = args.max_ttl;
    let budget = match (&topology, route) {
        (Some(t), Some(r)) => r.hops.last().map_or(BUDGET_WITHOUT_TOPOLOGY, |service| {
            trace::budget_bytes(t, service, BUDGET_WITHOUT_TOPOLOGY)
        }),
        _ => BUDGET_WITHOUT_TOPOLOGY,
    };
    let cfg = match cfg.within(budget) {
        Ok(c) => c,
        Err(e) => return fail(super::EXIT_BAD_CONFIG, e),
    };
    let declared = topology.as_ref().zip(route);
    let mut result = match trace::run(&cfg, declared) {
        Ok(t) => t,
        Err(e) => {
            return fail(
                super::EXIT_UNAVAILABLE,
                format!("{e}\n(a trace needs raw sockets: run as root or with CAP_NET_RAW)"),
            );
        }
    };
    result.path = args.path.clone();
    if let Some(dir) = &args.state_dir {
        let json = serde_json::to_string(&result).unwrap_or_default();
        let kept = crate::store::Store::open(&dir.join("juknis.db")).and_then(|mut s| {
            s.insert_trace(
                &subject,
                result.started_unix_ms / 1000,
                "cli",
                &result.summary,
                &json,
            )
        });
        if let Err(e) = kept {
            eprintln!("the trace was not kept: {e}");
        }
    }
    if args.json {
        match serde_json::to_string_pretty(&result) {
            Ok(s) => println!("{s}"),
            Err(e) => return fail(super::EXIT_INTERNAL, e),
        }
    } else {
        print!("{}", trace::table(&result));
    }
    if result.reached {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
