//! A test-bed with two real routes from the OPD to Dukcapil (issue 14): the primary through the
//! Diskominfo router, the backup through a VPN concentrator, chosen by policy routing on the
//! OPD's source address. Documentation addresses only; nothing is reachable from the host.
//!
//! ```text
//!                ┌ kom0 198.51.100.2 ── 198.51.100.1 [Diskominfo] 203.0.113.1 ── 203.0.113.2 dc-kom ┐
//!  [OPD] rules:  │  from 198.51.100.2 → table 100 (via Diskominfo)                                  [Dukcapil]
//!                └ vpn0 198.51.100.6 ── 198.51.100.5 [VPN]        203.0.113.5 ── 203.0.113.6 dc-vpn ┘  203.0.113.100 (lo)
//!                   from 198.51.100.6 → table 200 (via VPN)
//! ```
//!
//! Dukcapil's service address 203.0.113.100 sits on its loopback; its replies go back the way
//! the request came (routes to each OPD address through the router it came from). Ways to break
//! the primary: the OPD–Diskominfo link down ([`Routes::set_primary_link`]), every packet
//! dropped beyond the Diskominfo router ([`Routes::set_primary_blackhole`]), a middlebox at
//! Diskominfo that answers for the portal with another certificate
//! ([`Routes::set_primary_impostor`]).
//!
//! Uses the helpers of tests/support/testbed.rs (names `jk-<pid>-r<n>-…`, leftovers of dead runs
//! removed); `Drop` kills what runs inside and deletes the namespaces.
#![allow(dead_code, reason = "each test uses a different part")]

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context as _, Result, bail, ensure};

use super::testbed::{PREFIX, is_root, on_path, remove_leftovers, remove_namespace, run_host};

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// The OPD's source address on the primary route.
pub const OPD_PRIMARY: &str = "198.51.100.2";
/// The OPD's source address on the backup route.
pub const OPD_BACKUP: &str = "198.51.100.6";
/// The Diskominfo router, as the OPD sees it.
pub const KOMINFO: &str = "198.51.100.1";
/// The VPN concentrator, as the OPD sees it.
pub const VPN: &str = "198.51.100.5";
/// The Web Portal's address (on Dukcapil's loopback).
pub const PORTAL: &str = "203.0.113.100";

/// The namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ns {
    Opd,
    Kominfo,
    Vpn,
    Dukcapil,
}

impl Ns {
    fn suffix(self) -> &'static str {
        match self {
            Ns::Opd => "opd",
            Ns::Kominfo => "kom",
            Ns::Vpn => "vpn",
            Ns::Dukcapil => "dc",
        }
    }
}

/// A live two-route test-bed.
pub struct Routes {
    id: String,
    created: Vec<String>,
}

impl Routes {
    /// Builds the test-bed, or returns `None` after printing why it cannot run here; with
    /// `CI=true` that reason is an error instead.
    pub fn new_or_skip() -> Result<Option<Self>> {
        let reason = if !is_root() {
            Some("the routes test-bed needs root (network namespaces)".to_owned())
        } else if !["ip", "curl"].iter().all(|t| on_path(t)) {
            Some("the routes test-bed needs ip and curl on PATH (iproute2, curl)".to_owned())
        } else {
            None
        };
        if let Some(reason) = reason {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                bail!("{reason}; CI=true, so this is a failure, not a skip");
            }
            eprintln!("skipping routes test-bed test: {reason}");
            return Ok(None);
        }
        remove_leftovers()?;
        let id = format!(
            "{PREFIX}{}-r{}-",
            std::process::id(),
            NEXT_ID.fetch_add(1, Ordering::Relaxed)
        );
        let mut r = Routes {
            id,
            created: Vec::new(),
        };
        r.build()?;
        Ok(Some(r))
    }

    /// The namespace's name.
    pub fn ns(&self, ns: Ns) -> String {
        format!("{}{}", self.id, ns.suffix())
    }

    fn ip(&self, ns: Ns, args: &[&str]) -> Result<()> {
        let name = self.ns(ns);
        let mut argv = vec!["-n", name.as_str()];
        argv.extend_from_slice(args);
        run_host("ip", &argv)
    }

    fn sysctl(&self, ns: Ns, key: &str, value: &str) -> Result<()> {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let out = self.run_in(ns, &["sh", "-c", &format!("echo {value} > {path}")])?;
        ensure!(
            out.status.success(),
            "{key} in {}: {}",
            self.ns(ns),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    /// A `Command` running `program` in `ns`.
    pub fn command_in(&self, ns: Ns, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(ns), program]);
        c
    }

    /// Runs `argv` in `ns`; the output whatever the exit status.
    pub fn run_in(&self, ns: Ns, argv: &[&str]) -> Result<Output> {
        let (program, args) = argv.split_first().context("an empty command")?;
        self.command_in(ns, program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {argv:?} in {}", self.ns(ns)))
    }

    fn veth(
        &self,
        a: Ns,
        a_dev: &str,
        a_addr: &str,
        b: Ns,
        b_dev: &str,
        b_addr: &str,
    ) -> Result<()> {
        run_host(
            "ip",
            &[
                "link",
                "add",
                a_dev,
                "netns",
                &self.ns(a),
                "type",
                "veth",
                "peer",
                "name",
                b_dev,
                "netns",
                &self.ns(b),
            ],
        )?;
        for (ns, dev, addr) in [(a, a_dev, a_addr), (b, b_dev, b_addr)] {
            self.ip(ns, &["addr", "add", &format!("{addr}/30"), "dev", dev])?;
            self.ip(ns, &["link", "set", dev, "up"])?;
        }
        Ok(())
    }

    fn build(&mut self) -> Result<()> {
        for ns in [Ns::Opd, Ns::Kominfo, Ns::Vpn, Ns::Dukcapil] {
            let name = self.ns(ns);
            run_host("ip", &["netns", "add", &name])?;
            self.created.push(name);
            self.ip(ns, &["link", "set", "lo", "up"])?;
            self.sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1")?;
            self.sysctl(ns, "net.ipv4.conf.all.rp_filter", "0")?;
            self.sysctl(ns, "net.ipv4.conf.default.rp_filter", "0")?;
        }
        for ns in [Ns::Kominfo, Ns::Vpn] {
            self.sysctl(ns, "net.ipv4.ip_forward", "1")?;
        }
        self.veth(Ns::Opd, "kom0", OPD_PRIMARY, Ns::Kominfo, "k-opd", KOMINFO)?;
        self.veth(Ns::Opd, "vpn0", OPD_BACKUP, Ns::Vpn, "v-opd", VPN)?;
        self.veth(
            Ns::Kominfo,
            "k-dc",
            "203.0.113.1",
            Ns::Dukcapil,
            "dc-kom",
            "203.0.113.2",
        )?;
        self.veth(
            Ns::Vpn,
            "v-dc",
            "203.0.113.5",
            Ns::Dukcapil,
            "dc-vpn",
            "203.0.113.6",
        )?;
        self.ip(
            Ns::Dukcapil,
            &["addr", "add", &format!("{PORTAL}/32"), "dev", "lo"],
        )?;
        // OPD: policy routing by source address; the main table's default is the primary.
        self.ip(
            Ns::Opd,
            &["route", "add", "default", "via", KOMINFO, "table", "100"],
        )?;
        self.ip(
            Ns::Opd,
            &["route", "add", "default", "via", VPN, "table", "200"],
        )?;
        self.ip(
            Ns::Opd,
            &["rule", "add", "from", OPD_PRIMARY, "table", "100"],
        )?;
        self.ip(
            Ns::Opd,
            &["rule", "add", "from", OPD_BACKUP, "table", "200"],
        )?;
        self.ip(Ns::Opd, &["route", "add", "default", "via", KOMINFO])?;
        // The routers reach the portal through Dukcapil; Dukcapil answers each OPD address
        // through the router its requests came by.
        self.ip(Ns::Kominfo, &["route", "add", PORTAL, "via", "203.0.113.2"])?;
        self.ip(Ns::Vpn, &["route", "add", PORTAL, "via", "203.0.113.6"])?;
        self.ip(
            Ns::Dukcapil,
            &["route", "add", "198.51.100.0/30", "via", "203.0.113.1"],
        )?;
        self.ip(
            Ns::Dukcapil,
            &["route", "add", "198.51.100.4/30", "via", "203.0.113.5"],
        )?;
        for src in [OPD_PRIMARY, OPD_BACKUP] {
            let out = self.run_in(
                Ns::Opd,
                &["ping", "-n", "-q", "-c", "1", "-W", "2", "-I", src, PORTAL],
            )?;
            ensure!(
                out.status.success(),
                "the portal does not answer {src}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        Ok(())
    }

    /// The OPD–Diskominfo link down (the router's side, as a cut cable) or up again.
    pub fn set_primary_link(&self, up: bool) -> Result<()> {
        self.ip(
            Ns::Kominfo,
            &["link", "set", "k-opd", if up { "up" } else { "down" }],
        )
    }

    /// Every packet to the portal dropped beyond the Diskominfo router (a blackhole route in
    /// it), or forwarded again.
    pub fn set_primary_blackhole(&self, on: bool) -> Result<()> {
        if on {
            self.ip(Ns::Kominfo, &["route", "replace", "blackhole", PORTAL])
        } else {
            self.ip(
                Ns::Kominfo,
                &["route", "replace", PORTAL, "via", "203.0.113.2"],
            )
        }
    }

    /// An impostor on the primary (a TLS-inspecting middlebox at Diskominfo): the router takes
    /// the portal's address as its own, so whatever listens there in its namespace (with
    /// `ip_nonlocal_bind`, see [`Routes::allow_nonlocal_bind`]) answers the primary's traffic
    /// with its own certificate; or gives the address back.
    pub fn set_primary_impostor(&self, on: bool) -> Result<()> {
        let addr = format!("{PORTAL}/32");
        self.ip(
            Ns::Kominfo,
            &["addr", if on { "add" } else { "del" }, &addr, "dev", "lo"],
        )
    }

    /// Let programs in `ns` listen on an address it does not have (yet).
    pub fn allow_nonlocal_bind(&self, ns: Ns) -> Result<()> {
        self.sysctl(ns, "net.ipv4.ip_nonlocal_bind", "1")
    }

    /// Packets sent out of an OPD interface (`kom0` or `vpn0`), from `ip -s link`.
    pub fn tx_packets(&self, dev: &str) -> Result<u64> {
        let out = self.run_in(Ns::Opd, &["ip", "-s", "-j", "link", "show", dev])?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("ip -s -j link show {dev}"))?;
        v[0]["stats64"]["tx"]["packets"]
            .as_u64()
            .with_context(|| format!("no tx counter for {dev}: {v}"))
    }
}

impl Drop for Routes {
    fn drop(&mut self) {
        for name in self.created.drain(..).rev() {
            remove_namespace(&name);
        }
    }
}
