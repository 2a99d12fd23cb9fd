//! Data balikan import: the report a person reads for a CSV with bad rows or a broken
//! structure (`juknis balikan import`, snapshotted), duplicates against the queue and against
//! what was delivered, and the JSON API. Synthetic NIKs only.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::Path;
use std::process::Command;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use juknis::nik::Nik;
use juknis::outbox::report::Unit;
use juknis::outbox::row::{Held, Problem, RawRow};
use juknis::outbox::{Outbox, RecordState, api};
use juknis::portal::AidType;
use tower::ServiceExt;

fn cli_import(state: &Path, fixture: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_juknis"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["balikan", "import"])
        .arg(format!("tests/fixtures/balikan/{fixture}"))
        .arg("--state-dir")
        .arg(state)
        .env("JUKNIS_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

#[test]
fn a_csv_with_bad_rows_reads_clearly_and_the_good_rows_are_queued() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = cli_import(dir.path(), "baris_bermasalah.csv");
    assert_eq!(code, 1, "some rows were refused");
    insta::assert_snapshot!(report);
    let counts = Outbox::open(dir.path()).unwrap().counts().unwrap();
    assert_eq!(counts.pending, 3);
}

#[test]
fn a_broken_csv_imports_nothing_and_names_each_line() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report) = cli_import(dir.path(), "struktur_rusak.csv");
    assert_eq!(code, 64);
    insta::assert_snapshot!(report);
    let counts = Outbox::open(dir.path()).unwrap().counts().unwrap();
    assert_eq!(counts.pending, 0, "nothing half-imported");
}

#[test]
fn english_headers_and_a_second_import_of_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let (code, first) = cli_import(dir.path(), "baik.csv");
    assert_eq!(code, 0, "{first}");
    assert!(first.contains("3 diterima"), "{first}");
    let (code, again) = cli_import(dir.path(), "baik.csv");
    assert_eq!(code, 1);
    assert_eq!(
        again.matches("data ini sudah ada di antrean").count(),
        3,
        "{again}"
    );
}

fn raw(nik: &str, rid: &str, aid: &str) -> RawRow {
    RawRow {
        nik: nik.into(),
        recipient_id: rid.into(),
        aid: aid.into(),
    }
}

#[test]
fn duplicates_against_queued_and_delivered_records() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(dir.path()).unwrap();
    let r = ob
        .import(
            "satu",
            Unit::Line,
            vec![(2, raw("3204051201900001", "A-1", "PKH"))],
        )
        .unwrap();
    assert_eq!(r.accepted, 1);

    let again = |rid: &str| {
        ob.import(
            "dua",
            Unit::Line,
            vec![(2, raw("3204051201900001", rid, "pkh"))],
        )
        .unwrap()
        .rejected
    };
    assert_eq!(
        again("A-1")[0].problems,
        [Problem::AlreadyHeld {
            held: Held::Pending,
            conflict: false
        }]
    );
    assert_eq!(
        again("A-2")[0].problems,
        [Problem::AlreadyHeld {
            held: Held::Pending,
            conflict: true
        }]
    );

    let batch = ob.claim(100).unwrap().unwrap();
    assert_eq!(batch.records.len(), 1);
    ob.delivered(batch.id, false).unwrap();
    assert_eq!(ob.plain_niks().unwrap(), 0, "the plain NIK is gone");
    assert_eq!(
        again("A-1")[0].problems,
        [Problem::AlreadyHeld {
            held: Held::Delivered,
            conflict: false
        }]
    );
    assert_eq!(
        again("A-9")[0].problems,
        [Problem::AlreadyHeld {
            held: Held::Delivered,
            conflict: true
        }]
    );
    let nik = Nik::parse("3204051201900001").unwrap();
    assert_eq!(
        ob.lookup(&nik, "A-1", &AidType::new("PKH").unwrap())
            .unwrap(),
        Some(RecordState::Delivered),
        "the audit can still tell that this record was delivered"
    );
    // The other aid type for the same person is a different record.
    let r = ob
        .import(
            "tiga",
            Unit::Line,
            vec![(2, raw("3204051201900001", "B-1", "PBI"))],
        )
        .unwrap();
    assert_eq!(r.accepted, 1);
}

#[test]
fn a_rejected_record_can_be_imported_again_once_corrected() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(dir.path()).unwrap();
    ob.import(
        "satu",
        Unit::Line,
        vec![(2, raw("3204051201900001", "A-1", "PKH"))],
    )
    .unwrap();
    let batch = ob.claim(10).unwrap().unwrap();
    assert_eq!(
        ob.refused(batch.id, "HTTP 422: ID tidak dikenal").unwrap(),
        1
    );
    assert_eq!(ob.counts().unwrap().rejected, 1);
    let r = ob
        .import(
            "dua",
            Unit::Line,
            vec![(2, raw("3204051201900001", "A-2", "PKH"))],
        )
        .unwrap();
    assert_eq!(r.accepted, 1);
}

async fn call(app: axum::Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn post(body: &str) -> Request<Body> {
    Request::post("/api/v1/balikan")
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn the_api_queues_rows_and_reports_counts() {
    let dir = tempfile::tempdir().unwrap();
    let ob = Outbox::open(dir.path()).unwrap();
    let app = api::router(ob.clone());

    let (status, body) = call(
        app.clone(),
        post(r#"{"nik": 3204051201900001, "id_penerima": "PKH-1", "jenis_bantuan": "pkh"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, body) = call(
        app.clone(),
        post(
            r#"[{"NIK": "3204061201900002", "ID_PENERIMA": "PBI-2", "JENIS_BANTUAN": "PBI"},
                {"nik": "3204051201900001", "recipient_id": "PKH-1", "aid_type": "PKH"},
                {"nik": "12345", "recipient_id": "", "aid_type": "BLT"}]"#,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "partly accepted");
    insta::assert_snapshot!(serde_json::to_string_pretty(&body).unwrap());

    let (status, body) = call(app.clone(), post("[{\"nik\": ")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "invalid_json");

    let (status, body) = call(
        app,
        Request::get("/api/v1/balikan/status")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["pending"], 2);
    assert_eq!(body["delivered"], 0);
    assert_eq!(body["rejected"], 0);
    assert!(body["oldest_pending_age_seconds"].as_f64().unwrap() >= 0.0);
}
