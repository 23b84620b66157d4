//! Format compatibility: a data directory written by segment format version 3 (dictionary codes
//! in tagged blocks of both layouts; WAL 2 with producer batches, manifest 2 with producer marks,
//! schema 1), committed under `tests/fixtures/store-v3/`, still opens, reads back the same
//! events with their dictionary columns, and keeps its producer marks.
//!
//! To re-create the fixture (only when a new format version is released, as a new folder):
//! `cargo test -p adstore-storage --test compat_v3 -- --ignored write_fixture`.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod common;

use std::path::{Path, PathBuf};

use adstore_storage::producer::ProducerAppend;
use adstore_storage::{
    ColumnData, ColumnId, EventBatch, EventRef, EventType, ReadContext, ScanFilter, ScanUnit,
    Store, StoreOptions,
};

const DAY0: i64 = 20_414 * 86_400 * 1_000_000;
const PRODUCER: &str = "fixture-agent";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v3")
}

fn site(i: i64) -> String {
    format!("site-{i:03}.example")
}

fn events(range: std::ops::Range<i64>) -> EventBatch {
    let sites: Vec<String> = range.clone().map(|i| site(i * 7_919 % 1_000)).collect();
    let ids: Vec<String> = range.clone().map(|i| format!("fx3-{i:04}")).collect();
    let campaigns: Vec<String> = range.clone().map(|i| format!("cmp-{}", i % 3)).collect();
    let rows = range
        .clone()
        .zip(sites.iter().zip(ids.iter().zip(&campaigns)));
    EventBatch::from_events(rows.map(|(i, (site, (id, c)))| {
        let t = EventType::ALL[(i % 4) as usize];
        let mut e = EventRef::new(id, t, DAY0 + i * 1_000_000, c);
        e.user_id = if i % 2 == 0 { "u-even" } else { "u-odd" };
        // `site`: hundreds of evenly spread values (codes in the integer layout); `country`:
        // one value but every 37th row (codes in the byte layout).
        e.site = site;
        e.country = if i % 37 == 0 { "DE" } else { "US" };
        e.cost_micros = i * 10;
        e.won = i % 5 == 0;
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
            bucket_count: 2,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store
        .append_with_producer(&events(0..300), PRODUCER, 1)
        .unwrap();
    store.flush().unwrap();
    // Stays in the WAL, as a producer batch.
    store
        .append_with_producer(&events(300..350), PRODUCER, 2)
        .unwrap();
    drop(store);
    std::fs::remove_file(dir.join("LOCK")).unwrap();
}

#[test]
fn a_version_3_store_opens_and_reads_back_its_events_and_dictionary_columns() {
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
        assert!(snapshot.segment_count() > 0, "the fixture has segments");
        assert!(
            !snapshot.memtable_chunks().is_empty(),
            "the fixture has WAL rows"
        );
        for segment in snapshot.segments().unwrap() {
            assert_eq!(segment.footer().format_version, 3);
            let sizes = segment.verify(&mut ReadContext::new().unwrap()).unwrap();
            let raw = |col| sizes.iter().find(|s| s.0 == col).unwrap().2;
            let (rows, blocks) = (segment.rows(), u64::from(segment.block_count()));
            // A tag byte per block, then: site's codes bit-packed below the byte layout's 2
            // bytes a row; country's one byte a row.
            assert!(
                raw(ColumnId::Site) < blocks + 2 * rows,
                "site in the integer layout"
            );
            assert_eq!(
                raw(ColumnId::Country),
                blocks + rows,
                "country in the byte layout"
            );
        }
        let mut ctx = ReadContext::new().unwrap();
        let mut seen = Vec::new();
        let mut cost = 0i64;
        for unit in snapshot.plan(&ScanFilter::all(), &mut ctx).unwrap() {
            let wanted = [
                ColumnId::EventId,
                ColumnId::CostMicros,
                ColumnId::Site,
                ColumnId::Country,
            ];
            let cols = unit.read(&wanted, &mut ctx).unwrap();
            let ColumnData::I64(c) = &cols[1] else {
                panic!("cost is i64")
            };
            cost += c.iter().sum::<i64>();
            for row in 0..cols[0].len() {
                let id = cols[0].str_at(row).unwrap();
                let i: i64 = id.trim_start_matches("fx3-").parse().unwrap();
                assert_eq!(
                    cols[2].str_at(row).unwrap(),
                    site(i * 7_919 % 1_000),
                    "{id}"
                );
                let country = if i % 37 == 0 { "DE" } else { "US" };
                assert_eq!(cols[3].str_at(row).unwrap(), country, "{id}");
                seen.push(id.to_owned());
            }
        }
        seen.sort();
        let expected: Vec<String> = (0..350).map(|i| format!("fx3-{i:04}")).collect();
        assert_eq!(seen, expected);
        assert_eq!(cost, (0..350).map(|i| i * 10).sum::<i64>());
        // Format 3's blooms (plain filters under one CRC for the whole area) still prune a
        // one-user plan, and keep every block holding the user.
        let one_user = |user: &str| ScanFilter::all().string_in(ColumnId::UserId, [user]);
        let mut evens = 0;
        for unit in snapshot.plan(&one_user("u-even"), &mut ctx).unwrap() {
            let cols = unit.read(&[ColumnId::UserId], &mut ctx).unwrap();
            evens += (0..cols[0].len())
                .filter(|&r| cols[0].str_at(r).unwrap() == "u-even")
                .count();
        }
        assert_eq!(evens, 175);
        let nobody = snapshot.plan(&one_user("u-nobody"), &mut ctx).unwrap();
        assert!(
            nobody.iter().all(|u| !matches!(u, ScanUnit::Block { .. })),
            "the blooms rule out every segment block"
        );
        if writer {
            // Both producer marks survived (the flushed one in the manifest, the other in the
            // WAL): a retry of either is applied as nothing.
            for seq in [1, 2] {
                let again = store
                    .append_with_producer(&events(0..1), PRODUCER, seq)
                    .unwrap();
                assert!(
                    matches!(again, ProducerAppend::AlreadyApplied { high_water: 2 }),
                    "sequence {seq}: {again:?}"
                );
            }
        }
    }
}
