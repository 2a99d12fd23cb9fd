use std::path::PathBuf;

use chrono::Timelike;
use proptest::prelude::*;
use rstest::rstest;

use super::*;

fn demo() -> Topology {
    crate::topology::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("topology/demo.yaml"))
        .unwrap()
}

fn wib(s: &str) -> DateTime<Utc> {
    parse_wib(s).unwrap()
}

fn weekly(day: Weekday, at: &str, minutes: u32) -> Window {
    Window {
        when: Recurrence::Weekly {
            day,
            at: parse_time(at).unwrap(),
            minutes,
        },
        scope: Scope::default(),
        note: String::new(),
    }
}

#[rstest]
#[case("90m", Some(90))]
#[case("3h", Some(180))]
#[case("1h30m", Some(90))]
#[case("2 jam", Some(120))]
#[case("45 menit", Some(45))]
#[case("0m", None)]
#[case("3", None)]
#[case("1d", None)]
#[case("", None)]
fn durations(#[case] s: &str, #[case] want: Option<u32>) {
    assert_eq!(parse_minutes(s), want);
}

#[test]
fn times_and_days_in_indonesian_or_english() {
    assert_eq!(parse_weekday("Minggu"), Some(Weekday::Sun));
    assert_eq!(parse_weekday("jumat"), Some(Weekday::Fri));
    assert_eq!(parse_weekday("friday"), Some(Weekday::Fri));
    assert_eq!(parse_weekday("funday"), None);
    assert_eq!(parse_time("22.30"), NaiveTime::from_hms_opt(22, 30, 0));
    assert_eq!(parse_time("25:00"), None);
    // 12 December 22:00 WIB is 15:00 UTC.
    assert_eq!(
        wib("2026-12-12 22:00"),
        Utc.with_ymd_and_hms(2026, 12, 12, 15, 0, 0).unwrap()
    );
    assert_eq!(parse_wib("2026-12-32 22:00"), None);
}

#[test]
fn a_weekly_window_across_wib_midnight_is_one_occurrence() {
    // Sunday 22:00 WIB for 4 hours: until Monday 02:00 WIB.
    let w = weekly(Weekday::Sun, "22:00", 240);
    let occ = w.occurrences(wib("2026-12-01 00:00"), wib("2026-12-15 00:00"));
    assert_eq!(
        occ,
        vec![
            (wib("2026-12-06 22:00"), wib("2026-12-07 02:00")),
            (wib("2026-12-13 22:00"), wib("2026-12-14 02:00")),
        ]
    );
    // Running on Monday 01:00 WIB, found from its Sunday start.
    assert_eq!(
        w.running_at(wib("2026-12-07 01:00")),
        Some((wib("2026-12-06 22:00"), wib("2026-12-07 02:00")))
    );
    assert_eq!(
        w.running_at(wib("2026-12-07 02:00")),
        None,
        "the end is open"
    );
    // A period that starts inside an occurrence gets the rest of it.
    assert_eq!(
        w.occurrences(wib("2026-12-07 00:00"), wib("2026-12-08 00:00")),
        vec![(wib("2026-12-07 00:00"), wib("2026-12-07 02:00"))]
    );
}

#[test]
fn a_monthly_window_on_its_day() {
    let w = Window {
        when: Recurrence::Monthly {
            day: 1,
            at: parse_time("23:00").unwrap(),
            minutes: 90,
        },
        scope: Scope::default(),
        note: String::new(),
    };
    let occ = w.occurrences(wib("2026-11-15 00:00"), wib("2027-01-15 00:00"));
    assert_eq!(
        occ,
        vec![
            (wib("2026-12-01 23:00"), wib("2026-12-02 00:30")),
            (wib("2027-01-01 23:00"), wib("2027-01-02 00:30")),
        ]
    );
}

#[test]
fn a_link_window_covers_the_paths_that_cross_it() {
    let t = demo();
    let mut w = weekly(Weekday::Sun, "22:00", 60);
    w.scope.links = vec![LinkId::new("wan-kominfo".to_owned())];
    assert!(w.covers(&t, Subject::Link("wan-kominfo")));
    assert!(!w.covers(&t, Subject::Link("lan-ap")));
    assert!(
        w.covers(&t, Subject::Path("portal")),
        "the portal's route crosses it"
    );
    w.scope.links = vec![LinkId::new("lan-web".to_owned())];
    assert!(
        !w.covers(&t, Subject::Path("portal")),
        "an app's LAN link is not on the route"
    );
    w.scope = Scope {
        paths: vec![PathId::new("balikan".to_owned())],
        links: Vec::new(),
    };
    assert!(w.covers(&t, Subject::Path("balikan")));
    assert!(!w.covers(&t, Subject::Path("portal")));
}

#[test]
fn planned_time_merges_overlapping_windows() {
    let t = demo();
    let once = Window {
        when: Recurrence::Once {
            from: wib("2026-12-06 21:00"),
            to: wib("2026-12-06 23:00"),
        },
        scope: Scope::default(),
        note: "Migrasi".into(),
    };
    let s = Schedule {
        windows: vec![weekly(Weekday::Sun, "22:00", 120)],
        // A window made on the dashboard counts the same as a declared one.
        made: vec![once],
    };
    let planned = s.planned(
        &t,
        Subject::Path("portal"),
        wib("2026-12-06 00:00"),
        wib("2026-12-07 00:00"),
    );
    assert_eq!(
        planned,
        vec![(wib("2026-12-06 21:00"), wib("2026-12-07 00:00"))]
    );
    let a = wib("2026-12-06 20:00").timestamp();
    assert_eq!(overlap_s(&planned, a, a + 2 * 3600), 3600);
    let (w, end) = s
        .active(&t, Subject::Path("portal"), wib("2026-12-06 21:30"))
        .unwrap();
    assert_eq!((w.note.as_str(), end), ("Migrasi", wib("2026-12-06 23:00")));
    assert!(
        s.active(&t, Subject::Path("portal"), wib("2026-12-07 00:30"))
            .is_none()
    );
}

proptest! {
    /// Every occurrence of a weekly window starts on its WIB weekday at its WIB time, lasts its
    /// length unless clipped, lies inside the period, and any instant inside one is `running_at`.
    #[test]
    fn weekly_occurrences_keep_their_wib_day_and_time(
        day in 0u8..7,
        hour in 0u32..24,
        minute in 0u32..60,
        minutes in 1u32..(3 * 24 * 60),
        start in 1_700_000_000i64..1_900_000_000i64,
        span in 3600i64..(40 * 86_400),
    ) {
        let day = Weekday::try_from(day).unwrap();
        let at = NaiveTime::from_hms_opt(hour, minute, 0).unwrap();
        let w = Window {
            when: Recurrence::Weekly { day, at, minutes },
            scope: Scope::default(),
            note: String::new(),
        };
        let from = Utc.timestamp_opt(start, 0).unwrap();
        let to = from + Duration::seconds(span);
        let mut prev_end = from;
        for (s, e) in w.occurrences(from, to) {
            prop_assert!(from <= s && s < e && e <= to);
            prop_assert!(s >= prev_end, "in order, disjoint");
            prev_end = e;
            let (ws, we) = w.running_at(s).unwrap();
            prop_assert_eq!(we - ws, Duration::minutes(i64::from(minutes)));
            let local = ws.with_timezone(&Jakarta);
            prop_assert_eq!(local.weekday(), day);
            prop_assert_eq!((local.hour(), local.minute()), (hour, minute));
        }
        // Enough time for a whole week: at least one occurrence.
        if span >= 8 * 86_400 {
            prop_assert!(!w.occurrences(from, to).is_empty());
        }
    }
}
