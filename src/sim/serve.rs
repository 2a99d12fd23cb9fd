//! The simulator's accept loop: optional TLS, fault injection around the router, shutdown.

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Error, Shared};

/// A fresh self-signed certificate for `localhost` and the bound IP, its acceptor, PEM and
/// SHA-256 fingerprint.
pub(crate) fn self_signed(ip: IpAddr) -> Result<(TlsAcceptor, String, [u8; 32]), Error> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    if !ip.is_unspecified() && ip.to_string() != "127.0.0.1" {
        names.push(ip.to_string());
    }
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| Error::Tls(Box::new(e)))?;
    let der = ck.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(Box::new(e)))?
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .map_err(|e| Error::Tls(Box::new(e)))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let fp = crate::portal::tls::fingerprint_of(der.as_ref());
    Ok((TlsAcceptor::from(Arc::new(config)), ck.cert.pem(), fp))
}

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    router: Router,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            () = cancel.cancelled() => break,
            a = listener.accept() => a,
        };
        let (tcp, _) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(error = %e, "simulator accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let conn = Connection {
            router: router.clone(),
            shared: shared.clone(),
            cancel: cancel.clone(),
        };
        match acceptor.clone() {
            None => {
                tracker.spawn(conn.serve(tcp));
            }
            Some(acceptor) => {
                tracker.spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => conn.serve(tls).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "simulator TLS handshake failed"),
                        Err(_) => tracing::debug!("simulator TLS handshake timed out"),
                    }
                });
            }
        }
    }
}

struct Connection {
    router: Router,
    shared: Arc<Shared>,
    cancel: CancellationToken,
}

impl Connection {
    async fn serve<IO>(self, io: IO)
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            router,
            shared,
            cancel,
        } = self;
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            handle(router.clone(), shared.clone(), req)
        });
        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        let conn = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(conn);
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "simulator connection ended");
                }
            }
            () = cancel.cancelled() => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        }
    }
}

/// Returning `Err` makes hyper close the connection without an answer: the "drop" fault.
async fn handle(
    router: Router,
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Body>, std::io::Error> {
    let applied = shared.faults_for(req.uri().path());
    if !applied.latency.is_zero() {
        tokio::time::sleep(applied.latency).await;
    }
    if applied.drop {
        return Err(std::io::Error::other("dropped by fault injection"));
    }
    if let Some(code) = applied.http_status {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Ok(Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, "text/html")
            .body(Body::from(format!(
                "<html><body><h1>{status}</h1>simulated fault</body></html>"
            )))
            .unwrap_or_default());
    }
    if applied.broken_json {
        return Ok(Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"content":[{"RESPON":"Data Dit"#))
            .unwrap_or_default());
    }
    let resp = match tower_service::Service::call(&mut router.clone(), req).await {
        Ok(r) => r,
        Err(e) => match e {},
    };
    let Some(delay) = applied.slow_body else {
        return Ok(resp);
    };
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .map_err(std::io::Error::other)?;
    let chunks: Vec<Bytes> = bytes.chunks(16).map(Bytes::copy_from_slice).collect();
    let stream = futures_util::stream::unfold(chunks.into_iter(), move |mut it| async move {
        let chunk = it.next()?;
        tokio::time::sleep(delay).await;
        Some((Ok::<_, Infallible>(chunk), it))
    });
    Ok(Response::from_parts(parts, Body::from_stream(stream)))
}
