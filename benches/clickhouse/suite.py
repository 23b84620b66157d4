"""The query suite Q1–Q10 of the query issue, as SQL text run unchanged on both sides.

`{...}` parameters are filled from the loaded data (`pick_params`, asked of ClickHouse): the
campaign with the most impressions, the busiest UTC day, and the user with the most events.
Every ORDER BY is total (ties broken by the group keys), so both sides must return the same
rows in the same order.
"""

from datetime import datetime, timedelta, timezone

SUITE = {
    "Q1": """
SELECT countIf(event_type = 'impression') AS impressions,
       countIf(event_type = 'click') AS clicks,
       countIf(event_type = 'conversion') AS conversions,
       countIf(event_type = 'bid_request') AS bid_requests,
       countIf(won) AS wins,
       sum(cost_micros) AS spend,
       sum(revenue_micros) AS revenue
FROM events""",
    "Q2": """
SELECT campaign_id,
       countIf(event_type = 'impression') AS impressions,
       countIf(event_type = 'click') AS clicks,
       countIf(event_type = 'conversion') AS conversions,
       sumIf(cost_micros, event_type = 'impression') AS spend,
       sum(revenue_micros) AS revenue,
       clicks / nullIf(impressions, 0) AS ctr,
       conversions / nullIf(clicks, 0) AS cvr,
       spend / nullIf(conversions, 0) AS cpa,
       spend * 1000 / nullIf(impressions, 0) AS cpm,
       spend / nullIf(clicks, 0) AS cpc,
       revenue / nullIf(spend, 0) AS roas
FROM events
WHERE ts >= '{day} 00:00:00' AND ts < '{next_day} 00:00:00'
GROUP BY campaign_id
ORDER BY spend DESC, campaign_id""",
    "Q3": """
SELECT campaign_id,
       countIf(event_type = 'impression') AS impressions,
       countIf(event_type = 'bid_request' AND bid_price_micros > 0) AS bids,
       countIf(won) AS wins,
       sum(cost_micros) AS spend,
       wins / nullIf(bids, 0) AS win_rate,
       spend * 1000 / nullIf(impressions, 0) AS ecpm
FROM events
WHERE ts >= '{day} 12:00:00' AND ts < '{next_day} 12:00:00'
  AND country = 'US' AND device = 'mobile'
GROUP BY campaign_id
ORDER BY spend DESC, campaign_id""",
    "Q4": """
SELECT toUnixTimestamp(toStartOfHour(ts)) AS hour,
       countIf(event_type = 'impression') AS impressions,
       countIf(event_type = 'click') AS clicks
FROM events
WHERE campaign_id = '{campaign}'
  AND ts BETWEEN '{first_day} 00:00:00' AND '{last_day} 23:59:59.999999'
GROUP BY hour
ORDER BY hour""",
    "Q5": """
SELECT site, count() AS impressions, sum(cost_micros) AS spend
FROM events
WHERE campaign_id = '{campaign}' AND event_type = 'impression'
GROUP BY site
ORDER BY impressions DESC, site
LIMIT 10""",
    "Q6": """
SELECT campaign_id, uniqExact(user_id) AS users
FROM events
WHERE event_type = 'impression' AND ts >= '{day} 00:00:00' AND ts < '{next_day} 00:00:00'
GROUP BY campaign_id
ORDER BY users DESC, campaign_id""",
    "Q7": """
SELECT toDate(ts) AS day, event_type,
       count() AS events,
       uniqExact(campaign_id) AS campaigns,
       min(ts) AS first_ts,
       max(ts) AS last_ts,
       sum(cost_micros) AS spend
FROM events
WHERE user_id = '{user}'
GROUP BY day, event_type
ORDER BY day, event_type""",
    "Q8": """
SELECT country, device,
       countIf(event_type = 'impression') AS impressions,
       countIf(event_type = 'bid_request') AS bid_requests,
       countIf(won) AS wins,
       sum(cost_micros) AS spend,
       wins / nullIf(bid_requests, 0) AS win_rate
FROM events
WHERE event_type IN ('impression', 'bid_request')
GROUP BY country, device
ORDER BY country, device""",
    "Q9": """
SELECT campaign_id,
       count() AS requests,
       countIf(bid_price_micros > 0) AS bids,
       countIf(won) AS wins,
       sumIf(cost_micros, won) AS clearing_spend,
       wins / nullIf(bids, 0) AS win_rate,
       sumIf(clearing_price_micros, won) / nullIf(wins, 0) AS avg_clearing_cpm
FROM events
WHERE event_type = 'bid_request' AND ts >= '{day} 00:00:00' AND ts < '{next_day} 00:00:00'
GROUP BY campaign_id
ORDER BY requests DESC, campaign_id""",
    "Q10": """
SELECT event_id, event_type, ts
FROM events
WHERE user_id = '{user}'
ORDER BY ts, event_id
LIMIT 100""",
}

# The one-campaign queries again for a campaign of median traffic: the top campaign of a Zipf
# mix holds ~14 % of all events, a typical one a few thousand.
MEDIAN_VARIANTS = {"Q4m": "Q4", "Q5m": "Q5"}

# What each query exercises, for the table.
TITLES = {
    "Q1": "totals, all events",
    "Q2": "per campaign, one day, ratios",
    "Q3": "per campaign, 24 h, US mobile",
    "Q4": "one campaign, hourly, 7 days",
    "Q5": "one campaign, top 10 sites",
    "Q6": "uniqExact users per campaign, 1 day",
    "Q7": "one user, per day and type",
    "Q8": "country x device",
    "Q9": "bid requests per campaign, 1 day",
    "Q10": "one user's events, 100 rows",
    "Q4m": "Q4 for a median campaign",
    "Q5m": "Q5 for a median campaign",
}

PICK_CAMPAIGN = """
SELECT campaign_id FROM events WHERE event_type = 'impression'
GROUP BY campaign_id ORDER BY count() DESC, campaign_id LIMIT 1"""
PICK_DAY = """
SELECT toString(toDate(ts)) FROM events GROUP BY toDate(ts) ORDER BY count() DESC, 1 LIMIT 1"""
DAYS = "SELECT toString(min(toDate(ts))), toString(max(toDate(ts))) FROM events"
PICK_MEDIAN_CAMPAIGN = """
SELECT campaign_id FROM (
    SELECT campaign_id, count() AS n FROM events WHERE event_type = 'impression'
    GROUP BY campaign_id ORDER BY n DESC, campaign_id)
LIMIT 1 OFFSET (SELECT intDiv(uniqExact(campaign_id), 2) FROM events WHERE event_type = 'impression')"""
PICK_USER = """
SELECT user_id FROM events WHERE user_id != ''
GROUP BY user_id ORDER BY count() DESC, user_id LIMIT 1"""


def pick_params(scalar) -> dict:
    """The suite's parameters, from `scalar(sql) -> str` (ClickHouse)."""
    day = scalar(PICK_DAY)
    first, last = scalar(DAYS).split("\t")
    next_day = (
        datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc) + timedelta(days=1)
    ).strftime("%Y-%m-%d")
    return {
        "campaign": scalar(PICK_CAMPAIGN),
        "median_campaign": scalar(PICK_MEDIAN_CAMPAIGN),
        "day": day,
        "next_day": next_day,
        "first_day": first,
        "last_day": last,
        "user": scalar(PICK_USER),
    }


def queries(params: dict) -> dict[str, str]:
    out = {name: " ".join(text.split()).format(**params) for name, text in SUITE.items()}
    for variant, base in MEDIAN_VARIANTS.items():
        text = SUITE[base].replace("{campaign}", "{median_campaign}")
        out[variant] = " ".join(text.split()).format(**params)
    return out
