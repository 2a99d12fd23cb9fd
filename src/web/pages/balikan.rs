//! Data balikan: upload a CSV into the outbox, its counts by state, and the records the service
//! refused with its own words (to correct and import again).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::outbox::Counts;
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
    /// The latest refused records: (when, recipient ID, aid type, the service's words, source).
    pub refused: Vec<(String, String, String, String, String)>,
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
        .map(|r| {
            (
                crate::web::i18n::wib(r.at_ms / 1000),
                r.recipient_id,
                r.aid,
                r.reason,
                r.source,
            )
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
    };
    (status, render(&page)).into_response()
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
    let Some(outbox) = dash.outbox.clone() else {
        let msg = a.t().balikan_unavailable.to_string();
        return show(
            &dash,
            &a,
            StatusCode::SERVICE_UNAVAILABLE,
            Some((false, msg)),
        )
        .await;
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
