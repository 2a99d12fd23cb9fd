//! What the semester report finds, as data: the compliance checks with their verdicts and the
//! figures behind them, computed from the [`Facts`] before a word of prose is written. Tests
//! assert on these; `build` renders them. Pure: no IO, no clock.

use chrono::NaiveDate;

use super::{AuditCheck, Facts, QuotaUse, Sums, incident_total, quota_use};
use crate::topology::Quota;

/// What a compliance check checks (Juknis II.E, III, VI.E: the duties the appliance can see).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// The access log's hash chain is whole.
    AuditChain,
    /// No population data is kept on the appliance (zero storage).
    ZeroStorage,
    /// The daily quota was never exceeded.
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
}

/// What a check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    AuditIntact {
        entries: u64,
    },
    AuditBroken {
        entries: u64,
        problems: u64,
    },
    /// No audit log: fine only when nothing was looked up.
    AuditMissing {
        lookups: u64,
    },
    AuditUnreadable {
        why: String,
    },
    /// The state dir's scan: NIK-shaped runs found, over how many files and bytes, and the
    /// files it could not read (each one a failure: what cannot be read cannot be cleared).
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

/// One check: the rule, whether the OPD kept it, and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub rule: Rule,
    pub ok: bool,
    pub finding: Finding,
}

/// Everything the report concludes, before it is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Findings {
    /// The daily limit; `None` when unlimited.
    pub limit: Option<u64>,
    /// Look-ups in the audit log, those forwarded to Dukcapil, and those that found data.
    pub lookups: u64,
    pub forwarded: u64,
    pub found: u64,
    /// Distinct operators and applications that looked up.
    pub operators: usize,
    pub applications: usize,
    pub quota: QuotaUse,
    /// Path incidents and their total time within the semester, in seconds.
    pub incidents: u64,
    pub incident_seconds: i64,
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
        self.checks.iter().all(|c| c.ok)
    }
}

/// What the report finds in `f`.
pub fn assess(f: &Facts) -> Findings {
    let sums = Sums::of(f.lookups.as_deref().unwrap_or_default());
    let limit = match f.agreement.quota {
        Quota::PerDay(l) => Some(u64::from(l)),
        Quota::Unlimited => None,
    };
    assess_with(f, &sums, limit)
}

pub(super) fn assess_with(f: &Facts, sums: &Sums, limit: Option<u64>) -> Findings {
    let audit = match &f.audit {
        AuditCheck::Intact { entries } => Check {
            rule: Rule::AuditChain,
            ok: true,
            finding: Finding::AuditIntact { entries: *entries },
        },
        AuditCheck::Broken { entries, problems } => Check {
            rule: Rule::AuditChain,
            ok: false,
            finding: Finding::AuditBroken {
                entries: *entries,
                problems: problems.len() as u64,
            },
        },
        AuditCheck::Missing => Check {
            rule: Rule::AuditChain,
            ok: sums.total == 0,
            finding: Finding::AuditMissing {
                lookups: sums.total,
            },
        },
        AuditCheck::Unreadable(e) => Check {
            rule: Rule::AuditChain,
            ok: false,
            finding: Finding::AuditUnreadable { why: e.clone() },
        },
    };
    let hits = f.scan.hits();
    let unreadable: Vec<String> = f.scan.unreadable.iter().map(|(p, _)| p.clone()).collect();
    let scan = Check {
        rule: Rule::ZeroStorage,
        ok: hits == 0 && unreadable.is_empty(),
        finding: Finding::Scanned {
            hits,
            files: f.scan.files.len() as u64,
            bytes: f.scan.bytes(),
            unreadable,
        },
    };
    let q = quota_use(f, sums, limit);
    let quota = Check {
        rule: Rule::DailyQuota,
        ok: q.over_limit == 0,
        finding: match (limit, q.peak) {
            (None, _) => Finding::QuotaUnlimited,
            (Some(l), None) => Finding::QuotaUnused { limit: l },
            (Some(l), Some((d, u))) if q.over_limit == 0 => Finding::QuotaWithin {
                limit: l,
                peak_day: d,
                peak: u,
            },
            (Some(l), Some(_)) => Finding::QuotaOver {
                limit: l,
                days: q.over_limit,
            },
        },
    };
    Findings {
        limit,
        lookups: sums.total,
        forwarded: sums.forwarded,
        found: sums.found,
        operators: sums.callers.keys().filter(|k| k.0 == "operator").count(),
        applications: sums.callers.keys().filter(|k| k.0 == "application").count(),
        quota: q,
        incidents: f.incidents.len() as u64,
        incident_seconds: incident_total(f),
        checks: vec![audit, scan, quota],
    }
}
