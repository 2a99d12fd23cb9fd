//! `juknis study` end to end: a synthetic history in the store and, the same data, in a real
//! Prometheus (imported with `promtool tsdb create-blocks-from openmetrics`); the study's numbers
//! must agree between the two. The command line: documents written and read back (HTML, DOCX
//! through word/document.xml, PDF through pdftotext), and its errors.
//! Needs `prometheus` and `promtool` (Debian package prometheus) and poppler-utils.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use juknis::study::{self, Period, history, prometheus, synth};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn day(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A child process killed and reaped when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The demo topology and the shipped profiles in `dir`; returns the topology file.
fn config(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("topology")).expect("mkdir");
    std::fs::copy(
        root().join("topology/demo.yaml"),
        dir.join("topology/demo.yaml"),
    )
    .expect("copy");
    juknis::cli::write_profiles(&dir.join("probes")).expect("profiles");
    dir.join("topology/demo.yaml")
}

fn kind_of(p: &str) -> Option<String> {
    // The shipped profiles are named after their kind.
    Some(p.to_string())
}

/// Seed `state` with `spec` for the demo topology's WAN link; returns the selection.
fn seed(topo: &Path, state: &Path, spec: &synth::Spec) -> study::Selection {
    let t = juknis::topology::load(topo).expect("topology");
    let link = study::pick_link(&t, None).expect("link");
    let sel = study::selection(&t, link, &kind_of);
    std::fs::create_dir_all(state).expect("mkdir");
    let mut store = juknis::store::Store::open(&state.join(history::STORE_FILE)).expect("store");
    synth::write(&mut store, state, &sel, spec).expect("synth");
    sel
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Skip (or fail under CI) when a program is missing.
fn require(program: &str) -> bool {
    if have(program) {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{program} is missing (scripts/install-deps.sh installs it)"
    );
    eprintln!("skipped: {program} is not installed");
    false
}

/// A Prometheus serving the OpenMetrics history in `dir`.
fn prometheus_with(dir: &Path, openmetrics: &Path) -> (Proc, String) {
    let data = dir.join("data");
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .arg(openmetrics)
        .arg(&data)
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\n").expect("config");
    let port = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).expect("log");
    let proc = Proc(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            // The imported history lies in the past: keep all of it.
            .arg("--storage.tsdb.retention.time=100y")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if http_get(port, "/-/ready").is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
            break;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
            panic!("prometheus not ready:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    (proc, url)
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn close(a: f64, b: f64, what: &str) {
    let tol = 1e-6 * a.abs().max(b.abs()).max(1e-9);
    assert!((a - b).abs() <= tol, "{what}: store {a} != prometheus {b}");
}

#[test]
fn prometheus_and_the_store_give_the_same_study() {
    if !require("prometheus") || !require("promtool") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let topo = config(tmp.path());
    let mut spec = synth::Spec::new(synth::Shape::Saturated, 512_000.0, day("2026-03-31"), 12);
    spec.minute_days = 12;
    spec.raw_hours = 0;
    let state = tmp.path().join("state");
    let sel = seed(&topo, &state, &spec);

    let om = tmp.path().join("history.om");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&om).expect("om"));
        synth::openmetrics(&mut f, &sel, &spec, spec.start_s(), spec.end_s()).expect("write");
        f.flush().expect("flush");
    }
    let (_prom, url) = prometheus_with(&tmp.path().join("prometheus"), &om);

    let t = juknis::topology::load(&topo).expect("topology");
    let period = Period::new(day("2026-03-21"), day("2026-03-31")).expect("period");
    let opts = study::Options::new(day("2026-04-01"));
    let from_store = study::run(&t, &kind_of, &history::Sqlite::new(&state), period, &opts)
        .expect("study from the store");
    let from_prom = study::run(
        &t,
        &kind_of,
        &prometheus::Prometheus::new(&url, None),
        period,
        &opts,
    )
    .expect("study from prometheus");
    let (a, b) = (&from_store.analysis, &from_prom.analysis);

    // Same points, same numbers.
    for (name, x, y) in [
        ("utilisation", a.util, b.util),
        ("rx", a.rx_bps, b.rx_bps),
        ("tx", a.tx_bps, b.tx_bps),
        ("rtt", a.rtt_s, b.rtt_s),
        ("loss", a.loss, b.loss),
        ("jitter", a.jitter_s, b.jitter_s),
        ("available", a.available_bps, b.available_bps),
        ("delivered", a.delivered_bps, b.delivered_bps),
    ] {
        let (x, y) = (x.expect(name), y.expect(name));
        assert_eq!(x.n, y.n, "{name}: number of points");
        close(x.mean, y.mean, &format!("{name} mean"));
        close(x.p50, y.p50, &format!("{name} p50"));
        close(x.p95, y.p95, &format!("{name} p95"));
        close(x.max, y.max, &format!("{name} max"));
    }
    assert_eq!(a.util.expect("util").n, 11 * 1440);
    assert_eq!(a.busy_hours, b.busy_hours);
    assert_eq!(a.busiest_hour.map(|h| h.0), b.busiest_hour.map(|h| h.0));
    let (la, lb) = (
        a.lookups.as_ref().expect("lookups"),
        b.lookups.as_ref().expect("lookups"),
    );
    assert_eq!((la.days, la.total, la.max), (lb.days, lb.total, lb.max));
    assert_eq!(la.days, 11);
    for (x, y) in a.days.iter().zip(&b.days) {
        assert_eq!(x.lookups, y.lookups, "{}", x.date);
        close(
            x.util_p95.unwrap_or(0.0),
            y.util_p95.unwrap_or(0.0),
            "daily p95",
        );
        close(
            x.rtt_p95_s.unwrap_or(0.0),
            y.rtt_p95_s.unwrap_or(0.0),
            "daily rtt p95",
        );
    }
    close(
        from_store.recommendation.required_bps,
        from_prom.recommendation.required_bps,
        "required",
    );
    assert_eq!(
        from_store.recommendation.verdict,
        from_prom.recommendation.verdict
    );
    assert_eq!(
        from_store.recommendation.needed.map(|t| t.bandwidth.bps()),
        Some(1_000_000)
    );
    assert!(b.source.contains(&url));

    // The command line reads the same Prometheus.
    let out = tmp.path().join("kajian.html");
    let run = Command::new(env!("CARGO_BIN_EXE_juknis"))
        .arg("study")
        .arg("--config")
        .arg(&topo)
        .args([
            "--from",
            "2026-03-21",
            "--to",
            "2026-03-31",
            "--prometheus",
            &url,
        ])
        .arg("-o")
        .arg(&out)
        .output()
        .expect("juknis study");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("penambahan bandwidth dari 512 Kbps menjadi 1 Mbps"),
        "{stdout}"
    );
    assert!(out.exists());
}

fn study_cmd(topo: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_juknis"))
        .arg("study")
        .arg("--config")
        .arg(topo)
        .args(args)
        .output()
        .expect("juknis study")
}

#[test]
fn the_command_line_says_what_is_wrong_and_where() {
    let tmp = tempfile::tempdir().expect("tmp");
    let topo = config(tmp.path());
    let out = tmp.path().join("k.html");
    let out = out.to_str().expect("utf-8");
    let state = tmp.path().join("state");
    let state = state.to_str().expect("utf-8");

    let r = study_cmd(
        &topo,
        &[
            "--from",
            "2026-03-02",
            "--to",
            "2026-03-01",
            "--state-dir",
            state,
            "-o",
            out,
        ],
    );
    assert_eq!(r.status.code(), Some(64));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("--from 2026-03-02 is after --to 2026-03-01")
    );

    let r = study_cmd(
        &topo,
        &[
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-02",
            "--state-dir",
            state,
            "-o",
            "k.txt",
        ],
    );
    assert_eq!(r.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&r.stderr).contains("use .html, .docx or .pdf"));

    let r = study_cmd(
        &topo,
        &[
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-02",
            "--state-dir",
            state,
            "-o",
            out,
        ],
    );
    assert_eq!(r.status.code(), Some(64));
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(e.contains("no store at") && e.contains(state), "{e}");

    // Nothing listens there.
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let r = study_cmd(
        &topo,
        &[
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-02",
            "--prometheus",
            &url,
            "-o",
            out,
        ],
    );
    assert_eq!(r.status.code(), Some(69));
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(
        e.contains(&format!("Prometheus at {url} is unreachable")),
        "{e}"
    );

    // Something that is not Prometheus answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let mut s = s;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 20\r\nConnection: close\r\n\r\n<html>router</html>\n");
        }
    });
    let url = format!("http://127.0.0.1:{port}");
    let r = study_cmd(
        &topo,
        &[
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-02",
            "--prometheus",
            &url,
            "-o",
            out,
        ],
    );
    assert_eq!(r.status.code(), Some(69));
    let e = String::from_utf8_lossy(&r.stderr);
    assert!(
        e.contains(&format!(
            "Prometheus at {url} gave an answer the study cannot read"
        )) && e.contains("not the query API's JSON")
            && e.contains("<html>router"),
        "{e}"
    );

    // A period without data.
    let mut spec = synth::Spec::new(synth::Shape::Idle, 512_000.0, day("2026-03-31"), 2);
    spec.minute_days = 0;
    seed(&topo, Path::new(state), &spec);
    let r = study_cmd(
        &topo,
        &[
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-31",
            "--state-dir",
            state,
            "-o",
            out,
        ],
    );
    assert_eq!(r.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&r.stderr)
            .contains("no measurements of link `wan-kominfo` between 2026-01-01 and 2026-01-31")
    );
}

/// The text of a .docx: every `<w:t>` run of word/document.xml, joined.
fn docx_text(path: &Path) -> String {
    let out = Command::new("unzip")
        .arg("-p")
        .arg(path)
        .arg("word/document.xml")
        .output()
        .expect("unzip runs");
    assert!(out.status.success(), "not a zip with word/document.xml");
    let xml = String::from_utf8_lossy(&out.stdout);
    let mut text = String::new();
    for part in xml.split("<w:t").skip(1) {
        let Some(start) = part.find('>') else {
            continue;
        };
        let body = &part[start + 1..];
        if let Some(end) = body.find("</w:t>") {
            text.push_str(&body[..end]);
        }
        // Paragraph ends become spaces, so sentences split across runs still read whole.
        if part.contains("</w:p>") {
            text.push(' ');
        }
    }
    text.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
}

/// The text of a PDF, white space collapsed (pdftotext breaks lines where the page does).
fn pdf_text(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext runs (poppler-utils)");
    assert!(
        out.status.success(),
        "pdftotext failed on {}",
        path.display()
    );
    collapse(&String::from_utf8_lossy(&out.stdout))
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_documents_carry_the_recommendation_and_its_numbers() {
    if !require("pdftotext") || !require("unzip") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let topo = config(tmp.path());
    let mut spec = synth::Spec::new(synth::Shape::Saturated, 512_000.0, day("2026-03-31"), 28);
    spec.minute_days = 14;
    let state = tmp.path().join("state");
    seed(&topo, &state, &spec);
    let mut texts = Vec::new();
    for ext in ["html", "docx", "pdf"] {
        let out = tmp.path().join(format!("kajian.{ext}"));
        let r = Command::new(env!("CARGO_BIN_EXE_juknis"))
            .arg("study")
            .arg("--config")
            .arg(&topo)
            .args(["--from", "2026-03-04", "--to", "2026-03-31", "--state-dir"])
            .arg(&state)
            .arg("-o")
            .arg(&out)
            .output()
            .expect("juknis study");
        assert!(
            r.status.success(),
            "{ext}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        let text = match ext {
            "html" => collapse(&std::fs::read_to_string(&out).expect("html")),
            "docx" => collapse(&docx_text(&out)),
            _ => pdf_text(&out),
        };
        texts.push((ext, text));
    }
    for (ext, text) in &texts {
        for want in [
            "Kajian Teknis Perubahan Bandwidth Jaringan Komunikasi Data",
            "Direkomendasikan penambahan bandwidth dari 512 Kbps menjadi 1 Mbps",
            "Rp1.000.000 per bulan (Rp12.000.000 per tahun)",
            "4 Maret 2026 s.d. 31 Maret 2026",
            "Senin–Jumat pukul 08.00–12.00 dan 13.00–15.00 WIB",
            "Perihal: Permohonan Perubahan Bandwidth Jaringan Komunikasi Data",
            "Yth. Kepala Dinas Kependudukan dan Pencatatan Sipil",
            "NIP.",
        ] {
            assert!(text.contains(want), "{ext} lacks {want:?}");
        }
    }
}
