//! The NIK (Nomor Induk Kependudukan): local format validation only, no IO beyond embedded data.
//!
//! Only Dukcapil decides that a NIK exists; this module refuses what cannot be a NIK so that no
//! quota is spent on it. A [`Nik`] never prints its digits through `Debug` or `Display`; the wire
//! gets them through [`Nik::expose`]. Must not depend on `portal`, `gate` or any IO module.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

pub mod region;

pub use region::Kecamatan;

/// Why a string is not a NIK. Messages name the digits at fault, never their values, because
/// an error may be logged and a log line must not carry a NIK or part of one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not exactly 16 characters.
    #[error("a NIK has exactly 16 digits, this one has {len} characters")]
    Length {
        /// Characters found (after trimming surrounding white space).
        len: usize,
    },
    /// A character that is not an ASCII digit.
    #[error("character {position} of the NIK is not a digit")]
    NotDigit {
        /// 1-based position of the first offending character.
        position: usize,
    },
    /// Digits 1-6 are not a kecamatan code of Kemendagri.
    #[error(
        "digits 1-6 of the NIK (province, regency, kecamatan) are not a Kemendagri kecamatan code"
    )]
    UnknownRegion,
    /// Digits 7-12 are not a birth date.
    #[error(
        "digits 7-12 of the NIK (birth date DDMMYY, day +40 for women) are not a real date: {problem}"
    )]
    BirthDate {
        /// What is wrong with the date.
        problem: DateProblem,
    },
    /// Digits 13-16 are `0000`.
    #[error("digits 13-16 of the NIK (serial) are 0000; serials start at 0001")]
    ZeroSerial,
}

/// What is wrong with the birth-date digits of a NIK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DateProblem {
    /// Day (digits 7-8) is neither 01-31 nor 41-71.
    #[error("the day (digits 7-8) is neither 01-31 nor 41-71")]
    Day,
    /// Month (digits 9-10) is not 01-12.
    #[error("the month (digits 9-10) is not 01-12")]
    Month,
    /// Day and month are in range but the date does not exist (31 April, 30 February).
    #[error("that day does not exist in that month")]
    NoSuchDay,
}

/// Sex as encoded in a NIK's birth day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// Day 01-31.
    Male,
    /// Day 41-71 (40 added).
    Female,
}

/// The birth date of a NIK as written: the century is not encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BirthDate {
    /// Two-digit year.
    pub yy: u8,
    /// Month 1-12.
    pub month: u8,
    /// Day of month 1-31 (40 already removed for women).
    pub day: u8,
}

impl BirthDate {
    /// The full date, taking the latest century that does not put the birth after `today`.
    pub fn resolve(self, today: NaiveDate) -> Option<NaiveDate> {
        use chrono::Datelike;
        let century = today.year() - today.year().rem_euclid(100);
        [century, century - 100]
            .into_iter()
            .filter_map(|c| {
                NaiveDate::from_ymd_opt(c + i32::from(self.yy), self.month.into(), self.day.into())
            })
            .find(|d| *d <= today)
    }
}

/// A NIK that passed every local format rule. Debug and Display are redacted.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nik([u8; 16]);

impl Nik {
    /// Parse and validate; surrounding white space is ignored.
    pub fn parse(input: &str) -> Result<Self, Error> {
        let s = input.trim();
        let len = s.chars().count();
        if let Some(i) = s.chars().position(|c| !c.is_ascii_digit()) {
            return Err(Error::NotDigit { position: i + 1 });
        }
        if len != 16 {
            return Err(Error::Length { len });
        }
        let mut digits = [0u8; 16];
        digits.copy_from_slice(s.as_bytes());
        let nik = Nik(digits);
        if region::kecamatan(nik.prefix()).is_none() {
            return Err(Error::UnknownRegion);
        }
        nik.check_date()?;
        if nik.serial() == 0 {
            return Err(Error::ZeroSerial);
        }
        Ok(nik)
    }

    fn num(&self, from: usize, to: usize) -> u32 {
        self.0[from..to]
            .iter()
            .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
    }

    fn check_date(&self) -> Result<(), Error> {
        let raw_day = self.num(6, 8);
        let day = match raw_day {
            1..=31 => raw_day,
            41..=71 => raw_day - 40,
            _ => {
                return Err(Error::BirthDate {
                    problem: DateProblem::Day,
                });
            }
        };
        let month = self.num(8, 10);
        if !(1..=12).contains(&month) {
            return Err(Error::BirthDate {
                problem: DateProblem::Month,
            });
        }
        let yy = self.num(10, 12) as i32;
        // The century is not written: accept the date if it exists in 19yy or 20yy (29 February 00).
        let exists = [1900, 2000]
            .iter()
            .any(|c| NaiveDate::from_ymd_opt(c + yy, month, day).is_some());
        if !exists {
            return Err(Error::BirthDate {
                problem: DateProblem::NoSuchDay,
            });
        }
        Ok(())
    }

    /// The 16 digits, for the wire and nothing else (never a log line).
    pub fn expose(&self) -> &str {
        // Only ASCII digits are ever stored, checked in `parse`.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Same as [`Nik::expose`].
    pub fn as_str(&self) -> &str {
        self.expose()
    }

    /// Digits 1-6, `PPKKCC`: where the NIK was registered (not the current address).
    pub fn prefix(&self) -> &str {
        self.expose().get(..6).unwrap_or_default()
    }

    /// The kecamatan of the prefix (always present for a parsed NIK).
    pub fn kecamatan(&self) -> Option<&'static Kecamatan> {
        region::kecamatan(self.prefix())
    }

    /// Birth date as written (day with the +40 removed).
    pub fn birth_date(&self) -> BirthDate {
        let raw = self.num(6, 8);
        BirthDate {
            day: (if raw > 40 { raw - 40 } else { raw }) as u8,
            month: self.num(8, 10) as u8,
            yy: self.num(10, 12) as u8,
        }
    }

    /// Sex from the birth day.
    pub fn sex(&self) -> Sex {
        if self.num(6, 8) > 40 {
            Sex::Female
        } else {
            Sex::Male
        }
    }

    /// Digits 13-16 as a number, 1-9999.
    pub fn serial(&self) -> u16 {
        self.num(12, 16) as u16
    }

    /// All 16 digits as a number (for distance and progression checks).
    pub fn as_u64(&self) -> u64 {
        self.0
            .iter()
            .fold(0, |acc, d| acc * 10 + u64::from(d - b'0'))
    }
}

impl FromStr for Nik {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Nik::parse(s)
    }
}

impl TryFrom<&str> for Nik {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self, Error> {
        Nik::parse(s)
    }
}

impl fmt::Debug for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nik(****************)")
    }
}

impl fmt::Display for Nik {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****************")
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests;
