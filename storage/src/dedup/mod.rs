//! Exact deduplication of events by event_id within a window of event time.
//!
//! Structure and cost (`docs/FORMAT.md`, "Dedup index"): the index is held in memory only and
//! rebuilt on open from the segments' sorted event-id keys (days inside the window) and the WAL.
//! It maps a 48-bit fingerprint of each event id in the window (xxh3, optionally masked to fewer
//! bits for tests) to the partition holding the event. A fingerprint miss is the fast, certain
//! "new"; a hit is only a "maybe" and is confirmed exactly against that partition's memtable, frozen
//! memtables and segments (per-block bloom filters first, then binary search in the sorted keys),
//! so a distinct event is never dropped, however many fingerprints collide.
//!
//! Why a fingerprint table rather than an in-memory bloom filter: a bloom "maybe" would not say
//! *where* to confirm, so each one would probe every partition of the window; the table says which
//! partition, in one cache miss, for 9 bytes per hashbrown bucket (one `u64` packing fingerprint
//! and partition slot, and one control byte), about 10-21 bytes per event in the window depending
//! on the table's load (it doubles when 7/8 full). [`DedupIndex::memory_bytes`] reports the exact
//! figure.
//!
//! The window: the watermark is the largest event time stored; an event with
//! `ts >= watermark - window` is checked; an older one is stored without a check and counted as
//! `late_unchecked`. Days wholly before the window are evicted.

mod index;

pub use index::{BulkInsert, Candidates, DedupIndex};
