//! `juknis demo`: the appliance on its embedded demo topology, on loopback only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::render::{self, Format, lampiran1, lampiran2};
use crate::topology;

/// The demo topology, embedded so that the demo runs from the binary alone.
pub const DEMO_TOPOLOGY: &str = include_str!("../../topology/demo.yaml");

/// Arguments of `juknis demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the demo keeps its files (default: a new folder under the system temp dir).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> ExitCode {
    let dir = args.state_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("juknis-demo-{}", std::process::id()))
    });
    match prepare(&dir) {
        Ok(files) => {
            println!("juknis demo: files in {}", dir.display());
            for f in files {
                println!("  {}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("demo: {e:#}");
            ExitCode::from(super::EXIT_INTERNAL)
        }
    }
}

/// Write the demo topology into `dir` and render Lampiran I and II beside it.
fn prepare(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    use anyhow::Context;
    let topo_dir = dir.join("topology");
    std::fs::create_dir_all(&topo_dir)
        .with_context(|| format!("creating {}", topo_dir.display()))?;
    let topo_file = topo_dir.join("demo.yaml");
    std::fs::write(&topo_file, DEMO_TOPOLOGY)?;
    super::write_profiles(&dir.join("probes"))?;
    let t = topology::load(&topo_file)?;
    let docs = dir.join("dokumen");
    std::fs::create_dir_all(&docs)?;
    let mut written = vec![topo_file];
    for (name, dot) in [
        ("lampiran1", lampiran1::dot(&t)),
        ("lampiran2", lampiran2::dot(&t)),
    ] {
        for (ext, format) in [
            ("svg", Format::Svg),
            ("png", Format::Png),
            ("pdf", Format::Pdf),
        ] {
            let out = docs.join(format!("{name}.{ext}"));
            std::fs::write(&out, render::to_format(&dot, format)?)?;
            written.push(out);
        }
    }
    Ok(written)
}
