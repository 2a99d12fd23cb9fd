//! SQLite helpers shared by the modules that keep a database in the state dir: opening one
//! private to its owner, migrating its schema safely when several processes open it at once,
//! and reading one without changing it. Also creates the state folder itself, private.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

/// How long a connection waits for another process's lock (a migration, a big batch) before
/// giving up with "database is locked".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a database's schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// SQLite failed (the migration was rolled back).
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    /// The file was written by a newer juknis.
    #[error("schema version {found} is newer than this juknis ({known})")]
    TooNew {
        /// Its `user_version`.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
}

/// Create the state folder (and missing parents) readable by its owner only (0700, whatever
/// the umask). A folder that exists is left as it is: its owner chose its mode.
pub fn create_state_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The umask may have taken bits away from 0700 (never added any).
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Open (or create) a database for reading and writing: a new file is created 0600 whatever
/// the umask (SQLite gives its `-wal` and `-shm` files the database file's mode), and an
/// existing one readable by others is narrowed to 0600. The busy timeout is set before anything
/// that takes a lock, then WAL is switched on.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    #[cfg(unix)]
    private_file(path);
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    retry_busy(|| conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)))?;
    Ok(conn)
}

/// Run `f` again while SQLite answers "database is locked" without having waited: the busy
/// handler is not called in every case (a new file switching to WAL while another process
/// does the same, or the first reader of a new WAL), so wait here too, up to [`BUSY_TIMEOUT`].
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match f() {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Make `path` (and its `-wal`, `-shm` files when they exist) 0600, creating `path` empty when
/// it does not exist. Failures are left to SQLite's open to report.
#[cfg(unix)]
fn private_file(path: &Path) {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        if let Ok(m) = std::fs::metadata(&p)
            && m.permissions().mode() & 0o777 != 0o600
        {
            let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
        }
    }
}

/// Bring the schema up to `migrations.len()` (step `i` makes version `i + 1`), all steps in one
/// `BEGIN IMMEDIATE` transaction: `user_version` is read only once the write lock is held, so of
/// several processes opening a new file at once one migrates and the others, having waited for
/// its lock (the busy timeout), find the schema current. A failed step rolls everything back.
pub fn migrate(conn: &Connection, migrations: &[&str]) -> Result<(), MigrateError> {
    let tx = retry_busy(|| Transaction::new_unchecked(conn, TransactionBehavior::Immediate))?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    if found > known {
        return Err(MigrateError::TooNew { found, known });
    }
    for (i, step) in migrations.iter().enumerate().skip(found.max(0) as usize) {
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
    }
    tx.commit()?;
    Ok(())
}

/// Open a database for reading without changing the state dir. A database in WAL mode that a
/// running appliance holds open (its `-wal` file exists) is opened read-only and read through
/// the WAL; one that is closed is opened immutable, since a read-only connection would
/// otherwise leave fresh `-wal` and `-shm` files behind that it cannot remove.
pub fn open_read_only(path: &Path) -> rusqlite::Result<Connection> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        return Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY);
    }
    let mut uri = String::from("file:");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri.push_str("?immutable=1");
    Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
    )
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn reading_a_closed_wal_database_leaves_no_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a 100%?#.db");
        let c = Connection::open(&p).unwrap();
        c.pragma_update(None, "journal_mode", "WAL").unwrap();
        c.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        drop(c);
        let files = || std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(files(), 1);
        let r = open_read_only(&p).unwrap();
        let n: i64 = r
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
        assert!(r.execute("INSERT INTO t VALUES (2)", []).is_err());
        drop(r);
        assert_eq!(files(), 1);
    }

    #[test]
    fn a_database_held_open_is_read_through_its_wal() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.db");
        let w = Connection::open(&p).unwrap();
        w.pragma_update(None, "journal_mode", "WAL").unwrap();
        w.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1), (2);")
            .unwrap();
        let r = open_read_only(&p).unwrap();
        let n: i64 = r
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2, "rows still in the WAL are seen");
    }
}
