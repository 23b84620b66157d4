//! adstore-storage: the durable core of adstore. It knows nothing of input formats or gRPC.
//!
//! A tour, bottom up (each module's doc names the `docs/FORMAT.md` section it implements):
//! - [`schema`]: the event table's columns ([`ColumnId`], [`EventType`]), defined once, versioned.
//! - [`batch`]: [`EventBatch`], the columnar batch every append carries.
//! - [`codec`]: pure block encodings (bit-packing, delta/zigzag, dictionary codes, strings,
//!   booleans) and the zstd block compressor. FORMAT.md "Block encodings".
//! - [`bloom`]: split-block bloom filters, read in place from segment footers. FORMAT.md "Bloom filter".
//! - [`framing`]: the CRC-framed record header shared by WAL and dead-letter files.
//! - [`wal`]: CRC-framed WAL records, group commit, replay with torn-tail truncation. FORMAT.md "WAL".
//! - [`memtable`]: unflushed rows per partition as immutable chunks.
//! - [`segment`]: immutable columnar segment files, written sorted and read via mmap. FORMAT.md
//!   "Segment file".
//! - [`partition`]: UTC day × campaign bucket.
//! - [`manifest`]: the live segment list and WAL replay point, replaced atomically. FORMAT.md "Manifest".
//! - `compaction`: merges a partition's small segments into one.
//! - [`retention`]: drops partitions past their TTL.
//! - [`dedup`]: the exact dedup index over the window. FORMAT.md "Dedup index".
//! - [`lock`]: one writer process per data directory.
//! - [`producer`]: per-producer sequence marks for exactly-once appends, durable in the WAL
//!   record and the manifest. FORMAT.md "Producer marks".
//! - [`store`]: [`Store`]: open/recover, append, flush, snapshot, stats.
//! - [`snapshot`]: [`Snapshot`] and the pruned [`ScanUnit`]s the query crate scans.
//! - [`hooks`]: crash points for crash tests.
//! - [`histogram`]: lock-free latency histograms (WAL fsync, flush) for metrics.
//! - `prefetch`: software prefetch, so that the cache misses of reads known ahead overlap.

#![warn(missing_docs)]

pub mod batch;
pub mod bloom;
pub mod codec;
mod compaction;
pub mod dedup;
pub mod error;
pub mod framing;
mod fsutil;
pub mod histogram;
pub mod hooks;
pub mod lock;
pub mod manifest;
pub mod memtable;
pub mod partition;
mod prefetch;
pub mod producer;
pub mod retention;
pub mod schema;
pub mod segment;
pub mod snapshot;
pub mod store;
pub mod wal;

pub use batch::{Event, EventBatch, EventRef, StringColumn};
pub use error::{Error, Result};
pub use partition::PartitionKey;
pub use producer::ProducerAppend;
pub use schema::{COLUMN_COUNT, ColumnId, ColumnKind, EventType, TimestampMicros};
pub use segment::{BlockMeta, ColumnData, MAX_STREAMED_INTS, ReadContext, SegmentReader};
pub use snapshot::{ScanFilter, ScanUnit, Snapshot};
pub use store::{AppendOutcome, LatencyHistograms, Store, StoreOptions, StoreStats};
