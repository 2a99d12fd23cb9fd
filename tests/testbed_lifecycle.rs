//! The test-bed builds the declared topology and always cleans up after itself.
//!
//! Needs root (network namespaces); skips with a reason without it, fails when `CI=true`.

#[path = "support/testbed.rs"]
mod testbed;

use std::process::Command;

use anyhow::{Result, ensure};
use testbed::{Config, Ns, Testbed};

fn namespaces() -> Result<Vec<String>> {
    let out = Command::new("ip").args(["netns", "list"]).output()?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect())
}

#[test]
fn topology_has_the_documentation_addresses_and_routes() -> Result<()> {
    let Some(tb) = Testbed::new_or_skip(Config::default(), &["ping"])? else {
        return Ok(());
    };
    let opd = tb.run_ok(Ns::Opd, &["ip", "-4", "-o", "addr", "show", "dev", "opd0"])?;
    ensure!(opd.contains("198.51.100.2/24"), "{opd}");
    let mid = tb.run_ok(Ns::Diskominfo, &["ip", "-4", "-o", "addr"])?;
    ensure!(
        mid.contains("198.51.100.1/24") && mid.contains("203.0.113.1/24"),
        "{mid}"
    );
    let dk = tb.run_ok(
        Ns::Dukcapil,
        &["ip", "-4", "-o", "addr", "show", "dev", "dk0"],
    )?;
    ensure!(dk.contains("203.0.113.2/24"), "{dk}");
    // The OPD reaches Dukcapil through Diskominfo: the path goes via the middle.
    let route = tb.run_ok(
        Ns::Opd,
        &["ip", "route", "get", &tb.dukcapil_addr().to_string()],
    )?;
    ensure!(route.contains("via 198.51.100.1"), "{route}");
    let qdisc = tb.run_ok(Ns::Diskominfo, &["tc", "qdisc", "show", "dev", "mid-opd"])?;
    ensure!(
        qdisc.contains("tbf") && qdisc.contains("rate 1Mbit"),
        "{qdisc}"
    );
    // A ping from Dukcapil back to the OPD crosses the relay too.
    tb.run_ok(
        Ns::Dukcapil,
        &[
            "ping",
            "-n",
            "-c",
            "2",
            "-i",
            "0.2",
            "-W",
            "2",
            "198.51.100.2",
        ],
    )?;
    let stats = tb.settled_relay_stats()?;
    ensure!(
        stats.up.forwarded >= 2 && stats.down.forwarded >= 2,
        "{stats:?}"
    );
    Ok(())
}

#[test]
fn namespaces_are_removed_on_drop_and_on_panic() -> Result<()> {
    let Some(tb) = Testbed::new_or_skip(Config::default(), &[])? else {
        return Ok(());
    };
    let names: Vec<String> = [Ns::Opd, Ns::Diskominfo, Ns::Dukcapil]
        .iter()
        .map(|&ns| tb.ns_name(ns))
        .collect();
    ensure!(
        names
            .iter()
            .all(|n| namespaces().is_ok_and(|all| all.contains(n)))
    );
    drop(tb);
    let all = namespaces()?;
    ensure!(
        names.iter().all(|n| !all.contains(n)),
        "left after drop: {all:?}"
    );

    // Other tests of this file run beside this one with their own beds: look only at this one's.
    let names = std::sync::Mutex::new(Vec::new());
    let caught = std::panic::catch_unwind(|| {
        let tb = Testbed::new(Config::default()).expect("a test-bed");
        if let Ok(mut names) = names.lock() {
            names.extend([Ns::Opd, Ns::Diskominfo, Ns::Dukcapil].map(|ns| tb.ns_name(ns)));
        }
        panic!("a failing test, with its test-bed alive");
    });
    ensure!(caught.is_err());
    let names = names.into_inner().unwrap_or_default();
    ensure!(names.len() == 3, "the bed was not built: {names:?}");
    let all = namespaces()?;
    let left: Vec<&String> = names.iter().filter(|n| all.contains(n)).collect();
    ensure!(left.is_empty(), "left after a panic: {left:?}");
    Ok(())
}

#[test]
fn leftovers_of_a_dead_run_are_removed() -> Result<()> {
    if !testbed_can_run()? {
        return Ok(());
    }
    // A pid that certainly ended: a child we waited for.
    let mut child = Command::new("true").spawn()?;
    let dead = child.id();
    child.wait()?;
    let stale = format!("jk-{dead}-0-opd");
    let status = Command::new("ip").args(["netns", "add", &stale]).status()?;
    ensure!(status.success(), "could not make {stale}");
    let tb = Testbed::new(Config::default());
    let all = namespaces()?;
    drop(tb);
    if all.contains(&stale) {
        let _ = Command::new("ip").args(["netns", "del", &stale]).status();
        anyhow::bail!("{stale} survived a new test-bed");
    }
    Ok(())
}

/// The same root check as the test-bed, for a test that makes namespaces by hand.
fn testbed_can_run() -> Result<bool> {
    Ok(Testbed::new_or_skip(Config::default(), &[])?.is_some())
}
