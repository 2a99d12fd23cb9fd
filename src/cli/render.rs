//! `juknis render`: Lampiran I and II.

use std::process::ExitCode;

/// Which attachment to render.
#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Lampiran I: the network topology.
    Lampiran1(super::ConfigArg),
}

pub fn run(which: Which) -> ExitCode {
    let _ = which;
    ExitCode::SUCCESS
}
