//! The import report: what was read, what was queued, and every refused row with its line and
//! why, for a person (text, Bahasa Indonesia with English alongside) and for programs (JSON).

use std::fmt;

use serde::Serialize;

use super::row::Problem;

/// How rows are numbered: CSV lines or API items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Line of the file (the header is line 1).
    Line,
    /// 1-based position in the JSON array.
    Item,
}

impl Unit {
    fn word(self) -> &'static str {
        match self {
            Unit::Line => "baris",
            Unit::Item => "data ke-",
        }
    }
}

/// One refused row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowRejection {
    /// Its line (CSV) or item number (API).
    pub line: u64,
    /// Every problem found in it.
    pub problems: Vec<Problem>,
}

/// A fault in the file's structure (quoting, column count, header, encoding): nothing of the
/// file is imported when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    /// Line where it was found (0: the file as a whole).
    pub line: u64,
    /// In Bahasa Indonesia.
    pub message: String,
    /// In English.
    pub message_en: String,
}

/// The outcome of one import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// File name or `api`.
    pub source: String,
    /// How rows are numbered.
    pub unit: Unit,
    /// Data rows read (header excluded).
    pub rows_read: u64,
    /// Rows queued.
    pub accepted: u64,
    /// Rows refused, by line.
    pub rejected: Vec<RowRejection>,
    /// Structural faults; when any, nothing was imported.
    pub broken: Vec<Broken>,
    /// Columns that were present but not used (never stored).
    pub ignored_columns: Vec<String>,
}

impl ImportReport {
    /// An empty report.
    pub fn new(source: &str, unit: Unit) -> Self {
        ImportReport {
            source: source.to_owned(),
            unit,
            rows_read: 0,
            accepted: 0,
            rejected: Vec::new(),
            broken: Vec::new(),
            ignored_columns: Vec::new(),
        }
    }

    /// Whether every row was queued.
    pub fn is_clean(&self) -> bool {
        self.broken.is_empty() && self.rejected.is_empty()
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Impor data balikan: {}", self.source)?;
        if !self.broken.is_empty() {
            writeln!(
                f,
                "Berkas CSV rusak: tidak ada baris yang diimpor. Perbaiki lalu impor ulang seluruh berkas."
            )?;
            writeln!(
                f,
                "(The CSV file is broken: nothing was imported. Fix it and import the whole file again.)"
            )?;
            for b in &self.broken {
                if b.line == 0 {
                    writeln!(f, "  berkas: {} ({})", b.message, b.message_en)?;
                } else {
                    writeln!(f, "  baris {}: {} ({})", b.line, b.message, b.message_en)?;
                }
            }
            return Ok(());
        }
        writeln!(
            f,
            "Dibaca {} baris data; {} diterima dan masuk antrean, {} ditolak.",
            self.rows_read,
            self.accepted,
            self.rejected.len()
        )?;
        writeln!(
            f,
            "(Read {} data rows; {} accepted and queued, {} refused.)",
            self.rows_read,
            self.accepted,
            self.rejected.len()
        )?;
        if !self.ignored_columns.is_empty() {
            writeln!(
                f,
                "Kolom diabaikan (tidak disimpan): {} (ignored columns, not stored)",
                self.ignored_columns.join(", ")
            )?;
        }
        if !self.rejected.is_empty() {
            writeln!(f, "Baris yang ditolak (refused rows):")?;
        }
        let word = self.unit.word();
        let sep = if self.unit == Unit::Line { " " } else { "" };
        for r in &self.rejected {
            for p in &r.problems {
                writeln!(f, "  {word}{sep}{}: {} ({})", r.line, p.id(), p.en())?;
            }
        }
        if !self.rejected.is_empty() && self.accepted > 0 {
            writeln!(
                f,
                "Perbaiki baris yang ditolak lalu impor hanya baris-baris itu; baris yang diterima sudah masuk antrean."
            )?;
            writeln!(
                f,
                "(Fix the refused rows and import only those; the accepted rows are already queued.)"
            )?;
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct ReasonJson {
    code: &'static str,
    message: String,
    message_en: String,
}

#[derive(Serialize)]
struct RejectionJson {
    line: u64,
    reasons: Vec<ReasonJson>,
}

#[derive(Serialize)]
struct ReportJson<'a> {
    source: &'a str,
    unit: Unit,
    rows_read: u64,
    accepted: u64,
    rejected_count: usize,
    rejected: Vec<RejectionJson>,
    broken: &'a [Broken],
    ignored_columns: &'a [String],
}

impl Serialize for ImportReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ReportJson {
            source: &self.source,
            unit: self.unit,
            rows_read: self.rows_read,
            accepted: self.accepted,
            rejected_count: self.rejected.len(),
            rejected: self
                .rejected
                .iter()
                .map(|r| RejectionJson {
                    line: r.line,
                    reasons: r
                        .problems
                        .iter()
                        .map(|p| ReasonJson {
                            code: p.code(),
                            message: p.id(),
                            message_en: p.en(),
                        })
                        .collect(),
                })
                .collect(),
            broken: &self.broken,
            ignored_columns: &self.ignored_columns,
        }
        .serialize(s)
    }
}
