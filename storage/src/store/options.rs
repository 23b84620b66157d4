//! [`StoreOptions`]: how a store is created, flushed and deduplicated.

use std::time::Duration;

use crate::hooks::CrashHook;
use crate::partition::DEFAULT_BUCKET_COUNT;
use crate::schema::MICROS_PER_DAY;
use crate::segment::SegmentOptions;

/// Options of [`super::Store::open`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Campaign buckets per day. Used when the store is created; an existing store keeps the
    /// count recorded in its manifest.
    pub bucket_count: u16,
    /// Dedup window, in µs of event time (default 7 days).
    pub dedup_window_micros: i64,
    /// Bits of the dedup fingerprints (at most 48, kept beside a 16-bit partition slot; tests lower
    /// it to force collisions).
    pub dedup_fingerprint_bits: u32,
    /// Flush when the memtable holds this many rows.
    pub flush_rows: usize,
    /// Flush when the memtable holds this many bytes.
    pub flush_bytes: usize,
    /// Flush when the oldest unflushed row is this old.
    pub flush_age: Duration,
    /// Appends wait for a flush when the memtable grows past this many rows (bounds memory when
    /// segment writing falls behind: at most this many rows in the memtable plus as many in the
    /// one being flushed, about 200 bytes each).
    pub max_memtable_rows: usize,
    /// Compact a partition once it holds this many segments (background, after flushes).
    pub compact_min_segments: usize,
    /// Drop partitions whose UTC day ended longer ago than this (wall clock); `None` keeps all.
    pub retention: Option<Duration>,
    /// Run flushes in a background thread (otherwise only [`super::Store::flush`] flushes).
    pub background_flush: bool,
    /// Compress WAL payloads with zstd (level 1).
    pub wal_compress: bool,
    /// How segments are written.
    pub segment: SegmentOptions,
    /// Test hook run at crash points.
    pub crash_hook: Option<CrashHook>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            bucket_count: DEFAULT_BUCKET_COUNT,
            dedup_window_micros: 7 * MICROS_PER_DAY,
            dedup_fingerprint_bits: 64,
            flush_rows: 1_000_000,
            flush_bytes: 256 << 20,
            flush_age: Duration::from_secs(60),
            max_memtable_rows: 2_000_000,
            compact_min_segments: 8,
            retention: None,
            background_flush: true,
            wal_compress: false,
            segment: SegmentOptions::default(),
            crash_hook: None,
        }
    }
}
