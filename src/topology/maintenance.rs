//! Maintenance windows: planned work announced by Diskominfo, Dukcapil or the provider, one-off
//! or recurring in WIB, scoped to paths or links. Pure: when a window is on, and how much of a
//! period it covers for a path or a link, so that planned work is not counted as a failure.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Asia::Jakarta;

use super::{LinkId, PathId, Topology};

/// When a window is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recurrence {
    /// Once, `[from, to)`.
    Once {
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    /// Every week on `day` from `at` (WIB) for `minutes`.
    Weekly {
        day: Weekday,
        at: NaiveTime,
        minutes: u32,
    },
    /// Every month on day `day` (1-28, so that every month has it) from `at` (WIB).
    Monthly {
        day: u32,
        at: NaiveTime,
        minutes: u32,
    },
}

/// What a window covers: everything, or the listed paths and links. A path is covered when it
/// is listed or when its primary route crosses a listed link.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Scope {
    pub paths: Vec<PathId>,
    pub links: Vec<LinkId>,
}

impl Scope {
    pub fn is_everything(&self) -> bool {
        self.paths.is_empty() && self.links.is_empty()
    }
}

/// One maintenance window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub when: Recurrence,
    pub scope: Scope,
    /// What the work is, for people ("Pemeliharaan rutin jaringan Diskominfo").
    pub note: String,
}

/// What is measured: a path or a link, by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject<'a> {
    Path(&'a str),
    Link(&'a str),
}

impl Window {
    /// Whether the window covers `subject` in topology `t`.
    pub fn covers(&self, t: &Topology, subject: Subject<'_>) -> bool {
        if self.scope.is_everything() {
            return true;
        }
        match subject {
            Subject::Link(l) => self.scope.links.iter().any(|x| x.as_str() == l),
            Subject::Path(p) => {
                self.scope.paths.iter().any(|x| x.as_str() == p)
                    || t.paths
                        .iter()
                        .filter(|x| x.id.as_str() == p)
                        .filter_map(|x| x.routes.first())
                        .any(|r| r.links.iter().any(|l| self.scope.links.contains(l)))
            }
        }
    }

    /// The window's occurrences that overlap `[from, to)`, clipped to it, in order.
    pub fn occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.whole_occurrences(from, to)
            .into_iter()
            .map(|(s, e)| (s.max(from), e.min(to)))
            .collect()
    }

    /// The occurrence running at `at`, if any, whole: `(start, end)`.
    pub fn running_at(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.whole_occurrences(at, at + Duration::seconds(1))
            .into_iter()
            .next()
    }

    /// Occurrences that overlap `[from, to)`, not clipped.
    fn whole_occurrences(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let (at, minutes, starts_on): (NaiveTime, u32, Box<dyn Fn(NaiveDate) -> bool>) =
            match &self.when {
                Recurrence::Once { from: s, to: e } => {
                    return if *s < to && *e > from {
                        vec![(*s, *e)]
                    } else {
                        Vec::new()
                    };
                }
                Recurrence::Weekly { day, at, minutes } => {
                    let day = *day;
                    (
                        *at,
                        *minutes,
                        Box::new(move |d: NaiveDate| d.weekday() == day),
                    )
                }
                Recurrence::Monthly { day, at, minutes } => {
                    let day = *day;
                    (*at, *minutes, Box::new(move |d: NaiveDate| d.day() == day))
                }
            };
        let len = Duration::minutes(i64::from(minutes));
        let mut out = Vec::new();
        if minutes == 0 {
            return out;
        }
        // From a window's length before `from`, so that one already running at `from` counts.
        let mut d = wib_date(from - len);
        let last = wib_date(to);
        while d <= last {
            if starts_on(d) {
                let s = wib_instant(d.and_time(at));
                let e = s + len;
                if s < to && e > from {
                    out.push((s, e));
                }
            }
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        out
    }
}

/// Every window of the topology, and those an admin made on the dashboard (kept in the state
/// dir and added by the service; one-off, cancelled ones left out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schedule {
    pub windows: Vec<Window>,
    pub made: Vec<Window>,
}

impl Schedule {
    /// The topology's windows and the dashboard's.
    pub fn all(&self) -> impl Iterator<Item = &Window> {
        self.windows.iter().chain(self.made.iter())
    }

    /// The window covering `subject` at `at`, with the end of its current occurrence.
    pub fn active(
        &self,
        t: &Topology,
        subject: Subject<'_>,
        at: DateTime<Utc>,
    ) -> Option<(&Window, DateTime<Utc>)> {
        self.all()
            .filter(|w| w.covers(t, subject))
            .find_map(|w| w.running_at(at).map(|(_, end)| (w, end)))
    }

    /// The planned intervals covering `subject` within `[from, to)`, merged, in order.
    pub fn planned(
        &self,
        t: &Topology,
        subject: Subject<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut all: Vec<_> = self
            .all()
            .filter(|w| w.covers(t, subject))
            .flat_map(|w| w.occurrences(from, to))
            .collect();
        all.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        for (s, e) in all {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }
}

/// Seconds of `[a, b)` that fall inside `intervals` (sorted, disjoint).
pub fn overlap_s(intervals: &[(DateTime<Utc>, DateTime<Utc>)], a: i64, b: i64) -> i64 {
    intervals
        .iter()
        .map(|(s, e)| (e.timestamp().min(b) - s.timestamp().max(a)).max(0))
        .sum()
}

fn wib_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&Jakarta).date_naive()
}

/// A WIB wall-clock time as an instant (WIB has no daylight saving: always one answer).
pub fn wib_instant(local: NaiveDateTime) -> DateTime<Utc> {
    Jakarta
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local) - Duration::hours(7))
}

/// `minggu`/`sunday`, `senin`/`monday`, ... (Indonesian or English, any case).
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_lowercase().as_str() {
        "senin" | "monday" | "mon" => Weekday::Mon,
        "selasa" | "tuesday" | "tue" => Weekday::Tue,
        "rabu" | "wednesday" | "wed" => Weekday::Wed,
        "kamis" | "thursday" | "thu" => Weekday::Thu,
        "jumat" | "jum'at" | "friday" | "fri" => Weekday::Fri,
        "sabtu" | "saturday" | "sat" => Weekday::Sat,
        "minggu" | "ahad" | "sunday" | "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// `22:00` or `22.00` (WIB).
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim().replace('.', ":");
    NaiveTime::parse_from_str(&s, "%H:%M").ok()
}

/// `2026-12-12 22:00` (WIB; `T` or a space between date and time, `.` or `:` in the time).
pub fn parse_wib(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim().replace('T', " ");
    let (d, t) = s.split_once(' ')?;
    let date = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok()?;
    Some(wib_instant(date.and_time(parse_time(t)?)))
}

/// `90m`, `3h`, `1h30m`, `45 menit`, `2 jam`: whole minutes, at least one.
pub fn parse_minutes(s: &str) -> Option<u32> {
    let s = s
        .trim()
        .to_lowercase()
        .replace("menit", "m")
        .replace("jam", "h")
        .replace(' ', "");
    let mut total: u32 = 0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u32 = num.parse().ok()?;
        num.clear();
        total = total.checked_add(match c {
            'h' => n.checked_mul(60)?,
            'm' => n,
            _ => return None,
        })?;
    }
    (num.is_empty() && total > 0).then_some(total)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests;
