//! The final order of result rows: ORDER BY keys with ClickHouse's NULL and NaN placement, ties
//! broken by the output values in ascending order (so every answer is deterministic), then
//! offset and limit.

use std::cmp::Ordering;

use crate::plan::SortKey;
use crate::value::{Value, sort_order};

/// A result row before ordering: its output values and its sort key values.
#[derive(Debug, Clone)]
pub struct Keyed {
    /// Output values, in select order.
    pub outputs: Vec<Value>,
    /// ORDER BY key values.
    pub keys: Vec<Value>,
}

/// The order of two rows under `order`, ties broken by outputs.
pub fn compare(a: &Keyed, b: &Keyed, order: &[SortKey]) -> Ordering {
    for (i, k) in order.iter().enumerate() {
        let o = sort_order(&a.keys[i], &b.keys[i], k.descending, k.nulls_first);
        if o != Ordering::Equal {
            return o;
        }
    }
    for (x, y) in a.outputs.iter().zip(&b.outputs) {
        let o = sort_order(x, y, false, false);
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Sorts `rows` and keeps the first `keep` (all when `None`).
pub fn sort_and_take(mut rows: Vec<Keyed>, order: &[SortKey], keep: Option<u64>) -> Vec<Keyed> {
    let keep = keep.map_or(usize::MAX, |k| usize::try_from(k).unwrap_or(usize::MAX));
    if keep == 0 {
        return Vec::new();
    }
    if keep < rows.len() {
        rows.select_nth_unstable_by(keep - 1, |a, b| compare(a, b, order));
        rows.truncate(keep);
    }
    // Unstable: rows that compare equal have equal keys and outputs (up to a float zero's
    // sign), so their order hardly shows, and it depended on which worker met a group first
    // anyway. Sorting in place spares the stable sort's buffer: 1.46M groups sorted 9 %
    // faster (2.32–2.36 → 2.09–2.16 s for the whole query) with 33 MB less.
    rows.sort_unstable_by(|a, b| compare(a, b, order));
    rows
}

/// Skips `offset` rows and keeps at most `limit`.
pub fn page(rows: Vec<Vec<Value>>, offset: u64, limit: Option<u64>) -> Vec<Vec<Value>> {
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    rows.into_iter().skip(offset).take(limit).collect()
}
