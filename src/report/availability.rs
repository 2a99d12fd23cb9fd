//! Monthly availability of each path and contracted link, for SLA claims with the provider
//! (`juknis report availability --month 2026-11`, the dashboard's Riwayat), and the CSV exports
//! of availability, incidents and measurements that open cleanly in Excel.
//!
//! [`Month`], [`Monthly::text`] and the CSV writers are pure; [`gather`] reads the store
//! read-only. Availability is what the probes saw (successful rounds over rounds, from the
//! hourly rollups, as in the semester report); where nothing was measured the text says "tidak
//! dapat ditentukan" instead of a figure. Down time is the path incidents' time in the month.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

use super::calendar::{self, datetime_short, month_name, wib_midnight};
use super::gather::{self, Error, STORE_FILE};
use super::semester::{Availability, Subject};
use crate::store::{Rollup, Store};
use crate::topology::maintenance::{self, Subject as Sub};
use crate::topology::{PathId, Topology};

/// Rollup resolution the month is read from (hourly rollups are kept two years).
const HOUR: i64 = 3600;

/// A calendar month in WIB: "2026-11".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Month {
    year: i32,
    month: u32,
}

/// Why a month was not understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("bulan {0:?} tidak dikenal: tulis TAHUN-BULAN, misalnya 2026-11")]
pub struct MonthError(String);

impl Month {
    pub fn new(year: i32, month: u32) -> Result<Month, MonthError> {
        NaiveDate::from_ymd_opt(year, month, 1)
            .filter(|_| (2000..=9999).contains(&year))
            .map(|_| Month { year, month })
            .ok_or_else(|| MonthError(format!("{year}-{month:02}")))
    }

    /// The month an instant falls in, in WIB.
    pub fn of(t: DateTime<Utc>) -> Month {
        let d = calendar::wib_day(t);
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    /// The month before this one.
    pub fn previous(self) -> Month {
        match self.month {
            1 => Month {
                year: self.year - 1,
                month: 12,
            },
            m => Month {
                year: self.year,
                month: m - 1,
            },
        }
    }

    fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    /// `[first WIB midnight, next month's first WIB midnight)`.
    pub fn bounds(self) -> (DateTime<Utc>, DateTime<Utc>) {
        let next = match self.month {
            12 => NaiveDate::from_ymd_opt(self.year + 1, 1, 1),
            m => NaiveDate::from_ymd_opt(self.year, m + 1, 1),
        }
        .unwrap_or(NaiveDate::MAX);
        (wib_midnight(self.first_day()), wib_midnight(next))
    }

    /// "November 2026".
    pub fn name(self) -> String {
        format!("{} {}", month_name(self.month), self.year)
    }
}

impl FromStr for Month {
    type Err = MonthError;

    fn from_str(s: &str) -> Result<Month, MonthError> {
        let bad = || MonthError(s.to_owned());
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let ok = y.len() == 4 && (1..=2).contains(&m.len());
        let year = y.parse().ok().filter(|_| ok).ok_or_else(bad)?;
        let month = m.parse().map_err(|_| bad())?;
        Month::new(year, month).map_err(|_| bad())
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}", self.year, self.month)
    }
}

/// One path or link in a month.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub availability: Availability,
    /// Seconds the path was down (its incidents in state `down`) within the month, outside its
    /// maintenance windows; `None` for links, which have no incidents of their own.
    pub down_s: Option<i64>,
    /// Seconds it was degraded (outside maintenance windows).
    pub degraded_s: Option<i64>,
    /// Seconds of declared maintenance windows in the month (planned work, counted apart).
    pub planned_s: i64,
    /// Incidents that overlap the month.
    pub incidents: Option<usize>,
}

impl Row {
    /// Successful rounds over rounds, in percent; `None` when nothing was measured.
    pub fn percent(&self) -> Option<f64> {
        let a = &self.availability;
        (a.rounds > 0).then(|| a.ok_rounds as f64 * 100.0 / a.rounds as f64)
    }

    /// Why there is no figure, in Indonesian.
    pub fn why_none(&self) -> Option<&'static str> {
        let a = &self.availability;
        match (a.rounds, &a.measured_at) {
            (0, None) => Some("tidak dapat ditentukan: tidak ada probe pada jalur atau tautan ini"),
            (0, Some(_)) => {
                Some("tidak dapat ditentukan: belum ada hasil pemantauan pada bulan ini")
            }
            _ => None,
        }
    }
}

/// One incident of a path, clipped to the month.
#[derive(Clone, Debug, PartialEq)]
pub struct MonthIncident {
    pub path: String,
    pub state: String,
    pub reason: String,
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
    /// Seconds inside the month (to now for an open one).
    pub within_s: i64,
}

/// A month's availability, incidents and hourly measurements.
#[derive(Clone, Debug, PartialEq)]
pub struct Monthly {
    pub month: Month,
    /// The part of the month looked at: its start to its end, or to now in the current month.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub rows: Vec<Row>,
    pub incidents: Vec<MonthIncident>,
    pub measurements: Vec<Rollup>,
}

/// Gather `month` as of `now` from the state dir, read-only. A state dir without a store gives
/// rows without figures, not an error.
pub fn gather(
    t: &Topology,
    state_dir: &Path,
    month: Month,
    now: DateTime<Utc>,
) -> Result<Monthly, Error> {
    if !state_dir.is_dir() {
        return Err(Error::NoStateDir(state_dir.to_path_buf()));
    }
    let mut with_made = t.clone();
    gather::add_made_windows(&mut with_made, state_dir)?;
    let t = &with_made;
    let (from, end) = month.bounds();
    let to = end.min(now).max(from);
    let (from_s, to_s) = (from.timestamp(), to.timestamp());
    let (availability, _) = gather::network(t, state_dir, from_s, to_s)?;
    let db = state_dir.join(STORE_FILE);
    let store = if db.exists() {
        let s = Store::open_read_only(&db)?;
        (s.version()? >= 1).then_some(s)
    } else {
        None
    };
    let mut incidents = Vec::new();
    let mut measurements = Vec::new();
    if let Some(s) = &store {
        for i in s.incidents_overlapping(from_s, to_s)? {
            let ended = i.ended_s.unwrap_or(to_s).min(to_s);
            let at = |s: i64| Utc.timestamp_opt(s, 0).single().unwrap_or_default();
            incidents.push(MonthIncident {
                within_s: (ended - i.started_s.max(from_s)).max(0),
                path: i.subject,
                state: i.state,
                reason: i.reason,
                started: at(i.started_s),
                ended: i.ended_s.map(at),
            });
        }
        for n in &t.nodes {
            for p in &n.probes {
                measurements.extend(s.rollups(HOUR, n.id.as_str(), p, from_s, to_s)?);
            }
        }
        measurements.sort_by(|a, b| {
            (a.bucket_s, &a.node, &a.profile).cmp(&(b.bucket_s, &b.node, &b.profile))
        });
    }
    let rows = availability
        .into_iter()
        .map(|a| {
            let path = (a.subject == Subject::Path && t.path(&PathId::new(a.id.clone())).is_some())
                .then(|| {
                    incidents
                        .iter()
                        .filter(|i| i.path == a.id)
                        .collect::<Vec<_>>()
                });
            let windows = t.maintenance.planned(t, Sub::Path(&a.id), from, to);
            let sum = |state: &str| {
                path.as_ref().map(|is| {
                    is.iter()
                        .filter(|i| i.state == state)
                        .map(|i| {
                            let start = i.started.timestamp().max(from_s);
                            let end = start + i.within_s;
                            i.within_s - maintenance::overlap_s(&windows, start, end)
                        })
                        .sum()
                })
            };
            Row {
                down_s: sum("down"),
                degraded_s: sum("degraded"),
                planned_s: a.planned_s,
                incidents: path.as_ref().map(Vec::len),
                availability: a,
            }
        })
        .collect();
    Ok(Monthly {
        month,
        from,
        to,
        rows,
        incidents,
        measurements,
    })
}

impl Monthly {
    /// The month as a plain-text table, in Indonesian.
    pub fn text(&self) -> String {
        let mut out = format!(
            "Ketersediaan jalur dan tautan, {} (WIB)\nPeriode: {} s.d. {}\n\
             Ketersediaan = putaran pemantauan berhasil / seluruh putaran (rollup per jam); \
             jam yang bersinggungan dengan pemeliharaan terjadwal tidak dihitung.\n\n",
            self.month.name(),
            datetime_short(self.from),
            datetime_short(self.to),
        );
        for r in &self.rows {
            let a = &r.availability;
            let kind = match a.subject {
                Subject::Path => "Jalur",
                Subject::Link => "Tautan",
            };
            out.push_str(&format!("{kind} {}: ", a.name));
            match (r.percent(), r.why_none()) {
                (Some(p), _) => out.push_str(&format!(
                    "{}% ({} dari {} putaran berhasil, diukur di {})",
                    calendar::decimal(p, 2),
                    calendar::count(a.ok_rounds),
                    calendar::count(a.rounds),
                    a.measured_at.as_deref().unwrap_or("-"),
                )),
                (None, Some(why)) => out.push_str(why),
                (None, None) => out.push('-'),
            }
            if let (Some(down), Some(n)) = (r.down_s, r.incidents) {
                out.push_str(&format!(
                    "; terputus {} dalam {} gangguan",
                    calendar::duration_words(down),
                    n
                ));
            }
            if r.planned_s > 0 {
                out.push_str(&format!(
                    "; pemeliharaan terjadwal {} (tidak dihitung)",
                    calendar::duration_words(r.planned_s)
                ));
            }
            out.push('\n');
        }
        if self.incidents.is_empty() {
            out.push_str("\nTidak ada gangguan tercatat pada bulan ini.\n");
        } else {
            out.push_str("\nGangguan:\n");
            for i in &self.incidents {
                out.push_str(&format!(
                    "- {} {} sejak {}{}: {}\n",
                    i.path,
                    state_name(&i.state),
                    datetime_short(i.started),
                    i.ended
                        .map(|e| format!(" sampai {}", datetime_short(e)))
                        .unwrap_or_else(|| " (masih berlangsung)".to_owned()),
                    i.reason,
                ));
            }
        }
        out
    }

    /// Availability as CSV.
    pub fn availability_csv(&self, sep: Separator) -> Result<Vec<u8>, csv::Error> {
        let mut w = sep.writer();
        w.write_record([
            "Jenis",
            "ID",
            "Nama",
            "Diukur di",
            "Putaran",
            "Putaran berhasil",
            "Ketersediaan (%)",
            "Terputus (menit)",
            "Menurun (menit)",
            "Pemeliharaan (menit)",
            "Jumlah gangguan",
            "Keterangan",
        ])?;
        for r in &self.rows {
            let a = &r.availability;
            let minutes = |s: Option<i64>| {
                s.map(|s| sep.number(s as f64 / 60.0, 1))
                    .unwrap_or_default()
            };
            w.write_record([
                match a.subject {
                    Subject::Path => "Jalur".to_owned(),
                    Subject::Link => "Tautan".to_owned(),
                },
                text_cell(&a.id),
                text_cell(&a.name),
                text_cell(a.measured_at.as_deref().unwrap_or("")),
                a.rounds.to_string(),
                a.ok_rounds.to_string(),
                r.percent().map(|p| sep.number(p, 3)).unwrap_or_default(),
                minutes(r.down_s),
                minutes(r.degraded_s),
                sep.number(r.planned_s as f64 / 60.0, 1),
                r.incidents.map(|n| n.to_string()).unwrap_or_default(),
                r.why_none().unwrap_or("").to_owned(),
            ])?;
        }
        finish(w)
    }

    /// The month's incidents as CSV.
    pub fn incidents_csv(&self, sep: Separator) -> Result<Vec<u8>, csv::Error> {
        let mut w = sep.writer();
        w.write_record([
            "Jalur",
            "Status",
            "Penyebab",
            "Mulai (WIB)",
            "Selesai (WIB)",
            "Durasi dalam bulan (menit)",
        ])?;
        for i in &self.incidents {
            w.write_record([
                text_cell(&i.path),
                state_name(&i.state).to_owned(),
                text_cell(&i.reason),
                excel_time(i.started),
                i.ended.map(excel_time).unwrap_or_default(),
                sep.number(i.within_s as f64 / 60.0, 1),
            ])?;
        }
        finish(w)
    }

    /// The month's hourly measurements of every probed target as CSV.
    pub fn measurements_csv(&self, sep: Separator) -> Result<Vec<u8>, csv::Error> {
        let mut w = sep.writer();
        w.write_record([
            "Jam (WIB)",
            "Simpul",
            "Profil",
            "Putaran",
            "Putaran berhasil",
            "RTT median (ms)",
            "RTT p90 (ms)",
            "Rugi paket (%)",
            "Jitter (ms)",
            "Bandwidth (Kbps)",
        ])?;
        let ms = |v: Option<f64>| v.map(|v| sep.number(v * 1000.0, 2)).unwrap_or_default();
        for r in &self.measurements {
            let at = Utc
                .timestamp_opt(r.bucket_s, 0)
                .single()
                .unwrap_or_default();
            w.write_record([
                excel_time(at),
                text_cell(&r.node),
                text_cell(&r.profile),
                r.rounds.to_string(),
                r.ok_rounds.to_string(),
                ms(r.rtt_p50_s),
                ms(r.rtt_p90_s),
                r.loss_mean
                    .map(|v| sep.number(v * 100.0, 2))
                    .unwrap_or_default(),
                ms(r.jitter_mean_s),
                r.bandwidth_mean_bps
                    .map(|v| sep.number(v / 1000.0, 1))
                    .unwrap_or_default(),
            ])?;
        }
        finish(w)
    }
}

/// The Indonesian name of an incident state.
fn state_name(state: &str) -> &str {
    match state {
        "down" => "Terputus",
        "degraded" => "Menurun",
        "unknown" => "Tidak diketahui",
        s => s,
    }
}

/// The CSV flavour: Excel on an Indonesian (or other comma-decimal) locale opens `;` files with
/// decimal commas; elsewhere `,` files with decimal points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Separator {
    #[default]
    Semicolon,
    Comma,
}

impl FromStr for Separator {
    type Err = String;

    fn from_str(s: &str) -> Result<Separator, String> {
        match s {
            ";" | "semicolon" | "titik-koma" => Ok(Separator::Semicolon),
            "," | "comma" | "koma" => Ok(Separator::Comma),
            other => Err(format!(
                "pemisah {other:?} tidak dikenal: pakai `;` (semicolon) atau `,` (comma)"
            )),
        }
    }
}

impl Separator {
    fn writer(self) -> csv::Writer<Vec<u8>> {
        let mut out = Vec::with_capacity(4096);
        // The byte-order mark tells Excel the file is UTF-8 ("Pemeliharaan", "—").
        out.extend_from_slice("\u{feff}".as_bytes());
        csv::WriterBuilder::new()
            .delimiter(match self {
                Separator::Semicolon => b';',
                Separator::Comma => b',',
            })
            .terminator(csv::Terminator::CRLF)
            .from_writer(out)
    }

    /// A number with `places` decimals, in the separator's locale.
    pub fn number(self, v: f64, places: usize) -> String {
        match self {
            Separator::Semicolon => calendar::decimal(v, places),
            Separator::Comma => format!("{v:.places$}"),
        }
    }
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>, csv::Error> {
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// A date and time Excel reads as one: "2026-11-03 14:05" in WIB.
fn excel_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono_tz::Asia::Jakarta)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Free text that a spreadsheet must not take for a formula (names and reasons come from the
/// topology and verdicts, but a cell starting with `=`, `+`, `-` or `@` runs in Excel).
fn text_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests;
