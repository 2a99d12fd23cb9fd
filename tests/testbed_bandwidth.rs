//! Bandwidth on realistic links: `tbf` shapers with bursts of 1.5 to 64 KB, policers (a `tbf`
//! whose queue holds one or two frames), different rates up and down, and UDP cross traffic,
//! each measured by `juknis bandwidth` (packet trains, and a download from the reflector that
//! stops once stable) against the shaped truth, with the bytes counted by the shapers
//! themselves (`tc -s qdisc`).
//!
//! `slice` runs a representative handful of cells on every test run (about a minute);
//! `matrix` (ignored; `scripts/bench-bandwidth.sh`, `make bench-bandwidth`) runs every cell
//! with `iperf3` beside juknis and prints BENCHMARKS.md's table. Both hold the same targets: the
//! estimate within 5 % of the shaped rate (10 % of the rate minus the cross traffic for an
//! available rate), for at most a tenth of the bytes a 10-second `iperf3` run spends; a cell
//! whose burst the budget cannot cross must say "tidak dapat ditentukan" with `ok: false`, no
//! figure, and a lower bound of the burst.
//!
//! Needs root (network namespaces); skips with a reason without it, fails when `CI=true`.

#[path = "support/testbed.rs"]
mod testbed;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use serde_json::Value;
use testbed::{Config, Direction, Ns, RATE_1M, RATE_2M, RATE_512K, Testbed};

const JUKNIS: &str = env!("CARGO_BIN_EXE_juknis");
const DELAY: Duration = Duration::from_millis(20);
const REFLECTOR_PORT: u16 = 8080;
/// The download asks for more than it needs: it stops once its rate is stable.
const REFLECT_BYTES: u64 = 2_000_000;
const KB: u64 = 1024;

/// One cell of the matrix.
#[derive(Debug, Clone, Copy)]
struct Cell {
    /// Up rate (and down unless `down`).
    rate: u64,
    down: Option<u64>,
    burst: u64,
    /// Frames a policer's queue holds.
    police: Option<u32>,
    cross: Option<u64>,
}

impl Cell {
    const fn shaped(rate: u64, burst: u64) -> Cell {
        Cell {
            rate,
            down: None,
            burst,
            police: None,
            cross: None,
        }
    }

    fn name(&self) -> String {
        let mut s = format!("{} kbit/s", self.rate / 1000);
        if let Some(d) = self.down {
            s = format!("{} up / {} down kbit/s", self.rate / 1000, d / 1000);
        }
        if self.burst.is_multiple_of(KB) {
            write!(s, ", burst {} KB", self.burst / KB).ok();
        } else {
            write!(s, ", burst {:.1} KB", self.burst as f64 / KB as f64).ok();
        }
        if let Some(p) = self.police {
            write!(s, ", policer (queue {p})").ok();
        }
        if let Some(c) = self.cross {
            write!(s, ", cross {} kbit/s", c / 1000).ok();
        }
        s
    }

    fn config(&self, seed: u64) -> Config {
        Config {
            rate_bps: self.rate,
            down_rate_bps: self.down,
            burst_bytes: Some(self.burst),
            police_frames: self.police,
            cross_bps: self.cross,
            delay: DELAY,
            seed,
            ..Config::default()
        }
    }

    /// The narrower direction.
    fn narrow(&self) -> u64 {
        self.rate.min(self.down.unwrap_or(self.rate))
    }

    /// The budget a method gets: a tenth of what a 10-second `iperf3` run spends (at TCP
    /// goodput) in the direction it measures. The trains' echoes cross both directions: the
    /// narrower one. The download goes one way, Dukcapil to the OPD, as `iperf3 -R` does.
    fn budget(&self, method: &str) -> u64 {
        let rate = match method {
            "download" => self.down.unwrap_or(self.rate),
            _ => self.narrow(),
        };
        (rate as f64 * 1448.0 / 1514.0 * 10.0 / 8.0) as u64 / 10
    }
}

/// What juknis reported in one cell, and what the shapers counted.
#[derive(Debug)]
struct Measured {
    ok: bool,
    estimate: Option<f64>,
    bytes: u64,
    link_bytes: u64,
    seconds: f64,
    summary: String,
    json: Value,
}

fn juknis_json(tb: &Testbed, args: &[&str]) -> Result<Value> {
    let mut argv = vec![JUKNIS];
    argv.extend_from_slice(args);
    let out = tb.run_in(Ns::Opd, &argv)?;
    if std::env::var_os("JK_SHOW_STDERR").is_some() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "juknis {args:?} ({}) printed no JSON; stderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )
    })
}

/// Bytes `tbf` sent on a device so far (`tc -s qdisc`: "Sent N bytes").
fn qdisc_sent(tb: &Testbed, ns: Ns, dev: &str) -> Result<u64> {
    let out = tb.run_ok(ns, &["tc", "-s", "qdisc", "show", "dev", dev])?;
    out.split_whitespace()
        .skip_while(|w| *w != "Sent")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no `Sent N bytes` in tc's output: {out}"))
}

/// Both shapers' bytes: up (OPD's egress) plus down (Diskominfo's egress toward the OPD).
fn link_bytes(tb: &Testbed) -> Result<u64> {
    Ok(qdisc_sent(tb, Ns::Opd, "opd0")? + qdisc_sent(tb, Ns::Diskominfo, "mid-opd")?)
}

fn measure(tb: &Testbed, args: &[&str], cross: bool) -> Result<Measured> {
    let before = link_bytes(tb)?;
    let t0 = Instant::now();
    let v = juknis_json(tb, args)?;
    let seconds = t0.elapsed().as_secs_f64();
    // Under cross traffic the shapers count the flow too: juknis' own bytes are its report.
    let link = link_bytes(tb)?.saturating_sub(before);
    Ok(Measured {
        ok: v["ok"].as_bool().unwrap_or(false),
        estimate: v["estimate_bps"].as_f64(),
        bytes: v["bytes_spent"].as_u64().context("bytes_spent")?,
        link_bytes: if cross { 0 } else { link },
        seconds,
        summary: v["summary"].as_str().unwrap_or_default().to_owned(),
        json: v,
    })
}

fn trains(tb: &Testbed, cell: &Cell) -> Result<Measured> {
    let host = tb.dukcapil_addr().to_string();
    let budget = cell.budget("trains").to_string();
    measure(
        tb,
        &[
            "bandwidth",
            "--target",
            &host,
            "--json",
            "--byte-budget",
            &budget,
        ],
        cell.cross.is_some(),
    )
}

fn download(tb: &Testbed, cell: &Cell) -> Result<Measured> {
    let host = tb.dukcapil_addr().to_string();
    let exe = reflector_exe()?;
    let listen = format!("{host}:{REFLECTOR_PORT}");
    let _reflector = tb.spawn_in(Ns::Dukcapil, &[exe.to_str().context("path")?, &listen])?;
    tb.wait_for_tcp_listener(Ns::Dukcapil, REFLECTOR_PORT, Duration::from_secs(10))?;
    let url = format!("http://{listen}/reflect?bytes={REFLECT_BYTES}");
    let budget = cell.budget("download").to_string();
    measure(
        tb,
        &[
            "bandwidth",
            "--target",
            &url,
            "--json",
            "--byte-budget",
            &budget,
        ],
        cell.cross.is_some(),
    )
}

/// The figure a method should give in a cell: the trains see the narrower direction less the
/// cross traffic (which flows down); the download the down rate as TCP goodput. Beside cross
/// traffic a download measures what TCP gets, not the rate less the other flow: a drop-tail
/// queue shared with unresponsive UDP gives TCP more than the remainder (iperf3's 10 s TCP run
/// read +7.5 % and +5.7 % over it on 2026-12-05). So where iperf3's TCP figure of the same cell
/// is at hand (`tcp`, the matrix) it is the download's truth there, like for like; else the
/// remainder.
fn expected(cell: &Cell, tb: &Testbed, method: &str, tcp: Option<f64>) -> (f64, f64) {
    let t = tb.truth();
    let cross = t.cross_bps as f64;
    let tol = if cell.cross.is_some() { 0.10 } else { 0.05 };
    match (method, tcp) {
        ("trains", _) => (t.available_bps() as f64, tol),
        (_, Some(tcp)) if cell.cross.is_some() => (tcp, tol),
        _ => ((t.down_rate_bps as f64 - cross) * 1448.0 / 1514.0, tol),
    }
}

/// Checks one method's result against the cell's truth and budget; the verdict as text.
fn judge(
    cell: &Cell,
    tb: &Testbed,
    method: &str,
    m: &Measured,
    tcp: Option<f64>,
) -> Result<String> {
    let (want, tol) = expected(cell, tb, method, tcp);
    let cap = cell.budget(method);
    if !m.ok {
        // A method may decline, but only honestly: no figure, the Indonesian reason, and (the
        // trains, which see the burst) a lower bound of the burst.
        ensure!(
            m.estimate.is_none(),
            "{method}: ok=false with a figure: {}",
            m.json
        );
        let reason = m.json["reason"].as_str().unwrap_or_default();
        ensure!(
            reason.starts_with("tidak dapat ditentukan"),
            "{method}: ok=false without the Indonesian reason: {}",
            m.json
        );
        if method == "trains" {
            let floor = m.json["burst_min_bytes"].as_u64().unwrap_or(0);
            ensure!(
                floor > 0 && floor <= cell.burst + 2 * 1514,
                "{method}: the lower bound {floor} is not a bound of the {}-byte burst",
                cell.burst
            );
        }
        ensure!(m.bytes <= cap, "{method}: {} bytes, over {cap}", m.bytes);
        return Ok(format!("cannot tell: {}", m.summary));
    }
    let est = m.estimate.context("ok without an estimate")?;
    let err = est / want - 1.0;
    ensure!(
        err.abs() <= tol,
        "{method}: {est:.0} bit/s against {want:.0} ({:+.1} %, tolerance {:.0} %): {}",
        100.0 * err,
        100.0 * tol,
        m.json
    );
    ensure!(
        m.bytes <= cap,
        "{method}: {} bytes, over a tenth of iperf3's ({cap})",
        m.bytes
    );
    Ok(format!("{:+.1} %", 100.0 * err))
}

/// The slice CI runs: a burst of one frame, a small one, three policers (one whose burst the
/// budget crosses twice, two it crosses once), asymmetry (with a 16 KB burst), and a burst the
/// budget cannot cross. Not cross traffic: the trains meet the target
/// there in some runs and miss it by 30 % in others (BENCHMARKS.md), so it is in the matrix
/// only. Nor 1 Mbit/s with a 32 KB burst: it rests on a single train past the burst and read
/// +13.4 % in one of three full runs on 2026-12-05 (issue 13, open), so it stays in the matrix
/// (`make bench-bandwidth`) until the estimator takes more than one train there.
///
/// Each with whether it must give a figure: every cell but the 64 KB burst (the two policers
/// crossed once declined until the last train carried its own tail).
const SLICE: &[(Cell, bool)] = &[
    (Cell::shaped(RATE_512K, 1536), true),
    (Cell::shaped(RATE_512K, 8 * KB), true),
    (
        Cell {
            police: Some(2),
            ..Cell::shaped(RATE_1M, 8 * KB)
        },
        true,
    ),
    (
        Cell {
            police: Some(1),
            ..Cell::shaped(RATE_512K, 8 * KB)
        },
        true,
    ),
    (
        Cell {
            police: Some(2),
            ..Cell::shaped(RATE_1M, 32 * KB)
        },
        true,
    ),
    (
        Cell {
            down: Some(RATE_2M),
            ..Cell::shaped(RATE_1M, 16 * KB)
        },
        true,
    ),
    (Cell::shaped(RATE_512K, 64 * KB), false),
];

fn run_slice(cells: &[(Cell, bool)]) -> Result<()> {
    let mut failures = Vec::new();
    let only = std::env::var("JK_ONLY").unwrap_or_default();
    for (i, (cell, figure)) in cells.iter().enumerate() {
        if !cell.name().contains(&only) {
            continue;
        }
        let tools: &[&str] = if cell.cross.is_some() {
            &["iperf3", "ss"]
        } else {
            &["ss"]
        };
        let Some(tb) = Testbed::new_or_skip(cell.config(i as u64 + 1), tools)? else {
            return Ok(());
        };
        let t = trains(&tb, cell)?;
        let verdict = judge(cell, &tb, "trains", &t, None);
        eprintln!(
            "{}: trains {:?} bit/s, {} bytes ({} on the shapers), {:.1} s, \"{}\": {verdict:?}",
            cell.name(),
            t.estimate.map(|e| e.round()),
            t.bytes,
            t.link_bytes,
            t.seconds,
            t.summary,
        );
        match verdict {
            Err(e) => failures.push(format!("{}: {e:#}", cell.name())),
            Ok(_) if *figure != t.ok => failures.push(format!(
                "{}: a figure was {}expected: \"{}\"",
                cell.name(),
                if *figure { "" } else { "not " },
                t.summary
            )),
            Ok(_) => {}
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

#[test]
fn slice() -> Result<()> {
    run_slice(SLICE)
}

/// The download in two cells: it stops once stable, within 5 % of the TCP goodput.
#[test]
fn download_stops_when_stable() -> Result<()> {
    let mut failures = Vec::new();
    for (i, cell) in [
        Cell::shaped(RATE_512K, 8 * KB),
        Cell::shaped(RATE_2M, 32 * KB),
    ]
    .iter()
    .enumerate()
    {
        let Some(tb) = Testbed::new_or_skip(cell.config(i as u64 + 20), &["ss"])? else {
            return Ok(());
        };
        let d = download(&tb, cell)?;
        let verdict = judge(cell, &tb, "download", &d, None);
        eprintln!(
            "{}: download {:?} bit/s, {} bytes ({} on the shapers), {:.1} s: {verdict:?}",
            cell.name(),
            d.estimate.map(|e| e.round()),
            d.bytes,
            d.link_bytes,
            d.seconds,
        );
        if let Err(e) = verdict {
            failures.push(format!("{}: {e:#}", cell.name()));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// Asymmetric shaping: `juknis bandwidth --download` sets the trains (the narrower direction)
/// beside a download (the down direction) and names the direction that limits, as the shapers
/// were set: the up one when it is the narrower, the down one otherwise.
#[test]
fn the_limiting_direction_of_an_asymmetric_link_is_named() -> Result<()> {
    let mut failures = Vec::new();
    for (i, (cell, want)) in [
        (
            Cell {
                down: Some(RATE_2M),
                ..Cell::shaped(RATE_1M, 16 * KB)
            },
            "up",
        ),
        (
            Cell {
                down: Some(RATE_1M),
                ..Cell::shaped(RATE_2M, 16 * KB)
            },
            "down",
        ),
    ]
    .iter()
    .enumerate()
    {
        let Some(tb) = Testbed::new_or_skip(cell.config(i as u64 + 40), &["ss"])? else {
            return Ok(());
        };
        let host = tb.dukcapil_addr().to_string();
        let exe = reflector_exe()?;
        let listen = format!("{host}:{REFLECTOR_PORT}");
        let _reflector = tb.spawn_in(Ns::Dukcapil, &[exe.to_str().context("path")?, &listen])?;
        tb.wait_for_tcp_listener(Ns::Dukcapil, REFLECTOR_PORT, Duration::from_secs(10))?;
        let url = format!("http://{listen}/reflect?bytes={REFLECT_BYTES}");
        let budget = cell.budget("trains").to_string();
        let v = juknis_json(
            &tb,
            &[
                "bandwidth",
                "--target",
                &host,
                "--json",
                "--byte-budget",
                &budget,
                "--download",
                &url,
            ],
        )?;
        let got = v["limiting"]["limiting"].as_str().unwrap_or("none");
        eprintln!(
            "{}: trains {:?}, download {:?}: {got} ({})",
            cell.name(),
            v["estimate_bps"].as_f64().map(f64::round),
            v["download"]["estimate_bps"].as_f64().map(f64::round),
            v["limiting"]["text"].as_str().unwrap_or_default()
        );
        if got != *want {
            failures.push(format!(
                "{}: the {want} direction limits, juknis says {got}: {v}",
                cell.name()
            ));
        }
    }
    ensure!(failures.is_empty(), "{}", failures.join("\n"));
    Ok(())
}

/// Every cell, with iperf3 beside juknis: BENCHMARKS.md's table (about 10 minutes).
#[test]
#[ignore = "benchmark: scripts/bench-bandwidth.sh"]
fn matrix() -> Result<()> {
    let mut cells = Vec::new();
    for rate in [RATE_512K, RATE_1M, RATE_2M] {
        for burst in [1536, 8 * KB, 16 * KB, 32 * KB, 64 * KB] {
            cells.push(Cell::shaped(rate, burst));
        }
        for (burst, police) in [(8 * KB, 1), (32 * KB, 2)] {
            cells.push(Cell {
                police: Some(police),
                ..Cell::shaped(rate, burst)
            });
        }
        for share in [3, 5, 7] {
            cells.push(Cell {
                cross: Some(rate * share / 10),
                ..Cell::shaped(rate, 8 * KB)
            });
        }
    }
    cells.push(Cell {
        down: Some(RATE_2M),
        ..Cell::shaped(RATE_512K, 8 * KB)
    });
    cells.push(Cell {
        down: Some(RATE_512K),
        ..Cell::shaped(RATE_2M, 8 * KB)
    });
    let mut rows = String::new();
    for (i, cell) in cells.iter().enumerate() {
        let tools: &[&str] = &["iperf3", "ss"];
        let Some(tb) = Testbed::new_or_skip(cell.config(i as u64 + 100), tools)? else {
            return Ok(());
        };
        let t = trains(&tb, cell)?;
        let d = download(&tb, cell)?;
        let ip = testbed::iperf3_tcp(&tb, Direction::Download, 10)?;
        for (method, m) in [("trains", &t), ("download", &d)] {
            let cap = cell.budget(method);
            let tcp = Some(ip.received_bps);
            let (want, _) = expected(cell, &tb, method, tcp);
            let verdict = match judge(cell, &tb, method, m, tcp) {
                Ok(v) => format!("met ({v})"),
                Err(e) => format!("**not met**: {}", first_line(&format!("{e:#}"))),
            };
            writeln!(
                rows,
                "| {} | {method} | {:.1} | {} | {} | {} ({}) | {:.3} | {:.1} | {} | {:.1} | {verdict} |",
                cell.name(),
                want / 1e3,
                m.estimate
                    .map_or("—".to_owned(), |e| format!("{:.1}", e / 1e3)),
                m.estimate.map_or("—".to_owned(), |e| format!(
                    "{:+.1} %",
                    100.0 * (e / want - 1.0)
                )),
                m.bytes,
                if m.link_bytes > 0 {
                    m.link_bytes.to_string()
                } else {
                    "—".to_owned()
                },
                m.bytes as f64 / (cap * 10) as f64,
                ip.received_bps / 1e3,
                ip.bytes_sent,
                m.seconds,
            )?;
            eprintln!("{} {method}: {}", cell.name(), m.summary);
        }
    }
    println!("BANDWIDTH MATRIX");
    println!(
        "| cell | method | truth kbit/s | juknis kbit/s | error | juknis bytes (on the shapers) | share of iperf3 10 s | iperf3 down kbit/s | iperf3 bytes | seconds | target |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    print!("{rows}");
    Ok(())
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(160)
        .collect()
}

/// The reflector example beside the test binaries (`target/<profile>/examples/reflector`).
fn reflector_exe() -> Result<PathBuf> {
    let exe = Path::new(JUKNIS)
        .parent()
        .context("juknis has no folder")?
        .join("examples/reflector");
    ensure!(
        exe.is_file(),
        "{} is missing: run `cargo build --example reflector`",
        exe.display()
    );
    Ok(exe)
}

/// One cell, several times, for whoever works on the estimator: `JK_CELL` names it as
/// `RATE_KBIT,BURST_BYTES[,police=FRAMES][,cross=KBIT][,down=KBIT]`, `JK_RUNS` how many fresh
/// test-beds (default 5), the trains or, with JK_METHOD=download, the download. Prints each
/// run's verdict and JSON; fails when any run misses.
/// `JK_CELL=1000,8192,cross=700 cargo test --features test-equipment --test testbed_bandwidth
/// -- --ignored one_cell --nocapture`
#[test]
#[ignore = "a tool for estimator work: JK_CELL=... (see its doc)"]
fn one_cell() -> Result<()> {
    let spec = std::env::var("JK_CELL").context("JK_CELL, e.g. 1000,8192,cross=700")?;
    let mut parts = spec.split(',');
    let num = |s: Option<&str>| -> Result<u64> {
        s.context("JK_CELL: RATE_KBIT,BURST_BYTES,...")?
            .trim()
            .parse()
            .with_context(|| format!("JK_CELL: a number in {spec:?}"))
    };
    let mut cell = Cell::shaped(num(parts.next())? * 1000, num(parts.next())?);
    for p in parts {
        match p.split_once('=') {
            Some(("police", v)) => cell.police = Some(v.parse()?),
            Some(("cross", v)) => cell.cross = Some(v.parse::<u64>()? * 1000),
            Some(("down", v)) => cell.down = Some(v.parse::<u64>()? * 1000),
            _ => anyhow::bail!("JK_CELL: unknown part {p:?}"),
        }
    }
    let runs: u64 = std::env::var("JK_RUNS").map_or(Ok(5), |r| r.parse())?;
    let method = std::env::var("JK_METHOD").unwrap_or_else(|_| "trains".to_owned());
    let tools: &[&str] = if cell.cross.is_some() {
        &["iperf3", "ss"]
    } else {
        &["ss"]
    };
    let mut missed = 0;
    for run in 0..runs {
        let Some(tb) = Testbed::new_or_skip(cell.config(run + 1000), tools)? else {
            return Ok(());
        };
        let t = match method.as_str() {
            "download" => download(&tb, &cell)?,
            _ => trains(&tb, &cell)?,
        };
        let verdict = judge(&cell, &tb, &method, &t, None);
        if verdict.is_err() {
            missed += 1;
        }
        eprintln!(
            "{} run {run}: {:?}\n  {}",
            cell.name(),
            verdict.map_err(|e| first_line(&format!("{e:#}"))),
            t.json
        );
    }
    ensure!(missed == 0, "{missed} of {runs} runs missed");
    Ok(())
}
