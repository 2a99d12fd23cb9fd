//! Network-namespace test-bed: OPD — Diskominfo — Dukcapil on documentation addresses, with a shaped
//! link and known delay and loss, for tests and benchmarks that must cross a real link.
//!
//! ```text
//!  ns OPD               ns Diskominfo (router)                     ns Dukcapil
//!  opd0 198.51.100.2 ── mid-opd 198.51.100.1 │ mid-dk 203.0.113.1 ── dk0 203.0.113.2
//!   tbf egress            tbf egress         │
//!                     policy routing ──► TUN `jkimp` ◄──► juknis-impair (delay, jitter, loss)
//! ```
//!
//! The OPD–Diskominfo link is shaped with `tbf` at both ends (each end's egress) to the configured rate.
//! `tc netem` is not available on our kernels, so delay and loss come from `juknis-impair` (see
//! `src/bin/juknis-impair.rs`): every packet forwarded between OPD and Dukcapil is routed through its
//! TUN device once, so the round trip gets the configured one-way delay twice and each direction loses
//! packets with the configured probability. Traffic to Diskominfo's own addresses is not impaired.
//!
//! Names carry the prefix `jk-<pid>-<n>-`; `Drop` kills what runs inside and deletes the namespaces,
//! also while a failing test unwinds, and `Testbed::new` first removes leftovers of dead processes.
//! Only this module may create or delete `jk-*` namespaces. Nothing here is reachable from the host:
//! the namespaces have no link to it and the router has no default route.
#![allow(
    dead_code,
    reason = "each tests/testbed_*.rs file uses a different part of the test-bed"
)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};

/// 512 kbit/s, the contracted rate of the Bandung Juknis link.
pub const RATE_512K: u64 = 512_000;
/// 1 Mbit/s.
pub const RATE_1M: u64 = 1_000_000;
/// 2 Mbit/s.
pub const RATE_2M: u64 = 2_000_000;

/// Name prefix of every namespace a test-bed creates.
pub const PREFIX: &str = "jk-";
/// TUN device of the impairment relay, inside the Diskominfo namespace.
const TUN: &str = "jkimp";
/// Routing table that sends forwarded traffic into the relay.
const RELAY_TABLE: &str = "100";

const OPD_ADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const MID_OPD_ADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const MID_DK_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);
const DUKCAPIL_ADDR: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);

/// Test-beds of one process run one at a time: on two cores, two shaped links side by side would
/// steal each other's CPU and blur the truth they are meant to show.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// What the test-bed is asked to be.
#[derive(Debug, Clone)]
pub struct Config {
    /// Rate of the OPD–Diskominfo link in bit/s, counted on Ethernet frames, in each direction.
    pub rate_bps: u64,
    /// One-way delay added between OPD and Dukcapil (so the round trip gets it twice).
    pub delay: Duration,
    /// Extra one-way delay drawn uniformly from `[0, jitter]` per packet.
    pub jitter: Duration,
    /// Probability that a packet is dropped, in each direction independently.
    pub loss: f64,
    /// Seed of the relay's random streams.
    pub seed: u64,
    /// The shapers' bucket in bytes (`tbf burst`), as MikroTik queues and provider CPEs set it
    /// (8 to 64 KB); `None`: 10 ms at the rate, at least two frames.
    pub burst_bytes: Option<u64>,
    /// A policer instead of a shaper: the `tbf` queue holds this many full frames and drops what
    /// does not fit (this kernel has no `tc police` action).
    pub police_frames: Option<u32>,
    /// The Dukcapil→OPD (down) rate when it differs from `rate_bps`, which is then the up rate.
    pub down_rate_bps: Option<u64>,
    /// Cross traffic: a UDP flow (`iperf3 -u`) from Dukcapil to the OPD at this rate for the
    /// bed's life, through the down shaper.
    pub cross_bps: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            rate_bps: RATE_1M,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            seed: 1,
            burst_bytes: None,
            police_frames: None,
            down_rate_bps: None,
            cross_bps: None,
        }
    }
}

/// The ground truth a test-bed was built with, and what follows from it for common measurements.
#[derive(Debug, Clone)]
pub struct Truth {
    /// The up rate (OPD→Dukcapil); the down rate too unless `down_rate_bps` says otherwise.
    pub rate_bps: u64,
    pub down_rate_bps: u64,
    /// The shapers' bucket in bytes.
    pub burst_bytes: u64,
    pub policed: bool,
    pub cross_bps: u64,
    pub one_way_delay: Duration,
    pub jitter: Duration,
    pub loss_per_direction: f64,
    pub seed: u64,
}

impl Truth {
    /// Smallest round-trip time the impairment allows (the kernel's own path adds tens of µs).
    pub fn rtt(&self) -> Duration {
        self.one_way_delay * 2
    }

    /// Largest round-trip time the impairment allows for a lone packet.
    pub fn rtt_max(&self) -> Duration {
        (self.one_way_delay + self.jitter) * 2
    }

    /// The narrower direction's rate: what a round trip (echo trains) can see.
    pub fn round_trip_bps(&self) -> u64 {
        self.rate_bps.min(self.down_rate_bps)
    }

    /// The rate left to a round trip beside the cross traffic (which flows down).
    pub fn available_bps(&self) -> u64 {
        self.rate_bps
            .min(self.down_rate_bps.saturating_sub(self.cross_bps))
    }

    /// Probability that an echo request or its reply is lost.
    pub fn round_trip_loss(&self) -> f64 {
        1.0 - (1.0 - self.loss_per_direction).powi(2)
    }

    /// TCP goodput a bulk transfer can reach: the link rate times payload per frame
    /// (1448 bytes of a 1514-byte frame: Ethernet 14, IPv4 20, TCP with timestamps 32).
    pub fn tcp_goodput_bps(&self) -> f64 {
        self.rate_bps as f64 * 1448.0 / 1514.0
    }
}

/// The three hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ns {
    Opd,
    Diskominfo,
    Dukcapil,
}

impl Ns {
    const ALL: [Ns; 3] = [Ns::Opd, Ns::Diskominfo, Ns::Dukcapil];

    fn suffix(self) -> &'static str {
        match self {
            Ns::Opd => "opd",
            Ns::Diskominfo => "kominfo",
            Ns::Dukcapil => "dukcapil",
        }
    }
}

/// Counters of the impairment relay: the exact truth of what it dropped.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct RelayDirection {
    pub received: u64,
    pub dropped: u64,
    pub overflow: u64,
    pub forwarded: u64,
    pub send_errors: u64,
}

/// `up` is OPD to Dukcapil, `down` is Dukcapil to OPD.
#[derive(Debug, Clone, Copy, Default, serde::Deserialize)]
pub struct RelayStats {
    pub up: RelayDirection,
    pub down: RelayDirection,
    pub other: u64,
}

/// A live test-bed. Dropping it removes everything it made.
pub struct Testbed {
    id: String,
    config: Config,
    relay: Option<Child>,
    /// The cross-traffic flow's client and server.
    cross: Vec<Spawned>,
    stats_path: PathBuf,
    created: Vec<String>,
    _one_at_a_time: MutexGuard<'static, ()>,
}

/// Why a test-bed cannot run here, if it cannot.
fn unmet_needs(tools: &[&str]) -> Option<String> {
    if !is_root() {
        return Some("the test-bed needs root (network namespaces, tc, TUN)".to_owned());
    }
    let missing: Vec<&str> = ["ip", "tc"]
        .iter()
        .chain(tools)
        .copied()
        .filter(|tool| !on_path(tool))
        .collect();
    if !missing.is_empty() {
        return Some(format!(
            "the test-bed needs {} on PATH (Debian: iproute2, iputils-ping, iperf3)",
            missing.join(", ")
        ));
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("the test-bed needs /dev/net/tun (the impairment relay)".to_owned());
    }
    None
}

impl Testbed {
    /// Builds a test-bed, or returns `None` after printing why it cannot run here (not root, a tool
    /// missing). With `CI=true` in the environment that reason is an error instead: CI must not
    /// silently skip the tests that need a real link. `tools` are the programs the test will run.
    pub fn new_or_skip(config: Config, tools: &[&str]) -> Result<Option<Self>> {
        if let Some(reason) = unmet_needs(tools) {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                bail!("{reason}; CI=true, so this is a failure, not a skip");
            }
            // Straight to stderr, past libtest's capture, so a skip shows in every test log.
            let _ = writeln!(std::io::stderr(), "skipping test-bed test: {reason}");
            return Ok(None);
        }
        Self::new(config).map(Some)
    }

    /// Builds a test-bed. Needs root; see [`Testbed::new_or_skip`] for tests.
    pub fn new(config: Config) -> Result<Self> {
        ensure!(
            (0.0..=1.0).contains(&config.loss),
            "loss {} is not a probability",
            config.loss
        );
        ensure!(
            config.rate_bps >= 64_000,
            "rate {} bit/s is too low for a test",
            config.rate_bps
        );
        let guard = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        remove_leftovers()?;
        let id = format!(
            "{PREFIX}{}-{}-",
            std::process::id(),
            NEXT_ID.fetch_add(1, Ordering::Relaxed)
        );
        let stats_path = std::env::temp_dir().join(format!("{id}relay.json"));
        let mut tb = Self {
            id,
            config,
            relay: None,
            cross: Vec::new(),
            stats_path,
            created: Vec::new(),
            _one_at_a_time: guard,
        };
        // On any error `tb` is dropped here, which removes what was made so far.
        tb.build()?;
        Ok(tb)
    }

    /// The namespace's name, for `ip netns exec` or `ip -n` by hand.
    pub fn ns_name(&self, ns: Ns) -> String {
        format!("{}{}", self.id, ns.suffix())
    }

    pub fn opd_addr(&self) -> Ipv4Addr {
        OPD_ADDR
    }

    pub fn dukcapil_addr(&self) -> Ipv4Addr {
        DUKCAPIL_ADDR
    }

    /// Diskominfo's address on the OPD side (the OPD's gateway).
    pub fn diskominfo_opd_side_addr(&self) -> Ipv4Addr {
        MID_OPD_ADDR
    }

    /// Diskominfo's address on the Dukcapil side.
    pub fn diskominfo_dukcapil_side_addr(&self) -> Ipv4Addr {
        MID_DK_ADDR
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The ground truth this test-bed was built with.
    pub fn truth(&self) -> Truth {
        let down = self.config.down_rate_bps.unwrap_or(self.config.rate_bps);
        Truth {
            rate_bps: self.config.rate_bps,
            down_rate_bps: down,
            burst_bytes: tbf_burst(self.config.rate_bps.min(down), self.config.burst_bytes),
            policed: self.config.police_frames.is_some(),
            cross_bps: self.config.cross_bps.unwrap_or(0),
            one_way_delay: self.config.delay,
            jitter: self.config.jitter,
            loss_per_direction: self.config.loss,
            seed: self.config.seed,
        }
    }

    /// What the relay has counted so far (it writes its counters every 100 ms).
    pub fn relay_stats(&self) -> Result<RelayStats> {
        let raw = std::fs::read(&self.stats_path)
            .with_context(|| format!("reading {}", self.stats_path.display()))?;
        serde_json::from_slice(&raw).context("parsing the relay's counters")
    }

    /// Waits until the relay's counters no longer change (its 100 ms tick), then returns them.
    pub fn settled_relay_stats(&self) -> Result<RelayStats> {
        let mut last = self.relay_stats()?;
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(250));
            let now = self.relay_stats()?;
            if now.up.received == last.up.received && now.down.received == last.down.received {
                return Ok(now);
            }
            last = now;
        }
        Ok(last)
    }

    /// A `Command` that runs `program` inside `ns` (through `ip netns exec`).
    pub fn command_in(&self, ns: Ns, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns_name(ns), program]);
        cmd
    }

    /// Runs `argv` inside `ns` and waits for it; the output whatever the exit status.
    pub fn run_in(&self, ns: Ns, argv: &[&str]) -> Result<Output> {
        let (program, args) = argv.split_first().context("an empty command")?;
        self.command_in(ns, program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {argv:?} in {}", self.ns_name(ns)))
    }

    /// Runs `argv` inside `ns`; its stdout, or an error with its stderr if it failed.
    pub fn run_ok(&self, ns: Ns, argv: &[&str]) -> Result<String> {
        let out = self.run_in(ns, argv)?;
        ensure!(
            out.status.success(),
            "{argv:?} in {} failed ({}): {}",
            self.ns_name(ns),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `argv` inside `ns`; the process is killed when the guard is dropped (and in any case
    /// when the test-bed is).
    pub fn spawn_in(&self, ns: Ns, argv: &[&str]) -> Result<Spawned> {
        let (program, args) = argv.split_first().context("an empty command")?;
        let child = self
            .command_in(ns, program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {argv:?} in {}", self.ns_name(ns)))?;
        Ok(Spawned(Some(child)))
    }

    /// Waits until something in `ns` listens on TCP `port`.
    pub fn wait_for_tcp_listener(&self, ns: Ns, port: u16, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let filter = format!("sport = :{port}");
        loop {
            let out = self.run_ok(ns, &["ss", "-Hltn", &filter])?;
            if !out.trim().is_empty() {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "nothing listens on TCP port {port} in {} after {timeout:?}",
                self.ns_name(ns)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ip(&self, ns: Ns, args: &[&str]) -> Result<()> {
        let name = self.ns_name(ns);
        let mut argv = vec!["-n", name.as_str()];
        argv.extend_from_slice(args);
        run_host("ip", &argv)
    }

    fn tc(&self, ns: Ns, args: &[&str]) -> Result<()> {
        let name = self.ns_name(ns);
        let mut argv = vec!["-n", name.as_str()];
        argv.extend_from_slice(args);
        run_host("tc", &argv)
    }

    fn sysctl(&self, ns: Ns, key: &str, value: &str) -> Result<()> {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        self.run_ok(
            ns,
            &["sh", "-c", &format!("echo {value} > {path}"), "sysctl"],
        )
        .map(drop)
    }

    fn build(&mut self) -> Result<()> {
        for ns in Ns::ALL {
            let name = self.ns_name(ns);
            run_host("ip", &["netns", "add", &name])?;
            self.created.push(name);
            self.ip(ns, &["link", "set", "lo", "up"])?;
            // IPv4 only: no router solicitations or DAD through the relay or into the counters.
            self.sysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1")?;
            self.sysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1")?;
        }
        let (opd, mid, dk) = (
            self.ns_name(Ns::Opd),
            self.ns_name(Ns::Diskominfo),
            self.ns_name(Ns::Dukcapil),
        );
        // The router forwards; strict reverse-path filtering would drop packets coming back out of
        // the TUN device, since their source is routed through a veth.
        self.sysctl(Ns::Diskominfo, "net.ipv4.ip_forward", "1")?;
        self.sysctl(Ns::Diskominfo, "net.ipv4.conf.all.rp_filter", "0")?;
        self.sysctl(Ns::Diskominfo, "net.ipv4.conf.default.rp_filter", "0")?;

        run_host(
            "ip",
            &[
                "link", "add", "opd0", "netns", &opd, "type", "veth", "peer", "name", "mid-opd",
                "netns", &mid,
            ],
        )?;
        run_host(
            "ip",
            &[
                "link", "add", "dk0", "netns", &dk, "type", "veth", "peer", "name", "mid-dk",
                "netns", &mid,
            ],
        )?;
        for (ns, dev, addr) in [
            (Ns::Opd, "opd0", OPD_ADDR),
            (Ns::Diskominfo, "mid-opd", MID_OPD_ADDR),
            (Ns::Diskominfo, "mid-dk", MID_DK_ADDR),
            (Ns::Dukcapil, "dk0", DUKCAPIL_ADDR),
        ] {
            self.ip(ns, &["addr", "add", &format!("{addr}/24"), "dev", dev])?;
            self.ip(ns, &["link", "set", dev, "up"])?;
        }
        self.ip(
            Ns::Opd,
            &["route", "add", "default", "via", &MID_OPD_ADDR.to_string()],
        )?;
        self.ip(
            Ns::Dukcapil,
            &["route", "add", "default", "via", &MID_DK_ADDR.to_string()],
        )?;

        let down = self.config.down_rate_bps.unwrap_or(self.config.rate_bps);
        for (ns, dev, bps) in [
            (Ns::Opd, "opd0", self.config.rate_bps),
            (Ns::Diskominfo, "mid-opd", down),
        ] {
            let (rate, burst, limit) =
                tbf_parameters(bps, self.config.burst_bytes, self.config.police_frames);
            self.tc(
                ns,
                &[
                    "qdisc", "replace", "dev", dev, "root", "tbf", "rate", &rate, "burst", &burst,
                    "limit", &limit,
                ],
            )?;
        }

        self.start_relay()?;
        // Forwarded traffic between the two sides goes through the relay once; what comes back out
        // of the TUN device matches no rule and is forwarded by the main table.
        self.ip(
            Ns::Diskominfo,
            &["route", "add", "default", "dev", TUN, "table", RELAY_TABLE],
        )?;
        for (iif, to, pref) in [
            ("mid-opd", "203.0.113.0/24", "100"),
            ("mid-dk", "198.51.100.0/24", "101"),
        ] {
            self.ip(
                Ns::Diskominfo,
                &[
                    "rule",
                    "add",
                    "pref",
                    pref,
                    "iif",
                    iif,
                    "to",
                    to,
                    "lookup",
                    RELAY_TABLE,
                ],
            )?;
        }
        // The first packets would otherwise pay for ARP resolution on top of the configured delay.
        self.run_ok(
            Ns::Opd,
            &[
                "ping",
                "-n",
                "-q",
                "-c",
                "1",
                "-W",
                "2",
                &MID_OPD_ADDR.to_string(),
            ],
        )
        .ok();
        self.run_ok(
            Ns::Dukcapil,
            &[
                "ping",
                "-n",
                "-q",
                "-c",
                "1",
                "-W",
                "2",
                &MID_DK_ADDR.to_string(),
            ],
        )
        .ok();
        if let Some(cross) = self.config.cross_bps {
            self.start_cross_traffic(cross)?;
        }
        Ok(())
    }

    /// A UDP flow of 1,000-byte datagrams from Dukcapil to the OPD at `bps` (iperf3 counts UDP
    /// payload; the rate is set so the frames on the link carry `bps`).
    fn start_cross_traffic(&mut self, bps: u64) -> Result<()> {
        let opd = OPD_ADDR.to_string();
        let server = self.spawn_in(Ns::Opd, &["iperf3", "-s", "-B", &opd, "-p", "5299"])?;
        self.wait_for_tcp_listener(Ns::Opd, 5299, Duration::from_secs(5))?;
        // Frame bytes per datagram: 1000 + UDP 8 + IPv4 20 + Ethernet 14.
        let payload_bps = bps * 1000 / 1042;
        let client = self.spawn_in(
            Ns::Dukcapil,
            &[
                "iperf3",
                "-u",
                "-c",
                &opd,
                "-p",
                "5299",
                "-l",
                "1000",
                "-b",
                &format!("{payload_bps}"),
                "-t",
                "3600",
            ],
        )?;
        // Let the flow settle into the shaper before anything measures beside it.
        std::thread::sleep(Duration::from_millis(1500));
        self.cross = vec![client, server];
        Ok(())
    }

    fn start_relay(&mut self) -> Result<()> {
        let relay = option_env!("CARGO_BIN_EXE_juknis-impair").context(
            "the impairment relay is test equipment: run with `--features test-equipment` \
             (`make test` does)",
        )?;
        let delay = format!("{}us", self.config.delay.as_micros());
        let jitter = format!("{}us", self.config.jitter.as_micros());
        let loss = self.config.loss.to_string();
        let seed = self.config.seed.to_string();
        let stats = self.stats_path.display().to_string();
        let mut child = self
            .command_in(Ns::Diskominfo, relay)
            .args([
                "--dev", TUN, "--delay", &delay, "--jitter", &jitter, "--loss", &loss, "--seed",
                &seed, "--stats", &stats,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting juknis-impair")?;
        let stdout = child.stdout.take().context("the relay's stdout")?;
        self.relay = Some(child);
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
            "juknis-impair did not start (its first line: {line:?}; see its stderr above)"
        );
        Ok(())
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.cross.clear();
        if let Some(mut relay) = self.relay.take() {
            let _ = relay.kill();
            let _ = relay.wait();
        }
        for name in self.created.drain(..).rev() {
            remove_namespace(&name);
        }
        let _ = std::fs::remove_file(&self.stats_path);
    }
}

/// A process started with [`Testbed::spawn_in`]; killed on drop.
pub struct Spawned(Option<Child>);

impl Spawned {
    /// Waits for the process to end by itself and returns its output.
    pub fn wait(mut self) -> Result<Output> {
        let child = self.0.take().context("already waited for")?;
        child.wait_with_output().context("waiting for a process")
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

/// The `tbf` burst for a rate: the configured one, else 10 ms at the rate but at least two full
/// frames, so a probe's single packet never waits for tokens.
fn tbf_burst(rate_bps: u64, burst: Option<u64>) -> u64 {
    burst.unwrap_or((rate_bps / 8 / 100).max(2 * 1514))
}

/// `tbf` rate, burst and queue limit for a rate in bit/s.
///
/// The queue holds 200 ms at the rate (at least 16 frames), enough for a TCP flow to keep the link
/// busy at the delays we configure without hiding the rate behind a deep buffer; a policer's holds
/// `police_frames` full frames, so what exceeds the bucket is dropped, not queued.
fn tbf_parameters(
    rate_bps: u64,
    burst: Option<u64>,
    police_frames: Option<u32>,
) -> (String, String, String) {
    let bytes_per_s = rate_bps / 8;
    let burst = tbf_burst(rate_bps, burst);
    let limit = match police_frames {
        Some(n) => u64::from(n) * 1514,
        None => (bytes_per_s / 5).max(16 * 1514),
    };
    (
        format!("{rate_bps}bit"),
        burst.to_string(),
        limit.to_string(),
    )
}

/// Deletes namespaces left by test processes that no longer exist (a crashed or killed run).
pub fn remove_leftovers() -> Result<()> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .context("running ip netns list")?;
    let me = std::process::id();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != me && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("test-bed: removing {name}, left by process {pid} which is gone");
            remove_namespace(name);
        }
    }
    // The relay's counter files of dead runs.
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let dead = file
                .strip_prefix(PREFIX)
                .filter(|rest| rest.ends_with("relay.json"))
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok())
                .is_some_and(|pid| {
                    pid != me && !std::path::Path::new(&format!("/proc/{pid}")).exists()
                });
            if dead {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

/// Kills whatever still runs inside the namespace, then deletes it. Best effort: used on drop.
pub fn remove_namespace(name: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-KILL", pid]).status();
        }
    }
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stderr(Stdio::null())
        .status();
}

pub fn run_host(program: &str, args: &[&str]) -> Result<()> {
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

pub fn is_root() -> bool {
    // The effective uid is the second field of `Uid:` in /proc/self/status; no libc call needed.
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

pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
        || ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
            .iter()
            .any(|dir| std::path::Path::new(dir).join(tool).is_file())
}

/// What iputils `ping` reported.
#[derive(Debug, Clone)]
pub struct PingReport {
    pub transmitted: u32,
    pub received: u32,
    /// Round-trip time of each reply, in arrival order.
    pub rtts: Vec<Duration>,
    /// ICMP payload size asked for (`-s`).
    pub payload: usize,
}

impl PingReport {
    pub fn loss(&self) -> f64 {
        if self.transmitted == 0 {
            return 0.0;
        }
        1.0 - f64::from(self.received) / f64::from(self.transmitted)
    }

    /// Median round-trip time, or `None` without replies.
    pub fn median_rtt(&self) -> Option<Duration> {
        let mut sorted = self.rtts.clone();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied()
    }

    pub fn min_rtt(&self) -> Option<Duration> {
        self.rtts.iter().min().copied()
    }

    pub fn mean_rtt(&self) -> Option<Duration> {
        let n = u32::try_from(self.rtts.len()).ok().filter(|&n| n > 0)?;
        Some(self.rtts.iter().sum::<Duration>() / n)
    }

    /// IP bytes on the link: each request and each reply is payload + ICMP 8 + IPv4 20.
    pub fn bytes_spent(&self) -> u64 {
        (u64::from(self.transmitted) + u64::from(self.received)) * (self.payload as u64 + 28)
    }
}

/// Runs iputils `ping` from the OPD to Dukcapil: `count` echoes every `interval`, `payload` bytes each.
pub fn ping_dukcapil(
    tb: &Testbed,
    count: u32,
    interval: Duration,
    payload: usize,
) -> Result<PingReport> {
    let out = tb.run_in(
        Ns::Opd,
        &[
            "ping",
            "-n",
            "-c",
            &count.to_string(),
            "-i",
            &format!("{:.3}", interval.as_secs_f64()),
            "-s",
            &payload.to_string(),
            // No `-w`: with a deadline, `-c` counts replies instead of requests. `-W` bounds the
            // wait for the last one.
            "-W",
            "2",
            &tb.dukcapil_addr().to_string(),
        ],
    )?;
    // Exit status 1 means some replies were missing: that is a measurement, not a failure.
    let text = String::from_utf8_lossy(&out.stdout);
    let report = parse_ping(&text, payload)
        .with_context(|| format!("ping said: {}", String::from_utf8_lossy(&out.stderr)))?;
    Ok(report)
}

fn parse_ping(text: &str, payload: usize) -> Result<PingReport> {
    let mut rtts = Vec::new();
    let mut counts = None;
    for line in text.lines() {
        if let Some(ms) = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("time="))
            .and_then(|ms| ms.parse::<f64>().ok())
        {
            rtts.push(Duration::from_secs_f64(ms / 1e3));
        }
        if line.contains("packets transmitted") {
            let numbers: Vec<u32> = line
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse().ok())
                .collect();
            if let [transmitted, received, ..] = numbers[..] {
                counts = Some((transmitted, received));
            }
        }
    }
    let (transmitted, received) = counts.context("no summary line in ping's output")?;
    Ok(PingReport {
        transmitted,
        received,
        rtts,
        payload,
    })
}

/// What `iperf3 -J` reported.
#[derive(Debug, Clone)]
pub struct IperfReport {
    /// Goodput seen by the receiver, bit/s.
    pub received_bps: f64,
    /// TCP payload bytes the sender sent over the whole run.
    pub bytes_sent: u64,
    pub seconds: f64,
}

/// Direction of a bulk transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// OPD sends to Dukcapil.
    Upload,
    /// Dukcapil sends to the OPD (`iperf3 -R`).
    Download,
}

/// Runs an `iperf3` TCP test between the OPD (client) and Dukcapil (server) for `seconds`.
pub fn iperf3_tcp(tb: &Testbed, direction: Direction, seconds: u32) -> Result<IperfReport> {
    let server_addr = tb.dukcapil_addr().to_string();
    let _server = tb.spawn_in(Ns::Dukcapil, &["iperf3", "-s", "-1", "-B", &server_addr])?;
    tb.wait_for_tcp_listener(Ns::Dukcapil, 5201, Duration::from_secs(5))?;
    let secs = seconds.to_string();
    let mut argv = vec!["iperf3", "-J", "-c", &server_addr, "-t", &secs];
    if direction == Direction::Download {
        argv.push("-R");
    }
    let out = tb.run_ok(Ns::Opd, &argv)?;
    parse_iperf3(&out)
}

fn parse_iperf3(json: &str) -> Result<IperfReport> {
    let v: serde_json::Value = serde_json::from_str(json).context("iperf3 -J output")?;
    if let Some(err) = v.get("error").and_then(|e| e.as_str()) {
        bail!("iperf3: {err}");
    }
    let end = &v["end"];
    let received_bps = end["sum_received"]["bits_per_second"]
        .as_f64()
        .context("iperf3: no end.sum_received.bits_per_second")?;
    let bytes_sent = end["sum_sent"]["bytes"]
        .as_u64()
        .context("iperf3: no end.sum_sent.bytes")?;
    let seconds = end["sum_received"]["seconds"].as_f64().unwrap_or(0.0);
    Ok(IperfReport {
        received_bps,
        bytes_sent,
        seconds,
    })
}
