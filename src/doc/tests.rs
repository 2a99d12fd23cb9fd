//! Unit tests of the renderers' parts: charts on bad or empty data, Indonesian numbers, WIB
//! ticks, and documents at the edges (empty, unbreakable words, ragged tables).

use rstest::rstest;

use super::chart::{id_number, png, svg};
use super::*;

fn chart(kind: ChartKind, x: XAxis, series: Vec<Series>) -> Chart {
    Chart {
        kind,
        x_label: "Tanggal".into(),
        y_label: "Kbps".into(),
        x,
        series,
        rules: vec![("Kontrak".into(), 512.0)],
    }
}

fn series(name: &str, values: Vec<Option<f64>>) -> Series {
    Series {
        name: name.into(),
        values,
    }
}

#[rstest]
#[case::no_series(ChartKind::Line, XAxis::Time(vec![0, 86_400]), vec![])]
#[case::no_x(ChartKind::Bar, XAxis::Categories(vec![]), vec![series("a", vec![Some(1.0)])])]
#[case::all_missing(ChartKind::Heatmap, XAxis::Categories(vec!["x".into()]), vec![series("a", vec![None, Some(f64::NAN)])])]
fn empty_charts_say_so(#[case] kind: ChartKind, #[case] x: XAxis, #[case] s: Vec<Series>) {
    let c = chart(kind, x, s);
    let out = svg(&c).expect("svg");
    assert!(out.contains("Tidak ada data"), "{out}");
    let p = png(&c).expect("png");
    assert!(p.bytes.starts_with(b"\x89PNG"));
}

#[rstest]
#[case::line(ChartKind::Line)]
#[case::bar(ChartKind::Bar)]
#[case::heatmap(ChartKind::Heatmap)]
fn ragged_and_non_finite_data_draws_without_panicking(#[case] kind: ChartKind) {
    let c = chart(
        kind,
        XAxis::Time(vec![1_767_200_400, 1_767_286_800, 1_767_373_200]),
        vec![
            series("pendek", vec![Some(1.0)]),
            series(
                "panjang",
                vec![Some(2.0), Some(f64::INFINITY), None, Some(4.0), Some(5.0)],
            ),
            series("negatif", vec![Some(-3.0), Some(0.5), Some(1e9)]),
        ],
    );
    let out = svg(&c).expect("svg");
    assert!(!out.contains("Tidak ada data"));
    assert!(
        !out.contains("NaN") && !out.contains("inf"),
        "bad numbers leaked"
    );
    let p = png(&c).expect("png");
    assert_eq!((p.width, p.height), {
        let (w, h) = chart::size(&c);
        (w * chart::PNG_SCALE, h * chart::PNG_SCALE)
    });
}

#[test]
fn time_axis_is_labelled_with_wib_dates_and_legend_names_series() {
    // 2026-01-01 00:00 WIB is 2025-12-31 17:00 UTC: the label must be 01/01, not 31/12.
    let days: Vec<i64> = (0..10).map(|d| 1_767_200_400 + d * 86_400).collect();
    let c = chart(
        ChartKind::Line,
        XAxis::Time(days),
        vec![
            series("Unduh <in>", (0..10).map(|v| Some(f64::from(v))).collect()),
            series(
                "Unggah",
                (0..10).map(|v| Some(f64::from(v) / 2.0)).collect(),
            ),
        ],
    );
    let out = svg(&c).expect("svg");
    assert!(
        out.contains(">\n01/01\n<") || out.contains(">01/01<"),
        "{out}"
    );
    assert!(!out.contains("31/12"));
    assert!(out.contains("Unduh &lt;in&gt;"), "legend text escaped");
    assert!(out.contains("Kontrak"), "rule label");
}

#[rstest]
#[case(0.0, 0, "0")]
#[case(512.0, 0, "512")]
#[case(4400.0, 0, "4.400")]
#[case(1234567.891, 2, "1.234.567,89")]
#[case(-0.5, 1, "-0,5")]
#[case(-0.001, 1, "0,0")]
fn numbers_are_indonesian(#[case] v: f64, #[case] dec: usize, #[case] want: &str) {
    assert_eq!(id_number(v, dec), want);
}

fn edge_document() -> Document {
    Document {
        title: "Uji Tepi".into(),
        subtitle: None,
        cover: vec![],
        blocks: vec![
            Block::text(format!("https://{}", "sangat-panjang-".repeat(40))),
            Block::Table(Table {
                caption: String::new(),
                header: vec![],
                rows: vec![
                    vec!["satu".into()],
                    vec!["a".into(), "b".into(), "x".repeat(300)],
                ],
                align: vec![Align::Right; 7],
            }),
            Block::Heading {
                level: 9,
                text: "Tingkat di luar jangkauan".into(),
            },
            Block::List {
                ordered: true,
                items: vec![],
            },
            Block::Paragraph(vec![]),
            Block::PageBreak,
            Block::PageBreak,
        ],
        footer: Some("K".repeat(400)),
    }
}

#[rstest]
#[case::html(Format::Html)]
#[case::docx(Format::Docx)]
#[case::pdf(Format::Pdf)]
fn edge_documents_render(#[case] f: Format) {
    for doc in [Document::default(), edge_document()] {
        let bytes = doc.render(f).expect("render");
        assert!(!bytes.is_empty());
    }
}

#[rstest]
#[case("a.html", Some(Format::Html))]
#[case("a.HTM", Some(Format::Html))]
#[case("dir.v2/a.docx", Some(Format::Docx))]
#[case("a.Pdf", Some(Format::Pdf))]
#[case("a.doc", None)]
#[case(".pdf", None)]
fn formats_from_extensions(#[case] path: &str, #[case] want: Option<Format>) {
    assert_eq!(Format::from_path(Path::new(path)).ok(), want);
}
