//! A `juknis serve` or `juknis demo` for tests, listening on a port the kernel chose.
//!
//! Tests used to ask the kernel for a free port, release it and pass it to `--listen`. Between
//! the release and serve's bind another process of the same run (a parallel test's daemon, a
//! probe's outgoing connection) may take the port; the test then talks to the wrong process or
//! to none, and fails without a word about why. Here serve binds `127.0.0.1:0`, the test reads
//! the address from serve's own ready line, and a daemon that stops early fails the test with
//! what it wrote to stderr.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the daemon"
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A running daemon; killed on drop if the test did not [`Daemon::stop`] it.
pub struct Daemon {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: PathBuf,
}

/// What serve prints once it accepts connections (src/cli/serve.rs), before `http://` or
/// `https://` and the address.
const READY: &str = "juknis serving on ";

impl Daemon {
    /// Start `cmd` (a `juknis serve ...` without `--listen`) on `127.0.0.1:0`, its stderr in
    /// `log`, and wait up to `within` for its ready line.
    pub fn serve(cmd: Command, log: &Path, within: Duration) -> Daemon {
        Daemon::start(cmd, log, within, |log| {
            let url = log.lines().find_map(|l| l.strip_prefix(READY))?;
            let addr = url.split_once("://").map_or(url, |(_, a)| a);
            Some(addr.trim().parse().expect("serve's address"))
        })
    }

    /// Start `cmd` (a `juknis demo --files-dir <files> ...` without `--listen`) on
    /// `127.0.0.1:0`, its output in `log`, and wait up to `within` for its `demo.json`.
    pub fn demo(cmd: Command, files: &Path, log: &Path, within: Duration) -> Daemon {
        let info = files.join("demo.json");
        Daemon::start(cmd, log, within, |_| {
            // Written once, maybe not wholly yet: read until it parses.
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&info).ok()?).ok()?;
            let url = v["url"].as_str()?;
            let addr = url.strip_prefix("http://")?.trim_end_matches('/');
            Some(addr.parse().expect("the demo's address"))
        })
    }

    fn start(
        mut cmd: Command,
        log: &Path,
        within: Duration,
        ready: impl Fn(&str) -> Option<SocketAddr>,
    ) -> Daemon {
        let out = std::fs::File::create(log).expect("daemon log");
        let child = cmd
            .args(["--listen", "127.0.0.1:0"])
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("juknis starts");
        let mut d = Daemon {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: log.to_path_buf(),
        };
        let deadline = Instant::now() + within;
        loop {
            let text = d.log();
            if let Some(addr) = ready(&text) {
                d.addr = addr;
                return d;
            }
            if let Some(status) = d.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("juknis stopped before listening ({status}):\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "juknis did not listen within {within:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// The exit status, if the daemon has stopped.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// What the daemon wrote (stdout and stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Panic with the daemon's stderr if it has stopped: for a test to call when an exchange
    /// with the daemon failed, so the failure says why.
    pub fn assert_running(&mut self) {
        if let Some(status) = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
        {
            panic!("juknis stopped ({status}):\n{}", self.log());
        }
    }

    /// Stop the daemon as systemd or Ctrl-C would (SIGINT) and wait for it, 20 s at most.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        child.wait().expect("wait")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- juknis stderr ---\n{}", self.log());
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
