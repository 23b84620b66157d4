//! The ingest crate's error type: what stops a file (or the whole ingest), as opposed to a
//! rejected row, which is a [`crate::RejectReason`] and never an error.

use std::io;
use std::path::PathBuf;

/// Errors of the ingest crate. Variants name the file and, where it makes sense, the offset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation on `path` failed. (The OS error is part of the message rather than a
    /// `source`, so a printed error chain does not repeat it.)
    #[error("{op} {}: {error}", path.display())]
    Io {
        /// What was being done ("open", "read", "write", "fsync", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        error: io::Error,
    },
    /// An input file is damaged (invalid gzip/zstd stream, bad Avro magic, truncated or
    /// corrupt Avro block): every record before `offset` was delivered, nothing after it.
    #[error("damaged input {} at byte offset {offset}: {reason}", path.display())]
    Damaged {
        /// The input file.
        path: PathBuf,
        /// Where the damage was found: in the decompressed stream for format damage, in the
        /// file itself for compression damage (the reason says which).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// An input file cannot be read at all in its format (a CSV header without a required
    /// column, an Avro writer schema that does not resolve to `bid_request.avsc`, ...).
    #[error("cannot read {}: {reason}", path.display())]
    Unreadable {
        /// The input file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The format of an input could not be told from its name, and none was given.
    #[error("{}: unknown input format (use .jsonl/.ndjson, .csv or .avro, optionally .gz/.zst, or --format)", path.display())]
    UnknownFormat {
        /// The input file.
        path: PathBuf,
    },
    /// A dead-letter file's bytes are not what the format says.
    #[error("corrupt dead-letter file {} at offset {offset}: {reason}", path.display())]
    DeadLetterCorrupt {
        /// The dead-letter file.
        path: PathBuf,
        /// Start of the damaged record (or header).
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// The storage engine failed.
    #[error(transparent)]
    Storage(#[from] adstore_storage::Error),
    /// An argument was out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Result with the ingest [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches an operation and a path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn io(self, op: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn io(self, op: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|error| Error::Io {
            op,
            path: path.to_path_buf(),
            error,
        })
    }
}
