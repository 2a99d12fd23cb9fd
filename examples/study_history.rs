//! A long synthetic history for the study benchmark (`scripts/bench-study.sh`): raw probe
//! samples every `--interval` seconds for `--targets` targets over `--days` days, written to a
//! store as the appliance does (insert, roll up to minutes and hours, prune to the retention),
//! or the same history as OpenMetrics (one file per 2-hour block) for `promtool tsdb
//! create-blocks-from openmetrics`.
//!
//! ```sh
//! cargo run --example study_history -- store DIR [--days 180] [--targets 10] [--interval 10]
//! cargo run --example study_history -- openmetrics DIR [--days 180] [--interval 10]
//! ```
//! Both end on `--last-day` (default 2026-03-31) and use the demo topology's ids
//! (`wan-kominfo`, `web-portal/icmp`, `kominfo-router/bandwidth`).

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use juknis::store::{Retention, Sample, Store};
use juknis::study::history::{SNMP_PROFILE, STORE_FILE, Selection, Target};
use juknis::study::synth::{self, Shape, Spec};
use juknis::topology::LinkId;

/// Other targets of a 10-target appliance, probed like the latency target.
const OTHERS: [(&str, &str); 7] = [
    ("kominfo-router", "icmp"),
    ("dukcapil-router", "icmp"),
    ("data-balikan", "icmp"),
    ("ap-dukcapil", "icmp"),
    ("web-portal", "tls"),
    ("web-portal", "tcp"),
    ("data-balikan", "tls"),
];

struct Opts {
    mode: String,
    path: PathBuf,
    days: u32,
    targets: usize,
    interval: i64,
    last_day: chrono::NaiveDate,
}

fn opts() -> anyhow::Result<Opts> {
    let mut args = std::env::args().skip(1);
    let mode = args
        .next()
        .context("usage: study_history store|openmetrics PATH [options]")?;
    let path = PathBuf::from(args.next().context("a path")?);
    let mut o = Opts {
        mode,
        path,
        days: 180,
        targets: 10,
        interval: 10,
        last_day: "2026-03-31".parse()?,
    };
    while let Some(a) = args.next() {
        let v = args.next().with_context(|| format!("{a} needs a value"))?;
        match a.as_str() {
            "--days" => o.days = v.parse()?,
            "--targets" => o.targets = v.parse()?,
            "--interval" => o.interval = v.parse()?,
            "--last-day" => o.last_day = v.parse()?,
            _ => bail!("unknown option {a}"),
        }
    }
    if !(3..=10).contains(&o.targets) || o.interval <= 0 || 60 % o.interval != 0 {
        bail!("--targets 3..10 and an --interval dividing 60");
    }
    Ok(o)
}

fn selection() -> Selection {
    Selection {
        link: LinkId::new("wan-kominfo"),
        latency: Target {
            node: "web-portal".into(),
            profile: "icmp".into(),
        },
        bandwidth: Target {
            node: "kominfo-router".into(),
            profile: "bandwidth".into(),
        },
    }
}

fn sample(ts: i64, node: &str, profile: &str, kind: &str) -> Sample {
    Sample {
        ts_ms: ts * 1000,
        node: node.into(),
        profile: profile.into(),
        kind: kind.into(),
        ok: true,
        state: "healthy".into(),
        rtt_p50_s: None,
        rtt_p90_s: None,
        rtt_max_s: None,
        rtt_min_s: None,
        loss: None,
        jitter_s: None,
        bandwidth_bps: None,
        bytes: 0,
        detail: String::new(),
        rx_bps: None,
        tx_bps: None,
    }
}

/// The estimate in force at `t` (the last one made).
fn last_estimate(spec: &Spec, t: i64) -> f64 {
    let at = t - t.rem_euclid(synth::ESTIMATE_EVERY_S);
    synth::estimate(spec, at).unwrap_or(0.0)
}

fn store(o: &Opts, spec: &Spec) -> anyhow::Result<()> {
    std::fs::create_dir_all(&o.path)?;
    let sel = selection();
    let mut store = Store::open(&o.path.join(STORE_FILE))?;
    let (mut t_insert, mut t_rollup, mut t_prune) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut rows = 0u64;
    let started = Instant::now();
    let mut hour = spec.start_s();
    while hour < spec.end_s() {
        let mut batch = Vec::with_capacity((3600 / o.interval) as usize * o.targets);
        for ts in (hour..hour + 3600).step_by(o.interval as usize) {
            let x = synth::minute(spec, ts);
            let mut s = sample(ts, &sel.latency.node, &sel.latency.profile, "icmp");
            s.rtt_p50_s = Some(x.rtt_p50_s);
            s.rtt_p90_s = Some(x.rtt_p90_s);
            s.rtt_min_s = Some(x.rtt_min_s);
            s.rtt_max_s = Some(x.rtt_max_s);
            s.loss = Some(x.loss);
            s.jitter_s = Some(x.jitter_s);
            s.bytes = 1680;
            batch.push(s);
            let mut s = sample(ts, sel.link.as_str(), SNMP_PROFILE, "snmp");
            s.rx_bps = Some(x.rx_bps);
            s.tx_bps = Some(x.tx_bps);
            batch.push(s);
            let mut s = sample(ts, &sel.bandwidth.node, &sel.bandwidth.profile, "bandwidth");
            s.bandwidth_bps = synth::estimate(spec, ts);
            batch.push(s);
            for (node, profile) in OTHERS.iter().take(o.targets - 3) {
                let mut s = sample(ts, node, profile, profile);
                s.rtt_p50_s = Some(x.rtt_p50_s * 0.8);
                s.rtt_p90_s = Some(x.rtt_p90_s * 0.8);
                s.loss = Some(x.loss);
                batch.push(s);
            }
        }
        rows += batch.len() as u64;
        let t0 = Instant::now();
        store.insert(&batch)?;
        t_insert += t0.elapsed();
        let t0 = Instant::now();
        store.rollup(60, hour, hour + 3600)?;
        store.rollup(3600, hour, hour + 3600)?;
        t_rollup += t0.elapsed();
        hour += 3600;
        if (hour - spec.start_s()).rem_euclid(86_400) == 0 {
            let t0 = Instant::now();
            store.prune(hour, Retention::default())?;
            t_prune += t0.elapsed();
        }
    }
    let days: Vec<_> = (0..spec.days)
        .map(|i| {
            let d = juknis::study::wib_day(spec.start_s() + i64::from(i) * 86_400);
            (d, synth::lookups(spec, d))
        })
        .collect();
    juknis::gate::quota::write_history(&o.path, &days)?;
    let total = started.elapsed();
    let size = std::fs::metadata(o.path.join(STORE_FILE))?.len();
    println!("rows\t{rows}");
    println!("insert_s\t{:.1}", t_insert.as_secs_f64());
    println!("rollup_s\t{:.1}", t_rollup.as_secs_f64());
    println!("prune_s\t{:.1}", t_prune.as_secs_f64());
    println!("total_s\t{:.1}", total.as_secs_f64());
    println!(
        "rows_per_s\t{:.0}",
        rows as f64 / (t_insert + t_rollup + t_prune).as_secs_f64()
    );
    println!("store_bytes\t{size}");
    Ok(())
}

/// Prometheus' block length: `promtool tsdb create-blocks-from openmetrics` (2.42) parses its
/// whole input once per 2-hour block, so the history goes into one file per block.
const BLOCK_S: i64 = 7200;

/// The series the study reads, as a Prometheus scraping every `interval` seconds stores them,
/// one OpenMetrics file per 2-hour block in the folder `o.path`.
fn openmetrics(o: &Opts, spec: &Spec) -> anyhow::Result<()> {
    let sel = selection();
    std::fs::create_dir_all(&o.path)?;
    let (from, to) = (spec.start_s(), spec.end_s());
    let (n, p) = (&sel.latency.node, &sel.latency.profile);
    let (bn, bp) = (&sel.bandwidth.node, &sel.bandwidth.profile);
    let step = o.interval as usize;
    let mut octets = [0.0f64; 2];
    let mut lines = 0u64;
    let mut block = from - from.rem_euclid(BLOCK_S);
    while block < to {
        let (a, b) = (block.max(from), (block + BLOCK_S).min(to));
        let file = o.path.join(format!("{block}.om"));
        let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&file)?);
        let ticks = || (a..b).step_by(step);
        writeln!(out, "# TYPE juknis_probe_rtt_seconds gauge")?;
        for t in ticks() {
            let v = synth::minute(spec, t).rtt_p50_s;
            writeln!(
                out,
                "juknis_probe_rtt_seconds{{node=\"{n}\",profile=\"{p}\",kind=\"icmp\",stat=\"p50\"}} {v} {t}"
            )?;
            lines += 1;
        }
        writeln!(out, "# TYPE juknis_probe_loss_ratio gauge")?;
        for t in ticks() {
            let v = synth::minute(spec, t).loss;
            writeln!(
                out,
                "juknis_probe_loss_ratio{{node=\"{n}\",profile=\"{p}\"}} {v} {t}"
            )?;
            lines += 1;
        }
        writeln!(out, "# TYPE juknis_probe_jitter_seconds gauge")?;
        for t in ticks() {
            let v = synth::minute(spec, t).jitter_s;
            writeln!(
                out,
                "juknis_probe_jitter_seconds{{node=\"{n}\",profile=\"{p}\"}} {v} {t}"
            )?;
            lines += 1;
        }
        writeln!(
            out,
            "# TYPE juknis_link_bandwidth_estimate_bytes_per_second gauge"
        )?;
        for t in ticks() {
            let v = last_estimate(spec, t) / 8.0;
            writeln!(
                out,
                "juknis_link_bandwidth_estimate_bytes_per_second{{node=\"{bn}\",profile=\"{bp}\",method=\"trains\"}} {v} {t}"
            )?;
            lines += 1;
        }
        writeln!(out, "# TYPE juknis_link_interface_octets counter")?;
        for (i, dir) in ["rx", "tx"].into_iter().enumerate() {
            // The last block also carries the reading at the end, which closes the last tick.
            let end = if b == to { b + 1 } else { b };
            for t in (a..end).step_by(step) {
                writeln!(
                    out,
                    "juknis_link_interface_octets_total{{link=\"wan-kominfo\",direction=\"{dir}\"}} {} {t}",
                    octets[i]
                )?;
                let m = synth::minute(spec, t);
                octets[i] +=
                    if dir == "rx" { m.rx_bps } else { m.tx_bps } * o.interval as f64 / 8.0;
                lines += 1;
            }
        }
        writeln!(out, "# TYPE juknis_quota_used gauge")?;
        for t in (a..b).step_by(60) {
            let day = juknis::study::wib_day(t);
            let into = (t - juknis::study::wib_midnight(day) + 60) as f64 / 86_400.0;
            let v = (synth::lookups(spec, day) as f64 * into.min(1.0)).floor();
            writeln!(out, "juknis_quota_used {v} {t}")?;
            lines += 1;
        }
        writeln!(out, "# EOF")?;
        out.flush()?;
        block += BLOCK_S;
    }
    println!("samples\t{lines}");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let o = opts()?;
    let spec = Spec::new(Shape::Saturated, 512_000.0, o.last_day, o.days);
    match o.mode.as_str() {
        "store" => store(&o, &spec),
        "openmetrics" => openmetrics(&o, &spec),
        m => bail!("unknown mode {m}; use store or openmetrics"),
    }
}
