//! The topology file as written: serde types that mirror the YAML, with locations kept for
//! validation. Nothing here is trusted yet; `validate` turns it into the checked model.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::tree::{Schema, Shape, raw_struct};

pub type S<T> = Spanned<T>;

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct File {
        pub title: Option<String>,
        #[serde(default)]
        pub agreement: Agreement,
        #[serde(default)]
        pub zones: Vec<S<Zone>>,
        #[serde(default)]
        pub nodes: Vec<S<Node>>,
        #[serde(default)]
        pub links: Vec<S<Link>>,
        #[serde(default)]
        pub paths: Vec<S<Path>>,
        pub probe_dir: Option<S<String>>,
        /// The bandwidth reflector (`GET /reflect`), off unless this section is given.
        pub reflector: Option<S<Reflector>>,
        /// Planned work: windows that are not counted as failures.
        #[serde(default)]
        pub maintenance: Vec<S<Maintenance>>,
        /// Where alerts go (Telegram, WhatsApp, e-mail, webhooks); none by default.
        #[serde(default)]
        pub notifiers: Vec<S<Notifier>>,
        /// The data balikan record's `param` keys and aid types (Juknis III).
        pub data_balikan: Option<S<DataBalikan>>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct DataBalikan {
        pub recipient_key: Option<S<String>>,
        pub aid_key: Option<S<String>>,
        #[serde(default)]
        pub aid_types: Vec<S<String>>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct Maintenance {
        pub note: Option<String>,
        #[serde(default)]
        pub paths: Vec<S<String>>,
        #[serde(default)]
        pub links: Vec<S<String>>,
        pub once: Option<S<Once>>,
        pub weekly: Option<S<Weekly>>,
        pub monthly: Option<S<Monthly>>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct Once {
        pub from: Option<S<String>>,
        pub to: Option<S<String>>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct Weekly {
        pub day: Option<S<String>>,
        pub at: Option<S<String>>,
        pub duration: Option<S<String>>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct Monthly {
        pub day: Option<S<u32>>,
        pub at: Option<S<String>>,
        pub duration: Option<S<String>>,
    }
}

raw_struct! {
    /// One notifier: `{id, kind, to, ...}`; which keys apply depends on `kind`.
    #[derive(Debug, Deserialize)]
    pub struct Notifier {
        pub id: Option<S<String>>,
        pub kind: Option<S<String>>,
        /// Telegram chat ids, WhatsApp chat ids or numbers, e-mail addresses.
        #[serde(default)]
        pub to: Vec<S<String>>,
        /// The Telegram Bot API's base URL (`https://api.telegram.org` by default).
        pub api_url: Option<S<String>>,
        /// The WhatsApp gateway's or the webhook's URL.
        pub url: Option<S<String>>,
        /// The WhatsApp gateway's JSON body, with `{{to}}` and `{{text}}` placeholders.
        pub template: Option<S<String>>,
        /// A webhook's body: `json` (default) or `alertmanager`.
        pub format: Option<S<String>>,
        /// The SMTP server's host name or address.
        pub smtp: Option<S<String>>,
        pub port: Option<S<u16>>,
        /// `starttls` (default), `tls` or `none` (loopback relays only).
        pub security: Option<S<String>>,
        /// A PEM file with the CA (or self-signed certificate) of the SMTP server, relative to
        /// this file; the system's roots when absent.
        pub tls_ca: Option<S<String>>,
        pub from: Option<S<String>>,
        /// The entry under `notifiers:` in the secrets file (bot token, bearer token, SMTP login).
        pub credentials: Option<S<String>>,
        /// How often a fault that lasts is told again (`1h` by default, `off` for never).
        pub reminder: Option<S<String>>,
        /// Most messages in any hour; more (reminders first) wait.
        pub max_per_hour: Option<S<u32>>,
        /// How the notifier's traffic leaves: by the internet, not the Dukcapil link.
        pub egress: Option<S<Egress>>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct Reflector {
        /// Addresses allowed to ask (the far ends of throughput tests).
        #[serde(default)]
        pub peers: Vec<S<String>>,
        pub max_bytes: Option<S<u64>>,
        pub per_minute: Option<S<u32>>,
    }
}

raw_struct! {
    #[derive(Debug, Default, Deserialize)]
    pub struct Agreement {
        pub opd: Option<String>,
        pub dukcapil: Option<String>,
        pub pks_dukcapil: Option<String>,
        pub pks_opd: Option<String>,
        pub pks_date: Option<String>,
        /// The e-mail address the Juknis gives for the semester report's soft copy (V.B).
        pub report_email: Option<S<String>>,
        pub purpose: Option<String>,
        pub quota_per_day: Option<S<Quota>>,
        /// Old single flag; each application's `poc:` now says it (kept for older files).
        pub poc_done: Option<S<bool>>,
        /// What an application without a passed PoC reaches: `quota` or `sandbox`.
        pub before_poc: Option<S<String>>,
        /// The purposes of use the PKS lists, each `{code, text}`.
        #[serde(default)]
        pub purposes: Vec<S<Purpose>>,
        /// Whether an application must name the person behind each look-up.
        #[serde(default)]
        pub end_user_required: bool,
        /// Most look-ups in any minute, per caller and for the whole User ID (Juknis II.E.1:
        /// not "dalam waktu yang berdekatan"); 10 by default.
        pub lookups_per_minute: Option<S<u32>>,
        /// First and last day of the agreement, `YYYY-MM-DD`.
        pub start: Option<S<String>>,
        pub end: Option<S<String>>,
        #[serde(default)]
        pub uses_mobile_app: bool,
        pub elements: Option<Vec<S<String>>>,
        #[serde(default)]
        pub contacts: Vec<S<Contact>>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct Purpose {
        pub code: Option<S<String>>,
        pub text: Option<String>,
    }
}

raw_struct! {
    /// `poc: {done, letter, date}` of an application node.
    #[derive(Debug, Deserialize)]
    pub struct Poc {
        #[serde(default)]
        pub done: bool,
        pub letter: Option<String>,
        pub date: Option<S<String>>,
    }
}

/// `quota_per_day: 200` or `quota_per_day: unlimited`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Quota {
    Limit(u32),
    Word(String),
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct Contact {
        pub party: Option<S<String>>,
        pub name: Option<String>,
        pub phone: Option<String>,
        pub role: Option<String>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct Zone {
        pub id: Option<S<String>>,
        pub kind: Option<S<String>>,
        pub name: Option<String>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct Node {
        pub id: Option<S<String>>,
        pub zone: Option<S<String>>,
        pub kind: Option<S<String>>,
        pub name: Option<String>,
        pub address: Option<S<String>>,
        pub network: Option<S<String>>,
        pub platform: Option<S<String>>,
        pub service: Option<S<String>>,
        pub url: Option<S<String>>,
        pub probes: Option<Vec<S<String>>>,
        pub tls_pin: Option<S<String>>,
        pub tls_ca: Option<S<String>>,
        /// The PoC state of an application node.
        pub poc: Option<S<Poc>>,
        pub note: Option<String>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct Link {
        pub id: Option<S<String>>,
        pub from: Option<S<String>>,
        pub to: Option<S<String>>,
        pub provider: Option<String>,
        pub bandwidth: Option<S<String>>,
        pub network: Option<S<String>>,
        #[serde(default)]
        pub tiers: Vec<S<Tier>>,
        pub probe_share_percent: Option<S<f64>>,
        pub snmp: Option<S<Snmp>>,
    }
}

raw_struct! {
    /// `snmp: {agent, port, version, if_index | if_name, credentials, profile}` on a link.
    #[derive(Debug, Deserialize)]
    pub struct Snmp {
        pub agent: Option<S<String>>,
        pub port: Option<S<u16>>,
        pub version: Option<S<String>>,
        pub if_index: Option<S<u32>>,
        pub if_name: Option<S<String>>,
        pub credentials: Option<S<String>>,
        pub profile: Option<S<String>>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct Tier {
        pub bandwidth: Option<S<String>>,
        pub cost_per_month: Option<u64>,
    }
}

raw_struct! {
    #[derive(Debug, Deserialize)]
    pub struct Path {
        pub id: Option<S<String>>,
        pub service: Option<S<String>>,
        #[serde(default)]
        pub primary: Vec<S<String>>,
        /// How the primary route's traffic leaves the appliance.
        pub egress: Option<S<Egress>>,
        #[serde(default)]
        pub alternates: Vec<S<Alternate>>,
        /// How long the primary must stay healthy before traffic comes back to it (`5m`).
        pub failback_hold: Option<S<String>>,
    }
}

raw_struct! {
    /// `egress: {source, interface, url, tls_pin}` of a route.
    #[derive(Debug, Default, Deserialize)]
    pub struct Egress {
        pub source: Option<S<String>>,
        pub interface: Option<S<String>>,
        pub url: Option<S<String>>,
        pub tls_pin: Option<S<String>>,
    }
}

/// An alternate route: a plain list of hops, or `{hops: [...], egress: {...}}`.
#[derive(Debug, Default)]
pub struct Alternate {
    pub hops: Vec<S<String>>,
    pub egress: Option<S<Egress>>,
}

/// An item is a list of hops (not checked by the unknown-key pass) or a map.
impl Shape for Alternate {
    fn schema() -> Schema {
        Schema::Map(vec![("hops", Schema::Any), ("egress", Egress::schema())])
    }
}

#[derive(Deserialize)]
struct AlternateMap {
    hops: Vec<S<String>>,
    egress: Option<S<Egress>>,
}

impl<'de> Deserialize<'de> for Alternate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Alternate;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of hops, or a map with `hops` and `egress`")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Alternate, A::Error> {
                let mut hops = Vec::new();
                while let Some(h) = seq.next_element::<S<String>>()? {
                    hops.push(h);
                }
                Ok(Alternate { hops, egress: None })
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Alternate, A::Error> {
                let m =
                    AlternateMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Alternate {
                    hops: m.hops,
                    egress: m.egress,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// `quota_per_day` is a scalar (a number or a word).
impl Shape for Quota {
    fn schema() -> Schema {
        Schema::Any
    }
}
