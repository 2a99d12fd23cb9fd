//! The simulator's raw wire format, as a client that is not ours would see it.
#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use juknis::sim::{self, Handle, Server};
use rstest::rstest;
use serde_json::{Value, json};

async fn start() -> Handle {
    Server::start(sim::Config {
        tls: false,
        ..sim::Config::default()
    })
    .await
    .unwrap()
}

fn http() -> reqwest::Client {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap()
}

async fn post(h: &Handle, path: &str, body: &Value) -> (u16, Value) {
    let resp = http()
        .post(format!("{}{path}", h.base_url()))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

const CENTRAL: &str = "/dukcapil/get_json/3204DINSOS/CALL_NIK";
const REGIONAL: &str = "/dukcapil/get_json/32-04/dinsos_3204/call_nik";

#[rstest]
#[case::missing_nik(json!({"user_id": sim::USER, "password": sim::PASSWORD, "ip_user": sim::IP_USER}), 7)]
#[case::not_an_object(json!(["nik"]), 7)]
#[case::empty_user(json!({"nik": "3204050101900001", "user_id": "", "password": sim::PASSWORD, "ip_user": sim::IP_USER}), 9)]
#[case::ip_address_key(json!({"NIK": "3204050101900001", "USER_ID": sim::USER, "PASSWORD": sim::PASSWORD, "ip_address": sim::IP_USER}), 13)]
#[case::locally_invalid(json!({"nik": sim::LOCALLY_INVALID_NIK, "user_id": sim::USER, "password": sim::PASSWORD, "ip_user": sim::IP_USER}), 15)]
#[tokio::test]
async fn codes_are_json_numbers_in_a_spring_page_with_http_200(
    #[case] body: Value,
    #[case] code: u64,
) {
    let h = start().await;
    let (status, page) = post(&h, CENTRAL, &body).await;
    assert_eq!(status, 200, "errors are HTTP 200 too");
    assert_eq!(page["content"][0]["RESPONSE_CODE"], json!(code));
    assert!(page["content"][0]["RESPON"].is_string());
    for key in [
        "lastPage",
        "numberOfElements",
        "totalElements",
        "firstPage",
        "number",
        "size",
        "quotaLimiter",
    ] {
        assert!(page.get(key).is_some(), "{key}");
    }
    h.shutdown().await;
}

#[tokio::test]
async fn regional_variant_has_no_code_and_no_quota() {
    let h = start().await;
    let nik = &h.samples()["deceased"];
    let (status, page) = post(
        &h,
        REGIONAL,
        &json!({"nik": nik, "user_id": sim::USER, "password": sim::PASSWORD, "ip_user": sim::IP_USER}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(page.get("quotaLimiter").is_none());
    assert!(page["content"][0].get("RESPONSE_CODE").is_none());
    assert_eq!(
        page["content"][0]["RESPON"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        "data ditemukan, meninggal dunia"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn found_records_carry_extra_fields_and_unpadded_numbers() {
    let h = start().await;
    let nik = &h.samples()["found_numbers"];
    let (_, page) = post(
        &h,
        CENTRAL,
        &json!({"nik": nik, "user_id": sim::USER, "password": sim::PASSWORD, "ip_user": sim::IP_USER}),
    )
    .await;
    let rec = &page["content"][0];
    assert!(rec["NIK"].is_u64(), "NIK as a JSON number");
    assert!(rec["NO_PROP"].is_u64() && rec["NO_KEC"].is_u64());
    assert!(rec.get("AGAMA").is_some() && rec.get("GOL_DARAH").is_some());
    assert_eq!(rec["RESPONSE_CODE"], json!(1));
    h.shutdown().await;
}

#[tokio::test]
async fn population_is_deterministic_per_seed() {
    let a = sim::Population::generate(7, None);
    let b = sim::Population::generate(7, None);
    let c = sim::Population::generate(8, None);
    assert_eq!(a.samples(), b.samples());
    assert_ne!(a.samples(), c.samples());
    for key in [
        "found",
        "deceased",
        "duplicate",
        "inactive",
        "invalid_format",
        "not_found",
    ] {
        let nik = &a.samples()[key];
        assert!(juknis::nik::Nik::parse(nik).is_ok(), "{key}");
    }
    assert!(a.get(&a.samples()["not_found"]).is_none());
}

#[tokio::test]
async fn canary_marks_every_found_record() {
    let h = Server::start(sim::Config {
        tls: false,
        canary: Some("KANARI-7f3a".into()),
        ..sim::Config::default()
    })
    .await
    .unwrap();
    let nik = &h.samples()["found"];
    let (_, page) = post(
        &h,
        CENTRAL,
        &json!({"nik": nik, "user_id": sim::USER, "password": sim::PASSWORD, "ip_user": sim::IP_USER}),
    )
    .await;
    assert!(
        page["content"][0]["NAMA_LGKP"]
            .as_str()
            .unwrap()
            .contains("KANARI-7f3a")
    );
    assert!(
        page["content"][0]["ALAMAT"]
            .as_str()
            .unwrap()
            .contains("KANARI-7f3a")
    );
    h.shutdown().await;
}

#[tokio::test]
async fn balikan_bad_body_is_refused_and_nothing_held() {
    let h = start().await;
    let resp = http()
        .post(h.balikan_url())
        .bearer_auth(sim::DEFAULT_BALIKAN_TOKEN)
        .json(&json!([{"id_lembaga": "X", "nama_lembaga": "Y", "data": [{"NIK": "123", "param": []}]}]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 422);
    assert!(h.balikan_records().is_empty());
    h.shutdown().await;
}
