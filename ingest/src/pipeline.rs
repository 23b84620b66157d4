//! The ingest pipeline: files and folders → parallel decoders → `Store::append` in large
//! batches; rejected rows → dead letters; an [`IngestReport`] at the end.
//!
//! Threads: one decoder thread per file, at most [`IngestOptions::threads`] at once. Each
//! decodes a [`Chunk`] of up to [`IngestOptions::chunk_rows`] rows and appends it to the store
//! itself (`Store::append` takes `&self`: appends from several threads overlap, and share WAL
//! fsyncs through the store's group commit), then sends the chunk over a bounded crossbeam
//! channel to the calling thread, which writes its rejects to the dead-letter store and keeps
//! the counts. Used chunks go back to the decoders through a second channel, so their column
//! buffers are reused rather than reallocated; memory stays bounded whatever the input size.
//!
//! A file that cannot be opened or read in its format, or that turns out damaged, is a failure
//! in the report (every row decoded before the damage was appended); the other files go on. A
//! storage error stops the whole ingest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adstore_storage::{AppendOutcome, Store};
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use crate::deadletter::DeadLetterWriter;
use crate::decode::{Chunk, DEFAULT_CHUNK_ROWS, DecodeOptions, Format, open_decoder};
use crate::error::{Error, IoContext, Result};
use crate::reject::RejectReason;

/// How an ingest runs.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The format of every file (from each file's name when `None`).
    pub format: Option<Format>,
    /// Validation and decoding.
    pub decode: DecodeOptions,
    /// Decoder threads (at most one per file).
    pub threads: usize,
    /// Rows per chunk, i.e. per `Store::append`.
    pub chunk_rows: usize,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            format: None,
            decode: DecodeOptions::default(),
            threads: std::thread::available_parallelism().map_or(2, usize::from),
            chunk_rows: DEFAULT_CHUNK_ROWS,
        }
    }
}

/// Live counters, for a progress bar or log lines while an ingest runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read from input files (compressed bytes for compressed files).
    pub bytes_read: Arc<AtomicU64>,
    /// Total size of the input files.
    pub bytes_total: AtomicU64,
    /// Rows decoded.
    pub rows_read: AtomicU64,
    /// Rows stored.
    pub accepted: AtomicU64,
    /// Rows dropped as duplicates.
    pub duplicates: AtomicU64,
    /// Rows rejected.
    pub rejected: AtomicU64,
    /// Files finished (or failed).
    pub files_done: AtomicU64,
}

/// What happened to one input file.
#[derive(Debug, Clone, Default)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Its format, when known.
    pub format: Option<Format>,
    /// Rows decoded.
    pub rows_read: u64,
    /// Rows stored.
    pub accepted: u64,
    /// Rows dropped as duplicates.
    pub duplicates: u64,
    /// Rows rejected.
    pub rejected: u64,
    /// Why the file was not (completely) read, if it was not.
    pub error: Option<String>,
}

/// The outcome of an ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    /// Per file, in input order.
    pub files: Vec<FileReport>,
    /// Rows decoded (accepted + duplicates + rejected).
    pub rows_read: u64,
    /// Rows stored.
    pub accepted: u64,
    /// Rows dropped as duplicates.
    pub duplicates: u64,
    /// Rows stored without a dedup check (older than the dedup window); part of `accepted`.
    pub late_unchecked: u64,
    /// Rejected rows per reason.
    pub rejected: BTreeMap<RejectReason, u64>,
    /// Dead letters written.
    pub dead_letters_written: u64,
    /// Rejected rows already in the dead-letter store (an earlier ingest of the same file).
    pub dead_letters_known: u64,
    /// Unknown JSON fields / CSV columns seen and ignored.
    pub unknown_fields: u64,
    /// Bytes of input read.
    pub bytes_read: u64,
    /// Wall time.
    pub elapsed: Duration,
}

impl IngestReport {
    /// Rejected rows, all reasons.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Files that failed, with the reason.
    pub fn failures(&self) -> impl Iterator<Item = (&Path, &str)> {
        self.files
            .iter()
            .filter_map(|f| f.error.as_deref().map(|e| (f.path.as_path(), e)))
    }

    /// Whether every file was read to its end.
    pub fn all_files_ok(&self) -> bool {
        self.files.iter().all(|f| f.error.is_none())
    }

    /// Rows decoded per second of wall time.
    pub fn rows_per_sec(&self) -> f64 {
        self.rows_read as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Input MB (10^6 bytes) read per second of wall time.
    pub fn mb_per_sec(&self) -> f64 {
        self.bytes_read as f64 / 1e6 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The input files named by `paths`: files as given, folders walked recursively (sorted; hidden
/// entries skipped; inside folders only names with a known format, or every file when `format`
/// is given).
pub fn collect_inputs(paths: &[PathBuf], format: Option<Format>) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).io("stat", p)?;
        if meta.is_dir() {
            walk(p, format, &mut out)?;
        } else {
            out.push(p.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

fn walk(dir: &Path, format: Option<Format>, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .io("list", dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .io("list", dir)?;
    entries.sort();
    for path in entries {
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
        {
            continue;
        }
        let meta = std::fs::metadata(&path).io("stat", &path)?;
        if meta.is_dir() {
            walk(&path, format, out)?;
        } else if format.is_some() || Format::from_path(&path).is_some() {
            out.push(path);
        }
    }
    Ok(())
}

enum Msg {
    /// A chunk of file `.0`, appended with outcome `.2`.
    Chunk(usize, Box<Chunk>, AppendOutcome),
    /// File `.0` is finished, or failed.
    Done(usize, Option<Error>),
    /// The store failed: the ingest stops.
    Fatal(Error),
}

/// Ingests `files` into `store`, rejected rows into `dead_letters`.
pub fn ingest_files(
    store: &Store,
    dead_letters: &mut DeadLetterWriter,
    files: &[PathBuf],
    options: &IngestOptions,
    progress: &Progress,
) -> Result<IngestReport> {
    let started = Instant::now();
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    progress.bytes_total.store(total, Ordering::Relaxed);
    let bytes_at_start = progress.bytes_read.load(Ordering::Relaxed);
    let mut report = IngestReport {
        files: files
            .iter()
            .map(|p| FileReport {
                path: p.clone(),
                format: options.format.or_else(|| Format::from_path(p)),
                ..FileReport::default()
            })
            .collect(),
        ..IngestReport::default()
    };
    let sources: Vec<String> = files
        .iter()
        .map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let threads = options.threads.clamp(1, files.len().max(1));
    let chunk_rows = options.chunk_rows.max(1);
    let (work_tx, work_rx) = unbounded::<(usize, PathBuf)>();
    for (i, f) in files.iter().enumerate() {
        let _ = work_tx.send((i, f.clone()));
    }
    drop(work_tx);
    let (msg_tx, msg_rx) = bounded::<Msg>(threads);
    let (pool_tx, pool_rx) = bounded::<Box<Chunk>>(threads * 2);
    let stop = AtomicBool::new(false);

    let result = std::thread::scope(|scope| {
        for t in 0..threads {
            let (work_rx, msg_tx, pool_rx) = (work_rx.clone(), msg_tx.clone(), pool_rx.clone());
            let (stop, bytes) = (&stop, Arc::clone(&progress.bytes_read));
            let spawned = std::thread::Builder::new()
                .name(format!("adstore-decode-{t}"))
                .spawn_scoped(scope, move || {
                    let worker = Worker {
                        store,
                        out: &msg_tx,
                        pool: &pool_rx,
                        stop,
                        bytes: &bytes,
                        options,
                        chunk_rows,
                    };
                    worker.run(&work_rx);
                });
            if let Err(e) = spawned {
                stop.store(true, Ordering::Relaxed);
                return Err(Error::Io {
                    op: "spawn decoder thread",
                    path: PathBuf::new(),
                    error: e,
                });
            }
        }
        drop(msg_tx);
        let r = consume(
            dead_letters,
            &sources,
            msg_rx,
            &pool_tx,
            &mut report,
            progress,
        );
        if r.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        r
    });
    result?;
    dead_letters.sync()?;
    report.bytes_read = progress.bytes_read.load(Ordering::Relaxed) - bytes_at_start;
    report.elapsed = started.elapsed();
    Ok(report)
}

struct Worker<'a> {
    store: &'a Store,
    out: &'a Sender<Msg>,
    pool: &'a Receiver<Box<Chunk>>,
    stop: &'a AtomicBool,
    bytes: &'a Arc<AtomicU64>,
    options: &'a IngestOptions,
    chunk_rows: usize,
}

impl Worker<'_> {
    fn run(&self, work: &Receiver<(usize, PathBuf)>) {
        while let Ok((idx, path)) = work.recv() {
            if self.stop.load(Ordering::Relaxed) || !self.file(idx, &path) {
                return;
            }
        }
    }

    /// Decodes and appends one file; `false` when the ingest must stop.
    fn file(&self, idx: usize, path: &Path) -> bool {
        let o = self.options;
        let mut decoder = match open_decoder(path, o.format, &o.decode, Arc::clone(self.bytes)) {
            Ok(d) => d,
            Err(e) => return self.out.send(Msg::Done(idx, Some(e))).is_ok(),
        };
        loop {
            let mut chunk = self
                .pool
                .try_recv()
                .unwrap_or_else(|_| Box::new(Chunk::with_capacity(self.chunk_rows)));
            let r = decoder.decode(&mut chunk, self.chunk_rows);
            if chunk.rows_read > 0 {
                // Rows decoded before damage are appended too: they are good rows.
                let outcome = match self.store.append(&chunk.batch) {
                    Ok(o) => o,
                    Err(e) => {
                        self.stop.store(true, Ordering::Relaxed);
                        let _ = self.out.send(Msg::Fatal(e.into()));
                        return false;
                    }
                };
                if self.out.send(Msg::Chunk(idx, chunk, outcome)).is_err() {
                    return false;
                }
            }
            let done = match r {
                Ok(true) if !self.stop.load(Ordering::Relaxed) => continue,
                Ok(true) => return false,
                Ok(false) => Msg::Done(idx, None),
                Err(e) => Msg::Done(idx, Some(e)),
            };
            return self.out.send(done).is_ok();
        }
    }
}

fn consume(
    dead_letters: &mut DeadLetterWriter,
    sources: &[String],
    messages: Receiver<Msg>,
    pool: &Sender<Box<Chunk>>,
    report: &mut IngestReport,
    progress: &Progress,
) -> Result<()> {
    for msg in messages {
        match msg {
            Msg::Fatal(e) => return Err(e),
            Msg::Chunk(idx, mut chunk, outcome) => {
                let format = report.files[idx].format.unwrap_or(Format::Json);
                let mut new_dead = false;
                for r in &chunk.rejects {
                    *report.rejected.entry(r.reason).or_default() += 1;
                    if dead_letters.append(&sources[idx], format, r)? {
                        report.dead_letters_written += 1;
                        new_dead = true;
                    } else {
                        report.dead_letters_known += 1;
                    }
                }
                if new_dead {
                    dead_letters.sync()?;
                }
                let rejected = chunk.rejects.len() as u64;
                let file = &mut report.files[idx];
                file.rows_read += chunk.rows_read;
                file.accepted += outcome.accepted;
                file.duplicates += outcome.duplicates;
                file.rejected += rejected;
                report.rows_read += chunk.rows_read;
                report.accepted += outcome.accepted;
                report.duplicates += outcome.duplicates;
                report.late_unchecked += outcome.late_unchecked;
                report.unknown_fields += chunk.unknown_fields;
                progress
                    .rows_read
                    .fetch_add(chunk.rows_read, Ordering::Relaxed);
                progress
                    .accepted
                    .fetch_add(outcome.accepted, Ordering::Relaxed);
                progress
                    .duplicates
                    .fetch_add(outcome.duplicates, Ordering::Relaxed);
                progress.rejected.fetch_add(rejected, Ordering::Relaxed);
                chunk.clear();
                let _ = pool.try_send(chunk);
            }
            Msg::Done(idx, error) => {
                if let Some(e) = error {
                    tracing::debug!("{e}");
                    report.files[idx].error = Some(e.to_string());
                }
                progress.files_done.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    Ok(())
}
