//! The outbox's JSON API: `POST /api/v1/balikan` queues rows (an array of objects, or one
//! object, keyed `nik`, `id_penerima`, `jenis_bantuan` or the topology's own `param` keys) and
//! answers with the import report; `GET /api/v1/balikan/status` answers the counts
//! by state and the age of the oldest pending record. Authentication is the web layer's.

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use super::report::Unit;
use super::row::RawRow;
use super::{Outbox, blocking};
use crate::http::ApiError;

/// Most rows accepted in one request; larger sets go through the CSV import.
pub const MAX_ROWS: usize = 20_000;

const NIK_KEYS: &[&str] = &["nik", "NIK"];
const RECIPIENT_KEYS: &[&str] = &["id_penerima", "ID_PENERIMA", "recipient_id", "no_penerima"];
const AID_KEYS: &[&str] = &[
    "jenis_bantuan",
    "JENIS_BANTUAN",
    "aid_type",
    "aid",
    "bantuan",
];

/// `/api/v1/balikan` and `/api/v1/balikan/status`.
pub fn router(outbox: Outbox) -> Router {
    Router::new()
        .route("/api/v1/balikan", post(submit))
        .route("/api/v1/balikan/status", get(status))
        .route("/api/v1/balikan/rejected", get(rejected))
        .with_state(outbox)
}

/// The value under the first of `keys`, or the topology's own `declared` key, present.
fn field(item: &Value, keys: &[&str], declared: &str) -> String {
    keys.iter()
        .copied()
        .chain(std::iter::once(declared))
        .find_map(|k| item.get(k))
        .map(|v| match v {
            Value::String(s) => s.clone(),
            // serde_json reads integers exactly (u64), never through a float.
            Value::Number(n) => n.to_string(),
            Value::Null => String::new(),
            other => other.to_string(),
        })
        .unwrap_or_default()
}

fn internal(e: &super::Error) -> ApiError {
    tracing::error!(error = %e, "outbox API failed");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Kesalahan internal; data tidak disimpan",
    )
}

async fn submit(AxState(outbox): AxState<Outbox>, body: axum::body::Bytes) -> Response {
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!(
                    "JSON tidak valid (baris {}, kolom {})",
                    e.line(),
                    e.column()
                ),
            )
            .into_response();
        }
    };
    let items = match value {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "Kirim satu objek atau larik objek {nik, id_penerima, jenis_bantuan}",
            )
            .into_response();
        }
    };
    if items.is_empty() {
        return ApiError::new(StatusCode::BAD_REQUEST, "empty", "Tidak ada data").into_response();
    }
    if items.len() > MAX_ROWS {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_rows",
            format!("Paling banyak {MAX_ROWS} data per permintaan; gunakan impor CSV"),
        )
        .into_response();
    }
    let ob = outbox.clone();
    let import = move || {
        let declared = ob.fields()?;
        let rows: Vec<(u64, RawRow)> = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                (
                    i as u64 + 1,
                    RawRow {
                        nik: field(item, NIK_KEYS, "NIK"),
                        recipient_id: field(item, RECIPIENT_KEYS, &declared.recipient_key),
                        aid: field(item, AID_KEYS, &declared.aid_key),
                    },
                )
            })
            .collect();
        ob.import("api", Unit::Item, rows)
    };
    match blocking(import).await {
        Ok(report) => {
            let code = if report.rejected.is_empty() {
                StatusCode::CREATED
            } else if report.accepted == 0 {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            (code, Json(report)).into_response()
        }
        Err(e) => internal(&e).into_response(),
    }
}

/// The records the service refused, newest first (100 at most), with its own words.
async fn rejected(AxState(outbox): AxState<Outbox>) -> Response {
    let ob = outbox.clone();
    match blocking(move || ob.rejected(100)).await {
        Ok(r) => Json(serde_json::json!({ "rejected": r })).into_response(),
        Err(e) => internal(&e).into_response(),
    }
}

async fn status(AxState(outbox): AxState<Outbox>) -> Response {
    let ob = outbox.clone();
    match blocking(move || ob.counts()).await {
        Ok(c) => Json(c).into_response(),
        Err(e) => internal(&e).into_response(),
    }
}
