//! One incident and what people did about it: who acknowledged it and when, the notes, the
//! cause with its ticket number. Technicians and admins acknowledge and write (POST forms with
//! the session's CSRF token); operators read.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::store::{self, Ack, Handling, Invalid, Note, NoteKind, Store};
use crate::web::dashboard::{Authed, Chrome, Dash, PageError, render};
use crate::web::i18n::{Lang, Text, wib, wib_hm};

/// "Diakui oleh X pada 10.42 WIB", in parts for a template.
pub struct AckView {
    pub by: String,
    pub hm: String,
    /// The full date and time, for the title and the detail page.
    pub full: String,
}

impl AckView {
    pub fn of(a: &Ack) -> AckView {
        AckView {
            by: a.by.clone(),
            hm: wib_hm(a.at_s),
            full: wib(a.at_s),
        }
    }
}

pub struct NoteView {
    pub kind: &'static str,
    pub label: &'static str,
    pub when: String,
    pub by: String,
    pub text: String,
    pub ticket: Option<String>,
}

impl NoteView {
    fn of(t: &Text, n: &Note) -> NoteView {
        NoteView {
            kind: n.kind.as_str(),
            label: match n.kind {
                NoteKind::Note => t.note_kind_note,
                NoteKind::Cause => t.note_kind_cause,
            },
            when: wib(n.at_s),
            by: n.by.clone(),
            text: n.text.clone(),
            ticket: n.ticket.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "incident.html")]
pub struct Page {
    pub c: Chrome,
    pub t: &'static Text,
    pub id: i64,
    pub subject: String,
    pub state: String,
    pub label: &'static str,
    pub reason: String,
    pub started: String,
    pub ended: Option<String>,
    pub ack: Option<AckView>,
    pub cause: Option<NoteView>,
    pub notes: Vec<NoteView>,
    pub may_handle: bool,
}

fn state_of(s: &str) -> crate::health::State {
    match s {
        "healthy" => crate::health::State::Healthy,
        "degraded" => crate::health::State::Degraded,
        "down" => crate::health::State::Down,
        _ => crate::health::State::Unknown,
    }
}

fn not_found(lang: Lang) -> PageError {
    PageError::new(lang, StatusCode::NOT_FOUND, lang.text().incident_not_found)
}

/// `GET /gangguan/{id}`.
pub async fn page(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return not_found(a.lang).into_response();
    };
    let found = super::with_store(&dash.cfg.state_dir, move |s| {
        Ok(match s.incident(id)? {
            Some(i) => Some((i, s.handling(id)?.unwrap_or_default())),
            None => None,
        })
    })
    .await;
    let (i, h): (store::Incident, Handling) = match found {
        Ok(Some(v)) => v,
        Ok(None) => return not_found(a.lang).into_response(),
        Err(e) => return a.internal(&e).into_response(),
    };
    let t = a.t();
    render(&Page {
        c: a.chrome("incident", t.incident_title),
        t,
        id,
        label: a.lang.state(state_of(&i.state)),
        subject: i.subject,
        state: i.state,
        reason: i.reason,
        started: wib(i.started_s),
        ended: i.ended_s.map(wib),
        ack: h.ack.as_ref().map(AckView::of),
        cause: h.cause().map(|n| NoteView::of(t, n)),
        notes: h.notes.iter().map(|n| NoteView::of(t, n)).collect(),
        may_handle: a.user().may_handle_incidents(),
    })
}

#[derive(Deserialize)]
pub struct AckForm {
    pub csrf: Option<String>,
}

#[derive(Deserialize)]
pub struct NoteForm {
    pub csrf: Option<String>,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub text: String,
    pub ticket: Option<String>,
}

/// The CSRF token first, then the role, then the incident's id: a forged post learns nothing.
fn admit(a: &Authed, csrf: Option<&str>, id: &str) -> Result<i64, PageError> {
    a.check_csrf(csrf)?;
    if !a.user().may_handle_incidents() {
        return Err(a.forbidden());
    }
    id.parse::<i64>().map_err(|_| not_found(a.lang))
}

/// Why a change was not made: what the person typed, or the appliance.
enum Refusal {
    Invalid(Invalid),
    Internal(String),
}

/// Change the store off the async threads.
async fn write<T: Send + 'static>(
    dash: &Dash,
    f: impl FnOnce(&mut Store) -> Result<T, store::Error> + Send + 'static,
) -> Result<T, Refusal> {
    let db = dash.cfg.state_dir.join("juknis.db");
    match tokio::task::spawn_blocking(move || f(&mut Store::open(&db)?)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(store::Error::Invalid(i))) => Err(Refusal::Invalid(i)),
        Ok(Err(e)) => Err(Refusal::Internal(e.to_string())),
        Err(e) => Err(Refusal::Internal(e.to_string())),
    }
}

/// What a failed write answers: a person's mistake is a 400 (or 404) in words, anything else
/// is logged and a 500.
fn refused(a: &Authed, e: Refusal) -> Response {
    match e {
        Refusal::Invalid(Invalid::NoIncident(_)) => not_found(a.lang).into_response(),
        Refusal::Invalid(i) => PageError::new(
            a.lang,
            StatusCode::BAD_REQUEST,
            format!("{}: {i}", a.t().note_refused),
        )
        .into_response(),
        Refusal::Internal(e) => a.internal(&e).into_response(),
    }
}

/// `POST /gangguan/{id}/akui`: acknowledge; the first acknowledgement stands.
pub async fn acknowledge(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<AckForm>,
) -> Response {
    let id = match admit(&a, f.csrf.as_deref(), &id) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let user = a.user().name.clone();
    let by = user.clone();
    match write(&dash, move |s| s.acknowledge(id, &by, super::now_s())).await {
        Ok(ack) => {
            tracing::info!(incident = id, user = %user, acked_by = %ack.by, "incident acknowledged");
            Redirect::to(&format!("/gangguan/{id}")).into_response()
        }
        Err(e) => refused(&a, e),
    }
}

/// `POST /gangguan/{id}/catatan`: append a note or a cause (with an optional ticket number).
pub async fn note(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<NoteForm>,
) -> Response {
    let id = match admit(&a, f.csrf.as_deref(), &id) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let kind = match NoteKind::parse(&f.kind) {
        Ok(k) => k,
        Err(e) => return refused(&a, Refusal::Invalid(e)),
    };
    let user = a.user().name.clone();
    let by = user.clone();
    let written = write(&dash, move |s| {
        s.add_note(id, &by, kind, &f.text, f.ticket.as_deref(), super::now_s())
    })
    .await;
    match written {
        Ok(n) => {
            tracing::info!(incident = id, user = %user, kind = n.kind.as_str(), note = n.id, "incident note kept");
            Redirect::to(&format!("/gangguan/{id}#catatan")).into_response()
        }
        Err(e) => refused(&a, e),
    }
}
