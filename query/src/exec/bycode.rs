//! [`ByCode`]: `countIf` and integer `sumIf` whose condition reads one small-domain column
//! (the event type: 4 codes, a boolean such as `won`: 2), decomposed by that column's code.
//!
//! Instead of building a row mask per aggregate and counting it, the scan keeps, per group and
//! per code, one 64-bit total (a row count, or a wrapping sum of the argument) for each distinct
//! (column, argument) pair: one pass over a unit's codes serves every aggregate that reads that
//! column. The condition is evaluated once per code at planning time into a truth table, and
//! the totals of the codes where it holds are folded into the aggregate's ordinary state
//! ([`AggState::Count`], [`AggState::SumInt`]) when the worker's table is merged or finished.
//! Because the codes of these columns mean the same in every segment and memtable chunk, the
//! totals never need folding per unit.
//!
//! The truth table is computed with the row-at-a-time evaluator over each possible value, the
//! same way [`super::predicate`] builds its tables, so a condition that is NULL for a value
//! (never true) counts no row of it, as in the general path.

use adstore_storage::{ColumnData, ColumnId, ColumnKind, EventType};

use super::accum::{AggState, Rows, consecutive, for_runs, long_runs};
use super::predicate::PredCache;
use super::unit::{OneColumnEnv, UnitColumns};
use super::vector::{Vector, eval_num};
use crate::error::{Error, Result};
use crate::eval::eval;
use crate::model::AggFunc;
use crate::plan::{AggPlan, TExpr};
use crate::value::Value;

/// Codes of the largest domain (the event type).
const MAX_CODES: usize = 4;

/// The decomposed aggregates of one [`super::group::GroupTable`] and their per-code totals.
#[derive(Debug)]
pub struct ByCode<'p> {
    totals: Vec<CodeTotals<'p>>,
    /// Per aggregate of the plan: its totals (index into `totals`) and its condition's truth
    /// table by code, when it is decomposed.
    slots: Vec<Option<(usize, [bool; MAX_CODES])>>,
}

/// Per group and code, the row count or the wrapping sum of `arg`, for one column.
#[derive(Debug)]
struct CodeTotals<'p> {
    col: ColumnId,
    /// Codes of the column (4 or 2).
    codes: usize,
    /// The summed argument; `None` counts rows.
    arg: Option<&'p TExpr>,
    /// The codes some aggregate's condition holds for (the others' totals are never read).
    needed: [bool; MAX_CODES],
    /// `codes` totals per group, group-major.
    vals: Vec<i64>,
}

/// The codes of a unit's column.
enum Codes<'a> {
    Types(&'a [EventType]),
    Bools(&'a [bool]),
}

impl<'p> ByCode<'p> {
    /// Finds the aggregates of `aggs` that decompose by code.
    pub fn new(aggs: &'p [AggPlan]) -> ByCode<'p> {
        let mut by = ByCode {
            totals: Vec::new(),
            slots: Vec::with_capacity(aggs.len()),
        };
        for agg in aggs {
            let slot = decomposable(agg).map(|(col, codes, arg, table)| {
                let i = by
                    .totals
                    .iter()
                    .position(|t| t.col == col && t.arg == arg)
                    .unwrap_or_else(|| {
                        by.totals.push(CodeTotals {
                            col,
                            codes,
                            arg,
                            needed: [false; MAX_CODES],
                            vals: Vec::new(),
                        });
                        by.totals.len() - 1
                    });
                let needed = &mut by.totals[i].needed;
                needed.iter_mut().zip(table).for_each(|(n, t)| *n |= t);
                (i, table)
            });
            by.slots.push(slot);
        }
        by
    }

    /// Whether the `i`-th aggregate is decomposed (its state is only updated by [`Self::fold`]).
    pub fn is_decomposed(&self, i: usize) -> bool {
        self.slots.get(i).is_some_and(Option::is_some)
    }

    /// Whether any aggregate is decomposed.
    pub fn is_empty(&self) -> bool {
        self.totals.is_empty()
    }

    /// Adds one empty group.
    pub fn push_group(&mut self) {
        for t in &mut self.totals {
            t.vals.extend(std::iter::repeat_n(0, t.codes));
        }
    }

    /// Adds a unit's rows to the totals.
    pub fn update(&mut self, u: &UnitColumns, rows: Rows<'_>, cache: &mut PredCache) -> Result<()> {
        for t in &mut self.totals {
            let codes = match u.get(t.col)? {
                ColumnData::EventType(v) => Codes::Types(v),
                ColumnData::Bool(v) => Codes::Bools(v),
                _ => {
                    return Err(Error::invalid(format!(
                        "internal: column {} is not a code column",
                        t.col
                    )));
                }
            };
            let arg = match t.arg {
                None => None,
                Some(e) => match eval_num(e, u, cache)? {
                    Vector::Int(v) => Some(v),
                    Vector::Float(_) => {
                        return Err(Error::invalid("internal: a float sum decomposed by code"));
                    }
                },
            };
            let arg = arg.as_deref();
            let needed = t.needed;
            match codes {
                Codes::Types(v) => {
                    tally::<MAX_CODES, _>(&mut t.vals, v, EventType::code, arg, rows, needed);
                }
                Codes::Bools(v) => tally::<2, _>(&mut t.vals, v, u8::from, arg, rows, needed),
            }
        }
        Ok(())
    }

    /// Folds the totals into the decomposed aggregates' states (`states[i]` for the `i`-th
    /// aggregate, with one slot per group already) and clears them.
    pub fn fold(&mut self, states: &mut [AggState]) {
        for (state, slot) in states.iter_mut().zip(&self.slots) {
            let Some((i, table)) = slot else {
                continue;
            };
            let t = &self.totals[*i];
            let per_group = t.vals.chunks_exact(t.codes).map(|c| {
                c.iter()
                    .zip(table)
                    .filter(|&(_, &holds)| holds)
                    .fold(0i64, |a, (&v, _)| a.wrapping_add(v))
            });
            match state {
                AggState::Count(v) => v
                    .iter_mut()
                    .zip(per_group)
                    .for_each(|(a, b)| *a = a.wrapping_add(b.cast_unsigned())),
                AggState::SumInt(v) => v
                    .iter_mut()
                    .zip(per_group)
                    .for_each(|(a, b)| *a = a.wrapping_add(b)),
                // `decomposable` admits only counts and integer sums.
                _ => {}
            }
        }
        for t in &mut self.totals {
            t.vals.iter_mut().for_each(|v| *v = 0);
        }
    }
}

/// The column, its code count, the summed argument and the truth table of a decomposable
/// aggregate: `countIf` or an integer `sumIf` whose condition reads only the event type or a
/// boolean column.
fn decomposable(agg: &AggPlan) -> Option<(ColumnId, usize, Option<&TExpr>, [bool; MAX_CODES])> {
    let cond = agg.cond.as_ref()?;
    let [col] = cond.columns()[..] else {
        return None;
    };
    let arg = match agg.func {
        AggFunc::Count => None,
        AggFunc::Sum if matches!(AggState::new(agg), AggState::SumInt(_)) => {
            Some(agg.arg.as_ref()?)
        }
        _ => return None,
    };
    let mut table = [false; MAX_CODES];
    let holds = |value: Value| eval(cond, &OneColumnEnv { col, value }).is_true();
    let codes = match col.kind() {
        ColumnKind::EventType => {
            for t in EventType::ALL {
                *table.get_mut(usize::from(t.code()))? = holds(Value::Int(i64::from(t.code())));
            }
            MAX_CODES
        }
        ColumnKind::Bool => {
            table[0] = holds(Value::UInt(0));
            table[1] = holds(Value::UInt(1));
            2
        }
        _ => return None,
    };
    Some((col, codes, arg, table))
}

/// Adds the rows of `rows` to `vals` (`K` totals per group) at the code `code(codes[row])`: 1
/// per row, or `arg[row]`.
///
/// Totals are accumulated in registers, branch-free, over each run of rows of one group (rows
/// come sorted by campaign and time, so runs are long): an increment in memory per row would
/// chain every row of a run on the previous one's store. A run of consecutive rows (no WHERE
/// clause, or one that holds over a stretch) is counted over slices, one vectorized pass per
/// code.
fn tally<const K: usize, T: Copy>(
    vals: &mut [i64],
    codes: &[T],
    code: impl Fn(T) -> u8 + Copy,
    arg: Option<&[i64]>,
    rows: Rows<'_>,
    needed: [bool; MAX_CODES],
) {
    fn add<const K: usize>(vals: &mut [i64], g: usize, t: [i64; K]) {
        if let Some(slots) = vals.get_mut(g * K..(g + 1) * K) {
            slots
                .iter_mut()
                .zip(t)
                .for_each(|(v, t)| *v = v.wrapping_add(t));
        }
    }
    match rows {
        Rows::Single { mask, .. } => add(
            vals,
            0,
            slice_totals::<K, T>(codes, code, arg, mask, needed),
        ),
        Rows::Grouped { sel, gids } if !long_runs(gids) => {
            let code_at = |r: u32| codes.get(r as usize).map_or(K, |&t| usize::from(code(t)));
            let weight_at = |r: u32| arg.map_or(1, |x| x.get(r as usize).copied().unwrap_or(0));
            for (&r, &g) in sel.iter().zip(gids) {
                let c = code_at(r);
                if c < K
                    && let Some(v) = vals.get_mut(g as usize * K + c)
                {
                    *v = v.wrapping_add(weight_at(r));
                }
            }
        }
        Rows::Grouped { sel, gids } => for_runs(sel, gids, |g, run| {
            let t = match consecutive(run) {
                Some(span)
                    if span.end <= codes.len() && arg.is_none_or(|x| span.end <= x.len()) =>
                {
                    let arg = arg.and_then(|x| x.get(span.clone()));
                    slice_totals::<K, T>(&codes[span], code, arg, None, needed)
                }
                _ => {
                    let code_at =
                        |r: u32| codes.get(r as usize).map_or(K, |&t| usize::from(code(t)));
                    let weight_at =
                        |r: u32| arg.map_or(1, |x| x.get(r as usize).copied().unwrap_or(0));
                    let mut acc = [0i64; K];
                    for &r in run {
                        let (c, w) = (code_at(r), weight_at(r));
                        for (k, a) in acc.iter_mut().enumerate() {
                            *a = a.wrapping_add(w & -i64::from(c == k));
                        }
                    }
                    acc
                }
            };
            add(vals, g, t);
        }),
    }
}

/// Per `needed` code, the rows of `codes` (where `mask` holds, all when `None`), or the wrapping
/// sum of their `arg`: one pass per code, each a simple loop the compiler vectorizes (when every
/// code is needed, the last code's count is what the others leave); other codes total 0.
fn slice_totals<const K: usize, T: Copy>(
    codes: &[T],
    code: impl Fn(T) -> u8 + Copy,
    arg: Option<&[i64]>,
    mask: Option<&[bool]>,
    needed: [bool; MAX_CODES],
) -> [i64; K] {
    let mut acc = [0i64; K];
    let all_needed = needed[..K].iter().all(|&n| n);
    match arg {
        None if !all_needed => {
            for (k, a) in acc.iter_mut().enumerate() {
                if needed[k] {
                    *a = count_code(codes, code, k as u8, mask);
                }
            }
        }
        None => {
            let all = mask.map_or(codes.len(), count_true) as i64;
            let mut rest = all;
            for (k, a) in acc.iter_mut().enumerate().take(K - 1) {
                *a = count_code(codes, code, k as u8, mask);
                rest -= *a;
            }
            acc[K - 1] = rest;
        }
        Some(x) => {
            for (k, a) in acc.iter_mut().enumerate() {
                if !needed[k] {
                    continue;
                }
                let is = |t: &T| -i64::from(code(*t) == k as u8);
                *a = match mask {
                    None => x
                        .iter()
                        .zip(codes)
                        .fold(0i64, |s, (&x, t)| s.wrapping_add(x & is(t))),
                    Some(m) => x.iter().zip(codes).zip(m).fold(0i64, |s, ((&x, t), &m)| {
                        s.wrapping_add(x & is(t) & -i64::from(m))
                    }),
                };
            }
        }
    }
    acc
}

/// Rows per chunk counted in 8-bit lanes.
const CHUNK: usize = 255;

/// The trues of `m`.
pub(crate) fn count_true(m: &[bool]) -> usize {
    m.chunks(CHUNK)
        .map(|c| usize::from(c.iter().fold(0u8, |a, &b| a.wrapping_add(u8::from(b)))))
        .sum()
}

/// The rows of `codes` whose code is `k` (and where `mask` holds), counted in 8-bit lanes.
fn count_code<T: Copy>(codes: &[T], code: impl Fn(T) -> u8, k: u8, mask: Option<&[bool]>) -> i64 {
    let n: usize = match mask {
        None => codes
            .chunks(CHUNK)
            .map(|c| {
                usize::from(
                    c.iter()
                        .fold(0u8, |a, &t| a.wrapping_add(u8::from(code(t) == k))),
                )
            })
            .sum(),
        Some(m) => codes
            .chunks(CHUNK)
            .zip(m.chunks(CHUNK))
            .map(|(c, m)| {
                usize::from(c.iter().zip(m).fold(0u8, |a, (&t, &m)| {
                    a.wrapping_add(u8::from(m & (code(t) == k)))
                }))
            })
            .sum(),
    };
    n as i64
}
