//! The probing budget: how many bytes per second probes may spend on a link, and a token bucket
//! the scheduler asks before each run, so that on 512 Kbps the probes never hurt production.
//!
//! Time comes from `tokio::time`, so tests run with the clock paused.

use std::time::Duration;

use tokio::time::Instant;

/// A link's contracted bandwidth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BitsPerSecond(pub u64);

/// The share of a link that probing may use, in `(0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Share(f64);

impl Share {
    /// The default: 1% of the contracted bandwidth.
    pub const DEFAULT: Share = Share(0.01);

    /// `None` unless `0 < ratio <= 1`.
    #[must_use]
    pub fn new(ratio: f64) -> Option<Share> {
        (ratio > 0.0 && ratio <= 1.0).then_some(Share(ratio))
    }

    #[must_use]
    pub fn ratio(self) -> f64 {
        self.0
    }
}

impl Default for Share {
    fn default() -> Self {
        Share::DEFAULT
    }
}

/// Bytes per second probing may spend on a link: `contracted * share / 8`.
/// 512 kbit/s at 1% gives 640 B/s.
#[must_use]
pub fn bytes_per_second(contracted: BitsPerSecond, share: Share) -> f64 {
    contracted.0 as f64 * share.0 / 8.0
}

/// A token bucket in bytes. Tokens accrue at `rate` up to `burst`; a probe takes its estimated
/// cost before it runs, and [`TokenBucket::settle`] corrects by what it really spent, which may
/// leave the bucket in debt so the next probe waits longer.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    #[must_use]
    pub fn new(rate_bytes_per_s: f64, burst_bytes: f64) -> TokenBucket {
        let rate = rate_bytes_per_s.max(0.0);
        let burst = burst_bytes.max(0.0);
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    /// The bucket for a link: its share of the contracted rate, with a burst of `window` worth
    /// of that rate (a probe costing more than the burst can never run).
    #[must_use]
    pub fn for_link(contracted: BitsPerSecond, share: Share, window: Duration) -> TokenBucket {
        let rate = bytes_per_second(contracted, share);
        TokenBucket::new(rate, rate * window.as_secs_f64())
    }

    /// Bytes per second this bucket allows.
    #[must_use]
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Largest single cost that can ever be taken.
    #[must_use]
    pub fn burst(&self) -> f64 {
        self.burst
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.last = now;
    }

    /// Tokens available now (negative while in debt).
    pub fn available(&mut self) -> f64 {
        self.refill();
        self.tokens
    }

    /// Takes `cost` bytes if they are there; `false` means skip or postpone the probe.
    pub fn try_take(&mut self, cost: u64) -> bool {
        self.refill();
        let c = cost as f64;
        if c <= self.tokens {
            self.tokens -= c;
            true
        } else {
            false
        }
    }

    /// How long until `cost` could be taken; `None` when it exceeds the burst (never).
    pub fn wait_for(&mut self, cost: u64) -> Option<Duration> {
        self.refill();
        let c = cost as f64;
        if c > self.burst || self.rate <= 0.0 && c > self.tokens {
            return None;
        }
        let missing = (c - self.tokens).max(0.0);
        Duration::try_from_secs_f64(missing / self.rate)
            .ok()
            .or(Some(Duration::ZERO))
    }

    /// Waits until `cost` can be taken, then takes it. `false` when it never could.
    pub async fn take(&mut self, cost: u64) -> bool {
        loop {
            match self.wait_for(cost) {
                None => return false,
                Some(d) if d.is_zero() => {
                    if self.try_take(cost) {
                        return true;
                    }
                    // Rounding left it a hair short: wait one tick more.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Some(d) => tokio::time::sleep(d).await,
            }
        }
    }

    /// After a run: charge the difference between what it spent and the `estimated` cost taken.
    pub fn settle(&mut self, estimated: u64, spent: u64) {
        self.refill();
        self.tokens += estimated as f64 - spent as f64;
        self.tokens = self.tokens.min(self.burst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::thin_link(512_000, 0.01, 640.0)]
    #[case::two_mbit(2_000_000, 0.01, 2_500.0)]
    #[case::five_percent(512_000, 0.05, 3_200.0)]
    fn allowance(#[case] bps: u64, #[case] share: f64, #[case] want: f64) {
        let share = Share::new(share).unwrap_or_default();
        assert!((bytes_per_second(BitsPerSecond(bps), share) - want).abs() < 1e-9);
    }

    #[rstest]
    #[case(0.0)]
    #[case(-0.1)]
    #[case(1.5)]
    #[case(f64::NAN)]
    fn bad_shares(#[case] r: f64) {
        assert!(Share::new(r).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn spends_then_refills() {
        // 640 B/s, 10 s burst = 6400 B.
        let mut b = TokenBucket::for_link(
            BitsPerSecond(512_000),
            Share::DEFAULT,
            Duration::from_secs(10),
        );
        assert!(b.try_take(6_000));
        assert!(!b.try_take(1_000), "only 400 B left");
        assert_eq!(
            b.wait_for(1_000),
            Some(Duration::from_secs_f64(600.0 / 640.0))
        );
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(b.try_take(1_000));
        assert_eq!(b.wait_for(10_000), None, "more than the burst never fits");
    }

    #[tokio::test(start_paused = true)]
    async fn take_waits_on_the_paused_clock() {
        let mut b = TokenBucket::new(100.0, 1_000.0);
        assert!(b.take(1_000).await);
        let t0 = Instant::now();
        assert!(b.take(500).await);
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_secs(5) && waited < Duration::from_millis(5_100),
            "{waited:?}"
        );
        assert!(!b.take(5_000).await);
    }

    #[tokio::test(start_paused = true)]
    async fn settle_puts_an_overspend_in_debt() {
        let mut b = TokenBucket::new(100.0, 1_000.0);
        assert!(b.try_take(500));
        b.settle(500, 1_300); // it really spent 1300
        assert!(b.available() < 0.0);
        assert_eq!(
            b.wait_for(100),
            Some(Duration::from_secs(4)),
            "300 B of debt + 100 B at 100 B/s"
        );
        b.settle(0, 0);
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(
            (b.available() - 1_000.0).abs() < 1e-9,
            "capped at the burst"
        );
    }
}
