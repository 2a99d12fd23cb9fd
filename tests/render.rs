//! Lampiran I and II: the DOT text is pinned by snapshots, parses as DOT, shows what the Juknis
//! asks in the right place, and renders to the same bytes every time.

use std::path::PathBuf;

use juknis::render::{self, Format, lampiran1, lampiran2};
use juknis::topology::{self, Topology};

fn load(name: &str) -> Topology {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("topology")
        .join(name);
    topology::load(&path).expect("shipped topology loads")
}

#[test]
fn lampiran1_dot_snapshots() {
    insta::assert_snapshot!("lampiran1_bandung", lampiran1::dot(&load("bandung.yaml")));
    insta::assert_snapshot!("lampiran1_demo", lampiran1::dot(&load("demo.yaml")));
}

#[test]
fn lampiran2_dot_snapshots() {
    insta::assert_snapshot!("lampiran2_bandung", lampiran2::dot(&load("bandung.yaml")));
}

/// Graphviz itself is the judge of DOT: it must accept the text without a single warning.
#[test]
fn dot_accepts_the_text_without_warnings() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    for name in ["bandung.yaml", "demo.yaml"] {
        let t = load(name);
        for dot in [lampiran1::dot(&t), lampiran2::dot(&t)] {
            let mut child = Command::new("dot")
                .arg("-Tsvg")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("graphviz is installed");
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(dot.as_bytes())
                .expect("write");
            let out = child.wait_with_output().expect("dot runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && stderr.trim().is_empty(),
                "{name}: {stderr}"
            );
        }
    }
}

/// The text inside the DOT cluster of one zone.
fn cluster<'a>(dot: &'a str, zone: &str) -> &'a str {
    let start = dot
        .find(&format!("subgraph \"cluster_{zone}\""))
        .expect("cluster");
    let end = dot[start..].find("\n  }").expect("cluster end") + start;
    &dot[start..end]
}

#[test]
fn lampiran1_puts_each_required_item_in_its_part() {
    let dot = lampiran1::dot(&load("bandung.yaml"));
    let opd = cluster(&dot, "opd");
    assert!(opd.contains("IP 10.32.4.100"), "LAN IP in the OPD part");
    for app in [
        "SIKS-NG",
        "Aplikasi Verifikasi Bansos",
        "Aplikasi Mobile Pendamping PKH",
    ] {
        assert!(opd.contains(app), "{app} in the OPD part");
    }
    assert!(cluster(&dot, "diskominfo").contains("IP 10.32.0.1"));
    let dukcapil = cluster(&dot, "disdukcapil");
    assert!(dukcapil.contains("Web Portal") && dukcapil.contains("IP 172.16.160.177"));
    assert!(
        dot.contains("<B>512 Kbps</B>"),
        "link labelled with its bandwidth"
    );
    assert!(dot.contains("Paraf Disdukcapil:") && dot.contains("Paraf OPD:"));
    assert!(dot.contains("Keterangan"), "legend");
    // Zones left to right in the Juknis' order.
    let pos = |z: &str| dot.find(&format!("cluster_{z}")).expect("zone");
    assert!(
        pos("opd") < pos("diskominfo")
            && pos("diskominfo") < pos("disdukcapil")
            && pos("disdukcapil") < pos("ditjen")
    );
}

#[test]
fn lampiran2_narrates_every_juknis_answer() {
    let t = load("bandung.yaml");
    let text = lampiran2::narrative(&t).join("\n");
    for answer in [
        "Data Ditemukan, Meninggal Dunia",
        "Data Ditemukan, Data Ganda",
        "Data tidak ditemukan, NIK tidak terdapat di database kependudukan",
        "Data Ditemukan, Status Non Aktif silahkan hubungi Dinas Dukcapil",
        "Data tidak ditemukan, NIK tidak sesuai format Dukcapil",
        "Gagal Login",
        "Kuota akses hari ini telah habis",
        "Instansi tidak aktif",
        "User ID non aktif, silahkan menghubungi Admin",
        "172.16.160.177",
        "200 hit NIK per hari",
    ] {
        assert!(text.contains(answer), "narrative lacks `{answer}`");
    }
    assert!(
        lampiran2::dot(&t).contains("Narasi alur diagram"),
        "narrative under the chart"
    );
}

/// Lampiran II's checks come in the order the gate takes them ([`juknis::gate::DECISIONS`],
/// which tests/gate_rules.rs shows the gate follows): the chart's "Ya" chain and the
/// narrative's paragraphs both. Health comes before the quota.
#[test]
fn lampiran2_draws_the_gate_decisions_in_the_gate_order() {
    let t = load("bandung.yaml");
    let dot = lampiran2::dot(&t);
    let ids: Vec<&str> = juknis::gate::DECISIONS.iter().map(|d| d.id).collect();
    let mut chain = vec!["start"];
    chain.extend(&ids);
    chain.push("send");
    let mut at = 0;
    for pair in chain.windows(2) {
        let edge = if pair[0] == "start" {
            format!("  start -> {};", pair[1])
        } else {
            format!("  {} -> {} [label=\" Ya\"];", pair[0], pair[1])
        };
        let found = dot[at..]
            .find(&edge)
            .unwrap_or_else(|| panic!("`{edge}` missing or out of order in:\n{dot}"));
        at += found + edge.len();
    }
    let health = ids
        .iter()
        .position(|i| *i == "health")
        .expect("health in the chart");
    let quota = ids
        .iter()
        .position(|i| *i == "quota")
        .expect("quota in the chart");
    assert!(health < quota, "the gate checks health before the quota");
    // The narrative: one paragraph per decision, in the same order.
    let text = lampiran2::narrative(&t);
    let para = |needle: &str| {
        text.iter()
            .position(|p| p.contains(needle))
            .unwrap_or_else(|| panic!("no paragraph with `{needle}`"))
    };
    let order = [
        para("memeriksa identitas pemohon"),
        para("NIK diperiksa secara lokal"),
        para("Tujuan pemanfaatan harus salah satu yang tercantum dalam PKS (bansos:"),
        para("Masa berlaku PKS diperiksa (berakhir 2030-06-01)"),
        para("belum lulus Proof of Concept"),
        para("seluruh User ID"),
        para("Kesehatan jalur diperiksa"),
        para("Kuota harian diperiksa"),
    ];
    assert_eq!(order.len(), ids.len());
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[test]
fn lampiran1_carries_the_juknis_note_on_the_access_method() {
    for name in ["bandung.yaml", "demo.yaml"] {
        let dot = lampiran1::dot(&load(name));
        assert!(
            dot.contains(
                "untuk metode akses disesuaikan dengan Izin Hak Akses dari Ditjen Dukcapil"
            ),
            "{name}"
        );
    }
}

#[test]
fn rendering_is_byte_for_byte_repeatable() {
    let t = load("demo.yaml");
    let dot = lampiran1::dot(&t);
    assert_eq!(dot, lampiran1::dot(&t));
    for format in [Format::Svg, Format::Pdf, Format::Png] {
        let a = render::to_format(&dot, format).expect("dot is installed (graphviz)");
        let b = render::to_format(&dot, format).expect("dot");
        assert!(a.len() > 1000, "{format:?} output is too small");
        assert_eq!(a, b, "{format:?} differs between runs");
    }
}

/// Names are free text in the topology: quotes, `&`, `<>`, a backslash and a line break in node,
/// zone and OPD names reach Graphviz escaped (README: why we write DOT ourselves), and come back
/// intact in the drawing.
#[test]
fn names_with_dot_and_html_syntax_reach_the_drawing_intact() {
    let src = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("topology/demo.yaml"),
    )
    .expect("demo topology");
    let tricky = r#"name: "Router \"R&D\" <lt. 2> C:\\net""#;
    let src = src
        .replace(r#"name: "Router Disdukcapil""#, tricky)
        .replace(
            "name: Dinas Sosial (demo)",
            r#"name: "Dinas \"Sosial\" & <PMD>""#,
        );
    assert!(
        src.contains("R&D") && src.contains("<PMD>"),
        "demo.yaml changed"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("topology.yaml");
    std::fs::write(&path, src).expect("write");
    let t = topology::load(&path).expect("tricky names are valid");
    for (which, dot) in [("I", lampiran1::dot(&t)), ("II", lampiran2::dot(&t))] {
        let svg = render::to_format(&dot, Format::Svg)
            .unwrap_or_else(|e| panic!("Lampiran {which}: dot refused the text: {e}\n{dot}"));
        let svg = String::from_utf8(svg).expect("svg is UTF-8");
        if which == "I" {
            for want in [
                "Router &quot;R&amp;D&quot; &lt;lt. 2&gt; C:\\net",
                "Dinas &quot;Sosial&quot; &amp; &lt;PMD&gt;",
            ] {
                let plain = want.replace("&quot;", "\"");
                assert!(
                    svg.contains(want) || svg.contains(&plain),
                    "Lampiran I: {want} not drawn:\n{svg}"
                );
            }
        }
    }
}
