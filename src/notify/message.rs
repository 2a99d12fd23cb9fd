//! The words of a notification, in Bahasa Indonesia: what broke, where (the first failing hop
//! by name and address), since when (WIB), what it means for the OPD's users, and whom to call
//! (the agreement's contacts). Pure: text in, text out.

use std::time::Duration;

use chrono::{DateTime, Datelike, Timelike, Utc};

use super::incident::{Event, Kind};
use crate::health::{Cause, State};
use crate::topology::{NodeId, NodeKind, Party, PathId, ServiceKind, Topology, ZoneKind};

/// A rendered message: a subject line (e-mail subject, the first line elsewhere) and the text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Message {
    pub subject: String,
    pub text: String,
}

const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// "4 Desember 2026 10.42 WIB".
pub fn wib(ms: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&chrono_tz::Asia::Jakarta);
    format!(
        "{} {} {} {:02}.{:02} WIB",
        t.day(),
        MONTHS[t.month0() as usize],
        t.year(),
        t.hour(),
        t.minute()
    )
}

/// "1 jam 5 menit", "3 menit", "kurang dari 1 menit".
pub fn lama(d: Duration) -> String {
    let m = d.as_secs() / 60;
    let (days, hours, mins) = (m / 1440, (m % 1440) / 60, m % 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days} hari"));
    }
    if hours > 0 {
        parts.push(format!("{hours} jam"));
    }
    if mins > 0 {
        parts.push(format!("{mins} menit"));
    }
    if parts.is_empty() {
        "kurang dari 1 menit".to_string()
    } else {
        parts.join(" ")
    }
}

fn service_of<'a>(t: &'a Topology, path: &str) -> Option<&'a crate::topology::Node> {
    t.path(&PathId::new(path)).and_then(|p| t.node(&p.service))
}

/// What the fault means for the people who use the service.
fn impact(t: &Topology, path: &str, state: State) -> String {
    let down = state == State::Down;
    match service_of(t, path) {
        Some(n) => match n.kind {
            NodeKind::Service(ServiceKind::WebPortal) if down => {
                "cek NIK ditahan, kuota tidak terpakai".to_string()
            }
            NodeKind::Service(ServiceKind::WebPortal) => {
                "cek NIK tetap berjalan tetapi lambat atau sebagian gagal".to_string()
            }
            NodeKind::Service(ServiceKind::DataBalikan) if down => {
                "data balikan ditahan di antrean, tidak ada yang hilang; terkirim setelah pulih"
                    .to_string()
            }
            NodeKind::Service(ServiceKind::DataBalikan) => {
                "pengiriman data balikan melambat".to_string()
            }
            _ if down => format!("{} tidak dapat dijangkau", n.name),
            _ => format!("{} terganggu", n.name),
        },
        None => format!("jalur {path} terganggu"),
    }
}

/// "Router Diskominfo (10.32.4.1)".
fn hop_words(t: &Topology, hop: &str) -> String {
    match t.node(&NodeId::new(hop)) {
        Some(n) => match n.address {
            Some(a) => format!("{} ({a})", n.name),
            None => n.name.clone(),
        },
        None => hop.to_string(),
    }
}

fn party_of(kind: ZoneKind) -> Party {
    match kind {
        ZoneKind::Opd => Party::Opd,
        ZoneKind::Diskominfo => Party::Diskominfo,
        ZoneKind::Disdukcapil => Party::Disdukcapil,
        ZoneKind::Ditjen => Party::Ditjen,
    }
}

fn party_words(p: Party) -> &'static str {
    match p {
        Party::Opd => "OPD",
        Party::Diskominfo => "Diskominfo",
        Party::Disdukcapil => "Disdukcapil",
        Party::Ditjen => "Ditjen Dukcapil",
    }
}

/// The contacts of the party whose zone holds the failing hop, or every contact when that
/// party has none (or the hop is unknown).
fn contacts(t: &Topology, hop: Option<&str>) -> Vec<String> {
    let party = hop
        .and_then(|h| t.node(&NodeId::new(h)))
        .and_then(|n| t.zone_kind_of(n))
        .map(party_of);
    let of_party: Vec<_> = t
        .agreement
        .contacts
        .iter()
        .filter(|c| Some(c.party) == party)
        .collect();
    let list = if of_party.is_empty() {
        t.agreement.contacts.iter().collect()
    } else {
        of_party
    };
    list.into_iter()
        .map(|c| {
            let mut s = format!("{} ({}", c.name, party_words(c.party));
            if let Some(r) = c.role.as_deref().filter(|r| *r != c.name) {
                s.push_str(&format!(", {r}"));
            }
            s.push(')');
            if let Some(p) = &c.phone {
                s.push_str(&format!(" {p}"));
            }
            s
        })
        .collect()
}

fn cause_words(c: Option<Cause>) -> &'static str {
    match c {
        Some(Cause::Unreachable) => "tidak ada jawaban",
        Some(Cause::Loss) => "kehilangan paket",
        Some(Cause::Latency) => "latensi tinggi",
        Some(Cause::Jitter) => "jitter tinggi",
        Some(Cause::Bandwidth) => "bandwidth rendah",
        Some(Cause::Tls) => "gangguan TLS",
        Some(Cause::Dns) => "gangguan DNS",
        Some(Cause::Http) => "gangguan layanan HTTP",
        None => "gangguan",
    }
}

/// The services an incident stops: "Web Portal Dukcapil dan Data Balikan".
fn services(t: &Topology, paths: &[String]) -> String {
    let names: Vec<String> = paths
        .iter()
        .map(|p| service_of(t, p).map_or_else(|| format!("jalur {p}"), |n| n.name.clone()))
        .collect();
    match names.as_slice() {
        [] => "layanan".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} dan {last}", init.join(", ")),
    }
}

/// The message for one event.
pub fn render(t: &Topology, e: &Event) -> Message {
    if e.kind == Kind::Agreement {
        return agreement(t, e);
    }
    let i = &e.incident;
    let what = services(t, &i.paths);
    let opd = &t.agreement.opd;
    let state_word = match i.state {
        State::Down => "PUTUS",
        _ => "TERGANGGU",
    };
    let (tag, headline) = match e.kind {
        Kind::Alert => ("GANGGUAN", format!("{what} {state_word}")),
        Kind::Reminder => (
            "MASIH TERGANGGU",
            format!("{what} {state_word} sudah {}", lama(e.duration())),
        ),
        Kind::Recovery | Kind::Agreement => (
            "PULIH",
            format!("{what} pulih setelah {}", lama(e.duration())),
        ),
    };
    let subject = format!("[{tag}] {headline} ({opd})");
    let mut lines = vec![format!("[{tag}] {headline}"), String::new()];
    let where_ = i.hop.as_deref().map(|h| hop_words(t, h));
    match e.kind {
        Kind::Alert | Kind::Reminder => {
            // The verdict's reason names the cause already; the cause alone when it has none.
            let what_broke = if i.reason.trim().is_empty() {
                cause_words(i.cause).to_string()
            } else {
                i.reason.clone()
            };
            lines.push(format!("Apa: {what_broke}"));
            if let Some(w) = &where_ {
                let mut s = format!("Di mana: mulai di {w}");
                if let Some(g) = &i.last_good {
                    s.push_str(&format!(", setelah {} yang masih sehat", hop_words(t, g)));
                }
                lines.push(s);
            }
            lines.push(format!("Sejak: {}", wib(i.opened_ms)));
            let mut impacts: Vec<String> = i.paths.iter().map(|p| impact(t, p, i.state)).collect();
            impacts.dedup();
            lines.push(format!("Dampak: {}.", impacts.join("; ")));
            let who = contacts(t, i.hop.as_deref());
            if !who.is_empty() {
                lines.push(format!("Hubungi: {}", who.join("; ")));
            }
        }
        Kind::Recovery | Kind::Agreement => {
            if let Some(w) = &where_ {
                lines.push(format!("Gangguan di {w} sudah berakhir."));
            }
            lines.push(format!(
                "Terganggu dari {} sampai {} ({}).",
                wib(i.opened_ms),
                wib(e.at_ms),
                lama(e.duration())
            ));
            lines.push("Layanan berjalan normal kembali.".to_string());
        }
    }
    lines.push(String::new());
    lines.push(format!("— juknis, {opd}"));
    Message {
        subject,
        text: lines.join("\n"),
    }
}

#[cfg(test)]
mod tests;

/// "4 Desember 2026".
fn date_words(d: chrono::NaiveDate) -> String {
    format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

/// The agreement's renewal reminder or its end (Juknis VI.F): when it ends, what to do, and
/// whom to call. `e.incident.reason` holds the last day (`YYYY-MM-DD`), `e.at_ms` the day
/// it was written.
fn agreement(t: &Topology, e: &Event) -> Message {
    let a = &t.agreement;
    let opd = &a.opd;
    let today = DateTime::<Utc>::from_timestamp_millis(e.at_ms)
        .unwrap_or_default()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .date_naive();
    let end = e
        .incident
        .reason
        .parse::<chrono::NaiveDate>()
        .ok()
        .or(a.end)
        .unwrap_or(today);
    let left = (end - today).num_days();
    let (tag, headline) = if left < 0 {
        (
            "PKS BERAKHIR",
            format!("Perjanjian Kerja Sama berakhir pada {}", date_words(end)),
        )
    } else if left == 0 {
        ("PKS", "Perjanjian Kerja Sama berakhir hari ini".to_owned())
    } else {
        (
            "PKS",
            format!(
                "Perjanjian Kerja Sama berakhir dalam {left} hari ({})",
                date_words(end)
            ),
        )
    };
    let subject = format!("[{tag}] {headline} ({opd})");
    let mut lines = vec![format!("[{tag}] {headline}"), String::new()];
    let pks = [a.pks_dukcapil.as_deref(), a.pks_opd.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ");
    if !pks.is_empty() {
        lines.push(format!("PKS: {pks}, antara {opd} dan {}", a.dukcapil));
    }
    if left < 0 {
        lines.push(
            "Akibat: cek NIK ditolak di appliance ini sampai PKS diperpanjang dan tanggal \
             berakhirnya (agreement.end) di topologi diperbarui."
                .to_owned(),
        );
    } else {
        lines.push(
            "Yang perlu dilakukan: ajukan permohonan perpanjangan PKS kepada Dinas Dukcapil, \
             paling lambat dua bulan sebelum berakhir (Juknis VI.F)."
                .to_owned(),
        );
        lines.push(
            "Setelah tanggal berakhir, cek NIK akan ditolak sampai tanggal berakhir yang baru \
             dicatat di topologi."
                .to_owned(),
        );
    }
    let who = contacts(t, None);
    if !who.is_empty() {
        lines.push(format!("Kontak: {}", who.join("; ")));
    }
    Message {
        subject,
        text: lines.join("\n"),
    }
}
