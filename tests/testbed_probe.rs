//! `juknis probe` and `juknis bandwidth`, run inside the test-bed's OPD namespace, against the truth the
//! bed was built with and against iputils `ping` on the same bed: RTT, loss, and the bandwidth of the
//! shaped link by both methods (ICMP packet trains, and an HTTP download from a reflector in the
//! Dukcapil namespace).
//!
//! Needs root (network namespaces); skips with a reason without it, fails when `CI=true`. The
//! throughput tests also need `examples/reflector.rs` built: a plain `cargo test` builds it, but
//! `cargo test --test testbed_probe` alone does not (run `cargo build --example reflector` first).

#[path = "support/testbed.rs"]
mod testbed;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use serde_json::Value;
use testbed::{Config, Ns, RATE_1M, RATE_2M, RATE_512K, Testbed};

const JUKNIS: &str = env!("CARGO_BIN_EXE_juknis");
/// One-way delay of every bed here: a 40 ms round trip, as in BENCHMARKS.md.
const DELAY: Duration = Duration::from_millis(20);
/// Port of the reflector in the Dukcapil namespace.
const REFLECTOR_PORT: u16 = 8080;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/testbed/topology.yaml")
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `juknis ARGS` in the OPD namespace and parses its JSON stdout. A non-zero exit is not an
/// error by itself (a degraded target exits 1): the JSON is the measurement.
fn juknis_json(tb: &Testbed, args: &[&str]) -> Result<Value> {
    let mut argv = vec![JUKNIS];
    argv.extend_from_slice(args);
    let out = tb.run_in(Ns::Opd, &argv)?;
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "juknis {args:?} ({}) printed no JSON; stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

fn secs(v: &Value, what: &str) -> Result<Duration> {
    let s = v
        .as_f64()
        .with_context(|| format!("{what} is not a number: {v}"))?;
    Ok(Duration::from_secs_f64(s))
}

/// Bytes `iperf3` spent for its 10-second figure at each rate (BENCHMARKS.md, upload): the issue's
/// target is a bandwidth figure for at most a tenth of that.
fn iperf3_bytes(rate_bps: u64) -> u64 {
    match rate_bps {
        RATE_512K => 744_272,
        RATE_1M => 1_294_512,
        _ => 2_542_688,
    }
}

/// The target, held by the throughput method: within 5 % of the shaped rate.
const THROUGHPUT_TOLERANCE: f64 = 0.05;
/// Packet trains hold the same target since they read kernel receive timestamps (they read
/// 4 % to 20 % high at 2 Mbit/s on this loaded machine with user-space instants).
const TRAINS_TOLERANCE: f64 = 0.05;
/// juknis' median RTT against `ping`'s on the same bed: the target.
const RTT_VS_PING: Duration = Duration::from_micros(500);
/// juknis' median RTT above the configured round trip: the bed's own path (two veth hops, two
/// passes through the relay's timer) costs `ping` 0.1–0.3 ms; allow the target on top.
const RTT_ABOVE_TRUTH: Duration = Duration::from_micros(800);
/// Echo rounds and their spacing, as in tests/fixtures/testbed/probes/icmp-bed.yaml.
const ECHOES: u32 = 100;
const SPACING: Duration = Duration::from_millis(10);

#[test]
fn icmp_round_matches_the_bed_and_ping() -> Result<()> {
    let config = Config {
        rate_bps: RATE_2M,
        delay: DELAY,
        loss: 0.02,
        seed: 11,
        ..Config::default()
    };
    let Some(tb) = Testbed::new_or_skip(config, &["ping"])? else {
        return Ok(());
    };
    let truth = tb.truth();
    let topology = fixture();
    let before = tb.settled_relay_stats()?;
    let rounds = juknis_json(
        &tb,
        &[
            "probe",
            "--config",
            topology.to_str().context("fixture path")?,
            "--once",
            "--json",
        ],
    )?;
    // The relay's counters over juknis' round alone: `ping` runs after this.
    let after = tb.settled_relay_stats()?;
    let round = rounds
        .as_array()
        .and_then(|r| r.iter().find(|r| r["profile"] == "icmp-bed"))
        .with_context(|| format!("no icmp-bed round in juknis' output: {rounds}"))?;
    let icmp = &round["outcome"]["detail"]["icmp"];
    let p50 = secs(&icmp["rtt"]["p50"], "rtt.p50")?;
    let sent = icmp["sent"].as_u64().context("icmp.sent")?;
    let received = icmp["received"].as_u64().context("icmp.received")?;
    let loss = icmp["loss_ratio"].as_f64().context("icmp.loss_ratio")?;

    let ping = testbed::ping_dukcapil(&tb, ECHOES, SPACING, 56)?;
    let ping_p50 = ping.median_rtt().context("ping got no replies")?;
    let requests = after.up.received - before.up.received;
    let replies = after.down.forwarded - before.down.forwarded;
    eprintln!(
        "truth {:.2} ms: juknis p50 {:.3} ms ({:+.3}), ping p50 {:.3} ms ({:+.3}); relay saw {requests} \
         requests and passed {replies} replies, juknis {received}/{sent} (loss {:.1} %), ping loss {:.1} %; \
         juknis spent {} bytes",
        ms(truth.rtt()),
        ms(p50),
        ms(p50) - ms(truth.rtt()),
        ms(ping_p50),
        ms(ping_p50) - ms(truth.rtt()),
        100.0 * loss,
        100.0 * ping.loss(),
        round["outcome"]["bytes_spent"],
    );

    ensure!(
        p50 >= truth.rtt(),
        "juknis' median {p50:?} is below the configured round trip {:?}",
        truth.rtt()
    );
    ensure!(
        p50 <= truth.rtt() + RTT_ABOVE_TRUTH,
        "juknis' median {p50:?} is more than {RTT_ABOVE_TRUTH:?} above the configured {:?}",
        truth.rtt()
    );
    ensure!(
        p50.abs_diff(ping_p50) <= RTT_VS_PING,
        "juknis' median {p50:?} is more than {RTT_VS_PING:?} from ping's {ping_p50:?}"
    );
    // Loss against the relay's own count: exact, since both count the same echoes (a reply lost
    // after the relay, or counted late, would be a juknis bug, not sampling).
    ensure!(
        sent == u64::from(ECHOES) && requests == sent,
        "juknis sent {sent} echoes, the relay saw {requests} ({before:?} -> {after:?})"
    );
    ensure!(
        received == replies,
        "juknis counted {received} replies, the relay passed {replies} ({before:?} -> {after:?})"
    );
    // And against the configured probability: four standard deviations of a binomial proportion
    // over 100 echoes (about ±7.8 pp at 3.96 %); the seed makes a run's drops repeat anyway.
    let expected = truth.round_trip_loss();
    let sigma = (expected * (1.0 - expected) / f64::from(ECHOES)).sqrt();
    ensure!(
        (loss - expected).abs() <= 4.0 * sigma,
        "juknis loss {loss:.4}, configured round-trip loss {expected:.4} (4σ = {:.4})",
        4.0 * sigma
    );
    Ok(())
}

/// Packet trains (`juknis bandwidth --target HOST`, the built-in `bandwidth` profile) and a 60 kB
/// download from the reflector (`--target URL`, the built-in `throughput` profile) on a clean bed
/// shaped to `rate_bps`: the download within 5 % of the shaped rate, the trains within the bound
/// they hold on a loaded machine, each for at most a tenth of the bytes `iperf3` spends.
fn bandwidth_matches_the_shaped_rate(rate_bps: u64, seed: u64) -> Result<()> {
    let config = Config {
        rate_bps,
        delay: DELAY,
        seed,
        ..Config::default()
    };
    let Some(tb) = Testbed::new_or_skip(config, &["ss"])? else {
        return Ok(());
    };
    let truth = tb.truth();
    let budget = iperf3_bytes(rate_bps) / 10;
    let host = tb.dukcapil_addr().to_string();
    let trains = juknis_json(&tb, &["bandwidth", "--target", &host, "--json"])?;

    let exe = reflector_exe()?;
    let listen = format!("{host}:{REFLECTOR_PORT}");
    let _reflector = tb.spawn_in(Ns::Dukcapil, &[exe.to_str().context("path")?, &listen])?;
    tb.wait_for_tcp_listener(Ns::Dukcapil, REFLECTOR_PORT, Duration::from_secs(10))?;
    let url = format!("http://{listen}/reflect?bytes={REFLECT_BYTES}");
    let download = juknis_json(&tb, &["bandwidth", "--target", &url, "--json"])?;

    // The trains count Ethernet frames, as `tbf` does: the shaped rate. The download reports
    // its steady TCP goodput: the shaped rate less TCP/IP and Ethernet headers.
    for (method, v, tolerance, want) in [
        (
            "packet trains",
            &trains,
            TRAINS_TOLERANCE,
            truth.rate_bps as f64,
        ),
        (
            "throughput",
            &download,
            THROUGHPUT_TOLERANCE,
            truth.tcp_goodput_bps(),
        ),
    ] {
        let estimate = v["estimate_bps"]
            .as_f64()
            .with_context(|| format!("{method}: no estimate: {v}"))?;
        let bytes = v["bytes_spent"].as_u64().context("bytes_spent")?;
        let error = estimate / want - 1.0;
        eprintln!(
            "{} kbit/s, {method}: {:.1} kbit/s ({:+.1} %), {bytes} bytes ({:.1} % of iperf3's), \
             {:.2} s; per train {}",
            rate_bps / 1000,
            estimate / 1e3,
            100.0 * error,
            100.0 * bytes as f64 / iperf3_bytes(rate_bps) as f64,
            v["seconds"].as_f64().unwrap_or_default(),
            v["outcome"]["detail"]["bandwidth"]["per_train_bps"],
        );
        ensure!(
            error.abs() <= tolerance,
            "{method} estimated {estimate:.0} bit/s against {want:.0} bit/s on a link shaped to {} bit/s: {:+.1} %",
            truth.rate_bps,
            100.0 * error
        );
        ensure!(
            bytes <= budget,
            "{method} spent {bytes} bytes, over a tenth of iperf3's ({budget})"
        );
    }
    Ok(())
}

/// Body bytes of the throughput test: 30 kB read up to 5 % high (the link's burst and the
/// response head weigh more in a short transfer); 60 kB stays within 1 % and is still under a
/// tenth of iperf3's bytes at 512 kbit/s.
const REFLECT_BYTES: u64 = 60_000;

#[test]
fn bandwidth_at_512_kbit() -> Result<()> {
    bandwidth_matches_the_shaped_rate(RATE_512K, 1)
}

#[test]
fn bandwidth_at_1_mbit() -> Result<()> {
    bandwidth_matches_the_shaped_rate(RATE_1M, 2)
}

#[test]
fn bandwidth_at_2_mbit() -> Result<()> {
    bandwidth_matches_the_shaped_rate(RATE_2M, 3)
}

/// The reflector example beside the test binaries (`target/<profile>/examples/reflector`).
fn reflector_exe() -> Result<PathBuf> {
    let juknis = Path::new(JUKNIS);
    let exe = juknis
        .parent()
        .context("juknis has no folder")?
        .join("examples/reflector");
    ensure!(
        exe.is_file(),
        "{} is missing: run `cargo build --example reflector`",
        exe.display()
    );
    Ok(exe)
}
