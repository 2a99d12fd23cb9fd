//! The daily NIK quota of the agreement, counted per WIB day (Asia/Jakarta) and persisted in
//! SQLite (`quota.db` in the state dir) so a restart keeps the count.
//!
//! Exact under concurrency: the check, the increment and the write happen under one lock, so N
//! concurrent requests with M left reserve exactly min(N, M). A reservation is taken before
//! forwarding and given back only when the request surely never reached Dukcapil. The table
//! holds a day and a count, nothing else.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::Clock;

/// The quota database in the state dir.
pub const FILE: &str = "quota.db";

/// Why the quota store failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening or writing the database failed.
    #[error("quota store {path}: {source}", path = path.display())]
    Sql {
        /// The database file.
        path: PathBuf,
        /// Cause.
        source: rusqlite::Error,
    },
    /// The file was written by a newer juknis.
    #[error("quota store {path}: {detail}", path = path.display())]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// The versions.
        detail: String,
    },
}

/// Today's quota is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    /// Until the next WIB midnight.
    pub retry_after: Duration,
}

/// One unit of today's quota, taken before forwarding.
#[derive(Debug)]
#[must_use = "a reservation is spent unless released"]
pub struct Reservation {
    day: NaiveDate,
}

struct Inner {
    conn: Connection,
    day: NaiveDate,
    used: u64,
}

/// The quota counter.
pub struct Quota {
    limit: Option<u64>,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quota")
            .field("limit", &self.limit)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// The WIB calendar day of an instant.
pub fn wib_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&chrono_tz::Asia::Jakarta).date_naive()
}

/// Time from `t` to the next WIB midnight.
pub fn until_next_wib_day(t: DateTime<Utc>) -> Duration {
    use chrono::TimeZone;
    let next = wib_day(t).succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0));
    next.and_then(|n| chrono_tz::Asia::Jakarta.from_local_datetime(&n).single())
        .map(|n| {
            (n.with_timezone(&Utc) - t)
                .to_std()
                .unwrap_or(Duration::ZERO)
        })
        .unwrap_or(Duration::from_secs(3600))
}

/// How often an unlimited quota's count is written.
const UNLIMITED_FLUSH_EVERY: u64 = 64;

/// Schema steps, applied in order; the index + 1 is the version. Step 1 is the table as it was
/// before versions were kept (`IF NOT EXISTS`: such a file is at version 0 and has it).
const MIGRATIONS: &[&str] =
    &["CREATE TABLE IF NOT EXISTS quota (day TEXT PRIMARY KEY, used INTEGER NOT NULL)"];

/// Open (or create) the quota database and bring its schema up to date.
fn open_migrated(path: &Path) -> Result<Connection, Error> {
    let sql = |source| Error::Sql {
        path: path.to_path_buf(),
        source,
    };
    let conn = crate::sqlite::open(path).map_err(sql)?;
    crate::sqlite::migrate(&conn, MIGRATIONS).map_err(|e| match e {
        crate::sqlite::MigrateError::Sql(e) => sql(e),
        e @ crate::sqlite::MigrateError::TooNew { .. } => Error::TooNew {
            path: path.to_path_buf(),
            detail: e.to_string(),
        },
    })?;
    Ok(conn)
}

fn load(conn: &Connection, day: NaiveDate) -> rusqlite::Result<u64> {
    let used: Option<i64> = conn
        .query_row(
            "SELECT used FROM quota WHERE day = ?1",
            params![day.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(used.unwrap_or(0).max(0) as u64)
}

impl Quota {
    /// Open (or create) `DIR/quota.db`. `limit` is `None` when unlimited (look-ups are still
    /// counted, for the usage report).
    pub fn open(
        state_dir: &Path,
        limit: Option<u64>,
        clock: Arc<dyn Clock>,
    ) -> Result<Quota, Error> {
        let path = state_dir.join(FILE);
        let sql = |source| Error::Sql {
            path: path.clone(),
            source,
        };
        let conn = open_migrated(&path)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(sql)?;
        let day = wib_day(clock.now());
        let used = load(&conn, day).map_err(sql)?;
        Ok(Quota {
            limit,
            path,
            clock,
            inner: Mutex::new(Inner { conn, day, used }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn roll(&self, g: &mut Inner, today: NaiveDate) -> Result<(), Error> {
        if g.day != today {
            if self.limit.is_none() {
                self.write(g)?;
            }
            g.used = load(&g.conn, today).map_err(|source| Error::Sql {
                path: self.path.clone(),
                source,
            })?;
            g.day = today;
        }
        Ok(())
    }

    fn write(&self, g: &Inner) -> Result<(), Error> {
        g.conn
            .prepare_cached(
                "INSERT INTO quota (day, used) VALUES (?1, ?2)
                 ON CONFLICT(day) DO UPDATE SET used = excluded.used",
            )
            .and_then(|mut s| s.execute(params![g.day.to_string(), g.used as i64]))
            .map(|_| ())
            .map_err(|source| Error::Sql {
                path: self.path.clone(),
                source,
            })
    }

    /// The daily limit, `None` when unlimited.
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// Take one unit of today's quota, or say it is spent.
    pub fn reserve(&self) -> Result<Result<Reservation, Exhausted>, Error> {
        let now = self.clock.now();
        let today = wib_day(now);
        let mut g = self.lock();
        self.roll(&mut g, today)?;
        if self.limit.is_some_and(|l| g.used >= l) {
            return Ok(Err(Exhausted {
                retry_after: until_next_wib_day(now),
            }));
        }
        g.used += 1;
        // Unlimited: the count only feeds the usage report (the audit log is the record), so
        // it is written every so often and on drop instead of per look-up.
        if (self.limit.is_some() || g.used % UNLIMITED_FLUSH_EVERY == 1)
            && let Err(e) = self.write(&g)
        {
            g.used -= 1;
            return Err(e);
        }
        Ok(Ok(Reservation { day: today }))
    }

    /// Give a reservation back: the request surely never reached Dukcapil. A reservation of
    /// an earlier day is dropped (that day is over).
    pub fn release(&self, r: Reservation) -> Result<(), Error> {
        let mut g = self.lock();
        if g.day == r.day && g.used > 0 {
            g.used -= 1;
            self.write(&g)?;
        }
        Ok(())
    }

    /// Look-ups counted today (WIB).
    pub fn used_today(&self) -> Result<u64, Error> {
        let today = wib_day(self.clock.now());
        let mut g = self.lock();
        self.roll(&mut g, today)?;
        Ok(g.used)
    }

    /// What is left today, `None` when unlimited.
    pub fn left_today(&self) -> Result<Option<u64>, Error> {
        let used = self.used_today()?;
        Ok(self.limit.map(|l| l.saturating_sub(used)))
    }
}

impl Drop for Quota {
    fn drop(&mut self) {
        let g = self.lock();
        if let Err(e) = self.write(&g) {
            tracing::warn!(error = %e, "quota count not saved at shutdown");
        }
    }
}

/// Look-ups counted per WIB day in `[from, to]` (the semester report), opened read-only;
/// `None` when there is no quota store.
pub fn history(
    state_dir: &Path,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Option<Vec<(NaiveDate, u64)>>, Error> {
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
    let has_table: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'quota'",
            [],
            |r| r.get(0),
        )
        .map_err(sql)?;
    if has_table == 0 {
        return Ok(Some(Vec::new()));
    }
    let mut stmt = conn
        .prepare("SELECT day, used FROM quota WHERE day >= ?1 AND day <= ?2 ORDER BY day")
        .map_err(sql)?;
    let rows = stmt
        .query_map(params![from.to_string(), to.to_string()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .map_err(sql)?;
    let mut out = Vec::new();
    for row in rows {
        let (day, used) = row.map_err(sql)?;
        // A day that is not a date was not written by the gate: it cannot be attributed.
        if let Ok(d) = day.parse::<NaiveDate>() {
            out.push((d, used.max(0) as u64));
        }
    }
    Ok(Some(out))
}

/// Set the count of whole days at once (synthetic histories, imports), creating `DIR/quota.db`
/// when needed.
pub fn write_history(state_dir: &Path, days: &[(NaiveDate, u64)]) -> Result<(), Error> {
    let path = state_dir.join(FILE);
    let sql = |source| Error::Sql {
        path: path.clone(),
        source,
    };
    let mut conn = open_migrated(&path)?;
    let tx = conn.transaction().map_err(sql)?;
    {
        let mut st = tx
            .prepare(
                "INSERT INTO quota (day, used) VALUES (?1, ?2)
                 ON CONFLICT(day) DO UPDATE SET used = excluded.used",
            )
            .map_err(sql)?;
        for (d, n) in days {
            st.execute(params![d.to_string(), *n as i64]).map_err(sql)?;
        }
    }
    tx.commit().map_err(sql)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use crate::gate::ManualClock;

    #[test]
    fn the_wib_day_starts_at_17_utc() {
        let t: DateTime<Utc> = "2026-03-01T16:59:59Z".parse().unwrap();
        assert_eq!(wib_day(t).to_string(), "2026-03-01");
        assert_eq!(until_next_wib_day(t), Duration::from_secs(1));
        let t: DateTime<Utc> = "2026-03-01T17:00:00Z".parse().unwrap();
        assert_eq!(wib_day(t).to_string(), "2026-03-02");
    }

    #[test]
    fn limit_release_restart_and_next_day() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new("2026-03-01T10:00:00Z".parse().unwrap()));
        let q = Quota::open(dir.path(), Some(2), clock.clone()).unwrap();
        let a = q.reserve().unwrap().unwrap();
        let _b = q.reserve().unwrap().unwrap();
        assert!(q.reserve().unwrap().is_err());
        q.release(a).unwrap();
        let _c = q.reserve().unwrap().unwrap();
        drop(q);
        let q = Quota::open(dir.path(), Some(2), clock.clone()).unwrap();
        assert_eq!(q.used_today().unwrap(), 2);
        assert!(q.reserve().unwrap().is_err());
        clock.set("2026-03-01T17:00:01Z".parse().unwrap());
        assert_eq!(q.used_today().unwrap(), 0);
        let _d = q.reserve().unwrap().unwrap();
    }
}
