//! A new state folder opened by several processes at once (`serve` starting while `study`,
//! `report`, `balikan import` or `user add` run): every SQLite file in it is created and
//! migrated once, every opener succeeds, and `serve` then starts on it. Also: the folder and
//! its databases are private to their owner whatever the umask.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Set in a child process: the state folder it opens every database of.
const CHILD_DIR: &str = "JUKNIS_TEST_OPEN_STATE_DIR";

/// Set in a child process: check the modes of the folder and its files while they are open.
const CHILD_CHECKS_MODES: &str = "JUKNIS_TEST_CHECK_MODES";

/// Create the state folder and open every database it holds, the way the commands do; the
/// open handles.
fn open_every_store(dir: &Path) -> Result<Vec<Box<dyn std::any::Any>>, String> {
    let show = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
    juknis::sqlite::create_state_dir(dir).map_err(|e| show("state folder", &e))?;
    Ok(vec![
        Box::new(
            juknis::store::Store::open(&dir.join("juknis.db")).map_err(|e| show("store", &e))?,
        ),
        Box::new(juknis::outbox::Outbox::open(dir).map_err(|e| show("outbox", &e))?),
        Box::new(
            juknis::gate::quota::Quota::open(dir, Some(10), Arc::new(juknis::gate::SystemClock))
                .map_err(|e| show("quota", &e))?,
        ),
        Box::new(
            juknis::web::auth::Users::open(dir, juknis::web::auth::Lockout::default())
                .map_err(|e| show("users", &e))?,
        ),
        Box::new(juknis::gate::audit::Log::open(dir).map_err(|e| show("audit", &e))?),
    ])
}

/// Every entry of the folder and its mode, the folder first.
fn modes(dir: &Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    let mut out = vec![(".".to_string(), mode(dir))];
    for e in std::fs::read_dir(dir).expect("ls") {
        let p = e.expect("entry").path();
        out.push((
            p.file_name().expect("name").to_string_lossy().into_owned(),
            mode(&p),
        ));
    }
    out.sort();
    out
}

/// Run by `many_processes_open_one_new_state_folder_then_serve_starts` in its child
/// processes (ignored otherwise): opens every database of the folder named in the environment.
#[test]
#[ignore = "a child process of many_processes_open_one_new_state_folder_then_serve_starts"]
fn child_opens_every_store() {
    let dir = PathBuf::from(std::env::var_os(CHILD_DIR).expect("run by the parent test"));
    // Start together: wait for the parent's go file.
    let go = dir.with_extension("go");
    while !go.exists() {
        std::thread::sleep(Duration::from_micros(200));
    }
    let open = match open_every_store(&dir) {
        Ok(open) => open,
        Err(e) => panic!("opening {}: {e}", dir.display()),
    };
    if std::env::var_os(CHILD_CHECKS_MODES).is_some() {
        // While every database is open, so their -wal and -shm files exist.
        println!(
            "MODES {}",
            serde_json::to_string(&modes(&dir)).expect("json")
        );
    }
    drop(open);
}

fn spawn_child(dir: &Path) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "child_opens_every_store",
            "--nocapture",
        ])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the test binary runs")
}

/// Start the children (and perhaps more processes) on a new folder at the same instant, and
/// check that they all succeeded.
fn race(dir: &Path, processes: usize) {
    let children: Vec<Child> = (0..processes).map(|_| spawn_child(dir)).collect();
    // Let them all reach the starting line.
    std::thread::sleep(Duration::from_millis(150));
    std::fs::write(dir.with_extension("go"), b"").expect("go");
    for c in children {
        let out = c.wait_with_output().expect("child");
        assert!(
            out.status.success(),
            "a process opening the new state folder {} failed:\n{}{}",
            dir.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn healthz(port: u16) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    (body.starts_with("HTTP/1.0 200") || body.starts_with("HTTP/1.1 200")).then_some(body)
}

#[test]
fn many_processes_open_one_new_state_folder_then_serve_starts() {
    let tmp = tempfile::tempdir().expect("tmp");
    for round in 0..12 {
        race(&tmp.path().join(format!("state-{round}")), 8);
    }

    // Last: serve starts on a new folder while others open it too.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // The demo topology names its probe profiles as `../probes`.
    std::fs::create_dir_all(tmp.path().join("cfg")).expect("mkdir");
    let config = tmp.path().join("cfg/demo.yaml");
    let demo = std::fs::read_to_string(root.join("topology/demo.yaml")).expect("demo");
    std::fs::write(&config, demo.replace(", probes: [icmp, tls]", "")).expect("write");
    let probes = tmp.path().join("probes");
    std::fs::create_dir_all(&probes).expect("mkdir");
    std::fs::copy(
        root.join("tests/fixtures/fast/icmp.yaml"),
        probes.join("icmp.yaml"),
    )
    .expect("copy");
    let state = tmp.path().join("state-serve");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let children: Vec<Child> = (0..6).map(|_| spawn_child(&state)).collect();
    std::thread::sleep(Duration::from_millis(150));
    let log = tmp.path().join("serve.log");
    std::fs::write(state.with_extension("go"), b"").expect("go");
    let mut serve = Serve(
        Command::new(env!("CARGO_BIN_EXE_juknis"))
            .args(["serve", "--config"])
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--state-dir"])
            .arg(&state)
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("juknis serve starts"),
    );
    for c in children {
        let out = c.wait_with_output().expect("child");
        assert!(
            out.status.success(),
            "a process opening the state folder beside serve failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while healthz(port).is_none() {
        if let Some(status) = serve.0.try_wait().expect("wait") {
            panic!(
                "juknis serve exited ({status}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "serve never answered /healthz");
        std::thread::sleep(Duration::from_millis(200));
    }
    juknis::store::Store::open(&state.join("juknis.db")).expect("the store reopens");
}

#[test]
fn the_state_folder_and_its_databases_are_private_whatever_the_umask() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("new/state");
    std::fs::create_dir_all(tmp.path().join("new")).expect("mkdir");
    std::fs::write(dir.with_extension("go"), b"").expect("go");
    // A child under the common umask 022, which leaves new files 0644 and folders 0755.
    let out = Command::new("sh")
        .args(["-c", "umask 022; exec \"$0\" \"$@\""])
        .arg(std::env::current_exe().expect("test binary"))
        .args([
            "--ignored",
            "--exact",
            "child_opens_every_store",
            "--nocapture",
        ])
        .env(CHILD_DIR, &dir)
        .env(CHILD_CHECKS_MODES, "1")
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Vec<(String, u32)> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("MODES "))
        .map(|j| serde_json::from_str(j).expect("json"))
        .unwrap_or_else(|| panic!("no modes printed: {stdout}"));
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    for db in [
        "juknis.db",
        "outbox.sqlite",
        "quota.db",
        "users.db",
        "audit.db",
    ] {
        for suffix in ["", "-wal", "-shm"] {
            let f = format!("{db}{suffix}");
            assert!(names.contains(&f.as_str()), "{f} in {names:?}");
        }
    }
    for (name, mode) in &seen {
        let want = if name == "." { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{name} is {mode:o}, not {want:o}: {seen:?}");
    }
}
