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
    /// "Pemeliharaan terjadwal sampai ..." inside a declared window.
    pub maintenance: Option<String>,
    /// The route that carries the path's traffic and since when (`14.05 WIB`), for the path
    /// the gate forwards on.
    pub active: Option<(String, String)>,
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

/// A notifier whose oldest waiting message has failed [`crate::notify::FAILING_AFTER`] times.
pub struct NotifyRow {
    pub notifier: String,
    pub attempts: u32,
    pub pending: u64,
    pub error: String,
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
    /// Notifiers that keep failing.
    pub notify_failing: Vec<NotifyRow>,
    pub agreement: AgreementView,
}

/// The agreement (PKS) as the Ringkasan shows it: its period and whether renewal is due
/// (Juknis VI.F), each application's PoC (II.D), and whom to call (VI.B).
pub struct AgreementView {
    pub pks: String,
    pub period: String,
    /// `ok`, `renew` (within two months of the end) or `ended`/`not_yet`.
    pub state: &'static str,
    /// What to do, when anything: "ajukan perpanjangan ...".
    pub warning: Option<String>,
    pub applications: Vec<(String, String, bool)>,
    pub contacts: Vec<(String, String, String)>,
    /// The semester report owed now, from the semester's end to its deadline (Juknis V.C).
    pub report_due: Option<String>,
}

/// The semester report owed on `today`: the last semester has ended and its deadline (10
/// working days after, holidays and cuti bersama counted) has not passed.
pub fn report_due(text: &Text, today: chrono::NaiveDate) -> Option<String> {
    use crate::report::calendar::{Semester, date_with_weekday};
    use chrono::Datelike;
    let last = if today.month() <= 6 {
        Semester::new(today.year() - 1, 2)
    } else {
        Semester::new(today.year(), 1)
    }
    .ok()?;
    let calendar = crate::report::holidays::Calendar::embedded().ok()?;
    let deadline = calendar.report_deadline(last.last_day());
    (today > last.last_day() && today <= deadline.date).then(|| {
        format!(
            "{} {} {} {} {} {}",
            text.report_due_1,
            last.roman(),
            last.year(),
            text.report_due_2,
            date_with_weekday(deadline.date),
            text.report_due_3
        )
    })
}

impl AgreementView {
    pub fn of(
        t: &crate::topology::Topology,
        text: &'static Text,
        today: chrono::NaiveDate,
    ) -> Self {
        use crate::report::calendar::date_long;
        use crate::topology::Party;
        let a = &t.agreement;
        let pks = [a.pks_dukcapil.as_deref(), a.pks_opd.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" / ");
        let period = match (a.start, a.end) {
            (Some(s), Some(e)) => format!("{} – {}", date_long(s), date_long(e)),
            (Some(s), None) => format!("{} {}", text.agreement_from, date_long(s)),
            (None, Some(e)) => format!("{} {}", text.agreement_until, date_long(e)),
            (None, None) => text.agreement_no_dates.to_owned(),
        };
        let (state, warning) = match (a.start, a.end) {
            (Some(s), _) if today < s => (
                "not_yet",
                Some(format!("{} {}", text.agreement_not_yet, date_long(s))),
            ),
            (_, Some(e)) if today > e => (
                "ended",
                Some(format!("{} {}.", text.agreement_ended, date_long(e))),
            ),
            (_, Some(e)) if a.renewal_due(today) => (
                "renew",
                Some(format!(
                    "{} {}. {}",
                    text.agreement_ends,
                    date_long(e),
                    text.agreement_renew
                )),
            ),
            _ => ("ok", None),
        };
        let applications = t
            .applications()
            .map(|n| {
                let poc = match &n.poc {
                    Some(p) if p.done => {
                        let mut w = text.poc_passed.to_owned();
                        if let Some(l) = &p.letter {
                            w.push_str(&format!(" ({l}"));
                            if let Some(d) = p.date {
                                w.push_str(&format!(", {}", date_long(d)));
                            }
                            w.push(')');
                        }
                        w
                    }
                    _ => text.poc_pending.to_owned(),
                };
                (n.name.clone(), poc, n.poc_passed())
            })
            .collect();
        let contacts = a
            .contacts
            .iter()
            .map(|c| {
                let party = match c.party {
                    Party::Opd => "OPD",
                    Party::Diskominfo => "Diskominfo",
                    Party::Disdukcapil => "Disdukcapil",
                    Party::Ditjen => "Ditjen Dukcapil",
                };
                let who = match &c.role {
                    Some(r) => format!("{} ({r})", c.name),
                    None => c.name.clone(),
                };
                (party.to_owned(), who, c.phone.clone().unwrap_or_default())
            })
            .collect();
        AgreementView {
            pks,
            period,
            state,
            warning,
            applications,
            contacts,
            report_due: report_due(text, today),
        }
    }
}

pub async fn page(AxState(dash): AxState<Arc<Dash>>, a: Authed) -> Response {
    let t = a.t();
    let verdicts = dash.shared.verdicts();
    let topology = dash.shared.topology();
    let status = current(&dash, a.lang);
    let now = super::now_s();
    let traces = super::with_store(&dash.cfg.state_dir, move |s| {
        s.traces(now - 7 * 86_400, 200)
    })
    .await
    .unwrap_or_default();
    let active = dash.cfg.gate.as_ref().map(crate::gate::Gate::active_route);
    let paths = verdicts
        .iter()
        .map(|v| PathRow {
            maintenance: super::status::maintenance_now(&topology, v.path.as_str(), a.lang.text()),
            active: active
                .as_ref()
                .filter(|a| a.path == v.path)
                .map(|a| (a.route.clone(), crate::web::i18n::wib_hhmm(a.since))),
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
    let notify_failing = match dash.cfg.notify.clone() {
        Some(q) => tokio::task::spawn_blocking(move || q.status())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .filter(|s| s.failed_attempts >= crate::notify::FAILING_AFTER)
            .map(|s| NotifyRow {
                notifier: s.notifier,
                attempts: s.failed_attempts,
                pending: s.pending,
                error: s.last_error.unwrap_or_default(),
            })
            .collect(),
        None => Vec::new(),
    };
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
        notify_failing,
        agreement: AgreementView::of(
            &topology,
            t,
            crate::gate::quota::wib_day(chrono::Utc::now()),
        ),
    })
}

#[cfg(test)]
mod report_due_tests {
    use super::report_due;
    use crate::web::i18n::ID;

    fn d(s: &str) -> chrono::NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn the_report_is_owed_from_the_semesters_end_to_its_deadline() {
        assert_eq!(report_due(&ID, d("2026-12-31")), None, "semester not over");
        let due = report_due(&ID, d("2027-01-01")).expect("owed");
        assert!(
            due.starts_with("Laporan pemanfaatan semester II 2026"),
            "{due}"
        );
        assert!(due.contains("Senin, 18 Januari 2027"), "{due}");
        assert!(report_due(&ID, d("2027-01-18")).is_some(), "the last day");
        assert_eq!(report_due(&ID, d("2027-01-19")), None, "past the deadline");
        let first = report_due(&ID, d("2026-07-01")).expect("semester I owed");
        assert!(first.contains("semester I 2026"), "{first}");
        assert_eq!(report_due(&ID, d("2026-09-01")), None);
    }
}
