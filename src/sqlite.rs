//! SQLite helpers shared by the modules that keep a database in the state dir.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

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
