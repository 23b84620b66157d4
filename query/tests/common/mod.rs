//! Helpers of the query tests: stores whose rows are spread over several segments (small blocks)
//! and the memtable, the reference evaluator, engine results read back as values, and the
//! comparison (exact for integers and strings, 1e-9 relative for floats).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]
#![allow(dead_code)]

pub mod reference;
pub mod suite;

// The storage tests' helpers (their committed fixtures are opened here too).
#[path = "../../../storage/tests/common/mod.rs"]
mod storage_common;
#[allow(
    unused_imports,
    reason = "not every test crate that includes these helpers copies a fixture"
)]
pub use storage_common::copy_dir;

use adstore_query::value::Value;
use adstore_query::{ExecOptions, QueryResult, execute, parse_sql};
use adstore_storage::segment::SegmentOptions;
use adstore_storage::{
    ColumnData, ColumnId, Event, EventBatch, EventType, ReadContext, ScanFilter, Snapshot, Store,
    StoreOptions,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

/// A store holding `parts[0..n-1]` in segments (one flush each) and the last part in the
/// memtable, with `block_rows`-row blocks.
pub fn store_with(parts: &[&[Event]], block_rows: u32) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            background_flush: false,
            bucket_count: 4,
            segment: SegmentOptions {
                block_rows,
                ..SegmentOptions::default()
            },
            ..StoreOptions::default()
        },
    )
    .unwrap();
    for (i, part) in parts.iter().enumerate() {
        if !part.is_empty() {
            store
                .append(&EventBatch::from_events(part.iter().map(Event::as_ref)))
                .unwrap();
        }
        if i + 1 < parts.len() {
            store.flush().unwrap();
        }
    }
    (dir, store)
}

/// Every event of a snapshot, read back from storage.
pub fn all_events(snapshot: &Snapshot) -> Vec<Event> {
    let mut ctx = ReadContext::new().unwrap();
    let mut out = Vec::new();
    for unit in snapshot.plan(&ScanFilter::all(), &mut ctx).unwrap() {
        let cols = unit.read(&ColumnId::ALL, &mut ctx).unwrap();
        let s = |c: ColumnId, r: usize| cols[c.index()].str_at(r).unwrap().to_owned();
        let i = |c: ColumnId, r: usize| match &cols[c.index()] {
            ColumnData::I64(v) => v[r],
            other => panic!("{c}: {other:?}"),
        };
        let (ColumnData::EventType(types), ColumnData::Bool(won)) = (
            &cols[ColumnId::EventType.index()],
            &cols[ColumnId::Won.index()],
        ) else {
            panic!("event_type/won types")
        };
        for r in 0..unit.rows() {
            out.push(Event {
                event_id: s(ColumnId::EventId, r),
                event_type: types[r],
                ts: i(ColumnId::Ts, r),
                campaign_id: s(ColumnId::CampaignId, r),
                creative_id: s(ColumnId::CreativeId, r),
                user_id: s(ColumnId::UserId, r),
                site: s(ColumnId::Site, r),
                country: s(ColumnId::Country, r),
                device: s(ColumnId::Device, r),
                os: s(ColumnId::Os, r),
                conversion_type: s(ColumnId::ConversionType, r),
                impression_id: s(ColumnId::ImpressionId, r),
                cost_micros: i(ColumnId::CostMicros, r),
                revenue_micros: i(ColumnId::RevenueMicros, r),
                bid_floor_micros: i(ColumnId::BidFloorMicros, r),
                bid_price_micros: i(ColumnId::BidPriceMicros, r),
                clearing_price_micros: i(ColumnId::ClearingPriceMicros, r),
                won: won[r],
            });
        }
    }
    out
}

fn cell(col: &dyn Array, row: usize) -> Value {
    if col.is_null(row) {
        return Value::Null;
    }
    match col.data_type() {
        DataType::Null => Value::Null,
        DataType::Boolean => Value::UInt(u64::from(col.as_boolean().value(row))),
        DataType::UInt8 => Value::UInt(col.as_primitive::<UInt8Type>().value(row).into()),
        DataType::UInt16 => Value::UInt(col.as_primitive::<UInt16Type>().value(row).into()),
        DataType::UInt32 => Value::UInt(col.as_primitive::<UInt32Type>().value(row).into()),
        DataType::UInt64 => Value::UInt(col.as_primitive::<UInt64Type>().value(row)),
        DataType::Int8 => Value::Int(col.as_primitive::<Int8Type>().value(row).into()),
        DataType::Int16 => Value::Int(col.as_primitive::<Int16Type>().value(row).into()),
        DataType::Int32 => Value::Int(col.as_primitive::<Int32Type>().value(row).into()),
        DataType::Int64 => Value::Int(col.as_primitive::<Int64Type>().value(row)),
        DataType::Float64 => Value::Float(col.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Value::Str(col.as_string::<i32>().value(row).to_owned()),
        DataType::Date32 => Value::Int(col.as_primitive::<Date32Type>().value(row).into()),
        DataType::Timestamp(TimeUnit::Second, _) => {
            Value::Int(col.as_primitive::<TimestampSecondType>().value(row))
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Value::Int(col.as_primitive::<TimestampMicrosecondType>().value(row))
        }
        other => panic!("unexpected result type {other}"),
    }
}

/// An engine result as rows of values.
pub fn values(result: &QueryResult) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    for b in &result.batches {
        let b: &RecordBatch = b;
        for r in 0..b.num_rows() {
            out.push(b.columns().iter().map(|c| cell(c.as_ref(), r)).collect());
        }
    }
    out
}

fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            (x.is_nan() && y.is_nan()) || x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
        }
        _ => a == b,
    }
}

/// Asserts the engine's rows equal the reference's (floats within 1e-9 relative).
pub fn assert_same(sql: &str, engine: &[Vec<Value>], reference: &[Vec<Value>]) {
    assert_eq!(
        engine.len(),
        reference.len(),
        "{sql}\nrow count differs\nengine: {engine:?}\nreference: {reference:?}"
    );
    for (i, (e, r)) in engine.iter().zip(reference).enumerate() {
        assert!(
            e.len() == r.len() && e.iter().zip(r).all(|(a, b)| close(a, b)),
            "{sql}\nrow {i} differs\nengine:    {e:?}\nreference: {r:?}"
        );
    }
}

/// Runs `sql` on the engine (with `threads` workers) and on the reference, and compares.
pub fn check(sql: &str, snapshot: &Snapshot, events: &[Event], threads: usize) -> Vec<Vec<Value>> {
    let query = parse_sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let result = execute(snapshot, &query, &ExecOptions { threads })
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let engine = values(&result);
    let reference = reference::answer(&query, events);
    assert_same(sql, &engine, &reference);
    engine
}

/// 2025-11-22T00:00:00Z in µs.
pub const DAY0: i64 = 20_414 * 86_400 * 1_000_000;

/// `n` random events over three days, from small domains so that filters and groups hit.
pub fn random_events(rng: &mut impl rand::Rng, n: usize, tag: &str) -> Vec<Event> {
    const CAMPAIGNS: [&str; 6] = ["cmp-1", "cmp-2", "cmp-3", "cmp-10", "cmp-11", "x"];
    const COUNTRIES: [&str; 5] = ["US", "DE", "FR", "", "JP"];
    const DEVICES: [&str; 4] = ["mobile", "desktop", "ctv", ""];
    (0..n)
        .map(|i| {
            let event_type = EventType::ALL[rng.random_range(0..4)];
            let bid = event_type == EventType::BidRequest;
            Event {
                event_id: format!("{tag}-{i:05}"),
                event_type,
                ts: DAY0 + rng.random_range(0..3 * 86_400_000_000i64),
                campaign_id: CAMPAIGNS[rng.random_range(0..CAMPAIGNS.len())].into(),
                creative_id: format!("cr-{}", rng.random_range(0..3)),
                user_id: format!("u-{}", rng.random_range(0..25)),
                site: format!("site-{}.example", rng.random_range(0..12)),
                country: COUNTRIES[rng.random_range(0..COUNTRIES.len())].into(),
                device: DEVICES[rng.random_range(0..DEVICES.len())].into(),
                os: ["ios", "android"][rng.random_range(0..2)].into(),
                conversion_type: if event_type == EventType::Conversion {
                    "purchase".into()
                } else {
                    String::new()
                },
                impression_id: String::new(),
                cost_micros: if rng.random_bool(0.2) {
                    0
                } else {
                    rng.random_range(0..5_000_000)
                },
                revenue_micros: if event_type == EventType::Conversion {
                    rng.random_range(0..90_000_000)
                } else {
                    0
                },
                bid_floor_micros: if bid {
                    rng.random_range(0..3_000_000)
                } else {
                    0
                },
                bid_price_micros: if bid && rng.random_bool(0.7) {
                    rng.random_range(1..5_000_000)
                } else {
                    0
                },
                clearing_price_micros: if bid {
                    rng.random_range(0..4_000_000)
                } else {
                    0
                },
                won: bid && rng.random_bool(0.35),
            }
        })
        .collect()
}
