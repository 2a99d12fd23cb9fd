//! BENCHMARKS.md's first table: the test-bed's truth against iputils `ping` and `iperf3`, at the three
//! contracted rates. Ignored by default (about 2 minutes); `scripts/bench-testbed.sh` runs it and prints
//! the Markdown table. Not a timed assertion: it fails only if a tool cannot run.
//!
//! Needs root (network namespaces); skips with a reason without it, fails when `CI=true`.

#[path = "support/testbed.rs"]
mod testbed;

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context as _, Result};
use testbed::{Config, Direction, RATE_1M, RATE_2M, RATE_512K, Testbed};

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

#[test]
#[ignore = "benchmark, about 2 minutes: run scripts/bench-testbed.sh"]
fn truth_against_ping_and_iperf3() -> Result<()> {
    let mut latency = String::new();
    let mut bandwidth = String::new();
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
        writeln!(
            latency,
            "| {} kbit/s | {:.2} | {:.2} / {:.2} | {:+.2} | {:.2} % | {:.2} % | {:.2} % | {:+.2} pp | {} | | | |",
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
        for (name, r) in [("up", &up), ("down", &down)] {
            writeln!(
                bandwidth,
                "| {} kbit/s {name} | {:.1} | {:.1} | {:.1} | {:+.1} % | {} | | | |",
                rate / 1000,
                truth.rate_bps as f64 / 1e3,
                truth.tcp_goodput_bps() / 1e3,
                r.received_bps / 1e3,
                100.0 * (r.received_bps / truth.tcp_goodput_bps() - 1.0),
                r.bytes_sent,
            )?;
        }
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
    Ok(())
}
