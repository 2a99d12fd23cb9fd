//! The public status page (no log-in, nothing an outsider should read) and the monthly
//! availability page with its CSV downloads, through the dashboard's router.

mod web_support;

use std::sync::Arc;

use axum::http::header;
use juknis::health::{Level, State, TargetKey};
use juknis::web::Shared;
use juknis::web::dashboard;
use web_support::*;

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

/// Every probed target of the demo in `state` since `at`.
fn observe_all(shared: &Shared, state: State, at: i64) {
    let t = shared.topology();
    let mut h = shared.health.write().expect("lock");
    for n in &t.nodes {
        for p in &n.probes {
            h.observe(
                &TargetKey::new(n.id.clone(), p.clone()),
                Level {
                    state,
                    cause: None,
                    detail: format!("{p}: tidak ada jawaban dari 127.0.0.5"),
                },
                at,
            );
        }
    }
}

fn app_on(shared: Arc<Shared>, dir: &std::path::Path) -> axum::Router {
    users(dir);
    dashboard::router(shared, config(dir)).expect("router")
}

#[tokio::test]
async fn the_status_page_needs_no_log_in_and_says_what_counter_staff_need() {
    let dir = tempfile::tempdir().expect("tmp");
    let shared = shared();
    let app = app_on(Arc::clone(&shared), dir.path());

    // Nothing judged yet: "belum diketahui", never "tersedia".
    let (res, body) = send(&app, get("/status", None)).await;
    assert_eq!(res.status(), 200, "{body}");
    assert!(body.contains("Layanan cek NIK ke Dukcapil"), "{body}");
    assert!(
        body.contains("belum diketahui") && !body.contains(">tersedia"),
        "{body}"
    );
    assert!(body.contains("http-equiv=\"refresh\""), "refreshes itself");
    assert!(body.contains("Kuota cek NIK hari ini"), "{body}");

    // The portal down, with its incident open since 10 minutes ago.
    let now = now_s();
    let mut store = juknis::store::Store::open(&dir.path().join("juknis.db")).expect("store");
    store
        .record_state(
            "portal",
            "down",
            "Tidak ada jawaban mulai antara Router Diskominfo (127.0.0.3) dan Router Disdukcapil",
            now - 600,
        )
        .expect("incident");
    for _ in 0..6 {
        observe_all(&shared, State::Down, now - 300);
    }
    let (res, body) = send(&app, get("/status", None)).await;
    assert_eq!(res.status(), 200);
    assert!(body.contains("data-state=\"down\""), "{body}");
    assert!(body.contains(">terganggu"), "{body}");
    let since = juknis::web::i18n::wib(now - 600);
    assert!(
        body.contains(&format!("sejak {since}")),
        "{since} not in {body}"
    );
    // No addresses, no technical cause, no user names: the page is for anyone in the hall.
    for secret in [
        "127.0.0.",
        "Router Diskominfo",
        "tidak ada jawaban",
        "admin",
    ] {
        assert!(!body.contains(secret), "{secret} leaked:\n{body}");
    }
    assert!(
        !body.contains("name=\"csrf\""),
        "no forms on the public page"
    );

    // Healthy again: "tersedia", no "sejak".
    store
        .record_state("portal", "healthy", "", now)
        .expect("closed");
    for _ in 0..6 {
        observe_all(&shared, State::Healthy, now);
    }
    let (_, body) = send(&app, get("/status?lang=en", None)).await;
    assert!(body.contains("NIK look-ups at Dukcapil"), "{body}");
    assert!(body.contains(">available"), "{body}");
    assert!(!body.contains("since"), "{body}");
}

#[tokio::test]
async fn the_availability_page_shows_the_month_and_its_csv_opens_in_excel() {
    let dir = tempfile::tempdir().expect("tmp");
    let shared = shared();
    seed(&shared, dir.path());
    {
        // The seed's samples as hourly rollups, as serve writes them.
        let mut s = juknis::store::Store::open(&dir.path().join("juknis.db")).expect("store");
        let now = now_s();
        s.rollup(3600, now - 4 * 3600, now + 3600).expect("rollup");
    }
    let app = app_on(Arc::clone(&shared), dir.path());

    let (res, _) = send(&app, get("/ketersediaan", None)).await;
    assert_eq!(res.status(), 303, "behind the log-in");

    let (cookie, _) = login(&app, "op").await;
    let (res, body) = send(&app, get("/ketersediaan", Some(&cookie))).await;
    assert_eq!(res.status(), 200, "{body}");
    assert!(body.contains("id=\"availability\""), "{body}");
    // The portal was probed (120 rounds, all answered); the data balikan path was not.
    assert!(body.contains("100,00%"), "{body}");
    assert!(body.contains("tidak dapat ditentukan"), "{body}");
    assert!(
        body.contains("aria-current=\"page\">Ketersediaan"),
        "its tab is marked"
    );

    let month = juknis::report::availability::Month::of(chrono::Utc::now()).to_string();
    let (res, body) = send(
        &app,
        get(
            &format!("/ketersediaan/insiden.csv?bulan={month}"),
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(res.status(), 200, "{body}");
    assert_eq!(
        res.headers()[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    let disposition = res.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .expect("ascii");
    assert_eq!(
        disposition,
        format!("attachment; filename=\"insiden-{month}.csv\"")
    );
    assert!(body.starts_with('\u{feff}'), "BOM");
    assert!(body.contains("Jalur;Status;Penyebab"), "{body}");
    assert!(body.contains("Menurun;Kehilangan paket 8%"), "{body}");

    let (res, body) = send(
        &app,
        get(
            &format!("/ketersediaan/ketersediaan.csv?bulan={month}&pemisah=%2C"),
            Some(&cookie),
        ),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(body.contains("Jenis,ID,Nama"), "{body}");

    for (uri, status) in [
        ("/ketersediaan?bulan=2026-13", 400),
        ("/ketersediaan/rahasia.csv", 404),
        ("/ketersediaan/../juknis.db", 404),
        ("/ketersediaan/insiden.csv?pemisah=%7C", 400),
    ] {
        let (res, _) = send(&app, get(uri, Some(&cookie))).await;
        assert_eq!(res.status(), status, "{uri}");
    }
}

#[tokio::test]
async fn inside_a_maintenance_window_the_pages_say_planned_work_until_when() {
    use chrono::{Duration as D, FixedOffset, Utc};
    let wib = FixedOffset::east_opt(7 * 3600).expect("WIB");
    let now = Utc::now().with_timezone(&wib);
    let at = |t: chrono::DateTime<FixedOffset>| t.format("%Y-%m-%d %H:%M").to_string();
    let text = include_str!("../topology/demo.yaml").to_owned()
        + &format!(
            "\nmaintenance:\n  - links: [wan-kominfo]\n    note: Penggantian router Diskominfo\n    once: {{from: \"{}\", to: \"{}\"}}\n",
            at(now - D::hours(1)),
            at(now + D::hours(2)),
        );
    let t = juknis::topology::parse(&text, std::path::Path::new("demo.yaml"), &|_| None)
        .expect("topology");
    let shared = juknis::web::Shared::new(
        t,
        juknis::health::Tracker::new(juknis::health::Hysteresis::default()),
        juknis::metrics::Metrics::new(),
    );
    let dir = tempfile::tempdir().expect("tmp");
    let app = app_on(Arc::clone(&shared), dir.path());
    for _ in 0..6 {
        observe_all(&shared, State::Down, now_s() - 60);
    }
    let until = format!("{}:00 WIB", at(now + D::hours(2)));
    let (res, body) = send(&app, get("/status", None)).await;
    assert_eq!(res.status(), 200);
    assert!(
        body.contains(&format!("Pemeliharaan terjadwal sampai {until}"))
            && body.contains("Penggantian router Diskominfo"),
        "{until} not in {body}"
    );
    // The Ringkasan says it too, to the technician who logs in.
    let (cookie, _) = login(&app, "admin").await;
    let (_, body) = send(&app, get("/", Some(&cookie))).await;
    assert!(
        body.contains("data-role=\"maintenance\"")
            && body.contains("Pemeliharaan terjadwal sampai"),
        "{body}"
    );
}

/// The demo topology with the agreement ending on `end` and a contact.
fn shared_with_agreement_end(end: chrono::NaiveDate) -> Arc<Shared> {
    let text = include_str!("../topology/demo.yaml")
        .replace("  end: 2031-01-01\n", &format!("  end: {end}\n  contacts:\n    - {{party: diskominfo, name: \"Piket Jaringan\", phone: \"0800-0000-0002\", role: \"teknisi\"}}\n"));
    assert!(
        text.contains(&format!("end: {end}")),
        "demo topology changed shape"
    );
    let t = juknis::topology::parse(&text, std::path::Path::new("demo.yaml"), &|_| None)
        .expect("topology");
    Shared::new(
        t,
        juknis::health::Tracker::new(juknis::health::Hysteresis::default()),
        juknis::metrics::Metrics::new(),
    )
}

#[tokio::test]
async fn the_ringkasan_shows_the_agreement_its_applications_and_whom_to_call() {
    let today = juknis::gate::quota::wib_day(chrono::Utc::now());
    // In force, far from its end: no warning; each application's PoC; the contact.
    let dir = tempfile::tempdir().expect("tmp");
    let app = app_on(
        shared_with_agreement_end(today + chrono::Days::new(400)),
        dir.path(),
    );
    let (cookie, _) = login(&app, "admin").await;
    let (_, body) = send(&app, get("/", Some(&cookie))).await;
    assert!(
        body.contains("id=\"agreement\" data-state=\"ok\""),
        "{body}"
    );
    assert!(!body.contains("agreement-warning"), "{body}");
    assert!(body.contains("DEMO/001/2026"), "{body}");
    assert!(
        body.contains("data-poc=\"passed\"><strong>Aplikasi Web Verifikasi</strong>: lulus PoC (DEMO/PoC/001/2026"),
        "{body}"
    );
    assert!(
        body.contains(
            "data-poc=\"pending\"><strong>Aplikasi Mobile Pendamping</strong>: belum lulus PoC"
        ),
        "{body}"
    );
    assert!(
        body.contains("Diskominfo: Piket Jaringan (teknisi)")
            && body.contains("tel:0800-0000-0002"),
        "{body}"
    );

    // A month before the end: apply for renewal (Juknis VI.F: at the latest two months before).
    let dir = tempfile::tempdir().expect("tmp");
    let app = app_on(
        shared_with_agreement_end(today + chrono::Days::new(30)),
        dir.path(),
    );
    let (cookie, _) = login(&app, "admin").await;
    let (_, body) = send(&app, get("/", Some(&cookie))).await;
    assert!(body.contains("data-state=\"renew\""), "{body}");
    assert!(body.contains("Ajukan permohonan perpanjangan"), "{body}");

    // Ended yesterday: look-ups are refused, and the Ringkasan says so.
    let dir = tempfile::tempdir().expect("tmp");
    let app = app_on(
        shared_with_agreement_end(today - chrono::Days::new(1)),
        dir.path(),
    );
    let (cookie, _) = login(&app, "admin").await;
    let (_, body) = send(&app, get("/?lang=en", Some(&cookie))).await;
    assert!(body.contains("data-state=\"ended\""), "{body}");
}
