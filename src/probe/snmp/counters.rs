//! Counter arithmetic: deltas of 64-bit counters that wrap, and a rate from two readings,
//! discarded when the agent restarted, the counters were reset or the window is too short.
//! Pure: no IO.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// A rate above this is not a rate but a counter that was reset (a wrapped 64-bit counter gives
/// a small delta; a reset one a delta near 2^64). 1 Tbit/s is beyond any OPD interface.
const MAX_PLAUSIBLE_BPS: f64 = 1e12;

/// One reading of the counters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// When the answer arrived (monotonic).
    pub at: Instant,
    /// `sysUpTime.0`, hundredths of a second.
    pub uptime_cs: u32,
    /// `ifHCInOctets`: received by the interface, toward the OPD.
    pub in_octets: u64,
    /// `ifHCOutOctets`: sent by the interface, away from the OPD.
    pub out_octets: u64,
}

/// The rate between two readings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub window: Duration,
    pub rx_octets: u64,
    pub tx_octets: u64,
    pub rx_bps: f64,
    pub tx_bps: f64,
}

/// Why two readings give no rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Discard {
    /// `sysUpTime` went backwards: the agent restarted, its counters may have too.
    AgentRestarted,
    /// The readings are closer than the profile's `min_window`.
    WindowTooShort {
        #[serde(with = "crate::probe::secs")]
        window: Duration,
        #[serde(with = "crate::probe::secs")]
        min: Duration,
    },
    /// A counter went down by more than a wrap explains: it was reset.
    CounterReset,
}

/// Octets counted between two readings of a 64-bit counter, across a wrap.
#[must_use]
pub fn counter_delta(before: u64, after: u64) -> u64 {
    after.wrapping_sub(before)
}

/// Rates from two readings, or why there is none.
pub fn rate(prev: &Reading, now: &Reading, min_window: Duration) -> Result<Rate, Discard> {
    if now.uptime_cs < prev.uptime_cs {
        return Err(Discard::AgentRestarted);
    }
    let window = now.at.saturating_duration_since(prev.at);
    if window < min_window || window.is_zero() {
        return Err(Discard::WindowTooShort {
            window,
            min: min_window,
        });
    }
    let rx_octets = counter_delta(prev.in_octets, now.in_octets);
    let tx_octets = counter_delta(prev.out_octets, now.out_octets);
    let secs = window.as_secs_f64();
    let rx_bps = rx_octets as f64 * 8.0 / secs;
    let tx_bps = tx_octets as f64 * 8.0 / secs;
    if rx_bps > MAX_PLAUSIBLE_BPS || tx_bps > MAX_PLAUSIBLE_BPS {
        return Err(Discard::CounterReset);
    }
    Ok(Rate {
        window,
        rx_octets,
        tx_octets,
        rx_bps,
        tx_bps,
    })
}
