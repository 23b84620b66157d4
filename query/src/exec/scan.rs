//! One scan: worker threads take runs of units ([`segment_runs`]) from a shared counter; for
//! each unit, [`read_unit`] consults its block statistics ([`super::meta`]) to skip it, drop
//! the WHERE terms it decides, or fold it without the per-row path, answers a plain-string
//! equality from the encoded strings, or else decodes the WHERE columns, evaluates the mask and
//! decodes the rest for the matching rows; [`scan_unit`] folds what was read into the worker's
//! partial result.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use adstore_storage::{ReadContext, ScanUnit};

use super::predicate::{self, PredCache};
use super::rollups::RollupUse;
use super::unit::UnitColumns;
use super::{Partial, meta};
use crate::error::{Error, Result};

/// Most units of one segment a worker takes at once: long enough that a segment's dictionary
/// is mapped to groups by one worker, short enough that the last runs still balance the load.
pub(super) const MAX_RUN: usize = 16;

/// The scan's units as runs of consecutive units of one segment (at most `max` each; memtable
/// chunks alone).
pub(super) fn segment_runs(units: &[ScanUnit], max: usize) -> Vec<Range<usize>> {
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
pub(super) struct Scan<'a> {
    pub(super) units: &'a [ScanUnit],
    /// The runs of units workers take (see [`segment_runs`]), in unit order.
    pub(super) runs: &'a [Range<usize>],
    pub(super) filter: Option<&'a crate::plan::TExpr>,
    /// Columns the WHERE clause reads.
    pub(super) filter_columns: &'a [adstore_storage::ColumnId],
    /// The other columns the query reads.
    pub(super) other_columns: &'a [adstore_storage::ColumnId],
    /// The columns the query reads outside its WHERE clause.
    pub(super) body_columns: &'a [adstore_storage::ColumnId],
    /// The WHERE clause's top-level AND terms, each decided per block by its statistics.
    pub(super) conjuncts: &'a [&'a crate::plan::TExpr],
    /// Per unit, the site rollup standing for it ([`super::rollups`]); empty when none does.
    pub(super) rollups: &'a [Option<RollupUse>],
    /// The columns each term reads.
    pub(super) conjunct_columns: &'a [Vec<adstore_storage::ColumnId>],
    /// A WHERE clause that segment blocks answer from their encoded strings
    /// ([`predicate::plain_string_match`]), when the query reads that column nowhere else.
    pub(super) string_match: Option<&'a (adstore_storage::ColumnId, Vec<&'a str>, bool)>,
    /// The next run to take.
    pub(super) next: AtomicUsize,
    pub(super) stop: AtomicBool,
    pub(super) scanned: AtomicU64,
    pub(super) rows: AtomicU64,
    pub(super) produced: AtomicU64,
    pub(super) decided: AtomicU64,
    pub(super) from_statistics: AtomicU64,
}

impl Scan<'_> {
    /// Adds what the scan counted to `stats`.
    pub(super) fn record(&self, stats: &mut super::ExecStats) {
        stats.units_scanned = self.scanned.load(Ordering::Relaxed);
        stats.rows_scanned = self.rows.load(Ordering::Relaxed);
        stats.units_decided = self.decided.load(Ordering::Relaxed);
        stats.units_from_statistics = self.from_statistics.load(Ordering::Relaxed);
    }
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
    partial.end_worker();
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
    let Some((cols, mask)) = read_unit(scan, unit, i, partial, ctx, cache)? else {
        return Ok(());
    };
    let produced = partial.add_unit(&cols, mask.as_deref(), cache, i)? as u64;
    cols.recycle(ctx);
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
    i: usize,
    partial: &mut P,
    ctx: &mut ReadContext,
    cache: &mut PredCache,
) -> Result<Option<(UnitColumns, Option<Vec<bool>>)>> {
    // A unit a site rollup stands for is counted by the rollup alone (added by one unit of
    // its run, chosen before the scan, which also checked the WHERE clause holds for every
    // row of the run: see `super::rollups`).
    if let Some(Some(used)) = scan.rollups.get(i) {
        if scan.filter.is_some() {
            scan.decided.fetch_add(1, Ordering::Relaxed);
        }
        if let (RollupUse::Add(r), ScanUnit::Block { segment, .. }) = (used, unit) {
            partial.add_rollup(segment, *r, ctx)?;
        }
        scan.from_statistics.fetch_add(1, Ordering::Relaxed);
        return Ok(None);
    }
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
            if partial.add_streamed(unit, ctx)? {
                scan.scanned.fetch_add(1, Ordering::Relaxed);
                scan.rows.fetch_add(unit.rows() as u64, Ordering::Relaxed);
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
                predicate::and_pred(&mut mask, scan.conjuncts[i], &cols, cache)?;
            }
            if !mask.contains(&true) {
                cols.recycle(ctx);
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
        cols.recycle(ctx);
        return Ok(None);
    }
    // Every consumer reads the masked rows only (row selection, groups, aggregates).
    cols.read_more_masked(unit, scan.other_columns, mask.as_deref(), ctx)?;
    Ok(Some((cols, mask)))
}

/// Appends the top-level AND terms of `e` (`e` itself when it is no AND) to `out`.
pub(super) fn and_terms<'e>(e: &'e crate::plan::TExpr, out: &mut Vec<&'e crate::plan::TExpr>) {
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
pub(super) fn run_workers<P: Partial>(
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
        // The calling thread is one of the workers: one thread fewer to start (and, on a server
        // idle before the query, to wake) per query.
        let handles: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut out = Vec::with_capacity(threads);
        let mut first_err = None;
        // A panic here becomes the same error as in a spawned worker.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
            Ok(Ok(p)) => out.push(p),
            Ok(Err(e)) => first_err = Some(e),
            Err(_) => {
                scan.stop.store(true, Ordering::Relaxed);
                first_err = Some(Error::WorkerPanicked);
            }
        }
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
