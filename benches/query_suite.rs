//! The query suite Q1–Q10 (`docs/QUERY.md`), hot cache: per query, the median and minimum of
//! `ADSTORE_BENCH_RUNS` (default 7) timed runs after two warm-up runs, with rows returned and
//! scan units kept by pruning; `cpu ms` is the process CPU time per run (all threads), steadier
//! than wall time when the machine is shared.
//!
//! On a store made by `adstore gen` + `adstore ingest`:
//! `ADSTORE_BENCH_DATA=/path/to/data cargo bench --bench query_suite`. Without it, the bench
//! generates 200,000 impressions (a week) into a temporary store first. `ADSTORE_BENCH_ONLY=Q4`
//! runs one query (for a profiler); `ADSTORE_BENCH_CAMPAIGN=cmp-1000` runs the one-campaign
//! queries (Q4, Q5) for that campaign instead of the busiest (the harness's Q4m and Q5m use the
//! median one). `ADSTORE_BENCH_USER=u-42` skips the search for the busiest user (a `GROUP BY
//! user_id` over the whole store: ~25 s at 50M impressions) and uses that one for Q7 and Q10.
//! `ADSTORE_BENCH_IDLE_MS=200` sleeps that long before each run, to time a query that finds
//! the caches as an idle process does (BENCHMARKS.md, "Where adstore is slower").
//! `ADSTORE_BENCH_THREADS=1` runs each query on that many worker threads (default: one per
//! core).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "bench code: a panic is a failed run"
)]

#[path = "../query/tests/common/suite.rs"]
mod suite;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use adstore_ingest::deadletter::DeadLetterWriter;
use adstore_ingest::generator::{GenOptions, generate};
use adstore_ingest::pipeline::{IngestOptions, Progress, collect_inputs, ingest_files};
use adstore_query::{ExecOptions, Plan, execute, parse_sql};
use adstore_storage::{Store, StoreOptions};

fn generated_store(tmp: &std::path::Path) -> PathBuf {
    let src = tmp.join("gen");
    let data = tmp.join("data");
    eprintln!("generating 200000 impressions into {}", src.display());
    generate(
        &src,
        &GenOptions {
            impressions: 200_000,
            ..GenOptions::default()
        },
    )
    .unwrap();
    let store = Store::open(&data, StoreOptions::default()).unwrap();
    let mut files = collect_inputs(std::slice::from_ref(&src), None).unwrap();
    files.retain(|f| !f.to_string_lossy().ends_with("truth.json"));
    let mut dead = DeadLetterWriter::open(&data).unwrap();
    ingest_files(
        &store,
        &mut dead,
        &files,
        &IngestOptions::default(),
        &Progress::default(),
    )
    .unwrap();
    store.close().unwrap();
    data
}

/// CPU time (user + system) of the whole process so far: on a shared machine it moves less
/// than wall time.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we pass and reads nothing else.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let data = match std::env::var_os("ADSTORE_BENCH_DATA") {
        Some(d) => PathBuf::from(d),
        None => generated_store(tmp.path()),
    };
    let runs: usize = std::env::var("ADSTORE_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7)
        .max(1);
    let opened = Instant::now();
    let store = Store::open_read_only(&data).unwrap();
    let open_time = opened.elapsed();
    let snapshot = store.snapshot();
    let mut params = suite::params_for_user(&snapshot, std::env::var("ADSTORE_BENCH_USER").ok());
    if let Ok(campaign) = std::env::var("ADSTORE_BENCH_CAMPAIGN") {
        params.campaign = campaign;
    }
    println!(
        "store {}: {} rows, {} segments, {} memtable chunks; read-only open {:.1} ms; {} threads",
        data.display(),
        snapshot.rows(),
        snapshot.segment_count(),
        snapshot.memtable_chunks().len(),
        open_time.as_secs_f64() * 1e3,
        std::thread::available_parallelism().map_or(1, usize::from),
    );
    println!("params: {params:?}");
    println!(
        "{:<5} {:>10} {:>10} {:>8} {:>7} {:>11} {:>8} {:>10}",
        "query", "median ms", "min ms", "cpu ms", "rows", "units kept", "decided", "from stats"
    );
    let idle = std::env::var("ADSTORE_BENCH_IDLE_MS")
        .ok()
        .and_then(|ms| ms.parse().ok())
        .map(Duration::from_millis);
    let options = ExecOptions {
        threads: std::env::var("ADSTORE_BENCH_THREADS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    };
    let only = std::env::var("ADSTORE_BENCH_ONLY").ok();
    for (name, sql) in suite::queries(&params) {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let query = parse_sql(&sql).unwrap();
        Plan::new(&query).unwrap();
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut last = None;
        let mut cpu_start = Duration::ZERO;
        for i in 0..runs + 2 {
            if let Some(idle) = idle {
                std::thread::sleep(idle);
            }
            if i == 2 {
                cpu_start = cpu_time();
            }
            let t = Instant::now();
            let r = execute(&snapshot, &query, &options).unwrap();
            if i >= 2 {
                times.push(t.elapsed());
            }
            last = Some(r);
        }
        let cpu = (cpu_time() - cpu_start) / u32::try_from(runs).unwrap_or(1);
        times.sort();
        let r = last.unwrap();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{name:<5} {:>10.2} {:>10.2} {:>8.2} {:>7} {:>11} {:>8} {:>10}",
            ms(times[times.len() / 2]),
            ms(times[0]),
            ms(cpu),
            r.num_rows(),
            r.stats.units,
            r.stats.units_decided,
            r.stats.units_from_statistics,
        );
    }
}
