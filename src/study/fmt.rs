//! Numbers, money, bit rates and dates written the Indonesian way: `1.500.000`, `95,3%`,
//! `Rp2.500.000`, `487,2 Kbps`, `26 November 2026`.

use chrono::{Datelike, NaiveDate};

/// Indonesian month names.
pub const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// Indonesian weekday names, Monday first.
pub const WEEKDAYS: [&str; 7] = [
    "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
];

/// `value` with `decimals` digits after a decimal comma and dots between thousands.
pub fn number(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "-".into();
    }
    let s = format!("{:.*}", decimals, value.abs());
    let (int, frac) = s.split_once('.').unwrap_or((&s, ""));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let negative = value < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    let sign = if negative { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{frac}")
    }
}

/// A whole number with thousands dots.
pub fn int(value: u64) -> String {
    number(value as f64, 0)
}

/// Rupiah: `Rp2.500.000`, negative as `-Rp1.000.000`.
pub fn rupiah(value: i64) -> String {
    let s = int(value.unsigned_abs());
    if value < 0 {
        format!("-Rp{s}")
    } else {
        format!("Rp{s}")
    }
}

/// `number`, without a decimal part of zeros (`70,0` -> `70`).
pub fn short(value: f64, decimals: usize) -> String {
    let s = number(value, decimals);
    match s.split_once(',') {
        Some((int, frac)) if frac.chars().all(|c| c == '0') => int.to_string(),
        _ => s,
    }
}

/// A fraction as a percentage with one decimal: `0.953` -> `95,3%`, `0.7` -> `70%`.
pub fn percent(fraction: f64) -> String {
    format!("{}%", short(fraction * 100.0, 1))
}

/// A bit rate: Kbps under 1 Mbps (one decimal), Mbps above (two decimals); a whole number
/// is written without decimals, as providers write their tiers (`512 Kbps`, `1 Mbps`).
pub fn bitrate(bps: f64) -> String {
    let (v, d, unit) = if bps.abs() >= 1_000_000.0 {
        (bps / 1_000_000.0, 2, "Mbps")
    } else {
        (bps / 1_000.0, 1, "Kbps")
    };
    if !bps.is_finite() {
        return "-".into();
    }
    format!("{} {unit}", short(v, d))
}

/// Milliseconds from seconds, one decimal: `0.0183` -> `18,3 ms`.
pub fn millis(seconds: f64) -> String {
    format!("{} ms", short(seconds * 1000.0, 1))
}

/// `26 November 2026`.
pub fn date(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

/// `Senin, 26 November 2026`.
pub fn date_with_weekday(d: NaiveDate) -> String {
    format!(
        "{}, {}",
        WEEKDAYS[d.weekday().num_days_from_monday() as usize],
        date(d)
    )
}

/// `November 2026`.
pub fn month_year(d: NaiveDate) -> String {
    format!("{} {}", MONTHS[d.month0() as usize], d.year())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(1_500_000.0, 0, "1.500.000")]
    #[case(95.25, 1, "95,2")]
    #[case(999.0, 0, "999")]
    #[case(1000.0, 0, "1.000")]
    #[case(-1234.5, 1, "-1.234,5")]
    #[case(-0.01, 1, "0,0")]
    #[case(0.0, 2, "0,00")]
    fn numbers(#[case] v: f64, #[case] d: usize, #[case] want: &str) {
        assert_eq!(number(v, d), want);
    }

    #[rstest]
    #[case(512_000.0, "512 Kbps")]
    #[case(1_000_000.0, "1 Mbps")]
    #[case(1_500_000.0, "1,50 Mbps")]
    #[case(487_234.0, "487,2 Kbps")]
    fn bitrates(#[case] v: f64, #[case] want: &str) {
        assert_eq!(bitrate(v), want);
    }

    #[test]
    fn money_and_dates() {
        assert_eq!(rupiah(12_000_000), "Rp12.000.000");
        assert_eq!(rupiah(-1_000_000), "-Rp1.000.000");
        let d = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default();
        assert_eq!(date(d), "26 November 2026");
        assert_eq!(date_with_weekday(d), "Kamis, 26 November 2026");
        assert_eq!(percent(0.953), "95,3%");
    }
}
