//! The query suite Q1–Q10 on `adstore gen` data, ingested through the ingest pipeline (most of
//! it flushed to segments, the last file only in the memtable), checked against the reference
//! evaluator; plus the generator's truth for the totals of Q1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

#[path = "../query/tests/common/mod.rs"]
mod query_common;

use std::sync::atomic::Ordering;

use adstore_ingest::deadletter::DeadLetterWriter;
use adstore_ingest::generator::{GenOptions, generate};
use adstore_ingest::pipeline::{IngestOptions, Progress, collect_inputs, ingest_files};
use adstore_query::value::Value;
use adstore_storage::segment::SegmentOptions;
use adstore_storage::{Store, StoreOptions};

use query_common::{all_events, check, suite};

#[test]
fn suite_matches_reference_on_generated_data() {
    let gen_dir = tempfile::tempdir().unwrap();
    let truth = generate(
        gen_dir.path(),
        &GenOptions {
            impressions: 6_000,
            days: 3,
            ..GenOptions::default()
        },
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(
        data.path(),
        StoreOptions {
            background_flush: false,
            segment: SegmentOptions {
                block_rows: 1024,
                ..SegmentOptions::default()
            },
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let mut files = collect_inputs(&[gen_dir.path().to_path_buf()], None).unwrap();
    files.retain(|f| !f.to_string_lossy().ends_with("truth.json"));
    let last = files.pop().unwrap();
    let mut dead = DeadLetterWriter::open(data.path()).unwrap();
    let options = IngestOptions {
        threads: 2,
        ..IngestOptions::default()
    };
    let progress = Progress::default();
    ingest_files(&store, &mut dead, &files, &options, &progress).unwrap();
    store.flush().unwrap();
    ingest_files(&store, &mut dead, &[last], &options, &progress).unwrap();
    let snapshot = store.snapshot();
    assert!(!snapshot.memtable_chunks().is_empty() && snapshot.segment_count() > 1);
    assert_eq!(
        progress.accepted.load(Ordering::Relaxed),
        truth.accepted_total
    );

    let events = all_events(&snapshot);
    let params = suite::params(&snapshot);
    for (name, sql) in suite::queries(&params) {
        let rows = check(&sql, &snapshot, &events, 2);
        assert!(!rows.is_empty(), "{name} answered no row: {sql}");
        if name == "Q1" {
            let by_type =
                |t: &str| Value::UInt(truth.accepted_by_type.get(t).copied().unwrap_or(0));
            assert_eq!(rows[0][0], by_type("impression"), "{name}");
            assert_eq!(rows[0][1], by_type("click"), "{name}");
            assert_eq!(rows[0][3], by_type("bid_request"), "{name}");
            assert_eq!(rows[0][4], Value::UInt(truth.won), "{name}");
            assert_eq!(rows[0][5], Value::Int(truth.money.cost_micros), "{name}");
        }
    }
}
