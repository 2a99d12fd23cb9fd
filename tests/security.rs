//! Controls of docs/SECURITY.md that no other test shows: text an attacker can put into the
//! topology (a node name, the OPD's name) reaches the dashboard escaped, on every page an admin
//! sees, so a hostile or careless topology cannot run script in an operator's browser; and a
//! look-up the audit log cannot record returns no population data, so no access goes
//! unattributed; and the daemon listens on loopback unless the technician chooses a LAN address
//! (the dashboard and API have no TLS of their own).
#![expect(
    clippy::unwrap_used,
    reason = "the gate harness unwraps: a failed unwrap is a failed test"
)]

mod gate_support;
mod web_support;

use std::path::Path;

use juknis::health::{Hysteresis, Tracker};
use juknis::metrics::Metrics;
use juknis::web::{Shared, dashboard};
use web_support::*;

const SCRIPT: &str = "<script>alert('KANARI')</script>";
const IMG: &str = "\"><img src=x onerror=alert(1)>";

#[tokio::test]
async fn hostile_topology_text_is_escaped_on_every_page() {
    let text = std::fs::read_to_string(root().join("topology/demo.yaml"))
        .expect("demo")
        .replacen(
            "name: \"Router OPD\"",
            &format!("name: \"Router OPD {SCRIPT}\""),
            1,
        )
        .replacen(
            "opd: Dinas Sosial Kabupaten Bandung (demo)",
            &format!("opd: 'Dinas Sosial {IMG}'"),
            1,
        );
    assert!(
        text.contains("<script>") && text.contains("<img"),
        "fixture drifted"
    );
    let t = juknis::topology::parse(&text, Path::new("demo.yaml"), &|_| None)
        .expect("hostile names are valid text");
    assert!(
        t.nodes.iter().any(|n| n.name.contains(SCRIPT)),
        "the name holds the script"
    );
    let shared = Shared::new(t, Tracker::new(Hysteresis::default()), Metrics::new());
    let dir = tempfile::tempdir().expect("tmp");
    users(dir.path());
    let app = dashboard::router(shared, config(dir.path())).expect("router");
    let (cookie, _) = login(&app, "admin").await;
    let mut escaped = 0;
    for uri in [
        "/",
        "/topologi",
        "/riwayat",
        "/cek-nik",
        "/balikan",
        "/dokumen",
        "/audit",
    ] {
        let (res, body) = send(&app, get(uri, Some(&cookie))).await;
        assert_eq!(res.status(), 200, "{uri}");
        assert!(
            !body.contains("<script>alert"),
            "{uri} runs the node name:\n{body}"
        );
        assert!(
            !body.contains("<img src=x"),
            "{uri} runs the OPD name:\n{body}"
        );
        escaped += usize::from(body.contains("KANARI"));
    }
    assert!(escaped >= 1, "no page showed the node name at all");
}

#[tokio::test]
async fn an_answer_the_audit_log_cannot_record_is_withheld() {
    use gate_support::{Opts, lookup, open_gate, start_sim};
    let sim = start_sim(Some("KANARI")).await;
    let dir = tempfile::tempdir().expect("tmp");
    let h = open_gate(&sim, dir.path(), &Opts::default());
    let samples = sim.samples();
    let r = lookup(&h.app, &samples["found"]).await;
    assert_eq!(r.code(), "found", "{}", r.body);

    // The audit table disappears under the running gate (a full disk, a damaged file).
    rusqlite::Connection::open(dir.path().join(juknis::gate::audit::FILE))
        .expect("audit.db")
        .execute_batch("DROP TABLE audit")
        .expect("drop");
    let r = lookup(&h.app, &samples["found"]).await;
    assert!(r.status.is_server_error(), "{} {}", r.status, r.body);
    assert!(
        r.body["data"].is_null(),
        "data returned unrecorded: {}",
        r.body
    );
    assert!(!r.body.to_string().contains("KANARI"), "{}", r.body);
    assert!(r.message().contains("log audit"), "{}", r.message());
    sim.shutdown().await;
}

#[test]
fn the_daemon_listens_on_loopback_unless_told_otherwise() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_juknis"))
        .args(["serve", "--help"])
        .output()
        .expect("juknis runs");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("[default: 127.0.0.1:9180]"), "{help}");
    for file in ["deploy/juknis.service", "deploy/etc/default/juknis"] {
        let text = std::fs::read_to_string(root().join(file)).expect(file);
        let listen: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Environment=").or(Some(l.trim())))
            .filter_map(|l| l.strip_prefix("JUKNIS_LISTEN="))
            .collect();
        assert_eq!(listen, vec!["127.0.0.1:9180"], "{file}");
    }
}
