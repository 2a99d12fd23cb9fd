//! The gate alone, for benchmarks: starts the Dukcapil simulator and the gate's router on
//! loopback (unlimited quota, pattern and burst rules off, a fake Healthy health source, the
//! audit log on) and prints one JSON line with the URLs, token and request bodies.
//!
//! `cargo run --release --example gate_server -- [--tls] [--state-dir DIR]`; stop with Ctrl-C.

use std::path::PathBuf;
use std::sync::Arc;

use juknis::gate::{self, Gate, Rules, Secrets, secrets::Portal};
use juknis::health::{PathVerdict, RouteVerdict, Source, State};
use juknis::metrics::Metrics;
use juknis::portal::Credentials;
use juknis::sim;
use juknis::topology::{self, PathId, Quota};

const TOKEN: &str = "bench-token-aplikasi-web-0001";

struct Healthy;

impl Source for Healthy {
    fn verdict(&self, path: &PathId) -> Option<PathVerdict> {
        Some(PathVerdict {
            path: path.clone(),
            state: State::Healthy,
            best: Some(0),
            routes: vec![RouteVerdict {
                route: "primary".into(),
                state: State::Healthy,
                cause: None,
                at: None,
                reason: "sehat".into(),
                links: Vec::new(),
            }],
        })
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut tls = false;
    let mut state_dir: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--tls" => tls = true,
            "--state-dir" => state_dir = args.next().map(PathBuf::from),
            other => anyhow::bail!("unknown argument {other}; use [--tls] [--state-dir DIR]"),
        }
    }
    let state_dir = state_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("juknis-gate-bench-{}", std::process::id()))
    });
    std::fs::create_dir_all(&state_dir)?;

    let sim = sim::Server::start(sim::Config {
        tls,
        quota: u64::MAX,
        ..sim::Config::default()
    })
    .await?;
    let pin = sim
        .fingerprint()
        .map(|fp| format!(", tls_pin: \"{}\"", hex::encode(fp)))
        .unwrap_or_default();
    // The web-portal node's URL (the balikan node's URL is longer and does not match).
    let text = include_str!("../topology/demo.yaml").replace(
        "url: \"https://127.0.0.5:18443/\"",
        &format!("url: \"{}/\"{pin}", sim.base_url()),
    );
    anyhow::ensure!(
        text.contains(&sim.base_url()),
        "topology/demo.yaml no longer has the web-portal URL this example replaces"
    );
    let topology = topology::parse(&text, std::path::Path::new("demo.yaml"), &|_| None)
        .map_err(|d| anyhow::anyhow!("demo topology: {d:?}"))?;
    let secrets = Secrets::new(Some(Portal {
        credentials: Credentials {
            user_id: sim::USER.into(),
            password: sim::PASSWORD.into(),
            ip_user: sim::IP_USER.into(),
        },
        instansi_id: sim::INSTANSI_ID.into(),
    }))
    .with_token("bench", TOKEN)?;
    let mut cfg = gate::Config::new(
        Arc::new(topology),
        Arc::new(Healthy),
        Metrics::new(),
        &state_dir,
        secrets,
    );
    cfg.rules = Rules::off();
    cfg.quota_override = Some(Quota::Unlimited);
    let gate = Gate::open(cfg)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let nik = sim.samples()["found"].clone();
    let info = serde_json::json!({
        "gate_url": format!("http://{addr}/api/v1/lookup"),
        "gate_body": serde_json::json!({"nik": nik, "purpose": "bansos"}).to_string(),
        "token": TOKEN,
        "sim_url": format!("{}/dukcapil/get_json/{}/CALL_NIK", sim.base_url(), sim::INSTANSI_ID),
        "sim_addr": sim.addr().to_string(),
        "sim_path": format!("/dukcapil/get_json/{}/CALL_NIK", sim::INSTANSI_ID),
        "sim_body": serde_json::json!({
            "nik": nik, "user_id": sim::USER, "password": sim::PASSWORD, "ip_user": sim::IP_USER
        }).to_string(),
        "state_dir": state_dir,
    });
    println!("{info}");
    axum::serve(listener, gate::api::router(gate))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    sim.shutdown().await;
    Ok(())
}
