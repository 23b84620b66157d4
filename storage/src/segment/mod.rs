//! Segment files: immutable, columnar, one per flush of a partition.
//!
//! Implements `docs/FORMAT.md`, "Segment file". Rows are sorted by (event_type, campaign_id, ts,
//! event_id) and cut into blocks of a fixed row count; each column of each block is encoded (see [`crate::codec`]),
//! zstd-compressed when that shrinks it, and framed with its own CRC. The footer holds the block
//! index with min/max per block, the per-column dictionaries, bloom filters per block for event_id
//! and user_id, and the segment's event ids sorted, for exact dedup confirmation.
//!
//! - [`format`]: magic, versions, the fixed layouts as named constants.
//! - [`footer`]: [`Footer`], its serializer and parser.
//! - [`writer`]: [`write_segment`], from an [`crate::EventBatch`] to a durable file.
//! - [`reader`]: [`SegmentReader`], over a memory-mapped file; every byte it hands out was CRC-checked.
//! - [`rollup`]: site rollups, per-site totals of a campaign's long runs of blocks.
//! - [`lazy`]: [`LazySegment`], a manifest entry opened on first use (read-only stores).

pub mod footer;
pub mod format;
pub mod lazy;
pub mod reader;
pub mod rollup;
pub mod writer;

#[cfg(test)]
mod tests;

use std::fmt;

pub use footer::{BlockMeta, Footer};
pub use lazy::LazySegment;
pub use reader::{CheckedBloom, ColumnData, MAX_STREAMED_INTS, ReadContext, SegmentReader};
pub use rollup::{RollupMeta, SiteRollup};
pub use writer::{SegmentOptions, WrittenSegment, write_segment};

/// Identifies a segment; also its file name (`<id, 12 digits>.seg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SegmentId(pub u64);

impl SegmentId {
    /// The segment's file name.
    pub fn file_name(self) -> String {
        format!("{:012}.seg", self.0)
    }

    /// Parses a segment file name.
    pub fn from_file_name(name: &str) -> Option<SegmentId> {
        let digits = name.strip_suffix(".seg")?;
        if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(SegmentId)
    }
}

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}
