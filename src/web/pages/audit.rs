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

#[derive(Template)]
#[template(path = "audit.html")]
pub struct Page {
    pub c: Chrome,
    pub t: &'static Text,
    pub available: bool,
    pub rows: Vec<Row>,
    pub verdict: Option<(bool, String)>,
}

async fn show(dash: &Dash, a: &Authed, verdict: Option<(bool, String)>) -> Response {
    let t = a.t();
    let (available, rows) = dash.audit_rows(200).await;
    render(&Page {
        c: a.chrome("audit", t.nav_audit),
        t,
        available,
        rows,
        verdict,
    })
}

pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed) -> Response {
    if !a.user().may_audit() {
        return a.forbidden().into_response();
    }
    show(&dash, &a, None).await
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
    show(&dash, &a, Some(verdict)).await
}
