//! The notification queue in SQLite (`notify.sqlite` in the state folder, WAL, synchronous
//! FULL): one row per delivery (a message to one recipient of one notifier), written in the
//! same transaction as the incident state that produced it, so that a SIGKILL at any moment
//! loses no message and repeats no alert. A row is marked sent only after the channel accepted
//! it; after a crash between the two it is sent again with the same idempotency key.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::incident::{Alerter, Event};
use super::message::Message;
use super::{DB_FILE, Error};

const MIGRATIONS: &[&str] = &["CREATE TABLE delivery (
        id INTEGER PRIMARY KEY,
        notifier TEXT NOT NULL,
        recipient TEXT NOT NULL,
        key TEXT NOT NULL,
        event TEXT NOT NULL,
        subject TEXT NOT NULL,
        body TEXT NOT NULL,
        created_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_ms INTEGER NOT NULL,
        last_error TEXT,
        sent_ms INTEGER,
        UNIQUE (notifier, recipient, key)
     );
     CREATE INDEX delivery_due ON delivery(sent_ms, next_ms);
     CREATE TABLE alerter (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        state TEXT NOT NULL
     );",
    // 2: the channel's own id of a sent message (Telegram's message_id), so that a reply to it
    // names the incident it was about.
    "ALTER TABLE delivery ADD COLUMN sent_ref TEXT;
     CREATE INDEX delivery_ref ON delivery(notifier, recipient, sent_ref) WHERE sent_ref IS NOT NULL;
     CREATE TABLE reply_offset (
        notifier TEXT PRIMARY KEY,
        next_update INTEGER NOT NULL
     );"];

/// One delivery to make.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub notifier: String,
    /// The chat id or number (Telegram, WhatsApp); empty for e-mail and webhooks, which go to
    /// all their recipients at once.
    pub recipient: String,
    pub event: Event,
    pub message: Message,
    /// Attempts so far, not counting this one.
    pub attempts: u32,
}

/// Per notifier: waiting deliveries, the failed attempts of the one that has waited longest,
/// and its last error.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Status {
    pub notifier: String,
    pub pending: u64,
    pub sent: u64,
    pub failed_attempts: u32,
    pub last_error: Option<String>,
}

struct Inner {
    path: String,
    conn: Mutex<Connection>,
}

/// The durable queue. Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl Queue {
    /// Open (or create) `notify.sqlite` in `state_dir`.
    pub fn open(state_dir: &Path) -> Result<Queue, Error> {
        crate::sqlite::create_state_dir(state_dir).map_err(|source| Error::Io {
            path: state_dir.display().to_string(),
            source,
        })?;
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
        // FULL: a sent mark (and a queued alert) survives a power cut, not only a SIGKILL.
        conn.execute_batch("PRAGMA synchronous=FULL;")
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
        Ok(Queue {
            inner: Arc::new(Inner {
                path,
                conn: Mutex::new(conn),
            }),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // SQLite rolls back an unfinished transaction on drop: a poisoned lock is still usable.
        self.inner.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn db_err(&self, operation: &'static str) -> impl Fn(rusqlite::Error) -> Error + '_ {
        move |source| Error::Db {
            path: self.inner.path.clone(),
            operation,
            source,
        }
    }

    /// The incident state saved with the last deliveries, or a fresh one.
    pub fn alerter(&self) -> Result<Alerter, Error> {
        let text: Option<String> = self
            .conn()
            .query_row("SELECT state FROM alerter WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(self.db_err("read the incident state"))?;
        match text {
            None => Ok(Alerter::default()),
            Some(t) => serde_json::from_str(&t).map_err(|e| Error::State {
                path: self.inner.path.clone(),
                detail: e.to_string(),
            }),
        }
    }

    /// Save the incident state and queue its deliveries, in one transaction. A delivery already
    /// queued (same notifier, recipient and key) is not queued twice.
    pub fn commit(
        &self,
        alerter: &Alerter,
        deliveries: &[(String, Event, Message)],
        now_ms: i64,
    ) -> Result<usize, Error> {
        let state = serde_json::to_string(alerter).map_err(|e| Error::State {
            path: self.inner.path.clone(),
            detail: e.to_string(),
        })?;
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.db_err("begin"))?;
        tx.execute(
            "INSERT INTO alerter (id, state) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state",
            params![state],
        )
        .map_err(self.db_err("save the incident state"))?;
        let mut added = 0;
        for (recipient, event, message) in deliveries {
            let json = serde_json::to_string(event).map_err(|e| Error::State {
                path: self.inner.path.clone(),
                detail: e.to_string(),
            })?;
            added += tx
                .execute(
                    "INSERT OR IGNORE INTO delivery
                     (notifier, recipient, key, event, subject, body, created_ms, next_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                    params![
                        event.notifier,
                        recipient,
                        event.key(),
                        json,
                        message.subject,
                        message.text,
                        now_ms
                    ],
                )
                .map_err(self.db_err("queue a delivery"))?;
        }
        tx.commit().map_err(self.db_err("commit"))?;
        Ok(added)
    }

    /// Deliveries due at `now_ms`, oldest first.
    pub fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<Delivery>, Error> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached(
                "SELECT id, notifier, recipient, event, subject, body, attempts FROM delivery
                 WHERE sent_ms IS NULL AND next_ms <= ?1 ORDER BY id LIMIT ?2",
            )
            .map_err(self.db_err("prepare due"))?;
        let rows = st
            .query_map(params![now_ms, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, u32>(6)?,
                ))
            })
            .map_err(self.db_err("read due"))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, notifier, recipient, event, subject, text, attempts) =
                row.map_err(self.db_err("read due"))?;
            let event: Event = serde_json::from_str(&event).map_err(|e| Error::State {
                path: self.inner.path.clone(),
                detail: format!("delivery {id}: {e}"),
            })?;
            out.push(Delivery {
                id,
                notifier,
                recipient,
                event,
                message: Message { subject, text },
                attempts,
            });
        }
        Ok(out)
    }

    /// The channel accepted delivery `id` (`reference`: the channel's id of the message, where
    /// it gives one).
    pub fn sent(&self, id: i64, now_ms: i64, reference: Option<&str>) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE delivery SET sent_ms = ?2, attempts = attempts + 1, last_error = NULL,
                 sent_ref = ?3 WHERE id = ?1",
                params![id, now_ms, reference],
            )
            .map_err(self.db_err("mark sent"))?;
        Ok(())
    }

    /// The event of the message `reference` sent by `notifier` to `recipient`, if it is ours.
    pub fn sent_event(
        &self,
        notifier: &str,
        recipient: &str,
        reference: &str,
    ) -> Result<Option<Event>, Error> {
        let conn = self.conn();
        let event: Option<String> = conn
            .query_row(
                "SELECT event FROM delivery WHERE notifier = ?1 AND recipient = ?2 AND sent_ref = ?3",
                params![notifier, recipient, reference],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db_err("read a sent message"))?;
        event
            .map(|e| {
                serde_json::from_str(&e).map_err(|e| Error::State {
                    path: self.inner.path.clone(),
                    detail: format!("sent message {reference}: {e}"),
                })
            })
            .transpose()
    }

    /// The next update to ask `notifier`'s channel for (Telegram's `getUpdates` offset): kept so
    /// that a restart neither replays replies nor skips them.
    pub fn reply_offset(&self, notifier: &str) -> Result<i64, Error> {
        Ok(self
            .conn()
            .query_row(
                "SELECT next_update FROM reply_offset WHERE notifier = ?1",
                [notifier],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db_err("read the reply offset"))?
            .unwrap_or(0))
    }

    /// Replies up to `next_update` (excluded) are handled.
    pub fn set_reply_offset(&self, notifier: &str, next_update: i64) -> Result<(), Error> {
        self.conn()
            .execute(
                "INSERT INTO reply_offset (notifier, next_update) VALUES (?1, ?2)
                 ON CONFLICT(notifier) DO UPDATE SET next_update = excluded.next_update",
                params![notifier, next_update],
            )
            .map_err(self.db_err("keep the reply offset"))?;
        Ok(())
    }

    /// Delivery `id` failed: try again at `next_ms`.
    pub fn failed(&self, id: i64, error: &str, next_ms: i64) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE delivery SET attempts = attempts + 1, last_error = ?2, next_ms = ?3
                 WHERE id = ?1",
                params![id, error, next_ms],
            )
            .map_err(self.db_err("mark failed"))?;
        Ok(())
    }

    /// When the next waiting delivery is due, if any.
    pub fn next_due(&self) -> Result<Option<i64>, Error> {
        self.conn()
            .query_row(
                "SELECT min(next_ms) FROM delivery WHERE sent_ms IS NULL",
                [],
                |r| r.get(0),
            )
            .map_err(self.db_err("read next due"))
    }

    /// Every notifier's queue, by name.
    pub fn status(&self) -> Result<Vec<Status>, Error> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached(
                "SELECT notifier,
                        sum(sent_ms IS NULL),
                        sum(sent_ms IS NOT NULL),
                        (SELECT d.attempts FROM delivery d WHERE d.notifier = delivery.notifier
                           AND d.sent_ms IS NULL ORDER BY d.id LIMIT 1),
                        (SELECT d.last_error FROM delivery d WHERE d.notifier = delivery.notifier
                           AND d.sent_ms IS NULL ORDER BY d.id LIMIT 1)
                 FROM delivery GROUP BY notifier ORDER BY notifier",
            )
            .map_err(self.db_err("prepare status"))?;
        let rows = st
            .query_map([], |r| {
                Ok(Status {
                    notifier: r.get(0)?,
                    pending: r.get::<_, i64>(1)?.max(0) as u64,
                    sent: r.get::<_, i64>(2)?.max(0) as u64,
                    failed_attempts: r.get::<_, Option<u32>>(3)?.unwrap_or(0),
                    last_error: r.get(4)?,
                })
            })
            .map_err(self.db_err("read status"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.db_err("read status"))
    }

    /// Forget deliveries sent before `before_ms` (waiting ones are never dropped). Returns how
    /// many went.
    pub fn prune(&self, before_ms: i64) -> Result<usize, Error> {
        self.conn()
            .execute(
                "DELETE FROM delivery WHERE sent_ms IS NOT NULL AND sent_ms < ?1",
                params![before_ms],
            )
            .map_err(self.db_err("prune"))
    }

    /// Every delivery queued and not pruned: (notifier, recipient, key, sent), for tests and
    /// audits.
    pub fn all(&self) -> Result<Vec<(String, String, String, bool)>, Error> {
        let conn = self.conn();
        let mut st = conn
            .prepare_cached(
                "SELECT notifier, recipient, key, sent_ms IS NOT NULL FROM delivery ORDER BY id",
            )
            .map_err(self.db_err("prepare list"))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(self.db_err("list"))?;
        rows.collect::<Result<_, _>>().map_err(self.db_err("list"))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use crate::health::State;
    use crate::notify::incident::{Incident, Kind};

    fn event(id: &str) -> Event {
        Event {
            notifier: "grup".into(),
            kind: Kind::Alert,
            seq: 0,
            at_ms: 0,
            incident: Incident {
                id: id.into(),
                opened_ms: 0,
                state: State::Down,
                cause: None,
                hop: None,
                last_good: None,
                reason: String::new(),
                paths: vec!["portal".into()],
            },
        }
    }

    fn msg() -> Message {
        Message {
            subject: "s".into(),
            text: "t".into(),
        }
    }

    #[test]
    fn a_delivery_is_queued_once_survives_reopening_and_only_sent_ones_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let q = Queue::open(dir.path()).unwrap();
        let a = Alerter::default();
        let d = vec![
            ("c1".to_string(), event("i1"), msg()),
            ("c2".to_string(), event("i1"), msg()),
        ];
        assert_eq!(q.commit(&a, &d, 10).unwrap(), 2);
        // The same event again (a retried commit): nothing new.
        assert_eq!(q.commit(&a, &d, 20).unwrap(), 0);
        assert_eq!(
            q.commit(&a, &[("c1".into(), event("i2"), msg())], 30)
                .unwrap(),
            1
        );
        let due = q.due(30, 10).unwrap();
        assert_eq!(due.len(), 3);
        q.sent(due[0].id, 100, None).unwrap();
        q.failed(due[1].id, "503", 1_000).unwrap();
        drop(q);
        let q = Queue::open(dir.path()).unwrap();
        assert_eq!(q.due(500, 10).unwrap().len(), 1, "the failed one waits");
        assert_eq!(q.next_due().unwrap(), Some(30));
        assert_eq!(q.prune(1_000_000).unwrap(), 1, "only the sent one goes");
        assert_eq!(q.all().unwrap().len(), 2);
    }
}
