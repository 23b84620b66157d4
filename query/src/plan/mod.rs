//! Planning: from a model [`Query`] to a typed [`Plan`] the executor runs.
//!
//! - [`typed`]: [`TExpr`], typed expressions.
//! - [`analyze`]: type checking with ClickHouse's rules ([`AggPlan`] for aggregates).
//! - [`prune`]: the storage [`ScanFilter`] implied by the WHERE clause.
//!
//! A plan has a row-level filter, then either an aggregation (group keys, aggregates, and the
//! outputs computed from them per group) or a row selection (outputs computed per row), then an
//! order, an offset and a limit.

pub mod analyze;
pub mod prune;
pub mod typed;

use adstore_storage::{ColumnId, ScanFilter};

pub use analyze::AggPlan;
pub use typed::{Node, TExpr};

use crate::error::{Error, Result};
use crate::model::{CmpOp, Query};
use crate::types::{DataType, Type};
use crate::value::Value;
use analyze::{Scope, row_level, typecheck};

/// One ORDER BY key, typed.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    /// The key (per group for aggregate queries, per row otherwise).
    pub expr: TExpr,
    /// `DESC`.
    pub descending: bool,
    /// `NULLS FIRST`.
    pub nulls_first: bool,
}

/// What the scan computes.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Group rows and aggregate.
    Aggregate {
        /// Group-by expressions (row level; none: one group over all rows).
        keys: Vec<TExpr>,
        /// Aggregates.
        aggs: Vec<AggPlan>,
        /// Outputs, over [`Node::Key`] and [`Node::Agg`].
        outputs: Vec<TExpr>,
    },
    /// Select rows.
    Rows {
        /// Outputs (row level).
        outputs: Vec<TExpr>,
    },
}

/// A typed, checked query.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Rows must satisfy this (WHERE and the time range).
    pub filter: Option<TExpr>,
    /// Pruning hints for storage.
    pub scan_filter: ScanFilter,
    /// Aggregation or row selection.
    pub body: Body,
    /// Output column names.
    pub names: Vec<String>,
    /// Output column types.
    pub types: Vec<Type>,
    /// Sort keys.
    pub order: Vec<SortKey>,
    /// Groups must satisfy this (HAVING; over [`Node::Key`] and [`Node::Agg`]).
    pub having: Option<TExpr>,
    /// Rows to skip.
    pub offset: u64,
    /// Maximum rows returned.
    pub limit: Option<u64>,
}

impl Plan {
    /// Types and checks `query`.
    pub fn new(query: &Query) -> Result<Plan> {
        if query.select.is_empty() {
            return Err(Error::invalid("a query must select at least one column"));
        }
        let filter = build_filter(query)?;
        let scan_filter = prune::scan_filter(filter.as_ref());
        let names: Vec<String> = query.select.iter().map(|s| s.name.clone()).collect();
        let mut having = None;
        let (body, order) = if query.is_aggregate() {
            let mut key_types = Vec::new();
            let mut keys = Vec::new();
            for k in &query.group_by {
                let t = typecheck(k, &mut Scope::Row { clause: "GROUP BY" })?;
                row_level(&t, k)?;
                if t.data() == DataType::String && !matches!(t.node, Node::Column(_)) {
                    return Err(Error::Unsupported {
                        construct: format!("a constant string GROUP BY key `{k}`"),
                        line: 0,
                        column: 0,
                    });
                }
                key_types.push(t.ty);
                keys.push(t);
            }
            let mut aggs = Vec::new();
            let mut scope = Scope::Groups {
                keys: &query.group_by,
                key_types: &key_types,
                aggs: &mut aggs,
            };
            let outputs = query
                .select
                .iter()
                .map(|s| typecheck(&s.expr, &mut scope))
                .collect::<Result<Vec<_>>>()?;
            if let Some(h) = &query.having {
                let t = typecheck(h, &mut scope)?;
                if !(t.data().is_numeric() || t.data() == DataType::Nothing) {
                    return Err(Error::invalid(format!(
                        "HAVING needs a condition; `{h}` is {}",
                        t.ty
                    )));
                }
                having = Some(t);
            }
            let order = query
                .order_by
                .iter()
                .map(|o| {
                    Ok(SortKey {
                        expr: typecheck(&o.expr, &mut scope)?,
                        descending: o.descending,
                        nulls_first: o.nulls_first,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            (
                Body::Aggregate {
                    keys,
                    aggs,
                    outputs,
                },
                order,
            )
        } else {
            let mut scope = Scope::Row { clause: "SELECT" };
            let outputs = query
                .select
                .iter()
                .map(|s| typecheck(&s.expr, &mut scope))
                .collect::<Result<Vec<_>>>()?;
            let mut scope = Scope::Row { clause: "ORDER BY" };
            let order = query
                .order_by
                .iter()
                .map(|o| {
                    Ok(SortKey {
                        expr: typecheck(&o.expr, &mut scope)?,
                        descending: o.descending,
                        nulls_first: o.nulls_first,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            (Body::Rows { outputs }, order)
        };
        let types = match &body {
            Body::Aggregate { outputs, .. } | Body::Rows { outputs } => {
                outputs.iter().map(|o| o.ty).collect()
            }
        };
        Ok(Plan {
            filter,
            scan_filter,
            body,
            names,
            types,
            order,
            having,
            offset: query.offset,
            limit: query.limit,
        })
    }

    /// The columns the scan must decode, in schema order.
    pub fn columns(&self) -> Vec<ColumnId> {
        self.columns_of(true)
    }

    /// The columns the aggregates, group keys or selected rows read (the WHERE clause's left
    /// out), in schema order: what a block whose WHERE clause holds for every row decodes.
    pub fn body_columns(&self) -> Vec<ColumnId> {
        self.columns_of(false)
    }

    fn columns_of(&self, with_filter: bool) -> Vec<ColumnId> {
        let mut exprs: Vec<&TExpr> = self.filter.iter().filter(|_| with_filter).collect();
        match &self.body {
            Body::Aggregate { keys, aggs, .. } => {
                exprs.extend(keys);
                for a in aggs {
                    exprs.extend(a.arg.iter().chain(a.cond.iter()));
                }
            }
            Body::Rows { outputs } => {
                exprs.extend(outputs);
                exprs.extend(self.order.iter().map(|k| &k.expr));
            }
        }
        let mut cols: Vec<ColumnId> = exprs.iter().flat_map(|e| e.columns()).collect();
        cols.sort();
        cols.dedup();
        cols
    }
}

fn build_filter(query: &Query) -> Result<Option<TExpr>> {
    let mut filter = match &query.filter {
        Some(f) => {
            let t = typecheck(f, &mut Scope::Row { clause: "WHERE" })?;
            if !(t.data().is_numeric() || t.data() == DataType::Nothing) {
                return Err(Error::invalid(format!(
                    "WHERE needs a condition; `{f}` is {}",
                    t.ty
                )));
            }
            row_level(&t, f)?;
            Some(t)
        }
        None => None,
    };
    if let Some(r) = query.time_range {
        let ts = || TExpr {
            ty: Type::of(DataType::DateTime64),
            node: Node::Column(ColumnId::Ts),
        };
        let bound = |op, v| TExpr {
            ty: Type::of(DataType::UInt8),
            node: Node::Cmp(
                op,
                Box::new(ts()),
                Box::new(TExpr::constant(
                    Value::Int(v),
                    Type::of(DataType::DateTime64),
                )),
            ),
        };
        let range = and(bound(CmpOp::GtEq, r.start), bound(CmpOp::Lt, r.end));
        filter = Some(match filter {
            Some(f) => and(range, f),
            None => range,
        });
    }
    Ok(filter)
}

fn and(a: TExpr, b: TExpr) -> TExpr {
    TExpr {
        ty: Type::of(DataType::UInt8),
        node: Node::And(Box::new(a), Box::new(b)),
    }
}
