//! One writer per data directory; read-only opens work beside it, see every acknowledged event
//! (WAL included) and never modify the directory.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use adstore_storage::{Error, Store, StoreOptions};
use common::{DAY0, id_counts, ids, impressions};

fn listing(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    for entry in walk(dir) {
        let m = std::fs::metadata(&entry).unwrap();
        out.insert(
            entry.display().to_string(),
            (m.len(), m.modified().unwrap()),
        );
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_second_writer_is_refused_with_the_owners_pid() {
    let dir = tempfile::tempdir().unwrap();
    let _writer = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let err = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::Locked { pid, .. } if *pid == std::process::id().to_string()),
        "{err}"
    );
    assert!(err.to_string().contains(&std::process::id().to_string()));
}

#[test]
fn read_only_sees_acknowledged_events_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let writer = Store::open(
        dir.path(),
        StoreOptions {
            background_flush: false,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    writer
        .append(&impressions(&ids("seg", 0..1000), DAY0))
        .unwrap();
    writer.flush().unwrap();
    writer
        .append(&impressions(&ids("wal", 0..250), DAY0))
        .unwrap();
    let before = listing(dir.path());
    let reader = Store::open_read_only(dir.path()).unwrap();
    let counts = id_counts(&reader.snapshot());
    assert_eq!(counts.len(), 1250, "segments and WAL both visible");
    assert!(reader.append(&impressions(&ids("x", 0..1), DAY0)).is_err());
    drop(reader);
    assert_eq!(
        listing(dir.path()),
        before,
        "a read-only open modified the directory"
    );
    // And it keeps working while the writer goes on.
    writer
        .append(&impressions(&ids("more", 0..10), DAY0))
        .unwrap();
    assert_eq!(
        id_counts(&Store::open_read_only(dir.path()).unwrap().snapshot()).len(),
        1260
    );
}

#[test]
fn opening_a_directory_that_is_no_store_read_only_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open_read_only(dir.path()).unwrap_err();
    assert!(err.to_string().contains("no MANIFEST"), "{err}");
}
