//! Dedup: a resent event_id within the window is dropped and counted, never stored twice: within
//! a batch, across batches, after a flush, after a restart; just inside the window it is caught,
//! just outside it is stored as `late_unchecked`. With 2-bit fingerprints and 1-bit-per-key blooms
//! (collisions everywhere), not one distinct event is dropped.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

mod common;

use adstore_storage::schema::MICROS_PER_DAY;
use adstore_storage::segment::SegmentOptions;
use adstore_storage::{Store, StoreOptions};
use common::{DAY0, id_counts, ids, impressions};

fn options() -> StoreOptions {
    StoreOptions {
        background_flush: false,
        ..StoreOptions::default()
    }
}

#[test]
fn duplicates_within_a_batch_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    let mut list = ids("e", 0..100);
    list.extend(ids("e", 50..60));
    let outcome = store.append(&impressions(&list, DAY0)).unwrap();
    assert_eq!((outcome.accepted, outcome.duplicates), (100, 10));
    assert_eq!(id_counts(&store.snapshot()).len(), 100);
}

#[test]
fn duplicates_across_batches_flushes_and_restarts_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), options()).unwrap();
        assert_eq!(
            store
                .append(&impressions(&ids("a", 0..500), DAY0))
                .unwrap()
                .accepted,
            500
        );
        // Across batches, memtable.
        let o = store
            .append(&impressions(&ids("a", 400..600), DAY0))
            .unwrap();
        assert_eq!((o.accepted, o.duplicates), (100, 100));
        store.flush().unwrap();
        // After a flush: the originals are in segments now.
        let o = store
            .append(&impressions(&ids("a", 550..700), DAY0 + 5))
            .unwrap();
        assert_eq!((o.accepted, o.duplicates), (100, 50));
        assert_eq!(store.stats().duplicates, 150);
    }
    // After a restart: half of the ids are in segments, half only in the WAL.
    let store = Store::open(dir.path(), options()).unwrap();
    let o = store
        .append(&impressions(&ids("a", 0..800), DAY0 + 9))
        .unwrap();
    assert_eq!((o.accepted, o.duplicates), (100, 700));
    let counts = id_counts(&store.snapshot());
    assert_eq!(counts.len(), 800);
    assert!(counts.values().all(|&n| n == 1));
}

#[test]
fn the_window_edge_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    let window = 7 * MICROS_PER_DAY;
    let now = DAY0 + 10 * MICROS_PER_DAY;
    let inside = now - window;
    let outside = now - window - 1;
    store
        .append(&impressions(&ids("in", 0..10), inside))
        .unwrap();
    store
        .append(&impressions(&ids("out", 0..10), outside))
        .unwrap();
    store.append(&impressions(&ids("now", 0..10), now)).unwrap(); // the watermark moves to `now`
    store.flush().unwrap();
    let o = store
        .append(&impressions(&ids("in", 0..10), inside))
        .unwrap();
    assert_eq!(
        (o.accepted, o.duplicates, o.late_unchecked),
        (0, 10, 0),
        "just inside the window: checked"
    );
    let o = store
        .append(&impressions(&ids("out2", 0..10), outside))
        .unwrap();
    assert_eq!(
        (o.accepted, o.late_unchecked),
        (10, 10),
        "just outside: stored, counted late"
    );
    // A resend just outside the window is stored again, and counted as such (never silently).
    let o = store
        .append(&impressions(&ids("out", 0..10), outside))
        .unwrap();
    assert_eq!((o.accepted, o.duplicates, o.late_unchecked), (10, 0, 10));
    assert_eq!(store.stats().late_unchecked, 20);
}

#[test]
fn colliding_fingerprints_and_tiny_blooms_never_drop_a_distinct_event() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = StoreOptions {
        dedup_fingerprint_bits: 2,
        segment: SegmentOptions {
            bloom_bits_per_key: 1.0,
            block_rows: 64,
            ..SegmentOptions::default()
        },
        ..options()
    };
    let mut expected = 0usize;
    {
        let store = Store::open(dir.path(), tiny.clone()).unwrap();
        for round in 0..6 {
            let batch_ids = ids(&format!("r{round}"), 0..300);
            let o = store
                .append(&impressions(&batch_ids, DAY0 + round))
                .unwrap();
            assert_eq!(o.accepted, 300, "round {round}: distinct events dropped");
            expected += 300;
            if round % 2 == 1 {
                store.flush().unwrap();
            }
            // Every id resent: every one must be found, via collisions, blooms and sorted keys.
            let o = store
                .append(&impressions(&batch_ids, DAY0 + round))
                .unwrap();
            assert_eq!((o.accepted, o.duplicates), (0, 300));
        }
    }
    let store = Store::open(dir.path(), tiny).unwrap();
    let o = store
        .append(&impressions(&ids("fresh", 0..300), DAY0))
        .unwrap();
    assert_eq!(o.accepted, 300);
    let counts = id_counts(&store.snapshot());
    assert_eq!(counts.len(), expected + 300);
    assert!(counts.values().all(|&n| n == 1));
}
