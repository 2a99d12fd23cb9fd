//! Audit (admin only): who looked up, when and why; the NIK only as its HMAC; a button that
//! checks the hash chain.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::State as AxState;
use axum::response::{IntoResponse, Response};

use crate::web::dashboard::{Authed, Chrome, CsrfForm, Dash, render};
use crate::web::i18n::Text;

pub struct Row {
    pub at: String,
    pub who: String,
    pub kind: String,
    pub purpose: String,
    pub nik_hmac: String,
    pub status: String,
}

/// Entries per page.
pub const PAGE: usize = 200;

/// What the admin filters the log by, and the page (1 = newest).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The caller's name, exactly.
    pub caller: String,
    /// The status, exactly (`found`, `refused_burst`, `locked_out`, ...).
    pub status: String,
    /// A WIB day, `YYYY-MM-DD`.
    pub day: String,
    pub page: usize,
}

impl Filter {
    /// From the query string; a malformed day or page is ignored.
    pub fn from_query(q: Option<&str>) -> Filter {
        let get = |k| {
            crate::web::dashboard::query_param(q, k)
                .map(|v| percent_decode(&v))
                .unwrap_or_default()
        };
        let day = get("hari");
        Filter {
            caller: get("pemanggil").trim().to_string(),
            status: get("status").trim().to_string(),
            day: if chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").is_ok() {
                day
            } else {
                String::new()
            },
            page: get("halaman").parse().unwrap_or(1).max(1),
        }
    }

    /// The query string of page `page` with the same filters.
    pub fn query(&self, page: usize) -> String {
        let enc = |s: &str| {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        format!(
            "pemanggil={}&status={}&hari={}&halaman={page}",
            enc(&self.caller),
            enc(&self.status),
            enc(&self.day)
        )
    }
}

/// `%XX` escapes decoded (our own parameters are ASCII or UTF-8 text).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Template)]
#[template(path = "audit.html")]
pub struct Page {
    pub c: Chrome,
    pub t: &'static Text,
    pub available: bool,
    pub rows: Vec<Row>,
    pub verdict: Option<(bool, String)>,
    pub filter: Filter,
    pub pages: usize,
}

async fn show(
    dash: &Dash,
    a: &Authed,
    filter: Filter,
    verdict: Option<(bool, String)>,
) -> Response {
    let t = a.t();
    let (available, rows, total) = dash.audit_rows(&filter, PAGE).await;
    render(&Page {
        c: a.chrome("audit", t.nav_audit),
        t,
        available,
        rows,
        verdict,
        pages: total.div_ceil(PAGE).max(1),
        filter,
    })
}

pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed, uri: axum::http::Uri) -> Response {
    if !a.user().may_audit() {
        return a.forbidden().into_response();
    }
    show(&dash, &a, Filter::from_query(uri.query()), None).await
}

pub async fn verify(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Err(e) = a.check_csrf(f.csrf.as_deref()) {
        return e.into_response();
    }
    if !a.user().may_audit() {
        return a.forbidden().into_response();
    }
    let verdict = dash.audit_verify(a.lang).await;
    show(&dash, &a, Filter::default(), Some(verdict)).await
}
