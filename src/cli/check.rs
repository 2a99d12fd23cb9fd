//! `juknis check`: validate a topology and lint Lampiran I.

use std::process::ExitCode;

/// Arguments of `juknis check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: super::ConfigArg,
}

pub fn run(args: Args) -> ExitCode {
    let _ = args.config;
    ExitCode::SUCCESS
}
