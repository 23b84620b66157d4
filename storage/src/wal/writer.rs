//! [`WalWriter`]: appends records and makes them durable with group commit.
//!
//! Appends are ordered by the caller (the store's write lock). Each append wakes a dedicated
//! syncer thread, which runs `fdatasync` for everything written so far while the appender goes on
//! (inserting into the memtable); [`WalWriter::sync_to`] then waits for the fsync covering its
//! record. One fsync covers every record written before it started: concurrent appenders share
//! fsyncs (group commit), and a lone appender overlaps its fsync with its own memtable work.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

use super::format::{
    BODY_PREFIX_LEN, CODEC_NONE, CODEC_ZSTD, Lsn, MAX_BODY_LEN, RecordKind, file_header,
    frame_record, wal_file_name,
};
use super::payload::encode_batch;
use crate::batch::EventBatch;
use crate::codec::compress::{BlockCompressor, Compression};
use crate::error::{Error, IoContext, Result};
use crate::hooks::{CrashHook, CrashPoint, crash_point};

/// The appending side of the WAL.
#[derive(Debug)]
pub struct WalWriter {
    dir: PathBuf,
    hook: Option<CrashHook>,
    inner: Mutex<Inner>,
    shared: Arc<SyncShared>,
    syncer: Option<JoinHandle<()>>,
    /// Payload buffers handed back by appenders, so that encoding a batch reuses warm memory
    /// instead of faulting in a fresh allocation every time.
    buffers: Mutex<Vec<Vec<u8>>>,
}

/// Payload buffers kept for reuse (about one per concurrent appender).
const KEPT_BUFFERS: usize = 2;

/// What the appenders and the syncer thread share.
#[derive(Debug)]
struct SyncShared {
    state: Mutex<SyncState>,
    /// Signalled when there is something to sync (or to stop).
    work: Condvar,
    /// Signalled when `synced_lsn` moves or the log is poisoned.
    done: Condvar,
    fsyncs: AtomicU64,
    fsync_nanos: AtomicU64,
    fsync_latency: crate::histogram::LatencyHistogram,
}

#[derive(Debug)]
struct Inner {
    file: Arc<File>,
    path: PathBuf,
    file_len: u64,
    next_lsn: Lsn,
    frame: Vec<u8>,
    payload: Vec<u8>,
    compressed: Vec<u8>,
    compressor: Option<BlockCompressor>,
}

#[derive(Debug)]
struct SyncState {
    /// Every record up to this one is on stable storage.
    synced_lsn: Lsn,
    /// The last record written, and the file it is in.
    written_lsn: Lsn,
    file: Arc<File>,
    path: PathBuf,
    poisoned: Option<String>,
    stop: bool,
}

impl WalWriter {
    /// Starts a new WAL file in `dir` whose first record will be `next_lsn`. Records before it are
    /// taken as already durable.
    pub fn create(
        dir: &Path,
        next_lsn: Lsn,
        compress: bool,
        hook: Option<CrashHook>,
    ) -> Result<WalWriter> {
        let (file, path) = new_wal_file(dir, next_lsn)?;
        let compressor = if compress {
            Some(BlockCompressor::new(1).map_err(|e| Error::Codec {
                path: dir.to_path_buf(),
                what: "WAL zstd context".into(),
                source: e,
            })?)
        } else {
            None
        };
        let file = Arc::new(file);
        let shared = Arc::new(SyncShared {
            state: Mutex::new(SyncState {
                synced_lsn: next_lsn.saturating_sub(1),
                written_lsn: next_lsn.saturating_sub(1),
                file: Arc::clone(&file),
                path: path.clone(),
                poisoned: None,
                stop: false,
            }),
            work: Condvar::new(),
            done: Condvar::new(),
            fsyncs: AtomicU64::new(0),
            fsync_nanos: AtomicU64::new(0),
            fsync_latency: crate::histogram::LatencyHistogram::default(),
        });
        let for_thread = Arc::clone(&shared);
        let syncer = std::thread::Builder::new()
            .name("adstore-wal-sync".into())
            .spawn(move || syncer_loop(&for_thread))
            .io("spawn WAL syncer", dir)?;
        Ok(WalWriter {
            dir: dir.to_path_buf(),
            hook,
            shared,
            syncer: Some(syncer),
            buffers: Mutex::new(Vec::new()),
            inner: Mutex::new(Inner {
                file,
                path,
                file_len: super::format::FILE_HEADER_LEN as u64,
                next_lsn,
                frame: Vec::new(),
                payload: Vec::new(),
                compressed: Vec::new(),
                compressor,
            }),
        })
    }

    /// Writes one batch as a record (not yet durable: see [`WalWriter::sync_to`]); returns its LSN.
    pub fn append(&self, batch: &EventBatch) -> Result<Lsn> {
        self.append_record(batch, None)
    }

    /// Writes one batch with its producer mark as one `ProducerBatch` record (not yet durable);
    /// returns its LSN. The batch may be empty: the record then carries the mark alone.
    pub fn append_with_producer(
        &self,
        batch: &EventBatch,
        producer: &str,
        sequence: u64,
    ) -> Result<Lsn> {
        self.append_record(batch, Some((producer, sequence)))
    }

    /// An empty buffer for encoding a payload (one handed back earlier, when there is one).
    pub fn take_buffer(&self) -> Vec<u8> {
        self.buffers.lock().pop().unwrap_or_default()
    }

    /// Hands a payload buffer back for reuse.
    pub fn return_buffer(&self, mut buffer: Vec<u8>) {
        buffer.clear();
        let mut kept = self.buffers.lock();
        if kept.len() < KEPT_BUFFERS {
            kept.push(buffer);
        }
    }

    /// Writes one record whose payload the caller encoded (with [`super::encode_batch_rows`],
    /// after a producer prefix for [`RecordKind::ProducerBatch`]); not yet durable, see
    /// [`WalWriter::sync_to`]. Lets the store encode a batch before it takes its write lock.
    pub fn append_payload(&self, kind: RecordKind, payload: &[u8]) -> Result<Lsn> {
        if let Some(p) = &self.shared.state.lock().poisoned {
            return Err(Error::Poisoned(p.clone()));
        }
        let mut guard = self.inner.lock();
        self.write_record(&mut guard, kind, payload)
    }

    fn append_record(&self, batch: &EventBatch, producer: Option<(&str, u64)>) -> Result<Lsn> {
        if let Some(p) = &self.shared.state.lock().poisoned {
            return Err(Error::Poisoned(p.clone()));
        }
        let mut guard = self.inner.lock();
        let mut payload = std::mem::take(&mut guard.payload);
        payload.clear();
        let kind = match producer {
            Some((id, seq)) => {
                crate::producer::encode_prefix(id, seq, &mut payload);
                RecordKind::ProducerBatch
            }
            None => RecordKind::EventBatch,
        };
        encode_batch(batch, &mut payload);
        let result = self.write_record(&mut guard, kind, &payload);
        guard.payload = payload;
        result
    }

    fn write_record(&self, inner: &mut Inner, kind: RecordKind, payload: &[u8]) -> Result<Lsn> {
        let lsn = inner.next_lsn;
        // The reader refuses bodies over MAX_BODY_LEN as corruption: a larger record would be
        // acknowledged, then make the store unopenable. Checked on the raw payload, which bounds
        // the stored one (zstd keeps a record raw when it does not shrink it).
        let raw_len = u32::try_from(payload.len())
            .ok()
            .filter(|&n| n <= MAX_BODY_LEN - BODY_PREFIX_LEN as u32)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "batch of {} bytes is too large for one WAL record (at most {} bytes): split it",
                    payload.len(),
                    MAX_BODY_LEN as usize - BODY_PREFIX_LEN
                ))
            })?;
        inner.frame.clear();
        match &mut inner.compressor {
            Some(c) => {
                inner.compressed.clear();
                let compression =
                    c.compress(payload, &mut inner.compressed)
                        .map_err(|e| Error::Codec {
                            path: inner.path.clone(),
                            what: format!("WAL record {lsn}"),
                            source: e,
                        })?;
                let codec = if compression == Compression::Zstd {
                    CODEC_ZSTD
                } else {
                    CODEC_NONE
                };
                frame_record(
                    lsn,
                    kind,
                    codec,
                    raw_len,
                    &inner.compressed,
                    &mut inner.frame,
                );
            }
            None => frame_record(lsn, kind, CODEC_NONE, raw_len, payload, &mut inner.frame),
        }
        let mut file = &*inner.file;
        let result = if self.hook.is_some() {
            let half = inner.frame.len() / 2;
            file.write_all(&inner.frame[..half]).and_then(|()| {
                crash_point(self.hook.as_ref(), CrashPoint::WalMidRecord);
                file.write_all(&inner.frame[half..])
            })
        } else {
            file.write_all(&inner.frame)
        };
        if let Err(e) = result {
            // What reached the file is unknown: a later record after a partial one would be
            // reported as corruption on replay. Refuse further appends; a restart truncates.
            let msg = format!("write {}: {e}", inner.path.display());
            self.shared.state.lock().poisoned = Some(msg.clone());
            self.shared.done.notify_all();
            return Err(Error::Poisoned(msg));
        }
        inner.file_len += inner.frame.len() as u64;
        inner.next_lsn += 1;
        {
            let mut s = self.shared.state.lock();
            s.written_lsn = lsn;
            if !Arc::ptr_eq(&s.file, &inner.file) {
                s.file = Arc::clone(&inner.file);
                s.path = inner.path.clone();
            }
        }
        self.shared.work.notify_one();
        Ok(lsn)
    }

    /// Returns once every record up to `lsn` is on stable storage (or the log is poisoned).
    pub fn sync_to(&self, lsn: Lsn) -> Result<()> {
        let mut s = self.shared.state.lock();
        loop {
            if let Some(p) = &s.poisoned {
                return Err(Error::Poisoned(p.clone()));
            }
            if s.synced_lsn >= lsn {
                return Ok(());
            }
            self.shared.work.notify_one();
            self.shared.done.wait(&mut s);
        }
    }

    /// Seals the current file (fsynced) and starts a new one; returns the new file's first LSN.
    /// Every record before it is durable when this returns.
    pub fn rotate(&self) -> Result<Lsn> {
        let mut inner = self.inner.lock();
        let started = Instant::now();
        inner.file.sync_data().io("fsync", &inner.path)?;
        self.shared.record_fsync(started);
        let next = inner.next_lsn;
        let (file, path) = new_wal_file(&self.dir, next)?;
        inner.file = Arc::new(file);
        inner.path = path;
        inner.file_len = super::format::FILE_HEADER_LEN as u64;
        let mut s = self.shared.state.lock();
        s.synced_lsn = s.synced_lsn.max(next - 1);
        s.written_lsn = s.written_lsn.max(next - 1);
        s.file = Arc::clone(&inner.file);
        s.path = inner.path.clone();
        drop(s);
        drop(inner);
        self.shared.done.notify_all();
        Ok(next)
    }

    /// The LSN the next record will get.
    pub fn next_lsn(&self) -> Lsn {
        self.inner.lock().next_lsn
    }

    /// The highest LSN known durable.
    pub fn synced_lsn(&self) -> Lsn {
        self.shared.state.lock().synced_lsn
    }

    /// Bytes in the current file.
    pub fn current_file_len(&self) -> u64 {
        self.inner.lock().file_len
    }

    /// The latencies of every fsync so far.
    pub fn fsync_histogram(&self) -> crate::histogram::HistogramSnapshot {
        self.shared.fsync_latency.snapshot()
    }

    /// (fsync calls, total nanoseconds spent in them).
    pub fn fsync_stats(&self) -> (u64, u64) {
        (
            self.shared.fsyncs.load(Ordering::Relaxed),
            self.shared.fsync_nanos.load(Ordering::Relaxed),
        )
    }
}

impl Drop for WalWriter {
    fn drop(&mut self) {
        self.shared.state.lock().stop = true;
        self.shared.work.notify_all();
        if let Some(handle) = self.syncer.take() {
            let _ = handle.join();
        }
    }
}

impl SyncShared {
    fn record_fsync(&self, started: Instant) {
        self.fsync_latency.record(started.elapsed());
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.fsync_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

/// The syncer thread: whenever records were written past the synced point, fdatasync the file
/// holding them and publish the new synced point.
fn syncer_loop(shared: &SyncShared) {
    let mut s = shared.state.lock();
    loop {
        while !s.stop && (s.written_lsn <= s.synced_lsn || s.poisoned.is_some()) {
            shared.work.wait(&mut s);
        }
        if s.stop {
            return;
        }
        let (file, path, target) = (Arc::clone(&s.file), s.path.clone(), s.written_lsn);
        drop(s);
        let started = Instant::now();
        let result = file.sync_data();
        shared.record_fsync(started);
        s = shared.state.lock();
        match result {
            Ok(()) => s.synced_lsn = s.synced_lsn.max(target),
            Err(e) => {
                // fsync failure: the kernel may have dropped the dirty pages, so a retry could
                // report success for data that is gone. Poison instead; a restart replays.
                s.poisoned = Some(format!("fsync {}: {e}", path.display()));
            }
        }
        shared.done.notify_all();
    }
}

/// Creates `<dir>/<first_lsn>.wal` with its header, durable (file and directory fsynced), so a
/// crash right after leaves either no file or a complete header.
fn new_wal_file(dir: &Path, first_lsn: Lsn) -> Result<(File, PathBuf)> {
    let path = dir.join(wal_file_name(first_lsn));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&path)
        .io("create", &path)?;
    file.write_all(&file_header(first_lsn)).io("write", &path)?;
    file.sync_all().io("fsync", &path)?;
    crate::fsutil::sync_dir(dir)?;
    Ok((file, path))
}
