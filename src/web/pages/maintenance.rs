//! Maintenance windows on the dashboard: those the topology declares (read-only here) and
//! those admins make (one-off, scoped to everything, a path or a link) and call off. A window
//! made here takes effect at once: the running topology's schedule is replaced, so the alerts,
//! the overview, the status page and the reports treat it as planned work.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;

use crate::store::{self, Invalid, MadeWindow, NewWindow, Store};
use crate::topology::Topology;
use crate::topology::maintenance::{Recurrence, Scope, Window, wib_instant};
use crate::web::auth::Role;
use crate::web::dashboard::{Authed, Chrome, Dash, PageError, render};
use crate::web::i18n::{Lang, Text, wib};

/// One window as a row: when, what it covers, the work, and who made it.
pub struct Row {
    pub id: i64,
    pub when: String,
    pub scope: String,
    pub note: String,
    /// "oleh admin, 5 Des 10.02 WIB" for a made window.
    pub made: Option<String>,
    pub cancelled: Option<String>,
    pub running: bool,
    /// It may still be called off (made here, not cancelled, not over).
    pub open: bool,
}

/// A scope the form offers: its value (`all`, `path:ID`, `link:ID`) and label.
pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "maintenance.html")]
struct Page {
    c: Chrome,
    t: &'static Text,
    declared: Vec<Row>,
    made: Vec<Row>,
    choices: Vec<Choice>,
    may_plan: bool,
}

fn scope_words(t: &Text, topology: &Topology, s: &Scope) -> String {
    if s.is_everything() {
        return t.mt_scope_all.to_owned();
    }
    let name = |id: &str| {
        topology
            .paths
            .iter()
            .find(|p| p.id.as_str() == id)
            .map_or_else(|| id.to_owned(), |p| path_label(topology, p))
    };
    s.paths
        .iter()
        .map(|p| format!("{} {}", t.mt_path, name(p.as_str())))
        .chain(s.links.iter().map(|l| format!("{} {l}", t.mt_link)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A path by its service's name and its id: `Web Portal (portal)`.
fn path_label(t: &Topology, p: &crate::topology::Path) -> String {
    match t.node(&p.service) {
        Some(n) => format!("{} ({})", n.name, p.id),
        None => p.id.to_string(),
    }
}

fn when_words(lang: Lang, w: &Window) -> String {
    let en = lang == Lang::En;
    match &w.when {
        Recurrence::Once { from, to } => {
            format!("{} – {}", wib(from.timestamp()), wib(to.timestamp()))
        }
        Recurrence::Weekly { day, at, minutes } => {
            let days = if en {
                [
                    "Monday",
                    "Tuesday",
                    "Wednesday",
                    "Thursday",
                    "Friday",
                    "Saturday",
                    "Sunday",
                ]
            } else {
                [
                    "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
                ]
            };
            let d = days[day.num_days_from_monday() as usize];
            if en {
                format!(
                    "every {d} at {} WIB for {minutes} minutes",
                    at.format("%H:%M")
                )
            } else {
                format!(
                    "setiap {d} pukul {} WIB selama {minutes} menit",
                    at.format("%H.%M")
                )
            }
        }
        Recurrence::Monthly { day, at, minutes } => {
            if en {
                format!(
                    "every month on day {day} at {} WIB for {minutes} minutes",
                    at.format("%H:%M")
                )
            } else {
                format!(
                    "setiap tanggal {day} pukul {} WIB selama {minutes} menit",
                    at.format("%H.%M")
                )
            }
        }
    }
}

fn running(w: &Window, now: DateTime<Utc>) -> bool {
    w.running_at(now).is_some()
}

fn choices(t: &Text, topology: &Topology) -> Vec<Choice> {
    let mut out = vec![Choice {
        value: "all".into(),
        label: t.mt_scope_all.into(),
    }];
    out.extend(topology.paths.iter().map(|p| Choice {
        value: format!("path:{}", p.id),
        label: format!("{} {}", t.mt_path, path_label(topology, p)),
    }));
    out.extend(topology.links.iter().map(|l| Choice {
        value: format!("link:{}", l.id),
        label: format!("{} {}", t.mt_link, l.id),
    }));
    out
}

fn may_plan(a: &Authed) -> bool {
    a.user().role == Role::Admin
}

/// `GET /pemeliharaan`: every window, declared and made; the form for admins.
pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed) -> Response {
    let made = match super::with_store(&dash.cfg.state_dir, |s| s.made_windows()).await {
        Ok(m) => m,
        Err(e) => return a.internal(&e).into_response(),
    };
    let t = a.t();
    let topology = dash.shared.topology();
    let now = Utc::now();
    let declared = topology
        .maintenance
        .windows
        .iter()
        .enumerate()
        .map(|(i, w)| Row {
            id: i as i64,
            when: when_words(a.lang, w),
            scope: scope_words(t, &topology, &w.scope),
            note: w.note.clone(),
            made: None,
            cancelled: None,
            running: running(w, now),
            open: false,
        })
        .collect();
    let made = made
        .iter()
        .map(|m: &MadeWindow| {
            let w = m.window();
            let in_force = store::in_force(std::slice::from_ref(m));
            Row {
                id: m.id,
                when: when_words(a.lang, &w),
                scope: scope_words(t, &topology, &w.scope),
                note: m.note.clone(),
                made: Some(format!("{} {}, {}", t.by, m.by, wib(m.created_s))),
                cancelled: m
                    .cancelled
                    .as_ref()
                    .map(|(by, at)| format!("{} {} {by}, {}", t.mt_cancelled, t.by, wib(*at))),
                running: in_force.iter().any(|w| running(w, now)),
                open: m.cancelled.is_none() && m.to_s > now.timestamp(),
            }
        })
        .collect();
    render(&Page {
        c: a.chrome("maintenance", t.mt_title),
        t,
        declared,
        made,
        choices: choices(t, &topology),
        may_plan: may_plan(&a),
    })
}

#[derive(Deserialize)]
pub struct AddForm {
    pub csrf: Option<String>,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub note: String,
}

#[derive(Deserialize)]
pub struct CancelForm {
    pub csrf: Option<String>,
}

/// The CSRF token first, then the role: a forged post learns nothing.
fn admit(a: &Authed, csrf: Option<&str>) -> Result<(), PageError> {
    a.check_csrf(csrf)?;
    if !may_plan(a) {
        return Err(a.forbidden());
    }
    Ok(())
}

/// `2026-12-05T22:00` (a browser's datetime-local) or `2026-12-05 22:00`, in WIB.
fn wib_field(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(wib_instant)
}

fn refused(a: &Authed, why: &str) -> Response {
    PageError::new(
        a.lang,
        StatusCode::BAD_REQUEST,
        format!("{}: {why}", a.t().mt_refused),
    )
    .into_response()
}

/// Put the store's windows into the running topology, so that they take effect at once.
fn apply(dash: &Dash, made: &[MadeWindow]) {
    let mut t = (*dash.shared.topology()).clone();
    t.maintenance.made = store::in_force(made);
    if let Ok(mut w) = dash.shared.topology.write() {
        *w = Arc::new(t);
    }
}

/// Change the store off the async threads, then apply its windows.
async fn change(
    dash: &Arc<Dash>,
    f: impl FnOnce(&mut Store) -> Result<MadeWindow, store::Error> + Send + 'static,
) -> Result<MadeWindow, Result<Invalid, String>> {
    let db = dash.cfg.state_dir.join("juknis.db");
    let done = tokio::task::spawn_blocking(move || {
        let mut s = Store::open(&db)?;
        let w = f(&mut s)?;
        Ok::<_, store::Error>((w, s.made_windows()?))
    })
    .await;
    match done {
        Ok(Ok((w, all))) => {
            apply(dash, &all);
            Ok(w)
        }
        Ok(Err(store::Error::Invalid(i))) => Err(Ok(i)),
        Ok(Err(e)) => Err(Err(e.to_string())),
        Err(e) => Err(Err(e.to_string())),
    }
}

/// `POST /pemeliharaan`: make a window (admins).
pub async fn add(AxState(dash): AxState<Arc<Dash>>, a: Authed, Form(f): Form<AddForm>) -> Response {
    if let Err(r) = admit(&a, f.csrf.as_deref()) {
        return r.into_response();
    }
    let (Some(from), Some(to)) = (wib_field(&f.from), wib_field(&f.to)) else {
        let why = if a.lang == Lang::En {
            "give the start and the end as date and time (WIB)"
        } else {
            "isi waktu mulai dan selesai dengan tanggal dan jam (WIB)"
        };
        return refused(&a, why);
    };
    let topology = dash.shared.topology();
    let (mut paths, mut links) = (Vec::new(), Vec::new());
    match f.scope.split_once(':') {
        _ if f.scope == "all" || f.scope.is_empty() => {}
        Some(("path", id)) if topology.paths.iter().any(|p| p.id.as_str() == id) => {
            paths.push(id.to_owned());
        }
        Some(("link", id)) if topology.links.iter().any(|l| l.id.as_str() == id) => {
            links.push(id.to_owned());
        }
        _ => {
            let bad: String = f.scope.chars().take(60).collect();
            return refused(&a, &Invalid::WindowScope(bad).to_string());
        }
    }
    let w = NewWindow {
        from_s: from.timestamp(),
        to_s: to.timestamp(),
        paths,
        links,
        note: f.note,
    };
    let user = a.user().name.clone();
    let by = user.clone();
    match change(&dash, move |s| s.add_window(&w, &by, super::now_s())).await {
        Ok(w) => {
            tracing::info!(window = w.id, user = %user, from = w.from_s, to = w.to_s, "maintenance window made");
            Redirect::to("/pemeliharaan").into_response()
        }
        Err(Ok(i)) => refused(&a, &i.to_string()),
        Err(Err(e)) => a.internal(&e).into_response(),
    }
}

/// `POST /pemeliharaan/{id}/batal`: call a window off (admins).
pub async fn cancel(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Path(id): Path<String>,
    Form(f): Form<CancelForm>,
) -> Response {
    if let Err(r) = admit(&a, f.csrf.as_deref()) {
        return r.into_response();
    }
    let Ok(id) = id.parse::<i64>() else {
        return refused(&a, &Invalid::NoWindow(0).to_string());
    };
    let user = a.user().name.clone();
    let by = user.clone();
    match change(&dash, move |s| s.cancel_window(id, &by, super::now_s())).await {
        Ok(_) => {
            tracing::info!(window = id, user = %user, "maintenance window called off");
            Redirect::to("/pemeliharaan").into_response()
        }
        Err(Ok(i @ Invalid::NoWindow(_))) => {
            PageError::new(a.lang, StatusCode::NOT_FOUND, i.to_string()).into_response()
        }
        Err(Ok(i)) => refused(&a, &i.to_string()),
        Err(Err(e)) => a.internal(&e).into_response(),
    }
}
