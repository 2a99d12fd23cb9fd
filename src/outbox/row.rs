//! One row of return data: its validation and the reasons a row is refused, worded for people
//! in Bahasa Indonesia with the English alongside. A reason never quotes a NIK.

use crate::nik::{self, DateProblem, Nik};
use crate::portal::AidType;
use crate::topology::BalikanFields;

/// Longest accepted aid recipient ID.
pub const MAX_RECIPIENT_LEN: usize = 64;

/// A row as given (CSV cells or API fields), before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct RawRow {
    /// The NIK as written.
    pub nik: String,
    /// The aid recipient ID as written.
    pub recipient_id: String,
    /// The aid type as written (`PKH`, `pbi`, ... any declared type, any case).
    pub aid: String,
}

/// A row that passed every check of its own (duplicates are checked by the queue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The NIK.
    pub nik: Nik,
    /// The aid recipient ID, trimmed.
    pub recipient_id: String,
    /// The aid type.
    pub aid: AidType,
}

/// Where a record with the same NIK and aid type already is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Held {
    /// Queued, not yet delivered.
    Pending,
    /// Delivered.
    Delivered,
    /// Refused by the service earlier.
    Rejected,
}

/// Why a row is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The NIK cell is empty.
    NikEmpty,
    /// The NIK breaks a format rule.
    Nik(nik::Error),
    /// The aid type cell is empty (the declared types, as `PKH atau PBI`).
    AidEmpty(String),
    /// The aid type is none of the declared ones.
    AidUnknown {
        /// The value, shortened.
        value: String,
        /// The declared types, as `PKH atau PBI`.
        allowed: String,
    },
    /// The recipient ID cell is empty.
    RecipientEmpty,
    /// The recipient ID is longer than [`MAX_RECIPIENT_LEN`].
    RecipientTooLong(usize),
    /// The recipient ID holds a character outside `A-Z a-z 0-9 - _ . /` (1-based position).
    RecipientCharset(usize),
    /// Same NIK and aid type as an earlier row of the same input.
    Duplicate {
        /// Line (CSV) or item number (API) of the first occurrence.
        first: u64,
        /// The recipient IDs differ: not a repeat but a conflict.
        conflict: bool,
    },
    /// A record with the same NIK and aid type is already in the outbox.
    AlreadyHeld {
        /// Its state.
        held: Held,
        /// The recipient IDs differ.
        conflict: bool,
    },
}

fn date_problem_id(p: DateProblem) -> &'static str {
    match p {
        DateProblem::Day => "hari (digit 7-8) bukan 01-31 atau 41-71",
        DateProblem::Month => "bulan (digit 9-10) bukan 01-12",
        DateProblem::NoSuchDay => "tanggal itu tidak ada pada bulan itu",
    }
}

impl Problem {
    /// The reason in Bahasa Indonesia.
    pub fn id(&self) -> String {
        match self {
            Problem::NikEmpty => "NIK kosong".into(),
            Problem::Nik(e) => match e {
                nik::Error::Length { len } => {
                    format!("NIK tidak sesuai format (16 digit): panjang {len}")
                }
                nik::Error::NotDigit { position } => {
                    format!(
                        "NIK tidak sesuai format (16 digit): karakter ke-{position} bukan angka"
                    )
                }
                nik::Error::UnknownRegion => {
                    "NIK tidak sesuai format: digit 1-6 bukan kode kecamatan Kemendagri".into()
                }
                nik::Error::BirthDate { problem } => format!(
                    "NIK tidak sesuai format: digit 7-12 bukan tanggal lahir yang sah ({})",
                    date_problem_id(*problem)
                ),
                nik::Error::ZeroSerial => {
                    "NIK tidak sesuai format: nomor urut (digit 13-16) 0000".into()
                }
            },
            Problem::AidEmpty(allowed) => format!("jenis bantuan kosong (harus {allowed})"),
            Problem::AidUnknown { value, allowed } => {
                format!("jenis bantuan \"{value}\" tidak dikenal (harus {allowed})")
            }
            Problem::RecipientEmpty => "ID penerima kosong".into(),
            Problem::RecipientTooLong(n) => {
                format!("ID penerima terlalu panjang: {n} karakter (maks. {MAX_RECIPIENT_LEN})")
            }
            Problem::RecipientCharset(p) => format!(
                "ID penerima memuat karakter tidak sah pada posisi {p} (hanya huruf, angka, - _ . /)"
            ),
            Problem::Duplicate {
                first,
                conflict: false,
            } => format!("duplikat baris {first} (NIK dan jenis bantuan sama)"),
            Problem::Duplicate {
                first,
                conflict: true,
            } => format!(
                "NIK dan jenis bantuan sama dengan baris {first}, tetapi ID penerima berbeda"
            ),
            Problem::AlreadyHeld { held, conflict } => {
                let where_ = match held {
                    Held::Pending => "sudah ada di antrean (menunggu dikirim)",
                    Held::Delivered => "sudah pernah dikirim",
                    Held::Rejected => "sudah pernah ditolak layanan data balikan",
                };
                if *conflict {
                    format!("NIK dengan jenis bantuan ini {where_} dengan ID penerima lain")
                } else {
                    format!("data ini {where_}")
                }
            }
        }
    }

    /// The reason in English.
    pub fn en(&self) -> String {
        match self {
            Problem::NikEmpty => "the NIK is empty".into(),
            Problem::Nik(e) => e.to_string(),
            Problem::AidEmpty(allowed) => {
                format!(
                    "the aid type is empty ({})",
                    allowed.replace(" atau ", " or ")
                )
            }
            Problem::AidUnknown { allowed, .. } => {
                format!("unknown aid type ({})", allowed.replace(" atau ", " or "))
            }
            Problem::RecipientEmpty => "the recipient ID is empty".into(),
            Problem::RecipientTooLong(n) => {
                format!("the recipient ID has {n} characters, at most {MAX_RECIPIENT_LEN}")
            }
            Problem::RecipientCharset(p) => {
                format!("character {p} of the recipient ID is not allowed")
            }
            Problem::Duplicate {
                first,
                conflict: false,
            } => format!("duplicate of line {first}"),
            Problem::Duplicate {
                first,
                conflict: true,
            } => format!("same NIK and aid type as line {first} with another recipient ID"),
            Problem::AlreadyHeld { held, conflict } => {
                let state = match held {
                    Held::Pending => "already queued",
                    Held::Delivered => "already delivered",
                    Held::Rejected => "already rejected by the service",
                };
                if *conflict {
                    format!("{state} with another recipient ID")
                } else {
                    state.to_owned()
                }
            }
        }
    }

    /// A short stable code, for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::NikEmpty | Problem::Nik(_) => "invalid_nik",
            Problem::AidEmpty(_) | Problem::AidUnknown { .. } => "invalid_aid",
            Problem::RecipientEmpty
            | Problem::RecipientTooLong(_)
            | Problem::RecipientCharset(_) => "invalid_recipient_id",
            Problem::Duplicate { .. } => "duplicate",
            Problem::AlreadyHeld { .. } => "already_held",
        }
    }
}

fn shorten(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(20)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() > 20 {
        out.push('…');
    }
    // A NIK typed into the wrong column must not be echoed back whole.
    crate::portal::answer::shown(&out)
}

/// Check a row on its own against the declared aid types. Every problem of the row is
/// returned, not only the first.
pub fn validate(raw: &RawRow, fields: &BalikanFields) -> Result<Entry, Vec<Problem>> {
    let mut problems = Vec::new();
    let nik_text = raw.nik.trim();
    let nik = if nik_text.is_empty() {
        problems.push(Problem::NikEmpty);
        None
    } else {
        Nik::parse(nik_text)
            .map_err(|e| problems.push(Problem::Nik(e)))
            .ok()
    };
    let recipient = raw.recipient_id.trim();
    let len = recipient.chars().count();
    if recipient.is_empty() {
        problems.push(Problem::RecipientEmpty);
    } else if len > MAX_RECIPIENT_LEN {
        problems.push(Problem::RecipientTooLong(len));
    } else if let Some(p) = recipient
        .chars()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
    {
        problems.push(Problem::RecipientCharset(p + 1));
    }
    let aid_text = raw.aid.trim();
    let aid = if aid_text.is_empty() {
        problems.push(Problem::AidEmpty(fields.aid_list()));
        None
    } else {
        let a = fields.aid(aid_text).and_then(AidType::new);
        if a.is_none() {
            problems.push(Problem::AidUnknown {
                value: shorten(aid_text),
                allowed: fields.aid_list(),
            });
        }
        a
    };
    match (nik, aid) {
        (Some(nik), Some(aid)) if problems.is_empty() => Ok(Entry {
            nik,
            recipient_id: recipient.to_owned(),
            aid,
        }),
        _ => Err(problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn raw(nik: &str, rid: &str, aid: &str) -> RawRow {
        RawRow {
            nik: nik.into(),
            recipient_id: rid.into(),
            aid: aid.into(),
        }
    }

    const GOOD: &str = "3204051201900001";

    #[rstest]
    #[case::ok(GOOD, "PKH-001", "pkh", None)]
    #[case::short_nik("320405120190001", "PKH-001", "PKH", Some("invalid_nik"))]
    #[case::letter_nik("32040512019O0001", "PKH-001", "PKH", Some("invalid_nik"))]
    #[case::empty_nik(" ", "PKH-001", "PKH", Some("invalid_nik"))]
    #[case::aid(GOOD, "PKH-001", "BLT", Some("invalid_aid"))]
    #[case::aid_empty(GOOD, "PKH-001", "", Some("invalid_aid"))]
    #[case::rid_empty(GOOD, "", "PBI", Some("invalid_recipient_id"))]
    #[case::rid_charset(GOOD, "ab cd", "PBI", Some("invalid_recipient_id"))]
    #[case::rid_long(GOOD, &"x".repeat(65), "PBI", Some("invalid_recipient_id"))]
    fn one_field(
        #[case] nik: &str,
        #[case] rid: &str,
        #[case] aid: &str,
        #[case] code: Option<&str>,
    ) {
        let got = validate(&raw(nik, rid, aid), &BalikanFields::default());
        match code {
            None => assert!(got.is_ok(), "{got:?}"),
            Some(c) => {
                let problems = got.err().unwrap_or_default();
                assert_eq!(problems.len(), 1, "{problems:?}");
                assert_eq!(problems[0].code(), c);
            }
        }
    }

    #[test]
    fn every_problem_of_a_row_is_listed() {
        let problems = validate(&raw("123", "", "bansos"), &BalikanFields::default())
            .err()
            .unwrap_or_default();
        let codes: Vec<_> = problems.iter().map(Problem::code).collect();
        assert_eq!(
            codes,
            ["invalid_nik", "invalid_recipient_id", "invalid_aid"]
        );
    }

    #[test]
    fn length_reason_reads_as_specified() {
        let p = validate(
            &raw("320405120190001", "A1", "PKH"),
            &BalikanFields::default(),
        )
        .err()
        .unwrap_or_default();
        assert_eq!(p[0].id(), "NIK tidak sesuai format (16 digit): panjang 15");
    }

    #[test]
    fn a_declared_aid_type_passes_and_the_reason_names_the_declared_ones() {
        let fields = BalikanFields {
            aid_types: vec!["BPNT".into(), "PKH".into(), "BLT-DD".into()],
            ..BalikanFields::default()
        };
        let ok = validate(&raw(GOOD, "K-1", "blt-dd"), &fields);
        assert_eq!(
            ok.map(|e| e.aid.as_str().to_owned()),
            Ok("BLT-DD".to_owned())
        );
        let p = validate(&raw(GOOD, "K-1", "PBI"), &fields)
            .err()
            .unwrap_or_default();
        assert_eq!(
            p[0].id(),
            "jenis bantuan \"PBI\" tidak dikenal (harus BPNT, PKH atau BLT-DD)"
        );
    }
}
