//! Notifiers as the topology declares them: where alerts go (Telegram, a WhatsApp HTTP gateway,
//! e-mail, webhooks), validated. Secrets are named here, never held: the credentials live in
//! the secrets file under `notifiers:`. Pure data; sending lives in `notify`.

use std::fmt;
use std::time::Duration;

use super::Egress;

/// The Telegram Bot API, unless a notifier gives `api_url`.
pub const TELEGRAM_API: &str = "https://api.telegram.org";

/// A WhatsApp gateway's body unless a notifier gives `template` (the `sendText` shape of the
/// self-hosted WhatsApp HTTP API gateways): `{{to}}` and `{{text}}` become JSON strings.
pub const WHATSAPP_TEMPLATE: &str = r#"{"chatId": {{to}}, "text": {{text}}}"#;

/// Default interval of reminders while a fault lasts.
pub const DEFAULT_REMINDER: Duration = Duration::from_secs(3600);

/// Default cap of messages per notifier in any hour.
pub const DEFAULT_MAX_PER_HOUR: u32 = 12;

/// The id of a notifier (`tim-teknis`, `email-dinas`); safe in metrics labels.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct NotifierId(String);

impl NotifierId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NotifierId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One place alerts go.
#[derive(Clone, Debug, PartialEq)]
pub struct Notifier {
    pub id: NotifierId,
    pub channel: Channel,
    /// The entry under `notifiers:` in the secrets file; `None`: the channel needs no login.
    pub credentials: Option<String>,
    /// How often a lasting fault is told again; `None`: never.
    pub reminder: Option<Duration>,
    /// Most messages in any hour (alerts and recoveries first, reminders wait).
    pub max_per_hour: u32,
    /// How its traffic leaves the appliance (source address, interface): by the internet,
    /// not by the Dukcapil link whose failure it reports.
    pub egress: Egress,
}

/// The kind of channel and where on it.
#[derive(Clone, Debug, PartialEq)]
pub enum Channel {
    /// Bot API `sendMessage` to each chat; the bot token is the credential.
    Telegram { api_url: String, chats: Vec<String> },
    /// A WhatsApp HTTP gateway: one POST of `template` per recipient; an optional bearer token.
    WhatsApp {
        url: String,
        to: Vec<String>,
        template: String,
    },
    /// SMTP; an optional user and password.
    Email {
        smtp: String,
        port: u16,
        security: SmtpSecurity,
        /// The only CA trusted for the server's certificate (an OPD's own mail server);
        /// `None`: the system's roots.
        tls_ca: Option<std::path::PathBuf>,
        from: String,
        to: Vec<String>,
    },
    /// A JSON POST; an optional bearer token.
    Webhook { url: String, format: WebhookFormat },
}

impl Channel {
    /// The word in YAML and in metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Channel::Telegram { .. } => "telegram",
            Channel::WhatsApp { .. } => "whatsapp",
            Channel::Email { .. } => "email",
            Channel::Webhook { .. } => "webhook",
        }
    }

    /// The kinds, for hints.
    pub const KINDS: [&'static str; 4] = ["telegram", "whatsapp", "email", "webhook"];
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded by STARTTLS (port 587); refused when the server cannot.
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: only for a relay on loopback or the appliance's own LAN.
    None,
}

impl SmtpSecurity {
    /// The usual port.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

/// The body of a webhook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookFormat {
    /// juknis' own JSON: the event, the incident and the text.
    Json,
    /// The Alertmanager webhook payload (version 4), so existing receivers work.
    Alertmanager,
}
