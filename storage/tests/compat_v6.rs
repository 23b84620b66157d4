//! Format compatibility: a data directory written by segment format version 6 (numbered
//! string blocks; site rollups; WAL 2, manifest 2, schema 1), committed under
//! `tests/fixtures/store-v6/`, still opens, reads back the same events, and a one-user match
//! over its numbered `user_id` blocks finds exactly that user's rows.
//!
//! To re-create the fixture (only when a new format version is released, as a new folder):
//! `cargo test -p adstore-storage --test compat_v6 -- --ignored write_fixture`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::{Path, PathBuf};

use adstore_storage::segment::SegmentOptions;
use adstore_storage::{
    ColumnId, EventBatch, EventRef, EventType, ReadContext, ScanFilter, ScanUnit, Store,
    StoreOptions,
};

const DAY0: i64 = 20_414 * 86_400 * 1_000_000;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v6")
}

/// Row `i`'s user: a counter-minted id, so `user_id` blocks take the numbered layout.
fn user(i: i64) -> String {
    format!("u-{}", i * 7 % 50)
}

fn events(range: std::ops::Range<i64>) -> EventBatch {
    let users: Vec<String> = range.clone().map(user).collect();
    let ids: Vec<String> = range.clone().map(|i| format!("fx6-{i:04}")).collect();
    let campaigns: Vec<String> = range.clone().map(|i| format!("cmp-{}", i % 3)).collect();
    let rows = range
        .clone()
        .zip(users.iter().zip(ids.iter().zip(&campaigns)));
    EventBatch::from_events(rows.map(|(i, (user, (id, c)))| {
        let mut e = EventRef::new(
            id,
            EventType::ALL[(i % 4) as usize],
            DAY0 + i * 1_000_000,
            c,
        );
        e.user_id = user;
        e.site = "news.example.com";
        e.cost_micros = i * 10;
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
            bucket_count: 1,
            segment: SegmentOptions {
                block_rows: 64,
                ..SegmentOptions::default()
            },
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.append(&events(0..300)).unwrap();
    store.flush().unwrap();
    drop(store);
    std::fs::remove_file(dir.join("LOCK")).unwrap();
}

#[test]
fn a_version_6_store_opens_and_matches_one_user_over_numbered_blocks() {
    // Open a copy: a writer open would truncate and add files.
    let tmp = tempfile::tempdir().unwrap();
    common::copy_dir(&fixture(), tmp.path());
    for writer in [false, true] {
        let store = if writer {
            Store::open(tmp.path(), StoreOptions::default()).unwrap()
        } else {
            Store::open_read_only(tmp.path()).unwrap()
        };
        let snapshot = store.snapshot();
        let mut ctx = ReadContext::new().unwrap();
        for segment in snapshot.segments().unwrap() {
            assert_eq!(segment.footer().format_version, 6);
            segment.verify(&mut ctx).unwrap();
        }
        let mut seen = Vec::new();
        let mut matched = 0;
        for unit in snapshot.plan(&ScanFilter::all(), &mut ctx).unwrap() {
            let cols = unit
                .read(&[ColumnId::EventId, ColumnId::UserId], &mut ctx)
                .unwrap();
            for r in 0..cols[0].len() {
                let id = cols[0].str_at(r).unwrap();
                let i: i64 = id.trim_start_matches("fx6-").parse().unwrap();
                assert_eq!(cols[1].str_at(r).unwrap(), user(i), "{id}");
                seen.push(id.to_owned());
            }
            if let ScanUnit::Block { segment, block } = &unit {
                let mask = segment
                    .match_strings(ColumnId::UserId, *block, &["u-7", "u-07"], &mut ctx)
                    .unwrap();
                matched += mask.iter().filter(|&&m| m).count();
            }
        }
        seen.sort();
        let expected: Vec<String> = (0..300).map(|i| format!("fx6-{i:04}")).collect();
        assert_eq!(seen, expected);
        assert_eq!(matched, (0..300).filter(|&i| user(i) == "u-7").count());
    }
}
