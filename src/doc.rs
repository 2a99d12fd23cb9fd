//! Documents the appliance writes (the kajian teknis for a bandwidth change, the semester usage
//! report): one model, three outputs (HTML, DOCX, PDF). Domains build a [`Document`] from
//! measurements; this module knows nothing of bandwidth or look-ups, only of headings,
//! paragraphs, tables and charts.
//!
//! Text is plain Unicode: renderers escape it for their format. Charts are data, not pictures:
//! each renderer draws them (SVG in HTML, PNG in DOCX and PDF) so a document stays one source.

use std::io::Write as _;
use std::path::Path;

mod chart;
mod docx;
mod html;
mod pdf;
#[cfg(test)]
mod tests;

/// A document: a cover (title, subtitle, key facts) and a body of blocks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    /// The title on the cover and in the file's metadata.
    pub title: String,
    /// A line under the title (the OPD, the period).
    pub subtitle: Option<String>,
    /// Key facts on the cover, as label/value rows ("Nomor PKS", "Periode").
    pub cover: Vec<(String, String)>,
    /// The body, in order.
    pub blocks: Vec<Block>,
    /// A line at the foot of every page (PDF, DOCX) or of the page (HTML).
    pub footer: Option<String>,
}

/// One block of the body.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A heading; `level` 1 is a chapter ("BAB I ..." is up to the author), 2 and 3 sections.
    Heading {
        level: u8,
        text: String,
    },
    /// A paragraph of runs.
    Paragraph(Vec<Inline>),
    /// A bulleted or numbered list; each item is a run of inlines.
    List {
        ordered: bool,
        items: Vec<Vec<Inline>>,
    },
    Table(Table),
    Figure(Figure),
    /// A signature block at the end of a letter: place and date, role, name, id number.
    Signature {
        place_date: String,
        role: String,
        name: String,
        id: String,
    },
    /// Start a new page (an annex, a letter). HTML renders a print page break.
    PageBreak,
}

/// A run of text with one style.
#[derive(Clone, Debug, PartialEq)]
pub enum Inline {
    Text(String),
    Bold(String),
    Italic(String),
}

/// A table with a caption ("Tabel 3. ..."), a header row and body rows of equal width.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub caption: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Per-column alignment; missing columns are left-aligned.
    pub align: Vec<Align>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Align {
    #[default]
    Left,
    Right,
    Center,
}

/// A chart with a caption ("Gambar 2. ...").
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub caption: String,
    pub chart: Chart,
}

/// A chart's data. Renderers choose sizes, colours and fonts.
#[derive(Clone, Debug, PartialEq)]
pub struct Chart {
    pub kind: ChartKind,
    pub x_label: String,
    pub y_label: String,
    /// The x positions shared by every series.
    pub x: XAxis,
    pub series: Vec<Series>,
    /// Horizontal reference lines (a contracted bandwidth, a target) with their labels.
    pub rules: Vec<(String, f64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartKind {
    /// Lines through the points; `None` values break the line.
    Line,
    /// Bars, one group per x position, one bar per series.
    Bar,
    /// A grid: `series` are rows (their names label the rows), `x` the columns; the value is
    /// the cell's colour intensity (for hour-of-week views: 7 rows × 24 columns).
    Heatmap,
}

/// The x axis: instants (Unix seconds, shown as WIB dates) or categories.
#[derive(Clone, Debug, PartialEq)]
pub enum XAxis {
    Time(Vec<i64>),
    Categories(Vec<String>),
}

/// One named series; `values` align with the x axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// The output formats, chosen by the output file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Html,
    Docx,
    Pdf,
}

impl Format {
    /// The format for `path`'s extension, or an error naming the accepted ones.
    pub fn from_path(path: &Path) -> Result<Self, Error> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("html" | "htm") => Ok(Format::Html),
            Some("docx") => Ok(Format::Docx),
            Some("pdf") => Ok(Format::Pdf),
            _ => Err(Error::UnknownFormat(path.display().to_string())),
        }
    }
}

/// Why a document could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}: unknown document format; use .html, .docx or .pdf")]
    UnknownFormat(String),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("rendering the document: {0}")]
    Render(String),
}

impl Block {
    /// A paragraph of plain text.
    pub fn text(s: impl Into<String>) -> Self {
        Block::Paragraph(vec![Inline::Text(s.into())])
    }

    /// A heading.
    pub fn heading(level: u8, s: impl Into<String>) -> Self {
        Block::Heading {
            level,
            text: s.into(),
        }
    }

    /// A bulleted list of plain-text items.
    pub fn bullets<I, S>(items: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Block::List {
            ordered: false,
            items: items
                .into_iter()
                .map(|s| vec![Inline::Text(s.into())])
                .collect(),
        }
    }
}

impl Document {
    /// The document's text in reading order, one block a line (tables row by row, cells
    /// separated by " | "), for tests and search. Charts give their caption only.
    pub fn plain_text(&self) -> String {
        let mut out = String::new();
        let runs = |v: &[Inline]| {
            v.iter()
                .map(|i| match i {
                    Inline::Text(s) | Inline::Bold(s) | Inline::Italic(s) => s.as_str(),
                })
                .collect::<String>()
        };
        out.push_str(&self.title);
        out.push('\n');
        if let Some(s) = &self.subtitle {
            out.push_str(s);
            out.push('\n');
        }
        for (k, v) in &self.cover {
            out.push_str(&format!("{k}: {v}\n"));
        }
        for b in &self.blocks {
            match b {
                Block::Heading { text, .. } => out.push_str(text),
                Block::Paragraph(r) => out.push_str(&runs(r)),
                Block::List { items, .. } => {
                    let lines: Vec<String> =
                        items.iter().map(|i| format!("- {}", runs(i))).collect();
                    out.push_str(&lines.join("\n"));
                }
                Block::Table(t) => {
                    out.push_str(&t.caption);
                    for row in std::iter::once(&t.header).chain(&t.rows) {
                        out.push('\n');
                        out.push_str(&row.join(" | "));
                    }
                }
                Block::Figure(f) => out.push_str(&f.caption),
                Block::Signature {
                    place_date,
                    role,
                    name,
                    id,
                } => out.push_str(&format!("{place_date}\n{role}\n{name}\n{id}")),
                Block::PageBreak => continue,
            }
            out.push('\n');
        }
        out
    }
}

impl Document {
    /// The document in `format`, as the bytes of a file. The same document always gives the same
    /// bytes (no clock, no random ids), so outputs can be compared and archived.
    pub fn render(&self, format: Format) -> Result<Vec<u8>, Error> {
        match format {
            Format::Html => html::render(self).map(String::into_bytes),
            Format::Docx => docx::render(self),
            Format::Pdf => pdf::render(self),
        }
    }

    /// Render to `path` in the format its extension names, atomically: the bytes go to a
    /// temporary file beside it that is renamed over `path` only when complete, so a reader never
    /// sees half a document and a failed render leaves any earlier file in place.
    pub fn write(&self, path: &Path) -> Result<Format, Error> {
        let format = Format::from_path(path)?;
        let bytes = self.render(format)?;
        write_atomic(path, &bytes).map_err(|source| Error::Write {
            path: path.display().to_string(),
            source,
        })?;
        Ok(format)
    }
}

/// Write `bytes` to a temporary file in `path`'s directory, sync it, then rename it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    // Unique per process and call, so two writers of the same path never share a temporary.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    tmp_name.push(format!(".{}.{seq}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        // Best effort: the temporary file is ours and useless now.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
