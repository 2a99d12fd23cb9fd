//! `juknis demo`: the Dukcapil simulator and the appliance on loopback, on the embedded demo
//! topology, with Lampiran I and II rendered; runs until Ctrl-C.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::render::{self, Format, lampiran1, lampiran2};
use crate::{sim, topology};

/// The demo topology, embedded so that the demo runs from the binary alone.
pub const DEMO_TOPOLOGY: &str = include_str!("../../topology/demo.yaml");

/// Where the demo topology says the simulator is; replaced by the real address at start.
const DEMO_PORTAL: &str = "https://127.0.0.5:18443";

/// Arguments of `juknis demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where the demo keeps its files (default: a new folder under the system temp dir).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Address of the appliance's dashboard and API.
    #[arg(long, default_value = "127.0.0.1:9180", value_name = "ADDR")]
    listen: SocketAddr,
}

/// What `demo.json` tells a script or a test about the running demo.
#[derive(Serialize)]
struct DemoInfo {
    url: String,
    simulator: String,
    simulator_fingerprint: String,
    topology: PathBuf,
    documents: Vec<PathBuf>,
    samples: std::collections::BTreeMap<String, String>,
}

pub fn run(args: Args) -> ExitCode {
    let dir = args.state_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("juknis-demo-{}", std::process::id()))
    });
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    match rt.block_on(demo(&dir, args.listen)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e:#}");
            ExitCode::from(super::EXIT_INTERNAL)
        }
    }
}

async fn demo(dir: &Path, listen: SocketAddr) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    super::serve::shutdown_on_signal(cancel.clone());

    // The simulator plays the Web Portal and the data balikan service, over HTTPS.
    let sim = sim::Server::start(sim::Config {
        listen: "127.0.0.5:0".parse()?,
        ..sim::Config::default()
    })
    .await
    .context("starting the Dukcapil simulator")?;
    let fingerprint = sim.fingerprint().map(hex::encode).unwrap_or_default();
    let base = sim.base_url();
    let base = base.trim_end_matches('/');

    // The demo topology, pointed at the simulator and pinned to its certificate.
    let text = DEMO_TOPOLOGY.replace(DEMO_PORTAL, base).replace(
        "{id: web-portal, ",
        &format!("{{id: web-portal, tls_pin: \"{fingerprint}\", "),
    );
    let topo_dir = dir.join("topology");
    std::fs::create_dir_all(&topo_dir)
        .with_context(|| format!("creating {}", topo_dir.display()))?;
    let topo_file = topo_dir.join("demo.yaml");
    std::fs::write(&topo_file, text)?;
    super::write_profiles(&dir.join("probes"))?;
    let (t, profiles) = super::probe::load(&topo_file).map_err(anyhow::Error::msg)?;
    let documents = render_documents(&t, &dir.join("dokumen"))?;

    let app = super::serve::start(
        super::serve::Options {
            topology: t,
            profiles,
            listen,
            state_dir: dir.join("state"),
            reload_from: None,
        },
        cancel.clone(),
    )
    .await?;
    let info = DemoInfo {
        url: format!("http://{}/", app.addr),
        simulator: base.to_string(),
        simulator_fingerprint: fingerprint,
        topology: topo_file,
        documents,
        samples: sim.samples(),
    };
    std::fs::write(dir.join("demo.json"), serde_json::to_vec_pretty(&info)?)?;
    println!("juknis demo is running (Ctrl-C to stop)");
    println!("  dashboard/API: {}", info.url);
    println!("  health:        {}healthz", info.url);
    println!("  metrics:       {}metrics", info.url);
    println!(
        "  simulator:     {} (SHA-256 {})",
        info.simulator, info.simulator_fingerprint
    );
    println!("  files:         {}", dir.display());
    for d in &info.documents {
        println!("    {}", d.display());
    }
    app.wait().await?;
    sim.shutdown().await;
    Ok(())
}

/// Lampiran I and II of the demo topology, in every format.
fn render_documents(t: &topology::Topology, docs: &Path) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(docs)?;
    let mut written = Vec::new();
    for (name, dot) in [
        ("lampiran1", lampiran1::dot(t)),
        ("lampiran2", lampiran2::dot(t)),
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
