//! The report's text from hand-made facts: every number a reader checks.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use chrono::{DateTime, NaiveDate, Utc};

use super::*;
use crate::report::holidays::Calendar;
use crate::report::scan::{FileScan, Scan};
use crate::topology::Element;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn tally(d: &str, kind: &str, caller: &str, status: &str, forwarded: bool, count: u64) -> Tally {
    Tally {
        day: day(d),
        caller_kind: kind.into(),
        caller: caller.into(),
        status: status.into(),
        forwarded,
        count,
    }
}

fn agreement() -> Agreement {
    Agreement {
        opd: "Dinas Sosial Kabupaten Bandung".into(),
        dukcapil: "Dinas Kependudukan dan Pencatatan Sipil Kabupaten Bandung".into(),
        pks_dukcapil: Some("470/001/PKS/Disdukcapil/2025".into()),
        pks_opd: Some("000/001/PKS/Dinsos/2025".into()),
        report_email: Some("laporan@dukcapil.example.go.id".into()),
        pks_date: Some("2025-06-02".into()),
        purpose: "verifikasi dan validasi calon penerima bantuan sosial".into(),
        quota: Quota::PerDay(200),
        poc_done: false,
        uses_mobile_app: true,
        elements: Element::NINE.to_vec(),
        contacts: Vec::new(),
        purposes: Vec::new(),
        before_poc: crate::topology::BeforePoc::Quota,
        end_user_required: false,
        lookups_per_minute: 10,
        start: None,
        end: None,
    }
}

/// An empty semester 2026-2, reported after it ended.
fn empty() -> Facts {
    let cal = Calendar::embedded().unwrap();
    let sem: Semester = "2026-2".parse().unwrap();
    Facts {
        semester: sem,
        generated_at: at("2027-01-04T03:00:00Z"),
        agreement: agreement(),
        applications: Vec::new(),
        card_readers: Vec::new(),
        lookups: Some(Vec::new()),
        quota_days: Some(Vec::new()),
        availability: Vec::new(),
        incidents: Vec::new(),
        balikan: None,
        audit: AuditCheck::Intact { entries: 0 },
        scan: Scan {
            files: vec![FileScan {
                path: "juknis.db".into(),
                bytes: 4096,
                hits: 0,
            }],
            excluded: Vec::new(),
            unreadable: Vec::new(),
        },
        scan_exclusion_reason: "outbox.sqlite tidak dipindai.".into(),
        deadline: cal.report_deadline(sem.last_day()),
        holiday_years: vec![(2027, cal.year(2027).cloned())],
    }
}

/// A semester with look-ups by two operators and one application, a day at the quota, three
/// incidents and an outbox.
fn busy() -> Facts {
    let mut f = empty();
    f.lookups = Some(vec![
        tally("2026-07-01", "operator", "siti", "found", true, 150),
        tally("2026-07-01", "operator", "siti", "not_found", true, 50),
        tally(
            "2026-07-01",
            "operator",
            "siti",
            "quota_exhausted",
            false,
            7,
        ),
        tally("2026-08-14", "operator", "budi", "found", true, 30),
        tally(
            "2026-08-14",
            "operator",
            "budi",
            "refused_pattern",
            false,
            4,
        ),
        tally("2026-08-14", "application", "siks-ng", "found", true, 60),
        tally(
            "2026-08-14",
            "application",
            "siks-ng",
            "link_down",
            false,
            6,
        ),
        tally("2026-12-31", "application", "siks-ng", "deceased", true, 3),
    ]);
    f.quota_days = Some(vec![
        (day("2026-07-01"), 200),
        (day("2026-08-14"), 90),
        (day("2026-12-31"), 3),
    ]);
    f.applications = vec![
        super::Application {
            name: "SIKS-NG".into(),
            poc: Some(crate::topology::Poc {
                done: true,
                letter: Some("470/PoC/2026".into()),
                date: Some(day("2026-03-02")),
            }),
        },
        super::Application {
            name: "Aplikasi Mobile Pendamping".into(),
            poc: None,
        },
    ];
    f.availability = vec![Availability {
        subject: Subject::Path,
        id: "portal".into(),
        name: "Web Portal (portal)".into(),
        measured_at: Some("Web Portal".into()),
        rounds: 2000,
        ok_rounds: 1990,
        planned_s: 0,
    }];
    // 1 h + 3 h + 12 min = 4 jam 12 menit.
    f.incidents = vec![
        Incident {
            subject: "Web Portal (portal)".into(),
            state: "down".into(),
            reason: "tidak terjangkau mulai antara Router OPD dan Router Diskominfo".into(),
            started: at("2026-07-10T01:00:00Z"),
            ended: Some(at("2026-07-10T02:00:00Z")),
            cause: Some("kabel FO putus di Jl. Merdeka".into()),
            ticket: Some("TT-2026-0042".into()),
        },
        Incident {
            subject: "Web Portal (portal)".into(),
            state: "degraded".into(),
            reason: "rugi paket 12%".into(),
            started: at("2026-09-01T00:00:00Z"),
            ended: Some(at("2026-09-01T03:00:00Z")),
            cause: None,
            ticket: None,
        },
        Incident {
            subject: "Data Balikan (balikan)".into(),
            state: "down".into(),
            reason: "TLS gagal".into(),
            started: at("2026-11-02T05:00:00Z"),
            ended: Some(at("2026-11-02T05:12:00Z")),
            cause: None,
            ticket: None,
        },
    ];
    f.balikan = Some(PeriodCounts {
        queued: 120,
        delivered: 100,
        rejected: 5,
        pending_now: 15,
    });
    f.audit = AuditCheck::Intact { entries: 310 };
    f
}

#[test]
fn the_cover_names_the_semester_the_agreement_and_the_deadline() {
    let doc = build(&busy());
    assert_eq!(
        doc.title,
        "Laporan Penggunaan Hak Akses Data Kependudukan Semester II Tahun 2026"
    );
    let cover: std::collections::BTreeMap<_, _> = doc.cover.iter().cloned().collect();
    assert_eq!(cover["Periode laporan"], "1 Juli – 31 Desember 2026");
    assert_eq!(cover["Nomor PKS OPD"], "000/001/PKS/Dinsos/2025");
    assert_eq!(cover["Tanggal PKS"], "2 Juni 2025");
    assert_eq!(
        cover["Batas penyampaian"],
        "paling lambat Senin, 18 Januari 2027 (perkiraan)"
    );
    let t = doc.plain_text();
    assert!(
        t.contains("paling lambat Senin, 18 Januari 2027 (perkiraan)."),
        "{t}"
    );
    assert!(t.contains("Jumat, 1 Januari 2027 (libur nasional, Tahun Baru 2027 Masehi)"));
    assert!(t.contains("belum ditetapkan dengan SKB"));
}

#[test]
fn look_ups_are_counted_per_month_status_and_caller() {
    let t = build(&busy()).plain_text();
    // 310 in all, 293 forwarded, 240 found, 17 not sent, on 3 days.
    assert!(
        t.contains("tercatat 310 permintaan cek NIK pada 3 hari. Sebanyak 293 permintaan (94,52%)"),
        "{t}"
    );
    assert!(t.contains("Juli 2026 | 207 | 200 | 150 | 7 | 1"), "{t}");
    assert!(t.contains("Agustus 2026 | 100 | 90 | 90 | 10 | 1"), "{t}");
    assert!(t.contains("September 2026 | 0 | 0 | 0 | 0 | 0"), "{t}");
    assert!(t.contains("Jumlah | 310 | 293 | 240 | 17 | 3"), "{t}");
    assert!(
        t.contains("Berhasil, data ditemukan | found | Ya | 240 | 77,42%"),
        "{t}"
    );
    assert!(t.contains("Kuota harian habis (ditahan, tidak dikirim) | quota_exhausted (lokal) | Tidak | 7 | 2,26%"), "{t}");
    assert!(
        t.contains(
            "Ditolak aturan: NIK berurutan atau berpola | refused_pattern (lokal) | Tidak | 4"
        ),
        "{t}"
    );
    assert!(
        t.contains(
            "Jalur terputus (tidak dikirim, kuota tidak terpakai) | link_down (lokal) | Tidak | 6"
        ),
        "{t}"
    );
    assert!(
        t.contains("Data ditemukan, meninggal dunia | deceased | Ya | 3"),
        "{t}"
    );
    assert!(
        t.contains("Operator | siti | 207 | 200 | 150 | 7 | 1"),
        "{t}"
    );
    assert!(t.contains("Operator | budi | 34 | 30 | 30 | 4 | 1"), "{t}");
    assert!(
        t.contains("Aplikasi | siks-ng | 69 | 63 | 60 | 6 | 2"),
        "{t}"
    );
    assert!(t.contains("oleh 2 operator dan 1 aplikasi"), "{t}");
}

#[test]
fn quota_use_peak_and_days_at_the_limit() {
    let t = build(&busy()).plain_text();
    assert!(
        t.contains("Pemakaian tertinggi | 200 hit pada Rabu, 1 Juli 2026 (100,00% dari kuota)"),
        "{t}"
    );
    assert!(t.contains("Hari kuota habis terpakai | 1 hari"), "{t}");
    assert!(
        t.contains("Permintaan ditahan karena kuota habis | 7 permintaan pada 1 hari"),
        "{t}"
    );
    assert!(
        t.contains("Rata-rata per hari dengan akses | 97,7 hit"),
        "{t}"
    );
    assert!(
        t.contains("Rata-rata per hari kalender | 1,6 hit (184 hari)"),
        "{t}"
    );
    assert!(t.contains("Kuota harian tidak pernah terlampaui (tertinggi 200 hit pada 1 Juli 2026; kuota habis terpakai pada 1 hari)."), "{t}");
}

#[test]
fn a_day_over_the_limit_fails_the_quota_check() {
    let mut f = busy();
    f.quota_days = Some(vec![(day("2026-07-01"), 201)]);
    let t = build(&f).plain_text();
    assert!(
        t.contains(
            "Kuota harian tidak terlampaui | Tidak sesuai | Pemakaian melebihi 200 hit pada 1 hari."
        ),
        "{t}"
    );
    assert!(
        t.contains("Kuota harian 200 hit terlampaui pada 1 hari."),
        "{t}"
    );
}

#[test]
fn incidents_and_availability() {
    let t = build(&busy()).plain_text();
    assert!(
        t.contains("Terjadi 3 gangguan jalur dengan total durasi 4 jam 12 menit."),
        "{t}"
    );
    assert!(t.contains("1 | 10/07/2026 08.00 | 10/07/2026 09.00 | 1 jam | Web Portal (portal) | Putus | tidak terjangkau"), "{t}");
    assert!(
        t.contains("| 12 menit | Data Balikan (balikan) | Putus | TLS gagal"),
        "{t}"
    );
    assert!(
        t.contains("Jalur | Web Portal (portal) | Web Portal | 2.000 | 1.990 | 99,50%"),
        "{t}"
    );
    assert!(
        t.contains("Ketersediaan jalur Web Portal (portal): 99,50%."),
        "{t}"
    );
}

#[test]
fn an_open_incident_counts_until_the_end_of_the_semester() {
    let mut f = empty();
    f.incidents = vec![Incident {
        subject: "Web Portal (portal)".into(),
        state: "down".into(),
        reason: "putus".into(),
        // Began before the semester: only 1 July 00:00 WIB to 3 July 00:00 WIB is counted.
        started: at("2026-06-01T00:00:00Z"),
        ended: Some(at("2026-07-02T17:00:00Z")),
        cause: None,
        ticket: None,
    }];
    let t = build(&f).plain_text();
    assert!(
        t.contains("Terjadi 1 gangguan jalur dengan total durasi 2 hari."),
        "{t}"
    );
}

#[test]
fn poc_balikan_and_compliance() {
    let t = build(&busy()).plain_text();
    assert!(t.contains("Proof of Concept belum dilaksanakan."), "{t}");
    assert!(
        t.contains("dibatasi 200 hit NIK per hari (Juknis II.B.1)"),
        "{t}"
    );
    assert!(
        t.contains("Terkirim dan diterima layanan selama periode | 100"),
        "{t}"
    );
    assert!(
        t.contains("Menunggu pengiriman saat laporan disusun | 15"),
        "{t}"
    );
    assert!(t.contains("Data balikan: 100 terkirim, 5 ditolak layanan, 15 menunggu pengiriman."));
    assert!(t.contains("Keutuhan log audit akses (rantai hash) | Sesuai | Rantai hash utuh: 310 entri diperiksa"), "{t}");
    assert!(t.contains("Tidak ada penyimpanan data kependudukan (zero storage) | Sesuai | 0 rangkaian angka berbentuk NIK ditemukan pada 1 berkas"), "{t}");
    assert!(t.contains("outbox.sqlite tidak dipindai."), "{t}");
    let mut f = busy();
    f.agreement.poc_done = true;
    f.agreement.quota = Quota::Unlimited;
    let t = build(&f).plain_text();
    assert!(t.contains("Proof of Concept telah dilaksanakan."), "{t}");
    assert!(t.contains("Akses tidak dibatasi kuota"), "{t}");
}

#[test]
fn a_broken_chain_and_a_stored_nik_are_reported_as_failures() {
    let mut f = busy();
    f.audit = AuditCheck::Broken {
        entries: 310,
        problems: vec![
            Problem::Edited { seq: 17 },
            Problem::Deleted { from: 20, to: 22 },
        ],
    };
    f.scan.files.push(FileScan {
        path: "cache/export.csv".into(),
        bytes: 100,
        hits: 2,
    });
    let t = build(&f).plain_text();
    assert!(
        t.contains("Rantai hash TIDAK UTUH: 2 masalah pada 310 entri"),
        "{t}"
    );
    assert!(
        t.contains("- entri 17 diubah (hash tidak sesuai dengan isinya)"),
        "{t}"
    );
    assert!(t.contains("- entri 20 sampai 22 dihapus"), "{t}");
    assert!(
        t.contains("Tidak sesuai | 2 rangkaian angka berbentuk NIK ditemukan pada 2 berkas"),
        "{t}"
    );
    assert!(t.contains("- cache/export.csv: 2 rangkaian"), "{t}");
}

#[test]
fn an_empty_semester_says_there_were_no_look_ups() {
    let t = build(&empty()).plain_text();
    assert!(
        t.contains("Tidak ada permintaan cek NIK selama periode laporan"),
        "{t}"
    );
    assert!(
        t.contains("Tidak ada kuota yang terpakai selama periode laporan."),
        "{t}"
    );
    assert!(
        t.contains("Tidak tercatat gangguan jalur selama periode laporan."),
        "{t}"
    );
    assert!(t.contains("tidak memiliki antrean data balikan"), "{t}");
    assert!(!t.contains("Gambar 1."), "no chart without data: {t}");
}

#[test]
fn a_report_before_the_semester_ends_says_so_and_stops_at_today() {
    let mut f = busy();
    f.generated_at = at("2026-11-26T21:00:00Z");
    let t = build(&f).plain_text();
    assert!(t.contains("semester ini belum berakhir. Data dalam laporan ini sampai dengan 27 November 2026 pukul 04.00 WIB"), "{t}");
    assert!(t.contains("November 2026 |"), "{t}");
    assert!(!t.contains("Desember 2026 |"), "{t}");
    assert!(
        t.contains("Rata-rata per hari kalender | 2,0 hit (150 hari)"),
        "{t}"
    );
}

#[test]
fn the_daily_chart_has_a_point_per_day_and_the_quota_line() {
    let doc = build(&busy());
    let fig = doc
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Figure(f) => Some(f),
            _ => None,
        })
        .unwrap();
    let XAxis::Time(x) = &fig.chart.x else {
        panic!("time axis")
    };
    assert_eq!(x.len(), 184);
    assert_eq!(fig.chart.series[0].values[0], Some(207.0));
    assert_eq!(fig.chart.series[1].values[0], Some(200.0));
    assert_eq!(
        fig.chart.rules,
        vec![("Kuota harian (200)".to_owned(), 200.0)]
    );
}

#[test]
fn the_text_never_holds_a_nik() {
    let t = build(&busy()).plain_text();
    assert_eq!(crate::report::scan::count_in(t.as_bytes()), 0);
}

#[test]
fn document_text_snapshot() {
    insta::assert_snapshot!(build(&busy()).plain_text());
}

#[test]
fn each_incident_lists_its_recorded_cause_or_says_none_was_recorded() {
    let t = build(&busy()).plain_text();
    assert!(
        t.contains("| kabel FO putus di Jl. Merdeka (tiket TT-2026-0042)"),
        "{t}"
    );
    assert_eq!(t.matches("penyebab belum dicatat").count(), 2, "{t}");
}

/// The verdicts as data (issue 19): what the checks find, asserted without reading the prose.
mod findings;

#[test]
fn the_soft_copy_goes_to_the_address_the_juknis_gives() {
    let t = build(&busy()).plain_text();
    assert!(
        t.contains("Soft copy dikirim ke: laporan@dukcapil.example.go.id"),
        "{t}"
    );
    assert!(
        t.contains("sebagaimana Juknis V.B, ke alamat laporan@dukcapil.example.go.id."),
        "{t}"
    );
    let mut f = busy();
    f.agreement.report_email = None;
    let t = build(&f).plain_text();
    assert!(
        t.contains("agreement.report_email"),
        "says what to fill in: {t}"
    );
}

#[test]
fn a_card_reader_on_lampiran_i_gets_a_ktp_el_section_for_staff_to_complete() {
    let t = build(&busy()).plain_text();
    assert!(
        !t.contains("Pemanfaatan KTP-el"),
        "no reader, no section: {t}"
    );
    let mut f = busy();
    f.card_readers = vec!["Card Reader Loket 1".into()];
    let t = build(&f).plain_text();
    assert!(
        t.contains("C. Pemanfaatan KTP-el melalui Perangkat Pembaca (Card Reader)"),
        "{t}"
    );
    assert!(t.contains("Card Reader Loket 1"), "{t}");
    assert!(
        t.contains("Kartu SAM aktif sampai tanggal (Juknis IV.E) | ........................"),
        "left blank, not guessed: {t}"
    );
}
