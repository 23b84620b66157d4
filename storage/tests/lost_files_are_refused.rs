//! A data directory that lost a file is refused, never "repaired" into data loss: a missing
//! MANIFEST beside segments and WAL files (a writer open used to start a new store and delete
//! every segment as an orphan), and a missing WAL file between the manifest's replay point and
//! the next file (a writer open used to drop its acknowledged events silently). Also: ids too
//! long for a segment are refused at append, and concurrent compactions never merge one
//! segment twice.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::Path;

use adstore_storage::schema::MICROS_PER_DAY;
use adstore_storage::{Error, EventBatch, EventRef, EventType, Store, StoreOptions};

fn batch(prefix: &str, n: usize) -> EventBatch {
    let ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    EventBatch::from_events(ids.iter().enumerate().map(|(i, id)| {
        EventRef::new(
            id,
            EventType::Impression,
            20_000 * MICROS_PER_DAY + i as i64,
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

fn files(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    v.sort();
    v
}

#[test]
fn a_missing_manifest_beside_data_is_refused_and_nothing_is_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    store.append(&batch("a", 100)).unwrap();
    store.flush().unwrap();
    store.append(&batch("b", 100)).unwrap();
    drop(store);
    let segments = files(&dir.path().join("segments"), "seg");
    assert_eq!(segments.len(), 1);
    std::fs::remove_file(dir.path().join("MANIFEST")).unwrap();

    let err = Store::open(dir.path(), options()).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { reason, .. } if reason.contains("MANIFEST is missing")),
        "{err}"
    );
    assert_eq!(files(&dir.path().join("segments"), "seg"), segments);
    assert!(Store::open_read_only(dir.path()).is_err());
}

#[test]
fn an_empty_directory_still_becomes_a_new_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("segments")).unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(store.append(&batch("a", 10)).unwrap().accepted, 10);
}

#[test]
fn a_missing_wal_file_after_the_replay_point_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    store.append(&batch("a", 100)).unwrap();
    drop(store);
    // A second session starts a new WAL file after the first one's records.
    let store = Store::open(dir.path(), options()).unwrap();
    store.append(&batch("b", 100)).unwrap();
    drop(store);
    let wal = files(&dir.path().join("wal"), "wal");
    assert!(wal.len() >= 2, "{wal:?}");
    std::fs::remove_file(&wal[0]).unwrap();

    let err = Store::open(dir.path(), options()).unwrap_err();
    assert!(
        matches!(&err, Error::Corrupt { reason, .. } if reason.contains("records in between are missing")),
        "{err}"
    );
}

#[test]
fn an_event_id_too_long_for_a_segment_is_refused_and_the_store_keeps_flushing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    let long = "x".repeat(adstore_storage::schema::MAX_EVENT_ID_BYTES + 1);
    let bad = EventBatch::from_events([EventRef::new(
        &long,
        EventType::Click,
        20_000 * MICROS_PER_DAY,
        "cmp-1",
    )]);
    let err = store.append(&bad).unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    store.append(&batch("ok", 10)).unwrap();
    store.flush().unwrap();
    assert_eq!(store.stats().segment_rows, 10);
}

#[test]
fn concurrent_compactions_merge_each_segment_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            compact_min_segments: 2,
            ..options()
        },
    )
    .unwrap();
    for round in 0..16 {
        store.append(&batch(&format!("r{round}"), 50)).unwrap();
        store.flush().unwrap();
    }
    assert_eq!(store.stats().segments, 16);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| store.compact().unwrap());
        }
    });
    let stats = store.stats();
    assert_eq!((stats.segments, stats.segment_rows), (1, 800));
    drop(store);
    let reopened = Store::open(dir.path(), options()).unwrap();
    assert_eq!(reopened.stats().segment_rows, 800);
}
