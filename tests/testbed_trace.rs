//! `juknis trace` on a routed chain of three routers (tests/support/chain.rs,
//! tests/fixtures/chain3/topology.yaml): Router Diskominfo answers, Router Antara forwards but never
//! answers, Router Disdukcapil forwards through the impairment relay with 30 % loss each way. The
//! trace names each hop against the declared path, infers the silent one, and places the loss.
//!
//! Needs root (network namespaces, raw sockets); skips with a reason without it, fails when `CI=true`.

#[path = "support/chain.rs"]
mod chain;

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, ensure};
use chain::{Chain, Router};
use serde_json::Value;

const JUKNIS: &str = env!("CARGO_BIN_EXE_juknis");

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chain3/topology.yaml")
}

fn bed() -> Result<Option<Chain>> {
    Chain::new_or_skip(&[
        Router::new("kominfo"),
        Router {
            silent: true,
            ..Router::new("antara")
        },
        Router {
            loss: 0.3,
            ..Router::new("dukcapil")
        },
    ])
}

/// Runs `juknis trace ARGS --json` in the host's namespace.
fn trace(chain: &Chain, args: &[&str]) -> Result<Value> {
    let config = fixture();
    let mut argv = vec![
        JUKNIS,
        "trace",
        "--config",
        config.to_str().context("path")?,
        "--json",
    ];
    argv.extend_from_slice(args);
    let out = chain.run_in(&chain.host_ns(), &argv)?;
    let v: Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "juknis trace {args:?} ({}) printed no JSON; stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    eprintln!(
        "{}",
        v["hops"]
            .as_array()
            .map(|h| h
                .iter()
                .map(|h| format!("{} loss {:.2}", h["note"], h["loss_ratio"]))
                .collect::<Vec<_>>()
                .join("\n"))
            .unwrap_or_default()
    );
    eprintln!(
        "{} ({} rounds, {} ms, {} bytes)",
        v["summary"], v["rounds"], v["duration_ms"], v["bytes_spent"]
    );
    Ok(v)
}

fn hop(v: &Value, ttl: usize) -> &Value {
    &v["hops"][ttl - 1]
}

#[test]
fn a_tcp_trace_names_the_hops_infers_the_silent_one_and_places_the_loss() -> Result<()> {
    let Some(chain) = bed()? else {
        return Ok(());
    };
    let v = trace(&chain, &["--path", "portal", "--rounds", "12"])?;
    ensure!(v["protocol"] == "tcp" && v["port"] == 8443, "{v}");
    ensure!(v["reached"] == true, "the portal was not reached: {v}");
    ensure!(
        hop(&v, 1)["note"] == "hop 1 (198.51.100.1) = Router Diskominfo (kominfo-router)"
            && hop(&v, 1)["loss_ratio"] == 0.0,
        "{}",
        hop(&v, 1)
    );
    ensure!(
        hop(&v, 2)["addrs"].as_array().is_some_and(Vec::is_empty)
            && hop(&v, 2)["note"] == "hop 2 diam (tidak menjawab); menurut topologi: Router Antara",
        "{}",
        hop(&v, 2)
    );
    ensure!(
        hop(&v, 3)["node"] == "dukcapil-router" && hop(&v, 3)["loss_ratio"] == 0.0,
        "{}",
        hop(&v, 3)
    );
    let hops = v["hops"].as_array().context("hops")?;
    let last = hops.last().context("a hop")?;
    ensure!(last["node"] == "web-portal", "{last}");
    let loss = last["loss_ratio"].as_f64().context("loss")?;
    // 30 % each way through the relay: about 51 % of round trips; 12 rounds.
    ensure!((0.1..=0.95).contains(&loss), "the portal's loss {loss}");
    let summary = v["summary"].as_str().context("summary")?;
    ensure!(
        summary.contains("rugi paket mulai di hop") && summary.contains("berlanjut sampai tujuan"),
        "{summary}"
    );
    // Within the budget: 5 % of 2 Mbit/s for a minute.
    let bytes = v["bytes_spent"].as_u64().context("bytes")?;
    ensure!(bytes <= 75_000, "the trace spent {bytes} bytes");
    Ok(())
}

#[test]
fn icmp_and_udp_traces_see_the_same_hops() -> Result<()> {
    let Some(chain) = bed()? else {
        return Ok(());
    };
    for protocol in ["icmp", "udp"] {
        let v = trace(
            &chain,
            &[
                "--target",
                "203.0.113.2",
                "--protocol",
                protocol,
                "--rounds",
                "6",
            ],
        )?;
        ensure!(v["protocol"] == protocol, "{v}");
        ensure!(
            hop(&v, 1)["node"] == "kominfo-router",
            "{protocol}: {}",
            hop(&v, 1)
        );
        ensure!(
            hop(&v, 2)["node"] == "antara-router" && hop(&v, 2)["received"] == 0,
            "{protocol}: {}",
            hop(&v, 2)
        );
        ensure!(
            hop(&v, 3)["node"] == "dukcapil-router",
            "{protocol}: {}",
            hop(&v, 3)
        );
        ensure!(v["reached"] == true, "{protocol}: {v}");
    }
    Ok(())
}

#[test]
fn a_trace_of_a_broken_path_ends_at_the_last_hop_that_answers() -> Result<()> {
    let Some(chain) = Chain::new_or_skip(&[Router::new("kominfo"), Router::new("dukcapil")])?
    else {
        return Ok(());
    };
    chain.set_link(1, false)?;
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chain/topology.yaml");
    let out = chain.run_in(
        &chain.host_ns(),
        &[
            JUKNIS,
            "trace",
            "--config",
            config.to_str().context("path")?,
            "--path",
            "portal",
            "--rounds",
            "3",
            "--json",
        ],
    )?;
    let v: Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("no JSON: {}", String::from_utf8_lossy(&out.stderr)))?;
    eprintln!("{v:#}");
    ensure!(
        out.status.code() == Some(1),
        "an unreached target exits 1: {}",
        out.status
    );
    ensure!(v["reached"] == false, "{v}");
    // Past Router Diskominfo nothing answers.
    ensure!(
        hop(&v, 1)["node"] == "kominfo-router" && hop(&v, 1)["loss_ratio"] == 0.0,
        "{v}"
    );
    ensure!(
        v["hops"]
            .as_array()
            .is_some_and(|h| h.iter().skip(1).all(|h| h["received"] == 0)),
        "{v}"
    );
    ensure!(
        v["summary"]
            == "Tujuan 203.0.113.2 tidak terjangkau: jawaban terakhir dari hop 1 (kominfo-router).",
        "{}",
        v["summary"]
    );
    Ok(())
}
