//! The Prometheus files in deploy/prometheus: promtool accepts the rules and both configs, and
//! the rule unit tests (deploy/prometheus/tests/*.yaml) pass: every alert fires when it should
//! and stays quiet when it should not. promtool comes with the Debian package `prometheus`.

use std::path::PathBuf;
use std::process::Command;

fn prom_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus")
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(prom_dir())
        .output()
        .expect("promtool is installed (Debian package prometheus, scripts/install-deps.sh)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn promtool_accepts_the_rules() {
    let out = promtool(&["check", "rules", "juknis.rules.yml"]);
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn promtool_accepts_the_opd_and_central_configs() {
    promtool(&["check", "config", "prometheus.yml"]);
    promtool(&["check", "config", "central.yml"]);
}

#[test]
fn rule_unit_tests_pass() {
    let mut tests: Vec<String> = std::fs::read_dir(prom_dir().join("tests"))
        .expect("deploy/prometheus/tests")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| format!("tests/{}", p.file_name().expect("name").to_string_lossy()))
        .collect();
    tests.sort();
    assert!(!tests.is_empty(), "no rule tests found");
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    promtool(&args);
}

/// Every alert in the rules has a test where it fires and one where it does not.
#[test]
fn every_alert_has_a_firing_and_a_quiet_test() {
    let rules = std::fs::read_to_string(prom_dir().join("juknis.rules.yml")).expect("rules");
    let tests = std::fs::read_to_string(prom_dir().join("tests/alerts.yaml")).expect("tests");
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    assert!(alerts.len() >= 6, "{alerts:?}");
    for required in [
        "JuknisPathDown",
        "JuknisPathDegraded",
        "JuknisTlsCertificateExpiringSoon",
        "JuknisQuotaNearlySpent",
        "JuknisBalikanStuck",
        "JuknisProbeFailing",
    ] {
        assert!(alerts.contains(&required), "missing alert {required}");
    }
    // Split the test file into its alert_rule_test cases: (alertname, fires?).
    let mut cases: Vec<(String, bool)> = Vec::new();
    for block in tests.split("alertname: ").skip(1) {
        let name = block.lines().next().unwrap_or_default().trim().to_string();
        let fires = block
            .lines()
            .skip(1)
            .find_map(|l| l.trim().strip_prefix("exp_alerts:"))
            .is_some_and(|rest| rest.trim() != "[]");
        cases.push((name, fires));
    }
    for alert in &alerts {
        assert!(
            cases.iter().any(|(n, f)| n == alert && *f),
            "{alert}: no test where it fires"
        );
        assert!(
            cases.iter().any(|(n, f)| n == alert && !*f),
            "{alert}: no test where it stays quiet"
        );
    }
    // Each alert speaks Indonesian and English and has a severity.
    for block in rules.split("- alert: ").skip(1) {
        for key in [
            "severity: ",
            "summary: ",
            "description: ",
            "summary_en: ",
            "description_en: ",
        ] {
            assert!(block.contains(key), "{key} missing in:\n{block}");
        }
    }
}
