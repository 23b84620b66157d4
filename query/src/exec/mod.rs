//! Execution: [`execute`] runs a [`Query`] on a [`Snapshot`].
//!
//! The plan's [`ScanFilter`](adstore_storage::ScanFilter) prunes partitions, segments and blocks
//! (min/max, dictionaries, blooms); the remaining scan units (segment blocks and memtable chunks)
//! are shared by worker threads (one per core by default) that take them in order from an
//! atomic counter: an aggregate in runs of up to 16 consecutive blocks of one segment
//! (so one worker usually maps a segment's dictionary codes to groups, and a group's
//! `uniqExact` set is not split between workers), a row selection one unit at a time. Each
//! worker decodes only the columns the plan reads, evaluates the WHERE
//! clause into a row mask ([`predicate`]), and either folds the selected rows into its own
//! partial aggregates ([`group`], [`accum`]) or keeps the selected rows ([`rows`]). Partial
//! results are merged, then the final stage computes outputs per group or row, sorts, applies
//! offset and limit, and builds Arrow batches ([`crate::result`]).
//!
//! Before a segment block is decoded, its footer statistics (per-column min, max and sum) may
//! decide the WHERE clause's AND terms for all its rows ([`meta`]): a block where one holds for
//! none is skipped; terms that hold for all are dropped for that block, so their columns are not
//! decoded (a time range covering the block); when every term holds, no mask is needed, and
//! when the group keys and aggregates are decided too the block is folded from the statistics
//! alone, or by runs of `ts` for time-bucket keys.
//!
//! Aggregation avoids a row mask per aggregate where it can: `countIf` and integer `sumIf` whose
//! condition reads only the event type or a boolean column keep per-(group, code) totals, one
//! pass per column for all of them, folded with the condition's truth table at merge
//! ([`bycode`]); counts and integer sums fold each run of rows of one group in registers (rows
//! are sorted by campaign and time, so runs are long), or row by row when groups change often
//! ([`accum`]); grouped by one dictionary column, they are kept per code of each segment
//! dictionary, added up across workers by dictionary when their tables merge, and turned into
//! groups once per query and key value ([`dense`]).
//!
//! - `scan`: the workers' loop over the units, and what each unit reads.
//! - [`meta`]: blocks decided, or answered, by their statistics.
//! - [`unit`](mod@unit): a unit's decoded columns, dictionary form for low-cardinality strings.
//! - [`predicate`], [`vector`]: vectorized conditions and numeric expressions.
//! - [`group`]: code-keyed grouping within a unit, value-keyed groups across units.
//! - [`accum`]: aggregate states, their update and merge.
//! - [`bycode`]: counts and sums whose condition reads one small-domain column, kept per code.
//! - [`dense`]: counts and sums grouped by one dictionary column, kept per code of each
//!   segment dictionary.
//! - [`hll`]: the HyperLogLog sketch of `uniq`.
//! - [`rows`]: plain row selection, with top-k for ORDER BY ... LIMIT.
//! - [`columnar`]: plain row selection of stored columns without ORDER BY, straight into
//!   Arrow arrays.
//! - [`order`]: sorting, offset and limit of final rows.

pub mod accum;
pub mod bycode;
pub mod columnar;
pub mod dense;
pub mod distinct;
pub mod group;
pub mod hll;
pub mod meta;
pub mod order;
pub mod predicate;
mod rollups;
pub mod rows;
mod scan;
pub mod unit;
pub mod vector;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};

use adstore_storage::{ReadContext, ScanUnit, Snapshot};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::error::Result;
use crate::model::Query;
use crate::plan::{Body, Plan};
use crate::value::Value;
use predicate::PredCache;
use scan::{MAX_RUN, Scan, and_terms, run_workers, segment_runs};
use unit::UnitColumns;

/// How a query runs.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Worker threads; 0 (the default) means one per available core, or one alone for a scan
    /// reading at most [`ONE_THREAD_BYTES`].
    pub threads: usize,
}

/// The bytes a scan of `units` reads at most: the stored blocks of `columns` (decoding,
/// decompressing, CRCs: the work scales with them), 8 bytes a row and column for memtable rows;
/// for units a rollup stands for (`rollups`, per unit), the rollup's block once.
fn stored_bytes<'c>(
    units: &[ScanUnit],
    rollups: &[Option<rollups::RollupUse>],
    columns: impl Iterator<Item = &'c adstore_storage::ColumnId> + Clone,
) -> u64 {
    units
        .iter()
        .enumerate()
        .map(|(i, u)| match (u, rollups.get(i).copied().flatten()) {
            (ScanUnit::Block { segment, .. }, Some(rollups::RollupUse::Add(r))) => {
                segment.rollups().get(r).map_or(0, |m| u64::from(m.len))
            }
            (_, Some(rollups::RollupUse::Covered)) => 0,
            (ScanUnit::Block { segment, block }, None) => columns
                .clone()
                .map(|&c| u64::from(segment.block_meta(c, *block).len))
                .sum::<u64>(),
            (ScanUnit::Memtable { batch, .. }, _) => {
                (batch.len() as u64).saturating_mul(8 * columns.clone().count() as u64)
            }
        })
        .sum()
}

/// A scan reading at most this many stored bytes ([`stored_bytes`]) runs on the calling
/// thread alone (unless [`ExecOptions::threads`] says otherwise). Such a scan takes about a
/// millisecond, about what a second thread takes to start on a machine whose other core sat
/// idle, and the caller then waits for it to join: a median campaign's Q4 or Q5 at 50M
/// impressions (0.56 and 0.34 MB in 18 and 14 blocks) ran in 1.24 and 1.85–1.89 ms alone
/// after 150 ms idle, 1.56–1.68 and 2.13–2.33 with a second worker (back to back, the second
/// worker saved ~0.2 ms). One user's Q7 and Q10 at 10M (1.2–1.3 MB in 17 blocks) keep two:
/// back to back two took 1.7 ms where one took 2.6, and after idle they were even.
pub const ONE_THREAD_BYTES: u64 = 768 << 10;

/// What a query did, for logs and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecStats {
    /// Scan units (blocks and memtable chunks) left after pruning.
    pub units: u64,
    /// Units actually scanned (fewer when a LIMIT stopped the scan early).
    pub units_scanned: u64,
    /// Rows in the scanned units.
    pub rows_scanned: u64,
    /// Rows of the snapshot (before pruning).
    pub rows_total: u64,
    /// Segment blocks whose WHERE clause their statistics decided for every row: scanned
    /// without decoding the clause's columns, or skipped when it holds for none.
    pub units_decided: u64,
    /// Segment blocks folded into the aggregates without the per-row path ([`meta`]): from
    /// their statistics alone, by runs of `ts`, or (`uniqExact` of a string) by hashing the
    /// block's encoded strings in place.
    pub units_from_statistics: u64,
}

/// A query's answer: an Arrow schema and record batches (together at most the query's limit
/// rows; an aggregate without GROUP BY always has exactly one row).
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// Column names and Arrow types (ClickHouse types are in each field's metadata under
    /// `clickhouse_type`).
    pub schema: SchemaRef,
    /// The rows.
    pub batches: Vec<RecordBatch>,
    /// Scan figures.
    pub stats: ExecStats,
}

impl QueryResult {
    /// Total rows over all batches.
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }
}

/// Plans and runs `query` on `snapshot`.
pub fn execute(snapshot: &Snapshot, query: &Query, options: &ExecOptions) -> Result<QueryResult> {
    let plan = Plan::new(query)?;
    execute_plan(snapshot, &plan, options)
}

/// Runs a checked plan.
pub fn execute_plan(
    snapshot: &Snapshot,
    plan: &Plan,
    options: &ExecOptions,
) -> Result<QueryResult> {
    let mut ctx = ReadContext::new()?;
    let units = snapshot.plan(&plan.scan_filter, &mut ctx)?;
    let columns = plan.columns();
    let filter_columns: Vec<_> = plan
        .filter
        .as_ref()
        .map(crate::plan::TExpr::columns)
        .unwrap_or_default();
    let other_columns: Vec<_> = columns
        .iter()
        .copied()
        .filter(|c| !filter_columns.contains(c))
        .collect();
    let body_columns = plan.body_columns();
    let mut conjuncts = Vec::new();
    if let Some(f) = &plan.filter {
        and_terms(f, &mut conjuncts);
    }
    let conjunct_columns: Vec<_> = conjuncts.iter().map(|c| c.columns()).collect();
    let string_match = plan
        .filter
        .as_ref()
        .and_then(predicate::plain_string_match)
        .filter(|(c, _, _)| !body_columns.contains(c));
    // Aggregates take each segment's blocks as one run, so one worker maps a segment's
    // dictionary codes to its groups once; row selection takes units one by one, in order.
    let runs = match &plan.body {
        Body::Aggregate { .. } => segment_runs(&units, MAX_RUN),
        Body::Rows { .. } => segment_runs(&units, 1),
    };
    // Site rollups stand for whole runs of blocks of a query grouping by `site`.
    let rollup_uses = match &plan.body {
        Body::Aggregate { keys, aggs, .. }
            if group::GroupTable::new(plan, keys, aggs).takes_rollups() =>
        {
            rollups::plan_rollups(&units, &conjuncts, &mut ctx)?
        }
        _ => Vec::new(),
    };
    let read_bytes = stored_bytes(
        &units,
        &rollup_uses,
        filter_columns.iter().chain(&other_columns),
    );
    let threads = match options.threads {
        0 if read_bytes <= ONE_THREAD_BYTES => 1,
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    }
    .clamp(1, runs.len().max(1));
    let mut stats = ExecStats {
        units: units.len() as u64,
        rows_total: snapshot.rows(),
        ..ExecStats::default()
    };
    let scan = Scan {
        units: &units,
        runs: &runs,
        filter: plan.filter.as_ref(),
        filter_columns: &filter_columns,
        other_columns: &other_columns,
        body_columns: &body_columns,
        conjuncts: &conjuncts,
        rollups: &rollup_uses,
        conjunct_columns: &conjunct_columns,
        string_match: string_match.as_ref(),
        next: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        scanned: AtomicU64::new(0),
        rows: AtomicU64::new(0),
        produced: AtomicU64::new(0),
        decided: AtomicU64::new(0),
        from_statistics: AtomicU64::new(0),
    };
    let keep = plan.limit.map(|l| l.saturating_add(plan.offset));
    if let Some(sink) = columnar::ColumnarRows::for_plan(plan, keep) {
        let schema = sink.schema();
        let partials = run_workers(threads, &scan, || sink.fresh())?;
        let batches = columnar::ColumnarRows::finish(partials, plan.offset, plan.limit);
        scan.record(&mut stats);
        return Ok(QueryResult {
            schema,
            batches,
            stats,
        });
    }
    let final_rows: Vec<Vec<Value>> = match &plan.body {
        Body::Aggregate {
            keys,
            aggs,
            outputs,
        } => {
            let partials =
                run_workers(threads, &scan, || group::GroupTable::new(plan, keys, aggs))?;
            let mut merged = group::GroupTable::new(plan, keys, aggs);
            for p in partials {
                merged.merge(p);
            }
            merged.finish(outputs, &plan.order)
        }
        Body::Rows { outputs } => {
            let partials = run_workers(threads, &scan, || rows::RowSink::new(plan, outputs, keep))?;
            rows::RowSink::finish(partials, &plan.order)
        }
    };
    let page = order::page(final_rows, plan.offset, plan.limit);
    scan.record(&mut stats);
    let (schema, batches) = crate::result::to_batches(&plan.names, &plan.types, &page)?;
    Ok(QueryResult {
        schema,
        batches,
        stats,
    })
}

/// What one worker accumulates: partial aggregates or selected rows.
pub(crate) trait Partial: Send {
    /// Folds in one unit (the `index`-th of the scan), the rows where `mask` (the WHERE clause)
    /// holds, all when `None`; returns the rows it produced (row selection) or 0.
    fn add_unit(
        &mut self,
        u: &UnitColumns,
        mask: Option<&[bool]>,
        cache: &mut PredCache,
        index: usize,
    ) -> Result<usize>;
    /// Folds in a whole segment block from its statistics alone, when the WHERE clause holds
    /// for each of its rows; false (nothing changed) when the statistics cannot tell.
    fn add_summary(
        &mut self,
        _stats: &meta::BlockStats<'_>,
        _ctx: &mut ReadContext,
    ) -> Result<bool> {
        Ok(false)
    }
    /// Folds in a whole segment block whose WHERE clause holds for every row straight from its
    /// encoded columns, without decoding them into a unit first (per-code totals,
    /// [`dense`]); false (nothing changed) when that path does not apply.
    fn add_streamed(&mut self, _unit: &ScanUnit, _ctx: &mut ReadContext) -> Result<bool> {
        Ok(false)
    }
    /// Folds in site rollup `rollup` of `segment`, standing for the blocks it covers (chosen by
    /// [`rollups`] for partials that take them).
    fn add_rollup(
        &mut self,
        _segment: &adstore_storage::SegmentReader,
        _rollup: usize,
        _ctx: &mut ReadContext,
    ) -> Result<()> {
        Err(crate::error::Error::invalid(
            "internal: a site rollup handed to a partial that does not take them",
        ))
    }
    /// Whether the scan may stop once `produced` rows exist (row selection without ORDER BY).
    fn enough(&self, produced: u64) -> bool;
    /// Work on the partial result that can be done in the worker's thread once its units are
    /// folded, rather than in the serial merge after it (sorting `uniqExact`'s pending keys).
    fn end_worker(&mut self) {}
}
