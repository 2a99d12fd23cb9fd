//! The `notifiers:` section: each notifier's kind, recipients, URLs, SMTP server, secrets by
//! reference, reminder interval, rate limit and egress, every problem with its place.

use super::super::Egress;
use super::super::diagnostic::did_you_mean;
use super::super::notifier::{
    Channel, DEFAULT_MAX_PER_HOUR, DEFAULT_REMINDER, Notifier, NotifierId, SmtpSecurity,
    TELEGRAM_API, WHATSAPP_TEMPLATE, WebhookFormat,
};
use super::super::raw::{self, S};
use super::{Ctx, IFNAMSIZ_MAX, check_id, check_unique, check_url, ip, require};

pub(super) fn notifiers(cx: &mut Ctx<'_>, raw: &[S<raw::Notifier>]) -> Vec<Notifier> {
    check_unique(cx, raw.iter().map(|n| n.value.id.as_ref()), "notifier");
    raw.iter().filter_map(|n| notifier(cx, n)).collect()
}

fn notifier(cx: &mut Ctx<'_>, item: &S<raw::Notifier>) -> Option<Notifier> {
    let n = &item.value;
    let fields = [("id", n.id.is_some()), ("kind", n.kind.is_some())];
    if !require(cx, item, "notifier", &fields) {
        return None;
    }
    let (Some(id), Some(kind)) = (&n.id, &n.kind) else {
        return None;
    };
    let before = cx.diags.len();
    check_id(cx, id, "notifier");
    let name = id.value.clone();
    // Keys that belong to another kind are a mistake the user should hear about.
    let used: [(&str, bool); 9] = [
        ("api_url", n.api_url.is_some()),
        ("url", n.url.is_some()),
        ("template", n.template.is_some()),
        ("format", n.format.is_some()),
        ("smtp", n.smtp.is_some()),
        ("port", n.port.is_some()),
        ("security", n.security.is_some()),
        ("tls_ca", n.tls_ca.is_some()),
        ("from", n.from.is_some()),
    ];
    let allowed: &[&str] = match kind.value.as_str() {
        "telegram" => &["api_url"],
        "whatsapp" => &["url", "template"],
        "email" => &["smtp", "port", "security", "tls_ca", "from"],
        "webhook" => &["url", "format"],
        other => {
            let hint = did_you_mean(other, Channel::KINDS)
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| format!("one of: {}", Channel::KINDS.join(", ")));
            cx.error_hint(kind, format!("unknown notifier kind `{other}`"), hint);
            return None;
        }
    };
    for (key, present) in used {
        if present && !allowed.contains(&key) {
            cx.error_hint(
                item,
                format!("notifier `{name}` ({}) does not use `{key}`", kind.value),
                format!("a {} notifier takes: {}", kind.value, allowed.join(", ")),
            );
        }
    }
    let to: Vec<String> = n.to.iter().map(|t| t.value.trim().to_string()).collect();
    for t in &n.to {
        if t.value.trim().is_empty() {
            cx.error(t, format!("an empty recipient in notifier `{name}`"));
        }
    }
    let needs_to = kind.value != "webhook";
    if needs_to && n.to.is_empty() {
        let example = match kind.value.as_str() {
            "telegram" => "`to: [\"-1001234567890\"]` (the group's chat id, quoted)",
            "whatsapp" => {
                "`to: [\"120363000000000000@g.us\"]` (the group or number as the gateway names it)"
            }
            _ => "`to: [teknisi@opd.example.go.id]`",
        };
        cx.error_hint(
            item,
            format!("notifier `{name}` has no recipients"),
            format!("add {example}"),
        );
    }
    if !needs_to && let Some(t) = n.to.first() {
        cx.error_hint(
            t,
            format!("notifier `{name}` (webhook) does not use `to`"),
            "a webhook's receiver is its `url`",
        );
    }
    let url_of = |cx: &mut Ctx<'_>, u: &Option<S<String>>, what: &str| -> Option<String> {
        match u {
            Some(u) => {
                check_url(cx, u, &format!("notifier `{name}`"));
                Some(u.value.trim_end_matches('/').to_string())
            }
            None => {
                cx.error_hint(
                    item,
                    format!("notifier `{name}` is missing `url`"),
                    format!("add `url:` {what}"),
                );
                None
            }
        }
    };
    let channel = match kind.value.as_str() {
        "telegram" => {
            let api_url = match &n.api_url {
                Some(u) => {
                    check_url(cx, u, &format!("notifier `{name}`"));
                    u.value.trim_end_matches('/').to_string()
                }
                None => TELEGRAM_API.to_string(),
            };
            if n.credentials.is_none() {
                cx.error_hint(
                    item,
                    format!("notifier `{name}` (telegram) is missing `credentials`"),
                    "name the bot token's entry in secrets.yaml: `credentials: bot-opd` and there `notifiers: {bot-opd: {token: ...}}`",
                );
            }
            Some(Channel::Telegram { api_url, chats: to })
        }
        "whatsapp" => {
            let url = url_of(
                cx,
                &n.url,
                "(the gateway's send endpoint, e.g. `http://127.0.0.1:3000/api/sendText`)",
            );
            let template = match &n.template {
                Some(t) => {
                    check_template(cx, t, &name);
                    t.value.clone()
                }
                None => WHATSAPP_TEMPLATE.to_string(),
            };
            url.map(|url| Channel::WhatsApp { url, to, template })
        }
        "email" => {
            let security = match n.security.as_ref().map(|s| (s, s.value.as_str())) {
                None | Some((_, "starttls")) => SmtpSecurity::StartTls,
                Some((_, "tls")) => SmtpSecurity::Tls,
                Some((_, "none")) => SmtpSecurity::None,
                Some((s, other)) => {
                    let keys = ["starttls", "tls", "none"];
                    let hint = did_you_mean(other, keys)
                        .map(|k| format!("did you mean `{k}`?"))
                        .unwrap_or_else(|| "one of: starttls, tls, none".to_string());
                    cx.error_hint(s, format!("unknown SMTP security `{other}`"), hint);
                    SmtpSecurity::StartTls
                }
            };
            for t in &n.to {
                check_address(cx, t);
            }
            let from = match &n.from {
                Some(f) => {
                    check_address(cx, f);
                    Some(f.value.trim().to_string())
                }
                None => {
                    cx.error_hint(
                        item,
                        format!("notifier `{name}` (email) is missing `from`"),
                        "add `from: juknis@opd.example.go.id`",
                    );
                    None
                }
            };
            let smtp = match &n.smtp {
                Some(h) if !h.value.trim().is_empty() && !h.value.contains(['/', ' ']) => {
                    Some(h.value.trim().to_string())
                }
                Some(h) => {
                    cx.error_hint(
                        h,
                        format!("`{}` is not an SMTP server's host name", h.value),
                        "write the host only, e.g. `smtp: mail.example.go.id` (the port in `port:`)",
                    );
                    None
                }
                None => {
                    cx.error_hint(
                        item,
                        format!("notifier `{name}` (email) is missing `smtp`"),
                        "add `smtp: mail.example.go.id` (the SMTP server)",
                    );
                    None
                }
            };
            if let Some(p) = &n.port
                && p.value == 0
            {
                cx.error(p, "port 0 is not an SMTP port");
            }
            let port = n.port.as_ref().map_or(security.default_port(), |p| p.value);
            let tls_ca = n.tls_ca.as_ref().map(|c| {
                if security == SmtpSecurity::None {
                    cx.error_hint(
                        c,
                        format!("notifier `{name}` has `tls_ca` but `security: none`"),
                        "use `security: starttls` or `tls`, or remove `tls_ca`",
                    );
                }
                super::resolve(cx.file, &c.value)
            });
            match (smtp, from) {
                (Some(smtp), Some(from)) => Some(Channel::Email {
                    smtp,
                    port,
                    security,
                    tls_ca,
                    from,
                    to,
                }),
                _ => None,
            }
        }
        _ => {
            let format = match n.format.as_ref().map(|f| (f, f.value.as_str())) {
                None | Some((_, "json")) => WebhookFormat::Json,
                Some((_, "alertmanager")) => WebhookFormat::Alertmanager,
                Some((f, other)) => {
                    let hint = did_you_mean(other, ["json", "alertmanager"])
                        .map(|k| format!("did you mean `{k}`?"))
                        .unwrap_or_else(|| "one of: json, alertmanager".to_string());
                    cx.error_hint(f, format!("unknown webhook format `{other}`"), hint);
                    WebhookFormat::Json
                }
            };
            let url = url_of(
                cx,
                &n.url,
                "(the receiver, e.g. `http://127.0.0.1:9093/hook`)",
            );
            url.map(|url| Channel::Webhook { url, format })
        }
    };
    if let Some(c) = &n.credentials {
        check_id(cx, c, "credentials");
    }
    let reminder = match &n.reminder {
        None => Some(DEFAULT_REMINDER),
        Some(r) if matches!(r.value.trim(), "off" | "never") => None,
        Some(r) => match super::super::parse_duration(&r.value) {
            Some(d) if d >= std::time::Duration::from_secs(60) => Some(d),
            _ => {
                cx.error_hint(
                    r,
                    format!(
                        "reminder `{}` is not a duration of a minute or more",
                        r.value
                    ),
                    "write e.g. `30m`, `1h`, or `off` for no reminders",
                );
                None
            }
        },
    };
    if let Some(m) = &n.max_per_hour
        && m.value == 0
    {
        cx.error_hint(
            m,
            "max_per_hour must be at least 1",
            "remove the notifier to silence it",
        );
    }
    let max_per_hour = n
        .max_per_hour
        .as_ref()
        .map_or(DEFAULT_MAX_PER_HOUR, |m| m.value);
    if kind.value == "email"
        && let Some(e) = &n.egress
    {
        // lettre cannot bind a source address or an interface.
        cx.error_hint(
            e,
            format!("notifier `{name}` (email) cannot take `egress`"),
            "route the SMTP server by the internet in the system's routing table \
             (`ip route add SMTP_ADDRESS via GATEWAY dev IFACE`), or relay through a local MTA",
        );
    }
    let egress = egress(cx, &name, n.egress.as_ref());
    if cx.diags.len() != before {
        return None;
    }
    Some(Notifier {
        id: NotifierId::new(name),
        channel: channel?,
        credentials: n.credentials.as_ref().map(|c| c.value.clone()),
        reminder,
        max_per_hour,
        egress: egress?,
    })
}

/// A notifier's `egress:` takes a source address and/or an interface (no URL or pin: those
/// belong to a route to a Dukcapil service).
fn egress(cx: &mut Ctx<'_>, name: &str, raw: Option<&S<raw::Egress>>) -> Option<Egress> {
    let Some(e) = raw else {
        return Some(Egress::default());
    };
    let before = cx.diags.len();
    for (key, present) in [
        ("url", e.value.url.is_some()),
        ("tls_pin", e.value.tls_pin.is_some()),
    ] {
        if present {
            cx.error_hint(
                e,
                format!("the `egress` of notifier `{name}` does not use `{key}`"),
                "a notifier's egress takes `source:` (a local address) and/or `interface:`",
            );
        }
    }
    let source = e.value.source.as_ref().and_then(|s| ip(cx, s));
    let interface = e.value.interface.as_ref().map(|i| {
        let v = i.value.trim();
        if v.is_empty()
            || v.len() > IFNAMSIZ_MAX
            || v.chars().any(|c| c == '/' || c == ':' || c.is_whitespace())
        {
            cx.error_hint(
                i,
                format!("`{}` is not a network interface name", i.value),
                format!("1 to {IFNAMSIZ_MAX} characters, as `ip link` shows it (e.g. `eth1`)"),
            );
        }
        v.to_string()
    });
    if e.value.source.is_none() && e.value.interface.is_none() {
        cx.error_hint(
            e,
            format!("the `egress` of notifier `{name}` is empty"),
            "give `source:` (a local address on the internet side) and/or `interface:`, or remove it",
        );
    }
    (cx.diags.len() == before).then_some(Egress {
        source,
        interface,
        url: None,
        tls: None,
    })
}

/// An e-mail address, checked as lettre will parse it.
fn check_address(cx: &mut Ctx<'_>, a: &S<String>) {
    if a.value.trim().parse::<lettre::Address>().is_err() {
        cx.error_hint(
            a,
            format!("`{}` is not an e-mail address", a.value),
            "write e.g. `teknisi@opd.example.go.id`",
        );
    }
}

/// A WhatsApp template must be JSON once its placeholders are filled, and carry the text.
fn check_template(cx: &mut Ctx<'_>, t: &S<String>, name: &str) {
    if !t.value.contains("{{text}}") {
        cx.error_hint(
            t,
            format!("the template of notifier `{name}` has no `{{{{text}}}}`"),
            format!("the message goes where `{{{{text}}}}` stands, e.g. {WHATSAPP_TEMPLATE}"),
        );
        return;
    }
    let filled = t
        .value
        .replace("{{to}}", "\"x\"")
        .replace("{{text}}", "\"y\"");
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&filled) {
        cx.error_hint(
            t,
            format!("the template of notifier `{name}` is not JSON: {e}"),
            "placeholders stand for whole JSON strings: write `{{text}}`, not `\"{{text}}\"`",
        );
    }
}
