//! The CSV reader of data balikan files as spreadsheets export them: a header row with the
//! column names in Indonesian or English, `,`, `;` or tab as separator, an optional UTF-8 BOM.
//!
//! Structure is checked before any row is validated: a quote left open, a row with the wrong
//! number of columns, a missing column or text that is not UTF-8 is reported with its line, and
//! then nothing of the file is imported.

use super::report::Broken;
use super::row::RawRow;
use crate::topology::BalikanFields;

/// Accepted header names, compared lower-case with everything but letters and digits removed.
const NIK_NAMES: &[&str] = &["nik", "noinduk", "nomorinduk", "nomorindukkependudukan"];
const RECIPIENT_NAMES: &[&str] = &[
    "idpenerima",
    "nopenerima",
    "nomorpenerima",
    "kodepenerima",
    "penerimaid",
    "recipientid",
    "recipient",
    "beneficiaryid",
];
const AID_NAMES: &[&str] = &[
    "jenisbantuan",
    "bantuan",
    "programbantuan",
    "program",
    "jenis",
    "aidtype",
    "aid",
];

/// A file whose structure is sound: its data rows, numbered by line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// Data rows with the line each starts on (the header is line 1).
    pub rows: Vec<(u64, RawRow)>,
    /// Columns present but not used.
    pub ignored_columns: Vec<String>,
}

fn norm(h: &str) -> String {
    h.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn broken(line: u64, id: impl Into<String>, en: impl Into<String>) -> Broken {
    Broken {
        line,
        message: id.into(),
        message_en: en.into(),
    }
}

/// The separator: whichever of `;`, `,` and tab is most frequent on the first line.
fn separator(text: &[u8]) -> u8 {
    let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |c: u8| first.iter().filter(|b| **b == c).count();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|c| (count(*c), *c == b','))
        .unwrap_or(b',')
}

fn separator_name(sep: u8) -> &'static str {
    match sep {
        b';' => "titik koma (;)",
        b'\t' => "tab",
        _ => "koma (,)",
    }
}

struct Columns {
    nik: usize,
    recipient: usize,
    aid: usize,
    width: usize,
}

/// `names` and the topology's own key for the column (`NO_KPM` reads as `nokpm`).
fn with_key(names: &[&str], key: &str) -> Vec<String> {
    let mut all: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let key = norm(key);
    if !all.contains(&key) {
        all.insert(0, key);
    }
    all
}

fn header(cells: &[String], fields: &BalikanFields) -> Result<(Columns, Vec<String>), Vec<Broken>> {
    let mut problems = Vec::new();
    if cells
        .first()
        .is_some_and(|c| c.trim().len() == 16 && c.trim().chars().all(|c| c.is_ascii_digit()))
    {
        return Err(vec![broken(
            1,
            "baris 1 berisi data, bukan judul kolom; tambahkan baris judul seperti nik,id_penerima,jenis_bantuan",
            "line 1 holds data, not column names; add a header such as nik,id_penerima,jenis_bantuan",
        )]);
    }
    let find = |names: &[String], what_id: &str, what_en: &str, problems: &mut Vec<Broken>| {
        let hits: Vec<usize> = cells
            .iter()
            .enumerate()
            .filter(|(_, c)| names.contains(&norm(c)))
            .map(|(i, _)| i)
            .collect();
        match hits.as_slice() {
            [one] => Some(*one),
            [] => {
                problems.push(broken(
                    1,
                    format!(
                        "kolom {what_id} tidak ada; nama yang diterima: {}",
                        names.join(", ")
                    ),
                    format!("no {what_en} column; accepted names: {}", names.join(", ")),
                ));
                None
            }
            _ => {
                problems.push(broken(
                    1,
                    format!("kolom {what_id} muncul lebih dari sekali"),
                    format!("more than one {what_en} column"),
                ));
                None
            }
        }
    };
    let nik = find(&with_key(NIK_NAMES, "NIK"), "NIK", "NIK", &mut problems);
    let recipient = find(
        &with_key(RECIPIENT_NAMES, &fields.recipient_key),
        "ID penerima",
        "recipient ID",
        &mut problems,
    );
    let aid = find(
        &with_key(AID_NAMES, &fields.aid_key),
        "jenis bantuan",
        "aid type",
        &mut problems,
    );
    match (nik, recipient, aid) {
        (Some(nik), Some(recipient), Some(aid)) => {
            let ignored = cells
                .iter()
                .enumerate()
                .filter(|(i, c)| ![nik, recipient, aid].contains(i) && !c.trim().is_empty())
                .map(|(_, c)| c.trim().to_owned())
                .collect();
            Ok((
                Columns {
                    nik,
                    recipient,
                    aid,
                    width: cells.len(),
                },
                ignored,
            ))
        }
        _ => Err(problems),
    }
}

/// Line numbers from byte offsets: the reader's own count lags by one after a CRLF, because it
/// consumes the LF only when it starts the next record.
///
/// A line ends where the reader ends a record: at LF, CRLF, or a CR alone (the line end of
/// "CSV (Macintosh)" exports); counting only LFs numbered every row of such a file as line 1.
struct Lines<'a> {
    text: &'a [u8],
    /// Offset of the last byte of each line end.
    newlines: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a [u8]) -> Self {
        let newlines = text
            .iter()
            .enumerate()
            .filter(|(i, b)| match b {
                b'\n' => true,
                b'\r' => text.get(i + 1) != Some(&b'\n'),
                _ => false,
            })
            .map(|(i, _)| i)
            .collect();
        Lines { text, newlines }
    }

    /// The 1-based line of the first byte at or after `offset` that is not a line end.
    fn line_at(&self, offset: u64) -> u64 {
        let mut at = usize::try_from(offset).unwrap_or(usize::MAX);
        while self
            .text
            .get(at)
            .is_some_and(|b| matches!(b, b'\r' | b'\n'))
        {
            at += 1;
        }
        self.newlines.partition_point(|nl| *nl < at) as u64 + 1
    }
}

/// Read a CSV file's bytes; besides the usual names, the columns may be headed by the
/// topology's own `param` keys. `Err` lists every structural fault found.
pub fn read(bytes: &[u8], fields: &BalikanFields) -> Result<Parsed, Vec<Broken>> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(vec![broken(0, "berkas kosong", "the file is empty")]);
    }
    let sep = separator(text);
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(sep)
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut problems = Vec::new();
    let mut columns: Option<Columns> = None;
    let mut parsed = Parsed::default();
    let mut record = ::csv::ByteRecord::new();
    let lines = Lines::new(text);
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let at = e.position().map_or(line, |p| lines.line_at(p.byte()));
                problems.push(broken(
                    at,
                    format!("CSV tidak dapat dibaca: {e}"),
                    format!("unreadable CSV: {e}"),
                ));
                break;
            }
        }
        let line = record.position().map_or(line, |p| lines.line_at(p.byte()));
        let mut cells = Vec::with_capacity(record.len());
        let mut bad_text = false;
        for field in &record {
            match std::str::from_utf8(field) {
                Ok(s) => cells.push(s.to_owned()),
                Err(_) => {
                    bad_text = true;
                    cells.push(String::new());
                }
            }
        }
        if bad_text {
            problems.push(broken(
                line,
                "teks bukan UTF-8; simpan ulang sebagai \"CSV UTF-8\"",
                "text is not UTF-8; save again as \"CSV UTF-8\"",
            ));
            continue;
        }
        if cells.iter().any(|c| c.contains(['\n', '\r'])) {
            problems.push(broken(
                line,
                "tanda kutip (\") dibuka tetapi tidak ditutup, sehingga baris-baris berikutnya terbaca sebagai satu sel",
                "a quote (\") is opened and never closed, so the following lines read as one cell",
            ));
            continue;
        }
        let Some(cols) = &columns else {
            match header(&cells, fields) {
                Ok((c, ignored)) => {
                    parsed.ignored_columns = ignored;
                    columns = Some(c);
                }
                Err(mut p) => {
                    problems.append(&mut p);
                    // Without a header nothing else can be checked meaningfully.
                    return Err(problems);
                }
            }
            continue;
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            // Spreadsheets export trailing empty rows such as ";;".
            continue;
        }
        if cells.len() != cols.width {
            problems.push(broken(
                line,
                format!(
                    "{} kolom, seharusnya {} seperti baris judul (pemisah: {}); periksa pemisah atau tanda kutip",
                    cells.len(),
                    cols.width,
                    separator_name(sep)
                ),
                format!(
                    "{} columns where the header has {}; check separators and quotes",
                    cells.len(),
                    cols.width
                ),
            ));
            continue;
        }
        let cell = |i: usize| cells.get(i).cloned().unwrap_or_default();
        parsed.rows.push((
            line,
            RawRow {
                nik: cell(cols.nik),
                recipient_id: cell(cols.recipient),
                aid: cell(cols.aid),
            },
        ));
    }
    if columns.is_none() && problems.is_empty() {
        problems.push(broken(0, "tidak ada baris judul", "no header row"));
    }
    if problems.is_empty() {
        Ok(parsed)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader with the documented keys.
    fn read(bytes: &[u8]) -> Result<Parsed, Vec<Broken>> {
        super::read(bytes, &BalikanFields::default())
    }

    #[test]
    fn the_topologys_own_keys_head_the_columns() {
        let fields = BalikanFields {
            recipient_key: "NO_KPM".into(),
            aid_key: "PROGRAM_BANSOS".into(),
            aid_types: vec!["BPNT".into()],
        };
        let p = super::read(
            b"nik;NO_KPM;PROGRAM_BANSOS\n3204051201900001;K-1;bpnt\n",
            &fields,
        )
        .unwrap_or_default();
        assert_eq!(p.rows.len(), 1, "{p:?}");
        assert_eq!(p.rows[0].1.recipient_id, "K-1");
        assert_eq!(p.rows[0].1.aid, "bpnt");
        // Without the declaration the same file has no recipient column.
        let e = read(b"nik;NO_KPM;PROGRAM_BANSOS\n3204051201900001;K-1;bpnt\n")
            .err()
            .unwrap_or_default();
        assert!(e.iter().any(|b| b.message.contains("ID penerima")), "{e:?}");
    }

    #[test]
    fn semicolons_bom_and_english_names() {
        let p =
            read(b"\xEF\xBB\xBFNIK;Recipient ID;Aid Type;Nama\r\n3204051201900001;A-1;pkh;X\r\n")
                .unwrap_or_default();
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.rows[0].0, 2);
        assert_eq!(p.rows[0].1.aid, "pkh");
        assert_eq!(p.ignored_columns, ["Nama"]);
    }

    #[test]
    fn unclosed_quote_is_found() {
        let e = read(b"nik,id_penerima,jenis_bantuan\n1,\"A,PKH\n2,B,PBI\n")
            .err()
            .unwrap_or_default();
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].line, 2);
    }

    proptest::proptest! {
        /// Whatever a spreadsheet writes (quotes, separators inside cells), the reader gives
        /// the same cells back, each row with its line.
        #[test]
        fn reads_back_what_a_csv_writer_wrote(
            rows in proptest::collection::vec(
                ("x[a-zA-Z0-9 ;,\"'.-]{0,12}", "[a-zA-Z0-9 ;,\"'.-]{0,12}", "[a-zA-Z ;,\"]{0,5}"),
                0..20,
            ),
            semicolon in proptest::bool::ANY,
        ) {
            let sep = if semicolon { b';' } else { b',' };
            let mut w = ::csv::WriterBuilder::new().delimiter(sep).from_writer(Vec::new());
            w.write_record(["nik", "id_penerima", "jenis_bantuan"]).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            for (a, b, c) in &rows {
                w.write_record([a, b, c]).map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            }
            let bytes = w.into_inner().map_err(|e| proptest::test_runner::TestCaseError::fail(e.to_string()))?;
            let parsed = read(&bytes).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e:?}")))?;
            proptest::prop_assert_eq!(parsed.rows.len(), rows.len());
            for (i, ((line, raw), (a, b, c))) in parsed.rows.iter().zip(&rows).enumerate() {
                proptest::prop_assert_eq!(*line, i as u64 + 2);
                proptest::prop_assert_eq!(&raw.nik, a);
                proptest::prop_assert_eq!(&raw.recipient_id, b);
                proptest::prop_assert_eq!(&raw.aid, c);
            }
        }
    }

    /// Found by `fuzz/fuzz_targets/balikan_csv.rs`: with CR-only line ends every row got the
    /// header's line number, so the report blamed "baris 1" for each refused row.
    #[test]
    fn rows_after_a_lone_cr_get_their_own_line() {
        let p = read(
            b"nik;id_penerima;jenis_bantuan\r3204051201900001;A-1;PKH\r3204061201900012;B-2;PBI\r",
        )
        .unwrap_or_default();
        let lines: Vec<u64> = p.rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 3]);
        // The fuzzer's input: a CR followed by a vertical tab, then CRLF lines again.
        let p = read(b"nik;id_penerima;jenis_bantuan\r\nA;B;PKH\r\x0bC;D;PBI\r\nE;F;PKH\r\n")
            .unwrap_or_default();
        let lines: Vec<u64> = p.rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [2, 3, 4]);
    }

    #[test]
    fn missing_column_names_what_is_accepted() {
        let e = read(b"nik,jenis_bantuan\n").err().unwrap_or_default();
        assert!(e[0].message.contains("ID penerima"), "{e:?}");
    }
}
