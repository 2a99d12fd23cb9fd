//! The Dokumen page makes the kajian teknis and the semester report on demand (issue 16 item
//! 9): admins and technicians fill a form, the document is made by juknis' own command in a
//! child process while the page refreshes itself, and it is listed with the earlier ones to
//! download; a command that fails shows its reason; operators get neither forms nor files, and
//! only made documents can be downloaded from the folder.

mod web_support;

use std::time::{Duration, Instant};

use axum::Router;
use juknis::web::dashboard;
use juknis::web::pages::documents::Maker;
use web_support::*;

fn documents_app(dir: &std::path::Path) -> Router {
    users(dir);
    let mut cfg = config(dir);
    cfg.documents = Some(Maker {
        exe: env!("CARGO_BIN_EXE_juknis").into(),
        config: root().join("topology/demo.yaml"),
    });
    let shared = shared();
    seed(&shared, dir);
    dashboard::router(shared, cfg).expect("router")
}

/// The page until nothing is being made any more (a minute at most).
async fn settled(app: &Router, cookie: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (res, body) = send(app, get("/dokumen", Some(cookie))).await;
        assert_eq!(res.status(), 200);
        if !body.contains("data-role=\"making\"") {
            assert!(
                !body.contains("http-equiv=\"refresh\""),
                "no refresh when idle"
            );
            return body;
        }
        assert!(
            body.contains("http-equiv=\"refresh\""),
            "the page refreshes itself while a document is made"
        );
        assert!(Instant::now() < deadline, "still being made: {body}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Post the Dokumen form with `fields` (and the token, when given); the answer's status.
async fn make(app: &Router, cookie: &str, csrf: Option<&str>, fields: &[(&str, &str)]) -> u16 {
    let mut form: Vec<(&str, &str)> = csrf.map(|c| ("csrf", c)).into_iter().collect();
    form.extend_from_slice(fields);
    let (res, _) = send(app, post_form("/dokumen/buat", Some(cookie), &form)).await;
    res.status().as_u16()
}

fn made_names(body: &str) -> Vec<String> {
    body.split("href=\"/dokumen/arsip/")
        .skip(1)
        .filter_map(|s| s.split('"').next().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn technicians_make_a_semester_report_and_a_study_from_the_page() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = documents_app(dir.path());
    let (cookie, csrf) = login(&app, "tech").await;
    let (_, body) = send(&app, get("/dokumen", Some(&cookie))).await;
    assert!(body.contains("id=\"semester-form\""), "{body}");
    assert!(body.contains("Belum ada dokumen yang dibuat."), "{body}");

    // The semester report, as HTML.
    assert_eq!(
        make(
            &app,
            &cookie,
            Some(&csrf),
            &[
                ("kind", "semester"),
                ("semester", "2026-2"),
                ("format", "html"),
            ]
        )
        .await,
        303
    );
    let body = settled(&app, &cookie).await;
    assert!(!body.contains("data-role=\"failed\""), "{body}");
    let names = made_names(&body);
    assert_eq!(names.len(), 1, "{body}");
    assert!(
        names[0].starts_with("laporan-semester-2026-2-") && names[0].ends_with(".html"),
        "{names:?}"
    );
    let (res, report) = send(
        &app,
        get(&format!("/dokumen/arsip/{}", names[0]), Some(&cookie)),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(
        report.contains("Semester") && report.contains("2026"),
        "{report}"
    );
    assert!(
        dir.path().join("dokumen").join(&names[0]).exists(),
        "kept in the state folder"
    );

    // A letter the Juknis asks for, drafted from the agreement.
    assert_eq!(
        make(
            &app,
            &cookie,
            Some(&csrf),
            &[
                ("kind", "surat"),
                ("letter", "perpanjangan"),
                ("format", "html"),
            ]
        )
        .await,
        303
    );
    let body = settled(&app, &cookie).await;
    let letter = made_names(&body)
        .into_iter()
        .find(|n| n.starts_with("surat-perpanjangan-"))
        .unwrap_or_else(|| panic!("no letter listed: {body}"));
    let (_, draft) = send(
        &app,
        get(&format!("/dokumen/arsip/{letter}"), Some(&cookie)),
    )
    .await;
    assert!(
        draft.contains("Permohonan Perpanjangan Perjanjian Kerja Sama") && draft.contains("VI.F"),
        "{draft}"
    );

    // A study over a period the store holds nothing for: the command's reason is shown.
    assert_eq!(
        make(
            &app,
            &cookie,
            Some(&csrf),
            &[
                ("kind", "kajian"),
                ("from", "2020-01-01"),
                ("to", "2020-01-31"),
                ("horizon", "12"),
                ("growth", ""),
                ("format", "pdf"),
            ]
        )
        .await,
        303
    );
    let body = settled(&app, &cookie).await;
    assert!(body.contains("data-role=\"failed\""), "{body}");
    assert!(body.contains("Gagal dibuat: Kajian teknis"), "{body}");
    assert!(body.contains("study:"), "the command's own words: {body}");
    assert_eq!(made_names(&body).len(), 2, "nothing half-made is listed");

    // A study over the seeded two hours.
    let today = (chrono::Utc::now() + chrono::TimeDelta::hours(7)).date_naive();
    let from = (today - chrono::Days::new(1)).to_string();
    let to = today.to_string();
    assert_eq!(
        make(
            &app,
            &cookie,
            Some(&csrf),
            &[
                ("kind", "kajian"),
                ("from", &from),
                ("to", &to),
                ("horizon", "6"),
                ("growth", "10"),
                ("format", "docx"),
            ]
        )
        .await,
        303
    );
    let body = settled(&app, &cookie).await;
    let names = made_names(&body);
    let study = names.iter().find(|n| n.starts_with("kajian-teknis-"));
    match study {
        Some(n) => {
            assert!(n.ends_with(".docx"), "{n}");
            let (res, bytes) = send(&app, get(&format!("/dokumen/arsip/{n}"), Some(&cookie))).await;
            assert_eq!(res.status(), 200);
            assert!(bytes.starts_with("PK"), "a DOCX is a zip");
        }
        // Two hours may be too little for a study: then it says so, in its own words.
        None => assert!(body.contains("Gagal dibuat: Kajian teknis"), "{body}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_get_no_forms_and_only_made_documents_are_served() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = documents_app(dir.path());
    std::fs::create_dir_all(dir.path().join("dokumen")).expect("folder");
    std::fs::write(
        dir.path().join("dokumen/laporan-semester-2026-1-x.pdf"),
        b"%PDF-1.4",
    )
    .expect("pdf");

    let (op, op_csrf) = login(&app, "op").await;
    let (_, body) = send(&app, get("/dokumen", Some(&op))).await;
    assert!(!body.contains("semester-form"), "{body}");
    assert!(!body.contains("laporan-semester-2026-1-x.pdf"), "{body}");
    let (res, _) = send(
        &app,
        get("/dokumen/arsip/laporan-semester-2026-1-x.pdf", Some(&op)),
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        make(
            &app,
            &op,
            Some(&op_csrf),
            &[
                ("kind", "semester"),
                ("semester", "2026-2"),
                ("format", "pdf"),
            ]
        )
        .await,
        403
    );

    let (admin, csrf) = login(&app, "admin").await;
    let (res, _) = send(
        &app,
        get("/dokumen/arsip/laporan-semester-2026-1-x.pdf", Some(&admin)),
    )
    .await;
    assert_eq!(res.status(), 200);
    for bad in ["..%2Fusers.db", "users.db", "juknis.db", "%2Eenv.pdf"] {
        let (res, _) = send(&app, get(&format!("/dokumen/arsip/{bad}"), Some(&admin))).await;
        assert_eq!(res.status(), 404, "{bad}");
    }
    // A forged post (no token) and bad fields are refused before anything runs.
    let (res, _) = send(
        &app,
        post_form(
            "/dokumen/buat",
            Some(&admin),
            &[
                ("kind", "semester"),
                ("semester", "2026-2"),
                ("format", "pdf"),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 403);
    let (res, body) = send(
        &app,
        post_form(
            "/dokumen/buat",
            Some(&admin),
            &[
                ("csrf", &csrf),
                ("kind", "kajian"),
                ("from", "2026-05-01"),
                ("to", "2026-04-01"),
                ("format", "pdf"),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(body.contains("Isian tidak sah"), "{body}");
    let (_, body) = send(&app, get("/dokumen", Some(&admin))).await;
    assert!(!body.contains("data-role=\"making\""), "{body}");
}
