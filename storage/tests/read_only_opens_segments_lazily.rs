//! A read-only store (what `adstore query` and `adstore inspect` open) maps and checks a segment
//! only when a query's partition and time-range pruning keeps it: a damaged segment of another
//! day does not stop a query, and is still reported by the query that reads it. A segment a
//! writer merged away after the read-only view was taken is reported as `StaleSnapshot`, and a
//! fresh read-only open answers with every row; a segment file lost while the manifest still
//! lists it is `MissingSegment`. Also: `compact_all` merges every partition into one segment
//! whatever the threshold, and keeps every row.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::{Path, PathBuf};

use adstore_storage::schema::MICROS_PER_DAY;
use adstore_storage::{
    Error, EventBatch, EventRef, EventType, ReadContext, ScanFilter, Snapshot, Store, StoreOptions,
};

const DAY0: i64 = 20_000;

fn batch(prefix: &str, n: usize, day: i64) -> EventBatch {
    let ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    EventBatch::from_events(ids.iter().enumerate().map(|(i, id)| {
        EventRef::new(
            id,
            EventType::Impression,
            day * MICROS_PER_DAY + i as i64,
            "cmp-1",
        )
    }))
}

fn options() -> StoreOptions {
    StoreOptions {
        background_flush: false,
        ..StoreOptions::default()
    }
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Rows a plan over `filter` keeps (every unit's rows), or the plan's error.
fn planned_rows(snapshot: &Snapshot, filter: &ScanFilter) -> Result<usize, Error> {
    let mut ctx = ReadContext::new().unwrap();
    Ok(snapshot
        .plan(filter, &mut ctx)?
        .iter()
        .map(adstore_storage::ScanUnit::rows)
        .sum())
}

fn day(d: i64) -> ScanFilter {
    ScanFilter::all().ts_between(d * MICROS_PER_DAY, (d + 1) * MICROS_PER_DAY - 1)
}

#[test]
fn a_damaged_segment_of_another_day_is_not_opened() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), options()).unwrap();
        store.append(&batch("d0", 300, DAY0)).unwrap();
        store.flush().unwrap();
        store.append(&batch("d1", 200, DAY0 + 1)).unwrap();
        store.flush().unwrap();
    }
    // Segment ids follow flush order: the first file is day 0's. Damage its footer CRC.
    let files = segment_files(dir.path());
    assert_eq!(files.len(), 2);
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let n = bytes.len();
    bytes[n - 12] ^= 0xff;
    std::fs::write(&files[0], &bytes).unwrap();

    let store = Store::open_read_only(dir.path()).unwrap();
    let snapshot = store.snapshot();
    assert_eq!(snapshot.rows(), 500, "row counts come from the manifest");
    assert_eq!(planned_rows(&snapshot, &day(DAY0 + 1)).unwrap(), 200);
    let err = planned_rows(&snapshot, &day(DAY0)).unwrap_err();
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains(&files[0].display().to_string()),
        "{err}"
    );
    assert!(snapshot.segments().is_err(), "opening all reports it too");
}

#[test]
fn a_segment_merged_away_by_a_writer_is_a_stale_view_and_a_new_open_sees_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Store::open(dir.path(), options()).unwrap();
    for i in 0..3 {
        writer.append(&batch(&format!("b{i}"), 100, DAY0)).unwrap();
        writer.flush().unwrap();
    }
    assert_eq!(writer.stats().segments, 3);

    let reader = Store::open_read_only(dir.path()).unwrap();
    let stale = reader.snapshot();
    assert_eq!(writer.compact_all().unwrap(), 3);
    assert_eq!(writer.stats().segments, 1);

    let err = planned_rows(&stale, &ScanFilter::all()).unwrap_err();
    assert!(matches!(err, Error::StaleSnapshot { .. }), "{err}");
    assert!(err.to_string().contains("open the store again"), "{err}");

    let fresh = Store::open_read_only(dir.path()).unwrap();
    assert_eq!(
        planned_rows(&fresh.snapshot(), &ScanFilter::all()).unwrap(),
        300
    );
    assert_eq!(fresh.stats().segments, 1);
    assert_eq!(fresh.stats().segment_rows, 300);
}

#[test]
fn a_lost_segment_still_listed_is_missing_not_stale() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), options()).unwrap();
        store.append(&batch("a", 100, DAY0)).unwrap();
        store.flush().unwrap();
    }
    let reader = Store::open_read_only(dir.path()).unwrap();
    std::fs::remove_file(&segment_files(dir.path())[0]).unwrap();
    let err = planned_rows(&reader.snapshot(), &ScanFilter::all()).unwrap_err();
    assert!(matches!(err, Error::MissingSegment { .. }), "{err}");
}

#[test]
fn compact_all_merges_every_partition_below_the_threshold_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    for i in 0..3 {
        store.append(&batch(&format!("x{i}"), 50, DAY0)).unwrap();
        store
            .append(&batch(&format!("y{i}"), 40, DAY0 + 1))
            .unwrap();
        store.flush().unwrap();
    }
    assert_eq!(store.stats().segments, 6);
    assert_eq!(
        store.compact().unwrap(),
        0,
        "below the background threshold"
    );
    assert_eq!(store.compact_all().unwrap(), 6);
    let stats = store.stats();
    assert_eq!((stats.segments, stats.segment_rows), (2, 270));
    assert!(stats.partitions.iter().all(|p| p.2 == 1));
    assert_eq!(store.compact_all().unwrap(), 0, "nothing left to merge");
    drop(store);
    // Every id is still deduplicated after the merge.
    let store = Store::open(dir.path(), options()).unwrap();
    let again = store.append(&batch("x1", 50, DAY0)).unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 50));
}
