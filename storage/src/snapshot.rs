//! The scan API: a consistent [`Snapshot`] of the store, pruned into [`ScanUnit`]s.
//!
//! A snapshot is a list of `Arc`s (segments, memtable chunks): taking one copies no row, and a
//! flush or compaction running meanwhile does not change what it sees. A read-only store's
//! segments are [`LazySegment`]s, opened by the first plan whose partition and time-range
//! pruning keeps them. [`Snapshot::plan`] prunes by partition (day from the time range,
//! campaign bucket from a campaign filter), by segment time range, by block min/max (integers,
//! and dictionary codes, which are ordered like the strings), by dictionary membership and by
//! per-block bloom filters for `=`/`IN` on event_id and user_id. Pruning is conservative: it
//! may keep a block with no matching row, never skip one with a matching row. Filters are
//! applied to rows by the query engine, not here.

use std::sync::Arc;

use crate::batch::EventBatch;
use crate::error::Result;
use crate::memtable::event_id_hash;
use crate::partition::{PartitionKey, campaign_bucket};
use crate::schema::{ColumnId, ColumnKind, day_of};
use crate::segment::{CheckedBloom, ColumnData, LazySegment, ReadContext, SegmentReader};

/// Conservative pruning hints, conjunctive: a row can match only if it satisfies all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanFilter {
    /// `lo <= value <= hi` on an integer column (event_type and won by their codes 0..=3, 0..=1).
    pub int_ranges: Vec<(ColumnId, i64, i64)>,
    /// `value IN (...)` on a string column.
    pub string_in: Vec<(ColumnId, Vec<String>)>,
}

impl ScanFilter {
    /// No pruning.
    pub fn all() -> ScanFilter {
        ScanFilter::default()
    }

    /// Restricts to `lo <= ts <= hi`.
    pub fn ts_between(mut self, lo: i64, hi: i64) -> ScanFilter {
        self.int_ranges.push((ColumnId::Ts, lo, hi));
        self
    }

    /// Restricts `col` to one of `values`.
    pub fn string_in(
        mut self,
        col: ColumnId,
        values: impl IntoIterator<Item = impl Into<String>>,
    ) -> ScanFilter {
        self.string_in
            .push((col, values.into_iter().map(Into::into).collect()));
        self
    }

    /// Restricts an integer column.
    pub fn int_between(mut self, col: ColumnId, lo: i64, hi: i64) -> ScanFilter {
        self.int_ranges.push((col, lo, hi));
        self
    }

    fn ts_bounds(&self) -> (i64, i64) {
        self.int_ranges
            .iter()
            .filter(|(c, _, _)| *c == ColumnId::Ts)
            .fold((i64::MIN, i64::MAX), |(lo, hi), &(_, l, h)| {
                (lo.max(l), hi.min(h))
            })
    }

    fn partition_may_match(&self, key: PartitionKey, bucket_count: u16) -> bool {
        let (lo, hi) = self.ts_bounds();
        if lo > hi || key.day < day_of(lo) || key.day > day_of(hi) {
            return false;
        }
        self.string_in
            .iter()
            .filter(|(c, _)| *c == ColumnId::CampaignId)
            .all(|(_, values)| {
                values
                    .iter()
                    .any(|v| campaign_bucket(v, bucket_count) == key.bucket)
            })
    }
}

/// A unit of scan work: one block of one segment, or one memtable chunk.
#[derive(Debug, Clone)]
pub enum ScanUnit {
    /// Block `block` of `segment`.
    Block {
        /// The segment.
        segment: Arc<SegmentReader>,
        /// The block index.
        block: u32,
    },
    /// Acknowledged rows not yet in a segment.
    Memtable {
        /// Their partition.
        partition: PartitionKey,
        /// The rows.
        batch: Arc<EventBatch>,
    },
}

impl ScanUnit {
    /// Rows in the unit.
    pub fn rows(&self) -> usize {
        match self {
            ScanUnit::Block { segment, block } => segment.footer().rows_in_block(*block),
            ScanUnit::Memtable { batch, .. } => batch.len(),
        }
    }

    /// Decodes the given columns only, in the order asked.
    pub fn read(&self, columns: &[ColumnId], ctx: &mut ReadContext) -> Result<Vec<ColumnData>> {
        match self {
            ScanUnit::Block { segment, block } => columns
                .iter()
                .map(|&c| segment.read_block(c, *block, ctx))
                .collect(),
            ScanUnit::Memtable { batch, .. } => {
                Ok(columns.iter().map(|&c| memtable_column(batch, c)).collect())
            }
        }
    }

    /// Like [`ScanUnit::read`], for a caller that will look at the rows `sel` (ascending) only:
    /// a plain string column may then hold empty strings in the other rows. For event_id in a
    /// segment block that spares decoding the segment's whole sorted key set.
    pub fn read_for_rows(
        &self,
        columns: &[ColumnId],
        sel: &[u32],
        ctx: &mut ReadContext,
    ) -> Result<Vec<ColumnData>> {
        match self {
            ScanUnit::Block { segment, block } => columns
                .iter()
                .map(|&c| match c {
                    ColumnId::EventId => segment.read_event_ids_of_rows(*block, sel, ctx),
                    c => segment.read_block(c, *block, ctx),
                })
                .collect(),
            ScanUnit::Memtable { .. } => self.read(columns, ctx),
        }
    }
}

fn memtable_column(batch: &EventBatch, col: ColumnId) -> ColumnData {
    match col.kind() {
        ColumnKind::PlainString | ColumnKind::DictString => {
            ColumnData::Strings(batch.string_column(col).cloned().unwrap_or_default())
        }
        ColumnKind::I64 => ColumnData::I64(
            batch
                .i64_column(col)
                .map(<[i64]>::to_vec)
                .unwrap_or_default(),
        ),
        ColumnKind::EventType => ColumnData::EventType(batch.event_type.clone()),
        ColumnKind::Bool => ColumnData::Bool(batch.won.clone()),
    }
}

/// A consistent view of the store.
#[derive(Debug, Clone)]
pub struct Snapshot {
    segments: Vec<Arc<SegmentReader>>,
    /// Segments not opened yet (read-only stores).
    lazy: Vec<Arc<LazySegment>>,
    chunks: Vec<(PartitionKey, Arc<EventBatch>)>,
    bucket_count: u16,
}

impl Snapshot {
    pub(crate) fn new(
        segments: Vec<Arc<SegmentReader>>,
        chunks: Vec<(PartitionKey, Arc<EventBatch>)>,
        bucket_count: u16,
    ) -> Snapshot {
        Snapshot {
            segments,
            lazy: Vec::new(),
            chunks,
            bucket_count,
        }
    }

    pub(crate) fn with_lazy_segments(mut self, lazy: Vec<Arc<LazySegment>>) -> Snapshot {
        self.lazy = lazy;
        self
    }

    /// Every segment in the snapshot, opened (a read-only store's segments are opened here if
    /// no plan opened them yet).
    pub fn segments(&self) -> Result<Vec<Arc<SegmentReader>>> {
        let mut out = self.segments.clone();
        for s in &self.lazy {
            out.push(s.reader()?);
        }
        Ok(out)
    }

    /// Segments in the snapshot.
    pub fn segment_count(&self) -> usize {
        self.segments.len() + self.lazy.len()
    }

    /// The memtable chunks in the snapshot.
    pub fn memtable_chunks(&self) -> &[(PartitionKey, Arc<EventBatch>)] {
        &self.chunks
    }

    /// Rows in the snapshot.
    pub fn rows(&self) -> u64 {
        self.segments.iter().map(|s| s.rows()).sum::<u64>()
            + self.lazy.iter().map(|s| s.rows()).sum::<u64>()
            + self.chunks.iter().map(|(_, b)| b.len() as u64).sum::<u64>()
    }

    /// Every unit that may hold a row matching `filter`.
    pub fn plan(&self, filter: &ScanFilter, ctx: &mut ReadContext) -> Result<Vec<ScanUnit>> {
        let mut units = Vec::new();
        for (partition, batch) in &self.chunks {
            if filter.partition_may_match(*partition, self.bucket_count) {
                units.push(ScanUnit::Memtable {
                    partition: *partition,
                    batch: Arc::clone(batch),
                });
            }
        }
        let (ts_lo, ts_hi) = filter.ts_bounds();
        let may_match = |partition: PartitionKey, (min_ts, max_ts): (i64, i64)| {
            filter.partition_may_match(partition, self.bucket_count)
                && max_ts >= ts_lo
                && min_ts <= ts_hi
        };
        let mut candidates = Vec::new();
        for segment in &self.segments {
            let footer = segment.footer();
            if may_match(footer.partition, (footer.min_ts, footer.max_ts)) {
                candidates.extend(Candidates::of(Arc::clone(segment), filter, ctx)?);
            }
        }
        for lazy in &self.lazy {
            if may_match(lazy.partition(), lazy.ts_range()) {
                candidates.extend(Candidates::of(lazy.reader()?, filter, ctx)?);
            }
        }
        prune_by_blooms(&mut candidates)?;
        for c in candidates {
            units.extend(c.blocks.into_iter().map(|block| ScanUnit::Block {
                segment: Arc::clone(&c.segment),
                block,
            }));
        }
        Ok(units)
    }
}

/// The blocks of a segment whose statistics admit a row matching the filter, and the bloom
/// checks they have yet to pass.
struct Candidates {
    segment: Arc<SegmentReader>,
    blocks: Vec<u32>,
    blooms: BloomChecks,
}

/// Per bloom column of a filter, the hashes of its values: a block stays if, for each, its
/// bloom admits one of them.
type BloomChecks = Vec<(ColumnId, Vec<u64>)>;

impl Candidates {
    /// `None` when no block of `segment` can match.
    fn of(
        segment: Arc<SegmentReader>,
        filter: &ScanFilter,
        ctx: &mut ReadContext,
    ) -> Result<Option<Candidates>> {
        let Some((checks, blooms)) = segment_checks(&segment, filter, ctx)? else {
            return Ok(None);
        };
        let blocks: Vec<u32> = (0..segment.block_count())
            .filter(|&b| block_may_match(&segment, b, &checks))
            .collect();
        Ok((!blocks.is_empty()).then_some(Candidates {
            segment,
            blocks,
            blooms,
        }))
    }
}

/// Drops the candidate blocks whose blooms rule the filter's values out. A one-user query
/// consults a bloom in every block of every segment (~1,400 at 10M events), each a cache miss
/// that a store idle for a moment no longer has in cache: one after the other, they cost
/// ~1 ms. So the look-ups go in two passes, the first prefetching the line each will test,
/// and the misses overlap.
fn prune_by_blooms(candidates: &mut [Candidates]) -> Result<()> {
    for c in candidates.iter() {
        for (col, hashes) in &c.blooms {
            for &b in &c.blocks {
                if let Some(bloom) = c.segment.bloom(*col, b)? {
                    hashes.iter().for_each(|&h| bloom.prefetch(h));
                }
            }
        }
    }
    for c in candidates.iter_mut() {
        let mut kept = Vec::with_capacity(c.blocks.len());
        for &b in &c.blocks {
            let mut admitted = true;
            for (col, hashes) in &c.blooms {
                let Some(bloom) = c.segment.bloom(*col, b)? else {
                    continue;
                };
                if !any_admitted(&bloom, hashes)? {
                    admitted = false;
                    break;
                }
            }
            if admitted {
                kept.push(b);
            }
        }
        c.blocks = kept;
    }
    Ok(())
}

/// Whether `bloom` admits one of `hashes`: an error when a filter block it reads fails its
/// CRC.
fn any_admitted(bloom: &CheckedBloom<'_>, hashes: &[u64]) -> Result<bool> {
    for &h in hashes {
        if bloom.check_hash(h)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A per-block test of block statistics derived from the filter for one segment.
enum BlockCheck {
    /// min/max of `col` must overlap `[lo, hi]`.
    Range(ColumnId, i64, i64),
    /// Some code of `codes` (sorted) must lie within the block's [min, max].
    Codes(ColumnId, Vec<i64>),
}

/// The statistics checks for a segment's blocks and the bloom checks (column, value hashes),
/// or `None` when the segment cannot match at all.
fn segment_checks(
    segment: &SegmentReader,
    filter: &ScanFilter,
    ctx: &mut ReadContext,
) -> Result<Option<(Vec<BlockCheck>, BloomChecks)>> {
    let mut checks = Vec::new();
    let mut blooms = Vec::new();
    for &(col, lo, hi) in &filter.int_ranges {
        if matches!(
            col.kind(),
            ColumnKind::I64 | ColumnKind::EventType | ColumnKind::Bool
        ) {
            checks.push(BlockCheck::Range(col, lo, hi));
        }
    }
    for (col, values) in &filter.string_in {
        match col.kind() {
            ColumnKind::DictString => {
                let dict = segment.dictionary(*col, ctx)?;
                let mut codes: Vec<i64> = values
                    .iter()
                    .filter_map(|v| {
                        binary_search(&dict, v).map(|c| i64::try_from(c).unwrap_or(i64::MAX))
                    })
                    .collect();
                if codes.is_empty() {
                    return Ok(None);
                }
                codes.sort_unstable();
                checks.push(BlockCheck::Codes(*col, codes));
            }
            ColumnKind::PlainString if col.has_bloom() => {
                blooms.push((*col, values.iter().map(|v| event_id_hash(v)).collect()));
            }
            _ => {}
        }
    }
    Ok(Some((checks, blooms)))
}

fn block_may_match(segment: &SegmentReader, b: u32, checks: &[BlockCheck]) -> bool {
    checks.iter().all(|check| match check {
        BlockCheck::Range(col, lo, hi) => {
            let m = segment.block_meta(*col, b);
            m.max >= *lo && m.min <= *hi
        }
        BlockCheck::Codes(col, codes) => {
            let m = segment.block_meta(*col, b);
            let i = codes.partition_point(|&c| c < m.min);
            i < codes.len() && codes[i] <= m.max
        }
    })
}

/// The code of `value` in a sorted dictionary.
pub fn binary_search(dict: &crate::batch::StringColumn, value: &str) -> Option<usize> {
    let (mut lo, mut hi) = (0usize, dict.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        match dict.get(mid).cmp(value) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Some(mid),
        }
    }
    None
}
