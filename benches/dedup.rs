//! `dedup`: fingerprint look-ups in a dedup index holding 10M events (the fast "no"), and exact
//! confirmation of a resent event id against a segment (bloom, then sorted keys). Prints the
//! index's bytes per event.

#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure aborts the run"
)]

use adstore_storage::PartitionKey;
use adstore_storage::dedup::DedupIndex;
use adstore_storage::memtable::event_id_hash;
use adstore_storage::schema::MICROS_PER_DAY;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn bench(c: &mut Criterion) {
    const N: u64 = 10_000_000;
    let mut rng = StdRng::seed_from_u64(7);
    let mut index = DedupIndex::new(7 * MICROS_PER_DAY, 64);
    for i in 0..N {
        let p = PartitionKey {
            day: 20_414,
            bucket: (i % 16) as u16,
        };
        index.insert(rng.random::<u64>(), p);
    }
    println!(
        "dedup index: {} entries, {} bytes, {:.1} bytes/event",
        index.len(),
        index.memory_bytes(),
        index.memory_bytes() as f64 / index.len() as f64
    );
    let probes: Vec<u64> = (0..1_000_000)
        .map(|i| event_id_hash(&format!("probe-{i}")))
        .collect();
    let mut group = c.benchmark_group("dedup");
    group.throughput(Throughput::Elements(probes.len() as u64));
    group.sample_size(10);
    group.bench_function("fingerprint_lookup_10M_index", |b| {
        b.iter(|| {
            black_box(
                probes
                    .iter()
                    .filter(|&&h| index.candidates(index.fingerprint(h)).is_some())
                    .count(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
