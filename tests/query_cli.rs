//! `adstore query` end to end: the real binary on a real data directory (segments and WAL), every
//! output format, and a one-line error with a non-zero exit for unsupported SQL; `adstore compact`
//! merges a partition's segments (and the WAL's rows) into one, and the answers stay the same.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

use std::process::Command;

use adstore_storage::{EventBatch, EventRef, EventType, Store, StoreOptions};

/// 2025-11-22T00:00:00Z in µs.
const DAY0: i64 = 20_414 * 86_400 * 1_000_000;

fn store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            background_flush: false,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let ids: Vec<String> = (0..6).map(|i| format!("e{i}")).collect();
    let mut b = EventBatch::new();
    for (i, id) in ids.iter().enumerate() {
        let t = if i < 4 {
            EventType::Impression
        } else {
            EventType::Click
        };
        let mut e = EventRef::new(id, t, DAY0 + i as i64 * 1_000_123, "cmp-1");
        e.cost_micros = 250;
        b.push(&e);
    }
    store.append(&b).unwrap();
    store.flush().unwrap();
    let mut late = EventBatch::new();
    late.push(&EventRef::new("late", EventType::Click, DAY0, "cmp-2"));
    store.append(&late).unwrap();
    // Dropped without close: the last event is only in the WAL.
    drop(store);
    dir
}

fn query(dir: &std::path::Path, format: &str, sql: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_adstore"))
        .args(["query", "--data"])
        .arg(dir)
        .args(["--format", format, sql])
        .output()
        .unwrap()
}

#[test]
fn json_csv_table_and_arrow() {
    let dir = store();
    let sql = "SELECT campaign_id, count() AS n, ctr() AS ctr, min(ts) AS first \
               FROM events GROUP BY campaign_id ORDER BY campaign_id";
    let out = query(dir.path(), "json", sql);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"campaign_id\":\"cmp-1\",\"n\":6,\"ctr\":0.5,\"first\":\"2025-11-22 00:00:00.000000\"}\n\
         {\"campaign_id\":\"cmp-2\",\"n\":1,\"ctr\":null,\"first\":\"2025-11-22 00:00:00.000000\"}\n"
    );
    let out = query(dir.path(), "csv", sql);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "campaign_id,n,ctr,first\ncmp-1,6,0.5,2025-11-22 00:00:00.000000\ncmp-2,1,\\N,2025-11-22 00:00:00.000000\n"
    );
    let out = query(dir.path(), "table", sql);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("cmp-2       | 1 | NULL"), "{text}");
    let out = query(dir.path(), "arrow", sql);
    let reader = arrow_ipc::reader::StreamReader::try_new(&out.stdout[..], None).unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 2);
}

#[test]
fn unsupported_sql_fails_with_one_line() {
    let dir = store();
    let out = query(
        dir.path(),
        "table",
        "SELECT count() FROM events GROUP BY ROLLUP(site)",
    );
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("adstore: "), "{err}");
}

#[test]
fn compact_merges_each_partition_into_one_segment_and_keeps_the_answers() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(
            dir.path(),
            StoreOptions {
                background_flush: false,
                ..StoreOptions::default()
            },
        )
        .unwrap();
        for flush in 0..3 {
            let ids: Vec<String> = (0..50).map(|i| format!("f{flush}-{i}")).collect();
            let mut b = EventBatch::new();
            for (i, id) in ids.iter().enumerate() {
                let mut e = EventRef::new(id, EventType::Impression, DAY0 + i as i64, "cmp-1");
                e.cost_micros = 10 + i as i64;
                b.push(&e);
            }
            store.append(&b).unwrap();
            store.flush().unwrap();
        }
        let mut wal_only = EventBatch::new();
        wal_only.push(&EventRef::new("w", EventType::Click, DAY0 + 7, "cmp-1"));
        store.append(&wal_only).unwrap();
        // Dropped without close: the click is only in the WAL.
    }
    let sql = "SELECT event_type, count() AS n, sum(cost_micros) AS spend FROM events \
               GROUP BY event_type ORDER BY event_type";
    let before = query(dir.path(), "csv", sql);
    assert!(before.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_adstore"))
        .args(["compact", "--data"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 3 segments, plus the one the WAL's click is flushed into, merged into 1.
    assert!(
        stdout.contains("3 segments before, 4 merged away, 1 segments (1 partitions, 151 rows)"),
        "{stdout}"
    );
    let after = query(dir.path(), "csv", sql);
    assert!(after.status.success());
    assert_eq!(after.stdout, before.stdout);
    assert_eq!(
        String::from_utf8_lossy(&after.stdout),
        "event_type,n,spend\nimpression,150,5175\nclick,1,0\n"
    );
}
