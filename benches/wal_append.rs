//! `wal_append`: `Store::append` with dedup and fsync on, batches of 10k synthetic events (random
//! UUID event ids), one appender and two concurrent appenders (group commit). Prints events/s and
//! WAL MB/s; the memtable is flushed in the background as in production.

#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure aborts the run"
)]

use std::time::{Duration, Instant};

use adstore::synth::{Synth, SynthConfig};
use adstore_storage::wal::encode_batch;
use adstore_storage::{EventBatch, Store, StoreOptions};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const BATCH_IMPRESSIONS: usize = 8_900; // ≈ 10k events with clicks, conversions and bids

fn batches(seed: u64, n: usize) -> Vec<EventBatch> {
    let mut synth = Synth::new(SynthConfig {
        seed,
        ..SynthConfig::default()
    });
    (0..n).map(|_| synth.batch(BATCH_IMPRESSIONS)).collect()
}

fn bench(c: &mut Criterion) {
    let pool = batches(1, 64);
    let events = pool[0].len() as u64;
    let mut payload = Vec::new();
    encode_batch(&pool[0], &mut payload);
    println!(
        "batch: {events} events, {} WAL payload bytes ({:.1} bytes/event)",
        payload.len(),
        payload.len() as f64 / events as f64
    );

    let mut group = c.benchmark_group("wal_append");
    group.throughput(Throughput::Elements(events));
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    for compress in [false, true] {
        let name = if compress {
            "append_10k_fsync_dedup_zstd_wal"
        } else {
            "append_10k_fsync_dedup"
        };
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let dir = tempfile::tempdir().expect("tempdir");
                let store = Store::open(
                    dir.path(),
                    StoreOptions {
                        wal_compress: compress,
                        ..StoreOptions::default()
                    },
                )
                .expect("open");
                // Fresh ids for every append (a re-appended batch would only exercise the
                // duplicate path); generation is outside the timed region.
                let mut synth = Synth::new(SynthConfig {
                    seed: iters + 7,
                    ..SynthConfig::default()
                });
                let mut timed = Duration::ZERO;
                for _ in 0..iters {
                    let batch = synth.batch(BATCH_IMPRESSIONS);
                    let start = Instant::now();
                    store.append(&batch).expect("append");
                    timed += start.elapsed();
                }
                timed
            })
        });
    }
    group.throughput(Throughput::Elements(2 * events));
    group.bench_function("append_10k_fsync_dedup_2_threads", |b| {
        b.iter_custom(|iters| {
            let dir = tempfile::tempdir().expect("tempdir");
            let store = Store::open(dir.path(), StoreOptions::default()).expect("open");
            // Pre-generated so that only appends run in the timed region; capped at 2 × 48
            // batches (≈ 180 MB) with fresh ids, reused round-robin beyond that (then the
            // duplicate path is part of the figure: criterion prints the iteration count).
            let n = (iters as usize).min(48);
            let a = batches(iters * 2 + 11, n);
            let bb = batches(iters * 2 + 12, n);
            let start = Instant::now();
            std::thread::scope(|s| {
                for pool in [&a, &bb] {
                    let store = &store;
                    s.spawn(move || {
                        for i in 0..iters as usize {
                            store.append(&pool[i % pool.len()]).expect("append");
                        }
                    });
                }
            });
            start.elapsed()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
