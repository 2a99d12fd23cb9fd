//! The Lampiran I lint: the five items the Juknis says the topology drawing must show at least.

use std::fmt;

use super::{NodeKind, Platform, ServiceKind, Topology, ZoneKind};

/// One of the five required items of Lampiran I ("Minimal Memuat").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Item {
    LanIp = 1,
    Applications = 2,
    MobileApp = 3,
    KominfoIp = 4,
    AccessIp = 5,
}

impl Item {
    pub const ALL: [Item; 5] = [
        Item::LanIp,
        Item::Applications,
        Item::MobileApp,
        Item::KominfoIp,
        Item::AccessIp,
    ];

    pub fn number(self) -> u8 {
        self as u8
    }

    /// The item in the Juknis' own words.
    pub fn words(self) -> &'static str {
        match self {
            Item::LanIp => {
                "Memuat IP Lan Dari Dukcapil dan posisinya di mana pada gambar bagian OPD nya"
            }
            Item::Applications => {
                "Gambarkan aplikasi sebanyak yang ada di pengguna pada bagian OPD nya"
            }
            Item::MobileApp => "Jika pakai mobile App gambarkan pada bagian OPDnya",
            Item::KominfoIp => "Cantumkan IP konesinya yg dari Kominfo pada bagian Diskominfo",
            Item::AccessIp => {
                "Cantumkan IP Akses nya sesuai pada bagian Disdukcapil (IP. 172.16.160.177 untuk Web Portal)"
            }
        }
    }
}

/// A required item the topology does not provide, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub item: Item,
    pub why: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Lampiran I item {}: \"{}\"\n  missing: {}",
            self.item.number(),
            self.item.words(),
            self.why
        )
    }
}

/// Check the five items; an empty list means Lampiran I shows everything the Juknis asks.
pub fn lampiran1(t: &Topology) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut miss = |item, why: String| out.push(Finding { item, why });
    let in_zone = |n: &super::Node, kind| t.zone_kind_of(n) == Some(kind);

    // 1: the access point with Dukcapil's LAN IP, inside the OPD part.
    let aps: Vec<_> = t
        .nodes
        .iter()
        .filter(|n| n.kind == NodeKind::AccessPoint)
        .collect();
    if aps.is_empty() {
        miss(
            Item::LanIp,
            "no node of `kind: access_point` (the LAN IP Dukcapil gives the OPD, e.g. 10.32.4.100)"
                .into(),
        );
    } else if !aps
        .iter()
        .any(|n| n.address.is_some() && in_zone(n, ZoneKind::Opd))
    {
        let outside: Vec<_> = aps
            .iter()
            .filter(|n| !in_zone(n, ZoneKind::Opd))
            .map(|n| n.id.as_str())
            .collect();
        if outside.is_empty() {
            miss(
                Item::LanIp,
                "the access point has no `address` (its LAN IP)".into(),
            );
        } else {
            miss(
                Item::LanIp,
                format!("access point {} is not in the OPD zone", outside.join(", ")),
            );
        }
    }

    // 2: every application of the OPD, inside the OPD part.
    let apps: Vec<_> = t
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::App(_)))
        .collect();
    if apps.is_empty() {
        miss(
            Item::Applications,
            "no node of `kind: app` (the OPD's applications that use the data)".into(),
        );
    } else {
        let outside: Vec<_> = apps
            .iter()
            .filter(|n| !in_zone(n, ZoneKind::Opd))
            .map(|n| n.id.as_str())
            .collect();
        if !outside.is_empty() {
            miss(
                Item::Applications,
                format!(
                    "application(s) {} are not in the OPD zone",
                    outside.join(", ")
                ),
            );
        }
    }

    // 3: the mobile app, if the OPD uses one, inside the OPD part.
    let mobiles: Vec<_> = apps
        .iter()
        .filter(|n| n.kind == NodeKind::App(Platform::Mobile))
        .collect();
    if t.agreement.uses_mobile_app && mobiles.is_empty() {
        miss(
            Item::MobileApp,
            "the agreement says `uses_mobile_app: true` but no app has `platform: mobile`".into(),
        );
    } else {
        let outside: Vec<_> = mobiles
            .iter()
            .filter(|n| !in_zone(n, ZoneKind::Opd))
            .map(|n| n.id.as_str())
            .collect();
        if !outside.is_empty() {
            miss(
                Item::MobileApp,
                format!(
                    "mobile app(s) {} are not in the OPD zone",
                    outside.join(", ")
                ),
            );
        }
    }

    // 4: the connection IP from Kominfo, inside the Diskominfo part.
    let kominfo_ip = t
        .nodes
        .iter()
        .any(|n| n.address.is_some() && in_zone(n, ZoneKind::Diskominfo));
    if !kominfo_ip {
        let has_zone = t.zones.iter().any(|z| z.kind == ZoneKind::Diskominfo);
        miss(
            Item::KominfoIp,
            if has_zone {
                "no node with an `address` in the Diskominfo zone".into()
            } else {
                "no zone of `kind: diskominfo`".into()
            },
        );
    }

    // 5: the access IP of the Web Portal, inside the Disdukcapil part.
    let portal = t
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::Service(ServiceKind::WebPortal));
    match portal {
        None => miss(
            Item::AccessIp,
            "no node with `kind: service` and `service: web_portal`".into(),
        ),
        Some(p) if !in_zone(p, ZoneKind::Disdukcapil) => miss(
            Item::AccessIp,
            format!("the Web Portal `{}` is not in the Disdukcapil zone", p.id),
        ),
        Some(p) if p.address.is_none() => miss(
            Item::AccessIp,
            format!(
                "the Web Portal `{}` has no `address` (172.16.160.177)",
                p.id
            ),
        ),
        Some(_) => {}
    }
    out
}
