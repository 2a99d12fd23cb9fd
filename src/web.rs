//! The HTTP face of the appliance: `/healthz`, `/metrics`, the JSON API and (later) the
//! dashboard, on axum, with one error type mapping domain errors to a status and a stable
//! JSON body. Internal details go to the log, not to the client.

pub mod auth;
pub mod dashboard;
pub mod help;
pub mod i18n;
pub mod pages;

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
    serve_with(listener, app, cancel, HEADER_READ_TIMEOUT).await
}

/// [`serve`] with another header read timeout (tests). Our own accept loop rather than
/// `axum::serve`, which gives hyper no timer and so no header read timeout at all. HTTP/1.1
/// only: hyper's HTTP/1-or-2 detection waits for a client's first bytes without a deadline,
/// and nothing that talks to the appliance (browsers, Prometheus, OPD applications over plain
/// HTTP) uses HTTP/2 without TLS.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: Router,
    cancel: CancellationToken,
    header_read_timeout: Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let app = app.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        REQUEST_TIMEOUT,
    ));
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
        connections.spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .serve_connection(TokioIo::new(tcp), service)
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
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
    Ok(())
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
