//! The adaptive schedule of a packet-train run: how long the next train is, how it is paced, how
//! long to let the shaper's bucket refill first, and when the run has its answer or has spent its
//! budget. Pure: it sees each train's [`Shape`] and answers with the next step.

use std::time::Duration;

use super::knee::{FRAME_OVERHEAD, Knee, Shape};
use super::stamped::{HEADERS, Plan};

/// Gaps after the knee a shaped train needs for a sample.
const MIN_POST: usize = 6;
/// Survivors a policed train needs: each survivor's rate is off by up to half a packet's tokens.
const MIN_POST_POLICED: usize = 8;
/// Most trains in a run.
const MAX_TRAINS: u32 = 8;
/// Two samples this close end the run.
const STABLE: f64 = 0.03;
/// A policed tail is offered at this multiple of the rate a train measured, or starting at this
/// multiple of the rate its first gap past the knee bounds from above.
const OFFER: f64 = 2.0;
/// ICMP payload of a policed tail's echoes. A policer drops most of what it is offered, and its
/// survivors' rate is as exact in small packets as in large ones (each leaves on its own
/// tokens), so small ones buy the survivors for a quarter of the bytes. Not smaller: a policer
/// that counts IP bytes where this count assumes Ethernet frames would read 6 % high at 242-byte
/// frames, and more below.
const POLICED_SIZE: u32 = 200;
/// How long a train waits for more replies after the last one came, at least: a shaper's queue
/// may hold its echoes for a long packet-time each.
const SETTLE: Duration = Duration::from_millis(500);
/// A policed train waits at least this long for more replies after the last one came.
const POLICED_SETTLE: Duration = Duration::from_millis(60);
/// Tail echoes a policed train adds for tokens its head left in the bucket.
const LEFTOVER: u32 = 8;
/// Echoes in a chirped policed tail, and how far its offered rate falls over them.
const CHIRP_LEN: u32 = 48;
const CHIRP_SPAN: f64 = 16.0;
/// The crossing train's own tail when the budget pays for no train after it: small echoes
/// chirped from this rate (the fastest shaped rate the knee reads, [`super::knee`]) down by
/// `BLIND_SPAN` over `BLIND_LEN` echoes. Past a policer's knee it passes about
/// 1 / (growth − 1) survivors whatever the rate (13 here), and a shaper queues it behind the
/// head; in the bucket it drains it like the head would.
const BLIND_START_BPS: f64 = 20e6;
const BLIND_SPAN: f64 = 80.0;
const BLIND_LEN: u32 = 64;
/// Samples further apart than this (largest over smallest, less one) are no figure: the run
/// ended (budget, trains) before a third could say which is right. Under cross traffic a train
/// of a quarter second sees what the other flows sent in that quarter second; two such trains
/// read 305 and 627 kbit/s on a link with 300 available (BENCHMARKS.md section 7).
const DISAGREE: f64 = 0.10;

/// What a finished run found.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Verdict {
    /// Rate past the burst, frame bits per second (the available rate under cross traffic).
    pub rate_bps: Option<f64>,
    /// The burst in frame bytes, to within a packet.
    pub burst_bytes: Option<u64>,
    /// When no train crossed the burst: the bytes the bucket was seen to hold at least.
    pub burst_min_bytes: Option<u64>,
    /// Capacity when cross traffic made it distinguishable from the available rate.
    pub capacity_bps: Option<f64>,
    /// Packets past the burst were dropped, not queued.
    pub policed: bool,
    /// Per-train rates.
    pub samples: Vec<f64>,
    /// Why there is no rate, in Indonesian ("tidak dapat ditentukan: ...").
    pub undetermined: Option<String>,
}

/// The next step of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Step {
    /// Wait, then send this train.
    Send {
        wait: Duration,
        plan: Plan,
    },
    Done,
}

#[derive(Debug, Clone)]
pub(crate) struct Planner {
    budget: u64,
    spent: u64,
    size: u32,
    first_len: u32,
    gap: Duration,
    trains: u32,
    rates: Vec<f64>,
    bursts: Vec<u64>,
    capacities: Vec<Option<f64>>,
    /// Frame bytes of the trains sent since the bucket was last let refill (they drained it).
    carry: u64,
    /// When the first of those trains started, seconds since the run's start.
    chain_start: f64,
    /// A train has crossed the knee and the next ones continue on its empty bucket.
    continuing: bool,
    /// A sample showed cross traffic (a capacity apart from the available rate).
    crossed: bool,
    /// Bursts measured on a bucket let refill first (no carry).
    clean_bursts: Vec<u64>,
    /// Chains whose knee came with no rate to take their refill off yet.
    unrefilled: Vec<Chain>,
    /// Bytes the bucket was seen to hold at least.
    burst_min: u64,
    knee_seen: bool,
    policed: bool,
}

/// A chain of trains sent one after another until one crossed the burst.
#[derive(Debug, Clone, Copy)]
struct Chain {
    /// Frame bytes the chain passed before its knee.
    bytes: u64,
    /// Seconds from the chain's first train to the one that crossed: the bucket refilled.
    secs: f64,
    /// What the crossing train alone passed: the burst is no smaller.
    floor: u64,
}

impl Chain {
    /// The burst: what the chain passed less what the bucket regained at `rate` meanwhile.
    fn burst(&self, rate: Option<f64>) -> u64 {
        let refilled = rate.map_or(0.0, |r| r / 8.0 * self.secs);
        (self.bytes as f64 - refilled).max(self.floor as f64) as u64
    }
}

fn frame(size: u32) -> u64 {
    u64::from(size + HEADERS + FRAME_OVERHEAD)
}

impl Planner {
    /// `budget`: bytes out and back the whole run may spend; `first_len`: echoes in the first
    /// train; `size`: ICMP payload; `gap`: the pause before a train when no rate is known yet.
    pub(crate) fn new(budget: u64, first_len: u32, size: u32, gap: Duration) -> Planner {
        Planner {
            budget,
            spent: 0,
            size,
            first_len: first_len.max(4),
            gap,
            trains: 0,
            rates: Vec::new(),
            bursts: Vec::new(),
            capacities: Vec::new(),
            carry: 0,
            chain_start: 0.0,
            continuing: false,
            crossed: false,
            clean_bursts: Vec::new(),
            unrefilled: Vec::new(),
            burst_min: 0,
            knee_seen: false,
            policed: false,
        }
    }

    fn back_to_back(&self, len: u32) -> Plan {
        Plan {
            head: len,
            tail: 0,
            pace: Duration::ZERO,
            size: self.size,
            tail_size: self.size,
            chirp: 1.0,
            settle: SETTLE,
        }
    }

    /// The next train of a chain that has not crossed the burst yet: `len` echoes back to back,
    /// or, when the budget would pay for no tail after them, every echo the budget pays for
    /// after a small-echo tail ([`BLIND_LEN`]). A policer drops what follows its knee
    /// and a train that crosses it has no rate of its own; after it, the bucket refills while
    /// the train waits for its lost replies, and draining it again costs what the budget no
    /// longer has (the 512 kbit/s policer with 8 KB spent 41 of 61 KB crossing it once). The
    /// last train's tail measures the survivors on the bucket its head just emptied.
    fn lengthened(&self, len: u32) -> Plan {
        let long = self.back_to_back(len);
        let left = self.budget.saturating_sub(self.spent);
        let per_head = 2 * u64::from(self.size + HEADERS);
        let tail_cost = 2 * u64::from(BLIND_LEN) * u64::from(POLICED_SIZE + HEADERS);
        let long_cost = u64::from(len) * per_head;
        if left >= long_cost + tail_cost || left < tail_cost + 3 * per_head {
            return long;
        }
        let head = u32::try_from((left - tail_cost) / per_head).unwrap_or(u32::MAX);
        Plan {
            head,
            tail: BLIND_LEN,
            pace: Duration::from_secs_f64(frame(POLICED_SIZE) as f64 * 8.0 / BLIND_START_BPS),
            tail_size: POLICED_SIZE,
            chirp: BLIND_SPAN.powf(1.0 / f64::from(BLIND_LEN - 1)),
            ..long
        }
    }

    /// `plan` cut to what the remaining budget pays for when every echo returns: its tail
    /// first, then its head.
    fn trim(&self, plan: Plan) -> Plan {
        let left = self.budget.saturating_sub(self.spent);
        let per_head = 2 * u64::from(plan.size + HEADERS);
        let per_tail = 2 * u64::from(plan.tail_size + HEADERS);
        let head = plan
            .head
            .min(u32::try_from(left / per_head).unwrap_or(u32::MAX));
        let left = left - u64::from(head) * per_head;
        let tail = plan
            .tail
            .min(u32::try_from(left / per_tail).unwrap_or(u32::MAX));
        Plan { head, tail, ..plan }
    }

    /// The first train, or `Done` when the budget pays for none.
    pub(crate) fn first(&self) -> Step {
        let plan = self.trim(self.back_to_back(self.first_len));
        if plan.len() < 3 {
            return Step::Done;
        }
        Step::Send {
            wait: Duration::ZERO,
            plan,
        }
    }

    /// Takes what `plan` found (`spent`: its bytes out and back; `at`: when it started, seconds
    /// since the run's) and answers with the next step.
    pub(crate) fn observe(
        &mut self,
        plan: Plan,
        shape: &Shape,
        spent: u64,
        at: f64,
        done: f64,
    ) -> Step {
        self.trains += 1;
        self.spent += spent;
        let next = match shape {
            Shape::Empty => {
                self.carry = 0;
                self.continuing = false;
                Some((self.gap, plan, 3))
            }
            Shape::InBurst { bytes } => {
                // The bucket still held the whole train. Send a longer one at once, so it starts
                // on what this one left in the bucket (`carry`), and count the burst as at least
                // everything sent so far in this chain.
                if self.carry == 0 {
                    self.chain_start = at;
                }
                self.carry += bytes;
                // A lower bound of the bucket: one train that fitted whole (the chain's total
                // also holds what the bucket regained between its trains).
                self.burst_min = self.burst_min.max(*bytes);
                Some((Duration::ZERO, self.lengthened(plan.len() * 4), 3))
            }
            Shape::Knee(k) => Some(self.after_knee(k, at, done)),
        };
        if self.finished() || self.trains >= MAX_TRAINS {
            return Step::Done;
        }
        let Some((wait, plan, useful)) = next else {
            return Step::Done;
        };
        // Trim to what the budget still pays for, as long as it stays useful.
        let plan = self.trim(plan);
        if plan.len() < useful.max(3) {
            return Step::Done;
        }
        Step::Send { wait, plan }
    }

    /// After a train that crossed the knee: the pause, the next train, and the shortest trim of
    /// it still worth sending.
    fn after_knee(&mut self, k: &Knee, at: f64, done: f64) -> (Duration, Plan, u32) {
        self.knee_seen = true;
        let clean = self.carry == 0;
        // The trains of the chain took `carry` from the bucket, which refilled at the rate
        // while they and this one were on their way. A policer's knee train often shows no
        // rate (nothing past its knee but one partial gap): the refill is then taken off with
        // the run's rate at the end (the 1 Mbit/s policer with 8 KB said "burst ±13 KB"
        // without it).
        let chain = Chain {
            bytes: self.carry + k.burst_bytes,
            secs: (at - self.chain_start).max(0.0),
            floor: k.burst_bytes,
        };
        let burst = if clean {
            k.burst_bytes
        } else {
            chain.burst(k.rate_bps)
        };
        let unrefilled = (!clean && k.rate_bps.is_none()).then_some(chain);
        self.carry = 0;
        let continuing = std::mem::replace(&mut self.continuing, true);
        let policed = k.policed;
        let need = if policed { MIN_POST_POLICED } else { MIN_POST };
        if policed {
            self.policed = true;
        }
        if !continuing && clean {
            // What a fresh bucket let through before the knee; a continuation's head is what
            // the bucket regained, and a chain's count holds its refills too.
            self.burst_min = self.burst_min.max(k.burst_bytes);
        }
        if !continuing {
            match unrefilled {
                Some(u) => self.unrefilled.push(u),
                None => self.bursts.push(burst),
            }
            if clean {
                self.clean_bursts.push(burst);
            }
        }
        if let Some(rate) = k.rate_bps.filter(|_| k.post_gaps >= need) {
            self.rates.push(rate);
            self.capacities.push(k.capacity_bps);
            if k.capacity_bps.is_some() {
                self.crossed = true;
            }
        }
        // The bucket is empty now (the train crossed its knee) and has refilled at the rate
        // since the last echo left the shaper, about half a round trip before its reply came
        // back. Go on at once rather than let it refill and cross the burst again: the refill's
        // worth back to back, then the echoes past the knee the estimate needs. The first gap
        // past a knee is at most one packet-time at the rate, so it bounds the rate from above.
        // Without a rate yet (nothing past the knee), send twice the echoes needed and let the
        // knee show where the regained tokens end.
        let since = (done - at - k.last_arrival).max(0.0) + k.rtt / 2.0;
        let cap = u32::try_from(burst / frame(self.size)).unwrap_or(u32::MAX) + 1;
        let regained =
            |r: f64| ((r / 8.0 * since / frame(self.size) as f64).ceil() as u32 + 1).min(cap);
        let refill = k.rate_bps.map_or(0, regained);
        let need = if k.rate_bps.is_none() { 2 * need } else { need };
        // Under cross traffic the far direction's bucket must drain too before the train shares
        // the queue with it: three times the echoes.
        let need = if self.crossed { 3 * need } else { need };
        let extra = u32::try_from(need).unwrap_or(12) + 2;
        let need = u32::try_from(need).unwrap_or(12);
        let (next, useful) = if policed {
            // Back to back through what the bucket regained, then small echoes offered above the
            // rate: a policer passes its rate of whatever is offered above it. With a measured
            // rate, at twice it; with only the first gap past the knee (a packet-time at most,
            // so a rate at least as high as the true one, up to four times it on the test-bed),
            // a chirp from twice that rate down to an eighth of it, whose survivors while the
            // offer is above the rate give the rate and whose echoes after it count for nothing.
            // The head is sized by that upper bound too (at most the burst): echoes beyond what
            // the bucket regained are dropped, which costs their requests only. The tail starts
            // with a few echoes more for tokens the head left.
            let tail_frame = frame(POLICED_SIZE) as f64 * 8.0;
            let hint = k
                .first_gap
                .filter(|g| *g > 0.0)
                .map(|g| frame(self.size) as f64 * 8.0 / g);
            let head = k.rate_bps.or(hint).map_or(cap, regained);
            let (tail, pace, chirp) = match (k.rate_bps, hint) {
                (Some(r), _) => (2 * extra + LEFTOVER, tail_frame / (r * OFFER), 1.0),
                (None, Some(h)) => (
                    CHIRP_LEN,
                    tail_frame / (h * OFFER),
                    CHIRP_SPAN.powf(1.0 / f64::from(CHIRP_LEN - 1)),
                ),
                (None, None) => (CHIRP_LEN, 1e-4, 1.1),
            };
            (
                Plan {
                    head,
                    tail,
                    pace: Duration::from_secs_f64(pace),
                    size: self.size,
                    tail_size: POLICED_SIZE,
                    chirp,
                    // Nothing waits in a policer's queue for long: the replies still to come
                    // are the ones in flight.
                    settle: Duration::from_secs_f64(3.0 * k.rtt).max(POLICED_SETTLE),
                },
                // Offered at twice the rate, half the tail survives.
                head + need.min(tail / 2) * 2,
            )
        } else {
            (self.back_to_back(refill + extra), refill + need)
        };
        (Duration::ZERO, next, useful)
    }

    fn finished(&self) -> bool {
        let n = self.rates.len();
        n >= 3
            || n >= 2 && {
                let (a, b) = (self.rates[n - 2], self.rates[n - 1]);
                (a / b - 1.0).abs() <= STABLE
            }
    }

    /// What the run found.
    pub(crate) fn verdict(&self) -> Verdict {
        let median = |v: &[f64]| -> Option<f64> {
            let mut s = v.to_vec();
            s.sort_by(f64::total_cmp);
            s.get(s.len() / 2).copied()
        };
        // Two samples: their mean when they agree, none when they do not. One sample beside
        // cross traffic: none, as nothing says the train saw the other flows' average. Three or
        // more: the median, which one stray train cannot move.
        let (lo, hi) = self
            .rates
            .iter()
            .fold((f64::INFINITY, 0.0_f64), |(l, h), r| (l.min(*r), h.max(*r)));
        let unsettled = match self.rates.len() {
            1 => self.crossed,
            2 => hi / lo - 1.0 > DISAGREE,
            _ => false,
        };
        let rate = match self.rates.len() {
            _ if unsettled => None,
            2 => Some((lo + hi) / 2.0),
            _ => median(&self.rates),
        };
        let mut bursts = if self.clean_bursts.is_empty() {
            let mut b = self.bursts.clone();
            b.extend(self.unrefilled.iter().map(|u| u.burst(rate)));
            b
        } else {
            self.clean_bursts.clone()
        };
        bursts.sort_unstable();
        let capacity = if self.capacities.iter().all(Option::is_some) {
            median(
                &self
                    .capacities
                    .iter()
                    .flatten()
                    .copied()
                    .collect::<Vec<_>>(),
            )
        } else {
            None
        };
        let undetermined = rate.is_none().then(|| {
            if unsettled && self.rates.len() == 1 {
                format!(
                    "tidak dapat ditentukan: ada lalu lintas lain di jalur dan anggaran probe {} KB \
                     hanya cukup untuk satu sampel ({})",
                    self.budget / 1000,
                    super::rate(lo)
                )
            } else if unsettled {
                format!(
                    "tidak dapat ditentukan: sampel tidak sepakat ({} sampai {}){} dan anggaran \
                     probe {} KB habis",
                    super::rate(lo),
                    super::rate(hi),
                    if self.crossed {
                        ", lalu lintas lain di jalur berubah-ubah,"
                    } else {
                        ""
                    },
                    self.budget / 1000
                )
            } else if self.knee_seen && self.policed {
                "tidak dapat ditentukan: paket setelah burst dibuang (policer) dan yang lolos \
                 terlalu sedikit dalam anggaran probe"
                    .to_owned()
            } else if self.knee_seen {
                format!(
                    "tidak dapat ditentukan: burst sekitar {} KB, terlalu sedikit paket setelahnya \
                     dalam anggaran probe {} KB",
                    // Where the knee put it (a chain's too), not the largest train that fitted:
                    // a chain that crossed at 31 KB said "burst sekitar 6 KB".
                    bursts
                        .get(bursts.len() / 2)
                        .copied()
                        .unwrap_or(self.burst_min)
                        / 1000,
                    self.budget / 1000
                )
            } else if self.burst_min > 0 {
                format!(
                    "tidak dapat ditentukan: burst lebih dari {} KB, lebih besar dari yang dapat \
                     dilewati rangkaian paket dalam anggaran probe {} KB",
                    self.burst_min / 1000,
                    self.budget / 1000
                )
            } else {
                "tidak dapat ditentukan: tidak ada balasan yang cukup".to_owned()
            }
        });
        Verdict {
            rate_bps: rate,
            burst_bytes: bursts.get(bursts.len() / 2).copied(),
            burst_min_bytes: (rate.is_none() && self.burst_min > 0).then_some(self.burst_min),
            capacity_bps: capacity,
            policed: self.policed,
            samples: self.rates.clone(),
            undetermined,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every train fits in the bucket: the run spends its budget lengthening them, then says it
    /// cannot tell, with the bucket's lower bound, and never a rate.
    #[test]
    fn a_burst_beyond_the_budget_is_undetermined_with_a_lower_bound() {
        let mut p = Planner::new(60_000, 6, 1000, Duration::from_millis(500));
        let mut step = p.first();
        let mut t = 0.0;
        let mut trains = 0;
        while let Step::Send { plan, .. } = step {
            let bytes = u64::from(plan.len()) * frame(1000);
            step = p.observe(plan, &Shape::InBurst { bytes }, plan.cost(), t, t + 0.05);
            t += 0.1;
            trains += 1;
        }
        assert!(trains >= 2, "it lengthened the trains");
        assert!(p.spent <= 60_000, "{} over the budget", p.spent);
        let v = p.verdict();
        assert_eq!(v.rate_bps, None);
        let why = v.undetermined.clone().unwrap_or_default();
        assert!(
            why.starts_with("tidak dapat ditentukan: burst lebih dari"),
            "{why}"
        );
        // The longest single train that fitted (the budget trims the last one to 23 echoes).
        assert!(v.burst_min_bytes.unwrap_or(0) >= 20 * frame(1000), "{v:?}");
    }

    /// Two trains past the knee that agree end the run with their rate and the burst.
    #[test]
    fn two_agreeing_samples_end_the_run() {
        let mut p = Planner::new(200_000, 6, 1000, Duration::from_millis(500));
        let knee = |rate: f64| {
            Shape::Knee(Knee {
                burst_bytes: 8 * 1042,
                rate_bps: Some(rate),
                post_gaps: 10,
                lost_after: 0,
                policed: false,
                capacity_bps: None,
                first_gap: Some(0.01),
                last_arrival: 0.2,
                rtt: 0.04,
            })
        };
        let Step::Send { plan, .. } = p.first() else {
            panic!("no first train");
        };
        let Step::Send { plan, wait } = p.observe(plan, &knee(1.0e6), 20_000, 0.0, 0.25) else {
            panic!("one sample is not enough");
        };
        assert_eq!(
            wait,
            Duration::ZERO,
            "it goes on at once on the empty bucket"
        );
        assert_eq!(p.observe(plan, &knee(1.01e6), 20_000, 0.3, 0.5), Step::Done);
        let v = p.verdict();
        assert_eq!(v.burst_bytes, Some(8 * 1042));
        assert!(
            (v.rate_bps.unwrap_or_default() - 1.005e6).abs() < 1.0,
            "their mean: {v:?}"
        );
    }

    /// Past a policer's knee the run goes on with the bucket drained back to back and then
    /// small echoes offered above the rate: a chirp down from twice the first gap's rate when
    /// no rate is known yet (on the 1 Mbit/s policer, 8 KB, that gap read 4.3 Mbit/s), evenly
    /// at twice the rate once a train measured it; each waits for its replies only as long
    /// as they can be in flight, so the bucket has not refilled when the next one starts.
    #[test]
    fn a_policed_train_goes_on_with_small_echoes_offered_above_the_rate() {
        let mut p = Planner::new(119_000, 6, 1000, Duration::from_millis(500));
        let Step::Send { plan, .. } = p.first() else {
            panic!("no first train");
        };
        let policed = |rate: Option<f64>, gap: f64| {
            Shape::Knee(Knee {
                burst_bytes: 6 * 1042,
                rate_bps: rate,
                post_gaps: usize::from(rate.is_some()),
                lost_after: 17,
                policed: true,
                capacity_bps: None,
                first_gap: Some(gap),
                last_arrival: 0.042,
                rtt: 0.04,
            })
        };
        let Step::Send { plan, .. } = p.observe(plan, &policed(None, 0.0019), 41_000, 0.0, 0.55)
        else {
            panic!("the budget pays for a chirp");
        };
        assert_eq!((plan.size, plan.tail_size), (1000, POLICED_SIZE));
        assert!(plan.head >= 6, "the regained burst drained first: {plan:?}");
        assert!(plan.chirp > 1.05, "a chirp: {plan:?}");
        let first_offer = frame(POLICED_SIZE) as f64 * 8.0 / plan.pace.as_secs_f64();
        let hint = frame(1000) as f64 * 8.0 / 0.0019;
        assert!(
            (first_offer / (2.0 * hint) - 1.0).abs() < 0.01,
            "{first_offer}"
        );
        assert!(plan.settle < Duration::from_millis(200), "{plan:?}");
        assert!(plan.cost() <= 119_000 - 41_000, "{plan:?}");
        let Step::Send { plan, .. } =
            p.observe(plan, &policed(Some(1.0e6), 0.001), 20_000, 0.6, 0.75)
        else {
            panic!("one sample is not enough");
        };
        assert!((plan.chirp - 1.0).abs() < f64::EPSILON, "{plan:?}");
        let offer = frame(POLICED_SIZE) as f64 * 8.0 / plan.pace.as_secs_f64();
        assert!((offer / 2.0e6 - 1.0).abs() < 0.01, "{offer}");
        assert!(plan.tail >= 2 * MIN_POST_POLICED as u32, "{plan:?}");
    }

    /// A policer's chain: six echoes in the bucket, then a train past it at once with no rate
    /// (one partial gap, the rest dropped), then the rate from the tails: the burst is the
    /// chain's bytes less what the bucket regained meanwhile at that rate, not their sum.
    #[test]
    fn a_policed_chain_takes_its_refill_off_with_the_rate_found_later() {
        let mut p = Planner::new(119_000, 6, 1000, Duration::from_millis(500));
        let Step::Send { plan, .. } = p.first() else {
            panic!("no first train");
        };
        let f = frame(1000);
        let Step::Send { plan, .. } =
            p.observe(plan, &Shape::InBurst { bytes: 6 * f }, 12_000, 0.0, 0.042)
        else {
            panic!("a longer train");
        };
        let knee = |rate: Option<f64>, gaps: usize| {
            Shape::Knee(Knee {
                burst_bytes: 6 * f,
                rate_bps: rate,
                post_gaps: gaps,
                lost_after: 17,
                policed: true,
                capacity_bps: None,
                first_gap: Some(0.0019),
                last_arrival: 0.042,
                rtt: 0.04,
            })
        };
        let Step::Send { plan, .. } = p.observe(plan, &knee(None, 0), 30_000, 0.042, 0.6) else {
            panic!("the tails");
        };
        let Step::Send { plan, .. } = p.observe(plan, &knee(Some(1e6), 12), 15_000, 0.6, 0.8)
        else {
            panic!("a second sample");
        };
        assert_eq!(
            p.observe(plan, &knee(Some(1e6), 12), 15_000, 0.8, 1.0),
            Step::Done
        );
        let v = p.verdict();
        // 12 frames passed, 0.042 s × 125 kB/s regained: about 7.3 KB (the bucket held 8 KB).
        let burst = v.burst_bytes.unwrap_or_default();
        assert!(
            (burst as f64 - (12.0 * f as f64 - 5_250.0)).abs() < 1.0,
            "{v:?}"
        );
    }

    /// The first train fitted in the bucket. With a budget that pays for the next one and a
    /// tail after it (1 Mbit/s: 119 KB), it goes back to back four times as long, so that a
    /// sample beside cross traffic can have a second; with one that would be spent by it (the
    /// 512 kbit/s policer's 61 KB), it is the last train, and it spends what is left on a head
    /// and the small-echo tail that measures the survivors past the knee.
    #[test]
    fn the_last_train_a_budget_pays_for_carries_its_own_tail() {
        let in_burst = Shape::InBurst { bytes: 6 * 1042 };
        let next = |budget: u64| {
            let mut p = Planner::new(budget, 6, 1000, Duration::from_millis(500));
            let Step::Send { plan, .. } = p.first() else {
                panic!("no first train");
            };
            match p.observe(plan, &in_burst, plan.cost(), 0.0, 0.05) {
                Step::Send { plan, .. } => (plan, budget - plan.cost() - 6 * 2056),
                Step::Done => panic!("the budget {budget} pays for more"),
            }
        };
        for budget in [119_500, 240_000] {
            let (plan, _) = next(budget);
            assert_eq!((plan.head, plan.tail), (24, 0), "{budget}: {plan:?}");
        }
        let (plan, left) = next(61_200);
        assert_eq!(plan.tail, BLIND_LEN, "{plan:?}");
        assert_eq!(plan.tail_size, POLICED_SIZE);
        assert!(
            plan.head >= 6,
            "the head crosses what the first left: {plan:?}"
        );
        assert!(
            left < 2 * 1028,
            "it spends the budget: {left} left, {plan:?}"
        );
        let first_offer = frame(POLICED_SIZE) as f64 * 8.0 / plan.pace.as_secs_f64();
        assert!((first_offer / BLIND_START_BPS - 1.0).abs() < 0.01);
        let last_offer = first_offer / plan.chirp.powi(BLIND_LEN as i32 - 1);
        assert!((last_offer * BLIND_SPAN / BLIND_START_BPS - 1.0).abs() < 0.01);
    }

    /// The last train crossed a burst the first train told little about, and too few echoes
    /// followed its knee for a rate: the reason gives the burst where the chain crossed it.
    #[test]
    fn too_few_echoes_past_a_chain_s_knee_name_the_burst_where_it_crossed() {
        let mut p = Planner::new(61_200, 6, 1000, Duration::from_millis(500));
        let Step::Send { plan, .. } = p.first() else {
            panic!("no first train");
        };
        let Step::Send { plan, .. } =
            p.observe(plan, &Shape::InBurst { bytes: 6 * 1042 }, 12_336, 0.0, 0.04)
        else {
            panic!("the last train");
        };
        let knee = Shape::Knee(Knee {
            burst_bytes: 25_000,
            rate_bps: Some(512_000.0),
            post_gaps: 2,
            lost_after: 0,
            policed: false,
            capacity_bps: None,
            first_gap: Some(0.004),
            last_arrival: 0.2,
            rtt: 0.04,
        });
        assert_eq!(p.observe(plan, &knee, plan.cost(), 0.04, 0.7), Step::Done);
        let v = p.verdict();
        assert_eq!(v.rate_bps, None);
        let why = v.undetermined.unwrap_or_default();
        // 6,252 + 25,000 bytes less 0.04 s of refill at 512 kbit/s.
        assert!(
            why.starts_with("tidak dapat ditentukan: burst sekitar 28 KB"),
            "{why}"
        );
    }

    /// A knee with `rate` and, beside cross traffic, a capacity apart from it.
    fn sample(rate: f64, capacity: Option<f64>) -> Shape {
        Shape::Knee(Knee {
            burst_bytes: 8 * 1042,
            rate_bps: Some(rate),
            post_gaps: 20,
            lost_after: 0,
            policed: false,
            capacity_bps: capacity,
            first_gap: Some(0.008),
            last_arrival: 0.3,
            rtt: 0.04,
        })
    }

    /// Runs `shapes` through a planner with room for exactly that many trains.
    fn run(shapes: &[Shape]) -> Verdict {
        let mut p = Planner::new(10_000_000, 6, 1000, Duration::from_millis(500));
        let mut step = p.first();
        for (i, shape) in shapes.iter().enumerate() {
            let Step::Send { plan, .. } = step else {
                panic!("the run ended after {i} trains");
            };
            let t = i as f64 * 0.4;
            step = p.observe(plan, shape, 50_000, t, t + 0.35);
        }
        p.verdict()
    }

    /// Two samples that disagree (a quarter second of bursty cross traffic each) are no
    /// figure: the reason gives both, and says the other flows varied.
    #[test]
    fn two_samples_that_disagree_are_undetermined_with_their_range() {
        let mut p = Planner::new(90_000, 6, 1000, Duration::from_millis(500));
        let Step::Send { plan, .. } = p.first() else {
            panic!("no first train");
        };
        let step = p.observe(plan, &sample(305_000.0, Some(1.0e6)), 40_000, 0.0, 0.3);
        let Step::Send { plan, .. } = step else {
            panic!("one sample is not enough");
        };
        // The budget is spent after the second.
        assert_eq!(
            p.observe(plan, &sample(627_000.0, Some(1.0e6)), 49_000, 0.35, 0.7),
            Step::Done
        );
        let v = p.verdict();
        assert_eq!(v.rate_bps, None, "{v:?}");
        let why = v.undetermined.unwrap_or_default();
        assert!(
            why.starts_with(
                "tidak dapat ditentukan: sampel tidak sepakat (305 Kbps sampai 627 Kbps)"
            ),
            "{why}"
        );
        assert!(why.contains("lalu lintas lain"), "{why}");
        assert_eq!(v.samples.len(), 2, "the samples stay in the result");
    }

    /// Two samples within a tenth of each other give their mean; three give the median, which
    /// one stray train does not move.
    #[test]
    fn agreeing_pairs_give_their_mean_and_three_their_median() {
        let v = run(&[sample(1.0e6, None), sample(1.06e6, None)]);
        assert!(
            (v.rate_bps.unwrap_or_default() - 1.03e6).abs() < 1.0,
            "{v:?}"
        );
        let v = run(&[
            sample(1.0e6, None),
            sample(1.5e6, None),
            sample(1.02e6, None),
        ]);
        assert!(
            (v.rate_bps.unwrap_or_default() - 1.02e6).abs() < 1.0,
            "{v:?}"
        );
        assert_eq!(v.undetermined, None);
    }

    /// One sample beside cross traffic is no figure; one on a clean shaper is.
    #[test]
    fn a_lone_sample_beside_cross_traffic_is_undetermined() {
        let mut p = Planner::new(45_000, 6, 1000, Duration::from_millis(500));
        let Step::Send { plan, .. } = p.first() else {
            panic!("no first train");
        };
        assert_eq!(
            p.observe(plan, &sample(305_000.0, Some(1.0e6)), 44_000, 0.0, 0.3),
            Step::Done
        );
        let v = p.verdict();
        assert_eq!(v.rate_bps, None);
        assert!(
            v.undetermined
                .unwrap_or_default()
                .contains("hanya cukup untuk satu sampel (305 Kbps)")
        );
        let mut p = Planner::new(45_000, 6, 1000, Duration::from_millis(500));
        let Step::Send { plan, .. } = p.first() else {
            panic!("no first train");
        };
        p.observe(plan, &sample(512_000.0, None), 44_000, 0.0, 0.3);
        assert_eq!(p.verdict().rate_bps, Some(512_000.0));
    }
}
