//! Derives the storage [`ScanFilter`] (partition, segment and block pruning) from a typed WHERE
//! clause. Only top-level AND terms are used, and each yields a restriction implied by the
//! term, so pruning is conservative: it may keep a block with no matching row, never drop one
//! with a matching row. The engine still applies the whole filter to every row it reads.

use adstore_storage::{ColumnId, ColumnKind, ScanFilter};

use super::typed::{Node, TExpr};
use crate::model::CmpOp;
use crate::time::TimeFn;
use crate::types::DataType;
use crate::value::Value;

/// The pruning hints implied by `filter`.
pub fn scan_filter(filter: Option<&TExpr>) -> ScanFilter {
    let mut out = ScanFilter::all();
    if let Some(f) = filter {
        conjunct(f, &mut out);
    }
    out
}

fn conjunct(e: &TExpr, out: &mut ScanFilter) {
    match &e.node {
        Node::And(a, b) => {
            conjunct(a, out);
            conjunct(b, out);
        }
        Node::Column(ColumnId::Won) => out.int_ranges.push((ColumnId::Won, 1, 1)),
        Node::Not(inner) if matches!(inner.node, Node::Column(ColumnId::Won)) => {
            out.int_ranges.push((ColumnId::Won, 0, 0));
        }
        Node::Cmp(op, a, b) => match (a.as_const(), b.as_const()) {
            (None, Some(v)) => comparison(*op, a, v, out),
            (Some(v), None) => comparison(op.flip(), b, v, out),
            _ => {}
        },
        Node::In {
            expr,
            set,
            negated: false,
        } => {
            if let Node::Column(c) = expr.node {
                membership(c, set, out);
            }
        }
        _ => {}
    }
}

fn int_value(v: &Value) -> Option<i64> {
    match v {
        Value::Int(x) => Some(*x),
        Value::UInt(x) => i64::try_from(*x).ok(),
        _ => None,
    }
}

fn is_int_column(c: ColumnId) -> bool {
    matches!(
        c.kind(),
        ColumnKind::I64 | ColumnKind::EventType | ColumnKind::Bool
    )
}

fn is_string_prunable(c: ColumnId) -> bool {
    c.kind() == ColumnKind::DictString || c.has_bloom()
}

fn membership(c: ColumnId, set: &[Value], out: &mut ScanFilter) {
    if set.is_empty() {
        // `x IN ()` matches nothing: an empty range prunes everything.
        out.int_ranges.push((ColumnId::Ts, 1, 0));
        return;
    }
    if is_string_prunable(c) {
        let strings: Option<Vec<String>> = set
            .iter()
            .map(|v| match v {
                Value::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        if let Some(s) = strings {
            out.string_in.push((c, s));
        }
    } else if is_int_column(c) {
        let ints: Option<Vec<i64>> = set.iter().map(int_value).collect();
        if let Some(ints) = ints {
            let (lo, hi) = (ints.iter().min(), ints.iter().max());
            if let (Some(&lo), Some(&hi)) = (lo, hi) {
                out.int_ranges.push((c, lo, hi));
            }
        }
    }
}

fn comparison(op: CmpOp, e: &TExpr, v: &Value, out: &mut ScanFilter) {
    match &e.node {
        Node::Column(c) if is_string_prunable(*c) && op == CmpOp::Eq => {
            if let Value::Str(s) = v {
                out.string_in.push((*c, vec![s.clone()]));
            }
        }
        Node::Column(c) if is_int_column(*c) => {
            let Some(x) = int_value(v) else {
                return;
            };
            let range = match op {
                CmpOp::Eq => (x, x),
                CmpOp::NotEq => return,
                CmpOp::Lt => (i64::MIN, x.saturating_sub(1)),
                CmpOp::LtEq => (i64::MIN, x),
                CmpOp::Gt => (x.saturating_add(1), i64::MAX),
                CmpOp::GtEq => (x, i64::MAX),
            };
            if op == CmpOp::Lt && x == i64::MIN || op == CmpOp::Gt && x == i64::MAX {
                out.int_ranges.push((*c, 1, 0));
                return;
            }
            out.int_ranges.push((*c, range.0, range.1));
        }
        Node::Time(f, arg)
            if matches!(arg.node, Node::Column(ColumnId::Ts)) && *f != TimeFn::ToUnixTimestamp =>
        {
            let Some(x) = int_value(v) else {
                return;
            };
            // f(ts) <= ts < f(ts) + bucket, and f's result counts `unit` µs per step.
            let unit = if *f == TimeFn::ToDate {
                DataType::Date.micros_per_unit().unwrap_or(1)
            } else {
                DataType::DateTime.micros_per_unit().unwrap_or(1)
            };
            let at = x.saturating_mul(unit);
            let last = at.saturating_add(f.bucket_micros() - 1);
            let range = match op {
                CmpOp::Eq => (at, last),
                CmpOp::NotEq => return,
                CmpOp::Lt | CmpOp::LtEq => (i64::MIN, last),
                CmpOp::Gt => (at.saturating_add(unit), i64::MAX),
                CmpOp::GtEq => (at, i64::MAX),
            };
            out.int_ranges.push((ColumnId::Ts, range.0, range.1));
        }
        _ => {}
    }
}
