//! The appliance's secrets as an operator supplies them to `juknis serve`: from the secrets
//! file (mode 600) or from the environment alone. At trace log level, after look-ups, a
//! refused token, a data balikan delivery and a dashboard log-in, no secret appears on stdout, stderr or in any
//! file under the state dir other than the file that holds it. A secret file that group or
//! others can read stops the daemon with exit 64, naming the file, its mode and `chmod 600`,
//! before any port is bound. Loopback only; the simulator plays Dukcapil.
#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use juknis::sim::{self, Handle};
use rstest::rstest;
use serde_json::{Value, json};

/// The application's API token.
const API_TOKEN: &str = "KANARI-api-token-aplikasi-web-7Q3";
/// The data balikan service's bearer token (the simulator is told to expect it).
const BALIKAN_TOKEN: &str = "KANARI-balikan-token-5ZP";
/// The audit HMAC key: 32 bytes, written as 64 hex digits in `audit.key`.
const HMAC_KEY: &[u8; 32] = b"KANARI-kunci-hmac-audit-9XW4R2L8";
/// A dashboard operator's password (argon2-hashed in users.db, never stored as is).
const OPERATOR_PASSWORD: &str = "KANARI-sandi-petugas-4HD";
/// The simulator's accounts are fixed, so its sandbox password stands as the Dukcapil
/// password canary: it appears nowhere in the appliance but in the secrets.
const PORTAL_PASSWORD: &str = sim::PASSWORD;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The demo topology pointed at the simulator (pinned), with fast ICMP probes on every hop.
fn topology(dir: &Path, sim: &Handle) -> PathBuf {
    std::fs::create_dir_all(dir.join("topology")).unwrap();
    std::fs::create_dir_all(dir.join("probes")).unwrap();
    let fp = hex::encode(sim.fingerprint().unwrap());
    let text = std::fs::read_to_string(root().join("topology/demo.yaml"))
        .unwrap()
        .replace(", probes: [icmp, tls]", "")
        .replace(
            "https://127.0.0.5:18443",
            sim.base_url().trim_end_matches('/'),
        )
        .replace(
            "{id: web-portal, ",
            &format!("{{id: web-portal, tls_pin: \"{fp}\", "),
        )
        .replace(
            "{id: data-balikan, ",
            &format!("{{id: data-balikan, tls_pin: \"{fp}\", "),
        );
    assert!(
        text.matches(&sim.base_url().trim_end_matches('/').to_owned())
            .count()
            == 2,
        "demo topology changed shape"
    );
    std::fs::write(dir.join("topology/demo.yaml"), text).unwrap();
    std::fs::copy(
        root().join("tests/fixtures/fast/icmp.yaml"),
        dir.join("probes/icmp.yaml"),
    )
    .unwrap();
    dir.join("topology/demo.yaml")
}

fn secrets_yaml() -> String {
    format!(
        "portal:\n  user_id: {}\n  password: {PORTAL_PASSWORD}\n  ip_user: {}\n  instansi_id: {}\n\
         balikan:\n  token: {BALIKAN_TOKEN}\n  id_lembaga: {}\n\
         api_tokens:\n  app-web: {API_TOKEN}\n",
        sim::USER,
        sim::IP_USER,
        sim::INSTANSI_ID,
        sim::INSTANSI_ID,
    )
}

fn secrets_env() -> Vec<(&'static str, String)> {
    vec![
        ("JUKNIS_PORTAL_USER_ID", sim::USER.into()),
        ("JUKNIS_PORTAL_PASSWORD", PORTAL_PASSWORD.into()),
        ("JUKNIS_PORTAL_IP_USER", sim::IP_USER.into()),
        ("JUKNIS_PORTAL_INSTANSI_ID", sim::INSTANSI_ID.into()),
        ("JUKNIS_BALIKAN_TOKEN", BALIKAN_TOKEN.into()),
        ("JUKNIS_BALIKAN_ID_LEMBAGA", sim::INSTANSI_ID.into()),
        ("JUKNIS_API_TOKEN_APP_WEB", API_TOKEN.into()),
    ]
}

/// `juknis serve` with a clean environment (no JUKNIS_* from the caller), its output in files.
struct Serve {
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Serve {
    fn start(dir: &Path, config: &Path, state: &Path, port: u16, env: &[(&str, String)]) -> Serve {
        let (stdout, stderr) = (dir.join("serve.stdout"), dir.join("serve.stderr"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_juknis"));
        cmd.args(["serve", "--config"])
            .arg(config)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--state-dir"])
            .arg(state)
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap());
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("JUKNIS_") || k == "STATE_DIRECTORY" {
                cmd.env_remove(k);
            }
        }
        cmd.env("JUKNIS_LOG", "trace");
        for (k, v) in env {
            cmd.env(k, v);
        }
        Serve {
            child: cmd.spawn().unwrap(),
            stdout,
            stderr,
        }
    }

    fn wait(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Where a daemon started on port 0 listens, from its ready line (a port picked by the
    /// kernel for serve itself cannot be taken by another process of the run in between).
    fn addr(&mut self, within: Duration) -> std::net::SocketAddr {
        let deadline = Instant::now() + within;
        loop {
            let err = self.stderr();
            if let Some(a) = err
                .lines()
                .find_map(|l| l.strip_prefix("juknis serving on http://"))
            {
                return a.trim().parse().expect("serve's address");
            }
            if let Some(s) = self.child.try_wait().unwrap() {
                panic!("serve stopped ({s}) before listening:\n{err}");
            }
            assert!(Instant::now() < deadline, "serve did not listen:\n{err}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn holds(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle)
}

#[derive(Clone, Copy, Debug)]
enum Source {
    /// `STATE_DIR/secrets.yaml`, mode 600.
    File,
    /// Environment variables only; no secrets file.
    Env,
}

#[rstest]
#[case::secrets_file(Source::File)]
#[case::environment_only(Source::Env)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs_or_the_state_dir_at_trace_level(#[case] source: Source) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = sim::Server::start(sim::Config {
        listen: "127.0.0.5:0".parse().unwrap(),
        balikan_token: BALIKAN_TOKEN.into(),
        ..sim::Config::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = topology(dir.path(), &sim);
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    write_mode(&state.join("audit.key"), &hex::encode(HMAC_KEY), 0o600);
    let env = match source {
        Source::File => {
            write_mode(&state.join("secrets.yaml"), &secrets_yaml(), 0o600);
            Vec::new()
        }
        Source::Env => secrets_env(),
    };
    // A dashboard operator, added as the README says (password from a private file).
    let pw = dir.path().join("sandi.txt");
    write_mode(&pw, &format!("{OPERATOR_PASSWORD}\n"), 0o600);
    let out = Command::new(env!("CARGO_BIN_EXE_juknis"))
        .args(["user", "add", "--state-dir"])
        .arg(&state)
        .args([
            "--username",
            "petugas",
            "--role",
            "operator",
            "--nda-signed",
        ])
        .arg("--password-file")
        .arg(&pw)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut serve = Serve::start(dir.path(), &config, &state, 0, &env);
    let base = format!("http://{}", serve.addr(Duration::from_secs(30)));
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Both paths healthy: look-ups are forwarded and the sender delivers.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let healthz = match http.get(format!("{base}/healthz")).send().await {
            Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        let paths = healthz["paths"].as_array().cloned().unwrap_or_default();
        if paths.len() == 2 && paths.iter().all(|p| p["state"] == "healthy") {
            break;
        }
        assert!(
            serve.child.try_wait().unwrap().is_none(),
            "serve exited: {}",
            serve.stderr()
        );
        assert!(
            Instant::now() < deadline,
            "paths never became healthy: {healthz}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // The token, the Dukcapil password and the HMAC key at work: a found answer.
    let samples = sim.samples();
    let lookup = |token: &str, nik: &str| {
        http.post(format!("{base}/api/v1/lookup"))
            .bearer_auth(token)
            .json(&json!({"nik": nik, "purpose": "bansos"}))
            .send()
    };
    let r = lookup(API_TOKEN, &samples["found"]).await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "found", "{body}");
    // A wrong token is refused (and the refusal is logged without it).
    let wrong = format!("{API_TOKEN}-salah");
    let r = lookup(&wrong, &samples["not_found"]).await.unwrap();
    assert_eq!(r.status(), 401);

    // The balikan token at work: two rows delivered to the simulator.
    let r = http
        .post(format!("{base}/api/v1/balikan"))
        .bearer_auth(API_TOKEN)
        .json(&json!([
            {"nik": samples["deceased"], "id_penerima": "PKH-UJI-1", "jenis_bantuan": "PKH"},
            {"nik": samples["inactive"], "id_penerima": "PBI-UJI-2", "jenis_bantuan": "PBI"},
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while sim.balikan_records().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "balikan not delivered: {:?}",
            sim.stats()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The operator's password and session cookie at work: a log-in and a page.
    let session = dashboard_login(&http, &base).await;
    let r = http
        .get(format!("{base}/"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the session works");

    Command::new("kill")
        .args(["-TERM", &serve.child.id().to_string()])
        .status()
        .unwrap();
    let status = serve
        .wait(Duration::from_secs(20))
        .expect("stops on SIGTERM");
    assert!(status.success(), "{status}: {}", serve.stderr());
    sim.shutdown().await;

    let stderr = serve.stderr();
    assert!(
        stderr.contains("TRACE") && stderr.lines().count() > 100,
        "trace logging was on: {} lines",
        stderr.lines().count()
    );
    let hex_key = hex::encode(HMAC_KEY);
    let key_needles: [&[u8]; 2] = [HMAC_KEY, hex_key.as_bytes()];
    let session_value = session.split_once('=').unwrap().1.to_owned();
    let other_needles: [&[u8]; 5] = [
        API_TOKEN.as_bytes(),
        BALIKAN_TOKEN.as_bytes(),
        PORTAL_PASSWORD.as_bytes(),
        OPERATOR_PASSWORD.as_bytes(),
        session_value.as_bytes(),
    ];
    let mut files = files_under(&state);
    files.extend([serve.stdout.clone(), serve.stderr.clone()]);
    let mut hits = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(f).unwrap();
        let mut needles: Vec<&[u8]> = Vec::new();
        if name != "secrets.yaml" {
            needles.extend(other_needles);
            if name != "audit.key" {
                needles.extend(key_needles);
            }
        }
        for n in needles {
            if holds(&bytes, n) {
                hits.push(format!(
                    "{} holds {:?}",
                    f.display(),
                    String::from_utf8_lossy(n)
                ));
            }
        }
    }
    assert!(hits.is_empty(), "secrets leaked: {hits:#?}");
    // Delivered data balikan keeps keyed hashes only; after a clean stop (the WAL checkpointed
    // into pages that secure_delete zeroed) the plain NIKs are in no file. While running, the
    // WAL may hold them until its next checkpoint: see docs/SECURITY.md.
    for f in files_under(&state) {
        let bytes = std::fs::read(&f).unwrap();
        for n in [&samples["deceased"], &samples["inactive"]] {
            assert!(
                !holds(&bytes, n.as_bytes()),
                "{} holds a delivered NIK",
                f.display()
            );
        }
    }
    // The scan looked at the databases the run wrote.
    for db in ["audit.db", "outbox.sqlite", "quota.db"] {
        assert!(
            files.iter().any(|f| f.ends_with(db)),
            "{db} missing: {files:?}"
        );
    }
}

/// `name=value` of the cookie `name` that the response sets.
fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

/// Log the operator in through the form (with its CSRF token); returns the session cookie.
async fn dashboard_login(http: &reqwest::Client, base: &str) -> String {
    let r = http.get(format!("{base}/masuk")).send().await.unwrap();
    let pre = cookie(&r, "juknis_login").expect("log-in cookie");
    let page = r.text().await.unwrap();
    let i = page.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    let csrf = &page[i..i + page[i..].find('"').unwrap()];
    // Every value here is URL-safe: no encoding needed.
    let body = format!("username=petugas&password={OPERATOR_PASSWORD}&csrf={csrf}");
    let r = http
        .post(format!("{base}/masuk"))
        .header("cookie", pre)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "log-in accepted");
    let session = cookie(&r, "juknis_session").expect("session cookie");
    assert!(session.len() > "juknis_session=".len() + 16, "{session}");
    session
}

/// A secret file that group or others can read stops the daemon before it binds its port.
#[rstest]
#[case::secrets_world_readable("secrets.yaml", 0o644, "644")]
#[case::secrets_group_readable("secrets.yaml", 0o640, "640")]
#[case::audit_key_world_readable("audit.key", 0o604, "604")]
#[case::outbox_key_group_readable("outbox.key", 0o640, "640")]
fn a_secret_file_others_can_read_is_refused_before_binding(
    #[case] file: &str,
    #[case] mode: u32,
    #[case] shown: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    write_mode(&state.join("secrets.yaml"), &secrets_yaml(), 0o600);
    write_mode(&state.join("audit.key"), &hex::encode(HMAC_KEY), 0o600);
    write_mode(&state.join("outbox.key"), &hex::encode([7u8; 32]), 0o600);
    std::fs::set_permissions(state.join(file), std::fs::Permissions::from_mode(mode)).unwrap();
    // The topology is valid; no simulator is needed to be refused.
    let config = root().join("topology/demo.yaml");
    let port = free_port();
    let mut serve = Serve::start(dir.path(), &config, &state, port, &[]);
    let status = serve
        .wait(Duration::from_secs(20))
        .expect("serve stops at once");
    assert_eq!(status.code(), Some(64), "{}", serve.stderr());
    let err = serve.stderr();
    let path = state.join(file).display().to_string();
    assert!(
        err.contains(&path) && err.contains(&format!("mode {shown}")),
        "{err}"
    );
    assert!(err.contains(&format!("chmod 600 {path}")), "{err}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the port was bound"
    );
    assert!(!err.contains("KANARI"), "{err}");
}

/// An API token for an application the topology does not declare (Lampiran I) stops the daemon
/// with the reason, exit 64, before it binds its port (Juknis I.D).
#[test]
fn a_token_for_an_undeclared_application_stops_serve() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    write_mode(&state.join("secrets.yaml"), &secrets_yaml(), 0o600);
    let config = root().join("topology/demo.yaml");
    let port = free_port();
    let env = [(
        "JUKNIS_API_TOKEN_APP_KIOSK",
        "token-kios-yang-tidak-ada-di-lampiran".to_owned(),
    )];
    let mut serve = Serve::start(dir.path(), &config, &state, port, &env);
    let status = serve
        .wait(Duration::from_secs(20))
        .expect("serve stops at once");
    let err = serve.stderr();
    assert_eq!(status.code(), Some(64), "{err}");
    assert!(err.contains("application `app-kiosk`"), "{err}");
    assert!(err.contains("app-web, app-mobile"), "{err}");
    assert!(
        !err.contains("token-kios"),
        "the token itself is never shown: {err}"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the port was bound"
    );
}
