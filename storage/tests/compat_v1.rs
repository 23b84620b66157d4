//! Format compatibility: a data directory written by format version 1 (WAL 1, segment 1,
//! manifest 1, schema 1), committed under `tests/fixtures/store-v1/`, still opens and reads back
//! the same events. Segment rows and WAL rows are both present in the fixture.
//!
//! To re-create the fixture (only when a new format version is released, as a new folder):
//! `cargo test -p adstore-storage --test compat_v1 -- --ignored write_fixture`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::{Path, PathBuf};

use adstore_storage::{
    ColumnData, ColumnId, EventBatch, EventRef, EventType, ReadContext, ScanFilter, Store,
    StoreOptions,
};

const DAY0: i64 = 20_414 * 86_400 * 1_000_000;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1")
}

fn events(range: std::ops::Range<i64>) -> EventBatch {
    let ids: Vec<String> = range.clone().map(|i| format!("fx-{i:04}")).collect();
    let campaigns: Vec<String> = range.clone().map(|i| format!("cmp-{}", i % 3)).collect();
    EventBatch::from_events(range.zip(ids.iter().zip(&campaigns)).map(|(i, (id, c))| {
        let t = EventType::ALL[(i % 4) as usize];
        let mut e = EventRef::new(id, t, DAY0 + i * 1_000_000, c);
        e.user_id = if i % 2 == 0 { "u-even" } else { "u-odd" };
        e.country = "US";
        e.cost_micros = i * 10;
        e.won = i % 5 == 0;
        e
    }))
}

#[test]
#[ignore = "writes the committed fixture; run by hand for a new format version"]
fn write_fixture() {
    let dir = fixture();
    let _ = std::fs::remove_dir_all(&dir);
    let store = Store::open(
        &dir,
        StoreOptions {
            background_flush: false,
            bucket_count: 2,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.append(&events(0..300)).unwrap();
    store.flush().unwrap();
    store.append(&events(300..350)).unwrap(); // stays in the WAL
    drop(store);
    std::fs::remove_file(dir.join("LOCK")).unwrap();
}

#[test]
fn a_version_1_store_opens_and_reads_back_its_events() {
    // Open a copy: a writer open would truncate and add files.
    let tmp = tempfile::tempdir().unwrap();
    common::copy_dir(&fixture(), tmp.path());
    for store in [
        Store::open_read_only(tmp.path()).unwrap(),
        Store::open(tmp.path(), StoreOptions::default()).unwrap(),
    ] {
        let snapshot = store.snapshot();
        assert!(snapshot.segment_count() > 0, "the fixture has segments");
        assert!(
            !snapshot.memtable_chunks().is_empty(),
            "the fixture has WAL rows"
        );
        let mut ctx = ReadContext::new().unwrap();
        let mut seen = Vec::new();
        let mut cost = 0i64;
        for unit in snapshot.plan(&ScanFilter::all(), &mut ctx).unwrap() {
            let cols = unit
                .read(&[ColumnId::EventId, ColumnId::CostMicros], &mut ctx)
                .unwrap();
            let ColumnData::I64(c) = &cols[1] else {
                panic!("cost is i64")
            };
            cost += c.iter().sum::<i64>();
            seen.extend((0..cols[0].len()).map(|i| cols[0].str_at(i).unwrap().to_owned()));
        }
        seen.sort();
        let expected: Vec<String> = (0..350).map(|i| format!("fx-{i:04}")).collect();
        assert_eq!(seen, expected);
        assert_eq!(cost, (0..350).map(|i| i * 10).sum::<i64>());
    }
}
