//! Delivery over each channel: the Telegram Bot API (`sendMessage`), a WhatsApp HTTP gateway
//! (a JSON template), SMTP (lettre, rustls on ring) and webhooks (juknis JSON or the
//! Alertmanager webhook payload, version 4). HTTP leaves by the notifier's `egress` (source
//! address, interface). Every request carries the delivery's idempotency key where the channel
//! has a place for one (`Idempotency-Key` header, the e-mail's `Message-ID`); Telegram has none.

use std::collections::BTreeMap;
use std::time::Duration;

use lettre::AsyncTransport;
use serde_json::json;

use super::incident::Kind;
use super::queue::Delivery;
use crate::cause::chain;
use crate::gate::secrets::NotifierLogin;
use crate::health::State;
use crate::topology::{Channel, Notifier, SmtpSecurity, WebhookFormat};

/// How long one delivery may take before it counts as failed.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Why a delivery failed. Never holds a token: URLs with the bot token are not printed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The notifier names credentials the secrets file does not have.
    #[error("notifier `{notifier}`: no entry `{name}` under `notifiers:` in secrets.yaml")]
    NoCredentials { notifier: String, name: String },
    /// The notifier's secret lacks what its kind needs.
    #[error("notifier `{notifier}`: the secret `{name}` has no `{field}`")]
    Incomplete {
        notifier: String,
        name: String,
        field: &'static str,
    },
    /// The HTTP client or SMTP transport could not be built (bad egress, TLS setup).
    #[error("notifier `{notifier}`: {why}")]
    Setup { notifier: String, why: String },
    /// The queue names a notifier the topology no longer has.
    #[error("notifier `{0}` is no longer in the topology")]
    Unknown(String),
    /// No answer: connection refused, timeout, TLS failure.
    #[error("notifier `{notifier}`: {target} cannot be reached: {why}")]
    Unreachable {
        notifier: String,
        target: String,
        why: String,
    },
    /// The service answered with a refusal.
    #[error("notifier `{notifier}`: {target} refused: {status} {body}")]
    Refused {
        notifier: String,
        target: String,
        status: String,
        body: String,
    },
}

enum Client {
    Http {
        http: reqwest::Client,
        token: Option<String>,
    },
    Smtp(lettre::AsyncSmtpTransport<lettre::Tokio1Executor>),
}

/// A Telegram bot the appliance sends through: to read the replies to its messages.
#[derive(Clone)]
pub struct Bot {
    pub notifier: String,
    pub chats: Vec<String>,
    api_url: String,
    token: String,
    http: reqwest::Client,
}

impl std::fmt::Debug for Bot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bot")
            .field("notifier", &self.notifier)
            .field("chats", &self.chats)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl Bot {
    /// A GET of the Bot API `method` (the URL holds the token: never print it).
    pub(crate) fn get(&self, method: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}/bot{}/{method}", self.api_url, self.token))
    }

    /// A POST of the Bot API `method`.
    pub(crate) fn post(&self, method: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/bot{}/{method}", self.api_url, self.token))
    }
}

/// Clients for every notifier, built once.
pub struct Sender {
    opd: String,
    notifiers: BTreeMap<String, (Notifier, Client)>,
}

impl Sender {
    /// Build a client per notifier with its secret and egress. A notifier that cannot be
    /// built is an error at start-up, not at the first fault.
    pub fn new(
        opd: &str,
        notifiers: &[Notifier],
        logins: &BTreeMap<String, NotifierLogin>,
    ) -> Result<Sender, Error> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut out = BTreeMap::new();
        for n in notifiers {
            let id = n.id.to_string();
            let login = match &n.credentials {
                None => None,
                Some(name) => Some(logins.get(name).ok_or_else(|| Error::NoCredentials {
                    notifier: id.clone(),
                    name: name.clone(),
                })?),
            };
            let need = |field: &'static str| Error::Incomplete {
                notifier: id.clone(),
                name: n.credentials.clone().unwrap_or_default(),
                field,
            };
            let client = match &n.channel {
                Channel::Email {
                    smtp,
                    port,
                    security,
                    tls_ca,
                    ..
                } => {
                    use lettre::transport::smtp::client::{
                        Certificate, CertificateStore, Tls, TlsParameters,
                    };
                    let setup = |e: lettre::transport::smtp::Error| Error::Setup {
                        notifier: id.clone(),
                        why: chain(&e),
                    };
                    let mut params = TlsParameters::builder(smtp.clone());
                    if let Some(ca) = tls_ca {
                        let pem = std::fs::read(ca).map_err(|e| Error::Setup {
                            notifier: id.clone(),
                            why: format!("tls_ca {}: {e}", ca.display()),
                        })?;
                        let cert = Certificate::from_pem(&pem).map_err(|e| Error::Setup {
                            notifier: id.clone(),
                            why: format!("tls_ca {}: {}", ca.display(), chain(&e)),
                        })?;
                        // Only this CA: an OPD's own mail server, not the public roots.
                        params = params
                            .certificate_store(CertificateStore::None)
                            .add_root_certificate(cert);
                    }
                    let tls = match security {
                        SmtpSecurity::None => Tls::None,
                        SmtpSecurity::StartTls => {
                            Tls::Required(params.build_rustls().map_err(setup)?)
                        }
                        SmtpSecurity::Tls => Tls::Wrapper(params.build_rustls().map_err(setup)?),
                    };
                    let mut b =
                        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(
                            smtp,
                        )
                        .port(*port)
                        .tls(tls)
                        .timeout(Some(TIMEOUT));
                    if let Some(l) = login {
                        let user = l.user.clone().ok_or_else(|| need("user"))?;
                        let password = l.password.as_ref().ok_or_else(|| need("password"))?;
                        b = b.credentials(
                            lettre::transport::smtp::authentication::Credentials::new(
                                user,
                                password.expose().to_string(),
                            ),
                        );
                    }
                    Client::Smtp(b.build())
                }
                other => {
                    let token = match login {
                        Some(l) => Some(
                            l.token
                                .as_ref()
                                .ok_or_else(|| need("token"))?
                                .expose()
                                .to_string(),
                        ),
                        None => None,
                    };
                    if matches!(other, Channel::Telegram { .. }) && token.is_none() {
                        return Err(need("token"));
                    }
                    let mut b = reqwest::Client::builder()
                        .timeout(TIMEOUT)
                        .user_agent(concat!("juknis/", env!("CARGO_PKG_VERSION")));
                    if let Some(s) = n.egress.source {
                        b = b.local_address(s);
                    }
                    if let Some(i) = &n.egress.interface {
                        b = b.interface(i);
                    }
                    let http = b.build().map_err(|e| Error::Setup {
                        notifier: id.clone(),
                        why: chain(&e),
                    })?;
                    Client::Http { http, token }
                }
            };
            out.insert(id, (n.clone(), client));
        }
        Ok(Sender {
            opd: opd.to_string(),
            notifiers: out,
        })
    }

    /// The recipients a notifier's message is queued for, one delivery each: the chats of
    /// Telegram and WhatsApp (one failing chat does not resend to the others), or a single
    /// delivery (`""`) to all of an e-mail's recipients or to a webhook.
    pub fn recipients(n: &Notifier) -> Vec<String> {
        match &n.channel {
            Channel::Telegram { chats, .. } => chats.clone(),
            Channel::WhatsApp { to, .. } => to.clone(),
            Channel::Email { .. } | Channel::Webhook { .. } => vec![String::new()],
        }
    }

    /// The Telegram notifiers, to read the replies to their messages.
    pub fn telegram_bots(&self) -> Vec<Bot> {
        self.notifiers
            .values()
            .filter_map(|(n, client)| match (&n.channel, client) {
                (Channel::Telegram { api_url, chats }, Client::Http { http, token }) => Some(Bot {
                    notifier: n.id.to_string(),
                    chats: chats.clone(),
                    api_url: api_url.clone(),
                    token: token.clone().unwrap_or_default(),
                    http: http.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Deliver one queued message; the channel's id of it where it gives one (Telegram's
    /// `message_id`, which a reply names).
    pub async fn send(&self, d: &Delivery) -> Result<Option<String>, Error> {
        let (n, client) = self
            .notifiers
            .get(&d.notifier)
            .ok_or_else(|| Error::Unknown(d.notifier.clone()))?;
        let key = d.event.key();
        match (&n.channel, client) {
            (Channel::Telegram { api_url, .. }, Client::Http { http, token }) => {
                let token = token.as_deref().unwrap_or_default();
                let url = format!("{api_url}/bot{token}/sendMessage");
                let body = json!({
                    "chat_id": d.recipient,
                    "text": d.message.text,
                    "disable_web_page_preview": true,
                });
                // The URL holds the bot token: errors name the API, not the URL.
                let answer = post(&d.notifier, api_url, http.post(url).json(&body)).await?;
                Ok(serde_json::from_str::<serde_json::Value>(&answer)
                    .ok()
                    .and_then(|v| v["result"]["message_id"].as_i64())
                    .map(|id| id.to_string()))
            }
            (Channel::WhatsApp { url, template, .. }, Client::Http { http, token }) => {
                let body = template
                    .replace("{{to}}", &json!(d.recipient).to_string())
                    .replace("{{text}}", &json!(d.message.text).to_string());
                let mut req = http
                    .post(url)
                    .header("content-type", "application/json")
                    .header("idempotency-key", &key)
                    .body(body);
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                post(&d.notifier, url, req).await.map(|_| None)
            }
            (Channel::Webhook { url, format }, Client::Http { http, token }) => {
                let body = match format {
                    WebhookFormat::Json => self.json_body(d),
                    WebhookFormat::Alertmanager => self.alertmanager_body(d),
                };
                let mut req = http.post(url).header("idempotency-key", &key).json(&body);
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                post(&d.notifier, url, req).await.map(|_| None)
            }
            (Channel::Email { smtp, from, to, .. }, Client::Smtp(transport)) => {
                let bad = |why: String| Error::Setup {
                    notifier: d.notifier.clone(),
                    why,
                };
                let mut b = lettre::Message::builder()
                    .from(from.parse().map_err(|e| bad(format!("from: {e}")))?)
                    .subject(d.message.subject.clone())
                    // Receivers that deduplicate see a resent message as the same one.
                    .message_id(Some(format!(
                        "<{}@juknis.invalid>",
                        key.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', ".")
                    )));
                for t in to {
                    b = b.to(t.parse().map_err(|e| bad(format!("to {t}: {e}")))?);
                }
                let m = b
                    .header(lettre::message::header::ContentType::TEXT_PLAIN)
                    .body(d.message.text.clone())
                    .map_err(|e| bad(e.to_string()))?;
                let target = format!("SMTP {smtp}");
                match transport.send(m).await {
                    Ok(_) => Ok(None),
                    Err(e) if e.is_permanent() || e.is_transient() => Err(Error::Refused {
                        notifier: d.notifier.clone(),
                        target,
                        status: e.status().map(|c| c.to_string()).unwrap_or_default(),
                        body: chain(&e),
                    }),
                    Err(e) => Err(Error::Unreachable {
                        notifier: d.notifier.clone(),
                        target,
                        why: chain(&e),
                    }),
                }
            }
            _ => Err(Error::Unknown(d.notifier.clone())),
        }
    }

    fn json_body(&self, d: &Delivery) -> serde_json::Value {
        let e = &d.event;
        json!({
            "version": 1,
            "source": "juknis",
            "opd": self.opd,
            "event": e.kind.as_str(),
            "key": e.key(),
            "at": rfc3339(e.at_ms),
            "incident": {
                "id": e.incident.id,
                "state": e.incident.state,
                "cause": e.incident.cause,
                "hop": e.incident.hop,
                "last_good": e.incident.last_good,
                "reason": e.incident.reason,
                "paths": e.incident.paths,
                "since": rfc3339(e.incident.opened_ms),
                "duration_seconds": e.duration().as_secs(),
            },
            "subject": d.message.subject,
            "text": d.message.text,
        })
    }

    /// The Alertmanager webhook payload (version 4): one alert per path of the incident, the
    /// group keyed by the incident.
    fn alertmanager_body(&self, d: &Delivery) -> serde_json::Value {
        let e = &d.event;
        let i = &e.incident;
        let resolved = e.kind == Kind::Recovery;
        let status = if resolved { "resolved" } else { "firing" };
        let alertname = match (e.kind, i.state) {
            (Kind::Agreement, _) => "JuknisAgreementRenewal",
            (_, State::Down) => "JuknisPathDown",
            _ => "JuknisPathDegraded",
        };
        // An agreement that has ended (stage 5) stops the look-ups: critical.
        let severity = if i.state == State::Down || (e.kind == Kind::Agreement && e.seq >= 5) {
            "critical"
        } else {
            "warning"
        };
        // One alert per path; the agreement's reminder has no path and is one alert.
        let subjects: Vec<Option<&String>> = if i.paths.is_empty() {
            vec![None]
        } else {
            i.paths.iter().map(Some).collect()
        };
        let ends = if resolved {
            rfc3339(e.at_ms)
        } else {
            "0001-01-01T00:00:00Z".to_string()
        };
        let alerts: Vec<_> = subjects
            .into_iter()
            .map(|p| {
                let mut labels = json!({
                    "alertname": alertname,
                    "severity": severity,
                    "incident": i.id,
                    "opd": self.opd,
                });
                if let Some(p) = p {
                    labels["path"] = json!(p);
                    labels["hop"] = json!(i.hop.clone().unwrap_or_default());
                }
                use sha2::Digest;
                let fp = sha2::Sha256::digest(
                    format!("{}/{}", i.id, p.map_or("", String::as_str)).as_bytes(),
                );
                json!({
                    "status": status,
                    "labels": labels,
                    "annotations": {
                        "summary": d.message.subject,
                        "description": d.message.text,
                    },
                    "startsAt": rfc3339(i.opened_ms),
                    "endsAt": ends,
                    "generatorURL": "",
                    "fingerprint": hex::encode(&fp[..8]),
                })
            })
            .collect();
        json!({
            "version": "4",
            "groupKey": format!("{{}}:{{incident=\"{}\"}}", i.id),
            "truncatedAlerts": 0,
            "status": status,
            "receiver": d.notifier,
            "groupLabels": {"incident": i.id},
            "commonLabels": {
                "alertname": alertname,
                "severity": severity,
                "incident": i.id,
                "opd": self.opd,
            },
            "commonAnnotations": {
                "summary": d.message.subject,
                "description": d.message.text,
            },
            "externalURL": "",
            "alerts": alerts,
        })
    }
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Send `req`; the answer's body (its first 64 KiB) when the service accepted it.
async fn post(notifier: &str, target: &str, req: reqwest::RequestBuilder) -> Result<String, Error> {
    let resp = req.send().await.map_err(|e| Error::Unreachable {
        notifier: notifier.to_string(),
        target: target.to_string(),
        why: chain(&e.without_url()),
    })?;
    let status = resp.status();
    if status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Ok(body.chars().take(64 * 1024).collect());
    }
    let body: String = resp
        .text()
        .await
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    Err(Error::Refused {
        notifier: notifier.to_string(),
        target: target.to_string(),
        status: status.to_string(),
        body,
    })
}
