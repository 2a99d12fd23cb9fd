//! Lampiran I (topology diagram) and Lampiran II (service flowchart and its narrative) as
//! Graphviz DOT text, from the validated topology. Pure: the `dot` program is run by
//! [`to_format`], the only function here that does IO.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

mod dot;
pub mod lampiran1;
pub mod lampiran2;

/// Output formats `dot` can produce for us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Dot,
    Svg,
    Png,
    Pdf,
}

impl Format {
    /// The format named by a file's extension.
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "dot" | "gv" => Some(Self::Dot),
            "svg" => Some(Self::Svg),
            "png" => Some(Self::Png),
            "pdf" => Some(Self::Pdf),
            _ => None,
        }
    }
}

/// Why a diagram could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the Graphviz `dot` program was not found: install it (Debian: apt-get install graphviz)"
    )]
    DotMissing,
    #[error("running `dot`: {0}")]
    Io(#[from] std::io::Error),
    #[error("`dot` failed: {0}")]
    DotFailed(String),
}

/// Turn DOT text into `format` with the `dot` program. The same DOT gives the same bytes:
/// `SOURCE_DATE_EPOCH` pins the timestamp that PDF output would otherwise carry.
pub fn to_format(dot_text: &str, format: Format) -> Result<Vec<u8>, Error> {
    let flag = match format {
        Format::Dot => return Ok(dot_text.as_bytes().to_vec()),
        Format::Svg => "-Tsvg",
        Format::Png => "-Tpng:cairo",
        Format::Pdf => "-Tpdf",
    };
    let mut child = Command::new("dot")
        .arg(flag)
        .args(["-Gdpi=110"].iter().filter(|_| format == Format::Png))
        .env("SOURCE_DATE_EPOCH", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::DotMissing,
            _ => Error::Io(e),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(dot_text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(Error::DotFailed(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(out.stdout)
}
