//! `juknis-impair`: the test-bed's impairment relay (tests/support/testbed.rs), not part of the appliance.
//!
//! `tc netem` is not available on the kernels we test on, so known delay, jitter and loss come from this
//! small userspace relay instead. It creates a TUN device in the middle (Diskominfo) namespace; policy
//! routing there sends every packet crossing between the OPD and Dukcapil into the device. The relay
//! reads each IPv4 packet, drops it with a seeded probability, holds it for the configured delay (plus a
//! uniform jitter in `[0, jitter]`) and writes it back to the device, where the kernel forwards it on.
//!
//! Each direction (keyed by address order: lower source address to higher, and back) has its own seeded
//! random stream, so a run's drop pattern is repeatable whatever the other direction does. Packets are
//! never reordered within a direction: jitter only ever pushes a release time later.
//!
//! It must not depend on the `juknis` library: it is test equipment, and the probes it checks live there.

use std::cmp::{Ordering as CmpOrdering, Reverse};
use std::collections::BinaryHeap;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use clap::Parser;
use serde::Serialize;

/// Delay, jitter and seeded loss for packets routed through a TUN device.
#[derive(Debug, Parser)]
#[command(name = "juknis-impair", version)]
struct Args {
    /// Name of the TUN device to create (in the current network namespace).
    #[arg(long, default_value = "jkimp")]
    dev: String,
    /// One-way delay added to every packet, e.g. `20ms`, `500us`, `0`.
    #[arg(long, value_parser = parse_duration, default_value = "0")]
    delay: Duration,
    /// Extra delay drawn uniformly from `[0, jitter]` per packet (never reorders a direction).
    #[arg(long, value_parser = parse_duration, default_value = "0")]
    jitter: Duration,
    /// Probability in `[0, 1]` that a packet is dropped, in each direction independently.
    #[arg(long, value_parser = parse_probability, default_value = "0")]
    loss: f64,
    /// Seed of the random streams (loss and jitter).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Packets held at most at once; more are dropped and counted as `overflow`.
    #[arg(long, default_value_t = 10_000)]
    queue_limit: usize,
    /// File rewritten (atomically) every 100 ms with the counters, as JSON.
    #[arg(long)]
    stats: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let dev = tun_rs::DeviceBuilder::new()
        .name(args.dev.clone())
        .mtu(1500)
        .enable(true)
        .build_sync()
        .with_context(|| format!("creating TUN device {:?} (needs CAP_NET_ADMIN)", args.dev))?;
    let dev = Arc::new(dev);
    let stats = Arc::new(Stats::default());

    let (tx, rx) = mpsc::sync_channel::<Pending>(args.queue_limit);
    let writer = {
        let dev = Arc::clone(&dev);
        let stats = Arc::clone(&stats);
        thread::Builder::new()
            .name("release".into())
            .spawn(move || release_loop(&dev, &rx, &stats))
            .context("spawning the release thread")?
    };
    if let Some(path) = args.stats.clone() {
        let stats = Arc::clone(&stats);
        thread::Builder::new()
            .name("stats".into())
            .spawn(move || {
                loop {
                    // A failed write is retried on the next tick; the relay's job is the packets.
                    let _ = write_stats(&path, &stats);
                    thread::sleep(Duration::from_millis(100));
                }
            })
            .context("spawning the stats thread")?;
    }

    // The test-bed waits for this line before it routes traffic into the device.
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready {}", args.dev).context("writing the ready line")?;
    out.flush().context("flushing the ready line")?;
    drop(out);

    let result = read_loop(&dev, &args, &tx, &stats);
    drop(tx);
    let _ = writer.join();
    result
}

/// Reads packets, decides their fate, and queues the survivors with their release time.
fn read_loop(
    dev: &tun_rs::SyncDevice,
    args: &Args,
    tx: &SyncSender<Pending>,
    stats: &Stats,
) -> Result<()> {
    let mut rng = [
        SplitMix64::new(args.seed),
        SplitMix64::new(args.seed ^ 0xD1B5_4A32_D192_ED03),
    ];
    let mut last_release = [Instant::now(); 2];
    let mut buf = vec![0u8; 65_536];
    let mut seq: u64 = 0;
    loop {
        let n = dev.recv(&mut buf).context("reading from the TUN device")?;
        let now = Instant::now();
        let packet = &buf[..n];
        let Some(dir) = direction(packet) else {
            // Not IPv4 (the test-bed disables IPv6): pass it on untouched and count it.
            stats.other.fetch_add(1, Ordering::Relaxed);
            let _ = dev.send(packet);
            continue;
        };
        let counters = &stats.dir[dir];
        counters.received.fetch_add(1, Ordering::Relaxed);
        if args.loss > 0.0 && rng[dir].next_f64() < args.loss {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let jitter = if args.jitter.is_zero() {
            Duration::ZERO
        } else {
            args.jitter.mul_f64(rng[dir].next_f64())
        };
        let release = (now + args.delay + jitter).max(last_release[dir]);
        last_release[dir] = release;
        seq += 1;
        let pending = Pending {
            release,
            seq,
            dir,
            data: packet.to_vec(),
        };
        match tx.try_send(pending) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                counters.overflow.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => bail!("the release thread stopped"),
        }
    }
}

/// Holds packets until their release time, then writes them back to the device.
fn release_loop(dev: &tun_rs::SyncDevice, rx: &mpsc::Receiver<Pending>, stats: &Stats) {
    let mut heap: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
    loop {
        let now = Instant::now();
        while heap.peek().is_some_and(|p| p.0.release <= now) {
            if let Some(Reverse(p)) = heap.pop() {
                let counters = &stats.dir[p.dir];
                match dev.send(&p.data) {
                    Ok(_) => counters.forwarded.fetch_add(1, Ordering::Relaxed),
                    Err(_) => counters.send_errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }
        let next = match heap.peek() {
            Some(p) => rx.recv_timeout(p.0.release.saturating_duration_since(now)),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(p) => heap.push(Reverse(p)),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Direction of an IPv4 packet: 0 from the lower address to the higher, 1 back; `None` if not IPv4.
fn direction(packet: &[u8]) -> Option<usize> {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return None;
    }
    let src = Ipv4Addr::new(packet[12], packet[13], packet[14], packet[15]);
    let dst = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
    Some(usize::from(src > dst))
}

/// A packet waiting for its release time; ordered by (release, arrival).
#[derive(Debug)]
struct Pending {
    release: Instant,
    seq: u64,
    dir: usize,
    data: Vec<u8>,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (self.release, self.seq).cmp(&(other.release, other.seq))
    }
}

#[derive(Debug, Default)]
struct DirCounters {
    received: AtomicU64,
    dropped: AtomicU64,
    overflow: AtomicU64,
    forwarded: AtomicU64,
    send_errors: AtomicU64,
}

#[derive(Debug, Default)]
struct Stats {
    /// `[0]`: lower address to higher (OPD to Dukcapil in the test-bed), `[1]`: back.
    dir: [DirCounters; 2],
    other: AtomicU64,
}

#[derive(Debug, Serialize)]
struct DirSnapshot {
    received: u64,
    dropped: u64,
    overflow: u64,
    forwarded: u64,
    send_errors: u64,
}

#[derive(Debug, Serialize)]
struct Snapshot {
    up: DirSnapshot,
    down: DirSnapshot,
    other: u64,
}

impl DirCounters {
    fn snapshot(&self) -> DirSnapshot {
        DirSnapshot {
            received: self.received.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            overflow: self.overflow.load(Ordering::Relaxed),
            forwarded: self.forwarded.load(Ordering::Relaxed),
            send_errors: self.send_errors.load(Ordering::Relaxed),
        }
    }
}

fn write_stats(path: &Path, stats: &Stats) -> Result<()> {
    let snapshot = Snapshot {
        up: stats.dir[0].snapshot(),
        down: stats.dir[1].snapshot(),
        other: stats.other.load(Ordering::Relaxed),
    };
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(&snapshot)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

/// SplitMix64: tiny, and its output for a seed never changes with a dependency's version.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Parses `20ms`, `1.5ms`, `500us`, `2s` or a bare `0`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let (number, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(format!("{s:?}: give a unit, e.g. 20ms, 500us or 1s"));
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: {number:?} is not a number"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{s:?}: must be a non-negative duration"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

fn parse_probability(s: &str) -> Result<f64, String> {
    let p: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{s:?}: a probability is between 0 and 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("20ms"), Ok(Duration::from_millis(20)));
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("20").is_err());
        assert!(parse_duration("-1ms").is_err());
    }

    #[test]
    fn probabilities_are_bounded() {
        assert_eq!(parse_probability("0.05"), Ok(0.05));
        assert!(parse_probability("1.5").is_err());
        assert!(parse_probability("x").is_err());
    }

    #[test]
    fn the_stream_is_fixed_by_the_seed() {
        let a: Vec<u64> = {
            let mut r = SplitMix64::new(7);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let mut r = SplitMix64::new(7);
        let b: Vec<u64> = (0..4).map(|_| r.next_u64()).collect();
        assert_eq!(a, b);
        // The reference value of SplitMix64 for seed 0, so a port elsewhere can check itself.
        assert_eq!(SplitMix64::new(0).next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn loss_frequency_follows_the_probability() {
        let mut r = SplitMix64::new(42);
        let drops = (0..100_000).filter(|_| r.next_f64() < 0.1).count();
        assert!((9_500..10_500).contains(&drops), "{drops}");
    }

    #[test]
    fn direction_is_by_address_order() {
        let mut p = [0u8; 20];
        p[0] = 0x45;
        p[12..16].copy_from_slice(&[198, 51, 100, 2]);
        p[16..20].copy_from_slice(&[203, 0, 113, 2]);
        assert_eq!(direction(&p), Some(0));
        p[12..16].copy_from_slice(&[203, 0, 113, 2]);
        p[16..20].copy_from_slice(&[198, 51, 100, 2]);
        assert_eq!(direction(&p), Some(1));
        p[0] = 0x60;
        assert_eq!(direction(&p), None);
    }
}
