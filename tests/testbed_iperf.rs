//! The test-bed gives its shaped rate to `iperf3` TCP, in both directions.
//!
//! Needs root (network namespaces); skips with a reason without it, fails when `CI=true`.

#[path = "support/testbed.rs"]
mod testbed;

use std::time::Duration;

use anyhow::{Result, ensure};
use testbed::{Config, Direction, RATE_1M, RATE_512K, Testbed};

fn check_throughput(rate_bps: u64, direction: Direction) -> Result<()> {
    let config = Config {
        rate_bps,
        delay: Duration::from_millis(10),
        ..Config::default()
    };
    let Some(tb) = Testbed::new_or_skip(config, &["iperf3", "ss"])? else {
        return Ok(());
    };
    let truth = tb.truth();
    let report = testbed::iperf3_tcp(&tb, direction, 8)?;
    let error = report.received_bps / truth.tcp_goodput_bps() - 1.0;
    eprintln!(
        "{direction:?} at {rate_bps} bit/s: iperf3 {:.0} bit/s, expected goodput {:.0} ({:+.1}%), {} bytes",
        report.received_bps,
        truth.tcp_goodput_bps(),
        100.0 * error,
        report.bytes_sent
    );
    ensure!(
        error.abs() <= 0.10,
        "iperf3 measured {:.0} bit/s, the shaped goodput is {:.0} bit/s",
        report.received_bps,
        truth.tcp_goodput_bps()
    );
    Ok(())
}

#[test]
fn iperf3_upload_matches_the_shaped_rate() -> Result<()> {
    check_throughput(RATE_1M, Direction::Upload)
}

#[test]
fn iperf3_download_matches_the_shaped_rate() -> Result<()> {
    check_throughput(RATE_512K, Direction::Download)
}
