//! `POST /api/v1/lookup`: the gate for OPD applications over HTTP. A bearer token becomes a
//! [`Caller::Application`]; the JSON body `{"nik", "purpose", "end_user"?}` (`purpose` a code
//! the PKS lists, `end_user` the person the application asks for) is checked with messages that
//! say what is wrong; the answer is `{status, message, data?}` with `Cache-Control: no-store`.
//!
//! HTTP 200 for every Dukcapil answer; 400, 401, 413, 429, 502, 503 for the appliance's own.
//! The body is read first, under a deadline ([`BODY_READ_TIMEOUT`]) and a size limit
//! ([`MAX_BODY`], checked against `Content-Length` before a byte is read), so a slow or large
//! request never holds one of the gate's places; then, beyond [`Gate::try_admit`]'s in-flight
//! limit, the request is answered at once with 503 `busy` and `Retry-After`.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::Value;

use super::{Caller, Gate, Refusal, Refused, messages};
use crate::http::{ApiError, no_store};
use crate::portal::Record;

/// Largest request body accepted: a NIK and a purpose fit in far less.
pub const MAX_BODY: usize = 4 * 1024;

/// Longest time to receive a look-up's body once its headers are in: 4 KiB take well under a
/// second even over the contracted 512 Kbps link.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The look-up route, merged by `serve` into the appliance's router.
pub fn router(gate: Gate) -> Router {
    Router::new()
        .route("/api/v1/lookup", post(lookup))
        .route_layer(middleware::from_fn_with_state(gate.clone(), admit))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(gate)
}

/// Take the whole (small) body first, then a place among the look-ups in flight, or shed.
async fn admit(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let body =
        match tokio::time::timeout(BODY_READ_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await {
            Ok(Ok(b)) => b,
            // Only a body over the limit fails here; a broken connection has no one to answer.
            Ok(Err(_)) => return too_large(),
            Err(_) => {
                let mut res = bad_request(format!(
                    "Badan permintaan tidak diterima lengkap dalam {} detik",
                    BODY_READ_TIMEOUT.as_secs()
                ));
                *res.status_mut() = StatusCode::REQUEST_TIMEOUT;
                return res;
            }
        };
    match gate.try_admit() {
        Ok(place) => {
            let res = next.run(Request::from_parts(parts, Body::from(body))).await;
            drop(place);
            res
        }
        Err(r) => refusal(r),
    }
}

fn too_large() -> Response {
    let mut res = bad_request(format!(
        "Badan permintaan lebih dari {MAX_BODY} byte; kirim hanya `nik`, `purpose` dan `end_user`"
    ));
    *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    res
}

#[derive(Serialize)]
struct Answer<'a> {
    status: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Record>,
}

fn refusal(r: Refused) -> Response {
    let status =
        StatusCode::from_u16(r.kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut e = ApiError::new(status, r.kind.as_str(), r.message);
    e.retry_after = r
        .retry_after
        .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0));
    let mut res = e.into_response();
    if r.kind == Refusal::Unauthorized {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"juknis\""),
        );
    }
    res
}

fn bad_request(message: impl Into<String>) -> Response {
    refusal(Refused {
        kind: Refusal::InvalidRequest,
        message: message.into(),
        retry_after: None,
    })
}

/// The caller of a request: `Authorization: Bearer <token>` naming a registered application.
pub fn caller(gate: &Gate, headers: &HeaderMap) -> Option<Caller> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    gate.authenticate(token.trim())
}

/// A look-up request's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupBody {
    /// The NIK as given.
    pub nik: String,
    /// The purpose code (or the PKS' text).
    pub purpose: String,
    /// The end user behind the application's request, if given.
    pub end_user: Option<String>,
}

/// The body's `nik` and `purpose`, or what is wrong with it (in Bahasa Indonesia). Pure, so the
/// look-up handler and the fuzz target (`fuzz/fuzz_targets/lookup_body.rs`) share it.
pub fn parse_body(body: &[u8]) -> Result<(String, String), String> {
    parse_request(body).map(|b| (b.nik, b.purpose))
}

/// The whole request body: `nik`, `purpose` and the optional `end_user`.
pub fn parse_request(body: &[u8]) -> Result<LookupBody, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "Badan permintaan bukan JSON yang sah (baris {}, kolom {}); kirim {{\"nik\": \"...\", \"purpose\": \"...\"}}",
            e.line(),
            e.column()
        )
    })?;
    let Value::Object(map) = v else {
        return Err(
            "Badan permintaan harus objek JSON {\"nik\": \"...\", \"purpose\": \"...\"}".into(),
        );
    };
    let field = |k: &str| -> Result<String, String> {
        match map.get(k) {
            None => Err(format!("Kolom `{k}` wajib ada")),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(_)) if k == "nik" => Err(
                "Kolom `nik` harus teks 16 digit dalam tanda kutip (angka JSON dapat kehilangan digit)"
                    .into(),
            ),
            Some(_) => Err(format!("Kolom `{k}` harus berupa teks")),
        }
    };
    let nik = field("nik")?;
    let purpose = field("purpose")?;
    let end_user = match map.get("end_user") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err("Kolom `end_user` harus berupa teks".into()),
    };
    if let Some(extra) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "nik" | "purpose" | "end_user"))
    {
        return Err(format!(
            "Kolom `{extra}` tidak dikenal; yang diterima hanya `nik`, `purpose` dan `end_user`"
        ));
    }
    Ok(LookupBody {
        nik,
        purpose,
        end_user,
    })
}

async fn lookup(
    State(gate): State<Gate>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let Some(who) = caller(&gate, &headers) else {
        return refusal(Refused {
            kind: Refusal::Unauthorized,
            message: messages::UNAUTHORIZED.into(),
            retry_after: None,
        });
    };
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return too_large(),
        Err(_) => return bad_request("Badan permintaan tidak dapat dibaca"),
    };
    let req = match parse_request(&body) {
        Ok(p) => p,
        Err(m) => return bad_request(m),
    };
    let ask = super::Ask {
        nik: &req.nik,
        purpose: &req.purpose,
        end_user: req.end_user.as_deref(),
    };
    match gate.ask(&who, ask).await {
        Ok(a) => {
            let mut res = axum::Json(Answer {
                status: a.status.as_str(),
                message: a.status.message(),
                data: a.record.as_ref(),
            })
            .into_response();
            no_store(res.headers_mut());
            res
        }
        Err(r) => refusal(r),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_body;

    #[test]
    fn body_errors_say_what_is_wrong() {
        let e = |b: &str| parse_body(b.as_bytes()).err().unwrap_or_default();
        assert!(e("{").contains("bukan JSON"));
        assert!(e("[]").contains("objek JSON"));
        assert!(e(r#"{"purpose":"x"}"#).contains("`nik` wajib"));
        assert!(e(r#"{"nik":"1"}"#).contains("`purpose` wajib"));
        assert!(e(r#"{"nik":3204,"purpose":"x"}"#).contains("dalam tanda kutip"));
        assert!(e(r#"{"nik":"1","purpose":"x","nama":"y"}"#).contains("`nama`"));
        assert!(e(r#"{"nik":"1","purpose":"x","end_user":3}"#).contains("`end_user`"));
        assert!(parse_body(br#"{"nik":"1","purpose":"x"}"#).is_ok());
        let b = super::parse_request(br#"{"nik":"1","purpose":"bansos","end_user":"petugas-7"}"#);
        assert_eq!(
            b.ok().and_then(|b| b.end_user).as_deref(),
            Some("petugas-7")
        );
    }
}
