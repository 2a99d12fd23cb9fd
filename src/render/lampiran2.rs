//! Lampiran II: the flowchart of a Web Portal look-up at the OPD, from the operator's request
//! to the answer, through the appliance's checks and every answer the Juknis lists, and its
//! narrative in Bahasa Indonesia ("Narasikan alur diagramnya"), set under the chart.

use std::fmt::Write;

use super::dot::{html, quote, wrap};
use crate::topology::{Element, NodeKind, Quota, ServiceKind, Topology};

const FONT: &str = "DejaVu Sans";

/// The Juknis' answers without data (II.C.2.b), in its words.
const NO_DATA: [&str; 5] = [
    "Data Ditemukan, Meninggal Dunia",
    "Data Ditemukan, Data Ganda",
    "Data tidak ditemukan, NIK tidak terdapat di database kependudukan",
    "Data Ditemukan, Status Non Aktif silahkan hubungi Dinas Dukcapil",
    "Data tidak ditemukan, NIK tidak sesuai format Dukcapil",
];

/// The answers to the OPD's parameter check (II.C.2.b.3).
const PARAM: [&str; 4] = [
    "Gagal Login",
    "Kuota akses hari ini telah habis",
    "Instansi tidak aktif",
    "User ID non aktif, silahkan menghubungi Admin",
];

struct Facts {
    opd: String,
    portal: String,
    lan_ip: String,
    quota: String,
    elements: String,
    apps: String,
    wan: String,
    /// Each alternate route of the Web Portal path, in order, described.
    backup: Vec<String>,
}

/// "Provider (512 Kbps), ..." for the contracted links among `links`.
fn contracted<'a>(links: impl Iterator<Item = &'a crate::topology::Link>) -> String {
    links
        .filter_map(|l| {
            let b = l.bandwidth?;
            Some(match &l.provider {
                Some(p) => format!("{p} ({b})"),
                None => b.to_string(),
            })
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn facts(t: &Topology) -> Facts {
    let portal = t
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::Service(ServiceKind::WebPortal))
        .map(|n| match n.address {
            Some(ip) => format!("{} ({ip})", n.name),
            None => n.name.clone(),
        })
        .unwrap_or_else(|| "Web Portal".to_string());
    let lan_ip = t
        .nodes
        .iter()
        .find(|n| n.kind == NodeKind::AccessPoint)
        .and_then(|n| n.address)
        .map(|ip| format!("titik akses Dukcapil dengan IP LAN {ip}"))
        .unwrap_or_else(|| "titik akses Dukcapil".to_string());
    let quota = match t.agreement.quota {
        Quota::PerDay(n) => format!("{n} hit NIK per hari"),
        Quota::Unlimited => "tanpa batas kuota (PoC telah selesai)".to_string(),
    };
    let elements = t
        .agreement
        .elements
        .iter()
        .map(|e| e.label())
        .collect::<Vec<_>>()
        .join(", ");
    let apps: Vec<String> = t
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::App(_)))
        .map(|n| n.name.clone())
        .collect();
    let portal_path = t.paths.iter().find(|p| {
        t.node(&p.service)
            .is_some_and(|n| n.kind == NodeKind::Service(ServiceKind::WebPortal))
    });
    // The primary's contracted links; without a Web Portal path, every contracted link.
    let wan = match portal_path.and_then(|p| p.routes.first()) {
        Some(r) => contracted(r.links.iter().filter_map(|l| t.link(l))),
        None => contracted(t.contracted_links()),
    };
    let backup: Vec<String> = portal_path
        .map(|p| p.routes.iter().skip(1).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|r| {
            let via = contracted(r.links.iter().filter_map(|l| t.link(l)));
            let via = if via.is_empty() {
                r.hops
                    .iter()
                    .filter_map(|h| t.node(h))
                    .map(|n| n.name.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                via
            };
            match r.egress.describe_id() {
                d if d.is_empty() => via,
                d => format!("{via} ({d})"),
            }
        })
        .collect();
    Facts {
        opd: t.agreement.opd.clone(),
        portal,
        lan_ip,
        quota,
        elements,
        apps: if apps.is_empty() {
            "aplikasi OPD".to_string()
        } else {
            apps.join(", ")
        },
        wan: if wan.is_empty() {
            "jaringan komunikasi data".to_string()
        } else {
            wan
        },
        backup,
    }
}

/// The narrative of the flowchart, one numbered paragraph per step.
pub fn narrative(t: &Topology) -> Vec<String> {
    let f = facts(t);
    let n_elements = t.agreement.elements.len();
    let nine = if t.agreement.elements == Element::NINE {
        " (sembilan elemen sesuai PKS)"
    } else {
        ""
    };
    [format!(
            "Operator {} yang telah menandatangani NDA, atau aplikasi OPD ({}), mengajukan permintaan \
             pengecekan data kependudukan dengan memasukkan NIK dan tujuan pemanfaatan sesuai PKS.",
            f.opd, f.apps
        ),
    ]
    .into_iter()
    .chain(crate::flow::DECISIONS.iter().map(|d| decision_words(t, &f, d.id)))
    .chain([
        format!(
            "Permintaan dikirim ke {}. Bila data ditemukan, ditampilkan {} elemen data{}: {}. Data tersebut \
             hanya ditampilkan dan tidak disimpan (Zero Storage, Zero Sharing).",
            f.portal, n_elements, nine, f.elements
        ),
        format!(
            "Bila data tidak ditampilkan, pemohon menerima konfirmasi sesuai Juknis: {}; atau konfirmasi \
             parameter OPD: {}.",
            NO_DATA.join("; "),
            PARAM.join("; ")
        ),
        "Setiap akses dicatat dalam log audit yang tidak dapat diubah tanpa terdeteksi: siapa, kapan, \
         tujuan, kode tujuan PKS, pengguna akhir aplikasi, status jawaban, dan NIK dalam bentuk \
         tersandi (HMAC), tanpa data kependudukan."
            .to_string(),
    ])
    .collect()
}

/// The narrative paragraph of one of the gate's decisions ([`crate::flow::DECISIONS`]).
fn decision_words(t: &Topology, f: &Facts, id: &str) -> String {
    let a = &t.agreement;
    match id {
        "auth" => {
            "Appliance juknis memeriksa identitas pemohon: operator masuk dengan akun pribadi, \
                   aplikasi dengan token API masing-masing yang terdaftar sebagai aplikasi pada \
                   Lampiran I. Permintaan tanpa identitas yang sah ditolak dan tidak diteruskan."
                .to_string()
        }
        "nik" => "NIK diperiksa secara lokal: 16 digit, kode wilayah Kemendagri yang berlaku, dan \
                  tanggal lahir yang sah (tanggal ditambah 40 untuk perempuan). NIK yang tidak \
                  mungkin benar ditolak tanpa menggunakan kuota."
            .to_string(),
        "purpose" => format!(
            "Tujuan pemanfaatan harus salah satu yang tercantum dalam PKS ({}){}.",
            a.purposes
                .iter()
                .map(|p| format!("{}: {}", p.code, p.text))
                .collect::<Vec<_>>()
                .join("; "),
            if a.end_user_required {
                "; aplikasi wajib menyebut pengguna akhir setiap permintaan (Juknis II.A.2)"
            } else {
                ""
            }
        ),
        "agreement" => match a.end {
            Some(e) => format!(
                "Masa berlaku PKS diperiksa (berakhir {e}); setelah PKS berakhir permintaan ditolak \
                 sampai perpanjangan (Juknis VI.F)."
            ),
            None => "Masa berlaku PKS diperiksa; setelah PKS berakhir permintaan ditolak sampai \
                     perpanjangan (Juknis VI.F)."
                .to_string(),
        },
        "poc" => match a.before_poc {
            crate::topology::BeforePoc::Sandbox => "Aplikasi yang belum lulus Proof of Concept \
                hanya mengakses sandbox; permintaannya ke produksi ditolak (Juknis II.D)."
                .to_string(),
            crate::topology::BeforePoc::Quota => "Aplikasi yang belum lulus Proof of Concept \
                mengakses dalam batas kuota PoC (Juknis II.B.1, II.D)."
                .to_string(),
        },
        "pattern" => "Permintaan yang berurutan, berpola, atau berdekatan waktunya ditolak sesuai \
                      Juknis II.E.1, baik per pemohon maupun untuk seluruh User ID (gabungan semua \
                      aplikasi dan operator)."
            .to_string(),
        "health" => format!(
            "Kesehatan jalur diperiksa dari hasil pemantauan: dari jaringan OPD melalui {} dan {} ke {}{}. \
             Bila {}terputus, permintaan tidak dikirim dan kuota tidak terpakai.",
            f.lan_ip,
            f.wan,
            f.portal,
            f.backup
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let which = if f.backup.len() > 1 {
                        format!(" ke-{}", i + 1)
                    } else {
                        String::new()
                    };
                    if i == 0 {
                        format!("; bila jalur utama terputus, melalui jalur cadangan{which} {b}")
                    } else {
                        format!("; bila jalur itu juga terputus, melalui jalur cadangan{which} {b}")
                    }
                })
                .collect::<String>(),
            if f.backup.is_empty() {
                "jalur "
            } else {
                "semua jalur "
            }
        ),
        "quota" => format!(
            "Kuota harian diperiksa ({}, dihitung per hari WIB). Bila kuota habis, permintaan \
             ditolak dengan pesan \"Kuota akses hari ini telah habis\".",
            f.quota
        ),
        other => format!("Pemeriksaan {other}."),
    }
}

fn step(out: &mut String, id: &str, text: &str, shape: &str, fill: &str) {
    let lines = wrap(text, 34)
        .iter()
        .map(|l| html(l))
        .collect::<Vec<_>>()
        .join("<BR/>");
    let _ = writeln!(
        out,
        "  {id} [shape={shape}, fillcolor={}, label=<{lines}>];",
        quote(fill)
    );
}

/// The DOT text of Lampiran II, with the narrative under the chart.
pub fn dot(t: &Topology) -> String {
    let f = facts(t);
    let mut out = String::new();
    let _ = writeln!(out, "digraph lampiran2 {{");
    let _ = writeln!(
        out,
        "  graph [rankdir=TB, fontname={font}, labelloc=t, label=<<FONT POINT-SIZE=\"18\"><B>Lampiran II. Flowchart Alur Layanan {opd} melalui Web Portal</B></FONT><BR/> >, nodesep=0.3, ranksep=0.35, pad=0.4, bgcolor=white];",
        font = quote(FONT),
        opd = html(&f.opd)
    );
    let _ = writeln!(
        out,
        "  node [fontname={}, fontsize=10, style=\"filled\", penwidth=1.2];",
        quote(FONT)
    );
    let _ = writeln!(
        out,
        "  edge [fontname={}, fontsize=9, color=\"#444444\"];",
        quote(FONT)
    );

    const STEP: &str = "#DCE8F5";
    const CHECK: &str = "#FFF3C4";
    const BAD: &str = "#F6D5D5";
    const GOOD: &str = "#D7EFD9";
    step(
        &mut out,
        "start",
        "Mulai: operator atau aplikasi OPD memasukkan NIK dan tujuan",
        "oval",
        STEP,
    );
    // The checks, in the order the gate takes them.
    for d in crate::flow::DECISIONS {
        let label = if d.id == "quota" {
            format!("{} ({})", d.question, f.quota)
        } else {
            d.question.to_owned()
        };
        step(&mut out, d.id, &label, "diamond", CHECK);
    }
    step(
        &mut out,
        "send",
        &format!("Kirim permintaan ke {} melalui {}", f.portal, f.wan),
        "box",
        STEP,
    );
    step(&mut out, "answer", "Jawaban Web Portal", "diamond", CHECK);
    step(
        &mut out,
        "found",
        &format!(
            "Data ditemukan: tampilkan {} elemen data, tanpa disimpan",
            t.agreement.elements.len()
        ),
        "box",
        GOOD,
    );
    let no_data = NO_DATA.iter().map(|m| format!("• {m}")).collect::<Vec<_>>();
    let param = PARAM.iter().map(|m| format!("• {m}")).collect::<Vec<_>>();
    let _ = writeln!(
        out,
        "  nodata [shape=box, fillcolor={}, label=<<B>Tanpa data (konfirmasi):</B><BR ALIGN=\"LEFT\"/>{}<BR ALIGN=\"LEFT\"/>>];",
        quote(BAD),
        no_data
            .iter()
            .map(|l| html(l))
            .collect::<Vec<_>>()
            .join("<BR ALIGN=\"LEFT\"/>")
    );
    let _ = writeln!(
        out,
        "  param [shape=box, fillcolor={}, label=<<B>Pengecekan parameter OPD:</B><BR ALIGN=\"LEFT\"/>{}<BR ALIGN=\"LEFT\"/>>];",
        quote(BAD),
        param
            .iter()
            .map(|l| html(l))
            .collect::<Vec<_>>()
            .join("<BR ALIGN=\"LEFT\"/>")
    );
    step(
        &mut out,
        "refuse",
        "Ditolak oleh appliance: permintaan tidak dikirim, kuota tidak terpakai",
        "box",
        BAD,
    );
    step(
        &mut out,
        "audit",
        "Catat log audit (HMAC NIK, operator, waktu, tujuan, status)",
        "box",
        STEP,
    );
    step(&mut out, "end", "Selesai", "oval", STEP);

    let ids: Vec<&str> = crate::flow::DECISIONS.iter().map(|d| d.id).collect();
    let _ = writeln!(
        out,
        "  start -> {};",
        ids.first().copied().unwrap_or("send")
    );
    for (n, from) in ids.iter().enumerate() {
        let to = ids.get(n + 1).copied().unwrap_or("send");
        let _ = writeln!(out, "  {from} -> {to} [label=\" Ya\"];");
    }
    for from in &ids {
        let _ = writeln!(
            out,
            "  {from} -> refuse [label=\" Tidak\", color=\"#B23B3B\", fontcolor=\"#B23B3B\"];"
        );
    }
    let _ = writeln!(out, "  {{ rank=same; nik; refuse; }}");
    let _ = writeln!(out, "  send -> answer;");
    let _ = writeln!(out, "  answer -> found [label=\" Ditemukan\"];");
    let _ = writeln!(out, "  answer -> nodata [label=\" Tanpa data\"];");
    let _ = writeln!(out, "  answer -> param [label=\" Parameter\"];");
    for from in ["found", "nodata", "param", "refuse"] {
        let _ = writeln!(out, "  {from} -> audit;");
    }
    let _ = writeln!(out, "  audit -> end;");

    // The narrative, under the chart.
    let mut rows = String::from("<TR><TD ALIGN=\"LEFT\"><B>Narasi alur diagram</B></TD></TR>");
    for (i, p) in narrative(t).iter().enumerate() {
        let lines = wrap(&format!("{}. {p}", i + 1), 110);
        let _ = write!(
            rows,
            "<TR><TD ALIGN=\"LEFT\" BALIGN=\"LEFT\">{}</TD></TR>",
            lines
                .iter()
                .map(|l| html(l))
                .collect::<Vec<_>>()
                .join("<BR/>")
        );
    }
    let _ = writeln!(
        out,
        "  narasi [shape=plaintext, style=\"\", fontsize=10, label=<<TABLE BORDER=\"1\" CELLBORDER=\"0\" CELLPADDING=\"4\" COLOR=\"#888888\">{rows}</TABLE>>];"
    );
    let _ = writeln!(
        out,
        "  paraf [shape=plaintext, style=\"\", label=<<TABLE BORDER=\"0\" CELLSPACING=\"10\"><TR>\
         <TD BORDER=\"1\" WIDTH=\"150\" HEIGHT=\"60\" VALIGN=\"TOP\">Paraf Disdukcapil:</TD>\
         <TD BORDER=\"1\" WIDTH=\"150\" HEIGHT=\"60\" VALIGN=\"TOP\">Paraf OPD:</TD></TR></TABLE>>];"
    );
    let _ = writeln!(out, "  end -> narasi [style=invis];");
    let _ = writeln!(out, "  narasi -> paraf [style=invis];");
    let _ = writeln!(out, "}}");
    out
}
