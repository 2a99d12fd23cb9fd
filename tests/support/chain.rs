//! A routed chain of network namespaces on documentation addresses: the OPD's host, one or more
//! routers, and the Web Portal, each link its own /26, for tests that need hops (where a fault is
//! placed, what a trace sees).
//!
//! ```text
//!  ns host            ns router 1              ns router 2 …            ns portal
//!  hop-up .2 ── hop-down .1 │ hop-up .65 ── hop-down .66 │ hop-up … ── hop-down 203.0.113.2
//!  198.51.100.0/26           198.51.100.64/26              …  203.0.113.0/26 (last link)
//! ```
//!
//! Link `k` joins node `k` and node `k + 1` (node 0 is the host, the last node the portal). The
//! first link is 198.51.100.0/26 with the host on .2 and its gateway on .1; links between routers
//! are 198.51.100.64/26, .128/26 and .192/26 (left end .1, right end .2 of the subnet); the last
//! link is 203.0.113.0/26 (router .1, portal .2). So with two routers: host 198.51.100.2, router 1
//! 198.51.100.1 | 198.51.100.65, router 2 198.51.100.66 | 203.0.113.1, portal 203.0.113.2. A
//! router's address toward the host is the one it answers traces from.
//!
//! A router can be made silent (it forwards but never sends an ICMP error such as TTL exceeded: its
//! per-peer ICMP rate limit is set to one answer per 1000 s) or lossy (packets it forwards pass through the
//! impairment relay, `juknis-impair`, with a seeded loss; like the relay of tests/support/testbed.rs
//! it is a second forwarding, so a lossy router takes two TTLs and answers for both).
//!
//! Names carry the prefix `jk-<pid>-c<n>-` (tests/support/testbed.rs removes leftovers of dead
//! processes with the same prefix); `Drop` kills what runs inside and deletes the namespaces. Nothing
//! here is reachable from the host: the namespaces have no link to it.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the chain"
)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::Ipv4Addr;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// Subnets of the links before the last, in order from the host.
const INNER: [[u8; 3]; 4] = [
    [198, 51, 100],
    [198, 51, 100],
    [198, 51, 100],
    [198, 51, 100],
];
/// Routing table that sends a lossy router's forwarded traffic into its relay.
const RELAY_TABLE: &str = "100";
const TUN: &str = "jkimp";

/// One router of the chain.
#[derive(Debug, Clone, Default)]
pub struct Router {
    /// Short name, part of the namespace's name (a few letters).
    pub name: &'static str,
    /// Forwards, but sends no ICMP of its own (no TTL exceeded, no echo reply).
    pub silent: bool,
    /// Probability that a packet it forwards is dropped, each direction.
    pub loss: f64,
}

impl Router {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            ..Self::default()
        }
    }
}

/// A live chain. Dropping it removes everything it made.
pub struct Chain {
    id: String,
    routers: Vec<Router>,
    created: Vec<String>,
    relays: Vec<Child>,
}

/// The base address of link `k` of a chain with `n` routers.
fn subnet(k: usize, n: usize) -> [u8; 4] {
    if k == n {
        [203, 0, 113, 0]
    } else {
        let [a, b, c] = INNER[k];
        [a, b, c, (64 * k) as u8]
    }
}

/// The address of the end of link `k` nearer the host (`left`) or the portal.
fn end(k: usize, n: usize, left: bool) -> Ipv4Addr {
    let [a, b, c, d] = subnet(k, n);
    let host_part = match (k, left) {
        (0, true) => 2,
        (0, false) => 1,
        (_, true) => 1,
        (_, false) => 2,
    };
    Ipv4Addr::new(a, b, c, d + host_part)
}

impl Chain {
    /// Builds a chain, or returns `None` after printing why it cannot run here (not root, a tool
    /// missing); with `CI=true` that reason is an error instead.
    pub fn new_or_skip(routers: &[Router]) -> Result<Option<Self>> {
        let reason = if !is_root() {
            Some("the chain test-bed needs root (network namespaces)".to_owned())
        } else if !["ip", "ping"].iter().all(|t| on_path(t)) {
            Some("the chain test-bed needs ip and ping on PATH (iproute2, iputils-ping)".to_owned())
        } else if routers.iter().any(|r| r.loss > 0.0)
            && !std::path::Path::new("/dev/net/tun").exists()
        {
            Some("a lossy router needs /dev/net/tun (the impairment relay)".to_owned())
        } else {
            None
        };
        if let Some(reason) = reason {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                bail!("{reason}; CI=true, so this is a failure, not a skip");
            }
            let _ = writeln!(std::io::stderr(), "skipping chain test-bed test: {reason}");
            return Ok(None);
        }
        Self::new(routers).map(Some)
    }

    pub fn new(routers: &[Router]) -> Result<Self> {
        ensure!(
            (1..=INNER.len()).contains(&routers.len()),
            "a chain has 1 to {} routers",
            INNER.len()
        );
        let id = format!(
            "jk-{}-c{}-",
            std::process::id(),
            NEXT_ID.fetch_add(1, Ordering::Relaxed)
        );
        let mut chain = Self {
            id,
            routers: routers.to_vec(),
            created: Vec::new(),
            relays: Vec::new(),
        };
        chain.build()?;
        Ok(chain)
    }

    fn n(&self) -> usize {
        self.routers.len()
    }

    /// The namespace of node `i`: 0 is the host, 1..=n the routers, n + 1 the portal.
    pub fn ns(&self, i: usize) -> String {
        let n = self.n();
        let suffix = match i {
            0 => "host",
            i if i == n + 1 => "portal",
            i => self.routers[i - 1].name,
        };
        format!("{}{suffix}", self.id)
    }

    pub fn host_ns(&self) -> String {
        self.ns(0)
    }

    pub fn portal_ns(&self) -> String {
        self.ns(self.n() + 1)
    }

    pub fn host_addr(&self) -> Ipv4Addr {
        end(0, self.n(), true)
    }

    pub fn portal_addr(&self) -> Ipv4Addr {
        end(self.n(), self.n(), false)
    }

    /// Router `i`'s (1-based) address toward the host: the one it answers from.
    pub fn router_addr(&self, i: usize) -> Ipv4Addr {
        end(i - 1, self.n(), false)
    }

    /// Cuts the link between node `k` and node `k + 1`, or mends it: the far end (node `k + 1`'s
    /// interface) goes down, as over a cut cable or a dead far router. Node `k` loses carrier but
    /// keeps its routes (Linux still uses routes through a link without carrier), so what it
    /// forwards that way is dropped silently and it still answers TTL exceeded, as a router whose
    /// next hop died does. (Taking node `k`'s own interface down would remove its routes instead:
    /// it would answer "unreachable", which Linux limits to one a second for all its traffic.)
    pub fn set_link(&self, k: usize, up: bool) -> Result<()> {
        run_host(
            "ip",
            &[
                "-n",
                &self.ns(k + 1),
                "link",
                "set",
                "hop-down",
                if up { "up" } else { "down" },
            ],
        )
    }

    /// A `Command` that runs `program` in namespace `ns`.
    pub fn command_in(&self, ns: &str, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns, program]);
        cmd
    }

    /// Runs `argv` in `ns` and waits; the output whatever the exit status.
    pub fn run_in(&self, ns: &str, argv: &[&str]) -> Result<Output> {
        let (program, args) = argv.split_first().context("an empty command")?;
        self.command_in(ns, program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {argv:?} in {ns}"))
    }

    fn ip(&self, i: usize, args: &[&str]) -> Result<()> {
        let ns = self.ns(i);
        let mut argv = vec!["-n", ns.as_str()];
        argv.extend_from_slice(args);
        run_host("ip", &argv)
    }

    fn sysctl(&self, i: usize, key: &str, value: &str) -> Result<()> {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let out = self.run_in(
            &self.ns(i),
            &["sh", "-c", &format!("echo {value} > {path}")],
        )?;
        ensure!(
            out.status.success(),
            "setting {key} in {}: {}",
            self.ns(i),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    fn build(&mut self) -> Result<()> {
        let n = self.n();
        for i in 0..=n + 1 {
            let name = self.ns(i);
            run_host("ip", &["netns", "add", &name])?;
            self.created.push(name);
            self.ip(i, &["link", "set", "lo", "up"])?;
            self.sysctl(i, "net.ipv6.conf.all.disable_ipv6", "1")?;
            self.sysctl(i, "net.ipv6.conf.default.disable_ipv6", "1")?;
        }
        for i in 1..=n {
            self.sysctl(i, "net.ipv4.ip_forward", "1")?;
            self.sysctl(i, "net.ipv4.conf.all.rp_filter", "0")?;
            self.sysctl(i, "net.ipv4.conf.default.rp_filter", "0")?;
            // Linux limits TTL-exceeded answers to one a second per peer after a burst of six; a
            // trace's rounds come faster. Real routers limit too (the tracer says so when a hop's
            // loss does not carry on), but a test must see the loss it configured, not the limit.
            self.sysctl(i, "net.ipv4.icmp_ratelimit", "0")?;
        }
        for k in 0..=n {
            let (left, right) = (self.ns(k), self.ns(k + 1));
            run_host(
                "ip",
                &[
                    "link", "add", "hop-up", "netns", &left, "type", "veth", "peer", "name",
                    "hop-down", "netns", &right,
                ],
            )?;
            for (i, dev, addr) in [
                (k, "hop-up", end(k, n, true)),
                (k + 1, "hop-down", end(k, n, false)),
            ] {
                self.ip(i, &["addr", "add", &format!("{addr}/26"), "dev", dev])?;
                self.ip(i, &["link", "set", dev, "up"])?;
            }
        }
        // Every node but the portal sends everything on toward the portal; the routers reach the
        // subnets behind them toward the host through their left neighbour.
        for i in 0..=n {
            self.ip(
                i,
                &[
                    "route",
                    "add",
                    "default",
                    "via",
                    &end(i, n, false).to_string(),
                ],
            )?;
            for k in 0..i.saturating_sub(1) {
                let [a, b, c, d] = subnet(k, n);
                self.ip(
                    i,
                    &[
                        "route",
                        "add",
                        &format!("{a}.{b}.{c}.{d}/26"),
                        "via",
                        &end(i - 1, n, true).to_string(),
                    ],
                )?;
            }
        }
        self.ip(
            n + 1,
            &[
                "route",
                "add",
                "default",
                "via",
                &end(n, n, true).to_string(),
            ],
        )?;
        for (r, router) in self.routers.clone().iter().enumerate() {
            let i = r + 1;
            if router.silent {
                // Its ICMP errors (TTL exceeded among them: `icmp_ratemask` covers type 11) are
                // limited per peer to one per `icmp_ratelimit` ms, with 60 s of credit for a new
                // peer: at 1000 s a test never sees one. It still answers pings.
                self.sysctl(i, "net.ipv4.icmp_ratelimit", "1000000")?;
            }
            if router.loss > 0.0 {
                self.start_relay(i, router.loss)?;
            }
        }
        // The first probes would otherwise pay for ARP along the way.
        let out = self.run_in(
            &self.host_ns(),
            &[
                "ping",
                "-n",
                "-q",
                "-c",
                "1",
                "-W",
                "2",
                &self.portal_addr().to_string(),
            ],
        )?;
        ensure!(
            out.status.success() || self.routers.iter().any(|r| r.loss > 0.0),
            "the portal does not answer the host across the chain: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        Ok(())
    }

    /// Routes what router `i` forwards through an impairment relay dropping `loss` of it.
    fn start_relay(&mut self, i: usize, loss: f64) -> Result<()> {
        let relay = option_env!("CARGO_BIN_EXE_juknis-impair").context(
            "the impairment relay is test equipment: run with `--features test-equipment` \
             (`make test` does)",
        )?;
        let mut child = self
            .command_in(&self.ns(i), relay)
            .args([
                "--dev",
                TUN,
                "--loss",
                &loss.to_string(),
                "--seed",
                &(i as u64).to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting juknis-impair")?;
        let stdout = child.stdout.take().context("the relay's stdout")?;
        self.relays.push(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .context("juknis-impair did not say it was ready within 10 s")?;
        ensure!(
            line.starts_with("ready"),
            "juknis-impair did not start: {line:?}"
        );
        let n = self.n();
        self.ip(
            i,
            &["route", "add", "default", "dev", TUN, "table", RELAY_TABLE],
        )?;
        // Toward the portal: what comes in from the host's side; back: what comes in from the
        // portal's side and goes to a subnet before this router.
        let mut pref = 100;
        for k in i..=n {
            let [a, b, c, d] = subnet(k, n);
            self.ip(
                i,
                &[
                    "rule",
                    "add",
                    "pref",
                    &pref.to_string(),
                    "iif",
                    "hop-down",
                    "to",
                    &format!("{a}.{b}.{c}.{d}/26"),
                    "lookup",
                    RELAY_TABLE,
                ],
            )?;
            pref += 1;
        }
        for k in 0..i {
            let [a, b, c, d] = subnet(k, n);
            self.ip(
                i,
                &[
                    "rule",
                    "add",
                    "pref",
                    &pref.to_string(),
                    "iif",
                    "hop-up",
                    "to",
                    &format!("{a}.{b}.{c}.{d}/26"),
                    "lookup",
                    RELAY_TABLE,
                ],
            )?;
            pref += 1;
        }
        Ok(())
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        for mut relay in self.relays.drain(..) {
            let _ = relay.kill();
            let _ = relay.wait();
        }
        for name in self.created.drain(..).rev() {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", &name]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-KILL", pid]).status();
                }
            }
            let _ = Command::new("ip")
                .args(["netns", "del", &name])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A process started in a namespace; killed on drop unless it was waited for.
pub struct Spawned(pub Option<Child>);

impl Spawned {
    /// Sends SIGTERM and waits up to `grace` for the process to end.
    pub fn terminate(mut self, grace: Duration) -> Result<()> {
        let Some(mut child) = self.0.take() else {
            return Ok(());
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline {
            if child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        bail!("the process did not stop within {grace:?} of SIGTERM")
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn run_host(program: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program} {}", args.join(" ")))?;
    ensure!(
        out.status.success(),
        "{program} {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
        || ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
            .iter()
            .any(|dir| std::path::Path::new(dir).join(tool).is_file())
}
