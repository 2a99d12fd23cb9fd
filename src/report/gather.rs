//! Gather the semester report's [`Facts`] from the topology and the appliance's state dir.
//! Every database is opened read-only; nothing in the state dir is created or changed, and no
//! NIK is read (the audit log is counted, the zero-storage scan counts).

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};

use super::calendar::Semester;
use super::holidays::Calendar;
use super::scan;
use super::semester::{AuditCheck, Availability, Facts, Incident, Subject};
use crate::gate::{audit, quota};
use crate::store::{self, Store};
use crate::topology::{NodeId, Topology, maintenance};

/// The store's file in the state dir (as `juknis serve` names it).
pub const STORE_FILE: &str = "juknis.db";

/// Rollup resolution the availability is read from (hourly rollups are kept two years).
const HOUR: i64 = 3600;

/// Why the facts could not be gathered.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("state dir {0} does not exist or is not a folder")]
    NoStateDir(PathBuf),
    #[error(transparent)]
    Audit(#[from] audit::Error),
    #[error(transparent)]
    Quota(#[from] quota::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error(transparent)]
    Outbox(#[from] crate::outbox::Error),
    #[error(transparent)]
    Scan(#[from] scan::ChildError),
}

/// Whether a state-dir file belongs to the outbox's database, which holds pending data
/// balikan (the OPD's own aid recipients' NIKs) by design and is left out of the scan.
pub fn is_outbox_db(rel: &str) -> bool {
    let db = crate::outbox::DB_FILE;
    rel == db
        || rel
            .strip_prefix(db)
            .is_some_and(|s| matches!(s, "-wal" | "-shm" | "-journal"))
}

/// Gather the facts of `semester` as of `now`, scanning in this process (a process that holds
/// none of the state dir's files open: `juknis report`).
pub fn gather(
    t: &Topology,
    state_dir: &Path,
    semester: Semester,
    now: DateTime<Utc>,
    holidays: &Calendar,
) -> Result<Facts, Error> {
    gather_with(
        t,
        state_dir,
        semester,
        now,
        holidays,
        &scan::Isolation::InProcess,
    )
}

/// [`gather`] with the zero-storage scan run as `how` says: a process that serves from the
/// state dir scans in a child ([`scan::Isolation::Child`]).
pub fn gather_with(
    t: &Topology,
    state_dir: &Path,
    semester: Semester,
    now: DateTime<Utc>,
    holidays: &Calendar,
    how: &scan::Isolation,
) -> Result<Facts, Error> {
    if !state_dir.is_dir() {
        return Err(Error::NoStateDir(state_dir.to_path_buf()));
    }
    let mut with_made = t.clone();
    add_made_windows(&mut with_made, state_dir)?;
    let t = &with_made;
    let (from, to) = semester.bounds();
    let lookups = audit::tally(state_dir, from, to)?;
    let quota_days = quota::history(state_dir, semester.first_day(), semester.last_day())?;
    let (availability, incidents) = network(t, state_dir, from.timestamp(), to.timestamp())?;
    let balikan =
        crate::outbox::period_counts(state_dir, from.timestamp_millis(), to.timestamp_millis())?;
    let audit = match audit::verify(state_dir) {
        Ok(r) if r.intact() => AuditCheck::Intact { entries: r.entries },
        Ok(r) => AuditCheck::Broken {
            entries: r.entries,
            problems: r.problems,
        },
        Err(audit::Error::Missing { .. }) => AuditCheck::Missing,
        Err(e) => AuditCheck::Unreadable(e.to_string()),
    };
    let scan = scan::scan_state(state_dir, &is_outbox_db, how)?;
    let deadline = holidays.report_deadline(semester.last_day());
    let years: std::collections::BTreeSet<i32> = semester
        .last_day()
        .iter_days()
        .skip(1)
        .take_while(|d| *d <= deadline.date)
        .map(|d| chrono::Datelike::year(&d))
        .collect();
    Ok(Facts {
        semester,
        generated_at: now,
        agreement: t.agreement.clone(),
        applications: t
            .applications()
            .map(|n| super::semester::Application {
                name: n.name.clone(),
                poc: n.poc.clone(),
            })
            .collect(),
        card_readers: t
            .nodes
            .iter()
            .filter(|n| n.kind == crate::topology::NodeKind::CardReader)
            .map(|n| n.name.clone())
            .collect(),
        lookups,
        quota_days,
        availability,
        incidents,
        balikan,
        audit,
        scan,
        scan_exclusion_reason: format!(
            "Basis data antrean data balikan ({}) tidak dipindai: berkas itu memang menyimpan \
             NIK penerima bantuan milik OPD sendiri yang menunggu dikirim sebagai data balikan \
             (Juknis III) dan menghapusnya setelah diterima layanan.",
            crate::outbox::DB_FILE
        ),
        deadline,
        holiday_years: years
            .into_iter()
            .map(|y| (y, holidays.year(y).cloned()))
            .collect(),
    })
}

fn node_name(t: &Topology, id: &NodeId) -> String {
    t.node(id)
        .map(|n| n.name.clone())
        .unwrap_or_else(|| id.to_string())
}

/// Availability per path and contracted link, and the path incidents, from `juknis.db`.
/// Add the maintenance windows made on the dashboard (kept in `state_dir`'s store) to `t`'s
/// schedule, as `serve` does, so that a report counts them as planned too.
pub fn add_made_windows(t: &mut Topology, state_dir: &Path) -> Result<(), Error> {
    let db = state_dir.join(STORE_FILE);
    if !db.exists() {
        return Ok(());
    }
    let s = Store::open_read_only(&db)?;
    // Before version 7 the store had no such windows.
    if s.version()? >= 7 {
        t.maintenance.made = crate::store::in_force(&s.made_windows()?);
    }
    Ok(())
}

pub fn network(
    t: &Topology,
    state_dir: &Path,
    from_s: i64,
    to_s: i64,
) -> Result<(Vec<Availability>, Vec<Incident>), Error> {
    let db = state_dir.join(STORE_FILE);
    let store = if db.exists() {
        let s = Store::open_read_only(&db)?;
        (s.version()? >= 1).then_some(s)
    } else {
        None
    };
    // Rounds of `node` in the period outside `planned` (hours that touch a window left out).
    let rounds = |node: &NodeId, planned: &[(i64, i64)]| -> Result<(u64, u64), Error> {
        let Some(s) = &store else {
            return Ok((0, 0));
        };
        let (mut r, mut ok) = (0, 0);
        for (a, b) in outside(from_s, to_s, planned) {
            let (x, y) = s.rounds(HOUR, node.as_str(), a, b)?;
            r += x;
            ok += y;
        }
        Ok((r, ok))
    };
    let at = |s: i64| Utc.timestamp_opt(s, 0).single().unwrap_or_default();
    let planned = |subject: maintenance::Subject<'_>| -> Vec<(i64, i64)> {
        t.maintenance
            .planned(t, subject, at(from_s), at(to_s))
            .into_iter()
            .map(|(a, b)| (a.timestamp(), b.timestamp()))
            .collect()
    };
    let planned_s = |w: &[(i64, i64)]| -> i64 {
        w.iter()
            .map(|&(a, b)| (b.min(to_s) - a.max(from_s)).max(0))
            .sum()
    };
    let probed = |node: &NodeId| t.node(node).is_some_and(|n| !n.probes.is_empty());
    let mut out = Vec::new();
    for p in &t.paths {
        let windows = planned(maintenance::Subject::Path(p.id.as_str()));
        let (r, ok) = rounds(&p.service, &windows)?;
        out.push(Availability {
            subject: Subject::Path,
            id: p.id.to_string(),
            name: format!("{} ({})", node_name(t, &p.service), p.id),
            measured_at: (probed(&p.service) || r > 0).then(|| node_name(t, &p.service)),
            rounds: r,
            ok_rounds: ok,
            planned_s: planned_s(&windows),
        });
    }
    for l in t.contracted_links() {
        let windows = planned(maintenance::Subject::Link(l.id.as_str()));
        // The link's far end, then the hops behind it on the routes that use it: a hop that
        // answers means the link carried traffic.
        let behind = std::iter::once(l.to.clone()).chain(t.paths.iter().flat_map(|p| {
            p.routes.iter().flat_map(|r| {
                r.links
                    .iter()
                    .position(|x| x == &l.id)
                    .map(|i| r.hops[i + 1..].to_vec())
                    .unwrap_or_default()
            })
        }));
        // The first node behind it with rounds in the period; failing that, the first one
        // the topology probes (it has no data yet).
        let mut measured = None;
        for node in behind {
            let (r, ok) = rounds(&node, &windows)?;
            if r > 0 {
                measured = Some((node, r, ok));
                break;
            }
            if measured.is_none() && probed(&node) {
                measured = Some((node, 0, 0));
            }
        }
        let bw = l.bandwidth.map(|b| b.to_string()).unwrap_or_default();
        let name = match &l.provider {
            Some(p) => format!("{} ({bw}, {p})", l.id),
            None => format!("{} ({bw})", l.id),
        };
        out.push(match measured {
            Some((node, r, ok)) => Availability {
                subject: Subject::Link,
                id: l.id.to_string(),
                name,
                measured_at: Some(node_name(t, &node)),
                rounds: r,
                ok_rounds: ok,
                planned_s: planned_s(&windows),
            },
            None => Availability {
                subject: Subject::Link,
                id: l.id.to_string(),
                name,
                measured_at: None,
                rounds: 0,
                ok_rounds: 0,
                planned_s: planned_s(&windows),
            },
        });
    }
    let mut incidents = Vec::new();
    if let Some(s) = &store {
        let found = s.incidents_overlapping(from_s, to_s)?;
        let ids: Vec<i64> = found.iter().map(|i| i.id).collect();
        let mut handled = s.handlings(&ids)?;
        for i in found {
            let h = handled.remove(&i.id).unwrap_or_default();
            let cause = h.cause();
            let subject = match t.path(&crate::topology::PathId::new(i.subject.clone())) {
                Some(p) => format!("{} ({})", node_name(t, &p.service), p.id),
                None => i.subject.clone(),
            };
            incidents.push(Incident {
                subject,
                state: i.state,
                reason: i.reason,
                started: at(i.started_s),
                ended: i.ended_s.map(at),
                cause: cause.map(|n| n.text.clone()),
                ticket: cause.and_then(|n| n.ticket.clone()),
            });
        }
    }
    Ok((out, incidents))
}

/// The parts of `[from, to)` outside the `planned` windows, each window widened to whole hours
/// (the rollups' buckets): an hour that touches planned work is not counted either way.
pub fn outside(from: i64, to: i64, planned: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut cut: Vec<(i64, i64)> = planned
        .iter()
        .map(|&(a, b)| {
            (
                a - a.rem_euclid(HOUR),
                b + (HOUR - b.rem_euclid(HOUR)) % HOUR,
            )
        })
        .collect();
    cut.sort_unstable();
    let mut out = Vec::new();
    let mut at = from;
    for (a, b) in cut {
        if a > at {
            out.push((at, a.min(to)));
        }
        at = at.max(b);
        if at >= to {
            break;
        }
    }
    if at < to {
        out.push((at, to));
    }
    out.retain(|(a, b)| a < b);
    out
}
