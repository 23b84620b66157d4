//! The memtable flushes in the background by size and by age; concurrent appenders (sharing WAL
//! fsyncs) all get their rows stored exactly once; queries see acknowledged rows wherever they
//! are (memtable, frozen memtable, segments).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

mod common;

use std::time::{Duration, Instant};

use adstore_storage::{Store, StoreOptions};
use common::{DAY0, id_counts, ids, impressions};

/// Polls `f` until it holds; fails after a generous deadline (a hang, not a speed check).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !f() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_old_memtable_is_flushed_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            flush_age: Duration::from_millis(200),
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store
        .append(&impressions(&ids("age", 0..100), DAY0))
        .unwrap();
    eventually("age flush", || store.stats().segments > 0);
    assert_eq!(store.stats().memtable_rows, 0);
    assert_eq!(id_counts(&store.snapshot()).len(), 100);
}

#[test]
fn a_full_memtable_is_flushed_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            flush_rows: 1_000,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    for b in 0..5 {
        store
            .append(&impressions(&ids(&format!("s{b}"), 0..400), DAY0))
            .unwrap();
    }
    eventually("size flush", || store.stats().segment_rows >= 1_000);
    // Whatever has been flushed or not, every acknowledged row is visible once.
    let counts = id_counts(&store.snapshot());
    assert_eq!(counts.len(), 2_000);
    assert!(counts.values().all(|&n| n == 1));
}

#[test]
fn concurrent_appenders_with_overlapping_ids_store_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            flush_rows: 5_000,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let appends = 4 * 40;
    std::thread::scope(|s| {
        for t in 0..4 {
            let store = &store;
            s.spawn(move || {
                for b in 0..40 {
                    // Threads overlap on half of their ids: each id must land exactly once.
                    let start = (t * 40 + b) * 100;
                    store
                        .append(&impressions(&ids("c", start..start + 200), DAY0))
                        .unwrap();
                }
            });
        }
    });
    let stats = store.stats();
    eprintln!("{appends} appends, {} WAL fsyncs", stats.wal_fsyncs);
    assert_eq!(stats.accepted + stats.duplicates, appends as u64 * 200);
    let counts = id_counts(&store.snapshot());
    assert_eq!(counts.len(), 160 * 100 + 100);
    assert!(counts.values().all(|&n| n == 1));
    drop(store);
    let reopened = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let again = id_counts(&reopened.snapshot());
    let extra: Vec<_> = again
        .iter()
        .filter(|(k, v)| counts.get(*k) != Some(v))
        .take(5)
        .collect();
    let lost: Vec<_> = counts
        .keys()
        .filter(|k| !again.contains_key(*k))
        .take(5)
        .collect();
    assert_eq!(
        again.len(),
        counts.len(),
        "after reopen: extra/changed {extra:?}, lost {lost:?}"
    );
    assert_eq!(again, counts);
}

#[test]
fn compaction_merges_a_partitions_segments_and_keeps_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        background_flush: false,
        bucket_count: 1,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options.clone()).unwrap();
    for b in 0..9 {
        store
            .append(&impressions(&ids(&format!("k{b}"), 0..300), DAY0))
            .unwrap();
        store.flush().unwrap();
    }
    assert_eq!(store.stats().segments, 9);
    let before = common::rows(&store);
    let old_snapshot = store.snapshot();
    assert_eq!(store.compact().unwrap(), 9);
    assert_eq!(store.stats().segments, 1);
    assert_eq!(common::rows(&store), before);
    // A snapshot taken before still reads the (unlinked) inputs.
    assert_eq!(id_counts(&old_snapshot).len(), 2_700);
    // Dedup still finds the ids, now in the merged segment; a reopen sees the same rows.
    let o = store
        .append(&impressions(&ids("k3", 0..300), DAY0))
        .unwrap();
    assert_eq!(o.duplicates, 300);
    drop(store);
    let reopened = Store::open(dir.path(), options).unwrap();
    assert_eq!(common::rows(&reopened), before);
    let files = std::fs::read_dir(dir.path().join("segments"))
        .unwrap()
        .count();
    assert_eq!(files, 1, "compacted inputs are deleted");
}
