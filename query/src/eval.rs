//! The row-at-a-time evaluator: the meaning of every [`TExpr`] on one row (or one group), with
//! ClickHouse's NULL semantics. The scan's vectorized kernels are faster versions of this; the
//! final stage of aggregate queries, plain row selection and per-dictionary predicate tables use
//! it directly.

use std::cmp::Ordering;

use adstore_storage::ColumnId;

use crate::model::CmpOp;
use crate::plan::{Node, TExpr};
use crate::types::DataType;
use crate::value::{self, Value};

/// What an expression reads: column values of the current row, or keys and aggregate results
/// of the current group.
pub trait Env {
    /// The value of column `c`.
    fn column(&self, c: ColumnId) -> Value;
    /// The i-th group key.
    fn key(&self, _i: usize) -> Value {
        Value::Null
    }
    /// The i-th aggregate result.
    fn agg(&self, _i: usize) -> Value {
        Value::Null
    }
}

/// Evaluates `e` in `env`.
pub fn eval(e: &TExpr, env: &dyn Env) -> Value {
    match &e.node {
        Node::Column(c) => env.column(*c),
        Node::Const(v) => v.clone(),
        Node::Key(i) => env.key(*i),
        Node::Agg(i) => env.agg(*i),
        Node::Not(a) => match eval(a, env) {
            Value::Null => Value::Null,
            v => Value::UInt(u64::from(!v.is_true())),
        },
        Node::Neg(a) => match eval(a, env) {
            Value::Null => Value::Null,
            Value::Float(f) => Value::Float(-f),
            v => Value::from_bits(v.bits().wrapping_neg(), e.data()),
        },
        Node::Arith(op, a, b) => value::arithmetic(*op, &eval(a, env), &eval(b, env), e.data()),
        Node::Cmp(op, a, b) => {
            let (a, b) = (eval(a, env), eval(b, env));
            if a.is_null() || b.is_null() {
                return Value::Null;
            }
            cmp_result(*op, value::compare(&a, &b))
        }
        Node::And(a, b) => {
            let (a, b) = (eval(a, env), eval(b, env));
            let is_false = |v: &Value| !v.is_null() && !v.is_true();
            if is_false(&a) || is_false(&b) {
                Value::UInt(0)
            } else if a.is_null() || b.is_null() {
                Value::Null
            } else {
                Value::UInt(1)
            }
        }
        Node::Or(a, b) => {
            let (a, b) = (eval(a, env), eval(b, env));
            if a.is_true() || b.is_true() {
                Value::UInt(1)
            } else if a.is_null() || b.is_null() {
                Value::Null
            } else {
                Value::UInt(0)
            }
        }
        Node::In { expr, set, negated } => {
            let v = eval(expr, env);
            if v.is_null() {
                return Value::Null;
            }
            let found = set
                .iter()
                .any(|s| value::compare(&v, s) == Some(Ordering::Equal));
            Value::UInt(u64::from(found != *negated))
        }
        Node::Like {
            expr,
            pattern,
            negated,
        } => match eval(expr, env) {
            Value::Str(s) => Value::UInt(u64::from(pattern.matches(&s) != *negated)),
            _ => Value::Null,
        },
        Node::Time(f, a) => {
            let v = eval(a, env);
            if v.is_null() {
                return Value::Null;
            }
            let micros = v
                .bits()
                .wrapping_mul(a.data().micros_per_unit().unwrap_or(1));
            Value::from_bits(f.apply_micros(micros), e.data())
        }
        Node::If(c, a, b) => {
            if eval(c, env).is_true() {
                eval(a, env)
            } else {
                eval(b, env)
            }
        }
        Node::NullIf(a, b) => {
            let (a, b) = (eval(a, env), eval(b, env));
            if !a.is_null() && !b.is_null() && value::compare(&a, &b) == Some(Ordering::Equal) {
                Value::Null
            } else {
                a
            }
        }
        Node::Cast(a) => value::cast(&eval(a, env), a.data(), e.data()),
    }
}

/// The result of a comparison whose operands compare as `o` (`None`: a NaN was involved, so
/// only `!=` holds).
pub fn cmp_result(op: CmpOp, o: Option<Ordering>) -> Value {
    let holds = match o {
        Some(o) => op.holds(o),
        None => op == CmpOp::NotEq,
    };
    Value::UInt(u64::from(holds))
}

/// The value of a column of type `ty` given as a 64-bit pattern (what the scan carries).
pub fn int_value(bits: i64, ty: DataType) -> Value {
    Value::from_bits(bits, ty)
}
