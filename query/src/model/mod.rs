//! The query model: what a query asks, independent of SQL and of protobuf.
//!
//! A [`Query`] is a list of output expressions, an optional [`TimeRange`], an optional filter,
//! group-by expressions, an order and a limit. It is an aggregate query when it groups or its
//! outputs use aggregates ([`Aggregate`], [`Metric`]); otherwise it selects rows. Time buckets
//! are group-by expressions such as `toStartOfHour(ts)`.
//!
//! - [`expr`]: [`Expr`], [`Literal`], operators and scalar functions.
//! - [`aggregate`]: [`AggFunc`], [`Aggregate`] and the derived [`Metric`]s.

pub mod aggregate;
pub mod expr;

pub use aggregate::{AggFunc, Aggregate, Metric};
pub use expr::{BinaryOp, CmpOp, Expr, Literal, ScalarFunc};

use adstore_storage::TimestampMicros;

/// A half-open range of event times, `start <= ts < end`, in µs since the epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// First included µs.
    pub start: TimestampMicros,
    /// First excluded µs.
    pub end: TimestampMicros,
}

/// One output column.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectItem {
    /// What to compute.
    pub expr: Expr,
    /// The column's name in the result.
    pub name: String,
}

impl SelectItem {
    /// An output named after its expression's text.
    pub fn unnamed(expr: Expr) -> SelectItem {
        SelectItem {
            name: expr.to_string(),
            expr,
        }
    }

    /// A derived metric, named after it (`ctr`, `cpa`, ...).
    pub fn metric(m: Metric) -> SelectItem {
        SelectItem {
            expr: m.expr(),
            name: m.name().to_owned(),
        }
    }

    /// An output with a name.
    pub fn named(expr: Expr, name: impl Into<String>) -> SelectItem {
        SelectItem {
            expr,
            name: name.into(),
        }
    }
}

/// One ORDER BY key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    /// The sort key.
    pub expr: Expr,
    /// `DESC`.
    pub descending: bool,
    /// `NULLS FIRST` (default: NaN and NULL sort last, as in ClickHouse).
    pub nulls_first: bool,
}

/// A query over the event table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// Output columns, in order.
    pub select: Vec<SelectItem>,
    /// Restricts `ts` (in addition to `filter`).
    pub time_range: Option<TimeRange>,
    /// Rows must satisfy this (`WHERE`).
    pub filter: Option<Expr>,
    /// Group-by expressions.
    pub group_by: Vec<Expr>,
    /// Groups must satisfy this (`HAVING`, over group keys and aggregates).
    pub having: Option<Expr>,
    /// Sort keys, most significant first. Rows that tie on every key come in ascending order
    /// of their output values, so results are deterministic.
    pub order_by: Vec<OrderItem>,
    /// At most this many rows (after `offset`).
    pub limit: Option<u64>,
    /// Rows to skip.
    pub offset: u64,
}

impl Query {
    /// Adds a restriction every row must also satisfy, AND-ed with the existing WHERE (the
    /// service uses it to confine a campaign-scoped token, see [`Expr::starts_with_any`]).
    pub fn and_filter(&mut self, restriction: Expr) {
        self.filter = Some(match self.filter.take() {
            Some(f) => restriction.and(f),
            None => restriction,
        });
    }

    /// Whether the query aggregates (groups, or uses an aggregate in its outputs or order).
    pub fn is_aggregate(&self) -> bool {
        !self.group_by.is_empty()
            || self.having.is_some()
            || self.select.iter().any(|s| s.expr.has_aggregate())
            || self.order_by.iter().any(|o| o.expr.has_aggregate())
    }
}
