//! The bandwidth reflector: `GET /reflect?bytes=N` answers N incompressible bytes (capped), so
//! `juknis serve` and the simulator can be the far end of a throughput test.

use axum::Router;
use axum::body::Body;
use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde::Deserialize;

/// Most bytes one request may ask for.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;
const CHUNK: usize = 16 * 1024;

#[derive(Debug, Deserialize)]
struct Params {
    bytes: Option<u64>,
}

/// The router to mount: `GET /reflect?bytes=N` (default 1 MiB, at most [`MAX_BYTES`]).
pub fn router() -> Router {
    Router::new().route("/reflect", get(reflect))
}

async fn reflect(Query(p): Query<Params>) -> Response {
    let total = p.bytes.unwrap_or(1024 * 1024).min(MAX_BYTES);
    let state = (total, 0x9E37_79B9_7F4A_7C15_u64 ^ total);
    let stream = futures_util::stream::unfold(state, |(left, seed)| async move {
        if left == 0 {
            return None;
        }
        let n = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
        let (chunk, seed) = noise(n, seed);
        Some((
            Ok::<Bytes, std::convert::Infallible>(chunk),
            (left - n as u64, seed),
        ))
    });
    let mut resp = Body::from_stream(stream).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    resp
}

/// xorshift64* bytes: cheap, and no link compressor shrinks them.
fn noise(n: usize, mut s: u64) -> (Bytes, u64) {
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        out.extend_from_slice(&s.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(n);
    (Bytes::from(out), s)
}
