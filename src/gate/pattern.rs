//! Refusing sequential, patterned or bursty look-ups (Juknis II.E.1), per caller and across the
//! whole User ID (every application and operator together: Dukcapil sees one account, so two
//! operators splitting a consecutive list break the rule as one): a serial within `k` of a
//! recent look-up with the same 12-digit prefix, three look-ups whose NIKs form an arithmetic
//! progression, more than `N` look-ups a minute.
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
    /// Sequential or patterned with another caller's recent look-ups on the same User ID.
    UserIdPattern(Duration),
    /// Too many in a minute on the whole User ID.
    UserIdBurst(Duration),
}

impl Verdict {
    /// The same verdict, found on the whole User ID's history.
    fn across_user_id(self) -> Verdict {
        match self {
            Verdict::Pattern(d) | Verdict::UserIdPattern(d) => Verdict::UserIdPattern(d),
            Verdict::Burst(d) | Verdict::UserIdBurst(d) => Verdict::UserIdBurst(d),
        }
    }
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

/// Memory of recent look-ups per caller (`Some`) and of the whole User ID (`None`).
#[derive(Debug)]
pub struct Memory {
    rules: Rules,
    offset: u64,
    callers: Mutex<HashMap<Option<Caller>, History>>,
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

    /// Check a look-up against the caller's history and the whole User ID's and, when both
    /// allow it, remember it in both.
    pub fn check(&self, who: &Caller, mark: Mark) -> Result<(), Verdict> {
        let r = &self.rules;
        let off = r.serial_distance.is_none() && !r.progression && r.per_minute.is_none();
        if off {
            return Ok(());
        }
        let now = Instant::now();
        let mut callers = self.callers.lock().unwrap_or_else(|p| p.into_inner());
        {
            let h = callers.entry(Some(who.clone())).or_default();
            self.forget_old(h, now);
            self.judge(h, mark, now)?;
        }
        {
            let all = callers.entry(None).or_default();
            self.forget_old(all, now);
            self.judge(all, mark, now)
                .map_err(Verdict::across_user_id)?;
            self.remember(all, mark, now);
        }
        let h = callers.entry(Some(who.clone())).or_default();
        self.remember(h, mark, now);
        Ok(())
    }

    fn forget_old(&self, h: &mut History, now: Instant) {
        while h
            .marks
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= self.rules.window)
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
    }

    fn judge(&self, h: &History, mark: Mark, now: Instant) -> Result<(), Verdict> {
        let r = &self.rules;
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
        Ok(())
    }

    fn remember(&self, h: &mut History, mark: Mark, now: Instant) {
        let r = &self.rules;
        if r.serial_distance.is_some() || r.progression {
            if h.marks.len() >= MAX_MARKS {
                h.marks.pop_front();
            }
            h.marks.push_back((now, mark));
        }
        if r.per_minute.is_some() {
            h.minute.push_back(now);
        }
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
        for key in [Some(who.clone()), None] {
            let whole = key.is_none();
            let h = callers.entry(key).or_default();
            while h
                .minute
                .front()
                .is_some_and(|t| now.duration_since(*t) >= MINUTE)
            {
                h.minute.pop_front();
            }
            if h.minute.len() >= n as usize {
                let oldest = h.minute.front().copied().unwrap_or(now);
                let v = Verdict::Burst(MINUTE.saturating_sub(now - oldest));
                return Err(if whole { v.across_user_id() } else { v });
            }
        }
        for key in [Some(who.clone()), None] {
            callers.entry(key).or_default().minute.push_back(now);
        }
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

    #[tokio::test(start_paused = true)]
    async fn two_callers_splitting_a_consecutive_list_are_refused_on_the_user_id() {
        let mem = Memory::new(Rules {
            per_minute: None,
            ..Rules::default()
        });
        let budi = Caller::Operator("budi".into());
        let siti = Caller::Operator("siti".into());
        mem.check(&budi, m(&mem, 1, 100)).unwrap();
        // Siti has asked nothing yet: only the User ID's memory sees the sequence.
        assert!(matches!(
            mem.check(&siti, m(&mem, 1, 101)),
            Err(Verdict::UserIdPattern(_))
        ));
        // A refused look-up is not remembered: Siti's own history stays empty.
        mem.check(&siti, m(&mem, 2, 500)).unwrap();
        // Progressions across callers too: 3 NIKs with the same step from three callers.
        mem.check(&app(), m(&mem, 7, 1000)).unwrap();
        mem.check(&budi, m(&mem, 7, 3000)).unwrap();
        assert!(matches!(
            mem.check(&siti, m(&mem, 7, 5000)),
            Err(Verdict::UserIdPattern(_))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn the_burst_rule_counts_the_whole_user_id() {
        let mem = Memory::new(Rules {
            per_minute: Some(3),
            serial_distance: None,
            progression: false,
            ..Rules::default()
        });
        mem.check(&Caller::Operator("a".into()), m(&mem, 1, 10))
            .unwrap();
        mem.check(&Caller::Operator("b".into()), m(&mem, 2, 20))
            .unwrap();
        mem.count(&Caller::Operator("c".into())).unwrap();
        assert!(matches!(
            mem.check(&Caller::Operator("d".into()), m(&mem, 3, 30)),
            Err(Verdict::UserIdBurst(_))
        ));
        assert!(matches!(
            mem.count(&Caller::Operator("e".into())),
            Err(Verdict::UserIdBurst(_))
        ));
    }
}
