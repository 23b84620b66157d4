//! The append path: dedup → WAL record → memtable, then group-commit fsync, then acknowledge.
//!
//! The store's write lock orders dedup decisions, WAL records (LSN order is dedup order) and
//! memtable inserts; everything that depends on the batch alone runs before it is taken
//! ([`Prepared`]): event-id hashes, each row's partition, the split of the batch by partition and
//! the WAL payload of the whole batch. When dedup drops rows, only the payload and the partition
//! batches holding a dropped row are redone, under the lock, from the original batch's rows (never
//! through a filtered copy of the whole batch). When the lock is free, the partition batches are
//! built under it after the WAL write instead, overlapping the fsync that write started; when it
//! is taken, they are built while waiting for it.

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
use crate::wal::{RecordKind, encode_batch_rows};

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
    let mut prepared = Prepared::new(batch, shared.bucket_count, producer, wal.take_buffer());
    let mut guard = match shared.state.try_lock() {
        Some(g) => g,
        None => {
            // Another append holds the lock: split the batch while waiting for it.
            prepared.build_batches(batch);
            shared.state.lock()
        }
    };
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
    let (accepted_rows, mut outcome) = deduplicate(shared, &guard, batch, &prepared.hashes)?;
    if accepted_rows.is_empty() && producer.is_none() {
        // Every row duplicates one already written, possibly by an append still waiting for
        // its fsync. Crash handled: answering "duplicate" before that record is durable, then
        // losing it in a crash, would lose an event the caller was told is stored; so wait for
        // every record written so far.
        let written = wal.next_lsn().saturating_sub(1);
        drop(guard);
        wal.sync_to(written)?;
        count(shared, &outcome);
        return Ok(ProducerAppend::Applied(outcome));
    }
    if accepted_rows.len() != batch.len() {
        prepared.drop_rows(batch, &accepted_rows);
    }
    let kind = if producer.is_some() {
        RecordKind::ProducerBatch
    } else {
        RecordKind::EventBatch
    };
    let lsn = wal.append_payload(kind, &prepared.payload)?;
    if let Some((id, seq)) = producer {
        guard.producers.insert(
            id.to_string(),
            crate::producer::LiveMark { sequence: seq, lsn },
        );
    }
    outcome.lsn = lsn;

    // Memtable and dedup index, per partition (the fsync of the record runs meanwhile).
    let state = &mut *guard;
    let mut batches = prepared.batches.take();
    let mut part_hashes = Vec::new();
    for (i, (key, rows)) in prepared.parts.iter().enumerate() {
        if rows.is_empty() {
            continue;
        }
        part_hashes.clear();
        part_hashes.extend(rows.iter().map(|&r| prepared.hashes[r as usize]));
        state.dedup.insert_hashes(&part_hashes, *key);
        let part_batch = match batches.as_mut() {
            Some(b) => std::mem::take(&mut b[i]),
            None => gather(batch, rows),
        };
        state.memtable.insert(*key, lsn, part_batch, &part_hashes);
    }
    let max_ts = if accepted_rows.len() == batch.len() {
        batch.ts.iter().copied().max()
    } else {
        accepted_rows.iter().map(|&r| batch.ts[r as usize]).max()
    };
    if let Some(max_ts) = max_ts {
        state.dedup.advance(max_ts);
    }
    let needs_flush = state.memtable.rows() >= shared.options.flush_rows
        || state.memtable.bytes() >= shared.options.flush_bytes;
    // Leave the lock before the fsync: the next appenders write behind us and share our fsync
    // or the next one (group commit).
    drop(guard);
    wal.return_buffer(std::mem::take(&mut prepared.payload));
    if needs_flush {
        request_flush(shared);
    }
    wal.sync_to(lsn)?;
    count(shared, &outcome);
    Ok(ProducerAppend::Applied(outcome))
}

/// What an append computes from its batch alone, before it takes the write lock.
struct Prepared {
    /// [`event_id_hash`] of every row.
    hashes: Vec<u64>,
    /// The partitions the batch touches, each with its rows (ascending; emptied by dedup).
    parts: Vec<(PartitionKey, Vec<u32>)>,
    /// The WAL record payload: the producer prefix (if any), then the rows of `parts`.
    payload: Vec<u8>,
    /// Bytes of the producer prefix at the start of `payload`.
    prefix_len: usize,
    /// One batch per entry of `parts`, once built.
    batches: Option<Vec<EventBatch>>,
}

impl Prepared {
    /// Prepares `batch`, encoding its payload into `payload` (an empty buffer).
    fn new(
        batch: &EventBatch,
        bucket_count: u16,
        producer: Option<(&str, u64)>,
        mut payload: Vec<u8>,
    ) -> Prepared {
        let hashes: Vec<u64> = batch.event_id.iter().map(event_id_hash).collect();
        let mut index: hashbrown::HashMap<PartitionKey, usize> = hashbrown::HashMap::new();
        let mut parts: Vec<(PartitionKey, Vec<u32>)> = Vec::new();
        for (row, (campaign, &ts)) in batch.campaign_id.iter().zip(&batch.ts).enumerate() {
            let key = PartitionKey {
                day: day_of(ts),
                bucket: campaign_bucket(campaign, bucket_count),
            };
            let slot = *index.entry(key).or_insert_with(|| {
                parts.push((key, Vec::new()));
                parts.len() - 1
            });
            parts[slot].1.push(u32::try_from(row).unwrap_or(u32::MAX));
        }
        if let Some((id, seq)) = producer {
            crate::producer::encode_prefix(id, seq, &mut payload);
        }
        let prefix_len = payload.len();
        encode_batch_rows(batch, None, &mut payload);
        Prepared {
            hashes,
            parts,
            payload,
            prefix_len,
            batches: None,
        }
    }

    /// Splits the batch into one batch per partition.
    fn build_batches(&mut self, batch: &EventBatch) {
        self.batches = Some(
            self.parts
                .iter()
                .map(|(_, rows)| gather(batch, rows))
                .collect(),
        );
    }

    /// Keeps only the rows at `accepted` (ascending): the payload is re-encoded from them and
    /// every partition batch that held a dropped row is rebuilt.
    fn drop_rows(&mut self, batch: &EventBatch, accepted: &[u32]) {
        let mut keep = vec![false; batch.len()];
        for &r in accepted {
            keep[r as usize] = true;
        }
        for (i, (_, rows)) in self.parts.iter_mut().enumerate() {
            let before = rows.len();
            rows.retain(|&r| keep[r as usize]);
            if rows.len() != before
                && let Some(batches) = &mut self.batches
            {
                batches[i] = gather(batch, rows);
            }
        }
        self.payload.truncate(self.prefix_len);
        encode_batch_rows(batch, Some(accepted), &mut self.payload);
    }
}

/// The rows of `batch` at `rows` as a batch of their own.
fn gather(batch: &EventBatch, rows: &[u32]) -> EventBatch {
    if rows.len() == batch.len() {
        return batch.clone();
    }
    let mut b = EventBatch::with_capacity(rows.len());
    b.extend_from_rows(batch, rows);
    b
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
