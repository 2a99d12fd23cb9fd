//! The zero-storage scan: look through the appliance's files for anything that reads as a NIK
//! (Juknis II.E.2: population data that was looked up is never stored). Counts only: a hit's
//! digits are never kept or printed.
//!
//! A candidate is a run of exactly 16 ASCII digits that passes the local NIK check
//! ([`crate::nik::Nik::parse`]: a Kemendagri kecamatan code, a birth date, a serial above 0).
//! Digits inside a hexadecimal token of 32 characters or more (the audit log's HMACs and
//! hashes, key files) are not candidates: such a token is a digest, and a random one holds a
//! 16-digit run often enough to raise false alarms over a semester of look-ups.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::nik::Nik;

/// Hex tokens this long or longer are digests, not text.
const DIGEST_LEN: usize = 32;

/// Counts NIK-like runs in a byte stream fed in pieces of any size.
#[derive(Debug, Default)]
pub struct Scanner {
    /// The current hexadecimal token, up to [`DIGEST_LEN`] bytes.
    token: Vec<u8>,
    /// The current token is already a digest: nothing in it counts.
    long: bool,
    hits: u64,
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner::default()
    }

    /// Feed the next bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b.is_ascii_hexdigit() {
                if !self.long {
                    self.token.push(b);
                    if self.token.len() >= DIGEST_LEN {
                        self.long = true;
                        self.token.clear();
                    }
                }
            } else {
                self.end_token();
            }
        }
    }

    fn end_token(&mut self) {
        if !self.long {
            // Maximal digit runs inside a short token.
            for run in self.token.split(|b| !b.is_ascii_digit()) {
                if run.len() == 16
                    && std::str::from_utf8(run)
                        .ok()
                        .is_some_and(|s| Nik::parse(s).is_ok())
                {
                    self.hits += 1;
                }
            }
        }
        self.token.clear();
        self.long = false;
    }

    /// Finish the stream and return the number of NIK-like runs seen.
    pub fn finish(mut self) -> u64 {
        self.end_token();
        self.hits
    }
}

/// Count NIK-like runs in `bytes`.
pub fn count_in(bytes: &[u8]) -> u64 {
    let mut s = Scanner::new();
    s.feed(bytes);
    s.finish()
}

/// One file scanned.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileScan {
    /// Path relative to the scanned folder.
    pub path: String,
    pub bytes: u64,
    /// NIK-like runs found.
    pub hits: u64,
}

/// The result of a scan.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scan {
    /// Every file read, in path order.
    pub files: Vec<FileScan>,
    /// Files left out on purpose, relative paths.
    pub excluded: Vec<String>,
    /// Files that could not be read, with why.
    pub unreadable: Vec<(String, String)>,
}

impl Scan {
    /// NIK-like runs over all files.
    pub fn hits(&self) -> u64 {
        self.files.iter().map(|f| f.hits).sum()
    }

    /// Bytes read over all files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }
}

/// Scan every regular file under `dir` (symbolic links are not followed), leaving out the
/// files for which `exclude` (given the relative path) is true.
pub fn scan_dir(dir: &Path, exclude: &dyn Fn(&str) -> bool) -> Scan {
    let mut scan = Scan::default();
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) => {
                scan.unreadable.push((rel(dir, &d), e.to_string()));
                continue;
            }
        };
        for entry in entries.flatten() {
            let p = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(t) if t.is_file() => files.push(p),
                _ => {}
            }
        }
    }
    files.sort();
    for p in files {
        let r = rel(dir, &p);
        if exclude(&r) {
            scan.excluded.push(r);
            continue;
        }
        match scan_file(&p) {
            Ok((bytes, hits)) => scan.files.push(FileScan {
                path: r,
                bytes,
                hits,
            }),
            Err(e) => scan.unreadable.push((r, e.to_string())),
        }
    }
    scan
}

/// Where a scan runs.
#[derive(Clone, Debug)]
pub enum Isolation {
    /// In this process: only for a process that holds none of the scanned SQLite files open
    /// (`juknis report`). Opening and closing a file drops every POSIX lock this process holds
    /// on it, SQLite's included, so a daemon scanning its own state dir would let another
    /// process delete its `-wal` and `-shm` under it.
    InProcess,
    /// In a child process of this juknis executable (`juknis report scan-state`), whose opens
    /// and closes cannot touch this process's locks.
    Child(PathBuf),
}

/// Why a scan in a child process failed.
#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("running the zero-storage scan in {exe}: {source}", exe = exe.display())]
    Spawn {
        exe: PathBuf,
        source: std::io::Error,
    },
    #[error("the zero-storage scan in a child process failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("the zero-storage scan's answer is not readable: {0}")]
    Answer(#[from] serde_json::Error),
}

/// Scan `dir` leaving out the outbox's database, in this process or in a child.
pub fn scan_state(
    dir: &Path,
    exclude: &dyn Fn(&str) -> bool,
    how: &Isolation,
) -> Result<Scan, ChildError> {
    match how {
        Isolation::InProcess => Ok(scan_dir(dir, exclude)),
        Isolation::Child(exe) => {
            let out = std::process::Command::new(exe)
                .args(["report", "scan-state", "--state-dir"])
                .arg(dir)
                .stdin(std::process::Stdio::null())
                .output()
                .map_err(|source| ChildError::Spawn {
                    exe: exe.clone(),
                    source,
                })?;
            if !out.status.success() {
                return Err(ChildError::Failed {
                    status: out.status.to_string(),
                    stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                });
            }
            Ok(serde_json::from_slice(&out.stdout)?)
        }
    }
}

fn rel(base: &Path, p: &Path) -> String {
    p.strip_prefix(base)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

fn scan_file(p: &Path) -> std::io::Result<(u64, u64)> {
    let mut f = std::fs::File::open(p)?;
    let mut buf = vec![0u8; 1 << 16];
    let mut s = Scanner::new();
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        s.feed(&buf[..n]);
    }
    Ok((total, s.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    // Synthetic: kecamatan 32.04.05 (Kabupaten Bandung), born 17-08-45, serial 0001.
    const NIK: &str = "3204051708450001";

    #[rstest]
    #[case::alone(NIK, 1)]
    #[case::in_json(&format!("{{\"nik\":\"{NIK}\",\"x\":1}}"), 1)]
    #[case::next_to_text(&format!("abc{NIK}xyz"), 1)]
    #[case::twice(&format!("{NIK} {NIK}"), 2)]
    #[case::seventeen_digits(&format!("{NIK}9"), 0)]
    #[case::fifteen_digits(&NIK[..15], 0)]
    #[case::bad_region("9999991708450001", 0)]
    #[case::bad_date("3204053213450001", 0)]
    #[case::zero_serial("3204051708450000", 0)]
    #[case::inside_a_digest(&format!("ab{NIK}cdef0123456789abcdef"), 0)]
    #[case::after_a_digest(&format!("{}:{NIK}", "ab".repeat(32)), 1)]
    fn candidates(#[case] text: &str, #[case] hits: u64) {
        assert_eq!(count_in(text.as_bytes()), hits);
    }

    #[test]
    fn a_run_split_across_reads_is_still_found() {
        let text = format!("xx {NIK} yy");
        for cut in 0..text.len() {
            let mut s = Scanner::new();
            s.feed(&text.as_bytes()[..cut]);
            s.feed(&text.as_bytes()[cut..]);
            assert_eq!(s.finish(), 1, "cut at {cut}");
        }
    }
}
