//! The topology's `notifiers:` section and the secrets it names: the shipped example loads,
//! every mistake is reported at its line and column with a hint, and a notifier whose secret
//! is missing stops the start-up.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use juknis::gate::secrets::{NotifierLogin, Secrets};
use juknis::notify::Sender;
use juknis::topology::{Channel, SmtpSecurity, Topology, WebhookFormat};
use rstest::rstest;

fn fixture() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/notify/topology.yaml"),
    )
    .expect("fixture")
}

fn parse(text: &str) -> Result<Topology, String> {
    let profiles = |_: &Path| Some(["icmp".to_string()].into_iter().collect());
    juknis::topology::parse(text, Path::new("topology.yaml"), &profiles).map_err(|e| e.to_string())
}

/// The fixture with its notifiers replaced by `notifiers` (YAML under `notifiers:`).
fn with(notifiers: &str) -> String {
    let f = fixture();
    let (head, _) = f.split_once("notifiers:").expect("section");
    format!("{head}notifiers:\n{notifiers}")
}

#[test]
fn the_example_loads_with_its_defaults() {
    let t = parse(&fixture()).expect("valid");
    let n = &t.notifiers;
    assert_eq!(n.len(), 4);
    assert_eq!(
        n[0].channel,
        Channel::Telegram {
            api_url: "https://api.telegram.org".into(),
            chats: vec!["-1001234567890".into()]
        }
    );
    assert_eq!(n[0].reminder, Some(Duration::from_secs(1800)));
    assert_eq!(n[0].egress.interface.as_deref(), Some("eth1"));
    assert!(
        matches!(&n[1].channel, Channel::WhatsApp { template, .. } if template.contains("\"session\""))
    );
    assert!(matches!(
        &n[2].channel,
        Channel::Email {
            port: 587,
            security: SmtpSecurity::StartTls,
            ..
        }
    ));
    assert_eq!(
        n[2].reminder,
        Some(Duration::from_secs(3600)),
        "default reminder"
    );
    assert_eq!(n[2].max_per_hour, 12, "default budget");
    assert!(matches!(
        &n[3].channel,
        Channel::Webhook {
            format: WebhookFormat::Alertmanager,
            ..
        }
    ));
    assert_eq!(n[3].reminder, None);
    assert_eq!(n[3].max_per_hour, 4);
    assert_eq!(
        n[3].egress.source,
        Some("203.0.113.10".parse().expect("ip"))
    );
}

#[rstest]
#[case::kind_misspelt(
    "  - {id: a, kind: telegrm, to: [\"1\"], credentials: b}\n",
    "notifiers:1",
    "unknown notifier kind `telegrm`",
    "did you mean `telegram`?"
)]
#[case::key_misspelt(
    "  - {id: a, kind: telegram, to: [\"1\"], credentials: b, reminders: 1h}\n",
    "notifiers:1",
    "unknown key `reminders`",
    "did you mean `reminder`?"
)]
#[case::token_inline(
    "  - {id: a, kind: telegram, to: [\"1\"], bot_token: \"123:SANGAT-RAHASIA\"}\n",
    "notifiers:1",
    "looks like a secret",
    "secrets.yaml"
)]
#[case::key_of_another_kind(
    "  - {id: a, kind: telegram, to: [\"1\"], credentials: b, smtp: mail.example.go.id}\n",
    "notifiers:1",
    "does not use `smtp`",
    "a telegram notifier takes: api_url"
)]
#[case::telegram_without_token(
    "  - {id: a, kind: telegram, to: [\"1\"]}\n",
    "notifiers:1",
    "is missing `credentials`",
    "secrets.yaml"
)]
#[case::email_without_from(
    "  - {id: a, kind: email, smtp: mail.example.go.id, to: [x@example.go.id]}\n",
    "notifiers:1",
    "is missing `from`",
    "from: juknis@"
)]
#[case::email_bad_address(
    "  - {id: a, kind: email, smtp: m.example.go.id, from: juknis, to: [x@example.go.id]}\n",
    "notifiers:1",
    "`juknis` is not an e-mail address",
    "teknisi@"
)]
#[case::email_with_egress(
    "  - {id: a, kind: email, smtp: m.example.go.id, from: j@example.go.id, to: [x@example.go.id], egress: {interface: eth1}}\n",
    "notifiers:1",
    "cannot take `egress`",
    "ip route add"
)]
#[case::security_misspelt(
    "  - {id: a, kind: email, smtp: m.example.go.id, security: startls, from: j@example.go.id, to: [x@example.go.id]}\n",
    "notifiers:1",
    "unknown SMTP security `startls`",
    "did you mean `starttls`?"
)]
#[case::tls_ca_without_tls(
    "  - {id: a, kind: email, smtp: m.example.go.id, security: none, tls_ca: ca.pem, from: j@example.go.id, to: [x@example.go.id]}\n",
    "notifiers:1",
    "has `tls_ca` but `security: none`",
    "starttls"
)]
#[case::template_not_json(
    "  - {id: a, kind: whatsapp, url: \"http://127.0.0.1:3000/s\", to: [\"1@c.us\"], template: '{\"text\": \"{{text}}\"}'}\n",
    "notifiers:1",
    "is not JSON",
    "placeholders stand for whole JSON strings"
)]
#[case::format_misspelt(
    "  - {id: a, kind: webhook, url: \"http://127.0.0.1:9/h\", format: alertmanger}\n",
    "notifiers:1",
    "unknown webhook format `alertmanger`",
    "did you mean `alertmanager`?"
)]
#[case::reminder_too_short(
    "  - {id: a, kind: webhook, url: \"http://127.0.0.1:9/h\", reminder: 5s}\n",
    "notifiers:1",
    "not a duration of a minute or more",
    "`off`"
)]
#[case::url_with_password(
    "  - {id: a, kind: webhook, url: \"http://u:p@127.0.0.1:9/h\"}\n",
    "notifiers:1",
    "holds a user name or password",
    "secrets.yaml"
)]
#[case::duplicate_id(
    "  - {id: a, kind: webhook, url: \"http://127.0.0.1:9/h\"}\n  - {id: a, kind: webhook, url: \"http://127.0.0.1:9/i\"}\n",
    "notifiers:2",
    "duplicate notifier id `a`",
    ""
)]
fn a_mistake_is_reported_at_its_place_with_a_hint(
    #[case] notifiers: &str,
    #[case] place: &str,
    #[case] message: &str,
    #[case] hint: &str,
) {
    let text = with(notifiers);
    let err = parse(&text).expect_err("invalid");
    // `notifiers:N` is the N-th line after the `notifiers:` key.
    let (section, n) = place.split_once(':').expect("place");
    let n: usize = n.parse().expect("n");
    let line = text
        .lines()
        .position(|l| l.starts_with(section))
        .expect("section line")
        + 1
        + n;
    let at = format!("topology.yaml:{line}:");
    let d = err
        .lines()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[0].contains(message))
        .map(|w| format!("{}\n{}", w[0], w[1]))
        .unwrap_or_else(|| panic!("no `{message}` in:\n{err}"));
    assert!(d.contains(&at), "expected at {at}:\n{d}");
    assert!(d.contains(hint), "expected hint `{hint}`:\n{d}");
    assert!(
        !err.contains("SANGAT-RAHASIA"),
        "a secret is echoed:\n{err}"
    );
}

#[test]
fn secrets_are_named_not_held_and_a_missing_one_stops_the_start() {
    let t = parse(&fixture()).expect("valid");
    // Nothing in secrets.yaml: the Telegram bot has no token.
    let err = Sender::new(&t.agreement.opd, &t.notifiers, &BTreeMap::new())
        .err()
        .expect("refused");
    assert!(
        err.to_string()
            .contains("no entry `bot-opd` under `notifiers:` in secrets.yaml"),
        "{err}"
    );

    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("secrets.yaml");
    std::fs::write(
        &file,
        "notifiers:\n  bot-opd: {token: \"123:abc\"}\n  wa-gateway: {token: wa}\n  smtp-dinas: {user: juknis, password: rahasia-smtp}\n",
    )
    .expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let s = Secrets::from_sources(Some(&file), Vec::new()).expect("secrets");
    assert!(!format!("{s:?}").contains("rahasia-smtp"), "{s:?}");
    assert_eq!(
        s.notifiers
            .get("smtp-dinas")
            .and_then(|l| l.user.as_deref()),
        Some("juknis")
    );
    Sender::new(&t.agreement.opd, &t.notifiers, &s.notifiers).expect("every secret found");

    // An SMTP login without its password is named, field and all.
    let mut partial = s.notifiers.clone();
    partial.insert(
        "smtp-dinas".into(),
        NotifierLogin {
            user: Some("juknis".into()),
            ..Default::default()
        },
    );
    let err = Sender::new(&t.agreement.opd, &t.notifiers, &partial)
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("`smtp-dinas` has no `password`"),
        "{err}"
    );
}

/// The commented example in the shipped /etc/juknis/topology.yaml is valid once uncommented.
#[test]
fn the_shipped_commented_example_is_valid() {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/etc/topology.yaml"),
    )
    .expect("shipped topology");
    let (_, block) = shipped
        .split_once("# notifiers:\n")
        .expect("commented example");
    let block: String = block
        .lines()
        .map(|l| l.strip_prefix("# ").unwrap_or(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let t = parse(&with(&block)).expect("valid example");
    assert_eq!(t.notifiers.len(), 2);
}
