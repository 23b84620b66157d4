//! `Store::append_with_producer` applies a (producer, sequence) once: a retry is refused while
//! the store is open, after a reopen (mark replayed from the WAL record), and after a flush and a
//! reopen (mark carried by the manifest); an empty batch still moves the mark.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use adstore_storage::{EventBatch, EventRef, EventType, ProducerAppend, Store, StoreOptions};

const TS: i64 = 1_750_000_000_000_000;

fn batch(prefix: &str, n: usize) -> EventBatch {
    let ids: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
    EventBatch::from_events(
        ids.iter()
            .map(|id| EventRef::new(id, EventType::Impression, TS, "cmp-1")),
    )
}

fn options() -> StoreOptions {
    StoreOptions {
        background_flush: false,
        ..StoreOptions::default()
    }
}

fn rows(store: &Store) -> u64 {
    let s = store.stats();
    s.segment_rows + s.memtable_rows
}

fn applied(r: ProducerAppend) -> u64 {
    match r {
        ProducerAppend::Applied(o) => o.accepted,
        ProducerAppend::AlreadyApplied { high_water } => panic!("already applied ({high_water})"),
    }
}

#[test]
fn a_sequence_is_applied_once_across_reopen_and_flush() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(store.producer_high_water("agent"), None);
    assert_eq!(
        applied(
            store
                .append_with_producer(&batch("a", 10), "agent", 1)
                .unwrap()
        ),
        10
    );
    // Same sequence, different rows: refused as a whole, nothing stored.
    assert_eq!(
        store
            .append_with_producer(&batch("b", 5), "agent", 1)
            .unwrap(),
        ProducerAppend::AlreadyApplied { high_water: 1 }
    );
    // Another producer has its own sequence space.
    assert_eq!(
        applied(
            store
                .append_with_producer(&batch("c", 3), "other", 1)
                .unwrap()
        ),
        3
    );
    assert_eq!(rows(&store), 13);
    drop(store);

    // Replayed from the WAL record.
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(store.producer_high_water("agent"), Some(1));
    assert!(matches!(
        store
            .append_with_producer(&batch("b", 5), "agent", 1)
            .unwrap(),
        ProducerAppend::AlreadyApplied { high_water: 1 }
    ));
    store.flush().unwrap();
    // An all-duplicate (here empty) request still moves the mark, durably.
    assert_eq!(
        applied(
            store
                .append_with_producer(&EventBatch::new(), "agent", 2)
                .unwrap()
        ),
        0
    );
    drop(store);

    // Sequence 1 from the manifest (its WAL file is gone after the flush), 2 from the WAL.
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(store.producer_high_water("agent"), Some(2));
    assert_eq!(store.producer_high_water("other"), Some(1));
    for seq in [1, 2] {
        assert!(matches!(
            store
                .append_with_producer(&batch("d", 4), "agent", seq)
                .unwrap(),
            ProducerAppend::AlreadyApplied { high_water: 2 }
        ));
    }
    assert_eq!(
        applied(
            store
                .append_with_producer(&batch("d", 4), "agent", 3)
                .unwrap()
        ),
        4
    );
    assert_eq!(rows(&store), 17);
    store.close().unwrap();

    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(store.producer_high_water("agent"), Some(3));
    assert_eq!(rows(&store), 17);
}

#[test]
fn concurrent_retries_of_one_sequence_apply_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    let results: Vec<ProducerAppend> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let store = &store;
                s.spawn(move || {
                    store
                        .append_with_producer(&batch(&format!("t{i}"), 20), "agent", 7)
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let applied_count = results
        .iter()
        .filter(|r| matches!(r, ProducerAppend::Applied(_)))
        .count();
    assert_eq!(applied_count, 1);
    assert_eq!(rows(&store), 20);
}

#[test]
fn bad_producer_ids_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    assert!(store.append_with_producer(&batch("a", 1), "", 1).is_err());
    assert!(
        store
            .append_with_producer(&batch("a", 1), &"p".repeat(300), 1)
            .is_err()
    );
    assert_eq!(rows(&store), 0);
}
