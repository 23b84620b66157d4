//! Vectorized conditions: a row-level condition evaluated over every row of a unit into one
//! boolean per row.
//!
//! The key trick: a condition that reads a single low-cardinality column (a dictionary string,
//! the event type, `won`) is evaluated once per distinct value, with the row-at-a-time
//! evaluator, into a truth table indexed by code; rows then cost one table look-up. Segment
//! dictionaries are shared by all blocks of a segment, so their tables are cached per thread
//! (keyed by the condition and the dictionary, whose `Arc` the cache keeps alive so the key can
//! never be reused by another allocation). Plain string columns (user_id, event_id,
//! impression_id) compare bytes directly; numeric comparisons compare decoded integers; anything
//! else falls back to the row-at-a-time evaluator.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use adstore_storage::{ColumnData, ColumnId, ColumnKind, EventType, StringColumn};

use super::unit::{OneColumnEnv, RowEnv, UnitColumns};
use super::vector::{Vector, eval_num};
use crate::error::Result;
use crate::eval::{cmp_result, eval};
use crate::model::CmpOp;
use crate::plan::{Node, TExpr};
use crate::types::{DataType, Repr};
use crate::value::{Value, compare};

/// A dictionary (kept alive so its address is never reused) and a condition's truth table.
type CachedTable = (Arc<StringColumn>, Arc<Vec<bool>>);

/// Truth tables of conditions over segment dictionaries, per thread.
#[derive(Debug, Default)]
pub struct PredCache {
    tables: HashMap<(usize, usize), CachedTable>,
}

impl PredCache {
    fn table(&mut self, e: &TExpr, col: ColumnId, dict: &Arc<StringColumn>) -> Arc<Vec<bool>> {
        let key = (std::ptr::from_ref(e) as usize, Arc::as_ptr(dict) as usize);
        if let Some((_, t)) = self.tables.get(&key) {
            return Arc::clone(t);
        }
        let table: Vec<bool> = dict
            .iter()
            .map(|s| {
                let env = OneColumnEnv {
                    col,
                    value: Value::Str(s.to_owned()),
                };
                eval(e, &env).is_true()
            })
            .collect();
        let table = Arc::new(table);
        self.tables
            .insert(key, (Arc::clone(dict), Arc::clone(&table)));
        table
    }
}

/// `x[r] &= e(r)` for every row `r` of the unit: a condition on one dictionary column is looked
/// up per row straight into `x`, with no mask of its own.
pub fn and_pred(x: &mut [bool], e: &TExpr, u: &UnitColumns, cache: &mut PredCache) -> Result<()> {
    if !matches!(e.node, Node::And(..) | Node::Or(..) | Node::Not(_))
        && let [c] = e.columns()[..]
        && let ColumnData::Dict { dictionary, codes } = u.get(c)?
    {
        let table = cache.table(e, c, dictionary);
        let table: &[bool] = &table;
        for (x, &k) in x.iter_mut().zip(codes) {
            *x &= table.get(k as usize).copied().unwrap_or(false);
        }
        return Ok(());
    }
    let y = eval_pred(e, u, cache)?;
    x.iter_mut().zip(y).for_each(|(x, y)| *x &= y);
    Ok(())
}

/// Evaluates a row-level condition over every row of the unit.
pub fn eval_pred(e: &TExpr, u: &UnitColumns, cache: &mut PredCache) -> Result<Vec<bool>> {
    match &e.node {
        Node::And(a, b) => {
            let mut x = eval_pred(a, u, cache)?;
            if x.iter().any(|&v| v) {
                and_pred(&mut x, b, u, cache)?;
            }
            return Ok(x);
        }
        Node::Or(a, b) => {
            let mut x = eval_pred(a, u, cache)?;
            if !x.iter().all(|&v| v) {
                let y = eval_pred(b, u, cache)?;
                x.iter_mut().zip(y).for_each(|(x, y)| *x |= y);
            }
            return Ok(x);
        }
        Node::Not(a) => {
            let mut x = eval_pred(a, u, cache)?;
            x.iter_mut().for_each(|v| *v = !*v);
            return Ok(x);
        }
        _ => {}
    }
    let cols = e.columns();
    if cols.is_empty() {
        let v = eval(
            e,
            &OneColumnEnv {
                col: ColumnId::Ts,
                value: Value::Null,
            },
        );
        return Ok(vec![v.is_true(); u.rows()]);
    }
    if let [c] = cols[..] {
        match u.get(c)? {
            ColumnData::Dict { dictionary, codes } => {
                let table = cache.table(e, c, dictionary);
                let table: &[bool] = &table;
                return Ok(codes
                    .iter()
                    .map(|&k| table.get(k as usize).copied().unwrap_or(false))
                    .collect());
            }
            ColumnData::EventType(types) => {
                let table: Vec<bool> = EventType::ALL
                    .iter()
                    .map(|t| {
                        let env = OneColumnEnv {
                            col: c,
                            value: Value::Int(i64::from(t.code())),
                        };
                        eval(e, &env).is_true()
                    })
                    .collect();
                return Ok(types.iter().map(|t| table[usize::from(t.code())]).collect());
            }
            ColumnData::Bool(values) => {
                let table: Vec<bool> = [0, 1]
                    .iter()
                    .map(|&b| {
                        let env = OneColumnEnv {
                            col: c,
                            value: Value::UInt(b),
                        };
                        eval(e, &env).is_true()
                    })
                    .collect();
                return Ok(values.iter().map(|&b| table[usize::from(b)]).collect());
            }
            ColumnData::Strings(s) => {
                if let Some(mask) = plain_string(e, s) {
                    return Ok(mask);
                }
            }
            ColumnData::I64(_) => {}
        }
    }
    let numeric = |t: &TExpr| t.data() != DataType::String;
    match &e.node {
        Node::Cmp(op, a, b) if numeric(a) && numeric(b) => compare_vectors(*op, a, b, u, cache),
        Node::In { expr, set, negated } if numeric(expr) => {
            let v = eval_num(expr, u, cache)?;
            let ty = expr.data();
            let bits = v.to_bits();
            Ok(bits
                .iter()
                .map(|&x| {
                    let x = Value::from_bits(x, ty);
                    set.iter().any(|s| compare(&x, s) == Some(Ordering::Equal)) != *negated
                })
                .collect())
        }
        _ if numeric(e) && !e.any_nullable() && !has_string(e) => {
            let v = eval_num(e, u, cache)?;
            Ok(match v {
                Vector::Int(v) => v.iter().map(|&x| x != 0).collect(),
                Vector::Float(v) => v.iter().map(|&x| x != 0.0).collect(),
            })
        }
        _ => Ok((0..u.rows())
            .map(|row| eval(e, &RowEnv { unit: u, row }).is_true())
            .collect()),
    }
}

/// A WHERE clause that is one `=`, `!=`, `IN` or `NOT IN` of a plain string column other than
/// `event_id` (`user_id`, `impression_id`) with string constants: the column, the constants,
/// and whether a row matches when its value is *not* among them. A segment block then answers
/// it from its encoded strings ([`adstore_storage::SegmentReader::match_strings`]) without
/// decoding them.
pub(crate) fn plain_string_match(e: &TExpr) -> Option<(ColumnId, Vec<&str>, bool)> {
    let plain = |t: &TExpr| match t.node {
        Node::Column(c) if c.kind() == ColumnKind::PlainString && c != ColumnId::EventId => Some(c),
        _ => None,
    };
    fn text(v: &Value) -> Option<&str> {
        match v {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }
    match &e.node {
        Node::Cmp(op @ (CmpOp::Eq | CmpOp::NotEq), a, b) => {
            let (c, lit) = match (plain(a), plain(b)) {
                (Some(c), None) => (c, text(b.as_const()?)?),
                (None, Some(c)) => (c, text(a.as_const()?)?),
                _ => return None,
            };
            Some((c, vec![lit], *op == CmpOp::NotEq))
        }
        Node::In { expr, set, negated } => {
            let c = plain(expr)?;
            let needles: Option<Vec<&str>> = set.iter().map(text).collect();
            Some((c, needles?, *negated))
        }
        _ => None,
    }
}

fn has_string(e: &TExpr) -> bool {
    let mut found = false;
    e.walk(&mut |n| found |= n.data() == DataType::String);
    found
}

/// Equality, IN and LIKE on a plain string column against constants, without allocating.
fn plain_string(e: &TExpr, s: &StringColumn) -> Option<Vec<bool>> {
    let is_col = |t: &TExpr| matches!(t.node, Node::Column(_));
    match &e.node {
        Node::Cmp(op @ (CmpOp::Eq | CmpOp::NotEq), a, b) => {
            let lit = match (&a.node, &b.node) {
                (Node::Column(_), Node::Const(Value::Str(l)))
                | (Node::Const(Value::Str(l)), Node::Column(_)) => l.as_str(),
                _ => return None,
            };
            let eq = *op == CmpOp::Eq;
            Some(s.iter().map(|v| (v == lit) == eq).collect())
        }
        Node::In { expr, set, negated } if is_col(expr) => {
            let set: Vec<&str> = set
                .iter()
                .filter_map(|v| match v {
                    Value::Str(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect();
            if set.len() > 16 {
                let h: std::collections::HashSet<&str> = set.into_iter().collect();
                Some(s.iter().map(|v| h.contains(v) != *negated).collect())
            } else {
                Some(s.iter().map(|v| set.contains(&v) != *negated).collect())
            }
        }
        Node::Like {
            expr,
            pattern,
            negated,
        } if is_col(expr) => Some(s.iter().map(|v| pattern.matches(v) != *negated).collect()),
        _ => None,
    }
}

fn compare_vectors(
    op: CmpOp,
    a: &TExpr,
    b: &TExpr,
    u: &UnitColumns,
    cache: &mut PredCache,
) -> Result<Vec<bool>> {
    let (ta, tb) = (a.data(), b.data());
    let va = eval_num(a, u, cache)?;
    if ta == DataType::Float64 || tb == DataType::Float64 {
        let x = va.to_f64(ta);
        let y: Vec<f64> = match b.as_const().and_then(Value::as_f64) {
            Some(c) => vec![c; x.len()],
            None => eval_num(b, u, cache)?.to_f64(tb),
        };
        return Ok(x
            .iter()
            .zip(&y)
            .map(|(x, y)| cmp_result(op, x.partial_cmp(y)).is_true())
            .collect());
    }
    let wide = |x: i64, t: DataType| -> i128 {
        if t.repr() == Repr::UInt {
            i128::from(x.cast_unsigned())
        } else {
            i128::from(x)
        }
    };
    let x = va.to_bits();
    if let Some(c) = b.as_const() {
        let c = wide(c.bits(), tb);
        return Ok(compare_with_const(op, &x, ta.repr() == Repr::UInt, c));
    }
    let vb = eval_num(b, u, cache)?;
    let y = vb.to_bits();
    Ok(x.iter()
        .zip(y.iter())
        .map(|(&x, &y)| op.holds(wide(x, ta).cmp(&wide(y, tb))))
        .collect())
}

/// `x op c` for every `x` (64-bit patterns, unsigned when `unsigned`), `c` exact in 128 bits: in
/// the values' own type when `c` is in its range (a loop the compiler vectorizes), otherwise
/// every row compares the same way.
fn compare_with_const(op: CmpOp, x: &[i64], unsigned: bool, c: i128) -> Vec<bool> {
    // Out of the values' range: every value is below a too-large constant, above a too-small one.
    let beyond = || {
        vec![
            op.holds(if c < 0 {
                Ordering::Greater
            } else {
                Ordering::Less
            });
            x.len()
        ]
    };
    if unsigned {
        match u64::try_from(c) {
            Ok(c) => compare_loop(op, x.iter().map(|&v| v.cast_unsigned()), c),
            Err(_) => beyond(),
        }
    } else {
        match i64::try_from(c) {
            Ok(c) => compare_loop(op, x.iter().copied(), c),
            Err(_) => beyond(),
        }
    }
}

/// `x op c` for every `x` of `xs`, one loop per operator.
fn compare_loop<T: Ord + Copy>(op: CmpOp, xs: impl Iterator<Item = T>, c: T) -> Vec<bool> {
    match op {
        CmpOp::Eq => xs.map(|x| x == c).collect(),
        CmpOp::NotEq => xs.map(|x| x != c).collect(),
        CmpOp::Lt => xs.map(|x| x < c).collect(),
        CmpOp::LtEq => xs.map(|x| x <= c).collect(),
        CmpOp::Gt => xs.map(|x| x > c).collect(),
        CmpOp::GtEq => xs.map(|x| x >= c).collect(),
    }
}
