//! The PDF renderer: pure Rust, krilla for the file (fonts embedded and subset, text shaped) and
//! a small layout engine of its own: A4, word-wrapped justified paragraphs, headings kept with
//! what follows, lists, tables whose rows break across pages with the header repeated, charts
//! as PNG scaled to the text width, and "Halaman N dari M" at the foot of every page.
//!
//! Layout runs first into a list of pages of drawing operations, so the page count is known
//! when the footers are written. The output has no creation date and no random id: the same
//! document gives the same bytes.

use std::sync::OnceLock;

use krilla::Document as PdfDocument;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size};
use krilla::image::Image;
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::text::{Font, TextDirection};

use super::{Align, Block, Document, Error, Inline, Table, chart};

static SERIF: &[u8] = include_bytes!("../../data/fonts/LiberationSerif-Regular.ttf");
static SERIF_BOLD: &[u8] = include_bytes!("../../data/fonts/LiberationSerif-Bold.ttf");
static SERIF_ITALIC: &[u8] = include_bytes!("../../data/fonts/LiberationSerif-Italic.ttf");

/// A4 in points, with 3 cm (binding) left, 2 cm right and 2.5 cm top and bottom margins.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const LEFT: f32 = 85.04;
const RIGHT: f32 = 56.69;
const TOP: f32 = 70.87;
const BOTTOM: f32 = 70.87;
const TEXT_W: f32 = PAGE_W - LEFT - RIGHT;
const BODY_END: f32 = PAGE_H - BOTTOM;

const BODY: f32 = 12.0;
const BODY_LEAD: f32 = 18.0;
const CELL: f32 = 10.5;
const CELL_LEAD: f32 = 13.0;
const CELL_PAD_X: f32 = 4.0;
const CELL_PAD_Y: f32 = 3.0;
const FOOT: f32 = 9.0;
const INDENT: f32 = 35.4; // 1.25 cm

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Regular,
    Bold,
    Italic,
}

/// One font in its two roles: measuring (ttf-parser) and drawing (krilla).
struct Face {
    parsed: ttf_parser::Face<'static>,
    font: Font,
}

struct Fonts {
    regular: Face,
    bold: Face,
    italic: Face,
}

impl Fonts {
    fn get(&self, s: Style) -> &Face {
        match s {
            Style::Regular => &self.regular,
            Style::Bold => &self.bold,
            Style::Italic => &self.italic,
        }
    }

    /// Width of `text` in `style` at `size` points (advances, no kerning: a hair wide).
    fn width(&self, s: Style, size: f32, text: &str) -> f32 {
        let f = &self.get(s).parsed;
        let upem = f32::from(f.units_per_em());
        let units: u32 = text
            .chars()
            .map(|c| {
                f.glyph_index(c)
                    .and_then(|g| f.glyph_hor_advance(g))
                    .map_or(u32::from(f.units_per_em()) / 2, u32::from)
            })
            .sum();
        units as f32 * size / upem
    }
}

fn face(bytes: &'static [u8], name: &str) -> Result<Face, Error> {
    let bad = || Error::Render(format!("the embedded font {name} is invalid"));
    Ok(Face {
        parsed: ttf_parser::Face::parse(bytes, 0).map_err(|_| bad())?,
        font: Font::new(bytes.into(), 0).ok_or_else(bad)?,
    })
}

fn fonts() -> Result<&'static Fonts, Error> {
    static FONTS: OnceLock<Result<Fonts, String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            Ok(Fonts {
                regular: face(SERIF, "Liberation Serif").map_err(|e| e.to_string())?,
                bold: face(SERIF_BOLD, "Liberation Serif Bold").map_err(|e| e.to_string())?,
                italic: face(SERIF_ITALIC, "Liberation Serif Italic").map_err(|e| e.to_string())?,
            })
        })
        .as_ref()
        .map_err(|e| Error::Render(e.clone()))
}

/// A drawing operation on a page, in points from the page's top-left corner.
enum Op {
    /// Text with its baseline at `y`.
    Text {
        x: f32,
        y: f32,
        style: Style,
        size: f32,
        text: String,
        grey: u8,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<u8>,
        stroke: Option<f32>,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
    },
    Image {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        png: usize,
    },
}

/// A piece of a word in one style.
#[derive(Clone)]
struct Piece {
    style: Style,
    text: String,
    width: f32,
}

/// A word: pieces with no space between them ("miring" + ".").
#[derive(Clone)]
struct Word {
    pieces: Vec<Piece>,
    width: f32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HAlign {
    Left,
    Right,
    Center,
    Justify,
}

struct Layout<'f> {
    fonts: &'f Fonts,
    pages: Vec<Vec<Op>>,
    pngs: Vec<Vec<u8>>,
    /// The top of free space on the current page.
    y: f32,
}

impl<'f> Layout<'f> {
    fn new(fonts: &'f Fonts) -> Self {
        Layout {
            fonts,
            pages: vec![Vec::new()],
            pngs: Vec::new(),
            y: TOP,
        }
    }

    fn op(&mut self, op: Op) {
        if let Some(p) = self.pages.last_mut() {
            p.push(op);
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Start a new page unless `h` more points fit on this one (or this page is still empty).
    fn ensure(&mut self, h: f32) {
        let empty = self.pages.last().is_none_or(Vec::is_empty);
        if self.y + h > BODY_END && !empty {
            self.new_page();
        }
    }

    /// Split runs into words, measured at `size`.
    fn words(&self, runs: &[(Style, &str)], size: f32) -> Vec<Word> {
        let mut words = Vec::new();
        let mut cur = Word {
            pieces: Vec::new(),
            width: 0.0,
        };
        let push_piece = |cur: &mut Word, style: Style, text: &mut String| {
            if !text.is_empty() {
                let width = self.fonts.width(style, size, text);
                cur.width += width;
                cur.pieces.push(Piece {
                    style,
                    text: std::mem::take(text),
                    width,
                });
            }
        };
        for (style, text) in runs {
            let mut buf = String::new();
            for c in text.chars() {
                if c.is_whitespace() && c != '\u{a0}' {
                    push_piece(&mut cur, *style, &mut buf);
                    if !cur.pieces.is_empty() {
                        words.push(std::mem::replace(
                            &mut cur,
                            Word {
                                pieces: Vec::new(),
                                width: 0.0,
                            },
                        ));
                    }
                } else {
                    buf.push(c);
                }
            }
            push_piece(&mut cur, *style, &mut buf);
        }
        if !cur.pieces.is_empty() {
            words.push(cur);
        }
        words
    }

    /// Cut a word wider than `max` into pieces that fit (long URLs, ids in narrow cells).
    fn split_long(&self, w: Word, max: f32, size: f32) -> Vec<Word> {
        if w.width <= max {
            return vec![w];
        }
        let mut out = Vec::new();
        let mut cur = Word {
            pieces: Vec::new(),
            width: 0.0,
        };
        for p in w.pieces {
            let mut buf = String::new();
            for c in p.text.chars() {
                let cw = self.fonts.width(p.style, size, c.encode_utf8(&mut [0; 4]));
                let bw = self.fonts.width(p.style, size, &buf);
                if cur.width + bw + cw > max && (!buf.is_empty() || !cur.pieces.is_empty()) {
                    if !buf.is_empty() {
                        cur.pieces.push(Piece {
                            style: p.style,
                            text: std::mem::take(&mut buf),
                            width: bw,
                        });
                        cur.width += bw;
                    }
                    out.push(std::mem::replace(
                        &mut cur,
                        Word {
                            pieces: Vec::new(),
                            width: 0.0,
                        },
                    ));
                }
                buf.push(c);
            }
            if !buf.is_empty() {
                let bw = self.fonts.width(p.style, size, &buf);
                cur.pieces.push(Piece {
                    style: p.style,
                    text: buf,
                    width: bw,
                });
                cur.width += bw;
            }
        }
        if !cur.pieces.is_empty() {
            out.push(cur);
        }
        out
    }

    /// Break words into lines of at most `width` (the first line `first_indent` narrower).
    fn lines(&self, words: Vec<Word>, width: f32, first_indent: f32, size: f32) -> Vec<Vec<Word>> {
        let space = self.fonts.width(Style::Regular, size, " ");
        let mut lines: Vec<Vec<Word>> = Vec::new();
        let mut line: Vec<Word> = Vec::new();
        let mut used = 0.0;
        for w in words {
            for w in self.split_long(w, width - first_indent.max(0.0), size) {
                let avail = if lines.is_empty() {
                    width - first_indent
                } else {
                    width
                };
                let need = if line.is_empty() {
                    w.width
                } else {
                    used + space + w.width
                };
                if need > avail && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    used = w.width;
                } else {
                    used = need;
                }
                line.push(w);
            }
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Draw one line of words at baseline `y` within `x .. x + width`.
    #[expect(clippy::too_many_arguments, reason = "a line's geometry and style")]
    fn draw_line(
        &mut self,
        line: &[Word],
        x: f32,
        y: f32,
        width: f32,
        size: f32,
        align: HAlign,
        last: bool,
    ) {
        let space = self.fonts.width(Style::Regular, size, " ");
        let natural: f32 =
            line.iter().map(|w| w.width).sum::<f32>() + space * line.len().saturating_sub(1) as f32;
        let (mut cx, gap) = match align {
            HAlign::Left => (x, space),
            HAlign::Right => (x + width - natural, space),
            HAlign::Center => (x + (width - natural) / 2.0, space),
            HAlign::Justify if !last && line.len() > 1 => {
                (x, space + (width - natural) / (line.len() - 1) as f32)
            }
            HAlign::Justify => (x, space),
        };
        for w in line {
            for p in &w.pieces {
                self.op(Op::Text {
                    x: cx,
                    y,
                    style: p.style,
                    size,
                    text: p.text.clone(),
                    grey: 0,
                });
                cx += p.width;
            }
            cx += gap;
        }
    }

    /// A wrapped paragraph flowing across pages.
    #[expect(
        clippy::too_many_arguments,
        reason = "a paragraph's geometry and style"
    )]
    fn paragraph(
        &mut self,
        runs: &[(Style, &str)],
        x: f32,
        width: f32,
        size: f32,
        lead: f32,
        align: HAlign,
        first_indent: f32,
    ) {
        let words = self.words(runs, size);
        let lines = self.lines(words, width, first_indent, size);
        let n = lines.len();
        for (i, line) in lines.iter().enumerate() {
            self.ensure(lead);
            let indent = if i == 0 { first_indent } else { 0.0 };
            let baseline = self.y + lead * 0.78;
            self.draw_line(
                line,
                x + indent,
                baseline,
                width - indent,
                size,
                align,
                i + 1 == n,
            );
            self.y += lead;
        }
    }

    /// The height of the start of `b` that must stay on the page of a heading before it: a
    /// figure whole, a table's caption, header and first row, three lines of text.
    fn keep_height(&self, b: &Block) -> f32 {
        match b {
            Block::Figure(f) => {
                let (w, h) = chart::size(&f.chart);
                let img = (TEXT_W * h as f32 / w as f32).min((BODY_END - TOP) * 0.7);
                16.0 + img + 4.0 + self.caption_height(&f.caption)
            }
            Block::Table(t) => {
                let cols = t
                    .header
                    .len()
                    .max(t.rows.iter().map(Vec::len).max().unwrap_or(0));
                if cols == 0 {
                    return 0.0;
                }
                let widths = self.column_widths(t, cols);
                let header = self.row_lines(&t.header, &widths, Style::Bold).1;
                let first = t
                    .rows
                    .first()
                    .map_or(0.0, |r| self.row_lines(r, &widths, Style::Regular).1);
                10.0 + self.caption_height(&t.caption) + header + first
            }
            Block::Signature { .. } => BODY_LEAD * 8.0 + 24.0,
            Block::PageBreak => 0.0,
            _ => BODY_LEAD * 3.0,
        }
    }

    fn heading(&mut self, level: u8, text: &str, keep: f32) {
        let (size, align) = match level {
            0 | 1 => (13.0, HAlign::Center),
            _ => (BODY, HAlign::Left),
        };
        // Keep the heading with the start of what follows (within reason: a page at most).
        let before = if level <= 1 { 12.0 } else { 8.0 };
        let own = self.caption_height(text) + 4.0;
        self.ensure((before + own + keep).min(BODY_END - TOP));
        if self.y > TOP {
            self.y += before;
        }
        self.paragraph(
            &[(Style::Bold, text)],
            LEFT,
            TEXT_W,
            size,
            BODY_LEAD,
            align,
            0.0,
        );
        self.y += 4.0;
    }

    fn caption(&mut self, text: &str) {
        self.paragraph(
            &[(Style::Bold, text)],
            LEFT,
            TEXT_W,
            BODY,
            BODY_LEAD,
            HAlign::Center,
            0.0,
        );
    }

    /// The height of a caption, to keep it with its table or figure.
    fn caption_height(&self, text: &str) -> f32 {
        let words = self.words(&[(Style::Bold, text)], BODY);
        self.lines(words, TEXT_W, 0.0, BODY).len() as f32 * BODY_LEAD
    }

    fn cover(&mut self, doc: &Document) {
        self.y = TOP + 120.0;
        let title = doc.title.to_uppercase();
        self.paragraph(
            &[(Style::Bold, &title)],
            LEFT,
            TEXT_W,
            16.0,
            22.0,
            HAlign::Center,
            0.0,
        );
        self.y += 8.0;
        if let Some(s) = &doc.subtitle {
            self.paragraph(
                &[(Style::Bold, s)],
                LEFT,
                TEXT_W,
                13.0,
                18.0,
                HAlign::Center,
                0.0,
            );
        }
        self.y += 60.0;
        if !doc.cover.is_empty() {
            let label_w = doc
                .cover
                .iter()
                .map(|(k, _)| self.fonts.width(Style::Regular, BODY, k))
                .fold(0.0f32, f32::max)
                .min(TEXT_W * 0.4);
            let x0 = LEFT + 40.0;
            let colon = x0 + label_w + 8.0;
            let value_x = colon + 12.0;
            let value_w = LEFT + TEXT_W - 40.0 - value_x;
            for (k, v) in &doc.cover {
                let top = self.y;
                self.paragraph(
                    &[(Style::Regular, k)],
                    x0,
                    label_w,
                    BODY,
                    BODY_LEAD,
                    HAlign::Left,
                    0.0,
                );
                let after_label = self.y;
                self.y = top;
                self.op(Op::Text {
                    x: colon,
                    y: top + BODY_LEAD * 0.78,
                    style: Style::Regular,
                    size: BODY,
                    text: ":".into(),
                    grey: 0,
                });
                self.paragraph(
                    &[(Style::Regular, v)],
                    value_x,
                    value_w,
                    BODY,
                    BODY_LEAD,
                    HAlign::Left,
                    0.0,
                );
                self.y = self.y.max(after_label);
            }
        }
        self.new_page();
    }

    fn block(&mut self, b: &Block, next: Option<&Block>) -> Result<(), Error> {
        match b {
            Block::Heading { level, text } => {
                let keep = next.map_or(0.0, |n| self.keep_height(n));
                self.heading(*level, text, keep);
            }
            Block::Paragraph(runs) => {
                let runs = style_runs(runs);
                let runs: Vec<(Style, &str)> = runs.iter().map(|(s, t)| (*s, *t)).collect();
                self.paragraph(
                    &runs,
                    LEFT,
                    TEXT_W,
                    BODY,
                    BODY_LEAD,
                    HAlign::Justify,
                    INDENT,
                );
                self.y += 6.0;
            }
            Block::List { ordered, items } => {
                for (n, item) in items.iter().enumerate() {
                    let marker = if *ordered {
                        format!("{}.", n + 1)
                    } else {
                        "•".to_string()
                    };
                    self.ensure(BODY_LEAD);
                    let x = LEFT + INDENT;
                    self.op(Op::Text {
                        x,
                        y: self.y + BODY_LEAD * 0.78,
                        style: Style::Regular,
                        size: BODY,
                        text: marker,
                        grey: 0,
                    });
                    let runs = style_runs(item);
                    let runs: Vec<(Style, &str)> = runs.iter().map(|(s, t)| (*s, *t)).collect();
                    let tx = x + 20.0;
                    self.paragraph(
                        &runs,
                        tx,
                        LEFT + TEXT_W - tx,
                        BODY,
                        BODY_LEAD,
                        HAlign::Justify,
                        0.0,
                    );
                    self.y += 2.0;
                }
                self.y += 4.0;
            }
            Block::Table(t) => self.table(t),
            Block::Figure(f) => {
                let png = chart::png(&f.chart)?;
                let w = TEXT_W;
                let mut h = w * png.height as f32 / png.width as f32;
                let max_h = (BODY_END - TOP) * 0.7;
                let w = if h > max_h {
                    let w2 = w * max_h / h;
                    h = max_h;
                    w2
                } else {
                    w
                };
                let cap_h = self.caption_height(&f.caption);
                self.ensure(8.0 + h + 4.0 + cap_h);
                self.y += 8.0;
                self.pngs.push(png.bytes);
                let idx = self.pngs.len() - 1;
                self.op(Op::Image {
                    x: LEFT + (TEXT_W - w) / 2.0,
                    y: self.y,
                    w,
                    h,
                    png: idx,
                });
                self.y += h + 4.0;
                self.caption(&f.caption);
                self.y += 8.0;
            }
            Block::Signature {
                place_date,
                role,
                name,
                id,
            } => {
                let x = LEFT + TEXT_W * 0.5;
                let w = TEXT_W * 0.5;
                self.ensure(BODY_LEAD * 8.0 + 24.0);
                self.y += 24.0;
                for t in [place_date, role] {
                    self.paragraph(
                        &[(Style::Regular, t)],
                        x,
                        w,
                        BODY,
                        BODY_LEAD,
                        HAlign::Center,
                        0.0,
                    );
                }
                self.y += BODY_LEAD * 3.0;
                self.paragraph(
                    &[(Style::Bold, name)],
                    x,
                    w,
                    BODY,
                    BODY_LEAD,
                    HAlign::Center,
                    0.0,
                );
                let nw = self.fonts.width(Style::Bold, BODY, name).min(w);
                let uy = self.y - BODY_LEAD * 0.22 + 1.5;
                self.op(Op::Line {
                    x1: x + (w - nw) / 2.0,
                    y1: uy,
                    x2: x + (w + nw) / 2.0,
                    y2: uy,
                    width: 0.6,
                });
                self.paragraph(
                    &[(Style::Regular, id)],
                    x,
                    w,
                    BODY,
                    BODY_LEAD,
                    HAlign::Center,
                    0.0,
                );
            }
            Block::PageBreak => self.new_page(),
        }
        Ok(())
    }

    /// Column widths: each column's natural width, shrunk toward its longest word when the
    /// table is too wide, then stretched to the text width.
    fn column_widths(&self, t: &Table, cols: usize) -> Vec<f32> {
        let rows = std::iter::once((&t.header, Style::Bold))
            .chain(t.rows.iter().map(|r| (r, Style::Regular)));
        let mut natural = vec![0.0f32; cols];
        let mut min = vec![0.0f32; cols];
        for (row, style) in rows {
            for (c, cell) in row.iter().enumerate().take(cols) {
                let w = self.fonts.width(style, CELL, cell) + 2.0 * CELL_PAD_X;
                natural[c] = natural[c].max(w);
                let longest = cell
                    .split_whitespace()
                    .map(|word| self.fonts.width(style, CELL, word))
                    .fold(0.0f32, f32::max)
                    + 2.0 * CELL_PAD_X;
                min[c] = min[c].max(longest.min(TEXT_W / cols as f32));
            }
        }
        let total: f32 = natural.iter().sum();
        if total <= TEXT_W {
            let extra = (TEXT_W - total) / cols as f32;
            return natural.iter().map(|w| w + extra).collect();
        }
        let min_total: f32 = min.iter().sum();
        if min_total >= TEXT_W {
            return min.iter().map(|w| w * TEXT_W / min_total).collect();
        }
        let flex: f32 = natural.iter().zip(&min).map(|(n, m)| n - m).sum();
        natural
            .iter()
            .zip(&min)
            .map(|(n, m)| m + (n - m) * (TEXT_W - min_total) / flex.max(f32::EPSILON))
            .collect()
    }

    /// A row laid out: each cell's lines and the row's height.
    fn row_lines(
        &self,
        row: &[String],
        widths: &[f32],
        style: Style,
    ) -> (Vec<Vec<Vec<Word>>>, f32) {
        let cells: Vec<Vec<Vec<Word>>> = widths
            .iter()
            .enumerate()
            .map(|(c, w)| {
                let text = row.get(c).map_or("", String::as_str);
                let words = self.words(&[(style, text)], CELL);
                self.lines(words, w - 2.0 * CELL_PAD_X, 0.0, CELL)
            })
            .collect();
        let n = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
        (cells, n as f32 * CELL_LEAD + 2.0 * CELL_PAD_Y)
    }

    fn draw_row(
        &mut self,
        cells: &[Vec<Vec<Word>>],
        widths: &[f32],
        h: f32,
        aligns: &[HAlign],
        header: bool,
    ) {
        let mut x = LEFT;
        for (c, w) in widths.iter().enumerate() {
            self.op(Op::Rect {
                x,
                y: self.y,
                w: *w,
                h,
                fill: header.then_some(217),
                stroke: Some(0.5),
            });
            let n = cells[c].len();
            for (i, line) in cells[c].iter().enumerate() {
                let baseline = self.y + CELL_PAD_Y + CELL_LEAD * i as f32 + CELL_LEAD * 0.78;
                let align = aligns.get(c).copied().unwrap_or(HAlign::Left);
                self.draw_line(
                    line,
                    x + CELL_PAD_X,
                    baseline,
                    w - 2.0 * CELL_PAD_X,
                    CELL,
                    align,
                    i + 1 == n,
                );
            }
            x += w;
        }
        self.y += h;
    }

    fn table(&mut self, t: &Table) {
        let cols = t
            .header
            .len()
            .max(t.rows.iter().map(Vec::len).max().unwrap_or(0));
        if cols == 0 {
            return;
        }
        let widths = self.column_widths(t, cols);
        let header =
            (!t.header.is_empty()).then(|| self.row_lines(&t.header, &widths, Style::Bold));
        let header_h = header.as_ref().map_or(0.0, |h| h.1);
        let aligns: Vec<HAlign> = (0..cols)
            .map(|c| match t.align.get(c).copied().unwrap_or_default() {
                Align::Left => HAlign::Left,
                Align::Right => HAlign::Right,
                Align::Center => HAlign::Center,
            })
            .collect();
        let header_aligns = vec![HAlign::Center; cols];
        let first_row_h = t
            .rows
            .first()
            .map_or(0.0, |r| self.row_lines(r, &widths, Style::Regular).1);

        // Keep the caption with the header and the first row.
        let cap_h = if t.caption.is_empty() {
            0.0
        } else {
            self.caption_height(&t.caption) + 4.0
        };
        self.ensure(6.0 + cap_h + header_h + first_row_h);
        self.y += 6.0;
        if !t.caption.is_empty() {
            self.caption(&t.caption);
            self.y += 4.0;
        }
        if let Some((cells, h)) = &header {
            self.draw_row(cells, &widths, *h, &header_aligns, true);
        }
        for r in &t.rows {
            let (cells, h) = self.row_lines(r, &widths, Style::Regular);
            if self.y + h > BODY_END {
                self.new_page();
                if let Some((hc, hh)) = &header {
                    self.draw_row(hc, &widths, *hh, &header_aligns, true);
                }
            }
            self.draw_row(&cells, &widths, h, &aligns, false);
        }
        self.y += 10.0;
    }

    /// The footer of every page: the document's line on the left, "Halaman N dari M" on the
    /// right (below it when both do not fit on one line).
    fn footers(&mut self, footer: Option<&str>) {
        let total = self.pages.len();
        let fonts = self.fonts;
        // A long line shrinks a little, then is cut with an ellipsis: it stays in the margin.
        let footer_line = footer.map(|f| {
            let fw = fonts.width(Style::Italic, FOOT, f);
            let size = if fw > TEXT_W {
                (FOOT * TEXT_W / fw).max(7.0)
            } else {
                FOOT
            };
            let mut text = f.to_string();
            if fonts.width(Style::Italic, size, &text) > TEXT_W {
                while fonts.width(Style::Italic, size, &format!("{text}…")) > TEXT_W
                    && text.pop().is_some()
                {}
                text.push('…');
            }
            (text, size)
        });
        for (i, page) in self.pages.iter_mut().enumerate() {
            let label = format!("Halaman {} dari {}", i + 1, total);
            let lw = fonts.width(Style::Regular, FOOT, &label);
            let base = PAGE_H - BOTTOM + 30.0;
            page.push(Op::Line {
                x1: LEFT,
                y1: base - 12.0,
                x2: LEFT + TEXT_W,
                y2: base - 12.0,
                width: 0.5,
            });
            let mut label_y = base;
            if let Some((text, size)) = &footer_line {
                let fw = fonts.width(Style::Italic, *size, text);
                page.push(Op::Text {
                    x: LEFT,
                    y: base,
                    style: Style::Italic,
                    size: *size,
                    text: text.clone(),
                    grey: 64,
                });
                if fw + lw + 12.0 > TEXT_W {
                    label_y = base + 11.0;
                }
            }
            page.push(Op::Text {
                x: LEFT + TEXT_W - lw,
                y: label_y,
                style: Style::Regular,
                size: FOOT,
                text: label,
                grey: 64,
            });
        }
    }
}

/// Inline runs as (style, text).
fn style_runs(runs: &[Inline]) -> Vec<(Style, &str)> {
    runs.iter()
        .map(|r| match r {
            Inline::Text(t) => (Style::Regular, t.as_str()),
            Inline::Bold(t) => (Style::Bold, t.as_str()),
            Inline::Italic(t) => (Style::Italic, t.as_str()),
        })
        .collect()
}

fn grey(g: u8) -> rgb::Color {
    rgb::Color::new(g, g, g)
}

/// The document as PDF bytes.
pub(super) fn render(doc: &Document) -> Result<Vec<u8>, Error> {
    let fonts = fonts()?;
    let mut lay = Layout::new(fonts);
    lay.cover(doc);
    for (i, b) in doc.blocks.iter().enumerate() {
        lay.block(b, doc.blocks.get(i + 1))?;
    }
    // A trailing page break or a body that ended exactly at a page's end leaves an empty page.
    if lay.pages.len() > 1 && lay.pages.last().is_some_and(Vec::is_empty) {
        lay.pages.pop();
    }
    lay.footers(doc.footer.as_deref());

    let images: Vec<Image> = lay
        .pngs
        .iter()
        .map(|b| {
            Image::from_png(b.clone().into(), true)
                .map_err(|e| Error::Render(format!("embedding a chart: {e}")))
        })
        .collect::<Result<_, _>>()?;

    let mut pdf = PdfDocument::new();
    pdf.set_metadata(
        Metadata::new()
            .title(doc.title.clone())
            .language("id".into())
            .creator("juknis".into()),
    );
    let size = PageSettings::from_wh(PAGE_W, PAGE_H)
        .ok_or_else(|| Error::Render("bad page size".into()))?;
    for ops in &lay.pages {
        let mut page = pdf.start_page_with(size.clone());
        let mut s = page.surface();
        for op in ops {
            match op {
                Op::Text {
                    x,
                    y,
                    style,
                    size,
                    text,
                    grey: g,
                } => {
                    s.set_fill(Some(Fill {
                        paint: grey(*g).into(),
                        opacity: NormalizedF32::ONE,
                        rule: FillRule::NonZero,
                    }));
                    s.draw_text(
                        Point::from_xy(*x, *y),
                        fonts.get(*style).font.clone(),
                        *size,
                        text,
                        false,
                        TextDirection::Auto,
                    );
                }
                Op::Rect {
                    x,
                    y,
                    w,
                    h,
                    fill,
                    stroke,
                } => {
                    let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else {
                        continue;
                    };
                    let mut pb = PathBuilder::new();
                    pb.push_rect(rect);
                    let Some(path) = pb.finish() else { continue };
                    s.set_fill(fill.map(|g| Fill {
                        paint: grey(g).into(),
                        opacity: NormalizedF32::ONE,
                        rule: FillRule::NonZero,
                    }));
                    s.set_stroke(stroke.map(|width| Stroke {
                        paint: grey(0).into(),
                        width,
                        ..Default::default()
                    }));
                    s.draw_path(&path);
                    s.set_stroke(None);
                }
                Op::Line {
                    x1,
                    y1,
                    x2,
                    y2,
                    width,
                } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(*x1, *y1);
                    pb.line_to(*x2, *y2);
                    let Some(path) = pb.finish() else { continue };
                    s.set_fill(None);
                    s.set_stroke(Some(Stroke {
                        paint: grey(0).into(),
                        width: *width,
                        ..Default::default()
                    }));
                    s.draw_path(&path);
                    s.set_stroke(None);
                }
                Op::Image { x, y, w, h, png } => {
                    let Some(sz) = Size::from_wh(*w, *h) else {
                        continue;
                    };
                    s.push_transform(&krilla::geom::Transform::from_translate(*x, *y));
                    s.draw_image(images[*png].clone(), sz);
                    s.pop();
                }
            }
        }
        s.finish();
        page.finish();
    }
    pdf.finish()
        .map_err(|e| Error::Render(format!("writing the PDF: {e:?}")))
}
