//! Failover and failback across two real routes (issue 14, item 6), on the test-bed of
//! tests/support/routes.rs: `juknis serve` in the OPD namespace with a topology whose Web
//! Portal path has a primary through Diskominfo (source 198.51.100.2) and a VPN backup
//! (source 198.51.100.6); `juknis sim` as the Web Portal in the Dukcapil namespace. The primary
//! is broken, look-ups keep coming through the API, and we measure when traffic moved, how many
//! look-ups were refused meanwhile, that the packets went out of the backup's interface, that
//! traffic came back after the heal and the failback hold, and that the quota spent equals the
//! look-ups Dukcapil answered.
//!
//! Needs root (network namespaces); skips with a reason without it, fails when `CI=true`. The
//! link-down case runs in CI (about 40 s); the full matrix is `#[ignore]`
//! (`make bench-routes`, results in BENCHMARKS.md).

#[path = "support/routes.rs"]
mod routes;
#[path = "support/testbed.rs"]
mod testbed;

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use routes::{Ns, Routes};

const JUKNIS: &str = env!("CARGO_BIN_EXE_juknis");
const LISTEN: &str = "127.0.0.1:18080";
/// The one application's API token (tokens belong to the topology's applications).
const TOKEN: &str = "token-uji-jalur-0000-abcdefgh";
/// The access point's IP LAN in the topology below: the account's `ip_user`.
const ACCESS_POINT: &str = "198.51.100.2";
/// Probe interval 1 s, timeout 1 s, down after 3 bad rounds, routes judged every 2 s: a
/// failover is promised within about 3 × (1 + 1) + 2 s; we allow a margin for the machine.
const FAILOVER_PROMISE: Duration = Duration::from_secs(15);
/// The failback hold of the test topology (10 s) plus 2 good rounds and the 2 s judging.
const FAILBACK_PROMISE: Duration = Duration::from_secs(30);
/// When the gate's own look-ups fail before the probes see the fault (a middlebox answers TCP
/// and the TLS probe's rounds are few within the probe budget), the primary's circuit breaker
/// opens after 5 failures and moves the traffic; the route is tried again only after the
/// breaker's cool-down (30 s from opening), then held 10 s.
const FAILBACK_AFTER_BREAKER: Duration = Duration::from_secs(45);

const TOPOLOGY: &str = r#"title: Uji dua jalur
agreement:
  opd: Dinas Uji
  pks_dukcapil: "UJI/001/2026"
  pks_opd: "UJI/002/2026"
  purpose: verifikasi data uji
  quota_per_day: 1000
  # Four look-ups a second to time the switch: above the default 10 a minute for the User ID.
  lookups_per_minute: 600
zones:
  - {id: opd, kind: opd, name: OPD Uji}
  - {id: diskominfo, kind: diskominfo}
  - {id: disdukcapil, kind: disdukcapil}
nodes:
  - {id: app-web, zone: opd, kind: app, platform: web, name: "Aplikasi Uji"}
  - {id: ap, zone: opd, kind: access_point, name: "Titik Akses", address: 198.51.100.2, network: 198.51.100.0/29}
  - {id: kominfo, zone: diskominfo, kind: router, name: "Router Diskominfo", address: 198.51.100.1, probes: [icmp]}
  - {id: vpn-gw, zone: diskominfo, kind: router, name: "Gateway VPN", address: 198.51.100.5, probes: [icmp]}
  - {id: web-portal, zone: disdukcapil, kind: service, service: web_portal, name: Web Portal, address: 203.0.113.100, url: "http://203.0.113.100:8000/", probes: [tcp]}
links:
  - {id: lan, from: app-web, to: ap}
  - {id: wan, from: ap, to: kominfo, provider: Diskominfo, bandwidth: 512 Kbps}
  - {id: kom-dc, from: kominfo, to: web-portal}
  - {id: vpn, from: ap, to: vpn-gw, provider: ISP (VPN cadangan), bandwidth: 10 Mbps}
  - {id: vpn-dc, from: vpn-gw, to: web-portal}
paths:
  - id: portal
    service: web-portal
    primary: [ap, kominfo, web-portal]
    egress: {source: 198.51.100.2}
    failback_hold: 10s
    alternates:
      - hops: [ap, vpn-gw, web-portal]
        egress: {source: 198.51.100.6}
"#;

/// The Web Portal over HTTPS, trusted by the simulator's certificate (written by `sim
/// --cert-out` to `CERT`), and watched by a TLS probe: a middlebox with another certificate is
/// a fault of the route it sits on.
const HTTPS_PORTAL: &str = r#"  - {id: web-portal, zone: disdukcapil, kind: service, service: web_portal, name: Web Portal, address: 203.0.113.100, url: "https://203.0.113.100:8000/", tls_ca: CERT, probes: [tcp, tls]}"#;

const TLS_PROFILE: &str =
    "kind: tls\ninterval: 1s\ntimeout: 1s\nport: 8000\nthresholds:\n  tls_days_warn: 1\n";

const TCP_PROFILE: &str = "kind: tcp\ninterval: 1s\ntimeout: 1s\nport: 8000\nthresholds:\n  rtt_warn: 200ms\n  rtt_crit: 800ms\n";

/// A way of breaking the primary.
#[derive(Clone, Copy, Debug)]
enum Break {
    LinkDown,
    Blackhole,
    /// A middlebox at Diskominfo answers for the portal with its own certificate.
    TlsImpostor,
}

impl Break {
    fn failback_promise(self) -> Duration {
        match self {
            Break::TlsImpostor => FAILBACK_AFTER_BREAKER,
            Break::LinkDown | Break::Blackhole => FAILBACK_PROMISE,
        }
    }

    fn apply(self, r: &Routes, broken: bool) -> Result<()> {
        match self {
            Break::LinkDown => r.set_primary_link(!broken),
            Break::Blackhole => r.set_primary_blackhole(broken),
            Break::TlsImpostor => r.set_primary_impostor(broken),
        }
    }
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What one run measured.
#[derive(Debug)]
struct Measured {
    failover: Duration,
    failback: Duration,
    refused_during_switch: usize,
    answered: u64,
    /// Look-ups sent whose answer never came back in time (`portal_error`): spent, since
    /// Dukcapil may have answered them.
    sent_unanswered: u64,
    quota_used: u64,
    dukcapil_answered: u64,
    backup_tx: u64,
    primary_tx_after_heal: u64,
}

struct Bed {
    r: Routes,
    _sim: Proc,
    /// The middlebox's own simulator (another certificate), for [`Break::TlsImpostor`].
    _impostor: Option<Proc>,
    /// `https` when the portal is reached over TLS.
    scheme: &'static str,
    _serve: Proc,
    dir: tempfile::TempDir,
    niks: Vec<String>,
    next: usize,
}

impl Bed {
    fn start(how: Break) -> Result<Option<Bed>> {
        let Some(r) = Routes::new_or_skip()? else {
            return Ok(None);
        };
        let tls = matches!(how, Break::TlsImpostor);
        let dir = tempfile::tempdir()?;
        let cert = dir.path().join("portal.pem");
        let sim_args = |tls: bool, cert: Option<&Path>| {
            let mut a = vec![
                "sim".to_owned(),
                "--listen".to_owned(),
                "203.0.113.100:8000".to_owned(),
                "--quota".to_owned(),
                "100000".to_owned(),
                // The OPD's access point (Lampiran I), which the account's ip_user must be.
                "--ip-user".to_owned(),
                ACCESS_POINT.to_owned(),
            ];
            if tls {
                a.push("--tls".to_owned());
            }
            if let Some(c) = cert {
                a.push("--cert-out".to_owned());
                a.push(c.display().to_string());
            }
            a
        };
        let sim = Proc(
            r.command_in(Ns::Dukcapil, JUKNIS)
                .args(sim_args(tls, tls.then_some(cert.as_path())))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("juknis sim")?,
        );
        let mut topology = TOPOLOGY.to_owned();
        let mut impostor = None;
        if tls {
            let t0 = Instant::now();
            while !cert.exists() {
                ensure!(
                    t0.elapsed() < Duration::from_secs(20),
                    "sim --cert-out wrote nothing"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
            let line = topology
                .lines()
                .find(|l| l.contains("id: web-portal"))
                .context("web-portal node")?
                .to_owned();
            topology = topology.replace(
                &line,
                &HTTPS_PORTAL.replace("CERT", &format!("\"{}\"", cert.display())),
            );
            // The middlebox listens for the portal's address before it takes it.
            r.allow_nonlocal_bind(Ns::Kominfo)?;
            impostor = Some(Proc(
                r.command_in(Ns::Kominfo, JUKNIS)
                    .args(sim_args(true, None))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .context("the impostor's juknis sim")?,
            ));
        }
        std::fs::create_dir_all(dir.path().join("topology"))?;
        std::fs::create_dir_all(dir.path().join("probes"))?;
        std::fs::write(dir.path().join("topology/routes.yaml"), topology)?;
        std::fs::write(dir.path().join("probes/tcp.yaml"), TCP_PROFILE)?;
        std::fs::write(dir.path().join("probes/tls.yaml"), TLS_PROFILE)?;
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fast/icmp.yaml"),
            dir.path().join("probes/icmp.yaml"),
        )?;
        let state = dir.path().join("state");
        std::fs::create_dir_all(&state)?;
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700))?;
        let mut secrets = format!(
            "portal: {{user_id: {}, password: {}, ip_user: {}, instansi_id: {}}}\napi_tokens:\n",
            juknis::sim::USER,
            juknis::sim::PASSWORD,
            ACCESS_POINT,
            juknis::sim::INSTANSI_ID
        );
        secrets.push_str(&format!("  app-web: {TOKEN}\n"));
        let file = state.join("secrets.yaml");
        std::fs::write(&file, secrets)?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
        let log = std::fs::File::create(dir.path().join("serve.log"))?;
        let serve = Proc(
            r.command_in(Ns::Opd, JUKNIS)
                .args(["serve", "--config"])
                .arg(dir.path().join("topology/routes.yaml"))
                .args(["--listen", LISTEN, "--state-dir"])
                .arg(&state)
                .env("JUKNIS_LOG", "info")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .context("juknis serve")?,
        );
        // NIKs of distinct people with distinct 12-digit prefixes: the pattern rules see no
        // sequence.
        let pop = juknis::sim::Population::generate(juknis::sim::DEFAULT_SEED, None);
        let mut seen = std::collections::BTreeSet::new();
        let niks = pop
            .people()
            .filter(|p| seen.insert(p.nik[..12].to_owned()))
            .map(|p| p.nik.clone())
            .collect();
        let bed = Bed {
            r,
            _sim: sim,
            _impostor: impostor,
            scheme: if tls { "https" } else { "http" },
            _serve: serve,
            dir,
            niks,
            next: 0,
        };
        bed.wait_until(
            Duration::from_secs(30),
            "the primary carries traffic",
            |b| {
                Ok(b.active()? == "primary"
                    && b.metric("juknis_path_state", "path=\"portal\"")? >= 0.0)
            },
        )?;
        Ok(Some(bed))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    fn curl(&self, ns: Ns, args: &[&str]) -> Result<String> {
        let mut argv = vec!["curl", "-s", "-m", "15"];
        argv.extend_from_slice(args);
        let out = self.r.run_in(ns, &argv)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// A sample's value in /metrics (the first line starting with `name{` holding `labels`).
    fn metric(&self, name: &str, labels: &str) -> Result<f64> {
        let text = self.curl(Ns::Opd, &[&format!("http://{LISTEN}/metrics")])?;
        for line in text.lines() {
            if line.starts_with(name) && line.contains(labels) {
                let v = line.rsplit(' ').next().unwrap_or("");
                return v.parse().with_context(|| line.to_string());
            }
        }
        anyhow::bail!("no {name}{{{labels}}} in /metrics")
    }

    fn active(&self) -> Result<&'static str> {
        for route in ["primary", "alternate-1"] {
            if self.metric("juknis_route_active", &format!("route=\"{route}\""))? == 1.0 {
                return Ok(route);
            }
        }
        Ok("none")
    }

    fn wait_until(
        &self,
        within: Duration,
        what: &str,
        mut ok: impl FnMut(&Bed) -> Result<bool>,
    ) -> Result<Duration> {
        let t0 = Instant::now();
        loop {
            if ok(self).unwrap_or(false) {
                return Ok(t0.elapsed());
            }
            ensure!(
                t0.elapsed() < within,
                "{what}: not within {within:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// One look-up through the API; its JSON `status`.
    fn lookup(&mut self) -> Result<String> {
        let nik = self.niks[self.next % self.niks.len()].clone();
        self.next += 1;
        let body = format!(r#"{{"nik":"{nik}","purpose":"verifikasi data uji"}}"#);
        let auth = format!("Authorization: Bearer {TOKEN}");
        let out = self.curl(
            Ns::Opd,
            &[
                "-H",
                &auth,
                "-H",
                "content-type: application/json",
                "-d",
                &body,
                &format!("http://{LISTEN}/api/v1/lookup"),
            ],
        )?;
        let v: serde_json::Value =
            serde_json::from_str(&out).with_context(|| format!("answer {out:?}"))?;
        Ok(v["status"].as_str().unwrap_or("").to_owned())
    }

    fn sim_answered(&self) -> Result<u64> {
        let url = format!("{}://203.0.113.100:8000/_sim/stats", self.scheme);
        let out = self.curl(Ns::Dukcapil, &["-k", &url])?;
        let v: serde_json::Value = serde_json::from_str(&out)?;
        v["lookups_answered"].as_u64().context("lookups_answered")
    }

    /// Break the primary, look up every 250 ms until the backup carries the traffic, heal,
    /// and go on until the primary carries it again.
    fn run(&mut self, how: Break) -> Result<Measured> {
        let answered_status = |s: &str| {
            !matches!(
                s,
                "link_down"
                    | "portal_error"
                    | "busy"
                    | "internal_error"
                    | "refused_pattern"
                    | "refused_burst"
                    | ""
            )
        };
        let mut answered = 0u64;
        for _ in 0..3 {
            if answered_status(&self.lookup()?) {
                answered += 1;
            }
        }
        let backup_tx0 = self.r.tx_packets("vpn0")?;
        how.apply(&self.r, true)?;
        let t0 = Instant::now();
        let mut refused = 0usize;
        let mut sent_unanswered = 0u64;
        let failover = loop {
            let s = self.lookup()?;
            if answered_status(&s) {
                answered += 1;
            } else if matches!(s.as_str(), "link_down" | "portal_error") {
                refused += 1;
                sent_unanswered += u64::from(s == "portal_error");
            }
            if self.active()? == "alternate-1" && answered_status(&s) {
                break t0.elapsed();
            }
            ensure!(
                t0.elapsed() < FAILOVER_PROMISE,
                "no failover within {FAILOVER_PROMISE:?} ({how:?})\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        };
        // On the backup, every look-up is answered.
        for _ in 0..5 {
            let s = self.lookup()?;
            ensure!(answered_status(&s), "refused on the backup: {s}");
            answered += 1;
        }
        let backup_tx = self.r.tx_packets("vpn0")? - backup_tx0;
        how.apply(&self.r, false)?;
        let t1 = Instant::now();
        let promise = how.failback_promise();
        let failback = loop {
            let s = self.lookup()?;
            ensure!(answered_status(&s), "refused while healing: {s}");
            answered += 1;
            if self.active()? == "primary" {
                break t1.elapsed();
            }
            ensure!(
                t1.elapsed() < promise,
                "no failback within {promise:?} ({how:?})\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(500));
        };
        let primary_tx0 = self.r.tx_packets("kom0")?;
        for _ in 0..3 {
            let s = self.lookup()?;
            ensure!(answered_status(&s), "refused after failback: {s}");
            answered += 1;
        }
        let primary_tx_after_heal = self.r.tx_packets("kom0")? - primary_tx0;
        Ok(Measured {
            failover,
            failback,
            refused_during_switch: refused,
            answered,
            sent_unanswered,
            quota_used: self.metric("juknis_quota_used", "")? as u64,
            dukcapil_answered: self.sim_answered()?,
            backup_tx,
            primary_tx_after_heal,
        })
    }
}

fn check(how: Break) -> Result<()> {
    let Some(mut bed) = Bed::start(how)? else {
        return Ok(());
    };
    let m = bed.run(how)?;
    println!("{how:?}: {m:?}");
    // For scripts/bench-routes.sh.
    println!(
        "ROUTES {how:?} {} {} {} {} {}",
        m.failover.as_millis(),
        m.failback.as_millis(),
        m.refused_during_switch,
        m.answered,
        m.quota_used
    );
    ensure!(m.failover <= FAILOVER_PROMISE, "{m:?}");
    ensure!(m.failback <= how.failback_promise(), "{m:?}");
    // One quota unit per look-up Dukcapil answered, and none for one it never saw: every
    // answered look-up is spent once; a look-up refused before sending spends nothing; one
    // sent but unanswered in time is spent, since it may have reached Dukcapil and been
    // counted there (with total loss TCP may deliver it after the heal, or not at all): the
    // local count never falls below Dukcapil's.
    ensure!(
        (m.dukcapil_answered..=m.dukcapil_answered + m.sent_unanswered).contains(&m.quota_used),
        "{m:?}"
    );
    ensure!(
        (m.answered..=m.answered + m.sent_unanswered).contains(&m.quota_used),
        "{m:?}"
    );
    // The backup's interface carried the look-ups made on it (at least the request of each:
    // the client keeps its connection open); the primary's carries them again after the heal.
    ensure!(m.backup_tx >= 5, "{m:?}");
    ensure!(m.primary_tx_after_heal >= 3, "{m:?}");
    // Look-ups refused while the switch was decided: at most those within the promise.
    ensure!(
        m.refused_during_switch <= (FAILOVER_PROMISE.as_millis() / 250) as usize,
        "{m:?}"
    );
    Ok(())
}

#[test]
fn the_primary_link_down_fails_over_and_back() -> Result<()> {
    check(Break::LinkDown)
}

#[test]
#[ignore = "the full matrix: make bench-routes"]
fn total_loss_beyond_diskominfo_fails_over_and_back() -> Result<()> {
    check(Break::Blackhole)
}

#[test]
#[ignore = "the full matrix: make bench-routes"]
fn a_middlebox_with_another_certificate_fails_over_and_back() -> Result<()> {
    check(Break::TlsImpostor)
}
