//! [`BloomBuilder`]: the mutable, in-memory side of a bloom filter.
//!
//! A segment writer makes one builder per block of rows and column, feeds it every key, and
//! appends [`BloomBuilder::finish`]'s bytes to the segment footer. How the builder sizes the
//! filter and picks the probe count is explained in the [module docs](super).

use std::f64::consts::LN_2;
use std::fmt;

use super::format::{
    BLOCK_BITS, BLOCK_LEN, Header, Layout, MAX_PROBES, block_crc, block_index, probes,
};
use super::hash_key;

/// The most blocks a builder allocates: 2^21 × 64 bytes = 128 MiB, whatever it is asked for.
pub const MAX_NUM_BLOCKS: u32 = 1 << 21;

/// Above this many bits per key the probe count stops growing (it is then [`MAX_PROBES`]).
const MAX_BITS_PER_KEY_FOR_PROBES: f64 = 32.0;

/// Accumulates keys into a blocked bloom filter, then serializes it.
///
/// ```
/// # use adstore_storage::bloom::{BloomBuilder, BloomFilter, Layout};
/// let mut builder = BloomBuilder::new(2, 10.0);
/// builder.insert(b"event-1");
/// builder.insert(b"event-2");
/// let mut bytes = Vec::new();
/// builder.finish(Layout::Checked, &mut bytes);
///
/// let filter = BloomFilter::from_bytes(&bytes, Layout::Checked)?;
/// assert!(filter.check(b"event-1")?);
/// # Ok::<(), adstore_storage::bloom::BloomError>(())
/// ```
#[derive(Clone)]
pub struct BloomBuilder {
    blocks: Vec<[u8; BLOCK_LEN]>,
    /// `blocks.len()`, kept as the `u32` the header stores.
    num_blocks: u32,
    num_probes: u8,
}

impl BloomBuilder {
    /// Makes an empty filter sized for `expected_keys` keys at `bits_per_key` bits each.
    ///
    /// The filter gets `ceil(expected_keys × bits_per_key / 512)` blocks, at least one and at
    /// most [`MAX_NUM_BLOCKS`]; the probe count follows from `bits_per_key` alone. Any
    /// `bits_per_key` is accepted: a tiny one (0.5, 1.0) gives a small filter with a high
    /// false-positive rate, and zero, negative or NaN give one block probed once.
    pub fn new(expected_keys: usize, bits_per_key: f64) -> Self {
        let num_blocks = num_blocks_for(expected_keys, bits_per_key);
        Self {
            blocks: vec![[0; BLOCK_LEN]; num_blocks as usize],
            num_blocks,
            num_probes: num_probes_for(bits_per_key),
        }
    }

    /// Adds a key given by its [`hash_key`] hash.
    ///
    /// Callers that already hashed a key (to dedup it, say) pass the hash instead of hashing
    /// twice; any other hash function makes the filter useless to readers.
    #[inline]
    pub fn insert_hash(&mut self, hash: u64) {
        let block = &mut self.blocks[block_index(hash, self.num_blocks)];
        for (byte, mask) in probes(hash, self.num_probes) {
            block[byte] |= mask;
        }
    }

    /// Adds a key.
    #[inline]
    pub fn insert(&mut self, key: &[u8]) {
        self.insert_hash(hash_key(key));
    }

    /// Appends the serialized filter in `layout`, [`serialized_len`](Self::serialized_len)
    /// bytes, to `out`.
    ///
    /// The builder is left as it was: more keys may be added and the filter written again.
    pub fn finish(&self, layout: Layout, out: &mut Vec<u8>) {
        out.reserve(self.serialized_len(layout));
        let header = self.header();
        header.encode(out);
        out.extend_from_slice(self.blocks.as_flattened());
        if layout == Layout::Checked {
            for block in &self.blocks {
                out.extend_from_slice(&block_crc(header, block).to_le_bytes());
            }
        }
    }

    /// Length in bytes of what [`finish`](Self::finish) appends in `layout`.
    pub fn serialized_len(&self, layout: Layout) -> usize {
        // The blocks are allocated, so their serialized length fits `usize`.
        self.header().serialized_len(layout).unwrap_or(usize::MAX)
    }

    /// The header [`finish`](Self::finish) writes.
    fn header(&self) -> Header {
        Header {
            num_blocks: self.num_blocks,
            num_probes: self.num_probes,
        }
    }

    /// Number of 64-byte blocks.
    pub fn num_blocks(&self) -> u32 {
        self.num_blocks
    }

    /// Number of bits set per key, `1..=16`.
    pub fn num_probes(&self) -> u8 {
        self.num_probes
    }
}

impl fmt::Debug for BloomBuilder {
    /// Shows the shape, not the bits: a filter can be megabytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BloomBuilder")
            .field("num_blocks", &self.num_blocks)
            .field("num_probes", &self.num_probes)
            .finish_non_exhaustive()
    }
}

/// Blocks for `expected_keys × bits_per_key` bits, rounded up, clamped to `1..=MAX_NUM_BLOCKS`.
fn num_blocks_for(expected_keys: usize, bits_per_key: f64) -> u32 {
    // Exact below 2^53 keys, far past any block of rows.
    let bits = expected_keys as f64 * bits_per_key;
    let blocks = (bits / BLOCK_BITS as f64).ceil();
    // `as` saturates, and maps NaN and negatives to 0; the clamp does the rest.
    (blocks as u32).clamp(1, MAX_NUM_BLOCKS)
}

/// Probe count for `bits_per_key`: `round(b·ln 2 − b²/200)`, clamped to `1..=MAX_PROBES`.
///
/// `b·ln 2` is optimal for a classic bloom filter; a blocked filter wants fewer probes as `b`
/// grows, and the `b²/200` term fits that (see the module docs and `probe_count_is_near_optimal`).
pub(super) fn num_probes_for(bits_per_key: f64) -> u8 {
    let b = if bits_per_key.is_nan() {
        0.0
    } else {
        bits_per_key.clamp(0.0, MAX_BITS_PER_KEY_FOR_PROBES)
    };
    let k = (b * LN_2 - b * b / 200.0).round();
    (k as u8).clamp(1, MAX_PROBES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_round_up_to_whole_blocks() {
        assert_eq!(num_blocks_for(0, 10.0), 1);
        assert_eq!(num_blocks_for(1, 10.0), 1);
        assert_eq!(num_blocks_for(51, 10.0), 1);
        assert_eq!(num_blocks_for(52, 10.0), 2);
        assert_eq!(num_blocks_for(16_384, 10.0), 320);
        assert_eq!(num_blocks_for(16_384, 0.5), 16);
        assert_eq!(num_blocks_for(100, 0.0), 1);
        assert_eq!(num_blocks_for(100, -3.0), 1);
        assert_eq!(num_blocks_for(100, f64::NAN), 1);
        assert_eq!(num_blocks_for(100, f64::INFINITY), MAX_NUM_BLOCKS);
        assert_eq!(num_blocks_for(usize::MAX, 64.0), MAX_NUM_BLOCKS);
    }

    #[test]
    fn probe_counts() {
        let ks: Vec<u8> = [0.5, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 24.0]
            .iter()
            .map(|&b| num_probes_for(b))
            .collect();
        assert_eq!(ks, [1, 1, 1, 3, 4, 5, 6, 8, 10, 12, 14]);
        assert_eq!(num_probes_for(f64::NAN), 1);
        assert_eq!(num_probes_for(-1.0), 1);
        assert_eq!(num_probes_for(1e9), MAX_PROBES);
    }

    #[test]
    fn serialized_len_matches_finish() {
        for (n, b) in [(0, 10.0), (1000, 10.0), (16_384, 0.5), (7, f64::NAN)] {
            let builder = BloomBuilder::new(n, b);
            // The 8-byte header, then per block 64 bytes (and a 4-byte CRC when checked).
            for (layout, per_block) in [(Layout::Plain, 64), (Layout::Checked, 68)] {
                let mut out = vec![0xAA; 3];
                builder.finish(layout, &mut out);
                assert_eq!(out.len(), 3 + builder.serialized_len(layout));
                assert_eq!(
                    builder.serialized_len(layout),
                    8 + per_block * builder.num_blocks() as usize
                );
            }
        }
    }
}
