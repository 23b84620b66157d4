//! Retention drops whole expired days from the manifest and the disk, keeps the rest, and a
//! reopen agrees.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use adstore_storage::schema::MICROS_PER_DAY;
use adstore_storage::{EventBatch, EventRef, EventType, Store, StoreOptions};

fn day_batch(day: i64, n: usize) -> EventBatch {
    let ids: Vec<String> = (0..n).map(|i| format!("d{day}-{i}")).collect();
    EventBatch::from_events(
        ids.iter()
            .map(|id| EventRef::new(id, EventType::Impression, day * MICROS_PER_DAY + 5, "cmp-1")),
    )
}

#[test]
fn expired_days_are_dropped_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        background_flush: false,
        ..StoreOptions::default()
    };
    let store = Store::open(dir.path(), options.clone()).unwrap();
    for day in 20_000..20_004 {
        store.append(&day_batch(day, 50)).unwrap();
    }
    store.flush().unwrap();
    assert_eq!(store.stats().segments, 4);
    assert_eq!(store.drop_days_before(20_002).unwrap(), 2);
    let stats = store.stats();
    assert_eq!((stats.segments, stats.segment_rows), (2, 100));
    assert!(stats.partitions.iter().all(|(p, ..)| p.day >= 20_002));
    assert_eq!(
        std::fs::read_dir(dir.path().join("segments"))
            .unwrap()
            .count(),
        2
    );
    drop(store);
    let reopened = Store::open(dir.path(), options).unwrap();
    assert_eq!(reopened.stats().segment_rows, 100);
}
