use std::time::Duration;

use rstest::rstest;
use tokio::time::Instant;

use super::judge::human_bps;
use super::*;

fn reading(at: Instant, secs: u64, uptime_cs: u32, in_octets: u64, out_octets: u64) -> Reading {
    Reading {
        at: at + Duration::from_secs(secs),
        uptime_cs,
        in_octets,
        out_octets,
    }
}

#[rstest]
#[case::plain(1_000, 1_000 + 3_750_000, 500, 500 + 1_875_000, 1_000_000.0, 500_000.0)]
#[case::rx_wraps_at_2_pow_64(u64::MAX - 999, 3_749_000, 0, 0, 1_000_000.0, 0.0)]
#[case::both_wrap(u64::MAX, 3_749_999, u64::MAX - 1, 1_875_000 - 2, 1_000_000.0, 500_000.0)]
fn rates_follow_the_counters_across_a_64_bit_wrap(
    #[case] in0: u64,
    #[case] in1: u64,
    #[case] out0: u64,
    #[case] out1: u64,
    #[case] rx_bps: f64,
    #[case] tx_bps: f64,
) {
    let t = Instant::now();
    let r = rate(
        &reading(t, 0, 100, in0, out0),
        &reading(t, 30, 3_100, in1, out1),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(r.window, Duration::from_secs(30));
    assert!(
        (r.rx_bps - rx_bps).abs() < 1.0,
        "rx {} != {rx_bps}",
        r.rx_bps
    );
    assert!(
        (r.tx_bps - tx_bps).abs() < 1.0,
        "tx {} != {tx_bps}",
        r.tx_bps
    );
    assert_eq!(r.rx_octets, in1.wrapping_sub(in0));
}

#[test]
fn a_wrap_gives_the_octets_that_crossed_it() {
    // 1000 octets before the wrap, 2000 after.
    assert_eq!(counter_delta(u64::MAX - 999, 2_000), 3_000);
    assert_eq!(counter_delta(5, 5), 0);
}

#[rstest]
#[case::agent_restarted(3_000, 100, 1_000, 2_000, 30, Discard::AgentRestarted)]
#[case::counter_reset(100, 3_100, 1u64 << 40, 10, 30, Discard::CounterReset)]
#[case::window_too_short(
    100,
    600,
    1_000,
    2_000,
    5,
    Discard::WindowTooShort { window: Duration::from_secs(5), min: Duration::from_secs(10) }
)]
fn rounds_that_cannot_give_a_rate_are_discarded(
    #[case] up0: u32,
    #[case] up1: u32,
    #[case] in0: u64,
    #[case] in1: u64,
    #[case] secs: u64,
    #[case] want: Discard,
) {
    let t = Instant::now();
    let got = rate(
        &reading(t, 0, up0, in0, 0),
        &reading(t, secs, up1, in1, 0),
        Duration::from_secs(10),
    );
    assert_eq!(got, Err(want));
}

#[rstest]
#[case::v2c("community: rahasia-ro\n", "v2c")]
#[case::v3(
    "user: juknis\nauth: sha256\nauth_password: 12345678\nprivacy: aes\nprivacy_password: abcdefgh\n",
    "v3"
)]
#[case::v3_auth_only("user: juknis\nauth_password: 12345678\nprivacy: none\n", "v3")]
fn credentials_parse(#[case] yaml: &str, #[case] version: &str) {
    let raw: RawCredentials = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
    let c = raw.validate("r1").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.version(), version);
    let shown = format!("{c:?}");
    for secret in ["rahasia", "12345678", "abcdefgh"] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[rstest]
#[case::both("community: x\nuser: y\n", "cannot go with user")]
#[case::nothing("{}", "give `community`")]
#[case::bad_auth(
    "user: u\nauth: sha3\nauth_password: 12345678\nprivacy: none\n",
    "`auth` must be"
)]
#[case::short("user: u\nauth_password: short\nprivacy: none\n", "shorter than 8")]
#[case::no_priv_password("user: u\nauth_password: 12345678\n", "`privacy_password` is missing")]
fn bad_credentials_say_what_is_wrong(#[case] yaml: &str, #[case] needle: &str) {
    let raw: RawCredentials = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
    let e = match raw.validate("router") {
        Ok(_) => panic!("accepted"),
        Err(e) => e,
    };
    assert!(e.contains(needle) && e.contains("`router`"), "{e}");
    assert!(!e.contains("12345678"), "{e}");
}

#[rstest]
#[case(512_000.0, "512 Kbps")]
#[case(1_234_567.0, "1,23 Mbps")]
#[case(2_590.0, "2,59 Kbps")]
#[case(800.0, "800 bps")]
fn rates_are_written_the_indonesian_way(#[case] bps: f64, #[case] want: &str) {
    assert_eq!(human_bps(bps), want);
}
