//! Riwayat lists each bandwidth round with what a technician reads (method, burst, direction,
//! bytes), and a round that could not be measured says "tidak dapat ditentukan" with no figure:
//! no page shows an available bandwidth that was not measured (issue 13, item 7).

mod web_support;

use std::path::Path;
use std::sync::Arc;

use juknis::health::{Hysteresis, Tracker};
use juknis::metrics::Metrics;
use juknis::store::{BandwidthSample, Sample, Store};
use juknis::web::{Shared, dashboard};
use web_support::*;

/// The demo topology with a packet-train bandwidth profile on the Web Portal.
fn shared_with_bandwidth() -> Arc<Shared> {
    let path = root().join("topology/demo.yaml");
    let text = std::fs::read_to_string(&path)
        .expect("demo topology")
        .replace("probes: [icmp, tls]}", "probes: [icmp, tls, bandwidth]}");
    assert!(text.contains("bandwidth]}"), "demo topology changed shape");
    let t = juknis::topology::parse(&text, &path, &|_| None).expect("topology");
    Shared::new(t, Tracker::new(Hysteresis::default()), Metrics::new())
}

fn round(ts_s: i64, method: &str, direction: &str) -> BandwidthSample {
    BandwidthSample {
        ts_ms: ts_s * 1000,
        node: "web-portal".into(),
        profile: "bandwidth".into(),
        method: method.into(),
        estimate_bps: None,
        burst_bytes: None,
        burst_min_bytes: None,
        capacity_bps: None,
        policed: false,
        direction: Some(direction.into()),
        undetermined: None,
        bytes: 0,
    }
}

fn sample(ts_s: i64, bandwidth_bps: Option<f64>) -> Sample {
    Sample {
        ts_ms: ts_s * 1000,
        node: "web-portal".into(),
        profile: "bandwidth".into(),
        kind: "bandwidth".into(),
        ok: bandwidth_bps.is_some(),
        state: "healthy".into(),
        rtt_min_s: None,
        rtt_p50_s: None,
        rtt_p90_s: None,
        rtt_max_s: None,
        loss: None,
        jitter_s: None,
        bandwidth_bps,
        bytes: 0,
        detail: String::new(),
        rx_bps: None,
        tx_bps: None,
    }
}

const WHY: &str = "tidak dapat ditentukan: burst lebih dari 48 KB, melebihi anggaran pengukuran";

/// Three rounds as `juknis serve` stores them: trains past a 32 KB burst at 512 kbit/s, trains
/// that could not cross a bigger burst, and a download.
fn seed(dir: &Path, now: i64) {
    let mut store = Store::open(&dir.join("juknis.db")).expect("store");
    let measured = BandwidthSample {
        estimate_bps: Some(512_000.0),
        burst_bytes: Some(32_000),
        bytes: 41_000,
        ..round(now - 900, "trains", "round_trip")
    };
    let undetermined = BandwidthSample {
        // The figure a train that never left the bucket would time (the veth's line rate): it
        // must not reach the page even if a row carried it.
        estimate_bps: Some(7.6e9),
        burst_min_bytes: Some(48_000),
        undetermined: Some(WHY.into()),
        bytes: 50_000,
        ..round(now - 600, "trains", "round_trip")
    };
    let download = BandwidthSample {
        estimate_bps: Some(1_950_000.0),
        bytes: 120_000,
        ..round(now - 300, "throughput", "down")
    };
    store
        .insert_bandwidth(&[measured, undetermined, download])
        .expect("bandwidth rounds");
    store
        .insert(&[
            sample(now - 900, Some(512_000.0)),
            sample(now - 600, None),
            sample(now - 300, Some(1_950_000.0)),
        ])
        .expect("samples");
}

#[tokio::test]
async fn riwayat_lists_bandwidth_rounds_and_never_a_figure_that_was_not_measured() {
    let dir = tempfile::tempdir().expect("tmp");
    users(dir.path());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    seed(dir.path(), now);
    let app = dashboard::router(shared_with_bandwidth(), config(dir.path())).expect("router");
    let (cookie, _) = login(&app, "tech").await;
    let (res, body) = send(
        &app,
        get(
            "/riwayat?target=web-portal%2Fbandwidth&range=1h",
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(res.status(), 200, "{body}");
    let table = body
        .split_once("id=\"bw-rounds\"")
        .map(|(_, t)| t.split_once("</table>").map_or(t, |(t, _)| t))
        .unwrap_or_else(|| panic!("no bandwidth rounds on Riwayat:\n{body}"));
    let rows: Vec<&str> = table.split("<tr").skip(2).collect();
    assert_eq!(rows.len(), 3, "{table}");
    // Newest first: the download, the round without a figure, the trains past the burst.
    assert!(
        rows[0].contains("unduhan")
            && rows[0].contains("1.95 Mbps")
            && rows[0].contains("unduh (Dukcapil ke OPD)")
            && rows[0].contains("120000"),
        "{}",
        rows[0]
    );
    assert!(
        rows[1].contains("undetermined")
            && rows[1].contains("tanpa angka")
            && rows[1].contains(WHY)
            && rows[1].contains("pulang-pergi"),
        "{}",
        rows[1]
    );
    assert!(
        !rows[1].contains("bps"),
        "a round that was not measured shows a rate: {}",
        rows[1]
    );
    assert!(
        rows[2].contains("rangkaian paket")
            && rows[2].contains("burst ±32 KB, lalu 512 Kbps")
            && !rows[2].contains("tanpa angka"),
        "{}",
        rows[2]
    );
    assert!(
        !body.contains("7600"),
        "the line rate of a train that never crossed the burst is on the page"
    );

    // The same in English, the dashboard's second language (the generated reason stays
    // Indonesian, as in every document).
    let english = format!("{cookie}; {}=en", dashboard::LANG_COOKIE);
    let (_, body) = send(
        &app,
        get(
            "/riwayat?target=web-portal%2Fbandwidth&range=1h",
            Some(&english),
        ),
    )
    .await;
    assert!(
        body.contains("Bandwidth measurements")
            && body.contains("no figure")
            && body.contains("round trip (the narrower direction)")
            && body.contains(WHY),
        "{body}"
    );
}

/// Riwayat draws a link's utilisation from its SNMP interface counters, both directions, with
/// the contract as a dashed line and named in the chart's title (issue 16 item 9).
#[tokio::test]
async fn riwayat_shows_the_links_utilisation_against_its_contract() {
    let dir = tempfile::tempdir().expect("tmp");
    users(dir.path());
    let path = root().join("topology/demo.yaml");
    let from = "    provider: Diskominfo (demo)\n";
    let text = std::fs::read_to_string(&path).expect("demo").replacen(
        from,
        &format!(
            "{from}    snmp: {{agent: opd-router, port: 161, version: v2c, if_name: ether1, credentials: snmp-opd}}\n"
        ),
        1,
    );
    assert!(
        text.contains("if_name: ether1"),
        "demo topology changed shape"
    );
    let t = juknis::topology::parse(&text, &path, &|_| None).expect("topology");
    let contract = t
        .links
        .iter()
        .find(|l| l.id.as_str() == "wan-kominfo")
        .and_then(|l| l.bandwidth)
        .expect("the demo link's contract");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let mut store = Store::open(&dir.path().join("juknis.db")).expect("store");
    let rows: Vec<Sample> = (0..10)
        .map(|i| Sample {
            node: "wan-kominfo".into(),
            profile: "snmp".into(),
            kind: "snmp".into(),
            ok: true,
            rx_bps: Some(300_000.0 + f64::from(i) * 10_000.0),
            tx_bps: Some(60_000.0),
            ..sample(now - 600 + i64::from(i) * 60, None)
        })
        .collect();
    store.insert(&rows).expect("samples");
    drop(store);
    let shared = Shared::new(t, Tracker::new(Hysteresis::default()), Metrics::new());
    let app = dashboard::router(shared, config(dir.path())).expect("router");
    let (cookie, _) = login(&app, "tech").await;
    let (res, body) = send(&app, get("/riwayat?range=1h", Some(&cookie))).await;
    assert_eq!(res.status(), 200);
    assert!(
        body.contains("value=\"wan-kominfo/snmp\""),
        "the polled link is a target: {body}"
    );
    let (_, body) = send(
        &app,
        get("/riwayat?target=wan-kominfo%2Fsnmp&range=1h", Some(&cookie)),
    )
    .await;
    let title = format!(
        "Pemakaian tautan (SNMP): masuk biru, keluar ungu (garis merah putus-putus: kontrak {contract})"
    );
    assert!(body.contains(&title), "{body}");
    let chart = body
        .split_once(&title)
        .and_then(|(_, rest)| rest.split_once("</svg>"))
        .map(|(c, _)| c)
        .expect("the chart");
    assert_eq!(chart.matches("<path ").count(), 2, "in and out: {chart}");
    assert!(chart.contains("class=\"limit\""), "{chart}");
}
