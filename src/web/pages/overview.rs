//! Ringkasan: each path's state and reason, today's quota, recent incidents.

use std::sync::Arc;

use askama::Template;
use axum::extract::State as AxState;
use axum::response::Response;

use crate::web::dashboard::{Authed, Chrome, Dash, current, render};
use crate::web::i18n::{Text, wib};
use crate::web::pages::incident::AckView;
use crate::web::pages::trace::TraceView;

pub struct PathRow {
    pub path: String,
    pub state: &'static str,
    pub label: &'static str,
    pub reason: String,
    pub routes: Vec<RouteRow>,
    /// The latest trace of this path, if any in the last 7 days.
    pub trace: Option<TraceView>,
}

pub struct RouteRow {
    pub name: String,
    pub state: &'static str,
    pub label: &'static str,
    pub best: bool,
}

pub struct IncidentRow {
    pub id: i64,
    pub subject: String,
    pub state: String,
    pub label: &'static str,
    pub reason: String,
    pub started: String,
    pub ended: Option<String>,
    /// Traces run while the incident was open.
    pub traces: Vec<TraceView>,
    /// Who acknowledged it and when.
    pub ack: Option<AckView>,
    /// Whether a cause is recorded.
    pub has_cause: bool,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct Page {
    pub c: Chrome,
    pub t: &'static Text,
    pub paths: Vec<PathRow>,
    pub quota_limit: Option<u64>,
    pub quota_used: u64,
    pub quota_pct: u64,
    pub quota_left: u64,
    pub incidents: Vec<IncidentRow>,
    pub incidents_error: bool,
    pub updated: String,
    /// Whether this user may run a path trace (technicians and admins).
    pub may_trace: bool,
}

pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed) -> Response {
    let t = a.t();
    let verdicts = dash.shared.verdicts();
    let status = current(&dash, a.lang);
    let now = super::now_s();
    let traces = super::with_store(&dash.cfg.state_dir, move |s| {
        s.traces(now - 7 * 86_400, 200)
    })
    .await
    .unwrap_or_default();
    let paths = verdicts
        .iter()
        .map(|v| PathRow {
            path: v.path.to_string(),
            state: v.state.as_str(),
            label: a.lang.state(v.state),
            reason: v.reason().to_string(),
            routes: v
                .routes
                .iter()
                .enumerate()
                .map(|(i, r)| RouteRow {
                    name: r.route.clone(),
                    state: r.state.as_str(),
                    label: a.lang.state(r.state),
                    best: v.best == Some(i),
                })
                .collect(),
            trace: traces
                .iter()
                .find(|t| t.subject == v.path.as_str())
                .map(TraceView::of),
        })
        .collect();
    let incidents = super::with_store(&dash.cfg.state_dir, move |s| {
        let mut list = s.incidents(now - 7 * 86_400, now + 60)?;
        list.truncate(20);
        let ids: Vec<i64> = list.iter().map(|i| i.id).collect();
        Ok((list, s.handlings(&ids)?))
    })
    .await;
    let incidents_error = incidents.is_err();
    let (incidents, mut handlings) = incidents.unwrap_or_default();
    let incidents = incidents
        .into_iter()
        .map(|i| {
            let h = handlings.remove(&i.id).unwrap_or_default();
            let st = match i.state.as_str() {
                "healthy" => crate::health::State::Healthy,
                "degraded" => crate::health::State::Degraded,
                "down" => crate::health::State::Down,
                _ => crate::health::State::Unknown,
            };
            IncidentRow {
                id: i.id,
                ack: h.ack.as_ref().map(AckView::of),
                has_cause: h.cause().is_some(),
                subject: i.subject,
                label: a.lang.state(st),
                state: i.state,
                reason: i.reason,
                started: wib(i.started_s),
                ended: i.ended_s.map(wib),
                traces: traces
                    .iter()
                    .filter(|t| t.incident_id == Some(i.id))
                    .map(TraceView::of)
                    .collect(),
            }
        })
        .collect();
    let (quota_limit, quota_used) = dash.quota();
    let quota_pct = quota_limit.map_or(0, |l| {
        (quota_used * 100).checked_div(l).unwrap_or(0).min(100)
    });
    render(&Page {
        c: a.chrome("overview", t.nav_overview),
        t,
        paths,
        quota_limit,
        quota_used,
        quota_pct,
        quota_left: quota_limit.map_or(0, |l| l.saturating_sub(quota_used)),
        incidents,
        incidents_error,
        updated: status.updated,
        may_trace: a.user().may_trace(),
    })
}
