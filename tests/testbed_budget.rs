//! The probe budget on a real shaped link: `juknis serve` in the OPD namespace with a profile the
//! link's 1 % share cannot fit (tests/fixtures/testbed-budget). Rounds that do not fit are
//! skipped and counted in `juknis_probe_skipped_total`, and the bytes the link's own shapers
//! counted (`tc -s qdisc`) stay within the share: the token bucket's rate over the run plus its
//! burst (600 s of the share, by design, so a probe costing up to that can run at all).
//!
//! `short` runs 60 s on every test run; `soak` (ignored; `make bench-budget`) runs
//! `BUDGET_SECS` (default 600) and prints BENCHMARKS.md's rows.
//!
//! Needs root (network namespaces); skips with a reason without it, fails when `CI=true`.

#[path = "support/testbed.rs"]
mod testbed;

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use testbed::{Config, Ns, RATE_512K, Testbed};

const JUKNIS: &str = env!("CARGO_BIN_EXE_juknis");
const PORT: u16 = 9181;
/// 1 % of 512 kbit/s, in bytes per second, and the bucket's burst (600 s of it).
const SHARE_BPS: f64 = RATE_512K as f64 * 0.01 / 8.0;
const BUCKET_SECS: f64 = 600.0;

fn sent(tb: &Testbed, ns: Ns, dev: &str) -> Result<u64> {
    let out = tb.run_ok(ns, &["tc", "-s", "qdisc", "show", "dev", dev])?;
    out.split_whitespace()
        .skip_while(|w| *w != "Sent")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no `Sent N bytes` in {out}"))
}

/// Bytes both shapers passed (IP packets plus Ethernet headers).
fn link_bytes(tb: &Testbed) -> Result<u64> {
    Ok(sent(tb, Ns::Opd, "opd0")? + sent(tb, Ns::Diskominfo, "mid-opd")?)
}

/// `juknis_probe_skipped_total` and the rounds' bytes from /metrics, read inside the namespace.
fn metrics(tb: &Testbed) -> Result<(f64, f64)> {
    let url = format!("http://{}:{PORT}/metrics", tb.opd_addr());
    let text = tb.run_ok(Ns::Opd, &["curl", "-sf", "--max-time", "5", &url])?;
    let value = |name: &str| {
        text.lines()
            .filter(|l| l.starts_with(name) && l.contains("profile=\"icmp-heavy\""))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>()
    };
    Ok((
        value("juknis_probe_skipped_total"),
        value("juknis_probe_runs_total"),
    ))
}

/// Kills `juknis serve` when the test ends, however it ends.
struct Kill<'a>(&'a mut std::process::Child);

impl Drop for Kill<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Row {
    seconds: f64,
    link: u64,
    allowed: f64,
    skipped: f64,
    runs: f64,
}

fn run_for(secs: u64) -> Result<Option<Row>> {
    let config = Config {
        rate_bps: RATE_512K,
        delay: Duration::from_millis(20),
        ..Config::default()
    };
    let Some(tb) = Testbed::new_or_skip(config, &["curl"])? else {
        return Ok(None);
    };
    let state = tempfile::tempdir()?;
    let topology =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/testbed-budget/topology.yaml");
    let listen = format!("{}:{PORT}", tb.opd_addr());
    let before = link_bytes(&tb)?;
    let t0 = Instant::now();
    let log = state.path().join("serve.log");
    let mut serve = tb
        .command_in(Ns::Opd, JUKNIS)
        .args(["serve", "--config"])
        .arg(&topology)
        .args(["--listen", &listen, "--state-dir"])
        .arg(state.path().join("state"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log)?)
        .spawn()?;
    let _kill = Kill(&mut serve);
    tb.wait_for_tcp_listener(Ns::Opd, PORT, Duration::from_secs(30))
        .with_context(|| std::fs::read_to_string(&log).unwrap_or_default())?;
    std::thread::sleep(Duration::from_secs(secs).saturating_sub(t0.elapsed()));
    let (skipped, runs) = metrics(&tb)?;
    let seconds = t0.elapsed().as_secs_f64();
    let link = link_bytes(&tb)? - before;
    Ok(Some(Row {
        seconds,
        link,
        allowed: SHARE_BPS * (BUCKET_SECS + seconds),
        skipped,
        runs,
    }))
}

#[test]
fn short() -> Result<()> {
    let Some(r) = run_for(60)? else {
        return Ok(());
    };
    eprintln!(
        "{:.0} s: {} bytes on the shapers (allowed {:.0}), {} rounds skipped, {} ran",
        r.seconds, r.link, r.allowed, r.skipped, r.runs
    );
    // 205 KB a round: the full bucket (384 KB) pays for one round and most of a second, then
    // 640 B/s refills it; every 5 s another round is due.
    ensure!(
        r.skipped >= 8.0,
        "only {} rounds skipped in {:.0} s",
        r.skipped,
        r.seconds
    );
    ensure!(r.runs >= 1.0, "no round ran at all");
    ensure!(
        (r.link as f64) <= r.allowed,
        "{} bytes crossed the link, over the {:.0} the share allows",
        r.link,
        r.allowed
    );
    Ok(())
}

#[test]
#[ignore = "benchmark: make bench-budget (10 minutes)"]
fn soak() -> Result<()> {
    let secs = std::env::var("BUDGET_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(600);
    let Some(r) = run_for(secs)? else {
        return Ok(());
    };
    println!("BUDGET");
    println!(
        "| seconds | bytes on the shapers | allowed (640 B/s × (600 s + run)) | share of allowed | average B/s over the run | rounds run | rounds skipped |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {:.0} | {} | {:.0} | {:.2} | {:.0} | {} | {} |",
        r.seconds,
        r.link,
        r.allowed,
        r.link as f64 / r.allowed,
        r.link as f64 / r.seconds,
        r.runs,
        r.skipped
    );
    Ok(())
}
