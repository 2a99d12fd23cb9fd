//! Documents about the appliance's use, for Dukcapil: the semester usage report of Juknis V
//! (`juknis report semester`), and the monthly availability for SLA claims (`juknis report
//! availability`).
//!
//! [`semester::build`] is pure: it turns gathered [`semester::Facts`] into a [`crate::doc::Document`]
//! and can be tested without files. [`gather`] is the only part that reads the state dir, and
//! it opens every database read-only. No NIK reaches this module: the audit log gives counts,
//! the zero-storage scan gives counts.

pub mod availability;
pub mod calendar;
pub mod gather;
pub mod holidays;
pub mod letters;
pub mod scan;
pub mod semester;

pub use calendar::Semester;
pub use gather::gather;
pub use semester::{Facts, build};
