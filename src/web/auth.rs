//! Dashboard users, roles, passwords and sessions. Users live in `users.db` in the state
//! folder (argon2id hashes, never the password); sessions live in memory only, so a restart
//! logs everyone out. Failed log-ins are counted per typed name and source address, atomically
//! before the password is checked, and lock that pair (not the account) out with backoff.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::PasswordHash;
use rusqlite::{Connection, OptionalExtension, params};

use crate::gate::secrets::HmacKey;

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
    #[error("no user named {0}")]
    NoSuchUser(String),
    #[error("{0} is the last admin who can log in: add or enable another admin first")]
    LastAdmin(String),
    #[error("the NDA expires ({expires}) before it was signed ({signed})")]
    NdaDates { signed: String, expires: String },
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
    /// Path traces from the dashboard: technicians and admins.
    pub fn may_trace(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Technician)
    }
    /// Acknowledging incidents and writing their notes and causes: technicians and admins;
    /// operators read them.
    pub fn may_handle_incidents(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Technician)
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
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        hash TEXT NOT NULL,
        nda INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER NOT NULL DEFAULT 0,
        created_s INTEGER NOT NULL
     );",
    // 2: log-in throttling per typed name (as an HMAC) and source address, and the server key
    // of the log-in form's token (issue 18).
    THROTTLE_SCHEMA,
    // 3: the user's lifecycle (issue 16 item 7): disabled since when, the NDA's date, document
    // number and expiry (Juknis VI.E); and sessions that survive a restart, kept only as the
    // SHA-256 of their token (a copy of this file opens no session).
    "ALTER TABLE users ADD COLUMN disabled_s INTEGER;
     ALTER TABLE users ADD COLUMN nda_date TEXT;
     ALTER TABLE users ADD COLUMN nda_document TEXT;
     ALTER TABLE users ADD COLUMN nda_expires TEXT;
     CREATE TABLE sessions (
        token_hash BLOB PRIMARY KEY,
        name TEXT NOT NULL,
        csrf TEXT NOT NULL,
        created_s INTEGER NOT NULL,
        seen_s INTEGER NOT NULL
     );
     CREATE INDEX sessions_name ON sessions(name);",
];

/// One user as an admin sees them (`juknis user list`, the users page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub role: Role,
    pub nda: Nda,
    pub disabled: bool,
    pub created_s: i64,
}

/// The non-disclosure agreement a user signed (Juknis VI.E).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nda {
    pub signed: bool,
    /// When, and the document's number, where recorded (older accounts have only the flag).
    pub date: Option<String>,
    pub document: Option<String>,
    /// The last day it holds, where the OPD sets one.
    pub expires: Option<String>,
}

impl Nda {
    /// Signed and not expired on `today` (`YYYY-MM-DD`).
    pub fn holds(&self, today: &str) -> bool {
        self.signed && self.expires.as_deref().is_none_or(|e| today <= e)
    }
}

/// Today in WIB, `YYYY-MM-DD`, for NDA expiry.
fn today() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .format("%Y-%m-%d")
        .to_string()
}

/// The argon2id hash (fresh salt) of a new password, or why the password is refused.
fn new_hash(password: &str) -> Result<String, Error> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(Error::WeakPassword(MIN_PASSWORD));
    }
    Ok(Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|_| Error::Hash)?
        .to_string())
}

fn token_hash(token: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

/// The user database.
pub struct Users {
    path: PathBuf,
    conn: Mutex<Connection>,
    lockout: Lockout,
    /// The server key (see [`Users::form_token`]).
    key: [u8; 32],
    /// An argon2id hash of a random password: unknown names are checked against it.
    dummy: String,
}

/// Log-in throttling per typed name (as an HMAC) and source address, and the server key.
const THROTTLE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS login_throttle (
    who BLOB NOT NULL,
    source TEXT NOT NULL,
    tries INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0,
    strikes INTEGER NOT NULL DEFAULT 0,
    last_s INTEGER NOT NULL,
    PRIMARY KEY (who, source)
);
CREATE TABLE IF NOT EXISTS server_key (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    key BLOB NOT NULL
);";

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
        let fresh: [u8; 32] = {
            use rand::RngExt;
            rand::rng().random()
        };
        conn.execute(
            "INSERT OR IGNORE INTO server_key (id, key) VALUES (1, ?1)",
            params![fresh.to_vec()],
        )
        .map_err(sql)?;
        let stored: Vec<u8> = conn
            .query_row("SELECT key FROM server_key WHERE id = 1", [], |r| r.get(0))
            .map_err(sql)?;
        let key: [u8; 32] = stored.try_into().unwrap_or(fresh);
        let dummy = Argon2::default()
            .hash_password(token().as_bytes())
            .map_err(|_| Error::Hash)?
            .to_string();
        Ok(Users {
            path,
            conn: Mutex::new(conn),
            lockout,
            key,
            dummy,
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
        let hash = new_hash(password)?;
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

    /// Check a log-in from nowhere in particular (tools and tests). See [`Users::attempt`].
    pub fn login(&self, name: &str, password: &str) -> Result<Result<User, (Refused, u32)>, Error> {
        let a = self.attempt(name, password, "")?;
        Ok(match a.result {
            Ok(u) => Ok(u),
            Err(r) => Err((r, a.tries)),
        })
    }

    /// The key under which typed names are kept (HMAC) and log-in forms are signed. Made at
    /// the first open, kept in `users.db` (mode 600 with the hashes it sits beside).
    fn key(&self) -> HmacKey {
        HmacKey::from_bytes(self.key)
    }

    /// What a typed name is kept as: never the text (a password typed into the name field would
    /// otherwise be stored), an HMAC under the server key.
    fn who(&self, name: &str) -> Vec<u8> {
        self.key().tag(name.as_bytes()).to_vec()
    }

    /// A short tag that names a typed user name in the log without showing it: the same name
    /// gives the same tag, so repeated guesses can be followed.
    pub fn name_tag(&self, name: &str) -> String {
        hex::encode(&self.key().tag(name.as_bytes())[..6])
    }

    /// A fresh log-in form token: a nonce and its HMAC under the server key, so that only this
    /// server's tokens pass, and never an empty one.
    pub fn form_token(&self) -> String {
        let nonce = token();
        let mac = self.key().tag(format!("login-form:{nonce}").as_bytes());
        format!("{nonce}.{}", hex::encode(mac))
    }

    /// Whether `t` is a log-in form token this server made.
    pub fn form_token_ok(&self, t: &str) -> bool {
        let Some((nonce, mac)) = t.split_once('.') else {
            return false;
        };
        if nonce.len() != 64 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return false;
        }
        let want = hex::encode(self.key().tag(format!("login-form:{nonce}").as_bytes()));
        same(mac, &want)
    }

    /// Check a log-in by `name` from `source` (the client's address). The attempt is counted
    /// before the password is checked, in one atomic statement per attempt, per name and source:
    /// after `lockout.after` failures in a row that pair is refused without any check for
    /// `lockout.for_`, doubled at each new lock-out (at most a day). The owner elsewhere is not
    /// locked out. Unknown names go through the same count and the same argon2 work (against a
    /// dummy hash), so they answer the same.
    pub fn attempt(&self, name: &str, password: &str, source: &str) -> Result<Attempt, Error> {
        let now = now_s();
        let who = self.who(name);
        let after = i64::from(self.lockout.after.max(1));
        // One statement: the count is taken (or the lock seen) before any hashing.
        let (tries, locked_until, row) = {
            let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            let counted = conn
                .query_row(
                    "INSERT INTO login_throttle (who, source, tries, locked_until, strikes, last_s)
                     VALUES (?1, ?2, 1, 0, 0, ?3)
                     ON CONFLICT (who, source) DO UPDATE SET
                        tries = CASE WHEN locked_until > ?3 THEN tries
                                     WHEN locked_until > 0 THEN 1
                                     ELSE tries + 1 END,
                        locked_until = CASE WHEN locked_until > ?3 THEN locked_until ELSE 0 END,
                        last_s = ?3
                     RETURNING tries, locked_until",
                    params![who, source, now],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
                )
                .map_err(|e| self.sql(e))?;
            // Forget idle pairs that are not locked (bounded table).
            conn.execute(
                "DELETE FROM login_throttle WHERE last_s < ?1 AND locked_until < ?2",
                params![now - 24 * 3600, now],
            )
            .map_err(|e| self.sql(e))?;
            let row = conn
                .query_row(
                    "SELECT role, hash, nda, nda_expires, disabled_s IS NOT NULL
                     FROM users WHERE name = ?1",
                    params![name],
                    |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            Nda {
                                signed: r.get::<_, bool>(2)?,
                                expires: r.get(3)?,
                                ..Nda::default()
                            }
                            .holds(&today()),
                            r.get::<_, bool>(4)?,
                        ))
                    },
                )
                .optional()
                .map_err(|e| self.sql(e))?;
            (counted.0, counted.1, row)
        };
        let known = row.is_some();
        let tries_u = u32::try_from(tries.max(0)).unwrap_or(u32::MAX);
        if locked_until > now {
            return Ok(Attempt {
                result: Err(Refused::Locked(Duration::from_secs(
                    (locked_until - now) as u64,
                ))),
                tries: tries_u,
                known,
                locked_now: None,
            });
        }
        if tries > after {
            // Parallel guesses beyond the limit: refused unchecked; the lock follows.
            return Ok(Attempt {
                result: Err(Refused::Locked(self.lockout.for_)),
                tries: tries_u,
                known,
                locked_now: None,
            });
        }
        // The same work for an unknown name: a real verification against a dummy hash. A
        // disabled user's password is checked too (the same time), then refused as wrong.
        let (hash, user) = match &row {
            Some((role, hash, nda, disabled)) => (
                hash.as_str(),
                (!disabled).then(|| User {
                    name: name.to_string(),
                    role: Role::parse(role).unwrap_or(Role::Technician),
                    nda_signed: *nda,
                }),
            ),
            None => (self.dummy.as_str(), None),
        };
        let good = verify(hash, password.as_bytes());
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if let (true, Some(user)) = (good, user) {
            conn.execute(
                "DELETE FROM login_throttle WHERE who = ?1 AND source = ?2",
                params![who, source],
            )
            .map_err(|e| self.sql(e))?;
            return Ok(Attempt {
                result: Ok(user),
                tries: tries_u,
                known,
                locked_now: None,
            });
        }
        let base = i64::try_from(self.lockout.for_.as_secs()).unwrap_or(86_400);
        let locked: Option<i64> = conn
            .query_row(
                "UPDATE login_throttle SET
                    locked_until = ?3 + min(?4 * (1 << min(strikes, 10)), 86400),
                    strikes = strikes + 1, tries = 0
                 WHERE who = ?1 AND source = ?2 AND tries >= ?5 AND locked_until <= ?3
                 RETURNING locked_until",
                params![who, source, now, base, after],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(match locked {
            Some(until) => {
                let d = Duration::from_secs((until - now).max(0) as u64);
                Attempt {
                    result: Err(Refused::Locked(d)),
                    tries: tries_u,
                    known,
                    locked_now: Some(d),
                }
            }
            None => Attempt {
                result: Err(Refused::Wrong),
                tries: tries_u,
                known,
                locked_now: None,
            },
        })
    }

    /// Lift every lock-out and failure count of `name` (all sources); `false` when there was
    /// none. For `juknis user unlock`.
    pub fn unlock(&self, name: &str) -> Result<bool, Error> {
        let who = self.who(name);
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let n = conn
            .execute("DELETE FROM login_throttle WHERE who = ?1", params![who])
            .map_err(|e| self.sql(e))?;
        conn.execute(
            "UPDATE users SET failed = 0, locked_until = 0 WHERE name = ?1",
            params![name],
        )
        .map_err(|e| self.sql(e))?;
        Ok(n > 0)
    }

    /// The user `name` as a session should see them now: `None` when deleted or disabled
    /// (their sessions end), with the role and NDA as they stand (an NDA that expired ends
    /// look-ups at once).
    pub fn current(&self, name: &str) -> Result<Option<User>, Error> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row(
            "SELECT role, nda, nda_expires FROM users WHERE name = ?1 AND disabled_s IS NULL",
            params![name],
            |r| {
                Ok(User {
                    name: name.to_owned(),
                    role: Role::parse(&r.get::<_, String>(0)?).unwrap_or(Role::Technician),
                    nda_signed: Nda {
                        signed: r.get(1)?,
                        expires: r.get(2)?,
                        ..Nda::default()
                    }
                    .holds(&today()),
                })
            },
        )
        .optional()
        .map_err(|e| self.sql(e))
    }

    /// Every user, by name.
    pub fn list(&self) -> Result<Vec<Account>, Error> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut st = conn
            .prepare(
                "SELECT name, role, nda, nda_date, nda_document, nda_expires,
                        disabled_s IS NOT NULL, created_s
                 FROM users ORDER BY name",
            )
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(Account {
                    name: r.get(0)?,
                    role: Role::parse(&r.get::<_, String>(1)?).unwrap_or(Role::Technician),
                    nda: Nda {
                        signed: r.get(2)?,
                        date: r.get(3)?,
                        document: r.get(4)?,
                        expires: r.get(5)?,
                    },
                    disabled: r.get(6)?,
                    created_s: r.get(7)?,
                })
            })
            .map_err(|e| self.sql(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.sql(e))?;
        Ok(rows)
    }

    /// Refuse to take away the last admin who can log in.
    fn keep_an_admin(&self, conn: &Connection, name: &str) -> Result<(), Error> {
        let others: i64 = conn
            .query_row(
                "SELECT count(*) FROM users
                 WHERE role = 'admin' AND disabled_s IS NULL AND name <> ?1",
                params![name],
                |r| r.get(0),
            )
            .map_err(|e| self.sql(e))?;
        let is_admin: bool = conn
            .query_row(
                "SELECT role = 'admin' AND disabled_s IS NULL FROM users WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sql(e))?
            .ok_or_else(|| Error::NoSuchUser(name.to_owned()))?;
        if is_admin && others == 0 {
            return Err(Error::LastAdmin(name.to_owned()));
        }
        Ok(())
    }

    fn changed(&self, n: usize, name: &str) -> Result<(), Error> {
        if n == 0 {
            return Err(Error::NoSuchUser(name.to_owned()));
        }
        Ok(())
    }

    /// Disable `name`: no log-in, and every session of theirs ends (kept ones included).
    pub fn disable(&self, name: &str) -> Result<(), Error> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        self.keep_an_admin(&conn, name)?;
        let n = conn
            .execute(
                "UPDATE users SET disabled_s = coalesce(disabled_s, ?2) WHERE name = ?1",
                params![name, now_s()],
            )
            .map_err(|e| self.sql(e))?;
        conn.execute("DELETE FROM sessions WHERE name = ?1", params![name])
            .map_err(|e| self.sql(e))?;
        self.changed(n, name)
    }

    /// Enable `name` again.
    pub fn enable(&self, name: &str) -> Result<(), Error> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let n = conn
            .execute(
                "UPDATE users SET disabled_s = NULL WHERE name = ?1",
                params![name],
            )
            .map_err(|e| self.sql(e))?;
        self.changed(n, name)
    }

    /// Delete `name` and their sessions. The audit log keeps their name on what they did.
    pub fn delete(&self, name: &str) -> Result<(), Error> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        self.keep_an_admin(&conn, name)?;
        conn.execute("DELETE FROM sessions WHERE name = ?1", params![name])
            .map_err(|e| self.sql(e))?;
        let n = conn
            .execute("DELETE FROM users WHERE name = ?1", params![name])
            .map_err(|e| self.sql(e))?;
        self.changed(n, name)
    }

    /// Set a new password for `name`; their sessions end and their lock-outs are lifted.
    pub fn reset_password(&self, name: &str, password: &str) -> Result<(), Error> {
        let hash = new_hash(password)?;
        {
            let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            let n = conn
                .execute(
                    "UPDATE users SET hash = ?2 WHERE name = ?1",
                    params![name, hash],
                )
                .map_err(|e| self.sql(e))?;
            self.changed(n, name)?;
            conn.execute("DELETE FROM sessions WHERE name = ?1", params![name])
                .map_err(|e| self.sql(e))?;
        }
        self.unlock(name)?;
        Ok(())
    }

    /// Record `name`'s NDA: signed on `date` (`YYYY-MM-DD`) under `document`, holding until
    /// `expires` where the OPD sets an end.
    pub fn set_nda(
        &self,
        name: &str,
        date: chrono::NaiveDate,
        document: &str,
        expires: Option<chrono::NaiveDate>,
    ) -> Result<(), Error> {
        if let Some(e) = expires
            && e < date
        {
            return Err(Error::NdaDates {
                signed: date.to_string(),
                expires: e.to_string(),
            });
        }
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let n = conn
            .execute(
                "UPDATE users SET nda = 1, nda_date = ?2, nda_document = ?3, nda_expires = ?4
                 WHERE name = ?1",
                params![
                    name,
                    date.to_string(),
                    document.trim(),
                    expires.map(|e| e.to_string())
                ],
            )
            .map_err(|e| self.sql(e))?;
        self.changed(n, name)
    }

    /// Keep a session (only its token's SHA-256) so that it survives a restart.
    pub fn keep_session(&self, token: &str, name: &str, csrf: &str) -> Result<(), Error> {
        let now = now_s();
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute(
            "INSERT OR REPLACE INTO sessions (token_hash, name, csrf, created_s, seen_s)
             VALUES (?1, ?2, ?3, ?4, ?4)",
            params![token_hash(token), name, csrf, now],
        )
        .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// The kept session of `token`, if it was seen within `idle` and its user may still log
    /// in: the user and the session's CSRF token. Older kept sessions are forgotten.
    pub fn kept_session(
        &self,
        token: &str,
        idle: Duration,
    ) -> Result<Option<(User, String)>, Error> {
        let now = now_s();
        let oldest = now - i64::try_from(idle.as_secs()).unwrap_or(i64::MAX);
        let kept: Option<(String, String)> = {
            let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
            conn.execute("DELETE FROM sessions WHERE seen_s < ?1", params![oldest])
                .map_err(|e| self.sql(e))?;
            conn.query_row(
                "SELECT name, csrf FROM sessions WHERE token_hash = ?1",
                params![token_hash(token)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sql(e))?
        };
        let Some((name, csrf)) = kept else {
            return Ok(None);
        };
        Ok(self.current(&name)?.map(|u| (u, csrf)))
    }

    /// Whether the session of `token` is still kept (a reset, a disable or a delete, here or
    /// from the command line, forgets a user's sessions), noting that it was used now (at most
    /// once a minute).
    pub fn session_alive(&self, token: &str) -> Result<bool, Error> {
        let now = now_s();
        let hash = token_hash(token);
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute(
            "UPDATE sessions SET seen_s = ?2 WHERE token_hash = ?1 AND seen_s < ?2 - 60",
            params![hash, now],
        )
        .map_err(|e| self.sql(e))?;
        conn.query_row(
            "SELECT count(*) FROM sessions WHERE token_hash = ?1",
            params![hash],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|e| self.sql(e))
    }

    /// Forget the kept session of `token` (log-out).
    pub fn drop_session(&self, token: &str) -> Result<(), Error> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            params![token_hash(token)],
        )
        .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Whether a user of this name exists.
    pub fn exists(&self, name: &str) -> Result<bool, Error> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row(
            "SELECT count(*) FROM users WHERE name = ?1",
            params![name],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(|e| self.sql(e))
    }
}

thread_local! {
    /// argon2's working memory (about 19 MiB), kept per thread and reused: allocated per check,
    /// it stayed behind in whichever malloc arena the thread used, so memory grew with every
    /// arena that ever hashed.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether `password` matches the PHC string `hash` (argon2), in this thread's reused memory.
fn verify(hash: &str, password: &[u8]) -> bool {
    let Ok(h) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(params), Some(salt), Some(expected)) = (
        argon2::Params::try_from(&h),
        h.salt.as_ref(),
        h.hash.as_ref(),
    ) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(h.algorithm.as_str()) else {
        return false;
    };
    let version = match h.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let expected = expected.as_bytes();
    let mut out = vec![0u8; expected.len()];
    let a = Argon2::new(algorithm, version, params.clone());
    let hashed = BLOCKS.with(|b| {
        let mut b = b.borrow_mut();
        b.resize(params.block_count(), argon2::Block::default());
        a.hash_password_into_with_memory(password, salt.as_ref(), &mut out, &mut b[..])
            .is_ok()
    });
    hashed
        && out.len() == expected.len()
        && out
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The outcome of one log-in attempt.
#[derive(Debug)]
pub struct Attempt {
    /// The user, or why not.
    pub result: Result<User, Refused>,
    /// Attempts in a row from this source for this name, this one included.
    pub tries: u32,
    /// Whether the name is a user's (for the log only; the answer does not depend on it).
    pub known: bool,
    /// This attempt started a lock-out of this long.
    pub locked_now: Option<Duration>,
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

    /// Take back a session kept across a restart (see [`Users::kept_session`]).
    pub fn restore(&self, token: &str, user: User, csrf: String) -> Session {
        let s = Session {
            user,
            csrf,
            last_seen: Instant::now(),
        };
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        m.insert(token.to_owned(), s.clone());
        s
    }

    /// Give the session of `token` its user as they stand now (role, NDA).
    pub fn refresh(&self, token: &str, user: &User) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = m.get_mut(token) {
            s.user = user.clone();
        }
    }

    /// The idle time after which a session ends.
    pub fn idle(&self) -> Duration {
        self.idle
    }
}
