//! `juknis balikan import` then `juknis balikan send` against the simulator over HTTPS with a
//! self-signed certificate pinned by fingerprint, as the real service is reached; and a wrong
//! token, which delivers nothing and loses nothing. Loopback only, synthetic NIKs.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use juknis::sim;

fn juknis() -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_juknis"));
    c.env("JUKNIS_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

fn write_csv(path: &Path, n: usize) {
    let regions = juknis::nik::region::all();
    let mut text = String::from("nik,id_penerima,jenis_bantuan\n");
    for i in 0..n {
        text.push_str(&format!(
            "{}1506880{:03},TLS-{i},{}\n",
            regions[i * 3].code,
            i + 1,
            if i % 2 == 0 { "PKH" } else { "PBI" }
        ));
    }
    std::fs::write(path, text).unwrap();
}

/// A token file as the operator must keep it: readable by its owner only.
fn write_token(path: &Path, token: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, token).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

async fn send(state: &Path, url: &str, token: &Path, fingerprint: &str) -> std::process::Output {
    let child = juknis()
        .args(["balikan", "send", "--state-dir"])
        .arg(state)
        .args(["--url", url, "--token-file"])
        .arg(token)
        .args([
            "--fingerprint",
            fingerprint,
            "--id-lembaga",
            sim::INSTANSI_ID,
            "--nama-lembaga",
            "Dinas Sosial (uji)",
            "--batch-size",
            "40",
        ])
        .spawn()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn import_and_send_over_pinned_tls() {
    let handle = sim::Server::start(sim::Config::default()).await.unwrap();
    assert!(handle.addr().ip().is_loopback());
    let fingerprint = juknis::portal::tls::fingerprint_hex(&handle.fingerprint().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let csv = dir.path().join("data.csv");
    write_csv(&csv, 150);
    let token = dir.path().join("token");
    write_token(&token, &format!("{}\n", sim::DEFAULT_BALIKAN_TOKEN));

    let out = juknis()
        .args(["balikan", "import"])
        .arg(&csv)
        .arg("--state-dir")
        .arg(&state)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = send(&state, &handle.balikan_url(), &token, &fingerprint).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("150 terkirim, 0 menunggu, 0 ditolak"),
        "{stdout}"
    );
    assert_eq!(handle.balikan_records().len(), 150);
    assert_eq!(handle.stats().balikan_posts, 4);
}

#[tokio::test]
async fn a_wrong_token_delivers_nothing_and_loses_nothing() {
    let handle = sim::Server::start(sim::Config::default()).await.unwrap();
    let fingerprint = juknis::portal::tls::fingerprint_hex(&handle.fingerprint().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let csv = dir.path().join("data.csv");
    write_csv(&csv, 5);
    let token = dir.path().join("token");
    write_token(&token, "salah");
    let out = juknis()
        .args(["balikan", "import"])
        .arg(&csv)
        .arg("--state-dir")
        .arg(&state)
        .output()
        .await
        .unwrap();
    assert!(out.status.success());

    // `--follow` keeps it retrying; stop it with SIGTERM after a few backoffs.
    let mut child = juknis()
        .args(["balikan", "send", "--follow", "--state-dir"])
        .arg(&state)
        .args(["--url", &handle.balikan_url(), "--token-file"])
        .arg(&token)
        .args([
            "--fingerprint",
            &fingerprint,
            "--id-lembaga",
            "X",
            "--nama-lembaga",
            "Y",
            "--backoff-base-ms",
            "20",
        ])
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = child.id().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(15), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "SIGTERM is a clean stop");
    assert!(handle.balikan_records().is_empty());
    let counts = juknis::outbox::Outbox::open(&state)
        .unwrap()
        .counts()
        .unwrap();
    assert_eq!((counts.pending, counts.rejected), (5, 0));
}

async fn run(args: &[&str], state: &Path) -> std::process::Output {
    juknis()
        .args(args)
        .arg("--state-dir")
        .arg(state)
        .output()
        .await
        .unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The go-live the issue feared: Dukcapil's service names its keys otherwise than the Web
/// Portal's documentation. Every record is refused in the service's words and kept; the OPD
/// declares the keys in its topology, an admin sends the refused records again, and they are
/// delivered without anyone re-typing a row.
#[tokio::test]
async fn refused_for_the_keys_then_declared_and_sent_again() {
    let declared = juknis::topology::BalikanFields {
        recipient_key: "NO_KPM".into(),
        aid_key: "PROGRAM".into(),
        aid_types: vec!["PKH".into(), "PBI".into(), "BPNT".into()],
    };
    let handle = sim::Server::start(sim::Config {
        balikan_fields: declared.clone(),
        ..sim::Config::default()
    })
    .await
    .unwrap();
    let fingerprint = juknis::portal::tls::fingerprint_hex(&handle.fingerprint().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let csv = dir.path().join("data.csv");
    write_csv(&csv, 6);
    let token = dir.path().join("token");
    write_token(&token, sim::DEFAULT_BALIKAN_TOKEN);

    let out = run(&["balikan", "import", csv.to_str().unwrap()], &state).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = send(&state, &handle.balikan_url(), &token, &fingerprint).await;
    assert!(
        text(&out).contains("0 terkirim, 0 menunggu, 6 ditolak"),
        "{}",
        text(&out)
    );
    assert!(handle.balikan_records().is_empty());
    let out = run(&["balikan", "refused", "--json"], &state).await;
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let refused = listed["rejected"].as_array().unwrap();
    assert_eq!(refused.len(), 6, "{listed}");
    assert!(
        refused
            .iter()
            .all(|r| r["reason"] == "HTTP 422: Format data tidak valid" && r["resendable"] == true),
        "{listed}"
    );
    let csv_text = std::fs::read_to_string(&csv).unwrap();
    let first_nik = &csv_text.lines().nth(1).unwrap()[..16];
    assert!(!text(&out).contains(first_nik), "no NIK listed");

    // The OPD declares the service's keys and a third aid type in its topology.
    let topology = dir.path().join("topologi.yaml");
    let demo =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("topology/demo.yaml"))
            .unwrap();
    std::fs::write(
        &topology,
        format!(
            "{demo}\ndata_balikan:\n  recipient_key: NO_KPM\n  aid_key: PROGRAM\n  aid_types: [PKH, PBI, BPNT]\n"
        ),
    )
    .unwrap();
    // A file headed with the service's own keys, with the new aid type, imports against it.
    let kpm = dir.path().join("kpm.csv");
    std::fs::write(
        &kpm,
        format!("nik;NO_KPM;PROGRAM\n{first_nik};KPM-1;bpnt\n{first_nik};KPM-2;BLT\n"),
    )
    .unwrap();
    let out = run(
        &[
            "balikan",
            "import",
            kpm.to_str().unwrap(),
            "--config",
            topology.to_str().unwrap(),
        ],
        &state,
    )
    .await;
    let said = text(&out);
    assert!(said.contains("1 diterima"), "{said}");
    assert!(
        said.contains("jenis bantuan \"BLT\" tidak dikenal (harus PKH, PBI atau BPNT)"),
        "{said}"
    );

    // An admin sends the refused records again; the sender now writes the declared keys.
    for r in refused {
        let id = r["id"].as_i64().unwrap().to_string();
        let out = run(&["balikan", "resend", &id], &state).await;
        assert!(out.status.success(), "{}", text(&out));
    }
    let again = run(
        &["balikan", "resend", &refused[0]["id"].to_string()],
        &state,
    )
    .await;
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    let out = send(&state, &handle.balikan_url(), &token, &fingerprint).await;
    assert!(
        text(&out).contains("7 terkirim, 0 menunggu, 0 ditolak"),
        "{}",
        text(&out)
    );
    let held = handle.balikan_records();
    assert_eq!(held.len(), 7);
    assert!(
        held.iter()
            .any(|r| r.aid == "BPNT" && r.recipient_id == "KPM-1")
    );
    assert_eq!(
        juknis::outbox::Outbox::open(&state)
            .unwrap()
            .plain_niks()
            .unwrap(),
        0,
        "delivered records keep no NIK"
    );
}
