//! Every Prometheus metric juknis exposes, defined in one place: names in base units with
//! `_seconds`, `_bytes`, `_total` suffixes, labels bounded by the topology (node, profile, link,
//! path ids) and by fixed sets (state, status): never a raw URL, an address or a NIK.

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::health::State;

mod targets;
pub use targets::{Series, TargetSeries};

/// The registry and every collector.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    // Probes. Each target's runs, success, RTT, loss, jitter and state, as plain numbers.
    pub targets: TargetSeries,
    pub probe_bytes: IntCounterVec,
    pub probe_skipped: IntCounterVec,
    pub tls_expiry: GaugeVec,
    pub bandwidth_estimate: GaugeVec,
    pub link_contracted: GaugeVec,
    pub link_interface_octets: IntCounterVec,
    pub link_utilisation: GaugeVec,
    // Health.
    pub path_state: IntGaugeVec,
    pub link_state: IntGaugeVec,
    pub transitions: IntCounterVec,
    // Gate.
    pub lookups: IntCounterVec,
    pub lookup_duration: HistogramVec,
    pub quota_limit: IntGauge,
    pub quota_used: IntGauge,
    pub breaker_open: IntGaugeVec,
    pub lookups_in_flight: IntGauge,
    pub lookups_in_flight_limit: IntGauge,
    pub lookups_shed: prometheus::IntCounter,
    // Data balikan outbox.
    pub balikan_records: IntGaugeVec,
    pub balikan_oldest_pending: prometheus::Gauge,
    pub balikan_send_failures: IntCounterVec,
    // Notifiers (src/notify).
    pub notify_deliveries: IntCounterVec,
    pub notify_pending: IntGaugeVec,
    pub notify_failing: IntGaugeVec,
    pub notify_incidents_open: IntGauge,
    pub build_info: IntGaugeVec,
    // Routes (failover and failback).
    pub route_active: IntGaugeVec,
    pub route_changes: IntCounterVec,
}

fn reg<T: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: T) -> T {
    // Names are unique constants of this module: a clash is a programming error, caught at
    // start-up by every test that builds `Metrics`.
    r.register(Box::new(c.clone()))
        .expect("metric names are unique");
    c
}

impl Metrics {
    /// A fresh registry with every metric registered.
    #[expect(
        clippy::too_many_lines,
        reason = "one declaration per metric, read as a table"
    )]
    pub fn new() -> Self {
        let r = Registry::new();
        let g = |name: &str, help: &str, labels: &[&str]| {
            reg(
                &r,
                GaugeVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let ig = |name: &str, help: &str, labels: &[&str]| {
            reg(
                &r,
                IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let c = |name: &str, help: &str, labels: &[&str]| {
            reg(
                &r,
                IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let targets = TargetSeries::new();
        r.register(Box::new(targets.clone()))
            .expect("metric names are unique");
        Self {
            targets,
            probe_bytes: c(
                "juknis_probe_bytes_total",
                "Bytes probes put on the wire (both directions), by link budget.",
                &["link"],
            ),
            probe_skipped: c(
                "juknis_probe_skipped_total",
                "Probe rounds skipped to stay within the link's probe budget.",
                &["node", "profile"],
            ),
            tls_expiry: g(
                "juknis_tls_certificate_expiry_seconds",
                "Seconds until the server certificate expires (negative when expired).",
                &["node", "profile"],
            ),
            bandwidth_estimate: g(
                "juknis_link_bandwidth_estimate_bytes_per_second",
                "Estimated available bandwidth toward the node, bytes per second.",
                &["node", "profile", "method"],
            ),
            link_contracted: g(
                "juknis_link_contracted_bandwidth_bytes_per_second",
                "Contracted bandwidth of the link, bytes per second.",
                &["link"],
            ),
            link_interface_octets: c(
                "juknis_link_interface_octets_total",
                "Octets counted by the link's OPD-side interface over SNMP (rx toward the OPD, tx away from it).",
                &["link", "direction"],
            ),
            link_utilisation: g(
                "juknis_link_utilisation_ratio",
                "Interface throughput of the last SNMP round over the link's contracted bandwidth (0 to 1, above 1 when bursting).",
                &["link", "direction"],
            ),
            path_state: ig(
                "juknis_path_state",
                "1 for the path's current state (healthy, degraded, down, unknown).",
                &["path", "state"],
            ),
            link_state: ig(
                "juknis_link_state",
                "1 for the link's current state on its path's best route.",
                &["link", "state"],
            ),
            transitions: c(
                "juknis_health_transitions_total",
                "Changes of a target's state after hysteresis.",
                &["node", "profile", "to"],
            ),
            lookups: c(
                "juknis_lookups_total",
                "NIK look-ups answered by the gate, by status and by who asked (operator or application).",
                &["status", "client"],
            ),
            lookup_duration: reg(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "juknis_lookup_duration_seconds",
                        "Time to answer a look-up, by whether it was forwarded to Dukcapil.",
                    )
                    .buckets(vec![
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                        5.0, 10.0,
                    ]),
                    &["forwarded"],
                )
                .expect("valid metric"),
            ),
            quota_limit: reg(
                &r,
                IntGauge::new(
                    "juknis_quota_limit",
                    "NIK look-ups allowed today (WIB); 0 when unlimited.",
                )
                .expect("valid metric"),
            ),
            quota_used: reg(
                &r,
                IntGauge::new("juknis_quota_used", "NIK look-ups forwarded today (WIB).")
                    .expect("valid metric"),
            ),
            route_active: ig(
                "juknis_route_active",
                "1 for the route of the path that carries its traffic now, 0 for the others.",
                &["path", "route"],
            ),
            route_changes: reg(
                &r,
                IntCounterVec::new(
                    prometheus::Opts::new(
                        "juknis_route_changes_total",
                        "Changes of a path's active route, by why (failover, failback).",
                    ),
                    &["path", "why"],
                )
                .expect("valid metric"),
            ),
            breaker_open: ig(
                "juknis_circuit_breaker_open",
                "1 while the route's circuit breaker is open (after failed requests).",
                &["path", "route"],
            ),
            lookups_in_flight: reg(
                &r,
                IntGauge::new(
                    "juknis_lookups_in_flight",
                    "NIK look-ups being answered right now (API and dashboard).",
                )
                .expect("valid metric"),
            ),
            lookups_in_flight_limit: reg(
                &r,
                IntGauge::new(
                    "juknis_lookups_in_flight_limit",
                    "Most NIK look-ups answered at once; more are refused at once with 503 busy.",
                )
                .expect("valid metric"),
            ),
            lookups_shed: reg(
                &r,
                prometheus::IntCounter::new(
                    "juknis_lookups_shed_total",
                    "NIK look-ups refused at once with 503 busy because the in-flight limit was reached (not audited: no NIK was read).",
                )
                .expect("valid metric"),
            ),
            balikan_records: ig(
                "juknis_balikan_records",
                "Data balikan records in the outbox, by state (pending, delivered, rejected).",
                &["state"],
            ),
            balikan_oldest_pending: reg(
                &r,
                prometheus::Gauge::new(
                    "juknis_balikan_oldest_pending_age_seconds",
                    "Age of the oldest data balikan record not yet delivered (0 when none).",
                )
                .expect("valid metric"),
            ),
            balikan_send_failures: c(
                "juknis_balikan_send_failures_total",
                "Failed attempts to deliver a data balikan batch, by reason.",
                &["reason"],
            ),
            notify_deliveries: c(
                "juknis_notify_deliveries_total",
                "Attempts to deliver a notification, by notifier and result (sent or failed).",
                &["notifier", "result"],
            ),
            notify_pending: ig(
                "juknis_notify_pending",
                "Notifications queued and not yet accepted by the notifier's channel.",
                &["notifier"],
            ),
            notify_failing: ig(
                "juknis_notify_failing",
                "1 while the notifier's oldest waiting notification has failed 3 times or more.",
                &["notifier"],
            ),
            notify_incidents_open: reg(
                &r,
                IntGauge::new(
                    "juknis_notify_incidents_open",
                    "Incidents (faults grouped by their first failing hop) open now.",
                )
                .expect("valid metric"),
            ),
            build_info: ig(
                "juknis_build_info",
                "Always 1; labels carry the version and the OPD.",
                &["version", "opd"],
            ),
            registry: r,
        }
    }

    /// Set a one-of-n state gauge: 1 for `state`, 0 for the others.
    pub fn set_state(vec: &IntGaugeVec, labels: &[&str], state: State) {
        for s in State::ALL {
            let mut l: Vec<&str> = labels.to_vec();
            l.push(s.as_str());
            vec.with_label_values(&l).set(i64::from(s == state));
        }
    }

    /// The text exposition format for `/metrics`.
    pub fn encode(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_registers_once() {
        let m = Metrics::new();
        m.targets.update("web-portal", "icmp", |s| s.count(true));
        Metrics::set_state(&m.path_state, &["portal"], State::Down);
        m.quota_limit.set(200);
        let text = m.encode();
        assert!(text.contains("juknis_path_state{path=\"portal\",state=\"down\"} 1"));
        assert!(text.contains("juknis_path_state{path=\"portal\",state=\"healthy\"} 0"));
    }
}
