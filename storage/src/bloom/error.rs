//! Errors from reading a serialized bloom filter.
//!
//! Building a filter cannot fail; reading one returns a [`BloomError`] when the bytes are too
//! short or the header makes no sense, and a checked filter's look-up when the block it reads
//! fails its CRC. The
//! crate's error folds it in with `From`, naming the segment and offset the bytes came from.

/// Why a byte slice is not a serialized bloom filter.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum BloomError {
    /// The slice ends before the header, or before the blocks the header announces.
    #[error("bloom filter truncated: needs {needed} bytes, {available} available")]
    Truncated {
        /// Bytes the filter needs: the header, plus the blocks once the header is read.
        needed: usize,
        /// Bytes the slice holds.
        available: usize,
    },
    /// The header holds a value no writer produces: zero blocks, a probe count outside
    /// `1..=MAX_PROBES`, or non-zero reserved bytes.
    #[error("invalid bloom filter header: {0}")]
    InvalidHeader(String),
    /// A checked filter's block (or its header) does not match the block's CRC.
    #[error(
        "bloom filter block {block}: CRC mismatch (stored {expected:#010x}, computed {got:#010x})"
    )]
    BlockChecksum {
        /// The block's index in the filter.
        block: usize,
        /// The CRC stored after the blocks.
        expected: u32,
        /// The CRC of the header and block as read.
        got: u32,
    },
}
