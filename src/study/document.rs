//! The kajian teknis as a [`Document`], in Bahasa Indonesia, in the register of an Indonesian
//! government technical document, with the draft cover letter as its annex. Pure: builds the
//! model only; `crate::doc` renders it.

use chrono::{Datelike, NaiveDate};

use super::analysis::{Analysis, Growth, Summary};
use super::fmt::{self, bitrate, date, int, millis, month_year, number, percent, rupiah};
use super::history::Selection;
use super::recommend::{Recommendation, Verdict};
use crate::doc::{Align, Block, Chart, ChartKind, Document, Figure, Inline, Series, Table, XAxis};
use crate::topology::{Link, NodeKind, Topology};

/// The document's title (on the cover and in the letter).
pub const TITLE: &str = "Kajian Teknis Perubahan Bandwidth Jaringan Komunikasi Data";

/// What the document is about.
pub struct Subject<'a> {
    pub topology: &'a Topology,
    pub link: &'a Link,
    pub selection: &'a Selection,
    /// The day the document is made (WIB).
    pub today: NaiveDate,
}

/// `Senin 08.00–09.00` for an hour of the week (0 = Monday 00).
pub fn hour_of_week_label(h: usize) -> String {
    let (d, hr) = (h / 24 % 7, h % 24);
    format!("{} {:02}.00–{:02}.00", fmt::WEEKDAYS[d], hr, hr + 1)
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".into(), f)
}

fn table(caption: &str, header: &[&str], rows: Vec<Vec<String>>, right_from: usize) -> Block {
    let align = (0..header.len())
        .map(|i| {
            if i >= right_from {
                Align::Right
            } else {
                Align::Left
            }
        })
        .collect();
    Block::Table(Table {
        caption: caption.into(),
        header: header.iter().map(|s| s.to_string()).collect(),
        rows,
        align,
    })
}

fn figure(caption: &str, chart: Chart) -> Block {
    Block::Figure(Figure {
        caption: caption.into(),
        chart,
    })
}

fn para(parts: Vec<Inline>) -> Block {
    Block::Paragraph(parts)
}

/// Groups the period's busy hours into readable spans ("Senin–Jumat 08.00–12.00").
fn busy_spans(hours: &[usize]) -> Vec<String> {
    // Group by day, then merge consecutive hours.
    let mut by_day: Vec<Vec<(usize, usize)>> = vec![Vec::new(); 7];
    for &h in hours {
        let (d, hr) = (h / 24, h % 24);
        match by_day[d].last_mut() {
            Some(last) if last.1 == hr => last.1 = hr + 1,
            _ => by_day[d].push((hr, hr + 1)),
        }
    }
    // Days with identical spans are written together.
    // (days, their hour spans)
    type Group = (Vec<usize>, Vec<(usize, usize)>);
    let mut out: Vec<Group> = Vec::new();
    for (d, spans) in by_day.into_iter().enumerate() {
        if spans.is_empty() {
            continue;
        }
        match out.iter_mut().find(|(_, s)| *s == spans) {
            Some((days, _)) => days.push(d),
            None => out.push((vec![d], spans)),
        }
    }
    out.into_iter()
        .map(|(days, spans)| {
            let names = if days.len() > 2 && days.windows(2).all(|w| w[1] == w[0] + 1) {
                format!(
                    "{}–{}",
                    fmt::WEEKDAYS[days[0]],
                    fmt::WEEKDAYS[days[days.len() - 1]]
                )
            } else {
                days.iter()
                    .map(|d| fmt::WEEKDAYS[*d])
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let spans = spans
                .iter()
                .map(|(a, b)| format!("{a:02}.00–{b:02}.00"))
                .collect::<Vec<_>>()
                .join(" dan ");
            format!("{names} pukul {spans} WIB")
        })
        .collect()
}

fn summary_row(name: &str, s: Option<Summary>, f: &dyn Fn(f64) -> String) -> Vec<String> {
    vec![
        name.into(),
        opt(s.map(|s| s.mean), f),
        opt(s.map(|s| s.p50), f),
        opt(s.map(|s| s.p95), f),
        opt(s.map(|s| s.max), f),
    ]
}

/// The whole document.
pub fn build(s: &Subject<'_>, a: &Analysis, r: &Recommendation) -> Document {
    let ag = &s.topology.agreement;
    let link = s.link;
    let provider = link
        .provider
        .clone()
        .unwrap_or_else(|| "penyedia jaringan".into());
    let period = format!("{} s.d. {}", date(a.period.from), date(a.period.to));
    let pks = ag
        .pks_dukcapil
        .clone()
        .unwrap_or_else(|| "(nomor PKS)".into());
    let pks_opd = ag.pks_opd.clone();
    let contracted = a.contracted_bps;
    let apps: Vec<&str> = s
        .topology
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::App(_)))
        .map(|n| n.name.as_str())
        .collect();
    let mut b: Vec<Block> = Vec::new();

    // BAB I.
    b.push(Block::heading(1, "BAB I PENDAHULUAN"));
    b.push(Block::heading(2, "1.1 Latar Belakang"));
    b.push(Block::text(format!(
        "{} memanfaatkan data kependudukan melalui Web Portal Dinas Kependudukan dan Pencatatan Sipil Kabupaten Bandung untuk {}. Akses tersebut melewati jaringan komunikasi data dari titik akses Dukcapil di {} melalui {} dengan besaran bandwidth {} sesuai kontrak.",
        ag.opd, ag.purpose, ag.opd, provider, bitrate(contracted)
    )));
    b.push(Block::text(format!(
        "Perangkat pemantau jaringan (juknis) mengukur kualitas dan pemakaian tautan tersebut secara terus-menerus. Kajian ini menyajikan hasil pengukuran periode {period}, menganalisis kecukupan bandwidth saat ini dan proyeksinya {} bulan ke depan, serta memberikan rekomendasi besaran bandwidth sebagai lampiran surat permohonan perubahan bandwidth.",
        a.projection.horizon_months
    )));
    b.push(Block::heading(2, "1.2 Dasar"));
    let mut dasar = vec![format!(
        "Perjanjian Kerja Sama (PKS) tentang Pemanfaatan Data Kependudukan Nomor {pks}{}{}.",
        pks_opd
            .as_ref()
            .map_or(String::new(), |n| format!(" dan Nomor {n}")),
        ag.pks_date
            .as_ref()
            .and_then(|d| d.parse::<NaiveDate>().ok())
            .map_or(String::new(), |d| format!(" tanggal {}", date(d)))
    )];
    dasar.push("Petunjuk Teknis (Juknis) Web Portal Dinas Kependudukan dan Pencatatan Sipil Kabupaten Bandung, Bagian I.B tentang Penyedia Jaringan dan Bandwidth.".into());
    dasar.push("Juknis Web Portal Bagian I.C: OPD/Lembaga Pengguna bersurat perihal permohonan perubahan bandwidth dengan melampirkan dokumen kajian teknis terhadap perubahan besaran bandwidth.".into());
    b.push(Block::List {
        ordered: true,
        items: dasar.into_iter().map(|s| vec![Inline::Text(s)]).collect(),
    });
    b.push(Block::heading(2, "1.3 Maksud dan Tujuan"));
    b.push(Block::text("Maksud kajian ini adalah menyediakan dasar teknis yang terukur bagi permohonan perubahan (atau penetapan) besaran bandwidth. Tujuannya adalah memastikan layanan pencarian NIK berjalan dengan waktu tanggap yang baik pada jam kerja dengan biaya jaringan yang efisien."));

    // BAB II.
    b.push(Block::heading(1, "BAB II KONDISI SAAT INI"));
    let tiers_text = r
        .tier_table
        .iter()
        .map(|(t, _, _)| t.bandwidth.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let quota = match ag.quota {
        crate::topology::Quota::PerDay(n) => format!("{} hit NIK per hari", int(u64::from(n))),
        crate::topology::Quota::Unlimited => "tidak dibatasi".into(),
    };
    b.push(table(
        "Tabel 1. Kondisi jaringan komunikasi data saat ini",
        &["Uraian", "Keterangan"],
        vec![
            vec!["OPD/Lembaga Pengguna".into(), ag.opd.clone()],
            vec![
                "Tautan yang dikaji".into(),
                format!("{} ({} – {})", link.id, link.from, link.to),
            ],
            vec!["Penyedia jaringan".into(), provider.clone()],
            vec![
                "Bandwidth kontrak".into(),
                link.bandwidth.map_or("-".into(), |b| b.to_string()),
            ],
            vec![
                "Biaya per bulan".into(),
                r.current
                    .cost_per_month
                    .map_or("tidak dicantumkan".into(), |c| rupiah(c as i64)),
            ],
            vec!["Paket yang ditawarkan".into(), tiers_text],
            vec![
                "Aplikasi OPD yang mengakses".into(),
                if apps.is_empty() {
                    "-".into()
                } else {
                    format!("{} aplikasi: {}", apps.len(), apps.join(", "))
                },
            ],
            vec!["Kuota akses Web Portal".into(), quota],
            vec![
                "Titik ukur latensi".into(),
                format!("probe {}", s.selection.latency),
            ],
            vec![
                "Titik ukur bandwidth tersedia".into(),
                format!("probe {}", s.selection.bandwidth),
            ],
            vec!["Sumber data".into(), a.source.clone()],
        ],
        2,
    ));

    // BAB III.
    b.push(Block::heading(1, "BAB III HASIL PENGUKURAN"));
    let res = a
        .resolutions
        .iter()
        .map(|(s, n)| {
            format!(
                "{} titik data beresolusi {}",
                int(*n as u64),
                if *s >= 3600 {
                    "1 jam".to_string()
                } else {
                    format!("{} detik", s)
                }
            )
        })
        .collect::<Vec<_>>()
        .join(" dan ");
    b.push(Block::text(format!(
        "Pengukuran mencakup {} hari ({period}), {res}. Seluruh waktu dinyatakan dalam WIB. Utilisasi adalah lalu lintas arah yang lebih sibuk (unduh atau unggah) pada antarmuka tautan dibandingkan dengan bandwidth kontrak.",
        a.period.days()
    )));
    if a.planned_s > 0 {
        b.push(Block::text(format!(
            "Pemeliharaan terjadwal pada tautan ini selama periode: {} jam. Pekerjaan terencana bukan kinerja tautan, sehingga {} titik data yang bersinggungan dengan jendela pemeliharaan tidak dihitung dalam analisis.",
            fmt_hours(a.planned_s),
            int(a.planned_points as u64)
        )));
    }
    b.push(Block::heading(2, "3.1 Ringkasan"));
    let pct = |v: f64| percent(v);
    let ms = |v: f64| millis(v);
    let bw = |v: f64| bitrate(v);
    b.push(table(
        "Tabel 2. Ringkasan hasil pengukuran",
        &[
            "Besaran",
            "Rata-rata",
            "Persentil 50",
            "Persentil 95",
            "Maksimum",
        ],
        vec![
            summary_row("Utilisasi (terhadap kontrak)", a.util, &pct),
            summary_row("Lalu lintas unduh (rx)", a.rx_bps, &bw),
            summary_row("Lalu lintas unggah (tx)", a.tx_bps, &bw),
            summary_row("Bandwidth tersedia (estimasi)", a.available_bps, &bw),
            summary_row("Kapasitas diterima (estimasi)", a.delivered_bps, &bw),
            summary_row("RTT (median per pengukuran)", a.rtt_s, &ms),
            summary_row("Packet loss", a.loss, &pct),
            summary_row("Jitter", a.jitter_s, &ms),
        ],
        1,
    ));

    let xs: Vec<i64> = a.days.iter().map(|d| super::wib_midnight(d.date)).collect();
    let kbps = |v: Option<f64>| v.map(|v| v / 1000.0);
    let u = &a.bandwidth_undetermined;
    if u.rounds > 0 {
        // No document shows an available bandwidth that was not measured: say what is missing.
        b.push(Block::text(format!(
            "Dari {} pengukuran bandwidth tersedia pada periode ini, {} tidak menghasilkan angka \
             dan tidak dihitung dalam tabel maupun grafik ({}).{}",
            u.of,
            u.rounds,
            u.latest.as_deref().unwrap_or("tidak dapat ditentukan"),
            if a.available_bps.is_none() {
                " Karena itu bandwidth tersedia pada periode ini tidak dapat dinyatakan."
            } else {
                ""
            }
        )));
    }
    b.push(Block::heading(2, "3.2 Utilisasi dan Bandwidth Tersedia"));
    b.push(figure(
        "Gambar 1. Utilisasi harian dan bandwidth tersedia (Kbps) dengan garis kapasitas kontrak",
        Chart {
            kind: ChartKind::Line,
            x_label: "Tanggal".into(),
            y_label: "Kbps".into(),
            x: XAxis::Time(xs.clone()),
            series: vec![
                Series {
                    name: "Utilisasi persentil 95".into(),
                    values: a
                        .days
                        .iter()
                        .map(|d| d.util_p95.map(|u| u * contracted / 1000.0))
                        .collect(),
                },
                Series {
                    name: "Utilisasi rata-rata".into(),
                    values: a
                        .days
                        .iter()
                        .map(|d| d.util_mean.map(|u| u * contracted / 1000.0))
                        .collect(),
                },
                Series {
                    name: "Bandwidth tersedia (median)".into(),
                    values: a.days.iter().map(|d| kbps(d.available_p50_bps)).collect(),
                },
            ],
            rules: vec![(
                format!("Kontrak {}", bitrate(contracted)),
                contracted / 1000.0,
            )],
        },
    ));
    b.push(Block::heading(2, "3.3 Latensi dan Packet Loss"));
    b.push(figure(
        "Gambar 2. RTT harian (ms), median dan persentil 95",
        Chart {
            kind: ChartKind::Line,
            x_label: "Tanggal".into(),
            y_label: "ms".into(),
            x: XAxis::Time(xs.clone()),
            series: vec![
                Series {
                    name: "RTT median".into(),
                    values: a
                        .days
                        .iter()
                        .map(|d| d.rtt_p50_s.map(|v| v * 1000.0))
                        .collect(),
                },
                Series {
                    name: "RTT persentil 95".into(),
                    values: a
                        .days
                        .iter()
                        .map(|d| d.rtt_p95_s.map(|v| v * 1000.0))
                        .collect(),
                },
            ],
            rules: vec![(
                format!("Anggaran {}", millis(r.targets.rtt_p95_budget_s)),
                r.targets.rtt_p95_budget_s * 1000.0,
            )],
        },
    ));
    b.push(figure(
        "Gambar 3. Packet loss harian rata-rata (%)",
        Chart {
            kind: ChartKind::Bar,
            x_label: "Tanggal".into(),
            y_label: "%".into(),
            x: XAxis::Time(xs.clone()),
            series: vec![Series {
                name: "Packet loss".into(),
                values: a
                    .days
                    .iter()
                    .map(|d| d.loss_mean.map(|v| v * 100.0))
                    .collect(),
            }],
            rules: vec![(
                format!("Target {}", percent(r.targets.max_loss)),
                r.targets.max_loss * 100.0,
            )],
        },
    ));
    b.push(Block::heading(2, "3.4 Pola Jam dalam Sepekan"));
    let hours: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
    let heat = |v: &[Option<f64>], scale: f64| -> Vec<Series> {
        (0..7)
            .map(|d| Series {
                name: fmt::WEEKDAYS[d].into(),
                values: (0..24).map(|h| v[d * 24 + h].map(|x| x * scale)).collect(),
            })
            .collect()
    };
    b.push(figure(
        "Gambar 4. Utilisasi persentil 95 per jam dalam sepekan (% kontrak)",
        Chart {
            kind: ChartKind::Heatmap,
            x_label: "Jam (WIB)".into(),
            y_label: "Hari".into(),
            x: XAxis::Categories(hours.clone()),
            series: heat(&a.heat_util, 100.0),
            rules: vec![],
        },
    ));
    b.push(figure(
        "Gambar 5. RTT persentil 95 per jam dalam sepekan (ms)",
        Chart {
            kind: ChartKind::Heatmap,
            x_label: "Jam (WIB)".into(),
            y_label: "Hari".into(),
            x: XAxis::Categories(hours),
            series: heat(&a.heat_rtt, 1000.0),
            rules: vec![],
        },
    ));
    b.push(Block::heading(2, "3.5 Pencarian NIK"));
    if a.lookups.is_some() {
        b.push(figure(
            "Gambar 6. Jumlah pencarian NIK per hari",
            Chart {
                kind: ChartKind::Bar,
                x_label: "Tanggal".into(),
                y_label: "pencarian".into(),
                x: XAxis::Time(xs),
                series: vec![Series {
                    name: "Pencarian NIK".into(),
                    values: a.days.iter().map(|d| d.lookups.map(|n| n as f64)).collect(),
                }],
                rules: match ag.quota {
                    crate::topology::Quota::PerDay(n) => {
                        vec![("Kuota harian".into(), f64::from(n))]
                    }
                    crate::topology::Quota::Unlimited => vec![],
                },
            },
        ));
    } else {
        b.push(Block::text(
            "Tidak ada catatan jumlah pencarian NIK pada periode ini.",
        ));
    }
    b.push(monthly_table(a));

    // BAB IV.
    b.push(Block::heading(1, "BAB IV ANALISIS"));
    b.push(Block::heading(2, "4.1 Utilisasi dan Jam Sibuk"));
    let spans = busy_spans(&a.busy_hours);
    b.push(Block::text(format!(
        "Utilisasi rata-rata selama periode {} dengan persentil ke-95 {} dari kapasitas kontrak. Jam sibuk ditetapkan sebagai jam dalam sepekan dengan utilisasi persentil ke-95 di atas {} atau RTT persentil ke-95 naik sekurang-kurangnya dua kali median RTT periode.",
        opt(a.util.map(|u| u.mean), percent),
        opt(a.util.map(|u| u.p95), percent),
        percent(super::analysis::BUSY_UTILISATION)
    )));
    if spans.is_empty() {
        b.push(Block::text(
            "Tidak ditemukan jam sibuk menurut kriteria tersebut.",
        ));
    } else {
        b.push(Block::text("Jam sibuk yang teridentifikasi:"));
        b.push(Block::bullets(spans));
    }
    if let Some((h, u)) = a.busiest_hour {
        b.push(Block::text(format!(
            "Jam tersibuk pada {} hari terakhir periode adalah {} WIB dengan utilisasi persentil ke-95 {} ({}).",
            super::analysis::RECENT_DAYS.min(a.period.days()),
            hour_of_week_label(h),
            percent(u),
            bitrate(u * contracted)
        )));
    }
    if let Some(t) = a.util_trend {
        b.push(Block::text(format!(
            "Tren utilisasi harian persentil ke-95 (regresi kuadrat terkecil): {} per bulan.",
            signed_bitrate(t.per_month)
        )));
    }
    b.push(Block::heading(
        2,
        "4.2 Kualitas Jaringan dan Kapasitas yang Diterima",
    ));
    b.push(Block::text(format!(
        "RTT median {} dan persentil ke-95 {}{}; packet loss rata-rata {}; jitter median {}. Estimasi kapasitas yang diterima dari penyedia (bandwidth tersedia ditambah lalu lintas terukur pada saat yang sama) bernilai tengah {} atau {} dari kontrak.",
        opt(a.rtt_s.map(|r| r.p50), millis),
        opt(a.rtt_s.map(|r| r.p95), millis),
        a.rtt_trend.map_or(String::new(), |t| format!(
            " (tren {} per bulan)",
            signed(t.per_month * 1000.0, 1, " ms")
        )),
        opt(a.loss.map(|l| l.mean), percent),
        opt(a.jitter_s.map(|j| j.p50), millis),
        opt(a.delivered_bps.map(|d| d.p50), bitrate),
        opt(a.delivered_bps.map(|d| d.p50 / contracted.max(1.0)), percent),
    )));
    b.push(Block::heading(
        2,
        "4.3 Pencarian NIK dan Kebutuhan Bandwidth",
    ));
    let c = &a.cost;
    let asm = &c.assumptions;
    if let Some(l) = &a.lookups {
        b.push(Block::text(format!(
            "Selama {} hari tercatat {} pencarian NIK, rata-rata {} per hari dengan jumlah tertinggi {} pada {}{}.",
            int(l.days as u64),
            int(l.total),
            number(l.mean, 1),
            int(l.max),
            date(l.max_day),
            l.trend.map_or(String::new(), |t| format!(
                "; tren {} pencarian per hari setiap bulan",
                signed(t.per_month, 1, "")
            ))
        )));
    }
    b.push(Block::text(format!(
        "Satu pencarian NIK memakan sekitar {} bita di jaringan ({} bita ke arah OPD dan {} bita dari OPD). Angka ini diturunkan dari format pesan yang sebenarnya: badan permintaan JSON {} bita dan badan jawaban data ditemukan rata-rata {} bita (format simulator Web Portal juknis), ditambah asumsi berikut:",
        int(c.total() as u64),
        int(c.down as u64),
        int(c.up as u64),
        int(c.request_body as u64),
        int(c.answer_body as u64),
    )));
    b.push(Block::bullets([
        format!(
            "header HTTP/1.1 permintaan {} bita dan jawaban {} bita;",
            asm.request_headers, asm.response_headers
        ),
        format!(
            "setiap pencarian membuka koneksi TLS 1.3 baru (jabat tangan {} bita ke arah OPD dan {} bita dari OPD), karena pada beberapa ratus pencarian per hari koneksi sebelumnya telah ditutup;",
            int(asm.handshake_down as u64),
            int(asm.handshake_up as u64)
        ),
        format!(
            "overhead rekaman TLS {} bita, header TCP/IPv4 {} bita per segmen dengan MSS {} bita, dan {} segmen kendali (pembukaan, penutupan, ACK) per arah.",
            asm.tls_record,
            asm.tcp_ip,
            int(asm.mss as u64),
            asm.control_segments
        ),
    ]));
    if let Some(l) = &a.lookups {
        b.push(Block::text(format!(
            "Dengan rata-rata {} pencarian per hari, pencarian NIK memakan {} per hari, setara {} rata-rata selama 8 jam kerja. Pemakaian bandwidth tautan sebagian besar berasal dari lalu lintas aplikasi lain, sehingga pencarian NIK terutama menentukan kebutuhan pada saat lonjakan (beberapa aplikasi mencari bersamaan), bukan kebutuhan rata-rata.",
            number(l.mean, 1),
            bytes_text(l.bytes_per_day),
            bitrate(l.bytes_per_day * 8.0 / (8.0 * 3600.0))
        )));
    }

    // BAB V.
    b.push(Block::heading(1, "BAB V PROYEKSI KEBUTUHAN"));
    let p = &a.projection;
    let growth = match p.growth {
        Growth::Declared(g) => format!(
            "pertumbuhan {}% per tahun sebagaimana ditetapkan",
            number(g, 1)
        ),
        Growth::Measured => "tren terukur selama periode kajian (tanpa penurunan)".into(),
    };
    b.push(Block::text(format!(
        "Proyeksi untuk {} bulan ke depan menggunakan {}.",
        p.horizon_months, growth
    )));
    b.push(table(
        "Tabel 4. Proyeksi kebutuhan",
        &["Besaran", "Saat ini", "Proyeksi"],
        vec![
            vec![
                "Utilisasi jam tersibuk persentil 95".into(),
                bitrate(p.busy_p95_bps),
                bitrate(p.projected_busy_p95_bps),
            ],
            vec![
                "Faktor pertumbuhan utilisasi".into(),
                "1,00".into(),
                number(p.util_factor, 2),
            ],
            vec![
                "Pencarian NIK per hari (rata-rata)".into(),
                opt(a.lookups.as_ref().map(|l| l.mean), |v| number(v, 1)),
                opt(p.lookups_mean, |v| number(v, 1)),
            ],
            vec![
                "Pencarian NIK per hari (tertinggi)".into(),
                opt(a.lookups.as_ref().map(|l| l.max as f64), |v| number(v, 0)),
                opt(p.lookups_max, |v| number(v, 0)),
            ],
            vec![
                format!(
                    "Lonjakan: {} aplikasi × {} bita dalam {} detik",
                    p.apps,
                    int(a.cost.down as u64),
                    number(p.response_target_s, 0)
                ),
                bitrate(p.burst_bps),
                bitrate(p.burst_bps),
            ],
            vec![
                "Kapasitas minimum yang dibutuhkan".into(),
                "-".into(),
                bitrate(r.required_bps),
            ],
        ],
        1,
    ));

    // BAB VI.
    b.push(Block::heading(1, "BAB VI REKOMENDASI"));
    b.push(para(vec![Inline::Bold(r.sentence.clone())]));
    b.push(Block::text(format!(
        "Target yang digunakan: utilisasi jam tersibuk yang diproyeksikan paling tinggi {} dari kapasitas paket, packet loss di bawah {}, RTT persentil ke-95 paling tinggi {}, dan kapasitas yang diterima sekurang-kurangnya {} dari kontrak. Urutan penalaran:",
        percent(r.targets.max_busy_util),
        percent(r.targets.max_loss),
        millis(r.targets.rtt_p95_budget_s),
        percent(r.targets.min_delivered)
    )));
    b.push(Block::List {
        ordered: true,
        items: r
            .steps
            .iter()
            .map(|s| vec![Inline::Text(s.clone())])
            .collect(),
    });
    let base_cost = r.current.cost_per_month;
    let rows = r
        .tier_table
        .iter()
        .map(|(t, util, ok)| {
            let diff = match (t.cost_per_month, base_cost) {
                (Some(a), Some(b)) => Some(a as i64 - b as i64),
                _ => None,
            };
            let marker = if t.bandwidth.bps() as f64 == contracted {
                " (saat ini)"
            } else if r.needed.as_ref() == Some(t) {
                " (dibutuhkan)"
            } else {
                ""
            };
            vec![
                format!("{}{marker}", t.bandwidth),
                t.cost_per_month.map_or("-".into(), |c| rupiah(c as i64)),
                diff.map_or("-".into(), rupiah),
                diff.map_or("-".into(), |d| rupiah(d * 12)),
                percent(*util),
                if *ok { "Ya".into() } else { "Tidak".into() },
            ]
        })
        .collect();
    b.push(table(
        "Tabel 5. Perbandingan paket bandwidth yang ditawarkan",
        &[
            "Paket",
            "Biaya per bulan",
            "Selisih per bulan",
            "Selisih per tahun",
            "Utilisasi jam tersibuk (proyeksi)",
            "Memenuhi target",
        ],
        rows,
        1,
    ));
    if !r.notes.is_empty() {
        b.push(Block::text("Catatan:"));
        b.push(Block::bullets(r.notes.clone()));
    }

    // BAB VII.
    b.push(Block::heading(1, "BAB VII PENUTUP"));
    let closing = match &r.verdict {
        Verdict::Change(_) => {
            "Demikian kajian teknis ini disusun sebagai lampiran surat permohonan perubahan bandwidth kepada Dinas Kependudukan dan Pencatatan Sipil Kabupaten Bandung. Setelah permohonan disetujui, perubahan bandwidth dilaksanakan kepada penyedia jaringan (Juknis I.C.3), dan pengukuran dilanjutkan untuk memastikan hasilnya."
        }
        Verdict::Keep => {
            "Demikian kajian teknis ini disusun. Besaran bandwidth saat ini masih mencukupi; pengukuran dilanjutkan dan kajian diperbarui bila pola pemakaian berubah."
        }
        Verdict::ProviderShortfall { .. } => {
            "Demikian kajian teknis ini disusun. Langkah pertama adalah pemenuhan kapasitas sesuai kontrak oleh penyedia jaringan; kajian diperbarui setelah perbaikan."
        }
        Verdict::NoneSuffices => {
            "Demikian kajian teknis ini disusun. Diperlukan penawaran paket yang lebih besar sebelum permohonan perubahan bandwidth diajukan."
        }
    };
    b.push(Block::text(closing));
    b.push(Block::Signature {
        place_date: format!("{}, {}", place(s.topology), date(s.today)),
        role: format!("Tim Teknis {}", ag.opd),
        name: "(Nama Lengkap)".into(),
        id: "NIP. ....................".into(),
    });

    // Lampiran: the draft letter.
    b.push(Block::PageBreak);
    letter(&mut b, s, a, r, &pks);

    Document {
        title: TITLE.into(),
        subtitle: Some(ag.opd.clone()),
        cover: vec![
            ("OPD/Lembaga Pengguna".into(), ag.opd.clone()),
            (
                "Nomor PKS".into(),
                match &pks_opd {
                    Some(o) => format!("{pks} / {o}"),
                    None => pks.clone(),
                },
            ),
            ("Tautan".into(), format!("{} ({})", link.id, provider)),
            ("Periode pengukuran".into(), period),
            ("Tanggal penyusunan".into(), date(s.today)),
        ],
        blocks: b,
        footer: Some(format!("{TITLE} – {}", ag.opd)),
    }
}

fn place(t: &Topology) -> String {
    if t.agreement.opd.contains("Bandung") || t.agreement.dukcapil.contains("Bandung") {
        "Bandung".into()
    } else {
        "..........".into()
    }
}

fn signed(v: f64, decimals: usize, unit: &str) -> String {
    let s = number(v.abs(), decimals);
    if v < 0.0 {
        format!("-{s}{unit}")
    } else {
        format!("+{s}{unit}")
    }
}

fn signed_bitrate(bps: f64) -> String {
    if bps < 0.0 {
        format!("-{}", bitrate(-bps))
    } else {
        format!("+{}", bitrate(bps))
    }
}

fn bytes_text(bytes: f64) -> String {
    if bytes >= 1_000_000.0 {
        format!("{} MB", number(bytes / 1_000_000.0, 2))
    } else {
        format!("{} KB", number(bytes / 1_000.0, 1))
    }
}

/// One row per calendar month.
fn monthly_table(a: &Analysis) -> Block {
    let mut rows = Vec::new();
    let mut i = 0;
    while i < a.days.len() {
        let m = (a.days[i].date.year(), a.days[i].date.month());
        let j = a.days[i..]
            .iter()
            .position(|d| (d.date.year(), d.date.month()) != m)
            .map_or(a.days.len(), |k| i + k);
        let days = &a.days[i..j];
        let avg = |f: &dyn Fn(&super::analysis::Day) -> Option<f64>| {
            let v: Vec<f64> = days.iter().filter_map(f).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        let maxf = |f: &dyn Fn(&super::analysis::Day) -> Option<f64>| {
            days.iter()
                .filter_map(f)
                .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
        };
        let look: Vec<u64> = days.iter().filter_map(|d| d.lookups).collect();
        rows.push(vec![
            month_year(days[0].date),
            opt(avg(&|d| d.util_mean), percent),
            opt(maxf(&|d| d.util_p95), percent),
            opt(avg(&|d| d.available_p50_bps), bitrate),
            opt(maxf(&|d| d.rtt_p95_s), millis),
            opt(avg(&|d| d.loss_mean), percent),
            if look.is_empty() {
                "-".into()
            } else {
                number(look.iter().sum::<u64>() as f64 / look.len() as f64, 1)
            },
        ]);
        i = j;
    }
    table(
        "Tabel 3. Rekapitulasi bulanan",
        &[
            "Bulan",
            "Utilisasi rata-rata",
            "Utilisasi p95 harian tertinggi",
            "Bandwidth tersedia",
            "RTT p95 harian tertinggi",
            "Packet loss",
            "Pencarian NIK per hari",
        ],
        rows,
        1,
    )
}

/// Lampiran: the draft cover letter.
fn letter(b: &mut Vec<Block>, s: &Subject<'_>, a: &Analysis, r: &Recommendation, pks: &str) {
    let ag = &s.topology.agreement;
    b.push(Block::heading(
        1,
        "LAMPIRAN: DRAF SURAT PERMOHONAN PERUBAHAN BANDWIDTH",
    ));
    b.push(para(vec![Inline::Bold(format!(
        "[KOP SURAT {}]",
        ag.opd.to_uppercase()
    ))]));
    b.push(Block::text(format!(
        "{}, ....................",
        place(s.topology)
    )));
    let perihal = match &r.verdict {
        Verdict::Change(_) => "Permohonan Perubahan Bandwidth Jaringan Komunikasi Data",
        _ => "Penyampaian Kajian Teknis Bandwidth Jaringan Komunikasi Data",
    };
    for (k, v) in [
        ("Nomor", "....../....../....../...."),
        ("Sifat", "Biasa"),
        ("Lampiran", "1 (satu) berkas"),
        ("Perihal", perihal),
    ] {
        b.push(para(vec![
            Inline::Text(format!("{k}: ")),
            Inline::Text(v.into()),
        ]));
    }
    b.push(Block::text(format!("Yth. Kepala {}", ag.dukcapil)));
    b.push(Block::text("di"));
    b.push(Block::text("Tempat"));
    b.push(Block::text(format!(
        "Berdasarkan Perjanjian Kerja Sama Nomor {pks} tentang Pemanfaatan Data Kependudukan serta Petunjuk Teknis Web Portal Bagian I.C tentang prosedur perubahan besaran bandwidth, bersama ini kami sampaikan hasil kajian teknis terhadap jaringan komunikasi data {} dengan Dinas Kependudukan dan Pencatatan Sipil Kabupaten Bandung untuk periode pengukuran {} s.d. {}.",
        ag.opd,
        date(a.period.from),
        date(a.period.to)
    )));
    let ask = match &r.verdict {
        Verdict::Change(t) => format!(
            "Hasil kajian menunjukkan bahwa bandwidth saat ini sebesar {} tidak lagi mencukupi kebutuhan layanan (kebutuhan minimum {}). Sehubungan dengan hal tersebut, kami mengajukan permohonan perubahan besaran bandwidth menjadi {}{}. Kajian teknis selengkapnya kami lampirkan.",
            r.current.bandwidth,
            bitrate(r.required_bps),
            t.bandwidth,
            r.cost_diff_month.map_or(String::new(), |d| format!(
                ", dengan selisih biaya {} per bulan yang dibebankan sesuai ketentuan PKS",
                rupiah(d)
            ))
        ),
        _ => format!("{} Kajian teknis selengkapnya kami lampirkan.", r.sentence),
    };
    b.push(Block::text(ask));
    b.push(Block::text(
        "Demikian permohonan ini kami sampaikan. Atas perhatian dan kerja samanya, kami ucapkan terima kasih.",
    ));
    b.push(Block::Signature {
        place_date: format!("{}, ....................", place(s.topology)),
        role: format!("Kepala {}", ag.opd),
        name: "(Nama Lengkap)".into(),
        id: "NIP. ....................".into(),
    });
    b.push(Block::text("Tembusan:"));
    b.push(Block::List {
        ordered: true,
        items: vec![
            vec![Inline::Text(format!(
                "Kepala {};",
                s.topology
                    .zones
                    .iter()
                    .find(|z| z.kind == crate::topology::ZoneKind::Diskominfo)
                    .map_or("Diskominfo Kabupaten Bandung".into(), |z| z.name.clone())
            ))],
            vec![Inline::Text("Arsip.".into())],
        ],
    });
}

/// Hours with one decimal and a decimal comma: `2,5`.
fn fmt_hours(seconds: i64) -> String {
    format!("{:.1}", seconds as f64 / 3600.0).replace('.', ",")
}
