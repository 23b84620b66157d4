//! The storage crate's error type.

use std::io;
use std::path::PathBuf;

use crate::codec::CodecError;
use crate::wal::WalError;

/// Errors of the storage engine. Variants name the object (file, offset) and the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O operation on `path` failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("open", "write", "fsync", ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A file's bytes are not what the format says they must be.
    #[error("corrupt {}{}: {reason}", path.display(), offset.map(|o| format!(" at offset {o}")).unwrap_or_default())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Where the damage was found, when known.
        offset: Option<u64>,
        /// What is wrong.
        reason: String,
    },
    /// A CRC did not match: the bytes were damaged after they were written.
    #[error("checksum mismatch in {} at offset {offset} ({what}): stored {expected:#010x}, computed {got:#010x}", path.display())]
    ChecksumMismatch {
        /// The damaged file.
        path: PathBuf,
        /// Start of the checksummed region.
        offset: u64,
        /// Which structure ("segment block event_id#3", "WAL record", "footer", ...).
        what: String,
        /// The CRC stored in the file.
        expected: u32,
        /// The CRC of the bytes read.
        got: u32,
    },
    /// A file was written by a format version this build does not know.
    #[error("{}: unsupported {what} format version {version} (this build reads {supported})", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Which kind of file.
        what: &'static str,
        /// The version found.
        version: u16,
        /// The versions this build reads.
        supported: String,
    },
    /// Another process holds the data directory's writer lock.
    #[error("data directory {} is locked by another adstore writer (pid {pid}); stop it or open read-only", dir.display())]
    Locked {
        /// The data directory.
        dir: PathBuf,
        /// The owner's pid as written in the lock file ("unknown" when unreadable).
        pid: String,
    },
    /// The manifest names a segment file that does not exist.
    #[error("manifest lists segment {id} but {} is missing", path.display())]
    MissingSegment {
        /// The segment id.
        id: u64,
        /// The path it should be at.
        path: PathBuf,
    },
    /// A read-only snapshot names a segment that a writer has since merged or dropped (its file
    /// is gone): open the store again.
    #[error(
        "segment {id} ({}) was merged or dropped by the writer after this read-only view was taken; open the store again",
        path.display()
    )]
    StaleSnapshot {
        /// The segment id.
        id: u64,
        /// Its path.
        path: PathBuf,
    },
    /// A WAL problem the caller may act on.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// A block failed to decode.
    #[error("{}: {what}: {source}", path.display())]
    Codec {
        /// The file holding the block.
        path: PathBuf,
        /// Which block.
        what: String,
        /// The decode error.
        #[source]
        source: CodecError,
    },
    /// The store refuses writes after an fsync failure: what reached the disk is unknown, so the
    /// process must restart and replay the WAL.
    #[error("store is read-only after a failed fsync ({0}); restart to recover from the WAL")]
    Poisoned(String),
    /// The operation needs a writable store.
    #[error("store opened read-only: {0} needs the writer")]
    ReadOnly(&'static str),
    /// An argument was out of range.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Result with the storage [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches an operation and a path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn io(self, op: &'static str, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn io(self, op: &'static str, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        })
    }
}
