//! [`DedupIndex`]: fingerprint → partition, bounded by the window.

use std::collections::HashMap;

use crate::partition::PartitionKey;
use crate::schema::{TimestampMicros, day_of};

/// A slot value meaning "several partitions hold events with this fingerprint".
const MULTI: u32 = u32::MAX;

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
    map: hashbrown::HashMap<u64, u32, IdentityBuild>,
    partitions: Vec<PartitionKey>,
    slots: HashMap<PartitionKey, u32>,
    mask: u64,
    window: i64,
    watermark: Option<TimestampMicros>,
    evicted_before_day: i32,
}

impl DedupIndex {
    /// An empty index with a window of `window_micros` and fingerprints of `fingerprint_bits`
    /// (1..=64; fewer bits mean more collisions, i.e. more confirmations, never wrong answers).
    pub fn new(window_micros: i64, fingerprint_bits: u32) -> DedupIndex {
        let bits = fingerprint_bits.clamp(1, 64);
        DedupIndex {
            map: hashbrown::HashMap::with_hasher(IdentityBuild),
            partitions: Vec::new(),
            slots: HashMap::new(),
            mask: if bits == 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            },
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
        self.map.get(&fp).map(|&slot| match slot {
            MULTI => Candidates::Any,
            s => Candidates::One(self.partitions[s as usize]),
        })
    }

    /// Records that an event with fingerprint `fp` is stored in `partition`.
    pub fn insert(&mut self, fp: u64, partition: PartitionKey) {
        let slot = match self.slots.get(&partition) {
            Some(&s) => s,
            None => {
                let s = u32::try_from(self.partitions.len()).unwrap_or(MULTI - 1);
                self.partitions.push(partition);
                self.slots.insert(partition, s);
                s
            }
        };
        self.map
            .entry(fp)
            .and_modify(|existing| {
                if *existing != slot {
                    *existing = MULTI;
                }
            })
            .or_insert(slot);
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
                self.map
                    .retain(|_, slot| *slot == MULTI || keep[*slot as usize]);
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
        self.map.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Heap bytes of the table: one (u64, u32) slot, padded to 16 bytes, plus one control byte
    /// per bucket.
    pub fn memory_bytes(&self) -> usize {
        self.map.capacity() * 8 / 7 * (16 + 1) + self.partitions.len() * 32
    }
}

/// Fingerprints are already uniform hashes: the table uses them as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityBuild;

impl std::hash::BuildHasher for IdentityBuild {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher(0)
    }
}

/// See [`IdentityBuild`].
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityHasher(u64);

impl std::hash::Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        // hashbrown takes its control bits from the top 7 bits; spread masked (narrow)
        // fingerprints so they still fill those bits.
        self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
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
    }
}
