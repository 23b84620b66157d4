//! [`Hll`]: the HyperLogLog sketch behind `uniq(x)`.
//!
//! Each value is hashed to 64 bits (xxh3 of its bytes). While a sketch has seen at most
//! [`SPARSE_LIMIT`] distinct hashes it keeps them exactly, so small counts are exact (up to
//! 64-bit hash collisions). Past that it switches to 2^14 one-byte registers: the register
//! indexed by the top 14 bits of the hash keeps the maximum rank (leading zeros + 1) of the
//! remaining bits. The estimate is `alpha * m^2 / sum(2^-register)` with linear counting
//! (`m * ln(m / empty registers)`) below `2.5 m`; its relative standard error is
//! `1.04 / sqrt(m)` = **0.81 %** (so about 95 % of estimates fall within ±1.6 %), for 16 KiB
//! per sketch.
//!
//! Merging takes the union of exact sets or the maximum of registers. Both are commutative and
//! associative, and a merged sketch is dense exactly when the union holds more than
//! [`SPARSE_LIMIT`] hashes, so the estimate does not depend on how rows were split between
//! threads, segments or blocks: the same rows always give the same `uniq`.

use std::collections::HashSet;

use crate::value::Value;

/// log2 of the number of registers.
pub const PRECISION: u32 = 14;
/// Number of registers.
pub const REGISTERS: usize = 1 << PRECISION;
/// Distinct hashes kept exactly before switching to registers.
pub const SPARSE_LIMIT: usize = 2048;

/// A HyperLogLog sketch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hll {
    /// Exact set of hashes (small cardinalities).
    Sparse(HashSet<u64>),
    /// Registers.
    Dense(Box<[u8]>),
}

impl Default for Hll {
    fn default() -> Self {
        Hll::Sparse(HashSet::new())
    }
}

/// The 64-bit hash `uniq` uses for a value: xxh3 of a string's bytes, or of the 8
/// little-endian bytes of a number's 64-bit pattern.
pub fn hash_value(v: &Value) -> u64 {
    match v {
        Value::Str(s) => hash_str(s),
        v => hash_bits(v.bits()),
    }
}

/// The hash of a string.
pub fn hash_str(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

/// The hash of a 64-bit pattern.
pub fn hash_bits(bits: i64) -> u64 {
    xxhash_rust::xxh3::xxh3_64(&bits.to_le_bytes())
}

impl Hll {
    /// Adds a hashed value.
    pub fn insert(&mut self, hash: u64) {
        match self {
            Hll::Sparse(set) => {
                set.insert(hash);
                if set.len() > SPARSE_LIMIT {
                    self.densify();
                }
            }
            Hll::Dense(regs) => update(regs, hash),
        }
    }

    fn densify(&mut self) {
        if let Hll::Sparse(set) = self {
            let mut regs = vec![0u8; REGISTERS].into_boxed_slice();
            for &h in set.iter() {
                update(&mut regs, h);
            }
            *self = Hll::Dense(regs);
        }
    }

    /// Merges another sketch into this one.
    pub fn merge(&mut self, other: Hll) {
        match (&mut *self, other) {
            (Hll::Sparse(a), Hll::Sparse(b)) => {
                a.extend(b);
                if a.len() > SPARSE_LIMIT {
                    self.densify();
                }
            }
            (Hll::Dense(a), Hll::Sparse(b)) => b.into_iter().for_each(|h| update(a, h)),
            (Hll::Sparse(_), Hll::Dense(b)) => {
                let Hll::Sparse(a) = std::mem::replace(self, Hll::Dense(b)) else {
                    return;
                };
                if let Hll::Dense(regs) = self {
                    a.into_iter().for_each(|h| update(regs, h));
                }
            }
            (Hll::Dense(a), Hll::Dense(b)) => {
                a.iter_mut()
                    .zip(b.iter())
                    .for_each(|(x, &y)| *x = (*x).max(y));
            }
        }
    }

    /// The estimated number of distinct values.
    #[expect(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "register counts are small; the estimate is non-negative and rounded"
    )]
    pub fn estimate(&self) -> u64 {
        match self {
            Hll::Sparse(set) => set.len() as u64,
            Hll::Dense(regs) => {
                let m = REGISTERS as f64;
                let alpha = 0.7213 / (1.0 + 1.079 / m);
                let sum: f64 = regs.iter().map(|&r| 2f64.powi(-i32::from(r))).sum();
                let raw = alpha * m * m / sum;
                let zeros = regs.iter().filter(|&&r| r == 0).count();
                let e = if raw <= 2.5 * m && zeros > 0 {
                    m * (m / zeros as f64).ln()
                } else {
                    raw
                };
                e.round() as u64
            }
        }
    }
}

#[expect(
    clippy::cast_possible_truncation,
    reason = "a rank is at most 65 - PRECISION"
)]
fn update(regs: &mut [u8], hash: u64) {
    let idx = (hash >> (64 - PRECISION)) as usize;
    let rest = (hash << PRECISION) | (1 << (PRECISION - 1));
    let rank = rest.leading_zeros() as u8 + 1;
    if regs[idx] < rank {
        regs[idx] = rank;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_exact_and_large_ones_close() {
        let mut h = Hll::default();
        for i in 0..1000 {
            h.insert(hash_bits(i % 700));
        }
        assert_eq!(h.estimate(), 700);
        let mut big = Hll::default();
        for i in 0..200_000 {
            big.insert(hash_bits(i));
        }
        let e = big.estimate() as f64;
        assert!((e - 200_000.0).abs() / 200_000.0 < 0.03, "{e}");
    }

    #[test]
    fn merging_does_not_depend_on_the_split() {
        let whole = (0..10_000).fold(Hll::default(), |mut h, i| {
            h.insert(hash_bits(i));
            h
        });
        let mut parts: Vec<Hll> = (0..7).map(|_| Hll::default()).collect();
        for i in 0..10_000 {
            parts[(i * 31 % 7) as usize].insert(hash_bits(i));
        }
        let mut merged = Hll::default();
        for p in parts {
            merged.merge(p);
        }
        assert_eq!(merged, whole);
        assert_eq!(merged.estimate(), whole.estimate());
    }
}
