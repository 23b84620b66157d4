//! [`DistinctSet`]: the exact set of 128-bit keys behind `uniqExact(x)`.
//!
//! A hash set of the keys pays a cache miss per insert once it outgrows the core's cache (a
//! campaign's users for a day at 50M impressions: a million keys, a 32 MiB table), and more
//! each time it doubles. This set instead appends keys to a pending buffer (sequential writes).
//! Pending keys are sorted and merged into the set's sorted distinct keys when there are
//! enough of them, and once more when a worker's scan ends ([`DistinctSet::settle`], in the
//! worker's thread): one pass splits them by their top byte into 256 buckets small enough to
//! be radix-sorted within the cache. Each key is moved a few times, in memory order. The
//! workers' sets of a group are not merged into one: the query only needs their count, and
//! counting the keys two sorted sets have in common reads them where merging writes a third
//! ([`DistinctSet::absorb`], [`count_common`]).
//!
//! Memory: when a set first holds `MIN_PENDING` pending keys (256 KiB), a sample of them
//! decides. Keys nearly all distinct (a campaign's users) wait for `DISTINCT_PENDING` (16 MiB)
//! before the first merge: they will mostly stay, so they cost about the memory the set will
//! take anyway. Otherwise the set merges then, and again at twice its distinct keys (at least
//! `MIN_PENDING`), so that memory follows the distinct keys, not the rows; a set whose keys
//! were mostly new at a merge waits for 32 times as many (they would mostly stay anyway, and
//! each merge copies the whole set). Pending keys never outnumber the rows folded (16 bytes
//! each).
//!
//! Keys must be spread evenly over their top bits for the buckets to split them: string keys
//! are xxh3-128 hashes ([`str_key`]), integer keys put a mixed copy of the value above the value
//! itself ([`int_key`]), which keeps them distinct exactly when the values are.

use std::cell::RefCell;

/// Pending keys held before a merge, whatever the set's size: 256 KiB, where the first merge
/// of a set of repeating keys happens. It was 4 MiB (256Ki keys) for every set until the
/// distinct ones got [`DISTINCT_PENDING`]: `uniqExact(campaign_id) GROUP BY country` at 50M
/// impressions (~200 groups of a few thousand campaigns in each of two workers) then peaked
/// at 1.03 GB and took 1.15 s, now 0.83 GB (most of it the mapped segments) and 0.70 s. The
/// unit tests merge from 1Ki keys, so that their small sets go through merges.
const MIN_PENDING: usize = if cfg!(test) { 1 << 10 } else { 1 << 14 };

/// Pending keys held before the first merge of a set whose first [`MIN_PENDING`] keys were
/// nearly all distinct (a sample of them, [`mostly_distinct`]): 16 MiB. Such keys mostly stay,
/// so holding them costs about the memory the set will take anyway, and a later first merge
/// saves merging (copying) the set once more at the end: Q6 at 50M impressions, whose
/// campaign-day sets are ~98 % distinct users, went from 180–182 to 168–177 ms (medians of
/// three alternations; fastest runs 171–179 → 158–167) against every set merging from 4 MiB;
/// a set of repeating keys merges at [`MIN_PENDING`].
const DISTINCT_PENDING: usize = if cfg!(test) { 1 << 16 } else { 1 << 20 };

/// Keys of the pending buffer [`mostly_distinct`] samples.
const SAMPLE: usize = 4096;

/// Below this many keys a comparison sort beats radix passes.
const SMALL_SORT: usize = 64;

/// The exact set of distinct 128-bit keys seen.
#[derive(Debug, Clone, Default)]
pub struct DistinctSet {
    /// Distinct keys, ascending.
    sorted: Vec<u128>,
    /// Another worker's distinct keys, ascending, absorbed but not merged into `sorted`: the
    /// set is the union of both. A query only counts its sets once the workers' tables are
    /// merged, and counting the union of two sorted vectors reads them, where merging them
    /// writes a third (see [`DistinctSet::absorb`]).
    absorbed: Vec<u128>,
    /// Keys inserted since the last merge, repeats included.
    pending: Vec<u128>,
    /// Pending keys that make the next merge (at least [`MIN_PENDING`]).
    limit: usize,
}

impl DistinctSet {
    /// Adds `key`.
    #[inline]
    pub fn insert(&mut self, key: u128) {
        self.pending.push(key);
        if self.pending.len() >= self.pending_limit() {
            self.on_full();
        }
    }

    /// The pending buffer reached its limit: merge it, unless this is the set's first time and
    /// its keys are nearly all distinct, in which case they wait for [`DISTINCT_PENDING`].
    #[cold]
    fn on_full(&mut self) {
        if self.sorted.is_empty() && self.limit == 0 && mostly_distinct(&self.pending) {
            self.limit = DISTINCT_PENDING;
            return;
        }
        self.merge_pending();
    }

    /// Makes room for `additional` more keys (a block's rows) before inserting them.
    pub fn reserve(&mut self, additional: usize) {
        self.pending.reserve(additional);
    }

    /// Adds every key of `other`.
    ///
    /// The keys of the last set absorbed are kept apart from this set's own until the set is
    /// next merged or absorbs another, and [`DistinctSet::len`] counts the union by reading
    /// both ([`count_common`]). Merging the workers' tables of Q6 at 50M impressions (the top
    /// campaign's day, a million users, split between two workers, and the few campaigns
    /// whose blocks both workers read) wrote ~3M keys into new vectors: 25–46 ms of a ~200 ms
    /// query, on the calling thread alone. Q6 went from 201–211 to 170–190 ms (medians of
    /// three alternations).
    pub fn absorb(&mut self, mut other: DistinctSet) {
        self.merge_pending();
        other.merge_pending();
        let other = other.into_sorted();
        if self.sorted.is_empty() {
            self.sorted = other;
        } else if !other.is_empty() {
            self.merge_absorbed();
            self.absorbed = other;
        }
    }

    /// The set's distinct keys, ascending, merged into one vector.
    fn into_sorted(mut self) -> Vec<u128> {
        self.merge_absorbed();
        self.sorted
    }

    /// Merges the absorbed keys into the set's own.
    fn merge_absorbed(&mut self) {
        if !self.absorbed.is_empty() {
            self.sorted = merge_distinct(&self.sorted, &self.absorbed);
            self.absorbed = Vec::new();
        }
    }

    /// Sorts the pending keys into the set now rather than when it is next read or merged.
    pub fn settle(&mut self) {
        self.merge_pending();
    }

    /// The number of distinct keys.
    pub fn len(&self) -> usize {
        let merged;
        let sorted = if self.absorbed.is_empty() {
            &self.sorted
        } else if self.pending.is_empty() {
            return self.sorted.len() + self.absorbed.len()
                - count_common(&self.sorted, &self.absorbed);
        } else {
            merged = merge_distinct(&self.sorted, &self.absorbed);
            &merged
        };
        if self.pending.is_empty() {
            return sorted.len();
        }
        let mut pending = self.pending.clone();
        sort_distinct(&mut pending);
        sorted.len() + count_missing(&pending, sorted)
    }

    /// Whether no key was added.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty() && self.absorbed.is_empty() && self.pending.is_empty()
    }

    fn pending_limit(&self) -> usize {
        self.limit.max(MIN_PENDING)
    }

    /// Sorts the pending keys and merges those not yet in the set into it.
    fn merge_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.merge_absorbed();
        let (before, arrived) = (self.sorted.len(), self.pending.len());
        sort_distinct(&mut self.pending);
        if self.sorted.is_empty() {
            std::mem::swap(&mut self.sorted, &mut self.pending);
        } else {
            self.sorted = merge_distinct(&self.sorted, &self.pending);
            self.pending.clear();
        }
        // Keys that were mostly new will mostly stay: pending keys then cost little more
        // memory than the set will, and merging less often saves copying the set. Keys that
        // were mostly repeats are merged sooner, so that memory follows the distinct keys.
        let added = self.sorted.len() - before;
        let growth = if added.saturating_mul(2) > arrived {
            32
        } else {
            2
        };
        self.limit = self.sorted.len().saturating_mul(growth);
    }
}

/// Whether at least 90 % of an evenly spaced sample of `keys` (up to [`SAMPLE`] of them) are
/// distinct. Keys drawn from far more distinct values than the sample holds pass (a million
/// users: ~99.8 % of 4,096 samples distinct); keys repeating a few thousand values fail.
fn mostly_distinct(keys: &[u128]) -> bool {
    let step = (keys.len() / SAMPLE).max(1);
    let mut sample: Vec<u128> = keys.iter().step_by(step).copied().collect();
    let drawn = sample.len();
    sample.sort_unstable();
    sample.dedup();
    sample.len() * 10 >= drawn * 9
}

/// The key of a string (its UTF-8 bytes) in a [`DistinctSet`]: its xxh3-128 hash.
#[inline]
pub fn str_key(bytes: &[u8]) -> u128 {
    xxhash_rust::xxh3::xxh3_128(bytes)
}

/// The key of a 64-bit value (an integer, or a float's bits): the value in the low half, a
/// mix of it in the high half, so that keys are distinct exactly when values are, and spread
/// over their top bits.
#[inline]
pub fn int_key(bits: u64) -> u128 {
    (u128::from(mix64(bits)) << 64) | u128::from(bits)
}

/// MurmurHash3's 64-bit finalizer.
#[inline]
fn mix64(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^ (x >> 33)
}

/// The union of `a` and `b` (each ascending and distinct), ascending and distinct.
fn merge_distinct(a: &[u128], b: &[u128]) -> Vec<u128> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        if x <= y {
            out.push(x);
            i += 1;
            j += usize::from(x == y);
        } else {
            out.push(y);
            j += 1;
        }
    }
    out.extend_from_slice(a.get(i..).unwrap_or_default());
    out.extend_from_slice(b.get(j..).unwrap_or_default());
    out
}

/// Merge walks [`count_common`] interleaves: each takes the keys of `a` and `b` whose top
/// `log2(WALKS)` bits are its index. Eight keep their positions in registers; sixteen spilled
/// and ran slower than one.
const WALKS: usize = 8;

/// How many keys `a` and `b` (each ascending and distinct) have in common.
///
/// One merge walk is a chain of dependent steps (each compares the two keys the last step
/// moved to): ~7 ns a step, 22 ms for two sets of 1.5M keys. [`WALKS`] walks over disjoint
/// ranges of keys advance together, one step of each per round, so that the core overlaps
/// them: 4.7 ms for the same sets. Each walk's range is found by binary search; hashed keys
/// spread evenly over the ranges, and whatever a walk has left once another ends is counted
/// by [`count_common_walk`].
fn count_common(a: &[u128], b: &[u128]) -> usize {
    let shift = 128 - WALKS.trailing_zeros();
    let start = |keys: &[u128], k: usize| match k {
        WALKS => keys.len(),
        k => keys.partition_point(|&x| x >> shift < k as u128),
    };
    let (mut a_at, mut a_end, mut b_at, mut b_end) =
        ([0; WALKS], [0; WALKS], [0; WALKS], [0; WALKS]);
    for k in 0..WALKS {
        (a_at[k], a_end[k]) = (start(a, k), start(a, k + 1));
        (b_at[k], b_end[k]) = (start(b, k), start(b, k + 1));
    }
    let mut common = 0;
    loop {
        // Rounds that no walk can run out in.
        let rounds = (0..WALKS)
            .map(|k| (a_end[k] - a_at[k]).min(b_end[k] - b_at[k]))
            .min()
            .unwrap_or(0);
        if rounds == 0 {
            break;
        }
        for _ in 0..rounds {
            for k in 0..WALKS {
                let (x, y) = (a[a_at[k]], b[b_at[k]]);
                a_at[k] += usize::from(x <= y);
                b_at[k] += usize::from(y <= x);
                common += usize::from(x == y);
            }
        }
    }
    for k in 0..WALKS {
        common += count_common_walk(&a[a_at[k]..a_end[k]], &b[b_at[k]..b_end[k]]);
    }
    common
}

/// [`count_common`] as one merge walk. Every step advances one side or both by the outcome of
/// a comparison, so that the compiler needs no branch on it (two workers' keys interleave at
/// random: a branch would mispredict about every other key).
fn count_common_walk(a: &[u128], b: &[u128]) -> usize {
    let (mut i, mut j, mut common) = (0, 0, 0);
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        i += usize::from(x <= y);
        j += usize::from(y <= x);
        common += usize::from(x == y);
    }
    common
}

/// How many keys of `keys` (ascending, distinct) are not in `set` (ascending, distinct).
fn count_missing(keys: &[u128], set: &[u128]) -> usize {
    let mut j = 0;
    let mut missing = 0;
    for &k in keys {
        while set.get(j).is_some_and(|&s| s < k) {
            j += 1;
        }
        if set.get(j) != Some(&k) {
            missing += 1;
        }
    }
    missing
}

thread_local! {
    /// The buffers of [`sort_distinct`], kept by each worker thread between sorts.
    static SCRATCH: RefCell<(Vec<u128>, Vec<u128>)> =
        const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Sorts `keys` ascending and drops repeats.
fn sort_distinct(keys: &mut Vec<u128>) {
    if keys.len() <= SMALL_SORT {
        keys.sort_unstable();
        keys.dedup();
        return;
    }
    SCRATCH.with_borrow_mut(|(split, tmp)| {
        if keys.len() <= BUCKET_LEN {
            radix_sort(keys, tmp, 0);
            keys.dedup();
            return;
        }
        // One pass through memory splits the keys by their top byte into buckets of 1/256
        // of them, which the core's cache holds while radix passes sort them.
        let mut starts = [0usize; 257];
        for &k in keys.iter() {
            starts[digit(k, 0) + 1] += 1;
        }
        for d in 1..=256 {
            starts[d] += starts[d - 1];
        }
        if split.len() < keys.len() {
            split.resize(keys.len(), 0);
        }
        let mut next = starts;
        for &k in keys.iter() {
            let d = digit(k, 0);
            split[next[d]] = k;
            next[d] += 1;
        }
        keys.clear();
        for w in starts.windows(2) {
            let bucket = &mut split[w[0]..w[1]];
            radix_sort(bucket, tmp, 1);
            let mut last = None;
            for &k in bucket.iter() {
                if last != Some(k) {
                    keys.push(k);
                    last = Some(k);
                }
            }
        }
    });
}

/// Keys sorted without splitting them by their top byte first: up to 64Ki keys (1 MiB).
const BUCKET_LEN: usize = 1 << 16;

/// Byte `i` (0..8) of `k`, counting from the top.
#[inline(always)]
fn digit(k: u128, i: u32) -> usize {
    let high = (k >> 64) as u64;
    ((high >> (56 - 8 * i)) & 0xff) as usize
}

/// Radix passes of [`radix_sort`] at most.
const MAX_PASSES: usize = 3;

/// Sorts `keys`, whose bytes before `first` (counting from the top) are all equal, ascending:
/// least-significant-digit radix passes over the bytes from `first`, enough of them that runs
/// of equal leading bytes hold about one key when keys are spread evenly, then a comparison
/// sort of each run (which also bounds the cost when they are not).
fn radix_sort(keys: &mut [u128], tmp: &mut Vec<u128>, first: u32) {
    let n = keys.len();
    if n <= SMALL_SORT {
        keys.sort_unstable();
        return;
    }
    // 2^(8 * bytes) > n, up to 16Mi keys (past that, runs hold more than one key).
    let bytes = (usize::BITS - n.leading_zeros())
        .div_ceil(8)
        .min(MAX_PASSES as u32);
    if tmp.len() < n {
        tmp.resize(n, 0);
    }
    // Every pass's counts in one read of the keys.
    let mut counts = [[0usize; 256]; MAX_PASSES];
    for &k in keys.iter() {
        for (p, c) in counts.iter_mut().enumerate().take(bytes as usize) {
            c[digit(k, first + p as u32)] += 1;
        }
    }
    let (mut src, mut dst): (&mut [u128], &mut [u128]) = (keys, &mut tmp[..n]);
    for p in (0..bytes).rev() {
        let mut starts = [0usize; 256];
        let mut next = 0;
        for (s, &c) in starts.iter_mut().zip(&counts[p as usize]) {
            (*s, next) = (next, next + c);
        }
        for &k in src.iter() {
            let d = digit(k, first + p);
            dst[starts[d]] = k;
            starts[d] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
    }
    if bytes % 2 == 1 {
        // The last pass wrote into `tmp`.
        dst.copy_from_slice(src);
        src = dst;
    }
    // The sorted bytes are of the high half (`first + bytes` is at most 1 + MAX_PASSES):
    // comparing them there takes a constant shift of one word, where shifting the whole key
    // by a variable amount made the sort ~20 % slower (9 against 7.2 ns a key, 2K-key buckets).
    debug_assert!(first + bytes <= 8);
    let shift = 64 - 8 * (first + bytes);
    let prefix = |k: u128| ((k >> 64) as u64) >> shift;
    let mut i = 0;
    while let (Some(&head), Some(&next)) = (src.get(i), src.get(i + 1)) {
        let p = prefix(head);
        if prefix(next) != p {
            i += 1;
            continue;
        }
        let len = 2 + src[i + 2..].iter().take_while(|&&k| prefix(k) == p).count();
        src[i..i + len].sort_unstable();
        i += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn set_of(keys: &[u128]) -> DistinctSet {
        let mut set = DistinctSet::default();
        for &k in keys {
            set.insert(k);
        }
        set
    }

    #[test]
    fn sorts_spread_and_clustered_keys() {
        let spread: Vec<u128> = (0..300_000u64).map(|i| int_key(i % 70_001)).collect();
        // Keys that share their top bytes: the runs fall to the comparison sort.
        let clustered: Vec<u128> = (0..5_000u128).map(|i| (i * 7_919) % 4_999).collect();
        for keys in [spread, clustered] {
            let mut sorted = keys.clone();
            sort_distinct(&mut sorted);
            let mut expected = keys;
            expected.sort_unstable();
            expected.dedup();
            assert_eq!(sorted, expected);
        }
    }

    #[test]
    fn counts_repeats_once_across_merges() {
        // 1.2M inserts of 312,345 distinct values: merged on the way, with keys pending at
        // the end.
        let keys: Vec<u128> = (0..1_200_000u64)
            .map(|i| int_key(i * 31 % 312_345))
            .collect();
        let set = set_of(&keys);
        assert!(!set.sorted.is_empty() && !set.pending.is_empty());
        assert_eq!(set.len(), 312_345);
        assert!(!set.is_empty());
        assert!(DistinctSet::default().is_empty());
        assert_eq!(DistinctSet::default().len(), 0);
    }

    #[test]
    fn distinct_keys_wait_longer_for_their_first_merge_than_repeating_ones() {
        let fill = |keys: &mut dyn Iterator<Item = u128>| {
            let mut set = DistinctSet::default();
            for k in keys.take(MIN_PENDING + 1) {
                set.insert(k);
            }
            set
        };
        // All distinct: still pending, the limit raised.
        let distinct = fill(&mut (0..u64::MAX).map(int_key));
        assert!(distinct.sorted.is_empty());
        assert_eq!(distinct.pending.len(), MIN_PENDING + 1);
        assert_eq!(distinct.pending_limit(), DISTINCT_PENDING);
        // 100 values repeating: merged at MIN_PENDING.
        let repeating = fill(&mut (0..u64::MAX).map(|i| int_key(i % 100)));
        assert_eq!(repeating.sorted.len(), 100);
        assert_eq!(repeating.pending.len(), 1);
        // The distinct set merges at DISTINCT_PENDING, and counts right.
        let mut distinct = distinct;
        for i in (MIN_PENDING as u64 + 1)..(DISTINCT_PENDING as u64 + 10) {
            distinct.insert(int_key(i));
        }
        assert_eq!(distinct.sorted.len(), DISTINCT_PENDING);
        assert_eq!(distinct.len(), DISTINCT_PENDING + 10);
        assert!(mostly_distinct(&[]));
        assert!(!mostly_distinct(&[int_key(7); 100]));
    }

    #[test]
    fn counts_the_keys_two_sets_have_in_common() {
        let a: Vec<u128> = vec![1, 3, 5, 7, 9];
        assert_eq!(count_common(&a, &[0, 3, 4, 9, 10]), 2);
        assert_eq!(count_common(&a, &a), 5);
        assert_eq!(count_common(&a, &[]), 0);
        assert_eq!(count_common(&[], &a), 0);
        assert_eq!(count_common(&a, &[10, 11]), 0);
        assert_eq!(count_common(&[u128::MAX], &[0, u128::MAX]), 1);
        // Spread keys, walked together, and keys all in one walk's range.
        let spread = |range: std::ops::Range<u64>, step: u64| -> Vec<u128> {
            let mut keys: Vec<u128> = range.step_by(step as usize).map(int_key).collect();
            keys.sort_unstable();
            keys
        };
        let (a, b) = (spread(0..300_000, 2), spread(0..300_000, 3));
        assert_eq!(count_common(&a, &b), 50_000);
        assert_eq!(count_common_walk(&a, &b), 50_000);
        let low: Vec<u128> = (0..10_000).collect();
        let odd: Vec<u128> = (0..10_000).filter(|k| k % 2 == 1).collect();
        assert_eq!(count_common(&low, &odd), 5_000);
    }

    #[test]
    fn integer_keys_are_distinct_exactly_when_values_are() {
        let values = [0u64, 1, 2, u64::MAX, 1 << 63, 42, 42];
        let keys: BTreeSet<u128> = values.iter().map(|&v| int_key(v)).collect();
        assert_eq!(keys.len(), 6);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Sets merged or not before they absorb each other (past `MIN_PENDING` keys or not),
        /// absorbed keys counted apart, then merged by a third set absorbed, by keys inserted
        /// after, and when the set is itself absorbed.
        #[test]
        fn agrees_with_a_btree_set(
            a in (0usize..80_000, prop_oneof![Just(3_000u64), Just(1_000_000)]),
            b in (0usize..50_000, prop_oneof![Just(3_000u64), Just(1_000_000)]),
            c in (0usize..5_000, prop_oneof![Just(3_000u64), Just(1_000_000)]),
            seed in any::<u64>(),
            strings in any::<bool>(),
        ) {
            let key = |v: u64| if strings { str_key(v.to_string().as_bytes()) } else { int_key(v) };
            let draw = |(len, range): (usize, u64), salt: u64| -> Vec<u128> {
                (0..len as u64).map(|i| key(mix64(i ^ seed ^ salt) % range)).collect()
            };
            let (ka, kb, kc) = (draw(a, 1), draw(b, 2), draw(c, 3));
            let union = |parts: &[&[u128]]| -> BTreeSet<u128> {
                parts.iter().flat_map(|p| p.iter().copied()).collect()
            };
            let mut set = set_of(&ka);
            prop_assert_eq!(set.len(), union(&[&ka]).len());
            set.absorb(set_of(&kb));
            prop_assert_eq!(set.len(), union(&[&ka, &kb]).len());
            // Absorbed keys stay apart (and are counted so) when both sides had keys.
            prop_assert_eq!(set.absorbed.is_empty(), ka.is_empty() || kb.is_empty());

            // A third set merges the second into the first.
            let mut three = set.clone();
            three.absorb(set_of(&kc));
            prop_assert_eq!(three.len(), union(&[&ka, &kb, &kc]).len());
            // So do keys inserted after, counted before and after their merge.
            let mut inserted = set.clone();
            for &k in &kc {
                inserted.insert(k);
            }
            prop_assert_eq!(inserted.len(), union(&[&ka, &kb, &kc]).len());
            inserted.settle();
            prop_assert!(inserted.pending.is_empty() && inserted.absorbed.is_empty());
            prop_assert!(inserted.sorted.iter().eq(union(&[&ka, &kb, &kc]).iter()));
            // And a set absorbed by another hands over all of its keys.
            let mut outer = set_of(&kc);
            outer.absorb(set);
            prop_assert_eq!(outer.len(), union(&[&ka, &kb, &kc]).len());
            prop_assert!(outer.into_sorted().iter().eq(union(&[&ka, &kb, &kc]).iter()));
        }
    }
}
