//! The test-bed gives its truth to iputils `ping`: round-trip time and loss.
//!
//! Needs root (network namespaces); skips with a reason without it, fails when `CI=true`.

#[path = "support/testbed.rs"]
mod testbed;

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use testbed::{Config, RATE_2M, RATE_512K, Testbed};

/// Slack above the configured round trip: two passes through the relay's timer and the kernel path,
/// on a loaded two-core machine.
const RTT_SLACK: Duration = Duration::from_millis(3);

#[test]
fn ping_rtt_is_twice_the_configured_delay() -> Result<()> {
    let config = Config {
        rate_bps: RATE_2M,
        delay: Duration::from_millis(25),
        ..Config::default()
    };
    let Some(tb) = Testbed::new_or_skip(config, &["ping"])? else {
        return Ok(());
    };
    let truth = tb.truth();
    let report = testbed::ping_dukcapil(&tb, 40, Duration::from_millis(50), 56)?;
    ensure!(
        report.received == 40,
        "{} of 40 echoes lost without configured loss",
        40 - report.received
    );
    let min = report.min_rtt().context("no replies")?;
    let median = report.median_rtt().context("no replies")?;
    eprintln!(
        "truth {:?}, ping min {min:?} median {median:?}",
        truth.rtt()
    );
    ensure!(
        min >= truth.rtt(),
        "an echo came back faster ({min:?}) than the configured round trip {:?}",
        truth.rtt()
    );
    ensure!(
        median <= truth.rtt() + RTT_SLACK,
        "median {median:?} is more than {RTT_SLACK:?} above the configured {:?}",
        truth.rtt()
    );
    Ok(())
}

#[test]
fn ping_rtt_stays_within_the_jitter_bounds() -> Result<()> {
    let config = Config {
        rate_bps: RATE_2M,
        delay: Duration::from_millis(10),
        jitter: Duration::from_millis(10),
        seed: 7,
        ..Config::default()
    };
    let Some(tb) = Testbed::new_or_skip(config, &["ping"])? else {
        return Ok(());
    };
    let truth = tb.truth();
    let report = testbed::ping_dukcapil(&tb, 60, Duration::from_millis(50), 56)?;
    let min = report.min_rtt().context("no replies")?;
    let max = report.rtts.iter().max().copied().context("no replies")?;
    eprintln!(
        "truth [{:?}, {:?}], ping [{min:?}, {max:?}]",
        truth.rtt(),
        truth.rtt_max()
    );
    ensure!(min >= truth.rtt(), "{min:?} below {:?}", truth.rtt());
    ensure!(
        max <= truth.rtt_max() + RTT_SLACK,
        "{max:?} above {:?}",
        truth.rtt_max()
    );
    // Uniform jitter on both legs: the spread must actually be used, not collapse to the minimum.
    ensure!(
        max - min >= truth.jitter,
        "spread {:?} smaller than one leg's jitter",
        max - min
    );
    Ok(())
}

#[test]
fn ping_loss_matches_the_configured_probability() -> Result<()> {
    let config = Config {
        rate_bps: RATE_512K,
        delay: Duration::from_millis(5),
        loss: 0.05,
        seed: 42,
        ..Config::default()
    };
    let Some(tb) = Testbed::new_or_skip(config, &["ping"])? else {
        return Ok(());
    };
    let truth = tb.truth();
    let count = 1000;
    let report = testbed::ping_dukcapil(&tb, count, Duration::from_millis(10), 56)?;
    let stats = tb.settled_relay_stats()?;
    let expected = truth.round_trip_loss();
    // Four standard deviations of a binomial proportion: fails by chance about once in 16,000 runs,
    // and the relay's seed makes a given run's drops repeatable anyway.
    let sigma = (expected * (1.0 - expected) / f64::from(count)).sqrt();
    eprintln!(
        "truth {expected:.4} (±{:.4}), ping {:.4}, relay {stats:?}",
        4.0 * sigma,
        report.loss()
    );
    ensure!(
        (report.loss() - expected).abs() <= 4.0 * sigma,
        "ping saw loss {:.4}, configured round-trip loss {expected:.4}",
        report.loss()
    );
    // ping's count must agree exactly with what the relay dropped.
    ensure!(
        report.transmitted == count,
        "ping sent {} of {count} echoes",
        report.transmitted
    );
    ensure!(
        u64::from(report.received) == stats.down.forwarded,
        "ping received {} replies, the relay forwarded {} ({stats:?})",
        report.received,
        stats.down.forwarded
    );
    ensure!(
        stats.up.overflow == 0 && stats.down.overflow == 0,
        "{stats:?}"
    );
    Ok(())
}
