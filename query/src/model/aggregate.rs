//! Aggregate functions ([`AggFunc`], [`Aggregate`]) and adstore's derived ad metrics
//! ([`Metric`]), which expand into ordinary expressions over aggregates.

use std::fmt;

use adstore_storage::{ColumnId, EventType};

use super::expr::Expr;
use crate::types::ArithOp;

/// An aggregate function. Each also has an `-If` form (`countIf`, `sumIf`, ...) taking a
/// condition as its last argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggFunc {
    /// `count()` rows, or `count(x)` non-NULL values: `UInt64`.
    Count,
    /// `sum(x)`: `Int64` for signed, `UInt64` for unsigned integers, `Float64` for floats;
    /// integer sums wrap at 64 bits, as in ClickHouse.
    Sum,
    /// `min(x)`: the type of `x`; over no row, its zero value (ClickHouse).
    Min,
    /// `max(x)`: the type of `x`; over no row, its zero value (ClickHouse).
    Max,
    /// `avg(x)`: `Float64`; over no row, `nan` (ClickHouse).
    Avg,
    /// `uniqExact(x)`: the exact number of distinct values, `UInt64`.
    UniqExact,
    /// `uniq(x)`: an estimate of the number of distinct values (HyperLogLog, see
    /// [`crate::exec::hll`]), `UInt64`.
    Uniq,
}

impl AggFunc {
    /// The function's name in SQL (without `If`).
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Avg => "avg",
            AggFunc::UniqExact => "uniqExact",
            AggFunc::Uniq => "uniq",
        }
    }

    /// The function of a SQL name, ASCII case-insensitively.
    pub fn by_name(name: &str) -> Option<AggFunc> {
        [
            AggFunc::Count,
            AggFunc::Sum,
            AggFunc::Min,
            AggFunc::Max,
            AggFunc::Avg,
            AggFunc::UniqExact,
            AggFunc::Uniq,
        ]
        .into_iter()
        .find(|f| f.name().eq_ignore_ascii_case(name))
    }
}

/// An aggregate call: `func(arg)` over the rows where `cond` holds (when given).
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The function.
    pub func: AggFunc,
    /// The argument (`None` only for `count()`).
    pub arg: Option<Box<Expr>>,
    /// The `-If` condition.
    pub cond: Option<Box<Expr>>,
}

impl Aggregate {
    /// `count()`.
    pub fn count() -> Aggregate {
        Aggregate {
            func: AggFunc::Count,
            arg: None,
            cond: None,
        }
    }

    /// `func(arg)`.
    pub fn of(func: AggFunc, arg: Expr) -> Aggregate {
        Aggregate {
            func,
            arg: Some(Box::new(arg)),
            cond: None,
        }
    }

    /// The same aggregate over the rows where `cond` holds (`countIf`, `sumIf`, ...).
    pub fn filtered(mut self, cond: Expr) -> Aggregate {
        self.cond = Some(Box::new(cond));
        self
    }

    /// This aggregate as an expression.
    pub fn expr(self) -> Expr {
        Expr::Aggregate(self)
    }
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = if self.cond.is_some() { "If" } else { "" };
        let args: Vec<String> = self
            .arg
            .iter()
            .chain(self.cond.iter())
            .map(ToString::to_string)
            .collect();
        write!(f, "{}{suffix}({})", self.func.name(), args.join(", "))
    }
}

/// adstore's derived ad metrics. Each is a ratio of sums whose zero denominator gives NULL
/// (`nullIf(denominator, 0)`); money comes out in currency units (micros / 10^6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// `ctr()`: clicks / impressions.
    Ctr,
    /// `cvr()`: conversions / clicks.
    Cvr,
    /// `cpa()`: spend / conversions, spend = `sum(cost_micros) / 1e6`.
    Cpa,
    /// `cpc()`: spend / clicks.
    Cpc,
    /// `cpm()`: spend per thousand impressions, `sum(cost_micros) / 1000 / impressions`.
    Cpm,
    /// `roas()`: `sum(revenue_micros) / sum(cost_micros)`.
    Roas,
    /// `win_rate()`: won auctions / bid requests, `countIf(won) / countIf(event_type = 'bid_request')`.
    WinRate,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 7] = [
        Metric::Ctr,
        Metric::Cvr,
        Metric::Cpa,
        Metric::Cpc,
        Metric::Cpm,
        Metric::Roas,
        Metric::WinRate,
    ];

    /// The metric's name in SQL (`ctr`, ..., `win_rate`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Ctr => "ctr",
            Metric::Cvr => "cvr",
            Metric::Cpa => "cpa",
            Metric::Cpc => "cpc",
            Metric::Cpm => "cpm",
            Metric::Roas => "roas",
            Metric::WinRate => "win_rate",
        }
    }

    /// The metric of a SQL name, ASCII case-insensitively.
    pub fn by_name(name: &str) -> Option<Metric> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// The metric as an expression over aggregates (its documented formula).
    pub fn expr(self) -> Expr {
        let count_of = |t: EventType| {
            Aggregate::count()
                .filtered(Expr::col(ColumnId::EventType).eq(Expr::str(t.as_str())))
                .expr()
        };
        let sum_of = |c: ColumnId| Aggregate::of(AggFunc::Sum, Expr::col(c)).expr();
        let guard = |e: Expr| e.null_if(Expr::uint(0));
        let micros =
            |e: Expr, by: u64| e.binary(super::BinaryOp::Arith(ArithOp::Div), Expr::uint(by));
        let spend = || micros(sum_of(ColumnId::CostMicros), 1_000_000);
        match self {
            Metric::Ctr => {
                count_of(EventType::Click).divide(guard(count_of(EventType::Impression)))
            }
            Metric::Cvr => {
                count_of(EventType::Conversion).divide(guard(count_of(EventType::Click)))
            }
            Metric::Cpa => spend().divide(guard(count_of(EventType::Conversion))),
            Metric::Cpc => spend().divide(guard(count_of(EventType::Click))),
            Metric::Cpm => micros(sum_of(ColumnId::CostMicros), 1000)
                .divide(guard(count_of(EventType::Impression))),
            Metric::Roas => {
                sum_of(ColumnId::RevenueMicros).divide(guard(sum_of(ColumnId::CostMicros)))
            }
            Metric::WinRate => Aggregate::count()
                .filtered(Expr::col(ColumnId::Won))
                .expr()
                .divide(guard(count_of(EventType::BidRequest))),
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}()", self.name())
    }
}
