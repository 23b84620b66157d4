//! Property test: random events (spread over segments of small blocks and the memtable) and
//! random queries of the SQL subset give the same answer from the engine, on one thread and on
//! several, as from the row-at-a-time reference evaluator.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is a test failure"
)]

mod common;

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use common::{check, random_events, store_with};

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// A row-level condition.
fn atom(rng: &mut StdRng) -> String {
    let n = rng.random_range(0..5_000_000);
    match rng.random_range(0..22) {
        0 => format!(
            "campaign_id = '{}'",
            pick(rng, &["cmp-1", "cmp-2", "cmp-10", "nope"])
        ),
        1 => "campaign_id IN ('cmp-1', 'cmp-11', 'x')".into(),
        2 => "campaign_id NOT IN ('cmp-2', 'cmp-3')".into(),
        3 => format!("country != '{}'", pick(rng, &["US", "", "DE"])),
        4 => format!(
            "event_type = '{}'",
            pick(rng, &["impression", "click", "conversion", "bid_request"])
        ),
        5 => "event_type IN ('impression', 'bid_request')".into(),
        6 => format!(
            "ts >= '2025-11-2{} {:02}:00:00'",
            rng.random_range(2..5),
            rng.random_range(0..24)
        ),
        7 => "ts BETWEEN '2025-11-22 12:00:00' AND toDateTime('2025-11-23 11:59:59')".into(),
        8 => format!("cost_micros > {n}"),
        9 => "won".into(),
        10 => "NOT won".into(),
        11 => format!("user_id = 'u-{}'", rng.random_range(0..30)),
        12 => "user_id IN ('u-1', 'u-2', 'u-3', 'zz')".into(),
        13 => format!("site LIKE 'site-{}%'", rng.random_range(0..3)),
        14 => "toDate(ts) = '2025-11-23'".into(),
        15 => "toStartOfHour(ts) < '2025-11-22 18:00:00'".into(),
        16 => format!("bid_price_micros BETWEEN {} AND {}", n / 2, n),
        17 => "device = 'mobile' OR device = 'ctv'".into(),
        18 => "cost_micros * 2 - revenue_micros / 3 > 1000000".into(),
        19 => "if(won, cost_micros, 0) > 100".into(),
        20 => "site NOT LIKE '%1%'".into(),
        _ => "toUnixTimestamp(ts) > 1763830000".into(),
    }
}

fn condition(rng: &mut StdRng, depth: u32) -> String {
    if depth == 0 || rng.random_bool(0.5) {
        return atom(rng);
    }
    let (a, b) = (condition(rng, depth - 1), condition(rng, depth - 1));
    match rng.random_range(0..3) {
        0 => format!("({a}) AND ({b})"),
        1 => format!("({a}) OR ({b})"),
        _ => format!("NOT ({a})"),
    }
}

const KEYS: [&str; 9] = [
    "campaign_id",
    "country",
    "device",
    "event_type",
    "toStartOfHour(ts)",
    "toDate(ts)",
    "user_id",
    "won",
    "toUnixTimestamp(toStartOfDay(ts))",
];

fn aggregate(rng: &mut StdRng) -> String {
    match rng.random_range(0..20) {
        0 => "count()".into(),
        1 => format!("countIf({})", condition(rng, 1)),
        2 => "sum(cost_micros)".into(),
        3 => format!("sumIf(revenue_micros, {})", condition(rng, 1)),
        4 => "min(ts)".into(),
        5 => "max(cost_micros)".into(),
        6 => "avg(cost_micros)".into(),
        7 => "uniqExact(user_id)".into(),
        8 => "uniq(campaign_id)".into(),
        9 => "min(site)".into(),
        10 => "max(country)".into(),
        11 => "ctr()".into(),
        12 => "win_rate()".into(),
        13 => "roas()".into(),
        14 => "sum(cost_micros) * 2 - count()".into(),
        15 => "if(count() > 3, 1, 0)".into(),
        16 => "nullIf(count(), 1)".into(),
        17 => "cpm() + cpc()".into(),
        18 => "maxIf(bid_price_micros, won)".into(),
        _ => "uniqExact(toStartOfHour(ts))".into(),
    }
}

/// A random query of the subset, with a total ORDER BY (every output) so the answer is unique.
fn query(rng: &mut StdRng) -> String {
    let filter = if rng.random_bool(0.7) {
        format!(" WHERE {}", condition(rng, 2))
    } else {
        String::new()
    };
    if rng.random_bool(0.2) {
        let limit = rng.random_range(1..40);
        let desc = if rng.random_bool(0.5) { " DESC" } else { "" };
        return format!(
            "SELECT event_id, event_type, ts, cost_micros, campaign_id AS c, toStartOfMinute(ts) AS m, \
             nullIf(country, 'US') AS not_us FROM events{filter} ORDER BY m{desc}, cost_micros, event_id LIMIT {limit}"
        );
    }
    let nkeys = rng.random_range(0..3);
    let mut keys: Vec<&str> = Vec::new();
    while keys.len() < nkeys {
        let k = pick(rng, &KEYS);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut items: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k} AS k{i}"))
        .collect();
    for i in 0..rng.random_range(1..5) {
        items.push(format!("{} AS a{i}", aggregate(rng)));
    }
    let group = if keys.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = (0..keys.len()).map(|i| format!("k{i}")).collect();
        format!(" GROUP BY {}", names.join(", "))
    };
    let having = match rng.random_range(0..4) {
        0 => format!(" HAVING count() > {}", rng.random_range(0..6)),
        1 => format!(
            " HAVING sum(cost_micros) >= {} OR countIf(won) > 0",
            rng.random_range(0..20_000_000)
        ),
        _ => String::new(),
    };
    let order: Vec<String> = (1..=items.len())
        .rev()
        .map(|p| format!("{p}{}", if rng.random_bool(0.5) { " DESC" } else { "" }))
        .collect();
    let limit = if rng.random_bool(0.3) {
        format!(" LIMIT {}", rng.random_range(1..6))
    } else {
        String::new()
    };
    format!(
        "SELECT {} FROM events{filter}{group}{having} ORDER BY {}{limit}",
        items.join(", "),
        order.join(", ")
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_reference(seed in any::<u64>(), n in 0usize..400) {
        let mut rng = StdRng::seed_from_u64(seed);
        let events = random_events(&mut rng, n, "e");
        let cut1 = rng.random_range(0..=n);
        let cut2 = rng.random_range(cut1..=n);
        let (_dir, store) = store_with(&[&events[..cut1], &events[cut1..cut2], &events[cut2..]], 37);
        let snapshot = store.snapshot();
        for _ in 0..25 {
            let sql = query(&mut rng);
            let one = check(&sql, &snapshot, &events, 1);
            let many = check(&sql, &snapshot, &events, 3);
            prop_assert_eq!(one.len(), many.len());
        }
    }
}
