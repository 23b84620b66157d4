//! The write-ahead log: every acknowledged batch is in a WAL record before `Store::append` returns.
//!
//! Implements `docs/FORMAT.md`, "WAL". The log is a sequence of files `wal/<first-lsn>.wal`, each a
//! header followed by CRC-framed records; a record's payload is one whole [`crate::EventBatch`].
//! [`WalWriter`] appends and shares fsyncs between concurrent appenders (group commit);
//! [`read_wal_file`] replays a file, truncating a torn tail (a crash mid-write) and failing on a
//! checksum mismatch anywhere before it.

mod error;
mod format;
mod payload;
mod reader;
mod writer;

pub use error::WalError;
pub use format::{Lsn, RecordKind, WAL_FORMAT_VERSION, parse_wal_file_name, wal_file_name};
pub use payload::{decode_batch, encode_batch, encode_batch_rows};
pub use reader::{WalFileContents, WalRecord, list_wal_files, read_wal_file};
pub use writer::WalWriter;
