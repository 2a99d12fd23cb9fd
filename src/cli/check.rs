//! `juknis check`: validate a topology and lint Lampiran I against the Juknis' required items.

use std::process::ExitCode;

use crate::topology::{self, Quota, lint};

/// Arguments of `juknis check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: super::ConfigArg,
}

pub fn run(args: Args) -> ExitCode {
    let t = match topology::load(&args.config.config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
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
        "{}: {} zones, {} nodes, {} links, {} paths; contracted: {}; quota {quota}",
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
