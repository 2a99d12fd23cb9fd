//! What every HTTP surface of the appliance answers alike: the JSON error of the APIs (the
//! gate's, the outbox's, the dashboard's) and the header that keeps any answer out of caches
//! (zero storage of population data). A leaf: the gate and the outbox answer with these without
//! depending on the dashboard.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The API's error: a status, a stable machine-readable code, and a message for people.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds after which a retry may succeed (429 and 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body<'a> {
            status: &'a str,
            message: &'a str,
        }
        let mut res = (
            self.status,
            Json(Body {
                status: self.code,
                message: &self.message,
            }),
        )
            .into_response();
        no_store(res.headers_mut());
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// Mark a response as never to be stored by a browser or a proxy (zero storage).
pub fn no_store(h: &mut axum::http::HeaderMap) {
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, max-age=0"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}
