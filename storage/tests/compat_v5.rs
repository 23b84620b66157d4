//! Format compatibility: a data directory written by segment format version 5 (site rollups;
//! WAL 2, manifest 2, schema 1), committed under `tests/fixtures/store-v5/`, still opens, reads
//! back the same events, and its rollups decode, check against the row blocks they cover and
//! hold the rows of the campaign they stand for.
//!
//! To re-create the fixture (only when a new format version is released, as a new folder):
//! `cargo test -p adstore-storage --test compat_v5 -- --ignored write_fixture`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::{Path, PathBuf};

use adstore_storage::segment::SegmentOptions;
use adstore_storage::{
    ColumnData, ColumnId, EventBatch, EventRef, EventType, ReadContext, ScanFilter, Store,
    StoreOptions,
};

const DAY0: i64 = 20_414 * 86_400 * 1_000_000;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v5")
}

/// Row `i`'s site: the first 400 rows are impressions of `cmp-0` over five sites (a run of
/// blocks that pays for a rollup), the others spread over types, two other campaigns and
/// sites.
fn site(i: i64) -> String {
    if i < 400 {
        format!("top-{}.example", i % 5)
    } else {
        format!("site-{:03}.example", i * 7_919 % 1_000)
    }
}

fn events(range: std::ops::Range<i64>) -> EventBatch {
    let sites: Vec<String> = range.clone().map(site).collect();
    let ids: Vec<String> = range.clone().map(|i| format!("fx5-{i:04}")).collect();
    let campaigns: Vec<String> = range
        .clone()
        .map(|i| format!("cmp-{}", if i < 400 { 0 } else { 1 + i % 2 }))
        .collect();
    let rows = range
        .clone()
        .zip(sites.iter().zip(ids.iter().zip(&campaigns)));
    EventBatch::from_events(rows.map(|(i, (site, (id, c)))| {
        let t = if i < 400 {
            EventType::Impression
        } else {
            EventType::ALL[(i % 4) as usize]
        };
        let mut e = EventRef::new(id, t, DAY0 + i * 1_000_000, c);
        e.user_id = "u-1";
        e.site = site;
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
                block_rows: 16,
                ..SegmentOptions::default()
            },
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.append(&events(0..600)).unwrap();
    store.flush().unwrap();
    drop(store);
    std::fs::remove_file(dir.join("LOCK")).unwrap();
}

#[test]
fn a_version_5_store_opens_and_its_site_rollups_check_against_their_blocks() {
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
        let mut rolled_up = 0;
        for segment in snapshot.segments().unwrap() {
            assert_eq!(segment.footer().format_version, 5);
            // Every CRC, and each rollup recomputed from the blocks it covers.
            segment.verify(&mut ctx).unwrap();
            let dict = segment.dictionary(ColumnId::Site, &mut ctx).unwrap();
            for i in 0..segment.rollups().len() {
                let rollup = segment.rollup(i, &mut ctx).unwrap();
                for (&code, &rows) in rollup.codes.iter().zip(&rollup.rows) {
                    assert!(dict.get(code as usize).starts_with("top-"));
                    rolled_up += rows;
                }
            }
        }
        // The 400 impressions of cmp-0 sort first: 25 whole blocks of 16 rows.
        assert_eq!(rolled_up, 400);
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
            seen.extend((0..cols[0].len()).map(|r| cols[0].str_at(r).unwrap().to_owned()));
        }
        seen.sort();
        let expected: Vec<String> = (0..600).map(|i| format!("fx5-{i:04}")).collect();
        assert_eq!(seen, expected);
        assert_eq!(cost, (0..600).map(|i| i * 10).sum::<i64>());
    }
}
