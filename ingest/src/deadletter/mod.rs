//! The dead-letter store: every rejected row, kept with its reason and position, in CRC-framed
//! files under `<data>/deadletter/` (`docs/FORMAT.md`, "Dead letters"; byte layout in
//! [`format`](mod@format)).
//!
//! - [`format`](mod@format): magic, version, framing, file names.
//! - [`writer`]: [`DeadLetterWriter`], one new file per ingest run, deduplicated rows, fsync.
//! - [`reader`]: [`read_all`], [`read_file`]: records in order, torn tail tolerated, corruption
//!   an error naming file and offset.
//!
//! The folder belongs to the data directory whose writer lock the ingest holds, so one writer
//! appends at a time; readers (`adstore deadletter`) take no lock and see whole records only.

pub mod format;
pub mod reader;
pub mod writer;

pub use reader::{DeadLetter, DeadLetterFile, list_files, read_all, read_file};
pub use writer::DeadLetterWriter;

/// Name of the dead-letter folder in a data directory.
pub const DEAD_LETTER_DIR: &str = "deadletter";

#[cfg(test)]
mod tests;
