//! A circuit breaker per route of the Web Portal path, fed by real look-up failures (transport,
//! timeout, HTTP error status, malformed answer): open after N consecutive failures, half-open
//! after a cool-down letting one trial request through.
//!
//! Time is `tokio::time::Instant`, so tests can pause and advance it. No IO.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// When a breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Consecutive failures that open the breaker.
    pub failures: u32,
    /// Time open before one trial request is let through.
    pub cool_down: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            failures: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { trial_out: bool },
}

/// What the breaker says about a route right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Requests pass.
    Closed,
    /// Requests are refused for this long.
    Open(Duration),
    /// One trial may pass (or is out).
    HalfOpen,
}

/// Permission to send one request on a route; hand it back through [`Breakers::record`].
#[derive(Debug)]
#[must_use = "record the outcome, or the half-open trial is never released"]
pub struct Ticket {
    route: usize,
    trial: bool,
}

impl Ticket {
    /// The route index this ticket is for.
    pub fn route(&self) -> usize {
        self.route
    }
}

/// How a request on a route ended, as the breaker counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Dukcapil answered (any status).
    Success,
    /// Transport, timeout, HTTP error or malformed answer.
    Failure,
    /// Not the route's fault (configuration); a trial is released without a verdict.
    Neutral,
}

/// One breaker per route.
#[derive(Debug)]
pub struct Breakers {
    config: Config,
    states: Mutex<Vec<State>>,
}

impl Breakers {
    /// `routes` breakers, all closed.
    pub fn new(config: Config, routes: usize) -> Breakers {
        Breakers {
            config,
            states: Mutex::new(vec![State::Closed { failures: 0 }; routes]),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<State>> {
        self.states.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The phase of `route` now, without changing anything.
    pub fn phase(&self, route: usize) -> Phase {
        let now = Instant::now();
        match self.lock().get(route) {
            None | Some(State::Closed { .. }) => Phase::Closed,
            Some(State::Open { until }) if *until > now => Phase::Open(*until - now),
            Some(State::Open { .. } | State::HalfOpen { .. }) => Phase::HalfOpen,
        }
    }

    /// Whether a request could pass `route` now: `Err` carries when to try again.
    pub fn peek(&self, route: usize) -> Result<(), Duration> {
        let now = Instant::now();
        match self.lock().get(route) {
            None | Some(State::Closed { .. }) | Some(State::HalfOpen { trial_out: false }) => {
                Ok(())
            }
            Some(State::Open { until }) if *until > now => Err(*until - now),
            Some(State::Open { .. }) => Ok(()),
            Some(State::HalfOpen { trial_out: true }) => Err(self.config.cool_down),
        }
    }

    /// Take permission to send on `route`; a half-open breaker gives out one trial at a time.
    pub fn admit(&self, route: usize) -> Result<Ticket, Duration> {
        let now = Instant::now();
        let cool_down = self.config.cool_down;
        let mut states = self.lock();
        let Some(st) = states.get_mut(route) else {
            return Ok(Ticket {
                route,
                trial: false,
            });
        };
        match *st {
            State::Closed { .. } => Ok(Ticket {
                route,
                trial: false,
            }),
            State::Open { until } if until > now => Err(until - now),
            State::Open { .. } | State::HalfOpen { trial_out: false } => {
                *st = State::HalfOpen { trial_out: true };
                Ok(Ticket { route, trial: true })
            }
            State::HalfOpen { trial_out: true } => Err(cool_down),
        }
    }

    /// Count how the request of `ticket` ended. Returns whether the breaker is now open.
    pub fn record(&self, ticket: Ticket, outcome: Outcome) -> bool {
        let now = Instant::now();
        let cfg = self.config;
        let mut states = self.lock();
        let Some(st) = states.get_mut(ticket.route) else {
            return false;
        };
        *st = match (outcome, *st) {
            (Outcome::Success, _) => State::Closed { failures: 0 },
            (Outcome::Failure, State::Closed { failures }) => {
                let failures = failures + 1;
                if failures >= cfg.failures.max(1) {
                    State::Open {
                        until: now + cfg.cool_down,
                    }
                } else {
                    State::Closed { failures }
                }
            }
            // A failed trial, or a failure of a request admitted before the breaker opened.
            (Outcome::Failure, State::HalfOpen { .. }) if ticket.trial => State::Open {
                until: now + cfg.cool_down,
            },
            (Outcome::Failure, s) => s,
            (Outcome::Neutral, State::HalfOpen { .. }) if ticket.trial => {
                State::HalfOpen { trial_out: false }
            }
            (Outcome::Neutral, s) => s,
        };
        matches!(st, State::Open { .. })
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config {
            failures: 3,
            cool_down: Duration::from_secs(10),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_n_failures_then_half_opens_one_trial() {
        let b = Breakers::new(cfg(), 1);
        for _ in 0..2 {
            let t = b.admit(0).unwrap();
            assert!(!b.record(t, Outcome::Failure));
        }
        let t = b.admit(0).unwrap();
        assert!(b.record(t, Outcome::Failure));
        assert!(matches!(b.phase(0), Phase::Open(_)));
        assert!(b.admit(0).is_err());
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(b.phase(0), Phase::HalfOpen);
        let trial = b.admit(0).unwrap();
        assert!(b.admit(0).is_err(), "only one trial at a time");
        assert!(b.record(trial, Outcome::Failure), "a failed trial reopens");
        tokio::time::advance(Duration::from_secs(11)).await;
        let trial = b.admit(0).unwrap();
        assert!(!b.record(trial, Outcome::Success));
        assert_eq!(b.phase(0), Phase::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn success_resets_the_count_and_neutral_releases_a_trial() {
        let b = Breakers::new(cfg(), 2);
        for _ in 0..2 {
            let t = b.admit(1).unwrap();
            b.record(t, Outcome::Failure);
        }
        let t = b.admit(1).unwrap();
        b.record(t, Outcome::Success);
        let t = b.admit(1).unwrap();
        assert!(!b.record(t, Outcome::Failure));
        assert_eq!(b.phase(0), Phase::Closed, "routes are independent");
        for _ in 0..3 {
            let t = b.admit(0).unwrap();
            b.record(t, Outcome::Failure);
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        let trial = b.admit(0).unwrap();
        b.record(trial, Outcome::Neutral);
        assert!(b.admit(0).is_ok(), "a neutral trial frees the slot");
    }
}
