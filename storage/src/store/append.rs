//! The append path: dedup → WAL record → memtable, then group-commit fsync, then acknowledge.

use std::sync::atomic::Ordering;

use hashbrown::HashTable;

use super::{Shared, WriteState};
use crate::batch::EventBatch;
use crate::dedup::Candidates;
use crate::error::{Error, Result};
use crate::memtable::event_id_hash;
use crate::partition::{PartitionKey, campaign_bucket};
use crate::producer::ProducerAppend;
use crate::schema::day_of;
use crate::segment::ReadContext;

/// What an append did with its rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Rows stored (including `late_unchecked`).
    pub accepted: u64,
    /// Rows dropped because their event_id was already stored within the window.
    pub duplicates: u64,
    /// Rows older than the dedup window: stored without a dedup check.
    pub late_unchecked: u64,
    /// The WAL record holding the accepted rows (0 when none was written).
    pub lsn: u64,
}

pub(super) fn append(shared: &Shared, batch: &EventBatch) -> Result<AppendOutcome> {
    if batch.is_empty() {
        if shared.wal.is_none() {
            return Err(Error::ReadOnly("append"));
        }
        return Ok(AppendOutcome::default());
    }
    match append_inner(shared, batch, None)? {
        ProducerAppend::Applied(outcome) => Ok(outcome),
        ProducerAppend::AlreadyApplied { .. } => Ok(AppendOutcome::default()),
    }
}

pub(super) fn append_with_producer(
    shared: &Shared,
    batch: &EventBatch,
    producer: &str,
    sequence: u64,
) -> Result<ProducerAppend> {
    crate::producer::check_producer_id(producer)?;
    append_inner(shared, batch, Some((producer, sequence)))
}

fn append_inner(
    shared: &Shared,
    batch: &EventBatch,
    producer: Option<(&str, u64)>,
) -> Result<ProducerAppend> {
    let Some(wal) = &shared.wal else {
        return Err(Error::ReadOnly("append"));
    };
    // Segments store each key block's first event id with a u16 length (FORMAT.md "Segment
    // footer"): a longer id would make every later flush of its partition fail.
    if let Some((i, id)) = batch
        .event_id
        .iter()
        .enumerate()
        .find(|(_, id)| id.len() > crate::schema::MAX_EVENT_ID_BYTES)
    {
        return Err(Error::InvalidArgument(format!(
            "row {i} of the batch: event_id of {} bytes is longer than {}",
            id.len(),
            crate::schema::MAX_EVENT_ID_BYTES
        )));
    }
    let hashes: Vec<u64> = batch.event_id.iter().map(event_id_hash).collect();
    let mut guard = shared.state.lock();
    // Checked under the write lock, so two concurrent requests with one sequence apply once.
    if let Some((id, seq)) = producer
        && let Some(mark) = guard.producers.get(id).copied()
        && seq <= mark.sequence
    {
        drop(guard);
        // The first request may still be waiting for its fsync: answer only once it is durable.
        wal.sync_to(mark.lsn)?;
        return Ok(ProducerAppend::AlreadyApplied {
            high_water: mark.sequence,
        });
    }
    // Backpressure: when segment writing falls behind, wait here rather than grow without bound.
    while guard.memtable.rows() >= shared.options.max_memtable_rows
        && !shared.stop.load(Ordering::Relaxed)
    {
        request_flush(shared);
        shared
            .space_cv
            .wait_for(&mut guard, std::time::Duration::from_millis(100));
    }
    let (accepted_rows, mut outcome) = deduplicate(shared, &guard, batch, &hashes)?;
    if accepted_rows.is_empty() && producer.is_none() {
        drop(guard);
        count(shared, &outcome);
        return Ok(ProducerAppend::Applied(outcome));
    }
    let all = accepted_rows.len() == batch.len();
    let filtered;
    let kept: &EventBatch = if all {
        batch
    } else {
        let mut b = EventBatch::with_capacity(accepted_rows.len());
        b.extend_from_rows(batch, &accepted_rows);
        filtered = b;
        &filtered
    };
    let lsn = match producer {
        Some((id, seq)) => {
            let lsn = wal.append_with_producer(kept, id, seq)?;
            guard.producers.insert(
                id.to_string(),
                crate::producer::LiveMark { sequence: seq, lsn },
            );
            lsn
        }
        None => wal.append(kept)?,
    };
    outcome.lsn = lsn;

    // Memtable and dedup index, split by partition.
    let bucket_count = shared.bucket_count;
    let mut per_partition: hashbrown::HashMap<PartitionKey, Vec<u32>> = hashbrown::HashMap::new();
    for (i, (campaign, &ts)) in kept.campaign_id.iter().zip(&kept.ts).enumerate() {
        let key = PartitionKey {
            day: day_of(ts),
            bucket: campaign_bucket(campaign, bucket_count),
        };
        per_partition
            .entry(key)
            .or_default()
            .push(u32::try_from(i).unwrap_or(u32::MAX));
    }
    let kept_hashes: Vec<u64> = if all {
        hashes
    } else {
        accepted_rows.iter().map(|&r| hashes[r as usize]).collect()
    };
    let state = &mut *guard;
    for (key, rows) in per_partition {
        let part_hashes: Vec<u64> = rows.iter().map(|&r| kept_hashes[r as usize]).collect();
        for &h in &part_hashes {
            let fp = state.dedup.fingerprint(h);
            state.dedup.insert(fp, key);
        }
        let part_batch = if rows.len() == kept.len() {
            kept.clone()
        } else {
            let mut b = EventBatch::with_capacity(rows.len());
            b.extend_from_rows(kept, &rows);
            b
        };
        state.memtable.insert(key, lsn, part_batch, &part_hashes);
    }
    if let Some(max_ts) = kept.ts.iter().copied().max() {
        state.dedup.advance(max_ts);
    }
    let needs_flush = state.memtable.rows() >= shared.options.flush_rows
        || state.memtable.bytes() >= shared.options.flush_bytes;
    // Leave the lock before the fsync: the next appenders write behind us and share our fsync
    // or the next one (group commit).
    drop(guard);
    if needs_flush {
        request_flush(shared);
    }
    wal.sync_to(lsn)?;
    count(shared, &outcome);
    Ok(ProducerAppend::Applied(outcome))
}

fn count(shared: &Shared, outcome: &AppendOutcome) {
    let c = &shared.counters;
    c.accepted.fetch_add(outcome.accepted, Ordering::Relaxed);
    c.duplicates
        .fetch_add(outcome.duplicates, Ordering::Relaxed);
    c.late_unchecked
        .fetch_add(outcome.late_unchecked, Ordering::Relaxed);
}

pub(super) fn request_flush(shared: &Shared) {
    let mut wanted = shared.flush_wanted.lock();
    *wanted = true;
    shared.flush_cv.notify_all();
}

/// Decides, row by row, which rows are new. Exact: every fingerprint hit is confirmed against
/// the stored event ids, and rows of this same batch are checked against each other.
fn deduplicate(
    shared: &Shared,
    state: &WriteState,
    batch: &EventBatch,
    hashes: &[u64],
) -> Result<(Vec<u32>, AppendOutcome)> {
    let mut outcome = AppendOutcome::default();
    let mut accepted = Vec::with_capacity(batch.len());
    // This batch's accepted rows, by full hash, for duplicates inside the batch.
    let mut in_batch: HashTable<u32> = HashTable::with_capacity(batch.len());
    let mut ctx: Option<ReadContext> = None;
    let version = std::sync::Arc::clone(&shared.version.read());
    for (row, &hash) in hashes.iter().enumerate() {
        let row32 = u32::try_from(row).unwrap_or(u32::MAX);
        let id = batch.event_id.get(row);
        let ts = batch.ts[row];
        if in_batch
            .find(hash, |&r| batch.event_id.get(r as usize) == id)
            .is_some()
        {
            outcome.duplicates += 1;
            continue;
        }
        if !state.dedup.in_window(ts) {
            outcome.late_unchecked += 1;
        } else if let Some(candidates) = state.dedup.candidates(state.dedup.fingerprint(hash)) {
            let ctx = match &mut ctx {
                Some(c) => c,
                None => ctx.insert(ReadContext::new()?),
            };
            if is_stored(state, &version, candidates, id, hash, ctx)? {
                outcome.duplicates += 1;
                continue;
            }
        }
        in_batch.insert_unique(hash, row32, |&r| {
            event_id_hash(batch.event_id.get(r as usize))
        });
        accepted.push(row32);
    }
    outcome.accepted = accepted.len() as u64;
    Ok((accepted, outcome))
}

/// Exact check: is `id` in the memtable, a frozen memtable or a segment of the candidates?
fn is_stored(
    state: &WriteState,
    version: &super::Version,
    candidates: Candidates,
    id: &str,
    hash: u64,
    ctx: &mut ReadContext,
) -> Result<bool> {
    let partitions: Vec<PartitionKey> = match candidates {
        Candidates::One(p) => vec![p],
        Candidates::Any => state.dedup.indexed_partitions().collect(),
    };
    for p in partitions {
        if state
            .memtable
            .partition(&p)
            .is_some_and(|m| m.contains(id, hash))
        {
            return Ok(true);
        }
        if version
            .frozen
            .iter()
            .any(|f| f.partition(&p).is_some_and(|m| m.contains(id, hash)))
        {
            return Ok(true);
        }
        if let Some(segments) = version.segments.get(&p) {
            for s in segments {
                if s.contains_event_id(id, hash, ctx)? {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}
