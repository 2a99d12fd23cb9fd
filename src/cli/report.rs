//! `juknis report semester --semester 2026-2 -o OUT`: the semester usage report of Juknis V,
//! from the topology's agreement and the state dir (read-only); `juknis report availability
//! --month 2026-11`: the month's availability for SLA claims, as text or CSV.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};

use crate::doc::{self, Document};
use crate::report::{self, Semester, holidays::Calendar};
use crate::topology;

/// Which report.
#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// The semester usage report for Disdukcapil (Juknis V), due within 10 working days.
    Semester(Args),
    /// Monthly availability of each path and contracted link (for SLA claims), as text or as
    /// CSV for Excel: `juknis report availability --month 2026-11 [-o FILE.csv]`.
    Availability(AvailabilityArgs),
    /// The zero-storage scan of a state dir as JSON (run by a serving juknis in a child
    /// process, so that its own SQLite locks survive the scan).
    #[command(hide = true)]
    ScanState(ScanArgs),
}

/// Arguments of `juknis report scan-state`.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    #[arg(long, value_name = "DIR")]
    state_dir: PathBuf,
}

/// Arguments of `juknis report availability`.
#[derive(Debug, clap::Args)]
pub struct AvailabilityArgs {
    #[command(flatten)]
    config: super::ConfigArg,
    /// The month, YEAR-MONTH in WIB (e.g. 2026-11); the month before the current one if left out.
    #[arg(long, value_name = "YYYY-MM", value_parser = parse_month)]
    month: Option<report::availability::Month>,
    /// Write to this file instead of printing: `.csv` for a table Excel opens (see --table and
    /// --separator), `.txt` for the text.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: Option<PathBuf>,
    /// Which table a `.csv` holds: availability, incidents, or the hourly measurements.
    #[arg(long, value_enum, default_value = "availability")]
    table: Table,
    /// CSV separator: `;` with decimal commas (Excel in Indonesian), or `,` with decimal points.
    #[arg(long, default_value = ";", value_parser = parse_separator)]
    separator: report::availability::Separator,
    /// The appliance's state dir (read-only).
    #[arg(
        long,
        default_value = "/var/lib/juknis",
        value_name = "DIR",
        env = "STATE_DIRECTORY"
    )]
    state_dir: PathBuf,
    /// Make the report as of this instant (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME", hide = true)]
    now: Option<DateTime<Utc>>,
}

/// The CSV tables of `juknis report availability`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Table {
    Availability,
    Incidents,
    Measurements,
}

fn parse_month(s: &str) -> Result<report::availability::Month, String> {
    s.parse()
        .map_err(|e: report::availability::MonthError| e.to_string())
}

fn parse_separator(s: &str) -> Result<report::availability::Separator, String> {
    s.parse()
}

/// Arguments of `juknis report semester`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    config: super::ConfigArg,
    /// The semester: YEAR-1 (January-June) or YEAR-2 (July-December), e.g. 2026-2.
    #[arg(long, value_name = "YYYY-N", value_parser = parse_semester)]
    semester: Semester,
    /// Output file; the format follows its extension (.html, .docx, .pdf, or .txt for the
    /// plain text).
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    output: PathBuf,
    /// The appliance's state dir (read-only: juknis.db, audit.db, quota.db, outbox).
    #[arg(
        long,
        default_value = "/var/lib/juknis",
        value_name = "DIR",
        env = "STATE_DIRECTORY"
    )]
    state_dir: PathBuf,
    /// A holiday list replacing the built-in one (data/hari-libur.yaml's shape).
    #[arg(long, value_name = "FILE")]
    holidays: Option<PathBuf>,
    /// Make the report as of this instant (RFC 3339) instead of now.
    #[arg(long, value_name = "TIME", hide = true)]
    now: Option<DateTime<Utc>>,
}

fn parse_semester(s: &str) -> Result<Semester, String> {
    s.parse::<Semester>().map_err(|e| e.to_string())
}

pub fn run(which: Which) -> ExitCode {
    match which {
        Which::Semester(args) => semester(&args),
        Which::Availability(args) => availability(&args),
        Which::ScanState(args) => scan_state(&args),
    }
}

fn scan_state(args: &ScanArgs) -> ExitCode {
    let scan = report::scan::scan_dir(&args.state_dir, &report::gather::is_outbox_db);
    match serde_json::to_string(&scan) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(super::EXIT_INTERNAL)
        }
    }
}

fn availability(args: &AvailabilityArgs) -> ExitCode {
    let bad = |e: &dyn std::fmt::Display| {
        eprintln!("{e}");
        ExitCode::from(super::EXIT_BAD_CONFIG)
    };
    let t = match topology::load(&args.config.config) {
        Ok(t) => t,
        Err(e) => return bad(&e),
    };
    let now = args.now.unwrap_or_else(Utc::now);
    let month = args
        .month
        .unwrap_or_else(|| report::availability::Month::of(now).previous());
    let m = match report::availability::gather(&t, &args.state_dir, month, now) {
        Ok(m) => m,
        Err(e @ report::gather::Error::NoStateDir(_)) => return bad(&e),
        Err(e) => {
            eprintln!("report availability: {e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    let Some(out) = &args.output else {
        print!("{}", m.text());
        return ExitCode::SUCCESS;
    };
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let bytes = match ext.as_deref() {
        Some("txt") => Ok(m.text().into_bytes()),
        Some("csv") => match args.table {
            Table::Availability => m.availability_csv(args.separator),
            Table::Incidents => m.incidents_csv(args.separator),
            Table::Measurements => m.measurements_csv(args.separator),
        }
        .map_err(|e| e.to_string()),
        _ => {
            return bad(&format!(
                "{}: unknown format; use .csv or .txt",
                out.display()
            ));
        }
    };
    let written = bytes.and_then(|b| std::fs::write(out, b).map_err(|e| e.to_string()));
    if let Err(e) = written {
        eprintln!("report availability: {}: {e}", out.display());
        return ExitCode::from(super::EXIT_INTERNAL);
    }
    eprintln!("wrote {} ({})", out.display(), month.name());
    ExitCode::SUCCESS
}

fn semester(args: &Args) -> ExitCode {
    let bad = |e: &dyn std::fmt::Display| {
        eprintln!("{e}");
        ExitCode::from(super::EXIT_BAD_CONFIG)
    };
    let kind = match Output::of(&args.output) {
        Ok(k) => k,
        Err(e) => return bad(&e),
    };
    let t = match topology::load(&args.config.config) {
        Ok(t) => t,
        Err(e) => return bad(&e),
    };
    let calendar = match &args.holidays {
        Some(f) => Calendar::load(f),
        None => Calendar::embedded(),
    };
    let calendar = match calendar {
        Ok(c) => c,
        Err(e) => return bad(&e),
    };
    let now = args.now.unwrap_or_else(Utc::now);
    let facts = match report::gather(&t, &args.state_dir, args.semester, now, &calendar) {
        Ok(f) => f,
        Err(e @ report::gather::Error::NoStateDir(_)) => return bad(&e),
        Err(e) => {
            eprintln!("report semester: {e}");
            return ExitCode::from(super::EXIT_INTERNAL);
        }
    };
    let doc = report::build(&facts);
    if let Err(e) = kind.write(&doc, &args.output) {
        eprintln!("report semester: {e}");
        return ExitCode::from(super::EXIT_INTERNAL);
    }
    eprintln!(
        "wrote {} (Semester {} {}, paling lambat disampaikan {})",
        args.output.display(),
        args.semester.roman(),
        args.semester.year(),
        report::calendar::date_with_weekday(facts.deadline.date)
    );
    ExitCode::SUCCESS
}

/// What the output file's extension asks for: a document format, or plain text (`.txt`).
enum Output {
    Text,
    /// HTML, DOCX or PDF, which `Document::write` picks from the extension again.
    Document,
}

impl Output {
    fn of(path: &Path) -> Result<Output, String> {
        let txt = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("txt"));
        if txt {
            return Ok(Output::Text);
        }
        doc::Format::from_path(path)
            .map(|_| Output::Document)
            .map_err(|_| {
                format!(
                    "{}: unknown report format; use .html, .docx, .pdf or .txt",
                    path.display()
                )
            })
    }

    fn write(&self, doc: &Document, out: &Path) -> Result<(), String> {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        match self {
            Output::Text => {
                std::fs::write(out, doc.plain_text()).map_err(|e| format!("{}: {e}", out.display()))
            }
            Output::Document => doc.write(out).map(drop).map_err(|e| e.to_string()),
        }
    }
}
