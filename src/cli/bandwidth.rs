//! `juknis bandwidth`: an explicit bandwidth test, with a progress bar, reporting the
//! estimate and the bytes it spent.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::probe::{self, Detail, Target, profile::Profile};
use crate::topology::LinkId;

/// Arguments of `juknis bandwidth`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to measure: an http(s) URL to download (e.g. a juknis reflector,
    /// `http://HOST:8080/reflect?bytes=2000000`), or a host for ICMP packet trains.
    #[arg(long, value_name = "HOST|URL", conflicts_with_all = ["config", "link"])]
    target: Option<String>,
    /// The topology; with --link, measure toward the link's far end.
    #[arg(long, short = 'c', value_name = "FILE", requires = "link")]
    config: Option<PathBuf>,
    /// The link to measure, by id.
    #[arg(long, value_name = "ID", requires = "config")]
    link: Option<String>,
    /// The profile to use (a file stem in the probe folder): `throughput` for a URL,
    /// `bandwidth` (packet trains) for a host by default.
    #[arg(long)]
    profile: Option<String>,
    /// Print a JSON object with at least `estimate_bps` and `bytes_spent`.
    #[arg(long)]
    json: bool,
    /// Most bytes (out and back) the packet trains may spend, instead of the profile's
    /// `byte_budget`: a larger budget crosses a larger shaper burst.
    #[arg(long, value_name = "BYTES")]
    byte_budget: Option<u64>,
    /// After the packet trains, download this URL (e.g. a juknis reflector) and say which
    /// direction limits: the trains measure the narrower direction, the download the down one.
    #[arg(long, value_name = "URL")]
    download: Option<String>,
}

#[derive(Serialize)]
struct Report<'a> {
    target: String,
    method: &'static str,
    estimate_bps: Option<f64>,
    bytes_spent: u64,
    seconds: f64,
    ok: bool,
    reason: Option<String>,
    /// What a technician reads: "burst ±32 KB, lalu 512 Kbps", or why there is no figure.
    summary: String,
    /// Frame bytes of the shaper's burst (packet trains), when crossed.
    burst_bytes: Option<u64>,
    /// When the burst could not be crossed: the bytes it holds at least.
    burst_min_bytes: Option<u64>,
    /// Capacity beside the available rate, when cross traffic made them distinguishable.
    capacity_bps: Option<f64>,
    policed: bool,
    /// `down` or `round_trip`.
    direction: Option<String>,
    contracted_bps: Option<u64>,
    outcome: &'a probe::Outcome,
    /// With --download: the download's figure (TCP goodput) and bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    download: Option<DownloadReport>,
    /// With --download, when both gave a figure: which direction limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    limiting: Option<probe::bandwidth::direction::Verdict>,
}

#[derive(Serialize)]
struct DownloadReport {
    target: String,
    estimate_bps: Option<f64>,
    bytes_spent: u64,
    seconds: f64,
    ok: bool,
    reason: Option<String>,
}

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(code)
}

/// The built-in profiles, for when no probe folder is at hand.
fn builtin(name: &str) -> Option<Result<Profile, String>> {
    let text = super::PROFILES.iter().find(|(n, _)| *n == name)?.1;
    let file = PathBuf::from(format!("<builtin>/{name}.yaml"));
    Some(
        probe::profile::parse_str(name, &file, std::path::Path::new("."), text).map_err(|d| {
            d.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        }),
    )
}

pub fn run(args: Args) -> ExitCode {
    let (target, profiles, contracted) = match (&args.target, &args.config, &args.link) {
        (Some(t), _, _) => match Target::parse(t) {
            Ok(target) => (target, None, None),
            Err(e) => return fail(super::EXIT_BAD_CONFIG, format!("--target {t}: {e}")),
        },
        (None, Some(config), Some(link)) => {
            let (t, profiles) = match super::probe::load(config) {
                Ok(v) => v,
                Err(e) => return fail(super::EXIT_BAD_CONFIG, e),
            };
            let Some(l) = t.link(&LinkId::new(link.clone())) else {
                let known: Vec<_> = t.links.iter().map(|l| l.id.to_string()).collect();
                return fail(
                    super::EXIT_BAD_CONFIG,
                    format!("no link `{link}`; links: {}", known.join(", ")),
                );
            };
            let far = t.node(&l.to);
            let target = match far.and_then(|n| {
                n.url
                    .as_deref()
                    .filter(|_| args.profile.as_deref() == Some("throughput"))
            }) {
                Some(url) => Target::parse(url).map_err(|e| e.to_string()),
                None => far.and_then(|n| n.address).map(Target::ip).ok_or_else(|| {
                    format!("the far end `{}` of link `{link}` has no address", l.to)
                }),
            };
            match target {
                Ok(target) => (target, Some(profiles), l.bandwidth.map(|b| b.bps())),
                Err(e) => return fail(super::EXIT_BAD_CONFIG, e),
            }
        }
        _ => {
            return fail(
                super::EXIT_BAD_CONFIG,
                "give --target HOST|URL, or --config FILE --link ID",
            );
        }
    };
    let name = args.profile.clone().unwrap_or_else(|| {
        if target.url.is_some() {
            "throughput".into()
        } else {
            "bandwidth".into()
        }
    });
    let profile = match profiles.as_ref().and_then(|p| p.get(&name).cloned()) {
        Some(p) => p,
        None => match builtin(&name) {
            Some(Ok(p)) => p,
            Some(Err(e)) => return fail(super::EXIT_INTERNAL, e),
            None => return fail(super::EXIT_BAD_CONFIG, format!("no profile `{name}`")),
        },
    };
    let download = match &args.download {
        None => None,
        Some(_) if target.url.is_some() => {
            return fail(
                super::EXIT_BAD_CONFIG,
                "--download compares a download with packet trains: give a host as --target",
            );
        }
        Some(u) => match Target::parse(u) {
            Ok(t) if t.url.is_some() => match builtin("throughput") {
                Some(Ok(p)) => Some((t, p)),
                Some(Err(e)) => return fail(super::EXIT_INTERNAL, e),
                None => return fail(super::EXIT_INTERNAL, "no built-in throughput profile"),
            },
            Ok(_) => {
                return fail(
                    super::EXIT_BAD_CONFIG,
                    format!("--download {u}: not an http(s) URL"),
                );
            }
            Err(e) => return fail(super::EXIT_BAD_CONFIG, format!("--download {u}: {e}")),
        },
    };
    if profile.kind != probe::Kind::Bandwidth {
        return fail(
            super::EXIT_BAD_CONFIG,
            format!(
                "profile `{name}` is a {} probe, not a bandwidth test",
                profile.kind
            ),
        );
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                super::EXIT_INTERNAL,
                format!("cannot start the runtime: {e}"),
            );
        }
    };
    rt.block_on(measure(
        target,
        profile,
        contracted,
        args.json,
        args.byte_budget,
        download,
    ))
}

/// The download of --download, measured after the trains.
async fn download_once(target: Target, profile: Profile) -> Result<probe::Outcome, String> {
    let spec = match &profile.spec {
        probe::Spec::Bandwidth(s) => s.clone(),
        _ => return Err("the throughput profile is not a bandwidth test".into()),
    };
    let p = probe::bandwidth::BandwidthProbe::new(target, spec, profile.timeout)
        .map_err(|e| e.to_string())?;
    probe::Probe::run(&p).await.map_err(|e| e.to_string())
}

async fn measure(
    target: Target,
    profile: Profile,
    contracted: Option<u64>,
    json: bool,
    byte_budget: Option<u64>,
    download: Option<(Target, Profile)>,
) -> ExitCode {
    let bar = indicatif::ProgressBar::new_spinner();
    if json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {elapsed} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let b = bar.clone();
    let progress: probe::bandwidth::Progress = Arc::new(move |bytes: u64, elapsed: Duration| {
        let rate = bytes as f64 * 8.0 / elapsed.as_secs_f64().max(1e-3) / 1000.0;
        b.set_message(format!("{bytes} bytes, {rate:.0} kbit/s"));
    });
    let spec = match &profile.spec {
        probe::Spec::Bandwidth(s) => s.clone(),
        _ => return fail(super::EXIT_BAD_CONFIG, "not a bandwidth profile"),
    };
    let sockets = probe::icmp::Sockets::open().ok();
    let built =
        probe::bandwidth::BandwidthProbe::new(target.clone(), spec, profile.timeout).map(|p| {
            let mut p = p.with_progress(progress);
            if let Some(b) = byte_budget {
                p = p.with_budget(b);
            }
            match &sockets {
                Some(s) => p.with_sockets(s.clone()),
                None => p,
            }
        });
    let p = match built {
        Ok(p) => p,
        Err(e) => return fail(super::EXIT_BAD_CONFIG, e),
    };
    let outcome = match probe::Probe::run(&p).await {
        Ok(o) => o,
        Err(e) => return fail(super::EXIT_UNAVAILABLE, e),
    };
    let down = match download {
        Some((t, p)) => {
            let shown = t.to_string();
            match download_once(t, p).await {
                Ok(o) => Some((shown, o)),
                Err(e) => return fail(super::EXIT_UNAVAILABLE, format!("--download: {e}")),
            }
        }
        None => None,
    };
    bar.finish_and_clear();
    let method = match &outcome.detail {
        Detail::Bandwidth(d) if d.method == "throughput" => "throughput",
        _ => "packet_trains",
    };
    let detail = match &outcome.detail {
        Detail::Bandwidth(d) => Some(d),
        _ => None,
    };
    let est = outcome.measures().bandwidth_bps;
    let report = Report {
        target: target.to_string(),
        method,
        estimate_bps: est,
        bytes_spent: outcome.bytes_spent,
        seconds: outcome.elapsed.as_secs_f64(),
        ok: outcome.ok,
        reason: outcome.reason.as_ref().map(ToString::to_string),
        summary: detail
            .map(probe::bandwidth::Detail::summary)
            .unwrap_or_default(),
        burst_bytes: detail.and_then(|d| d.burst_bytes),
        burst_min_bytes: detail.and_then(|d| d.burst_min_bytes),
        capacity_bps: detail.and_then(|d| d.capacity_bps),
        policed: detail.is_some_and(|d| d.policed),
        direction: detail.and_then(|d| d.direction.clone()),
        contracted_bps: contracted,
        outcome: &outcome,
        download: down.as_ref().map(|(t, o)| DownloadReport {
            target: t.clone(),
            estimate_bps: o.measures().bandwidth_bps,
            bytes_spent: o.bytes_spent,
            seconds: o.elapsed.as_secs_f64(),
            ok: o.ok,
            reason: o.reason.as_ref().map(ToString::to_string),
        }),
        limiting: est
            .filter(|_| outcome.ok)
            .zip(
                down.as_ref()
                    .filter(|(_, o)| o.ok)
                    .and_then(|(_, o)| o.measures().bandwidth_bps),
            )
            .map(|(rt, d)| probe::bandwidth::direction::verdict(rt, d)),
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        match est {
            Some(_) => println!(
                "{}: {} ({method}), {} bytes spent in {:.1} s",
                report.target, report.summary, report.bytes_spent, report.seconds
            ),
            None => println!(
                "{}: no estimate ({}), {} bytes spent",
                report.target,
                report.reason.as_deref().unwrap_or("no answer"),
                report.bytes_spent
            ),
        }
        if let Some(d) = &report.download {
            println!(
                "{}: {} kbit/s (download), {} bytes spent in {:.1} s",
                d.target,
                d.estimate_bps
                    .map_or("-".into(), |b| format!("{:.0}", b / 1e3)),
                d.bytes_spent,
                d.seconds
            );
        }
        if let Some(v) = &report.limiting {
            println!("{}", v.text);
        }
        if let (Some(bps), Some(c)) = (est, contracted) {
            println!(
                "contracted {} kbit/s: {:.0}% available",
                c / 1000,
                bps / c as f64 * 100.0
            );
        }
    }
    if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
