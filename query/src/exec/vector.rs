//! Vectorized evaluation of numeric row-level expressions over a whole unit: integer columns
//! are borrowed as they were decoded, arithmetic and time buckets run in tight loops over
//! 64-bit integers or floats. Conditions inside (`if`, comparisons used as numbers) go through
//! [`super::predicate`].

use std::borrow::Cow;

use adstore_storage::ColumnData;

use super::predicate::{PredCache, eval_pred};
use super::unit::UnitColumns;
use crate::error::{Error, Result};
use crate::plan::{Node, TExpr};
use crate::types::{ArithOp, DataType, Repr};
use crate::value::Value;

/// A numeric column of values, one per unit row: integers as 64-bit patterns (signedness from
/// the expression's type), or floats.
#[derive(Debug, Clone)]
pub enum Vector<'a> {
    /// Integers (and booleans, dates, times, event type codes).
    Int(Cow<'a, [i64]>),
    /// Floats.
    Float(Cow<'a, [f64]>),
}

impl Vector<'_> {
    /// The values as floats, reading integers as signed or unsigned per `ty`.
    #[expect(
        clippy::cast_precision_loss,
        reason = "ClickHouse converts integers to Float64 the same way"
    )]
    pub fn to_f64(&self, ty: DataType) -> Vec<f64> {
        match self {
            Vector::Float(v) => v.to_vec(),
            Vector::Int(v) if ty.repr() == Repr::UInt => {
                v.iter().map(|&x| x.cast_unsigned() as f64).collect()
            }
            Vector::Int(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }

    /// The integer patterns (floats: their bits).
    pub fn to_bits(&self) -> Cow<'_, [i64]> {
        match self {
            Vector::Int(v) => Cow::Borrowed(v),
            Vector::Float(v) => v.iter().map(|f| f.to_bits().cast_signed()).collect(),
        }
    }
}

fn internal(what: &str) -> Error {
    Error::invalid(format!("internal: {what} in a vectorized expression"))
}

/// Evaluates a numeric (or temporal, enum, boolean) row-level expression over every row of the
/// unit.
pub fn eval_num<'a>(e: &TExpr, u: &'a UnitColumns, cache: &mut PredCache) -> Result<Vector<'a>> {
    let n = u.rows();
    Ok(match &e.node {
        Node::Column(c) => match u.get(*c)? {
            ColumnData::I64(v) => Vector::Int(Cow::Borrowed(v)),
            ColumnData::EventType(v) => {
                Vector::Int(v.iter().map(|t| i64::from(t.code())).collect())
            }
            ColumnData::Bool(v) => Vector::Int(v.iter().map(|&b| i64::from(b)).collect()),
            ColumnData::Strings(_) | ColumnData::Dict { .. } => return Err(internal("a string")),
        },
        Node::Const(v) => match v {
            Value::Float(f) => Vector::Float(Cow::Owned(vec![*f; n])),
            Value::Int(_) | Value::UInt(_) => Vector::Int(Cow::Owned(vec![v.bits(); n])),
            Value::Null | Value::Str(_) => return Err(internal("a NULL or string constant")),
        },
        Node::Neg(a) => match eval_num(a, u, cache)? {
            Vector::Int(v) => Vector::Int(v.iter().map(|x| x.wrapping_neg()).collect()),
            Vector::Float(v) => Vector::Float(v.iter().map(|x| -x).collect()),
        },
        Node::Arith(op, a, b) => {
            let (va, vb) = (eval_num(a, u, cache)?, eval_num(b, u, cache)?);
            if e.data() == DataType::Float64 {
                let (x, y) = (va.to_f64(a.data()), vb.to_f64(b.data()));
                let f: fn(f64, f64) -> f64 = match op {
                    ArithOp::Add => |x, y| x + y,
                    ArithOp::Sub => |x, y| x - y,
                    ArithOp::Mul => |x, y| x * y,
                    ArithOp::Div => |x, y| x / y,
                };
                Vector::Float(x.iter().zip(&y).map(|(&x, &y)| f(x, y)).collect())
            } else {
                let (x, y) = (va.to_bits(), vb.to_bits());
                let f: fn(i64, i64) -> i64 = match op {
                    ArithOp::Add => i64::wrapping_add,
                    ArithOp::Sub => i64::wrapping_sub,
                    ArithOp::Mul => i64::wrapping_mul,
                    ArithOp::Div => return Err(internal("an integer division")),
                };
                Vector::Int(x.iter().zip(y.iter()).map(|(&x, &y)| f(x, y)).collect())
            }
        }
        Node::Time(f, a) => {
            let unit = a.data().micros_per_unit().unwrap_or(1);
            let v = eval_num(a, u, cache)?.to_bits().into_owned();
            Vector::Int(
                v.into_iter()
                    .map(|x| f.apply_micros(x.wrapping_mul(unit)))
                    .collect(),
            )
        }
        Node::Cast(a) => {
            let v = eval_num(a, u, cache)?;
            let (from, to) = (a.data(), e.data());
            if to == DataType::Float64 {
                Vector::Float(Cow::Owned(v.to_f64(from)))
            } else if let (Some(fu), Some(tu)) = (from.micros_per_unit(), to.micros_per_unit()) {
                Vector::Int(
                    v.to_bits()
                        .iter()
                        .map(|x| x.wrapping_mul(fu).div_euclid(tu))
                        .collect(),
                )
            } else {
                v
            }
        }
        Node::If(c, a, b) => {
            let mask = eval_pred(c, u, cache)?;
            let (va, vb) = (eval_num(a, u, cache)?, eval_num(b, u, cache)?);
            match (va, vb) {
                (Vector::Float(x), Vector::Float(y)) => Vector::Float(
                    mask.iter()
                        .zip(x.iter().zip(y.iter()))
                        .map(|(&m, (&x, &y))| if m { x } else { y })
                        .collect(),
                ),
                (x, y) => {
                    let (x, y) = (x.to_bits(), y.to_bits());
                    Vector::Int(
                        mask.iter()
                            .zip(x.iter().zip(y.iter()))
                            .map(|(&m, (&x, &y))| if m { x } else { y })
                            .collect(),
                    )
                }
            }
        }
        Node::Not(_)
        | Node::Cmp(..)
        | Node::And(..)
        | Node::Or(..)
        | Node::In { .. }
        | Node::Like { .. } => {
            let mask = eval_pred(e, u, cache)?;
            Vector::Int(mask.into_iter().map(i64::from).collect())
        }
        Node::NullIf(..) | Node::Key(_) | Node::Agg(_) => {
            return Err(internal("nullIf, a group key or an aggregate"));
        }
    })
}

/// A time bucket of an integer column (`toStartOfHour(ts)`, `toUnixTimestamp(toDate(ts))`:
/// time functions over a column) evaluated for the rows `sel` only, as [`eval_num`] would;
/// the other rows hold 0. `None` for any other expression. A group key over a few selected
/// rows of a block then costs no division for the rows the WHERE clause dropped.
pub fn eval_time_rows(e: &TExpr, u: &UnitColumns, sel: &[u32]) -> Result<Option<Vec<i64>>> {
    // The chain of functions from the outermost in, and the column under it.
    let mut chain = Vec::new();
    let mut node = e;
    let column = loop {
        match &node.node {
            Node::Time(f, a) => {
                chain.push((*f, a.data().micros_per_unit().unwrap_or(1)));
                node = a;
            }
            Node::Column(c) if !chain.is_empty() => break *c,
            _ => return Ok(None),
        }
    };
    let ColumnData::I64(values) = u.get(column)? else {
        return Ok(None);
    };
    let mut out = vec![0i64; u.rows()];
    for &r in sel {
        let r = r as usize;
        out[r] = chain.iter().rev().fold(values[r], |x, &(f, unit)| {
            f.apply_micros(x.wrapping_mul(unit))
        });
    }
    Ok(Some(out))
}
