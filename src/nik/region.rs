//! The Kemendagri region codes vendored from `idn-area-data` (ODbL, see `data/idn-area/README.md`).
//!
//! Built once, on first use, from CSV embedded in the binary; no IO at run time.

use std::collections::HashMap;
use std::sync::LazyLock;

const PROVINCES: &str = include_str!("../../data/idn-area/provinces.csv");
const REGENCIES: &str = include_str!("../../data/idn-area/regencies.csv");
const DISTRICTS: &str = include_str!("../../data/idn-area/districts.csv");

/// A kecamatan (district) of the Kemendagri code list, with its regency and province names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kecamatan {
    /// Six digits `PPKKCC`, as in the first six digits of a NIK.
    pub code: &'static str,
    /// Kecamatan name, as spelled in the source (mixed case).
    pub name: &'static str,
    /// Regency or city name (`KABUPATEN BANDUNG`, `KOTA BANDUNG`).
    pub regency: &'static str,
    /// Province name (`JAWA BARAT`).
    pub province: &'static str,
}

struct Table {
    by_code: HashMap<&'static str, Kecamatan>,
    ordered: Vec<Kecamatan>,
}

/// Each line is `code,...,name` with the name last; names hold no commas in this data set.
fn rows(csv: &'static str) -> impl Iterator<Item = (&'static str, &'static str)> {
    csv.lines().skip(1).filter_map(|line| {
        let line = line.trim_end_matches('\r');
        let code = line.split(',').next()?;
        let name = line.rsplit(',').next()?;
        Some((code, name))
    })
}

fn digits_of(dotted: &'static str) -> String {
    dotted.chars().filter(char::is_ascii_digit).collect()
}

static TABLE: LazyLock<Table> = LazyLock::new(|| {
    let provinces: HashMap<&str, &str> = rows(PROVINCES).collect();
    let regencies: HashMap<&str, &str> = rows(REGENCIES).collect();
    let mut by_code = HashMap::new();
    let mut ordered = Vec::new();
    for (code, name) in rows(DISTRICTS) {
        // "32.04.05": the codes are fixed-width, so the parents are prefixes.
        let (Some(reg), Some(prov)) = (code.get(..5), code.get(..2)) else {
            continue;
        };
        let digits = digits_of(code);
        if digits.len() != 6 {
            continue;
        }
        // Leak once per kecamatan (about 7,300 six-byte strings) so lookups hand out `&'static str`.
        let code6: &'static str = Box::leak(digits.into_boxed_str());
        let k = Kecamatan {
            code: code6,
            name,
            regency: regencies.get(reg).copied().unwrap_or(""),
            province: provinces.get(prov).copied().unwrap_or(""),
        };
        by_code.insert(code6, k);
        ordered.push(k);
    }
    Table { by_code, ordered }
});

/// The kecamatan whose six-digit code is `code6` (`"320405"`), if Kemendagri lists it.
pub fn kecamatan(code6: &str) -> Option<&'static Kecamatan> {
    TABLE.by_code.get(code6)
}

/// Every kecamatan, in the order of the source file (stable, so seeded generators are reproducible).
pub fn all() -> &'static [Kecamatan] {
    &TABLE.ordered
}
