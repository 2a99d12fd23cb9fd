//! The command line: argument parsing and dispatch to the library's domains.
//!
//! Each command lives in `cli/<command>.rs` and returns an [`ExitCode`]. Exit codes follow
//! sysexits: 64 for a bad configuration or bad input, 69 when a needed service is missing,
//! 70 for an internal failure, 1 when a check ran and found problems.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod audit;
mod balikan;
mod bandwidth;
mod check;
mod demo;
mod letter;
mod probe;
mod render;
mod report;
mod serve;
mod sim;
pub(crate) mod study;
mod trace;
mod user;

/// Exit code for bad configuration or input (sysexits EX_USAGE).
pub const EXIT_BAD_CONFIG: u8 = 64;
/// Exit code when a needed external program or service is unavailable (EX_UNAVAILABLE).
pub const EXIT_UNAVAILABLE: u8 = 69;
/// Exit code for an internal failure (EX_SOFTWARE).
pub const EXIT_INTERNAL: u8 = 70;

/// juknis: the OPD's network appliance for its Juknis with Dukcapil.
#[derive(Debug, Parser)]
#[command(name = "juknis", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the audit log of NIK look-ups.
    #[command(subcommand)]
    Audit(audit::Which),
    /// Data balikan: import a CSV into the outbox, send it, show its state.
    #[command(subcommand)]
    Balikan(balikan::Which),
    /// Validate a topology and lint Lampiran I against the Juknis' required items.
    Check(check::Args),
    /// Run the appliance on its embedded demo topology, on loopback only.
    Demo(demo::Args),
    /// Run the topology's probes: once (--once) or continuously, as a table or JSON.
    Probe(probe::Args),
    /// An explicit bandwidth test toward a host, a URL, or a link's far end.
    Bandwidth(bandwidth::Args),
    /// The daemon: probes, health, store, /metrics, /healthz, the API.
    Serve(serve::Args),
    /// Render Lampiran I (topology) or Lampiran II (service flowchart).
    #[command(subcommand)]
    Render(render::Which),
    /// Reports: `juknis report semester` (the Juknis V usage report for Disdukcapil) and
    /// `juknis report availability` (a month's availability for SLA claims, text or CSV).
    #[command(subcommand)]
    Report(report::Which),
    /// Run the Dukcapil simulator (Web Portal and data balikan) alone.
    Sim(sim::Args),
    /// Write the kajian teknis (technical study) for a bandwidth change, from measurements.
    Study(study::Args),
    /// Draft a letter the Juknis asks for (renewal, User ID change, access method change,
    /// change of officials, SAM card return) from the agreement in the topology.
    Letter(letter::Args),
    /// An MTR-like trace toward a host or a path's service, compared with the declared path.
    Trace(trace::Args),
    /// Dashboard users: `juknis user add` creates one (the first admin, operators, technicians).
    #[command(subcommand)]
    User(user::Which),
}

/// Options shared by every command that reads a topology.
#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// The topology YAML file.
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: PathBuf,
}

/// Parse the command line, run the command, and turn its outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    // One TLS provider for the whole process (ring; aws-lc is never built).
    let _ = rustls::crypto::ring::default_provider().install_default();
    match cli.command {
        Command::Audit(which) => audit::run(which),
        Command::Balikan(which) => balikan::run(which),
        Command::Check(args) => check::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Probe(args) => probe::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Bandwidth(args) => bandwidth::run(args),
        Command::Render(which) => render::run(which),
        Command::Report(which) => report::run(which),
        Command::Sim(args) => sim::run(args),
        Command::Study(args) => study::run(args),
        Command::Letter(args) => letter::run(args),
        Command::Trace(args) => trace::run(args),
        Command::User(which) => user::run(which),
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("JUKNIS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// The shipped probe profiles, embedded so the demo and a fresh install have them.
pub const PROFILES: &[(&str, &str)] = &[
    ("bandwidth", include_str!("../probes/bandwidth.yaml")),
    ("dns", include_str!("../probes/dns.yaml")),
    ("https", include_str!("../probes/https.yaml")),
    ("icmp", include_str!("../probes/icmp.yaml")),
    ("tcp", include_str!("../probes/tcp.yaml")),
    ("throughput", include_str!("../probes/throughput.yaml")),
    ("snmp", include_str!("../probes/snmp.yaml")),
    ("tls", include_str!("../probes/tls.yaml")),
];

/// Write the embedded probe profiles into `dir`.
pub fn write_profiles(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in PROFILES {
        std::fs::write(dir.join(format!("{name}.yaml")), text)?;
    }
    Ok(())
}
