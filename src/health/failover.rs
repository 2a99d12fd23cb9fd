//! Which route of a path carries its traffic: failover from a route that is down to the
//! healthiest usable one, and failback to the primary once it has been healthy for a hold
//! time. Pure: states and the time come in, a decision comes out; no IO, no clock.
//!
//! The route states fed in are already smoothed by the tracker's hysteresis (a route turns
//! down only after `down_after` bad rounds), so a switch away happens on that promise; the
//! way back waits for the primary to stay healthy for the whole hold, so a primary that
//! flickers between healthy and degraded never pulls the traffic back and forth.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::State;

pub use crate::topology::DEFAULT_FAILBACK_HOLD;

/// Why the active route changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The active route became unusable; traffic moved to the healthiest usable route.
    Failover,
    /// The primary has been healthy for the whole hold; traffic came back to it.
    Failback,
}

impl Why {
    /// `failover` or `failback` (logs, metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            Why::Failover => "failover",
            Why::Failback => "failback",
        }
    }
}

/// A change of the active route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Index of the route that carried the traffic.
    pub from: usize,
    /// Index of the route that carries it now.
    pub to: usize,
    /// Why.
    pub why: Why,
    /// When the change was decided.
    pub at: DateTime<Utc>,
}

/// The failover state of one path. Route 0 is the primary.
#[derive(Clone, Debug)]
pub struct Failover {
    hold: Duration,
    active: usize,
    since: DateTime<Utc>,
    /// Since when the primary has been healthy without a break, while it is not active.
    primary_healthy_since: Option<DateTime<Utc>>,
    /// Whether the primary has been judged at all: at start-up its probes have not reported
    /// yet, and an alternate's first round must not pull traffic away (and back after the
    /// hold) every time the appliance starts.
    primary_known: bool,
}

fn usable(s: State) -> bool {
    matches!(s, State::Healthy | State::Degraded)
}

impl Failover {
    /// A path whose traffic starts on the primary at `now`, coming back to it after `hold`.
    pub fn new(hold: Duration, now: DateTime<Utc>) -> Failover {
        Failover {
            hold,
            active: 0,
            since: now,
            primary_healthy_since: None,
            primary_known: false,
        }
    }

    /// The route that carries traffic now.
    pub fn active(&self) -> usize {
        self.active
    }

    /// Since when it does.
    pub fn since(&self) -> DateTime<Utc> {
        self.since
    }

    /// The failback hold.
    pub fn hold(&self) -> Duration {
        self.hold
    }

    /// The same state with another failback hold (a reloaded topology).
    #[must_use]
    pub fn with_hold(mut self, hold: Duration) -> Failover {
        self.hold = hold;
        self
    }

    /// Take the routes' states (in the path's order, the primary first) at `now` and decide.
    /// Returns the change when the active route changed.
    ///
    /// - Until the primary has been judged once, nothing moves (start-up).
    /// - The active route stays while it is usable (healthy or degraded); a degraded primary
    ///   is not left for a healthy alternate (that would flap with every loss spike).
    /// - When it is not usable, traffic moves to the best usable route: healthy before
    ///   degraded, the path's order among equals. With none usable nothing changes (the
    ///   gate refuses with `link_down`; the outbox holds).
    /// - On an alternate, traffic returns to the primary once it has been healthy
    ///   (degraded does not count) for the whole hold.
    pub fn update(&mut self, states: &[State], now: DateTime<Utc>) -> Option<Change> {
        let primary = states.first().copied().unwrap_or(State::Unknown);
        self.primary_known |= primary != State::Unknown;
        if !self.primary_known && self.active == 0 {
            // Start-up: wait for the primary's first verdict.
            return None;
        }
        if self.active >= states.len() {
            // The path lost routes (a reload): start again on the primary.
            return self.switch(0, Why::Failover, now);
        }
        if self.active != 0 {
            if primary == State::Healthy {
                let since = *self.primary_healthy_since.get_or_insert(now);
                let held = now
                    .signed_duration_since(since)
                    .to_std()
                    .unwrap_or(Duration::ZERO);
                if held >= self.hold {
                    return self.switch(0, Why::Failback, now);
                }
            } else {
                self.primary_healthy_since = None;
            }
        }
        let active_state = states.get(self.active).copied().unwrap_or(State::Unknown);
        if usable(active_state) {
            return None;
        }
        let best = states
            .iter()
            .enumerate()
            .filter(|(_, s)| usable(**s))
            .min_by_key(|(i, s)| (**s != State::Healthy, *i))
            .map(|(i, _)| i)?;
        self.switch(best, Why::Failover, now)
    }

    fn switch(&mut self, to: usize, why: Why, now: DateTime<Utc>) -> Option<Change> {
        let from = self.active;
        self.active = to;
        self.since = now;
        self.primary_healthy_since = None;
        (from != to).then_some(Change {
            from,
            to,
            why,
            at: now,
        })
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use State::{Degraded as G, Down as D, Healthy as H, Unknown as U};

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    /// Feed `(second, states)` steps; collect the active route after each and the changes.
    fn run(hold: u64, steps: &[(i64, &[State])]) -> (Vec<usize>, Vec<(usize, usize, Why)>) {
        let mut f = Failover::new(Duration::from_secs(hold), t(0));
        let mut active = Vec::new();
        let mut changes = Vec::new();
        for (s, states) in steps {
            if let Some(c) = f.update(states, t(*s)) {
                assert_eq!(c.at, t(*s));
                assert_eq!(f.since(), t(*s));
                changes.push((c.from, c.to, c.why));
            }
            active.push(f.active());
        }
        (active, changes)
    }

    /// `"0 DH; 10 HH"`: at second 0 the primary is down and the alternate healthy, ...
    fn parse(steps: &str) -> Vec<(i64, Vec<State>)> {
        steps
            .split(';')
            .map(|step| {
                let (s, states) = step.trim().split_once(' ').unwrap();
                let states = states
                    .chars()
                    .map(|c| match c {
                        'H' => H,
                        'G' => G,
                        'D' => D,
                        _ => U,
                    })
                    .collect();
                (s.parse().unwrap(), states)
            })
            .collect()
    }

    #[rstest::rstest]
    #[case::healthy_primary_stays("0 HH; 10 HD", &[0, 0], &[])]
    #[case::degraded_primary_stays("0 GH; 10 GH", &[0, 0], &[])]
    #[case::down_primary_fails_over("0 HH; 10 DH", &[0, 1], &[(0, 1, Why::Failover)])]
    #[case::start_up_waits_for_the_primary("0 UH; 1 UH; 2 HH", &[0, 0, 0], &[])]
    #[case::a_primary_unknown_again_fails_over("0 HH; 10 UH", &[0, 1], &[(0, 1, Why::Failover)])]
    #[case::healthiest_alternate_wins("0 DGH", &[2], &[(0, 2, Why::Failover)])]
    #[case::path_order_among_equals("0 DHH", &[1], &[(0, 1, Why::Failover)])]
    #[case::degraded_alternate_when_nothing_better("0 DGD", &[1], &[(0, 1, Why::Failover)])]
    #[case::nothing_usable_changes_nothing("0 DD; 10 UD", &[0, 0], &[])]
    #[case::alternate_down_moves_to_next(
        "0 DHH; 10 DDH",
        &[1, 2],
        &[(0, 1, Why::Failover), (1, 2, Why::Failover)]
    )]
    #[case::alternate_down_primary_degraded_goes_back_at_once(
        "0 DH; 10 GD",
        &[1, 0],
        &[(0, 1, Why::Failover), (1, 0, Why::Failover)]
    )]
    fn switching(
        #[case] steps: &str,
        #[case] active: &[usize],
        #[case] changes: &[(usize, usize, Why)],
    ) {
        let steps = parse(steps);
        let steps: Vec<(i64, &[State])> = steps.iter().map(|(s, v)| (*s, v.as_slice())).collect();
        let (a, c) = run(300, &steps);
        assert_eq!(a, active);
        assert_eq!(c, changes);
    }

    #[test]
    fn failback_waits_for_the_whole_hold() {
        let (a, c) = run(
            300,
            &[
                (0, &[D, H]),
                (30, &[H, H]),  // healthy from 30 s
                (200, &[H, H]), // 170 s: not yet
                (329, &[H, H]), // 299 s: not yet
                (330, &[H, H]), // 300 s: back
                (400, &[H, H]),
            ],
        );
        assert_eq!(a, [1, 1, 1, 1, 0, 0]);
        assert_eq!(c, [(0, 1, Why::Failover), (1, 0, Why::Failback)]);
    }

    #[test]
    fn a_flickering_primary_never_pulls_traffic_back() {
        // Healthy, degraded, healthy, down...: each break restarts the hold.
        let mut steps: Vec<(i64, &[State])> = vec![(0, &[D, H])];
        for k in 0..20 {
            let s = 10 + k * 100;
            steps.push((s, &[H, H]));
            steps.push((s + 50, if k % 2 == 0 { &[G, H] } else { &[D, H] }));
        }
        let (a, c) = run(120, &steps);
        assert!(a[1..].iter().all(|&r| r == 1), "{a:?}");
        assert_eq!(c, [(0, 1, Why::Failover)]);
    }

    #[test]
    fn a_degraded_primary_does_not_count_toward_the_hold() {
        let (a, _) = run(
            60,
            &[(0, &[D, H]), (10, &[G, H]), (100, &[G, H]), (110, &[H, H])],
        );
        assert_eq!(a, [1, 1, 1, 1]);
    }

    #[test]
    fn zero_hold_fails_back_on_the_first_healthy_primary() {
        let (a, c) = run(0, &[(0, &[D, H]), (1, &[H, H])]);
        assert_eq!(a, [1, 0]);
        assert_eq!(c, [(0, 1, Why::Failover), (1, 0, Why::Failback)]);
    }

    #[test]
    fn a_path_that_lost_its_alternate_returns_to_the_primary() {
        let mut f = Failover::new(DEFAULT_FAILBACK_HOLD, t(0));
        f.update(&[D, H], t(0));
        assert_eq!(f.active(), 1);
        let c = f.update(&[H], t(5)).unwrap();
        assert_eq!((c.from, c.to), (1, 0));
        assert_eq!(f.active(), 0);
    }
}
