#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::collections::BTreeSet;
use std::path::Path;

use chrono::NaiveDate;

use super::synth::{self, Shape, Spec};
use super::*;
use crate::store::Store;
use crate::topology::{Bandwidth, Topology};

const DEMO: &str = include_str!("../../topology/demo.yaml");

fn topo(text: &str) -> Topology {
    let names: BTreeSet<String> = ["icmp", "tls", "https", "bandwidth", "tcp", "dns"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    crate::topology::parse(text, Path::new("demo.yaml"), &|_| Some(names.clone())).unwrap()
}

fn kind_of(p: &str) -> Option<String> {
    Some(p.to_string())
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A state dir holding `spec`'s history for the demo topology's WAN link.
fn state(t: &Topology, spec: &Spec) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let link = pick_link(t, None).unwrap();
    let sel = selection(t, link, &kind_of);
    let mut store = Store::open(&dir.path().join(history::STORE_FILE)).unwrap();
    synth::write(&mut store, dir.path(), &sel, spec).unwrap();
    dir
}

fn study(t: &Topology, dir: &Path, spec: &Spec, days: i64, opts: &Options) -> Study {
    let period = Period::new(
        spec.last_day - chrono::Days::new(days as u64 - 1),
        spec.last_day,
    )
    .unwrap();
    run(t, &kind_of, &history::Sqlite::new(dir), period, opts).unwrap()
}

fn opts() -> Options {
    Options::new(day("2026-04-02"))
}

fn mbps(v: f64) -> Bandwidth {
    Bandwidth::from_bps((v * 1e6) as u64)
}

#[test]
fn a_saturated_512_kbps_link_needs_1_mbps() {
    let t = topo(DEMO);
    let mut spec = Spec::new(Shape::Saturated, 512_000.0, day("2026-03-31"), 42);
    spec.minute_days = 14;
    let dir = state(&t, &spec);
    let s = study(&t, dir.path(), &spec, 42, &opts());
    let r = &s.recommendation;
    assert_eq!(r.verdict, Verdict::Change(r.needed.clone().unwrap()));
    assert_eq!(r.needed.as_ref().unwrap().bandwidth, mbps(1.0));
    assert_eq!(r.cost_diff_month, Some(1_000_000));
    assert!(
        r.sentence
            .contains("penambahan bandwidth dari 512 Kbps menjadi 1 Mbps"),
        "{}",
        r.sentence
    );
    assert!(
        r.sentence
            .contains("Rp1.000.000 per bulan (Rp12.000.000 per tahun)")
    );
    // The busy hours are the weekday office blocks, and nothing else.
    let a = &s.analysis;
    let spans = a
        .busy_hours
        .iter()
        .map(|h| (h / 24, h % 24))
        .collect::<BTreeSet<_>>();
    for d in 0..5 {
        for h in [8, 9, 10, 11, 13, 14] {
            assert!(spans.contains(&(d, h)), "{d} {h} not busy: {spans:?}");
        }
    }
    assert!(
        spans.iter().all(|(d, h)| *d < 5 && (8..15).contains(h)),
        "{spans:?}"
    );
    let (_, u) = a.busiest_hour.unwrap();
    assert!((0.93..=0.99).contains(&u), "{u}");
    // The look-ups of the synthetic history are there, day by day.
    let l = a.lookups.as_ref().unwrap();
    assert_eq!(l.days, 42);
    assert!(l.max <= 190 && l.max >= 160, "{}", l.max);
    // The document says it.
    let text = s.document.plain_text();
    assert!(text.contains(&r.sentence));
    assert!(text.contains("Kajian Teknis Perubahan Bandwidth Jaringan Komunikasi Data"));
    assert!(
        text.contains("Senin–Jumat pukul 08.00–12.00 dan 13.00–15.00 WIB"),
        "{text}"
    );
    assert!(
        text.contains(
            "Surat Permohonan Perubahan Bandwidth"
                .to_uppercase()
                .as_str()
        )
    );
    assert!(text.contains("Perihal: Permohonan Perubahan Bandwidth Jaringan Komunikasi Data"));
}

#[test]
fn an_idle_link_keeps_its_tier() {
    let t = topo(DEMO);
    let mut spec = Spec::new(Shape::Idle, 512_000.0, day("2026-03-31"), 30);
    spec.minute_days = 7;
    let dir = state(&t, &spec);
    let s = study(&t, dir.path(), &spec, 30, &opts());
    let r = &s.recommendation;
    assert_eq!(r.verdict, Verdict::Keep, "{}", r.sentence);
    assert_eq!(r.needed.as_ref().unwrap().bandwidth, mbps(0.512));
    assert!(s.analysis.util.unwrap().max <= 0.15);
    assert!(s.analysis.busy_hours.is_empty());
    assert!(r.sentence.contains("tetap 512 Kbps"));
    assert!(
        s.document
            .plain_text()
            .contains("Perihal: Penyampaian Kajian Teknis")
    );
}

#[test]
fn a_growing_link_depends_on_the_horizon() {
    let t = topo(DEMO);
    let mut spec = Spec::new(Shape::Growing, 512_000.0, day("2026-03-31"), 180);
    spec.minute_days = 0;
    spec.raw_hours = 0;
    let dir = state(&t, &spec);
    let mut verdicts = Vec::new();
    for horizon in [3, 12, 36] {
        let o = Options {
            horizon_months: horizon,
            ..opts()
        };
        let s = study(&t, dir.path(), &spec, 180, &o);
        let a = &s.analysis;
        let p = &a.projection;
        // The rule, computed by hand from the analysis' numbers.
        let trend = a.util_trend.unwrap();
        assert!(trend.per_month > 0.0);
        let factor = trend.after(f64::from(horizon)) / trend.at_end;
        assert!((p.util_factor - factor).abs() < 1e-9);
        let required = (p.busy_p95_bps * factor / 0.70).max(p.busy_p95_bps * factor + p.burst_bps);
        assert!((s.recommendation.required_bps - required).abs() < 1e-6);
        let want = [512_000.0, 1_000_000.0, 2_000_000.0]
            .into_iter()
            .find(|b| *b >= required);
        assert_eq!(
            s.recommendation
                .needed
                .as_ref()
                .map(|t| t.bandwidth.bps() as f64),
            want
        );
        verdicts.push(s.recommendation.verdict.clone());
    }
    assert_eq!(verdicts[0], Verdict::Keep);
    assert_eq!(
        verdicts[1],
        Verdict::Change(crate::topology::Tier {
            bandwidth: mbps(1.0),
            cost_per_month: Some(2_500_000)
        })
    );
    assert!(matches!(
        verdicts[2],
        Verdict::Change(_) | Verdict::NoneSuffices
    ));
}

#[test]
fn a_declared_growth_compounds_per_year() {
    let t = topo(DEMO);
    let mut spec = Spec::new(Shape::Idle, 512_000.0, day("2026-03-31"), 14);
    spec.minute_days = 0;
    let dir = state(&t, &spec);
    let o = Options {
        growth_percent: Some(44.0),
        horizon_months: 24,
        ..opts()
    };
    let s = study(&t, dir.path(), &spec, 14, &o);
    let p = &s.analysis.projection;
    assert!((p.util_factor - 1.44f64.powi(2)).abs() < 1e-9);
    assert!((p.projected_busy_p95_bps - p.busy_p95_bps * 2.0736).abs() < 1e-6);
}

#[test]
fn provider_under_delivery_is_not_a_tier_problem() {
    let t = topo(DEMO);
    let mut spec = Spec::new(Shape::Saturated, 512_000.0, day("2026-03-31"), 21);
    spec.minute_days = 21;
    spec.delivered = 0.55;
    let dir = state(&t, &spec);
    let s = study(&t, dir.path(), &spec, 21, &opts());
    let r = &s.recommendation;
    let Verdict::ProviderShortfall { delivered_bps } = r.verdict else {
        panic!("{:?}: {}", r.verdict, r.sentence);
    };
    assert!(
        (0.45..0.65).contains(&(delivered_bps / 512_000.0)),
        "{delivered_bps}"
    );
    assert!(
        r.sentence
            .contains("penyedia jaringan, bukan pada besaran paket")
    );
}

#[test]
fn no_listed_tier_means_none_is_recommended() {
    let text = DEMO.replace(
        "      - {bandwidth: 1 Mbps, cost_per_month: 2500000}\n      - {bandwidth: 2 Mbps, cost_per_month: 4000000}\n",
        "",
    );
    let t = topo(&text);
    assert_eq!(
        t.links
            .iter()
            .find(|l| !l.tiers.is_empty())
            .unwrap()
            .tiers
            .len(),
        1
    );
    let mut spec = Spec::new(Shape::Saturated, 512_000.0, day("2026-03-31"), 14);
    spec.minute_days = 14;
    let dir = state(&t, &spec);
    let s = study(&t, dir.path(), &spec, 14, &opts());
    assert_eq!(s.recommendation.verdict, Verdict::NoneSuffices);
    assert!(s.recommendation.needed.is_none());
    assert!(s.recommendation.sentence.contains("Tidak ada paket"));
}

#[test]
fn clear_errors() {
    let t = topo(DEMO);
    assert!(
        Period::new(day("2026-03-02"), day("2026-03-01"))
            .unwrap_err()
            .to_string()
            .contains("--from 2026-03-02 is after --to 2026-03-01")
    );
    // No store.
    let empty = tempfile::tempdir().unwrap();
    let p = Period::new(day("2026-03-01"), day("2026-03-02")).unwrap();
    let e = run(
        &t,
        &kind_of,
        &history::Sqlite::new(empty.path()),
        p,
        &opts(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("no store at"), "{e}");
    // A store with nothing in the period.
    let mut spec = Spec::new(Shape::Idle, 512_000.0, day("2026-03-31"), 3);
    spec.minute_days = 0;
    let dir = state(&t, &spec);
    let e = run(&t, &kind_of, &history::Sqlite::new(dir.path()), p, &opts()).unwrap_err();
    assert!(
        e.to_string()
            .contains("no measurements of link `wan-kominfo` between 2026-03-01 and 2026-03-02"),
        "{e}"
    );
    // A link without tiers, an unknown link.
    let o = Options {
        link: Some("lan-ap".into()),
        ..opts()
    };
    let e = run(&t, &kind_of, &history::Sqlite::new(dir.path()), p, &o).unwrap_err();
    assert!(
        e.to_string()
            .contains("link `lan-ap` has no contracted bandwidth"),
        "{e}"
    );
    let no_tiers = topo(&DEMO.replace(
        "    tiers:\n      - {bandwidth: 512 Kbps, cost_per_month: 1500000}\n      - {bandwidth: 1 Mbps, cost_per_month: 2500000}\n      - {bandwidth: 2 Mbps, cost_per_month: 4000000}\n",
        "",
    ));
    let o = Options {
        link: Some("wan-kominfo".into()),
        ..opts()
    };
    let e = run(
        &no_tiers,
        &kind_of,
        &history::Sqlite::new(dir.path()),
        p,
        &o,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("link `wan-kominfo` lists no bandwidth tiers"),
        "{e}"
    );
    let e = run(
        &no_tiers,
        &kind_of,
        &history::Sqlite::new(dir.path()),
        p,
        &opts(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("no contracted link with tiers"),
        "{e}"
    );
    let o = Options {
        link: Some("wan-x".into()),
        ..opts()
    };
    let e = run(&t, &kind_of, &history::Sqlite::new(dir.path()), p, &o).unwrap_err();
    assert!(
        e.to_string()
            .contains("link `wan-x` is not in the topology; contracted links: wan-kominfo"),
        "{e}"
    );
}

#[test]
fn the_store_serves_minutes_where_kept_and_hours_beyond() {
    let t = topo(DEMO);
    let mut spec = Spec::new(Shape::Idle, 512_000.0, day("2026-03-31"), 10);
    spec.minute_days = 3;
    let dir = state(&t, &spec);
    let link = pick_link(&t, None).unwrap();
    let sel = selection(&t, link, &kind_of);
    let p = Period::new(day("2026-03-22"), day("2026-03-31")).unwrap();
    let h = history::Sqlite::new(dir.path()).load(&sel, &p).unwrap();
    let hourly = h.rx_bps.iter().filter(|p| p.dur == 3600).count();
    let minutes = h.rx_bps.iter().filter(|p| p.dur == 60).count();
    assert_eq!((hourly, minutes), (7 * 24, 3 * 1440));
    // No overlap: every instant is counted once.
    let covered: i64 = h.rx_bps.iter().map(|p| p.dur).sum();
    assert_eq!(covered, 10 * 86_400);
    assert_eq!(h.lookups.len(), 10);
    assert_eq!(sel.latency.to_string(), "web-portal/icmp");
}

#[test]
fn the_hour_of_the_week_is_wib() {
    // Monday 2026-03-02 08:30 WIB = 01:30 UTC.
    let t = chrono::DateTime::parse_from_rfc3339("2026-03-02T01:30:00Z")
        .unwrap()
        .timestamp();
    assert_eq!(wib_hour_of_week(t), 8);
    assert_eq!(wib_day(t), day("2026-03-02"));
    // Sunday 23:59 WIB.
    assert_eq!(wib_hour_of_week(t - 8 * 3600 - 30 * 60 - 60), 167);
    assert_eq!(document::hour_of_week_label(8), "Senin 08.00–09.00");
}

#[test]
fn a_look_up_costs_what_the_wire_format_says() {
    let c = cost::lookup(cost::Assumptions::default());
    // The simulator's found answer (nine elements and the extras the client drops).
    assert!((600..1600).contains(&c.answer_body), "{}", c.answer_body);
    assert!((60..200).contains(&c.request_body), "{}", c.request_body);
    assert!(c.down > c.answer_body + 3000 && c.down < 6000, "{}", c.down);
    assert_eq!(c.total(), c.up + c.down);
}

#[test]
fn weighted_quantiles() {
    let mut v = vec![(1.0, 60.0), (2.0, 60.0), (3.0, 3600.0)];
    assert_eq!(analysis::weighted_quantile(&mut v, 0.5), Some(3.0));
    let mut v: Vec<(f64, f64)> = (1..=100).map(|i| (f64::from(i), 1.0)).collect();
    assert_eq!(analysis::weighted_quantile(&mut v, 0.95), Some(95.0));
    assert_eq!(analysis::weighted_quantile(&mut [], 0.5), None);
}

/// Bandwidth rounds that could not give a figure are said so in the document and left out of
/// the available bandwidth, never shown as one.
#[test]
fn undetermined_bandwidth_rounds_are_named_not_counted() {
    let t = topo(DEMO);
    let spec = Spec::new(Shape::Idle, 512_000.0, day("2026-03-31"), 10);
    let dir = state(&t, &spec);
    let link = pick_link(&t, None).unwrap();
    let sel = selection(&t, link, &kind_of);
    let p = Period::new(day("2026-03-22"), day("2026-03-31")).unwrap();
    let before = history::Sqlite::new(dir.path()).load(&sel, &p).unwrap();
    let mut store = Store::open(&dir.path().join(history::STORE_FILE)).unwrap();
    let why = "tidak dapat ditentukan: burst lebih dari 30 KB, lebih besar dari yang dapat dilewati rangkaian paket dalam anggaran probe 61 KB";
    let ts_ms = p.start_s() * 1000 + 3_600_000;
    store
        .insert_bandwidth(&[crate::store::BandwidthSample {
            ts_ms,
            node: sel.bandwidth.node.clone(),
            profile: sel.bandwidth.profile.clone(),
            method: "trains".into(),
            estimate_bps: None,
            burst_bytes: None,
            burst_min_bytes: Some(30_000),
            capacity_bps: None,
            policed: false,
            direction: Some("round_trip".into()),
            undetermined: Some(why.into()),
            bytes: 59_624,
        }])
        .unwrap();
    drop(store);
    let h = history::Sqlite::new(dir.path()).load(&sel, &p).unwrap();
    assert_eq!(h.available_bps, before.available_bps, "no figure was added");
    assert_eq!(
        (h.bandwidth_undetermined.rounds, h.bandwidth_undetermined.of),
        (1, 1)
    );
    let s = study(&t, dir.path(), &spec, 10, &opts());
    let text = s.document.plain_text();
    assert!(
        text.contains("1 tidak menghasilkan angka dan tidak dihitung") && text.contains(why),
        "{text}"
    );
}

/// Planned work on the link (a window made on the dashboard here) is not the link's
/// behaviour: the points that touch it are left out, and the document says how much.
#[test]
fn planned_maintenance_is_left_out_and_named() {
    use crate::topology::maintenance::{Recurrence, Scope, Window};
    let mut t = topo(DEMO);
    let mut spec = Spec::new(Shape::Idle, 512_000.0, day("2026-03-31"), 30);
    spec.minute_days = 7;
    let dir = state(&t, &spec);
    let plain = study(&t, dir.path(), &spec, 30, &opts());
    assert_eq!(plain.analysis.planned_points, 0);
    assert!(
        !plain
            .document
            .plain_text()
            .contains("Pemeliharaan terjadwal")
    );

    let link = pick_link(&t, None).unwrap().id.clone();
    let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    t.maintenance.made.push(Window {
        when: Recurrence::Once {
            from: at("2026-03-27T00:00:00Z"),
            to: at("2026-03-28T00:00:00Z"),
        },
        scope: Scope {
            paths: vec![],
            links: vec![link],
        },
        note: "Penggantian perangkat".into(),
    });
    let s = study(&t, dir.path(), &spec, 30, &opts());
    assert_eq!(s.analysis.planned_s, 86_400);
    // A day of minute points on three series at least (RTT, loss, jitter).
    assert!(
        s.analysis.planned_points >= 3 * 1440,
        "{}",
        s.analysis.planned_points
    );
    let text = s.document.plain_text();
    assert!(
        text.contains("Pemeliharaan terjadwal pada tautan ini selama periode: 24,0 jam"),
        "{text}"
    );
    // A window elsewhere in time or on another link leaves the study as it was.
    let mut other = topo(DEMO);
    other.maintenance.made.push(Window {
        when: Recurrence::Once {
            from: at("2025-01-01T00:00:00Z"),
            to: at("2025-01-02T00:00:00Z"),
        },
        scope: Scope::default(),
        note: "Lama".into(),
    });
    let s = study(&other, dir.path(), &spec, 30, &opts());
    assert_eq!(s.analysis.planned_points, 0);
}
