//! [`CodecError`]: why a block of encoded bytes could not be decoded (or compressed).
//!
//! Decoders return it for any input they cannot make sense of; none of them panics on arbitrary
//! bytes. The crate error folds it in, so a reader can say which block of which file was bad.

/// Why encoded bytes could not be decoded, or a block could not be (de)compressed.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The input ends before the data it describes: `needed` bytes from its start, only
    /// `available` there.
    #[error("truncated input: {needed} bytes needed, {available} available")]
    Truncated {
        /// Bytes the decoder needed, counted from the start of its input.
        needed: usize,
        /// Bytes the input holds.
        available: usize,
    },
    /// An integer block starts with an encoding tag this version does not know.
    #[error("unknown integer encoding tag {0}")]
    UnknownEncoding(u8),
    /// A dictionary-code block starts with a layout tag this version does not know.
    #[error("unknown dictionary-code layout tag {0}")]
    UnknownCodeLayout(u8),
    /// A block names a compression this version does not know.
    #[error("unknown compression tag {0}")]
    UnknownCompression(u8),
    /// A bit width above 64.
    #[error("invalid bit width {0}: at most 64")]
    InvalidBitWidth(u8),
    /// A string block's bytes are not UTF-8, or a string boundary splits a character.
    #[error("string block is not valid UTF-8 or splits a character")]
    InvalidUtf8,
    /// A length read from the input disagrees with the one the caller expected.
    #[error("length mismatch: expected {expected}, got {got}")]
    LengthMismatch {
        /// The length the caller (or a header) announced.
        expected: usize,
        /// The length actually found.
        got: usize,
    },
    /// A dictionary code points past the end of its dictionary.
    #[error("dictionary code {code} out of range for a dictionary of {dict_len} entries")]
    CodeOutOfRange {
        /// The offending code.
        code: u32,
        /// Entries in the dictionary.
        dict_len: usize,
    },
    /// A numbered string block's prefix ends with a digit, which would read as part of each
    /// number (`codec::numbered`).
    #[error("numbered string block: its prefix ends with a digit")]
    DigitEndsPrefix,
    /// A decoded integer does not fit the type asked for (a `u32` column holding a negative
    /// or too large value).
    #[error("decoded value {0} out of range for the column type")]
    ValueOutOfRange(i64),
    /// A string column's bytes would pass 4 GiB, beyond what its `u32` offsets can address.
    #[error("string column would hold {bytes} bytes, beyond its 4 GiB offset range")]
    OffsetOverflow {
        /// Bytes the column would hold after the append.
        bytes: u64,
    },
    /// zstd failed to compress, or rejected a frame as corrupt.
    #[error("zstd (de)compression failed")]
    Zstd(#[source] std::io::Error),
}
