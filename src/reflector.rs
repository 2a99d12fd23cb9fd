//! The bandwidth reflector: `GET /reflect?bytes=N` answers N incompressible bytes (capped), so
//! `juknis serve` and the simulator can be the far end of a throughput test. In `juknis serve`
//! it is off unless the topology's `reflector` section turns it on, and then it answers only
//! the listed peers, with a byte cap and a rate per peer ([`guarded`]); the wire protocol is
//! the same for them.

use axum::Router;
use axum::body::Body;
use axum::extract::Query;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde::Deserialize;

/// Most bytes one request may ask for.
pub const MAX_BYTES: u64 = crate::topology::Reflector::MAX_BYTES;
const CHUNK: usize = 16 * 1024;

#[derive(Debug, Deserialize)]
struct Params {
    bytes: Option<u64>,
}

/// The router to mount: `GET /reflect?bytes=N` (default 1 MiB, at most [`MAX_BYTES`]).
pub fn router() -> Router {
    Router::new().route("/reflect", get(reflect))
}

/// The reflector for the topology's peers only: others get 403, a peer beyond `per_minute`
/// requests in a minute gets 429 with `Retry-After`, and no answer is longer than `max_bytes`.
pub fn guarded(policy: crate::topology::Reflector) -> Router {
    use axum::extract::{ConnectInfo, State};
    use std::collections::{HashMap, VecDeque};
    use std::net::{IpAddr, SocketAddr};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    type Seen = Arc<Mutex<HashMap<IpAddr, VecDeque<Instant>>>>;
    let seen: Seen = Arc::default();
    let policy = Arc::new(policy);
    Router::new()
        .route(
            "/reflect",
            get(
                move |State(seen): State<Seen>,
                      peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
                      Query(p): Query<Params>| {
                    let policy = Arc::clone(&policy);
                    async move {
                        use axum::http::StatusCode;
                        let ip = peer.map(|axum::Extension(ConnectInfo(a))| a.ip());
                        let Some(ip) = ip.filter(|ip| policy.peers.contains(ip)) else {
                            return (StatusCode::FORBIDDEN, "reflector: not a configured peer\n")
                                .into_response();
                        };
                        let minute = Duration::from_secs(60);
                        let now = Instant::now();
                        let wait = {
                            let mut m = seen.lock().unwrap_or_else(|p| p.into_inner());
                            let q = m.entry(ip).or_default();
                            while q.front().is_some_and(|t| now.duration_since(*t) >= minute) {
                                q.pop_front();
                            }
                            if q.len() >= policy.per_minute as usize {
                                q.front()
                                    .map(|t| minute.saturating_sub(now.duration_since(*t)))
                            } else {
                                q.push_back(now);
                                None
                            }
                        };
                        if let Some(w) = wait {
                            let mut r =
                                (StatusCode::TOO_MANY_REQUESTS, "reflector: too many tests\n")
                                    .into_response();
                            if let Ok(v) = HeaderValue::from_str(&w.as_secs().max(1).to_string()) {
                                r.headers_mut().insert(header::RETRY_AFTER, v);
                            }
                            return r;
                        }
                        let cap = policy.max_bytes.min(MAX_BYTES);
                        answer(p.bytes.unwrap_or(1024 * 1024).min(cap))
                    }
                },
            ),
        )
        .with_state(seen)
}

async fn reflect(Query(p): Query<Params>) -> Response {
    answer(p.bytes.unwrap_or(1024 * 1024).min(MAX_BYTES))
}

fn answer(total: u64) -> Response {
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

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use axum::extract::ConnectInfo;
    use http_body_util::BodyExt;
    use std::net::SocketAddr;
    use tower::ServiceExt;

    fn req(uri: &str, peer: Option<&str>) -> axum::http::Request<Body> {
        let mut r = axum::http::Request::get(uri).body(Body::empty()).unwrap();
        if let Some(p) = peer {
            let a: SocketAddr = p.parse().unwrap();
            r.extensions_mut().insert(ConnectInfo(a));
        }
        r
    }

    #[tokio::test]
    async fn only_peers_are_answered_capped_and_rate_limited() {
        let app = guarded(crate::topology::Reflector {
            peers: vec!["198.51.100.20".parse().unwrap()],
            max_bytes: 100_000,
            per_minute: 2,
        });
        for peer in [None, Some("203.0.113.9:5000")] {
            let r = app
                .clone()
                .oneshot(req("/reflect?bytes=99999999999", peer))
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{peer:?}");
            let body = r.into_body().collect().await.unwrap().to_bytes();
            assert!(body.len() < 100, "{peer:?} got {} bytes", body.len());
        }
        let r = app
            .clone()
            .oneshot(req(
                "/reflect?bytes=99999999999",
                Some("198.51.100.20:5000"),
            ))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.into_body().collect().await.unwrap().to_bytes().len(),
            100_000
        );
        // The same protocol as the open reflector for an allowed peer.
        let r = app
            .clone()
            .oneshot(req("/reflect?bytes=5000", Some("198.51.100.20:5001")))
            .await
            .unwrap();
        assert_eq!(
            r.into_body().collect().await.unwrap().to_bytes().len(),
            5000
        );
        let r = app
            .clone()
            .oneshot(req("/reflect?bytes=5000", Some("198.51.100.20:5002")))
            .await
            .unwrap();
        assert_eq!(r.status(), 429, "a third test in a minute");
        assert!(r.headers().contains_key(header::RETRY_AFTER));
    }
}
