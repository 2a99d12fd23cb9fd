//! The "Telusuri jalur" button: a path trace on demand (technicians and admins), run within the
//! probe budget, kept with the path's open incident, and its rows for the overview page.

use std::sync::Arc;

use axum::Form;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::probe::trace::{self, Trace};
use crate::store::StoredTrace;
use crate::web::dashboard::{Authed, Dash, PageError};
use crate::web::i18n::wib;

/// Bytes a dashboard trace may spend when the topology does not say what its link allows.
const BUDGET_WITHOUT_LINK: u64 = 64 * 1024;

#[derive(Deserialize)]
pub struct TraceForm {
    pub csrf: Option<String>,
    pub path: String,
}

/// One kept trace, for a template.
pub struct TraceView {
    pub subject: String,
    pub when: String,
    pub by: String,
    pub summary: String,
    pub hops: Vec<HopRow>,
}

pub struct HopRow {
    pub ttl: u8,
    pub addr: String,
    pub loss: String,
    pub p50: String,
    pub max: String,
    pub note: String,
}

impl TraceView {
    pub fn of(t: &StoredTrace) -> TraceView {
        let hops = serde_json::from_str::<Trace>(&t.trace_json)
            .map(|tr| {
                tr.hops
                    .iter()
                    .map(|h| HopRow {
                        ttl: h.ttl,
                        addr: h
                            .addrs
                            .first()
                            .map_or_else(|| "*".to_string(), ToString::to_string),
                        loss: format!("{:.0}%", h.loss_ratio * 100.0),
                        p50: h
                            .rtt
                            .as_ref()
                            .map_or_else(|| "-".into(), |r| format!("{:.1}", r.p50_ms)),
                        max: h
                            .rtt
                            .as_ref()
                            .map_or_else(|| "-".into(), |r| format!("{:.1}", r.max_ms)),
                        note: h.note.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        TraceView {
            subject: t.subject.clone(),
            when: wib(t.started_s),
            by: t.requested_by.clone(),
            summary: t.summary.clone(),
            hops,
        }
    }
}

/// `POST /telusuri`: trace a declared path now, keep it, and go back to the overview.
pub async fn run(
    AxState(dash): AxState<Arc<Dash>>,
    a: Authed,
    Form(f): Form<TraceForm>,
) -> Response {
    if let Err(e) = a.check_csrf(f.csrf.as_deref()) {
        return e.into_response();
    }
    if !a.user().may_trace() {
        return a.forbidden().into_response();
    }
    let topology = dash.shared.topology();
    let planned = trace::for_path(&topology, &f.path, None, None).and_then(|(cfg, route)| {
        let budget = route.hops.last().map_or(BUDGET_WITHOUT_LINK, |service| {
            trace::budget_bytes(&topology, service, BUDGET_WITHOUT_LINK)
        });
        cfg.within(budget).map(|cfg| (cfg, route.clone()))
    });
    let (cfg, route) = match planned {
        Ok(v) => v,
        Err(e) => {
            return PageError::new(
                a.lang,
                StatusCode::BAD_REQUEST,
                format!("{}: {e}", a.t().trace_failed),
            )
            .into_response();
        }
    };
    let user = a.user().name.clone();
    let path = f.path.clone();
    tracing::info!(user = %user, path = %path, rounds = cfg.rounds, "path trace requested");
    let state_dir = dash.cfg.state_dir.clone();
    let traced = tokio::task::spawn_blocking(move || {
        let mut t = trace::run(&cfg, Some((&topology, &route))).map_err(|e| e.to_string())?;
        t.path = Some(path.clone());
        let json = serde_json::to_string(&t).map_err(|e| e.to_string())?;
        let mut store =
            crate::store::Store::open(&state_dir.join("juknis.db")).map_err(|e| e.to_string())?;
        store
            .insert_trace(&path, t.started_unix_ms / 1000, &user, &t.summary, &json)
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(t)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    match traced {
        Ok(t) => {
            tracing::info!(path = %f.path, reached = t.reached, summary = %t.summary, "path trace kept");
            Redirect::to(&format!("/#trace-{}", f.path)).into_response()
        }
        Err(e) => {
            tracing::warn!(path = %f.path, error = %e, "path trace failed");
            PageError::new(
                a.lang,
                StatusCode::SERVICE_UNAVAILABLE,
                format!("{}: {e}", a.t().trace_failed),
            )
            .into_response()
        }
    }
}
