//! `juknis study`: the kajian teknis for a bandwidth change (Juknis I.C), from the appliance's
//! store or from Prometheus, as HTML, DOCX or PDF.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;

use crate::doc;
use crate::study::{self, Period, history, prometheus};

/// Arguments of `juknis study`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: super::ConfigArg,
    /// First day of the period (WIB), included.
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: NaiveDate,
    /// Last day of the period (WIB), included.
    #[arg(long, value_name = "YYYY-MM-DD")]
    to: NaiveDate,
    /// The document to write; the extension chooses the format (.html, .docx, .pdf).
    #[arg(long = "output", short = 'o', value_name = "OUT")]
    output: PathBuf,
    /// The appliance's state folder, holding juknis.db and quota.db [default: /var/lib/juknis].
    #[arg(long, value_name = "DIR", conflicts_with = "prometheus")]
    state_dir: Option<PathBuf>,
    /// Read the history from this Prometheus server instead (e.g. http://127.0.0.1:9090).
    #[arg(long, value_name = "URL")]
    prometheus: Option<String>,
    /// Extra label matchers for every Prometheus selector, e.g. 'opd="dinsos"'.
    #[arg(long, value_name = "MATCHERS", requires = "prometheus")]
    prometheus_match: Option<String>,
    /// The link to study [default: the contracted link with tiers].
    #[arg(long, value_name = "ID")]
    link: Option<String>,
    /// Growth of traffic and look-ups per year, percent [default: the measured trend].
    #[arg(long, value_name = "N")]
    growth_percent: Option<f64>,
    /// How far ahead to project, months.
    #[arg(long, value_name = "N", default_value_t = 12)]
    horizon_months: u32,
}

/// Today in WIB.
pub fn today_wib() -> NaiveDate {
    study::wib_day(chrono::Utc::now().timestamp())
}

pub fn run(args: Args) -> ExitCode {
    let bad = |msg: String| {
        eprintln!("study: {msg}");
        ExitCode::from(super::EXIT_BAD_CONFIG)
    };
    if let Err(e) = doc::Format::from_path(&args.output) {
        return bad(e.to_string());
    }
    let period = match Period::new(args.from, args.to) {
        Ok(p) => p,
        Err(e) => return bad(e.to_string()),
    };
    if let Some(g) = args.growth_percent
        && !(g.is_finite() && g > -100.0)
    {
        return bad(format!(
            "--growth-percent {g}: give a percentage above -100"
        ));
    }
    let (mut t, profiles) = match super::probe::load(&args.config.config) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    // Windows made on the dashboard are planned work too (kept in the state folder's store).
    if let Some(dir) = &args.state_dir
        && let Err(e) = crate::report::gather::add_made_windows(&mut t, dir)
    {
        tracing::warn!(error = %e, "the maintenance windows made on the dashboard cannot be read");
    }
    let kind_of = |p: &str| profiles.get(p).map(|p| p.kind.as_str().to_string());
    let source: Box<dyn history::Source> = match &args.prometheus {
        Some(url) => Box::new(prometheus::Prometheus::new(
            url,
            args.prometheus_match.as_deref(),
        )),
        None => Box::new(history::Sqlite::new(
            args.state_dir
                .as_deref()
                .unwrap_or(std::path::Path::new("/var/lib/juknis")),
        )),
    };
    let opts = study::Options {
        link: args.link,
        growth_percent: args.growth_percent,
        horizon_months: args.horizon_months,
        ..study::Options::new(today_wib())
    };
    let s = match study::run(&t, &kind_of, source.as_ref(), period, &opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("study: {e}");
            let code = match e {
                study::Error::History(
                    history::Error::Unreachable { .. } | history::Error::Garbage { .. },
                ) => super::EXIT_UNAVAILABLE,
                study::Error::NoData { .. } => 1,
                _ => super::EXIT_BAD_CONFIG,
            };
            return ExitCode::from(code);
        }
    };
    if let Err(e) = s.document.write(&args.output) {
        eprintln!("study: {e}");
        return ExitCode::from(super::EXIT_INTERNAL);
    }
    println!("{}", s.recommendation.sentence);
    println!("kajian teknis: {}", args.output.display());
    ExitCode::SUCCESS
}
