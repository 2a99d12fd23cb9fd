//! Incidents that people handle, through the dashboard's router: technicians and admins
//! acknowledge (the first acknowledgement stands), write notes and set the cause with a ticket
//! number; operators read and are refused (403); a post without the session's CSRF token is
//! refused; bad input is answered in Indonesian; the overview shows who acknowledged.

mod web_support;

use juknis::store::Store;
use web_support::*;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// An open incident on the portal path; its id.
fn open_incident(dir: &std::path::Path) -> i64 {
    let mut s = Store::open(&dir.join("juknis.db")).expect("store");
    s.record_state(
        "portal",
        "down",
        "Tidak ada jawaban di Web Portal",
        now() - 600,
    )
    .expect("an open incident");
    s.incidents(0, i64::MAX).expect("read")[0].id
}

#[tokio::test]
async fn technicians_acknowledge_and_record_the_cause_operators_only_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let id = open_incident(dir.path());
    let page = format!("/gangguan/{id}");
    let ack = format!("/gangguan/{id}/akui");
    let note = format!("/gangguan/{id}/catatan");

    // The overview says nobody has taken it on yet, and links to the incident.
    let (op, op_csrf) = login(&app, "op").await;
    let (res, body) = send(&app, get("/", Some(&op))).await;
    assert_eq!(res.status(), 200);
    assert!(body.contains("Belum diakui"), "{body}");
    assert!(body.contains(&format!("href=\"{page}\"")), "{body}");

    // An operator reads the page, without forms, and a post of theirs is refused.
    let (res, body) = send(&app, get(&page, Some(&op))).await;
    assert_eq!(res.status(), 200);
    assert!(body.contains("Tidak ada jawaban di Web Portal"), "{body}");
    assert!(!body.contains(&format!("action=\"{ack}\"")), "{body}");
    assert!(body.contains("Hanya teknisi dan admin"), "{body}");
    for (uri, form) in [
        (&ack, vec![("csrf", op_csrf.as_str())]),
        (
            &note,
            vec![("csrf", op_csrf.as_str()), ("kind", "note"), ("text", "x")],
        ),
    ] {
        let (res, _) = send(&app, post_form(uri, Some(&op), &form)).await;
        assert_eq!(res.status(), 403, "{uri}");
    }

    // A technician without the token is refused, and nothing is kept.
    let (tech, csrf) = login(&app, "tech").await;
    let (res, body) = send(&app, post_form(&ack, Some(&tech), &[])).await;
    assert_eq!(res.status(), 403, "{body}");
    let (res, _) = send(&app, post_form(&ack, Some(&tech), &[("csrf", "x")])).await;
    assert_eq!(res.status(), 403);
    let (res, _) = send(
        &app,
        post_form(
            &note,
            Some(&tech),
            &[("kind", "cause"), ("text", "kabel putus")],
        ),
    )
    .await;
    assert_eq!(res.status(), 403);
    let kept = Store::open(&dir.path().join("juknis.db"))
        .expect("store")
        .handling(id)
        .expect("read")
        .expect("exists");
    assert_eq!((kept.ack, kept.notes.len()), (None, 0));

    // With it, the technician acknowledges; an admin's later acknowledgement does not replace it.
    let (_, body) = send(&app, get(&page, Some(&tech))).await;
    assert!(body.contains(&format!("action=\"{ack}\"")), "{body}");
    let (res, _) = send(&app, post_form(&ack, Some(&tech), &[("csrf", &csrf)])).await;
    assert_eq!(res.status(), 303);
    assert_eq!(
        res.headers().get("location").and_then(|v| v.to_str().ok()),
        Some(page.as_str())
    );
    let (admin, admin_csrf) = login(&app, "admin").await;
    let (res, _) = send(
        &app,
        post_form(&ack, Some(&admin), &[("csrf", &admin_csrf)]),
    )
    .await;
    assert_eq!(res.status(), 303);
    let (_, body) = send(&app, get(&page, Some(&op))).await;
    assert!(
        body.contains("Diakui oleh <strong>tech</strong> pada"),
        "{body}"
    );
    assert!(
        !body.contains("Diakui oleh <strong>admin</strong>"),
        "{body}"
    );

    // A note, then the cause with a ticket number.
    for form in [
        [
            ("csrf", csrf.as_str()),
            ("kind", "note"),
            ("text", "Menelepon NOC penyedia"),
            ("ticket", ""),
        ],
        [
            ("csrf", csrf.as_str()),
            ("kind", "cause"),
            ("text", "Kabel FO putus di Jl. Merdeka"),
            ("ticket", "TT-2026-0042"),
        ],
    ] {
        let (res, body) = send(&app, post_form(&note, Some(&tech), &form)).await;
        assert_eq!(res.status(), 303, "{body}");
    }
    let (_, body) = send(&app, get(&page, Some(&op))).await;
    assert!(body.contains("Menelepon NOC penyedia"), "{body}");
    assert!(
        body.contains(
            "<strong>Kabel FO putus di Jl. Merdeka</strong> — Nomor tiket <code>TT-2026-0042</code>"
        ),
        "{body}"
    );
    assert!(!body.contains("Penyebab belum dicatat."), "{body}");

    // Bad input: a clear Indonesian answer, nothing kept.
    let long = "a".repeat(2001);
    for (form, says) in [
        (
            [("csrf", csrf.as_str()), ("kind", "note"), ("text", "  ")],
            "isi catatan kosong",
        ),
        (
            [
                ("csrf", csrf.as_str()),
                ("kind", "cause"),
                ("text", long.as_str()),
            ],
            "isi penyebab terlalu panjang: 2001 karakter, paling banyak 2000",
        ),
        (
            [("csrf", csrf.as_str()), ("kind", "rahasia"), ("text", "x")],
            "jenis catatan tidak dikenal",
        ),
    ] {
        let (res, body) = send(&app, post_form(&note, Some(&tech), &form)).await;
        assert_eq!(res.status(), 400, "{body}");
        assert!(body.contains(says), "{says}: {body}");
    }
    let (res, body) = send(
        &app,
        post_form(
            &note,
            Some(&tech),
            &[
                ("csrf", &csrf),
                ("kind", "note"),
                ("text", "ok"),
                ("ticket", "TT\u{1b}[31m"),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 400, "{body}");
    assert!(
        body.contains("nomor tiket memuat karakter kendali"),
        "{body}"
    );
    let kept = Store::open(&dir.path().join("juknis.db"))
        .expect("store")
        .handling(id)
        .expect("read")
        .expect("exists");
    assert_eq!(kept.notes.len(), 2, "refused input is not kept");

    // What a person typed is shown as text, never as markup.
    let (res, _) = send(
        &app,
        post_form(
            &note,
            Some(&tech),
            &[
                ("csrf", &csrf),
                ("kind", "note"),
                ("text", "<script>alert(1)</script>"),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 303);
    let (_, body) = send(&app, get(&page, Some(&op))).await;
    assert!(!body.contains("<script>alert(1)"), "{body}");
    assert!(body.contains("&#60;script&#62;alert(1)"), "{body}");

    // The overview now says who acknowledged the open incident.
    let (_, body) = send(&app, get("/", Some(&op))).await;
    assert!(body.contains("Diakui oleh tech pada <time"), "{body}");

    // An incident that does not exist.
    let (res, _) = send(&app, get("/gangguan/99999", Some(&op))).await;
    assert_eq!(res.status(), 404);
    let (res, _) = send(
        &app,
        post_form("/gangguan/99999/akui", Some(&tech), &[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(res.status(), 404);
    let (res, _) = send(&app, get("/gangguan/abc", Some(&op))).await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn the_incident_page_speaks_english_when_asked() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let id = open_incident(dir.path());
    let (tech, _) = login(&app, "tech").await;
    let (res, body) = send(&app, get(&format!("/gangguan/{id}?lang=en"), Some(&tech))).await;
    assert_eq!(res.status(), 200);
    assert!(body.contains("Not acknowledged"), "{body}");
    assert!(body.contains("Cause not recorded yet."), "{body}");
}
