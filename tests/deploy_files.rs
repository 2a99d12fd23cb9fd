//! The deployment files in deploy/: the systemd unit keeps its least-privilege settings and
//! systemd accepts it; the Debian package metadata names files that exist; the default config
//! passes `juknis check` where the package installs it; the Grafana dashboard parses and queries
//! only metrics juknis exposes (or the recording rules compute).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `key=value` lines of the unit, in order (a key may repeat).
fn unit_settings() -> Vec<(String, String)> {
    read("deploy/juknis.service")
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_unit_keeps_its_least_privilege_settings() {
    let settings = unit_settings();
    let get = |k: &str| -> Vec<&str> {
        settings
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    for (key, value) in [
        ("Type", "notify"),
        ("DynamicUser", "yes"),
        ("StateDirectory", "juknis"),
        ("AmbientCapabilities", "CAP_NET_RAW"),
        ("CapabilityBoundingSet", "CAP_NET_RAW"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("NoNewPrivileges", "yes"),
        (
            "RestrictAddressFamilies",
            "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
        ),
        ("MemoryDenyWriteExecute", "yes"),
        ("LockPersonality", "yes"),
        ("RestrictNamespaces", "yes"),
        ("Restart", "on-failure"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
    ] {
        assert_eq!(get(key), vec![value], "{key}");
    }
    assert!(get("SystemCallFilter").contains(&"@system-service"));
    let exec = get("ExecStart");
    assert!(
        exec.len() == 1 && exec[0].starts_with("/usr/bin/juknis serve --config "),
        "{exec:?}"
    );
}

#[test]
fn systemd_accepts_the_unit_and_scores_it_ok() {
    if !have("systemd-analyze") {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "systemd-analyze missing in CI (Debian package systemd)"
        );
        eprintln!("skipped: systemd-analyze is not installed");
        return;
    }
    // verify checks that ExecStart's binary exists: point it at the one cargo built.
    let dir = tempfile::tempdir().expect("tmp");
    let unit = dir.path().join("juknis.service");
    std::fs::write(
        &unit,
        read("deploy/juknis.service").replace("/usr/bin/juknis", env!("CARGO_BIN_EXE_juknis")),
    )
    .expect("write");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "verify: {err}"
    );

    // The exposure score (0 best, 10 worst) recorded in deploy/README.md; --offline needs
    // systemd 250 or later.
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let Some(score) = text
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for juknis.service: "))
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|s| s.parse::<f64>().ok())
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true and the exposure score could not be read (systemd 250 or later has \
             --offline): {text}"
        );
        eprintln!("skipped the score: this systemd-analyze has no --offline ({text})");
        return;
    };
    assert!(score <= 2.0, "exposure {score} got worse:\n{text}");
    assert!(
        read("deploy/README.md").contains(&format!("{score:.1}")),
        "deploy/README.md does not record the score {score:.1}"
    );
}

/// `[package.metadata.deb]`, read through `cargo metadata` (no TOML parser needed).
fn deb_metadata() -> serde_json::Value {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "juknis")
        .expect("juknis package")["metadata"]["deb"]
        .clone()
}

/// Files matching a cargo-deb source (a path, or a `dir/*.ext` glob).
fn matches(source: &str) -> Vec<PathBuf> {
    match source.rsplit_once("/*") {
        Some((dir, suffix)) => std::fs::read_dir(root().join(dir))
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.to_string_lossy().ends_with(suffix))
                    .collect()
            })
            .unwrap_or_default(),
        None => {
            let p = root().join(source);
            if p.exists() { vec![p] } else { vec![] }
        }
    }
}

#[test]
fn deb_metadata_names_files_that_exist() {
    let deb = deb_metadata();
    let assets = deb["assets"].as_array().expect("assets");
    let mut dests = Vec::new();
    for a in assets {
        let (src, dest) = (a[0].as_str().expect("src"), a[1].as_str().expect("dest"));
        dests.push(dest.to_string());
        if src == "target/release/juknis" {
            assert_eq!(dest, "usr/bin/");
            continue; // built by cargo deb
        }
        assert!(!matches(src).is_empty(), "asset {src} matches no file");
    }
    for conf in deb["conf-files"].as_array().expect("conf-files") {
        let conf = conf.as_str().expect("path").trim_start_matches('/');
        assert!(
            dests.iter().any(|d| d == conf),
            "conffile {conf} is not an asset"
        );
    }
    assert!(dests.iter().any(|d| d == "etc/juknis/probes/"));
    let units = &deb["systemd-units"];
    let unit_dir = root().join(units["unit-scripts"].as_str().expect("unit-scripts"));
    assert!(unit_dir.join("juknis.service").is_file());
    let scripts = root().join(
        deb["maintainer-scripts"]
            .as_str()
            .expect("maintainer-scripts"),
    );
    let postinst = std::fs::read_to_string(scripts.join("postinst")).expect("postinst");
    assert!(
        postinst.contains("#DEBHELPER#"),
        "cargo-deb needs the #DEBHELPER# token"
    );
    // The Grafana provider loads dashboards from where the package puts them.
    assert!(
        read("deploy/grafana/provisioning/dashboards/juknis.yaml")
            .contains("path: /usr/share/juknis/grafana/dashboards")
    );
    assert!(
        dests
            .iter()
            .any(|d| d == "usr/share/juknis/grafana/dashboards/")
    );
}

/// Lay out /etc/juknis as the package does and run `juknis check` on it.
#[test]
fn the_default_config_passes_juknis_check_where_the_package_installs_it() {
    let etc = tempfile::tempdir().expect("tmp");
    let etc = etc.path().join("etc/juknis");
    std::fs::create_dir_all(etc.join("probes")).expect("mkdir");
    std::fs::copy(
        root().join("deploy/etc/topology.yaml"),
        etc.join("topology.yaml"),
    )
    .expect("cp");
    for p in matches("probes/*.yaml") {
        std::fs::copy(&p, etc.join("probes").join(p.file_name().expect("name"))).expect("cp");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_juknis"))
        .args(["check", "--config"])
        .arg(etc.join("topology.yaml"))
        .output()
        .expect("juknis check");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The shipped default is the demo topology (loopback only) plus `probe_dir`: keep them in step.
#[test]
fn the_default_config_is_the_loopback_demo() {
    let strip = |s: &str| -> String {
        s.lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("probe_dir:"))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string()
    };
    assert_eq!(
        strip(&read("deploy/etc/topology.yaml")),
        strip(&read("topology/demo.yaml")),
        "deploy/etc/topology.yaml drifted from topology/demo.yaml"
    );
}

/// Metric names exposed by juknis: the `"juknis_..."` literals of src/metrics.rs.
fn exposed_metrics() -> BTreeSet<String> {
    // The registry's metrics, and the per-target series kept apart from it.
    let src = read("src/metrics.rs") + &read("src/metrics/targets.rs");
    src.split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("juknis_") && !s.contains(' '))
        .map(str::to_string)
        .collect()
}

/// Names a PromQL expression reads: identifiers that mention `juknis_`.
fn queried_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    for c in expr.chars().chain(std::iter::once(' ')) {
        if c == '"' {
            in_quotes = !in_quotes;
        }
        if !in_quotes && (c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            cur.push(c);
        } else {
            if cur.contains("juknis_") {
                names.push(std::mem::take(&mut cur));
            }
            cur.clear();
        }
    }
    names
}

fn known(name: &str, exposed: &BTreeSet<String>, recorded: &BTreeSet<String>) -> bool {
    let base = ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name);
    exposed.contains(name) || exposed.contains(base) || recorded.contains(name)
}

fn recorded_rules() -> BTreeSet<String> {
    read("deploy/prometheus/juknis.rules.yml")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record: "))
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn the_dashboard_queries_only_metrics_that_exist() {
    let exposed = exposed_metrics();
    assert!(exposed.contains("juknis_path_state"), "{exposed:?}");
    let recorded = recorded_rules();
    let dash: serde_json::Value =
        serde_json::from_str(&read("deploy/grafana/dashboards/juknis.json"))
            .expect("dashboard JSON");
    assert_eq!(dash["uid"], "juknis-fleet");
    let mut exprs = Vec::new();
    for panel in dash["panels"].as_array().expect("panels") {
        for t in panel["targets"].as_array().expect("targets") {
            exprs.push(t["expr"].as_str().expect("expr").to_string());
        }
    }
    for v in dash["templating"]["list"].as_array().expect("templating") {
        if let Some(q) = v["definition"].as_str() {
            exprs.push(q.to_string());
        }
    }
    let mut seen = BTreeSet::new();
    for e in &exprs {
        let names = queried_names(e);
        assert!(!names.is_empty(), "query reads no juknis metric: {e}");
        for n in names {
            assert!(
                known(&n, &exposed, &recorded),
                "dashboard queries unknown {n} in {e}"
            );
            seen.insert(n);
        }
    }
    // The panels the issue asks for.
    for m in [
        "juknis_path_state",
        "juknis_probe_rtt_seconds",
        "juknis_probe_loss_ratio",
        "juknis_probe_jitter_seconds",
        "juknis_link_bandwidth_estimate_bytes_per_second",
        "juknis_link_contracted_bandwidth_bytes_per_second",
        "juknis_tls_certificate_expiry_seconds",
        "juknis_quota_used",
        "juknis_quota_limit",
        "juknis_balikan_records",
    ] {
        assert!(seen.contains(m), "no panel shows {m}");
    }
}

#[test]
fn the_rules_read_only_metrics_that_exist() {
    let exposed = exposed_metrics();
    let recorded = recorded_rules();
    let rules = read("deploy/prometheus/juknis.rules.yml");
    for line in rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr: "))
    {
        for n in queried_names(line) {
            assert!(
                known(&n, &exposed, &recorded),
                "rule reads unknown {n}: {line}"
            );
        }
    }
}

#[test]
fn grafana_provisioning_files_parse() {
    for rel in [
        "deploy/grafana/provisioning/datasources/juknis.yaml",
        "deploy/grafana/provisioning/dashboards/juknis.yaml",
    ] {
        let v: serde_json::Value =
            serde_saphyr::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(v["apiVersion"], 1, "{rel}");
    }
}
