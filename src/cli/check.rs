//! `juknis check`: validate a topology and the probe profiles it uses, and lint Lampiran I
//! against the Juknis' required items.

use std::process::ExitCode;

use crate::probe::profile;
use crate::topology::{self, Quota, lint};

/// Arguments of `juknis check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: super::ConfigArg,
    /// Also check the secrets of this state dir against the topology, as `serve` does at start:
    /// private files, a complete account, API tokens only for declared applications, and the
    /// account's ip_user equal to the access point's LAN address.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<std::path::PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let t = match topology::load(&args.config.config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
    };
    // `probe` and `serve` load every profile of the folder and refuse to start on a broken
    // one, so `check` fails on it too, naming every problem as it does the topology's. A
    // topology checked away from its folder (none beside it) is checked alone, as
    // `topology::load` does.
    let profiles = if t.probe_dir.is_dir() {
        match profile::load_dir(&t.probe_dir) {
            Ok(p) => format!("{} probe profiles", p.len()),
            Err(diags) => {
                eprintln!(
                    "{} problem(s) in the probe profiles:\n{}",
                    diags.len(),
                    topology::Diagnostics(diags)
                );
                return ExitCode::from(super::EXIT_BAD_CONFIG);
            }
        }
    } else {
        "no probe profile folder, profiles not checked".to_string()
    };
    let secrets = match &args.state_dir {
        None => "secrets not checked (--state-dir)".to_owned(),
        Some(dir) => match super::serve::load_secrets(dir)
            .map_err(|e| e.to_string())
            .and_then(|s| crate::gate::check_secrets(&t, &s).map_err(|e| e.to_string()))
        {
            Ok(()) => format!("secrets of {} match", dir.display()),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(super::EXIT_BAD_CONFIG);
            }
        },
    };
    let findings = lint::lampiran1(&t);
    let wan: Vec<String> = t
        .contracted_links()
        .filter_map(|l| l.bandwidth.map(|b| format!("{} {b}", l.id)))
        .collect();
    let quota = match t.agreement.quota {
        Quota::PerDay(n) => format!("{n} NIK/day"),
        Quota::Unlimited => "unlimited".to_string(),
    };
    println!(
        "{}: {} zones, {} nodes, {} links, {} paths; contracted: {}; quota {quota}; {profiles} ({}); {secrets}",
        t.file.display(),
        t.zones.len(),
        t.nodes.len(),
        t.links.len(),
        t.paths.len(),
        if wan.is_empty() {
            "none".to_string()
        } else {
            wan.join(", ")
        },
        t.probe_dir.display(),
    );
    if findings.is_empty() {
        println!("Lampiran I: all 5 required items present");
        ExitCode::SUCCESS
    } else {
        for f in &findings {
            eprintln!("{f}");
        }
        eprintln!("Lampiran I: {} of 5 required items missing", findings.len());
        ExitCode::from(1)
    }
}
