//! What the semester report finds, as data: the figures (look-ups per month, status and caller,
//! quota use, availability, incidents, data balikan) and the compliance checks with their
//! verdicts, computed from the [`Facts`] before a word of prose is written. Tests assert on
//! these; `build` renders them. Pure: no IO, no clock.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};

use super::{AuditCheck, Facts, Subject, clipped};
use crate::gate::audit::{Problem, Tally};
use crate::outbox::PeriodCounts;
use crate::report::calendar::wib_day;
use crate::topology::Quota;

/// What a compliance check checks: the duties of the Juknis the appliance can see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Every look-up is recorded, in a log whose hash chain is whole (Juknis II.E.3).
    AuditChain,
    /// No population data is kept on the appliance (zero storage, Juknis II.E.2).
    ZeroStorage,
    /// The daily quota before the PoC was never exceeded (Juknis II.B.1).
    DailyQuota,
}

impl Rule {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Rule::AuditChain => "Keutuhan log audit akses (rantai hash)",
            Rule::ZeroStorage => "Tidak ada penyimpanan data kependudukan (zero storage)",
            Rule::DailyQuota => "Kuota harian tidak terlampaui",
        }
    }

    /// The item of the Juknis it stands for.
    pub fn juknis(self) -> &'static str {
        match self {
            Rule::AuditChain => "II.E.3",
            Rule::ZeroStorage => "II.E.2",
            Rule::DailyQuota => "II.B.1",
        }
    }
}

/// Whether the OPD kept a rule, in the words of the report's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Kept.
    Sesuai,
    /// Not kept, and why.
    TidakSesuai(Reason),
    /// The appliance has nothing to judge by, and why.
    TidakDapatDitentukan(Reason),
}

impl Verdict {
    /// Its word in the report.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Sesuai => "Sesuai",
            Verdict::TidakSesuai(_) => "Tidak sesuai",
            Verdict::TidakDapatDitentukan(_) => "Tidak dapat ditentukan",
        }
    }

    pub fn kept(&self) -> bool {
        matches!(self, Verdict::Sesuai)
    }

    /// Why the rule was not kept or could not be judged.
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Verdict::Sesuai => None,
            Verdict::TidakSesuai(r) | Verdict::TidakDapatDitentukan(r) => Some(r),
        }
    }
}

/// Why a check did not pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The audit log's hash chain has these problems.
    ChainBroken { problems: Vec<Problem> },
    /// The audit log is there but could not be read.
    AuditUnreadable { why: String },
    /// There is no audit log, yet the quota counter shows look-ups spent: they went
    /// unrecorded, or their record was removed.
    LookupsUnrecorded { spent: u64 },
    /// There is no audit log and nothing shows a look-up: there is no chain to verify.
    NoAuditLog,
    /// Files holding NIK-shaped runs (path, how many), and files the scan could not read
    /// (what cannot be read cannot be cleared).
    DataStored {
        files: Vec<(String, u64)>,
        unreadable: Vec<String>,
    },
    /// The days whose use went past the limit, each with the higher of the gate's counter
    /// and the audit log's forwarded count.
    OverLimit {
        limit: u64,
        days: Vec<(NaiveDate, u64)>,
    },
}

/// What a check measured, whatever its verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    AuditIntact {
        entries: u64,
    },
    AuditBroken {
        entries: u64,
        problems: u64,
    },
    /// No audit log; `lookups` is what else shows look-ups (the quota counter).
    AuditMissing {
        lookups: u64,
    },
    AuditUnreadable {
        why: String,
    },
    /// The state dir's scan: NIK-shaped runs found, over how many files and bytes, and the
    /// files it could not read.
    Scanned {
        hits: u64,
        files: u64,
        bytes: u64,
        unreadable: Vec<String>,
    },
    /// No daily limit (the PoC is passed and the agreement says unlimited).
    QuotaUnlimited,
    QuotaUnused {
        limit: u64,
    },
    QuotaWithin {
        limit: u64,
        peak_day: NaiveDate,
        peak: u64,
    },
    QuotaOver {
        limit: u64,
        days: u64,
    },
}

/// One check: the rule, the verdict, and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub rule: Rule,
    pub verdict: Verdict,
    pub finding: Finding,
}

/// Look-up counts of one day, month, caller or the whole semester.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: u64,
    /// Sent on to Dukcapil.
    pub forwarded: u64,
    /// Answered with data.
    pub found: u64,
    /// Held by the gate because the day's quota was spent.
    pub refused_quota: u64,
}

impl Counts {
    /// Look-ups the gate did not send (refused by a rule, the quota or a broken path).
    pub fn not_sent(&self) -> u64 {
        self.total - self.forwarded
    }

    fn add(&mut self, t: &Tally) {
        self.total += t.count;
        if t.forwarded {
            self.forwarded += t.count;
        }
        if t.status == "found" {
            self.found += t.count;
        }
        if t.status == "quota_exhausted" && !t.forwarded {
            self.refused_quota += t.count;
        }
    }
}

/// One calendar month of the semester.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    pub month: u32,
    pub counts: Counts,
    /// Days with at least one look-up.
    pub active_days: u64,
}

/// Look-ups with one status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusCount {
    /// The audit log's status code (`found`, `quota_exhausted`, ...).
    pub status: String,
    /// Whether Dukcapil gave it (the gate refuses with some of the same codes).
    pub forwarded: bool,
    pub count: u64,
}

/// One operator's or application's look-ups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerCount {
    /// `operator` or `application`.
    pub kind: String,
    pub name: String,
    pub counts: Counts,
    pub active_days: u64,
}

/// The look-ups of the audit log, summed every way the report shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lookups {
    /// Whether there is an audit log to count from.
    pub recorded: bool,
    pub counts: Counts,
    pub days: BTreeMap<NaiveDate, Counts>,
    /// Each month of the semester up to the report, the months without look-ups too.
    pub months: Vec<Month>,
    /// Found first, then the most frequent.
    pub statuses: Vec<StatusCount>,
    /// Operators first, then applications, each the busiest first.
    pub callers: Vec<CallerCount>,
}

impl Lookups {
    fn of(f: &Facts) -> Lookups {
        let tallies = f.lookups.as_deref().unwrap_or_default();
        let mut counts = Counts::default();
        let mut days: BTreeMap<NaiveDate, Counts> = BTreeMap::new();
        let mut statuses: BTreeMap<(String, bool), u64> = BTreeMap::new();
        let mut callers: BTreeMap<(String, String), (Counts, BTreeSet<NaiveDate>)> =
            BTreeMap::new();
        for t in tallies {
            counts.add(t);
            days.entry(t.day).or_default().add(t);
            let c = callers
                .entry((t.caller_kind.clone(), t.caller.clone()))
                .or_default();
            c.0.add(t);
            c.1.insert(t.day);
            *statuses.entry((t.status.clone(), t.forwarded)).or_default() += t.count;
        }
        let mut statuses: Vec<StatusCount> = statuses
            .into_iter()
            .map(|((status, forwarded), count)| StatusCount {
                status,
                forwarded,
                count,
            })
            .collect();
        statuses.sort_by(|a, b| {
            (a.status != "found")
                .cmp(&(b.status != "found"))
                .then(b.count.cmp(&a.count))
                .then((&a.status, a.forwarded).cmp(&(&b.status, b.forwarded)))
        });
        let mut callers: Vec<CallerCount> = callers
            .into_iter()
            .map(|((kind, name), (counts, d))| CallerCount {
                kind,
                name,
                counts,
                active_days: d.len() as u64,
            })
            .collect();
        callers.sort_by(|a, b| {
            (a.kind != "operator")
                .cmp(&(b.kind != "operator"))
                .then(b.counts.total.cmp(&a.counts.total))
                .then(a.name.cmp(&b.name))
        });
        let months = months(f, &days);
        Lookups {
            recorded: f.lookups.is_some(),
            counts,
            days,
            months,
            statuses,
            callers,
        }
    }

    /// Distinct callers of `kind` (`operator`, `application`).
    pub fn callers_of(&self, kind: &str) -> usize {
        self.callers.iter().filter(|c| c.kind == kind).count()
    }
}

/// The months of the semester up to the report (all six once it has ended).
fn months(f: &Facts, days: &BTreeMap<NaiveDate, Counts>) -> Vec<Month> {
    let sem = f.semester;
    let first = sem.first_day().month();
    let last = if f.generated_at < sem.bounds().1 {
        wib_day(f.generated_at).month().clamp(first, first + 5)
    } else {
        first + 5
    };
    (first..=last)
        .map(|m| {
            let mut counts = Counts::default();
            let mut active_days = 0;
            for (_, c) in days
                .iter()
                .filter(|(d, _)| d.year() == sem.year() && d.month() == m)
            {
                counts.total += c.total;
                counts.forwarded += c.forwarded;
                counts.found += c.found;
                counts.refused_quota += c.refused_quota;
                active_days += 1;
            }
            Month {
                year: sem.year(),
                month: m,
                counts,
                active_days,
            }
        })
        .collect()
}

/// How the daily quota was used over the semester: from the gate's counter, cross-checked
/// with the audit log's forwarded count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaUse {
    /// Days with at least one look-up spent.
    pub active_days: u64,
    /// Look-ups spent.
    pub total: u64,
    /// The busiest day and its count (the earliest of equals).
    pub peak: Option<(NaiveDate, u64)>,
    /// Days the limit was reached.
    pub at_limit: u64,
    /// Days it was exceeded (by the gate's counter or the audit log's forwarded count),
    /// each with the higher of the two.
    pub over: Vec<(NaiveDate, u64)>,
    /// Days with look-ups refused for the quota, and how many.
    pub refused_days: u64,
    pub refused: u64,
}

impl QuotaUse {
    /// How many days went past the limit.
    pub fn over_limit(&self) -> u64 {
        self.over.len() as u64
    }

    fn of(f: &Facts, l: &Lookups, limit: Option<u64>) -> QuotaUse {
        // The gate's counter where it exists; the audit log's forwarded count otherwise.
        let per_day: BTreeMap<NaiveDate, u64> = match &f.quota_days {
            Some(d) if !d.is_empty() => d.iter().copied().filter(|(_, u)| *u > 0).collect(),
            _ => l
                .days
                .iter()
                .filter(|(_, d)| d.forwarded > 0)
                .map(|(k, d)| (*k, d.forwarded))
                .collect(),
        };
        let peak = per_day
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(d, u)| (*d, *u));
        // Exceeding is judged on both records: a day counts when either went past the limit.
        let mut both: BTreeMap<NaiveDate, u64> = per_day.clone();
        for (d, c) in &l.days {
            let u = both.entry(*d).or_default();
            *u = (*u).max(c.forwarded);
        }
        QuotaUse {
            active_days: per_day.len() as u64,
            total: per_day.values().sum(),
            peak,
            at_limit: limit.map_or(0, |l| per_day.values().filter(|u| **u >= l).count() as u64),
            over: both
                .into_iter()
                .filter(|(_, u)| limit.is_some_and(|l| *u > l))
                .collect(),
            refused_days: l.days.values().filter(|d| d.refused_quota > 0).count() as u64,
            refused: l.days.values().map(|d| d.refused_quota).sum(),
        }
    }
}

/// Availability of one path or link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uptime {
    pub subject: Subject,
    pub id: String,
    pub name: String,
    /// Successful rounds and all rounds outside planned maintenance.
    pub ok_rounds: u64,
    pub rounds: u64,
}

impl Uptime {
    /// The share of successful rounds; `None` without a single round.
    pub fn ratio(&self) -> Option<f64> {
        (self.rounds > 0).then(|| self.ok_rounds as f64 / self.rounds as f64)
    }
}

/// The path incidents of the semester.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Incidents {
    pub count: u64,
    /// Their total time within the semester as far as it has run, in seconds.
    pub seconds: i64,
    /// Those still going on when the report was made.
    pub open: u64,
    /// Those without a cause recorded by a technician.
    pub without_cause: u64,
}

/// The state of the audit log's hash chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chain {
    Intact {
        entries: u64,
    },
    Broken {
        entries: u64,
        problems: Vec<Problem>,
    },
    Missing,
    Unreadable {
        why: String,
    },
}

/// Everything the report concludes, before it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Findings {
    /// The daily limit; `None` when unlimited.
    pub limit: Option<u64>,
    pub lookups: Lookups,
    pub quota: QuotaUse,
    pub availability: Vec<Uptime>,
    pub incidents: Incidents,
    /// Data balikan counts; `None` without an outbox.
    pub balikan: Option<PeriodCounts>,
    pub chain: Chain,
    /// In the report's order: the audit chain, zero storage, the quota.
    pub checks: Vec<Check>,
}

impl Findings {
    /// The check of `rule`.
    pub fn check(&self, rule: Rule) -> Option<&Check> {
        self.checks.iter().find(|c| c.rule == rule)
    }

    /// Whether every check passed.
    pub fn compliant(&self) -> bool {
        self.checks.iter().all(|c| c.verdict.kept())
    }
}

/// What the report finds in `f`.
pub fn assess(f: &Facts) -> Findings {
    let limit = match f.agreement.quota {
        Quota::PerDay(l) => Some(u64::from(l)),
        Quota::Unlimited => None,
    };
    let lookups = Lookups::of(f);
    let quota = QuotaUse::of(f, &lookups, limit);
    let chain = match &f.audit {
        AuditCheck::Intact { entries } => Chain::Intact { entries: *entries },
        AuditCheck::Broken { entries, problems } => Chain::Broken {
            entries: *entries,
            problems: problems.clone(),
        },
        AuditCheck::Missing => Chain::Missing,
        AuditCheck::Unreadable(why) => Chain::Unreadable { why: why.clone() },
    };
    let checks = vec![
        audit_check(&chain, &lookups, &quota),
        zero_storage_check(f),
        quota_check(limit, &quota),
    ];
    Findings {
        limit,
        availability: f
            .availability
            .iter()
            .map(|a| Uptime {
                subject: a.subject,
                id: a.id.clone(),
                name: a.name.clone(),
                ok_rounds: a.ok_rounds,
                rounds: a.rounds,
            })
            .collect(),
        incidents: Incidents {
            count: f.incidents.len() as u64,
            seconds: f
                .incidents
                .iter()
                .map(|i| clipped(f, i.started, i.ended))
                .sum(),
            open: f.incidents.iter().filter(|i| i.ended.is_none()).count() as u64,
            without_cause: f.incidents.iter().filter(|i| i.cause.is_none()).count() as u64,
        },
        balikan: f.balikan,
        lookups,
        quota,
        chain,
        checks,
    }
}

/// The audit log: whole, and there whenever anything was looked up.
fn audit_check(chain: &Chain, lookups: &Lookups, quota: &QuotaUse) -> Check {
    let (verdict, finding) = match chain {
        Chain::Intact { entries } => (Verdict::Sesuai, Finding::AuditIntact { entries: *entries }),
        Chain::Broken { entries, problems } => (
            Verdict::TidakSesuai(Reason::ChainBroken {
                problems: problems.clone(),
            }),
            Finding::AuditBroken {
                entries: *entries,
                problems: problems.len() as u64,
            },
        ),
        Chain::Missing => {
            // Without the log only the quota counter can show that look-ups happened.
            let spent = lookups.counts.total.max(quota.total);
            (
                if spent == 0 {
                    Verdict::TidakDapatDitentukan(Reason::NoAuditLog)
                } else {
                    Verdict::TidakSesuai(Reason::LookupsUnrecorded { spent })
                },
                Finding::AuditMissing { lookups: spent },
            )
        }
        Chain::Unreadable { why } => (
            Verdict::TidakSesuai(Reason::AuditUnreadable { why: why.clone() }),
            Finding::AuditUnreadable { why: why.clone() },
        ),
    };
    Check {
        rule: Rule::AuditChain,
        verdict,
        finding,
    }
}

/// Zero storage: no NIK-shaped run in any file of the state dir, and every file read.
fn zero_storage_check(f: &Facts) -> Check {
    let files: Vec<(String, u64)> = f
        .scan
        .files
        .iter()
        .filter(|x| x.hits > 0)
        .map(|x| (x.path.clone(), x.hits))
        .collect();
    let unreadable: Vec<String> = f.scan.unreadable.iter().map(|(p, _)| p.clone()).collect();
    let finding = Finding::Scanned {
        hits: f.scan.hits(),
        files: f.scan.files.len() as u64,
        bytes: f.scan.bytes(),
        unreadable: unreadable.clone(),
    };
    Check {
        rule: Rule::ZeroStorage,
        verdict: if files.is_empty() && unreadable.is_empty() {
            Verdict::Sesuai
        } else {
            Verdict::TidakSesuai(Reason::DataStored { files, unreadable })
        },
        finding,
    }
}

/// The daily quota: no day past the limit, by either record.
fn quota_check(limit: Option<u64>, q: &QuotaUse) -> Check {
    let (verdict, finding) = match (limit, q.peak) {
        (None, _) => (Verdict::Sesuai, Finding::QuotaUnlimited),
        (Some(l), _) if !q.over.is_empty() => (
            Verdict::TidakSesuai(Reason::OverLimit {
                limit: l,
                days: q.over.clone(),
            }),
            Finding::QuotaOver {
                limit: l,
                days: q.over_limit(),
            },
        ),
        (Some(l), None) => (Verdict::Sesuai, Finding::QuotaUnused { limit: l }),
        (Some(l), Some((d, u))) => (
            Verdict::Sesuai,
            Finding::QuotaWithin {
                limit: l,
                peak_day: d,
                peak: u,
            },
        ),
    };
    Check {
        rule: Rule::DailyQuota,
        verdict,
        finding,
    }
}
