//! Charts drawn from a [`Chart`]'s data with plotters: SVG for HTML, PNG at twice the logical
//! size for DOCX and PDF. Text uses the embedded Liberation Sans (ab_glyph), so no system font
//! library is involved and a PNG looks the same on every machine.
//!
//! Bad data never panics: missing, NaN or infinite values are gaps, series longer or shorter
//! than the x axis are cut or padded, and a chart with nothing to draw says "Tidak ada data".

use std::ops::Range;
use std::sync::OnceLock;

use chrono::{FixedOffset, TimeZone as _};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Chart, ChartKind, Error, XAxis};

/// The chart font, registered with plotters once under this family name.
const FAMILY: &str = "sans-serif";
static SANS: &[u8] = include_bytes!("../../data/fonts/LiberationSans-Regular.ttf");

/// Logical width of every chart, in CSS pixels (about the text width of an A4 page).
const WIDTH: u32 = 760;
/// Pixels per logical pixel in PNG output: sharp when printed at the page's width.
pub(super) const PNG_SCALE: u32 = 2;

/// Series colours: dark and distinct enough on paper and in greyscale print.
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 78, 121),
    RGBColor(197, 90, 17),
    RGBColor(84, 130, 53),
    RGBColor(112, 48, 160),
    RGBColor(191, 144, 0),
    RGBColor(89, 89, 89),
];
const RULE: RGBColor = RGBColor(192, 0, 0);
const GRID: RGBColor = RGBColor(217, 217, 217);
const MISSING: RGBColor = RGBColor(238, 238, 238);

/// A chart as PNG bytes with its size in pixels.
pub(super) struct Png {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// The logical size of `chart` (a heatmap grows with its rows).
pub(super) fn size(chart: &Chart) -> (u32, u32) {
    match chart.kind {
        ChartKind::Heatmap if !is_empty(chart) => {
            let rows = chart.series.len() as u32;
            (WIDTH, (rows * 26 + 110).clamp(220, 900))
        }
        _ => (WIDTH, 380),
    }
}

/// The chart as an SVG element (no XML prolog), to inline in HTML.
pub(super) fn svg(chart: &Chart) -> Result<String, Error> {
    ensure_font()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size(chart)).into_drawing_area();
        draw(&root, chart, 1.0)?;
        root.present().map_err(render_err)?;
    }
    Ok(out)
}

/// The chart as a PNG at [`PNG_SCALE`] times its logical size.
pub(super) fn png(chart: &Chart) -> Result<Png, Error> {
    ensure_font()?;
    let (w, h) = size(chart);
    let (width, height) = (w * PNG_SCALE, h * PNG_SCALE);
    let mut rgb = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        draw(&root, chart, f64::from(PNG_SCALE))?;
        root.present().map_err(render_err)?;
    }
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(render_err)?;
        writer.write_image_data(&rgb).map_err(render_err)?;
        writer.finish().map_err(render_err)?;
    }
    Ok(Png {
        bytes,
        width,
        height,
    })
}

fn render_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Render(format!("drawing a chart: {e:?}"))
}

fn ensure_font() -> Result<(), Error> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, SANS).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::Render("the embedded chart font is invalid".into()))
    }
}

/// True when the chart has no value to draw.
fn is_empty(chart: &Chart) -> bool {
    let n = x_len(&chart.x);
    n == 0
        || !chart
            .series
            .iter()
            .any(|s| s.values.iter().take(n).any(|v| value(*v).is_some()))
}

fn x_len(x: &XAxis) -> usize {
    match x {
        XAxis::Time(t) => t.len(),
        XAxis::Categories(c) => c.len(),
    }
}

/// A usable value: present and finite.
fn value(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite())
}

/// Sizes in logical pixels, scaled for the backend.
#[derive(Clone, Copy)]
struct Scale(f64);

impl Scale {
    fn px(self, v: f64) -> i32 {
        (v * self.0).round() as i32
    }
    fn upx(self, v: f64) -> u32 {
        (v * self.0).round().max(0.0) as u32
    }
    fn font(self, size: f64) -> TextStyle<'static> {
        (FAMILY, size * self.0).into_font().color(&BLACK)
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    scale: f64,
) -> Result<(), Error> {
    let s = Scale(scale);
    root.fill(&WHITE).map_err(render_err)?;
    if is_empty(chart) {
        return draw_empty(root, s);
    }
    match chart.kind {
        ChartKind::Line | ChartKind::Bar => draw_xy(root, chart, s),
        ChartKind::Heatmap => draw_heatmap(root, chart, s),
    }
}

fn draw_empty<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, s: Scale) -> Result<(), Error> {
    let (w, h) = root.dim_in_pixel();
    let (w, h) = (w as i32, h as i32);
    let m = s.px(10.0);
    root.draw(&Rectangle::new(
        [(m, m), (w - m, h - m)],
        GRID.stroke_width(s.upx(1.0)),
    ))
    .map_err(render_err)?;
    let style = s.font(18.0).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new("Tidak ada data", (w / 2, h / 2), style))
        .map_err(render_err)?;
    Ok(())
}

/// The x axis: instants (Unix seconds) or `n` categories centred at `i + 0.5`.
#[derive(Clone)]
enum XRange {
    Time { lo: f64, hi: f64 },
    Cat { n: usize, reverse: bool },
}

impl XRange {
    fn bounds(&self) -> (f64, f64) {
        match self {
            XRange::Time { lo, hi } => (*lo, *hi),
            XRange::Cat { n, .. } => (0.0, *n as f64),
        }
    }
}

impl Ranged for XRange {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (lo, hi) = self.bounds();
        let mut t = (value - lo) / (hi - lo);
        if let XRange::Cat { reverse: true, .. } = self {
            t = 1.0 - t;
        }
        limit.0 + (t * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let max = hint.max_num_points().max(1);
        match self {
            XRange::Cat { n, .. } => {
                let step = n.div_ceil(max).max(1);
                (0..*n).step_by(step).map(|i| i as f64 + 0.5).collect()
            }
            XRange::Time { lo, hi } => time_ticks(*lo as i64, *hi as i64, max)
                .into_iter()
                .map(|t| t as f64)
                .collect(),
        }
    }

    fn range(&self) -> Range<f64> {
        let (lo, hi) = self.bounds();
        lo..hi
    }
}

// Labels come from the charts' own formatters; this is only the trait's fallback.
impl ValueFormatter<f64> for XRange {
    fn format(value: &f64) -> String {
        value.to_string()
    }
}

fn wib() -> FixedOffset {
    // WIB is UTC+7 all year (no daylight saving).
    FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
}

const DAY: i64 = 86_400;

/// Tick instants between `lo` and `hi`: whole WIB days (or hours for short spans), at most
/// `max` of them.
fn time_ticks(lo: i64, hi: i64, max: usize) -> Vec<i64> {
    const STEPS: [i64; 12] = [
        3600,
        2 * 3600,
        3 * 3600,
        6 * 3600,
        12 * 3600,
        DAY,
        2 * DAY,
        7 * DAY,
        14 * DAY,
        28 * DAY,
        91 * DAY,
        182 * DAY,
    ];
    let span = (hi - lo).max(1);
    let step = STEPS
        .iter()
        .copied()
        .find(|st| span / st < max as i64)
        .unwrap_or(span / max as i64 + 1);
    // Align to WIB: local midnight is 17:00 UTC.
    let offset = 7 * 3600;
    let first = (lo + offset).div_euclid(step) * step - offset;
    let first = if first < lo { first + step } else { first };
    let mut out = Vec::new();
    let mut t = first;
    while t <= hi && out.len() <= max {
        out.push(t);
        t += step;
    }
    out
}

/// `dd/mm` in WIB, with the hour when ticks are closer than a day.
fn wib_label(t: i64, with_hour: bool) -> String {
    match wib().timestamp_opt(t, 0).single() {
        Some(d) if with_hour => d.format("%d/%m %H.%M").to_string(),
        Some(d) => d.format("%d/%m").to_string(),
        None => t.to_string(),
    }
}

/// A number the Indonesian way: `.` between thousands, `,` before decimals.
pub(super) fn id_number(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (s.clone(), None),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(c);
    }
    let neg = v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0');
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    out.push_str(&grouped);
    if let Some(f) = frac {
        out.push(',');
        out.push_str(&f);
    }
    out
}

/// Decimals that tell ticks `step` apart.
fn decimals_for(step: f64) -> usize {
    if step >= 1.0 {
        0
    } else if step >= 0.1 {
        1
    } else if step >= 0.01 {
        2
    } else {
        3
    }
}

/// Values aligned with the x axis (cut or padded), unusable ones as `None`.
fn aligned(values: &[Option<f64>], n: usize) -> Vec<Option<f64>> {
    (0..n)
        .map(|i| values.get(i).copied().and_then(value))
        .collect()
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    names: &[&str],
    s: Scale,
) -> Result<(), Error> {
    let font = s.font(13.5);
    let mut x = s.px(70.0);
    let y = s.px(14.0);
    for (i, name) in names.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        area.draw(&Rectangle::new(
            [(x, y - s.px(6.0)), (x + s.px(14.0), y + s.px(6.0))],
            color.filled(),
        ))
        .map_err(render_err)?;
        x += s.px(20.0);
        area.draw(&Text::new(
            name.to_string(),
            (x, y),
            font.pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(render_err)?;
        let (tw, _) = area.estimate_text_size(name, &font).map_err(render_err)?;
        x += tw as i32 + s.px(18.0);
    }
    Ok(())
}

/// Line and bar charts: numeric y, x as time or categories.
fn draw_xy<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    s: Scale,
) -> Result<(), Error> {
    let n = x_len(&chart.x);
    let series: Vec<Vec<Option<f64>>> = chart
        .series
        .iter()
        .map(|se| aligned(&se.values, n))
        .collect();

    let area = if chart.series.len() > 1 {
        let (top, rest) = root.split_vertically(s.px(28.0));
        let names: Vec<&str> = chart.series.iter().map(|se| se.name.as_str()).collect();
        draw_legend(&top, &names, s)?;
        rest
    } else {
        root.clone()
    };

    // y range: zero, every value and every rule, with a little headroom.
    let rules: Vec<(&str, f64)> = chart
        .rules
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(l, v)| (l.as_str(), *v))
        .collect();
    let all = series.iter().flatten().flatten().copied();
    let (mut lo, mut hi) = all
        .chain(rules.iter().map(|r| r.1))
        .fold((0.0f64, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi <= lo {
        hi = lo + 1.0;
    }
    let pad = (hi - lo) * 0.08;
    hi += pad;
    if lo < 0.0 {
        lo -= pad;
    }
    let y_step = (hi - lo) / 8.0;
    let y_dec = decimals_for(y_step);

    // x positions and the axis.
    let (xr, xs, with_hour): (XRange, Vec<f64>, bool) = match (&chart.x, chart.kind) {
        (XAxis::Time(t), ChartKind::Line) => {
            let lo = t.iter().copied().min().unwrap_or(0);
            let hi = t.iter().copied().max().unwrap_or(0);
            let (lo, hi) = if hi > lo {
                (lo, hi)
            } else {
                (lo - DAY / 2, hi + DAY / 2)
            };
            let hourly = hi - lo < 4 * DAY;
            (
                XRange::Time {
                    lo: lo as f64,
                    hi: hi as f64,
                },
                t.iter().map(|v| *v as f64).collect(),
                hourly,
            )
        }
        _ => (
            XRange::Cat { n, reverse: false },
            (0..n).map(|i| i as f64 + 0.5).collect(),
            false,
        ),
    };
    let labels: Vec<String> = match &chart.x {
        XAxis::Categories(c) => c.clone(),
        XAxis::Time(t) => t.iter().map(|v| wib_label(*v, false)).collect(),
    };
    let x_fmt = |v: &f64| -> String {
        match &xr {
            XRange::Time { .. } => wib_label(*v as i64, with_hour),
            XRange::Cat { .. } => labels
                .get(v.floor().max(0.0) as usize)
                .cloned()
                .unwrap_or_default(),
        }
    };
    let (x_lo, x_hi) = xr.bounds();

    let mut cc = ChartBuilder::on(&area)
        .margin_top(s.px(12.0))
        .margin_right(s.px(20.0))
        .margin_left(s.px(8.0))
        .margin_bottom(s.px(6.0))
        .x_label_area_size(s.px(44.0))
        .y_label_area_size(s.px(70.0))
        .build_cartesian_2d(xr.clone(), lo..hi)
        .map_err(render_err)?;
    let y_fmt = |v: &f64| id_number(*v, y_dec);
    let mut mesh = cc.configure_mesh();
    mesh.x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .label_style(s.font(13.5))
        .axis_desc_style(s.font(14.5))
        .x_labels(12)
        .y_labels(8)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .bold_line_style(GRID.stroke_width(s.upx(1.0)))
        .light_line_style(TRANSPARENT)
        .axis_style(BLACK.stroke_width(s.upx(1.0)));
    if chart.kind == ChartKind::Bar {
        mesh.disable_x_mesh();
    }
    mesh.draw().map_err(render_err)?;

    match chart.kind {
        ChartKind::Bar => {
            let k = series.len().max(1) as f64;
            let slot = 0.8 / k;
            let base = 0.0f64.clamp(lo, hi);
            for (j, vals) in series.iter().enumerate() {
                let color = PALETTE[j % PALETTE.len()];
                let bars = vals.iter().enumerate().filter_map(|(i, v)| {
                    let v = (*v)?;
                    let x0 = i as f64 + 0.1 + j as f64 * slot;
                    Some(Rectangle::new(
                        [(x0 + slot * 0.05, base), (x0 + slot * 0.95, v)],
                        color.filled(),
                    ))
                });
                cc.draw_series(bars).map_err(render_err)?;
            }
        }
        _ => {
            for (j, vals) in series.iter().enumerate() {
                let color = PALETTE[j % PALETTE.len()];
                // Runs of present values; a gap breaks the line.
                let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
                for (i, v) in vals.iter().enumerate() {
                    match v {
                        Some(v) => runs.last_mut().map(|r| r.push((xs[i], *v))).unwrap_or(()),
                        None => runs.push(Vec::new()),
                    }
                }
                for run in runs.into_iter().filter(|r| !r.is_empty()) {
                    if run.len() == 1 {
                        cc.draw_series(
                            run.iter()
                                .map(|p| Circle::new(*p, s.upx(2.5), color.filled())),
                        )
                        .map_err(render_err)?;
                    } else {
                        cc.draw_series(LineSeries::new(run, color.stroke_width(s.upx(2.0))))
                            .map_err(render_err)?;
                    }
                }
            }
        }
    }

    for (label, v) in &rules {
        cc.draw_series(DashedLineSeries::new(
            [(x_lo, *v), (x_hi, *v)],
            s.px(7.0),
            s.px(4.0),
            RULE.stroke_width(s.upx(1.5)),
        ))
        .map_err(render_err)?;
        let style = s
            .font(12.0)
            .color(&RULE)
            .pos(Pos::new(HPos::Right, VPos::Bottom));
        cc.draw_series(std::iter::once(
            EmptyElement::at((x_hi, *v))
                + Text::new(label.to_string(), (-s.px(4.0), -s.px(3.0)), style),
        ))
        .map_err(render_err)?;
    }
    Ok(())
}

/// The colour of `t` in 0..=1 on a white-to-dark-blue scale.
fn heat(t: f64) -> RGBColor {
    const STOPS: [(f64, (f64, f64, f64)); 3] = [
        (0.0, (247.0, 251.0, 255.0)),
        (0.5, (107.0, 174.0, 214.0)),
        (1.0, (8.0, 48.0, 107.0)),
    ];
    let t = t.clamp(0.0, 1.0);
    let (a, b) = if t <= 0.5 {
        (STOPS[0], STOPS[1])
    } else {
        (STOPS[1], STOPS[2])
    };
    let u = (t - a.0) / (b.0 - a.0);
    let mix = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
    RGBColor(mix(a.1.0, b.1.0), mix(a.1.1, b.1.1), mix(a.1.2, b.1.2))
}

/// Heatmap: series are rows (top to bottom), x positions are columns, value is colour.
fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    s: Scale,
) -> Result<(), Error> {
    let n = x_len(&chart.x);
    let rows: Vec<Vec<Option<f64>>> = chart
        .series
        .iter()
        .map(|se| aligned(&se.values, n))
        .collect();
    let nr = rows.len();
    let (vmin, vmax) = rows
        .iter()
        .flatten()
        .flatten()
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let span = if vmax > vmin { vmax - vmin } else { 1.0 };

    let (main, legend) = root.split_horizontally(root.dim_in_pixel().0 as i32 - s.px(100.0));

    let col_labels: Vec<String> = match &chart.x {
        XAxis::Categories(c) => c.clone(),
        XAxis::Time(t) => t.iter().map(|v| wib_label(*v, false)).collect(),
    };
    let row_labels: Vec<&str> = chart.series.iter().map(|se| se.name.as_str()).collect();
    let font = s.font(13.5);
    let widest = row_labels
        .iter()
        .map(|l| main.estimate_text_size(l, &font).map(|(w, _)| w))
        .collect::<Result<Vec<u32>, _>>()
        .map_err(render_err)?
        .into_iter()
        .max()
        .unwrap_or(0);
    let y_area = (widest + s.upx(14.0)).min(s.upx(200.0)) + s.upx(22.0);

    let mut cc = ChartBuilder::on(&main)
        .margin_top(s.px(12.0))
        .margin_right(s.px(10.0))
        .margin_left(s.px(8.0))
        .margin_bottom(s.px(6.0))
        .x_label_area_size(s.px(44.0))
        .y_label_area_size(y_area)
        .build_cartesian_2d(
            XRange::Cat { n, reverse: false },
            XRange::Cat {
                n: nr,
                reverse: true,
            },
        )
        .map_err(render_err)?;
    let x_fmt = |v: &f64| {
        col_labels
            .get(v.floor().max(0.0) as usize)
            .cloned()
            .unwrap_or_default()
    };
    let y_fmt = |v: &f64| {
        row_labels
            .get(v.floor().max(0.0) as usize)
            .map(|l| l.to_string())
            .unwrap_or_default()
    };
    cc.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .label_style(font.clone())
        .axis_desc_style(s.font(14.5))
        .x_labels(24)
        .y_labels(nr)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .disable_mesh()
        .axis_style(BLACK.stroke_width(s.upx(1.0)))
        .draw()
        .map_err(render_err)?;

    let cells = rows.iter().enumerate().flat_map(|(r, vals)| {
        vals.iter().enumerate().map(move |(c, v)| {
            let color = match v {
                Some(v) => heat((v - vmin) / span),
                None => MISSING,
            };
            let (x, y) = (c as f64, r as f64);
            Rectangle::new([(x, y), (x + 1.0, y + 1.0)], color.filled())
        })
    });
    cc.draw_series(cells).map_err(render_err)?;

    // The colour scale: a vertical bar, high values at the top, with min, middle and max.
    let (_, lh) = legend.dim_in_pixel();
    let top = s.px(20.0);
    let bottom = lh as i32 - s.px(50.0);
    let (x0, x1) = (s.px(12.0), s.px(30.0));
    let steps = 64;
    let hgt = (bottom - top).max(1);
    for i in 0..steps {
        let ya = top + hgt * i / steps;
        let yb = top + hgt * (i + 1) / steps;
        let t = 1.0 - (f64::from(i) + 0.5) / f64::from(steps);
        legend
            .draw(&Rectangle::new([(x0, ya), (x1, yb)], heat(t).filled()))
            .map_err(render_err)?;
    }
    legend
        .draw(&Rectangle::new(
            [(x0, top), (x1, bottom)],
            BLACK.stroke_width(s.upx(1.0)),
        ))
        .map_err(render_err)?;
    let dec = decimals_for(span / 4.0);
    let label_style = font.pos(Pos::new(HPos::Left, VPos::Center));
    for (v, y) in [
        (vmax, top),
        ((vmin + vmax) / 2.0, (top + bottom) / 2),
        (vmin, bottom),
    ] {
        legend
            .draw(&Text::new(
                id_number(v, dec),
                (x1 + s.px(5.0), y),
                label_style.clone(),
            ))
            .map_err(render_err)?;
    }
    Ok(())
}
