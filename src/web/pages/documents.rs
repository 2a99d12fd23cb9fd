//! Dokumen: Lampiran I and II of the topology in force, rendered by Graphviz on request; and,
//! for admins and technicians, the kajian teknis and the semester report made on demand and
//! kept in the state folder's `dokumen/`, listed newest first.
//!
//! A document is made by the same command a technician would run (`juknis study`, `juknis
//! report semester`), in a child process of this executable: the figures are the command
//! line's to the byte, a slow one never holds the dashboard up, and the semester report's
//! zero-storage scan opens the state folder's files in a process that holds no SQLite lock of
//! the daemon's (see `report::scan::Isolation`). One document at a time; the page refreshes
//! itself while one is being made and says why one failed.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Form;
use axum::response::Redirect;
use serde::Deserialize;

use crate::render::{self, Format, lampiran1, lampiran2};
use crate::web::auth::Role;
use crate::web::dashboard::{Authed, Chrome, Dash, PageError, render};
use crate::web::i18n::{Lang, Text, wib};

/// The folder under the state folder where made documents are kept.
pub const FOLDER: &str = "dokumen";
/// A document that takes longer than this is stopped and reported as failed.
const MAKE_WITHIN: Duration = Duration::from_secs(15 * 60);
/// Failed attempts shown (newest first).
const FAILURES_SHOWN: usize = 5;

/// How documents are made: this executable and the topology file the daemon runs on.
#[derive(Clone, Debug)]
pub struct Maker {
    pub exe: PathBuf,
    pub config: PathBuf,
}

/// A document being made, or one that failed.
#[derive(Clone, Debug)]
pub struct Job {
    pub what: String,
    pub by: String,
    pub started_s: i64,
    pub started: Instant,
    /// `None` while running; `Some(Err(why))` when it failed (a success is a file in the
    /// folder and leaves the list).
    pub failed: Option<String>,
}

/// The documents being made and the latest failures.
#[derive(Clone, Debug, Default)]
pub struct Jobs(Arc<Mutex<Vec<Job>>>);

impl Jobs {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

/// The words of this part of the page, in both languages.
pub struct Words {
    pub made_title: &'static str,
    pub made_intro: &'static str,
    pub study: &'static str,
    pub semester: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub horizon: &'static str,
    pub growth: &'static str,
    pub growth_hint: &'static str,
    pub which_semester: &'static str,
    pub format: &'static str,
    pub make: &'static str,
    pub making: &'static str,
    pub seconds: &'static str,
    pub failed: &'static str,
    pub earlier: &'static str,
    pub none: &'static str,
    pub busy: &'static str,
    pub bad_input: &'static str,
    pub letters: &'static str,
    pub letter: &'static str,
}

const ID: Words = Words {
    made_title: "Kajian teknis dan laporan semester",
    made_intro: "Dibuat dari riwayat pengukuran perangkat ini, sama dengan perintah `juknis study` dan `juknis report semester`, lalu disimpan di folder dokumen perangkat.",
    study: "Kajian teknis perubahan bandwidth",
    semester: "Laporan penggunaan semester",
    from: "Dari tanggal",
    to: "Sampai tanggal",
    horizon: "Proyeksi (bulan)",
    growth: "Pertumbuhan per tahun (%)",
    growth_hint: "kosongkan untuk memakai tren terukur",
    which_semester: "Semester",
    format: "Format",
    make: "Buat",
    making: "Sedang dibuat",
    seconds: "detik",
    failed: "Gagal dibuat",
    earlier: "Dokumen yang sudah dibuat",
    none: "Belum ada dokumen yang dibuat.",
    busy: "Dokumen lain sedang dibuat; tunggu sampai selesai.",
    bad_input: "Isian tidak sah",
    letters: "Draf surat sesuai Juknis",
    letter: "Surat",
};

const EN: Words = Words {
    made_title: "Technical study and semester report",
    made_intro: "Made from this appliance's measurement history, as the `juknis study` and `juknis report semester` commands make them, and kept in the appliance's documents folder.",
    study: "Technical study for a bandwidth change",
    semester: "Semester usage report",
    from: "From",
    to: "To",
    horizon: "Projection (months)",
    growth: "Growth per year (%)",
    growth_hint: "leave empty to use the measured trend",
    which_semester: "Semester",
    format: "Format",
    make: "Make",
    making: "Being made",
    seconds: "seconds",
    failed: "Failed",
    earlier: "Documents made",
    none: "No document has been made yet.",
    busy: "Another document is being made; wait until it is done.",
    bad_input: "Invalid input",
    letters: "Letter drafts the Juknis asks for",
    letter: "Letter",
};

fn words(lang: Lang) -> &'static Words {
    if lang == Lang::En { &EN } else { &ID }
}

/// A made document as a row.
pub struct Made {
    pub name: String,
    pub when: String,
    pub size: String,
}

/// A job as a row.
pub struct JobRow {
    pub what: String,
    pub by: String,
    pub when: String,
    pub seconds: u64,
    pub failed: Option<String>,
}

/// What can be downloaded: (file name, content type).
pub const FILES: [(&str, &str); 6] = [
    ("lampiran1.pdf", "application/pdf"),
    ("lampiran1.png", "image/png"),
    ("lampiran1.svg", "image/svg+xml"),
    ("lampiran2.pdf", "application/pdf"),
    ("lampiran2.png", "image/png"),
    ("lampiran2.svg", "image/svg+xml"),
];

pub struct Doc {
    pub title: &'static str,
    pub stem: &'static str,
}

#[derive(Template)]
#[template(path = "documents.html")]
pub struct Page {
    pub c: Chrome,
    pub t: &'static Text,
    pub docs: Vec<Doc>,
    pub opd: String,
    pub w: &'static Words,
    /// The kajian and the semester report can be made here (admin or technician, and a maker).
    pub may_make: bool,
    pub jobs: Vec<JobRow>,
    pub made: Vec<Made>,
    /// Defaults of the forms.
    pub from: String,
    pub to: String,
    pub semesters: Vec<String>,
    /// The letters: (key, subject with its Juknis item).
    pub letters: Vec<(&'static str, String)>,
    pub refresh: bool,
}

fn may_make(dash: &Dash, a: &Authed) -> bool {
    dash.cfg.documents.is_some() && matches!(a.user().role, Role::Admin | Role::Technician)
}

/// The made documents, newest first.
fn made(dash: &Dash) -> Vec<Made> {
    let Ok(entries) = std::fs::read_dir(dash.cfg.state_dir.join(FOLDER)) else {
        return Vec::new();
    };
    let mut files: Vec<(i64, Made)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let meta = e.metadata().ok().filter(std::fs::Metadata::is_file)?;
            kind_of(&name)?;
            let at = meta
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs();
            let at = i64::try_from(at).ok()?;
            let size = meta.len();
            Some((
                at,
                Made {
                    name,
                    when: wib(at),
                    size: if size >= 1_000_000 {
                        format!("{:.1} MB", size as f64 / 1e6)
                    } else {
                        format!("{} KB", size.div_ceil(1000))
                    },
                },
            ))
        })
        .collect();
    files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    files.into_iter().map(|f| f.1).collect()
}

/// A made document's content type, when `name` is one this page makes and serves: a plain
/// file name (no folder, no dot first) ending in .pdf, .docx or .html.
fn kind_of(name: &str) -> Option<&'static str> {
    let plain = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !plain {
        return None;
    }
    match name.rsplit_once('.')?.1 {
        "pdf" => Some("application/pdf"),
        "docx" => Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        "html" => Some("text/html; charset=utf-8"),
        _ => None,
    }
}

/// This semester and the one before, as `YYYY-N`, this one first.
fn semesters(today: chrono::NaiveDate) -> Vec<String> {
    use chrono::Datelike as _;
    let (y, h) = (today.year(), if today.month() <= 6 { 1 } else { 2 });
    let before = if h == 1 { (y - 1, 2) } else { (y, 1) };
    vec![format!("{y}-{h}"), format!("{}-{}", before.0, before.1)]
}

fn today_wib() -> chrono::NaiveDate {
    crate::report::calendar::wib_day(chrono::Utc::now())
}

pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed) -> Response {
    let t = a.t();
    let may = may_make(&dash, &a);
    let jobs: Vec<JobRow> = if may {
        dash.jobs
            .lock()
            .iter()
            .rev()
            .map(|j| JobRow {
                what: j.what.clone(),
                by: j.by.clone(),
                when: wib(j.started_s),
                seconds: j.started.elapsed().as_secs(),
                failed: j.failed.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let today = today_wib();
    render(&Page {
        w: words(a.lang),
        may_make: may,
        refresh: jobs.iter().any(|j| j.failed.is_none()),
        jobs,
        made: if may { made(&dash) } else { Vec::new() },
        from: (today - chrono::Days::new(90)).to_string(),
        to: (today - chrono::Days::new(1)).to_string(),
        semesters: semesters(today),
        letters: crate::report::letters::Letter::ALL
            .into_iter()
            .map(|l| (l.key(), format!("{} (Juknis {})", l.subject(), l.item())))
            .collect(),
        c: a.chrome("documents", t.nav_documents),
        t,
        docs: vec![
            Doc {
                title: t.lampiran1,
                stem: "lampiran1",
            },
            Doc {
                title: t.lampiran2,
                stem: "lampiran2",
            },
        ],
        opd: dash.shared.topology().agreement.opd.clone(),
    })
}

pub async fn download(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Path(file): Path<String>,
) -> Response {
    let Some((name, ct)) = FILES.iter().find(|f| f.0 == file).copied() else {
        return PageError::new(a.lang, StatusCode::NOT_FOUND, a.t().not_found).into_response();
    };
    let topology = dash.shared.topology();
    let dot = if name.starts_with("lampiran1") {
        lampiran1::dot(&topology)
    } else {
        lampiran2::dot(&topology)
    };
    let format = match name.rsplit('.').next() {
        Some("pdf") => Format::Pdf,
        Some("png") => Format::Png,
        _ => Format::Svg,
    };
    match tokio::task::spawn_blocking(move || render::to_format(&dot, format)).await {
        Ok(Ok(bytes)) => {
            let mut res = bytes.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        Ok(Err(render::Error::DotMissing)) => PageError::new(
            a.lang,
            StatusCode::SERVICE_UNAVAILABLE,
            a.t().diagram_missing,
        )
        .into_response(),
        Ok(Err(e)) => a.internal(&e).into_response(),
        Err(e) => a.internal(&e).into_response(),
    }
}

/// The form of either document.
#[derive(Debug, Deserialize)]
pub struct MakeForm {
    pub csrf: Option<String>,
    /// `kajian` or `semester`.
    pub kind: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub horizon: String,
    #[serde(default)]
    pub growth: String,
    #[serde(default)]
    pub semester: String,
    /// Which letter (`perpanjangan`, `user-id`, ...), for `kind=surat`.
    #[serde(default)]
    pub letter: String,
    pub format: String,
}

/// What a form asks for, checked: the command's arguments after the executable (the output
/// file last), what the page calls it, and the file name under `folder` stamped `stamp`.
/// `Err` says which field is wrong.
fn command(
    f: &MakeForm,
    w: &Words,
    folder: &std::path::Path,
    stamp: &str,
) -> Result<(Vec<String>, String, String), String> {
    let cut = |v: &str| v.chars().take(20).collect::<String>();
    let ext = match f.format.as_str() {
        e @ ("pdf" | "docx" | "html") => e,
        other => return Err(format!("{}: {}", w.format, cut(other))),
    };
    let date = |label: &str, v: &str| {
        chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
            .map_err(|_| format!("{label}: {}", cut(v)))
    };
    match f.kind.as_str() {
        "kajian" => {
            let (from, to) = (date(w.from, &f.from)?, date(w.to, &f.to)?);
            if from > to {
                return Err(format!("{} > {}", w.from, w.to));
            }
            let horizon: u32 = match f.horizon.trim() {
                "" => 12,
                h => h
                    .parse()
                    .ok()
                    .filter(|m| (1..=60).contains(m))
                    .ok_or_else(|| format!("{}: 1-60", w.horizon))?,
            };
            let mut args = vec![
                "study".to_owned(),
                "--from".to_owned(),
                from.to_string(),
                "--to".to_owned(),
                to.to_string(),
                "--horizon-months".to_owned(),
                horizon.to_string(),
            ];
            match f.growth.trim() {
                "" => {}
                g => {
                    let v: f64 = g
                        .replace(',', ".")
                        .parse()
                        .ok()
                        .filter(|v: &f64| v.is_finite() && *v > -100.0 && *v <= 1000.0)
                        .ok_or_else(|| format!("{}: {}", w.growth, cut(g)))?;
                    args.extend(["--growth-percent".to_owned(), v.to_string()]);
                }
            }
            let name = format!("kajian-teknis-{from}-{to}-{stamp}.{ext}");
            args.extend(["-o".to_owned(), folder.join(&name).display().to_string()]);
            Ok((args, format!("{} {from} – {to}", w.study), name))
        }
        "semester" => {
            let sem: crate::report::Semester = f
                .semester
                .trim()
                .parse()
                .map_err(|_| format!("{}: {}", w.which_semester, cut(&f.semester)))?;
            let name = format!("laporan-semester-{sem}-{stamp}.{ext}");
            Ok((
                vec![
                    "report".to_owned(),
                    "semester".to_owned(),
                    "--semester".to_owned(),
                    sem.to_string(),
                    "-o".to_owned(),
                    folder.join(&name).display().to_string(),
                ],
                format!("{} {sem}", w.semester),
                name,
            ))
        }
        "surat" => {
            let letter = crate::report::letters::Letter::ALL
                .into_iter()
                .find(|l| l.key() == f.letter)
                .ok_or_else(|| format!("{}: {}", w.letter, cut(&f.letter)))?;
            let name = format!("surat-{}-{stamp}.{ext}", letter.key());
            Ok((
                vec![
                    "letter".to_owned(),
                    letter.key().to_owned(),
                    "-o".to_owned(),
                    folder.join(&name).display().to_string(),
                ],
                format!("Draf {}", letter.subject()),
                name,
            ))
        }
        other => Err(cut(other)),
    }
}

/// Start making a document (admins and technicians; CSRF token first).
pub async fn make(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Form(f): Form<MakeForm>,
) -> Response {
    if let Err(r) = a.check_csrf(f.csrf.as_deref()) {
        return r.into_response();
    }
    let Some(maker) = dash.cfg.documents.clone().filter(|_| may_make(&dash, &a)) else {
        return PageError::new(a.lang, StatusCode::FORBIDDEN, a.t().forbidden).into_response();
    };
    let w = words(a.lang);
    let folder = dash.cfg.state_dir.join(FOLDER);
    // The WIB clock, to the second: names sort by when they were made.
    let stamp = (chrono::Utc::now() + chrono::TimeDelta::hours(7))
        .format("%Y%m%d-%H%M%S")
        .to_string();
    let (mut args, what) = match command(&f, w, &folder, &stamp) {
        Ok((args, what, name)) if kind_of(&name).is_some() => (args, what),
        Ok(_) => {
            return PageError::new(a.lang, StatusCode::BAD_REQUEST, w.bad_input).into_response();
        }
        Err(why) => {
            return PageError::new(
                a.lang,
                StatusCode::BAD_REQUEST,
                format!("{}: {why}", w.bad_input),
            )
            .into_response();
        }
    };
    args.extend([
        "--config".to_owned(),
        maker.config.display().to_string(),
        "--state-dir".to_owned(),
        dash.cfg.state_dir.display().to_string(),
    ]);
    {
        let mut jobs = dash.jobs.lock();
        if jobs.iter().any(|j| j.failed.is_none()) {
            drop(jobs);
            return PageError::new(a.lang, StatusCode::CONFLICT, w.busy).into_response();
        }
        jobs.push(Job {
            what: what.clone(),
            by: a.user().name.clone(),
            started_s: super::now_s(),
            started: Instant::now(),
            failed: None,
        });
        let keep = jobs.len().saturating_sub(FAILURES_SHOWN + 1);
        jobs.drain(..keep);
    }
    tracing::info!(user = %a.user().name, document = %what, "making a document");
    let jobs = dash.jobs.clone();
    tokio::spawn(async move {
        let result = run(&maker.exe, &args, &folder).await;
        let mut all = jobs.lock();
        let Some(i) = all.iter().position(|j| j.failed.is_none()) else {
            return;
        };
        match result {
            Ok(()) => {
                tracing::info!(document = %what, "document made");
                all.remove(i);
            }
            Err(why) => {
                tracing::warn!(document = %what, %why, "a document could not be made");
                all[i].failed = Some(why);
            }
        }
    });
    Redirect::to("/dokumen#dibuat").into_response()
}

/// Run the command; `Err` with the last lines it wrote to stderr (its own words, in the
/// language of the command line) when it fails or takes too long.
async fn run(
    exe: &std::path::Path,
    args: &[String],
    folder: &std::path::Path,
) -> Result<(), String> {
    std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let child = tokio::process::Command::new(exe)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    match tokio::time::timeout(MAKE_WITHIN, child.wait_with_output()).await {
        Err(_) => Err(format!("lebih dari {} menit", MAKE_WITHIN.as_secs() / 60)),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => {
            let err = String::from_utf8_lossy(&out.stderr);
            let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
            let tail = lines[lines.len().saturating_sub(3)..].join(" ");
            Err(if tail.is_empty() {
                format!("exit {}", out.status)
            } else {
                tail.chars().take(600).collect()
            })
        }
    }
}

/// A made document, to download (admins and technicians).
pub async fn archived(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Path(file): Path<String>,
) -> Response {
    if !may_make(&dash, &a) {
        return PageError::new(a.lang, StatusCode::FORBIDDEN, a.t().forbidden).into_response();
    }
    let Some(ct) = kind_of(&file) else {
        return PageError::new(a.lang, StatusCode::NOT_FOUND, a.t().not_found).into_response();
    };
    let path = dash.cfg.state_dir.join(FOLDER).join(&file);
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let mut res = bytes.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            PageError::new(a.lang, StatusCode::NOT_FOUND, a.t().not_found).into_response()
        }
        Err(e) => a.internal(&e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_of_made_formats_are_served() {
        assert_eq!(
            kind_of("kajian-teknis-2026-01-01-2026-03-31-20261205-101010.pdf"),
            Some("application/pdf")
        );
        assert!(kind_of("laporan.docx").is_some());
        for bad in [
            "../users.db",
            "juknis.db",
            ".x.pdf",
            "a/b.pdf",
            "a b.pdf",
            "x.pdf.sqlite",
            "",
        ] {
            assert_eq!(kind_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn forms_become_the_commands_a_technician_would_type() {
        let f = |kind: &str, from: &str, to: &str, growth: &str| MakeForm {
            csrf: None,
            kind: kind.into(),
            from: from.into(),
            to: to.into(),
            horizon: String::new(),
            growth: growth.into(),
            semester: "2026-2".into(),
            letter: "perpanjangan".into(),
            format: "pdf".into(),
        };
        let out = std::path::Path::new("/s/dokumen");
        let st = "20261205-101010";
        let (args, what, name) = command(
            &f("kajian", "2026-01-01", "2026-03-31", "7,5"),
            &ID,
            out,
            st,
        )
        .expect("ok");
        assert_eq!(
            args.join(" "),
            "study --from 2026-01-01 --to 2026-03-31 --horizon-months 12 --growth-percent 7.5 \
             -o /s/dokumen/kajian-teknis-2026-01-01-2026-03-31-20261205-101010.pdf"
        );
        assert!(what.starts_with("Kajian teknis"), "{what}");
        assert!(kind_of(&name).is_some(), "{name}");
        let (args, _, name) = command(&f("semester", "", "", ""), &ID, out, st).expect("ok");
        assert_eq!(
            args.join(" "),
            "report semester --semester 2026-2 -o /s/dokumen/laporan-semester-2026-2-20261205-101010.pdf"
        );
        assert!(kind_of(&name).is_some(), "{name}");
        for (form, field) in [
            (f("kajian", "2026-04-01", "2026-03-31", ""), "Dari tanggal"),
            (f("kajian", "kemarin", "2026-03-31", ""), "Dari tanggal"),
            (
                f("kajian", "2026-01-01", "2026-03-31", "-100"),
                "Pertumbuhan",
            ),
        ] {
            let e = command(&form, &ID, out, st).expect_err("refused");
            assert!(e.contains(field), "{e}");
        }
        let mut bad = f("semester", "", "", "");
        bad.semester = "2026-3".into();
        assert!(
            command(&bad, &ID, out, st)
                .expect_err("refused")
                .contains("Semester")
        );
        let (args, what, _) = command(&f("surat", "", "", ""), &ID, out, st).expect("ok");
        assert_eq!(
            args.join(" "),
            "letter perpanjangan -o /s/dokumen/surat-perpanjangan-20261205-101010.pdf"
        );
        assert!(what.contains("Perpanjangan"), "{what}");
        let mut unknown = f("surat", "", "", "");
        unknown.letter = "../x".into();
        assert!(
            command(&unknown, &ID, out, st)
                .expect_err("refused")
                .contains("Surat")
        );
        bad.semester = "2026-2".into();
        bad.format = "exe".into();
        assert!(
            command(&bad, &ID, out, st)
                .expect_err("refused")
                .contains("Format")
        );
    }

    #[test]
    fn the_form_offers_this_semester_and_the_one_before() {
        let d = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(semesters(d("2026-12-05")), ["2026-2", "2026-1"]);
        assert_eq!(semesters(d("2027-01-10")), ["2027-1", "2026-2"]);
    }
}
