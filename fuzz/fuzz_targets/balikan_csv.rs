//! The data balikan CSV importer, bytes in: the structural reader (`outbox::csv::read`), then
//! the real import into a real outbox (SQLite in a temporary folder, opened once per process).
//! Every data row read is either accepted or rejected with a reason, a broken file imports
//! nothing, and no message quotes a NIK.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use juknis::outbox::{self, Outbox};
use libfuzzer_sys::fuzz_target;

fn has_digit_run(s: &str, n: usize) -> bool {
    let mut run = 0;
    for c in s.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run >= n {
            return true;
        }
    }
    false
}

/// One outbox per fuzzing process, on tmpfs when there is one (the outbox syncs every commit).
/// Folders left by earlier processes that have ended are removed first.
fn outbox() -> &'static Outbox {
    static OUTBOX: OnceLock<Outbox> = OnceLock::new();
    OUTBOX.get_or_init(|| {
        let base = [PathBuf::from("/dev/shm"), std::env::temp_dir()]
            .into_iter()
            .find(|d| d.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        const PREFIX: &str = "juknis-fuzz-outbox-";
        if let Ok(entries) = std::fs::read_dir(&base) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix(PREFIX)
                    && !PathBuf::from(format!("/proc/{pid}")).exists()
                {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = base.join(format!("{PREFIX}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        match Outbox::open(&dir) {
            Ok(o) => o,
            Err(e) => panic!("cannot open the fuzzing outbox in {}: {e}", dir.display()),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let parsed = outbox::csv::read(data, &juknis::topology::BalikanFields::default());
    if let Ok(p) = &parsed {
        // Rows come in file order, after the header.
        assert!(p.rows.windows(2).all(|w| w[0].0 < w[1].0), "lines increase");
        assert!(p.rows.iter().all(|(line, _)| *line >= 2), "the header is line 1");
    }
    let report = match outbox().import_csv("fuzz.csv", data) {
        Ok(r) => r,
        Err(e) => panic!("the import failed on the outbox, not on the file: {e}"),
    };
    match &parsed {
        Err(broken) => {
            assert!(!broken.is_empty());
            assert_eq!(&report.broken, broken);
            assert_eq!((report.rows_read, report.accepted), (0, 0));
            assert!(report.rejected.is_empty(), "a broken file imports nothing");
        }
        Ok(p) => {
            assert!(report.broken.is_empty());
            assert_eq!(report.rows_read, p.rows.len() as u64);
            assert_eq!(
                report.rows_read,
                report.accepted + report.rejected.len() as u64,
                "every row read is accepted or rejected"
            );
            assert!(report.rejected.windows(2).all(|w| w[0].line <= w[1].line));
            for r in &report.rejected {
                assert!(!r.problems.is_empty(), "a rejection says why");
                assert!(p.rows.iter().any(|(line, _)| *line == r.line));
                for pr in &r.problems {
                    for msg in [pr.id(), pr.en()] {
                        assert!(!has_digit_run(&msg, 8), "a reason quotes no NIK: {msg}");
                    }
                }
            }
        }
    }
    for b in &report.broken {
        for msg in [&b.message, &b.message_en] {
            assert!(!has_digit_run(msg, 8), "a fault quotes no NIK: {msg}");
        }
    }
    let _ = report.to_string();
});
