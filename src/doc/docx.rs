//! The DOCX renderer (docx-rs): A4, Times New Roman, a title page, headings in Word's own
//! heading styles (so Word and LibreOffice can build a table of contents), bordered tables with
//! a shaded header row, charts as PNG pictures at the text width, and a footer with page numbers.
//!
//! Lists are paragraphs with their marker as text and a hanging indent rather than Word
//! numbering: each list then starts at 1 without numbering instances, and the text reads the
//! same in every viewer.

use docx_rs::{
    AlignmentType, BorderType, BreakType, Docx, Footer, LineSpacing, NumPages, PageMargin, PageNum,
    Paragraph, Pic, Run, RunFonts, Shading, ShdType, SpecialIndentType, Style, StyleType,
    Table as DTable, TableBorder, TableBorderPosition, TableBorders, TableCell, TableRow,
    VAlignType, WidthType,
};

use super::{Align, Block, Document, Error, Inline, Table, chart};

const FONT: &str = "Times New Roman";
/// A4 in twentieths of a point.
const PAGE_W: u32 = 11906;
const PAGE_H: u32 = 16838;
/// Margins: 3 cm left (binding), 2 cm right, 2.5 cm top and bottom.
const LEFT: i32 = 1701;
const RIGHT: i32 = 1134;
const TOP: i32 = 1418;
const BOTTOM: i32 = 1418;
/// The text width in twips and in EMU (pictures).
const TEXT_W: u32 = PAGE_W - LEFT as u32 - RIGHT as u32;
const EMU_PER_TWIP: u32 = 635;
/// First-line indent of body paragraphs: 1.25 cm.
const INDENT: i32 = 709;

/// The document as DOCX bytes.
pub(super) fn render(doc: &Document) -> Result<Vec<u8>, Error> {
    let fonts = RunFonts::new()
        .ascii(FONT)
        .hi_ansi(FONT)
        .cs(FONT)
        .east_asia(FONT);
    let mut d = Docx::new()
        .page_size(PAGE_W, PAGE_H)
        .page_margin(
            PageMargin::new()
                .top(TOP)
                .bottom(BOTTOM)
                .left(LEFT)
                .right(RIGHT)
                .header(709)
                .footer(709),
        )
        .default_fonts(fonts.clone())
        .default_size(24);
    for (id, name, size, lvl) in [
        ("Heading1", "heading 1", 26, 0),
        ("Heading2", "heading 2", 24, 1),
        ("Heading3", "heading 3", 24, 2),
    ] {
        let mut st = Style::new(id, StyleType::Paragraph)
            .name(name)
            .based_on("Normal")
            .next("Normal")
            .q_format(true)
            .fonts(fonts.clone())
            .size(size)
            .bold()
            .outline_lvl(lvl)
            .line_spacing(LineSpacing::new().before(240).after(120));
        if lvl == 0 {
            st = st.align(AlignmentType::Center);
        }
        d = d.add_style(st);
    }

    d = cover(d, doc);
    let mut pictures = 0;
    for b in &doc.blocks {
        d = block(d, b, &mut pictures)?;
    }

    let mut foot = Paragraph::new().align(AlignmentType::Center).size(18);
    if let Some(f) = &doc.footer {
        foot = foot.add_run(Run::new().add_text(format!("{f} — ")).size(18));
    }
    foot = foot
        .add_run(Run::new().add_text("Halaman ").size(18))
        .add_page_num(PageNum::new())
        .add_run(Run::new().add_text(" dari ").size(18))
        .add_num_pages(NumPages::new());
    d = d.footer(Footer::new().add_paragraph(foot));

    let mut out = std::io::Cursor::new(Vec::new());
    d.build()
        .pack(&mut out)
        .map_err(|e| Error::Render(format!("packing the DOCX: {e}")))?;
    Ok(out.into_inner())
}

fn cover(mut d: Docx, doc: &Document) -> Docx {
    d = d.add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .line_spacing(LineSpacing::new().before(2400).after(240))
            .add_run(title_run(&doc.title)),
    );
    if let Some(s) = &doc.subtitle {
        d = d.add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Center)
                .line_spacing(LineSpacing::new().after(1200))
                .add_run(Run::new().add_text(s.as_str()).bold().size(26)),
        );
    }
    if !doc.cover.is_empty() {
        let rows = doc
            .cover
            .iter()
            .map(|(k, v)| {
                TableRow::new(vec![
                    plain_cell(k, 2800),
                    plain_cell(":", 300),
                    plain_cell(v, 4800),
                ])
            })
            .collect();
        d = d.add_table(
            DTable::without_borders(rows)
                .set_grid(vec![2800, 300, 4800])
                .align(docx_rs::TableAlignmentType::Center),
        );
    }
    d.add_paragraph(page_break())
}

/// The title in capitals by formatting (w:caps), so the text itself keeps its case.
fn title_run(title: &str) -> Run {
    let mut r = Run::new().add_text(title).bold().size(32);
    r.run_property = r.run_property.caps();
    r
}

fn plain_cell(text: &str, width: usize) -> TableCell {
    TableCell::new()
        .width(width, WidthType::Dxa)
        .add_paragraph(Paragraph::new().add_run(Run::new().add_text(text)))
}

fn page_break() -> Paragraph {
    Paragraph::new().add_run(Run::new().add_break(BreakType::Page))
}

fn runs(mut p: Paragraph, inlines: &[Inline]) -> Paragraph {
    for i in inlines {
        p = p.add_run(match i {
            Inline::Text(t) => Run::new().add_text(t.as_str()),
            Inline::Bold(t) => Run::new().add_text(t.as_str()).bold(),
            Inline::Italic(t) => Run::new().add_text(t.as_str()).italic(),
        });
    }
    p
}

fn body_spacing() -> LineSpacing {
    LineSpacing::new().line(360).after(120)
}

fn caption(text: &str) -> Paragraph {
    Paragraph::new()
        .align(AlignmentType::Center)
        .line_spacing(LineSpacing::new().before(120).after(120))
        .add_run(Run::new().add_text(text).bold())
}

fn block(d: Docx, b: &Block, pictures: &mut usize) -> Result<Docx, Error> {
    Ok(match b {
        Block::Heading { level, text } => {
            let lvl = (*level).clamp(1, 3);
            d.add_paragraph(
                Paragraph::new()
                    .style(&format!("Heading{lvl}"))
                    .keep_next(true)
                    .add_run(Run::new().add_text(text.as_str())),
            )
        }
        Block::Paragraph(inl) => d.add_paragraph(runs(
            Paragraph::new()
                .align(AlignmentType::Both)
                .indent(None, Some(SpecialIndentType::FirstLine(INDENT)), None, None)
                .line_spacing(body_spacing()),
            inl,
        )),
        Block::List { ordered, items } => {
            let mut d = d;
            for (n, item) in items.iter().enumerate() {
                let marker = if *ordered {
                    format!("{}.", n + 1)
                } else {
                    "•".to_string()
                };
                let p = Paragraph::new()
                    .align(AlignmentType::Both)
                    .indent(
                        Some(INDENT + 360),
                        Some(SpecialIndentType::Hanging(360)),
                        None,
                        None,
                    )
                    .line_spacing(LineSpacing::new().line(360).after(60))
                    .add_run(Run::new().add_text(marker).add_tab());
                d = d.add_paragraph(runs(p, item));
            }
            d
        }
        Block::Table(t) => table(d, t),
        Block::Figure(f) => {
            let png = chart::png(&f.chart)?;
            let w_emu = TEXT_W * EMU_PER_TWIP;
            let h_emu = (u64::from(w_emu) * u64::from(png.height) / u64::from(png.width)) as u32;
            // Our own picture ids: docx-rs counts them process-wide, so a second render of
            // the same document would differ.
            *pictures += 1;
            let pic = Pic::new_with_dimensions(png.bytes, png.width, png.height)
                .size(w_emu, h_emu)
                .id(format!("rIdImage{pictures}"));
            d.add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .keep_next(true)
                    .add_run(Run::new().add_image(pic)),
            )
            .add_paragraph(caption(&f.caption))
        }
        Block::Signature {
            place_date,
            role,
            name,
            id,
        } => {
            let sig = |r: Run| {
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .indent(Some(5000), None, None, None)
                    .keep_next(true)
                    .keep_lines(true)
                    .add_run(r)
            };
            d.add_paragraph(
                sig(Run::new().add_text(place_date.as_str()))
                    .line_spacing(LineSpacing::new().before(480)),
            )
            .add_paragraph(sig(Run::new().add_text(role.as_str())))
            .add_paragraph(sig(Run::new()))
            .add_paragraph(sig(Run::new()))
            .add_paragraph(sig(Run::new()))
            .add_paragraph(sig(Run::new()
                .add_text(name.as_str())
                .bold()
                .underline("single")))
            .add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .indent(Some(5000), None, None, None)
                    .add_run(Run::new().add_text(id.as_str())),
            )
        }
        Block::PageBreak => d.add_paragraph(page_break()),
    })
}

/// Column widths in twips: proportional to each column's longest text, within bounds, filling
/// the text width.
fn widths(t: &Table) -> Vec<usize> {
    let cols = t
        .header
        .len()
        .max(t.rows.iter().map(Vec::len).max().unwrap_or(0))
        .max(1);
    let weight: Vec<f64> = (0..cols)
        .map(|c| {
            let longest = std::iter::once(&t.header)
                .chain(&t.rows)
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(1);
            (longest as f64).clamp(5.0, 40.0)
        })
        .collect();
    let sum: f64 = weight.iter().sum();
    weight
        .iter()
        .map(|w| (f64::from(TEXT_W) * w / sum) as usize)
        .collect()
}

fn table(mut d: Docx, t: &Table) -> Docx {
    if !t.caption.is_empty() {
        d = d.add_paragraph(caption(&t.caption).keep_next(true));
    }
    let grid = widths(t);
    let cols = grid.len();
    let cell = |text: &str, c: usize, header: bool| {
        let align = if header {
            AlignmentType::Center
        } else {
            match t.align.get(c).copied().unwrap_or_default() {
                Align::Left => AlignmentType::Left,
                Align::Right => AlignmentType::Right,
                Align::Center => AlignmentType::Center,
            }
        };
        let mut run = Run::new().add_text(text).size(21);
        if header {
            run = run.bold();
        }
        let mut cell = TableCell::new()
            .width(grid[c], WidthType::Dxa)
            .vertical_align(if header {
                VAlignType::Center
            } else {
                VAlignType::Top
            })
            .add_paragraph(
                Paragraph::new()
                    .align(align)
                    .line_spacing(LineSpacing::new().line(240).after(0))
                    .add_run(run),
            );
        if header {
            cell = cell.shading(Shading::new().shd_type(ShdType::Clear).fill("D9D9D9"));
        }
        cell
    };
    let mut rows = Vec::with_capacity(t.rows.len() + 1);
    if !t.header.is_empty() {
        rows.push(
            TableRow::new(
                (0..cols)
                    .map(|c| cell(t.header.get(c).map_or("", String::as_str), c, true))
                    .collect(),
            )
            .cant_split(),
        );
    }
    for r in &t.rows {
        rows.push(
            TableRow::new(
                (0..cols)
                    .map(|c| cell(r.get(c).map_or("", String::as_str), c, false))
                    .collect(),
            )
            .cant_split(),
        );
    }
    let border =
        |p: TableBorderPosition| TableBorder::new(p).border_type(BorderType::Single).size(4);
    let borders = TableBorders::new()
        .set(border(TableBorderPosition::Top))
        .set(border(TableBorderPosition::Bottom))
        .set(border(TableBorderPosition::Left))
        .set(border(TableBorderPosition::Right))
        .set(border(TableBorderPosition::InsideH))
        .set(border(TableBorderPosition::InsideV));
    d.add_table(
        DTable::new(rows)
            .set_grid(grid)
            .width(TEXT_W as usize, WidthType::Dxa)
            .set_borders(borders),
    )
    .add_paragraph(Paragraph::new().line_spacing(LineSpacing::new().after(120)))
}
