//! The secrets against the topology, before anything is sent: the account's `ip_user` must be
//! the access point's IP LAN (Juknis I.A: Dukcapil registers that address and refuses
//! look-ups from any other), and every API token must belong to an application of Lampiran I.
//! `juknis check --state-dir` says so with exit 64, and `juknis serve` will not start.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The demo topology (access point 127.0.0.2, application `app-web`) and a state dir whose
/// secrets say `ip_user` and hold a token for `app`.
fn setup(dir: &Path, ip_user: &str, app: &str) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir.join("topology")).expect("mkdir");
    std::fs::create_dir_all(dir.join("probes")).expect("mkdir");
    let topology = dir.join("topology/demo.yaml");
    std::fs::copy(root().join("topology/demo.yaml"), &topology).expect("cp topology");
    for entry in std::fs::read_dir(root().join("probes")).expect("probes") {
        let p = entry.expect("entry").path();
        std::fs::copy(&p, dir.join("probes").join(p.file_name().expect("name"))).expect("cp");
    }
    let state = dir.join("state");
    std::fs::create_dir_all(&state).expect("mkdir state");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let secrets = state.join("secrets.yaml");
    std::fs::write(
        &secrets,
        format!(
            "portal:\n  user_id: uji\n  password: sandi-uji\n  ip_user: {ip_user}\n  instansi_id: X\n\
             api_tokens:\n  {app}: token-uji-0000-abcdefghijklmnop\n"
        ),
    )
    .expect("write secrets");
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    (topology, state)
}

fn juknis(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_juknis"))
        .args(args)
        .env_remove("JUKNIS_PORTAL_IP_USER")
        .output()
        .expect("juknis runs")
}

fn check(topology: &Path, state: &Path) -> Output {
    juknis(&[
        "check".as_ref(),
        "--config".as_ref(),
        topology.as_os_str(),
        "--state-dir".as_ref(),
        state.as_os_str(),
    ])
}

#[test]
fn matching_secrets_pass_the_check_and_say_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let (topology, state) = setup(dir.path(), "127.0.0.2", "app-web");
    let out = check(&topology, &state);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("secrets of"), "{stdout}");
}

#[test]
fn an_ip_user_that_is_not_the_access_point_fails_check_and_stops_serve() {
    let dir = tempfile::tempdir().expect("tmp");
    let (topology, state) = setup(dir.path(), "127.0.0.1", "app-web");
    let out = check(&topology, &state);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains("ip_user 127.0.0.1") && stderr.contains("127.0.0.2"),
        "names both addresses: {stderr}"
    );
    assert!(stderr.contains("Juknis I.A"), "{stderr}");

    let out = juknis(&[
        "serve".as_ref(),
        "--config".as_ref(),
        topology.as_os_str(),
        "--state-dir".as_ref(),
        state.as_os_str(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(64),
        "serve must not start: {stderr}"
    );
    assert!(stderr.contains("ip_user 127.0.0.1"), "{stderr}");
}

#[test]
fn a_token_for_an_undeclared_application_fails_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let (topology, state) = setup(dir.path(), "127.0.0.2", "app-kiosk");
    let out = check(&topology, &state);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("app-kiosk"), "{stderr}");
}

#[test]
fn without_a_state_dir_the_secrets_are_not_checked_and_check_says_so() {
    let dir = tempfile::tempdir().expect("tmp");
    let (topology, _) = setup(dir.path(), "127.0.0.1", "app-web");
    let out = juknis(&["check".as_ref(), "--config".as_ref(), topology.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("secrets not checked"), "{stdout}");
}
