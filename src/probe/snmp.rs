//! Interface utilisation over SNMP v2c/v3: `ifHCInOctets` and `ifHCOutOctets` of the interface
//! that carries a link on the OPD side, read every interval and turned into bits per second from
//! the counters' deltas. The link's real use, which no probe can see from outside.
//!
//! One poll is one GET of `sysUpTime.0` and the two counters. The first poll only primes; each
//! later one gives a rate, unless the agent restarted (`sysUpTime` went backwards), the counters
//! were reset, or the polls were closer than `min_window` (agents cache interface counters for
//! a few seconds: net-snmp refreshes them every 3 s, so a shorter window measures the cache).
//! A timeout, a refused v3 user or a missing object is an [`Outcome`] that says so, never a
//! panic: SNMP is a monitoring channel, and its failure says nothing about the data path.
//!
//! Four parts: [`credentials`] (how the agent knows us, read from the secrets file),
//! [`counters`] (pure arithmetic: wrapping deltas and rates), [`poll`] (the probe, which does
//! the SNMP IO) and [`judge`] (the level of a round against the contracted rate).

pub mod counters;
pub mod credentials;
pub mod judge;
pub mod poll;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use counters::{Discard, Rate, Reading, counter_delta, rate};
pub use credentials::{AuthProtocol, Credentials, Privacy, RawCredentials, V3};
pub use judge::level;
pub use poll::SnmpProbe;

/// Which interface of the agent: the topology's own type.
pub use crate::topology::Interface;

/// What the profile says about polling.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Extra attempts after a timeout, within one round.
    pub retries: u32,
    /// Polls closer than this give no rate (the agent's counter cache would be measured).
    pub min_window: Duration,
}

/// Why a poll failed, beyond a timeout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The v3 user, its protocols or its passwords were refused.
    Auth { why: String },
    /// The agent has no such object or instance (`noSuchObject`, `noSuchInstance`).
    NoSuch { object: String, instance: bool },
    /// No interface has this name in `ifName` or `ifDescr`.
    NoInterface { name: String },
    /// The agent answered with an error status.
    Status { status: u32 },
    /// A malformed or unexpected answer.
    Protocol { message: String },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Auth { why } => write!(f, "SNMPv3 authentication refused: {why}"),
            Problem::NoSuch { object, instance } => write!(
                f,
                "{object}: {}",
                if *instance {
                    "noSuchInstance"
                } else {
                    "noSuchObject"
                }
            ),
            Problem::NoInterface { name } => {
                write!(f, "no interface named {name:?} in ifName or ifDescr")
            }
            Problem::Status { status } => write!(f, "agent answered error-status {status}"),
            Problem::Protocol { message } => write!(f, "SNMP protocol error: {message}"),
        }
    }
}

/// Kind-specific measurements of an SNMP round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    /// The link whose interface this is (its id in the topology).
    pub link: String,
    /// `v2c` or `v3`.
    pub version: String,
    /// The interface as configured.
    pub interface: Interface,
    /// Its index, once known.
    pub if_index: Option<u32>,
    /// `sysUpTime.0` in hundredths of a second.
    pub uptime_cs: Option<u32>,
    pub in_octets: Option<u64>,
    pub out_octets: Option<u64>,
    /// Time between this reading and the previous one, when a rate was computed.
    #[serde(with = "super::secs::opt")]
    pub window: Option<Duration>,
    /// Octets received/sent over the window.
    pub rx_octets: Option<u64>,
    pub tx_octets: Option<u64>,
    /// Bits per second received (toward the OPD) and sent over the window.
    pub rx_bps: Option<f64>,
    pub tx_bps: Option<f64>,
    /// This round only primed the counters (the first one, or after a discarded round).
    pub primed: bool,
    /// Why this round gave no rate, when it did not.
    pub discarded: Option<Discard>,
}

#[cfg(test)]
mod tests;
