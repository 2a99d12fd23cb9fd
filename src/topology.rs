//! The OPD's network as the Juknis sees it: zones, nodes, links, paths to Dukcapil services,
//! the probe profile of each target, and the agreement's facts. Loaded from hand-edited YAML
//! and validated into types that cannot be wrong. Pure: no network, no tokio; the only IO is
//! reading the file and listing the probe profile folder in [`load`].

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path as FsPath, PathBuf};

mod bandwidth;
mod cidr;
mod diagnostic;
pub mod lint;
pub mod maintenance;
pub mod notifier;
mod raw;
pub(crate) mod tree;
mod units;
mod validate;

pub use bandwidth::{Bandwidth, ParseError as BandwidthError};
pub use cidr::Cidr;
pub use diagnostic::{Diagnostic, Diagnostics, Location, did_you_mean};
pub use notifier::{Channel, Notifier, NotifierId, SmtpSecurity, WebhookFormat};
pub use units::{parse_bytes, parse_duration};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

id_type!(
    /// The id of a zone (`opd`, `diskominfo`, ...).
    ZoneId,
    /// The id of a node: a device, application or service.
    NodeId,
    /// The id of a link between two nodes.
    LinkId,
    /// The id of a path from the OPD to a Dukcapil service.
    PathId
);

/// The validated topology.
#[derive(Clone, Debug)]
pub struct Topology {
    /// The file it was loaded from.
    pub file: PathBuf,
    pub title: String,
    pub agreement: Agreement,
    /// Zones in the Juknis' order: OPD, Diskominfo, Disdukcapil, Ditjen.
    pub zones: Vec<Zone>,
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    pub paths: Vec<Path>,
    /// Where probe profiles live (`probes/` beside the topology folder by default).
    pub probe_dir: PathBuf,
    /// The bandwidth reflector this appliance offers to its peers; `None`: `/reflect` is off.
    pub reflector: Option<Reflector>,
    /// Planned work (`maintenance:`), not counted as failures.
    pub maintenance: maintenance::Schedule,
    /// Where alerts go; empty: nobody is told (the dashboard and /metrics still show faults).
    pub notifiers: Vec<Notifier>,
    /// How a data balikan record names its fields and which aid types it may carry.
    pub data_balikan: BalikanFields,
}

/// What a data balikan record carries beside the NIK, as the service names it (Juknis III):
/// the `param` keys of the recipient ID and the aid type, and the aid types the agreement
/// covers. Declared under `data_balikan:`; without it, the keys and types of the Web Portal's
/// documentation (`ID_PENERIMA`, `JENIS_BANTUAN`, `PKH`/`PBI`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BalikanFields {
    /// The `param` key of the aid programme's recipient ID.
    pub recipient_key: String,
    /// The `param` key of the aid type.
    pub aid_key: String,
    /// The aid types, upper case, in the declared order; never empty.
    pub aid_types: Vec<String>,
}

impl Default for BalikanFields {
    fn default() -> Self {
        BalikanFields {
            recipient_key: "ID_PENERIMA".to_owned(),
            aid_key: "JENIS_BANTUAN".to_owned(),
            aid_types: vec!["PKH".to_owned(), "PBI".to_owned()],
        }
    }
}

impl BalikanFields {
    /// Longest aid type code.
    pub const MAX_AID_LEN: usize = 32;
    /// Longest `param` key.
    pub const MAX_KEY_LEN: usize = 64;

    /// The declared aid type `s` names (any case, trimmed), as written on the wire.
    pub fn aid(&self, s: &str) -> Option<&str> {
        let s = s.trim();
        self.aid_types
            .iter()
            .find(|a| a.eq_ignore_ascii_case(s))
            .map(String::as_str)
    }

    /// The aid types for a message: `PKH atau PBI`, `PKH, PBI atau BPNT`.
    pub fn aid_list(&self) -> String {
        match self.aid_types.split_last() {
            None => String::new(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} atau {last}", rest.join(", ")),
        }
    }

    /// An aid type code is 1 to [`Self::MAX_AID_LEN`] of `A-Z 0-9 _ -`.
    pub fn valid_aid(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= Self::MAX_AID_LEN
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
    }

    /// A `param` key is 1 to [`Self::MAX_KEY_LEN`] of `A-Z a-z 0-9 _`.
    pub fn valid_key(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= Self::MAX_KEY_LEN
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }
}

/// Who may use this appliance's bandwidth reflector (`GET /reflect`), and how much.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reflector {
    /// The only addresses answered.
    pub peers: Vec<std::net::IpAddr>,
    /// Most bytes one request gets.
    pub max_bytes: u64,
    /// Most requests per peer in any minute.
    pub per_minute: u32,
}

impl Reflector {
    /// Most bytes one request may ask for, whatever the topology says.
    pub const MAX_BYTES: u64 = 64 * 1024 * 1024;
    /// The cap when the topology names none.
    pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;
}

/// The data-sharing agreement (PKS) and its technical guide.
#[derive(Clone, Debug)]
pub struct Agreement {
    /// The OPD's name, e.g. "Dinas Sosial Kabupaten Bandung".
    pub opd: String,
    pub dukcapil: String,
    pub pks_dukcapil: Option<String>,
    pub pks_opd: Option<String>,
    pub pks_date: Option<String>,
    /// Where the semester report's soft copy goes (Juknis V.B gives the address), if declared.
    pub report_email: Option<String>,
    /// The purpose of use stated in the PKS.
    pub purpose: String,
    /// The purposes of use the PKS lists; a look-up names one by its code. Never empty: without
    /// a list, `purpose` is the one purpose, code `utama`.
    pub purposes: Vec<Purpose>,
    pub quota: Quota,
    /// Every declared application has passed its PoC (and there is at least one), or, in a
    /// topology without applications, the old `poc_done` flag.
    pub poc_done: bool,
    /// What an application without a passed PoC reaches (Juknis II.B, II.D).
    pub before_poc: BeforePoc,
    /// Each application must name the person behind a look-up (`end_user`, Juknis II.A.2).
    pub end_user_required: bool,
    /// Most look-ups in any minute, per caller and for the whole User ID (II.E.1).
    pub lookups_per_minute: u32,
    /// First day of the agreement.
    pub start: Option<chrono::NaiveDate>,
    /// Last day of the agreement: after it the gate refuses look-ups.
    pub end: Option<chrono::NaiveDate>,
    /// The OPD declares a mobile application (Lampiran I item 3 then applies).
    pub uses_mobile_app: bool,
    /// The population data elements the agreement grants.
    pub elements: Vec<Element>,
    pub contacts: Vec<Contact>,
}

/// A purpose of use from the PKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purpose {
    /// What a look-up names (`bansos`), lower case.
    pub code: String,
    /// The PKS' words.
    pub text: String,
}

/// What an application without a passed PoC may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BeforePoc {
    /// Production, within the PoC quota (`quota_per_day`, never `unlimited`).
    #[default]
    Quota,
    /// Nothing in production: the gate refuses its look-ups (it tests on Dukcapil's sandbox).
    Sandbox,
}

impl BeforePoc {
    /// The word in YAML.
    pub fn key(self) -> &'static str {
        match self {
            BeforePoc::Quota => "quota",
            BeforePoc::Sandbox => "sandbox",
        }
    }
}

/// An application's Proof of Concept (Juknis II.D): done, with the result letter.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Poc {
    pub done: bool,
    /// Number of the PoC result letter.
    pub letter: Option<String>,
    /// Date of the PoC result letter.
    pub date: Option<chrono::NaiveDate>,
}

impl Agreement {
    /// The purpose a look-up names: its code (any case) or its exact text.
    pub fn purpose_of(&self, given: &str) -> Option<&Purpose> {
        let g = given.trim();
        self.purposes
            .iter()
            .find(|p| p.code.eq_ignore_ascii_case(g) || p.text.eq_ignore_ascii_case(g))
    }

    /// Days from `today` to the last day (0 on the last day, negative after), if an end is set.
    pub fn days_left(&self, today: chrono::NaiveDate) -> Option<i64> {
        self.end.map(|e| (e - today).num_days())
    }

    /// Whether `today` is inside the renewal window: from two months before the end (Juknis
    /// VI.F: apply for renewal at the latest two months before) until the end.
    pub fn renewal_due(&self, today: chrono::NaiveDate) -> bool {
        self.end.is_some_and(|e| {
            let from = e
                .checked_sub_months(chrono::Months::new(2))
                .unwrap_or(chrono::NaiveDate::MIN);
            today >= from && today <= e
        })
    }

    /// Whether the agreement has ended (or not yet begun) on `today`.
    pub fn in_force(&self, today: chrono::NaiveDate) -> bool {
        self.end.is_none_or(|e| today <= e) && self.start.is_none_or(|s| today >= s)
    }
}

/// The daily NIK quota for the Web Portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quota {
    PerDay(u32),
    Unlimited,
}

/// A person to call, from the Juknis' contact list (VI.B).
#[derive(Clone, Debug)]
pub struct Contact {
    pub party: Party,
    pub name: String,
    pub phone: Option<String>,
    pub role: Option<String>,
}

/// Who a contact works for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    Opd,
    Diskominfo,
    Disdukcapil,
    Ditjen,
}

/// One of the population data elements an agreement can grant. The portal client filters
/// Dukcapil's answers by the same type.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Element {
    NomorKk,
    Nik,
    NamaLengkap,
    JenisKelamin,
    TempatLahir,
    TanggalLahir,
    StatusPerkawinan,
    JenisPekerjaan,
    Alamat,
}

impl Element {
    /// The nine elements of the Web Portal access method (Juknis II.C.2.a).
    pub const NINE: [Element; 9] = [
        Element::NomorKk,
        Element::Nik,
        Element::NamaLengkap,
        Element::JenisKelamin,
        Element::TempatLahir,
        Element::TanggalLahir,
        Element::StatusPerkawinan,
        Element::JenisPekerjaan,
        Element::Alamat,
    ];

    /// The key used in YAML.
    pub fn key(self) -> &'static str {
        match self {
            Element::NomorKk => "nomor_kk",
            Element::Nik => "nik",
            Element::NamaLengkap => "nama_lengkap",
            Element::JenisKelamin => "jenis_kelamin",
            Element::TempatLahir => "tempat_lahir",
            Element::TanggalLahir => "tanggal_lahir",
            Element::StatusPerkawinan => "status_perkawinan",
            Element::JenisPekerjaan => "jenis_pekerjaan",
            Element::Alamat => "alamat",
        }
    }

    /// The name in the Juknis.
    pub fn label(self) -> &'static str {
        match self {
            Element::NomorKk => "Nomor KK",
            Element::Nik => "NIK",
            Element::NamaLengkap => "Nama Lengkap",
            Element::JenisKelamin => "Jenis Kelamin",
            Element::TempatLahir => "Tempat Lahir",
            Element::TanggalLahir => "Tanggal Lahir",
            Element::StatusPerkawinan => "Status Perkawinan",
            Element::JenisPekerjaan => "Jenis Pekerjaan",
            Element::Alamat => "Alamat",
        }
    }
}

/// The four parts of the Juknis topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ZoneKind {
    Opd,
    Diskominfo,
    Disdukcapil,
    Ditjen,
}

impl ZoneKind {
    pub const ALL: [ZoneKind; 4] = [
        ZoneKind::Opd,
        ZoneKind::Diskominfo,
        ZoneKind::Disdukcapil,
        ZoneKind::Ditjen,
    ];

    pub fn key(self) -> &'static str {
        match self {
            ZoneKind::Opd => "opd",
            ZoneKind::Diskominfo => "diskominfo",
            ZoneKind::Disdukcapil => "disdukcapil",
            ZoneKind::Ditjen => "ditjen",
        }
    }

    /// The name used when the YAML gives none.
    pub fn default_name(self) -> &'static str {
        match self {
            ZoneKind::Opd => "OPD/Lembaga Pengguna",
            ZoneKind::Diskominfo => "Diskominfo Kabupaten Bandung",
            ZoneKind::Disdukcapil => "Dinas Dukcapil Kabupaten Bandung",
            ZoneKind::Ditjen => "Ditjen Dukcapil Kemendagri",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Zone {
    pub id: ZoneId,
    pub kind: ZoneKind,
    pub name: String,
}

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// The access point with the LAN IP that Dukcapil gives the OPD (Juknis I.A).
    AccessPoint,
    Router,
    Switch,
    Firewall,
    Server,
    App(Platform),
    /// A KTP-el card reader (Juknis IV).
    CardReader,
    Service(ServiceKind),
    /// An operator's workstation.
    Client,
}

impl NodeKind {
    pub const KEYS: [&'static str; 9] = [
        "access_point",
        "router",
        "switch",
        "firewall",
        "server",
        "app",
        "card_reader",
        "service",
        "client",
    ];
}

/// The platform of an OPD application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Platform {
    Web,
    Mobile,
    Desktop,
}

/// A Dukcapil service an OPD reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    WebPortal,
    DataBalikan,
    Other,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub id: NodeId,
    pub zone: ZoneId,
    pub kind: NodeKind,
    pub name: String,
    pub address: Option<IpAddr>,
    pub network: Option<Cidr>,
    pub url: Option<String>,
    /// Names of the probe profiles (files under `probe_dir`) that watch this node.
    pub probes: Vec<String>,
    /// How to trust the node's TLS certificate (Dukcapil uses self-signed certificates on
    /// bare IPs): a pinned SHA-256 fingerprint or a CA file. Used by TLS/HTTPS probes whose
    /// profile has no pin of its own, and by the portal client.
    pub tls: TlsTrust,
    /// An application's PoC state (`None` for other nodes; not passed when absent).
    pub poc: Option<Poc>,
    pub note: Option<String>,
}

impl Node {
    /// Whether this application has passed its PoC.
    pub fn poc_passed(&self) -> bool {
        self.poc.as_ref().is_some_and(|p| p.done)
    }
}

/// How a node's TLS certificate is trusted.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum TlsTrust {
    /// The system's root certificates (a certificate issued by a public CA).
    #[default]
    System,
    /// The SHA-256 fingerprint of the server's certificate, 64 hex digits.
    Fingerprint(String),
    /// A PEM file holding the CA (or the self-signed certificate) to trust, relative paths
    /// resolved against the topology file's folder.
    CaFile(PathBuf),
}

#[derive(Clone, Debug)]
pub struct Link {
    pub id: LinkId,
    pub from: NodeId,
    pub to: NodeId,
    pub provider: Option<String>,
    /// The contracted bandwidth; `None` for a LAN link without a contract.
    pub bandwidth: Option<Bandwidth>,
    pub network: Option<Cidr>,
    /// Bandwidth tiers the provider offers, smallest first, for the bandwidth study.
    pub tiers: Vec<Tier>,
    /// The share of the contracted bandwidth probes may spend, as a fraction (0.01 = 1%).
    pub probe_share: f64,
    /// Where the link's OPD-side interface is polled over SNMP for its utilisation.
    pub snmp: Option<SnmpPoll>,
}

/// The SNMP agent and interface that carry a link's traffic on the OPD side. The interface
/// counters give the link's real use (what the probes cannot see), for the bandwidth study.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnmpPoll {
    /// The node that runs the agent (usually the OPD's router).
    pub agent: NodeId,
    /// The agent node's address.
    pub address: IpAddr,
    /// UDP port of the agent, 161 by default.
    pub port: u16,
    pub version: SnmpVersion,
    pub interface: Interface,
    /// The entry under `snmp:` in the secrets file that holds the community or the v3 user:
    /// the topology carries references only, never a secret.
    pub credentials: String,
    /// The probe profile with the polling interval and timeout (`snmp` by default).
    pub profile: String,
}

/// SNMP versions juknis polls with (v1 has no 64-bit counters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SnmpVersion {
    V2c,
    V3,
}

impl SnmpVersion {
    /// The word in YAML.
    pub fn key(self) -> &'static str {
        match self {
            SnmpVersion::V2c => "v2c",
            SnmpVersion::V3 => "v3",
        }
    }
}

/// Which interface of the agent: its `ifIndex`, or a name matched against `ifName` then
/// `ifDescr` when the probe starts (indices can change when a router reboots; names do not).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interface {
    Index(u32),
    Name(String),
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Interface::Index(i) => write!(f, "ifIndex {i}"),
            Interface::Name(n) => f.write_str(n),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tier {
    pub bandwidth: Bandwidth,
    /// Monthly cost in Rupiah, where the provider gave one.
    pub cost_per_month: Option<u64>,
}

/// A way from the OPD to one Dukcapil service: the primary route and optional alternates.
#[derive(Clone, Debug)]
pub struct Path {
    pub id: PathId,
    pub service: NodeId,
    /// Routes in order of preference; the first is the primary.
    pub routes: Vec<Route>,
    /// How long the primary must have been healthy, while an alternate carries the traffic,
    /// before traffic comes back to it (`failback_hold`, default [`DEFAULT_FAILBACK_HOLD`]).
    pub failback_hold: std::time::Duration,
}

/// The default failback hold: five minutes of an uninterrupted healthy primary. Long enough
/// for several probe rounds (30 s by default) to agree, short enough that a paid backup (a
/// metered VPN) is not kept on long after the Diskominfo link is repaired.
pub const DEFAULT_FAILBACK_HOLD: std::time::Duration = std::time::Duration::from_secs(300);

/// The shortest failback hold a topology may set: below it a single lucky probe round could
/// pull traffic back to a primary that is still failing.
pub const MIN_FAILBACK_HOLD: std::time::Duration = std::time::Duration::from_secs(10);

/// The longest failback hold a topology may set.
pub const MAX_FAILBACK_HOLD: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// An ordered list of hops, every consecutive pair joined by a link.
#[derive(Clone, Debug)]
pub struct Route {
    /// `primary`, `alternate-1`, ...
    pub name: String,
    pub hops: Vec<NodeId>,
    /// The links between consecutive hops, `hops.len() - 1` of them.
    pub links: Vec<LinkId>,
    /// How this route's traffic leaves the appliance.
    pub egress: Egress,
}

impl Route {
    /// Whether this is the path's first route (the one its traffic takes when all is well).
    pub fn is_primary(&self) -> bool {
        self.name == "primary"
    }
}

/// How a route's traffic leaves the appliance: bound to a local source address (policy
/// routing by source sends it on its way) and/or to an interface (`SO_BINDTODEVICE`, e.g. a
/// `wg0`), and, where the service answers at another address on this route (a VPN
/// concentrator's NAT), the URL and TLS pin to use there. All empty: the operating system's
/// routing table decides, and the service node's URL and trust apply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Egress {
    pub source: Option<IpAddr>,
    pub interface: Option<String>,
    /// Replaces the service node's `url` on this route.
    pub url: Option<String>,
    /// Replaces the service node's TLS trust on this route.
    pub tls: Option<TlsTrust>,
}

impl Egress {
    /// Whether the route declares nothing (the system's routing table decides).
    pub fn is_default(&self) -> bool {
        self == &Egress::default()
    }

    /// The tag of the probes that leave as this route does (`198.51.100.2%wg0`, with the
    /// route's own URL and a `pin` mark where it has them); `None` for a route that leaves as
    /// the routing table says.
    pub fn via(&self) -> Option<String> {
        if self.is_default() {
            return None;
        }
        let mut parts = Vec::new();
        if let Some(s) = self.source {
            parts.push(s.to_string());
        }
        if let Some(i) = &self.interface {
            parts.push(format!("%{i}"));
        }
        if let Some(u) = &self.url {
            parts.push(u.clone());
        }
        if self.tls.is_some() {
            parts.push("pin".to_owned());
        }
        Some(parts.join(" "))
    }

    /// "sumber 198.51.100.2, antarmuka wg0", or "" for a route that declares nothing.
    pub fn describe_id(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.source {
            parts.push(format!("alamat sumber {s}"));
        }
        if let Some(i) = &self.interface {
            parts.push(format!("antarmuka {i}"));
        }
        parts.join(", ")
    }
}

impl Topology {
    pub fn node(&self, id: &NodeId) -> Option<&Node> {
        self.nodes.iter().find(|n| &n.id == id)
    }

    pub fn zone(&self, id: &ZoneId) -> Option<&Zone> {
        self.zones.iter().find(|z| &z.id == id)
    }

    pub fn link(&self, id: &LinkId) -> Option<&Link> {
        self.links.iter().find(|l| &l.id == id)
    }

    pub fn path(&self, id: &PathId) -> Option<&Path> {
        self.paths.iter().find(|p| &p.id == id)
    }

    /// The kind of zone a node sits in.
    pub fn zone_kind_of(&self, node: &Node) -> Option<ZoneKind> {
        self.zone(&node.zone).map(|z| z.kind)
    }

    /// Nodes of one zone, in file order.
    pub fn nodes_in<'a>(&'a self, zone: &'a ZoneId) -> impl Iterator<Item = &'a Node> + 'a {
        self.nodes.iter().filter(move |n| &n.zone == zone)
    }

    /// The OPD's applications (app nodes), in file order.
    pub fn applications(&self) -> impl Iterator<Item = &Node> {
        self.nodes
            .iter()
            .filter(|n| matches!(n.kind, NodeKind::App(_)))
    }

    /// The application node named `id`.
    pub fn application(&self, id: &str) -> Option<&Node> {
        self.applications().find(|n| n.id.as_str() == id)
    }

    /// The access point's LAN address (the IP LAN Dukcapil gives the OPD, Juknis I.A).
    pub fn access_point_address(&self) -> Option<IpAddr> {
        self.nodes
            .iter()
            .find(|n| n.kind == NodeKind::AccessPoint)
            .and_then(|n| n.address)
    }

    /// The links with a contracted bandwidth (the WAN links the Juknis talks about).
    pub fn contracted_links(&self) -> impl Iterator<Item = &Link> {
        self.links.iter().filter(|l| l.bandwidth.is_some())
    }
}

/// Why a topology could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {file}: {source}")]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{n} problem(s) in the topology:\n{0}", n = .0.len())]
    Invalid(Diagnostics),
}

/// Read, parse and validate a topology file, checking probe profile names against the
/// `*.yaml` files in its probe folder.
pub fn load(file: &FsPath) -> Result<Topology, Error> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Read {
        file: file.to_path_buf(),
        source,
    })?;
    let probe_dir_of = |dir: &FsPath| -> Option<BTreeSet<String>> {
        let entries = std::fs::read_dir(dir).ok()?;
        Some(
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let p = e.path();
                    let ext = p.extension()?.to_str()?;
                    matches!(ext, "yaml" | "yml")
                        .then(|| p.file_stem()?.to_str().map(str::to_string))
                        .flatten()
                })
                .collect(),
        )
    };
    validate::parse(&text, file, &probe_dir_of).map_err(Error::Invalid)
}

/// Parse and validate topology text. `profiles` lists the profile names available in a probe
/// folder, or `None` when the folder cannot be read.
pub fn parse(
    text: &str,
    file: &FsPath,
    profiles: &dyn Fn(&FsPath) -> Option<BTreeSet<String>>,
) -> Result<Topology, Diagnostics> {
    validate::parse(text, file, profiles)
}
