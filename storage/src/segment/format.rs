//! Byte layout of a segment file (`docs/FORMAT.md`, "Segment file"). Integers are little-endian.
//!
//! ```text
//! File:    | Header (16 B) | Block ... | BloomArea | Footer | Trailer (16 B) |
//! Header:  | Magic "ADSG" | FormatVersion(u16) | SchemaVersion(u16) | Reserved(8 B, zero) |
//! Block:   | Compression(u8) | Reserved(3 B) | RawLen(u32) | StoredLen(u32) | Payload | Crc32(u32) |
//! Trailer: | FooterLen(u32) | FooterCrc(u32) | FormatVersion(u16) | Reserved(u16) | Magic "ADSG" |
//! ```
//! A block's CRC covers its 12 header bytes and its payload. The footer's CRC is in the trailer.

/// Magic bytes at both ends of a segment file.
pub const SEGMENT_MAGIC: [u8; 4] = *b"ADSG";
/// The segment format version this build writes. Version 2 added each block's sum to the
/// footer's block entries (`docs/FORMAT.md`, "Segment footer"); version 3 a layout tag before
/// each block of dictionary codes (`docs/FORMAT.md`, "Dictionary codes"); version 4 a CRC per
/// bloom filter block (`docs/FORMAT.md`, "Bloom filter"); version 5 site rollups
/// (`docs/FORMAT.md`, "Site rollups"); version 6 numbered string blocks (`docs/FORMAT.md`,
/// "Strings").
pub const SEGMENT_FORMAT_VERSION: u16 = 6;
/// The oldest segment format version this build reads (version 1: no block sums).
pub const OLDEST_SEGMENT_FORMAT_VERSION: u16 = 1;

/// Size of the file header.
pub const HEADER_LEN: usize = 16;
/// Size of the trailer.
pub const TRAILER_LEN: usize = 16;
/// Size of a block's frame header.
pub const BLOCK_HEADER_LEN: usize = 12;
/// Size of a block's CRC.
pub const BLOCK_CRC_LEN: usize = 4;

/// Default rows per block: small enough for min/max and bloom pruning to skip most of a segment
/// on a one-campaign or one-user query (docs/FORMAT.md, "Segment file", for the figures), large
/// enough for zstd and per-block overheads to fade.
pub const DEFAULT_BLOCK_ROWS: u32 = 8_192;
/// Default event ids per sorted-key block.
pub const KEYS_PER_KEY_BLOCK: usize = 1024;
/// Default bloom bits per key of the `event_id` filters (about 1 % false positives, see
/// [`crate::bloom`]).
pub const DEFAULT_BLOOM_BITS_PER_KEY: f64 = 10.0;
/// Default bloom bits per key of the `user_id` filters. A one-user query probes every block's
/// filter, so each point of false-positive rate costs a decoded block per hundred blocks.
pub const DEFAULT_USER_BLOOM_BITS_PER_KEY: f64 = 14.0;

/// The file header.
pub fn file_header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..4].copy_from_slice(&SEGMENT_MAGIC);
    h[4..6].copy_from_slice(&SEGMENT_FORMAT_VERSION.to_le_bytes());
    h[6..8].copy_from_slice(&crate::schema::SCHEMA_VERSION.to_le_bytes());
    h
}

/// Frames `payload` as a block (see the module doc), appended to `out`.
pub fn frame_block(compression: u8, raw_len: u32, payload: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.push(compression);
    out.extend_from_slice(&[0u8; 3]);
    out.extend_from_slice(&raw_len.to_le_bytes());
    out.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}
