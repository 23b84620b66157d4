//! [`Store`]: the storage engine's front door: open (recovery), append, flush, snapshot, stats.
//!
//! - `options`: [`StoreOptions`].
//! - `open`: startup = manifest + orphan clean-up + WAL replay + dedup index rebuild; the
//!   read-only variant that never modifies the directory.
//! - `append`: dedup → WAL (group commit) → memtable; returns once the batch is durable.
//! - `flush`: freeze the memtable, write one segment per partition, replace the manifest,
//!   delete WAL files whose rows are all in segments.
//!
//! Data directory layout (`docs/FORMAT.md`, "Data directory"):
//! `LOCK`, `MANIFEST`, `wal/<first-lsn>.wal`, `segments/<id>.seg`.

mod append;
mod flush;
mod open;
pub mod options;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex, RwLock};

pub use append::AppendOutcome;
pub use options::StoreOptions;

use crate::dedup::DedupIndex;
use crate::lock::WriterLock;
use crate::manifest::Manifest;
use crate::memtable::Memtable;
use crate::partition::PartitionKey;
use crate::segment::{LazySegment, SegmentReader};
use crate::snapshot::Snapshot;
use crate::wal::WalWriter;

/// Name of the WAL folder in a data directory.
pub const WAL_DIR: &str = "wal";
/// Name of the segment folder in a data directory.
pub const SEGMENTS_DIR: &str = "segments";

/// Live segments and frozen memtables: swapped whole, so a reader sees a flush entirely or not.
#[derive(Debug, Default, Clone)]
pub(crate) struct Version {
    pub(crate) segments: BTreeMap<PartitionKey, Vec<Arc<SegmentReader>>>,
    pub(crate) frozen: Vec<Arc<Memtable>>,
}

/// What the write lock protects.
#[derive(Debug)]
pub(crate) struct WriteState {
    pub(crate) memtable: Memtable,
    pub(crate) dedup: DedupIndex,
    /// Producer marks of every record written (durable or about to be).
    pub(crate) producers: std::collections::HashMap<String, crate::producer::LiveMark>,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) accepted: AtomicU64,
    pub(crate) duplicates: AtomicU64,
    pub(crate) late_unchecked: AtomicU64,
    pub(crate) flushes: AtomicU64,
    pub(crate) flush_nanos: AtomicU64,
    pub(crate) flush_latency: crate::histogram::LatencyHistogram,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) dir: PathBuf,
    pub(crate) options: StoreOptions,
    pub(crate) bucket_count: u16,
    pub(crate) read_only: bool,
    pub(crate) state: Mutex<WriteState>,
    pub(crate) version: RwLock<Arc<Version>>,
    pub(crate) wal: Option<WalWriter>,
    /// The current manifest; holding this lock is holding the right to flush.
    pub(crate) manifest: Mutex<Manifest>,
    pub(crate) flush_wanted: Mutex<bool>,
    pub(crate) flush_cv: Condvar,
    pub(crate) space_cv: Condvar,
    pub(crate) stop: AtomicBool,
    pub(crate) counters: Counters,
    pub(crate) last_flush_error: Mutex<Option<String>>,
    /// A read-only store's segments, opened on first use; empty for a writer, whose segments
    /// are all open in `version`.
    pub(crate) lazy_segments: Vec<Arc<LazySegment>>,
}

/// An open adstore data directory.
#[derive(Debug)]
pub struct Store {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
    _lock: Option<WriterLock>,
}

/// Figures about a store, for `Stats`, metrics and `inspect`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Rows in segments.
    pub segment_rows: u64,
    /// Live segments.
    pub segments: usize,
    /// Bytes of live segment files.
    pub segment_bytes: u64,
    /// Rows in the memtable (active and frozen).
    pub memtable_rows: u64,
    /// Bytes of WAL files.
    pub wal_bytes: u64,
    /// Fingerprints in the dedup index.
    pub dedup_entries: u64,
    /// Heap bytes of the dedup index.
    pub dedup_memory_bytes: u64,
    /// Rows accepted since open.
    pub accepted: u64,
    /// Duplicates dropped since open.
    pub duplicates: u64,
    /// Rows older than the dedup window, stored unchecked, since open.
    pub late_unchecked: u64,
    /// Flushes since open.
    pub flushes: u64,
    /// WAL fsyncs since open.
    pub wal_fsyncs: u64,
    /// Per partition: (partition, rows, segments, bytes).
    pub partitions: Vec<(PartitionKey, u64, usize, u64)>,
}

/// Latency histograms of a store (see [`Store::latency_histograms`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LatencyHistograms {
    /// WAL fsync durations.
    pub wal_fsync: crate::histogram::HistogramSnapshot,
    /// Flush durations (freeze to manifest and WAL clean-up).
    pub flush: crate::histogram::HistogramSnapshot,
}

impl Store {
    /// Opens (or creates) the store in `dir` for writing, taking its writer lock.
    pub fn open(dir: impl AsRef<Path>, options: StoreOptions) -> crate::Result<Store> {
        let (shared, lock) = open::open_writer(dir.as_ref(), options)?;
        let shared = Arc::new(shared);
        let flusher = if shared.options.background_flush {
            let s = Arc::clone(&shared);
            Some(
                std::thread::Builder::new()
                    .name("adstore-flush".into())
                    .spawn(move || flush::flusher_loop(&s))
                    .map_err(|e| crate::Error::Io {
                        op: "spawn flusher",
                        path: dir.as_ref().to_path_buf(),
                        source: e,
                    })?,
            )
        } else {
            None
        };
        Ok(Store {
            shared,
            flusher,
            _lock: Some(lock),
        })
    }

    /// Opens an existing store read-only: no lock, no file created, changed or removed. Sees every
    /// event acknowledged before the call (segments and WAL). Segments are listed, not opened:
    /// each is mapped and checked by the first plan that keeps it (`segment::lazy`), so a plan
    /// can fail with [`crate::Error::StaleSnapshot`] when a writer merged a segment away since:
    /// open again.
    pub fn open_read_only(dir: impl AsRef<Path>) -> crate::Result<Store> {
        let shared = open::open_read_only(dir.as_ref())?;
        Ok(Store {
            shared: Arc::new(shared),
            flusher: None,
            _lock: None,
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Campaign buckets per day.
    pub fn bucket_count(&self) -> u16 {
        self.shared.bucket_count
    }

    /// Appends a batch: duplicates dropped, the rest logged, fsynced and visible. Returns once the
    /// accepted rows are durable.
    pub fn append(&self, batch: &crate::EventBatch) -> crate::Result<AppendOutcome> {
        append::append(&self.shared, batch)
    }

    /// Appends a batch at most once per (`producer`, `sequence`): when `sequence` is above the
    /// producer's high-water mark, the batch is appended as by [`Store::append`] and the mark,
    /// written in the same WAL record, moves to `sequence`; otherwise nothing is appended and
    /// the call returns once the record that set the mark is durable. An empty batch still moves
    /// the mark. Marks survive restarts (WAL replay, then the manifest after a flush).
    pub fn append_with_producer(
        &self,
        batch: &crate::EventBatch,
        producer: &str,
        sequence: u64,
    ) -> crate::Result<crate::producer::ProducerAppend> {
        append::append_with_producer(&self.shared, batch, producer, sequence)
    }

    /// The highest sequence applied for `producer`, if any request of it was.
    pub fn producer_high_water(&self, producer: &str) -> Option<u64> {
        self.shared
            .state
            .lock()
            .producers
            .get(producer)
            .map(|m| m.sequence)
    }

    /// Writes every acknowledged row to segments now.
    pub fn flush(&self) -> crate::Result<()> {
        flush::flush(&self.shared).map(|_| ())
    }

    /// Merges the segments of every partition holding at least
    /// [`StoreOptions::compact_min_segments`] of them; returns how many segments were merged away.
    pub fn compact(&self) -> crate::Result<usize> {
        if self.shared.read_only {
            return Err(crate::Error::ReadOnly("compact"));
        }
        crate::compaction::compact(
            &self.shared,
            self.shared.options.compact_min_segments,
            false,
        )
    }

    /// Merges the segments of every partition holding two or more into one segment (as
    /// ClickHouse's `OPTIMIZE TABLE ... FINAL` merges parts): after a bulk load, queries then
    /// plan, open and scan one segment per partition; a lone segment of an older format
    /// version is rewritten in the current one. Returns how many segments were replaced. Each
    /// partition is held in memory while it is merged.
    pub fn compact_all(&self) -> crate::Result<usize> {
        if self.shared.read_only {
            return Err(crate::Error::ReadOnly("compact"));
        }
        crate::compaction::compact(&self.shared, 2, true)
    }

    /// Drops every partition of a UTC day before `first_kept_day` (days since the epoch); returns
    /// the number of segments dropped. [`StoreOptions::retention`] runs this in the background.
    pub fn drop_days_before(&self, first_kept_day: i32) -> crate::Result<usize> {
        if self.shared.read_only {
            return Err(crate::Error::ReadOnly("retention"));
        }
        crate::retention::drop_before(&self.shared, first_kept_day)
    }

    /// A consistent view for queries: segments, frozen and active memtable chunks (acknowledged
    /// rows only).
    pub fn snapshot(&self) -> Snapshot {
        let state = self.shared.state.lock();
        let version = Arc::clone(&self.shared.version.read());
        let durable = self
            .shared
            .wal
            .as_ref()
            .map_or(u64::MAX, WalWriter::synced_lsn);
        let mut chunks = Vec::new();
        for frozen in &version.frozen {
            chunks.extend(frozen.visible_chunks(u64::MAX));
        }
        chunks.extend(state.memtable.visible_chunks(durable));
        drop(state);
        let segments = version.segments.values().flatten().cloned().collect();
        Snapshot::new(segments, chunks, self.shared.bucket_count)
            .with_lazy_segments(self.shared.lazy_segments.clone())
    }

    /// Current figures.
    pub fn stats(&self) -> StoreStats {
        let shared = &self.shared;
        let (memtable_rows, dedup_entries, dedup_memory) = {
            let s = shared.state.lock();
            (
                s.memtable.rows() as u64,
                s.dedup.len() as u64,
                s.dedup.memory_bytes() as u64,
            )
        };
        let version = Arc::clone(&shared.version.read());
        let frozen_rows: u64 = version.frozen.iter().map(|m| m.rows() as u64).sum();
        let mut stats = StoreStats {
            memtable_rows: memtable_rows + frozen_rows,
            dedup_entries,
            dedup_memory_bytes: dedup_memory,
            accepted: shared.counters.accepted.load(Ordering::Relaxed),
            duplicates: shared.counters.duplicates.load(Ordering::Relaxed),
            late_unchecked: shared.counters.late_unchecked.load(Ordering::Relaxed),
            flushes: shared.counters.flushes.load(Ordering::Relaxed),
            wal_fsyncs: shared.wal.as_ref().map_or(0, |w| w.fsync_stats().0),
            ..StoreStats::default()
        };
        // (rows, segments, bytes) per partition.
        let mut partitions: BTreeMap<PartitionKey, (u64, usize, u64)> = BTreeMap::new();
        for (key, segs) in &version.segments {
            let p = partitions.entry(*key).or_default();
            for s in segs {
                *p = (p.0 + s.rows(), p.1 + 1, p.2 + s.file_len());
            }
        }
        for s in &shared.lazy_segments {
            let p = partitions.entry(s.partition()).or_default();
            *p = (p.0 + s.rows(), p.1 + 1, p.2 + s.bytes());
        }
        for (key, (rows, segments, bytes)) in partitions {
            stats.segment_rows += rows;
            stats.segments += segments;
            stats.segment_bytes += bytes;
            stats.partitions.push((key, rows, segments, bytes));
        }
        if let Ok(files) = crate::wal::list_wal_files(&shared.dir.join(WAL_DIR)) {
            stats.wal_bytes = files
                .iter()
                .filter_map(|(_, p)| std::fs::metadata(p).ok())
                .map(|m| m.len())
                .sum();
        }
        stats
    }

    /// Latencies of every WAL fsync and every flush since open, for metrics.
    pub fn latency_histograms(&self) -> LatencyHistograms {
        LatencyHistograms {
            wal_fsync: self
                .shared
                .wal
                .as_ref()
                .map(WalWriter::fsync_histogram)
                .unwrap_or_default(),
            flush: self.shared.counters.flush_latency.snapshot(),
        }
    }

    /// The last background flush error, if the latest flush failed.
    pub fn last_flush_error(&self) -> Option<String> {
        self.shared.last_flush_error.lock().clone()
    }

    /// Flushes what is in memory (when writable) and stops the background flusher.
    pub fn close(mut self) -> crate::Result<()> {
        self.stop_flusher();
        if !self.shared.read_only {
            flush::flush(&self.shared)?;
        }
        Ok(())
    }

    fn stop_flusher(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        {
            let mut wanted = self.shared.flush_wanted.lock();
            *wanted = true;
            self.shared.flush_cv.notify_all();
        }
        if let Some(handle) = self.flusher.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // No flush here: the WAL already holds every acknowledged row, and a drop during a panic
        // should not start disk work. `close` flushes.
        self.stop_flusher();
    }
}
