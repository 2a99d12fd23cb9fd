//! State files whose SQLite locks no scan can drop: `juknis user add`, `juknis balikan import`
//! and a semester report (a separate `juknis report` against `serve`; the in-process report of
//! `demo`, whose zero-storage scan runs in a child process) against a live daemon, then every
//! row written before and after is there: users who can log in, the log-in failure counts the
//! daemon wrote, and the queued data balikan rows.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "kata-sandi-uji-123";

fn juknis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_juknis"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[path = "support/daemon.rs"]
mod daemon;
use daemon::Daemon;

/// One HTTP/1.1 exchange on loopback: (status, headers and body as text).
fn http(port: u16, req: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(req.as_bytes()).expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, out)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Log in through the live dashboard's form; the answer's status (303 on success).
fn login(port: u16, user: &str, password: &str) -> u16 {
    let (_, page) = http(
        port,
        "GET /masuk HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let cookie = page
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: juknis_login="))
        .and_then(|v| v.split(';').next())
        .expect("login cookie")
        .to_string();
    let i = page.find("name=\"csrf\" value=\"").expect("csrf") + 19;
    let csrf = &page[i..i + page[i..].find('"').expect("end")];
    let body = format!(
        "username={}&password={}&csrf={}",
        urlencode(user),
        urlencode(password),
        urlencode(csrf)
    );
    http(
        port,
        &format!(
            "POST /masuk HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: juknis_login={cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .0
}

fn user_add(state: &Path, name: &str) {
    let mut child = juknis()
        .args(["user", "add", "--state-dir"])
        .arg(state)
        .args(["--username", name, "--role", "operator"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("juknis user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .expect("password");
    let out = child.wait_with_output().expect("ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Import three synthetic rows whose serials start at `first`.
fn balikan_import(state: &Path, work: &Path, first: u32) {
    let csv = work.join(format!("balikan-{first}.csv"));
    let mut text = String::from("nik,id_penerima,jenis_bantuan\n");
    for s in first..first + 3 {
        text.push_str(&format!("32040512019{s:05},PKH-{s},PKH\n"));
    }
    std::fs::write(&csv, text).expect("csv");
    let out = juknis()
        .args(["balikan", "import"])
        .arg(&csv)
        .arg("--state-dir")
        .arg(state)
        .output()
        .expect("import");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn wait_for(what: &str, within: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ready() {
        assert!(Instant::now() < deadline, "{what} never happened");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// After the daemon stopped: the three users, the failure counts it wrote, six queued rows.
fn check_rows(state: &Path, failures: i64) {
    let db = rusqlite::Connection::open(state.join("users.db")).expect("users.db");
    let users: Vec<String> = db
        .prepare("SELECT name FROM users WHERE name LIKE 'op%' ORDER BY name")
        .expect("sql")
        .query_map([], |r| r.get(0))
        .expect("sql")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(users, ["op1", "op2", "op3"]);
    let tries: i64 = db
        .query_row(
            "SELECT coalesce(sum(tries), 0) FROM login_throttle",
            [],
            |r| r.get(0),
        )
        .expect("throttle");
    assert_eq!(tries, failures, "failure counts the daemon wrote are lost");
    let out = juknis()
        .args(["balikan", "status", "--json", "--state-dir"])
        .arg(state)
        .output()
        .expect("status");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let total: u64 = ["pending", "delivered", "rejected"]
        .iter()
        .filter_map(|k| v[k].as_u64())
        .sum();
    assert_eq!(total, 6, "queued data balikan rows are lost: {v}");
}

/// Rows before and after the report, through the live daemon on `port`.
fn exercise(port: u16, state: &Path, work: &Path, report: impl FnOnce()) {
    user_add(state, "op1");
    assert_eq!(login(port, "op1", PASSWORD), 303, "op1 added before");
    assert_eq!(login(port, "op1", "salah-salah-1"), 401);
    balikan_import(state, work, 11);
    report();
    user_add(state, "op2");
    balikan_import(state, work, 21);
    assert_eq!(
        login(port, "op2", PASSWORD),
        303,
        "op2 added after the report"
    );
    assert_eq!(login(port, "op2", "salah-salah-1"), 401);
    assert_eq!(login(port, "op1", "salah-salah-1"), 401);
    // Another writer once more, after the daemon's writes.
    user_add(state, "op3");
    assert_eq!(login(port, "op3", PASSWORD), 303, "op3");
}

#[test]
fn a_live_serve_keeps_every_row_through_user_add_import_and_a_report() {
    let work = tempfile::tempdir().expect("tmp");
    let state = work.path().join("state");
    std::fs::create_dir_all(&state).expect("state");
    let mut serve = juknis();
    serve
        .args(["serve", "--config"])
        .arg(root().join("topology/demo.yaml"))
        .arg("--state-dir")
        .arg(&state);
    let daemon = Daemon::serve(
        serve,
        &work.path().join("serve.log"),
        Duration::from_secs(30),
    );
    let port = daemon.port();
    // The demo topology asks for no reflector: `/reflect` is not there.
    let (status, _) = http(
        port,
        "GET /reflect?bytes=99999999999 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        status, 404,
        "the reflector is off unless the topology asks for it"
    );
    let out_file = work.path().join("laporan.html");
    exercise(port, &state, work.path(), || {
        let out = juknis()
            .args(["report", "semester", "--semester", "2026-2", "--config"])
            .arg(root().join("topology/demo.yaml"))
            .arg("--state-dir")
            .arg(&state)
            .arg("-o")
            .arg(&out_file)
            .output()
            .expect("report");
        assert!(
            out_file.exists(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    daemon.stop();
    check_rows(&state, 3);
}

#[test]
fn a_live_demo_keeps_every_row_through_its_own_report() {
    let work = tempfile::tempdir().expect("tmp");
    let mut demo = juknis();
    demo.args(["demo", "--files-dir"])
        .arg(work.path())
        .arg("--state-dir")
        .arg(work.path().join("state"));
    let log = work.path().join("demo.log");
    let daemon = Daemon::demo(demo, work.path(), &log, Duration::from_secs(60));
    let port = daemon.port();
    let state = work.path().join("state");
    assert!(state.join("users.db").exists(), "the demo's users.db");
    let report = work.path().join("dokumen/laporan-semester.pdf");
    exercise(port, &state, work.path(), || {
        // The demo writes its semester report in its own process.
        wait_for("the demo's report", Duration::from_secs(240), || {
            report.exists()
        });
    });
    daemon.stop();
    check_rows(&state, 3);
}
