//! `juknis serve` as a process: it probes the demo topology, reports health on /healthz,
//! exposes metrics that promtool accepts, and flushes its store when stopped with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the demo topology with fast probe profiles beside it.
fn fast_demo(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("topology")).expect("mkdir");
    std::fs::create_dir_all(dir.join("probes")).expect("mkdir");
    // The demo's Web Portal is the simulator, which these tests do not start: ping it only.
    let demo = std::fs::read_to_string(root().join("topology/demo.yaml")).expect("demo");
    let demo = demo.replace(", probes: [icmp, tls]", "");
    std::fs::write(dir.join("topology/demo.yaml"), demo).expect("write");
    std::fs::copy(
        root().join("tests/fixtures/fast/icmp.yaml"),
        dir.join("probes/icmp.yaml"),
    )
    .expect("copy");
    dir.join("topology/demo.yaml")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[path = "support/daemon.rs"]
mod daemon;
use daemon::Daemon;

fn get(url: &str) -> Option<String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        r.text().await.ok()
    })
}

#[test]
fn serve_probes_reports_health_and_valid_metrics_then_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = fast_demo(dir.path());
    let state = dir.path().join("state");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_juknis"));
    cmd.args(["serve", "--config"])
        .arg(&config)
        .arg("--state-dir")
        .arg(&state);
    let log = dir.path().join("serve.log");
    let mut serve = Daemon::serve(cmd, &log, Duration::from_secs(30));
    let base = format!("http://{}", serve.addr);

    // The portal path becomes healthy once every hop answered a round.
    let deadline = Instant::now() + Duration::from_secs(30);
    let healthz = loop {
        if let Some(body) = get(&format!("{base}/healthz")) {
            let v: serde_json::Value = serde_json::from_str(&body).expect("healthz is JSON");
            if v["paths"][0]["state"] == "healthy" {
                break v;
            }
        }
        assert!(
            Instant::now() < deadline,
            "portal path never became healthy"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(healthz["paths"][0]["label"], "Sehat");

    let metrics = get(&format!("{base}/metrics")).expect("metrics");
    assert!(
        metrics.contains("juknis_path_state{path=\"portal\",state=\"healthy\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains(
        "juknis_probe_rtt_seconds{kind=\"icmp\",node=\"web-portal\",profile=\"icmp\",stat=\"p50\"}"
    ));
    assert!(
        metrics.contains(
            "juknis_link_contracted_bandwidth_bytes_per_second{link=\"wan-kominfo\"} 64000"
        )
    );
    // The target's state is one-hot over the four states, and its rounds are counted, as a
    // dashboard or an alert rule reads them.
    for (state, value) in [("healthy", 1), ("degraded", 0), ("down", 0), ("unknown", 0)] {
        let line = format!(
            "juknis_target_state{{node=\"web-portal\",profile=\"icmp\",state=\"{state}\"}} {value}\n"
        );
        assert!(metrics.contains(&line), "no `{line}` in {metrics}");
    }
    assert!(
        metrics.contains(
            "juknis_probe_success{kind=\"icmp\",node=\"web-portal\",profile=\"icmp\"} 1\n"
        ),
        "{metrics}"
    );
    let runs = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "juknis_probe_runs_total{kind=\"icmp\",node=\"web-portal\",profile=\"icmp\",result=\"ok\"} ",
            )
        })
        .and_then(|v| v.parse::<u64>().ok());
    assert!(runs.is_some_and(|n| n >= 1), "{metrics}");

    // promtool, the reference linter, accepts the exposition.
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool is installed (Debian package prometheus)");
    use std::io::Write;
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(metrics.as_bytes())
        .expect("write");
    let out = promtool.wait_with_output().expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // SIGTERM: a clean exit, with the samples in the store.
    let pid = serve.pid().to_string();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = serve.try_wait() {
            break s;
        }
        assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit status {status}");
    let store = juknis::store::Store::open(&state.join("juknis.db")).expect("store");
    let rows = store
        .samples("web-portal", "icmp", 0, i64::MAX)
        .expect("samples");
    assert!(!rows.is_empty(), "samples were flushed");
    assert!(rows.iter().all(|s| s.ok && s.state == "healthy"));
}

#[test]
fn a_bad_topology_exits_64_before_binding() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "zones: [{id: opd, kind: opd}]\nnodes: [{id: x, zone: nowhere, kind: router}]\n",
    )
    .expect("write");
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_juknis"))
        .args(["serve", "--config"])
        .arg(&bad)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--state-dir"])
        .arg(dir.path().join("state"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:2:") && err.contains("unknown zone `nowhere`"),
        "{err}"
    );
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the port was never bound"
    );
}

#[test]
fn sighup_reloads_a_good_topology_and_keeps_the_running_one_on_a_bad_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = fast_demo(dir.path());
    let log = dir.path().join("serve.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_juknis"));
    cmd.args(["serve", "--config"])
        .arg(&config)
        .arg("--state-dir")
        .arg(dir.path().join("state"));
    let mut serve = Daemon::serve(cmd, &log, Duration::from_secs(30));
    let base = format!("http://{}", serve.addr);
    let paths = |body: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(body).expect("json");
        v["paths"]
            .as_array()
            .expect("paths")
            .iter()
            .map(|p| p["path"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let wait_paths = |want: &[&str]| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(body) = get(&format!("{base}/healthz"))
                && paths(&body) == want
            {
                return;
            }
            assert!(Instant::now() < deadline, "paths never became {want:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    wait_paths(&["portal", "balikan"]);
    let hup = |pid: u32| {
        Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .expect("kill");
    };

    // A good edit: the balikan path is gone after the reload.
    let text = std::fs::read_to_string(&config).expect("read");
    let cut = text.find("  - id: balikan").expect("balikan path");
    std::fs::write(&config, &text[..cut]).expect("write");
    hup(serve.pid());
    wait_paths(&["portal"]);

    // A bad edit: the running configuration stays, and the log says why.
    std::fs::write(&config, "nodes: [{id: x, zone: nowhere, kind: router}]\n").expect("write");
    hup(serve.pid());
    std::thread::sleep(Duration::from_secs(1));
    wait_paths(&["portal"]);
    assert!(serve.try_wait().is_none(), "still running");
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(
        logged.contains("reload refused") && logged.contains("unknown zone `nowhere`"),
        "{logged}"
    );
}
