//! Hand-checked answers of small queries over a store whose rows are split between a segment
//! and the memtable, result types, and errors with positions.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

use adstore_query::{Error, ExecOptions, execute, parse_sql};
use adstore_storage::{EventBatch, EventRef, EventType, Store, StoreOptions};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_schema::DataType;

/// 2025-11-22T00:00:00Z in µs.
const DAY0: i64 = 20_414 * 86_400 * 1_000_000;
const HOUR: i64 = 3_600_000_000;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            background_flush: false,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let ids: Vec<String> = (0..40).map(|i| format!("e{i:03}")).collect();
    let batch = |range: std::ops::Range<usize>| {
        let mut b = EventBatch::new();
        for i in range {
            let t = match i % 10 {
                0..=5 => EventType::Impression,
                6 => EventType::Click,
                7 => EventType::Conversion,
                _ => EventType::BidRequest,
            };
            let mut e = EventRef::new(&ids[i], t, DAY0 + (i as i64) * HOUR, ["c1", "c2"][i % 2]);
            e.user_id = ["u1", "u2", "u3"][i % 3];
            e.country = if i % 4 == 0 { "US" } else { "DE" };
            e.cost_micros = if t == EventType::Impression { 1_000 } else { 0 };
            e.revenue_micros = if t == EventType::Conversion {
                50_000
            } else {
                0
            };
            e.won = t == EventType::BidRequest && i % 3 == 0;
            b.push(&e);
        }
        b
    };
    store.append(&batch(0..30)).unwrap();
    store.flush().unwrap();
    store.append(&batch(30..40)).unwrap();
    (dir, store)
}

fn run(store: &Store, sql: &str) -> adstore_query::QueryResult {
    let q = parse_sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    execute(&store.snapshot(), &q, &ExecOptions::default()).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn totals_see_segments_and_memtable() {
    let (_d, s) = store();
    let r = run(
        &s,
        "SELECT count() AS n, countIf(event_type = 'impression') AS imps, sum(cost_micros) AS spend, \
         countIf(won) AS wins FROM events",
    );
    assert_eq!(r.num_rows(), 1);
    let b = &r.batches[0];
    assert_eq!(b.column(0).as_primitive::<UInt64Type>().value(0), 40);
    assert_eq!(b.column(1).as_primitive::<UInt64Type>().value(0), 24);
    assert_eq!(b.column(2).data_type(), &DataType::Int64);
    assert_eq!(
        b.column(2)
            .as_primitive::<arrow_array::types::Int64Type>()
            .value(0),
        24_000
    );
    // Bid requests at i % 10 in {8, 9} with i % 3 == 0: 9, 18, 39.
    assert_eq!(b.column(3).as_primitive::<UInt64Type>().value(0), 3);
}

#[test]
fn group_by_alias_and_guarded_ratio() {
    let (_d, s) = store();
    let r = run(
        &s,
        "SELECT campaign_id AS c, countIf(event_type = 'impression') AS imps, \
         countIf(event_type = 'click') AS clicks, clicks / nullIf(imps, 0) AS ctr, roas() \
         FROM events WHERE country IN ('US', 'DE') GROUP BY c ORDER BY c DESC",
    );
    let b = &r.batches[0];
    assert_eq!(b.num_rows(), 2);
    assert_eq!(b.column(0).as_string::<i32>().value(0), "c2");
    // c2 = odd i: impressions at i%10 in {1,3,5}: 12; clicks (i%10 == 6) are even: none.
    assert_eq!(b.column(1).as_primitive::<UInt64Type>().value(0), 12);
    assert_eq!(b.column(2).as_primitive::<UInt64Type>().value(0), 0);
    let ctr = b.column(3).as_primitive::<Float64Type>();
    assert_eq!(ctr.value(0), 0.0);
    assert!(r.schema.field(3).is_nullable());
    // c1: impressions at i%10 in {0,2,4}: 12, clicks 4.
    assert!((ctr.value(1) - 4.0 / 12.0).abs() < 1e-12);
    // roas of c2: conversions (i%10 == 7) are odd, revenue 4 * 50_000 over cost 12 * 1_000.
    let roas = b.column(4).as_primitive::<Float64Type>();
    assert!((roas.value(0) - 200_000.0 / 12_000.0).abs() < 1e-9);
}

#[test]
fn rows_ordered_with_limit_and_time_literals() {
    let (_d, s) = store();
    let r = run(
        &s,
        "SELECT event_id, event_type, ts FROM events \
         WHERE ts >= '2025-11-22 10:00:00' AND user_id = 'u2' ORDER BY ts DESC LIMIT 3",
    );
    let b = &r.batches[0];
    let ids: Vec<&str> = (0..b.num_rows())
        .map(|i| b.column(0).as_string::<i32>().value(i))
        .collect();
    assert_eq!(ids, ["e037", "e034", "e031"]);
    assert_eq!(b.column(1).as_string::<i32>().value(0), "conversion");
    assert!(matches!(
        b.column(2).data_type(),
        DataType::Timestamp(arrow_schema::TimeUnit::Microsecond, Some(_))
    ));
}

#[test]
fn hourly_buckets() {
    let (_d, s) = store();
    let r = run(
        &s,
        "SELECT toUnixTimestamp(toStartOfHour(ts)) AS h, count() FROM events \
         WHERE ts BETWEEN toDateTime('2025-11-22 00:00:00') AND '2025-11-22 02:59:59' \
         GROUP BY h ORDER BY h",
    );
    let b = &r.batches[0];
    assert_eq!(b.num_rows(), 3);
    assert_eq!(b.column(0).data_type(), &DataType::UInt32);
    assert_eq!(
        b.column(0)
            .as_primitive::<arrow_array::types::UInt32Type>()
            .value(1),
        1_763_773_200
    );
}

#[test]
fn unsupported_constructs_name_their_position() {
    for (sql, what) in [
        ("SELECT count() FROM events JOIN x ON 1", "JOIN"),
        ("SELECT toMonday(ts) FROM events", "toMonday"),
        ("SELECT a FROM events", "unknown identifier"),
        ("SELECT DISTINCT campaign_id FROM events", "DISTINCT"),
        (
            "SELECT count() FROM events WHERE site IS NULL",
            "IS [NOT] NULL",
        ),
    ] {
        let err = parse_sql(sql).map(|_| ()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(what), "{sql}: {msg}");
        if !matches!(err, Error::Syntax(_)) {
            assert!(msg.contains("line 1, column"), "{sql}: {msg}");
        }
    }
}

#[test]
fn null_producing_row_expressions_are_refused_not_miscounted() {
    let (_d, s) = store();
    // count(x) counts non-NULL x; a NULL-producing argument is refused rather than miscounted.
    let q = parse_sql("SELECT count(nullIf(cost_micros, 0)) FROM events").unwrap();
    let err = execute(&s.snapshot(), &q, &ExecOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
    let r = run(&s, "SELECT count(cost_micros), count(*) FROM events");
    let b = &r.batches[0];
    assert_eq!(b.column(0).as_primitive::<UInt64Type>().value(0), 40);
    assert_eq!(b.column(1).as_primitive::<UInt64Type>().value(0), 40);
}

#[test]
fn having_filters_groups() {
    let (_d, s) = store();
    let r = run(
        &s,
        "SELECT campaign_id, countIf(event_type = 'click') AS clicks FROM events \
         GROUP BY campaign_id HAVING clicks > 0 ORDER BY campaign_id",
    );
    // Clicks are at even i only: campaign c1.
    assert_eq!(r.num_rows(), 1);
    assert_eq!(r.batches[0].column(0).as_string::<i32>().value(0), "c1");
    let r = run(&s, "SELECT count() FROM events HAVING count() > 1000");
    assert_eq!(r.num_rows(), 0);
}
