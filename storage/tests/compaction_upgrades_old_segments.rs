//! `Store::compact_all` (`adstore compact`) rewrites a partition's lone segment of an older
//! format version in the current one, so a store gains what the new version adds without a
//! reload: the format 4 fixture comes out in the current version with the same events, and a
//! second pass finds nothing to do.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::Path;

use adstore_storage::segment::format::SEGMENT_FORMAT_VERSION;
use adstore_storage::{ColumnData, ColumnId, ReadContext, ScanFilter, Store, StoreOptions};

/// Every event id of the snapshot, sorted, and the total cost.
fn contents(store: &Store) -> (Vec<String>, i64) {
    let snapshot = store.snapshot();
    let mut ctx = ReadContext::new().unwrap();
    let (mut ids, mut cost) = (Vec::new(), 0i64);
    for unit in snapshot.plan(&ScanFilter::all(), &mut ctx).unwrap() {
        let cols = unit
            .read(&[ColumnId::EventId, ColumnId::CostMicros], &mut ctx)
            .unwrap();
        let ColumnData::I64(c) = &cols[1] else {
            panic!("cost is i64")
        };
        cost += c.iter().sum::<i64>();
        ids.extend((0..cols[0].len()).map(|r| cols[0].str_at(r).unwrap().to_owned()));
    }
    ids.sort();
    (ids, cost)
}

#[test]
fn compact_all_rewrites_lone_segments_of_an_older_version() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v4");
    common::copy_dir(&fixture, tmp.path());
    let store = Store::open(tmp.path(), StoreOptions::default()).unwrap();
    let before = contents(&store);
    let old: Vec<u16> = store
        .snapshot()
        .segments()
        .unwrap()
        .iter()
        .map(|s| s.footer().format_version)
        .collect();
    assert!(old.iter().all(|&v| v == 4), "{old:?}");
    let replaced = store.compact_all().unwrap();
    assert!(
        replaced >= old.len(),
        "{replaced} of {} replaced",
        old.len()
    );
    let snapshot = store.snapshot();
    let segments = snapshot.segments().unwrap();
    assert!(!segments.is_empty());
    for s in &segments {
        assert_eq!(s.footer().format_version, SEGMENT_FORMAT_VERSION);
        s.verify(&mut ReadContext::new().unwrap()).unwrap();
    }
    assert_eq!(contents(&store), before);
    assert_eq!(store.compact_all().unwrap(), 0, "nothing older is left");
    drop(store);
    let reopened = Store::open_read_only(tmp.path()).unwrap();
    assert_eq!(contents(&reopened), before);
}
