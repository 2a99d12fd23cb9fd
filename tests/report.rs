//! The semester report from a real state dir: audit entries through the gate's audit writer,
//! the quota through its counter, probe rounds and incidents through the store, data balikan
//! through the outbox. The counts are known, so the document's numbers are checked; the state
//! dir must come out unchanged. Synthetic NIKs only.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use juknis::gate::audit::{self, Entry};
use juknis::gate::secrets::HmacKey;
use juknis::gate::{ManualClock, quota::Quota};
use juknis::outbox::Outbox;
use juknis::report::calendar::{date_with_weekday, wib_midnight};
use juknis::report::holidays::Calendar;
use juknis::report::{self, Semester};
use juknis::store::{Sample, Store};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn demo() -> juknis::topology::Topology {
    juknis::topology::load(&root().join("topology/demo.yaml")).unwrap()
}

/// The semester we are in: the outbox stamps records with the real clock.
fn this_semester() -> Semester {
    let today = juknis::report::calendar::wib_day(Utc::now());
    Semester::new(today.year(), if today.month() <= 6 { 1 } else { 2 }).unwrap()
}

/// A synthetic NIK of kecamatan Cileunyi (32.04.05), serial `n`.
fn nik(n: u32) -> String {
    format!("3204051708{:02}{:04}", 80 + n % 20, n + 1)
}

/// Report time: two days after the semester, so every number is final.
fn report_time(s: Semester) -> DateTime<Utc> {
    s.bounds().1 + chrono::Duration::days(2)
}

/// WIB day `first + offset` at hh:mm WIB.
fn wib(day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    wib_midnight(day) + chrono::Duration::minutes(i64::from(h * 60 + m))
}

struct Seeded {
    semester: Semester,
    day_a: NaiveDate,
    day_b: NaiveDate,
}

/// Seed `dir`: 14 look-ups in the semester (10 forwarded, 8 found) and one the minute before,
/// quota 7 and 3 on two days, 20 probe rounds with 19 ok, three incidents totalling 4 h 12 min,
/// five data balikan records (2 delivered, 1 rejected, 2 pending).
fn seed(dir: &Path) -> Seeded {
    let s = this_semester();
    let day_a = s.first_day();
    let day_b = day_a + chrono::Duration::days(40);
    let key = HmacKey::load_or_create(dir).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let log = audit::Log::open(dir).unwrap();
        let mut n = 0;
        let mut add = |at: DateTime<Utc>, kind: &str, who: &str, status: &str, fwd: bool| {
            n += 1;
            Entry {
                at,
                caller_kind: kind.into(),
                caller: who.into(),
                purpose: "verifikasi calon penerima bansos".into(),
                nik_hmac: hex::encode(key.tag(nik(n).as_bytes())),
                status: status.into(),
                route: if fwd { "primary".into() } else { String::new() },
                end_user: String::new(),
                latency: Duration::from_millis(120),
                forwarded: fwd,
            }
        };
        let mut entries = vec![
            // 23:59 WIB the day before the semester: not counted.
            add(
                wib(day_a, 0, 0) - chrono::Duration::minutes(1),
                "operator",
                "siti",
                "found",
                true,
            ),
            // 00:00 WIB on its first day: counted.
            add(wib(day_a, 0, 0), "operator", "siti", "found", true),
        ];
        for _ in 0..4 {
            entries.push(add(wib(day_a, 9, 0), "operator", "siti", "found", true));
        }
        for _ in 0..2 {
            entries.push(add(
                wib(day_a, 10, 0),
                "operator",
                "siti",
                "not_found",
                true,
            ));
        }
        entries.push(add(
            wib(day_a, 10, 1),
            "operator",
            "siti",
            "refused_pattern",
            false,
        ));
        for _ in 0..3 {
            entries.push(add(
                wib(day_b, 14, 0),
                "application",
                "siks-ng",
                "found",
                true,
            ));
        }
        for _ in 0..2 {
            entries.push(add(
                wib(day_b, 15, 0),
                "application",
                "siks-ng",
                "link_down",
                false,
            ));
        }
        entries.push(add(
            wib(day_b, 23, 59),
            "application",
            "siks-ng",
            "quota_exhausted",
            false,
        ));
        for e in entries {
            log.append(e).await.unwrap();
        }
    });
    drop(rt);

    let clock = Arc::new(ManualClock::new(wib(day_a, 9, 0)));
    let q = Quota::open(dir, Some(200), clock.clone()).unwrap();
    for _ in 0..7 {
        let _ = q.reserve().unwrap().unwrap();
    }
    clock.set(wib(day_b, 14, 0));
    for _ in 0..3 {
        let _ = q.reserve().unwrap().unwrap();
    }
    drop(q);

    let mut store = Store::open(&dir.join("juknis.db")).unwrap();
    let sample = |t: DateTime<Utc>, ok: bool| Sample {
        ts_ms: t.timestamp_millis(),
        node: "web-portal".into(),
        profile: "icmp".into(),
        kind: "icmp".into(),
        ok,
        state: if ok { "healthy" } else { "down" }.into(),
        rtt_p50_s: ok.then_some(0.02),
        rtt_p90_s: ok.then_some(0.03),
        rtt_max_s: ok.then_some(0.04),
        rtt_min_s: ok.then_some(0.01),
        loss: Some(if ok { 0.0 } else { 1.0 }),
        jitter_s: None,
        bandwidth_bps: None,
        bytes: 840,
        detail: String::new(),
        rx_bps: None,
        tx_bps: None,
    };
    let mut samples = Vec::new();
    for i in 0..10 {
        samples.push(sample(wib(day_a, 8, i * 5), i != 3));
        samples.push(sample(wib(day_b, 8, i * 5), true));
        // Before the semester: not counted.
        samples.push(sample(wib(day_a, 0, 0) - chrono::Duration::hours(2), false));
    }
    store.insert(&samples).unwrap();
    let (from, to) = (
        wib(day_a, 0, 0).timestamp() - 86_400,
        wib(day_b, 0, 0).timestamp() + 86_400,
    );
    store.rollup(60, from, to).unwrap();
    store.rollup(3600, from, to).unwrap();
    let t = |d: NaiveDate, h: u32| wib(d, h, 0).timestamp();
    store
        .record_state("portal", "down", "tidak terjangkau", t(day_a, 11))
        .unwrap();
    store
        .record_state("portal", "healthy", "", t(day_a, 12))
        .unwrap();
    store
        .record_state("portal", "degraded", "rugi paket 12%", t(day_b, 1))
        .unwrap();
    store
        .record_state("portal", "healthy", "", t(day_b, 1) + 720)
        .unwrap();
    store
        .record_state("balikan", "down", "TLS gagal", t(day_b, 2))
        .unwrap();
    store
        .record_state("balikan", "healthy", "", t(day_b, 5))
        .unwrap();
    // A technician took on the first outage and recorded its cause with the provider's ticket.
    let first = store
        .incidents_overlapping(t(day_a, 11), t(day_a, 11) + 1)
        .unwrap()[0]
        .id;
    store
        .acknowledge(first, "tech", t(day_a, 11) + 300)
        .unwrap();
    store
        .add_note(
            first,
            "tech",
            juknis::store::NoteKind::Cause,
            "kabel FO putus di Jl. Merdeka",
            Some("TT-2026-0042"),
            t(day_a, 11) + 900,
        )
        .unwrap();
    drop(store);

    let ob = Outbox::open(dir).unwrap();
    let mut csv = String::from("nik,id_penerima,jenis_bantuan\n");
    for i in 0..5 {
        csv.push_str(&format!("{},PKH-{i},PKH\n", nik(100 + i)));
    }
    let r = ob.import_csv("uji.csv", csv.as_bytes()).unwrap();
    assert_eq!(r.accepted, 5, "{r:?}");
    let b = ob.claim(2).unwrap().unwrap();
    ob.delivered(b.id, false).unwrap();
    let b = ob.claim(1).unwrap().unwrap();
    ob.refused(b.id, "ID penerima tidak dikenal").unwrap();
    assert_eq!(ob.counts().unwrap().pending, 2);
    drop(ob);
    Seeded {
        semester: s,
        day_a,
        day_b,
    }
}

/// Every file's name, size and modification time.
fn listing(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (m.len(), m.modified().unwrap()),
            )
        })
        .collect()
}

fn text_of(dir: &Path, s: Semester) -> (String, report::Facts) {
    let cal = Calendar::embedded().unwrap();
    let facts = report::gather(&demo(), dir, s, report_time(s), &cal).unwrap();
    (report::build(&facts).plain_text(), facts)
}

#[test]
fn a_seeded_state_dir_gives_the_known_numbers_and_is_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = seed(dir.path());
    let before = listing(dir.path());
    let (t, facts) = text_of(dir.path(), seeded.semester);
    assert_eq!(
        before,
        listing(dir.path()),
        "the report changed the state dir"
    );

    assert!(
        t.contains(
            "tercatat 14 permintaan cek NIK pada 2 hari. Sebanyak 10 permintaan (71,43%) \
             diteruskan ke Web Portal Dukcapil dan 8 di antaranya mendapatkan data (80,00% dari \
             permintaan yang diteruskan); 4 permintaan tidak dikirim"
        ),
        "{t}"
    );
    assert!(t.contains("Operator | siti | 8 | 7 | 5 | 1 | 1"), "{t}");
    assert!(t.contains("Aplikasi | siks-ng | 6 | 3 | 3 | 3 | 1"), "{t}");
    assert!(
        t.contains("Berhasil, data ditemukan | found | Ya | 8 | 57,14%"),
        "{t}"
    );
    assert!(
        t.contains("| link_down (lokal) | Tidak | 2 | 14,29%"),
        "{t}"
    );
    assert!(t.contains("| quota_exhausted (lokal) | Tidak | 1 |"), "{t}");
    assert!(
        t.contains(&format!(
            "Pemakaian tertinggi | 7 hit pada {} (3,50% dari kuota)",
            date_with_weekday(seeded.day_a)
        )),
        "{t}"
    );
    assert!(t.contains("Jumlah hit yang memakai kuota | 10"), "{t}");
    assert!(
        t.contains("| tidak terjangkau | kabel FO putus di Jl. Merdeka (tiket TT-2026-0042)"),
        "{t}"
    );
    assert!(t.contains("| TLS gagal | penyebab belum dicatat"), "{t}");
    assert!(
        t.contains("Permintaan ditahan karena kuota habis | 1 permintaan pada 1 hari"),
        "{t}"
    );
    assert!(t.contains("Kuota harian tidak pernah terlampaui"), "{t}");
    assert!(
        t.contains("Jalur | Web Portal (portal) | Web Portal | 20 | 19 | 95,00%"),
        "{t}"
    );
    assert!(
        t.contains(
            "Tautan WAN | wan-kominfo (512 Kbps, Diskominfo (demo)) | Web Portal | 20 | 19 | 95,00%"
        ),
        "{t}"
    );
    assert!(
        t.contains("Jalur | Data Balikan (balikan) | Data Balikan | 0 | 0 | tidak ada data"),
        "{t}"
    );
    assert!(
        t.contains("Terjadi 3 gangguan jalur dengan total durasi 4 jam 12 menit."),
        "{t}"
    );
    assert!(
        t.contains("| 3 jam | Data Balikan (balikan) | Putus | TLS gagal"),
        "{t}"
    );
    assert!(t.contains("Masuk antrean selama periode | 5"), "{t}");
    assert!(
        t.contains("Terkirim dan diterima layanan selama periode | 2"),
        "{t}"
    );
    assert!(
        t.contains("Ditolak layanan selama periode (perlu diperbaiki) | 1"),
        "{t}"
    );
    assert!(
        t.contains("Menunggu pengiriman saat laporan disusun | 2"),
        "{t}"
    );
    assert!(t.contains("Rantai hash utuh: 15 entri diperiksa"), "{t}");
    assert!(
        t.contains("Tidak ada penyimpanan data kependudukan (zero storage) | Sesuai | 0 rangkaian"),
        "{t}"
    );
    assert!(
        t.contains("data balikan (outbox.sqlite) tidak dipindai"),
        "{t}"
    );
    let _ = seeded.day_b;

    // The scan read the audit log, its key, the store and the quota, not the outbox, which
    // does hold its pending NIKs.
    let scanned: Vec<&str> = facts.scan.files.iter().map(|f| f.path.as_str()).collect();
    for f in [
        "audit.db",
        "audit.key",
        "juknis.db",
        "quota.db",
        "outbox.key",
    ] {
        assert!(scanned.contains(&f), "{f} not scanned: {scanned:?}");
    }
    assert!(
        !scanned.iter().any(|f| f.starts_with("outbox.sqlite")),
        "{scanned:?}"
    );
    // The pending NIKs are in the outbox's files: the database, or its write-ahead log when
    // SQLite has not checkpointed yet (that depends on timing; reading one file was flaky).
    let in_outbox: u64 = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("outbox.sqlite"))
        .map(|e| juknis::report::scan::count_in(&std::fs::read(e.path()).unwrap()))
        .sum();
    assert!(in_outbox >= 2, "the pending NIKs are there");
    assert_eq!(
        juknis::report::scan::count_in(t.as_bytes()),
        0,
        "a NIK in the report"
    );
}

#[test]
fn a_stored_nik_and_an_edited_audit_entry_fail_the_checks() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = seed(dir.path());
    std::fs::create_dir(dir.path().join("tmp")).unwrap();
    std::fs::write(
        dir.path().join("tmp/ekspor.csv"),
        format!("nik;nama\n{};(sintetis)\n", nik(7)),
    )
    .unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("audit.db")).unwrap();
    conn.execute("UPDATE audit SET status = 'found' WHERE seq = 8", [])
        .unwrap();
    drop(conn);
    let (t, _) = text_of(dir.path(), seeded.semester);
    assert!(
        t.contains(
            "Tidak ada penyimpanan data kependudukan (zero storage) | Tidak sesuai | 1 rangkaian"
        ),
        "{t}"
    );
    assert!(t.contains("- tmp/ekspor.csv: 1 rangkaian"), "{t}");
    assert!(
        t.contains("Rantai hash TIDAK UTUH: 1 masalah pada 15 entri"),
        "{t}"
    );
    assert!(t.contains("- entri 8 diubah"), "{t}");
}

#[test]
fn an_empty_state_dir_reports_no_look_ups() {
    let dir = tempfile::tempdir().unwrap();
    let s: Semester = "2026-2".parse().unwrap();
    let (t, facts) = text_of(dir.path(), s);
    assert!(
        t.contains("Log audit akses tidak ditemukan pada perangkat"),
        "{t}"
    );
    assert!(
        t.contains("Tidak ada permintaan cek NIK selama periode laporan."),
        "{t}"
    );
    assert!(t.contains("Tidak tercatat gangguan jalur"), "{t}");
    assert!(
        t.contains("paling lambat Senin, 18 Januari 2027 (perkiraan)"),
        "{t}"
    );
    assert!(facts.scan.files.is_empty());
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing created"
    );
}

#[test]
fn a_missing_state_dir_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("tidak-ada");
    let s: Semester = "2026-2".parse().unwrap();
    let e = report::gather(
        &demo(),
        &missing,
        s,
        Utc::now(),
        &Calendar::embedded().unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("tidak-ada") && e.contains("does not exist"),
        "{e}"
    );
}

fn juknis() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_juknis"));
    c.env("JUKNIS_LOG", "error").env_remove("STATE_DIRECTORY");
    c
}

#[test]
fn the_command_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = seed(dir.path());
    let out = dir.path().join("keluar").join("laporan.txt");
    let res = juknis()
        .args(["report", "semester", "--config"])
        .arg(root().join("topology/demo.yaml"))
        .args(["--semester", &seeded.semester.to_string(), "--state-dir"])
        .arg(dir.path())
        .arg("--now")
        .arg(report_time(seeded.semester).to_rfc3339())
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(res.status.success(), "{err}");
    assert!(
        err.contains("wrote") && err.contains("paling lambat"),
        "{err}"
    );
    let t = std::fs::read_to_string(&out).unwrap();
    assert!(t.starts_with(&format!(
        "Laporan Penggunaan Hak Akses Data Kependudukan Semester {} Tahun {}",
        seeded.semester.roman(),
        seeded.semester.year()
    )));
    assert!(t.contains("tercatat 14 permintaan cek NIK"), "{t}");
}

#[test]
fn bad_arguments_say_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let r = juknis()
            .args(["report", "semester", "--config"])
            .arg(root().join("topology/demo.yaml"))
            .arg("--state-dir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        (
            r.status.code(),
            String::from_utf8_lossy(&r.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--semester", "2026-3", "-o", "x.txt"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("`2026-3` is not a semester") && err.contains("YEAR-2"),
        "{err}"
    );
    let (code, err) = run(&["--semester", "2026-2", "-o", "x.odt"]);
    assert_eq!(code, Some(64));
    assert!(err.contains("x.odt: unknown report format"), "{err}");
    let bad = dir.path().join("libur.yaml");
    std::fs::write(&bad, "years:\n  - year: 2026\n    official: yes\n    source: x\n    days:\n      - {date: 2026-02-30, kind: holiday, name: X}\n").unwrap();
    let (code, err) = run(&[
        "--semester",
        "2026-2",
        "-o",
        "x.txt",
        "--holidays",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(64));
    assert!(
        err.contains("libur.yaml:6:") && err.contains("`2026-02-30` is not a date"),
        "{err}"
    );
}

#[test]
fn the_report_comes_out_as_html_docx_and_pdf_with_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = seed(dir.path());
    let mut texts = Vec::new();
    for ext in ["html", "docx", "pdf"] {
        let out = dir.path().join(format!("laporan.{ext}"));
        let res = juknis()
            .args(["report", "semester", "--config"])
            .arg(root().join("topology/demo.yaml"))
            .args(["--semester", &seeded.semester.to_string(), "--state-dir"])
            .arg(dir.path())
            .arg("--now")
            .arg(report_time(seeded.semester).to_rfc3339())
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            res.status.success(),
            "{ext}: {}",
            String::from_utf8_lossy(&res.stderr)
        );
        let text = match ext {
            "html" => std::fs::read_to_string(&out).unwrap(),
            "docx" => {
                let mut zip = zip::ZipArchive::new(std::fs::File::open(&out).unwrap()).unwrap();
                let mut xml = String::new();
                std::io::Read::read_to_string(
                    &mut zip.by_name("word/document.xml").unwrap(),
                    &mut xml,
                )
                .unwrap();
                xml
            }
            _ => {
                let r = Command::new("pdftotext")
                    .arg(&out)
                    .arg("-")
                    .output()
                    .expect("pdftotext (poppler-utils, scripts/install-deps.sh test)");
                assert!(r.status.success());
                // pdftotext breaks lines where the page does; join them for phrase checks.
                String::from_utf8_lossy(&r.stdout)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            }
        };
        texts.push((ext, text));
    }
    for (ext, t) in &texts {
        assert!(
            // The PDF's cover sets the title in capitals.
            t.to_lowercase()
                .contains("laporan penggunaan hak akses data kependudukan"),
            "{ext}"
        );
        assert!(
            t.contains("tercatat 14 permintaan cek NIK"),
            "{ext}: look-up count"
        );
        assert!(t.contains("paling lambat"), "{ext}: the deadline");
        assert_eq!(
            juknis::report::scan::count_in(t.as_bytes()),
            0,
            "{ext}: the report must not carry a NIK"
        );
    }
}

/// `juknis report availability`: the month before now by default, the text on stdout, the
/// three CSV tables for Excel, and bad months and formats refused with the reason.
#[test]
fn the_availability_command_prints_the_month_and_writes_csv_for_excel() {
    use juknis::store::Rollup;
    let dir = tempfile::tempdir().unwrap();
    let nov = wib_midnight(NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()).timestamp();
    let mut s = Store::open(&dir.path().join("juknis.db")).unwrap();
    let hour = |h: i64, ok: i64| Rollup {
        resolution_s: 3600,
        bucket_s: nov + h * 3600,
        node: "web-portal".into(),
        profile: "icmp".into(),
        rounds: 100,
        ok_rounds: ok,
        rtt_min_s: Some(0.01),
        rtt_p50_s: Some(0.02),
        rtt_p90_s: Some(0.03),
        rtt_max_s: Some(0.04),
        loss_mean: Some(0.0),
        jitter_mean_s: None,
        bandwidth_mean_bps: None,
        bytes: 0,
        rx_mean_bps: None,
        rx_max_bps: None,
        tx_mean_bps: None,
        tx_max_bps: None,
    };
    s.insert_rollups(&[hour(0, 100), hour(1, 99), hour(2, 100), hour(3, 100)])
        .unwrap();
    s.record_state("portal", "down", "Tidak ada jawaban", nov + 600)
        .unwrap();
    s.record_state("portal", "healthy", "", nov + 1500).unwrap();
    drop(s);
    let run = |args: &[&str]| {
        let r = juknis()
            .args(["report", "availability", "--config"])
            .arg(root().join("topology/demo.yaml"))
            .arg("--state-dir")
            .arg(dir.path())
            .args(["--now", "2026-12-04T10:00:00Z"])
            .args(args)
            .output()
            .unwrap();
        (
            r.status.code(),
            String::from_utf8_lossy(&r.stdout).into_owned(),
            String::from_utf8_lossy(&r.stderr).into_owned(),
        )
    };
    // No --month on 4 December: November.
    let (code, out, err) = run(&[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("November 2026"), "{out}");
    assert!(
        out.contains("Jalur Web Portal (portal): 99,75% (399 dari 400 putaran berhasil"),
        "{out}"
    );
    assert!(out.contains("terputus 15 menit dalam 1 gangguan"), "{out}");

    let csv = dir.path().join("insiden.csv");
    let (code, _, err) = run(&[
        "--month",
        "2026-11",
        "--table",
        "incidents",
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let bytes = std::fs::read(&csv).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with('\u{feff}'), "BOM for Excel");
    assert!(
        text.contains(
            "portal;Terputus;Tidak ada jawaban;2026-11-01 00:10;2026-11-01 00:25;15,0\r\n"
        ),
        "{text}"
    );

    // An earlier month has nothing measured: it says so, with no figure.
    let (code, out, _) = run(&["--month", "2026-10"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("tidak dapat ditentukan") && !out.contains('%'),
        "{out}"
    );

    let (code, _, err) = run(&["--month", "2026-13"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("TAHUN-BULAN"), "{err}");
    let (code, _, err) = run(&["-o", "x.xlsx"]);
    assert_eq!(code, Some(64));
    assert!(
        err.contains("x.xlsx: unknown format; use .csv or .txt"),
        "{err}"
    );
}
