//! The HTML renderer: one self-contained, print-ready file (inline CSS, charts as inline SVG),
//! styled like an Indonesian government technical document.

use std::fmt::Write as _;

use super::{Align, Block, Document, Error, Inline, Table, chart};

/// The page's style: A4 with the usual margins, a serif body, bordered tables with a shaded
/// header row that repeats on every printed page.
const CSS: &str = r#"
@page { size: A4; margin: 2.5cm 2cm 2.5cm 3cm; }
html { background: #f2f2f2; }
body {
  font-family: "Times New Roman", "Liberation Serif", Times, serif;
  font-size: 12pt; line-height: 1.5; color: #000;
  max-width: 16cm; margin: 1.5em auto; padding: 2.5cm 2cm 2.5cm 3cm; background: #fff;
}
@media print {
  html { background: none; }
  body { margin: 0; padding: 0; max-width: none; }
}
.cover { text-align: center; padding-top: 3cm; }
@media screen { .cover { min-height: 20cm; } }
.cover .title { font-size: 16pt; font-weight: bold; text-transform: uppercase; margin: 0 0 0.5em; }
.cover .subtitle { font-size: 13pt; font-weight: bold; margin: 0 0 2cm; }
.cover table.facts { margin: 0 auto; border-collapse: collapse; text-align: left; }
.cover table.facts td { padding: 0.2em 0.6em; vertical-align: top; }
h1, h2, h3 { font-size: 12pt; font-weight: bold; margin: 1.2em 0 0.6em; page-break-after: avoid; break-after: avoid; }
h1 { text-align: center; text-transform: uppercase; font-size: 13pt; }
p { text-align: justify; margin: 0 0 0.6em; text-indent: 1.25cm; }
ul, ol { margin: 0 0 0.6em; padding-left: 1.25cm; text-align: justify; }
.caption { text-align: center; font-weight: bold; text-indent: 0; margin: 0.8em 0 0.4em; page-break-after: avoid; break-after: avoid; }
figure { margin: 1em 0; text-align: center; page-break-inside: avoid; break-inside: avoid; }
figure svg { width: 100%; height: auto; }
figure .caption { margin-top: 0.3em; }
table.data { width: 100%; border-collapse: collapse; font-size: 10.5pt; line-height: 1.3; margin: 0 0 1em; }
table.data th, table.data td { border: 1px solid #000; padding: 0.2em 0.4em; vertical-align: top; }
table.data th { background: #d9d9d9; font-weight: bold; text-align: center; }
table.data thead { display: table-header-group; }
table.data tr { page-break-inside: avoid; break-inside: avoid; }
.r { text-align: right; } .c { text-align: center; } .l { text-align: left; }
.signature { width: 45%; margin: 2em 0 1em auto; text-align: center; page-break-inside: avoid; break-inside: avoid; }
.signature p { text-align: center; text-indent: 0; margin: 0; }
.signature .space { height: 5em; }
.signature .name { font-weight: bold; text-decoration: underline; }
.page-break { page-break-after: always; break-after: page; height: 0; }
@media screen { .page-break { border-top: 1px dashed #999; margin: 2em 0; } }
footer { margin-top: 2em; border-top: 1px solid #000; font-size: 9pt; text-align: center; }
"#;

/// The document as one HTML file.
pub(super) fn render(doc: &Document) -> Result<String, Error> {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"id\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    let _ = writeln!(out, "<title>{}</title>", esc(&doc.title));
    let _ = writeln!(out, "<style>{CSS}</style>\n</head>\n<body>");

    out.push_str("<section class=\"cover\">\n");
    let _ = writeln!(out, "<div class=\"title\">{}</div>", esc(&doc.title));
    if let Some(s) = &doc.subtitle {
        let _ = writeln!(out, "<div class=\"subtitle\">{}</div>", esc(s));
    }
    if !doc.cover.is_empty() {
        out.push_str("<table class=\"facts\">\n");
        for (k, v) in &doc.cover {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>:</td><td>{}</td></tr>",
                esc(k),
                esc(v)
            );
        }
        out.push_str("</table>\n");
    }
    out.push_str("</section>\n<div class=\"page-break\"></div>\n");

    for b in &doc.blocks {
        block(&mut out, b)?;
    }

    if let Some(f) = &doc.footer {
        let _ = writeln!(out, "<footer>{}</footer>", esc(f));
    }
    out.push_str("</body>\n</html>\n");
    Ok(out)
}

fn block(out: &mut String, b: &Block) -> Result<(), Error> {
    match b {
        Block::Heading { level, text } => {
            let h = (*level).clamp(1, 3);
            let _ = writeln!(out, "<h{h}>{}</h{h}>", esc(text));
        }
        Block::Paragraph(runs) => {
            let _ = writeln!(out, "<p>{}</p>", inlines(runs));
        }
        Block::List { ordered, items } => {
            let tag = if *ordered { "ol" } else { "ul" };
            let _ = writeln!(out, "<{tag}>");
            for item in items {
                let _ = writeln!(out, "<li>{}</li>", inlines(item));
            }
            let _ = writeln!(out, "</{tag}>");
        }
        Block::Table(t) => table(out, t),
        Block::Figure(f) => {
            out.push_str("<figure>\n");
            out.push_str(&chart::svg(&f.chart)?);
            let _ = writeln!(
                out,
                "\n<figcaption class=\"caption\">{}</figcaption>\n</figure>",
                esc(&f.caption)
            );
        }
        Block::Signature {
            place_date,
            role,
            name,
            id,
        } => {
            let _ = writeln!(
                out,
                "<div class=\"signature\">\n<p>{}</p>\n<p>{}</p>\n<div class=\"space\"></div>\n\
                 <p class=\"name\">{}</p>\n<p>{}</p>\n</div>",
                esc(place_date),
                esc(role),
                esc(name),
                esc(id)
            );
        }
        Block::PageBreak => out.push_str("<div class=\"page-break\"></div>\n"),
    }
    Ok(())
}

fn table(out: &mut String, t: &Table) {
    if !t.caption.is_empty() {
        let _ = writeln!(out, "<p class=\"caption\">{}</p>", esc(&t.caption));
    }
    out.push_str("<table class=\"data\">\n");
    if !t.header.is_empty() {
        out.push_str("<thead><tr>");
        for h in &t.header {
            let _ = write!(out, "<th>{}</th>", esc(h));
        }
        out.push_str("</tr></thead>\n");
    }
    out.push_str("<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for (c, cell) in row.iter().enumerate() {
            let class = match t.align.get(c).copied().unwrap_or_default() {
                Align::Left => "l",
                Align::Right => "r",
                Align::Center => "c",
            };
            let _ = write!(out, "<td class=\"{class}\">{}</td>", esc(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn inlines(runs: &[Inline]) -> String {
    let mut s = String::new();
    for r in runs {
        match r {
            Inline::Text(t) => s.push_str(&esc(t)),
            Inline::Bold(t) => {
                let _ = write!(s, "<b>{}</b>", esc(t));
            }
            Inline::Italic(t) => {
                let _ = write!(s, "<i>{}</i>", esc(t));
            }
        }
    }
    s
}

/// Escape text for HTML element content and quoted attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}
