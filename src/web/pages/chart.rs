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

/// How a value is shown on an axis: multiplied by `scale` (seconds to milliseconds, a
/// fraction to percent, ...) and followed by `suffix`.
#[derive(Clone, Copy, Debug)]
pub struct Unit {
    pub scale: f64,
    pub suffix: &'static str,
}

impl Unit {
    /// Seconds shown as milliseconds.
    pub const MS: Unit = Unit {
        scale: 1000.0,
        suffix: " ms",
    };
    /// Fractions shown as percent.
    pub const PERCENT: Unit = Unit {
        scale: 100.0,
        suffix: " %",
    };

    /// Bits per second, in Mbps from 1 Mbps up and in Kbps below.
    pub fn bandwidth(max_bps: f64) -> Unit {
        if max_bps >= 1e6 {
            Unit {
                scale: 1e-6,
                suffix: " Mbps",
            }
        } else {
            Unit {
                scale: 1e-3,
                suffix: " Kbps",
            }
        }
    }
}

/// A value axis in display units: `n` intervals of `step` from 0, so its top is `n * step`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Ticks {
    step: f64,
    n: u32,
}

impl Ticks {
    /// The smallest "nice" step (1, 2, 2.5 or 5 times a power of ten) that covers `max`
    /// in at most five intervals; that leaves three to five.
    fn over(max: f64) -> Ticks {
        let max = if max > 0.0 && max.is_finite() {
            max
        } else {
            1.0
        };
        let raw = max / 5.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .into_iter()
            .map(|m| m * mag)
            .find(|s| *s * (1.0 + 1e-9) >= raw)
            .unwrap_or(10.0 * mag);
        let n = (max / step - 1e-9).ceil().max(1.0);
        #[expect(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "n is between 1 and 5 by construction"
        )]
        let n = n as u32;
        Ticks { step, n }
    }

    fn top(self) -> f64 {
        self.step * f64::from(self.n)
    }

    /// As many decimals as the step needs to tell the ticks apart (0.25 needs two, 0.5
    /// one, 20 none).
    fn decimals(self) -> usize {
        (0..6)
            .find(|d| {
                let x = self.step * 10f64.powi(*d);
                (x - x.round()).abs() < 1e-6 * x.max(1.0)
            })
            .map_or(6, |d| d as usize)
    }

    /// The labels from the bottom up.
    fn labels(self, unit: Unit) -> Vec<String> {
        let d = self.decimals();
        (0..=self.n)
            .map(|i| format!("{:.*}{}", d, self.step * f64::from(i), unit.suffix))
            .collect()
    }
}

fn open(s: &mut String, f: &Frame, title: &str, ticks: Ticks, unit: Unit) {
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
    for (i, label) in ticks.labels(unit).into_iter().enumerate() {
        #[expect(clippy::cast_precision_loss, reason = "at most six ticks")]
        let v = f.top * i as f64 / f64::from(ticks.n);
        let y = f.y(v);
        let _ = write!(
            s,
            "<line x1=\"{L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eaeef2\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" class=\"ax\">{label}</text>",
            W - R,
            L - 6.0,
            y + 4.0,
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
    let ticks = Ticks::over(max * Unit::MS.scale);
    let f = Frame {
        from,
        to,
        top: ticks.top() / Unit::MS.scale,
    };
    let mut s = String::new();
    open(&mut s, &f, title, ticks, Unit::MS);
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

/// How a [`line`] is coloured.
#[derive(Clone, Copy, Debug)]
pub enum Stroke {
    /// One colour throughout.
    Fixed(&'static str),
    /// Values are loss fractions: each segment takes the [`loss_colour`] of the worse of
    /// its two ends, so the line reads with the same legend as the latency median.
    ByLoss,
}

/// A line of `(t, value)`, gaps where there is no value.
pub fn line(
    points: &[(i64, Option<f64>)],
    from: i64,
    to: i64,
    step: i64,
    title: &str,
    stroke: Stroke,
    unit: Unit,
) -> String {
    let max = points.iter().filter_map(|p| p.1).fold(0.0, f64::max);
    let ticks = Ticks::over(max * unit.scale);
    let f = Frame {
        from,
        to,
        top: ticks.top() / unit.scale,
    };
    let mut s = String::new();
    open(&mut s, &f, title, ticks, unit);
    let half = (f.x(from + step) - f.x(from)) / 2.0;
    let at = |t: i64, v: f64| (f.x(t) + half, f.y(v));
    match stroke {
        Stroke::Fixed(colour) => path(&mut s, points, colour, at),
        Stroke::ByLoss => {
            let mut prev: Option<(f64, f64, f64)> = None;
            for (i, (t, v)) in points.iter().enumerate() {
                let Some(v) = *v else {
                    prev = None;
                    continue;
                };
                let (x, y) = at(*t, v);
                match prev {
                    Some((px, py, pv)) => {
                        let c = loss_colour(Some(pv.max(v)));
                        let _ = write!(
                            s,
                            "<line x1=\"{px:.1}\" y1=\"{py:.1}\" x2=\"{x:.1}\" y2=\"{y:.1}\" stroke=\"{c}\" stroke-width=\"2\"/>"
                        );
                    }
                    // A point with no neighbour on either side would be invisible as a line.
                    None if points.get(i + 1).is_none_or(|n| n.1.is_none()) => {
                        let c = loss_colour(Some(v));
                        let _ = write!(
                            s,
                            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2\" fill=\"{c}\"/>"
                        );
                    }
                    None => {}
                }
                prev = Some((x, y, v));
            }
        }
    }
    s.push_str("</svg>");
    s
}

/// One SVG path through `points` at `at(t, value)`, lifted over the gaps.
fn path(
    s: &mut String,
    points: &[(i64, Option<f64>)],
    colour: &str,
    at: impl Fn(i64, f64) -> (f64, f64),
) {
    let mut d = String::new();
    let mut pen = false;
    for (t, v) in points {
        match v {
            Some(v) => {
                let (x, y) = at(*t, *v);
                let _ = write!(d, "{}{x:.1},{y:.1} ", if pen { "L" } else { "M" });
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
}

/// One line of [`lines`]: its `(t, value)` points and its colour.
pub type Coloured<'a> = (&'a [(i64, Option<f64>)], &'static str);

/// Several lines of `(t, value)` in their colours on one axis, and a dashed horizontal line at
/// `limit` (a link's contracted bandwidth) that the axis always reaches, so how near the
/// traffic came to it shows at a glance.
pub fn lines(
    series: &[Coloured<'_>],
    limit: Option<f64>,
    span: (i64, i64, i64),
    title: &str,
    unit: Unit,
) -> String {
    let (from, to, step) = span;
    let max = series
        .iter()
        .flat_map(|(pts, _)| pts.iter().filter_map(|p| p.1))
        .chain(limit)
        .fold(0.0, f64::max);
    let ticks = Ticks::over(max * unit.scale);
    let f = Frame {
        from,
        to,
        top: ticks.top() / unit.scale,
    };
    let mut s = String::new();
    open(&mut s, &f, title, ticks, unit);
    let half = (f.x(from + step) - f.x(from)) / 2.0;
    for (points, colour) in series {
        path(&mut s, points, colour, |t, v| (f.x(t) + half, f.y(v)));
    }
    if let Some(limit) = limit {
        let y = f.y(limit);
        let _ = write!(
            s,
            "<line class=\"limit\" x1=\"{L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#cf222e\" stroke-dasharray=\"6 4\" stroke-width=\"1.5\"/>",
            W - R
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both directions drawn, the contract's dashed line on the axis even above the traffic.
    #[test]
    fn utilisation_lines_reach_the_contract() {
        let rx = series(&[100_000.0, 200_000.0]);
        let tx = series(&[50_000.0, 80_000.0]);
        let svg = lines(
            &[(&rx, "#0969da"), (&tx, "#8250df")],
            Some(512_000.0),
            (0, 120, 60),
            "Pemakaian",
            Unit::bandwidth(512_000.0),
        );
        assert_eq!(svg.matches("<path ").count(), 2, "{svg}");
        assert_eq!(svg.matches("class=\"limit\"").count(), 1, "{svg}");
        let labels = axis_labels(&svg, "Kbps");
        assert!(
            labels
                .last()
                .is_some_and(|l| l.starts_with('5') || l.starts_with('6')),
            "{labels:?}"
        );
    }

    /// The value-axis labels of a chart, bottom up.
    fn axis_labels(svg: &str, suffix: &str) -> Vec<String> {
        svg.split("class=\"ax\">")
            .skip(1)
            .filter_map(|t| t.split('<').next())
            .filter(|t| t.ends_with(suffix))
            .map(str::to_owned)
            .collect()
    }

    fn series(values: &[f64]) -> Vec<(i64, Option<f64>)> {
        (0i64..)
            .zip(values)
            .map(|(i, v)| (i * 60, Some(*v)))
            .collect()
    }

    #[rstest::rstest]
    #[case::rtt_under_a_millisecond(&[0.0002, 0.0005, 0.0008], &["0.0 ms", "0.2 ms", "0.4 ms", "0.6 ms", "0.8 ms"])]
    #[case::rtt_tens_of_ms(&[0.020, 0.180], &["0 ms", "50 ms", "100 ms", "150 ms", "200 ms"])]
    #[case::rtt_few_ms(&[0.0011, 0.0042], &["0 ms", "1 ms", "2 ms", "3 ms", "4 ms", "5 ms"])]
    fn rtt_ticks_have_the_decimals_their_spacing_needs(
        #[case] rtts: &[f64],
        #[case] want: &[&str],
    ) {
        let pts: Vec<Point> = (0i64..)
            .zip(rtts)
            .map(|(i, r)| Point {
                t: i * 60,
                min: Some(r * 0.9),
                p50: Some(*r),
                p90: Some(*r),
                max: Some(*r),
                loss: Some(0.0),
            })
            .collect();
        let svg = smoke(&pts, 0, 180, 60, "rtt");
        assert_eq!(axis_labels(&svg, " ms"), want);
    }

    #[rstest::rstest]
    #[case::loss_up_to_1_2_percent(&[0.0, 0.004, 0.012], Unit::PERCENT, &["0.00 %", "0.25 %", "0.50 %", "0.75 %", "1.00 %", "1.25 %"])]
    #[case::loss_under_1_percent(&[0.0, 0.007], Unit::PERCENT, &["0.0 %", "0.2 %", "0.4 %", "0.6 %", "0.8 %"])]
    #[case::no_loss_at_all(&[0.0, 0.0], Unit::PERCENT, &["0.0 %", "0.2 %", "0.4 %", "0.6 %", "0.8 %", "1.0 %"])]
    #[case::loss_up_to_half(&[0.1, 0.5], Unit::PERCENT, &["0 %", "10 %", "20 %", "30 %", "40 %", "50 %"])]
    #[case::jitter_a_third_of_a_ms(&[0.0001, 0.00035], Unit::MS, &["0.0 ms", "0.1 ms", "0.2 ms", "0.3 ms", "0.4 ms"])]
    #[case::bandwidth_in_mbps(&[2e6, 42e6], Unit::bandwidth(42e6), &["0 Mbps", "10 Mbps", "20 Mbps", "30 Mbps", "40 Mbps", "50 Mbps"])]
    #[case::bandwidth_in_kbps(&[120e3, 640e3], Unit::bandwidth(640e3), &["0 Kbps", "200 Kbps", "400 Kbps", "600 Kbps", "800 Kbps"])]
    fn line_ticks_have_the_decimals_their_spacing_needs(
        #[case] values: &[f64],
        #[case] unit: Unit,
        #[case] want: &[&str],
    ) {
        let svg = line(
            &series(values),
            0,
            180,
            60,
            "x",
            Stroke::Fixed("#000"),
            unit,
        );
        assert_eq!(axis_labels(&svg, unit.suffix), want);
    }

    /// The stroke colours of a loss line's segments, in order (grid lines left out).
    fn segment_colours(svg: &str) -> Vec<&str> {
        svg.split("<line ")
            .skip(1)
            .filter_map(|l| l.split("stroke=\"").nth(1)?.split('"').next())
            .filter(|c| *c != "#eaeef2")
            .collect()
    }

    #[test]
    fn loss_line_is_coloured_by_the_legend() {
        let svg = line(
            &series(&[0.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 0.03]),
            0,
            480,
            60,
            "loss",
            Stroke::ByLoss,
            Unit::PERCENT,
        );
        let (green, violet, red) = (LOSS_LEGEND[0].0, LOSS_LEGEND[2].0, LOSS_LEGEND[4].0);
        assert_eq!(
            segment_colours(&svg),
            [green, green, red, red, red, green, violet],
            "a 0 % stretch is green, a segment touching 50 % red, one reaching 3 % violet"
        );
    }

    #[test]
    fn a_loss_point_alone_still_shows() {
        let svg = line(
            &[(0, Some(0.0)), (60, None), (120, Some(0.3)), (180, None)],
            0,
            240,
            60,
            "loss",
            Stroke::ByLoss,
            Unit::PERCENT,
        );
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains(&format!("fill=\"{}\"", LOSS_LEGEND[4].0)));
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
