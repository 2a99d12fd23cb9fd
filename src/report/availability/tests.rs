use std::path::PathBuf;

use chrono::TimeZone;
use rstest::rstest;

use super::*;
use crate::store::{Rollup, Store};

fn demo() -> Topology {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("topology/demo.yaml");
    crate::topology::load(&path).unwrap()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn hour(node: &str, profile: &str, bucket_s: i64, rounds: i64, ok: i64) -> Rollup {
    Rollup {
        resolution_s: 3600,
        bucket_s,
        node: node.into(),
        profile: profile.into(),
        rounds,
        ok_rounds: ok,
        rtt_min_s: Some(0.010),
        rtt_p50_s: Some(0.0125),
        rtt_p90_s: Some(0.020),
        rtt_max_s: Some(0.030),
        loss_mean: Some(0.015),
        jitter_mean_s: Some(0.002),
        bandwidth_mean_bps: None,
        bytes: 0,
        rx_mean_bps: None,
        rx_max_bps: None,
        tx_mean_bps: None,
        tx_max_bps: None,
    }
}

#[rstest]
#[case("2026-11", 2026, 11)]
#[case("2027-1", 2027, 1)]
#[case(" 2026-01 ", 2026, 1)]
fn months_parse(#[case] s: &str, #[case] y: i32, #[case] m: u32) {
    assert_eq!(s.parse::<Month>(), Ok(Month::new(y, m).unwrap()));
}

#[rstest]
#[case("2026-13")]
#[case("2026-0")]
#[case("26-11")]
#[case("2026/11")]
#[case("2026-11-01")]
#[case("")]
fn bad_months_say_the_form(#[case] s: &str) {
    let e = s.parse::<Month>().unwrap_err().to_string();
    assert!(e.contains("2026-11") && e.contains("TAHUN-BULAN"), "{e}");
}

#[test]
fn a_month_runs_from_wib_midnight_to_wib_midnight() {
    let (from, to) = Month::new(2026, 11).unwrap().bounds();
    assert_eq!(from, utc(2026, 10, 31, 17, 0));
    assert_eq!(to, utc(2026, 11, 30, 17, 0));
    let (_, to) = Month::new(2026, 12).unwrap().bounds();
    assert_eq!(to, utc(2026, 12, 31, 17, 0));
    assert_eq!(
        Month::new(2027, 1).unwrap().previous(),
        Month::new(2026, 12).unwrap()
    );
    // 1 December 05.00 WIB is still 30 November in UTC.
    assert_eq!(
        Month::of(utc(2026, 11, 30, 22, 0)),
        Month::new(2026, 12).unwrap()
    );
    assert_eq!(Month::new(2026, 11).unwrap().name(), "November 2026");
}

/// A state dir with November 2026's measurements of the portal and an outage that began in
/// October and one inside November.
fn state_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join(STORE_FILE)).unwrap();
    let (from, _) = Month::new(2026, 11).unwrap().bounds();
    let from = from.timestamp();
    // 10 hours: 9 with every round answered, one with half: 570 of 600 rounds.
    let mut rows: Vec<Rollup> = (0..10)
        .map(|h| {
            hour(
                "web-portal",
                "icmp",
                from + h * 3600,
                60,
                if h == 3 { 30 } else { 60 },
            )
        })
        .collect();
    // October's rounds do not count in November.
    rows.push(hour("web-portal", "icmp", from - 3600, 60, 0));
    s.insert_rollups(&rows).unwrap();
    // Down from 30 Oct 23.00 WIB to 1 Nov 01.00 WIB: one hour of it in November.
    s.record_state(
        "portal",
        "down",
        "Tidak ada jawaban mulai Router Diskominfo",
        from - 3600,
    )
    .unwrap();
    s.record_state("portal", "healthy", "", from + 3600)
        .unwrap();
    // Degraded for 30 minutes on 2 November, with a reason that has the separator in it.
    s.record_state(
        "portal",
        "degraded",
        "rugi paket 25%; RTT tinggi",
        from + 86_400,
    )
    .unwrap();
    s.record_state("portal", "healthy", "", from + 86_400 + 1800)
        .unwrap();
    dir
}

#[test]
fn a_month_counts_its_own_rounds_and_incident_time_only() {
    let dir = state_dir();
    let m = gather(
        &demo(),
        dir.path(),
        Month::new(2026, 11).unwrap(),
        utc(2027, 1, 1, 0, 0),
    )
    .unwrap();
    let portal = m
        .rows
        .iter()
        .find(|r| r.availability.id == "portal")
        .unwrap();
    assert_eq!(
        (portal.availability.rounds, portal.availability.ok_rounds),
        (600, 570)
    );
    assert_eq!(portal.percent(), Some(95.0));
    assert_eq!(
        portal.down_s,
        Some(3600),
        "only November's hour of the outage"
    );
    assert_eq!(portal.degraded_s, Some(1800));
    assert_eq!(portal.incidents, Some(2));
    // The data balikan service has no probes in the demo: no figure, and it says why.
    let balikan = m
        .rows
        .iter()
        .find(|r| r.availability.id == "balikan")
        .unwrap();
    assert_eq!(balikan.percent(), None);
    assert!(
        balikan
            .why_none()
            .unwrap()
            .starts_with("tidak dapat ditentukan")
    );
    // Links have no incidents of their own.
    let wan = m
        .rows
        .iter()
        .find(|r| r.availability.id == "wan-kominfo")
        .unwrap();
    assert_eq!((wan.down_s, wan.incidents), (None, None));
    let text = m.text();
    assert!(
        text.contains("Ketersediaan jalur dan tautan, November 2026"),
        "{text}"
    );
    assert!(
        text.contains("95,00% (570 dari 600 putaran berhasil"),
        "{text}"
    );
    assert!(text.contains("terputus 1 jam dalam 2 gangguan"), "{text}");
    assert!(text.contains("tidak dapat ditentukan"), "{text}");
}

#[test]
fn the_current_month_ends_now() {
    let dir = state_dir();
    let (from, _) = Month::new(2026, 11).unwrap().bounds();

    let now = from + chrono::Duration::hours(5);
    let m = gather(&demo(), dir.path(), Month::new(2026, 11).unwrap(), now).unwrap();
    assert_eq!(m.to, now);
    let portal = m
        .rows
        .iter()
        .find(|r| r.availability.id == "portal")
        .unwrap();
    assert_eq!(
        (portal.availability.rounds, portal.availability.ok_rounds),
        (300, 270)
    );
    assert_eq!(portal.incidents, Some(1), "2 November is after now");
}

#[test]
fn csv_opens_in_excel_with_semicolons_and_decimal_commas() {
    let dir = state_dir();
    let m = gather(
        &demo(),
        dir.path(),
        Month::new(2026, 11).unwrap(),
        utc(2027, 1, 1, 0, 0),
    )
    .unwrap();
    let bytes = m.availability_csv(Separator::Semicolon).unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "UTF-8 BOM first");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.contains("\r\n"), "CRLF line ends");
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(text.as_bytes());
    let head = r.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let portal = rows.iter().find(|x| &x[col("ID")] == "portal").unwrap();
    assert_eq!(&portal[col("Ketersediaan (%)")], "95,000");
    assert_eq!(&portal[col("Terputus (menit)")], "60,0");
    assert_eq!(rows.len(), m.rows.len());

    let incidents =
        String::from_utf8(m.incidents_csv(Separator::Semicolon).unwrap()[3..].to_vec()).unwrap();
    let mut r = csv::ReaderBuilder::new()
        .delimiter(b';')
        .from_reader(incidents.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        &rows[1][2], "rugi paket 25%; RTT tinggi",
        "a separator inside a cell is quoted"
    );
    assert_eq!(
        &rows[0][3], "2026-10-31 23:00",
        "WIB, as Excel reads a date"
    );

    let comma =
        String::from_utf8(m.measurements_csv(Separator::Comma).unwrap()[3..].to_vec()).unwrap();
    let mut r = csv::Reader::from_reader(comma.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 10, "November's ten hours, not October's");
    assert_eq!(&rows[0][0], "2026-11-01 00:00");
    assert_eq!(
        &rows[0][5], "12.50",
        "RTT median in ms with a decimal point"
    );
}

#[test]
fn cells_that_look_like_formulas_stay_text() {
    assert_eq!(text_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
    assert_eq!(text_cell("-1+2"), "'-1+2");
    assert_eq!(text_cell("Router Diskominfo"), "Router Diskominfo");
}

#[test]
fn a_missing_state_dir_is_an_error_and_an_empty_one_has_no_figures() {
    let e = gather(
        &demo(),
        Path::new("/nonexistent/juknis"),
        Month::new(2026, 11).unwrap(),
        Utc::now(),
    );
    assert!(matches!(e, Err(Error::NoStateDir(_))));
    let dir = tempfile::tempdir().unwrap();
    let m = gather(
        &demo(),
        dir.path(),
        Month::new(2026, 11).unwrap(),
        Utc::now(),
    )
    .unwrap();
    assert!(
        m.rows
            .iter()
            .all(|r| r.percent().is_none() && r.why_none().is_some())
    );
    assert!(
        !dir.path().join(STORE_FILE).exists(),
        "read-only: nothing created"
    );
}

#[test]
fn planned_maintenance_is_counted_apart_from_failures() {
    let dir = state_dir();
    // 1 November 00.00-01.00 WIB was announced work on the Diskominfo link, which the portal's
    // primary route crosses: the outage's November hour falls inside it.
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("topology/demo.yaml"),
    )
    .unwrap()
        + "\nmaintenance:\n  - links: [wan-kominfo]\n    note: Penggantian router Diskominfo\n    once: {from: \"2026-11-01 00:00\", to: \"2026-11-01 01:00\"}\n";
    let t = crate::topology::parse(&text, std::path::Path::new("demo.yaml"), &|_| None).unwrap();
    let m = gather(
        &t,
        dir.path(),
        Month::new(2026, 11).unwrap(),
        utc(2027, 1, 1, 0, 0),
    )
    .unwrap();
    let portal = m
        .rows
        .iter()
        .find(|r| r.availability.id == "portal")
        .unwrap();
    assert_eq!(portal.planned_s, 3600);
    assert_eq!(portal.down_s, Some(0), "the outage was all planned");
    assert_eq!(portal.degraded_s, Some(1800), "2 November was not planned");
    // The window's hour (60 of 60 rounds answered) is left out of the rounds.
    assert_eq!(
        (portal.availability.rounds, portal.availability.ok_rounds),
        (540, 510)
    );
    let text = m.text();
    assert!(
        text.contains("pemeliharaan terjadwal 1 jam (tidak dihitung)"),
        "{text}"
    );
    let csv = String::from_utf8(m.availability_csv(Separator::Semicolon).unwrap()).unwrap();
    assert!(csv.contains("Pemeliharaan (menit)"), "{csv}");
    assert!(csv.contains(";60,0;"), "{csv}");
}

#[rstest]
#[case::none(0, 10_800, &[], &[(0, 10_800)])]
#[case::hour_aligned(0, 10_800, &[(3600, 7200)], &[(0, 3600), (7200, 10_800)])]
#[case::widened_to_hours(0, 10_800, &[(4000, 5000)], &[(0, 3600), (7200, 10_800)])]
#[case::covers_the_start(3600, 10_800, &[(0, 7200)], &[(7200, 10_800)])]
#[case::covers_everything(0, 10_800, &[(0, 20_000)], &[])]
#[case::overlapping(0, 18_000, &[(3600, 7200), (5000, 10_000)], &[(0, 3600), (10_800, 18_000)])]
fn outside_leaves_out_whole_hours(
    #[case] from: i64,
    #[case] to: i64,
    #[case] planned: &[(i64, i64)],
    #[case] want: &[(i64, i64)],
) {
    assert_eq!(crate::report::gather::outside(from, to, planned), want);
}
