//! The memtable: acknowledged rows not yet in a segment, per partition, as immutable chunks.
//!
//! Each append adds one chunk per partition it touches, tagged with its WAL LSN; chunks are
//! `Arc`s, so a query snapshot is a list of pointers, never a copy, and sees a chunk only once its
//! LSN is durable (an event is visible to queries once acknowledged, not before). Each partition
//! keeps a hash table of its event ids for exact dedup confirmation. On flush the whole memtable
//! is frozen (moved out whole, in O(1)) and written partition by partition, while appends go on
//! into a fresh one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use hashbrown::HashTable;

use crate::batch::EventBatch;
use crate::partition::PartitionKey;
use crate::wal::Lsn;

/// The full 64-bit hash of an event id used by memtable id tables (xxh3).
pub fn event_id_hash(event_id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(event_id.as_bytes())
}

/// One append's rows for one partition.
#[derive(Debug, Clone)]
pub struct MemChunk {
    /// The WAL record holding these rows.
    pub lsn: Lsn,
    /// The rows.
    pub batch: Arc<EventBatch>,
}

/// One partition's unflushed rows.
#[derive(Debug, Default)]
pub struct PartitionMemtable {
    chunks: Vec<MemChunk>,
    ids: HashTable<(u32, u32)>,
    rows: usize,
}

impl PartitionMemtable {
    /// The chunks, oldest first.
    pub fn chunks(&self) -> &[MemChunk] {
        &self.chunks
    }

    /// Rows held.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether `event_id` (whose [`event_id_hash`] is `hash`) is held: exact.
    pub fn contains(&self, event_id: &str, hash: u64) -> bool {
        self.ids
            .find(hash, |&(c, r)| {
                self.chunks[c as usize].batch.event_id.get(r as usize) == event_id
            })
            .is_some()
    }

    /// All rows as one batch (for writing a segment).
    pub fn concat(&self) -> EventBatch {
        let mut out = EventBatch::with_capacity(self.rows);
        for c in &self.chunks {
            out.extend_from(&c.batch);
        }
        out
    }

    fn insert(&mut self, lsn: Lsn, batch: EventBatch, hashes: &[u64]) {
        let chunk_index = u32::try_from(self.chunks.len()).unwrap_or(u32::MAX);
        self.ids.reserve(batch.len(), |&(c, r)| {
            event_id_hash(self.chunks[c as usize].batch.event_id.get(r as usize))
        });
        for (row, &hash) in hashes.iter().enumerate() {
            let row = u32::try_from(row).unwrap_or(u32::MAX);
            // Capacity was reserved above, so the hasher is never called here; it is still
            // correct (it would need the new chunk, which is not pushed yet, hence the reserve).
            self.ids.insert_unique(hash, (chunk_index, row), |_| hash);
        }
        self.rows += batch.len();
        self.chunks.push(MemChunk {
            lsn,
            batch: Arc::new(batch),
        });
    }
}

/// Unflushed rows of every partition.
#[derive(Debug)]
pub struct Memtable {
    partitions: HashMap<PartitionKey, PartitionMemtable>,
    rows: usize,
    bytes: usize,
    created: Instant,
    first_lsn: Option<Lsn>,
}

impl Default for Memtable {
    fn default() -> Self {
        Memtable {
            partitions: HashMap::new(),
            rows: 0,
            bytes: 0,
            created: Instant::now(),
            first_lsn: None,
        }
    }
}

impl Memtable {
    /// Adds one append's rows for `partition`; `hashes[i]` is [`event_id_hash`] of row i.
    pub fn insert(&mut self, partition: PartitionKey, lsn: Lsn, batch: EventBatch, hashes: &[u64]) {
        if self.rows == 0 {
            self.created = Instant::now();
        }
        self.first_lsn.get_or_insert(lsn);
        self.rows += batch.len();
        self.bytes += batch.heap_bytes() + batch.len() * 9;
        self.partitions
            .entry(partition)
            .or_default()
            .insert(lsn, batch, hashes);
    }

    /// The partition's rows, if any.
    pub fn partition(&self, key: &PartitionKey) -> Option<&PartitionMemtable> {
        self.partitions.get(key)
    }

    /// Every partition.
    pub fn partitions(&self) -> impl Iterator<Item = (&PartitionKey, &PartitionMemtable)> {
        self.partitions.iter()
    }

    /// Rows held.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Approximate bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// When the oldest row still held was added.
    pub fn created(&self) -> Instant {
        self.created
    }

    /// Chunks visible at `durable_lsn`, with their partition.
    pub fn visible_chunks(&self, durable_lsn: Lsn) -> Vec<(PartitionKey, Arc<EventBatch>)> {
        let mut out = Vec::new();
        for (key, p) in &self.partitions {
            for c in p.chunks.iter().filter(|c| c.lsn <= durable_lsn) {
                out.push((*key, Arc::clone(&c.batch)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::EventRef;
    use crate::schema::EventType;

    #[test]
    fn contains_is_exact_and_chunks_respect_durability() {
        let mut m = Memtable::default();
        let p = PartitionKey { day: 1, bucket: 0 };
        let batch = EventBatch::from_events([
            EventRef::new("a", EventType::Click, 1, "c"),
            EventRef::new("b", EventType::Click, 2, "c"),
        ]);
        let hashes: Vec<u64> = batch.event_id.iter().map(event_id_hash).collect();
        m.insert(p, 5, batch, &hashes);
        let second = EventBatch::from_events([EventRef::new("z", EventType::Click, 2, "c")]);
        m.insert(p, 6, second, &[event_id_hash("z")]);
        let part = m.partition(&p).unwrap();
        assert!(part.contains("a", event_id_hash("a")));
        assert!(part.contains("z", event_id_hash("z")));
        // Same hash, different id: a collision is not a match.
        assert!(!part.contains("c", event_id_hash("a")));
        assert_eq!(m.visible_chunks(5).len(), 1);
        assert_eq!(m.visible_chunks(6).len(), 2);
        assert_eq!(part.concat().len(), 3);
    }
}
