//! [`DedupIndex`]: fingerprint → partition, bounded by the window.
//!
//! Each entry is one `u64`: the fingerprint in the high 48 bits, the partition slot (an index
//! into `partitions`, or [`MULTI`]) in the low 16, in a `hashbrown::HashTable`: 8 bytes and one
//! control byte per bucket, half of a `(u64, u32)` map's padded 17. 48 bits leave the chance
//! that a new id shares a fingerprint with one of `n` stored ids at `n / 2^48` (4e-8 for 10M ids),
//! and a shared fingerprint only costs an exact check, never an answer.

use std::collections::HashMap;

use hashbrown::HashTable;

use crate::partition::PartitionKey;
use crate::schema::{TimestampMicros, day_of};

/// Bits of an entry holding the partition slot.
const SLOT_BITS: u32 = 16;
/// A slot value meaning "several partitions hold events with this fingerprint". Also the slot of
/// any partition past the first `MULTI` ones (after about 11 years of 16-bucket days), which
/// then costs a probe of every partition on a fingerprint hit, never a wrong answer.
const MULTI: u64 = (1 << SLOT_BITS) - 1;
/// Bits of the fingerprint kept in an entry.
const FINGERPRINT_BITS: u32 = 64 - SLOT_BITS;

/// Where an event id with a given fingerprint may already be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates {
    /// Only in this partition.
    One(PartitionKey),
    /// Possibly in any partition of the window (fingerprints of events in different partitions
    /// collided, or an id was stored in two partitions as a late event).
    Any,
}

/// The in-memory fingerprint table. See the module doc of [`crate::dedup`].
#[derive(Debug)]
pub struct DedupIndex {
    /// Entries `fingerprint << SLOT_BITS | slot`.
    table: HashTable<u64>,
    partitions: Vec<PartitionKey>,
    slots: HashMap<PartitionKey, u64>,
    mask: u64,
    window: i64,
    watermark: Option<TimestampMicros>,
    evicted_before_day: i32,
}

/// The table hash of a fingerprint: spread, because hashbrown takes its control bits from the
/// top 7 bits, which a narrow (test) fingerprint leaves zero.
fn table_hash(fp: u64) -> u64 {
    fp.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

fn entry_fingerprint(entry: u64) -> u64 {
    entry >> SLOT_BITS
}

/// Batches of at least this many entries are inserted in bucket order.
const IN_BUCKET_ORDER_MIN: usize = 4096;

/// The bits of a bucket index [`sort_by_bucket`] orders by: two 8-bit radix passes.
const ORDER_BITS: u32 = 16;

/// Sorts entries by the top [`ORDER_BITS`] bits of the bucket their fingerprint's probe starts
/// at in a table of `2^bucket_bits` buckets (hashbrown starts at the low bits of the hash):
/// inserts in this order walk the table from its start to its end.
fn sort_by_bucket(entries: &mut Vec<u64>, bucket_bits: u32) {
    let bucket_bits = bucket_bits.clamp(1, 63);
    let key = |entry: u64| -> usize {
        let bucket = table_hash(entry_fingerprint(entry)) & ((1u64 << bucket_bits) - 1);
        // The bucket's top ORDER_BITS bits (all of them, shifted up, in a smaller table).
        ((bucket << (64 - bucket_bits)) >> (64 - ORDER_BITS)) as usize
    };
    let mut tmp = vec![0u64; entries.len()];
    for pass in 0..ORDER_BITS / 8 {
        let digit = |entry: u64| (key(entry) >> (8 * pass)) & 0xff;
        let mut starts = [0usize; 256];
        for &e in entries.iter() {
            starts[digit(e)] += 1;
        }
        let mut at = 0;
        for s in &mut starts {
            (*s, at) = (at, at + *s);
        }
        for &e in entries.iter() {
            let d = digit(e);
            tmp[starts[d]] = e;
            starts[d] += 1;
        }
        std::mem::swap(entries, &mut tmp);
    }
}

impl DedupIndex {
    /// An empty index with a window of `window_micros` and fingerprints of `fingerprint_bits`
    /// (1..=48; fewer bits mean more collisions, i.e. more confirmations, never wrong answers).
    pub fn new(window_micros: i64, fingerprint_bits: u32) -> DedupIndex {
        let bits = fingerprint_bits.clamp(1, FINGERPRINT_BITS);
        DedupIndex {
            table: HashTable::new(),
            partitions: Vec::new(),
            slots: HashMap::new(),
            mask: (1u64 << bits) - 1,
            window: window_micros.max(0),
            watermark: None,
            evicted_before_day: i32::MIN,
        }
    }

    /// The fingerprint of an id whose full xxh3 hash is `hash`.
    pub fn fingerprint(&self, hash: u64) -> u64 {
        hash & self.mask
    }

    /// Whether an event at `ts` is inside the window (and so must be checked).
    pub fn in_window(&self, ts: TimestampMicros) -> bool {
        match self.watermark {
            None => true,
            Some(w) => ts >= w.saturating_sub(self.window),
        }
    }

    /// Where an event with fingerprint `fp` may be; `None` means certainly not stored.
    pub fn candidates(&self, fp: u64) -> Option<Candidates> {
        self.table
            .find(table_hash(fp), |&e| entry_fingerprint(e) == fp)
            .map(|&e| match e & MULTI {
                MULTI => Candidates::Any,
                s => Candidates::One(self.partitions[s as usize]),
            })
    }

    /// Records that an event with fingerprint `fp` is stored in `partition`.
    pub fn insert(&mut self, fp: u64, partition: PartitionKey) {
        let slot = self.slot_of(partition);
        self.insert_in_slot(fp, slot);
    }

    /// Records that events with the fingerprints of `hashes` (full xxh3 hashes, as given to
    /// [`DedupIndex::fingerprint`]) are stored in `partition`: [`DedupIndex::insert`] for each,
    /// with the partition looked up once and the table grown once (a [`BulkInsert`] of one
    /// partition when the batch is large enough to sort).
    pub fn insert_hashes(&mut self, hashes: &[u64], partition: PartitionKey) {
        if hashes.len() < IN_BUCKET_ORDER_MIN {
            // An append's batch of one partition (a few hundred ids): straight in, without
            // the entries a bulk insert would collect and sort first.
            let slot = self.slot_of(partition);
            self.table
                .reserve(hashes.len(), |&e| table_hash(entry_fingerprint(e)));
            for &h in hashes {
                self.insert_in_slot(h & self.mask, slot);
            }
            return;
        }
        let mut bulk = self.bulk(hashes.len());
        bulk.add(hashes, partition);
        bulk.finish();
    }

    /// A [`BulkInsert`] of about `expected` ids: the table grows to hold them now, not
    /// doubling on the way (each doubling re-inserts every entry, in random order).
    pub fn bulk(&mut self, expected: usize) -> BulkInsert<'_> {
        self.table
            .reserve(expected, |&e| table_hash(entry_fingerprint(e)));
        BulkInsert {
            index: self,
            entries: Vec::new(),
        }
    }

    /// Log2 of the table's bucket count: hashbrown keeps 1/8 of its (power of two) buckets
    /// free, so its capacity is 7/8 of them. Only the insert order depends on it.
    fn bucket_bits(&self) -> u32 {
        let buckets = (self.table.capacity() / 7 * 8).max(1);
        buckets.next_power_of_two().trailing_zeros()
    }

    fn slot_of(&mut self, partition: PartitionKey) -> u64 {
        match self.slots.get(&partition) {
            Some(&s) => s,
            None => {
                let s = (self.partitions.len() as u64).min(MULTI);
                self.partitions.push(partition);
                self.slots.insert(partition, s);
                s
            }
        }
    }

    fn insert_in_slot(&mut self, fp: u64, slot: u64) {
        let entry = self.table.entry(
            table_hash(fp),
            |&e| entry_fingerprint(e) == fp,
            |&e| table_hash(entry_fingerprint(e)),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(mut o) => {
                let e = o.get_mut();
                if *e & MULTI != slot {
                    *e |= MULTI;
                }
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert((fp << SLOT_BITS) | slot);
            }
        }
    }

    /// Moves the watermark to `ts` if later, evicting days that fell out of the window.
    pub fn advance(&mut self, ts: TimestampMicros) {
        if self.watermark.is_some_and(|w| w >= ts) {
            return;
        }
        self.watermark = Some(ts);
        let cutoff_day = day_of(ts.saturating_sub(self.window));
        if cutoff_day > self.evicted_before_day {
            self.evicted_before_day = cutoff_day;
            let keep: Vec<bool> = self
                .partitions
                .iter()
                .map(|p| p.day >= cutoff_day)
                .collect();
            if keep.iter().any(|k| !k) {
                self.table.retain(|e| {
                    let slot = *e & MULTI;
                    slot == MULTI || keep[slot as usize]
                });
            }
        }
    }

    /// The first day still indexed.
    pub fn first_indexed_day(&self) -> i32 {
        self.evicted_before_day
    }

    /// Partitions of days still indexed (what [`Candidates::Any`] means).
    pub fn indexed_partitions(&self) -> impl Iterator<Item = PartitionKey> + '_ {
        self.partitions
            .iter()
            .copied()
            .filter(|p| p.day >= self.evicted_before_day)
    }

    /// Fingerprints held.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Heap bytes of the table: one 8-byte entry plus one control byte per bucket.
    pub fn memory_bytes(&self) -> usize {
        self.table.capacity() * 8 / 7 * (8 + 1) + self.partitions.len() * 32
    }
}

/// Ids of one or many partitions inserted together ([`DedupIndex::bulk`]), in the order of the
/// buckets their fingerprints land in: one random insert into a table larger than the caches
/// costs a cache miss and, past a few megabytes, a TLB miss; in bucket order, neighbouring
/// inserts share pages and lines. Rebuilding the index from the segments on open (every id
/// of the window, ~1 s per 10M ids in random order) is what this is for.
#[derive(Debug)]
#[must_use = "entries wait until `finish`"]
pub struct BulkInsert<'a> {
    index: &'a mut DedupIndex,
    /// Entries (`fingerprint << SLOT_BITS | slot`) not yet in the table.
    entries: Vec<u64>,
}

/// Entries a [`BulkInsert`] holds before it inserts them: 32 MiB, enough that neighbouring
/// inserts into a table of tens of millions of buckets fall a few buckets apart.
const BULK_BATCH: usize = 1 << 22;

impl BulkInsert<'_> {
    /// Records that events with the fingerprints of `hashes` (full xxh3 hashes) are stored in
    /// `partition`.
    pub fn add(&mut self, hashes: &[u64], partition: PartitionKey) {
        let slot = self.index.slot_of(partition);
        let mask = self.index.mask;
        self.entries
            .extend(hashes.iter().map(|&h| ((h & mask) << SLOT_BITS) | slot));
        if self.entries.len() >= BULK_BATCH {
            self.insert_entries();
        }
    }

    /// Inserts what is left.
    pub fn finish(mut self) {
        self.insert_entries();
    }

    fn insert_entries(&mut self) {
        let index = &mut *self.index;
        index
            .table
            .reserve(self.entries.len(), |&e| table_hash(entry_fingerprint(e)));
        if self.entries.len() >= IN_BUCKET_ORDER_MIN {
            sort_by_bucket(&mut self.entries, index.bucket_bits());
        }
        for e in self.entries.drain(..) {
            index.insert_in_slot(entry_fingerprint(e), e & MULTI);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::MICROS_PER_DAY;

    #[test]
    fn collisions_across_partitions_widen_to_any() {
        let mut idx = DedupIndex::new(7 * MICROS_PER_DAY, 64);
        let a = PartitionKey { day: 10, bucket: 1 };
        let b = PartitionKey { day: 10, bucket: 2 };
        idx.insert(42, a);
        assert_eq!(idx.candidates(42), Some(Candidates::One(a)));
        idx.insert(42, a);
        assert_eq!(idx.candidates(42), Some(Candidates::One(a)));
        idx.insert(42, b);
        assert_eq!(idx.candidates(42), Some(Candidates::Any));
        assert_eq!(idx.candidates(43), None);
    }

    #[test]
    fn window_and_eviction_follow_the_watermark() {
        let mut idx = DedupIndex::new(7 * MICROS_PER_DAY, 64);
        let old = PartitionKey { day: 1, bucket: 0 };
        idx.insert(1, old);
        idx.advance(2 * MICROS_PER_DAY);
        assert!(idx.in_window(MICROS_PER_DAY));
        idx.advance(20 * MICROS_PER_DAY);
        assert!(!idx.in_window(12 * MICROS_PER_DAY));
        assert!(idx.in_window(13 * MICROS_PER_DAY));
        assert_eq!(idx.candidates(1), None, "day 1 left the window");
        assert!(idx.memory_bytes() > 0 || idx.is_empty());
    }

    #[test]
    fn narrow_fingerprints_collide() {
        let idx = DedupIndex::new(1, 4);
        assert_eq!(idx.fingerprint(0xFFFF), 0xF);
        let wide = DedupIndex::new(1, 64);
        assert_eq!(wide.fingerprint(u64::MAX), (1 << FINGERPRINT_BITS) - 1);
    }

    #[test]
    fn many_partitions_and_fingerprints_are_kept_apart() {
        let mut idx = DedupIndex::new(i64::MAX, 64);
        let parts: Vec<PartitionKey> = (0..300)
            .map(|i| PartitionKey {
                day: i / 16,
                bucket: (i % 16) as u16,
            })
            .collect();
        for fp in 0..20_000u64 {
            idx.insert(fp * 7919, parts[(fp % 300) as usize]);
        }
        assert_eq!(idx.len(), 20_000);
        for fp in 0..20_000u64 {
            assert_eq!(
                idx.candidates(fp * 7919),
                Some(Candidates::One(parts[(fp % 300) as usize]))
            );
        }
        assert_eq!(idx.candidates(1), None);
        // About 9 bytes a bucket: well under the 17 of a (u64, u32) map.
        assert!(idx.memory_bytes() < 20_000 * 16, "{}", idx.memory_bytes());
    }

    #[test]
    fn a_bulk_insert_answers_as_one_insert_at_a_time() {
        // Batches past the bucket-order threshold and below it, repeats within and across
        // partitions, narrow fingerprints that collide, more entries than the table reserved.
        for bits in [64, 14] {
            let parts: Vec<PartitionKey> =
                (0..5).map(|i| PartitionKey { day: 3, bucket: i }).collect();
            let batches: Vec<(PartitionKey, Vec<u64>)> = (0..12u64)
                .map(|i| {
                    let len = if i % 3 == 0 { 100 } else { 9_000 };
                    let hashes = (0..len)
                        .map(|j| {
                            crate::memtable::event_id_hash(&format!(
                                "e-{}",
                                (i * 5_000 + j) % 40_000
                            ))
                        })
                        .collect();
                    (parts[(i % 5) as usize], hashes)
                })
                .collect();
            let mut one_by_one = DedupIndex::new(i64::MAX, bits);
            for (key, hashes) in &batches {
                for &h in hashes {
                    one_by_one.insert(one_by_one.fingerprint(h), *key);
                }
            }
            let mut bulk_index = DedupIndex::new(i64::MAX, bits);
            let mut bulk = bulk_index.bulk(1_000);
            for (key, hashes) in &batches {
                bulk.add(hashes, *key);
            }
            bulk.finish();
            let mut per_partition = DedupIndex::new(i64::MAX, bits);
            for (key, hashes) in &batches {
                per_partition.insert_hashes(hashes, *key);
            }
            assert_eq!(bulk_index.len(), one_by_one.len());
            assert_eq!(per_partition.len(), one_by_one.len());
            let mut multi = 0;
            for j in 0..45_000u64 {
                let fp = one_by_one.fingerprint(crate::memtable::event_id_hash(&format!("e-{j}")));
                let expected = one_by_one.candidates(fp);
                multi += usize::from(expected == Some(Candidates::Any));
                assert_eq!(bulk_index.candidates(fp), expected, "bits {bits}, e-{j}");
                assert_eq!(per_partition.candidates(fp), expected, "bits {bits}, e-{j}");
            }
            assert!(multi > 0, "some ids are in two partitions");
        }
    }

    #[test]
    fn bucket_order_sorts_by_the_top_bits_of_the_bucket() {
        let bits = 20;
        let mut entries: Vec<u64> = (0..50_000u64)
            .map(|i| (i * 0x9E37_79B9) << SLOT_BITS | (i % 7))
            .collect();
        let mut expected = entries.clone();
        sort_by_bucket(&mut entries, bits);
        let bucket =
            |e: u64| (table_hash(entry_fingerprint(e)) & ((1 << bits) - 1)) >> (bits - ORDER_BITS);
        assert!(entries.windows(2).all(|w| bucket(w[0]) <= bucket(w[1])));
        entries.sort_unstable();
        expected.sort_unstable();
        assert_eq!(entries, expected, "a permutation");
    }
}
