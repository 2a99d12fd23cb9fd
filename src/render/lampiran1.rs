//! Lampiran I: the network topology, one cluster per zone from left to right (OPD,
//! Diskominfo, Disdukcapil, Ditjen), links labelled with provider and bandwidth, a title,
//! a legend, and the "Paraf Disdukcapil / Paraf OPD" boxes of the attachment.

use std::fmt::Write;

use super::dot::{html, quote};
use crate::topology::{LinkId, Node, NodeKind, Platform, ServiceKind, Topology, ZoneKind};

const FONT: &str = "DejaVu Sans";

/// Style of a zone's cluster: part label, fill and border colours.
fn zone_style(kind: ZoneKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        ZoneKind::Opd => ("Bagian OPD", "#EEF4FB", "#2F5D8C"),
        ZoneKind::Diskominfo => ("Bagian Diskominfo", "#F3F0FA", "#5B4B8A"),
        ZoneKind::Disdukcapil => ("Bagian Disdukcapil", "#EEF7EF", "#2E7D32"),
        ZoneKind::Ditjen => ("Bagian Ditjen Dukcapil", "#FBF3EA", "#A0522D"),
    }
}

/// Indonesian label, shape and fill of a node kind.
fn kind_style(kind: NodeKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        NodeKind::AccessPoint => ("Titik Akses Dukcapil", "box", "#FFE7A3"),
        NodeKind::Router => ("Router", "box", "#DCE8F5"),
        NodeKind::Switch => ("Switch", "box", "#DCE8F5"),
        NodeKind::Firewall => ("Firewall", "box", "#F6D5D5"),
        NodeKind::Server => ("Server", "box3d", "#FFFFFF"),
        NodeKind::App(Platform::Web) => ("Aplikasi Web", "component", "#FFF8E1"),
        NodeKind::App(Platform::Mobile) => ("Aplikasi Mobile", "component", "#FDEBD3"),
        NodeKind::App(Platform::Desktop) => ("Aplikasi Desktop", "component", "#FFF8E1"),
        NodeKind::CardReader => ("Card Reader KTP-el", "box", "#FFFFFF"),
        NodeKind::Service(ServiceKind::WebPortal) => ("Layanan Web Portal", "cylinder", "#D7EFD9"),
        NodeKind::Service(ServiceKind::DataBalikan) => {
            ("Layanan Data Balikan", "cylinder", "#D7EFD9")
        }
        NodeKind::Service(ServiceKind::Other) => ("Layanan", "cylinder", "#D7EFD9"),
        NodeKind::Client => ("Komputer Operator", "box", "#FFFFFF"),
    }
}

fn node_label(n: &Node) -> String {
    let (kind, _, _) = kind_style(n.kind);
    let mut label = format!(
        "<<FONT POINT-SIZE=\"11\"><B>{}</B></FONT><BR/><FONT POINT-SIZE=\"9\" COLOR=\"#555555\">{}</FONT>",
        html(&n.name),
        html(kind)
    );
    if let Some(ip) = n.address {
        let _ = write!(
            label,
            "<BR/><FONT POINT-SIZE=\"10\"><B>IP {}</B></FONT>",
            html(&ip.to_string())
        );
    }
    label.push('>');
    label
}

/// The DOT text of Lampiran I. The same topology always gives the same text.
pub fn dot(t: &Topology) -> String {
    let mut out = String::new();
    let title = format!(
        "<<FONT POINT-SIZE=\"18\"><B>Lampiran I. {}</B></FONT><BR/><FONT POINT-SIZE=\"11\">{}</FONT><BR/> >",
        html(&t.title),
        html(&format!(
            "{} — {} (PKS {})",
            t.agreement.opd,
            t.agreement.dukcapil,
            t.agreement.pks_dukcapil.as_deref().unwrap_or("-")
        ))
    );
    let _ = writeln!(out, "digraph lampiran1 {{");
    let _ = writeln!(
        out,
        "  graph [rankdir=LR, newrank=true, fontname={f}, label={title}, labelloc=t, labeljust=c, nodesep=0.35, ranksep=0.7, pad=0.4, compound=true, bgcolor=white];",
        f = quote(FONT)
    );
    let _ = writeln!(
        out,
        "  node [fontname={f}, style=\"filled\", penwidth=1.2, margin=\"0.15,0.07\"];",
        f = quote(FONT)
    );
    let _ = writeln!(
        out,
        "  edge [fontname={f}, fontsize=9, dir=none, penwidth=1.4, color=\"#444444\"];",
        f = quote(FONT)
    );

    // The page: zones inside, legend and paraf boxes as its label, under the zones.
    let _ = writeln!(
        out,
        "  subgraph cluster_page {{\n    label={}; labelloc=b; labeljust=r; color=white; fontsize=10; margin=20;",
        footer(t)
    );
    for z in &t.zones {
        let (part, fill, border) = zone_style(z.kind);
        let _ = writeln!(out, "  subgraph {} {{", quote(&format!("cluster_{}", z.id)));
        let _ = writeln!(
            out,
            "    label=<<B>{}</B><BR/><FONT POINT-SIZE=\"10\">{}</FONT>>; fontsize=13; labelloc=t; labeljust=c; style=\"rounded,filled\"; fillcolor={}; color={}; penwidth=1.6; margin=14;",
            html(part),
            html(&z.name),
            quote(fill),
            quote(border)
        );
        for n in t.nodes_in(&z.id) {
            let (_, shape, fill) = kind_style(n.kind);
            let _ = writeln!(
                out,
                "    {} [label={}, shape={shape}, fillcolor={}];",
                quote(n.id.as_str()),
                node_label(n),
                quote(fill)
            );
        }
        let _ = writeln!(out, "  }}");
    }
    let _ = writeln!(out, "  }}");

    let backup = backup_links(t);
    for l in &t.links {
        let mut parts = Vec::new();
        if let Some(p) = &l.provider {
            parts.push(html(p));
        }
        if let Some(b) = l.bandwidth {
            parts.push(format!("<B>{}</B>", html(&b.to_string())));
        }
        if let Some(net) = l.network {
            parts.push(html(&net.to_string()));
        }
        let wan = l.bandwidth.is_some();
        let style = match (wan, backup.contains(&&l.id)) {
            (true, false) => ", penwidth=2.6, color=\"#2F5D8C\"",
            (true, true) => ", penwidth=2.6, color=\"#2F5D8C\", style=dashed",
            (false, true) => ", style=dashed",
            (false, false) => "",
        };
        if parts.is_empty() {
            let _ = writeln!(
                out,
                "  {} -> {} [id={}{style}];",
                quote(l.from.as_str()),
                quote(l.to.as_str()),
                quote(l.id.as_str())
            );
        } else {
            let _ = writeln!(
                out,
                "  {} -> {} [id={}, label=<{}>{style}];",
                quote(l.from.as_str()),
                quote(l.to.as_str()),
                quote(l.id.as_str()),
                parts.join("<BR/>")
            );
        }
    }

    let _ = writeln!(out, "}}");
    out
}

/// The links only alternate routes cross (no primary route uses them): the backup, drawn
/// dashed.
fn backup_links(t: &Topology) -> Vec<&LinkId> {
    let primary: Vec<&LinkId> = t
        .paths
        .iter()
        .filter_map(|p| p.routes.first())
        .filter(|r| r.is_primary())
        .flat_map(|r| &r.links)
        .collect();
    let mut out: Vec<&LinkId> = Vec::new();
    for r in t
        .paths
        .iter()
        .flat_map(|p| &p.routes)
        .filter(|r| !r.is_primary())
    {
        for l in &r.links {
            if !primary.contains(&l) && !out.contains(&l) {
                out.push(l);
            }
        }
    }
    out
}

/// The legend (node kinds that appear, and the two kinds of link) and the paraf boxes, as one
/// HTML table set under the zones as the label of the page cluster.
/// The Juknis' own note under Lampiran I's topology.
pub const ACCESS_METHOD_NOTE: &str =
    "Catatan: untuk metode akses disesuaikan dengan Izin Hak Akses dari Ditjen Dukcapil";

fn footer(t: &Topology) -> String {
    let mut kinds: Vec<NodeKind> = Vec::new();
    for n in &t.nodes {
        if !kinds.contains(&n.kind) {
            kinds.push(n.kind);
        }
    }
    let mut cells: Vec<String> = kinds
        .iter()
        .map(|k| {
            let (label, _, fill) = kind_style(*k);
            format!(
                "<TD BGCOLOR=\"{fill}\" BORDER=\"1\" COLOR=\"#555555\" WIDTH=\"18\"> </TD><TD ALIGN=\"LEFT\">{}</TD>",
                html(label)
            )
        })
        .collect();
    cells.push(
        "<TD><FONT COLOR=\"#2F5D8C\"><B>━━</B></FONT></TD><TD ALIGN=\"LEFT\">Jaringan komunikasi data (bandwidth kontrak)</TD>"
            .to_string(),
    );
    cells.push("<TD>──</TD><TD ALIGN=\"LEFT\">Koneksi LAN / internal</TD>".to_string());
    if !backup_links(t).is_empty() {
        cells.push(
            "<TD>╌╌</TD><TD ALIGN=\"LEFT\">Jalur cadangan (dipakai bila jalur utama terputus)</TD>"
                .to_string(),
        );
    }
    let rows: String = cells
        .chunks(4)
        .map(|row| format!("<TR>{}</TR>", row.concat()))
        .collect();
    format!(
        "<<TABLE BORDER=\"0\" CELLSPACING=\"0\"><TR>\
         <TD VALIGN=\"TOP\"><TABLE BORDER=\"1\" CELLBORDER=\"0\" CELLSPACING=\"4\" CELLPADDING=\"2\" COLOR=\"#888888\">\
         <TR><TD COLSPAN=\"8\" ALIGN=\"LEFT\"><B>Keterangan</B></TD></TR>{rows}\
         <TR><TD COLSPAN=\"8\" ALIGN=\"LEFT\"><I>{note}</I></TD></TR></TABLE></TD>\
         <TD WIDTH=\"40\"> </TD>\
         <TD VALIGN=\"TOP\"><TABLE BORDER=\"0\" CELLSPACING=\"8\"><TR>\
         <TD BORDER=\"1\" COLOR=\"#333333\" WIDTH=\"170\" HEIGHT=\"70\" VALIGN=\"TOP\" ALIGN=\"LEFT\">Paraf Disdukcapil:</TD>\
         <TD BORDER=\"1\" COLOR=\"#333333\" WIDTH=\"170\" HEIGHT=\"70\" VALIGN=\"TOP\" ALIGN=\"LEFT\">Paraf OPD:</TD>\
         </TR></TABLE></TD></TR></TABLE>>",
        note = html(ACCESS_METHOD_NOTE)
    )
}
