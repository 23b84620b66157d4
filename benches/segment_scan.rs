//! `segment_scan`: decoding blocks of a ~1M-row segment from the mmap (CRC, zstd, decode): one
//! dictionary column (campaign_id codes), and all columns. Throughput is rows/s on one core.

#![allow(
    clippy::expect_used,
    reason = "benchmark set-up: a failure aborts the run"
)]

use adstore::synth::{Synth, SynthConfig};
use adstore_storage::segment::writer::encode_segment;
use adstore_storage::segment::{SegmentId, SegmentOptions, SegmentReader};
use adstore_storage::{ColumnData, ColumnId, PartitionKey, ReadContext};
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let batch = Synth::new(SynthConfig::default()).batch(900_000);
    let rows = batch.len();
    let bytes = encode_segment(
        PartitionKey {
            day: 20_414,
            bucket: 0,
        },
        &batch,
        &SegmentOptions::default(),
    )
    .expect("encode");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(SegmentId(1).file_name());
    std::fs::write(&path, &bytes).expect("write");
    let reader = SegmentReader::open(&path, SegmentId(1)).expect("open");
    let mut ctx = ReadContext::new().expect("ctx");

    let mut group = c.benchmark_group("segment_scan");
    group.throughput(Throughput::Elements(rows as u64));
    group.sample_size(10);
    for col in [
        ColumnId::CampaignId,
        ColumnId::Country,
        ColumnId::EventType,
        ColumnId::CostMicros,
    ] {
        group.bench_function(format!("one_column_{}", col.name()), |b| {
            b.iter(|| {
                let mut sum = 0u64;
                for blk in 0..reader.block_count() {
                    match reader.read_block(col, blk, &mut ctx).expect("read") {
                        ColumnData::Dict { codes, .. } => {
                            sum += codes.iter().map(|&c| u64::from(c)).sum::<u64>()
                        }
                        ColumnData::I64(v) => sum += v.iter().map(|&x| x as u64).sum::<u64>(),
                        ColumnData::EventType(v) => sum += v.len() as u64,
                        other => sum += other.len() as u64,
                    }
                }
                black_box(sum)
            })
        });
    }
    group.bench_function("all_columns", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for blk in 0..reader.block_count() {
                for col in ColumnId::ALL {
                    n += reader.read_block(col, blk, &mut ctx).expect("read").len();
                }
            }
            black_box(n)
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
