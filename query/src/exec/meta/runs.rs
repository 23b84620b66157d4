//! Blocks of one event type and one campaign split into runs of rows with equal group keys:
//! from segment format version 2 on, rows are sorted by (event_type, campaign_id, ts), so in
//! such a block `ts` ascends, and a key that is a monotone function of `ts`
//! (`toStartOfHour(ts)`, `toDate(ts)`, ...) is constant on runs of rows, whose ends a binary
//! search finds. Only `ts` and the aggregates' arguments are decoded.

use adstore_storage::{ColumnData, ColumnId, ColumnKind, ReadContext};

use super::{
    BlockGroup, BlockStats, Contribution, MONOTONE_MICROS, StatEnv, decide, monotone_column,
};
use crate::error::Result;
use crate::eval::eval;
use crate::exec::accum::AggState;
use crate::model::AggFunc;
use crate::plan::{AggPlan, Node, TExpr};
use crate::types::Repr;
use crate::value::Value;

/// How an aggregate folds over one run of rows of a block whose WHERE clause holds for every
/// row; the index is that of the argument among the decoded columns.
#[derive(Debug, Clone, Copy)]
enum RunAgg {
    /// Counts the run's rows, or none when the condition holds for no row.
    Count(bool),
    /// Adds nothing: the condition holds for no row.
    Nothing,
    /// Sums the argument.
    Sum(usize),
    /// The argument's min and max.
    MinMax(usize),
    /// The argument's exact sum and count.
    Avg(usize),
}

/// [`block_groups`] for a block of one event type and one campaign: from format version 2 on,
/// segment rows are sorted by (event_type, campaign_id, ts), so its `ts` ascends, and a key that
/// is a monotone function of `ts` (`toStartOfHour(ts)`, `toDate(ts)`, ...) is constant on runs of
/// rows. Decodes `ts` and the aggregates' arguments only; each run's end is found by binary
/// search; counts, sums, min/max and averages fold over each run's slice.
pub(super) fn ts_runs(
    keys: &[TExpr],
    constant: &[Option<Value>],
    aggs: &[AggPlan],
    states: &[AggState],
    stats: &BlockStats<'_>,
    ctx: &mut ReadContext,
) -> Result<Option<Vec<BlockGroup>>> {
    if stats.segment.footer().format_version < 2
        || [ColumnId::EventType, ColumnId::CampaignId]
            .iter()
            .any(|&c| stats.meta(c).min != stats.meta(c).max)
    {
        return Ok(None);
    }
    let ts_meta = stats.meta(ColumnId::Ts);
    let ts_monotone =
        MONOTONE_MICROS.contains(&ts_meta.min) && MONOTONE_MICROS.contains(&ts_meta.max);
    for (k, c) in keys.iter().zip(constant) {
        match (c, monotone_column(k)) {
            (Some(_), _) | (None, Some((ColumnId::Ts, false))) => {}
            (None, Some((ColumnId::Ts, true))) if ts_monotone => {}
            _ => return Ok(None),
        }
    }
    let mut columns = vec![ColumnId::Ts];
    let mut plans = Vec::with_capacity(aggs.len());
    for (agg, state) in aggs.iter().zip(states) {
        let holds = match &agg.cond {
            None => true,
            Some(c) => match decide(c, stats, ctx)? {
                Some(h) => h,
                None => return Ok(None),
            },
        };
        let arg = match agg.arg.as_ref().map(|a| (&a.node, a.data().repr())) {
            Some((Node::Column(c), repr))
                if (c.kind() == ColumnKind::I64 && repr == Repr::Int)
                    || (c.kind() == ColumnKind::Bool && matches!(repr, Repr::Int | Repr::UInt)) =>
            {
                Some(match columns.iter().position(|x| x == c) {
                    Some(i) => i,
                    None => {
                        columns.push(*c);
                        columns.len() - 1
                    }
                })
            }
            _ => None,
        };
        let (plan, probe) = match (agg.func, arg) {
            (AggFunc::Count, _) => (RunAgg::Count(holds), Contribution::Count(0)),
            _ if !holds => (RunAgg::Nothing, Contribution::Nothing),
            (AggFunc::Sum, Some(i)) => (RunAgg::Sum(i), Contribution::SumInt(0)),
            (AggFunc::Min | AggFunc::Max, Some(i)) => {
                (RunAgg::MinMax(i), Contribution::MinMax(0, 0))
            }
            (AggFunc::Avg, Some(i)) => (RunAgg::Avg(i), Contribution::Avg(0, 0)),
            _ => return Ok(None),
        };
        if !state.takes(probe) {
            return Ok(None);
        }
        plans.push(plan);
    }
    let data = stats.unit.read(&columns, ctx)?;
    let mut values: Vec<std::borrow::Cow<'_, [i64]>> = Vec::with_capacity(data.len());
    for d in &data {
        values.push(match d {
            ColumnData::I64(v) => std::borrow::Cow::Borrowed(&v[..]),
            ColumnData::Bool(v) => {
                std::borrow::Cow::Owned(v.iter().map(|&b| i64::from(b)).collect())
            }
            _ => return Ok(None),
        });
    }
    let ts = &values[0];
    let varying_at = |t: i64| -> Vec<Value> {
        let env = StatEnv {
            values: vec![(ColumnId::Ts, Value::Int(t))],
        };
        keys.iter()
            .zip(constant)
            .filter(|(_, c)| c.is_none())
            .map(|(k, _)| eval(k, &env))
            .collect()
    };
    let mut groups = Vec::new();
    let mut start = 0;
    while start < ts.len() {
        let first = varying_at(ts[start]);
        if first.iter().any(Value::is_null) {
            return Ok(None);
        }
        let end = start
            + ts[start..]
                .partition_point(|&t| varying_at(t) == first)
                .max(1);
        let mut varying = first.into_iter();
        let key: Vec<Value> = constant
            .iter()
            .map(|c| c.clone().or_else(|| varying.next()).unwrap_or(Value::Null))
            .collect();
        let run = start..end;
        let contributions = plans
            .iter()
            .map(|p| match *p {
                RunAgg::Count(holds) => {
                    Contribution::Count(if holds { run.len() as u64 } else { 0 })
                }
                RunAgg::Nothing => Contribution::Nothing,
                RunAgg::Sum(i) => Contribution::SumInt(
                    values[i][run.clone()]
                        .iter()
                        .fold(0i64, |a, &v| a.wrapping_add(v)),
                ),
                RunAgg::MinMax(i) => {
                    let s = &values[i][run.clone()];
                    Contribution::MinMax(
                        s.iter().copied().min().unwrap_or(0),
                        s.iter().copied().max().unwrap_or(0),
                    )
                }
                RunAgg::Avg(i) => Contribution::Avg(
                    values[i][run.clone()].iter().map(|&v| i128::from(v)).sum(),
                    run.len() as u64,
                ),
            })
            .collect();
        groups.push((key, contributions));
        start = end;
    }
    Ok(Some(groups))
}
