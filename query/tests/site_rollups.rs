//! Segments' site rollups (`docs/FORMAT.md`, "Site rollups") checked against the row-at-a-time
//! reference: a query grouping by `site` with `count()` and money sums adds a rollup in place
//! of the blocks it covers only when its WHERE clause holds for every row of them; a time range
//! cutting a run, a condition the statistics cannot decide, a sum the rollups do not hold, or
//! a second group key scan the blocks instead, and the answers are the same either way, with
//! rows spread over several segments, the memtable and several workers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

mod common;

use adstore_query::{ExecOptions, execute, parse_sql};
use adstore_storage::{Event, EventType};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use common::{DAY0, check, random_events, store_with};

/// Per part: random events, then 1,000 impressions of `cmp-1` over 20 sites (skewed) on the
/// first day, and 400 clicks of `cmp-2` over 300 sites (too many for a rollup).
fn events(rng: &mut StdRng, parts: usize) -> Vec<Vec<Event>> {
    (0..parts)
        .map(|p| {
            let mut part = random_events(rng, 300, &format!("r{p}"));
            let mut heavy = random_events(rng, 1_400, &format!("h{p}"));
            for (i, e) in heavy.iter_mut().enumerate() {
                if i < 1_000 {
                    let r: f64 = rng.random();
                    e.event_type = EventType::Impression;
                    e.campaign_id = "cmp-1".into();
                    e.site = format!("s{:02}", (r * r * 20.0) as u32);
                    e.ts = DAY0 + rng.random_range(0..86_400_000_000);
                } else {
                    e.event_type = EventType::Click;
                    e.campaign_id = "cmp-2".into();
                    e.site = format!("c{:03}", rng.random_range(0..300));
                }
            }
            part.extend(heavy);
            part
        })
        .collect()
}

const QUERIES: [&str; 9] = [
    // Q5's shape: every block of cmp-1's impressions is covered.
    "SELECT site, count() AS n, sum(cost_micros) AS spend FROM events \
     WHERE campaign_id = 'cmp-1' AND event_type = 'impression' \
     GROUP BY site ORDER BY n DESC, site LIMIT 5",
    // Every rollup of the store, with all the sums it holds, beside blocks without one.
    "SELECT site, count() AS n, sum(cost_micros) AS a, sum(revenue_micros) AS r, \
     sum(bid_floor_micros) AS f, sum(bid_price_micros) AS p, sum(clearing_price_micros) AS c \
     FROM events GROUP BY site ORDER BY site",
    "SELECT site, count() AS n FROM events WHERE event_type = 'impression' \
     GROUP BY site HAVING n > 40 ORDER BY site",
    // A time range through the middle of cmp-1's first day: the runs are cut, no rollup.
    "SELECT site, count() AS n, sum(cost_micros) AS spend FROM events \
     WHERE campaign_id = 'cmp-1' AND ts < '2025-11-22 12:00:00' GROUP BY site ORDER BY site",
    // Holds for every row of the afternoon's blocks, undecided for the morning's: no block
    // is pruned, yet the rollup cannot stand for the run.
    "SELECT site, count() AS n, sum(cost_micros) AS spend FROM events \
     WHERE campaign_id = 'cmp-1' AND event_type = 'impression' \
     AND (ts >= '2025-11-22 12:00:00' OR cost_micros > 2500000) GROUP BY site ORDER BY site",
    // A condition the statistics cannot decide.
    "SELECT site, count() AS n, sum(cost_micros) AS spend FROM events \
     WHERE campaign_id = 'cmp-1' AND cost_micros > 2500000 GROUP BY site ORDER BY site",
    // A sum the rollups do not hold.
    "SELECT site, count() AS n, sum(toUnixTimestamp(ts)) AS t FROM events \
     WHERE campaign_id = 'cmp-1' GROUP BY site ORDER BY site",
    "SELECT site, count() AS n, sum(cost_micros) AS spend FROM events \
     WHERE campaign_id = 'cmp-1' GROUP BY site ORDER BY site",
    // Two group keys.
    "SELECT site, event_type, count() AS n FROM events WHERE campaign_id = 'cmp-1' \
     GROUP BY site, event_type ORDER BY site, event_type",
];

#[test]
fn queries_over_site_rollups_match_the_reference() {
    let mut rng = StdRng::seed_from_u64(91);
    let parts = events(&mut rng, 4);
    let all: Vec<Event> = parts.iter().flatten().cloned().collect();
    // Three parts flushed into segments (blocks of 64 rows: cmp-1's ~1,000 impressions of a
    // segment are runs of whole blocks), the last one left in the memtable.
    let slices: Vec<&[Event]> = parts.iter().map(Vec::as_slice).collect();
    let (_dir, store) = store_with(&slices, 64);
    let snapshot = store.snapshot();
    for sql in QUERIES {
        for threads in [1, 2, 3] {
            check(sql, &snapshot, &all, threads);
        }
    }
}

#[test]
fn a_rollup_stands_for_its_blocks_only_when_the_where_clause_holds_for_all_of_them() {
    let mut rng = StdRng::seed_from_u64(92);
    let parts = events(&mut rng, 3);
    let slices: Vec<&[Event]> = parts.iter().map(Vec::as_slice).collect();
    let (_dir, store) = store_with(&slices, 64);
    let snapshot = store.snapshot();
    // Blocks answered without being read: the rollups' (no other summary answers a query
    // grouping by site), so at least four blocks of each flushed part's run.
    let from_statistics = |sql: &str| {
        let query = parse_sql(sql).unwrap();
        let r = execute(&snapshot, &query, &ExecOptions { threads: 2 }).unwrap();
        r.stats.units_from_statistics
    };
    assert!(from_statistics(QUERIES[0]) >= 2 * 4, "{QUERIES:?}");
    for sql in &QUERIES[3..7] {
        assert_eq!(from_statistics(sql), 0, "{sql}");
    }
}
