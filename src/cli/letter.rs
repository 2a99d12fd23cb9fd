//! `juknis letter`: draft one of the letters the Juknis asks the OPD to write, from the
//! agreement in the topology, as HTML, DOCX or PDF.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::doc;
use crate::report::letters::{self, Letter};

/// Arguments of `juknis letter`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which letter: perpanjangan (VI.F-G), user-id (II.A.3), metode-akses (II.C.3), pejabat
    /// (VI.H) or sam (IV.I, the SAM card's return).
    #[arg(value_enum)]
    letter: Letter,
    #[command(flatten)]
    config: super::ConfigArg,
    /// The draft to write; the extension chooses the format (.html, .docx, .pdf).
    #[arg(long = "output", short = 'o', value_name = "OUT")]
    output: PathBuf,
    /// The state folder (accepted so the dashboard can call every document command alike).
    #[arg(long, value_name = "DIR", hide = true)]
    state_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let _ = args.state_dir;
    if let Err(e) = doc::Format::from_path(&args.output) {
        eprintln!("letter: {e}");
        return ExitCode::from(super::EXIT_BAD_CONFIG);
    }
    let t = match crate::topology::load(&args.config.config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
    };
    let d = match letters::draft(&t, args.letter, super::study::today_wib()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("letter: {e}");
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
    };
    if let Err(e) = d.write(&args.output) {
        eprintln!("letter: {e}");
        return ExitCode::from(super::EXIT_INTERNAL);
    }
    println!("draf surat: {}", args.output.display());
    ExitCode::SUCCESS
}
