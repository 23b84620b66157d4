//! adstore-query: the query model, a ClickHouse SQL subset, planning (pruning) and parallel
//! filtered aggregate scans over [`adstore_storage`] snapshots, with results as Arrow record
//! batches. `docs/QUERY.md` documents the language and its semantics.
//!
//! The public API is three calls:
//! - [`parse_sql`]: SQL text → [`Query`] (or an [`Error`] naming the construct and its position);
//! - a [`Query`] can also be built directly (the structured gRPC `Aggregate` call does): see
//!   [`model`]; [`Query::and_filter`] adds a conjunctive restriction (e.g. the campaign prefixes of
//!   a scoped token, built with [`Expr::starts_with_any`]);
//! - [`execute`]: runs a [`Query`] on a [`Snapshot`] → [`QueryResult`] (an Arrow schema and
//!   record batches).
//!
//! A tour, front to back:
//! - [`sql`]: the SQL front end (sqlparser, ClickHouse dialect), aliases, positions in errors.
//! - [`model`]: [`Query`], [`Expr`], [`Aggregate`], the derived [`Metric`]s.
//! - [`types`], [`value`], [`time`], [`like`]: ClickHouse types, scalar semantics, UTC calendar
//!   functions, `LIKE`.
//! - [`plan`]: type checking with ClickHouse's rules, the storage pruning filter.
//! - [`eval`]: the row-at-a-time meaning of a typed expression.
//! - [`exec`]: the parallel scan: vectorized predicates on dictionary codes, code-keyed grouping,
//!   partial aggregates merged across threads, row selection with top-k.
//! - [`result`]: result rows to Arrow arrays.
//! - [`mod@error`]: the crate's error type.

#![warn(missing_docs)]

pub mod error;
pub mod eval;
pub mod exec;
pub mod like;
pub mod model;
pub mod plan;
pub mod result;
pub mod sql;
pub mod time;
pub mod types;
pub mod value;

pub use error::{Error, Result};
pub use exec::{ExecOptions, ExecStats, QueryResult, execute};
pub use model::{
    AggFunc, Aggregate, BinaryOp, CmpOp, Expr, Literal, Metric, OrderItem, Query, ScalarFunc,
    SelectItem, TimeRange,
};
pub use plan::Plan;
pub use sql::parse_sql;
pub use time::TimeFn;
pub use types::{ArithOp, DataType, Type};

pub use adstore_storage::{ColumnId, Snapshot};
