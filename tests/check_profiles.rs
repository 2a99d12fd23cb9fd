//! `juknis check` checks the probe profiles beside the topology as `probe` and `serve` load
//! them: a misspelt key fails the check (exit 64) with every problem named, not at start-up.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo topology in `dir/topology/`, with the shipped profiles in `dir/probes/` (its
/// default `probe_dir`, `../probes`).
fn deployment(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("topology")).expect("mkdir");
    std::fs::create_dir_all(dir.join("probes")).expect("mkdir");
    let topology = dir.join("topology/demo.yaml");
    std::fs::copy(root().join("topology/demo.yaml"), &topology).expect("cp topology");
    for entry in std::fs::read_dir(root().join("probes")).expect("probes") {
        let p = entry.expect("entry").path();
        std::fs::copy(&p, dir.join("probes").join(p.file_name().expect("name"))).expect("cp");
    }
    topology
}

fn check(topology: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_juknis"))
        .args(["check", "--config"])
        .arg(topology)
        .output()
        .expect("juknis check runs")
}

#[test]
fn check_passes_the_shipped_profiles_and_says_it_checked_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = check(&deployment(dir.path()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("8 probe profiles"), "{stdout}");
}

#[test]
fn check_fails_on_a_profile_with_misspelt_keys_and_names_each_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let topology = deployment(dir.path());
    let icmp = dir.path().join("probes/icmp.yaml");
    let text = std::fs::read_to_string(&icmp).expect("icmp");
    let broken = text.replacen("count: 10", "cuont: 10", 1).replacen(
        "  rtt_warn: 150ms",
        "  rtt_wran: 150ms",
        1,
    );
    assert_ne!(
        broken, text,
        "the shipped icmp.yaml changed: update this test"
    );
    std::fs::write(&icmp, broken).expect("write");

    let out = check(&topology);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{err}");
    assert!(err.contains("2 problem(s) in the probe profiles"), "{err}");
    // Line numbers of the shipped file: `count` on 6, `rtt_warn` on 11 (indented by 2).
    // The file as the topology reaches it (`.../topology/../probes/icmp.yaml`).
    let file = "/probes/icmp.yaml";
    for (at, key, hint) in [("6:1", "cuont", "count"), ("11:3", "rtt_wran", "rtt_warn")] {
        assert!(
            err.contains(&format!("{file}:{at}: error: unknown key `{key}`")),
            "{key} at {at}: {err}"
        );
        assert!(
            err.contains(&format!("did you mean `{hint}`?")),
            "{hint}: {err}"
        );
    }
}
