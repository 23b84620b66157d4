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
//! dictionary and turned into groups once per worker and key value ([`dense`]), at
//! `Partial::end_scan`, still on the worker's thread.
//!
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
//! - [`order`]: sorting, offset and limit of final rows.

pub mod accum;
pub mod bycode;
pub mod dense;
pub mod group;
pub mod hll;
pub mod meta;
pub mod order;
pub mod predicate;
pub mod rows;
pub mod unit;
pub mod vector;

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use adstore_storage::{ReadContext, ScanUnit, Snapshot};
use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;

use crate::error::{Error, Result};
use crate::model::Query;
use crate::plan::{Body, Plan};
use crate::value::Value;
use predicate::PredCache;
use unit::UnitColumns;

/// How a query runs.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Worker threads; 0 (the default) means one per available core.
    pub threads: usize,
}

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
    let threads = match options.threads {
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
            let limit = plan.limit.map(|l| l.saturating_add(plan.offset));
            let partials =
                run_workers(threads, &scan, || rows::RowSink::new(plan, outputs, limit))?;
            rows::RowSink::finish(partials, &plan.order)
        }
    };
    let page = order::page(final_rows, plan.offset, plan.limit);
    stats.units_scanned = scan.scanned.load(Ordering::Relaxed);
    stats.rows_scanned = scan.rows.load(Ordering::Relaxed);
    stats.units_decided = scan.decided.load(Ordering::Relaxed);
    stats.units_from_statistics = scan.from_statistics.load(Ordering::Relaxed);
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
    /// Whether the scan may stop once `produced` rows exist (row selection without ORDER BY).
    fn enough(&self, produced: u64) -> bool;
    /// Called by the worker once it has taken its last unit: work that would otherwise fall
    /// to the serial merge (turning pending per-code totals into groups) happens here, on
    /// every worker at once.
    fn end_scan(&mut self) {}
}

/// Most units of one segment a worker takes at once: long enough that a segment's dictionary
/// is mapped to groups by one worker, short enough that the last runs still balance the load.
const MAX_RUN: usize = 16;

/// The scan's units as runs of consecutive units of one segment (at most `max` each; memtable
/// chunks alone).
fn segment_runs(units: &[ScanUnit], max: usize) -> Vec<Range<usize>> {
    let segment_of = |u: &ScanUnit| match u {
        ScanUnit::Block { segment, .. } => Some(Arc::as_ptr(segment)),
        ScanUnit::Memtable { .. } => None,
    };
    let mut runs: Vec<Range<usize>> = Vec::new();
    for (i, u) in units.iter().enumerate() {
        let seg = segment_of(u);
        match runs.last_mut() {
            Some(r)
                if r.len() < max
                    && seg.is_some()
                    && units.get(r.start).map(segment_of) == Some(seg) =>
            {
                r.end = i + 1;
            }
            _ => runs.push(i..i + 1),
        }
    }
    runs
}

/// The shared state of one scan.
struct Scan<'a> {
    units: &'a [ScanUnit],
    /// The runs of units workers take (see [`segment_runs`]), in unit order.
    runs: &'a [Range<usize>],
    filter: Option<&'a crate::plan::TExpr>,
    /// Columns the WHERE clause reads.
    filter_columns: &'a [adstore_storage::ColumnId],
    /// The other columns the query reads.
    other_columns: &'a [adstore_storage::ColumnId],
    /// The columns the query reads outside its WHERE clause.
    body_columns: &'a [adstore_storage::ColumnId],
    /// The WHERE clause's top-level AND terms, each decided per block by its statistics.
    conjuncts: &'a [&'a crate::plan::TExpr],
    /// The columns each term reads.
    conjunct_columns: &'a [Vec<adstore_storage::ColumnId>],
    /// A WHERE clause that segment blocks answer from their encoded strings
    /// ([`predicate::plain_string_match`]), when the query reads that column nowhere else.
    string_match: Option<&'a (adstore_storage::ColumnId, Vec<&'a str>, bool)>,
    /// The next run to take.
    next: AtomicUsize,
    stop: AtomicBool,
    scanned: AtomicU64,
    rows: AtomicU64,
    produced: AtomicU64,
    decided: AtomicU64,
    from_statistics: AtomicU64,
}

/// One worker: takes runs of units until none is left or the scan stops.
fn work_loop<P: Partial>(scan: &Scan<'_>, mut partial: P) -> Result<P> {
    let mut ctx = ReadContext::new()?;
    let mut cache = PredCache::default();
    while !scan.stop.load(Ordering::Relaxed) {
        let r = scan.next.fetch_add(1, Ordering::Relaxed);
        let Some(run) = scan.runs.get(r) else {
            break;
        };
        for i in run.clone() {
            if scan.stop.load(Ordering::Relaxed) {
                break;
            }
            let Some(unit) = scan.units.get(i) else {
                break;
            };
            scan_unit(scan, unit, i, &mut partial, &mut ctx, &mut cache)?;
        }
    }
    partial.end_scan();
    Ok(partial)
}

/// Reads, filters and folds the `i`-th unit of the scan into `partial`.
fn scan_unit<P: Partial>(
    scan: &Scan<'_>,
    unit: &ScanUnit,
    i: usize,
    partial: &mut P,
    ctx: &mut ReadContext,
    cache: &mut PredCache,
) -> Result<()> {
    let Some((cols, mask)) = read_unit(scan, unit, partial, ctx, cache)? else {
        return Ok(());
    };
    let produced = partial.add_unit(&cols, mask.as_deref(), cache, i)? as u64;
    if produced > 0 {
        let total = scan.produced.fetch_add(produced, Ordering::Relaxed) + produced;
        if partial.enough(total) {
            scan.stop.store(true, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Decodes what `unit` needs and evaluates the WHERE clause into a row mask (`None`: every
/// row); `None` when the unit needs nothing more: no row matches, or its statistics answered.
fn read_unit<P: Partial>(
    scan: &Scan<'_>,
    unit: &ScanUnit,
    partial: &mut P,
    ctx: &mut ReadContext,
    cache: &mut PredCache,
) -> Result<Option<(UnitColumns, Option<Vec<bool>>)>> {
    if let Some(stats) = meta::BlockStats::of(unit) {
        // The terms the statistics cannot decide; a term that holds for no row ends the unit.
        let mut residual = Vec::with_capacity(scan.conjuncts.len());
        for (i, term) in scan.conjuncts.iter().enumerate() {
            match meta::decide(term, &stats, ctx)? {
                Some(true) => {}
                Some(false) => {
                    scan.decided.fetch_add(1, Ordering::Relaxed);
                    return Ok(None);
                }
                None => residual.push(i),
            }
        }
        if residual.is_empty() {
            if scan.filter.is_some() {
                scan.decided.fetch_add(1, Ordering::Relaxed);
            }
            if partial.add_summary(&stats, ctx)? {
                scan.from_statistics.fetch_add(1, Ordering::Relaxed);
                return Ok(None);
            }
            // Every row matches: no WHERE column to decode, no mask.
            let cols = UnitColumns::read(unit, scan.body_columns, ctx)?;
            scan.scanned.fetch_add(1, Ordering::Relaxed);
            scan.rows.fetch_add(cols.rows() as u64, Ordering::Relaxed);
            return Ok(Some((cols, None)));
        }
        if residual.len() < scan.conjuncts.len() {
            // Some terms hold for every row (a time range covering the block): only the
            // others are evaluated, and only their columns decoded before the mask.
            let mut read: Vec<_> = residual
                .iter()
                .flat_map(|&i| scan.conjunct_columns[i].iter().copied())
                .collect();
            read.sort();
            read.dedup();
            let mut cols = UnitColumns::read(unit, &read, ctx)?;
            scan.scanned.fetch_add(1, Ordering::Relaxed);
            scan.rows.fetch_add(cols.rows() as u64, Ordering::Relaxed);
            let mut mask = predicate::eval_pred(scan.conjuncts[residual[0]], &cols, cache)?;
            for &i in &residual[1..] {
                if !mask.contains(&true) {
                    break;
                }
                let more = predicate::eval_pred(scan.conjuncts[i], &cols, cache)?;
                mask.iter_mut().zip(more).for_each(|(m, x)| *m &= x);
            }
            if !mask.contains(&true) {
                return Ok(None);
            }
            let rest: Vec<_> = scan
                .body_columns
                .iter()
                .copied()
                .filter(|c| !read.contains(c))
                .collect();
            cols.read_more_masked(unit, &rest, Some(&mask), ctx)?;
            return Ok(Some((cols, Some(mask))));
        }
    }
    if let (Some((col, needles, negated)), ScanUnit::Block { segment, block }) =
        (scan.string_match, unit)
    {
        let mut mask = segment.match_strings(*col, *block, needles, ctx)?;
        if *negated {
            mask.iter_mut().for_each(|m| *m = !*m);
        }
        scan.scanned.fetch_add(1, Ordering::Relaxed);
        scan.rows.fetch_add(mask.len() as u64, Ordering::Relaxed);
        if !mask.contains(&true) {
            return Ok(None);
        }
        let mut cols = UnitColumns::read(unit, &[], ctx)?;
        cols.read_more_masked(unit, scan.body_columns, Some(&mask), ctx)?;
        return Ok(Some((cols, Some(mask))));
    }
    // Late materialization: the WHERE clause's columns first; the others only for a unit with
    // a matching row, so bloom false positives and selective filters cost little.
    let mut cols = UnitColumns::read(unit, scan.filter_columns, ctx)?;
    scan.scanned.fetch_add(1, Ordering::Relaxed);
    scan.rows.fetch_add(cols.rows() as u64, Ordering::Relaxed);
    let mask = scan
        .filter
        .map(|f| predicate::eval_pred(f, &cols, cache))
        .transpose()?;
    if mask.as_ref().is_some_and(|m| !m.contains(&true)) {
        return Ok(None);
    }
    // Every consumer reads the masked rows only (row selection, groups, aggregates).
    cols.read_more_masked(unit, scan.other_columns, mask.as_deref(), ctx)?;
    Ok(Some((cols, mask)))
}

/// Appends the top-level AND terms of `e` (`e` itself when it is no AND) to `out`.
fn and_terms<'e>(e: &'e crate::plan::TExpr, out: &mut Vec<&'e crate::plan::TExpr>) {
    match &e.node {
        crate::plan::Node::And(a, b) => {
            and_terms(a, out);
            and_terms(b, out);
        }
        _ => out.push(e),
    }
}

/// Runs `threads` workers over the scan's units, each folding units into its own partial.
/// Runs are taken in index order (one unit each for row selection), so when a LIMIT stops the
/// scan, every unit before the last one taken has been scanned.
fn run_workers<P: Partial>(
    threads: usize,
    scan: &Scan<'_>,
    make: impl Fn() -> P + Sync,
) -> Result<Vec<P>> {
    let work = || -> Result<P> {
        let out = work_loop(scan, make());
        if out.is_err() {
            scan.stop.store(true, Ordering::Relaxed);
        }
        out
    };
    if threads <= 1 {
        return Ok(vec![work()?]);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
        let mut out = Vec::with_capacity(threads);
        let mut first_err = None;
        for h in handles {
            match h.join() {
                Ok(Ok(p)) => out.push(p),
                Ok(Err(e)) => {
                    scan.stop.store(true, Ordering::Relaxed);
                    first_err.get_or_insert(e);
                }
                Err(_) => {
                    first_err.get_or_insert(Error::WorkerPanicked);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    })
}
