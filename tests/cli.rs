//! The command line as a technician uses it: exit codes, messages, files written.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn juknis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_juknis"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn help_lists_the_commands() {
    let out = juknis().arg("--help").output().expect("runs");
    assert!(out.status.success());
    insta::assert_snapshot!("help", String::from_utf8_lossy(&out.stdout));
}

#[test]
fn check_passes_both_shipped_topologies() {
    for name in ["bandung.yaml", "demo.yaml"] {
        let out = juknis()
            .args(["check", "--config"])
            .arg(root().join("topology").join(name))
            .output()
            .expect("runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("Lampiran I: all 5 required items present"),
            "{stdout}"
        );
        assert!(stdout.contains("wan-kominfo 512 Kbps"), "{stdout}");
    }
}

#[test]
fn check_reports_every_error_and_missing_items_with_a_nonzero_exit() {
    let dir = tempfile::tempdir().expect("tmp");
    let demo = std::fs::read_to_string(root().join("topology/demo.yaml")).expect("demo");
    let broken = demo
        .replacen("bandwidth: 512 Kbps", "bandwidth: 512 kilo", 1)
        .replacen("{id: app-web, zone: opd,", "{id: app-web, zoen: opd,", 1);
    let file = dir.path().join("broken.yaml");
    std::fs::write(&file, broken).expect("write");
    let out = juknis()
        .args(["check", "--config"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.yaml:")
            && err.contains("unknown key `zoen`")
            && err.contains("did you mean `zone`?"),
        "{err}"
    );
    assert!(err.contains("`kilo` is not a bandwidth unit"), "{err}");

    // Valid, but Lampiran I lacks the mobile app the agreement declares: exit 1, item 3 named.
    let lint = demo.replacen(
        "kind: app, platform: mobile,",
        "kind: app, platform: web,",
        1,
    );
    std::fs::write(&file, lint).expect("write");
    let out = juknis()
        .args(["check", "--config"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Lampiran I item 3: \"Jika pakai mobile App gambarkan pada bagian OPDnya\""),
        "{err}"
    );
}

#[test]
fn render_writes_every_format_and_refuses_an_unknown_one() {
    let dir = tempfile::tempdir().expect("tmp");
    for ext in ["svg", "png", "pdf", "dot"] {
        let out_file = dir.path().join(format!("l1.{ext}"));
        let out = juknis()
            .args(["render", "lampiran1", "--config"])
            .arg(root().join("topology/bandung.yaml"))
            .arg("-o")
            .arg(&out_file)
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{ext}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(std::fs::metadata(&out_file).expect("written").len() > 500);
    }
    let out = juknis()
        .args(["render", "lampiran2", "--config"])
        .arg(root().join("topology/bandung.yaml"))
        .arg("-o")
        .arg(dir.path().join("l2.pdf"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1. Operator Dinas Sosial"),
        "narrative printed"
    );
    let out = juknis()
        .args(["render", "lampiran1", "--config"])
        .arg(root().join("topology/bandung.yaml"))
        .arg("-o")
        .arg(dir.path().join("l1.jpg"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn demo_runs_the_simulator_and_the_appliance_and_writes_demo_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let state = tempfile::tempdir().expect("tmp");
    let mut child = juknis()
        .args(["demo", "--files-dir"])
        .arg(dir.path())
        .arg("--state-dir")
        .arg(state.path())
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("demo starts");
    // Its stdout, line by line, read on a thread so the pipe never fills.
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    // The ready lines come once the portal path is healthy (the demo waits up to 60 s).
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut printed = Vec::new();
    let curl = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains("NIK look-up:") => break line,
            Ok(line) => printed.push(line),
            Err(e) => panic!("no ready curl line ({e}); printed so far: {printed:#?}"),
        }
    };
    let rest: Vec<String> = std::iter::from_fn(|| lines.recv_timeout(Duration::from_secs(2)).ok())
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(
        !rest.iter().any(|l| l.contains("not ready")),
        "the demo gave up waiting for the portal path: {rest:#?}"
    );
    // `--state-dir` is the state folder itself, as for every other command; the demo's own
    // files are in `--files-dir`.
    for f in ["juknis.db", "secrets.yaml", "users.db"] {
        assert!(state.path().join(f).exists(), "{f} in the state dir");
    }
    assert!(
        !state.path().join("state").exists(),
        "no state/ folder inside"
    );
    for f in ["demo.json", "topology/demo.yaml"] {
        assert!(dir.path().join(f).exists(), "{f} in the files dir");
    }
    assert!(
        !dir.path().join("state").exists(),
        "the state dir was given"
    );
    let info = dir.path().join("demo.json");
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&info).expect("read")).expect("json");
    let token = v["api_token"].as_str().expect("api_token");
    assert!(
        curl.contains(token) && curl.contains(v["samples"]["found"].as_str().expect("nik")),
        "the printed curl carries demo.json's token and sample NIK: {curl}"
    );
    // It holds the demo's API token and admin password: the owner's eyes only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&info).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "demo.json mode {mode:o}");
    }

    // The first look-up right after the ready line goes through to the simulator and back,
    // with no waiting of its own.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let (status, cache, body) = rt.block_on(async {
        let client = reqwest::Client::new();
        let r = client
            .post(format!("http://127.0.0.1:{port}/api/v1/lookup"))
            .bearer_auth(v["api_token"].as_str().unwrap_or_default())
            .json(&serde_json::json!({"nik": v["samples"]["found"], "purpose": "bansos"}))
            .send()
            .await
            .expect("the appliance answers");
        let status = r.status().as_u16();
        let cache = r
            .headers()
            .get("cache-control")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("")
            .to_string();
        (
            status,
            cache,
            r.json::<serde_json::Value>().await.expect("json"),
        )
    });
    // The kajian teknis is written in the background from the seeded history: wait for it
    // (every document is written atomically, so one that exists is whole).
    let deadline = Instant::now() + Duration::from_secs(180);
    let docs: Vec<PathBuf> = v["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| PathBuf::from(d.as_str().expect("path")))
        .collect();
    while !docs.iter().all(|p| p.exists()) {
        assert!(
            Instant::now() < deadline,
            "documents not all written: {docs:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = child.kill();
    let _ = child.wait();
    let kajian = std::fs::read_to_string(dir.path().join("dokumen/kajian-teknis.html"))
        .expect("the demo's kajian teknis");
    assert!(
        kajian.contains("Direkomendasikan penambahan bandwidth dari 512 Kbps menjadi 1 Mbps"),
        "the demo's saturated history calls for 1 Mbps"
    );
    let laporan = std::fs::read_to_string(dir.path().join("dokumen/laporan-semester.html"))
        .expect("the demo's semester report");
    assert!(
        laporan.contains("Rantai hash utuh") && !laporan.contains("Tidak sesuai"),
        "the demo's seeded audit log verifies and every compliance check passes"
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "found", "{body}");
    assert_eq!(body["data"]["nik"], v["samples"]["found"]);
    assert!(cache.contains("no-store"), "{cache}");
    assert_eq!(v["url"], format!("http://127.0.0.1:{port}/"));
    for status in ["found", "deceased", "duplicate", "inactive", "not_found"] {
        let nik = v["samples"][status].as_str().unwrap_or_default();
        assert!(
            juknis::nik::Nik::parse(nik).is_ok(),
            "{status}: a valid synthetic NIK"
        );
    }
    for doc in v["documents"].as_array().expect("documents") {
        let p = PathBuf::from(doc.as_str().expect("path"));
        assert!(
            std::fs::metadata(&p).expect("document exists").len() > 500,
            "{}",
            p.display()
        );
    }
    let topo = std::fs::read_to_string(dir.path().join("topology/demo.yaml")).expect("topology");
    assert!(
        topo.contains("tls_pin"),
        "the demo pins the simulator's certificate"
    );
}
