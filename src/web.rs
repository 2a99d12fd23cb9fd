//! The HTTP face of the appliance: `/healthz`, `/metrics`, the JSON API and (later) the
//! dashboard, on axum, with one error type mapping domain errors to a status and a stable
//! JSON body. Internal details go to the log, not to the client.

pub mod auth;
pub mod dashboard;
pub mod help;
pub mod i18n;
pub mod pages;
pub mod tls;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::health::{State, Tracker};
use crate::metrics::Metrics;
use crate::topology::Topology;

/// What every handler can see. Locks are std locks, held for a read or a short update and
/// never across an `.await`.
pub struct Shared {
    pub topology: RwLock<Arc<Topology>>,
    pub health: RwLock<Tracker>,
    pub metrics: Metrics,
    pub started: std::time::Instant,
}

impl Shared {
    pub fn new(topology: Topology, health: Tracker, metrics: Metrics) -> Arc<Self> {
        Arc::new(Self {
            topology: RwLock::new(Arc::new(topology)),
            health: RwLock::new(health),
            metrics,
            started: std::time::Instant::now(),
        })
    }

    /// The topology in force (cheap: an `Arc` clone).
    pub fn topology(&self) -> Arc<Topology> {
        self.topology
            .read()
            .map(|t| Arc::clone(&t))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    /// Every path's verdict, now.
    pub fn verdicts(&self) -> Vec<crate::health::PathVerdict> {
        let t = self.topology();
        let health = match self.health.read() {
            Ok(h) => h,
            Err(p) => p.into_inner(),
        };
        t.paths
            .iter()
            .filter_map(|p| health.path(&t, &p.id))
            .collect()
    }
}

pub use crate::http::{ApiError, no_store};

/// `/healthz` and `/metrics`; other routers are merged in by `serve`.
pub fn router(state: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

#[derive(Serialize)]
struct Healthz {
    status: &'static str,
    uptime_seconds: u64,
    paths: Vec<PathHealth>,
}

#[derive(Serialize)]
struct PathHealth {
    path: String,
    state: State,
    label: &'static str,
    reason: String,
}

/// Liveness plus each path's state: 200 while the process serves, whatever the link does.
async fn healthz(AxState(s): AxState<Arc<Shared>>) -> Json<Healthz> {
    let paths = s
        .verdicts()
        .into_iter()
        .map(|v| PathHealth {
            path: v.path.to_string(),
            state: v.state,
            label: v.state.label_id(),
            reason: v.reason().to_string(),
        })
        .collect();
    Json(Healthz {
        status: "ok",
        uptime_seconds: s.started.elapsed().as_secs(),
        paths,
    })
}

async fn metrics(AxState(s): AxState<Arc<Shared>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

/// How long a client may take to send a request's headers, counted from when the server starts
/// waiting for them (so it also closes a keep-alive connection idle that long). A stalled or
/// trickling client is cut off instead of holding a connection and its memory.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest time to answer a request once its headers are in (reading the body included).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Serve `app` on `listener` until `cancel` fires, then finish in-flight requests; with
/// [`HEADER_READ_TIMEOUT`] and [`REQUEST_TIMEOUT`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    serve_with(listener, app, cancel, HEADER_READ_TIMEOUT, None).await
}

/// [`serve`] over TLS: every response also carries HSTS, so a browser that once reached the
/// dashboard over HTTPS never falls back to plain HTTP for it.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    app: Router,
    cancel: CancellationToken,
    tls: Arc<rustls::ServerConfig>,
) -> std::io::Result<()> {
    let app = app.layer(axum::middleware::map_response(
        |mut r: axum::response::Response| async move {
            r.headers_mut().insert(
                header::STRICT_TRANSPORT_SECURITY,
                header::HeaderValue::from_static(HSTS),
            );
            r
        },
    ));
    serve_with(listener, app, cancel, HEADER_READ_TIMEOUT, Some(tls)).await
}

/// A year, as the HSTS preload guidance asks; no `includeSubDomains`: the OPD's other hosts
/// are not ours to decide for.
const HSTS: &str = "max-age=31536000";

/// A TLS handshake has this long, like a request's headers.
const HANDSHAKE_TIMEOUT: Duration = HEADER_READ_TIMEOUT;

/// The plain-HTTP listener beside HTTPS: it serves only `/healthz` and `/metrics` (for
/// Prometheus and health checks that do not speak TLS; neither carries a cookie or a NIK) and
/// answers everything else with a permanent redirect to the same path on `https_port`.
pub fn redirect_to_https(app: Router, https_port: u16) -> Router {
    app.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            let path = req.uri().path();
            if path == "/healthz" || path == "/metrics" {
                return next.run(req).await;
            }
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
                .map_or_else(|| "localhost".to_owned(), |a| a.host().to_owned());
            // An IPv6 literal keeps its brackets in a URL.
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host
            };
            let pq = req
                .uri()
                .path_and_query()
                .map_or("/", axum::http::uri::PathAndQuery::as_str);
            let to = format!("https://{host}:{https_port}{pq}");
            (
                StatusCode::PERMANENT_REDIRECT,
                [(header::LOCATION, to)],
                "Gunakan HTTPS / use HTTPS\n",
            )
                .into_response()
        },
    ))
}

/// [`serve`] with another header read timeout (tests) and optionally TLS. Our own accept loop
/// rather than `axum::serve`, which gives hyper no timer and so no header read timeout at all.
/// HTTP/1.1 only: hyper's HTTP/1-or-2 detection waits for a client's first bytes without a
/// deadline, and nothing that talks to the appliance (browsers, Prometheus, OPD applications)
/// needs HTTP/2 for a dashboard and a small API.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: Router,
    cancel: CancellationToken,
    header_read_timeout: Duration,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> std::io::Result<()> {
    use hyper_util::service::TowerToHyperService;

    let app = app.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        REQUEST_TIMEOUT,
    ));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => break,
            a = listener.accept() => a,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        // The peer's address, for handlers that throttle per client (the log-in form).
        let service = match tower_service::Service::call(
            &mut app
                .clone()
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
            peer,
        )
        .await
        {
            Ok(s) => TowerToHyperService::new(s),
            Err(never) => match never {},
        };
        let cancel = cancel.clone();
        let acceptor = acceptor.clone();
        connections.spawn(async move {
            match acceptor {
                None => connection(tcp, service, header_read_timeout, cancel).await,
                Some(acceptor) => {
                    let handshake = tokio::select! {
                        r = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => r,
                        () = cancel.cancelled() => return,
                    };
                    match handshake {
                        Ok(Ok(tls)) => connection(tls, service, header_read_timeout, cancel).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
}

/// One HTTP/1.1 connection until it ends or the server stops (then gracefully).
async fn connection<I, S>(
    io: I,
    service: S,
    header_read_timeout: Duration,
    cancel: CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming> + Send + 'static,
    S::Future: Send + 'static,
    S::ResBody: Send + 'static,
    <S::ResBody as hyper::body::Body>::Data: Send,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    use hyper_util::rt::{TokioIo, TokioTimer};
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(error = %e, "connection ended");
            }
        }
        () = cancel.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

impl crate::health::Source for Shared {
    fn verdict(&self, path: &crate::topology::PathId) -> Option<crate::health::PathVerdict> {
        let t = self.topology();
        let health = match self.health.read() {
            Ok(h) => h,
            Err(p) => p.into_inner(),
        };
        health.path(&t, path)
    }
}
