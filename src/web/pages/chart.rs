//! Server-side SVG charts, no JavaScript: SmokePing-style latency (median line coloured by
//! loss over a smoke of min..max and p50..p90), and plain lines for loss, jitter, bandwidth.

use std::fmt::Write;

use crate::web::i18n::wib;

/// One bucket.
#[derive(Clone, Debug, Default)]
pub struct Point {
    pub t: i64,
    pub min: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub max: Option<f64>,
    pub loss: Option<f64>,
}

const W: f64 = 760.0;
const H: f64 = 220.0;
const L: f64 = 64.0;
const R: f64 = 12.0;
const T: f64 = 12.0;
const B: f64 = 30.0;

/// The colour of a median segment, by loss (SmokePing's idea: green is clean).
pub fn loss_colour(loss: Option<f64>) -> &'static str {
    match loss {
        None => "#6e7781",
        Some(l) if l <= 0.0 => "#1a7f37",
        Some(l) if l <= 0.01 => "#0969da",
        Some(l) if l <= 0.05 => "#8250df",
        Some(l) if l <= 0.20 => "#bf8700",
        Some(_) => "#cf222e",
    }
}

/// The legend of [`loss_colour`].
pub const LOSS_LEGEND: [(&str, &str); 5] = [
    ("#1a7f37", "0%"),
    ("#0969da", "≤1%"),
    ("#8250df", "≤5%"),
    ("#bf8700", "≤20%"),
    ("#cf222e", ">20%"),
];

struct Frame {
    from: i64,
    to: i64,
    top: f64,
}

impl Frame {
    fn x(&self, t: i64) -> f64 {
        let span = (self.to - self.from).max(1) as f64;
        L + (t - self.from) as f64 / span * (W - L - R)
    }
    fn y(&self, v: f64) -> f64 {
        H - B - (v / self.top).clamp(0.0, 1.05) * (H - T - B)
    }
}

/// A "nice" axis top above `max`.
fn nice(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= max {
            return m * mag;
        }
    }
    10.0 * mag
}

fn open(s: &mut String, f: &Frame, title: &str, fmt: &dyn Fn(f64) -> String) {
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{title}\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    let _ = write!(
        s,
        "<rect x=\"{L}\" y=\"{T}\" width=\"{}\" height=\"{}\" fill=\"#fbfcfd\" stroke=\"#d0d7de\"/>",
        W - L - R,
        H - T - B
    );
    for i in 0..=4 {
        let v = f.top * f64::from(i) / 4.0;
        let y = f.y(v);
        let _ = write!(
            s,
            "<line x1=\"{L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eaeef2\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" class=\"ax\">{}</text>",
            W - R,
            L - 6.0,
            y + 4.0,
            fmt(v)
        );
    }
    for (i, anchor) in [(0, "start"), (1, "middle"), (2, "end")] {
        let t = f.from + (f.to - f.from) * i / 2;
        let label = wib(t);
        let label = label.get(5..16).unwrap_or(&label);
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{anchor}\" class=\"ax\">{label}</text>",
            f.x(t),
            H - 10.0
        );
    }
}

/// The latency chart: smoke and a median line coloured by loss. Values are seconds, shown
/// in milliseconds.
pub fn smoke(points: &[Point], from: i64, to: i64, step: i64, title: &str) -> String {
    let max = points
        .iter()
        .filter_map(|p| p.max.or(p.p90).or(p.p50))
        .fold(0.0, f64::max);
    let f = Frame {
        from,
        to,
        top: nice(max * 1000.0) / 1000.0,
    };
    let mut s = String::new();
    open(&mut s, &f, title, &|v| format!("{:.0} ms", v * 1000.0));
    let w = (f.x(from + step) - f.x(from)).max(1.0);
    for p in points {
        let x = f.x(p.t);
        if let (Some(lo), Some(hi)) = (p.min, p.max) {
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"#d8dee4\"/>",
                f.y(hi),
                (f.y(lo) - f.y(hi)).max(0.5)
            );
        }
        if let (Some(lo), Some(hi)) = (p.p50, p.p90) {
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"#8c959f\"/>",
                f.y(hi),
                (f.y(lo) - f.y(hi)).max(0.5)
            );
        }
    }
    let mut prev: Option<(f64, f64)> = None;
    for p in points {
        let Some(m) = p.p50 else {
            prev = None;
            continue;
        };
        let (x, y) = (f.x(p.t) + w / 2.0, f.y(m));
        let c = loss_colour(p.loss);
        if let Some((px, py)) = prev {
            let _ = write!(
                s,
                "<line x1=\"{px:.1}\" y1=\"{py:.1}\" x2=\"{x:.1}\" y2=\"{y:.1}\" stroke=\"{c}\" stroke-width=\"2.2\"/>"
            );
        } else {
            let _ = write!(
                s,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2\" fill=\"{c}\"/>"
            );
        }
        prev = Some((x, y));
    }
    s.push_str("</svg>");
    s
}

/// A plain line of `(t, value)`, gaps where there is no value.
pub fn line(
    points: &[(i64, Option<f64>)],
    from: i64,
    to: i64,
    step: i64,
    title: &str,
    colour: &str,
    fmt: &dyn Fn(f64) -> String,
) -> String {
    let max = points.iter().filter_map(|p| p.1).fold(0.0, f64::max);
    let f = Frame {
        from,
        to,
        top: nice(max),
    };
    let mut s = String::new();
    open(&mut s, &f, title, fmt);
    let half = (f.x(from + step) - f.x(from)) / 2.0;
    let mut d = String::new();
    let mut pen = false;
    for (t, v) in points {
        match v {
            Some(v) => {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1} ",
                    if pen { "L" } else { "M" },
                    f.x(*t) + half,
                    f.y(*v)
                );
                pen = true;
            }
            None => pen = false,
        }
    }
    if !d.is_empty() {
        let _ = write!(
            s,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>"
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_tops() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(0.7), 1.0);
        assert_eq!(nice(42.0), 50.0);
        assert_eq!(nice(180.0), 200.0);
    }

    #[test]
    fn smoke_draws_bands_and_coloured_median() {
        let pts: Vec<Point> = (0..3)
            .map(|i| Point {
                t: i * 60,
                min: Some(0.010),
                p50: Some(0.020),
                p90: Some(0.030),
                max: Some(0.050),
                loss: Some(if i == 2 { 0.5 } else { 0.0 }),
            })
            .collect();
        let svg = smoke(&pts, 0, 180, 60, "rtt");
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<rect").count(), 1 + 6);
        assert!(svg.contains("#1a7f37") && svg.contains("#cf222e"));
    }
}
