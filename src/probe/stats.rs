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
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[rstest]
    #[case::single(&[5.0], 50.0, 5.0)]
    #[case::median_odd(&[1.0, 2.0, 3.0], 50.0, 2.0)]
    #[case::median_even(&[1.0, 2.0, 3.0, 4.0], 50.0, 2.5)]
    #[case::p0_is_min(&[1.0, 2.0, 9.0], 0.0, 1.0)]
    #[case::p100_is_max(&[1.0, 2.0, 9.0], 100.0, 9.0)]
    #[case::p90_interpolates(&[0.0, 10.0], 90.0, 9.0)]
    fn percentile_cases(#[case] v: &[f64], #[case] p: f64, #[case] want: f64) {
        let got = percentile(v, p).unwrap_or(f64::NAN);
        assert!((got - want).abs() < 1e-9, "{got} != {want}");
    }

    #[rstest]
    #[case::empty(&[], 0.0)]
    #[case::one(&[3.0], 0.0)]
    #[case::steady(&[2.0, 2.0, 2.0], 0.0)]
    #[case::alternating(&[1.0, 3.0, 1.0, 3.0], 2.0)]
    #[case::ramp(&[1.0, 2.0, 4.0], 1.5)]
    fn jitter_cases(#[case] v: &[f64], #[case] want: f64) {
        assert!((jitter(v) - want).abs() < 1e-12);
    }

    #[rstest]
    #[case::none_back(10, 0, 1.0)]
    #[case::all_back(10, 10, 0.0)]
    #[case::some(4, 3, 0.25)]
    #[case::nothing_sent(0, 0, 0.0)]
    fn loss_cases(#[case] sent: u32, #[case] got: u32, #[case] want: f64) {
        assert!((loss_ratio(sent, got) - want).abs() < 1e-12);
    }

    #[test]
    fn summary_of_a_round() {
        let s = summarize(5, &[ms(10), ms(30), ms(20), ms(40)]);
        let s = s.unwrap_or_else(|| panic!("summary"));
        assert_eq!(s.received, 4);
        assert!((s.loss_ratio - 0.2).abs() < 1e-12);
        assert_eq!(s.min, ms(10));
        assert_eq!(s.max, ms(40));
        assert_eq!(s.mean, ms(25));
        // |30-10| + |20-30| + |40-20| = 50 over 3 gaps
        assert!((s.jitter.as_secs_f64() - 0.050 / 3.0).abs() < 1e-9);
        assert_eq!(s.sorted_rtts.len(), 4);
        assert!(summarize(3, &[]).is_none());
    }

    #[rstest]
    // 10 packets of 1250 bytes over 512 kbit/s: 9 gaps of 10000 bits = 90000 bits in 0.17578 s
    #[case::link_512k(10, 1250, 0.0, 90_000.0 / 512_000.0, 512_000.0)]
    #[case::two_packets(2, 100, 1.0, 1.0 + 800.0 / 1e6, 1e6)]
    fn dispersion_cases(
        #[case] n: usize,
        #[case] size: u32,
        #[case] t0: f64,
        #[case] t1: f64,
        #[case] want: f64,
    ) {
        let got = train_capacity_bps(n, size, t0, t1).unwrap_or(f64::NAN);
        assert!((got - want).abs() / want < 1e-9, "{got} != {want}");
    }

    #[rstest]
    #[case::one_reply(1, 0.0, 1.0)]
    #[case::no_spread(5, 1.0, 1.0)]
    #[case::backwards(5, 2.0, 1.0)]
    fn dispersion_undefined(#[case] n: usize, #[case] t0: f64, #[case] t1: f64) {
        assert!(train_capacity_bps(n, 1000, t0, t1).is_none());
    }

    #[rstest]
    #[case::empty(0, 0, 7 * 52)]
    #[case::small_request(100, 0, 100 + (1 + 1 + 7) * 52)]
    fn tcp_wire_cases(#[case] sent: u64, #[case] recv: u64, #[case] want: u64) {
        assert_eq!(tcp_wire_bytes(sent, recv), want);
    }

    proptest! {
        #[test]
        fn percentiles_are_ordered_and_bounded(mut v in prop::collection::vec(0.0f64..10.0, 1..200)) {
            v.sort_by(f64::total_cmp);
            let p = |q| percentile(&v, q).unwrap_or(f64::NAN);
            let (lo, hi) = (v[0], v[v.len() - 1]);
            prop_assert!(lo <= p(50.0) && p(50.0) <= p(90.0) && p(90.0) <= p(95.0) && p(95.0) <= hi);
        }

        #[test]
        fn jitter_is_zero_for_constant_and_bounded_by_range(v in prop::collection::vec(0.0f64..1.0, 0..100), c in 0.0f64..5.0) {
            prop_assert!(jitter(&vec![c; v.len()]).abs() < 1e-12);
            let j = jitter(&v);
            let range = v.iter().copied().fold(f64::NEG_INFINITY, f64::max) - v.iter().copied().fold(f64::INFINITY, f64::min);
            prop_assert!(j >= 0.0);
            if v.len() >= 2 { prop_assert!(j <= range + 1e-12); }
        }

        #[test]
        fn dispersion_recovers_a_known_rate(rate in 64_000.0f64..100e6, n in 2usize..50, size in 64u32..1500) {
            let spread = (n - 1) as f64 * f64::from(size) * 8.0 / rate;
            let got = train_capacity_bps(n, size, 3.0, 3.0 + spread).unwrap_or(f64::NAN);
            prop_assert!((got - rate).abs() / rate < 1e-6);
        }

        #[test]
        fn summary_loss_and_order(sent in 1u32..50, rtts in prop::collection::vec(0u64..5_000, 1..50)) {
            let d: Vec<Duration> = rtts.iter().map(|&us| Duration::from_micros(us)).collect();
            let s = summarize(sent, &d).unwrap_or_else(|| panic!("non-empty"));
            prop_assert!((0.0..=1.0).contains(&s.loss_ratio));
            prop_assert!(s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p95 && s.p95 <= s.max);
            prop_assert!(s.min <= s.mean && s.mean <= s.max);
        }
    }
}
