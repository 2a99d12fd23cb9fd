use super::*;

fn sample(ts_ms: i64, rtt: f64, loss: f64) -> Sample {
    Sample {
        ts_ms,
        node: "web-portal".into(),
        profile: "icmp".into(),
        kind: "icmp".into(),
        ok: loss < 1.0,
        state: "healthy".into(),
        rtt_p50_s: Some(rtt),
        rtt_p90_s: Some(rtt),
        rtt_max_s: Some(rtt * 2.0),
        rtt_min_s: Some(rtt / 2.0),
        loss: Some(loss),
        jitter_s: Some(0.001),
        bandwidth_bps: None,
        bytes: 840,
        detail: String::new(),
    }
}

#[test]
fn migrates_once_and_reopens() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("juknis.db");
    let mut s = Store::open(&path).expect("create");
    assert_eq!(s.version().expect("version"), MIGRATIONS.len() as i64);
    s.insert(&[sample(1_000, 0.01, 0.0)]).expect("insert");
    drop(s);
    let s = Store::open(&path).expect("reopen");
    assert_eq!(
        s.samples("web-portal", "icmp", 0, 10_000)
            .expect("read")
            .len(),
        1
    );
}

#[test]
fn refuses_a_store_from_a_newer_juknis() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("juknis.db");
    let conn = Connection::open(&path).expect("open");
    conn.pragma_update(None, "user_version", 99).expect("set");
    drop(conn);
    assert!(matches!(
        Store::open(&path),
        Err(Error::TooNew { found: 99, .. })
    ));
}

#[test]
fn minute_and_hour_rollups_summarise_the_rounds() {
    let mut s = Store::in_memory().expect("store");
    // Minute 0: rounds with medians 10, 20, 30 ms; minute 1: 40 ms with 50% loss.
    let rows = [
        sample(1_000, 0.010, 0.0),
        sample(11_000, 0.020, 0.0),
        sample(21_000, 0.030, 0.0),
        sample(61_000, 0.040, 0.5),
    ];
    s.insert(&rows).expect("insert");
    assert_eq!(s.rollup(60, 0, 120).expect("rollup"), 2);
    let m = s.rollups(60, "web-portal", "icmp", 0, 120).expect("read");
    assert_eq!(m.len(), 2);
    assert_eq!((m[0].rounds, m[0].bucket_s), (3, 0));
    assert!((m[0].rtt_p50_s.expect("p50") - 0.020).abs() < 1e-12);
    assert!((m[0].rtt_min_s.expect("min") - 0.005).abs() < 1e-12);
    assert!((m[0].rtt_max_s.expect("max") - 0.060).abs() < 1e-12);
    assert!((m[1].loss_mean.expect("loss") - 0.5).abs() < 1e-12);
    assert_eq!(m[0].bytes, 3 * 840);

    assert_eq!(s.rollup(3600, 0, 3600).expect("hour"), 1);
    let h = s
        .rollups(3600, "web-portal", "icmp", 0, 3600)
        .expect("read");
    assert_eq!(h[0].rounds, 4);
    assert!(
        (h[0].loss_mean.expect("loss") - 0.125).abs() < 1e-12,
        "weighted by rounds"
    );
    // Rolling up again rewrites, never doubles.
    s.rollup(60, 0, 120).expect("again");
    assert_eq!(
        s.rollups(60, "web-portal", "icmp", 0, 120).expect("read")[0].rounds,
        3
    );
}

#[test]
fn prune_keeps_what_retention_allows() {
    let mut s = Store::in_memory().expect("store");
    s.insert(&[sample(0, 0.01, 0.0), sample(10 * 86_400_000, 0.01, 0.0)])
        .expect("insert");
    s.prune(10 * 86_400, Retention::default()).expect("prune");
    assert_eq!(
        s.samples("web-portal", "icmp", 0, i64::MAX)
            .expect("read")
            .len(),
        1
    );
}

#[test]
fn incidents_open_change_and_close() {
    let mut s = Store::in_memory().expect("store");
    s.record_state("portal", "degraded", "rugi paket", 100)
        .expect("open");
    s.record_state("portal", "degraded", "rugi paket", 110)
        .expect("same");
    s.record_state("portal", "down", "putus", 120)
        .expect("worse");
    s.record_state("portal", "healthy", "", 200).expect("close");
    let all = s.incidents(0, 1000).expect("read");
    assert_eq!(all.len(), 2);
    assert_eq!(
        (all[0].state.as_str(), all[0].started_s, all[0].ended_s),
        ("down", 120, Some(200))
    );
    assert_eq!(
        (all[1].state.as_str(), all[1].ended_s),
        ("degraded", Some(120))
    );
}

#[test]
fn quantile_interpolates() {
    assert_eq!(quantile(&[], 0.5), None);
    assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
    assert_eq!(quantile(&[1.0, 2.0, 3.0], 1.0), Some(3.0));
}
