//! Blocks answered from their statistics (`exec/meta.rs`) checked against the row-at-a-time
//! reference evaluator: WHERE clauses decided per block (constant columns, `ts` ranges that
//! cover or miss a block), blocks folded from min/max/sum alone, and blocks of one campaign split
//! into runs of `ts` for time-bucket keys; with wrapping sums, averages, min/max, blocks that
//! straddle campaigns, event types and hours, memtable rows beside segments, and a version 1
//! segment (no stored sums, no sort-order guarantee).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

mod common;

use adstore_query::{ExecOptions, ExecStats, Snapshot, execute, parse_sql};
use adstore_storage::{Event, Store};
use rand::SeedableRng;
use rand::rngs::StdRng;

use common::{DAY0, all_events, assert_same, random_events, reference, store_with, values};

const HOUR: i64 = 3_600_000_000;

/// Runs `sql` on the engine and the reference, compares, and returns the engine's scan figures.
fn check_stats(sql: &str, snapshot: &Snapshot, events: &[Event], threads: usize) -> ExecStats {
    let query = parse_sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let result = execute(snapshot, &query, &ExecOptions { threads })
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_same(sql, &values(&result), &reference::answer(&query, events));
    result.stats
}

/// Random events, half of them packed into six hours of the first day (so 16-row blocks of one
/// campaign often lie within one hour), a few with costs near `i64::MAX` (sums wrap) or below 0.
fn events(seed: u64, n: usize) -> Vec<Event> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut events = random_events(&mut rng, n, &format!("bs{seed}"));
    for (i, e) in events.iter_mut().enumerate() {
        if i % 2 == 0 {
            e.ts = DAY0 + (e.ts - DAY0) % (6 * HOUR);
        }
        if i % 997 == 0 {
            e.cost_micros = i64::MAX - i as i64;
        } else if i % 503 == 0 {
            e.cost_micros = -(i as i64);
        }
    }
    events
}

const TOTALS: &str = "countIf(event_type = 'impression') AS imps, \
    countIf(event_type = 'click') AS clicks, countIf(won) AS wins, \
    countIf(event_type = 'bid_request' AND ts < '2025-11-22 03:00:00') AS early_bids, \
    sum(cost_micros) AS spend, sumIf(cost_micros, event_type = 'impression') AS imp_spend, \
    sum(revenue_micros) AS revenue, sum(won) AS won_sum, min(cost_micros) AS lo, \
    max(cost_micros) AS hi, min(ts) AS first, max(ts) AS last, avg(revenue_micros) AS avg_rev, \
    avg(cost_micros) AS avg_cost, count() AS n, uniqExact(user_id) AS users, \
    uniqExactIf(user_id, event_type = 'click') AS clickers";

const WHERES: [&str; 11] = [
    "",
    " WHERE ts >= '2025-11-22 01:00:00' AND ts < '2025-11-23 00:00:00'",
    " WHERE ts BETWEEN '2025-11-22 02:00:00' AND '2025-11-22 04:59:59.999999'",
    " WHERE campaign_id = 'cmp-1'",
    " WHERE campaign_id = 'cmp-2' AND event_type = 'impression'",
    " WHERE event_type IN ('impression', 'bid_request') OR ts > '2025-11-24 12:00:00'",
    " WHERE won",
    " WHERE NOT (event_type = 'click') AND cost_micros > 1000",
    " WHERE toStartOfHour(ts) <= '2025-11-22 02:00:00' AND campaign_id != 'x'",
    // Terms decided per block beside terms that are not: only the latter are evaluated.
    " WHERE ts >= '2025-11-22 00:00:00' AND ts < '2025-11-23 12:00:00' AND country = 'US' \
     AND device != 'ctv'",
    " WHERE event_type = 'impression' AND cost_micros > 100000 AND ts < '2025-11-22 04:00:00'",
];

const KEYS: [&str; 9] = [
    "campaign_id",
    "event_type",
    "toDate(ts)",
    "toStartOfHour(ts)",
    "toUnixTimestamp(toStartOfHour(ts))",
    "toStartOfMinute(ts)",
    "campaign_id, toStartOfHour(ts)",
    "country",
    "won",
];

/// Every WHERE clause with totals and with every key, on one and on two workers; returns the
/// scan figures summed.
fn check_all(snapshot: &Snapshot, events: &[Event]) -> ExecStats {
    let mut total = ExecStats::default();
    let mut add = |s: ExecStats| {
        total.units += s.units;
        total.units_decided += s.units_decided;
        total.units_from_statistics += s.units_from_statistics;
    };
    for w in WHERES {
        for threads in [1, 2] {
            add(check_stats(
                &format!("SELECT {TOTALS} FROM events{w}"),
                snapshot,
                events,
                threads,
            ));
            for key in KEYS {
                let names: Vec<String> = (0..key.split(", ").count())
                    .map(|i| format!("k{i}"))
                    .collect();
                let aliased: Vec<String> = key
                    .split(", ")
                    .zip(&names)
                    .map(|(k, n)| format!("{k} AS {n}"))
                    .collect();
                let sql = format!(
                    "SELECT {}, {TOTALS} FROM events{w} GROUP BY {} ORDER BY {}",
                    aliased.join(", "),
                    names.join(", "),
                    names.join(", ")
                );
                add(check_stats(&sql, snapshot, events, threads));
            }
        }
    }
    // Aggregates the statistics cannot answer, beside ones they can: the block is scanned.
    check_stats(
        "SELECT campaign_id, uniqExact(user_id) AS users, count() AS n, sum(cost_micros) AS s \
         FROM events WHERE event_type = 'impression' GROUP BY campaign_id ORDER BY campaign_id",
        snapshot,
        events,
        2,
    );
    total
}

#[test]
fn statistics_answers_match_the_reference_over_segments_and_memtable() {
    let events = events(1, 6000);
    let (_dir, store) = store_with(&[&events[..2500], &events[2500..5000], &events[5000..]], 16);
    let stats = check_all(&store.snapshot(), &events);
    assert!(
        stats.units_decided > 0,
        "no WHERE clause was decided: {stats:?}"
    );
    assert!(
        stats.units_from_statistics > 0,
        "no block was folded from statistics: {stats:?}"
    );
}

#[test]
fn hourly_counts_of_one_campaign_fold_every_decided_block_without_the_row_path() {
    let events = events(2, 4000);
    let (_dir, store) = store_with(&[&events[..2000], &events[2000..], &[]], 16);
    let snapshot = store.snapshot();
    let sql = "SELECT toUnixTimestamp(toStartOfHour(ts)) AS hour, \
         countIf(event_type = 'impression') AS imps, countIf(event_type = 'click') AS clicks \
         FROM events WHERE campaign_id = 'cmp-3' \
         AND ts BETWEEN '2025-11-22 00:00:00' AND '2025-11-24 23:59:59.999999' \
         GROUP BY hour ORDER BY hour";
    let stats = check_stats(sql, &snapshot, &events, 2);
    // Blocks of one campaign and event type fold from statistics (within an hour) or by runs
    // of ts (across hours); only blocks that straddle a campaign or event type are scanned.
    assert!(stats.units_from_statistics > 0, "{stats:?}");
    assert!(
        stats.units_from_statistics >= stats.units_decided,
        "a decided block was scanned row by row: {stats:?}"
    );
}

#[test]
fn a_version_1_segment_without_sums_answers_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../storage/tests/fixtures/store-v1");
    common::copy_dir(&fixture, tmp.path());
    let store = Store::open_read_only(tmp.path()).unwrap();
    let snapshot = store.snapshot();
    let events = all_events(&snapshot);
    assert!(!events.is_empty());
    // Its blocks store no sums: totals and sums must come from decoding, never from a 0.
    let stats = check_all(&snapshot, &events);
    assert!(stats.units > 0, "{stats:?}");
}
