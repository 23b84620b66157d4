//! The scan's fast paths checked against the row-at-a-time reference evaluator, on stores made
//! to take each of them: `countIf`/`sumIf` decomposed by event-type or `won` code (with and
//! without WHERE mask and groups, in segments and the memtable), run-wise grouped folding (rows
//! sorted by campaign, so groups come in long runs) against per-row folding (groups by user,
//! changing every row), integer comparisons with constants inside and outside the column
//! type's range, and `=`/`IN` filters on plain string columns answered from encoded blocks.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

mod common;

use rand::SeedableRng;
use rand::rngs::StdRng;

use common::{check, random_events, store_with};

/// Aggregates that decompose by code, with computed arguments and conditions, beside ones that
/// do not (a condition over two columns, a float sum), so both paths share a unit.
const AGGS: &str = "countIf(event_type = 'impression') AS imps, \
    countIf(event_type IN ('click', 'conversion')) AS actions, \
    countIf(NOT won) AS lost, countIf(won) AS wins, \
    countIf(if(won, 1, 0) = 1) AS wins_again, \
    countIf(event_type != 'bid_request' AND cost_micros > 1000000) AS costly, \
    sumIf(cost_micros, event_type = 'impression') AS spend, \
    sumIf(cost_micros * 2, event_type = 'click') AS double_click_cost, \
    sumIf(revenue_micros, won) AS won_revenue, \
    sumIf(toUnixTimestamp(ts), event_type = 'conversion') AS conv_seconds, \
    sumIf(cost_micros / 3, event_type = 'impression') AS float_sum, \
    count() AS n, sum(revenue_micros) AS revenue";

const WHERES: [&str; 5] = [
    "",
    " WHERE ts >= '2025-11-22 12:00:00' AND ts < '2025-11-24 00:00:00'",
    " WHERE campaign_id IN ('cmp-1', 'cmp-10')",
    " WHERE event_type = 'impression' OR won",
    " WHERE cost_micros > 2500000",
];

/// Every WHERE clause, without groups and with groups that come in runs (campaign, day) or
/// change every row (user), on one thread and on three.
fn check_all(events: &[adstore_storage::Event], snapshot: &adstore_query::Snapshot) {
    for w in WHERES {
        let totals = format!("SELECT {AGGS} FROM events{w}");
        check(&totals, snapshot, events, 1);
        check(&totals, snapshot, events, 3);
        for key in ["campaign_id", "toDate(ts)", "user_id", "event_type", "won"] {
            let sql = format!("SELECT {key} AS k, {AGGS} FROM events{w} GROUP BY k ORDER BY k");
            check(&sql, snapshot, events, 1);
            check(&sql, snapshot, events, 3);
        }
    }
}

#[test]
fn decomposed_aggregates_match_reference_over_segments_and_memtable() {
    let mut rng = StdRng::seed_from_u64(7);
    let events = random_events(&mut rng, 3000, "fp");
    // Blocks of 200 rows: sorted by campaign and time, so a block holds long runs of a group.
    let (_dir, store) = store_with(
        &[&events[..1200], &events[1200..2400], &events[2400..]],
        200,
    );
    check_all(&events, &store.snapshot());
}

#[test]
fn decomposed_aggregates_match_reference_in_memtable_only() {
    let mut rng = StdRng::seed_from_u64(11);
    let events = random_events(&mut rng, 700, "mt");
    let (_dir, store) = store_with(&[&events[..]], 64);
    check_all(&events, &store.snapshot());
}

#[test]
fn decomposed_aggregates_with_no_matching_row() {
    let mut rng = StdRng::seed_from_u64(3);
    let events = random_events(&mut rng, 500, "none");
    let (_dir, store) = store_with(&[&events[..250], &events[250..]], 50);
    let snapshot = store.snapshot();
    for sql in [
        format!("SELECT {AGGS} FROM events WHERE campaign_id = 'nope'"),
        format!(
            "SELECT campaign_id, {AGGS} FROM events WHERE cost_micros < 0 GROUP BY campaign_id"
        ),
        "SELECT countIf(event_type = 'impression' AND event_type = 'click') AS never, \
         sumIf(cost_micros, won AND NOT won) AS nothing FROM events"
            .to_owned(),
    ] {
        check(&sql, &snapshot, &events, 1);
        check(&sql, &snapshot, &events, 2);
    }
}

#[test]
fn integer_comparisons_with_constants_in_and_out_of_range() {
    let mut rng = StdRng::seed_from_u64(5);
    let events = random_events(&mut rng, 800, "cmp");
    let (_dir, store) = store_with(&[&events[..400], &events[400..]], 60);
    let snapshot = store.snapshot();
    for cond in [
        "cost_micros > 2500000",
        "cost_micros <= 0",
        "cost_micros != 0",
        "cost_micros = 1234",
        "cost_micros < 9223372036854775807",
        "cost_micros < 18446744073709551615",
        "cost_micros >= -9223372036854775808",
        "toUnixTimestamp(ts) > 1763830000",
        "toUnixTimestamp(ts) >= -1",
        "toUnixTimestamp(ts) < 99999999999",
        "ts >= '2025-11-23 00:00:00' AND ts < '2025-11-24 06:00:00'",
    ] {
        let sql = format!(
            "SELECT count() AS n, countIf({cond}) AS c, sumIf(cost_micros, {cond}) AS s FROM events WHERE {cond}"
        );
        check(&sql, &snapshot, &events, 1);
        check(&sql, &snapshot, &events, 2);
    }
}

#[test]
fn plain_string_filters_answered_from_encoded_blocks_match_reference() {
    let mut rng = StdRng::seed_from_u64(13);
    let events = random_events(&mut rng, 1500, "ps");
    let (_dir, store) = store_with(&[&events[..600], &events[600..1200], &events[1200..]], 40);
    let snapshot = store.snapshot();
    for cond in [
        "user_id = 'u-3'",
        "'u-7' = user_id",
        "user_id != 'u-3'",
        "user_id IN ('u-1', 'u-2', 'nobody')",
        "user_id NOT IN ('u-1', 'u-2')",
        "user_id = 'nobody'",
        "impression_id = ''",
    ] {
        for sql in [
            format!(
                "SELECT event_id, event_type, ts FROM events WHERE {cond} ORDER BY ts, event_id LIMIT 50"
            ),
            // Time-bucket keys over a sparse selection: computed for the selected rows only.
            format!(
                "SELECT toDate(ts) AS d, count() AS n, sum(cost_micros) AS s FROM events WHERE {cond} GROUP BY d ORDER BY d"
            ),
            format!(
                "SELECT toUnixTimestamp(toStartOfHour(ts)) AS h, toStartOfMinute(ts) AS m, count() AS n \
                 FROM events WHERE {cond} GROUP BY h, m ORDER BY h, m"
            ),
            // The column is read again outside the WHERE clause: the decoded path.
            format!(
                "SELECT user_id, count() AS n FROM events WHERE {cond} GROUP BY user_id ORDER BY user_id"
            ),
        ] {
            check(&sql, &snapshot, &events, 1);
            check(&sql, &snapshot, &events, 2);
        }
    }
}

#[test]
fn top_k_over_many_groups_matches_reference_with_ties_at_the_limit() {
    let mut rng = StdRng::seed_from_u64(17);
    let events = random_events(&mut rng, 2000, "tk");
    let (_dir, store) = store_with(&[&events[..900], &events[900..1800], &events[1800..]], 50);
    let snapshot = store.snapshot();
    for (order, limit) in [
        ("n DESC, k", 3),
        ("n DESC", 4),
        ("n, k DESC", 2),
        ("nullIf(n, 80) DESC", 5),
        ("k", 1),
        ("s DESC, k", 5),
        ("n DESC, k", 0),
    ] {
        for key in ["user_id", "site", "toStartOfHour(ts)"] {
            let sql = format!(
                "SELECT {key} AS k, count() AS n, sum(cost_micros) AS s FROM events \
                 GROUP BY k ORDER BY {order} LIMIT {limit}"
            );
            check(&sql, &snapshot, &events, 1);
            check(&sql, &snapshot, &events, 2);
        }
    }
}

/// Groups keyed by two and three dictionary columns (a table indexed by the product of their
/// codes, with the two-key index computed apart), in segments and the memtable.
#[test]
fn groups_of_several_dictionary_columns_match_reference() {
    let mut rng = StdRng::seed_from_u64(23);
    let events = random_events(&mut rng, 2500, "dk");
    let (_dir, store) = store_with(
        &[&events[..1000], &events[1000..2000], &events[2000..]],
        128,
    );
    let snapshot = store.snapshot();
    for keys in [
        "country, device",
        "device, country",
        "country, device, os",
        "os, campaign_id, device",
    ] {
        for w in ["", " WHERE event_type IN ('impression', 'bid_request')"] {
            let sql = format!(
                "SELECT {keys}, count() AS n, sum(cost_micros) AS spend, countIf(won) AS wins \
                 FROM events{w} GROUP BY {keys} ORDER BY {keys}"
            );
            check(&sql, &snapshot, &events, 1);
            check(&sql, &snapshot, &events, 3);
        }
    }
}
