//! BENCHMARKS.md's first tables: the test-bed's truth against iputils `ping`, `iperf3` and juknis' own
//! probes, at the three contracted rates. Ignored by default (about 3 minutes);
//! `scripts/bench-testbed.sh` runs it and prints the Markdown tables. Not a timed assertion: it fails only if a tool cannot run.
//!
//! Needs root (network namespaces); skips with a reason without it, fails when `CI=true`.

#[path = "support/testbed.rs"]
mod testbed;

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use serde_json::Value;
use testbed::{Config, Direction, Ns, RATE_1M, RATE_2M, RATE_512K, Testbed};

const JUKNIS: &str = env!("CARGO_BIN_EXE_juknis");
/// Body bytes of juknis' throughput test against the reflector (as in tests/testbed_probe.rs).
const REFLECT_BYTES: u64 = 60_000;
const REFLECTOR_PORT: u16 = 8080;

/// One-way delay of every bench bed: a round trip of 40 ms, in the range of a provincial link.
const DELAY: Duration = Duration::from_millis(20);
/// Per-direction loss of the latency/loss bed.
const LOSS: f64 = 0.02;
const PING_COUNT: u32 = 1000;
const PING_INTERVAL: Duration = Duration::from_millis(10);
const PING_PAYLOAD: usize = 56;
const IPERF_SECONDS: u32 = 10;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `juknis ARGS` in the OPD namespace; its JSON stdout (a degraded result exits 1 but still
/// prints its measurement).
fn juknis_json(tb: &Testbed, args: &[&str]) -> Result<Value> {
    let mut argv = vec![JUKNIS];
    argv.extend_from_slice(args);
    let out = tb.run_in(Ns::Opd, &argv)?;
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "juknis {args:?} printed no JSON: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

/// juknis' ICMP round (tests/fixtures/testbed: 100 echoes 10 ms apart): median RTT, loss, sent,
/// received, bytes.
fn juknis_icmp(tb: &Testbed) -> Result<(Duration, f64, u64, u64, u64)> {
    let topology =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/testbed/topology.yaml");
    let rounds = juknis_json(
        tb,
        &[
            "probe",
            "--config",
            topology.to_str().context("fixture path")?,
            "--once",
            "--json",
        ],
    )?;
    let round = rounds
        .as_array()
        .and_then(|r| r.iter().find(|r| r["profile"] == "icmp-bed"))
        .with_context(|| format!("no icmp-bed round: {rounds}"))?;
    let icmp = &round["outcome"]["detail"]["icmp"];
    let p50 = icmp["rtt"]["p50"].as_f64().context("rtt.p50")?;
    Ok((
        Duration::from_secs_f64(p50),
        icmp["loss_ratio"].as_f64().context("loss_ratio")?,
        icmp["sent"].as_u64().context("sent")?,
        icmp["received"].as_u64().context("received")?,
        round["outcome"]["bytes_spent"]
            .as_u64()
            .context("bytes_spent")?,
    ))
}

/// `juknis bandwidth --target T --json`: estimate in bit/s and bytes spent.
fn juknis_bandwidth(tb: &Testbed, target: &str) -> Result<(f64, u64)> {
    let v = juknis_json(tb, &["bandwidth", "--target", target, "--json"])?;
    Ok((
        v["estimate_bps"]
            .as_f64()
            .with_context(|| format!("no estimate: {v}"))?,
        v["bytes_spent"].as_u64().context("bytes_spent")?,
    ))
}

/// The reflector example (`cargo build --example reflector`; the script does it).
fn reflector_exe() -> Result<std::path::PathBuf> {
    let exe = Path::new(JUKNIS)
        .parent()
        .context("juknis has no folder")?
        .join("examples/reflector");
    ensure!(
        exe.is_file(),
        "{} is missing: cargo build --example reflector",
        exe.display()
    );
    Ok(exe)
}

#[test]
#[ignore = "benchmark, about 3 minutes: run scripts/bench-testbed.sh"]
fn truth_against_ping_and_iperf3() -> Result<()> {
    let mut latency = String::new();
    let mut bandwidth = String::new();
    let mut estimates = String::new();
    // A seed per rate: three independent loss samples, each repeatable.
    for (seed, rate) in [(1, RATE_512K), (2, RATE_1M), (3, RATE_2M)] {
        let lossy = Config {
            rate_bps: rate,
            delay: DELAY,
            loss: LOSS,
            seed,
            ..Config::default()
        };
        let Some(tb) = Testbed::new_or_skip(lossy, &["ping", "iperf3", "ss"])? else {
            return Ok(());
        };
        let truth = tb.truth();
        let ping = testbed::ping_dukcapil(&tb, PING_COUNT, PING_INTERVAL, PING_PAYLOAD)?;
        let median = ping.median_rtt().context("no echo replies at all")?;
        let min = ping.min_rtt().context("no echo replies at all")?;
        // The relay counts what it really dropped: the exact truth of this run, next to the
        // configured probability.
        let relay = tb.settled_relay_stats()?;
        let realised = 1.0 - relay.down.forwarded as f64 / relay.up.received.max(1) as f64;
        // juknis' round after ping's, on the same bed: its own 100 echoes, its own relay count.
        let (p50, jloss, jsent, jreceived, jbytes) = juknis_icmp(&tb)?;
        let after = tb.settled_relay_stats()?;
        let j_requests = after.up.received - relay.up.received;
        let j_replies = after.down.forwarded - relay.down.forwarded;
        let j_realised = 1.0 - j_replies as f64 / j_requests.max(1) as f64;
        writeln!(
            latency,
            "| {} kbit/s | {:.2} | {:.2} / {:.2} | {:+.2} | {:.2} % | {:.2} % | {:.2} % | {:+.2} pp | {} | {:.2} ({:+.2} / {:+.2}) | {:.1} % ({}/{}; relay {:.1} %) | {} |",
            rate / 1000,
            ms(truth.rtt()),
            ms(min),
            ms(median),
            ms(median) - ms(truth.rtt()),
            100.0 * truth.round_trip_loss(),
            100.0 * realised,
            100.0 * ping.loss(),
            100.0 * (ping.loss() - realised),
            ping.bytes_spent(),
            ms(p50),
            ms(p50) - ms(truth.rtt()),
            ms(p50) - ms(median),
            100.0 * jloss,
            jreceived,
            jsent,
            100.0 * j_realised,
            jbytes,
        )?;
        drop(tb);

        // TCP throughput on a clean link: with loss, TCP's reaction would be measured, not the rate.
        let clean = Config {
            rate_bps: rate,
            delay: DELAY,
            ..Config::default()
        };
        let Some(tb) = Testbed::new_or_skip(clean, &["iperf3", "ss"])? else {
            return Ok(());
        };
        let truth = tb.truth();
        let up = testbed::iperf3_tcp(&tb, Direction::Upload, IPERF_SECONDS)?;
        let down = testbed::iperf3_tcp(&tb, Direction::Download, IPERF_SECONDS)?;
        let host = tb.dukcapil_addr().to_string();
        let (trains_bps, trains_bytes) = juknis_bandwidth(&tb, &host)?;
        let listen = format!("{host}:{REFLECTOR_PORT}");
        let exe = reflector_exe()?;
        let _reflector = tb.spawn_in(Ns::Dukcapil, &[exe.to_str().context("path")?, &listen])?;
        tb.wait_for_tcp_listener(Ns::Dukcapil, REFLECTOR_PORT, Duration::from_secs(10))?;
        let (tput_bps, tput_bytes) = juknis_bandwidth(
            &tb,
            &format!("http://{listen}/reflect?bytes={REFLECT_BYTES}"),
        )?;
        for (name, r) in [("up", &up), ("down", &down)] {
            // juknis measures downstream only (replies, a download): its figure sits on the
            // `down` row, against the same truth as iperf3's.
            let juknis = if name == "down" {
                format!(
                    "{:.1} | {:+.1} % | {}",
                    tput_bps / 1e3,
                    100.0 * (tput_bps / truth.tcp_goodput_bps() - 1.0),
                    tput_bytes
                )
            } else {
                "— | — | —".to_owned()
            };
            writeln!(
                bandwidth,
                "| {} kbit/s {name} | {:.1} | {:.1} | {:.1} | {:+.1} % | {} | {juknis} |",
                rate / 1000,
                truth.rate_bps as f64 / 1e3,
                truth.tcp_goodput_bps() / 1e3,
                r.received_bps / 1e3,
                100.0 * (r.received_bps / truth.tcp_goodput_bps() - 1.0),
                r.bytes_sent,
            )?;
        }
        let rate_f = truth.rate_bps as f64;
        let iperf_bytes = up.bytes_sent.max(down.bytes_sent) as f64;
        writeln!(
            estimates,
            "| {} kbit/s | {:.1} | {:+.1} % | {} | {:.1} | {:+.1} % | {} | {} | {:.3} | {:.3} |",
            rate / 1000,
            trains_bps / 1e3,
            100.0 * (trains_bps / rate_f - 1.0),
            trains_bytes,
            tput_bps / 1e3,
            100.0 * (tput_bps / rate_f - 1.0),
            tput_bytes,
            up.bytes_sent.max(down.bytes_sent),
            trains_bytes as f64 / iperf_bytes,
            tput_bytes as f64 / iperf_bytes,
        )?;
    }
    println!(
        "RTT and loss: one-way delay {} ms, loss {} % per direction (seeds 1, 2, 3), ping {PING_COUNT} x {PING_PAYLOAD} B every {} ms\n",
        ms(DELAY),
        100.0 * LOSS,
        ms(PING_INTERVAL)
    );
    println!(
        "| shaped rate | truth RTT ms | ping min / median ms | ping error ms | configured loss | relay's real loss | ping loss | ping error | ping bytes | juknis RTT ms | juknis loss | juknis bytes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    print!("{latency}");
    println!(
        "\nTCP throughput: one-way delay {} ms, no loss, iperf3 {IPERF_SECONDS} s per direction\n",
        ms(DELAY)
    );
    println!(
        "| shaped rate | truth rate kbit/s | truth TCP goodput kbit/s | iperf3 kbit/s | iperf3 error | iperf3 bytes | juknis kbit/s | juknis error | juknis bytes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    print!("{bandwidth}");
    println!(
        "\nBandwidth estimates against the shaped rate: juknis packet trains (built-in `bandwidth` profile) and a {REFLECT_BYTES}-byte download from the reflector (built-in `throughput` profile), one-way delay {} ms, no loss\n",
        ms(DELAY)
    );
    println!(
        "| shaped rate | trains kbit/s | trains error | trains bytes | throughput kbit/s | throughput error | throughput bytes | iperf3 bytes | trains / iperf3 bytes | throughput / iperf3 bytes |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    print!("{estimates}");
    Ok(())
}
