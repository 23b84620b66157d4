//! WAL recovery errors: the causes a caller acts on (stop and report, or repair by hand).

use std::path::PathBuf;

/// What can be wrong with a WAL file. Folded into [`crate::Error`] by `From`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalError {
    /// A record before the tail failed its checksum: acknowledged data is damaged. Never skipped.
    #[error("WAL {} corrupt at offset {offset}: {reason} (not a torn tail: valid data follows or the record is complete); refusing to replay past it", path.display())]
    CorruptRecord {
        /// The WAL file.
        path: PathBuf,
        /// Offset of the damaged record's first byte.
        offset: u64,
        /// What failed.
        reason: String,
    },
    /// The file header is damaged or from another format.
    #[error("WAL {}: bad header: {reason}", path.display())]
    BadHeader {
        /// The WAL file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A file in `wal/` whose name is not `<20-digit lsn>.wal`.
    #[error("unexpected file in WAL directory: {}", path.display())]
    BadFileName {
        /// The file.
        path: PathBuf,
    },
    /// Records are not numbered consecutively: a file is missing or out of place.
    #[error("WAL {}: record at offset {offset} has LSN {found}, expected {expected}", path.display())]
    LsnGap {
        /// The WAL file.
        path: PathBuf,
        /// Offset of the record.
        offset: u64,
        /// The LSN expected.
        expected: u64,
        /// The LSN found.
        found: u64,
    },
}
