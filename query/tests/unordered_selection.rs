//! Row selection without ORDER BY: stored columns go straight into Arrow arrays
//! (`exec::columnar`), anything else row by row (`exec::rows`). Both must give the same
//! answer: the reference's rows (as a multiset: without ORDER BY the order is the scan's), in
//! one deterministic order whatever the number of workers, the same order on both paths, and
//! LIMIT/OFFSET a window of it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

mod common;

use adstore_query::value::Value;
use adstore_query::{ExecOptions, QueryResult, execute, parse_sql};
use adstore_storage::Snapshot;
use rand::SeedableRng;
use rand::rngs::StdRng;

use common::{assert_same, random_events, reference, store_with, values};

const ALL: &str = "event_id, event_type, ts, campaign_id, creative_id, user_id, site, country, \
    device, os, conversion_type, impression_id, cost_micros, revenue_micros, bid_floor_micros, \
    bid_price_micros, clearing_price_micros, won";

const WHERES: [&str; 5] = [
    "",
    " WHERE ts >= '2025-11-22 12:00:00' AND ts < '2025-11-24 00:00:00'",
    " WHERE campaign_id IN ('cmp-1', 'cmp-10') AND event_type != 'click'",
    " WHERE user_id = 'u-7'",
    " WHERE cost_micros > 2500000 OR won",
];

fn run(sql: &str, snapshot: &Snapshot, threads: usize) -> QueryResult {
    let query = parse_sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    execute(snapshot, &query, &ExecOptions { threads }).unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn sorted(mut rows: Vec<Vec<Value>>) -> Vec<Vec<Value>> {
    rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    rows
}

#[test]
fn unordered_selections_agree_with_the_reference_and_page_in_one_order() {
    let mut rng = StdRng::seed_from_u64(41);
    let events = random_events(&mut rng, 3000, "us");
    // Two segments of 128-row blocks and the memtable.
    let (_dir, store) = store_with(
        &[&events[..1100], &events[1100..2300], &events[2300..]],
        128,
    );
    let snapshot = store.snapshot();
    for w in WHERES {
        for cols in [ALL, "ts, event_id", "won, cost_micros, event_type, country"] {
            let sql = format!("SELECT {cols} FROM events{w}");
            let full = run(&sql, &snapshot, 1);
            let rows = values(&full);
            // The reference's rows, in some order.
            let expected = reference::answer(&parse_sql(&sql).unwrap(), &events);
            assert_same(&sql, &sorted(rows.clone()), &sorted(expected));
            // One order whatever the workers.
            assert_eq!(values(&run(&sql, &snapshot, 3)), rows, "{sql} on 3 workers");
            // The general path (a computed output) gives the same rows in the same order, and
            // the same Arrow fields.
            let general = run(
                &format!("SELECT {cols}, 0 AS zero FROM events{w}"),
                &snapshot,
                3,
            );
            let general_rows: Vec<Vec<Value>> = values(&general)
                .into_iter()
                .map(|mut r| {
                    r.pop();
                    r
                })
                .collect();
            assert_eq!(general_rows, rows, "{sql}: general path");
            for (i, field) in full.schema.fields().iter().enumerate() {
                assert_eq!(field.as_ref(), general.schema.field(i), "{sql}: field {i}");
            }
            // LIMIT and OFFSET take a window of that order.
            for (limit, offset) in [(1, 0), (7, 0), (50, 3), (129, 200), (10_000, 5)] {
                let paged = format!("{sql} LIMIT {limit} OFFSET {offset}");
                let window: Vec<Vec<Value>> =
                    rows.iter().skip(offset).take(limit).cloned().collect();
                for threads in [1, 3] {
                    assert_eq!(
                        values(&run(&paged, &snapshot, threads)),
                        window,
                        "{paged} on {threads} workers"
                    );
                }
            }
        }
    }
}

#[test]
fn a_selection_of_no_row_has_the_schema_and_no_batch_rows() {
    let mut rng = StdRng::seed_from_u64(5);
    let events = random_events(&mut rng, 400, "none");
    let (_dir, store) = store_with(&[&events[..200], &events[200..]], 64);
    let result = run(
        &format!("SELECT {ALL} FROM events WHERE campaign_id = 'nope'"),
        &store.snapshot(),
        2,
    );
    assert_eq!(result.schema.fields().len(), 18);
    assert_eq!(result.num_rows(), 0);
}
