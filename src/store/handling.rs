//! Incidents that people handle: an acknowledgement (who took it on, and when), and an
//! append-only log of notes and causes with an optional ticket number. The store validates what
//! a person typed, and says in Indonesian what is wrong with it.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Error, Store};

/// The longest note or cause, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// The longest ticket number, in characters.
pub const MAX_TICKET_CHARS: usize = 64;

/// What a person typed that cannot be kept, in words for that person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("gangguan nomor {0} tidak ditemukan")]
    NoIncident(i64),
    #[error("isi {what} kosong; tuliskan isinya")]
    EmptyText { what: &'static str },
    #[error("isi {what} terlalu panjang: {len} karakter, paling banyak {max}")]
    TextTooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("isi {what} memuat karakter kendali (kode {code:#04x}) pada karakter ke-{at}")]
    TextControl {
        what: &'static str,
        code: u32,
        at: usize,
    },
    #[error("nomor tiket terlalu panjang: {len} karakter, paling banyak {max}")]
    TicketTooLong { len: usize, max: usize },
    #[error("nomor tiket memuat karakter kendali (kode {code:#04x}) pada karakter ke-{at}")]
    TicketControl { code: u32, at: usize },
    #[error("jenis catatan tidak dikenal: \"{0}\" (pilih catatan atau penyebab)")]
    Kind(String),
    #[error("jadwal pemeliharaan nomor {0} tidak ditemukan")]
    NoWindow(i64),
    #[error("waktu selesai pemeliharaan harus setelah waktu mulai")]
    WindowOrder,
    #[error(
        "waktu selesai pemeliharaan sudah lewat; jadwal hanya untuk pekerjaan yang akan datang atau sedang berjalan"
    )]
    WindowPast,
    #[error(
        "pemeliharaan terlalu lama: {hours} jam, paling lama {max} jam (buat beberapa jadwal bila perlu)"
    )]
    WindowTooLong { hours: i64, max: i64 },
    #[error("cakupan tidak dikenal: \"{0}\" bukan jalur atau tautan di topologi")]
    WindowScope(String),
}

/// A note about an incident, or its cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum NoteKind {
    Note,
    Cause,
}

impl NoteKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Note => "note",
            NoteKind::Cause => "cause",
        }
    }

    /// From the stored word or a form's value.
    pub fn parse(s: &str) -> Result<NoteKind, Invalid> {
        match s {
            "note" | "catatan" => Ok(NoteKind::Note),
            "cause" | "penyebab" => Ok(NoteKind::Cause),
            other => Err(Invalid::Kind(other.chars().take(40).collect())),
        }
    }

    fn what(self) -> &'static str {
        match self {
            NoteKind::Note => "catatan",
            NoteKind::Cause => "penyebab",
        }
    }
}

/// Who acknowledged an incident, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ack {
    pub by: String,
    pub at_s: i64,
}

/// One entry of an incident's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Note {
    pub id: i64,
    pub incident_id: i64,
    pub at_s: i64,
    pub by: String,
    pub kind: NoteKind,
    pub text: String,
    pub ticket: Option<String>,
}

/// What people did about one incident.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Handling {
    pub ack: Option<Ack>,
    /// Oldest first.
    pub notes: Vec<Note>,
}

impl Handling {
    /// The cause in force: the latest cause note.
    pub fn cause(&self) -> Option<&Note> {
        self.notes.iter().rev().find(|n| n.kind == NoteKind::Cause)
    }
}

/// The text, trimmed, or why it cannot be kept. Line breaks and tabs are allowed.
fn valid_text(kind: NoteKind, text: &str) -> Result<String, Invalid> {
    valid_words(kind.what(), text)
}

/// A person's text named `what` (for the message), trimmed, or why it cannot be kept.
pub(super) fn valid_words(what: &'static str, text: &str) -> Result<String, Invalid> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Invalid::EmptyText { what });
    }
    let len = text.chars().count();
    if len > MAX_TEXT_CHARS {
        return Err(Invalid::TextTooLong {
            what,
            len,
            max: MAX_TEXT_CHARS,
        });
    }
    if let Some((at, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Invalid::TextControl {
            what,
            code: c as u32,
            at: at + 1,
        });
    }
    Ok(text.replace("\r\n", "\n"))
}

/// The ticket number, trimmed (`None` when blank), or why it cannot be kept.
fn valid_ticket(ticket: Option<&str>) -> Result<Option<String>, Invalid> {
    let Some(t) = ticket.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let len = t.chars().count();
    if len > MAX_TICKET_CHARS {
        return Err(Invalid::TicketTooLong {
            len,
            max: MAX_TICKET_CHARS,
        });
    }
    if let Some((at, c)) = t.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(Invalid::TicketControl {
            code: c as u32,
            at: at + 1,
        });
    }
    Ok(Some(t.to_string()))
}

impl Store {
    /// Whether this store knows about acknowledgements and notes (a store opened read-only
    /// may be older than this juknis).
    pub fn has_handling(&self) -> Result<bool, Error> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'incident_notes'",
                [],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// One incident by its row id.
    pub fn incident(&self, id: i64) -> Result<Option<super::Incident>, Error> {
        Ok(self
            .conn
            .query_row(
                "SELECT subject, state, reason, started_s, ended_s, id FROM incidents WHERE id = ?1",
                [id],
                super::Incident::from_row,
            )
            .optional()?)
    }

    /// Acknowledge for `by` the entries of `paths` (a path id, or `<path>:...` as the route
    /// changes are kept) that were open at or after `since_s` and are not acknowledged yet: an
    /// incident as the notifiers told it, acknowledged by a reply in a chat. How many.
    pub fn acknowledge_paths(
        &mut self,
        paths: &[String],
        since_s: i64,
        by: &str,
        now_s: i64,
    ) -> Result<usize, Error> {
        // A path's entry may open a little before the notifiers' incident (their hysteresis).
        let entries = self.incidents_overlapping(since_s - 600, now_s + 1)?;
        let mut n = 0;
        for e in entries {
            let covered = paths
                .iter()
                .any(|p| e.subject == *p || e.subject.starts_with(&format!("{p}:")));
            if !covered || e.ended_s.is_some_and(|end| end < since_s) {
                continue;
            }
            n += self.conn.execute(
                "UPDATE incidents SET ack_by = ?1, ack_s = ?2 WHERE id = ?3 AND ack_by IS NULL",
                params![by, now_s, e.id],
            )?;
        }
        Ok(n)
    }

    /// Acknowledge incident `id` as `by` at `now_s`. Only the first acknowledgement counts: a
    /// later one leaves the first person and time, which it returns.
    pub fn acknowledge(&mut self, id: i64, by: &str, now_s: i64) -> Result<Ack, Error> {
        self.conn.execute(
            "UPDATE incidents SET ack_by = ?1, ack_s = ?2 WHERE id = ?3 AND ack_by IS NULL",
            params![by, now_s, id],
        )?;
        self.conn
            .query_row(
                "SELECT ack_by, ack_s FROM incidents WHERE id = ?1",
                [id],
                |r| {
                    Ok(Ack {
                        by: r.get(0)?,
                        at_s: r.get(1)?,
                    })
                },
            )
            .optional()?
            .ok_or(Error::Invalid(Invalid::NoIncident(id)))
    }

    /// Append a note or a cause to incident `id`. The text is trimmed and at most
    /// [`MAX_TEXT_CHARS`] long; the ticket number is optional, at most [`MAX_TICKET_CHARS`].
    pub fn add_note(
        &mut self,
        id: i64,
        by: &str,
        kind: NoteKind,
        text: &str,
        ticket: Option<&str>,
        now_s: i64,
    ) -> Result<Note, Error> {
        let text = valid_text(kind, text)?;
        let ticket = valid_ticket(ticket)?;
        let tx = self.conn.transaction()?;
        let exists = tx
            .query_row("SELECT 1 FROM incidents WHERE id = ?1", [id], |_| Ok(()))
            .optional()?
            .is_some();
        if !exists {
            return Err(Invalid::NoIncident(id).into());
        }
        tx.execute(
            "INSERT INTO incident_notes (incident_id, at_s, by_user, kind, text, ticket)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, now_s, by, kind.as_str(), text, ticket],
        )?;
        let note = Note {
            id: tx.last_insert_rowid(),
            incident_id: id,
            at_s: now_s,
            by: by.to_string(),
            kind,
            text,
            ticket,
        };
        tx.commit()?;
        Ok(note)
    }

    /// What people did about incident `id`; `None` when there is no such incident.
    pub fn handling(&self, id: i64) -> Result<Option<Handling>, Error> {
        let mut all = self.handlings(&[id])?;
        Ok(all.remove(&id))
    }

    /// What people did about each of `ids` that exists (a store without the tables gives
    /// every incident an empty handling).
    pub fn handlings(&self, ids: &[i64]) -> Result<HashMap<i64, Handling>, Error> {
        let mut out = HashMap::new();
        if !self.has_handling()? {
            for &id in ids {
                out.insert(id, Handling::default());
            }
            return Ok(out);
        }
        let mut ack = self
            .conn
            .prepare_cached("SELECT ack_by, ack_s FROM incidents WHERE id = ?1")?;
        let mut notes = self.conn.prepare_cached(
            "SELECT id, incident_id, at_s, by_user, kind, text, ticket FROM incident_notes
             WHERE incident_id = ?1 ORDER BY id",
        )?;
        for &id in ids {
            let Some(row) = ack
                .query_row([id], |r| {
                    Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<i64>>(1)?))
                })
                .optional()?
            else {
                continue;
            };
            let ack = match row {
                (Some(by), Some(at_s)) => Some(Ack { by, at_s }),
                _ => None,
            };
            let notes = notes
                .query_map([id], |r| {
                    let kind: String = r.get(4)?;
                    Ok(Note {
                        id: r.get(0)?,
                        incident_id: r.get(1)?,
                        at_s: r.get(2)?,
                        by: r.get(3)?,
                        // The table's CHECK allows only the two words.
                        kind: NoteKind::parse(&kind).unwrap_or(NoteKind::Note),
                        text: r.get(5)?,
                        ticket: r.get(6)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(id, Handling { ack, notes });
        }
        Ok(out)
    }
}
