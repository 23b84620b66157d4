//! [`GroupTable`]: one worker's partial aggregation: groups keyed by their key values, and the
//! aggregate states of every group.
//!
//! Grouping is two-level. Within a unit each key is first mapped to dense *part ids*: a
//! dictionary column by a table indexed by its codes (no string is hashed or compared), other
//! keys by a small hash map; the part ids of several keys are combined into unit-local group ids
//! (a direct table when the product of their counts is small). Only then is each *local* group
//! (a handful per block) looked up by value in the worker's table (hashed from the borrowed
//! values: a string is copied only when its group is new), so the per-row cost is a few array
//! look-ups whatever the key types. Dictionary keys go further: each segment dictionary (or
//! set of them, for several keys whose code combinations number at most 2^20) gets a code →
//! group table, filled as codes are met, so blocks after the first of a segment cost one array
//! look-up per row and no hashing at all. When every aggregate is a `count()` or an integer
//! `sum` and the key is one dictionary column, rows skip group ids altogether: they are totalled
//! per code ([`super::dense`]) and become groups when the worker ends its scan. Worker tables
//! merge by value at the end.

use std::borrow::Cow;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use adstore_storage::{ColumnData, ColumnId, ReadContext, ScanUnit, SegmentReader, StringColumn};
use hashbrown::{DefaultHashBuilder, HashMap, HashTable};

use super::Partial;
use super::accum::{AggState, Rows};
use super::bycode::ByCode;
use super::dense::{DenseCodes, DictTotals};
use super::distinct;
use super::meta::{self, BlockStats, Contribution};
use super::order::{Keyed, sort_and_take};
use super::predicate::PredCache;
use super::rows::selection;
use super::unit::UnitColumns;
use super::vector::{Vector, eval_num, eval_time_rows};
use crate::error::{Error, Result};
use crate::eval::{Env, eval};
use crate::plan::{AggPlan, Node, Plan, SortKey, TExpr};
use crate::types::DataType;
use crate::value::{Value, sort_order};

/// The keys of a table's groups, `width` parts each, stored flat: one cell per part (a
/// number's 64-bit pattern, or the range of a string in one text arena shared by all).
///
/// A key of its own per group (a `Vec` of parts, a `Box<str>` per string) cost two or three
/// allocations per group: `GROUP BY campaign_id, site` over a day at 50M impressions (1.46M
/// groups) spent ~20 % of its time allocating keys, and more freeing them; stored flat it
/// took 2.4 s instead of 3.0 and 630 MB instead of 790.
#[derive(Debug, Default)]
struct GroupKeys {
    /// Parts per key.
    width: usize,
    /// Keys stored (groups without key parts count too).
    groups: usize,
    /// `width` cells per group, group after group.
    cells: Vec<KeyCell>,
    /// Every string part, one after another.
    text: String,
}

/// One part of a stored key.
#[derive(Debug, Clone, Copy)]
enum KeyCell {
    /// A number's 64-bit pattern (integers, dates, times, the event type, floats' bits).
    Bits(i64),
    /// A string: `text[start..end]`.
    Str { start: usize, end: usize },
}

impl GroupKeys {
    fn new(width: usize) -> GroupKeys {
        GroupKeys {
            width,
            ..GroupKeys::default()
        }
    }

    /// The number of groups.
    fn len(&self) -> usize {
        self.groups
    }

    /// Whether no key is stored.
    fn is_empty(&self) -> bool {
        self.groups == 0
    }

    /// Adds the next group's key (`parts.len()` must be the width).
    fn push(&mut self, parts: &[Part<'_>]) {
        debug_assert_eq!(parts.len(), self.width);
        for p in parts {
            self.cells.push(match *p {
                Part::Bits(b) => KeyCell::Bits(b),
                Part::Str(s) => {
                    let start = self.text.len();
                    self.text.push_str(s);
                    KeyCell::Str {
                        start,
                        end: self.text.len(),
                    }
                }
            });
        }
        self.groups += 1;
    }

    fn part(&self, cell: KeyCell) -> Part<'_> {
        match cell {
            KeyCell::Bits(b) => Part::Bits(b),
            KeyCell::Str { start, end } => Part::Str(self.text.get(start..end).unwrap_or_default()),
        }
    }

    /// Part `i` of group `g`'s key.
    fn get(&self, g: usize, i: usize) -> Option<Part<'_>> {
        if i >= self.width {
            return None;
        }
        let cell = *self.cells.get(g * self.width + i)?;
        Some(self.part(cell))
    }

    /// Group `g`'s key.
    fn parts(&self, g: usize) -> impl Iterator<Item = Part<'_>> {
        let cells = self
            .cells
            .get(g * self.width..(g + 1) * self.width)
            .unwrap_or_default();
        cells.iter().map(|&c| self.part(c))
    }

    /// Whether group `g`'s key is `parts`.
    fn is(&self, g: usize, parts: &[Part<'_>]) -> bool {
        parts.len() == self.width && self.parts(g).zip(parts).all(|(a, b)| a == *b)
    }
}

/// One worker's groups and aggregate states.
#[derive(Debug)]
pub struct GroupTable<'p> {
    keys: &'p [TExpr],
    aggs: &'p [AggPlan],
    /// (key hash, group id), hashed by the keys (see [`hash_parts`]); the stored hash spares
    /// most key comparisons and every rehash a visit to the keys.
    index: HashTable<(u64, u32)>,
    hasher: DefaultHashBuilder,
    group_keys: GroupKeys,
    states: Vec<AggState>,
    /// Counts and integer sums whose condition reads one small-domain column, kept per code.
    by_code: ByCode<'p>,
    keep: Option<u64>,
    having: Option<&'p TExpr>,
    /// For keys that are all dictionary columns: per set of segment dictionaries (kept alive,
    /// so their addresses are never reused), the group of each combination of codes
    /// (`u32::MAX`: not met yet).
    dict_groups: HashMap<Vec<usize>, DictGroups>,
    /// Per-code counts and sums for one dictionary key, when every aggregate allows it
    /// ([`super::dense`]); its totals join the states at [`GroupTable::flush_dense`].
    dense: Option<DenseCodes<'p>>,
}

/// Segment dictionaries and the group of each combination of their codes.
type DictGroups = (Vec<Arc<StringColumn>>, Vec<u32>);

/// A unit takes the per-code path for a dictionary not yet pending when it selects at least
/// 1/`DENSE_MIN_FILL` of the dictionary's size in rows.
const DENSE_MIN_FILL: usize = 4;

/// Largest code-combination table for several dictionary keys.
const MAX_DICT_PRODUCT: usize = 1 << 20;

/// A key part, borrowed from a unit's columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Part<'a> {
    Bits(i64),
    Str(&'a str),
}

fn hash_parts<'a>(hasher: &DefaultHashBuilder, parts: impl Iterator<Item = Part<'a>>) -> u64 {
    let mut h = hasher.build_hasher();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

/// A key's values over a unit.
enum KeyCol<'a> {
    Codes(&'a [u32], &'a Arc<StringColumn>),
    Plain(&'a StringColumn),
    Num(Cow<'a, [i64]>),
}

impl KeyCol<'_> {
    fn part(&self, row: usize) -> Part<'_> {
        match self {
            KeyCol::Codes(codes, dict) => Part::Str(dict.get(codes[row] as usize)),
            KeyCol::Plain(s) => Part::Str(s.get(row)),
            KeyCol::Num(v) => Part::Bits(v[row]),
        }
    }
}

impl<'p> GroupTable<'p> {
    /// An empty table for the plan's aggregation; without keys it holds its one group from the
    /// start (an aggregate over no row still answers one row).
    pub fn new(plan: &'p Plan, keys: &'p [TExpr], aggs: &'p [AggPlan]) -> GroupTable<'p> {
        let mut t = GroupTable {
            keys,
            aggs,
            index: HashTable::new(),
            hasher: DefaultHashBuilder::default(),
            group_keys: GroupKeys::new(keys.len()),
            states: aggs.iter().map(AggState::new).collect(),
            by_code: ByCode::new(aggs),
            keep: plan.limit.map(|l| l.saturating_add(plan.offset)),
            having: plan.having.as_ref(),
            dict_groups: HashMap::new(),
            dense: None,
        };
        if t.by_code.is_empty() {
            t.dense = DenseCodes::new(keys, aggs);
        }
        if keys.is_empty() {
            t.group(&[]);
        }
        t
    }

    /// The id of the group with key `parts`, created if new.
    fn group(&mut self, parts: &[Part<'_>]) -> u32 {
        let hash = hash_parts(&self.hasher, parts.iter().copied());
        let keys = &self.group_keys;
        let found = self
            .index
            .find(hash, |&(h, g)| h == hash && keys.is(g as usize, parts));
        if let Some(&(_, g)) = found {
            return g;
        }
        let g = u32::try_from(self.group_keys.len()).unwrap_or(u32::MAX);
        self.index.insert_unique(hash, (hash, g), |&(h, _)| h);
        self.group_keys.push(parts);
        for s in &mut self.states {
            s.push_group();
        }
        self.by_code.push_group();
        g
    }

    /// Group ids for keys that are all dictionary columns, through a table indexed by the
    /// mixed-radix combination of their codes, kept per set of segment dictionaries.
    fn dict_group_ids(&mut self, cols: &[(&[u32], &Arc<StringColumn>)], sel: &[u32]) -> Vec<u32> {
        let ptrs: Vec<usize> = cols.iter().map(|(_, d)| Arc::as_ptr(d) as usize).collect();
        let size: usize = cols.iter().map(|(_, d)| d.len().max(1)).product();
        let (dicts, mut table) = self.dict_groups.remove(&ptrs).unwrap_or_else(|| {
            (
                cols.iter().map(|(_, d)| Arc::clone(d)).collect(),
                vec![u32::MAX; size],
            )
        });
        let mut out = Vec::with_capacity(sel.len());
        let mut parts: Vec<Part<'_>> = Vec::with_capacity(cols.len());
        if let [(codes, dict)] = cols {
            // One key: its code is the index.
            for &r in sel {
                let code = codes[r as usize] as usize;
                let mut g = table[code];
                if g == u32::MAX {
                    g = self.group(&[Part::Str(dict.get(code))]);
                    table[code] = g;
                }
                out.push(g);
            }
            self.dict_groups.insert(ptrs, (dicts, table));
            return out;
        }
        // Row-major index into the table: each column's code times the product of the
        // dictionary sizes after it, computed once (read through each column's dictionary per
        // row, they made this loop ~23 % of Q8's CPU; Q8 at 50M impressions took 6–8 % less).
        let mut strides = vec![1usize; cols.len()];
        for i in (1..cols.len()).rev() {
            strides[i - 1] = strides[i] * cols[i].1.len().max(1);
        }
        let code_cols: Vec<&[u32]> = cols.iter().map(|(codes, _)| *codes).collect();
        let index_of = |r: usize| -> usize {
            match (&code_cols[..], &strides[..]) {
                ([a, b], [sa, _]) => a[r] as usize * sa + b[r] as usize,
                _ => code_cols
                    .iter()
                    .zip(&strides)
                    .map(|(codes, stride)| codes[r] as usize * stride)
                    .sum(),
            }
        };
        for &r in sel {
            let r = r as usize;
            let index = index_of(r);
            let mut g = table[index];
            if g == u32::MAX {
                parts.clear();
                parts.extend(
                    cols.iter()
                        .map(|(codes, dict)| Part::Str(dict.get(codes[r] as usize))),
                );
                g = self.group(&parts);
                table[index] = g;
            }
            out.push(g);
        }
        self.dict_groups.insert(ptrs, (dicts, table));
        out
    }

    /// The table's group id of each selected row.
    fn group_ids(
        &mut self,
        u: &UnitColumns,
        sel: &[u32],
        cache: &mut PredCache,
    ) -> Result<Vec<u32>> {
        if self.keys.is_empty() {
            return Ok(vec![0; sel.len()]);
        }
        let mut cols = Vec::with_capacity(self.keys.len());
        for k in self.keys {
            cols.push(key_col(k, u, sel, cache)?);
        }
        let dict_cols: Vec<(&[u32], &Arc<StringColumn>)> = cols
            .iter()
            .filter_map(|c| match c {
                KeyCol::Codes(codes, dict) => Some((*codes, *dict)),
                _ => None,
            })
            .collect();
        let product = dict_cols
            .iter()
            .try_fold(1usize, |p, (_, d)| p.checked_mul(d.len().max(1)));
        if dict_cols.len() == cols.len()
            && (cols.len() == 1 || product.is_some_and(|p| p <= MAX_DICT_PRODUCT))
        {
            return Ok(self.dict_group_ids(&dict_cols, sel));
        }
        let (mut local, mut reps) = part_ids(&cols[0], sel);
        for col in &cols[1..] {
            let (ids, n) = part_ids(col, sel);
            (local, reps) = combine(&local, reps.len(), &ids, n.len());
        }
        let mut to_global = Vec::with_capacity(reps.len());
        let mut key: Vec<Part<'_>> = Vec::with_capacity(cols.len());
        for &j in &reps {
            let row = sel[j as usize] as usize;
            key.clear();
            key.extend(cols.iter().map(|c| c.part(row)));
            to_global.push(self.group(&key));
        }
        Ok(local.iter().map(|&l| to_global[l as usize]).collect())
    }

    /// Folds a whole block without the per-row path ([`meta::block_groups`]: from its
    /// statistics, by runs of `ts`, or for `uniqExact` of a string by hashing the block's
    /// encoded strings in place), for a block whose WHERE clause holds for every row.
    /// Returns false, having changed nothing, when that cannot be done.
    pub(crate) fn add_summary(
        &mut self,
        stats: &BlockStats<'_>,
        ctx: &mut ReadContext,
    ) -> Result<bool> {
        let Some(groups) = meta::block_groups(self.keys, self.aggs, &self.states, stats, ctx)?
        else {
            return Ok(false);
        };
        for (values, contributions) in groups {
            let parts: Vec<Part<'_>> = values
                .iter()
                .map(|v| match v {
                    Value::Str(s) => Part::Str(s),
                    v => Part::Bits(v.bits()),
                })
                .collect();
            let g = self.group(&parts) as usize;
            for (state, c) in self.states.iter_mut().zip(contributions) {
                match c {
                    Contribution::UniqStrings(col) => {
                        if let Some(set) = state.uniq_exact_set(g) {
                            set.reserve(stats.rows());
                            stats.for_each_string(col, ctx, |bytes| {
                                set.insert(distinct::str_key(bytes));
                            })?;
                        }
                    }
                    c => state.add_summary(g, c),
                }
            }
        }
        Ok(true)
    }

    /// Whether a unit selecting `selected` rows whose key dictionary is `dict` goes to the
    /// per-code totals ([`super::dense`]), making room for its dictionary when too many are
    /// pending. Per-code totals pay for a dictionary-sized table: a unit selecting few rows of
    /// a dictionary not yet pending takes the general path (both add to the same states).
    fn dense_takes(&mut self, dict: &Arc<StringColumn>, selected: usize) -> bool {
        let Some(dense) = &self.dense else {
            return false;
        };
        if !dense.is_pending(dict) && selected.saturating_mul(DENSE_MIN_FILL) < dict.len() {
            return false;
        }
        if dense.is_full_for(dict) {
            self.flush_dense();
        }
        true
    }

    /// Turns the pending per-code totals ([`super::dense`]) into groups and adds them to the
    /// states.
    fn flush_dense(&mut self) {
        self.flush_dense_ranked(&[]);
    }

    /// [`Self::flush_dense`] at the end of a query that keeps its first `keep` groups by
    /// `order`: when the first ORDER BY key is a row count, no other group exists yet and no
    /// HAVING looks at every group, only the key values whose count can place within `keep`
    /// (ties kept) become groups; the others could never be output. Q5's top 10 of ~5,000
    /// sites looks up 10 groups instead of 5,000, in the serial tail of the query. Those
    /// values come from [`DenseCodes::top_by_rows`] when its bound decides (counts descending),
    /// or else from one merge of the dictionaries by value.
    fn flush_dense_ranked(&mut self, order: &[SortKey]) {
        let Some(mut dense) = self.dense.take() else {
            return;
        };
        let pending = dense.take();
        let ranked = match (order.first(), self.keep) {
            (Some(first), Some(keep)) if self.having.is_none() && self.group_keys.is_empty() => {
                match first.expr.node {
                    Node::Agg(i) if dense.counts_rows(i) => Some((first.descending, keep)),
                    _ => None,
                }
            }
            _ => None,
        };
        match ranked {
            None => DenseCodes::for_each_value(&pending, |value, hits| {
                self.add_dense_group(&dense, &pending, value, hits);
            }),
            Some((descending, keep)) => {
                let keep = usize::try_from(keep).unwrap_or(usize::MAX);
                let top = if descending {
                    DenseCodes::top_by_rows(&pending, keep)
                } else {
                    None
                };
                match top {
                    Some(top) => {
                        for k in top {
                            self.add_dense_group(&dense, &pending, k.value, &k.hits);
                        }
                    }
                    None => self.add_dense_groups_placed(&dense, &pending, descending, keep),
                }
            }
        }
        self.dense = Some(dense);
    }

    /// Adds the groups of the key values that can place within the first `keep` by row count
    /// (`descending` or not; ties kept), the dictionaries merged by value once.
    fn add_dense_groups_placed(
        &mut self,
        dense: &DenseCodes<'_>,
        pending: &[DictTotals],
        descending: bool,
        keep: usize,
    ) {
        // Each key value with its hits (flat, `ends[i]` closing value `i`'s) and its rows.
        let mut values: Vec<&str> = Vec::new();
        let mut hits_of: Vec<(usize, usize)> = Vec::new();
        let mut ends: Vec<usize> = Vec::new();
        let mut counts: Vec<u64> = Vec::new();
        DenseCodes::for_each_value(pending, |value, hits| {
            values.push(value);
            hits_of.extend_from_slice(hits);
            ends.push(hits_of.len());
            counts.push(DenseCodes::rows_of(pending, hits));
        });
        // The `keep`-th best count; `None` (few values) keeps all.
        let best_first = |a: &u64, b: &u64| if descending { b.cmp(a) } else { a.cmp(b) };
        let pivot = (keep > 0 && keep.saturating_mul(4) < counts.len()).then(|| {
            let mut ranks = counts.clone();
            *ranks.select_nth_unstable_by(keep - 1, best_first).1
        });
        let mut start = 0;
        for ((value, &end), count) in values.into_iter().zip(&ends).zip(&counts) {
            let hits = hits_of.get(start..end).unwrap_or_default();
            start = end;
            if pivot.is_none_or(|p| best_first(count, &p) != std::cmp::Ordering::Greater) {
                self.add_dense_group(dense, pending, value, hits);
            }
        }
    }

    /// Adds the per-code totals of one key value (its `hits`, as
    /// [`DenseCodes::for_each_value`] gives them) to its group.
    fn add_dense_group(
        &mut self,
        dense: &DenseCodes<'_>,
        pending: &[DictTotals],
        value: &str,
        hits: &[(usize, usize)],
    ) {
        let g = self.group(&[Part::Str(value)]) as usize;
        for &(d, code) in hits {
            if let Some(t) = pending.get(d) {
                dense.add_to(t, code, &mut self.states, g);
            }
        }
    }

    /// Whether segments' site rollups can stand for the blocks they cover (the per-code path
    /// over `site`, summing only columns the rollups sum).
    pub fn takes_rollups(&self) -> bool {
        self.dense.as_ref().is_some_and(DenseCodes::takes_rollups)
    }

    /// Merges another worker's table into this one.
    pub fn merge(&mut self, mut other: GroupTable<'_>) {
        // Per-code totals add up before any becomes a group (the tables share their plan).
        if let (Some(mine), Some(theirs)) = (&mut self.dense, &mut other.dense) {
            mine.absorb(theirs);
        }
        other.flush_dense();
        other.by_code.fold(&mut other.states);
        let keys = std::mem::take(&mut other.group_keys);
        let mut parts: Vec<Part<'_>> = Vec::with_capacity(keys.width);
        for src in 0..keys.len() {
            parts.clear();
            parts.extend(keys.parts(src));
            let dst = self.group(&parts) as usize;
            for (a, b) in self.states.iter_mut().zip(other.states.iter_mut()) {
                a.merge(dst, b, src);
            }
        }
    }

    /// The final rows: outputs per group, sorted (ties and unordered queries by outputs), at
    /// most offset + limit of them.
    pub fn finish(mut self, outputs: &[TExpr], order: &[SortKey]) -> Vec<Vec<Value>> {
        self.flush_dense_ranked(order);
        self.by_code.fold(&mut self.states);
        let candidates = self.top_candidates(order);
        let mut rows = Vec::with_capacity(candidates.len());
        for g in candidates {
            let env = GroupEnv {
                keys: self
                    .group_keys
                    .parts(g)
                    .zip(self.keys)
                    .map(|(p, k)| match p {
                        Part::Bits(b) => Value::from_bits(b, k.data()),
                        Part::Str(s) => Value::Str(s.to_string()),
                    })
                    .collect(),
                aggs: self
                    .states
                    .iter()
                    .zip(self.aggs)
                    .map(|(s, a)| s.value(g, a.ty.data))
                    .collect(),
            };
            if self.having.is_some_and(|h| !eval(h, &env).is_true()) {
                continue;
            }
            rows.push(Keyed {
                outputs: outputs.iter().map(|o| eval(o, &env)).collect(),
                keys: order.iter().map(|k| eval(&k.expr, &env)).collect(),
            });
        }
        sort_and_take(rows, order, self.keep)
            .into_iter()
            .map(|r| r.outputs)
            .collect()
    }

    /// The groups that can be among the first `offset + limit` rows, in group order: with a
    /// LIMIT over many groups (and no HAVING), those the first ORDER BY key alone does not put
    /// after the limit's last row (a group strictly after the `keep`-th best first key has at
    /// least `keep` groups strictly before it), so outputs and the other keys are computed for
    /// those only: Q5 keeps 10 of ~5,000 sites. All groups otherwise.
    fn top_candidates(&self, order: &[SortKey]) -> Vec<usize> {
        let n = self.group_keys.len();
        let keep = self
            .keep
            .map_or(usize::MAX, |k| usize::try_from(k).unwrap_or(usize::MAX));
        let Some(first) = order.first() else {
            return (0..n).collect();
        };
        if self.having.is_some() || keep == 0 || keep.saturating_mul(4) >= n {
            return (0..n).collect();
        }
        let firsts: Vec<Value> = (0..n)
            .map(|g| eval(&first.expr, &LazyGroupEnv { table: self, g }))
            .collect();
        let cmp = |a: &Value, b: &Value| sort_order(a, b, first.descending, first.nulls_first);
        let mut idx: Vec<usize> = (0..n).collect();
        idx.select_nth_unstable_by(keep - 1, |&a, &b| cmp(&firsts[a], &firsts[b]));
        let pivot = &firsts[idx[keep - 1]];
        (0..n)
            .filter(|&g| cmp(&firsts[g], pivot) != std::cmp::Ordering::Greater)
            .collect()
    }
}

/// One group of a table as an evaluation environment, its values made only when asked.
struct LazyGroupEnv<'t, 'p> {
    table: &'t GroupTable<'p>,
    g: usize,
}

impl Env for LazyGroupEnv<'_, '_> {
    fn column(&self, _c: adstore_storage::ColumnId) -> Value {
        Value::Null
    }
    fn key(&self, i: usize) -> Value {
        match (self.table.group_keys.get(self.g, i), self.table.keys.get(i)) {
            (Some(Part::Bits(b)), Some(k)) => Value::from_bits(b, k.data()),
            (Some(Part::Str(s)), Some(_)) => Value::Str(s.to_string()),
            _ => Value::Null,
        }
    }
    fn agg(&self, i: usize) -> Value {
        match (self.table.states.get(i), self.table.aggs.get(i)) {
            (Some(s), Some(a)) => s.value(self.g, a.ty.data),
            _ => Value::Null,
        }
    }
}

impl Partial for GroupTable<'_> {
    fn add_unit(
        &mut self,
        u: &UnitColumns,
        mask: Option<&[bool]>,
        cache: &mut PredCache,
        _index: usize,
    ) -> Result<usize> {
        if let Some(dense) = &self.dense {
            let dict = Arc::clone(dense.key_codes(u)?.1);
            let selected = mask.map_or(u.rows(), super::bycode::count_true);
            if self.dense_takes(&dict, selected) {
                if let Some(dense) = &mut self.dense {
                    dense.add(u, mask, cache)?;
                }
                return Ok(0);
            }
        }
        let rows_of = |sel, gids| match (sel, gids) {
            (Some(sel), Some(gids)) => Rows::Grouped { sel, gids },
            _ => Rows::Single { mask, n: u.rows() },
        };
        let (sel, gids);
        let (sel_ref, gids_ref) = if self.keys.is_empty() {
            (None, None)
        } else {
            sel = selection(mask, u.rows());
            if sel.is_empty() {
                return Ok(0);
            }
            gids = self.group_ids(u, &sel, cache)?;
            (Some(&sel[..]), Some(&gids[..]))
        };
        for (i, (state, agg)) in self.states.iter_mut().zip(self.aggs).enumerate() {
            if !self.by_code.is_decomposed(i) {
                state.update(agg, u, rows_of(sel_ref, gids_ref), cache)?;
            }
        }
        if !self.by_code.is_empty() {
            self.by_code.update(u, rows_of(sel_ref, gids_ref), cache)?;
        }
        Ok(0)
    }

    fn add_summary(&mut self, stats: &BlockStats<'_>, ctx: &mut ReadContext) -> Result<bool> {
        GroupTable::add_summary(self, stats, ctx)
    }

    fn add_streamed(&mut self, unit: &ScanUnit, ctx: &mut ReadContext) -> Result<bool> {
        let (Some(dense), ScanUnit::Block { segment, block }) = (&self.dense, unit) else {
            return Ok(false);
        };
        if !dense.streams() {
            return Ok(false);
        }
        let dict = segment.dictionary(dense.key(), ctx)?;
        if !self.dense_takes(&dict, unit.rows()) {
            return Ok(false);
        }
        match &mut self.dense {
            Some(dense) => dense.add_streamed(segment, *block, &dict, ctx),
            None => Ok(false),
        }
    }

    fn add_rollup(
        &mut self,
        segment: &SegmentReader,
        rollup: usize,
        ctx: &mut ReadContext,
    ) -> Result<()> {
        if !self.takes_rollups() {
            return Err(Error::invalid(
                "internal: a site rollup for a table that takes none",
            ));
        }
        let dict = segment.dictionary(ColumnId::Site, ctx)?;
        if self.dense.as_ref().is_some_and(|d| d.is_full_for(&dict)) {
            self.flush_dense();
        }
        let summary = segment.rollup(rollup, ctx)?;
        match &mut self.dense {
            Some(dense) => dense.add_rollup(&dict, &summary),
            None => Ok(()),
        }
    }

    fn enough(&self, _produced: u64) -> bool {
        false
    }

    fn end_worker(&mut self) {
        for state in &mut self.states {
            state.settle();
        }
    }
}

/// A key's values over the unit, read at the rows `sel` (the others may hold anything).
fn key_col<'a>(
    k: &TExpr,
    u: &'a UnitColumns,
    sel: &[u32],
    cache: &mut PredCache,
) -> Result<KeyCol<'a>> {
    if k.data() == DataType::String {
        let Node::Column(c) = k.node else {
            return Err(Error::invalid("internal: a computed string group key"));
        };
        return Ok(match u.get(c)? {
            ColumnData::Dict { dictionary, codes } => KeyCol::Codes(codes, dictionary),
            ColumnData::Strings(s) => KeyCol::Plain(s),
            _ => return Err(Error::invalid("internal: a string key decoded as numbers")),
        });
    }
    // A time bucket over a few selected rows: computed for those rows only.
    if sel.len() * 8 < u.rows()
        && let Some(v) = eval_time_rows(k, u, sel)?
    {
        return Ok(KeyCol::Num(Cow::Owned(v)));
    }
    Ok(KeyCol::Num(match eval_num(k, u, cache)? {
        Vector::Int(v) => v,
        Vector::Float(v) => Cow::Owned(v.iter().map(|f| f.to_bits().cast_signed()).collect()),
    }))
}

/// Dense ids of a key's values over the selected rows, and for each id the position (in `sel`)
/// of its first row.
fn part_ids(col: &KeyCol<'_>, sel: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let mut ids = Vec::with_capacity(sel.len());
    let mut reps: Vec<u32> = Vec::new();
    let assign = |slot: &mut u32, j: usize, reps: &mut Vec<u32>| {
        if *slot == u32::MAX {
            *slot = reps.len() as u32;
            reps.push(j as u32);
        }
        *slot
    };
    match col {
        KeyCol::Codes(codes, dict) => {
            let mut table = vec![u32::MAX; dict.len()];
            for (j, &r) in sel.iter().enumerate() {
                let code = codes[r as usize] as usize;
                ids.push(assign(&mut table[code], j, &mut reps));
            }
        }
        KeyCol::Plain(s) => {
            let mut map: HashMap<&str, u32> = HashMap::new();
            for (j, &r) in sel.iter().enumerate() {
                let slot = map.entry(s.get(r as usize)).or_insert(u32::MAX);
                ids.push(assign(slot, j, &mut reps));
            }
        }
        KeyCol::Num(v) => {
            let mut map: HashMap<i64, u32> = HashMap::new();
            for (j, &r) in sel.iter().enumerate() {
                let slot = map.entry(v[r as usize]).or_insert(u32::MAX);
                ids.push(assign(slot, j, &mut reps));
            }
        }
    }
    (ids, reps)
}

/// Combines two id columns (with `na` and `nb` distinct ids) into one dense id column, and the
/// first position of each combined id.
fn combine(a: &[u32], na: usize, b: &[u32], nb: usize) -> (Vec<u32>, Vec<u32>) {
    let mut ids = Vec::with_capacity(a.len());
    let mut reps: Vec<u32> = Vec::new();
    if na.saturating_mul(nb) <= 1 << 16 {
        let mut table = vec![u32::MAX; na * nb];
        for (j, (&x, &y)) in a.iter().zip(b).enumerate() {
            let slot = &mut table[x as usize * nb + y as usize];
            if *slot == u32::MAX {
                *slot = reps.len() as u32;
                reps.push(j as u32);
            }
            ids.push(*slot);
        }
    } else {
        let mut map: HashMap<(u32, u32), u32> = HashMap::new();
        for (j, (&x, &y)) in a.iter().zip(b).enumerate() {
            let slot = map.entry((x, y)).or_insert(u32::MAX);
            if *slot == u32::MAX {
                *slot = reps.len() as u32;
                reps.push(j as u32);
            }
            ids.push(*slot);
        }
    }
    (ids, reps)
}

/// A group as an evaluation environment of the final stage.
struct GroupEnv {
    keys: Vec<Value>,
    aggs: Vec<Value>,
}

impl Env for GroupEnv {
    fn column(&self, _c: adstore_storage::ColumnId) -> Value {
        Value::Null
    }
    fn key(&self, i: usize) -> Value {
        self.keys.get(i).cloned().unwrap_or(Value::Null)
    }
    fn agg(&self, i: usize) -> Value {
        self.aggs.get(i).cloned().unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_keys_hand_back_what_was_stored() {
        let mut keys = GroupKeys::new(3);
        assert!(keys.is_empty());
        keys.push(&[Part::Str("cmp-1"), Part::Bits(-7), Part::Str("")]);
        keys.push(&[Part::Str("é"), Part::Bits(i64::MAX), Part::Str("site-2")]);
        assert_eq!(keys.len(), 2);
        let second: Vec<Part<'_>> = keys.parts(1).collect();
        assert_eq!(
            second,
            [Part::Str("é"), Part::Bits(i64::MAX), Part::Str("site-2")]
        );
        assert_eq!(keys.get(0, 0), Some(Part::Str("cmp-1")));
        assert_eq!(keys.get(0, 2), Some(Part::Str("")));
        assert_eq!(keys.get(0, 3), None);
        assert_eq!(keys.get(2, 0), None);
        assert!(keys.is(0, &[Part::Str("cmp-1"), Part::Bits(-7), Part::Str("")]));
        assert!(!keys.is(0, &[Part::Str("cmp-1"), Part::Bits(-7), Part::Str("x")]));
        assert!(!keys.is(0, &[Part::Str("cmp-1"), Part::Bits(-7)]));
        // No key parts: groups still count.
        let mut none = GroupKeys::new(0);
        none.push(&[]);
        assert_eq!(none.len(), 1);
        assert!(none.is(0, &[]));
        assert_eq!(none.parts(0).count(), 0);
    }
}
