//! The public status page (`/status`, no log-in), for a screen at the service counter: whether
//! each Dukcapil service can be reached now and since when it cannot, and today's quota left.
//! It shows no NIK, no address and no technical cause (those stay behind the log-in).

use std::sync::Arc;

use askama::Template;
use axum::extract::State as AxState;
use axum::response::Response;

use crate::health::State;
use crate::topology::{NodeKind as Kind, ServiceKind};
use crate::web::dashboard::{Ctx, Dash, render};
use crate::web::i18n::{Text, wib};

pub struct Service {
    pub name: String,
    /// The CSS state class: healthy, degraded, down, unknown.
    pub state: &'static str,
    pub word: &'static str,
    /// "sejak 2026-12-04 10:42:07 WIB" while it is not available.
    pub since: Option<String>,
    /// "Pemeliharaan terjadwal sampai 02.00 WIB: <note>" inside a declared window.
    pub maintenance: Option<String>,
}

#[derive(Template)]
#[template(path = "status.html")]
pub struct Page {
    pub t: &'static Text,
    pub lang: &'static str,
    pub other_lang: &'static str,
    pub opd: String,
    pub services: Vec<Service>,
    pub quota: Option<(u64, u64)>,
    pub updated: String,
}

pub async fn page(AxState(dash): AxState<Arc<Dash>>, ctx: Ctx) -> Response {
    let t = ctx.lang.text();
    let topology = dash.shared.topology();
    let verdicts = dash.shared.verdicts();
    let now = super::now_s();
    // Open incidents give the "since"; an unreadable store only loses that line.
    let open = super::with_store(&dash.cfg.state_dir, move |s| s.incidents(now, now + 1))
        .await
        .unwrap_or_default();
    let services = verdicts
        .iter()
        .map(|v| {
            let path = topology.path(&v.path);
            let kind = path
                .and_then(|p| topology.node(&p.service))
                .map(|n| (n.kind, n.name.clone()));
            let name = match kind {
                Some((Kind::Service(ServiceKind::WebPortal), _)) => t.status_lookup.to_owned(),
                Some((Kind::Service(ServiceKind::DataBalikan), _)) => t.status_balikan.to_owned(),
                Some((_, name)) => name,
                None => v.path.to_string(),
            };
            let word = match v.state {
                State::Healthy => t.status_up,
                State::Degraded => t.status_degraded,
                State::Down => t.status_down,
                State::Unknown => t.status_unknown,
            };
            let since = (v.state != State::Healthy)
                .then(|| {
                    open.iter()
                        .find(|i| i.subject == v.path.as_str() && i.ended_s.is_none())
                        .map(|i| format!("{} {}", t.status_since, wib(i.started_s)))
                })
                .flatten();
            let maintenance = maintenance_now(&topology, v.path.as_str(), t);
            Service {
                name,
                state: v.state.as_str(),
                word,
                since,
                maintenance,
            }
        })
        .collect();
    let (limit, used) = dash.quota();
    render(&Page {
        t,
        lang: ctx.lang.code(),
        other_lang: match ctx.lang {
            crate::web::i18n::Lang::Id => "en",
            crate::web::i18n::Lang::En => "id",
        },
        opd: topology.agreement.opd.clone(),
        services,
        quota: limit.map(|l| (l.saturating_sub(used), l)),
        updated: wib(now),
    })
}

/// "Pemeliharaan terjadwal sampai 02.00 WIB (note)" when `path` is inside a declared window now.
pub fn maintenance_now(
    topology: &crate::topology::Topology,
    path: &str,
    t: &'static Text,
) -> Option<String> {
    use crate::topology::maintenance::Subject;
    topology
        .maintenance
        .active(topology, Subject::Path(path), chrono::Utc::now())
        .map(|(w, end)| {
            format!(
                "{} {} ({})",
                t.maintenance_until,
                wib(end.timestamp()),
                w.note
            )
        })
}
