//! The document renderers end to end: one sample document with every block kind, long
//! paragraphs, a 60-row table and three charts, rendered to HTML, DOCX and PDF and read back
//! (HTML as text, DOCX unzipped, PDF through poppler's pdftotext and pdfinfo).
//!
//! Set JUKNIS_DOC_OUT=DIR to keep the three sample files for a look.

use std::io::Read as _;
use std::path::Path;
use std::process::Command;

use juknis::doc::{
    Align, Block, Chart, ChartKind, Document, Error, Figure, Format, Inline, Series, Table, XAxis,
};

const LONG: &str = "Tautan komunikasi data antara OPD dan Dinas Kependudukan dan Pencatatan Sipil \
     Kabupaten Bandung diukur setiap menit selama periode kajian; latensi, kehilangan paket, jitter \
     dan throughput dicatat oleh perangkat juknis di sisi OPD. Kapasitas kontrak 512 Kbps dinilai \
     terhadap kebutuhan layanan verifikasi NIK melalui Web Portal dan pengiriman data balikan \
     Dinas Sosial, dengan memperhatikan jam sibuk pukul 08.00–11.00 WIB.";

const SPECIAL: &str = "Suhu ruang server 24 °C ± 2 °C, utilisasi ≥ 80 % — café <script>alert(\"x\")</script> & 'kutip'";

fn table_rows() -> Vec<Vec<String>> {
    (1..=60)
        .map(|i| {
            vec![
                i.to_string(),
                format!("{:02}/01/2026", (i - 1) % 31 + 1),
                format!("{},{} ms", 20 + i % 17, i % 10),
                format!("{},{} %", i % 3, (i * 7) % 10),
                if i % 11 == 0 {
                    "Terganggu: hujan lebat, tautan radio menurun".to_string()
                } else {
                    "Normal".to_string()
                },
            ]
        })
        .collect()
}

fn day(d: i64) -> i64 {
    // 2026-01-01 00:00 WIB plus d days.
    1_767_200_400 + d * 86_400
}

fn sample() -> Document {
    let line = Chart {
        kind: ChartKind::Line,
        x_label: "Tanggal (WIB)".into(),
        y_label: "Throughput (Kbps)".into(),
        x: XAxis::Time((0..30).map(day).collect()),
        series: vec![
            Series {
                name: "Unduh".into(),
                values: (0..30)
                    .map(|d| (d != 12).then(|| 380.0 + f64::from(d * 7 % 90)))
                    .collect(),
            },
            Series {
                name: "Unggah".into(),
                values: (0..30)
                    .map(|d| Some(200.0 + f64::from(d * 5 % 60)))
                    .collect(),
            },
        ],
        rules: vec![("Kontrak 512 Kbps".into(), 512.0)],
    };
    let bar = Chart {
        kind: ChartKind::Bar,
        x_label: "Bulan".into(),
        y_label: "Jumlah akses NIK".into(),
        x: XAxis::Categories(
            ["Januari", "Februari", "Maret", "April", "Mei", "Juni"]
                .map(String::from)
                .to_vec(),
        ),
        series: ["Ditemukan", "Tidak ditemukan", "Ditolak"]
            .iter()
            .enumerate()
            .map(|(k, n)| Series {
                name: (*n).into(),
                values: (0..6)
                    .map(|m| {
                        Some(f64::from(
                            (k as i32 + 1) * 900 / (k as i32 + 1).pow(2) + m * 40,
                        ))
                    })
                    .collect(),
            })
            .collect(),
        rules: vec![("Kuota 200 × 22 hari".into(), 4400.0)],
    };
    let days = [
        "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
    ];
    let heat = Chart {
        kind: ChartKind::Heatmap,
        x_label: "Jam (WIB)".into(),
        y_label: "Hari".into(),
        x: XAxis::Categories((0..24).map(|h| format!("{h:02}")).collect()),
        series: days
            .iter()
            .enumerate()
            .map(|(d, n)| Series {
                name: (*n).into(),
                values: (0..24)
                    .map(|h| {
                        let busy = (8..16).contains(&h) && d < 5;
                        Some(if busy {
                            60.0 + (h * d) as f64 % 35.0
                        } else {
                            5.0 + h as f64 % 7.0
                        })
                    })
                    .collect(),
            })
            .collect(),
        rules: vec![],
    };
    Document {
        title: "Kajian Teknis Perubahan Bandwidth".into(),
        subtitle: Some("Dinas Sosial Kabupaten Bandung — Periode Januari 2026".into()),
        cover: vec![
            ("Nomor PKS".into(), "470/123/Disdukcapil/2026".into()),
            ("Periode".into(), "1–30 Januari 2026".into()),
        ],
        blocks: vec![
            Block::heading(1, "BAB I PENDAHULUAN"),
            Block::heading(2, "1.1 Latar Belakang"),
            Block::text(LONG),
            Block::Paragraph(vec![
                Inline::Text("Kondisi khusus: ".into()),
                Inline::Bold("tebal penting".into()),
                Inline::Text(" dan ".into()),
                Inline::Italic("bandwidth miring".into()),
                Inline::Text(format!(". {SPECIAL}.")),
            ]),
            Block::text([LONG; 3].join(" ")),
            Block::heading(3, "1.1.1 Ruang Lingkup"),
            Block::bullets([
                "Latensi pulang-pergi ke 192.0.2.177",
                "Kehilangan paket ≤ 1 %",
            ]),
            Block::List {
                ordered: true,
                items: vec![
                    vec![
                        Inline::Text("Pengukuran throughput dengan ".into()),
                        Inline::Italic("packet train".into()),
                    ],
                    vec![Inline::Bold("Analisis jam sibuk".into())],
                ],
            },
            Block::Table(Table {
                caption: "Tabel 1. Hasil pengukuran harian".into(),
                header: ["No.", "Tanggal", "Latensi", "Kehilangan", "Keterangan"]
                    .map(String::from)
                    .to_vec(),
                rows: table_rows(),
                align: vec![
                    Align::Center,
                    Align::Center,
                    Align::Right,
                    Align::Right,
                    Align::Left,
                ],
            }),
            Block::heading(1, "BAB II HASIL PENGUKURAN"),
            Block::Figure(Figure {
                caption: "Gambar 1. Throughput harian terhadap kontrak".into(),
                chart: line,
            }),
            Block::text(LONG),
            Block::Figure(Figure {
                caption: "Gambar 2. Akses NIK per bulan".into(),
                chart: bar,
            }),
            Block::Figure(Figure {
                caption: "Gambar 3. Beban per jam dalam sepekan".into(),
                chart: heat,
            }),
            Block::PageBreak,
            Block::heading(1, "BAB III PENUTUP"),
            Block::text(
                "Demikian kajian teknis ini disusun untuk dipergunakan sebagaimana mestinya.",
            ),
            Block::Signature {
                place_date: "Soreang, 2 Februari 2026".into(),
                role: "Kepala Dinas Sosial".into(),
                name: "Nama Pejabat Contoh".into(),
                id: "NIP. 19700101 199003 1 001".into(),
            },
        ],
        footer: Some("Kajian Teknis Perubahan Bandwidth — Dinas Sosial".into()),
    }
}

/// Every piece of text a reader must find, in reading order (inline runs joined).
fn texts(doc: &Document) -> Vec<String> {
    doc.plain_text()
        .lines()
        // Cells apart; cover facts show label and value apart.
        .flat_map(|l| l.split(" | "))
        .flat_map(|l| l.split(": "))
        .map(|s| s.trim_start_matches("- ").to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn keep(name: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("JUKNIS_DOC_OUT") {
        let path = Path::new(&dir).join(name);
        std::fs::write(&path, bytes).expect("write sample");
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn html_is_one_escaped_self_contained_file() {
    let doc = sample();
    let html = String::from_utf8(doc.render(Format::Html).expect("html")).expect("utf-8");
    keep("sample.html", html.as_bytes());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<html lang=\"id\">"));
    assert!(
        !html.contains("<script>"),
        "raw markup leaked from the text"
    );
    assert!(
        html.contains(
            "café &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;kutip&#39;"
        )
    );
    assert_eq!(html.matches("<svg").count(), 3, "three inline charts");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external resources"
    );
    assert_eq!(
        html.matches("class=\"page-break\"").count(),
        2,
        "after the cover and the PageBreak"
    );
    // Inline styles split a paragraph's text; take them out to compare whole paragraphs.
    let plain = collapse(
        &["<b>", "</b>", "<i>", "</i>"]
            .iter()
            .fold(html.clone(), |h, t| h.replace(t, "")),
    );
    for t in texts(&doc) {
        let escaped = t
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        assert!(plain.contains(&collapse(&escaped)), "HTML lacks {t:?}");
    }
}

fn docx_part(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("DOCX is a zip");
    let mut s = String::new();
    zip.by_name(name)
        .unwrap_or_else(|e| panic!("{name} in the DOCX: {e}"))
        .read_to_string(&mut s)
        .expect("utf-8 part");
    s
}

/// The text of a WordprocessingML part: the contents of every <w:t>, runs joined, one
/// paragraph a line, with XML entities undone.
fn docx_text(xml: &str) -> String {
    let mut out = String::new();
    for para in xml.split("</w:p>") {
        for piece in para.split("<w:t").skip(1) {
            let Some(start) = piece.find('>') else {
                continue;
            };
            // <w:tbl>, <w:tc>, <w:tab/> ... share the prefix; only <w:t> and <w:t xml:space=..>.
            let tag = &piece[..start];
            if !(tag.is_empty() || tag.starts_with(' ')) || tag.ends_with('/') {
                continue;
            }
            let rest = &piece[start + 1..];
            let end = rest.find("</w:t>").unwrap_or(0);
            out.push_str(
                &rest[..end]
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&#39;", "'")
                    .replace("&amp;", "&"),
            );
        }
        out.push('\n');
    }
    out
}

#[test]
fn docx_holds_every_paragraph_and_cell_with_pictures_and_headings() {
    let doc = sample();
    let bytes = doc.render(Format::Docx).expect("docx");
    keep("sample.docx", &bytes);
    let xml = docx_part(&bytes, "word/document.xml");
    let text = collapse(&docx_text(&xml));
    for t in texts(&doc) {
        assert!(text.contains(&collapse(&t)), "document.xml lacks {t:?}");
    }
    // Headings use Word's heading styles, so Word can build a table of contents.
    assert!(
        xml.contains("w:val=\"Heading1\""),
        "no Heading1 style in use"
    );
    assert!(xml.contains("w:val=\"Heading2\""));
    assert!(xml.contains("w:val=\"Heading3\""));
    // Three charts as pictures, page breaks, a footer with a page number field.
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).expect("zip");
    let pngs = (0..zip.len())
        .filter(|i| {
            zip.by_index(*i)
                .map(|f| f.name().ends_with(".png"))
                .unwrap_or(false)
        })
        .count();
    assert_eq!(pngs, 3, "three chart pictures");
    assert!(xml.contains("w:type=\"page\""), "page breaks");
    // The 60-row table's header row repeats on each page it spans (only that row is marked).
    assert_eq!(
        xml.matches("<w:tblHeader />").count(),
        1,
        "one table, one header row"
    );
    let core = docx_part(&bytes, "docProps/core.xml");
    assert!(
        core.contains("<dc:title>Kajian Teknis Perubahan Bandwidth</dc:title>"),
        "{core}"
    );
    assert!(
        core.contains("<dc:language>id-ID</dc:language>") && !core.contains("1970"),
        "{core}"
    );
    let footer = (0..zip.len())
        .filter_map(|i| {
            let mut f = zip.by_index(i).ok()?;
            f.name().starts_with("word/footer").then(|| {
                let mut s = String::new();
                f.read_to_string(&mut s).ok();
                s
            })
        })
        .collect::<String>();
    assert!(footer.contains("PAGE"), "footer has no page number field");
    assert!(docx_text(&footer).contains("Kajian Teknis Perubahan Bandwidth"));
}

fn poppler(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("{tool}: {e}; install poppler-utils (scripts/install-deps.sh test)")
    });
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn pdf_has_text_in_order_pages_title_and_a_repeated_table_header() {
    let doc = sample();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kajian.pdf");
    assert_eq!(doc.write(&path).expect("write pdf"), Format::Pdf);
    let bytes = std::fs::read(&path).expect("read back");
    keep("sample.pdf", &bytes);
    assert!(
        bytes.windows(9).any(|w| w == b"/Outlines"),
        "headings should be bookmarks"
    );

    let info = poppler("pdfinfo", &[path.to_str().expect("path")]);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("pdfinfo Pages");
    assert!(pages > 3, "{pages} pages");
    assert!(
        info.lines()
            .any(|l| l.starts_with("Title:") && l.ends_with(" Kajian Teknis Perubahan Bandwidth")),
        "{info}"
    );

    // -layout keeps a table's row on one line; the cover title is in capitals.
    let text = poppler("pdftotext", &["-layout", path.to_str().expect("path"), "-"]);
    let flat = collapse(&text);
    let lower = flat.to_lowercase();
    let mut at = 0;
    for t in texts(&doc) {
        let t = collapse(&t).to_lowercase();
        match lower[at..].find(&t) {
            Some(i) => at += i + t.len(),
            None => panic!("PDF text lacks {t:?} after byte {at}, or has it out of order"),
        }
    }
    // Footer on every page, with its number.
    assert!(flat.contains(&format!("Halaman 1 dari {pages}")));
    assert!(flat.contains(&format!("Halaman {pages} dari {pages}")));

    // The 60-row table crosses a page and its header is repeated on the next one.
    let page_of = |needle: &str| {
        (1..=pages)
            .find(|p| {
                let p = p.to_string();
                collapse(&poppler(
                    "pdftotext",
                    &[
                        "-layout",
                        "-f",
                        &p,
                        "-l",
                        &p,
                        path.to_str().expect("path"),
                        "-",
                    ],
                ))
                .contains(needle)
            })
            .unwrap_or_else(|| panic!("{needle:?} on no page"))
    };
    let first = page_of("Tabel 1. Hasil pengukuran harian");
    let last = page_of("60 29/01/2026");
    assert!(last > first, "the table fits one page; it should not");
    for p in first + 1..=last {
        let p = p.to_string();
        let page = collapse(&poppler(
            "pdftotext",
            &[
                "-layout",
                "-f",
                &p,
                "-l",
                &p,
                path.to_str().expect("path"),
                "-",
            ],
        ));
        assert!(
            page.contains("No. Tanggal Latensi Kehilangan Keterangan"),
            "page {p} has no table header"
        );
    }
}

#[test]
fn rendering_is_deterministic() {
    let doc = sample();
    for f in [Format::Html, Format::Docx, Format::Pdf] {
        let t = std::time::Instant::now();
        let a = doc.render(f).expect("render");
        // For the record (cargo test -- --nocapture): size and time of the sample.
        eprintln!("{f:?}: {} bytes in {:?}", a.len(), t.elapsed());
        let b = doc.render(f).expect("render");
        assert!(a == b, "{f:?} differs between two renders");
    }
}

#[test]
fn a_bad_extension_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["kajian.txt", "kajian", "kajian.pdf.bak"] {
        let path = dir.path().join(name);
        let err = sample().write(&path).expect_err("refused");
        assert!(matches!(err, Error::UnknownFormat(_)), "{err:?}");
        let msg = err.to_string();
        assert!(
            msg.contains(name) && msg.contains(".html, .docx or .pdf"),
            "{msg}"
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);
}

#[test]
fn write_replaces_atomically_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("laporan.HTML");
    std::fs::write(&path, "old").expect("old file");
    assert_eq!(sample().write(&path).expect("write"), Format::Html);
    let html = std::fs::read_to_string(&path).expect("read");
    assert!(html.contains("Kajian Teknis Perubahan Bandwidth"));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("laporan.HTML")]);

    let missing = dir.path().join("tidak-ada/laporan.pdf");
    let err = sample().write(&missing).expect_err("no such directory");
    assert!(
        matches!(err, Error::Write { .. }) && err.to_string().contains("tidak-ada"),
        "{err}"
    );
}
