//! [`Value`]: one scalar, and the ClickHouse semantics of comparing, ordering and computing with
//! scalars. The row-at-a-time evaluator ([`crate::eval`]) and the final (per group) stage of
//! aggregate queries compute with these; the vectorized scan kernels must agree with them.

use std::cmp::Ordering;

use crate::types::{ArithOp, DataType, Repr};

/// A scalar value. Which variant a value takes is fixed by its static [`DataType`]'s
/// [`Repr`]: integers of signed types (and dates, times, the event type code) are `Int`,
/// unsigned ones (and `Bool`) `UInt`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A signed integer, date (days), `DateTime` (seconds), `DateTime64` (µs) or event type code.
    Int(i64),
    /// An unsigned integer or boolean.
    UInt(u64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
}

impl Value {
    /// The value of an integer of type `ty` carried as a 64-bit pattern.
    pub fn from_bits(bits: i64, ty: DataType) -> Value {
        match ty.repr() {
            Repr::UInt => Value::UInt(bits.cast_unsigned()),
            Repr::Float => Value::Float(f64::from_bits(bits.cast_unsigned())),
            _ => Value::Int(bits),
        }
    }

    /// The 64-bit pattern of an integer value (floats: their bits).
    pub fn bits(&self) -> i64 {
        match self {
            Value::Int(v) => *v,
            Value::UInt(v) => v.cast_signed(),
            Value::Float(f) => f.to_bits().cast_signed(),
            Value::Null | Value::Str(_) => 0,
        }
    }

    /// The value as a float (integers converted exactly where they can be).
    #[expect(
        clippy::cast_precision_loss,
        reason = "ClickHouse converts integers to Float64 the same way"
    )]
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::UInt(v) => Some(*v as f64),
            Value::Float(f) => Some(*f),
            Value::Null | Value::Str(_) => None,
        }
    }

    /// Whether the value counts as true in a condition: non-zero; NULL is false.
    pub fn is_true(&self) -> bool {
        match self {
            Value::Int(v) => *v != 0,
            Value::UInt(v) => *v != 0,
            Value::Float(f) => *f != 0.0,
            Value::Null | Value::Str(_) => false,
        }
    }

    /// Whether the value is NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether the value is a float NaN.
    pub fn is_nan(&self) -> bool {
        matches!(self, Value::Float(f) if f.is_nan())
    }

    /// The zero of a type: what ClickHouse returns for `min`, `max` and `sum` over no row.
    pub fn default_of(ty: DataType) -> Value {
        match ty.repr() {
            Repr::Int => Value::Int(0),
            Repr::UInt => Value::UInt(0),
            Repr::Float => Value::Float(0.0),
            Repr::Str => Value::Str(String::new()),
            Repr::Null => Value::Null,
        }
    }
}

/// SQL comparison of two non-NULL values: integers compare exactly across signedness, an
/// integer and a float compare as floats, strings compare bytewise. `None` when either side is
/// NULL or NaN, or the values are not comparable.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::UInt(x), Value::UInt(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::UInt(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Value::UInt(x), Value::Int(y)) => Some(i128::from(*x).cmp(&i128::from(*y))),
        (Value::Str(x), Value::Str(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Float(_), _) | (_, Value::Float(_)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        _ => None,
    }
}

/// Ordering for ORDER BY, as ClickHouse sorts: values in `descending` or ascending order, then
/// NaN, then NULL; with `nulls_first`, NULL, then NaN, then values.
pub fn sort_order(a: &Value, b: &Value, descending: bool, nulls_first: bool) -> Ordering {
    fn class(v: &Value) -> u8 {
        match v {
            Value::Null => 2,
            v if v.is_nan() => 1,
            _ => 0,
        }
    }
    let (ca, cb) = (class(a), class(b));
    if ca != cb || ca != 0 {
        let o = ca.cmp(&cb);
        return if nulls_first { o.reverse() } else { o };
    }
    let o = compare(a, b).unwrap_or(Ordering::Equal);
    if descending { o.reverse() } else { o }
}

/// `a op b` where the result has type `result`: NULL if either side is NULL; `/` in floats
/// (zero divisor: `inf`, `-inf`, `nan`); integer `+ - *` wrap at 64 bits.
pub fn arithmetic(op: ArithOp, a: &Value, b: &Value, result: DataType) -> Value {
    if a.is_null() || b.is_null() {
        return Value::Null;
    }
    if result.repr() == Repr::Float {
        let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) else {
            return Value::Null;
        };
        return Value::Float(match op {
            ArithOp::Add => x + y,
            ArithOp::Sub => x - y,
            ArithOp::Mul => x * y,
            ArithOp::Div => x / y,
        });
    }
    let (x, y) = (a.bits(), b.bits());
    let bits = match op {
        ArithOp::Add => x.wrapping_add(y),
        ArithOp::Sub => x.wrapping_sub(y),
        ArithOp::Mul => x.wrapping_mul(y),
        ArithOp::Div => 0,
    };
    Value::from_bits(bits, result)
}

/// Converts a non-NULL value of type `from` to type `to` (numeric widening, integer to float,
/// temporal unit changes).
pub fn cast(v: &Value, from: DataType, to: DataType) -> Value {
    if v.is_null() || from == to {
        return v.clone();
    }
    if let (Some(fu), Some(tu)) = (from.micros_per_unit(), to.micros_per_unit()) {
        let micros = v.bits().wrapping_mul(fu);
        return Value::Int(micros.div_euclid(tu));
    }
    match to.repr() {
        Repr::Float => v.as_f64().map_or(Value::Null, Value::Float),
        Repr::Int | Repr::UInt => Value::from_bits(v.bits(), to),
        Repr::Str | Repr::Null => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_cross_signedness_exactly() {
        assert_eq!(
            compare(&Value::Int(-1), &Value::UInt(u64::MAX)),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare(&Value::UInt(3), &Value::Float(2.5)),
            Some(Ordering::Greater)
        );
        assert_eq!(compare(&Value::Float(f64::NAN), &Value::Float(1.0)), None);
        assert_eq!(compare(&Value::Null, &Value::Int(1)), None);
    }

    #[test]
    fn sorting_puts_nan_then_null_last() {
        let mut v = [
            Value::Null,
            Value::Float(2.0),
            Value::Float(f64::NAN),
            Value::Float(1.0),
        ];
        v.sort_by(|a, b| sort_order(a, b, true, false));
        assert_eq!(v[0], Value::Float(2.0));
        assert_eq!(v[1], Value::Float(1.0));
        assert!(v[2].is_nan());
        assert!(v[3].is_null());
        v.sort_by(|a, b| sort_order(a, b, false, true));
        assert!(v[0].is_null());
        assert!(v[1].is_nan());
        assert_eq!(v[2], Value::Float(1.0));
    }

    #[test]
    fn division_and_wrapping_follow_clickhouse() {
        let div = |a, b| arithmetic(ArithOp::Div, &a, &b, DataType::Float64);
        assert_eq!(
            div(Value::UInt(1), Value::UInt(0)),
            Value::Float(f64::INFINITY)
        );
        assert!(div(Value::UInt(0), Value::UInt(0)).is_nan());
        assert_eq!(div(Value::UInt(1), Value::Null), Value::Null);
        assert_eq!(
            arithmetic(
                ArithOp::Sub,
                &Value::UInt(1),
                &Value::UInt(2),
                DataType::Int64
            ),
            Value::Int(-1)
        );
        assert_eq!(
            arithmetic(
                ArithOp::Add,
                &Value::Int(i64::MAX),
                &Value::Int(1),
                DataType::Int64
            ),
            Value::Int(i64::MIN)
        );
    }
}
