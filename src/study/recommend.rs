//! The recommendation: the smallest tier the provider lists that carries the projected
//! busy-hour traffic with headroom, or the finding that the provider does not deliver what is
//! contracted, or that no listed tier suffices. Never a tier that is not listed. The reasoning
//! is written out step by step, in Indonesian, for the document.

use super::analysis::Analysis;
use super::fmt::{bitrate, millis, number, percent, rupiah};
use crate::topology::Tier;

/// The targets a tier must meet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Targets {
    /// Projected busy-hour p95 utilisation at most this share of the tier.
    pub max_busy_util: f64,
    /// Packet loss below this (mean over the period).
    pub max_loss: f64,
    /// RTT p95 within this budget, seconds.
    pub rtt_p95_budget_s: f64,
    /// The provider delivers less than this share of the contract: a delivery problem.
    pub min_delivered: f64,
}

impl Default for Targets {
    fn default() -> Self {
        Self {
            max_busy_util: 0.70,
            max_loss: 0.01,
            rtt_p95_budget_s: 0.150,
            min_delivered: 0.80,
        }
    }
}

/// The outcome.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// The current tier meets the targets: no change.
    Keep,
    /// Change to this tier (larger or smaller than the current one).
    Change(Tier),
    /// The provider delivers well below the contract: fix delivery first, no tier change.
    ProviderShortfall { delivered_bps: f64 },
    /// Even the largest listed tier falls short of the requirement.
    NoneSuffices,
}

/// The recommendation with its numbers and reasoning.
#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    pub verdict: Verdict,
    pub targets: Targets,
    pub current: Tier,
    /// The tier the numbers call for (also given with a provider shortfall, for after the fix).
    pub needed: Option<Tier>,
    /// Bits per second a tier must have.
    pub required_bps: f64,
    /// Cost difference per month of the change, when both costs are listed.
    pub cost_diff_month: Option<i64>,
    /// The sentence that states the recommendation.
    pub sentence: String,
    /// The reasoning, step by step.
    pub steps: Vec<String>,
    /// Per tier: does it meet the targets, and the projected busy-hour utilisation on it.
    pub tier_table: Vec<(Tier, f64, bool)>,
    /// Quality findings that a tier change does not fix (loss, RTT on an uncongested link).
    pub notes: Vec<String>,
}

fn cost_of(t: &Tier) -> String {
    t.cost_per_month
        .map_or("tidak dicantumkan".into(), |c| rupiah(c as i64))
}

/// Recommend among `tiers` (smallest first) for the link whose contract is `a.contracted_bps`.
pub fn recommend(a: &Analysis, tiers: &[Tier], targets: Targets) -> Recommendation {
    let contracted = a.contracted_bps;
    let current = tiers
        .iter()
        .find(|t| t.bandwidth.bps() as f64 == contracted)
        .cloned()
        .unwrap_or(Tier {
            bandwidth: crate::topology::Bandwidth::from_bps(contracted as u64),
            cost_per_month: None,
        });
    let p = &a.projection;
    let mut steps = Vec::new();
    let mut notes = Vec::new();

    // 1. The current state.
    let busiest = a
        .busiest_hour
        .map(|(h, _)| super::document::hour_of_week_label(h))
        .unwrap_or_else(|| "-".into());
    steps.push(format!(
        "Kapasitas yang dikontrak saat ini {}. Pada {} hari terakhir periode kajian, jam tersibuk adalah {} dengan utilisasi persentil ke-95 sebesar {} ({} dari kapasitas kontrak).",
        bitrate(contracted),
        super::analysis::RECENT_DAYS.min(a.period.days()),
        busiest,
        bitrate(p.busy_p95_bps),
        percent(p.busy_p95_bps / contracted.max(1.0)),
    ));
    // 2. Growth.
    let growth = match p.growth {
        super::analysis::Growth::Declared(g) => {
            format!("pertumbuhan yang ditetapkan {}% per tahun", number(g, 1))
        }
        super::analysis::Growth::Measured => match a.util_trend {
            Some(t) => format!(
                "tren terukur utilisasi harian persentil ke-95 sebesar {} per bulan",
                bitrate(t.per_month)
            ),
            None => "tidak ada tren terukur (data kurang dari tiga hari)".into(),
        },
    };
    steps.push(format!(
        "Untuk {} bulan ke depan digunakan {}, sehingga faktor pertumbuhan {} dan utilisasi jam tersibuk diproyeksikan menjadi {}.",
        p.horizon_months,
        growth,
        number(p.util_factor, 2),
        bitrate(p.projected_busy_p95_bps)
    ));
    // 3. Burst of look-ups.
    steps.push(format!(
        "Bila {} aplikasi OPD melakukan pencarian NIK bersamaan, masing-masing jawaban ({} bita di jaringan) harus tiba dalam {} detik: dibutuhkan tambahan {} di atas beban jam tersibuk.",
        p.apps,
        super::fmt::int(a.cost.down as u64),
        number(p.response_target_s, 0),
        bitrate(p.burst_bps)
    ));
    // 4. The requirement.
    let by_util = p.projected_busy_p95_bps / targets.max_busy_util;
    let by_burst = p.projected_busy_p95_bps + p.burst_bps;
    let required_bps = by_util.max(by_burst);
    steps.push(format!(
        "Syarat kapasitas: utilisasi jam tersibuk yang diproyeksikan paling tinggi {} dari kapasitas ({} / {} = {}), dan beban jam tersibuk ditambah lonjakan pencarian NIK harus muat ({} + {} = {}). Kapasitas minimum yang dibutuhkan {}.",
        percent(targets.max_busy_util),
        bitrate(p.projected_busy_p95_bps),
        number(targets.max_busy_util, 2),
        bitrate(by_util),
        bitrate(p.projected_busy_p95_bps),
        bitrate(p.burst_bps),
        bitrate(by_burst),
        bitrate(required_bps)
    ));
    let tier_table: Vec<(Tier, f64, bool)> = tiers
        .iter()
        .map(|t| {
            let bps = t.bandwidth.bps() as f64;
            (
                t.clone(),
                p.projected_busy_p95_bps / bps,
                bps >= required_bps,
            )
        })
        .collect();
    let needed = tier_table.iter().find(|t| t.2).map(|t| t.0.clone());

    // 5. Quality.
    let congested = p.busy_p95_bps / contracted.max(1.0) > targets.max_busy_util;
    let loss_bad = a.loss.is_some_and(|l| l.mean >= targets.max_loss);
    let rtt_bad = a.rtt_s.is_some_and(|r| r.p95 > targets.rtt_p95_budget_s);
    let quality = format!(
        "Kualitas terukur: rata-rata packet loss {} (target < {}), RTT persentil ke-95 {} (anggaran {}).",
        a.loss.map_or("-".into(), |l| percent(l.mean)),
        percent(targets.max_loss),
        a.rtt_s.map_or("-".into(), |r| millis(r.p95)),
        millis(targets.rtt_p95_budget_s)
    );
    if (loss_bad || rtt_bad) && congested {
        steps.push(format!(
            "{quality} Penurunan kualitas terjadi bersamaan dengan utilisasi tinggi pada jam sibuk, sehingga disebabkan oleh kepadatan lalu lintas dan akan teratasi dengan kapasitas yang cukup."
        ));
    } else if loss_bad || rtt_bad {
        steps.push(format!(
            "{quality} Karena utilisasi tidak tinggi, penurunan kualitas ini bukan disebabkan oleh besaran bandwidth."
        ));
        notes.push("Penurunan kualitas (packet loss atau RTT) terjadi pada utilisasi rendah: perlu pemeriksaan jaringan oleh penyedia, bukan penambahan bandwidth.".into());
    } else {
        steps.push(format!("{quality} Kualitas memenuhi target."));
    }

    // 6. Delivery.
    let shortfall = a
        .delivered_bps
        .filter(|d| d.p50 < targets.min_delivered * contracted);
    if let Some(d) = a.delivered_bps {
        steps.push(format!(
            "Kapasitas yang benar-benar diterima (estimasi bandwidth tersedia ditambah lalu lintas pada saat yang sama) bernilai tengah {}, atau {} dari kontrak (batas {}).",
            bitrate(d.p50),
            percent(d.p50 / contracted.max(1.0)),
            percent(targets.min_delivered)
        ));
    }

    let diff = |to: &Tier| match (to.cost_per_month, current.cost_per_month) {
        (Some(a), Some(b)) => Some(a as i64 - b as i64),
        _ => None,
    };
    let (verdict, sentence, cost_diff_month) = if let Some(d) = shortfall {
        (
            Verdict::ProviderShortfall {
                delivered_bps: d.p50,
            },
            format!(
                "Direkomendasikan besaran bandwidth tetap {} tanpa perubahan paket: kapasitas yang diterima hanya {} ({} dari kontrak), sehingga masalahnya terletak pada pemenuhan layanan oleh penyedia jaringan, bukan pada besaran paket; OPD meminta Diskominfo dan penyedia memenuhi kapasitas sesuai kontrak, lalu kajian diulang.",
                current.bandwidth,
                bitrate(d.p50),
                percent(d.p50 / contracted.max(1.0))
            ),
            None,
        )
    } else {
        match &needed {
            None => {
                let largest = tiers.last().map_or("-".into(), |t| t.bandwidth.to_string());
                (
                    Verdict::NoneSuffices,
                    format!(
                        "Tidak ada paket yang tersedia yang mencukupi: kebutuhan {} melebihi paket terbesar yang ditawarkan ({}). Direkomendasikan meminta penawaran paket yang lebih besar kepada Diskominfo sebelum mengajukan perubahan.",
                        bitrate(required_bps),
                        largest
                    ),
                    None,
                )
            }
            Some(t) if t.bandwidth.bps() as f64 == contracted => (
                Verdict::Keep,
                format!(
                    "Direkomendasikan besaran bandwidth tetap {} (tidak perlu perubahan): kebutuhan {} masih terpenuhi oleh paket saat ini.",
                    current.bandwidth,
                    bitrate(required_bps)
                ),
                None,
            ),
            Some(t) => {
                let up = t.bandwidth.bps() as f64 > contracted;
                let d = diff(t);
                let money = d.map_or(String::new(), |d| {
                    format!(
                        ", dengan {} biaya {} per bulan ({} per tahun)",
                        if d >= 0 { "tambahan" } else { "penghematan" },
                        rupiah(d.abs()),
                        rupiah(d.abs() * 12)
                    )
                });
                (
                    Verdict::Change(t.clone()),
                    format!(
                        "Direkomendasikan {} bandwidth dari {} menjadi {}{}.",
                        if up { "penambahan" } else { "penurunan" },
                        current.bandwidth,
                        t.bandwidth,
                        money
                    ),
                    d,
                )
            }
        }
    };
    steps.push(match &needed {
        Some(t) => format!(
            "Paket terkecil yang tercantum dan memenuhi kebutuhan {} adalah {} (biaya {} per bulan); utilisasi jam tersibuk yang diproyeksikan padanya {}.",
            bitrate(required_bps),
            t.bandwidth,
            cost_of(t),
            percent(p.projected_busy_p95_bps / t.bandwidth.bps() as f64)
        ),
        None => format!(
            "Tidak ada paket tercantum yang memenuhi kebutuhan {}.",
            bitrate(required_bps)
        ),
    });
    if busy_censored(a) {
        notes.push("Utilisasi jam sibuk mendekati 100% kapasitas: permintaan sebenarnya dapat lebih tinggi dari yang terukur karena tertahan oleh kapasitas. Disarankan pengukuran ulang tiga bulan setelah perubahan.".into());
    }
    Recommendation {
        verdict,
        targets,
        current,
        needed,
        required_bps,
        cost_diff_month,
        sentence,
        steps,
        tier_table,
        notes,
    }
}

/// The busy hour runs near the contract: measured demand is capped by the link.
fn busy_censored(a: &Analysis) -> bool {
    a.busiest_hour.is_some_and(|(_, u)| u >= 0.90)
}
