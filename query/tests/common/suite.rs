//! The query suite Q1–Q10 of the query issue (the same text as `benches/clickhouse/suite.py`,
//! which runs it unchanged on ClickHouse), and its parameters picked from the loaded data with
//! the engine itself: the campaign with the most impressions, the busiest UTC day, the first and
//! last days, and the user with the most events.

use adstore_query::time::format_date;
use adstore_query::{ExecOptions, Snapshot, execute, parse_sql};
use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Date32Type;

/// (name, SQL with `{...}` parameters).
pub const SUITE: [(&str, &str); 10] = [
    (
        "Q1",
        "SELECT countIf(event_type = 'impression') AS impressions, countIf(event_type = 'click') AS clicks, \
         countIf(event_type = 'conversion') AS conversions, countIf(event_type = 'bid_request') AS bid_requests, \
         countIf(won) AS wins, sum(cost_micros) AS spend, sum(revenue_micros) AS revenue FROM events",
    ),
    (
        "Q2",
        "SELECT campaign_id, countIf(event_type = 'impression') AS impressions, countIf(event_type = 'click') AS clicks, \
         countIf(event_type = 'conversion') AS conversions, sumIf(cost_micros, event_type = 'impression') AS spend, \
         sum(revenue_micros) AS revenue, clicks / nullIf(impressions, 0) AS ctr, conversions / nullIf(clicks, 0) AS cvr, \
         spend / nullIf(conversions, 0) AS cpa, spend * 1000 / nullIf(impressions, 0) AS cpm, \
         spend / nullIf(clicks, 0) AS cpc, revenue / nullIf(spend, 0) AS roas FROM events \
         WHERE ts >= '{day} 00:00:00' AND ts < '{next_day} 00:00:00' GROUP BY campaign_id ORDER BY spend DESC, campaign_id",
    ),
    (
        "Q3",
        "SELECT campaign_id, countIf(event_type = 'impression') AS impressions, \
         countIf(event_type = 'bid_request' AND bid_price_micros > 0) AS bids, countIf(won) AS wins, \
         sum(cost_micros) AS spend, wins / nullIf(bids, 0) AS win_rate, spend * 1000 / nullIf(impressions, 0) AS ecpm \
         FROM events WHERE ts >= '{day} 12:00:00' AND ts < '{next_day} 12:00:00' AND country = 'US' AND device = 'mobile' \
         GROUP BY campaign_id ORDER BY spend DESC, campaign_id",
    ),
    (
        "Q4",
        "SELECT toUnixTimestamp(toStartOfHour(ts)) AS hour, countIf(event_type = 'impression') AS impressions, \
         countIf(event_type = 'click') AS clicks FROM events WHERE campaign_id = '{campaign}' \
         AND ts BETWEEN '{first_day} 00:00:00' AND '{last_day} 23:59:59.999999' GROUP BY hour ORDER BY hour",
    ),
    (
        "Q5",
        "SELECT site, count() AS impressions, sum(cost_micros) AS spend FROM events \
         WHERE campaign_id = '{campaign}' AND event_type = 'impression' GROUP BY site \
         ORDER BY impressions DESC, site LIMIT 10",
    ),
    (
        "Q6",
        "SELECT campaign_id, uniqExact(user_id) AS users FROM events WHERE event_type = 'impression' \
         AND ts >= '{day} 00:00:00' AND ts < '{next_day} 00:00:00' GROUP BY campaign_id ORDER BY users DESC, campaign_id",
    ),
    (
        "Q7",
        "SELECT toDate(ts) AS day, event_type, count() AS events, uniqExact(campaign_id) AS campaigns, \
         min(ts) AS first_ts, max(ts) AS last_ts, sum(cost_micros) AS spend FROM events WHERE user_id = '{user}' \
         GROUP BY day, event_type ORDER BY day, event_type",
    ),
    (
        "Q8",
        "SELECT country, device, countIf(event_type = 'impression') AS impressions, \
         countIf(event_type = 'bid_request') AS bid_requests, countIf(won) AS wins, sum(cost_micros) AS spend, \
         wins / nullIf(bid_requests, 0) AS win_rate FROM events WHERE event_type IN ('impression', 'bid_request') \
         GROUP BY country, device ORDER BY country, device",
    ),
    (
        "Q9",
        "SELECT campaign_id, count() AS requests, countIf(bid_price_micros > 0) AS bids, countIf(won) AS wins, \
         sumIf(cost_micros, won) AS clearing_spend, wins / nullIf(bids, 0) AS win_rate, \
         sumIf(clearing_price_micros, won) / nullIf(wins, 0) AS avg_clearing_cpm FROM events \
         WHERE event_type = 'bid_request' AND ts >= '{day} 00:00:00' AND ts < '{next_day} 00:00:00' \
         GROUP BY campaign_id ORDER BY requests DESC, campaign_id",
    ),
    (
        "Q10",
        "SELECT event_id, event_type, ts FROM events WHERE user_id = '{user}' ORDER BY ts, event_id LIMIT 100",
    ),
];

/// The suite's parameters.
#[derive(Debug, Clone)]
pub struct Params {
    /// The campaign with the most impressions.
    pub campaign: String,
    /// The busiest UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The day after it.
    pub next_day: String,
    /// The first day with data.
    pub first_day: String,
    /// The last day with data.
    pub last_day: String,
    /// The user with the most events.
    pub user: String,
}

fn scalar(snapshot: &Snapshot, sql: &str, col: usize) -> String {
    let q = parse_sql(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let r = execute(snapshot, &q, &ExecOptions::default()).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let b = &r.batches[0];
    let c = b.column(col);
    match c.data_type() {
        arrow_schema::DataType::Date32 => {
            format_date(i64::from(c.as_primitive::<Date32Type>().value(0)))
        }
        _ => c.as_string::<i32>().value(0).to_owned(),
    }
}

/// Picks the parameters from the data.
#[allow(dead_code, reason = "the tests use it, the query_suite bench does not")]
pub fn params(snapshot: &Snapshot) -> Params {
    params_for_user(snapshot, None)
}

/// The parameters, with `user` instead of the busiest one when given: finding the busiest user
/// is a `GROUP BY user_id` over the whole store (~25 s at 50M impressions).
pub fn params_for_user(snapshot: &Snapshot, user: Option<String>) -> Params {
    let day = scalar(
        snapshot,
        "SELECT toDate(ts) AS d FROM events GROUP BY d ORDER BY count() DESC, d LIMIT 1",
        0,
    );
    let next = adstore_query::time::parse_date(&day).map_or(0, |d| d + 1);
    Params {
        campaign: scalar(
            snapshot,
            "SELECT campaign_id FROM events WHERE event_type = 'impression' GROUP BY campaign_id \
             ORDER BY count() DESC, campaign_id LIMIT 1",
            0,
        ),
        next_day: format_date(next),
        day,
        first_day: scalar(
            snapshot,
            "SELECT min(toDate(ts)), max(toDate(ts)) FROM events",
            0,
        ),
        last_day: scalar(
            snapshot,
            "SELECT min(toDate(ts)), max(toDate(ts)) FROM events",
            1,
        ),
        user: user.unwrap_or_else(|| {
            scalar(
                snapshot,
                "SELECT user_id FROM events WHERE user_id != '' GROUP BY user_id \
                 ORDER BY count() DESC, user_id LIMIT 1",
                0,
            )
        }),
    }
}

/// The suite with its parameters filled in.
pub fn queries(p: &Params) -> Vec<(&'static str, String)> {
    SUITE
        .iter()
        .map(|(name, sql)| {
            let sql = sql
                .replace("{campaign}", &p.campaign)
                .replace("{next_day}", &p.next_day)
                .replace("{day}", &p.day)
                .replace("{first_day}", &p.first_day)
                .replace("{last_day}", &p.last_day)
                .replace("{user}", &p.user);
            (*name, sql)
        })
        .collect()
}
