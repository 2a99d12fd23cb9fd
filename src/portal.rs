//! The portal client: speaks the Dukcapil wire format (DUKCAPIL_WIRE.md) to the Web Portal and to
//! the data balikan service, and maps every answer onto [`Status`].
//!
//! Owns request building, answer parsing and the TLS trust of those connections. It never retries
//! (a retry could spend quota twice), never stores or logs population data, and must not depend on
//! `gate`, `store` or `web`: they call in here.

use std::time::{Duration, Instant};

use reqwest::Url;
use serde_json::{Map, Value, json};

use crate::cause::{BoxError, caused_by, chain};
use crate::nik::Nik;
use crate::secret::Secret;

pub mod answer;
pub mod balikan;
pub mod route;
mod status;
pub mod tls;

pub use answer::{Alamat, Element, Elements, Record};
pub use balikan::{AidType, BalikanBatch, BalikanOutcome, BalikanRecord};
pub use status::Status;
pub use tls::Trust;

/// Default time allowed for a whole look-up, as clients of the real service use.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest answer body read; anything larger is malformed.
const MAX_BODY: usize = 1 << 20;

/// Why a look-up or a balikan post gave no answer to act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client could not be built from its configuration.
    #[error("portal client configuration: {0}")]
    Config(String),
    /// No connection (refused, unreachable, DNS).
    #[error("could not connect to {url}")]
    Connect {
        /// Base URL of the service.
        url: String,
        /// Why (the HTTP client's error and its causes).
        #[source]
        source: BoxError,
    },
    /// No complete answer within the timeout.
    #[error("no complete answer from {url} within {timeout:?}")]
    Timeout {
        /// Base URL of the service.
        url: String,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The TLS handshake failed (unknown certificate, wrong pin, protocol).
    #[error("TLS with {url} failed")]
    Tls {
        /// Base URL of the service.
        url: String,
        /// Why (the HTTP client's error, with the TLS library's below it).
        #[source]
        source: BoxError,
    },
    /// The connection broke (closed without an answer, reset) after it was made.
    #[error("connection to {url} failed")]
    Transport {
        /// Base URL of the service.
        url: String,
        /// Why (the HTTP client's error and its causes).
        #[source]
        source: BoxError,
    },
    /// An HTTP status other than the wire's 200 (a 5xx from the server or a proxy).
    #[error("{url} answered HTTP {status}: {text}")]
    HttpStatus {
        /// Base URL of the service.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// Start of the body, digits runs masked.
        text: String,
    },
    /// An answer that is not the wire format.
    #[error("malformed answer ({reason}): {text}")]
    Malformed {
        /// What does not fit.
        reason: String,
        /// Start of the body, digit runs masked.
        text: String,
    },
}

/// The family of an [`Error`], for a circuit breaker and for metrics labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bad configuration: not the path's fault.
    Config,
    /// Connect, timeout, TLS or a broken connection: the path or the server is unhealthy.
    Transport,
    /// The server answered with an HTTP error status.
    HttpStatus,
    /// The server answered something that is not the wire format.
    Malformed,
}

impl Error {
    /// Which family this error belongs to.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_) => ErrorKind::Config,
            Error::Connect { .. }
            | Error::Timeout { .. }
            | Error::Tls { .. }
            | Error::Transport { .. } => ErrorKind::Transport,
            Error::HttpStatus { .. } => ErrorKind::HttpStatus,
            Error::Malformed { .. } => ErrorKind::Malformed,
        }
    }
}

/// Which path variant of the Web Portal to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Regional node (plain HTTP, port 8080): `/dukcapil/get_json/<PP-KK>/<instansi_user>/<service>`.
    Regional {
        /// `32` or `32-04`.
        region: String,
        /// The agency's user path segment, e.g. `dinsos_3204`.
        instansi_user: String,
        /// `call_nik`, `GET_NIK`, ...
        service: String,
    },
    /// Central gateway (HTTPS, port 8000): `/dukcapil/get_json/<INSTANSI_ID>/<service>`.
    Central {
        /// The agency id.
        instansi_id: String,
        /// `CALL_NIK`.
        service: String,
    },
}

impl Route {
    fn segments(&self) -> Vec<&str> {
        match self {
            Route::Regional {
                region,
                instansi_user,
                service,
            } => vec!["dukcapil", "get_json", region, instansi_user, service],
            Route::Central {
                instansi_id,
                service,
            } => vec!["dukcapil", "get_json", instansi_id, service],
        }
    }

    /// The full URL of a look-up under `base` (segments percent-encoded).
    pub fn url(&self, base: &Url) -> Result<Url, Error> {
        let mut url = base.clone();
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|()| Error::Config(format!("{base} cannot take a path")))?;
            segs.pop_if_empty();
            for s in self.segments() {
                if s.is_empty() {
                    return Err(Error::Config("a route segment is empty".into()));
                }
                segs.push(s);
            }
        }
        Ok(url)
    }
}

/// The case of the body keys (`nik` or `NIK`, ...): clients of the real service use both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyCase {
    /// `nik`, `user_id`, `password`, `ip_user`.
    #[default]
    Lower,
    /// `NIK`, `USER_ID`, `PASSWORD`, `IP_USER`.
    Upper,
}

/// Web Portal account. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `user_id`.
    pub user_id: String,
    /// `password`; prints as `[rahasia]`.
    pub password: Secret,
    /// `ip_user`: the OPD's registered IP, sent in the body.
    pub ip_user: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user_id", &self.user_id)
            .field("password", &self.password)
            .field("ip_user", &self.ip_user)
            .finish()
    }
}

/// The JSON body of a look-up.
pub fn request_body(creds: &Credentials, nik: &Nik, case: KeyCase) -> Value {
    let key = |k: &str| match case {
        KeyCase::Lower => k.to_owned(),
        KeyCase::Upper => k.to_ascii_uppercase(),
    };
    let mut m = Map::new();
    m.insert(key("nik"), json!(nik.expose()));
    m.insert(key("user_id"), json!(creds.user_id));
    m.insert(key("password"), json!(creds.password.expose()));
    m.insert(key("ip_user"), json!(creds.ip_user));
    Value::Object(m)
}

/// The data balikan service: the endpoint posted to and its bearer token.
#[derive(Clone, PartialEq, Eq)]
pub struct BalikanConfig {
    /// Full URL of the endpoint (the simulator's is `<base>/data_balikan/public/api/v1/balikan`).
    pub url: Url,
    /// Bearer token; prints as `[rahasia]`.
    pub token: Secret,
}

impl std::fmt::Debug for BalikanConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BalikanConfig")
            .field("url", &self.url.as_str())
            .field("token", &self.token)
            .finish()
    }
}

/// Everything a [`Client`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Scheme, host and port of the Web Portal (`https://127.0.0.1:8000`).
    pub base_url: Url,
    /// Path variant.
    pub route: Route,
    /// Body key case.
    pub key_case: KeyCase,
    /// Account.
    pub credentials: Credentials,
    /// TLS trust (ignored for `http://`).
    pub trust: Trust,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Elements of the agreement; everything else in an answer is dropped.
    pub elements: Elements,
    /// The data balikan service, when this client also sends return data.
    pub balikan: Option<BalikanConfig>,
    /// The local address every connection is bound to (a route's `egress.source`): policy
    /// routing by source sends the packets along that route.
    pub local_address: Option<std::net::IpAddr>,
    /// The interface every connection is bound to (`SO_BINDTODEVICE`, a route's
    /// `egress.interface`, e.g. `wg0`).
    pub interface: Option<String>,
}

impl Config {
    /// A configuration with the defaults: central route `CALL_NIK`, lower-case keys, 10 s,
    /// the nine elements, no balikan.
    pub fn new(base_url: Url, instansi_id: &str, credentials: Credentials, trust: Trust) -> Self {
        Config {
            base_url,
            route: Route::Central {
                instansi_id: instansi_id.to_owned(),
                service: "CALL_NIK".to_owned(),
            },
            key_case: KeyCase::Lower,
            credentials,
            trust,
            timeout: DEFAULT_TIMEOUT,
            elements: Elements::default(),
            balikan: None,
            local_address: None,
            interface: None,
        }
    }
}

/// A mapped look-up answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// What the answer means.
    pub status: Status,
    /// The person, filtered to the agreement, only when found.
    pub record: Option<Record>,
    /// Remaining daily quota, when the gateway says (`quotaLimiter`).
    pub quota_left: Option<u64>,
    /// From sending the request to the last byte of the answer.
    pub latency: Duration,
}

/// The portal client. Cheap to clone; one connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    lookup_url: Url,
    config: std::sync::Arc<Config>,
}

#[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
fn bind_interface(b: reqwest::ClientBuilder, name: &str) -> Result<reqwest::ClientBuilder, Error> {
    Ok(b.interface(name))
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "fuchsia")))]
fn bind_interface(_: reqwest::ClientBuilder, name: &str) -> Result<reqwest::ClientBuilder, Error> {
    Err(Error::Config(format!(
        "binding to interface `{name}` (SO_BINDTODEVICE) needs Linux"
    )))
}

impl Client {
    /// Build the client; fails only on configuration (bad trust, bad route).
    pub fn new(config: Config) -> Result<Client, Error> {
        let lookup_url = config.route.url(&config.base_url)?;
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(config.trust.client_config()?)
            .timeout(config.timeout)
            .retry(reqwest::retry::never())
            // A 307/308 would resend the body and could spend quota twice.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .local_address(config.local_address);
        if let Some(name) = &config.interface {
            builder = bind_interface(builder, name)?;
        }
        let http = builder.build().map_err(|e| Error::Config(chain(&e)))?;
        Ok(Client {
            http,
            lookup_url,
            config: std::sync::Arc::new(config),
        })
    }

    /// The configuration this client was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn base(&self) -> String {
        self.config.base_url.as_str().to_owned()
    }

    fn map_err(&self, e: reqwest::Error, url: String) -> Error {
        if e.is_timeout() {
            Error::Timeout {
                url,
                timeout: self.config.timeout,
            }
        } else if caused_by::<rustls::Error>(&e) {
            Error::Tls {
                url,
                source: Box::new(e),
            }
        } else if e.is_connect() {
            Error::Connect {
                url,
                source: Box::new(e),
            }
        } else {
            Error::Transport {
                url,
                source: Box::new(e),
            }
        }
    }

    async fn read_body(&self, mut resp: reqwest::Response, url: &str) -> Result<String, Error> {
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.map_err(e, url.to_owned()))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(Error::Malformed {
                    reason: format!("answer larger than {MAX_BODY} bytes"),
                    text: answer::shown(&String::from_utf8_lossy(&body)),
                });
            }
            body.extend_from_slice(&chunk);
        }
        String::from_utf8(body).map_err(|e| Error::Malformed {
            reason: "answer is not UTF-8".into(),
            text: answer::shown(&String::from_utf8_lossy(e.as_bytes())),
        })
    }

    /// Look one NIK up. Exactly one request is sent, or none if the connection fails first.
    pub async fn lookup(&self, nik: &Nik) -> Result<Answer, Error> {
        let url = self.base();
        let body = request_body(&self.config.credentials, nik, self.config.key_case);
        let started = Instant::now();
        let resp = self
            .http
            .post(self.lookup_url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| self.map_err(e, url.clone()))?;
        let status = resp.status();
        let text = self.read_body(resp, &url).await?;
        let latency = started.elapsed();
        if status != reqwest::StatusCode::OK {
            return Err(Error::HttpStatus {
                url,
                status: status.as_u16(),
                text: answer::shown(&text),
            });
        }
        let parsed = answer::parse(&text, self.config.elements)?;
        Ok(Answer {
            status: parsed.status,
            record: parsed.record,
            quota_left: parsed.quota_left,
            latency,
        })
    }

    /// Post one batch of return data. `Err` means no verdict (retry later); a verdict, even a
    /// refusal, is `Ok`.
    pub async fn send_balikan(&self, batch: &BalikanBatch) -> Result<BalikanOutcome, Error> {
        let Some(cfg) = &self.config.balikan else {
            return Err(Error::Config("no data balikan service configured".into()));
        };
        let url = cfg.url.as_str().to_owned();
        let resp = self
            .http
            .post(cfg.url.clone())
            .bearer_auth(cfg.token.expose())
            .json(&batch.to_wire())
            .send()
            .await
            .map_err(|e| self.map_err(e, url.clone()))?;
        let status = resp.status().as_u16();
        let text = self.read_body(resp, &url).await?;
        if status >= 500 {
            return Err(Error::HttpStatus {
                url,
                status,
                text: answer::shown(&text),
            });
        }
        Ok(balikan::outcome(status, &text))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests;
