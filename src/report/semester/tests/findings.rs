//! The verdicts and figures as data (issue 19): what the report finds, asserted without reading
//! its prose. One case per way each check can go.

use super::*;
use crate::report::semester::findings::{
    CallerCount, Chain, Counts, Finding, Reason, Rule, Verdict, assess,
};

fn verdict(f: &Facts, rule: Rule) -> Verdict {
    assess(f).check(rule).unwrap().verdict.clone()
}

#[test]
fn a_clean_semester_keeps_every_rule_in_the_report_order() {
    let found = assess(&busy());
    assert_eq!(
        found
            .checks
            .iter()
            .map(|c| (c.rule, c.rule.juknis(), c.verdict.clone()))
            .collect::<Vec<_>>(),
        [
            (Rule::AuditChain, "II.E.3", Verdict::Sesuai),
            (Rule::ZeroStorage, "II.E.2", Verdict::Sesuai),
            (Rule::DailyQuota, "II.B.1", Verdict::Sesuai),
        ]
    );
    assert!(found.compliant());
    assert_eq!(found.chain, Chain::Intact { entries: 310 });
    assert_eq!(
        found.check(Rule::DailyQuota).unwrap().finding,
        Finding::QuotaWithin {
            limit: 200,
            peak_day: day("2026-07-01"),
            peak: 200
        }
    );
}

#[test]
fn look_ups_are_summed_per_month_status_and_caller() {
    let l = assess(&busy()).lookups;
    assert!(l.recorded);
    assert_eq!(
        l.counts,
        Counts {
            total: 310,
            forwarded: 293,
            found: 240,
            refused_quota: 7
        }
    );
    assert_eq!(l.counts.not_sent(), 17);
    // Every month of an ended semester, the quiet ones too.
    assert_eq!(
        l.months
            .iter()
            .map(|m| (m.month, m.counts.total, m.counts.forwarded, m.active_days))
            .collect::<Vec<_>>(),
        [
            (7, 207, 200, 1),
            (8, 100, 90, 1),
            (9, 0, 0, 0),
            (10, 0, 0, 0),
            (11, 0, 0, 0),
            (12, 3, 3, 1)
        ]
    );
    // Found first, then the most frequent; the gate's own quota refusal kept apart.
    assert_eq!(
        l.statuses
            .iter()
            .map(|s| (s.status.as_str(), s.forwarded, s.count))
            .collect::<Vec<_>>(),
        [
            ("found", true, 240),
            ("not_found", true, 50),
            ("quota_exhausted", false, 7),
            ("link_down", false, 6),
            ("refused_pattern", false, 4),
            ("deceased", true, 3),
        ]
    );
    // Operators first, the busiest first.
    assert_eq!(
        l.callers
            .iter()
            .map(|c| (c.kind.as_str(), c.name.as_str(), c.counts.total))
            .collect::<Vec<_>>(),
        [
            ("operator", "siti", 207),
            ("operator", "budi", 34),
            ("application", "siks-ng", 69)
        ]
    );
    assert_eq!(
        l.callers[2],
        CallerCount {
            kind: "application".into(),
            name: "siks-ng".into(),
            counts: Counts {
                total: 69,
                forwarded: 63,
                found: 60,
                refused_quota: 0
            },
            active_days: 2,
        }
    );
    assert_eq!(
        (l.callers_of("operator"), l.callers_of("application")),
        (2, 1)
    );
}

#[test]
fn a_report_before_the_semester_ends_counts_the_months_so_far() {
    let mut f = busy();
    f.generated_at = at("2026-08-20T03:00:00Z");
    let months: Vec<u32> = assess(&f).lookups.months.iter().map(|m| m.month).collect();
    assert_eq!(months, [7, 8]);
}

#[test]
fn quota_use_availability_incidents_and_balikan() {
    let found = assess(&busy());
    let q = &found.quota;
    assert_eq!(found.limit, Some(200));
    assert_eq!(q.peak, Some((day("2026-07-01"), 200)));
    assert_eq!((q.active_days, q.total, q.at_limit), (3, 293, 1));
    assert_eq!((q.refused_days, q.refused), (1, 7));
    assert!(q.over.is_empty());
    assert_eq!(found.availability.len(), 1);
    assert_eq!(found.availability[0].ratio(), Some(0.995));
    assert_eq!(found.incidents.count, 3);
    assert_eq!(found.incidents.seconds, 4 * 3600 + 12 * 60);
    assert_eq!(found.incidents.open, 0);
    assert_eq!(found.incidents.without_cause, 2);
    assert_eq!(found.balikan.map(|b| b.rejected), Some(5));
}

#[test]
fn a_day_over_the_quota_fails_the_check_naming_the_day() {
    let mut f = busy();
    f.quota_days = Some(vec![(day("2026-07-01"), 201), (day("2026-08-14"), 90)]);
    let found = assess(&f);
    assert_eq!(
        found.check(Rule::DailyQuota).unwrap().verdict,
        Verdict::TidakSesuai(Reason::OverLimit {
            limit: 200,
            days: vec![(day("2026-07-01"), 201)]
        })
    );
    assert!(!found.compliant());
    assert_eq!(
        found.check(Rule::AuditChain).unwrap().verdict,
        Verdict::Sesuai
    );
}

#[test]
fn the_audit_log_can_show_a_day_over_the_quota_the_counter_missed() {
    let mut f = busy();
    // The counter says 200, the log says 210 were sent on that day.
    f.lookups
        .as_mut()
        .unwrap()
        .push(tally("2026-07-01", "operator", "siti", "found", true, 10));
    assert_eq!(
        verdict(&f, Rule::DailyQuota),
        Verdict::TidakSesuai(Reason::OverLimit {
            limit: 200,
            days: vec![(day("2026-07-01"), 210)]
        })
    );
}

#[test]
fn an_unlimited_agreement_has_no_quota_to_exceed() {
    let mut f = busy();
    f.agreement.quota = Quota::Unlimited;
    f.quota_days = Some(vec![(day("2026-07-01"), 5000)]);
    let found = assess(&f);
    assert_eq!(found.limit, None);
    let q = found.check(Rule::DailyQuota).unwrap();
    assert_eq!(q.verdict, Verdict::Sesuai);
    assert_eq!(q.finding, Finding::QuotaUnlimited);
    assert!(found.quota.over.is_empty());
}

#[test]
fn a_broken_chain_fails_the_audit_check_with_its_problems() {
    let mut f = busy();
    let problems = vec![
        Problem::Edited { seq: 17 },
        Problem::Deleted { from: 40, to: 42 },
    ];
    f.audit = AuditCheck::Broken {
        entries: 310,
        problems: problems.clone(),
    };
    let found = assess(&f);
    let a = found.check(Rule::AuditChain).unwrap();
    assert_eq!(
        a.verdict,
        Verdict::TidakSesuai(Reason::ChainBroken {
            problems: problems.clone()
        })
    );
    assert_eq!(
        a.finding,
        Finding::AuditBroken {
            entries: 310,
            problems: 2
        }
    );
    assert_eq!(
        found.chain,
        Chain::Broken {
            entries: 310,
            problems
        }
    );
}

#[test]
fn an_unreadable_audit_log_fails_the_audit_check() {
    let mut f = busy();
    f.audit = AuditCheck::Unreadable("izin ditolak".into());
    assert_eq!(
        verdict(&f, Rule::AuditChain),
        Verdict::TidakSesuai(Reason::AuditUnreadable {
            why: "izin ditolak".into()
        })
    );
}

#[test]
fn no_audit_log_and_no_look_up_cannot_be_judged() {
    let mut f = empty();
    f.audit = AuditCheck::Missing;
    f.lookups = None;
    let found = assess(&f);
    assert!(!found.lookups.recorded);
    assert_eq!(
        found.check(Rule::AuditChain).unwrap().verdict,
        Verdict::TidakDapatDitentukan(Reason::NoAuditLog)
    );
    // Not judged is not kept.
    assert!(!found.compliant());
    // The table says so in its own words.
    let t = build(&f).plain_text();
    assert!(
        t.contains("Keutuhan log audit akses (rantai hash) | Tidak dapat ditentukan |"),
        "{t}"
    );
}

#[test]
fn no_audit_log_while_the_quota_counter_spent_look_ups_fails() {
    let mut f = busy();
    f.audit = AuditCheck::Missing;
    f.lookups = None;
    assert_eq!(
        verdict(&f, Rule::AuditChain),
        Verdict::TidakSesuai(Reason::LookupsUnrecorded { spent: 293 })
    );
    let t = build(&f).plain_text();
    assert!(
        t.contains("| Tidak sesuai | Log audit akses tidak ditemukan pada perangkat, padahal pencatat kuota mencatat 293 permintaan"),
        "{t}"
    );
}

#[test]
fn a_stored_nik_fails_zero_storage_naming_the_file() {
    let mut f = busy();
    f.scan.files.push(FileScan {
        path: "cache/export.csv".into(),
        bytes: 100,
        hits: 2,
    });
    assert_eq!(
        verdict(&f, Rule::ZeroStorage),
        Verdict::TidakSesuai(Reason::DataStored {
            files: vec![("cache/export.csv".into(), 2)],
            unreadable: Vec::new()
        })
    );
}

#[test]
fn an_unreadable_file_fails_zero_storage_even_without_hits() {
    let mut f = busy();
    f.scan
        .unreadable
        .push(("cache/locked.db".into(), "izin ditolak".into()));
    let found = assess(&f);
    let z = found.check(Rule::ZeroStorage).unwrap();
    assert_eq!(
        z.verdict,
        Verdict::TidakSesuai(Reason::DataStored {
            files: Vec::new(),
            unreadable: vec!["cache/locked.db".into()]
        })
    );
    assert!(matches!(z.finding, Finding::Scanned { hits: 0, .. }));
}
