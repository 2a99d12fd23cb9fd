//! A user's lifecycle (issue 16 item 7, Juknis VI.E): disabled, deleted or given a new
//! password, a user's sessions end at their next request, even when it was done from the
//! command line while the dashboard runs; the last admin cannot be taken away; an NDA that
//! expired ends look-ups at once; sessions survive a restart, and what is kept of them (a hash)
//! is no cookie.

mod web_support;

use std::process::Command;

use juknis::web::auth::{Error, Lockout, Users};
use juknis::web::dashboard;
use web_support::*;

fn users_of(dir: &std::path::Path) -> Users {
    Users::open(dir, Lockout::default()).expect("users.db")
}

/// Whether `cookie` still opens the overview (a redirect to the log-in page otherwise).
async fn logged_in(app: &axum::Router, cookie: &str) -> bool {
    let (res, _) = send(app, get("/", Some(cookie))).await;
    match res.status().as_u16() {
        200 => true,
        303 => false,
        other => panic!("unexpected status {other}"),
    }
}

#[tokio::test]
async fn disabling_deleting_or_resetting_ends_the_users_sessions_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let u = users_of(dir.path());

    let (op, _) = login(&app, "op").await;
    assert!(logged_in(&app, &op).await);
    u.disable("op").expect("disable");
    assert!(!logged_in(&app, &op).await, "the session ended");
    let (res, body) = try_login(&app, "op", PASSWORD).await;
    assert_eq!(res.status(), 401, "a disabled user cannot log in: {body}");
    u.enable("op").expect("enable");
    let (op, _) = login(&app, "op").await;
    assert!(logged_in(&app, &op).await);

    let (tech, _) = login(&app, "tech").await;
    u.reset_password("tech", "kata-sandi-baru-123")
        .expect("reset");
    assert!(!logged_in(&app, &tech).await, "a reset ends the sessions");
    let (res, _) = try_login(&app, "tech", PASSWORD).await;
    assert_eq!(res.status(), 401, "the old password no longer works");
    let (res, _) = try_login(&app, "tech", "kata-sandi-baru-123").await;
    assert_eq!(res.status(), 303, "the new one does");

    u.delete("op").expect("delete");
    assert!(!logged_in(&app, &op).await, "a deleted user's session ends");
    assert!(!u.exists("op").expect("exists"));
    assert!(matches!(u.delete("op"), Err(Error::NoSuchUser(_))));
}

#[tokio::test]
async fn the_last_admin_cannot_be_disabled_or_deleted() {
    let dir = tempfile::tempdir().expect("tmp");
    let _app = app(dir.path());
    let u = users_of(dir.path());
    assert!(matches!(u.disable("admin"), Err(Error::LastAdmin(_))));
    assert!(matches!(u.delete("admin"), Err(Error::LastAdmin(_))));
    // With a second admin, either may go.
    u.add(
        "admin2",
        juknis::web::auth::Role::Admin,
        "kata-sandi-admin-2",
        true,
    )
    .expect("add");
    u.disable("admin").expect("another admin remains");
    assert!(matches!(u.delete("admin2"), Err(Error::LastAdmin(_))));
}

#[tokio::test]
async fn an_expired_nda_ends_look_ups_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let u = users_of(dir.path());
    let (op, _) = login(&app, "opnda").await;
    let (_, body) = send(&app, get("/", Some(&op))).await;
    assert!(body.contains("href=\"/cek-nik\""), "NDA signed: {body}");
    let d = |s: &str| s.parse::<chrono::NaiveDate>().expect("date");
    assert!(matches!(
        u.set_nda("opnda", d("2026-01-10"), "NDA/01", Some(d("2026-01-01"))),
        Err(Error::NdaDates { .. })
    ));
    u.set_nda(
        "opnda",
        d("2025-01-10"),
        "NDA/01/2025",
        Some(d("2025-12-31")),
    )
    .expect("nda");
    let (_, body) = send(&app, get("/", Some(&op))).await;
    assert!(!body.contains("href=\"/cek-nik\""), "NDA expired: {body}");
    let (res, _) = send(&app, get("/cek-nik", Some(&op))).await;
    assert_ne!(res.status(), 200, "the look-up page is closed");
    let listed = u.list().expect("list");
    let a = listed.iter().find(|a| a.name == "opnda").expect("listed");
    assert_eq!(a.nda.document.as_deref(), Some("NDA/01/2025"));
    assert_eq!(a.nda.expires.as_deref(), Some("2025-12-31"));
}

#[tokio::test]
async fn a_session_survives_a_restart_and_its_kept_hash_is_no_cookie() {
    let dir = tempfile::tempdir().expect("tmp");
    let first = app(dir.path());
    let (cookie, _) = login(&first, "tech").await;
    drop(first);
    // Another process over the same state dir (the service restarted).
    let second = dashboard::router(shared(), config(dir.path())).expect("router");
    assert!(logged_in(&second, &cookie).await, "still logged in");

    // What users.db holds is the token's SHA-256, which opens nothing.
    let conn = rusqlite::Connection::open(dir.path().join("users.db")).expect("open");
    let kept: Vec<u8> = conn
        .query_row("SELECT token_hash FROM sessions LIMIT 1", [], |r| r.get(0))
        .expect("a kept session");
    let token = cookie.split_once('=').expect("pair").1;
    assert_ne!(hex::encode(&kept), token);
    let forged = format!("{}={}", dashboard::SESSION_COOKIE, hex::encode(&kept));
    assert!(!logged_in(&second, &forged).await);

    // Log-out forgets it: a third start does not take it back.
    let (_, body) = send(&second, get("/", Some(&cookie))).await;
    let csrf = csrf_of(&body);
    let (res, _) = send(
        &second,
        post_form("/keluar", Some(&cookie), &[("csrf", csrf.as_str())]),
    )
    .await;
    assert_eq!(res.status(), 303);
    let third = dashboard::router(shared(), config(dir.path())).expect("router");
    assert!(!logged_in(&third, &cookie).await);
}

#[test]
fn the_command_line_disables_lists_and_refuses_the_last_admin() {
    let dir = tempfile::tempdir().expect("tmp");
    users(dir.path());
    let juknis = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_juknis"))
            .arg("user")
            .args(args)
            .arg("--state-dir")
            .arg(dir.path())
            .output()
            .expect("juknis user")
    };
    let out = juknis(&["disable", "--username", "op"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = juknis(&["disable", "--username", "admin"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("last admin"));
    let out = juknis(&[
        "nda",
        "--username",
        "opnda",
        "--date",
        "2026-02-01",
        "--document",
        "NDA/07/2026",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = juknis(&["list"]);
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("op\toperator\ttanpa NDA\tnonaktif"), "{list}");
    assert!(
        list.contains("opnda\toperator\tNDA 2026-02-01 no. NDA/07/2026"),
        "{list}"
    );
    let out = juknis(&["delete", "--username", "nobody"]);
    assert_eq!(out.status.code(), Some(64));
}

#[tokio::test]
async fn admins_manage_users_on_the_dashboard_and_others_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let (admin, csrf) = login(&app, "admin").await;
    let (res, body) = send(&app, get("/pengguna", Some(&admin))).await;
    assert_eq!(res.status(), 200);
    assert!(body.contains("data-user=\"op\""), "{body}");
    assert!(
        !body.contains("action=\"/pengguna/admin/nonaktifkan\""),
        "no disable of oneself: {body}"
    );

    // Others: the page and every action are refused.
    let (tech, tech_csrf) = login(&app, "tech").await;
    let (res, _) = send(&app, get("/pengguna", Some(&tech))).await;
    assert_eq!(res.status(), 403);
    let (res, _) = send(
        &app,
        post_form(
            "/pengguna/op/nonaktifkan",
            Some(&tech),
            &[("csrf", tech_csrf.as_str())],
        ),
    )
    .await;
    assert_eq!(res.status(), 403);
    // Without the token, not even an admin.
    let (res, _) = send(
        &app,
        post_form("/pengguna/op/nonaktifkan", Some(&admin), &[]),
    )
    .await;
    assert_eq!(res.status(), 403);

    let act = |who: &str, action: &str| format!("/pengguna/{who}/{action}");
    let (op, _) = login(&app, "op").await;
    let (res, _) = send(
        &app,
        post_form(
            &act("op", "nonaktifkan"),
            Some(&admin),
            &[("csrf", csrf.as_str())],
        ),
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(
        !logged_in(&app, &op).await,
        "disabled from the page: session ended"
    );
    let (_, body) = send(&app, get("/pengguna", Some(&admin))).await;
    assert!(body.contains("action=\"/pengguna/op/aktifkan\""), "{body}");

    // A new password, shown once, not cached.
    let (res, body) = send(
        &app,
        post_form(
            &act("tech", "sandi"),
            Some(&admin),
            &[("csrf", csrf.as_str())],
        ),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store, max-age=0")
    );
    let start = body.find("data-role=\"new-password\">").expect("shown") + 25;
    let password = &body[start..start + 20];
    assert!(!logged_in(&app, &tech).await);
    let (res, _) = try_login(&app, "tech", password).await;
    assert_eq!(res.status(), 303, "the shown password works");

    // The NDA with its document; bad dates are refused in words.
    let (res, body) = send(
        &app,
        post_form(
            &act("opnda", "nda"),
            Some(&admin),
            &[
                ("csrf", csrf.as_str()),
                ("date", "kemarin"),
                ("document", "NDA/1"),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(body.contains("Perubahan tidak disimpan"), "{body}");
    let (res, _) = send(
        &app,
        post_form(
            &act("opnda", "nda"),
            Some(&admin),
            &[
                ("csrf", csrf.as_str()),
                ("date", "2026-02-01"),
                ("document", "NDA/07/2026"),
                ("expires", ""),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 303);
    let (_, body) = send(&app, get("/pengguna", Some(&admin))).await;
    assert!(body.contains("2026-02-01 · NDA/07/2026"), "{body}");

    // Oneself: refused with the reason.
    let (res, body) = send(
        &app,
        post_form(
            &act("admin", "hapus"),
            Some(&admin),
            &[("csrf", csrf.as_str())],
        ),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(body.contains("dirinya sendiri"), "{body}");
}
