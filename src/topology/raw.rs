//! The topology file as written: serde types that mirror the YAML, with locations kept for
//! validation. Nothing here is trusted yet; `validate` turns it into the checked model.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::tree::Schema;

pub type S<T> = Spanned<T>;

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
}

#[derive(Debug, Deserialize)]
pub struct Reflector {
    /// Addresses allowed to ask (the far ends of throughput tests).
    #[serde(default)]
    pub peers: Vec<S<String>>,
    pub max_bytes: Option<S<u64>>,
    pub per_minute: Option<S<u32>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Agreement {
    pub opd: Option<String>,
    pub dukcapil: Option<String>,
    pub pks_dukcapil: Option<String>,
    pub pks_opd: Option<String>,
    pub pks_date: Option<String>,
    pub purpose: Option<String>,
    pub quota_per_day: Option<S<Quota>>,
    #[serde(default)]
    pub poc_done: bool,
    #[serde(default)]
    pub uses_mobile_app: bool,
    pub elements: Option<Vec<S<String>>>,
    #[serde(default)]
    pub contacts: Vec<S<Contact>>,
}

/// `quota_per_day: 200` or `quota_per_day: unlimited`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Quota {
    Limit(u32),
    Word(String),
}

#[derive(Debug, Deserialize)]
pub struct Contact {
    pub party: Option<S<String>>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub role: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Zone {
    pub id: Option<S<String>>,
    pub kind: Option<S<String>>,
    pub name: Option<String>,
}

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
    pub note: Option<String>,
}

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

#[derive(Debug, Deserialize)]
pub struct Tier {
    pub bandwidth: Option<S<String>>,
    pub cost_per_month: Option<u64>,
}

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
}

/// `egress: {source, interface, url, tls_pin}` of a route.
#[derive(Debug, Default, Deserialize)]
pub struct Egress {
    pub source: Option<S<String>>,
    pub interface: Option<S<String>>,
    pub url: Option<S<String>>,
    pub tls_pin: Option<S<String>>,
}

/// An alternate route: a plain list of hops, or `{hops: [...], egress: {...}}`.
#[derive(Debug, Default)]
pub struct Alternate {
    pub hops: Vec<S<String>>,
    pub egress: Option<S<Egress>>,
}

#[derive(Deserialize)]
struct AlternateMap {
    #[serde(default)]
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

/// The keys each level accepts; must match the serde types above (a test checks the shipped
/// files, which use every key).
pub static SCHEMA: Schema = Schema::Map(&[
    ("title", Schema::Any),
    (
        "agreement",
        Schema::Map(&[
            ("opd", Schema::Any),
            ("dukcapil", Schema::Any),
            ("pks_dukcapil", Schema::Any),
            ("pks_opd", Schema::Any),
            ("pks_date", Schema::Any),
            ("purpose", Schema::Any),
            ("quota_per_day", Schema::Any),
            ("poc_done", Schema::Any),
            ("uses_mobile_app", Schema::Any),
            ("elements", Schema::Any),
            (
                "contacts",
                Schema::List(&Schema::Map(&[
                    ("party", Schema::Any),
                    ("name", Schema::Any),
                    ("phone", Schema::Any),
                    ("role", Schema::Any),
                ])),
            ),
        ]),
    ),
    (
        "zones",
        Schema::List(&Schema::Map(&[
            ("id", Schema::Any),
            ("kind", Schema::Any),
            ("name", Schema::Any),
        ])),
    ),
    (
        "nodes",
        Schema::List(&Schema::Map(&[
            ("id", Schema::Any),
            ("zone", Schema::Any),
            ("kind", Schema::Any),
            ("name", Schema::Any),
            ("address", Schema::Any),
            ("network", Schema::Any),
            ("platform", Schema::Any),
            ("service", Schema::Any),
            ("url", Schema::Any),
            ("probes", Schema::Any),
            ("tls_pin", Schema::Any),
            ("tls_ca", Schema::Any),
            ("note", Schema::Any),
        ])),
    ),
    (
        "links",
        Schema::List(&Schema::Map(&[
            ("id", Schema::Any),
            ("from", Schema::Any),
            ("to", Schema::Any),
            ("provider", Schema::Any),
            ("bandwidth", Schema::Any),
            ("network", Schema::Any),
            (
                "tiers",
                Schema::List(&Schema::Map(&[
                    ("bandwidth", Schema::Any),
                    ("cost_per_month", Schema::Any),
                ])),
            ),
            ("probe_share_percent", Schema::Any),
            (
                "snmp",
                Schema::Map(&[
                    ("agent", Schema::Any),
                    ("port", Schema::Any),
                    ("version", Schema::Any),
                    ("if_index", Schema::Any),
                    ("if_name", Schema::Any),
                    ("credentials", Schema::Any),
                    ("profile", Schema::Any),
                ]),
            ),
        ])),
    ),
    (
        "paths",
        Schema::List(&Schema::Map(&[
            ("id", Schema::Any),
            ("service", Schema::Any),
            ("primary", Schema::Any),
            ("egress", EGRESS),
            // An item is a list of hops (not checked here) or a map.
            (
                "alternates",
                Schema::List(&Schema::Map(&[("hops", Schema::Any), ("egress", EGRESS)])),
            ),
        ])),
    ),
    ("probe_dir", Schema::Any),
    (
        "reflector",
        Schema::Map(&[
            ("peers", Schema::Any),
            ("max_bytes", Schema::Any),
            ("per_minute", Schema::Any),
        ]),
    ),
]);

const EGRESS: Schema = Schema::Map(&[
    ("source", Schema::Any),
    ("interface", Schema::Any),
    ("url", Schema::Any),
    ("tls_pin", Schema::Any),
]);
