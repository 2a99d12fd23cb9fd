//! The outbox queue in SQLite (WAL, in the state directory): records, the batches they are
//! posted in, and the audit trail left after delivery.
//!
//! A record is `pending` until the service answers for its batch, then `delivered` (its NIK and
//! recipient ID are erased, keyed hashes stay) or `rejected` (the record and the service's
//! reason stay, so that an admin can send it again once the cause is fixed, or dismiss it,
//! which erases its NIK). A batch's membership is committed
//! before it is posted and never changes while it may be held by the service, so a resend after
//! a crash is the same batch.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{KeyInit, Mac};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::report::{ImportReport, RowRejection, Unit};
use super::row::{Entry, Held, Problem, RawRow, validate};
use super::{DB_FILE, Error, KEY_FILE};
use crate::nik::Nik;
use crate::portal::{AidType, BalikanRecord};
use crate::topology::BalikanFields;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Schema steps, applied in order; the index + 1 is the version.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE batch (
        id INTEGER PRIMARY KEY,
        created_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        outcome TEXT,
        done_ms INTEGER
     );
     CREATE TABLE record (
        id INTEGER PRIMARY KEY,
        dedup_key BLOB NOT NULL,
        record_hash BLOB NOT NULL,
        nik TEXT,
        recipient_id TEXT,
        aid TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'rejected')),
        batch_id INTEGER REFERENCES batch(id),
        source TEXT NOT NULL,
        reason TEXT,
        created_ms INTEGER NOT NULL,
        done_ms INTEGER
     );
     CREATE UNIQUE INDEX record_key ON record(dedup_key) WHERE state != 'rejected';
     CREATE INDEX record_queue ON record(state, batch_id, id);
     CREATE INDEX record_audit ON record(record_hash);
     CREATE TABLE import (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        at_ms INTEGER NOT NULL,
        accepted INTEGER NOT NULL,
        rejected INTEGER NOT NULL
     );",
    // 2: what the topology declares for a record (serve writes it, a bare `balikan import`
    // reads it), and refused records dismissed by an admin.
    "CREATE TABLE declared (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        fields TEXT NOT NULL,
        at_ms INTEGER NOT NULL
     );
     ALTER TABLE record ADD COLUMN dismissed_ms INTEGER;",
];

/// A record the service refused, as [`Outbox::rejected`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub id: i64,
    pub recipient_id: String,
    pub aid: String,
    /// The service's own words (or the start of its body).
    pub reason: String,
    /// The import it came with (a file name, `api`).
    pub source: String,
    pub at_ms: i64,
    /// The record still holds its NIK, so an admin can send it again; refusals from before
    /// refused records were kept have only what is listed here.
    pub resendable: bool,
}

/// What [`Outbox::resend`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resend {
    /// Back in the queue, to go in the next batch.
    Queued,
    /// No refused, undismissed record has this id.
    NotFound,
    /// The record's NIK was erased (dismissed, or refused before refusals were kept).
    Erased,
    /// The same NIK and aid type is queued or delivered already (imported again, corrected).
    AlreadyHeld,
}

impl Resend {
    /// What happened, in Bahasa Indonesia.
    pub fn id(self) -> &'static str {
        match self {
            Resend::Queued => {
                "data dimasukkan kembali ke antrean dan akan dikirim pada batch berikutnya"
            }
            Resend::NotFound => "tidak ada data ditolak dengan nomor itu",
            Resend::Erased => "NIK data ini sudah dihapus; perbaiki dan impor ulang",
            Resend::AlreadyHeld => {
                "NIK dengan jenis bantuan ini sudah ada di antrean atau sudah terkirim"
            }
        }
    }

    /// What happened, in English.
    pub fn en(self) -> &'static str {
        match self {
            Resend::Queued => "queued again for the next batch",
            Resend::NotFound => "no refused record has that number",
            Resend::Erased => "this record's NIK was erased; correct it and import it again",
            Resend::AlreadyHeld => "this NIK and aid type is already queued or delivered",
        }
    }
}

/// The state of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    /// Waiting for the service's answer.
    Pending,
    /// The service holds it.
    Delivered,
    /// The service refused it; a person must correct and import it again.
    Rejected,
}

impl RecordState {
    /// The label used in the database and in metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Pending => "pending",
            RecordState::Delivered => "delivered",
            RecordState::Rejected => "rejected",
        }
    }

    /// Every state.
    pub const ALL: [RecordState; 3] = [
        RecordState::Pending,
        RecordState::Delivered,
        RecordState::Rejected,
    ];
}

/// Counts by state and the age of the oldest pending record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Counts {
    /// Not yet delivered.
    pub pending: u64,
    /// Delivered.
    pub delivered: u64,
    /// Refused by the service.
    pub rejected: u64,
    /// Age of the oldest pending record, seconds (0 when none is pending).
    pub oldest_pending_age_seconds: f64,
}

/// A batch claimed for posting: the same id and records until the service answers.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Batch id.
    pub id: i64,
    /// How many times it has been claimed for posting, this time included.
    pub attempt: u32,
    /// The records, in queue order.
    pub records: Vec<BalikanRecord>,
}

struct Inner {
    path: String,
    conn: Mutex<Connection>,
    key: [u8; 32],
}

/// The durable outbox. Cheap to clone; every clone shares one connection.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn load_or_create_key(path: &Path) -> Result<[u8; 32], Error> {
    let shown = path.display().to_string();
    let io = |source| Error::Io {
        path: shown.clone(),
        source,
    };
    // Checked like every secret file: refused when group or others may read it.
    match crate::secret::read_private(path) {
        Ok(text) => {
            let bytes = hex::decode(text.trim()).map_err(|_| Error::BadKey {
                path: shown.clone(),
            })?;
            <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| Error::BadKey {
                path: shown.clone(),
            })
        }
        Err(crate::secret::FileError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            use rand::RngExt;
            let key: [u8; 32] = rand::rng().random();
            // Write to a temporary file then rename, so a crash never leaves half a key.
            let tmp = path.with_extension(format!(
                "key.{}.{:x}.tmp",
                std::process::id(),
                rand::rng().random::<u64>()
            ));
            {
                use std::io::Write;
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create(true).truncate(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    opts.mode(0o600);
                }
                let mut f = opts.open(&tmp).map_err(io)?;
                f.write_all(hex::encode(key).as_bytes()).map_err(io)?;
                f.sync_all().map_err(io)?;
            }
            // Two processes may race to create it: the link is atomic and fails when the file
            // exists, so the first one wins and both read the winner's key back.
            let linked = std::fs::hard_link(&tmp, path);
            let _ = std::fs::remove_file(&tmp);
            if let Err(e) = linked
                && e.kind() != std::io::ErrorKind::AlreadyExists
            {
                return Err(io(e));
            }
            load_or_create_key(path)
        }
        Err(e) => Err(e.into()),
    }
}

impl Outbox {
    /// Open (or create) the outbox in `state_dir`: `outbox.sqlite` and its hashing key.
    pub fn open(state_dir: &Path) -> Result<Outbox, Error> {
        crate::sqlite::create_state_dir(state_dir).map_err(|source| Error::Io {
            path: state_dir.display().to_string(),
            source,
        })?;
        let key = load_or_create_key(&state_dir.join(KEY_FILE))?;
        let db: PathBuf = state_dir.join(DB_FILE);
        let path = db.display().to_string();
        let err = |operation| {
            let path = path.clone();
            move |source| Error::Db {
                path,
                operation,
                source,
            }
        };
        let conn = crate::sqlite::open(&db).map_err(err("open"))?;
        // FULL: a delivered mark survives a power cut, not only a killed process.
        // secure_delete: the erased NIKs of delivered records are zeroed in the file's pages,
        // not left as free space.
        conn.execute_batch(
            "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;",
        )
        .map_err(err("set pragmas"))?;
        crate::sqlite::migrate(&conn, MIGRATIONS).map_err(|e| match e {
            crate::sqlite::MigrateError::Sql(source) => Error::Db {
                path: path.clone(),
                operation: "migrate",
                source,
            },
            crate::sqlite::MigrateError::TooNew { found, known } => Error::TooNew {
                path: path.clone(),
                found,
                known,
            },
        })?;
        Ok(Outbox {
            inner: Arc::new(Inner {
                path,
                conn: Mutex::new(conn),
                key,
            }),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic elsewhere while holding the lock leaves SQLite consistent (transactions roll
        // back on drop), so the connection is still usable.
        self.inner.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn db_err(&self, operation: &'static str) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |source| Error::Db {
            path: self.inner.path.clone(),
            operation,
            source,
        }
    }

    fn mac(&self, parts: &[&str]) -> Vec<u8> {
        // HMAC accepts keys of any length: this cannot fail for a 32-byte key.
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.inner.key) else {
            return Vec::new();
        };
        for p in parts {
            mac.update(p.as_bytes());
            mac.update(&[0]);
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// The key under which a NIK may hold one record per aid type.
    fn dedup_key(&self, nik: &Nik, aid: &AidType) -> Vec<u8> {
        self.mac(&["dedup", nik.expose(), aid.as_str()])
    }

    /// The audit hash of a whole record.
    pub fn record_hash(&self, nik: &Nik, recipient_id: &str, aid: &AidType) -> Vec<u8> {
        self.mac(&["record", nik.expose(), recipient_id, aid.as_str()])
    }

    /// Record what the topology declares for a record (its `param` keys and aid types), so that
    /// an import without the topology (`juknis balikan import`) checks the same aid types as
    /// `serve` and the dashboard.
    pub fn declare(&self, fields: &BalikanFields) -> Result<(), Error> {
        let json = serde_json::to_string(fields).unwrap_or_default();
        self.conn()
            .execute(
                "INSERT INTO declared (id, fields, at_ms) VALUES (1, ?1, ?2)
                 ON CONFLICT(id) DO UPDATE SET fields = excluded.fields, at_ms = excluded.at_ms",
                params![json, now_ms()],
            )
            .map_err(self.db_err("record the declared fields"))?;
        Ok(())
    }

    /// What was last declared with [`Outbox::declare`], or the documented defaults.
    pub fn fields(&self) -> Result<BalikanFields, Error> {
        let json: Option<String> = self
            .conn()
            .query_row("SELECT fields FROM declared WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(self.db_err("read the declared fields"))?;
        Ok(json
            .and_then(|j| serde_json::from_str::<BalikanFields>(&j).ok())
            .filter(|f| !f.aid_types.is_empty())
            .unwrap_or_default())
    }

    /// Validate `rows` (numbered by line or item) against the declared aid types and queue
    /// the accepted ones in one transaction. Rows refused for their content or as duplicates
    /// are in the report.
    pub fn import(
        &self,
        source: &str,
        unit: Unit,
        rows: Vec<(u64, RawRow)>,
    ) -> Result<ImportReport, Error> {
        let fields = self.fields()?;
        let mut report = ImportReport::new(source, unit);
        report.rows_read = rows.len() as u64;
        let mut first_seen: HashMap<Vec<u8>, (u64, String)> = HashMap::new();
        let mut accepted: Vec<(u64, Entry, Vec<u8>)> = Vec::new();
        for (line, raw) in rows {
            match validate(&raw, &fields) {
                Err(problems) => report.rejected.push(RowRejection { line, problems }),
                Ok(entry) => {
                    let key = self.dedup_key(&entry.nik, &entry.aid);
                    if let Some((first, rid)) = first_seen.get(&key) {
                        report.rejected.push(RowRejection {
                            line,
                            problems: vec![Problem::Duplicate {
                                first: *first,
                                conflict: *rid != entry.recipient_id,
                            }],
                        });
                    } else {
                        first_seen.insert(key.clone(), (line, entry.recipient_id.clone()));
                        accepted.push((line, entry, key));
                    }
                }
            }
        }
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.db_err("begin import"))?;
        let now = now_ms();
        {
            let mut find = tx
                .prepare_cached(
                    "SELECT state, record_hash FROM record WHERE dedup_key = ?1 AND state != 'rejected'",
                )
                .map_err(self.db_err("prepare import"))?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO record (dedup_key, record_hash, nik, recipient_id, aid, state, source, created_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)",
                )
                .map_err(self.db_err("prepare import"))?;
            for (line, entry, key) in accepted {
                let hash = self.record_hash(&entry.nik, &entry.recipient_id, &entry.aid);
                let held: Option<(String, Vec<u8>)> = find
                    .query_row(params![key], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
                    .map_err(self.db_err("look up duplicates"))?;
                if let Some((state, held_hash)) = held {
                    let held = if state == "delivered" {
                        Held::Delivered
                    } else {
                        Held::Pending
                    };
                    report.rejected.push(RowRejection {
                        line,
                        problems: vec![Problem::AlreadyHeld {
                            held,
                            conflict: held_hash != hash,
                        }],
                    });
                    continue;
                }
                insert
                    .execute(params![
                        key,
                        hash,
                        entry.nik.expose(),
                        entry.recipient_id,
                        entry.aid.as_str(),
                        source,
                        now
                    ])
                    .map_err(self.db_err("queue a record"))?;
                report.accepted += 1;
            }
        }
        report.rejected.sort_by_key(|r| r.line);
        tx.execute(
            "INSERT INTO import (source, at_ms, accepted, rejected) VALUES (?1, ?2, ?3, ?4)",
            params![
                source,
                now,
                report.accepted as i64,
                report.rejected.len() as i64
            ],
        )
        .map_err(self.db_err("record the import"))?;
        tx.commit().map_err(self.db_err("commit import"))?;
        Ok(report)
    }

    /// Read a CSV file's bytes and import its rows (the command line and the dashboard's
    /// upload). A file with a structural fault imports nothing; the report says where.
    pub fn import_csv(&self, source: &str, bytes: &[u8]) -> Result<ImportReport, Error> {
        let fields = self.fields()?;
        match super::csv::read(bytes, &fields) {
            Err(broken) => {
                let mut r = ImportReport::new(source, Unit::Line);
                r.broken = broken;
                Ok(r)
            }
            Ok(parsed) => {
                let mut r = self.import(source, Unit::Line, parsed.rows)?;
                r.ignored_columns = parsed.ignored_columns;
                Ok(r)
            }
        }
    }

    /// The batch to post next: the open batch if one was claimed before (it must be posted
    /// again exactly as it was), else a new one of up to `max` oldest pending records.
    /// `None` when nothing is pending.
    pub fn claim(&self, max: usize) -> Result<Option<Batch>, Error> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.db_err("begin claim"))?;
        let open: Option<i64> = tx
            .query_row(
                "SELECT batch_id FROM record WHERE state = 'pending' AND batch_id IS NOT NULL
                 ORDER BY batch_id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db_err("find the open batch"))?;
        let id = match open {
            Some(id) => id,
            None => {
                let any: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM record WHERE state = 'pending' AND batch_id IS NULL LIMIT 1",
                        [],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(self.db_err("find pending records"))?;
                if any.is_none() {
                    return Ok(None);
                }
                tx.execute(
                    "INSERT INTO batch (created_ms) VALUES (?1)",
                    params![now_ms()],
                )
                .map_err(self.db_err("create a batch"))?;
                let id = tx.last_insert_rowid();
                tx.execute(
                    "UPDATE record SET batch_id = ?1 WHERE id IN (
                        SELECT id FROM record WHERE state = 'pending' AND batch_id IS NULL
                        ORDER BY id LIMIT ?2)",
                    params![id, max.max(1) as i64],
                )
                .map_err(self.db_err("fill a batch"))?;
                id
            }
        };
        tx.execute(
            "UPDATE batch SET attempts = attempts + 1 WHERE id = ?1",
            params![id],
        )
        .map_err(self.db_err("count an attempt"))?;
        let attempt: i64 = tx
            .query_row(
                "SELECT attempts FROM batch WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .map_err(self.db_err("read a batch"))?;
        let mut records = Vec::new();
        {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT nik, recipient_id, aid FROM record
                     WHERE batch_id = ?1 AND state = 'pending' ORDER BY id",
                )
                .map_err(self.db_err("read a batch"))?;
            let rows = stmt
                .query_map(params![id], |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .map_err(self.db_err("read a batch"))?;
            for row in rows {
                let (nik, rid, aid) = row.map_err(self.db_err("read a batch"))?;
                // Pending rows always hold their data; a row that does not parse was written
                // by hand and is left for a person (it stays pending, visible in the counts).
                let (Some(nik), Some(recipient_id), Some(aid)) = (
                    nik.and_then(|n| Nik::parse(&n).ok()),
                    rid,
                    AidType::new(&aid),
                ) else {
                    tracing::error!(batch = id, "a pending outbox record is unreadable");
                    continue;
                };
                records.push(BalikanRecord {
                    nik,
                    recipient_id,
                    aid,
                });
            }
        }
        tx.commit().map_err(self.db_err("commit claim"))?;
        Ok(Some(Batch {
            id,
            attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
            records,
        }))
    }

    /// The service holds every record of `batch` (`already`: it said so before this post).
    /// The plain NIK and recipient ID are erased; the keyed hashes stay for the audit.
    pub fn delivered(&self, batch: i64, already: bool) -> Result<u64, Error> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.db_err("begin delivered"))?;
        let now = now_ms();
        let n = tx
            .execute(
                "UPDATE record SET state = 'delivered', nik = NULL, recipient_id = NULL, done_ms = ?2
                 WHERE batch_id = ?1 AND state = 'pending'",
                params![batch, now],
            )
            .map_err(self.db_err("mark delivered"))?;
        tx.execute(
            "UPDATE batch SET outcome = ?2, done_ms = ?3 WHERE id = ?1",
            params![batch, if already { "already_sent" } else { "success" }, now],
        )
        .map_err(self.db_err("close a batch"))?;
        tx.commit().map_err(self.db_err("commit delivered"))?;
        Ok(n as u64)
    }

    /// The service refused `batch` as a whole. A batch of one record marks that record
    /// rejected with `reason`; a larger batch is split in two (see [`Outbox::split`]) so that
    /// the record at fault is found and the others still go. Returns the number of records
    /// rejected (0 when split).
    pub fn refused(&self, batch: i64, reason: &str) -> Result<u64, Error> {
        self.split_or(batch, reason, Some(reason)).map(|(n, _)| n)
    }

    /// Split `batch` into two new batches, each to be posted afresh; a batch of one record is
    /// left as it is. Only for a batch the service holds none of (it refused it, or it answered
    /// "already sent" to its first post): splitting a batch it may hold would change what a
    /// resend looks like. Returns whether it was split.
    pub fn split(&self, batch: i64, reason: &str) -> Result<bool, Error> {
        self.split_or(batch, reason, None).map(|(_, split)| split)
    }

    /// Split `batch` when it has more than one pending record; otherwise reject its record
    /// with `reject` when given, or leave it open.
    fn split_or(
        &self,
        batch: i64,
        reason: &str,
        reject: Option<&str>,
    ) -> Result<(u64, bool), Error> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.db_err("begin split"))?;
        let now = now_ms();
        let ids: Vec<i64> = {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT id FROM record WHERE batch_id = ?1 AND state = 'pending' ORDER BY id",
                )
                .map_err(self.db_err("read a batch"))?;
            stmt.query_map(params![batch], |r| r.get(0))
                .map_err(self.db_err("read a batch"))?
                .collect::<Result<_, _>>()
                .map_err(self.db_err("read a batch"))?
        };
        let (rejected, outcome) = if ids.len() > 1 {
            let half = ids.len() / 2;
            for part in [&ids[..half], &ids[half..]] {
                tx.execute("INSERT INTO batch (created_ms) VALUES (?1)", params![now])
                    .map_err(self.db_err("split a batch"))?;
                let new_id = tx.last_insert_rowid();
                for id in part {
                    tx.execute(
                        "UPDATE record SET batch_id = ?1 WHERE id = ?2",
                        params![new_id, id],
                    )
                    .map_err(self.db_err("split a batch"))?;
                }
            }
            (0, Some("split"))
        } else if let Some(why) = reject {
            let n = tx
                .execute(
                    "UPDATE record SET state = 'rejected', reason = ?2, done_ms = ?3
                     WHERE batch_id = ?1 AND state = 'pending'",
                    params![batch, why, now],
                )
                .map_err(self.db_err("mark rejected"))? as u64;
            (n, Some("rejected"))
        } else {
            (0, None)
        };
        if let Some(outcome) = outcome {
            tx.execute(
                "UPDATE batch SET outcome = ?2, last_error = ?3, done_ms = ?4 WHERE id = ?1",
                params![batch, outcome, reason, now],
            )
            .map_err(self.db_err("close a batch"))?;
        }
        tx.commit().map_err(self.db_err("commit split"))?;
        Ok((rejected, outcome == Some("split")))
    }

    /// A post of `batch` got no verdict; it stays open and will be posted again as it is.
    pub fn failed(&self, batch: i64, reason: &str) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE batch SET last_error = ?2 WHERE id = ?1",
                params![batch, reason],
            )
            .map_err(self.db_err("note a failure"))?;
        Ok(())
    }

    /// The records the service refused and nobody dismissed, newest first (at most `limit`):
    /// the recipient ID, the aid type, the service's own words and where the row came from (the
    /// NIK is never shown), and whether it can be sent again.
    pub fn rejected(&self, limit: usize) -> Result<Vec<Refused>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, recipient_id, aid, reason, source, done_ms, nik IS NOT NULL FROM record
                 WHERE state = 'rejected' AND dismissed_ms IS NULL
                 ORDER BY done_ms DESC, id DESC LIMIT ?1",
            )
            .map_err(self.db_err("read refusals"))?;
        let rows = stmt
            .query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok(Refused {
                    id: r.get(0)?,
                    recipient_id: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                    aid: r.get(2)?,
                    reason: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                    source: r.get(4)?,
                    at_ms: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
                    resendable: r.get(6)?,
                })
            })
            .map_err(self.db_err("read refusals"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.db_err("read refusals"))
    }

    /// Put refused record `id` back in the queue as it is (an admin's decision, once what the
    /// service objected to is fixed on its side or in the topology's declared keys).
    pub fn resend(&self, id: i64) -> Result<Resend, Error> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.db_err("begin resend"))?;
        let found: Option<(Option<String>, Vec<u8>)> = tx
            .query_row(
                "SELECT nik, dedup_key FROM record
                 WHERE id = ?1 AND state = 'rejected' AND dismissed_ms IS NULL",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.db_err("read a refused record"))?;
        let Some((nik, key)) = found else {
            return Ok(Resend::NotFound);
        };
        if nik.is_none() {
            return Ok(Resend::Erased);
        }
        let held: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM record WHERE dedup_key = ?1 AND state != 'rejected')",
                params![key],
                |r| r.get(0),
            )
            .map_err(self.db_err("look up duplicates"))?;
        if held {
            return Ok(Resend::AlreadyHeld);
        }
        tx.execute(
            "UPDATE record SET state = 'pending', batch_id = NULL, reason = NULL, done_ms = NULL
             WHERE id = ?1",
            params![id],
        )
        .map_err(self.db_err("queue a record again"))?;
        tx.commit().map_err(self.db_err("commit resend"))?;
        Ok(Resend::Queued)
    }

    /// Dismiss refused record `id`: its NIK and recipient ID are erased and it leaves the
    /// list; it still counts as refused. `false` when no such undismissed record exists.
    pub fn dismiss(&self, id: i64) -> Result<bool, Error> {
        let n = self
            .conn()
            .execute(
                "UPDATE record SET nik = NULL, recipient_id = NULL, dismissed_ms = ?2
                 WHERE id = ?1 AND state = 'rejected' AND dismissed_ms IS NULL",
                params![id, now_ms()],
            )
            .map_err(self.db_err("dismiss a refused record"))?;
        Ok(n == 1)
    }

    /// Counts by state and the age of the oldest pending record.
    pub fn counts(&self) -> Result<Counts, Error> {
        let conn = self.conn();
        let mut counts = Counts::default();
        let mut stmt = conn
            .prepare_cached("SELECT state, count(*) FROM record GROUP BY state")
            .map_err(self.db_err("count"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(self.db_err("count"))?;
        for row in rows {
            let (state, n) = row.map_err(self.db_err("count"))?;
            let n = u64::try_from(n).unwrap_or(0);
            match state.as_str() {
                "pending" => counts.pending = n,
                "delivered" => counts.delivered = n,
                "rejected" => counts.rejected = n,
                _ => {}
            }
        }
        let oldest: Option<i64> = conn
            .query_row(
                "SELECT min(created_ms) FROM record WHERE state = 'pending'",
                [],
                |r| r.get(0),
            )
            .map_err(self.db_err("oldest pending"))?;
        if let Some(ms) = oldest {
            counts.oldest_pending_age_seconds = (now_ms() - ms).max(0) as f64 / 1000.0;
        }
        Ok(counts)
    }

    /// Whether the outbox holds a record with these values, and in which state (for tests and
    /// the audit: answers from the hash, so it works after delivery too).
    pub fn lookup(
        &self,
        nik: &Nik,
        recipient_id: &str,
        aid: &AidType,
    ) -> Result<Option<RecordState>, Error> {
        let hash = self.record_hash(nik, recipient_id, aid);
        let state: Option<String> = self
            .conn()
            .query_row(
                "SELECT state FROM record WHERE record_hash = ?1 ORDER BY id DESC LIMIT 1",
                params![hash],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db_err("look up a record"))?;
        Ok(state.and_then(|s| {
            RecordState::ALL
                .into_iter()
                .find(|st| st.as_str() == s.as_str())
        }))
    }

    /// How many records still hold a plain NIK (only pending and undismissed refused ones
    /// should).
    pub fn plain_niks(&self) -> Result<u64, Error> {
        let n: i64 = self
            .conn()
            .query_row(
                "SELECT count(*) FROM record WHERE nik IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .map_err(self.db_err("count plain NIKs"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Put the counts into the metrics.
    pub fn export(&self, counts: &Counts, metrics: &crate::metrics::Metrics) {
        for (state, n) in [
            (RecordState::Pending, counts.pending),
            (RecordState::Delivered, counts.delivered),
            (RecordState::Rejected, counts.rejected),
        ] {
            metrics
                .balikan_records
                .with_label_values(&[state.as_str()])
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        metrics
            .balikan_oldest_pending
            .set(counts.oldest_pending_age_seconds);
    }
}

/// What happened to data balikan records in a period, and what waits now (the semester report).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PeriodCounts {
    /// Records queued in the period.
    pub queued: u64,
    /// Records the service took in the period.
    pub delivered: u64,
    /// Records the service refused in the period.
    pub rejected: u64,
    /// Records waiting now, whenever they were queued.
    pub pending_now: u64,
}

/// Count the outbox's records for `[from_ms, to_ms)` (Unix milliseconds), opened read-only and
/// without touching its key; `None` when the state dir has no outbox.
pub fn period_counts(
    state_dir: &Path,
    from_ms: i64,
    to_ms: i64,
) -> Result<Option<PeriodCounts>, Error> {
    let db = state_dir.join(DB_FILE);
    if !db.exists() {
        return Ok(None);
    }
    let path = db.display().to_string();
    let err = |operation| {
        let path = path.clone();
        move |source| Error::Db {
            path,
            operation,
            source,
        }
    };
    let conn = crate::sqlite::open_read_only(&db).map_err(err("open read-only"))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(err("set busy timeout"))?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err("read schema version"))?;
    if version < 1 {
        return Ok(Some(PeriodCounts::default()));
    }
    let n = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<u64, Error> {
        conn.query_row(sql, p, |r| r.get::<_, i64>(0))
            .map(|v| v.max(0) as u64)
            .map_err(err("count"))
    };
    Ok(Some(PeriodCounts {
        queued: n(
            "SELECT count(*) FROM record WHERE created_ms >= ?1 AND created_ms < ?2",
            &[&from_ms, &to_ms],
        )?,
        delivered: n(
            "SELECT count(*) FROM record WHERE state = 'delivered' AND done_ms >= ?1 AND done_ms < ?2",
            &[&from_ms, &to_ms],
        )?,
        rejected: n(
            "SELECT count(*) FROM record WHERE state = 'rejected' AND done_ms >= ?1 AND done_ms < ?2",
            &[&from_ms, &to_ms],
        )?,
        pending_now: n("SELECT count(*) FROM record WHERE state = 'pending'", &[])?,
    }))
}
