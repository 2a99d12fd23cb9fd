//! A probe outcome judged against its profile's thresholds: one round's health level.

use crate::health::{Cause, Level, State};

use super::{Outcome, Reason, Thresholds};

/// The level of one round. `contracted_bps` is the contracted bandwidth of the link the
/// target sits behind, for the bandwidth threshold.
pub fn level(outcome: &Outcome, t: &Thresholds, contracted_bps: Option<u64>) -> Level {
    if outcome.kind == super::Kind::Snmp {
        return super::snmp::level(outcome, contracted_bps);
    }
    // A bandwidth that could not be determined says nothing about the link's health: it has no
    // figure, so the bandwidth threshold below does not apply either.
    if let Some(reason) = outcome
        .reason
        .as_ref()
        .filter(|r| !outcome.ok && !matches!(r, Reason::Undetermined { .. }))
    {
        let cause = match reason {
            Reason::Timeout { .. }
            | Reason::Refused
            | Reason::Unreachable { .. }
            | Reason::AllLost { .. }
            | Reason::Network { .. } => Cause::Unreachable,
            Reason::Untrusted { .. }
            | Reason::Expired { .. }
            | Reason::NameMismatch { .. }
            | Reason::Handshake { .. } => Cause::Tls,
            Reason::NxDomain | Reason::DnsError { .. } => Cause::Dns,
            Reason::BadStatus { .. } | Reason::BodyMismatch { .. } => Cause::Http,
            // Judged by `snmp::level` above; kept for the match to be total.
            Reason::Snmp { .. } => Cause::Unreachable,
            Reason::Undetermined { .. } => Cause::Unreachable,
        };
        return Level::bad(State::Down, cause, reason.to_string());
    }
    let m = outcome.measures();
    let mut worst = Level::healthy();
    let mut consider = |state: State, cause: Cause, detail: String| {
        if state > worst.state || worst.state == State::Healthy {
            worst = Level::bad(state, cause, detail);
        }
    };
    if let Some(loss) = m.loss_ratio {
        let pct = loss * 100.0;
        if t.loss_crit.is_some_and(|c| loss >= c) {
            consider(State::Down, Cause::Loss, format!("rugi paket {pct:.0}%"));
        } else if t.loss_warn.is_some_and(|w| loss >= w) {
            consider(
                State::Degraded,
                Cause::Loss,
                format!("rugi paket {pct:.0}%"),
            );
        }
    }
    if let Some(rtt) = m.rtt {
        let ms = rtt.as_secs_f64() * 1000.0;
        if t.rtt_crit.is_some_and(|c| rtt >= c) {
            consider(State::Down, Cause::Latency, format!("RTT {ms:.0} ms"));
        } else if t.rtt_warn.is_some_and(|w| rtt >= w) {
            consider(State::Degraded, Cause::Latency, format!("RTT {ms:.0} ms"));
        }
    }
    if let (Some(j), Some(w)) = (m.jitter, t.jitter_warn)
        && j >= w
    {
        consider(
            State::Degraded,
            Cause::Jitter,
            format!("jitter {:.0} ms", j.as_secs_f64() * 1000.0),
        );
    }
    if let (Some(days), Some(w)) = (m.tls_days_to_expiry, t.tls_days_warn)
        && days < i64::from(w)
    {
        consider(
            State::Degraded,
            Cause::Tls,
            format!("sertifikat kedaluwarsa dalam {days} hari"),
        );
    }
    if let (Some(bps), Some(ratio), Some(contracted)) =
        (m.bandwidth_bps, t.min_bandwidth_ratio, contracted_bps)
        && bps < ratio * contracted as f64
    {
        consider(
            State::Degraded,
            Cause::Bandwidth,
            format!(
                "bandwidth tersedia {:.0} kbps dari kontrak {} kbps",
                bps / 1000.0,
                contracted / 1000
            ),
        );
    }
    worst
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::super::{Detail, Kind, Outcome, Reason, Target, Thresholds, bandwidth};
    use super::level;
    use crate::health::State;

    /// A packet-train run whose burst the budget could not cross has no figure: it neither
    /// marks the link down nor trips the bandwidth threshold.
    #[test]
    fn an_undetermined_bandwidth_is_not_a_verdict_on_the_link() {
        let target = Target::parse("203.0.113.2").unwrap_or_else(|e| panic!("{e}"));
        let detail: bandwidth::Detail = serde_json::from_value(serde_json::json!({
            "method": "trains", "estimate_bps": null, "per_train_bps": [], "body_bytes": 0,
            "lost": 0, "undetermined": "tidak dapat ditentukan: burst lebih dari 30 KB"
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let o = Outcome::new(
            Kind::Bandwidth,
            &target,
            SystemTime::now(),
            Duration::from_millis(100),
            Detail::Bandwidth(detail),
        )
        .failed(Reason::Undetermined {
            why: "tidak dapat ditentukan: burst lebih dari 30 KB".into(),
        });
        let t = Thresholds {
            min_bandwidth_ratio: Some(0.8),
            ..Thresholds::default()
        };
        assert_eq!(level(&o, &t, Some(512_000)).state, State::Healthy);
        let lost = o.clone().failed(Reason::AllLost { sent: 6 });
        assert_eq!(level(&lost, &t, Some(512_000)).state, State::Down);
    }
}
