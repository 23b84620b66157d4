//! Blocked bloom filters: the fast "no" for equality look-ups and dedup.
//!
//! A segment footer holds one filter per block of rows (about 16k) for each of the `event_id`
//! and `user_id` columns. A query for `user_id = x` skips every block whose filter says "no"
//! without decompressing it; dedup checks an incoming `event_id` the same way and only reads
//! the column, to confirm exactly, when the filter says "maybe". A "no" is always right (no
//! false negatives); a "maybe" is wrong with the probability computed below.
//!
//! This module is pure: [`BloomBuilder`] accumulates keys in memory and appends the serialized
//! filter to a `Vec<u8>`, [`BloomFilter`] reads it back from any byte slice (a memory-mapped
//! footer) without copying. It is not a set: no deletes, no counts, and a filter is sized once,
//! when built. It implements `docs/FORMAT.md`, section "Bloom filter"; the byte layout is in
//! `format.rs`.
//!
//! # Design: one cache line per key
//!
//! The filter is a *blocked* (split-block) bloom filter, after Putze, Sanders and Singler,
//! "Cache-, Hash- and Space-Efficient Bloom Filters" (2007); parquet's SBBF and RocksDB's
//! FastLocalBloom are relatives. The bit array is cut into blocks of 512 bits, one 64-byte
//! cache line each. A key is hashed once with [`hash_key`] (XXH3-64), and the 64-bit hash is
//! split in two independent halves:
//!
//! - the **upper 32 bits choose the block**, by fast range reduction:
//!   `block = ((hash >> 32) * num_blocks) >> 32`;
//! - the **lower 32 bits place the `k` bits** inside it: the state starts as `hash as u32`,
//!   and each probe sets bit `state >> 23` (a number in `0..512`), then updates
//!   `state = state * 0x9E37_79B9 (mod 2^32)`. Bit `p` is bit `p % 8` of byte `p / 8`.
//!
//! An insert or a look-up thus touches one cache line where a classic bloom filter touches `k`.
//! A look-up reads all `k` bits without branching; with the line in cache it takes about 6 ns
//! after hashing, and XXH3 on a 17-byte key about 12 ns more.
//!
//! # False-positive rate
//!
//! A classic bloom filter with `b = m / n` bits per key and `k` probes has
//! `f = (1 - e^(-k/b))^k`, smallest at `k = b·ln 2`. In a blocked filter each block is a small
//! classic filter of `B = 512` bits, and the number of keys `i` that land in a block follows a
//! Poisson distribution with mean `λ = B / b`, so
//!
//! ```text
//!                  ∞   e^(-λ) λ^i    ⎛              i·k ⎞ k
//!     FPR(b, k) =  Σ   ─────────── · ⎜1 - (1 - 1/B)     ⎟ ,     λ = B / b,  B = 512
//!                 i=0      i!        ⎝                  ⎠
//! ```
//!
//! Fuller-than-average blocks dominate the sum, so the rate sits above the classic one (0.96 %
//! against 0.82 % at 10 bits per key), and the gap widens with `b`: the price of one cache miss
//! per look-up. The formula treats a look-up's probes as independent, but they are drawn with
//! replacement: two of them hit the same bit with probability about `k(k-1)/1024`, which is why
//! the measured rate runs a few percent above it at large `k` (about 15 % at `k = 12`).
//!
//! # How size and probe count are chosen
//!
//! The caller picks the bits per key `b`, from the table below, for the rate it can afford;
//! [`BloomBuilder::new`]`(expected_keys, b)` then takes
//!
//! - `num_blocks = ceil(expected_keys · b / 512)`, at least 1 and at most [`MAX_NUM_BLOCKS`]
//!   (2^21 blocks, 128 MiB), so a filter is `8 + 64 · num_blocks` bytes;
//! - `k = round(b·ln 2 − b²/200)`, clamped to `1..=16`. `b·ln 2` is the classic optimum; the
//!   blocked optimum falls below it as `b` grows, because extra probes fill the crowded blocks
//!   that dominate the rate. The `b²/200` term is fitted to the minimum of the formula: the
//!   chosen `k` is within 2 % of the best rate for `b ≤ 16` and 8 % up to `b = 32` (test
//!   `probe_count_is_near_optimal`).
//!
//! Any `b` works, even 0.5 (tests use tiny filters to force false positives); zero, negative
//! or NaN give a single block probed once. Inserting more keys than expected never breaks a
//! filter, it only raises its rate to that of the bits per key actually reached.
//!
//! | bits per key | k  | FPR, formula | FPR, measured | bytes per 16,384 keys |
//! |-------------:|---:|-------------:|--------------:|----------------------:|
//! |          0.5 |  1 |       86.5 % |        86.5 % |                 1,032 |
//! |            1 |  1 |       63.2 % |        63.1 % |                 2,056 |
//! |            2 |  1 |       39.3 % |        39.4 % |                 4,104 |
//! |            4 |  3 |       14.8 % |        14.8 % |                 8,200 |
//! |            6 |  4 |       5.75 % |        5.77 % |                12,296 |
//! |            8 |  5 |       2.31 % |        2.32 % |                16,392 |
//! |           10 |  6 |      0.958 % |       0.976 % |                20,488 |
//! |           12 |  8 |      0.407 % |       0.430 % |                24,584 |
//! |           14 |  9 |      0.180 % |       0.179 % |                28,680 |
//! |           16 | 10 |     0.0825 % |      0.0852 % |                32,776 |
//! |           20 | 12 |     0.0194 % |      0.0225 % |                40,968 |
//!
//! Measured by the test `documented_fpr_table_holds`: 100,000 keys inserted, 1,000,000 other
//! keys looked up. The measurement is deterministic, and the test fails if it drifts from the
//! table by more than 5 %.
//!
//! # Checked filters
//!
//! A [`Layout::Checked`] filter (segment format 4 on) follows its blocks with a CRC32 per
//! block, over the header and that block: [`BloomFilter::check_hash`] checks the one block a
//! look-up reads, so a damaged filter is an error and never a wrong "absent", at the cost of
//! 4 bytes per 64 and a CRC of 72 bytes per look-up, instead of a CRC over every filter of a
//! segment before the first look-up ([`Layout::Plain`], formats 1 to 3).

mod builder;
mod error;
mod format;
mod reader;
#[cfg(test)]
mod tests;

pub use builder::{BloomBuilder, MAX_NUM_BLOCKS};
pub use error::BloomError;
pub use format::{BLOCK_CRC_LEN, BLOCK_LEN, HEADER_LEN, Layout, MAX_PROBES};
pub use reader::{BloomFilter, BloomShape};

/// The hash of a bloom filter key: XXH3-64 with seed 0, the same on every platform.
///
/// Writers and readers must agree on it; [`BloomBuilder::insert`] and
/// [`BloomFilter::may_contain`] call it, and callers holding a hash already use the `_hash`
/// variants.
#[inline]
pub fn hash_key(key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key)
}
