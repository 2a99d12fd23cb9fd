//! Reading a Dukcapil answer page: exact numbers, status mapping, and the agreement's filter.
//!
//! Pure: takes the body text, returns what it means. No IO, no clock.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use serde_json::Value;

use super::{Error, Status};

/// One data element of the agreement (the Juknis' nine): the topology's own type.
pub use crate::topology::Element;

/// The set of elements the agreement allows; everything else in an answer is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elements(u16);

impl Elements {
    /// The elements given.
    pub fn of(elements: &[Element]) -> Self {
        Elements(elements.iter().fold(0, |m, e| m | 1 << (*e as u16)))
    }
    /// Whether `e` is allowed.
    pub fn contains(self, e: Element) -> bool {
        self.0 & (1 << (e as u16)) != 0
    }
}

impl Default for Elements {
    fn default() -> Self {
        Elements::of(&Element::NINE)
    }
}

/// The address element. Region codes are zero-padded (2/2/2/4 digits), RT and RW to 3.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Alamat {
    /// Street address (`ALAMAT`).
    pub alamat: String,
    /// RT (`NO_RT`), 3 digits.
    pub rt: String,
    /// RW (`NO_RW`), 3 digits.
    pub rw: String,
    /// Village name (`KEL_NAME`).
    pub desa_kelurahan: String,
    /// Village code (`NO_KEL`), 4 digits.
    pub kode_desa_kelurahan: String,
    /// Kecamatan name (`KEC_NAME`).
    pub kecamatan: String,
    /// Kecamatan code `PP.KK.CC` from `NO_PROP`, `NO_KAB`, `NO_KEC`.
    pub kode_kecamatan: String,
    /// Regency or city name (`KAB_NAME`).
    pub kabupaten_kota: String,
    /// Province name (`PROP_NAME`).
    pub provinsi: String,
}

/// A found person, holding only the agreement's elements. `Debug` is redacted: population data
/// must never reach a log line.
#[derive(Clone, PartialEq, Eq, Serialize, Default)]
pub struct Record {
    /// Nomor KK, 16 digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nomor_kk: Option<String>,
    /// NIK, 16 digits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nik: Option<String>,
    /// Full name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nama_lengkap: Option<String>,
    /// `LAKI-LAKI` or `PEREMPUAN` (upper case).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jenis_kelamin: Option<String>,
    /// Place of birth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tempat_lahir: Option<String>,
    /// Date of birth, `YYYY-MM-DD` when the answer's date could be read, else as received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tanggal_lahir: Option<String>,
    /// Marital status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_perkawinan: Option<String>,
    /// Occupation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jenis_pekerjaan: Option<String>,
    /// Address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alamat: Option<Alamat>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Record { .. redacted .. }")
    }
}

impl fmt::Debug for Alamat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Alamat { .. redacted .. }")
    }
}

/// What an answer page says, before latency is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The status.
    pub status: Status,
    /// The record, only when found.
    pub record: Option<Record>,
    /// `quotaLimiter`, when the gateway sends it.
    pub quota_left: Option<u64>,
}

const SHOWN: usize = 200;

/// A piece of an answer fit for an error message: truncated, and with every run of 8 or more
/// digits masked so that a NIK or KK number never reaches a log line through an error.
pub(crate) fn shown(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 8 {
            out.extend(std::iter::repeat_n('#', run.len()));
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars().take(SHOWN) {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    if text.chars().count() > SHOWN {
        out.push('…');
    }
    out
}

fn malformed(reason: &str, body: &str) -> Error {
    Error::Malformed {
        reason: reason.to_owned(),
        text: shown(body),
    }
}

/// A non-negative integer read exactly from a JSON number or a string of digits.
fn exact_digits(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => n.as_u64().map(|u| u.to_string()),
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())).then(|| t.to_owned())
        }
        _ => None,
    }
}

fn pad(digits: &str, width: usize) -> String {
    format!("{digits:0>width$}")
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `YYYY-MM-DD` from the answer's date, accepting `DD-MM-YYYY` too.
fn date_of(raw: &str) -> String {
    use chrono::NaiveDate;
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(raw, "%d-%m-%Y"))
        .map_or_else(|_| raw.to_owned(), |d| d.format("%Y-%m-%d").to_string())
}

struct Fields<'a>(HashMap<String, &'a Value>);

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.0.get(key).copied().filter(|v| !v.is_null())
    }
    fn text(&self, key: &str) -> Option<String> {
        self.get(key).and_then(text_of)
    }
    fn text_or_empty(&self, key: &str) -> String {
        self.text(key).unwrap_or_default()
    }
    /// A numeric field padded to `width`; `Err` when present but not a non-negative integer, or
    /// when it has more than `width` digits besides leading zeros: a 17-digit "Nomor KK" is not
    /// a Nomor KK, and passing it on would show the operator a wrong number.
    fn number(&self, key: &str, width: usize) -> Result<Option<String>, String> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let digits =
            exact_digits(v).ok_or_else(|| format!("{key} is not a non-negative integer"))?;
        let significant = digits.trim_start_matches('0');
        if significant.len() > width {
            return Err(format!("{key} has more than {width} digits"));
        }
        Ok(Some(pad(significant, width)))
    }
}

fn record(f: &Fields<'_>, elements: Elements, body: &str) -> Result<Record, Error> {
    let num = |key: &str, width: usize| f.number(key, width).map_err(|r| malformed(&r, body));
    let nik = num("NIK", 16)?;
    if nik.as_ref().is_none_or(|n| n.len() != 16) {
        return Err(malformed("a found record without a 16-digit NIK", body));
    }
    let mut r = Record::default();
    let allow = |e: Element| elements.contains(e);
    if allow(Element::Nik) {
        r.nik = nik;
    }
    if allow(Element::NomorKk) {
        r.nomor_kk = num("NO_KK", 16)?;
    }
    if allow(Element::NamaLengkap) {
        r.nama_lengkap = f.text("NAMA_LGKP");
    }
    if allow(Element::JenisKelamin) {
        r.jenis_kelamin = f.text("JENIS_KLMIN").map(|s| s.to_uppercase());
    }
    if allow(Element::TempatLahir) {
        r.tempat_lahir = f.text("TMPT_LHR");
    }
    if allow(Element::TanggalLahir) {
        r.tanggal_lahir = f.text("TGL_LHR").map(|s| date_of(&s));
    }
    if allow(Element::StatusPerkawinan) {
        r.status_perkawinan = f.text("STATUS_KAWIN");
    }
    if allow(Element::JenisPekerjaan) {
        r.jenis_pekerjaan = f.text("JENIS_PKRJN");
    }
    if allow(Element::Alamat) {
        let kec = [num("NO_PROP", 2)?, num("NO_KAB", 2)?, num("NO_KEC", 2)?];
        let kode_kecamatan = if kec.iter().all(Option::is_some) {
            kec.into_iter().flatten().collect::<Vec<_>>().join(".")
        } else {
            String::new()
        };
        // RT and RW are sometimes free text ("-"); keep such values rather than fail the record.
        let rt_rw = |key: &str| match f.get(key) {
            Some(v) => {
                exact_digits(v).map_or_else(|| text_of(v).unwrap_or_default(), |d| pad(&d, 3))
            }
            None => String::new(),
        };
        r.alamat = Some(Alamat {
            alamat: f.text_or_empty("ALAMAT"),
            rt: rt_rw("NO_RT"),
            rw: rt_rw("NO_RW"),
            desa_kelurahan: f.text_or_empty("KEL_NAME"),
            kode_desa_kelurahan: num("NO_KEL", 4)?.unwrap_or_default(),
            kecamatan: f.text_or_empty("KEC_NAME"),
            kode_kecamatan,
            kabupaten_kota: f.text_or_empty("KAB_NAME"),
            provinsi: f.text_or_empty("PROP_NAME"),
        });
    }
    Ok(r)
}

/// Read an answer body: the page, its first record, `RESPONSE_CODE` if present else `RESPON`.
pub fn parse(body: &str, elements: Elements) -> Result<Parsed, Error> {
    let page: Value =
        serde_json::from_str(body).map_err(|e| malformed(&format!("not JSON: {e}"), body))?;
    let (content, quota_left) = match &page {
        Value::Object(map) => (
            map.get("content"),
            map.get("quotaLimiter")
                .and_then(exact_digits)
                .and_then(|d| d.parse().ok()),
        ),
        Value::Array(_) => (Some(&page), None),
        _ => (None, None),
    };
    let first = match content {
        Some(Value::Array(items)) => items.first(),
        _ => return Err(malformed("no \"content\" list", body)),
    };
    let Some(Value::Object(first)) = first else {
        return Err(malformed("\"content\" holds no record", body));
    };
    let fields = Fields(
        first
            .iter()
            .map(|(k, v)| (k.trim().to_ascii_uppercase(), v))
            .collect(),
    );
    let respon = fields.text("RESPON");
    let has_data = fields.get("NIK").is_some() && fields.get("NAMA_LGKP").is_some();
    let status = match fields.get("RESPONSE_CODE") {
        Some(code) => {
            let Some(code) = exact_digits(code).and_then(|d| d.parse::<u64>().ok()) else {
                return Err(malformed("RESPONSE_CODE is not a number", body));
            };
            Status::from_code(code, respon.as_deref().unwrap_or_default())
        }
        None => match &respon {
            Some(text) => Status::from_text(text),
            None if has_data => Status::Found,
            None => return Err(malformed("a record with neither data nor RESPON", body)),
        },
    };
    let record = if status.is_found() {
        if !has_data {
            return Err(malformed("found, but the record holds no data", body));
        }
        Some(record(&fields, elements, body)?)
    } else {
        None
    };
    Ok(Parsed {
        status,
        record,
        quota_left,
    })
}
