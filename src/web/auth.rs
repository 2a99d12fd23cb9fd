//! Dashboard users, roles, passwords and sessions. Users live in `users.db` in the state
//! folder (argon2id hashes, never the password); sessions live in memory only, so a restart
//! logs everyone out. Failed log-ins are counted per user and lock the account for a while.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rusqlite::{Connection, OptionalExtension, params};

/// The file, inside the state folder.
pub const FILE: &str = "users.db";

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users' audit trail.
    Admin,
    /// Network health, history, documents; no look-ups.
    Technician,
    /// Look-ups (once the NDA is signed) and data balikan.
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Technician => "technician",
            Role::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "technician" => Some(Role::Technician),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

/// Why a user could not be stored or checked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("user database {path}: {source}")]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("user database {path}: {detail}")]
    TooNew { path: PathBuf, detail: String },
    #[error("user name must be 1 to 64 letters, digits, '.', '-' or '_'")]
    BadName,
    #[error("password must be at least {0} characters")]
    WeakPassword(usize),
    #[error("user {0} already exists")]
    Exists(String),
    #[error("hashing the password failed")]
    Hash,
}

/// A user as the dashboard sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// Has signed the non-disclosure agreement (Juknis VI.E): may look NIKs up.
    pub nda_signed: bool,
}

impl User {
    /// Look-ups: admins and operators, and only once the NDA is signed.
    pub fn may_lookup(&self) -> bool {
        self.nda_signed && matches!(self.role, Role::Admin | Role::Operator)
    }
    pub fn may_balikan(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Operator)
    }
    pub fn may_audit(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Why a log-in was refused. The page says the same thing for a wrong name and a wrong
/// password, so that names cannot be guessed.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    Wrong,
    /// Locked after too many failures, for this long still.
    Locked(Duration),
}

/// Lock-out policy.
#[derive(Clone, Copy, Debug)]
pub struct Lockout {
    /// Failures in a row that lock the account.
    pub after: u32,
    /// How long it stays locked.
    pub for_: Duration,
}

impl Default for Lockout {
    fn default() -> Self {
        Lockout {
            after: 5,
            for_: Duration::from_secs(15 * 60),
        }
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// Schema steps of `users.db`, applied in order; the index + 1 is the version. Step 1 is the
/// table as it was before versions were kept (`IF NOT EXISTS`: such a file is at version 0 and
/// has it).
const MIGRATIONS: &[&str] = &["CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        hash TEXT NOT NULL,
        nda INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER NOT NULL DEFAULT 0,
        created_s INTEGER NOT NULL
     );"];

/// The user database.
pub struct Users {
    path: PathBuf,
    conn: Mutex<Connection>,
    lockout: Lockout,
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Users {
    /// Open (and create) `DIR/users.db`.
    pub fn open(state_dir: &Path, lockout: Lockout) -> Result<Users, Error> {
        let path = state_dir.join(FILE);
        let sql = |source| Error::Sql {
            path: path.clone(),
            source,
        };
        let conn = crate::sqlite::open(&path).map_err(sql)?;
        crate::sqlite::migrate(&conn, MIGRATIONS).map_err(|e| match e {
            crate::sqlite::MigrateError::Sql(e) => sql(e),
            e @ crate::sqlite::MigrateError::TooNew { .. } => Error::TooNew {
                path: path.clone(),
                detail: e.to_string(),
            },
        })?;
        Ok(Users {
            path,
            conn: Mutex::new(conn),
            lockout,
        })
    }

    fn sql(&self, source: rusqlite::Error) -> Error {
        Error::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// Add a user; the password is hashed with argon2id and a fresh salt.
    pub fn add(&self, name: &str, role: Role, password: &str, nda: bool) -> Result<(), Error> {
        let ok_name = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !ok_name {
            return Err(Error::BadName);
        }
        if password.chars().count() < MIN_PASSWORD {
            return Err(Error::WeakPassword(MIN_PASSWORD));
        }
        let hash = Argon2::default()
            .hash_password(password.as_bytes())
            .map_err(|_| Error::Hash)?
            .to_string();
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let n = conn
            .execute(
                "INSERT OR IGNORE INTO users (name, role, hash, nda, created_s) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, role.as_str(), hash, nda, now_s()],
            )
            .map_err(|e| self.sql(e))?;
        if n == 0 {
            return Err(Error::Exists(name.to_string()));
        }
        Ok(())
    }

    /// For the demo: when there is no user yet, add `admin` (admin, NDA signed) with a fresh
    /// random password and return it, to be printed once. `None` when users exist.
    pub fn add_demo_admin(&self) -> Result<Option<String>, Error> {
        if self.count()? > 0 {
            return Ok(None);
        }
        let password = token()[..20].to_string();
        self.add("admin", Role::Admin, &password, true)?;
        Ok(Some(password))
    }

    /// How many users there are.
    pub fn count(&self) -> Result<u64, Error> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row("SELECT COUNT(*) FROM users", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as u64)
            .map_err(|e| self.sql(e))
    }

    /// Check a log-in. Counts failures; locks after `lockout.after` in a row. Returns the
    /// failures so far on a refusal, for throttling.
    pub fn login(&self, name: &str, password: &str) -> Result<Result<User, (Refused, u32)>, Error> {
        let now = now_s();
        let row = {
            let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            conn.query_row(
                "SELECT role, hash, nda, failed, locked_until FROM users WHERE name = ?1",
                params![name],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, bool>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.sql(e))?
        };
        let Some((role, hash, nda, failed, locked_until)) = row else {
            // Spend the same time as a real check, so that unknown names do not answer faster.
            let _ = Argon2::default().hash_password(password.as_bytes());
            return Ok(Err((Refused::Wrong, 0)));
        };
        if locked_until > now {
            return Ok(Err((
                Refused::Locked(Duration::from_secs((locked_until - now) as u64)),
                failed.max(0) as u32,
            )));
        }
        let good = PasswordHash::new(&hash).ok().is_some_and(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        });
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if good {
            conn.execute(
                "UPDATE users SET failed = 0, locked_until = 0 WHERE name = ?1",
                params![name],
            )
            .map_err(|e| self.sql(e))?;
            let role = Role::parse(&role).unwrap_or(Role::Technician);
            return Ok(Ok(User {
                name: name.to_string(),
                role,
                nda_signed: nda,
            }));
        }
        let failed = failed.max(0) as u32 + 1;
        let lock = failed >= self.lockout.after;
        let until = if lock {
            now + self.lockout.for_.as_secs() as i64
        } else {
            0
        };
        conn.execute(
            "UPDATE users SET failed = ?2, locked_until = ?3 WHERE name = ?1",
            params![name, if lock { 0 } else { failed }, until],
        )
        .map_err(|e| self.sql(e))?;
        if lock {
            tracing::warn!(user = name, "account locked after repeated failed log-ins");
            return Ok(Err((Refused::Locked(self.lockout.for_), failed)));
        }
        Ok(Err((Refused::Wrong, failed)))
    }
}

/// A logged-in session.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    /// The per-session CSRF token every form carries.
    pub csrf: String,
    last_seen: Instant,
}

/// Sessions by token, in memory. Idle sessions expire.
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
    idle: Duration,
}

/// A random token, hex.
pub fn token() -> String {
    use rand::RngExt;
    let b: [u8; 32] = rand::rng().random();
    hex::encode(b)
}

/// Compare two secrets in constant time.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Sessions {
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            idle,
        }
    }

    /// Start a session; returns its token (for the cookie).
    pub fn start(&self, user: User) -> String {
        let t = token();
        let s = Session {
            user,
            csrf: token(),
            last_seen: Instant::now(),
        };
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let idle = self.idle;
        m.retain(|_, s| s.last_seen.elapsed() < idle);
        m.insert(t.clone(), s);
        t
    }

    /// The session of `token`, refreshed; `None` when unknown or expired.
    pub fn get(&self, token: &str) -> Option<Session> {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let s = m.get_mut(token)?;
        if s.last_seen.elapsed() >= self.idle {
            m.remove(token);
            return None;
        }
        s.last_seen = Instant::now();
        Some(s.clone())
    }

    pub fn end(&self, token: &str) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        m.remove(token);
    }
}
