//! Semesters, WIB days and the Indonesian words for dates, durations and numbers, as a
//! government report writes them ("31 Desember 2026", "4 jam 12 menit", "1.234", "99,52%").

use crate::study::fmt::{MONTHS, WEEKDAYS};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Asia::Jakarta;

/// Why a semester could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a semester: write YEAR-1 (1 January to 30 June) or YEAR-2 (1 July to \
     31 December), e.g. 2026-2"
)]
pub struct SemesterError(pub String);

/// Half a year: `2026-1` is January to June 2026, `2026-2` July to December.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Semester {
    year: i32,
    half: u8,
}

impl Semester {
    /// The semester of `year`, `half` 1 or 2.
    pub fn new(year: i32, half: u8) -> Result<Semester, SemesterError> {
        if !(2000..=2100).contains(&year) || !(1..=2).contains(&half) {
            return Err(SemesterError(format!("{year}-{half}")));
        }
        Ok(Semester { year, half })
    }

    pub fn year(self) -> i32 {
        self.year
    }

    /// 1 or 2.
    pub fn half(self) -> u8 {
        self.half
    }

    /// "I" or "II", as titles write it.
    pub fn roman(self) -> &'static str {
        if self.half == 1 { "I" } else { "II" }
    }

    /// The first day.
    pub fn first_day(self) -> NaiveDate {
        let month = if self.half == 1 { 1 } else { 7 };
        NaiveDate::from_ymd_opt(self.year, month, 1).unwrap_or(NaiveDate::MIN)
    }

    /// The last day.
    pub fn last_day(self) -> NaiveDate {
        let (month, day) = if self.half == 1 { (6, 30) } else { (12, 31) };
        NaiveDate::from_ymd_opt(self.year, month, day).unwrap_or(NaiveDate::MAX)
    }

    /// `[start, end)` in UTC: WIB midnight of the first day to WIB midnight after the last.
    pub fn bounds(self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            wib_midnight(self.first_day()),
            wib_midnight(self.last_day().succ_opt().unwrap_or(NaiveDate::MAX)),
        )
    }

    /// "1 Juli – 31 Desember 2026".
    pub fn period(self) -> String {
        let (a, b) = (self.first_day(), self.last_day());
        format!("{} {} – {}", a.day(), month_name(a.month()), date_long(b))
    }
}

impl FromStr for Semester {
    type Err = SemesterError;

    /// Strictly `YYYY-1` or `YYYY-2`.
    fn from_str(s: &str) -> Result<Semester, SemesterError> {
        let bad = || SemesterError(s.to_owned());
        let (y, h) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) || !matches!(h, "1" | "2") {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        Semester::new(year, if h == "1" { 1 } else { 2 }).map_err(|_| bad())
    }
}

impl fmt::Display for Semester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.year, self.half)
    }
}

/// The instant of WIB midnight at the start of `day` (WIB has no daylight saving).
pub fn wib_midnight(day: NaiveDate) -> DateTime<Utc> {
    let local = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    Jakarta
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local) - chrono::Duration::hours(7))
}

/// The WIB day of an instant.
pub fn wib_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&Jakarta).date_naive()
}

/// The Indonesian name of month 1-12.
pub fn month_name(month: u32) -> &'static str {
    MONTHS
        .get(month.saturating_sub(1) as usize)
        .copied()
        .unwrap_or("?")
}

/// The Indonesian name of a weekday.
pub fn weekday_name(d: Weekday) -> &'static str {
    WEEKDAYS[d.num_days_from_monday() as usize]
}

/// "31 Desember 2026".
pub fn date_long(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), month_name(d.month()), d.year())
}

/// "Senin, 18 Januari 2027".
pub fn date_with_weekday(d: NaiveDate) -> String {
    format!("{}, {}", weekday_name(d.weekday()), date_long(d))
}

/// "14 Agustus 2026 pukul 09.05 WIB".
pub fn datetime_wib(t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&Jakarta);
    format!(
        "{} pukul {:02}.{:02} WIB",
        date_long(l.date_naive()),
        l.hour(),
        l.minute()
    )
}

/// "14/08/2026 09.05", for table cells.
pub fn datetime_short(t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&Jakarta);
    format!(
        "{:02}/{:02}/{} {:02}.{:02}",
        l.day(),
        l.month(),
        l.year(),
        l.hour(),
        l.minute()
    )
}

/// A duration in words: "4 jam 12 menit", "2 hari 3 jam", "45 detik".
pub fn duration_words(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d} hari"));
    }
    if h > 0 {
        parts.push(format!("{h} jam"));
    }
    if m > 0 && d == 0 {
        parts.push(format!("{m} menit"));
    }
    if parts.is_empty() {
        parts.push(format!("{sec} detik"));
    }
    parts.join(" ")
}

/// An integer with Indonesian thousands separators: 12345 → "12.345".
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// A decimal with a comma and `places` digits: 99.5 → "99,50".
pub fn decimal(v: f64, places: usize) -> String {
    format!("{v:.places$}").replace('.', ",")
}

/// A share as a percentage with two decimals, "—" when there is nothing to divide.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "—".to_owned()
    } else {
        format!("{}%", decimal(part as f64 * 100.0 / whole as f64, 2))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("2026-1", 2026, 1)]
    #[case("2026-2", 2026, 2)]
    #[case("2025-2", 2025, 2)]
    fn semesters_parse(#[case] s: &str, #[case] year: i32, #[case] half: u8) {
        let sem: Semester = s.parse().unwrap();
        assert_eq!((sem.year(), sem.half()), (year, half));
        assert_eq!(sem.to_string(), s);
    }

    #[rstest]
    #[case("2026-3")]
    #[case("2026-0")]
    #[case("2026/2")]
    #[case("26-2")]
    #[case("2026-II")]
    #[case("2026-2 ")]
    #[case(" 2026-2")]
    #[case("2026-02")]
    #[case("1999-1")]
    #[case("")]
    fn bad_semesters_are_refused_with_the_accepted_form(#[case] s: &str) {
        let e = s.parse::<Semester>().unwrap_err().to_string();
        assert!(e.contains(&format!("`{s}`")) && e.contains("YEAR-2"), "{e}");
    }

    #[test]
    fn bounds_are_wib_midnights() {
        let s: Semester = "2026-2".parse().unwrap();
        let (a, b) = s.bounds();
        assert_eq!(a.to_rfc3339(), "2026-06-30T17:00:00+00:00");
        assert_eq!(b.to_rfc3339(), "2026-12-31T17:00:00+00:00");
        assert_eq!(s.period(), "1 Juli – 31 Desember 2026");
        let s: Semester = "2026-1".parse().unwrap();
        assert_eq!(s.period(), "1 Januari – 30 Juni 2026");
        assert_eq!(s.roman(), "I");
    }

    #[rstest]
    #[case(0, "0 detik")]
    #[case(45, "45 detik")]
    #[case(15_120, "4 jam 12 menit")]
    #[case(3600, "1 jam")]
    #[case(86_400 * 2 + 3 * 3600 + 60, "2 hari 3 jam")]
    fn durations_in_words(#[case] s: i64, #[case] words: &str) {
        assert_eq!(duration_words(s), words);
    }

    #[rstest]
    #[case(0, "0")]
    #[case(999, "999")]
    #[case(1000, "1.000")]
    #[case(1_234_567, "1.234.567")]
    fn counts_use_dots(#[case] n: u64, #[case] s: &str) {
        assert_eq!(count(n), s);
    }

    #[test]
    fn dates_and_percentages_in_indonesian() {
        let d = NaiveDate::from_ymd_opt(2027, 1, 18).unwrap();
        assert_eq!(date_with_weekday(d), "Senin, 18 Januari 2027");
        let t: DateTime<Utc> = "2026-08-14T02:05:00Z".parse().unwrap();
        assert_eq!(datetime_wib(t), "14 Agustus 2026 pukul 09.05 WIB");
        assert_eq!(datetime_short(t), "14/08/2026 09.05");
        assert_eq!(percent(199, 200), "99,50%");
        assert_eq!(percent(1, 0), "—");
    }
}
