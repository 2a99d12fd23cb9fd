//! Table cases and properties of the probe statistics.

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
