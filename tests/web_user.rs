//! `juknis user add`: the password from standard input or a file, never from the command line;
//! clear refusals with exit code 64; the user can then log in to the dashboard.

mod web_support;

use std::io::Write;
use std::process::{Command, Stdio};

fn user_add(
    dir: &std::path::Path,
    name: &str,
    role: &str,
    password: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_juknis"))
        .args(["user", "add", "--state-dir"])
        .arg(dir)
        .args(["--username", name, "--role", role])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("juknis runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write the password");
    child.wait_with_output().expect("juknis ends")
}

#[tokio::test]
async fn user_add_creates_the_first_admin_who_can_log_in() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = user_add(
        dir.path(),
        "kepala.opd",
        "admin",
        web_support::PASSWORD,
        &["--nda-signed"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("kepala.opd added as admin (NDA signed)")
    );
    let db = std::fs::read(dir.path().join("users.db")).expect("users.db");
    assert!(
        !db.windows(web_support::PASSWORD.len())
            .any(|w| w == web_support::PASSWORD.as_bytes()),
        "only the argon2 hash is stored"
    );

    let app =
        juknis::web::dashboard::router(web_support::shared(), web_support::config(dir.path()))
            .expect("router");
    let (cookie, _) = web_support::login(&app, "kepala.opd").await;
    let (res, body) = web_support::send(&app, web_support::get("/audit", Some(&cookie))).await;
    assert_eq!(res.status(), 200, "{body}");

    // From a file, as an operator.
    let pw = dir.path().join("pw.txt");
    std::fs::write(&pw, "operator-kata-sandi-1\n").expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out = Command::new(env!("CARGO_BIN_EXE_juknis"))
        .args(["user", "add", "--state-dir"])
        .arg(dir.path())
        .args(["--username", "op1", "--role", "operator", "--password-file"])
        .arg(&pw)
        .stdin(Stdio::null())
        .output()
        .expect("juknis runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn user_add_refuses_weak_passwords_bad_names_and_duplicates() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = user_add(dir.path(), "admin", "admin", "pendek", &[]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 characters"));
    let out = user_add(
        dir.path(),
        "nama dengan spasi",
        "admin",
        web_support::PASSWORD,
        &[],
    );
    assert_eq!(out.status.code(), Some(64));
    let out = user_add(dir.path(), "admin", "admin", web_support::PASSWORD, &[]);
    assert!(out.status.success());
    let out = user_add(dir.path(), "admin", "operator", web_support::PASSWORD, &[]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    let out = user_add(dir.path(), "x", "root", web_support::PASSWORD, &[]);
    assert_ne!(out.status.code(), Some(0), "an unknown role is refused");
}

#[tokio::test]
async fn the_demo_admin_is_made_once_and_can_log_in() {
    let dir = tempfile::tempdir().expect("tmp");
    let users = juknis::web::auth::Users::open(dir.path(), Default::default()).expect("users");
    let password = users
        .add_demo_admin()
        .expect("add")
        .expect("a fresh password");
    assert_eq!(password.len(), 20);
    assert_eq!(
        users.add_demo_admin().expect("again"),
        None,
        "only when there is no user"
    );
    let user = users
        .login("admin", &password)
        .expect("db")
        .expect("logs in");
    assert!(user.may_lookup() && user.may_audit());
}
