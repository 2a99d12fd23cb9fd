//! HTTP(S) probes with their phases: DNS, connect, TLS, first byte, total; status and body
//! conditions.
//!
//! reqwest does not expose per-phase timings, so the request is made over our own connection:
//! a tokio `TcpStream`, tokio-rustls with the pinning verifier (see `trust`), and hyper's
//! HTTP/1.1 client connection. The same path serves the throughput test of `bandwidth`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::profile::{Endpoint, HttpSpec};
use super::trust::{self, Trust};
use super::wire::{Counted, Counters};
use super::{BoxFuture, Error, Host, Kind, Outcome, Probe, Reason, Target};

/// Timings of one request, each from the start of its phase.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Phases {
    /// Name resolution; absent for an IP target.
    #[serde(with = "super::secs::opt")]
    pub dns: Option<Duration>,
    #[serde(with = "super::secs::opt")]
    pub connect: Option<Duration>,
    #[serde(with = "super::secs::opt")]
    pub tls: Option<Duration>,
    /// From the request written to the response head read.
    #[serde(with = "super::secs::opt")]
    pub first_byte: Option<Duration>,
    /// The whole exchange, body included.
    #[serde(with = "super::secs::opt")]
    pub total: Option<Duration>,
}

/// What a request measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    pub url: String,
    pub phases: Phases,
    pub status: Option<u16>,
    /// Body bytes read (at most the profile's `max_body`).
    pub body_bytes: u64,
    /// The TLS facts, for https.
    pub tls: Option<super::tls::Detail>,
}

/// An HTTP(S) GET with conditions.
#[derive(Debug, Clone)]
pub struct HttpProbe {
    target: Target,
    spec: HttpSpec,
    plan: Plan,
    timeout: Duration,
}

impl HttpProbe {
    pub fn new(target: Target, spec: HttpSpec, timeout: Duration) -> Result<HttpProbe, Error> {
        let plan = Plan::new(&target, &spec.endpoint)?;
        Ok(HttpProbe {
            target,
            spec,
            plan,
            timeout,
        })
    }

    async fn measure(&self) -> Result<Outcome, Error> {
        let started = SystemTime::now();
        let keep = self
            .spec
            .body_contains
            .as_ref()
            .map_or(0, |_| self.spec.max_body_bytes);
        let limits = Limits {
            max_body: self.spec.max_body_bytes,
            keep_body: keep,
            read_for: None,
            until_stable: false,
            recv_window: None,
        };
        let f = self
            .plan
            .fetch(&self.target, self.timeout, limits, None)
            .await?;
        let spent = f.counters.wire_bytes();
        let detail = Detail {
            url: self.plan.url.clone(),
            phases: f.phases.clone(),
            status: f.status,
            body_bytes: f.body_bytes,
            tls: f.tls.clone(),
        };
        let elapsed = f.phases.total.unwrap_or_default();
        let outcome = Outcome::new(
            Kind::Http,
            &self.target,
            started,
            elapsed,
            super::Detail::Http(detail),
        )
        .spent(spent);
        let reason = f.failure.or_else(|| {
            let status = f.status?;
            if !self.spec.expected_status.contains(&status) {
                return Some(Reason::BadStatus {
                    status,
                    expected: self.spec.expected_status.clone(),
                });
            }
            let wanted = self.spec.body_contains.as_ref()?;
            let found = f
                .body
                .windows(wanted.len().max(1))
                .any(|w| w == wanted.as_bytes());
            (!found).then(|| Reason::BodyMismatch {
                wanted: wanted.clone(),
                read_bytes: f.body_bytes,
            })
        });
        Ok(match reason {
            Some(r) => outcome.failed(r),
            None => outcome,
        })
    }
}

impl Probe for HttpProbe {
    fn kind(&self) -> Kind {
        Kind::Http
    }

    fn target(&self) -> &Target {
        &self.target
    }

    fn cost_bytes(&self) -> u64 {
        let tls = if self.plan.tls.is_some() { 4_600 } else { 0 };
        super::stats::tcp_wire_bytes(300 + 600, 400 + tls + self.spec.max_body_bytes)
    }

    fn run(&self) -> BoxFuture<'_, Result<Outcome, Error>> {
        Box::pin(self.measure())
    }
}

/// Where one request goes, worked out once when the probe is built.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) url: String,
    host: Host,
    host_header: String,
    port: u16,
    path: String,
    /// Trust and the name to check, for https.
    tls: Option<(Trust, String)>,
}

impl Plan {
    pub(crate) fn new(target: &Target, ep: &Endpoint) -> Result<Plan, Error> {
        let bad = |why: String| Error::Target {
            target: target.to_string(),
            why,
        };
        let url = match (&target.url, &ep.url) {
            (Some(u), _) | (None, Some(u)) => u.clone(),
            (None, None) => {
                let scheme = if ep.tls { "https" } else { "http" };
                match target.port.or(ep.port) {
                    Some(p) => format!("{scheme}://{}:{p}{}", target.host, ep.path),
                    None => format!("{scheme}://{}{}", target.host, ep.path),
                }
            }
        };
        let uri: ::http::Uri = url
            .parse()
            .map_err(|e: ::http::uri::InvalidUri| bad(format!("{url}: {e}")))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad(format!("{url}: only http and https"))),
        };
        let host_str = uri.host().ok_or_else(|| bad(format!("{url}: no host")))?;
        let bare = host_str.trim_start_matches('[').trim_end_matches(']');
        let host = bare
            .parse()
            .map_or_else(|_| Host::Name(bare.to_owned()), Host::Ip);
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let host_header = uri
            .authority()
            .map_or_else(|| host_str.to_owned(), |a| a.as_str().to_owned());
        let path = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let tls = if tls {
            let trust = Trust::new(ep.pin.as_ref()).map_err(|why| Error::Tls {
                target: target.to_string(),
                why,
            })?;
            let name = ep.server_name.clone().unwrap_or_else(|| bare.to_owned());
            trust::server_name(&name).map_err(|why| Error::Tls {
                target: target.to_string(),
                why,
            })?;
            Some((trust, name))
        } else {
            None
        };
        Ok(Plan {
            url,
            host,
            host_header,
            port,
            path,
            tls,
        })
    }

    /// Runs one GET. Network failures land in `Fetched::failure`; `Err` only for local setup.
    pub(crate) async fn fetch(
        &self,
        target: &Target,
        timeout: Duration,
        limits: Limits,
        progress: Option<&(dyn Fn(u64, Duration) + Send + Sync)>,
    ) -> Result<Fetched, Error> {
        let t0 = Instant::now();
        let mut f = Fetched::default();
        let res = self
            .exchange(target, timeout, limits, progress, &mut f)
            .await;
        if let Err(reason) = res? {
            f.failure = Some(reason);
        }
        f.phases.total = Some(t0.elapsed());
        Ok(f)
    }

    async fn exchange(
        &self,
        target: &Target,
        timeout: Duration,
        limits: Limits,
        progress: Option<&(dyn Fn(u64, Duration) + Send + Sync)>,
        f: &mut Fetched,
    ) -> Result<Result<(), Reason>, Error> {
        let to = Reason::Timeout { after: timeout };
        let addr = match &self.host {
            Host::Ip(ip) => std::net::SocketAddr::new(*ip, self.port),
            Host::Name(n) => {
                let d0 = Instant::now();
                let found =
                    tokio::time::timeout(timeout, tokio::net::lookup_host((n.as_str(), self.port)))
                        .await;
                f.phases.dns = Some(d0.elapsed());
                match found {
                    Ok(Ok(mut it)) => match it.next() {
                        Some(a) => a,
                        None => {
                            return Ok(Err(Reason::Unreachable {
                                message: format!("{n} has no address"),
                            }));
                        }
                    },
                    Ok(Err(e)) => {
                        return Ok(Err(Reason::Unreachable {
                            message: e.to_string(),
                        }));
                    }
                    Err(_) => return Ok(Err(to)),
                }
            }
        };
        let c0 = Instant::now();
        let connect = super::connect_tcp(addr, &target.bind, limits.recv_window);
        let tcp = match tokio::time::timeout(timeout, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Ok(Err(Reason::from_io(&e))),
            Err(_) => return Ok(Err(to)),
        };
        f.phases.connect = Some(c0.elapsed());
        let _ = tcp.set_nodelay(true);
        let counted = Counted::new(tcp, f.counters.clone());
        let io: Box<dyn Io> = match &self.tls {
            None => Box::new(counted),
            Some((trust, name)) => {
                let verifier = trust::RecordingVerifier::new(trust.clone(), true);
                let config =
                    trust::client_config(verifier.clone(), true).map_err(|why| Error::Tls {
                        target: target.to_string(),
                        why,
                    })?;
                let sn = trust::server_name(name).map_err(|why| Error::Tls {
                    target: target.to_string(),
                    why,
                })?;
                let h0 = Instant::now();
                let shake = tokio::time::timeout(
                    timeout,
                    TlsConnector::from(Arc::new(config)).connect(sn, counted),
                )
                .await;
                let mut detail = super::tls::Detail {
                    addr: Some(addr.to_string()),
                    connect: f.phases.connect,
                    ..Default::default()
                };
                match shake {
                    Ok(Ok(tls)) => {
                        f.phases.tls = Some(h0.elapsed());
                        detail.handshake = f.phases.tls;
                        let judged = detail.judge(&verifier.seen(), Some(tls.get_ref().1), name);
                        f.tls = Some(detail);
                        // An expired or misnamed but pinned certificate: report it, still ask.
                        f.failure = judged;
                        Box::new(tls)
                    }
                    Ok(Err(e)) => {
                        let judged = detail.judge(&verifier.seen(), None, name);
                        f.tls = Some(detail);
                        return Ok(Err(judged.unwrap_or(Reason::Handshake {
                            message: e.to_string(),
                        })));
                    }
                    Err(_) => return Ok(Err(to)),
                }
            }
        };
        let mut builder = hyper::client::conn::http1::Builder::new();
        if let Some(w) = limits.recv_window {
            // One read holds no more than the window either, so the read that crosses a
            // byte cap overshoots it by at most that (after a lost segment the kernel hands
            // over everything queued behind it at once: 15 KB over, beside 70 % UDP).
            builder.max_buf_size((w as usize).max(8192));
        }
        let (mut sender, conn) = match builder.handshake(TokioIo::new(io)).await {
            Ok(x) => x,
            Err(e) => {
                return Ok(Err(Reason::Network {
                    message: e.to_string(),
                }));
            }
        };
        let driver = AbortOnDrop(tokio::spawn(conn));
        let req = http::Request::get(self.path.as_str())
            .header(http::header::HOST, self.host_header.as_str())
            .header(
                http::header::USER_AGENT,
                concat!("juknis-probe/", env!("CARGO_PKG_VERSION")),
            )
            .header(http::header::ACCEPT_ENCODING, "identity")
            .header(http::header::CONNECTION, "close")
            .body(Empty::<bytes::Bytes>::new())
            .map_err(|e| Error::Target {
                target: target.to_string(),
                why: e.to_string(),
            })?;
        let r0 = Instant::now();
        let resp = match tokio::time::timeout(timeout, sender.send_request(req)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                return Ok(Err(Reason::Network {
                    message: e.to_string(),
                }));
            }
            Err(_) => return Ok(Err(to)),
        };
        let b0 = Instant::now();
        f.phases.first_byte = Some(b0.duration_since(r0));
        f.status = Some(resp.status().as_u16());
        let mut body = resp.into_body();
        let deadline = limits.read_for.map(|d| b0 + d);
        let mut stability = limits
            .until_stable
            .then(super::bandwidth::Stability::default);
        loop {
            if f.body_bytes >= limits.max_body {
                // Cut off, unless the body ended right there.
                f.capped = !hyper::body::Body::is_end_stream(&body);
                break;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let wait = deadline.map_or(timeout, |d| {
                d.saturating_duration_since(Instant::now()).min(timeout)
            });
            match tokio::time::timeout(wait, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        let room = limits.keep_body.saturating_sub(f.body.len() as u64) as usize;
                        f.body.extend_from_slice(&data[..data.len().min(room)]);
                        f.body_bytes += data.len() as u64;
                        f.last_byte = Some(b0.elapsed());
                        if let Some(p) = progress {
                            p(f.body_bytes, b0.elapsed());
                        }
                        if let Some(st) = stability.as_mut()
                            && let Some(bps) = st.add(data.len() as u64, b0.elapsed())
                        {
                            f.stable_bps = Some(bps);
                            break;
                        }
                    }
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Ok(Err(Reason::Network {
                        message: e.to_string(),
                    }));
                }
                Err(_) if deadline.is_some() => break,
                Err(_) => return Ok(Err(to)),
            }
        }
        if let Some(st) = &stability {
            f.windows_bps = st.rates();
        }
        drop(driver);
        Ok(Ok(()))
    }
}

/// How much of a body to read and keep.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_body: u64,
    pub(crate) keep_body: u64,
    /// Stop reading this long after the first byte.
    pub(crate) read_for: Option<Duration>,
    /// Stop reading as soon as the body's arrival rate is stable (a bandwidth download); the
    /// stable rate lands in [`Fetched::stable_bps`].
    pub(crate) until_stable: bool,
    /// The receive buffer to ask for before connecting: it bounds the bytes in flight, and
    /// the bytes of one read.
    pub(crate) recv_window: Option<u32>,
}

/// What one GET got.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    pub(crate) phases: Phases,
    pub(crate) status: Option<u16>,
    pub(crate) body_bytes: u64,
    pub(crate) body: Vec<u8>,
    /// Time from the response head to the last body byte read.
    pub(crate) last_byte: Option<Duration>,
    pub(crate) tls: Option<super::tls::Detail>,
    pub(crate) counters: Counters,
    pub(crate) failure: Option<Reason>,
    /// The body's rate once it was stable (with [`Limits::until_stable`]), bits per second.
    pub(crate) stable_bps: Option<f64>,
    /// The rate of each window of the stability check, in order (with
    /// [`Limits::until_stable`]), bits per second.
    pub(crate) windows_bps: Vec<f64>,
    /// Reading stopped because the body reached [`Limits::max_body`].
    pub(crate) capped: bool,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
