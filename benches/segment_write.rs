//! `segment_write`: encoding a 100k-row partition into a segment (sort, dictionaries, encodings,
//! zstd, blooms, sorted keys). Prints bytes/event on disk and per column for realistic data.

#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure aborts the run"
)]

use adstore::synth::{Synth, SynthConfig};
use adstore_storage::segment::writer::encode_segment;
use adstore_storage::segment::{SegmentId, SegmentOptions, SegmentReader};
use adstore_storage::{PartitionKey, ReadContext};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let batch = Synth::new(SynthConfig::default()).batch(90_000);
    let rows = batch.len();
    let key = PartitionKey {
        day: 20_414,
        bucket: 0,
    };
    let bytes = encode_segment(key, &batch, &SegmentOptions::default()).expect("encode");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(SegmentId(1).file_name());
    std::fs::write(&path, &bytes).expect("write");
    let reader = SegmentReader::open(&path, SegmentId(1)).expect("open");
    let sizes = reader
        .verify(&mut ReadContext::new().expect("ctx"))
        .expect("verify");
    let f = reader.footer();
    let key_bytes: u64 = f.key_blocks.iter().map(|k| u64::from(k.len)).sum();
    println!(
        "segment of {rows} rows: {} bytes, {:.1} bytes/event",
        bytes.len(),
        bytes.len() as f64 / rows as f64
    );
    println!(
        "  sorted event-id keys {:.1} B/event, blooms {:.1} B/event",
        key_bytes as f64 / rows as f64,
        f.bloom_len as f64 / rows as f64
    );
    for (col, stored, raw) in sizes {
        println!(
            "  {:<22} {:>7.2} B/event  ratio {:>6.2}",
            col.name(),
            stored as f64 / rows as f64,
            raw as f64 / stored.max(1) as f64
        );
    }
    let mut group = c.benchmark_group("segment_write");
    group.throughput(Throughput::Elements(rows as u64));
    group.sample_size(10);
    group.bench_function("encode_100k_rows", |b| {
        b.iter(|| encode_segment(key, &batch, &SegmentOptions::default()).expect("encode"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
