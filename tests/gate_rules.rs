//! The Juknis' rules around the look-up, through the gate against the simulator: tokens only
//! for declared applications, the PoC state per application (I.D, II.B.2, II.D), the II.E.1
//! rules over the whole User ID, the PKS' purposes by code, the end user behind an application
//! (II.A.2), the agreement's end (VI.F), and the order of the gate's decisions that Lampiran II
//! draws.
#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod gate_support;

use std::path::Path;

use axum::http::StatusCode;
use gate_support::*;
use juknis::gate::{self, Caller, DECISIONS, Rules, messages};
use juknis::health::State;

const MOBILE_TOKEN: &str = "token-aplikasi-mobile-pendamping-01";

fn with_mobile(s: gate::Secrets) -> gate::Secrets {
    s.with_token("app-mobile", MOBILE_TOKEN).unwrap()
}

fn audit_rows(dir: &Path) -> Vec<(String, String, String, String)> {
    let conn = rusqlite::Connection::open(dir.join("audit.db")).unwrap();
    let mut stmt = conn
        .prepare("SELECT caller, purpose, status, end_user FROM audit ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

async fn post(h: &Harness, token: &str, body: serde_json::Value) -> Reply {
    post_raw(&h.app, Some(token), body.to_string()).await
}

#[tokio::test]
async fn a_token_for_an_undeclared_application_stops_the_gate() {
    let sim = start_sim(None).await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets(sim::USER, sim::PASSWORD)
        .with_token("app-kiosk", "token-kios-yang-tidak-terdaftar")
        .unwrap();
    let err = open_gate_edited(&sim, dir.path(), &Opts::default(), secrets, &|t| t)
        .err()
        .expect("an undeclared application must stop the gate");
    let text = err.to_string();
    assert!(
        matches!(err, gate::Error::UndeclaredApplication { .. }),
        "{text}"
    );
    assert!(text.contains("`app-kiosk`"), "{text}");
    assert!(text.contains("app-web, app-mobile"), "{text}");
    sim.shutdown().await;
}

use juknis::sim;

#[tokio::test]
async fn an_application_without_a_passed_poc_reaches_only_what_the_agreement_says() {
    let sim = start_sim(None).await;
    let found = sim.samples()["found"].clone();
    let body = serde_json::json!({"nik": found, "purpose": "bansos"});

    // `before_poc: sandbox`: app-mobile (no PoC) is refused, nothing sent; app-web (passed) is not.
    let dir = tempfile::tempdir().unwrap();
    let sandbox = |t: String| t.replace("before_poc: quota", "before_poc: sandbox");
    let h = open_gate_edited(
        &sim,
        dir.path(),
        &Opts::default(),
        with_mobile(secrets(sim::USER, sim::PASSWORD)),
        &sandbox,
    )
    .unwrap();
    let r = post(&h, MOBILE_TOKEN, body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "poc_pending"));
    assert!(
        r.message()
            .contains("`app-mobile` belum lulus Proof of Concept"),
        "{}",
        r.message()
    );
    assert_eq!(h.gate.quota_used_today().unwrap(), 0);
    assert_eq!(sim.stats().lookups_answered, 0, "nothing forwarded");
    let r = post(&h, TOKEN, body.clone()).await;
    assert_eq!(r.code(), "found", "{:?}", r.body);

    // `before_poc: quota`: app-mobile looks up within the PoC quota.
    let dir = tempfile::tempdir().unwrap();
    let h = open_gate_edited(
        &sim,
        dir.path(),
        &Opts::default(),
        with_mobile(secrets(sim::USER, sim::PASSWORD)),
        &|t| t,
    )
    .unwrap();
    let r = post(&h, MOBILE_TOKEN, body).await;
    assert_eq!(r.code(), "found", "{:?}", r.body);
    sim.shutdown().await;
}

#[test]
fn unlimited_is_refused_while_an_application_has_not_passed_its_poc() {
    let demo = include_str!("../topology/demo.yaml");
    let parse = |t: &str| juknis::topology::parse(t, Path::new("demo.yaml"), &|_| None);
    let unlimited = demo.replace("quota_per_day: 200", "quota_per_day: unlimited");
    let e = parse(&unlimited).unwrap_err().to_string();
    assert!(
        e.contains("quota `unlimited` while application(s) app-mobile have not passed a PoC"),
        "{e}"
    );
    // The old flag cannot claim it either.
    let flag = demo.replace("quota_per_day: 200", "quota_per_day: 200\n  poc_done: true");
    let e = parse(&flag).unwrap_err().to_string();
    assert!(
        e.contains("`poc_done: true` but application(s) app-mobile"),
        "{e}"
    );
    // Once every application has passed, unlimited is accepted.
    let passed = unlimited.replace(
        "name: \"Aplikasi Mobile Pendamping\"}",
        "name: \"Aplikasi Mobile Pendamping\", poc: {done: true, letter: \"P/2\", date: 2026-03-01}}",
    );
    let t = parse(&passed).unwrap();
    assert!(t.agreement.poc_done);
    let web = t.application("app-web").unwrap().poc.clone().unwrap();
    assert_eq!(web.letter.as_deref(), Some("DEMO/PoC/001/2026"));
    assert_eq!(web.date.unwrap().to_string(), "2026-02-16");
    // A passed PoC names its letter; only applications have one.
    let no_letter = demo.replace(
        "poc: {done: true, letter: \"DEMO/PoC/001/2026\", date: 2026-02-16}",
        "poc: {done: true}",
    );
    let e = parse(&no_letter).unwrap_err().to_string();
    assert!(e.contains("without the PoC result letter"), "{e}");
    let on_router = demo.replace(
        "name: \"Router OPD\", address: 127.0.0.1}",
        "name: \"Router OPD\", address: 127.0.0.1, poc: {done: false}}",
    );
    let e = parse(&on_router).unwrap_err().to_string();
    assert!(e.contains("`opd-router` is not an application"), "{e}");
}

#[tokio::test]
async fn a_look_up_names_a_purpose_of_the_pks_and_the_audit_records_its_code() {
    let sim = start_sim(None).await;
    let found = sim.samples()["found"].clone();
    let dir = tempfile::tempdir().unwrap();
    let h = open_gate(&sim, dir.path(), &Opts::default());
    let r = post(&h, TOKEN, serde_json::json!({"nik": found, "purpose": "x"})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(
        r.message().contains("tidak tercantum dalam PKS"),
        "{}",
        r.message()
    );
    assert!(
        r.message().contains("`bansos`") && r.message().contains("`dtks`"),
        "{}",
        r.message()
    );
    assert_eq!(sim.stats().lookups_answered, 0);
    let r = post(
        &h,
        TOKEN,
        serde_json::json!({"nik": found, "purpose": "DTKS"}),
    )
    .await;
    assert_eq!(r.code(), "found", "{:?}", r.body);
    // The PKS' own words name the purpose too; the audit keeps the code.
    let r = post(
        &h,
        TOKEN,
        serde_json::json!({"nik": found, "purpose": "verifikasi dan validasi calon penerima bantuan sosial"}),
    )
    .await;
    assert_eq!(r.code(), "found", "{:?}", r.body);
    let rows = audit_rows(dir.path());
    let purposes: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(purposes, ["x", "dtks", "bansos"]);
    assert_eq!(rows[0].2, "invalid_request");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_end_user_is_required_where_the_agreement_says_so_and_audited_in_the_chain() {
    let sim = start_sim(None).await;
    let found = sim.samples()["found"].clone();
    let dir = tempfile::tempdir().unwrap();
    let required = |t: String| {
        t.replace(
            "before_poc: quota",
            "before_poc: quota\n  end_user_required: true",
        )
    };
    let h = open_gate_edited(
        &sim,
        dir.path(),
        &Opts::default(),
        secrets(sim::USER, sim::PASSWORD),
        &required,
    )
    .unwrap();
    let r = post(
        &h,
        TOKEN,
        serde_json::json!({"nik": found, "purpose": "bansos"}),
    )
    .await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert_eq!(r.message(), messages::NO_END_USER);
    let r = post(
        &h,
        TOKEN,
        serde_json::json!({"nik": found, "purpose": "bansos", "end_user": "petugas-07"}),
    )
    .await;
    assert_eq!(r.code(), "found", "{:?}", r.body);
    // Operators are the person themselves: no end user asked of them.
    let a = h
        .gate
        .lookup(&Caller::Operator("siti".into()), &found, "bansos")
        .await
        .unwrap();
    assert!(a.status.is_found());
    let rows = audit_rows(dir.path());
    assert_eq!(rows[1].3, "petugas-07");
    assert_eq!(rows[2].3, "");
    drop(h);
    let report = gate::audit::verify(dir.path()).unwrap();
    assert!(report.intact(), "{:?}", report.problems);
    // The end user is inside the hashed row: changing it breaks the chain.
    let conn = rusqlite::Connection::open(dir.path().join("audit.db")).unwrap();
    conn.execute("UPDATE audit SET end_user = 'orang-lain' WHERE seq = 2", [])
        .unwrap();
    let report = gate::audit::verify(dir.path()).unwrap();
    assert_eq!(
        report.problems,
        [gate::audit::Problem::Edited { seq: 2 }],
        "{:?}",
        report.problems
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn after_the_agreement_ends_look_ups_are_refused_locally() {
    let sim = start_sim(None).await;
    let found = sim.samples()["found"].clone();
    let dir = tempfile::tempdir().unwrap();
    // The clock of Opts::default() is 2026-03-02 10:00 WIB.
    let ended = |t: String| t.replace("end: 2031-01-01", "end: 2026-03-01");
    let h = open_gate_edited(
        &sim,
        dir.path(),
        &Opts::default(),
        secrets(sim::USER, sim::PASSWORD),
        &ended,
    )
    .unwrap();
    let r = lookup(&h.app, &found).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::FORBIDDEN, "agreement_ended")
    );
    assert!(
        r.message().contains("telah berakhir pada 2026-03-01"),
        "{}",
        r.message()
    );
    assert_eq!(h.gate.quota_used_today().unwrap(), 0);
    assert_eq!(sim.stats().lookups_answered, 0);
    // On its last day it still works.
    let dir = tempfile::tempdir().unwrap();
    let last_day = |t: String| t.replace("end: 2031-01-01", "end: 2026-03-02");
    let h = open_gate_edited(
        &sim,
        dir.path(),
        &Opts::default(),
        secrets(sim::USER, sim::PASSWORD),
        &last_day,
    )
    .unwrap();
    assert_eq!(lookup(&h.app, &found).await.code(), "found");
    sim.shutdown().await;
}

#[tokio::test]
async fn two_operators_splitting_a_consecutive_list_are_refused() {
    let sim = start_sim(None).await;
    let found = sim.samples()["found"].clone();
    let serial: u16 = found[12..].parse().unwrap();
    let next = format!(
        "{}{:04}",
        &found[..12],
        if serial < 9000 {
            serial + 1
        } else {
            serial - 1
        }
    );
    let dir = tempfile::tempdir().unwrap();
    let h = open_gate(
        &sim,
        dir.path(),
        &Opts {
            rules: Rules {
                per_minute: None,
                ..Rules::default()
            },
            ..Opts::default()
        },
    );
    let budi = Caller::Operator("budi".into());
    let siti = Caller::Operator("siti".into());
    assert!(h.gate.lookup(&budi, &found, "bansos").await.is_ok());
    let r = h.gate.lookup(&siti, &next, "bansos").await.unwrap_err();
    assert_eq!(r.kind, gate::Refusal::Pattern);
    assert_eq!(r.message, messages::PATTERN_USER_ID);
    // An application and an operator share the User ID too.
    let r = lookup(&h.app, &next).await;
    assert_eq!(r.code(), "refused_pattern");
    assert_eq!(sim.stats().lookups_answered, 1, "only the first was sent");
    sim.shutdown().await;
}

/// The status each decision of [`DECISIONS`] answers with when it refuses.
fn status_of(id: &str) -> &'static str {
    match id {
        "auth" => "unauthorized",
        "nik" => "invalid_format",
        "purpose" => "invalid_request",
        "agreement" => "agreement_ended",
        "poc" => "poc_pending",
        "pattern" => "refused_pattern",
        "health" => "link_down",
        "quota" => "quota_exhausted",
        other => panic!("a decision this test does not know: {other}"),
    }
}

/// Lampiran II draws [`DECISIONS`]; here the gate is shown to take them in that order: from
/// the last to the first, one more check fails at each step, and the refusal is always the
/// earliest failing one's.
#[tokio::test]
async fn the_gate_takes_its_decisions_in_the_order_lampiran_ii_draws() {
    let sim = start_sim(None).await;
    let s = sim.samples();
    let found = s["found"].clone();
    let serial: u16 = found[12..].parse().unwrap();
    let near = |d: u16| {
        format!(
            "{}{:04}",
            &found[..12],
            if serial < 9000 {
                serial + d
            } else {
                serial - d
            }
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let o = Opts {
        quota: "1".into(),
        rules: Rules {
            per_minute: None,
            ..Rules::default()
        },
        ..Opts::default()
    };
    let edit = |t: String| {
        t.replace("before_poc: quota", "before_poc: sandbox")
            .replace("end: 2031-01-01", "end: 2026-03-02")
    };
    let h = open_gate_edited(
        &sim,
        dir.path(),
        &o,
        with_mobile(secrets(sim::USER, sim::PASSWORD)),
        &edit,
    )
    .unwrap();
    // The day's one look-up: quota spent, `found` remembered by the pattern rules.
    assert_eq!(lookup(&h.app, &found).await.code(), "found");

    let ids: Vec<&str> = DECISIONS.iter().map(|d| d.id).collect();
    assert_eq!(
        ids,
        [
            "auth",
            "nik",
            "purpose",
            "agreement",
            "poc",
            "pattern",
            "health",
            "quota"
        ],
        "a new decision needs a step in this test"
    );
    let far = [s["not_found"].clone(), s["deceased"].clone()];
    let mut seen = Vec::new();
    for step in DECISIONS.iter().rev() {
        let r = match step.id {
            "quota" => lookup(&h.app, &far[0]).await,
            "health" => {
                h.health.set(State::Down, "semua hop tidak menjawab");
                lookup(&h.app, &far[1]).await
            }
            "pattern" => lookup(&h.app, &near(1)).await,
            "poc" => {
                post(
                    &h,
                    MOBILE_TOKEN,
                    serde_json::json!({"nik": near(2), "purpose": "bansos"}),
                )
                .await
            }
            "agreement" => {
                // The next WIB day: the agreement ended yesterday (the quota is new, but the
                // checks before it are what this step is about).
                o.clock.set("2026-03-03T03:00:00Z".parse().unwrap());
                post(
                    &h,
                    MOBILE_TOKEN,
                    serde_json::json!({"nik": near(2), "purpose": "bansos"}),
                )
                .await
            }
            "purpose" => {
                post(
                    &h,
                    MOBILE_TOKEN,
                    serde_json::json!({"nik": near(2), "purpose": "x"}),
                )
                .await
            }
            "nik" => {
                post(
                    &h,
                    MOBILE_TOKEN,
                    serde_json::json!({"nik": "12345", "purpose": "x"}),
                )
                .await
            }
            "auth" => {
                post(
                    &h,
                    "token-yang-tidak-dikenal-sama-sekali",
                    serde_json::json!({"nik": "12345", "purpose": "x"}),
                )
                .await
            }
            other => panic!("{other}"),
        };
        assert_eq!(
            r.code(),
            status_of(step.id),
            "step {}: {:?}",
            step.id,
            r.body
        );
        seen.push(step.id);
    }
    assert_eq!(seen.len(), DECISIONS.len());
    assert_eq!(sim.stats().lookups_answered, 1, "no refusal was forwarded");
    sim.shutdown().await;
}
