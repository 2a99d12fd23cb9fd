//! Chaos test of the data balikan outbox: 10,000 synthetic rows imported in chunks while the
//! simulator's link flaps (drops, 5xx, broken JSON, latency, slow bodies) and the sending
//! process (`juknis balikan send`) is killed with SIGKILL 20 times at random moments. At the end
//! the simulator holds every record exactly once and the outbox reports all delivered.
//!
//! Loopback only. Set `CHAOS_SEED` to replay a run.

#![expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use juknis::sim;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const ROWS: usize = 10_000;
const CHUNKS: usize = 10;
const KILLS: usize = 20;
const BATCH: usize = 100;

/// Valid synthetic NIKs: one Kemendagri kecamatan per NIK, birth dates and serials varied.
fn synthetic_niks(n: usize) -> Vec<String> {
    let regions = juknis::nik::region::all();
    (0..n)
        .map(|i| {
            let k = &regions[i % regions.len()];
            let round = i / regions.len();
            let day = 1 + (round % 28) + if i % 2 == 0 { 40 } else { 0 };
            let month = 1 + (i / 7) % 12;
            let nik = format!(
                "{}{day:02}{month:02}{:02}{:04}",
                k.code,
                (70 + i % 30) % 100,
                1 + (i * 7) % 9999
            );
            assert!(juknis::nik::Nik::parse(&nik).is_ok(), "generated {i}");
            nik
        })
        .collect()
}

fn juknis() -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_juknis"));
    c.env("JUKNIS_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    c
}

/// A token file as the operator must keep it: readable by its owner only.
fn write_token(path: &Path, token: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, token).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn send_command(state: &Path, url: &str, token: &Path) -> tokio::process::Command {
    let mut c = juknis();
    c.args(["balikan", "send", "--state-dir"])
        .arg(state)
        .args(["--url", url, "--token-file"])
        .arg(token)
        .args([
            "--id-lembaga",
            sim::INSTANSI_ID,
            "--nama-lembaga",
            "Dinas Sosial (uji)",
            "--batch-size",
            &BATCH.to_string(),
            "--timeout-ms",
            "3000",
            "--backoff-base-ms",
            "10",
            "--backoff-max-ms",
            "300",
        ]);
    c
}

async fn import(state: &Path, file: &Path) {
    let status = juknis()
        .args(["balikan", "import"])
        .arg(file)
        .arg("--state-dir")
        .arg(state)
        .status()
        .await
        .unwrap();
    assert!(status.success(), "import of {} failed", file.display());
}

/// The link's moods: each is held for a random while. None of them makes the client time out
/// (latency and slow bodies stay well under the 3 s timeout), so the only resends of a batch
/// the simulator already holds are those after a SIGKILL.
fn mood(rng: &mut StdRng) -> sim::Faults {
    // A slow link always: posts take long enough that kills land while one is in flight.
    let mut f = sim::Faults {
        latency_ms: rng.random_range(10..60),
        ..sim::Faults::default()
    };
    match rng.random_range(0..7) {
        0 | 1 => {}
        2 => {
            f.drop = true;
            f.every = 2;
        }
        3 => {
            f.http_status = Some(503);
            f.every = 2;
        }
        4 => f.latency_ms = rng.random_range(20..200),
        5 => {
            f.broken_json = true;
            f.every = 3;
        }
        _ => {
            f.slow_body_ms = 20;
            f.latency_ms = 30;
        }
    }
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_rows_survive_flapping_link_and_twenty_sigkills() {
    let started = Instant::now();
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("CHAOS_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let handle = sim::Server::start(sim::Config {
        tls: false,
        ..sim::Config::default()
    })
    .await
    .unwrap();
    assert!(handle.addr().ip().is_loopback());
    let url = handle.balikan_url();

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let token = dir.path().join("token");
    write_token(&token, sim::DEFAULT_BALIKAN_TOKEN);

    let niks = synthetic_niks(ROWS);
    let mut expected = HashSet::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for (c, chunk) in niks.chunks(ROWS / CHUNKS).enumerate() {
        let mut text = String::from("nik;id_penerima;jenis_bantuan\r\n");
        for (i, nik) in chunk.iter().enumerate() {
            let rid = format!("R{c}-{i:05}");
            let aid = if i % 3 == 0 { "PBI" } else { "pkh" };
            text.push_str(&format!("{nik};{rid};{aid}\r\n"));
            expected.insert((nik.clone(), rid, aid.to_ascii_uppercase()));
        }
        let f = dir.path().join(format!("balikan-{c}.csv"));
        std::fs::write(&f, text).unwrap();
        files.push(f);
    }

    // The link flaps on its own clock, independent of the kills.
    let flapping = tokio_util::sync::CancellationToken::new();
    let flapper = {
        let cancel = flapping.clone();
        let faults = std::sync::Arc::new(handle);
        let h = faults.clone();
        let mut frng = StdRng::seed_from_u64(seed ^ 0x5eed);
        let task = tokio::spawn(async move {
            let mut moods = 0u32;
            while !cancel.is_cancelled() {
                h.set_faults(mood(&mut frng));
                moods += 1;
                let hold = Duration::from_millis(frng.random_range(50..400));
                tokio::select! {
                    () = cancel.cancelled() => {}
                    () = tokio::time::sleep(hold) => {}
                }
            }
            h.set_faults(sim::Faults::default());
            moods
        });
        (task, faults)
    };
    let (flapper, handle) = flapper;

    let mut imported = 0;
    let mut kills = 0;
    let mut kills_with_work = 0;
    let outbox = juknis::outbox::Outbox::open(&state).unwrap();
    while kills < KILLS {
        // Imports run beside the sender, a chunk every other round.
        let pending_import = if kills % 2 == 0 && imported < files.len() {
            let f = files[imported].clone();
            imported += 1;
            let s = state.clone();
            Some(tokio::spawn(async move { import(&s, &f).await }))
        } else {
            None
        };
        // `--follow`: the sender waits for more rows instead of exiting, so every round ends
        // in a SIGKILL, with or without a post in flight.
        let mut child = send_command(&state, &url, &token)
            .arg("--follow")
            .spawn()
            .unwrap();
        let after = Duration::from_millis(rng.random_range(20..400));
        tokio::select! {
            status = child.wait() => panic!("the sender exited on its own: {status:?}"),
            () = tokio::time::sleep(after) => {
                child.start_kill().unwrap(); // SIGKILL
                child.wait().await.unwrap();
                kills += 1;
            }
        }
        if outbox.counts().unwrap().pending > 0 {
            kills_with_work += 1;
        }
        if let Some(t) = pending_import {
            t.await.unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(150),
            "chaos rounds took too long"
        );
    }
    for f in &files[imported..] {
        import(&state, f).await;
    }

    flapping.cancel();
    let moods = flapper.await.unwrap();
    let status = tokio::time::timeout(
        Duration::from_secs(60),
        send_command(&state, &url, &token).status(),
    )
    .await
    .expect("the final send finishes on a calm link")
    .unwrap();
    assert!(status.success());

    let held = handle.balikan_records();
    let held_set: HashSet<(String, String, String)> = held
        .iter()
        .map(|h| (h.nik.clone(), h.recipient_id.clone(), h.aid.clone()))
        .collect();
    assert_eq!(held.len(), ROWS, "the simulator holds each record once");
    assert_eq!(held_set.len(), ROWS);
    assert!(
        held_set == expected,
        "the simulator holds exactly the rows imported"
    );

    let counts = outbox.counts().unwrap();
    assert_eq!(
        (counts.pending, counts.delivered, counts.rejected),
        (0, ROWS as u64, 0)
    );
    assert_eq!(
        outbox.plain_niks().unwrap(),
        0,
        "no plain NIK after delivery"
    );

    let stats = handle.stats();
    eprintln!(
        "chaos: {ROWS} rows, {kills} SIGKILLs, {kills_with_work} of them with records pending, \
         {moods} link moods, {} posts, {} faults injected, {} records resent and answered as already \
         sent, {:.1} s",
        stats.balikan_posts,
        stats.faults_injected,
        stats.balikan_duplicates,
        started.elapsed().as_secs_f64()
    );
    // A resend of records the service already holds can only follow a kill between its answer
    // and the commit that records it: at most one batch per kill.
    assert!(stats.balikan_duplicates <= (KILLS * BATCH) as u64);
}
