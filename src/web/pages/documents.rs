//! Dokumen: Lampiran I and II of the topology in force, rendered by Graphviz on request.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::render::{self, Format, lampiran1, lampiran2};
use crate::web::dashboard::{Authed, Chrome, Dash, PageError, render};
use crate::web::i18n::Text;

/// What can be downloaded: (file name, content type).
pub const FILES: [(&str, &str); 6] = [
    ("lampiran1.pdf", "application/pdf"),
    ("lampiran1.png", "image/png"),
    ("lampiran1.svg", "image/svg+xml"),
    ("lampiran2.pdf", "application/pdf"),
    ("lampiran2.png", "image/png"),
    ("lampiran2.svg", "image/svg+xml"),
];

pub struct Doc {
    pub title: &'static str,
    pub stem: &'static str,
}

#[derive(Template)]
#[template(path = "documents.html")]
pub struct Page {
    pub c: Chrome,
    pub t: &'static Text,
    pub docs: Vec<Doc>,
    pub opd: String,
}

pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed) -> Response {
    let t = a.t();
    render(&Page {
        c: a.chrome("documents", t.nav_documents),
        t,
        docs: vec![
            Doc {
                title: t.lampiran1,
                stem: "lampiran1",
            },
            Doc {
                title: t.lampiran2,
                stem: "lampiran2",
            },
        ],
        opd: dash.shared.topology().agreement.opd.clone(),
    })
}

pub async fn download(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Path(file): Path<String>,
) -> Response {
    let Some((name, ct)) = FILES.iter().find(|f| f.0 == file).copied() else {
        return PageError::new(a.lang, StatusCode::NOT_FOUND, a.t().not_found).into_response();
    };
    let topology = dash.shared.topology();
    let dot = if name.starts_with("lampiran1") {
        lampiran1::dot(&topology)
    } else {
        lampiran2::dot(&topology)
    };
    let format = match name.rsplit('.').next() {
        Some("pdf") => Format::Pdf,
        Some("png") => Format::Png,
        _ => Format::Svg,
    };
    match tokio::task::spawn_blocking(move || render::to_format(&dot, format)).await {
        Ok(Ok(bytes)) => {
            let mut res = bytes.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
            res
        }
        Ok(Err(render::Error::DotMissing)) => PageError::new(
            a.lang,
            StatusCode::SERVICE_UNAVAILABLE,
            a.t().diagram_missing,
        )
        .into_response(),
        Ok(Err(e)) => a.internal(&e).into_response(),
        Err(e) => a.internal(&e).into_response(),
    }
}
