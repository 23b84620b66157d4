//! Plain row selection ([`RowSink`]): the selected rows' outputs and sort keys, computed row at a
//! time. With ORDER BY and LIMIT a worker keeps only its best `offset + limit` rows (top-k,
//! compacted as it goes); without ORDER BY rows keep their scan position, and the answer is the
//! first rows in scan order (segments and blocks in storage order), so it is deterministic.

use super::Partial;
use super::order::{Keyed, sort_and_take};
use super::predicate::PredCache;
use super::unit::{RowEnv, UnitColumns};
use crate::error::Result;
use crate::eval::eval;
use crate::plan::{Plan, SortKey, TExpr};
use crate::value::Value;

/// The rows of a unit of `n` rows where `mask` holds (all when `None`), as row indices.
///
/// Branch-free: every row index is written at the next free slot, which only advances when
/// the row is selected, so a mask that selects rows at random costs no misprediction.
pub fn selection(mask: Option<&[bool]>, n: usize) -> Vec<u32> {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    match mask {
        None => (0..n).collect(),
        Some(m) => {
            let mut out = vec![0u32; m.len()];
            let mut k = 0usize;
            for (&t, r) in m.iter().zip(0..n) {
                if let Some(slot) = out.get_mut(k) {
                    *slot = r;
                }
                k += usize::from(t);
            }
            out.truncate(k);
            out
        }
    }
}

/// One worker's selected rows.
#[derive(Debug)]
pub struct RowSink<'p> {
    outputs: &'p [TExpr],
    order: &'p [SortKey],
    keep: Option<u64>,
    rows: Vec<(u64, Keyed)>,
}

impl<'p> RowSink<'p> {
    /// An empty sink; `keep` is offset + limit.
    pub fn new(plan: &'p Plan, outputs: &'p [TExpr], keep: Option<u64>) -> RowSink<'p> {
        RowSink {
            outputs,
            order: &plan.order,
            keep,
            rows: Vec::new(),
        }
    }

    fn compact(&mut self) {
        let rows = std::mem::take(&mut self.rows);
        let (seqs, keyed): (Vec<u64>, Vec<Keyed>) = rows.into_iter().unzip();
        drop(seqs);
        self.rows = sort_and_take(keyed, self.order, self.keep)
            .into_iter()
            .map(|k| (0, k))
            .collect();
    }

    /// The final rows of all workers, in answer order (at most offset + limit when ordered).
    pub fn finish(partials: Vec<RowSink<'_>>, order: &[SortKey]) -> Vec<Vec<Value>> {
        let keep = partials.first().and_then(|p| p.keep);
        let mut all: Vec<(u64, Keyed)> = partials.into_iter().flat_map(|p| p.rows).collect();
        if order.is_empty() {
            all.sort_unstable_by_key(|(seq, _)| *seq);
            return all.into_iter().map(|(_, k)| k.outputs).collect();
        }
        let keyed = all.into_iter().map(|(_, k)| k).collect();
        sort_and_take(keyed, order, keep)
            .into_iter()
            .map(|k| k.outputs)
            .collect()
    }
}

impl Partial for RowSink<'_> {
    fn add_unit(
        &mut self,
        u: &UnitColumns,
        mask: Option<&[bool]>,
        _cache: &mut PredCache,
        index: usize,
    ) -> Result<usize> {
        let sel = selection(mask, u.rows());
        for &r in &sel {
            let env = RowEnv {
                unit: u,
                row: r as usize,
            };
            let keyed = Keyed {
                outputs: self.outputs.iter().map(|o| eval(o, &env)).collect(),
                keys: self.order.iter().map(|k| eval(&k.expr, &env)).collect(),
            };
            self.rows
                .push((((index as u64) << 32) | u64::from(r), keyed));
        }
        if !self.order.is_empty()
            && let Some(k) = self.keep
            && self.rows.len() as u64 > k.saturating_mul(2).saturating_add(4096)
        {
            self.compact();
        }
        Ok(sel.len())
    }

    fn enough(&self, produced: u64) -> bool {
        self.order.is_empty() && self.keep.is_some_and(|k| produced >= k)
    }
}
