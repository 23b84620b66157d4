//! Flush: memtable → segments → manifest → WAL clean-up.
//!
//! Crash windows, each safe:
//! - during segment writes: the new files are not in any manifest; the next open deletes them as
//!   orphans and replays the rows from the WAL;
//! - after `MANIFEST.tmp` is written, before the rename: the old manifest is still current, same
//!   as above; the temporary file is removed on open;
//! - after the rename: the new manifest is current and says replay starts at the first record
//!   written after the freeze, so rows now in segments are not replayed twice, even though the
//!   old WAL files may still be there (they are deleted on open).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::{SEGMENTS_DIR, Shared, Version, WAL_DIR};
use crate::error::{Error, Result};
use crate::manifest::SegmentEntry;
use crate::memtable::{Memtable, PartitionMemtable};
use crate::partition::PartitionKey;
use crate::segment::{SegmentId, SegmentReader, write_segment};

/// Runs in the background thread: flushes when asked (size) or when the memtable gets old.
pub(super) fn flusher_loop(shared: &Shared) {
    loop {
        {
            let mut wanted = shared.flush_wanted.lock();
            if !*wanted && !shared.stop.load(Ordering::SeqCst) {
                shared
                    .flush_cv
                    .wait_for(&mut wanted, Duration::from_millis(500));
            }
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            let aged = {
                let state = shared.state.lock();
                !state.memtable.is_empty()
                    && state.memtable.created().elapsed() >= shared.options.flush_age
            };
            if !*wanted && !aged {
                continue;
            }
            *wanted = false;
        }
        let maintenance = flush(shared)
            .and_then(|_| {
                crate::compaction::compact(shared, shared.options.compact_min_segments, false)
            })
            .and_then(|_| match shared.options.retention {
                Some(ttl) => {
                    let first = crate::retention::first_kept_day(std::time::SystemTime::now(), ttl);
                    crate::retention::drop_before(shared, first)
                }
                None => Ok(0),
            });
        match maintenance {
            Ok(_) => *shared.last_flush_error.lock() = None,
            Err(e) => {
                tracing::error!(error = %e, "background flush failed; the rows stay in the WAL and memtable, retrying");
                *shared.last_flush_error.lock() = Some(e.to_string());
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

/// Flushes the memtable; returns the number of rows written to segments.
pub(super) fn flush(shared: &Shared) -> Result<u64> {
    let Some(wal) = &shared.wal else {
        return Err(Error::ReadOnly("flush"));
    };
    let mut manifest = shared.manifest.lock();
    let started = Instant::now();

    // 1. Freeze: the memtable moves out whole and the WAL rotates, so every row of the frozen
    //    memtable lies in records before `replay_from`, all of them fsynced by the rotation.
    //    The producer marks of those records go into the new manifest with them.
    let (frozen, replay_from, producers) = {
        let mut state = shared.state.lock();
        if state.memtable.is_empty() {
            return Ok(0);
        }
        let replay_from = wal.rotate()?;
        let producers: crate::producer::ProducerMarks = state
            .producers
            .iter()
            .map(|(id, m)| (id.clone(), m.sequence))
            .collect();
        let frozen = Arc::new(std::mem::take(&mut state.memtable));
        let mut version = shared.version.write();
        let mut next = Version::clone(&version);
        next.frozen.push(Arc::clone(&frozen));
        *version = Arc::new(next);
        shared.space_cv.notify_all();
        (frozen, replay_from, producers)
    };

    // 2. One segment per partition, written and fsynced outside every lock but the flush lock,
    //    by up to FLUSH_THREADS threads at once: encoding one partition overlaps the fsync of
    //    another. Ids are assigned in partition order first, so the result does not depend on
    //    which thread wrote what. Crash handled: a crash while several files are half written
    //    leaves several orphans, none in a manifest; the next open deletes them all and replays
    //    their rows from the WAL, exactly as for one.
    let segments_dir = shared.dir.join(SEGMENTS_DIR);
    let mut next_manifest = manifest.clone();
    let mut partitions: Vec<_> = frozen.partitions().collect();
    partitions.sort_by_key(|(k, _)| **k);
    let jobs: Vec<(SegmentId, PartitionKey, &PartitionMemtable)> = partitions
        .into_iter()
        .map(|(key, part)| {
            let id = SegmentId(next_manifest.next_segment_id);
            next_manifest.next_segment_id += 1;
            (id, *key, part)
        })
        .collect();
    let written = write_partitions(shared, &segments_dir, &jobs)?;
    let mut readers = Vec::with_capacity(written.len());
    for (entry, reader) in written {
        next_manifest.segments.push(entry);
        readers.push(reader);
    }
    crate::fsutil::sync_dir(&segments_dir)?;

    // 3. The commit point: the manifest that lists the segments and moves the replay point.
    next_manifest.wal_replay_from = replay_from;
    next_manifest.producers = producers;
    next_manifest.store(&shared.dir, shared.options.crash_hook.as_ref())?;
    *manifest = next_manifest;

    // 4. Queries and dedup now find the rows in segments instead of the frozen memtable.
    {
        let mut version = shared.version.write();
        let mut next = Version::clone(&version);
        for r in readers {
            next.segments.entry(r.partition()).or_default().push(r);
        }
        next.frozen.retain(|m| !Arc::ptr_eq(m, &frozen));
        *version = Arc::new(next);
    }

    // 5. WAL files wholly before the replay point are no longer needed.
    delete_wal_before(shared, replay_from)?;
    let rows = frozen_rows(&frozen);
    shared.counters.flushes.fetch_add(1, Ordering::Relaxed);
    shared.counters.flush_latency.record(started.elapsed());
    let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
    shared
        .counters
        .flush_nanos
        .fetch_add(nanos, Ordering::Relaxed);
    tracing::debug!(
        rows,
        ms = started.elapsed().as_millis() as u64,
        "flushed memtable"
    );
    Ok(rows)
}

/// A segment written by a flush: its manifest entry and its open reader.
type WrittenPartition = (SegmentEntry, Arc<SegmentReader>);

/// Threads writing the segments of one flush.
const FLUSH_THREADS: usize = 2;

/// Writes one segment per job, on up to [`FLUSH_THREADS`] threads; results in job order. On an
/// error, the first failing job's error (files already written are orphans: no manifest lists
/// them).
fn write_partitions(
    shared: &Shared,
    segments_dir: &std::path::Path,
    jobs: &[(SegmentId, PartitionKey, &PartitionMemtable)],
) -> Result<Vec<WrittenPartition>> {
    let write_one = |&(id, key, part): &(SegmentId, PartitionKey, &PartitionMemtable)| {
        let path = segments_dir.join(id.file_name());
        let batch = part.concat();
        let written = write_segment(
            &path,
            key,
            &batch,
            &shared.options.segment,
            shared.options.crash_hook.as_ref(),
        )?;
        drop(batch);
        let reader = Arc::new(SegmentReader::open(&path, id)?);
        Ok((SegmentEntry::written(id, key, &written), reader))
    };
    let threads = FLUSH_THREADS.min(jobs.len());
    if threads <= 1 {
        return jobs.iter().map(write_one).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<Result<WrittenPartition>>> =
        (0..jobs.len()).map(|_| None).collect();
    let done = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(job) = jobs.get(i) else {
                            return mine;
                        };
                        let r = write_one(job);
                        let failed = r.is_err();
                        mine.push((i, r));
                        if failed {
                            // No new job for anyone: the flush fails as a whole.
                            next.store(jobs.len(), Ordering::Relaxed);
                            return mine;
                        }
                    }
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join()).collect::<Vec<_>>()
    });
    for worker in done {
        // A panic in a writer is a bug, not an I/O outcome: raise it here as it was raised.
        let mine = worker.unwrap_or_else(|p| std::panic::resume_unwind(p));
        for (i, r) in mine {
            results[i] = Some(r);
        }
    }
    let mut out = Vec::with_capacity(jobs.len());
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(r) => out.push(r?),
            // Only jobs after a failed one go unclaimed, and that failure was returned above.
            None => {
                return Err(Error::Io {
                    op: "write segment",
                    path: segments_dir.join(jobs[i].0.file_name()),
                    source: std::io::Error::other("not written: an earlier segment failed"),
                });
            }
        }
    }
    Ok(out)
}

fn frozen_rows(m: &Memtable) -> u64 {
    m.rows() as u64
}

/// Deletes every WAL file whose records all precede `replay_from`: a file is wholly before it
/// when the next file starts at or before it.
pub(super) fn delete_wal_before(shared: &Shared, replay_from: u64) -> Result<()> {
    let wal_dir = shared.dir.join(WAL_DIR);
    let files = crate::wal::list_wal_files(&wal_dir)?;
    for pair in files.windows(2) {
        let ((_, path), (next_first, _)) = (&pair[0], &pair[1]);
        if *next_first <= replay_from {
            std::fs::remove_file(path).map_err(|e| Error::Io {
                op: "remove",
                path: path.clone(),
                source: e,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::batch::{EventBatch, EventRef};
    use crate::partition::PartitionKey;
    use crate::schema::EventType;
    use crate::store::{Store, StoreOptions};

    const DAY_MICROS: i64 = 86_400_000_000;

    /// More partitions than flush threads, so several threads write segments at once.
    fn many_partitions() -> (EventBatch, Vec<String>) {
        let ids: Vec<String> = (0..7 * 40 * 3).map(|i| format!("ev-{i:06}")).collect();
        let campaigns: Vec<String> = (0..40).map(|c| format!("cmp-{c}")).collect();
        let mut batch = EventBatch::new();
        for (i, id) in ids.iter().enumerate() {
            let day = (i / 120) as i64;
            let ts = 1_763_000_000_000_000 + day * DAY_MICROS + i as i64;
            let mut e = EventRef::new(id, EventType::Impression, ts, &campaigns[i % 40]);
            e.cost_micros = i as i64;
            batch.push(&e);
        }
        (batch, ids)
    }

    #[test]
    fn a_flush_writes_one_segment_per_partition_in_partition_order() {
        let dir = tempfile::tempdir().unwrap();
        let (batch, ids) = many_partitions();
        let buckets = StoreOptions::default().bucket_count;
        let mut partitions: Vec<PartitionKey> = batch
            .rows()
            .map(|e| PartitionKey::of(e.ts, e.campaign_id, buckets))
            .collect();
        partitions.sort();
        partitions.dedup();
        assert!(partitions.len() > 4 * 4, "{} partitions", partitions.len());
        {
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            assert_eq!(store.append(&batch).unwrap().accepted, ids.len() as u64);
            store.flush().unwrap();
            let snap = store.snapshot();
            assert!(snap.memtable_chunks().is_empty());
            let segments = snap.segments().unwrap();
            let got: Vec<PartitionKey> = segments.iter().map(|s| s.partition()).collect();
            assert_eq!(got, partitions);
            // Ids follow partition order, whichever thread wrote which file.
            assert!(segments.windows(2).all(|w| w[0].id().0 < w[1].id().0));
            assert_eq!(snap.rows(), ids.len() as u64);
            // Dedup finds every row in the segments the threads wrote.
            let again = store.append(&batch).unwrap();
            assert_eq!((again.accepted, again.duplicates), (0, ids.len() as u64));
            store.close().unwrap();
        }
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let snap = store.snapshot();
        assert_eq!(snap.rows(), ids.len() as u64);
        assert_eq!(snap.segment_count(), partitions.len());
        let mut ctx = crate::segment::ReadContext::new().unwrap();
        let mut seen: Vec<String> = Vec::new();
        for s in snap.segments().unwrap() {
            for b in 0..s.footer().block_count {
                if let crate::segment::ColumnData::Strings(col) = s
                    .read_block(crate::schema::ColumnId::EventId, b, &mut ctx)
                    .unwrap()
                {
                    seen.extend(col.iter().map(str::to_owned));
                }
            }
        }
        seen.sort();
        assert_eq!(seen, ids);
    }
}
