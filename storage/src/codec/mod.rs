//! Column codecs: how a block of one column becomes bytes, and back.
//!
//! Every codec is pure: it encodes into a `Vec<u8>` and decodes from a `&[u8]` (a read buffer
//! or an mmap slice); none opens a file, and none knows which file or block it is in. The
//! segment writer and reader frame the bytes (row count, raw length, CRC) around them; see
//! `docs/FORMAT.md`, "Block encodings". Decoders take the row count from the caller, append
//! exactly that many values, return the bytes they consumed, and never panic on arbitrary
//! input: a short, corrupt or hostile buffer is a [`CodecError`], and no length read from the
//! input makes them allocate more than the caller's row count allows.
//!
//! - [`bitpack`]: `u64` values packed at a fixed width of 0..=64 bits, unpacked 64 at a time by
//!   width-specialized straight-line code.
//! - [`ints`]: `i64` (timestamps, money) and `u32` (string lengths) blocks: a tag byte picks
//!   constant, frame of reference (minimum plus bit-packed offsets), zigzag delta (first value
//!   plus bit-packed differences) or plain; the last three with one bit width for the block or
//!   one per 64 values. The encoder keeps the smallest.
//! - [`strings`]: high-cardinality strings as their lengths (an [`ints`] block) followed by
//!   their bytes; UTF-8 checked once per block. Or, in segment row blocks from format 6 on,
//! - [`numbered`]: strings that are one prefix and a decimal number, as the prefix and an
//!   [`ints`] block of the numbers.
//! - [`codes`]: dictionary codes as 1, 2 or 4 little-endian bytes each or as an [`ints`]
//!   block, behind a layout tag (segment format 3), every code checked against the
//!   dictionary's length.
//! - [`bools`]: one bit per row, least significant first.
//! - [`compress`]: zstd over a whole encoded block with reused contexts, or the raw bytes when
//!   zstd does not shrink them.
//!
//! All integers are little-endian.

pub mod bitpack;
pub mod bools;
pub mod chunks;
pub mod codes;
pub mod compress;
mod cursor;
mod error;
pub mod ints;
pub mod numbered;
pub mod strings;

pub use error::CodecError;
