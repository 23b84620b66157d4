//! `adstore ingest`: files and folders of JSON Lines / CSV / Avro into a store, in parallel,
//! with a progress bar on a terminal (log lines otherwise) and a summary at the end. A thin
//! layer on `adstore_ingest::pipeline`.
//!
//! Exit code 0 when every file was read to its end (rejected rows included: they are in the
//! dead-letter store); 1 when a file could not be read, or only up to damage (its earlier rows
//! are stored), with one line per such file on stderr naming it and the offset.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use adstore_ingest::deadletter::DeadLetterWriter;
use adstore_ingest::normalize::ts::parse_ts_text;
use adstore_ingest::pipeline::{
    IngestOptions, IngestReport, Progress, collect_inputs, ingest_files,
};
use adstore_ingest::{DecodeOptions, Format};
use adstore_storage::{Store, StoreOptions};
use anyhow::{Context, anyhow};

/// An input format of `adstore ingest`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum InputFormat {
    /// JSON Lines impressions.
    Json,
    /// CSV clicks and conversions.
    Csv,
    /// Avro bid requests.
    Avro,
}

impl From<InputFormat> for adstore_ingest::Format {
    fn from(f: InputFormat) -> Self {
        match f {
            InputFormat::Json => adstore_ingest::Format::Json,
            InputFormat::Csv => adstore_ingest::Format::Csv,
            InputFormat::Avro => adstore_ingest::Format::Avro,
        }
    }
}

/// What `adstore ingest` was asked.
#[derive(Debug)]
pub struct Args {
    pub data: PathBuf,
    pub format: Option<Format>,
    pub threads: Option<usize>,
    pub ts_min: Option<String>,
    pub ts_max: Option<String>,
    pub paths: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut decode = DecodeOptions::default();
    if let Some(t) = &args.ts_min {
        decode.ts_range.min = parse_ts_text(t).map_err(|(_, d)| anyhow!("--ts-min: {d}"))?;
    }
    if let Some(t) = &args.ts_max {
        decode.ts_range.max = parse_ts_text(t).map_err(|(_, d)| anyhow!("--ts-max: {d}"))?;
    }
    let mut options = IngestOptions {
        format: args.format,
        decode,
        ..IngestOptions::default()
    };
    if let Some(t) = args.threads {
        options.threads = t.max(1);
    }
    let files = collect_inputs(&args.paths, args.format)?;
    if files.is_empty() {
        return Err(anyhow!("no input file found in the paths given"));
    }
    let store = Store::open(&args.data, StoreOptions::default())
        .with_context(|| format!("opening store {}", args.data.display()))?;
    let mut dead = DeadLetterWriter::open(&args.data)?;
    let progress = Arc::new(Progress::default());
    let done = Arc::new(AtomicBool::new(false));
    let reporter = spawn_reporter(Arc::clone(&progress), Arc::clone(&done), files.len());
    let result = ingest_files(&store, &mut dead, &files, &options, &progress);
    done.store(true, Ordering::Relaxed);
    if let Some(h) = reporter {
        let _ = h.join();
    }
    let report = result?;
    drop(dead);
    let flush_started = Instant::now();
    store.close().context("flushing the store")?;
    print_summary(&report, &args.data, flush_started.elapsed());
    if report.all_files_ok() {
        Ok(ExitCode::SUCCESS)
    } else {
        let failures: Vec<(&Path, &str)> = report.failures().collect();
        for (_, why) in &failures {
            eprintln!("adstore: {why}");
        }
        eprintln!(
            "adstore: {} of {} files not fully read",
            failures.len(),
            report.files.len()
        );
        Ok(ExitCode::FAILURE)
    }
}

fn spawn_reporter(
    progress: Arc<Progress>,
    done: Arc<AtomicBool>,
    files: usize,
) -> Option<std::thread::JoinHandle<()>> {
    let terminal = std::io::stderr().is_terminal();
    std::thread::Builder::new()
        .name("adstore-progress".into())
        .spawn(move || {
            let started = Instant::now();
            let bar = terminal.then(|| {
                let bar = indicatif::ProgressBar::new(progress.bytes_total.load(Ordering::Relaxed));
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}",
                ) {
                    bar.set_style(style);
                }
                bar
            });
            let mut last_log = Instant::now();
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                let rows = progress.rows_read.load(Ordering::Relaxed);
                let secs = started.elapsed().as_secs_f64().max(1e-9);
                let msg = format!(
                    "{rows} rows, {:.0} rows/s, {}/{files} files",
                    rows as f64 / secs,
                    progress.files_done.load(Ordering::Relaxed)
                );
                if let Some(bar) = &bar {
                    bar.set_length(progress.bytes_total.load(Ordering::Relaxed));
                    bar.set_position(progress.bytes_read.load(Ordering::Relaxed));
                    bar.set_message(msg);
                } else if last_log.elapsed() >= Duration::from_secs(5) {
                    last_log = Instant::now();
                    tracing::info!(
                        "ingest: {msg}, {:.1} MB read",
                        progress.bytes_read.load(Ordering::Relaxed) as f64 / 1e6
                    );
                }
            }
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
        })
        .ok()
}

fn print_summary(r: &IngestReport, data: &Path, flush: Duration) {
    println!("ingested {} files into {}", r.files.len(), data.display());
    println!("  rows read     {:>12}", r.rows_read);
    println!("  accepted      {:>12}", r.accepted);
    println!("  duplicates    {:>12}", r.duplicates);
    if r.late_unchecked > 0 {
        println!("  late (stored without dedup check) {}", r.late_unchecked);
    }
    println!("  rejected      {:>12}", r.rejected_total());
    for (reason, n) in &r.rejected {
        println!("    {:<26}{n:>8}", reason.as_str());
    }
    println!(
        "  dead letters  {:>12} new, {} already stored",
        r.dead_letters_written, r.dead_letters_known
    );
    if r.unknown_fields > 0 {
        println!("  unknown fields ignored {}", r.unknown_fields);
    }
    println!(
        "  {:.2} s: {:.0} rows/s, {:.1} MB/s ({:.1} MB read); final flush {:.2} s",
        r.elapsed.as_secs_f64(),
        r.rows_per_sec(),
        r.mb_per_sec(),
        r.bytes_read as f64 / 1e6,
        flush.as_secs_f64()
    );
}
