//! [`AggState`]: the partial state of one aggregate for every group of a [`super::group::GroupTable`],
//! stored column-wise (one vector per state field, indexed by group id); how a unit's selected
//! rows update it, how two partial states merge, and the final value.
//!
//! Semantics (ClickHouse's): integer sums wrap at 64 bits; `min`/`max` over no row give the
//! type's zero; `avg` over no row is `nan` (integer sums are exact in 128 bits before the
//! division); `uniqExact` keeps, per group, the exact set of values (numbers by their 64-bit
//! pattern, strings by a 128-bit xxh3 hash, as ClickHouse keeps a 128-bit SipHash: a collision
//! needs ~2^64 distinct strings), as the sorted keys of a [`super::distinct::DistinctSet`];
//! `uniq` is the HyperLogLog of [`super::hll`].

use std::borrow::Cow;

use adstore_storage::ColumnData;

use super::distinct::{self, DistinctSet};
use super::hll::{Hll, hash_bits, hash_str};
use super::meta::Contribution;
use super::predicate::{PredCache, eval_pred};
use super::unit::UnitColumns;
use super::vector::{Vector, eval_num};
use crate::error::{Error, Result};
use crate::model::AggFunc;
use crate::plan::{AggPlan, TExpr};
use crate::types::{DataType, Repr};
use crate::value::Value;

/// The states of one aggregate, one slot per group.
#[derive(Debug, Clone)]
pub enum AggState {
    /// `count`.
    Count(Vec<u64>),
    /// Integer `sum`, wrapping.
    SumInt(Vec<i64>),
    /// Float `sum`.
    SumFloat(Vec<f64>),
    /// `min`/`max` of integers (and dates, times, the event type, booleans).
    MinMaxInt {
        /// `max` rather than `min`.
        max: bool,
        /// Compare as unsigned.
        unsigned: bool,
        /// Best value so far.
        vals: Vec<i64>,
        /// Whether a value was seen.
        seen: Vec<bool>,
    },
    /// `min`/`max` of floats.
    MinMaxFloat {
        /// `max` rather than `min`.
        max: bool,
        /// Best value so far.
        vals: Vec<f64>,
        /// Whether a value was seen.
        seen: Vec<bool>,
    },
    /// `min`/`max` of strings.
    MinMaxStr {
        /// `max` rather than `min`.
        max: bool,
        /// Best value so far.
        vals: Vec<Option<Box<str>>>,
    },
    /// `avg` of integers: exact sum and count.
    AvgInt {
        /// Read values as unsigned.
        unsigned: bool,
        /// Sums.
        sum: Vec<i128>,
        /// Counts.
        n: Vec<u64>,
    },
    /// `avg` of floats.
    AvgFloat {
        /// Sums.
        sum: Vec<f64>,
        /// Counts.
        n: Vec<u64>,
    },
    /// `uniqExact`: the distinct values (or string hashes).
    UniqExact(Vec<DistinctSet>),
    /// `uniq`: a sketch per group.
    Uniq(Vec<Hll>),
}

/// Which rows of a unit an update takes, and their groups.
#[derive(Debug, Clone, Copy)]
pub enum Rows<'a> {
    /// One group (no GROUP BY): the rows where `mask` holds (all when `None`) of `n`.
    Single {
        /// The WHERE mask.
        mask: Option<&'a [bool]>,
        /// Rows in the unit.
        n: usize,
    },
    /// The selected rows and the group id of each.
    Grouped {
        /// Row indices.
        sel: &'a [u32],
        /// One group id per selected row.
        gids: &'a [u32],
    },
}

/// An aggregate's argument over a unit.
enum Arg<'a> {
    None,
    Int(Cow<'a, [i64]>),
    Float(Cow<'a, [f64]>),
    Str(&'a ColumnData),
}

impl Arg<'_> {
    fn str_at(&self, row: usize) -> &str {
        match self {
            Arg::Str(c) => c.str_at(row).unwrap_or(""),
            _ => "",
        }
    }
}

impl AggState {
    /// An empty state (no group) for `agg`.
    pub fn new(agg: &AggPlan) -> AggState {
        let arg = agg.arg.as_ref().map(TExpr::data);
        let repr = arg.map(DataType::repr);
        let max = agg.func == AggFunc::Max;
        match agg.func {
            AggFunc::Count => AggState::Count(Vec::new()),
            AggFunc::Sum if repr == Some(Repr::Float) => AggState::SumFloat(Vec::new()),
            AggFunc::Sum => AggState::SumInt(Vec::new()),
            AggFunc::Min | AggFunc::Max => match repr {
                Some(Repr::Float) => AggState::MinMaxFloat {
                    max,
                    vals: Vec::new(),
                    seen: Vec::new(),
                },
                Some(Repr::Str) => AggState::MinMaxStr {
                    max,
                    vals: Vec::new(),
                },
                _ => AggState::MinMaxInt {
                    max,
                    unsigned: repr == Some(Repr::UInt),
                    vals: Vec::new(),
                    seen: Vec::new(),
                },
            },
            AggFunc::Avg if repr == Some(Repr::Float) => AggState::AvgFloat {
                sum: Vec::new(),
                n: Vec::new(),
            },
            AggFunc::Avg => AggState::AvgInt {
                unsigned: repr == Some(Repr::UInt),
                sum: Vec::new(),
                n: Vec::new(),
            },
            AggFunc::UniqExact => AggState::UniqExact(Vec::new()),
            AggFunc::Uniq => AggState::Uniq(Vec::new()),
        }
    }

    /// Whether [`AggState::add_summary`] takes `c` (the contribution [`super::meta::summary`]
    /// computed for this state's aggregate).
    pub(crate) fn takes(&self, c: Contribution) -> bool {
        matches!(
            (self, c),
            (_, Contribution::Nothing)
                | (AggState::Count(_), Contribution::Count(_))
                | (AggState::SumInt(_), Contribution::SumInt(_))
                | (AggState::MinMaxInt { .. }, Contribution::MinMax(..))
                | (AggState::AvgInt { .. }, Contribution::Avg(..))
                | (AggState::UniqExact(_), Contribution::UniqStrings(_))
        )
    }

    /// Group `g`'s set of a `uniqExact` state (values and string hashes as
    /// [`AggState::update`] inserts them: strings by [`distinct::str_key`]).
    pub(crate) fn uniq_exact_set(&mut self, g: usize) -> Option<&mut DistinctSet> {
        match self {
            AggState::UniqExact(sets) => sets.get_mut(g),
            _ => None,
        }
    }

    /// Adds a whole block's contribution to group `g` (one [`AggState::takes`]; the caller
    /// inserts [`Contribution::UniqStrings`] itself, through [`AggState::uniq_exact_set`]).
    pub(crate) fn add_summary(&mut self, g: usize, c: Contribution) {
        match (self, c) {
            (AggState::Count(v), Contribution::Count(n)) => v[g] = v[g].wrapping_add(n),
            (AggState::SumInt(v), Contribution::SumInt(s)) => v[g] = v[g].wrapping_add(s),
            (
                AggState::MinMaxInt {
                    max,
                    unsigned,
                    vals,
                    seen,
                },
                Contribution::MinMax(lo, hi),
            ) => {
                let x = if *max { hi } else { lo };
                if !seen[g] || better_int(x, vals[g], *max, *unsigned) {
                    vals[g] = x;
                    seen[g] = true;
                }
            }
            (AggState::AvgInt { sum, n, .. }, Contribution::Avg(s, k)) => {
                sum[g] += s;
                n[g] += k;
            }
            _ => {}
        }
    }

    /// Adds one empty group slot.
    pub fn push_group(&mut self) {
        match self {
            AggState::Count(v) => v.push(0),
            AggState::SumInt(v) => v.push(0),
            AggState::SumFloat(v) => v.push(0.0),
            AggState::MinMaxInt { vals, seen, .. } => {
                vals.push(0);
                seen.push(false);
            }
            AggState::MinMaxFloat { vals, seen, .. } => {
                vals.push(0.0);
                seen.push(false);
            }
            AggState::MinMaxStr { vals, .. } => vals.push(None),
            AggState::AvgInt { sum, n, .. } => {
                sum.push(0);
                n.push(0);
            }
            AggState::AvgFloat { sum, n } => {
                sum.push(0.0);
                n.push(0);
            }
            AggState::UniqExact(v) => v.push(DistinctSet::default()),
            AggState::Uniq(v) => v.push(Hll::default()),
        }
    }

    /// Folds the unit rows `sel` (with group ids `gids`, one per selected row) into the state.
    pub fn update(
        &mut self,
        agg: &AggPlan,
        u: &UnitColumns,
        rows: Rows<'_>,
        cache: &mut PredCache,
    ) -> Result<()> {
        let mut cond = agg
            .cond
            .as_ref()
            .map(|c| eval_pred(c, u, cache))
            .transpose()?;
        let arg = match &agg.arg {
            // count(x) counts non-NULL values, and planning admits no NULL-producing argument:
            // every selected row counts, whatever x is.
            _ if agg.func == AggFunc::Count => Arg::None,
            None => Arg::None,
            Some(e) if e.data() == DataType::String => match &e.node {
                crate::plan::Node::Column(c) => Arg::Str(u.get(*c)?),
                _ => {
                    return Err(Error::invalid(
                        "internal: a computed string aggregate argument",
                    ));
                }
            },
            Some(e) => match eval_num(e, u, cache)? {
                Vector::Int(v) => Arg::Int(v),
                Vector::Float(v) => Arg::Float(v),
            },
        };
        let (owned_sel, owned_gids);
        let (sel, gids): (&[u32], &[u32]) = match rows {
            Rows::Grouped { sel, gids } => {
                if self.update_grouped(&arg, cond.as_deref(), sel, gids) {
                    return Ok(());
                }
                (sel, gids)
            }
            Rows::Single { mask, n } => {
                // One group: fold the condition into the row mask and try a branch-free loop.
                let eff: Option<Cow<'_, [bool]>> = match (mask, cond.take()) {
                    (None, None) => None,
                    (Some(m), None) => Some(Cow::Borrowed(m)),
                    (None, Some(c)) => Some(Cow::Owned(c)),
                    (Some(m), Some(mut c)) => {
                        c.iter_mut().zip(m).for_each(|(c, &m)| *c &= m);
                        Some(Cow::Owned(c))
                    }
                };
                if self.update_single(&arg, eff.as_deref(), n) {
                    return Ok(());
                }
                let all = u32::try_from(n).unwrap_or(u32::MAX);
                owned_sel = match &eff {
                    None => (0..all).collect::<Vec<u32>>(),
                    Some(m) => (0..all).filter(|&r| m[r as usize]).collect(),
                };
                owned_gids = vec![0u32; owned_sel.len()];
                (&owned_sel, &owned_gids)
            }
        };
        let rows = sel
            .iter()
            .zip(gids)
            .map(|(&r, &g)| (r as usize, g as usize))
            .filter(|&(r, _)| cond.as_ref().is_none_or(|c| c[r]));
        let wrong = || {
            Error::invalid(format!(
                "internal: argument of `{}` has the wrong representation",
                agg.source
            ))
        };
        match self {
            AggState::Count(v) => rows.for_each(|(_, g)| v[g] += 1),
            AggState::SumInt(v) => {
                let Arg::Int(x) = &arg else {
                    return Err(wrong());
                };
                rows.for_each(|(r, g)| v[g] = v[g].wrapping_add(x[r]));
            }
            AggState::SumFloat(v) => {
                let Arg::Float(x) = &arg else {
                    return Err(wrong());
                };
                rows.for_each(|(r, g)| v[g] += x[r]);
            }
            AggState::MinMaxInt {
                max,
                unsigned,
                vals,
                seen,
            } => {
                let Arg::Int(x) = &arg else {
                    return Err(wrong());
                };
                let (max, unsigned) = (*max, *unsigned);
                for (r, g) in rows {
                    let v = x[r];
                    if !seen[g] || better_int(v, vals[g], max, unsigned) {
                        vals[g] = v;
                        seen[g] = true;
                    }
                }
            }
            AggState::MinMaxFloat { max, vals, seen } => {
                let Arg::Float(x) = &arg else {
                    return Err(wrong());
                };
                for (r, g) in rows {
                    let v = x[r];
                    if !seen[g] || (*max && v > vals[g]) || (!*max && v < vals[g]) {
                        vals[g] = v;
                        seen[g] = true;
                    }
                }
            }
            AggState::MinMaxStr { max, vals } => {
                if !matches!(arg, Arg::Str(_)) {
                    return Err(wrong());
                }
                for (r, g) in rows {
                    let s = arg.str_at(r);
                    let replace = match &vals[g] {
                        None => true,
                        Some(cur) => (*max && s > &**cur) || (!*max && s < &**cur),
                    };
                    if replace {
                        vals[g] = Some(s.into());
                    }
                }
            }
            AggState::AvgInt { unsigned, sum, n } => {
                let Arg::Int(x) = &arg else {
                    return Err(wrong());
                };
                let unsigned = *unsigned;
                for (r, g) in rows {
                    sum[g] += wide(x[r], unsigned);
                    n[g] += 1;
                }
            }
            AggState::AvgFloat { sum, n } => {
                let Arg::Float(x) = &arg else {
                    return Err(wrong());
                };
                for (r, g) in rows {
                    sum[g] += x[r];
                    n[g] += 1;
                }
            }
            AggState::UniqExact(sets) => {
                for_runs(sel, gids, |g, run| {
                    if let Some(set) = sets.get_mut(g) {
                        set.reserve(run.len());
                    }
                });
                match &arg {
                    Arg::Int(x) => rows.for_each(|(r, g)| {
                        sets[g].insert(distinct::int_key(x[r].cast_unsigned()));
                    }),
                    Arg::Float(x) => rows.for_each(|(r, g)| {
                        sets[g].insert(distinct::int_key(x[r].to_bits()));
                    }),
                    Arg::Str(_) => rows.for_each(|(r, g)| {
                        sets[g].insert(distinct::str_key(arg.str_at(r).as_bytes()));
                    }),
                    Arg::None => return Err(wrong()),
                }
            }
            AggState::Uniq(sketches) => match &arg {
                Arg::Int(x) => rows.for_each(|(r, g)| sketches[g].insert(hash_bits(x[r]))),
                Arg::Float(x) => rows.for_each(|(r, g)| {
                    sketches[g].insert(hash_bits(x[r].to_bits().cast_signed()));
                }),
                Arg::Str(_) => rows.for_each(|(r, g)| sketches[g].insert(hash_str(arg.str_at(r)))),
                Arg::None => return Err(wrong()),
            },
        }
        Ok(())
    }

    /// The one-group cases that fold without an index per row (`mask`: the rows to take, all
    /// when `None`); `false` when the state needs the general loop.
    fn update_single(&mut self, arg: &Arg<'_>, mask: Option<&[bool]>, n: usize) -> bool {
        match (self, arg) {
            (AggState::Count(v), _) => {
                let taken = mask.map_or(n, |m| m.iter().filter(|&&b| b).count());
                v[0] += taken as u64;
            }
            (AggState::SumInt(v), Arg::Int(x)) => {
                v[0] = v[0].wrapping_add(match mask {
                    None => x.iter().fold(0i64, |a, &b| a.wrapping_add(b)),
                    Some(m) => x
                        .iter()
                        .zip(m)
                        .fold(0i64, |a, (&b, &t)| a.wrapping_add(b & -i64::from(t))),
                });
            }
            (AggState::SumFloat(v), Arg::Float(x)) => {
                v[0] += match mask {
                    None => x.iter().sum::<f64>(),
                    Some(m) => x
                        .iter()
                        .zip(m)
                        .map(|(&b, &t)| if t { b } else { 0.0 })
                        .sum(),
                };
            }
            (
                AggState::AvgInt {
                    unsigned,
                    sum,
                    n: count,
                },
                Arg::Int(x),
            ) => {
                let unsigned = *unsigned;
                let taken = mask.map_or(n, |m| m.iter().filter(|&&b| b).count());
                let total: i128 = match mask {
                    None => x.iter().map(|&v| wide(v, unsigned)).sum(),
                    Some(m) => x
                        .iter()
                        .zip(m)
                        .filter(|&(_, &t)| t)
                        .map(|(&v, _)| wide(v, unsigned))
                        .sum(),
                };
                sum[0] += total;
                count[0] += taken as u64;
            }
            _ => return false,
        }
        true
    }

    /// Branch-free loops for counts and integer sums over selected rows with group ids, a run of
    /// rows of one group at a time (summed in a register, over a slice when the run's rows are
    /// consecutive); `false` when the state needs the general loop.
    fn update_grouped(
        &mut self,
        arg: &Arg<'_>,
        cond: Option<&[bool]>,
        sel: &[u32],
        gids: &[u32],
    ) -> bool {
        let taken = |r: u32| cond.is_none_or(|c| c.get(r as usize).copied().unwrap_or(false));
        if !long_runs(gids) {
            return self.update_per_row(arg, cond, sel, gids);
        }
        match (self, arg) {
            (AggState::Count(v), _) => for_runs(sel, gids, |g, run| {
                let n = match (cond, consecutive(run)) {
                    (None, _) => run.len(),
                    (Some(c), Some(span)) => c.get(span).map_or(0, super::bycode::count_true),
                    (Some(_), None) => run.iter().filter(|&&r| taken(r)).count(),
                };
                if let Some(v) = v.get_mut(g) {
                    *v += n as u64;
                }
            }),
            (AggState::SumInt(v), Arg::Int(x)) => for_runs(sel, gids, |g, run| {
                let total = match (
                    cond,
                    consecutive(run).and_then(|s| Some((x.get(s.clone())?, s))),
                ) {
                    (None, Some((x, _))) => x.iter().fold(0i64, |a, &b| a.wrapping_add(b)),
                    (Some(c), Some((x, s))) => c.get(s).map_or(0, |c| {
                        x.iter()
                            .zip(c)
                            .fold(0i64, |a, (&b, &t)| a.wrapping_add(b & -i64::from(t)))
                    }),
                    (_, None) => run.iter().fold(0i64, |a, &r| {
                        let b = x.get(r as usize).copied().unwrap_or(0);
                        a.wrapping_add(b & -i64::from(taken(r)))
                    }),
                };
                if let Some(v) = v.get_mut(g) {
                    *v = v.wrapping_add(total);
                }
            }),
            _ => return false,
        }
        true
    }

    /// [`Self::update_grouped`] for rows whose groups change often: a plain loop per row.
    fn update_per_row(
        &mut self,
        arg: &Arg<'_>,
        cond: Option<&[bool]>,
        sel: &[u32],
        gids: &[u32],
    ) -> bool {
        match (self, arg, cond) {
            (AggState::Count(v), _, None) => gids.iter().for_each(|&g| v[g as usize] += 1),
            (AggState::Count(v), _, Some(c)) => {
                for (&r, &g) in sel.iter().zip(gids) {
                    v[g as usize] += u64::from(c[r as usize]);
                }
            }
            (AggState::SumInt(v), Arg::Int(x), None) => {
                for (&r, &g) in sel.iter().zip(gids) {
                    v[g as usize] = v[g as usize].wrapping_add(x[r as usize]);
                }
            }
            (AggState::SumInt(v), Arg::Int(x), Some(c)) => {
                for (&r, &g) in sel.iter().zip(gids) {
                    let (r, g) = (r as usize, g as usize);
                    v[g] = v[g].wrapping_add(x[r] & -i64::from(c[r]));
                }
            }
            _ => return false,
        }
        true
    }

    /// Brings buffered work up to date (the pending keys of `uniqExact` sets), so that merging
    /// and reading values after it are cheap: a worker calls it once its scan is over.
    pub fn settle(&mut self) {
        if let AggState::UniqExact(sets) = self {
            sets.iter_mut().for_each(DistinctSet::settle);
        }
    }

    /// Merges group `src` of `other` (same aggregate) into group `dst` of `self`.
    pub fn merge(&mut self, dst: usize, other: &mut AggState, src: usize) {
        match (self, other) {
            (AggState::Count(a), AggState::Count(b)) => a[dst] += b[src],
            (AggState::SumInt(a), AggState::SumInt(b)) => a[dst] = a[dst].wrapping_add(b[src]),
            (AggState::SumFloat(a), AggState::SumFloat(b)) => a[dst] += b[src],
            (
                AggState::MinMaxInt {
                    max,
                    unsigned,
                    vals,
                    seen,
                },
                AggState::MinMaxInt {
                    vals: v2, seen: s2, ..
                },
            ) if s2[src] && (!seen[dst] || better_int(v2[src], vals[dst], *max, *unsigned)) => {
                vals[dst] = v2[src];
                seen[dst] = true;
            }
            (
                AggState::MinMaxFloat { max, vals, seen },
                AggState::MinMaxFloat {
                    vals: v2, seen: s2, ..
                },
            ) if s2[src]
                && (!seen[dst]
                    || (*max && v2[src] > vals[dst])
                    || (!*max && v2[src] < vals[dst])) =>
            {
                vals[dst] = v2[src];
                seen[dst] = true;
            }
            (AggState::MinMaxStr { max, vals }, AggState::MinMaxStr { vals: v2, .. }) => {
                if let Some(s) = v2[src].take() {
                    let replace = match &vals[dst] {
                        None => true,
                        Some(cur) => (*max && s > *cur) || (!*max && s < *cur),
                    };
                    if replace {
                        vals[dst] = Some(s);
                    }
                }
            }
            (AggState::AvgInt { sum, n, .. }, AggState::AvgInt { sum: s2, n: n2, .. }) => {
                sum[dst] += s2[src];
                n[dst] += n2[src];
            }
            (AggState::AvgFloat { sum, n }, AggState::AvgFloat { sum: s2, n: n2 }) => {
                sum[dst] += s2[src];
                n[dst] += n2[src];
            }
            (AggState::UniqExact(a), AggState::UniqExact(b)) => {
                a[dst].absorb(std::mem::take(&mut b[src]));
            }
            (AggState::Uniq(a), AggState::Uniq(b)) => a[dst].merge(std::mem::take(&mut b[src])),
            // Nothing to take (the other side saw no row), or, impossibly, different variants:
            // both sides are built from the same plan.
            _ => {}
        }
    }

    /// The aggregate's value for group `g`, of type `ty`.
    #[expect(
        clippy::cast_precision_loss,
        reason = "avg divides in Float64, as ClickHouse does"
    )]
    pub fn value(&self, g: usize, ty: DataType) -> Value {
        match self {
            AggState::Count(v) => Value::UInt(v[g]),
            AggState::SumInt(v) => Value::from_bits(v[g], ty),
            AggState::SumFloat(v) => Value::Float(v[g]),
            AggState::MinMaxInt { vals, seen, .. } => {
                if seen[g] {
                    Value::from_bits(vals[g], ty)
                } else {
                    Value::default_of(ty)
                }
            }
            AggState::MinMaxFloat { vals, seen, .. } => {
                Value::Float(if seen[g] { vals[g] } else { 0.0 })
            }
            AggState::MinMaxStr { vals, .. } => {
                Value::Str(vals[g].as_deref().unwrap_or("").to_owned())
            }
            AggState::AvgInt { sum, n, .. } => Value::Float(sum[g] as f64 / n[g] as f64),
            AggState::AvgFloat { sum, n } => Value::Float(sum[g] / n[g] as f64),
            AggState::UniqExact(v) => Value::UInt(v[g].len() as u64),
            AggState::Uniq(v) => Value::UInt(v[g].estimate()),
        }
    }
}

fn wide(x: i64, unsigned: bool) -> i128 {
    if unsigned {
        i128::from(x.cast_unsigned())
    } else {
        i128::from(x)
    }
}

fn better_int(v: i64, cur: i64, max: bool, unsigned: bool) -> bool {
    let (v, cur) = (wide(v, unsigned), wide(cur, unsigned));
    if max { v > cur } else { v < cur }
}

/// Whether the selected rows come in runs of one group long enough (8 rows on average) for
/// run-wise folding to beat a plain loop per row.
pub(crate) fn long_runs(gids: &[u32]) -> bool {
    let changes = gids.windows(2).filter(|w| w[0] != w[1]).count();
    changes.saturating_mul(8) < gids.len()
}

/// Calls `f(group, rows)` for each run of consecutive selected rows with one group id.
pub(crate) fn for_runs(sel: &[u32], gids: &[u32], mut f: impl FnMut(usize, &[u32])) {
    let mut start = 0;
    while let Some(&g) = gids.get(start) {
        let len = gids[start..].iter().take_while(|&&h| h == g).count();
        f(g as usize, sel.get(start..start + len).unwrap_or_default());
        start += len;
    }
}

/// The row range of `run` when its rows are consecutive.
pub(crate) fn consecutive(run: &[u32]) -> Option<std::ops::Range<usize>> {
    let (&first, &last) = (run.first()?, run.last()?);
    let (first, last) = (first as usize, last as usize);
    (last >= first && last - first + 1 == run.len()).then_some(first..last + 1)
}
