//! The gate through `POST /api/v1/lookup` against the simulator over HTTPS with a pinned
//! fingerprint: every status of DESIGN.md's table, the appliance's own refusals, link down,
//! exact quota under concurrency, quota across a restart and a WIB day, pattern and burst
//! rules, and the circuit breaker.
#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod gate_support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use gate_support::*;
use juknis::gate::{Caller, Rules, breaker};
use juknis::health::State;
use juknis::sim::{self, Faults};
use rstest::rstest;

#[rstest]
#[case::found(sim::USER, sim::PASSWORD, "found", "found", "Data Ditemukan")]
#[case::found_numbers(sim::USER, sim::PASSWORD, "found_numbers", "found", "Data Ditemukan")]
#[case::deceased(
    sim::USER,
    sim::PASSWORD,
    "deceased",
    "deceased",
    "Data Ditemukan, Meninggal Dunia"
)]
#[case::duplicate(
    sim::USER,
    sim::PASSWORD,
    "duplicate",
    "duplicate",
    "Data Ditemukan, Data Ganda"
)]
#[case::not_found(
    sim::USER,
    sim::PASSWORD,
    "not_found",
    "not_found",
    "Data tidak ditemukan, NIK tidak terdapat di database kependudukan"
)]
#[case::inactive(
    sim::USER,
    sim::PASSWORD,
    "inactive",
    "inactive",
    "Data Ditemukan, Status Non Aktif silahkan hubungi Dinas Dukcapil"
)]
#[case::invalid_format_by_dukcapil(
    sim::USER,
    sim::PASSWORD,
    "invalid_format",
    "invalid_format",
    "Data tidak ditemukan, NIK tidak sesuai format Dukcapil"
)]
#[case::login_failed(sim::USER, "kata-sandi-salah", "found", "login_failed", "Gagal Login")]
#[case::agency_inactive(
    sim::USER_AGENCY_INACTIVE,
    sim::PASSWORD,
    "found",
    "agency_inactive",
    "Instansi tidak aktif"
)]
#[case::user_inactive(
    sim::USER_INACTIVE,
    sim::PASSWORD,
    "found",
    "user_inactive",
    "User ID non aktif, silahkan menghubungi Admin"
)]
#[tokio::test]
async fn every_dukcapil_status_is_answered_with_http_200(
    #[case] user: &str,
    #[case] password: &str,
    #[case] sample: &str,
    #[case] status: &str,
    #[case] message: &str,
) {
    let sim = start_sim(None).await;
    let dir = tempfile::tempdir().unwrap();
    let h = open_gate(
        &sim,
        dir.path(),
        &Opts {
            user: user.into(),
            password: password.into(),
            ..Opts::default()
        },
    );
    let nik = &sim.samples()[sample];
    let r = lookup(&h.app, nik).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.code(), status);
    assert_eq!(r.message(), message);
    assert_eq!(r.body.get("data").is_some(), status == "found");
    if status == "found" {
        let data = &r.body["data"];
        assert_eq!(data["nik"].as_str(), Some(nik.as_str()));
        assert!(data["nama_lengkap"].is_string() && data["alamat"]["kecamatan"].is_string());
        // Only the nine elements pass.
        let keys: Vec<&str> = data
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        for k in &keys {
            assert!(
                [
                    "nomor_kk",
                    "nik",
                    "nama_lengkap",
                    "jenis_kelamin",
                    "tempat_lahir",
                    "tanggal_lahir",
                    "status_perkawinan",
                    "jenis_pekerjaan",
                    "alamat"
                ]
                .contains(k),
                "{k} is not an agreed element"
            );
        }
    }
    assert_eq!(sim.stats().lookups_answered, 1);
    assert_eq!(h.gate.quota_used_today().unwrap(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn quota_exhausted_by_dukcapil_and_by_the_gate() {
    // Dukcapil's own quota (code 05) is its answer: HTTP 200.
    let sim = juknis::sim::Server::start(sim::Config {
        quota: 0,
        ..sim::Config::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let h = open_gate(&sim, dir.path(), &Opts::default());
    let r = lookup(&h.app, &sim.samples()["found"]).await;
    assert_eq!((r.status, r.code()), (StatusCode::OK, "quota_exhausted"));
    assert_eq!(r.message(), "Kuota akses hari ini telah habis");
    sim.shutdown().await;

    // The agreement's quota, spent: the gate answers itself and sends nothing.
    let sim = start_sim(None).await;
    let dir = tempfile::tempdir().unwrap();
    let h = open_gate(
        &sim,
        dir.path(),
        &Opts {
            quota: "1".into(),
            ..Opts::default()
        },
    );
    assert_eq!(
        lookup(&h.app, &sim.samples()["found"]).await.code(),
        "found"
    );
    let r = lookup(&h.app, &sim.samples()["deceased"]).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "quota_exhausted");
    assert_eq!(r.message(), "Kuota akses hari ini telah habis");
    // 03:00 UTC is 10:00 WIB: 14 hours to the next WIB day.
    assert_eq!(r.headers["retry-after"], "50400");
    assert_eq!(sim.stats().lookups_answered, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_appliance_refusals_spend_nothing() {
    let sim = start_sim(None).await;
    let dir = tempfile::tempdir().unwrap();
    let h = open_gate(&sim, dir.path(), &Opts::default());
    let found = sim.samples()["found"].clone();
    let body = serde_json::json!({"nik": found, "purpose": PURPOSE}).to_string();

    let r = post_raw(&h.app, None, body.clone()).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );
    assert!(r.headers.contains_key("www-authenticate"));
    let r = post_raw(&h.app, Some("token-yang-tidak-dikenal-sama-sekali"), body).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::UNAUTHORIZED, "unauthorized")
    );

    // Local format check: DESIGN's message plus the precise reason, no quota.
    let r = lookup(&h.app, sim::LOCALLY_INVALID_NIK).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_format")
    );
    assert!(
        r.message()
            .starts_with("Data tidak ditemukan, NIK tidak sesuai format Dukcapil: digit 7-12"),
        "{}",
        r.message()
    );
    let r = lookup(&h.app, "32040517084").await;
    assert!(r.message().contains("16 digit"), "{}", r.message());

    let r = post_raw(&h.app, Some(TOKEN), "{\"nik\": ").await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(r.message().contains("bukan JSON"));
    let r = post_raw(&h.app, Some(TOKEN), format!("{{\"nik\":\"{found}\"}}")).await;
    assert!(r.message().contains("`purpose` wajib"), "{}", r.message());
    let r = post_raw(
        &h.app,
        Some(TOKEN),
        format!("{{\"nik\":\"{found}\",\"purpose\":\"  \"}}"),
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(r.message().contains("tujuan"), "{}", r.message());
    let big = format!(
        "{{\"nik\":\"{found}\",\"purpose\":\"{}\"}}",
        "x".repeat(10_000)
    );
    let r = post_raw(&h.app, Some(TOKEN), big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "invalid_request");

    assert_eq!(sim.stats().lookups_answered, 0);
    assert_eq!(h.gate.quota_used_today().unwrap(), 0);
    sim.shutdown().await;
}

#[rstest]
#[case::down(
    State::Down,
    "Tidak ada jawaban mulai antara Router OPD dan Titik Akses Dukcapil (IP LAN)",
    "Jalur ke Web Portal sedang terputus: {reason}. Permintaan tidak dikirim dan kuota tidak terpakai."
)]
#[case::unknown(
    State::Unknown,
    "belum ada hasil pemantauan pada jalur ini",
    "Kondisi jalur ke Web Portal belum diketahui: {reason}. Permintaan tidak dikirim dan kuota tidak terpakai; coba lagi sebentar lagi."
)]
#[tokio::test]
async fn an_unusable_path_answers_link_down_and_sends_nothing(
    #[case] state: State,
    #[case] reason: &str,
    #[case] message: &str,
) {
    let sim = start_sim(None).await;
    let dir = tempfile::tempdir().unwrap();
    let h = open_gate(&sim, dir.path(), &Opts::default());
    h.health.set(state, reason);
    let r = lookup(&h.app, &sim.samples()["found"]).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "link_down")
    );
    assert_eq!(r.message(), message.replace("{reason}", reason));
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(sim.stats().lookups_answered, 0);
    assert_eq!(sim.stats().quota_left, sim::DEFAULT_QUOTA);
    assert_eq!(h.gate.quota_used_today().unwrap(), 0);
    // Degraded is still used.
    h.health.set(State::Degraded, "latensi tinggi");
    assert_eq!(
        lookup(&h.app, &sim.samples()["found"]).await.code(),
        "found"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_is_exact_under_1000_concurrent_requests() {
    let sim = start_sim(None).await;
    let dir = tempfile::tempdir().unwrap();
    let h = open_gate(&sim, dir.path(), &Opts::default());
    let nik = sim.samples()["found"].clone();
    let who = Caller::Application(APP.into());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let (gate, nik, who) = (h.gate.clone(), nik.clone(), who.clone());
        tasks.spawn(async move { gate.lookup(&who, &nik, PURPOSE).await });
    }
    let (mut found, mut exhausted, mut other) = (0, 0, 0);
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(a) if a.status.as_str() == "found" => found += 1,
            Err(r) if r.kind.as_str() == "quota_exhausted" => exhausted += 1,
            _ => other += 1,
        }
    }
    assert_eq!((found, exhausted, other), (200, 800, 0));
    assert_eq!(sim.stats().lookups_answered, 200, "exactly 200 forwarded");
    assert_eq!(h.gate.quota_used_today().unwrap(), 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn quota_survives_a_restart_and_resets_on_the_next_wib_day() {
    let sim = start_sim(None).await;
    let dir = tempfile::tempdir().unwrap();
    let opts = Opts {
        quota: "2".into(),
        ..Opts::default()
    };
    let s = sim.samples();
    let h = open_gate(&sim, dir.path(), &opts);
    assert_eq!(lookup(&h.app, &s["found"]).await.code(), "found");
    assert_eq!(lookup(&h.app, &s["deceased"]).await.code(), "deceased");
    drop(h);
    let h = open_gate(&sim, dir.path(), &opts);
    assert_eq!(
        lookup(&h.app, &s["duplicate"]).await.code(),
        "quota_exhausted"
    );
    assert_eq!(h.metrics.quota_used.get(), 2);
    // 16:59:59 UTC is still the same WIB day; 17:00 UTC is midnight WIB.
    opts.clock.set("2026-03-02T16:59:59Z".parse().unwrap());
    assert_eq!(
        lookup(&h.app, &s["duplicate"]).await.code(),
        "quota_exhausted"
    );
    opts.clock.set("2026-03-02T17:00:00Z".parse().unwrap());
    assert_eq!(lookup(&h.app, &s["duplicate"]).await.code(), "duplicate");
    assert_eq!(h.gate.quota_used_today().unwrap(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn sequential_patterned_and_bursty_queries_are_refused() {
    let sim = start_sim(None).await;
    let dir = tempfile::tempdir().unwrap();
    let h = open_gate(
        &sim,
        dir.path(),
        &Opts {
            rules: Rules {
                per_minute: None,
                ..Rules::default()
            },
            ..Opts::default()
        },
    );
    let found = sim.samples()["found"].clone();
    let serial: u16 = found[12..].parse().unwrap();
    let with_serial = |s: u16| format!("{}{s:04}", &found[..12]);
    assert_eq!(lookup(&h.app, &found).await.status, StatusCode::OK);
    let next = with_serial(if serial < 9000 {
        serial + 3
    } else {
        serial - 3
    });
    let r = lookup(&h.app, &next).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "refused_pattern")
    );
    assert_eq!(
        r.message(),
        "Permintaan ditolak: NIK berurutan atau berpola (Juknis II.E.1)"
    );
    assert!(r.headers.contains_key("retry-after"));
    // Far serials in a progression: a, a+500 pass, a+1000 is a pattern.
    let base = if serial < 5000 {
        serial + 2000
    } else {
        serial - 4000
    };
    assert_eq!(
        lookup(&h.app, &with_serial(base)).await.status,
        StatusCode::OK
    );
    let r = lookup(&h.app, &with_serial(base + 500)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        lookup(&h.app, &with_serial(base + 1000)).await.code(),
        "refused_pattern"
    );
    let answered = sim.stats().lookups_answered;
    assert_eq!(answered, 3, "refusals are not forwarded");

    let dir = tempfile::tempdir().unwrap();
    let h = open_gate(
        &sim,
        dir.path(),
        &Opts {
            rules: Rules {
                per_minute: Some(3),
                serial_distance: None,
                progression: false,
                ..Rules::default()
            },
            ..Opts::default()
        },
    );
    for _ in 0..3 {
        assert_eq!(lookup(&h.app, &found).await.code(), "found");
    }
    let r = lookup(&h.app, &found).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::TOO_MANY_REQUESTS, "refused_burst")
    );
    assert_eq!(
        r.message(),
        "Permintaan ditolak: terlalu banyak permintaan dalam waktu berdekatan"
    );
    let after: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&after), "{after}");
    assert_eq!(h.gate.quota_used_today().unwrap(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_breaker_opens_on_failures_and_half_opens_after_the_cool_down() {
    let sim = start_sim(None).await;
    let dir = tempfile::tempdir().unwrap();
    let h = open_gate(
        &sim,
        dir.path(),
        &Opts {
            breaker: breaker::Config {
                failures: 3,
                cool_down: Duration::from_millis(400),
            },
            ..Opts::default()
        },
    );
    let found = sim.samples()["found"].clone();
    sim.set_faults(Faults {
        http_status: Some(503),
        ..Faults::default()
    });
    for _ in 0..3 {
        let r = lookup(&h.app, &found).await;
        assert_eq!(
            (r.status, r.code()),
            (StatusCode::BAD_GATEWAY, "portal_error")
        );
    }
    assert_eq!(sim.stats().faults_injected, 3);
    let text = h.metrics.encode();
    assert!(
        text.contains("juknis_circuit_breaker_open{path=\"portal\",route=\"primary\"} 1"),
        "{text}"
    );
    // Open: answered at once, nothing sent.
    let r = lookup(&h.app, &found).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "link_down")
    );
    assert!(r.message().contains("pemutus sirkuit"), "{}", r.message());
    assert_eq!(sim.stats().faults_injected, 3);
    // A failed trial reopens it.
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(lookup(&h.app, &found).await.code(), "portal_error");
    assert_eq!(lookup(&h.app, &found).await.code(), "link_down");
    assert_eq!(sim.stats().faults_injected, 4);
    // The service recovers: the next trial closes it.
    sim.set_faults(Faults::default());
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(lookup(&h.app, &found).await.code(), "found");
    assert_eq!(lookup(&h.app, &found).await.code(), "found");
    assert!(
        h.metrics
            .encode()
            .contains("juknis_circuit_breaker_open{path=\"portal\",route=\"primary\"} 0")
    );
    // Five forwarded to a sim that answered an error spent quota; nothing else did.
    assert_eq!(h.gate.quota_used_today().unwrap(), 6);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_refused_connection_gives_the_quota_back() {
    let sim = start_sim(None).await;
    let dir = tempfile::tempdir().unwrap();
    let h = open_gate(&sim, dir.path(), &Opts::default());
    let found = sim.samples()["found"].clone();
    sim.shutdown().await;
    let r = lookup(&h.app, &found).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_GATEWAY, "portal_error")
    );
    assert!(
        r.message().contains("kuota tidak terpakai"),
        "{}",
        r.message()
    );
    assert_eq!(h.gate.quota_used_today().unwrap(), 0);
    let _ = Arc::clone(&h.health);
}
