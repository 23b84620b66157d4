//! Byte layout of dead-letter files (`docs/FORMAT.md`, "Dead letters"). Integers are
//! little-endian; CRCs are CRC-32 (IEEE, as `crc32fast` computes it), framed like WAL records.
//!
//! ```text
//! File:       | FileHeader (12 B) | Record | Record | ... |
//! FileHeader: | Magic "ADDL" (4 B) | FormatVersion(u16) | Reserved(u16) = 0 | HeaderCrc(u32) |
//! Record:     | BodyLen(u32) | BodyCrc(u32) | HeaderCrc(u32) | Body (BodyLen bytes) |
//! Body:       | Reason(u8) | Format(u8) | Reserved(u16) = 0 | Position(u64) | IngestedAt(i64) |
//!             | SourceLen(u32) | Source | DetailLen(u32) | Detail | RawLen(u32) | Raw |
//! ```
//!
//! - `HeaderCrc` (file): CRC of the 8 bytes before it. `HeaderCrc` (record): CRC of `BodyLen`
//!   and `BodyCrc` (8 bytes). `BodyCrc`: CRC of the body.
//! - `Reason(u8)`: the [`crate::RejectReason`] code (1 malformed_json, 2 invalid_utf8,
//!   3 csv_column_count, 4 wrong_type, 5 missing_field, 6 bad_timestamp, 7 ts_out_of_range,
//!   8 unknown_event_type, 9 conversion_without_type, 10 conflicting_money, 11 bad_decimal,
//!   12 negative_money).
//! - `Format(u8)`: 1 JSON Lines, 2 CSV, 3 Avro.
//! - `Position(u64)`: 1-based line number (JSON Lines), line of the record's start (CSV), record
//!   number (Avro) in the source file.
//! - `IngestedAt(i64)`: when the row was rejected, µs since the epoch, UTC.
//! - `Source`: the source file's path (canonical when it could be resolved), UTF-8.
//! - `Detail`: a one-line explanation (which field, what value), UTF-8.
//! - `Raw`: the rejected row: the line's bytes (JSON Lines, possibly not UTF-8), the record
//!   re-encoded as one CSV line (CSV), the record as JSON under the reader schema (Avro); at
//!   most 1 MiB (longer rows keep their first bytes and say so in `Detail`).
//!
//! Files are `deadletter/<n, 20 digits>.dlq` in the data directory; each ingest run appends to
//! a new file, rotated past 64 MiB. Reading follows the WAL's rules: a file shorter than its
//! header, a tail shorter than a record header, a record running past the end of the file, a
//! last record failing its CRC, or a tail of zeros is a torn tail (a write cut short by a
//! crash) and is ignored; any other CRC mismatch is corruption and an error naming file and
//! offset.

use adstore_storage::framing::{numbered_file_name, parse_numbered_file_name, seal_record};

use crate::decode::Format;

/// Magic bytes opening every dead-letter file.
pub const MAGIC: [u8; 4] = *b"ADDL";
/// The dead-letter format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Size of the file header.
pub const FILE_HEADER_LEN: usize = 12;
/// Offset of the format version in the file header.
pub const FILE_VERSION_OFFSET: usize = MAGIC.len();
/// Offset of the header CRC in the file header.
pub const FILE_HEADER_CRC_OFFSET: usize = FILE_VERSION_OFFSET + 2 + 2;
/// Size of a record's frame header (BodyLen, BodyCrc, HeaderCrc): the WAL's framing.
pub use adstore_storage::framing::RECORD_HEADER_LEN;
/// Size of the body's fixed prefix (Reason, Format, Reserved, Position, IngestedAt).
pub const BODY_PREFIX_LEN: usize = 1 + 1 + 2 + 8 + 8;
/// Offset of Position in the body.
pub const BODY_POSITION_OFFSET: usize = 4;
/// Offset of IngestedAt in the body.
pub const BODY_INGESTED_AT_OFFSET: usize = BODY_POSITION_OFFSET + 8;
/// Smallest body: the prefix and three empty length-prefixed fields.
pub const MIN_BODY_LEN: usize = BODY_PREFIX_LEN + 3 * 4;
/// Largest body accepted.
pub const MAX_BODY_LEN: u32 = 64 << 20;
/// A file is rotated once it is this large.
pub const ROTATE_BYTES: u64 = 64 << 20;

/// The format byte of an input format.
pub fn format_code(format: Format) -> u8 {
    match format {
        Format::Json => 1,
        Format::Csv => 2,
        Format::Avro => 3,
    }
}

/// The input format of a format byte.
pub fn format_from_code(code: u8) -> Option<Format> {
    match code {
        1 => Some(Format::Json),
        2 => Some(Format::Csv),
        3 => Some(Format::Avro),
        _ => None,
    }
}

/// Builds a file header.
pub fn file_header() -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[..4].copy_from_slice(&MAGIC);
    h[FILE_VERSION_OFFSET..FILE_VERSION_OFFSET + 2].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    let crc = crc32fast::hash(&h[..FILE_HEADER_CRC_OFFSET]);
    h[FILE_HEADER_CRC_OFFSET..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The fields of one record, borrowed, for [`frame_record`].
#[derive(Debug, Clone, Copy)]
pub struct RecordFields<'a> {
    /// Reject reason code.
    pub reason: u8,
    /// Format byte.
    pub format: u8,
    /// Line or record number.
    pub position: u64,
    /// When, µs since the epoch.
    pub ingested_at: i64,
    /// Source file.
    pub source: &'a str,
    /// Explanation.
    pub detail: &'a str,
    /// The row.
    pub raw: &'a [u8],
}

fn push_len_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&bytes[..len as usize]);
}

/// Frames a record (header then body), appended to `out`. Fields are cut to keep the body
/// under [`MAX_BODY_LEN`] (raw rows are at most 1 MiB already).
pub fn frame_record(f: &RecordFields<'_>, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0u8; RECORD_HEADER_LEN]);
    out.push(f.reason);
    out.push(f.format);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&f.position.to_le_bytes());
    out.extend_from_slice(&f.ingested_at.to_le_bytes());
    let cap = |b: &'_ [u8], n: usize| -> usize { b.len().min(n) };
    let source = f.source.as_bytes();
    let detail = f.detail.as_bytes();
    push_len_prefixed(out, &source[..cap(source, 1 << 16)]);
    push_len_prefixed(out, &detail[..cap(detail, 1 << 16)]);
    push_len_prefixed(out, &f.raw[..cap(f.raw, 32 << 20)]);
    seal_record(&mut out[start..]);
}

/// `<n, 20 digits>.dlq`.
pub fn file_name(n: u64) -> String {
    numbered_file_name(n, "dlq")
}

/// The number in a dead-letter file name, `None` for other names.
pub fn parse_file_name(name: &str) -> Option<u64> {
    parse_numbered_file_name(name, "dlq")
}
