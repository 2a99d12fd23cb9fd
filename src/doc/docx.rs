//! The DOCX renderer (docx-rs).

use super::{Document, Error};

pub(super) fn render(_doc: &Document) -> Result<Vec<u8>, Error> {
    Err(Error::Render("DOCX output is not written yet".into()))
}
