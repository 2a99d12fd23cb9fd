//! The semester usage report (Juknis V: *laporan berkala mengenai pelaksanaan pemanfaatan NIK,
//! data kependudukan dan KTP-el* every semester, within 10 working days): the facts it is built
//! from and the document, in Bahasa Indonesia. What the report finds (figures and verdicts) is
//! computed first, in [`findings`]; `build` only writes it down. Pure: no IO, no clock.

use chrono::{DateTime, NaiveDate, Utc};

use super::calendar::{
    Semester, count, date_long, date_with_weekday, datetime_short, datetime_wib, decimal,
    duration_words, month_name, percent, wib_day, wib_midnight,
};
use super::holidays::{Deadline, Year};
use super::scan::Scan;
use crate::doc::{Align, Block, Chart, ChartKind, Document, Figure, Inline, Series, Table, XAxis};
use crate::gate::audit::{Problem, Tally};
use crate::outbox::PeriodCounts;
use crate::topology::{Agreement, Quota};
use findings::{Check, Finding, Findings, Lookups, Reason, Rule};

/// Incidents listed in the table at most; the totals count them all.
const MAX_INCIDENT_ROWS: usize = 200;

/// Everything the report says, gathered from the topology and the state dir.
#[derive(Clone, Debug)]
pub struct Facts {
    pub semester: Semester,
    /// When the report was made; data after it does not exist yet.
    pub generated_at: DateTime<Utc>,
    pub agreement: Agreement,
    /// Each application of the topology with its PoC (Juknis II.D).
    pub applications: Vec<Application>,
    /// The KTP-el card readers the topology shows (Juknis IV), by name; their use is reported
    /// by the OPD's staff, since the appliance cannot see it.
    pub card_readers: Vec<String>,
    /// Look-ups from the audit log, counted by WIB day, caller, status, forwarding; `None`
    /// when the state dir has no audit log.
    pub lookups: Option<Vec<Tally>>,
    /// The gate's quota counter per WIB day; `None` when there is no quota store.
    pub quota_days: Option<Vec<(NaiveDate, u64)>>,
    /// Availability of each path's service and each contracted link.
    pub availability: Vec<Availability>,
    /// Path incidents overlapping the semester, oldest first.
    pub incidents: Vec<Incident>,
    /// Data balikan counts; `None` when there is no outbox.
    pub balikan: Option<PeriodCounts>,
    pub audit: AuditCheck,
    pub scan: Scan,
    /// Files of the state dir the scan leaves out on purpose, and why (in Indonesian).
    pub scan_exclusion_reason: String,
    pub deadline: Deadline,
    /// What the holiday list says of each year the deadline window touches.
    pub holiday_years: Vec<(i32, Option<Year>)>,
}

/// An application of the topology and its Proof of Concept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    pub name: String,
    pub poc: Option<crate::topology::Poc>,
}

/// What is measured: a path's service or a contracted link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Path,
    Link,
}

/// Availability of one path or link from the store's rollups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Availability {
    pub subject: Subject,
    pub id: String,
    /// A name for people ("Web Portal", "wan-kominfo (512 Kbps, Diskominfo)").
    pub name: String,
    /// The node whose probes stand for it; `None` when nothing probes it.
    pub measured_at: Option<String>,
    /// Rounds in the period outside planned maintenance (hours that touch a window are left
    /// out: planned work is not the provider's failure).
    pub rounds: u64,
    pub ok_rounds: u64,
    /// Seconds of declared maintenance windows (`maintenance:`) within the period.
    pub planned_s: i64,
}

/// One period when a path was not healthy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    /// The path's id and service name.
    pub subject: String,
    /// `down`, `degraded` or `unknown`.
    pub state: String,
    /// Why, in Indonesian (from the health verdict).
    pub reason: String,
    pub started: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
    /// The cause a technician recorded on the dashboard (the latest one), if any.
    pub cause: Option<String>,
    /// The ticket number recorded with that cause.
    pub ticket: Option<String>,
}

/// The audit log's hash chain, as [`crate::gate::audit::verify`] found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditCheck {
    Intact {
        entries: u64,
    },
    Broken {
        entries: u64,
        problems: Vec<Problem>,
    },
    /// No audit log in the state dir.
    Missing,
    /// It could not be read.
    Unreadable(String),
}

/// The status of a look-up in the report's words; `forwarded` tells the gate's own refusals
/// from Dukcapil's answers where both use one status (`invalid_format`, `quota_exhausted`).
pub fn status_label(status: &str, forwarded: bool) -> String {
    let s = match (status, forwarded) {
        ("found", _) => "Berhasil, data ditemukan",
        ("not_found", _) => "Tidak ditemukan (NIK tidak terdapat di database kependudukan)",
        ("deceased", _) => "Data ditemukan, meninggal dunia",
        ("duplicate", _) => "Data ditemukan, data ganda",
        ("inactive", _) => "Data ditemukan, status non aktif",
        ("invalid_format", true) => "NIK tidak sesuai format Dukcapil (jawaban Dukcapil)",
        ("invalid_format", false) => {
            "Ditolak: NIK tidak sesuai format (pemeriksaan lokal, tidak dikirim)"
        }
        ("quota_exhausted", true) => "Kuota habis (jawaban Dukcapil)",
        ("quota_exhausted", false) => "Kuota harian habis (ditahan, tidak dikirim)",
        ("login_failed", _) => "Gagal login",
        ("agency_inactive", _) => "Instansi tidak aktif",
        ("user_inactive", _) => "User ID non aktif",
        ("refused_pattern", _) => "Ditolak aturan: NIK berurutan atau berpola",
        ("refused_burst", _) => "Ditolak aturan: permintaan dalam waktu berdekatan",
        ("invalid_request", _) => "Ditolak: permintaan tidak lengkap (tujuan tidak diisi)",
        ("unauthorized", _) => "Ditolak: pemohon tidak berwenang",
        ("link_down", _) => "Jalur terputus (tidak dikirim, kuota tidak terpakai)",
        ("portal_error", _) => "Web Portal tidak memberi jawaban yang sah",
        ("internal_error", _) => "Kesalahan internal perangkat",
        ("unknown", _) => "Jawaban Dukcapil tidak dikenal",
        (other, _) => {
            return crate::portal::Status::known()
                .find(|s| s.as_str() == other)
                .map(|s| s.message().to_owned())
                .unwrap_or_else(|| format!("Status lain ({other})"));
        }
    };
    s.to_owned()
}

fn state_label(state: &str) -> &str {
    match state {
        "down" => "Putus",
        "degraded" => "Terganggu",
        "unknown" => "Tidak diketahui",
        other => other,
    }
}

fn caller_kind_label(kind: &str) -> &str {
    match kind {
        "operator" => "Operator",
        "application" => "Aplikasi",
        other => other,
    }
}

fn problem_words(p: &Problem) -> String {
    match p {
        Problem::Edited { seq } => format!("entri {seq} diubah (hash tidak sesuai dengan isinya)"),
        Problem::Deleted { from, to } if from == to => format!("entri {from} dihapus"),
        Problem::Deleted { from, to } => format!("entri {from} sampai {to} dihapus"),
        Problem::Reordered { seq, .. } => format!("entri {seq} dipindahkan dari urutannya"),
        Problem::BrokenLink { seq } => {
            format!("tautan entri {seq} ke entri sebelumnya tidak sesuai")
        }
        Problem::Head { head_seq, last_seq } => format!(
            "log berakhir pada entri {last_seq}, sedangkan catatan akhirnya menyebut entri {head_seq}"
        ),
    }
}

fn text(s: impl Into<String>) -> Block {
    Block::text(s)
}

fn table(caption: &str, header: &[&str], rows: Vec<Vec<String>>, align: &[Align]) -> Block {
    Block::Table(Table {
        caption: caption.to_owned(),
        header: header.iter().map(|h| (*h).to_owned()).collect(),
        rows,
        align: align.to_vec(),
    })
}

/// Numbering of tables and figures, in order of appearance.
#[derive(Default)]
struct Numbers {
    table: u32,
    figure: u32,
}

impl Numbers {
    fn table(&mut self, title: &str) -> String {
        self.table += 1;
        format!("Tabel {}. {title}", self.table)
    }

    fn figure(&mut self, title: &str) -> String {
        self.figure += 1;
        format!("Gambar {}. {title}", self.figure)
    }
}

/// The last moment the report covers: the semester's end, or now if it has not ended.
fn covered_until(f: &Facts) -> DateTime<Utc> {
    let (_, end) = f.semester.bounds();
    end.min(f.generated_at)
}

/// Seconds of `[a, b)` inside the semester as far as it has run.
fn clipped(f: &Facts, a: DateTime<Utc>, b: Option<DateTime<Utc>>) -> i64 {
    let (start, _) = f.semester.bounds();
    let until = covered_until(f);
    let b = b.unwrap_or(until).min(until);
    (b - a.max(start)).num_seconds().max(0)
}

/// Build the report.
pub fn build(f: &Facts) -> Document {
    let sem = f.semester;
    let a = &f.agreement;
    let mut n = Numbers::default();
    let (_, end) = sem.bounds();
    let ongoing = f.generated_at < end;
    // Everything judged first; what follows only writes it down.
    let found = findings::assess(f);
    let look = &found.lookups;
    let all = look.counts;
    let deadline_words = deadline_words(&f.deadline);

    let mut cover = vec![("Instansi".to_owned(), a.opd.clone())];
    let pks = |label: &str, v: &Option<String>| {
        (
            label.to_owned(),
            v.clone().unwrap_or_else(|| "(belum diisi)".to_owned()),
        )
    };
    cover.push(pks("Nomor PKS Dinas Dukcapil", &a.pks_dukcapil));
    cover.push(pks("Nomor PKS OPD", &a.pks_opd));
    cover.push((
        "Tanggal PKS".to_owned(),
        a.pks_date
            .as_deref()
            .map(|d| {
                d.parse::<NaiveDate>()
                    .map(date_long)
                    .unwrap_or_else(|_| d.to_owned())
            })
            .unwrap_or_else(|| "(belum diisi)".to_owned()),
    ));
    cover.push(("Periode laporan".to_owned(), sem.period()));
    cover.push((
        "Batas penyampaian".to_owned(),
        format!("paling lambat {deadline_words}"),
    ));
    cover.push((
        "Disampaikan kepada".to_owned(),
        format!(
            "Direktorat Jenderal Kependudukan dan Pencatatan Sipil melalui {}",
            a.dukcapil
        ),
    ));
    cover.push((
        "Soft copy dikirim ke".to_owned(),
        a.report_email.clone().unwrap_or_else(|| {
            "(alamat email dari Juknis V.B belum diisi: agreement.report_email)".to_owned()
        }),
    ));
    cover.push((
        "Tanggal penyusunan".to_owned(),
        datetime_wib(f.generated_at),
    ));

    let mut b: Vec<Block> = Vec::new();

    // BAB I
    b.push(Block::heading(1, "BAB I PENDAHULUAN"));
    b.push(Block::heading(2, "A. Dasar"));
    b.push(Block::List {
        ordered: true,
        items: vec![
            vec![Inline::Text(format!(
                "Perjanjian Kerja Sama antara {} dan {} Nomor {} dan Nomor {}{} tentang pemanfaatan \
                 Nomor Induk Kependudukan, data kependudukan dan KTP-el.",
                a.dukcapil,
                a.opd,
                a.pks_dukcapil.as_deref().unwrap_or("(belum diisi)"),
                a.pks_opd.as_deref().unwrap_or("(belum diisi)"),
                a.pks_date
                    .as_deref()
                    .and_then(|d| d.parse::<NaiveDate>().ok())
                    .map(|d| format!(" tanggal {}", date_long(d)))
                    .unwrap_or_default()
            ))],
            vec![Inline::Text(
                "Petunjuk Teknis Web Portal sebagai tindak lanjut Perjanjian Kerja Sama tersebut, \
                 kriteria V (Laporan Monitoring dan Evaluasi) huruf A sampai dengan C."
                    .to_owned(),
            )],
        ],
    });
    b.push(Block::heading(2, "B. Maksud dan Tujuan"));
    b.push(text(format!(
        "Laporan ini disusun sebagai laporan berkala semester mengenai pelaksanaan pemanfaatan NIK \
         dan data kependudukan oleh {} melalui metode akses Web Portal, untuk bahan evaluasi oleh \
         Direktorat Jenderal Kependudukan dan Pencatatan Sipil melalui {} (Juknis V.A dan V.D).",
        a.opd, a.dukcapil
    )));
    b.push(Block::heading(2, "C. Ruang Lingkup dan Sumber Data"));
    b.push(text(format!(
        "Periode laporan adalah Semester {} Tahun {}, yaitu {} (waktu Indonesia Barat).",
        sem.roman(),
        sem.year(),
        sem.period()
    )));
    if ongoing {
        b.push(Block::Paragraph(vec![
            Inline::Bold("Catatan: ".to_owned()),
            Inline::Text(format!(
                "semester ini belum berakhir. Data dalam laporan ini sampai dengan {}; laporan \
                 akhir disusun kembali setelah {}.",
                datetime_wib(f.generated_at),
                date_long(sem.last_day())
            )),
        ]));
    }
    b.push(text(
        "Angka dalam laporan ini dihimpun secara otomatis oleh perangkat pemantau jaringan dan \
         gerbang akses NIK milik OPD dari: log audit akses (setiap permintaan cek NIK beserta \
         pemohon, tujuan, status dan waktu, dengan NIK tersimpan hanya sebagai nilai HMAC), \
         pencatat kuota harian, hasil pemantauan jaringan dan catatan gangguan, serta antrean \
         data balikan. Laporan ini tidak memuat NIK maupun data kependudukan apa pun; seluruh \
         angka berupa jumlah.",
    ));
    b.push(Block::heading(2, "D. Batas Waktu Penyampaian"));
    b.push(text(format!(
        "Sesuai Juknis V.C, laporan disampaikan kepada {} paling lama 10 (sepuluh) hari kerja \
         setelah semester berakhir, yaitu paling lambat {}. Laporan disampaikan secara manual \
         (hard copy) dan melalui email (soft copy) sebagaimana Juknis V.B{}.",
        a.dukcapil,
        deadline_words,
        a.report_email
            .as_deref()
            .map(|e| format!(", ke alamat {e}"))
            .unwrap_or_default()
    )));
    b.push(text(deadline_detail(&f.deadline, &f.holiday_years)));

    // BAB II
    b.push(Block::heading(
        1,
        "BAB II PEMANFAATAN HAK AKSES DATA KEPENDUDUKAN",
    ));
    b.push(Block::heading(2, "A. Tujuan Pemanfaatan dan Elemen Data"));
    b.push(text(format!(
        "Tujuan pemanfaatan data kependudukan sesuai PKS: {}. Metode akses: Web Portal. Elemen \
         data yang diberikan ({} elemen): {}.",
        a.purpose.trim_end_matches('.'),
        a.elements.len(),
        a.elements
            .iter()
            .map(|e| e.label())
            .collect::<Vec<_>>()
            .join(", ")
    )));
    b.push(Block::heading(2, "B. Jumlah Permintaan Cek NIK"));
    if !look.recorded {
        b.push(text(
            "Log audit akses tidak ditemukan pada perangkat: tidak ada permintaan cek NIK yang \
             tercatat selama periode laporan.",
        ));
    } else if all.total == 0 {
        b.push(text(
            "Tidak ada permintaan cek NIK selama periode laporan: log audit akses tidak memuat \
             satu pun permintaan pada periode ini.",
        ));
    } else {
        let active = look.days.len() as u64;
        b.push(text(format!(
            "Selama periode laporan tercatat {} permintaan cek NIK pada {} hari. Sebanyak {} \
             permintaan ({}) diteruskan ke Web Portal Dukcapil dan {} di antaranya mendapatkan data \
             ({} dari permintaan yang diteruskan); {} permintaan tidak dikirim karena ditolak \
             aturan, kuota, atau gangguan jalur.",
            count(all.total),
            count(active),
            count(all.forwarded),
            percent(all.forwarded, all.total),
            count(all.found),
            percent(all.found, all.forwarded),
            count(all.not_sent()),
        )));
        b.push(Block::Figure(Figure {
            caption: n.figure("Jumlah permintaan cek NIK per hari"),
            chart: daily_chart(f, look, found.limit),
        }));
        b.push(monthly_table(look, &mut n));
        b.push(Block::heading(2, "C. Hasil Permintaan per Status"));
        b.push(text(
            "Status mengikuti jawaban Web Portal Dukcapil (Juknis II.C.2.b) dan penolakan oleh \
             gerbang akses OPD sebelum permintaan dikirim.",
        ));
        b.push(status_table(look, &mut n));
        b.push(Block::heading(
            2,
            "D. Permintaan per Operator dan per Aplikasi",
        ));
        b.push(text(
            "Setiap akses tercatat atas nama operator atau aplikasi yang mengajukannya (ISO/IEC \
             27001, Juknis II.E.3).",
        ));
        b.push(caller_table(look, &mut n));
    }
    b.push(Block::heading(
        2,
        if all.total == 0 {
            "C. Penggunaan Kuota"
        } else {
            "E. Penggunaan Kuota"
        },
    ));
    b.extend(quota_blocks(f, &found, &mut n));

    // BAB III
    b.push(Block::heading(
        1,
        "BAB III KETERSEDIAAN JARINGAN KOMUNIKASI DATA",
    ));
    b.push(Block::heading(2, "A. Ketersediaan Jalur dan Tautan"));
    b.push(text(
        "Ketersediaan dihitung dari hasil pemantauan berkala (ICMP, TCP, TLS, HTTP) sebagai bagian \
         putaran pemantauan yang berhasil terhadap seluruh putaran pada periode laporan. \
         Ketersediaan tautan WAN diukur melalui simpul terdekat di belakang tautan yang dipantau.",
    ));
    b.push(availability_table(f, &mut n));
    b.push(Block::heading(2, "B. Gangguan Jalur"));
    b.extend(incident_blocks(f, &found, &mut n));

    // BAB IV
    b.push(Block::heading(
        1,
        "BAB IV PROOF OF CONCEPT DAN DATA BALIKAN",
    ));
    b.push(Block::heading(2, "A. Status Proof of Concept (PoC)"));
    b.push(text(poc_words(a)));
    if !f.applications.is_empty() {
        b.push(applications_table(f, &mut n));
    }
    b.push(Block::heading(2, "B. Data Balikan"));
    b.extend(balikan_blocks(f, &mut n));
    if !f.card_readers.is_empty() {
        b.push(Block::heading(
            2,
            "C. Pemanfaatan KTP-el melalui Perangkat Pembaca (Card Reader)",
        ));
        b.extend(ktp_el_blocks(f, &mut n));
    }

    // BAB V
    b.push(Block::heading(1, "BAB V PEMERIKSAAN KEPATUHAN"));
    b.push(text(
        "Pemeriksaan berikut dijalankan oleh perangkat pada saat laporan disusun terhadap data di \
         direktori kerjanya.",
    ));
    b.push(table(
        &n.table("Hasil pemeriksaan kepatuhan"),
        &["No", "Pemeriksaan", "Hasil", "Keterangan"],
        found
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                vec![
                    (i + 1).to_string(),
                    c.rule.name().to_owned(),
                    c.verdict.label().to_owned(),
                    check_words(f, c),
                ]
            })
            .collect(),
        &[Align::Center, Align::Left, Align::Center, Align::Left],
    ));
    if let Some(Reason::ChainBroken { problems }) = found
        .check(Rule::AuditChain)
        .and_then(|c| c.verdict.reason())
    {
        b.push(text("Masalah pada rantai hash log audit:"));
        b.push(Block::bullets(problems.iter().take(50).map(problem_words)));
    }
    if let Some(Reason::DataStored { files, .. }) = found
        .check(Rule::ZeroStorage)
        .and_then(|c| c.verdict.reason())
        && !files.is_empty()
    {
        b.push(text(
            "Berkas yang memuat rangkaian angka berbentuk NIK (hanya jumlahnya yang dicatat; \
             berkas perlu diperiksa dan dibersihkan):",
        ));
        b.push(Block::bullets(files.iter().map(|(path, hits)| {
            format!("{path}: {} rangkaian", count(*hits))
        })));
    }

    // BAB VI
    b.push(Block::heading(1, "BAB VI KESIMPULAN"));
    b.push(Block::bullets(conclusions(f, &found)));
    b.push(text(
        "Demikian laporan ini disampaikan untuk dapat dipergunakan sebagaimana mestinya.",
    ));
    b.push(Block::Signature {
        place_date: format!(
            "...................., {}",
            date_long(wib_day(f.generated_at))
        ),
        role: format!("Kepala {}", a.opd),
        name: "(.........................................)".to_owned(),
        id: "NIP. .........................................".to_owned(),
    });

    Document {
        title: format!(
            "Laporan Penggunaan Hak Akses Data Kependudukan Semester {} Tahun {}",
            sem.roman(),
            sem.year()
        ),
        subtitle: Some(format!("{} — Periode {}", a.opd, sem.period())),
        cover,
        blocks: b,
        footer: Some(format!(
            "Laporan Semester {} Tahun {} · {} · disusun oleh juknis {}",
            sem.roman(),
            sem.year(),
            a.opd,
            env!("CARGO_PKG_VERSION")
        )),
    }
}

fn deadline_words(d: &Deadline) -> String {
    let mut s = date_with_weekday(d.date);
    if !d.is_certain() {
        s.push_str(" (perkiraan)");
    }
    s
}

fn deadline_detail(d: &Deadline, years: &[(i32, Option<Year>)]) -> String {
    let mut s = String::from(
        "Hari kerja dihitung Senin sampai dengan Jumat, tidak termasuk hari libur nasional dan \
         cuti bersama. ",
    );
    if d.skipped.is_empty() {
        s.push_str("Tidak ada hari libur nasional atau cuti bersama pada hari kerja dalam rentang tersebut. ");
    } else {
        let days: Vec<String> = d
            .skipped
            .iter()
            .map(|h| {
                format!(
                    "{} ({}, {}{})",
                    date_with_weekday(h.date),
                    h.kind.label(),
                    h.name,
                    if h.estimated { ", perkiraan" } else { "" }
                )
            })
            .collect();
        s.push_str(&format!(
            "Hari libur yang tidak dihitung: {}. ",
            days.join("; ")
        ));
    }
    for (y, info) in years {
        match info {
            Some(info) if info.official => {
                s.push_str(&format!("Daftar hari libur {y}: {}. ", info.source));
            }
            Some(_) => s.push_str(&format!(
                "Daftar hari libur nasional dan cuti bersama tahun {y} belum ditetapkan dengan \
                 SKB; tanggal yang dipakai sebagian merupakan perkiraan dan cuti bersama {y} belum \
                 diperhitungkan, sehingga batas waktu di atas adalah perkiraan dan dapat bergeser. "
            )),
            None => s.push_str(&format!(
                "Daftar hari libur tahun {y} belum tersedia pada perangkat: hanya hari Sabtu dan \
                 Minggu yang tidak dihitung, sehingga batas waktu di atas adalah perkiraan. "
            )),
        }
    }
    s.trim_end().to_owned()
}

/// The days of the semester that have started by the time of the report.
fn report_days(f: &Facts) -> Vec<NaiveDate> {
    let last = f.semester.last_day().min(wib_day(f.generated_at));
    f.semester
        .first_day()
        .iter_days()
        .take_while(|d| *d <= last)
        .collect()
}

fn daily_chart(f: &Facts, look: &Lookups, limit: Option<u64>) -> Chart {
    let days = report_days(f);
    let get = |d: &NaiveDate, pick: fn(&findings::Counts) -> u64| {
        Some(look.days.get(d).map_or(0, pick) as f64)
    };
    Chart {
        kind: ChartKind::Line,
        x_label: "Tanggal (WIB)".to_owned(),
        y_label: "Permintaan".to_owned(),
        x: XAxis::Time(days.iter().map(|d| wib_midnight(*d).timestamp()).collect()),
        series: vec![
            Series {
                name: "Seluruh permintaan".to_owned(),
                values: days.iter().map(|d| get(d, |x| x.total)).collect(),
            },
            Series {
                name: "Diteruskan ke Dukcapil".to_owned(),
                values: days.iter().map(|d| get(d, |x| x.forwarded)).collect(),
            },
        ],
        rules: limit
            .map(|l| vec![(format!("Kuota harian ({l})"), l as f64)])
            .unwrap_or_default(),
    }
}

fn monthly_table(look: &Lookups, n: &mut Numbers) -> Block {
    let mut rows: Vec<Vec<String>> = look
        .months
        .iter()
        .map(|m| {
            vec![
                format!("{} {}", month_name(m.month), m.year),
                count(m.counts.total),
                count(m.counts.forwarded),
                count(m.counts.found),
                count(m.counts.not_sent()),
                count(m.active_days),
            ]
        })
        .collect();
    let sum = |pick: fn(&findings::Month) -> u64| count(look.months.iter().map(pick).sum());
    rows.push(vec![
        "Jumlah".to_owned(),
        sum(|m| m.counts.total),
        sum(|m| m.counts.forwarded),
        sum(|m| m.counts.found),
        sum(|m| m.counts.not_sent()),
        sum(|m| m.active_days),
    ]);
    table(
        &n.table("Jumlah permintaan cek NIK per bulan"),
        &[
            "Bulan",
            "Permintaan",
            "Diteruskan ke Dukcapil",
            "Data ditemukan",
            "Tidak dikirim",
            "Hari dengan akses",
        ],
        rows,
        &[
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
    )
}

fn status_table(look: &Lookups, n: &mut Numbers) -> Block {
    let total = look.counts.total;
    let mut out: Vec<Vec<String>> = look
        .statuses
        .iter()
        .map(|x| {
            vec![
                status_label(&x.status, x.forwarded),
                format!("{}{}", x.status, if x.forwarded { "" } else { " (lokal)" }),
                if x.forwarded { "Ya" } else { "Tidak" }.to_owned(),
                count(x.count),
                percent(x.count, total),
            ]
        })
        .collect();
    out.push(vec![
        "Jumlah".to_owned(),
        String::new(),
        String::new(),
        count(total),
        percent(total, total),
    ]);
    table(
        &n.table("Hasil permintaan cek NIK per status"),
        &[
            "Status",
            "Kode",
            "Dikirim ke Dukcapil",
            "Jumlah",
            "Persentase",
        ],
        out,
        &[
            Align::Left,
            Align::Left,
            Align::Center,
            Align::Right,
            Align::Right,
        ],
    )
}

fn caller_table(look: &Lookups, n: &mut Numbers) -> Block {
    let rows = look
        .callers
        .iter()
        .map(|c| {
            vec![
                caller_kind_label(&c.kind).to_owned(),
                c.name.clone(),
                count(c.counts.total),
                count(c.counts.forwarded),
                count(c.counts.found),
                count(c.counts.not_sent()),
                count(c.active_days),
            ]
        })
        .collect();
    table(
        &n.table("Permintaan cek NIK per operator dan per aplikasi"),
        &[
            "Jenis",
            "Nama",
            "Permintaan",
            "Diteruskan",
            "Data ditemukan",
            "Tidak dikirim",
            "Hari aktif",
        ],
        rows,
        &[
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
    )
}

fn quota_blocks(f: &Facts, found: &Findings, n: &mut Numbers) -> Vec<Block> {
    let q = &found.quota;
    let limit = found.limit;
    let mut out = Vec::new();
    out.push(text(match limit {
        Some(l) => format!(
            "Kuota akses Web Portal adalah {} hit NIK per hari (Juknis II.B.1), dihitung per hari \
             kalender WIB oleh gerbang akses; permintaan yang melebihi kuota ditahan dan tidak \
             dikirim.",
            count(l)
        ),
        None => "Setelah Proof of Concept, hak akses Web Portal tidak dibatasi kuota (Juknis \
                 II.B.2); jumlah hit per hari tetap dicatat untuk laporan ini."
            .to_owned(),
    }));
    if q.active_days == 0 {
        out.push(text(
            "Tidak ada kuota yang terpakai selama periode laporan.",
        ));
        return out;
    }
    let days_elapsed = report_days(f).len() as u64;
    let mut rows = vec![
        vec![
            "Batas kuota harian".to_owned(),
            limit.map_or("tidak dibatasi".to_owned(), |l| format!("{} hit", count(l))),
        ],
        vec!["Jumlah hit yang memakai kuota".to_owned(), count(q.total)],
        vec!["Hari dengan akses".to_owned(), count(q.active_days)],
        vec![
            "Rata-rata per hari dengan akses".to_owned(),
            format!("{} hit", decimal(q.total as f64 / q.active_days as f64, 1)),
        ],
        vec![
            "Rata-rata per hari kalender".to_owned(),
            format!(
                "{} hit ({} hari)",
                decimal(q.total as f64 / days_elapsed.max(1) as f64, 1),
                count(days_elapsed)
            ),
        ],
    ];
    if let Some((d, u)) = q.peak {
        rows.push(vec![
            "Pemakaian tertinggi".to_owned(),
            format!(
                "{} hit pada {}{}",
                count(u),
                date_with_weekday(d),
                limit.map_or(String::new(), |l| format!(
                    " ({} dari kuota)",
                    percent(u, l)
                ))
            ),
        ]);
    }
    if limit.is_some() {
        rows.push(vec![
            "Hari kuota habis terpakai".to_owned(),
            format!("{} hari", count(q.at_limit)),
        ]);
        rows.push(vec![
            "Permintaan ditahan karena kuota habis".to_owned(),
            format!(
                "{} permintaan pada {} hari",
                count(q.refused),
                count(q.refused_days)
            ),
        ]);
        rows.push(vec![
            "Hari pemakaian melebihi kuota".to_owned(),
            format!("{} hari", count(q.over_limit())),
        ]);
    }
    out.push(table(
        &n.table("Penggunaan kuota harian"),
        &["Uraian", "Nilai"],
        rows,
        &[Align::Left, Align::Left],
    ));
    out
}

fn availability_table(f: &Facts, n: &mut Numbers) -> Block {
    let rows = f
        .availability
        .iter()
        .map(|x| {
            vec![
                match x.subject {
                    Subject::Path => "Jalur",
                    Subject::Link => "Tautan WAN",
                }
                .to_owned(),
                x.name.clone(),
                x.measured_at
                    .clone()
                    .unwrap_or_else(|| "(tidak dipantau)".to_owned()),
                count(x.rounds),
                count(x.ok_rounds),
                if x.rounds == 0 {
                    "tidak ada data".to_owned()
                } else {
                    percent(x.ok_rounds, x.rounds)
                },
                if x.planned_s == 0 {
                    "-".to_owned()
                } else {
                    duration_words(x.planned_s)
                },
            ]
        })
        .collect();
    table(
        &n.table("Ketersediaan jalur dan tautan"),
        &[
            "Jenis",
            "Nama",
            "Diukur pada",
            "Putaran",
            "Berhasil",
            "Ketersediaan",
            "Pemeliharaan terjadwal (tidak dihitung)",
        ],
        rows,
        &[
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ],
    )
}

/// The recorded cause and its ticket, or that none was recorded.
fn cause_words(i: &Incident) -> String {
    match (&i.cause, &i.ticket) {
        (Some(c), Some(t)) => format!("{c} (tiket {t})"),
        (Some(c), None) => c.clone(),
        (None, _) => "penyebab belum dicatat".to_owned(),
    }
}

fn incident_blocks(f: &Facts, found: &Findings, n: &mut Numbers) -> Vec<Block> {
    if f.incidents.is_empty() {
        return vec![text(
            "Tidak tercatat gangguan jalur selama periode laporan.",
        )];
    }
    let total = found.incidents.seconds;
    let mut out = vec![text(format!(
        "Terjadi {} gangguan jalur dengan total durasi {}. Gangguan dicatat sejak jalur keluar \
         dari keadaan sehat sampai kembali sehat; durasi dihitung di dalam periode laporan. \
         Gejala adalah temuan pemantauan; penyebab dan nomor tiket dicatat teknisi pada dasbor.",
        count(f.incidents.len() as u64),
        duration_words(total)
    ))];
    let rows = f
        .incidents
        .iter()
        .take(MAX_INCIDENT_ROWS)
        .enumerate()
        .map(|(i, x)| {
            vec![
                (i + 1).to_string(),
                datetime_short(x.started),
                x.ended
                    .map(datetime_short)
                    .unwrap_or_else(|| "masih berlangsung".to_owned()),
                duration_words(clipped(f, x.started, x.ended)),
                x.subject.clone(),
                state_label(&x.state).to_owned(),
                x.reason.clone(),
                cause_words(x),
            ]
        })
        .collect();
    out.push(table(
        &n.table("Daftar gangguan jalur (waktu WIB)"),
        &[
            "No",
            "Mulai",
            "Selesai",
            "Durasi",
            "Jalur",
            "Keadaan",
            "Gejala",
            "Penyebab (tiket)",
        ],
        rows,
        &[
            Align::Center,
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Left,
        ],
    ));
    if f.incidents.len() > MAX_INCIDENT_ROWS {
        out.push(text(format!(
            "Tabel memuat {} gangguan pertama dari {}; seluruhnya dihitung dalam total di atas.",
            MAX_INCIDENT_ROWS,
            count(f.incidents.len() as u64)
        )));
    }
    out
}

fn applications_table(f: &Facts, n: &mut Numbers) -> Block {
    let rows = f
        .applications
        .iter()
        .map(|app| {
            let (state, letter) = match &app.poc {
                Some(p) if p.done => (
                    "Lulus PoC".to_owned(),
                    match (&p.letter, p.date) {
                        (Some(l), Some(d)) => format!("{l}, {}", date_long(d)),
                        (Some(l), None) => l.clone(),
                        (None, Some(d)) => date_long(d),
                        (None, None) => "(belum dicatat)".to_owned(),
                    },
                ),
                _ => (
                    "Belum lulus PoC (kuota PoC atau sandbox)".to_owned(),
                    "-".to_owned(),
                ),
            };
            vec![app.name.clone(), state, letter]
        })
        .collect();
    table(
        &n.table("Status PoC tiap aplikasi"),
        &["Aplikasi", "Status", "Surat hasil PoC"],
        rows,
        &[Align::Left, Align::Left, Align::Left],
    )
}

fn poc_words(a: &Agreement) -> String {
    if a.poc_done {
        format!(
            "Proof of Concept telah dilaksanakan. Sesuai Juknis II.B.2, hak akses {} melalui \
             Web Portal tidak dibatasi kuota dan dipergunakan sesuai tujuan pemanfaatan dan \
             ketentuan peraturan perundang-undangan. Setiap penambahan aplikasi yang mengakses \
             data kependudukan wajib dilakukan PoC dan diikuti perubahan dokumen petunjuk teknis \
             (Juknis II.D.1 dan II.D.3).",
            a.opd
        )
    } else {
        format!(
            "Proof of Concept belum dilaksanakan. Selama PoC belum selesai, hak akses {} \
             melalui Web Portal dibatasi {} (Juknis II.B.1). Tahap berikutnya sesuai Juknis II.D.2: \
             OPD bersurat perihal permohonan PoC kepada Dirjen Dukcapil melalui Dinas Dukcapil \
             Kabupaten Bandung, menerima jadwal pelaksanaan PoC, dan setelah PoC selesai menerima \
             surat hasil PoC dan spesifikasi teknis akses Production; sesudahnya akses tidak \
             dibatasi kuota (Juknis II.B.2).",
            a.opd,
            match a.quota {
                Quota::PerDay(l) => format!("{} hit NIK per hari", count(u64::from(l))),
                Quota::Unlimited => "kuota sesuai PKS".to_owned(),
            }
        )
    }
}

fn balikan_blocks(f: &Facts, n: &mut Numbers) -> Vec<Block> {
    let Some(c) = &f.balikan else {
        return vec![text(
            "Perangkat ini tidak memiliki antrean data balikan: tidak ada data balikan yang \
             dikirim melalui perangkat selama periode laporan.",
        )];
    };
    vec![
        text(
            "Data balikan (NIK, nomor ID penerima bantuan, jenis bantuan PKH/PBI) dikirim melalui \
             layanan web data balikan Dinas Dukcapil Kabupaten Bandung (Juknis III). Data yang \
             sudah diterima layanan dihapus dari perangkat; yang tersisa hanya nilai hash untuk \
             audit.",
        ),
        table(
            &n.table("Data balikan"),
            &["Uraian", "Jumlah"],
            vec![
                vec!["Masuk antrean selama periode".to_owned(), count(c.queued)],
                vec![
                    "Terkirim dan diterima layanan selama periode".to_owned(),
                    count(c.delivered),
                ],
                vec![
                    "Ditolak layanan selama periode (perlu diperbaiki)".to_owned(),
                    count(c.rejected),
                ],
                vec![
                    "Menunggu pengiriman saat laporan disusun".to_owned(),
                    count(c.pending_now),
                ],
            ],
            &[Align::Left, Align::Right],
        ),
    ]
}

/// The KTP-el section (Juknis IV) for staff to complete: the appliance sees the card readers
/// on Lampiran I, not their use, so it writes the questions and leaves the answers blank
/// rather than a figure it did not measure.
fn ktp_el_blocks(f: &Facts, n: &mut Numbers) -> Vec<Block> {
    let blank = "........................".to_owned();
    vec![
        text(format!(
            "Topologi jaringan (Lampiran I) mencantumkan perangkat pembaca KTP-el: {}. \
             Penggunaannya tidak dapat diamati oleh perangkat pemantau; tabel berikut diisi oleh \
             petugas OPD sebelum laporan disampaikan.",
            f.card_readers.join(", ")
        )),
        table(
            &n.table("Pemanfaatan KTP-el (diisi oleh petugas OPD)"),
            &["No", "Uraian", "Isian"],
            [
                "Jumlah perangkat pembaca KTP-el yang digunakan",
                "Jumlah pembacaan KTP-el selama periode laporan",
                "Kartu SAM aktif sampai tanggal (Juknis IV.E)",
                "Data yang disimpan setelah diverifikasi dan disetujui penduduk (Juknis IV.F)",
                "Data balikan atas penggunaan perangkat pembaca (Juknis IV.G)",
                "Kendala dan tindak lanjut",
            ]
            .iter()
            .enumerate()
            .map(|(i, q)| vec![(i + 1).to_string(), (*q).to_owned(), blank.clone()])
            .collect(),
            &[Align::Center, Align::Left, Align::Left],
        ),
    ]
}

/// What a check found, in words for the table.
fn check_words(f: &Facts, c: &Check) -> String {
    match &c.finding {
        Finding::AuditIntact { entries } => format!(
            "Rantai hash utuh: {} entri diperiksa, tidak ada entri yang diubah, dihapus atau \
             dipindahkan.",
            count(*entries)
        ),
        Finding::AuditBroken { entries, problems } => format!(
            "Rantai hash TIDAK UTUH: {} masalah pada {} entri yang diperiksa.",
            count(*problems),
            count(*entries)
        ),
        Finding::AuditMissing { lookups: 0 } => "Log audit akses tidak ditemukan pada perangkat; \
                                                 tidak ada entri untuk diperiksa."
            .to_owned(),
        Finding::AuditMissing { lookups } => format!(
            "Log audit akses tidak ditemukan pada perangkat, padahal pencatat kuota mencatat {} \
             permintaan yang diteruskan ke Dukcapil: permintaan tersebut tidak tercatat atau \
             catatannya telah dihapus.",
            count(*lookups)
        ),
        Finding::AuditUnreadable { why } => format!("Log audit akses tidak dapat dibaca: {why}"),
        Finding::Scanned {
            hits,
            files,
            bytes,
            unreadable,
        } => {
            let mut s = format!(
                "{} rangkaian angka berbentuk NIK ditemukan pada {} berkas ({} bita) di \
                 direktori kerja perangkat. {}",
                count(*hits),
                count(*files),
                count(*bytes),
                f.scan_exclusion_reason
            );
            if !unreadable.is_empty() {
                s.push_str(&format!(
                    " {} berkas tidak dapat dibaca: {}.",
                    unreadable.len(),
                    unreadable.join(", ")
                ));
            }
            s
        }
        Finding::QuotaUnlimited => "Akses tidak dibatasi kuota setelah PoC.".to_owned(),
        Finding::QuotaUnused { limit } => format!(
            "Tidak ada pemakaian kuota; batas {} hit per hari.",
            count(*limit)
        ),
        Finding::QuotaWithin {
            limit,
            peak_day,
            peak,
        } => format!(
            "Pemakaian tertinggi {} dari {} hit pada {}.",
            count(*peak),
            count(*limit),
            date_long(*peak_day)
        ),
        Finding::QuotaOver { limit, days } => format!(
            "Pemakaian melebihi {} hit pada {} hari.",
            count(*limit),
            count(*days)
        ),
    }
}

fn conclusions(f: &Facts, found: &Findings) -> Vec<String> {
    let mut out = Vec::new();
    let look = &found.lookups;
    if look.counts.total == 0 {
        out.push("Tidak ada permintaan cek NIK selama periode laporan.".to_owned());
    } else {
        out.push(format!(
            "Tercatat {} permintaan cek NIK oleh {} operator dan {} aplikasi; {} diteruskan ke \
             Dukcapil dan {} mendapatkan data.",
            count(look.counts.total),
            look.callers_of("operator"),
            look.callers_of("application"),
            count(look.counts.forwarded),
            count(look.counts.found)
        ));
    }
    let q = &found.quota;
    match found.limit {
        Some(_) if q.over.is_empty() => {
            out.push(match q.peak {
                Some((d, u)) => format!(
                    "Kuota harian tidak pernah terlampaui (tertinggi {} hit pada {}{}).",
                    count(u),
                    date_long(d),
                    if q.at_limit > 0 {
                        format!("; kuota habis terpakai pada {} hari", count(q.at_limit))
                    } else {
                        String::new()
                    }
                ),
                None => "Kuota harian tidak pernah terlampaui.".to_owned(),
            });
        }
        Some(l) => out.push(format!(
            "Kuota harian {} hit terlampaui pada {} hari.",
            count(l),
            count(q.over_limit())
        )),
        None => out.push("Akses tidak dibatasi kuota (PoC telah dilaksanakan).".to_owned()),
    }
    if found.incidents.count == 0 {
        out.push("Tidak terjadi gangguan jalur selama periode laporan.".to_owned());
    } else {
        out.push(format!(
            "Terjadi {} gangguan jalur dengan total durasi {}.",
            count(found.incidents.count),
            duration_words(found.incidents.seconds)
        ));
    }
    for x in found.availability.iter().filter(|x| x.rounds > 0) {
        out.push(format!(
            "Ketersediaan {} {}: {}.",
            match x.subject {
                Subject::Path => "jalur",
                Subject::Link => "tautan",
            },
            x.name,
            percent(x.ok_rounds, x.rounds)
        ));
    }
    out.push(if f.agreement.poc_done {
        "Proof of Concept telah dilaksanakan.".to_owned()
    } else {
        "Proof of Concept belum dilaksanakan; kuota harian tetap berlaku.".to_owned()
    });
    if let Some(c) = &found.balikan {
        out.push(format!(
            "Data balikan: {} terkirim, {} ditolak layanan, {} menunggu pengiriman.",
            count(c.delivered),
            count(c.rejected),
            count(c.pending_now)
        ));
    }
    for c in [Rule::AuditChain, Rule::ZeroStorage]
        .into_iter()
        .filter_map(|r| found.check(r))
    {
        out.push(match &c.finding {
            Finding::AuditIntact { entries } => format!(
                "Log audit akses utuh ({} entri diperiksa).",
                count(*entries)
            ),
            Finding::Scanned { files, .. } if c.verdict.kept() => format!(
                "Tidak ditemukan NIK tersimpan pada {} berkas perangkat (zero storage).",
                count(*files)
            ),
            _ => format!("{}: {}", c.rule.name(), check_words(f, c)),
        });
    }
    out
}

pub mod findings;

#[cfg(test)]
mod tests;
