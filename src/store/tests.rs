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
        rx_bps: None,
        tx_bps: None,
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

#[test]
fn interface_throughput_rolls_up_as_mean_and_peak() {
    let mut s = Store::in_memory().expect("store");
    let snmp = |ts_ms: i64, rx: f64, tx: f64| Sample {
        node: "opd-router".into(),
        profile: "snmp".into(),
        kind: "snmp".into(),
        rtt_p50_s: None,
        rtt_p90_s: None,
        rtt_max_s: None,
        rtt_min_s: None,
        loss: None,
        jitter_s: None,
        rx_bps: Some(rx),
        tx_bps: Some(tx),
        ..sample(ts_ms, 0.0, 0.0)
    };
    // Minute 0: 100k and 300k received; minute 1: one round of 500k.
    s.insert(&[
        snmp(0, 100_000.0, 10_000.0),
        snmp(30_000, 300_000.0, 30_000.0),
        snmp(60_000, 500_000.0, 50_000.0),
    ])
    .expect("insert");
    s.rollup(60, 0, 120).expect("minutes");
    let m = s.rollups(60, "opd-router", "snmp", 0, 120).expect("read");
    assert_eq!(m[0].rx_mean_bps, Some(200_000.0));
    assert_eq!(m[0].rx_max_bps, Some(300_000.0));
    assert_eq!(m[0].tx_max_bps, Some(30_000.0));
    s.rollup(3600, 0, 3600).expect("hour");
    let h = s
        .rollups(3600, "opd-router", "snmp", 0, 3600)
        .expect("read");
    // Weighted by rounds: (200k·2 + 500k·1) / 3 = 300k; the peak survives.
    assert_eq!(h[0].rx_mean_bps, Some(300_000.0));
    assert_eq!(h[0].rx_max_bps, Some(500_000.0));
    assert_eq!(h[0].tx_mean_bps, Some(30_000.0));
    // Probes without an interface leave the columns empty.
    s.insert(&[sample(0, 0.01, 0.0)]).expect("icmp");
    s.rollup(60, 0, 60).expect("again");
    let icmp = s.rollups(60, "web-portal", "icmp", 0, 60).expect("read");
    assert_eq!((icmp[0].rx_mean_bps, icmp[0].rx_max_bps), (None, None));
}

#[test]
fn a_version_one_store_gains_the_interface_columns() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("juknis.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        conn.execute_batch(MIGRATIONS[0]).expect("v1");
        conn.pragma_update(None, "user_version", 1)
            .expect("version");
        conn.execute(
            "INSERT INTO samples (ts_ms, node, profile, kind, ok, state, bytes) VALUES (5, 'n', 'icmp', 'icmp', 1, 'healthy', 0)",
            [],
        )
        .expect("old row");
    }
    let s = Store::open(&path).expect("migrate");
    assert_eq!(s.version().expect("version"), MIGRATIONS.len() as i64);
    let old = s.samples("n", "icmp", 0, 10).expect("read");
    assert_eq!((old.len(), old[0].rx_bps), (1, None), "old rows are kept");
}

#[test]
fn an_open_incident_takes_the_reason_once_the_place_is_known() {
    let mut s = Store::in_memory().expect("store");
    s.record_state(
        "portal",
        "down",
        "Tidak ada jawaban di Web Portal; letak gangguan belum dipastikan",
        100,
    )
    .expect("open");
    s.record_state(
        "portal",
        "down",
        "Tidak ada jawaban mulai antara A dan B",
        103,
    )
    .expect("placed");
    let all = s.incidents(0, 1000).expect("read");
    assert_eq!(all.len(), 1, "one fault, one incident: {all:?}");
    assert_eq!(
        (all[0].reason.as_str(), all[0].started_s),
        ("Tidak ada jawaban mulai antara A dan B", 100)
    );
}

#[test]
fn a_trace_is_kept_with_the_incident_open_on_its_path() {
    let mut s = Store::in_memory().expect("store");
    let before = s
        .insert_trace("portal", 50, "cli", "Tujuan terjangkau.", "{}")
        .expect("no incident yet");
    s.record_state("portal", "down", "putus", 100)
        .expect("open");
    s.record_state("balikan", "down", "putus", 100)
        .expect("open");
    let during = s
        .insert_trace(
            "portal",
            101,
            "teknisi",
            "Tujuan tidak terjangkau.",
            "{\"hops\":[]}",
        )
        .expect("kept");
    s.record_state("portal", "healthy", "", 200).expect("close");
    let after = s
        .insert_trace("portal", 201, "cli", "Tujuan terjangkau.", "{}")
        .expect("after");
    let incident = s.incidents(0, 1000).expect("read");
    let portal = incident
        .iter()
        .find(|i| i.subject == "portal")
        .expect("portal");
    let traces = s.traces(0, 10).expect("traces");
    let by_id = |id| traces.iter().find(|t| t.id == id).expect("kept");
    assert_eq!(by_id(before).incident_id, None);
    assert_eq!(by_id(during).incident_id, Some(portal.id));
    assert_eq!(
        (
            by_id(during).requested_by.as_str(),
            by_id(during).trace_json.as_str()
        ),
        ("teknisi", "{\"hops\":[]}")
    );
    assert_eq!(by_id(after).incident_id, None, "the incident had ended");
    assert_eq!(traces[0].id, after, "newest first");
}

#[test]
fn bandwidth_details_round_trip_and_an_undetermined_round_has_no_figure() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut s = Store::open(&dir.path().join("juknis.db")).expect("create");
    let measured = BandwidthSample {
        ts_ms: 1_000,
        node: "web-portal".into(),
        profile: "bandwidth".into(),
        method: "trains".into(),
        estimate_bps: Some(512_000.0),
        burst_bytes: Some(32_768),
        burst_min_bytes: None,
        capacity_bps: None,
        policed: false,
        direction: Some("round_trip".into()),
        undetermined: None,
        bytes: 59_624,
    };
    let unknown = BandwidthSample {
        ts_ms: 2_000,
        estimate_bps: None,
        burst_bytes: None,
        burst_min_bytes: Some(30_000),
        undetermined: Some("tidak dapat ditentukan: burst lebih dari 30 KB".into()),
        ..measured.clone()
    };
    s.insert_bandwidth(&[measured.clone(), unknown.clone()])
        .expect("insert");
    let rows = s
        .bandwidth_samples("web-portal", "bandwidth", 0, 10_000)
        .expect("read");
    assert_eq!(rows, vec![measured, unknown]);
}

fn one_incident(s: &mut Store) -> i64 {
    s.record_state("portal", "down", "putus", 100)
        .expect("open");
    s.incidents(0, 1000).expect("read")[0].id
}

#[test]
fn the_first_acknowledgement_stands() {
    let mut s = Store::in_memory().expect("store");
    let id = one_incident(&mut s);
    assert_eq!(s.handling(id).expect("read").expect("exists").ack, None);
    let first = s.acknowledge(id, "teknisi1", 130).expect("ack");
    assert_eq!(
        first,
        Ack {
            by: "teknisi1".into(),
            at_s: 130
        }
    );
    let again = s.acknowledge(id, "admin", 200).expect("ack again");
    assert_eq!(again, first, "a second acknowledgement keeps the first");
    assert_eq!(
        s.handling(id).expect("read").expect("exists").ack,
        Some(first)
    );
    assert!(matches!(
        s.acknowledge(id + 99, "admin", 200),
        Err(Error::Invalid(Invalid::NoIncident(_)))
    ));
}

/// A reply in a chat acknowledges what the notifiers' incident covered: its paths' entries
/// open since it began (route changes of those paths too), not other paths, not older ones,
/// and not twice.
#[test]
fn a_reply_acknowledges_the_entries_of_its_paths_since_it_began() {
    let mut s = Store::in_memory().expect("store");
    s.record_state("portal", "down", "putus", 1_000)
        .expect("old");
    s.record_state("portal", "healthy", "", 1_100)
        .expect("closed");
    s.record_state("portal", "down", "putus", 5_000)
        .expect("open");
    s.record_state("portal:rute", "degraded", "cadangan", 5_010)
        .expect("route");
    s.record_state("balikan", "down", "putus", 5_000)
        .expect("other path");
    let paths = vec!["portal".to_owned()];
    let n = s
        .acknowledge_paths(&paths, 5_002, "Budi (@budi) lewat Telegram", 5_100)
        .expect("ack");
    assert_eq!(n, 2, "the open portal entry and its route change");
    let all = s.incidents_overlapping(0, 10_000).expect("read");
    let ids: Vec<i64> = all.iter().map(|i| i.id).collect();
    let h = s.handlings(&ids).expect("handlings");
    let acked: Vec<&str> = all
        .iter()
        .filter(|i| h.get(&i.id).is_some_and(|h| h.ack.is_some()))
        .map(|i| i.subject.as_str())
        .collect();
    assert_eq!(acked, ["portal", "portal:rute"]);
    assert_eq!(
        s.acknowledge_paths(&paths, 5_002, "orang lain", 5_200)
            .expect("again"),
        0,
        "the first acknowledgement stands"
    );
}

#[test]
fn notes_append_in_order_and_the_latest_cause_is_the_cause() {
    let mut s = Store::in_memory().expect("store");
    let id = one_incident(&mut s);
    s.add_note(id, "teknisi1", NoteKind::Note, " menelepon NOC ", None, 140)
        .expect("note");
    s.add_note(
        id,
        "teknisi1",
        NoteKind::Cause,
        "kabel FO putus",
        Some("TT-1"),
        150,
    )
    .expect("cause");
    s.add_note(
        id,
        "admin",
        NoteKind::Cause,
        "perangkat ONT mati",
        Some(" INC-2026-0042 "),
        160,
    )
    .expect("cause 2");
    let h = s.handling(id).expect("read").expect("exists");
    let texts: Vec<_> = h.notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(
        texts,
        ["menelepon NOC", "kabel FO putus", "perangkat ONT mati"]
    );
    let cause = h.cause().expect("cause");
    assert_eq!(
        (
            cause.text.as_str(),
            cause.ticket.as_deref(),
            cause.by.as_str()
        ),
        ("perangkat ONT mati", Some("INC-2026-0042"), "admin")
    );
    assert!(matches!(
        s.add_note(id + 99, "admin", NoteKind::Note, "x", None, 1),
        Err(Error::Invalid(Invalid::NoIncident(_)))
    ));
}

#[rstest::rstest]
#[case::empty("   ", None, "isi catatan kosong")]
#[case::too_long(&"a".repeat(2001), None, "2001 karakter, paling banyak 2000")]
#[case::control_in_text("ada\u{7}bel", None, "karakter kendali (kode 0x07) pada karakter ke-4")]
#[case::ticket_too_long("ok", Some("T".repeat(65)), "nomor tiket terlalu panjang: 65")]
#[case::ticket_newline("ok", Some("TT\n1".to_string()), "nomor tiket memuat karakter kendali")]
fn bad_input_is_refused_in_indonesian(
    #[case] text: &str,
    #[case] ticket: Option<String>,
    #[case] says: &str,
) {
    let mut s = Store::in_memory().expect("store");
    let id = one_incident(&mut s);
    let e = s
        .add_note(id, "teknisi1", NoteKind::Note, text, ticket.as_deref(), 140)
        .expect_err("refused");
    assert!(e.to_string().contains(says), "{e}");
    assert!(
        s.handling(id)
            .expect("read")
            .expect("exists")
            .notes
            .is_empty()
    );
}

#[test]
fn a_note_of_2000_characters_and_line_breaks_is_kept() {
    let mut s = Store::in_memory().expect("store");
    let id = one_incident(&mut s);
    let long = format!("baris satu\r\nbaris dua\t{}", "x".repeat(1978));
    assert_eq!(long.trim().chars().count(), 2000);
    let n = s
        .add_note(id, "teknisi1", NoteKind::Note, &long, Some(""), 140)
        .expect("kept");
    assert!(n.text.starts_with("baris satu\nbaris dua"));
    assert_eq!(n.ticket, None);
}

#[test]
fn a_store_from_before_incident_handling_reads_with_nothing_handled() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("juknis.db");
    // Migration 6 added incident handling.
    let before = 5;
    {
        let conn = rusqlite::Connection::open(&path).expect("open");
        for m in &MIGRATIONS[..before] {
            conn.execute_batch(m).expect("older schema");
        }
        conn.pragma_update(None, "user_version", before as i64)
            .expect("version");
        conn.execute(
            "INSERT INTO incidents (subject, state, reason, started_s) VALUES ('portal', 'down', 'putus', 10)",
            [],
        )
        .expect("old incident");
    }
    // The semester report opens it read-only and must not need the new tables.
    let s = Store::open_read_only(&path).expect("read-only");
    assert!(!s.has_handling().expect("check"));
    let found = s.incidents_overlapping(0, 100).expect("incidents");
    let h = s.handlings(&[found[0].id]).expect("handlings");
    assert_eq!(h[&found[0].id], Handling::default());
    drop(s);
    // Opened for writing, it migrates and can be handled.
    let mut s = Store::open(&path).expect("migrate");
    assert!(s.has_handling().expect("check"));
    s.acknowledge(found[0].id, "tech", 20).expect("ack");
}
