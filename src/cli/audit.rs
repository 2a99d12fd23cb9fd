//! `juknis audit verify --state-dir DIR`: check the audit log's hash chain and name every
//! edited, deleted or reordered entry. Exit 0 when intact, 1 when broken.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::gate::audit;

/// `juknis audit ...`
#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Check the audit log's hash chain.
    Verify(VerifyArgs),
}

/// Arguments of `juknis audit verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The appliance's state dir (holding audit.db).
    #[arg(long, value_name = "DIR", default_value = "/var/lib/juknis")]
    state_dir: PathBuf,
}

pub fn run(which: Which) -> ExitCode {
    match which {
        Which::Verify(args) => verify(&args),
    }
}

fn verify(args: &VerifyArgs) -> ExitCode {
    match audit::verify(&args.state_dir) {
        Ok(report) if report.intact() => {
            println!(
                "audit log intact: {} entries, hash chain unbroken",
                report.entries
            );
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!(
                "audit log BROKEN: {} problem(s) in {} entries",
                report.problems.len(),
                report.entries
            );
            for p in &report.problems {
                println!("  {p}");
            }
            ExitCode::from(1)
        }
        Err(e @ audit::Error::Missing { .. }) => {
            eprintln!("audit verify: {e}");
            ExitCode::from(super::EXIT_BAD_CONFIG)
        }
        Err(e) => {
            eprintln!("audit verify: {e}");
            ExitCode::from(super::EXIT_INTERNAL)
        }
    }
}
