//! Maintenance windows an admin makes on the dashboard: one-off, scoped to paths and links (or
//! everything), kept beside the topology's own windows and cancelled rather than deleted, so
//! the record of what was planned stays. The store checks what a person typed and says in
//! Indonesian what is wrong; whether a scope's ids exist is the caller's (it has the topology).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::handling::valid_words;
use super::{Error, Invalid, Store};
use crate::topology::maintenance::{Recurrence, Scope, Window};
use crate::topology::{LinkId, PathId};

/// The longest window one entry may make, in hours (a week): longer work is several windows,
/// so that a mistyped year does not hide a month of faults.
pub const MAX_WINDOW_HOURS: i64 = 7 * 24;

/// A window as an admin asks for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewWindow {
    pub from_s: i64,
    pub to_s: i64,
    /// Path ids; with `links` both empty, the window covers everything.
    pub paths: Vec<String>,
    pub links: Vec<String>,
    pub note: String,
}

/// A window made on the dashboard, as kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MadeWindow {
    pub id: i64,
    pub from_s: i64,
    pub to_s: i64,
    pub paths: Vec<String>,
    pub links: Vec<String>,
    pub note: String,
    pub by: String,
    pub created_s: i64,
    /// Who called it off, and when.
    pub cancelled: Option<(String, i64)>,
}

fn join(ids: &[String]) -> String {
    ids.join(",")
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Store {
    /// Keep a window `by` asked for at `now_s`: it must end after it starts, not already be
    /// over, last at most [`MAX_WINDOW_HOURS`], and say what the work is.
    pub fn add_window(&mut self, w: &NewWindow, by: &str, now_s: i64) -> Result<MadeWindow, Error> {
        if w.to_s <= w.from_s {
            return Err(Invalid::WindowOrder.into());
        }
        if w.to_s <= now_s {
            return Err(Invalid::WindowPast.into());
        }
        let hours = (w.to_s - w.from_s + 3599) / 3600;
        if hours > MAX_WINDOW_HOURS {
            return Err(Invalid::WindowTooLong {
                hours,
                max: MAX_WINDOW_HOURS,
            }
            .into());
        }
        let note = valid_words("keterangan pekerjaan", &w.note)?;
        self.conn.execute(
            "INSERT INTO maintenance (from_s, to_s, paths, links, note, by_user, created_s)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                w.from_s,
                w.to_s,
                join(&w.paths),
                join(&w.links),
                note,
                by,
                now_s
            ],
        )?;
        Ok(MadeWindow {
            id: self.conn.last_insert_rowid(),
            from_s: w.from_s,
            to_s: w.to_s,
            paths: w.paths.clone(),
            links: w.links.clone(),
            note,
            by: by.to_owned(),
            created_s: now_s,
            cancelled: None,
        })
    }

    /// Call window `id` off; cancelling it again changes nothing (the first stands).
    pub fn cancel_window(&mut self, id: i64, by: &str, now_s: i64) -> Result<MadeWindow, Error> {
        self.conn.execute(
            "UPDATE maintenance SET cancelled_by = ?1, cancelled_s = ?2
             WHERE id = ?3 AND cancelled_by IS NULL",
            params![by, now_s, id],
        )?;
        self.made_window(id)?
            .ok_or(Error::Invalid(Invalid::NoWindow(id)))
    }

    fn made_window(&self, id: i64) -> Result<Option<MadeWindow>, Error> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, from_s, to_s, paths, links, note, by_user, created_s, cancelled_by,
                        cancelled_s
                 FROM maintenance WHERE id = ?1",
                [id],
                row,
            )
            .optional()?)
    }

    /// Every window made on the dashboard, the latest start first; cancelled ones too.
    pub fn made_windows(&self) -> Result<Vec<MadeWindow>, Error> {
        let mut st = self.conn.prepare(
            "SELECT id, from_s, to_s, paths, links, note, by_user, created_s, cancelled_by,
                    cancelled_s
             FROM maintenance ORDER BY from_s DESC, id DESC",
        )?;
        let rows = st.query_map([], row)?.collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }
}

impl MadeWindow {
    /// As the schedule takes it: once, from `from_s` to `to_s`, over its scope.
    pub fn window(&self) -> Window {
        let at = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap_or_default();
        Window {
            when: Recurrence::Once {
                from: at(self.from_s),
                to: at(self.to_s),
            },
            scope: Scope {
                paths: self.paths.iter().map(PathId::new).collect(),
                links: self.links.iter().map(LinkId::new).collect(),
            },
            note: self.note.clone(),
        }
    }
}

/// The windows of `made` as the schedule takes them: a cancelled one up to its cancelling
/// (work finished early was still planned work), none of one cancelled before it began.
pub fn in_force(made: &[MadeWindow]) -> Vec<Window> {
    made.iter()
        .filter_map(|m| {
            let to = m
                .cancelled
                .as_ref()
                .map_or(m.to_s, |(_, at)| m.to_s.min(*at));
            (to > m.from_s).then(|| {
                MadeWindow {
                    to_s: to,
                    ..m.clone()
                }
                .window()
            })
        })
        .collect()
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<MadeWindow> {
    let paths: String = r.get(3)?;
    let links: String = r.get(4)?;
    let by: Option<String> = r.get(8)?;
    let at: Option<i64> = r.get(9)?;
    Ok(MadeWindow {
        id: r.get(0)?,
        from_s: r.get(1)?,
        to_s: r.get(2)?,
        paths: split(&paths),
        links: split(&links),
        note: r.get(5)?,
        by: r.get(6)?,
        created_s: r.get(7)?,
        cancelled: by.zip(at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_355_720;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tmp");
        let s = Store::open(&dir.path().join("juknis.db")).expect("store");
        (dir, s)
    }

    fn window(from: i64, to: i64) -> NewWindow {
        NewWindow {
            from_s: from,
            to_s: to,
            paths: vec![],
            links: vec!["wan".into()],
            note: "  Penggantian router Diskominfo  ".into(),
        }
    }

    #[test]
    fn a_window_is_kept_listed_and_cancelled_once() {
        let (_d, mut s) = store();
        let w = s
            .add_window(&window(NOW + 60, NOW + 7200), "admin", NOW)
            .expect("kept");
        assert_eq!(w.note, "Penggantian router Diskominfo");
        assert_eq!(s.made_windows().expect("list"), vec![w.clone()]);
        let c = s.cancel_window(w.id, "teknisi", NOW + 10).expect("cancel");
        assert_eq!(c.cancelled, Some(("teknisi".into(), NOW + 10)));
        let again = s.cancel_window(w.id, "lain", NOW + 20).expect("cancel");
        assert_eq!(again.cancelled, Some(("teknisi".into(), NOW + 10)));
        assert!(matches!(
            s.cancel_window(999, "admin", NOW),
            Err(Error::Invalid(Invalid::NoWindow(999)))
        ));
        // Called off before it began: nothing was planned.
        assert!(in_force(&s.made_windows().expect("list")).is_empty());
    }

    #[test]
    fn a_window_called_off_early_counts_up_to_then() {
        let (_d, mut s) = store();
        let w = s
            .add_window(&window(NOW, NOW + 7200), "admin", NOW)
            .expect("kept");
        s.cancel_window(w.id, "admin", NOW + 1800).expect("cancel");
        let f = in_force(&s.made_windows().expect("list"));
        assert_eq!(f.len(), 1);
        let at = |x: i64| chrono::DateTime::from_timestamp(x, 0).expect("t");
        assert_eq!(
            f[0].when,
            Recurrence::Once {
                from: at(NOW),
                to: at(NOW + 1800)
            }
        );
        assert_eq!(f[0].scope.links, vec![LinkId::new("wan")]);
    }

    #[test]
    fn what_a_person_typed_wrong_is_refused_in_words() {
        let (_d, mut s) = store();
        let refused = |s: &mut Store, w: NewWindow| match s.add_window(&w, "admin", NOW) {
            Err(Error::Invalid(i)) => i.to_string(),
            other => panic!("{other:?}"),
        };
        assert!(refused(&mut s, window(NOW + 100, NOW + 100)).contains("setelah waktu mulai"));
        assert!(refused(&mut s, window(NOW - 7200, NOW - 60)).contains("sudah lewat"));
        assert!(refused(&mut s, window(NOW, NOW + 8 * 86_400)).contains("paling lama 168 jam"));
        let mut blank = window(NOW, NOW + 60);
        blank.note = "   ".into();
        assert!(refused(&mut s, blank).contains("kosong"));
        assert!(s.made_windows().expect("list").is_empty(), "nothing kept");
    }
}
