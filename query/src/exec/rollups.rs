//! Which scan units a segment's site rollups stand for (`docs/FORMAT.md`, "Site rollups").
//!
//! A rollup holds, per `site`, the rows and money sums of a run of whole blocks of one event
//! type and one campaign. A query grouping by `site` with `count()` and sums of those columns
//! (the per-code path of [`super::dense`]) adds the rollup once instead of reading its blocks,
//! provided the WHERE clause holds for every row of every block it covers, as their statistics
//! tell (`campaign_id = '...' AND event_type = 'impression'` does), and the scan holds all of
//! them. The choice is made here, once per query, before the workers start: every worker then
//! sees the same one (the unit that adds the rollup, the others covered by it), so a rollup
//! is never added twice nor a block both added and rolled up.

use std::collections::HashMap;
use std::sync::Arc;

use adstore_storage::{ReadContext, ScanUnit};

use super::meta::{self, BlockStats};
use crate::error::Result;
use crate::plan::TExpr;

/// What a scan unit does under a rollup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RollupUse {
    /// Add the segment's rollup of this index (the first of the scan's units it covers).
    Add(usize),
    /// Nothing: the rollup added by another unit covers this one.
    Covered,
}

/// For each of `units`, whether a rollup stands for it (`None`: the unit is scanned), given
/// the WHERE clause's top-level AND terms.
pub(super) fn plan_rollups(
    units: &[ScanUnit],
    conjuncts: &[&TExpr],
    ctx: &mut ReadContext,
) -> Result<Vec<Option<RollupUse>>> {
    // The scan's units under each rollup, by segment and rollup index.
    let mut under: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for (i, unit) in units.iter().enumerate() {
        if let ScanUnit::Block { segment, block } = unit
            && let Some(r) = segment.rollup_covering(*block)
        {
            under
                .entry((Arc::as_ptr(segment) as usize, r))
                .or_default()
                .push(i);
        }
    }
    let mut uses = vec![None; units.len()];
    for ((_, r), indices) in under {
        let Some(&first) = indices.first() else {
            continue;
        };
        let ScanUnit::Block { segment, .. } = &units[first] else {
            continue;
        };
        let Some(meta) = segment.rollups().get(r) else {
            continue;
        };
        if indices.len() != (meta.end_block - meta.first_block) as usize {
            continue;
        }
        let mut holds = true;
        for b in meta.first_block..meta.end_block {
            let unit = ScanUnit::Block {
                segment: Arc::clone(segment),
                block: b,
            };
            let Some(stats) = BlockStats::of(&unit) else {
                holds = false;
                break;
            };
            for term in conjuncts {
                if meta::decide(term, &stats, ctx)? != Some(true) {
                    holds = false;
                    break;
                }
            }
            if !holds {
                break;
            }
        }
        if holds {
            for &i in &indices {
                uses[i] = Some(RollupUse::Covered);
            }
            uses[first] = Some(RollupUse::Add(r));
        }
    }
    Ok(uses)
}
