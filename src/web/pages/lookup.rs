//! Cek NIK: the NIK and purpose form and its answer (the nine elements, or the Juknis
//! message). The page and the answer are `no-store`; nothing of the answer is kept after it
//! is rendered.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::State as AxState;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::portal::answer::Record;
use crate::web::dashboard::{Authed, Chrome, Dash, render};
use crate::web::i18n::Text;

/// The answer as shown.
pub struct Answer {
    pub found: bool,
    pub status: String,
    pub message: String,
    pub elements: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "lookup.html")]
pub struct Page {
    pub c: Chrome,
    pub t: &'static Text,
    pub allowed: bool,
    pub available: bool,
    pub purpose: String,
    /// The PKS' purposes, `(code, text)`, offered in a list.
    pub purposes: Vec<(String, String)>,
    pub answer: Option<Answer>,
}

fn purposes(dash: &Dash) -> Vec<(String, String)> {
    dash.shared
        .topology()
        .agreement
        .purposes
        .iter()
        .map(|p| (p.code.clone(), p.text.clone()))
        .collect()
}

/// The nine data elements of a record, in the Juknis' order and words.
pub fn elements(r: &Record) -> Vec<(&'static str, String)> {
    let v = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let alamat = r.alamat.as_ref().map_or_else(
        || "-".to_string(),
        |a| {
            format!(
                "{}, RT {}/RW {}, {}, {} (kode {}), {}, {}",
                a.alamat,
                a.rt,
                a.rw,
                a.desa_kelurahan,
                a.kecamatan,
                a.kode_kecamatan,
                a.kabupaten_kota,
                a.provinsi
            )
        },
    );
    vec![
        ("Nomor KK", v(&r.nomor_kk)),
        ("NIK", v(&r.nik)),
        ("Nama Lengkap", v(&r.nama_lengkap)),
        ("Jenis Kelamin", v(&r.jenis_kelamin)),
        ("Tempat Lahir", v(&r.tempat_lahir)),
        ("Tanggal Lahir", v(&r.tanggal_lahir)),
        ("Status Perkawinan", v(&r.status_perkawinan)),
        ("Jenis Pekerjaan", v(&r.jenis_pekerjaan)),
        ("Alamat", alamat),
    ]
}

pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed) -> Response {
    let t = a.t();
    let allowed = a.user().may_lookup();
    // Without the right, the page is the explanation only, and says 403.
    let status = if allowed {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::FORBIDDEN
    };
    (
        status,
        render(&Page {
            c: a.chrome("lookup", t.nav_lookup),
            t,
            allowed,
            available: allowed && dash.lookup_available(),
            purpose: String::new(),
            purposes: purposes(&dash),
            answer: None,
        }),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LookupForm {
    pub nik: String,
    pub purpose: String,
    pub csrf: Option<String>,
}

pub async fn submit(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Form(f): Form<LookupForm>,
) -> Response {
    if let Err(e) = a.check_csrf(f.csrf.as_deref()) {
        return e.into_response();
    }
    if !a.user().may_lookup() {
        return a.forbidden().into_response();
    }
    let t = a.t();
    let answer = dash
        .lookup(&a.user().name, f.nik.trim(), f.purpose.trim())
        .await;
    render(&Page {
        c: a.chrome("lookup", t.nav_lookup),
        t,
        allowed: true,
        available: dash.lookup_available(),
        purpose: f.purpose,
        purposes: purposes(&dash),
        answer: Some(answer.unwrap_or_else(|| Answer {
            found: false,
            status: "unavailable".into(),
            message: t.lookup_unavailable.into(),
            elements: Vec::new(),
        })),
    })
}
