//! Refusing sequential, patterned or bursty look-ups per caller (Juknis II.E.1): a serial within
//! `k` of a recent look-up with the same 12-digit prefix, three look-ups whose NIKs form an
//! arithmetic progression, more than `N` look-ups a minute.
//!
//! Memory holds no NIK: per look-up an HMAC tag of the 12-digit prefix, the serial, and the NIK
//! shifted by a random secret offset (differences survive, values do not). Nothing is written
//! to disk. Time is `tokio::time::Instant`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::Caller;

/// The configurable rules. `None` turns a rule off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    /// How long a look-up is remembered for the sequence and progression rules.
    pub window: Duration,
    /// Refuse a serial within this distance (1..=k) of a remembered look-up with the same
    /// 12-digit prefix.
    pub serial_distance: Option<u16>,
    /// Refuse a look-up that makes three remembered NIKs an arithmetic progression.
    pub progression: bool,
    /// Refuse more than this many look-ups per caller in any minute.
    pub per_minute: Option<u32>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            window: Duration::from_secs(600),
            serial_distance: Some(10),
            progression: true,
            per_minute: Some(10),
        }
    }
}

impl Rules {
    /// Every rule off (benchmarks; a batch application with its own controls).
    pub fn off() -> Rules {
        Rules {
            window: Duration::ZERO,
            serial_distance: None,
            progression: false,
            per_minute: None,
        }
    }
}

/// Why a look-up was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Sequential or patterned; try again after this long.
    Pattern(Duration),
    /// Too many in a minute; try again after this long.
    Burst(Duration),
}

/// What is remembered of one look-up.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    /// HMAC of digits 1-12.
    pub prefix_tag: u64,
    /// Digits 13-16.
    pub serial: u16,
    /// The NIK as a number plus the memory's secret offset (wrapping).
    pub shifted: u64,
}

#[derive(Debug, Default)]
struct History {
    marks: VecDeque<(Instant, Mark)>,
    minute: VecDeque<Instant>,
}

/// Per-caller memory of recent look-ups.
#[derive(Debug)]
pub struct Memory {
    rules: Rules,
    offset: u64,
    callers: Mutex<HashMap<Caller, History>>,
}

/// Most marks kept per caller, whatever the window: bounds memory and the progression scan.
const MAX_MARKS: usize = 256;
const MINUTE: Duration = Duration::from_secs(60);

impl Memory {
    /// An empty memory with these rules.
    pub fn new(rules: Rules) -> Memory {
        Memory {
            rules,
            offset: rand::random(),
            callers: Mutex::new(HashMap::new()),
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The mark of a NIK given its prefix tag, serial and numeric value.
    pub fn mark(&self, prefix_tag: u64, serial: u16, value: u64) -> Mark {
        Mark {
            prefix_tag,
            serial,
            shifted: value.wrapping_add(self.offset),
        }
    }

    /// Check a look-up against the caller's history and, when allowed, remember it.
    pub fn check(&self, who: &Caller, mark: Mark) -> Result<(), Verdict> {
        let r = &self.rules;
        let off = r.serial_distance.is_none() && !r.progression && r.per_minute.is_none();
        if off {
            return Ok(());
        }
        let now = Instant::now();
        let mut callers = self.callers.lock().unwrap_or_else(|p| p.into_inner());
        let h = callers.entry(who.clone()).or_default();
        while h
            .marks
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= r.window)
        {
            h.marks.pop_front();
        }
        while h
            .minute
            .front()
            .is_some_and(|t| now.duration_since(*t) >= MINUTE)
        {
            h.minute.pop_front();
        }
        if let Some(n) = r.per_minute
            && h.minute.len() >= n as usize
        {
            let oldest = h.minute.front().copied().unwrap_or(now);
            return Err(Verdict::Burst(MINUTE.saturating_sub(now - oldest)));
        }
        let until = |t: Instant| r.window.saturating_sub(now - t);
        if let Some(k) = r.serial_distance {
            for (t, m) in &h.marks {
                let d = m.serial.abs_diff(mark.serial);
                if m.prefix_tag == mark.prefix_tag && d >= 1 && d <= k {
                    return Err(Verdict::Pattern(until(*t)));
                }
            }
        }
        if r.progression {
            // (a, b, new) with b - a == new - b and a step other than 0.
            for (i, (tb, b)) in h.marks.iter().enumerate() {
                let step = mark.shifted.wrapping_sub(b.shifted);
                if step == 0 {
                    continue;
                }
                let want = b.shifted.wrapping_sub(step);
                if let Some((ta, _)) = h.marks.iter().take(i).find(|(_, a)| a.shifted == want) {
                    return Err(Verdict::Pattern(until((*ta).min(*tb))));
                }
            }
        }
        if r.serial_distance.is_some() || r.progression {
            if h.marks.len() >= MAX_MARKS {
                h.marks.pop_front();
            }
            h.marks.push_back((now, mark));
        }
        if r.per_minute.is_some() {
            h.minute.push_back(now);
        }
        Ok(())
    }

    /// Count a look-up that carries no usable NIK (malformed) toward the burst rule only: it is
    /// audited like any other, so it must be limited like any other, or a caller could flood
    /// the audit log past its real look-ups.
    pub fn count(&self, who: &Caller) -> Result<(), Verdict> {
        let Some(n) = self.rules.per_minute else {
            return Ok(());
        };
        let now = Instant::now();
        let mut callers = self.callers.lock().unwrap_or_else(|p| p.into_inner());
        let h = callers.entry(who.clone()).or_default();
        while h
            .minute
            .front()
            .is_some_and(|t| now.duration_since(*t) >= MINUTE)
        {
            h.minute.pop_front();
        }
        if h.minute.len() >= n as usize {
            let oldest = h.minute.front().copied().unwrap_or(now);
            return Err(Verdict::Burst(MINUTE.saturating_sub(now - oldest)));
        }
        h.minute.push_back(now);
        Ok(())
    }

    /// Forget callers with nothing left in their windows (called now and then).
    pub fn prune(&self) {
        let now = Instant::now();
        let window = self.rules.window.max(MINUTE);
        let mut callers = self.callers.lock().unwrap_or_else(|p| p.into_inner());
        callers.retain(|_, h| {
            let last = h
                .marks
                .back()
                .map(|(t, _)| *t)
                .into_iter()
                .chain(h.minute.back().copied())
                .max();
            last.is_some_and(|t| now.duration_since(t) < window)
        });
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn app() -> Caller {
        Caller::Application("app-web".into())
    }

    fn m(mem: &Memory, prefix: u64, serial: u16) -> Mark {
        mem.mark(prefix, serial, prefix * 10_000 + u64::from(serial))
    }

    #[tokio::test(start_paused = true)]
    async fn near_serials_with_the_same_prefix_are_refused_until_the_window_passes() {
        let mem = Memory::new(Rules {
            per_minute: None,
            ..Rules::default()
        });
        mem.check(&app(), m(&mem, 1, 100)).unwrap();
        assert!(matches!(
            mem.check(&app(), m(&mem, 1, 105)),
            Err(Verdict::Pattern(_))
        ));
        mem.check(&app(), m(&mem, 2, 105)).unwrap();
        mem.check(&app(), m(&mem, 1, 100)).unwrap();
        mem.check(&Caller::Operator("budi".into()), m(&mem, 1, 101))
            .unwrap();
        tokio::time::advance(Duration::from_secs(601)).await;
        mem.check(&app(), m(&mem, 1, 101)).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn arithmetic_progressions_are_refused() {
        let mem = Memory::new(Rules {
            per_minute: None,
            ..Rules::default()
        });
        mem.check(&app(), m(&mem, 7, 1000)).unwrap();
        mem.check(&app(), m(&mem, 9, 5)).unwrap();
        mem.check(&app(), m(&mem, 7, 1500)).unwrap();
        assert!(matches!(
            mem.check(&app(), m(&mem, 7, 2000)),
            Err(Verdict::Pattern(_))
        ));
        // Across prefixes too: the progression is of whole NIKs (71000, 90005, 109010).
        assert!(matches!(
            mem.check(&app(), m(&mem, 10, 9010)),
            Err(Verdict::Pattern(_))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn malformed_look_ups_count_toward_the_burst() {
        let mem = Memory::new(Rules {
            per_minute: Some(3),
            ..Rules::default()
        });
        mem.count(&app()).unwrap();
        mem.count(&app()).unwrap();
        mem.check(&app(), m(&mem, 1, 10)).unwrap();
        assert!(matches!(mem.count(&app()), Err(Verdict::Burst(_))));
        assert!(matches!(
            mem.check(&app(), m(&mem, 5, 50)),
            Err(Verdict::Burst(_))
        ));
        tokio::time::advance(MINUTE).await;
        mem.count(&app()).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn more_than_n_a_minute_is_a_burst() {
        let mem = Memory::new(Rules {
            per_minute: Some(3),
            serial_distance: None,
            progression: false,
            ..Rules::default()
        });
        for s in [10, 20, 30] {
            mem.check(&app(), m(&mem, 1, s)).unwrap();
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        let Err(Verdict::Burst(after)) = mem.check(&app(), m(&mem, 1, 40)) else {
            panic!("burst expected");
        };
        assert_eq!(after, Duration::from_secs(57));
        tokio::time::advance(after).await;
        mem.check(&app(), m(&mem, 1, 40)).unwrap();
    }
}
