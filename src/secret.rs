//! Secrets at rest and in memory: [`Secret`], a string that never prints, and
//! [`read_private`], the one way a secret file is read (refused when group or others may read
//! it). Depends on nothing else in the crate, so the portal client, the gate and the outbox can
//! all use it.
//!
//! `Debug` and `Display` of a [`Secret`] both write `[rahasia]`, so a secret that ends up in a
//! `tracing` field, an error message or a `{:?}` of the struct around it shows the placeholder,
//! never the value. The only way to the value is [`Secret::expose`], which a reviewer can grep
//! for.

use std::fmt;
use std::path::{Path, PathBuf};

/// What a secret prints as, everywhere.
pub const REDACTED: &str = "[rahasia]";

/// A password, bearer token or key. Compares by value (for tests and config reloads).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that sends it (a request body, an `Authorization` header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when no value was given.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret(value.to_owned())
    }
}

/// Why a secret file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file is readable or writable by group or others.
    #[error(
        "{path} is readable by others (mode {mode:03o}); it holds secrets: run `chmod 600 {path}`",
        path = path.display()
    )]
    NotPrivate {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Opening or reading failed.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
}

/// Refuse a secret file that group or others can read or write.
pub fn check_private(path: &Path) -> Result<(), FileError> {
    let meta = std::fs::metadata(path).map_err(|source| FileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    private(path, &meta)
}

fn private(path: &Path, meta: &std::fs::Metadata) -> Result<(), FileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(FileError::NotPrivate {
                path: path.to_path_buf(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (path, meta);
    Ok(())
}

/// Read a secret file after checking, on the open handle, that only its owner can read it (so
/// a `chmod` between the check and the read cannot slip a group-readable file through).
pub fn read_private(path: &Path) -> Result<String, FileError> {
    use std::io::Read;
    let io = |source| FileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    private(path, &f.metadata().map_err(io)?)?;
    let mut text = String::new();
    f.read_to_string(&mut text).map_err(io)?;
    Ok(text)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn debug_display_and_tracing_fields_show_the_placeholder() {
        let s = Secret::from("KANARI-rahasia-123");
        #[derive(Debug)]
        #[expect(dead_code, reason = "read through Debug only")]
        struct Holder {
            password: Secret,
        }
        let all = format!(
            "{s} {s:?} {s:#?} {:?} {:#?}",
            Holder {
                password: s.clone()
            },
            Some(&s)
        );
        assert!(!all.contains("KANARI"), "{all}");
        assert_eq!(all.matches(REDACTED).count(), 5, "{all}");
        assert_eq!(s.expose(), "KANARI-rahasia-123");
    }

    #[cfg(unix)]
    #[rstest::rstest]
    #[case::owner_only(0o600, true)]
    #[case::owner_read_only(0o400, true)]
    #[case::group_readable(0o640, false)]
    #[case::group_writable(0o620, false)]
    #[case::world_readable(0o604, false)]
    fn only_an_owner_only_file_is_read(#[case] mode: u32, #[case] read: bool) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "KANARI").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        match read_private(&p) {
            Ok(text) => assert!(read, "mode {mode:o} was read: {text}"),
            Err(e) => {
                assert!(!read, "mode {mode:o} refused: {e}");
                let e = e.to_string();
                assert!(
                    e.contains(&format!("mode {mode:03o}"))
                        && e.contains(&format!("chmod 600 {}", p.display())),
                    "{e}"
                );
            }
        }
    }
}
