//! National public holidays and cuti bersama (SKB 3 Menteri), and the working-day deadline of
//! the semester report (Juknis V.C: within 10 working days after the semester ends).
//!
//! The shipped list (`data/hari-libur.yaml`) is compiled in; a file of the same shape replaces
//! it. Pure apart from [`Calendar::load`], which reads the file it is given.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use serde_saphyr::Spanned;

/// The shipped list.
pub const EMBEDDED: &str = include_str!("../../data/hari-libur.yaml");

/// Working days the Juknis allows after the semester's last day.
pub const WORKING_DAYS: u32 = 10;

/// Why a holiday list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
}

/// A day off: a national holiday or cuti bersama.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holiday {
    pub date: NaiveDate,
    pub kind: Kind,
    pub name: String,
    /// The date is an estimate (the year's SKB is not out yet).
    pub estimated: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Hari libur nasional.
    Holiday,
    /// Cuti bersama.
    Leave,
}

impl Kind {
    /// The Indonesian words.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Holiday => "libur nasional",
            Kind::Leave => "cuti bersama",
        }
    }
}

/// What is known of one year.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Year {
    /// The year's SKB is out and the list follows it.
    pub official: bool,
    /// The legal basis, in Indonesian.
    pub source: String,
}

/// The holiday calendar: days off by date, and what is known of each year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Calendar {
    days: BTreeMap<NaiveDate, Holiday>,
    years: BTreeMap<i32, Year>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    years: Vec<RawYear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: Spanned<i32>,
    official: bool,
    source: String,
    #[serde(default)]
    days: Vec<RawDay>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDay {
    date: Spanned<String>,
    kind: Spanned<String>,
    name: String,
    #[serde(default)]
    estimated: bool,
}

impl Calendar {
    /// The shipped list.
    pub fn embedded() -> Result<Calendar, Error> {
        Calendar::parse(EMBEDDED, "data/hari-libur.yaml (embedded)")
    }

    /// Read a list from `file`.
    pub fn load(file: &Path) -> Result<Calendar, Error> {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|source| Error::Read {
            file: name.clone(),
            source,
        })?;
        Calendar::parse(&text, &name)
    }

    /// Parse a list; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Calendar, Error> {
        let invalid = |line: u64, column: u64, message: String| Error::Invalid {
            file: file.to_owned(),
            line,
            column,
            message,
        };
        let raw: RawFile = serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            let msg = e.to_string();
            invalid(line, column, msg.lines().next().unwrap_or(&msg).to_owned())
        })?;
        let mut cal = Calendar::default();
        for y in raw.years {
            let at = |s: &serde_saphyr::Location| (s.line(), s.column());
            let year = y.year.value;
            if cal
                .years
                .insert(
                    year,
                    Year {
                        official: y.official,
                        source: y.source.split_whitespace().collect::<Vec<_>>().join(" "),
                    },
                )
                .is_some()
            {
                let (l, c) = at(&y.year.referenced);
                return Err(invalid(l, c, format!("year {year} is listed twice")));
            }
            for d in y.days {
                let (l, c) = at(&d.date.referenced);
                let date = NaiveDate::parse_from_str(&d.date.value, "%Y-%m-%d").map_err(|_| {
                    invalid(
                        l,
                        c,
                        format!("`{}` is not a date; write YYYY-MM-DD", d.date.value),
                    )
                })?;
                if date.year() != year {
                    return Err(invalid(l, c, format!("{date} is listed under year {year}")));
                }
                let kind = match d.kind.value.as_str() {
                    "holiday" => Kind::Holiday,
                    "leave" => Kind::Leave,
                    other => {
                        let (l, c) = at(&d.kind.referenced);
                        return Err(invalid(
                            l,
                            c,
                            format!(
                                "kind `{other}` is neither `holiday` (libur nasional) nor `leave` (cuti bersama)"
                            ),
                        ));
                    }
                };
                let h = Holiday {
                    date,
                    kind,
                    name: d.name,
                    estimated: d.estimated,
                };
                // A holiday and a cuti bersama on one date (it happens): the holiday names it.
                match cal.days.get(&date) {
                    Some(old) if old.kind == Kind::Holiday => {}
                    _ => {
                        cal.days.insert(date, h);
                    }
                }
            }
        }
        Ok(cal)
    }

    /// The day off on `date`, if any.
    pub fn holiday(&self, date: NaiveDate) -> Option<&Holiday> {
        self.days.get(&date)
    }

    /// What the list knows of `year`, `None` when the year is not listed.
    pub fn year(&self, year: i32) -> Option<&Year> {
        self.years.get(&year)
    }

    /// Whether `date` is a working day: Monday to Friday and not a day off.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.days.contains_key(&date)
    }

    /// The `n`-th working day after `day`.
    pub fn working_days_after(&self, day: NaiveDate, n: u32) -> Deadline {
        let mut date = day;
        let mut counted = 0;
        let mut skipped = Vec::new();
        let mut years = std::collections::BTreeSet::new();
        while counted < n {
            let Some(next) = date.succ_opt() else { break };
            date = next;
            years.insert(date.year());
            if self.is_working_day(date) {
                counted += 1;
            } else if let Some(h) = self.holiday(date)
                && !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            {
                skipped.push(h.clone());
            }
        }
        let unofficial: Vec<i32> = years
            .iter()
            .copied()
            .filter(|y| self.years.get(y).is_some_and(|y| !y.official))
            .collect();
        let unknown: Vec<i32> = years
            .iter()
            .copied()
            .filter(|y| !self.years.contains_key(y))
            .collect();
        Deadline {
            date,
            skipped,
            unofficial,
            unknown,
        }
    }

    /// The report's deadline for the semester ending on `last_day`.
    pub fn report_deadline(&self, last_day: NaiveDate) -> Deadline {
        self.working_days_after(last_day, WORKING_DAYS)
    }
}

/// A deadline counted in working days, and how sure it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// The last allowed day.
    pub date: NaiveDate,
    /// Days off on weekdays inside the window, in order.
    pub skipped: Vec<Holiday>,
    /// Years of the window whose list is not official yet (estimates).
    pub unofficial: Vec<i32>,
    /// Years of the window the list does not cover at all (only weekends were skipped).
    pub unknown: Vec<i32>,
}

impl Deadline {
    /// Whether the date may move once the missing or estimated lists are official.
    pub fn is_certain(&self) -> bool {
        self.unofficial.is_empty() && self.unknown.is_empty()
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use rstest::rstest;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_embedded_list_loads_with_its_three_years() {
        let c = Calendar::embedded().unwrap();
        assert!(c.year(2025).unwrap().official);
        assert!(c.year(2026).unwrap().official);
        assert!(!c.year(2027).unwrap().official);
        assert!(c.year(2026).unwrap().source.contains("1497 Tahun 2025"));
        // Idulfitri 1447 H and its cuti bersama (SKB 2026).
        for day in ["2026-03-20", "2026-03-23", "2026-03-24"] {
            assert_eq!(c.holiday(d(day)).unwrap().kind, Kind::Leave, "{day}");
        }
        assert_eq!(c.holiday(d("2025-08-18")).unwrap().kind, Kind::Leave);
        assert!(c.holiday(d("2027-01-06")).unwrap().estimated);
        assert!(!c.holiday(d("2027-01-01")).unwrap().estimated);
    }

    #[rstest]
    // 2026-1 ends Tuesday 30 June 2026; July 2026 has no holiday: ten weekdays.
    #[case("2026-06-30", "2026-07-14", 0)]
    // 2025-2 ends Wednesday 31 December 2025; 1 January 2026 is a holiday.
    #[case("2025-12-31", "2026-01-15", 1)]
    // 2025-1 ends Monday 30 June 2025; no holiday in the window.
    #[case("2025-06-30", "2025-07-14", 0)]
    // 2026-2 ends Thursday 31 December 2026; 1 January 2027 and Isra Mikraj (estimated, 6 Jan).
    #[case("2026-12-31", "2027-01-18", 2)]
    fn semester_deadlines(#[case] end: &str, #[case] deadline: &str, #[case] skipped: usize) {
        let c = Calendar::embedded().unwrap();
        let dl = c.report_deadline(d(end));
        assert_eq!(dl.date, d(deadline));
        assert_eq!(dl.skipped.len(), skipped, "{:?}", dl.skipped);
    }

    #[test]
    fn a_deadline_over_cuti_bersama_moves_and_says_which_days() {
        let c = Calendar::embedded().unwrap();
        // From Wednesday 18 March 2026: Nyepi, cuti bersama and Idulfitri cover 19-24 March.
        let dl = c.working_days_after(d("2026-03-17"), 3);
        assert_eq!(dl.date, d("2026-03-27"));
        let names: Vec<_> = dl.skipped.iter().map(|h| h.date.to_string()).collect();
        assert_eq!(
            names,
            [
                "2026-03-18",
                "2026-03-19",
                "2026-03-20",
                "2026-03-23",
                "2026-03-24"
            ]
        );
        assert!(dl.is_certain());
    }

    #[test]
    fn estimated_and_unlisted_years_make_the_deadline_uncertain() {
        let c = Calendar::embedded().unwrap();
        let dl = c.report_deadline(d("2026-12-31"));
        assert_eq!(dl.unofficial, [2027]);
        assert!(!dl.is_certain());
        let dl = c.report_deadline(d("2027-12-31"));
        assert_eq!(dl.unknown, [2028]);
        // Only weekends skipped: 3 January 2028 is a Monday.
        assert_eq!(dl.date, d("2028-01-14"));
    }

    #[test]
    fn an_override_file_replaces_the_list() {
        let c = Calendar::parse(
            "years:\n  - year: 2026\n    official: true\n    source: uji\n    days:\n      - {date: 2026-07-01, kind: leave, name: Uji}\n",
            "uji.yaml",
        )
        .unwrap();
        assert_eq!(c.report_deadline(d("2026-06-30")).date, d("2026-07-15"));
    }

    #[rstest]
    #[case(
        "years:\n  - year: 2026\n    official: true\n    source: x\n    days:\n      - {date: 2026-13-01, kind: holiday, name: X}\n",
        "uji.yaml:6:",
        "`2026-13-01` is not a date"
    )]
    #[case(
        "years:\n  - year: 2026\n    official: true\n    source: x\n    days:\n      - {date: 2026-01-01, kind: libur, name: X}\n",
        "uji.yaml:6:",
        "kind `libur`"
    )]
    #[case(
        "years:\n  - year: 2026\n    official: true\n    source: x\n    days:\n      - {date: 2025-01-01, kind: holiday, name: X}\n",
        "uji.yaml:6:",
        "listed under year 2026"
    )]
    #[case(
        "years:\n  - year: 2026\n    offical: true\n",
        "uji.yaml:3:",
        "offical"
    )]
    fn bad_files_name_the_line(#[case] text: &str, #[case] at: &str, #[case] what: &str) {
        let e = Calendar::parse(text, "uji.yaml").unwrap_err().to_string();
        assert!(e.starts_with(at) && e.contains(what), "{e}");
    }
}
