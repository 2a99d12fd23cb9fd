//! The PDF renderer (krilla).

use super::{Document, Error};

pub(super) fn render(_doc: &Document) -> Result<Vec<u8>, Error> {
    Err(Error::Render("PDF output is not written yet".into()))
}
