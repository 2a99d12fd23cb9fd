//! The data balikan outbox: return data (NIK, aid recipient ID, aid type) validated row by row
//! against the aid types the topology declares,
//! kept durably in SQLite until the data balikan service has answered for it, then reduced to
//! what the audit needs (keyed hashes, state, timestamps), never the plain NIK.
//!
//! Owns row validation (`row`), the CSV reader (`csv`), the queue (`queue`), the sender
//! (`sender`) and the JSON API (`api`). Uses `nik`, `portal` (the wire client), `health` (the
//! `Source` trait) and `metrics`; must not depend on `gate`, `sim` or the dashboard.
//!
//! Delivery is at-least-once on the wire and exactly-once in effect: a batch's membership is
//! written before it is posted and a record is marked delivered only after the service's answer,
//! so after a crash the same batch is posted again and the service answers "Data sudah pernah
//! dikirim", which counts as delivered.
//!
//! The state directory holds `outbox.sqlite` and `outbox.key`, the HMAC key of the audit
//! hashes: back both up together, since without the key a delivered record can no longer be
//! recognised (neither for the audit nor as a duplicate of a new import).

pub mod api;
pub mod csv;
mod queue;
pub mod report;
pub mod row;
pub mod sender;

pub use queue::{Batch, Counts, Outbox, PeriodCounts, RecordState, Refused, Resend, period_counts};
pub use report::ImportReport;
pub use sender::{Backoff, Sender};

/// File name of the outbox database inside the state directory.
pub const DB_FILE: &str = "outbox.sqlite";
/// File name of the key that hashes delivered records for the audit.
pub const KEY_FILE: &str = "outbox.key";

/// Why the outbox failed (not a rejected row: that is data, in an [`ImportReport`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database could not be opened, migrated or written.
    #[error("outbox database {path}: {operation}: {source}")]
    Db {
        /// The database file.
        path: String,
        /// What was being done.
        operation: &'static str,
        /// Cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A file of the state directory could not be read or written.
    #[error("outbox file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The key file is unreadable, or group or others may read it.
    #[error("outbox key: {0}")]
    Key(#[from] crate::secret::FileError),
    /// The key file exists but is not 64 hex digits.
    #[error("outbox key {path} is not 64 hex digits; restore it from the backup")]
    BadKey {
        /// The key file.
        path: String,
    },
    /// The database was written by a newer juknis.
    #[error("outbox database {path} has schema version {found}, newer than this juknis ({known})")]
    TooNew {
        /// The database file.
        path: String,
        /// Version found.
        found: i64,
        /// Newest version known here.
        known: i64,
    },
    /// A blocking task died (panic); the database is unchanged by the failed step.
    #[error("outbox task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// Run a blocking outbox step off the async workers.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, Error>
where
    F: FnOnce() -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(Error::Task)?
}
