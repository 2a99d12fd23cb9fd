//! Maintenance windows made on the dashboard: an admin makes one, it takes effect at once
//! (the overview says "Pemeliharaan terjadwal sampai ..."), it is kept in the store for the
//! reports and the next start, and it can be called off; technicians and operators read the list
//! and are refused (403); a post without the session's CSRF token is refused; bad input is
//! answered in Indonesian and nothing is kept.

mod web_support;

use juknis::store::Store;
use web_support::*;

/// `YYYY-MM-DDTHH:MM` in WIB, `minutes` from now, as a browser's datetime-local sends it.
fn wib_in(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes))
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

fn kept(dir: &std::path::Path) -> Vec<juknis::store::MadeWindow> {
    Store::open(&dir.join("juknis.db"))
        .expect("store")
        .made_windows()
        .expect("windows")
}

#[tokio::test]
async fn an_admin_makes_a_window_that_applies_at_once_and_calls_it_off() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let (admin, csrf) = login(&app, "admin").await;

    let (res, body) = send(&app, get("/pemeliharaan", Some(&admin))).await;
    assert_eq!(res.status(), 200);
    assert!(body.contains("id=\"window-form\""), "{body}");
    let (_, before) = send(&app, get("/", Some(&admin))).await;
    assert!(
        !before.contains("Pemeliharaan terjadwal sampai"),
        "{before}"
    );

    let (from, to) = (wib_in(-5), wib_in(120));
    let (res, body) = send(
        &app,
        post_form(
            "/pemeliharaan",
            Some(&admin),
            &[
                ("csrf", csrf.as_str()),
                ("from", from.as_str()),
                ("to", to.as_str()),
                ("scope", "all"),
                ("note", "Penggantian router Diskominfo"),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 303, "{body}");
    let w = kept(dir.path());
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].by, "admin");
    assert!(w[0].paths.is_empty() && w[0].links.is_empty());

    // At once: the list shows it running, and the overview says the work is planned.
    let (_, body) = send(&app, get("/pemeliharaan", Some(&admin))).await;
    assert!(body.contains("Penggantian router Diskominfo"), "{body}");
    assert!(body.contains("sedang berjalan"), "{body}");
    let (_, body) = send(&app, get("/", Some(&admin))).await;
    assert!(body.contains("Pemeliharaan terjadwal sampai"), "{body}");

    // Called off: kept on record, no longer in force.
    let cancel = format!("/pemeliharaan/{}/batal", w[0].id);
    let (res, body) = send(
        &app,
        post_form(&cancel, Some(&admin), &[("csrf", csrf.as_str())]),
    )
    .await;
    assert_eq!(res.status(), 303, "{body}");
    let w = kept(dir.path());
    assert_eq!(w[0].cancelled.as_ref().map(|c| c.0.as_str()), Some("admin"));
    let (_, body) = send(&app, get("/", Some(&admin))).await;
    assert!(!body.contains("Pemeliharaan terjadwal sampai"), "{body}");
    let (_, body) = send(&app, get("/pemeliharaan", Some(&admin))).await;
    assert!(body.contains("data-role=\"cancelled\""), "{body}");
}

#[tokio::test]
async fn others_read_the_list_and_cannot_make_or_call_off() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let (admin, admin_csrf) = login(&app, "admin").await;
    let (from, to) = (wib_in(60), wib_in(120));
    let form = |csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("from".to_owned(), from.clone()),
            ("to".to_owned(), to.clone()),
            ("scope".to_owned(), "all".to_owned()),
            ("note".to_owned(), "Pemeliharaan rutin".to_owned()),
        ]
    };
    let admin_form = form(&admin_csrf);
    let refs: Vec<(&str, &str)> = admin_form
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let (res, _) = send(&app, post_form("/pemeliharaan", Some(&admin), &refs)).await;
    assert_eq!(res.status(), 303);
    let id = kept(dir.path())[0].id;

    for who in ["tech", "op"] {
        let (cookie, csrf) = login(&app, who).await;
        let (res, body) = send(&app, get("/pemeliharaan", Some(&cookie))).await;
        assert_eq!(res.status(), 200);
        assert!(body.contains("Pemeliharaan rutin"), "{body}");
        assert!(!body.contains("id=\"window-form\""), "{who}: {body}");
        assert!(body.contains("Hanya admin"), "{body}");
        let theirs = form(&csrf);
        let refs: Vec<(&str, &str)> = theirs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (res, _) = send(&app, post_form("/pemeliharaan", Some(&cookie), &refs)).await;
        assert_eq!(res.status(), 403, "{who}");
        let cancel = format!("/pemeliharaan/{id}/batal");
        let (res, _) = send(
            &app,
            post_form(&cancel, Some(&cookie), &[("csrf", csrf.as_str())]),
        )
        .await;
        assert_eq!(res.status(), 403, "{who}");
    }
    // An admin's post without the token is refused too.
    let no_token: Vec<(&str, &str)> = refs.iter().filter(|(k, _)| *k != "csrf").copied().collect();
    let (res, _) = send(&app, post_form("/pemeliharaan", Some(&admin), &no_token)).await;
    assert_eq!(res.status(), 403);
    let w = kept(dir.path());
    assert_eq!(w.len(), 1, "only the admin's window");
    assert!(w[0].cancelled.is_none());
}

#[tokio::test]
async fn bad_input_is_answered_in_words_and_nothing_is_kept() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let (admin, csrf) = login(&app, "admin").await;
    let (soon, later, past, gone) = (wib_in(10), wib_in(70), wib_in(-60), wib_in(-30));
    for (from, to, scope, note, says) in [
        (
            later.as_str(),
            soon.as_str(),
            "all",
            "x",
            "harus setelah waktu mulai",
        ),
        (past.as_str(), gone.as_str(), "all", "x", "sudah lewat"),
        (
            soon.as_str(),
            later.as_str(),
            "link:tidak-ada",
            "x",
            "cakupan tidak dikenal",
        ),
        (soon.as_str(), later.as_str(), "all", "   ", "kosong"),
        (
            "besok",
            later.as_str(),
            "all",
            "x",
            "isi waktu mulai dan selesai",
        ),
    ] {
        let (res, body) = send(
            &app,
            post_form(
                "/pemeliharaan",
                Some(&admin),
                &[
                    ("csrf", csrf.as_str()),
                    ("from", from),
                    ("to", to),
                    ("scope", scope),
                    ("note", note),
                ],
            ),
        )
        .await;
        assert_eq!(res.status(), 400, "{says}: {body}");
        assert!(body.contains("Jadwal tidak disimpan"), "{body}");
        assert!(body.contains(says), "{says}: {body}");
    }
    assert!(kept(dir.path()).is_empty());
}
