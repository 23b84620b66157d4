//! Blocks answered from their footer statistics: a segment block's per-column min, max and sum
//! ([`adstore_storage::BlockMeta`]) often decide a query's WHERE clause, its group keys and its
//! aggregates for every row of the block at once, as ORC's stripe statistics or ClickHouse's
//! min/max-count projection do.
//!
//! - `decide`: whether a condition holds for every row of a block, for none, or depends on
//!   the row. A condition over columns constant in the block (min = max) is evaluated once; a
//!   comparison `<`, `<=`, `>`, `>=` of a column (or of a time function of it, which is
//!   monotone) with a constant holds for every row when it holds at both the block's min and max,
//!   and for none when it fails at both; AND and OR combine. A WHERE that holds for every row
//!   needs no decoding of its columns and no row mask.
//! - `constant_key`: a group key's value when it is the same in every row: a key over constant
//!   columns, or a time bucket (`toStartOfHour(ts)`, `toDate(ts)`, ...) equal at the block's
//!   first and last time.
//! - `summary`: an aggregate's contribution from the statistics alone: `count()` is the row
//!   count, `countIf(c)` the row count or 0 when `c` is decided (the block's sum when `c` is a
//!   bool column), `sum`/`sumIf` the stored sum, `min`/`max` the stored extremes, `avg` sum and
//!   count (when the sum cannot have wrapped); `uniqExact` of `user_id` hashes the block's
//!   encoded strings in place, without decoding them into a column.
//!
//! Rows are sorted by (event_type, campaign_id, ts) in a segment, so most blocks hold one event
//! type of one campaign over a short time: totals, per-campaign and per-hour counts and sums then
//! read no column at all. A block that any part of this cannot decide is scanned as before, so
//! the statistics only ever shorten the work, never change an answer.

use std::sync::Arc;

use adstore_storage::{BlockMeta, ColumnId, ColumnKind, ReadContext, ScanUnit, SegmentReader};

use super::accum::AggState;

mod runs;

use crate::error::Result;
use crate::eval::{Env, eval};
use crate::model::{AggFunc, CmpOp};
use crate::plan::{AggPlan, Node, TExpr};
use crate::types::Repr;
use crate::value::Value;

/// The statistics of one segment block.
pub(crate) struct BlockStats<'a> {
    unit: &'a ScanUnit,
    segment: &'a Arc<SegmentReader>,
    block: u32,
    rows: usize,
}

/// What one aggregate adds to a group for a whole block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Contribution {
    /// Nothing: the aggregate's condition holds for no row.
    Nothing,
    /// Rows counted.
    Count(u64),
    /// An integer sum (wrapping).
    SumInt(i64),
    /// The smallest and largest value.
    MinMax(i64, i64),
    /// An exact sum and its count, for `avg`.
    Avg(i128, u64),
    /// For `uniqExact` of a plain string column: every row's value, hashed from the block's
    /// encoded strings in place (the caller reads them: [`BlockStats::for_each_string`]).
    UniqStrings(ColumnId),
}

/// Times for which every time function is monotone over the block: `toUnixTimestamp` is a
/// `UInt32` and `toDate` a day count from 1970, so both wrap outside [1970, 2106).
const MONOTONE_MICROS: std::ops::Range<i64> = 0..(1i64 << 32) * 1_000_000;

impl<'a> BlockStats<'a> {
    /// The statistics of a segment block; `None` for memtable rows, which have none.
    pub fn of(unit: &'a ScanUnit) -> Option<BlockStats<'a>> {
        match unit {
            ScanUnit::Block { segment, block } => Some(BlockStats {
                unit,
                segment,
                block: *block,
                rows: unit.rows(),
            }),
            ScanUnit::Memtable { .. } => None,
        }
    }

    /// Rows in the block.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Calls `f` with each row's value of the plain string column `col`, read in place.
    pub fn for_each_string(
        &self,
        col: ColumnId,
        ctx: &mut ReadContext,
        f: impl FnMut(&[u8]),
    ) -> Result<()> {
        Ok(self.segment.for_each_string(col, self.block, ctx, f)?)
    }

    fn meta(&self, c: ColumnId) -> &BlockMeta {
        self.segment.block_meta(c, self.block)
    }

    /// Whether the stored min and max of `c` order its values (plain strings store none).
    fn ordered(c: ColumnId) -> bool {
        c.kind() != ColumnKind::PlainString
    }

    /// The value of column `c` whose stored statistic is `stat`, as a row of the block would
    /// give it to the evaluator (as [`super::unit::UnitColumns::value`] does).
    fn value_of(&self, c: ColumnId, stat: i64, ctx: &mut ReadContext) -> Result<Value> {
        Ok(match c.kind() {
            ColumnKind::DictString => {
                let dict = self.segment.dictionary(c, ctx)?;
                let code = usize::try_from(stat).unwrap_or(usize::MAX);
                if code >= dict.len() {
                    return Ok(Value::Null);
                }
                Value::Str(dict.get(code).to_owned())
            }
            ColumnKind::I64 | ColumnKind::EventType => Value::Int(stat),
            ColumnKind::Bool => Value::UInt(stat.cast_unsigned()),
            ColumnKind::PlainString => Value::Null,
        })
    }

    /// The value every row of the block has in `c`, if they all have the same.
    fn constant(&self, c: ColumnId, ctx: &mut ReadContext) -> Result<Option<Value>> {
        let m = self.meta(c);
        if !Self::ordered(c) || m.min != m.max {
            return Ok(None);
        }
        let v = self.value_of(c, m.min, ctx)?;
        Ok((!v.is_null()).then_some(v))
    }

    /// An environment where every column of `e` has its block-constant value, if all have one.
    fn constant_env(&self, e: &TExpr, ctx: &mut ReadContext) -> Result<Option<StatEnv>> {
        let mut env = StatEnv::default();
        for c in e.columns() {
            match self.constant(c, ctx)? {
                Some(v) => env.values.push((c, v)),
                None => return Ok(None),
            }
        }
        Ok(Some(env))
    }

    /// For a monotone function of one ordered column (the column itself, or time functions of
    /// it), the environments at the block's min and max of that column.
    fn endpoint_envs(&self, e: &TExpr) -> Option<[StatEnv; 2]> {
        let (c, timed) = monotone_column(e)?;
        // Only integers: their statistics order their values as the evaluator compares them.
        if c.kind() != ColumnKind::I64 {
            return None;
        }
        let m = self.meta(c);
        if timed && !(MONOTONE_MICROS.contains(&m.min) && MONOTONE_MICROS.contains(&m.max)) {
            return None;
        }
        let at = |stat| StatEnv {
            values: vec![(c, Value::Int(stat))],
        };
        Some([at(m.min), at(m.max)])
    }
}

/// Column values for [`eval`]; any other column is NULL (never asked for: callers cover every
/// column of the expression).
#[derive(Debug, Default)]
struct StatEnv {
    values: Vec<(ColumnId, Value)>,
}

impl Env for StatEnv {
    fn column(&self, c: ColumnId) -> Value {
        self.values
            .iter()
            .find(|(k, _)| *k == c)
            .map_or(Value::Null, |(_, v)| v.clone())
    }
}

/// The column `e` is a monotone non-decreasing function of, and whether time functions are
/// applied: `e` is the column itself or time functions of it.
fn monotone_column(e: &TExpr) -> Option<(ColumnId, bool)> {
    match &e.node {
        Node::Column(c) => Some((*c, false)),
        Node::Time(_, inner) => monotone_column(inner).map(|(c, _)| (c, true)),
        _ => None,
    }
}

/// Whether `e` holds for every row of the block (`Some(true)`), for none (`Some(false)`: false
/// or NULL), or depends on the row (`None`).
pub(crate) fn decide(
    e: &TExpr,
    stats: &BlockStats<'_>,
    ctx: &mut ReadContext,
) -> Result<Option<bool>> {
    if let Some(env) = stats.constant_env(e, ctx)? {
        return Ok(Some(eval(e, &env).is_true()));
    }
    Ok(match &e.node {
        Node::And(a, b) => match (decide(a, stats, ctx)?, decide(b, stats, ctx)?) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Node::Or(a, b) => match (decide(a, stats, ctx)?, decide(b, stats, ctx)?) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Node::Cmp(CmpOp::Lt | CmpOp::LtEq | CmpOp::Gt | CmpOp::GtEq, a, b) => {
            // A half-line in a monotone function of one column: the truth at both ends of the
            // block's range is the truth in between.
            let side = match (a.as_const(), b.as_const()) {
                (None, Some(_)) => a,
                (Some(_), None) => b,
                _ => return Ok(None),
            };
            match stats.endpoint_envs(side) {
                Some([lo, hi]) => {
                    let (at_lo, at_hi) = (eval(e, &lo).is_true(), eval(e, &hi).is_true());
                    (at_lo == at_hi).then_some(at_lo)
                }
                None => None,
            }
        }
        _ => None,
    })
}

/// A group key's value when every row of the block has the same (never NULL).
pub(crate) fn constant_key(
    key: &TExpr,
    stats: &BlockStats<'_>,
    ctx: &mut ReadContext,
) -> Result<Option<Value>> {
    let value = if let Some(env) = stats.constant_env(key, ctx)? {
        eval(key, &env)
    } else if let Some([lo, hi]) = stats.endpoint_envs(key) {
        // Monotone: equal at both ends, equal in between.
        let (at_lo, at_hi) = (eval(key, &lo), eval(key, &hi));
        if at_lo != at_hi {
            return Ok(None);
        }
        at_lo
    } else {
        return Ok(None);
    };
    Ok((!value.is_null()).then_some(value))
}

/// What `agg` adds to its group over the whole block, from the statistics alone; `None` when
/// they cannot tell.
pub(crate) fn summary(
    agg: &AggPlan,
    stats: &BlockStats<'_>,
    ctx: &mut ReadContext,
) -> Result<Option<Contribution>> {
    let rows = stats.rows() as u64;
    let cond = match &agg.cond {
        None => true,
        Some(c) => match decide(c, stats, ctx)? {
            Some(holds) => holds,
            // countIf(bool column): the block's count of true.
            None => {
                return Ok(match (&agg.func, &c.node) {
                    (AggFunc::Count, Node::Column(col)) if col.kind() == ColumnKind::Bool => stats
                        .meta(*col)
                        .sum
                        .map(|s| Contribution::Count(s.cast_unsigned())),
                    _ => None,
                });
            }
        },
    };
    if agg.func == AggFunc::Count {
        // count(x) counts every row: planning admits no NULL-producing argument.
        return Ok(Some(Contribution::Count(if cond { rows } else { 0 })));
    }
    if agg.func == AggFunc::UniqExact {
        return Ok(match agg.arg.as_ref().map(|a| &a.node) {
            _ if !cond => Some(Contribution::Nothing),
            Some(Node::Column(c))
                if c.kind() == ColumnKind::PlainString && *c != ColumnId::EventId =>
            {
                Some(Contribution::UniqStrings(*c))
            }
            _ => None,
        });
    }
    let Some(Node::Column(col)) = agg.arg.as_ref().map(|a| &a.node) else {
        return Ok(None);
    };
    // Statistics are signed 64-bit: an i64 column read as signed, or a bool (0 or 1).
    let repr = agg.arg.as_ref().map(|a| a.data().repr());
    let fits = match col.kind() {
        ColumnKind::I64 => repr == Some(Repr::Int),
        ColumnKind::Bool => matches!(repr, Some(Repr::Int | Repr::UInt)),
        _ => false,
    };
    if !fits {
        return Ok(None);
    }
    if !cond {
        return Ok(match agg.func {
            AggFunc::Sum => Some(Contribution::SumInt(0)),
            AggFunc::Min | AggFunc::Max => Some(Contribution::Nothing),
            AggFunc::Avg => Some(Contribution::Avg(0, 0)),
            _ => None,
        });
    }
    let m = stats.meta(*col);
    Ok(match agg.func {
        AggFunc::Sum => m.sum.map(Contribution::SumInt),
        AggFunc::Min | AggFunc::Max => Some(Contribution::MinMax(m.min, m.max)),
        AggFunc::Avg => {
            // The stored sum wraps at 64 bits; it is exact when no partial sum can leave i64.
            let bound = i128::from(m.min.unsigned_abs().max(m.max.unsigned_abs()));
            let exact = bound * i128::from(rows) <= i128::from(i64::MAX);
            m.sum
                .filter(|_| exact)
                .map(|s| Contribution::Avg(i128::from(s), rows))
        }
        _ => None,
    })
}

/// One group's share of a block: its key values and what each aggregate adds to it.
pub(crate) type BlockGroup = (Vec<Value>, Vec<Contribution>);

/// The groups of a block whose WHERE clause holds for every row, found without the per-row
/// path: one group from the statistics alone when every key is constant and [`summary`]
/// answers every aggregate; otherwise, in a block of one event type and one campaign (whose
/// rows are in `ts` order), runs of rows with equal keys found by binary search on `ts`, for
/// keys that are constant or time buckets of `ts` (see [`runs`]). `None` when neither
/// applies. `states` are the aggregates' states, which must take each contribution.
pub(crate) fn block_groups(
    keys: &[TExpr],
    aggs: &[AggPlan],
    states: &[AggState],
    stats: &BlockStats<'_>,
    ctx: &mut ReadContext,
) -> Result<Option<Vec<BlockGroup>>> {
    let mut constant = Vec::with_capacity(keys.len());
    for k in keys {
        constant.push(constant_key(k, stats, ctx)?);
    }
    if constant.iter().all(Option::is_some) {
        let mut contributions = Vec::with_capacity(aggs.len());
        for (agg, state) in aggs.iter().zip(states) {
            match summary(agg, stats, ctx)? {
                Some(c) if state.takes(c) => contributions.push(c),
                _ => break,
            }
        }
        if contributions.len() == aggs.len() {
            return Ok(Some(vec![(
                constant.into_iter().flatten().collect(),
                contributions,
            )]));
        }
    }
    runs::ts_runs(keys, &constant, aggs, states, stats, ctx)
}
