//! Startup: manifest, orphan clean-up, WAL replay, dedup index rebuild (writer), or a read-only
//! view that never modifies the directory.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Condvar, Mutex, RwLock};

use super::options::StoreOptions;
use super::{Counters, SEGMENTS_DIR, Shared, Version, WAL_DIR, WriteState};
use crate::dedup::DedupIndex;
use crate::error::{Error, IoContext, Result};
use crate::lock::WriterLock;
use crate::manifest::{MANIFEST_FILE, Manifest};
use crate::memtable::{Memtable, event_id_hash};
use crate::partition::{PartitionKey, campaign_bucket};
use crate::schema::day_of;
use crate::segment::lazy::check_against_manifest;
use crate::segment::{LazySegment, ReadContext, SegmentId, SegmentReader};
use crate::wal::{Lsn, WalFileContents, WalWriter, list_wal_files, read_wal_file};

/// Opens for writing: takes the lock, repairs what a crash left, replays the WAL.
pub(super) fn open_writer(dir: &Path, options: StoreOptions) -> Result<(Shared, WriterLock)> {
    std::fs::create_dir_all(dir).io("create", dir)?;
    let lock = WriterLock::acquire(dir)?;
    let wal_dir = dir.join(WAL_DIR);
    let segments_dir = dir.join(SEGMENTS_DIR);
    std::fs::create_dir_all(&wal_dir).io("create", &wal_dir)?;
    std::fs::create_dir_all(&segments_dir).io("create", &segments_dir)?;

    let manifest = match Manifest::load(dir)? {
        Some(m) => m,
        None => {
            // The manifest is written before the first WAL file or segment exists, so files
            // without one mean the MANIFEST was lost (deleted, or the directory copied in
            // part): creating a new store here would delete every segment as an orphan.
            refuse_files_without_manifest(dir, &wal_dir, &segments_dir)?;
            if options.bucket_count == 0 {
                return Err(Error::InvalidArgument(
                    "bucket_count must be at least 1".into(),
                ));
            }
            let m = Manifest::new(options.bucket_count);
            m.store(dir, None)?;
            m
        }
    };
    // A crash between writing MANIFEST.tmp and renaming it leaves the temporary file: the old
    // manifest is current, the temporary one is dropped.
    let tmp = dir.join(MANIFEST_FILE).with_extension("tmp");
    if tmp.exists() {
        std::fs::remove_file(&tmp).io("remove", &tmp)?;
    }
    remove_orphan_segments(&segments_dir, &manifest)?;
    let segments = open_segments(&segments_dir, &manifest)?;

    // WAL replay. Only the last file may end in a torn record; it is truncated to its valid
    // prefix so the next writer appends after whole records only.
    let files = list_wal_files(&wal_dir)?;
    let mut contents = Vec::new();
    for (i, (first, path)) in files.iter().enumerate() {
        let c = read_wal_file(path)?;
        let is_last = i + 1 == files.len();
        if c.valid_len == 0 && is_last {
            // A crash between creating the file and fsyncing its header: it holds nothing.
            std::fs::remove_file(path).io("remove", path)?;
            continue;
        }
        if let Some(reason) = &c.torn_tail {
            if !is_last {
                return Err(Error::Corrupt {
                    path: path.clone(),
                    offset: Some(c.valid_len),
                    reason: format!("torn record in a WAL file that is not the last ({reason})"),
                });
            }
            tracing::warn!(file = %path.display(), valid_len = c.valid_len, file_len = c.file_len, %reason,
                "WAL ends in a torn record (crash mid-write); truncating it: it was never acknowledged");
            truncate(path, c.valid_len)?;
        }
        if c.valid_len > 0 && c.first_lsn != *first {
            return Err(Error::Corrupt {
                path: path.clone(),
                offset: Some(0),
                reason: format!(
                    "header says first LSN {}, file name says {first}",
                    c.first_lsn
                ),
            });
        }
        contents.push(c);
    }
    let (memtable_batches, next_lsn) = replay_records(&contents, manifest.wal_replay_from)?;
    // Producer marks: the manifest's (records already in segments), then the replayed records'.
    let mut producers = std::collections::HashMap::new();
    for (id, &sequence) in &manifest.producers {
        producers.insert(id.clone(), crate::producer::LiveMark { sequence, lsn: 0 });
    }
    for c in &contents {
        for r in &c.records {
            if let Some((id, sequence)) = &r.producer
                && r.lsn >= manifest.wal_replay_from
            {
                let mark = crate::producer::LiveMark {
                    sequence: *sequence,
                    lsn: r.lsn,
                };
                producers
                    .entry(id.clone())
                    .and_modify(|m: &mut crate::producer::LiveMark| {
                        if mark.sequence > m.sequence {
                            *m = mark;
                        }
                    })
                    .or_insert(mark);
            }
        }
    }
    let next_lsn = next_lsn.max(manifest.wal_replay_from);

    // Dedup index: watermark first (it decides which days are in the window), then the ids.
    let mut dedup = DedupIndex::new(options.dedup_window_micros, options.dedup_fingerprint_bits);
    let watermark = segments
        .values()
        .flatten()
        .map(|s| s.footer().max_ts)
        .chain(
            memtable_batches
                .iter()
                .flat_map(|(_, b)| b.ts.iter().copied()),
        )
        .max();
    if let Some(w) = watermark {
        dedup.advance(w);
    }
    index_segment_ids(&mut dedup, &segments)?;
    let mut memtable = Memtable::default();
    for (lsn, batch) in memtable_batches {
        insert_replayed(
            &mut memtable,
            &mut dedup,
            manifest.bucket_count,
            lsn,
            &batch,
        );
    }

    let wal = WalWriter::create(
        &wal_dir,
        next_lsn,
        options.wal_compress,
        options.crash_hook.clone(),
    )?;
    let shared = new_shared(
        dir,
        options,
        &manifest,
        segments,
        memtable,
        dedup,
        Some(wal),
        false,
    );
    shared.state.lock().producers = producers;
    // Files wholly before the replay point (a crash after the manifest rename, before clean-up).
    super::flush::delete_wal_before(&shared, manifest.wal_replay_from)?;
    Ok((shared, lock))
}

/// Opens read-only. A writer may flush meanwhile (new manifest, WAL files deleted); such a race
/// shows as a missing file or a WAL that no longer reaches back to the manifest's replay point,
/// and the open starts over.
pub(super) fn open_read_only(dir: &Path) -> Result<Shared> {
    const ATTEMPTS: usize = 20;
    let mut last_err = None;
    for _ in 0..ATTEMPTS {
        match try_open_read_only(dir) {
            Ok(Some(shared)) => return Ok(shared),
            Ok(None) => {}
            Err(e @ Error::Io { .. }) if is_not_found(&e) => last_err = Some(e),
            Err(e @ Error::MissingSegment { .. }) => last_err = Some(e),
            Err(e) => return Err(e),
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Err(last_err.unwrap_or_else(|| Error::Corrupt {
        path: dir.join(WAL_DIR),
        offset: None,
        reason: "the WAL does not reach back to the manifest's replay point".into(),
    }))
}

fn try_open_read_only(dir: &Path) -> Result<Option<Shared>> {
    let Some(manifest) = Manifest::load(dir)? else {
        return Err(Error::InvalidArgument(format!(
            "{} holds no adstore store (no MANIFEST)",
            dir.display()
        )));
    };
    // Listed, not opened: a query opens the segments its pruning keeps (segment::lazy).
    // In a writer's order (by partition, then as listed), so that scans visit blocks in the
    // same order on both sides (a LIMIT without ORDER BY takes the first rows of that order).
    let mut entries = manifest.segments.clone();
    entries.sort_by_key(|e| e.partition);
    let lazy: Vec<Arc<LazySegment>> = entries
        .into_iter()
        .map(|e| Arc::new(LazySegment::new(e, dir)))
        .collect();
    let files = list_wal_files(&dir.join(WAL_DIR))?;
    if !files
        .iter()
        .any(|(first, _)| *first <= manifest.wal_replay_from)
    {
        return Ok(None);
    }
    let mut contents = Vec::new();
    for (first, path) in files {
        if let Some(next) = contents
            .last()
            .map(|c: &WalFileContents| c.first_lsn + c.records.len() as u64)
            && first > next
        {
            // The file after a torn one: a writer is mid-recovery; try again.
            return Ok(None);
        }
        contents.push(read_wal_file(&path)?);
    }
    // Tails may be torn here simply because a writer is writing them: read, never truncate.
    let (batches, _) = replay_records(&contents, manifest.wal_replay_from)?;
    let mut memtable = Memtable::default();
    let mut dedup = DedupIndex::new(0, 64);
    for (lsn, batch) in batches {
        insert_replayed(
            &mut memtable,
            &mut dedup,
            manifest.bucket_count,
            lsn,
            &batch,
        );
    }
    // The manifest may have moved on while we read; if so, our view could miss a flush.
    if Manifest::load(dir)?.as_ref() != Some(&manifest) {
        return Ok(None);
    }
    let mut shared = new_shared(
        dir,
        StoreOptions {
            background_flush: false,
            ..StoreOptions::default()
        },
        &manifest,
        BTreeMap::new(),
        memtable,
        DedupIndex::new(0, 64),
        None,
        true,
    );
    shared.lazy_segments = lazy;
    Ok(Some(shared))
}

/// Fails when `wal_dir` or `segments_dir` holds a WAL file or a segment: see [`open_writer`].
fn refuse_files_without_manifest(dir: &Path, wal_dir: &Path, segments_dir: &Path) -> Result<()> {
    let wal_files = list_wal_files(wal_dir)?.len();
    let mut segments = 0usize;
    for entry in std::fs::read_dir(segments_dir).io("list", segments_dir)? {
        let entry = entry.io("list", segments_dir)?;
        if entry.path().extension().is_some_and(|e| e == "seg") {
            segments += 1;
        }
    }
    if wal_files + segments == 0 {
        return Ok(());
    }
    Err(Error::Corrupt {
        path: dir.join(MANIFEST_FILE),
        offset: None,
        reason: format!(
            "MANIFEST is missing but the directory holds {wal_files} WAL file(s) and {segments} \
             segment(s): refusing to start a new store over them (restore the MANIFEST from a \
             backup, or move the files away)"
        ),
    })
}

fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

type Replayed = (Vec<(Lsn, crate::EventBatch)>, Lsn);

/// The records at or after `replay_from`, checked to be consecutive; and the next LSN.
fn replay_records(contents: &[WalFileContents], replay_from: Lsn) -> Result<Replayed> {
    let mut out = Vec::new();
    let mut next: Option<Lsn> = None;
    for c in contents {
        if c.valid_len == 0 {
            continue;
        }
        // Records from the replay point on are deleted only after a flush moves the point past
        // them, so a first file starting after it means a WAL file was lost: acknowledged events
        // are missing, and opening would silently drop them.
        if next.is_none() && c.first_lsn > replay_from {
            return Err(Error::Corrupt {
                path: c.path.clone(),
                offset: Some(0),
                reason: format!(
                    "the WAL starts at LSN {} but the manifest's replay point is LSN {replay_from}: \
                     the records in between are missing (a WAL file was deleted?)",
                    c.first_lsn
                ),
            });
        }
        if let Some(expected) = next
            && c.first_lsn != expected
            && c.first_lsn >= replay_from
        {
            return Err(crate::wal::WalError::LsnGap {
                path: c.path.clone(),
                offset: 0,
                expected,
                found: c.first_lsn,
            }
            .into());
        }
        for r in &c.records {
            if r.lsn >= replay_from {
                out.push((r.lsn, r.batch.clone()));
            }
        }
        next = Some(c.first_lsn + c.records.len() as u64);
    }
    Ok((out, next.unwrap_or(replay_from)))
}

fn insert_replayed(
    memtable: &mut Memtable,
    dedup: &mut DedupIndex,
    bucket_count: u16,
    lsn: Lsn,
    batch: &crate::EventBatch,
) {
    let mut parts: BTreeMap<PartitionKey, Vec<u32>> = BTreeMap::new();
    for (i, e) in batch.rows().enumerate() {
        let key = PartitionKey {
            day: day_of(e.ts),
            bucket: campaign_bucket(e.campaign_id, bucket_count),
        };
        parts
            .entry(key)
            .or_default()
            .push(u32::try_from(i).unwrap_or(u32::MAX));
    }
    for (key, rows) in parts {
        let mut b = crate::EventBatch::with_capacity(rows.len());
        b.extend_from_rows(batch, &rows);
        let hashes: Vec<u64> = b.event_id.iter().map(event_id_hash).collect();
        dedup.insert_hashes(&hashes, key);
        memtable.insert(key, lsn, b, &hashes);
    }
}

/// Adds the event ids of the segments of days inside the index's window to `dedup`: every
/// id of the window, so it is most of what opening a large store costs. Worker threads
/// decode the segments' sorted keys (zstd) and hash them, one segment at a time; this
/// thread inserts the hashes, in bucket order ([`crate::dedup::BulkInsert`]).
fn index_segment_ids(
    dedup: &mut DedupIndex,
    segments: &BTreeMap<PartitionKey, Vec<Arc<SegmentReader>>>,
) -> Result<()> {
    let first_day = dedup.first_indexed_day();
    let work: Vec<(PartitionKey, &Arc<SegmentReader>)> = segments
        .iter()
        .filter(|(key, _)| key.day >= first_day)
        .flat_map(|(key, segs)| segs.iter().map(move |s| (*key, s)))
        .collect();
    let ids: u64 = work.iter().map(|(_, s)| s.rows()).sum();
    let mut bulk = dedup.bulk(usize::try_from(ids).unwrap_or(usize::MAX));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(work.len());
    std::thread::scope(|scope| {
        // Bounded: decoded hashes wait for the inserting thread, not pile up.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<(PartitionKey, Vec<u64>)>>(threads);
        for _ in 0..threads {
            let (tx, work, next) = (tx.clone(), &work, &next);
            scope.spawn(move || {
                let mut ctx = match ReadContext::new() {
                    Ok(ctx) => ctx,
                    Err(e) => return drop(tx.send(Err(e))),
                };
                while let Some((key, s)) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let mut hashes = Vec::with_capacity(usize::try_from(s.rows()).unwrap_or(0));
                    let decoded = s
                        .for_each_event_id(&mut ctx, |id| hashes.push(event_id_hash(id)))
                        .map(|()| (*key, hashes));
                    // The receiver is gone only after an error: stop.
                    if tx.send(decoded).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        for decoded in rx {
            let (key, hashes) = decoded?;
            bulk.add(&hashes, key);
        }
        Ok::<(), Error>(())
    })?;
    bulk.finish();
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn new_shared(
    dir: &Path,
    options: StoreOptions,
    manifest: &Manifest,
    segments: BTreeMap<PartitionKey, Vec<Arc<SegmentReader>>>,
    memtable: Memtable,
    dedup: DedupIndex,
    wal: Option<WalWriter>,
    read_only: bool,
) -> Shared {
    Shared {
        dir: dir.to_path_buf(),
        options,
        bucket_count: manifest.bucket_count,
        read_only,
        state: Mutex::new(WriteState {
            memtable,
            dedup,
            producers: std::collections::HashMap::new(),
        }),
        version: RwLock::new(Arc::new(Version {
            segments,
            frozen: Vec::new(),
        })),
        wal,
        manifest: Mutex::new(manifest.clone()),
        flush_wanted: Mutex::new(false),
        flush_cv: Condvar::new(),
        space_cv: Condvar::new(),
        stop: AtomicBool::new(false),
        counters: Counters::default(),
        last_flush_error: Mutex::new(None),
        lazy_segments: Vec::new(),
    }
}

/// Segment files not in the manifest: written by a flush that crashed before its manifest
/// replace. Their rows are still in the WAL.
fn remove_orphan_segments(segments_dir: &Path, manifest: &Manifest) -> Result<()> {
    let live: HashSet<SegmentId> = manifest.segments.iter().map(|s| s.id).collect();
    for entry in std::fs::read_dir(segments_dir).io("list", segments_dir)? {
        let entry = entry.io("list", segments_dir)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let orphan = match SegmentId::from_file_name(&name) {
            Some(id) => !live.contains(&id),
            None => name.ends_with(".tmp"),
        };
        if orphan {
            tracing::info!(file = %entry.path().display(), "removing segment not listed in the manifest (left by an interrupted flush)");
            std::fs::remove_file(entry.path()).io("remove", &entry.path())?;
        }
    }
    Ok(())
}

fn open_segments(
    segments_dir: &Path,
    manifest: &Manifest,
) -> Result<BTreeMap<PartitionKey, Vec<Arc<SegmentReader>>>> {
    let mut out: BTreeMap<PartitionKey, Vec<Arc<SegmentReader>>> = BTreeMap::new();
    for entry in &manifest.segments {
        let path = segments_dir.join(entry.id.file_name());
        if !path.exists() {
            return Err(Error::MissingSegment {
                id: entry.id.0,
                path,
            });
        }
        let reader = SegmentReader::open(&path, entry.id)?;
        check_against_manifest(&reader, entry)?;
        out.entry(entry.partition)
            .or_default()
            .push(Arc::new(reader));
    }
    Ok(out)
}

/// Cuts a torn tail off a WAL file, durably.
fn truncate(path: &Path, len: u64) -> Result<()> {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .io("open", path)?;
    f.set_len(len).io("truncate", path)?;
    f.sync_all().io("fsync", path)
}
