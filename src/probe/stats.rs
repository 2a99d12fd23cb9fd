//! Pure statistics over probe samples: percentiles, jitter, packet-train dispersion, wire sizes.
//!
//! No IO, no tokio, no clocks: everything here takes numbers and returns numbers, so it is
//! property-tested on its own and reused by the probes, the health verdicts and the study.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The summary of one round of RTT samples, SmokePing style: the whole sorted distribution is
/// kept beside the usual order statistics so a graph can show the smoke, not only the median.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RttSummary {
    /// Echo requests sent in the round.
    pub sent: u32,
    /// Replies received in the round.
    pub received: u32,
    /// Lost share in `0.0..=1.0`.
    pub loss_ratio: f64,
    #[serde(with = "super::secs")]
    pub min: Duration,
    #[serde(with = "super::secs")]
    pub p50: Duration,
    #[serde(with = "super::secs")]
    pub p90: Duration,
    #[serde(with = "super::secs")]
    pub p95: Duration,
    #[serde(with = "super::secs")]
    pub max: Duration,
    #[serde(with = "super::secs")]
    pub mean: Duration,
    /// Mean absolute difference of consecutive RTTs, in the order they were sent (RFC 3550's
    /// idea of interarrival jitter without its 1/16 smoothing, which needs a long stream).
    #[serde(with = "super::secs")]
    pub jitter: Duration,
    /// Every RTT of the round, sorted ascending, in seconds.
    pub sorted_rtts: Vec<f64>,
}

/// Summarises a round. `rtts` are the replies in the order their requests were sent; `sent`
/// counts the lost ones too. Returns `None` when nothing came back (loss is then 100%).
#[must_use]
pub fn summarize(sent: u32, rtts: &[Duration]) -> Option<RttSummary> {
    if rtts.is_empty() {
        return None;
    }
    let mut sorted: Vec<f64> = rtts.iter().map(Duration::as_secs_f64).collect();
    sorted.sort_by(f64::total_cmp);
    let received = u32::try_from(rtts.len()).unwrap_or(u32::MAX);
    let sent = sent.max(received);
    let secs = |s: f64| Duration::from_secs_f64(s.max(0.0));
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    let first = sorted.first().copied().unwrap_or_default();
    let last = sorted.last().copied().unwrap_or_default();
    Some(RttSummary {
        sent,
        received,
        loss_ratio: loss_ratio(sent, received),
        min: secs(first),
        p50: secs(percentile(&sorted, 50.0).unwrap_or(first)),
        p90: secs(percentile(&sorted, 90.0).unwrap_or(last)),
        p95: secs(percentile(&sorted, 95.0).unwrap_or(last)),
        max: secs(last),
        mean: secs(mean),
        jitter: secs(jitter(
            &rtts.iter().map(Duration::as_secs_f64).collect::<Vec<_>>(),
        )),
        sorted_rtts: sorted,
    })
}

/// Lost share of a round: `1 - received/sent`, 0 when nothing was sent.
#[must_use]
pub fn loss_ratio(sent: u32, received: u32) -> f64 {
    if sent == 0 {
        return 0.0;
    }
    let lost = sent.saturating_sub(received);
    f64::from(lost) / f64::from(sent)
}

/// Percentile `p` (0..=100) of an ascending slice by linear interpolation between closest
/// ranks (the "R-7" definition, the one numpy and spreadsheets use by default).
#[must_use]
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !p.is_finite() {
        return None;
    }
    let p = p.clamp(0.0, 100.0);
    let rank = p / 100.0 * (sorted.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let a = *sorted.get(lo)?;
    let b = *sorted.get(hi)?;
    Some(a + (b - a) * (rank - lo as f64))
}

/// Median of an unsorted slice (sorts a copy).
#[must_use]
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    percentile(&v, 50.0)
}

/// Mean absolute difference of consecutive values; 0 with fewer than two.
#[must_use]
pub fn jitter(in_send_order: &[f64]) -> f64 {
    if in_send_order.len() < 2 {
        return 0.0;
    }
    let sum: f64 = in_send_order
        .windows(2)
        .map(|w| match w {
            [a, b] => (b - a).abs(),
            _ => 0.0,
        })
        .sum();
    sum / (in_send_order.len() - 1) as f64
}

/// Bottleneck capacity in bits per second from the dispersion of one packet train: `received`
/// replies of `packet_bytes` each (as they are on the wire), the first arriving at `t_first`
/// and the last at `t_last` seconds. `None` when fewer than two arrived or they arrived at once.
#[must_use]
pub fn train_capacity_bps(
    received: usize,
    packet_bytes: u32,
    t_first: f64,
    t_last: f64,
) -> Option<f64> {
    if received < 2 {
        return None;
    }
    let spread = t_last - t_first;
    if !spread.is_finite() || spread <= 0.0 {
        return None;
    }
    let bits = (received - 1) as f64 * f64::from(packet_bytes) * 8.0;
    Some(bits / spread)
}

/// Bytes of an IPv4 ICMP echo request (or reply) on the wire: 20 bytes IP, 8 bytes ICMP,
/// then the payload. Link-layer framing is not counted: it differs per link.
#[must_use]
pub fn icmp_packet_bytes(payload: u32, ipv6: bool) -> u32 {
    let ip = if ipv6 { 40 } else { 20 };
    ip + 8 + payload
}

/// Estimated bytes on the wire for one TCP connection that carried `sent` and `received`
/// payload bytes: the handshake (3 segments), the close (4), one segment per MSS of data each
/// way and roughly one pure ACK for every two data segments, each segment with 40 bytes of
/// IPv4+TCP headers (52 with the timestamp option Linux sets, which is what we count).
#[must_use]
pub fn tcp_wire_bytes(sent: u64, received: u64) -> u64 {
    const HEADER: u64 = 52;
    const MSS: u64 = 1448;
    let segs = |n: u64| n.div_ceil(MSS);
    let data_segments = segs(sent) + segs(received);
    let acks = data_segments.div_ceil(2);
    let control = 3 + 4;
    sent + received + (data_segments + acks + control) * HEADER
}

/// Bytes on the wire for one UDP exchange (a DNS query and its answer) over IPv4.
#[must_use]
pub fn udp_wire_bytes(sent: u64, received: u64) -> u64 {
    const HEADER: u64 = 28;
    let packets = u64::from(sent > 0) + u64::from(received > 0);
    sent + received + packets * HEADER
}

#[cfg(test)]
mod tests;
