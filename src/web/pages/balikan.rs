//! Data balikan: upload a CSV into the outbox, its counts by state, and the records the service
//! refused with its own words, which an admin sends again (once the cause is fixed) or
//! dismisses.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Path as AxPath, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::outbox::{Counts, Resend};
use crate::web::dashboard::{Authed, Chrome, Dash, render};
use crate::web::i18n::Text;

/// Largest CSV accepted through the form.
pub const MAX_UPLOAD: usize = 8 * 1024 * 1024;

#[derive(Template)]
#[template(path = "balikan.html")]
pub struct Page {
    pub c: Chrome,
    pub t: &'static Text,
    pub counts: Option<Counts>,
    pub oldest: String,
    pub report: Option<(bool, String)>,
    /// The latest refused records.
    pub refused: Vec<RefusedRow>,
    /// Admins may send a refused record again or dismiss it.
    pub admin: bool,
}

/// One refused record as the page lists it.
pub struct RefusedRow {
    pub id: i64,
    pub when: String,
    pub recipient_id: String,
    pub aid: String,
    /// The service's own words.
    pub reason: String,
    pub source: String,
    /// Its NIK is still held, so it can be sent again.
    pub resendable: bool,
}

/// The form of a refused record's buttons.
#[derive(Debug, serde::Deserialize)]
pub struct RefusedForm {
    csrf: Option<String>,
    /// `kirim` (send again) or `abaikan` (dismiss).
    action: String,
}

/// Refused records listed on the page.
const REFUSED_SHOWN: usize = 50;

async fn show(
    dash: &Dash,
    a: &Authed,
    status: StatusCode,
    report: Option<(bool, String)>,
) -> Response {
    let t = a.t();
    let (counts, refused) = match dash.outbox.clone() {
        Some(o) => tokio::task::spawn_blocking(move || (o.counts(), o.rejected(REFUSED_SHOWN)))
            .await
            .map_or((None, Vec::new()), |(c, r)| {
                (
                    c.map_err(|e| tracing::warn!(error = %e, "outbox counts"))
                        .ok(),
                    r.map_err(|e| tracing::warn!(error = %e, "outbox refusals"))
                        .unwrap_or_default(),
                )
            }),
        None => (None, Vec::new()),
    };
    let refused = refused
        .into_iter()
        .map(|r| RefusedRow {
            id: r.id,
            when: crate::web::i18n::wib(r.at_ms / 1000),
            recipient_id: r.recipient_id,
            aid: r.aid,
            reason: r.reason,
            source: r.source,
            resendable: r.resendable,
        })
        .collect();
    let oldest = counts.map_or_else(String::new, |c| {
        let s = c.oldest_pending_age_seconds as u64;
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    });
    let page = Page {
        c: a.chrome("balikan", t.nav_balikan),
        t,
        counts,
        oldest,
        report,
        refused,
        admin: a.user().role == crate::web::auth::Role::Admin,
    };
    (status, render(&page)).into_response()
}

/// The outbox, or the page saying it is not available.
async fn outbox_or_page(dash: &Dash, a: &Authed) -> Result<crate::outbox::Outbox, Response> {
    match dash.outbox.clone() {
        Some(o) => Ok(o),
        None => {
            let msg = a.t().balikan_unavailable.to_string();
            Err(show(dash, a, StatusCode::SERVICE_UNAVAILABLE, Some((false, msg))).await)
        }
    }
}

/// `POST /balikan/ditolak/{id}`: an admin sends refused record `id` again or dismisses it.
pub async fn refused(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    AxPath(id): AxPath<i64>,
    Form(f): Form<RefusedForm>,
) -> Response {
    if let Err(e) = a.check_csrf(f.csrf.as_deref()) {
        return e.into_response();
    }
    if a.user().role != crate::web::auth::Role::Admin {
        return a.forbidden().into_response();
    }
    let outbox = match outbox_or_page(&dash, &a).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    enum Done {
        Resend(Resend),
        Dismissed(bool),
        Unknown,
    }
    let action = f.action;
    let done = tokio::task::spawn_blocking(move || match action.as_str() {
        "kirim" => outbox.resend(id).map(Done::Resend),
        "abaikan" => outbox.dismiss(id).map(Done::Dismissed),
        _ => Ok(Done::Unknown),
    })
    .await;
    let english = a.lang == crate::web::i18n::Lang::En;
    let said = |r: Resend| if english { r.en() } else { r.id() };
    let (status, ok, msg) = match done {
        Err(e) => return a.internal(&e).into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, false, e.to_string()),
        Ok(Ok(Done::Resend(Resend::Queued))) => {
            tracing::info!(user = %a.user().name, record = id, "refused data balikan record queued again");
            (StatusCode::OK, true, said(Resend::Queued).to_owned())
        }
        Ok(Ok(Done::Resend(r @ Resend::NotFound))) => {
            (StatusCode::NOT_FOUND, false, said(r).to_owned())
        }
        Ok(Ok(Done::Resend(r))) => (StatusCode::CONFLICT, false, said(r).to_owned()),
        Ok(Ok(Done::Dismissed(true))) => {
            tracing::info!(user = %a.user().name, record = id, "refused data balikan record dismissed");
            (StatusCode::OK, true, a.t().refused_dismissed.to_owned())
        }
        Ok(Ok(Done::Dismissed(false))) => (
            StatusCode::NOT_FOUND,
            false,
            said(Resend::NotFound).to_owned(),
        ),
        Ok(Ok(Done::Unknown)) => (
            StatusCode::BAD_REQUEST,
            false,
            a.t().refused_action.to_owned(),
        ),
    };
    show(&dash, &a, status, Some((ok, format!("{id}: {msg}")))).await
}

pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed) -> Response {
    if !a.user().may_balikan() {
        return a.forbidden().into_response();
    }
    show(&dash, &a, StatusCode::OK, None).await
}

pub async fn upload(AxState(dash): AxState<Arc<Dash>>, a: Authed, mut form: Multipart) -> Response {
    // The role first: nothing of the page (the queue's counts) is rendered for others, whatever
    // the body holds.
    if !a.user().may_balikan() {
        return a.forbidden().into_response();
    }
    let mut csrf = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_string();
                let file_name = field.file_name().unwrap_or("upload.csv").to_string();
                match field.bytes().await {
                    Ok(b) if name == "csrf" => csrf = Some(String::from_utf8_lossy(&b).to_string()),
                    Ok(b) if name == "file" && b.len() <= MAX_UPLOAD => {
                        file = Some((file_name, b.to_vec()))
                    }
                    Ok(_) => {}
                    Err(e) => {
                        return show(
                            &dash,
                            &a,
                            StatusCode::BAD_REQUEST,
                            Some((false, e.body_text())),
                        )
                        .await;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                return show(
                    &dash,
                    &a,
                    StatusCode::BAD_REQUEST,
                    Some((false, e.body_text())),
                )
                .await;
            }
        }
    }
    if let Err(e) = a.check_csrf(csrf.as_deref()) {
        return e.into_response();
    }
    let outbox = match outbox_or_page(&dash, &a).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let Some((name, bytes)) = file else {
        return show(
            &dash,
            &a,
            StatusCode::BAD_REQUEST,
            Some((false, a.t().csv_file.to_string())),
        )
        .await;
    };
    let user = a.user().name.clone();
    let result = tokio::task::spawn_blocking(move || outbox.import_csv(&name, &bytes)).await;
    match result {
        Ok(Ok(report)) => {
            tracing::info!(user = %user, "data balikan CSV imported from the dashboard");
            // A broken file imports nothing: shown as an error, with each line's problem.
            let (status, ok) = if report.broken.is_empty() {
                (StatusCode::OK, true)
            } else {
                (StatusCode::UNPROCESSABLE_ENTITY, false)
            };
            show(&dash, &a, status, Some((ok, report.to_string()))).await
        }
        Ok(Err(e)) => {
            show(
                &dash,
                &a,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some((false, e.to_string())),
            )
            .await
        }
        Err(e) => a.internal(&e).into_response(),
    }
}
