//! The level of an SNMP round, worded in Bahasa Indonesia: the link's use against its
//! contracted rate. A failed poll says nothing about the data path.

use super::{Detail, Discard, Problem};
use crate::health::{Level, State};
use crate::probe::{Detail as AnyDetail, Outcome, Reason};

/// 1 234 567 bps as `1,23 Mbps` and 512 000 bps as `512 Kbps`, with a decimal comma.
pub(super) fn human_bps(bps: f64) -> String {
    let (v, unit) = if bps >= 1e9 {
        (bps / 1e9, "Gbps")
    } else if bps >= 1e6 {
        (bps / 1e6, "Mbps")
    } else if bps >= 1e3 {
        (bps / 1e3, "Kbps")
    } else {
        (bps, "bps")
    };
    let n = format!("{v:.2}");
    let n = n.trim_end_matches('0').trim_end_matches('.');
    format!("{} {unit}", n.replace('.', ","))
}

/// A share as a percentage with a decimal comma: `0,4%`, `48,0%`.
fn percent(share: f64) -> String {
    format!("{:.1}%", share * 100.0).replace('.', ",")
}

/// The level of an SNMP round, worded in Bahasa Indonesia. A failed poll is `Unknown`, not
/// `Down`: the monitoring channel failed, not the link.
#[must_use]
pub fn level(outcome: &Outcome, contracted_bps: Option<u64>) -> Level {
    let d = match &outcome.detail {
        AnyDetail::Snmp(d) => Some(d),
        _ => None,
    };
    if !outcome.ok {
        let detail = match &outcome.reason {
            Some(Reason::Timeout { after }) => format!(
                "agen SNMP {} tidak menjawab dalam {:.1} s (community salah, ACL agen, atau agen mati)",
                outcome.target,
                after.as_secs_f64()
            )
            .replace('.', ","),
            Some(Reason::Snmp { problem }) => match problem {
                Problem::Auth { .. } => format!(
                    "autentikasi SNMPv3 ke {} ditolak: periksa user, protokol auth/privasi dan kata sandinya",
                    outcome.target
                ),
                Problem::NoSuch { object, .. } => format!(
                    "objek {object} tidak ada di agen ({problem}): periksa if_index, atau agen tidak mendukung penghitung 64-bit"
                ),
                Problem::NoInterface { name } => format!(
                    "antarmuka `{name}` tidak ditemukan di ifName maupun ifDescr agen: periksa if_name"
                ),
                Problem::Status { status } => {
                    format!("agen SNMP menolak permintaan (error-status {status})")
                }
                Problem::Protocol { message } => format!("jawaban SNMP tidak dapat dibaca: {message}"),
            },
            Some(other) => format!("agen SNMP tidak dapat dihubungi: {other}"),
            None => "pembacaan SNMP gagal".to_owned(),
        };
        return Level {
            state: State::Unknown,
            cause: None,
            detail,
        };
    }
    let detail = match d {
        Some(d) if d.primed => {
            "pembacaan pertama: penghitung dicatat, laju dihitung pada putaran berikutnya".to_owned()
        }
        Some(Detail {
            discarded: Some(why),
            ..
        }) => match why {
            Discard::AgentRestarted => {
                "agen SNMP dimulai ulang (sysUpTime mundur): putaran dibuang, penghitung dicatat ulang".to_owned()
            }
            Discard::WindowTooShort { window, min } => format!(
                "jarak pembacaan {:.1} s lebih pendek dari min_window {:.1} s: putaran dibuang",
                window.as_secs_f64(),
                min.as_secs_f64()
            )
            .replace('.', ","),
            Discard::CounterReset => {
                "penghitung antarmuka direset: putaran dibuang, penghitung dicatat ulang".to_owned()
            }
        },
        Some(Detail {
            rx_bps: Some(rx),
            tx_bps: Some(tx),
            ..
        }) => {
            let mut s = format!("masuk {}, keluar {}", human_bps(*rx), human_bps(*tx));
            if let Some(c) = contracted_bps.filter(|c| *c > 0) {
                let c = c as f64;
                s.push_str(&format!(
                    " (utilisasi {} / {} dari kontrak {})",
                    percent(rx / c),
                    percent(tx / c),
                    human_bps(c)
                ));
            }
            s
        }
        _ => String::new(),
    };
    Level {
        state: State::Healthy,
        cause: None,
        detail,
    }
}
