//! Ketersediaan: a month's availability per path and contracted link, and the CSV exports of
//! availability, incidents and hourly measurements for Excel (`report::availability`).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use crate::report::availability::{self, Month, Monthly, Separator};
use crate::report::semester::Subject;
use crate::web::dashboard::{Authed, Chrome, Dash, PageError, query_param, render};
use crate::web::i18n::Text;

/// The CSV files offered: (file name stem, what it holds).
pub const FILES: [&str; 3] = ["ketersediaan", "insiden", "pengukuran"];

pub struct Row {
    pub kind: &'static str,
    pub name: String,
    pub measured_at: String,
    /// "99,75%", or the reason there is no figure.
    pub figure: String,
    pub has_figure: bool,
    pub rounds: String,
    pub down: String,
    /// Declared maintenance in the month, counted apart ("" when none).
    pub planned: String,
    pub incidents: String,
}

#[derive(Template)]
#[template(path = "availability.html")]
pub struct Page {
    pub c: Chrome,
    pub t: &'static Text,
    pub months: Vec<(String, String, bool)>,
    pub month: String,
    pub period: String,
    pub rows: Vec<Row>,
    pub files: Vec<(&'static str, &'static str)>,
}

/// The month asked for in `?bulan=`, else the current one; `None` when it is malformed.
fn month_of(uri: &axum::http::Uri) -> Option<Month> {
    match query_param(uri.query(), "bulan") {
        Some(m) => m.parse().ok(),
        None => Some(Month::of(Utc::now())),
    }
}

async fn gather(dash: &Dash, month: Month) -> Result<Monthly, String> {
    let topology = dash.shared.topology();
    let dir = dash.cfg.state_dir.clone();
    tokio::task::spawn_blocking(move || {
        availability::gather(&topology, &dir, month, Utc::now()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed, uri: axum::http::Uri) -> Response {
    let t = a.t();
    let Some(month) = month_of(&uri) else {
        return PageError::new(a.lang, StatusCode::BAD_REQUEST, t.bad_month).into_response();
    };
    let m = match gather(&dash, month).await {
        Ok(m) => m,
        Err(e) => return a.internal(&e).into_response(),
    };
    let sep = Separator::Semicolon;
    let rows = m
        .rows
        .iter()
        .map(|r| {
            let av = &r.availability;
            Row {
                kind: match av.subject {
                    Subject::Path => t.path,
                    Subject::Link => t.link,
                },
                name: av.name.clone(),
                measured_at: av.measured_at.clone().unwrap_or_default(),
                has_figure: r.percent().is_some(),
                figure: match r.percent() {
                    Some(p) => format!("{}%", sep.number(p, 2)),
                    None if av.measured_at.is_none() => t.not_probed.to_owned(),
                    None => t.not_measured.to_owned(),
                },
                rounds: format!("{} / {}", av.ok_rounds, av.rounds),
                down: r
                    .down_s
                    .map(crate::report::calendar::duration_words)
                    .unwrap_or_default(),
                planned: if r.planned_s > 0 {
                    crate::report::calendar::duration_words(r.planned_s)
                } else {
                    String::new()
                },
                incidents: r.incidents.map(|n| n.to_string()).unwrap_or_default(),
            }
        })
        .collect();
    let mut months = Vec::new();
    let mut at = Month::of(Utc::now());
    for _ in 0..12 {
        months.push((at.to_string(), at.name(), at == month));
        at = at.previous();
    }
    render(&Page {
        c: a.chrome("availability", t.nav_availability),
        t,
        months,
        month: month.to_string(),
        period: format!(
            "{} – {}",
            crate::report::calendar::datetime_short(m.from),
            crate::report::calendar::datetime_short(m.to)
        ),
        rows,
        files: vec![
            (FILES[0], t.csv_availability),
            (FILES[1], t.csv_incidents),
            (FILES[2], t.csv_measurements),
        ],
    })
}

/// `/ketersediaan/{ketersediaan|insiden|pengukuran}.csv?bulan=2026-11&pemisah=,`.
pub async fn download(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Path(file): Path<String>,
    uri: axum::http::Uri,
) -> Response {
    let t = a.t();
    let Some(stem) = file.strip_suffix(".csv").filter(|s| FILES.contains(s)) else {
        return PageError::new(a.lang, StatusCode::NOT_FOUND, t.not_found).into_response();
    };
    let Some(month) = month_of(&uri) else {
        return PageError::new(a.lang, StatusCode::BAD_REQUEST, t.bad_month).into_response();
    };
    let sep = match query_param(uri.query(), "pemisah").as_deref() {
        None | Some("%3B" | ";") => Separator::Semicolon,
        Some("%2C" | ",") => Separator::Comma,
        Some(_) => {
            return PageError::new(a.lang, StatusCode::BAD_REQUEST, t.bad_separator)
                .into_response();
        }
    };
    let m = match gather(&dash, month).await {
        Ok(m) => m,
        Err(e) => return a.internal(&e).into_response(),
    };
    let bytes = match stem {
        "insiden" => m.incidents_csv(sep),
        "pengukuran" => m.measurements_csv(sep),
        _ => m.availability_csv(sep),
    };
    match bytes {
        Ok(b) => {
            let mut res = b.into_response();
            let h = res.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            let name = format!("attachment; filename=\"{stem}-{month}.csv\"");
            if let Ok(v) = HeaderValue::from_str(&name) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        Err(e) => a.internal(&e).into_response(),
    }
}
