//! [`DenseCodes`]: `count()` and integer `sum(x)` grouped by one dictionary column (Q5's
//! `GROUP BY site`), accumulated per dictionary code and turned into groups once per
//! dictionary.
//!
//! When the group key changes on almost every row, the general path builds a row selection,
//! maps each row's code to a group id, then folds each aggregate through those ids. Here a
//! unit's rows go straight into one array indexed by the key's code, holding per code its row
//! count and the wrapping sum of each summed argument side by side (one pass over the rows,
//! one cache line per row), for each segment dictionary met (kept alive, so its address is
//! never reused while its totals wait). The WHERE mask is applied branch-free
//! (a row outside it adds 0), so no selection is built either. A segment block whose WHERE
//! clause holds for every row does not even decode into a unit: its key codes and summed
//! integer columns stream 64 rows at a time from their encoded blocks into the totals
//! ([`DenseCodes::add_streamed`], `SegmentReader::stream_codes_with_ints`).
//!
//! When worker tables merge, the totals of one dictionary add up cell by cell
//! ([`DenseCodes::absorb`]); only when the merged table is finished, or a worker has more than
//! [`MAX_DICTS`] dictionaries pending, are the codes with at least one row looked up by value
//! ([`super::group::GroupTable`]'s `group`) and their totals added to the ordinary states:
//! once per dictionary and code met, whatever the number of blocks and workers.
//!
//! A code with no selected row creates no group, as in the general path; memtable chunks
//! (with chunk-local dictionaries) take the same path. A unit that selects few rows for the
//! size of a dictionary not yet pending (a selective WHERE over a large dictionary) takes the
//! general path instead: both add to the same states, so a worker may mix them freely.

use std::sync::Arc;

use adstore_storage::codec::bitpack::BLOCK_LEN;
use adstore_storage::codec::ints::first_outside;
use adstore_storage::segment::SiteRollup;
use adstore_storage::snapshot::binary_search;
use adstore_storage::{
    ColumnData, ColumnId, ColumnKind, MAX_STREAMED_INTS, ReadContext, SegmentReader, StringColumn,
};

use super::accum::AggState;
use super::predicate::PredCache;
use super::unit::UnitColumns;
use super::vector::{Vector, eval_num};
use crate::error::{Error, Result};
use crate::model::AggFunc;
use crate::plan::{AggPlan, Node, TExpr};

/// Most dictionaries whose totals a worker keeps before turning them into groups.
pub const MAX_DICTS: usize = 16;

/// Per-code totals of one worker for a single dictionary group key.
#[derive(Debug)]
pub struct DenseCodes<'p> {
    /// The key column.
    key: ColumnId,
    /// Per aggregate of the plan: `None` counts rows, `Some(k)` sums `args[k]`.
    aggs: Vec<Option<usize>>,
    /// The distinct summed arguments (several sums of one argument share their totals).
    args: Vec<&'p TExpr>,
    /// The dictionaries met since the last flush, with their totals.
    pending: Vec<DictTotals>,
    /// The summed arguments as integer columns, when each is one (and few enough) so that
    /// segment blocks can stream into the totals ([`DenseCodes::add_streamed`]).
    streamed: Option<Vec<ColumnId>>,
}

/// The totals of the rows whose key is a code of `dict`.
#[derive(Debug)]
pub struct DictTotals {
    /// The dictionary (kept alive: its address identifies it).
    pub dict: Arc<StringColumn>,
    /// Per code, `stride` cells: its selected rows, then the wrapping sum of each distinct
    /// argument. Interleaved so that a row's updates touch one cache line, not one per array.
    cells: Vec<i64>,
    stride: usize,
}

impl DictTotals {
    fn new(dict: &Arc<StringColumn>, args: usize) -> DictTotals {
        let stride = 1 + args;
        DictTotals {
            dict: Arc::clone(dict),
            cells: vec![0; dict.len() * stride],
            stride,
        }
    }

    /// Codes in the dictionary.
    fn codes(&self) -> usize {
        self.cells.len() / self.stride
    }

    /// Selected rows of `code`.
    fn rows(&self, code: usize) -> u64 {
        self.cells
            .get(code * self.stride)
            .map_or(0, |&n| n.cast_unsigned())
    }

    /// The wrapping sum of distinct argument `k` over the selected rows of `code`.
    fn sum(&self, k: usize, code: usize) -> Option<i64> {
        self.cells.get(code * self.stride + 1 + k).copied()
    }
}

impl<'p> DenseCodes<'p> {
    /// The per-code path for `keys` and `aggs`, when it applies: one key that is a dictionary
    /// column, every aggregate a `count()` or an integer `sum` without `-If` condition.
    pub fn new(keys: &'p [TExpr], aggs: &'p [AggPlan]) -> Option<DenseCodes<'p>> {
        let [key] = keys else {
            return None;
        };
        let Node::Column(col) = key.node else {
            return None;
        };
        if col.kind() != ColumnKind::DictString {
            return None;
        }
        let mut slots = Vec::with_capacity(aggs.len());
        let mut args: Vec<&TExpr> = Vec::new();
        for agg in aggs {
            if agg.cond.is_some() {
                return None;
            }
            match (agg.func, AggState::new(agg)) {
                (AggFunc::Count, _) => slots.push(None),
                (AggFunc::Sum, AggState::SumInt(_)) => {
                    let arg = agg.arg.as_ref()?;
                    let k = match args.iter().position(|a| *a == arg) {
                        Some(k) => k,
                        None => {
                            args.push(arg);
                            args.len() - 1
                        }
                    };
                    slots.push(Some(k));
                }
                _ => return None,
            }
        }
        let streamed = (args.len() <= MAX_STREAMED_INTS)
            .then(|| {
                args.iter()
                    .map(|a| match a.node {
                        Node::Column(c) if c.kind() == ColumnKind::I64 => Some(c),
                        _ => None,
                    })
                    .collect()
            })
            .flatten();
        Some(DenseCodes {
            key: col,
            aggs: slots,
            args,
            pending: Vec::new(),
            streamed,
        })
    }

    /// The key column.
    pub fn key(&self) -> ColumnId {
        self.key
    }

    /// Whether segment blocks may stream into the totals.
    pub fn streams(&self) -> bool {
        self.streamed.is_some()
    }

    /// Whether a segment's site rollups can stand for the blocks they cover: the key is
    /// `site` and every summed argument a column the rollups sum.
    pub fn takes_rollups(&self) -> bool {
        self.key == ColumnId::Site
            && self
                .streamed
                .as_ref()
                .is_some_and(|cols| cols.iter().all(|&c| SiteRollup::sum_index(c).is_some()))
    }

    /// Adds a site rollup of a segment whose `site` dictionary is `dict`: its rows and sums
    /// per code, in place of the blocks it covers (whose every row the WHERE clause selects).
    pub fn add_rollup(&mut self, dict: &Arc<StringColumn>, rollup: &SiteRollup) -> Result<()> {
        let Some(columns) = &self.streamed else {
            return Err(Error::invalid(
                "internal: a rollup for sums that do not stream",
            ));
        };
        let sums: Vec<&[i64]> = columns
            .iter()
            .map(|&c| {
                SiteRollup::sum_index(c)
                    .and_then(|i| rollup.sums.get(i))
                    .map(Vec::as_slice)
                    .ok_or_else(|| Error::invalid(format!("internal: rollups do not sum {c}")))
            })
            .collect::<Result<_>>()?;
        let at = self.totals_at(dict);
        let Some(totals) = self.pending.get_mut(at) else {
            return Ok(());
        };
        let stride = totals.stride;
        for (k, (&code, &rows)) in rollup.codes.iter().zip(&rollup.rows).enumerate() {
            // The reader checked every code against the dictionary.
            let Some(cell) = totals
                .cells
                .get_mut(code as usize * stride..(code as usize + 1) * stride)
            else {
                return Err(Error::invalid(format!(
                    "internal: rollup code {code} past a dictionary of {}",
                    dict.len()
                )));
            };
            cell[0] += rows;
            for (s, column) in cell[1..].iter_mut().zip(&sums) {
                *s = s.wrapping_add(column.get(k).copied().unwrap_or(0));
            }
        }
        Ok(())
    }

    /// Adds every row of block `block` of `segment`, whose key dictionary is `dict`, decoding
    /// the key's codes and the summed columns 64 rows at a time straight into the totals:
    /// no column is materialized, no mask applies. False (nothing added) when the block's
    /// encodings do not stream; the caller then decodes it.
    pub fn add_streamed(
        &mut self,
        segment: &SegmentReader,
        block: u32,
        dict: &Arc<StringColumn>,
        ctx: &mut ReadContext,
    ) -> Result<bool> {
        let at = self.totals_at(dict);
        let (Some(columns), Some(totals)) = (&self.streamed, self.pending.get_mut(at)) else {
            return Ok(false);
        };
        let cells = &mut totals.cells;
        // `cells` holds `1 + columns.len()` cells for each code of the dictionary: a code
        // without cells is not below its length, which fails the block.
        Ok(
            segment.stream_codes_with_ints(block, self.key, columns, ctx, |n, codes, values| {
                accumulate_chunk(cells, &codes[..n], values, n)
            })?,
        )
    }

    /// The index of `dict`'s totals in `pending`, added when new.
    fn totals_at(&mut self, dict: &Arc<StringColumn>) -> usize {
        match self.pending.iter().position(|d| Arc::ptr_eq(&d.dict, dict)) {
            Some(i) => i,
            None => {
                self.pending.push(DictTotals::new(dict, self.args.len()));
                self.pending.len() - 1
            }
        }
    }

    /// Whether totals for `dict` are pending.
    pub fn is_pending(&self, dict: &Arc<StringColumn>) -> bool {
        self.pending.iter().any(|d| Arc::ptr_eq(&d.dict, dict))
    }

    /// Whether a unit whose key dictionary is `dict` needs a flush first (too many pending).
    pub fn is_full_for(&self, dict: &Arc<StringColumn>) -> bool {
        self.pending.len() >= MAX_DICTS && !self.is_pending(dict)
    }

    /// The key column's codes and dictionary in `u`.
    pub fn key_codes<'u>(&self, u: &'u UnitColumns) -> Result<(&'u [u32], &'u Arc<StringColumn>)> {
        match u.get(self.key)? {
            ColumnData::Dict { dictionary, codes } => Ok((codes, dictionary)),
            _ => Err(Error::invalid(format!(
                "internal: group key {} not in dictionary form",
                self.key
            ))),
        }
    }

    /// Adds the unit's rows where `mask` holds (all when `None`).
    pub fn add(
        &mut self,
        u: &UnitColumns,
        mask: Option<&[bool]>,
        cache: &mut PredCache,
    ) -> Result<()> {
        let (codes, dict) = self.key_codes(u)?;
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            match eval_num(arg, u, cache)? {
                Vector::Int(v) => values.push(v),
                Vector::Float(_) => {
                    return Err(Error::invalid("internal: a float sum in per-code totals"));
                }
            }
        }
        let at = self.totals_at(dict);
        let totals = &mut self.pending[at];
        if first_outside(codes, totals.codes() as u64).is_some()
            || values.iter().any(|v| v.len() != codes.len())
            || mask.is_some_and(|m| m.len() != codes.len())
        {
            return Err(Error::invalid(
                "internal: a key code outside its dictionary",
            ));
        }
        let cells = &mut totals.cells;
        match mask {
            None => accumulate(cells, codes, &values, |_| -1),
            Some(m) => accumulate(cells, codes, &values, |r| -i64::from(m[r])),
        }
        Ok(())
    }

    /// Adds another worker's pending totals to these: cell by cell where both hold totals of
    /// one dictionary, by taking them over where only `other` does. The merge of worker
    /// tables calls this before either turns its totals into groups, so each (dictionary,
    /// code) becomes a group once per query, not once per worker and then again in the merge.
    pub fn absorb(&mut self, other: &mut DenseCodes<'_>) {
        for theirs in other.pending.drain(..) {
            match self
                .pending
                .iter_mut()
                .find(|mine| Arc::ptr_eq(&mine.dict, &theirs.dict))
            {
                Some(mine) => {
                    for (a, b) in mine.cells.iter_mut().zip(&theirs.cells) {
                        *a = a.wrapping_add(*b);
                    }
                }
                None => self.pending.push(theirs),
            }
        }
    }

    /// The pending totals, leaving none.
    pub fn take(&mut self) -> Vec<DictTotals> {
        std::mem::take(&mut self.pending)
    }

    /// Calls `f(value, hits)` once per distinct key value with rows in `pending`, `hits` being
    /// the (dictionary index, code) pairs of that value: a merge of the sorted dictionaries, so
    /// a value met in several segments is looked up once. Segment dictionaries are sorted and
    /// distinct (the reader checks it) and so are memtable chunks' (built so), so each value
    /// comes exactly once: the ranked flush of a top-k counts on it.
    pub fn for_each_value<'d>(
        pending: &'d [DictTotals],
        mut f: impl FnMut(&'d str, &[(usize, usize)]),
    ) {
        let next_met = |t: &DictTotals, from: usize| {
            (from..t.codes())
                .find(|&c| t.rows(c) > 0)
                .unwrap_or(t.codes())
        };
        let mut heads: Vec<usize> = pending.iter().map(|t| next_met(t, 0)).collect();
        let mut hits: Vec<(usize, usize)> = Vec::with_capacity(pending.len());
        loop {
            // One comparison per head finds the least value and the heads that hold it.
            let mut least: Option<&str> = None;
            hits.clear();
            for (d, (t, &c)) in pending.iter().zip(&heads).enumerate() {
                if c >= t.codes() {
                    continue;
                }
                let v = t.dict.get(c);
                match least.map(|l| v.cmp(l)) {
                    Some(std::cmp::Ordering::Greater) => {}
                    Some(std::cmp::Ordering::Equal) => hits.push((d, c)),
                    Some(std::cmp::Ordering::Less) | None => {
                        least = Some(v);
                        hits.clear();
                        hits.push((d, c));
                    }
                }
            }
            let Some(value) = least else {
                return;
            };
            for &(d, c) in &hits {
                if let (Some(h), Some(t)) = (heads.get_mut(d), pending.get(d)) {
                    *h = next_met(t, c + 1);
                }
            }
            f(value, &hits);
        }
    }

    /// The key values with the most rows, for a top-`keep` by row count (descending) without
    /// merging every dictionary by value: a superset of those whose rows are at least the
    /// `keep`-th most (ties kept). `None` when the bound below cannot tell, and the caller
    /// merges them all.
    ///
    /// Fagin's threshold: from each dictionary only its codes with more rows than its
    /// `depth`-th most are candidates; each candidate value is looked up in every dictionary
    /// (sorted: a binary search) for its exact total. A value that is no candidate has, in
    /// each dictionary, at most that dictionary's `depth`-th most rows, so at most the sum of
    /// those: when that sum is below the `keep`-th best exact total, no such value can place.
    /// With the skew of real traffic (a few sites take most impressions) this holds, and Q5's
    /// top 10 sites of seven ~9,000-code dictionaries reads a few hundred codes instead of
    /// merging 63,000 strings.
    pub fn top_by_rows(pending: &[DictTotals], keep: usize) -> Option<Vec<KeyHits<'_>>> {
        let depth = keep.saturating_mul(4).max(32);
        let mut bound = 0u64;
        let mut candidates: Vec<&str> = Vec::new();
        for t in pending {
            let mut counts: Vec<u64> = (0..t.codes()).map(|c| t.rows(c)).collect();
            let least = if counts.len() > depth {
                *counts.select_nth_unstable_by(depth - 1, |a, b| b.cmp(a)).1
            } else {
                0
            };
            // `least` is the `depth`-th most (0 in a small dictionary: every code with rows
            // is a candidate); a code with no more rows than that is no candidate.
            bound = bound.saturating_add(least);
            candidates.extend(
                (0..t.codes())
                    .filter(|&c| t.rows(c) > 0 && t.rows(c) > least)
                    .map(|c| t.dict.get(c)),
            );
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut found: Vec<KeyHits<'_>> = candidates
            .into_iter()
            .map(|value| {
                let hits: Vec<(usize, usize)> = pending
                    .iter()
                    .enumerate()
                    .filter_map(|(d, t)| {
                        binary_search(&t.dict, value)
                            .filter(|&c| t.rows(c) > 0)
                            .map(|c| (d, c))
                    })
                    .collect();
                let rows = Self::rows_of(pending, &hits);
                KeyHits { value, hits, rows }
            })
            .collect();
        if keep == 0 || found.len() < keep {
            return None;
        }
        let mut totals: Vec<u64> = found.iter().map(|f| f.rows).collect();
        let kth = *totals.select_nth_unstable_by(keep - 1, |a, b| b.cmp(a)).1;
        if bound >= kth {
            return None;
        }
        found.retain(|f| f.rows >= kth);
        Some(found)
    }

    /// Whether aggregate `i` of the plan counts rows.
    pub fn counts_rows(&self, i: usize) -> bool {
        matches!(self.aggs.get(i), Some(None))
    }

    /// The rows of one key value: the sum over its `hits` (as [`Self::for_each_value`] gives
    /// them) of each code's selected rows.
    pub fn rows_of(pending: &[DictTotals], hits: &[(usize, usize)]) -> u64 {
        hits.iter()
            .filter_map(|&(d, code)| pending.get(d).map(|t| t.rows(code)))
            .fold(0u64, u64::wrapping_add)
    }

    /// Adds code `code`'s totals of `t` to group `g` of `states` (one per aggregate).
    pub fn add_to(&self, t: &DictTotals, code: usize, states: &mut [AggState], g: usize) {
        for (state, slot) in states.iter_mut().zip(&self.aggs) {
            match (state, slot) {
                (AggState::Count(v), None) => {
                    if let Some(v) = v.get_mut(g) {
                        *v += t.rows(code);
                    }
                }
                (AggState::SumInt(v), Some(k)) => {
                    if let (Some(v), Some(s)) = (v.get_mut(g), t.sum(*k, code)) {
                        *v = v.wrapping_add(s);
                    }
                }
                // `new` admits only counts and integer sums.
                _ => {}
            }
        }
    }
}

/// One key value met in the pending dictionaries.
#[derive(Debug)]
pub struct KeyHits<'d> {
    /// The value.
    pub value: &'d str,
    /// Its (dictionary index, code) pairs, as [`DenseCodes::for_each_value`] gives them.
    pub hits: Vec<(usize, usize)>,
    /// Its selected rows over those codes.
    pub rows: u64,
}

/// Adds a streamed chunk of `n` rows to the cells, as [`accumulate`] does for a unit with no
/// mask: `codes` and, per summed argument, the chunk's values in its first `n` slots. Returns
/// the first code that has no cells (negative, or not below the dictionary's length: the
/// reader leaves that check to this bounds check), having added the rows before it.
#[inline(always)]
fn accumulate_chunk(
    cells: &mut [i64],
    codes: &[i64],
    values: &[[i64; BLOCK_LEN]],
    n: usize,
) -> Option<i64> {
    // In the common shapes the look-up of a code's cells is its bounds check.
    match values {
        [] => {
            for &c in codes {
                let Some(count) = usize::try_from(c).ok().and_then(|c| cells.get_mut(c)) else {
                    return Some(c);
                };
                *count += 1;
            }
        }
        [x] => {
            let (pairs, _) = cells.as_chunks_mut::<2>();
            for (&c, &x) in codes.iter().zip(&x[..n]) {
                let Some([count, sum]) = usize::try_from(c).ok().and_then(|c| pairs.get_mut(c))
                else {
                    return Some(c);
                };
                *count += 1;
                *sum = sum.wrapping_add(x);
            }
        }
        xs => {
            let stride = 1 + xs.len();
            // Codes with cells: `c as u64` of a negative code is above any of them.
            let with_cells = (cells.len() / stride) as u64;
            for (r, &c) in codes.iter().enumerate() {
                if c as u64 >= with_cells {
                    return Some(c);
                }
                let cell = &mut cells[c as usize * stride..(c as usize + 1) * stride];
                cell[0] += 1;
                for (s, x) in cell[1..].iter_mut().zip(xs) {
                    *s = s.wrapping_add(x[r]);
                }
            }
        }
    }
    None
}

/// Adds each row `r` of `codes` to its code's cells (`1 + values.len()` per code, as
/// [`DictTotals`] lays them out) when `take(r)` is -1 (all bits set), and nothing when it is 0:
/// branch-free, one pass over the rows, the common shapes (a count alone, a count and one sum)
/// unrolled.
#[inline(always)]
fn accumulate(
    cells: &mut [i64],
    codes: &[u32],
    values: &[std::borrow::Cow<'_, [i64]>],
    take: impl Fn(usize) -> i64,
) {
    let stride = 1 + values.len();
    match values {
        [] => {
            for (r, &c) in codes.iter().enumerate() {
                cells[c as usize] -= take(r);
            }
        }
        [x] => {
            for (r, (&c, &x)) in codes.iter().zip(x.iter()).enumerate() {
                let t = take(r);
                // `stride` is 2 here; the constant keeps the slice's length known.
                let cell = &mut cells[c as usize * 2..c as usize * 2 + 2];
                cell[0] -= t;
                cell[1] = cell[1].wrapping_add(x & t);
            }
        }
        xs => {
            for (r, &c) in codes.iter().enumerate() {
                let t = take(r);
                let cell = &mut cells[c as usize * stride..(c as usize + 1) * stride];
                cell[0] -= t;
                for (s, x) in cell[1..].iter_mut().zip(xs) {
                    *s = s.wrapping_add(x[r] & t);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_chunk_adds_up_per_code() {
        // Three codes, a count and one sum each.
        let mut cells = vec![0i64; 6];
        let mut x = [[0i64; BLOCK_LEN]; 1];
        x[0][..3].copy_from_slice(&[10, 20, 30]);
        assert_eq!(accumulate_chunk(&mut cells, &[0, 2, 0], &x, 3), None);
        assert_eq!(cells, [2, 40, 0, 0, 1, 20]);
    }

    #[test]
    fn a_code_without_cells_is_reported_not_folded() {
        // The reader leaves the dictionary check of streamed codes to this bounds check: a
        // code of a corrupt block (negative, or past the dictionary) must come back, for every
        // number of summed columns.
        for sums in 0..3 {
            let stride = 1 + sums;
            let values = vec![[7i64; BLOCK_LEN]; sums];
            for bad in [3, -1, i64::MAX, i64::MIN] {
                let mut cells = vec![0i64; 3 * stride];
                assert_eq!(
                    accumulate_chunk(&mut cells, &[1, bad, 2], &values, 3),
                    Some(bad),
                    "{sums} sums, code {bad}"
                );
                assert_eq!(cells[stride], 1, "the rows before it are added");
                assert_eq!(cells[2 * stride], 0, "the rows after it are not");
            }
        }
    }
}
