//! Controls of docs/SECURITY.md that no other test shows: text an attacker can put into the
//! topology (a node name, the OPD's name) reaches the dashboard escaped, on every page an admin
//! sees, so a hostile or careless topology cannot run script in an operator's browser.

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
    assert!(text.contains("<script>") && text.contains("<img"), "fixture drifted");
    let t = juknis::topology::parse(&text, Path::new("demo.yaml"), &|_| None)
        .expect("hostile names are valid text");
    assert!(t.nodes.iter().any(|n| n.name.contains(SCRIPT)), "the name holds the script");
    let shared = Shared::new(t, Tracker::new(Hysteresis::default()), Metrics::new());
    let dir = tempfile::tempdir().expect("tmp");
    users(dir.path());
    let app = dashboard::router(shared, config(dir.path())).expect("router");
    let (cookie, _) = login(&app, "admin").await;
    let mut escaped = 0;
    for uri in ["/", "/topologi", "/riwayat", "/cek-nik", "/balikan", "/dokumen", "/audit"] {
        let (res, body) = send(&app, get(uri, Some(&cookie))).await;
        assert_eq!(res.status(), 200, "{uri}");
        assert!(!body.contains("<script>alert"), "{uri} runs the node name:\n{body}");
        assert!(!body.contains("<img src=x"), "{uri} runs the OPD name:\n{body}");
        escaped += usize::from(body.contains("KANARI"));
    }
    assert!(escaped >= 1, "no page showed the node name at all");
}
