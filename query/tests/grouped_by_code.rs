//! Grouping by one dictionary column checked against the row-at-a-time reference evaluator:
//! the per-code counts and sums of `exec/dense.rs` (segment dictionaries that differ, so one
//! string has different codes in different segments; the empty string; memtable chunks with
//! their own dictionaries; more dictionaries than a worker keeps pending; WHERE masks that
//! select all, some or none of a block), beside the general path (aggregates it does not take)
//! and `uniqExact` with groups spread over segments scanned in runs by several workers. Blocks
//! whose WHERE clause holds for every row stream their codes and summed columns into the
//! totals without a decoded unit; worker totals add up by dictionary before becoming groups.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

mod common;

use adstore_storage::Event;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use common::{DAY0, check, random_events, store_with};

/// `parts` slices of random events, the `i`-th with sites drawn from its own window of names
/// (overlapping the next one's, so most names are in several dictionaries under different
/// codes), one event in 10 without a site.
fn events_with_shifting_sites(rng: &mut StdRng, parts: usize, per_part: usize) -> Vec<Event> {
    let mut events = random_events(rng, parts * per_part, "site");
    for (i, e) in events.iter_mut().enumerate() {
        let window = i / per_part;
        e.site = if rng.random_bool(0.1) {
            String::new()
        } else {
            format!("s{:02}.example", window * 3 + rng.random_range(0..8))
        };
    }
    events
}

const DENSE_SELECTS: [&str; 6] = [
    "SELECT site, count() AS n, sum(cost_micros) AS spend FROM events{w} GROUP BY site \
     ORDER BY n DESC, site LIMIT 5",
    // Sums of several integer columns: blocks whose WHERE holds for every row stream them
    // beside the codes (`stream_codes_with_ints`).
    "SELECT site, count() AS n, sum(cost_micros) AS a, sum(revenue_micros) AS r, \
     sum(bid_price_micros) AS p, sum(cost_micros) AS a2 FROM events{w} GROUP BY site ORDER BY site",
    "SELECT site, count() AS n, sum(cost_micros) AS a, sum(cost_micros) * 2 AS b, \
     sum(cost_micros - revenue_micros) AS c, sum(toUnixTimestamp(ts)) AS d, count(site) AS e \
     FROM events{w} GROUP BY site ORDER BY site",
    "SELECT country, count() AS n FROM events{w} GROUP BY country ORDER BY country",
    "SELECT site FROM events{w} GROUP BY site ORDER BY site",
    "SELECT sum(cost_micros) AS spend, site FROM events{w} GROUP BY site \
     HAVING count() > 3 ORDER BY spend, site",
];

/// Aggregates the per-code path does not take, grouped by the same column.
const GENERAL_SELECTS: [&str; 2] = [
    "SELECT site, countIf(won) AS w, sumIf(cost_micros, cost_micros > 100) AS s, count() AS n \
     FROM events{w} GROUP BY site ORDER BY site",
    "SELECT site, max(cost_micros) AS m, sum(cost_micros / 2) AS f, uniqExact(user_id) AS u \
     FROM events{w} GROUP BY site ORDER BY site",
];

const WHERES: [&str; 5] = [
    "",
    " WHERE campaign_id = 'cmp-1' AND event_type = 'impression'",
    " WHERE cost_micros > 2500000",
    " WHERE ts >= '2025-11-23 00:00:00'",
    " WHERE campaign_id = 'nope'",
];

fn check_selects(events: &[Event], snapshot: &adstore_query::Snapshot, selects: &[&str]) {
    for w in WHERES {
        for s in selects {
            let sql = s.replace("{w}", w);
            for threads in [1, 2, 3] {
                check(&sql, snapshot, events, threads);
            }
        }
    }
}

#[test]
fn per_code_totals_match_reference_over_differing_dictionaries_and_memtable() {
    let mut rng = StdRng::seed_from_u64(21);
    let events = events_with_shifting_sites(&mut rng, 4, 500);
    // Three flushed parts (4 partitions each: up to 12 segment dictionaries) and a memtable
    // part; blocks of 40 rows, so a segment's dictionary serves many blocks.
    let (_dir, store) = store_with(
        &[
            &events[..500],
            &events[500..1000],
            &events[1000..1500],
            &events[1500..],
        ],
        40,
    );
    let snapshot = store.snapshot();
    check_selects(&events, &snapshot, &DENSE_SELECTS);
    check_selects(&events, &snapshot, &GENERAL_SELECTS);
}

#[test]
fn per_code_totals_of_one_dictionary_from_several_workers_add_up() {
    let mut rng = StdRng::seed_from_u64(45);
    // Blocks of 4 rows: a segment of ~125 rows has ~31 blocks, more than one run of a
    // worker (16), so two or three workers hold totals of the same dictionary, which must
    // add up cell by cell when their tables merge.
    let events = events_with_shifting_sites(&mut rng, 2, 500);
    let (_dir, store) = store_with(&[&events[..500], &events[500..]], 4);
    let snapshot = store.snapshot();
    check_selects(&events, &snapshot, &DENSE_SELECTS[..3]);
}

#[test]
fn per_code_totals_with_more_dictionaries_than_kept_pending() {
    let mut rng = StdRng::seed_from_u64(33);
    // Ten flushed parts of four partitions: ~40 dictionaries, more than a worker keeps
    // pending (16), so totals are turned into groups in the middle of the scan too.
    let events = events_with_shifting_sites(&mut rng, 10, 150);
    let parts: Vec<&[Event]> = events.chunks(150).collect();
    let (_dir, store) = store_with(&parts, 16);
    let snapshot = store.snapshot();
    check_selects(&events, &snapshot, &DENSE_SELECTS[..2]);
}

#[test]
fn per_code_totals_beside_the_general_path_for_units_selecting_few_rows() {
    let mut rng = StdRng::seed_from_u64(55);
    // Sites from a window of 200 names: a block of 64 rows selecting a few of them takes the
    // general path, one selecting most of its rows the per-code path, in one worker's table.
    let mut events = random_events(&mut rng, 1600, "mix");
    for e in &mut events {
        e.site = format!("w{:03}", rng.random_range(0..200));
    }
    let parts: Vec<&[Event]> = events.chunks(400).collect();
    let (_dir, store) = store_with(&parts, 64);
    let snapshot = store.snapshot();
    for w in [
        "",
        " WHERE cost_micros > 4900000",
        " WHERE cost_micros > 4900000 OR campaign_id = 'cmp-2'",
        " WHERE user_id = 'u-3'",
    ] {
        let sql = format!(
            "SELECT site, count() AS n, sum(cost_micros) AS s FROM events{w} GROUP BY site ORDER BY site"
        );
        for threads in [1, 2, 3] {
            check(&sql, &snapshot, &events, threads);
        }
    }
}

#[test]
fn per_code_totals_in_memtable_only() {
    let mut rng = StdRng::seed_from_u64(8);
    let events = events_with_shifting_sites(&mut rng, 3, 200);
    let (_dir, store) = store_with(&[&events[..]], 64);
    check_selects(&events, &store.snapshot(), &DENSE_SELECTS);
}

#[test]
fn distinct_counts_per_group_spread_over_segments() {
    let mut rng = StdRng::seed_from_u64(13);
    let mut events = random_events(&mut rng, 2400, "uq");
    for e in &mut events {
        e.user_id = format!("u-{}", rng.random_range(0..400));
    }
    let parts: Vec<&[Event]> = events.chunks(400).collect();
    let (_dir, store) = store_with(&parts, 32);
    let snapshot = store.snapshot();
    for sql in [
        "SELECT campaign_id, uniqExact(user_id) AS users, count() AS n FROM events \
         WHERE event_type = 'impression' GROUP BY campaign_id ORDER BY users DESC, campaign_id",
        "SELECT campaign_id, uniqExact(user_id) AS users, uniqExact(cost_micros) AS costs \
         FROM events WHERE ts >= '2025-11-23 00:00:00' GROUP BY campaign_id ORDER BY campaign_id",
        "SELECT uniqExact(user_id) AS users FROM events",
    ] {
        for threads in [1, 2, 3] {
            check(sql, &snapshot, &events, threads);
        }
    }
}

#[test]
fn a_top_k_by_count_over_many_values_makes_groups_only_for_those_that_can_place() {
    let mut rng = StdRng::seed_from_u64(77);
    // 100 sites with skewed counts and many ties: a LIMIT of a few, ordered by the row count
    // first, keeps fewer than a quarter of them, so only the values whose count can place
    // (ties at the limit kept) become groups; the second key and OFFSET then decide. Blocks
    // of 64 rows select enough of a segment's dictionary for every unit to take the per-code
    // path, and one campaign over one day makes one segment per part (fewer dictionaries than
    // a worker keeps pending), so no other group exists when the totals are ranked.
    let mut events = random_events(&mut rng, 3000, "topk");
    for e in &mut events {
        let r: f64 = rng.random();
        e.site = format!("t{:03}", (r * r * 100.0) as u32);
        e.campaign_id = "cmp-1".into();
        e.ts = DAY0 + (e.ts - DAY0) % 86_400_000_000;
    }
    check_top_k(&events);
}

#[test]
fn a_top_k_by_count_whose_bound_cannot_decide_merges_every_value() {
    let mut rng = StdRng::seed_from_u64(78);
    // Near-uniform counts: the threshold bound over each dictionary's most frequent codes
    // (`DenseCodes::top_by_rows`) cannot exclude the others, so the dictionaries are merged
    // by value; and a skewed head whose values are missing from some segments, so the bound
    // decides with values met in one dictionary only.
    let mut events = random_events(&mut rng, 3000, "flat");
    for (i, e) in events.iter_mut().enumerate() {
        e.site = if i % 1000 < 300 {
            format!("h{}-{:02}", i / 1000, rng.random_range(0..4))
        } else {
            format!("u{:03}", rng.random_range(0..150))
        };
        e.campaign_id = "cmp-1".into();
        e.ts = DAY0 + (e.ts - DAY0) % 86_400_000_000;
    }
    check_top_k(&events);
    for e in &mut events {
        e.site = format!("u{:03}", rng.random_range(0..150));
    }
    check_top_k(&events);
    // The value with the most rows overall is in no segment's 40 most frequent: 40 values
    // of each segment have 20 rows there (and none elsewhere), "x" 15 in each. The bound
    // (three times 20) is above the best totals' but the value it covers wins.
    for (i, e) in events.iter_mut().enumerate() {
        let (part, k) = (i / 1000, i % 1000);
        e.site = match k {
            0..800 => format!("p{part}-{:02}", k / 20),
            800..815 => "x".to_string(),
            _ => format!("f{i}"),
        };
    }
    check_top_k(&events);
}

/// Top-k queries by row count over `events` in three segments, against the reference.
fn check_top_k(events: &[Event]) {
    let parts: Vec<&[Event]> = events.chunks(1000).collect();
    let (_dir, store) = store_with(&parts, 64);
    let snapshot = store.snapshot();
    for w in [
        "",
        " WHERE event_type = 'impression'",
        " WHERE cost_micros > 2500000",
    ] {
        for tail in [
            "ORDER BY n DESC, site LIMIT 7",
            "ORDER BY n, site LIMIT 3",
            "ORDER BY n DESC, site LIMIT 2 OFFSET 3",
            "ORDER BY n DESC, s DESC, site LIMIT 10",
            "ORDER BY s DESC, site LIMIT 5",
        ] {
            let sql = format!(
                "SELECT site, count() AS n, sum(cost_micros) AS s FROM events{w} GROUP BY site {tail}"
            );
            for threads in [1, 2, 3] {
                check(&sql, &snapshot, events, threads);
            }
        }
    }
}
