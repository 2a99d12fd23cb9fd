//! `juknis probe`: run the topology's probes from the command line, once or continuously.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde::Serialize;

use crate::health::{Level, State, TargetKey};
use crate::probe::{self, Outcome, profile::Profile, scheduler};
use crate::topology::{self, Topology};

/// Arguments of `juknis probe`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: super::ConfigArg,
    /// Run every probe once and exit (non-zero when a probe could not run or a target is down).
    #[arg(long)]
    once: bool,
    /// Print JSON (one object per round; with --once, one array).
    #[arg(long)]
    json: bool,
    /// Where the secrets file lives (SNMP communities and v3 users of the links' `snmp:`).
    #[arg(
        long,
        default_value = "/var/lib/juknis",
        value_name = "DIR",
        env = "STATE_DIRECTORY"
    )]
    state_dir: std::path::PathBuf,
}

/// Load a topology and its probe profiles, or say why not.
pub fn load(config: &std::path::Path) -> Result<(Topology, BTreeMap<String, Profile>), String> {
    let t = topology::load(config).map_err(|e| e.to_string())?;
    let profiles = probe::profile::load_dir(&t.probe_dir).map_err(|diags| {
        diags
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    Ok((t, profiles))
}

#[derive(Serialize)]
struct JsonRound<'a> {
    node: &'a str,
    profile: &'a str,
    state: State,
    cause: Option<crate::health::Cause>,
    detail: &'a str,
    outcome: &'a Outcome,
}

fn json_round<'a>(key: &'a TargetKey, level: &'a Level, outcome: &'a Outcome) -> JsonRound<'a> {
    JsonRound {
        node: key.node.as_str(),
        profile: &key.profile,
        state: level.state,
        cause: level.cause,
        detail: &level.detail,
        outcome,
    }
}

fn ms(d: Option<std::time::Duration>) -> String {
    d.map(|d| format!("{:.2}", d.as_secs_f64() * 1000.0))
        .unwrap_or_else(|| "-".into())
}

/// One table line for a round.
fn line(key: &TargetKey, level: &Level, o: &Outcome) -> String {
    let m = o.measures();
    let loss = m
        .loss_ratio
        .map(|l| format!("{:.1}%", l * 100.0))
        .unwrap_or_else(|| "-".into());
    let extra = match (&o.reason, m.tls_days_to_expiry, m.bandwidth_bps) {
        // The SNMP verdict already says it, in Bahasa Indonesia.
        _ if o.kind == probe::Kind::Snmp => String::new(),
        (Some(r), _, _) if !o.ok => r.to_string(),
        (_, Some(d), _) => format!("cert {d} days"),
        (_, _, Some(b)) => format!("{:.0} kbit/s", b / 1000.0),
        _ => String::new(),
    };
    let verdict = if level.detail.is_empty() {
        extra
    } else {
        format!("{}; {extra}", level.detail)
    };
    format!(
        "{:<18} {:<10} {:<9} {:<10} {:>9} {:>7} {:>9} {:>8}  {}",
        key.node.as_str(),
        key.profile,
        o.kind.as_str(),
        level.state.label_id(),
        ms(m.rtt),
        loss,
        ms(m.jitter),
        o.bytes_spent,
        verdict.trim_end_matches("; ")
    )
}

const HEADER: &str = "NODE               PROFILE    KIND      STATE        RTT(ms)    LOSS JITTER(ms)   BYTES  DETAIL";

pub fn run(args: Args) -> ExitCode {
    let (t, profiles) = match load(&args.config.config) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    // Only the links' SNMP polls need secrets: without them the rest still runs.
    let snmp = match crate::gate::secrets::Secrets::load(&args.state_dir) {
        Ok(s) => s.snmp,
        Err(e) => {
            eprintln!("secrets not read ({e}): SNMP polls cannot run");
            Default::default()
        }
    };
    rt.block_on(async move {
        let sockets = probe::icmp::Sockets::open().ok();
        let (plan, errors) = scheduler::plan(&t, &profiles, sockets.as_ref(), &snmp);
        for e in &errors {
            eprintln!("cannot probe {e}");
        }
        if args.once {
            once(&plan, args.json, !errors.is_empty()).await
        } else {
            continuous(plan, args.json).await
        }
    })
}

async fn once(plan: &scheduler::Plan, json: bool, had_errors: bool) -> ExitCode {
    let results = scheduler::run_once(plan).await;
    let mut failed = had_errors;
    let mut rounds = Vec::new();
    for (key, r) in &results {
        match r {
            Ok(round) => rounds.push(round),
            Err(e) => {
                eprintln!("{key}: {e}");
                failed = true;
            }
        }
    }
    if json {
        let out: Vec<_> = rounds
            .iter()
            .map(|r| json_round(&r.key, &r.level, &r.outcome))
            .collect();
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!("{HEADER}");
        for r in &rounds {
            println!("{}", line(&r.key, &r.level, &r.outcome));
        }
    }
    // A failed SNMP poll is not a link down, but the command still says something failed.
    let snmp_failed = rounds
        .iter()
        .any(|r| r.kind == probe::Kind::Snmp && !r.outcome.ok);
    if failed || snmp_failed || rounds.iter().any(|r| r.level.state == State::Down) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

async fn continuous(plan: scheduler::Plan, json: bool) -> ExitCode {
    let cancel = tokio_util::sync::CancellationToken::new();
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let c = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        c.cancel();
    });
    let runner = tokio::spawn(scheduler::run(
        plan,
        tx,
        |k| eprintln!("{k}: skipped (probe budget)"),
        cancel.clone(),
    ));
    if !json {
        println!("{HEADER}");
    }
    while let Some(r) = rx.recv().await {
        if json {
            println!(
                "{}",
                serde_json::to_string(&json_round(&r.key, &r.level, &r.outcome))
                    .unwrap_or_default()
            );
        } else {
            println!("{}", line(&r.key, &r.level, &r.outcome));
        }
    }
    let _ = runner.await;
    ExitCode::SUCCESS
}
