//! `juknis render`: Lampiran I and II to .dot, .svg, .png or .pdf.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::render::{self, Format, lampiran1, lampiran2};
use crate::topology::{self, Topology};

/// Which attachment to render.
#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// Lampiran I: the network topology diagram.
    Lampiran1(Args),
    /// Lampiran II: the service flowchart, with its narrative (also printed).
    Lampiran2(Args),
}

/// Arguments of `juknis render lampiran1|lampiran2`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: super::ConfigArg,
    /// Output file; the format follows its extension (.svg, .png, .pdf or .dot).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: PathBuf,
}

pub fn run(which: Which) -> ExitCode {
    let (args, second) = match which {
        Which::Lampiran1(a) => (a, false),
        Which::Lampiran2(a) => (a, true),
    };
    let Some(format) = Format::from_path(&args.output) else {
        eprintln!(
            "{}: unknown output format; use .svg, .png, .pdf or .dot",
            args.output.display()
        );
        return ExitCode::from(super::EXIT_BAD_CONFIG);
    };
    let t = match topology::load(&args.config.config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(super::EXIT_BAD_CONFIG);
        }
    };
    let dot = if second {
        for (i, p) in lampiran2::narrative(&t).iter().enumerate() {
            println!("{}. {p}", i + 1);
        }
        lampiran2::dot(&t)
    } else {
        lampiran1::dot(&t)
    };
    match write(&t, &dot, format, &args.output) {
        Ok(()) => {
            eprintln!("wrote {}", args.output.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            match e {
                WriteError::Render(render::Error::DotMissing) => {
                    ExitCode::from(super::EXIT_UNAVAILABLE)
                }
                _ => ExitCode::from(super::EXIT_INTERNAL),
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error(transparent)]
    Render(#[from] render::Error),
    #[error("cannot write {0}: {1}")]
    Write(PathBuf, std::io::Error),
}

fn write(_t: &Topology, dot: &str, format: Format, out: &Path) -> Result<(), WriteError> {
    let bytes = render::to_format(dot, format)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| WriteError::Write(dir.to_path_buf(), e))?;
    }
    std::fs::write(out, bytes).map_err(|e| WriteError::Write(out.to_path_buf(), e))
}
