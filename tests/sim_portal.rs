//! The portal client against the simulator over loopback: every status, both path variants and
//! key cases, both TLS pinning modes, exact numbers, faults and data balikan.
#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::time::Duration;

use juknis::nik::Nik;
use juknis::portal::{
    self, AidType, BalikanBatch, BalikanConfig, BalikanOutcome, BalikanRecord, Client, Credentials,
    ErrorKind, KeyCase, Route, Status, Trust,
};
use juknis::sim::{self, Faults, Handle, Server};
use juknis::topology::BalikanFields;
use rstest::rstest;

async fn start(config: sim::Config) -> Handle {
    Server::start(config).await.expect("simulator starts")
}

async fn start_default() -> Handle {
    start(sim::Config::default()).await
}

fn creds(user: &str, password: &str, ip: &str) -> Credentials {
    Credentials {
        user_id: user.into(),
        password: password.into(),
        ip_user: ip.into(),
    }
}

fn pinned(h: &Handle) -> Trust {
    Trust::Fingerprint(h.fingerprint().expect("TLS on"))
}

fn config(h: &Handle, c: Credentials, trust: Trust) -> portal::Config {
    let mut cfg = portal::Config::new(h.base_url().parse().unwrap(), sim::INSTANSI_ID, c, trust);
    cfg.balikan = Some(BalikanConfig {
        url: h.balikan_url().parse().unwrap(),
        token: sim::DEFAULT_BALIKAN_TOKEN.into(),
    });
    cfg
}

fn client(h: &Handle) -> Client {
    Client::new(config(
        h,
        creds(sim::USER, sim::PASSWORD, sim::IP_USER),
        pinned(h),
    ))
    .unwrap()
}

fn sample(h: &Handle, status: &str) -> Nik {
    Nik::parse(&h.samples()[status]).unwrap()
}

#[rstest]
#[case::found(sim::USER, sim::PASSWORD, sim::IP_USER, "found", Status::Found)]
#[case::deceased(sim::USER, sim::PASSWORD, sim::IP_USER, "deceased", Status::Deceased)]
#[case::duplicate(sim::USER, sim::PASSWORD, sim::IP_USER, "duplicate", Status::Duplicate)]
#[case::not_found(sim::USER, sim::PASSWORD, sim::IP_USER, "not_found", Status::NotFound)]
#[case::inactive(sim::USER, sim::PASSWORD, sim::IP_USER, "inactive", Status::Inactive)]
#[case::invalid_format(
    sim::USER,
    sim::PASSWORD,
    sim::IP_USER,
    "invalid_format",
    Status::InvalidFormat
)]
#[case::login_failed(sim::USER, "salah", sim::IP_USER, "found", Status::LoginFailed)]
#[case::agency_inactive(
    sim::USER_AGENCY_INACTIVE,
    sim::PASSWORD,
    sim::IP_USER,
    "found",
    Status::AgencyInactive
)]
#[case::user_inactive(
    sim::USER_INACTIVE,
    sim::PASSWORD,
    sim::IP_USER,
    "found",
    Status::UserInactive
)]
#[case::outside_hours(
    sim::USER_OUTSIDE_HOURS,
    sim::PASSWORD,
    sim::IP_USER,
    "found",
    Status::OutsideHours
)]
#[case::wrong_ip(sim::USER, sim::PASSWORD, "127.0.0.9", "found", Status::WrongIp)]
#[case::invalid_ip(sim::USER, sim::PASSWORD, "999.1.1.1", "found", Status::InvalidIp)]
#[case::credentials_empty(sim::USER, "", sim::IP_USER, "found", Status::CredentialsEmpty)]
#[case::unprocessable(
    sim::USER,
    sim::PASSWORD,
    sim::IP_USER,
    "unprocessable",
    Status::Unprocessable
)]
#[tokio::test]
async fn every_status_over_https_with_pinned_fingerprint(
    #[case] user: &str,
    #[case] password: &str,
    #[case] ip: &str,
    #[case] sample_key: &str,
    #[case] expected: Status,
) {
    let h = start_default().await;
    let c = Client::new(config(&h, creds(user, password, ip), pinned(&h))).unwrap();
    let answer = c.lookup(&sample(&h, sample_key)).await.unwrap();
    assert_eq!(answer.status, expected);
    assert_eq!(answer.record.is_some(), expected == Status::Found);
    assert!(
        answer.quota_left.is_some(),
        "central variant sends quotaLimiter"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn quota_exhausted_after_the_daily_quota() {
    let h = start(sim::Config {
        quota: 2,
        ..sim::Config::default()
    })
    .await;
    let c = client(&h);
    let nik = sample(&h, "not_found");
    let first = c.lookup(&nik).await.unwrap();
    assert_eq!(
        (first.status, first.quota_left),
        (Status::NotFound, Some(1))
    );
    let second = c.lookup(&nik).await.unwrap();
    assert_eq!(second.quota_left, Some(0));
    let third = c.lookup(&nik).await.unwrap();
    assert_eq!(third.status, Status::QuotaExhausted);
    assert_eq!(third.status.message(), "Kuota akses hari ini telah habis");
    h.shutdown().await;
}

#[tokio::test]
async fn pinned_ca_file_and_agreement_filter() {
    let h = start_default().await;
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("sim.pem");
    std::fs::write(&pem, h.cert_pem().unwrap()).unwrap();
    let trust = Trust::ca_file(&pem).unwrap();
    let c = Client::new(config(
        &h,
        creds(sim::USER, sim::PASSWORD, sim::IP_USER),
        trust,
    ))
    .unwrap();
    let nik = sample(&h, "found");
    let answer = c.lookup(&nik).await.unwrap();
    assert_eq!(answer.status, Status::Found);
    let record = answer.record.unwrap();
    assert_eq!(record.nik.as_deref(), Some(nik.expose()));
    let json = serde_json::to_string(&record).unwrap();
    for dropped in ["ISLAM", "TIDAK TAHU", "SLTA"] {
        assert!(
            !json.contains(dropped),
            "{dropped} beyond the agreement leaked"
        );
    }
    let alamat = record.alamat.unwrap();
    assert_eq!(alamat.kode_kecamatan.len(), 8, "PP.KK.CC");
    assert_eq!(alamat.kode_desa_kelurahan.len(), 4);
    h.shutdown().await;
}

#[tokio::test]
async fn wrong_fingerprint_is_refused_as_tls() {
    let h = start_default().await;
    let mut fp = h.fingerprint().unwrap();
    fp[0] ^= 0xff;
    let c = Client::new(config(
        &h,
        creds(sim::USER, sim::PASSWORD, sim::IP_USER),
        Trust::Fingerprint(fp),
    ))
    .unwrap();
    let err = c.lookup(&sample(&h, "found")).await.unwrap_err();
    assert!(matches!(err, portal::Error::Tls { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::Transport);
    // The typed cause is kept: the TLS library's own error, found through the chain, and its
    // words written out only when the chain is shown.
    assert!(juknis::cause::caused_by::<rustls::Error>(&err), "{err:?}");
    let shown = juknis::cause::chain(&err);
    assert!(
        shown.starts_with(&err.to_string()) && shown.len() > err.to_string().len(),
        "{shown}"
    );
    assert_eq!(h.stats().lookups_answered, 0, "nothing reached the portal");
    h.shutdown().await;
}

#[tokio::test]
async fn a_ca_that_is_not_the_servers_is_refused() {
    let h = start_default().await;
    let other = start_default().await;
    let trust = Trust::ca_pem(other.cert_pem().unwrap().as_bytes()).unwrap();
    let c = Client::new(config(
        &h,
        creds(sim::USER, sim::PASSWORD, sim::IP_USER),
        trust,
    ))
    .unwrap();
    let err = c.lookup(&sample(&h, "found")).await.unwrap_err();
    assert!(matches!(err, portal::Error::Tls { .. }), "{err}");
    h.shutdown().await;
    other.shutdown().await;
}

#[rstest]
#[case::regional_lower(true, KeyCase::Lower)]
#[case::regional_upper(true, KeyCase::Upper)]
#[case::central_lower(false, KeyCase::Lower)]
#[case::central_upper(false, KeyCase::Upper)]
#[tokio::test]
async fn path_variants_and_key_cases(#[case] regional: bool, #[case] key_case: KeyCase) {
    let h = start_default().await;
    let mut cfg = config(
        &h,
        creds(sim::USER, sim::PASSWORD, sim::IP_USER),
        pinned(&h),
    );
    cfg.key_case = key_case;
    if regional {
        cfg.route = Route::Regional {
            region: "32-04".into(),
            instansi_user: "dinsos_3204".into(),
            service: "call_nik".into(),
        };
    }
    let c = Client::new(cfg).unwrap();
    let found = c.lookup(&sample(&h, "found")).await.unwrap();
    assert_eq!(found.status, Status::Found);
    assert_eq!(
        found.quota_left.is_some(),
        !regional,
        "quotaLimiter only centrally"
    );
    // The regional node sends RESPON text only, in several spellings: all must map.
    for _ in 0..4 {
        let a = c.lookup(&sample(&h, "not_found")).await.unwrap();
        assert_eq!(a.status, Status::NotFound);
    }
    let wrong = Client::new({
        let mut cfg = c.config().clone();
        cfg.credentials.password = "salah".into();
        cfg
    })
    .unwrap();
    for _ in 0..3 {
        assert_eq!(
            wrong.lookup(&sample(&h, "found")).await.unwrap().status,
            Status::LoginFailed
        );
    }
    h.shutdown().await;
}

#[tokio::test]
async fn nik_above_2_pow_53_as_json_number_is_read_exactly() {
    let h = start_default().await;
    let person = h
        .population()
        .people()
        .find(|p| {
            p.numbers_as_json_numbers
                && p.state == sim::population::State::Active
                && p.nik.parse::<u64>().unwrap() > (1u64 << 53)
        })
        .expect("the default seed has a Papua NIK sent as a JSON number");
    let answer = client(&h)
        .lookup(&Nik::parse(&person.nik).unwrap())
        .await
        .unwrap();
    let record = answer.record.unwrap();
    assert_eq!(record.nik.as_deref(), Some(person.nik.as_str()));
    assert_eq!(record.nomor_kk.as_deref(), Some(person.no_kk.as_str()));
    let alamat = record.alamat.unwrap();
    assert_eq!(alamat.kode_kecamatan.replace('.', ""), &person.nik[..6]);
    h.shutdown().await;
}

/// A one-answer server for texts the simulator never sends.
async fn fixed_answer(body: &'static str) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move || async move { body });
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), task)
}

#[tokio::test]
async fn unknown_respon_is_reported_with_its_text() {
    let (url, task) =
        fixed_answer(r#"{"content":[{"RESPON":"Sistem  sedang Pemeliharaan"}]}"#).await;
    let cfg = portal::Config::new(
        url.parse().unwrap(),
        "X",
        creds("u", "p", "127.0.0.1"),
        Trust::System,
    );
    let answer = Client::new(cfg)
        .unwrap()
        .lookup(&Nik::parse("3204050101900001").unwrap())
        .await
        .unwrap();
    assert_eq!(
        answer.status,
        Status::Unknown {
            code: None,
            text: "Sistem  sedang Pemeliharaan".into()
        }
    );
    assert_eq!(answer.status.as_str(), "unknown");
    assert_eq!(answer.status.message(), "Sistem  sedang Pemeliharaan");
    task.abort();
}

#[rstest]
#[case::dropped(Faults { drop: true, ..Faults::default() }, ErrorKind::Transport, "transport")]
#[case::latency_over_timeout(Faults { latency_ms: 2_000, ..Faults::default() }, ErrorKind::Transport, "timeout")]
#[case::server_error(Faults { http_status: Some(503), ..Faults::default() }, ErrorKind::HttpStatus, "http")]
#[case::broken_json(Faults { broken_json: true, ..Faults::default() }, ErrorKind::Malformed, "malformed")]
#[case::slow_body_over_timeout(Faults { slow_body_ms: 200, ..Faults::default() }, ErrorKind::Transport, "timeout")]
#[tokio::test]
async fn faults_give_the_right_error_kind(
    #[case] faults: Faults,
    #[case] kind: ErrorKind,
    #[case] variant: &str,
) {
    let h = start_default().await;
    let mut cfg = config(
        &h,
        creds(sim::USER, sim::PASSWORD, sim::IP_USER),
        pinned(&h),
    );
    cfg.timeout = Duration::from_millis(500);
    let c = Client::new(cfg).unwrap();
    h.set_faults(faults);
    let err = c.lookup(&sample(&h, "found")).await.unwrap_err();
    assert_eq!(err.kind(), kind, "{err}");
    let matches = match variant {
        "transport" => matches!(err, portal::Error::Transport { .. }),
        "timeout" => matches!(err, portal::Error::Timeout { .. }),
        "http" => matches!(err, portal::Error::HttpStatus { status: 503, .. }),
        "malformed" => matches!(err, portal::Error::Malformed { .. }),
        _ => false,
    };
    assert!(matches, "{err:?}");
    h.set_faults(Faults::default());
    assert_eq!(
        c.lookup(&sample(&h, "found")).await.unwrap().status,
        Status::Found
    );
    h.shutdown().await;
}

#[tokio::test]
async fn connection_refused_is_connect() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let cfg = portal::Config::new(
        format!("http://{addr}").parse().unwrap(),
        "X",
        creds("u", "p", "127.0.0.1"),
        Trust::System,
    );
    let err = Client::new(cfg)
        .unwrap()
        .lookup(&Nik::parse("3204050101900001").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, portal::Error::Connect { .. }), "{err:?}");
    assert!(
        juknis::cause::caused_by::<std::io::Error>(&err),
        "the refused connect's io::Error is kept: {err:?}"
    );
    assert!(!juknis::cause::caused_by::<rustls::Error>(&err));
}

#[tokio::test]
async fn faults_through_the_admin_endpoint_and_stats() {
    let h = start(sim::Config {
        tls: false,
        ..sim::Config::default()
    })
    .await;
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured(
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        )
        .build()
        .unwrap();
    let set = http
        .post(format!("{}/_sim/faults", h.base_url()))
        .json(&serde_json::json!({"broken_json": true, "every": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let c = Client::new(config(
        &h,
        creds(sim::USER, sim::PASSWORD, sim::IP_USER),
        Trust::System,
    ))
    .unwrap();
    let nik = sample(&h, "found");
    assert!(c.lookup(&nik).await.is_ok());
    assert_eq!(
        c.lookup(&nik).await.unwrap_err().kind(),
        ErrorKind::Malformed
    );
    assert!(c.lookup(&nik).await.is_ok());
    let stats: serde_json::Value = http
        .get(format!("{}/_sim/stats", h.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["lookups_answered"], 2);
    assert_eq!(stats["faults_injected"], 1);
    assert_eq!(stats["by_status"]["found"], 2);
    h.shutdown().await;
}

fn batch(h: &Handle, recipients: &[(&str, &str, &str)]) -> BalikanBatch {
    let _ = h;
    BalikanBatch {
        id_lembaga: "3204DINSOS".into(),
        nama_lembaga: "Dinas Sosial (simulasi)".into(),
        records: recipients
            .iter()
            .map(|(nik, id, aid)| BalikanRecord {
                nik: Nik::parse(nik).unwrap(),
                recipient_id: (*id).into(),
                aid: AidType::new(aid).unwrap(),
            })
            .collect(),
        fields: BalikanFields::default(),
    }
}

/// The service as an OPD's agreement may name it: other keys, other aid types.
fn kpm() -> BalikanFields {
    BalikanFields {
        recipient_key: "NO_KPM".into(),
        aid_key: "PROGRAM".into(),
        aid_types: vec!["BPNT".into(), "PKH".into()],
    }
}

#[tokio::test]
async fn the_balikan_service_reads_the_keys_and_aid_types_it_declares() {
    let h = start(sim::Config {
        balikan_fields: kpm(),
        ..sim::Config::default()
    })
    .await;
    let c = client(&h);
    let found = h.samples()["found"].clone();
    // Sent with the documented keys, the service cannot read the record.
    let documented = batch(&h, &[(&found, "K-1", "BPNT")]);
    assert_eq!(
        c.send_balikan(&documented).await.unwrap(),
        BalikanOutcome::Rejected {
            status: 422,
            text: "Format data tidak valid".into()
        }
    );
    let body = BalikanBatch {
        fields: kpm(),
        ..documented
    };
    assert_eq!(
        body.to_wire()[0]["data"][0]["param"],
        serde_json::json!([{ "NO_KPM": "K-1" }, { "PROGRAM": "BPNT" }])
    );
    assert_eq!(
        c.send_balikan(&body).await.unwrap(),
        BalikanOutcome::Delivered
    );
    // An aid type the service does not know is refused in its own words.
    let pbi = BalikanBatch {
        fields: kpm(),
        ..batch(&h, &[(&found, "K-2", "PBI")])
    };
    assert_eq!(
        c.send_balikan(&pbi).await.unwrap(),
        BalikanOutcome::Rejected {
            status: 422,
            text: "Jenis bantuan tidak dikenal".into()
        }
    );
    let held = h.balikan_records();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        (held[0].recipient_id.as_str(), held[0].aid.as_str()),
        ("K-1", "BPNT")
    );
    h.shutdown().await;
}

#[tokio::test]
async fn balikan_delivered_then_already_sent_each_record_once() {
    let h = start_default().await;
    let c = client(&h);
    let found = h.samples()["found"].clone();
    let other = h.samples()["deceased"].clone();
    let first = batch(
        &h,
        &[(&found, "PKH-0001", "PKH"), (&other, "PBI-0002", "PBI")],
    );
    assert_eq!(
        c.send_balikan(&first).await.unwrap(),
        BalikanOutcome::Delivered
    );
    assert_eq!(
        c.send_balikan(&first).await.unwrap(),
        BalikanOutcome::AlreadySent
    );
    // Same NIK, other aid: a new record.
    let third = batch(&h, &[(&found, "PBI-0003", "PBI")]);
    assert_eq!(
        c.send_balikan(&third).await.unwrap(),
        BalikanOutcome::Delivered
    );
    let held = h.balikan_records();
    assert_eq!(held.len(), 3);
    let mut keys: Vec<_> = held
        .iter()
        .map(|r| (&r.nik, &r.recipient_id, &r.aid))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3, "every record exactly once");
    let stats = h.stats();
    assert_eq!((stats.balikan_records, stats.balikan_duplicates), (3, 2));
    h.shutdown().await;
}

#[tokio::test]
async fn balikan_with_a_wrong_token_is_rejected() {
    let h = start_default().await;
    let mut cfg = config(
        &h,
        creds(sim::USER, sim::PASSWORD, sim::IP_USER),
        pinned(&h),
    );
    if let Some(b) = cfg.balikan.as_mut() {
        b.token = "salah".into();
    }
    let found = h.samples()["found"].clone();
    let outcome = Client::new(cfg)
        .unwrap()
        .send_balikan(&batch(&h, &[(&found, "PKH-1", "PKH")]))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        BalikanOutcome::Rejected {
            status: 401,
            text: "Unauthorized".into()
        }
    );
    assert!(h.balikan_records().is_empty());
    h.shutdown().await;
}

#[test]
fn samples_cli_prints_one_nik_per_status_as_json() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_juknis"))
        .args(["sim", "--samples", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let samples: std::collections::BTreeMap<String, String> =
        serde_json::from_slice(&out.stdout).unwrap();
    for status in [
        "found",
        "deceased",
        "duplicate",
        "inactive",
        "invalid_format",
        "not_found",
    ] {
        let nik = &samples[status];
        assert!(
            Nik::parse(nik).is_ok(),
            "{status} sample passes local rules"
        );
    }
    assert_eq!(
        samples,
        sim::Population::generate(sim::DEFAULT_SEED, None)
            .samples()
            .clone()
    );
    assert!(Nik::parse(sim::LOCALLY_INVALID_NIK).is_err());
}
