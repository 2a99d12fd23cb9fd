//! The dashboard through `router.oneshot(request)`: log-in required, roles, CSRF refusals,
//! no-store answers, lock-out, language, and each page rendering.

mod web_support;

use axum::body::Body;
use axum::http::{Request, header};
use web_support::*;

#[tokio::test]
async fn pages_need_a_session() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    for uri in [
        "/",
        "/topologi",
        "/riwayat",
        "/ketersediaan",
        "/cek-nik",
        "/balikan",
        "/dokumen",
        "/audit",
    ] {
        let (res, _) = send(&app, get(uri, None)).await;
        assert_eq!(res.status(), 303, "{uri}");
        assert_eq!(res.headers()[header::LOCATION], "/masuk", "{uri}");
    }
    let (res, _) = send(&app, get("/api/dashboard/status", None)).await;
    assert_eq!(res.status(), 401);
    // A made-up session cookie is no session.
    let (res, _) = send(&app, get("/", Some("juknis_session=00ff"))).await;
    assert_eq!(res.status(), 303);
}

#[tokio::test]
async fn login_sets_a_strict_httponly_cookie_and_every_page_renders() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let (res, _) = try_login(&app, "admin", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let c = set_cookie(&res, "juknis_session").expect("cookie");
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict"),
        "{c}"
    );
    assert!(!c.contains("Secure"), "plain HTTP: no Secure flag");
    let (cookie, _) = login(&app, "admin").await;
    for (uri, needle) in [
        ("/", "Jalur layanan"),
        ("/topologi", "Perangkat"),
        ("/riwayat", "Rentang"),
        ("/ketersediaan", "Unduh CSV"),
        ("/cek-nik", "Tujuan penggunaan"),
        ("/balikan", "Berkas CSV"),
        ("/dokumen", "Lampiran I"),
        ("/audit", "Periksa rantai audit"),
    ] {
        let (res, body) = send(&app, get(uri, Some(&cookie))).await;
        assert_eq!(res.status(), 200, "{uri}: {body}");
        assert!(body.contains(needle), "{uri} lacks {needle}");
        assert!(
            body.contains("name=\"csrf\""),
            "{uri}: the log-out form carries the token"
        );
    }
    let (res, body) = send(&app, get("/api/dashboard/status", Some(&cookie))).await;
    assert_eq!(res.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert!(v["paths"].as_array().is_some_and(|p| !p.is_empty()), "{v}");
}

#[tokio::test]
async fn every_dashboard_answer_is_no_store() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let (cookie, csrf) = login(&app, "opnda").await;
    let (res, _) = send(&app, get("/cek-nik", Some(&cookie))).await;
    assert_eq!(res.status(), 200);
    let cc = res.headers()[header::CACHE_CONTROL]
        .to_str()
        .expect("ascii");
    assert!(cc.contains("no-store"), "{cc}");
    let (res, body) = send(
        &app,
        post_form(
            "/cek-nik",
            Some(&cookie),
            &[
                ("nik", "3204011234560001"),
                ("purpose", "bansos"),
                ("csrf", &csrf),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 200, "{body}");
    assert!(
        res.headers()[header::CACHE_CONTROL]
            .to_str()
            .expect("ascii")
            .contains("no-store")
    );
    assert!(body.contains("id=\"answer\""));
    let (res, _) = send(&app, get("/masuk", None)).await;
    assert!(
        res.headers()[header::CACHE_CONTROL]
            .to_str()
            .expect("ascii")
            .contains("no-store")
    );
    assert!(res.headers().contains_key(header::CONTENT_SECURITY_POLICY));
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let (cookie, csrf) = login(&app, "admin").await;
    for (uri, form) in [
        (
            "/cek-nik",
            vec![("nik", "3204011234560001"), ("purpose", "bansos")],
        ),
        (
            "/cek-nik",
            vec![
                ("nik", "3204011234560001"),
                ("purpose", "bansos"),
                ("csrf", "deadbeef"),
            ],
        ),
        ("/audit/periksa", vec![]),
        ("/gangguan/1/akui", vec![]),
        (
            "/gangguan/1/catatan",
            vec![("kind", "cause"), ("text", "kabel putus")],
        ),
        ("/keluar", vec![]),
    ] {
        let (res, body) = send(&app, post_form(uri, Some(&cookie), &form)).await;
        assert_eq!(res.status(), 403, "{uri}");
        assert!(body.contains("token keamanan"), "{uri}: {body}");
    }
    // Still logged in: the refused log-out did nothing.
    let (res, _) = send(&app, get("/", Some(&cookie))).await;
    assert_eq!(res.status(), 200);
    // The log-in form, posted without its cookie, is refused too.
    let (res, _) = send(
        &app,
        post_form(
            "/masuk",
            None,
            &[
                ("username", "admin"),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 403);
    // A multipart upload without the token.
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\nContent-Type: text/csv\r\n\r\nnik,recipient_id,aid_type\r\n--{boundary}--\r\n"
    );
    let req = Request::post("/balikan")
        .header(header::COOKIE, &cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("request");
    let (res, _) = send(&app, req).await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn roles_decide_what_a_user_may_do() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let (tech, tech_csrf) = login(&app, "tech").await;
    let (res, _) = send(&app, get("/audit", Some(&tech))).await;
    assert_eq!(res.status(), 403);
    let (res, _) = send(&app, get("/balikan", Some(&tech))).await;
    assert_eq!(res.status(), 403);
    let (_, body) = send(&app, get("/cek-nik", Some(&tech))).await;
    assert!(
        body.contains("pakta kerahasiaan"),
        "technicians cannot look up"
    );
    let (_, home) = send(&app, get("/", Some(&tech))).await;
    assert!(!home.contains("href=\"/audit\"") && !home.contains("href=\"/cek-nik\""));
    let (res, _) = send(
        &app,
        post_form(
            "/cek-nik",
            Some(&tech),
            &[
                ("nik", "3204011234560001"),
                ("purpose", "bansos"),
                ("csrf", &tech_csrf),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 403);

    // An operator who has not signed the NDA (Juknis VI.E) cannot look up either.
    let (op, op_csrf) = login(&app, "op").await;
    let (res, _) = send(
        &app,
        post_form(
            "/cek-nik",
            Some(&op),
            &[
                ("nik", "3204011234560001"),
                ("purpose", "bansos"),
                ("csrf", &op_csrf),
            ],
        ),
    )
    .await;
    assert_eq!(res.status(), 403);
    let (res, _) = send(&app, get("/balikan", Some(&op))).await;
    assert_eq!(res.status(), 200);
    let (res, _) = send(&app, get("/audit", Some(&op))).await;
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn repeated_failures_lock_the_account() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    for _ in 0..2 {
        let (res, body) = try_login(&app, "op", "salah-salah-salah").await;
        assert_eq!(res.status(), 401);
        assert!(body.contains("Nama pengguna atau kata sandi salah"));
    }
    let (res, _) = try_login(&app, "op", "salah-salah-salah").await;
    assert_eq!(res.status(), 429, "the third failure locks");
    let (res, body) = try_login(&app, "op", PASSWORD).await;
    assert_eq!(res.status(), 429, "locked even with the right password");
    assert!(body.contains("dikunci"));
    // Other accounts are not affected; unknown names answer like wrong passwords.
    let (res, _) = try_login(&app, "admin", PASSWORD).await;
    assert_eq!(res.status(), 303);
    let (res, _) = try_login(&app, "nobody", PASSWORD).await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn logout_ends_the_session() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let (cookie, csrf) = login(&app, "admin").await;
    let (res, _) = send(
        &app,
        post_form("/keluar", Some(&cookie), &[("csrf", &csrf)]),
    )
    .await;
    assert_eq!(res.status(), 303);
    assert!(set_cookie(&res, "juknis_session").is_some_and(|c| c.contains("Max-Age=0")));
    let (res, _) = send(&app, get("/", Some(&cookie))).await;
    assert_eq!(res.status(), 303, "the old cookie no longer works");
}

#[tokio::test]
async fn english_on_request_and_remembered() {
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let (cookie, _) = login(&app, "admin").await;
    let (res, body) = send(&app, get("/?lang=en", Some(&cookie))).await;
    assert!(body.contains("Service paths") && body.contains("lang=\"en\""));
    let lang = set_cookie(&res, "juknis_lang").expect("lang cookie");
    assert!(lang.starts_with("juknis_lang=en"));
    let both = format!("{cookie}; juknis_lang=en");
    let (_, body) = send(&app, get("/riwayat", Some(&both))).await;
    assert!(body.contains("History"));
    let (_, body) = send(&app, get("/riwayat", Some(&cookie))).await;
    assert!(body.contains("Riwayat"), "Bahasa Indonesia by default");
}

/// Upload one of the balikan fixtures from the dashboard's form; the page's status and body.
async fn upload_balikan(dir: &std::path::Path, fixture: &str) -> (u16, String) {
    let app = app(dir);
    let (cookie, csrf) = login(&app, "opnda").await;
    let csv = std::fs::read_to_string(root().join("tests/fixtures/balikan").join(fixture))
        .expect("fixture");
    let boundary = "XyZ";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bansos.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let req = Request::post("/balikan")
        .header(header::COOKIE, &cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .expect("request");
    let (res, body) = send(&app, req).await;
    (res.status().as_u16(), body)
}

/// A record the service refused is listed on Data Balikan with its words, and no NIK.
#[tokio::test]
async fn refused_balikan_rows_are_listed_with_the_services_words() {
    let dir = tempfile::tempdir().expect("tmp");
    let (status, _) = upload_balikan(dir.path(), "baik.csv").await;
    assert_eq!(status, 200);
    let outbox = juknis::outbox::Outbox::open(dir.path()).expect("outbox");
    let batch = outbox.claim(1).expect("claim").expect("a batch");
    let nik = batch.records[0].nik.expose().to_owned();
    let rid = batch.records[0].recipient_id.clone();
    outbox
        .refused(batch.id, "HTTP 422: ID penerima tidak terdaftar")
        .expect("refused");
    // The same state folder, its users already made by the upload.
    let app = juknis::web::dashboard::router(shared(), config(dir.path())).expect("router");
    let (cookie, _) = login(&app, "opnda").await;
    let (_, body) = send(&app, get("/balikan", Some(&cookie))).await;
    let table = body
        .split_once("data-role=\"refused\"")
        .map(|(_, t)| t.split_once("</table>").map_or(t, |(t, _)| t))
        .unwrap_or_else(|| panic!("no refused table: {body}"));
    assert!(table.contains("ID penerima tidak terdaftar"), "{table}");
    assert!(table.contains(&format!("<td>{rid}</td>")), "{table}");
    assert!(!body.contains(&nik), "a NIK on the page");
    // Operators read the list; only an admin may send a record again or dismiss it.
    assert!(!table.contains("value=\"kirim\""), "{table}");
    let (_, op_csrf) = login(&app, "opnda").await;
    let (res, _) = send(
        &app,
        post_form(
            &format!("/balikan/ditolak/{}", refused_id(table)),
            Some(&cookie),
            &[("csrf", &op_csrf), ("action", "kirim")],
        ),
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(outbox.counts().expect("counts").rejected, 1);

    let (admin, csrf) = login(&app, "admin").await;
    let (_, body) = send(&app, get("/balikan", Some(&admin))).await;
    let id = refused_id(&body);
    assert!(body.contains("value=\"kirim\""), "{body}");
    let resend = |action: &'static str| {
        post_form(
            &format!("/balikan/ditolak/{id}"),
            Some(&admin),
            &[("csrf", &csrf), ("action", action)],
        )
    };
    let (res, body) = send(&app, resend("kirim")).await;
    assert_eq!(res.status(), 200, "{body}");
    assert!(body.contains("dimasukkan kembali ke antrean"), "{body}");
    let c = outbox.counts().expect("counts");
    assert_eq!((c.pending, c.rejected), (3, 0), "back in the queue");
    // The same record again: nothing refused under that number any more.
    let (res, _) = send(&app, resend("kirim")).await;
    assert_eq!(res.status(), 404);

    // Refused again, then dismissed: its NIK is erased and it cannot be sent again.
    let batch = outbox.claim(3).expect("claim").expect("a batch");
    assert_eq!(batch.records.len(), 3);
    outbox
        .split(batch.id, "HTTP 422: Format data tidak valid")
        .expect("split");
    let first = outbox.claim(1).expect("claim").expect("a batch");
    outbox
        .refused(first.id, "HTTP 422: Format data tidak valid")
        .expect("refused");
    let plain = outbox.plain_niks().expect("plain");
    let (_, body) = send(&app, get("/balikan", Some(&admin))).await;
    let id = refused_id(&body);
    let (res, body) = send(
        &app,
        post_form(
            &format!("/balikan/ditolak/{id}"),
            Some(&admin),
            &[("csrf", &csrf), ("action", "abaikan")],
        ),
    )
    .await;
    assert_eq!(res.status(), 200, "{body}");
    assert!(!body.contains("data-role=\"refused\""), "dismissed: {body}");
    assert_eq!(
        outbox.plain_niks().expect("plain"),
        plain - 1,
        "its NIK erased"
    );
    assert_eq!(
        outbox.counts().expect("counts").rejected,
        1,
        "still counted"
    );
    assert_eq!(
        outbox.resend(id).expect("resend"),
        juknis::outbox::Resend::NotFound
    );
}

/// The number of the first refused record listed on the page.
fn refused_id(body: &str) -> i64 {
    body.split_once("<tr data-id=\"")
        .and_then(|(_, t)| t.split_once('"'))
        .and_then(|(id, _)| id.parse().ok())
        .unwrap_or_else(|| panic!("no refused row: {body}"))
}

#[tokio::test]
async fn balikan_csv_upload_lands_in_the_outbox() {
    let dir = tempfile::tempdir().expect("tmp");
    let (status, body) = upload_balikan(dir.path(), "baik.csv").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("class=\"ok\" id=\"report\"") && body.contains("3 diterima"),
        "{body}"
    );
    // Each row of the file is in the outbox, waiting to be sent.
    let outbox = juknis::outbox::Outbox::open(dir.path()).expect("outbox");
    assert_eq!(outbox.counts().expect("counts").pending, 3);
    let csv =
        std::fs::read_to_string(root().join("tests/fixtures/balikan/baik.csv")).expect("fixture");
    for row in csv.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let cells: Vec<&str> = row.split(',').collect();
        let e = juknis::outbox::row::validate(
            &juknis::outbox::row::RawRow {
                nik: cells[0].into(),
                recipient_id: cells[1].into(),
                aid: cells[2].into(),
            },
            &juknis::topology::BalikanFields::default(),
        )
        .expect("a valid row");
        assert_eq!(
            outbox
                .lookup(&e.nik, &e.recipient_id, &e.aid)
                .expect("lookup"),
            Some(juknis::outbox::RecordState::Pending),
            "{row}"
        );
    }
}

#[tokio::test]
async fn a_broken_balikan_csv_shows_each_lines_error_and_queues_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let (status, body) = upload_balikan(dir.path(), "struktur_rusak.csv").await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("class=\"alert\" id=\"report\""), "{body}");
    for line in [
        "baris 3: 4 kolom",
        "baris 4: 2 kolom",
        "baris 5: tanda kutip",
    ] {
        assert!(body.contains(line), "{line}: {body}");
    }
    let outbox = juknis::outbox::Outbox::open(dir.path()).expect("outbox");
    assert_eq!(
        outbox.counts().expect("counts").pending,
        0,
        "nothing queued"
    );
}

#[tokio::test]
async fn documents_download_as_pdf() {
    if std::process::Command::new("dot")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipping: Graphviz `dot` is not installed");
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI needs graphviz"
        );
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let app = app(dir.path());
    let (cookie, _) = login(&app, "tech").await;
    let res = {
        use tower::ServiceExt;
        app.clone()
            .oneshot(get("/dokumen/lampiran1.pdf", Some(&cookie)))
            .await
            .expect("ok")
    };
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/pdf");
    let (res, body) = send(&app, get("/topologi", Some(&cookie))).await;
    assert_eq!(res.status(), 200);
    assert!(
        body.contains("<svg") && body.contains("data-node="),
        "the diagram is inline and marked"
    );
    let (res, _) = send(&app, get("/dokumen/../../etc/passwd", Some(&cookie))).await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_lookup_through_the_gate_shows_the_nine_elements_and_is_audited_by_hmac() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let sim = sim().await;
    let dir = tempfile::tempdir().expect("tmp");
    users(dir.path());
    let shared = shared_for(&sim);
    seed(&shared, dir.path());
    let mut cfg = config(dir.path());
    cfg.gate = Some(gate(&shared, dir.path()));
    let app = juknis::web::dashboard::router(shared, cfg).expect("router");
    let (cookie, csrf) = login(&app, "opnda").await;
    let nik = sim.samples()["found"].clone();
    let (res, body) = send(
        &app,
        post_form(
            "/cek-nik",
            Some(&cookie),
            &[("nik", &nik), ("purpose", "bansos"), ("csrf", &csrf)],
        ),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()[header::CACHE_CONTROL]
            .to_str()
            .expect("ascii")
            .contains("no-store")
    );
    for element in [
        "Nomor KK",
        "NIK",
        "Nama Lengkap",
        "Jenis Kelamin",
        "Tempat Lahir",
        "Tanggal Lahir",
        "Status Perkawinan",
        "Jenis Pekerjaan",
        "Alamat",
    ] {
        assert!(
            body.contains(&format!("<th>{element}</th>")),
            "{element} missing: {body}"
        );
    }
    assert!(body.contains(&nik));
    // A Juknis message when there is no data.
    let other = sim.samples()["deceased"].clone();
    let (_, body) = send(
        &app,
        post_form(
            "/cek-nik",
            Some(&cookie),
            &[("nik", &other), ("purpose", "bansos"), ("csrf", &csrf)],
        ),
    )
    .await;
    assert!(
        body.contains("Data Ditemukan, Meninggal Dunia") || body.contains("Permintaan ditolak"),
        "{body}"
    );

    // The admin sees who looked up and why, the NIK only as its HMAC, and an intact chain.
    let (admin, admin_csrf) = login(&app, "admin").await;
    let (_, audit) = send(&app, get("/audit", Some(&admin))).await;
    assert!(
        // The purpose is kept by its PKS code.
        audit.contains("opnda") && audit.contains("bansos"),
        "{audit}"
    );
    assert!(!audit.contains(&nik), "the audit page never shows a NIK");
    let (_, verdict) = send(
        &app,
        post_form("/audit/periksa", Some(&admin), &[("csrf", &admin_csrf)]),
    )
    .await;
    assert!(verdict.contains("Rantai audit utuh"), "{verdict}");
    // Nothing of the answer was stored: the NIK is in no file of the state folder.
    for entry in std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
    {
        if entry.path().is_file() {
            let bytes = std::fs::read(entry.path()).expect("read");
            assert!(
                !bytes.windows(nik.len()).any(|w| w == nik.as_bytes()),
                "{} holds the NIK",
                entry.path().display()
            );
        }
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn cookies_are_secure_when_served_over_tls() {
    let dir = tempfile::tempdir().expect("tmp");
    users(dir.path());
    let mut cfg = config(dir.path());
    cfg.secure_cookies = true;
    let app = juknis::web::dashboard::router(shared(), cfg).expect("router");
    let (res, _) = send(&app, get("/masuk", None)).await;
    assert!(set_cookie(&res, "juknis_login").is_some_and(|c| c.contains("; Secure")));
    let (res, _) = try_login(&app, "admin", PASSWORD).await;
    let c = set_cookie(&res, "juknis_session").expect("cookie");
    assert!(
        c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("; Secure"),
        "{c}"
    );
}
