//! The appliance's own history in SQLite (WAL): raw probe samples kept for a configurable
//! time, 1-minute and 1-hour rollups kept for a year or more, health incidents, and schema
//! migrations. Holds measurements only: never population data.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

mod handling;
mod maintenance;
#[cfg(test)]
mod tests;

pub use handling::{Ack, Handling, Invalid, Note, NoteKind};
pub use maintenance::{MadeWindow, NewWindow, in_force};

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("opening the store at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store: {0}")]
    Sql(#[from] rusqlite::Error),
    /// Input from a person (a note, a cause, a ticket number) that the store refuses.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("the store at {path} has schema version {found}, newer than this juknis ({known})")]
    TooNew {
        path: String,
        found: i64,
        known: i64,
    },
}

/// Schema steps, applied in order; the index + 1 is the version.
const MIGRATIONS: &[&str] = &[
    // 1: probe samples, rollups, incidents.
    "CREATE TABLE samples (
        ts_ms INTEGER NOT NULL,
        node TEXT NOT NULL,
        profile TEXT NOT NULL,
        kind TEXT NOT NULL,
        ok INTEGER NOT NULL,
        state TEXT NOT NULL,
        rtt_p50_s REAL, rtt_p90_s REAL, rtt_max_s REAL, rtt_min_s REAL,
        loss REAL, jitter_s REAL, bandwidth_bps REAL,
        bytes INTEGER NOT NULL DEFAULT 0,
        detail TEXT NOT NULL DEFAULT ''
     );
     CREATE INDEX samples_ts ON samples(ts_ms);
     CREATE INDEX samples_target ON samples(node, profile, ts_ms);
     CREATE TABLE rollups (
        resolution_s INTEGER NOT NULL,
        bucket_s INTEGER NOT NULL,
        node TEXT NOT NULL,
        profile TEXT NOT NULL,
        rounds INTEGER NOT NULL,
        ok_rounds INTEGER NOT NULL,
        rtt_min_s REAL, rtt_p50_s REAL, rtt_p90_s REAL, rtt_max_s REAL,
        loss_mean REAL, jitter_mean_s REAL, bandwidth_mean_bps REAL,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (resolution_s, node, profile, bucket_s)
     ) WITHOUT ROWID;
     CREATE TABLE incidents (
        id INTEGER PRIMARY KEY,
        subject TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT NOT NULL,
        started_s INTEGER NOT NULL,
        ended_s INTEGER
     );
     CREATE INDEX incidents_open ON incidents(subject, ended_s);",
    // 2: interface throughput (SNMP octet counters), for the link's utilisation.
    "ALTER TABLE samples ADD COLUMN rx_bps REAL;
     ALTER TABLE samples ADD COLUMN tx_bps REAL;
     ALTER TABLE rollups ADD COLUMN rx_mean_bps REAL;
     ALTER TABLE rollups ADD COLUMN tx_mean_bps REAL;
     ALTER TABLE rollups ADD COLUMN rx_max_bps REAL;
     ALTER TABLE rollups ADD COLUMN tx_max_bps REAL;",
    // 3: path traces (`juknis trace`, the dashboard's button), kept with the incident that was
    // open on their path when they ran.
    "CREATE TABLE traces (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER REFERENCES incidents(id),
        subject TEXT NOT NULL,
        started_s INTEGER NOT NULL,
        requested_by TEXT NOT NULL,
        summary TEXT NOT NULL,
        trace_json TEXT NOT NULL
     );
     CREATE INDEX traces_incident ON traces(incident_id);
     CREATE INDEX traces_started ON traces(started_s);",
    // 4: how each bandwidth figure was measured (issue 13): method, the shaper's burst, the
    // direction, and why there is no figure when there is none, so that no document shows an
    // available bandwidth that was not measured.
    "CREATE TABLE bandwidth_samples (
        ts_ms INTEGER NOT NULL,
        node TEXT NOT NULL,
        profile TEXT NOT NULL,
        method TEXT NOT NULL,
        estimate_bps REAL,
        burst_bytes INTEGER,
        burst_min_bytes INTEGER,
        capacity_bps REAL,
        policed INTEGER NOT NULL,
        direction TEXT,
        undetermined TEXT,
        bytes INTEGER NOT NULL,
        PRIMARY KEY (node, profile, ts_ms)
     ) WITHOUT ROWID;",
    // 5: the hourly rollup finds the targets with minute rollups in its window from this index
    // alone, then reads each target's minutes along the primary key; it used to scan every
    // minute rollup kept (90 days), a cost that grew each day (BENCHMARKS.md §2).
    "CREATE INDEX rollups_bucket ON rollups(resolution_s, bucket_s);",
    // 6: incidents that people handle (issue 15 item 5): who acknowledged an incident and
    // when (once: the first acknowledgement stands), and an append-only log of notes and
    // causes with an optional ticket number.
    "ALTER TABLE incidents ADD COLUMN ack_by TEXT;
     ALTER TABLE incidents ADD COLUMN ack_s INTEGER;
     CREATE TABLE incident_notes (
        id INTEGER PRIMARY KEY,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        at_s INTEGER NOT NULL,
        by_user TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('note', 'cause')),
        text TEXT NOT NULL,
        ticket TEXT
     );
     CREATE INDEX incident_notes_incident ON incident_notes(incident_id, id);",
    // 7: maintenance windows an admin makes on the dashboard (issue 15 item 4): one-off, in
    // UTC seconds, scoped to paths and links by id (none: everything); cancelled, never
    // deleted, so that what was planned stays on record.
    "CREATE TABLE maintenance (
        id INTEGER PRIMARY KEY,
        from_s INTEGER NOT NULL,
        to_s INTEGER NOT NULL CHECK (to_s > from_s),
        paths TEXT NOT NULL DEFAULT '',
        links TEXT NOT NULL DEFAULT '',
        note TEXT NOT NULL,
        by_user TEXT NOT NULL,
        created_s INTEGER NOT NULL,
        cancelled_by TEXT,
        cancelled_s INTEGER
     );",
];

/// How one bandwidth round measured, beside its [`Sample`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BandwidthSample {
    pub ts_ms: i64,
    pub node: String,
    pub profile: String,
    /// `trains` or `throughput`.
    pub method: String,
    /// The figure; `None` when it could not be determined.
    pub estimate_bps: Option<f64>,
    /// The shaper's burst in bytes, when a train crossed it.
    pub burst_bytes: Option<u64>,
    /// When no train crossed the burst: what it holds at least.
    pub burst_min_bytes: Option<u64>,
    pub capacity_bps: Option<f64>,
    pub policed: bool,
    /// `down` or `round_trip`.
    pub direction: Option<String>,
    /// Why there is no figure ("tidak dapat ditentukan: ...").
    pub undetermined: Option<String>,
    pub bytes: u64,
}

/// One probe round as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    pub ts_ms: i64,
    pub node: String,
    pub profile: String,
    /// The probe kind (`icmp`, `tcp`, `dns`, `http`, `tls`, `bandwidth`).
    pub kind: String,
    pub ok: bool,
    /// The round's health level (`healthy`, `degraded`, `down`).
    pub state: String,
    pub rtt_p50_s: Option<f64>,
    pub rtt_p90_s: Option<f64>,
    pub rtt_max_s: Option<f64>,
    pub rtt_min_s: Option<f64>,
    pub loss: Option<f64>,
    pub jitter_s: Option<f64>,
    pub bandwidth_bps: Option<f64>,
    pub bytes: u64,
    pub detail: String,
    /// Bits per second received on the measured interface over the round (SNMP probes only).
    pub rx_bps: Option<f64>,
    /// Bits per second sent on the measured interface over the round (SNMP probes only).
    pub tx_bps: Option<f64>,
}

/// One bucket of a rollup.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rollup {
    pub resolution_s: i64,
    pub bucket_s: i64,
    pub node: String,
    pub profile: String,
    pub rounds: i64,
    pub ok_rounds: i64,
    pub rtt_min_s: Option<f64>,
    /// Median of the rounds' medians.
    pub rtt_p50_s: Option<f64>,
    /// 90th percentile of the rounds' medians.
    pub rtt_p90_s: Option<f64>,
    pub rtt_max_s: Option<f64>,
    pub loss_mean: Option<f64>,
    pub jitter_mean_s: Option<f64>,
    pub bandwidth_mean_bps: Option<f64>,
    pub bytes: i64,
    /// Interface throughput received, mean and highest round (SNMP probes only).
    pub rx_mean_bps: Option<f64>,
    pub rx_max_bps: Option<f64>,
    /// Interface throughput sent, mean and highest round (SNMP probes only).
    pub tx_mean_bps: Option<f64>,
    pub tx_max_bps: Option<f64>,
}

/// How long each level of history is kept.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub raw_s: i64,
    pub minute_s: i64,
    pub hour_s: i64,
}

impl Default for Retention {
    fn default() -> Self {
        const DAY: i64 = 86_400;
        Self {
            raw_s: 7 * DAY,
            minute_s: 90 * DAY,
            hour_s: 2 * 366 * DAY,
        }
    }
}

/// A connection to the store. Not `Sync`: give each thread its own, or one writer thread.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Open (and create or migrate) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let conn = crate::sqlite::open(path).map_err(|source| Error::Open {
            path: path.display().to_string(),
            source,
        })?;
        Self::init(conn, &path.display().to_string())
    }

    /// Open an existing store without changing it (the semester report): no migration, no
    /// pragma that writes. A store older than this juknis reads as far as its schema allows.
    pub fn open_read_only(path: &Path) -> Result<Self, Error> {
        let conn = crate::sqlite::open_read_only(path).map_err(|source| Error::Open {
            path: path.display().to_string(),
            source,
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(Error::TooNew {
                path: path.display().to_string(),
                found: version,
                known,
            });
        }
        Ok(Self { conn })
    }

    /// A store in memory, for tests and one-shot commands.
    pub fn in_memory() -> Result<Self, Error> {
        let conn = Connection::open_in_memory()?;
        conn.busy_timeout(crate::sqlite::BUSY_TIMEOUT)?;
        Self::init(conn, ":memory:")
    }

    fn init(conn: Connection, path: &str) -> Result<Self, Error> {
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        crate::sqlite::migrate(&conn, MIGRATIONS).map_err(|e| match e {
            crate::sqlite::MigrateError::Sql(e) => Error::Sql(e),
            crate::sqlite::MigrateError::TooNew { found, known } => Error::TooNew {
                path: path.to_string(),
                found,
                known,
            },
        })?;
        Ok(Self { conn })
    }

    /// The schema version in force.
    pub fn version(&self) -> Result<i64, Error> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// Insert samples in one transaction.
    pub fn insert(&mut self, samples: &[Sample]) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO samples (ts_ms, node, profile, kind, ok, state, rtt_p50_s, rtt_p90_s,
                 rtt_max_s, rtt_min_s, loss, jitter_s, bandwidth_bps, bytes, detail, rx_bps, tx_bps)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
            )?;
            for s in samples {
                st.execute(params![
                    s.ts_ms,
                    s.node,
                    s.profile,
                    s.kind,
                    s.ok,
                    s.state,
                    s.rtt_p50_s,
                    s.rtt_p90_s,
                    s.rtt_max_s,
                    s.rtt_min_s,
                    s.loss,
                    s.jitter_s,
                    s.bandwidth_bps,
                    i64::try_from(s.bytes).unwrap_or(i64::MAX),
                    s.detail,
                    s.rx_bps,
                    s.tx_bps
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Inserts bandwidth rounds' measurement details (a round measured again at the same
    /// instant replaces its row).
    pub fn insert_bandwidth(&mut self, rows: &[BandwidthSample]) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO bandwidth_samples (ts_ms, node, profile, method, estimate_bps,
                 burst_bytes, burst_min_bytes, capacity_bps, policed, direction, undetermined, bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?;
            for b in rows {
                st.execute(params![
                    b.ts_ms,
                    b.node,
                    b.profile,
                    b.method,
                    b.estimate_bps,
                    b.burst_bytes.and_then(|v| i64::try_from(v).ok()),
                    b.burst_min_bytes.and_then(|v| i64::try_from(v).ok()),
                    b.capacity_bps,
                    b.policed,
                    b.direction,
                    b.undetermined,
                    i64::try_from(b.bytes).unwrap_or(i64::MAX),
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Bandwidth rounds' details of one target in `[from_ms, to_ms)`, oldest first.
    pub fn bandwidth_samples(
        &self,
        node: &str,
        profile: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<BandwidthSample>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT ts_ms, node, profile, method, estimate_bps, burst_bytes, burst_min_bytes,
                    capacity_bps, policed, direction, undetermined, bytes
             FROM bandwidth_samples WHERE node = ?1 AND profile = ?2 AND ts_ms >= ?3 AND ts_ms < ?4
             ORDER BY ts_ms",
        )?;
        let rows = st.query_map(params![node, profile, from_ms, to_ms], |r| {
            Ok(BandwidthSample {
                ts_ms: r.get(0)?,
                node: r.get(1)?,
                profile: r.get(2)?,
                method: r.get(3)?,
                estimate_bps: r.get(4)?,
                burst_bytes: r
                    .get::<_, Option<i64>>(5)?
                    .and_then(|v| u64::try_from(v).ok()),
                burst_min_bytes: r
                    .get::<_, Option<i64>>(6)?
                    .and_then(|v| u64::try_from(v).ok()),
                capacity_bps: r.get(7)?,
                policed: r.get(8)?,
                direction: r.get(9)?,
                undetermined: r.get(10)?,
                bytes: u64::try_from(r.get::<_, i64>(11)?).unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Raw samples of one target in `[from_ms, to_ms)`, oldest first.
    pub fn samples(
        &self,
        node: &str,
        profile: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<Sample>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT ts_ms, node, profile, kind, ok, state, rtt_p50_s, rtt_p90_s, rtt_max_s, rtt_min_s,
                    loss, jitter_s, bandwidth_bps, bytes, detail, rx_bps, tx_bps
             FROM samples WHERE node = ?1 AND profile = ?2 AND ts_ms >= ?3 AND ts_ms < ?4 ORDER BY ts_ms",
        )?;
        let rows = st.query_map(params![node, profile, from_ms, to_ms], |r| {
            Ok(Sample {
                ts_ms: r.get(0)?,
                node: r.get(1)?,
                profile: r.get(2)?,
                kind: r.get(3)?,
                ok: r.get(4)?,
                state: r.get(5)?,
                rtt_p50_s: r.get(6)?,
                rtt_p90_s: r.get(7)?,
                rtt_max_s: r.get(8)?,
                rtt_min_s: r.get(9)?,
                loss: r.get(10)?,
                jitter_s: r.get(11)?,
                bandwidth_bps: r.get(12)?,
                bytes: u64::try_from(r.get::<_, i64>(13)?).unwrap_or(0),
                detail: r.get(14)?,
                rx_bps: r.get(15)?,
                tx_bps: r.get(16)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Build the `resolution_s` rollup for every bucket that overlaps `[from_s, to_s)`, from
    /// the finer level below it (raw samples for 60 s, 1-minute rollups for 3600 s).
    /// Idempotent: a bucket is rewritten whole.
    pub fn rollup(&mut self, resolution_s: i64, from_s: i64, to_s: i64) -> Result<usize, Error> {
        let from = from_s - from_s.rem_euclid(resolution_s);
        let tx = self.conn.transaction()?;
        let mut written = 0;
        {
            // (node, profile, bucket) -> rounds' values
            let mut groups: std::collections::BTreeMap<(String, String, i64), Acc> =
                Default::default();
            if resolution_s <= 60 {
                let mut st = tx.prepare_cached(
                    "SELECT node, profile, ts_ms, ok, rtt_p50_s, rtt_min_s, rtt_max_s, loss, jitter_s, bandwidth_bps, bytes,
                            rx_bps, tx_bps
                     FROM samples WHERE ts_ms >= ?1 AND ts_ms < ?2",
                )?;
                let mut rows = st.query(params![from * 1000, to_s * 1000])?;
                while let Some(r) = rows.next()? {
                    let ts_s = r.get::<_, i64>(2)?.div_euclid(1000);
                    let bucket = ts_s - ts_s.rem_euclid(resolution_s);
                    let acc = groups.entry((r.get(0)?, r.get(1)?, bucket)).or_default();
                    acc.add(
                        1,
                        i64::from(r.get::<_, bool>(3)?),
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get(9)?,
                        r.get(10)?,
                    );
                    let (rx, tx) = (r.get(11)?, r.get(12)?);
                    acc.add_iface(rx, tx, rx, tx, 1.0);
                }
            } else {
                // The targets with minutes in the window, from the covering index
                // `rollups_bucket`; then each target's minutes along the primary key. One query
                // over the window's minutes for all targets scans every minute rollup kept.
                let targets: Vec<(String, String)> = tx
                    .prepare_cached(
                        "SELECT DISTINCT node, profile FROM rollups
                         WHERE resolution_s = 60 AND bucket_s >= ?1 AND bucket_s < ?2",
                    )?
                    .query_map(params![from, to_s], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                let mut st = tx.prepare_cached(
                    "SELECT node, profile, bucket_s, rounds, ok_rounds, rtt_p50_s, rtt_min_s, rtt_max_s,
                            loss_mean, jitter_mean_s, bandwidth_mean_bps, bytes,
                            rx_mean_bps, tx_mean_bps, rx_max_bps, tx_max_bps
                     FROM rollups WHERE resolution_s = 60 AND node = ?3 AND profile = ?4
                       AND bucket_s >= ?1 AND bucket_s < ?2",
                )?;
                for (node, profile) in &targets {
                    let mut rows = st.query(params![from, to_s, node, profile])?;
                    while let Some(r) = rows.next()? {
                        let b: i64 = r.get(2)?;
                        let bucket = b - b.rem_euclid(resolution_s);
                        let acc = groups.entry((r.get(0)?, r.get(1)?, bucket)).or_default();
                        acc.add(
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                            r.get(8)?,
                            r.get(9)?,
                            r.get(10)?,
                            r.get(11)?,
                        );
                        let w = r.get::<_, i64>(3)? as f64;
                        acc.add_iface(r.get(12)?, r.get(13)?, r.get(14)?, r.get(15)?, w);
                    }
                }
            }
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO rollups (resolution_s, bucket_s, node, profile, rounds, ok_rounds,
                 rtt_min_s, rtt_p50_s, rtt_p90_s, rtt_max_s, loss_mean, jitter_mean_s, bandwidth_mean_bps, bytes,
                 rx_mean_bps, tx_mean_bps, rx_max_bps, tx_max_bps)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )?;
            for ((node, profile, bucket), acc) in groups {
                let mut medians = acc.medians;
                medians.sort_by(f64::total_cmp);
                put.execute(params![
                    resolution_s,
                    bucket,
                    node,
                    profile,
                    acc.rounds,
                    acc.ok_rounds,
                    acc.min,
                    quantile(&medians, 0.5),
                    quantile(&medians, 0.9),
                    acc.max,
                    acc.loss.mean(),
                    acc.jitter.mean(),
                    acc.bandwidth.mean(),
                    acc.bytes,
                    acc.rx.mean(),
                    acc.tx.mean(),
                    acc.rx_max,
                    acc.tx_max
                ])?;
                written += 1;
            }
        }
        tx.commit()?;
        Ok(written)
    }

    /// Write rollup buckets as given (replacing any with the same key), in one transaction.
    /// For imports and synthetic histories (`study::synth`); the daemon builds its rollups
    /// with [`Store::rollup`].
    pub fn insert_rollups(&mut self, rollups: &[Rollup]) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO rollups (resolution_s, bucket_s, node, profile, rounds, ok_rounds,
                 rtt_min_s, rtt_p50_s, rtt_p90_s, rtt_max_s, loss_mean, jitter_mean_s, bandwidth_mean_bps, bytes,
                 rx_mean_bps, tx_mean_bps, rx_max_bps, tx_max_bps)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )?;
            for r in rollups {
                put.execute(params![
                    r.resolution_s,
                    r.bucket_s,
                    r.node,
                    r.profile,
                    r.rounds,
                    r.ok_rounds,
                    r.rtt_min_s,
                    r.rtt_p50_s,
                    r.rtt_p90_s,
                    r.rtt_max_s,
                    r.loss_mean,
                    r.jitter_mean_s,
                    r.bandwidth_mean_bps,
                    r.bytes,
                    r.rx_mean_bps,
                    r.tx_mean_bps,
                    r.rx_max_bps,
                    r.tx_max_bps
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The oldest 1-minute rollup bucket still kept, if any: older history is hourly only.
    pub fn oldest_minute_bucket(&self) -> Result<Option<i64>, Error> {
        Ok(self.conn.query_row(
            "SELECT MIN(bucket_s) FROM rollups WHERE resolution_s = 60",
            [],
            |r| r.get(0),
        )?)
    }

    /// Rollup buckets of one target at `resolution_s` in `[from_s, to_s)`, oldest first.
    pub fn rollups(
        &self,
        resolution_s: i64,
        node: &str,
        profile: &str,
        from_s: i64,
        to_s: i64,
    ) -> Result<Vec<Rollup>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT resolution_s, bucket_s, node, profile, rounds, ok_rounds, rtt_min_s, rtt_p50_s, rtt_p90_s,
                    rtt_max_s, loss_mean, jitter_mean_s, bandwidth_mean_bps, bytes,
                    rx_mean_bps, rx_max_bps, tx_mean_bps, tx_max_bps
             FROM rollups WHERE resolution_s = ?1 AND node = ?2 AND profile = ?3 AND bucket_s >= ?4 AND bucket_s < ?5
             ORDER BY bucket_s",
        )?;
        let rows = st.query_map(params![resolution_s, node, profile, from_s, to_s], |r| {
            Ok(Rollup {
                resolution_s: r.get(0)?,
                bucket_s: r.get(1)?,
                node: r.get(2)?,
                profile: r.get(3)?,
                rounds: r.get(4)?,
                ok_rounds: r.get(5)?,
                rtt_min_s: r.get(6)?,
                rtt_p50_s: r.get(7)?,
                rtt_p90_s: r.get(8)?,
                rtt_max_s: r.get(9)?,
                loss_mean: r.get(10)?,
                jitter_mean_s: r.get(11)?,
                bandwidth_mean_bps: r.get(12)?,
                bytes: r.get(13)?,
                rx_mean_bps: r.get(14)?,
                rx_max_bps: r.get(15)?,
                tx_mean_bps: r.get(16)?,
                tx_max_bps: r.get(17)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Rounds and successful rounds of every profile of `node` over the `resolution_s` rollup
    /// buckets in `[from_s, to_s)`: the node's availability.
    pub fn rounds(
        &self,
        resolution_s: i64,
        node: &str,
        from_s: i64,
        to_s: i64,
    ) -> Result<(u64, u64), Error> {
        let (rounds, ok): (i64, i64) = self.conn.query_row(
            "SELECT COALESCE(sum(rounds), 0), COALESCE(sum(ok_rounds), 0) FROM rollups
             WHERE resolution_s = ?1 AND node = ?2 AND bucket_s >= ?3 AND bucket_s < ?4",
            params![resolution_s, node, from_s, to_s],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((rounds.max(0) as u64, ok.max(0) as u64))
    }

    /// Drop what is older than the retention allows.
    pub fn prune(&mut self, now_s: i64, keep: Retention) -> Result<usize, Error> {
        let tx = self.conn.transaction()?;
        let mut n = tx.execute(
            "DELETE FROM samples WHERE ts_ms < ?1",
            [(now_s - keep.raw_s) * 1000],
        )?;
        n += tx.execute(
            "DELETE FROM rollups WHERE resolution_s = 60 AND bucket_s < ?1",
            [now_s - keep.minute_s],
        )?;
        n += tx.execute(
            "DELETE FROM rollups WHERE resolution_s = 3600 AND bucket_s < ?1",
            [now_s - keep.hour_s],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Open an incident for `subject` (a path or link id) unless one is open; close it when
    /// the state is healthy again. An open incident whose state stays but whose reason changes
    /// (the place of the fault became known) takes the new reason.
    pub fn record_state(
        &mut self,
        subject: &str,
        state: &str,
        reason: &str,
        now_s: i64,
    ) -> Result<(), Error> {
        let open: Option<(i64, String, String)> = self
            .conn
            .query_row(
                "SELECT id, state, reason FROM incidents WHERE subject = ?1 AND ended_s IS NULL",
                [subject],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match (open, state) {
            (Some((id, _, _)), "healthy") => {
                self.conn.execute(
                    "UPDATE incidents SET ended_s = ?1 WHERE id = ?2",
                    params![now_s, id],
                )?;
            }
            (Some((id, old, old_reason)), s) if old == s && old_reason != reason => {
                self.conn.execute(
                    "UPDATE incidents SET reason = ?1 WHERE id = ?2",
                    params![reason, id],
                )?;
            }
            (Some((id, old, _)), s) if old != s => {
                self.conn.execute(
                    "UPDATE incidents SET ended_s = ?1 WHERE id = ?2",
                    params![now_s, id],
                )?;
                self.conn.execute(
                    "INSERT INTO incidents (subject, state, reason, started_s) VALUES (?1, ?2, ?3, ?4)",
                    params![subject, s, reason, now_s],
                )?;
            }
            (None, "healthy" | "unknown") | (Some(_), _) => {}
            (None, s) => {
                self.conn.execute(
                    "INSERT INTO incidents (subject, state, reason, started_s) VALUES (?1, ?2, ?3, ?4)",
                    params![subject, s, reason, now_s],
                )?;
            }
        }
        Ok(())
    }

    /// Incidents that started in `[from_s, to_s)` or are still open, newest first.
    pub fn incidents(&self, from_s: i64, to_s: i64) -> Result<Vec<Incident>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT subject, state, reason, started_s, ended_s, id FROM incidents
             WHERE (started_s >= ?1 AND started_s < ?2) OR ended_s IS NULL ORDER BY started_s DESC",
        )?;
        let rows = st.query_map(params![from_s, to_s], Incident::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Incidents that overlap `[from_s, to_s)` (started before its end, and ended after its
    /// start or still open), oldest first.
    pub fn incidents_overlapping(&self, from_s: i64, to_s: i64) -> Result<Vec<Incident>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT subject, state, reason, started_s, ended_s, id FROM incidents
             WHERE started_s < ?2 AND (ended_s IS NULL OR ended_s > ?1) ORDER BY started_s, id",
        )?;
        let rows = st.query_map(params![from_s, to_s], Incident::from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Keep a trace of `subject` (a path id, or the traced address) with the incident that was
    /// open on that subject when the trace started, if any; its row id.
    pub fn insert_trace(
        &mut self,
        subject: &str,
        started_s: i64,
        requested_by: &str,
        summary: &str,
        trace_json: &str,
    ) -> Result<i64, Error> {
        self.conn.execute(
            "INSERT INTO traces (incident_id, subject, started_s, requested_by, summary, trace_json)
             VALUES ((SELECT id FROM incidents WHERE subject = ?1 AND started_s <= ?2
                        AND (ended_s IS NULL OR ended_s >= ?2) ORDER BY id DESC LIMIT 1),
                     ?1, ?2, ?3, ?4, ?5)",
            params![subject, started_s, requested_by, summary, trace_json],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Traces that started at or after `from_s`, newest first, at most `limit`.
    pub fn traces(&self, from_s: i64, limit: usize) -> Result<Vec<StoredTrace>, Error> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, incident_id, subject, started_s, requested_by, summary, trace_json FROM traces
             WHERE started_s >= ?1 ORDER BY started_s DESC, id DESC LIMIT ?2",
        )?;
        let rows = st.query_map(
            params![from_s, i64::try_from(limit).unwrap_or(i64::MAX)],
            |r| {
                Ok(StoredTrace {
                    id: r.get(0)?,
                    incident_id: r.get(1)?,
                    subject: r.get(2)?,
                    started_s: r.get(3)?,
                    requested_by: r.get(4)?,
                    summary: r.get(5)?,
                    trace_json: r.get(6)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A kept trace (`probe::trace::Trace` as JSON, with who asked and its incident).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredTrace {
    pub id: i64,
    /// The incident that was open on the subject when the trace ran.
    pub incident_id: Option<i64>,
    pub subject: String,
    pub started_s: i64,
    /// The dashboard user, or `cli`.
    pub requested_by: String,
    pub summary: String,
    pub trace_json: String,
}

/// A period when a path or link was not healthy.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Incident {
    /// The row id, which traces refer to.
    pub id: i64,
    pub subject: String,
    pub state: String,
    pub reason: String,
    pub started_s: i64,
    pub ended_s: Option<i64>,
}

impl Incident {
    /// One row of `SELECT subject, state, reason, started_s, ended_s, id`.
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Incident> {
        Ok(Incident {
            subject: r.get(0)?,
            state: r.get(1)?,
            reason: r.get(2)?,
            started_s: r.get(3)?,
            ended_s: r.get(4)?,
            id: r.get(5)?,
        })
    }
}

#[derive(Default)]
struct Mean {
    sum: f64,
    weight: f64,
}

impl Mean {
    fn add(&mut self, v: Option<f64>, weight: f64) {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            self.sum += v * weight;
            self.weight += weight;
        }
    }

    fn mean(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.sum / self.weight)
    }
}

#[derive(Default)]
struct Acc {
    rounds: i64,
    ok_rounds: i64,
    medians: Vec<f64>,
    min: Option<f64>,
    max: Option<f64>,
    loss: Mean,
    jitter: Mean,
    bandwidth: Mean,
    bytes: i64,
    rx: Mean,
    tx: Mean,
    rx_max: Option<f64>,
    tx_max: Option<f64>,
}

impl Acc {
    #[expect(
        clippy::too_many_arguments,
        reason = "one row's columns, read in one place"
    )]
    fn add(
        &mut self,
        rounds: i64,
        ok: i64,
        p50: Option<f64>,
        min: Option<f64>,
        max: Option<f64>,
        loss: Option<f64>,
        jitter: Option<f64>,
        bandwidth: Option<f64>,
        bytes: i64,
    ) {
        self.rounds += rounds;
        self.ok_rounds += ok;
        let w = rounds as f64;
        if let Some(p) = p50 {
            // A finer rollup's median stands for its rounds.
            self.medians
                .extend(std::iter::repeat_n(p, rounds.clamp(1, 1000) as usize));
        }
        self.min = match (self.min, min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.loss.add(loss, w);
        self.jitter.add(jitter, w);
        self.bandwidth.add(bandwidth, w);
        self.bytes += bytes;
    }

    /// Interface throughput of a sample (mean = max = the sample's) or of a finer bucket.
    fn add_iface(
        &mut self,
        rx_mean: Option<f64>,
        tx_mean: Option<f64>,
        rx_max: Option<f64>,
        tx_max: Option<f64>,
        weight: f64,
    ) {
        self.rx.add(rx_mean, weight);
        self.tx.add(tx_mean, weight);
        let hi = |a: Option<f64>, b: Option<f64>| match (a, b.filter(|v| v.is_finite())) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.rx_max = hi(self.rx_max, rx_max);
        self.tx_max = hi(self.tx_max, tx_max);
    }
}

/// The `q` quantile of sorted values, by linear interpolation.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * frac)
}
