//! The simulator's synthetic population: deterministic from a seed, never real people.
//!
//! Names and addresses are drawn from short word lists; region codes are real Kemendagri
//! kecamatan codes so that every NIK passes local validation.

use std::collections::{BTreeMap, HashMap};

use crate::nik::{self, Kecamatan, Nik};

/// What Dukcapil would say about a person of the population.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Alive and active: data is returned.
    Active,
    /// Code 11.
    Deceased,
    /// Code 12.
    Duplicate,
    /// Code 14.
    Inactive,
    /// Code 15: passes the local rules but the (simulated) Dukcapil refuses its format.
    FormatRefused,
    /// Code 08.
    Unprocessable,
}

/// One synthetic person.
#[derive(Clone)]
pub struct Person {
    /// 16-digit NIK.
    pub nik: String,
    /// 16-digit family card number.
    pub no_kk: String,
    /// Full name (synthetic).
    pub name: String,
    /// `true` for women.
    pub female: bool,
    /// Place of birth.
    pub birth_place: String,
    /// `YYYY-MM-DD`.
    pub birth_date: String,
    /// Marital status.
    pub marital: &'static str,
    /// Occupation.
    pub occupation: &'static str,
    /// Street address (synthetic).
    pub street: String,
    /// RT number.
    pub rt: u16,
    /// RW number.
    pub rw: u16,
    /// Village name (synthetic).
    pub village: String,
    /// Village code, 4 digits as a number.
    pub village_code: u16,
    /// Registration kecamatan.
    pub kecamatan: &'static Kecamatan,
    /// Whether this record's numbers go on the wire as JSON numbers.
    pub numbers_as_json_numbers: bool,
    /// Dukcapil's view.
    pub state: State,
}

impl std::fmt::Debug for Person {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Person({:?})", self.state)
    }
}

/// SplitMix64: tiny, seedable and stable across crate versions (a seed must give the same
/// population forever, which `rand`'s generators do not promise).
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

const GIVEN_M: &[&str] = &[
    "ADI", "BAYU", "CAHYO", "DEDI", "EKO", "FAJAR", "GILANG", "HADI", "IWAN", "JAJANG", "KOMAR",
    "LUTFI", "MAMAN", "NANANG", "OMAN", "PUTRA", "RUDI", "SANDI", "TATANG", "UJANG", "WAWAN",
    "YAYAN",
];
const GIVEN_F: &[&str] = &[
    "AI", "BUNGA", "CUCU", "DEWI", "ENI", "FITRI", "GITA", "HANI", "IIS", "JUJU", "KOKOM", "LILIS",
    "MIMIN", "NENG", "OOM", "PUPUT", "RINA", "SITI", "TITIN", "UMI", "WINDA", "YULI",
];
const FAMILY: &[&str] = &[
    "SIMULASI",
    "CONTOHWATI",
    "SINTETIS",
    "PERCOBAAN",
    "UJICOBA",
    "SANDBOX",
    "FIKTIF",
    "DUMMY",
];
const STREETS: &[&str] = &[
    "JL. MAWAR",
    "JL. MELATI",
    "JL. KENANGA",
    "GG. SAWO",
    "JL. CEMPAKA",
    "KP. SUKASIMULASI",
    "JL. ANGGREK",
    "GG. NANGKA",
];
const VILLAGES: &[&str] = &[
    "SUKAMAJU",
    "SUKAMULYA",
    "MEKARSARI",
    "SINDANGSARI",
    "CIBIRU SIMULASI",
    "MARGAHAYU CONTOH",
    "JATISARI",
    "TANJUNGSARI",
];
const OCCUPATIONS: &[&str] = &[
    "PELAJAR/MAHASISWA",
    "MENGURUS RUMAH TANGGA",
    "WIRASWASTA",
    "PETANI/PEKEBUN",
    "KARYAWAN SWASTA",
    "BURUH HARIAN LEPAS",
    "PEDAGANG",
    "BELUM/TIDAK BEKERJA",
];
const MARITAL: &[&str] = &["BELUM KAWIN", "KAWIN", "CERAI HIDUP", "CERAI MATI"];

/// A NIK that fails the local format rules (day 99): the portal must never be asked about it.
pub const LOCALLY_INVALID_NIK: &str = "3204059901900001";

/// The synthetic population of one seed.
#[derive(Debug, Clone)]
pub struct Population {
    by_nik: HashMap<String, Person>,
    samples: BTreeMap<String, String>,
}

fn nik_of(k: &Kecamatan, female: bool, day: u32, month: u32, year: i32, serial: u32) -> String {
    let d = if female { day + 40 } else { day };
    format!(
        "{}{d:02}{month:02}{:02}{serial:04}",
        k.code,
        year.rem_euclid(100)
    )
}

impl Population {
    /// Number of people generated per seed.
    pub const SIZE: usize = 600;

    /// Generate the population of `seed`.
    pub fn generate(seed: u64, canary: Option<&str>) -> Population {
        let mut rng = Rng::new(seed);
        let all = nik::region::all();
        let bandung: Vec<&'static Kecamatan> =
            all.iter().filter(|k| k.code.starts_with("3204")).collect();
        let mut by_nik = HashMap::new();
        let mut samples = BTreeMap::new();
        let mut i = 0usize;
        while by_nik.len() < Self::SIZE {
            i += 1;
            // Most of the OPD's citizens are registered in Kabupaten Bandung; some elsewhere.
            let kecamatan: &'static Kecamatan = if rng.below(4) > 0 && !bandung.is_empty() {
                rng.pick(&bandung)
            } else {
                &all[rng.below(all.len() as u64) as usize]
            };
            let female = rng.below(2) == 0;
            let year = 1940 + rng.below(68) as i32;
            let month = 1 + rng.below(12) as u32;
            let day = 1 + rng.below(28) as u32;
            let serial = 1 + rng.below(3000) as u32;
            let nik = nik_of(kecamatan, female, day, month, year, serial);
            if by_nik.contains_key(&nik) || Nik::parse(&nik).is_err() {
                continue;
            }
            let state = match i % 40 {
                1 => State::Deceased,
                2 => State::Duplicate,
                3 => State::Inactive,
                4 => State::FormatRefused,
                5 => State::Unprocessable,
                _ => State::Active,
            };
            let given = if female {
                rng.pick(GIVEN_F)
            } else {
                rng.pick(GIVEN_M)
            };
            let mut name = format!("{given} {}", rng.pick(FAMILY));
            let mut street = format!("{} NO. {}", rng.pick(STREETS), 1 + rng.below(150));
            if let Some(c) = canary {
                name = format!("{name} {c}");
                street = format!("{street} {c}");
            }
            let kk_serial = 1 + rng.below(9999);
            let person = Person {
                no_kk: format!(
                    "{}{:06}{kk_serial:04}",
                    kecamatan.code,
                    10_000 + rng.below(890_000)
                ),
                nik: nik.clone(),
                name,
                female,
                birth_place: kecamatan
                    .regency
                    .trim_start_matches("KABUPATEN ")
                    .trim_start_matches("KOTA ")
                    .to_owned(),
                birth_date: format!("{year:04}-{month:02}-{day:02}"),
                marital: rng.pick(MARITAL),
                occupation: rng.pick(OCCUPATIONS),
                street,
                rt: 1 + rng.below(15) as u16,
                rw: 1 + rng.below(20) as u16,
                village: rng.pick(VILLAGES).to_owned(),
                village_code: 2001 + rng.below(20) as u16,
                kecamatan,
                numbers_as_json_numbers: rng.below(2) == 0,
                state,
            };
            let key = match state {
                State::Active => "found",
                State::Deceased => "deceased",
                State::Duplicate => "duplicate",
                State::Inactive => "inactive",
                State::FormatRefused => "invalid_format",
                State::Unprocessable => "unprocessable",
            };
            samples.entry(key.to_owned()).or_insert_with(|| nik.clone());
            // A found sample whose numbers travel as JSON numbers exercises exact reading.
            if state == State::Active && person.numbers_as_json_numbers {
                samples
                    .entry("found_numbers".to_owned())
                    .or_insert_with(|| nik.clone());
            }
            by_nik.insert(nik, person);
        }
        // Not found: any valid NIK outside the population.
        let mut probe = 9999u32;
        loop {
            let k = nik::region::kecamatan("320405").unwrap_or(&all[0]);
            let nik = nik_of(k, false, 17, 8, 1945, probe);
            if !by_nik.contains_key(&nik) {
                samples.insert("not_found".to_owned(), nik);
                break;
            }
            probe -= 1;
        }
        Population { by_nik, samples }
    }

    /// The person of `nik`, if any.
    pub fn get(&self, nik: &str) -> Option<&Person> {
        self.by_nik.get(nik)
    }

    /// One NIK per NIK-determined status (`found`, `deceased`, `duplicate`, `inactive`,
    /// `invalid_format`, `not_found`, `unprocessable`) plus `found_numbers`, a found person
    /// whose numbers travel as JSON numbers.
    pub fn samples(&self) -> &BTreeMap<String, String> {
        &self.samples
    }

    /// Everyone, for tests that need more than one NIK of a status.
    pub fn people(&self) -> impl Iterator<Item = &Person> {
        self.by_nik.values()
    }
}
