//! Byte layout of WAL files and records (`docs/FORMAT.md`, "WAL"). Integers are little-endian.
//!
//! ```text
//! File:   | FileHeader (24 B) | Record | Record | ... |
//! FileHeader: | Magic "ADWL" | FormatVersion(u16) | SchemaVersion(u16) | FirstLsn(u64) | Reserved(u32) | HeaderCrc(u32) |
//! Record: | BodyLen(u32) | BodyCrc(u32) | HeaderCrc(u32) | Body (BodyLen bytes) |
//! Body:   | Lsn(u64) | Kind(u8) | Codec(u8) | RawLen(u32) | Payload |
//! ```
//!
//! The record header is [`crate::framing`]'s, shared with dead-letter files.

use crate::framing::{numbered_file_name, parse_numbered_file_name, seal_record};

/// Log sequence number: one per WAL record, consecutive, starting at 1.
pub type Lsn = u64;

/// Magic bytes opening every WAL file.
pub const WAL_MAGIC: [u8; 4] = *b"ADWL";
/// The WAL format version this build writes (2: record kind 2, `ProducerBatch`, may appear).
pub const WAL_FORMAT_VERSION: u16 = 2;
/// The oldest WAL format version this build reads (1: event batch records only).
pub const WAL_OLDEST_VERSION: u16 = 1;

/// Size of the file header.
pub const FILE_HEADER_LEN: usize = 24;
/// Offset of the format version in the file header.
pub const FILE_VERSION_OFFSET: usize = WAL_MAGIC.len();
/// Offset of the schema version in the file header.
pub const FILE_SCHEMA_OFFSET: usize = FILE_VERSION_OFFSET + 2;
/// Offset of the first LSN in the file header.
pub const FILE_FIRST_LSN_OFFSET: usize = FILE_SCHEMA_OFFSET + 2;
/// Offset of the header CRC (over the 20 bytes before it).
pub const FILE_HEADER_CRC_OFFSET: usize = FILE_FIRST_LSN_OFFSET + 8 + 4;

/// Size of a record's frame header (BodyLen, BodyCrc, HeaderCrc).
pub use crate::framing::RECORD_HEADER_LEN;
/// Size of the body's fixed prefix (Lsn, Kind, Codec, RawLen).
pub const BODY_PREFIX_LEN: usize = 8 + 1 + 1 + 4;
/// Largest body accepted (a batch is split long before this).
pub const MAX_BODY_LEN: u32 = 1 << 30;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum RecordKind {
    /// One event batch, as encoded by [`super::encode_batch`].
    EventBatch = 1,
    /// A producer mark then one event batch: `| ProducerLen(u16) | Producer | Sequence(u64) |`
    /// followed by the [`super::encode_batch`] payload (see [`crate::producer`]).
    ProducerBatch = 2,
}

impl RecordKind {
    /// The kind of a stored byte.
    pub fn from_u8(b: u8) -> Option<RecordKind> {
        match b {
            1 => Some(RecordKind::EventBatch),
            2 => Some(RecordKind::ProducerBatch),
            _ => None,
        }
    }
}

/// Payload codec byte: stored as is.
pub const CODEC_NONE: u8 = 0;
/// Payload codec byte: zstd.
pub const CODEC_ZSTD: u8 = 1;

/// Builds a file header.
pub fn file_header(first_lsn: Lsn) -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[..4].copy_from_slice(&WAL_MAGIC);
    h[FILE_VERSION_OFFSET..FILE_SCHEMA_OFFSET].copy_from_slice(&WAL_FORMAT_VERSION.to_le_bytes());
    h[FILE_SCHEMA_OFFSET..FILE_FIRST_LSN_OFFSET]
        .copy_from_slice(&crate::schema::SCHEMA_VERSION.to_le_bytes());
    h[FILE_FIRST_LSN_OFFSET..FILE_FIRST_LSN_OFFSET + 8].copy_from_slice(&first_lsn.to_le_bytes());
    let crc = crc32fast::hash(&h[..FILE_HEADER_CRC_OFFSET]);
    h[FILE_HEADER_CRC_OFFSET..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Frames a record: header then body, appended to `out`.
pub fn frame_record(
    lsn: Lsn,
    kind: RecordKind,
    codec: u8,
    raw_len: u32,
    payload: &[u8],
    out: &mut Vec<u8>,
) {
    let start = out.len();
    out.extend_from_slice(&[0u8; RECORD_HEADER_LEN]);
    out.extend_from_slice(&lsn.to_le_bytes());
    out.push(kind as u8);
    out.push(codec);
    out.extend_from_slice(&raw_len.to_le_bytes());
    out.extend_from_slice(payload);
    seal_record(&mut out[start..]);
}

/// `<first lsn, 20 digits>.wal`.
pub fn wal_file_name(first_lsn: Lsn) -> String {
    numbered_file_name(first_lsn, "wal")
}

/// The first LSN named by a WAL file name, or `None` when the name is not a WAL file's.
pub fn parse_wal_file_name(name: &str) -> Option<Lsn> {
    parse_numbered_file_name(name, "wal")
}
