//! [`LazySegment`]: a segment listed by the manifest, opened (mapped, its footer and blooms
//! CRC-checked) only when a query's pruning by partition and time range keeps it.
//!
//! A read-only open (`adstore query`, `adstore inspect`) answers one question and exits: mapping
//! and checking every segment of the store first cost more than most queries (608 segments, ~19
//! ms at 10M events, most of it CRC32 of footers and blooms and page faults). The manifest
//! already names each segment's partition, row count and time range, so the segments a query
//! can skip by those are never touched.
//!
//! The race this handles: a writer beside us may compact or drop a segment after we read the
//! manifest, unlinking its file before we open it. When the file is missing, the current
//! manifest tells which: it no longer lists the segment ([`Error::StaleSnapshot`]: the caller
//! opens the store again, and the new manifest lists the merged segment instead), or it still
//! does ([`Error::MissingSegment`]: the file was lost). A segment opened once stays mapped: the writer's unlink does not
//! affect a mapping.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::{SegmentId, SegmentReader};
use crate::error::{Error, Result};
use crate::manifest::{Manifest, SegmentEntry};
use crate::partition::PartitionKey;
use crate::store::SEGMENTS_DIR;

/// A manifest entry and, once opened, its reader.
#[derive(Debug)]
pub struct LazySegment {
    entry: SegmentEntry,
    /// The data directory.
    dir: PathBuf,
    path: PathBuf,
    reader: OnceLock<Arc<SegmentReader>>,
}

impl LazySegment {
    /// The segment of `entry` in the data directory `dir`, not opened yet.
    pub(crate) fn new(entry: SegmentEntry, dir: &Path) -> LazySegment {
        LazySegment {
            path: dir.join(SEGMENTS_DIR).join(entry.id.file_name()),
            dir: dir.to_path_buf(),
            entry,
            reader: OnceLock::new(),
        }
    }

    /// Its id.
    pub fn id(&self) -> SegmentId {
        self.entry.id
    }

    /// Its partition, as the manifest says.
    pub fn partition(&self) -> PartitionKey {
        self.entry.partition
    }

    /// Its rows, as the manifest says.
    pub fn rows(&self) -> u64 {
        self.entry.rows
    }

    /// Its smallest and largest event time, as the manifest says.
    pub fn ts_range(&self) -> (i64, i64) {
        (self.entry.min_ts, self.entry.max_ts)
    }

    /// Its file size, as the manifest says.
    pub fn bytes(&self) -> u64 {
        self.entry.bytes
    }

    /// The reader, opening and checking the file on first use: its footer must agree with the
    /// manifest on partition and rows.
    pub fn reader(&self) -> Result<Arc<SegmentReader>> {
        if let Some(r) = self.reader.get() {
            return Ok(Arc::clone(r));
        }
        let reader = match SegmentReader::open(&self.path, self.entry.id) {
            Ok(r) => r,
            Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                let id = self.entry.id;
                let still_listed = Manifest::load(&self.dir)?
                    .is_some_and(|m| m.segments.iter().any(|e| e.id == id));
                let path = self.path.clone();
                return Err(if still_listed {
                    Error::MissingSegment { id: id.0, path }
                } else {
                    Error::StaleSnapshot { id: id.0, path }
                });
            }
            Err(e) => return Err(e),
        };
        check_against_manifest(&reader, &self.entry)?;
        // Two threads may open it at once; both readers are valid, the first one set is kept.
        Ok(Arc::clone(self.reader.get_or_init(|| Arc::new(reader))))
    }
}

/// Fails when the segment's footer disagrees with its manifest entry.
pub(crate) fn check_against_manifest(reader: &SegmentReader, entry: &SegmentEntry) -> Result<()> {
    if reader.partition() != entry.partition || reader.rows() != entry.rows {
        return Err(Error::Corrupt {
            path: reader.path().to_path_buf(),
            offset: None,
            reason: format!(
                "footer says partition {} with {} rows, manifest says {} with {}",
                reader.partition(),
                reader.rows(),
                entry.partition,
                entry.rows
            ),
        });
    }
    Ok(())
}
