//! The tamper-evident audit log of look-ups (`audit.db` in the state dir): who, when, why, an
//! HMAC of the NIK (never the NIK), the status, the route and the latency. Each entry stores the
//! SHA-256 over the previous entry's hash and its own fields, so an edited, deleted or reordered
//! entry breaks the chain; [`verify`] names it.
//!
//! Holds no population data: the NIK is an HMAC under the local key, and digit runs in the
//! caller's free-text purpose are masked before they are written.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// The audit database in the state dir.
pub const FILE: &str = "audit.db";

/// The hash before the first entry.
const GENESIS: [u8; 32] = [0; 32];

/// Longest purpose kept, in characters.
pub const MAX_PURPOSE: usize = 500;

/// Why the audit log could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQLite failed.
    #[error("audit log {path}: {source}", path = path.display())]
    Sql {
        /// The database file.
        path: PathBuf,
        /// Cause.
        source: rusqlite::Error,
    },
    /// An entry could not be written.
    #[error("audit log {path}: {detail}", path = path.display())]
    Write {
        /// The database file.
        path: PathBuf,
        /// Cause.
        detail: String,
    },
    /// An entry could not be read as written.
    #[error("audit log {path}: {detail}", path = path.display())]
    Damaged {
        /// The database file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// There is no audit log to verify.
    #[error("no audit log at {path}", path = path.display())]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
}

/// One look-up as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// When the look-up was asked.
    pub at: DateTime<Utc>,
    /// `application` or `operator`.
    pub caller_kind: String,
    /// The application's or the operator's name.
    pub caller: String,
    /// The stated purpose (digit runs masked).
    pub purpose: String,
    /// HMAC-SHA256 of the NIK as given, hex, under the local key.
    pub nik_hmac: String,
    /// The answer's status (`found`, `link_down`, ...).
    pub status: String,
    /// The route taken, empty when nothing was sent.
    pub route: String,
    /// Time to answer.
    pub latency: Duration,
    /// Whether the request went to Dukcapil.
    pub forwarded: bool,
    /// The person behind an application's look-up, as the application names them (digit runs
    /// masked like the purpose); empty when not given.
    pub end_user: String,
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Mask what could be a NIK (or a KK number) in free text, by `*` per digit: a run of 6 or more
/// digits, and digit groups joined by short gaps of anything but letters and digits (spaces,
/// dots, dashes, slashes: "3204 1060 0568 1889", "3204-1060-0568-1889") that hold 16 digits or
/// more together. A purpose is free text and must not carry a NIK however it is written.
pub fn mask_purpose(purpose: &str) -> String {
    /// Longest gap between two digit groups of one number.
    const GAP: usize = 3;
    let chars: Vec<char> = purpose.chars().take(MAX_PURPOSE).collect();
    let digit = |c: char| c.is_ascii_digit();
    let mut masked = vec![false; chars.len()];
    let mut i = 0;
    while i < chars.len() {
        if !digit(chars[i]) {
            i += 1;
            continue;
        }
        // A chain: groups of digits, each gap 1..=GAP characters that are neither.
        let mut groups: Vec<(usize, usize)> = Vec::new();
        let mut k = i;
        loop {
            let start = k;
            while k < chars.len() && digit(chars[k]) {
                k += 1;
            }
            groups.push((start, k));
            let mut g = k;
            while g < chars.len() && g - k < GAP && !chars[g].is_alphanumeric() {
                g += 1;
            }
            if g > k && g < chars.len() && digit(chars[g]) {
                k = g;
            } else {
                break;
            }
        }
        let total: usize = groups.iter().map(|(a, b)| b - a).sum();
        for &(a, b) in &groups {
            if total >= 16 || b - a >= 6 {
                masked[a..b].iter_mut().for_each(|m| *m = true);
            }
        }
        i = k.max(i + 1);
    }
    chars
        .iter()
        .zip(masked)
        .map(|(&c, m)| if m { '*' } else { c })
        .collect()
}

/// Fields as stored: what the hash covers, in column order.
struct Row {
    seq: i64,
    ts: String,
    caller_kind: String,
    caller: String,
    purpose: String,
    nik_hmac: String,
    status: String,
    route: String,
    latency_us: i64,
    forwarded: i64,
    end_user: String,
    prev_hash: String,
    hash: String,
}

impl Row {
    fn digest(&self, prev: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        // The position (seq) is left out on purpose: a moved entry keeps a valid hash of its
        // own, and its link then names the entry it really followed.
        h.update(prev);
        for f in [
            &self.ts,
            &self.caller_kind,
            &self.caller,
            &self.purpose,
            &self.nik_hmac,
            &self.status,
            &self.route,
        ] {
            h.update((f.len() as u64).to_be_bytes());
            h.update(f.as_bytes());
        }
        h.update(self.latency_us.to_be_bytes());
        h.update(self.forwarded.to_be_bytes());
        // Fields added later are hashed only when set, so entries written before them (and
        // entries that leave them empty) keep the hash they were written with; a later edit that
        // sets or clears one changes the hash all the same.
        if !self.end_user.is_empty() {
            h.update(b"end_user");
            h.update((self.end_user.len() as u64).to_be_bytes());
            h.update(self.end_user.as_bytes());
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(h.finalize().as_slice());
        out
    }
}

/// Schema steps, applied in order; the index + 1 is the version. Step 1 is the schema as it was
/// before versions were kept (`IF NOT EXISTS`: such a file is at version 0 and has it).
const MIGRATIONS: &[&str] = &[
    "
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    caller_kind TEXT NOT NULL,
    caller TEXT NOT NULL,
    purpose TEXT NOT NULL,
    nik_hmac TEXT NOT NULL,
    status TEXT NOT NULL,
    route TEXT NOT NULL,
    latency_us INTEGER NOT NULL,
    forwarded INTEGER NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);",
    // 2: the end user behind an application's look-up (Juknis II.A.2), inside the hashed row.
    "ALTER TABLE audit ADD COLUMN end_user TEXT NOT NULL DEFAULT '';",
];

struct Writer {
    path: PathBuf,
    conn: Connection,
    seq: i64,
    last: [u8; 32],
}

struct Job {
    entry: Entry,
    done: tokio::sync::oneshot::Sender<Result<i64, Error>>,
}

/// Most entries committed in one transaction.
const MAX_BATCH: usize = 512;

/// The audit log, open for appending. Entries are written by one thread that commits whatever
/// is waiting in one transaction (group commit); [`Log::append`] returns once its entry is
/// committed.
pub struct Log {
    path: PathBuf,
    jobs: tokio::sync::mpsc::Sender<Job>,
}

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Log").field("path", &self.path).finish()
    }
}

fn decode_hash(h: &str) -> Option<[u8; 32]> {
    hex::decode(h).ok().and_then(|b| b.try_into().ok())
}

impl Log {
    /// Open (or create) `DIR/audit.db`, continue its chain, and start the writer thread (it
    /// ends when the `Log` is dropped).
    pub fn open(state_dir: &Path) -> Result<Log, Error> {
        let path = state_dir.join(FILE);
        let sql = |source| Error::Sql {
            path: path.clone(),
            source,
        };
        let conn = crate::sqlite::open(&path).map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(sql)?;
        crate::sqlite::migrate(&conn, MIGRATIONS).map_err(|e| match e {
            crate::sqlite::MigrateError::Sql(e) => sql(e),
            e @ crate::sqlite::MigrateError::TooNew { .. } => Error::Damaged {
                path: path.clone(),
                detail: e.to_string(),
            },
        })?;
        let last: Option<(i64, String)> = conn
            .query_row(
                "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql)?;
        let (seq, last) = match last {
            // A damaged last hash is reported by `verify`; the chain goes on from the bytes seen.
            Some((seq, h)) => (seq, decode_hash(&h).unwrap_or(GENESIS)),
            None => (0, GENESIS),
        };
        let (jobs, rx) = tokio::sync::mpsc::channel(4 * MAX_BATCH);
        let mut writer = Writer {
            path: path.clone(),
            conn,
            seq,
            last,
        };
        std::thread::Builder::new()
            .name("juknis-audit".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| Error::Write {
                path: path.clone(),
                detail: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Log { path, jobs })
    }

    /// Append one entry; returns its sequence number once it is committed.
    pub async fn append(&self, entry: Entry) -> Result<i64, Error> {
        let closed = || Error::Write {
            path: self.path.clone(),
            detail: "the audit writer has stopped".into(),
        };
        let (done, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Job { entry, done })
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

impl Writer {
    fn run(&mut self, mut rx: tokio::sync::mpsc::Receiver<Job>) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(j) => batch.push(j),
                    Err(_) => break,
                }
            }
            match self.write(&batch) {
                Ok(first_seq) => {
                    for (i, j) in batch.into_iter().enumerate() {
                        let _ = j.done.send(Ok(first_seq + i as i64));
                    }
                }
                Err(e) => {
                    let detail = e.to_string();
                    for j in batch {
                        let _ = j.done.send(Err(Error::Write {
                            path: self.path.clone(),
                            detail: detail.clone(),
                        }));
                    }
                }
            }
        }
    }

    /// Write a batch in one transaction; the chain advances only when it commits.
    fn write(&mut self, batch: &[Job]) -> rusqlite::Result<i64> {
        let first_seq = self.seq + 1;
        let mut seq = self.seq;
        let mut last = self.last;
        let tx = self.conn.unchecked_transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO audit (seq, ts, caller_kind, caller, purpose, nik_hmac, status, route,
                    latency_us, forwarded, prev_hash, hash, end_user)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )?;
            for job in batch {
                let e = &job.entry;
                seq += 1;
                let mut row = Row {
                    seq,
                    ts: ts(&e.at),
                    caller_kind: e.caller_kind.clone(),
                    caller: e.caller.clone(),
                    purpose: mask_purpose(&e.purpose),
                    nik_hmac: e.nik_hmac.clone(),
                    status: e.status.clone(),
                    route: e.route.clone(),
                    latency_us: i64::try_from(e.latency.as_micros()).unwrap_or(i64::MAX),
                    forwarded: i64::from(e.forwarded),
                    end_user: mask_purpose(&e.end_user),
                    prev_hash: hex::encode(last),
                    hash: String::new(),
                };
                last = row.digest(&last);
                row.hash = hex::encode(last);
                insert.execute(params![
                    row.seq,
                    row.ts,
                    row.caller_kind,
                    row.caller,
                    row.purpose,
                    row.nik_hmac,
                    row.status,
                    row.route,
                    row.latency_us,
                    row.forwarded,
                    row.prev_hash,
                    row.hash,
                    row.end_user
                ])?;
            }
        }
        tx.prepare_cached(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2)
             ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        )?
        .execute(params![seq, hex::encode(last)])?;
        tx.commit()?;
        self.seq = seq;
        self.last = last;
        Ok(first_seq)
    }
}

/// What is wrong with one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The entry's hash does not match its fields: a field was changed.
    Edited {
        /// Sequence number of the entry.
        seq: i64,
    },
    /// Entries between two present ones are gone.
    Deleted {
        /// First missing sequence number.
        from: i64,
        /// Last missing sequence number.
        to: i64,
    },
    /// The entry's link names an entry other than the one before it: entries were moved.
    Reordered {
        /// Sequence number where the entry now sits.
        seq: i64,
        /// Sequence number of the entry it was chained to, when found.
        chained_to: Option<i64>,
    },
    /// The entry does not follow from the one before it (that one was changed or replaced).
    BrokenLink {
        /// Sequence number of the entry.
        seq: i64,
    },
    /// The head record disagrees with the last entry: entries at the end were deleted, or the
    /// head was changed.
    Head {
        /// Last sequence number per the head record.
        head_seq: i64,
        /// Last sequence number present.
        last_seq: i64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Edited { seq } => write!(
                f,
                "entry {seq}: edited (its hash does not match its fields)"
            ),
            Problem::Deleted { from, to } if from == to => {
                write!(f, "entry {from}: deleted")
            }
            Problem::Deleted { from, to } => write!(f, "entries {from} to {to}: deleted"),
            Problem::Reordered {
                seq,
                chained_to: Some(o),
            } => write!(
                f,
                "entry {seq}: reordered (it was chained after entry {o}, not after entry {})",
                seq - 1
            ),
            Problem::Reordered {
                seq,
                chained_to: None,
            } => write!(f, "entry {seq}: reordered (moved from another position)"),
            Problem::BrokenLink { seq } => write!(
                f,
                "entry {seq}: its link to entry {} does not match (entry {} was changed or replaced)",
                seq - 1,
                seq - 1
            ),
            Problem::Head { head_seq, last_seq } => write!(
                f,
                "the log ends at entry {last_seq} but its head record says {head_seq}: \
                 entries at the end were deleted or the head was changed"
            ),
        }
    }
}

/// The result of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Entries read.
    pub entries: u64,
    /// Every problem found, in log order; empty when the chain is intact.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether the chain is intact.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Check the hash chain of `DIR/audit.db`, opened read-only.
pub fn verify(state_dir: &Path) -> Result<Report, Error> {
    let path = state_dir.join(FILE);
    if !path.exists() {
        return Err(Error::Missing { path });
    }
    let sql = |source| Error::Sql {
        path: path.clone(),
        source,
    };
    let conn = crate::sqlite::open_read_only(&path).map_err(sql)?;
    // A file not yet migrated (read-only here) has no `end_user`: its entries have none.
    let has_end_user: bool = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('audit') WHERE name = 'end_user'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(sql)?
        > 0;
    let mut stmt = conn
        .prepare(&format!(
            "SELECT seq, ts, caller_kind, caller, purpose, nik_hmac, status, route, latency_us,
                forwarded, prev_hash, hash, {} FROM audit ORDER BY seq",
            if has_end_user { "end_user" } else { "''" }
        ))
        .map_err(sql)?;
    let rows: Vec<Row> = stmt
        .query_map([], |r| {
            Ok(Row {
                seq: r.get(0)?,
                ts: r.get(1)?,
                caller_kind: r.get(2)?,
                caller: r.get(3)?,
                purpose: r.get(4)?,
                nik_hmac: r.get(5)?,
                status: r.get(6)?,
                route: r.get(7)?,
                latency_us: r.get(8)?,
                forwarded: r.get(9)?,
                prev_hash: r.get(10)?,
                hash: r.get(11)?,
                end_user: r.get(12)?,
            })
        })
        .map_err(sql)?
        .collect::<Result<_, _>>()
        .map_err(sql)?;
    let head: Option<(i64, String)> = conn
        .query_row("SELECT seq, hash FROM audit_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(sql)?;
    let by_hash: HashMap<&str, i64> = rows.iter().map(|r| (r.hash.as_str(), r.seq)).collect();
    let mut problems = Vec::new();
    let mut expected_seq = 1i64;
    let mut prev_hash = hex::encode(GENESIS);
    for row in &rows {
        if row.seq > expected_seq {
            problems.push(Problem::Deleted {
                from: expected_seq,
                to: row.seq - 1,
            });
        }
        let stored_prev = decode_hash(&row.prev_hash);
        let own_ok = stored_prev
            .map(|p| hex::encode(row.digest(&p)) == row.hash)
            .unwrap_or(false);
        if !own_ok {
            problems.push(Problem::Edited { seq: row.seq });
        } else if row.prev_hash != prev_hash {
            let chained_to = by_hash.get(row.prev_hash.as_str()).copied();
            // After a deletion the link necessarily points at a missing entry: already said.
            let after_gap = row.seq > expected_seq && chained_to.is_none();
            if chained_to.is_some_and(|o| o != row.seq - 1) {
                problems.push(Problem::Reordered {
                    seq: row.seq,
                    chained_to,
                });
            } else if !after_gap {
                problems.push(Problem::BrokenLink { seq: row.seq });
            }
        }
        expected_seq = row.seq + 1;
        prev_hash = row.hash.clone();
    }
    let last_seq = rows.last().map_or(0, |r| r.seq);
    let last_hash = rows.last().map(|r| r.hash.clone()).unwrap_or_default();
    if let Some((head_seq, head_hash)) = head
        && (head_seq != last_seq || head_hash != last_hash)
    {
        problems.push(Problem::Head { head_seq, last_seq });
    }
    Ok(Report {
        entries: rows.len() as u64,
        problems,
    })
}

/// Look-ups of one WIB day (other events, such as log-in lock-outs, are not counted) by one caller with one status, counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    /// The WIB calendar day.
    pub day: chrono::NaiveDate,
    /// `application` or `operator`.
    pub caller_kind: String,
    /// The application's or operator's name.
    pub caller: String,
    /// The answer's status.
    pub status: String,
    /// Whether the requests went to Dukcapil.
    pub forwarded: bool,
    /// How many.
    pub count: u64,
}

/// Count the entries of `DIR/audit.db` asked in `[from, to)` by WIB day, caller, status and
/// forwarding (the semester report), opened read-only; `None` when there is no audit log.
/// Reads neither the NIK HMACs nor the purposes.
pub fn tally(
    state_dir: &Path,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Option<Vec<Tally>>, Error> {
    let path = state_dir.join(FILE);
    if !path.exists() {
        return Ok(None);
    }
    let sql = |source| Error::Sql {
        path: path.clone(),
        source,
    };
    let conn = crate::sqlite::open_read_only(&path).map_err(sql)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(sql)?;
    let has_table: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'audit'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(sql)?
        > 0;
    if !has_table {
        return Ok(Some(Vec::new()));
    }
    // Timestamps are RFC 3339 UTC with a fixed width, so text order is time order; WIB is
    // UTC+7 all year.
    let mut stmt = conn
        .prepare(
            "SELECT date(ts, '+7 hours'), caller_kind, caller, status, forwarded, count(*)
             FROM audit WHERE ts >= ?1 AND ts < ?2 AND caller_kind IN ('application', 'operator')
             GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
        )
        .map_err(sql)?;
    let rows = stmt
        .query_map(params![ts(&from), ts(&to)], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .map_err(sql)?;
    let mut out = Vec::new();
    for row in rows {
        let (day, caller_kind, caller, status, forwarded, count) = row.map_err(sql)?;
        let day = day
            .and_then(|d| d.parse::<chrono::NaiveDate>().ok())
            .ok_or_else(|| Error::Damaged {
                path: path.clone(),
                detail: "an entry's timestamp is not a date".into(),
            })?;
        out.push(Tally {
            day,
            caller_kind,
            caller,
            status,
            forwarded: forwarded != 0,
            count: count.max(0) as u64,
        });
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Sixteen digits with any separators between them (none, a space, dots, dashes,
        /// slashes, two or three of them) leave no digit in the stored purpose.
        #[test]
        fn a_nik_with_separators_is_masked(
            digits in proptest::collection::vec(0u8..10, 16),
            seps in proptest::collection::vec(
                proptest::sample::select(vec!["", " ", ".", "-", "/", " - ", ". ", "  ", "_", ",", "\t"]),
                15,
            ),
            before in "[a-zA-Z :]{0,12}",
            after in "[a-zA-Z :]{0,12}",
        ) {
            let mut nik = String::new();
            for (i, d) in digits.iter().enumerate() {
                nik.push(char::from(b'0' + d));
                if let Some(s) = seps.get(i) {
                    nik.push_str(s);
                }
            }
            let text = format!("{before} {nik} {after}");
            let masked = mask_purpose(&text);
            prop_assert!(!masked.chars().any(|c| c.is_ascii_digit()), "{} -> {}", text, masked);
            prop_assert_eq!(masked.chars().count(), text.chars().count());
        }

        /// Short numbers in ordinary text stay readable: RT/RW, a date, a letter number.
        #[test]
        fn short_numbers_apart_stay(rt in 1u8..20, rw in 1u8..20, day in 1u8..29) {
            let text = format!("survei RT {rt:02} RW {rw:02} tgl {day:02}-05-2026 surat no 12/2026");
            prop_assert_eq!(mask_purpose(&text), text);
        }
    }

    #[test]
    fn kk_with_dashes_is_masked() {
        assert_eq!(
            mask_purpose("cek KK 3204-1060-0568-1889"),
            "cek KK ****-****-****-****"
        );
        assert_eq!(
            mask_purpose("nik 3204.1060.0568.1889, RT 05"),
            "nik ****.****.****.****, RT 05"
        );
    }

    #[test]
    fn purpose_digit_runs_are_masked() {
        assert_eq!(
            mask_purpose("cek bansos 3204051708450001 RT 05"),
            "cek bansos **************** RT 05"
        );
    }
}
