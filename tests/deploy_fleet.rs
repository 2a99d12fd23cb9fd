//! The fleet, for real: three `juknis serve` processes on loopback, one per OPD, scraped every
//! second by a real Prometheus with an `opd` label per target (as deploy/prometheus/prometheus.yml
//! and central.yml do). A query over the HTTP API must show every OPD's healthy path.
//! Needs `prometheus` (Debian package prometheus) and CAP_NET_RAW for the ICMP probes, as
//! tests/serve.rs does.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/daemon.rs"]
mod daemon;
use daemon::Daemon;

const OPDS: [(&str, &str); 3] = [
    ("dinsos", "Dinas Sosial (fleet test)"),
    ("dinkes", "Dinas Kesehatan (fleet test)"),
    ("disdik", "Dinas Pendidikan (fleet test)"),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
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

/// The demo topology with its own `agreement.opd`, and the fast ICMP profile beside it.
fn opd_config(dir: &Path, opd_name: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("topology")).expect("mkdir");
    std::fs::create_dir_all(dir.join("probes")).expect("mkdir");
    let demo = std::fs::read_to_string(root().join("topology/demo.yaml")).expect("demo");
    let original = "opd: Dinas Sosial Kabupaten Bandung (demo)";
    assert!(
        demo.contains(original),
        "topology/demo.yaml changed its agreement.opd"
    );
    // The demo's Web Portal is the simulator, which this test does not start: ping it only
    // (as tests/serve.rs does).
    let demo = demo
        .replacen(original, &format!("opd: {opd_name}"), 1)
        .replace(", probes: [icmp, tls]", "");
    std::fs::write(dir.join("topology/demo.yaml"), demo).expect("write");
    std::fs::copy(
        root().join("tests/fixtures/fast/icmp.yaml"),
        dir.join("probes/icmp.yaml"),
    )
    .expect("copy");
    dir.join("topology/demo.yaml")
}

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn get(rt: &tokio::runtime::Runtime, url: &str) -> Option<String> {
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

/// The result vector of an instant query, or None while Prometheus is not answering yet.
fn query(rt: &tokio::runtime::Runtime, prom: &str, q: &str) -> Option<Vec<serde_json::Value>> {
    let body = get(rt, &format!("{prom}/api/v1/query?query={}", encode(q)))?;
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    (v["status"] == "success").then(|| v["data"]["result"].as_array().cloned().unwrap_or_default())
}

fn labels(result: &[serde_json::Value], label: &str) -> Vec<String> {
    let mut v: Vec<String> = result
        .iter()
        .filter_map(|r| r["metric"][label].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

#[test]
fn a_real_prometheus_sees_every_opd_of_the_fleet() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir().expect("tmp");

    // Three appliances, each with its own config, state directory and port.
    let mut procs = Vec::new();
    let mut serves = Vec::new();
    let mut targets = String::new();
    for (slug, name) in OPDS {
        let dir = tmp.path().join(slug);
        let config = opd_config(&dir, name);
        // On a port the kernel chose, read from serve's ready line: a port picked here and
        // released before serve binds it may be taken meanwhile.
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_juknis"));
        cmd.args(["serve", "--config"])
            .arg(&config)
            .arg("--state-dir")
            .arg(dir.join("state"));
        let serve = Daemon::serve(cmd, &dir.join("serve.log"), Duration::from_secs(30));
        let port = serve.port();
        serves.push(serve);
        targets.push_str(&format!(
            "      - targets: [\"127.0.0.1:{port}\"]\n        labels: {{opd: {slug}}}\n"
        ));
    }

    // One Prometheus scraping all three every second, with the shipped rules loaded.
    let prom_dir = tmp.path().join("prometheus");
    std::fs::create_dir_all(&prom_dir).expect("mkdir");
    std::fs::copy(
        root().join("deploy/prometheus/juknis.rules.yml"),
        prom_dir.join("juknis.rules.yml"),
    )
    .expect("copy rules");
    let config = prom_dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: [juknis.rules.yml]\n\
             scrape_configs:\n  - job_name: juknis\n    static_configs:\n{targets}"
        ),
    )
    .expect("write config");
    let prom_port = free_port();
    let prom = format!("http://127.0.0.1:{prom_port}");
    let log = std::fs::File::create(prom_dir.join("prometheus.log")).expect("log");
    procs.push(Proc(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                prom_dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus is installed (Debian package prometheus)"),
    ));

    // Every OPD's portal path arrives healthy, each under its own opd label.
    let q = r#"count by (opd) (juknis_path_state{state="healthy"} == 1)"#;
    let deadline = Instant::now() + Duration::from_secs(90);
    let want: Vec<String> = {
        let mut v: Vec<String> = OPDS.iter().map(|(s, _)| (*s).to_string()).collect();
        v.sort();
        v
    };
    let mut last = Vec::new();
    loop {
        if let Some(r) = query(&rt, &prom, q) {
            last = labels(&r, "opd");
            if last == want {
                break;
            }
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(prom_dir.join("prometheus.log")).unwrap_or_default();
            let up = query(&rt, &prom, "up");
            panic!("only {last:?} arrived healthy; up = {up:?}\nprometheus log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }

    // The appliance's own OPD name rides along: the target's `opd` label wins, and the
    // exposed one becomes `exported_opd` (see deploy/README.md).
    let info = query(&rt, &prom, "juknis_build_info").expect("build_info");
    let mut names = labels(&info, "exported_opd");
    let mut expected: Vec<String> = OPDS.iter().map(|(_, n)| (*n).to_string()).collect();
    names.sort();
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(labels(&info, "opd"), want);

    // The shipped rules load and evaluate without error against live series.
    let body = get(&rt, &format!("{prom}/api/v1/rules")).expect("rules API");
    let rules: serde_json::Value = serde_json::from_str(&body).expect("json");
    let groups = rules["data"]["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 2, "{body}");
    for g in groups {
        for r in g["rules"].as_array().expect("rules") {
            assert_ne!(r["health"], "err", "rule failed: {r}");
        }
    }

    // Every query of the Grafana dashboard is valid PromQL to this Prometheus, and the path
    // state panel shows each OPD's portal as healthy (3).
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("deploy/grafana/dashboards/juknis.json"))
            .expect("dashboard"),
    )
    .expect("json");
    for panel in dash["panels"].as_array().expect("panels") {
        for t in panel["targets"].as_array().expect("targets") {
            let expr = t["expr"].as_str().expect("expr").replace("$opd", ".*");
            let body = get(&rt, &format!("{prom}/api/v1/query?query={}", encode(&expr)))
                .expect("query API");
            let v: serde_json::Value = serde_json::from_str(&body).expect("json");
            assert_eq!(v["status"], "success", "{expr}: {body}");
        }
    }
    let state_expr = dash["panels"][0]["targets"][0]["expr"]
        .as_str()
        .expect("expr")
        .replace("$opd", ".*");
    let states = query(&rt, &prom, &format!("{state_expr} == 3")).expect("state panel");
    let mut portal_ok: Vec<String> = states
        .iter()
        .filter(|r| r["metric"]["path"] == "portal")
        .filter_map(|r| r["metric"]["opd"].as_str().map(str::to_string))
        .collect();
    portal_ok.sort();
    assert_eq!(portal_ok, want);
    drop(procs);
    drop(serves);
}
