//! Compaction: merges the small segments of a partition into one.
//!
//! Every flush writes one segment per partition it touched, so a busy day accumulates many
//! small segments, each with its own footer, dictionaries and per-query planning cost. When a
//! partition holds at least [`crate::StoreOptions::compact_min_segments`] segments, they are
//! read, merged (the rows re-sorted in segment order) and written as one segment; the manifest
//! replacement that swaps them is the commit point.
//!
//! Crash windows, each safe, using the same mechanisms as a flush:
//! - while the merged segment is written: it is in no manifest, the next open deletes it as an
//!   orphan; the inputs are still live;
//! - after the manifest replacement: the inputs are no longer listed; if the process dies before
//!   deleting them, the next open deletes them as orphans.
//!
//! [`crate::Store::compact_all`] merges every partition of two or more segments, whatever the
//! threshold: what ClickHouse's `OPTIMIZE TABLE ... FINAL` does for its parts, run by `adstore
//! compact` after a bulk load, so queries plan and scan one segment per partition. It also
//! rewrites a partition's lone segment written in an older format version, so that a store
//! gains what the current version adds (site rollups in version 5, numbered string blocks in
//! version 6) without a reload.
//!
//! Queries holding a snapshot keep reading the inputs: their files are unlinked, not truncated,
//! and the mappings stay valid until the snapshot is dropped. The dedup index maps ids to
//! partitions, which compaction does not change.

use std::sync::Arc;

use crate::error::Result;
use crate::manifest::SegmentEntry;
use crate::partition::PartitionKey;
use crate::segment::format::SEGMENT_FORMAT_VERSION;
use crate::segment::{ReadContext, SegmentId, SegmentReader, write_segment};
use crate::store::{SEGMENTS_DIR, Shared, Version};

/// Compacts every partition with at least `min_segments` segments (at least 2), and with
/// `upgrade` every partition holding a segment of an older format version (rewritten alone if
/// need be); returns the number of segments replaced.
pub(crate) fn compact(shared: &Shared, min_segments: usize, upgrade: bool) -> Result<usize> {
    let min = min_segments.max(2);
    let older = |s: &Arc<SegmentReader>| s.footer().format_version < SEGMENT_FORMAT_VERSION;
    let candidates: Vec<(PartitionKey, Vec<Arc<SegmentReader>>)> = shared
        .version
        .read()
        .segments
        .iter()
        .filter(|(_, segs)| segs.len() >= min || (upgrade && segs.iter().any(older)))
        .map(|(k, segs)| (*k, segs.clone()))
        .collect();
    let mut merged_away = 0;
    for (partition, inputs) in candidates {
        merged_away += compact_partition(shared, partition, &inputs)?;
    }
    Ok(merged_away)
}

fn compact_partition(
    shared: &Shared,
    partition: PartitionKey,
    inputs: &[Arc<SegmentReader>],
) -> Result<usize> {
    // The manifest lock is the flush lock: one structural change at a time.
    let mut manifest = shared.manifest.lock();
    // The inputs were chosen before the lock: another compaction (background, or a concurrent
    // `Store::compact`) or a retention pass may have replaced or dropped them since. Merging
    // them again would store their rows twice (or bring expired rows back).
    let input_ids: Vec<SegmentId> = inputs.iter().map(|s| s.id()).collect();
    if !input_ids
        .iter()
        .all(|id| manifest.segments.iter().any(|e| e.id == *id))
    {
        return Ok(0);
    }
    let mut ctx = ReadContext::new()?;
    let mut rows = crate::EventBatch::new();
    for s in inputs {
        rows.extend_from(&s.read_all(&mut ctx)?);
    }
    let id = SegmentId(manifest.next_segment_id);
    let path = shared.dir.join(SEGMENTS_DIR).join(id.file_name());
    let written = write_segment(
        &path,
        partition,
        &rows,
        &shared.options.segment,
        shared.options.crash_hook.as_ref(),
    )?;
    crate::fsutil::sync_dir(&shared.dir.join(SEGMENTS_DIR))?;
    let reader = Arc::new(SegmentReader::open(&path, id)?);

    let mut next = manifest.clone();
    next.next_segment_id += 1;
    next.segments.retain(|e| !input_ids.contains(&e.id));
    next.segments
        .push(SegmentEntry::written(id, partition, &written));
    next.store(&shared.dir, shared.options.crash_hook.as_ref())?;
    *manifest = next;
    {
        let mut version = shared.version.write();
        let mut v = Version::clone(&version);
        let segs = v.segments.entry(partition).or_default();
        segs.retain(|s| !input_ids.contains(&s.id()));
        segs.push(reader);
        *version = Arc::new(v);
    }
    drop(manifest);
    for s in inputs {
        // A failure here leaves an orphan that the next writer open removes.
        if let Err(e) = std::fs::remove_file(s.path()) {
            tracing::warn!(file = %s.path().display(), error = %e, "could not remove a compacted segment");
        }
    }
    tracing::debug!(%partition, inputs = inputs.len(), rows = written.rows, "compacted partition");
    Ok(inputs.len())
}
